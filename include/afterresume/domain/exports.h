/* exports.h — whole-account exports (SPEC §3 "Import / export", issue #5 §8): the `export.account` job writes
 * everything the requesting user may see in the workspace as a ZIP (JSON files + the evidence files) to object
 * storage, reporting progress as it goes; the ZIP can be downloaded for 7 days by the user who asked for it or
 * a workspace admin; the `cleanup.exports` job deletes expired archives.
 *
 * The export job's result: {"object_key","size_bytes","sha256","expires_at","files","filename","counts"}
 * (+ "deleted_at" once cleanup removed the archive). No table of its own: the job row is the record.
 *
 * ZIP layout: manifest.json (format, version, counts, every file), account.json (user without secrets,
 * workspace, memberships, API token metadata), clients.json, projects.json, worklog_entries.json (including
 * entries in the trash), attachments.json (evidence metadata) and evidence/<entry>/<attachment>-<name>, and
 * <table>.json for each of the optional tables skills, skill_evidence, reports, share_links that exists at run
 * time (checked in information_schema; rows through the tables' own row-level security, secret-looking columns
 * dropped). */
#ifndef AFTERRESUME_DOMAIN_EXPORTS_H
#define AFTERRESUME_DOMAIN_EXPORTS_H
#include <jansson.h>

#include "afterresume/core/config.h"
#include "afterresume/core/error.h"
#include "afterresume/domain/context.h"
#include "afterresume/storage/objects.h"

#define AR_EXPORT_JOB_TYPE "export.account"
#define AR_EXPORT_TTL_DAYS 7

/* Start an account export for ctx's user and workspace (a user-initiated job: the tenant's job quota and
 * concurrency limit apply, AR_ERR_QUOTA_EXCEEDED with *retry_after_s). Asking again within the same minute
 * returns the same job (idempotent). Audited as "export.requested". 0 + *job_id, or -1 + err. */
int ar_export_start(const ar_ctx *ctx, long long *job_id, int *retry_after_s, ar_error *err);

/* What a download needs. reader is open on success; close it with ar_storage_reader_close. */
typedef struct ar_export_download {
    ar_storage_reader *reader;
    long long size;
    char filename[128];
    char sha256[65];
} ar_export_download;

/* Open an export for download: only a job of ctx's own workspace, by the user who started it or a workspace
 * admin/owner (others, other workspaces and other job types: AR_ERR_NOT_FOUND); not finished or not
 * succeeded: AR_ERR_CONFLICT. Returns 0 (d filled, reader open), 1 when the export expired or was deleted
 * (410 Gone; nothing opened), -1 + err. Successful and expired downloads are audit events
 * ("export.downloaded"). cfg: the configuration naming the object storage (NULL = load it like the daemon). */
int ar_export_open(const ar_ctx *ctx, const ar_config *cfg, long long job_id, ar_export_download *d, ar_error *err);

/* For a page: whether a job (JSON as from ar_job_get) is a downloadable export right now; fills expires_at
 * (borrowed from the job) when it is. */
int ar_export_downloadable(const json_t *job, const char **expires_at);

/* The object storage exports use (one instance per process, opened on first use from cfg, or from the
 * configuration loaded like the daemon's when cfg is NULL). NULL + err on a bad configuration. */
ar_storage *ar_exports_storage(const ar_config *cfg, ar_error *err);

#endif
