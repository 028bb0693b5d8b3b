/* sniff.c — content sniffing for uploads (storage/sniff.h): magic bytes, a streaming UTF-8 check for text, and a
 * streaming scan of zip local/central headers for the entry names that make a zip a docx or an xlsx. */
#include "afterresume/storage/sniff.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#define ZIP_NAME_MAX 300 /* longer entry names are never the ones we look for */

void ar_sniff_init(ar_sniffer *s)
{
    memset(s, 0, sizeof *s);
}

static void utf8_feed(ar_sniffer *s, const unsigned char *p, size_t len)
{
    for (size_t i = 0; i < len && !s->utf8_bad; i++) {
        unsigned char b = p[i];
        if (s->need > 0) {
            if (b < s->lo || b > s->hi) {
                s->utf8_bad = 1;
                break;
            }
            s->lo = 0x80;
            s->hi = 0xBF;
            s->need--;
            continue;
        }
        if (b == 0) {
            s->has_nul = 1;
        } else if (b < 0x80) {
            /* ASCII */
        } else if (b >= 0xC2 && b <= 0xDF) {
            s->need = 1, s->lo = 0x80, s->hi = 0xBF;
        } else if (b == 0xE0) {
            s->need = 2, s->lo = 0xA0, s->hi = 0xBF; /* no overlong forms */
        } else if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) {
            s->need = 2, s->lo = 0x80, s->hi = 0xBF;
        } else if (b == 0xED) {
            s->need = 2, s->lo = 0x80, s->hi = 0x9F; /* no surrogates */
        } else if (b == 0xF0) {
            s->need = 3, s->lo = 0x90, s->hi = 0xBF;
        } else if (b >= 0xF1 && b <= 0xF3) {
            s->need = 3, s->lo = 0x80, s->hi = 0xBF;
        } else if (b == 0xF4) {
            s->need = 3, s->lo = 0x80, s->hi = 0x8F; /* nothing above U+10FFFF */
        } else {
            s->utf8_bad = 1;
        }
    }
}

