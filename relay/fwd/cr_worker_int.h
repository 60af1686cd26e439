/*
 * Internals shared by the media worker's source files (cr_worker.c: loop and commands, cr_ice_lite.c:
 * STUN, cr_media.c: SRTP and forwarding, cr_rtcp_out.c: our own reports, cr_twcc.c: transport-wide
 * feedback from subscribers). Not for other modules.
 */
#ifndef CR_WORKER_INT_H
#define CR_WORKER_INT_H

#include <sys/socket.h>

#include "cr_alloc.h"
#include "cr_pacer.h"
#include "cr_rtcp.h"
#include "cr_topo.h"
#include "cr_worker.h"

#define CR_PKT_BUF 1600          /* one datagram plus the SRTP trailer */
#define CR_RECV_BATCH 64         /* datagrams per recvmmsg */
#define CR_RECV_ROUNDS 8         /* recvmmsg calls per wakeup before other work gets a turn */
/* Datagrams queued before a sendmmsg flush. Small enough that a packet's copies leave while the
 * fan-out of the same packet goes on (64 copies of about 4 us each is a quarter of a millisecond);
 * larger batches save little: the kernel's per-datagram work dominates the syscall's. */
#define CR_SEND_BATCH 64
#define CR_UFRAG_BUCKETS 1024
#define CR_ADDR_BUCKETS 4096
#define CR_TICK_MS 10
#define CR_KEYFRAME_INTERVAL_US 500000u /* merged PLI/FIR: at most one per stream per 500 ms */
#define CR_SCHED_TICK_US 100000u        /* feedback and allocation this often (and on every change) */
#define CR_LINK_PUBLISH_US 100000u      /* the link snapshot for the control plane this often */
#define CR_PACE_ITEMS 8192              /* packets the pacer may hold (all classrooms of a worker) */
#define CR_PACE_ROOM_ITEMS 1024         /* ... for one classroom */
/* The packet pool: the pacer's items, the send batch's, and a reserve so that audio and RTCP always
 * find a slot (when the pacer is full they push out queued video). */
#define CR_PACE_POOL (CR_PACE_ITEMS + CR_SEND_BATCH + 64)
#define CR_PEER_LAYER_AUTO (-2)         /* cr_peer_t.sched_layer: no allocation yet */
#define CR_TWCC_FB_MAX 1024             /* packets of one transport-wide feedback fed to the estimator */
#define CR_TWCC_FRESH_US 1000000u       /* a classroom with feedback this recent has no loss reports */
#define CR_TWCC_REPORTER_US 500000u     /* its delay reporter hands over after this long without feedback */

/* A packet waiting in the pacer: its bytes, already protected for its subscriber, and its address. */
typedef struct cr__pace_slot {
    uint32_t next; /* free list */
    uint32_t len;
    uint64_t recv_us; /* when the forwarded packet arrived (relay-added latency); 0 = not media */
    uint8_t srtp_pending; /* RTP written in the clear: protected (and given its transport seq) on release */
    socklen_t addr_len;
    struct sockaddr_storage addr;
    uint8_t buf[CR_PKT_BUF];
} cr__pace_slot_t;

/* Per classroom: its feedback. Every tick closes an interval of send time with what the pacer released
 * toward the link in it; a NACKed packet's loss is counted in the interval it was sent in (from its
 * time in the history ring), so a loss report judges packets sent long enough ago for their NACKs to
 * have arrived, whatever the queue and round trip (a report over "NACKs that arrived lately" sets
 * old losses against new packets and backs off twice for one loss). */
#define CR_FB_RING 24
#define CR_TWCC_RX 8 /* receivers per classroom whose feedback progress is followed (the freshest) */
typedef struct cr__fb_snap {
    uint64_t t_us;          /* the interval's end (its start is the previous one's end) */
    uint64_t pkts, bytes;   /* released toward the link by then (running totals) */
    uint64_t rr_lost, rr_expected; /* receiver reports by then (running totals) */
    uint32_t lost;          /* NACKed packets sent in the interval */
} cr__fb_snap_t;

