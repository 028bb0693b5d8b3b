/* worklog.c — the worklog pages (SPEC §3): the timeline grouped by day with filters, live search (htmx
 * fragment), "load more" over the keyset cursor and a 12-month heat-map; the quick-add form reachable from
 * every signed-in page (a dialog filled by htmx, or the /worklog/new page without JavaScript); entry detail
 * with rendered Markdown; the full edit form; delete with undo and the "recently deleted" view.
 * Every read and write goes through the worklog service (afterresume/domain/worklog.h): no SQL here.
 * Forms post back; errors re-render the form with 422; success redirects (303) or, for htmx, answers the
 * fragment to swap plus an HX-Trigger "worklog-changed" that refreshes the timeline. */
#include "afterresume/api/handlers.h"
#include "afterresume/core/alloc.h"
#include "afterresume/core/buf.h"
#include "afterresume/domain/worklog.h"
#include "afterresume/http/response.h"
#include "afterresume/render/markdown.h"
#include "afterresume/web/attachments.h"
#include "afterresume/web/common.h"
#include "afterresume/web/handlers.h"
#include "afterresume/web/worklog_view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const work_types[][2] = {{"delivery", "Delivery"}, {"planning", "Planning"},
                                             {"incident", "Incident"}, {"support", "Support"},
                                             {"learning", "Learning"}, {"other", "Other"}};
static const char *const statuses[][2] = {{"draft", "Draft"}, {"final", "Final"}, {"archived", "Archived"}};
static const char *const visibilities[][2] = {{"private", "Private (only you)"}, {"team", "Team (everyone in the workspace)"}};

#define COUNT(a) (sizeof a / sizeof a[0])

/* ---- small helpers (shared with worklog_catalog.c through worklog_view.h) ---------------------------- */

const char *wl_field(ar_request *req, const char *name)
{
    const char *v = ar_req_field(req, name);
    return v ? v : "";
}

const char *wl_query(ar_request *req, const char *name)
{
    const char *v = ar_req_query(req, name);
    return v ? v : "";
}

int wl_is_htmx(ar_request *req)
{
    const char *h = ar_req_header(req, "HX-Request");
    return h && strcmp(h, "true") == 0;
}

void wl_flash(json_t *data, const char *level, const char *message)
{
    json_t *flashes = json_object_get(data, "flashes");
    if (!flashes) {
        flashes = json_array();
        json_object_set_new(data, "flashes", flashes);
    }
    json_array_append_new(flashes, json_pack("{s:s,s:s}", "level", level, "message", message));
}

/* Flash messages named by ?done=<code> on the worklog, client and project pages (never user text). */
void wl_flash_from_query(ar_request *req, json_t *data)
{
    static const char *const codes[][2] = {
        {"created", "Entry logged."},
        {"updated", "Entry saved."},
        {"restored", "Entry restored."},
        {"client_created", "Client added."},
        {"client_saved", "Client saved."},
        {"client_activated", "Client reactivated."},
        {"client_deactivated", "Client deactivated: it is no longer offered for new entries."},
        {"project_created", "Project added."},
        {"project_saved", "Project saved."},
        {"project_activated", "Project reactivated."},
        {"project_deactivated", "Project deactivated: it is no longer offered for new entries."},
    };
    const char *done = ar_req_query(req, "done");
    for (size_t i = 0; done && i < COUNT(codes); i++)
        if (strcmp(done, codes[i][0]) == 0) wl_flash(data, "success", codes[i][1]);
}

/* 422 for validation errors (the form is shown again), the error's own status otherwise. */
int wl_error_status(const ar_error *err)
{
    return err->code == AR_ERR_VALIDATION || err->code == AR_ERR_INVALID_JSON ? 422 : ar_err_http_status(err->code);
}

void wl_today(char out[11])
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

static int parse_date(const char *s, struct tm *tm)
{
    memset(tm, 0, sizeof *tm);
    if (!s || strlen(s) != 10) return -1;
    int y, m, d;
    if (sscanf(s, "%4d-%2d-%2d", &y, &m, &d) != 3) return -1;
    tm->tm_year = y - 1900;
    tm->tm_mon = m - 1;
    tm->tm_mday = d;
    tm->tm_hour = 12;
    time_t t = timegm(tm);
    gmtime_r(&t, tm);
    return 0;
}

/* "Tue 24 Nov 2026" (or the text as is when it is not a date). */
void wl_date_label(const char *date, char *out, size_t size)
{
    struct tm tm;
    if (parse_date(date, &tm) != 0 || strftime(out, size, "%a %-d %b %Y", &tm) == 0)
        snprintf(out, size, "%s", date ? date : "");
}

