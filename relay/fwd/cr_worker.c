#include "cr_worker_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "cr_clock.h"
#include "cr_err.h"
#include "cr_log.h"

enum cmd_type { CMD_ADD_PEER = 1, CMD_REMOVE_PEER, CMD_SET_SOURCE, CMD_SET_LAYER, CMD_SET_MUTED };

typedef struct worker_cmd {
    cr_list_t link;
    enum cmd_type type;
    cr_peer_t *peer;
    char resource_id[CR_RESOURCE_ID_LEN + 1];
    char arg[CR_RESOURCE_ID_LEN + 1]; /* source resource id or rid */
    int audio, video;
} worker_cmd_t;

/* --- hash chains: by local ICE ufrag (for STUN) and by remote transport address (for the rest) --- */

static uint32_t hash_bytes(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static uint32_t addr_hash(const struct sockaddr_storage *a)
{
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)a;
        uint8_t key[6];
        memcpy(key, &s->sin_addr, 4);
        memcpy(key + 4, &s->sin_port, 2);
        return hash_bytes(key, sizeof(key));
    }
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)a;
    return hash_bytes(&s6->sin6_addr, 16) ^ s6->sin6_port;
}

static int addr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return 0;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
    return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
}

cr_peer_t *cr__worker_find_addr(struct cr_worker *w, const struct sockaddr_storage *a)
{
    cr_peer_t *p = w->by_addr[addr_hash(a) % CR_ADDR_BUCKETS];
    while (p != NULL && !addr_equal(&p->addr, a))
        p = p->addr_next;
    return p;
}

static void addr_unlink(struct cr_worker *w, cr_peer_t *p)
{
    if (!p->has_addr)
        return;
    cr_peer_t **pp = &w->by_addr[addr_hash(&p->addr) % CR_ADDR_BUCKETS];
    while (*pp != NULL && *pp != p)
        pp = &(*pp)->addr_next;
    if (*pp == p)
        *pp = p->addr_next;
    p->addr_next = NULL;
    p->has_addr = 0;
}

void cr__worker_set_addr(struct cr_worker *w, cr_peer_t *p, const struct sockaddr_storage *a,
                         socklen_t len)
{
    cr_peer_t *other = cr__worker_find_addr(w, a);
    if (other == p)
        return;
    if (other != NULL)
        addr_unlink(w, other); /* the address moved to a new session (a reconnecting client) */
    addr_unlink(w, p);
    memcpy(&p->addr, a, len);
    p->addr_len = len;
    p->has_addr = 1;
    cr_peer_t **head = &w->by_addr[addr_hash(a) % CR_ADDR_BUCKETS];
    p->addr_next = *head;
    *head = p;
}

cr_peer_t *cr__worker_find_ufrag(struct cr_worker *w, const char *ufrag, size_t len)
{
    cr_peer_t *p = w->by_ufrag[hash_bytes(ufrag, len) % CR_UFRAG_BUCKETS];
    while (p != NULL && (strlen(p->ufrag) != len || memcmp(p->ufrag, ufrag, len) != 0))
        p = p->ufrag_next;
    return p;
}

static void ufrag_unlink(struct cr_worker *w, cr_peer_t *p)
{
    cr_peer_t **pp = &w->by_ufrag[hash_bytes(p->ufrag, strlen(p->ufrag)) % CR_UFRAG_BUCKETS];
    while (*pp != NULL && *pp != p)
        pp = &(*pp)->ufrag_next;
    if (*pp == p)
        *pp = p->ufrag_next;
    p->ufrag_next = NULL;
}

/* --- classes --- */

static cr_class_t *class_get(struct cr_worker *w, const char *id, int create)
{
    cr_list_t *it, *tmp;
    cr_list_foreach_safe(it, tmp, &w->classes)
    {
        cr_class_t *c = cr_container_of(it, cr_class_t, link);
        if (strcmp(c->id, id) == 0)
            return c;
    }
    if (!create)
        return NULL;
    cr_class_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    snprintf(c->id, sizeof(c->id), "%s", id);
    cr_list_init(&c->publishers);
    cr_list_init(&c->subscribers);
    cr_list_insert(&w->classes, &c->link);
    CR_STAT_ADD(w, classes, 1);
    return c;
}

