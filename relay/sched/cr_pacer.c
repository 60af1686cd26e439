/*
 * The pacer (see cr_pacer.h). Items live in one pool and are linked by index into one FIFO per
 * (classroom, band); each school keeps, per band, a 64-bit mask of its classrooms with items in that
 * band, so a dequeue finds work with a count-trailing-zeros instead of a scan.
 */
#include "cr_pacer.h"

#include <stdlib.h>
#include <string.h>

#include "cr_err.h"

#define NONE UINT32_MAX
#define EXPIRE_EVERY_US 5000

struct cr__pacer_item {
    uint32_t handle, size, next;
    uint64_t enq_us;
};

typedef struct pq {
    uint32_t head, tail, n;
} pq_t;

struct cr__pacer_room {
    pq_t q[CR_BAND_COUNT];
    uint32_t n_items;
    int started;
    double tokens;
    uint64_t last_us;
    uint64_t probe_rate, probe_end_us;
    uint16_t probe_id;
};

struct cr__pacer_school {
    uint64_t mask[CR_BAND_COUNT];
    uint8_t rr[CR_BAND_COUNT];
    uint32_t n_items;
    int started;
    double tokens;
    uint64_t last_us, next_expire_us;
};

void cr_pacer_params_default(cr_pacer_params_t *p)
{
    p->max_items = 16384;
    p->room_max_items = 1024;
    p->max_wait_us = 200000;
    p->school_burst_us = 250;
    p->room_burst_us = 2000;
    p->min_burst_bytes = 3000;
    p->school_factor = 1.0;
    p->room_factor = 1.0;
    p->packet_overhead = 42;
}

int cr_pacer_init(cr_pacer_t *pc, cr_topo_t *t, const cr_pacer_params_t *p)
{
    memset(pc, 0, sizeof(*pc));
    if (p != NULL)
        pc->p = *p;
    else
        cr_pacer_params_default(&pc->p);
    if (pc->p.max_items == 0 || pc->p.max_items >= NONE || pc->p.room_max_items == 0 || pc->p.school_factor <= 0 ||
        pc->p.room_factor <= 0)
        return CR_EINVAL;
    pc->t = t;
    pc->items = calloc(pc->p.max_items, sizeof(*pc->items));
    pc->rooms = calloc(t->lim.max_rooms, sizeof(*pc->rooms));
    pc->schools = calloc(t->lim.max_schools, sizeof(*pc->schools));
    if (pc->items == NULL || pc->rooms == NULL || pc->schools == NULL) {
        cr_pacer_dispose(pc);
        return CR_ENOMEM;
    }
    for (uint32_t i = 0; i < pc->p.max_items; i++)
        pc->items[i].next = i + 1 < pc->p.max_items ? i + 1 : NONE;
    pc->free_head = 0;
    for (uint32_t r = 0; r < t->lim.max_rooms; r++)
        for (int b = 0; b < CR_BAND_COUNT; b++)
            pc->rooms[r].q[b].head = pc->rooms[r].q[b].tail = NONE;
    pc->next_us = UINT64_MAX;
    return 0;
}

void cr_pacer_dispose(cr_pacer_t *pc)
{
    free(pc->items);
    free(pc->rooms);
    free(pc->schools);
    pc->items = NULL;
    pc->rooms = NULL;
    pc->schools = NULL;
}

uint64_t cr_pacer_next_us(const cr_pacer_t *pc)
{
    return pc->n_queued == 0 ? UINT64_MAX : pc->next_us;
}

uint32_t cr_pacer_queued(const cr_pacer_t *pc, uint32_t room)
{
    return room < pc->t->n_rooms ? pc->rooms[room].n_items : 0;
}

/* ---- queues ---- */

static void push(cr_pacer_t *pc, uint32_t room, int band, uint32_t i)
{
    cr__pacer_room_t *pr = &pc->rooms[room];
    pq_t *q = &pr->q[band];
    pc->items[i].next = NONE;
    if (q->tail == NONE)
        q->head = i;
    else
        pc->items[q->tail].next = i;
    q->tail = i;
    q->n++;
    pr->n_items++;
    cr__pacer_school_t *ps = &pc->schools[pc->t->rooms[room].school];
    ps->n_items++;
    ps->mask[band] |= 1ull << pc->t->rooms[room].slot;
    pc->n_queued++;
}