/* A "?name=value&..." query string of the non-empty pairs (NULL-terminated name, value list). */
static void query_string(ar_buf *b, const char *const *pairs)
{
    char sep = '?';
    for (size_t i = 0; pairs[i]; i += 2) {
        if (!pairs[i + 1] || !*pairs[i + 1]) continue;
        ar_buf_putc(b, sep);
        sep = '&';
        ar_buf_puts(b, pairs[i]);
        ar_buf_putc(b, '=');
        ar_buf_put_urlencoded(b, pairs[i + 1], NULL);
    }
}

/* Options for a <select>: [{value, label, selected}] from a static table. */
static json_t *static_options(const char *const table[][2], size_t n, const char *selected)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:s,s:s,s:b}", "value", table[i][0], "label", table[i][1], "selected",
                                           selected && strcmp(selected, table[i][0]) == 0));
    return a;
}

static const char *static_label(const char *const table[][2], size_t n, const char *value)
{
    for (size_t i = 0; value && i < n; i++)
        if (strcmp(value, table[i][0]) == 0) return table[i][1];
    return value ? value : "";
}

/* Options from a service list ({"results": [{id, name, is_active, ...}]}): active ones, plus the selected
 * one even when inactive. Each: {value, label, selected, client (projects only)}. */
json_t *wl_id_options(json_t *list, long long selected)
{
    json_t *a = json_array();
    json_t *results = json_object_get(list, "results");
    size_t i;
    json_t *it;
    json_array_foreach(results, i, it)
    {
        long long id = json_integer_value(json_object_get(it, "id"));
        int active = json_is_true(json_object_get(it, "is_active"));
        if (!active && id != selected) continue;
        char value[24];
        snprintf(value, sizeof value, "%lld", id);
        const char *name = json_string_value(json_object_get(it, "name"));
        json_t *o = json_pack("{s:s,s:s,s:b}", "value", value, "label", name ? name : "", "selected", id == selected);
        const char *client_name = json_string_value(json_object_get(it, "client_name"));
        if (client_name) json_object_set_new(o, "client_name", json_string(client_name));
        if (!active) json_object_set_new(o, "inactive", json_true());
        json_array_append_new(a, o);
    }
    return a;
}

static long long id_value(const char *s)
{
    if (!s || !*s) return 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    return *end || v <= 0 ? 0 : v;
}

/* Tags [{name, q (URL-encoded)}] for links to the filtered timeline. */
static json_t *tag_links(json_t *tags)
{
    json_t *a = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(tags, i, t)
    {
        const char *name = json_string_value(t);
        if (!name) continue;
        ar_buf q = AR_BUF_INIT;
        ar_buf_put_urlencoded(&q, name, NULL);
        json_array_append_new(a, json_pack("{s:s,s:s}", "name", name, "q", ar_buf_cstr(&q)));
        ar_buf_free(&q);
    }
    return a;
}

