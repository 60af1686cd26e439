#include "peer.h"

#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>
#include <stdio.h>
#include <string.h>

/* How long ICE may stay failed/disconnected before we give up (it can recover by itself). */
#define ICE_BAD_GRACE_MS 5000
/* From the answer to "connected": ICE checks plus one DTLS handshake take well under this. */
#define CONNECT_TIMEOUT_MS 15000
/* From start to a complete offer: caps, create-offer and host-candidate gathering. */
#define OFFER_TIMEOUT_MS 10000
/* create-offer fails until the media pads have caps; we retry at this period. */
#define OFFER_RETRY_MS 250

struct cr_peer {
    gint refs;
    GstElement *webrtc;
    struct cr_peer_cbs cbs;
    void *ud;

    /* Touched from webrtcbin threads, hence atomics. */
    gint offer_made;     /* set-local-description done with our offer */
    gint offer_inflight; /* a create-offer is pending */
    gint64 last_rx_us;
    guint64 rx_packets;

    /* Main thread only. */
    gboolean closed;
    gboolean done; /* failed was reported */
    gboolean offer_posted;
    gboolean connected;
    guint64 rx_at_connect;
    guint offer_timer, retry_timer, connect_timer, ice_bad_timer;
    int ice_state, conn_state; /* last seen, for the error message when connecting times out */
};

enum ev_kind { EV_GATHERING, EV_CONNECTION, EV_ICE, EV_ERROR };

struct ev {
    struct cr_peer *p;
    enum ev_kind kind;
    int value;
    char *text;
};

static struct cr_peer *peer_ref(struct cr_peer *p)
{
    g_atomic_int_inc(&p->refs);
    return p;
}

static void peer_unref(gpointer data)
{
    struct cr_peer *p = data;
    if (g_atomic_int_dec_and_test(&p->refs)) {
        gst_object_unref(p->webrtc);
        g_free(p);
    }
}

static void clear_source(guint *id)
{
    if (*id != 0) {
        g_source_remove(*id);
        *id = 0;
    }
}

/* Report failure once and go quiet: the owner tears everything down from the callback. */
static void fail(struct cr_peer *p, const char *why)
{
    if (p->closed || p->done)
        return;
    p->done = TRUE;
    clear_source(&p->offer_timer);
    clear_source(&p->retry_timer);
    clear_source(&p->connect_timer);
    clear_source(&p->ice_bad_timer);
    p->cbs.failed(p->ud, why);
}

static void ev_free(gpointer data)
{
    struct ev *e = data;
    peer_unref(e->p);
    g_free(e->text);
    g_free(e);
}

static gboolean ev_dispatch(gpointer data);

/* Queue an event for the main thread. Always deferred, so callbacks never run inside a
 * webrtcbin call made by the owner. */
static void post(struct cr_peer *p, enum ev_kind kind, int value, char *text)
{
    struct ev *e = g_new0(struct ev, 1);
    e->p = peer_ref(p);
    e->kind = kind;
    e->value = value;
    e->text = text;
    g_idle_add_full(G_PRIORITY_DEFAULT, ev_dispatch, e, ev_free);
}

/* ---- offer ---------------------------------------------------------------------------- */

static void on_offer_created(GstPromise *promise, gpointer data)
{
    struct cr_peer *p = data;
    GstWebRTCSessionDescription *offer = NULL;

    if (gst_promise_wait(promise) == GST_PROMISE_RESULT_REPLIED) {
        const GstStructure *r = gst_promise_get_reply(promise);
        if (r != NULL)
            gst_structure_get(r, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, NULL);
    }
    /* A NULL offer means caps are not known yet; the retry timer asks again. */
    if (offer != NULL && g_atomic_int_compare_and_exchange(&p->offer_made, 0, 1))
        g_signal_emit_by_name(p->webrtc, "set-local-description", offer, NULL);
    if (offer != NULL)
        gst_webrtc_session_description_free(offer);
    g_atomic_int_set(&p->offer_inflight, 0);
}

/* Whether every media pad fed into webrtcbin has its caps. Before that, webrtcbin builds the
 * offer from a caps query, which lacks what only the payloader knows (H.264
 * packetization-mode, profile-level-id, sprop-parameter-sets), and a relay that requires
 * packetization-mode=1 rejects the m-line. A receive-only peer has no sink pads. */