/* Unlinks the head of (room, band), returns it to the free list and describes it in *o. */
static void pop(cr_pacer_t *pc, uint32_t room, int band, cr_pacer_out_t *o, int dropped)
{
    cr__pacer_room_t *pr = &pc->rooms[room];
    pq_t *q = &pr->q[band];
    uint32_t i = q->head;
    cr__pacer_item_t *it = &pc->items[i];
    o->handle = it->handle;
    o->size = it->size;
    o->room = room;
    o->band = (uint8_t)band;
    o->dropped = (uint8_t)dropped;
    o->probe_id = 0;
    q->head = it->next;
    if (q->head == NONE)
        q->tail = NONE;
    q->n--;
    pr->n_items--;
    cr__pacer_school_t *ps = &pc->schools[pc->t->rooms[room].school];
    ps->n_items--;
    if (q->n == 0)
        ps->mask[band] &= ~(1ull << pc->t->rooms[room].slot);
    pc->n_queued--;
    it->next = pc->free_head;
    pc->free_head = i;
    if (dropped)
        pc->t->rooms[room].link.dropped++;
}

static int lowest_video(const cr__pacer_room_t *pr)
{
    for (int b = CR_BAND_PADDING; b >= CR_BAND_RTX; b--)
        if (pr->q[b].n > 0)
            return b;
    return -1;
}

int cr_pacer_enqueue(cr_pacer_t *pc, uint32_t room, enum cr_band band, uint32_t handle, uint32_t size,
                     uint64_t now_us, cr_pacer_out_t *evicted)
{
    if (room >= pc->t->n_rooms || (unsigned)band >= CR_BAND_COUNT)
        return CR_EINVAL;
    cr__pacer_room_t *pr = &pc->rooms[room];
    int ret = 0;
    if (pr->n_items >= pc->p.room_max_items || pc->free_head == NONE) {
        /* Full: audio and RTCP push out the oldest item of the lowest video band (of this classroom,
         * or of any when the shared pool ran out); video is refused. */
        uint32_t vroom = room;
        int victim = band <= CR_BAND_RTCP && evicted != NULL ? lowest_video(pr) : -1;
        if (victim < 0 && band <= CR_BAND_RTCP && evicted != NULL && pr->n_items < pc->p.room_max_items) {
            for (uint32_t r = 0; r < pc->t->n_rooms && victim < 0; r++) {
                victim = lowest_video(&pc->rooms[r]);
                vroom = r;
            }
        }
        if (victim < 0) {
            pc->stats.refused[band]++;
            pc->t->rooms[room].link.dropped++;
            return CR_EFULL;
        }
        pop(pc, vroom, victim, evicted, 1);
        pc->stats.evicted[victim]++;
        ret = 1;
    }
    uint32_t i = pc->free_head;
    pc->free_head = pc->items[i].next;
    pc->items[i].handle = handle;
    pc->items[i].size = size;
    pc->items[i].enq_us = now_us;
    push(pc, room, band, i);
    if (pc->next_us > now_us)
        pc->next_us = now_us;
    return ret;
}

/* ---- buckets ---- */

static double depth(uint64_t burst_us, double rate_bps, uint32_t min_bytes)
{
    double d = rate_bps * (double)burst_us / 8e6;
    return d < (double)min_bytes ? (double)min_bytes : d;
}

static void refill(double *tokens, uint64_t *last_us, int *started, uint64_t now_us, double rate_bps, double dep)
{
    if (!*started) {
        *started = 1;
        *tokens = dep;
        *last_us = now_us;
        return;
    }
    if (now_us > *last_us) {
        *tokens += rate_bps * (double)(now_us - *last_us) / 8e6;
        *last_us = now_us;
    }
    if (*tokens > dep)
        *tokens = dep;
}

static double room_rate(const cr_pacer_t *pc, uint32_t room, uint64_t now_us)
{
    const cr__pacer_room_t *pr = &pc->rooms[room];
    const cr_link_t *l = &pc->t->rooms[room].link;
    double r = (double)l->budget_bps * pc->p.room_factor;
    if (r > (double)l->capacity_bps)
        r = (double)l->capacity_bps; /* (a target above 1 / room_factor): never above the link */
    if (now_us < pr->probe_end_us && (double)pr->probe_rate > r)
        r = (double)pr->probe_rate;
    return r;
}

