/*
 * Fuzz target for RTCP: walks the compound packet and calls every parser that applies to each
 * sub-packet, TWCC with a callback that touches what it is given.
 */
#include <stddef.h>
#include <stdint.h>

#include "cr_rtcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void twcc_cb(void *arg, uint16_t seq, int received, int32_t delta_250us)
{
    volatile uint32_t *sink = arg;
    *sink += seq + (uint32_t)received + (uint32_t)delta_250us;
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
