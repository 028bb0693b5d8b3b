/* catalog.c — the list of every job type the product runs. Adding a type is one file (defining a
 * `const ar_job_type ar_job_<name>` with its handler) plus one line in AR_JOB_CATALOG below. */
#include "afterresume/jobs/registry.h"

#define AR_JOB_CATALOG(X)      \
    X(ar_job_billing_expire_holds) X(ar_job_billing_verify) \
    X(ar_job_export_account) X(ar_job_cleanup_exports) \
    X(ar_job_noop)             \
    X(ar_job_email_send)       \
    X(ar_job_cleanup_sessions) \
    X(ar_job_cleanup_jobs)     \
    X(ar_job_report_generate)  \
    X(ar_job_entry_enhance)    \
    X(ar_job_skills_extract)

#define AR_JOB_DECLARE(name) extern const ar_job_type name;
AR_JOB_CATALOG(AR_JOB_DECLARE)

void ar_job_types_register_builtin(void)
{
#define AR_JOB_REGISTER(name) ar_job_types_register(&name, 1);
    AR_JOB_CATALOG(AR_JOB_REGISTER)
}
