// stripe_fake.mjs — a small local stand-in for Stripe Checkout, for the top-up tests (node's own http module only).
//
//   node tests/fakes/stripe_fake.mjs --port PORT --api-key sk_test_... --webhook-url URL --webhook-secret whsec_...
//        [--public-url http://127.0.0.1:PORT]
//
// (Each option may also come from the environment: STRIPE_FAKE_PORT, STRIPE_FAKE_API_KEY, STRIPE_FAKE_WEBHOOK_URL,
// STRIPE_FAKE_WEBHOOK_SECRET, STRIPE_FAKE_PUBLIC_URL.) --webhook-secret may list several secrets separated by commas:
// every delivery then carries one v1 signature per secret, as Stripe does while an endpoint secret is rotated.
//
// Stripe API subset, with the documented shapes (https://docs.stripe.com/api/checkout/sessions/object,
// https://docs.stripe.com/api/events/object, https://docs.stripe.com/api/errors):
//   POST /v1/checkout/sessions            form-encoded create (mode=payment, line_items[0][price_data][...],
//                                         success_url, cancel_url, client_reference_id, metadata[...],
//                                         payment_intent_data[metadata][...]); bearer key checked; Idempotency-Key
//                                         honoured (same key + same parameters = the first answer replayed with
//                                         Idempotent-Replayed: true; same key + other parameters = 400 idempotency_error)
//   GET  /v1/checkout/sessions/{id}       retrieve
//   POST /v1/checkout/sessions/{id}/expire  open -> expired, delivers checkout.session.expired
// Hosted payment page:
//   GET  /pay/{id}                        the "Checkout" page: amount, product, a Pay button, a cancel link
//   POST /pay/{id}                        pays (payment_status "paid", status "complete", a PaymentIntent and a
//                                         Charge), signs and delivers checkout.session.completed to the webhook URL,
//                                         then 303 to success_url ({CHECKOUT_SESSION_ID} filled in)
// Control endpoints for tests (JSON in, JSON out; no auth — bind to 127.0.0.1 only):
//   POST /_fake/sessions/{id}/pay      {async?: bool, deliver?: bool}  as the Pay button; async = a delayed payment
//                                      method: status "complete" but payment_status "unpaid" until /async
//   POST /_fake/sessions/{id}/async    {outcome: "succeeded"|"failed", deliver?}  checkout.session.async_payment_*
//   POST /_fake/sessions/{id}/refund   {amount, deliver?}  refunds `amount` more cents of the charge and sends
//                                      charge.refunded with the cumulative amount_refunded
//   POST /_fake/sessions/{id}/expire   {deliver?}
//   POST /_fake/events                 {type, object, deliver?}  any event (e.g. a type the app does not handle)
//   POST /_fake/events/{id}/deliver    {timestamp_offset?: seconds, tamper?: bool, secret?: string}  (re)deliver
//   GET  /_fake/events                 every event made so far with its deliveries [{status, body}]
// Each event-making call answers {event, delivery} (delivery null when deliver is false). Prints "listening PORT"
// on stdout once ready; exits on SIGTERM/SIGINT or when its parent process is gone.
import { createHmac, createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

const API_VERSION = '2024-06-20';

function option(name, envName) {
    const i = process.argv.indexOf(`--${name}`);
    if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1];
    return process.env[envName] || '';
}

const port = Number(option('port', 'STRIPE_FAKE_PORT'));
const apiKey = option('api-key', 'STRIPE_FAKE_API_KEY');
const webhookUrl = option('webhook-url', 'STRIPE_FAKE_WEBHOOK_URL');
const webhookSecrets = option('webhook-secret', 'STRIPE_FAKE_WEBHOOK_SECRET').split(',').filter(Boolean);
const publicUrl = (option('public-url', 'STRIPE_FAKE_PUBLIC_URL') || `http://127.0.0.1:${port}`).replace(/\/+$/, '');
if (!Number.isInteger(port) || port <= 0 || port > 65535 || !apiKey.startsWith('sk_')) {
    console.error('usage: node tests/fakes/stripe_fake.mjs --port PORT --api-key sk_... --webhook-url URL ' +
                  '--webhook-secret whsec_...[,whsec_...] [--public-url URL]');
    process.exit(2);
}

