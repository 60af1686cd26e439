/* The machine-readable "stats" and "summary" lines. Pure C. */
#ifndef CR_CLIENT_STATS_H
#define CR_CLIENT_STATS_H

#include <stddef.h>
#include <stdint.h>

enum cr_stats_role { CR_STATS_TEACH, CR_STATS_ATTEND };

/** Cumulative counters at one instant. */
struct cr_stats_sample {
    double t;                /**< seconds since the program started */
    double unix_s;           /**< wall clock, seconds since the epoch */
    uint64_t frames;         /**< teach: encoded frames sent; attend: decoded frames */
    uint64_t frames_dropped; /**< attend: frames the sink dropped as late */
    uint64_t video_bytes;    /**< RTP bytes of video sent / received */
    uint64_t audio_bytes;    /**< RTP bytes of audio sent / received */
    uint64_t audio_samples;  /**< audio samples (per channel) encoded / decoded */
    int64_t packets_lost;    /**< attend: RTP packets lost, all streams */
    double jitter_ms;        /**< attend: interarrival jitter, worst stream, now */
};

/**
 * Format one line without a trailing newline:
 *   teach:  "<tag> t=3 frames_sent=90 fps=30.0 video_kbps=1450 audio_kbps=40
 *            audio_samples=144000 unix=1700000000.123"
 *   attend: "<tag> t=3 frames_decoded=90 frames_dropped=0 fps=30.0 video_kbps=1450
 *            audio_kbps=40 audio_samples=144000 packets_lost=0 jitter_ms=1.2 unix=..."
 * Rates are over (prev, cur]: a "stats" line passes the previous second, a "summary" line the
 * sample taken at start, which gives averages. Counts are cur's totals. tag and both samples
 * are borrowed. Returns the length written (truncated to fit out_len).
 */
size_t cr_stats_format(char *out, size_t out_len, enum cr_stats_role role, const char *tag,
                       const struct cr_stats_sample *cur, const struct cr_stats_sample *prev);

#endif
