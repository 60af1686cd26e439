/*
 * Read accessors of the control plane's registry (cr_relay_stats.h): the only file of the operator
 * features that reads cr_relay_int.h, so the registry can change without touching them.
 */
#include "cr_relay_stats.h"

#include <stdlib.h>
#include <string.h>

#include "cr_api_err.h"
#include "cr_relay_int.h"

size_t cr_relay_class_snaps(cr_relay_t *r, cr_relay_class_snap_t *out, size_t max)
{
    size_t n = 0;
    cr_list_t *it, *tmp;
    cr_list_foreach_safe(it, tmp, &r->classes)
    {
        cr__class_t *c = cr_container_of(it, cr__class_t, link);
        if (n < max) {
            cr_relay_class_snap_t *o = &out[n];
            memset(o, 0, sizeof(*o));
            o->d = c->d;
            o->subscribers = c->n_subscribers;
            o->participants = c->n_participants;
            o->worker = c->worker;
            o->teacher_publishing = c->main_pub != NULL;
            if (c->main_pub != NULL && c->main_pub->owner != NULL)
                memcpy(o->teacher_id, c->main_pub->owner->id, sizeof(o->teacher_id));
            cr_list_t *pit, *ptmp;
            cr_list_foreach_safe(pit, ptmp, &c->participants)
            {
                cr__participant_t *p = cr_container_of(pit, cr__participant_t, link);
                o->publishers += p->pub != NULL;
            }
        }
        n++;
    }
    return n;
}

static int cmp_session(const void *a, const void *b)
{
    const cr_relay_session_snap_t *x = a, *y = b;
    int c = strcmp(x->class_id, y->class_id);
    if (c == 0)
        c = strcmp(x->participant, y->participant);
    return c != 0 ? c : strcmp(x->resource_id, y->resource_id);
}

/* Joins out[0..n) with the workers' per-peer snapshots by resource id. */
static void join_peer_stats(cr_relay_t *r, cr_relay_session_snap_t *out, size_t n)
{
    size_t cap = 0;
    cr_peer_stats_t *ps = NULL;
    for (unsigned w = 0; w < r->n_workers; w++) {
        size_t k = cr_worker_peer_stats(r->workers[w], ps, cap);
        if (k > cap) { /* grow to what the worker has, bounded by max_peers */
            size_t want = k < r->conf.max_peers ? k : r->conf.max_peers;
            cr_peer_stats_t *np = realloc(ps, want * sizeof(*np));
            if (np == NULL)
                break;
            ps = np;
            cap = want;
            k = cr_worker_peer_stats(r->workers[w], ps, cap);
        }
        if (k > cap)
            k = cap;
        for (size_t i = 0; i < k; i++)
            for (size_t j = 0; j < n; j++)
                if (!out[j].have_stats && strcmp(out[j].resource_id, ps[i].resource_id) == 0) {
                    out[j].st = ps[i];
                    out[j].have_stats = 1;
                    break;
                }
    }
    free(ps);
}

size_t cr_relay_session_snaps(cr_relay_t *r, cr_relay_session_snap_t *out, size_t max)
{
    size_t n = 0, total = 0;
    cr_list_t *it, *tmp;
    cr_list_foreach_safe(it, tmp, &r->sessions)
    {
        cr__session_t *s = cr_container_of(it, cr__session_t, link);
        total++;
        if (n >= max)
            continue;
        cr_relay_session_snap_t *o = &out[n++];
        memset(o, 0, sizeof(*o));
        memcpy(o->resource_id, s->resource_id, sizeof(o->resource_id));
        memcpy(o->class_id, s->class_id, sizeof(o->class_id));
        o->peer_role = s->role;
        o->connected = s->connected;
        o->is_main = s->is_main;
        o->created_us = s->created_us;
        if (s->owner != NULL) {
            memcpy(o->participant, s->owner->id, sizeof(o->participant));
            memcpy(o->school, s->owner->school, sizeof(o->school));
            memcpy(o->name, s->owner->name, sizeof(o->name));
            o->role = s->owner->role;
        }
    }
    join_peer_stats(r, out, n);
    qsort(out, n, sizeof(*out), cmp_session);
    return total;
}

unsigned cr_relay_worker_count(const cr_relay_t *r)
{
    return r->n_workers;
}

const cr_worker_stats_t *cr_relay_worker_stats(const cr_relay_t *r, unsigned i)
{
    return i < r->n_workers ? cr_worker_stats(r->workers[i]) : NULL;
}

uint64_t cr_relay_refusals(const cr_relay_t *r, int code)
{
    int i = cr_api_err_index(code);
    return i >= 0 && i < CR__REFUSAL_SLOTS ? r->refusals_by_code[i] : 0;
}

const cr_conf_t *cr_relay_conf(const cr_relay_t *r)
{
    return &r->conf;
}

int cr_relay_check_operator(cr_relay_t *r, const char *auth, int bare, int loopback, char *detail, size_t cap)
{
    const char *tok = auth;
    size_t len = auth ? strlen(auth) : 0;
    cr_claims_t c;
    int code = 0;
    detail[0] = '\0';
    (void)loopback; /* operator views are read-only: served to any peer with the token */
    if (auth == NULL || auth[0] == '\0' || (!bare && cr_auth_bearer(auth, strlen(auth), &tok, &len) != 0))
        code = CR_API_NO_TOKEN;
    else if ((code = cr__relay_verify(r, tok, len, &c)) != 0)
        snprintf(detail, cap, "operator view");
    else if (c.role != CR_ROLE_OPERATOR && c.role != CR_ROLE_ADMIN)
        snprintf(detail, cap, "operator or admin role required; this token's role is %s", cr_role_name(c.role)),
            code = CR_API_NOT_ADMIN;
    if (code != 0)
        cr__relay_count(r, code, detail);
    return code;
}
