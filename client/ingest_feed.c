#include "ingest_feed.h"

#include "ingest_plan.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/video/video.h>
#include <stdio.h>
#include <string.h>

enum src_state { SRC_IDLE, SRC_CONNECTING, SRC_UP, SRC_WAIT };

/* One source attempt, shared with the streaming threads of its pipeline. Freed by the thread
 * that stops the pipeline, after which none of its callbacks can run. */
struct attempt {
    struct cr_feed *f;
    unsigned gen;
    GstElement *pipe;
};

struct cr_feed {
    struct cr_feed_cfg cfg;
    char *uri;

    /* main thread */
    enum src_state state;
    struct attempt *cur; /* the running source attempt, NULL when none */
    guint bus_watch, retry_timer, watchdog;
    unsigned retries;
    gint64 started_us, up_since_us;
    gboolean fatal_sent;
    GstElement *slate;   /* always running; its output is gated by slate_on */
    GstElement *slate_text;
    GstElement *slate_sink;
    gint slate_on;       /* atomic: the slate feeds the class */
    GMutex dispose_lock;
    GCond dispose_cond;
    unsigned disposing;  /* pipelines being stopped by dispose threads */

    /* the bridge and source figures, guarded by lock (streaming threads) */
    GMutex lock;
    unsigned gen;            /* of the current attempt; callbacks of older ones are ignored */
    GstElement *appsrc;      /* PASS: the publishing pipeline's, or NULL */
    gboolean need_key;       /* PASS: the next buffer into appsrc must be a keyframe */
    gboolean from_source;    /* PASS: the source, not the slate, feeds appsrc */
    gboolean have_video, have_audio; /* branches linked in the current attempt */
    gboolean decode_video;   /* sticky: pass-through is not possible for this source */
    const char *must_decode; /* why the current attempt's H.264 cannot pass after all, or NULL */
    gint64 last_src_us;      /* last source buffer (video, or audio for audio-only) */
    uint64_t src_frames;
    char src_desc[128];      /* codec, size and mode of the current source, for the log */
};

static void stop_source(struct cr_feed *f, const char *why);

/* ---- the bridge (PASS) ------------------------------------------------------------------- */

/* Runs in a streaming thread with f->lock held: push buf (borrowed) into the publishing appsrc,
 * stamped with that pipeline's running time, since the source's times mean nothing there. */
static void push_locked(struct cr_feed *f, GstBuffer *buf)
{
    GstClock *clock = gst_element_get_clock(f->appsrc);
    if (clock == NULL)
        return; /* not playing yet: a later keyframe will do */
    GstClockTime now = gst_clock_get_time(clock);
    GstClockTime base = gst_element_get_base_time(f->appsrc);
    gst_object_unref(clock);
    GstBuffer *out = gst_buffer_copy(buf); /* metadata only; the memory is shared */
    GST_BUFFER_PTS(out) = GST_BUFFER_DTS(out) = now > base ? now - base : 0;
    GST_BUFFER_DURATION(out) = GST_CLOCK_TIME_NONE;
    gst_app_src_push_buffer(GST_APP_SRC(f->appsrc), out);
}

static void request_slate_key(struct cr_feed *f)
{
    if (f->slate_sink == NULL)
        return;
    GstPad *pad = gst_element_get_static_pad(f->slate_sink, "sink");
    gst_pad_push_event(pad, gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE,
                                                                        TRUE, 0));
    gst_object_unref(pad);
}

static void bridge(struct cr_feed *f, GstBuffer *buf, gboolean from_source, unsigned gen)
{
    gboolean key = !GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
    g_mutex_lock(&f->lock);
    if (from_source && gen != f->gen) {
        g_mutex_unlock(&f->lock);
        return;
    }
    if (from_source) {
        f->last_src_us = g_get_monotonic_time();
        if (!f->from_source && key) {
            f->from_source = TRUE; /* the source takes over on its first keyframe */
            f->need_key = FALSE;
        }
        if (f->from_source)
            f->src_frames++;
    }
    if (from_source == f->from_source && f->appsrc != NULL && (key || !f->need_key)) {
        f->need_key = FALSE;
        push_locked(f, buf);
    }
    g_mutex_unlock(&f->lock);
}

