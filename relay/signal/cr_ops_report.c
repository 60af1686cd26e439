/*
 * Lesson reports: while a class is live, each tick adds one second to its accumulators (per classroom:
 * attendance, freezes, loss / RTT / jitter distributions, layers, time below the floor). When the class
 * ends (state ended, or an ad-hoc class that went away) the report is written as JSON and HTML into
 * [ops] report_dir and listed by GET /api/reports.
 *
 * A freeze is a run of seconds in which a connected classroom received (almost) no video while its
 * source was sending: under CR_REPORT_FREEZE_BPS, or nothing at all from a silent classroom.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cr_events.h"
#include "cr_log.h"
#include "cr_ops_int.h"
#include "cr_ops_report.h"

#define CR_REPORT_CLASSES 64     /* classes accumulated at once */
#define CR_REPORT_ROOMS 128      /* classrooms per class */
#define CR_REPORT_FREEZE_BPS 60000.0 /* below this a classroom sees no video (audio alone is ~50 kbps) */
#define CR_REPORT_SOURCE_BPS 200000.0 /* the teacher sends at least this when video flows */
#define CR_REPORT_ON_TIME_S 300  /* started within 5 minutes of the timetable */
#define CR_REPORT_LAYERS 4

static const double loss_edges[] = {0.005, 0.01, 0.02, 0.05, 0.1}; /* fraction */
static const double rtt_edges[] = {50, 100, 200, 400, 800};        /* ms */
static const double jit_edges[] = {10, 20, 50, 100, 200};          /* ms */
#define N_EDGES 5

typedef struct dist {
    uint32_t buckets[N_EDGES + 1];
    double sum, max;
    uint32_t n;
} dist_t;

typedef struct room {
    char id[65], school[65], name[129];
    int64_t first_s, last_s;
    uint32_t attended_s, below_floor_s, freeze_s;
    uint32_t freezes, cur_freeze_s, longest_freeze_s;
    dist_t loss, rtt, jitter;
    char layer_names[CR_REPORT_LAYERS][16];
    uint32_t layer_s[CR_REPORT_LAYERS];
} room_t;

typedef struct acc {
    int used;
    cr_class_desc_t d;
    char teacher[65];
    int64_t live_s, last_s;
    room_t rooms[CR_REPORT_ROOMS];
    unsigned n_rooms;
} acc_t;

static acc_t *g_acc;                      /* CR_REPORT_CLASSES, allocated on first use */
static char g_list[CR_REPORT_LIST][128];  /* names of the reports written, newest last */
static unsigned g_n_list;

void cr__ops_report_reset(void)
{
    free(g_acc);
    g_acc = NULL;
    g_n_list = 0;
}

static void dist_add(dist_t *d, const double *edges, double v)
{
    unsigned b = 0;
    while (b < N_EDGES && v > edges[b])
        b++;
    d->buckets[b]++;
    d->sum += v;
    d->n++;
    if (v > d->max)
        d->max = v;
}

static acc_t *acc_find(const char *class_id, int create)
{
    if (g_acc == NULL && (g_acc = calloc(CR_REPORT_CLASSES, sizeof(*g_acc))) == NULL)
        return NULL;
    acc_t *free_slot = NULL;
    for (unsigned i = 0; i < CR_REPORT_CLASSES; i++) {
        if (g_acc[i].used && strcmp(g_acc[i].d.id, class_id) == 0)
            return &g_acc[i];
        if (!g_acc[i].used && free_slot == NULL)
            free_slot = &g_acc[i];
    }
    if (!create || free_slot == NULL)
        return NULL;
    memset(free_slot, 0, sizeof(*free_slot));
    free_slot->used = 1;
    return free_slot;
}

static room_t *room_find(acc_t *a, const cr_relay_session_snap_t *s)
{
    for (unsigned i = 0; i < a->n_rooms; i++)
        if (strcmp(a->rooms[i].id, s->participant) == 0)
            return &a->rooms[i];
    if (a->n_rooms >= CR_REPORT_ROOMS)
        return NULL;
    room_t *r = &a->rooms[a->n_rooms++];
    memset(r, 0, sizeof(*r));
    snprintf(r->id, sizeof(r->id), "%s", s->participant);
    snprintf(r->school, sizeof(r->school), "%s", s->school);
    snprintf(r->name, sizeof(r->name), "%s", s->name);
    return r;
}

static void room_layer(room_t *rm, const char *layer)
{
    for (unsigned i = 0; i < CR_REPORT_LAYERS; i++)
        if (rm->layer_s[i] > 0 && strcmp(rm->layer_names[i], layer) == 0) {
            rm->layer_s[i]++;
            return;
        }
    for (unsigned i = 0; i < CR_REPORT_LAYERS; i++)
        if (rm->layer_s[i] == 0) {
            snprintf(rm->layer_names[i], sizeof(rm->layer_names[i]), "%s", layer);
            rm->layer_s[i] = 1;
            return;
        }
}

