/*
 * The packet path: DTLS handshakes, SRTP unprotect once per incoming packet, the publisher's RTP
 * stored in its stream's history ring and copied to every connected subscriber with that
 * subscriber's SSRC, sequence numbers and timestamps, protected with its key; subscribers' RTCP
 * answered (NACK from the ring, PLI/FIR merged toward the publisher). Nothing here allocates or logs.
 */
#include <string.h>

#include "cr_clock.h"
#include "cr_err.h"
#include "cr_rtcp.h"
#include "cr_rtp.h"
#include "cr_worker_int.h"

#define CR_NACK_MAX 64 /* lost packets answered per NACK packet */

/* --- DTLS --- */

void cr__dtls_flush(struct cr_worker *w, cr_peer_t *p)
{
    for (;;) {
        uint8_t *slot = cr__worker_send_slot(w);
        int n = cr_dtls_output(p->dtls, slot, CR_PKT_BUF);
        if (n <= 0)
            return;
        if (p->has_addr)
            cr__worker_send_commit(w, p, (size_t)n);
    }
}

static void on_connected(struct cr_worker *w, cr_peer_t *p)
{
    enum cr_srtp_profile profile;
    uint8_t local[64], remote[64];
    if (cr_dtls_srtp_keys(p->dtls, &profile, local, remote) != 0 ||
        cr_srtp_new(&p->srtp, profile, local, remote) != 0) {
        cr__worker_close_peer(w, p, CR_CLOSE_DTLS);
        return;
    }
    memset(local, 0, sizeof(local));
    memset(remote, 0, sizeof(remote));
    p->state = CR_PEER_CONNECTED;
    p->next_rtcp_us = w->now_us + 200000u;
    cr__worker_post_event(w, p, CR_EV_PEER_CONNECTED, CR_CLOSE_REQUESTED);
    /* A new subscriber can decode nothing until the next keyframe: ask for one now. */
    if (p->role == CR_PEER_SUBSCRIBER)
        cr__fanout_request_target(p);
}

void cr__dtls_input(struct cr_worker *w, cr_peer_t *p, const uint8_t *pkt, size_t len)
{
    if (p->state != CR_PEER_DTLS && p->state != CR_PEER_CONNECTED)
        return;
    int st = cr_dtls_input(p->dtls, pkt, len);
    cr__dtls_flush(w, p);
    if (st == CR_DTLS_CONNECTED && p->state == CR_PEER_DTLS)
        on_connected(w, p);
    else if (st == CR_DTLS_FAILED || st == CR_DTLS_CLOSED)
        cr__worker_close_peer(w, p, CR_CLOSE_DTLS);
    else if (st < 0)
        CR_STAT_ADD(w, drop_malformed, 1);
}

/* --- forwarding --- */

static cr_sub_stream_t *sub_stream_of_kind(cr_peer_t *p, enum cr_sdp_kind kind)
{
    for (unsigned i = 0; i < p->n_sub; i++)
        if (p->sub[i].kind == kind)
            return &p->sub[i];
    return NULL;
}

/* Writes one RTP packet to a subscriber: a fresh header in the subscriber's numbering (the
 * publisher's header extensions carry the publisher's negotiated ids, so they are not forwarded;
 * the only extension written is the relay's own transport-wide sequence number, when the subscriber
 * negotiated transport-cc), the payload copied once, then protected where the pacer says: the send
 * batch, or a pool slot that waits in the pacer's band (cr_pace.c). recv_us: when it arrived (0 for
 * a retransmission, which is a packet on the wire too and so gets a transport seq of its own). */
