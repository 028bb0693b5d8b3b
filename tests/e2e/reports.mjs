// Browser test of reports against a running afterresumed (job workers on), in Debian's Chromium via
// playwright-core: sign in as a user who already logged entries (the Check test prepares them and the balance),
// open Reports from the navigation, press "Generate report" (weekly, local provider), watch the live progress
// until the report appears, check every bullet cites entries, follow a citation to its entry, create a share link
// and open it in a fresh browser context (no cookies): the report is there, read-only, without entry links.
//
// Usage: node tests/e2e/reports.mjs BASE_URL USERNAME PASSWORD [SCREENSHOT_DIR]
// Prints one line per check; exits 0 when all pass, 1 when any fails, 2 on bad usage.

import { chromium } from 'playwright-core';

const [baseArg, username, password, shots] = process.argv.slice(2);
if (!baseArg || !username || !password) {
  console.error('usage: node tests/e2e/reports.mjs BASE_URL USERNAME PASSWORD [SCREENSHOT_DIR]');
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

  await page.goto(`${base}/login`);
  await page.fill('input[name="username"]', username);
  await page.fill('input[name="password"]', password);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/login"] [type="submit"]')]);
  check('signed in', !page.url().includes('/login'), page.url());

  const reportsLink = page.locator('a.nav-link[href="/reports"]').first();
  check('navigation has a Reports link', (await reportsLink.count()) === 1);
  await Promise.all([page.waitForNavigation(), reportsLink.click()]);
  check('reports page with the generate form', await page.isVisible('#report-generate-form'));

  await page.selectOption('#report-kind', 'weekly');
  await Promise.all([page.waitForNavigation(), page.click('#report-generate-form [type="submit"]')]);
  check('generating opens the report page', /\/reports\/\d+$/.test(page.url()), page.url());
  const sawProgress = await page.isVisible('#report-progress');
  // htmx polls the progress fragment every second and reloads the page when the report is ready
  await page.waitForSelector('.report-item', { timeout: 30000 }).catch(() => {});
  const items = await page.locator('.report-item').count();
  check('the report appears (live progress, then the report)', items > 0, `progress shown first: ${sawProgress}`);
  if (shots) await page.screenshot({ path: `${shots}/report.png`, fullPage: true });
  const uncited = await page.locator('.report-item .badge--warn').count();
  const cited = await page.locator('.report-item a.citation').count();
  check('every bullet cites entries', uncited === 0 && cited >= items, `${items} bullets, ${cited} citations, ${uncited} uncited`);

  const reportUrl = page.url();
  const citation = page.locator('.report-item a.citation').first();
  const href = await citation.getAttribute('href');
  await Promise.all([page.waitForNavigation(), citation.click()]);
  check('a citation opens its entry', page.url().endsWith(href) && /\/worklog\/\d+$/.test(href), page.url());
  check('the entry page shows the entry', await page.isVisible('#entry-title'));

  await page.goto(reportUrl);
  await page.selectOption('#share-days', '7');
  await Promise.all([page.waitForNavigation(), page.click('form[action$="/share"] [type="submit"]')]);
  const shareUrl = await page.inputValue('#new-share-url').catch(() => '');
  check('a share link is created and shown once', /\/share\/[A-Za-z0-9_-]{43}$/.test(shareUrl), shareUrl);

  const stranger = await browser.newContext();
  const view = await stranger.newPage();
  const response = await view.goto(shareUrl);
  check('the share link opens without signing in', response.status() === 200, String(response.status()));
  const title = await view.textContent('h1');
  check('the shared page shows the report', /Weekly report/.test(title || ''), title);
  check('the shared page has no links to entries', (await view.locator('a[href^="/worklog/"]').count()) === 0);
  check('the shared page is not indexed', (await view.locator('meta[name="robots"][content*="noindex"]').count()) === 1);
  check('the shared page offers no sign-in session', !(await stranger.cookies()).some((c) => c.name.includes('session')));
  await stranger.close();
  check('no console errors', problems.length === 0, problems.join(' | '));
} catch (e) {
  check('unexpected error', false, String(e && e.stack ? e.stack : e));
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
