#include "cr_peer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cr_clock.h"
#include "cr_err.h"

/* Room for a full-size packet in each history slot: MTU-sized RTP from browsers and webrtcbin. */
#define CR_HISTORY_SLOT 1500

static int copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        return CR_EINVAL;
    memcpy(dst, src, n + 1);
    return 0;
}

/* The primary (non-retransmission) SSRC an offer announces for an m-line, or 0. */
static uint32_t offered_media_ssrc(const cr_sdp_media_t *m)
{
    for (unsigned i = 0; i < m->n_ssrcs; i++) {
        uint32_t s = m->ssrcs[i].ssrc;
        int is_rtx = 0;
        for (unsigned f = 0; f < m->n_fid; f++)
            if (m->fid[f][1] == s)
                is_rtx = 1;
        if (!is_rtx)
            return s;
    }
    return 0;
}

static int add_pub_layer(cr_peer_t *p, const cr_sdp_media_t *off, const cr_sdp_media_t *ans,
                         const char *rid, uint8_t layer, unsigned history_packets)
{
    if (p->n_pub >= CR_PEER_MAX_PUB)
        return 0; /* more layers than we keep: the extra ones are ignored */
    cr_pub_stream_t *s = &p->pub[p->n_pub];
    memset(s, 0, sizeof(*s));
    s->kind = ans->kind;
    s->pt = ans->codecs[0].pt;
    s->clock_rate = ans->codecs[0].clock_rate;
    s->is_vp8 = strcasecmp(ans->codecs[0].name, "VP8") == 0;
    s->layer = layer;
    if (copy_str(s->rid, sizeof(s->rid), rid) != 0)
        return CR_EINVAL;
    /* Simulcast layers are bound by their rid header extension; a single stream by its SDP SSRC. */
    s->ssrc = rid[0] ? 0 : offered_media_ssrc(off);
    int err = cr_history_init(&s->hist, ans->kind == CR_SDP_VIDEO ? history_packets : 128,
                              CR_HISTORY_SLOT);
    if (err != 0)
        return err;
    p->n_pub++;
    return 0;
}

static int add_pub_stream(cr_peer_t *p, const cr_sdp_media_t *off, const cr_sdp_media_t *ans,
                          unsigned history_packets)
{
    unsigned n_layers = 0;
    int err = 0;
    if (ans->kind == CR_SDP_VIDEO && p->rid_ext_id == 0)
        p->rid_ext_id = cr_sdp_ext_id(ans, CR_SDP_EXT_RID);
    for (unsigned i = 0; i < ans->n_rids && err == 0; i++) {
        if (ans->rids[i].send || p->rid_ext_id == 0)
            continue; /* the answer lists what the relay receives */
        err = add_pub_layer(p, off, ans, ans->rids[i].id, (uint8_t)n_layers++, history_packets);
    }
    if (n_layers == 0 && err == 0)
        err = add_pub_layer(p, off, ans, "", 0, history_packets);
    return err;
}

static int add_sub_stream(cr_peer_t *p, const cr_sdp_media_t *ans)
{
    cr_sub_stream_t *s = &p->sub[p->n_sub];
    uint8_t rnd[6];
    if (ans->n_ssrcs == 0 || cr_random_bytes(rnd, sizeof(rnd)) != 0)
        return CR_EINVAL;
    memset(s, 0, sizeof(*s));
    s->kind = ans->kind;
    s->pt = ans->codecs[0].pt;
    s->clock_rate = ans->codecs[0].clock_rate;
    s->ssrc = ans->ssrcs[0].ssrc;
    s->need_keyframe = ans->kind == CR_SDP_VIDEO;
    s->cur_layer = -1;
    s->target_layer = 0;
    cr_rewriter_init(&s->rw, s->ssrc, s->clock_rate, (uint16_t)(rnd[0] << 8 | rnd[1]),
                     (uint32_t)rnd[2] << 24 | (uint32_t)rnd[3] << 16 | (uint32_t)rnd[4] << 8 | rnd[5]);
    p->n_sub++;
    return 0;
}

