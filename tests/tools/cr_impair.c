/*
 * cr_impair: a seeded user-space UDP impairment proxy for the test bed (this kernel has tbf and htb
 * but no netem).
 *
 *   cr_impair --listen HOST:PORT --to HOST:PORT [--seed N] [--duration S] [--max-clients N]
 *             [--stats S] [impairments...]
 *
 * Every datagram a client sends to the listen address is forwarded to --to from a socket of its own
 * ("up"); every datagram --to sends back on that socket is forwarded to the client from the listen
 * address ("down"). So both directions of a WebRTC session (STUN, DTLS, SRTP, RTCP) pass, each
 * impaired on its own. Impairments apply to both directions, or to one with an up-/down- prefix:
 *
 *   --delay MS           base one-way delay              --jitter MS     uniform +-jitter (keeps order)
 *   --loss PCT           Bernoulli loss                  --reorder PCT[,GAP_MS]  hold packets back (10 ms)
 *   --ge P,R[,BAD[,GOOD]]  Gilbert-Elliott bursty loss: P% good->bad, R% bad->good per packet,
 *                        loss BAD% in the bad state (100) and GOOD% in the good one (0)
 *   --rate KBIT          token bucket rate               --burst BYTES   bucket depth (1514)
 *   --queue BYTES        FIFO limit behind the bucket (65536), tail drop
 *
 * Deterministic for a given seed and packet sequence (one PRNG per direction). Prints counters as
 * key=value lines at exit (SIGINT, SIGTERM or --duration) and every --stats seconds; exit 0, or 2
 * on a usage error.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cr_impair_model.h"

#define MAX_CLIENTS 64
#define POOL 8192
#define PKT_MAX 2048
#define READS_PER_WAKE 64

typedef struct client {
    struct sockaddr_storage addr;
    socklen_t len;
    int fd;
} client_t;

typedef struct slot {
    uint64_t release_us;
    uint32_t len;
    int client, down;
    uint8_t buf[PKT_MAX];
} slot_t;

static volatile sig_atomic_t stop;
static client_t clients[MAX_CLIENTS];
static int n_clients, max_clients = MAX_CLIENTS;
static slot_t pool[POOL];
static int free_list[POOL], n_free;
static int heap[POOL], n_heap; /* slot indices, a min-heap by release time */
static cr_imp_dir_t dirs[2];   /* 0 up (client -> server), 1 down */
static uint64_t drop_pool[2], drop_clients, send_errors;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000ull + (uint64_t)ts.tv_nsec / 1000;
}

static int resolve(const char *hostport, struct sockaddr_storage *out, socklen_t *len)
{
    char host[256];
    const char *colon = strrchr(hostport, ':');
    if (colon == NULL || colon == hostport || (size_t)(colon - hostport) >= sizeof(host))
        return -1;
    size_t hl = (size_t)(colon - hostport);
    memcpy(host, hostport, hl);
    host[hl] = '\0';
    if (host[0] == '[' && hl >= 2 && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM}, *res;
    if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
        return -1;
    memcpy(out, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static void heap_push(int s)
{
    int i = n_heap++;
    heap[i] = s;
    while (i > 0 && pool[heap[(i - 1) / 2]].release_us > pool[heap[i]].release_us) {
        int p = (i - 1) / 2, tmp = heap[p];
        heap[p] = heap[i];
        heap[i] = tmp;
        i = p;
    }
}

static int heap_pop(void)
{
    int top = heap[0];
    heap[0] = heap[--n_heap];
    for (int i = 0;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < n_heap && pool[heap[l]].release_us < pool[heap[m]].release_us)
            m = l;
        if (r < n_heap && pool[heap[r]].release_us < pool[heap[m]].release_us)
            m = r;
        if (m == i)
            break;
        int tmp = heap[m];
        heap[m] = heap[i];
        heap[i] = tmp;
        i = m;
    }
    return top;
}

static int find_client(const struct sockaddr_storage *a, socklen_t len, const struct sockaddr_storage *to,
                       socklen_t to_len)
{
    for (int i = 0; i < n_clients; i++)
        if (clients[i].len == len && memcmp(&clients[i].addr, a, len) == 0)
            return i;
    if (n_clients >= max_clients)
        return -1;
    int fd = socket(to->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (const struct sockaddr *)to, to_len) != 0) {
        close(fd);
        return -1;
    }
    clients[n_clients] = (client_t){.len = len, .fd = fd};
    memcpy(&clients[n_clients].addr, a, len);
    return n_clients++;
}