static GstFlowReturn on_source_sample(GstAppSink *sink, gpointer data)
{
    struct attempt *a = data;
    GstSample *s = gst_app_sink_pull_sample(sink);
    if (s == NULL)
        return GST_FLOW_EOS;
    bridge(a->f, gst_sample_get_buffer(s), TRUE, a->gen);
    gst_sample_unref(s);
    return GST_FLOW_OK;
}

static GstFlowReturn on_slate_sample(GstAppSink *sink, gpointer data)
{
    struct cr_feed *f = data;
    GstSample *s = gst_app_sink_pull_sample(sink);
    if (s == NULL)
        return GST_FLOW_EOS;
    if (g_atomic_int_get(&f->slate_on))
        bridge(f, gst_sample_get_buffer(s), FALSE, 0);
    gst_sample_unref(s);
    return GST_FLOW_OK;
}

void cr_feed_set_appsrc(struct cr_feed *f, GstElement *appsrc)
{
    g_mutex_lock(&f->lock);
    if (f->appsrc != NULL)
        gst_object_unref(f->appsrc);
    f->appsrc = appsrc != NULL ? gst_object_ref(appsrc) : NULL;
    f->need_key = TRUE;
    if (appsrc != NULL && !f->from_source)
        request_slate_key(f);
    g_mutex_unlock(&f->lock);
}

uint64_t cr_feed_source_frames(struct cr_feed *f)
{
    g_mutex_lock(&f->lock);
    uint64_t n = f->src_frames;
    g_mutex_unlock(&f->lock);
    return n;
}

/* ---- the slate ----------------------------------------------------------------------------- */

#define SLATE_CONNECTING "Connecting to the studio..."
#define SLATE_LOST "Studio source lost - reconnecting..."

/* Drops the slate's frames at their source while the studio source feeds the class, so it
 * costs next to nothing then; in PASS mode the encoder makes a keyframe when it resumes. */
static GstPadProbeReturn slate_gate(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
    struct cr_feed *f = data;
    return g_atomic_int_get(&f->slate_on) ? GST_PAD_PROBE_OK : GST_PAD_PROBE_DROP;
}

static char *slate_desc(const struct cr_feed *f)
{
    const struct cr_feed_cfg *c = &f->cfg;
    gboolean pass = c->mode == CR_FEED_PASS;
    unsigned fps = pass ? 15 : c->fps;
    char *tail = pass ? g_strdup("x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 "
                                 "bitrate=300 ! video/x-h264,profile=constrained-baseline,"
                                 "stream-format=byte-stream,alignment=au ! "
                                 "appsink name=sink sync=false max-buffers=30 drop=true")
                      : g_strdup_printf("intervideosink name=sink channel=%s-v", c->channel);
    char *d = g_strdup_printf(
        "videotestsrc name=bg is-live=true pattern=solid-color foreground-color=0xff1e2a38 ! "
        "video/x-raw,width=%u,height=%u,framerate=%u/1 ! "
        "textoverlay name=text font-desc=\"Sans Bold %u\" valignment=center halignment=center "
        "text=\"" SLATE_CONNECTING "\" ! clockoverlay halignment=right valignment=bottom "
        "time-format=\"%%H:%%M:%%S\" ! videoconvert ! "
        "video/x-raw,format=I420,width=%u,height=%u,framerate=%u/1,pixel-aspect-ratio=1/1 ! %s",
        c->width, c->height, fps, c->height / 24 + 4, c->width, c->height, fps, tail);
    g_free(tail);
    return d;
}

