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

enum opt_kind { K_FLAG, K_STR, K_UINT, K_U64 };

/* The commands an option is valid for: a mask of 1 << enum cr_mode. */
#define S_TEACH (1u << CR_MODE_TEACH)
#define S_ATTEND (1u << CR_MODE_ATTEND)
#define S_INGEST (1u << CR_MODE_INGEST)
#define S_RECORD (1u << CR_MODE_RECORD)
#define S_ALL (S_TEACH | S_ATTEND | S_INGEST | S_RECORD)

static const char *const mode_names[] = {"", "teach", "attend", "ingest", "record"};

struct opt_spec {
    const char *name;
    enum opt_kind kind;
    unsigned scope;
    size_t offset;
    unsigned min, max; /* for K_UINT */
};

#define OFF(f) offsetof(struct cr_opts, f)

static const struct opt_spec specs[] = {
    {"test", K_FLAG, S_TEACH, OFF(test), 0, 0},
    {"file", K_STR, S_TEACH, OFF(file), 0, 0},
    {"simulcast", K_FLAG, S_TEACH, OFF(simulcast), 0, 0},
    {"bitrate", K_UINT, S_TEACH | S_INGEST, OFF(bitrate_kbps), 50, 50000},
    {"width", K_UINT, S_TEACH, OFF(width), 16, 7680},
    {"height", K_UINT, S_TEACH, OFF(height), 16, 4320},
    {"fps", K_UINT, S_TEACH | S_INGEST, OFF(fps), 1, 120},
    {"headless", K_FLAG, S_ATTEND, OFF(headless), 0, 0},
    {"token", K_STR, S_ALL, OFF(token), 0, 0},
    {"duration", K_UINT, S_ALL, OFF(duration_s), 1, 7 * 24 * 3600},
    {"reconnect", K_FLAG, S_ALL, OFF(reconnect), 0, 0},
    {"local-ip", K_STR, S_ALL, OFF(local_ip), 0, 0},
    {"transcode", K_FLAG, S_INGEST, OFF(transcode), 0, 0},
    {"layers", K_STR, S_INGEST, OFF(layers), 0, 0},
    {"reconnect-source", K_FLAG, S_INGEST, OFF(reconnect_source), 0, 0},
    {"dir", K_STR, S_RECORD, OFF(dir), 0, 0},
    {"teacher", K_STR, S_RECORD, OFF(teacher), 0, 0},
    {"segment-seconds", K_UINT, S_RECORD, OFF(segment_s), 1, 4 * 3600},
    {"max-bytes", K_U64, S_RECORD, OFF(max_bytes), 0, 0},
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

/* Bytes: at least 1 MiB, so that a segment holds more than a few frames. */
static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < (1u << 20))
        return -1;
    *out = (uint64_t)v;
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
    if (sp->kind == K_U64) {
        if (parse_u64(val, (uint64_t *)base) != 0)
            return fail(err, err_len, "--%s: '%s' is not a number of bytes >= 1048576", sp->name,
                        val);
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
    if ((sp->scope & (1u << o->mode)) == 0) {
        char modes[48] = "";
        for (unsigned m = CR_MODE_TEACH; m <= CR_MODE_RECORD; m++)
            if (sp->scope & (1u << m))
                snprintf(modes + strlen(modes), sizeof(modes) - strlen(modes), "%s'%s'",
                         modes[0] ? " or " : "", mode_names[m]);
        return fail(err, err_len, "option --%s is only valid for %s", sp->name, modes);
    }
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

/* What ingest can pull: a URL of a protocol it has a source for, or a file. */
static int check_source(const char *src, char *err, size_t err_len)
{
    static const char *const schemes[] = {"rtsp://", "rtsps://", "rtspt://", "srt://",
                                          "rtmp://", "rtmps://", "file://"};
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
        if (strncmp(src, schemes[i], strlen(schemes[i])) == 0)
            return src[strlen(schemes[i])] == '\0'
                       ? fail(err, err_len, "source '%s' has nothing after the scheme", src)
                       : 0;
    if (strstr(src, "://") != NULL)
        return fail(err, err_len,
                    "source '%s': expected rtsp://, rtsps://, srt://, rtmp://, rtmps://, file:// "
                    "or a file path",
                    src);
    return 0;
}

/* "1080,720,360": 1 to CR_OPTS_MAX_LAYERS heights, each 90..2160 and even, strictly
 * decreasing (h is the best layer). */
static int parse_layers(struct cr_opts *o, char *err, size_t err_len)
{
    const char *p = o->layers;
    o->n_layers = 0;
    for (;;) {
        char *end;
        if (*p < '0' || *p > '9' || o->n_layers == CR_OPTS_MAX_LAYERS)
            break;
        errno = 0;
        unsigned long v = strtoul(p, &end, 10);
        if (errno != 0 || v < 90 || v > 2160 || v % 2 != 0 ||
            (o->n_layers > 0 && v >= o->layer_h[o->n_layers - 1]))
            break;
        o->layer_h[o->n_layers++] = (unsigned)v;
        if (*end == '\0')
            return 0;
        if (*end != ',')
            break;
        p = end + 1;
    }
    return fail(err, err_len,
                "--layers '%s': 1 to %d even heights from 90 to 2160, best first "
                "(e.g. 1080,720,360)",
                o->layers, CR_OPTS_MAX_LAYERS);
}

static int check_modes(struct cr_opts *o, char *err, size_t err_len)
{
    if (o->mode == CR_MODE_INGEST) {
        if (o->src == NULL)
            return fail(err, err_len, "missing <src-url> and <whip-url>");
        if (o->url == NULL)
            return fail(err, err_len, "missing <whip-url>");
        if (check_source(o->src, err, err_len) != 0)
            return -1;
        if (o->layers == NULL) {
            static const unsigned def[] = {1080, 720, 360};
            memcpy(o->layer_h, def, sizeof(def));
            o->n_layers = 3;
        } else if (parse_layers(o, err, err_len) != 0) {
            return -1;
        }
        if (o->layers != NULL && !o->transcode)
            return fail(err, err_len, "--layers needs --transcode");
    }
    if (o->mode == CR_MODE_RECORD && o->dir == NULL)
        return fail(err, err_len, "record needs --dir DIR");
    return 0;
}

static int check_final(struct cr_opts *o, char *err, size_t err_len)
{
    if (check_modes(o, err, err_len) != 0)
        return -1;
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
    o->segment_s = CR_OPTS_DEFAULT_SEGMENT_S;
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
            else if (strcmp(a, "ingest") == 0)
                o->mode = CR_MODE_INGEST;
            else if (strcmp(a, "record") == 0)
                o->mode = CR_MODE_RECORD;
            else
                return fail(err, err_len,
                            "unknown command '%s' (expected teach, attend, ingest or record)", a);
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
        if (o->mode == CR_MODE_INGEST && o->src == NULL) {
            o->src = a; /* ingest <src-url> <whip-url> */
            continue;
        }
        if (o->url != NULL)
            return fail(err, err_len, "unexpected argument '%s'", a);
        o->url = a;
    }
    if (o->mode == CR_MODE_NONE)
        return fail(err, err_len, "missing command (teach, attend, ingest or record)");
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
           "  classrelay-client ingest <src-url> <whip-url> [--transcode] [--layers 1080,720,360]\n"
           "        [--fps N] [--bitrate KBPS] [--reconnect-source] [--token T] [--reconnect]\n"
           "  classrelay-client record <whep-url> --dir DIR [--segment-seconds S] [--max-bytes B]\n"
           "        [--teacher ID] [--token T] [--reconnect]\n"
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
           "  --local-ip IP gather ICE candidates on IP only (127.x URLs imply 127.0.0.1)\n"
           "  ingest: pull rtsp://, srt://, rtmp:// or a file and publish it by WHIP; H.264\n"
           "  passes through unless --transcode, which sends one H.264 layer per --layers height\n"
           "  (rid h, m, l) at --fps; --reconnect-source shows a 'source lost' slate and retries\n"
           "  record: write the class to DIR as MP4 segments (H.264 + Opus, index rewritten every\n"
           "  second) with a JSON sidecar; --segment-seconds (default 600, at most 14400) and\n"
           "  --max-bytes rotate segments\n";
}
