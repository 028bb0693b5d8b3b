/* worklog.h — the worklog domain service (SPEC §3): entries (create, read, full and partial update, soft delete,
 * restore within 30 days), the filtered list with keyset pagination and ranked full-text search, tags with
 * counts, a day-count query for the heat-map, and the tenant's clients and projects.
 *
 * Conventions shared by every function here:
 *  - ctx is the caller (ar_ctx from the request); every query runs through ar_ctx_tx, so PostgreSQL's
 *    row-level security applies on top of the explicit tenant checks. Private entries are visible to their
 *    author only; team entries to every member of the tenant.
 *  - JSON in and out uses the original's field names. An entry object has:
 *      id, occurred_on ("YYYY-MM-DD"), title, content, outcome, impact, next_steps, effort_minutes (int|null),
 *      hours (number|null, effort_minutes / 60 rounded to 2 decimals), work_type, status, tags ([string]),
 *      client (id|null), client_name (string|null), project (id|null), project_name (string|null), visibility,
 *      impact_score (1..10|null), impact_score_source ("user"|"ai"|null), source, import_key (string|null),
 *      author (user id|null), author_username (string|null), created_at, updated_at, deleted_at (null unless
 *      deleted), attachment_count.
 *    attachment_count is the column worklog_entries.attachment_count (0006_worklog.sql), kept up to date by the
 *    evidence schema (0007_attachments.sql) in the transaction that adds or removes an attachment row, so lists
 *    never count attachments per row.
 *    Timestamps are UTC "YYYY-MM-DDTHH:MM:SSZ".
 *  - Input objects may come from JSON bodies or from HTML forms (json_t object of strings): numbers are accepted
 *    as JSON integers or decimal strings, tags as a JSON array of strings or one comma-separated string, client
 *    and project as an id, a numeric string, "" or null (= none).
 *  - Errors: AR_ERR_VALIDATION with per-field messages in err->fields (field names as above); AR_ERR_NOT_FOUND
 *    for an entry/client/project that does not exist, belongs to another tenant or is another member's private
 *    entry (never a different answer that would leak existence); AR_ERR_FORBIDDEN when the caller may see but
 *    not change something (read_only role; another member's team entry without admin rights); a client or
 *    project of another tenant named inside an entry/project body is a field error (400), never a 404.
 *  - Functions returning json_t* return a new reference (caller json_decref()s) or NULL with err set.
 *
 * Who may write: roles member and above. An entry may be changed, deleted and restored by its author, and a
 * team entry also by the tenant's admins and owner. Clients and projects: members and above. */
#ifndef AFTERRESUME_DOMAIN_WORKLOG_H
#define AFTERRESUME_DOMAIN_WORKLOG_H
#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>

#include "afterresume/core/buf.h"
#include "afterresume/core/error.h"
#include "afterresume/domain/context.h"

/* Limits (the database enforces the same bounds). Lengths are in characters (code points), not bytes. */
#define AR_WORKLOG_TITLE_MAX 240
#define AR_WORKLOG_CONTENT_MAX 102400     /* content: required, 1..102400 characters */
#define AR_WORKLOG_TEXT_MAX 20000         /* outcome, impact, next_steps */
#define AR_WORKLOG_EFFORT_MAX 100000      /* effort_minutes 0..100000 */
#define AR_WORKLOG_IMPORT_KEY_MAX 200
#define AR_TAGS_MAX 20                    /* tags per entry */
#define AR_TAG_MAX_CHARS 50               /* characters per tag */
#define AR_WORKLOG_LIST_DEFAULT 20        /* list page size when limit is 0 */
#define AR_WORKLOG_LIST_MAX 100           /* largest page */
#define AR_WORKLOG_RESTORE_DAYS 30        /* a deleted entry can be restored this long */
#define AR_WORKLOG_CURSOR_MAX 128         /* an encoded cursor is shorter than this (NUL included) */

/* ---------------------------------------------------------------------------------------------------------
 * Tags */

/* Normalise tags: each is trimmed, lower-cased (ASCII and the Latin-1/Latin Extended-A/Greek/Cyrillic letters
 * that have a simple one-to-one lower case; other characters are kept as they are), internal runs of white
 * space collapse to one space; empty tags are dropped; duplicates (after normalising) are dropped keeping the
 * first occurrence's position. `in` is a JSON array of strings, or a JSON string holding comma-separated tags,
 * or NULL/null (= no tags); a comma always separates tags, inside array elements too (so tags never contain
 * one and CSV columns stay unambiguous). Errors (field "tags", AR_ERR_VALIDATION): a non-string element, invalid UTF-8 or
 * control characters, a tag longer than AR_TAG_MAX_CHARS characters, more than AR_TAGS_MAX distinct tags.
 * Returns a new JSON array of strings (possibly empty) or NULL with err. Pure: no database. */
