/*
 * GET /metrics: the Prometheus text exposition (format 0.0.4) of the relay, its classes and its
 * school and classroom links. A fresh registry is filled from the workers' counters, the control
 * plane's snapshots and the operator view (cr_ops.h) for each scrape; every label set is bounded
 * (workers, reasons, API codes and event names come from tables; classes by max_classes; schools and
 * classrooms by CR_OPS_ENTITIES). Metric names and meanings: docs/METRICS.md.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cr_api_err.h"
#include "cr_err.h"
#include "cr_events.h"
#include "cr_http_ops.h"
#include "cr_metrics.h"
#include "cr_ops.h"
#include "cr_relay_stats.h"
#include "cr_workers.h"

#define CR_METRICS_FAMILIES 96
#define CR_METRICS_OUT_MAX (16u << 20)

typedef struct fill {
    cr_metrics_t *m;
    char worker[CR_LAT_BUCKETS][12]; /* worker index as text */
} fill_t;

static cr_metric_family_t *fam(fill_t *f, const char *name, enum cr_metric_type type, const char *help,
                               const char *l1, const char *l2, unsigned max_series)
{
    const char *labels[2] = {l1, l2};
    cr_metric_desc_t d = {.name = name, .help = help, .type = type, .labels = labels,
                          .n_labels = l2 ? 2u : l1 ? 1u : 0u, .max_series = l1 ? max_series : 1};
    cr_metric_family_t *out = NULL;
    if (cr_metrics_family(f->m, &d, &out) != 0)
        return NULL;
    return out;
}

static void set1(cr_metric_family_t *fm, const char *v1, double v)
{
    const char *vals[1] = {v1};
    cr_metric_set(cr_metric_series(fm, vals), v);
}

static void set2(cr_metric_family_t *fm, const char *v1, const char *v2, double v)
{
    const char *vals[2] = {v1, v2};
    cr_metric_set(cr_metric_series(fm, vals), v);
}

#define LOAD(st, field) ((double)atomic_load_explicit(&(st)->field, memory_order_relaxed))

/* The worker's log-linear latency bucket b starts at this many microseconds (cr_worker.c). */
static double lat_floor_us(unsigned b)
{
    if (b < 16)
        return b;
    unsigned e = (b - 16) / 4 + 4, sub = (b - 16) % 4;
    return (double)((uint64_t)(4 + sub) << (e - 2));
}

static void latency(fill_t *f, cr_relay_t *r, unsigned nw)
{
    static const double bounds[] = {10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3,
                                    2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3};
    const char *wl[1] = {"worker"};
    cr_metric_desc_t d = {.name = "classrelay_forward_latency_seconds",
                          .help = "Relay-added latency of forwarded media, from receive to sendmmsg.",
                          .type = CR_METRIC_HISTOGRAM, .labels = wl, .n_labels = 1, .max_series = 64,
                          .buckets = bounds, .n_buckets = sizeof(bounds) / sizeof(bounds[0])};
    cr_metric_family_t *fm;
    if (cr_metrics_family(f->m, &d, &fm) != 0)
        return;
    for (unsigned w = 0; w < nw && w < 64; w++) {
        const cr_worker_stats_t *st = cr_relay_worker_stats(r, w);
        uint64_t counts[sizeof(bounds) / sizeof(bounds[0])] = {0}, over = 0;
        double sum = 0;
        for (unsigned b = 0; b < CR_LAT_BUCKETS; b++) {
            uint64_t c = atomic_load_explicit(&st->latency_hist[b], memory_order_relaxed);
            if (c == 0)
                continue;
            /* The whole bucket counts at its upper edge, so the quantiles err on the slow side. */
            double hi = (b + 1 < CR_LAT_BUCKETS ? lat_floor_us(b + 1) : lat_floor_us(b) * 1.25) * 1e-6;
            sum += (double)c * (lat_floor_us(b) * 1e-6 + hi) / 2;
            unsigned k = 0;
            while (k < sizeof(bounds) / sizeof(bounds[0]) && hi > bounds[k] * (1 + 1e-9))
                k++;
            if (k < sizeof(bounds) / sizeof(bounds[0]))
                counts[k] += c;
            else
                over += c;
        }
        const char *vals[1] = {f->worker[w]};
        cr_metric_hist_set(cr_metric_series(fm, vals), counts, over, sum);
    }
}

