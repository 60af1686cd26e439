#include "cr_workcmd.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cr_err.h"

static int valid_id(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '_' || s[i] == '-'))
            return 0;
    return 1;
}

/* Appends a borrowed argument. */
static void arg(cr_workcmd_t *c, const char *a)
{
    if (c->n >= CR_WORKCMD_MAX_ARGS) {
        c->overflow = 1;
        return;
    }
    c->argv[c->n++] = a;
    c->argv[c->n] = NULL;
}

/* Appends an argument formatted into the command's buffer. */
static void argf(cr_workcmd_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void argf(cr_workcmd_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = sizeof(c->buf) - c->used;
    int n = vsnprintf(c->buf + c->used, room, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= room) {
        c->overflow = 1;
        return;
    }
    arg(c, c->buf + c->used);
    c->used += (size_t)n + 1;
}

static int start(cr_workcmd_t *c, const cr_workcmd_env_t *e, const char *cmd)
{
    memset(c, 0, sizeof(*c));
    if (e == NULL || e->client == NULL || e->client[0] != '/' || e->base_url == NULL || e->base_url[0] == '\0')
        return CR_EINVAL;
    arg(c, e->client);
    arg(c, cmd);
    return 0;
}

static int finish(cr_workcmd_t *c, const cr_workcmd_env_t *e)
{
    arg(c, "--reconnect");
    if (e->local_ip != NULL && e->local_ip[0] != '\0') {
        arg(c, "--local-ip");
        arg(c, e->local_ip);
    }
    return c->overflow ? CR_ETOOBIG : 0;
}

int cr_workcmd_ingest(cr_workcmd_t *c, const cr_workcmd_env_t *e, const cr_workcmd_ingest_t *in)
{
    if (in == NULL || !valid_id(in->class_id) || in->url == NULL || in->url[0] == '\0' || in->url[0] == '-')
        return CR_EINVAL;
    if (start(c, e, "ingest") != 0)
        return CR_EINVAL;
    arg(c, in->url);
    argf(c, "%s/whip/%s", e->base_url, in->class_id);
    arg(c, "--reconnect-source");
    if (in->transcode) {
        arg(c, "--transcode");
        if (in->layers != NULL && in->layers[0] != '\0') {
            arg(c, "--layers");
            arg(c, in->layers);
        }
    }
    if (in->fps > 0)
        argf(c, "--fps=%u", in->fps);
    return finish(c, e);
}

int cr_workcmd_record(cr_workcmd_t *c, const cr_workcmd_env_t *e, const cr_workcmd_record_t *rec)
{
    if (rec == NULL || !valid_id(rec->class_id) || rec->dir == NULL || rec->dir[0] != '/' ||
        (rec->teacher != NULL && rec->teacher[0] != '\0' && !valid_id(rec->teacher)))
        return CR_EINVAL;
    if (start(c, e, "record") != 0)
        return CR_EINVAL;
    argf(c, "%s/whep/%s", e->base_url, rec->class_id);
    arg(c, "--dir");
    arg(c, rec->dir);
    if (rec->segment_s > 0)
        argf(c, "--segment-seconds=%u", rec->segment_s);
    if (rec->max_bytes > 0)
        argf(c, "--max-bytes=%llu", (unsigned long long)rec->max_bytes);
    if (rec->teacher != NULL && rec->teacher[0] != '\0') {
        arg(c, "--teacher");
        arg(c, rec->teacher);
    }
    return finish(c, e);
}

int cr_workcmd_base_url(const char *host, unsigned port, char *out, size_t cap)
{
    if (host == NULL || host[0] == '\0' || strcmp(host, "0.0.0.0") == 0)
        host = "127.0.0.1";
    int n = snprintf(out, cap, "http://%s:%u", host, port);
    return n < 0 || (size_t)n >= cap ? CR_ETOOBIG : 0;
}
