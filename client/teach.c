#include "teach.h"

#include "count.h"
#include "session.h"

#include <gst/webrtc/webrtc.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct teach {
    struct cr_app app; /* first: the session hands us back &app */
    uint64_t frames, video_bytes, audio_bytes, audio_samples;
    GstElement *player; /* --file: the decoding pipeline feeding the inter* elements */
    guint player_watch;
    gboolean have_video, have_audio; /* streaming thread of decodebin only */
    char channel[48];   /* inter* channel name, unique to this process */
};

/* The part of the video branch that produces raw video at the requested format. */
static char *video_source(const struct teach *t)
{
    const struct cr_opts *o = t->app.opts;
    if (o->test)
        return g_strdup_printf(
            "videotestsrc is-live=true pattern=smpte ! video/x-raw,width=%u,height=%u,"
            "framerate=%u/1 ! clockoverlay time-format=\"%%H:%%M:%%S\" ! ",
            o->width, o->height, o->fps);
    if (o->file != NULL)
        return g_strdup_printf("intervideosrc channel=%s-v ! video/x-raw,width=%u,height=%u,"
                               "framerate=%u/1 ! ",
                               t->channel, o->width, o->height, o->fps);
    return g_strdup_printf("v4l2src ! videoconvert ! videoscale ! videorate ! "
                           "video/x-raw,width=%u,height=%u,framerate=%u/1 ! ",
                           o->width, o->height, o->fps);
}

static char *audio_source(const struct teach *t)
{
    const struct cr_opts *o = t->app.opts;
    if (o->test)
        return g_strdup("audiotestsrc is-live=true wave=sine freq=440 ! ");
    if (o->file != NULL)
        return g_strdup_printf("interaudiosrc channel=%s-a ! ", t->channel);
    return g_strdup("autoaudiosrc ! ");
}

/* Encoders as the relay expects them: constrained-baseline H.264 with SPS/PPS on every IDR
 * and a keyframe at least every 2 s, so a late joiner waits at most that long (the relay
 * also forwards PLIs). */
static char *describe(const struct teach *t)
{
    const struct cr_opts *o = t->app.opts;
    char *v = video_source(t);
    char *a = audio_source(t);
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
        v, 2 * o->fps, o->bitrate_kbps, a);
    g_free(v);
    g_free(a);
    return d;
}

/* ---- --file: a separate, non-live player ---------------------------------------------- */
/* webrtcbin wants live input: a non-live file branch inside the publishing pipeline gets no
 * configured latency and stalls in webrtcbin's rtpfunnel. So the file plays in a pipeline of
 * its own, paced by its sinks, into intervideosink/interaudiosink, and the publishing
 * pipeline reads intervideosrc/interaudiosrc, which are live and fill gaps with the last
 * frame or silence (standing in, too, for a stream the file lacks). */

/* Each decoded stream gets its branch when it appears, so a file without audio (or video)
 * has no idle sink that would keep its end-of-stream from completing. */
static void on_decoded_pad(GstElement *dec, GstPad *pad, gpointer data)
{
    struct teach *t = data;
    const struct cr_opts *o = t->app.opts;
    GstCaps *caps = gst_pad_query_caps(pad, NULL);
    const char *name = gst_structure_get_name(gst_caps_get_structure(caps, 0));
    gboolean video = g_str_has_prefix(name, "video/");
    char *desc = NULL;

    if (video && !t->have_video)
        desc = g_strdup_printf("queue ! videoconvert ! videoscale ! videorate ! "
                               "video/x-raw,format=I420,width=%u,height=%u,framerate=%u/1 ! "
                               "intervideosink channel=%s-v async=false",
                               o->width, o->height, o->fps, t->channel);
    else if (g_str_has_prefix(name, "audio/") && !t->have_audio)
        desc = g_strdup_printf("queue ! audioconvert ! audioresample ! "
                               "audio/x-raw,format=S16LE,rate=48000,channels=2 ! "
                               "interaudiosink channel=%s-a async=false",
                               t->channel);
    gst_caps_unref(caps);
    if (desc == NULL)
        return; /* a second stream of a kind, subtitles, ... */
    GstElement *branch = gst_parse_bin_from_description(desc, TRUE, NULL);
    g_free(desc);
    if (branch == NULL)
        return;
    gst_bin_add(GST_BIN(t->player), branch);
    gst_element_sync_state_with_parent(branch);
    GstPad *sink = gst_element_get_static_pad(branch, "sink");
    if (gst_pad_link(pad, sink) == GST_PAD_LINK_OK)
        *(video ? &t->have_video : &t->have_audio) = TRUE;
    else
        fprintf(stderr, "warning: cannot use the file's %s stream\n", name);
    gst_object_unref(sink);
}