static void class_release_if_empty(struct cr_worker *w, cr_class_t *c)
{
    if (!cr_list_empty(&c->publishers) || !cr_list_empty(&c->subscribers))
        return;
    cr_list_unlink(&c->link);
    free(c);
    CR_STAT_ADD(w, classes, (uint_fast64_t)-1);
}

/* --- peers --- */

void cr__worker_post_event(struct cr_worker *w, const cr_peer_t *p, enum cr_worker_event_type type,
                           enum cr_peer_close_reason reason)
{
    if (w->opts.events == NULL)
        return;
    cr_worker_event_t *ev = calloc(1, sizeof(*ev));
    if (ev == NULL)
        return;
    cr_list_init(&ev->link);
    ev->type = type;
    ev->role = p->role;
    ev->reason = reason;
    memcpy(ev->resource_id, p->resource_id, sizeof(ev->resource_id));
    memcpy(ev->class_id, p->class_id, sizeof(ev->class_id));
    if (cr_mailbox_post(w->opts.events, &ev->link) != 0)
        free(ev);
}

void cr__worker_close_peer(struct cr_worker *w, cr_peer_t *p, enum cr_peer_close_reason reason)
{
    cr_class_t *c = p->cls;
    cr_log(CR_LOG_INFO, "worker", "%s %s of class '%s' closed (%s)",
           p->role == CR_PEER_PUBLISHER ? "publisher" : "subscriber", p->resource_id, p->class_id,
           cr_peer_close_reason_name(reason));
    addr_unlink(w, p);
    ufrag_unlink(w, p);
    cr_list_unlink(&p->worker_link);
    cr_list_unlink(&p->class_link);
    cr_list_unlink(&p->fanout_link);
    if (c != NULL) {
        if (p->role == CR_PEER_PUBLISHER) {
            cr__fanout_unbind_publisher(c, p);
            if (c->main == p)
                c->main = NULL;
            if (reason != CR_CLOSE_SHUTDOWN)
                cr__fanout_rebind_all(c, w->now_us);
        } else {
            c->n_subscribers--;
            cr__sched_detach(w, p);
        }
        w->sch.dirty = 1;
        class_release_if_empty(w, c);
    }
    CR_STAT_ADD(w, peers, (uint_fast64_t)-1);
    /* Posted last: whoever reads the event sees the worker's figures without this peer. */
    if (reason != CR_CLOSE_SHUTDOWN)
        cr__worker_post_event(w, p, CR_EV_PEER_CLOSED, reason);
    cr_peer_free(p);
}

static void add_peer(struct cr_worker *w, cr_peer_t *p)
{
    cr_class_t *c = class_get(w, p->class_id, 1);
    if (c == NULL || cr_dtls_new(&p->dtls, w->opts.dtls_ctx, 1, p->remote_fingerprint) != 0) {
        cr_log(CR_LOG_ERROR, "worker", "cannot add peer %s: out of memory", p->resource_id);
        p->cls = NULL;
        cr__worker_post_event(w, p, CR_EV_PEER_CLOSED, CR_CLOSE_DTLS);
        cr_peer_free(p);
        if (c != NULL)
            class_release_if_empty(w, c);
        return;
    }
    p->cls = c;
    p->last_consent_us = w->now_us;
    cr_list_insert(&w->peers, &p->worker_link);
    cr_peer_t **head = &w->by_ufrag[hash_bytes(p->ufrag, strlen(p->ufrag)) % CR_UFRAG_BUCKETS];
    p->ufrag_next = *head;
    *head = p;
    CR_STAT_ADD(w, peers, 1);
    if (p->role == CR_PEER_PUBLISHER) {
        /* A new main publisher replaces the old one (a teacher reconnecting); subscribers'
         * rewriters see the new SSRCs and continue their sequences seamlessly. */
        cr_peer_t *old = p->is_main ? c->main : NULL;
        /* Join before the old one leaves, so the class is never empty (and never freed) here. */
        cr_list_insert(&c->publishers, &p->class_link);
        if (p->is_main)
            c->main = p;
        if (old != NULL)
            cr__worker_close_peer(w, old, CR_CLOSE_REQUESTED);
        cr__fanout_rebind_all(c, w->now_us);
    } else {
        cr_list_insert(&c->subscribers, &p->class_link);
        c->n_subscribers++;
        p->sched_layer = CR_PEER_LAYER_AUTO;
        cr__fanout_bind(c, p, w->now_us);
        cr__sched_attach(w, p);
    }
    w->sch.dirty = 1;
}

