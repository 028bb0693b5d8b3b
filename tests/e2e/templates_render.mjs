// Renders every page template with sample contexts and checks the result in Debian's Chromium.
//
// Rendering uses hogan.js (Mustache with inheritance: {{<parent}} / {{$block}}, partials by path), the same
// standard syntax the C engine implements. The HTML goes to OUT_DIR (default /tmp/ar-pages). A small local
// server then serves those pages and the repository's static/ under the daemon's strict Content-Security-
// Policy, and each page is loaded in Chromium (playwright-core) and checked: no CSP violation, console error
// or failed request; every POST form carries the CSRF token; every aria-describedby and label target exists;
// ids are unique; no inline style, script or event handler; password inputs never carry a value; hostile
// sample text shows as text and never becomes markup; plus the expectations of each sample. Finally the htmx
// row actions are exercised (hx-post, 303 to the full page, hx-select of the row + hx-select-oob of the
// flash region) the way the daemon answers them.
//
// Usage: node tests/e2e/templates_render.mjs [--out DIR] [--screenshots DIR] [--no-browser]
//   --screenshots DIR  also save full-page PNGs of every sample at 1280 and 390 px wide
//   --no-browser       only render (and check that rendering works); no Chromium
// Env: CHROMIUM (default /usr/bin/chromium). Prints one line per check and "N passed, N failed"; exit 0 when
// all pass, 1 otherwise, 2 on bad usage.

import { createServer } from 'node:http';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import Hogan from 'hogan.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
let outDir = '/tmp/ar-pages';
let shotsDir = '';
let browserChecks = true;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--out' && args[i + 1]) outDir = args[++i];
  else if (args[i] === '--screenshots' && args[i + 1]) shotsDir = args[++i];
  else if (args[i] === '--no-browser') browserChecks = false;
  else {
    console.error('usage: node tests/e2e/templates_render.mjs [--out DIR] [--screenshots DIR] [--no-browser]');
    process.exit(2);
  }
}

