/* queue.c — the Valkey stream + delayed sorted set that carry job wake-ups (see queue.h). */
#include "afterresume/jobs/queue.h"
#include "afterresume/jobs/valkey.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char stream_key[160] = "ar:{jobs}:stream";
static char delayed_key[160] = "ar:{jobs}:delayed";
static char leader_key[160] = "ar:{jobs}:scheduler:leader";

void ar_queue_configure(const char *prefix)
{
    if (!prefix || !*prefix) prefix = getenv("AR_QUEUE_PREFIX");
    if (!prefix || !*prefix) prefix = "ar";
    snprintf(stream_key, sizeof stream_key, "%.120s:{jobs}:stream", prefix);
    snprintf(delayed_key, sizeof delayed_key, "%.120s:{jobs}:delayed", prefix);
    snprintf(leader_key, sizeof leader_key, "%.120s:{jobs}:scheduler:leader", prefix);
}

const char *ar_queue_leader_key(void)
{
    return leader_key;
}

const char *ar_queue_stream_key(void)
{
    return stream_key;
}

const char *ar_queue_delayed_key(void)
{
    return delayed_key;
}

long long ar_queue_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* NULL reply (I/O error, err already set) or an error reply → -1 with err; the reply is freed then. */
static int reply_failed(redisReply *r, const char *what, ar_error *err)
{
    if (!r) return 1;
    if (r->type == REDIS_REPLY_ERROR) {
        ar_error_set(err, AR_ERR_UNAVAILABLE, "valkey %s failed: %.160s", what, r->str);
        freeReplyObject(r);
        return 1;
    }
    return 0;
}

int ar_queue_ensure_group(ar_error *err)
{
    redisReply *r = ar_valkey_command(err, "XGROUP CREATE %s %s 0 MKSTREAM", stream_key, AR_QUEUE_GROUP);
    if (!r) return -1;
    int ok = r->type != REDIS_REPLY_ERROR || strncmp(r->str, "BUSYGROUP", 9) == 0;
    if (!ok) ar_error_set(err, AR_ERR_UNAVAILABLE, "valkey XGROUP CREATE failed: %.160s", r->str);
    freeReplyObject(r);
    return ok ? 0 : -1;
}

int ar_queue_push(long long job_id, ar_error *err)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", job_id);
    redisReply *r = ar_valkey_command(err, "XADD %s * job %s", stream_key, id);
    if (reply_failed(r, "XADD", err)) return -1;
    freeReplyObject(r);
    return 0;
}

int ar_queue_schedule(long long job_id, long long due_ms, ar_error *err)
{
    char id[24], score[24];
    snprintf(id, sizeof id, "%lld", job_id);
    snprintf(score, sizeof score, "%lld", due_ms);
    redisReply *r = ar_valkey_command(err, "ZADD %s %s %s", delayed_key, score, id);
    if (reply_failed(r, "ZADD", err)) return -1;
    freeReplyObject(r);
    return 0;
}

/* One stream entry [id, [field, value, ...]] → msg. A nil entry (deleted meanwhile) gives job_id 0. */
static void parse_entry(const redisReply *e, ar_queue_msg *m)
{
    memset(m, 0, sizeof *m);
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 1 || e->element[0]->type != REDIS_REPLY_STRING) return;
    snprintf(m->entry_id, sizeof m->entry_id, "%s", e->element[0]->str);
    if (e->elements < 2 || e->element[1]->type != REDIS_REPLY_ARRAY) return;
    const redisReply *f = e->element[1];
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        if (f->element[i]->type == REDIS_REPLY_STRING && strcmp(f->element[i]->str, "job") == 0 &&
            f->element[i + 1]->type == REDIS_REPLY_STRING) {
            char *end;
            long long v = strtoll(f->element[i + 1]->str, &end, 10);
            if (*end == '\0' && v > 0) m->job_id = v;
        }
    }
}

/* Copy the entries of an entry array into out; returns the count. */
static int collect_entries(const redisReply *entries, ar_queue_msg *out, int max)
{
    int n = 0;
    if (!entries || entries->type != REDIS_REPLY_ARRAY) return 0;
    for (size_t i = 0; i < entries->elements && n < max; i++) {
        parse_entry(entries->element[i], &out[n]);
        if (out[n].entry_id[0]) n++;
    }
    return n;
}

int ar_queue_read(const char *consumer, int block_ms, ar_queue_msg *out, int max, ar_error *err)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        redisReply *r = ar_valkey_command(err, "XREADGROUP GROUP %s %s COUNT %d BLOCK %d STREAMS %s >",
                                          AR_QUEUE_GROUP, consumer, max, block_ms, stream_key);
        if (!r) return -1;
        if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOGROUP", 7) == 0 && attempt == 0) {
            freeReplyObject(r);
            if (ar_queue_ensure_group(err) != 0) return -1;
            continue;
        }
        if (reply_failed(r, "XREADGROUP", err)) return -1;
        int n = 0;
        /* [[stream, [entries...]]] or nil on timeout */
        if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 && r->element[0]->type == REDIS_REPLY_ARRAY &&
            r->element[0]->elements == 2)
            n = collect_entries(r->element[0]->element[1], out, max);
        freeReplyObject(r);
        return n;
    }
    return 0;
}

