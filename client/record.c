/* `classrelay-client record`: subscribe to a class by WHEP and write it to disk.
 *
 * H.264 and Opus go untouched (depayloaded and parsed only) into splitmuxsink with mp4mux in
 * its robust mode: the index (moov) sits in reserved space at the start of the file and is
 * rewritten every second, so a recorder killed at any moment leaves an ordinary MP4 playable up
 * to about a second before (plus the GOP splitmuxsink holds back to choose where to split). A
 * fragmented MP4 is as crash-safe but carries each segment's absolute times, so players and
 * gst-discoverer report wrong durations for every segment but the first. Segments rotate at
 * --segment-seconds or --max-bytes, on a keyframe (splitmuxsink asks the sender for one). File
 * names are ours (record_meta.h); the JSON sidecar is rewritten atomically on every segment
 * change and every few seconds, so it always describes what is on disk. */
#include "record.h"

#include "count.h"
#include "record_meta.h"
#include "peer.h"
#include "session.h"
#include "supervised.h"

#include <errno.h>
#include <fcntl.h>
#include <gst/webrtc/webrtc.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MOOV_UPDATE_S 1       /* robust MP4: the index on disk is at most this old */
#define SIDECAR_EVERY_S 5     /* sidecar refresh while recording */
#define FINALIZE_TIMEOUT_S 5  /* wait for the last segment's EOS at the end */

struct record {
    struct cr_app app; /* first: the session hands us back &app */
    struct cr_opts opts;
    char class_id[CR_REC_ID_MAX + 1];
    char base[CR_REC_NAME_MAX];
    int dirfd;
    int64_t start_ms, end_ms;
    const char *state;
    struct cr_rec_segment *segs; /* main thread, except the name chosen in format-location */
    unsigned n_segs, cap_segs;
    GMutex lock;                 /* guards segs, n_segs, cap_segs */
    GstElement *mux;             /* this attempt's splitmuxsink */
    GstPad *vpad, *apad;         /* its request pads */
    GstPad *vin, *ain;           /* the entries of the branches feeding them, or NULL */
    gboolean linked_v, linked_a;
    guint refresh;
    uint64_t frames, video_bytes, audio_bytes;
};

static int64_t now_ms(void)
{
    return g_get_real_time() / 1000;
}

/* Rewrites the sidecar from the current state (main thread). */
static void write_sidecar(struct record *r)
{
    char name[CR_REC_NAME_MAX + 8];
    g_snprintf(name, sizeof(name), "%s.json", r->base);
    g_mutex_lock(&r->lock);
    for (unsigned i = 0; i < r->n_segs; i++) { /* sizes as they are on disk now */
        struct stat st;
        if (fstatat(r->dirfd, r->segs[i].file, &st, AT_SYMLINK_NOFOLLOW) == 0)
            r->segs[i].bytes = (uint64_t)st.st_size;
    }
    struct cr_rec_meta m = {r->class_id, r->opts.teacher, r->state, r->start_ms, r->end_ms,
                            now_ms(), r->segs, r->n_segs};
    int need = cr_rec_meta_json(&m, NULL, 0);
    char *buf = need > 0 ? g_malloc((size_t)need + 1) : NULL;
    if (buf != NULL)
        cr_rec_meta_json(&m, buf, (size_t)need + 1);
    g_mutex_unlock(&r->lock);
    if (buf == NULL)
        return;
    int rc = cr_rec_write_atomic(r->dirfd, name, buf, (size_t)need);
    if (rc != 0)
        fprintf(stderr, "warning: cannot write %s: %s\n", name, g_strerror(-rc));
    g_free(buf);
}

static gboolean on_refresh(gpointer data)
{
    write_sidecar(data);
    return G_SOURCE_CONTINUE;
}

