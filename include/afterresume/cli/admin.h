/* admin.h — `afterresumed admin ...`: operator commands run from a shell (create a user, mint an invite
 * passkey, reset a password, disable a user, first-start bootstrap). They act as platform staff with a
 * system context (request id "cli") and every action is audited like the same action on the web. */
#ifndef AFTERRESUME_CLI_ADMIN_H
#define AFTERRESUME_CLI_ADMIN_H

/* argv[0] = "admin", argv[1] = the command. Expects the configuration to be valid, the database configured
 * and ready (ar_db_configure + ar_db_wait_ready) and ar_domain_register_all() done. Reads AR_PUBLIC_URL
 * through the configuration (environment, .env, AR_ENV_FILE or var/afterresumed.env) for bootstrap links.
 * Returns the process exit status: 0 done, 1 failed (one line on stderr), 2 usage error. */
int ar_cli_admin(int argc, char **argv);

/* The same with the public base URL given (e.g. cfg.public_url); NULL = read it from the configuration. */
int ar_cli_admin_with_url(const char *public_url, int argc, char **argv);

#endif
