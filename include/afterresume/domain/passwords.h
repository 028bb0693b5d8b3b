/* passwords.h — password rules and storage: validation (12..1024 bytes of UTF-8), argon2id hashing through
 * libsodium's crypto_pwhash_str with at least the "interactive" limits, verification, rehash detection, a
 * dummy verification that makes unknown users cost the same time as known ones, and generated passwords
 * for the operator CLI. Hashing and verifying share one counting semaphore (AR_PWHASH_CONCURRENCY, default
 * 2) so that a burst of sign-ins cannot take more than that many × 64 MiB of memory at once. */
#ifndef AFTERRESUME_DOMAIN_PASSWORDS_H
#define AFTERRESUME_DOMAIN_PASSWORDS_H
#include <sodium.h>

#include "afterresume/core/error.h"

#define AR_PASSWORD_MIN_BYTES 12
#define AR_PASSWORD_MAX_BYTES 1024
#define AR_PASSWORD_GENERATED_LENGTH 20

/* The cost every new hash gets; hashes made with lower limits are upgraded at the next sign-in. */
#define AR_PWHASH_OPSLIMIT crypto_pwhash_OPSLIMIT_INTERACTIVE
#define AR_PWHASH_MEMLIMIT crypto_pwhash_MEMLIMIT_INTERACTIVE

/* 0, or -1 with AR_ERR_VALIDATION and field "password" (too short, too long, not UTF-8, missing). */
int ar_password_validate(const char *password, ar_error *err);

/* argon2id hash of password into out ("$argon2id$v=19$m=...,t=...,p=1$salt$hash"). Waits for a hashing
 * slot. 0, or -1 with AR_ERR_INTERNAL (out of memory for the hash) — the password is not validated here. */
int ar_password_hash(const char *password, char out[crypto_pwhash_STRBYTES], ar_error *err);

/* 1 when password matches hash, 0 otherwise (also for a malformed hash). Waits for a hashing slot. */
int ar_password_verify(const char *hash, const char *password);

/* 1 when hash was made with other limits than AR_PWHASH_OPSLIMIT/AR_PWHASH_MEMLIMIT (or is not an argon2id
 * hash we understand), 0 when it is current. */
int ar_password_needs_rehash(const char *hash);

/* Verify password against a fixed hash nobody knows the password of, with the current limits: call it when
 * the user does not exist so that the answer takes as long as for a wrong password. */
void ar_password_verify_dummy(const char *password);
/* That fixed hash (for tests). */
const char *ar_password_dummy_hash(void);

/* A random password of AR_PASSWORD_GENERATED_LENGTH characters from an alphabet without look-alikes
 * (about 117 bits). Heap; the caller wipes (sodium_memzero) and frees it. */
char *ar_password_generate(void);

/* How many hashes may run at once (AR_PWHASH_CONCURRENCY read at first use, 1..64, default 2). */
int ar_password_slots(void);
/* Hashes running right now and the most that ever ran at once in this process (for tests and metrics). */
void ar_password_load(int *in_flight, int *peak);

#endif