/* splitmuxsink asks for the next file (streaming thread): our name, never the peer's. */
static gchar *on_format_location(GstElement *mux, guint id, GstSample *first, gpointer data)
{
    struct record *r = data;
    char file[CR_REC_NAME_MAX];
    g_mutex_lock(&r->lock);
    if (r->n_segs == r->cap_segs) {
        r->cap_segs = r->cap_segs ? 2 * r->cap_segs : 16;
        r->segs = g_renew(struct cr_rec_segment, r->segs, r->cap_segs);
    }
    int ok = r->n_segs < CR_REC_MAX_SEGMENTS &&
             cr_rec_segment_name(r->base, r->n_segs + 1, file, sizeof(file)) == 0;
    if (ok) {
        struct cr_rec_segment *s = &r->segs[r->n_segs++];
        memset(s, 0, sizeof(*s));
        g_strlcpy(s->file, file, sizeof(s->file));
        s->start_ms = now_ms();
    }
    g_mutex_unlock(&r->lock);
    if (!ok) {
        fprintf(stderr, "error: more than %d segments in one recording\n", CR_REC_MAX_SEGMENTS);
        return g_strdup("/dev/null");
    }
    return g_build_filename(r->opts.dir, file, NULL);
}

struct fragment_event {
    struct record *r;
    gboolean opened;
    char *location;
    int64_t at_ms;
};

/* A segment was opened or closed: the sidecar follows (main thread). */
static gboolean on_fragment(gpointer data)
{
    struct fragment_event *ev = data;
    struct record *r = ev->r;
    if (ev->opened) {
        printf("segment %s\n", ev->location ? ev->location : "?");
        if (r->start_ms == 0)
            r->start_ms = ev->at_ms;
    } else {
        /* The next segment may already be named: close the one at this location. */
        const char *file = ev->location ? strrchr(ev->location, '/') : NULL;
        file = file ? file + 1 : ev->location;
        g_mutex_lock(&r->lock);
        for (unsigned i = 0; file != NULL && i < r->n_segs; i++)
            if (strcmp(r->segs[i].file, file) == 0 && r->segs[i].end_ms == 0)
                r->segs[i].end_ms = ev->at_ms;
        g_mutex_unlock(&r->lock);
    }
    write_sidecar(r);
    g_free(ev->location);
    g_free(ev);
    return G_SOURCE_REMOVE;
}

/* splitmuxsink's fragment messages, seen in the posting thread (the session owns the bus
 * watch) and handed to the main loop. */
static GstBusSyncReply on_sync_message(GstBus *bus, GstMessage *msg, gpointer data)
{
    const GstStructure *s = gst_message_get_structure(msg);
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) { /* the session prints the message only */
        GError *err = NULL;
        char *dbg = NULL;
        gst_message_parse_error(msg, &err, &dbg);
        fprintf(stderr, "record: error from %s: %s (%s)\n", GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)),
                err ? err->message : "?", dbg ? dbg : "no details");
        g_clear_error(&err);
        g_free(dbg);
    }
    if (GST_MESSAGE_TYPE(msg) != GST_MESSAGE_ELEMENT || s == NULL)
        return GST_BUS_PASS;
    gboolean opened = gst_structure_has_name(s, "splitmuxsink-fragment-opened");
    if (opened || gst_structure_has_name(s, "splitmuxsink-fragment-closed")) {
        struct fragment_event *ev = g_new0(struct fragment_event, 1);
        ev->r = data;
        ev->opened = opened;
        ev->location = g_strdup(gst_structure_get_string(s, "location"));
        ev->at_ms = now_ms();
        g_idle_add(on_fragment, ev);
    }
    return GST_BUS_PASS;
}

/* Times as mp4mux needs them, kept per stream: every buffer has a PTS (mp4mux fails the whole
 * file on one without), DTS never decreases, and PTS is not before DTS. A lost packet or a
 * jitter-buffer reset can break either under load; one bad timestamp must not end a recording. */
struct ts_guard {
    GstClockTime last_pts, last_dts;
    guint64 fixed;
};

