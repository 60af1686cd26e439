/*
 * sched_bench: what the bandwidth scheduler costs per forwarded packet (issue 5, goal 7: allocator
 * and pacer together <= 2 us per packet at 100k packets/s).
 *
 *   sched_bench [--seconds N] [--pps N] [--rooms N] [--alloc-hz N]
 *
 * One school (1 Gbps), 30 classrooms (100 Mbps), each receiving audio and 3 video streams (teacher,
 * board, another classroom; 3 simulcast layers). The scheduler runs on a simulated clock exactly as
 * the media worker would drive it: every packet is enqueued in the pacer; the pacer is dequeued
 * every 100 us; transport-wide feedback reaches each classroom's estimator every 50 ms; the
 * allocator re-runs alloc-hz times a second (default 20: every feedback-driven change plus the
 * once-a-second tick, generously). The CPU time of those calls (CLOCK_THREAD_CPUTIME_ID) is divided
 * by the packets. Prints key=value lines; exit 0 when the goal is met, 1 when not.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cr_alloc.h"
#include "cr_pacer.h"
#include "cr_topo.h"

#define MAX_ROOMS 64
#define FB_MAX 4096

static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int parse_u(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

typedef struct room_fb {
    cr_est_pkt_t pk[FB_MAX];
    size_t n;
} room_fb_t;

int main(int argc, char **argv)
{
    unsigned long seconds = 5, pps = 100000, rooms = 30, alloc_hz = 20;
    for (int i = 1; i < argc; i++) {
        unsigned long *dst = NULL, lo = 1, hi = 0;
        if (strcmp(argv[i], "--seconds") == 0)
            dst = &seconds, hi = 600;
        else if (strcmp(argv[i], "--pps") == 0)
            dst = &pps, hi = 10000000;
        else if (strcmp(argv[i], "--rooms") == 0)
            dst = &rooms, hi = MAX_ROOMS;
        else if (strcmp(argv[i], "--alloc-hz") == 0)
            dst = &alloc_hz, hi = 10000;
        if (dst == NULL || i + 1 >= argc || parse_u(argv[++i], lo, hi, dst) != 0) {
            fprintf(stderr, "usage: sched_bench [--seconds N] [--pps N] [--rooms 1-64] [--alloc-hz N]\n");
            return 2;
        }
    }
    static cr_topo_t t;
    static cr_pacer_t pc;
    static room_fb_t fb[MAX_ROOMS];
    cr_topo_limits_t lim = {.max_schools = 1, .max_rooms = (uint32_t)rooms, .max_subs = (uint32_t)rooms * 4};
    cr_est_params_t ep;
    cr_est_params_default(&ep);
    ep.start_bps = 0; /* links already estimated at their capacity: measure the steady state */
    if (cr_topo_init(&t, &lim, &ep) != 0 || cr_topo_add_school(&t, "xian-1", 0, 0, 0) != 0)
        return 2;
    static const uint32_t layers[3][3] = {{300000, 1000000, 2500000}, {200000, 600000, 1500000},
                                          {150000, 500000, 1200000}};
    for (unsigned long r = 0; r < rooms; r++) {
        char name[32];
        snprintf(name, sizeof(name), "xian-1-%lu", r + 1);
        cr_topo_add_room(&t, 0, name, 0, 0, 0);
        uint32_t a = 64000;
        int s = cr_topo_sub_add(&t, (uint32_t)r, CR_SMEDIA_AUDIO, CR_SROLE_TEACHER, 0);
        cr_topo_sub_set_layers(&t, (uint32_t)s, &a, 1);
        for (int k = 0; k < 3; k++) {
            s = cr_topo_sub_add(&t, (uint32_t)r, CR_SMEDIA_VIDEO, (enum cr_sched_role)k, 0);
            cr_topo_sub_set_layers(&t, (uint32_t)s, layers[k], 3);
        }
    }
    cr_pacer_params_t pp;
    cr_pacer_params_default(&pp);
    if (cr_pacer_init(&pc, &t, &pp) != 0)
        return 2;

    /* 100k packets/s of 1000 bytes = 800 Mbps, under the school's 900 Mbps budget. */
    const uint64_t step_us = 100, total_us = seconds * 1000000ull;
    const double per_step = (double)pps * step_us / 1e6;
    double carry = 0;
    uint64_t pkts = 0, sent = 0, dropped = 0, alloc_runs = 0, ns_pacer = 0, ns_alloc = 0, ns_est = 0;
    uint64_t next_alloc = 0, next_fb = 50000;
    uint32_t handle = 0, rr = 0;
    cr_pacer_out_t out[512];
    for (uint64_t now = 0; now < total_us; now += step_us) {
        if (now >= next_alloc) {
            uint64_t a = cpu_ns();
            cr_alloc_run(&t, NULL, now);
            ns_alloc += cpu_ns() - a;
            alloc_runs++;
            next_alloc = now + 1000000 / alloc_hz;
        }
        carry += per_step;
        uint64_t a = cpu_ns();
        while (carry >= 1.0) {
            carry -= 1.0;
            uint32_t room = rr++ % (uint32_t)rooms;
            /* 1 in 25 packets is audio, 1 in 50 a retransmission, 1 in 10 part of a keyframe */
            enum cr_band band = pkts % 25 == 0   ? CR_BAND_AUDIO
                                : pkts % 50 == 1 ? CR_BAND_RTX
                                : pkts % 10 == 2 ? CR_BAND_KEY
                                                 : CR_BAND_DELTA;
            cr_pacer_enqueue(&pc, room, band, handle++, 1000, now, out);
            pkts++;
        }
        int n;
        do {
            n = cr_pacer_dequeue(&pc, now, out, 512);
            for (int i = 0; i < n; i++) {
                if (out[i].dropped) {
                    dropped++;
                    continue;
                }
                sent++;
                room_fb_t *f = &fb[out[i].room];
                if (f->n < FB_MAX)
                    f->pk[f->n++] = (cr_est_pkt_t){.send_us = now, .arrival_us = now + 10000, .size = out[i].size};
            }
        } while (n == 512);
        ns_pacer += cpu_ns() - a;
        if (now >= next_fb) {
            a = cpu_ns();
            for (unsigned long r = 0; r < rooms; r++) {
                cr_est_on_packets(&cr_topo_room(&t, (uint32_t)r)->est, fb[r].pk, fb[r].n, now);
                fb[r].n = 0;
            }
            ns_est += cpu_ns() - a;
            next_fb = now + 50000;
        }
    }
    double pacer_ns = (double)ns_pacer / (double)pkts, est_ns = (double)ns_est / (double)pkts;
    double alloc_ns = (double)ns_alloc / (double)pkts;
    double total_us_pkt = (pacer_ns + alloc_ns + est_ns) / 1000.0;
    printf("bench=sched rooms=%lu streams_per_room=4 seconds=%lu pps=%lu packets=%llu sent=%llu dropped=%llu\n",
           rooms, seconds, pps, (unsigned long long)pkts, (unsigned long long)sent, (unsigned long long)dropped);
    printf("alloc_runs=%llu alloc_us_per_run=%.2f alloc_ns_per_packet=%.1f\n", (unsigned long long)alloc_runs,
           alloc_runs ? (double)ns_alloc / 1000.0 / (double)alloc_runs : 0.0, alloc_ns);
    printf("pacer_ns_per_packet=%.1f estimator_ns_per_packet=%.1f\n", pacer_ns, est_ns);
    printf("sched_us_per_packet=%.3f goal_us_per_packet=2.000 cpu_share_at_pps=%.4f pass=%s\n", total_us_pkt,
           total_us_pkt * (double)pps / 1e6, total_us_pkt <= 2.0 ? "yes" : "no");
    cr_pacer_dispose(&pc);
    cr_topo_dispose(&t);
    return total_us_pkt <= 2.0 ? 0 : 1;
}