/* The display fields of an entry for cards and the detail page (adds to a copy of the entry). */
static json_t *entry_view(json_t *entry, int full)
{
    json_t *v = json_deep_copy(entry);
    char label[64];
    const char *date = json_string_value(json_object_get(entry, "occurred_on"));
    wl_date_label(date, label, sizeof label);
    json_object_set_new(v, "date_label", json_string(label));
    const char *wt = json_string_value(json_object_get(entry, "work_type"));
    json_object_set_new(v, "work_type_label", json_string(static_label(work_types, COUNT(work_types), wt)));
    const char *st = json_string_value(json_object_get(entry, "status"));
    json_object_set_new(v, "status_label", json_string(static_label(statuses, COUNT(statuses), st)));
    json_object_set_new(v, "is_archived", json_boolean(st && strcmp(st, "archived") == 0));
    json_object_set_new(v, "is_team", json_boolean(json_string_value(json_object_get(entry, "visibility")) &&
                                                   strcmp(json_string_value(json_object_get(entry, "visibility")),
                                                          "team") == 0));
    json_object_set_new(v, "tag_links", tag_links(json_object_get(entry, "tags")));
    json_object_set_new(v, "has_tags", json_boolean(json_array_size(json_object_get(entry, "tags")) > 0));
    long long attachments = json_integer_value(json_object_get(entry, "attachment_count"));
    json_object_set_new(v, "has_attachments", json_boolean(attachments > 0));
    json_object_set_new(v, "one_attachment", json_boolean(attachments == 1));
    json_t *effort = json_object_get(entry, "effort_minutes");
    if (json_is_integer(effort)) {
        long long m = json_integer_value(effort);
        char e[48];
        if (m >= 60 && m % 60)
            snprintf(e, sizeof e, "%lld h %lld min", m / 60, m % 60);
        else if (m >= 60)
            snprintf(e, sizeof e, "%lld h", m / 60);
        else
            snprintf(e, sizeof e, "%lld min", m);
        json_object_set_new(v, "effort_label", json_string(e));
    }
    const char *content = json_string_value(json_object_get(entry, "content"));
    ar_buf excerpt = AR_BUF_INIT;
    ar_markdown_excerpt(&excerpt, content, 280);
    json_object_set_new(v, "excerpt", json_string(ar_buf_cstr(&excerpt)));
    ar_buf_free(&excerpt);
    const char *title = json_string_value(json_object_get(entry, "title"));
    if (!title || !*title) {
        ar_buf t = AR_BUF_INIT;
        ar_markdown_excerpt(&t, content, 80);
        json_object_set_new(v, "display_title", json_string(t.len ? ar_buf_cstr(&t) : "Untitled entry"));
        ar_buf_free(&t);
    } else {
        json_object_set(v, "display_title", json_object_get(entry, "title"));
    }
    if (full) {
        /* Rendered Markdown: safe HTML by construction (markdown.h); the only values pages print with {{{ }}}. */
        static const char *const md_fields[][2] = {{"content", "content_html"}, {"outcome", "outcome_html"},
                                                   {"impact", "impact_html"}, {"next_steps", "next_steps_html"}};
        for (size_t i = 0; i < COUNT(md_fields); i++) {
            const char *text = json_string_value(json_object_get(entry, md_fields[i][0]));
            if (!text || !*text) continue;
            char *html = ar_markdown_to_html(text, AR_MARKDOWN_SHIFT_HEADINGS);
            json_object_set_new(v, md_fields[i][1], json_string(html));
            free(html);
        }
        const char *vis = json_string_value(json_object_get(entry, "visibility"));
        json_object_set_new(v, "visibility_label",
                            json_string(static_label(visibilities, COUNT(visibilities), vis)));
    }
    return v;
}

/* ---- the quick-add form ------------------------------------------------------------------------------- */

/* Tags for <datalist> suggestions: [{name, count}] (empty when they cannot be read). */
static json_t *tag_suggestions(ar_request *req)
{
    ar_error err = {0};
    json_t *tags = ar_tags_list(&req->ctx, NULL, 200, &err);
    ar_error_clear(&err);
    return tags ? tags : json_array();
}

static json_t *active_list(json_t *(*list_fn)(const ar_ctx *, const char *, int, ar_error *), ar_request *req)
{
    ar_error err = {0};
    json_t *l = list_fn(&req->ctx, NULL, -1, &err);
    ar_error_clear(&err);
    return l ? l : json_pack("{s:[]}", "results");
}

static json_t *project_list_all(ar_request *req)
{
    ar_error err = {0};
    json_t *l = ar_project_list(&req->ctx, 0, NULL, -1, &err);
    ar_error_clear(&err);
    return l ? l : json_pack("{s:[]}", "results");
}

/* Context of partials/worklog_quick_add: form values, errors, tag suggestions and projects. */
static json_t *quick_add_context(ar_request *req, json_t *form, json_t *errors)
{
    if (!form) {
        char today[11];
        wl_today(today);
        form = json_pack("{s:s,s:s,s:s,s:s,s:s}", "occurred_on", today, "title", "", "content", "", "tags", "",
                         "project", "");
    }
    json_t *projects = project_list_all(req);
    json_t *data = json_pack("{s:o,s:o,s:o,s:b}", "qa_form", form, "qa_tags", tag_suggestions(req), "qa_projects",
                             wl_id_options(projects, id_value(json_string_value(json_object_get(form, "project")))),
                             "qa_read_only", !ar_worklog_can_write(&req->ctx));
    json_decref(projects);
    if (errors) json_object_set_new(data, "qa_errors", errors);
    return data;
}

void web_worklog_quick_add(ar_request *req)
{
    ar_respond_page(req, 200, "partials/worklog_quick_add", NULL, quick_add_context(req, NULL, NULL));
}

void web_worklog_new(ar_request *req)
{
    json_t *data = quick_add_context(req, NULL, NULL);
    json_object_set_new(data, "nav", json_pack("{s:b}", "worklog", 1));
    web_page(req, 200, "pages/worklog_new", "Log work", data);
}

