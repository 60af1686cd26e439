/*
 * The operator dashboard's subscription over /ws (docs/PROTOCOL.md section 4, "ops"): a connection
 * that sends {"type":"ops","token":<operator or admin token>} instead of join receives the operator
 * view (cr_ops_snapshot_json) at once and then every second; {"type":"ops_history","kind":...,
 * "school":...,"entity":...,"seconds":600} answers one link's or class's ten-minute history.
 * Control thread only.
 */
#ifndef CR_WS_OPS_H
#define CR_WS_OPS_H

#include <jansson.h>

#include "cr_relay_int.h"

#define CR_WS_OPS_MAX 32 /* dashboard connections at once */

/**
 * Handles an "ops" or "ops_history" message from listener l. Returns 0 with *reply set (new
 * reference), or an API error code with a reason in detail.
 */
int cr__ws_ops(cr_relay_t *r, cr__listener_t *l, json_t *msg, json_t **reply, char *detail, size_t cap);

/** 1 if l subscribed to the operator view (it needs no join). */
int cr__ws_ops_active(const cr__listener_t *l);

/** Forgets l (its connection closes). */
void cr__ws_ops_drop(cr__listener_t *l);

/** Sends the current view to every subscriber (from cr_ops_tick, once a second). */
void cr__ws_ops_push(cr_relay_t *r);

#endif
