/*
 * `classrelay status [--url http://127.0.0.1:8080] [--token T | --config FILE]`: a terminal summary of
 * a running relay for an operator on SSH, read from GET /api/ops (operator or admin token; without
 * --token one is minted for a minute from the config's secret, as `classrelay token` would).
 * A minimal HTTP/1.0 client over a socket: one request, bounded response, timeouts.
 */
#include "cr_status_cli.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "cr_auth.h"
#include "cr_auth_secret.h"
#include "cr_conf.h"

#define CR_STATUS_MAX_RESPONSE (8u << 20)

/* --- rendering (pure) --- */

typedef struct out {
    char *p;
    size_t cap, len;
} out_t;

static void pf(out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pf(out_t *o, const char *fmt, ...)
{
    if (o->len + 1 >= o->cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n < o->cap - o->len ? (size_t)n : o->cap - o->len - 1;
}

static void rate(char *buf, size_t cap, double bps)
{
    if (bps >= 1e9)
        snprintf(buf, cap, "%.2f Gb/s", bps / 1e9);
    else if (bps >= 1e6)
        snprintf(buf, cap, "%.1f Mb/s", bps / 1e6);
    else
        snprintf(buf, cap, "%.0f kb/s", bps / 1e3);
}

static const char *s_(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

static double d_(const json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

static void link_line(out_t *o, const json_t *e, int indent)
{
    char now[32], cap[32];
    rate(now, sizeof(now), d_(e, "bps"));
    rate(cap, sizeof(cap), d_(e, "capacity_bps"));
    pf(o, "%*s%-9s %-20s %10s of %-10s %5.1f%%  loss %4.1f%%  rtt %4.0f ms  %3lld sub  %s\n", indent, "",
       s_(e, "kind"), s_(e, "id"), now, cap, d_(e, "util") * 100, d_(e, "loss") * 100, d_(e, "rtt_ms"),
       (long long)json_integer_value(json_object_get(e, "subscribers")), s_(e, "health"));
}

static int severity(const char *health)
{
    static const char *const order[] = {"lost", "bad", "warn"};
    for (int i = 0; i < 3; i++)
        if (strcmp(health, order[i]) == 0)
            return 3 - i;
    return 0;
}

static void problems(out_t *o, const json_t *ops)
{
    size_t i, k, n = 0;
    json_t *s, *c;
    pf(o, "PROBLEMS\n");
    for (int sev = 3; sev >= 1; sev--)
        json_array_foreach(json_object_get(ops, "schools"), i, s)
        {
            if (severity(s_(s, "health")) == sev && n++ < 10)
                link_line(o, s, 2);
            json_array_foreach(json_object_get(s, "classrooms"), k, c) if (severity(s_(c, "health")) == sev && n++ < 10)
                link_line(o, c, 2);
        }
    const json_t *alerts = json_object_get(ops, "alerts");
    size_t na = json_array_size(alerts);
    for (size_t j = na > 5 ? na - 5 : 0; j < na; j++) {
        const json_t *a = json_array_get(alerts, j), *d = json_object_get(a, "detail");
        time_t t = (time_t)(json_integer_value(json_object_get(a, "ts_ms")) / 1000);
        struct tm tm;
        char ts[16];
        localtime_r(&t, &tm);
        strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
        pf(o, "  %s %-5s %-16s", ts, s_(a, "level"), s_(a, "event"));
        static const char *const keys[] = {"class", "school", "classroom", "id", "teacher", "reason"};
        for (size_t q = 0; q < sizeof(keys) / sizeof(keys[0]); q++)
            if (s_(d, keys[q])[0])
                pf(o, " %s=%s", keys[q], s_(d, keys[q]));
        pf(o, "\n");
        n++;
    }
    if (n == 0)
        pf(o, "  none\n");
}

int cr_status_render(const json_t *ops, const char *url, char *buf, size_t cap)
{
    out_t o = {.p = buf, .cap = cap, .len = 0};
    if (cap == 0)
        return -1;
    buf[0] = '\0';
    const json_t *relay = json_object_get(ops, "relay"), *classes = json_object_get(ops, "classes");
    size_t i, k, live = 0;
    json_t *c, *s, *r;
    json_array_foreach(classes, i, c) live += strcmp(s_(c, "state"), "live") == 0;
    pf(&o, "classrelay at %s: %lld worker(s), %lld sessions, %zu class(es), %zu live\n\n", url,
       (long long)json_integer_value(json_object_get(relay, "workers")),
       (long long)json_integer_value(json_object_get(relay, "peers")), json_array_size(classes), live);
    pf(&o, "CLASSES\n");
    json_array_foreach(classes, i, c)
    {
        char now[32];
        rate(now, sizeof(now), d_(c, "bps"));
        size_t aud = json_array_size(json_object_get(c, "audience"));
        long long inv = (long long)json_integer_value(json_object_get(c, "invited"));
        pf(&o, "  %-20s %-11s %-9s teacher %-12s %-12s %zu classroom(s)", s_(c, "id"), s_(c, "kind"), s_(c, "state"),
           s_(c, "teacher")[0] ? s_(c, "teacher") : "-",
           json_is_true(json_object_get(c, "teacher_publishing")) ? "(sending)" : "(not sending)", aud);
        if (inv > 0)
            pf(&o, " of %lld invited", inv);
        pf(&o, "  %s\n", now);
    }
    if (json_array_size(classes) == 0)
        pf(&o, "  none\n");
    pf(&o, "\nLINKS\n");
    json_array_foreach(json_object_get(ops, "schools"), i, s)
    {
        link_line(&o, s, 2);
        json_array_foreach(json_object_get(s, "classrooms"), k, r) link_line(&o, r, 4);
    }
    if (json_array_size(json_object_get(ops, "schools")) == 0)
        pf(&o, "  no classroom connected\n");
    pf(&o, "\n");
    problems(&o, ops);
    return (int)o.len;
}

/* --- HTTP --- */

/* Splits http://HOST[:PORT][/...] into host and port. Returns 0 or -1. */
static int parse_url(const char *url, char *host, size_t cap, char *port, size_t pcap)
{
    if (strncmp(url, "http://", 7) != 0)
        return -1;
    const char *h = url + 7, *end = h + strcspn(h, "/"), *colon = memchr(h, ':', (size_t)(end - h));
    size_t hl = (size_t)((colon ? colon : end) - h);
    if (hl == 0 || hl >= cap)
        return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    if (colon) {
        size_t pl = (size_t)(end - colon - 1);
        if (pl == 0 || pl >= pcap)
            return -1;
        memcpy(port, colon + 1, pl);
        port[pl] = '\0';
    } else {
        snprintf(port, pcap, "80");
    }
    return 0;
}

static int http_get(const char *url, const char *path, const char *token, char **body, int *status, char *err,
                    size_t ecap)
{
    char host[256], port[16], req[6144];
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (parse_url(url, host, sizeof(host), port, sizeof(port)) != 0) {
        snprintf(err, ecap, "--url must be http://HOST[:PORT]");
        return -1;
    }
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0) {
        snprintf(err, ecap, "%s: %s", host, gai_strerror(rc));
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct timeval tv = {.tv_sec = 5};
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    }
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        snprintf(err, ecap, "cannot connect to %s: %s", url, strerror(errno));
        freeaddrinfo(ai);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    freeaddrinfo(ai);
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s:%s\r\nAuthorization: Bearer %s\r\n\r\n", path, host,
                     port, token);
    if (n <= 0 || (size_t)n >= sizeof(req) || write(fd, req, (size_t)n) != n) {
        snprintf(err, ecap, "cannot send the request");
        close(fd);
        return -1;
    }
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap + 1);
    ssize_t got;
    while (buf != NULL && (got = read(fd, buf + len, cap - len)) > 0) {
        len += (size_t)got;
        if (len == cap) {
            char *nb = cap < CR_STATUS_MAX_RESPONSE ? realloc(buf, cap * 2 + 1) : NULL;
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    close(fd);
    char *sep = buf ? (buf[len] = '\0', strstr(buf, "\r\n\r\n")) : NULL;
    if (sep == NULL || sscanf(buf, "HTTP/%*d.%*d %d", status) != 1) {
        snprintf(err, ecap, "no HTTP response from %s", url);
        free(buf);
        return -1;
    }
    memmove(buf, sep + 4, strlen(sep + 4) + 1);
    *body = buf;
    return 0;
}

static int mint(const char *config_path, char *tok, size_t cap, char *err, size_t ecap)
{
    cr_conf_t conf;
    cr_auth_key_t key;
    cr_claims_t c;
    cr_conf_defaults(&conf);
    if ((config_path != NULL && cr_conf_load(&conf, config_path, err, ecap) != 0) ||
        cr_auth_secret_load(conf.auth_secret, conf.auth_secret_file, conf.http_port, 0, &key, err, ecap) != 0)
        return -1;
    memset(&c, 0, sizeof(c));
    c.role = CR_ROLE_OPERATOR;
    snprintf(c.class_id, sizeof(c.class_id), "*");
    snprintf(c.sub, sizeof(c.sub), "status");
    c.iat = (int64_t)time(NULL);
    c.exp = c.iat + 60;
    int n = cr_auth_sign(key.key, key.len, &c, tok, cap);
    memset(&key, 0, sizeof(key));
    if (n < 0)
        snprintf(err, ecap, "cannot sign an operator token");
    return n < 0 ? -1 : 0;
}

int cr_status_main(int argc, char **argv)
{
    const char *url = "http://127.0.0.1:8080", *token = NULL, *config = NULL;
    char minted[CR_AUTH_TOKEN_MAX + 1], err[512];
    for (int i = 2; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v != NULL && strcmp(argv[i], "--url") == 0)
            url = v, i++;
        else if (v != NULL && strcmp(argv[i], "--token") == 0)
            token = v, i++;
        else if (v != NULL && strcmp(argv[i], "--config") == 0)
            config = v, i++;
        else {
            fprintf(stderr, "usage: classrelay status [--url http://HOST:PORT] [--token T | --config FILE]\n");
            return 2;
        }
    }
    if (token == NULL) {
        if (mint(config, minted, sizeof(minted), err, sizeof(err)) != 0) {
            fprintf(stderr, "classrelay status: no --token, and cannot mint one: %s\n", err);
            return 1;
        }
        token = minted;
    }
    char *body = NULL;
    int status = 0;
    if (http_get(url, "/api/ops", token, &body, &status, err, sizeof(err)) != 0) {
        fprintf(stderr, "classrelay status: %s\n", err);
        return 1;
    }
    json_t *j = json_loads(body, 0, NULL);
    if (status != 200 || j == NULL) {
        json_t *e = json_object_get(json_object_get(j, "error"), "message");
        fprintf(stderr, "classrelay status: %s answered %d: %s\n", url, status,
                json_is_string(e) ? json_string_value(e) : "not the operator view");
        json_decref(j);
        free(body);
        return 1;
    }
    size_t cap = 1u << 20;
    char *text = malloc(cap);
    if (text != NULL && cr_status_render(j, url, text, cap) >= 0)
        fputs(text, stdout);
    free(text);
    json_decref(j);
    free(body);
    return 0;
}
