/*
 * A minimal HTTP/1.1 client for the benchmark tools: just enough to POST a WHIP/WHEP offer, DELETE a
 * resource and GET /api/status from the relay over a plain TCP socket (no curl inside the tools).
 *
 * The parsers never allocate and return views into the caller's buffer. Only responses with a
 * Content-Length or ended by the server closing the connection are understood; every request is sent
 * with "Connection: close".
 */
#ifndef CR_BENCH_HTTP_H
#define CR_BENCH_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define CR_BENCH_HTTP_MAX_HEAD 8192     /* bytes of status line + headers accepted */
#define CR_BENCH_HTTP_MAX_RESPONSE (4 << 20) /* bytes of a whole response accepted (/api/status of 800 subscribers with the scheduler section) */

/** A parsed URL "http://HOST[:PORT]/PATH". host and path are NUL-terminated copies. */
typedef struct cr_bench_url {
    char host[256];
    uint16_t port; /* 80 when not given */
    char path[1024];
} cr_bench_url_t;

/**
 * Parses an http:// URL (no user info, no IPv6 literal). Returns 0, CR_EINVAL for another scheme, a
 * bad port or an empty host, or CR_ETOOBIG when host or path do not fit.
 */
int cr_bench_url_parse(const char *url, cr_bench_url_t *out);

/** A parsed response; every pointer is a view into the buffer given to the parser. */
typedef struct cr_bench_http_resp {
    int status;
    const char *location; /* NULL if absent */
    size_t location_len;
    const char *content_type; /* NULL if absent */
    size_t content_type_len;
    const char *body;
    size_t body_len;
} cr_bench_http_resp_t;

/**
 * Parses the response held in buf[0, len). eof says the server has closed the connection (so a body
 * without Content-Length ends at len). Returns 1 when the response is complete and out is filled, 0
 * when more bytes are needed, CR_EMALFORMED for a bad status line or header, CR_ETOOBIG when the head
 * passes CR_BENCH_HTTP_MAX_HEAD or Content-Length passes CR_BENCH_HTTP_MAX_RESPONSE, CR_EUNSUPPORTED
 * for a chunked body, and CR_ETRUNC when eof comes before the announced body.
 */
int cr_bench_http_parse(const char *buf, size_t len, int eof, cr_bench_http_resp_t *out);

#define CR_BENCH_TOKEN_MAX 2048 /* bytes of a bearer token */

/** One request: method, path (NULL: the URL's), optional body and bearer token. */
typedef struct cr_bench_http_req {
    const char *method;
    const char *path;
    const char *content_type; /* NULL when there is no body */
    const char *token;        /* sent as "Authorization: Bearer <token>" (RFC 6750) when not NULL */
    const char *body;
    size_t body_len;
} cr_bench_http_req_t;

/**
 * Sends one request to url's host and port and waits at most timeout_ms for the whole response, which
 * is read into buf (cap bytes, at most CR_BENCH_HTTP_MAX_RESPONSE are useful) and parsed into out (views
 * into buf). Returns 0, CR_EIO (connect/send/recv failed or timed out, errno set), CR_ETOOBIG (the
 * head does not fit: token over CR_BENCH_TOKEN_MAX) or a parser error.
 */
int cr_bench_http_request(const cr_bench_url_t *url, const cr_bench_http_req_t *req, char *buf, size_t cap,
                          int timeout_ms, cr_bench_http_resp_t *out);

/**
 * Sums every integer value of key "key" in a JSON text (e.g. the per-worker "forwarded" counters of
 * GET /api/status), wherever it is nested. A scanner, not a JSON parser: it looks for "key": followed
 * by an optional minus and digits outside strings. Returns the number of values found (>= 0) and their
 * sum in *sum.
 */
int cr_bench_json_sum(const char *json, size_t len, const char *key, int64_t *sum);

/** Like cr_bench_json_sum, but sets *max to the largest value (0 when none is found). */
int cr_bench_json_max(const char *json, size_t len, const char *key, int64_t *max);

#endif