static gboolean start_slate(struct cr_feed *f)
{
    GError *err = NULL;
    char *desc = slate_desc(f);
    f->slate = gst_parse_launch_full(desc, NULL, GST_PARSE_FLAG_FATAL_ERRORS, &err);
    g_free(desc);
    if (f->slate == NULL) {
        fprintf(stderr, "warning: no 'source lost' slate: %s\n", err->message);
        g_error_free(err);
        return FALSE;
    }
    f->slate_text = gst_bin_get_by_name(GST_BIN(f->slate), "text");
    GstElement *bg = gst_bin_get_by_name(GST_BIN(f->slate), "bg");
    GstPad *pad = gst_element_get_static_pad(bg, "src");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, slate_gate, f, NULL);
    gst_object_unref(pad);
    gst_object_unref(bg);
    if (f->cfg.mode == CR_FEED_PASS) {
        f->slate_sink = gst_bin_get_by_name(GST_BIN(f->slate), "sink");
        GstAppSinkCallbacks cbs = {.new_sample = on_slate_sample};
        gst_app_sink_set_callbacks(GST_APP_SINK(f->slate_sink), &cbs, f, NULL);
    }
    g_atomic_int_set(&f->slate_on, 1);
    if (gst_element_set_state(f->slate, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
        fprintf(stderr, "warning: the 'source lost' slate does not start\n");
    return TRUE;
}

/* The slate takes over (on = TRUE) or steps back. Main thread. */
static void slate_show(struct cr_feed *f, gboolean on, const char *text)
{
    if (text != NULL && f->slate_text != NULL)
        g_object_set(f->slate_text, "text", text, NULL);
    if (on == (gboolean)g_atomic_int_get(&f->slate_on))
        return;
    g_atomic_int_set(&f->slate_on, on ? 1 : 0);
    if (on) {
        g_mutex_lock(&f->lock);
        f->from_source = FALSE;
        f->need_key = TRUE;
        g_mutex_unlock(&f->lock);
        request_slate_key(f);
    }
}

/* ---- the source pipeline ------------------------------------------------------------------- */

/* Counts source buffers for the stall watchdog (RAW video and all audio go through inter*). */
static GstPadProbeReturn count_source(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
    struct attempt *a = data;
    struct cr_feed *f = a->f;
    gboolean video = GPOINTER_TO_INT(g_object_get_data(G_OBJECT(pad), "cr-video"));
    g_mutex_lock(&f->lock);
    if (a->gen == f->gen && (video || !f->have_video)) {
        f->last_src_us = g_get_monotonic_time();
        if (video)
            f->src_frames++;
    }
    g_mutex_unlock(&f->lock);
    return GST_PAD_PROBE_OK;
}

static void must_decode(struct attempt *a, const char *why)
{
    g_mutex_lock(&a->f->lock);
    if (a->gen == a->f->gen && a->f->must_decode == NULL)
        a->f->must_decode = why;
    g_mutex_unlock(&a->f->lock);
}

/* PASS, on what really reaches the appsink: a stream with B-frames cannot be stamped with arrival
 * times, and a profile parsebin did not know yet (MPEG-TS from SRT) may turn out unusable; such
 * a stream is decoded instead. The caps also give the true size for the log. */
static GstPadProbeReturn watch_pass(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
    struct attempt *a = data;
    if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
        GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER(info);
        if (GST_BUFFER_PTS_IS_VALID(b) && GST_BUFFER_DTS_IS_VALID(b) &&
            GST_BUFFER_PTS(b) > GST_BUFFER_DTS(b) + GST_MSECOND)
            must_decode(a, "the source's H.264 has B-frames: decoding and re-encoding it");
        return GST_PAD_PROBE_OK;
    }
    GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
    if (GST_EVENT_TYPE(ev) != GST_EVENT_CAPS)
        return GST_PAD_PROBE_OK;
    GstCaps *caps;
    gst_event_parse_caps(ev, &caps);
    const GstStructure *st = gst_caps_get_structure(caps, 0);
    const char *profile = gst_structure_get_string(st, "profile");
    int w = 0, h = 0;
    gst_structure_get_int(st, "width", &w);
    gst_structure_get_int(st, "height", &h);
    if (profile != NULL && !cr_h264_passable(profile))
        must_decode(a, "the source's H.264 profile cannot pass: decoding and re-encoding it");
    g_mutex_lock(&a->f->lock);
    if (a->gen == a->f->gen)
        g_snprintf(a->f->src_desc, sizeof(a->f->src_desc), "codec=h264 profile=%s width=%d height=%d pass=1",
                   profile ? profile : "-", w, h);
    g_mutex_unlock(&a->f->lock);
    return GST_PAD_PROBE_OK;
}

/* Adds desc as a bin to the attempt's pipeline and links pad into it; returns its sink element
 * (named "sink", a new reference) or NULL. */