static cr_peer_t *find_resource(struct cr_worker *w, const char *resource_id)
{
    cr_list_t *it, *tmp;
    cr_list_foreach_safe(it, tmp, &w->peers)
    {
        cr_peer_t *p = cr_container_of(it, cr_peer_t, worker_link);
        if (strcmp(p->resource_id, resource_id) == 0)
            return p;
    }
    return NULL;
}

static void apply_command(struct cr_worker *w, worker_cmd_t *cmd)
{
    cr_peer_t *p = cmd->type == CMD_ADD_PEER ? NULL : find_resource(w, cmd->resource_id);
    w->sch.dirty = 1; /* sources, layers and mutes change what the allocator sees */
    switch (cmd->type) {
    case CMD_ADD_PEER:
        add_peer(w, cmd->peer);
        break;
    case CMD_REMOVE_PEER:
        if (p != NULL)
            cr__worker_close_peer(w, p, CR_CLOSE_REQUESTED);
        break;
    case CMD_SET_SOURCE:
        if (p != NULL && p->role == CR_PEER_SUBSCRIBER && p->cls != NULL) {
            memcpy(p->source_id, cmd->arg, sizeof(p->source_id));
            cr__fanout_bind(p->cls, p, w->now_us);
        }
        break;
    case CMD_SET_LAYER:
        if (p != NULL && p->role == CR_PEER_SUBSCRIBER)
            cr__fanout_set_layer(p, cmd->arg, w->now_us);
        break;
    case CMD_SET_MUTED:
        if (p != NULL && p->role == CR_PEER_PUBLISHER)
            cr__fanout_set_muted(p, cmd->audio, cmd->video);
        break;
    }
}

static void handle_commands(struct cr_worker *w)
{
    cr_list_t cmds, *it, *tmp;
    cr_list_init(&cmds);
    cr_mailbox_drain(&w->cmds, &cmds);
    cr_list_foreach_safe(it, tmp, &cmds)
    {
        worker_cmd_t *cmd = cr_container_of(it, worker_cmd_t, link);
        cr_list_unlink(it);
        apply_command(w, cmd);
        free(cmd);
    }
}

/* --- sending --- */

uint8_t *cr__worker_send_slot(struct cr_worker *w)
{
    if (w->n_send == CR_SEND_BATCH)
        cr__worker_flush(w);
    return w->sbuf[w->n_send];
}

void cr__worker_send_commit_media(struct cr_worker *w, const cr_peer_t *to, size_t len)
{
    unsigned i = w->n_send;
    cr__worker_send_commit(w, to, len);
    w->srecv_us[i] = w->rx_us;
}

void cr__worker_send_commit(struct cr_worker *w, const cr_peer_t *to, size_t len)
{
    unsigned i = w->n_send;
    w->srecv_us[i] = 0;
    w->spool[i] = CR_SCHED_NONE;
    memcpy(&w->saddr[i], &to->addr, to->addr_len);
    w->siov[i].iov_base = w->sbuf[i];
    w->siov[i].iov_len = len;
    w->smsg[i].msg_hdr.msg_name = &w->saddr[i];
    w->smsg[i].msg_hdr.msg_namelen = to->addr_len;
    w->smsg[i].msg_hdr.msg_iov = &w->siov[i];
    w->smsg[i].msg_hdr.msg_iovlen = 1;
    w->n_send++;
}

