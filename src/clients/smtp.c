/* smtp.c — the e-mail delivery client (see smtp.h): RFC 5322 message building and the libcurl SMTP transfer. */
#include "afterresume/clients/smtp.h"

#include <curl/curl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "afterresume/core/alloc.h"
#include "afterresume/core/utf8.h"

enum {
    SUBJECT_MAX = 998,                  /* bytes of subject text before encoding (RFC 5322 line limit) */
    BODY_MAX = 10 * 1024 * 1024,        /* bytes of body text */
    ENCODED_WORD_CHUNK = 39,            /* input bytes per encoded word: 52 base64 chars + 12 = 64 */
    QP_LINE_MAX = 76,                   /* RFC 2045 encoded line limit, soft-break '=' included */
};

struct ar_smtp {
    CURL *curl;
    char *from_header;   /* the From value as configured */
    char *from_addr;     /* bare sender address */
    char *mid_domain;    /* right-hand side of Message-IDs */
    char last_reply[200];
    ar_smtp_failure last;
};

/* ---- addresses ---- */

static int is_atext(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return 1;
    return c != '\0' && strchr("!#$%&'*+/=?^_`{|}~-", c) != NULL;
}

static int is_ldh(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

int ar_smtp_address_valid(const char *addr)
{
    if (!addr) return 0;
    const char *at = strrchr(addr, '@');
    size_t total = strlen(addr);
    if (!at || total > 254) return 0;
    size_t local_len = (size_t)(at - addr);
    if (local_len == 0 || local_len > 64) return 0;
    /* local part: dot-atom */
    for (size_t i = 0; i < local_len; i++) {
        unsigned char c = (unsigned char)addr[i];
        if (c == '.') {
            if (i == 0 || i + 1 == local_len || addr[i + 1] == '.') return 0;
        } else if (!is_atext(c)) {
            return 0;
        }
    }
    /* domain: LDH labels of 1..63 characters separated by dots, no leading/trailing hyphen */
    const char *d = at + 1;
    if (*d == '\0' || strlen(d) > 253) return 0;
    size_t label = 0;
    for (const char *p = d;; p++) {
        if (*p == '.' || *p == '\0') {
            if (label == 0 || label > 63 || p[-1] == '-') return 0;
            if (*p == '\0') break;
            label = 0;
        } else {
            if (!is_ldh((unsigned char)*p)) return 0;
            if (label == 0 && *p == '-') return 0;
            label++;
        }
    }
    return 1;
}

/* Printable ASCII or TAB only (and no CR/LF/other controls). */
static int is_printable_ascii(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p >= 0x7f) return 0;
    return 1;
}

/* No control characters other than TAB (CR and LF included) and valid UTF-8. */
static int is_header_text(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f) return 0;
    return ar_utf8_valid(s, strlen(s));
}

int ar_smtp_parse_sender(const char *mail_from, char **addr, char **name)
{
    *addr = *name = NULL;
    if (!mail_from || !is_header_text(mail_from)) return -1;
    const char *lt = strchr(mail_from, '<');
    if (!lt) {
        while (*mail_from == ' ' || *mail_from == '\t') mail_from++;
        size_t n = strlen(mail_from);
        while (n > 0 && (mail_from[n - 1] == ' ' || mail_from[n - 1] == '\t')) n--;
        char *a = ar_strndup(mail_from, n);
        if (!ar_smtp_address_valid(a)) return ar_free(a), -1;
        *addr = a;
        *name = ar_strdup("");
        return 0;
    }
    const char *gt = strchr(lt, '>');
    if (!gt || strchr(gt + 1, '<') || strchr(gt + 1, '>')) return -1;
    for (const char *p = gt + 1; *p; p++)
        if (*p != ' ' && *p != '\t') return -1;
    char *a = ar_strndup(lt + 1, (size_t)(gt - lt - 1));
    if (!ar_smtp_address_valid(a)) return ar_free(a), -1;
    /* display name: trimmed, surrounding double quotes removed; no quotes or angle brackets inside */
    const char *s = mail_from, *e = lt;
    while (s < e && (*s == ' ' || *s == '\t')) s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t')) e--;
    if (e - s >= 2 && *s == '"' && e[-1] == '"') s++, e--;
    for (const char *p = s; p < e; p++)
        if (*p == '"' || *p == '<' || *p == '>' || *p == '\\') return ar_free(a), -1;
    *addr = a;
    *name = ar_strndup(s, (size_t)(e - s));
    return 0;
}