let passed = 0;
let failed = 0;
function check(name, ok, detail) {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} - ${name}${!ok && detail ? `: ${detail}` : ''}`);
}

// ---- Templates ------------------------------------------------------------------------------------------

function loadTemplates(dir) {
  const compiled = {};
  const walk = (d) => {
    for (const entry of readdirSync(d)) {
      const full = join(d, entry);
      if (statSync(full).isDirectory()) walk(full);
      else if (entry.endsWith('.mustache')) {
        const name = relative(dir, full).split(sep).join('/').replace(/\.mustache$/, '');
        compiled[name] = Hogan.compile(readFileSync(full, 'utf8'));
      }
    }
  };
  walk(dir);
  return compiled;
}

// ---- Sample contexts ------------------------------------------------------------------------------------

const CSRF = 'csrf-sample-token-0123456789abcdef';
// Shown as text wherever user-controlled text appears; must never turn into markup.
const EVIL = '<img src=x data-evil="1">"\'&';

function common(title, extra) {
  return {
    app: { name: 'AfterResume', version: '0.1.0' },
    page: { title },
    request_id: 'req-6f1c2a9e',
    csrf_token: CSRF,
    user: null,
    ...extra,
  };
}

function signedIn(title, extra, opts = {}) {
  const staff = opts.staff !== false;
  const admin = opts.admin !== false;
  return common(title, {
    user: { id: 7, username: 'ada', email: 'ada@example.com', is_staff: staff },
    tenant: { id: 3, name: admin ? "ada's workspace" : 'Acme Research', role: admin ? 'owner' : 'member', is_admin: admin,
      can_switch: opts.switcher !== false },
    tenants: opts.switcher === false ? undefined : [
      { id: 3, name: "ada's workspace", role: 'owner', current: admin },
      { id: 4, name: 'Acme Research', role: 'member', current: !admin },
    ],
    ...extra,
  });
}

const profile = { id: 7, username: 'ada', email: 'ada@example.com', is_staff: true, is_active: true, created_at: '2025-01-02T10:00:00Z' };
const sessions = [
  { id: 11, created_at: '2025-03-11T09:12:00Z', last_seen_at: '2025-03-11T10:22:33Z', ip: '203.0.113.7',
    user_agent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36', current: true },
  { id: 12, created_at: '2025-03-02T17:40:00Z', last_seen_at: '2025-03-09T08:01:10Z', ip: '198.51.100.23',
    user_agent: EVIL, current: false },
  { id: 13, created_at: '2025-02-20T12:00:00Z', last_seen_at: null, ip: '', user_agent: '', current: false },
];
const tokens = [
  { id: 21, name: 'laptop sync', prefix: 'ar_pat_Xy12', scope: 'write', created_at: '2025-03-01T10:00:00Z',
    last_used_at: '2025-03-11T08:00:00Z', expires_at: '2025-06-01T10:00:00Z' },
  { id: 22, name: EVIL, prefix: 'ar_pat_Qm9z', scope: 'read', created_at: '2025-02-01T10:00:00Z',
    last_used_at: null, expires_at: null },
];
const members = [
  { user_id: 7, username: 'ada', email: 'ada@example.com', role: 'owner', role_owner: true, is_self: true, can_edit: false },
  { user_id: 8, username: 'grace', email: 'grace@example.com', role: 'admin', role_admin: true, is_self: false, can_edit: true },
  { user_id: 9, username: 'linus', email: 'linus@example.com', role: 'member', role_member: true, is_self: false, can_edit: true },
  { user_id: 10, username: 'ken', email: EVIL, role: 'read_only', role_read_only: true, is_self: false, can_edit: true },
];
const tenantPasskeys = [
  { id: 31, role: 'member', status: 'active', can_revoke: true, uses: 0, max_uses: 1, expires_at: '2025-03-18T10:00:00Z',
    note: 'for the new analyst', created_by_username: 'ada' },
  { id: 32, role: 'admin', status: 'used', can_revoke: false, uses: 1, max_uses: 1, expires_at: '2025-03-10T10:00:00Z',
    note: EVIL, created_by_username: 'grace' },
  { id: 33, role: 'read_only', status: 'expired', can_revoke: false, uses: 0, max_uses: 5, expires_at: '2025-01-10T10:00:00Z',
    note: '', created_by_username: 'ada' },
  { id: 34, role: 'member', status: 'revoked', can_revoke: false, uses: 0, max_uses: 1, expires_at: null,
    note: '', created_by_username: 'ada' },
];
const adminPasskeys = [
  { id: 41, tenant_name: '', role: 'member', status: 'active', can_revoke: true, uses: 0, max_uses: 1,
    expires_at: '2025-03-18T10:00:00Z', created_at: '2025-03-11T10:00:00Z', created_by_username: 'ada', note: 'beta cohort' },
  { id: 42, tenant_name: 'Acme Research', role: 'admin', status: 'used', can_revoke: false, uses: 3, max_uses: 3,
    expires_at: null, created_at: '2025-03-01T10:00:00Z', created_by_username: '', note: EVIL },
  { id: 43, tenant_name: '', role: 'member', status: 'revoked', can_revoke: false, uses: 0, max_uses: 1,
    expires_at: '2025-02-01T10:00:00Z', created_at: '2025-01-25T10:00:00Z', created_by_username: 'grace', note: '' },
];
const users = [
  { id: 5, username: 'ada', email: 'ada@example.com', is_staff: true, is_active: true,
    created_at: '2025-01-02T10:00:00Z', last_login_at: '2025-03-11T09:12:00Z' },
  { id: 6, username: 'mallory', email: EVIL, is_staff: false, is_active: false,
    created_at: '2025-01-05T10:00:00Z', last_login_at: null },
  { id: 8, username: 'grace', email: 'grace@example.com', is_staff: false, is_active: true,
    created_at: '2025-02-14T10:00:00Z', last_login_at: '2025-03-10T16:45:00Z' },
];
const newPasskey = { raw: 'q8Zr3kT0aLwH5sN2cV7bX1yM4pD6fG9jK0lE3uR8tQw',
  link: 'https://afterresume.example/signup?passkey=q8Zr3kT0aLwH5sN2cV7bX1yM4pD6fG9jK0lE3uR8tQw', email: 'new@example.com' };

// Each sample: a template, a context, a URL the local server answers it on (used by the htmx checks) and
// expectations: `has` selectors that must match, `lacks` selectors that must not, `text` strings the page text
// must contain.
const samples = [
  { name: 'login', template: 'pages/login', ctx: common('Sign in', { form: { username: '' } }),
    has: ['form[action="/login"] input[name=remember][value="1"]', 'a[href="/password/forgot"]', 'a[href="/signup"]'],
    lacks: ['input[name=next]', '.alert--error'] },
  { name: 'login-error', template: 'pages/login', url: '/login',
    ctx: common('Sign in', { form: { username: EVIL, remember: true }, next: '/settings?tab=1&x=2',
      errors: { form: 'Invalid username or password.' } }),
    has: ['input[name=next][value="/settings?tab=1&x=2"]', 'input[name=remember]:checked', '[role=alert]'],
    text: ['Invalid username or password.'], evilValue: 'input[name=username]' },
  { name: 'signup', template: 'pages/signup', ctx: common('Create your account', { form: {}, passkey_prefilled: false }),
    has: ['form[action="/signup"] input[name=passkey]', 'input[name=username][pattern]', 'input[name=password][minlength="12"]', 'a[href="/login"]'],
    lacks: ['.input--prefilled'] },
  { name: 'signup-invite', template: 'pages/signup',
    ctx: common('Create your account', { form: { passkey: newPasskey.raw }, passkey_prefilled: true }),
    has: [`input[name=passkey].input--prefilled[value="${newPasskey.raw}"]`, 'input[name=username][autofocus]'],
    lacks: ['input[name=passkey][readonly]'] },
  { name: 'signup-errors', template: 'pages/signup',
    ctx: common('Create your account', { form: { username: 'a', email: EVIL, passkey: 'short' },
      errors: { form: 'Please correct the marked fields.', username: 'Use 2 to 40 letters, digits, dots, underscores or hyphens.',
        email: 'Enter a valid e-mail address.', password: 'Use at least 12 characters.', passkey: 'This invite passkey is not valid.' } }),
    has: ['#signup-username[aria-invalid=true]', '#signup-email-error', '#signup-password-error', '#signup-passkey-error'],
    lacks: ['input[type=password][value]'], evilValue: 'input[name=email]' },
  { name: 'logout', template: 'pages/logout', ctx: signedIn('Sign out', {}),
    has: ['main form[action="/logout"] button[type=submit]', 'main a[href="/"]'], text: ['Sign out of AfterResume?'] },
  { name: 'home', template: 'pages/home', url: '/',
    ctx: signedIn('Home', { flashes: [{ level: 'success', message: 'Welcome to AfterResume: your account and workspace are ready.' }] }),
    has: ['.site-nav a[href="/tenant/settings"]', '.site-nav a[href="/admin/users"]', '.site-nav a[href="/settings"]',
      '.user-menu select[name=tenant_id] option[selected][value="3"]', '#flash-region .alert--success', 'a[href="/tenant/settings#invites"]'],
    text: ['Welcome back, ada', 'Coming soon'] },
  { name: 'home-member', template: 'pages/home',
    ctx: signedIn('Home', {}, { staff: false, admin: false, switcher: false }),
    lacks: ['a[href="/tenant/settings"]', 'a[href="/admin/users"]', 'select[name=tenant_id]'], text: ['Acme Research'] },
  { name: 'home-signed-out', template: 'pages/home', ctx: common('', {}),
    has: ['.site-nav--guest a[href="/login"]', 'a[href="/signup"]'], lacks: ['form[action="/logout"]'] },
  { name: 'settings', template: 'pages/settings', url: '/settings',
    ctx: signedIn('Settings', { nav: { settings: true }, profile, sessions, tokens, form: {} }),
    has: ['#session-11 .badge', '#session-12 form[action="/settings/sessions/12/end"][hx-post]', '#token-21 form[hx-confirm]',
      'form[action="/settings/sessions/end-others"][data-confirm]', 'form[action="/settings/tokens"] select[name=scope]',
      '.site-nav a[href="/settings"][aria-current=page]', 'time[data-localized]'],
    lacks: ['#session-11 form', '.secret-panel'], text: ['ada@example.com'] },
  { name: 'settings-session-ended', template: 'pages/settings', url: '/settings?done=session_ended',
    ctx: signedIn('Settings', { nav: { settings: true }, profile, sessions: sessions.filter((s) => s.id !== 12), tokens,
      flashes: [{ level: 'success', message: 'The session was signed out.' }] }) },
  { name: 'settings-token-revoked', template: 'pages/settings', url: '/settings?done=token_revoked',
    ctx: signedIn('Settings', { nav: { settings: true }, profile, sessions, tokens: tokens.filter((t) => t.id !== 22),
      flashes: [{ level: 'success', message: 'The API token was revoked.' }] }) },
  { name: 'settings-new-token', template: 'pages/settings',
    ctx: signedIn('Settings', { nav: { settings: true }, profile, sessions, tokens: [], form: {},
      new_token: { name: 'ci deploy', token: 'ar_pat_Rk2mQ9vT4xW7yZ1aB3cD5eF6gH8jK0lN2pS4uV6w' } }),
    has: ['#new-token-value', 'button[data-copy="new-token-value"]'], text: ['ar_pat_Rk2mQ9vT4xW7yZ1aB3cD5eF6gH8jK0lN2pS4uV6w', 'No API tokens yet.'] },
  { name: 'settings-errors', template: 'pages/settings',
    ctx: signedIn('Settings', { nav: { settings: true }, profile, sessions, tokens,
      form: { name: EVIL, scope: 'write', scope_write: true, expires_in_days: '99999' },
      errors: { form: 'The token was not created.', current_password: 'The current password is not correct.',
        new_password_confirm: 'The two new passwords differ.', expires_in_days: 'Enter a number of days from 1 to 3650, or leave it empty.' } }),
    has: ['#current-password[aria-invalid=true]', '#new-password-confirm-error', '#token-expires[aria-describedby="token-expires-hint token-expires-error"]',
      'select[name=scope] option[value=write]:checked'],
    lacks: ['input[type=password][value]'], evilValue: 'input[name=name]' },
  { name: 'tenant_settings', template: 'pages/tenant_settings', url: '/tenant/settings',
    ctx: signedIn('Team', { nav: { team: true }, members, passkeys: tenantPasskeys, form: {} }),
    has: ['#member-9 select[name=role] option[value=member]:checked', '#member-10 form[action="/tenant/members/10/remove"][hx-confirm]',
      '#passkey-31 form[action="/tenant/passkeys/31/revoke"]', '.badge--expired', 'input[name=max_uses][value="1"]',
      '.site-nav a[href="/tenant/settings"][aria-current=page]'],
    lacks: ['#member-7 form', '#passkey-32 form'] },
  { name: 'tenant_settings-role-changed', template: 'pages/tenant_settings', url: '/tenant/settings?done=role_changed',
    ctx: signedIn('Team', { nav: { team: true }, passkeys: tenantPasskeys,
      members: members.map((m) => (m.user_id === 9 ? { ...m, role: 'admin', role_member: false, role_admin: true } : m)),
      flashes: [{ level: 'success', message: "The member's role was changed." }] }) },
  { name: 'tenant_settings-role-failed', template: 'pages/tenant_settings',
    ctx: signedIn('Team', { nav: { team: true }, members, passkeys: tenantPasskeys,
      errors: { form: 'The workspace must keep at least one owner.' } }),
    has: ['#page-errors [role=alert]'] },
  { name: 'tenant_settings-new-passkey', template: 'pages/tenant_settings',
    ctx: signedIn('Team', { nav: { team: true }, members, passkeys: tenantPasskeys, new_passkey: newPasskey,
      form: { role: 'admin', role_admin: true, max_uses: '3', expires_in_days: '14', note: EVIL, email: '' },
      errors: { form: 'The invite was not created.', email: 'Enter a valid e-mail address.' } }),
    has: ['#new-passkey-link', '#invite-role option[value=admin]:checked', 'input[name=max_uses][value="3"]', '#invite-email-error'],
    text: [newPasskey.link], evilValue: 'input[name=note]' },
  { name: 'admin-users', template: 'pages/admin/users', url: '/admin/users',
    ctx: signedIn('Users · Admin', { nav: { admin: true }, admin_nav: { users: true }, users,
      form: { q: EVIL, active: 'false', active_false: true }, next_url: '/admin/users?after=8&q=a&active=false' }),
    has: ['.tabs a[href="/admin/users"][aria-current=page]', '#user-6 input[name=action][value=enable]',
      '#user-5 input[name=action][value=remove_staff]', '#user-8 input[name=action][value=make_staff]',
      'form[data-confirm] input[name=action][value=reset_password]', '#users-active option[value=false]:checked',
      'a[href="/admin/users?after=8&q=a&active=false"]'],
    evilValue: 'input[name=q]' },
  { name: 'admin-users-reset', template: 'pages/admin/users',
    ctx: signedIn('Users · Admin', { nav: { admin: true }, admin_nav: { users: true }, users: [],
      reset_result: { username: 'mallory', password: 'mX7-fL2q-Zp9w-Tt4c' } }),
    has: ['#reset-password-value'], text: ['mX7-fL2q-Zp9w-Tt4c', 'No users match.'], lacks: ['.table-footer'] },
  { name: 'admin-passkeys', template: 'pages/admin/passkeys', url: '/admin/passkeys',
    ctx: signedIn('Passkeys · Admin', { nav: { admin: true }, admin_nav: { passkeys: true }, passkeys: adminPasskeys, form: {} }),
    has: ['.pill-nav a[href="/admin/passkeys"][aria-current=page]', '#passkey-41 form[hx-post="/admin/passkeys/41/revoke"]',
      'a[href="/admin/passkeys/42"]', '.badge--revoked', 'form[action="/admin/passkeys"] input[name=tenant_id]'],
    lacks: ['#passkey-42 form', '.secret-panel'], text: ['the command line'] },
  { name: 'admin-passkeys-new', template: 'pages/admin/passkeys',
    ctx: signedIn('Passkeys · Admin', { nav: { admin: true }, admin_nav: { passkeys: true }, passkeys: [],
      form: { status: 'revoked', status_revoked: true }, new_passkey: { raw: newPasskey.raw, link: newPasskey.link } }),
    has: ['.pill-nav a[href="/admin/passkeys?status=revoked"][aria-current=page]', '#new-passkey-raw'],
    text: ['No passkeys with status revoked.'] },
  { name: 'admin-passkey', template: 'pages/admin/passkey',
    ctx: signedIn('Passkey · Admin', { nav: { admin: true }, admin_nav: { passkeys: true }, passkey: adminPasskeys[0],
      events: [
        { created_at: '2025-03-11T11:00:00Z', action: 'passkey.rejected', actor_username: '', ip: '198.51.100.9', success: false, reason: 'expired' },
        { created_at: '2025-03-11T10:30:00Z', action: 'passkey.validated', actor_username: '', ip: '203.0.113.7', success: true, reason: '' },
        { created_at: '2025-03-11T10:31:00Z', action: 'passkey.consumed', actor_username: 'newbie', ip: '203.0.113.7', success: true, reason: EVIL },
      ] }),
    has: ['form[action="/admin/passkeys/41/revoke"][data-confirm]', '.badge--error'], text: ['Passkey #41', 'newbie'] },
  { name: 'admin-audit', template: 'pages/admin/audit',
    ctx: signedIn('Audit log · Admin', { nav: { admin: true }, admin_nav: { audit: true },
      form: { actor: 'ada', action: 'signin.failed', tenant_id: '', since: '2025-03-01', until: '', success: 'false', success_false: true },
      events: [
        { id: 901, created_at: '2025-03-11T10:22:33Z', actor_username: 'ada', tenant_id: 3, action: 'token.created',
          target_type: 'api_token', target_id: '21', ip: '203.0.113.7', success: true, reason: '',
          details_text: '{"name": "laptop sync", "scope": "write"}' },
        { id: 900, created_at: '2025-03-11T10:20:00Z', actor_username: '', tenant_id: null, action: 'signin.failed',
          target_type: 'user', target_id: '', ip: '198.51.100.9', success: false, reason: 'bad_password', details_text: EVIL },
      ],
      next_url: '/admin/audit?before=900&actor=ada', csv_url: '/admin/audit.csv?actor=ada&success=false' }),
    has: ['#event-901 details pre', '#audit-success option[value=false]:checked', 'input[name=since][value="2025-03-01"]',
      'a[href="/admin/audit.csv?actor=ada&success=false"]', 'a[href="/admin/audit?before=900&actor=ada"]'],
    text: ['bad_password'] },
  { name: 'admin-outbox', template: 'pages/admin/outbox',
    ctx: signedIn('Outbox · Admin', { nav: { admin: true }, admin_nav: { outbox: true }, messages: [
      { id: 51, created_at: '2025-03-11T10:00:00Z', to_addr: 'new@example.com', subject: 'You are invited to AfterResume',
        status: 'sent', attempts: 1, last_error: '', body_text: 'Hello,\n\nada invited you. Open this link to sign up:\nhttps://afterresume.example/signup?passkey=abc\n' },
      { id: 52, created_at: '2025-03-11T10:05:00Z', to_addr: EVIL, subject: EVIL, status: 'failed', attempts: 5, last_error: 'connection refused', body_text: EVIL },
    ] }),
    has: ['#message-51 details pre', '.badge--failed'] },
  { name: 'admin-ratelimits', template: 'pages/admin/ratelimits',
    ctx: signedIn('Rate limits · Admin', { nav: { admin: true }, admin_nav: { ratelimits: true },
      limits: [
        { class: 'signin_ip', subject: '198.51.100.9', count: 5, limit: 5, window: 300, ttl: 200 },
        { class: 'signin_account', subject: EVIL, count: 2, limit: 5, window: 300, ttl: 240 },
      ],
      classes: [
        { class: 'signin_ip', limit: 5, window: 300, fail_closed: true },
        { class: 'api_token', limit: 600, window: 60, fail_closed: false },
      ] }),
    has: ['form[action="/admin/ratelimits/reset"] input[name=class][value=signin_ip]', 'input[name=subject][value="198.51.100.9"]'] },
  { name: 'password_forgot', template: 'pages/password_forgot', ctx: common('Reset your password', { form: {} }),
    has: ['form[action="/password/forgot"] input[name=email]'] },
  { name: 'password_forgot-sent', template: 'pages/password_forgot', ctx: common('Reset your password', { sent: true }),
    lacks: ['form[action="/password/forgot"]'], text: ['If an account exists for that address, we sent a link'] },
  { name: 'password_reset', template: 'pages/password_reset',
    ctx: common('Choose a new password', { token: 'rst_abc123', errors: { new_password: 'Use at least 12 characters.' } }),
    has: ['input[name=token][type=hidden][value=rst_abc123]', '#reset-password-error', 'input[name=new_password_confirm]'],
    lacks: ['input[type=password][value]'] },
  { name: 'password_reset-invalid', template: 'pages/password_reset', ctx: common('Choose a new password', { invalid: true }),
    has: ['a[href="/password/forgot"]'], lacks: ['form[action="/password/reset"]'] },
  { name: 'error', template: 'pages/error',
    ctx: signedIn('Page not found', { error: { status: 404, title: 'Page not found', message: 'There is no page at this address.' } }),
    text: ['Page not found', 'req-6f1c2a9e'] },
];

// ---- Render ---------------------------------------------------------------------------------------------

const templates = loadTemplates(join(repo, 'templates'));
mkdirSync(outDir, { recursive: true });
const pages = new Map(); // url path (or /pages/NAME.html) -> html
const rendered = new Set();
for (const s of samples) {
  let html = '';
  try {
    html = templates[s.template].render(s.ctx, templates);
  } catch (e) {
    check(`${s.name}: renders`, false, String(e && e.message ? e.message : e));
    continue;
  }
  const leftover = html.match(/\{\{|\}\}|undefined|\[object Object\]/);
  check(`${s.name}: renders (${s.template})`, html.includes('</html>') && !leftover, leftover ? `found ${leftover[0]}` : 'no </html>');
  writeFileSync(join(outDir, `${s.name}.html`), html);
  writeFileSync(join(outDir, `${s.name}.json`), JSON.stringify({ template: s.template, context: s.ctx }, null, 2));
  pages.set(`/pages/${s.name}.html`, html);
  if (s.url) pages.set(s.url, html);
  rendered.add(s.template);
}
for (const name of Object.keys(templates).filter((n) => n.startsWith('pages/'))) {
  check(`${name}: has a sample`, rendered.has(name));
}
console.log(`rendered ${samples.length} samples into ${outDir}`);

// ---- Serve and check in Chromium ------------------------------------------------------------------------

const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; " +
  "base-uri 'none'; frame-ancestors 'none'; form-action 'self'";
const TYPES = { '.css': 'text/css', '.js': 'text/javascript', '.svg': 'image/svg+xml', '.png': 'image/png' };
// htmx row actions: POST path -> where the daemon redirects (303) afterwards.
const REDIRECTS = {
  '/settings/sessions/12/end': '/settings?done=session_ended',
  '/settings/tokens/22/revoke': '/settings?done=token_revoked',
  '/tenant/members/9/role': '/tenant/settings?done=role_changed',
};
// POST path -> sample answered in place with 422 (a refused action re-renders the page with errors.form).
const REFUSALS = { '/tenant/members/8/role': 'tenant_settings-role-failed' };
const posts = [];

function serve() {
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    const send = (status, type, body, headers = {}) => {
      res.writeHead(status, { 'Content-Type': type, 'Content-Security-Policy': CSP, 'Cache-Control': 'no-store', ...headers });
      res.end(body);
    };
    if (req.method === 'POST') {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        posts.push({ path: url.pathname, body: new URLSearchParams(body), csrfHeader: req.headers['x-csrf-token'] || '',
          htmx: req.headers['hx-request'] === 'true' });
        const to = REDIRECTS[url.pathname];
        const refusal = REFUSALS[url.pathname] && pages.get(`/pages/${REFUSALS[url.pathname]}.html`);
        if (to) send(303, 'text/plain', '', { Location: to });
        else if (refusal) send(422, 'text/html; charset=utf-8', refusal);
        else send(404, 'text/plain', 'no such action');
      });
      return;
    }
    if (url.pathname.startsWith('/static/')) {
      const file = resolve(repo, '.' + url.pathname);
      if (!file.startsWith(join(repo, 'static') + sep)) return send(403, 'text/plain', 'no');
      try {
        return send(200, TYPES[extname(file)] || 'application/octet-stream', readFileSync(file));
      } catch {
        return send(404, 'text/plain', 'not found');
      }
    }
    const html = pages.get(url.pathname + url.search) || pages.get(url.pathname);
    if (html) return send(200, 'text/html; charset=utf-8', html);
    return send(404, 'text/plain', 'not found');
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)));
}

function recordCspViolations() {
  window.__csp = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile || ''}:${e.lineNumber || 0})`);
  });
}

