#include "attend.h"

#include "count.h"
#include "peer.h"
#include "session.h"

#include <gst/webrtc/webrtc.h>
#include <stdio.h>
#include <string.h>

struct attend {
    struct cr_app app; /* first: the session hands us back &app */
    uint64_t frames, video_bytes, audio_bytes, audio_samples;

    GMutex lock; /* guards the fields below, written from streaming and webrtcbin threads */
    GstElement *vsink;        /* the current attempt's video sink, for its drop count */
    gboolean stopping;        /* the attempt is being torn down: take no new vsink */
    int64_t lost_now, lost_before; /* this attempt's loss; sum of earlier attempts */
    double jitter_ms;
    uint64_t dropped_before;
};

/* Receive chains. With --headless the video sink keeps a display's clock (sync, 20 ms lateness) so
 * "frames_dropped" means frames that came too late to show; it sends no QoS upstream, so the decoder
 * decodes every frame it receives and "frames_decoded" measures delivery, not this machine's load. */
static const char *chain_for(const char *media, const char *enc, gboolean headless)
{
    if (g_strcmp0(media, "video") == 0 && g_ascii_strcasecmp(enc, "H264") == 0)
        return headless ? "queue ! rtph264depay request-keyframe=true wait-for-keyframe=true ! "
                          "h264parse ! avdec_h264 name=vdec ! "
                          "fakesink name=vsink sync=true qos=false max-lateness=20000000"
                        : "queue ! rtph264depay request-keyframe=true wait-for-keyframe=true ! "
                          "h264parse ! avdec_h264 name=vdec ! videoconvert ! "
                          "autovideosink name=vsink";
    if (g_strcmp0(media, "audio") == 0 && g_ascii_strcasecmp(enc, "OPUS") == 0)
        return headless ? "queue ! rtpopusdepay ! opusdec name=adec plc=true ! "
                          "audio/x-raw,format=S16LE,rate=48000,channels=2 ! "
                          "identity name=acount ! fakesink sync=true"
                        : "queue ! rtpopusdepay ! opusdec name=adec plc=true ! "
                          "audio/x-raw,format=S16LE,rate=48000,channels=2 ! "
                          "identity name=acount ! audioconvert ! audioresample ! autoaudiosink";
    return "fakesink sync=false"; /* something we did not offer: swallow it */
}

/* "video WxH unix=T" whenever the decoded picture size changes: tests tell sources apart by it. */
static void on_video_caps(GObject *pad, GParamSpec *pspec, gpointer data)
{
    (void)pspec;
    int *last = data, w = 0, h = 0;
    GstCaps *caps = gst_pad_get_current_caps(GST_PAD(pad));
    if (caps == NULL)
        return;
    const GstStructure *st = gst_caps_get_structure(caps, 0);
    if (gst_structure_get_int(st, "width", &w) && gst_structure_get_int(st, "height", &h) &&
        (w != last[0] || h != last[1])) {
        last[0] = w;
        last[1] = h;
        printf("video %dx%d unix=%.3f\n", w, h, (double)g_get_real_time() / 1e6);
    }
    gst_caps_unref(caps);
}

static void count_in(struct attend *a, GstBin *bin, gboolean video)
{
    static int last_size[2];
    GstElement *e = gst_bin_get_by_name(bin, video ? "vdec" : "acount");
    if (e == NULL)
        return;
    if (video) {
        GstPad *src = gst_element_get_static_pad(e, "src");
        if (src != NULL) {
            g_signal_connect(src, "notify::caps", G_CALLBACK(on_video_caps), last_size);
            gst_object_unref(src);
        }
    }
    cr_count_on_element(e, "src", video ? CR_COUNT_BUFFERS : CR_COUNT_S16_STEREO_SAMPLES,
                        video ? &a->frames : &a->audio_samples);
    gst_object_unref(e);
    if (video) {
        g_mutex_lock(&a->lock);
        if (a->vsink == NULL && !a->stopping)
            a->vsink = gst_bin_get_by_name(bin, "vsink");
        g_mutex_unlock(&a->lock);
    }
}

