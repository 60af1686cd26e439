/*
 * Checks of the worker sections beyond single rows: a [source.<id>] needs a class and a URL of a
 * kind the ingest worker can pull, its layers must be a valid ladder, and one class has one source.
 * The rows themselves are in cr_conf_table.c; the workers are run by relay/signal/cr_workers.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cr_conf_int.h"

/* rtsp://, rtsps://, rtspt://, srt://, rtmp://, rtmps://, file:// with something after, or an
 * absolute path; never something that would read as an option of the worker. */
static const char *cr__conf_source_url_why(const char *url)
{
    static const char *const schemes[] = {"rtsp://", "rtsps://", "rtspt://", "srt://", "rtmp://", "rtmps://", "file://"};
    if (url[0] == '\0')
        return "missing: rtsp://, srt://, rtmp:// URL or an absolute file path";
    if (url[0] == '/')
        return NULL;
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        size_t n = strlen(schemes[i]);
        if (strncmp(url, schemes[i], n) == 0)
            return url[n] != '\0' ? NULL : "nothing after the scheme";
    }
    return "expected rtsp://, rtsps://, srt://, rtmp://, rtmps://, file:// or an absolute file path";
}

/* "1080,720,360": 1 to 3 even heights 90..2160, best first (as the ingest worker checks them). */
static int cr__conf_layers_ok(const char *s)
{
    unsigned n = 0, prev = 0;
    const char *p = s;
    for (;;) {
        if (*p < '0' || *p > '9' || n == 3)
            return 0;
        char *end;
        unsigned long v = strtoul(p, &end, 10);
        if (v < 90 || v > 2160 || v % 2 != 0 || (n > 0 && v >= prev))
            return 0;
        prev = (unsigned)v;
        n++;
        if (*end == '\0')
            return 1;
        if (*end != ',')
            return 0;
        p = end + 1;
    }
}

int cr__conf_validate_workers(const cr_conf_t *c, char *err, size_t err_cap)
{
    for (unsigned i = 0; i < c->n_sources && i < CR_CONF_MAX_SOURCES; i++) {
        const cr_conf_source_t *s = &c->sources[i];
        const char *why = cr__conf_source_url_why(s->url);
        if (s->class_id[0] == '\0') {
            cr__conf_msg(err, err_cap, "[source.%s] key 'class': missing: the class this source feeds", s->id);
            return -1;
        }
        if (why != NULL) {
            cr__conf_msg(err, err_cap, "[source.%s] key 'url': %s", s->id, why);
            return -1;
        }
        if (!cr__conf_layers_ok(s->layers)) {
            cr__conf_msg(err, err_cap, "[source.%s] key 'layers': 1 to 3 even heights from 90 to 2160, best first "
                         "(e.g. 1080,720,360)", s->id);
            return -1;
        }
        for (unsigned j = 0; j < i; j++) {
            if (strcmp(c->sources[j].class_id, s->class_id) == 0) {
                cr__conf_msg(err, err_cap, "[source.%s] key 'class': class '%s' already has [source.%s]", s->id,
                             s->class_id, c->sources[j].id);
                return -1;
            }
        }
    }
    return 0;
}