static void send_rtp(struct cr_worker *w, cr_peer_t *sub, cr_sub_stream_t *ss, const cr_rtp_hdr_t *h, int band,
                     uint64_t recv_us)
{
    uint16_t seq;
    uint32_t ts;
    cr__tx_t tx;
    int twcc = sub->twcc.hist != NULL;
    size_t hdr = twcc ? CR_RTP_HDR_TSEQ : CR_RTP_HDR_MIN;
    size_t len = hdr + h->payload_len;
    if (len + CR_SRTP_MAX_TRAILER > CR_PKT_BUF)
        return;
    /* (the size charged on the fast path: SRTP adds at most a 16-byte tag to RTP, either profile) */
    if (band != CR_BAND_RTX) /* (retransmissions may pass: they are old, and asked for) */
        band = cr__pace_stream_band(w, ss, band);
    uint8_t *out = cr__pace_begin(w, sub, band, len + 16, &tx);
    if (out == NULL)
        return; /* the pacer's pool is full: dropped and counted, like a loss on the link */
    cr_rewriter_map(&ss->rw, h->ssrc, h->seq, h->ts, w->now_us, &seq, &ts);
    if (twcc)
        cr_rtp_write_header_tseq(out, CR_PKT_BUF, ss->pt, h->marker, seq, ts, ss->ssrc, sub->twcc.ext_id,
                                 sub->twcc.next_tseq);
    else
        cr_rtp_write_header(out, CR_PKT_BUF, ss->pt, h->marker, seq, ts, ss->ssrc);
    memcpy(out + hdr, h->payload, h->payload_len);
    if (tx.slot != CR_SCHED_NONE) {
        /* It waits in the pacer, and packets of higher bands may leave before it: it is protected,
         * and numbered, when it leaves (cr_pace.c), so transport seqs go out in order and a receiver
         * does not report a waiting packet as lost. */
        w->sch.pool[tx.slot].srtp_pending = 1;
    } else {
        if (cr_srtp_protect(sub->srtp, out, &len, CR_PKT_BUF) != 0) {
            cr__pace_cancel(w, &tx);
            return; /* (its transport seq was not taken: the numbering has no gap) */
        }
        if (twcc)
            cr__twcc_sent(w, sub, len);
    }
    ss->packets++;
    ss->octets += (uint32_t)h->payload_len;
    sub->packets_out++;
    sub->bytes_out += len;
    if (cr__pace_commit(w, sub, &tx, len, recv_us) && band != CR_BAND_RTX)
        cr__pace_stream_queued(w, ss, band);
}

/* Video: a subscriber receives one layer. It starts, and moves to its target layer, only at a
 * keyframe of that layer, so its decoder never sees a picture it cannot decode. */
static int video_gate(cr_sub_stream_t *ss, const cr_pub_stream_t *s, int *keyframe, const cr_rtp_hdr_t *h)
{
    if (ss->target_layer < 0) {
        /* The allocator turned this subscriber's video off: stop now; the numbering continues at
         * the next keyframe once it is back on. */
        if (ss->cur_layer >= 0 || !ss->need_keyframe)
            cr_rewriter_switch(&ss->rw);
        ss->cur_layer = -1;
        ss->need_keyframe = 1;
        return 0;
    }
    if (ss->cur_layer == s->layer && !ss->need_keyframe)
        return 1;
    if (ss->target_layer != s->layer && !(ss->cur_layer == s->layer && ss->need_keyframe))
        return 0;
    if (*keyframe < 0)
        *keyframe = s->is_vp8 ? cr_rtp_vp8_is_keyframe(h->payload, h->payload_len)
                              : cr_rtp_h264_is_keyframe(h->payload, h->payload_len);
    if (!*keyframe)
        return 0;
    if (ss->cur_layer != (int8_t)s->layer)
        ss->q_until_us = 0; /* a new layer starts: its keyframe may pass the old one's waiting packets */
    ss->cur_layer = (int8_t)s->layer;
    ss->need_keyframe = 0;
    return 1;
}

/* The pacing band of a packet: audio, or video in a keyframe (from the packet that starts it to the
 * one with the marker bit, which ends the frame) or a delta frame. *keyframe: whether this packet
 * starts a keyframe, computed once here for the gate too. */
static int band_of(cr_pub_stream_t *s, const cr_rtp_hdr_t *h, int *keyframe)
{
    if (s->kind != CR_SDP_VIDEO)
        return CR_BAND_AUDIO;
    *keyframe = s->is_vp8 ? cr_rtp_vp8_is_keyframe(h->payload, h->payload_len)
                          : cr_rtp_h264_is_keyframe(h->payload, h->payload_len);
    if (*keyframe)
        s->in_key = 1;
    int band = s->in_key ? CR_BAND_KEY : CR_BAND_DELTA;
    if (h->marker)
        s->in_key = 0;
    return band;
}

