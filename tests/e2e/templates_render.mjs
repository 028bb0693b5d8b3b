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
  // billing pages (src/web/billing.c; helper "stripe")
  { name: 'billing', template: 'pages/billing', url: '/billing',
    ctx: signedIn('Billing', { nav: { billing: true },
      balance: { balance: '$12.40', available: '$10.90', held: '$1.50', threshold: '$5.00', is_low: false, is_zero: false,
        has_holds: true, balance_cents: 1240 },
      has_hold_rows: true, holds: [{ id: 1, job_id: 77, amount: '$1.50', expires_at: '2025-03-11T12:00:00Z' }],
      topup: { configured: true, allowed: true, presets: [
        { cents: 1000, label: '$10.00', checked: false }, { cents: 2500, label: '$25.00', checked: true },
        { cents: 5000, label: '$50.00', checked: false }, { cents: 10000, label: '$100.00', checked: false }] },
      ledger: { entries: [
        { id: 3, entry_type: 'usage', amount: '−$0.25', credit: false, balance_after: '$12.40', notes: EVIL,
          created_at: '2025-03-11T10:00:00Z' },
        { id: 2, entry_type: 'topup', amount: '$12.65', credit: true, balance_after: '$12.65',
          notes: 'Top-up 4 paid (checkout session cs_test_a1)', created_at: '2025-03-10T10:00:00Z' }],
        pager: { page: 2, pages: 3, total: 45, prev: 1, next: 3 } },
      usage: { since: '2025-02-10', until: '2025-03-11', total: '$0.25', has_usage: true, chart_width: 600,
        chart_height: 120, bars: [{ x: 0, y: 10, width: 298, height: 110, label: '2025-03-10: $0.20' },
          { x: 300, y: 93, width: 298, height: 27, label: '2025-03-11: $0.05' }],
        by_model: [{ provider: 'openai', model: EVIL, cost: '$0.25', prompt_tokens: 100000, completion_tokens: 50000,
          jobs: 2 }] },
      form: {} }),
    has: ['#billing-balance', 'form[action="/billing/topup"][hx-post] input[name=amount][value="2500"][checked]',
      '#custom-amount[aria-describedby="custom-amount-hint"]', '.billing-chart__svg rect.billing-chart__bar',
      'a[href="/billing?page=3#ledger"]', '.site-nav a[href="/billing"][aria-current=page]'],
    lacks: ['#payments-off', '#billing-state'], text: ['Held for running jobs', 'Active holds'] },
  { name: 'billing-off-zero-errors', template: 'pages/billing', url: '/billing',
    ctx: signedIn('Billing', { nav: { billing: true },
      balance: { balance: '$0.00', available: '$0.00', held: '$0.00', threshold: '$5.00', is_low: false, is_zero: true },
      holds: [], topup: { configured: false, allowed: true, presets: [] },
      ledger: { entries: [], pager: { page: 1, pages: 1, total: 0 } }, usage: { since: '2025-02-10',
        until: '2025-03-11', total: '$0.00', has_usage: false, bars: [], by_model: [] },
      errors: { form: 'Stripe could not start the payment; nothing was charged.' }, form: {} }),
    has: ['#payments-off', '#billing-state', '#page-errors .alert'], lacks: ['#topup-submit', '.billing-chart'] },
  { name: 'billing-topup-error', template: 'pages/billing', url: '/billing',
    ctx: signedIn('Billing', { nav: { billing: true },
      balance: { balance: '$3.00', available: '$3.00', held: '$0.00', threshold: '$5.00', is_low: true, is_zero: false },
      holds: [], topup: { configured: true, allowed: true, presets: [{ cents: 1000, label: '$10.00', checked: true }] },
      ledger: { entries: [], pager: { page: 1, pages: 1, total: 0 } },
      errors: { form: 'The top-up was not started.', custom_amount: 'Top-ups are from $1.00 to $10,000.00.' },
      form: { custom_amount: EVIL } }),
    has: ['#custom-amount[aria-invalid=true]', '#custom-amount-error', '#billing-state.alert--warn'] },
  { name: 'billing-topup-success-pending', template: 'pages/billing_topup_success', url: '/billing/topup/success?topup=4',
    ctx: signedIn('Top-up', { nav: { billing: true }, topup: { id: 4, status: 'pending', amount: '$25.00',
      balance: '$0.00', available: '$0.00', pending: true, paid: false, unsuccessful: false,
      poll_url: '/billing/topup/4/status' } }),
    has: ['#topup-state[data-status=pending][hx-get="/billing/topup/4/status"][hx-trigger="every 2s"]'],
    text: ['Payment pending'] },
  { name: 'billing-topup-success-paid', template: 'pages/billing_topup_success', url: '/billing/topup/success?topup=4',
    ctx: signedIn('Top-up', { nav: { billing: true }, topup: { id: 4, status: 'paid', amount: '$25.00',
      balance: '$25.00', available: '$25.00', pending: false, paid: true, unsuccessful: false,
      poll_url: '/billing/topup/4/status' } }),
    has: ['#topup-balance'], lacks: ['#topup-state[hx-get]'] },
  { name: 'billing-topup-cancel', template: 'pages/billing_topup_cancel', url: '/billing/topup/cancel?topup=4',
    ctx: signedIn('Top-up cancelled', { nav: { billing: true }, topup: { id: 4, amount: '$25.00', status: 'pending' } }),
    text: ['No payment was taken for the top-up of $25.00'] },
  { name: 'billing-topup-redirect', template: 'pages/billing_topup_redirect', url: '/billing/topup',
    ctx: signedIn('Continue to payment', { nav: { billing: true }, amount: '$25.00',
      checkout: { topup_id: 4, session_id: 'cs_test_a1', checkout_url: 'https://checkout.stripe.com/c/pay/cs_test_a1' } }),
    has: ['a#checkout-link[href="https://checkout.stripe.com/c/pay/cs_test_a1"]'] },
  // worklog, clients, projects (src/web/worklog*.c, src/web/clients.c, src/web/projects.c)
  { name: 'worklog', template: 'pages/worklog', url: '/worklog',
    ctx: signedIn('Worklog', { nav: { worklog: true }, can_write: true, undo: { id: 105, display_title: EVIL },
      heatmap: { total_entries: 4, total_days: 3, start: '2025-03-10', end: '2025-03-16',
        months: [{ name: 'Mar' }, { name: '' }],
        cells: [{ pad: true }, { date: '2025-03-11', label: '2025-03-11: 2 entries', level: 2, count: 2, has_entries: true },
          { date: '2025-03-12', label: '2025-03-12: no entries', level: 0, count: 0, has_entries: false },
          { date: '2025-03-13', label: '2025-03-13: 1 entry', level: 1, count: 1, has_entries: true }] },
      filters: { start_date: '2025-03-01', end_date: '', tag: '', search: '', active: true, has_clients: true, has_projects: true,
        tags: [{ name: 'postgres', count: 3 }, { name: EVIL, count: 1 }],
        clients: [{ value: '5', label: 'Northwind', selected: true }, { value: '6', label: EVIL, selected: false }],
        projects: [{ value: '9', label: 'Checkout revamp', selected: false }],
        work_types: [{ value: 'engineering', label: 'Engineering', selected: false }, { value: 'meeting', label: 'Meeting', selected: false }],
        statuses: [{ value: 'done', label: 'Done', selected: false }, { value: 'draft', label: 'Draft', selected: false }] },
      list: { searching: false, empty: false, filtered: true, first_page: true, more_url: '/worklog/results?after=101&start_date=2025-03-01',
        next_url: '/worklog?after=101&start_date=2025-03-01',
        groups: [
          { date: '2025-03-13', date_label: 'Thursday 13 March 2025', continued: false, entries: [
            { id: 103, display_title: 'Cut checkout latency by 60%', date_label: '13 Mar 2025', occurred_on: '2025-03-13',
              work_type_label: 'Engineering', effort_label: '3 h', project_name: 'Checkout revamp', client_name: 'Northwind',
              is_team: true, has_tags: true, tag_links: [{ name: 'postgres', q: 'postgres' }, { name: EVIL, q: '%3Cimg' }],
              has_attachments: true, attachment_count: 2, excerpt: 'Moved the cart query to an index-only scan.' }] },
          { date: '2025-03-11', date_label: 'Tuesday 11 March 2025', continued: false, entries: [
            { id: 102, display_title: EVIL, date_label: '11 Mar 2025', occurred_on: '2025-03-11', work_type_label: 'Meeting',
              effort_label: '', project_name: '', client_name: '', has_tags: false, tag_links: [], excerpt: EVIL },
            { id: 101, display_title: 'Reviewed the on-call runbook', date_label: '11 Mar 2025', occurred_on: '2025-03-11',
              work_type_label: 'Engineering', effort_label: '45 min', has_tags: false, tag_links: [], has_attachments: true,
              attachment_count: 1, one_attachment: true, excerpt: '' }] }] } }),
    has: ['.worklog-undo form[action="/worklog/105/restore"]', '#entry-103 a[href="/worklog/103"]', '#filter-client option[value="5"]:checked',
      '.heatmap a.heat--2[href="/worklog?start_date=2025-03-11&end_date=2025-03-11"]', '#worklog-more a[hx-get]',
      '.site-nav a[href="/worklog"][aria-current=page]'],
    text: ['2 evidence files', '1 evidence file'] },
  { name: 'worklog-search', template: 'pages/worklog', url: '/worklog?search=latency',
    ctx: signedIn('Worklog', { nav: { worklog: true }, can_write: false,
      filters: { search: EVIL, tags: [], clients: [], projects: [], work_types: [], statuses: [] },
      errors: { end_date: 'The end date must be on or after the start date.' },
      list: { searching: true, search_text: EVIL, empty: false, first_page: true, results: [
        { id: 103, display_title: 'Cut checkout latency by 60%', date_label: '13 Mar 2025', occurred_on: '2025-03-13',
          work_type_label: 'Engineering', searching: true, has_tags: false, tag_links: [],
          snippet: 'Cut checkout <mark>latency</mark> by 60% &lt;img src=x&gt;' }] } }),
    has: ['.worklog-list--search mark', '#filter-end[aria-invalid=true]', '#filter-end-error'], lacks: ['main a[data-quick-add]'],
    evilValue: '#worklog-search' },
  { name: 'worklog-empty', template: 'pages/worklog',
    ctx: signedIn('Worklog', { nav: { worklog: true }, can_write: true,
      filters: { tags: [], clients: [], projects: [], work_types: [], statuses: [] },
      list: { empty: true, filtered: false, groups: [] } }),
    text: ['Your worklog is empty'], lacks: ['#worklog-more a'] },
  { name: 'worklog_new', template: 'pages/worklog_new', url: '/worklog/new',
    ctx: signedIn('Log work', { nav: { worklog: true }, qa_form: { occurred_on: '2025-03-13' },
      qa_tags: [{ name: 'postgres', count: 3 }], qa_projects: [{ value: '9', label: 'Checkout revamp', selected: false, client_name: 'Northwind' }] }),
    has: ['form#quick-add-form[action="/worklog/new"] input[name=occurred_on][value="2025-03-13"]', '#qa-project option[value="9"]'] },
  { name: 'worklog_new-errors', template: 'pages/worklog_new',
    ctx: signedIn('Log work', { nav: { worklog: true }, qa_form: { occurred_on: '2025-13-40', title: EVIL, content: EVIL, tags: EVIL },
      qa_errors: { form: 'Please correct the marked fields.', occurred_on: 'Enter a date as YYYY-MM-DD.', content: 'Write what you did.',
        tags: 'Up to 20 tags.', project: 'Choose one of your projects.' }, qa_tags: [], qa_projects: [] }),
    has: ['#qa-occurred-on[aria-invalid=true]', '#qa-content-error', '#qa-tags[aria-describedby="qa-tags-hint qa-tags-error"]', '#qa-project-error'],
    evilValue: '#qa-title' },
  { name: 'worklog_entry', template: 'pages/worklog_entry', url: '/worklog/103',
    ctx: signedIn('Cut checkout latency by 60%', { nav: { worklog: true }, can_write: true,
      entry: { id: 103, display_title: 'Cut checkout latency by 60%', title: 'Cut checkout latency by 60%', date_label: 'Thursday 13 March 2025',
        occurred_on: '2025-03-13', content_html: '<p>Moved the cart query to an <strong>index-only scan</strong>. &lt;img src=x&gt;</p>',
        outcome_html: '<p>p95 from 900 ms to 360 ms.</p>', impact_html: '', next_steps_html: '<ul><li>Do the same for search</li></ul>',
        work_type_label: 'Engineering', status_label: 'Done', visibility_label: 'Only me', effort_label: '3 h', has_tags: true,
        tag_links: [{ name: 'postgres', q: 'postgres' }, { name: EVIL, q: '%3Cimg' }], project: 9, project_name: EVIL, client: 5,
        client_name: 'Northwind', impact_score: 8, impact_score_source: 'user', source: 'web', author_username: 'ada',
        created_at: '2025-03-13T17:00:00Z', updated_at: '2025-03-13T18:00:00Z' },
      evidence: { entry_id: 103, upload_url: '/evidence/entries/103', list_url: '/evidence/entries/103', can_upload: true, empty: false,
        items: [{ id: 61, filename: EVIL, mime_type: 'image/png', kind: 'image', size_text: '120 KiB', sha256: 'ab'.repeat(32),
          sha256_short: 'abababab', description: EVIL, created_at: '2025-03-13T17:05:00Z', uploaded_by_username: 'ada',
          download_url: '/evidence/61/download', delete_url: '/evidence/61/delete', can_delete: true }],
        usage: { used_text: '120 KiB', quota_text: '1 GiB', percent: 1 },
        limits: { image_max_bytes: 10485760, document_max_bytes: 26214400, image_max_text: '10 MiB', document_max_text: '25 MiB',
          accept: 'image/png,image/jpeg,application/pdf' } } }),
    has: ['main strong', 'a[href="/worklog/103/edit"]'], text: ['p95 from 900 ms to 360 ms.'] },
  { name: 'worklog_edit', template: 'pages/worklog_edit', url: '/worklog/103/edit',
    ctx: signedIn('Edit entry', { nav: { worklog: true }, id: 103,
      form: { occurred_on: '2025-03-13', title: EVIL, content: EVIL, outcome: '', impact: '', next_steps: '', effort_minutes: '99999999',
        work_type: 'engineering', status: 'done', visibility: 'private', impact_score: '11', tags: 'postgres, perf', client: '5', project: '9' },
      errors: { form: 'Please correct the marked fields.', effort_minutes: 'Enter minutes from 0 to 100000.', impact_score: 'Enter 1 to 10, or leave it empty.' },
      work_types: [{ value: 'engineering', label: 'Engineering', selected: true }, { value: 'legacy', label: 'Legacy', selected: false, inactive: true }],
      statuses: [{ value: 'done', label: 'Done', selected: true }], visibilities: [{ value: 'private', label: 'Only me', selected: true }],
      clients: [{ value: '5', label: EVIL, selected: true }], projects: [{ value: '9', label: 'Checkout revamp', selected: true, client_name: 'Northwind' }],
      tag_suggestions: [{ name: 'postgres', count: 3 }] }),
    has: ['form[action="/worklog/103/edit"]', '#edit-effort-minutes[aria-invalid=true]', '#edit-effort-minutes-error', '#edit-client option[value="5"]:checked'],
    evilValue: '#edit-title' },
  { name: 'worklog_deleted', template: 'pages/worklog_deleted', url: '/worklog/deleted',
    ctx: signedIn('Recently deleted', { nav: { worklog: true }, restore_days: 30, empty: false, next_url: '/worklog/deleted?after=104',
      entries: [{ id: 105, display_title: EVIL, date_label: '12 Mar 2025', occurred_on: '2025-03-12', days_left: 29 },
        { id: 104, display_title: 'Old retro notes', date_label: '1 Feb 2025', occurred_on: '2025-02-01', days_left: 0 }] }),
    has: ['form[action="/worklog/105/restore"]', 'a[href="/worklog/deleted?after=104"]'] },
  { name: 'worklog_deleted-empty', template: 'pages/worklog_deleted',
    ctx: signedIn('Recently deleted', { nav: { worklog: true }, restore_days: 30, empty: true, entries: [] }),
    lacks: ['form[action$="/restore"]'] },
  { name: 'worklog_export', template: 'pages/worklog_export', url: '/worklog/export',
    ctx: signedIn('Export', { nav: { worklog: true }, today: '2025-03-13', can_import: true }),
    has: ['form[action="/api/export/worklogs"]', 'a[href="/worklog/import"]'] },
  { name: 'worklog_import', template: 'pages/worklog_import', url: '/worklog/import',
    ctx: signedIn('Import', { nav: { worklog: true }, max_rows: 5000, max_mib: 10, can_import: true }),
    has: ['form[action="/worklog/import"][enctype="multipart/form-data"] input[type=file][name=file]', 'input[name=dry_run][type=checkbox]'] },
  { name: 'worklog_import-preview', template: 'pages/worklog_import',
    ctx: signedIn('Import', { nav: { worklog: true }, max_rows: 5000, max_mib: 10, can_import: true,
      preview: { row_count: 2, has_rows: true, dry_run: true, csv_base64: 'ZGF0ZSxjb250ZW50Cg==',
        columns: [
          { index: 0, column: 'date', field: 'occurred_on', unknown: false, options: [{ value: 'occurred_on', label: 'Date', selected: true }, { value: '', label: 'Ignore', selected: false }] },
          { index: 1, column: EVIL, field: '', unknown: true, options: [{ value: 'content', label: 'Content', selected: false }, { value: '', label: 'Ignore', selected: true }] }],
        rows: [{ cells: ['2025-03-01', EVIL] }, { cells: ['2025-03-02', 'Shipped the importer'] }] } }),
    has: ['#map-1 option[value=""]:checked', 'input[name=csv_base64]', 'input[name=dry_run][type=hidden]', '.badge--warn'] },
  { name: 'worklog_import-errors', template: 'pages/worklog_import',
    ctx: signedIn('Import', { nav: { worklog: true }, max_rows: 5000, max_mib: 10, can_import: true,
      errors: { form: 'Nothing was imported.', file: 'The file is not valid JSON or CSV.' },
      has_row_errors: true, error_count: 2, more_errors: false,
      row_errors: [{ row: 3, field: 'occurred_on', message: 'Enter a date as YYYY-MM-DD.' }, { row: 7, field: 'project', section: 'entries', message: EVIL }] }),
    has: ['#import-file[aria-invalid=true]', '#import-file-error', '#import-row-errors'] },
  { name: 'worklog_import-result', template: 'pages/worklog_import',
    ctx: signedIn('Import', { nav: { worklog: true }, max_rows: 5000, max_mib: 10, can_import: false,
      result: { format: 'csv', rows: 12, created: 10, skipped: 2, dry_run: false, has_unknown_columns: true, unknown_columns: [EVIL],
        has_created_clients: true, created_clients: ['Northwind'], has_created_projects: true, created_projects: [EVIL] } }),
    has: ['#import-created', '#import-skipped'], lacks: ['#import-file'], text: ['Import finished', 'read-only'] },
  { name: 'clients', template: 'pages/clients', url: '/clients',
    ctx: signedIn('Clients', { nav: { worklog: true }, can_write: true, empty: false, form: {},
      clients: [{ id: 5, name: 'Northwind', description: 'Retail platform', is_active: true, project_count: 2 },
        { id: 6, name: EVIL, description: EVIL, is_active: false, project_count: 0 }] }),
    has: ['form[action="/clients"] input[name=name]', 'a[href="/clients/5/edit"]'] },
  { name: 'clients-errors', template: 'pages/clients',
    ctx: signedIn('Clients', { nav: { worklog: true }, can_write: true, empty: true, clients: [],
      form: { name: EVIL, description: EVIL }, errors: { form: 'The client was not added.', name: 'A client with this name exists.',
        description: 'Use at most 2000 characters.' } }),
    has: ['[role=alert]'], evilValue: 'form[action="/clients"] input[name=name]' },
  { name: 'clients_edit', template: 'pages/clients_edit', url: '/clients/5/edit',
    ctx: signedIn('Edit client', { nav: { worklog: true }, id: 5, form: { name: EVIL, description: 'Retail platform', is_active: true },
      errors: { name: 'A client with this name exists.' } }),
    has: ['form[action="/clients/5/edit"]'], evilValue: 'form[action="/clients/5/edit"] input[name=name]' },
  { name: 'projects', template: 'pages/projects', url: '/projects',
    ctx: signedIn('Projects', { nav: { worklog: true }, can_write: true, empty: false, form: {},
      clients: [{ value: '5', label: 'Northwind', selected: false }, { value: '6', label: EVIL, selected: false, inactive: true }],
      projects: [{ id: 9, name: 'Checkout revamp', client: 5, client_name: 'Northwind', role: 'Tech lead', start_date: '2025-01-06',
        end_date: '', start_label: '6 Jan 2025', end_label: '', is_active: true },
        { id: 10, name: EVIL, client: null, client_name: '', role: EVIL, start_date: '', end_date: '', start_label: '', end_label: '', is_active: false }] }),
    has: ['form[action="/projects"] select[name=client]', 'a[href="/projects/9/edit"]'] },
  { name: 'projects-errors', template: 'pages/projects',
    ctx: signedIn('Projects', { nav: { worklog: true }, can_write: true, empty: true, projects: [], clients: [],
      form: { name: EVIL, role: '', start_date: '2025-03-01', end_date: '2025-02-01', description: '' },
      errors: { form: 'The project was not added.', end_date: 'End date must be on or after the start date.' } }),
    has: ['[role=alert]'], text: ['End date must be on or after the start date.'], evilValue: 'form[action="/projects"] input[name=name]' },
  { name: 'projects_edit', template: 'pages/projects_edit', url: '/projects/9/edit',
    ctx: signedIn('Edit project', { nav: { worklog: true }, id: 9,
      form: { name: 'Checkout revamp', client: '5', role: EVIL, start_date: '2025-01-06', end_date: '', description: EVIL, is_active: true },
      clients: [{ value: '5', label: 'Northwind', selected: true }], errors: { client: 'Choose one of your clients.' } }),
    has: ['form[action="/projects/9/edit"] select[name=client] option[value="5"]:checked'] },
  // jobs (src/web/jobs.c)
  { name: 'jobs', template: 'pages/jobs', url: '/jobs',
    ctx: signedIn('Jobs', { nav: { jobs: true }, sees_all: true, next_url: '/jobs?before=70',
      filter: { status: '', active: false, statuses: [{ value: 'queued', selected: false }, { value: 'running', selected: false },
        { value: 'failed', selected: false }, { value: 'succeeded', selected: false }] },
      jobs: [
        { id: 77, label: 'Account export', type: 'account_export', status: 'running', progress: 40, progress_message: 'Packing evidence files',
          created_at: '2025-03-11T10:00:00Z', finished_at: null },
        { id: 76, label: EVIL, type: 'report_generate', status: 'succeeded', progress: 100, progress_message: EVIL,
          created_at: '2025-03-10T10:00:00Z', finished_at: '2025-03-10T10:01:00Z', download: { url: '/jobs/76/download' } },
        { id: 75, label: 'Skill extraction', type: 'skills_extract', status: 'failed', progress: 10, progress_message: '',
          created_at: '2025-03-09T10:00:00Z', finished_at: '2025-03-09T10:02:00Z' }] }),
    has: ['#job-77 a[href="/jobs/77"]', '#job-76 a[href="/jobs/76/download"]', 'form[action="/jobs/export"]', 'a[href="/jobs?before=70"]',
      '#job-77 progress[value="40"]'] },
  { name: 'jobs-empty-error', template: 'pages/jobs',
    ctx: signedIn('Jobs', { nav: { jobs: true }, sees_all: false, jobs: [], errors: { form: 'Your export quota is used up for today.' },
      filter: { status: 'failed', active: true, statuses: [{ value: 'queued', selected: false }, { value: 'failed', selected: true }] } }),
    has: ['#page-errors .alert', 'option[value=failed]:checked'] },
  { name: 'jobs_detail', template: 'pages/jobs_detail', url: '/jobs/77',
    ctx: signedIn('Account export', { nav: { jobs: true },
      job: { id: 77, type: 'account_export', label: 'Account export', status: 'running', is_running: true, progress: 40,
        progress_message: EVIL, last_error: 'connection reset', active: true, can_cancel: true, attempts: 2, max_attempts: 5,
        created_at: '2025-03-11T10:00:00Z', started_at: '2025-03-11T10:00:05Z', finished_at: null, next_run_at: null,
        events: [{ id: 1, created_at: '2025-03-11T10:00:00Z', level: 'info', message: 'queued' },
          { id: 2, created_at: '2025-03-11T10:00:06Z', level: 'warn', message: EVIL }] } }),
    has: ['#job-live[hx-get="/jobs/77/progress"]', 'form[action="/jobs/77/cancel"]', '#job-timeline .job-timeline__item--warn'],
    text: ['Last attempt failed: connection reset'] },
  { name: 'jobs_detail-done', template: 'pages/jobs_detail',
    ctx: signedIn('Account export', { nav: { jobs: true },
      job: { id: 78, type: 'account_export', label: 'Account export', status: 'succeeded', is_succeeded: true, progress: 100,
        progress_message: 'Done', active: false, can_cancel: false, attempts: 1, max_attempts: 5, created_at: '2025-03-11T10:00:00Z',
        started_at: '2025-03-11T10:00:05Z', finished_at: '2025-03-11T10:02:00Z',
        download: { url: '/jobs/78/download', expires_at: '2025-03-18T10:02:00Z', size: '4.2 MiB', files: 12 },
        has_result: true, result_lines: [{ key: 'entries', value: '120' }, { key: 'note', value: EVIL }], events: [] } }),
    has: ['a[href="/jobs/78/download"]', '.job-result'], lacks: ['#job-live[hx-get]', 'form[action="/jobs/78/cancel"]'],
    text: ['Nothing happened yet.'] },
  { name: 'admin-jobs', template: 'pages/admin/jobs', url: '/admin/jobs',
    ctx: signedIn('Jobs · Admin', { nav: { admin: true }, admin_nav: { jobs: true }, next_url: '/admin/jobs?before=70&status=failed',
      filter: { status: 'failed', type: EVIL, statuses: [{ value: 'queued', selected: false }, { value: 'failed', selected: true }] },
      jobs: [
        { id: 75, label: 'Skill extraction', type: 'skills_extract', status: 'failed', progress: 10, progress_message: '', tenant_id: 3,
          created_at: '2025-03-09T10:00:00Z', admin: true, can_retry: true, can_cancel: false, back: '/admin/jobs?status=failed' },
        { id: 74, label: 'Purge expired exports', type: 'export_purge', status: 'running', progress: 50, progress_message: EVIL,
          tenant_id: null, created_at: '2025-03-09T09:00:00Z', admin: true, can_retry: false, can_cancel: true, back: '/admin/jobs?status=failed' }],
      errors: { form: 'Only failed jobs can be retried.' } }),
    has: ['#job-75 form[action="/admin/jobs/75"] input[name=action][value=retry]', '#job-74 input[name=action][value=cancel]',
      'a[href="/admin/jobs?before=70&status=failed"]', '#page-errors .alert'],
    evilValue: 'input[name=type]' },
  // reports, share, skills (src/web/reports.c, src/web/share.c, src/web/skills.c)
  { name: 'reports', template: 'pages/reports', url: '/reports',
    ctx: signedIn('Reports', { nav: { reports: true }, has_reports: true,
      form: { kind: 'weekly', window_days: '7', title: '', tag: '', custom_prompt: '',
        kinds: [{ value: 'weekly', label: 'Weekly summary', selected: true }, { value: 'brag', label: 'Brag document', selected: false }] },
      reports: [
        { id: 31, kind: 'weekly', kind_label: 'Weekly summary', title: 'Week 10', status: 'ready', is_ready: true, period_start: '2025-03-03',
          period_end: '2025-03-09', entry_count: 14, created_at: '2025-03-10T08:00:00Z', error: '' },
        { id: 32, kind: 'brag', kind_label: 'Brag document', title: EVIL, status: 'generating', is_generating: true, period_start: '2025-01-01',
          period_end: '2025-03-09', entry_count: 80, created_at: '2025-03-10T09:00:00Z', error: '' },
        { id: 33, kind: 'weekly', kind_label: 'Weekly summary', title: 'Week 9', status: 'failed', is_failed: true, period_start: '2025-02-24',
          period_end: '2025-03-02', entry_count: 0, created_at: '2025-03-03T08:00:00Z', error: EVIL }] }),
    has: ['form[action="/reports/generate"] select[name=kind] option[value=weekly]:checked', 'a[href="/reports/31"]'] },
  { name: 'reports-errors', template: 'pages/reports',
    ctx: signedIn('Reports', { nav: { reports: true }, has_reports: false, reports: [],
      form: { kind: 'custom', window_days: '', period_start: '2025-03-09', period_end: '2025-03-01', title: EVIL, tag: EVIL, custom_prompt: EVIL,
        kinds: [{ value: 'weekly', label: 'Weekly summary', selected: false }] },
      errors: { form: 'The report was not started.', period_end: 'The end must be on or after the start.', title: 'Use at most 200 characters.',
        tag: 'Unknown tag.', custom_prompt: 'Use at most 2000 characters.', kind: 'Choose a report kind.', window_days: 'Choose 7, 30 or 90 days.',
        period_start: 'Enter a date.', topup: true } }),
    has: ['#page-errors a[href="/billing"], [role=alert] a[href="/billing"]', '#report-title[aria-describedby="report-title-error"]',
      '#report-window[aria-invalid=true]', '#report-prompt[aria-describedby="report-prompt-hint report-prompt-error"]'],
    evilValue: '#report-tag' },
  { name: 'report', template: 'pages/report', url: '/reports/31',
    ctx: signedIn('Week 10', { nav: { reports: true },
      report: { id: 31, title: 'Week 10', kind_label: 'Weekly summary', status: 'ready', is_ready: true, period_start: '2025-03-03',
        period_end: '2025-03-09', provider: 'local', model: 'extractive-1', entry_count: 14, bullet_count: 3, uncited_count: 1, edited: false,
        markdown: '', markdown_html: '',
        sections: [{ title: 'Highlights', items: [
          { text: 'Cut checkout latency by 60%', cited: true, flagged: false, citation_links: [{ id: 103, url: '/worklog/103' }] },
          { text: EVIL, cited: false, flagged: true, citation_links: [] }] },
          { title: EVIL, items: [] }] },
      has_share_links: true, share_links: [
        { id: 5, active: true, expires_at: '2025-04-10T08:00:00Z', revoked_at: null, view_count: 3, last_viewed_at: '2025-03-11T08:00:00Z', created_at: '2025-03-10T08:00:00Z' },
        { id: 4, active: false, expires_at: null, revoked_at: '2025-03-09T08:00:00Z', view_count: 0, last_viewed_at: null, created_at: '2025-03-08T08:00:00Z' }],
      new_link: { url: 'https://afterresume.example/share/sh_9fK2mQ', expires_at: '2025-04-10T08:00:00Z' } }),
    has: ['a[href="/worklog/103"]', '#new-share-url[value="https://afterresume.example/share/sh_9fK2mQ"]'] },
  { name: 'report-editing', template: 'pages/report',
    ctx: signedIn('Week 10', { nav: { reports: true }, editing: true,
      report: { id: 31, title: EVIL, kind_label: 'Weekly summary', status: 'ready', is_ready: true, period_start: '2025-03-03',
        period_end: '2025-03-09', provider: '', model: '', entry_count: 14, bullet_count: 1, uncited_count: 0, edited: true,
        markdown: EVIL, markdown_html: '<p>Edited by ada &lt;img src=x&gt;</p>', sections: [] },
      has_share_links: false, share_links: [], share_errors: { form: 'Choose an expiry from 1 to 90 days.' },
      errors: { title: 'Use at most 200 characters.', markdown: 'Use at most 100000 characters.' } }),
    text: ['Choose an expiry from 1 to 90 days.'] },
  { name: 'report-generating', template: 'pages/report',
    ctx: signedIn('Brag document', { nav: { reports: true },
      report: { id: 32, title: 'Brag document', kind_label: 'Brag document', status: 'generating', is_generating: true,
        period_start: '2025-01-01', period_end: '2025-03-09', entry_count: 80, sections: [] },
      job: { id: 80, progress: 35, progress_message: 'Summarising February', status: 'running' }, has_share_links: false, share_links: [] }),
    has: ['progress'] },
  { name: 'report-failed', template: 'pages/report',
    ctx: signedIn('Week 9', { nav: { reports: true },
      report: { id: 33, title: 'Week 9', kind_label: 'Weekly summary', status: 'failed', is_failed: true, error: EVIL,
        period_start: '2025-02-24', period_end: '2025-03-02', entry_count: 0, sections: [] }, has_share_links: false, share_links: [] }) },
  { name: 'share', template: 'pages/share', url: '/share/sh_9fK2mQ',
    ctx: common('Week 10', { report: { title: 'Week 10', kind_label: 'Weekly summary', period_start: '2025-03-03', period_end: '2025-03-09',
      markdown_html: '', sections: [{ title: 'Highlights', items: [{ text: 'Cut checkout latency by 60%', cited: true, citation_count: 2 },
        { text: EVIL, cited: false, citation_count: 0 }] }] } }),
    lacks: ['a[href^="/worklog"]', 'form[action="/logout"]'], text: ['Cut checkout latency by 60%'] },
  { name: 'share-edited', template: 'pages/share',
    ctx: common(EVIL, { report: { title: EVIL, kind_label: 'Brag document', period_start: '2025-01-01', period_end: '2025-03-09',
      markdown_html: '<h2>Highlights</h2><p>Shipped &lt;img src=x&gt;</p>', sections: [] } }),
    has: ['main h2'] },
  { name: 'share-missing', template: 'pages/share', ctx: common('Link not available', { missing: true }) },
  { name: 'skills', template: 'pages/skills', url: '/skills',
    ctx: signedIn('Skills', { nav: { skills: true }, has_skills: true, show_hidden: false, can_write: true,
      groups: [{ label: 'Technical', skills: [
        { id: 11, display_name: 'PostgreSQL', level: 'advanced', confidence: 0.9, evidence_count: 14, first_seen: '2024-04-01',
          last_seen: '2025-03-13', hidden: false, confirmed: true, sparkline: '0,20 10,18 20,12 30,14 40,8 50,4 60,6 70,2 80,4 90,6 100,2 110,0' },
        { id: 12, display_name: EVIL, level: 'beginner', confidence: 0.4, evidence_count: 1, first_seen: '2025-03-11',
          last_seen: '2025-03-11', hidden: false, confirmed: false, sparkline: '0,24 110,20' }] },
        { label: 'Leadership', skills: [{ id: 13, display_name: 'Mentoring', level: 'intermediate', confidence: 0.7, evidence_count: 4,
          first_seen: '2024-10-01', last_seen: '2025-02-20', hidden: true, confirmed: false, sparkline: '0,24 60,12 110,18' }] }] }),
    has: ['a[href="/skills/11"]', 'svg.sparkline polyline'] },
  { name: 'skills-empty', template: 'pages/skills',
    ctx: signedIn('Skills', { nav: { skills: true }, has_skills: false, show_hidden: true, can_write: false, groups: [] }) },
  { name: 'skill', template: 'pages/skill', url: '/skills/11',
    ctx: signedIn('PostgreSQL', { nav: { skills: true }, can_write: true, has_merge_choices: true,
      skill: { id: 11, display_name: 'PostgreSQL', name: 'postgresql', kind: 'technical', level: 'advanced', confidence: 0.9,
        first_seen: '2024-04-01', last_seen: '2025-03-13', hidden: false, confirmed: false, evidence_count: 2,
        sparkline: '0,20 10,18 20,12 30,14 40,8 50,4 60,6 70,2 80,4 90,6 100,2 110,0',
        evidence: [{ entry_id: 103, occurred_on: '2025-03-13', title: 'Cut checkout latency by 60%', excerpt: 'index-only scan', source: 'ai' },
          { entry_id: 102, occurred_on: '2025-03-11', title: '', excerpt: EVIL, source: 'user' }] },
      merge_choices: [{ id: 12, display_name: EVIL, evidence_count: 1 }, { id: 14, display_name: 'Postgres', evidence_count: 3 }] }),
    has: ['a[href="/worklog/103"]', 'svg.sparkline polyline'] },
  { name: 'skill-errors', template: 'pages/skill',
    ctx: signedIn('PostgreSQL', { nav: { skills: true }, can_write: true, has_merge_choices: false, merge_choices: [],
      skill: { id: 11, display_name: EVIL, name: 'postgresql', kind: 'technical', level: 'advanced', confidence: 0.9, first_seen: '',
        last_seen: '', hidden: true, confirmed: true, evidence_count: 0, sparkline: '0,24 110,24', evidence: [] },
      errors: { form: 'The skill was not renamed.', display_name: 'Use 1 to 100 characters.', source_ids: 'Choose skills to merge.' } }),
    text: ['Use 1 to 100 characters.'] },
  // staff: AI switch and billing (src/web/admin_ai.c, src/web/admin_billing.c)
  { name: 'admin-ai', template: 'pages/admin/ai', url: '/admin/ai',
    ctx: signedIn('AI · Admin', { nav: { admin: true }, admin_nav: { ai: true }, ai_enabled: true, switched: true }),
    has: ['form[action^="/admin/ai"]'] },
  { name: 'admin-ai-off', template: 'pages/admin/ai',
    ctx: signedIn('AI · Admin', { nav: { admin: true }, admin_nav: { ai: true }, ai_enabled: false, switched: false }) },
  { name: 'admin-billing', template: 'pages/admin/billing', url: '/admin/billing',
    ctx: signedIn('Billing · Admin', { nav: { admin: true }, admin_nav: { billing: true }, billing_tab: { balances: true },
      view: { sort: 'balance', filter: 'all', sort_balance: true, all: true },
      summary: { total_accounts: 3, total_balance_text: '$37.40', low_balance_count: 1, zero_balance_count: 1 },
      accounts: [
        { tenant_id: 3, tenant_name: "ada's workspace", balance_cents_text: '$12.40', held_cents_text: '$1.50', available_cents_text: '$10.90',
          low_balance_threshold_cents_text: '$5.00', state: 'normal', currency: 'usd', updated_at: '2025-03-11T10:00:00Z' },
        { tenant_id: 4, tenant_name: EVIL, balance_cents_text: '$3.00', held_cents_text: '$0.00', available_cents_text: '$3.00',
          low_balance_threshold_cents_text: '$5.00', state: 'low', is_low_balance: true, currency: 'usd', updated_at: '2025-03-10T10:00:00Z' },
        { tenant_id: 5, tenant_name: 'Initech', balance_cents_text: '$0.00', held_cents_text: '$0.00', available_cents_text: '$0.00',
          low_balance_threshold_cents_text: '$5.00', state: 'zero', is_zero_balance: true, currency: 'usd', updated_at: '2025-03-09T10:00:00Z' }],
      form: {} }),
    has: ['form[action="/admin/billing/adjust"]', 'form[action="/admin/billing/threshold"]'] },
  { name: 'admin-billing-errors', template: 'pages/admin/billing',
    ctx: signedIn('Billing · Admin', { nav: { admin: true }, admin_nav: { billing: true }, billing_tab: { balances: true },
      view: { sort: 'name', filter: 'zero', sort_name: true, zero: true },
      summary: { total_accounts: 0, total_balance_text: '$0.00', low_balance_count: 0, zero_balance_count: 0 }, accounts: [],
      form: { tenant_id: '99', amount: EVIL, reason: EVIL, threshold_tenant_id: 'x', threshold: '-1' },
      errors: { form: 'Please correct the marked fields.', tenant_id: 'No such workspace.', amount: 'Enter an amount in dollars, e.g. 10.00.',
        reason: 'Give a reason of at most 500 characters.', threshold_tenant_id: 'Enter a workspace id.', threshold: 'Enter 0 or more dollars.' } }),
    has: ['#page-errors .alert'], text: ['No such workspace.', 'Enter 0 or more dollars.'] },
  { name: 'admin-billing-events', template: 'pages/admin/billing_events', url: '/admin/billing/events',
    ctx: signedIn('Stripe events · Admin', { nav: { admin: true }, admin_nav: { billing: true }, billing_tab: { stripe_events: true },
      next_url: '/admin/billing/events?before=40',
      events: [
        { id: 41, event_id: 'evt_1Abc', event_type: 'checkout.session.completed', tenant_id: 3, topup_id: 4, result: 'processed',
          result_detail: '', received_at: '2025-03-11T10:00:00Z', processed_at: '2025-03-11T10:00:01Z' },
        { id: 40, event_id: EVIL, event_type: EVIL, tenant_id: null, topup_id: null, result: 'failed', result_detail: EVIL,
          received_at: '2025-03-11T09:00:00Z', processed_at: null }] }),
    has: ['a[href="/admin/billing/events?before=40"]'], text: ['evt_1Abc'] },
  { name: 'admin-billing-events-empty', template: 'pages/admin/billing_events',
    ctx: signedIn('Stripe events · Admin', { nav: { admin: true }, admin_nav: { billing: true }, billing_tab: { stripe_events: true }, events: [] }) },
  { name: 'admin-billing-rate-cards', template: 'pages/admin/billing_rate_cards', url: '/admin/billing/rate-cards',
    ctx: signedIn('Rate cards · Admin', { nav: { admin: true }, admin_nav: { billing: true }, billing_tab: { rate_cards: true },
      rate_cards: [
        { version: 2, name: 'Spring 2025', notes: EVIL, effective_from: '2025-03-01T00:00:00Z', effective_to: null, current: true,
          created_at: '2025-02-20T10:00:00Z', prices: [
            { usage_type: 'prompt_tokens', provider: 'openai', model: 'gpt-4o-mini', price_microcents: 15, price_cents_per_1k: '0.015' },
            { usage_type: 'job', provider: '', model: '', price_microcents: 100000, price_cents_per_1k: '100' }] },
        { version: 1, name: 'Launch', notes: '', effective_from: '2025-01-01T00:00:00Z', effective_to: '2025-03-01T00:00:00Z', current: false,
          created_at: '2024-12-20T10:00:00Z', prices: [] }],
      form: { name: '', notes: '', effective_from: '', price_prompt: '', price_completion: '', price_per_job: '', price_per_mb: '', extra: '' } }),
    has: ['form[action="/admin/billing/rate-cards"]'], text: ['Spring 2025'] },
  { name: 'admin-billing-rate-cards-errors', template: 'pages/admin/billing_rate_cards',
    ctx: signedIn('Rate cards · Admin', { nav: { admin: true }, admin_nav: { billing: true }, billing_tab: { rate_cards: true }, rate_cards: [],
      form: { name: EVIL, notes: EVIL, effective_from: '2020-01-01', price_prompt: 'x', price_completion: '', price_per_job: '', price_per_mb: '', extra: EVIL },
      errors: { form: 'The rate card was not added.', name: 'Give it a name.', effective_from: 'Must be in the future.',
        price_prompt: 'Enter a price in cents.', price_completion: 'Enter a price in cents.', price_per_job: 'Enter a price in cents.',
        price_per_mb: 'Enter a price in cents.', extra: 'Line 1: provider model price.' } }),
    has: ['#page-errors .alert'], text: ['Line 1: provider model price.'] },
  { name: 'admin-billing-usage', template: 'pages/admin/billing_usage', url: '/admin/billing/usage',
    ctx: signedIn('Usage · Admin', { nav: { admin: true }, admin_nav: { billing: true }, billing_tab: { usage: true },
      form: { since: '2025-02-10', until: '2025-03-11', tenant: '' },
      usage: { since: '2025-02-10', until: '2025-03-11', total_text: '$1.25',
        by_tenant: [{ tenant_id: 3, tenant_name: EVIL, cost_cents_text: '$1.25', jobs: 5 }],
        by_model: [{ provider: 'openai', model: 'gpt-4o-mini', cost_cents_text: '$1.00', prompt_tokens: 400000, completion_tokens: 100000, jobs: 4 },
          { provider: '', model: '', cost_cents_text: '$0.25', prompt_tokens: 0, completion_tokens: 0, jobs: 1 }],
        by_job_type: [{ job_type: 'report_generate', cost_cents_text: '$1.25', jobs: 5 }] } }),
    text: ['$1.25'] },
  { name: 'admin-billing-usage-empty', template: 'pages/admin/billing_usage',
    ctx: signedIn('Usage · Admin', { nav: { admin: true }, admin_nav: { billing: true }, billing_tab: { usage: true },
      form: { since: EVIL, until: '', tenant: 'x' }, errors: { form: 'Please correct the marked fields.', tenant: 'Enter a workspace id.' },
      usage: { since: '2025-02-10', until: '2025-03-11', total_text: '$0.00', by_tenant: [], by_model: [], by_job_type: [] } }),
    has: ['#usage-tenant[aria-invalid=true][aria-describedby=usage-tenant-error]'], text: ['Enter a workspace id.'] },
  { name: 'error', template: 'pages/error',
    ctx: signedIn('Page not found', { error: { status: 404, title: 'Page not found', message: 'There is no page at this address.' } }),
    text: ['Page not found', 'req-6f1c2a9e'] },
];

