/*
 * The scheduler's tree: schools, classrooms and subscriptions in arrays allocated once.
 */
#include "cr_topo.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cr_err.h"

#define SHARED_HOLD_US 1000000 /* classrooms leave a shared congestion to the school this long */
#define SCHOOL_PROBE_GAP_US 100000 /* after one classroom's probe, the next may start this much later */

const char *cr_sched_kind_name(int kind)
{
    static const char *const names[CR_SKIND_COUNT] = {"synchronous", "dedicated", "master", "network"};
    return kind >= 0 && kind < CR_SKIND_COUNT ? names[kind] : "?";
}

const char *cr_sched_role_name(int role)
{
    static const char *const names[CR_SROLE_COUNT] = {"teacher", "board", "stage", "other"};
    return role >= 0 && role < CR_SROLE_COUNT ? names[role] : "?";
}

char *cr_sched_fmt_rate(char *buf, unsigned len, uint64_t bps)
{
    if (len == 0)
        return buf;
    if (bps >= 1000000) {
        uint64_t tenths = (bps + 50000) / 100000;
        if (tenths % 10 == 0 || bps >= 100000000)
            snprintf(buf, len, "%llu Mbps", (unsigned long long)((bps + 500000) / 1000000));
        else
            snprintf(buf, len, "%llu.%llu Mbps", (unsigned long long)(tenths / 10), (unsigned long long)(tenths % 10));
    } else if (bps >= 1000) {
        snprintf(buf, len, "%llu kbps", (unsigned long long)((bps + 500) / 1000));
    } else {
        snprintf(buf, len, "%llu bps", (unsigned long long)bps);
    }
    return buf;
}

void cr_topo_limits_default(cr_topo_limits_t *lim)
{
    lim->max_schools = 64;
    lim->max_rooms = 1024;
    lim->max_subs = 8192;
}

int cr_topo_init(cr_topo_t *t, const cr_topo_limits_t *lim, const cr_est_params_t *est)
{
    memset(t, 0, sizeof(*t));
    if (lim != NULL)
        t->lim = *lim;
    else
        cr_topo_limits_default(&t->lim);
    if (est != NULL)
        t->est_params = *est;
    else
        cr_est_params_default(&t->est_params);
    if (t->lim.max_schools == 0 || t->lim.max_rooms == 0 || t->lim.max_subs == 0 ||
        t->lim.max_subs >= CR_SCHED_NONE || t->lim.max_rooms >= CR_SCHED_NONE)
        return CR_EINVAL;
    t->schools = calloc(t->lim.max_schools, sizeof(*t->schools));
    t->rooms = calloc(t->lim.max_rooms, sizeof(*t->rooms));
    t->subs = calloc(t->lim.max_subs, sizeof(*t->subs));
    t->free_subs = calloc(t->lim.max_subs, sizeof(*t->free_subs));
    if (t->schools == NULL || t->rooms == NULL || t->subs == NULL || t->free_subs == NULL) {
        cr_topo_dispose(t);
        return CR_ENOMEM;
    }
    /* Free stack: the lowest index on top, so indices are handed out in order. */
    for (uint32_t i = 0; i < t->lim.max_subs; i++)
        t->free_subs[i] = t->lim.max_subs - 1 - i;
    t->n_free_subs = t->lim.max_subs;
    return 0;
}

void cr_topo_dispose(cr_topo_t *t)
{
    free(t->schools);
    free(t->rooms);
    free(t->subs);
    free(t->free_subs);
    t->schools = NULL;
    t->rooms = NULL;
    t->subs = NULL;
    t->free_subs = NULL;
    t->n_schools = t->n_rooms = t->n_free_subs = 0;
}

static int name_ok(const char *name)
{
    size_t n = name != NULL ? strnlen(name, CR_SCHED_NAME_MAX + 1) : 0;
    return n >= 1 && n <= CR_SCHED_NAME_MAX;
}

static int link_init(cr_link_t *l, uint64_t capacity_bps, double target, uint64_t dflt)
{
    if (!(target >= 0.0 && target <= 1.0))
        return CR_EINVAL;
    memset(l, 0, sizeof(*l));
    l->capacity_bps = capacity_bps != 0 ? capacity_bps : dflt;
    l->target = target > 0.0 ? target : CR_TOPO_TARGET;
    l->budget_bps = cr_link_budget(l);
    return 0;
}

uint64_t cr_link_budget(const cr_link_t *l)
{
    uint64_t b = (uint64_t)((double)l->capacity_bps * l->target);
    return l->estimate_bps != 0 && l->estimate_bps < b ? l->estimate_bps : b;
}