void cr__worker_send_pooled(struct cr_worker *w, uint32_t slot)
{
    if (w->n_send == CR_SEND_BATCH)
        cr__worker_flush(w);
    cr__pace_slot_t *ps = &w->sch.pool[slot];
    unsigned i = w->n_send++;
    w->srecv_us[i] = ps->recv_us;
    w->spool[i] = slot;
    w->siov[i].iov_base = ps->buf;
    w->siov[i].iov_len = ps->len;
    w->smsg[i].msg_hdr.msg_name = &ps->addr;
    w->smsg[i].msg_hdr.msg_namelen = ps->addr_len;
    w->smsg[i].msg_hdr.msg_iov = &w->siov[i];
    w->smsg[i].msg_hdr.msg_iovlen = 1;
}

/* Log-linear buckets: exact below 16 us, then four per power of two (about 19% wide). */
static unsigned lat_bucket(uint64_t us)
{
    if (us < 16)
        return (unsigned)us;
    unsigned e = 63u - (unsigned)__builtin_clzll(us);
    unsigned b = 16 + (e - 4) * 4 + (unsigned)((us >> (e - 2)) & 3);
    return b < CR_LAT_BUCKETS ? b : CR_LAT_BUCKETS - 1;
}

static uint64_t lat_bucket_floor(unsigned b)
{
    if (b < 16)
        return b;
    unsigned e = (b - 16) / 4 + 4, sub = (b - 16) % 4;
    return ((uint64_t)(4 + sub)) << (e - 2);
}

uint64_t cr_worker_latency_percentile(const cr_worker_stats_t *st, double p)
{
    uint64_t total = 0, seen = 0;
    for (unsigned b = 0; b < CR_LAT_BUCKETS; b++)
        total += atomic_load(&st->latency_hist[b]);
    if (total == 0)
        return 0;
    uint64_t rank = (uint64_t)((double)total * p / 100.0);
    for (unsigned b = 0; b < CR_LAT_BUCKETS; b++) {
        seen += atomic_load(&st->latency_hist[b]);
        if (seen > rank)
            return lat_bucket_floor(b + 1 < CR_LAT_BUCKETS ? b + 1 : b); /* upper edge */
    }
    return lat_bucket_floor(CR_LAT_BUCKETS - 1);
}

static void publish_latency(struct cr_worker *w)
{
    for (unsigned b = 0; b < CR_LAT_BUCKETS; b++) {
        if (w->lat_hist[b] != 0) {
            atomic_fetch_add(&w->stats.latency_hist[b], w->lat_hist[b]);
            w->lat_hist[b] = 0;
        }
    }
}

void cr__worker_flush(struct cr_worker *w)
{
    unsigned off = 0;
    if (w->n_send > 0) {
        uint64_t now = cr_now_us();
        for (unsigned i = 0; i < w->n_send; i++)
            if (w->srecv_us[i] != 0)
                w->lat_hist[lat_bucket(now > w->srecv_us[i] ? now - w->srecv_us[i] : 0)]++;
    }
    while (off < w->n_send) {
        int n = sendmmsg(w->fd, w->smsg + off, w->n_send - off, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            /* EAGAIN (socket buffer full) or an unreachable peer: drop this datagram, go on. */
            CR_STAT_ADD(w, drop_queue_full, 1);
            off++;
            continue;
        }
        for (int i = 0; i < n; i++)
            CR_STAT_ADD(w, bytes_out, w->siov[off + (unsigned)i].iov_len);
        CR_STAT_ADD(w, packets_out, (uint64_t)n);
        off += (unsigned)n;
    }
    for (unsigned i = 0; i < w->n_send; i++)
        if (w->spool[i] != CR_SCHED_NONE)
            cr__pace_release(w, w->spool[i]);
    w->n_send = 0;
}