/* One received datagram: decide its fate and queue it. */
static void take(int down, int client, const uint8_t *buf, uint32_t len)
{
    uint64_t release;
    if (cr_imp_decide(&dirs[down], now_us(), len, &release) != CR_IMP_PASS)
        return;
    if (n_free == 0) {
        drop_pool[down]++;
        return;
    }
    int s = free_list[--n_free];
    pool[s].release_us = release;
    pool[s].len = len;
    pool[s].client = client;
    pool[s].down = down;
    memcpy(pool[s].buf, buf, len);
    heap_push(s);
}

static void flush_due(int listen_fd)
{
    uint64_t now = now_us();
    while (n_heap > 0 && pool[heap[0]].release_us <= now) {
        int s = heap_pop();
        slot_t *p = &pool[s];
        const client_t *c = &clients[p->client];
        ssize_t n = p->down ? sendto(listen_fd, p->buf, p->len, 0, (const struct sockaddr *)&c->addr, c->len)
                            : send(c->fd, p->buf, p->len, 0);
        if (n < 0)
            send_errors++;
        free_list[n_free++] = s;
    }
}

static void print_counters(const char *when)
{
    static const char *const name[2] = {"up", "down"};
    for (int d = 0; d < 2; d++) {
        const cr_imp_counters_t *n = &dirs[d].n;
        printf("impair=%s dir=%s packets=%llu bytes=%llu passed=%llu passed_bytes=%llu drop_loss=%llu "
               "drop_queue=%llu drop_pool=%llu reordered=%llu\n",
               when, name[d], (unsigned long long)n->packets, (unsigned long long)n->bytes,
               (unsigned long long)n->passed, (unsigned long long)n->passed_bytes, (unsigned long long)n->drop_loss,
               (unsigned long long)n->drop_queue, (unsigned long long)drop_pool[d], (unsigned long long)n->reordered);
    }
    printf("impair=%s clients=%d refused_clients=%llu send_errors=%llu queued=%d\n", when, n_clients,
           (unsigned long long)drop_clients, (unsigned long long)send_errors, n_heap);
    fflush(stdout);
}

static int usage(const char *why)
{
    fprintf(stderr,
            "cr_impair: %s\n"
            "usage: cr_impair --listen HOST:PORT --to HOST:PORT [--seed N] [--duration S] [--max-clients N]\n"
            "                 [--stats S] [--[up-|down-]delay MS] [--[up-|down-]jitter MS] [--[up-|down-]loss PCT]\n"
            "                 [--[up-|down-]ge P,R[,BAD[,GOOD]]] [--[up-|down-]reorder PCT[,GAP_MS]]\n"
            "                 [--[up-|down-]rate KBIT] [--[up-|down-]burst BYTES] [--[up-|down-]queue BYTES]\n",
            why);
    return 2;
}

static int parse_ul(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (s[0] == '\0' || s[0] == '-' || *end != '\0' || errno != 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

typedef struct opts {
    const char *listen_s, *to_s;
    unsigned long long seed, duration, stats, max_clients;
    cr_imp_conf_t conf[2];
} opts_t;

static int parse_args(int argc, char **argv, opts_t *o)
{
    *o = (opts_t){.seed = 1, .max_clients = MAX_CLIENTS};
    cr_imp_conf_default(&o->conf[0]);
    cr_imp_conf_default(&o->conf[1]);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strncmp(a, "--", 2) != 0 || v == NULL)
            return usage(v == NULL ? "missing value" : "unexpected argument");
        i++;
        if (strcmp(a, "--listen") == 0)
            o->listen_s = v;
        else if (strcmp(a, "--to") == 0)
            o->to_s = v;
        else if (strcmp(a, "--seed") == 0) {
            if (parse_ul(v, UINT64_MAX, &o->seed) != 0)
                return usage("bad --seed");
        } else if (strcmp(a, "--duration") == 0) {
            if (parse_ul(v, 86400, &o->duration) != 0)
                return usage("bad --duration");
        } else if (strcmp(a, "--stats") == 0) {
            if (parse_ul(v, 86400, &o->stats) != 0)
                return usage("bad --stats");
        } else if (strcmp(a, "--max-clients") == 0) {
            if (parse_ul(v, MAX_CLIENTS, &o->max_clients) != 0 || o->max_clients == 0)
                return usage("bad --max-clients (1-64)");
        } else {
            int rc = cr_imp_parse_option(&o->conf[0], &o->conf[1], a + 2, v);
            if (rc != 0)
                return usage(rc == -1 ? "unknown option" : "bad impairment value");
        }
    }
    if (o->listen_s == NULL || o->to_s == NULL)
        return usage("--listen and --to are required");
    return 0;
}

