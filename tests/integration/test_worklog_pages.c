/* test_worklog_pages.c — the worklog pages against the real daemon, PostgreSQL and Valkey, driven like a
 * browser (session cookie, CSRF token, htmx headers): quick-add (htmx and plain form) and the timeline, the
 * live-search fragment, load-more over the keyset cursor, the edit form's 422 with field errors, delete with
 * undo and the recently-deleted view, hostile Markdown escaped on the entry page, another tenant's entry
 * answering 404 everywhere, clients and projects pages, the heat-map, and the browser flow
 * (tests/e2e/worklog.mjs in Chromium). */
#include <check.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <signal.h>
#include <unistd.h>

#include "afterresume/core/buf.h"
#include "daemon.h"
#include "harness.h"

static it_daemon d;
static char *db_url;
static char env_db[1024];

static void start(void)
{
    db_url = it_migrated_db();
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", db_url);
    const char *env[] = {env_db, "AR_RATE_LIMIT_SIGNUP_IP=10000/300", "AR_RATE_LIMIT_SIGNIN_IP=10000/300",
                         "AR_RATE_LIMIT_SIGNIN_ACCOUNT=10000/300", "AR_RATE_LIMIT_PASSKEY_IP=10000/300", NULL};
    ck_assert_msg(it_daemon_start(&d, env) == 0, "daemon did not start; see %s", d.log_path);
}

static void stop(void)
{
    it_daemon_stop(&d);
}

/* ---- helpers ---------------------------------------------------------------------------------------------- */

typedef struct user {
    char cookie[200];
    char csrf[100];
} user;

static char *mint_passkey(void)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "DATABASE_URL='%s' AR_ENV_FILE=/nonexistent %s admin mint-passkey 2>/dev/null", db_url,
             it_binary());
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    char line[256] = "";
    ck_assert_ptr_nonnull(fgets(line, sizeof line, p));
    pclose(p);
    line[strcspn(line, "\r\n")] = '\0';
    ck_assert_uint_eq(strlen(line), 43);
    return strdup(line);
}

enum { NO_CSRF = 1, HTMX = 2, FORM = 4 };

/* One request as the browser would send it: cookie, CSRF header unless NO_CSRF, HX-Request with HTMX, a
 * urlencoded body with FORM (else JSON when body is given). Returns the status. */
static long req(const user *u, const char *method, const char *path, const char *body, int flags, it_response *r)
{
    char url[1024], cookie[256], csrf[160];
    snprintf(url, sizeof url, "%s%s", d.base_url, path);
    const char *headers[6];
    int n = 0;
    if (body) headers[n++] = flags & FORM ? "Content-Type: application/x-www-form-urlencoded" : "Content-Type: application/json";
    if (u && u->cookie[0]) {
        snprintf(cookie, sizeof cookie, "Cookie: %s", u->cookie);
        headers[n++] = cookie;
    }
    if (u && !(flags & NO_CSRF)) {
        snprintf(csrf, sizeof csrf, "X-CSRF-Token: %s", u->csrf);
        headers[n++] = csrf;
    }
    if (flags & HTMX) headers[n++] = "HX-Request: true";
    headers[n] = NULL;
    ck_assert_int_eq(it_http(method, url, headers, body, body ? strlen(body) : 0, r), 0);
    return r->status;
}

/* A urlencoded body from NULL-terminated name, value pairs (heap). */
static char *form(const char *first, ...)
{
    ar_buf b = AR_BUF_INIT;
    va_list ap;
    va_start(ap, first);
    for (const char *name = first; name; name = va_arg(ap, const char *)) {
        const char *value = va_arg(ap, const char *);
        if (b.len) ar_buf_putc(&b, '&');
        ar_buf_put_urlencoded(&b, name, NULL);
        ar_buf_putc(&b, '=');
        ar_buf_put_urlencoded(&b, value, NULL);
    }
    va_end(ap);
    ar_buf_append(&b, "", 0);
    return ar_buf_steal(&b);
}

/* Sign up with a fresh platform passkey, or with `passkey` (e.g. a workspace invite) when given. */
static void signup_with(user *u, const char *username, const char *passkey)
{
    char *key = passkey ? strdup(passkey) : mint_passkey();
    char json[512];
    snprintf(json, sizeof json,
             "{\"username\":\"%s\",\"email\":\"%s@example.com\",\"password\":\"correct horse battery\",\"passkey\":\"%s\"}",
             username, username, key);
    free(key);
    it_response r;
    ck_assert_int_eq(req(NULL, "POST", "/api/auth/signup/", json, 0, &r), 201);
    const char *p = strcasestr(ar_buf_cstr(&r.headers), "Set-Cookie: ar_session=");
    ck_assert_ptr_nonnull(p);
    p += strlen("Set-Cookie: ");
    size_t len = strcspn(p, ";\r\n");
    ck_assert_uint_lt(len, sizeof u->cookie);
    memcpy(u->cookie, p, len);
    u->cookie[len] = '\0';
    json_error_t e;
    json_t *j = json_loads(ar_buf_cstr(&r.body), 0, &e);
    ck_assert_ptr_nonnull(j);
    snprintf(u->csrf, sizeof u->csrf, "%s", json_string_value(json_object_get(j, "csrf_token")));
    json_decref(j);
    it_response_free(&r);
}