static void forward(struct cr_worker *w, cr_peer_t *pub, cr_pub_stream_t *s, const cr_rtp_hdr_t *h)
{
    int keyframe = -1;
    if (s->kind == CR_SDP_VIDEO ? pub->video_muted : pub->audio_muted)
        return;
    int band = band_of(s, h, &keyframe);
    cr_list_t *it, *tmp;
    cr_list_foreach_safe(it, tmp, &pub->fanout)
    {
        cr_peer_t *sub = cr_container_of(it, cr_peer_t, fanout_link);
        if (sub->state != CR_PEER_CONNECTED)
            continue;
        cr_sub_stream_t *ss = sub_stream_of_kind(sub, s->kind);
        if (ss == NULL || (s->kind == CR_SDP_VIDEO && !video_gate(ss, s, &keyframe, h)))
            continue;
        send_rtp(w, sub, ss, h, band, w->rx_us); /* the kernel receive time, as on the unpaced path */
        CR_STAT_ADD(w, forwarded, 1);
    }
}

/* RFC 3550 appendix A.1 (simplified: no probation) and A.8 interarrival jitter. */
static void update_receive_stats(cr_pub_stream_t *s, const cr_rtp_hdr_t *h, uint64_t now_us)
{
    if (!s->seq_started) {
        s->seq_started = 1;
        s->base_seq = h->seq;
        s->max_seq = h->seq;
        s->cycles = 0;
    } else {
        uint16_t delta = (uint16_t)(h->seq - s->max_seq);
        if (delta != 0 && delta < 0x8000) {
            if (h->seq < s->max_seq)
                s->cycles += 65536;
            s->max_seq = h->seq;
        }
    }
    s->received++;
    uint32_t arrival = (uint32_t)(now_us * s->clock_rate / 1000000u);
    uint32_t transit = arrival - h->ts;
    if (s->received > 1) {
        int32_t d = (int32_t)(transit - s->last_transit);
        if (d < 0)
            d = -d;
        s->jitter_q4 += (uint32_t)d - ((s->jitter_q4 + 8) >> 4);
    }
    s->last_transit = transit;
}

static void bind_ssrc(cr_pub_stream_t *s, uint32_t ssrc)
{
    s->ssrc = ssrc;
    s->seq_started = 0;
    s->received = 0;
    s->expected_prior = 0;
    s->received_prior = 0;
    s->have_sr = 0;
}

/* Finds the stream of a packet. A new SSRC is bound by its rtp-stream-id (simulcast, RFC 8852) or,
 * for a stream without rid, by payload type (when the offer announced no SSRC, or it changed). */
static cr_pub_stream_t *pub_stream_for(cr_peer_t *p, const cr_rtp_hdr_t *h)
{
    for (unsigned i = 0; i < p->n_pub; i++)
        if (p->pub[i].ssrc == h->ssrc)
            return &p->pub[i];
    const uint8_t *rid;
    size_t rid_len;
    if (p->rid_ext_id != 0 && cr_rtp_ext_find(h, p->rid_ext_id, &rid, &rid_len) == 0) {
        for (unsigned i = 0; i < p->n_pub; i++) {
            if (strlen(p->pub[i].rid) == rid_len && memcmp(p->pub[i].rid, rid, rid_len) == 0) {
                bind_ssrc(&p->pub[i], h->ssrc);
                return &p->pub[i];
            }
        }
        return NULL;
    }
    for (unsigned i = 0; i < p->n_pub; i++) {
        if (p->pub[i].rid[0] == '\0' && p->pub[i].pt == h->payload_type) {
            bind_ssrc(&p->pub[i], h->ssrc);
            return &p->pub[i];
        }
    }
    return NULL;
}

static void publisher_rtp(struct cr_worker *w, cr_peer_t *p, const uint8_t *pkt, size_t len)
{
    cr_rtp_hdr_t h;
    if (cr_rtp_parse(pkt, len, &h) != 0) {
        CR_STAT_ADD(w, drop_malformed, 1);
        return;
    }
    cr_pub_stream_t *s = pub_stream_for(p, &h);
    if (s == NULL) {
        CR_STAT_ADD(w, drop_malformed, 1); /* unknown payload type, e.g. rtx not negotiated */
        return;
    }
    update_receive_stats(s, &h, w->now_us);
    s->last_pkt_us = w->now_us;
    /* What one copy costs a subscriber's link: the header the relay writes, the payload, and
     * CR_WIRE_OVERHEAD. Budgets are link capacities, so the layers' rates must be wire rates (audio's
     * small packets carry 40 % more on the wire than in RTP). */
    s->bytes += CR_RTP_HDR_MIN + h.payload_len + CR_WIRE_OVERHEAD;
    cr_history_put(&s->hist, h.seq, pkt, len, w->now_us);
    forward(w, p, s, &h);
}