static uint64_t wait_until(uint64_t now_us, double deficit, double rate_bps)
{
    if (rate_bps <= 0)
        return now_us + 1000;
    double us = deficit * 8e6 / rate_bps;
    return now_us + (uint64_t)us + 1;
}

void cr_pacer_probe(cr_pacer_t *pc, uint32_t room, uint64_t rate_bps, uint64_t duration_us, uint16_t cluster_id,
                    uint64_t now_us)
{
    if (room >= pc->t->n_rooms)
        return;
    cr__pacer_room_t *pr = &pc->rooms[room];
    pr->probe_rate = rate_bps;
    pr->probe_end_us = now_us + duration_us;
    pr->probe_id = cluster_id;
}

/* ---- dequeue ---- */

static int next_slot(uint64_t m, unsigned start)
{
    uint64_t hi = start < 64 ? m & (~0ull << start) : 0;
    return __builtin_ctzll(hi != 0 ? hi : m);
}

static int is_stale(const cr_pacer_t *pc, const cr__pacer_item_t *it, int band, uint64_t now_us)
{
    return band >= CR_BAND_RTX && now_us >= it->enq_us + pc->p.max_wait_us;
}

/* Drops video that waited too long at the heads of a blocked school's queues. */
static int expire(cr_pacer_t *pc, uint32_t school, uint64_t now_us, cr_pacer_out_t *out, int max)
{
    const cr_school_t *sc = &pc->t->schools[school];
    int n = 0;
    for (uint16_t k = 0; k < sc->n_rooms && n < max; k++) {
        uint32_t room = sc->rooms[k];
        cr__pacer_room_t *pr = &pc->rooms[room];
        for (int b = CR_BAND_RTX; b < CR_BAND_COUNT && n < max && pr->n_items > 0; b++) {
            while (n < max && pr->q[b].n > 0 && is_stale(pc, &pc->items[pr->q[b].head], b, now_us)) {
                pop(pc, room, b, &out[n++], 1);
                pc->stats.dropped_wait[b]++;
            }
        }
    }
    return n;
}

/* What an item of size bytes costs the links: the tbf or router in front of them counts the IP,
 * UDP and Ethernet headers too (about 3.5 % of a full video packet). */
static double wire(const cr_pacer_t *pc, uint32_t size)
{
    return (double)size + (double)pc->p.packet_overhead;
}

/* Charges both buckets with a released item (audio and RTCP may go into debt) and counts it. */
static void charge(cr_pacer_t *pc, uint32_t school, uint32_t room, int band, uint32_t size)
{
    pc->rooms[room].tokens -= wire(pc, size);
    pc->schools[school].tokens -= wire(pc, size);
    pc->stats.sent[band]++;
    pc->stats.sent_bytes[band] += size;
    cr_link_t *rl = &pc->t->rooms[room].link, *sl = &pc->t->schools[school].link;
    rl->sent_bytes += size;
    rl->sent_packets++;
    sl->sent_bytes += size;
    sl->sent_packets++;
}

/* Releases the head of (room, band). */
static void send_head(cr_pacer_t *pc, uint32_t school, uint32_t room, int band, uint64_t now_us, cr_pacer_out_t *o)
{
    cr__pacer_room_t *pr = &pc->rooms[room];
    charge(pc, school, room, band, pc->items[pr->q[band].head].size);
    pop(pc, room, band, o, 0);
    if (now_us < pr->probe_end_us)
        o->probe_id = pr->probe_id;
}

int cr_pacer_try_send(cr_pacer_t *pc, uint32_t room, enum cr_band band, uint32_t size, uint64_t now_us)
{
    if (room >= pc->t->n_rooms || (unsigned)band >= CR_BAND_COUNT)
        return CR_EINVAL;
    uint32_t school = pc->t->rooms[room].school;
    cr__pacer_school_t *ps = &pc->schools[school];
    cr__pacer_room_t *pr = &pc->rooms[room];
    if (band > CR_BAND_RTCP && ps->n_items > 0)
        return 0; /* queued video of this school goes first, in its order */
    double srate = (double)pc->t->schools[school].link.budget_bps * pc->p.school_factor;
    double rrate = room_rate(pc, room, now_us);
    refill(&ps->tokens, &ps->last_us, &ps->started, now_us, srate,
           depth(pc->p.school_burst_us, srate, pc->p.min_burst_bytes));
    refill(&pr->tokens, &pr->last_us, &pr->started, now_us, rrate,
           depth(pc->p.room_burst_us, rrate, pc->p.min_burst_bytes));
    if (band > CR_BAND_RTCP && (ps->tokens < wire(pc, size) || pr->tokens < wire(pc, size)))
        return 0;
    charge(pc, school, room, band, size);
    return 1;
}