/* ---- header encoding ---- */

void ar_smtp_put_header_text(ar_buf *b, const char *text, size_t used)
{
    size_t len = strlen(text);
    if (is_printable_ascii(text) && used + len <= 78 && !strstr(text, "=?")) {
        ar_buf_append(b, text, len);
        return;
    }
    size_t pos = 0;
    int first = 1;
    while (pos < len || first) {
        size_t cut = len - pos > ENCODED_WORD_CHUNK ? ENCODED_WORD_CHUNK : len - pos;
        /* never split a UTF-8 sequence: back off to the start of the character the cut falls into */
        while (pos + cut < len && cut > 0 && ((unsigned char)text[pos + cut] & 0xC0) == 0x80) cut--;
        char b64[sodium_base64_ENCODED_LEN(ENCODED_WORD_CHUNK, sodium_base64_VARIANT_ORIGINAL)];
        sodium_bin2base64(b64, sizeof b64, (const unsigned char *)text + pos, cut, sodium_base64_VARIANT_ORIGINAL);
        if (!first) ar_buf_puts(b, "\r\n ");
        ar_buf_printf(b, "=?UTF-8?B?%s?=", b64);
        pos += cut;
        first = 0;
    }
}

/* A display name in From: an atom phrase as is, other printable ASCII as a quoted string, else encoded. */
static void put_display_name(ar_buf *b, const char *name, size_t used)
{
    int atoms = 1;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (!is_atext(*p) && *p != ' ') atoms = 0;
    if (atoms && !strstr(name, "=?") && used + strlen(name) <= 70) {
        ar_buf_puts(b, name);
    } else if (is_printable_ascii(name) && !strstr(name, "=?") && used + strlen(name) <= 68) {
        ar_buf_printf(b, "\"%s\"", name); /* parse_sender refused '"' and '\\' */
    } else {
        ar_smtp_put_header_text(b, name, used);
    }
}

/* ---- body encoding ---- */

void ar_smtp_put_quoted_printable(ar_buf *b, const char *data, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t col = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)data[i];
        if (c == '\r' && i + 1 < len && data[i + 1] == '\n') continue; /* the LF makes the break */
        if (c == '\n') {
            ar_buf_puts(b, "\r\n");
            col = 0;
            continue;
        }
        int at_eol = i + 1 == len || data[i + 1] == '\n' || (data[i + 1] == '\r' && i + 2 < len && data[i + 2] == '\n');
        int encode = c == '=' || (c < 0x20 && c != '\t') || c >= 0x7f || ((c == ' ' || c == '\t') && at_eol) ||
                     (c == '.' && col == 0);
        size_t width = encode ? 3 : 1;
        /* a soft break unless this is the line's last character and it still fits without the '=' */
        if (col + width > QP_LINE_MAX - 1 && !(at_eol && col + width <= QP_LINE_MAX)) {
            ar_buf_puts(b, "=\r\n");
            col = 0;
            if (c == '.') encode = 1, width = 3;
        }
        if (encode) {
            ar_buf_putc(b, '=');
            ar_buf_putc(b, hex[c >> 4]);
            ar_buf_putc(b, hex[c & 15]);
        } else {
            ar_buf_putc(b, (char)c);
        }
        col += width;
    }
}