static GstElement *add_branch(struct attempt *a, GstPad *pad, const char *desc)
{
    GstElement *bin = gst_parse_bin_from_description(desc, TRUE, NULL);
    if (bin == NULL)
        return NULL;
    gst_bin_add(GST_BIN(a->pipe), bin);
    gst_element_sync_state_with_parent(bin);
    GstPad *sink = gst_element_get_static_pad(bin, "sink");
    GstPadLinkReturn lr = gst_pad_link(pad, sink);
    gst_object_unref(sink);
    if (lr != GST_PAD_LINK_OK)
        return NULL;
    return gst_bin_get_by_name(GST_BIN(bin), "sink");
}

static void watch_sink(struct attempt *a, GstElement *sink, gboolean video)
{
    GstPad *sp = gst_element_get_static_pad(sink, "sink");
    g_object_set_data(G_OBJECT(sp), "cr-video", GINT_TO_POINTER(video));
    gst_pad_add_probe(sp, GST_PAD_PROBE_TYPE_BUFFER, count_source, a, NULL);
    gst_object_unref(sp);
}

/* Raw audio or video from a decodebin: to the inter* sinks, or (PASS) to our encoder. */
static void on_decoded_pad(GstElement *dec, GstPad *pad, gpointer data)
{
    struct attempt *a = data;
    const struct cr_feed_cfg *c = &a->f->cfg;
    GstCaps *caps = gst_pad_query_caps(pad, NULL);
    gboolean video = g_str_has_prefix(gst_structure_get_name(gst_caps_get_structure(caps, 0)),
                                      "video/");
    gst_caps_unref(caps);
    char *desc;
    if (!video)
        desc = g_strdup_printf("queue ! audioconvert ! audioresample ! audio/x-raw,format=S16LE,"
                               "rate=48000,channels=2,layout=interleaved ! "
                               "interaudiosink name=sink channel=%s-a",
                               c->channel);
    else if (c->mode == CR_FEED_RAW)
        desc = g_strdup_printf("queue ! videoconvert ! videoscale add-borders=true ! videorate ! "
                               "video/x-raw,format=I420,width=%u,height=%u,framerate=%u/1,"
                               "pixel-aspect-ratio=1/1 ! intervideosink name=sink channel=%s-v",
                               c->width, c->height, c->fps, c->channel);
    else
        desc = g_strdup_printf("queue ! videoconvert ! videorate ! video/x-raw,format=I420,"
                               "framerate=%u/1 ! x264enc tune=zerolatency speed-preset=ultrafast "
                               "key-int-max=%u bitrate=%u ! video/x-h264,"
                               "profile=constrained-baseline,stream-format=byte-stream,"
                               "alignment=au ! appsink name=sink sync=true",
                               c->fps, 2 * c->fps, c->kbps);
    GstElement *sink = add_branch(a, pad, desc);
    g_free(desc);
    if (sink == NULL) {
        fprintf(stderr, "warning: cannot use the source's decoded %s\n", video ? "video" : "audio");
        return;
    }
    if (video && c->mode == CR_FEED_PASS) {
        GstAppSinkCallbacks cbs = {.new_sample = on_source_sample};
        gst_app_sink_set_callbacks(GST_APP_SINK(sink), &cbs, a, NULL);
    } else {
        watch_sink(a, sink, video);
    }
    gst_object_unref(sink);
}

/* Claims the attempt's video or audio slot; FALSE if taken (a second stream of a kind). */
static gboolean claim(struct attempt *a, gboolean video)
{
    struct cr_feed *f = a->f;
    g_mutex_lock(&f->lock);
    gboolean *slot = video ? &f->have_video : &f->have_audio;
    gboolean ok = a->gen == f->gen && !*slot;
    if (ok)
        *slot = TRUE;
    g_mutex_unlock(&f->lock);
    return ok;
}

