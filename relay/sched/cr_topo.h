/*
 * The scheduler's tree: school links -> classroom links -> subscriptions (DESIGN.md, "The
 * bandwidth scheduler"). Schools and classrooms come from config and stay for the topology's life;
 * subscriptions come and go with WHEP sessions. Everything is addressed by index (uint32_t), so the
 * allocator, pacer and admission keep parallel arrays and nothing holds a pointer into the tree.
 *
 * Storage: cr_topo_init allocates every array once, sized by cr_topo_limits_t; after that nothing
 * allocates and every add checks its limit (CR_EFULL).
 */
#ifndef CR_TOPO_H
#define CR_TOPO_H

#include <stddef.h>
#include <stdint.h>

#include "cr_estimate.h"
#include "cr_sched.h"

/** Default link capacities (DESIGN.md: gigabit to the school, 100 Mbps to the classroom). */
#define CR_TOPO_SCHOOL_BPS 1000000000ull
#define CR_TOPO_ROOM_BPS 100000000ull
/** Default target utilisation of a link. */
#define CR_TOPO_TARGET 0.9

/** Size limits, checked by every add. cr_topo_limits_default gives the values in brackets. */
typedef struct cr_topo_limits {
    uint32_t max_schools; /** [64] */
    uint32_t max_rooms;   /** classrooms in all schools [1024]; at most 64 per school */
    uint32_t max_subs;    /** subscriptions in all classrooms [8192]; at most 32 per classroom */
} cr_topo_limits_t;

/** A link (a school's or a classroom's): what is configured, estimated, allocated and sent. */
typedef struct cr_link {
    uint64_t capacity_bps; /** configured */
    double target;         /** target utilisation, 0 < target <= 1 */
    uint64_t estimate_bps; /** from feedback (classroom) or the shared-bottleneck detector (school) */
    uint64_t budget_bps;   /** min(capacity x target, estimate): what the allocator and pacer use */
    uint64_t alloc_bps;    /** what the allocator gave out: audio + chosen layers */
    uint64_t sent_bytes;   /** counted by the pacer: bytes released toward this link */
    uint64_t sent_packets; /** counted by the pacer */
    uint64_t dropped;      /** counted by the pacer: items dropped (waited too long, queue full) */
} cr_link_t;

/** Why a subscription has the layer it has (the allocator's answer, for people and the admin API). */
enum cr_alloc_reason {
    CR_WHY_NONE = 0,   /* not allocated yet, or the publisher sends no layer */
    CR_WHY_AUDIO,      /* audio: reserved first, always forwarded */
    CR_WHY_FLOOR,      /* at its floor layer; the next layer did not fit (see limit) */
    CR_WHY_UPGRADE,    /* above its floor, below its best; the next layer did not fit (see limit) */
    CR_WHY_BEST,       /* the best layer the publisher sends */
    CR_WHY_REQUEST,    /* the subscriber asked for no more than this layer */
    CR_WHY_CAP_ROOM,   /* below its floor (or off): the classroom link cannot hold it */
    CR_WHY_CAP_SCHOOL, /* below its floor (or off): the school link cannot hold it */
    CR_WHY_HOLD,       /* hysteresis: the allocation would allow more, the upgrade waits */
};
#define CR_WHY_COUNT 9

/** Which link stopped the next upgrade. */
enum cr_alloc_limit { CR_LIMIT_NONE = 0, CR_LIMIT_ROOM = 1, CR_LIMIT_SCHOOL = 2 };