void ar_smtp_put_date(ar_buf *b, time_t t)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    gmtime_r(&t, &tm);
    ar_buf_printf(b, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
                  tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* ---- the message ---- */

static int check_message(const char *to, const char *subject, const char *body_text, ar_error *err)
{
    if (!to || strpbrk(to, "\r\n") || !ar_smtp_address_valid(to)) {
        ar_error_set(err, AR_ERR_VALIDATION, "the recipient is not a valid e-mail address");
        ar_error_field(err, "to", "not a valid e-mail address");
        return -1;
    }
    if (!subject || strpbrk(subject, "\r\n") || strlen(subject) > SUBJECT_MAX || !is_header_text(subject)) {
        ar_error_set(err, AR_ERR_VALIDATION, "the subject must be one line of UTF-8 text of at most %d bytes",
                     SUBJECT_MAX);
        ar_error_field(err, "subject", "one line of UTF-8 text without control characters");
        return -1;
    }
    if (!body_text || strlen(body_text) > BODY_MAX || !ar_utf8_valid(body_text, strlen(body_text))) {
        ar_error_set(err, AR_ERR_VALIDATION, "the body must be UTF-8 text of at most %d bytes", BODY_MAX);
        ar_error_field(err, "body", "UTF-8 text");
        return -1;
    }
    return 0;
}

/* Append one MIME part body: quoted-printable, ending with CRLF. */
static void put_qp_body(ar_buf *b, const char *text)
{
    size_t start = b->len;
    ar_smtp_put_quoted_printable(b, text, strlen(text));
    if (b->len == start || b->len < 2 || memcmp(b->data + b->len - 2, "\r\n", 2) != 0) ar_buf_puts(b, "\r\n");
}

char *ar_smtp_format_message_alt(const char *from_header, const char *to, const char *subject, const char *body_text,
                                 const char *body_html, const char *message_id, const char *boundary, time_t date,
                                 ar_error *err)
{
    char *from_addr, *from_name;
    if (ar_smtp_parse_sender(from_header, &from_addr, &from_name) != 0) {
        ar_error_set(err, AR_ERR_VALIDATION, "the sender is not a valid e-mail address");
        return NULL;
    }
    int bad_html = body_html && (strlen(body_html) > BODY_MAX || !ar_utf8_valid(body_html, strlen(body_html)));
    int bad_boundary = body_html && (!boundary || !*boundary || strlen(boundary) > 60 ||
                                     strspn(boundary, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_=.-") !=
                                         strlen(boundary));
    if (check_message(to, subject, body_text, err) != 0 || !message_id || strpbrk(message_id, "\r\n") || bad_html ||
        bad_boundary) {
        if (message_id && strpbrk(message_id, "\r\n")) ar_error_set(err, AR_ERR_VALIDATION, "bad Message-ID");
        if (bad_html) {
            ar_error_set(err, AR_ERR_VALIDATION, "the HTML part must be UTF-8 text of at most %d bytes", BODY_MAX);
            ar_error_field(err, "body_html", "UTF-8 text");
        }
        if (bad_boundary) ar_error_set(err, AR_ERR_VALIDATION, "bad MIME boundary");
        ar_free(from_addr);
        ar_free(from_name);
        return NULL;
    }
    ar_buf b = AR_BUF_INIT;
    ar_buf_puts(&b, "Date: ");
    ar_smtp_put_date(&b, date);
    ar_buf_puts(&b, "\r\nFrom: ");
    if (from_name[0]) {
        put_display_name(&b, from_name, 6);
        ar_buf_printf(&b, " <%s>\r\n", from_addr);
    } else {
        ar_buf_printf(&b, "%s\r\n", from_addr);
    }
    ar_buf_printf(&b, "To: %s\r\n", to);
    ar_buf_puts(&b, "Subject: ");
    ar_smtp_put_header_text(&b, subject, 9);
    ar_buf_printf(&b, "\r\nMessage-ID: %s\r\n", message_id);
    ar_buf_puts(&b, "MIME-Version: 1.0\r\n");
    if (!body_html) {
        ar_buf_puts(&b, "Content-Type: text/plain; charset=utf-8\r\n"
                        "Content-Transfer-Encoding: quoted-printable\r\n"
                        "Auto-Submitted: auto-generated\r\n"
                        "\r\n");
        put_qp_body(&b, body_text);
    } else {
        /* RFC 2046 multipart/alternative: the plain part first, the preferred (HTML) part last. The sender's
         * boundary starts with "=_", which quoted-printable text never contains ('=' is always followed by two
         * hex digits or a line break there), so it cannot occur inside a part. */
        ar_buf_printf(&b, "Content-Type: multipart/alternative; boundary=\"%s\"\r\n"
                          "Auto-Submitted: auto-generated\r\n\r\n", boundary);
        ar_buf_puts(&b, "This is a multi-part message in MIME format.\r\n");
        ar_buf_printf(&b, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                          "Content-Transfer-Encoding: quoted-printable\r\n\r\n", boundary);
        put_qp_body(&b, body_text);
        /* the CRLF before a delimiter belongs to the delimiter: one more keeps the part's last line break */
        ar_buf_printf(&b, "\r\n--%s\r\nContent-Type: text/html; charset=utf-8\r\n"
                          "Content-Transfer-Encoding: quoted-printable\r\n\r\n", boundary);
        put_qp_body(&b, body_html);
        ar_buf_printf(&b, "\r\n--%s--\r\n", boundary);
    }
    ar_free(from_addr);
    ar_free(from_name);
    return ar_buf_steal(&b);
}

char *ar_smtp_format_message(const char *from_header, const char *to, const char *subject, const char *body_text,
                             const char *message_id, time_t date, ar_error *err)
{
    return ar_smtp_format_message_alt(from_header, to, subject, body_text, NULL, message_id, NULL, date, err);
}

/* ---- the client ---- */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int global_ok;

static void global_init(void)
{
    global_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK && sodium_init() >= 0;
}

/* Remembers the server's last refusal line (a 4xx/5xx reply, CURLINFO_HEADER_IN) for error messages. */
static int debug_cb(CURL *curl, curl_infotype type, char *data, size_t size, void *userp)
{
    (void)curl;
    if (type != CURLINFO_HEADER_IN || size < 3 || (data[0] != '4' && data[0] != '5')) return 0;
    ar_smtp *s = userp;
    while (size > 0 && (data[size - 1] == '\r' || data[size - 1] == '\n')) size--;
    if (size >= sizeof s->last_reply) size = sizeof s->last_reply - 1;
    memcpy(s->last_reply, data, size);
    s->last_reply[size] = '\0';
    for (char *p = s->last_reply; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f) *p = '?';
    return 0;
}

ar_smtp *ar_smtp_new(const char *smtp_url, const char *mail_from, ar_error *err)
{
    pthread_once(&global_once, global_init);
    if (!global_ok) return ar_error_set(err, AR_ERR_INTERNAL, "libcurl or libsodium failed to initialise"), NULL;
    char *from_addr, *from_name;
    if (ar_smtp_parse_sender(mail_from, &from_addr, &from_name) != 0) {
        ar_error_set(err, AR_ERR_VALIDATION, "MAIL_FROM is not a valid sender (addr@host or Name <addr@host>)");
        return NULL;
    }
    ar_free(from_name);

    /* The URL: scheme smtp/smtps, a host, an optional tls= policy (removed before libcurl sees the URL).
     * Messages never repeat the URL: it may carry a password. */
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *query = NULL, *clean = NULL;
    long use_ssl = CURLUSESSL_TRY;
    int ok = smtp_url && curl_url_set(u, CURLUPART_URL, smtp_url, 0) == CURLUE_OK &&
             curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
             curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host[0];
    ok = ok && (strcmp(scheme, "smtp") == 0 || strcmp(scheme, "smtps") == 0);
    if (ok && curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK) {
        if (strcmp(query, "tls=required") == 0) use_ssl = CURLUSESSL_ALL;
        else if (strcmp(query, "tls=none") == 0) use_ssl = CURLUSESSL_NONE;
        else if (strcmp(query, "tls=try") != 0) ok = 0;
        if (ok && strcmp(scheme, "smtps") == 0 && use_ssl == CURLUSESSL_NONE) ok = 0;
        curl_url_set(u, CURLUPART_QUERY, NULL, 0);
    }
    if (ok && strcmp(scheme, "smtps") == 0) use_ssl = CURLUSESSL_ALL;
    ok = ok && curl_url_get(u, CURLUPART_URL, &clean, 0) == CURLUE_OK;
    curl_free(scheme);
    curl_free(host);
    curl_free(query);
    curl_url_cleanup(u);
    if (!ok) {
        curl_free(clean);
        ar_free(from_addr);
        ar_error_set(err, AR_ERR_VALIDATION,
                     "SMTP_URL must be smtp://[user:pass@]host[:port] or smtps://... (optional ?tls=required|none)");
        return NULL;
    }

    ar_smtp *s = ar_calloc(1, sizeof *s);
    s->from_header = ar_strdup(mail_from);
    s->from_addr = from_addr;
    s->mid_domain = ar_strdup(strrchr(from_addr, '@') + 1);
    s->last.temporary = -1;
    s->curl = curl_easy_init();
    if (!s->curl) {
        curl_free(clean);
        ar_smtp_free(s);
        return ar_error_set(err, AR_ERR_INTERNAL, "curl_easy_init failed"), NULL;
    }
    char *envelope_from = ar_asprintf("<%s>", from_addr);
    CURL *c = s->curl;
    curl_easy_setopt(c, CURLOPT_URL, clean);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
#else
    curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_SMTP | CURLPROTO_SMTPS));
#endif
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, envelope_from); /* libcurl copies string options */
    curl_easy_setopt(c, CURLOPT_USE_SSL, use_ssl);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_VERBOSE, 1L); /* only for debug_cb: nothing is printed */
    curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, debug_cb);
    curl_easy_setopt(c, CURLOPT_DEBUGDATA, s);
    curl_free(clean);
    ar_free(envelope_from);
    return s;
}