void web_worklog_create(ar_request *req)
{
    ar_error err = {0};
    json_t *form = json_pack("{s:s,s:s,s:s,s:s,s:s}", "occurred_on", wl_field(req, "occurred_on"), "title",
                             wl_field(req, "title"), "content", wl_field(req, "content"), "tags", wl_field(req, "tags"),
                             "project", wl_field(req, "project"));
    json_t *entry = NULL;
    if (!ar_worklog_can_write(&req->ctx))
        ar_error_set(&err, AR_ERR_FORBIDDEN, "Your role in this workspace can read entries but not add them.");
    else
        entry = ar_worklog_create(&req->ctx, form, &err);
    if (!entry) {
        int status = wl_error_status(&err);
        json_t *data = quick_add_context(req, form, web_form_errors(&err));
        if (wl_is_htmx(req)) {
            ar_respond_page(req, status, "partials/worklog_quick_add", NULL, data);
        } else {
            json_object_set_new(data, "nav", json_pack("{s:b}", "worklog", 1));
            web_page(req, status, "pages/worklog_new", "Log work", data);
        }
        ar_error_clear(&err);
        return;
    }
    json_decref(form);
    long long id = json_integer_value(json_object_get(entry, "id"));
    if (!wl_is_htmx(req)) {
        json_decref(entry);
        char location[64];
        snprintf(location, sizeof location, "/worklog/%lld?done=created", id);
        ar_respond_redirect(req, 303, location);
        return;
    }
    /* htmx: a fresh form for the next entry, the flash out of band, and an event that refreshes the timeline */
    json_t *data = quick_add_context(req, NULL, NULL);
    json_t *created = entry_view(entry, 0);
    json_object_set_new(data, "qa_created", created);
    json_decref(entry);
    ar_respond_page(req, 201, "partials/worklog_quick_add", NULL, data);
    ar_response_header(req, "HX-Trigger", "worklog-changed");
}

/* ---- timeline ----------------------------------------------------------------------------------------- */

typedef struct {
    const char *start_date, *end_date, *tag, *project, *client, *work_type, *status, *search, *cursor;
} timeline_query;

static void read_query(ar_request *req, timeline_query *q)
{
    q->start_date = wl_query(req, "start_date");
    q->end_date = wl_query(req, "end_date");
    q->tag = wl_query(req, "tag");
    q->project = wl_query(req, "project");
    q->client = wl_query(req, "client");
    q->work_type = wl_query(req, "work_type");
    q->status = wl_query(req, "status");
    q->search = wl_query(req, "search");
    q->cursor = wl_query(req, "cursor");
}

/* The current filters as a query string (without the cursor), for "load more" links. */
static void filters_query(ar_buf *b, const timeline_query *q)
{
    const char *pairs[] = {"start_date", q->start_date, "end_date", q->end_date, "tag", q->tag,
                           "project", q->project, "client", q->client, "work_type", q->work_type,
                           "status", q->status, "search", q->search, NULL};
    query_string(b, pairs);
}

/* A filter id from the query: 0 when empty; -1 when it is not a positive number. */
static long long filter_id(const char *s)
{
    if (!*s) return 0;
    long long v = id_value(s);
    return v ? v : -1;
}

/* Results fragment context: {groups:[{date, date_label, continued, entries}], results (search), next_url,
 * more_url, empty, searching, filtered}. Returns NULL with err on a bad filter or a service error. */