json_t *ar_tags_normalise(const json_t *in, ar_error *err);

/* Normalise one tag: writes it into out (size >= 4 * AR_TAG_MAX_CHARS + 1
 * is always enough). Returns its length in characters (0 = empty after trimming), or -1 when the input is
 * invalid UTF-8, contains control characters or is longer than AR_TAG_MAX_CHARS characters after normalising.
 * Used for the `tag` list filter as well. */
int ar_tag_normalise_one(const char *in, size_t len, char *out, size_t out_size);

/* Tags used by the entries the caller can see (not deleted), with counts, most used first then by name:
 * [{"name": "...", "count": N}]. prefix (NULL/"" = all) filters by normalised prefix (for suggestions);
 * limit 1..500 (0 = 100). */
json_t *ar_tags_list(const ar_ctx *ctx, const char *prefix, int limit, ar_error *err);

/* ---------------------------------------------------------------------------------------------------------
 * Entries: validation (pure) and writing */

/* How ar_worklog_validate treats the input. */
enum {
    AR_WORKLOG_PARTIAL = 1 << 0, /* PATCH: only fields present are checked and returned; none is required */
    AR_WORKLOG_IMPORT = 1 << 1,  /* import rows: created_at / updated_at ("YYYY-MM-DDTHH:MM:SSZ" or a date)
                                    are kept when given; source defaults to "import"; client_name /
                                    project_name are accepted instead of ids (ar_worklog_insert_in_tx then
                                    finds the tenant's client/project by name, creating it when missing) */
};

/* Check and normalise an entry body without touching the database. Known fields (see the header comment;
 * id, author, created_at [unless IMPORT], updated_at [unless IMPORT], deleted_at, attachment_count,
 * client_name/project_name [unless IMPORT] and hours-when-effort_minutes-is-given are ignored) are checked:
 *   occurred_on  required (not PARTIAL) valid date 1900-01-01..2999-12-31   ("Enter a valid date.")
 *   title        ≤240 characters
 *   content      required, 1..102400 characters ("This field is required.")
 *   outcome, impact, next_steps ≤20000 characters
 *   effort_minutes 0..100000 (or hours ≥0, converted to minutes, when effort_minutes is absent)
 *   work_type    delivery|planning|incident|support|learning|other (default delivery)
 *   status       draft|final|archived (default draft)
 *   tags         see ar_tags_normalise
 *   client, project  positive ids or null
 *   visibility   private|team (default private)
 *   impact_score 1..10 or null; impact_score_source user|ai (defaults to "user" when a score is given;
 *                forced to null when the score is null)
 *   source       manual|import|api|email (default manual; "import" with AR_WORKLOG_IMPORT)
 *   import_key   1..200 characters or null
 * Every text must be valid UTF-8 without NUL bytes. Returns a new normalised object holding exactly the
 * (present, for PARTIAL) writable fields with their canonical types and defaults filled in (not PARTIAL), or
 * NULL with err (AR_ERR_VALIDATION, every bad field listed; AR_ERR_INVALID_JSON when `in` is not an object). */
json_t *ar_worklog_validate(const json_t *in, unsigned flags, ar_error *err);

/* Insert one entry inside the caller's open transaction (c from an ar_ctx_tx callback whose ctx is `ctx`):
 * `entry` must be the output of ar_worklog_validate (flags 0 or AR_WORKLOG_IMPORT, never PARTIAL). The author
 * is ctx->user_id and the tenant ctx->tenant_id. Checks in the database: client and project belong to the
 * tenant ("Select a valid client." / "Select a valid project."), the project agrees with the client
 * ("Project does not belong to selected client."; a missing client is filled in from the project). With
 * AR_WORKLOG_IMPORT and skip_existing != 0, an entry whose import_key already exists in the tenant is skipped
 * (returns 1, *id_out = the existing entry's id); without skip_existing that is AR_ERR_CONFLICT with a field
 * error on import_key. Writes the "worklog.created" audit event. Returns 0 (inserted, *id_out = new id),
 * 1 (skipped), or -1 with err; after -1 with AR_ERR_VALIDATION the transaction is still usable (the checks run
 * before the INSERT), after other errors it is aborted. Does not check the caller's role (callers do:
 * ar_worklog_can_write). */
int ar_worklog_insert_in_tx(PGconn *c, const ar_ctx *ctx, const json_t *entry, unsigned flags, int skip_existing,
                            long long *id_out, ar_error *err);

/* 1 if ctx's role lets it create entries, clients and projects (member and above), else 0. */
int ar_worklog_can_write(const ar_ctx *ctx);

