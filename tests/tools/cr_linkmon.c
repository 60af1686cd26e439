/*
 * cr_linkmon: watches the relay's media on the test bed's links (issue 5, tests/bench/sched_bed).
 *
 *   cr_linkmon --tx NS:IF [--rx NS:IF]... --out FILE [--seconds S] [--port-min P --port-max P]
 *              [--in NS:IF]... [--audio-pt PT]
 *
 * Each point is a packet socket in a network namespace (NS "-": this one) on an interface: --tx sees
 * the packets the interface sends, --rx those it receives. Only UDP from the relay's media ports
 * counts, and of that RTP (RTCP is left out: "media"); an --in point is an --rx point that only counts
 * bytes (e.g. what arrives at a router, before the link's queue). The RTP header is in clear under SRTP, so
 *   - the bytes on the wire (IP length + 14 for Ethernet, as tbf counts them) go into 1 ms bins per
 *     point: rates, and the 10 ms peak of what the relay offers a link;
 *   - a stream is one destination's SSRC (subscribers behind one link may get the same SSRC and
 *     numbers); each packet seen at the tx point is remembered by (stream, sequence number) with its
 *     time, and
 *     the same packet at an rx point gives its delay through the links (their queues; a histogram
 *     of eight buckets per octave, percentiles at a bucket's upper edge); one not seen
 *     at any rx point within 1 s was lost on the links (link_lost: with every receiving classroom
 *     watched, what the tbf queues dropped);
 *   - at the rx points every SSRC's sequence numbers are tracked: a number a later packet went past
 *     that has not arrived (as a retransmission) 1 s later is lost, counted at the time the gap
 *     showed, as audio for RTP payload type PT (--audio-pt, 111: the Opus type cr_loadgen offers),
 *     else video.
 * Stops after S seconds or on SIGINT/SIGTERM; writes FILE with one line per 10 ms (time in ms since
 * the Unix epoch, bytes per point, audio and video packets and losses at the rx points, and a delay
 * histogram), and prints key=value totals on stdout. A test tool: it may allocate and print freely.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_POINTS 40
#define MAX_SSRC 8192 /* streams: (destination address and port, SSRC) */
#define LOST_AFTER_MS 1000u   /* a gap not filled (by a retransmission) within this is a loss */
#define PEND_MAX (1u << 20)
#define SEQ_WORDS (65536 / 64)
#define TX_SLOTS (1u << 20)
#define DBUCKETS 170          /* delay histogram: [0, 1 us), then eight buckets per octave (to ~2 s) */
#define BIN_MS 10

typedef struct point {
    char name[96];
    int fd, tx, rate_only; /* rate_only (--in): bytes only, no streams, losses or delays */
    uint32_t *ms_bytes; /* per 1 ms */
    uint64_t bytes, packets;
} point_t;

typedef struct ssrc {
    uint64_t key; /* destination IPv4 address and port, SSRC (see stream_key) */
    uint8_t used, started, big;
    uint32_t hi;        /* highest extended sequence number */
    uint64_t seen[SEQ_WORDS];
} ssrc_t;

typedef struct pend {
    ssrc_t *x;
    uint16_t seq;
    uint64_t t_ms; /* when a later packet showed the gap */
} pend_t;

typedef struct tx_slot {
    uint64_t key;
    uint16_t seq;
    uint16_t used;
    uint64_t t_us;
} tx_slot_t;

typedef struct bin {
    uint32_t audio, video, audio_lost, video_lost, link_lost;
    uint32_t dhist[DBUCKETS];
} bin_t;

