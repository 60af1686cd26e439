/*
 * Supervised workers (cr_workers.h): what should run, decided four times a second from the classes'
 * states, and the processes that make it so (relay/supervise/cr_supervise.h).
 */
#include "cr_workers.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cr_api_err.h"
#include "cr_auth.h"
#include "cr_err.h"
#include "cr_log.h"
#include "cr_relay_int.h"
#include "cr_supervise.h"
#include "cr_workcmd.h"

#define CR__SCAN_MS 50 /* every poll: a recorder starts as soon as its class has a teacher */
#define CR__KEEP_STOPPED_MS 60000 /* a finished recorder stays in the status this long */
#define CR__REMINT_MS (3600 * 1000) /* a stopped worker's token is renewed this often */

/* What the manager knows about a recording beyond the process: the operator's say and the grace. */
typedef struct cr__rec {
    char class_id[CR_AUTH_ID_MAX + 1];
    int manual;           /* 1 started, -1 stopped by an operator, 0 as configured */
    int active;           /* the recorder should run */
    uint64_t lost_ms;     /* the class lost its publisher at this time (0: it has one) */
    uint64_t minted_ms;   /* its command (token) was set at this time, 0 never */
} cr__rec_t;

struct cr_workers {
    cr_relay_t *r;
    const cr_conf_t *conf;
    cr_sup_t *sup;
    char client[PATH_MAX];
    char base_url[128];
    char local_ip[64];
    char rec_dir[PATH_MAX]; /* "" when recording is off */
    uint64_t next_scan_ms;
    cr_log_limit_t full_log; /* "max_recorders reached" */
    uint64_t src_minted_ms[CR_CONF_MAX_SOURCES];
    cr__rec_t recs[CR_WORKERS_MAX];
    unsigned n_recs;
};

/* --- set-up --- */

static int executable(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

/* client_path, else classrelay-client beside the relay (installed) or in ../client (build tree). */
static void find_client(cr_workers_t *w)
{
    char exe[PATH_MAX - 64]; /* room for the suffixes below */
    if (w->conf->client_path[0] != '\0') {
        snprintf(w->client, sizeof(w->client), "%s", w->conf->client_path);
        return;
    }
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0) {
        snprintf(w->client, sizeof(w->client), "/usr/local/bin/classrelay-client");
        return;
    }
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    *slash = '\0';
    snprintf(w->client, sizeof(w->client), "%s/classrelay-client", exe);
    if (!executable(w->client))
        snprintf(w->client, sizeof(w->client), "%s/../client/classrelay-client", exe);
}

static int open_rec_dir(cr_workers_t *w, char *err, size_t cap)
{
    const char *d = w->conf->rec_dir;
    if (d[0] == '\0')
        return 0;
    if (mkdir(d, 0750) != 0 && errno != EEXIST) {
        snprintf(err, cap, "[recording] dir '%s': cannot create: %s", d, strerror(errno));
        return CR_ECONFIG;
    }
    struct stat st;
    if (realpath(d, w->rec_dir) == NULL || stat(w->rec_dir, &st) != 0 || !S_ISDIR(st.st_mode) ||
        access(w->rec_dir, W_OK | X_OK) != 0) {
        snprintf(err, cap, "[recording] dir '%s': not a writable directory", d);
        w->rec_dir[0] = '\0';
        return CR_ECONFIG;
    }
    return 0;
}

int cr_workers_new(cr_workers_t **out, cr_relay_t *r, const cr_conf_t *conf, char *err, size_t err_cap)
{
    cr_workers_t *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return CR_ENOMEM;
    w->r = r;
    w->conf = conf;
    int rc = open_rec_dir(w, err, err_cap);
    if (rc == 0 && (rc = cr_sup_new(&w->sup, CR_WORKERS_MAX)) != 0)
        snprintf(err, err_cap, "cannot create the worker supervisor: %s", cr_strerror(rc));
    if (rc != 0) {
        free(w);
        return rc;
    }
    find_client(w);
    cr_workcmd_base_url(conf->http_host, conf->http_port, w->base_url, sizeof(w->base_url));
    if (strcmp(conf->media_ip, "0.0.0.0") != 0)
        snprintf(w->local_ip, sizeof(w->local_ip), "%s", conf->media_ip); /* ICE stays on the host */
    if ((conf->n_sources > 0 || w->rec_dir[0] != '\0') && !executable(w->client))
        cr_log(CR_LOG_WARN, "workers", "worker binary %s is not executable: set [supervise] client_path",
               w->client);
    if (conf->n_sources > 0 || w->rec_dir[0] != '\0')
        cr_log(CR_LOG_INFO, "workers", "%u studio source%s, recordings %s%s; workers run %s", conf->n_sources,
               conf->n_sources == 1 ? "" : "s", w->rec_dir[0] ? "in " : "off", w->rec_dir, w->client);
    *out = w;
    return 0;
}

