#include "teach.h"

#include "count.h"
#include "peer.h"
#include "session.h"

#include <gst/rtp/rtp.h>
#include <gst/video/video.h>
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
    /* --simulcast: the current attempt's mid header extensions, set once webrtcbin names the
     * video m-line (main thread, via notify::mid). */
    GstRTPHeaderExtension *mid_ext[3];
    guint32 layer_ssrc[3];
};

/* --simulcast: three encodings of one source, as a browser sends them (RFC 8853): rid h at the
 * chosen size, m at half, l at a quarter, each its own SSRC carrying the rid header extension
 * (RFC 8852) and the mid one (RFC 8843), bundled into one video m-line by rtpfunnel. */
#define CR_LAYERS 3
static const char *const layer_rid[CR_LAYERS] = {"h", "m", "l"};
static const unsigned layer_div[CR_LAYERS] = {1, 2, 4};
/* Header extension ids in the offer; an answer keeps the offerer's ids (RFC 8285 section 6). */
#define CR_EXT_ID_MID 9
#define CR_EXT_ID_RID 10

static unsigned layer_size(unsigned full, unsigned i)
{
    unsigned v = (full / layer_div[i]) & ~1u; /* encoders want even sizes */
    return v < 16 ? 16 : v;
}

static unsigned layer_kbps(unsigned full, unsigned i)
{
    static const unsigned permille[CR_LAYERS] = {1000, 400, 150};
    unsigned v = full * permille[i] / 1000;
    return v < 50 ? 50 : v;
}

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

/* The H.264 encoder and payloader of one video stream (layer i of --simulcast, or the only
 * one). Encoders as the relay expects them: constrained-baseline H.264 with SPS/PPS on every IDR
 * and a keyframe at least every 2 s, so a late joiner waits at most that long (the relay also
 * forwards PLIs). */
static char *video_encoder(const struct cr_opts *o, unsigned i, unsigned kbps)
{
    return g_strdup_printf(
        "x264enc name=venc%s tune=zerolatency speed-preset=ultrafast key-int-max=%u bitrate=%u ! "
        "video/x-h264,profile=constrained-baseline,stream-format=byte-stream ! "
        "rtph264pay name=vpay%s pt=96 config-interval=-1 aggregate-mode=zero-latency",
        i ? (i == 1 ? "1" : "2") : "", 2 * o->fps, kbps, i ? (i == 1 ? "1" : "2") : "");
}

/* The video branch from raw video to webrtcbin: one encoder, or a tee into CR_LAYERS scaled
 * encoders whose RTP streams rtpfunnel bundles. */
static char *video_branch(const struct teach *t)
{
    const struct cr_opts *o = t->app.opts;
    static const char q[] = "queue max-size-buffers=3 max-size-time=0 max-size-bytes=0 leaky=downstream";
    static const char caps[] = CR_PEER_H264_SEND_CAPS;
    if (!o->simulcast) {
        char *enc = video_encoder(o, 0, o->bitrate_kbps);
        char *b = g_strdup_printf("videoconvert ! %s ! %s ! %s ! webrtc. ", q, enc, caps);
        g_free(enc);
        return b;
    }
    GString *b = g_string_new("videoconvert ! tee name=vtee rtpfunnel name=vfunnel ! ");
    g_string_append_printf(b, "%s ! webrtc. ", caps);
    for (unsigned i = 0; i < CR_LAYERS; i++) {
        char *enc = video_encoder(o, i, layer_kbps(o->bitrate_kbps, i));
        g_string_append_printf(b, "vtee. ! %s ! videoscale ! video/x-raw,width=%u,height=%u ! %s ! vfunnel. ",
                               q, layer_size(o->width, i), layer_size(o->height, i), enc);
        g_free(enc);
    }
    return g_string_free(b, FALSE);
}