static void on_pad_added(GstElement *webrtc, GstPad *pad, gpointer data)
{
    struct attend *a = data;
    GError *err = NULL;

    if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC)
        return;
    GstCaps *caps = gst_pad_get_current_caps(pad);
    if (caps == NULL)
        caps = gst_pad_query_caps(pad, NULL);
    const GstStructure *st = gst_caps_get_structure(caps, 0);
    const char *media = gst_structure_get_string(st, "media");
    const char *enc = gst_structure_get_string(st, "encoding-name");
    gboolean video = g_strcmp0(media, "video") == 0;
    const char *desc = chain_for(media, enc ? enc : "", a->app.opts->headless);

    GstElement *bin = gst_parse_bin_from_description(desc, TRUE, &err);
    if (bin == NULL) {
        fprintf(stderr, "warning: cannot play %s/%s: %s\n", media, enc, err->message);
        g_error_free(err);
        gst_caps_unref(caps);
        return;
    }
    GstObject *pipe = gst_element_get_parent(webrtc);
    gst_bin_add(GST_BIN(pipe), bin);
    gst_object_unref(pipe);
    gst_element_sync_state_with_parent(bin);
    GstPad *sink = gst_element_get_static_pad(bin, "sink");
    if (gst_pad_link(pad, sink) != GST_PAD_LINK_OK)
        fprintf(stderr, "warning: cannot link the %s stream\n", media);
    gst_object_unref(sink);
    cr_count_on_pad(pad, CR_COUNT_BYTES, video ? &a->video_bytes : &a->audio_bytes);
    count_in(a, GST_BIN(bin), video);
    gst_caps_unref(caps);
}

static GstElement *attend_build(struct cr_app *app, char **why)
{
    struct attend *a = (struct attend *)app;
    g_mutex_lock(&a->lock);
    a->stopping = FALSE;
    g_mutex_unlock(&a->lock);

    GstElement *pipe = gst_pipeline_new("attend");
    GstElement *webrtc = gst_element_factory_make("webrtcbin", "webrtc");

    if (webrtc == NULL) {
        gst_object_unref(pipe);
        *why = g_strdup("GStreamer element webrtcbin is missing (gstreamer1.0-plugins-bad)");
        return NULL;
    }
    g_object_set(webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, NULL);
    gst_bin_add(GST_BIN(pipe), webrtc);
    if (!cr_peer_add_receivers(webrtc)) {
        gst_object_unref(pipe);
        *why = g_strdup("webrtcbin refused a receive transceiver");
        return NULL;
    }
    g_signal_connect(webrtc, "pad-added", G_CALLBACK(on_pad_added), app);
    return pipe;
}

/* ---- webrtcbin statistics: packet loss and jitter ------------------------------------- */

static gint64 as_int64(const GValue *v)
{
    GValue out = G_VALUE_INIT;
    gint64 r = 0;
    g_value_init(&out, G_TYPE_INT64);
    if (v != NULL && g_value_transform(v, &out))
        r = g_value_get_int64(&out);
    g_value_unset(&out);
    return r;
}

struct rtp_in {
    gint64 lost;
    double jitter_s;
};

static gboolean add_inbound(GQuark field, const GValue *value, gpointer data)
{
    struct rtp_in *acc = data;
    GstWebRTCStatsType type;

    if (!GST_VALUE_HOLDS_STRUCTURE(value))
        return TRUE;
    const GstStructure *s = gst_value_get_structure(value);
    if (!gst_structure_get(s, "type", GST_TYPE_WEBRTC_STATS_TYPE, &type, NULL) ||
        type != GST_WEBRTC_STATS_INBOUND_RTP)
        return TRUE;
    acc->lost += as_int64(gst_structure_get_value(s, "packets-lost"));
    double j = 0;
    if (gst_structure_get_double(s, "jitter", &j) && j > acc->jitter_s)
        acc->jitter_s = j;
    return TRUE;
}