static void signup(user *u, const char *username)
{
    signup_with(u, username, NULL);
}

#define BODY(r) ar_buf_cstr(&(r).body)
#define ASSERT_HAS(r, s) ck_assert_msg(strstr(BODY(r), s) != NULL, "missing «%s» in:\n%.3000s", s, BODY(r))
#define ASSERT_LACKS(r, s) ck_assert_msg(strstr(BODY(r), s) == NULL, "unexpected «%s» in:\n%.3000s", s, BODY(r))

/* The entry id in a Location "/worklog/ID?..." or a body link "/worklog/ID". */
static long long id_after(const char *text, const char *prefix)
{
    const char *p = strstr(text, prefix);
    ck_assert_msg(p != NULL, "no %s in %s", prefix, text);
    return strtoll(p + strlen(prefix), NULL, 10);
}

/* Log an entry with the plain (non-htmx) quick-add form; returns its id. */
static long long quick_add(const user *u, const char *title, const char *content, const char *tags)
{
    char *body = form("occurred_on", "2026-03-10", "title", title, "content", content, "tags", tags, "project", "",
                      "csrf_token", u->csrf, NULL);
    it_response r;
    long st = req(u, "POST", "/worklog/new", body, FORM | NO_CSRF, &r);
    free(body);
    ck_assert_msg(st == 303, "quick-add: %ld %.2000s", st, BODY(r));
    char loc[256];
    ck_assert_ptr_nonnull(it_header(&r, "Location", loc, sizeof loc));
    long long id = id_after(loc, "/worklog/");
    ck_assert_ptr_nonnull(strstr(loc, "done=created"));
    it_response_free(&r);
    ck_assert_int_gt(id, 0);
    return id;
}

/* ---- tests ------------------------------------------------------------------------------------------------ */