int cr_topo_add_school(cr_topo_t *t, const char *name, uint64_t capacity_bps, double target, uint64_t now_us)
{
    if (!name_ok(name) || cr_topo_find_school(t, name) >= 0)
        return CR_EINVAL;
    if (t->n_schools >= t->lim.max_schools)
        return CR_EFULL;
    cr_school_t *s = &t->schools[t->n_schools];
    memset(s, 0, sizeof(*s));
    if (link_init(&s->link, capacity_bps, target, CR_TOPO_SCHOOL_BPS) != 0)
        return CR_EINVAL;
    memcpy(s->name, name, strlen(name) + 1);
    cr_school_est_init(&s->est, s->link.capacity_bps, now_us);
    return (int)t->n_schools++;
}

int cr_topo_add_room(cr_topo_t *t, uint32_t school, const char *name, uint64_t capacity_bps, double target,
                     uint64_t now_us)
{
    if (school >= t->n_schools || !name_ok(name) || cr_topo_find_room(t, name) >= 0)
        return CR_EINVAL;
    cr_school_t *s = &t->schools[school];
    if (t->n_rooms >= t->lim.max_rooms || s->n_rooms >= CR_SCHED_ROOMS_PER_SCHOOL)
        return CR_EFULL;
    cr_room_t *r = &t->rooms[t->n_rooms];
    memset(r, 0, sizeof(*r));
    if (link_init(&r->link, capacity_bps, target, CR_TOPO_ROOM_BPS) != 0)
        return CR_EINVAL;
    memcpy(r->name, name, strlen(name) + 1);
    r->school = school;
    r->slot = (uint8_t)s->n_rooms;
    r->kind = CR_SKIND_NETWORK;
    cr_est_init(&r->est, &t->est_params, r->link.capacity_bps, now_us);
    s->rooms[s->n_rooms++] = t->n_rooms;
    return (int)t->n_rooms++;
}

int cr_topo_set_link(cr_topo_t *t, int school, uint32_t idx, uint64_t capacity_bps, double target)
{
    if (capacity_bps == 0 || !(target > 0.0 && target <= 1.0))
        return CR_EINVAL;
    if (school) {
        if (idx >= t->n_schools)
            return CR_EINVAL;
        cr_school_t *s = &t->schools[idx];
        s->link.capacity_bps = s->est.capacity_bps = capacity_bps;
        s->link.target = target;
        if (s->est.est_bps > (double)capacity_bps)
            s->est.est_bps = (double)capacity_bps;
        s->link.budget_bps = cr_link_budget(&s->link);
        return 0;
    }
    if (idx >= t->n_rooms)
        return CR_EINVAL;
    cr_room_t *r = &t->rooms[idx];
    r->link.capacity_bps = capacity_bps;
    r->link.target = target;
    cr_est_set_capacity(&r->est, capacity_bps);
    r->link.budget_bps = cr_link_budget(&r->link);
    return 0;
}

int cr_topo_find_school(const cr_topo_t *t, const char *name)
{
    for (uint32_t i = 0; i < t->n_schools; i++)
        if (strcmp(t->schools[i].name, name) == 0)
            return (int)i;
    return -1;
}

int cr_topo_find_room(const cr_topo_t *t, const char *name)
{
    for (uint32_t i = 0; i < t->n_rooms; i++)
        if (strcmp(t->rooms[i].name, name) == 0)
            return (int)i;
    return -1;
}

void cr_topo_room_set_kind(cr_topo_t *t, uint32_t room, enum cr_sched_kind kind)
{
    assert(room < t->n_rooms);
    if ((unsigned)kind < CR_SKIND_COUNT)
        t->rooms[room].kind = (uint8_t)kind;
}

int cr_topo_sub_add(cr_topo_t *t, uint32_t room, enum cr_sched_media media, enum cr_sched_role role, uint64_t user)
{
    if (room >= t->n_rooms || (media != CR_SMEDIA_AUDIO && media != CR_SMEDIA_VIDEO) ||
        (unsigned)role >= CR_SROLE_COUNT)
        return CR_EINVAL;
    cr_room_t *r = &t->rooms[room];
    if (r->n_subs >= CR_SCHED_SUBS_PER_ROOM || t->n_free_subs == 0)
        return CR_EFULL;
    uint32_t i = t->free_subs[--t->n_free_subs];
    cr_sub_t *s = &t->subs[i];
    memset(s, 0, sizeof(*s));
    s->in_use = 1;
    s->room = room;
    s->media = (uint8_t)media;
    s->role = (uint8_t)role;
    s->max_layer = CR_SCHED_MAX_LAYERS - 1;
    s->layer = s->ideal = CR_SCHED_LAYER_OFF;
    s->reason = CR_WHY_NONE;
    s->up_since_us = s->last_up_us = s->last_down_us = UINT64_MAX; /* never */
    s->user = user;
    r->subs[r->n_subs++] = i;
    return (int)i;
}