static void relay_counters(fill_t *f, cr_relay_t *r, unsigned nw)
{
    static const struct {
        const char *name, *help;
        size_t off;
    } rows[] = {
#define ROW(n, h, field) {n, h, offsetof(cr_worker_stats_t, field)}
        ROW("classrelay_packets_received_total", "UDP datagrams received by the media worker.", packets_in),
        ROW("classrelay_packets_sent_total", "UDP datagrams sent by the media worker.", packets_out),
        ROW("classrelay_received_bytes_total", "Bytes of UDP payload received.", bytes_in),
        ROW("classrelay_sent_bytes_total", "Bytes of UDP payload sent.", bytes_out),
        ROW("classrelay_packets_forwarded_total", "RTP packets forwarded to subscribers.", forwarded),
        ROW("classrelay_nacks_received_total", "Generic NACKs received from subscribers.", nacks_in),
        ROW("classrelay_retransmissions_total", "Packets retransmitted from the history ring (NACKs served).",
            retransmits),
        ROW("classrelay_keyframe_requests_received_total", "PLI/FIR received from subscribers.", kf_requests_in),
        ROW("classrelay_keyframe_requests_sent_total", "Merged PLI/FIR sent to publishers.", kf_requests_sent),
#undef ROW
    };
    static const struct {
        const char *reason;
        size_t off;
    } drops[] = {
        {"malformed", offsetof(cr_worker_stats_t, drop_malformed)},
        {"srtp_auth", offsetof(cr_worker_stats_t, drop_srtp_auth)},
        {"replay", offsetof(cr_worker_stats_t, drop_replay)},
        {"unknown_peer", offsetof(cr_worker_stats_t, drop_unknown_peer)},
        {"queue_full", offsetof(cr_worker_stats_t, drop_queue_full)},
        {"stun_auth", offsetof(cr_worker_stats_t, drop_stun_auth)},
        {"pacer", offsetof(cr_worker_stats_t, drop_pacer)}, /* video that waited too long, or pushed out */
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        cr_metric_family_t *fm = fam(f, rows[i].name, CR_METRIC_COUNTER, rows[i].help, "worker", NULL, 64);
        for (unsigned w = 0; w < nw; w++) {
            const atomic_uint_fast64_t *v = (const atomic_uint_fast64_t *)((const char *)cr_relay_worker_stats(r, w) +
                                                                            rows[i].off);
            set1(fm, f->worker[w], (double)atomic_load_explicit(v, memory_order_relaxed));
        }
    }
    cr_metric_family_t *fd = fam(f, "classrelay_packets_dropped_total", CR_METRIC_COUNTER,
                                 "Datagrams dropped, by reason.", "worker", "reason", 64 * 6);
    cr_metric_family_t *fp = fam(f, "classrelay_worker_peers", CR_METRIC_GAUGE,
                                 "Peers (WHIP and WHEP sessions) served by the media worker: its load.", "worker", NULL, 64);
    cr_metric_family_t *fc = fam(f, "classrelay_worker_classes", CR_METRIC_GAUGE,
                                 "Classes pinned to the media worker.", "worker", NULL, 64);
    for (unsigned w = 0; w < nw; w++) {
        const cr_worker_stats_t *st = cr_relay_worker_stats(r, w);
        for (size_t k = 0; k < sizeof(drops) / sizeof(drops[0]); k++) {
            const atomic_uint_fast64_t *v = (const atomic_uint_fast64_t *)((const char *)st + drops[k].off);
            set2(fd, f->worker[w], drops[k].reason, (double)atomic_load_explicit(v, memory_order_relaxed));
        }
        set1(fp, f->worker[w], LOAD(st, peers));
        set1(fc, f->worker[w], LOAD(st, classes));
    }
    latency(f, r, nw);
}