/* --- receiving --- */

static void dispatch(struct cr_worker *w, uint8_t *pkt, size_t len, const struct sockaddr_storage *from,
                     socklen_t from_len)
{
    /* RFC 7983 section 7: demultiplex on the first byte. */
    uint8_t b = pkt[0];
    if (b <= 3) {
        cr__ice_input(w, pkt, len, from, from_len);
        return;
    }
    cr_peer_t *p = cr__worker_find_addr(w, from);
    if (p == NULL) {
        CR_STAT_ADD(w, drop_unknown_peer, 1);
        return;
    }
    if (b >= 20 && b <= 63)
        cr__dtls_input(w, p, pkt, len);
    else if (b >= 128 && b <= 191)
        cr__media_input(w, p, pkt, len);
    else
        CR_STAT_ADD(w, drop_malformed, 1);
}

uint64_t cr__worker_rx_time(const struct msghdr *m, uint64_t mono_us, uint64_t real_us)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c != NULL; c = CMSG_NXTHDR((struct msghdr *)m, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS)
            continue;
        struct timespec ts;
        memcpy(&ts, CMSG_DATA(c), sizeof(ts));
        uint64_t k = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
        /* The kernel stamps CLOCK_REALTIME; the age is what matters. A stamp from the future (the
         * wall clock stepped) counts as now; an age above a second as a second, so that a step
         * backwards cannot fill the histogram's top bucket. */
        uint64_t age = real_us > k ? real_us - k : 0;
        if (age > 1000000u)
            age = 1000000u;
        return mono_us > age ? mono_us - age : mono_us;
    }
    return mono_us;
}

static uint64_t real_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void read_socket(struct cr_worker *w)
{
    for (int round = 0; round < CR_RECV_ROUNDS; round++) {
        for (unsigned i = 0; i < CR_RECV_BATCH; i++) {
            w->riov[i].iov_base = w->rbuf[i];
            w->riov[i].iov_len = CR_PKT_BUF - CR_SRTP_MAX_TRAILER;
            w->rmsg[i].msg_hdr.msg_name = &w->raddr[i];
            w->rmsg[i].msg_hdr.msg_namelen = sizeof(w->raddr[i]);
            w->rmsg[i].msg_hdr.msg_iov = &w->riov[i];
            w->rmsg[i].msg_hdr.msg_iovlen = 1;
            w->rmsg[i].msg_hdr.msg_control = w->rctl[i].buf;
            w->rmsg[i].msg_hdr.msg_controllen = sizeof(w->rctl[i].buf);
            w->rmsg[i].msg_hdr.msg_flags = 0;
        }
        int n = recvmmsg(w->fd, w->rmsg, CR_RECV_BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0)
            return;
        w->now_us = cr_now_us();
        uint64_t real = real_now_us();
        for (int i = 0; i < n; i++) {
            size_t len = w->rmsg[i].msg_len;
            w->rx_us = cr__worker_rx_time(&w->rmsg[i].msg_hdr, w->now_us, real);
            CR_STAT_ADD(w, packets_in, 1);
            CR_STAT_ADD(w, bytes_in, len);
            if (len == 0 || (w->rmsg[i].msg_hdr.msg_flags & MSG_TRUNC)) {
                CR_STAT_ADD(w, drop_malformed, 1);
                continue;
            }
            dispatch(w, w->rbuf[i], len, &w->raddr[i], w->rmsg[i].msg_hdr.msg_namelen);
        }
        if (n < CR_RECV_BATCH)
            return;
    }
}

/* --- timers: consent freshness, DTLS retransmission, our RTCP, merged keyframe requests --- */

