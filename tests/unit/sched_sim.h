/*
 * A deterministic closed-loop simulation of the scheduler for the unit tests (no wall clock):
 * sources (Opus-like audio, simulcast video at 30 fps with keyframes) -> cr_pacer -> a school link
 * and classroom links modelled as FIFO rate limiters with byte-limited queues (like tc tbf) and a
 * base delay -> transport-wide feedback every 50 ms -> cr_est -> cr_alloc every 100 ms, with
 * probes. Included by test_sched_sim.c only (static functions, one translation unit).
 */
#ifndef SCHED_SIM_H
#define SCHED_SIM_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cr_alloc.h"
#include "cr_pacer.h"
#include "cr_topo.h"

#define SIM_ROOMS 32
#define SIM_SUBS 32
#define SIM_POOL 65536
#define SIM_FB 8192
#define SIM_STEP_US 250
#define SIM_MTU 1200
#define SIM_FB_US 50000
#define SIM_ALLOC_US 100000
#define SIM_DELAY_US 10000

typedef struct sim_pkt {
    uint32_t room, size, next;
    int8_t sub; /* -1 padding */
    uint8_t audio;
} sim_pkt_t;

typedef struct sim_fb {
    cr_est_pkt_t e;
    uint8_t audio, padding;
} sim_fb_t;

typedef struct sim_fifo {
    double rate_bps, free_us;
    uint64_t limit_bytes;
} sim_fifo_t;

typedef struct sim_room {
    int idx;
    int subs[SIM_SUBS];
    int n_subs;
    uint64_t next_frame_us[SIM_SUBS];
    int key_pending[SIM_SUBS];
    int8_t last_layer[SIM_SUBS];
    sim_fifo_t link;
    sim_fb_t fb[SIM_FB];
    unsigned fb_head, fb_n;
    uint64_t next_fb_us;
    /* measurements (reset by sim_reset_meas) */
    uint64_t media_bytes_arrived, media_sent, media_lost, audio_sent, audio_lost, pacer_drops;
    uint64_t qdelay_hist[201]; /* queueing delay at this link, per ms, last bucket = more */
} sim_room_t;

typedef struct sim {
    cr_topo_t t;
    cr_pacer_t pc;
    cr_alloc_params_t ap;
    int school;
    sim_room_t rooms[SIM_ROOMS];
    int n_rooms;
    sim_fifo_t school_link;
    sim_pkt_t pool[SIM_POOL];
    uint32_t free_head;
    uint64_t now;
    uint64_t next_alloc_us;
    int probes;
    /* school measurements */
    uint64_t school_lost, audio_lost_total;
    uint64_t win_bytes[10]; /* pacer output per 1 ms, last 10 ms */
    uint64_t peak10_bytes;
    uint64_t peak_check_from_us;
} sim_t;

static const uint32_t SIM_LAYERS_TEACHER[3] = {300000, 1000000, 2500000};
static const uint32_t SIM_LAYERS_BOARD[3] = {200000, 600000, 1500000};
static const uint32_t SIM_LAYERS_OTHER[3] = {150000, 500000, 1200000};

static void sim_init(sim_t *s, uint64_t school_cap, double school_real, unsigned n_rooms, uint64_t room_cap,
                     double room_real)
{
    memset(s, 0, sizeof(*s));
    cr_topo_limits_t lim = {.max_schools = 2, .max_rooms = SIM_ROOMS, .max_subs = SIM_ROOMS * SIM_SUBS};
    if (cr_topo_init(&s->t, &lim, NULL) != 0)
        abort();
    cr_pacer_params_t pp;
    cr_pacer_params_default(&pp);
    pp.max_items = 60000;
    pp.room_max_items = 4000;
    if (cr_pacer_init(&s->pc, &s->t, &pp) != 0)
        abort();
    cr_alloc_params_default(&s->ap);
    s->school = cr_topo_add_school(&s->t, "xian-1", school_cap, 0.9, 0);
    s->school_link.rate_bps = school_real;
    s->school_link.limit_bytes = (uint64_t)(school_real * 0.1 / 8); /* 100 ms of queue */
    s->n_rooms = (int)n_rooms;
    for (unsigned i = 0; i < n_rooms; i++) {
        char name[32];
        snprintf(name, sizeof(name), "xian-1-%u", i + 1);
        sim_room_t *r = &s->rooms[i];
        r->idx = cr_topo_add_room(&s->t, (uint32_t)s->school, name, room_cap, 0.9, 0);
        r->link.rate_bps = room_real;
        r->link.limit_bytes = (uint64_t)(room_real * 0.1 / 8);
        r->next_fb_us = SIM_FB_US + i * 3000;
    }
    for (uint32_t i = 0; i < SIM_POOL; i++)
        s->pool[i].next = i + 1 < SIM_POOL ? i + 1 : UINT32_MAX;
    s->probes = 1;
}

