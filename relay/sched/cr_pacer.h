/*
 * The pacer: nested token buckets, one per school link and one per classroom link, with strict
 * priority bands (DESIGN.md, "Pacing"). A keyframe copied to 30 classrooms of one school leaves at
 * the school's budget rate, interleaved classroom by classroom, instead of in one burst.
 *
 * The pacer stores small handles, never packet bytes: the caller enqueues (classroom, band, handle,
 * size) where handle is its own reference (e.g. an index into its buffer pool), and dequeue tells it
 * which handles to send now and which to drop. The caller keeps each packet until the pacer returns
 * its handle exactly once, as sent, dropped or evicted.
 *
 * Rules:
 *   - Bands are served in order audio > RTCP > retransmissions > keyframes > delta frames > padding,
 *     round-robin among a school's classrooms within a band.
 *   - Audio and RTCP never wait for tokens: they go at once and the buckets go into debt, which the
 *     video behind them repays (the allocator reserved their rate). They are never dropped for age;
 *     when a classroom's queue is full, an audio or RTCP item evicts the oldest item of the lowest
 *     video band instead.
 *   - Video (retransmissions, keyframes, delta frames, padding) needs tokens in both its classroom's
 *     and its school's bucket; an item that waited longer than max_wait_us is dropped.
 *   - Rates are the links' budgets (cr_link_t.budget_bps) read at each call, times a pacing factor;
 *     a bucket holds at most max(min_burst_bytes, rate x burst time). Budgets are rates on the wire,
 *     so each item costs its size plus packet_overhead (the headers a link's queue counts); the
 *     links' sent_bytes counters stay in item sizes. While a probe runs on a
 *     classroom (cr_pacer_probe) its rate is raised to the probe's and released items carry its id.
 *
 * Call cr_pacer_dequeue when cr_pacer_next_us says (at the latest), and after enqueueing.
 */
#ifndef CR_PACER_H
#define CR_PACER_H

#include <stdint.h>

#include "cr_topo.h"

/** Priority bands, highest first. */
enum cr_band {
    CR_BAND_AUDIO = 0,
    CR_BAND_RTCP = 1,
    CR_BAND_RTX = 2,     /* retransmissions answering NACKs */
    CR_BAND_KEY = 3,     /* packets of keyframes */
    CR_BAND_DELTA = 4,   /* other video packets */
    CR_BAND_PADDING = 5, /* probes */
};
#define CR_BAND_COUNT 6

/** Tunables; cr_pacer_params_default fills the values in brackets. */
typedef struct cr_pacer_params {
    uint32_t max_items;        /** items queued in all classrooms [16384] */
    uint32_t room_max_items;   /** items queued for one classroom [1024] */
    uint64_t max_wait_us;      /** video that waited this long is dropped [200 ms] */
    uint64_t school_burst_us;  /** school bucket depth, as time at its rate [250 us] */
    uint64_t room_burst_us;    /** classroom bucket depth [2 ms] */
    uint32_t min_burst_bytes;  /** smallest bucket depth [3000] */
    double school_factor;      /** school pacing rate = budget x this [1.0] */
    double room_factor;        /** classroom pacing rate = budget x this [1.0] */
    uint32_t packet_overhead;  /** bytes a packet adds on the wire beyond its size: IPv4 + UDP + Ethernet [42] */
} cr_pacer_params_t;

/** One item the caller must act on: send it, or release it unsent. */
typedef struct cr_pacer_out {
    uint32_t handle;   /** the caller's handle, as enqueued */
    uint32_t size;     /** bytes, as enqueued */
    uint32_t room;     /** classroom index */
    uint8_t band;      /** enum cr_band */
    uint8_t dropped;   /** 0: send now; 1: dropped (waited too long, or evicted): release it */
    uint16_t probe_id; /** the classroom's probe cluster when sent during a probe, else 0 */
} cr_pacer_out_t;