const sessions = new Map();     // id -> Checkout Session object
const charges = new Map();      // session id -> Charge object
const idempotency = new Map();  // key -> {hash, status, body}
const events = [];              // [{event, raw, deliveries: [{status, body}]}]

const now = () => Math.floor(Date.now() / 1000);
const randomId = (prefix, n = 24) => prefix + randomBytes(n).toString('base64url').replace(/[-_]/g, 'x').slice(0, n);

// ---- form bodies: a[b][c]=v into nested objects; line_items[0] into arrays ----
function parseForm(text) {
    const out = {};
    for (const [rawKey, value] of new URLSearchParams(text)) {
        const m = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(rawKey);
        if (!m) throw new StripeError(400, 'invalid_request_error', `Invalid parameter name: ${rawKey}`, rawKey);
        const path = [m[1], ...[...m[2].matchAll(/\[([^[\]]*)\]/g)].map((x) => x[1])];
        let node = out;
        for (let i = 0; i < path.length; i++) {
            const k = path[i];
            if (i === path.length - 1) {
                node[k] = value;
            } else {
                if (node[k] === undefined) node[k] = /^\d+$/.test(path[i + 1]) ? [] : {};
                if (typeof node[k] !== 'object') {
                    throw new StripeError(400, 'invalid_request_error', `Invalid parameter: ${rawKey}`, rawKey);
                }
                node = node[k];
            }
        }
    }
    return out;
}

class StripeError extends Error {
    constructor(status, type, message, param, code) {
        super(message);
        Object.assign(this, { status, type, param, code });
    }
    body() {
        const e = { type: this.type, message: this.message };
        if (this.param) e.param = this.param;
        if (this.code) e.code = this.code;
        return { error: e };
    }
}

const invalid = (message, param, code) => new StripeError(400, 'invalid_request_error', message, param, code);

function isUrl(s) {
    try {
        const u = new URL(s);
        return u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
        return false;
    }
}

function checkMetadata(meta, param) {
    if (meta === undefined) return {};
    if (typeof meta !== 'object' || Array.isArray(meta)) throw invalid(`Invalid object`, param);
    const keys = Object.keys(meta);
    if (keys.length > 50) throw invalid('Metadata can have at most 50 keys.', param);
    for (const k of keys) {
        if (k.length > 40) throw invalid('Metadata keys can be at most 40 characters.', `${param}[${k}]`);
        if (typeof meta[k] !== 'string' || meta[k].length > 500) {
            throw invalid('Metadata values can be at most 500 characters.', `${param}[${k}]`);
        }
    }
    return { ...meta };
}

function positiveInt(s, param, min = 1) {
    if (typeof s !== 'string' || !/^\d{1,12}$/.test(s) || Number(s) < min) {
        throw invalid(`Invalid integer: ${s}`, param);
    }
    return Number(s);
}

const KNOWN = new Set(['mode', 'line_items', 'success_url', 'cancel_url', 'client_reference_id', 'metadata',
                       'payment_intent_data', 'customer_email', 'expand', 'payment_method_types', 'currency']);