static GstPadProbeReturn guard_times(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
    struct ts_guard *g = data;
    GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER(info);
    GstClockTime pts = GST_BUFFER_PTS(b), dts = GST_BUFFER_DTS(b);
    gboolean bad = !GST_CLOCK_TIME_IS_VALID(pts) ||
                   (GST_CLOCK_TIME_IS_VALID(dts) && GST_CLOCK_TIME_IS_VALID(g->last_dts) && dts < g->last_dts) ||
                   (GST_CLOCK_TIME_IS_VALID(dts) && pts < dts);
    if (bad) {
        if (!GST_CLOCK_TIME_IS_VALID(pts) && !GST_CLOCK_TIME_IS_VALID(g->last_pts))
            return GST_PAD_PROBE_DROP; /* nothing to place it after */
        b = gst_buffer_make_writable(b);
        if (!GST_CLOCK_TIME_IS_VALID(pts))
            pts = g->last_pts + GST_MSECOND;
        if (GST_CLOCK_TIME_IS_VALID(dts) && GST_CLOCK_TIME_IS_VALID(g->last_dts) && dts < g->last_dts)
            dts = g->last_dts;
        if (GST_CLOCK_TIME_IS_VALID(dts) && pts < dts)
            pts = dts;
        GST_BUFFER_PTS(b) = pts;
        GST_BUFFER_DTS(b) = dts;
        GST_PAD_PROBE_INFO_DATA(info) = b;
        if (g->fixed++ == 0)
            fprintf(stderr, "warning: %s: fixed a buffer's times for the muxer\n", GST_PAD_NAME(pad));
    }
    g->last_pts = pts;
    if (GST_CLOCK_TIME_IS_VALID(dts))
        g->last_dts = dts;
    return GST_PAD_PROBE_OK;
}

static void add_guard(GstPad *pad)
{
    struct ts_guard *g = g_new0(struct ts_guard, 1);
    g->last_pts = g->last_dts = GST_CLOCK_TIME_NONE;
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, guard_times, g, g_free);
}

static const char *branch_for(gboolean video)
{
    return video ? "queue ! rtph264depay request-keyframe=true wait-for-keyframe=true ! "
                   "h264parse name=vparse ! video/x-h264,stream-format=avc,alignment=au ! queue"
                 : "queue ! rtpopusdepay ! opusparse name=aparse ! queue";
}

static void on_pad_added(GstElement *webrtc, GstPad *pad, gpointer data)
{
    struct record *r = data;
    if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC)
        return;
    GstCaps *caps = gst_pad_get_current_caps(pad);
    if (caps == NULL)
        caps = gst_pad_query_caps(pad, NULL);
    const GstStructure *st = gst_caps_get_structure(caps, 0);
    const char *enc = gst_structure_get_string(st, "encoding-name");
    gboolean video = g_strcmp0(gst_structure_get_string(st, "media"), "video") == 0;
    gboolean ok = video ? g_ascii_strcasecmp(enc ? enc : "", "H264") == 0
                        : g_ascii_strcasecmp(enc ? enc : "", "OPUS") == 0;
    gboolean *linked = video ? &r->linked_v : &r->linked_a;
    GstObject *pipe = gst_element_get_parent(webrtc);
    GstElement *bin = gst_parse_bin_from_description(ok && !*linked ? branch_for(video)
                                                                    : "fakesink sync=false",
                                                     TRUE, NULL);
    gst_caps_unref(caps);
    gst_bin_add(GST_BIN(pipe), bin);
    gst_object_unref(pipe);
    GstPad *sink = gst_element_get_static_pad(bin, "sink");
    gst_pad_link(pad, sink);
    gst_object_unref(sink);
    if (ok && !*linked) {
        GstPad *src = gst_element_get_static_pad(bin, "src");
        add_guard(src);
        if (gst_pad_link(src, video ? r->vpad : r->apad) != GST_PAD_LINK_OK)
            fprintf(stderr, "warning: cannot record the %s stream\n", video ? "video" : "audio");
        gst_object_unref(src);
        *linked = TRUE;
        cr_count_on_pad(pad, CR_COUNT_BYTES, video ? &r->video_bytes : &r->audio_bytes);
        *(video ? &r->vin : &r->ain) = gst_element_get_static_pad(bin, "sink");
        if (video) {
            GstElement *parse = gst_bin_get_by_name(GST_BIN(bin), "vparse");
            cr_count_on_element(parse, "src", CR_COUNT_BUFFERS, &r->frames);
            gst_object_unref(parse);
        }
    }
    gst_element_sync_state_with_parent(bin);
}

