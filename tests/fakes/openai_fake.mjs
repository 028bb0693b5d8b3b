// openai_fake.mjs — a local OpenAI-compatible chat-completions server for the AI tests (no npm dependencies).
//
//   node tests/fakes/openai_fake.mjs PORT [API_KEY]
//
// POST /v1/chat/completions answers like OpenAI (id, object "chat.completion", created, model, choices[0].message
// {role, content}, finish_reason, usage {prompt_tokens, completion_tokens, total_tokens}). When API_KEY is given,
// requests without "Authorization: Bearer API_KEY" get OpenAI's 401 error body.
//
// The reply's content is built from the prompt, so it cites the entries it was shown:
//   "Improve this worklog entry"      -> an enhancement {title, summary, bullets, impact_score, skills}
//   "List the professional skills"    -> {skills: [{name, kind, confidence, evidence: [{entry_id, excerpt}]}]}
//   "section of a"                    -> {items: [{text, citations: [ids]}]} (one item per entry shown)
// The requested model name picks a behaviour (so one server serves every test):
//   fake-ok            valid JSON, as above
//   fake-fenced        the same wrapped in prose and a ```json fence
//   fake-malformed     a truncated object on the first try; valid once the conversation holds a repair request
//   fake-garbage       never valid JSON (the job must fail after one repair attempt)
//   fake-wrong-types   impact_score as a string, bullets as a string
//   fake-foreign-cite  like fake-ok, but every item also cites entry 999999999 (not in the set)
//   fake-429-N         HTTP 429 (Retry-After: 0) for the first N requests of the server's life (per model), then ok
//   fake-500           always HTTP 500
//   fake-slow-MS       waits MS milliseconds, then ok
// GET /control/requests returns every request received ([{model, authorization, body}]); POST /control/reset
// forgets them and the 429 counters. Prints "listening PORT" when ready; exits on SIGTERM or when its parent is gone.
import { createServer } from 'node:http';

const [portArg, apiKey] = process.argv.slice(2);
const port = Number(portArg);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: node tests/fakes/openai_fake.mjs PORT [API_KEY]');
  process.exit(2);
}

let requests = [];
let counters = new Map();

function entryIds(text) {
  const ids = [];
  for (const m of text.matchAll(/--- Entry (\d+) /g)) ids.push(Number(m[1]));
  return ids;
}

function tokens(text) {
  return Math.max(1, Math.ceil(text.length / 4));
}

function contentFor(prompt, model) {
  const ids = entryIds(prompt);
  if (prompt.includes('Improve this worklog entry')) {
    const title = (prompt.match(/^Title: (.*)$/m) || [, 'Entry'])[1].trim() || 'Entry';
    return {
      title: `Delivered: ${title}`.slice(0, 120),
      summary: `Fake model summary of "${title}".`,
      bullets: [`Delivered ${title} with measurable results.`, 'Documented the change for the team.'],
      impact_score: 7,
      skills: [
        { name: 'PostgreSQL', kind: 'technology', confidence: 0.8, excerpt: title },
        { name: 'Incident Management', kind: 'skill', confidence: 0.6, excerpt: title },
      ],
    };
  }
  if (prompt.includes('List the professional skills')) {
    return {
      skills: [
        { name: 'postgres', kind: 'technology', confidence: 0.9,
          evidence: ids.map((id) => ({ entry_id: id, excerpt: `entry ${id} mentions it` })) },
        { name: 'Code Review', kind: 'skill', confidence: 0.5,
          evidence: ids.slice(0, 1).map((id) => ({ entry_id: id, excerpt: 'reviewed code' })) },
      ],
    };
  }
  if (prompt.includes('section of a')) {
    const foreign = model === 'fake-foreign-cite';
    return {
      items: ids.map((id) => ({ text: `Fake bullet about entry ${id}.`, citations: foreign ? [id, 999999999] : [id] })),
    };
  }
  return { note: 'unknown prompt' };
}

function send(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function completion(model, content, prompt) {
  return {
    id: `chatcmpl-fake${Date.now()}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage: { prompt_tokens: tokens(prompt), completion_tokens: tokens(content), total_tokens: tokens(prompt) + tokens(content) },
  };
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    const raw = Buffer.concat(chunks).toString('utf8');
    if (req.method === 'GET' && req.url === '/control/requests') return send(res, 200, requests);
    if (req.method === 'POST' && req.url === '/control/reset') {
      requests = [];
      counters = new Map();
      return send(res, 200, { ok: true });
    }
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      return send(res, 404, { error: { message: `Unknown request URL: ${req.method} ${req.url}`, type: 'invalid_request_error' } });
    }
    let body;
    try {
      body = JSON.parse(raw);
    } catch {
      return send(res, 400, { error: { message: 'We could not parse the JSON body of your request.', type: 'invalid_request_error' } });
    }
    const model = String(body.model || '');
    requests.push({ model, authorization: req.headers.authorization || null, body });
    if (apiKey && req.headers.authorization !== `Bearer ${apiKey}`) {
      return send(res, 401, { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', code: 'invalid_api_key' } });
    }
    if (!Array.isArray(body.messages) || body.messages.length === 0) {
      return send(res, 400, { error: { message: "'messages' is a required property", type: 'invalid_request_error' } });
    }
    const prompt = body.messages.filter((m) => m.role === 'user').map((m) => String(m.content)).join('\n');
    const repairing = body.messages.some((m) => m.role === 'assistant');
    const n = (counters.get(model) || 0) + 1;
    counters.set(model, n);

    let m;
    if ((m = model.match(/^fake-429-(\d+)$/)) && n <= Number(m[1])) {
      return send(res, 429, { error: { message: 'Rate limit reached for requests', type: 'requests', code: 'rate_limit_exceeded' } },
        { 'Retry-After': '0' });
    }
    if (model === 'fake-500') return send(res, 500, { error: { message: 'The server had an error while processing your request.', type: 'server_error' } });
    if ((m = model.match(/^fake-slow-(\d+)$/))) await new Promise((r) => setTimeout(r, Number(m[1])));

    const value = contentFor(prompt, model);
    let content = JSON.stringify(value);
    if (model === 'fake-fenced') content = `Here is the JSON you asked for:\n\`\`\`json\n${JSON.stringify(value, null, 2)}\n\`\`\`\nAnything else?`;
    if (model === 'fake-malformed' && !repairing) content = content.slice(0, Math.floor(content.length / 2));
    if (model === 'fake-garbage') content = 'I am sorry, I cannot produce JSON today.';
    if (model === 'fake-wrong-types') content = JSON.stringify({ ...value, impact_score: 'high', bullets: 'one bullet' });
    return send(res, 200, completion(model, content, prompt));
  });
});

server.listen(port, '127.0.0.1', () => console.log(`listening ${port}`));
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
const parent = process.ppid;
setInterval(() => { if (process.ppid !== parent) process.exit(0); }, 500).unref();