function createSession(p) {
    for (const k of Object.keys(p)) if (!KNOWN.has(k)) throw invalid(`Received unknown parameter: ${k}`, k);
    if (!p.mode) throw invalid('Missing required param: mode.', 'mode', 'parameter_missing');
    if (p.mode !== 'payment') throw invalid(`Invalid mode: this fake supports only payment`, 'mode');
    if (!Array.isArray(p.line_items) || p.line_items.length !== 1) {
        throw invalid('Missing required param: line_items.', 'line_items', 'parameter_missing');
    }
    const li = p.line_items[0];
    const pd = li && li.price_data;
    if (!pd) throw invalid('Missing required param: line_items[0][price_data].', 'line_items[0][price_data]', 'parameter_missing');
    if (typeof pd.currency !== 'string' || !/^[a-z]{3}$/.test(pd.currency)) {
        throw invalid('Invalid currency.', 'line_items[0][price_data][currency]');
    }
    const unit = positiveInt(pd.unit_amount, 'line_items[0][price_data][unit_amount]');
    if (!pd.product_data || typeof pd.product_data.name !== 'string' || !pd.product_data.name.trim()) {
        throw invalid('Missing required param: line_items[0][price_data][product_data][name].',
                      'line_items[0][price_data][product_data][name]', 'parameter_missing');
    }
    const qty = positiveInt(li.quantity, 'line_items[0][quantity]');
    const total = unit * qty;
    if (pd.currency === 'usd' && total < 50) {
        throw invalid('The Checkout Session\'s total amount due must add up to at least $0.50 usd', undefined,
                      'amount_too_small');
    }
    if (total > 99999999) throw invalid('Amount must be no more than $999,999.99', undefined, 'amount_too_large');
    if (!isUrl(p.success_url)) throw invalid('Not a valid URL', 'success_url', 'url_invalid');
    if (p.cancel_url !== undefined && !isUrl(p.cancel_url)) throw invalid('Not a valid URL', 'cancel_url', 'url_invalid');
    if (p.client_reference_id !== undefined && (p.client_reference_id.length > 200 || !p.client_reference_id)) {
        throw invalid('client_reference_id must be 1 to 200 characters', 'client_reference_id');
    }
    const metadata = checkMetadata(p.metadata, 'metadata');
    const piMetadata = checkMetadata(p.payment_intent_data && p.payment_intent_data.metadata,
                                     'payment_intent_data[metadata]');
    const created = now();
    const id = randomId('cs_test_a1', 56);
    const session = {
        id,
        object: 'checkout.session',
        after_expiration: null,
        allow_promotion_codes: null,
        amount_subtotal: total,
        amount_total: total,
        automatic_tax: { enabled: false, liability: null, status: null },
        billing_address_collection: null,
        cancel_url: p.cancel_url ?? null,
        client_reference_id: p.client_reference_id ?? null,
        consent: null,
        consent_collection: null,
        created,
        currency: pd.currency,
        custom_fields: [],
        custom_text: { shipping_address: null, submit: null },
        customer: null,
        customer_creation: 'if_required',
        customer_details: null,
        customer_email: p.customer_email ?? null,
        expires_at: created + 24 * 3600,
        invoice: null,
        livemode: false,
        locale: null,
        metadata,
        mode: 'payment',
        payment_intent: null,
        payment_link: null,
        payment_method_collection: 'always',
        payment_method_options: {},
        payment_method_types: ['card'],
        payment_status: 'unpaid',
        phone_number_collection: { enabled: false },
        recovered_from: null,
        setup_intent: null,
        shipping_address_collection: null,
        shipping_cost: null,
        shipping_details: null,
        shipping_options: [],
        status: 'open',
        submit_type: null,
        subscription: null,
        success_url: p.success_url,
        total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: 0 },
        ui_mode: 'hosted',
        url: `${publicUrl}/pay/${id}`,
    };
    sessions.set(id, session);
    // kept out of the public object, as Stripe keeps it on the PaymentIntent
    Object.defineProperty(session, '_pi_metadata', { value: piMetadata, enumerable: false });
    Object.defineProperty(session, '_product', { value: pd.product_data.name, enumerable: false });
    return session;
}

// ---- events and signed deliveries ----
function sign(payload, t, secrets) {
    const parts = [`t=${t}`];
    for (const s of secrets) parts.push(`v1=${createHmac('sha256', s).update(`${t}.${payload}`).digest('hex')}`);
    return parts.join(',');
}