static gboolean sink_caps_known(GstElement *webrtc)
{
    GstIterator *it = gst_element_iterate_sink_pads(webrtc);
    GValue v = G_VALUE_INIT;
    gboolean known = TRUE;

    while (known && gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
        known = gst_pad_has_current_caps(GST_PAD(g_value_get_object(&v)));
        g_value_reset(&v);
    }
    g_value_unset(&v);
    gst_iterator_free(it);
    return known;
}

static void try_create_offer(struct cr_peer *p)
{
    if (g_atomic_int_get(&p->offer_made) || !sink_caps_known(p->webrtc) ||
        !g_atomic_int_compare_and_exchange(&p->offer_inflight, 0, 1))
        return;
    GstPromise *pr = gst_promise_new_with_change_func(on_offer_created, peer_ref(p), peer_unref);
    g_signal_emit_by_name(p->webrtc, "create-offer", NULL, pr);
}

static void on_negotiation_needed(GstElement *webrtc, gpointer data)
{
    try_create_offer(data);
}

static gboolean on_offer_retry(gpointer data)
{
    struct cr_peer *p = data;
    if (g_atomic_int_get(&p->offer_made)) {
        p->retry_timer = 0;
        return G_SOURCE_REMOVE;
    }
    try_create_offer(p);
    return G_SOURCE_CONTINUE;
}

/* Copy the local description without non-UDP candidates (the relay speaks UDP only) and
 * count what is left. Returns the SDP text (g_free). */
static char *offer_text(struct cr_peer *p, guint *n_cand)
{
    GstWebRTCSessionDescription *desc = NULL;
    GstSDPMessage *m;

    *n_cand = 0;
    g_object_get(p->webrtc, "local-description", &desc, NULL);
    if (desc == NULL)
        return NULL;
    gst_sdp_message_copy(desc->sdp, &m);
    gst_webrtc_session_description_free(desc);
    for (guint i = 0; i < gst_sdp_message_medias_len(m); i++) {
        GstSDPMedia *media = (GstSDPMedia *)gst_sdp_message_get_media(m, i);
        for (guint a = 0; a < gst_sdp_media_attributes_len(media);) {
            const GstSDPAttribute *at = gst_sdp_media_get_attribute(media, a);
            if (g_strcmp0(at->key, "candidate") == 0 && at->value != NULL) {
                char **f = g_strsplit(at->value, " ", 4);
                gboolean udp = g_strv_length(f) >= 3 && g_ascii_strcasecmp(f[2], "UDP") == 0;
                g_strfreev(f);
                if (!udp) {
                    gst_sdp_media_remove_attribute(media, a);
                    continue;
                }
                (*n_cand)++;
            }
            a++;
        }
    }
    char *text = gst_sdp_message_as_text(m);
    gst_sdp_message_free(m);
    return text;
}

/* ---- receive watch -------------------------------------------------------------------- */

static GstPadProbeReturn on_rx(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
    struct cr_peer *p = data;
    guint n = 1;
    if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER_LIST)
        n = gst_buffer_list_length(GST_PAD_PROBE_INFO_BUFFER_LIST(info));
    __atomic_add_fetch(&p->rx_packets, n, __ATOMIC_RELAXED);
    __atomic_store_n(&p->last_rx_us, g_get_monotonic_time(), __ATOMIC_RELAXED);
    return GST_PAD_PROBE_OK;
}

/* Count every packet the ICE transport hands up (STUN stays inside libnice): without ICE
 * consent freshness in webrtcbin this is how a vanished relay is noticed. */
static void watch_rx(struct cr_peer *p)
{
    GstIterator *it = gst_bin_iterate_recurse(GST_BIN(p->webrtc));
    GValue v = G_VALUE_INIT;

    while (gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
        GstElement *e = g_value_get_object(&v);
        GstElementFactory *f = gst_element_get_factory(e);
        if (f != NULL && strcmp(GST_OBJECT_NAME(f), "nicesrc") == 0) {
            GstPad *src = gst_element_get_static_pad(e, "src");
            if (src != NULL) {
                gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
                                  on_rx, peer_ref(p), peer_unref);
                gst_object_unref(src);
            }
        }
        g_value_reset(&v);
    }
    g_value_unset(&v);
    gst_iterator_free(it);
}