// htmx fragments the sample pages load (hx-trigger load / every): GET path -> partial and its context, served by the
// local server so those requests succeed and the swapped-in markup is checked with the page.
const fragments = {
  '/settings/ai': { template: 'partials/settings_ai', ctx: { why: 'the local provider (extractive, on this server)', model: '',
    is_remote: false, remote_allowed: false, ai_enabled: true, can_change: true, csrf_token: CSRF } },
  '/worklog/103/suggestions': { template: 'partials/entry_suggestions', ctx: { entry_id: 103, provider_label: 'the local provider',
    is_remote: false, can_edit: true, pending_job: null, error: '', csrf_token: CSRF, has_open: true, has_decided: true,
    open: [{ id: 201, field: 'title', label: 'Title', value: { text: EVIL } },
      { id: 202, field: 'skill', label: 'Skill', is_skill: true, value: { name: 'PostgreSQL', kind: 'technical', confidence: 0.8, excerpt: EVIL } },
      { id: 203, field: 'impact_score', label: 'Impact score', is_score: true, value: { score: 8 } }],
    decided: [{ id: 200, label: 'Summary', status: 'accepted', is_accepted: true, value: { text: EVIL } }] } },
  '/jobs/77/progress': { template: 'partials/job_progress', ctx: { csrf_token: CSRF,
    job: { ...samples.find((s) => s.name === 'jobs_detail').ctx.job, progress: 60, timeline_oob: true, oob: true } } },
  '/reports/32/progress': { template: 'partials/report_progress', ctx: { report: { id: 32 },
    job: { id: 80, progress: 70, progress_message: EVIL, status: 'running' } } },
  '/billing/topup/4/status': { template: 'partials/billing_topup_status', ctx: { topup: { id: 4, status: 'pending', amount: '$25.00',
    balance: '$0.00', available: '$0.00', pending: true, paid: false, unsuccessful: false, poll_url: '/billing/topup/4/status' } } },
};

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
const fragmentHtml = new Map(); // GET path -> fragment html
for (const [path, f] of Object.entries(fragments)) {
  let html = '';
  try {
    html = templates[f.template].render(f.ctx, templates);
  } catch (e) {
    check(`fragment ${path}: renders`, false, String(e && e.message ? e.message : e));
    continue;
  }
  const leftover = html.match(/\{\{|\}\}|undefined|\[object Object\]|<img src=x/);
  check(`fragment ${path}: renders (${f.template})`, !html.includes('</html>') && !leftover, leftover ? `found ${leftover[0]}` : 'has a layout');
  fragmentHtml.set(path, html);
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
    const html = pages.get(url.pathname + url.search) || pages.get(url.pathname) || fragmentHtml.get(url.pathname);
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

// Loads one sample in a new page of context and returns its structural problems and its CSP violations, console
// errors and failed requests.
async function checkSample(context, s, base, width) {
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('requestfailed', (r) => errors.push(`request failed ${r.url()}`));
  page.on('response', (r) => { if (r.status() >= 400) errors.push(`${r.url()} -> ${r.status()}`); });
  await page.goto(`${base}/pages/${s.name}.html`, { waitUntil: 'load' });
  await page.waitForFunction(() => document.documentElement.dataset.appJs === 'ready' && window.htmx, null, { timeout: 5000 })
    .catch(() => errors.push('app.js or htmx did not load'));
  // Let fragments loaded on page load (and the first polls) arrive, so their markup is checked too.
  if (await page.$('[hx-trigger~="load"], [hx-trigger^="every"]')) {
    await page.waitForLoadState('networkidle', { timeout: 5000 }).catch(() => {});
  }
  const problems = await page.evaluate(pageProblems, { csrf: CSRF, has: s.has, lacks: s.lacks, text: s.text,
    evilValue: s.evilValue, evil: EVIL });
  const csp = await page.evaluate(() => window.__csp);
  if (shotsDir) await page.screenshot({ path: join(shotsDir, `${s.name}-${width}.png`), fullPage: true });
  await page.close();
  return { problems, failures: [...csp, ...errors] };
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
    // Samples are checked a few pages at a time (each page waits on scripts and fragments more than on the CPU); the
    // results are reported in sample order.
    const POOL = 4;
    for (const width of [1280, 390]) {
      const context = await browser.newContext({ viewport: { width, height: width > 500 ? 900 : 844 } });
      await context.addInitScript(recordCspViolations);
      const results = new Array(samples.length);
      let next = 0;
      const worker = async () => {
        while (next < samples.length) {
          const i = next++;
          results[i] = await checkSample(context, samples[i], base, width);
        }
      };
      await Promise.all(Array.from({ length: POOL }, worker));
      samples.forEach((s, i) => {
        const { problems, failures } = results[i];
        check(`${s.name} @${width}px: page checks`, problems.length === 0, problems.join(' | '));
        check(`${s.name} @${width}px: no CSP violation, console error or failed request`, failures.length === 0, failures.join(' | '));
      });
      await context.close();
    }
    // The header must fit at every width: the inline nav (all nine links of a staff owner) down to 1181 px, the
    // mobile menu below (static/css/features.css, == header fit ==).
    for (const width of [1181, 1180, 1001, 761]) {
      const page = await browser.newPage({ viewport: { width, height: 700 } });
      await page.goto(`${base}/pages/home.html`);
      const fit = await page.evaluate(() => [document.documentElement.scrollWidth, document.querySelector('.site-header__inner').scrollWidth,
        getComputedStyle(document.querySelector('.site-nav')).display !== 'none']);
      check(`home @${width}px: the header fits`, fit[0] <= width && fit[1] <= width && fit[2] === width > 1180,
        `page ${fit[0]}px, header ${fit[1]}px, inline nav ${fit[2] ? 'shown' : 'hidden'}`);
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