START_TEST(quick_add_from_any_page_and_timeline)
{
    user u = {0};
    signup(&u, "quinn");
    it_response r;
    /* the home page carries the quick-add button and dialog; without JS the link leads to /worklog/new */
    ck_assert_int_eq(req(&u, "GET", "/", NULL, 0, &r), 200);
    ASSERT_HAS(r, "hx-get=\"/worklog/quick-add\"");
    ASSERT_HAS(r, "href=\"/worklog/new\"");
    ASSERT_HAS(r, "id=\"quick-add-dialog\"");
    ASSERT_HAS(r, "href=\"/worklog\""); /* nav link */
    it_response_free(&r);
    /* empty timeline tells a newcomer what to do */
    ck_assert_int_eq(req(&u, "GET", "/worklog", NULL, 0, &r), 200);
    ASSERT_HAS(r, "Your worklog is empty");
    ASSERT_HAS(r, "Log your first entry");
    it_response_free(&r);
    /* the dialog's form: today's date, a project picker, tag suggestions */
    ck_assert_int_eq(req(&u, "GET", "/worklog/quick-add", NULL, HTMX, &r), 200);
    ASSERT_HAS(r, "id=\"quick-add-form\"");
    ASSERT_HAS(r, "name=\"occurred_on\" type=\"date\" value=\"20");
    ASSERT_HAS(r, "<label class=\"field__label\" for=\"qa-content\">");
    ASSERT_LACKS(r, "<html");
    it_response_free(&r);

    /* one htmx POST: 201, a fresh form, the flash out of band with a link, and the refresh event */
    char *body = form("occurred_on", "2026-03-11", "title", "Tuned the zebrafish indexer", "content",
                      "Cut **p95** from 900 ms to 310 ms.", "tags", "Performance, Postgres", "project", "", NULL);
    ck_assert_int_eq(req(&u, "POST", "/worklog/new", body, FORM | HTMX, &r), 201);
    free(body);
    char hx[64];
    ck_assert_str_eq(it_header(&r, "HX-Trigger", hx, sizeof hx), "worklog-changed");
    ASSERT_HAS(r, "hx-swap-oob=\"true\"");
    ASSERT_HAS(r, "Tuned the zebrafish indexer");
    long long id = id_after(BODY(r), "href=\"/worklog/");
    ASSERT_HAS(r, "id=\"quick-add-form\"");
    ASSERT_HAS(r, "<option value=\"performance\">"); /* the new tags are suggested next time */
    it_response_free(&r);

    /* it is on the timeline, under its day, with normalised tags linking to the tag filter */
    ck_assert_int_eq(req(&u, "GET", "/worklog", NULL, 0, &r), 200);
    ASSERT_HAS(r, "Tuned the zebrafish indexer");
    ASSERT_HAS(r, "<time datetime=\"2026-03-11\">Wed 11 Mar 2026</time>");
    ASSERT_HAS(r, "href=\"/worklog?tag=postgres\"");
    char link[64];
    snprintf(link, sizeof link, "href=\"/worklog/%lld\"", id);
    ASSERT_HAS(r, link);
    ASSERT_LACKS(r, "Your worklog is empty");
    it_response_free(&r);
    /* the tag filter and a date range */
    ck_assert_int_eq(req(&u, "GET", "/worklog?tag=postgres&start_date=2026-03-01&end_date=2026-03-31", NULL, 0, &r), 200);
    ASSERT_HAS(r, "Tuned the zebrafish indexer");
    it_response_free(&r);
    ck_assert_int_eq(req(&u, "GET", "/worklog/results?tag=nosuchtag", NULL, HTMX, &r), 200);
    ASSERT_HAS(r, "No entries match");
    it_response_free(&r);
    /* a bad filter is a 422 with the field named, not a 500 */
    ck_assert_int_eq(req(&u, "GET", "/worklog?start_date=2026-13-45", NULL, 0, &r), 422);
    it_response_free(&r);
    ck_assert_int_eq(req(&u, "GET", "/worklog/results?project=abc", NULL, HTMX, &r), 422);
    ASSERT_HAS(r, "alert--error");
    it_response_free(&r);

    /* without JavaScript: plain POST redirects to the entry with a flash */
    long long id2 = quick_add(&u, "Plain form entry", "Logged without JavaScript.", "");
    char path[64];
    snprintf(path, sizeof path, "/worklog/%lld?done=created", id2);
    ck_assert_int_eq(req(&u, "GET", path, NULL, 0, &r), 200);
    ASSERT_HAS(r, "Entry logged.");
    it_response_free(&r);

    /* missing content: 422 with the field error, the typed title kept (htmx fragment and full page) */
    body = form("occurred_on", "2026-03-11", "title", "Half typed", "content", "", "tags", "", "project", "", NULL);
    ck_assert_int_eq(req(&u, "POST", "/worklog/new", body, FORM | HTMX, &r), 422);
    ASSERT_HAS(r, "id=\"qa-content-error\"");
    ASSERT_HAS(r, "value=\"Half typed\"");
    ASSERT_LACKS(r, "<html");
    it_response_free(&r);
    ck_assert_int_eq(req(&u, "POST", "/worklog/new", body, FORM, &r), 422);
    ASSERT_HAS(r, "<html");
    ASSERT_HAS(r, "id=\"qa-content-error\"");
    it_response_free(&r);
    free(body);
    /* no CSRF token: refused */
    body = form("occurred_on", "2026-03-11", "content", "csrf-less", NULL);
    ck_assert_int_eq(req(&u, "POST", "/worklog/new", body, FORM | NO_CSRF, &r), 403);
    it_response_free(&r);
    free(body);
    /* too many tags and an invalid date are field errors too */
    body = form("occurred_on", "11/03/2026", "content", "x", "tags",
                "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u", "project", "999999", NULL);
    ck_assert_int_eq(req(&u, "POST", "/worklog/new", body, FORM | HTMX, &r), 422);
    ASSERT_HAS(r, "id=\"qa-occurred-on-error\"");
    ASSERT_HAS(r, "id=\"qa-tags-error\"");
    it_response_free(&r);
    free(body);
}
END_TEST