/* One second of one classroom's subscriber session. */
static void room_second(room_t *rm, const cr_relay_session_snap_t *s, const cr__ops_ent_t *cls, int64_t now)
{
    if (rm->last_s == now)
        return; /* one sample per second even with two sessions */
    if (rm->first_s == 0)
        rm->first_s = now;
    rm->last_s = now;
    rm->attended_s++;
    cr__ops_ent_t *link = cr__ops_find(CR_OPS_CLASSROOM, s->school[0] ? s->school : "unknown", s->participant, 0);
    int silent = link != NULL && link->e.silent;
    if (s->have_stats) {
        dist_add(&rm->loss, loss_edges, s->st.loss);
        dist_add(&rm->rtt, rtt_edges, s->st.rtt_ms);
        dist_add(&rm->jitter, jit_edges, s->st.jitter_ms);
        room_layer(rm, s->st.layer[0] ? s->st.layer : "single");
    }
    if (link != NULL && link->e.floor_bps > 0 && link->e.bps < link->e.floor_bps)
        rm->below_floor_s++;
    int source_on = cls != NULL && cls->e.bps >= CR_REPORT_SOURCE_BPS;
    /* The first seconds of a session are start-up (ICE, DTLS, the first keyframe), not freezes. */
    int frozen = rm->attended_s > 2 && source_on && (silent || (s->have_stats && (double)s->st.bps_out < CR_REPORT_FREEZE_BPS));
    if (frozen) {
        if (rm->cur_freeze_s++ == 0)
            rm->freezes++;
        rm->freeze_s++;
        if (rm->cur_freeze_s > rm->longest_freeze_s)
            rm->longest_freeze_s = rm->cur_freeze_s;
    } else {
        rm->cur_freeze_s = 0;
    }
}

static json_t *dist_json(const dist_t *d, const double *edges, double scale)
{
    json_t *b = json_array();
    for (unsigned i = 0; i <= N_EDGES; i++) {
        json_t *le = i < N_EDGES ? json_real(edges[i] * scale) : json_string("+Inf");
        json_array_append_new(b, json_pack("{s:o,s:I}", "le", le, "seconds", (json_int_t)d->buckets[i]));
    }
    return json_pack("{s:f,s:f,s:o}", "mean", d->n ? round(d->sum / d->n * scale * 100) / 100 : 0.0, "max",
                     round(d->max * scale * 100) / 100, "buckets", b);
}

static json_t *room_json(const room_t *rm, const cr_class_desc_t *d)
{
    json_t *layers = json_object();
    for (unsigned i = 0; i < CR_REPORT_LAYERS; i++)
        if (rm->layer_s[i] > 0)
            json_object_set_new(layers, rm->layer_names[i], json_integer(rm->layer_s[i]));
    return json_pack("{s:s,s:s,s:s,s:b,s:I,s:I,s:f,s:{s:I,s:I,s:I},s:o,s:o,s:o,s:o,s:I}", "classroom", rm->id,
                     "school", rm->school, "name", rm->name, "invited",
                     d->n_invited == 0 || cr_class_is_invited(d, rm->id), "first_seen", (json_int_t)rm->first_s,
                     "last_seen", (json_int_t)rm->last_s, "minutes_attended", round(rm->attended_s / 6.0) / 10,
                     "freezes", "count", (json_int_t)rm->freezes, "longest_s", (json_int_t)rm->longest_freeze_s,
                     "total_s", (json_int_t)rm->freeze_s, "loss_percent", dist_json(&rm->loss, loss_edges, 100),
                     "rtt_ms", dist_json(&rm->rtt, rtt_edges, 1), "jitter_ms", dist_json(&rm->jitter, jit_edges, 1),
                     "layers_seconds", layers, "below_floor_s", (json_int_t)rm->below_floor_s);
}

