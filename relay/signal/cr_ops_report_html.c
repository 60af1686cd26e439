/*
 * The HTML page of a lesson report (cr_ops_report.h): one self-contained page, no script, every
 * string from the report escaped.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cr_ops_report.h"

#define HTML_MAX (1u << 20)
#define HLIT(b, lit) hput((b), lit, sizeof(lit) - 1)

typedef struct hbuf {
    char *p;
    size_t len, cap;
    int failed;
} hbuf_t;

static void hput(hbuf_t *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *np = cap <= HTML_MAX ? realloc(b->p, cap) : NULL;
        if (np == NULL) {
            b->failed = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void hf(hbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void hf(hbuf_t *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        hput(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void hesc(hbuf_t *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': HLIT(b, "&lt;"); break;
        case '>': HLIT(b, "&gt;"); break;
        case '&': HLIT(b, "&amp;"); break;
        case '"': HLIT(b, "&quot;"); break;
        case '\'': HLIT(b, "&#39;"); break;
        default: hput(b, s, 1);
        }
    }
}

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static double num(const json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

static void put_time(hbuf_t *b, json_int_t t)
{
    if (t <= 0) {
        HLIT(b, "-");
        return;
    }
    char s[40];
    struct tm tm;
    time_t tt = (time_t)t;
    gmtime_r(&tt, &tm);
    strftime(s, sizeof(s), "%Y-%m-%d %H:%M:%S UTC", &tm);
    hput(b, s, strlen(s));
}

static void summary(hbuf_t *b, const json_t *r)
{
    const json_t *ontime = json_object_get(r, "started_on_time"), *rate = json_object_get(r, "attendance_rate");
    HLIT(b, "<table class=sum>");
    hf(b, "<tr><th>class</th><td>");
    hesc(b, str(r, "class"));
    hf(b, " (");
    hesc(b, str(r, "kind"));
    hf(b, ")</td></tr><tr><th>teacher</th><td>");
    hesc(b, str(r, "teacher"));
    hf(b, "</td></tr><tr><th>scheduled start</th><td>");
    put_time(b, json_integer_value(json_object_get(r, "scheduled_start")));
    hf(b, "</td></tr><tr><th>started</th><td>");
    put_time(b, json_integer_value(json_object_get(r, "started")));
    hf(b, " &mdash; %s</td></tr><tr><th>ended</th><td>",
       json_is_null(ontime) ? "no timetable" : json_is_true(ontime) ? "on time" : "late");
    put_time(b, json_integer_value(json_object_get(r, "ended")));
    hf(b, " (%.1f min)</td></tr>", num(r, "minutes"));
    hf(b, "<tr><th>classrooms attended (到课)</th><td>%lld", (long long)json_integer_value(json_object_get(r, "attended")));
    if (json_is_number(rate))
        hf(b, " of %lld invited: %.0f%%", (long long)json_integer_value(json_object_get(r, "invited")),
           json_number_value(rate) * 100);
    HLIT(b, "</td></tr></table>\n");
}

static void dist_cell(hbuf_t *b, const json_t *d)
{
    hf(b, "<td>%.2f / %.2f</td>", num(d, "mean"), num(d, "max"));
}

static void rooms(hbuf_t *b, const json_t *r)
{
    HLIT(b, "<table class=rooms><tr><th>classroom</th><th>school</th><th>minutes</th><th>freezes</th>"
            "<th>longest freeze (s)</th><th>loss % mean / max</th><th>RTT ms mean / max</th>"
            "<th>jitter ms mean / max</th><th>layers (s)</th><th>below floor (s)</th></tr>\n");
    size_t i;
    json_t *rm;
    json_array_foreach(json_object_get(r, "classrooms"), i, rm)
    {
        const json_t *fr = json_object_get(rm, "freezes");
        HLIT(b, "<tr><td>");
        hesc(b, str(rm, "classroom"));
        if (!json_is_true(json_object_get(rm, "invited")))
            HLIT(b, " (not invited)");
        HLIT(b, "</td><td>");
        hesc(b, str(rm, "school"));
        hf(b, "</td><td>%.1f</td><td>%lld</td><td>%lld</td>", num(rm, "minutes_attended"),
           (long long)json_integer_value(json_object_get(fr, "count")),
           (long long)json_integer_value(json_object_get(fr, "longest_s")));
        dist_cell(b, json_object_get(rm, "loss_percent"));
        dist_cell(b, json_object_get(rm, "rtt_ms"));
        dist_cell(b, json_object_get(rm, "jitter_ms"));
        HLIT(b, "<td>");
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(rm, "layers_seconds"), k, v)
        {
            hesc(b, k);
            hf(b, ":%lld ", (long long)json_integer_value(v));
        }
        hf(b, "</td><td>%lld</td></tr>\n", (long long)json_integer_value(json_object_get(rm, "below_floor_s")));
    }
    HLIT(b, "</table>\n");
}

char *cr_ops_report_html(const json_t *r)
{
    hbuf_t b = {0};
    HLIT(&b, "<!doctype html>\n<html><head><meta charset=utf-8><title>Lesson report: ");
    hesc(&b, str(r, "title"));
    HLIT(&b, "</title><style>body{font:14px system-ui,sans-serif;margin:2em;color:#222}"
             "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
             "th{background:#f3f3f3}</style></head><body>\n<h1>");
    hesc(&b, str(r, "title"));
    HLIT(&b, "</h1>\n");
    summary(&b, r);
    rooms(&b, r);
    HLIT(&b, "</body></html>\n");
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    return b.p;
}