static void on_stats(GstPromise *promise, gpointer data)
{
    struct attend *a = data;
    struct rtp_in acc = {0, 0.0};

    if (gst_promise_wait(promise) != GST_PROMISE_RESULT_REPLIED)
        return;
    const GstStructure *r = gst_promise_get_reply(promise);
    if (r == NULL)
        return;
    gst_structure_foreach(r, add_inbound, &acc);
    g_mutex_lock(&a->lock);
    a->lost_now = acc.lost > 0 ? acc.lost : 0; /* duplicates can make RFC 3550 loss negative */
    a->jitter_ms = acc.jitter_s * 1000.0;
    g_mutex_unlock(&a->lock);
}

static void attend_tick(struct cr_app *app, GstElement *webrtc)
{
    GstPromise *p = gst_promise_new_with_change_func(on_stats, app, NULL);
    g_signal_emit_by_name(webrtc, "get-stats", NULL, p);
    gst_promise_unref(p);
}

/* Frames the sink dropped as late, from GstBaseSink's "stats"; autovideosink is a bin, so
 * look inside it. Returns 0 for sinks without the property. */
static uint64_t sink_dropped(GstElement *e)
{
    guint64 dropped = 0;

    if (g_object_class_find_property(G_OBJECT_GET_CLASS(e), "stats") != NULL) {
        GstStructure *st = NULL;
        g_object_get(e, "stats", &st, NULL);
        if (st != NULL) {
            gst_structure_get_uint64(st, "dropped", &dropped);
            gst_structure_free(st);
        }
    } else if (GST_IS_BIN(e)) {
        GstIterator *it = gst_bin_iterate_sinks(GST_BIN(e));
        GValue v = G_VALUE_INIT;
        while (gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
            dropped += sink_dropped(g_value_get_object(&v));
            g_value_reset(&v);
        }
        g_value_unset(&v);
        gst_iterator_free(it);
    }
    return dropped;
}

static void attend_sample(struct cr_app *app, struct cr_stats_sample *s)
{
    struct attend *a = (struct attend *)app;
    s->frames = cr_count_get(&a->frames);
    s->video_bytes = cr_count_get(&a->video_bytes);
    s->audio_bytes = cr_count_get(&a->audio_bytes);
    s->audio_samples = cr_count_get(&a->audio_samples);
    g_mutex_lock(&a->lock);
    s->packets_lost = a->lost_before + a->lost_now;
    s->jitter_ms = a->jitter_ms;
    s->frames_dropped = a->dropped_before + (a->vsink ? sink_dropped(a->vsink) : 0);
    g_mutex_unlock(&a->lock);
}

/* Counters of webrtcbin and the sink restart with every attempt; keep the earlier totals. */
static void attend_teardown(struct cr_app *app)
{
    struct attend *a = (struct attend *)app;
    g_mutex_lock(&a->lock);
    a->stopping = TRUE;
    a->lost_before += a->lost_now;
    a->lost_now = 0; /* jitter_ms stays: the last figure measured is still the best one */
    if (a->vsink != NULL) {
        a->dropped_before += sink_dropped(a->vsink);
        gst_object_unref(a->vsink);
        a->vsink = NULL;
    }
    g_mutex_unlock(&a->lock);
}

int cr_attend_run(const struct cr_opts *o)
{
    struct attend a;

    memset(&a, 0, sizeof(a));
    g_mutex_init(&a.lock);
    a.app.opts = o;
    a.app.role = CR_STATS_ATTEND;
    a.app.print_stats = o->headless;
    a.app.rx_silence_ms = 5000;
    a.app.rx_silence_needs_first = FALSE;
    a.app.build = attend_build;
    a.app.sample = attend_sample;
    a.app.tick = attend_tick;
    a.app.teardown = attend_teardown;
    int rc = cr_session_run(&a.app);
    g_mutex_clear(&a.lock);
    return rc;
}