static json_t *timeline_results(ar_request *req, const timeline_query *q, ar_error *err)
{
    ar_worklog_filter f = {0};
    f.start_date = q->start_date;
    f.end_date = q->end_date;
    f.tag = q->tag;
    f.work_type = q->work_type;
    f.status = q->status;
    f.search = q->search;
    f.cursor = q->cursor;
    f.limit = 20;
    f.project_id = filter_id(q->project);
    f.client_id = filter_id(q->client);
    if (f.project_id < 0) ar_error_field(err, "project", "Select a valid project.");
    if (f.client_id < 0) ar_error_field(err, "client", "Select a valid client.");
    if (err->fields) {
        ar_error_set(err, AR_ERR_VALIDATION, "Check the filters.");
        return NULL;
    }
    json_t *page = ar_worklog_list(&req->ctx, &f, err);
    if (!page) return NULL;
    json_t *results = json_object_get(page, "results");
    int searching = *q->search != 0;
    json_t *data = json_object();
    json_t *views = json_array();
    json_t *groups = json_array();
    /* the cursor's date: a page that continues the previous page's last day does not repeat its heading */
    ar_worklog_cursor cur;
    const char *continued_date = (*q->cursor && ar_worklog_cursor_decode(q->cursor, &cur) == 0) ? cur.occurred_on : "";
    json_t *group = NULL;
    size_t i;
    json_t *e;
    json_array_foreach(results, i, e)
    {
        json_t *v = entry_view(e, 0);
        const char *date = json_string_value(json_object_get(e, "occurred_on"));
        if (searching) {
            json_array_append_new(views, v);
            continue;
        }
        if (!group || strcmp(json_string_value(json_object_get(group, "date")), date ? date : "") != 0) {
            group = json_pack("{s:s,s:O,s:b,s:[]}", "date", date ? date : "", "date_label",
                              json_object_get(v, "date_label"), "continued",
                              json_array_size(groups) == 0 && strcmp(continued_date, date ? date : "") == 0, "entries");
            json_array_append_new(groups, group);
        }
        json_array_append_new(json_object_get(group, "entries"), v);
    }
    json_object_set_new(data, "groups", groups);
    json_object_set_new(data, "results", views);
    json_object_set_new(data, "searching", json_boolean(searching));
    const char *next = json_string_value(json_object_get(page, "next"));
    if (next) {
        ar_buf qs = AR_BUF_INIT;
        filters_query(&qs, q);
        ar_buf_puts(&qs, qs.len ? "&cursor=" : "?cursor=");
        ar_buf_put_urlencoded(&qs, next, NULL);
        char *more = ar_asprintf("/worklog/results%s", ar_buf_cstr(&qs));
        char *page_url = ar_asprintf("/worklog%s", ar_buf_cstr(&qs));
        json_object_set_new(data, "more_url", json_string(more));
        json_object_set_new(data, "next_url", json_string(page_url));
        free(more);
        free(page_url);
        ar_buf_free(&qs);
    }
    int filtered = *q->start_date || *q->end_date || *q->tag || *q->project || *q->client || *q->work_type ||
                   *q->status || searching;
    json_object_set_new(data, "filtered", json_boolean(filtered));
    json_object_set_new(data, "first_page", json_boolean(!*q->cursor));
    json_object_set_new(data, "empty", json_boolean(json_array_size(results) == 0 && !*q->cursor));
    json_object_set_new(data, "search_text", json_string(q->search));
    json_decref(page);
    return data;
}

/* Heat-map of the caller's last 12 months: weeks as columns (Monday first), one cell per day with a
 * title/aria-label stating the count, intensity as a class (heat--0..4). */
static json_t *heatmap(ar_request *req)
{
    ar_error err = {0};
    json_t *counts = ar_worklog_day_counts(&req->ctx, NULL, 0, &err);
    ar_error_clear(&err);
    if (!counts) return NULL;
    struct tm start_tm, end_tm;
    if (parse_date(json_string_value(json_object_get(counts, "start")), &start_tm) != 0 ||
        parse_date(json_string_value(json_object_get(counts, "end")), &end_tm) != 0) {
        json_decref(counts);
        return NULL;
    }
    json_t *days = json_object_get(counts, "days");
    size_t di = 0;
    json_t *cells = json_array();
    int pad = (start_tm.tm_wday + 6) % 7; /* Monday = 0 */
    for (int k = 0; k < pad; k++) json_array_append_new(cells, json_pack("{s:b}", "pad", 1));
    time_t t = timegm(&start_tm), end = timegm(&end_tm);
    long long total_entries = 0, total_days = 0;
    json_t *months = json_array();
    int cell_index = pad;
    for (; t <= end; t += 86400, cell_index++) {
        struct tm tm;
        gmtime_r(&t, &tm);
        char date[11], label[96], pretty[48];
        strftime(date, sizeof date, "%Y-%m-%d", &tm);
        strftime(pretty, sizeof pretty, "%a %-d %b %Y", &tm);
        long long count = 0;
        while (di < json_array_size(days)) {
            json_t *d = json_array_get(days, di);
            const char *dd = json_string_value(json_object_get(d, "date"));
            int cmp = dd ? strcmp(dd, date) : -1;
            if (cmp < 0) {
                di++;
                continue;
            }
            if (cmp == 0) {
                count = json_integer_value(json_object_get(d, "count"));
                di++;
            }
            break;
        }
        if (count > 0) total_days++, total_entries += count;
        if (count == 0)
            snprintf(label, sizeof label, "No entries on %s", pretty);
        else
            snprintf(label, sizeof label, "%lld %s on %s", count, count == 1 ? "entry" : "entries", pretty);
        int level = count == 0 ? 0 : count == 1 ? 1 : count == 2 ? 2 : count <= 4 ? 3 : 4;
        json_array_append_new(cells, json_pack("{s:s,s:s,s:i,s:I,s:b}", "date", date, "label", label, "level", level,
                                               "count", (json_int_t)count, "has_entries", count > 0));
        /* month labels above the columns: one slot per week, the month's name in the week of its 1st */
        size_t week = (size_t)cell_index / 7;
        while (json_array_size(months) <= week) json_array_append_new(months, json_pack("{s:s}", "name", ""));
        if (tm.tm_mday == 1 && week + 1 < 53) {
            char month[16];
            strftime(month, sizeof month, "%b", &tm);
            json_object_set_new(json_array_get(months, week), "name", json_string(month));
        }
    }
    json_t *h = json_pack("{s:o,s:o,s:I,s:I,s:O,s:O}", "cells", cells, "months", months, "total_entries",
                          (json_int_t)total_entries, "total_days", (json_int_t)total_days, "start",
                          json_object_get(counts, "start"), "end", json_object_get(counts, "end"));
    json_decref(counts);
    return h;
}

