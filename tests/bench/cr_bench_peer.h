/*
 * A WebRTC endpoint for the benchmark tools, built from the relay's own modules: the SDP offer (written
 * as text, checked by cr_sdp_parse in the unit tests), WHIP/WHEP signaling over cr_bench_http, ICE as the
 * controlling full agent against the relay's ICE-lite (RFC 8445: binding requests with USE-CANDIDATE,
 * repeated every 2.5 s as consent, RFC 7675), the DTLS client handshake (cr_dtls, RFC 5763) and the
 * SRTP session keyed from it (cr_srtp, RFC 5764).
 *
 * A peer owns one non-blocking UDP socket connected to the relay's candidate; the caller polls it
 * (epoll), feeds every datagram to cr_bench_peer_input, which consumes STUN and DTLS and hands SRTP and
 * SRTCP back, and calls cr_bench_peer_tick on a timer. One thread per peer; nothing is locked.
 */
#ifndef CR_BENCH_PEER_H
#define CR_BENCH_PEER_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "cr_bench_http.h"
#include "cr_dtls.h"
#include "cr_srtp.h"

#define CR_BENCH_AUDIO_PT 111
#define CR_BENCH_VIDEO_PT 96
#define CR_BENCH_CONSENT_US 2500000u   /* RFC 7675: a consent check every 2.5 s (randomized +-20%) */
#define CR_BENCH_ICE_RETRY_US 100000u   /* binding request retransmission before the first answer */
#define CR_BENCH_CONNECT_TIMEOUT_US 15000000u
/*
 * The RFC 8285 id our offer gives the transport-wide-cc extension (Chrome's choice). The offer has no
 * other extmap, so it collides with nothing; an extension added to the offer needs another id.
 */
#define CR_BENCH_TWCC_EXT_ID 3

/** Parameters of the offer a benchmark peer sends. */
typedef struct cr_bench_offer_params {
    int publisher;           /* 1: sendonly with SSRCs (WHIP); 0: recvonly (WHEP) */
    const char *ice_ufrag;   /* ours */
    const char *ice_pwd;
    const char *fingerprint; /* "sha-256 AB:CD:..." of our DTLS certificate */
    uint32_t audio_ssrc;     /* publisher only */
    uint32_t video_ssrc;
    const char *cname;            /* publisher only */
    const char *profile_level_id; /* H.264, 6 hex digits, e.g. "42e01f" */
    int twcc; /* offer transport-wide congestion control (extmap and rtcp-fb transport-cc), as browsers do */
} cr_bench_offer_params_t;

/**
 * Writes the offer: BUNDLE of audio (opus/48000/2, PT 111) and video (H264/90000, PT 96,
 * packetization-mode=1), rtcp-mux, ice-ufrag/pwd, fingerprint, setup:active, and for a publisher
 * a=ssrc/msid lines; with twcc, on both m-lines the transport-wide-cc extmap (id CR_BENCH_TWCC_EXT_ID)
 * and a=rtcp-fb:<pt> transport-cc. Returns the length written (NUL-terminated) or CR_ETOOBIG/CR_EINVAL.
 */
int cr_bench_offer_write(char *buf, size_t cap, const cr_bench_offer_params_t *p);

enum cr_bench_peer_state {
    CR_BENCH_PEER_IDLE = 0,  /* socket open, not negotiated */
    CR_BENCH_PEER_ICE,       /* negotiated, binding requests sent until one is answered */
    CR_BENCH_PEER_DTLS,      /* ICE answered, handshake running */
    CR_BENCH_PEER_CONNECTED, /* SRTP keys in place */
    CR_BENCH_PEER_FAILED,
};

