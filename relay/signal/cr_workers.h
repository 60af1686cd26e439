/*
 * The relay's supervised workers, seen from the control plane: which studio sources ([source.<id>])
 * and which recordings ([recording], [class.<id>] record, the admin API) should run now, given the
 * classes' states, and the worker processes that make it so (relay/supervise). Control thread only:
 * cr_workers_poll() runs from the HTTP loop's timer, next to cr_relay_poll().
 *
 * Workers authenticate like any peer: the relay mints each a token with its own secret (ingest: role
 * teacher, sub the class's teacher or "studio"; recorder: role operator, sub "recorder"), passed in
 * the environment (CLASSRELAY_TOKEN), never on the command line where any user could read it.
 */
#ifndef CR_WORKERS_H
#define CR_WORKERS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "cr_conf.h"
#include "cr_metrics.h"
#include "cr_relay.h"

#define CR_WORKERS_MAX 64             /* ingest + recorder processes declared at once */
#define CR_WORKERS_INGEST_LEAD_S 60   /* a timetabled class's source starts this long before start */
#define CR_WORKERS_REC_GRACE_MS 15000 /* a recorder outlives its class's publisher this long */
#define CR_WORKERS_TOKEN_TTL_S (7 * 24 * 3600)

typedef struct cr_workers cr_workers_t;

/**
 * Creates the worker manager for relay r with conf (both borrowed; they outlive it). Checks the
 * recordings directory (created if missing, must be a directory) and finds the client binary
 * (client_path, else classrelay-client next to the relay's executable or in ../client/). Returns 0,
 * or CR_ECONFIG with a reason in err.
 */
int cr_workers_new(cr_workers_t **out, cr_relay_t *r, const cr_conf_t *conf, char *err, size_t err_cap);

/** Stops every worker (recorders finalize their files) and frees. NULL is a no-op. */
void cr_workers_free(cr_workers_t *w);

/** Decides what should run and drives the processes. now_ms: monotonic milliseconds. */
void cr_workers_poll(cr_workers_t *w, uint64_t now_ms);

/**
 * An operator starts (on = 1) or stops (0) the recording of class_id. A start takes effect while the
 * class is live (now, or once it goes live) and lasts until the class ends or a stop; a stop
 * overrides the configuration until the class ends. Returns 0 or an API code (cr_api_err.h) with a
 * reason in detail.
 */
int cr_workers_record(cr_workers_t *w, const char *class_id, int on, char *detail, size_t cap);

/** The recordings directory (absolute), or NULL when recording is off. */
const char *cr_workers_rec_dir(const cr_workers_t *w);

/** {"client":..., "recordings_dir":..., "workers":[{name, kind, class, state, pid, ...}]}. New reference. */
json_t *cr_workers_json(cr_workers_t *w, uint64_t now_ms);

/** The recorder of class_id as JSON (state, pid, restarts), or null when it has none. New reference. */
json_t *cr_workers_recorder_json(cr_workers_t *w, const char *class_id);

/**
 * Adds the workers' families to a metrics registry: classrelay_worker_up, _restarts_total,
 * _starts_total and _backoff, labelled by worker and kind.
 */
void cr_workers_metrics(cr_workers_t *w, cr_metrics_t *m);

#endif
