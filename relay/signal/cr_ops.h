/*
 * The operator's view of a running relay, refreshed once a second on the control thread
 * (cr_ops_tick from cr_relay_poll): per school link, classroom link and class the current figures
 * and a ten-minute history, alerts (as event-log events), and the lesson accumulators that become
 * reports when a class ends. /metrics, the /ws "ops" subscription and `classrelay status` read it.
 *
 * Links come from the participants' token claims (school, classroom id) until the bandwidth
 * scheduler's topology lands; cr_ops_link_plan() is where the scheduler reports capacity, estimates,
 * allocations and floors.
 */
#ifndef CR_OPS_H
#define CR_OPS_H

#include <jansson.h>
#include <stdint.h>

#include "cr_relay.h"

#define CR_OPS_HISTORY 600     /* seconds of history per entity */
#define CR_OPS_ENTITIES 512    /* schools + classrooms + classes tracked (beyond: not tracked) */
#define CR_OPS_SCHOOL_BPS 1000000000.0 /* default link capacities (DESIGN.md) until the topology */
#define CR_OPS_CLASSROOM_BPS 100000000.0
#define CR_OPS_SILENT_S 3      /* a subscriber silent this long (or 1.5x its usual gap) counts as gone */

enum cr_ops_kind { CR_OPS_SCHOOL = 0, CR_OPS_CLASSROOM = 1, CR_OPS_CLASS = 2 };

/** Current figures of one school link, classroom link or class. */
typedef struct cr_ops_entity {
    enum cr_ops_kind kind;
    char school[65];    /* school and classroom links: the school ("unknown" without a claim) */
    char id[65];        /* the classroom or class id; the school id for a school */
    char class_id[65];  /* classroom: the class it attends now ("" if none) */
    double capacity_bps;  /* configured (or the default) */
    double estimate_bps;  /* from receiver estimates (REMB) or the scheduler; 0 = unknown */
    double allocated_bps; /* from the scheduler; < 0 = no scheduler */
    double floor_bps;     /* from the scheduler; 0 = none */
    double bps;           /* actual, relay -> link (class: what its publishers send) */
    double up_bps;        /* link -> relay (return feeds) */
    double loss;          /* fraction lost, worst receiver */
    double rtt_ms, jitter_ms;
    unsigned subscribers; /* WHEP sessions */
    unsigned publishers;
    int present;          /* seen in the last tick */
    int silent;           /* classroom: every session silent for CR_OPS_SILENT_S (killed?) */
    int64_t last_seen_s;
} cr_ops_entity_t;

/** Called once a second (and harmless more often) with the current Unix time. */
void cr_ops_tick(cr_relay_t *r, int64_t now_s);

/** The entities known (present now or seen in the last ten minutes); borrowed until the next tick. */
size_t cr_ops_entities(cr_relay_t *r, const cr_ops_entity_t **out);

/**
 * History of one entity as JSON {"t":[...],"bps":[...],"loss":[...],"rtt_ms":[...]} over the last
 * `seconds` (<= CR_OPS_HISTORY), oldest first; NULL if unknown. New reference.
 */
json_t *cr_ops_history(cr_relay_t *r, enum cr_ops_kind kind, const char *school, const char *id, unsigned seconds);

/** The whole picture as JSON for the dashboard and `classrelay status` (new reference). */
json_t *cr_ops_snapshot_json(cr_relay_t *r);

/**
 * For the bandwidth scheduler: plan figures of a link (classroom NULL: the school link). Negative
 * values leave a figure unchanged. Returns 0 or CR_ENOTFOUND.
 */
int cr_ops_link_plan(cr_relay_t *r, const char *school, const char *classroom, double capacity_bps,
                     double estimate_bps, double allocated_bps, double floor_bps);

/** Kind names: "school", "classroom", "class". */
const char *cr_ops_kind_name(enum cr_ops_kind k);

#endif