START_TEST(live_search_and_load_more)
{
    user u = {0};
    signup(&u, "sasha");
    quick_add(&u, "Quarterly xylophone migration", "Moved the **xylophone** service to the new cluster.", "infra");
    quick_add(&u, "Unrelated", "Nothing to see.", "");
    it_response r;
    ck_assert_int_eq(req(&u, "GET", "/worklog/results?search=xylophone", NULL, HTMX, &r), 200);
    ASSERT_HAS(r, "Quarterly xylophone migration");
    ASSERT_HAS(r, "<mark>xylophone</mark>");
    ASSERT_HAS(r, "best match first");
    ASSERT_LACKS(r, "Unrelated");
    ASSERT_LACKS(r, "<html");
    char replace_url[128];
    ck_assert_str_eq(it_header(&r, "HX-Replace-Url", replace_url, sizeof replace_url), "/worklog?search=xylophone");
    it_response_free(&r);
    ck_assert_int_eq(req(&u, "GET", "/worklog/results?search=nonexistentword", NULL, HTMX, &r), 200);
    ASSERT_HAS(r, "No entries match");
    ASSERT_HAS(r, "nonexistentword");
    it_response_free(&r);
    /* the full page keeps the search (no JS) */
    ck_assert_int_eq(req(&u, "GET", "/worklog?search=xylophone", NULL, 0, &r), 200);
    ASSERT_HAS(r, "value=\"xylophone\"");
    ASSERT_HAS(r, "<mark>xylophone</mark>");
    it_response_free(&r);

    /* 45 more entries: pages of 20 linked by the keyset cursor; every entry exactly once */
    for (int i = 0; i < 45; i++) {
        char json[256];
        snprintf(json, sizeof json, "{\"occurred_on\":\"2026-02-%02d\",\"title\":\"Batch entry n%03d\",\"content\":\"c\"}",
                 1 + i % 28, i);
        ck_assert_int_eq(req(&u, "POST", "/api/worklogs/", json, 0, &r), 201);
        it_response_free(&r);
    }
    int seen[45] = {0};
    char next[1024] = "/worklog/results";
    int pages = 0;
    while (next[0] && pages < 10) {
        ck_assert_int_eq(req(&u, "GET", next, NULL, HTMX, &r), 200);
        pages++;
        for (const char *p = strstr(BODY(r), ">Batch entry n"); p; p = strstr(p + 1, ">Batch entry n")) {
            int n = atoi(p + strlen(">Batch entry n"));
            ck_assert(n >= 0 && n < 45);
            seen[n]++;
        }
        const char *m = strstr(BODY(r), "hx-get=\"/worklog/results?cursor=");
        next[0] = '\0';
        if (m) {
            m += strlen("hx-get=\"");
            size_t len = strcspn(m, "\"");
            ck_assert_uint_lt(len, sizeof next);
            memcpy(next, m, len);
            next[len] = '\0';
            /* the link is HTML-escaped in the attribute; decode &amp; */
            for (char *a = strstr(next, "&amp;"); a; a = strstr(a, "&amp;")) memmove(a + 1, a + 5, strlen(a + 5) + 1);
        }
        it_response_free(&r);
    }
    ck_assert_int_eq(pages, 3);
    for (int i = 0; i < 45; i++) ck_assert_msg(seen[i] == 1, "entry n%03d seen %d times", i, seen[i]);

    /* the heat-map states counts per day */
    ck_assert_int_eq(req(&u, "GET", "/worklog", NULL, 0, &r), 200);
    ASSERT_HAS(r, "class=\"heatmap__grid\"");
    ASSERT_HAS(r, "aria-label=\"No entries on ");
    ASSERT_LACKS(r, "style=");
    it_response_free(&r);
}
END_TEST

START_TEST(edit_with_errors_then_save)
{
    user u = {0};
    signup(&u, "eddie");
    long long id = quick_add(&u, "Before edit", "Original content.", "one");
    char path[64];
    snprintf(path, sizeof path, "/worklog/%lld/edit", id);
    it_response r;
    ck_assert_int_eq(req(&u, "GET", path, NULL, 0, &r), 200);
    ASSERT_HAS(r, "value=\"Before edit\"");
    ASSERT_HAS(r, "Original content.</textarea>");
    ASSERT_HAS(r, "name=\"impact_score\"");
    ASSERT_HAS(r, "name=\"visibility\"");
    it_response_free(&r);
    /* bad date and out-of-range score: 422, messages per field, what was typed kept */
    char *body = form("occurred_on", "2026-02-30", "title", "Typed title", "content", "New content", "outcome", "",
                      "impact", "", "next_steps", "", "effort_minutes", "-5", "work_type", "delivery", "status",
                      "final", "visibility", "private", "impact_score", "11", "tags", "one", "client", "", "project",
                      "", "csrf_token", u.csrf, NULL);
    ck_assert_int_eq(req(&u, "POST", path, body, FORM | NO_CSRF, &r), 422);
    ASSERT_HAS(r, "id=\"edit-occurred-on-error\"");
    ASSERT_HAS(r, "id=\"edit-impact-score-error\"");
    ASSERT_HAS(r, "id=\"edit-effort-minutes-error\"");
    ASSERT_HAS(r, "value=\"Typed title\"");
    ASSERT_HAS(r, "aria-invalid=\"true\"");
    it_response_free(&r);
    free(body);
    /* nothing was saved */
    char show[64];
    snprintf(show, sizeof show, "/worklog/%lld", id);
    ck_assert_int_eq(req(&u, "GET", show, NULL, 0, &r), 200);
    ASSERT_HAS(r, "Before edit");
    it_response_free(&r);
    /* a good edit: 303 to the entry, every field shown */
    body = form("occurred_on", "2026-02-28", "title", "After edit", "content", "New *content*", "outcome",
                "Shipped", "impact", "Faster pages", "next_steps", "Measure again", "effort_minutes", "90",
                "work_type", "incident", "status", "final", "visibility", "team", "impact_score", "7", "tags",
                "two, three", "client", "", "project", "", NULL);
    ck_assert_int_eq(req(&u, "POST", path, body, FORM, &r), 303);
    char loc[128], want[128];
    snprintf(want, sizeof want, "%s?done=updated", show);
    ck_assert_str_eq(it_header(&r, "Location", loc, sizeof loc), want);
    it_response_free(&r);
    free(body);
    ck_assert_int_eq(req(&u, "GET", show, NULL, 0, &r), 200);
    ASSERT_HAS(r, "After edit");
    ASSERT_HAS(r, "<p>New <em>content</em></p>");
    ASSERT_HAS(r, "Shipped");
    ASSERT_HAS(r, "1 h 30 min");
    ASSERT_HAS(r, "Incident");
    ASSERT_HAS(r, "7 / 10");
    ASSERT_HAS(r, "Team (everyone in the workspace)");
    ASSERT_HAS(r, "href=\"/worklog?tag=three\"");
    it_response_free(&r);
    /* unknown ids */
    ck_assert_int_eq(req(&u, "GET", "/worklog/999999999", NULL, 0, &r), 404);
    it_response_free(&r);
    ck_assert_int_eq(req(&u, "GET", "/worklog/abc/edit", NULL, 0, &r), 404);
    it_response_free(&r);
    ck_assert_int_eq(req(&u, "GET", "/worklog/99999999999999999999999", NULL, 0, &r), 404);
    it_response_free(&r);
    /* the import/export pages share the /worklog/ prefix and still answer */
    ck_assert_int_eq(req(&u, "GET", "/worklog/export", NULL, 0, &r), 200);
    it_response_free(&r);
    ck_assert_int_eq(req(&u, "GET", "/worklog/import", NULL, 0, &r), 200);
    it_response_free(&r);
    /* invalid UTF-8 in a form is refused before the service; a forged cursor is a 422 */
    ck_assert_int_eq(req(&u, "POST", "/worklog/new", "occurred_on=2026-01-01&content=a%FF%FEb", FORM | HTMX, &r), 400);
    it_response_free(&r);
    ck_assert_int_eq(req(&u, "GET", "/worklog/results?cursor=garbage", NULL, HTMX, &r), 422);
    ASSERT_HAS(r, "alert--error");
    it_response_free(&r);
}
END_TEST

