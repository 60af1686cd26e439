/*
 * The bandwidth scheduler (DESIGN.md, "The bandwidth scheduler"): shared limits and enums.
 *
 * The scheduler is pure: it includes only libc and relay/core, allocates only in its _init
 * functions, never reads a clock (every decision takes `now_us`, a monotonic time in microseconds,
 * as h2o's scheduler does) and never touches packet bytes. It is single-threaded: one owner (the
 * media worker that carries a school's subscribers) calls it. Its parts:
 *
 *   cr_topo.h      the tree: schools -> classrooms -> subscriptions, with links and budgets
 *   cr_estimate.h  per-classroom bandwidth estimator (loss, delay gradient, REMB, probes) and the
 *                  per-school shared-bottleneck detector
 *   cr_alloc.h     the allocator: audio first, weighted max-min above floors, layers with hysteresis
 *   cr_pacer.h     nested token buckets (school, classroom) with priority bands
 *   cr_admit.h     admission of a timetable, an ad-hoc class or a single join against the links
 *
 * Rates are bits per second (uint64_t), sizes are bytes, times are microseconds.
 */
#ifndef CR_SCHED_H
#define CR_SCHED_H

#include <stdint.h>

/** Longest school or classroom name (bytes, without the NUL); the token's classroom identity. */
#define CR_SCHED_NAME_MAX 64
/** Most layers (simulcast encodings x temporal layers) one video subscription chooses among. */
#define CR_SCHED_MAX_LAYERS 4
/** Most classrooms under one school (the pacer keeps one 64-bit mask per band per school). */
#define CR_SCHED_ROOMS_PER_SCHOOL 64
/** Most subscriptions (audio and video streams) one classroom receives. */
#define CR_SCHED_SUBS_PER_ROOM 32
/** The layer index that means "not forwarded". */
#define CR_SCHED_LAYER_OFF (-1)
/** An index that refers to nothing. */
#define CR_SCHED_NONE UINT32_MAX

/**
 * Class kinds, in the order of enum cr_class_kind (relay/classes/cr_class.h), so the forwarding
 * core can convert with a cast; the scheduler does not include that header (layering).
 */
enum cr_sched_kind {
    CR_SKIND_SYNCHRONOUS = 0,
    CR_SKIND_DEDICATED = 1,
    CR_SKIND_MASTER = 2,
    CR_SKIND_NETWORK = 3,
};
#define CR_SKIND_COUNT 4

/** What a video stream shows, in floor order: the teacher's camera gets its floor first. */
enum cr_sched_role {
    CR_SROLE_TEACHER = 0, /* the anchor teacher's camera */
    CR_SROLE_BOARD = 1,   /* board or slides */
    CR_SROLE_STAGE = 2,   /* the classroom currently on stage */
    CR_SROLE_OTHER = 3,   /* other classrooms (synchronous class grid) */
};
#define CR_SROLE_COUNT 4

/** Media of a subscription. Audio is reserved first everywhere and never loses its layer. */
enum cr_sched_media { CR_SMEDIA_AUDIO = 0, CR_SMEDIA_VIDEO = 1 };

/** Returns "synchronous", "dedicated", "master" or "network" ("?" if out of range). */
const char *cr_sched_kind_name(int kind);

/** Returns "teacher", "board", "stage" or "other" ("?" if out of range). */
const char *cr_sched_role_name(int role);

/**
 * Formats a rate for people: "930 Mbps", "2.5 Mbps", "640 kbps", "0 bps". Writes at most len bytes
 * including the NUL into buf (caller-owned) and returns buf.
 */
char *cr_sched_fmt_rate(char *buf, unsigned len, uint64_t bps);

#endif