json_t *cr__ops_report_json(const void *accp, int64_t end_s)
{
    const acc_t *a = accp;
    const cr_class_desc_t *d = &a->d;
    json_t *rooms = json_array();
    unsigned attended_invited = 0, attended = 0;
    for (unsigned i = 0; i < a->n_rooms; i++) {
        json_array_append_new(rooms, room_json(&a->rooms[i], d));
        attended++;
        if (d->n_invited > 0 && cr_class_is_invited(d, a->rooms[i].id))
            attended_invited++;
    }
    json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:f}", "class", d->id, "kind", cr_class_kind_name(d->kind),
                          "title", d->title[0] ? d->title : d->id, "school", d->school, "teacher",
                          a->teacher[0] ? a->teacher : d->teacher, "scheduled_start", (json_int_t)d->start,
                          "started", (json_int_t)a->live_s, "ended", (json_int_t)end_s, "minutes",
                          round((double)(end_s - a->live_s) / 6.0) / 10);
    json_object_set_new(j, "started_on_time", d->start > 0 ? json_boolean(a->live_s <= d->start + CR_REPORT_ON_TIME_S)
                                                           : json_null());
    json_object_set_new(j, "held", json_true()); /* 开课: the lesson took place */
    json_object_set_new(j, "invited", json_integer(d->n_invited));
    json_object_set_new(j, "attended", json_integer(d->n_invited ? attended_invited : attended));
    json_object_set_new(j, "attendance_rate", d->n_invited ? json_real(round(1000.0 * attended_invited / d->n_invited) / 1000)
                                                           : json_null()); /* 到课率 */
    json_object_set_new(j, "classrooms", rooms);
    return j;
}

static void list_add(const char *name)
{
    if (g_n_list == CR_REPORT_LIST) {
        memmove(g_list[0], g_list[1], sizeof(g_list[0]) * (CR_REPORT_LIST - 1));
        g_n_list--;
    }
    snprintf(g_list[g_n_list++], sizeof(g_list[0]), "%s", name);
}

static int write_file(const char *dir, const char *name, const char *text)
{
    char path[1024], tmp[1100];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w <= 0) {
            close(fd);
            unlink(tmp);
            return -1;
        }
        off += (size_t)w;
    }
    close(fd);
    return rename(tmp, path);
}

static void finish(cr_relay_t *r, acc_t *a, int64_t now)
{
    const char *dir = cr_relay_conf(r)->report_dir;
    json_t *j = cr__ops_report_json(a, now);
    char base[128], name[140];
    struct tm tm;
    time_t t = (time_t)a->live_s;
    gmtime_r(&t, &tm);
    snprintf(base, sizeof(base), "%s-%04d%02d%02dT%02d%02d%02dZ", a->d.id, tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    a->used = 0;
    if (j == NULL)
        return;
    json_object_set_new(j, "report", json_string(base));
    char *text = json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    char *html = cr_ops_report_html(j);
    json_decref(j);
    if (dir[0] != '\0' && text != NULL && html != NULL) {
        mkdir(dir, 0755);
        snprintf(name, sizeof(name), "%s.json", base);
        int rc = write_file(dir, name, text);
        snprintf(name, sizeof(name), "%s.html", base);
        rc |= write_file(dir, name, html);
        if (rc == 0) {
            list_add(base);
            cr_event(CR_LOG_INFO, "lesson_report", "class", a->d.id, "report", base, NULL);
        } else {
            cr_log(CR_LOG_WARN, "ops", "cannot write the lesson report %s/%s: %s", dir, base, strerror(errno));
        }
    }
    free(text);
    free(html);
}

void cr__ops_report_tick(cr_relay_t *r, const cr_relay_session_snap_t *ss, size_t n, int64_t now)
{
    size_t cap = cr_relay_conf(r)->max_classes;
    cr_relay_class_snap_t *cs = calloc(cap, sizeof(*cs));
    size_t nc = cs ? cr_relay_class_snaps(r, cs, cap) : 0;
    if (nc > cap)
        nc = cap;
    for (size_t i = 0; i < nc; i++) {
        acc_t *a = acc_find(cs[i].d.id, cs[i].d.state == CR_CLASS_LIVE);
        if (a == NULL)
            continue;
        if (a->live_s == 0)
            a->live_s = now;
        a->d = cs[i].d;
        a->last_s = now;
        if (cs[i].teacher_id[0])
            snprintf(a->teacher, sizeof(a->teacher), "%s", cs[i].teacher_id);
        if (cs[i].d.state == CR_CLASS_ENDED)
            finish(r, a, now);
    }
    free(cs);
    for (size_t i = 0; i < n; i++) {
        const cr_relay_session_snap_t *s = &ss[i];
        if (s->role != CR_ROLE_CLASSROOM || s->peer_role != CR_PEER_SUBSCRIBER || !s->connected)
            continue;
        acc_t *a = acc_find(s->class_id, 0);
        room_t *rm = a ? room_find(a, s) : NULL;
        if (rm != NULL)
            room_second(rm, s, cr__ops_find(CR_OPS_CLASS, "", s->class_id, 0), now);
    }
    /* A class that went away (an ad-hoc class ends with its last participant). */
    for (unsigned i = 0; g_acc != NULL && i < CR_REPORT_CLASSES; i++)
        if (g_acc[i].used && g_acc[i].last_s != now)
            finish(r, &g_acc[i], now);
}

size_t cr_ops_reports(const char (**names)[128])
{
    *names = (const char(*)[128])g_list;
    return g_n_list;
}
