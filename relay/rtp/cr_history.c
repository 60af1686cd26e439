#include "cr_history.h"

#include <stdlib.h>
#include <string.h>

#include "cr_err.h"

/* 65536 slots cover the whole 16-bit sequence space, so larger rings could never be filled. */
#define CR_HISTORY_MAX_SLOTS 65536u

int cr_history_init(cr_history_t *h, uint32_t n_slots, uint32_t slot_size)
{
    *h = (cr_history_t){0};
    /* slot_size must fit the slots' 16-bit length field. */
    if (n_slots == 0 || n_slots > CR_HISTORY_MAX_SLOTS || slot_size == 0 || slot_size > UINT16_MAX)
        return CR_EINVAL;
    uint32_t n = 1;
    while (n < n_slots)
        n <<= 1;
    /* A power of two that divides 65536 keeps seq & (n - 1) continuous across the 16-bit wrap. */
    h->slots = calloc(n, sizeof(*h->slots));
    h->data = malloc((size_t)n * slot_size);
    if (h->slots == NULL || h->data == NULL) {
        cr_history_dispose(h);
        return CR_ENOMEM;
    }
    h->n_slots = n;
    h->slot_size = slot_size;
    return 0;
}

void cr_history_dispose(cr_history_t *h)
{
    free(h->slots);
    free(h->data);
    *h = (cr_history_t){0};
}

int cr_history_put(cr_history_t *h, uint16_t seq, const uint8_t *pkt, size_t len, uint64_t now_us)
{
    if (h->slots == NULL || now_us == 0 || (pkt == NULL && len > 0))
        return CR_EINVAL;
    if (len > h->slot_size)
        return CR_ETOOBIG;
    uint32_t idx = seq & (h->n_slots - 1);
    if (len > 0)
        memcpy(h->data + (size_t)idx * h->slot_size, pkt, len);
    h->slots[idx] = (cr_history_slot_t){.put_us = now_us, .seq = seq, .len = (uint16_t)len};
    return 0;
}

const uint8_t *cr_history_get(const cr_history_t *h, uint16_t seq, uint64_t now_us,
                              uint64_t max_age_us, size_t *len)
{
    if (h->slots == NULL)
        return NULL;
    uint32_t idx = seq & (h->n_slots - 1);
    const cr_history_slot_t *s = &h->slots[idx];
    /* A slot holding another seq means ours was overwritten n_slots (or a multiple) ago. */
    if (s->put_us == 0 || s->seq != seq)
        return NULL;
    if (max_age_us != 0 && now_us > s->put_us && now_us - s->put_us > max_age_us)
        return NULL;
    *len = s->len;
    return h->data + (size_t)idx * h->slot_size;
}