START_TEST(delete_then_undo)
{
    user u = {0};
    signup(&u, "dana");
    long long id = quick_add(&u, "Soon deleted", "Will come back.", "");
    char path[96], show[64], loc[128];
    snprintf(show, sizeof show, "/worklog/%lld", id);
    it_response r;
    /* the entry page asks for confirmation before deleting */
    ck_assert_int_eq(req(&u, "GET", show, NULL, 0, &r), 200);
    ASSERT_HAS(r, "data-confirm=\"Delete this entry?");
    it_response_free(&r);
    snprintf(path, sizeof path, "/worklog/%lld/delete", id);
    ck_assert_int_eq(req(&u, "POST", path, "", FORM, &r), 303);
    it_header(&r, "Location", loc, sizeof loc);
    char want[128];
    snprintf(want, sizeof want, "/worklog?done=deleted&undo=%lld", id);
    ck_assert_str_eq(loc, want);
    it_response_free(&r);
    ck_assert_int_eq(req(&u, "GET", show, NULL, 0, &r), 404);
    it_response_free(&r);
    /* the banner offers Undo */
    ck_assert_int_eq(req(&u, "GET", want, NULL, 0, &r), 200);
    snprintf(path, sizeof path, "action=\"/worklog/%lld/restore\"", id);
    ASSERT_HAS(r, path);
    ASSERT_HAS(r, "Soon deleted");
    ASSERT_HAS(r, ">Undo</button>");
    it_response_free(&r);
    /* and so does the recently-deleted view */
    ck_assert_int_eq(req(&u, "GET", "/worklog/deleted", NULL, 0, &r), 200);
    ASSERT_HAS(r, path);
    ASSERT_HAS(r, "30 days left");
    it_response_free(&r);
    /* deleting twice is a 404 */
    snprintf(path, sizeof path, "/worklog/%lld/delete", id);
    ck_assert_int_eq(req(&u, "POST", path, "", FORM, &r), 404);
    it_response_free(&r);
    /* undo */
    snprintf(path, sizeof path, "/worklog/%lld/restore", id);
    ck_assert_int_eq(req(&u, "POST", path, "", FORM, &r), 303);
    it_header(&r, "Location", loc, sizeof loc);
    snprintf(want, sizeof want, "/worklog/%lld?done=restored", id);
    ck_assert_str_eq(loc, want);
    it_response_free(&r);
    ck_assert_int_eq(req(&u, "GET", want, NULL, 0, &r), 200);
    ASSERT_HAS(r, "Entry restored.");
    ASSERT_HAS(r, "Will come back.");
    it_response_free(&r);
    ck_assert_int_eq(req(&u, "GET", "/worklog/deleted", NULL, 0, &r), 200);
    ASSERT_HAS(r, "Nothing here");
    it_response_free(&r);
    /* restoring a live entry is a 404, and an undo banner for it is not shown */
    ck_assert_int_eq(req(&u, "POST", path, "", FORM, &r), 404);
    it_response_free(&r);
    snprintf(want, sizeof want, "/worklog?done=deleted&undo=%lld", id);
    ck_assert_int_eq(req(&u, "GET", want, NULL, 0, &r), 200);
    ASSERT_LACKS(r, ">Undo</button>");
    it_response_free(&r);
}
END_TEST