void cr_workers_free(cr_workers_t *w)
{
    if (w == NULL)
        return;
    cr_sup_free(w->sup);
    free(w);
}

const char *cr_workers_rec_dir(const cr_workers_t *w)
{
    return w != NULL && w->rec_dir[0] != '\0' ? w->rec_dir : NULL;
}

/* --- commands and tokens --- */

/* "CLASSRELAY_TOKEN=<token>" signed with the relay's key; 0 or a CR_E* code. */
static int token_env(cr_workers_t *w, enum cr_role role, const char *class_id, const char *sub, const char *name,
                     char *out, size_t cap)
{
    static const char prefix[] = "CLASSRELAY_TOKEN=";
    cr_claims_t c;
    memset(&c, 0, sizeof(c));
    c.role = role;
    snprintf(c.class_id, sizeof(c.class_id), "%s", class_id);
    snprintf(c.sub, sizeof(c.sub), "%s", sub);
    snprintf(c.name, sizeof(c.name), "%s", name);
    c.iat = (int64_t)time(NULL);
    c.exp = c.iat + CR_WORKERS_TOKEN_TTL_S;
    if (cap <= sizeof(prefix))
        return CR_ETOOBIG;
    memcpy(out, prefix, sizeof(prefix) - 1);
    int n = cr_auth_sign(w->r->key, w->r->key_len, &c, out + sizeof(prefix) - 1, cap - sizeof(prefix) + 1);
    return n < 0 ? n : 0;
}

/* Declares (or refreshes) worker name with cmd and a fresh token. */
static int declare(cr_workers_t *w, const char *name, const cr_workcmd_t *cmd, const char *tok_env)
{
    char parent[48], log[PATH_MAX];
    snprintf(parent, sizeof(parent), "CLASSRELAY_PARENT_PID=%d", (int)getpid());
    const char *envp[] = {tok_env, parent, NULL};
    const char *lp = NULL;
    if (w->conf->worker_log_dir[0] != '\0' &&
        snprintf(log, sizeof(log), "%s/%s.log", w->conf->worker_log_dir, name) < (int)sizeof(log))
        lp = log;
    int rc = cr_sup_set(w->sup, name, cmd->argv, envp, lp);
    if (rc != 0)
        cr_log(CR_LOG_ERROR, "workers", "%s: cannot declare the worker: %s", name, cr_strerror(rc));
    return rc;
}

static int declare_ingest(cr_workers_t *w, const cr_conf_source_t *src, const char *teacher)
{
    char name[CR_SUP_NAME_MAX], tok[CR_AUTH_TOKEN_MAX + 32];
    cr_workcmd_t cmd;
    cr_workcmd_env_t e = {w->client, w->base_url, w->local_ip};
    cr_workcmd_ingest_t in = {src->class_id, src->url, src->transcode, src->layers, src->fps};
    snprintf(name, sizeof(name), "ingest-%s", src->id);
    int rc = cr_workcmd_ingest(&cmd, &e, &in);
    if (rc == 0)
        rc = token_env(w, CR_ROLE_TEACHER, src->class_id, teacher[0] ? teacher : "studio", "studio", tok, sizeof(tok));
    return rc == 0 ? declare(w, name, &cmd, tok) : rc;
}

static int declare_recorder(cr_workers_t *w, const char *class_id, const char *teacher)
{
    char name[CR_SUP_NAME_MAX], tok[CR_AUTH_TOKEN_MAX + 32];
    cr_workcmd_t cmd;
    cr_workcmd_env_t e = {w->client, w->base_url, w->local_ip};
    uint64_t max_bytes = (uint64_t)w->conf->rec_max_segment_mb << 20;
    cr_workcmd_record_t rec = {class_id, w->rec_dir, w->conf->rec_segment_s, max_bytes, teacher};
    snprintf(name, sizeof(name), "record-%s", class_id);
    int rc = cr_workcmd_record(&cmd, &e, &rec);
    if (rc == 0)
        rc = token_env(w, CR_ROLE_OPERATOR, class_id, "recorder", "recorder", tok, sizeof(tok));
    return rc == 0 ? declare(w, name, &cmd, tok) : rc;
}

