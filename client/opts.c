/* Hand-written option parser: the grammar is small, and a pure parser can be unit-tested
 * without GLib. Options valid for only one command are rejected for the other, so a typo
 * like "attend --test" fails loudly instead of being ignored. */
#include "opts.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum opt_kind { K_FLAG, K_STR, K_UINT };
enum opt_scope { S_BOTH, S_TEACH, S_ATTEND };

struct opt_spec {
    const char *name;
    enum opt_kind kind;
    enum opt_scope scope;
    size_t offset;
    unsigned min, max; /* for K_UINT */
};

#define OFF(f) offsetof(struct cr_opts, f)

static const struct opt_spec specs[] = {
    {"test", K_FLAG, S_TEACH, OFF(test), 0, 0},
    {"file", K_STR, S_TEACH, OFF(file), 0, 0},
    {"simulcast", K_FLAG, S_TEACH, OFF(simulcast), 0, 0},
    {"bitrate", K_UINT, S_TEACH, OFF(bitrate_kbps), 50, 50000},
    {"width", K_UINT, S_TEACH, OFF(width), 16, 7680},
    {"height", K_UINT, S_TEACH, OFF(height), 16, 4320},
    {"fps", K_UINT, S_TEACH, OFF(fps), 1, 120},
    {"headless", K_FLAG, S_ATTEND, OFF(headless), 0, 0},
    {"token", K_STR, S_BOTH, OFF(token), 0, 0},
    {"duration", K_UINT, S_BOTH, OFF(duration_s), 1, 7 * 24 * 3600},
    {"reconnect", K_FLAG, S_BOTH, OFF(reconnect), 0, 0},
    {"local-ip", K_STR, S_BOTH, OFF(local_ip), 0, 0},
};

static int fail(char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
    return -1;
}

static const struct opt_spec *find_spec(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
        if (strlen(specs[i].name) == len && memcmp(specs[i].name, name, len) == 0)
            return &specs[i];
    return NULL;
}

static int parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = (unsigned)v;
    return 0;
}

static int set_value(struct cr_opts *o, const struct opt_spec *sp, const char *val, char *err,
                     size_t err_len)
{
    char *base = (char *)o + sp->offset;
    if (sp->kind == K_STR) {
        if (*val == '\0')
            return fail(err, err_len, "--%s needs a non-empty value", sp->name);
        *(const char **)base = val;
        return 0;
    }
    if (parse_uint(val, sp->min, sp->max, (unsigned *)base) != 0)
        return fail(err, err_len, "--%s: '%s' is not a number in %u..%u", sp->name, val, sp->min,
                    sp->max);
    return 0;
}

static int parse_option(struct cr_opts *o, const char *arg, const char *next, int *consumed,
                        char *err, size_t err_len)
{
    const char *name = arg + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    const struct opt_spec *sp = find_spec(name, len);

    *consumed = 0;
    if (sp == NULL)
        return fail(err, err_len, "unknown option '%s'", arg);
    if ((sp->scope == S_TEACH && o->mode != CR_MODE_TEACH) ||
        (sp->scope == S_ATTEND && o->mode != CR_MODE_ATTEND))
        return fail(err, err_len, "option --%s is only valid for '%s'", sp->name,
                    sp->scope == S_TEACH ? "teach" : "attend");
    if (sp->kind == K_FLAG) {
        if (eq != NULL)
            return fail(err, err_len, "option --%s takes no value", sp->name);
        *(bool *)((char *)o + sp->offset) = true;
        return 0;
    }
    if (eq != NULL)
        return set_value(o, sp, eq + 1, err, err_len);
    if (next == NULL)
        return fail(err, err_len, "option --%s needs a value", sp->name);
    *consumed = 1;
    return set_value(o, sp, next, err, err_len);
}

