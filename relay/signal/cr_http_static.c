/*
 * Serving client/web: path mapping and checks, file reading, and the HTTP handlers for pages,
 * assets and the classroom page's layer selector. See cr_http_static.h for the rules.
 *
 * Every reply carries "cache-control: no-store" (cr_http.c). That is right for these files too: the
 * pages have no build step and so no versioned asset names, and a classroom PC must never keep
 * yesterday's script after the relay is upgraded. They are a few tens of KiB, loaded once per lesson.
 */
#include "cr_http_static.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cr_api_err.h"
#include "cr_auth.h"
#include "cr_err.h"
#include "cr_http_int.h"

#ifndef CR_WEB_ROOT
#define CR_WEB_ROOT "client/web"
#endif
#ifndef CR_WEB_ROOT_INSTALLED
#define CR_WEB_ROOT_INSTALLED "/usr/local/share/classrelay/web"
#endif

static const struct {
    const char *ext;
    const char *type;
} content_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
};

const char *cr_static_content_type(const char *rel)
{
    const char *dot = strrchr(rel, '.');
    if (dot == NULL || strchr(dot, '/') != NULL)
        return NULL;
    for (size_t i = 0; i < sizeof(content_types) / sizeof(content_types[0]); i++)
        if (strcmp(dot, content_types[i].ext) == 0)
            return content_types[i].type;
    return NULL;
}

static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

int cr_static_path_ok(const char *rel)
{
    size_t len = strlen(rel);
    unsigned depth = 1;
    if (len == 0 || len > CR_STATIC_MAX_PATH)
        return 0;
    for (size_t i = 0; i < len; i++) {
        int seg_start = i == 0 || rel[i - 1] == '/';
        if (seg_start && (rel[i] == '.' || rel[i] == '-' || rel[i] == '/'))
            return 0; /* "..", ".hidden", "-x", "a//b" and a leading '/' */
        if (rel[i] == '/') {
            if (++depth > CR_STATIC_MAX_DEPTH)
                return 0;
        } else if (!name_char(rel[i])) {
            return 0; /* also '\\', '%', NUL-like bytes and anything non-ASCII */
        }
    }
    if (rel[len - 1] == '/')
        return 0;
    return cr_static_content_type(rel) != NULL;
}

static int copy_rel(const char *src, char *rel, size_t cap)
{
    size_t n = strlen(src);
    if (n >= cap || !cr_static_path_ok(src))
        return CR_EINVAL;
    memcpy(rel, src, n + 1);
    return 0;
}

int cr_static_map(const char *url_path, char *rel, size_t cap)
{
    static const struct {
        const char *prefix;
        const char *file;
    } pages[] = {{"/class/", "class.html"}, {"/teach/", "teach.html"}};

    for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
        size_t pl = strlen(pages[i].prefix);
        if (strncmp(url_path, pages[i].prefix, pl) != 0)
            continue;
        const char *id = url_path + pl;
        if (!cr_class_id_valid(id, strlen(id)))
            return CR_EINVAL;
        return copy_rel(pages[i].file, rel, cap);
    }
    if (strncmp(url_path, "/web/", 5) == 0)
        return copy_rel(url_path + 5, rel, cap);
    return CR_ENOTFOUND;
}

const char *cr_static_root(const char *conf_root)
{
    static const char *builtin; /* control thread only */
    struct stat st;
    if (conf_root != NULL && conf_root[0] != '\0')
        return conf_root;
    if (builtin == NULL)
        builtin = stat(CR_WEB_ROOT, &st) == 0 && S_ISDIR(st.st_mode) ? CR_WEB_ROOT : CR_WEB_ROOT_INSTALLED;
    return builtin;
}

/* Without openat2 (kernels before 5.6, or a seccomp filter that refuses it): walk the segments
 * with O_NOFOLLOW, so no symlink is followed at all. rel has passed cr_static_path_ok. */
