/*
 * Per-SSRC cryptographic state of a session (RFC 3711 section 3.2.3): fixed tables, the packet index
 * estimation of section 3.3.1 and the replay windows of section 3.3.2. Lookups scan at most
 * CR_SRTP_*_SSRCS entries; a session carries two or three SSRCs each way, so a scan beats a hash.
 */
#include <string.h>

#include "cr_err.h"
#include "cr_srtp_int.h"

struct cr__srtp_tx *cr__srtp_tx_get(cr_srtp_t *s, uint32_t ssrc)
{
    for (unsigned i = 0; i < s->n_tx; i++)
        if (s->tx[i].ssrc == ssrc)
            return &s->tx[i];
    /* Never evicted: see cr_srtp.h. */
    if (s->n_tx == CR_SRTP_TX_SSRCS)
        return NULL;
    struct cr__srtp_tx *t = &s->tx[s->n_tx++];
    memset(t, 0, sizeof(*t));
    t->ssrc = ssrc;
    return t;
}

struct cr__srtp_rx *cr__srtp_rx_find(cr_srtp_t *s, uint32_t ssrc)
{
    for (unsigned i = 0; i < s->n_rx; i++)
        if (s->rx[i].ssrc == ssrc)
            return &s->rx[i];
    return NULL;
}

/* The least recently authenticated inbound entry, or NULL if none has been silent long enough. */
static const struct cr__srtp_rx *rx_stale(const cr_srtp_t *s)
{
    const struct cr__srtp_rx *lru = &s->rx[0];
    for (unsigned i = 1; i < s->n_rx; i++)
        if (s->rx[i].last_use < lru->last_use)
            lru = &s->rx[i];
    return s->rx_clock - lru->last_use >= CR_SRTP_RX_STALE ? lru : NULL;
}

int cr__srtp_rx_room(const cr_srtp_t *s)
{
    if (s->n_rx < CR_SRTP_RX_SSRCS || rx_stale(s) != NULL)
        return 0;
    return CR_EFULL;
}

struct cr__srtp_rx *cr__srtp_rx_add(cr_srtp_t *s, uint32_t ssrc)
{
    /* Evicting forgets that SSRC's replay window: if it came back, its old packets would pass once
     * more. Hence the staleness rule (cr_srtp.h) rather than plain LRU. */
    struct cr__srtp_rx *r =
        s->n_rx < CR_SRTP_RX_SSRCS ? &s->rx[s->n_rx++] : (struct cr__srtp_rx *)rx_stale(s);
    memset(r, 0, sizeof(*r));
    r->ssrc = ssrc;
    return r;
}

/*
 * Section 3.3.1 with s_l and ROC taken from the highest index so far: the guess among ROC - 1, ROC and
 * ROC + 1 that puts the index nearest to it. While the highest index is at most 2^15 the rollover
 * counter is 0 whatever the sequence number, as in libsrtp (srtp_rdbx_estimate_index), so that a first
 * sequence number above 2^15 is not taken for the end of a rollover counter -1.
 */
uint64_t cr__srtp_estimate(uint64_t top, uint16_t seq)
{
    uint64_t roc = top >> 16;
    uint16_t s_l = (uint16_t)top;
    if (s_l < 0x8000u) {
        if (seq > s_l + 0x8000u && roc > 0)
            roc--;
    } else if (seq < s_l - 0x8000u) {
        roc++;
    }
    return roc << 16 | seq;
}

int cr__srtp_replay_check(const uint64_t *bits, unsigned words, unsigned window, int seen, uint64_t top,
                          uint64_t index)
{
    if (!seen || index > top)
        return 0;
    if (top - index >= window)
        return CR_EREPLAY; /* too old to tell */
    return (bits[(index >> 6) % words] >> (index & 63)) & 1 ? CR_EREPLAY : 0;
}

/* RFC 6479's ring: moving the top into a new word clears the words it passes (all, past a whole ring). */
void cr__srtp_replay_add(uint64_t *bits, unsigned words, uint8_t *seen, uint64_t *top, uint64_t index)
{
    if (!*seen) {
        memset(bits, 0, words * sizeof(*bits));
        *top = index;
        *seen = 1;
    } else if (index > *top) {
        uint64_t from = *top >> 6, to = index >> 6;
        uint64_t n = to - from < words ? to - from : words;
        for (uint64_t i = 1; i <= n; i++)
            bits[(from + i) % words] = 0;
        *top = index;
    }
    bits[(index >> 6) % words] |= UINT64_C(1) << (index & 63);
}