/* Create an entry from a request body (validate + insert in one transaction + audit). Returns the full entry
 * (as ar_worklog_get). AR_ERR_FORBIDDEN for the read_only role. */
json_t *ar_worklog_create(const ar_ctx *ctx, const json_t *body, ar_error *err);

/* The full entry (not deleted), or AR_ERR_NOT_FOUND. With include_deleted != 0 a soft-deleted entry is
 * returned too (deleted_at set), e.g. for the undo banner. */
json_t *ar_worklog_get(const ar_ctx *ctx, long long id, int include_deleted, ar_error *err);

/* Update an entry: partial = 0 replaces every writable field (PUT: absent optional fields get their
 * defaults, occurred_on and content are required), partial = 1 changes only the fields present (PATCH).
 * Same checks as create (the client/project agreement is checked on the resulting row). Writes
 * "worklog.updated" with the names of the changed fields. Returns the full entry after the change. */
json_t *ar_worklog_update(const ar_ctx *ctx, long long id, const json_t *body, int partial, ar_error *err);

/* Soft-delete an entry (deleted_at = now(); "worklog.deleted"). 0 or -1 with err (AR_ERR_NOT_FOUND when
 * missing or already deleted). */
int ar_worklog_delete(const ar_ctx *ctx, long long id, ar_error *err);

/* Restore an entry deleted less than AR_WORKLOG_RESTORE_DAYS days ago ("worklog.restored"). Returns the full
 * entry. AR_ERR_NOT_FOUND when it is not deleted, gone, or deleted too long ago. */
json_t *ar_worklog_restore(const ar_ctx *ctx, long long id, ar_error *err);

/* ---------------------------------------------------------------------------------------------------------
 * Entries: list, search, heat-map */

/* The list's filters. Zero/NULL fields mean "no filter". */
typedef struct ar_worklog_filter {
    const char *start_date;   /* occurred_on >= this date (YYYY-MM-DD) */
    const char *end_date;     /* occurred_on <= this date (inclusive) */
    const char *tag;          /* entries carrying this tag (normalised like ar_tag_normalise_one) */
    long long project_id;
    long long client_id;
    const char *work_type;    /* one of the work types */
    const char *status;       /* draft|final|archived */
    const char *search;       /* full-text query (websearch syntax: words, "phrases", -not, or); ≤200 chars */
    long long author_id;      /* only this author's entries */
    const char *cursor;       /* the previous page's "next" (opaque), NULL/"" = first page */
    int limit;                /* 1..AR_WORKLOG_LIST_MAX; 0 = AR_WORKLOG_LIST_DEFAULT */
    int deleted;              /* 1 = only soft-deleted entries that can still be restored (the trash), same
                                 order as the list */
} ar_worklog_filter;

/* One page of entries the caller can see:
 *   {"results": [item...], "next": "<cursor>"|null}
 * Without search: ordered by occurred_on desc, id desc; items are list items — the full entry without
 * content beyond its first 500 characters ("content" is cut on a character boundary and "content_truncated":
 * true is added when it was cut). With search: ordered by title hit first (the query matches the title), then
 * ts_rank_cd, then occurred_on desc, id desc; every item also has "rank" (number) and "snippet": a ts_headline
 * extract of the content that is HTML-escaped, with the matched words wrapped in <mark>...</mark> (the only
 * markup, always balanced), safe to insert into a page as HTML. The cursor is keyset (it encodes the last
 * row's sort key, never an offset), so entries inserted or deleted between pages never make another entry
 * repeat or disappear; it is only valid with the same filters and search (a cursor of the other kind is
 * AR_ERR_VALIDATION on field "cursor"). Bad filter values → AR_ERR_VALIDATION with fields named like the query
 * parameters (start_date, end_date, tag, project, client, work_type, status, search, cursor, limit). There is
 * no total count (it would cost a second scan of the tenant's entries on every page). */
json_t *ar_worklog_list(const ar_ctx *ctx, const ar_worklog_filter *f, ar_error *err);

/* The same page as JSON text appended to out (the API's hot path: no intermediate json_t). 0, or -1 with err
 * and out as it was. */
int ar_worklog_list_text(const ar_ctx *ctx, const ar_worklog_filter *f, ar_buf *out, ar_error *err);

/* Entries per day for a heat-map: the caller's own entries (not deleted) with occurred_on in the 12 months
 * ending on `end_date` (YYYY-MM-DD; NULL = today, UTC), i.e. from end_date - 1 year + 1 day to end_date:
 *   {"start": "YYYY-MM-DD", "end": "YYYY-MM-DD", "days": [{"date": "YYYY-MM-DD", "count": N}, ...]}
 * Only days with at least one entry are listed, in date order. With team != 0 the tenant's team entries of
 * every member are counted as well. */