static void housekeeping(struct cr_worker *w)
{
    uint64_t consent_us = (uint64_t)w->opts.consent_timeout_s * 1000000u;
    cr_list_t *it, *tmp;
    cr_list_foreach_safe(it, tmp, &w->peers)
    {
        cr_peer_t *p = cr_container_of(it, cr_peer_t, worker_link);
        if (w->now_us - p->last_consent_us > consent_us) {
            cr__worker_close_peer(w, p, CR_CLOSE_CONSENT);
            continue;
        }
        if (p->state == CR_PEER_DTLS) {
            uint64_t t = cr_dtls_next_timeout_us(p->dtls, w->now_us);
            if (t != 0 && t <= w->now_us) {
                if (cr_dtls_handle_timeout(p->dtls, w->now_us) == CR_DTLS_FAILED) {
                    cr__worker_close_peer(w, p, CR_CLOSE_DTLS);
                    continue;
                }
                cr__dtls_flush(w, p);
            }
        }
        if (p->state == CR_PEER_CONNECTED) {
            cr__rtcp_tick(w, p);
            if (p->role == CR_PEER_PUBLISHER)
                cr__keyframe_tick(w, p);
            else
                cr__fanout_retarget(p, w->now_us);
        }
    }
}

static void *worker_main(void *arg)
{
    struct cr_worker *w = arg;
    struct epoll_event evs[8];
    while (!atomic_load(&w->stop)) {
        int n = epoll_wait(w->epfd, evs, 8, 100);
        w->now_us = cr_now_us();
        for (int i = 0; i < n; i++) {
            if (evs[i].data.fd == w->fd)
                read_socket(w);
            else if (evs[i].data.fd == w->cmds.evfd)
                handle_commands(w);
            else if (evs[i].data.fd == w->timerfd || evs[i].data.fd == w->sch.timerfd) {
                uint64_t expirations;
                ssize_t r = read(evs[i].data.fd, &expirations, sizeof(expirations));
                (void)r;
            }
        }
        if (w->now_us - w->last_housekeeping_us >= CR_TICK_MS * 1000u) {
            w->last_housekeeping_us = w->now_us;
            housekeeping(w);
        }
        if (w->now_us - w->last_lat_publish_us >= 1000000u) {
            w->last_lat_publish_us = w->now_us;
            publish_latency(w);
            cr__stats_publish(w);
        }
        cr__sched_turn(w);
        cr__pace_run(w);
        cr__worker_flush(w);
    }
    return NULL;
}

/* --- lifecycle --- */

static int epoll_add(int epfd, int fd)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int open_socket(const char *ip, uint16_t port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1) {
        errno = EINVAL;
        return -1;
    }
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int size = 8 << 20; /* room for a few keyframes to many subscribers between flushes */
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    int on = 1; /* receive timestamps for the latency histogram; without them it starts at recvmmsg */
    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int cr_worker_new(cr_worker_t **out, const cr_worker_opts_t *opts)
{
    struct cr_worker *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return CR_ENOMEM;
    w->opts = *opts;
    w->fd = w->epfd = w->timerfd = w->sch.timerfd = -1;
    pthread_mutex_init(&w->snap_lock, NULL);
    cr_list_init(&w->peers);
    cr_list_init(&w->classes);
    if (cr_mailbox_init(&w->cmds, 65536, 1) != 0)
        goto Fail;
    w->fd = open_socket(opts->bind_ip, opts->port);
    if (w->fd < 0)
        goto Fail;
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    w->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (w->epfd < 0 || w->timerfd < 0)
        goto Fail;
    struct itimerspec its = {.it_interval = {0, CR_TICK_MS * 1000000L}, .it_value = {0, CR_TICK_MS * 1000000L}};
    timerfd_settime(w->timerfd, 0, &its, NULL);
    if (epoll_add(w->epfd, w->fd) != 0 || epoll_add(w->epfd, w->cmds.evfd) != 0 ||
        epoll_add(w->epfd, w->timerfd) != 0)
        goto Fail;
    if (cr__sched_init(w) != 0 || cr__pace_init(w) != 0) {
        errno = ENOMEM;
        goto Fail;
    }
    *out = w;
    return 0;
Fail:;
    int e = errno;
    cr_worker_free(w);
    errno = e;
    return CR_EIO;
}