/* The filter panel's options and current values. */
static json_t *filter_panel(ar_request *req, const timeline_query *q)
{
    json_t *clients = active_list(ar_client_list, req);
    json_t *projects = project_list_all(req);
    json_t *p = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o}", "start_date", q->start_date, "end_date",
                          q->end_date, "tag", q->tag, "search", q->search, "clients",
                          wl_id_options(clients, id_value(q->client)), "projects",
                          wl_id_options(projects, id_value(q->project)), "work_types",
                          static_options(work_types, COUNT(work_types), q->work_type), "statuses",
                          static_options(statuses, COUNT(statuses), q->status), "tags", tag_suggestions(req));
    json_object_set_new(p, "active", json_boolean(*q->start_date || *q->end_date || *q->tag || *q->project ||
                                                  *q->client || *q->work_type || *q->status));
    json_object_set_new(p, "has_clients", json_boolean(json_array_size(json_object_get(clients, "results")) > 0));
    json_object_set_new(p, "has_projects", json_boolean(json_array_size(json_object_get(projects, "results")) > 0));
    json_decref(clients);
    json_decref(projects);
    return p;
}

void web_worklog(ar_request *req)
{
    timeline_query q;
    read_query(req, &q);
    ar_error err = {0};
    json_t *data = json_object();
    json_t *results = timeline_results(req, &q, &err);
    int status = 200;
    if (!results) {
        if (err.code != AR_ERR_VALIDATION) {
            json_decref(data);
            ar_respond_error(req, &err);
            ar_error_clear(&err);
            return;
        }
        status = 422;
        json_object_set_new(data, "errors", web_form_errors(&err));
        ar_error_clear(&err);
        results = json_pack("{s:[],s:[],s:b,s:b}", "groups", "results", "empty", 0, "first_page", 1);
    }
    json_object_set_new(data, "list", results);
    json_object_set_new(data, "filters", filter_panel(req, &q));
    json_t *heat = heatmap(req);
    if (heat) json_object_set_new(data, "heatmap", heat);
    json_object_set_new(data, "nav", json_pack("{s:b}", "worklog", 1));
    json_object_set_new(data, "can_write", json_boolean(ar_worklog_can_write(&req->ctx)));
    wl_flash_from_query(req, data);
    /* after a delete: an Undo button for the entry just deleted (only when it is still restorable) */
    const char *done = wl_query(req, "done");
    long long undo = id_value(wl_query(req, "undo"));
    if (strcmp(done, "deleted") == 0 && undo) {
        json_t *gone = ar_worklog_get(&req->ctx, undo, 1, &err);
        ar_error_clear(&err);
        if (gone && json_is_string(json_object_get(gone, "deleted_at"))) {
            json_t *v = entry_view(gone, 0);
            json_object_set_new(data, "undo", v);
        }
        json_decref(gone);
    }
    web_page(req, status, "pages/worklog", "Worklog", data);
}

void web_worklog_results(ar_request *req)
{
    timeline_query q;
    read_query(req, &q);
    ar_error err = {0};
    json_t *results = timeline_results(req, &q, &err);
    if (!results) {
        if (err.code == AR_ERR_VALIDATION) {
            json_t *data = json_pack("{s:{s:[],s:[],s:b,s:b},s:o}", "list", "groups", "results", "empty", 0,
                                     "first_page", 1, "errors", web_form_errors(&err));
            ar_respond_page(req, 422, "partials/worklog_results", NULL, data);
        } else {
            ar_respond_error(req, &err);
        }
        ar_error_clear(&err);
        return;
    }
    ar_respond_page(req, 200, "partials/worklog_results", NULL, json_pack("{s:o}", "list", results));
    /* a new search or filter (not "load more"): the address bar follows, so reload and sharing keep them,
     * without adding a history entry per keystroke */
    if (!*q.cursor && wl_is_htmx(req)) {
        ar_buf url = AR_BUF_INIT;
        ar_buf_puts(&url, "/worklog");
        filters_query(&url, &q);
        ar_response_header(req, "HX-Replace-Url", ar_buf_cstr(&url));
        ar_buf_free(&url);
    }
}

/* ---- detail, edit, delete, restore ------------------------------------------------------------------ */

