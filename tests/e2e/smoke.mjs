// Browser smoke test for a running afterresumed: loads the home page and a missing page in Debian's
// Chromium (through playwright-core, no downloaded browser) and checks that the page, its
// stylesheet, htmx and app.js load under the strict CSP without console errors.
//
// Usage: node tests/e2e/smoke.mjs BASE_URL [SCREENSHOT_PATH]
// Env:   CHROMIUM (default /usr/bin/chromium), SMOKE_TIMEOUT_MS (default 60000, whole run)
// Prints one line per check; exits 0 when all pass, 1 when any fails, 2 on bad usage.

import { chromium } from 'playwright-core';

const [baseArg, screenshotPath] = process.argv.slice(2);
if (!baseArg || !/^https?:\/\//.test(baseArg)) {
  console.error('usage: node tests/e2e/smoke.mjs BASE_URL [SCREENSHOT_PATH]');
  process.exit(2);
}
const base = baseArg.replace(/\/+$/, '');
const totalTimeoutMs = Number(process.env.SMOKE_TIMEOUT_MS || 60000);

const results = [];
function check(name, ok, detail) {
  results.push({ name, ok: Boolean(ok), detail: detail || '' });
  const line = ok ? `ok   - ${name}` : `FAIL - ${name}`;
  console.log(detail ? `${line}: ${detail}` : line);
}

// Collects console errors, uncaught exceptions, failed and 4xx/5xx subresource requests for a page.
function watch(page) {
  const problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') {
      const loc = msg.location();
      problems.push({ kind: 'console', text: msg.text(), url: loc && loc.url ? loc.url : '' });
    }
  });
  page.on('pageerror', (err) => problems.push({ kind: 'pageerror', text: String(err && err.message ? err.message : err) }));
  page.on('requestfailed', (req) => {
    problems.push({ kind: 'requestfailed', text: `${req.method()} ${req.url()} ${req.failure() ? req.failure().errorText : ''}`, url: req.url() });
  });
  page.on('response', (res) => {
    const req = res.request();
    const isMainDocument = req.isNavigationRequest() && req.frame() === page.mainFrame();
    if (!isMainDocument && res.status() >= 400) {
      problems.push({ kind: 'http', text: `${req.method()} ${res.url()} -> ${res.status()}`, url: res.url() });
    }
  });
  return problems;
}