/* A parsed elementary stream from parsebin. */
static void on_parsed_pad(GstElement *parsebin, GstPad *pad, gpointer data)
{
    struct attempt *a = data;
    struct cr_feed *f = a->f;
    GstCaps *caps = gst_pad_query_caps(pad, NULL);
    const GstStructure *st = gst_caps_get_structure(caps, 0);
    const char *name = gst_structure_get_name(st);
    gboolean video = g_str_has_prefix(name, "video/"), audio = g_str_has_prefix(name, "audio/");
    gboolean h264 = g_str_equal(name, "video/x-h264");
    const char *profile = gst_structure_get_string(st, "profile");
    int w = 0, h = 0;
    gst_structure_get_int(st, "width", &w);
    gst_structure_get_int(st, "height", &h);
    /* An unknown profile (parsebin has not parsed the SPS yet) is checked again on the way. */
    gboolean pass = f->cfg.mode == CR_FEED_PASS && h264 && (profile == NULL || cr_h264_passable(profile));

    if ((video || audio) && claim(a, video)) {
        g_mutex_lock(&f->lock);
        pass = pass && !f->decode_video;
        if (video)
            g_snprintf(f->src_desc, sizeof(f->src_desc), "codec=%s profile=%s width=%d height=%d "
                       "pass=%d", h264 ? "h264" : name, profile ? profile : "-", w, h, pass);
        g_mutex_unlock(&f->lock);
        if (pass) {
            GstElement *sink = add_branch(a, pad, "queue ! h264parse config-interval=-1 ! "
                                                  "video/x-h264,stream-format=byte-stream,"
                                                  "alignment=au ! appsink name=sink sync=true");
            if (sink != NULL) {
                GstAppSinkCallbacks cbs = {.new_sample = on_source_sample};
                gst_app_sink_set_callbacks(GST_APP_SINK(sink), &cbs, a, NULL);
                GstPad *sp = gst_element_get_static_pad(sink, "sink");
                gst_pad_add_probe(sp, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
                                  watch_pass, a, NULL);
                gst_object_unref(sp);
                gst_object_unref(sink);
            }
        } else {
            GstElement *dec = gst_element_factory_make("decodebin", NULL);
            g_signal_connect(dec, "pad-added", G_CALLBACK(on_decoded_pad), a);
            gst_bin_add(GST_BIN(a->pipe), dec);
            gst_element_sync_state_with_parent(dec);
            GstPad *sink = gst_element_get_static_pad(dec, "sink");
            gst_pad_link(pad, sink);
            gst_object_unref(sink);
        }
    } else {
        GstElement *sink = add_branch(a, pad, "fakesink name=sink sync=false async=false");
        if (sink != NULL)
            gst_object_unref(sink); /* a stream we do not use must not stall the demuxer */
    }
    gst_caps_unref(caps);
}

static void on_source_pad(GstElement *usrc, GstPad *pad, gpointer data)
{
    struct attempt *a = data;
    GstElement *pb = gst_element_factory_make("parsebin", NULL);
    g_signal_connect(pb, "pad-added", G_CALLBACK(on_parsed_pad), a);
    gst_bin_add(GST_BIN(a->pipe), pb);
    gst_element_sync_state_with_parent(pb);
    GstPad *sink = gst_element_get_static_pad(pb, "sink");
    if (gst_pad_link(pad, sink) != GST_PAD_LINK_OK)
        fprintf(stderr, "warning: cannot parse a source stream\n");
    gst_object_unref(sink);
}

/* Source element settings: a short RTSP jitter buffer and timeouts, so that a dead studio host
 * is noticed and left quickly. */
static void on_source_setup(GstElement *usrc, GstElement *src, gpointer data)
{
    GObjectClass *k = G_OBJECT_GET_CLASS(src);
    if (g_object_class_find_property(k, "latency") != NULL &&
        g_str_has_prefix(G_OBJECT_TYPE_NAME(src), "GstRTSPSrc"))
        g_object_set(src, "latency", 200, NULL);
    if (g_object_class_find_property(k, "tcp-timeout") != NULL)
        g_object_set(src, "tcp-timeout", (guint64)5000000, NULL);
    if (g_object_class_find_property(k, "teardown-timeout") != NULL)
        g_object_set(src, "teardown-timeout", (guint64)200 * GST_MSECOND, NULL);
}

static gpointer dispose_thread(gpointer data)
{
    struct attempt *a = data;
    struct cr_feed *f = a->f;
    gst_element_set_state(a->pipe, GST_STATE_NULL);
    gst_object_unref(a->pipe);
    g_free(a);
    g_mutex_lock(&f->dispose_lock);
    f->disposing--;
    g_cond_broadcast(&f->dispose_cond);
    g_mutex_unlock(&f->dispose_lock);
    return NULL;
}