START_TEST(hostile_markdown_is_escaped)
{
    user u = {0};
    signup(&u, "mallory");
    long long id = quick_add(&u, "<img src=x onerror=alert(1)> title",
                             "# Heading\n\n<script>alert('xss')</script>\n\n"
                             "[click](javascript:alert(1)) [ok](https://example.com/a?b=1&c=\"2\")\n\n"
                             "<iframe src=\"https://evil.example\"></iframe>\n\n```\n<b>code</b>\n```\n\n"
                             "- **bold** item\n  - nested",
                             "<script>");
    char show[64];
    snprintf(show, sizeof show, "/worklog/%lld", id);
    it_response r;
    ck_assert_int_eq(req(&u, "GET", show, NULL, 0, &r), 200);
    ASSERT_LACKS(r, "<script>alert");
    ASSERT_LACKS(r, "<img src=x");
    ASSERT_LACKS(r, "<iframe");
    ASSERT_LACKS(r, "href=\"javascript");
    ASSERT_HAS(r, "&lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt;");
    ASSERT_HAS(r, "&lt;img src=x onerror=alert(1)&gt; title");
    ASSERT_HAS(r, "<h2>Heading</h2>");
    ASSERT_HAS(r, "[click](javascript:alert(1))");
    ASSERT_HAS(r, "<a href=\"https://example.com/a?b=1&amp;c=%222%22\" rel=\"nofollow noopener\">ok</a>");
    ASSERT_HAS(r, "<pre><code>&lt;b&gt;code&lt;/b&gt;\n</code></pre>");
    ASSERT_HAS(r, "<li><strong>bold</strong> item\n<ul>\n<li>nested</li>");
    char csp[512];
    ck_assert_ptr_nonnull(it_header(&r, "Content-Security-Policy", csp, sizeof csp));
    ck_assert_ptr_nonnull(strstr(csp, "script-src 'self'"));
    it_response_free(&r);
    /* the timeline card shows plain text, escaped */
    ck_assert_int_eq(req(&u, "GET", "/worklog", NULL, 0, &r), 200);
    ASSERT_LACKS(r, "<script>alert");
    ASSERT_LACKS(r, "<img src=x");
    it_response_free(&r);
}
END_TEST

START_TEST(another_tenants_entry_is_404)
{
    user a = {0}, b = {0};
    signup(&a, "alma");
    signup(&b, "bert");
    long long id = quick_add(&a, "Alma private plan", "secretword42 inside", "");
    char path[96];
    it_response r;
    const char *gets[] = {"/worklog/%lld", "/worklog/%lld/edit"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof path, gets[i], id);
        ck_assert_int_eq(req(&b, "GET", path, NULL, 0, &r), 404);
        ASSERT_LACKS(r, "Alma private plan");
        it_response_free(&r);
    }
    char *body = form("occurred_on", "2026-01-01", "title", "hijack", "content", "x", NULL);
    const char *posts[] = {"/worklog/%lld/edit", "/worklog/%lld/delete", "/worklog/%lld/restore"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, posts[i], id);
        ck_assert_msg(req(&b, "POST", path, body, FORM, &r) == 404, "%s: %ld", path, r.status);
        it_response_free(&r);
    }
    free(body);
    ck_assert_int_eq(req(&b, "GET", "/worklog/results?search=secretword42", NULL, HTMX, &r), 200);
    ASSERT_LACKS(r, "Alma private plan");
    it_response_free(&r);
    ck_assert_int_eq(req(&b, "GET", "/worklog", NULL, 0, &r), 200);
    ASSERT_LACKS(r, "Alma private plan");
    it_response_free(&r);
    /* the entry is untouched for its owner */
    snprintf(path, sizeof path, "/worklog/%lld", id);
    ck_assert_int_eq(req(&a, "GET", path, NULL, 0, &r), 200);
    ASSERT_HAS(r, "Alma private plan");
    it_response_free(&r);
    /* signed out: pages answer 401 or send to sign-in, never the entry */
    ck_assert_int_ne(req(NULL, "GET", path, NULL, 0, &r), 200);
    ASSERT_LACKS(r, "Alma private plan");
    it_response_free(&r);
}
END_TEST