typedef struct cr__room_fb {
    uint32_t lost_open;     /* NACKed packets sent after the newest interval's end */
    uint64_t rr_lost, rr_expected; /* from receiver reports (running totals) */
    uint32_t rtt_us;
    uint64_t nack_delay_us; /* how long after sending NACKs come (a decaying maximum): the lag */
    uint64_t last_nack_us;  /* losses come from NACKs once any receiver NACKs */
    uint64_t remb_sum;      /* at the tick: capping REMBs + what the others are sent */
    int remb_capped;        /* a receiver's REMB is below what it is sent */
    uint64_t after_us;      /* its estimator last backed off: judge only what was sent since */
    double loss;            /* of the last report */
    cr__fb_snap_t ring[CR_FB_RING];
    unsigned ring_n, ring_pos; /* ring_pos: where the next interval goes */
    uint64_t rate_bytes0, rate_us0, sent_bps; /* the actual rate over ~1 s, for visibility */
    /* Transport-wide feedback (cr_twcc.c). While it comes, it is the estimator's loss input and the
     * loss reports above are not (both would count each loss). Each receiver's clock is its own, so
     * one of them, the delay reporter, feeds the delay gradient; the others feed rates and loss. */
    uint64_t twcc_us;           /* when feedback last reached the estimator, 0 = never */
    uintptr_t twcc_reporter;    /* the delay reporter (a cr_peer_t's address, only compared), 0 = none */
    uint64_t twcc_reporter_us;  /* its last feedback */
    /* How far each receiver has reported (the newest arrival, in the relay's clock, and send time in
     * its last feedback): what all of them reported is the estimator's horizon for its rates. */
    struct {
        uintptr_t peer;
        uint64_t fb_us, arr_us, send_us;
    } twcc_rx[CR_TWCC_RX];
} cr__room_fb_t;

/* The worker's bandwidth scheduler (cr_fwd_sched.c) and pacer (cr_pace.c). */
typedef struct cr__wsched {
    int ready;  /* topology built */
    int pacing; /* [sched] pacing */
    int dirty;  /* a join, leave, source or layer change: allocate at the end of the loop turn */
    int publish; /* publish the link snapshot after this turn's allocation */
    uint64_t next_publish_us;
    cr_topo_t topo;
    cr_pacer_t pacer;
    cr_alloc_params_t alloc;
    uint64_t floor_bps;
    uint64_t school_bps, room_bps; /* defaults for links met in tokens (school_bps: this worker's share) */
    double target;
    unsigned share;
    uint32_t default_school; /* CR_SCHED_NONE unless default_school is configured */
    uint8_t *configured;           /* per classroom: from a [classroom.*] section */
    uint8_t *school_configured;
    cr__room_fb_t *fb;
    uint64_t next_tick_us;
    /* packet pool */
    cr__pace_slot_t *pool;
    uint32_t pool_free;
    int timerfd;
    uint64_t timer_at; /* when the pacer's timer is armed for, 0 = not armed */
    /* RTP packets the pacer dropped, (SSRC << 16 | seq) + 1 by hash: a receiver's NACK of one of
     * them is the relay's own drop, not a loss on its link (the estimator must not see it). */
    uint64_t *dropped;
    /* RTP packets waiting in the pacer, likewise: a NACK for one (the receiver saw a later packet
     * overtake it from a higher band) is neither a loss nor a reason to resend. */
    uint64_t *waiting;
    /* When each recent RTP packet toward a subscriber left (the pacer released it): a NACKed
     * packet's loss belongs to the interval it was sent in. (key, time) by hash. */
    uint64_t (*sent_at)[2];
} cr__wsched_t;

