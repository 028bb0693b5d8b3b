// Browser test of the account export against a running afterresumed (its job workers on), in Debian's Chromium
// via playwright-core: sign up with an invite, open Jobs from the navigation, press "Export my account", watch
// the progress bar on the job page move (htmx polls the fragment every second), download the ZIP from the page
// and check it is a valid ZIP (Python's zipfile) holding the account JSON. Also: no CSP violation or console
// error on the way. The daemon should run with AR_EXPORT_STEP_DELAY_MS (e.g. 250) so the job takes a few seconds.
//
// Usage: node tests/e2e/export.mjs BASE_URL PASSKEY [SCREENSHOT_DIR]
// Prints one line per check; exits 0 when all pass, 1 when any fails, 2 on bad usage.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [baseArg, passkey, shots] = process.argv.slice(2);
if (!baseArg || !passkey) {
  console.error('usage: node tests/e2e/export.mjs BASE_URL PASSKEY [SCREENSHOT_DIR]');
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
const work = mkdtempSync(join(tmpdir(), 'ar-export-e2e-'));
try {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' && !/responded with a status of 4\d\d/.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(String(e)));
  const username = `exp${Date.now().toString(36)}`;

  await page.goto(`${base}/signup?passkey=${encodeURIComponent(passkey)}`);
  await page.fill('input[name="username"]', username);
  await page.fill('input[name="email"]', `${username}@example.com`);
  await page.fill('input[name="password"]', 'a long enough passphrase');
  await Promise.all([page.waitForNavigation(), page.click('form[action="/signup"] [type="submit"]')]);
  check('signed up', !page.url().includes('/signup'), page.url());

  await page.goto(`${base}/`);
  const jobsLink = page.locator('a.nav-link[href="/jobs"]').first();
  check('navigation has a Jobs link', (await jobsLink.count()) === 1);
  await page.goto(`${base}/jobs`);
  check('jobs page offers the export', await page.isVisible('#export-account'));

  await Promise.all([page.waitForNavigation(), page.click('#export-account')]);
  check('the export opens its job page', /\/jobs\/\d+$/.test(page.url()), page.url());

  // Watch the bar: read the <progress> value and the fragment's status as htmx swaps it in.
  const seen = new Set();
  let status = '';
  const deadline = Date.now() + 45000;
  while (Date.now() < deadline) {
    const state = await page.evaluate(() => {
      const live = document.getElementById('job-live');
      const bar = live && live.querySelector('progress');
      return live && bar ? { status: live.dataset.jobStatus, value: Number(bar.value),
        aria: bar.getAttribute('aria-valuenow') } : null;
    });
    if (state) {
      seen.add(state.value);
      status = state.status;
      if (String(state.value) !== state.aria) problems.push(`aria-valuenow ${state.aria} != value ${state.value}`);
      if (['succeeded', 'failed', 'cancelled'].includes(status)) break;
    }
    await page.waitForTimeout(150);
  }
  const values = [...seen].sort((a, b) => a - b);
  check('the job succeeded', status === 'succeeded', status);
  check('the progress bar moved (two or more values, reaching 100)', values.length >= 2 && values.includes(100),
    values.join(','));
  if (shots) await page.screenshot({ path: `${shots}/export-job.png`, fullPage: true });
  // Polling stopped: the finished fragment has no hx-trigger left.
  const polling = await page.evaluate(() => document.getElementById('job-live').hasAttribute('hx-trigger'));
  check('polling stopped when the job finished', !polling);
  const timeline = await page.locator('#job-timeline').innerText();
  check('the timeline was refreshed in place', timeline.includes('export written') && timeline.includes('succeeded'),
    timeline.replace(/\s+/g, ' ').slice(0, 200));

  const link = page.locator('#job-live a[href$="/download"]');
  check('a download link appears', (await link.count()) === 1);
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  const zipPath = join(work, 'export.zip');
  await download.saveAs(zipPath);
  const bytes = readFileSync(zipPath);
  check('the download is a ZIP', bytes.length > 22 && bytes.readUInt32LE(0) === 0x04034b50,
    `${bytes.length} bytes`);
  check('the file name names the export', /^afterresume-export-\d+-\d{8}-\d+\.zip$/.test(download.suggestedFilename()),
    download.suggestedFilename());
  let zipOk = '';
  try {
    zipOk = execFileSync('python3', ['-c', [
      'import json, sys, zipfile',
      'z = zipfile.ZipFile(sys.argv[1])',
      'assert z.testzip() is None',
      'a = json.loads(z.read("account.json"))',
      'print(a["user"]["username"], len(z.namelist()))',
    ].join('\n'), zipPath], { encoding: 'utf8' }).trim();
  } catch (e) {
    zipOk = `python: ${e.message}`;
  }
  check('Python reads the ZIP and finds the account', zipOk.startsWith(`${username} `), zipOk);

  await page.goto(`${base}/jobs`);
  check('the jobs list shows the finished export', (await page.locator('.badge--succeeded').count()) >= 1);
  check('no console errors or CSP violations', problems.length === 0, problems.join(' | '));
} catch (e) {
  check('flow completed', false, String(e && e.message ? e.message : e));
} finally {
  await browser.close();
  rmSync(work, { recursive: true, force: true });
}
console.log(failed ? `${failed} check(s) failed` : 'all export checks passed');
process.exit(failed ? 1 : 0);