function makeEvent(type, object) {
    const event = {
        id: randomId('evt_1', 24),
        object: 'event',
        api_version: API_VERSION,
        created: now(),
        data: { object: structuredClone(object) },
        livemode: false,
        pending_webhooks: 1,
        request: { id: null, idempotency_key: null },
        type,
    };
    const record = { event, raw: JSON.stringify(event, null, 2), deliveries: [] };
    events.push(record);
    return record;
}

async function deliver(record, opts = {}) {
    if (!webhookUrl) return { status: 0, body: 'no webhook URL configured' };
    const t = now() + Number(opts.timestamp_offset || 0);
    const secrets = opts.secret ? [opts.secret] : webhookSecrets;
    const header = sign(record.raw, t, secrets);
    // tamper: the signature is over the original payload, the body sent is changed afterwards
    const body = opts.tamper ? record.raw.replace(/"amount_total": (\d+)/, (_, n) => `"amount_total": ${Number(n) * 10}`)
                                        .replace(/"livemode": false/, '"livemode": false ')
                             : record.raw;
    let result;
    try {
        const r = await fetch(webhookUrl, {
            method: 'POST',
            headers: {
                'Content-Type': 'application/json; charset=utf-8',
                'User-Agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
                'Stripe-Signature': header,
            },
            body,
            signal: AbortSignal.timeout(10000),
        });
        result = { status: r.status, body: await r.text() };
    } catch (e) {
        result = { status: 0, body: String(e && e.message) };
    }
    record.deliveries.push(result);
    return result;
}

async function emit(type, object, opts) {
    const record = makeEvent(type, object);
    const delivery = opts && opts.deliver === false ? null : await deliver(record);
    return { event: record.event, delivery };
}

function pay(session, isAsync) {
    if (session.status !== 'open') throw invalid(`This Checkout Session is ${session.status}.`, undefined, 'checkout_session_not_open');
    const pi = randomId('pi_3', 24);
    session.status = 'complete';
    session.payment_intent = pi;
    session.payment_status = isAsync ? 'unpaid' : 'paid';
    session.customer_details = { email: 'buyer@example.com', name: 'Test Buyer', phone: null, tax_exempt: 'none',
                                 tax_ids: [], address: null };
    const charge = {
        id: randomId('ch_3', 24),
        object: 'charge',
        amount: session.amount_total,
        amount_captured: isAsync ? 0 : session.amount_total,
        amount_refunded: 0,
        captured: !isAsync,
        created: now(),
        currency: session.currency,
        customer: null,
        description: null,
        livemode: false,
        metadata: { ...session._pi_metadata },
        paid: !isAsync,
        payment_intent: pi,
        refunded: false,
        status: isAsync ? 'pending' : 'succeeded',
    };
    charges.set(session.id, charge);
}

// ---- HTTP ----
function send(res, status, body, headers = {}) {
    const text = typeof body === 'string' ? body : JSON.stringify(body, null, 2);
    res.writeHead(status, {
        'Content-Type': typeof body === 'string' ? 'text/html; charset=utf-8' : 'application/json',
        'Request-Id': randomId('req_', 14),
        ...headers,
    });
    res.end(text);
}

function readBody(req) {
    return new Promise((resolve, reject) => {
        const chunks = [];
        let size = 0;
        req.on('data', (c) => {
            size += c.length;
            if (size > 1 << 20) reject(invalid('Request too large'));
            else chunks.push(c);
        });
        req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        req.on('error', reject);
    });
}

function authenticate(req) {
    const h = req.headers.authorization || '';
    if (!h) {
        throw new StripeError(401, 'invalid_request_error',
            'You did not provide an API key. You need to provide your API key in the Authorization header, ' +
            'using Bearer auth (e.g. \'Authorization: Bearer YOUR_SECRET_KEY\').');
    }
    // Stripe takes the key as a bearer token or as the Basic auth user name (empty password)
    let key = (/^Bearer (\S+)$/.exec(h) || [])[1];
    const basic = /^Basic (\S+)$/.exec(h);
    if (basic) key = Buffer.from(basic[1], 'base64').toString('utf8').replace(/:.*$/, '');
    if (key !== apiKey) {
        const shown = key && key.length > 12 ? `${key.slice(0, 8)}${'*'.repeat(key.length - 12)}${key.slice(-4)}` : '****';
        throw new StripeError(401, 'invalid_request_error', `Invalid API Key provided: ${shown}`);
    }
}

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;',
                                                                 '"': '&quot;', "'": '&#39;' }[c]));