json_t *ar_worklog_day_counts(const ar_ctx *ctx, const char *end_date, int team, ar_error *err);

/* Keyset cursor (exposed for tests and other pages). kind 'd' = date order, 's' = search order. */
typedef struct ar_worklog_cursor {
    char kind;                /* 'd' or 's' */
    char occurred_on[11];     /* YYYY-MM-DD */
    long long id;
    int title_hit;            /* 's' only: 0/1 */
    char rank[32];            /* 's' only: the rank as PostgreSQL printed it (float4 text, exact round trip) */
} ar_worklog_cursor;

/* Encode into out (size >= AR_WORKLOG_CURSOR_MAX): URL-safe base64 without padding of a versioned text.
 * Returns 0, or -1 when the cursor is malformed or out is too small. */
int ar_worklog_cursor_encode(const ar_worklog_cursor *cur, char *out, size_t out_size);
/* Decode and check (date shape, id > 0, rank a finite number). 0, or -1 for anything else. */
int ar_worklog_cursor_decode(const char *text, ar_worklog_cursor *out);

/* Escape text for HTML and turn the StartSel/StopSel sentinels (AR_WORKLOG_HL_START/AR_WORKLOG_HL_STOP, bytes
 * that never survive in stored text because validation refuses control characters) into <mark>/</mark>,
 * keeping the marks balanced. Appends to a new heap string (caller frees). Exposed for unit tests. */
#define AR_WORKLOG_HL_START "\x01"
#define AR_WORKLOG_HL_STOP "\x02"
char *ar_worklog_snippet_html(const char *headline);

/* ---------------------------------------------------------------------------------------------------------
 * Clients: {id, name, description, is_active, project_count, created_at, updated_at}
 * Body fields: name (required, 1..200 characters, unique per tenant ignoring case: "A client with this name
 * already exists."), description (≤5000), is_active (boolean or "true"/"false"/"on"/"1"/"0"; default true). */

/* The tenant's clients, active first then by name: {"results": [...]}. search (NULL = none) matches name or
 * description (case-insensitive substring); active: -1 all, 0 inactive only, 1 active only. */
json_t *ar_client_list(const ar_ctx *ctx, const char *search, int active, ar_error *err);
json_t *ar_client_create(const ar_ctx *ctx, const json_t *body, ar_error *err);
json_t *ar_client_get(const ar_ctx *ctx, long long id, ar_error *err);
/* partial = 0 (PUT: name required, others default) or 1 (PATCH). */
json_t *ar_client_update(const ar_ctx *ctx, long long id, const json_t *body, int partial, ar_error *err);
/* Delete a client: its projects and entries keep existing with client = null. */
int ar_client_delete(const ar_ctx *ctx, long long id, ar_error *err);

/* ---------------------------------------------------------------------------------------------------------
 * Projects: {id, client, client_name, name, description, is_active, role, start_date, end_date,
 * started_on, ended_on (the original's names for the same two dates), created_at, updated_at}
 * Body fields: name (required, 1..200, unique per tenant ignoring case), client (id of the tenant's client or
 * null; another tenant's → "Select a valid client."), description (≤5000), role (≤200), start_date /
 * end_date (also accepted as started_on / ended_on; YYYY-MM-DD or null; end before start → field end_date
 * "End date must be on or after the start date."), is_active. */

/* The tenant's projects, active first then by name: {"results": [...]}. client_id 0 = all. */
json_t *ar_project_list(const ar_ctx *ctx, long long client_id, const char *search, int active, ar_error *err);
json_t *ar_project_create(const ar_ctx *ctx, const json_t *body, ar_error *err);
json_t *ar_project_get(const ar_ctx *ctx, long long id, ar_error *err);
json_t *ar_project_update(const ar_ctx *ctx, long long id, const json_t *body, int partial, ar_error *err);
/* Delete a project: entries keep existing with project = null. */
int ar_project_delete(const ar_ctx *ctx, long long id, ar_error *err);

/* Inside an open transaction (import): the id of the tenant's client/project with this name (case-insensitive),
 * created (active, empty description) when missing; a project is created under client_id (0 = none).
 * 0 with *id_out, or -1 with err (field error on "client_name"/"project_name" for a bad name). */
int ar_client_find_or_create_in_tx(PGconn *c, const ar_ctx *ctx, const char *name, long long *id_out, ar_error *err);
int ar_project_find_or_create_in_tx(PGconn *c, const ar_ctx *ctx, const char *name, long long client_id,
                                    long long *id_out, ar_error *err);

#endif
