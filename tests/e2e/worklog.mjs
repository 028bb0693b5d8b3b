// Browser test of the worklog pages against a running afterresumed, in Debian's Chromium via playwright-core:
// sign up with an invite passkey, log an entry from the home page with the header's quick-add dialog (one
// form, one click), see it in the timeline, find it by a word with live search, open it (rendered Markdown),
// attach a file with the file picker (when the evidence section is on the page), delete it (confirmation),
// undo, and check the timeline on a 390 px phone. Also checks that no CSP violation or console error happens.
//
// Usage: node tests/e2e/worklog.mjs BASE_URL PASSKEY [SCREENSHOT_DIR]
// Prints one line per check; exits 0 when all pass, 1 when any fails, 2 on bad usage.

import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [baseArg, passkey, shots] = process.argv.slice(2);
if (!baseArg || !passkey) {
  console.error('usage: node tests/e2e/worklog.mjs BASE_URL PASSKEY [SCREENSHOT_DIR]');
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
// caret: 'initial' keeps Playwright from injecting a <style> (the CSP would report it as a violation).
const shot = (page, name, fullPage) => page.screenshot({ path: `${shots}/${name}.png`, fullPage, caret: 'initial' });
const watch = (page) => {
  // 4xx document loads (a 422 form, the favicon) are logged by Chromium as errors: expected.
  page.on('console', (m) => {
    if (m.type() === 'error' && !/responded with a status of 4\d\d/.test(m.text())) problems.push(`${new URL(page.url()).pathname}: ${m.text().slice(0, 90)}`);
  });
  page.on('pageerror', (e) => problems.push(String(e)));
};
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  watch(page);
  const username = `wl${Date.now().toString(36)}`;
  const word = `quokka${Date.now().toString(36)}`;
  const title = `Migrated the ${word} service`;

  await page.goto(`${base}/signup?passkey=${encodeURIComponent(passkey)}`);
  await page.fill('input[name="username"]', username);
  await page.fill('input[name="email"]', `${username}@example.com`);
  await page.fill('input[name="password"]', 'a long enough passphrase');
  await Promise.all([page.waitForNavigation(), page.click('form[action="/signup"] [type="submit"]')]);
  check('signed up', !page.url().includes('/signup'), page.url());

  // Quick-add from the home page: the header button opens the dialog with the form.
  await page.goto(`${base}/`);
  await page.click('.site-header .quick-add-open');
  await page.waitForSelector('#quick-add-dialog[open] #quick-add-form textarea[name="content"]');
  const date = await page.inputValue('#quick-add-dialog input[name="occurred_on"]');
  check('quick-add dialog opens with today\'s date', /^\d{4}-\d{2}-\d{2}$/.test(date), date);
  const focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
  check('focus moves into the dialog', focused === 'qa-title', focused);
  await page.fill('#quick-add-dialog input[name="title"]', title);
  await page.fill('#quick-add-dialog textarea[name="content"]',
    `Moved **${word}** to the new cluster.\n\n- zero downtime\n- p95 down 40%\n\n<script>alert(1)</script>`);
  await page.fill('#quick-add-dialog input[name="tags"]', 'infra, postgres');
  if (shots) await shot(page, 'worklog-quick-add', false);
  await page.click('#quick-add-dialog button[type="submit"]');
  await page.waitForSelector('[data-worklog-created]');
  const flash = await page.textContent('#flash-region');
  check('one click saves and shows a flash', flash.includes('logged') && flash.includes(word), flash.trim());
  check('the dialog closes after saving', !(await page.$('#quick-add-dialog[open]')));
  check('still on the home page (no navigation)', new URL(page.url()).pathname === '/', page.url());

  // Validation inside the dialog: an empty content is refused in place (422 swapped in).
  await page.click('.site-header .quick-add-open');
  await page.waitForSelector('#quick-add-dialog[open] #quick-add-form');
  await page.evaluate(() => document.querySelector('#qa-content').removeAttribute('required'));
  await page.click('#quick-add-dialog button[type="submit"]');
  await page.waitForSelector('#quick-add-dialog #qa-content-error');
  check('an empty entry shows the field error in the dialog', await page.isVisible('#qa-content-error'));
  await page.click('#quick-add-dialog [data-quick-add-close]');
  check('the close button closes the dialog', !(await page.$('#quick-add-dialog[open]')));

  // The timeline shows it under its day.
  await page.goto(`${base}/worklog`);
  const timeline = await page.content();
  check('the entry is on the timeline', timeline.includes(title));
  check('the heat-map counts it', /aria-label="1 entry on /.test(timeline));
  if (shots) await shot(page, 'worklog-timeline', true);

  // Quick-add while on the timeline: the list refreshes itself (HX-Trigger worklog-changed), no reload.
  await page.evaluate(() => { window.__stay = true; });
  await page.click('.site-header .quick-add-open');
  await page.waitForSelector('#quick-add-dialog[open] #qa-content');
  await page.fill('#qa-title', `Second ${word} entry`);
  await page.fill('#qa-content', 'Logged from the timeline.');
  await page.click('#quick-add-dialog button[type="submit"]');
  await page.waitForFunction((t) => document.querySelector('#worklog-results').textContent.includes(t),
    `Second ${word} entry`, { timeout: 10000 });
  check('quick-add on the timeline updates it in place', await page.evaluate(() => window.__stay === true));

  // Live search: typing a word updates the results without a page load.
  await page.evaluate(() => { window.__noReload = true; });
  await page.fill('#worklog-search', word);
  await page.waitForFunction(() => /best match first/.test(document.querySelector('#worklog-results').textContent),
    null, { timeout: 10000 });
  const results = await page.innerHTML('#worklog-results');
  check('live search finds the entry', results.includes(title));
  check('the snippet highlights the word', results.includes(`<mark>${word}</mark>`));
  check('no page reload while searching', await page.evaluate(() => window.__noReload === true));
  await page.fill('#worklog-search', 'nosuchwordanywhere');
  await page.waitForFunction(() => /No entries match/.test(document.querySelector('#worklog-results').textContent),
    null, { timeout: 10000 });
  check('a search without hits says so', true);

  // Open the entry: rendered Markdown, raw HTML escaped.
  await page.fill('#worklog-search', word);
  await page.waitForFunction(() => /best match first/.test(document.querySelector('#worklog-results').textContent));
  await Promise.all([page.waitForNavigation(), page.click(`#worklog-results a:has-text("${title}")`)]);
  const entryUrl = page.url();
  check('the entry page opens', /\/worklog\/\d+$/.test(new URL(entryUrl).pathname), entryUrl);
  check('Markdown is rendered', (await page.innerHTML('.worklog-entry__content')).includes(`<strong>${word}</strong>`));
  check('raw HTML is shown as text', (await page.textContent('.worklog-entry__content')).includes('<script>alert(1)</script>'));

  // Attach a file with the file picker, when the evidence section is there.
  const picker = await page.$('input[type="file"][data-evidence-input]');
  if (picker) {
    const dir = mkdtempSync(join(tmpdir(), 'wl-e2e-'));
    const file = join(dir, 'notes.txt');
    writeFileSync(file, `Evidence for ${word}\n`);
    await picker.setInputFiles(file);
    await page.waitForFunction(() => Array.from(document.querySelectorAll('.evidence-name'))
      .some((a) => a.textContent.includes('notes.txt')), null, { timeout: 15000 });
    check('a file attached with the picker is listed', true);
  } else {
    check('evidence section present', false, 'no file input on the entry page');
  }
  if (shots) await shot(page, 'worklog-entry', true);

  // Delete (confirm) then undo.
  page.once('dialog', (d) => d.accept());
  await Promise.all([page.waitForNavigation(), page.click('form[action$="/delete"] button[type="submit"]')]);
  check('delete lands on the timeline with an undo', page.url().includes('done=deleted') &&
    (await page.isVisible('.worklog-undo button')), page.url());
  check('the deleted entry left the timeline', !(await page.innerHTML('#worklog-results')).includes(title));
  await Promise.all([page.waitForNavigation(), page.click('.worklog-undo button')]);
  const restored = await page.content();
  check('undo restores the entry', page.url().startsWith(entryUrl) && restored.includes('Entry restored.') &&
    restored.includes(title), page.url());

  // Keyboard: the quick-add opens from the keyboard and Escape closes it.
  await page.focus('.site-header .quick-add-open');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#quick-add-dialog[open]');
  await page.keyboard.press('Escape');
  await page.waitForFunction(() => !document.querySelector('#quick-add-dialog[open]'));
  check('quick-add works from the keyboard (Enter opens, Escape closes)', true);

  // A 390 px phone: no horizontal overflow, the quick-add button is reachable.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, storageState: await context.storageState() });
  const mobile = await phone.newPage();
  watch(mobile);
  for (const path of ['/worklog', new URL(entryUrl).pathname, `${new URL(entryUrl).pathname}/edit`, '/projects', '/clients']) {
    await mobile.goto(`${base}${path}`);
    const width = await mobile.evaluate(() => document.documentElement.scrollWidth);
    check(`no horizontal overflow at 390 px on ${path}`, width <= 390, `${width}px`);
  }
  await mobile.goto(`${base}/worklog`);
  check('quick-add button visible on a phone', await mobile.isVisible('.site-header .quick-add-open'));
  if (shots) await shot(mobile, 'worklog-phone', true);
  await phone.close();

  check('no console errors or CSP violations', problems.length === 0, problems.join(' | '));
} catch (e) {
  check('flow completed', false, String(e && e.message ? e.message : e));
} finally {
  await browser.close();
}
console.log(failed ? `${failed} check(s) failed` : 'all worklog checks passed');
process.exit(failed ? 1 : 0);