static point_t pts[MAX_POINTS];
static unsigned n_pts, n_rx_points;
static ssrc_t *ssrcs;
static tx_slot_t *txt;
static bin_t *bins;
static unsigned n_ms, n_bins;
static uint64_t start_ms, end_ms;
static pend_t *pend;
static unsigned pend_head, n_pend;
/* Every packet seen at the tx point, in order: not seen at an rx point 1 s later = lost on the links. */
typedef struct sent {
    uint32_t slot;
    uint64_t key;
    uint16_t seq;
    uint64_t t_ms;
} sent_t;
static sent_t *sentq;
static unsigned sent_head, n_sent;
static uint64_t link_lost, link_sent, untimed;
static uint64_t dhist[DBUCKETS], matched, audio_lost, video_lost, audio_rx, video_rx;
static int port_min = 10000, port_max = 10063, audio_pt = 111;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int open_point(const char *spec, int tx, int rate_only)
{
    char ns[64], ifn[IF_NAMESIZE];
    const char *colon = strchr(spec, ':');
    if (colon == NULL || (size_t)(colon - spec) >= sizeof(ns) || strlen(colon + 1) >= sizeof(ifn))
        return -1;
    snprintf(ns, sizeof(ns), "%.*s", (int)(colon - spec), spec);
    snprintf(ifn, sizeof(ifn), "%s", colon + 1);
    int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (strcmp(ns, "-") != 0) {
        char path[128];
        snprintf(path, sizeof(path), "/var/run/netns/%s", ns);
        int nfd = open(path, O_RDONLY | O_CLOEXEC);
        if (nfd < 0 || setns(nfd, CLONE_NEWNET) != 0) {
            fprintf(stderr, "cr_linkmon: cannot enter %s: %s\n", path, strerror(errno));
            return -1;
        }
        close(nfd);
    }
    /* Only ETH_P_ALL taps see what an interface sends (dev_queue_xmit_nit); IPv4 is picked below. */
    uint16_t proto = htons(tx ? ETH_P_ALL : ETH_P_IP);
    int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
    unsigned idx = if_nametoindex(ifn);
    struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = proto, .sll_ifindex = (int)idx};
    int one = 1, buf = 32 << 20;
    if (fd < 0 || idx == 0 || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) != 0) {
        fprintf(stderr, "cr_linkmon: %s: %s\n", spec, strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf));
    if (setns(self, CLONE_NEWNET) != 0)
        return -1;
    close(self);
    point_t *p = &pts[n_pts++];
    snprintf(p->name, sizeof(p->name), "%s:%s", tx ? "tx" : rate_only ? "in" : "rx", spec);
    p->fd = fd;
    p->tx = tx;
    p->rate_only = rate_only;
    n_rx_points += !tx && !rate_only;
    p->ms_bytes = calloc(n_ms, sizeof(uint32_t));
    return p->ms_bytes != NULL ? 0 : -1;
}

static double edges[DBUCKETS];

/* The lower edge of bucket b in microseconds: 0, then 2^((b - 1) / 8) (a step of 9 %). */
static double dedge(unsigned b)
{
    if (edges[1] == 0) {
        double e = 1;
        for (unsigned i = 1; i < DBUCKETS; i++, e *= 1.0905077326652577) /* 2^(1/8) */
            edges[i] = e;
    }
    return edges[b];
}