/** A subscription: one stream (audio, or video with layers) that one classroom receives. */
typedef struct cr_sub {
    uint32_t room;     /** the classroom */
    uint8_t in_use;
    uint8_t media;     /** enum cr_sched_media */
    uint8_t role;      /** enum cr_sched_role (video) */
    uint8_t n_layers;  /** layers known, lowest bitrate first */
    uint32_t layer_bps[CR_SCHED_MAX_LAYERS]; /** measured bitrate of each layer; 0 = not sent now */
    float layer_util[CR_SCHED_MAX_LAYERS];   /** utility of each layer (log of its bitrate) */
    uint64_t floor_bps; /** the floor: the lowest layer with at least this bitrate is guaranteed */
    int8_t max_layer;   /** the subscriber's own cap (a layer selector), default the top */
    /* the allocator's output */
    int8_t layer;       /** the layer to forward now, CR_SCHED_LAYER_OFF for none */
    int8_t ideal;       /** the layer the allocation would give without hysteresis */
    uint8_t reason;     /** enum cr_alloc_reason */
    uint8_t limit;      /** enum cr_alloc_limit */
    /* hysteresis state */
    uint8_t backoff;    /** an upgrade undone soon after doubles the next hold (up to 8x) */
    uint8_t ever_down;
    uint64_t up_since_us, last_up_us, last_down_us;
    uint64_t user;      /** the caller's tag (e.g. its subscriber and source ids) */
} cr_sub_t;

/** A classroom: its link, estimator, the class kind it attends and its subscriptions. */
typedef struct cr_room {
    char name[CR_SCHED_NAME_MAX + 1];
    cr_link_t link;
    cr_est_t est;
    uint32_t school;
    uint8_t slot; /** index among its school's classrooms (0..63) */
    uint8_t kind; /** enum cr_sched_kind of the class it attends (its weight in the school) */
    uint16_t n_subs;
    uint32_t subs[CR_SCHED_SUBS_PER_ROOM];
    /* the allocator's output (visibility) */
    uint64_t audio_bps;  /** audio reserved */
    uint64_t floor_bps;  /** audio + the video floors that fit the classroom link */
    uint64_t want_bps;   /** audio + every stream's best layer, capped by the classroom budget */
    uint64_t share_bps;  /** what the school gave this classroom */
    uint64_t probe_bps;  /** bits held back by hysteresis: room to send probes / padding */
    uint8_t limit;       /** enum cr_alloc_limit: which link bounded the classroom */
} cr_room_t;

/** A school: its link, its shared-bottleneck detector and its classrooms. */
typedef struct cr_school {
    char name[CR_SCHED_NAME_MAX + 1];
    cr_link_t link;
    cr_school_est_t est;
    uint16_t n_rooms;
    uint32_t rooms[CR_SCHED_ROOMS_PER_SCHOOL];
    uint64_t probe_until_us; /** a classroom of this school is probing until then */
} cr_school_t;

/** The tree. Embedded by its owner; cr_topo_dispose frees the arrays. */
typedef struct cr_topo {
    cr_topo_limits_t lim;
    cr_est_params_t est_params;
    cr_school_t *schools;
    cr_room_t *rooms;
    cr_sub_t *subs;
    uint32_t *free_subs;
    uint32_t n_schools, n_rooms, n_free_subs;
} cr_topo_t;

/** Fills lim with the defaults given in cr_topo_limits_t's comments. */
void cr_topo_limits_default(cr_topo_limits_t *lim);

/**
 * Initializes t and allocates its arrays. lim (copied; NULL = defaults) bounds them; est (copied;
 * NULL = defaults) tunes every classroom's estimator. Returns 0, CR_EINVAL or CR_ENOMEM.
 */
int cr_topo_init(cr_topo_t *t, const cr_topo_limits_t *lim, const cr_est_params_t *est);

/** Frees the arrays; t may be zeroed or already disposed. */
void cr_topo_dispose(cr_topo_t *t);

/**
 * Adds a school. name (copied) is 1..CR_SCHED_NAME_MAX bytes and unique; capacity_bps 0 means
 * CR_TOPO_SCHOOL_BPS; target 0 means CR_TOPO_TARGET. Returns its index or CR_EINVAL / CR_EFULL.
 */
int cr_topo_add_school(cr_topo_t *t, const char *name, uint64_t capacity_bps, double target, uint64_t now_us);