/* --- RTCP from peers --- */

static void publisher_rtcp(cr_peer_t *p, const cr_rtcp_pkt_t *r, uint64_t now_us)
{
    cr_rtcp_sr_t sr;
    if (r->type != CR_RTCP_SR || cr_rtcp_sr_parse(r, &sr) != 0)
        return;
    for (unsigned i = 0; i < p->n_pub; i++) {
        if (p->pub[i].ssrc == sr.ssrc) {
            p->pub[i].have_sr = 1;
            p->pub[i].sr_ntp = sr.ntp;
            p->pub[i].sr_rtp = sr.rtp_ts;
            p->pub[i].sr_recv_us = now_us;
        }
    }
}

static void answer_nack(struct cr_worker *w, cr_peer_t *sub, const cr_rtcp_pkt_t *r)
{
    uint16_t seqs[CR_NACK_MAX];
    uint32_t sender, media;
    cr_peer_t *pub = sub->source;
    int n = cr_rtcp_nack_parse(r, seqs, CR_NACK_MAX);
    if (n <= 0 || pub == NULL || cr_rtcp_fb_ssrcs(r, &sender, &media) != 0)
        return;
    cr_sub_stream_t *ss = NULL;
    for (unsigned i = 0; i < sub->n_sub; i++)
        if (sub->sub[i].ssrc == media)
            ss = &sub->sub[i];
    if (ss == NULL)
        return;
    cr_pub_stream_t *ps = NULL;
    for (unsigned i = 0; i < pub->n_pub; i++)
        if (pub->pub[i].kind == ss->kind && pub->pub[i].ssrc == ss->rw.src_ssrc)
            ps = &pub->pub[i];
    CR_STAT_ADD(w, nacks_in, 1);
    sub->nacks_in++;
    int self_dropped = 0;
    for (int i = 0; i < n && ps != NULL; i++) {
        uint16_t src_seq;
        size_t len;
        cr_rtp_hdr_t h;
        if (cr__pace_was_dropped(w, ss->ssrc, seqs[i])) {
            self_dropped = 1; /* our pacer dropped it: resending would only feed the congestion */
            continue;
        }
        if (cr__pace_is_waiting(w, ss->ssrc, seqs[i]))
            continue; /* still in our pacer (a later packet of a higher band overtook it): it comes */
        if (cr_rewriter_unmap_seq(&ss->rw, seqs[i], &src_seq) != 0)
            continue;
        const uint8_t *pkt = cr_history_get(&ps->hist, src_seq, w->now_us, 1000000u, &len);
        if (pkt == NULL || cr_rtp_parse(pkt, len, &h) != 0)
            continue;
        /* The relay sent it, so it was lost on the way: a loss on the subscriber's link, counted at
         * the time it was sent (else about when it arrived: history keeps that). */
        uint64_t sent = cr__pace_sent_at(w, ss->ssrc, seqs[i]);
        cr__sched_on_nack(w, sub, ss, seqs[i], sent ? sent : ps->hist.slots[src_seq & (ps->hist.n_slots - 1)].put_us);
        send_rtp(w, sub, ss, &h, CR_BAND_RTX, 0);
        sub->retransmits++;
        CR_STAT_ADD(w, retransmits, 1);
    }
    if (self_dropped && ss->kind == CR_SDP_VIDEO && !ss->need_keyframe) {
        /* What follows a dropped packet cannot be decoded: forward nothing more until a keyframe
         * (asked for now), numbered on from here so that only the dropped packets are missing. */
        ss->need_keyframe = 1;
        cr_rewriter_switch(&ss->rw);
        cr__fanout_request_target(sub);
    }
}

/* A receiver report block about one of our streams: loss, jitter, and the round-trip time from
 * LSR/DLSR when it echoes our last SR (RFC 3550 section 6.4.1). */