/* Reads what is waiting (at most READS_PER_WAKE per socket, so one busy direction cannot starve
 * the other) after a poll. */
static void read_all(int lfd, const struct pollfd *pfd, int nfds, const struct sockaddr_storage *to, socklen_t tl)
{
    uint8_t buf[PKT_MAX];
    for (int r = 0; r < READS_PER_WAKE && (pfd[0].revents & POLLIN); r++) {
        struct sockaddr_storage from;
        socklen_t fl = sizeof(from);
        ssize_t n = recvfrom(lfd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
        if (n < 0)
            break;
        int c = find_client(&from, fl, to, tl);
        if (c < 0) {
            drop_clients++;
            continue;
        }
        take(0, c, buf, (uint32_t)n);
    }
    for (int i = 0; i < nfds - 1; i++) {
        for (int r = 0; r < READS_PER_WAKE && (pfd[1 + i].revents & POLLIN); r++) {
            ssize_t n = recv(clients[i].fd, buf, sizeof(buf), 0);
            if (n < 0)
                break;
            take(1, i, buf, (uint32_t)n);
        }
    }
}

int main(int argc, char **argv)
{
    opts_t o;
    if (parse_args(argc, argv, &o) != 0)
        return 2;
    max_clients = (int)o.max_clients;
    struct sockaddr_storage la, ta;
    socklen_t ll, tl;
    if (resolve(o.listen_s, &la, &ll) != 0 || resolve(o.to_s, &ta, &tl) != 0)
        return usage("cannot resolve an address");
    int lfd = socket(la.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&la, ll) != 0) {
        fprintf(stderr, "cr_impair: cannot listen on %s: %s\n", o.listen_s, strerror(errno));
        return 2;
    }
    for (int d = 0; d < 2; d++)
        cr_imp_dir_init(&dirs[d], &o.conf[d], o.seed, (unsigned)d);
    for (int i = 0; i < POOL; i++)
        free_list[n_free++] = POOL - 1 - i;
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    printf("impair=ready listen=%s to=%s seed=%llu\n", o.listen_s, o.to_s, o.seed);
    fflush(stdout);

    uint64_t start = now_us(), next_stats = o.stats ? start + o.stats * 1000000ull : UINT64_MAX;
    struct pollfd pfd[1 + MAX_CLIENTS];
    while (!stop) {
        uint64_t now = now_us();
        if (o.duration && now >= start + o.duration * 1000000ull)
            break;
        if (now >= next_stats) {
            print_counters("stats");
            next_stats += o.stats * 1000000ull;
        }
        /* sleep until the next release, a datagram, or at most 100 ms */
        uint64_t wake = now + 100000;
        if (n_heap > 0 && pool[heap[0]].release_us < wake)
            wake = pool[heap[0]].release_us;
        struct timespec ts = {.tv_sec = (time_t)((wake - now) / 1000000), .tv_nsec = (long)((wake - now) % 1000000) * 1000};
        pfd[0] = (struct pollfd){.fd = lfd, .events = POLLIN};
        for (int i = 0; i < n_clients; i++)
            pfd[1 + i] = (struct pollfd){.fd = clients[i].fd, .events = POLLIN};
        int nfds = 1 + n_clients;
        if (ppoll(pfd, (nfds_t)nfds, &ts, NULL) < 0 && errno != EINTR)
            break;
        read_all(lfd, pfd, nfds, &ta, tl);
        flush_due(lfd);
    }
    print_counters("exit");
    for (int i = 0; i < n_clients; i++)
        close(clients[i].fd);
    close(lfd);
    return 0;
}