int ar_queue_autoclaim(const char *consumer, long long min_idle_ms, ar_queue_msg *out, int max, ar_error *err)
{
    char idle[24];
    snprintf(idle, sizeof idle, "%lld", min_idle_ms);
    redisReply *r = ar_valkey_command(err, "XAUTOCLAIM %s %s %s %s 0-0 COUNT %d", stream_key, AR_QUEUE_GROUP,
                                      consumer, idle, max);
    if (!r) return -1;
    if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOGROUP", 7) == 0) {
        freeReplyObject(r);
        return ar_queue_ensure_group(err) == 0 ? 0 : -1;
    }
    if (reply_failed(r, "XAUTOCLAIM", err)) return -1;
    int n = 0;
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2) n = collect_entries(r->element[1], out, max);
    freeReplyObject(r);
    return n;
}

int ar_queue_ack(const char *entry_id, ar_error *err)
{
    /* XACK and XDEL pipelined: one round trip */
    for (int attempt = 0; attempt < 2; attempt++) {
        redisContext *c = ar_valkey_conn(err);
        if (!c) return -1;
        redisAppendCommand(c, "XACK %s %s %s", stream_key, AR_QUEUE_GROUP, entry_id);
        redisAppendCommand(c, "XDEL %s %s", stream_key, entry_id);
        redisReply *replies[2] = {NULL, NULL};
        int io_ok = redisGetReply(c, (void **)&replies[0]) == REDIS_OK && redisGetReply(c, (void **)&replies[1]) == REDIS_OK;
        if (!io_ok) {
            ar_error_set(err, AR_ERR_UNAVAILABLE, "valkey command failed: %s", c->errstr);
            if (replies[0]) freeReplyObject(replies[0]);
            ar_valkey_thread_close();
            continue;
        }
        int rc = 0;
        for (int i = 0; i < 2; i++) {
            if (replies[i]->type == REDIS_REPLY_ERROR && rc == 0) {
                ar_error_set(err, AR_ERR_UNAVAILABLE, "valkey %s failed: %.160s", i ? "XDEL" : "XACK", replies[i]->str);
                rc = -1;
            }
            freeReplyObject(replies[i]);
        }
        return rc;
    }
    return -1;
}

int ar_queue_forget_consumer(const char *consumer, ar_error *err)
{
    /* XGROUP DELCONSUMER drops the consumer's pending entries: only do it when it has none. */
    redisReply *r = ar_valkey_command(err, "XPENDING %s %s - + 1 %s", stream_key, AR_QUEUE_GROUP, consumer);
    if (!r) return -1;
    if (r->type == REDIS_REPLY_ERROR) { /* no group / stream: nothing to forget */
        freeReplyObject(r);
        return 0;
    }
    int pending = r->type == REDIS_REPLY_ARRAY && r->elements > 0;
    freeReplyObject(r);
    if (pending) return 0;
    r = ar_valkey_command(err, "XGROUP DELCONSUMER %s %s %s", stream_key, AR_QUEUE_GROUP, consumer);
    if (reply_failed(r, "XGROUP DELCONSUMER", err)) return -1;
    freeReplyObject(r);
    return 0;
}

int ar_queue_move_due(long long now_ms, int max, ar_error *err)
{
    char now[24];
    snprintf(now, sizeof now, "%lld", now_ms);
    redisReply *r = ar_valkey_command(err, "ZRANGEBYSCORE %s -inf %s LIMIT 0 %d", delayed_key, now, max);
    if (reply_failed(r, "ZRANGEBYSCORE", err)) return -1;
    int moved = 0, rc = 0;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const char *member = r->element[i]->str;
        if (r->element[i]->type != REDIS_REPLY_STRING) continue;
        /* ZREM first: only the housekeeper that removed the member moves it (several pools may run). A crash
         * between the two commands loses the wake-up, which the reconciler restores. */
        redisReply *z = ar_valkey_command(err, "ZREM %s %s", delayed_key, member);
        if (reply_failed(z, "ZREM", err)) {
            rc = -1;
            break;
        }
        int mine = z->type == REDIS_REPLY_INTEGER && z->integer == 1;
        freeReplyObject(z);
        if (!mine) continue;
        long long id = strtoll(member, NULL, 10);
        if (id <= 0) continue;
        if (ar_queue_push(id, err) != 0) {
            rc = -1;
            break;
        }
        moved++;
    }
    freeReplyObject(r);
    return rc == 0 ? moved : -1;
}

int ar_queue_depth(long long *stream_len, long long *delayed, ar_error *err)
{
    redisReply *r = ar_valkey_command(err, "XLEN %s", stream_key);
    if (reply_failed(r, "XLEN", err)) return -1;
    *stream_len = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    freeReplyObject(r);
    r = ar_valkey_command(err, "ZCARD %s", delayed_key);
    if (reply_failed(r, "ZCARD", err)) return -1;
    *delayed = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    freeReplyObject(r);
    return 0;
}
