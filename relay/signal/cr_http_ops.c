/*
 * GET /api/ops: the operator view as JSON (what the dashboard receives each second over /ws, and what
 * `classrelay status` prints); GET /api/reports: the lesson reports written since start-up, and
 * /api/reports/<name>.json or .html one of them from [ops] report_dir. Operator or admin token.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cr_api_err.h"
#include "cr_auth.h"
#include "cr_http_ops.h"
#include "cr_http_static.h"
#include "cr_ops.h"
#include "cr_ops_report.h"
#include "cr_relay_stats.h"

#define CR_REPORT_FILE_MAX (4u << 20)

int cr__http_peer_is_loopback(struct lws *wsi);

static int allowed(cr_http_t *h, struct lws *wsi, cr_http_request_t *rq)
{
    char auth[CR_AUTH_TOKEN_MAX + 16] = "", detail[128];
    if (cr__http_header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, auth, sizeof(auth)) <= 0)
        auth[0] = '\0';
    int code = cr_relay_check_operator(h->relay, auth, 0, cr__http_peer_is_loopback(wsi), detail, sizeof(detail));
    if (code != 0)
        cr_relay_reply_error(&rq->reply, code, detail);
    return code == 0;
}

static void reply_json(cr_http_request_t *rq, json_t *j)
{
    rq->reply.body = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(j);
    if (rq->reply.body == NULL) {
        cr_relay_reply_error(&rq->reply, CR_API_INTERNAL, "cannot encode JSON");
        return;
    }
    rq->reply.body_len = strlen(rq->reply.body);
    rq->reply.status = 200;
    rq->reply.content_type = "application/json";
}

void cr__http_ops(cr_http_t *h, struct lws *wsi, cr_http_request_t *rq)
{
    if (!allowed(h, wsi, rq))
        return;
    cr_ops_tick(h->relay, (int64_t)time(NULL));
    reply_json(rq, cr_ops_snapshot_json(h->relay));
}

/* A report name: the class id, '-', a UTC time stamp; nothing that could leave the directory. */
static int name_ok(const char *s, size_t len)
{
    if (len == 0 || len > 100)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '-' || s[i] == '_'))
            return 0;
    return 1;
}

static void serve_file(cr_http_t *h, cr_http_request_t *rq, const char *name, size_t len, const char *ext)
{
    char path[1200];
    snprintf(path, sizeof(path), "%s/%.*s%s", cr_relay_conf(h->relay)->report_dir, (int)len, name, ext);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)CR_REPORT_FILE_MAX) {
        if (fd >= 0)
            close(fd);
        cr_relay_reply_error(&rq->reply, CR_API_NOT_FOUND, "no such report");
        return;
    }
    char *body = malloc((size_t)st.st_size + 1);
    ssize_t got = body ? read(fd, body, (size_t)st.st_size) : -1;
    close(fd);
    if (got != (ssize_t)st.st_size) {
        free(body);
        cr_relay_reply_error(&rq->reply, CR_API_INTERNAL, "cannot read the report");
        return;
    }
    body[got] = '\0';
    rq->reply.status = 200;
    rq->reply.body = body;
    rq->reply.body_len = (size_t)got;
    rq->reply.content_type = strcmp(ext, ".json") == 0 ? "application/json" : "text/html; charset=utf-8";
}

void cr__http_reports(cr_http_t *h, struct lws *wsi, cr_http_request_t *rq)
{
    if (!allowed(h, wsi, rq))
        return;
    const char *rest = rq->path + strlen("/api/reports");
    if (rest[0] == '\0' || strcmp(rest, "/") == 0) {
        const char(*names)[128];
        size_t n = cr_ops_reports(&names);
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, json_pack("{s:s,s:s,s:s}", "name", names[i], "json",
                                                 "", "html", ""));
        for (size_t i = 0; i < n; i++) {
            char url[200];
            json_t *o = json_array_get(arr, i);
            snprintf(url, sizeof(url), "/api/reports/%s.json", names[i]);
            json_object_set_new(o, "json", json_string(url));
            snprintf(url, sizeof(url), "/api/reports/%s.html", names[i]);
            json_object_set_new(o, "html", json_string(url));
        }
        reply_json(rq, json_pack("{s:s,s:o}", "dir", cr_relay_conf(h->relay)->report_dir, "reports", arr));
        return;
    }
    const char *name = rest + 1, *dot = strrchr(name, '.');
    if (dot == NULL || !name_ok(name, (size_t)(dot - name)) || (strcmp(dot, ".json") != 0 && strcmp(dot, ".html") != 0)) {
        cr_relay_reply_error(&rq->reply, CR_API_NOT_FOUND, "no such report");
        return;
    }
    serve_file(h, rq, name, (size_t)(dot - name), dot);
}

void cr__http_ops_page(cr_http_t *h, struct lws *wsi, cr_http_request_t *rq)
{
    (void)wsi;
    int rc = cr_static_read(cr_static_root(h->conf->web_root), "ops/index.html", CR_STATIC_MAX_FILE, &rq->reply.body,
                            &rq->reply.body_len);
    if (rc != 0) {
        cr_relay_reply_error(&rq->reply, CR_API_NO_ROUTE, "the dashboard page is not installed (client/web/ops)");
        return;
    }
    rq->reply.status = 200;
    rq->reply.content_type = "text/html; charset=utf-8";
}
