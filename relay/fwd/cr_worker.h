/*
 * A media worker: one thread with its own UDP socket (one port: BUNDLE + rtcp-mux for every peer it
 * serves) and epoll loop. It owns the classes pinned to it, their peers and streams, without locks.
 * The control thread talks to it only through its command mailbox, and hears back through the event
 * mailbox given at creation.
 */
#ifndef CR_WORKER_H
#define CR_WORKER_H

#include <stdatomic.h>
#include <stdint.h>

#include "cr_conf.h"
#include "cr_dtls.h"
#include "cr_list.h"
#include "cr_mailbox.h"
#include "cr_peer.h"

typedef struct cr_worker cr_worker_t;

typedef struct cr_worker_opts {
    unsigned index;
    const char *bind_ip;        /* IPv4 address to bind */
    uint16_t port;              /* UDP port */
    unsigned consent_timeout_s; /* RFC 7675 consent freshness */
    cr_dtls_ctx_t *dtls_ctx;    /* shared, borrowed for the worker's lifetime */
    cr_mailbox_t *events;       /* where cr_worker_event_t messages go; borrowed */
    /* The scheduler's topology and tuning ([sched], [school.*], [classroom.*]), read by
     * cr_worker_new only (borrowed for the call); NULL = the built-in defaults. */
    const cr_conf_t *conf;
    /* Workers sharing each school link: this worker plans for 1/n_workers of every school's
     * capacity (docs/CONFIG.md, "The topology"); 0 = 1. */
    unsigned n_workers;
} cr_worker_opts_t;

enum cr_worker_event_type {
    CR_EV_PEER_CONNECTED = 1, /* ICE + DTLS done */
    CR_EV_PEER_CLOSED = 2,    /* the worker removed and freed the peer */
};

/** A message from a worker to the control thread; the receiver frees it with free(). */
typedef struct cr_worker_event {
    cr_list_t link;
    enum cr_worker_event_type type;
    enum cr_peer_role role;
    enum cr_peer_close_reason reason;
    char resource_id[CR_RESOURCE_ID_LEN + 1];
    char class_id[CR_CLASS_ID_MAX + 1];
} cr_worker_event_t;

#define CR_LAT_BUCKETS 96

/** Packet counters, written by the worker only and readable from any thread. */
typedef struct cr_worker_stats {
    atomic_uint_fast64_t packets_in, bytes_in, packets_out, bytes_out;
    atomic_uint_fast64_t drop_malformed, drop_srtp_auth, drop_replay, drop_unknown_peer;
    atomic_uint_fast64_t drop_queue_full, drop_stun_auth;
    /* Media the pacer dropped: video that waited longer than its limit, pushed out by audio, or
     * refused by a full classroom queue or packet pool. */
    atomic_uint_fast64_t drop_pacer;
    atomic_uint_fast64_t paced; /* packets that waited in the pacer before leaving (the rest left at once) */
    atomic_uint_fast64_t nacks_in, retransmits, kf_requests_in, kf_requests_sent;
    atomic_uint_fast64_t forwarded;
    atomic_uint_fast64_t peers, classes;
    /* Relay-added latency of forwarded media (receive -> sendmmsg), a log-linear histogram in
     * microseconds published once a second; read it with cr_worker_latency_percentile(). */
    atomic_uint_fast64_t latency_hist[CR_LAT_BUCKETS];
} cr_worker_stats_t;

/** The p-th percentile (0 < p < 100) of the relay-added latency in microseconds, 0 if no data. */
uint64_t cr_worker_latency_percentile(const cr_worker_stats_t *st, double p);

/** Creates a worker and binds its socket. Returns 0, or CR_EIO with errno set (e.g. port in use). */
int cr_worker_new(cr_worker_t **out, const cr_worker_opts_t *opts);

/** Starts the worker thread. */
int cr_worker_start(cr_worker_t *w);

/** Stops and joins the thread, frees every peer (no events are sent), closes the socket, frees w. */
void cr_worker_free(cr_worker_t *w);

/** Posts a peer to the worker, which takes ownership. Returns 0 or CR_EFULL (caller keeps p). */
int cr_worker_add_peer(cr_worker_t *w, cr_peer_t *p);

/** Asks the worker to remove and free the peer with this resource id (no-op if already gone). */
int cr_worker_remove_peer(cr_worker_t *w, const char *resource_id);

/**
 * Points subscriber sub_resource at the media of publisher source_resource in the same class, or at
 * the class's main publisher (the teacher) when source_resource is NULL or "". The switch is seamless
 * for the receiver: sequence numbers and timestamps continue, video resumes at the new source's next
 * keyframe (which the worker requests). If the source is not (yet) present, the subscriber waits for
 * it. Used for the teacher's classroom grid and for "on stage".
 */
int cr_worker_set_source(cr_worker_t *w, const char *sub_resource, const char *source_resource);

/**
 * Sets the simulcast layer a subscriber receives: rid ("h", "m", "l", ...) or NULL/"" for the best
 * layer the publisher sends. The switch happens at the target layer's next keyframe.
 */
