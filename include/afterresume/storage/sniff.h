/* sniff.h — what an uploaded file really is, decided from its bytes while they stream past (never from the
 * client's Content-Type): magic bytes for pdf, png, jpeg, gif and webp; zip containers told apart by their entry
 * names ([Content_Types].xml plus word/... = docx, plus xl/... = xlsx, otherwise a plain zip); text = valid UTF-8
 * without NUL bytes. Also the extension allow-list and the MIME type stored for each kind. Pure code, no I/O. */
#ifndef AFTERRESUME_STORAGE_SNIFF_H
#define AFTERRESUME_STORAGE_SNIFF_H
#include <stddef.h>

typedef enum ar_filetype {
    AR_FILETYPE_UNKNOWN = 0, /* binary we do not accept, or an extension not on the list */
    AR_FILETYPE_PDF,
    AR_FILETYPE_PNG,
    AR_FILETYPE_JPEG,
    AR_FILETYPE_GIF,
    AR_FILETYPE_WEBP,
    AR_FILETYPE_TEXT,        /* .txt, .md, .csv */
    AR_FILETYPE_ZIP,
    AR_FILETYPE_DOCX,
    AR_FILETYPE_XLSX,
} ar_filetype;

/* Streaming sniffer: init, feed the bytes in chunks of any size, finish. No allocation beyond the struct. */
typedef struct ar_sniffer {
    unsigned char head[16];
    size_t head_len;
    unsigned long long total;
    /* UTF-8 validation across chunk boundaries */
    int utf8_bad, has_nul, need;
    unsigned char lo, hi;
    /* zip entry names: local and central directory headers found anywhere in the stream */
    unsigned char carry[512];
    size_t carry_len;
    int zip_content_types, zip_word, zip_xl;
} ar_sniffer;

void ar_sniff_init(ar_sniffer *s);
void ar_sniff_feed(ar_sniffer *s, const void *data, size_t len);
/* What the bytes are. An empty stream is AR_FILETYPE_UNKNOWN. */
ar_filetype ar_sniff_finish(const ar_sniffer *s);
/* One-shot convenience for a whole buffer. */
ar_filetype ar_sniff_buffer(const void *data, size_t len);

/* The type the filename's extension (case-insensitive) promises: pdf png jpg jpeg gif webp txt md csv docx xlsx,
 * and zip only when allow_zip. AR_FILETYPE_UNKNOWN for anything else (no extension included). */
ar_filetype ar_filetype_from_filename(const char *filename, int allow_zip);
/* Whether sniffed content may be stored under a name whose extension promised `expected` (.zip accepts any zip
 * container, docx/xlsx included; everything else must match exactly). */
int ar_filetype_agrees(ar_filetype expected, ar_filetype sniffed);
/* MIME type to store and serve: from the type (text types from the filename's extension: text/plain,
 * text/markdown, text/csv, each with "; charset=utf-8"). */
const char *ar_filetype_mime(ar_filetype t, const char *filename);
/* "pdf", "png", ... "unknown". */
const char *ar_filetype_name(ar_filetype t);
/* png, jpeg, gif, webp: the 10 MiB image limit applies; everything else is a document (50 MiB). */
int ar_filetype_is_image(ar_filetype t);

#endif
