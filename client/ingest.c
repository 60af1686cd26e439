/* `classrelay-client ingest`: a studio source published into a class by WHIP. The source side
 * (ingest_feed.c) lives for the whole run; this file builds the publishing pipeline of each WHIP
 * attempt (session.c drives the attempts) and sets up simulcast for --transcode. */
#include "ingest.h"

#include "count.h"
#include "ingest_feed.h"
#include "ingest_plan.h"
#include "peer.h"
#include "session.h"
#include "supervised.h"

#include <gst/rtp/rtp.h>
#include <gst/webrtc/webrtc.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Header extension ids in the offer (RFC 8285); the relay reads rid (RFC 8852) per packet. */
#define EXT_ID_MID 9
#define EXT_ID_RID 10

struct ingest {
    struct cr_app app; /* first: the session hands us back &app */
    struct cr_opts opts;
    struct cr_feed *feed;
    enum cr_feed_mode mode;
    struct cr_layer layers[CR_OPTS_MAX_LAYERS];
    unsigned n_layers;
    char channel[48];
    uint64_t frames, video_bytes, audio_bytes, audio_samples;
    GstRTPHeaderExtension *mid_ext[CR_OPTS_MAX_LAYERS]; /* this attempt's, see on_video_mid */
};

static const char video_caps[] = CR_PEER_H264_SEND_CAPS;
static const char queue1[] = "queue max-size-buffers=3 max-size-time=0 max-size-bytes=0 "
                             "leaky=downstream";

/* One layer's encoder: constrained-baseline H.264, SPS/PPS with every IDR, a keyframe at least
 * every 2 s (the relay also forwards PLIs, which x264enc answers). */
static void append_encoder(GString *d, const struct ingest *in, unsigned i)
{
    g_string_append_printf(d,
                           "x264enc name=venc%u tune=zerolatency speed-preset=ultrafast "
                           "key-int-max=%u bitrate=%u ! video/x-h264,profile=constrained-baseline,"
                           "stream-format=byte-stream ! rtph264pay name=vpay%u pt=96 "
                           "config-interval=-1 aggregate-mode=zero-latency",
                           i, 2 * in->opts.fps, in->layers[i].kbps, i);
}

static char *describe(const struct ingest *in)
{
    GString *d = g_string_new("webrtcbin name=webrtc bundle-policy=max-bundle ");
    if (in->mode == CR_FEED_PASS) {
        g_string_append_printf(d,
                               "appsrc name=vsrc is-live=true format=time max-buffers=120 "
                               "leaky-type=downstream caps=\"video/x-h264,stream-format=byte-stream,"
                               "alignment=au\" ! h264parse name=vparse ! rtph264pay name=vpay0 pt=96 "
                               "config-interval=-1 aggregate-mode=zero-latency ! %s ! webrtc. ",
                               video_caps);
    } else {
        const struct cr_layer *top = &in->layers[0];
        g_string_append_printf(d,
                               "intervideosrc channel=%s-v timeout=1000000000 ! video/x-raw,"
                               "format=I420,width=%u,height=%u,framerate=%u/1,pixel-aspect-ratio=1/1 ! ",
                               in->channel, top->width, top->height, in->opts.fps);
        if (in->n_layers == 1) {
            g_string_append_printf(d, "%s ! ", queue1);
            append_encoder(d, in, 0);
            g_string_append_printf(d, " ! %s ! webrtc. ", video_caps);
        } else {
            g_string_append_printf(d, "tee name=vtee rtpfunnel name=vfunnel ! %s ! webrtc. ",
                                   video_caps);
            for (unsigned i = 0; i < in->n_layers; i++) {
                g_string_append_printf(d, "vtee. ! %s ! videoscale ! video/x-raw,width=%u,height=%u ! ",
                                       queue1, in->layers[i].width, in->layers[i].height);
                append_encoder(d, in, i);
                g_string_append(d, " ! vfunnel. ");
            }
        }
    }
    g_string_append_printf(d,
                           "interaudiosrc channel=%s-a ! audio/x-raw,format=S16LE,rate=48000,"
                           "channels=2,layout=interleaved ! queue max-size-time=200000000 "
                           "leaky=downstream ! opusenc name=aenc bitrate=64000 ! rtpopuspay "
                           "name=apay pt=111 ! application/x-rtp,media=audio,encoding-name=OPUS,"
                           "payload=111 ! webrtc.",
                           in->channel);
    return g_string_free(d, FALSE);
}

static void drop_mid_exts(struct ingest *in)
{
    for (unsigned i = 0; i < CR_OPTS_MAX_LAYERS; i++)
        if (in->mid_ext[i] != NULL) {
            gst_object_unref(in->mid_ext[i]);
            in->mid_ext[i] = NULL;
        }
}

/* webrtcbin names the m-line (a=mid) while making the offer; each layer's mid header extension
 * must carry that name. */
