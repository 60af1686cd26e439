/*
 * Admission (DESIGN.md: "a class or a join that cannot get its floor is refused or degraded with a
 * clear reason, never silently starved").
 *
 * A class reserves, in each classroom it reaches, its audio plus the floor of every video stream
 * that classroom receives, for the class's period. A reservation fits when, at every moment of the
 * period, the classroom link and its school link carry at most their planning budget:
 * capacity x target x (1 - margin) (or the live budget, with use_estimate).
 *
 * The timetable is admitted in priority order (dedicated > synchronous > master > network, then by
 * start time, then as listed). For each classroom of a class: the full floors if they fit, else
 * the essential floors (audio + the first stream's floor, the teacher camera), else the classroom
 * is refused. A class is admitted when every classroom got its full floors, refused when none got
 * anything, otherwise degraded; the reason names the first link that did not fit, e.g.
 *   "school 'xian-1' link: floors 930 Mbps > 900 Mbps budget".
 * An ad-hoc class (cr_admit_class) and a single join (cr_admit_join) are checked the same way
 * against what is already admitted.
 *
 * Cost: O(classes^2 x classrooms per class) per timetable; for the control plane, not the packet
 * path. Nothing allocates after cr_admit_init.
 */
#ifndef CR_ADMIT_H
#define CR_ADMIT_H

#include <stdint.h>

#include "cr_topo.h"

#define CR_ADMIT_MAX_CLASSES 512  /** classes in one timetable */
#define CR_ADMIT_MAX_ROOMS 64     /** classrooms one class reaches */
#define CR_ADMIT_MAX_STREAMS 8    /** video streams a classroom receives in one class */
#define CR_ADMIT_REASON_MAX 192

enum cr_admit_status {
    CR_ADMIT_PENDING = 0,
    CR_ADMIT_ADMITTED = 1, /* every classroom has its full floors */
    CR_ADMIT_DEGRADED = 2, /* some classrooms have only the essential floors, or none */
    CR_ADMIT_REFUSED = 3,  /* no classroom could be given even the essential floors */
};

/** What one classroom of a class was given. */
enum cr_admit_room { CR_ADMIT_ROOM_REFUSED = 0, CR_ADMIT_ROOM_ESSENTIAL = 1, CR_ADMIT_ROOM_FULL = 2 };

/** A class in the timetable: the caller fills the input part; admission fills the output part. */
typedef struct cr_admit_class {
    /* input */
    char id[CR_SCHED_NAME_MAX + 1];
    uint8_t kind;                             /** enum cr_sched_kind */
    uint64_t start_us, end_us;                /** the period [start, end), any common time base */
    uint16_t n_rooms;
    uint32_t rooms[CR_ADMIT_MAX_ROOMS];       /** topology classroom indices */
    uint8_t n_streams;
    uint64_t floor_bps[CR_ADMIT_MAX_STREAMS]; /** per video stream, role order ([0] = teacher camera) */
    uint64_t audio_bps;                       /** all the audio one classroom receives */
    /* output */
    uint8_t status;                           /** enum cr_admit_status */
    uint8_t room_status[CR_ADMIT_MAX_ROOMS];  /** enum cr_admit_room */
    uint64_t reserved_bps[CR_ADMIT_MAX_ROOMS];
    char reason[CR_ADMIT_REASON_MAX];         /** "" when admitted */
} cr_admit_class_t;

/** Tunables; cr_admit_params_default fills the values in brackets. */
typedef struct cr_admit_params {
    double margin;    /** fraction of the planning budget kept free [0.0] */
    int use_estimate; /** 1: plan against the live budgets (joins during the day) [0] */
    uint8_t kind_rank[CR_SKIND_COUNT]; /** admission order, lower first
                                           [dedicated 0, synchronous 1, master 2, network 3] */
} cr_admit_params_t;

/** Admission scratch state (sized by the topology's limits). */
typedef struct cr_admit {
    const cr_topo_t *t; /* borrowed: must outlive the admission state */
    uint64_t *room_cur, *room_peak, *room_add;
    uint64_t *school_cur, *school_peak, *school_add;
    uint8_t *room_mark, *school_mark;
    uint16_t order[CR_ADMIT_MAX_CLASSES];
} cr_admit_t;

/** Fills p with the defaults given in cr_admit_params_t's comments. */
void cr_admit_params_default(cr_admit_params_t *p);

/** Allocates the scratch arrays for t (borrowed). Returns 0 or CR_ENOMEM. */
int cr_admit_init(cr_admit_t *a, const cr_topo_t *t);

/** Frees the scratch arrays. */
void cr_admit_dispose(cr_admit_t *a);

/**
 * Admits a whole timetable: classes[0..n) (caller's) get status, room_status, reserved_bps and
 * reason. p NULL = defaults. Returns the number of classes refused, or CR_ETOOBIG (n too large) /
 * CR_EINVAL (a class with a bad classroom index, too many rooms or streams, or end <= start).
 */
int cr_admit_timetable(cr_admit_t *a, cr_admit_class_t *classes, unsigned n, const cr_admit_params_t *p);

/**
 * Checks one more class (ad hoc) against the classes of classes[0..n) already admitted or degraded,
 * and fills its output part. It is not added to the array (the caller appends it if it wants it).
 * Returns its status, or CR_EINVAL.
 */
int cr_admit_class(cr_admit_t *a, const cr_admit_class_t *classes, unsigned n, cr_admit_class_t *cand,
                   const cr_admit_params_t *p);

/**
 * Checks one classroom joining classes[idx] from from_us to the class's end. When it fits (full or
 * essential floors) the classroom is appended to the class with its reservation and the status is
 * CR_ADMIT_ADMITTED or CR_ADMIT_DEGRADED; otherwise CR_ADMIT_REFUSED and nothing changes. reason
 * (caller's, len bytes) gets the text. Returns the status, or CR_EINVAL / CR_EFULL.
 */
int cr_admit_join(cr_admit_t *a, cr_admit_class_t *classes, unsigned n, unsigned idx, uint32_t room, uint64_t from_us,
                  const cr_admit_params_t *p, char *reason, unsigned len);

/** "pending", "admitted", "degraded", "refused". */
const char *cr_admit_status_name(int status);

#endif
