/*
 * A WebRTC peer of the relay: a publisher (WHIP) or a subscriber (WHEP) of one class.
 *
 * The control thread creates a peer from the negotiated SDP (cr_peer_new) and hands it to the class's
 * media worker (cr_worker_add_peer); from then on the worker owns it and is the only thread that
 * touches it, so nothing here is locked. The worker frees it (cr_peer_free) when it is removed or
 * times out.
 */
#ifndef CR_PEER_H
#define CR_PEER_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

#include "cr_dtls.h"
#include "cr_history.h"
#include "cr_list.h"
#include "cr_rewrite.h"
#include "cr_sched.h"
#include "cr_sdp.h"
#include "cr_srtp.h"

#define CR_CLASS_ID_MAX 64
#define CR_RESOURCE_ID_LEN 32
#define CR_PEER_MAX_STREAMS 2 /* a subscriber receives one audio and one video stream */
#define CR_PEER_MAX_PUB 4     /* a publisher sends audio and up to three simulcast video layers */
#define CR_RID_MAX 16
/* Bytes a forwarded RTP packet carries on the wire besides its 12-byte header and payload: the SRTP
 * tag (16), the transport-cc header extension (8) and IPv4, UDP and Ethernet headers (42, as the
 * pacer charges them). */
#define CR_WIRE_OVERHEAD (16 + 8 + 42)
#define CR_ICE_UFRAG_LEN 8
#define CR_ICE_PWD_LEN 24

enum cr_peer_role { CR_PEER_PUBLISHER = 0, CR_PEER_SUBSCRIBER = 1 };

enum cr_peer_state {
    CR_PEER_NEW = 0,       /* waiting for the first valid STUN binding request */
    CR_PEER_DTLS = 1,      /* ICE address known, DTLS handshake running */
    CR_PEER_CONNECTED = 2, /* SRTP keys in place, media flows */
    CR_PEER_CLOSED = 3,
};

/** Why a peer left; reported to the control thread. */
enum cr_peer_close_reason {
    CR_CLOSE_REQUESTED = 0, /* DELETE or replaced */
    CR_CLOSE_CONSENT = 1,   /* no STUN consent for consent_timeout_s (RFC 7675) */
    CR_CLOSE_DTLS = 2,      /* DTLS handshake failed or close_notify */
    CR_CLOSE_SHUTDOWN = 3,
};

/** A stream the relay receives from a publisher. */
typedef struct cr_pub_stream {
    enum cr_sdp_kind kind;
    char rid[CR_RID_MAX]; /* simulcast layer's RTP stream id, "" without simulcast */
    uint8_t layer;        /* video layer index in the offer's rid order; 0 = the first (highest) */
    uint64_t last_pkt_us; /* last packet received: a layer the publisher stopped sending is skipped */
    uint64_t bytes;
    uint8_t pt;
    uint8_t is_vp8; /* video codec: VP8, else H.264 (for keyframe detection) */
    uint32_t clock_rate;
    uint32_t ssrc; /* from SDP, or learned from the first packet of this payload type; 0 = unknown */
    cr_history_t hist;
    /* Receive statistics for our receiver reports (RFC 3550 appendix A.1, A.3, A.8). */
    uint8_t seq_started;
    uint16_t max_seq;
    uint32_t cycles;
    uint32_t base_seq;
    uint32_t received;
    uint32_t expected_prior;
    uint32_t received_prior;
    uint32_t jitter_q4; /* interarrival jitter * 16 */
    uint32_t last_transit;
    /* The publisher's last sender report, for lip-sync preserving SRs to subscribers and for LSR. */
    uint8_t have_sr;
    uint64_t sr_ntp;
    uint32_t sr_rtp;
    uint64_t sr_recv_us;
    /* Keyframe requests: all subscribers' PLI/FIR merged into at most one per 500 ms. */
    uint64_t last_kf_req_us;
    uint8_t kf_pending;
    uint8_t fir_seq;
    /* Video: inside a keyframe (from its first packet to the packet with the marker bit), so that
     * every packet of it is paced in the keyframe band. */
    uint8_t in_key;
    /* The layer's bitrate on the wire for the scheduler: bytes (as sent to a subscriber, with
     * CR_WIRE_OVERHEAD per packet) over ~1 s windows. */
    uint64_t rate_bytes;    /* bytes at the start of the current window */
    uint64_t rate_start_us; /* when the current window started */
    uint32_t rate_prev_bps; /* the previous window */
    uint32_t rate_bps;      /* mean of the last two windows (a 2 s GOP is whole), 0 = not sent */
} cr_pub_stream_t;