static void process_metrics(fill_t *f)
{
    static double start_s;
    struct rusage ru;
    if (start_s == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        start_s = (double)ts.tv_sec;
    }
    cr_metric_set(cr_metric_single(fam(f, "process_start_time_seconds", CR_METRIC_GAUGE,
                                       "Start time of the process since the Unix epoch in seconds (first scrape).",
                                       NULL, NULL, 1)),
                  start_s);
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        cr_metric_set(cr_metric_single(fam(f, "process_cpu_seconds_total", CR_METRIC_COUNTER,
                                           "Total user and system CPU time spent in seconds.", NULL, NULL, 1)),
                      (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
                          (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
    FILE *fp = fopen("/proc/self/statm", "r");
    unsigned long size = 0, rss = 0;
    if (fp != NULL) {
        if (fscanf(fp, "%lu %lu", &size, &rss) == 2)
            cr_metric_set(cr_metric_single(fam(f, "process_resident_memory_bytes", CR_METRIC_GAUGE,
                                               "Resident memory size in bytes.", NULL, NULL, 1)),
                          (double)rss * (double)sysconf(_SC_PAGESIZE));
        fclose(fp);
    }
}

static void control_plane(fill_t *f, cr_relay_t *r)
{
    const cr_conf_t *conf = cr_relay_conf(r);
    cr_metric_family_t *fr = fam(f, "classrelay_refusals_total", CR_METRIC_COUNTER,
                                 "Requests refused, by numbered API error code (docs/PROTOCOL.md).", "code", NULL, 64);
    static const int codes[] = {
#define CR__CODE(name, code, http, text) code,
        CR_API_ERR_MAP(CR__CODE)
#undef CR__CODE
    };
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        int code = codes[i];
        char c[12];
        snprintf(c, sizeof(c), "%d", code);
        uint64_t n = cr_relay_refusals(r, code);
        if (n > 0)
            set1(fr, c, (double)n);
    }
    cr_event_count_t ev[CR_EVENTS_NAMES];
    size_t ne = cr_events_counts(ev, CR_EVENTS_NAMES);
    cr_metric_family_t *fe = fam(f, "classrelay_events_total", CR_METRIC_COUNTER,
                                 "Events logged (class, participant, link and alert events), by name and level.",
                                 "event", "level", CR_EVENTS_NAMES);
    for (size_t i = 0; i < ne; i++)
        set2(fe, ev[i].event, cr_events_level_name(ev[i].level), (double)ev[i].count);

    size_t cap = conf->max_classes;
    cr_relay_class_snap_t *cs = calloc(cap, sizeof(*cs));
    size_t n = cs ? cr_relay_class_snaps(r, cs, cap) : 0;
    if (n > cap)
        n = cap;
    cr_metric_family_t *fi = fam(f, "classrelay_class_info", CR_METRIC_GAUGE,
                                 "Always 1: a class known to the relay, with its kind and state as labels.", "class",
                                 "kind", cap);
    cr_metric_family_t *fs = fam(f, "classrelay_class_state", CR_METRIC_GAUGE,
                                 "1 for the state the class is in (scheduled, live, ended), 0 for the others.",
                                 "class", "state", cap * 3);
    cr_metric_family_t *fpub = fam(f, "classrelay_class_publishers", CR_METRIC_GAUGE,
                                   "WHIP sessions (teacher and return feeds) of the class.", "class", NULL, cap);
    cr_metric_family_t *fsub = fam(f, "classrelay_class_subscribers", CR_METRIC_GAUGE,
                                   "WHEP sessions (classrooms and viewers) of the class.", "class", NULL, cap);
    cr_metric_family_t *fpar = fam(f, "classrelay_class_participants", CR_METRIC_GAUGE,
                                   "Participants with a session or a WebSocket in the class.", "class", NULL, cap);
    for (size_t i = 0; i < n; i++) {
        const cr_class_desc_t *d = &cs[i].d;
        set2(fi, d->id, cr_class_kind_name(d->kind), 1);
        for (int st = CR_CLASS_SCHEDULED; st <= CR_CLASS_ENDED; st++)
            set2(fs, d->id, cr_class_state_name((enum cr_class_state)st), d->state == (enum cr_class_state)st);
        set1(fpub, d->id, cs[i].publishers);
        set1(fsub, d->id, cs[i].subscribers);
        set1(fpar, d->id, cs[i].participants);
    }
    free(cs);
}

/* Sessions: count by role, and the layer each class's subscribers receive. */
static void sessions(fill_t *f, cr_relay_t *r)
{
    size_t cap = cr_relay_conf(r)->max_peers;
    cr_relay_session_snap_t *ss = calloc(cap, sizeof(*ss));
    size_t n = ss ? cr_relay_session_snaps(r, ss, cap) : 0;
    if (n > cap)
        n = cap;
    cr_metric_family_t *fs = fam(f, "classrelay_sessions", CR_METRIC_GAUGE,
                                 "WHIP (publisher) and WHEP (subscriber) sessions, connected or not.", "role", NULL, 2);
    cr_metric_family_t *fl = fam(f, "classrelay_class_subscribers_by_layer", CR_METRIC_GAUGE,
                                 "Connected subscribers by the simulcast layer they receive (\"single\": no simulcast, "
                                 "\"none\": no video yet).",
                                 "class", "layer", cr_relay_conf(r)->max_classes * 4);
    set1(fs, "publisher", 0);
    set1(fs, "subscriber", 0);
    for (size_t i = 0; i < n; i++) {
        const char *role = ss[i].peer_role == CR_PEER_PUBLISHER ? "publisher" : "subscriber";
        const char *v[1] = {role};
        cr_metric_add(cr_metric_series(fs, v), 1);
        if (ss[i].peer_role != CR_PEER_SUBSCRIBER || !ss[i].connected)
            continue;
        const char *layer = !ss[i].have_stats ? "none" : ss[i].st.layer[0] ? ss[i].st.layer : "single";
        const char *lv[2] = {ss[i].class_id, layer};
        cr_metric_add(cr_metric_series(fl, lv), 1);
    }
    free(ss);
}

/* School and classroom links, and each class's bitrate, from the operator view. */
static void links(fill_t *f, cr_relay_t *r)
{
    static const char *const what[] = {"school_link", "classroom_link"};
    static const struct {
        const char *suffix, *help;
    } rows[] = {
        {"capacity_bytes_per_second", "Configured capacity of the link (default until the topology is configured)."},
        {"estimated_bytes_per_second", "Estimated capacity of the link (receiver estimates or the scheduler)."},
        {"allocated_bytes_per_second", "Rate the bandwidth scheduler allocates to the link."},
        {"floor_bytes_per_second", "The sum of the floors of the classes on the link (scheduler)."},
        {"bytes_per_second", "Actual rate the relay sends over the link, last second (x8 for bits)."},
        {"received_bytes_per_second", "Actual rate the relay receives over the link (return feeds), last second."},
        {"loss_ratio", "Fraction of packets lost, worst receiver on the link (RTCP receiver reports)."},
        {"rtt_seconds", "Round-trip time, worst receiver on the link (RTCP LSR/DLSR)."},
        {"jitter_seconds", "Interarrival jitter, worst receiver on the link."},
        {"subscribers", "WHEP sessions over the link."},
        {"up", "1 while the link's receivers are heard from, 0 once they have been silent for 3 s."},
    };
    enum { NROWS = sizeof(rows) / sizeof(rows[0]) };
    cr_metric_family_t *fm[2][NROWS];
    char name[CR_METRICS_NAME_MAX];
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < NROWS; i++) {
            snprintf(name, sizeof(name), "classrelay_%s_%s", what[k], rows[i].suffix);
            fm[k][i] = fam(f, name, CR_METRIC_GAUGE, rows[i].help, "school", k ? "classroom" : NULL, CR_OPS_ENTITIES);
        }
    cr_metric_family_t *fcb = fam(f, "classrelay_class_bytes_per_second", CR_METRIC_GAUGE,
                                  "Rate the class's publishers send to the relay, last second (x8 for bits).", "class",
                                  NULL, CR_OPS_ENTITIES);
    const cr_ops_entity_t *e;
    size_t n = cr_ops_entities(r, &e);
    for (size_t j = 0; j < n; j++) {
        if (!e[j].present && e[j].kind != CR_OPS_CLASS)
            continue;
        if (e[j].kind == CR_OPS_CLASS) {
            set1(fcb, e[j].id, e[j].bps / 8);
            continue;
        }
        int k = e[j].kind == CR_OPS_CLASSROOM;
        double v[NROWS] = {e[j].capacity_bps / 8, e[j].estimate_bps / 8, e[j].allocated_bps / 8, e[j].floor_bps / 8,
                           e[j].bps / 8, e[j].up_bps / 8, e[j].loss, e[j].rtt_ms / 1000, e[j].jitter_ms / 1000, e[j].subscribers,
                           !e[j].silent};
        for (int i = 0; i < NROWS; i++) {
            if (i == 2 && v[i] < 0)
                continue; /* no scheduler yet: no allocation series */
            if (k)
                set2(fm[k][i], e[j].school, e[j].id, v[i]);
            else
                set1(fm[k][i], e[j].school, v[i]);
        }
    }
}

static char *render(cr_relay_t *r, cr_workers_t *workers, size_t *len)
{
    fill_t f;
    if (cr_metrics_new(&f.m, CR_METRICS_FAMILIES) != 0)
        return NULL;
    unsigned nw = cr_relay_worker_count(r);
    if (nw > CR_LAT_BUCKETS)
        nw = CR_LAT_BUCKETS;
    for (unsigned w = 0; w < nw; w++)
        snprintf(f.worker[w], sizeof(f.worker[w]), "%u", w);
    const char *vl[1] = {"0.1.0"};
    cr_metric_set(cr_metric_series(fam(&f, "classrelay_build_info", CR_METRIC_GAUGE,
                                       "Always 1, labelled with the relay's version.", "version", NULL, 1),
                                   vl),
                  1);
    relay_counters(&f, r, nw);
    control_plane(&f, r);
    sessions(&f, r);
    links(&f, r);
    process_metrics(&f);
    cr_workers_metrics(workers, f.m);
    cr_metric_family_t *fd = fam(&f, "classrelay_metrics_series_dropped_total", CR_METRIC_COUNTER,
                                 "Series left out of this exposition because a family reached its cap.", NULL, NULL, 1);
    cr_metric_set(cr_metric_single(fd), (double)cr_metrics_dropped(f.m));
    char *buf = NULL;
    int n = CR_EFULL;
    for (size_t cap = 64 * 1024; n == CR_EFULL && cap <= CR_METRICS_OUT_MAX; cap *= 2) {
        char *nb = realloc(buf, cap);
        if (nb == NULL)
            break;
        buf = nb;
        n = cr_metrics_write(f.m, buf, cap);
    }
    cr_metrics_free(f.m);
    if (n < 0) {
        free(buf);
        return NULL;
    }
    *len = (size_t)n;
    return buf;
}

void cr__http_metrics(cr_http_t *h, struct lws *wsi, cr_http_request_t *rq)
{
    (void)wsi;
    size_t len = 0;
    cr_ops_tick(h->relay, (int64_t)time(NULL)); /* no-op when this second was ticked */
    char *body = render(h->relay, h->workers, &len);
    if (body == NULL) {
        cr_relay_reply_error(&rq->reply, CR_API_INTERNAL, "cannot render the metrics");
        return;
    }
    rq->reply.status = 200;
    rq->reply.body = body;
    rq->reply.body_len = len;
    rq->reply.content_type = "text/plain; version=0.0.4; charset=utf-8";
}
