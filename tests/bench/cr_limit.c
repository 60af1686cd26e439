/*
 * cr_limit: the physical limit of fan-out on this machine, for the limit ratio of tests/bench/fanout.
 *
 *   cr_limit --subscribers N [--seconds S] [--repeat R] [--size 1200] [--batch 64] [--drain-cpu C]
 *            [--profile gcm|sha1]
 *
 * A tight loop doing only the work a relay cannot avoid per forwarded packet: write a 12-byte RTP
 * header and copy the payload into the subscriber's send buffer (protect works in place), protect it
 * with that subscriber's SRTP session (libsrtp through cr_srtp, AEAD_AES_128_GCM by default, as the
 * relay negotiates), and hand it to the kernel in sendmmsg batches, for N destinations on loopback:
 * sockets bound by this tool and drained by a child process (pinned to --drain-cpu, as the load
 * generator would be). The result is packets per CPU-second of this process (utime + stime, the same
 * measure the benchmark takes of the relay): the limit in packets/s per core.
 *
 * The loop runs R times (default 3) and the best run is the limit (other load on the machine can only
 * slow it down); the worst is printed too. It also times the protect step alone, so the report can
 * tell SRTP from the kernel's share, and the same AES-128-GCM operation done directly with OpenSSL's
 * EVP interface (RFC 7714 section 8: IV from salt, SSRC, ROC and sequence number; the header as AAD;
 * a 16-byte tag), which shows what the crypto library behind libsrtp costs (Debian builds libsrtp2
 * with NSS).
 * Prints one key=value line.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cr_clock.h"
#include "cr_err.h"
#include "cr_rtp.h"
#include "cr_srtp.h"

#define PKT_CAP 1600
#define MAX_BATCH 1024

static struct {
    unsigned n, size, batch, repeat;
    double seconds;
    int drain_cpu;
    enum cr_srtp_profile profile;
} o = {.n = 200, .size = 1200, .batch = 64, .repeat = 3, .seconds = 3, .drain_cpu = -1, .profile = CR_SRTP_AEAD_AES_128_GCM};

static uint64_t cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static void pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof(set), &set);
}

/* The child: reads every socket until the parent exits (as a receiver would). */
static void drain_forever(const int *fds, unsigned n)
{
    static uint8_t buf[64][PKT_CAP];
    struct mmsghdr msg[64];
    struct iovec iov[64];
    int ep = epoll_create1(0), one = 1;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (o.drain_cpu >= 0)
        pin(o.drain_cpu);
    /* The load generator timestamps some sockets; the kernel then stamps every packet. Do the same. */
    setsockopt(fds[0], SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
    for (unsigned i = 0; i < n; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
    }
    for (int i = 0; i < 64; i++) {
        iov[i].iov_base = buf[i];
        iov[i].iov_len = PKT_CAP;
    }
    struct epoll_event evs[256];
    for (;;) {
        int k = epoll_wait(ep, evs, 256, 1000);
        for (int e = 0; e < k; e++) {
            for (int i = 0; i < 64; i++) {
                memset(&msg[i].msg_hdr, 0, sizeof(msg[i].msg_hdr));
                msg[i].msg_hdr.msg_iov = &iov[i];
                msg[i].msg_hdr.msg_iovlen = 1;
            }
            while (recvmmsg(fds[evs[e].data.u32], msg, 64, MSG_DONTWAIT, NULL) == 64) {
            }
        }
    }
}

static int open_receivers(int *fds, struct sockaddr_in *dst)
{
    for (unsigned i = 0; i < o.n; i++) {
        socklen_t sl = sizeof(dst[i]);
        int size = 1 << 20;
        fds[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        memset(&dst[i], 0, sizeof(dst[i]));
        dst[i].sin_family = AF_INET;
        dst[i].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&dst[i], sizeof(dst[i])) != 0 ||
            getsockname(fds[i], (struct sockaddr *)&dst[i], &sl) != 0)
            return -1;
        if (setsockopt(fds[i], SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0)
            setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    }
    return 0;
}

static int make_sessions(cr_srtp_t **s)
{
    uint8_t tx[64], rx[64];
    size_t klen = cr_srtp_key_len(o.profile) + cr_srtp_salt_len(o.profile);
    for (unsigned i = 0; i < o.n; i++) {
        if (cr_random_bytes(tx, (int)klen) != 0 || cr_random_bytes(rx, (int)klen) != 0 ||
            cr_srtp_new(&s[i], o.profile, tx, rx) != 0)
            return -1;
    }
    return 0;
}

/* Header + payload copy + protect for destination i, as the relay's send_rtp does. */
static size_t build(uint8_t *out, cr_srtp_t *s, const uint8_t *payload, uint16_t seq, uint32_t ssrc)
{
    size_t len = o.size;
    cr_rtp_write_header(out, PKT_CAP, 96, 0, seq, (uint32_t)seq * 3000u, ssrc);
    memcpy(out + CR_RTP_HDR_MIN, payload, o.size - CR_RTP_HDR_MIN);
    if (cr_srtp_protect(s, out, &len, PKT_CAP) != 0)
        return 0;
    return len;
}

/* Per-packet AES-128-GCM as an SRTP AEAD sender does it, with OpenSSL EVP; returns us per packet. */
static double evp_gcm_us(double seconds)
{
    uint8_t key[16], salt[12], iv[12], pkt[PKT_CAP], tag[16];
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL || cr_random_bytes(key, 16) != 0 || cr_random_bytes(salt, 12) != 0 ||
        EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), NULL, key, NULL) != 1) {
        EVP_CIPHER_CTX_free(ctx);
        return -1;
    }
    memset(pkt, 0x5a, sizeof(pkt));
    uint64_t n = 0, c0 = cpu_us(), until = cr_now_us() + (uint64_t)(seconds * 1e6);
    int outl;
    for (uint32_t seq = 0;; seq++) {
        cr_rtp_write_header(pkt, PKT_CAP, 96, 0, (uint16_t)seq, seq * 3000u, 0x1234);
        memset(iv, 0, 2);
        memcpy(iv + 2, pkt + 8, 4); /* SSRC */
        iv[6] = (uint8_t)(seq >> 24); /* ROC */
        iv[7] = (uint8_t)(seq >> 16);
        iv[8] = 0;
        iv[9] = 0;
        iv[10] = pkt[2];
        iv[11] = pkt[3];
        for (int i = 0; i < 12; i++)
            iv[i] ^= salt[i];
        if (EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, iv) != 1 ||
            EVP_EncryptUpdate(ctx, NULL, &outl, pkt, CR_RTP_HDR_MIN) != 1 ||
            EVP_EncryptUpdate(ctx, pkt + CR_RTP_HDR_MIN, &outl, pkt + CR_RTP_HDR_MIN, (int)o.size - CR_RTP_HDR_MIN) != 1 ||
            EVP_EncryptFinal_ex(ctx, pkt + o.size, &outl) != 1 ||
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1)
            break;
        n++;
        if ((n & 255) == 0 && cr_now_us() >= until)
            break;
    }
    EVP_CIPHER_CTX_free(ctx);
    return n ? (double)(cpu_us() - c0) / (double)n : -1;
}