void cr_topo_sub_remove(cr_topo_t *t, uint32_t sub)
{
    if (sub >= t->lim.max_subs || !t->subs[sub].in_use)
        return;
    cr_room_t *r = &t->rooms[t->subs[sub].room];
    for (uint16_t k = 0; k < r->n_subs; k++) {
        if (r->subs[k] == sub) {
            r->subs[k] = r->subs[--r->n_subs];
            break;
        }
    }
    t->subs[sub].in_use = 0;
    t->free_subs[t->n_free_subs++] = sub;
}

int cr_topo_sub_set_layers(cr_topo_t *t, uint32_t sub, const uint32_t *bps, unsigned n)
{
    if (sub >= t->lim.max_subs || !t->subs[sub].in_use || n > CR_SCHED_MAX_LAYERS)
        return CR_EINVAL;
    cr_sub_t *s = &t->subs[sub];
    if (s->media == CR_SMEDIA_AUDIO && n > 1)
        return CR_EINVAL;
    s->n_layers = (uint8_t)n;
    for (unsigned i = 0; i < n; i++) {
        s->layer_bps[i] = bps[i];
        /* Utility grows with the log of the bitrate: the first bits of a stream are worth most. */
        s->layer_util[i] = bps[i] != 0 ? (float)log1p((double)bps[i] / 100000.0) : 0.0f;
    }
    if (s->layer >= (int)n)
        s->layer = n > 0 ? (int8_t)(n - 1) : CR_SCHED_LAYER_OFF;
    return 0;
}

void cr_topo_sub_set_floor(cr_topo_t *t, uint32_t sub, uint64_t floor_bps)
{
    assert(sub < t->lim.max_subs);
    t->subs[sub].floor_bps = floor_bps;
}

void cr_topo_sub_set_max_layer(cr_topo_t *t, uint32_t sub, int max_layer)
{
    assert(sub < t->lim.max_subs);
    t->subs[sub].max_layer = (int8_t)(max_layer < 0 || max_layer >= CR_SCHED_MAX_LAYERS ? CR_SCHED_MAX_LAYERS - 1
                                                                                         : max_layer);
}

void cr_topo_refresh(cr_topo_t *t, uint64_t now_us)
{
    for (uint32_t i = 0; i < t->n_rooms; i++) {
        cr_room_t *r = &t->rooms[i];
        r->link.estimate_bps = cr_est_value(&r->est, now_us);
        r->link.budget_bps = cr_link_budget(&r->link);
    }
    for (uint32_t i = 0; i < t->n_schools; i++) {
        cr_school_t *s = &t->schools[i];
        unsigned active = 0, degraded = 0;
        uint64_t carried = 0, sent = 0;
        for (uint16_t k = 0; k < s->n_rooms; k++) {
            const cr_room_t *r = &t->rooms[s->rooms[k]];
            if (r->n_subs == 0 || r->est.packets_in == 0)
                continue;
            active++;
            degraded += cr_est_degraded(&r->est, now_us) != 0;
            carried += cr_est_acked(&r->est);
            sent += cr_est_sent(&r->est);
        }
        s->link.estimate_bps = cr_school_est_update(&s->est, active, degraded, carried, sent, now_us);
        s->link.budget_bps = cr_link_budget(&s->link);
        if (!s->est.dropped)
            continue;
        /* The classrooms that degraded together were held back by the school link, not their own. */
        for (uint16_t k = 0; k < s->n_rooms; k++) {
            cr_room_t *r = &t->rooms[s->rooms[k]];
            if (r->n_subs == 0 || !cr_est_degraded(&r->est, now_us))
                continue;
            cr_est_school_congested(&r->est, now_us + SHARED_HOLD_US);
            r->link.estimate_bps = cr_est_value(&r->est, now_us);
            r->link.budget_bps = cr_link_budget(&r->link);
        }
    }
}

uint64_t cr_topo_probe_want(cr_topo_t *t, uint32_t room, uint64_t now_us, uint16_t *cluster_id)
{
    assert(room < t->n_rooms);
    cr_room_t *r = &t->rooms[room];
    if (r->limit == CR_LIMIT_SCHOOL || now_us < r->est.shared_until_us)
        return 0; /* the school link, not this classroom's, is what limits it: nothing to learn */
    cr_school_t *s = &t->schools[r->school];
    if (now_us < s->probe_until_us)
        return 0; /* one classroom of a school probes at a time: probes share the school link */
    uint64_t rate = cr_est_probe_want(&r->est, now_us, cluster_id);
    if (rate != 0)
        s->probe_until_us = now_us + r->est.p.probe_duration_us + SCHOOL_PROBE_GAP_US;
    return rate;
}