/** Counters per band (for the admin API and metrics). */
typedef struct cr_pacer_stats {
    uint64_t sent[CR_BAND_COUNT];
    uint64_t sent_bytes[CR_BAND_COUNT];
    uint64_t dropped_wait[CR_BAND_COUNT]; /* waited longer than max_wait_us */
    uint64_t refused[CR_BAND_COUNT];      /* enqueue found the queue full */
    uint64_t evicted[CR_BAND_COUNT];      /* pushed out by audio or RTCP */
} cr_pacer_stats_t;

typedef struct cr__pacer_item cr__pacer_item_t;
typedef struct cr__pacer_room cr__pacer_room_t;
typedef struct cr__pacer_school cr__pacer_school_t;

/** The pacer. Embedded by its owner (the media worker); cr_pacer_dispose frees its arrays. */
typedef struct cr_pacer {
    cr_pacer_params_t p;
    cr_topo_t *t; /* not owned; must outlive the pacer */
    cr__pacer_item_t *items;
    cr__pacer_room_t *rooms;
    cr__pacer_school_t *schools;
    uint32_t free_head, n_queued;
    uint64_t next_us;
    cr_pacer_stats_t stats;
} cr_pacer_t;

/** Fills p with the defaults given in cr_pacer_params_t's comments. */
void cr_pacer_params_default(cr_pacer_params_t *p);

/**
 * Initializes pc for the classrooms and schools of t (borrowed: it must outlive pc; classrooms may
 * be added to t later, up to its limits). p (copied; NULL = defaults). Allocates its item pool and
 * per-link state once. Returns 0, CR_EINVAL or CR_ENOMEM.
 */
int cr_pacer_init(cr_pacer_t *pc, cr_topo_t *t, const cr_pacer_params_t *p);

/** Frees the arrays. Queued handles are forgotten: drain first (cr_pacer_flush) to release them. */
void cr_pacer_dispose(cr_pacer_t *pc);

/**
 * Queues one packet for a classroom in a band. Returns 0 when queued; 1 when queued and the oldest
 * item of a lower band was evicted to make room (written to *evicted, which the caller releases);
 * CR_EFULL when the packet was refused (the caller releases it; counted); CR_EINVAL on a bad room or
 * band. evicted (caller's) may be NULL only for video bands.
 */
int cr_pacer_enqueue(cr_pacer_t *pc, uint32_t room, enum cr_band band, uint32_t handle, uint32_t size,
                     uint64_t now_us, cr_pacer_out_t *evicted);

/**
 * The fast path for a packet that need not wait: when nothing of its school is queued (so it would
 * overtake nobody) and both its classroom's and its school's buckets hold size bytes, or when it is
 * audio or RTCP (which never wait), charges the buckets, counts it as sent and returns 1: the caller
 * sends it now without enqueueing. Returns 0 when it must be enqueued, CR_EINVAL on a bad room or band.
 */
int cr_pacer_try_send(cr_pacer_t *pc, uint32_t room, enum cr_band band, uint32_t size, uint64_t now_us);

/**
 * Writes up to max items that are due now into out (caller's array): those the buckets allow to
 * send, and video that waited too long (dropped = 1). Returns how many. Call again at once if it
 * returned max.
 */
int cr_pacer_dequeue(cr_pacer_t *pc, uint64_t now_us, cr_pacer_out_t *out, int max);

/** When the next item could be due (now if unknown work remains; UINT64_MAX when idle). */
uint64_t cr_pacer_next_us(const cr_pacer_t *pc);

/**
 * Starts a probe on a classroom: for duration_us its bucket's rate is at least rate_bps and the
 * items it releases carry cluster_id (cr_est_probe_want gives both). The caller enqueues padding
 * (band CR_BAND_PADDING) so that media plus padding reach rate_bps x duration_us.
 */
void cr_pacer_probe(cr_pacer_t *pc, uint32_t room, uint64_t rate_bps, uint64_t duration_us, uint16_t cluster_id,
                    uint64_t now_us);

/** Returns every queued item of a classroom (room < 0: all) as dropped, up to max; returns how many. */
int cr_pacer_flush(cr_pacer_t *pc, int room, cr_pacer_out_t *out, int max);

/** Items queued for a classroom (all bands). */
uint32_t cr_pacer_queued(const cr_pacer_t *pc, uint32_t room);

#endif
