/*
 * Internals of the operator's view shared by cr_ops.c (tick, history), cr_ops_view.c (alerts and the
 * dashboard's JSON) and cr_ops_report.c (lesson reports). Control thread only.
 */
#ifndef CR_OPS_INT_H
#define CR_OPS_INT_H

#include "cr_ops.h"
#include "cr_relay_stats.h"

/* An entity with its ten-minute history (slot = second % CR_OPS_HISTORY, valid when t[slot] matches). */
typedef struct cr__ops_ent {
    cr_ops_entity_t e;
    double remb_max;
    int sched_estimate; /* the scheduler set estimate_bps */
    unsigned n_sessions, n_silent;
    int alerted_silent, alerted_degraded, alerted_floor; /* alert raised for the current episode */
    unsigned bad_s, below_floor_s;                       /* consecutive seconds */
    int was_publishing;                                  /* class: its teacher published last tick */
    int was_present, was_silent;
    int64_t t[CR_OPS_HISTORY];
    float bps[CR_OPS_HISTORY], loss[CR_OPS_HISTORY], rtt[CR_OPS_HISTORY];
    uint16_t subs[CR_OPS_HISTORY];
} cr__ops_ent_t;

/* A session's packets from its peer at the last tick, to notice silence. */
typedef struct cr__ops_prev {
    char resource_id[CR_RESOURCE_ID_LEN + 1];
    uint64_t packets_in;
    int64_t changed_s;
    float gap_s; /* the longest recent interval between two ticks that saw packets (decays) */
} cr__ops_prev_t;

typedef struct cr__ops {
    cr_relay_t *relay;
    int64_t last_tick_s;
    cr__ops_ent_t *ents[CR_OPS_ENTITIES];
    unsigned n;
    cr_ops_entity_t view[CR_OPS_ENTITIES];
    cr__ops_prev_t *prev; /* sorted by resource id */
    size_t n_prev;
    uint64_t refusals_seen;   /* join failures: refusals counted at the last check */
    int64_t refusal_times[8]; /* when the last few refusals were noticed */
    unsigned refusal_head;
    int64_t last_refusal_alert_s;
} cr__ops_t;

extern cr__ops_t cr__ops;

/** The entity (kind, school, id), created when create is set and there is room; NULL otherwise. */
cr__ops_ent_t *cr__ops_find(enum cr_ops_kind kind, const char *school, const char *id, int create);

/** cr_ops_view.c: raises alerts (event-log events at level warn) from the figures of this tick. */
void cr__ops_alerts(cr_relay_t *r, int64_t now);

/** cr_ops_report.c: feeds the lesson accumulators and writes the reports of classes that ended. */
void cr__ops_report_tick(cr_relay_t *r, const cr_relay_session_snap_t *ss, size_t n, int64_t now);

/** cr_ops_report.c: forgets every accumulator. */
void cr__ops_report_reset(void);

/** "ok", "warn", "bad", "lost" or "idle" for an entity's figures. */
const char *cr__ops_health(const cr_ops_entity_t *e);

#endif
