/*
 * Read-only snapshots of the control plane for metrics, the operator dashboard, `classrelay status`
 * and lesson reports: classes, and sessions joined with their worker's per-peer figures. Copies, so
 * callers never hold pointers into the registry. Control thread only, like cr_relay.h.
 */
#ifndef CR_RELAY_STATS_H
#define CR_RELAY_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "cr_class.h"
#include "cr_relay.h"
#include "cr_worker.h"

/** A class as the dashboard sees it. */
typedef struct cr_relay_class_snap {
    cr_class_desc_t d;     /* id, kind, title, school, teacher, invited, state, start, end */
    unsigned publishers;   /* WHIP sessions */
    unsigned subscribers;  /* WHEP sessions */
    unsigned participants; /* with a session or a WebSocket */
    int teacher_publishing;
    char teacher_id[CR_AUTH_ID_MAX + 1]; /* the participant publishing the main source, "" if none */
    unsigned worker;
} cr_relay_class_snap_t;

/** A WHIP/WHEP session with its owner and, once its worker published them, its figures. */
typedef struct cr_relay_session_snap {
    char resource_id[CR_RESOURCE_ID_LEN + 1];
    char class_id[CR_CLASS_ID_MAX + 1];
    char participant[CR_AUTH_ID_MAX + 1];
    char school[CR_AUTH_ID_MAX + 1]; /* the token's school claim, "" if none */
    char name[CR_AUTH_NAME_MAX + 1];
    enum cr_role role;           /* the owner's role */
    enum cr_peer_role peer_role; /* publisher (WHIP) or subscriber (WHEP) */
    int connected;               /* ICE + DTLS done */
    int is_main;                 /* publisher of the class's main source */
    uint64_t created_us;         /* cr_now_us() at creation */
    int have_stats;              /* st is filled (the worker has published it) */
    cr_peer_stats_t st;
} cr_relay_session_snap_t;

/** Copies up to max classes into out; returns how many the relay has (may exceed max). */
size_t cr_relay_class_snaps(cr_relay_t *r, cr_relay_class_snap_t *out, size_t max);

/** Copies up to max sessions into out (sorted by class, then participant); returns how many exist. */
size_t cr_relay_session_snaps(cr_relay_t *r, cr_relay_session_snap_t *out, size_t max);

/** The number of media workers, and worker i's counters (i < that number; borrowed). */
unsigned cr_relay_worker_count(const cr_relay_t *r);
const cr_worker_stats_t *cr_relay_worker_stats(const cr_relay_t *r, unsigned i);

/** Refusals so far with API error code `code` (cr_api_err.h), 0 for an unknown code. */
uint64_t cr_relay_refusals(const cr_relay_t *r, int code);

/**
 * Checks a request for the operator views (/api/ops, /api/reports, the /ws ops subscription): a
 * bearer token (auth: "Bearer <token>", or the bare
 * token when bare is set) with role operator or admin, from any peer (the views change nothing; loopback is
 * accepted for later use). Returns 0, or the API code, counted as a
 * refusal, with a reason in detail.
 */
int cr_relay_check_operator(cr_relay_t *r, const char *auth, int bare, int loopback, char *detail, size_t cap);

/** The configuration the relay runs with (borrowed). */
const cr_conf_t *cr_relay_conf(const cr_relay_t *r);

#endif
