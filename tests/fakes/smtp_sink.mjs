// smtp_sink.mjs — a local SMTP server for the e-mail tests (nodemailer's smtp-server, decoded with mailparser).
//
//   node tests/fakes/smtp_sink.mjs PORT OUT_FILE [REJECT_FLAG_FILE]
//
// Listens on 127.0.0.1:PORT, offers AUTH PLAIN/LOGIN without TLS and accepts any user and password (auth is
// optional), and appends every accepted message to OUT_FILE as one JSON line:
//   {from, to, subject, text, messageId, date, headers, raw, envelope: {from, to}, user}
// headers maps each lower-cased header name to its raw (unfolded, still encoded) value; when a header occurs
// more than once the value is an array. The line is written before the server answers 250, so once the client
// has its answer the line is in the file.
//
// While REJECT_FLAG_FILE exists every transaction is refused. Its content chooses how: "CODE [STAGE]", CODE a
// 4xx/5xx reply code (default 451) and STAGE one of mail, rcpt, data (default mail) — the command that is
// refused. Prints "listening PORT" on stdout once ready; exits on SIGTERM/SIGINT or when its parent is gone.
import { appendFileSync, readFileSync } from 'node:fs';
import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';

const [portArg, outFile, rejectFile] = process.argv.slice(2);
const port = Number(portArg);
if (!Number.isInteger(port) || port <= 0 || port > 65535 || !outFile) {
    console.error('usage: node tests/fakes/smtp_sink.mjs PORT OUT_FILE [REJECT_FLAG_FILE]');
    process.exit(2);
}

// The refusal configured by the flag file, or null when it does not exist.
function refusal() {
    if (!rejectFile) return null;
    let text;
    try {
        text = readFileSync(rejectFile, 'utf8');
    } catch {
        return null;
    }
    const [codeText, stage] = text.trim().split(/\s+/);
    const code = /^[45]\d\d$/.test(codeText || '') ? Number(codeText) : 451;
    return { code, stage: ['mail', 'rcpt', 'data'].includes(stage) ? stage : 'mail' };
}

function refuse(stage, callback) {
    const r = refusal();
    if (!r || r.stage !== stage) return false;
    const err = new Error(r.code < 500 ? 'Temporary failure, try again later (sink told to refuse)'
                                       : 'Permanent failure (sink told to refuse)');
    err.responseCode = r.code;
    callback(err);
    return true;
}

function headerObject(headerLines) {
    const out = {};
    for (const { key, line } of headerLines) {
        const colon = line.indexOf(':');
        const value = line.slice(colon + 1).replace(/\r?\n[ \t]/g, ' ').trim();
        if (key in out) out[key] = [].concat(out[key], value);
        else out[key] = value;
    }
    return out;
}

const server = new SMTPServer({
    name: 'smtp-sink.test',
    banner: 'AfterResume test sink',
    authOptional: true,
    authMethods: ['PLAIN', 'LOGIN'],
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    size: 10 * 1024 * 1024,
    logger: false,
    onAuth(auth, session, callback) {
        callback(null, { user: auth.username });
    },
    onMailFrom(address, session, callback) {
        if (!refuse('mail', callback)) callback();
    },
    onRcptTo(address, session, callback) {
        if (!refuse('rcpt', callback)) callback();
    },
    onData(stream, session, callback) {
        const chunks = [];
        stream.on('data', (c) => chunks.push(c));
        stream.on('error', (e) => callback(e));
        stream.on('end', async () => {
            if (refuse('data', callback)) return;
            const raw = Buffer.concat(chunks).toString('utf8');
            try {
                const parsed = await simpleParser(raw);
                const record = {
                    from: parsed.from ? parsed.from.text : '',
                    to: parsed.to ? parsed.to.text : '',
                    subject: parsed.subject ?? '',
                    text: parsed.text ?? '',
                    messageId: parsed.messageId ?? '',
                    date: parsed.date ? parsed.date.toISOString() : '',
                    headers: headerObject(parsed.headerLines),
                    raw,
                    envelope: {
                        from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
                        to: session.envelope.rcptTo.map((r) => r.address),
                    },
                    user: session.user ?? null,
                };
                appendFileSync(outFile, JSON.stringify(record) + '\n');
                callback(null, 'Message accepted by the sink');
            } catch (e) {
                const err = new Error('Sink could not store the message: ' + e.message);
                err.responseCode = 451;
                callback(err);
            }
        });
    },
});

server.on('error', (e) => console.error('smtp sink:', e.message));
server.listen(port, '127.0.0.1', () => console.log(`listening ${port}`));
// Leave when the process that started us is gone (a test that failed before stopping the sink).
const parent = process.ppid;
setInterval(() => { if (process.ppid !== parent) process.exit(0); }, 500).unref();
// Lines are written synchronously, so nothing is lost by leaving at once (close() would wait for idle clients).
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
