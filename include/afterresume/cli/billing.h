/* billing.h — `afterresumed billing ...`: operator commands for the reserve-balance ledger. */
#ifndef AFTERRESUME_CLI_BILLING_H
#define AFTERRESUME_CLI_BILLING_H

/* argv[0] = "billing", argv[1] = the command:
 *   verify [--json]   re-sum every account and re-walk every balance-after chain (ar_billing_verify); prints a
 *                     summary line and one line per mismatch (or the JSON report); the run is in the audit log.
 * Loads the configuration and connects to the database itself. Exit status: 0 clean, 1 mismatches found,
 * 2 usage error, 3 the check could not run (configuration or database). */
int ar_cli_billing(int argc, char **argv);

#endif