static unsigned dbucket(uint64_t us)
{
    unsigned lo = 0, hi = DBUCKETS - 1; /* the last bucket whose edge is <= us */
    while (lo < hi) {
        unsigned mid = (lo + hi + 1) / 2;
        if (dedge(mid) <= (double)us)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/*
 * A stream is one subscriber's copy of one SSRC: several subscribers behind one link may receive the
 * same SSRC and sequence numbers (the relay numbers per layer), so the destination is part of the key.
 */
static uint64_t stream_key(const uint8_t *ip, const uint8_t *udp, uint32_t ssrc)
{
    uint64_t dst = (uint64_t)ip[16] << 24 | (uint64_t)ip[17] << 16 | (uint64_t)ip[18] << 8 | ip[19];
    return (dst * 65536u + (uint64_t)(udp[2] << 8 | udp[3])) * 0x9e3779b97f4a7c15ull ^ ssrc;
}

static uint32_t slot_of(uint64_t key, uint16_t seq)
{
    return (uint32_t)(((key ^ (key >> 29)) * 2654435761u ^ seq) % TX_SLOTS);
}

static ssrc_t *ssrc_get(uint64_t key)
{
    uint32_t h = (uint32_t)((key ^ (key >> 32)) * 2654435761u % MAX_SSRC);
    for (unsigned i = 0; i < MAX_SSRC; i++) {
        ssrc_t *x = &ssrcs[(h + i) % MAX_SSRC];
        if (x->used && x->key == key)
            return x;
        if (!x->used) {
            x->used = 1;
            x->key = key;
            return x;
        }
    }
    return NULL;
}

/* A sequence number a later packet went past: lost unless it arrives within LOST_AFTER_MS. */
static void gap_push(ssrc_t *x, uint16_t seq, uint64_t t_ms)
{
    if (n_pend == PEND_MAX)
        return; /* (a million outstanding gaps: the run is broken anyway) */
    pend[(pend_head + n_pend++) % PEND_MAX] = (pend_t){x, seq, t_ms};
}

/* Settles the gaps older than LOST_AFTER_MS at now_ms (all of them at the end: now_ms = UINT64_MAX). */
static void gap_settle(uint64_t now_ms)
{
    while (n_pend > 0) {
        pend_t *g = &pend[pend_head];
        if (now_ms != UINT64_MAX && g->t_ms + LOST_AFTER_MS > now_ms)
            return;
        if (now_ms == UINT64_MAX && g->t_ms + LOST_AFTER_MS > end_ms)
            ; /* still in flight at the end: not counted either way */
        else if (!(g->x->seen[g->seq / 64] & (1ull << (g->seq % 64)))) {
            bin_t *b = g->t_ms >= start_ms && (g->t_ms - start_ms) / BIN_MS < n_bins ? &bins[(g->t_ms - start_ms) / BIN_MS]
                                                                                     : NULL;
            if (g->x->big) {
                video_lost++;
                if (b)
                    b->video_lost++;
            } else {
                audio_lost++;
                if (b)
                    b->audio_lost++;
            }
        }
        pend_head = (pend_head + 1) % PEND_MAX;
        n_pend--;
    }
}

/* Settles the packets sent more than LOST_AFTER_MS before now_ms: still unmatched = lost on the links. */
static void sent_settle(uint64_t now_ms)
{
    while (n_sent > 0) {
        sent_t *q = &sentq[sent_head];
        if (q->t_ms + LOST_AFTER_MS > now_ms)
            return;
        tx_slot_t *t = &txt[q->slot];
        if (t->used && t->key == q->key && t->seq == q->seq) {
            link_lost++;
            if (q->t_ms >= start_ms && (q->t_ms - start_ms) / BIN_MS < n_bins)
                bins[(q->t_ms - start_ms) / BIN_MS].link_lost++;
            t->used = 0;
        }
        sent_head = (sent_head + 1) % PEND_MAX;
        n_sent--;
    }
}

/* An RTP packet at an rx point: its stream's sequence numbers, and its delay since the tx point. */
static void on_rx(uint64_t key, uint16_t seq, int audio, uint64_t t_us, bin_t *b)
{
    ssrc_t *x = ssrc_get(key);
    if (x == NULL)
        return;
    if (!audio)
        x->big = 1;
    if (x->big)
        video_rx++, b->video++;
    else
        audio_rx++, b->audio++;
    if (!x->started) {
        x->started = 1;
        x->hi = 65536u + seq;
    } else {
        uint32_t ext = (x->hi & ~0xffffu) | seq;
        if ((int32_t)(ext - x->hi) > 32768)
            ext -= 65536;
        else if ((int32_t)(ext - x->hi) < -32768)
            ext += 65536;
        if ((int32_t)(ext - x->hi) > 32768)
            x->hi = ext - 1; /* a jump (a new numbering): start over */
        while ((int32_t)(ext - x->hi) > 0) {
            x->hi++;
            uint16_t old = (uint16_t)(x->hi + 32768u); /* half the space behind: forget it */
            x->seen[old / 64] &= ~(1ull << (old % 64));
            if (x->hi != ext)
                gap_push(x, (uint16_t)x->hi, t_us / 1000);
        }
    }
    x->seen[seq / 64] |= 1ull << (seq % 64);
    tx_slot_t *t = &txt[slot_of(key, seq)];
    if (t->used && t->key == key && t->seq == seq) {
        /* (a tx time taken when we read the packet may be later than its arrival: 0) */
        unsigned db = dbucket(t_us > t->t_us ? t_us - t->t_us : 0);
        dhist[db]++;
        b->dhist[db]++;
        matched++;
        t->used = 0;
    }
}

static void on_packet(point_t *p, const uint8_t *pkt, size_t len, uint64_t t_us)
{
    if (len < 20 || (pkt[0] >> 4) != 4 || pkt[9] != 17)
        return;
    size_t ihl = (size_t)(pkt[0] & 15) * 4, tot = (size_t)pkt[2] << 8 | pkt[3];
    if (len < ihl + 8 + 12 || tot > len + 14)
        return;
    const uint8_t *udp = pkt + ihl, *rtp = udp + 8;
    int sport = udp[0] << 8 | udp[1];
    if (sport < port_min || sport > port_max || (rtp[0] >> 6) != 2 || (rtp[1] >= 192 && rtp[1] <= 223))
        return;
    uint64_t ms = t_us / 1000;
    if (ms < start_ms || ms - start_ms >= n_ms)
        return;
    unsigned i = (unsigned)(ms - start_ms);
    p->ms_bytes[i] += (uint32_t)tot + 14;
    p->bytes += tot + 14;
    p->packets++;
    uint32_t ssrc = (uint32_t)rtp[8] << 24 | (uint32_t)rtp[9] << 16 | (uint32_t)rtp[10] << 8 | rtp[11];
    uint16_t seq = (uint16_t)(rtp[2] << 8 | rtp[3]);
    uint64_t key = stream_key(pkt, udp, ssrc);
    int audio = (rtp[1] & 0x7f) == audio_pt;
    if (p->rate_only)
        return;
    if (p->tx) {
        uint32_t slot = slot_of(key, seq);
        tx_slot_t *t = &txt[slot];
        if (n_rx_points > 0 && n_sent < PEND_MAX) {
            sentq[(sent_head + n_sent++) % PEND_MAX] = (sent_t){slot, key, seq, ms};
            link_sent++;
        }
        t->key = key;
        t->seq = seq;
        t->used = 1;
        t->t_us = t_us;
    } else {
        on_rx(key, seq, audio, t_us, &bins[i / BIN_MS]);
    }
}

static void drain(point_t *p)
{
    uint8_t buf[2048];
    char ctl[256];
    for (;;) {
        struct sockaddr_ll from;
        struct iovec iov = {buf, sizeof(buf)};
        struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1,
                           .msg_control = ctl, .msg_controllen = sizeof(ctl)};
        ssize_t n = recvmsg(p->fd, &m, 0);
        if (n < 0)
            return;
        if (p->tx != (from.sll_pkttype == PACKET_OUTGOING) || from.sll_protocol != htons(ETH_P_IP))
            continue;
        uint64_t t_us = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
                struct timespec ts;
                memcpy(&ts, CMSG_DATA(c), sizeof(ts));
                t_us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
            }
        }
        if (t_us == 0) {
            /* Packets a tap sees leaving carry no timestamp on some kernels: the time we read it
             * (the loop drains at once, so within tens of microseconds). */
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            t_us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
            untimed++;
        }
        on_packet(p, buf, (size_t)n, t_us);
    }
}