// Runs in the page: structural checks every page must pass. Returns a list of problems.
function pageProblems({ csrf, has, lacks, text, evilValue, evil }) {
  const problems = [];
  const all = (sel) => Array.from(document.querySelectorAll(sel));
  for (const form of all('form')) {
    if ((form.getAttribute('method') || 'get').toLowerCase() !== 'post') continue;
    const token = form.querySelector('input[type=hidden][name=csrf_token]');
    if (!token || token.value !== csrf) problems.push(`POST form ${form.getAttribute('action')} lacks the CSRF token`);
    if (form.hasAttribute('hx-post') && form.getAttribute('hx-post') !== form.getAttribute('action')) {
      problems.push(`form ${form.getAttribute('action')}: hx-post differs from action`);
    }
  }
  const ids = new Map();
  for (const el of all('[id]')) ids.set(el.id, (ids.get(el.id) || 0) + 1);
  for (const [id, n] of ids) if (n > 1) problems.push(`id "${id}" used ${n} times`);
  for (const el of all('[aria-describedby]')) {
    for (const id of el.getAttribute('aria-describedby').split(/\s+/)) {
      if (!document.getElementById(id)) problems.push(`aria-describedby "${id}" has no target`);
    }
  }
  for (const label of all('label[for]')) {
    if (!document.getElementById(label.htmlFor)) problems.push(`label for "${label.htmlFor}" has no target`);
  }
  for (const input of all('input:not([type=hidden]), select, textarea')) {
    const labelled = input.labels && input.labels.length > 0 || input.getAttribute('aria-label');
    if (!labelled && !input.hidden) problems.push(`${input.tagName.toLowerCase()}[name=${input.name}] has no label`);
  }
  if (all('[style]').length) problems.push('style attribute present');
  if (all('style').length) problems.push('<style> element present');
  if (all('script:not([src])').length) problems.push('inline <script> present');
  for (const el of all('*')) {
    for (const attr of el.getAttributeNames()) {
      if (/^on/i.test(attr)) problems.push(`inline event handler ${attr} on <${el.tagName.toLowerCase()}>`);
    }
  }
  if (all('input[type=password][value]').length) problems.push('a password input carries a value');
  if (all('[data-evil]').length) problems.push('hostile sample text became markup');
  if (document.body.innerHTML.includes('<img src=x')) problems.push('hostile sample text not escaped');
  if (evilValue) {
    const el = document.querySelector(evilValue);
    if (!el || el.value !== evil) problems.push(`${evilValue} does not hold the hostile sample as its value`);
  }
  for (const sel of has || []) if (!document.querySelector(sel)) problems.push(`missing ${sel}`);
  for (const sel of lacks || []) if (document.querySelector(sel)) problems.push(`unexpected ${sel}`);
  const bodyText = document.body.innerText;
  for (const t of text || []) if (!bodyText.includes(t)) problems.push(`text "${t}" not shown`);
  if (!document.title) problems.push('empty <title>');
  if (document.querySelectorAll('main h1').length !== 1) problems.push(`${document.querySelectorAll('main h1').length} <h1> in main`);
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth) {
    const culprit = Array.from(document.querySelectorAll('body *')).find((e) => e.getBoundingClientRect().right > root.clientWidth + 1 &&
      !e.closest('.table-wrap table, .tabs__list, pre, .menu__panel'));
    problems.push(`page is ${root.scrollWidth}px wide in a ${root.clientWidth}px viewport` +
      (culprit ? `; first too wide: <${culprit.tagName.toLowerCase()} class="${culprit.className}">` : ''));
  }
  return problems;
}