static void on_video_mid(GObject *transceiver, GParamSpec *pspec, gpointer data)
{
    struct ingest *in = data;
    char *mid = NULL;
    g_object_get(transceiver, "mid", &mid, NULL);
    for (unsigned i = 0; mid != NULL && i < in->n_layers; i++)
        if (in->mid_ext[i] != NULL)
            g_object_set(in->mid_ext[i], "mid", mid, NULL);
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

/* The transceiver webrtcbin made for the sink pad that element `name`'s src pad feeds through
 * one capsfilter (transfer full), or NULL. */
static GstWebRTCRTPTransceiver *transceiver_after(GstBin *pipe, const char *name)
{
    GstWebRTCRTPTransceiver *tr = NULL;
    GstElement *e = gst_bin_get_by_name(pipe, name);
    GstPad *src = gst_element_get_static_pad(e, "src");
    GstPad *peer = gst_pad_get_peer(src);
    if (peer != NULL) {
        GstElement *capsf = gst_pad_get_parent_element(peer);
        GstPad *csrc = gst_element_get_static_pad(capsf, "src");
        GstPad *sink = gst_pad_get_peer(csrc);
        if (sink != NULL) {
            g_object_get(sink, "transceiver", &tr, NULL);
            gst_object_unref(sink);
        }
        gst_object_unref(csrc);
        gst_object_unref(capsf);
        gst_object_unref(peer);
    }
    gst_object_unref(src);
    gst_object_unref(e);
    return tr;
}

/* Simulcast as a browser sends it (RFC 8853): one SSRC per layer with the rid and mid header
 * extensions, bundled into one m-line by rtpfunnel, and a=rid / a=simulcast in the offer, which
 * webrtcbin 1.22 writes from the transceiver's codec preferences ("rid-<id>" and "a-simulcast"
 * fields; "extmap-<n>" for a=extmap). */
static gboolean setup_simulcast(struct ingest *in, GstBin *pipe, char **why)
{
    drop_mid_exts(in);
    for (unsigned i = 0; i < in->n_layers; i++) {
        char name[12];
        g_snprintf(name, sizeof(name), "vpay%u", i);
        GstElement *pay = gst_bin_get_by_name(pipe, name);
        GstRTPHeaderExtension *rid =
            add_extension(pay, GST_RTP_HDREXT_BASE "sdes:rtp-stream-id", EXT_ID_RID);
        in->mid_ext[i] = add_extension(pay, GST_RTP_HDREXT_BASE "sdes:mid", EXT_ID_MID);
        gst_object_unref(pay);
        if (rid == NULL || in->mid_ext[i] == NULL) {
            *why = g_strdup("--transcode needs GStreamer's rtphdrextstreamid and rtphdrextmid "
                            "(gst-plugins-good 1.22 or later)");
            if (rid != NULL)
                gst_object_unref(rid);
            return FALSE;
        }
        g_object_set(rid, "rid", in->layers[i].rid, NULL);
        gst_object_unref(rid);
    }
    GstWebRTCRTPTransceiver *tr = transceiver_after(pipe, "vfunnel");
    if (tr == NULL) {
        *why = g_strdup("simulcast: cannot find the video transceiver");
        return FALSE;
    }
    GString *prefs = g_string_new("application/x-rtp,media=video,encoding-name=H264,payload=96,"
                                  "clock-rate=90000,packetization-mode=(string)1,"
                                  "profile-level-id=(string)42e01f,"
                                  "level-asymmetry-allowed=(string)1");
    GString *sim = g_string_new("send ");
    for (unsigned i = 0; i < in->n_layers; i++) {
        g_string_append_printf(prefs, ",rid-%s=(string)send", in->layers[i].rid);
        g_string_append_printf(sim, "%s%s", i ? ";" : "", in->layers[i].rid);
    }
    g_string_append_printf(prefs, ",a-simulcast=(string)\"%s\",extmap-%u=(string)%ssdes:mid,"
                           "extmap-%u=(string)%ssdes:rtp-stream-id",
                           sim->str, EXT_ID_MID, GST_RTP_HDREXT_BASE, EXT_ID_RID,
                           GST_RTP_HDREXT_BASE);
    GstCaps *caps = gst_caps_from_string(prefs->str);
    g_string_free(prefs, TRUE);
    g_string_free(sim, TRUE);
    g_object_set(tr, "codec-preferences", caps, NULL);
    gst_caps_unref(caps);
    g_signal_connect(tr, "notify::mid", G_CALLBACK(on_video_mid), in);
    gst_object_unref(tr);
    return TRUE;
}

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

static void add_counters(struct ingest *in, GstBin *pipe)
{
    for (unsigned i = 0; i < in->n_layers; i++) {
        char name[12];
        g_snprintf(name, sizeof(name), "vpay%u", i);
        GstElement *e = gst_bin_get_by_name(pipe, name);
        if (e != NULL) {
            cr_count_on_element(e, "src", CR_COUNT_BYTES, &in->video_bytes);
            gst_object_unref(e);
        }
    }
    static const struct {
        const char *elem, *pad;
        enum cr_count_what what;
        size_t off;
    } probes[] = {
        {"venc0", "src", CR_COUNT_BUFFERS, offsetof(struct ingest, frames)}, /* the top layer */
        {"vparse", "src", CR_COUNT_BUFFERS, offsetof(struct ingest, frames)}, /* PASS */
        {"apay", "src", CR_COUNT_BYTES, offsetof(struct ingest, audio_bytes)},
        {"aenc", "sink", CR_COUNT_S16_STEREO_SAMPLES, offsetof(struct ingest, audio_samples)},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(probes); i++) {
        GstElement *e = gst_bin_get_by_name(pipe, probes[i].elem);
        if (e == NULL)
            continue;
        cr_count_on_element(e, probes[i].pad, probes[i].what,
                            (uint64_t *)((char *)in + probes[i].off));
        gst_object_unref(e);
    }
}

static GstElement *ingest_build(struct cr_app *app, char **why)
{
    struct ingest *in = (struct ingest *)app;
    GError *err = NULL;
    char *desc = describe(in);
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
    if (in->mode == CR_FEED_RAW && in->n_layers > 1 && !setup_simulcast(in, GST_BIN(pipe), why)) {
        gst_object_unref(pipe);
        return NULL;
    }
    add_counters(in, GST_BIN(pipe));
    if (in->mode == CR_FEED_PASS) {
        GstElement *vsrc = gst_bin_get_by_name(GST_BIN(pipe), "vsrc");
        cr_feed_set_appsrc(in->feed, vsrc);
        gst_object_unref(vsrc);
    }
    return pipe;
}

static void ingest_teardown(struct cr_app *app)
{
    struct ingest *in = (struct ingest *)app;
    if (in->mode == CR_FEED_PASS)
        cr_feed_set_appsrc(in->feed, NULL);
}

static void ingest_sample(struct cr_app *app, struct cr_stats_sample *s)
{
    struct ingest *in = (struct ingest *)app;
    s->frames = cr_count_get(&in->frames);
    s->video_bytes = cr_count_get(&in->video_bytes);
    s->audio_bytes = cr_count_get(&in->audio_bytes);
    s->audio_samples = cr_count_get(&in->audio_samples);
}

static void on_feed_fatal(void *ud, const char *why)
{
    struct ingest *in = ud;
    cr_session_finish(&in->app, 1, why);
}

int cr_ingest_run(const struct cr_opts *o)
{
    struct ingest in;
    memset(&in, 0, sizeof(in));
    in.opts = *o;
    cr_supervised_token(&in.opts);
    if (cr_src_kind_of(o->src) == CR_SRC_FILE && strstr(o->src, "://") == NULL &&
        !g_file_test(o->src, G_FILE_TEST_IS_REGULAR)) {
        fprintf(stderr, "error: cannot read media file '%s'\n", o->src);
        return 1;
    }
    in.mode = o->transcode ? CR_FEED_RAW : CR_FEED_PASS;
    in.n_layers = o->transcode ? cr_layer_plan(o->layer_h, o->n_layers, o->fps, in.layers) : 1;
    if (!o->transcode) {
        in.layers[0] = (struct cr_layer){"h", 1280, 720, o->bitrate_kbps};
    }
    g_snprintf(in.channel, sizeof(in.channel), "classrelay-ingest-%d", (int)getpid());
    struct cr_feed_cfg fc = {
        .src = o->src,
        .mode = in.mode,
        .channel = in.channel,
        .width = in.layers[0].width,
        .height = in.layers[0].height,
        .fps = o->fps,
        .kbps = o->bitrate_kbps,
        .retry = o->reconnect_source,
        .fatal = on_feed_fatal,
        .ud = &in,
    };
    in.app.opts = &in.opts;
    in.app.role = CR_STATS_TEACH;
    in.app.print_stats = TRUE;
    in.app.rx_silence_ms = 15000;
    in.app.rx_silence_needs_first = TRUE;
    in.app.build = ingest_build;
    in.app.sample = ingest_sample;
    in.app.teardown = ingest_teardown;
    fprintf(stderr, "ingest: %s -> %s (%s", o->src, o->url,
            o->transcode ? "transcode:" : "H.264 passes through when it can");
    for (unsigned i = 0; o->transcode && i < in.n_layers; i++)
        fprintf(stderr, " %s=%ux%u@%u", in.layers[i].rid, in.layers[i].width, in.layers[i].height,
                in.layers[i].kbps);
    fprintf(stderr, ")\n");
    in.feed = cr_feed_new(&fc);
    cr_feed_start(in.feed);
    guint parent = cr_supervised_watch_parent(&in.app);
    int rc = cr_session_run(&in.app);
    if (parent != 0)
        g_source_remove(parent);
    drop_mid_exts(&in);
    cr_feed_free(in.feed);
    return rc;
}
