/*
 * cr_loadgen: many WHEP subscribers in one process, for the fan-out benchmark (tests/bench/fanout).
 *
 *   cr_loadgen --url http://127.0.0.1:8080/whep/CLASS --subscribers N [--seconds S] [--warmup S]
 *              [--ramp PER_SECOND] [--decrypt-every K] [--relay-pid PID] [--relay-cpu C]
 *              [--rss-baseline S] [--rss-every S] [--token T | --token-file F] [--status-token T]
 *              [--no-delete] [--no-twcc] [--twcc-interval-ms MS]
 *
 * Each subscriber is a real WebRTC receiver built from the relay's own modules (cr_bench_peer): its
 * own UDP socket, ICE, DTLS, SRTP. One epoll loop serves them all. Per subscriber and stream it counts
 * packets, bytes, sequence gaps, retransmissions and what stays missing, without decoding; every
 * K-th subscriber decrypts every packet it receives (integrity) and reads the publisher's latency
 * stamps (the SEI of cr_bench_h264) against the kernel's receive timestamp (SO_TIMESTAMPNS). Each
 * subscriber sends what a receiver sends: a receiver report every second and a NACK for every gap,
 * protected with SRTCP, and a consent check every 2.5 s. SIGUSR1 makes every connected subscriber
 * send a PLI for its video at once (a keyframe request from a whole classroom, tests/bench/sched_bed).
 *
 * Like a browser, each subscriber offers transport-wide congestion control (--no-twcc: not). When the
 * relay's answer keeps the extension, the subscriber authenticates every packet, records its
 * transport-wide sequence number with the kernel's receive time, and sends transport-cc feedback
 * (cr_bench_twcc) every --twcc-interval-ms (50) and whenever 100 packets are waiting; an answer
 * without it (a relay that does not send the extension) means no feedback, as a browser would do.
 *
 * After all subscribers are connected and a warm-up, a window of S seconds is measured; with
 * --relay-pid the relay's CPU time, RSS and GET /api/status counters are read at both ends. The last
 * line of stdout is key=value figures; progress goes to stderr ("window_start" marks the window).
 * Bearer tokens: one for every subscriber (--token) or one per line of a file, used in turn.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cr_bench_h264.h"
#include "cr_bench_http.h"
#include "cr_bench_peer.h"
#include "cr_bench_proc.h"
#include "cr_bench_stats.h"
#include "cr_bench_twcc.h"
#include "cr_clock.h"
#include "cr_err.h"
#include "cr_rtcp.h"
#include "cr_rtp.h"

#define BATCH 32      /* datagrams per recvmmsg */
#define ROUNDS 4      /* recvmmsg calls per socket per wakeup */
#define PKT_CAP 2048
#define TICK_US 10000u
#define RR_US 1000000u
#define NACK_MAX 64
#define RSS_SAMPLES 4096
#define TWCC_BURST 100 /* packets waiting that trigger feedback before the interval: bounds a feedback at high rates */
#define TWCC_CAP 4096  /* a feedback of a full ring (cr_bench_twcc.h) and the SRTCP trailer fit */

typedef struct opts {
    const char *url;
    unsigned n;
    double seconds, warmup, ramp, rss_baseline, rss_every;
    unsigned decrypt_every;
    pid_t relay_pid;
    int relay_cpu;
    int delete;
    int rcvbuf;
    int twcc;
    unsigned twcc_interval_ms;
    const char *token, *token_file, *status_token;
} opts_t;

typedef struct sub {
    cr_bench_peer_t peer;
    unsigned index;
    int sampled;
    int counted_connect;
    cr_bench_seq_t seq[2]; /* [0] audio, [1] video */
    uint32_t ssrc[2];
    uint32_t rtcp_ssrc;
    uint64_t packets, bytes, rtcp_in;
    uint64_t decrypted, auth_fail, bad_payload, stamps;
    uint64_t nacks_sent, rr_sent, plis_sent;
    uint32_t rxq_drops; /* SO_RXQ_OVFL: datagrams the kernel dropped on this socket (buffer full) */
    uint64_t next_rr_us;
    uint64_t packets_at_start; /* packets when the window opened */
    cr_bench_twcc_t *twcc;     /* owned; NULL unless the answer kept transport-wide cc */
    uint32_t twcc_media_ssrc;  /* the SSRC of the latest packet recorded (libwebrtc does the same) */
    uint64_t next_twcc_us, twcc_sent;
} sub_t;

/* Sums over all subscribers, taken at both ends of the window. */
typedef struct totals {
    uint64_t packets, bytes, expected, unique, gaps, recovered, duplicates, nacks, rr, plis, rxq_drops;
    uint64_t decrypted, auth_fail, bad_payload, stamps;
    uint64_t twcc_sessions, twcc_fb, twcc_overflow;
} totals_t;