async function browserRun() {
  const { chromium } = await import('playwright-core');
  const server = await serve();
  const base = `http://127.0.0.1:${server.address().port}`;
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  try {
    if (shotsDir) mkdirSync(shotsDir, { recursive: true });
    for (const width of [1280, 390]) {
      const context = await browser.newContext({ viewport: { width, height: width > 500 ? 900 : 844 } });
      await context.addInitScript(recordCspViolations);
      for (const s of samples) {
        const page = await context.newPage();
        const errors = [];
        page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
        page.on('pageerror', (e) => errors.push(String(e)));
        page.on('requestfailed', (r) => errors.push(`request failed ${r.url()}`));
        page.on('response', (r) => { if (r.status() >= 400) errors.push(`${r.url()} -> ${r.status()}`); });
        await page.goto(`${base}/pages/${s.name}.html`, { waitUntil: 'load' });
        await page.waitForFunction(() => document.documentElement.dataset.appJs === 'ready' && window.htmx, null, { timeout: 5000 })
          .catch(() => errors.push('app.js or htmx did not load'));
        const problems = await page.evaluate(pageProblems, { csrf: CSRF, has: s.has, lacks: s.lacks, text: s.text,
          evilValue: s.evilValue, evil: EVIL });
        const csp = await page.evaluate(() => window.__csp);
        check(`${s.name} @${width}px: page checks`, problems.length === 0, problems.join(' | '));
        check(`${s.name} @${width}px: no CSP violation, console error or failed request`, csp.length + errors.length === 0,
          [...csp, ...errors].join(' | '));
        if (shotsDir) await page.screenshot({ path: join(shotsDir, `${s.name}-${width}.png`), fullPage: true });
        await page.close();
      }
      await context.close();
    }
    // The header must fit at every width: the inline nav down to 1001 px, the mobile menu below.
    for (const width of [1001, 761]) {
      const page = await browser.newPage({ viewport: { width, height: 700 } });
      await page.goto(`${base}/pages/home.html`);
      const fit = await page.evaluate(() => [document.documentElement.scrollWidth, document.querySelector('.site-header__inner').scrollWidth]);
      check(`home @${width}px: the header fits`, fit[0] <= width && fit[1] <= width, `page ${fit[0]}px, header ${fit[1]}px`);
      await page.close();
    }
    await htmxRowActions(browser, base);
  } finally {
    await browser.close();
    server.close();
  }
}