int cr_worker_set_layer(cr_worker_t *w, const char *sub_resource, const char *rid);

/** Stops (muted = 1) or resumes forwarding of a publisher's audio and/or video. */
int cr_worker_set_muted(cr_worker_t *w, const char *pub_resource, int audio_muted, int video_muted);

/** One peer's figures, as published by its worker once a second. */
typedef struct cr_peer_stats {
    char resource_id[CR_RESOURCE_ID_LEN + 1];
    char class_id[CR_CLASS_ID_MAX + 1];
    enum cr_peer_role role;
    enum cr_peer_state state;
    uint64_t packets_in, bytes_in, packets_out, bytes_out;
    uint64_t bps_in, bps_out;  /* over the last second */
    double loss;               /* subscriber: fraction the receiver reports lost; publisher: we lose */
    double jitter_ms;
    double rtt_ms;             /* subscriber: from its receiver reports; 0 = unknown */
    uint64_t remb_bps;         /* subscriber: its receive estimate (REMB), 0 = none */
    char layer[CR_RID_MAX];    /* subscriber: the simulcast layer it receives ("" = single) */
    uint64_t nacks_in, retransmits, kf_requests_in;
    /* Subscriber with transport-cc (twcc = 1): feedback packets received, the packets they
     * reported, and how many of those were lost. */
    int twcc;
    uint64_t twcc_feedback, twcc_reported, twcc_lost;
    /* Subscriber: the scheduler's view. */
    char school[CR_SCHED_NAME_MAX + 1];    /* the school link it is placed under ("" = not placed) */
    char classroom[CR_SCHED_NAME_MAX + 1]; /* the classroom link */
    char target_layer[CR_RID_MAX];         /* video: the layer it is switching to or keeps ("" = single) */
    int video_off;                         /* 1: the allocator turned its video off */
    uint64_t alloc_bps;                    /* what the allocator gave its streams (audio + video layer) */
    char why[96];                          /* video: the allocation and why (cr_alloc_describe), or "" */
    /* Publisher: each stream's bitrate as the scheduler measures it (bps, 0 = not sent now). */
    unsigned n_streams;
    struct {
        char rid[CR_RID_MAX]; /* "" = no simulcast */
        int video;
        uint32_t bps;
    } streams[CR_PEER_MAX_PUB];
} cr_peer_stats_t;

/** A school or classroom link as one worker schedules it, published once a second. */
typedef struct cr_link_stats {
    char school[CR_SCHED_NAME_MAX + 1];
    char classroom[CR_SCHED_NAME_MAX + 1]; /* "" = the school link itself */
    int configured;        /* from a [school.*] / [classroom.*] section, else from a token */
    uint64_t capacity_bps; /* this worker's capacity (a school's is its 1/n_workers share) */
    double target;
    uint64_t estimate_bps; /* from feedback (classroom) or the shared-bottleneck detector (school) */
    uint64_t delay_bps;    /* classroom: its estimator's delay-based estimate (from transport-wide feedback) */
    int twcc;              /* classroom: transport-wide feedback reached its estimator in the last second */
    uint64_t budget_bps;   /* min(capacity x target, estimate): what allocation and pacing use */
    uint64_t alloc_bps;    /* allocated: audio + chosen layers */
    uint64_t floor_bps;    /* classroom: audio + the floors its link holds */
    uint64_t sent_bps;     /* actually released toward the link over the last second */
    uint64_t sent_packets, sent_bytes, dropped; /* counted by the pacer since start */
    uint32_t queued;       /* classroom: packets waiting in the pacer now */
    double loss;           /* classroom: the loss of its last report window */
    uint32_t rtt_us;       /* classroom: round-trip time from its receivers' reports */
    unsigned subscriptions; /* classroom: streams it receives (school: of all its classrooms) */
    int kind;              /* classroom: enum cr_sched_kind of the class it attends */
    int degraded;          /* showed congestion in the last second */
    char limit[16];        /* classroom: the link that bounded its allocation ("", "classroom", "school") */
    uint64_t at_unix_ms;   /* when the worker took these figures (wall clock, ms) */
} cr_link_stats_t;

/**
 * Copies the latest link snapshot (at most max entries; schools first, each followed by its
 * classrooms) into out and returns how many links the worker has. Thread-safe; about a second old.
 */
size_t cr_worker_link_stats(cr_worker_t *w, cr_link_stats_t *out, size_t max);

/**
 * Copies the latest per-peer snapshot (at most max entries) into out and returns how many peers
 * the worker has (which may exceed max). Thread-safe; the snapshot is at most about a second old.
 */
size_t cr_worker_peer_stats(cr_worker_t *w, cr_peer_stats_t *out, size_t max);

/** The port the worker's socket is bound to. */
uint16_t cr_worker_port(const cr_worker_t *w);

/** The worker's counters. */
const cr_worker_stats_t *cr_worker_stats(const cr_worker_t *w);

#endif