int cr__static_open_walk(int dirfd, const char *rel)
{
    char seg[CR_STATIC_MAX_PATH + 1];
    int cur = dirfd;
    for (;;) {
        size_t n = strcspn(rel, "/");
        if (rel[n] == '\0') {
            int fd = openat(cur, rel, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
            if (cur != dirfd)
                close(cur);
            return fd;
        }
        if (n >= sizeof(seg)) {
            errno = ENAMETOOLONG;
            break;
        }
        memcpy(seg, rel, n);
        seg[n] = '\0';
        int next = openat(cur, seg, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (cur != dirfd)
            close(cur);
        if (next < 0)
            return -1;
        cur = next;
        rel += n + 1;
    }
    if (cur != dirfd)
        close(cur);
    return -1;
}

/* Opens rel beneath the directory dirfd: openat2 refuses any resolution that leaves it (a symlink
 * out of the tree included) and keeps symlinks that stay inside. */
static int open_beneath(int dirfd, const char *rel)
{
#ifdef SYS_openat2
    struct open_how how = {
        .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    int fd = (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
    if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
        return fd;
#endif
    return cr__static_open_walk(dirfd, rel);
}

int cr_static_read(const char *root, const char *rel, size_t max, char **body, size_t *len)
{
    struct stat st;
    char *buf = NULL;
    int rc = CR_ENOTFOUND, fd = -1;
    int dirfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    *body = NULL;
    *len = 0;
    if (dirfd < 0)
        goto Exit;
    fd = open_beneath(dirfd, rel);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        goto Exit;
    rc = CR_ETOOBIG;
    if ((uint64_t)st.st_size > max)
        goto Exit;
    rc = CR_ENOMEM;
    if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
        goto Exit;
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* a file that shrank while read is served as far as it goes */
        got += (size_t)n;
    }
    buf[got] = '\0';
    *body = buf;
    *len = got;
    buf = NULL;
    rc = 0;
Exit:
    free(buf);
    if (fd >= 0)
        close(fd);
    if (dirfd >= 0)
        close(dirfd);
    return rc;
}

/* --- HTTP handlers --- */

static void serve(cr_http_t *h, cr_http_request_t *rq, int map_rc, const char *rel)
{
    cr_relay_reply_t *rep = &rq->reply;
    if (map_rc == CR_EINVAL && strncmp(rq->path, "/web/", 5) != 0) {
        cr_relay_reply_error(rep, CR_API_BAD_CLASS_ID, NULL);
        return;
    }
    if (map_rc != 0) {
        cr_relay_reply_error(rep, CR_API_NO_ROUTE, rq->path);
        return;
    }
    int rc = cr_static_read(cr_static_root(h->conf->web_root), rel, CR_STATIC_MAX_FILE, &rep->body,
                            &rep->body_len);
    if (rc == CR_ENOTFOUND || rc == CR_ETOOBIG) {
        cr_relay_reply_error(rep, CR_API_NO_ROUTE, rq->path);
        return;
    }
    if (rc != 0) {
        cr_relay_reply_error(rep, CR_API_INTERNAL, cr_strerror(rc));
        return;
    }
    rep->status = 200;
    rep->content_type = cr_static_content_type(rel);
}

void cr__http_static(cr_http_t *h, struct lws *wsi, cr_http_request_t *rq)
{
    char rel[CR_STATIC_MAX_PATH + 1];
    (void)wsi;
    serve(h, rq, cr_static_map(rq->path, rel, sizeof(rel)), rel);
}

void cr__http_layer(cr_http_t *h, struct lws *wsi, cr_http_request_t *rq)
{
    static const char suffix[] = "/layer";
    char id[CR_RESOURCE_ID_LEN + 1], rid[CR_RID_MAX], auth[CR_AUTH_TOKEN_MAX + 16];
    const char *start = rq->path + strlen("/resource/");
    size_t n = strlen(start);
    if (n <= strlen(suffix) || strcmp(start + n - strlen(suffix), suffix) != 0 ||
        n - strlen(suffix) > CR_RESOURCE_ID_LEN) {
        cr_relay_reply_error(&rq->reply, CR_API_NO_ROUTE, rq->path);
        return;
    }
    memcpy(id, start, n - strlen(suffix));
    id[n - strlen(suffix)] = '\0';
    if (cr_relay_layer_parse(rq->body ? rq->body : "", rq->body_len, rid, sizeof(rid)) != 0) {
        cr_relay_reply_error(&rq->reply, CR_API_BAD_REQUEST, "layer must be h, m, l or auto (or JSON {\"rid\":...})");
        return;
    }
    cr_relay_req_t req = {.auth = NULL, .query = rq->query, .loopback = 0};
    if (cr__http_header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, auth, sizeof(auth)) > 0)
        req.auth = auth;
    cr_relay_set_layer(h->relay, id, rid, &req, &rq->reply);
}