/* The entry named by the {id} path parameter, or NULL after answering 404 (or the service's error). */
static json_t *load_entry(ar_request *req, long long *id_out, int include_deleted)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    json_t *entry = NULL;
    if (!id)
        ar_error_set(&err, AR_ERR_NOT_FOUND, "No such entry.");
    else
        entry = ar_worklog_get(&req->ctx, id, include_deleted, &err);
    if (!entry) {
        ar_respond_error(req, &err);
        ar_error_clear(&err);
        return NULL;
    }
    *id_out = id;
    return entry;
}

void web_worklog_entry(ar_request *req)
{
    /* The route table matches in order and GET /worklog/{id} comes before the import/export pages'
     * /worklog/export and /worklog/import: hand those two names to their handlers (same auth, no body). */
    const char *name = ar_req_param(req, "id");
    if (name && strcmp(name, "export") == 0) {
        web_worklog_export(req);
        return;
    }
    if (name && strcmp(name, "import") == 0) {
        web_worklog_import(req);
        return;
    }
    long long id;
    json_t *entry = load_entry(req, &id, 0);
    if (!entry) return;
    json_t *data = json_pack("{s:o,s:{s:b},s:b}", "entry", entry_view(entry, 1), "nav", "worklog", 1, "can_write",
                             ar_worklog_can_write(&req->ctx));
    json_t *title = json_object_get(json_object_get(data, "entry"), "display_title");
    wl_flash_from_query(req, data);
    /* the evidence section (templates/partials/attachments.mustache, src/web/attachments.c) */
    json_object_set_new(data, "evidence", web_attachments_context(req, id));
    char *page_title = ar_strdup(json_string_value(title) ? json_string_value(title) : "Entry");
    json_decref(entry);
    web_page(req, 200, "pages/worklog_entry", page_title, data);
    free(page_title);
}

/* Edit form values from an entry (strings, as the inputs show them). */
static json_t *edit_form_from_entry(json_t *e)
{
    json_t *f = json_object();
    static const char *const text_fields[] = {"occurred_on", "title", "content", "outcome", "impact", "next_steps",
                                              "work_type", "status", "visibility"};
    for (size_t i = 0; i < COUNT(text_fields); i++) {
        const char *v = json_string_value(json_object_get(e, text_fields[i]));
        json_object_set_new(f, text_fields[i], json_string(v ? v : ""));
    }
    static const char *const int_fields[] = {"effort_minutes", "impact_score", "client", "project"};
    for (size_t i = 0; i < COUNT(int_fields); i++) {
        json_t *v = json_object_get(e, int_fields[i]);
        char s[24] = "";
        if (json_is_integer(v)) snprintf(s, sizeof s, "%lld", (long long)json_integer_value(v));
        json_object_set_new(f, int_fields[i], json_string(s));
    }
    ar_buf tags = AR_BUF_INIT;
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(e, "tags"), i, t)
    {
        if (i) ar_buf_puts(&tags, ", ");
        ar_buf_puts(&tags, json_string_value(t) ? json_string_value(t) : "");
    }
    json_object_set_new(f, "tags", json_string(ar_buf_cstr(&tags)));
    ar_buf_free(&tags);
    return f;
}

static void edit_page(ar_request *req, int status, long long id, json_t *form, json_t *errors)
{
    json_t *clients = active_list(ar_client_list, req);
    json_t *projects = project_list_all(req);
    const char *wt = json_string_value(json_object_get(form, "work_type"));
    const char *st = json_string_value(json_object_get(form, "status"));
    const char *vis = json_string_value(json_object_get(form, "visibility"));
    json_t *data = json_pack(
        "{s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:{s:b}}", "id", (json_int_t)id, "form", form, "clients",
        wl_id_options(clients, id_value(json_string_value(json_object_get(form, "client")))), "projects",
        wl_id_options(projects, id_value(json_string_value(json_object_get(form, "project")))), "work_types",
        static_options(work_types, COUNT(work_types), wt), "statuses", static_options(statuses, COUNT(statuses), st),
        "visibilities", static_options(visibilities, COUNT(visibilities), vis), "tag_suggestions", tag_suggestions(req),
        "nav", "worklog", 1);
    json_decref(clients);
    json_decref(projects);
    if (errors) json_object_set_new(data, "errors", errors);
    web_page(req, status, "pages/worklog_edit", "Edit entry", data);
}

void web_worklog_edit(ar_request *req)
{
    long long id;
    json_t *entry = load_entry(req, &id, 0);
    if (!entry) return;
    json_t *form = edit_form_from_entry(entry);
    json_decref(entry);
    edit_page(req, 200, id, form, NULL);
}

