/*
 * The allocator (see cr_alloc.h for the rules). Works on one school at a time with small arrays on
 * the stack (at most 64 classrooms x 32 streams), so a run never allocates.
 */
#include "cr_alloc.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#define NEVER UINT64_MAX

void cr_alloc_params_default(cr_alloc_params_t *p)
{
    p->kind_weight[CR_SKIND_SYNCHRONOUS] = 2.0;
    p->kind_weight[CR_SKIND_DEDICATED] = 3.0;
    p->kind_weight[CR_SKIND_MASTER] = 1.0;
    p->kind_weight[CR_SKIND_NETWORK] = 1.0;
    p->role_value[CR_SROLE_TEACHER] = 8.0;
    p->role_value[CR_SROLE_BOARD] = 4.0;
    p->role_value[CR_SROLE_STAGE] = 2.0;
    p->role_value[CR_SROLE_OTHER] = 1.0;
    p->first_hold_us = 300000;
    p->up_hold_us = 1500000;
    p->up_gap_us = 1000000;
    p->flap_window_us = 4000000;
    p->school_fill = 0.9;
}

const char *cr_alloc_reason_name(int reason)
{
    static const char *const names[CR_WHY_COUNT] = {
        "none", "audio", "floor", "upgrade", "best layer", "requested", "capped by classroom link",
        "capped by school link", "hysteresis hold"};
    return reason >= 0 && reason < CR_WHY_COUNT ? names[reason] : "?";
}

const char *cr_alloc_limit_name(int limit)
{
    return limit == CR_LIMIT_ROOM ? "classroom link" : limit == CR_LIMIT_SCHOOL ? "school link" : "";
}

char *cr_alloc_describe(const cr_topo_t *t, uint32_t sub, char *buf, unsigned len)
{
    const cr_sub_t *s = &t->subs[sub];
    char layer[16];
    if (s->layer < 0)
        snprintf(layer, sizeof(layer), "off");
    else
        snprintf(layer, sizeof(layer), "layer %d", s->layer);
    if ((s->reason == CR_WHY_FLOOR || s->reason == CR_WHY_UPGRADE) && s->limit != CR_LIMIT_NONE)
        snprintf(buf, len, "%s: %s (capped by %s)", layer, cr_alloc_reason_name(s->reason),
                 cr_alloc_limit_name(s->limit));
    else
        snprintf(buf, len, "%s: %s", layer, cr_alloc_reason_name(s->reason));
    return buf;
}

/* ---- per-stream helpers ---- */

static uint64_t lbps(const cr_sub_t *s, int layer)
{
    return layer < 0 ? 0 : s->layer_bps[layer];
}

/* The best layer the stream may get: the highest one sent, within the subscriber's cap. */
static int best_layer(const cr_sub_t *s)
{
    int top = s->n_layers - 1 < s->max_layer ? s->n_layers - 1 : s->max_layer;
    for (int i = top; i >= 0; i--)
        if (s->layer_bps[i] != 0)
            return i;
    return CR_SCHED_LAYER_OFF;
}

/* The lowest layer sent that meets the floor bitrate (or the best, if none does). */
/* The lowest layer of at least the floor's bitrate, give or take FLOOR_SLACK: a layer's measured
 * bitrate wanders around its encoder's target, and a 300 kbit/s layer measured at 295 one second
 * must not move every classroom's floor to the next layer up. */
#define FLOOR_SLACK 0.85

static int floor_layer(const cr_sub_t *s)
{
    int best = best_layer(s);
    for (int i = 0; i <= best; i++)
        if (s->layer_bps[i] != 0 && (double)s->layer_bps[i] >= FLOOR_SLACK * (double)s->floor_bps)
            return i;
    return best;
}

static int next_layer(const cr_sub_t *s, int cur, int best)
{
    for (int i = cur + 1; i <= best; i++)
        if (s->layer_bps[i] != 0)
            return i;
    return CR_SCHED_LAYER_OFF;
}

/* ---- one classroom ---- */

typedef struct room_ctx {
    uint32_t idx;
    cr_room_t *r;
    double w;
    uint32_t video[CR_SCHED_SUBS_PER_ROOM]; /* video subscriptions in role order */
    unsigned n_video;
    uint8_t floor_limit[CR_SCHED_SUBS_PER_ROOM]; /* which link refused each floor */
    double audio, floor, want, share, used, extra;
    int visited;
} room_ctx_t;

