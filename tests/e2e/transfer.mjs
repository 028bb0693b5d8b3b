// Browser test of worklog import and export against a running afterresumed, in Debian's Chromium via
// playwright-core: sign in, reach the export page from Settings, import a CSV through the file picker, change a
// column's mapping on the preview step, import, see the created count, download the JSON export and find the
// entries in it exactly (a line break inside a cell included), then see a bad file's row errors. Also checks that
// no CSP violation or console error happens on the way.
//
// Usage: node tests/e2e/transfer.mjs BASE_URL USERNAME PASSWORD [SCREENSHOT_DIR]
// Prints one line per check; exits 0 when all pass, 1 when any fails, 2 on bad usage.

import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const [baseArg, username, password, shots] = process.argv.slice(2);
if (!baseArg || !username || !password) {
  console.error('usage: node tests/e2e/transfer.mjs BASE_URL USERNAME PASSWORD [SCREENSHOT_DIR]');
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
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  // The bad file answers 422 (swapped in by htmx); Chromium logs every 4xx: those are expected here.
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(String(e)));

  await page.goto(`${base}/login`);
  await page.fill('input[name="username"]', username);
  await page.fill('input[name="password"]', password);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/login"] [type="submit"]')]);
  check('signed in', !page.url().includes('/login'), page.url());

  await page.goto(`${base}/settings`);
  await Promise.all([page.waitForNavigation(), page.click('a[href="/worklog/export"]')]);
  check('settings links to the export page', page.url().endsWith('/worklog/export'), page.url());
  if (shots) await page.screenshot({ path: `${shots}/transfer-export.png`, fullPage: true });
  await Promise.all([page.waitForNavigation(), page.click('a[href="/worklog/import"]')]);
  check('export page links to the import page', page.url().endsWith('/worklog/import'), page.url());

  const csv = 'Date,Notes,Mood\r\n2021-06-01,"Line one\nline two, with comma",calm\r\n2021-06-02,Second day,busy\r\n';
  await page.setInputFiles('input[name="file"]', { name: 'log.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await page.click('#transfer-import button[type="submit"]');
  await page.waitForSelector('#import-columns');
  check('preview recognises the date column', (await page.inputValue('#map-0')) === 'occurred_on');
  check('preview recognises the notes column as content', (await page.inputValue('#map-1')) === 'content');
  check('preview marks the unknown column', (await page.inputValue('#map-2')) === '' &&
    (await page.textContent('#import-columns')).includes('not recognised'));
  await page.selectOption('#map-2', 'title');
  if (shots) await page.screenshot({ path: `${shots}/transfer-preview.png`, fullPage: true });
  await page.click('#transfer-import button[type="submit"]');
  await page.waitForSelector('#import-created');
  check('import reports two created entries', (await page.textContent('#import-created')).trim() === '2');
  if (shots) await page.screenshot({ path: `${shots}/transfer-result.png`, fullPage: true });

  await page.goto(`${base}/worklog/export`);
  await page.check('input[name="format"][value="json"]');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-form [type="submit"]')]);
  check('download has a dated file name', /^afterresume-worklog-\d{4}-\d{2}-\d{2}\.json$/.test(download.suggestedFilename()),
    download.suggestedFilename());
  const doc = JSON.parse(readFileSync(await download.path(), 'utf8'));
  const first = doc.entries.find((e) => e.title === 'calm');
  check('exported entry keeps the line break and comma exactly',
    first && first.content === 'Line one\nline two, with comma' && first.occurred_on === '2021-06-01' &&
    first.source === 'import', JSON.stringify(first));

  await page.goto(`${base}/worklog/import`);
  const bad = 'date,content\r\n2021-02-30,bad day\r\n2021-03-01,good day\r\n';
  await page.setInputFiles('input[name="file"]', { name: 'bad.csv', mimeType: 'text/csv', buffer: Buffer.from(bad) });
  await page.click('#transfer-import button[type="submit"]');
  await page.waitForSelector('#import-columns');
  await page.click('#transfer-import button[type="submit"]');
  await page.waitForSelector('#import-row-errors');
  const table = await page.textContent('#import-row-errors');
  check('row errors name row 2 and its field', table.includes('2') && table.includes('occurred_on'), table.trim());
  if (shots) await page.screenshot({ path: `${shots}/transfer-errors.png`, fullPage: true });
  check('no console errors or CSP violations', problems.length === 0, problems.join(' | '));
} catch (e) {
  check('flow completed', false, String(e && e.message ? e.message : e));
} finally {
  await browser.close();
}
console.log(failed ? `${failed} check(s) failed` : 'all transfer checks passed');
process.exit(failed ? 1 : 0);