/* --- what should run --- */

static const cr_conf_class_t *conf_class(const cr_conf_t *conf, const char *id)
{
    for (unsigned i = 0; i < conf->n_classes; i++)
        if (strcmp(conf->classes[i].id, id) == 0)
            return &conf->classes[i];
    return NULL;
}

/* A source runs from CR_WORKERS_INGEST_LEAD_S before its class's start until the class ends; a
 * source whose class is not in the registry runs at once and creates it, as an ad-hoc class. An
 * ended ad-hoc class is freed at once, so its source creates it again, as a teacher publishing
 * again would: a source to be stopped by ending its class belongs to a [class.<id>]. */
static int ingest_wanted(const cr__class_t *c, int64_t now_s)
{
    if (c == NULL)
        return 1;
    if (c->d.state == CR_CLASS_ENDED)
        return 0;
    if (c->d.start > 0 && now_s < c->d.start - CR_WORKERS_INGEST_LEAD_S)
        return 0;
    return c->d.end == 0 || now_s < c->d.end;
}

static void scan_sources(cr_workers_t *w, uint64_t now_ms)
{
    int64_t now_s = (int64_t)time(NULL);
    for (unsigned i = 0; i < w->conf->n_sources && i < CR_CONF_MAX_SOURCES; i++) {
        const cr_conf_source_t *src = &w->conf->sources[i];
        const cr__class_t *c = cr__class_find(w->r, src->class_id);
        const cr_conf_class_t *cc = conf_class(w->conf, src->class_id);
        const char *teacher = c != NULL ? c->d.teacher : cc != NULL ? cc->teacher : "";
        int wanted = ingest_wanted(c, now_s);
        char name[CR_SUP_NAME_MAX];
        cr_sup_info_t info;
        snprintf(name, sizeof(name), "ingest-%s", src->id);
        int known = cr_sup_find(w->sup, name, &info) == 0;
        int idle = !known || info.state == CR_SUP_STOPPED || info.state == CR_SUP_BACKOFF;
        if (wanted && idle && (w->src_minted_ms[i] == 0 || now_ms - w->src_minted_ms[i] > CR__REMINT_MS)) {
            if (declare_ingest(w, src, teacher) != 0)
                continue;
            w->src_minted_ms[i] = now_ms;
            known = 1;
        }
        if (known)
            cr_sup_want(w->sup, name, wanted);
    }
}

static cr__rec_t *rec_entry(cr_workers_t *w, const char *class_id, int create)
{
    for (unsigned i = 0; i < w->n_recs; i++)
        if (strcmp(w->recs[i].class_id, class_id) == 0)
            return &w->recs[i];
    if (!create || w->n_recs == CR_WORKERS_MAX)
        return NULL;
    cr__rec_t *e = &w->recs[w->n_recs++];
    memset(e, 0, sizeof(*e));
    snprintf(e->class_id, sizeof(e->class_id), "%s", class_id);
    return e;
}

static unsigned active_recorders(const cr_workers_t *w)
{
    unsigned n = 0;
    for (unsigned i = 0; i < w->n_recs; i++)
        n += w->recs[i].active != 0;
    return n;
}

/* One class: should its recorder run? Live means a teacher (main) publisher: its WHIP session is
 * enough, so the recorder connects while the teacher's ICE and DTLS finish and misses little. */
static void scan_class(cr_workers_t *w, const cr__class_t *c, uint64_t now_ms)
{
    const cr_conf_class_t *cc = conf_class(w->conf, c->d.id);
    int configured = w->conf->rec_all || (cc != NULL && cc->record);
    cr__rec_t *e = rec_entry(w, c->d.id, configured && c->d.state == CR_CLASS_LIVE);
    if (e == NULL)
        return;
    int live = c->d.state == CR_CLASS_LIVE && c->main_pub != NULL;
    int want = (configured || e->manual == 1) && e->manual != -1 && c->d.state != CR_CLASS_ENDED;
    if (want && live) {
        e->lost_ms = 0;
        if (!e->active && active_recorders(w) >= w->conf->rec_max) {
            CR_LOG_RATELIMITED(&w->full_log, now_ms * 1000, CR_LOG_WARN, "workers",
                               "not recording class '%s': %u recorders already run ([recording] max_recorders)",
                               c->d.id, w->conf->rec_max);
            return;
        }
        e->active = 1;
    } else if (e->active && want) {
        if (e->lost_ms == 0)
            e->lost_ms = now_ms;
        if (now_ms - e->lost_ms >= CR_WORKERS_REC_GRACE_MS)
            e->active = 0; /* the teacher did not come back: the recording ends */
    } else {
        e->active = 0;
    }
    if (c->d.state == CR_CLASS_ENDED)
        e->manual = 0; /* an operator's say lasts for one run of the class */
}