void ar_smtp_free(ar_smtp *s)
{
    if (!s) return;
    if (s->curl) curl_easy_cleanup(s->curl);
    ar_free(s->from_header);
    ar_free(s->from_addr);
    ar_free(s->mid_domain);
    ar_free(s);
}

ar_smtp_failure ar_smtp_last_failure(const ar_smtp *s)
{
    return s->last;
}

typedef struct upload {
    const char *data;
    size_t len, pos;
} upload;

static size_t read_cb(char *dst, size_t size, size_t nitems, void *userp)
{
    upload *u = userp;
    size_t n = size * nitems;
    if (n > u->len - u->pos) n = u->len - u->pos;
    memcpy(dst, u->data + u->pos, n);
    u->pos += n;
    return n;
}

int ar_smtp_send(ar_smtp *s, const char *to, const char *subject, const char *body_text, char *message_id_out,
                 size_t mid_size, ar_error *err)
{
    return ar_smtp_send_alt(s, to, subject, body_text, NULL, message_id_out, mid_size, err);
}

int ar_smtp_send_alt(ar_smtp *s, const char *to, const char *subject, const char *body_text, const char *body_html,
                     char *message_id_out, size_t mid_size, ar_error *err)
{
    s->last.reply_code = 0;
    s->last.temporary = 0;
    s->last_reply[0] = '\0';
    if (message_id_out && mid_size < AR_SMTP_MESSAGE_ID_MAX)
        return ar_error_set(err, AR_ERR_INTERNAL, "message id buffer too small"), -1;
    unsigned char rnd[16];
    char rnd_hex[2 * sizeof rnd + 1];
    randombytes_buf(rnd, sizeof rnd);
    sodium_bin2hex(rnd_hex, sizeof rnd_hex, rnd, sizeof rnd);
    char message_id[AR_SMTP_MESSAGE_ID_MAX];
    snprintf(message_id, sizeof message_id, "<%s.%lld@%.80s>", rnd_hex, (long long)time(NULL), s->mid_domain);

    char boundary[64];
    randombytes_buf(rnd, sizeof rnd);
    sodium_bin2hex(rnd_hex, sizeof rnd_hex, rnd, sizeof rnd);
    snprintf(boundary, sizeof boundary, "=_ar_%s", rnd_hex);
    char *msg = ar_smtp_format_message_alt(s->from_header, to, subject, body_text, body_html, message_id, boundary,
                                           time(NULL), err);
    if (!msg) return -1;

    char rcpt_addr[300];
    snprintf(rcpt_addr, sizeof rcpt_addr, "<%s>", to);
    struct curl_slist *rcpt = curl_slist_append(NULL, rcpt_addr);
    upload up = {msg, strlen(msg), 0};
    char errbuf[CURL_ERROR_SIZE] = "";
    CURL *c = s->curl;
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(c, CURLOPT_READDATA, &up);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)up.len);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, NULL);
    curl_easy_setopt(c, CURLOPT_READDATA, NULL);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(rcpt);
    ar_free(msg);

    if (rc == CURLE_OK) {
        s->last.reply_code = (int)code;
        s->last.temporary = -1;
        if (message_id_out) snprintf(message_id_out, mid_size, "%s", message_id);
        return 0;
    }
    int reply = code >= 400 && code < 600 ? (int)code : 0;
    int temporary = reply == 0 || reply < 500 || rc == CURLE_LOGIN_DENIED;
    s->last.reply_code = reply;
    s->last.temporary = temporary;
    const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    if (reply && s->last_reply[0])
        ar_error_set(err, AR_ERR_UNAVAILABLE, "smtp %d %s: %s (server: %s)", reply,
                     temporary ? "temporary" : "permanent", detail, s->last_reply);
    else
        ar_error_set(err, AR_ERR_UNAVAILABLE, "smtp %d %s: %s", reply, temporary ? "temporary" : "permanent",
                     detail);
    return -1;
}