typedef struct cr_class {
    cr_list_t link;
    char id[CR_CLASS_ID_MAX + 1];
    cr_peer_t *main;       /* the teacher's publisher, the default source */
    cr_list_t publishers;  /* every publisher, main included (cr_peer_t.class_link) */
    cr_list_t subscribers; /* cr_peer_t.class_link */
    unsigned n_subscribers;
} cr_class_t;

struct cr_worker {
    cr_worker_opts_t opts;
    int fd, epfd, timerfd;
    pthread_t thread;
    int started;
    atomic_int stop;
    cr_mailbox_t cmds;
    cr_worker_stats_t stats;

    cr_list_t peers;   /* cr_peer_t.worker_link */
    cr_list_t classes; /* cr_class_t.link */
    cr_peer_t *by_ufrag[CR_UFRAG_BUCKETS];
    cr_peer_t *by_addr[CR_ADDR_BUCKETS];

    /* Receive batch. */
    struct mmsghdr rmsg[CR_RECV_BATCH];
    struct iovec riov[CR_RECV_BATCH];
    struct sockaddr_storage raddr[CR_RECV_BATCH];
    uint8_t rbuf[CR_RECV_BATCH][CR_PKT_BUF];
    /* SCM_TIMESTAMPNS per datagram: when the kernel queued it on our socket. */
    union {
        struct cmsghdr align;
        uint8_t buf[CMSG_SPACE(sizeof(struct timespec))];
    } rctl[CR_RECV_BATCH];

    /* Send batch, flushed once per loop turn (redis's beforeSleep) or when full. */
    struct mmsghdr smsg[CR_SEND_BATCH];
    struct iovec siov[CR_SEND_BATCH];
    struct sockaddr_storage saddr[CR_SEND_BATCH];
    uint8_t sbuf[CR_SEND_BATCH][CR_PKT_BUF];
    uint64_t srecv_us[CR_SEND_BATCH]; /* when the forwarded packet arrived; 0 = not media */
    uint32_t spool[CR_SEND_BATCH];    /* the pool slot the datagram is in, or CR_SCHED_NONE (sbuf) */
    unsigned n_send;
    uint64_t lat_hist[CR_LAT_BUCKETS]; /* accumulated here, published to stats each second */
    uint64_t last_lat_publish_us;

    /* Per-peer figures for the control thread, rebuilt once a second under snap_lock. */
    pthread_mutex_t snap_lock;
    cr_peer_stats_t *snap;
    size_t n_snap, cap_snap;
    cr_link_stats_t *link_snap;
    size_t n_link_snap, cap_link_snap;

    cr__wsched_t sch;

    uint64_t now_us; /* the current loop turn's time */
    /* When the datagram being handled reached our socket (monotonic, from the kernel's receive
     * timestamp): the start of the relay-added latency, so waiting in the socket counts too. */
    uint64_t rx_us;
    uint64_t last_housekeeping_us;

    cr_est_pkt_t twcc_pkts[CR_TWCC_FB_MAX]; /* one transport-wide feedback, being read (cr_twcc.c) */
};

/* The worker is the only writer of its counters: a relaxed load and store is enough (and, unlike
 * atomic_fetch_add, needs no locked instruction on the packet path). Readers see whole values. */
#define CR_STAT_ADD(w, field, n)                                                                  \
    atomic_store_explicit(&(w)->stats.field,                                                     \
                          atomic_load_explicit(&(w)->stats.field, memory_order_relaxed) + (n),   \
                          memory_order_relaxed)

/* cr_worker.c */
uint8_t *cr__worker_send_slot(struct cr_worker *w);
void cr__worker_send_commit(struct cr_worker *w, const cr_peer_t *to, size_t len);
/* As cr__worker_send_commit, for forwarded media received in this loop turn (counted in the
 * relay-added latency histogram). */
void cr__worker_send_commit_media(struct cr_worker *w, const cr_peer_t *to, size_t len);
void cr__worker_flush(struct cr_worker *w);
/* When a received datagram reached the socket, on the monotonic clock: from its SCM_TIMESTAMPNS
 * (m: a received message; mono_us and real_us: the monotonic and wall-clock times now), else
 * mono_us. Never later than mono_us, never more than a second before it. */
