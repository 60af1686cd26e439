/*
 * A per-stream history ring of recent plaintext RTP packets, indexed by sequence number, from which
 * the relay answers NACKs (RFC 4585 section 6.2.1). Slots are allocated once at init; put and get
 * never allocate. A newer packet overwrites the slot of the packet n_slots sequence numbers older.
 */
#ifndef CR_HISTORY_H
#define CR_HISTORY_H

#include <stddef.h>
#include <stdint.h>

typedef struct cr_history_slot {
    uint64_t put_us; /* when stored; 0 = empty */
    uint16_t seq;
    uint16_t len;
} cr_history_slot_t;

typedef struct cr_history {
    cr_history_slot_t *slots;
    uint8_t *data; /* n_slots * slot_size bytes */
    uint32_t n_slots; /* a power of two */
    uint32_t slot_size;
} cr_history_t;

/**
 * Allocates a ring of n_slots (rounded up to a power of two, at most 65536) slots of slot_size bytes
 * (1 .. 65535, the range of a slot's len). Returns 0, CR_EINVAL or CR_ENOMEM.
 */
int cr_history_init(cr_history_t *h, uint32_t n_slots, uint32_t slot_size);

/** Frees the ring's memory. Safe on a zeroed or already-disposed ring. */
void cr_history_dispose(cr_history_t *h);

/**
 * Copies packet pkt[0..len) with sequence number seq into its slot. Returns 0 or CR_ETOOBIG if len
 * exceeds slot_size (the packet is then not stored). now_us must be non-zero (CR_EINVAL otherwise,
 * and on a ring that is not initialised).
 */
int cr_history_put(cr_history_t *h, uint16_t seq, const uint8_t *pkt, size_t len, uint64_t now_us);

/**
 * Looks up seq. Returns a view of the stored packet and sets *len, or NULL if it was never stored,
 * was overwritten, or is older than max_age_us (0 = no age limit). The view is valid until the next
 * cr_history_put().
 */
const uint8_t *cr_history_get(const cr_history_t *h, uint16_t seq, uint64_t now_us,
                              uint64_t max_age_us, size_t *len);

#endif