static char *describe(const struct teach *t)
{
    char *v = video_source(t);
    char *vb = video_branch(t);
    char *a = audio_source(t);
    char *d = g_strdup_printf(
        "webrtcbin name=webrtc bundle-policy=max-bundle %s %s"
        "%s audioconvert ! audioresample ! audio/x-raw,format=S16LE,rate=48000,channels=2 ! "
        "queue max-size-time=200000000 leaky=downstream ! opusenc name=aenc bitrate=64000 ! "
        "rtpopuspay name=apay pt=111 ! "
        "application/x-rtp,media=audio,encoding-name=OPUS,payload=111 ! webrtc.",
        v, vb, a);
    g_free(v);
    g_free(vb);
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
        {"venc", "src", CR_COUNT_BUFFERS, offsetof(struct teach, frames)}, /* the top layer */
        {"vpay", "src", CR_COUNT_BYTES, offsetof(struct teach, video_bytes)},
        {"vpay1", "src", CR_COUNT_BYTES, offsetof(struct teach, video_bytes)}, /* --simulcast */
        {"vpay2", "src", CR_COUNT_BYTES, offsetof(struct teach, video_bytes)},
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

static void drop_mid_exts(struct teach *t)
{
    for (unsigned i = 0; i < CR_LAYERS; i++)
        if (t->mid_ext[i] != NULL) {
            gst_object_unref(t->mid_ext[i]);
            t->mid_ext[i] = NULL;
        }
}

/* webrtcbin names the m-line (a=mid) when it makes the offer; the layers' mid header extension
 * must carry the same name. */
static void on_video_mid(GObject *transceiver, GParamSpec *pspec, gpointer data)
{
    struct teach *t = data;
    char *mid = NULL;
    g_object_get(transceiver, "mid", &mid, NULL);
    for (unsigned i = 0; mid != NULL && i < CR_LAYERS; i++)
        if (t->mid_ext[i] != NULL)
            g_object_set(t->mid_ext[i], "mid", mid, NULL);
    g_free(mid);
}

static GstRTPHeaderExtension *add_extension(GstElement *pay, const char *uri, guint id)
{
    GstRTPHeaderExtension *ext = gst_rtp_header_extension_create_from_uri(uri);
    if (ext == NULL)
        return NULL;
    gst_rtp_header_extension_set_id(ext, id);
    g_signal_emit_by_name(pay, "add-extension", ext);
    return ext; /* the payloader took its own reference */
}

/* --simulcast: the rid and mid header extensions on each layer's payloader, and the video
 * transceiver's codec preferences, which webrtcbin writes into the offer's m-line (GStreamer
 * 1.22: "rid-<id>" fields become a=rid, "a-simulcast" a=simulcast, "extmap-<n>" a=extmap). */
static gboolean setup_simulcast(struct teach *t, GstBin *pipe, char **why)
{
    drop_mid_exts(t);
    for (unsigned i = 0; i < CR_LAYERS; i++) {
        char name[8];
        g_snprintf(name, sizeof(name), i ? "vpay%u" : "vpay", i);
        GstElement *pay = gst_bin_get_by_name(pipe, name);
        GstRTPHeaderExtension *rid = add_extension(pay, GST_RTP_HDREXT_BASE "sdes:rtp-stream-id",
                                                   CR_EXT_ID_RID);
        t->mid_ext[i] = add_extension(pay, GST_RTP_HDREXT_BASE "sdes:mid", CR_EXT_ID_MID);
        gst_object_unref(pay);
        if (rid == NULL || t->mid_ext[i] == NULL) {
            *why = g_strdup("--simulcast needs GStreamer's rtphdrextstreamid and rtphdrextmid "
                            "(gst-plugins-good 1.22 or later)");
            if (rid != NULL)
                gst_object_unref(rid);
            return FALSE;
        }
        g_object_set(rid, "rid", layer_rid[i], NULL);
        gst_object_unref(rid);
        /* Our own SSRCs, to route the relay's keyframe requests (on_feedback). */
        do
            t->layer_ssrc[i] = g_random_int();
        while (t->layer_ssrc[i] == 0 || (i > 0 && t->layer_ssrc[i] == t->layer_ssrc[i - 1]) ||
               (i > 1 && t->layer_ssrc[i] == t->layer_ssrc[0]));
        pay = gst_bin_get_by_name(pipe, name);
        g_object_set(pay, "ssrc", t->layer_ssrc[i], NULL);
        gst_object_unref(pay);
    }
    GstElement *funnel = gst_bin_get_by_name(pipe, "vfunnel");
    GstPad *src = gst_element_get_static_pad(funnel, "src");
    GstPad *caps_src = NULL, *sink = NULL;
    GstWebRTCRTPTransceiver *tr = NULL;
    /* rtpfunnel -> capsfilter -> webrtcbin: the transceiver hangs on webrtcbin's sink pad. */
    GstPad *peer = gst_pad_get_peer(src);
    if (peer != NULL) {
        GstElement *capsf = gst_pad_get_parent_element(peer);
        caps_src = gst_element_get_static_pad(capsf, "src");
        sink = gst_pad_get_peer(caps_src);
        if (sink != NULL)
            g_object_get(sink, "transceiver", &tr, NULL);
        gst_object_unref(capsf);
        gst_object_unref(peer);
    }
    gst_object_unref(src);
    gst_object_unref(funnel);
    if (caps_src != NULL)
        gst_object_unref(caps_src);
    if (sink != NULL)
        gst_object_unref(sink);
    if (tr == NULL) {
        *why = g_strdup("--simulcast: cannot find the video transceiver");
        return FALSE;
    }
    char *prefs = g_strdup_printf(
        "application/x-rtp,media=video,encoding-name=H264,payload=96,clock-rate=90000,"
        "packetization-mode=(string)1,profile-level-id=(string)42e01f,"
        "level-asymmetry-allowed=(string)1,rid-%s=(string)send,rid-%s=(string)send,"
        "rid-%s=(string)send,a-simulcast=(string)\"send %s;%s;%s\","
        "extmap-%u=(string)" GST_RTP_HDREXT_BASE "sdes:mid,"
        "extmap-%u=(string)" GST_RTP_HDREXT_BASE "sdes:rtp-stream-id",
        layer_rid[0], layer_rid[1], layer_rid[2], layer_rid[0], layer_rid[1], layer_rid[2],
        CR_EXT_ID_MID, CR_EXT_ID_RID);
    GstCaps *caps = gst_caps_from_string(prefs);
    g_free(prefs);
    g_object_set(tr, "codec-preferences", caps, NULL);
    gst_caps_unref(caps);
    g_signal_connect(tr, "notify::mid", G_CALLBACK(on_video_mid), t);
    gst_object_unref(tr);
    return TRUE;
}

/* --simulcast: the relay's keyframe requests (PLI, FIR; RFC 4585, RFC 5104) for one layer. In
 * GStreamer 1.22 they do not reach the layer's encoder by themselves: rtpsession sends
 * GstForceKeyUnit upstream with the SSRC, and webrtcbin's bundling rtpfunnel drops it for an
 * SSRC its sink caps do not name, which is every layer behind our own rtpfunnel. So we listen to
 * the session's feedback and ask the encoder of that SSRC directly. */
struct kf_route {
    guint32 ssrc[CR_LAYERS];
    GstElement *enc[CR_LAYERS];
};

static void kf_route_free(gpointer data, GClosure *closure)
{
    struct kf_route *r = data;
    for (unsigned i = 0; i < CR_LAYERS; i++)
        if (r->enc[i] != NULL)
            gst_object_unref(r->enc[i]);
    g_free(r);
}

static void kf_request(const struct kf_route *r, guint32 ssrc)
{
    for (unsigned i = 0; i < CR_LAYERS; i++) {
        if (r->ssrc[i] != ssrc || r->enc[i] == NULL)
            continue;
        GstPad *src = gst_element_get_static_pad(r->enc[i], "src");
        if (src != NULL) {
            /* all-headers FALSE: config-interval=-1 already puts SPS/PPS before every IDR, and
             * rtph264pay answers all-headers by sending them again on their own with the
             * previous frame's timestamp, which a browser counts as a broken frame (and asks
             * for another keyframe, without end). */
            gst_pad_send_event(src, gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE,
                                                                                 FALSE, 0));
            gst_object_unref(src);
        }
    }
}