static unsigned le16(const unsigned char *p)
{
    return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static void zip_name(ar_sniffer *s, const unsigned char *name, size_t len)
{
    static const char ct[] = "[Content_Types].xml";
    if (len == sizeof ct - 1 && memcmp(name, ct, len) == 0) s->zip_content_types = 1;
    if (len > 5 && memcmp(name, "word/", 5) == 0) s->zip_word = 1;
    if (len > 3 && memcmp(name, "xl/", 3) == 0) s->zip_xl = 1;
}

/* Scan buf[0..n) for headers starting before limit: "PK\3\4" (name length at +26, name at +30) and "PK\1\2"
 * (length at +28, name at +46). Returns the offset of a header cut off by the end of buf (to be scanned again
 * once more bytes are in), or NO_RESUME. */
#define NO_RESUME ((size_t)-1)
static size_t zip_scan_buf(ar_sniffer *s, const unsigned char *buf, size_t n, size_t limit)
{
    for (size_t i = 0; i < limit && i < n; i++) {
        const unsigned char *p = buf + i;
        if (p[0] != 'P') continue;
        if (i + 4 > n) return i;
        if (p[1] != 'K' || !((p[2] == 3 && p[3] == 4) || (p[2] == 1 && p[3] == 2))) continue;
        size_t header = p[2] == 3 ? 30 : 46, len_at = p[2] == 3 ? 26 : 28;
        if (i + header > n) return i;
        size_t name_len = le16(p + len_at);
        if (name_len > ZIP_NAME_MAX) continue;
        if (i + header + name_len > n) return i;
        zip_name(s, p + header, name_len);
    }
    return NO_RESUME;
}

static void zip_feed(ar_sniffer *s, const unsigned char *p, size_t len)
{
    /* Headers that began in the carried-over tail: scan the tail joined with the start of this chunk. */
    if (s->carry_len) {
        unsigned char joined[sizeof s->carry + 46 + ZIP_NAME_MAX];
        size_t take = len < 46 + ZIP_NAME_MAX ? len : 46 + ZIP_NAME_MAX;
        memcpy(joined, s->carry, s->carry_len);
        memcpy(joined + s->carry_len, p, take);
        size_t n = s->carry_len + take;
        size_t resume = zip_scan_buf(s, joined, n, s->carry_len);
        if (resume != NO_RESUME) { /* still cut off: then this (short) chunk is all in joined */
            s->carry_len = n - resume;
            memmove(s->carry, joined + resume, s->carry_len);
            return;
        }
        s->carry_len = 0;
    }
    size_t resume = zip_scan_buf(s, p, len, len);
    if (resume == NO_RESUME) resume = len; /* nothing cut off */
    s->carry_len = len - resume;
    memcpy(s->carry, p + resume, s->carry_len);
}

void ar_sniff_feed(ar_sniffer *s, const void *data, size_t len)
{
    const unsigned char *p = data;
    if (s->head_len < sizeof s->head) {
        size_t take = sizeof s->head - s->head_len;
        if (take > len) take = len;
        memcpy(s->head + s->head_len, p, take);
        s->head_len += take;
    }
    s->total += len;
    utf8_feed(s, p, len);
    zip_feed(s, p, len);
}

static int head_is(const ar_sniffer *s, size_t off, const void *magic, size_t len)
{
    return s->head_len >= off + len && memcmp(s->head + off, magic, len) == 0;
}

ar_filetype ar_sniff_finish(const ar_sniffer *s)
{
    if (s->total == 0) return AR_FILETYPE_UNKNOWN;
    if (head_is(s, 0, "%PDF-", 5)) return AR_FILETYPE_PDF;
    if (head_is(s, 0, "\x89PNG\r\n\x1a\n", 8)) return AR_FILETYPE_PNG;
    if (head_is(s, 0, "\xff\xd8\xff", 3)) return AR_FILETYPE_JPEG;
    if (head_is(s, 0, "GIF87a", 6) || head_is(s, 0, "GIF89a", 6)) return AR_FILETYPE_GIF;
    if (head_is(s, 0, "RIFF", 4) && head_is(s, 8, "WEBP", 4)) return AR_FILETYPE_WEBP;
    if (head_is(s, 0, "PK\x03\x04", 4) || head_is(s, 0, "PK\x05\x06", 4)) {
        if (s->zip_content_types && s->zip_word && !s->zip_xl) return AR_FILETYPE_DOCX;
        if (s->zip_content_types && s->zip_xl && !s->zip_word) return AR_FILETYPE_XLSX;
        return AR_FILETYPE_ZIP;
    }
    if (!s->utf8_bad && !s->has_nul && s->need == 0) return AR_FILETYPE_TEXT;
    return AR_FILETYPE_UNKNOWN;
}

ar_filetype ar_sniff_buffer(const void *data, size_t len)
{
    ar_sniffer s;
    ar_sniff_init(&s);
    ar_sniff_feed(&s, data, len);
    return ar_sniff_finish(&s);
}

static const struct {
    const char *ext;
    ar_filetype type;
    const char *mime;
} extensions[] = {
    {"pdf", AR_FILETYPE_PDF, "application/pdf"},
    {"png", AR_FILETYPE_PNG, "image/png"},
    {"jpg", AR_FILETYPE_JPEG, "image/jpeg"},
    {"jpeg", AR_FILETYPE_JPEG, "image/jpeg"},
    {"gif", AR_FILETYPE_GIF, "image/gif"},
    {"webp", AR_FILETYPE_WEBP, "image/webp"},
    {"txt", AR_FILETYPE_TEXT, "text/plain; charset=utf-8"},
    {"md", AR_FILETYPE_TEXT, "text/markdown; charset=utf-8"},
    {"csv", AR_FILETYPE_TEXT, "text/csv; charset=utf-8"},
    {"docx", AR_FILETYPE_DOCX, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    {"xlsx", AR_FILETYPE_XLSX, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    {"zip", AR_FILETYPE_ZIP, "application/zip"},
};
#define NEXTENSIONS (sizeof extensions / sizeof extensions[0])

static int extension_index(const char *filename)
{
    const char *dot = filename ? strrchr(filename, '.') : NULL;
    if (!dot || dot == filename) return -1; /* ".pdf" alone is a hidden name, not an extension */
    for (size_t i = 0; i < NEXTENSIONS; i++)
        if (strcasecmp(dot + 1, extensions[i].ext) == 0) return (int)i;
    return -1;
}

ar_filetype ar_filetype_from_filename(const char *filename, int allow_zip)
{
    int i = extension_index(filename);
    if (i < 0) return AR_FILETYPE_UNKNOWN;
    if (extensions[i].type == AR_FILETYPE_ZIP && !allow_zip) return AR_FILETYPE_UNKNOWN;
    return extensions[i].type;
}

int ar_filetype_agrees(ar_filetype expected, ar_filetype sniffed)
{
    if (expected == AR_FILETYPE_UNKNOWN || sniffed == AR_FILETYPE_UNKNOWN) return 0;
    if (expected == AR_FILETYPE_ZIP)
        return sniffed == AR_FILETYPE_ZIP || sniffed == AR_FILETYPE_DOCX || sniffed == AR_FILETYPE_XLSX;
    return expected == sniffed;
}

const char *ar_filetype_mime(ar_filetype t, const char *filename)
{
    if (t == AR_FILETYPE_TEXT) {
        int i = extension_index(filename);
        return i >= 0 && extensions[i].type == AR_FILETYPE_TEXT ? extensions[i].mime : "text/plain; charset=utf-8";
    }
    for (size_t i = 0; i < NEXTENSIONS; i++)
        if (extensions[i].type == t) return extensions[i].mime;
    return "application/octet-stream";
}

const char *ar_filetype_name(ar_filetype t)
{
    switch (t) {
    case AR_FILETYPE_PDF: return "pdf";
    case AR_FILETYPE_PNG: return "png";
    case AR_FILETYPE_JPEG: return "jpeg";
    case AR_FILETYPE_GIF: return "gif";
    case AR_FILETYPE_WEBP: return "webp";
    case AR_FILETYPE_TEXT: return "text";
    case AR_FILETYPE_ZIP: return "zip";
    case AR_FILETYPE_DOCX: return "docx";
    case AR_FILETYPE_XLSX: return "xlsx";
    default: return "unknown";
    }
}

int ar_filetype_is_image(ar_filetype t)
{
    return t == AR_FILETYPE_PNG || t == AR_FILETYPE_JPEG || t == AR_FILETYPE_GIF || t == AR_FILETYPE_WEBP;
}
