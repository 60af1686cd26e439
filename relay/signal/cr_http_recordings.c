/*
 * The recordings API (cr_http_recordings.h): listing sidecars, starting and stopping recorders,
 * and downloads with byte ranges. Names come only from the recorder (relay/supervise/cr_recfile.h);
 * every file is opened relative to the recordings directory, without following a symlink.
 */
#include "cr_http_recordings.h"

#include <dirent.h>
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
#include "cr_clock.h"
#include "cr_json_guard.h"
#include "cr_recfile.h"
#include "cr_relay_stats.h"
#include "cr_workers.h"

int cr__http_peer_is_loopback(struct lws *wsi);

struct cr__http_file {
    int fd;
    int status;            /* 200, 206 or 416 */
    uint64_t off, left, size, first;
    const char *type;
    char name[CR_RECFILE_NAME_MAX + 1];
    int headers_sent;
    unsigned char *buf;    /* LWS_PRE + CR_RECORDINGS_CHUNK */
};

/* Operator or admin token; a change (POST, DELETE) also needs loopback unless admin_remote. */
static int allowed(cr_http_t *h, struct lws *wsi, cr_http_request_t *rq)
{
    char auth[CR_AUTH_TOKEN_MAX + 16] = "", detail[128];
    int loopback = cr__http_peer_is_loopback(wsi);
    if (rq->method != CR_HTTP_GET && !loopback && !h->conf->admin_remote) {
        cr_relay_reply_error(&rq->reply, CR_API_NOT_LOOPBACK, "recordings are started and stopped from loopback "
                                                              "unless [auth] admin_remote = true");
        return 0;
    }
    if (cr__http_header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, auth, sizeof(auth)) <= 0)
        auth[0] = '\0';
    int code = cr_relay_check_operator(h->relay, auth, 0, loopback, detail, sizeof(detail));
    if (code != 0)
        cr_relay_reply_error(&rq->reply, code, detail);
    return code == 0;
}

static void reply_json(cr_http_request_t *rq, int status, json_t *j)
{
    rq->reply.body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (rq->reply.body == NULL) {
        cr_relay_reply_error(&rq->reply, CR_API_INTERNAL, "cannot encode JSON");
        return;
    }
    rq->reply.body_len = strlen(rq->reply.body);
    rq->reply.status = status;
    rq->reply.content_type = "application/json";
}

/* --- GET /api/recordings --- */

/* A sidecar (name in dirfd) as JSON with its name, or NULL if it cannot be read. */
static json_t *load_sidecar(int dirfd, const char *name)
{
    struct stat st;
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return NULL;
    json_t *j = NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size <= CR_RECORDINGS_SIDECAR_MAX) {
        char *text = malloc((size_t)st.st_size + 1);
        ssize_t n = text ? read(fd, text, (size_t)st.st_size) : -1;
        if (n >= 0)
            j = json_loadb(text, (size_t)n, JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK, NULL);
        free(text);
    }
    close(fd);
    if (j != NULL && !json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    if (j != NULL)
        json_object_set_new(j, "sidecar", json_string(name));
    return j;
}

/* Newest first, by the sidecar's ISO start time. */
static int by_start_desc(const void *a, const void *b)
{
    const char *sa = json_string_value(json_object_get(*(json_t *const *)a, "start"));
    const char *sb = json_string_value(json_object_get(*(json_t *const *)b, "start"));
    return strcmp(sb ? sb : "", sa ? sa : "");
}

static void list(cr_http_t *h, cr_http_request_t *rq)
{
    const char *dir = cr_workers_rec_dir(h->workers);
    json_t *recs = json_array(), *items[CR_RECORDINGS_LIST_MAX];
    size_t n = 0;
    int truncated = 0;
    DIR *d = dir ? opendir(dir) : NULL;
    struct dirent *de;
    while (d != NULL && (de = readdir(d)) != NULL) {
        if (cr_recfile_kind(de->d_name, strlen(de->d_name)) != CR_RECFILE_SIDECAR)
            continue;
        if (n == CR_RECORDINGS_LIST_MAX) {
            truncated = 1;
            break;
        }
        json_t *j = load_sidecar(dirfd(d), de->d_name);
        if (j == NULL)
            continue;
        const char *cls = json_string_value(json_object_get(j, "class"));
        const char *state = json_string_value(json_object_get(j, "state"));
        json_t *rec = cls && cr_class_id_valid(cls, strlen(cls)) ? cr_workers_recorder_json(h->workers, cls)
                                                                  : json_null();
        /* A sidecar still saying "recording" with no recorder running was interrupted. */
        int running = json_is_object(rec) && strcmp(json_string_value(json_object_get(rec, "state")), "running") == 0;
        if (state != NULL && strcmp(state, "recording") == 0 && !running)
            json_object_set_new(j, "state", json_string("interrupted"));
        json_decref(rec);
        items[n++] = j;
    }
    if (d != NULL)
        closedir(d);
    qsort(items, n, sizeof(items[0]), by_start_desc);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(recs, items[i]);
    json_t *sup = cr_workers_json(h->workers, cr_now_us() / 1000);
    json_t *body = json_pack("{s:s?, s:o, s:b, s:O}", "dir", dir, "recordings", recs, "truncated", truncated,
                             "workers", json_object_get(sup, "workers"));
    json_decref(sup);
    reply_json(rq, 200, body);
}