static int school_dequeue(cr_pacer_t *pc, uint32_t school, uint64_t now_us, cr_pacer_out_t *out, int max,
                          uint64_t *next)
{
    cr__pacer_school_t *ps = &pc->schools[school];
    cr_school_t *sc = &pc->t->schools[school];
    double srate = (double)sc->link.budget_bps * pc->p.school_factor;
    refill(&ps->tokens, &ps->last_us, &ps->started, now_us, srate,
           depth(pc->p.school_burst_us, srate, pc->p.min_burst_bytes));
    uint64_t refilled = 0, blocked = 0;
    int n = 0, school_blocked = 0;
    for (int band = 0; band < CR_BAND_COUNT && n < max && !school_blocked; band++) {
        int borrow = band <= CR_BAND_RTCP;
        for (;;) {
            uint64_t m = ps->mask[band] & (borrow ? ~0ull : ~blocked);
            if (m == 0 || n >= max)
                break;
            unsigned slot = (unsigned)next_slot(m, ps->rr[band]);
            uint32_t room = sc->rooms[slot];
            cr__pacer_room_t *pr = &pc->rooms[room];
            cr__pacer_item_t *it = &pc->items[pr->q[band].head];
            if (is_stale(pc, it, band, now_us)) {
                pop(pc, room, band, &out[n++], 1);
                pc->stats.dropped_wait[band]++;
                continue;
            }
            double rrate = room_rate(pc, room, now_us);
            if (!(refilled & (1ull << slot))) {
                refilled |= 1ull << slot;
                refill(&pr->tokens, &pr->last_us, &pr->started, now_us, rrate,
                       depth(pc->p.room_burst_us, rrate, pc->p.min_burst_bytes));
            }
            if (!borrow) {
                if (ps->tokens < wire(pc, it->size)) {
                    uint64_t w = wait_until(now_us, wire(pc, it->size) - ps->tokens, srate);
                    if (w < *next)
                        *next = w;
                    school_blocked = 1;
                    break;
                }
                if (pr->tokens < wire(pc, it->size)) {
                    uint64_t w = wait_until(now_us, wire(pc, it->size) - pr->tokens, rrate);
                    if (w < *next)
                        *next = w;
                    blocked |= 1ull << slot;
                    continue;
                }
            }
            send_head(pc, school, room, band, now_us, &out[n++]);
            ps->rr[band] = (uint8_t)(slot + 1);
        }
    }
    if ((school_blocked || blocked) && n < max && now_us >= ps->next_expire_us) {
        ps->next_expire_us = now_us + EXPIRE_EVERY_US;
        n += expire(pc, school, now_us, out + n, max - n);
    }
    if (ps->n_items > 0 && (school_blocked || blocked)) {
        uint64_t e = ps->next_expire_us;
        if (e < *next)
            *next = e;
    }
    return n;
}

int cr_pacer_dequeue(cr_pacer_t *pc, uint64_t now_us, cr_pacer_out_t *out, int max)
{
    int n = 0;
    uint64_t next = UINT64_MAX;
    for (uint32_t s = 0; s < pc->t->n_schools && n < max; s++) {
        if (pc->schools[s].n_items == 0)
            continue;
        n += school_dequeue(pc, s, now_us, out + n, max - n, &next);
    }
    if (n >= max)
        next = now_us;
    pc->next_us = next;
    return n;
}

int cr_pacer_flush(cr_pacer_t *pc, int room, cr_pacer_out_t *out, int max)
{
    int n = 0;
    uint32_t lo = room < 0 ? 0 : (uint32_t)room, hi = room < 0 ? pc->t->n_rooms : (uint32_t)room + 1;
    for (uint32_t r = lo; r < hi && r < pc->t->n_rooms && n < max; r++)
        for (int b = 0; b < CR_BAND_COUNT && n < max; b++)
            while (n < max && pc->rooms[r].q[b].n > 0)
                pop(pc, r, b, &out[n++], 1);
    return n;
}