/** Adds a classroom under school as cr_topo_add_school does (0 = CR_TOPO_ROOM_BPS). */
int cr_topo_add_room(cr_topo_t *t, uint32_t school, const char *name, uint64_t capacity_bps, double target,
                     uint64_t now_us);

/** Changes a link's configuration (school = 1: school index, else classroom index). */
int cr_topo_set_link(cr_topo_t *t, int school, uint32_t idx, uint64_t capacity_bps, double target);

/** Finds a school by name (caller's string; linear, for the control plane). Returns its index or -1. */
int cr_topo_find_school(const cr_topo_t *t, const char *name);

/**
 * Finds a classroom by name, the identity its token carries (linear, for the control plane).
 * Returns its index or -1; the caller places unknown classrooms in its documented default.
 */
int cr_topo_find_room(const cr_topo_t *t, const char *name);

/** Sets the class kind a classroom attends (its weight when its school link is shared). */
void cr_topo_room_set_kind(cr_topo_t *t, uint32_t room, enum cr_sched_kind kind);

/**
 * Adds a subscription to a classroom: media is audio or video, role (video) its place in the floor
 * order, user the caller's tag. It starts with no layer. Returns its index or CR_EINVAL / CR_EFULL.
 */
int cr_topo_sub_add(cr_topo_t *t, uint32_t room, enum cr_sched_media media, enum cr_sched_role role, uint64_t user);

/** Removes a subscription; its index may be reused by the next add. */
void cr_topo_sub_remove(cr_topo_t *t, uint32_t sub);

/**
 * Sets the layers' measured bitrates (bps, n <= CR_SCHED_MAX_LAYERS, lowest first; 0 = that layer
 * is not sent now; bps is the caller's). Audio has one layer: its bitrate. Returns 0 or CR_EINVAL.
 */
int cr_topo_sub_set_layers(cr_topo_t *t, uint32_t sub, const uint32_t *bps, unsigned n);

/**
 * Sets a subscription's floor: the lowest layer with at least floor_bps is guaranteed while the
 * links hold it (0 = the lowest layer sent). Admission reserves the same figure (cr_admit.h).
 */
void cr_topo_sub_set_floor(cr_topo_t *t, uint32_t sub, uint64_t floor_bps);

/** Sets the subscriber's own cap (a layer selector): max_layer < 0 removes it. */
void cr_topo_sub_set_max_layer(cr_topo_t *t, uint32_t sub, int max_layer);

/**
 * Refreshes every link's estimate and budget: classrooms from their estimators, schools from the
 * shared-bottleneck detector fed with their classrooms' congestion signals. cr_alloc_run calls it.
 */
void cr_topo_refresh(cr_topo_t *t, uint64_t now_us);

/**
 * Whether to probe a classroom's link now (see cr_est_probe_want), except while the school link is
 * what limits the classroom (probing a shared bottleneck from every classroom only adds queueing),
 * and only one classroom of a school at a time (a probe, then 100 ms for its feedback).
 */
uint64_t cr_topo_probe_want(cr_topo_t *t, uint32_t room, uint64_t now_us, uint16_t *cluster_id);

/** min(capacity x target, estimate) of a link (estimate 0 = none yet: capacity x target). */
uint64_t cr_link_budget(const cr_link_t *l);

/** The school at index i (from cr_topo_add_school; not checked). Owned by t. */
static inline cr_school_t *cr_topo_school(cr_topo_t *t, uint32_t i)
{
    return &t->schools[i];
}

/** The classroom at index i (from cr_topo_add_room; not checked). Owned by t. */
static inline cr_room_t *cr_topo_room(cr_topo_t *t, uint32_t i)
{
    return &t->rooms[i];
}

/** The subscription at index i (from cr_topo_sub_add; not checked). Owned by t. */
static inline cr_sub_t *cr_topo_sub(cr_topo_t *t, uint32_t i)
{
    return &t->subs[i];
}

#endif