/* --- POST /api/recordings, DELETE /api/recordings/<class> --- */

static void start_stop(cr_http_t *h, cr_http_request_t *rq, const char *class_id, int on)
{
    char detail[128];
    int code = cr_workers_record(h->workers, class_id, on, detail, sizeof(detail));
    if (code != 0) {
        cr_relay_reply_error(&rq->reply, code, detail[0] ? detail : NULL);
        return;
    }
    reply_json(rq, on ? 202 : 200, json_pack("{s:s, s:b}", "class", class_id, "recording", on));
}

static void start(cr_http_t *h, cr_http_request_t *rq)
{
    static const cr_json_limits_t lim = {.max_size = 1024, .max_depth = 1, .max_key = 32, .max_string = 128};
    json_t *o = NULL;
    enum cr_json_fail f = cr_json_load_object(rq->body ? rq->body : "", rq->body_len, &lim, &o);
    const char *cls = o ? json_string_value(json_object_get(o, "class")) : NULL;
    if (f != CR_JSON_OK)
        cr_relay_reply_error(&rq->reply, f == CR_JSON_SYNTAX || f == CR_JSON_NOT_OBJECT ? CR_API_BAD_JSON
                                                                                         : CR_API_JSON_LIMIT, NULL);
    else if (cls == NULL)
        cr_relay_reply_error(&rq->reply, CR_API_BAD_REQUEST, "expected {\"class\":\"<class-id>\"}");
    else if (!cr_class_id_valid(cls, strlen(cls)))
        cr_relay_reply_error(&rq->reply, CR_API_BAD_CLASS_ID, NULL); /* "../x" never names a file */
    else
        start_stop(h, rq, cls, 1);
    json_decref(o);
}

/* --- GET /api/recordings/<file> --- */

static void serve(cr_http_t *h, struct lws *wsi, cr_http_request_t *rq, const char *name)
{
    enum cr_recfile_kind kind = cr_recfile_kind(name, strlen(name));
    const char *dir = cr_workers_rec_dir(h->workers);
    struct stat st;
    if (kind == CR_RECFILE_NONE || dir == NULL) {
        cr_relay_reply_error(&rq->reply, CR_API_NOT_FOUND, name);
        return;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int fd = dfd >= 0 ? openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK) : -1;
    if (dfd >= 0)
        close(dfd);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        cr_relay_reply_error(&rq->reply, CR_API_NOT_FOUND, name);
        return;
    }
    struct cr__http_file *f = calloc(1, sizeof(*f));
    if (f == NULL || (f->buf = malloc(LWS_PRE + CR_RECORDINGS_CHUNK)) == NULL) {
        free(f);
        close(fd);
        cr_relay_reply_error(&rq->reply, CR_API_INTERNAL, "out of memory");
        return;
    }
    char range[96];
    int has_range = cr__http_header(wsi, WSI_TOKEN_HTTP_RANGE, range, sizeof(range)) > 0;
    f->fd = fd;
    f->size = (uint64_t)st.st_size;
    f->type = cr_recfile_type(kind);
    snprintf(f->name, sizeof(f->name), "%s", name);
    switch (cr_http_range(has_range ? range : NULL, f->size, &f->first, &f->left)) {
    case 1:
        f->status = 206;
        break;
    case -1:
        f->status = 416;
        f->left = 0;
        break;
    default:
        f->status = 200;
        f->first = 0;
        f->left = f->size;
    }
    f->off = f->first;
    rq->file = f;
    rq->reply.status = f->status;
}

