/*
 * The allocator: which layer of which stream each classroom receives (DESIGN.md, "The bandwidth
 * scheduler").
 *
 *   1. Audio is reserved first, in every classroom and school, and always forwarded.
 *   2. A school's budget is shared among its classrooms: first every classroom's floors (classrooms
 *      of heavier class kinds first when even the floors do not fit), then the rest, up to
 *      school_fill of the budget, by weighted max-min fairness (water-filling) with weights by
 *      class kind, then what the layers' steps left over goes to the classrooms furthest below
 *      their weighted share.
 *   3. Inside a classroom: floors in role order (teacher camera > board/slides > on-stage classroom
 *      > other classrooms), then upgrades one layer at a time, always the one with the most value
 *      per bit (value = role weight x log of the layer's bitrate).
 *   4. Hysteresis on the result: a lower layer applies at once; a higher one only after the
 *      allocation wanted it continuously for a hold time (short for a stream that never went down,
 *      doubled each time an upgrade is undone soon after), one layer at a time. A stream below its
 *      floor jumps to the floor at once. The bits an upgrade waits for are left unused: the pacer
 *      may probe with them (cr_room_t.probe_bps).
 *
 * Re-run on every change (join, leave, layer bitrates, estimates) and at least once a second; a run
 * over a school of 30 classrooms x 3 streams costs a few microseconds. The output is in the tree:
 * cr_sub_t.layer / .reason / .limit, cr_room_t.share_bps, cr_link_t.alloc_bps.
 */
#ifndef CR_ALLOC_H
#define CR_ALLOC_H

#include <stdint.h>

#include "cr_topo.h"

/** Tunables; cr_alloc_params_default fills the values in brackets. */
typedef struct cr_alloc_params {
    /** weight of a classroom by the kind of class it attends
        [synchronous 2, dedicated 3, master 1, network 1] */
    double kind_weight[CR_SKIND_COUNT];
    /** value of a stream by its role [teacher 8, board 4, stage 2, other 1] */
    double role_value[CR_SROLE_COUNT];
    uint64_t first_hold_us;  /** hold before an upgrade of a stream that never went down [300 ms] */
    uint64_t up_hold_us;     /** hold before an upgrade after a downgrade [1.5 s] */
    uint64_t up_gap_us;      /** at least this between two upgrades of one stream [1 s] */
    uint64_t flap_window_us; /** a downgrade this soon after an upgrade doubles the hold [4 s] */
    double school_fill;      /** share of a school's budget that upgrades above the floors may
                                 fill; the rest is the school pacer's room for keyframe bursts [0.9] */
} cr_alloc_params_t;

/** Fills p with the defaults given in cr_alloc_params_t's comments. */
void cr_alloc_params_default(cr_alloc_params_t *p);

/** Refreshes budgets (cr_topo_refresh) and allocates every school. p NULL = the defaults. */
void cr_alloc_run(cr_topo_t *t, const cr_alloc_params_t *p, uint64_t now_us);

/** Allocates one school from its links' current budgets (no refresh). p NULL = the defaults. */
void cr_alloc_school(cr_topo_t *t, const cr_alloc_params_t *p, uint32_t school, uint64_t now_us);

/** "floor", "upgrade", "best layer", "capped by classroom link", ... for enum cr_alloc_reason. */
const char *cr_alloc_reason_name(int reason);

/** "", "classroom link", "school link" for enum cr_alloc_limit. */
const char *cr_alloc_limit_name(int limit);

/**
 * Describes a subscription's allocation for people, e.g. "layer 1: upgrade (capped by school link)"
 * or "off: capped by classroom link". Writes at most len bytes into buf (caller's); returns buf.
 */
char *cr_alloc_describe(const cr_topo_t *t, uint32_t sub, char *buf, unsigned len);

#endif