/** A stream the relay sends to a subscriber. */
typedef struct cr_sub_stream {
    enum cr_sdp_kind kind;
    uint8_t pt;
    uint32_t ssrc;
    uint32_t clock_rate;
    cr_rewriter_t rw;
    uint32_t packets;
    uint32_t octets;
    uint8_t need_keyframe; /* video: forward nothing until a keyframe starts a decodable picture */
    int8_t cur_layer;      /* video layer being forwarded, -1 none */
    int8_t target_layer;   /* layer to switch to at its next keyframe */
    /* The receiver's view, from its RTCP receiver reports (RFC 3550 section 6.4.1). */
    uint32_t last_sr_mid;     /* middle 32 bits of the NTP time in our last SR */
    uint64_t last_sr_sent_us; /* when we sent it (monotonic) */
    uint8_t fraction_lost;    /* last reported, /256 */
    uint32_t jitter;          /* last reported, RTP clock units */
    uint32_t rtt_us;          /* from LSR/DLSR of the last report, 0 = unknown */
    uint32_t rr_ext_seq;      /* extended highest sequence number of the previous report */
    uint8_t rr_seen;
    uint8_t nack_seen;        /* nack_hi is set */
    uint16_t nack_hi;         /* highest NACKed sequence number counted as lost on the link */
    /* Pacing: the band of this stream's last packet that had to wait, and until when one of its
     * packets may still be waiting (then at most the pacer's longest wait). A later packet never
     * goes into a band served before that one: a stream's packets leave in order (a receiver's
     * SRTP replay window and jitter buffer expect that; a keyframe of this stream must not pass
     * its own earlier delta frames). */
    uint8_t q_band;
    uint64_t q_until_us;
} cr_sub_stream_t;

/* Transport-wide congestion control toward a subscriber (relay/fwd/cr_twcc.c). */
#define CR_TWCC_HIST 4096 /* packets remembered for feedback (a power of two): a few seconds */

/** A packet the relay numbered, until feedback reports it. */
typedef struct cr_twcc_sent {
    uint32_t write_us; /* when it was numbered, as it left (the low 32 bits of the monotonic clock, us) */
    uint16_t tseq;     /* its transport-wide sequence number (checks the slot is this packet's) */
    uint16_t size;     /* bytes on the wire; 0 = empty slot */
    uint8_t reported;  /* feedback reported it (received or lost) */
} cr_twcc_sent_t;

/** A subscriber's transport-cc state. */
typedef struct cr_twcc {
    uint8_t ext_id;        /* the negotiated extension id (1..14), 0 = not negotiated */
    uint16_t next_tseq;    /* the next transport-wide sequence number */
    cr_twcc_sent_t *hist;  /* CR_TWCC_HIST slots by tseq, owned; NULL unless negotiated */
    /* The receiver's clock into the relay's: its one-way delay's minimum over the current and the
     * previous 5 s block (the offset of the two clocks, plus the path's base delay). */
    int64_t owd_cur_min, owd_prev_min;
    uint64_t owd_block_start;
    uint8_t owd_valid;
    uint64_t last_fb_us;   /* its last feedback with a packet the relay knew */
    uint64_t fb_in, reported, lost; /* feedback packets; packets they reported; of those lost */
} cr_twcc_t;

struct cr_class;