/* What is read about the relay at both ends of the window. */
typedef struct relay_snap {
    uint64_t wall_us, cpu_us, core_busy_us, core_total_us, self_cpu_us;
    int64_t forwarded, packets_out, queue_full, retransmits, nacks_in, lat_p50_us, lat_p99_us;
    int have_status, have_latency;
} relay_snap_t;

static opts_t o = {.n = 1, .seconds = 10, .warmup = 3, .ramp = 200, .decrypt_every = 10, .relay_cpu = -1,
                   .delete = 1, .rcvbuf = 1 << 20, .twcc = 1, .twcc_interval_ms = 50};
static cr_bench_url_t url, status_url;
static sub_t *subs;
static volatile sig_atomic_t stop_flag, pli_flag;
static cr_bench_hist_t latency; /* window only */
static int in_window;
static char *token_buf;  /* the --token-file, its lines NUL-terminated */
static char **tokens;
static size_t n_tokens;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void on_usr1(int sig)
{
    (void)sig;
    pli_flag = 1;
}

static uint64_t real_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* --- RTCP a receiver sends --- */

static void send_rr(sub_t *s)
{
    uint8_t buf[PKT_CAP];
    cr_rtcp_report_block_t blocks[2];
    unsigned n = 0;
    for (int k = 0; k < 2; k++)
        if (s->seq[k].started)
            cr_bench_seq_report(&s->seq[k], s->ssrc[k], &blocks[n++]);
    int r = cr_rtcp_write_rr(buf, sizeof(buf), s->rtcp_ssrc, blocks, n);
    if (r < 0)
        return;
    int r2 = cr_rtcp_write_sdes_cname(buf + r, sizeof(buf) - (size_t)r, s->rtcp_ssrc, "bench-loadgen");
    if (r2 < 0)
        return;
    if (cr_bench_peer_send_rtcp(&s->peer, buf, (size_t)(r + r2), sizeof(buf)) == 0)
        s->rr_sent++;
}

/* RFC 4585 section 6.2.1: a generic NACK, in a compound packet that starts with an empty RR. */
static void send_nack(sub_t *s, uint32_t media_ssrc, const uint16_t *seqs, size_t n)
{
    uint8_t buf[PKT_CAP];
    int r = cr_rtcp_write_rr(buf, sizeof(buf), s->rtcp_ssrc, NULL, 0);
    if (r < 0)
        return;
    int r2 = cr_rtcp_write_nack(buf + r, sizeof(buf) - (size_t)r - CR_SRTP_MAX_TRAILER, s->rtcp_ssrc,
                                media_ssrc, seqs, n);
    if (r2 < 0)
        return;
    if (cr_bench_peer_send_rtcp(&s->peer, buf, (size_t)(r + r2), sizeof(buf)) == 0)
        s->nacks_sent++;
}

/* RFC 4585 section 6.3.1: a picture loss indication for the video stream, after an empty RR. */
static void send_pli(sub_t *s)
{
    uint8_t buf[PKT_CAP];
    if (s->peer.state != CR_BENCH_PEER_CONNECTED || !s->seq[1].started)
        return;
    int r = cr_rtcp_write_rr(buf, sizeof(buf), s->rtcp_ssrc, NULL, 0);
    if (r < 0)
        return;
    int r2 = cr_rtcp_write_pli(buf + r, sizeof(buf) - (size_t)r, s->rtcp_ssrc, s->ssrc[1]);
    if (r2 < 0)
        return;
    if (cr_bench_peer_send_rtcp(&s->peer, buf, (size_t)(r + r2), sizeof(buf)) == 0)
        s->plis_sent++;
}

/* Transport-cc feedback for everything recorded since the last one, on its own (RFC 5506 reduced size). */
static void send_twcc(sub_t *s, uint64_t now_us)
{
    uint8_t buf[TWCC_CAP];
    s->next_twcc_us = now_us + (uint64_t)o.twcc_interval_ms * 1000u;
    int n = cr_bench_twcc_build(s->twcc, buf, sizeof(buf) - CR_SRTP_MAX_TRAILER, s->rtcp_ssrc,
                                s->twcc_media_ssrc);
    if (n > 0 && cr_bench_peer_send_rtcp(&s->peer, buf, (size_t)n, sizeof(buf)) == 0)
        s->twcc_sent++;
}

/* --- receiving --- */

/* An authenticated packet: record its transport-wide sequence number (RFC 8285 element, 16 bits). */
static void twcc_record(sub_t *s, const uint8_t *pkt, size_t len, uint64_t now_us, uint64_t rx_real_us)
{
    cr_rtp_hdr_t h;
    const uint8_t *v;
    size_t vlen;
    if (cr_rtp_parse(pkt, len, &h) != 0 || !h.extension ||
        cr_rtp_ext_find(&h, s->peer.twcc_ext_id, &v, &vlen) != 0 || vlen != 2)
        return;
    cr_bench_twcc_record(s->twcc, (uint16_t)(v[0] << 8 | v[1]), rx_real_us);
    s->twcc_media_ssrc = h.ssrc;
    if (cr_bench_twcc_pending(s->twcc) >= TWCC_BURST)
        send_twcc(s, now_us);
}