typedef struct result {
    uint64_t packets, drops, wall_us, cpu_us;
} result_t;

static void fanout(int fd, cr_srtp_t **s, const struct sockaddr_in *dst, int send_it, double seconds, result_t *r)
{
    static uint8_t bufs[MAX_BATCH][PKT_CAP];
    static struct mmsghdr msg[MAX_BATCH];
    static struct iovec iov[MAX_BATCH];
    uint8_t payload[PKT_CAP];
    memset(payload, 0x5a, sizeof(payload));
    memset(r, 0, sizeof(*r));
    uint64_t c0 = cpu_us(), t0 = cr_now_us(), until = t0 + (uint64_t)(seconds * 1e6);
    static uint16_t seq; /* continues across runs: libsrtp refuses to protect an index twice */
    unsigned k = 0;
    for (;;) {
        seq++;
        for (unsigned i = 0; i < o.n; i++) {
            size_t len = build(bufs[k], s[i], payload, seq, 0x10000u + i);
            iov[k].iov_base = bufs[k];
            iov[k].iov_len = len;
            memset(&msg[k].msg_hdr, 0, sizeof(msg[k].msg_hdr));
            msg[k].msg_hdr.msg_name = (void *)&dst[i];
            msg[k].msg_hdr.msg_namelen = sizeof(dst[i]);
            msg[k].msg_hdr.msg_iov = &iov[k];
            msg[k].msg_hdr.msg_iovlen = 1;
            if (++k < o.batch && i + 1 < o.n)
                continue;
            unsigned off = 0;
            while (send_it && off < k) {
                int n = sendmmsg(fd, msg + off, k - off, 0);
                if (n < 0) {
                    if (errno == EINTR)
                        continue;
                    r->drops++; /* like the relay: drop this datagram and go on */
                    n = 1;
                }
                off += (unsigned)n;
            }
            r->packets += k;
            k = 0;
        }
        if (cr_now_us() >= until)
            break;
    }
    r->wall_us = cr_now_us() - t0;
    r->cpu_us = cpu_us() - c0;
}

