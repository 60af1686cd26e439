#include "teach.h"

#include "count.h"
#include "session.h"

#include <gst/webrtc/webrtc.h>
#include <stdio.h>
#include <string.h>

struct teach {
    struct cr_app app; /* first: the session hands us back &app */
    uint64_t frames, video_bytes, audio_bytes, audio_samples;
};

/* The part of the video branch that produces raw video at the requested format. A file's
 * branch starts at an unlinked queue that decodebin is linked to later. */
static char *video_source(const struct cr_opts *o)
{
    if (o->test)
        return g_strdup_printf(
            "videotestsrc is-live=true pattern=smpte ! video/x-raw,width=%u,height=%u,"
            "framerate=%u/1 ! clockoverlay time-format=\"%%H:%%M:%%S\" ! ",
            o->width, o->height, o->fps);
    return g_strdup_printf("%s ! videoconvert ! videoscale ! videorate ! "
                           "video/x-raw,width=%u,height=%u,framerate=%u/1 ! ",
                           o->file ? "queue name=vin ! clocksync" : "v4l2src", o->width,
                           o->height, o->fps);
}

static const char *audio_source(const struct cr_opts *o)
{
    if (o->test)
        return "audiotestsrc is-live=true wave=sine freq=440 ! ";
    return o->file ? "queue name=ain ! clocksync ! " : "autoaudiosrc ! ";
}

/* Encoders as the relay expects them: constrained-baseline H.264 with SPS/PPS on every IDR
 * and a keyframe at least every 2 s, so a late joiner waits at most that long (the relay
 * also forwards PLIs). */
static char *describe(const struct cr_opts *o)
{
    char *v = video_source(o);
    char *d = g_strdup_printf(
        "webrtcbin name=webrtc bundle-policy=max-bundle "
        "%s videoconvert ! queue max-size-buffers=3 max-size-time=0 max-size-bytes=0 "
        "leaky=downstream ! x264enc name=venc tune=zerolatency speed-preset=ultrafast "
        "key-int-max=%u bitrate=%u ! "
        "video/x-h264,profile=constrained-baseline,stream-format=byte-stream ! "
        "rtph264pay name=vpay pt=96 config-interval=-1 aggregate-mode=zero-latency ! "
        "application/x-rtp,media=video,encoding-name=H264,payload=96 ! webrtc. "
        "%s audioconvert ! audioresample ! audio/x-raw,format=S16LE,rate=48000,channels=2 ! "
        "queue max-size-time=200000000 leaky=downstream ! opusenc name=aenc bitrate=64000 ! "
        "rtpopuspay name=apay pt=111 ! "
        "application/x-rtp,media=audio,encoding-name=OPUS,payload=111 ! webrtc.",
        v, 2 * o->fps, o->bitrate_kbps, audio_source(o));
    g_free(v);
    return d;
}

/* decodebin pad → the video or audio branch, whichever is still free for that kind. */
static void on_decoded_pad(GstElement *dec, GstPad *pad, gpointer data)
{
    GstBin *pipe = GST_BIN(data);
    GstCaps *caps = gst_pad_get_current_caps(pad);
    if (caps == NULL)
        caps = gst_pad_query_caps(pad, NULL);
    const char *name = gst_structure_get_name(gst_caps_get_structure(caps, 0));
    const char *target = g_str_has_prefix(name, "video/")   ? "vin"
                         : g_str_has_prefix(name, "audio/") ? "ain"
                                                            : NULL;
    if (target != NULL) {
        GstElement *q = gst_bin_get_by_name(pipe, target);
        GstPad *sink = gst_element_get_static_pad(q, "sink");
        if (!gst_pad_is_linked(sink) && gst_pad_link(pad, sink) != GST_PAD_LINK_OK)
            fprintf(stderr, "warning: cannot use the file's %s stream\n", name);
        gst_object_unref(sink);
        gst_object_unref(q);
    }
    gst_caps_unref(caps);
}

/* A file without audio (or video) would leave a webrtcbin pad without caps and so without an
 * offer: feed silence (or black) instead. */
static void on_no_more_pads(GstElement *dec, gpointer data)
{
    static const char *const fill[][2] = {
        {"vin", "videotestsrc pattern=black"},
        {"ain", "audiotestsrc wave=silence"},
    };
    GstBin *pipe = GST_BIN(data);
    for (size_t i = 0; i < G_N_ELEMENTS(fill); i++) {
        GstElement *q = gst_bin_get_by_name(pipe, fill[i][0]);
        GstPad *sink = gst_element_get_static_pad(q, "sink");
        if (!gst_pad_is_linked(sink)) {
            GstElement *src = gst_parse_bin_from_description(fill[i][1], TRUE, NULL);
            if (src != NULL) {
                gst_bin_add(pipe, src);
                gst_element_link(src, q);
                gst_element_sync_state_with_parent(src);
            }
        }
        gst_object_unref(sink);
        gst_object_unref(q);
    }
}

