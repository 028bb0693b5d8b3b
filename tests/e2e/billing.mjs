// Browser test of a top-up against a running afterresumed configured with the local Stripe fake
// (tests/fakes/stripe_fake.mjs), in Debian's Chromium via playwright-core: sign up with an invite, open /billing,
// pick an amount, follow the redirect to the fake's hosted payment page, pay, come back to the success page in
// the "pending" state (the page never credits), and see the new balance once the signed webhook has landed.
//
// Usage: node tests/e2e/billing.mjs BASE_URL PASSKEY [SCREENSHOT_DIR]
// Prints one line per check; exits 0 when all pass, 1 when any fails, 2 on bad usage.

import { chromium } from 'playwright-core';

const [baseArg, passkey, shots] = process.argv.slice(2);
if (!baseArg || !passkey) {
  console.error('usage: node tests/e2e/billing.mjs BASE_URL PASSKEY [SCREENSHOT_DIR]');
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
  page.on('console', (m) => {
    if (m.type() === 'error' && !/responded with a status of 4\d\d/.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(String(e)));
  const username = `pay${Date.now().toString(36)}`;

  await page.goto(`${base}/signup?passkey=${encodeURIComponent(passkey)}`);
  await page.fill('input[name="username"]', username);
  await page.fill('input[name="email"]', `${username}@example.com`);
  await page.fill('input[name="password"]', 'a long enough passphrase');
  await Promise.all([page.waitForNavigation(), page.click('form[action="/signup"] [type="submit"]')]);
  check('signed up', !page.url().includes('/signup'), page.url());

  await page.click('a.nav-link[href="/billing"]');
  await page.waitForURL(`${base}/billing`);
  check('billing page opens from the navigation', (await page.textContent('h1')).includes('Billing'));
  check('balance starts at $0.00', (await page.textContent('#billing-balance')).trim() === '$0.00',
    await page.textContent('#billing-balance'));
  if (shots) await page.screenshot({ path: `${shots}/billing-page.png`, fullPage: true });

  // $50.00 preset; htmx posts the form and follows HX-Redirect to the fake's hosted page
  await page.check('input[name="amount"][value="5000"]');
  await Promise.all([page.waitForURL(/\/pay\/cs_test_/), page.click('#topup-submit')]);
  check('redirected to the hosted payment page', /\/pay\/cs_test_/.test(page.url()), page.url());
  check('payment page shows the amount', (await page.textContent('h1')).includes('50.00'));

  // Pay: the fake signs and delivers checkout.session.completed to the webhook, then redirects to the success URL.
  await Promise.all([page.waitForURL(/\/billing\/topup\/success/), page.click('#pay')]);
  check('returned to the success page', page.url().includes('/billing/topup/success?topup='), page.url());
  await page.waitForSelector('#topup-state[data-status="paid"]', { timeout: 15000 });
  check('the new balance is shown after the webhook', (await page.textContent('#topup-balance')).trim() === '$50.00',
    await page.textContent('#topup-balance'));
  if (shots) await page.screenshot({ path: `${shots}/billing-success.png`, fullPage: true });

  // A second top-up whose webhook has not landed: the success page says "pending" and polls until it does.
  await page.goto(`${base}/billing`);
  check('billing page shows the credited balance', (await page.textContent('#billing-balance')).trim() === '$50.00');
  check('ledger lists the top-up', (await page.textContent('#ledger')).includes('topup'));
  await page.fill('#custom-amount', '12.34');
  await Promise.all([page.waitForURL(/\/pay\/cs_test_/), page.click('#topup-submit')]);
  const session = page.url().split('/pay/')[1];
  const fake = new URL(page.url()).origin;
  // pay through the control endpoint without delivering the event, then open the success page
  const paid = await page.request.post(`${fake}/_fake/sessions/${session}/pay`, { data: { deliver: false } });
  const event = (await paid.json()).event;
  const topupId = event.data.object.metadata.topup_id;
  await page.goto(`${base}/billing/topup/success?topup=${topupId}&session_id=${session}`);
  check('success page says pending before the webhook', (await page.textContent('#topup-state')).includes('pending'));
  check('pending state polls', (await page.getAttribute('#topup-state', 'hx-trigger')) === 'every 2s');
  if (shots) await page.screenshot({ path: `${shots}/billing-pending.png`, fullPage: true });
  const delivered = await page.request.post(`${fake}/_fake/events/${event.id}/deliver`, { data: {} });
  check('webhook accepted', (await delivered.json()).delivery.status === 200);
  await page.waitForSelector('#topup-state[data-status="paid"]', { timeout: 15000 });
  check('page updates to the new balance by itself', (await page.textContent('#topup-balance')).trim() === '$62.34',
    await page.textContent('#topup-balance'));

  // cancelling on the payment page comes back to the cancel page; nothing is credited
  await page.goto(`${base}/billing`);
  await page.check('input[name="amount"][value="1000"]');
  await Promise.all([page.waitForURL(/\/pay\/cs_test_/), page.click('#topup-submit')]);
  await Promise.all([page.waitForURL(/\/billing\/topup\/cancel/), page.click('#cancel')]);
  check('cancel returns to the cancel page', (await page.textContent('h1')).includes('cancelled'));
  check('cancel page names the amount', (await page.textContent('.page-lead')).includes('$10.00'));
  await page.goto(`${base}/billing`);
  check('balance unchanged after cancelling', (await page.textContent('#billing-balance')).trim() === '$62.34');

  // a custom amount out of range is refused in place
  await page.goto(`${base}/billing`);
  await page.fill('#custom-amount', '0.50');
  await page.click('#topup-submit');
  await page.waitForSelector('#custom-amount-error');
  check('too small an amount is refused in place', (await page.textContent('#custom-amount-error')).includes('$1.00'));
  check('no console errors or CSP violations', problems.length === 0, problems.join(' | '));
} catch (e) {
  check('flow completed', false, String(e && e.message ? e.message : e));
} finally {
  await browser.close();
}
console.log(failed ? `${failed} check(s) failed` : 'all billing checks passed');
process.exit(failed ? 1 : 0);