static int add(struct lws *wsi, const char *name, const char *value, unsigned char **p, unsigned char *end)
{
    return lws_add_http_header_by_name(wsi, (const unsigned char *)name, (const unsigned char *)value,
                                       (int)strlen(value), p, end);
}

static int write_headers(struct lws *wsi, struct cr__http_file *f)
{
    unsigned char hb[LWS_PRE + 1024];
    unsigned char *start = hb + LWS_PRE, *p = start, *end = hb + sizeof(hb) - 1;
    char cr[96], cd[CR_RECFILE_NAME_MAX + 48];
    if (f->status == 206)
        snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu", (unsigned long long)f->first,
                 (unsigned long long)(f->first + f->left - 1), (unsigned long long)f->size);
    else
        snprintf(cr, sizeof(cr), "bytes */%llu", (unsigned long long)f->size);
    snprintf(cd, sizeof(cd), "attachment; filename=\"%s\"", f->name);
    if (lws_add_http_common_headers(wsi, (unsigned int)f->status, f->type, (lws_filepos_t)f->left, &p, end) ||
        add(wsi, "accept-ranges:", "bytes", &p, end) || add(wsi, "content-disposition:", cd, &p, end) ||
        add(wsi, "cache-control:", "no-store", &p, end) || add(wsi, "access-control-allow-origin:", "*", &p, end) ||
        add(wsi, "access-control-expose-headers:", "content-range, content-disposition", &p, end) ||
        (f->status != 200 && add(wsi, "content-range:", cr, &p, end)))
        return -1;
    return lws_finalize_write_http_header(wsi, start, &p, end) ? -1 : 0;
}

int cr__http_file_write(struct lws *wsi, cr_http_request_t *rq)
{
    struct cr__http_file *f = rq->file;
    if (!f->headers_sent) {
        if (write_headers(wsi, f) != 0)
            return -1;
        f->headers_sent = 1;
        if (f->left == 0)
            return 1;
        lws_callback_on_writable(wsi);
        return 0;
    }
    size_t want = f->left < CR_RECORDINGS_CHUNK ? (size_t)f->left : CR_RECORDINGS_CHUNK;
    ssize_t got = pread(f->fd, f->buf + LWS_PRE, want, (off_t)f->off);
    if (got < 0 && errno == EINTR) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (got <= 0)
        return -1; /* the file shrank under us: the promised length cannot be kept */
    int last = (uint64_t)got == f->left;
    if (lws_write(wsi, f->buf + LWS_PRE, (size_t)got, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < 0)
        return -1;
    f->off += (uint64_t)got;
    f->left -= (uint64_t)got;
    if (last)
        return 1;
    lws_callback_on_writable(wsi);
    return 0;
}

void cr__http_file_close(cr_http_request_t *rq)
{
    struct cr__http_file *f = rq->file;
    if (f == NULL)
        return;
    close(f->fd);
    free(f->buf);
    free(f);
    rq->file = NULL;
}

/* --- the route --- */

void cr__http_recordings(cr_http_t *h, struct lws *wsi, cr_http_request_t *rq)
{
    const char *rest = rq->path + strlen("/api/recordings");
    if (!allowed(h, wsi, rq))
        return;
    if (rest[0] == '\0' || strcmp(rest, "/") == 0) {
        if (rq->method == CR_HTTP_GET)
            list(h, rq);
        else if (rq->method == CR_HTTP_POST)
            start(h, rq);
        else
            cr_relay_reply_error(&rq->reply, CR_API_METHOD, NULL);
        return;
    }
    const char *arg = rest + 1;
    if (rq->method == CR_HTTP_GET)
        serve(h, wsi, rq, arg);
    else if (rq->method == CR_HTTP_DELETE && cr_class_id_valid(arg, strlen(arg)))
        start_stop(h, rq, arg, 0);
    else if (rq->method == CR_HTTP_DELETE)
        cr_relay_reply_error(&rq->reply, CR_API_BAD_CLASS_ID, NULL);
    else
        cr_relay_reply_error(&rq->reply, CR_API_METHOD, NULL);
}

void cr__http_status_workers(cr_http_t *h, cr_relay_reply_t *rep)
{
    if (rep->status != 200 || rep->body == NULL)
        return;
    json_t *j = json_loadb(rep->body, rep->body_len, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return;
    }
    json_object_set_new(j, "supervised", cr_workers_json(h->workers, cr_now_us() / 1000));
    char *body = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (body == NULL)
        return;
    free(rep->body);
    rep->body = body;
    rep->body_len = strlen(body);
}
