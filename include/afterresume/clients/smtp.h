/* smtp.h — the e-mail delivery client: builds an RFC 5322 plain-text message (UTF-8, quoted-printable body,
 * RFC 2047 encoded-word subject, CRLF, no header injection) and hands it to an SMTP server with libcurl.
 *
 * SMTP_URL forms: smtp://[user:pass@]host[:port]   plain SMTP; STARTTLS is used when the server offers it
 *                 smtps://[user:pass@]host[:port]  TLS from the first byte (implicit TLS, usually port 465)
 * A query may force the STARTTLS policy of smtp://: ?tls=required (refuse to go on without STARTTLS) or
 * ?tls=none (never STARTTLS, e.g. a local relay). User and password are percent-decoded by libcurl.
 * Addresses are plain ASCII local@domain (dot-atom local part, LDH domain labels; no quoted local parts,
 * no SMTPUTF8). Timeouts: connect 10 s, whole transaction 30 s.
 *
 * One ar_smtp is used by one thread at a time (it keeps its libcurl handle, so consecutive sends reuse the
 * connection). */
#ifndef AFTERRESUME_CLIENTS_SMTP_H
#define AFTERRESUME_CLIENTS_SMTP_H
#include <stddef.h>
#include <time.h>

#include "afterresume/core/buf.h"
#include "afterresume/core/error.h"

typedef struct ar_smtp ar_smtp;

/* A client for smtp_url sending as mail_from ("addr@host" or "Display Name <addr@host>"). NULL + err
 * (AR_ERR_VALIDATION) when the URL or the sender is not acceptable. */
ar_smtp *ar_smtp_new(const char *smtp_url, const char *mail_from, ar_error *err);
void ar_smtp_free(ar_smtp *s);

/* Send one plain-text message to one recipient. On success returns 0 and, when message_id_out is given,
 * writes the Message-ID header value ("<...@host>") into it (mid_size >= AR_SMTP_MESSAGE_ID_MAX).
 * On failure returns -1 with err:
 *   AR_ERR_VALIDATION   the recipient, subject or body is not acceptable (CR/LF or other control characters
 *                       in the subject, malformed address, invalid UTF-8); nothing was sent — permanent.
 *   AR_ERR_UNAVAILABLE  the server refused or could not be reached. err->message starts with
 *                       "smtp <code> temporary: " or "smtp <code> permanent: " (code 0 when there was no
 *                       reply, e.g. connection refused or timeout); see ar_smtp_last_failure() too. */
int ar_smtp_send(ar_smtp *s, const char *to, const char *subject, const char *body_text, char *message_id_out,
                 size_t mid_size, ar_error *err);

#define AR_SMTP_MESSAGE_ID_MAX 128

/* The same with an optional HTML alternative (body_html NULL = plain text only): the message is then
 * multipart/alternative with a text/plain and a text/html part, both UTF-8 quoted-printable. */
int ar_smtp_send_alt(ar_smtp *s, const char *to, const char *subject, const char *body_text, const char *body_html,
                     char *message_id_out, size_t mid_size, ar_error *err);

/* How the last ar_smtp_send of s ended. reply_code: the last SMTP reply code (0 = none). temporary: 1 when
 * trying again later may work (4xx replies, no reply at all — connection refused, timeout, TLS failure — and
 * refused authentication, which is a configuration problem rather than the message's), 0 when the server
 * refused this message for good (5xx) or it was not acceptable (validation), -1 after a success. */
typedef struct ar_smtp_failure {
    int reply_code;
    int temporary;
} ar_smtp_failure;
ar_smtp_failure ar_smtp_last_failure(const ar_smtp *s);

/* ---- Message building (pure functions; used by ar_smtp_send and exposed for tests) ---- */

/* 1 if addr is an acceptable ASCII address local@domain (at most 254 bytes, local part at most 64). */
int ar_smtp_address_valid(const char *addr);

/* Parse a sender "addr" or "Display Name <addr>": writes the bare address (heap) to *addr and the display
 * name (heap, "" when none; surrounding quotes removed) to *name. 0, or -1 when not acceptable. */
int ar_smtp_parse_sender(const char *mail_from, char **addr, char **name);

/* Append a header's unstructured text: as is when it is short printable ASCII, otherwise as RFC 2047
 * encoded words (=?UTF-8?B?...?=, each at most 75 characters, folded with CRLF SP, UTF-8 sequences never
 * split). `used` is how many characters the header line already has ("Subject: " = 9). text must be valid
 * UTF-8 without control characters other than TAB. */
void ar_smtp_put_header_text(ar_buf *b, const char *text, size_t used);

/* Append data[0..len) quoted-printable encoded (RFC 2045): line breaks (LF or CRLF) become CRLF, encoded
 * lines are at most 76 characters (soft breaks "=" CRLF), trailing space/tab, '=', non-ASCII bytes, control
 * characters and a line-leading '.' are escaped as =XX. */
void ar_smtp_put_quoted_printable(ar_buf *b, const char *data, size_t len);

/* Append an RFC 5322 date "Tue, 24 Nov 2026 19:58:58 +0000" (UTC, English names whatever the locale). */
void ar_smtp_put_date(ar_buf *b, time_t t);

/* The whole message (headers CRLF body) as a heap string, or NULL + err (AR_ERR_VALIDATION). from_header is
 * the From value as given to ar_smtp_new ("Name <addr>" or "addr"); message_id includes the angle brackets. */
char *ar_smtp_format_message(const char *from_header, const char *to, const char *subject, const char *body_text,
                             const char *message_id, time_t date, ar_error *err);
/* With an HTML alternative (NULL = as above): multipart/alternative with `boundary` (1..60 characters of
 * letters, digits, '_', '=', '.', '-'; ar_smtp_send_alt uses "=_ar_<random hex>": "=_" cannot occur in
 * quoted-printable text, whose '=' is always followed by two hex digits or a line break). */
char *ar_smtp_format_message_alt(const char *from_header, const char *to, const char *subject, const char *body_text,
                                 const char *body_html, const char *message_id, const char *boundary, time_t date,
                                 ar_error *err);

#endif