function payPage(s) {
    const amount = `${(s.amount_total / 100).toFixed(2)} ${s.currency.toUpperCase()}`;
    const closed = s.status !== 'open';
    return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Checkout (Stripe fake)</title></head>
<body><main><h1>Pay ${escapeHtml(amount)}</h1><p id="product">${escapeHtml(s._product)}</p>
<p id="session">${escapeHtml(s.id)}</p><p id="status">${escapeHtml(s.status)}</p>
${closed ? '<p>This Checkout Session is no longer open.</p>' : `<form method="post" action="/pay/${escapeHtml(s.id)}">
<button type="submit" id="pay">Pay</button></form>`}
${s.cancel_url ? `<p><a id="cancel" href="${escapeHtml(s.cancel_url)}">Cancel and return</a></p>` : ''}
</main></body></html>`;
}

async function handle(req, res) {
    const url = new URL(req.url, publicUrl);
    const path = url.pathname;
    let m;
    if (req.method === 'POST' && path === '/v1/checkout/sessions') {
        authenticate(req);
        const text = await readBody(req);
        const key = req.headers['idempotency-key'];
        const hash = createHash('sha256').update(text).digest('hex');
        if (key) {
            const prior = idempotency.get(key);
            if (prior) {
                if (prior.hash !== hash) {
                    throw new StripeError(400, 'idempotency_error',
                        'Keys for idempotent requests can only be used with the same parameters they were first used with. ' +
                        'Try using a key other than \'' + key + '\' if you meant to execute a different request.');
                }
                return send(res, prior.status, prior.body, { 'Idempotent-Replayed': 'true', 'Idempotency-Key': key });
            }
        }
        let status = 200, body;
        try {
            body = createSession(parseForm(text));
        } catch (e) {
            if (!(e instanceof StripeError)) throw e;
            status = e.status;
            body = e.body();
        }
        if (key) idempotency.set(key, { hash, status, body: structuredClone(body) });
        return send(res, status, body, key ? { 'Idempotency-Key': key } : {});
    }
    if ((m = /^\/v1\/checkout\/sessions\/([^/]+)(\/expire)?$/.exec(path))) {
        authenticate(req);
        const s = sessions.get(m[1]);
        if (!s) throw new StripeError(404, 'invalid_request_error', `No such checkout.session: '${m[1]}'`, 'session', 'resource_missing');
        if (m[2] && req.method === 'POST') {
            await readBody(req);
            if (s.status !== 'open') throw invalid('Only Checkout Sessions with a status in ["open"] can be expired.');
            s.status = 'expired';
            s.url = null;
            await emit('checkout.session.expired', s);
            return send(res, 200, s);
        }
        if (!m[2] && req.method === 'GET') return send(res, 200, s);
        throw new StripeError(405, 'invalid_request_error', 'Unrecognized request URL or method.');
    }
    if ((m = /^\/pay\/([^/]+)$/.exec(path))) {
        const s = sessions.get(m[1]);
        if (!s) return send(res, 404, '<!doctype html><title>Not found</title><p>No such session.</p>');
        if (req.method === 'GET') return send(res, 200, payPage(s));
        if (req.method === 'POST') {
            await readBody(req);
            if (s.status !== 'open') return send(res, 409, payPage(s));
            pay(s, false);
            await emit('checkout.session.completed', s);
            res.writeHead(303, { Location: s.success_url.replace('{CHECKOUT_SESSION_ID}', s.id) });
            return res.end();
        }
    }
    if ((m = /^\/_fake\/sessions\/([^/]+)\/(pay|async|refund|expire)$/.exec(path)) && req.method === 'POST') {
        const s = sessions.get(m[1]);
        if (!s) throw new StripeError(404, 'invalid_request_error', `No such checkout.session: '${m[1]}'`, 'session', 'resource_missing');
        const text = await readBody(req);
        const o = text ? JSON.parse(text) : {};
        if (m[2] === 'pay') {
            pay(s, !!o.async);
            return send(res, 200, await emit('checkout.session.completed', s, o));
        }
        if (m[2] === 'async') {
            const c = charges.get(s.id);
            if (!c || s.status !== 'complete') throw invalid('The session has no pending payment.');
            if (o.outcome === 'succeeded') {
                s.payment_status = 'paid';
                Object.assign(c, { paid: true, captured: true, amount_captured: c.amount, status: 'succeeded' });
                return send(res, 200, await emit('checkout.session.async_payment_succeeded', s, o));
            }
            if (o.outcome === 'failed') {
                c.status = 'failed';
                return send(res, 200, await emit('checkout.session.async_payment_failed', s, o));
            }
            throw invalid('outcome must be succeeded or failed', 'outcome');
        }
        if (m[2] === 'refund') {
            const c = charges.get(s.id);
            const amount = Number(o.amount);
            if (!c || !c.paid) throw invalid('This charge has not been paid.', undefined, 'charge_not_paid');
            if (!Number.isInteger(amount) || amount <= 0 || c.amount_refunded + amount > c.amount) {
                throw invalid(`Refund amount ($${(amount / 100).toFixed(2)}) is greater than unrefunded amount on charge ` +
                              `($${((c.amount - c.amount_refunded) / 100).toFixed(2)})`, 'amount', 'amount_too_large');
            }
            c.amount_refunded += amount;
            c.refunded = c.amount_refunded === c.amount;
            return send(res, 200, await emit('charge.refunded', c, o));
        }
        if (s.status !== 'open') throw invalid('Only Checkout Sessions with a status in ["open"] can be expired.');
        s.status = 'expired';
        s.url = null;
        return send(res, 200, await emit('checkout.session.expired', s, o));
    }
    if (path === '/_fake/events' && req.method === 'POST') {
        const o = JSON.parse((await readBody(req)) || '{}');
        if (typeof o.type !== 'string' || typeof o.object !== 'object') throw invalid('type and object are required');
        return send(res, 200, await emit(o.type, o.object, o));
    }
    if (path === '/_fake/events' && req.method === 'GET') {
        return send(res, 200, events.map((r) => ({ id: r.event.id, type: r.event.type, deliveries: r.deliveries })));
    }
    if ((m = /^\/_fake\/events\/([^/]+)\/deliver$/.exec(path)) && req.method === 'POST') {
        const o = JSON.parse((await readBody(req)) || '{}');
        const record = events.find((r) => r.event.id === m[1]);
        if (!record) throw new StripeError(404, 'invalid_request_error', `No such event: '${m[1]}'`, 'id', 'resource_missing');
        return send(res, 200, { event: record.event, delivery: await deliver(record, o) });
    }
    throw new StripeError(404, 'invalid_request_error', `Unrecognized request URL (${req.method}: ${path}).`);
}

const server = createServer((req, res) => {
    handle(req, res).catch((e) => {
        if (e instanceof StripeError) return send(res, e.status, e.body());
        if (e instanceof SyntaxError) return send(res, 400, invalid(`Invalid JSON: ${e.message}`).body());
        console.error(e);
        send(res, 500, { error: { type: 'api_error', message: String(e && e.message) } });
    });
});
server.listen(port, '127.0.0.1', () => console.log(`listening ${port}`));
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
const parent = process.ppid;
setInterval(() => {
    try {
        process.kill(parent, 0);
    } catch {
        process.exit(0);
    }
}, 1000).unref();