uint64_t cr__worker_rx_time(const struct msghdr *m, uint64_t mono_us, uint64_t real_us);
void cr__worker_close_peer(struct cr_worker *w, cr_peer_t *p, enum cr_peer_close_reason reason);
void cr__worker_post_event(struct cr_worker *w, const cr_peer_t *p, enum cr_worker_event_type type,
                           enum cr_peer_close_reason reason);
cr_peer_t *cr__worker_find_addr(struct cr_worker *w, const struct sockaddr_storage *a);
cr_peer_t *cr__worker_find_ufrag(struct cr_worker *w, const char *ufrag, size_t len);
void cr__worker_set_addr(struct cr_worker *w, cr_peer_t *p, const struct sockaddr_storage *a,
                         socklen_t len);

/* cr_ice_lite.c */
void cr__ice_input(struct cr_worker *w, uint8_t *pkt, size_t len, const struct sockaddr_storage *from,
                   socklen_t from_len);

/* cr_media.c */
void cr__dtls_input(struct cr_worker *w, cr_peer_t *p, const uint8_t *pkt, size_t len);
void cr__dtls_flush(struct cr_worker *w, cr_peer_t *p);
void cr__media_input(struct cr_worker *w, cr_peer_t *p, uint8_t *pkt, size_t len);

/* cr_fanout.c: which subscriber receives which publisher and layer */
void cr__fanout_bind(cr_class_t *c, cr_peer_t *sub, uint64_t now_us); /* to its wanted source */
void cr__fanout_rebind_all(cr_class_t *c, uint64_t now_us); /* after a publisher came or went */
void cr__fanout_unbind_publisher(cr_class_t *c, cr_peer_t *pub);
void cr__fanout_set_layer(cr_peer_t *sub, const char *rid, uint64_t now_us);
/* Re-picks the target layer (the wanted one stopped or resumed); requests its keyframe. */
void cr__fanout_retarget(cr_peer_t *sub, uint64_t now_us);
int cr__fanout_target_layer(const cr_peer_t *sub);
/* Requests a keyframe of the layer the subscriber aims at (none while its video is off). */
void cr__fanout_request_target(cr_peer_t *sub);
/* Mutes or unmutes a publisher; on unmute its subscribers resume without a sequence gap. */
void cr__fanout_set_muted(cr_peer_t *pub, int audio_muted, int video_muted);
/* Marks a keyframe request for one video layer of pub (layer < 0: every video layer). */
void cr__request_keyframe(cr_peer_t *pub, int layer);
/* The video layer a subscriber should aim for: its wanted rid if sent, else the best active one. */
int cr__fanout_pick_layer(const cr_peer_t *pub, const cr_peer_t *sub, uint64_t now_us);

/* cr_stats.c */
void cr__stats_publish(struct cr_worker *w);
/* The link snapshot, rebuilt at each scheduler tick (250 ms) so that the control plane sees a
 * capacity change followed within a fraction of a second. */
void cr__stats_publish_links(struct cr_worker *w);

/* cr_fwd_sched.c: the scheduler in the worker (topology, layers, feedback, allocation) */
int cr__sched_init(struct cr_worker *w);
void cr__sched_dispose(struct cr_worker *w);
/* A subscriber joins its classroom (created if unknown) with one subscription per stream. */
void cr__sched_attach(struct cr_worker *w, cr_peer_t *sub);
void cr__sched_detach(struct cr_worker *w, cr_peer_t *sub);
/* Once per loop turn: the 250 ms tick (layer rates, feedback, allocation) or, when dirty, allocation. */
void cr__sched_turn(struct cr_worker *w);
/* Feedback from a subscriber's RTCP. */
void cr__sched_on_nack(struct cr_worker *w, cr_peer_t *sub, cr_sub_stream_t *ss, uint16_t seq, uint64_t sent_us);
void cr__sched_on_report(struct cr_worker *w, cr_peer_t *sub, cr_sub_stream_t *ss, uint8_t fraction_lost,
                         uint32_t ext_high_seq);