static void sim_free(sim_t *s)
{
    cr_pacer_dispose(&s->pc);
    cr_topo_dispose(&s->t);
}

/* Adds a stream to a classroom: audio (64 kbps) or video with the given 3 layers. */
static int sim_add_sub(sim_t *s, int room, enum cr_sched_media media, enum cr_sched_role role, const uint32_t *layers)
{
    sim_room_t *r = &s->rooms[room];
    int sub = cr_topo_sub_add(&s->t, (uint32_t)r->idx, media, role, 0);
    if (sub < 0)
        abort();
    if (media == CR_SMEDIA_AUDIO) {
        uint32_t a = 64000;
        cr_topo_sub_set_layers(&s->t, (uint32_t)sub, &a, 1);
    } else {
        cr_topo_sub_set_layers(&s->t, (uint32_t)sub, layers, 3);
    }
    r->next_frame_us[r->n_subs] = (uint64_t)(r->n_subs * 7000 + room * 1100) % 33333;
    r->last_layer[r->n_subs] = CR_SCHED_LAYER_OFF;
    r->subs[r->n_subs++] = sub;
    return sub;
}

/* A classroom of a synchronous class: audio, teacher, board and n_others remote classrooms. */
static void sim_std_room(sim_t *s, int room, int n_others)
{
    sim_add_sub(s, room, CR_SMEDIA_AUDIO, CR_SROLE_TEACHER, NULL);
    sim_add_sub(s, room, CR_SMEDIA_VIDEO, CR_SROLE_TEACHER, SIM_LAYERS_TEACHER);
    sim_add_sub(s, room, CR_SMEDIA_VIDEO, CR_SROLE_BOARD, SIM_LAYERS_BOARD);
    for (int i = 0; i < n_others; i++)
        sim_add_sub(s, room, CR_SMEDIA_VIDEO, CR_SROLE_OTHER, SIM_LAYERS_OTHER);
}

static void sim_release(sim_t *s, uint32_t h)
{
    s->pool[h].next = s->free_head;
    s->free_head = h;
}

static void sim_enqueue(sim_t *s, int room, int sub, enum cr_band band, uint32_t size)
{
    if (s->free_head == UINT32_MAX)
        abort(); /* the pool is sized so this cannot happen */
    uint32_t h = s->free_head;
    s->free_head = s->pool[h].next;
    s->pool[h] = (sim_pkt_t){.room = (uint32_t)room, .size = size, .sub = (int8_t)sub, .audio = band == CR_BAND_AUDIO};
    cr_pacer_out_t ev;
    int rc = cr_pacer_enqueue(&s->pc, (uint32_t)s->rooms[room].idx, band, h, size, s->now, &ev);
    if (rc == 1) {
        uint32_t vroom = ev.room; /* topology index == sim index here */
        s->rooms[vroom].pacer_drops++;
        if (s->pool[ev.handle].audio)
            s->rooms[vroom].audio_lost++;
        if (s->pool[ev.handle].sub >= 0)
            s->rooms[vroom].media_lost++;
        sim_release(s, ev.handle);
    } else if (rc < 0) {
        s->rooms[room].pacer_drops++;
        if (band == CR_BAND_AUDIO)
            s->rooms[room].audio_lost++;
        if (sub >= 0)
            s->rooms[room].media_lost++;
        sim_release(s, h);
    }
}

