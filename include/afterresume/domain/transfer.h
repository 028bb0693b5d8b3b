/* transfer.h — worklog import and export (SPEC §3 "Import / export").
 *
 * Export: the caller's own entries (not deleted) in the current tenant, optionally within a date range, as
 *  - JSON  {"format": "afterresume.worklog", "format_version": 1, "exported_at", "start_date", "end_date",
 *           "clients": [{name, description, is_active}], "projects": [{name, client_name, description, role,
 *           start_date, end_date, is_active}], "entries": [{id, occurred_on, title, content, outcome, impact,
 *           next_steps, effort_minutes, work_type, status, tags, client_name, project_name, visibility,
 *           impact_score, impact_score_source, source, import_key, created_at, updated_at}]}
 *           oldest first; import_key is "afterresume:<tenant id>:<entry id>" for entries that have none;
 *  - CSV   RFC 4180 with a header row (AR_TRANSFER_CSV_COLUMNS), one entry per row, tags joined by ";",
 *          cells that a spreadsheet would run as formulas prefixed with a single quote (undone on import);
 *  - Markdown  a brag document grouped by month, newest first.
 * The output is produced piece by piece (ar_export_next) from keyset-paginated batches of
 * AR_TRANSFER_EXPORT_BATCH rows, each read in its own short transaction: the whole worklog is never in memory.
 *
 * Import: the JSON above (clients and projects are created by name when missing; existing ones are kept as
 * they are), or CSV with a header row whose columns are matched to entry fields by name (case-insensitive,
 * see ar_transfer_csv_field) or by an explicit mapping {"column": "field" | ""(ignore)}. Every row is checked
 * with the worklog service's validation (ar_worklog_validate, AR_WORKLOG_IMPORT) before anything is written;
 * then everything is written in one transaction, or nothing. Entries carry source "import"; an entry whose
 * import_key already exists in the tenant is skipped, so re-importing a file never duplicates; rows without an
 * import_key get "sha256:<hex>" of their date, title and content. */
#ifndef AFTERRESUME_DOMAIN_TRANSFER_H
#define AFTERRESUME_DOMAIN_TRANSFER_H
#include <jansson.h>
#include <stddef.h>

#include "afterresume/core/buf.h"
#include "afterresume/core/error.h"
#include "afterresume/domain/context.h"

#define AR_TRANSFER_FORMAT_NAME "afterresume.worklog"
#define AR_TRANSFER_FORMAT_VERSION 1
#define AR_TRANSFER_EXPORT_BATCH 200       /* rows read per query while exporting */
#define AR_TRANSFER_IMPORT_MAX_ROWS 10000  /* entries in one import */
#define AR_TRANSFER_IMPORT_MAX_BYTES ((size_t)8 << 20) /* one import file (the upload, multipart included) */
#define AR_TRANSFER_IMPORT_MAX_NAMED 2000  /* clients, and projects, listed in one JSON import */
#define AR_TRANSFER_CSV_MAX_COLUMNS 64
#define AR_TRANSFER_MAX_ROW_ERRORS 500     /* row errors listed in one answer (the total is counted) */

/* The CSV export's header, in order. */
#define AR_TRANSFER_CSV_COLUMNS                                                                                  \
    "occurred_on", "title", "content", "outcome", "impact", "next_steps", "effort_minutes", "work_type",         \
        "status", "tags", "client", "project", "visibility", "impact_score", "impact_score_source", "source",   \
        "import_key", "created_at", "updated_at"

typedef enum ar_export_format { AR_EXPORT_JSON = 1, AR_EXPORT_CSV, AR_EXPORT_MARKDOWN } ar_export_format;

/* "json" | "csv" | "md" (also "markdown") → format; 0 when unknown. */
ar_export_format ar_export_format_parse(const char *s);
/* "application/json; charset=utf-8", "text/csv; charset=utf-8; header=present", "text/markdown; charset=utf-8" */
const char *ar_export_content_type(ar_export_format f);
/* "afterresume-worklog-YYYY-MM-DD.<json|csv|md>" with today's UTC date, into out. */
void ar_export_filename(ar_export_format f, char *out, size_t out_size);

typedef struct ar_export ar_export;