// hx-post row actions: the daemon answers 303 to the full page; htmx swaps in the row (gone when removed) and the
// flash region, leaving the rest of the page alone.
async function htmxRowActions(browser, base) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.addInitScript(recordCspViolations);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  // Chromium logs every 4xx answer as a console error; the refused action's 422 is expected here.
  page.on('console', (m) => { if (m.type() === 'error' && !/status of 422/.test(m.text())) errors.push(m.text()); });
  let dialogs = 0;
  page.on('dialog', (d) => { dialogs++; d.accept(); });
  const single = () => page.evaluate(() => document.querySelectorAll('header.site-header').length === 1 &&
    document.querySelectorAll('main').length === 1 && document.querySelectorAll('#flash-region').length === 1);

  await page.goto(`${base}/settings`);
  await page.waitForFunction(() => window.htmx && document.documentElement.dataset.appJs === 'ready');
  posts.length = 0;
  await page.click('#session-12 button[type=submit]');
  await page.waitForSelector('#session-12', { state: 'detached', timeout: 5000 }).catch(() => {});
  let state = await page.evaluate(() => ({ gone: !document.querySelector('#session-12'), others: !!document.querySelector('#session-13'),
    flash: (document.querySelector('#flash-region') || {}).innerText || '' }));
  const post = posts[0] || { body: new URLSearchParams() };
  check('htmx: ending a session removes its row', state.gone && state.others && await single(), JSON.stringify(state));
  check('htmx: the flash region shows the outcome', state.flash.includes('The session was signed out.'), state.flash);
  check('htmx: the POST carries the CSRF token (field and header) and HX-Request',
    post.body.get('csrf_token') === CSRF && post.csrfHeader === CSRF && post.htmx, JSON.stringify({ field: post.body.get('csrf_token'),
      header: post.csrfHeader, htmx: post.htmx }));

  posts.length = 0;
  await page.click('#token-22 button[type=submit]');
  await page.waitForSelector('#token-22', { state: 'detached', timeout: 5000 }).catch(() => {});
  state = await page.evaluate(() => ({ gone: !document.querySelector('#token-22'), kept: !!document.querySelector('#token-21') }));
  check('htmx: revoking a token asks first and removes its row', dialogs === 1 && state.gone && state.kept && await single(),
    JSON.stringify({ dialogs, ...state }));

  await page.goto(`${base}/tenant/settings`);
  await page.waitForFunction(() => window.htmx && document.documentElement.dataset.appJs === 'ready');
  posts.length = 0;
  await page.selectOption('#member-role-9', 'admin');
  await page.click('#member-9 button[type=submit]');
  await page.waitForFunction(() => (document.querySelector('#flash-region') || {}).innerText.includes('role was changed'), null,
    { timeout: 5000 }).catch(() => {});
  state = await page.evaluate(() => ({ role: (document.querySelector('#member-role-9') || {}).value,
    rows: document.querySelectorAll('tr[id^="member-"]').length }));
  check('htmx: changing a role swaps in the updated row', posts[0] && posts[0].body.get('role') === 'admin' &&
    state.role === 'admin' && state.rows === members.length && await single(), JSON.stringify(state));
  const errorShown = () => (document.querySelector('#page-errors') || {}).innerText.includes('at least one owner');
  await page.selectOption('#member-role-8', 'member');
  await page.click('#member-8 button[type=submit]');
  await page.waitForFunction(errorShown, null, { timeout: 5000 }).catch(() => {});
  state = await page.evaluate(() => ({ role: (document.querySelector('#member-role-8') || {}).value,
    error: (document.querySelector('#page-errors') || {}).innerText || '' }));
  check('htmx: a refused role change (422) shows the error and restores the row', state.role === 'admin' &&
    state.error.includes('at least one owner') && await single(), JSON.stringify(state));
  const csp = await page.evaluate(() => window.__csp);
  check('htmx: no CSP violation or script error during row actions', csp.length + errors.length === 0, [...csp, ...errors].join(' | '));
  await context.close();
}

if (browserChecks) {
  try {
    await browserRun();
  } catch (e) {
    check('browser checks completed', false, String(e && e.stack ? e.stack : e));
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