/* RTPSession "on-feedback-rtcp", from its RTCP thread. */
static void on_feedback(GObject *session, guint type, guint fbtype, guint sender_ssrc,
                        guint media_ssrc, GstBuffer *fci, gpointer data)
{
    const struct kf_route *r = data;
    GstMapInfo map;
    if (type != GST_RTCP_TYPE_PSFB)
        return;
    if (fbtype == GST_RTCP_PSFB_TYPE_PLI) {
        kf_request(r, media_ssrc);
    } else if (fbtype == GST_RTCP_PSFB_TYPE_FIR && fci != NULL && gst_buffer_map(fci, &map, GST_MAP_READ)) {
        for (gsize off = 0; off + 8 <= map.size; off += 8) /* RFC 5104 4.3.1.1: SSRC, seq, 0 */
            kf_request(r, GST_READ_UINT32_BE(map.data + off));
        gst_buffer_unmap(fci, &map);
    }
}

static void route_keyframe_requests(struct teach *t, GstElement *pipeline)
{
    GstElement *webrtc = gst_bin_get_by_name(GST_BIN(pipeline), "webrtc");
    GstElement *rtpbin = webrtc ? gst_bin_get_by_name(GST_BIN(webrtc), "rtpbin") : NULL;
    GObject *session = NULL;
    if (rtpbin != NULL)
        g_signal_emit_by_name(rtpbin, "get-internal-session", 0u, &session);
    if (session != NULL) {
        struct kf_route *r = g_new0(struct kf_route, 1);
        for (unsigned i = 0; i < CR_LAYERS; i++) {
            char name[8];
            g_snprintf(name, sizeof(name), i ? "venc%u" : "venc", i);
            r->ssrc[i] = t->layer_ssrc[i];
            r->enc[i] = gst_bin_get_by_name(GST_BIN(pipeline), name);
        }
        g_signal_connect_data(session, "on-feedback-rtcp", G_CALLBACK(on_feedback), r, kf_route_free, 0);
        g_object_unref(session);
    } else {
        fprintf(stderr, "warning: --simulcast: cannot watch keyframe requests; layers switch at "
                        "periodic keyframes\n");
    }
    if (rtpbin != NULL)
        gst_object_unref(rtpbin);
    if (webrtc != NULL)
        gst_object_unref(webrtc);
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
    if (app->opts->simulcast && !setup_simulcast(t, GST_BIN(pipe), why)) {
        gst_object_unref(pipe);
        return NULL;
    }
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
    if (app->opts->simulcast)
        route_keyframe_requests(t, pipeline);
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
    drop_mid_exts(&t);
    if (t.player != NULL) {
        gst_element_set_state(t.player, GST_STATE_NULL);
        if (t.player_watch != 0)
            g_source_remove(t.player_watch);
        gst_object_unref(t.player);
    }
    return rc;
}
