/*
 * GET /api/status: classes, sessions (with the source each WHEP session is bound to), per-worker
 * counters and the refusals counted per API error code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cr_api_err.h"
#include "cr_relay_int.h"

static json_t *worker_json(const cr_worker_t *w)
{
    const cr_worker_stats_t *st = cr_worker_stats(w);
    json_t *j = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:{s:I,s:I,s:I,s:I,s:I,s:I},s:I,s:I,s:I,s:I,s:I}",
                     "port", (json_int_t)cr_worker_port(w),
                     "packets_in", (json_int_t)st->packets_in, "bytes_in", (json_int_t)st->bytes_in,
                     "packets_out", (json_int_t)st->packets_out, "bytes_out", (json_int_t)st->bytes_out,
                     "forwarded", (json_int_t)st->forwarded,
                     "drops", "malformed", (json_int_t)st->drop_malformed,
                     "srtp_auth", (json_int_t)st->drop_srtp_auth, "replay", (json_int_t)st->drop_replay,
                     "unknown_peer", (json_int_t)st->drop_unknown_peer,
                     "queue_full", (json_int_t)st->drop_queue_full, "stun_auth", (json_int_t)st->drop_stun_auth,
                     "nacks_in", (json_int_t)st->nacks_in, "retransmits", (json_int_t)st->retransmits,
                     "keyframe_requests_in", (json_int_t)st->kf_requests_in,
                     "keyframe_requests_sent", (json_int_t)st->kf_requests_sent,
                     "peers", (json_int_t)st->peers);
    /* Relay-added latency (receive -> sendmmsg) of forwarded media since start. */
    json_object_set_new(j, "latency_p50_us", json_integer((json_int_t)cr_worker_latency_percentile(st, 50)));
    json_object_set_new(j, "latency_p99_us", json_integer((json_int_t)cr_worker_latency_percentile(st, 99)));
    /* The raw log-linear buckets (cr_worker.h), so that a reader can take percentiles over a window
     * of its own by differencing two reads (tests/bench/fanout does). */
    json_t *hist = json_array();
    for (unsigned b = 0; b < CR_LAT_BUCKETS; b++)
        json_array_append_new(hist, json_integer((json_int_t)atomic_load_explicit(&st->latency_hist[b],
                                                                                   memory_order_relaxed)));
    json_object_set_new(j, "latency_hist", hist);
    json_object_set_new(json_object_get(j, "drops"), "pacer", json_integer((json_int_t)st->drop_pacer));
    json_object_set_new(j, "paced", json_integer((json_int_t)st->paced)); /* waited in the pacer */
    return j;
}

static json_t *sessions_json(cr_relay_t *r)
{
    static const char *const views[] = {"main", "stage", "source"};
    json_t *a = json_array();
    cr_list_t *it, *tmp;
    cr_list_foreach_safe(it, tmp, &r->sessions)
    {
        cr__session_t *s = cr_container_of(it, cr__session_t, link);
        json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:b}", "resource", s->resource_id, "class", s->class_id,
                              "participant", s->owner->id, "role", s->role == CR_PEER_PUBLISHER ? "publisher" : "subscriber",
                              "connected", s->connected);
        if (s->role == CR_PEER_SUBSCRIBER) {
            json_object_set_new(j, "view", json_string(views[s->view]));
            json_object_set_new(j, "bound", json_string(s->bound)); /* source resource; "" = the teacher */
        } else {
            json_object_set_new(j, "main", json_boolean(s->is_main));
        }
        json_array_append_new(a, j);
    }
    return a;
}

static json_t *refusals_json(cr_relay_t *r)
{
    json_t *o = json_object();
    for (int i = 0; i < CR_API_ERR_COUNT; i++) {
        if (r->refusals_by_code[i] == 0)
            continue;
        char key[16];
        snprintf(key, sizeof(key), "%d", cr_api_err_code(i));
        json_object_set_new(o, key, json_integer((json_int_t)r->refusals_by_code[i]));
    }
    return o;
}

void cr_relay_status(cr_relay_t *r, cr_relay_reply_t *out)
{
    memset(out, 0, sizeof(*out));
    json_t *root = json_object(), *classes = json_array(), *workers = json_array();
    cr_list_t *it, *tmp;
    cr_list_foreach_safe(it, tmp, &r->classes)
    {
        cr__class_t *c = cr_container_of(it, cr__class_t, link);
        json_t *j = cr__class_json(c, 0);
        json_object_set_new(j, "live", json_boolean(c->main_pub != NULL));
        json_object_set_new(j, "subscribers", json_integer(c->n_subscribers));
        json_object_set_new(j, "worker", json_integer(c->worker));
        json_array_append_new(classes, j);
    }
    for (unsigned i = 0; i < r->n_workers; i++)
        json_array_append_new(workers, worker_json(r->workers[i]));
    json_object_set_new(root, "classes", classes);
    json_object_set_new(root, "workers", workers);
    json_object_set_new(root, "sessions", json_integer(r->n_sessions));
    json_object_set_new(root, "session_list", sessions_json(r));
    json_object_set_new(root, "refusals", json_integer((json_int_t)r->refusals));
    json_object_set_new(root, "refusals_by_code", refusals_json(r));
    json_object_set_new(root, "scheduler", cr__sched_status_json(r)); /* links, subscribers, admission */
    out->body = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    out->body_len = out->body ? strlen(out->body) : 0;
    out->status = out->body ? 200 : 500;
    out->content_type = "application/json";
}