static double pct(const uint64_t *h, uint64_t total, double q)
{
    uint64_t seen = 0, rank = (uint64_t)((double)total * q);
    for (unsigned b = 0; b < DBUCKETS; b++) {
        seen += h[b];
        if (seen > rank)
            return dedge(b + 1 < DBUCKETS ? b + 1 : b) / 1000.0; /* the bucket's upper edge, ms */
    }
    return 0;
}

static void report(const char *out, unsigned used_ms)
{
    FILE *f = fopen(out, "w");
    if (f != NULL) {
        fprintf(f, "# t_ms");
        for (unsigned i = 0; i < n_pts; i++)
            fprintf(f, " %s", pts[i].name);
        fprintf(f, " audio video audio_lost video_lost link_lost delay_hist[%u]\n", DBUCKETS);
        for (unsigned k = 0; k * BIN_MS < used_ms; k++) {
            fprintf(f, "%llu", (unsigned long long)(start_ms + (uint64_t)k * BIN_MS));
            for (unsigned i = 0; i < n_pts; i++) {
                uint64_t s = 0;
                for (unsigned j = k * BIN_MS; j < (k + 1) * BIN_MS && j < n_ms; j++)
                    s += pts[i].ms_bytes[j];
                fprintf(f, " %llu", (unsigned long long)s);
            }
            bin_t *b = &bins[k];
            fprintf(f, " %u %u %u %u %u", b->audio, b->video, b->audio_lost, b->video_lost, b->link_lost);
            for (unsigned d = 0; d < DBUCKETS; d++)
                fprintf(f, " %u", b->dhist[d]);
            fprintf(f, "\n");
        }
        fclose(f);
    }
    double secs = used_ms / 1000.0;
    printf("seconds=%.2f", secs);
    for (unsigned i = 0; i < n_pts; i++) {
        uint64_t peak = 0, win = 0;
        for (unsigned j = 0; j < used_ms && j < n_ms; j++) {
            win += pts[i].ms_bytes[j];
            if (j >= 10)
                win -= pts[i].ms_bytes[j - 10];
            if (win > peak)
                peak = win;
        }
        printf(" point%u=%s point%u_mbps=%.3f point%u_peak10ms_mbps=%.3f", i, pts[i].name, i,
               secs > 0 ? pts[i].bytes * 8 / secs / 1e6 : 0, i, peak * 8 / 0.01 / 1e6);
    }
    uint64_t total = 0;
    for (unsigned b = 0; b < DBUCKETS; b++)
        total += dhist[b];
    printf(" audio_rx=%llu video_rx=%llu audio_lost=%llu video_lost=%llu link_sent=%llu link_lost=%llu matched=%llu"
           " delay_p50_ms=%.3f delay_p99_ms=%.3f untimed=%llu\n",
           (unsigned long long)audio_rx, (unsigned long long)video_rx, (unsigned long long)audio_lost,
           (unsigned long long)video_lost, (unsigned long long)link_sent, (unsigned long long)link_lost,
           (unsigned long long)matched, pct(dhist, total, 0.5),
           pct(dhist, total, 0.99), (unsigned long long)untimed);
}