static void drive_recorders(cr_workers_t *w, uint64_t now_ms)
{
    for (unsigned i = 0; i < w->n_recs;) {
        cr__rec_t *e = &w->recs[i];
        const cr__class_t *c = cr__class_find(w->r, e->class_id);
        char name[CR_SUP_NAME_MAX];
        cr_sup_info_t info;
        snprintf(name, sizeof(name), "record-%s", e->class_id);
        if (c == NULL)
            e->active = 0;
        int known = cr_sup_find(w->sup, name, &info) == 0;
        int idle = !known || info.state == CR_SUP_STOPPED || info.state == CR_SUP_BACKOFF;
        if (e->active && idle && (e->minted_ms == 0 || now_ms - e->minted_ms > CR__REMINT_MS)) {
            /* The teacher is who publishes the main source, else who the timetable names. */
            const char *teacher = c == NULL ? ""
                                  : c->main_pub != NULL && c->main_pub->owner != NULL ? c->main_pub->owner->id
                                                                                      : c->d.teacher;
            if (declare_recorder(w, e->class_id, teacher) == 0) {
                e->minted_ms = now_ms;
                known = 1;
            }
        }
        if (known)
            cr_sup_want(w->sup, name, e->active);
        /* Forget a finished recording of a class that is gone, or not live for a while. */
        int stopped = !known || (cr_sup_find(w->sup, name, &info) == 0 && info.state == CR_SUP_STOPPED &&
                                 (c == NULL || now_ms - info.since_ms >= CR__KEEP_STOPPED_MS));
        if (!e->active && stopped && e->manual == 0 && (c == NULL || c->d.state != CR_CLASS_LIVE)) {
            if (known)
                cr_sup_remove(w->sup, name);
            *e = w->recs[--w->n_recs];
            continue;
        }
        i++;
    }
}

void cr_workers_poll(cr_workers_t *w, uint64_t now_ms)
{
    if (w == NULL)
        return;
    if (now_ms >= w->next_scan_ms) {
        w->next_scan_ms = now_ms + CR__SCAN_MS;
        scan_sources(w, now_ms);
        if (w->rec_dir[0] != '\0') {
            cr_list_t *it, *tmp;
            cr_list_foreach_safe(it, tmp, &w->r->classes)
            {
                scan_class(w, cr_container_of(it, cr__class_t, link), now_ms);
            }
            drive_recorders(w, now_ms);
        }
    }
    cr_sup_poll(w->sup, now_ms);
}

int cr_workers_record(cr_workers_t *w, const char *class_id, int on, char *detail, size_t cap)
{
    detail[0] = '\0';
    if (w->rec_dir[0] == '\0') {
        snprintf(detail, cap, "recording is off: set [recording] dir");
        return CR_API_NOT_FOUND;
    }
    if (!cr_class_id_valid(class_id, strlen(class_id)))
        return CR_API_BAD_CLASS_ID;
    const cr__class_t *c = cr__class_find(w->r, class_id);
    if (c == NULL || c->d.state == CR_CLASS_ENDED) {
        snprintf(detail, cap, "%s", class_id);
        return c == NULL ? CR_API_NO_CLASS : CR_API_ENDED;
    }
    cr__rec_t *e = rec_entry(w, class_id, 1);
    if (e == NULL) {
        snprintf(detail, cap, "%d recordings are tracked already", CR_WORKERS_MAX);
        return CR_API_RELAY_FULL;
    }
    e->manual = on ? 1 : -1;
    cr_log(CR_LOG_INFO, "workers", "recording of class '%s' %s by an operator", class_id,
           on ? "started" : "stopped");
    w->next_scan_ms = 0; /* act at the next poll */
    return 0;
}