static void offer_complete(struct cr_peer *p, gboolean timed_out)
{
    guint n = 0;
    char *sdp = offer_text(p, &n);

    if (sdp == NULL) {
        fail(p, "webrtcbin produced no SDP offer (media caps never became known)");
        return;
    }
    if (n == 0) {
        g_free(sdp);
        fail(p, "no ICE candidates gathered: no usable network interface "
                "(try --local-ip ADDRESS)");
        return;
    }
    if (timed_out)
        fprintf(stderr, "warning: ICE gathering did not complete; sending %u candidate(s)\n", n);
    clear_source(&p->offer_timer);
    p->offer_posted = TRUE;
    watch_rx(p);
    p->cbs.offer_ready(p->ud, sdp);
    g_free(sdp);
}

static gboolean on_offer_timeout(gpointer data)
{
    struct cr_peer *p = data;
    p->offer_timer = 0;
    if (!p->offer_posted)
        offer_complete(p, TRUE);
    return G_SOURCE_REMOVE;
}

/* ---- connection state ----------------------------------------------------------------- */

static const char *ice_state_name(int s)
{
    static const char *const names[] = {"new", "checking", "connected", "completed",
                                        "failed", "disconnected", "closed"};
    return s >= 0 && s < (int)G_N_ELEMENTS(names) ? names[s] : "?";
}

static const char *conn_state_name(int s)
{
    static const char *const names[] = {"new", "connecting", "connected", "disconnected",
                                        "failed", "closed"};
    return s >= 0 && s < (int)G_N_ELEMENTS(names) ? names[s] : "?";
}

static gboolean on_connect_timeout(gpointer data)
{
    struct cr_peer *p = data;
    p->connect_timer = 0;
    char msg[160];
    /* Which half stalled tells a relay problem (no ICE answer) from a DTLS one. */
    snprintf(msg, sizeof(msg), "ICE/DTLS did not connect within 15 s (ICE %s, connection %s)",
             ice_state_name(p->ice_state), conn_state_name(p->conn_state));
    fail(p, msg);
    return G_SOURCE_REMOVE;
}

static gboolean on_ice_bad_timeout(gpointer data)
{
    struct cr_peer *p = data;
    p->ice_bad_timer = 0;
    fail(p, p->connected ? "connection lost (ICE disconnected or failed for 5 s)"
                         : "ICE failed: the relay's candidate did not answer connectivity checks");
    return G_SOURCE_REMOVE;
}

static void on_connection_state(struct cr_peer *p, GstWebRTCPeerConnectionState s)
{
    if (s == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED && !p->connected) {
        p->connected = TRUE;
        clear_source(&p->connect_timer);
        p->rx_at_connect = __atomic_load_n(&p->rx_packets, __ATOMIC_RELAXED);
        __atomic_store_n(&p->last_rx_us, g_get_monotonic_time(), __ATOMIC_RELAXED);
        p->cbs.connected(p->ud);
    } else if (s == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED) {
        fail(p, p->connected ? "connection lost (webrtcbin connection-state failed)"
                             : "ICE/DTLS connection failed");
    } else if (s == GST_WEBRTC_PEER_CONNECTION_STATE_DISCONNECTED && p->ice_bad_timer == 0) {
        p->ice_bad_timer = g_timeout_add(ICE_BAD_GRACE_MS, on_ice_bad_timeout, p);
    }
}

static void on_ice_state(struct cr_peer *p, GstWebRTCICEConnectionState s)
{
    switch (s) {
    case GST_WEBRTC_ICE_CONNECTION_STATE_FAILED:
    case GST_WEBRTC_ICE_CONNECTION_STATE_DISCONNECTED:
        if (p->ice_bad_timer == 0)
            p->ice_bad_timer = g_timeout_add(ICE_BAD_GRACE_MS, on_ice_bad_timeout, p);
        break;
    case GST_WEBRTC_ICE_CONNECTION_STATE_CONNECTED:
    case GST_WEBRTC_ICE_CONNECTION_STATE_COMPLETED:
        clear_source(&p->ice_bad_timer);
        break;
    default:
        break;
    }
}

