/* passwords.c — password validation, argon2id hashing and verification under a counting semaphore, rehash
 * detection, dummy verification for unknown users and generated passwords (see passwords.h). */
#include "afterresume/domain/passwords.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "afterresume/core/alloc.h"
#include "afterresume/core/log.h"
#include "afterresume/core/utf8.h"

#define DEFAULT_CONCURRENCY 2
#define MAX_CONCURRENCY 64

/* Made once with AR_PWHASH_OPSLIMIT / AR_PWHASH_MEMLIMIT from a random password that was thrown away;
 * tests check that it does not need a rehash, so it always costs what a real verification costs. */
static const char dummy_hash[crypto_pwhash_STRBYTES] =
    "$argon2id$v=19$m=65536,t=2,p=1$OI9FT2wGqxuvyu+EBwQulQ$xZPUvc3RIY9yVg+GNHi4wuF9GfVUiZlduYYjrl81Cpg";

static pthread_once_t slots_once = PTHREAD_ONCE_INIT;
static sem_t slots;
static int slots_count;
static atomic_int in_flight;
static atomic_int in_flight_peak;

static void slots_init(void)
{
    int n = DEFAULT_CONCURRENCY;
    const char *env = getenv("AR_PWHASH_CONCURRENCY");
    if (env && *env) {
        char *end = NULL;
        long v = strtol(env, &end, 10);
        if (end && *end == '\0' && v >= 1 && v <= MAX_CONCURRENCY) {
            n = (int)v;
        } else {
            ar_log_warn("AR_PWHASH_CONCURRENCY must be 1..%d; using %d", MAX_CONCURRENCY, DEFAULT_CONCURRENCY);
        }
    }
    if (sem_init(&slots, 0, (unsigned)n) != 0) abort();
    slots_count = n;
}

static void slot_acquire(void)
{
    pthread_once(&slots_once, slots_init);
    while (sem_wait(&slots) != 0) {
        if (errno != EINTR) abort();
    }
    int now = atomic_fetch_add(&in_flight, 1) + 1;
    int peak = atomic_load(&in_flight_peak);
    while (now > peak && !atomic_compare_exchange_weak(&in_flight_peak, &peak, now)) {
    }
}

static void slot_release(void)
{
    atomic_fetch_sub(&in_flight, 1);
    sem_post(&slots);
}

void ar_password_load(int *in_flight_out, int *peak_out)
{
    if (in_flight_out) *in_flight_out = atomic_load(&in_flight);
    if (peak_out) *peak_out = atomic_load(&in_flight_peak);
}

int ar_password_slots(void)
{
    pthread_once(&slots_once, slots_init);
    return slots_count;
}

int ar_password_validate(const char *password, ar_error *err)
{
    const char *problem = NULL;
    size_t len = password ? strlen(password) : 0;
    if (len == 0)
        problem = "Enter a password.";
    else if (len < AR_PASSWORD_MIN_BYTES)
        problem = "Use at least 12 characters.";
    else if (len > AR_PASSWORD_MAX_BYTES)
        problem = "Use at most 1024 bytes.";
    else if (!ar_utf8_valid(password, len))
        problem = "The password is not valid UTF-8 text.";
    if (!problem) return 0;
    ar_error_set(err, AR_ERR_VALIDATION, NULL);
    ar_error_field(err, "password", problem);
    return -1;
}

int ar_password_hash(const char *password, char out[crypto_pwhash_STRBYTES], ar_error *err)
{
    slot_acquire();
    int rc = crypto_pwhash_str(out, password, strlen(password), AR_PWHASH_OPSLIMIT, AR_PWHASH_MEMLIMIT);
    slot_release();
    if (rc != 0) {
        ar_log_error("password hashing failed (out of memory?)");
        ar_error_set(err, AR_ERR_INTERNAL, NULL);
        return -1;
    }
    return 0;
}

int ar_password_verify(const char *hash, const char *password)
{
    if (!hash || !password) return 0;
    /* libsodium takes the hash as a char[crypto_pwhash_STRBYTES]; stored hashes are shorter strings. */
    char stored[crypto_pwhash_STRBYTES] = {0};
    size_t len = strlen(hash);
    if (len >= sizeof stored) return 0;
    memcpy(stored, hash, len);
    slot_acquire();
    int rc = crypto_pwhash_str_verify(stored, password, strlen(password));
    slot_release();
    return rc == 0;
}

int ar_password_needs_rehash(const char *hash)
{
    if (!hash) return 1;
    char stored[crypto_pwhash_STRBYTES] = {0};
    size_t len = strlen(hash);
    if (len >= sizeof stored) return 1;
    memcpy(stored, hash, len);
    return crypto_pwhash_str_needs_rehash(stored, AR_PWHASH_OPSLIMIT, AR_PWHASH_MEMLIMIT) != 0;
}

const char *ar_password_dummy_hash(void)
{
    return dummy_hash;
}

void ar_password_verify_dummy(const char *password)
{
    (void)ar_password_verify(dummy_hash, password ? password : "");
}

char *ar_password_generate(void)
{
    static const char alphabet[] = "23456789abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";
    char *out = ar_malloc(AR_PASSWORD_GENERATED_LENGTH + 1);
    for (int i = 0; i < AR_PASSWORD_GENERATED_LENGTH; i++)
        out[i] = alphabet[randombytes_uniform((uint32_t)(sizeof alphabet - 1))];
    out[AR_PASSWORD_GENERATED_LENGTH] = '\0';
    return out;
}