/* --- reporting --- */

static json_t *worker_json(const cr_sup_info_t *i, uint64_t now_ms)
{
    const char *dash = strchr(i->name, '-');
    json_t *o = json_pack("{s:s, s:s%, s:s, s:s, s:b, s:i, s:i, s:i, s:i, s:s, s:f}", "name", i->name, "kind",
                          i->name, dash ? (size_t)(dash - i->name) : strlen(i->name), "id", dash ? dash + 1 : "",
                          "state", cr_sup_state_name(i->state), "wanted", i->wanted, "pid", (int)i->pid, "starts",
                          (int)i->starts, "restarts", (int)i->restarts, "failures", (int)i->failures, "last_exit",
                          i->last_exit, "state_for_s", (double)(now_ms - i->since_ms) / 1000.0);
    if (o != NULL && i->state == CR_SUP_BACKOFF)
        json_object_set_new(o, "restart_in_s",
                            json_real(i->next_start_ms > now_ms ? (double)(i->next_start_ms - now_ms) / 1000.0 : 0));
    return o;
}

json_t *cr_workers_json(cr_workers_t *w, uint64_t now_ms)
{
    json_t *arr = json_array();
    for (unsigned i = 0; w != NULL && i < cr_sup_count(w->sup); i++) {
        cr_sup_info_t info;
        if (cr_sup_info(w->sup, i, &info) == 0)
            json_array_append_new(arr, worker_json(&info, now_ms));
    }
    return json_pack("{s:s?, s:s?, s:o}", "client", w ? w->client : NULL, "recordings_dir",
                     w ? cr_workers_rec_dir(w) : NULL, "workers", arr);
}

json_t *cr_workers_recorder_json(cr_workers_t *w, const char *class_id)
{
    char name[CR_SUP_NAME_MAX];
    cr_sup_info_t info;
    snprintf(name, sizeof(name), "record-%s", class_id);
    if (w == NULL || cr_sup_find(w->sup, name, &info) != 0)
        return json_null();
    return json_pack("{s:s, s:i, s:i, s:s}", "state", cr_sup_state_name(info.state), "pid", (int)info.pid,
                     "restarts", (int)info.restarts, "last_exit", info.last_exit);
}

static cr_metric_family_t *family(cr_metrics_t *m, const char *name, enum cr_metric_type t, const char *help)
{
    static const char *const labels[] = {"worker", "kind"};
    cr_metric_desc_t d = {.name = name, .help = help, .type = t, .labels = labels, .n_labels = 2,
                          .max_series = CR_WORKERS_MAX};
    cr_metric_family_t *f = NULL;
    return cr_metrics_family(m, &d, &f) == 0 ? f : NULL;
}

void cr_workers_metrics(cr_workers_t *w, cr_metrics_t *m)
{
    if (w == NULL || cr_sup_count(w->sup) == 0)
        return;
    cr_metric_family_t *up = family(m, "classrelay_worker_up", CR_METRIC_GAUGE,
                                    "1 while a supervised worker process (ingest, record) runs.");
    cr_metric_family_t *bo = family(m, "classrelay_worker_backoff", CR_METRIC_GAUGE,
                                    "1 while a worker waits to be restarted after dying.");
    cr_metric_family_t *st = family(m, "classrelay_worker_starts_total", CR_METRIC_COUNTER,
                                    "Processes started for a worker.");
    cr_metric_family_t *rs = family(m, "classrelay_worker_restarts_total", CR_METRIC_COUNTER,
                                    "Restarts of a worker after it died while wanted.");
    for (unsigned i = 0; i < cr_sup_count(w->sup); i++) {
        cr_sup_info_t info;
        if (cr_sup_info(w->sup, i, &info) != 0)
            continue;
        char kind[16];
        const char *dash = strchr(info.name, '-');
        snprintf(kind, sizeof(kind), "%.*s", dash ? (int)(dash - info.name) : 0, info.name);
        const char *vals[2] = {info.name, kind};
        cr_metric_set(cr_metric_series(up, vals), info.state == CR_SUP_RUNNING);
        cr_metric_set(cr_metric_series(bo, vals), info.state == CR_SUP_BACKOFF);
        cr_metric_set(cr_metric_series(st, vals), info.starts);
        cr_metric_set(cr_metric_series(rs, vals), info.restarts);
    }
}
