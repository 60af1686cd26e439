/*
 * Admission of a timetable, an ad-hoc class or a join (see cr_admit.h).
 *
 * A candidate class is checked against the peak, over its period, of what the classes already
 * accepted reserve on each link it touches. Reservations are constant over a class's period, so
 * the peak is reached at the candidate's start or at the start of an accepted class inside it.
 */
#include "cr_admit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cr_err.h"

void cr_admit_params_default(cr_admit_params_t *p)
{
    p->margin = 0.0;
    p->use_estimate = 0;
    p->kind_rank[CR_SKIND_DEDICATED] = 0;
    p->kind_rank[CR_SKIND_SYNCHRONOUS] = 1;
    p->kind_rank[CR_SKIND_MASTER] = 2;
    p->kind_rank[CR_SKIND_NETWORK] = 3;
}

const char *cr_admit_status_name(int status)
{
    static const char *const names[] = {"pending", "admitted", "degraded", "refused"};
    return status >= 0 && status <= CR_ADMIT_REFUSED ? names[status] : "?";
}

int cr_admit_init(cr_admit_t *a, const cr_topo_t *t)
{
    memset(a, 0, sizeof(*a));
    a->t = t;
    size_t nr = t->lim.max_rooms, ns = t->lim.max_schools;
    a->room_cur = calloc(nr, sizeof(uint64_t));
    a->room_peak = calloc(nr, sizeof(uint64_t));
    a->room_add = calloc(nr, sizeof(uint64_t));
    a->school_cur = calloc(ns, sizeof(uint64_t));
    a->school_peak = calloc(ns, sizeof(uint64_t));
    a->school_add = calloc(ns, sizeof(uint64_t));
    a->room_mark = calloc(nr, 1);
    a->school_mark = calloc(ns, 1);
    if (!a->room_cur || !a->room_peak || !a->room_add || !a->school_cur || !a->school_peak || !a->school_add ||
        !a->room_mark || !a->school_mark) {
        cr_admit_dispose(a);
        return CR_ENOMEM;
    }
    return 0;
}

void cr_admit_dispose(cr_admit_t *a)
{
    free(a->room_cur);
    free(a->room_peak);
    free(a->room_add);
    free(a->school_cur);
    free(a->school_peak);
    free(a->school_add);
    free(a->room_mark);
    free(a->school_mark);
    memset(a, 0, sizeof(*a));
}

static int accepted(const cr_admit_class_t *c)
{
    return c->status == CR_ADMIT_ADMITTED || c->status == CR_ADMIT_DEGRADED;
}

static int class_valid(const cr_topo_t *t, const cr_admit_class_t *c)
{
    if (c->n_rooms > CR_ADMIT_MAX_ROOMS || c->n_streams > CR_ADMIT_MAX_STREAMS || c->end_us <= c->start_us ||
        c->kind >= CR_SKIND_COUNT)
        return 0;
    for (uint16_t k = 0; k < c->n_rooms; k++)
        if (c->rooms[k] >= t->n_rooms)
            return 0;
    return 1;
}

static uint64_t plan_budget(const cr_link_t *l, const cr_admit_params_t *p)
{
    uint64_t b = p->use_estimate ? cr_link_budget(l) : (uint64_t)((double)l->capacity_bps * l->target);
    return (uint64_t)((double)b * (1.0 - p->margin));
}

/* Marks the links cand touches and fills their room_peak / school_peak: the most that accepted
 * classes reserve on each at any moment of cand's period. */
