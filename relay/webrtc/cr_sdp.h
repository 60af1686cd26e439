/*
 * SDP (RFC 8866) as WebRTC uses it (JSEP, RFC 8829): parsing offers from browsers, OBS and GStreamer
 * webrtcbin, negotiating an answer for the relay, and writing it.
 *
 * Everything a peer controls is bounded: the text size, the line count and line length, the number of
 * m-lines, codecs, extensions, SSRCs and rids per m-line, and every string field. Input beyond a limit
 * fails with CR_ETOOBIG, never truncates silently. Unknown attributes are ignored.
 */
#ifndef CR_SDP_H
#define CR_SDP_H

#include <stddef.h>
#include <stdint.h>

#define CR_SDP_MAX_SIZE 32768   /* bytes of SDP text */
#define CR_SDP_MAX_LINES 1024
#define CR_SDP_MAX_LINE 2048    /* bytes per line */
#define CR_SDP_MAX_MEDIA 8
#define CR_SDP_MAX_CODECS 64    /* Chromium 156 offers 34 video payload types (rtx, red, AV1, H.265...) */
#define CR_SDP_MAX_EXTS 16
#define CR_SDP_MAX_SSRCS 8
#define CR_SDP_MAX_RIDS 4

enum cr_sdp_kind { CR_SDP_AUDIO = 0, CR_SDP_VIDEO = 1, CR_SDP_APPLICATION = 2, CR_SDP_OTHER = 3 };
enum cr_sdp_dir { CR_SDP_SENDRECV = 0, CR_SDP_SENDONLY, CR_SDP_RECVONLY, CR_SDP_INACTIVE };
enum cr_sdp_setup { CR_SDP_SETUP_NONE = 0, CR_SDP_SETUP_ACTPASS, CR_SDP_SETUP_ACTIVE, CR_SDP_SETUP_PASSIVE };

/* rtcp-fb bits (RFC 4585, RFC 5104, REMB and transport-cc drafts). */
enum {
    CR_SDP_FB_NACK = 1 << 0,
    CR_SDP_FB_PLI = 1 << 1,
    CR_SDP_FB_FIR = 1 << 2,
    CR_SDP_FB_REMB = 1 << 3,
    CR_SDP_FB_TWCC = 1 << 4,
};

/* Well-known header extension URIs. */
#define CR_SDP_EXT_MID "urn:ietf:params:rtp-hdrext:sdes:mid"
#define CR_SDP_EXT_RID "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
#define CR_SDP_EXT_RRID "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
#define CR_SDP_EXT_ABS_SEND_TIME "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
#define CR_SDP_EXT_TWCC "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

typedef struct cr_sdp_codec {
    uint8_t pt;
    char name[16];        /* encoding name as written: "H264", "opus", "VP8", "rtx", ... */
    uint32_t clock_rate;
    uint8_t channels;     /* 0 when not given */
    uint8_t fb;           /* CR_SDP_FB_* */
    uint8_t has_apt;      /* rtx: apt= present */
    uint8_t apt;
    uint8_t h264_pmode;   /* packetization-mode, 0 if absent */
    uint32_t h264_profile_level_id; /* parsed hex, 0 if absent */
    char fmtp[256];       /* the raw fmtp parameters, "" if none */
} cr_sdp_codec_t;

typedef struct cr_sdp_ext {
    uint8_t id;
    char uri[128];
} cr_sdp_ext_t;

typedef struct cr_sdp_ssrc {
    uint32_t ssrc;
    char cname[64];
} cr_sdp_ssrc_t;

typedef struct cr_sdp_rid {
    char id[16];
    uint8_t send; /* "a=rid:<id> send" (1) or recv (0) */
} cr_sdp_rid_t;

typedef struct cr_sdp_media {
    enum cr_sdp_kind kind;
    uint16_t port;        /* 0 = rejected / disabled */
    char proto[32];       /* "UDP/TLS/RTP/SAVPF" */
    char mid[32];
    enum cr_sdp_dir dir;
    uint8_t rtcp_mux;
    uint8_t rtcp_rsize;
    cr_sdp_codec_t codecs[CR_SDP_MAX_CODECS];
    unsigned n_codecs;    /* in m-line format order */
    cr_sdp_ext_t exts[CR_SDP_MAX_EXTS];
    unsigned n_exts;
    cr_sdp_ssrc_t ssrcs[CR_SDP_MAX_SSRCS];
    unsigned n_ssrcs;
    uint32_t fid[CR_SDP_MAX_SSRCS][2]; /* a=ssrc-group:FID media rtx */
    unsigned n_fid;
    cr_sdp_rid_t rids[CR_SDP_MAX_RIDS];
    unsigned n_rids;
    uint8_t simulcast;    /* a=simulcast present */
    char msid[128];       /* a=msid value, "" if none */
    /* Media-level transport attributes; "" / NONE when given only at session level. */
    char ice_ufrag[257];
    char ice_pwd[257];
    char fingerprint[160]; /* "sha-256 AB:CD:..." */
    enum cr_sdp_setup setup;
} cr_sdp_media_t;