static void room_prepare(cr_topo_t *t, room_ctx_t *c, const cr_alloc_params_t *p)
{
    cr_room_t *r = c->r;
    c->w = p->kind_weight[r->kind < CR_SKIND_COUNT ? r->kind : CR_SKIND_NETWORK];
    c->audio = c->want = 0;
    c->n_video = 0;
    for (uint16_t k = 0; k < r->n_subs; k++) {
        cr_sub_t *s = &t->subs[r->subs[k]];
        if (s->media == CR_SMEDIA_AUDIO) {
            c->audio += (double)lbps(s, s->n_layers > 0 ? 0 : -1);
            continue;
        }
        /* insertion in role order, stable */
        unsigned j = c->n_video++;
        while (j > 0 && t->subs[c->video[j - 1]].role > s->role) {
            c->video[j] = c->video[j - 1];
            j--;
        }
        c->video[j] = r->subs[k];
        c->want += (double)lbps(s, best_layer(s));
    }
    double budget = (double)r->link.budget_bps;
    /* The floors the classroom's own link can hold, in role order. */
    double rem = budget - c->audio;
    c->floor = c->audio;
    for (unsigned k = 0; k < c->n_video; k++) {
        const cr_sub_t *s = &t->subs[c->video[k]];
        double f = (double)lbps(s, floor_layer(s));
        if (f <= rem) {
            rem -= f;
            c->floor += f;
        }
    }
    c->want += c->audio;
    if (c->want > budget)
        c->want = budget > c->floor ? budget : c->floor;
}

/* Upgrades by value per bit within rem bits; returns the bits used. */
static double room_upgrade(cr_topo_t *t, room_ctx_t *c, const cr_alloc_params_t *p, double rem)
{
    double used = 0;
    for (;;) {
        int pick = -1, pick_next = -1;
        double pick_v = -1.0, pick_cost = 0;
        for (unsigned k = 0; k < c->n_video; k++) {
            cr_sub_t *s = &t->subs[c->video[k]];
            int nl = next_layer(s, s->ideal, best_layer(s));
            if (nl < 0)
                continue;
            double cost = (double)lbps(s, nl) - (double)lbps(s, s->ideal);
            if (cost > rem)
                continue;
            double du = (double)s->layer_util[nl] - (s->ideal >= 0 ? (double)s->layer_util[s->ideal] : 0.0);
            double v = cost <= 0 ? 1e300 : p->role_value[s->role] * du / cost;
            if (v > pick_v) {
                pick_v = v;
                pick = (int)k;
                pick_next = nl;
                pick_cost = cost;
            }
        }
        if (pick < 0)
            return used;
        t->subs[c->video[pick]].ideal = (int8_t)pick_next;
        rem -= pick_cost;
        used += pick_cost;
    }
}

/* The ideal layers of one classroom given its share of the school. */
static void room_ideal(cr_topo_t *t, room_ctx_t *c, const cr_alloc_params_t *p, uint8_t room_limit)
{
    double budget = (double)c->r->link.budget_bps;
    double eff = c->share < budget ? c->share : budget;
    double rem = eff - c->audio, room_rem = budget - c->audio;
    c->used = c->audio;
    for (unsigned k = 0; k < c->n_video; k++) {
        cr_sub_t *s = &t->subs[c->video[k]];
        int fl = floor_layer(s);
        double f = (double)lbps(s, fl);
        s->ideal = CR_SCHED_LAYER_OFF;
        c->floor_limit[k] = CR_LIMIT_NONE;
        if (fl < 0)
            continue;
        if (f <= rem) {
            s->ideal = (int8_t)fl;
        } else {
            /* Not the floor: say which link refused it, and take a lower layer if one fits. */
            c->floor_limit[k] = f <= room_rem ? CR_LIMIT_SCHOOL : CR_LIMIT_ROOM;
            for (int i = fl - 1; i >= 0; i--) {
                if (s->layer_bps[i] != 0 && (double)s->layer_bps[i] <= rem) {
                    s->ideal = (int8_t)i;
                    break;
                }
            }
        }
        rem -= (double)lbps(s, s->ideal);
        room_rem -= (double)lbps(s, s->ideal);
        c->used += (double)lbps(s, s->ideal);
    }
    c->used += room_upgrade(t, c, p, rem);
    c->r->limit = room_limit;
}

/* ---- hysteresis: from the ideal layer to the layer forwarded now ---- */