/* Stopping a pipeline may wait on a dead server (RTSP TEARDOWN): do it off the main loop. */
static void dispose_async(struct cr_feed *f, struct attempt *a)
{
    g_mutex_lock(&f->dispose_lock);
    f->disposing++;
    g_mutex_unlock(&f->dispose_lock);
    g_thread_unref(g_thread_new("cr-src-stop", dispose_thread, a));
}

static gboolean on_source_bus(GstBus *bus, GstMessage *msg, gpointer data)
{
    struct cr_feed *f = data;
    GError *err = NULL;
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
        gst_message_parse_error(msg, &err, NULL);
        char *why = g_strdup_printf("%s", err->message);
        g_error_free(err);
        f->bus_watch = 0;
        stop_source(f, why);
        g_free(why);
        return G_SOURCE_REMOVE;
    }
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS) {
        f->bus_watch = 0;
        if (f->state == SRC_UP)
            f->retries = 0; /* a file that played to its end loops without back-off */
        stop_source(f, "end of stream");
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

/* "rtsp://..." stays; a path becomes a file:// URI. */
static char *source_uri(const char *src)
{
    if (strstr(src, "://") != NULL)
        return g_strdup(src);
    return gst_filename_to_uri(src, NULL);
}

static void start_source(struct cr_feed *f)
{
    struct attempt *a = g_new0(struct attempt, 1);
    a->f = f;
    g_mutex_lock(&f->lock);
    a->gen = ++f->gen;
    f->have_video = f->have_audio = FALSE;
    f->must_decode = NULL;
    f->last_src_us = 0;
    f->src_desc[0] = '\0';
    g_mutex_unlock(&f->lock);

    a->pipe = gst_pipeline_new("source");
    GstElement *usrc = gst_element_factory_make("urisourcebin", NULL);
    g_object_set(usrc, "uri", f->uri, NULL);
    g_signal_connect(usrc, "source-setup", G_CALLBACK(on_source_setup), a);
    g_signal_connect(usrc, "pad-added", G_CALLBACK(on_source_pad), a);
    gst_bin_add(GST_BIN(a->pipe), usrc);
    GstBus *bus = gst_element_get_bus(a->pipe);
    f->bus_watch = gst_bus_add_watch(bus, on_source_bus, f);
    gst_object_unref(bus);
    f->cur = a;
    f->state = SRC_CONNECTING;
    f->started_us = g_get_monotonic_time();
    fprintf(stderr, "source: connecting to %s\n", f->cfg.src);
    if (gst_element_set_state(a->pipe, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
        stop_source(f, "cannot start the source pipeline");
}

static gboolean on_retry(gpointer data)
{
    struct cr_feed *f = data;
    f->retry_timer = 0;
    start_source(f);
    return G_SOURCE_REMOVE;
}

/* The source is gone (why): drop its pipeline, show the slate, and retry or give up. */
static void stop_source(struct cr_feed *f, const char *why)
{
    if (f->cur == NULL)
        return;
    if (f->bus_watch != 0)
        g_source_remove(f->bus_watch);
    f->bus_watch = 0;
    g_mutex_lock(&f->lock);
    f->gen++; /* late callbacks of this attempt are now ignored */
    g_mutex_unlock(&f->lock);
    dispose_async(f, f->cur);
    f->cur = NULL;
    gboolean was_up = f->state == SRC_UP;
    f->state = SRC_WAIT;
    printf("source lost unix=%.3f reason=\"%s\"\n", (double)g_get_real_time() / 1e6, why);
    slate_show(f, TRUE, SLATE_LOST);
    if (!f->cfg.retry) {
        if (!f->fatal_sent && f->cfg.fatal != NULL) {
            char *msg = g_strdup_printf("source lost: %s", why);
            f->fatal_sent = TRUE;
            f->cfg.fatal(f->cfg.ud, msg);
            g_free(msg);
        }
        return;
    }
    if (was_up && g_get_monotonic_time() - f->up_since_us >= (gint64)CR_SRC_STABLE_MS * 1000)
        f->retries = 0;
    unsigned ms = cr_src_backoff_ms(++f->retries);
    fprintf(stderr, "source: %s; retrying in %u ms\n", why, ms);
    f->retry_timer = g_timeout_add(ms, on_retry, f);
}

/* Every 250 ms: notice a source coming up, stalling or never delivering, and step the slate
 * back once the source really feeds the class. */
static gboolean on_watchdog(gpointer data)
{
    struct cr_feed *f = data;
    gint64 now = g_get_monotonic_time();
    g_mutex_lock(&f->lock);
    gint64 last = f->last_src_us;
    /* Up: PASS once the source's first keyframe went out, RAW (or a source without video) once
     * anything arrived. */
    gboolean feeding = f->from_source || ((f->cfg.mode == CR_FEED_RAW || !f->have_video) && last != 0);
    const char *decode_why = f->decode_video ? NULL : f->must_decode;
    if (decode_why != NULL)
        f->decode_video = TRUE;
    char desc[sizeof(f->src_desc)];
    memcpy(desc, f->src_desc, sizeof(desc));
    g_mutex_unlock(&f->lock);

    if (f->cur == NULL)
        return G_SOURCE_CONTINUE;
    if (decode_why != NULL) {
        stop_source(f, decode_why);
        return G_SOURCE_CONTINUE;
    }
    if (f->state == SRC_CONNECTING && feeding) {
        f->state = SRC_UP;
        f->up_since_us = now;
        slate_show(f, FALSE, NULL);
        printf("source up unix=%.3f %s\n", (double)g_get_real_time() / 1e6, desc);
    } else if (f->state == SRC_CONNECTING && now - f->started_us > (gint64)CR_SRC_CONNECT_MS * 1000) {
        stop_source(f, "no media from the source within 10 s");
    } else if (f->state == SRC_UP && now - last > (gint64)CR_SRC_STALL_MS * 1000) {
        stop_source(f, "nothing received from the source for 2 s");
    }
    return G_SOURCE_CONTINUE;
}

struct cr_feed *cr_feed_new(const struct cr_feed_cfg *cfg)
{
    struct cr_feed *f = g_new0(struct cr_feed, 1);
    f->cfg = *cfg;
    f->uri = source_uri(cfg->src);
    g_mutex_init(&f->lock);
    g_mutex_init(&f->dispose_lock);
    g_cond_init(&f->dispose_cond);
    f->need_key = TRUE;
    return f;
}

void cr_feed_start(struct cr_feed *f)
{
    start_slate(f);
    start_source(f);
    f->watchdog = g_timeout_add(250, on_watchdog, f);
}

void cr_feed_free(struct cr_feed *f)
{
    if (f == NULL)
        return;
    if (f->watchdog != 0)
        g_source_remove(f->watchdog);
    if (f->retry_timer != 0)
        g_source_remove(f->retry_timer);
    if (f->bus_watch != 0)
        g_source_remove(f->bus_watch);
    if (f->cur != NULL) {
        g_mutex_lock(&f->lock);
        f->gen++;
        g_mutex_unlock(&f->lock);
        dispose_async(f, f->cur);
        f->cur = NULL;
    }
    if (f->slate != NULL) {
        gst_element_set_state(f->slate, GST_STATE_NULL);
        gst_object_unref(f->slate);
    }
    if (f->slate_text != NULL)
        gst_object_unref(f->slate_text);
    if (f->slate_sink != NULL)
        gst_object_unref(f->slate_sink);
    g_mutex_lock(&f->dispose_lock);
    gint64 deadline = g_get_monotonic_time() + 5 * G_TIME_SPAN_SECOND;
    while (f->disposing > 0 && g_cond_wait_until(&f->dispose_cond, &f->dispose_lock, deadline))
        ;
    gboolean stuck = f->disposing > 0;
    g_mutex_unlock(&f->dispose_lock);
    if (stuck) {
        fprintf(stderr, "warning: the source pipeline did not stop within 5 s\n");
        return; /* leak f rather than free it under a running thread; the process exits */
    }
    if (f->appsrc != NULL)
        gst_object_unref(f->appsrc);
    g_mutex_clear(&f->lock);
    g_mutex_clear(&f->dispose_lock);
    g_cond_clear(&f->dispose_cond);
    g_free(f->uri);
    g_free(f);
}