typedef struct cr_sdp {
    uint64_t sess_id;
    uint64_t sess_version;
    uint8_t ice_lite;
    char ice_ufrag[257]; /* session-level */
    char ice_pwd[257];
    char fingerprint[160];
    enum cr_sdp_setup setup;
    char bundle[CR_SDP_MAX_MEDIA][32]; /* mids of a=group:BUNDLE */
    unsigned n_bundle;
    cr_sdp_media_t media[CR_SDP_MAX_MEDIA];
    unsigned n_media;
    /*
     * For written answers: the one host candidate put in every accepted m-line. The parser fills
     * them from the first UDP component-1 a=candidate, so a written answer parses back the same.
     */
    char cand_ip[64];
    uint16_t cand_port;
} cr_sdp_t;

/**
 * Parses SDP text (CRLF or LF line ends) into out (caller-owned; about 100 KB, so heap-allocate it).
 * Returns 0, CR_ETOOBIG when a limit above is passed, or CR_EMALFORMED for a missing v= line, a bad
 * m= line, or a malformed rtpmap/fmtp/extmap/ssrc value. text need not be NUL-terminated.
 */
int cr_sdp_parse(const char *text, size_t len, cr_sdp_t *out);

/** The effective ICE ufrag, pwd, fingerprint and setup of m-line i: media-level, else session-level. */
const char *cr_sdp_ice_ufrag(const cr_sdp_t *s, unsigned i);
const char *cr_sdp_ice_pwd(const cr_sdp_t *s, unsigned i);
const char *cr_sdp_fingerprint(const cr_sdp_t *s, unsigned i);
enum cr_sdp_setup cr_sdp_setup_of(const cr_sdp_t *s, unsigned i);

/** Returns the id of extension uri in m, or 0 if not negotiated. */
uint8_t cr_sdp_ext_id(const cr_sdp_media_t *m, const char *uri);

enum cr_sdp_role {
    CR_SDP_ROLE_PUBLISHER = 0, /* WHIP: the peer sends, the relay receives */
    CR_SDP_ROLE_SUBSCRIBER = 1 /* WHEP: the relay sends, the peer receives */
};

typedef struct cr_sdp_answer_params {
    enum cr_sdp_role role;
    const char *ice_ufrag;   /* the relay's, for this peer */
    const char *ice_pwd;
    const char *fingerprint; /* "sha-256 AB:CD:..." of the relay's DTLS certificate */
    const char *cand_ip;     /* the relay's media address as peers reach it */
    uint16_t cand_port;
    /* Subscriber role: the SSRC the relay sends on each m-line (index = offer m-line), and names. */
    uint32_t send_ssrc[CR_SDP_MAX_MEDIA];
    const char *cname;
    const char *stream_id;
} cr_sdp_answer_params_t;

/**
 * Negotiates an answer to offer. For each offered m-line: audio accepts opus/48000/2; video accepts
 * H264 with packetization-mode=1 (preferring profile-level-id 42e01f, then any constrained baseline
 * or baseline, then any) and then VP8. The chosen codec is answer->media[i].codecs[0] (n_codecs = 1;
 * no rtx), with rtcp-fb limited to nack, nack pli, ccm fir and goog-remb as offered. Header extensions
 * kept: mid, rtp-stream-id, repaired-rtp-stream-id, abs-send-time, with the offer's ids. Subscriber
 * role only: also transport-cc (CR_SDP_EXT_TWCC, when its id is 1..14, the one-byte form the relay
 * writes) and with it the transport-cc rtcp-fb (CR_SDP_FB_TWCC) as offered: the relay numbers what
 * it sends and reads the subscriber's feedback. Publishers' answers leave both out: the relay sends
 * them no transport-wide feedback.
 * The answer is ICE-lite, setup:passive, rtcp-mux, one BUNDLE group of the accepted mids; direction is
 * recvonly (publisher) or sendonly (subscriber) as the offer allows. An m-line that cannot be accepted
 * (application, no common codec, wrong direction, no mid, a=setup:passive in the offer) gets port 0;
 * a port-0 m-line whose mid is in the offer's BUNDLE group is bundle-only (RFC 8843) and may be
 * accepted. The answer's strings are copied, so it does not point into offer or p. Returns 0, or
 * CR_ENEGOTIATE when no m-line was accepted, or CR_EINVAL when the offer lacks ICE credentials or a
 * fingerprint, or rtcp-mux on an accepted m-line, or p lacks a field its role needs.
 */
int cr_sdp_negotiate(const cr_sdp_t *offer, const cr_sdp_answer_params_t *p, cr_sdp_t *answer);

/**
 * Writes s as SDP text with CRLF line ends and a terminating NUL. Returns the length (excluding the
 * NUL) or CR_ETOOBIG when cap is too small.
 */
int cr_sdp_write(const cr_sdp_t *s, char *buf, size_t cap);

#endif
