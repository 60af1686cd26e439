#include "session.h"

#include "peer.h"
#include "retry.h"
#include "url.h"
#include "whip.h"

#include <glib-unix.h>
#include <stdio.h>
#include <string.h>

#define DELETE_TIMEOUT_S 3

struct session {
    struct cr_app *app;
    GMainLoop *loop;
    struct cr_whip *whip;
    const char *local_ip;

    /* the current attempt */
    GstElement *pipeline;
    GstElement *webrtc;
    struct cr_peer *peer;
    guint bus_watch;

    unsigned attempt;  /* attempts started */
    unsigned retries;  /* failures in a row, for the backoff */
    gboolean ever_connected;
    gboolean finishing;
    int exit_code;
    guint retry_timer;

    gint64 start_us;
    struct cr_stats_sample first, prev;
};

static void start_attempt(struct session *s);

static void sample_now(struct session *s, struct cr_stats_sample *out)
{
    memset(out, 0, sizeof(*out));
    s->app->sample(s->app, out);
    out->t = (double)(g_get_monotonic_time() - s->start_us) / 1e6;
    out->unix_s = (double)g_get_real_time() / 1e6;
}

static void print_line(struct session *s, const char *tag, const struct cr_stats_sample *cur,
                       const struct cr_stats_sample *prev)
{
    char line[512];
    cr_stats_format(line, sizeof(line), s->app->role, tag, cur, prev);
    printf("%s\n", line);
}

/* Tear the current attempt down. The relay's session is deleted first so it stops forwarding
 * before our transport disappears. */
static void end_attempt(struct session *s)
{
    cr_whip_cancel(s->whip);
    cr_whip_delete(s->whip, DELETE_TIMEOUT_S);
    if (s->pipeline == NULL)
        return;
    if (s->app->teardown != NULL)
        s->app->teardown(s->app);
    gst_element_set_state(s->pipeline, GST_STATE_NULL);
    cr_peer_free(s->peer);
    s->peer = NULL;
    if (s->bus_watch != 0)
        g_source_remove(s->bus_watch);
    s->bus_watch = 0;
    gst_object_unref(s->webrtc);
    gst_object_unref(s->pipeline);
    s->webrtc = NULL;
    s->pipeline = NULL;
}

static void finish(struct session *s, int code)
{
    if (s->finishing)
        return;
    s->finishing = TRUE;
    s->exit_code = code;
    if (s->retry_timer != 0)
        g_source_remove(s->retry_timer);
    s->retry_timer = 0;
    /* Sample before the teardown resets the per-attempt figures (jitter, sink drops). */
    struct cr_stats_sample cur;
    sample_now(s, &cur);
    end_attempt(s);
    print_line(s, "summary", &cur, &s->first);
    g_main_loop_quit(s->loop);
}

void cr_session_finish(struct cr_app *app, int code, const char *why)
{
    struct session *s = app->session;
    if (s == NULL || s->finishing)
        return;
    if (why != NULL)
        fprintf(stderr, code != 0 ? "error: %s\n" : "%s\n", why);
    finish(s, code);
}

static gboolean on_retry(gpointer data)
{
    struct session *s = data;
    s->retry_timer = 0;
    start_attempt(s);
    return G_SOURCE_REMOVE;
}

/* One place decides what a failure means: retry with backoff, or exit 1. */
static void attempt_failed(struct session *s, const char *why)
{
    if (s->finishing)
        return;
    fprintf(stderr, "error: %s\n", why);
    end_attempt(s);
    if (!s->app->opts->reconnect) {
        finish(s, 1);
        return;
    }
    s->retries++;
    unsigned ms = cr_retry_backoff_ms(s->retries);
    fprintf(stderr, "reconnecting in %u s (attempt %u)\n", ms / 1000, s->attempt + 1);
    s->retry_timer = g_timeout_add(ms, on_retry, s);
}

/* CR_CLIENT_DEBUG_SDP=1 prints both SDPs to stderr, for interop debugging with a relay. */
static void debug_sdp(const char *what, const char *sdp)
{
    if (g_getenv("CR_CLIENT_DEBUG_SDP") != NULL)
        fprintf(stderr, "--- %s ---\n%s--- end ---\n", what, sdp);
}

static void on_answer(void *ud, const char *sdp, const char *error)
{
    struct session *s = ud;
    if (error != NULL) {
        attempt_failed(s, error);
        return;
    }
    debug_sdp("answer", sdp);
    cr_peer_set_answer(s->peer, sdp);
}

static void on_offer_ready(void *ud, const char *sdp)
{
    struct session *s = ud;
    debug_sdp("offer", sdp);
    cr_whip_post_offer(s->whip, s->app->opts->url, sdp, on_answer, s);
}

static void on_connected(void *ud)
{
    struct session *s = ud;
    s->retries = 0;
    s->ever_connected = TRUE;
    /* The wall clock lets tests line this up with other processes' lines (time to first frame). */
    printf("connected unix=%.3f\n", (double)g_get_real_time() / 1e6);
    if (s->app->connected != NULL)
        s->app->connected(s->app, s->pipeline);
}

static void on_peer_failed(void *ud, const char *why)
{
    attempt_failed(ud, why);
}