static gboolean add_file_source(GstElement *pipe, const char *path, char **why)
{
    GstElement *src = gst_element_factory_make("filesrc", NULL);
    GstElement *dec = gst_element_factory_make("decodebin", NULL);
    if (src == NULL || dec == NULL) {
        *why = g_strdup("filesrc/decodebin not available");
        return FALSE;
    }
    g_object_set(src, "location", path, NULL);
    gst_bin_add_many(GST_BIN(pipe), src, dec, NULL);
    gst_element_link(src, dec);
    g_signal_connect(dec, "pad-added", G_CALLBACK(on_decoded_pad), pipe);
    g_signal_connect(dec, "no-more-pads", G_CALLBACK(on_no_more_pads), pipe);
    return TRUE;
}

/* WHIP publishes only: make every transceiver send-only before the offer is made. */
static void make_sendonly(GstElement *webrtc)
{
    GArray *ts = NULL;
    g_signal_emit_by_name(webrtc, "get-transceivers", &ts);
    for (guint i = 0; ts != NULL && i < ts->len; i++)
        g_object_set(g_array_index(ts, GstWebRTCRTPTransceiver *, i), "direction",
                     GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY, NULL);
    if (ts != NULL)
        g_array_unref(ts);
}

static void add_counters(struct teach *t, GstBin *pipe)
{
    static const struct {
        const char *elem, *pad;
        enum cr_count_what what;
        size_t off;
    } probes[] = {
        {"venc", "src", CR_COUNT_BUFFERS, offsetof(struct teach, frames)},
        {"vpay", "src", CR_COUNT_BYTES, offsetof(struct teach, video_bytes)},
        {"apay", "src", CR_COUNT_BYTES, offsetof(struct teach, audio_bytes)},
        {"aenc", "sink", CR_COUNT_S16_STEREO_SAMPLES, offsetof(struct teach, audio_samples)},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(probes); i++) {
        GstElement *e = gst_bin_get_by_name(pipe, probes[i].elem);
        cr_count_on_element(e, probes[i].pad, probes[i].what,
                            (uint64_t *)((char *)t + probes[i].off));
        if (e != NULL)
            gst_object_unref(e);
    }
}

static GstElement *teach_build(struct cr_app *app, char **why)
{
    struct teach *t = (struct teach *)app;
    GError *err = NULL;
    char *desc = describe(app->opts);
    GstElement *pipe = gst_parse_launch_full(desc, NULL, GST_PARSE_FLAG_FATAL_ERRORS, &err);

    g_free(desc);
    if (pipe == NULL) {
        *why = g_strdup_printf("cannot build the publishing pipeline: %s", err->message);
        g_error_free(err);
        return NULL;
    }
    if (app->opts->file != NULL && !add_file_source(pipe, app->opts->file, why)) {
        gst_object_unref(pipe);
        return NULL;
    }
    GstElement *webrtc = gst_bin_get_by_name(GST_BIN(pipe), "webrtc");
    make_sendonly(webrtc);
    gst_object_unref(webrtc);
    add_counters(t, GST_BIN(pipe));
    return pipe;
}

static void teach_sample(struct cr_app *app, struct cr_stats_sample *s)
{
    struct teach *t = (struct teach *)app;
    s->frames = cr_count_get(&t->frames);
    s->video_bytes = cr_count_get(&t->video_bytes);
    s->audio_bytes = cr_count_get(&t->audio_bytes);
    s->audio_samples = cr_count_get(&t->audio_samples);
}

static gboolean have_camera(void)
{
    GstDeviceMonitor *m = gst_device_monitor_new();
    gboolean any = FALSE;

    gst_device_monitor_add_filter(m, "Video/Source", NULL);
    if (gst_device_monitor_start(m)) {
        GList *devs = gst_device_monitor_get_devices(m);
        any = devs != NULL;
        g_list_free_full(devs, gst_object_unref);
        gst_device_monitor_stop(m);
    }
    gst_object_unref(m);
    return any;
}

int cr_teach_run(const struct cr_opts *o)
{
    struct teach t = {0};

    if (o->file != NULL && !g_file_test(o->file, G_FILE_TEST_IS_REGULAR)) {
        fprintf(stderr, "error: cannot read media file '%s'\n", o->file);
        return 1;
    }
    if (!o->test && o->file == NULL && !have_camera()) {
        fprintf(stderr, "error: no camera found; use --test to publish a test pattern, "
                        "or --file PATH to publish a media file\n");
        return 1;
    }
    t.app.opts = o;
    t.app.role = CR_STATS_TEACH;
    t.app.print_stats = TRUE;
    t.app.rx_silence_ms = 15000;
    t.app.rx_silence_needs_first = TRUE;
    t.app.build = teach_build;
    t.app.sample = teach_sample;
    return cr_session_run(&t.app);
}