/* A decrypted packet: is it what the relay should send (valid RTP, plausible H.264 or Opus)? */
static void check_payload(sub_t *s, const uint8_t *pkt, size_t len, int video, uint64_t rx_real_us)
{
    cr_rtp_hdr_t h;
    if (cr_rtp_parse(pkt, len, &h) != 0 || h.payload_len == 0) {
        s->bad_payload++;
        return;
    }
    if (!video)
        return;
    uint8_t nal = h.payload[0];
    unsigned t = cr_bench_nal_type(nal);
    if ((nal & 0x80) != 0 || t == 0 || (t > 12 && t != 24 && t != 28)) {
        s->bad_payload++;
        return;
    }
    uint64_t stamp;
    if (cr_bench_stamp_read(h.payload, h.payload_len, &stamp)) {
        s->stamps++;
        if (in_window)
            cr_bench_hist_add(&latency, (int64_t)(rx_real_us - stamp));
    }
}

static void on_rtp(sub_t *s, uint8_t *pkt, size_t len, uint64_t now_us, uint64_t rx_real_us)
{
    if (len < CR_RTP_HDR_MIN || s->peer.state != CR_BENCH_PEER_CONNECTED)
        return;
    /* The header is in the clear (RFC 3711 section 3.1): count without decrypting. */
    int video = (pkt[1] & 0x7f) != CR_BENCH_AUDIO_PT;
    uint16_t seq = (uint16_t)(pkt[2] << 8 | pkt[3]);
    uint32_t ts = (uint32_t)pkt[4] << 24 | (uint32_t)pkt[5] << 16 | (uint32_t)pkt[6] << 8 | pkt[7];
    uint32_t ssrc = (uint32_t)pkt[8] << 24 | (uint32_t)pkt[9] << 16 | (uint32_t)pkt[10] << 8 | pkt[11];
    cr_bench_seq_t *t = &s->seq[video];
    s->ssrc[video] = ssrc;
    s->packets++;
    s->bytes += len;
    uint16_t missing[NACK_MAX];
    size_t n = cr_bench_seq_push(t, seq, missing, NACK_MAX);
    if (n > 0)
        send_nack(s, ssrc, missing, n);
    cr_bench_seq_jitter(t, ts, now_us);
    /* Feedback, like a browser's, reports only packets that authenticate: so all of them are checked. */
    if (!s->sampled && s->twcc == NULL)
        return;
    size_t plen = len;
    if (cr_srtp_unprotect(s->peer.srtp, pkt, &plen) != 0) {
        s->auth_fail++;
        return;
    }
    s->decrypted++;
    if (s->twcc != NULL)
        twcc_record(s, pkt, plen, now_us, rx_real_us);
    if (s->sampled)
        check_payload(s, pkt, plen, video, rx_real_us);
}

static void on_datagram(sub_t *s, uint8_t *pkt, size_t len, uint64_t now_us, uint64_t rx_real_us)
{
    enum cr_bench_input in = cr_bench_peer_input(&s->peer, pkt, len, now_us);
    if (in == CR_BENCH_IN_RTP) {
        on_rtp(s, pkt, len, now_us, rx_real_us);
    } else if (in == CR_BENCH_IN_RTCP && s->peer.srtp != NULL) {
        s->rtcp_in++;
        if (s->sampled) {
            size_t plen = len;
            if (cr_srtp_unprotect_rtcp(s->peer.srtp, pkt, &plen) != 0)
                s->auth_fail++;
        }
    }
}

static uint8_t rbuf[BATCH][PKT_CAP];
static uint8_t rctl[BATCH][128];
static struct mmsghdr rmsg[BATCH];
static struct iovec riov[BATCH];

static void drain(sub_t *s)
{
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < BATCH; i++) {
            riov[i].iov_base = rbuf[i];
            riov[i].iov_len = PKT_CAP;
            memset(&rmsg[i].msg_hdr, 0, sizeof(rmsg[i].msg_hdr));
            rmsg[i].msg_hdr.msg_iov = &riov[i];
            rmsg[i].msg_hdr.msg_iovlen = 1;
            rmsg[i].msg_hdr.msg_control = rctl[i];
            rmsg[i].msg_hdr.msg_controllen = sizeof(rctl[i]);
        }
        int n = recvmmsg(s->peer.fd, rmsg, BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0)
            return;
        uint64_t now = cr_now_us(), real_now = 0;
        for (int i = 0; i < n; i++) {
            uint64_t rx_real = 0;
            for (struct cmsghdr *c = CMSG_FIRSTHDR(&rmsg[i].msg_hdr); c != NULL;
                 c = CMSG_NXTHDR(&rmsg[i].msg_hdr, c)) {
                if (c->cmsg_level != SOL_SOCKET)
                    continue;
                if (c->cmsg_type == SO_TIMESTAMPNS) {
                    struct timespec ts;
                    memcpy(&ts, CMSG_DATA(c), sizeof(ts));
                    rx_real = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
                } else if (c->cmsg_type == SO_RXQ_OVFL) {
                    memcpy(&s->rxq_drops, CMSG_DATA(c), sizeof(s->rxq_drops));
                }
            }
            if (rx_real == 0 && (s->sampled || s->twcc != NULL))
                rx_real = real_now ? real_now : (real_now = real_now_us());
            on_datagram(s, rbuf[i], rmsg[i].msg_len, now, rx_real);
        }
        if (n < BATCH)
            return;
    }
}

