/*
 * Answer negotiation (RFC 8829 section 5.3, RFC 3264 section 6) for the relay's two roles: it
 * receives from WHIP publishers and sends to WHEP subscribers. The relay is an ICE-lite, DTLS
 * passive endpoint that bundles everything onto one transport, forwards one codec per m-line
 * unchanged (so no transcoding and no rtx), and keeps only header extensions it reads or writes.
 */
#include "cr_sdp.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cr_err.h"

/* Feedback the relay answers or forwards: it retransmits (nack), and relays key frame requests. */
#define ANSWER_FB (CR_SDP_FB_NACK | CR_SDP_FB_PLI | CR_SDP_FB_FIR | CR_SDP_FB_REMB)

/* Header extensions the relay reads or rewrites, for both roles (transport-cc: see keep_twcc). */
static const char *const kept_exts[] = {
    CR_SDP_EXT_MID, CR_SDP_EXT_RID, CR_SDP_EXT_RRID, CR_SDP_EXT_ABS_SEND_TIME,
};

/* Copies a relay-supplied parameter; it must be present, printable and fit its field. */
static int put_param(char *dst, size_t cap, const char *src, bool allow_space)
{
    if (src == NULL || src[0] == '\0')
        return CR_EINVAL;
    size_t n = strnlen(src, cap);
    if (n >= cap)
        return CR_EINVAL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c < 0x20 || c == 0x7f || (c == ' ' && !allow_space))
            return CR_EINVAL;
    }
    memcpy(dst, src, n + 1);
    return 0;
}

static int check_params(const cr_sdp_answer_params_t *p)
{
    char tmp[257];
    if (p->role != CR_SDP_ROLE_PUBLISHER && p->role != CR_SDP_ROLE_SUBSCRIBER)
        return CR_EINVAL;
    if (put_param(tmp, sizeof(tmp), p->ice_ufrag, false) != 0 ||
        put_param(tmp, sizeof(tmp), p->ice_pwd, false) != 0 ||
        put_param(tmp, 160, p->fingerprint, true) != 0 ||
        put_param(tmp, 64, p->cand_ip, false) != 0 || p->cand_port == 0)
        return CR_EINVAL;
    if (p->role == CR_SDP_ROLE_SUBSCRIBER &&
        (put_param(tmp, 64, p->cname, false) != 0 ||
         put_param(tmp, sizeof(tmp), p->stream_id, false) != 0))
        return CR_EINVAL;
    return 0;
}

/* RFC 6184 section 8.1: without profile-level-id the profile is Baseline, level 1 (42000a). */
static uint32_t h264_plid(const cr_sdp_codec_t *c)
{
    return c->h264_profile_level_id ? c->h264_profile_level_id : 0x42000au;
}

/*
 * How much the relay wants a video codec, 0 = not at all. Every subscriber must be able to decode
 * what a publisher sends, so the most widely decodable H.264 comes first: Constrained Baseline
 * 3.1 (42e01f), then other Baseline variants, then any packetization-mode=1 H.264, then VP8.
 */
static int video_rank(const cr_sdp_codec_t *c)
{
    if (c->clock_rate != 90000)
        return 0;
    if (strcasecmp(c->name, "VP8") == 0)
        return 1;
    if (strcasecmp(c->name, "H264") != 0 || c->h264_pmode != 1)
        return 0;
    uint32_t plid = h264_plid(c);
    if (plid == 0x42e01fu)
        return 4;
    uint32_t profile = plid >> 16, constraints = (plid >> 8) & 0xffu;
    if (profile == 0x42 && (constraints == 0xe0 || constraints == 0xc0 || constraints == 0x00))
        return 3;
    return 2;
}

/* WebRTC audio is Opus, always signalled as opus/48000/2 (RFC 7587 section 7). */
static int audio_rank(const cr_sdp_codec_t *c)
{
    return strcasecmp(c->name, "opus") == 0 && c->clock_rate == 48000 && c->channels == 2;
}

/* Index of the best codec of m, the offerer's order breaking ties; -1 if none is usable. */
static int pick_codec(const cr_sdp_media_t *m)
{
    int best = -1, best_rank = 0;
    for (unsigned i = 0; i < m->n_codecs; i++) {
        const cr_sdp_codec_t *c = &m->codecs[i];
        int rank = m->kind == CR_SDP_VIDEO ? video_rank(c) : audio_rank(c);
        if (rank > best_rank) {
            best = (int)i;
            best_rank = rank;
        }
    }
    return best;
}

static bool in_bundle(const cr_sdp_t *s, const char *mid)
{
    for (unsigned i = 0; i < s->n_bundle; i++)
        if (strcmp(s->bundle[i], mid) == 0)
            return true;
    return false;
}

