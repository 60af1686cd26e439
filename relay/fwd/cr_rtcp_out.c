/*
 * The relay's own RTCP (RFC 3550 section 6): receiver reports (with a REMB ceiling) to publishers,
 * sender reports to subscribers, about once a second; and merged keyframe requests to publishers.
 */
#include <string.h>

#include "cr_rtcp.h"
#include "cr_worker_int.h"

#define CR_RTCP_INTERVAL_US 1000000u
#define CR_REMB_CEILING_BPS 8000000u /* lets browser publishers ramp up to the 1080p layer */
#define CR_CNAME "classrelay"

static void send_rtcp(struct cr_worker *w, cr_peer_t *p, uint8_t *buf, size_t len)
{
    if (cr_srtp_protect_rtcp(p->srtp, buf, &len, CR_PKT_BUF) != 0)
        return;
    cr__worker_send_commit(w, p, len);
}

/* Report block for one publisher stream (RFC 3550 section 6.4.1 and appendix A.3). */
static void report_block(const cr_pub_stream_t *s, uint64_t now_us, cr_rtcp_report_block_t *b)
{
    uint32_t ext_max = s->cycles + s->max_seq;
    uint32_t expected = ext_max - s->base_seq + 1;
    int64_t lost = (int64_t)expected - (int64_t)s->received;
    uint32_t expected_interval = expected - s->expected_prior;
    uint32_t received_interval = s->received - s->received_prior;
    int64_t lost_interval = (int64_t)expected_interval - (int64_t)received_interval;

    memset(b, 0, sizeof(*b));
    b->ssrc = s->ssrc;
    b->cum_lost = lost > 0x7fffff ? 0x7fffff : (lost < -0x800000 ? -0x800000 : (int32_t)lost);
    b->fraction_lost = (expected_interval == 0 || lost_interval <= 0)
                           ? 0
                           : (uint8_t)((lost_interval << 8) / expected_interval);
    b->ext_high_seq = ext_max;
    b->jitter = s->jitter_q4 >> 4;
    if (s->have_sr) {
        b->lsr = (uint32_t)(s->sr_ntp >> 16);
        b->dlsr = (uint32_t)((now_us - s->sr_recv_us) * 65536u / 1000000u);
    }
}

static void publisher_report(struct cr_worker *w, cr_peer_t *p)
{
    cr_rtcp_report_block_t blocks[CR_PEER_MAX_PUB];
    uint32_t ssrcs[CR_PEER_MAX_PUB];
    unsigned n = 0;
    for (unsigned i = 0; i < p->n_pub; i++) {
        cr_pub_stream_t *s = &p->pub[i];
        if (!s->seq_started)
            continue;
        report_block(s, w->now_us, &blocks[n]);
        s->expected_prior = s->cycles + s->max_seq - s->base_seq + 1;
        s->received_prior = s->received;
        ssrcs[n++] = s->ssrc;
    }
    uint8_t *buf = cr__worker_send_slot(w);
    size_t cap = CR_PKT_BUF - CR_SRTP_MAX_TRAILER, off = 0;
    int r = cr_rtcp_write_rr(buf, cap, p->rtcp_ssrc, blocks, n);
    if (r < 0)
        return;
    off += (size_t)r;
    r = cr_rtcp_write_sdes_cname(buf + off, cap - off, p->rtcp_ssrc, CR_CNAME);
    if (r < 0)
        return;
    off += (size_t)r;
    if (n > 0) {
        r = cr_rtcp_write_remb(buf + off, cap - off, p->rtcp_ssrc, CR_REMB_CEILING_BPS, ssrcs, n);
        if (r > 0)
            off += (size_t)r;
    }
    send_rtcp(w, p, buf, off);
}

/* An SR per subscriber stream. Its NTP/RTP pair is the publisher's (carried forward by the time
 * since that SR arrived) so audio and video keep the publisher's lip-sync through the relay. */
static void subscriber_reports(struct cr_worker *w, cr_peer_t *p)
{
    cr_peer_t *pub = p->source;
    if (pub == NULL)
        return;
    for (unsigned i = 0; i < p->n_sub; i++) {
        cr_sub_stream_t *ss = &p->sub[i];
        const cr_pub_stream_t *ps = NULL;
        for (unsigned j = 0; j < pub->n_pub; j++)
            if (pub->pub[j].ssrc == ss->rw.src_ssrc && pub->pub[j].have_sr)
                ps = &pub->pub[j];
        if (ps == NULL || !ss->rw.started)
            continue;
        uint64_t elapsed = w->now_us - ps->sr_recv_us;
        cr_rtcp_sr_t sr = {
            .ssrc = ss->ssrc,
            .ntp = ps->sr_ntp + (elapsed << 32) / 1000000u,
            .rtp_ts = cr_rewriter_map_ts(&ss->rw, ps->sr_rtp + (uint32_t)(elapsed * ps->clock_rate / 1000000u)),
            .packet_count = ss->packets,
            .octet_count = ss->octets,
        };
        /* Toward a subscriber: charged to its links in the RTCP band (never waits). */
        cr__tx_t tx;
        uint8_t *buf = cr__pace_begin(w, p, CR_BAND_RTCP, 64, &tx);
        if (buf == NULL)
            continue;
        size_t cap = CR_PKT_BUF - CR_SRTP_MAX_TRAILER;
        int r = cr_rtcp_write_sr(buf, cap, &sr);
        int r2 = r < 0 ? -1 : cr_rtcp_write_sdes_cname(buf + r, cap - (size_t)r, ss->ssrc, CR_CNAME);
        size_t len = (size_t)(r + r2);
        if (r2 < 0 || cr_srtp_protect_rtcp(p->srtp, buf, &len, CR_PKT_BUF) != 0) {
            cr__pace_cancel(w, &tx);
            continue;
        }
        ss->last_sr_mid = (uint32_t)(sr.ntp >> 16);
        ss->last_sr_sent_us = w->now_us;
        cr__pace_commit(w, p, &tx, len, 0);
    }
}

void cr__rtcp_tick(struct cr_worker *w, cr_peer_t *p)
{
    if (w->now_us < p->next_rtcp_us || !p->has_addr)
        return;
    p->next_rtcp_us = w->now_us + CR_RTCP_INTERVAL_US;
    if (p->role == CR_PEER_PUBLISHER)
        publisher_report(w, p);
    else
        subscriber_reports(w, p);
}

void cr__keyframe_tick(struct cr_worker *w, cr_peer_t *pub)
{
    for (unsigned i = 0; i < pub->n_pub; i++) {
        cr_pub_stream_t *s = &pub->pub[i];
        if (!s->kf_pending || s->ssrc == 0 || w->now_us - s->last_kf_req_us < CR_KEYFRAME_INTERVAL_US)
            continue;
        s->kf_pending = 0;
        s->last_kf_req_us = w->now_us;
        uint8_t *buf = cr__worker_send_slot(w);
        size_t cap = CR_PKT_BUF - CR_SRTP_MAX_TRAILER;
        int r = cr_rtcp_write_rr(buf, cap, pub->rtcp_ssrc, NULL, 0);
        if (r < 0)
            continue;
        int r2 = cr_rtcp_write_pli(buf + r, cap - (size_t)r, pub->rtcp_ssrc, s->ssrc);
        if (r2 < 0)
            continue;
        send_rtcp(w, pub, buf, (size_t)(r + r2));
        CR_STAT_ADD(w, kf_requests_sent, 1);
    }
}