static gboolean on_player_bus(GstBus *bus, GstMessage *msg, gpointer data)
{
    struct teach *t = data;
    GError *err = NULL;

    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS) {
        t->player_watch = 0;
        cr_session_finish(&t->app, 0, "end of file");
        return G_SOURCE_REMOVE;
    }
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
        gst_message_parse_error(msg, &err, NULL);
        char *why = g_strdup_printf("cannot play '%s': %s", t->app.opts->file, err->message);
        g_error_free(err);
        t->player_watch = 0;
        cr_session_finish(&t->app, 1, why);
        g_free(why);
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

static GstElement *build_player(struct teach *t, char **why)
{
    const struct cr_opts *o = t->app.opts;
    GError *err = NULL;
    GstElement *p = gst_parse_launch_full("filesrc name=src ! decodebin name=dec", NULL,
                                          GST_PARSE_FLAG_FATAL_ERRORS, &err);
    if (p == NULL) {
        *why = g_strdup_printf("cannot build the file player: %s", err->message);
        g_error_free(err);
        return NULL;
    }
    GstElement *src = gst_bin_get_by_name(GST_BIN(p), "src");
    GstElement *dec = gst_bin_get_by_name(GST_BIN(p), "dec");
    g_object_set(src, "location", o->file, NULL);
    t->player = p;
    g_signal_connect(dec, "pad-added", G_CALLBACK(on_decoded_pad), t);
    gst_object_unref(src);
    gst_object_unref(dec);
    GstBus *bus = gst_element_get_bus(p);
    t->player_watch = gst_bus_add_watch(bus, on_player_bus, t);
    gst_object_unref(bus);
    return p;
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
    char *desc = describe(t);
    GstElement *pipe = gst_parse_launch_full(desc, NULL, GST_PARSE_FLAG_FATAL_ERRORS, &err);

    g_free(desc);
    if (pipe == NULL) {
        *why = g_strdup_printf("cannot build the publishing pipeline: %s", err->message);
        g_error_free(err);
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

/* The file starts once the first connection is up, so the class sees it from its start;
 * it keeps playing through reconnects. */
static void teach_connected(struct cr_app *app, GstElement *pipeline)
{
    struct teach *t = (struct teach *)app;
    if (t->player != NULL &&
        gst_element_set_state(t->player, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
        cr_session_finish(app, 1, "cannot start playing the file");
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
    t.app.connected = teach_connected;
    g_snprintf(t.channel, sizeof(t.channel), "classrelay-%d", (int)getpid());
    if (o->file != NULL) {
        char *why = NULL;
        t.player = build_player(&t, &why);
        if (t.player == NULL) {
            fprintf(stderr, "error: %s\n", why);
            g_free(why);
            return 1;
        }
    }
    int rc = cr_session_run(&t.app);
    if (t.player != NULL) {
        gst_element_set_state(t.player, GST_STATE_NULL);
        if (t.player_watch != 0)
            g_source_remove(t.player_watch);
        gst_object_unref(t.player);
    }
    return rc;
}