/* splitmuxsink with both pads requested up front: mp4mux takes no new track once it started. */
static GstElement *make_mux(struct record *r, char **why)
{
    GstElement *mux = gst_element_factory_make("splitmuxsink", "mux");
    GstElement *mp4 = gst_element_factory_make("mp4mux", NULL);
    if (mux == NULL || mp4 == NULL) {
        *why = g_strdup("GStreamer elements splitmuxsink and mp4mux are missing "
                        "(gstreamer1.0-plugins-good)");
        if (mux != NULL)
            gst_object_unref(mux);
        if (mp4 != NULL)
            gst_object_unref(mp4);
        return NULL;
    }
    /* Room for the index of a segment longer than planned: splitmuxsink splits on keyframes. */
    guint64 reserve_s = (guint64)r->opts.segment_s * 3 / 2 + 60;
    g_object_set(mp4, "reserved-max-duration", reserve_s * GST_SECOND,
                 "reserved-moov-update-period", (guint64)MOOV_UPDATE_S * GST_SECOND, NULL);
    g_object_set(mux, "muxer", mp4, "max-size-time", (guint64)r->opts.segment_s * GST_SECOND,
                 "max-size-bytes", (guint64)r->opts.max_bytes, "send-keyframe-requests", TRUE,
                 "async-finalize", FALSE, NULL);
    g_signal_connect(mux, "format-location-full", G_CALLBACK(on_format_location), r);
    return mux;
}

static GstElement *record_build(struct cr_app *app, char **why)
{
    struct record *r = (struct record *)app;
    GstElement *pipe = gst_pipeline_new("record");
    GstElement *webrtc = gst_element_factory_make("webrtcbin", "webrtc");
    GstElement *mux = webrtc != NULL ? make_mux(r, why) : NULL;
    if (webrtc == NULL || mux == NULL) {
        if (webrtc == NULL)
            *why = g_strdup("GStreamer element webrtcbin is missing (gstreamer1.0-plugins-bad)");
        else
            gst_object_unref(webrtc);
        gst_object_unref(pipe);
        return NULL;
    }
    g_object_set(webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, NULL);
    gst_bin_add_many(GST_BIN(pipe), webrtc, mux, NULL);
    if (!cr_peer_add_receivers(webrtc)) {
        *why = g_strdup("webrtcbin refused a receive transceiver");
        gst_object_unref(pipe);
        return NULL;
    }
    r->vpad = gst_element_request_pad_simple(mux, "video");
    r->apad = gst_element_request_pad_simple(mux, "audio_%u");
    r->mux = gst_object_ref(mux);
    r->linked_v = r->linked_a = FALSE;
    g_signal_connect(webrtc, "pad-added", G_CALLBACK(on_pad_added), r);
    GstBus *bus = gst_element_get_bus(pipe);
    gst_bus_set_sync_handler(bus, on_sync_message, r, NULL);
    gst_object_unref(bus);
    return pipe;
}

/* 1 if a fragment-closed message is about the newest segment. */
static int closes_last(struct record *r, const GstStructure *s)
{
    const char *loc = gst_structure_get_string(s, "location");
    const char *file = loc ? strrchr(loc, '/') : NULL;
    file = file ? file + 1 : loc;
    g_mutex_lock(&r->lock);
    int last = file != NULL && r->n_segs > 0 && strcmp(r->segs[r->n_segs - 1].file, file) == 0;
    g_mutex_unlock(&r->lock);
    return last;
}

/* Waits (blocking, at most FINALIZE_TIMEOUT_S) for splitmuxsink to close its newest segment: at
 * EOS it may still open one for the GOP it held back. The pipeline's own EOS message never
 * comes: webrtcbin's transport sinks do not end. */
static void wait_finalized(struct record *r, GstBus *bus)
{
    gint64 deadline = g_get_monotonic_time() + FINALIZE_TIMEOUT_S * G_TIME_SPAN_SECOND;
    for (;;) {
        gint64 left = deadline - g_get_monotonic_time();
        GstMessage *m = left <= 0 ? NULL
                                  : gst_bus_timed_pop_filtered(bus, (GstClockTime)left * GST_USECOND,
                                                               GST_MESSAGE_ELEMENT | GST_MESSAGE_ERROR);
        if (m == NULL) {
            fprintf(stderr, "warning: the last segment was not finalized within %d s\n",
                    FINALIZE_TIMEOUT_S);
            return;
        }
        const GstStructure *s = gst_message_get_structure(m);
        gboolean done = GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR ||
                        (s != NULL && gst_structure_has_name(s, "splitmuxsink-fragment-closed") &&
                         closes_last(r, s));
        gst_message_unref(m);
        if (done)
            return;
    }
}