/* Sources: audio every 20 ms, video frames at 30 fps on the layer the allocator chose. */
static void sim_sources(sim_t *s)
{
    for (int ri = 0; ri < s->n_rooms; ri++) {
        sim_room_t *r = &s->rooms[ri];
        for (int k = 0; k < r->n_subs; k++) {
            if (s->now < r->next_frame_us[k])
                continue;
            const cr_sub_t *sub = cr_topo_sub(&s->t, (uint32_t)r->subs[k]);
            if (sub->media == CR_SMEDIA_AUDIO) {
                r->next_frame_us[k] += 20000;
                sim_enqueue(s, ri, k, CR_BAND_AUDIO, 160);
                r->audio_sent++;
                continue;
            }
            r->next_frame_us[k] += 33333;
            if (sub->layer < 0)
                continue;
            if (sub->layer != r->last_layer[k]) {
                r->key_pending[k] = 1; /* a switch starts at the new layer's keyframe */
                r->last_layer[k] = sub->layer;
            }
            uint32_t bytes = sub->layer_bps[sub->layer] / 8 / 30;
            enum cr_band band = CR_BAND_DELTA;
            if (r->key_pending[k]) {
                bytes *= 4;
                band = CR_BAND_KEY;
                r->key_pending[k] = 0;
            }
            while (bytes > 0) {
                uint32_t sz = bytes > SIM_MTU ? SIM_MTU : bytes;
                bytes -= sz;
                sim_enqueue(s, ri, k, band, sz);
                r->media_sent++;
            }
        }
    }
}

static void sim_hist(uint64_t *h, double delay_us)
{
    int ms = (int)(delay_us / 1000.0);
    h[ms > 200 ? 200 : ms < 0 ? 0 : ms]++;
}

/* Two FIFO rate limiters in a row: the school link, then the classroom link. */
static void sim_transmit(sim_t *s, const cr_pacer_out_t *o)
{
    sim_pkt_t *pk = &s->pool[o->handle];
    sim_room_t *r = &s->rooms[o->room];
    double t = (double)s->now;
    sim_fb_t fb = {.e = {.send_us = s->now, .size = o->size, .probe_id = o->probe_id},
                   .audio = pk->audio,
                   .padding = pk->sub < 0};
    int lost = 0;
    sim_fifo_t *f[2] = {&s->school_link, &r->link};
    for (int i = 0; i < 2 && !lost; i++) {
        double start = t > f[i]->free_us ? t : f[i]->free_us;
        double backlog = (start - t) * f[i]->rate_bps / 8e6;
        if (backlog + o->size > (double)f[i]->limit_bytes) {
            lost = 1;
            if (i == 0)
                s->school_lost++;
            break;
        }
        if (i == 1 && pk->sub >= 0)
            sim_hist(r->qdelay_hist, start - t);
        f[i]->free_us = start + o->size * 8e6 / f[i]->rate_bps;
        t = f[i]->free_us;
    }
    fb.e.lost = (uint8_t)lost;
    fb.e.arrival_us = lost ? 0 : (uint64_t)t + SIM_DELAY_US;
    if (lost && pk->audio)
        r->audio_lost++;
    if (lost && pk->sub >= 0)
        r->media_lost++;
    if (!lost && pk->sub >= 0)
        r->media_bytes_arrived += o->size;
    if (r->fb_n < SIM_FB) {
        r->fb[(r->fb_head + r->fb_n) % SIM_FB] = fb;
        r->fb_n++;
    }
    sim_release(s, o->handle);
}

static void sim_feedback(sim_t *s, sim_room_t *r)
{
    cr_est_pkt_t batch[512];
    for (;;) {
        size_t n = 0;
        while (r->fb_n > 0 && n < 512) {
            const sim_fb_t *f = &r->fb[r->fb_head];
            int ready = f->e.lost ? f->e.send_us + 60000 <= s->now : f->e.arrival_us + SIM_DELAY_US <= s->now;
            if (!ready)
                break;
            batch[n++] = f->e;
            r->fb_head = (r->fb_head + 1) % SIM_FB;
            r->fb_n--;
        }
        if (n == 0)
            return;
        cr_est_on_packets(&cr_topo_room(&s->t, (uint32_t)r->idx)->est, batch, n, s->now);
        if (n < 512)
            return;
    }
}