/*
 * Whether m-line i can be taken at all, before codecs. A port of 0 rejects the m-line, unless it
 * is bundle-only (RFC 8843 section 6): those carry port 0 but are listed in the BUNDLE group.
 * Without a mid an m-line cannot join the bundle, and the relay has no other transport.
 */
static bool media_usable(const cr_sdp_t *offer, unsigned i, enum cr_sdp_role role)
{
    const cr_sdp_media_t *m = &offer->media[i];
    if (m->kind != CR_SDP_AUDIO && m->kind != CR_SDP_VIDEO)
        return false;
    if (m->mid[0] == '\0' || (m->port == 0 && !in_bundle(offer, m->mid)))
        return false;
    if (strstr(m->proto, "RTP/SAVPF") == NULL)
        return false; /* WebRTC media is DTLS-SRTP with RTCP feedback (RFC 8827, RFC 8834) */
    /* The relay is DTLS passive; a peer that insists on passive too cannot connect. */
    if (cr_sdp_setup_of(offer, i) == CR_SDP_SETUP_PASSIVE)
        return false;
    if (role == CR_SDP_ROLE_PUBLISHER)
        return m->dir == CR_SDP_SENDRECV || m->dir == CR_SDP_SENDONLY;
    return m->dir == CR_SDP_SENDRECV || m->dir == CR_SDP_RECVONLY;
}

/* A rejected m-line (RFC 3264 section 6): port 0, the offer's kind, proto, first format and mid. */
static void reject_media(const cr_sdp_media_t *om, cr_sdp_media_t *am)
{
    am->kind = om->kind;
    am->port = 0;
    memcpy(am->proto, om->proto, sizeof(am->proto));
    memcpy(am->mid, om->mid, sizeof(am->mid));
    am->dir = CR_SDP_INACTIVE;
    if (om->n_codecs > 0) {
        am->codecs[0].pt = om->codecs[0].pt;
        am->n_codecs = 1;
    }
}

/*
 * transport-cc (draft-holmer-rmcat-transport-wide-cc-extensions-01) works one way: the sender numbers
 * its packets in a header extension and the receiver returns feedback. Toward a subscriber the relay
 * is the sender: it numbers what it sends and estimates the classroom link from the feedback
 * (relay/fwd/cr_twcc.c). Toward a publisher it would be the receiver, and it sends no transport-wide
 * feedback, so the publisher's answer leaves it out: a browser that has it negotiated but hears no
 * feedback lowers its send rate. The relay writes only the one-byte header form (RFC 8285 section
 * 4.2), so an id outside 1..14 is not taken either.
 */
static int keep_twcc(const cr_sdp_ext_t *e, enum cr_sdp_role role)
{
    return role == CR_SDP_ROLE_SUBSCRIBER && e->id >= 1 && e->id <= 14 && strcmp(e->uri, CR_SDP_EXT_TWCC) == 0;
}

/* The offer's extensions the relay uses, in offer order with the offer's ids. Returns 1 when
 * transport-cc was kept. */
static int keep_exts(const cr_sdp_media_t *om, cr_sdp_media_t *am, enum cr_sdp_role role)
{
    int twcc = 0;
    for (unsigned i = 0; i < om->n_exts && am->n_exts < CR_SDP_MAX_EXTS; i++) {
        int keep = keep_twcc(&om->exts[i], role);
        twcc |= keep;
        for (size_t k = 0; k < sizeof(kept_exts) / sizeof(kept_exts[0]) && !keep; k++)
            keep = strcmp(om->exts[i].uri, kept_exts[k]) == 0;
        if (keep)
            am->exts[am->n_exts++] = om->exts[i];
    }
    return twcc;
}

/* RFC 8853 section 5.3: the answerer receives the rids the offerer sends, in the same order. */
static void keep_simulcast(const cr_sdp_media_t *om, cr_sdp_media_t *am)
{
    for (unsigned i = 0; i < om->n_rids && am->n_rids < CR_SDP_MAX_RIDS; i++) {
        if (!om->rids[i].send)
            continue;
        am->rids[am->n_rids] = om->rids[i];
        am->rids[am->n_rids++].send = 0;
    }
    am->simulcast = om->simulcast && am->n_rids > 0;
}

/* The subscriber's view of what the relay sends: one SSRC with a cname, and an msid (RFC 8830). */
static int add_send_stream(const cr_sdp_answer_params_t *p, unsigned i, unsigned kind_index,
                           cr_sdp_media_t *am)
{
    const char *kind = am->kind == CR_SDP_VIDEO ? "video" : "audio";
    am->ssrcs[0].ssrc = p->send_ssrc[i];
    am->n_ssrcs = 1;
    int err = put_param(am->ssrcs[0].cname, sizeof(am->ssrcs[0].cname), p->cname, false);
    if (err != 0)
        return err;
    int n = snprintf(am->msid, sizeof(am->msid), "%s %s%u", p->stream_id, kind, kind_index);
    return n > 0 && (size_t)n < sizeof(am->msid) ? 0 : CR_EINVAL;
}