int cr_worker_start(cr_worker_t *w)
{
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
        return CR_EIO;
    w->started = 1;
    return 0;
}

static void free_cmd(cr_list_t *l)
{
    worker_cmd_t *cmd = cr_container_of(l, worker_cmd_t, link);
    cr_peer_free(cmd->peer);
    free(cmd);
}

void cr_worker_free(cr_worker_t *w)
{
    if (w == NULL)
        return;
    if (w->started) {
        atomic_store(&w->stop, 1);
        pthread_join(w->thread, NULL);
    }
    cr_list_t *it, *tmp;
    cr_list_foreach_safe(it, tmp, &w->peers)
    {
        cr__worker_close_peer(w, cr_container_of(it, cr_peer_t, worker_link), CR_CLOSE_SHUTDOWN);
    }
    cr_mailbox_dispose(&w->cmds, free_cmd);
    cr__pace_dispose(w);
    cr__sched_dispose(w);
    if (w->fd >= 0)
        close(w->fd);
    if (w->epfd >= 0)
        close(w->epfd);
    if (w->timerfd >= 0)
        close(w->timerfd);
    free(w->snap);
    free(w->link_snap);
    pthread_mutex_destroy(&w->snap_lock);
    free(w);
}

static int post_cmd(struct cr_worker *w, enum cmd_type type, cr_peer_t *p, const char *resource_id,
                    const char *arg, int audio, int video)
{
    if ((resource_id != NULL && strlen(resource_id) > CR_RESOURCE_ID_LEN) ||
        (arg != NULL && strlen(arg) > CR_RESOURCE_ID_LEN))
        return CR_EINVAL;
    worker_cmd_t *cmd = calloc(1, sizeof(*cmd));
    if (cmd == NULL)
        return CR_ENOMEM;
    cr_list_init(&cmd->link);
    cmd->type = type;
    cmd->peer = p;
    if (resource_id != NULL)
        snprintf(cmd->resource_id, sizeof(cmd->resource_id), "%s", resource_id);
    if (arg != NULL)
        snprintf(cmd->arg, sizeof(cmd->arg), "%s", arg);
    cmd->audio = audio;
    cmd->video = video;
    int err = cr_mailbox_post(&w->cmds, &cmd->link);
    if (err != 0)
        free(cmd);
    return err;
}

int cr_worker_add_peer(cr_worker_t *w, cr_peer_t *p)
{
    return post_cmd(w, CMD_ADD_PEER, p, NULL, NULL, 0, 0);
}

int cr_worker_remove_peer(cr_worker_t *w, const char *resource_id)
{
    return post_cmd(w, CMD_REMOVE_PEER, NULL, resource_id, NULL, 0, 0);
}

int cr_worker_set_source(cr_worker_t *w, const char *sub_resource, const char *source_resource)
{
    return post_cmd(w, CMD_SET_SOURCE, NULL, sub_resource, source_resource ? source_resource : "", 0, 0);
}

int cr_worker_set_layer(cr_worker_t *w, const char *sub_resource, const char *rid)
{
    if (rid != NULL && strlen(rid) >= CR_RID_MAX)
        return CR_EINVAL;
    return post_cmd(w, CMD_SET_LAYER, NULL, sub_resource, rid ? rid : "", 0, 0);
}

int cr_worker_set_muted(cr_worker_t *w, const char *pub_resource, int audio_muted, int video_muted)
{
    return post_cmd(w, CMD_SET_MUTED, NULL, pub_resource, NULL, audio_muted != 0, video_muted != 0);
}

uint16_t cr_worker_port(const cr_worker_t *w)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    if (getsockname(w->fd, (struct sockaddr *)&sa, &len) != 0)
        return 0;
    return ntohs(sa.sin_port);
}

const cr_worker_stats_t *cr_worker_stats(const cr_worker_t *w)
{
    return &w->stats;
}