static void sim_probe(sim_t *s, int ri)
{
    sim_room_t *r = &s->rooms[ri];
    cr_room_t *room = cr_topo_room(&s->t, (uint32_t)r->idx);
    uint16_t id;
    uint64_t rate = cr_topo_probe_want(&s->t, (uint32_t)r->idx, s->now, &id);
    if (rate == 0)
        return;
    uint64_t dur = room->est.p.probe_duration_us;
    cr_pacer_probe(&s->pc, (uint32_t)r->idx, rate, dur, id, s->now);
    double media = (double)room->link.alloc_bps;
    double pad = ((double)rate - media) * (double)dur / 8e6;
    int n = pad > 5.0 * SIM_MTU ? (int)(pad / SIM_MTU) : 5;
    for (int i = 0; i < n; i++)
        sim_enqueue(s, ri, -1, CR_BAND_PADDING, SIM_MTU);
}

/* Advances the simulation by one step. */
static void sim_step(sim_t *s)
{
    if (s->now >= s->next_alloc_us) {
        cr_alloc_run(&s->t, &s->ap, s->now);
        s->next_alloc_us = s->now + SIM_ALLOC_US;
    }
    sim_sources(s);
    cr_pacer_out_t out[256];
    uint64_t bytes = 0;
    int n;
    do {
        n = cr_pacer_dequeue(&s->pc, s->now, out, 256);
        for (int i = 0; i < n; i++) {
            if (out[i].dropped) {
                sim_room_t *r = &s->rooms[out[i].room];
                r->pacer_drops++;
                if (s->pool[out[i].handle].sub >= 0)
                    r->media_lost++;
                if (s->pool[out[i].handle].audio)
                    r->audio_lost++;
                sim_release(s, out[i].handle);
                continue;
            }
            bytes += out[i].size;
            sim_transmit(s, &out[i]);
        }
    } while (n == 256);
    /* the school's 10 ms sliding peak of what the pacer released */
    unsigned slot = (unsigned)(s->now / 1000) % 10;
    if (s->now % 1000 == 0)
        s->win_bytes[slot] = 0;
    s->win_bytes[slot] += bytes;
    if (s->now >= s->peak_check_from_us) {
        uint64_t w = 0;
        for (int i = 0; i < 10; i++)
            w += s->win_bytes[i];
        if (w > s->peak10_bytes)
            s->peak10_bytes = w;
    }
    for (int ri = 0; ri < s->n_rooms; ri++) {
        sim_room_t *r = &s->rooms[ri];
        if (s->now >= r->next_fb_us) {
            cr_room_t *room = cr_topo_room(&s->t, (uint32_t)r->idx);
            uint64_t before = room->link.estimate_bps;
            sim_feedback(s, r);
            /* re-run the allocation on every significant change of an estimate */
            uint64_t after = cr_est_value(&room->est, s->now);
            if (after * 20 < before * 19 || after * 20 > before * 21)
                s->next_alloc_us = s->now + SIM_STEP_US;
            r->next_fb_us += SIM_FB_US;
            if (s->probes)
                sim_probe(s, ri);
        }
    }
    s->now += SIM_STEP_US;
}

static void sim_run_until(sim_t *s, uint64_t until_us)
{
    while (s->now < until_us)
        sim_step(s);
}

static void sim_reset_meas(sim_t *s)
{
    for (int i = 0; i < s->n_rooms; i++) {
        sim_room_t *r = &s->rooms[i];
        r->media_bytes_arrived = r->media_sent = r->media_lost = r->audio_sent = r->audio_lost = r->pacer_drops = 0;
        memset(r->qdelay_hist, 0, sizeof(r->qdelay_hist));
    }
    s->school_lost = 0;
    s->peak10_bytes = 0;
}

static double sim_p99_ms(const sim_room_t *r)
{
    uint64_t total = 0, acc = 0;
    for (int i = 0; i <= 200; i++)
        total += r->qdelay_hist[i];
    for (int i = 0; i <= 200; i++) {
        acc += r->qdelay_hist[i];
        if (acc * 100 >= total * 99)
            return i + 1;
    }
    return 201;
}

#endif