/* --- subscribers --- */

static int sub_create(sub_t *s, unsigned index, cr_dtls_ctx_t *ctx, const char *fingerprint)
{
    char offer[8192], err[512];
    s->index = index;
    s->sampled = o.decrypt_every > 0 && index % o.decrypt_every == 0;
    cr_bench_seq_init(&s->seq[0], 48000);
    cr_bench_seq_init(&s->seq[1], 90000);
    s->peer.token = n_tokens > 0 ? tokens[index % n_tokens] : o.token;
    if (cr_bench_peer_open(&s->peer, o.rcvbuf) != 0 || cr_random_bytes(&s->rtcp_ssrc, 4) != 0) {
        fprintf(stderr, "loadgen: subscriber %u: cannot open a socket: %s\n", index, strerror(errno));
        s->peer.state = CR_BENCH_PEER_FAILED;
        return -1;
    }
    int one = 1;
    setsockopt(s->peer.fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
    cr_bench_offer_params_t op = {.publisher = 0, .ice_ufrag = s->peer.ufrag, .ice_pwd = s->peer.pwd,
                                  .fingerprint = fingerprint, .profile_level_id = "42e01f", .twcc = o.twcc};
    int len = cr_bench_offer_write(offer, sizeof(offer), &op);
    if (len < 0 || cr_bench_peer_negotiate(&s->peer, &url, offer, (size_t)len, 5000, err, sizeof(err)) != 0) {
        fprintf(stderr, "loadgen: subscriber %u: %s\n", index, len < 0 ? "offer too big" : err);
        s->peer.state = CR_BENCH_PEER_FAILED;
        s->peer.error = "signaling";
        return -1;
    }
    /* No media arrives before ICE and DTLS: the answer decides in time what is recorded. */
    if (s->peer.twcc_ext_id != 0) {
        s->twcc = malloc(sizeof(*s->twcc));
        if (s->twcc != NULL)
            cr_bench_twcc_init(s->twcc);
    }
    /* Receive times: latency stamps, and the arrival times transport-cc feedback reports. */
    if (s->sampled || s->twcc != NULL)
        setsockopt(s->peer.fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
    return cr_bench_peer_start(&s->peer, ctx, cr_now_us());
}

static void tick_all(unsigned created, uint64_t now)
{
    for (unsigned i = 0; i < created; i++) {
        sub_t *s = &subs[i];
        cr_bench_peer_tick(&s->peer, now);
        if (s->peer.state == CR_BENCH_PEER_CONNECTED && now >= s->next_rr_us) {
            if (s->next_rr_us != 0)
                send_rr(s);
            s->next_rr_us = now + RR_US - (s->next_rr_us == 0 ? (uint64_t)(i % 100) * (RR_US / 100) : 0);
        }
        if (s->twcc != NULL && s->peer.state == CR_BENCH_PEER_CONNECTED && now >= s->next_twcc_us)
            send_twcc(s, now);
    }
}

static void sum_totals(unsigned created, totals_t *t)
{
    memset(t, 0, sizeof(*t));
    for (unsigned i = 0; i < created; i++) {
        const sub_t *s = &subs[i];
        t->packets += s->packets;
        t->bytes += s->bytes;
        for (int k = 0; k < 2; k++) {
            t->expected += cr_bench_seq_expected(&s->seq[k]);
            t->unique += s->seq[k].unique;
            t->gaps += s->seq[k].gaps;
            t->recovered += s->seq[k].recovered;
            t->duplicates += s->seq[k].duplicates;
        }
        t->nacks += s->nacks_sent;
        t->rr += s->rr_sent;
        t->plis += s->plis_sent;
        t->rxq_drops += s->rxq_drops;
        t->decrypted += s->decrypted;
        t->auth_fail += s->auth_fail;
        t->bad_payload += s->bad_payload;
        t->stamps += s->stamps;
        if (s->twcc != NULL) {
            t->twcc_sessions++;
            t->twcc_overflow += s->twcc->overflow;
        }
        t->twcc_fb += s->twcc_sent;
    }
}

/* --- the relay --- */

static void relay_snapshot(relay_snap_t *r)
{
    static char buf[CR_BENCH_HTTP_MAX_RESPONSE + 1];
    struct rusage ru;
    memset(r, 0, sizeof(*r));
    r->wall_us = cr_now_us();
    getrusage(RUSAGE_SELF, &ru);
    r->self_cpu_us = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
                     (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
    if (o.relay_cpu >= 0)
        cr_bench_proc_core_us(o.relay_cpu, &r->core_busy_us, &r->core_total_us);
    if (o.relay_pid <= 0)
        return;
    cr_bench_proc_cpu_us(o.relay_pid, &r->cpu_us);
    cr_bench_http_resp_t resp;
    cr_bench_http_req_t req = {.method = "GET", .token = o.status_token ? o.status_token : o.token};
    if (cr_bench_http_request(&status_url, &req, buf, sizeof(buf) - 1, 3000, &resp) == 0 && resp.status == 200) {
        r->have_status = cr_bench_json_sum(resp.body, resp.body_len, "forwarded", &r->forwarded) > 0;
        cr_bench_json_sum(resp.body, resp.body_len, "packets_out", &r->packets_out);
        cr_bench_json_sum(resp.body, resp.body_len, "queue_full", &r->queue_full);
        cr_bench_json_sum(resp.body, resp.body_len, "retransmits", &r->retransmits);
        cr_bench_json_sum(resp.body, resp.body_len, "nacks_in", &r->nacks_in);
        /* The relay's own receive -> sendmmsg histogram, if it has one (the worst worker). */
        r->have_latency = cr_bench_json_max(resp.body, resp.body_len, "latency_p50_us", &r->lat_p50_us) > 0 &&
                          cr_bench_json_max(resp.body, resp.body_len, "latency_p99_us", &r->lat_p99_us) > 0;
    }
}

/* Least-squares slope of RSS over time, in kB per minute. */
static double rss_slope(const double *t, const double *kb, unsigned n)
{
    if (n < 3)
        return 0;
    double st = 0, sk = 0, stt = 0, stk = 0;
    for (unsigned i = 0; i < n; i++) {
        st += t[i];
        sk += kb[i];
        stt += t[i] * t[i];
        stk += t[i] * kb[i];
    }
    double den = n * stt - st * st;
    return den == 0 ? 0 : (n * stk - st * sk) / den * 60.0;
}

static double pct(uint64_t part, uint64_t whole)
{
    return whole == 0 ? 0.0 : 100.0 * (double)part / (double)whole;
}

static double ms_of(int64_t us)
{
    return us < 0 ? -1.0 : (double)us / 1000.0;
}

typedef struct window {
    totals_t t0, t1;
    relay_snap_t r0, r1;
    uint64_t rss1_kb, rss_end_kb;
    double rss_t[RSS_SAMPLES], rss_kb[RSS_SAMPLES];
    unsigned n_rss;
} window_t;

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void report(const window_t *w, unsigned created)
{
    const totals_t *a = &w->t0, *b = &w->t1;
    double secs = (double)(w->r1.wall_us - w->r0.wall_us) / 1e6;
    unsigned connected = 0, failed = 0, silent = 0, n_conn = 0;
    uint64_t *conn_ms = calloc(created ? created : 1, sizeof(uint64_t));
    for (unsigned i = 0; i < created; i++) {
        const sub_t *s = &subs[i];
        if (s->peer.state == CR_BENCH_PEER_CONNECTED) {
            connected++;
            if (s->packets == s->packets_at_start)
                silent++;
            if (conn_ms != NULL)
                conn_ms[n_conn++] = (s->peer.connected_us - s->peer.started_us) / 1000u;
        } else {
            failed++;
        }
    }
    failed += o.n - created;
    if (conn_ms != NULL && n_conn > 0)
        qsort(conn_ms, n_conn, sizeof(uint64_t), cmp_u64);
    uint64_t expected = b->expected - a->expected;
    uint64_t unique = b->unique - a->unique;
    uint64_t lost = expected > unique ? expected - unique : 0;
    printf("subscribers=%u connected=%u failed=%u silent=%u window_s=%.2f", o.n, connected, failed, silent, secs);
    printf(" packets=%llu pps=%.0f mbps=%.2f expected=%llu lost=%llu loss_pct=%.4f gaps=%llu gap_pct=%.4f"
           " recovered=%llu duplicates=%llu nacks_sent=%llu rr_sent=%llu plis_sent=%llu rxq_drops=%llu",
           (unsigned long long)(b->packets - a->packets), (double)(b->packets - a->packets) / secs,
           (double)(b->bytes - a->bytes) * 8 / secs / 1e6, (unsigned long long)expected,
           (unsigned long long)lost, pct(lost, expected), (unsigned long long)(b->gaps - a->gaps),
           pct(b->gaps - a->gaps, expected), (unsigned long long)(b->recovered - a->recovered),
           (unsigned long long)(b->duplicates - a->duplicates), (unsigned long long)(b->nacks - a->nacks),
           (unsigned long long)(b->rr - a->rr), (unsigned long long)(b->plis - a->plis),
           (unsigned long long)(b->rxq_drops - a->rxq_drops));
    printf(" decrypted=%llu auth_failures=%llu bad_payload=%llu latency_samples=%llu latency_p50_ms=%.3f"
           " latency_p99_ms=%.3f latency_max_ms=%.3f connect_p50_ms=%llu connect_max_ms=%llu loadgen_cpu_pct=%.1f",
           (unsigned long long)(b->decrypted - a->decrypted), (unsigned long long)(b->auth_fail - a->auth_fail),
           (unsigned long long)(b->bad_payload - a->bad_payload), (unsigned long long)latency.count,
           ms_of(cr_bench_hist_quantile(&latency, 0.50)), ms_of(cr_bench_hist_quantile(&latency, 0.99)),
           latency.count ? ms_of(latency.max_us) : -1.0,
           (unsigned long long)(n_conn ? conn_ms[n_conn / 2] : 0), (unsigned long long)(n_conn ? conn_ms[n_conn - 1] : 0),
           pct(w->r1.self_cpu_us - w->r0.self_cpu_us, w->r1.wall_us - w->r0.wall_us));
    free(conn_ms);
    printf(" twcc_sessions=%llu twcc_fb_sent=%llu twcc_ring_overflows=%llu", (unsigned long long)b->twcc_sessions,
           (unsigned long long)(b->twcc_fb - a->twcc_fb), (unsigned long long)(b->twcc_overflow - a->twcc_overflow));
    if (o.relay_cpu >= 0)
        printf(" relay_core_busy_pct=%.1f",
               pct(w->r1.core_busy_us - w->r0.core_busy_us, w->r1.core_total_us - w->r0.core_total_us));
    if (o.relay_pid > 0) {
        uint64_t cpu = w->r1.cpu_us - w->r0.cpu_us;
        int64_t fwd = w->r1.forwarded - w->r0.forwarded;
        printf(" relay_cpu_pct=%.1f relay_rss_kb=%llu", pct(cpu, w->r1.wall_us - w->r0.wall_us),
               (unsigned long long)w->rss_end_kb);
        if (w->r0.have_status && w->r1.have_status)
            printf(" forwarded_pps=%.0f relay_cpu_us_per_pkt=%.3f relay_packets_out_pps=%.0f relay_send_drops=%lld"
                   " relay_nacks_in=%lld relay_retransmits=%lld",
                   (double)fwd / secs, fwd > 0 ? (double)cpu / (double)fwd : -1.0,
                   (double)(w->r1.packets_out - w->r0.packets_out) / secs,
                   (long long)(w->r1.queue_full - w->r0.queue_full), (long long)(w->r1.nacks_in - w->r0.nacks_in),
                   (long long)(w->r1.retransmits - w->r0.retransmits));
        if (w->rss1_kb > 0 && o.n > 1)
            printf(" relay_rss1_kb=%llu rss_per_sub_kb=%.1f", (unsigned long long)w->rss1_kb,
                   ((double)w->rss_end_kb - (double)w->rss1_kb) / (o.n - 1));
        printf(" rss_slope_kb_per_min=%.1f", rss_slope(w->rss_t, w->rss_kb, w->n_rss));
        if (w->r1.have_latency)
            printf(" relay_latency_p50_ms=%.3f relay_latency_p99_ms=%.3f", (double)w->r1.lat_p50_us / 1000,
                   (double)w->r1.lat_p99_us / 1000);
    }
    printf("\n");
    fflush(stdout);
}

static void usage(void)
{
    fprintf(stderr, "usage: cr_loadgen --url http://HOST:PORT/whep/CLASS [--subscribers N] [--seconds S]\n"
                    "  [--warmup S] [--ramp PER_S] [--decrypt-every K] [--relay-pid PID] [--relay-cpu C]\n"
                    "  [--status-url URL] [--rss-baseline S] [--rss-every S] [--rcvbuf BYTES] [--no-delete]\n"
                    "  [--token T | --token-file FILE] [--status-token T] [--no-twcc] [--twcc-interval-ms MS]\n");
}

static int parse_args(int argc, char **argv, const char **status)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (strcmp(a, "--no-delete") == 0) {
            o.delete = 0;
            continue;
        }
        if (strcmp(a, "--no-twcc") == 0) {
            o.twcc = 0;
            continue;
        }
        if (v == NULL) {
            usage();
            return -1;
        }
        i++;
        errno = 0;
        if (strcmp(a, "--url") == 0)
            o.url = v;
        else if (strcmp(a, "--status-url") == 0)
            *status = v;
        else if (strcmp(a, "--token") == 0)
            o.token = v;
        else if (strcmp(a, "--token-file") == 0)
            o.token_file = v;
        else if (strcmp(a, "--status-token") == 0)
            o.status_token = v;
        else if (strcmp(a, "--subscribers") == 0)
            o.n = (unsigned)strtoul(v, &end, 10);
        else if (strcmp(a, "--seconds") == 0)
            o.seconds = strtod(v, &end);
        else if (strcmp(a, "--warmup") == 0)
            o.warmup = strtod(v, &end);
        else if (strcmp(a, "--ramp") == 0)
            o.ramp = strtod(v, &end);
        else if (strcmp(a, "--decrypt-every") == 0)
            o.decrypt_every = (unsigned)strtoul(v, &end, 10);
        else if (strcmp(a, "--relay-pid") == 0)
            o.relay_pid = (pid_t)strtol(v, &end, 10);
        else if (strcmp(a, "--relay-cpu") == 0)
            o.relay_cpu = (int)strtol(v, &end, 10);
        else if (strcmp(a, "--rss-baseline") == 0)
            o.rss_baseline = strtod(v, &end);
        else if (strcmp(a, "--rss-every") == 0)
            o.rss_every = strtod(v, &end);
        else if (strcmp(a, "--rcvbuf") == 0)
            o.rcvbuf = (int)strtol(v, &end, 10);
        else if (strcmp(a, "--twcc-interval-ms") == 0)
            o.twcc_interval_ms = (unsigned)strtoul(v, &end, 10);
        else {
            usage();
            return -1;
        }
        if (end != NULL && (*end != '\0' || end == v || errno != 0)) {
            fprintf(stderr, "loadgen: bad value '%s' for %s\n", v, a);
            return -1;
        }
    }
    if (o.url == NULL || o.n == 0 || o.n > 100000 || o.seconds <= 0 || o.ramp <= 0 || o.twcc_interval_ms == 0 ||
        o.twcc_interval_ms > 10000) {
        usage();
        return -1;
    }
    return 0;
}

/* Reads --token-file: one token per line (blank lines skipped), each at most CR_BENCH_TOKEN_MAX. */
static int load_tokens(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t cap = 0, len = 0, lines = 0;
    int c;
    while ((c = fgetc(f)) != EOF) {
        if (len + 2 > cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *nb = ncap > (64u << 20) ? NULL : realloc(token_buf, ncap);
            if (nb == NULL) {
                fclose(f);
                return -1;
            }
            token_buf = nb;
            cap = ncap;
        }
        token_buf[len++] = (char)c;
        lines += c == '\n';
    }
    fclose(f);
    if (token_buf == NULL)
        return -1;
    token_buf[len] = '\0';
    tokens = calloc(lines + 1, sizeof(char *));
    if (tokens == NULL)
        return -1;
    for (char *p = token_buf, *next; p < token_buf + len; p = next) {
        char *nl = strchr(p, '\n');
        next = nl ? nl + 1 : token_buf + len;
        if (nl != NULL)
            *nl = '\0';
        size_t l = strlen(p);
        if (l > 0 && p[l - 1] == '\r')
            p[--l] = '\0';
        if (l > CR_BENCH_TOKEN_MAX)
            return -1;
        if (l > 0)
            tokens[n_tokens++] = p;
    }
    return n_tokens > 0 ? 0 : -1;
}

/* The status URL defaults to GET /api/status on the WHEP URL's host. */
static int setup_urls(const char *status)
{
    if (cr_bench_url_parse(o.url, &url) != 0) {
        fprintf(stderr, "loadgen: bad --url %s\n", o.url);
        return -1;
    }
    if (status != NULL)
        return cr_bench_url_parse(status, &status_url) == 0 ? 0 : -1;
    status_url = url;
    snprintf(status_url.path, sizeof(status_url.path), "/api/status");
    return 0;
}

static void raise_nofile(unsigned need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need + 64) {
        rl.rlim_cur = rl.rlim_max < need + 64 ? rl.rlim_max : need + 64;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* Every subscriber connected or given up: the ramp is over. */
static int all_settled(unsigned created)
{
    for (unsigned i = 0; i < created; i++)
        if (subs[i].peer.state != CR_BENCH_PEER_CONNECTED && subs[i].peer.state != CR_BENCH_PEER_FAILED)
            return 0;
    return 1;
}

static window_t win;

static int run(cr_dtls_ctx_t *ctx, const char *fingerprint, int epfd)
{
    unsigned created = 0;
    uint64_t now = cr_now_us(), next_create = now, next_tick = now, window_start = 0, window_end = 0;
    uint64_t next_rss = 0, t_start = 0;
    int baseline_done = !(o.rss_baseline > 0 && o.relay_pid > 0), settled = 0, opened = 0;
    struct epoll_event evs[256];

    while (!stop_flag) {
        int n = epoll_wait(epfd, evs, 256, 2);
        now = cr_now_us();
        for (int i = 0; i < n; i++)
            drain(evs[i].data.ptr);
        if (pli_flag) {
            pli_flag = 0;
            for (unsigned i = 0; i < created; i++)
                send_pli(&subs[i]);
        }
        if (now >= next_tick) {
            tick_all(created, now);
            next_tick = now + TICK_US;
            if (!settled && created == o.n && all_settled(created)) {
                settled = 1;
                window_start = now + (uint64_t)(o.warmup * 1e6);
                fprintf(stderr, "loadgen: %u subscribers settled after %.1f s\n", o.n,
                        (double)(now - subs[0].peer.started_us) / 1e6);
            }
        }
        if (!baseline_done && created == 1 && subs[0].peer.state == CR_BENCH_PEER_CONNECTED &&
            now >= subs[0].peer.connected_us + (uint64_t)(o.rss_baseline * 1e6)) {
            cr_bench_proc_rss_kb(o.relay_pid, &win.rss1_kb);
            baseline_done = 1;
            fprintf(stderr, "loadgen: relay RSS with 1 subscriber: %llu kB\n", (unsigned long long)win.rss1_kb);
        }
        if (!baseline_done && created == 1 && subs[0].peer.state == CR_BENCH_PEER_FAILED)
            baseline_done = 1;
        if (created < o.n && now >= next_create && (baseline_done || created == 0)) {
            sub_t *s = &subs[created];
            sub_create(s, created, ctx, fingerprint);
            if (s->peer.fd >= 0) {
                struct epoll_event ev = {.events = EPOLLIN, .data.ptr = s};
                epoll_ctl(epfd, EPOLL_CTL_ADD, s->peer.fd, &ev);
            }
            created++;
            next_create = now + (uint64_t)(1e6 / o.ramp);
        }
        if (settled && !opened && now >= window_start) {
            sum_totals(created, &win.t0);
            for (unsigned i = 0; i < created; i++)
                subs[i].packets_at_start = subs[i].packets;
            relay_snapshot(&win.r0);
            opened = in_window = 1;
            t_start = now = cr_now_us();
            window_end = now + (uint64_t)(o.seconds * 1e6);
            next_rss = now;
            fprintf(stderr, "window_start\n");
        }
        if (in_window && o.relay_pid > 0 && now >= next_rss && win.n_rss < RSS_SAMPLES) {
            uint64_t kb;
            if (cr_bench_proc_rss_kb(o.relay_pid, &kb) == 0) {
                win.rss_t[win.n_rss] = (double)(now - t_start) / 1e6;
                win.rss_kb[win.n_rss++] = (double)kb;
            }
            next_rss = now + (uint64_t)((o.rss_every > 0 ? o.rss_every : 1.0) * 1e6);
        }
        if (in_window && now >= window_end)
            break;
    }
    if (!in_window) {
        fprintf(stderr, "loadgen: stopped before the measurement window\n");
        return (int)created > 0 ? -(int)created : -1;
    }
    sum_totals(created, &win.t1);
    relay_snapshot(&win.r1);
    in_window = 0;
    if (o.relay_pid > 0)
        cr_bench_proc_rss_kb(o.relay_pid, &win.rss_end_kb);
    fprintf(stderr, "window_end\n");
    report(&win, created);
    return (int)created;
}

int main(int argc, char **argv)
{
    const char *status = NULL;
    cr_dtls_cert_t *cert = NULL;
    cr_dtls_ctx_t *ctx = NULL;
    if (parse_args(argc, argv, &status) != 0 || setup_urls(status) != 0)
        return 2;
    if (o.token_file != NULL && load_tokens(o.token_file) != 0) {
        fprintf(stderr, "loadgen: cannot read tokens from %s\n", o.token_file);
        return 2;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGUSR1, on_usr1);
    signal(SIGPIPE, SIG_IGN);
    raise_nofile(o.n);
    if (cr_srtp_global_init() != 0 || cr_dtls_cert_new(&cert) != 0 || cr_dtls_ctx_new(&ctx, cert) != 0) {
        fprintf(stderr, "loadgen: cannot set up DTLS/SRTP\n");
        return 1;
    }
    subs = calloc(o.n, sizeof(*subs));
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    if (subs == NULL || epfd < 0) {
        fprintf(stderr, "loadgen: out of memory\n");
        return 1;
    }
    for (unsigned i = 0; i < o.n; i++)
        subs[i].peer.fd = -1;
    int created = run(ctx, cr_dtls_cert_fingerprint(cert), epfd);
    int ok = created > 0;
    if (created < 0)
        created = -created;
    for (int i = 0; i < created; i++) {
        cr_bench_peer_close(&subs[i].peer, &url, o.delete);
        free(subs[i].twcc);
    }
    close(epfd);
    free(subs);
    free(tokens);
    free(token_buf);
    cr_dtls_ctx_free(ctx);
    cr_dtls_cert_free(cert);
    return ok ? 0 : 1;
}
