/* The studio side of `classrelay-client ingest`: the source pipeline (rtsp://, srt://, rtmp:// or a
 * file), a "source lost" slate that stands in for it, and the retries. It lives for the whole run,
 * across WHIP reconnects, and feeds the publishing pipeline (ingest.c) in one of two ways:
 *
 *  - CR_FEED_PASS: H.264 access units (byte-stream) pushed into the publishing pipeline's appsrc,
 *    the source's own when it is H.264 of a passable profile (untouched), else re-encoded by us;
 *    the slate is encoded to H.264 too. A switch happens on a keyframe.
 *  - CR_FEED_RAW: raw I420 video at one fixed size into intervideosink, which the publishing
 *    pipeline reads with intervideosrc and encodes (the simulcast layers of --transcode).
 *
 * Audio is always decoded and goes through interaudiosink/interaudiosrc, which plays silence
 * while there is none. Everything here runs on the default main context, except the appsink
 * callbacks (streaming threads), which only take the bridge lock. */
#ifndef CR_CLIENT_INGEST_FEED_H
#define CR_CLIENT_INGEST_FEED_H

#include <gst/gst.h>
#include <stdint.h>

enum cr_feed_mode { CR_FEED_PASS, CR_FEED_RAW };

struct cr_feed_cfg {
    const char *src;       /**< as given on the command line; borrowed for the feed's life */
    enum cr_feed_mode mode;
    const char *channel;   /**< inter* channel prefix: "<channel>-v", "<channel>-a" */
    unsigned width, height; /**< RAW: the video size; PASS: the slate's size until a source is seen */
    unsigned fps;          /**< RAW: frame rate; PASS: of a re-encoded source */
    unsigned kbps;         /**< PASS: bitrate of a re-encoded source */
    gboolean retry;        /**< --reconnect-source: slate and retry, else fail on loss */
    /** The source failed and retry is off: end the run (main thread). */
    void (*fatal)(void *ud, const char *why);
    void *ud;
};

struct cr_feed;

/** A feed (cfg copied, strings borrowed); it does nothing until cr_feed_start. */
struct cr_feed *cr_feed_new(const struct cr_feed_cfg *cfg);

/** Starts the slate and the first source attempt. */
void cr_feed_start(struct cr_feed *f);

/**
 * PASS: the appsrc of the current publishing pipeline (a ref is taken), or NULL when that
 * pipeline is being torn down. The next buffer pushed into a new appsrc is a keyframe.
 */
void cr_feed_set_appsrc(struct cr_feed *f, GstElement *appsrc);

/** Source video frames (access units or raw frames) that reached the publishing side. */
uint64_t cr_feed_source_frames(struct cr_feed *f);

/** Stops every pipeline and frees. NULL is a no-op. */
void cr_feed_free(struct cr_feed *f);

#endif
