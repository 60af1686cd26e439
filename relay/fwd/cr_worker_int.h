/*
 * Internals shared by the media worker's source files (cr_worker.c: loop and commands, cr_ice_lite.c:
 * STUN, cr_media.c: SRTP and forwarding, cr_rtcp_out.c: our own reports). Not for other modules.
 */
#ifndef CR_WORKER_INT_H
#define CR_WORKER_INT_H

#include <sys/socket.h>

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
    unsigned n_send;
    uint64_t lat_hist[CR_LAT_BUCKETS]; /* accumulated here, published to stats each second */
    uint64_t last_lat_publish_us;

    /* Per-peer figures for the control thread, rebuilt once a second under snap_lock. */
    pthread_mutex_t snap_lock;
    cr_peer_stats_t *snap;
    size_t n_snap, cap_snap;

    uint64_t now_us; /* the current loop turn's time */
    /* When the datagram being handled reached our socket (monotonic, from the kernel's receive
     * timestamp): the start of the relay-added latency, so waiting in the socket counts too. */
    uint64_t rx_us;
    uint64_t last_housekeeping_us;
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
/* Mutes or unmutes a publisher; on unmute its subscribers resume without a sequence gap. */
void cr__fanout_set_muted(cr_peer_t *pub, int audio_muted, int video_muted);
/* Marks a keyframe request for one video layer of pub (layer < 0: every video layer). */
void cr__request_keyframe(cr_peer_t *pub, int layer);
/* The video layer a subscriber should aim for: its wanted rid if sent, else the best active one. */
int cr__fanout_pick_layer(const cr_peer_t *pub, const cr_peer_t *sub, uint64_t now_us);

/* cr_stats.c */
void cr__stats_publish(struct cr_worker *w);

/* cr_rtcp_out.c */
void cr__rtcp_tick(struct cr_worker *w, cr_peer_t *p);
void cr__keyframe_tick(struct cr_worker *w, cr_peer_t *pub);

#endif