static void peaks(cr_admit_t *a, const cr_admit_class_t *classes, unsigned n, const cr_admit_class_t *cand)
{
    const cr_topo_t *t = a->t;
    for (uint16_t k = 0; k < cand->n_rooms; k++) {
        uint32_t r = cand->rooms[k], s = t->rooms[r].school;
        a->room_mark[r] = a->school_mark[s] = 1;
        a->room_peak[r] = a->room_add[r] = 0;
        a->school_peak[s] = a->school_add[s] = 0;
    }
    for (unsigned cp = 0; cp <= n; cp++) {
        uint64_t at = cand->start_us; /* checkpoint n is the candidate's own start */
        if (cp < n) {
            if (!accepted(&classes[cp]) || classes[cp].start_us <= cand->start_us ||
                classes[cp].start_us >= cand->end_us)
                continue;
            at = classes[cp].start_us;
        }
        for (uint16_t k = 0; k < cand->n_rooms; k++) {
            uint32_t r = cand->rooms[k];
            a->room_cur[r] = 0;
            a->school_cur[t->rooms[r].school] = 0;
        }
        for (unsigned j = 0; j < n; j++) {
            const cr_admit_class_t *c = &classes[j];
            if (!accepted(c) || c->start_us > at || c->end_us <= at)
                continue;
            for (uint16_t k = 0; k < c->n_rooms; k++) {
                uint32_t r = c->rooms[k], s = t->rooms[r].school;
                if (a->room_mark[r])
                    a->room_cur[r] += c->reserved_bps[k];
                if (a->school_mark[s])
                    a->school_cur[s] += c->reserved_bps[k];
            }
        }
        for (uint16_t k = 0; k < cand->n_rooms; k++) {
            uint32_t r = cand->rooms[k], s = t->rooms[r].school;
            if (a->room_cur[r] > a->room_peak[r])
                a->room_peak[r] = a->room_cur[r];
            if (a->school_cur[s] > a->school_peak[s])
                a->school_peak[s] = a->school_cur[s];
        }
    }
}

/* Clears the marks and accumulators peaks() set for cand's links. */
static void finish(cr_admit_t *a, const cr_admit_class_t *cand)
{
    for (uint16_t k = 0; k < cand->n_rooms; k++) {
        uint32_t r = cand->rooms[k], s = a->t->rooms[r].school;
        a->room_mark[r] = a->school_mark[s] = 0;
        a->room_add[r] = a->school_add[s] = 0;
    }
}

/* Does demand d fit classroom r and its school? If not, and why is empty, writes why. */
static int fits(cr_admit_t *a, uint32_t r, uint64_t d, const cr_admit_params_t *p, char *why, unsigned len)
{
    const cr_room_t *room = &a->t->rooms[r];
    const cr_school_t *sc = &a->t->schools[room->school];
    uint64_t rb = plan_budget(&room->link, p), sb = plan_budget(&sc->link, p);
    uint64_t rn = a->room_peak[r] + a->room_add[r] + d, sn = a->school_peak[room->school] + a->school_add[room->school] + d;
    char x[24], y[24];
    if (rn > rb) {
        if (why[0] == '\0')
            snprintf(why, len, "classroom '%s' link: floors %s > %s budget", room->name,
                     cr_sched_fmt_rate(x, sizeof(x), rn), cr_sched_fmt_rate(y, sizeof(y), rb));
        return 0;
    }
    if (sn > sb) {
        if (why[0] == '\0')
            snprintf(why, len, "school '%s' link: floors %s > %s budget", sc->name, cr_sched_fmt_rate(x, sizeof(x), sn),
                     cr_sched_fmt_rate(y, sizeof(y), sb));
        return 0;
    }
    return 1;
}

/* Decides cand against the accepted classes of classes[0..n): fills its output part. */
static int decide(cr_admit_t *a, const cr_admit_class_t *classes, unsigned n, cr_admit_class_t *cand,
                  const cr_admit_params_t *p)
{
    peaks(a, classes, n, cand);
    uint64_t full = cand->audio_bps, ess = cand->audio_bps + (cand->n_streams > 0 ? cand->floor_bps[0] : 0);
    for (uint8_t i = 0; i < cand->n_streams; i++)
        full += cand->floor_bps[i];
    char why[CR_ADMIT_REASON_MAX] = "";
    unsigned n_full = 0, n_ess = 0, n_ref = 0;
    for (uint16_t k = 0; k < cand->n_rooms; k++) {
        uint32_t r = cand->rooms[k], s = a->t->rooms[r].school;
        uint64_t d = 0;
        cand->room_status[k] = CR_ADMIT_ROOM_REFUSED;
        if (fits(a, r, full, p, why, sizeof(why))) {
            d = full;
            cand->room_status[k] = CR_ADMIT_ROOM_FULL;
            n_full++;
        } else if (ess < full && fits(a, r, ess, p, why, sizeof(why))) {
            d = ess;
            cand->room_status[k] = CR_ADMIT_ROOM_ESSENTIAL;
            n_ess++;
        } else {
            n_ref++;
        }
        cand->reserved_bps[k] = d;
        a->room_add[r] += d;
        a->school_add[s] += d;
    }
    finish(a, cand);
    if (n_ref == 0 && n_ess == 0) {
        cand->status = CR_ADMIT_ADMITTED;
        cand->reason[0] = '\0';
    } else if (n_full + n_ess == 0) {
        cand->status = CR_ADMIT_REFUSED;
        snprintf(cand->reason, sizeof(cand->reason), "refused: %s", why);
    } else {
        cand->status = CR_ADMIT_DEGRADED;
        snprintf(cand->reason, sizeof(cand->reason), "degraded: %s (%u of %u classrooms full, %u teacher camera only, %u refused)",
                 why, n_full, (unsigned)cand->n_rooms, n_ess, n_ref);
    }
    return cand->status;
}

