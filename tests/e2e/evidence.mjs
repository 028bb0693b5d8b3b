// Browser test of evidence uploads against a running afterresumed, in Debian's Chromium via playwright-core:
// attach a file to an entry with the file picker, watch its progress bar finish, see it in the list (htmx
// refresh), download it, delete it. Uses the entry page (/worklog/{id}) when it carries the evidence section;
// otherwise (the entry page not being in the tree yet) a minimal page of our own: a signed-in page of the app
// (its layout loads htmx, app.js, features.js and the CSRF meta) with the section's fragment
// (GET /evidence/entries/{id}) placed in it. Also checks that no CSP violation or console error happens.
//
// Usage: node tests/e2e/evidence.mjs BASE_URL SESSION_COOKIE ENTRY_ID [SCREENSHOT_DIR]
//   SESSION_COOKIE is "name=value" of a signed-in session. Exits 0 when all checks pass, 1 otherwise, 2 on bad usage.

import { chromium } from 'playwright-core';

const [baseArg, cookieArg, entryId, shots] = process.argv.slice(2);
if (!baseArg || !cookieArg || !entryId) {
  console.error('usage: node tests/e2e/evidence.mjs BASE_URL SESSION_COOKIE ENTRY_ID [SCREENSHOT_DIR]');
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
  const eq = cookieArg.indexOf('=');
  await context.addCookies([{ name: cookieArg.slice(0, eq), value: cookieArg.slice(eq + 1), url: base }]);
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' && !/responded with a status of 4\d\d/.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(String(e)));

  // The entry page when it has the evidence section, else a minimal page of our own.
  let where = 'entry page';
  const resp = await page.goto(`${base}/worklog/${entryId}`);
  if (!resp || resp.status() !== 200 || !(await page.$('[data-evidence-upload]'))) {
    where = 'minimal page (settings layout + fragment)';
    await page.goto(`${base}/settings`);
    await page.evaluate(async (url) => {
      const r = await fetch(url, { credentials: 'same-origin' });
      const html = await r.text();
      const holder = document.createElement('div');
      holder.id = 'evidence-test-holder';
      document.querySelector('main') ? document.querySelector('main').prepend(holder) : document.body.prepend(holder);
      holder.innerHTML = html;
      window.htmx.process(holder);
    }, `/evidence/entries/${entryId}`);
  }
  check('evidence section present', !!(await page.$('[data-evidence-upload]')), where);
  check('drop zone and file picker shown', !!(await page.$('[data-evidence-drop] input[type="file"][data-evidence-input]')));
  const sectionText = await page.textContent('body');
  check('no template text leaks into the section', !/\{\{|\}\}|json_object_set_new/.test(sectionText));

  const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n% evidence\n'), Buffer.alloc(300 * 1024, 0x41)]);
  await page.fill('[data-evidence-description]', 'Signed-off release notes');
  await page.setInputFiles('[data-evidence-input]', { name: 'evidence.pdf', mimeType: 'application/pdf', buffer: pdf });
  // read the row through its handle: the section is re-fetched (and the row replaced) right after
  const row = await page.waitForSelector('.evidence-progress__item.is-done, .evidence-progress__item.is-error',
    { timeout: 20000 });
  const seen = await row.evaluate((el) => ({ done: el.classList.contains('is-done'),
    value: el.querySelector('progress').value, status: el.querySelector('.evidence-progress__status').textContent }));
  check('upload finished with a full progress bar', seen.done && seen.value === 100, seen.status);
  // htmx re-fetches the section: the file appears in the list
  await page.waitForSelector('.evidence-item .evidence-name', { timeout: 10000 });
  const name = await page.textContent('.evidence-item .evidence-name');
  check('the list shows the new file', name.trim() === 'evidence.pdf', name);
  check('the description is shown', (await page.textContent('.evidence-item')).includes('Signed-off release notes'));
  if (shots) await page.screenshot({ path: `${shots}/evidence.png`, fullPage: true });

  // a refused file shows its reason in place
  await page.setInputFiles('[data-evidence-input]', { name: 'fake.pdf', mimeType: 'application/pdf',
    buffer: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]) });
  const bad = await page.waitForSelector('.evidence-progress__item.is-error', { timeout: 20000 });
  const err = await bad.evaluate((el) => el.querySelector('.evidence-progress__status').textContent);
  check('a .pdf that is a PNG is refused with a reason', /expected pdf, found png/.test(err), err);

  // download through the link: same bytes
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('.evidence-item .evidence-name')]);
  const path = await download.path();
  const fs = await import('node:fs');
  const got = fs.readFileSync(path);
  check('download gives the same bytes', Buffer.compare(got, pdf) === 0, `${got.length} bytes`);
  check('download keeps the filename', download.suggestedFilename() === 'evidence.pdf', download.suggestedFilename());

  // delete (htmx, confirmation) and the list refreshes
  page.once('dialog', (d) => d.accept());
  await page.click('.evidence-item .evidence-delete');
  await page.waitForSelector('.evidence-empty', { timeout: 10000 });
  check('delete removes it from the list', !(await page.$('.evidence-item')));
} catch (e) {
  check('no exception', false, String(e && e.stack || e));
} finally {
  check('no console errors or CSP violations', problems.length === 0, problems.join(' | '));
  await browser.close();
}
process.exit(failed ? 1 : 0);
