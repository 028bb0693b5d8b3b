// Browser test of the invite flow against a running afterresumed, in Debian's Chromium via playwright-core:
// open the invite link, sign up, land signed in, sign out, sign in again. Also checks that no CSP violation or
// console error happens on the way.
//
// Usage: node tests/e2e/identity.mjs BASE_URL PASSKEY [SCREENSHOT_DIR]
// Prints one line per check; exits 0 when all pass, 1 when any fails, 2 on bad usage.

import { chromium } from 'playwright-core';

const [baseArg, passkey, shots] = process.argv.slice(2);
if (!baseArg || !passkey) {
  console.error('usage: node tests/e2e/identity.mjs BASE_URL PASSKEY [SCREENSHOT_DIR]');
  process.exit(2);
}
const base = baseArg.replace(/\/+$/, '');
let failed = 0;
function check(name, ok, detail) {
  if (!ok) failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} - ${name}${detail ? `: ${detail}` : ''}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const problems = [];
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  // A re-rendered form answers 422 and Chromium logs every 4xx document load: those are expected here.
  page.on('console', (m) => {
    if (m.type() === 'error' && !/responded with a status of 4\d\d/.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(String(e)));
  const username = `e2e${Date.now().toString(36)}`;
  const password = 'a long enough passphrase';

  await page.goto(`${base}/signup?passkey=${encodeURIComponent(passkey)}`);
  check('invite link pre-fills the passkey', (await page.inputValue('input[name="passkey"]')) === passkey);
  await page.fill('input[name="username"]', username);
  await page.fill('input[name="email"]', `${username}@example.com`);
  await page.fill('input[name="password"]', password);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/signup"] [type="submit"]')]);
  let html = await page.content();
  check('signed up and landed signed in', !page.url().includes('/signup') && html.includes(username), page.url());
  if (shots) await page.screenshot({ path: `${shots}/identity-home.png`, fullPage: true });

  await page.click('summary.user-menu__summary'); // open the account menu, as a person would
  await Promise.all([page.waitForNavigation(), page.click('.user-menu form[action="/logout"] [type="submit"]')]);
  check('signed out lands on the sign-in page', page.url().includes('/login'), page.url());
  const me = await page.request.get(`${base}/api/me/`);
  check('session ended server-side', me.status() === 401, `GET /api/me/ -> ${me.status()}`);

  await page.fill('input[name="username"]', username);
  await page.fill('input[name="password"]', 'not the password');
  await page.click('form[action="/login"] [type="submit"]');
  await page.waitForLoadState();
  html = await page.content();
  check('wrong password shows an error in place', html.includes('Invalid username or password'));

  await page.fill('input[name="username"]', username);
  await page.fill('input[name="password"]', password);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/login"] [type="submit"]')]);
  html = await page.content();
  check('signed in again', html.includes(username) && !page.url().includes('/login'), page.url());
  await page.goto(`${base}/settings`);
  check('settings page lists the current session', (await page.content()).includes(username));
  if (shots) await page.screenshot({ path: `${shots}/identity-settings.png`, fullPage: true });
  check('no console errors or CSP violations', problems.length === 0, problems.join(' | '));
} catch (e) {
  check('flow completed', false, String(e && e.message ? e.message : e));
} finally {
  await browser.close();
}
console.log(failed ? `${failed} check(s) failed` : 'all identity checks passed');
process.exit(failed ? 1 : 0);