/* The attempt ends: EOS into the muxer so the open segment is finalized (its moov written with
 * the real duration), then let the session stop the pipeline. */
static void record_teardown(struct cr_app *app)
{
    struct record *r = (struct record *)app;
    if (r->mux == NULL)
        return;
    GstElement *pipe = GST_ELEMENT(gst_element_get_parent(r->mux));
    GstBus *bus = gst_element_get_bus(pipe);
    if (r->linked_v || r->linked_a) {
        /* At the branches' entries, so that the EOS follows what they still hold. */
        gst_pad_send_event(r->vin ? r->vin : r->vpad, gst_event_new_eos());
        gst_pad_send_event(r->ain ? r->ain : r->apad, gst_event_new_eos());
        wait_finalized(r, bus);
    }
    if (r->vin != NULL)
        gst_object_unref(r->vin);
    if (r->ain != NULL)
        gst_object_unref(r->ain);
    r->vin = r->ain = NULL;
    g_mutex_lock(&r->lock);
    if (r->n_segs > 0 && r->segs[r->n_segs - 1].end_ms == 0)
        r->segs[r->n_segs - 1].end_ms = now_ms();
    g_mutex_unlock(&r->lock);
    gst_bus_set_sync_handler(bus, NULL, NULL, NULL);
    gst_object_unref(bus);
    gst_object_unref(pipe);
    gst_element_release_request_pad(r->mux, r->vpad);
    gst_element_release_request_pad(r->mux, r->apad);
    gst_object_unref(r->vpad);
    gst_object_unref(r->apad);
    gst_object_unref(r->mux);
    r->mux = NULL;
    r->vpad = r->apad = NULL;
    write_sidecar(r);
}

static void record_sample(struct cr_app *app, struct cr_stats_sample *s)
{
    struct record *r = (struct record *)app;
    s->frames = cr_count_get(&r->frames);
    s->video_bytes = cr_count_get(&r->video_bytes);
    s->audio_bytes = cr_count_get(&r->audio_bytes);
}

/* --dir must be a directory we can write; it is opened once, and files are named inside it. */
static int open_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "error: cannot open recordings directory '%s': %s\n", dir,
                g_strerror(errno));
        return -1;
    }
    if (faccessat(fd, ".", W_OK, AT_EACCESS) != 0) {
        fprintf(stderr, "error: recordings directory '%s' is not writable\n", dir);
        close(fd);
        return -1;
    }
    return fd;
}

int cr_record_run(const struct cr_opts *o)
{
    struct record r;
    memset(&r, 0, sizeof(r));
    r.opts = *o;
    cr_supervised_token(&r.opts);
    if (cr_rec_class_from_url(o->url, r.class_id, sizeof(r.class_id)) != 0) {
        fprintf(stderr, "error: '%s' does not end in /whep/<class-id> (1-64 of A-Z a-z 0-9 _ -)\n",
                o->url);
        return 2;
    }
    if (o->teacher != NULL && !cr_rec_id_ok(o->teacher, strlen(o->teacher))) {
        fprintf(stderr, "error: --teacher must be an id (1-64 of A-Z a-z 0-9 _ -)\n");
        return 2;
    }
    if ((r.dirfd = open_dir(o->dir)) < 0)
        return 1;
    cr_rec_base_name(r.class_id, now_ms() / 1000, r.base, sizeof(r.base));
    g_mutex_init(&r.lock);
    r.state = "recording";
    r.app.opts = &r.opts;
    r.app.role = CR_STATS_ATTEND;
    r.app.print_stats = TRUE;
    r.app.rx_silence_ms = 10000;
    r.app.build = record_build;
    r.app.sample = record_sample;
    r.app.teardown = record_teardown;
    printf("recording %s/%s\n", o->dir, r.base);
    r.refresh = g_timeout_add_seconds(SIDECAR_EVERY_S, on_refresh, &r);
    guint parent = cr_supervised_watch_parent(&r.app);
    int rc = cr_session_run(&r.app);
    if (parent != 0)
        g_source_remove(parent);
    g_source_remove(r.refresh);
    r.end_ms = now_ms();
    r.state = rc == 0 ? "complete" : "failed";
    write_sidecar(&r);
    close(r.dirfd);
    g_free(r.segs);
    g_mutex_clear(&r.lock);
    return rc;
}