int main(int argc, char **argv)
{
    double seconds = 60;
    const char *out = "linkmon.txt";
    for (int i = 1; i + 1 < argc; i += 2) /* first pass: the duration sizes the bins */
        if (strcmp(argv[i], "--seconds") == 0)
            seconds = strtod(argv[i + 1], NULL);
    if (seconds <= 0 || seconds > 3600) {
        fprintf(stderr, "cr_linkmon: --seconds from 0 to 3600\n");
        return 2;
    }
    n_ms = (unsigned)(seconds * 1000) + 1000;
    n_bins = n_ms / BIN_MS + 1;
    ssrcs = calloc(MAX_SSRC, sizeof(*ssrcs));
    txt = calloc(TX_SLOTS, sizeof(*txt));
    bins = calloc(n_bins, sizeof(*bins));
    pend = calloc(PEND_MAX, sizeof(*pend));
    sentq = calloc(PEND_MAX, sizeof(*sentq));
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    start_ms = (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL) {
            fprintf(stderr, "cr_linkmon: %s needs a value\n", a);
            return 2;
        }
        i++;
        if ((strcmp(a, "--tx") == 0 || strcmp(a, "--rx") == 0 || strcmp(a, "--in") == 0) && n_pts < MAX_POINTS) {
            if (open_point(v, a[2] == 't', a[2] == 'i') != 0)
                return 1;
        } else if (strcmp(a, "--out") == 0) {
            out = v;
        } else if (strcmp(a, "--port-min") == 0) {
            port_min = (int)strtol(v, NULL, 10);
        } else if (strcmp(a, "--port-max") == 0) {
            port_max = (int)strtol(v, NULL, 10);
        } else if (strcmp(a, "--audio-pt") == 0) {
            audio_pt = (int)strtol(v, NULL, 10);
        } else if (strcmp(a, "--seconds") != 0) {
            fprintf(stderr, "usage: cr_linkmon --tx NS:IF [--rx NS:IF]... [--in NS:IF]... --out FILE [--seconds S] "
                            "[--port-min P --port-max P] [--audio-pt PT]\n");
            return 2;
        }
    }
    if (n_pts == 0 || ssrcs == NULL || txt == NULL || bins == NULL || pend == NULL || sentq == NULL)
        return 2;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    struct pollfd pfd[MAX_POINTS];
    for (unsigned i = 0; i < n_pts; i++)
        pfd[i] = (struct pollfd){.fd = pts[i].fd, .events = POLLIN};
    uint64_t used = 0;
    while (!stop && used < (uint64_t)(seconds * 1000)) {
        poll(pfd, n_pts, 50);
        for (unsigned i = 0; i < n_pts; i++)
            if (pfd[i].revents & POLLIN)
                drain(&pts[i]);
        clock_gettime(CLOCK_REALTIME, &now);
        used = (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u - start_ms;
        gap_settle(start_ms + used);
        sent_settle(start_ms + used);
    }
    end_ms = start_ms + used;
    gap_settle(UINT64_MAX);
    sent_settle(end_ms); /* (the last second's packets may still be in flight: not counted) */
    report(out, (unsigned)(used < n_ms ? used : n_ms));
    return 0;
}