void web_worklog_update(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    if (!id) {
        ar_respond_error_code(req, AR_ERR_NOT_FOUND, "No such entry.");
        return;
    }
    static const char *const text_fields[] = {"occurred_on", "title", "content", "outcome", "impact", "next_steps",
                                              "work_type", "status", "visibility", "tags", "client", "project"};
    static const char *const nullable[] = {"effort_minutes", "impact_score"};
    json_t *form = json_object(), *body = json_object();
    for (size_t i = 0; i < COUNT(text_fields); i++) {
        json_object_set_new(form, text_fields[i], json_string(wl_field(req, text_fields[i])));
        json_object_set_new(body, text_fields[i], json_string(wl_field(req, text_fields[i])));
    }
    for (size_t i = 0; i < COUNT(nullable); i++) {
        const char *v = wl_field(req, nullable[i]);
        json_object_set_new(form, nullable[i], json_string(v));
        json_object_set_new(body, nullable[i], *v ? json_string(v) : json_null());
    }
    /* PATCH semantics with every field of the form present: fields the form does not show (source,
     * import_key) keep their values. */
    json_t *entry = ar_worklog_update(&req->ctx, id, body, 1, &err);
    json_decref(body);
    if (!entry) {
        if (err.code == AR_ERR_NOT_FOUND) {
            json_decref(form);
            ar_respond_error(req, &err);
        } else {
            edit_page(req, wl_error_status(&err), id, form, web_form_errors(&err));
        }
        ar_error_clear(&err);
        return;
    }
    json_decref(entry);
    json_decref(form);
    char location[64];
    snprintf(location, sizeof location, "/worklog/%lld?done=updated", id);
    ar_respond_redirect(req, 303, location);
}

void web_worklog_delete(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    if (!id || ar_worklog_delete(&req->ctx, id, &err) != 0) {
        if (!id) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such entry.");
        ar_respond_error(req, &err);
        ar_error_clear(&err);
        return;
    }
    char location[80];
    snprintf(location, sizeof location, "/worklog?done=deleted&undo=%lld", id);
    ar_respond_redirect(req, 303, location);
}

void web_worklog_restore(ar_request *req)
{
    ar_error err = {0};
    long long id = ar_req_id_param(req, "id");
    json_t *entry = id ? ar_worklog_restore(&req->ctx, id, &err) : NULL;
    if (!entry) {
        if (!id) ar_error_set(&err, AR_ERR_NOT_FOUND, "No such entry.");
        ar_respond_error(req, &err);
        ar_error_clear(&err);
        return;
    }
    json_decref(entry);
    char location[64];
    snprintf(location, sizeof location, "/worklog/%lld?done=restored", id);
    ar_respond_redirect(req, 303, location);
}

void web_worklog_deleted(ar_request *req)
{
    ar_error err = {0};
    ar_worklog_filter f = {0};
    f.deleted = 1;
    f.limit = AR_WORKLOG_LIST_MAX;
    f.cursor = wl_query(req, "cursor");
    json_t *page = ar_worklog_list(&req->ctx, &f, &err);
    if (!page) {
        ar_respond_error(req, &err);
        ar_error_clear(&err);
        return;
    }
    json_t *items = json_array();
    size_t i;
    json_t *e;
    time_t now = time(NULL);
    json_array_foreach(json_object_get(page, "results"), i, e)
    {
        json_t *v = entry_view(e, 0);
        const char *deleted_at = json_string_value(json_object_get(e, "deleted_at"));
        struct tm tm = {0};
        if (deleted_at && strptime(deleted_at, "%Y-%m-%dT%H:%M:%SZ", &tm)) {
            long long left = AR_WORKLOG_RESTORE_DAYS - (long long)(now - timegm(&tm)) / 86400;
            if (left < 0) left = 0;
            char s[64];
            snprintf(s, sizeof s, "%lld %s left", left, left == 1 ? "day" : "days");
            json_object_set_new(v, "days_left", json_string(s));
        }
        json_array_append_new(items, v);
    }
    json_t *data = json_pack("{s:o,s:b,s:{s:b},s:i}", "entries", items, "empty", json_array_size(items) == 0, "nav",
                             "worklog", 1, "restore_days", AR_WORKLOG_RESTORE_DAYS);
    const char *next = json_string_value(json_object_get(page, "next"));
    if (next) {
        ar_buf u = AR_BUF_INIT;
        ar_buf_puts(&u, "/worklog/deleted?cursor=");
        ar_buf_put_urlencoded(&u, next, NULL);
        json_object_set_new(data, "next_url", json_string(ar_buf_cstr(&u)));
        ar_buf_free(&u);
    }
    json_decref(page);
    web_page(req, 200, "pages/worklog_deleted", "Recently deleted", data);
}