static int parse_args(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        char *end = NULL;
        errno = 0;
        if (strcmp(a, "--subscribers") == 0)
            o.n = (unsigned)strtoul(v, &end, 10);
        else if (strcmp(a, "--seconds") == 0)
            o.seconds = strtod(v, &end);
        else if (strcmp(a, "--size") == 0)
            o.size = (unsigned)strtoul(v, &end, 10);
        else if (strcmp(a, "--repeat") == 0)
            o.repeat = (unsigned)strtoul(v, &end, 10);
        else if (strcmp(a, "--batch") == 0)
            o.batch = (unsigned)strtoul(v, &end, 10);
        else if (strcmp(a, "--drain-cpu") == 0)
            o.drain_cpu = (int)strtol(v, &end, 10);
        else if (strcmp(a, "--profile") == 0)
            o.profile = strcmp(v, "sha1") == 0 ? CR_SRTP_AES128_CM_SHA1_80 : CR_SRTP_AEAD_AES_128_GCM;
        else
            return -1;
        if (end != NULL && (*end != '\0' || end == v || errno != 0))
            return -1;
    }
    if (argc % 2 == 0 || o.n == 0 || o.n > 60000 || o.size < 16 || o.size + CR_SRTP_MAX_TRAILER > PKT_CAP ||
        o.batch == 0 || o.batch > MAX_BATCH || o.seconds <= 0 || o.repeat == 0 || o.repeat > 100)
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    if (parse_args(argc, argv) != 0) {
        fprintf(stderr, "usage: cr_limit --subscribers N [--seconds S] [--repeat R] [--size 1200] [--batch 64]"
                        " [--drain-cpu C] [--profile gcm|sha1]\n");
        return 2;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < o.n + 64) {
        rl.rlim_cur = rl.rlim_max < o.n + 64 ? rl.rlim_max : o.n + 64;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    int *fds = calloc(o.n, sizeof(int));
    struct sockaddr_in *dst = calloc(o.n, sizeof(*dst));
    cr_srtp_t **s = calloc(o.n, sizeof(*s));
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0), size = 8 << 20;
    if (fds == NULL || dst == NULL || s == NULL || fd < 0 || cr_srtp_global_init() != 0 ||
        open_receivers(fds, dst) != 0 || make_sessions(s) != 0) {
        fprintf(stderr, "cr_limit: set-up failed: %s\n", strerror(errno));
        return 1;
    }
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)); /* as the relay's worker socket */
    pid_t child = fork();
    if (child == 0)
        drain_forever(fds, o.n);
    usleep(100000);

    result_t protect, full = {0}, run;
    double worst = 0;
    fanout(fd, s, dst, 0, o.seconds / 4 < 0.5 ? 0.5 : o.seconds / 4, &protect); /* warms up, too */
    for (unsigned r = 0; r < o.repeat; r++) {
        fanout(fd, s, dst, 1, o.seconds, &run);
        double us = run.packets ? (double)run.cpu_us / (double)run.packets : 0;
        if (r == 0 || full.packets == 0 || us < (double)full.cpu_us / (double)full.packets)
            full = run;
        if (us > worst)
            worst = us;
    }
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    double evp_us = evp_gcm_us(o.seconds / 4 < 0.5 ? 0.5 : o.seconds / 4);

    double per_core = full.cpu_us ? (double)full.packets * 1e6 / (double)full.cpu_us : 0;
    printf("limit_subscribers=%u limit_size=%u limit_batch=%u limit_profile=%s limit_pps_per_core=%.0f"
           " limit_pps_wall=%.0f limit_us_per_pkt=%.3f limit_worst_us_per_pkt=%.3f limit_protect_us_per_pkt=%.3f"
           " limit_evp_gcm_us_per_pkt=%.3f limit_cpu_pct=%.1f limit_send_drops=%llu\n",
           o.n, o.size, o.batch, o.profile == CR_SRTP_AEAD_AES_128_GCM ? "AEAD_AES_128_GCM" : "AES_CM_128_HMAC_SHA1_80",
           per_core, (double)full.packets * 1e6 / (double)full.wall_us,
           full.packets ? (double)full.cpu_us / (double)full.packets : 0, worst,
           protect.packets ? (double)protect.cpu_us / (double)protect.packets : 0, evp_us,
           100.0 * (double)full.cpu_us / (double)full.wall_us, (unsigned long long)full.drops);
    for (unsigned i = 0; i < o.n; i++) {
        cr_srtp_free(s[i]);
        close(fds[i]);
    }
    close(fd);
    free(s);
    free(dst);
    free(fds);
    return 0;
}