START_TEST(clients_and_projects_pages)
{
    user u = {0};
    signup(&u, "cora");
    it_response r;
    ck_assert_int_eq(req(&u, "GET", "/clients", NULL, 0, &r), 200);
    ASSERT_HAS(r, "No clients yet");
    it_response_free(&r);
    char *body = form("name", "Acme <Corp>", "description", "Rockets", NULL);
    ck_assert_int_eq(req(&u, "POST", "/clients", body, FORM, &r), 303);
    it_response_free(&r);
    /* duplicate name (any case): 422 with the field error, the list still shown */
    free(body);
    body = form("name", "acme <corp>", "description", "", NULL);
    ck_assert_int_eq(req(&u, "POST", "/clients", body, FORM, &r), 422);
    ASSERT_HAS(r, "id=\"client-name-error\"");
    ASSERT_HAS(r, "Acme &lt;Corp&gt;");
    it_response_free(&r);
    free(body);
    const char *c = NULL;
    ck_assert_int_eq(req(&u, "GET", "/clients?done=client_created", NULL, 0, &r), 200);
    ASSERT_HAS(r, "Client added.");
    c = strstr(BODY(r), "href=\"/clients/");
    ck_assert_ptr_nonnull(c);
    long long client_id = strtoll(c + strlen("href=\"/clients/"), NULL, 10);
    it_response_free(&r);
    char client_text[24];
    snprintf(client_text, sizeof client_text, "%lld", client_id);

    /* project with the end before the start: 422 naming end_date */
    body = form("name", "Launchpad", "client", client_text, "role", "Tech lead", "start_date", "2026-05-01",
                "end_date", "2026-04-01", "description", "", NULL);
    ck_assert_int_eq(req(&u, "POST", "/projects", body, FORM, &r), 422);
    ASSERT_HAS(r, "id=\"project-end-error\"");
    ASSERT_HAS(r, "value=\"Tech lead\"");
    it_response_free(&r);
    free(body);
    body = form("name", "Launchpad", "client", client_text, "role", "Tech lead", "start_date", "2026-04-01",
                "end_date", "2026-05-01", "description", "", NULL);
    ck_assert_int_eq(req(&u, "POST", "/projects", body, FORM, &r), 303);
    it_response_free(&r);
    free(body);
    ck_assert_int_eq(req(&u, "GET", "/projects", NULL, 0, &r), 200);
    ASSERT_HAS(r, "Launchpad");
    ASSERT_HAS(r, "Acme &lt;Corp&gt;");
    ASSERT_HAS(r, "Wed 1 Apr 2026");
    const char *p = strstr(BODY(r), "href=\"/projects/");
    ck_assert_ptr_nonnull(p);
    long long project_id = strtoll(p + strlen("href=\"/projects/"), NULL, 10);
    it_response_free(&r);
    /* the project is offered in quick-add and an entry can use it */
    char option[64];
    snprintf(option, sizeof option, "<option value=\"%lld\">Launchpad (Acme &lt;Corp&gt;)", project_id);
    ck_assert_int_eq(req(&u, "GET", "/worklog/quick-add", NULL, HTMX, &r), 200);
    ASSERT_HAS(r, option);
    it_response_free(&r);
    char project_text[24];
    snprintf(project_text, sizeof project_text, "%lld", project_id);
    body = form("occurred_on", "2026-04-02", "title", "Kickoff", "content", "Kicked off.", "tags", "", "project",
                project_text, NULL);
    ck_assert_int_eq(req(&u, "POST", "/worklog/new", body, FORM, &r), 303);
    it_response_free(&r);
    free(body);
    char filter[64];
    snprintf(filter, sizeof filter, "/worklog?client=%lld", client_id);
    ck_assert_int_eq(req(&u, "GET", filter, NULL, 0, &r), 200);
    ASSERT_HAS(r, "Kickoff"); /* the client was filled in from the project */
    it_response_free(&r);
    /* edit page, then deactivate: no longer offered */
    char path[64];
    snprintf(path, sizeof path, "/projects/%lld/edit", project_id);
    ck_assert_int_eq(req(&u, "GET", path, NULL, 0, &r), 200);
    ASSERT_HAS(r, "value=\"2026-05-01\"");
    it_response_free(&r);
    snprintf(path, sizeof path, "/projects/%lld/active", project_id);
    body = form("is_active", "0", NULL);
    ck_assert_int_eq(req(&u, "POST", path, body, FORM, &r), 303);
    it_response_free(&r);
    free(body);
    ck_assert_int_eq(req(&u, "GET", "/worklog/quick-add", NULL, HTMX, &r), 200);
    ASSERT_LACKS(r, option);
    it_response_free(&r);
    snprintf(path, sizeof path, "/clients/%lld/edit", client_id);
    body = form("name", "", "description", "", "is_active", "1", NULL);
    ck_assert_int_eq(req(&u, "POST", path, body, FORM, &r), 422);
    ASSERT_HAS(r, "id=\"client-name-error\"");
    it_response_free(&r);
    free(body);
    /* another tenant cannot see or change them */
    user other = {0};
    signup(&other, "otto");
    ck_assert_int_eq(req(&other, "GET", path, NULL, 0, &r), 404);
    it_response_free(&r);
    snprintf(path, sizeof path, "/projects/%lld/active", project_id);
    body = form("is_active", "1", NULL);
    ck_assert_int_eq(req(&other, "POST", path, body, FORM, &r), 404);
    it_response_free(&r);
    free(body);
    ck_assert_int_eq(req(&other, "GET", "/projects", NULL, 0, &r), 200);
    ASSERT_LACKS(r, "Launchpad");
    it_response_free(&r);
}
END_TEST