static void subscriber_report(struct cr_worker *w, cr_peer_t *p, const cr_rtcp_pkt_t *r)
{
    cr_rtcp_report_block_t b;
    for (unsigned i = 0; cr_rtcp_report_block(r, i, NULL, &b) == 0; i++) {
        for (unsigned k = 0; k < p->n_sub; k++) {
            cr_sub_stream_t *ss = &p->sub[k];
            if (ss->ssrc != b.ssrc)
                continue;
            ss->fraction_lost = b.fraction_lost;
            ss->jitter = b.jitter;
            if (b.lsr != 0 && b.lsr == ss->last_sr_mid) {
                uint64_t dlsr_us = (uint64_t)b.dlsr * 1000000u / 65536u;
                uint64_t since = w->now_us - ss->last_sr_sent_us;
                ss->rtt_us = since > dlsr_us ? (uint32_t)(since - dlsr_us) : 0;
            }
            cr__sched_on_report(w, p, ss, b.fraction_lost, b.ext_high_seq);
        }
    }
}

static void subscriber_rtcp(struct cr_worker *w, cr_peer_t *p, const cr_rtcp_pkt_t *r)
{
    cr_rtcp_remb_t remb;
    if (r->type == CR_RTCP_RR || r->type == CR_RTCP_SR) {
        subscriber_report(w, p, r);
    } else if (r->type == CR_RTCP_PSFB && r->count == CR_RTCP_PSFB_AFB) {
        if (cr_rtcp_remb_parse(r, &remb) == 0) {
            p->remb_bps = remb.bitrate_bps;
            p->remb_us = w->now_us;
        }
    } else if (r->type == CR_RTCP_RTPFB && r->count == CR_RTCP_RTPFB_NACK) {
        answer_nack(w, p, r);
    } else if (r->type == CR_RTCP_RTPFB && r->count == CR_RTCP_RTPFB_TWCC) {
        if (cr__twcc_feedback(w, p, r) != 0)
            CR_STAT_ADD(w, drop_malformed, 1);
    } else if (r->type == CR_RTCP_PSFB && (r->count == CR_RTCP_PSFB_PLI || r->count == CR_RTCP_PSFB_FIR)) {
        p->kf_requests_in++;
        CR_STAT_ADD(w, kf_requests_in, 1);
        cr__fanout_request_target(p);
    }
}

static void handle_rtcp(struct cr_worker *w, cr_peer_t *p, uint8_t *pkt, size_t len)
{
    int err = cr_srtp_unprotect_rtcp(p->srtp, pkt, &len);
    if (err != 0) {
        if (err == CR_EREPLAY)
            CR_STAT_ADD(w, drop_replay, 1);
        else
            CR_STAT_ADD(w, drop_srtp_auth, 1);
        return;
    }
    /* Authenticated traffic from the peer proves it is there. libnice (webrtcbin) keeps a session
     * alive with binding indications, not the requests RFC 7675 counts, so this matters. */
    p->last_consent_us = w->now_us;
    const uint8_t *src = pkt, *end = pkt + len;
    cr_rtcp_pkt_t r;
    while ((err = cr_rtcp_next(&src, end, &r)) == 1) {
        if (p->role == CR_PEER_PUBLISHER)
            publisher_rtcp(p, &r, w->now_us);
        else
            subscriber_rtcp(w, p, &r);
    }
    if (err < 0)
        CR_STAT_ADD(w, drop_malformed, 1);
}

void cr__media_input(struct cr_worker *w, cr_peer_t *p, uint8_t *pkt, size_t len)
{
    if (p->state != CR_PEER_CONNECTED)
        return;
    p->packets_in++;
    p->bytes_in += len;
    if (cr_rtp_is_rtcp(pkt, len) == 1) {
        handle_rtcp(w, p, pkt, len);
        return;
    }
    if (p->role != CR_PEER_PUBLISHER) {
        CR_STAT_ADD(w, drop_malformed, 1); /* subscribers send no media (until issue 4) */
        return;
    }
    int err = cr_srtp_unprotect(p->srtp, pkt, &len);
    if (err != 0) {
        if (err == CR_EREPLAY)
            CR_STAT_ADD(w, drop_replay, 1);
        else
            CR_STAT_ADD(w, drop_srtp_auth, 1);
        return;
    }
    p->last_consent_us = w->now_us;
    publisher_rtp(w, p, pkt, len);
}