static gboolean ev_dispatch(gpointer data)
{
    struct ev *e = data;
    struct cr_peer *p = e->p;

    if (p->closed || p->done)
        return G_SOURCE_REMOVE;
    switch (e->kind) {
    case EV_GATHERING:
        if (e->value == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE && !p->offer_posted &&
            g_atomic_int_get(&p->offer_made))
            offer_complete(p, FALSE);
        break;
    case EV_CONNECTION:
        p->conn_state = e->value;
        on_connection_state(p, e->value);
        break;
    case EV_ICE:
        p->ice_state = e->value;
        on_ice_state(p, e->value);
        break;
    case EV_ERROR:
        fail(p, e->text);
        break;
    }
    return G_SOURCE_REMOVE;
}

static void on_notify(GObject *obj, GParamSpec *ps, gpointer data)
{
    struct cr_peer *p = data;
    int v = 0;
    g_object_get(obj, ps->name, &v, NULL);
    if (strcmp(ps->name, "ice-gathering-state") == 0)
        post(p, EV_GATHERING, v, NULL);
    else if (strcmp(ps->name, "connection-state") == 0)
        post(p, EV_CONNECTION, v, NULL);
    else
        post(p, EV_ICE, v, NULL);
}

/* ---- answer --------------------------------------------------------------------------- */

static void on_remote_set(GstPromise *promise, gpointer data)
{
    struct cr_peer *p = data;
    GError *err = NULL;

    if (gst_promise_wait(promise) != GST_PROMISE_RESULT_REPLIED)
        return;
    const GstStructure *r = gst_promise_get_reply(promise);
    if (r != NULL && gst_structure_get(r, "error", G_TYPE_ERROR, &err, NULL) && err != NULL) {
        post(p, EV_ERROR, 0, g_strdup_printf("webrtcbin rejected the relay's answer: %s",
                                             err->message));
        g_error_free(err);
    }
}

/* webrtcbin 1.22 wants a=fingerprint in every m-line of an answer, even a rejected one or
 * when the answer gives it once at session level (RFC 8122 section 5 allows both). Copy the
 * answer's fingerprint to m-lines that lack it. */
static void spread_fingerprint(GstSDPMessage *m)
{
    const char *fp = gst_sdp_message_get_attribute_val(m, "fingerprint");

    for (guint i = 0; fp == NULL && i < gst_sdp_message_medias_len(m); i++)
        fp = gst_sdp_media_get_attribute_val(gst_sdp_message_get_media(m, i), "fingerprint");
    if (fp == NULL)
        return; /* webrtcbin will say what is missing */
    char *copy = g_strdup(fp); /* adding attributes may move the one fp points into */
    for (guint i = 0; i < gst_sdp_message_medias_len(m); i++) {
        GstSDPMedia *media = (GstSDPMedia *)gst_sdp_message_get_media(m, i);
        if (gst_sdp_media_get_attribute_val(media, "fingerprint") == NULL)
            gst_sdp_media_add_attribute(media, "fingerprint", copy);
    }
    g_free(copy);
}

void cr_peer_set_answer(struct cr_peer *p, const char *sdp)
{
    GstSDPMessage *m = NULL;

    if (gst_sdp_message_new_from_text(sdp, &m) != GST_SDP_OK || gst_sdp_message_medias_len(m) == 0) {
        if (m != NULL)
            gst_sdp_message_free(m);
        post(p, EV_ERROR, 0, g_strdup("the relay's answer is not a usable SDP"));
        return;
    }
    spread_fingerprint(m);
    GstWebRTCSessionDescription *d = gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_ANSWER, m);
    GstPromise *pr = gst_promise_new_with_change_func(on_remote_set, peer_ref(p), peer_unref);
    g_signal_emit_by_name(p->webrtc, "set-remote-description", d, pr);
    gst_webrtc_session_description_free(d);
    clear_source(&p->connect_timer);
    p->connect_timer = g_timeout_add(CONNECT_TIMEOUT_MS, on_connect_timeout, p);
}

/* ---- receivers ------------------------------------------------------------------------ */

/* The rtcp-fb fields become a=rtcp-fb lines, so the relay may answer our NACKs and PLIs. */
/* Transport-wide cc, as browsers offer it: the relay numbers what it sends and rtpbin's session
 * answers with feedback, which the relay's bandwidth estimator reads (one id for both m-lines:
 * they share the bundled transport). */
#define RECV_TWCC                                                                               \
    ",extmap-3=(string)http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01," \
    "rtcp-fb-transport-cc=(boolean)true"