typedef struct cr_bench_peer {
    int fd;
    enum cr_bench_peer_state state;
    struct sockaddr_in relay; /* the answer's candidate */
    char ufrag[9];
    char pwd[25];
    char remote_ufrag[257];
    char remote_pwd[257];
    char remote_fp[160];
    char username[520]; /* "remote_ufrag:local_ufrag" (RFC 8445 section 7.2.2) */
    char resource[256]; /* the Location of the session, for DELETE */
    const char *token;  /* bearer token for POST and DELETE, or NULL; borrowed, set before negotiating */
    uint32_t answer_ssrc[2]; /* SSRCs the relay announced for audio [0] and video [1] (subscriber) */
    uint8_t twcc_ext_id;     /* the answer's extmap id for transport-wide-cc, 0 when it has none */
    uint64_t tiebreaker;
    cr_dtls_t *dtls;
    cr_srtp_t *srtp;
    enum cr_srtp_profile profile;
    uint64_t started_us, ice_done_us, connected_us, next_stun_us;
    uint64_t stun_sent, stun_ok, stun_bad;
    uint64_t dtls_in, dtls_out;
    const char *error; /* static text when FAILED */
} cr_bench_peer_t;

/**
 * Opens the peer's UDP socket (non-blocking, receive buffer of rcvbuf bytes if > 0, forced when
 * permitted) and picks random ICE credentials. Clears the struct but keeps p->token. Returns 0 or
 * CR_EIO/CR_ECRYPTO.
 */
int cr_bench_peer_open(cr_bench_peer_t *p, int rcvbuf);

/**
 * POSTs offer to url (WHIP or WHEP), parses the answer (cr_sdp_parse) for the relay's candidate, ICE
 * credentials, fingerprint, SSRCs and transport-wide-cc extension id, remembers the Location, and connects the socket to the candidate.
 * On failure err (errcap bytes) says why (HTTP status and body). Returns 0, CR_EIO, CR_ENEGOTIATE (not
 * 201) or CR_EMALFORMED (answer unusable).
 */
int cr_bench_peer_negotiate(cr_bench_peer_t *p, const cr_bench_url_t *url, const char *offer, size_t len,
                            int timeout_ms, char *err, size_t errcap);

/**
 * Starts ICE (first binding request now) and creates the DTLS client with ctx (borrowed); its handshake
 * starts once a binding request is answered, so that the relay knows our address.
 */
int cr_bench_peer_start(cr_bench_peer_t *p, cr_dtls_ctx_t *ctx, uint64_t now_us);

/** What cr_bench_peer_input found. */
enum cr_bench_input { CR_BENCH_IN_DONE = 0, CR_BENCH_IN_RTP = 1, CR_BENCH_IN_RTCP = 2, CR_BENCH_IN_OTHER = 3 };

/**
 * Handles one datagram from the relay: STUN and DTLS are consumed (CR_BENCH_IN_DONE); SRTP and SRTCP
 * are returned still protected for the caller (CR_BENCH_IN_RTP/RTCP, RFC 7983 demultiplexing).
 */
enum cr_bench_input cr_bench_peer_input(cr_bench_peer_t *p, const uint8_t *pkt, size_t len, uint64_t now_us);

/** Retransmits/refreshes binding requests and runs DTLS timers; call every few milliseconds. */
void cr_bench_peer_tick(cr_bench_peer_t *p, uint64_t now_us);

/** Sends a datagram to the relay. Returns 0 or CR_EIO (errno set; EAGAIN when the buffer is full). */
int cr_bench_peer_send(cr_bench_peer_t *p, const uint8_t *data, size_t len);

/** Protects an RTCP compound packet in buf (cap bytes) and sends it. Returns 0 or a CR_E* code. */
int cr_bench_peer_send_rtcp(cr_bench_peer_t *p, uint8_t *buf, size_t len, size_t cap);

/**
 * Ends the session: DELETEs its resource at url's host when delete is set and a Location is known (a
 * 2-second deadline), closes the socket, frees DTLS and SRTP. The struct may then be reopened.
 */
void cr_bench_peer_close(cr_bench_peer_t *p, const cr_bench_url_t *url, int delete);

#endif