static int accept_media(const cr_sdp_t *offer, unsigned i, int codec,
                        const cr_sdp_answer_params_t *p, unsigned kind_index, cr_sdp_media_t *am)
{
    const cr_sdp_media_t *om = &offer->media[i];
    /* RFC 8829 section 5.3.1 needs ICE and DTLS parameters; RFC 8834 section 5.1.1 rtcp-mux. */
    if (cr_sdp_ice_ufrag(offer, i)[0] == '\0' || cr_sdp_ice_pwd(offer, i)[0] == '\0' ||
        cr_sdp_fingerprint(offer, i)[0] == '\0' || !om->rtcp_mux)
        return CR_EINVAL;
    reject_media(om, am);
    am->port = p->cand_port;
    am->dir = p->role == CR_SDP_ROLE_PUBLISHER ? CR_SDP_RECVONLY : CR_SDP_SENDONLY;
    am->rtcp_mux = 1;
    am->rtcp_rsize = om->rtcp_rsize;
    am->codecs[0] = om->codecs[codec];
    am->n_codecs = 1;
    int twcc = keep_exts(om, am, p->role);
    am->codecs[0].fb &= ANSWER_FB | (twcc ? CR_SDP_FB_TWCC : 0); /* (feedback only with the numbers) */
    am->setup = CR_SDP_SETUP_PASSIVE;
    int err = put_param(am->ice_ufrag, sizeof(am->ice_ufrag), p->ice_ufrag, false);
    if (err == 0)
        err = put_param(am->ice_pwd, sizeof(am->ice_pwd), p->ice_pwd, false);
    if (err == 0)
        err = put_param(am->fingerprint, sizeof(am->fingerprint), p->fingerprint, true);
    if (err != 0)
        return err;
    if (p->role == CR_SDP_ROLE_PUBLISHER) {
        keep_simulcast(om, am);
        return 0;
    }
    return add_send_stream(p, i, kind_index, am);
}

/* JSEP wants a random 62-bit session id; the relay's ufrag for this peer is random already. */
static uint64_t session_id(const char *ufrag)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (const char *c = ufrag; *c != '\0'; c++)
        h = (h ^ (unsigned char)*c) * 0x100000001b3ull;
    return h & 0x3fffffffffffffffull;
}

int cr_sdp_negotiate(const cr_sdp_t *offer, const cr_sdp_answer_params_t *p, cr_sdp_t *answer)
{
    if (offer == NULL || p == NULL || answer == NULL || offer->n_media > CR_SDP_MAX_MEDIA)
        return CR_EINVAL;
    memset(answer, 0, sizeof(*answer));
    int err = check_params(p);
    if (err != 0)
        return err;
    answer->sess_id = session_id(p->ice_ufrag);
    answer->sess_version = 1;
    answer->ice_lite = 1;
    answer->n_media = offer->n_media;
    memcpy(answer->cand_ip, p->cand_ip, strlen(p->cand_ip) + 1);
    answer->cand_port = p->cand_port;
    unsigned n_kind[2] = {0, 0};
    for (unsigned i = 0; i < offer->n_media; i++) {
        const cr_sdp_media_t *om = &offer->media[i];
        cr_sdp_media_t *am = &answer->media[i];
        int codec = media_usable(offer, i, p->role) ? pick_codec(om) : -1;
        if (codec < 0) {
            reject_media(om, am);
            /* Not required for a rejected m-line, but webrtcbin 1.22 refuses an answer in which any
             * m-line lacks ICE credentials or a fingerprint; browsers ignore them. The parameters
             * were validated on entry, so these copies fit. */
            put_param(am->ice_ufrag, sizeof(am->ice_ufrag), p->ice_ufrag, false);
            put_param(am->ice_pwd, sizeof(am->ice_pwd), p->ice_pwd, false);
            put_param(am->fingerprint, sizeof(am->fingerprint), p->fingerprint, true);
            am->setup = CR_SDP_SETUP_PASSIVE;
            continue;
        }
        err = accept_media(offer, i, codec, p, n_kind[om->kind]++, am);
        if (err != 0)
            return err;
        memcpy(answer->bundle[answer->n_bundle++], am->mid, sizeof(am->mid));
    }
    return answer->n_bundle > 0 ? 0 : CR_ENEGOTIATE;
}