int cr_peer_new(cr_peer_t **out, enum cr_peer_role role, const char *class_id,
                const char *resource_id, const char *ufrag, const char *pwd,
                const cr_sdp_t *offer, const cr_sdp_t *answer, unsigned history_packets)
{
    int err = CR_EINVAL;
    cr_peer_t *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return CR_ENOMEM;
    cr_list_init(&p->class_link);
    cr_list_init(&p->worker_link);
    cr_list_init(&p->fanout);
    cr_list_init(&p->fanout_link);
    p->role = role;
    p->state = CR_PEER_NEW;
    p->sched_room = CR_SCHED_NONE;
    for (unsigned i = 0; i < CR_PEER_MAX_STREAMS; i++)
        p->sched_sub[i] = CR_SCHED_NONE;
    p->sched_layer = -1;
    p->class_kind = CR_SKIND_SYNCHRONOUS;
    p->created_us = cr_now_us();
    if (copy_str(p->class_id, sizeof(p->class_id), class_id) != 0 ||
        copy_str(p->resource_id, sizeof(p->resource_id), resource_id) != 0 ||
        copy_str(p->ufrag, sizeof(p->ufrag), ufrag) != 0 ||
        copy_str(p->pwd, sizeof(p->pwd), pwd) != 0)
        goto Exit;

    for (unsigned i = 0; i < answer->n_media && i < offer->n_media; i++) {
        const cr_sdp_media_t *am = &answer->media[i];
        if (am->port == 0 || am->n_codecs == 0)
            continue;
        if (am->kind != CR_SDP_AUDIO && am->kind != CR_SDP_VIDEO)
            continue;
        if (p->n_sub >= CR_PEER_MAX_STREAMS || p->n_pub >= CR_PEER_MAX_PUB)
            break;
        /* The relay takes the transport from the first accepted m-line (BUNDLE). */
        if (p->remote_ufrag[0] == '\0') {
            if (copy_str(p->remote_ufrag, sizeof(p->remote_ufrag), cr_sdp_ice_ufrag(offer, i)) != 0 ||
                copy_str(p->remote_fingerprint, sizeof(p->remote_fingerprint),
                         cr_sdp_fingerprint(offer, i)) != 0)
                goto Exit;
        }
        err = role == CR_PEER_PUBLISHER ? add_pub_stream(p, &offer->media[i], am, history_packets)
                                        : add_sub_stream(p, am);
        if (err != 0)
            goto Exit;
        /* One transport, one numbering (BUNDLE): the id of the first m-line that has it. */
        if (role == CR_PEER_SUBSCRIBER && p->twcc.ext_id == 0)
            p->twcc.ext_id = cr_sdp_ext_id(am, CR_SDP_EXT_TWCC);
    }
    if (p->twcc.ext_id > 14)
        p->twcc.ext_id = 0; /* only the one-byte form is written (the answer keeps no other) */
    if (p->twcc.ext_id != 0) {
        p->twcc.hist = calloc(CR_TWCC_HIST, sizeof(*p->twcc.hist));
        if (p->twcc.hist == NULL) {
            err = CR_ENOMEM;
            goto Exit;
        }
    }
    err = p->n_pub + p->n_sub > 0 ? 0 : CR_ENEGOTIATE;
    if (err == 0 && cr_random_bytes(&p->rtcp_ssrc, sizeof(p->rtcp_ssrc)) != 0)
        err = CR_ECRYPTO;

Exit:
    if (err != 0) {
        cr_peer_free(p);
        return err;
    }
    *out = p;
    return 0;
}

void cr_peer_set_place(cr_peer_t *p, const char *school, const char *classroom, int class_kind, int stage_view)
{
    snprintf(p->school, sizeof(p->school), "%s", school != NULL ? school : "");
    snprintf(p->classroom, sizeof(p->classroom), "%s", classroom != NULL ? classroom : "");
    p->class_kind = (uint8_t)(class_kind >= 0 && class_kind < CR_SKIND_COUNT ? class_kind : CR_SKIND_SYNCHRONOUS);
    p->stage_view = (uint8_t)(stage_view != 0);
}

void cr_peer_free(cr_peer_t *p)
{
    if (p == NULL)
        return;
    for (unsigned i = 0; i < p->n_pub; i++)
        cr_history_dispose(&p->pub[i].hist);
    cr_dtls_free(p->dtls);
    cr_srtp_free(p->srtp);
    free(p->twcc.hist);
    free(p);
}

const char *cr_peer_close_reason_name(enum cr_peer_close_reason r)
{
    switch (r) {
    case CR_CLOSE_REQUESTED:
        return "requested";
    case CR_CLOSE_CONSENT:
        return "consent-timeout";
    case CR_CLOSE_DTLS:
        return "dtls";
    case CR_CLOSE_SHUTDOWN:
        return "shutdown";
    }
    return "unknown";
}