int cr_admit_timetable(cr_admit_t *a, cr_admit_class_t *classes, unsigned n, const cr_admit_params_t *p)
{
    cr_admit_params_t dflt;
    if (p == NULL) {
        cr_admit_params_default(&dflt);
        p = &dflt;
    }
    if (n > CR_ADMIT_MAX_CLASSES)
        return CR_ETOOBIG;
    for (unsigned i = 0; i < n; i++) {
        if (!class_valid(a->t, &classes[i]))
            return CR_EINVAL;
        classes[i].status = CR_ADMIT_PENDING;
    }
    /* priority order: kind rank, start, position (insertion sort: stable, n is small) */
    for (unsigned i = 0; i < n; i++) {
        unsigned j = i;
        const cr_admit_class_t *c = &classes[i];
        while (j > 0) {
            const cr_admit_class_t *o = &classes[a->order[j - 1]];
            int before = p->kind_rank[c->kind] < p->kind_rank[o->kind] ||
                         (p->kind_rank[c->kind] == p->kind_rank[o->kind] && c->start_us < o->start_us);
            if (!before)
                break;
            a->order[j] = a->order[j - 1];
            j--;
        }
        a->order[j] = (uint16_t)i;
    }
    int refused = 0;
    for (unsigned i = 0; i < n; i++)
        refused += decide(a, classes, n, &classes[a->order[i]], p) == CR_ADMIT_REFUSED;
    return refused;
}

int cr_admit_class(cr_admit_t *a, const cr_admit_class_t *classes, unsigned n, cr_admit_class_t *cand,
                   const cr_admit_params_t *p)
{
    cr_admit_params_t dflt;
    if (p == NULL) {
        cr_admit_params_default(&dflt);
        p = &dflt;
    }
    if (!class_valid(a->t, cand))
        return CR_EINVAL;
    cand->status = CR_ADMIT_PENDING;
    return decide(a, classes, n, cand, p);
}

int cr_admit_join(cr_admit_t *a, cr_admit_class_t *classes, unsigned n, unsigned idx, uint32_t room, uint64_t from_us,
                  const cr_admit_params_t *p, char *reason, unsigned len)
{
    if (idx >= n || room >= a->t->n_rooms)
        return CR_EINVAL;
    cr_admit_class_t *c = &classes[idx];
    for (uint16_t k = 0; k < c->n_rooms; k++) {
        if (c->rooms[k] == room) { /* already in: its reservation stands */
            snprintf(reason, len, "%s", c->room_status[k] == CR_ADMIT_ROOM_FULL ? "" : c->reason);
            return c->room_status[k] == CR_ADMIT_ROOM_FULL ? CR_ADMIT_ADMITTED
                   : c->room_status[k] == CR_ADMIT_ROOM_ESSENTIAL ? CR_ADMIT_DEGRADED
                                                                   : CR_ADMIT_REFUSED;
        }
    }
    if (c->n_rooms >= CR_ADMIT_MAX_ROOMS)
        return CR_EFULL;
    cr_admit_class_t one = *c;
    one.n_rooms = 1;
    one.rooms[0] = room;
    if (from_us > one.start_us)
        one.start_us = from_us;
    if (one.start_us >= one.end_us)
        one.start_us = one.end_us - 1;
    int st = cr_admit_class(a, classes, n, &one, p);
    if (st < 0)
        return st;
    if (st == CR_ADMIT_REFUSED) {
        snprintf(reason, len, "%s", one.reason);
        return st;
    }
    c->rooms[c->n_rooms] = room;
    c->room_status[c->n_rooms] = one.room_status[0];
    c->reserved_bps[c->n_rooms] = one.reserved_bps[0];
    c->n_rooms++;
    snprintf(reason, len, "%s", one.reason);
    return st;
}
