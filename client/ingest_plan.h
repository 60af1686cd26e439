/* The pure decisions of `classrelay-client ingest`: what kind of source a URL names, the simulcast
 * layers to encode, which H.264 streams may pass through untouched, and the source retry
 * schedule. No GStreamer here, so they are unit-tested alone (client/tests/test_ingest_plan.c). */
#ifndef CR_CLIENT_INGEST_PLAN_H
#define CR_CLIENT_INGEST_PLAN_H

#include <stdbool.h>
#include <stddef.h>

enum cr_src_kind { CR_SRC_FILE = 0, CR_SRC_RTSP, CR_SRC_SRT, CR_SRC_RTMP };

/** The kind of source src names (a URL as cr_opts accepts it, or a file path). Borrowed. */
enum cr_src_kind cr_src_kind_of(const char *src);

/** One encoded layer of --transcode. */
struct cr_layer {
    const char *rid;  /**< "h", "m" or "l" (static storage) */
    unsigned width, height;
    unsigned kbps;    /**< x264enc target */
};

/**
 * Layers for heights h[0..n) (best first, as cr_opts checked them) at fps frames per second:
 * 16:9 widths rounded to even, rids h, m, l in order, and a bitrate of 0.07 bit per pixel
 * (1920x1080 at 30 fps: 4354 kbit/s; 640x360: 483), at least 100 kbit/s. Returns n.
 */
unsigned cr_layer_plan(const unsigned *h, unsigned n, unsigned fps, struct cr_layer *out);

/**
 * Whether an H.264 stream of this profile (h264parse's caps field, may be NULL when unknown)
 * can go to WebRTC receivers as it is: 8-bit 4:2:0 profiles (constrained-baseline, baseline,
 * main, high). Others (high-10, high-4:2:2, ...) and unknown ones are decoded and re-encoded.
 */
bool cr_h264_passable(const char *profile);

/**
 * Delay before source retry number `retry` (1 = first retry after a loss): 0.5, 1, 2, then 3 s
 * forever, short enough that a studio host back after a restart is seen again within
 * seconds. 0 for retry 0.
 */
unsigned cr_src_backoff_ms(unsigned retry);

/** A source is lost when nothing arrived for this long while it was up. */
#define CR_SRC_STALL_MS 2000u
/** A connection attempt that delivers nothing for this long has failed. */
#define CR_SRC_CONNECT_MS 10000u
/** A source that stayed up this long resets the retry schedule. */
#define CR_SRC_STABLE_MS 10000u

#endif