static int check_url(const char *url, char *err, size_t err_len)
{
    const char *rest;
    if (strncmp(url, "http://", 7) == 0)
        rest = url + 7;
    else if (strncmp(url, "https://", 8) == 0)
        rest = url + 8;
    else
        return fail(err, err_len, "URL must start with http:// or https:// (got '%s')", url);
    if (*rest == '\0' || *rest == '/')
        return fail(err, err_len, "URL '%s' has no host", url);
    return 0;
}

static int check_final(struct cr_opts *o, char *err, size_t err_len)
{
    if (o->url == NULL)
        return fail(err, err_len, "missing <url>");
    if (check_url(o->url, err, err_len) != 0)
        return -1;
    if (o->test && o->file != NULL)
        return fail(err, err_len, "--test and --file cannot be used together");
    if (o->local_ip != NULL) {
        unsigned char buf[16];
        if (inet_pton(AF_INET, o->local_ip, buf) != 1 && inet_pton(AF_INET6, o->local_ip, buf) != 1)
            return fail(err, err_len, "--local-ip: '%s' is not an IP address", o->local_ip);
    }
    return 0;
}

int cr_opts_parse(struct cr_opts *o, int argc, char *const *argv, char *err, size_t err_len)
{
    memset(o, 0, sizeof(*o));
    o->bitrate_kbps = CR_OPTS_DEFAULT_BITRATE;
    o->width = CR_OPTS_DEFAULT_WIDTH;
    o->height = CR_OPTS_DEFAULT_HEIGHT;
    o->fps = CR_OPTS_DEFAULT_FPS;
    if (err_len > 0)
        err[0] = '\0';

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            o->help = true;
            return 0;
        }
        if (o->mode == CR_MODE_NONE) {
            if (strcmp(a, "teach") == 0)
                o->mode = CR_MODE_TEACH;
            else if (strcmp(a, "attend") == 0)
                o->mode = CR_MODE_ATTEND;
            else
                return fail(err, err_len, "unknown command '%s' (expected teach or attend)", a);
            continue;
        }
        if (strncmp(a, "--", 2) == 0 && a[2] != '\0') {
            int consumed;
            if (parse_option(o, a, i + 1 < argc ? argv[i + 1] : NULL, &consumed, err, err_len))
                return -1;
            i += consumed;
            continue;
        }
        if (a[0] == '-' && a[1] != '\0')
            return fail(err, err_len, "unknown option '%s'", a);
        if (o->url != NULL)
            return fail(err, err_len, "unexpected argument '%s'", a);
        o->url = a;
    }
    if (o->mode == CR_MODE_NONE)
        return fail(err, err_len, "missing command (teach or attend)");
    return check_final(o, err, err_len);
}

const char *cr_opts_usage(void)
{
    return "usage:\n"
           "  classrelay-client teach <whip-url> [--test | --file PATH] [--token T]\n"
           "        [--bitrate KBPS] [--width W --height H --fps N] [--duration S]\n"
           "        [--reconnect] [--local-ip IP] [--simulcast]\n"
           "  classrelay-client attend <whep-url> [--headless] [--token T] [--duration S]\n"
           "        [--reconnect] [--local-ip IP]\n"
           "\n"
           "  --test        publish a test pattern with a clock and a 440 Hz tone\n"
           "  --file PATH   publish a media file (decoded, re-encoded to H.264 + Opus)\n"
           "  --token T     send 'Authorization: Bearer T' on every request\n"
           "  --bitrate K   H.264 target bitrate in kbit/s (default 1500)\n"
           "  --simulcast   send three layers (rid h, m, l): the video at full, half and a\n"
           "                quarter size (40% and 15% of the bitrate); classrooms choose one\n"
           "  --width/--height/--fps  video format (default 1280x720 at 30)\n"
           "  --headless    decode without playing; print one 'stats' line per second\n"
           "  --duration S  stop after S seconds (DELETE the session, print a summary)\n"
           "  --reconnect   on failure retry forever with backoff 1, 2, 4, 8, 10 s\n"
           "  --local-ip IP gather ICE candidates on IP only (127.x URLs imply 127.0.0.1)\n";
}