typedef struct cr_peer {
    cr_list_t class_link;  /* in its class's publisher or subscriber list */
    cr_list_t worker_link; /* in the worker's list of all peers */
    struct cr_peer *ufrag_next; /* hash chains owned by the worker */
    struct cr_peer *addr_next;
    struct cr_class *cls;

    enum cr_peer_role role;
    enum cr_peer_state state;
    /* Publisher: the class's main source (the teacher), which replaces a previous main publisher;
     * otherwise an additional source (a classroom sending back). Set before cr_worker_add_peer. */
    uint8_t is_main;
    char resource_id[CR_RESOURCE_ID_LEN + 1];
    char class_id[CR_CLASS_ID_MAX + 1];

    /* ICE-lite (RFC 8445 section 2.5): our credentials and the peer's ufrag. */
    char ufrag[CR_ICE_UFRAG_LEN + 1];
    char pwd[CR_ICE_PWD_LEN + 1];
    char remote_ufrag[257];
    struct sockaddr_storage addr;
    socklen_t addr_len;
    uint8_t has_addr;
    uint64_t created_us;
    uint64_t last_consent_us;

    char remote_fingerprint[160];
    cr_dtls_t *dtls;
    cr_srtp_t *srtp;

    cr_pub_stream_t pub[CR_PEER_MAX_PUB];
    unsigned n_pub;
    uint8_t rid_ext_id; /* RFC 8852 rtp-stream-id header extension id, 0 if not negotiated */
    uint8_t audio_muted, video_muted;
    /* Publisher: its video layers in the scheduler's order, lowest bitrate first (pub[] indices),
     * sorted by measured bitrate whenever every layer is being sent. */
    uint8_t n_vl;
    uint8_t vl[CR_SCHED_MAX_LAYERS];
    cr_list_t fanout; /* publisher: the subscribers currently receiving it (fanout_link) */
    cr_sub_stream_t sub[CR_PEER_MAX_STREAMS];
    unsigned n_sub;
    cr_list_t fanout_link;                   /* subscriber: in its source's fanout */
    struct cr_peer *source;                  /* subscriber: the publisher it receives now, or NULL */
    char source_id[CR_RESOURCE_ID_LEN + 1];  /* subscriber: wanted source, "" = the class's main */
    char want_rid[CR_RID_MAX];               /* subscriber: wanted simulcast layer, "" = best */

    /* Subscriber: its place in the scheduler's tree, set by the control plane before
     * cr_worker_add_peer (cr_peer_set_place) from the token: school claim, classroom (the sub), the
     * kind of its class and whether it watches the stage. */
    char school[CR_SCHED_NAME_MAX + 1];
    char classroom[CR_SCHED_NAME_MAX + 1];
    uint8_t class_kind; /* enum cr_sched_kind (= enum cr_class_kind) */
    uint8_t stage_view;
    /* The worker's scheduler state: classroom index and one subscription per stream. */
    uint32_t sched_room;                        /* CR_SCHED_NONE: not placed */
    uint32_t sched_sub[CR_PEER_MAX_STREAMS];    /* CR_SCHED_NONE: none */
    int8_t sched_layer;                         /* video: the allocator's layer (peer index), -1 off */
    uint64_t remb_us;                           /* when remb_bps arrived */

    uint32_t rtcp_ssrc; /* the SSRC our own RTCP reports are sent from */
    uint64_t next_rtcp_us;

    /* Counters, read by the worker's stats. */
    uint64_t packets_in, bytes_in, packets_out, bytes_out;
    uint64_t rate_bytes_in, rate_bytes_out; /* at the last rate update */
    uint64_t bps_in, bps_out;               /* over the last second */
    uint64_t remb_bps;                      /* subscriber: its last REMB estimate, 0 = none */
    uint64_t nacks_in, retransmits, kf_requests_in;

    cr_twcc_t twcc; /* subscriber */
} cr_peer_t;

/**
 * Creates a peer from the remote offer and the relay's negotiated answer (both borrowed). For a
 * publisher, each accepted m-line becomes a cr_pub_stream with a history ring of history_packets; for
 * a subscriber, a cr_sub_stream with the SSRC given in the answer, and (when the answer kept
 * transport-cc) the transport-wide sequence numbering with its send history. ufrag/pwd are the relay's ICE
 * credentials that were put in the answer. Returns 0, CR_ENOMEM or CR_EINVAL.
 */
int cr_peer_new(cr_peer_t **out, enum cr_peer_role role, const char *class_id,
                const char *resource_id, const char *ufrag, const char *pwd,
                const cr_sdp_t *offer, const cr_sdp_t *answer, unsigned history_packets);

/**
 * Places a subscriber in the scheduler's tree (before cr_worker_add_peer): school (the token's
 * school claim, "" = none) and classroom (the token's sub) are copied (truncated to
 * CR_SCHED_NAME_MAX), class_kind is the class's enum cr_class_kind, stage_view 1 when the session
 * watches the stage. The worker maps unknown names to the defaults of docs/CONFIG.md.
 */
void cr_peer_set_place(cr_peer_t *p, const char *school, const char *classroom, int class_kind, int stage_view);

/** Frees a peer and everything it owns (DTLS, SRTP, history rings, transport-cc history). NULL is a no-op. */
void cr_peer_free(cr_peer_t *p);

/** Returns a short name for a close reason ("requested", "consent", ...). */
const char *cr_peer_close_reason_name(enum cr_peer_close_reason r);

#endif
