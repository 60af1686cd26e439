/*
 * Fuzz target for RTCP: walks the compound packet and calls every parser that applies to each
 * sub-packet, TWCC with a callback that touches what it is given. Every TWCC the parser accepts is
 * also written again with cr_rtcp_write_twcc and read back: the same packets, flags and deltas, or
 * abort (the writer's round-trip property, on whatever chunk layout the input used).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "cr_rtcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void twcc_cb(void *arg, uint16_t seq, int received, int32_t delta_250us)
{
    volatile uint32_t *sink = arg;
    *sink += seq + (uint32_t)received + (uint32_t)delta_250us;
}

/* The statuses one TWCC parse reported, for the round trip. */
typedef struct twcc_seen {
    unsigned n;
    uint16_t seq[65536];
    cr_rtcp_twcc_status_t st[65536];
} twcc_seen_t;

static twcc_seen_t seen, again;
static uint8_t twcc_buf[300000]; /* > 20 + 2 * 65535 / 7 * 2 + 2 * 65535 */

static void twcc_collect(void *arg, uint16_t seq, int received, int32_t delta_250us)
{
    twcc_seen_t *t = arg;
    if (t->n >= 65536)
        abort(); /* more statuses than status_count can announce */
    t->seq[t->n] = seq;
    t->st[t->n].received = (uint8_t)received;
    t->st[t->n].delta_250us = delta_250us;
    t->n++;
}

static void twcc_round_trip(const cr_rtcp_pkt_t *pkt)
{
    cr_rtcp_twcc_t h, h2;
    seen.n = 0;
    if (cr_rtcp_twcc_parse(pkt, &h, twcc_collect, &seen) != 0 || h.status_count == 0)
        return;
    int len = cr_rtcp_write_twcc(twcc_buf, sizeof(twcc_buf), 1, &h, seen.st);
    if (len < 0)
        abort();
    const uint8_t *p = twcc_buf;
    cr_rtcp_pkt_t out;
    again.n = 0;
    if (cr_rtcp_next(&p, twcc_buf + len, &out) != 1 || cr_rtcp_twcc_parse(&out, &h2, twcc_collect, &again) != 0)
        abort();
    if (h2.base_seq != h.base_seq || h2.status_count != h.status_count || h2.reference_time != h.reference_time ||
        h2.fb_pkt_count != h.fb_pkt_count || h2.media_ssrc != h.media_ssrc || again.n != seen.n)
        abort();
    for (unsigned i = 0; i < seen.n; i++)
        if (again.seq[i] != seen.seq[i] || again.st[i].received != seen.st[i].received ||
            again.st[i].delta_250us != seen.st[i].delta_250us)
            abort();
}

static void fuzz_feedback(const cr_rtcp_pkt_t *pkt, volatile uint32_t *sink)
{
    uint32_t s, m;
    uint16_t seqs[64];
    cr_rtcp_fir_entry_t fir[4];
    cr_rtcp_remb_t remb;
    cr_rtcp_twcc_t twcc;
    (void)cr_rtcp_fb_ssrcs(pkt, &s, &m);
    if (pkt->type == CR_RTCP_RTPFB) {
        int n = cr_rtcp_nack_parse(pkt, seqs, 64);
        for (int i = 0; i < n; i++)
            *sink += seqs[i];
        (void)cr_rtcp_twcc_parse(pkt, &twcc, twcc_cb, (void *)sink);
        twcc_round_trip(pkt);
    } else {
        int n = cr_rtcp_fir_parse(pkt, fir, 4);
        for (int i = 0; i < n; i++)
            *sink += fir[i].ssrc;
        if (cr_rtcp_remb_parse(pkt, &remb) == 0)
            *sink += (uint32_t)remb.bitrate_bps;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    cr_rtcp_pkt_t pkt;
    volatile uint32_t sink = 0;
    while (cr_rtcp_next(&p, end, &pkt) == 1) {
        cr_rtcp_sr_t sr;
        cr_rtcp_report_block_t rb;
        uint32_t sender;
        switch (pkt.type) {
        case CR_RTCP_SR:
        case CR_RTCP_RR:
            (void)cr_rtcp_sr_parse(&pkt, &sr);
            for (unsigned i = 0; i <= pkt.count; i++) {
                if (cr_rtcp_report_block(&pkt, i, &sender, &rb) == 0)
                    sink += rb.ssrc + (uint32_t)rb.cum_lost;
            }
            break;
        case CR_RTCP_RTPFB:
        case CR_RTCP_PSFB:
            fuzz_feedback(&pkt, &sink);
            break;
        default:
            /* SDES, BYE, APP and unknown types are skipped, as the relay does. */
            break;
        }
    }
    (void)sink;
    return 0;
}
