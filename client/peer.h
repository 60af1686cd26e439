/* One WebRTC peer connection (webrtcbin) to the relay: offer creation, non-trickle ICE
 * gathering, applying the answer, and watching ICE/DTLS until it fails. The relay is ICE-lite
 * and the DTLS server, so we are the controlling agent and the DTLS client. */
#ifndef CR_CLIENT_PEER_H
#define CR_CLIENT_PEER_H

#include <gst/gst.h>

/** Callbacks, always invoked from the default main context, never re-entrantly. */
struct cr_peer_cbs {
    /** ICE gathering finished; sdp is the complete offer (borrowed) to POST. */
    void (*offer_ready)(void *ud, const char *sdp);
    /** ICE and DTLS are up (webrtcbin connection-state "connected"). Called once. */
    void (*connected)(void *ud);
    /** The connection cannot be used; why is one line (borrowed). Called at most once, and
     *  no callback follows it. */
    void (*failed)(void *ud, const char *why);
};

struct cr_peer;

/** What a publisher's H.264 payloader must say from its first buffer on: webrtcbin may build the
 *  offer from those caps, and the relay refuses H.264 without packetization-mode=1 (it forwards
 *  FU-A fragments). For the capsfilter between the payloader and webrtcbin. */
#define CR_PEER_H264_SEND_CAPS \
    "application/x-rtp,media=video,encoding-name=H264,payload=96,packetization-mode=(string)1"

/** Add the receive-only transceivers of a subscriber (attend, record) to webrtc: H.264 video
 *  (with NACK) and Opus audio, offered with the rtcp-fb the relay answers. FALSE if webrtcbin
 *  refused one. */
gboolean cr_peer_add_receivers(GstElement *webrtc);

/**
 * Take charge of webrtc (a webrtcbin, not yet PLAYING; a ref is taken) and start producing an
 * offer once media caps are known. local_ip (may be NULL) restricts ICE gathering to that
 * address through the ICE agent's "add-local-ip-address" action. cbs is copied; ud is
 * borrowed and must outlive the peer. Returns NULL with *why set (g_free) on error.
 */
struct cr_peer *cr_peer_new(GstElement *webrtc, const char *local_ip,
                            const struct cr_peer_cbs *cbs, void *ud, char **why);

/** Apply the relay's SDP answer (borrowed). Failure arrives through cbs->failed. */
void cr_peer_set_answer(struct cr_peer *p, const char *sdp);

/** TRUE between cbs->connected and the end. */
gboolean cr_peer_is_connected(const struct cr_peer *p);

/**
 * Milliseconds since the last packet (DTLS/SRTP/SRTCP) arrived from the relay, counted from
 * the moment the peer connected; -1 before that. *packets (may be NULL) receives how many
 * packets arrived since connecting.
 */
gint64 cr_peer_rx_idle_ms(const struct cr_peer *p, guint64 *packets);

/** Stop watching and release. Call after the pipeline went to NULL. NULL is a no-op. */
void cr_peer_free(struct cr_peer *p);

#endif