#define RECV_VIDEO_CAPS                                                                         \
    "application/x-rtp,media=video,encoding-name=H264,payload=96,clock-rate=90000,"             \
    "packetization-mode=(string)1,profile-level-id=(string)42e01f,"                             \
    "level-asymmetry-allowed=(string)1,rtcp-fb-nack=(boolean)true,"                             \
    "rtcp-fb-nack-pli=(boolean)true,rtcp-fb-ccm-fir=(boolean)true" RECV_TWCC
#define RECV_AUDIO_CAPS                                                                         \
    "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000,"            \
    "encoding-params=(string)2,minptime=(string)10,useinbandfec=(string)1" RECV_TWCC

static gboolean add_recvonly(GstElement *webrtc, const char *caps_str, gboolean nack)
{
    GstCaps *caps = gst_caps_from_string(caps_str);
    GstWebRTCRTPTransceiver *t = NULL;

    g_signal_emit_by_name(webrtc, "add-transceiver", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY,
                          caps, &t);
    gst_caps_unref(caps);
    if (t == NULL)
        return FALSE;
    g_object_set(t, "do-nack", nack, NULL); /* audio: Opus PLC beats a late retransmission */
    gst_object_unref(t);
    return TRUE;
}

gboolean cr_peer_add_receivers(GstElement *webrtc)
{
    return add_recvonly(webrtc, RECV_VIDEO_CAPS, TRUE) && add_recvonly(webrtc, RECV_AUDIO_CAPS, FALSE);
}

/* ---- life ----------------------------------------------------------------------------- */

static gboolean restrict_ice(GstElement *webrtc, const char *ip, char **why)
{
    GstObject *ice = NULL;
    gboolean ok = FALSE;

    g_object_get(webrtc, "ice-agent", &ice, NULL);
    if (ice == NULL) {
        *why = g_strdup("webrtcbin has no ICE agent");
        return FALSE;
    }
    g_signal_emit_by_name(ice, "add-local-ip-address", ip, &ok);
    gst_object_unref(ice);
    if (!ok)
        *why = g_strdup_printf("ICE agent refused local address %s", ip);
    return ok;
}

struct cr_peer *cr_peer_new(GstElement *webrtc, const char *local_ip,
                            const struct cr_peer_cbs *cbs, void *ud, char **why)
{
    *why = NULL;
    if (local_ip != NULL && !restrict_ice(webrtc, local_ip, why))
        return NULL;

    struct cr_peer *p = g_new0(struct cr_peer, 1);
    p->refs = 1;
    p->webrtc = gst_object_ref(webrtc);
    p->cbs = *cbs;
    p->ud = ud;
    g_signal_connect(webrtc, "on-negotiation-needed", G_CALLBACK(on_negotiation_needed), p);
    g_signal_connect(webrtc, "notify::ice-gathering-state", G_CALLBACK(on_notify), p);
    g_signal_connect(webrtc, "notify::connection-state", G_CALLBACK(on_notify), p);
    g_signal_connect(webrtc, "notify::ice-connection-state", G_CALLBACK(on_notify), p);
    /* negotiation-needed may have fired before we connected, or too early to succeed. */
    p->retry_timer = g_timeout_add(OFFER_RETRY_MS, on_offer_retry, p);
    p->offer_timer = g_timeout_add(OFFER_TIMEOUT_MS, on_offer_timeout, p);
    return p;
}

gboolean cr_peer_is_connected(const struct cr_peer *p)
{
    return p->connected && !p->done;
}

gint64 cr_peer_rx_idle_ms(const struct cr_peer *p, guint64 *packets)
{
    if (!p->connected)
        return -1;
    if (packets != NULL)
        *packets = __atomic_load_n(&p->rx_packets, __ATOMIC_RELAXED) - p->rx_at_connect;
    return (g_get_monotonic_time() - __atomic_load_n(&p->last_rx_us, __ATOMIC_RELAXED)) / 1000;
}

void cr_peer_free(struct cr_peer *p)
{
    if (p == NULL)
        return;
    p->closed = TRUE;
    clear_source(&p->offer_timer);
    clear_source(&p->retry_timer);
    clear_source(&p->connect_timer);
    clear_source(&p->ice_bad_timer);
    g_signal_handlers_disconnect_by_data(p->webrtc, p);
    peer_unref(p);
}