/* Transport-wide feedback from a subscriber (pkts: n packets in send order, arrivals in the relay's
 * clock; borrowed, and their rate_only flags are set here) into its classroom's estimator. */
void cr__sched_on_twcc(struct cr_worker *w, cr_peer_t *sub, cr_est_pkt_t *pkts, size_t n);
/* Publisher layer i of pub in the scheduler's order (lowest bitrate first) -> its pub[] index. */
int cr__sched_layer_to_pub(const cr_peer_t *pub, int sched_layer);

/* cr_pace.c: packets toward subscribers go through the pacer. A send is begin (where to write),
 * then commit (or cancel). */
typedef struct cr__tx {
    uint8_t *buf;
    uint32_t slot; /* pool slot, or CR_SCHED_NONE when the packet goes into the send batch at once */
    uint32_t room;
    uint8_t band;
} cr__tx_t;
int cr__pace_init(struct cr_worker *w);
void cr__pace_dispose(struct cr_worker *w);
/* Where to write a packet of about est bytes for subscriber to in band; NULL = dropped (counted). */
uint8_t *cr__pace_begin(struct cr_worker *w, const cr_peer_t *to, int band, size_t est, cr__tx_t *tx);
/* Returns 1 when the packet waits in the pacer (0 when it went into the send batch). */
int cr__pace_commit(struct cr_worker *w, const cr_peer_t *to, cr__tx_t *tx, size_t len, uint64_t recv_us);
/* The band a packet of stream ss gets: band, unless an earlier packet of ss may still wait in a
 * band served later, whose band it then shares (the stream's packets leave in order). */
int cr__pace_stream_band(const struct cr_worker *w, const cr_sub_stream_t *ss, int band);
/* Records that a packet of ss waits in band. */
void cr__pace_stream_queued(const struct cr_worker *w, cr_sub_stream_t *ss, int band);
void cr__pace_cancel(struct cr_worker *w, cr__tx_t *tx);
/* Moves what the pacer releases now into the send batch and re-arms its timer. Every loop turn. */
void cr__pace_run(struct cr_worker *w);
/* Returns a pool slot (after its datagram was sent, or when it is dropped). */
void cr__pace_release(struct cr_worker *w, uint32_t slot);
/* Whether the pacer dropped this subscriber RTP packet (recently): see cr__wsched_t.dropped. */
int cr__pace_was_dropped(const struct cr_worker *w, uint32_t ssrc, uint16_t seq);
/* Whether it is waiting in the pacer now. */
int cr__pace_is_waiting(const struct cr_worker *w, uint32_t ssrc, uint16_t seq);
/* When it left the relay (cr__wsched_t.sent_at), 0 if not known. */
uint64_t cr__pace_sent_at(const struct cr_worker *w, uint32_t ssrc, uint16_t seq);
/* Adds a pool slot's datagram to the send batch. */
void cr__worker_send_pooled(struct cr_worker *w, uint32_t slot);

/* cr_twcc.c: transport-wide congestion control toward subscribers */
/* Remembers the packet leaving now for p with its transport seq p->twcc.next_tseq (then advanced):
 * len bytes on the wire. No-op unless p negotiated transport-cc. */
void cr__twcc_sent(struct cr_worker *w, cr_peer_t *p, size_t len);
/* A transport-cc feedback packet from subscriber p: counted, and fed to its classroom's estimator.
 * Returns 0, or the parser's error for a malformed packet (nothing of it is used). */
int cr__twcc_feedback(struct cr_worker *w, cr_peer_t *p, const cr_rtcp_pkt_t *r);

/* cr_rtcp_out.c */
void cr__rtcp_tick(struct cr_worker *w, cr_peer_t *p);
void cr__keyframe_tick(struct cr_worker *w, cr_peer_t *pub);

#endif
