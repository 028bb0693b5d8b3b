/* migrate.h — forward-only schema migrations: DIR/NNNN_name.sql files applied in numeric order, once each,
 * each in its own transaction, under a PostgreSQL advisory lock so that several processes may run
 * `afterresumed migrate` at the same time. Applied files are recorded with their SHA-256 in the table
 * schema_migrations; a file changed after it was applied is refused (write a new migration instead).
 * Migration files must not contain transaction control (BEGIN/COMMIT) or statements that cannot run
 * inside a transaction (CREATE INDEX CONCURRENTLY, VACUUM). Uses the configuration of ar_db_configure(). */
#ifndef AFTERRESUME_DB_MIGRATE_H
#define AFTERRESUME_DB_MIGRATE_H
#include <stdio.h>

#include "afterresume/core/error.h"

/* The advisory lock key held while migrating (an arbitrary fixed number: "ARmigr" in ASCII). */
#define AR_DB_MIGRATE_LOCK_KEY 0x41526d696772LL

/* Apply the pending migrations of dir. 0 on success (also when already up to date), or -1 with err set
 * (the message names the offending file). verbose: one line per applied migration on stdout. */
int ar_db_migrate(const char *dir, int verbose, ar_error *err);
/* The same, also storing in *applied how many migrations were applied (0 = already up to date). */
int ar_db_migrate_counting(const char *dir, int verbose, int *applied, ar_error *err);

/* Print one line per migration file of dir to out: "applied", "pending" or "changed" and the file name.
 * Returns the number of pending migrations, or -1 with err set. */
int ar_db_migration_status(const char *dir, FILE *out, ar_error *err);

#endif