static gboolean on_bus(GstBus *bus, GstMessage *msg, gpointer data)
{
    struct session *s = data;
    GError *err = NULL;
    char *dbg = NULL;

    switch (GST_MESSAGE_TYPE(msg)) {
    case GST_MESSAGE_ERROR: {
        gst_message_parse_error(msg, &err, &dbg);
        char *why = g_strdup_printf("pipeline error from %s: %s", GST_OBJECT_NAME(msg->src),
                                    err->message);
        g_clear_error(&err);
        g_free(dbg);
        s->bus_watch = 0; /* removed by returning G_SOURCE_REMOVE */
        attempt_failed(s, why);
        g_free(why);
        return G_SOURCE_REMOVE;
    }
    case GST_MESSAGE_EOS:
        fprintf(stderr, "end of stream\n");
        s->bus_watch = 0;
        finish(s, 0);
        return G_SOURCE_REMOVE;
    default:
        return G_SOURCE_CONTINUE;
    }
}

static void start_attempt(struct session *s)
{
    static const struct cr_peer_cbs cbs = {on_offer_ready, on_connected, on_peer_failed};
    char *why = NULL;

    s->attempt++;
    if (s->attempt > 1)
        fprintf(stderr, "attempt %u: connecting to %s\n", s->attempt, s->app->opts->url);
    s->pipeline = s->app->build(s->app, &why);
    if (s->pipeline == NULL) {
        fprintf(stderr, "error: %s\n", why);
        g_free(why);
        finish(s, 1); /* a pipeline that cannot be built will not build on retry either */
        return;
    }
    s->webrtc = gst_bin_get_by_name(GST_BIN(s->pipeline), "webrtc");
    g_assert(s->webrtc != NULL);
    s->peer = cr_peer_new(s->webrtc, s->local_ip, &cbs, s, &why);
    if (s->peer == NULL) {
        end_attempt(s);
        fprintf(stderr, "error: %s\n", why);
        g_free(why);
        finish(s, 1);
        return;
    }
    GstBus *bus = gst_element_get_bus(s->pipeline);
    s->bus_watch = gst_bus_add_watch(bus, on_bus, s);
    gst_object_unref(bus);
    if (gst_element_set_state(s->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
        attempt_failed(s, "could not start the media pipeline");
}

/* Once a second: the stats line, and the silence watch that stands in for ICE consent. */
static gboolean on_tick(gpointer data)
{
    struct session *s = data;
    struct cr_stats_sample cur;

    if (s->peer != NULL && cr_peer_is_connected(s->peer)) {
        if (s->app->tick != NULL)
            s->app->tick(s->app, s->webrtc);
        guint64 pkts = 0;
        gint64 idle = cr_peer_rx_idle_ms(s->peer, &pkts);
        gboolean armed = !s->app->rx_silence_needs_first || pkts > 0;
        if (armed && idle > (gint64)s->app->rx_silence_ms) {
            char *why = g_strdup_printf("connection lost: nothing received from the relay "
                                        "for %u s", s->app->rx_silence_ms / 1000);
            attempt_failed(s, why);
            g_free(why);
            if (s->finishing)
                return G_SOURCE_CONTINUE; /* the summary is out: no stats line after it */
        }
    }
    sample_now(s, &cur);
    if (s->app->print_stats)
        print_line(s, "stats", &cur, &s->prev);
    s->prev = cur;
    return G_SOURCE_CONTINUE;
}

/* Both stay installed (finish() is idempotent) so that cr_session_run removes them. */
static gboolean on_duration(gpointer data)
{
    struct session *s = data;
    if (!s->ever_connected && !s->finishing)
        fprintf(stderr, "error: not connected by the end of --duration\n");
    finish(s, s->ever_connected ? 0 : 1);
    return G_SOURCE_CONTINUE;
}

static gboolean on_signal(gpointer data)
{
    finish(data, 0);
    return G_SOURCE_CONTINUE;
}

int cr_session_run(struct cr_app *app)
{
    struct session s = {0};
    const struct cr_opts *o = app->opts;

    s.app = app;
    app->session = &s;
    s.loop = g_main_loop_new(NULL, FALSE);
    s.whip = cr_whip_new(o->token);
    s.local_ip = o->local_ip != NULL ? o->local_ip : cr_url_auto_local_ip(o->url);
    s.start_us = g_get_monotonic_time();
    sample_now(&s, &s.first);
    s.prev = s.first;

    guint sig_int = g_unix_signal_add(SIGINT, on_signal, &s);
    guint sig_term = g_unix_signal_add(SIGTERM, on_signal, &s);
    guint tick = g_timeout_add(1000, on_tick, &s);
    guint dur = o->duration_s ? g_timeout_add_seconds(o->duration_s, on_duration, &s) : 0;

    start_attempt(&s);
    if (!s.finishing)
        g_main_loop_run(s.loop);

    g_source_remove(sig_int);
    g_source_remove(sig_term);
    g_source_remove(tick);
    if (dur != 0)
        g_source_remove(dur);
    cr_whip_free(s.whip);
    g_main_loop_unref(s.loop);
    app->session = NULL;
    return s.exit_code;
}
