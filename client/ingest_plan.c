#include "ingest_plan.h"

#include <string.h>

enum cr_src_kind cr_src_kind_of(const char *src)
{
    static const struct {
        const char *prefix;
        enum cr_src_kind kind;
    } schemes[] = {
        {"rtsp://", CR_SRC_RTSP}, {"rtsps://", CR_SRC_RTSP}, {"rtspt://", CR_SRC_RTSP},
        {"srt://", CR_SRC_SRT},   {"rtmp://", CR_SRC_RTMP},  {"rtmps://", CR_SRC_RTMP},
    };
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
        if (strncmp(src, schemes[i].prefix, strlen(schemes[i].prefix)) == 0)
            return schemes[i].kind;
    return CR_SRC_FILE;
}

unsigned cr_layer_plan(const unsigned *h, unsigned n, unsigned fps, struct cr_layer *out)
{
    static const char *const rids[] = {"h", "m", "l"};
    if (n > sizeof(rids) / sizeof(rids[0]))
        n = sizeof(rids) / sizeof(rids[0]);
    for (unsigned i = 0; i < n; i++) {
        /* 16:9, rounded to the nearest even width: 480 -> 853.3 -> 854. */
        unsigned w = (h[i] * 16 + 9) / 18 * 2;
        double kbps = (double)w * h[i] * fps * 0.07 / 1000.0;
        out[i].rid = rids[i];
        out[i].width = w;
        out[i].height = h[i];
        out[i].kbps = kbps < 100.0 ? 100u : (unsigned)(kbps + 0.5);
    }
    return n;
}

bool cr_h264_passable(const char *profile)
{
    static const char *const ok[] = {"constrained-baseline", "baseline", "main", "high",
                                     "constrained-high", "progressive-high"};
    if (profile == NULL)
        return false;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (strcmp(profile, ok[i]) == 0)
            return true;
    return false;
}

unsigned cr_src_backoff_ms(unsigned retry)
{
    static const unsigned steps[] = {0, 500, 1000, 2000};
    return retry < sizeof(steps) / sizeof(steps[0]) ? steps[retry] : 3000u;
}