START_TEST(read_only_member_reads_but_cannot_write)
{
    user owner = {0}, reader = {0};
    signup(&owner, "olga");
    it_response r;
    ck_assert_int_eq(req(&owner, "POST", "/api/worklogs/",
                         "{\"occurred_on\":\"2026-05-05\",\"title\":\"Team roadmap\",\"content\":\"Shared *plan*.\","
                         "\"visibility\":\"team\"}",
                         0, &r),
                     201);
    long long id = id_after(BODY(r), "\"id\":");
    it_response_free(&r);
    ck_assert_int_eq(req(&owner, "POST", "/api/tenant/passkeys/", "{\"role\":\"read_only\"}", 0, &r), 201);
    const char *k = strstr(BODY(r), "\"raw_key\":\"");
    ck_assert_ptr_nonnull(k);
    char raw[128];
    k += strlen("\"raw_key\":\"");
    size_t len = strcspn(k, "\"");
    ck_assert_uint_lt(len, sizeof raw);
    memcpy(raw, k, len);
    raw[len] = '\0';
    it_response_free(&r);
    signup_with(&reader, "rita", raw);
    /* she sees the team entry, without Edit/Delete */
    ck_assert_int_eq(req(&reader, "GET", "/worklog", NULL, 0, &r), 200);
    ASSERT_HAS(r, "Team roadmap");
    it_response_free(&r);
    char path[64];
    snprintf(path, sizeof path, "/worklog/%lld", id);
    ck_assert_int_eq(req(&reader, "GET", path, NULL, 0, &r), 200);
    ASSERT_HAS(r, "<p>Shared <em>plan</em>.</p>");
    ASSERT_LACKS(r, "/delete\"");
    ASSERT_LACKS(r, "/edit\"");
    it_response_free(&r);
    /* the quick-add explains instead of offering a form that would fail */
    ck_assert_int_eq(req(&reader, "GET", "/worklog/quick-add", NULL, HTMX, &r), 200);
    ASSERT_HAS(r, "read-only");
    ASSERT_LACKS(r, "<form");
    it_response_free(&r);
    /* and every write is refused */
    char *body = form("occurred_on", "2026-05-06", "content", "not allowed", NULL);
    ck_assert_int_eq(req(&reader, "POST", "/worklog/new", body, FORM, &r), 403);
    it_response_free(&r);
    free(body);
    snprintf(path, sizeof path, "/worklog/%lld/delete", id);
    ck_assert_int_eq(req(&reader, "POST", path, "", FORM, &r), 403);
    it_response_free(&r);
    body = form("name", "Reader client", NULL);
    ck_assert_int_eq(req(&reader, "POST", "/clients", body, FORM, &r), 403);
    it_response_free(&r);
    free(body);
    ck_assert_int_eq(req(&reader, "GET", "/clients", NULL, 0, &r), 200);
    ASSERT_LACKS(r, "Add a client");
    it_response_free(&r);
}
END_TEST

START_TEST(browser_quick_add_search_delete_undo)
{
    char *key = mint_passkey();
    char cmd[512];
    snprintf(cmd, sizeof cmd, "node tests/e2e/worklog.mjs %s %s /tmp", d.base_url, key);
    int rc = system(cmd);
    ck_assert_msg(rc == 0, "browser worklog flow failed (exit %d)", rc);
    free(key);
}
END_TEST

/* Last: stop the daemon (SIGTERM) and read its log: a clean stop, no sanitizer or leak report, no missing
 * template (the fixture's stop() then finds it already gone). */
START_TEST(daemon_stops_cleanly)
{
    ck_assert_int_eq(kill(d.pid, SIGTERM), 0);
    char stat_path[64], state = 'R';
    snprintf(stat_path, sizeof stat_path, "/proc/%d/stat", (int)d.pid);
    for (int i = 0; i < 600 && state != 'Z'; i++) {
        FILE *f = fopen(stat_path, "r");
        if (!f) break;
        if (fscanf(f, "%*d %*s %c", &state) != 1) state = 'Z';
        fclose(f);
        if (state != 'Z') usleep(50 * 1000);
    }
    ck_assert_int_eq(state, 'Z');
    char *log = it_read_file(d.log_path);
    ck_assert_ptr_nonnull(strstr(log, "\"msg\":\"stopped\""));
    ck_assert_msg(strstr(log, "Sanitizer") == NULL && strstr(log, "runtime error") == NULL, "sanitizer report in %s",
                  d.log_path);
    ck_assert_msg(strstr(log, "template missing") == NULL, "a template is missing: see %s", d.log_path);
    free(log);
}
END_TEST

Suite *worklog_pages_suite(void)
{
    Suite *s = suite_create("worklog_pages");
    TCase *tc = tcase_create("worklog_pages");
    tcase_set_timeout(tc, 240);
    tcase_add_unchecked_fixture(tc, start, stop);
    tcase_add_test(tc, quick_add_from_any_page_and_timeline);
    tcase_add_test(tc, live_search_and_load_more);
    tcase_add_test(tc, edit_with_errors_then_save);
    tcase_add_test(tc, delete_then_undo);
    tcase_add_test(tc, hostile_markdown_is_escaped);
    tcase_add_test(tc, another_tenants_entry_is_404);
    tcase_add_test(tc, clients_and_projects_pages);
    tcase_add_test(tc, read_only_member_reads_but_cannot_write);
    tcase_add_test(tc, browser_quick_add_search_delete_undo);
    tcase_add_test(tc, daemon_stops_cleanly);
    suite_add_tcase(s, tc);
    return s;
}
