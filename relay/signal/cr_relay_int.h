/*
 * Internals of the control plane shared by cr_relay.c and the other cr_relay_*.c files of this
 * module. Control thread only, like everything in cr_relay.h.
 */
#ifndef CR_RELAY_INT_H
#define CR_RELAY_INT_H

#include "cr_relay.h"
#include "cr_worker.h"

/**
 * Finds the session resource_id: the worker its class lives on (borrowed, valid while the relay
 * lives) and its role. Returns 0 or CR_ENOTFOUND.
 */
int cr__relay_session_worker(cr_relay_t *r, const char *resource_id, cr_worker_t **worker,
                             enum cr_peer_role *role);

#endif
