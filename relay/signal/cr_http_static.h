/*
 * The web pages the relay serves from web_root (client/web/ in the source tree): the classroom page
 * at /class/<class-id>, the teacher page at /teach/<class-id> and their assets at /web/<file>, plus
 * the classroom page's layer selector, POST /resource/<id>/layer.
 *
 * Static files are a remote-controlled path into the file system, so the mapping is deliberately
 * narrow: a URL maps to a relative path only if every segment is made of [A-Za-z0-9_.-], starts
 * with neither '.' nor '-' (so no "..", no hidden files, nothing that looks like an option), the
 * path is at most CR_STATIC_MAX_PATH bytes and CR_STATIC_MAX_DEPTH segments deep, and it ends in an
 * extension of the allow-list (cr_static_content_type). The file is then opened beneath web_root
 * with openat2(RESOLVE_BENEATH) where the kernel has it, must be a regular file, and at most
 * CR_STATIC_MAX_FILE bytes.
 */
#ifndef CR_HTTP_STATIC_H
#define CR_HTTP_STATIC_H

#include <stddef.h>

#include "cr_http.h"

#define CR_STATIC_MAX_PATH 128            /* bytes of a relative path under web_root */
#define CR_STATIC_MAX_DEPTH 4             /* directory segments of a relative path */
#define CR_STATIC_MAX_FILE (1024 * 1024)  /* the largest file served */

/** Returns 1 if rel (NUL-terminated, relative to web_root) passes every rule above, else 0. */
int cr_static_path_ok(const char *rel);

/** The Content-Type for rel's extension, or NULL if the extension is not on the allow-list. */
const char *cr_static_content_type(const char *rel);

/**
 * Maps a URL path (without query) to the file to serve, written to rel (cap bytes):
 * "/class/<class-id>" -> "class.html", "/teach/<class-id>" -> "teach.html", "/web/<rel>" -> rel.
 * Returns 0, CR_EINVAL for an invalid class id or a path that breaks the rules, or CR_ENOTFOUND for
 * a URL outside these three prefixes.
 */
int cr_static_map(const char *url_path, char *rel, size_t cap);

/**
 * Reads root/rel into a malloc'ed buffer (*body, owned by the caller; NUL-terminated, *len bytes
 * without the NUL) if it is a regular file of at most max bytes beneath root. rel must have passed
 * cr_static_path_ok. Returns 0, CR_ENOTFOUND (missing, not a regular file, or escapes root),
 * CR_ETOOBIG or CR_EIO / CR_ENOMEM.
 */
int cr_static_read(const char *root, const char *rel, size_t max, char **body, size_t *len);

/**
 * cr_static_read's way of opening rel beneath dirfd where openat2 is unavailable: every segment
 * with O_NOFOLLOW. Returns a file descriptor or -1 with errno. Exported for the unit test.
 */
int cr__static_open_walk(int dirfd, const char *rel);

/**
 * The web root in use: conf_root if set, else the built-in path: the source tree's client/web while
 * that directory exists, else the installed copy (<prefix>/share/classrelay/web).
 */
const char *cr_static_root(const char *conf_root);

struct lws;
struct cr_http_request;

/** Route handler for GET /class/<id>, /teach/<id> (the page for that class) and /web/<file>. */
void cr__http_static(cr_http_t *h, struct lws *wsi, struct cr_http_request *rq);

/**
 * Route handler for POST /resource/<id>/layer with body "h", "m", "l", "auto" (the best layer), or
 * JSON {"rid":"l"} / {"rid":null}: cr_relay_set_layer. Other POSTs under /resource/ get 4043.
 */
void cr__http_layer(cr_http_t *h, struct lws *wsi, struct cr_http_request *rq);

#endif
