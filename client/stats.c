#include "stats.h"

#include <math.h>
#include <stdio.h>

/* A rate over dt seconds; 0 when no time passed or a counter went backwards. */
static double rate(uint64_t now, uint64_t before, double dt)
{
    if (dt <= 0.0 || now < before)
        return 0.0;
    return (double)(now - before) / dt;
}

size_t cr_stats_format(char *out, size_t out_len, enum cr_stats_role role, const char *tag,
                       const struct cr_stats_sample *cur, const struct cr_stats_sample *prev)
{
    double dt = cur->t - prev->t;
    double fps = rate(cur->frames, prev->frames, dt);
    double vkbps = rate(cur->video_bytes, prev->video_bytes, dt) * 8.0 / 1000.0;
    double akbps = rate(cur->audio_bytes, prev->audio_bytes, dt) * 8.0 / 1000.0;
    long long t = llround(cur->t);
    int w;

    if (out_len == 0)
        return 0;
    if (role == CR_STATS_TEACH)
        w = snprintf(out, out_len,
                     "%s t=%lld frames_sent=%llu fps=%.1f video_kbps=%.0f audio_kbps=%.0f "
                     "audio_samples=%llu unix=%.3f",
                     tag, t, (unsigned long long)cur->frames, fps, vkbps, akbps,
                     (unsigned long long)cur->audio_samples, cur->unix_s);
    else
        w = snprintf(out, out_len,
                     "%s t=%lld frames_decoded=%llu frames_dropped=%llu fps=%.1f video_kbps=%.0f "
                     "audio_kbps=%.0f audio_samples=%llu packets_lost=%lld jitter_ms=%.1f "
                     "unix=%.3f",
                     tag, t, (unsigned long long)cur->frames,
                     (unsigned long long)cur->frames_dropped, fps, vkbps, akbps,
                     (unsigned long long)cur->audio_samples, (long long)cur->packets_lost,
                     cur->jitter_ms, cur->unix_s);
    if (w < 0)
        return 0;
    return (size_t)w < out_len ? (size_t)w : out_len - 1;
}