// Runs in the page before any of its scripts: records CSP violations.
function recordCspViolations() {
  window.__smokeCsp = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__smokeCsp.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile || ''}:${e.lineNumber || 0})`);
  });
}

async function stylesheetApplied(page) {
  return page.evaluate(() => {
    const rootStyle = getComputedStyle(document.documentElement);
    const bodyStyle = getComputedStyle(document.body);
    const brand = rootStyle.getPropertyValue('--ar-brand').trim();
    const linked = Array.from(document.styleSheets).some((s) => s.href && s.href.includes('/static/css/app.css'));
    return { brand, linked, bodyMargin: bodyStyle.marginTop, font: bodyStyle.fontFamily };
  });
}

function describe(problems) {
  return problems.map((p) => `[${p.kind}] ${p.text}`).join(' | ');
}

async function run() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.addInitScript(recordCspViolations);
    context.setDefaultTimeout(15000);

    // ---- Home page ----
    const page = await context.newPage();
    const problems = watch(page);
    const cssResponse = page.waitForResponse((r) => r.url().includes('/static/css/app.css'), { timeout: 15000 }).catch(() => null);
    const res = await page.goto(base + '/', { waitUntil: 'load' });
    check('GET / answers 200', res && res.status() === 200, res ? `status ${res.status()} at ${res.url()}` : 'no response');

    const title = await page.title();
    check('title contains "AfterResume"', title.includes('AfterResume'), JSON.stringify(title));

    const csp = res ? (await res.allHeaders())['content-security-policy'] || '' : '';
    check('strict Content-Security-Policy header',
      csp.includes("default-src 'self'") && csp.includes("script-src 'self'") && !csp.includes('unsafe-inline') && !csp.includes('unsafe-eval'),
      csp ? csp : 'header missing');

    const css = await cssResponse;
    const cssType = css ? (await css.allHeaders())['content-type'] || '' : '';
    check('stylesheet /static/css/app.css served', css && css.status() === 200 && cssType.startsWith('text/css'),
      css ? `status ${css.status()}, ${cssType}` : 'never requested');
    const style = await stylesheetApplied(page);
    check('stylesheet applied', style.linked && style.brand !== '' && style.bodyMargin === '0px',
      `--ar-brand=${style.brand || '(unset)'}, body margin ${style.bodyMargin}, font ${style.font.slice(0, 40)}`);

    await page.waitForFunction(() => window.htmx && document.documentElement.dataset.appJs === 'ready', null, { timeout: 5000 }).catch(() => {});
    const js = await page.evaluate(() => ({
      htmx: typeof window.htmx === 'object' && window.htmx !== null,
      version: window.htmx ? String(window.htmx.version) : '',
      noIndicatorStyle: window.htmx ? window.htmx.config.includeIndicatorStyles === false : false,
      noEval: window.htmx ? window.htmx.config.allowEval === false : false,
      inlineStyles: document.querySelectorAll('style').length,
      appJs: document.documentElement.dataset.appJs || '',
      csrf: (document.querySelector('meta[name="csrf-token"]') || { content: null }).content,
    }));
    check('htmx loaded (window.htmx, 2.x)', js.htmx && js.version.startsWith('2.'), `version ${js.version || 'none'}`);
    check('htmx configured for CSP (no indicator style, no eval)', js.noIndicatorStyle && js.noEval && js.inlineStyles === 0,
      `includeIndicatorStyles off=${js.noIndicatorStyle}, allowEval off=${js.noEval}, <style> elements=${js.inlineStyles}`);
    check('app.js loaded', js.appJs === 'ready', js.appJs ? '' : 'data-app-js not set');

    // htmx request: carries HX-Request and, when the page has a CSRF token, X-CSRF-Token.
    if (js.htmx) {
      const reqPromise = page.waitForRequest((r) => r.url().includes('/api/healthz/'), { timeout: 5000 }).catch(() => null);
      await page.evaluate(() => window.htmx.ajax('GET', '/api/healthz/', { swap: 'none', target: 'body' })).catch(() => {});
      const req = await reqPromise;
      const headers = req ? await req.allHeaders() : {};
      const token = js.csrf || '';
      const ok = req && headers['hx-request'] === 'true' &&
        (token ? headers['x-csrf-token'] === token : headers['x-csrf-token'] === undefined);
      check('htmx request carries the CSRF header', ok,
        req ? (token ? `X-CSRF-Token ${headers['x-csrf-token'] === token ? 'matches' : 'missing or different'}` : 'page has no token (signed out); none sent')
          : 'no htmx request seen');
    } else {
      check('htmx request carries the CSRF header', false, 'htmx not loaded');
    }

    await page.waitForTimeout(500);
    const cspHome = await page.evaluate(() => window.__smokeCsp || []);
    check('no CSP violations on /', cspHome.length === 0, cspHome.join(' | '));
    check('no console errors or failed requests on /', problems.length === 0, describe(problems));

    if (screenshotPath) {
      await page.screenshot({ path: screenshotPath, fullPage: true });
      console.log(`screenshot: ${screenshotPath}`);
    }
    await page.close();

    // ---- Missing page ----
    const page404 = await context.newPage();
    const problems404 = watch(page404);
    const missingUrl = base + '/no-such-page';
    const res404 = await page404.goto(missingUrl, { waitUntil: 'load' });
    check('GET /no-such-page answers 404', res404 && res404.status() === 404, res404 ? `status ${res404.status()}` : 'no response');
    const errorPage = await page404.evaluate(() => {
      const section = document.querySelector('.error-page');
      return {
        found: Boolean(section),
        status: section ? section.getAttribute('data-status') : '',
        heading: document.querySelector('h1') ? document.querySelector('h1').textContent.trim() : '',
        title: document.title,
      };
    });
    check('404 renders the error page', errorPage.found && errorPage.status === '404' && errorPage.heading !== '' && errorPage.title.includes('AfterResume'),
      `error-page=${errorPage.found}, data-status=${errorPage.status}, h1=${JSON.stringify(errorPage.heading)}, title=${JSON.stringify(errorPage.title)}`);
    const style404 = await stylesheetApplied(page404);
    check('404 page styled', style404.linked && style404.brand !== '', `--ar-brand=${style404.brand || '(unset)'}`);
    await page404.waitForTimeout(300);
    const csp404 = await page404.evaluate(() => window.__smokeCsp || []);
    // Chromium reports the 404 of the page itself as a console error; that one is expected here.
    const unexpected404 = problems404.filter((p) => !(p.kind === 'console' && /status of 404/.test(p.text) && (p.url === '' || p.url === missingUrl)));
    check('no CSP violations or console errors on the 404 page', csp404.length === 0 && unexpected404.length === 0,
      [csp404.join(' | '), describe(unexpected404)].filter(Boolean).join(' | '));
    await page404.close();
    await context.close();
  } finally {
    await browser.close();
  }
}

const timer = setTimeout(() => {
  console.log(`FAIL - smoke test timed out after ${totalTimeoutMs} ms`);
  process.exit(1);
}, totalTimeoutMs);

try {
  await run();
} catch (err) {
  check('smoke test ran', false, String(err && err.stack ? err.stack.split('\n')[0] : err));
}
clearTimeout(timer);
const failed = results.filter((r) => !r.ok);
console.log(failed.length === 0 ? `all ${results.length} checks passed` : `${failed.length} of ${results.length} checks failed: ${failed.map((r) => r.name).join('; ')}`);
process.exit(failed.length === 0 ? 0 : 1);
