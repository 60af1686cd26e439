/* The life of one teach or attend run: connect, watch, reconnect with backoff, print one stats
 * line a second, and on exit DELETE the session and print a summary. Shared by both commands;
 * what differs (the pipeline and its counters) comes through struct cr_app. */
#ifndef CR_CLIENT_SESSION_H
#define CR_CLIENT_SESSION_H

#include "opts.h"
#include "stats.h"

#include <gst/gst.h>

struct cr_app {
    const struct cr_opts *opts; /**< borrowed for the whole run */
    enum cr_stats_role role;
    gboolean print_stats;       /**< one "stats" line per second on stdout */
    /** Nothing received from the relay for this long after connecting means it is gone. */
    unsigned rx_silence_ms;
    /** Only watch for silence once something was received after connecting: a publisher
     *  hears from the relay only through RTCP, which a relay may not send. */
    gboolean rx_silence_needs_first;

    /**
     * Build a new pipeline (transfer full) holding a webrtcbin named "webrtc" with its
     * transceivers set up; do not start it. On error return NULL and set *why (g_free).
     */
    GstElement *(*build)(struct cr_app *app, char **why);
    /** Fill the cumulative counters (t and unix_s are set by the caller). Main thread. */
    void (*sample)(struct cr_app *app, struct cr_stats_sample *s);
    /** The attempt's peer connected. May be NULL. */
    void (*connected)(struct cr_app *app, GstElement *pipeline);
    /** Once a second while connected, e.g. to ask webrtcbin for stats. May be NULL. */
    void (*tick)(struct cr_app *app, GstElement *webrtc);
    /** Set by the session: lets the app end the run (see cr_session_finish). */
    void *session;
    /** The attempt ends: called while its pipeline still runs, just before it is stopped
     *  and released, so per-attempt figures can be folded into totals. May be NULL. */
    void (*teardown)(struct cr_app *app);
};

/**
 * End the run from the app (main thread): why (may be NULL) is printed as "error: why" when
 * code is not 0; the session is deleted and the summary printed as on any exit.
 */
void cr_session_finish(struct cr_app *app, int code, const char *why);

/** Run until --duration, a signal, end of stream or an unrecoverable failure.
 *  Returns the process exit code. */
int cr_session_run(struct cr_app *app);

#endif