static void hysteresis(cr_sub_t *s, const cr_alloc_params_t *p, uint64_t now_us)
{
    int cur = s->layer, id = s->ideal;
    if (cur >= 0 && (cur >= s->n_layers || s->layer_bps[cur] == 0))
        cur = CR_SCHED_LAYER_OFF; /* the publisher stopped sending it */
    if (s->backoff > 0 && s->last_down_us != NEVER && now_us >= s->last_down_us + p->flap_window_us) {
        s->backoff--; /* a flap window without a downgrade: forget one doubling */
        s->last_down_us = now_us - 1;
    }
    if (id < cur) {
        if (s->last_up_us != NEVER && now_us < s->last_up_us + p->flap_window_us && s->backoff < 3)
            s->backoff++;
        s->layer = (int8_t)id;
        s->last_down_us = now_us;
        s->ever_down = 1;
        s->up_since_us = NEVER;
        return;
    }
    if (id == cur) {
        s->layer = (int8_t)cur;
        s->up_since_us = NEVER;
        return;
    }
    int fl = floor_layer(s);
    if (cur < fl) {
        s->layer = (int8_t)(id < fl ? id : fl); /* floors are not held back (nor count as upgrades) */
        s->up_since_us = s->layer < id ? now_us : NEVER;
        return;
    }
    if (s->up_since_us == NEVER)
        s->up_since_us = now_us;
    uint64_t hold = (s->ever_down ? p->up_hold_us : p->first_hold_us) << s->backoff;
    s->layer = (int8_t)cur;
    if (now_us >= s->up_since_us + hold && (s->last_up_us == NEVER || now_us >= s->last_up_us + p->up_gap_us)) {
        int nl = next_layer(s, cur, id);
        s->layer = (int8_t)(nl >= 0 ? nl : id);
        s->last_up_us = now_us;
        s->up_since_us = s->layer < id ? now_us : NEVER;
    }
}

static void set_reason(cr_sub_t *s, uint8_t floor_limit, uint8_t room_limit)
{
    int best = best_layer(s);
    s->limit = CR_LIMIT_NONE;
    if (best < 0)
        s->reason = CR_WHY_NONE;
    else if (s->layer < s->ideal)
        s->reason = CR_WHY_HOLD;
    else if (s->layer < floor_layer(s)) {
        s->limit = floor_limit;
        s->reason = floor_limit == CR_LIMIT_SCHOOL ? CR_WHY_CAP_SCHOOL : CR_WHY_CAP_ROOM;
    } else if (s->layer == best)
        s->reason = best < s->n_layers - 1 && best == s->max_layer ? CR_WHY_REQUEST : CR_WHY_BEST;
    else {
        s->limit = room_limit != CR_LIMIT_NONE ? room_limit : CR_LIMIT_ROOM;
        s->reason = s->layer == floor_layer(s) ? CR_WHY_FLOOR : CR_WHY_UPGRADE;
    }
}

/* ---- one school ---- */

/* Weighted max-min (water-filling) of rem over the classrooms' extra demands. */
static void water_fill(room_ctx_t *rc, unsigned n, double rem)
{
    uint8_t active[CR_SCHED_ROOMS_PER_SCHOOL];
    unsigned n_active = 0;
    for (unsigned i = 0; i < n; i++) {
        rc[i].extra = 0;
        active[i] = rc[i].want - rc[i].share > 0.5 && rc[i].w > 0;
        n_active += active[i];
    }
    while (rem > 0.5 && n_active > 0) {
        double wsum = 0;
        for (unsigned i = 0; i < n; i++)
            if (active[i])
                wsum += rc[i].w;
        double level = rem / wsum;
        int saturated = 0;
        for (unsigned i = 0; i < n; i++) {
            double need = rc[i].want - rc[i].share - rc[i].extra;
            if (active[i] && need <= rc[i].w * level) {
                rc[i].extra += need;
                rem -= need;
                active[i] = 0;
                n_active--;
                saturated = 1;
            }
        }
        if (!saturated) {
            for (unsigned i = 0; i < n; i++)
                if (active[i])
                    rc[i].extra += rc[i].w * level;
            rem = 0;
        }
    }
}

/* Audio everywhere, then floors (heaviest classrooms first), then the rest by weighted max-min;
 * then each classroom's ideal layers within its share. reserve: what upgrades leave unused (the
 * school pacer's room for bursts). Returns the bits used. */
static double shares(cr_topo_t *t, const cr_alloc_params_t *p, room_ctx_t *rc, unsigned n, double budget,
                     double reserve)
{
    double rem = budget;
    for (unsigned i = 0; i < n; i++)
        rem -= rc[i].audio;
    for (unsigned i = 0; i < n; i++) {
        double f = rc[i].floor - rc[i].audio;
        if (f > rem)
            f = rem > 0 ? rem : 0;
        rc[i].share = rc[i].audio + f;
        rem -= f;
    }
    water_fill(rc, n, rem > reserve ? rem - reserve : 0);
    double used = 0;
    for (unsigned i = 0; i < n; i++) {
        uint8_t lim = CR_LIMIT_NONE;
        rc[i].share += rc[i].extra;
        if (rc[i].share + 0.5 < rc[i].want)
            lim = CR_LIMIT_SCHOOL;
        else if (rc[i].want >= (double)rc[i].r->link.budget_bps - 0.5)
            lim = CR_LIMIT_ROOM;
        room_ideal(t, &rc[i], p, lim);
        used += rc[i].used;
    }
    return used;
}