/* Check the options (start_date/end_date: NULL/"" or YYYY-MM-DD, start ≤ end; field errors named like the
 * query parameters), read the first batch (so an unreachable database is an error here, before any byte is
 * sent) and write the "worklog.exported" audit event. NULL with err on failure. ctx is copied. */
ar_export *ar_export_begin(const ar_ctx *ctx, ar_export_format f, const char *start_date, const char *end_date,
                           ar_error *err);
/* Append the next piece of output to out: 1 = more follows, 0 = that was the end, -1 = error (err set; the
 * output so far is incomplete). */
int ar_export_next(ar_export *x, ar_buf *out, ar_error *err);
/* Entries written so far. */
long long ar_export_entries(const ar_export *x);
void ar_export_free(ar_export *x);

/* The whole export into out (tests, small exports). 0 or -1 with err. */
int ar_export_all(const ar_ctx *ctx, ar_export_format f, const char *start_date, const char *end_date, ar_buf *out,
                  ar_error *err);

/* ---- import ---------------------------------------------------------------------------------------------- */

typedef enum ar_import_format { AR_IMPORT_DETECT = 0, AR_IMPORT_JSON, AR_IMPORT_CSV } ar_import_format;

typedef struct ar_import_options {
    ar_import_format format;  /* DETECT: JSON when the first non-blank byte (after a BOM) is { or [ */
    const json_t *mapping;    /* CSV only, may be NULL: {"column name": "field" or "" to ignore} */
    int dry_run;              /* check and count everything, then roll back */
} ar_import_options;

typedef struct ar_import_result {
    const char *format;       /* "json" or "csv" */
    long long rows;           /* entries in the file */
    long long created;
    long long skipped;        /* import_key already present (or repeated in the file) */
    long long error_count;    /* rows with errors (all of them, even past the listed ones) */
    json_t *errors;           /* [{row, field, message}] (at most AR_TRANSFER_MAX_ROW_ERRORS), rows numbered as
                                 in the file: CSV records with the header as row 1, JSON entries from 1 */
    json_t *columns;          /* CSV: [{column, field|null}] in file order */
    json_t *unknown_columns;  /* CSV: header names matched to no field (ignored) */
    json_t *created_clients;  /* names created by this import */
    json_t *created_projects;
} ar_import_result;

/* Import data (the whole file). Returns 0 (imported; or checked when dry_run) or -1 with err:
 *   AR_ERR_FORBIDDEN      the caller may not write entries (read_only)
 *   AR_ERR_BAD_REQUEST / AR_ERR_INVALID_JSON / AR_ERR_VALIDATION  the file as a whole is unusable (not JSON,
 *                         CSV syntax error with its row/column, unknown format version, missing required
 *                         columns, a bad mapping, too many rows) — err->message says why, err->fields may name
 *                         "file" or "mapping"
 *   AR_ERR_VALIDATION with res->errors non-empty: some rows are wrong; nothing was written
 *   others                the database.
 * res is filled as far as it got in every case; free it with ar_import_result_free. The "worklog.imported" audit
 * event is written with the counts (success or failure). */
int ar_import_worklog(const ar_ctx *ctx, const char *data, size_t len, const ar_import_options *o,
                      ar_import_result *res, ar_error *err);
void ar_import_result_free(ar_import_result *res);
/* {"format", "rows", "created", "skipped", "dry_run", "unknown_columns", "columns", "created_clients",
 * "created_projects"} (new reference). */
json_t *ar_import_result_json(const ar_import_result *res, int dry_run);

/* The entry field a CSV header name stands for ("Date" → "occurred_on", "Next steps" → "next_steps", ...), ""
 * for columns recognised and ignored (id, author...), or NULL when unknown. Case-insensitive; spaces and
 * hyphens count as underscores. */
const char *ar_transfer_csv_field(const char *header);

/* For the import page's mapping step: {"columns": [{"index", "column", "field"|null}], "rows": [[cells]...]
 * (at most sample_rows data rows), "row_count": data rows in the file, "fields": [known field names]}.
 * NULL with err when the CSV cannot be read. */
json_t *ar_import_csv_preview(const char *data, size_t len, const json_t *mapping, int sample_rows, ar_error *err);

/* Statement registration (src/domain/registry.c). */
void ar_transfer_register(void);

#endif