/* What the layers' steps left over goes to the classrooms furthest below their weighted share (of
 * what is shared above the floors). */
static void leftover(cr_topo_t *t, const cr_alloc_params_t *p, room_ctx_t *rc, unsigned n, double left)
{
    for (unsigned round = 0; round < n && left > 0.5; round++) {
        int pick = -1;
        for (unsigned i = 0; i < n; i++) {
            if (rc[i].used + 0.5 >= rc[i].want || rc[i].w <= 0 || rc[i].visited)
                continue;
            if (pick < 0 || (rc[i].used - rc[i].floor) / rc[i].w < (rc[pick].used - rc[pick].floor) / rc[pick].w)
                pick = (int)i;
        }
        if (pick < 0)
            return;
        double room_left = (double)rc[pick].r->link.budget_bps - rc[pick].used;
        double got = room_upgrade(t, &rc[pick], p, left < room_left ? left : room_left);
        rc[pick].used += got;
        rc[pick].share += got;
        left -= got;
        rc[pick].visited = 1;
    }
}

/* Hysteresis and reasons for a classroom's streams; its totals for visibility. Returns its total. */
static uint64_t room_finish(cr_topo_t *t, const cr_alloc_params_t *p, room_ctx_t *c, uint64_t now_us)
{
    cr_room_t *r = c->r;
    uint64_t total = 0, probe = 0;
    for (uint16_t k = 0; k < r->n_subs; k++) {
        cr_sub_t *s = &t->subs[r->subs[k]];
        if (s->media != CR_SMEDIA_AUDIO)
            continue;
        s->ideal = s->layer = 0;
        s->reason = CR_WHY_AUDIO;
        s->limit = CR_LIMIT_NONE;
        total += lbps(s, s->n_layers > 0 ? 0 : -1);
    }
    for (unsigned v = 0; v < c->n_video; v++) {
        cr_sub_t *s = &t->subs[c->video[v]];
        hysteresis(s, p, now_us);
        set_reason(s, c->floor_limit[v], r->limit);
        total += lbps(s, s->layer);
        if (s->ideal > s->layer)
            probe += lbps(s, s->ideal) - lbps(s, s->layer);
    }
    r->audio_bps = (uint64_t)c->audio;
    r->floor_bps = (uint64_t)c->floor;
    r->want_bps = (uint64_t)c->want;
    r->share_bps = (uint64_t)c->share;
    r->probe_bps = probe;
    r->link.alloc_bps = total;
    return total;
}

void cr_alloc_school(cr_topo_t *t, const cr_alloc_params_t *p, uint32_t school, uint64_t now_us)
{
    cr_alloc_params_t dflt;
    if (p == NULL) {
        cr_alloc_params_default(&dflt);
        p = &dflt;
    }
    assert(school < t->n_schools);
    cr_school_t *sc = &t->schools[school];
    room_ctx_t rc[CR_SCHED_ROOMS_PER_SCHOOL];
    unsigned n = sc->n_rooms;
    for (unsigned i = 0; i < n; i++) {
        /* insertion by weight, heaviest first (stable), for the floors when they do not all fit */
        room_ctx_t c = {.idx = sc->rooms[i], .r = &t->rooms[sc->rooms[i]]};
        room_prepare(t, &c, p);
        unsigned j = i;
        while (j > 0 && rc[j - 1].w < c.w) {
            rc[j] = rc[j - 1];
            j--;
        }
        rc[j] = c;
    }
    /* Upgrades above the floors keep (1 - school_fill) of the budget free: the school's pacer runs at
     * its budget, and a keyframe copied to many classrooms needs room to drain before it waits too
     * long and is dropped (which costs the receivers another keyframe). Floors may use it all. */
    double budget = (double)sc->link.budget_bps, reserve = budget * (1.0 - p->school_fill);
    double used = shares(t, p, rc, n, budget, reserve);
    if (budget - reserve > used)
        leftover(t, p, rc, n, budget - reserve - used);
    uint64_t total = 0;
    for (unsigned i = 0; i < n; i++)
        total += room_finish(t, p, &rc[i], now_us);
    sc->link.alloc_bps = total;
}

void cr_alloc_run(cr_topo_t *t, const cr_alloc_params_t *p, uint64_t now_us)
{
    cr_topo_refresh(t, now_us);
    for (uint32_t i = 0; i < t->n_schools; i++)
        cr_alloc_school(t, p, i, now_us);
}
