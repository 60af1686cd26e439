/*
 * cr_synthpub: a synthetic WHIP publisher for the fan-out benchmark (tests/bench/fanout).
 *
 *   cr_synthpub --url http://127.0.0.1:8080/whip/CLASS --video FILE.h264 [--audio FILE.opus]
 *               [--fps 30] [--seconds S] [--pace-factor F] [--mtu BYTES] [--no-stamp] [--token T]
 *
 * Sends a real pre-encoded stream, made once by GStreamer (tests/bench/gen_media.sh): H.264 from an
 * Annex-B file, packetized here per RFC 6184 (single NAL unit packets and FU-A, packetization-mode 1),
 * one access unit per 1/fps; and Opus from an Ogg file, one packet per 20 ms (RFC 7587). Both files
 * loop. Video leaves through a pacer at F times the stream's mean bitrate (default 2.5, as libwebrtc's
 * pacer; 0 sends each frame as one burst); audio is not paced. Before the first slice of each frame a
 * stamp SEI carries the wall-clock time at which it is sent (cr_bench_stamp_write), from which the load
 * generator measures latency. A PLI or FIR from the relay makes the next frame the next IDR of the file
 * (what an encoder's forced keyframe looks like to a receiver). Sender reports every second.
 *
 * stdout: "connected" once the DTLS handshake is done, then one key=value line at exit (SIGTERM,
 * SIGINT or --seconds elapsed).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "cr_bench_h264.h"
#include "cr_bench_ogg.h"
#include "cr_bench_peer.h"
#include "cr_clock.h"
#include "cr_err.h"
#include "cr_rtcp.h"
#include "cr_rtp.h"

#define MAX_FILE (512u << 20)
#define MAX_NALS 4000000
#define PKT_CAP 1600
#define QUEUE_CAP 4096 /* paced video packets waiting; a 1080p keyframe is well under 200 */
#define TICK_US 10000u
#define SR_US 1000000u
#define OPUS_FRAME_US 20000u
#define OPUS_FRAME_TS 960u

typedef struct qpkt {
    uint16_t len;
    uint8_t stamp; /* write the send time into the SEI at send time */
    uint8_t data[PKT_CAP];
} qpkt_t;

typedef struct stream_stats {
    uint32_t ssrc, ts_base, last_ts, clock_rate;
    uint16_t seq;
    uint64_t packets, octets;
} stream_stats_t;

static struct {
    const char *url, *video, *audio, *token;
    double fps, seconds, pace_factor;
    unsigned mtu;
    int stamp;
} o = {.fps = 30, .pace_factor = 2.5, .mtu = 1200, .stamp = 1};

static volatile sig_atomic_t stop_flag;
static cr_bench_peer_t peer;
static cr_bench_h264_t h264;
static uint8_t *opus_buf;
static size_t *opus_off, n_opus;
static stream_stats_t vs, as;
static qpkt_t *queue;
static size_t q_head, q_len, q_max;
static uint64_t frames, stamps, plis, kf_jumps, queue_overflow, send_errors;
static int kf_request;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static uint64_t real_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint8_t *read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size <= 0 || (uint64_t)st.st_size > MAX_FILE) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    uint8_t *buf = malloc((size_t)st.st_size);
    size_t n = 0;
    while (buf != NULL && n < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
        if (r <= 0) {
            free(buf);
            buf = NULL;
        } else {
            n += (size_t)r;
        }
    }
    close(fd);
    *len = n;
    return buf;
}

/* Loads every Opus audio packet of an Ogg file into one buffer (header packets skipped). */
static int load_opus(const char *path)
{
    size_t len, cap = 0;
    uint8_t *file = read_file(path, &len), pkt[CR_BENCH_OGG_MAX_PACKET];
    if (file == NULL)
        return -1;
    cr_bench_ogg_t og;
    size_t plen, total = 0;
    for (int pass = 0; pass < 2; pass++) {
        cr_bench_ogg_init(&og, file, len);
        n_opus = total = 0;
        int r;
        while ((r = cr_bench_ogg_next(&og, pkt, sizeof(pkt), &plen)) == 1) {
            if (cr_bench_opus_is_header(pkt, plen) || plen == 0 || plen > 1275)
                continue;
            if (pass == 1) {
                memcpy(opus_buf + total, pkt, plen);
                opus_off[n_opus] = total;
            }
            total += plen;
            n_opus++;
        }
        if (r < 0 || n_opus == 0)
            break;
        if (pass == 0) {
            cap = n_opus;
            opus_buf = malloc(total);
            opus_off = malloc((cap + 1) * sizeof(size_t));
            if (opus_buf == NULL || opus_off == NULL)
                break;
        }
    }
    free(file);
    if (opus_off == NULL || n_opus == 0 || n_opus != cap)
        return -1;
    opus_off[n_opus] = total;
    return 0;
}

/* --- sending --- */

static void send_rtp(stream_stats_t *s, uint8_t *pkt, size_t len, int stamp)
{
    if (stamp) {
        cr_bench_stamp_write(pkt + CR_RTP_HDR_MIN, PKT_CAP - CR_RTP_HDR_MIN, real_now_us());
        stamps++;
    }
    size_t plen = len;
    if (cr_srtp_protect(peer.srtp, pkt, &plen, PKT_CAP) != 0 || cr_bench_peer_send(&peer, pkt, plen) != 0) {
        send_errors++;
        return;
    }
    s->packets++;
    s->octets += len - CR_RTP_HDR_MIN;
}

static void enqueue(const uint8_t *payload, size_t len, int marker, uint32_t ts, int stamp)
{
    if (q_len == QUEUE_CAP) {
        queue_overflow++;
        return;
    }
    qpkt_t *q = &queue[(q_head + q_len++) % QUEUE_CAP];
    cr_rtp_write_header(q->data, sizeof(q->data), CR_BENCH_VIDEO_PT, marker, vs.seq++, ts, vs.ssrc);
    memcpy(q->data + CR_RTP_HDR_MIN, payload, len);
    q->len = (uint16_t)(CR_RTP_HDR_MIN + len);
    q->stamp = (uint8_t)stamp;
    if (q_len > q_max)
        q_max = q_len;
}

/* Packetizes access unit au as frame number f (RFC 6184; access unit delimiters are not sent). */
static void queue_frame(const cr_bench_au_t *au, uint64_t f)
{
    uint32_t ts = vs.ts_base + (uint32_t)(f * 90000u / (uint64_t)o.fps);
    uint8_t payload[PKT_CAP], stamp[CR_BENCH_STAMP_LEN];
    size_t max_payload = o.mtu - CR_RTP_HDR_MIN;
    int stamped = !o.stamp;
    uint32_t last_nal = au->first_nal + au->n_nals - 1;
    while (last_nal > au->first_nal && cr_bench_nal_type(h264.nals[last_nal].data[0]) == 9)
        last_nal--;
    vs.last_ts = ts;
    for (uint32_t i = au->first_nal; i <= last_nal; i++) {
        const cr_bench_nal_t *nal = &h264.nals[i];
        unsigned t = cr_bench_nal_type(nal->data[0]);
        if (t == 9)
            continue;
        if (!stamped && t >= 1 && t <= 5) {
            cr_bench_stamp_write(stamp, sizeof(stamp), 0); /* rewritten when it leaves the pacer */
            enqueue(stamp, sizeof(stamp), 0, ts, 1);
            stamped = 1;
        }
        cr_bench_fua_t it;
        int last, n;
        cr_bench_fua_init(&it, nal->data, nal->len, max_payload);
        while ((n = cr_bench_fua_next(&it, payload, sizeof(payload), &last)) > 0)
            enqueue(payload, (size_t)n, last && i == last_nal, ts, 0);
    }
}

static void send_audio(uint64_t a)
{
    uint8_t pkt[PKT_CAP];
    size_t k = a % n_opus, len = opus_off[k + 1] - opus_off[k];
    as.last_ts = as.ts_base + (uint32_t)(a * OPUS_FRAME_TS);
    cr_rtp_write_header(pkt, sizeof(pkt), CR_BENCH_AUDIO_PT, a == 0, as.seq++, as.last_ts, as.ssrc);
    memcpy(pkt + CR_RTP_HDR_MIN, opus_buf + opus_off[k], len);
    send_rtp(&as, pkt, CR_RTP_HDR_MIN + len, 0);
}

/* Token bucket: sends queued packets while the budget allows; returns when the next one is due. */
static uint64_t pace(uint64_t now, double bytes_per_us, double *tokens, uint64_t *last_us)
{
    double burst = bytes_per_us * 2000.0; /* at most 2 ms of the pacing rate at once */
    if (burst < 2.0 * o.mtu)
        burst = 2.0 * o.mtu;
    *tokens += (double)(now - *last_us) * bytes_per_us;
    if (*tokens > burst)
        *tokens = burst;
    *last_us = now;
    while (q_len > 0) {
        qpkt_t *q = &queue[q_head];
        if (bytes_per_us > 0 && *tokens < q->len)
            return now + (uint64_t)((q->len - *tokens) / bytes_per_us) + 1;
        uint8_t pkt[PKT_CAP + CR_SRTP_MAX_TRAILER];
        memcpy(pkt, q->data, q->len);
        send_rtp(&vs, pkt, q->len, q->stamp);
        *tokens -= q->len;
        q_head = (q_head + 1) % QUEUE_CAP;
        q_len--;
    }
    return UINT64_MAX;
}

static void send_sr(stream_stats_t *s, uint64_t since_us)
{
    uint8_t buf[PKT_CAP];
    cr_rtcp_sr_t sr = {.ssrc = s->ssrc,
                       .ntp = cr_ntp_now(),
                       .rtp_ts = s->last_ts + (uint32_t)(since_us * s->clock_rate / 1000000u),
                       .packet_count = (uint32_t)s->packets,
                       .octet_count = (uint32_t)s->octets};
    int r = cr_rtcp_write_sr(buf, sizeof(buf), &sr);
    if (r < 0)
        return;
    int r2 = cr_rtcp_write_sdes_cname(buf + r, sizeof(buf) - (size_t)r, s->ssrc, "bench-synthpub");
    if (r2 > 0)
        cr_bench_peer_send_rtcp(&peer, buf, (size_t)(r + r2), sizeof(buf));
}

static void on_rtcp(uint8_t *pkt, size_t len)
{
    if (cr_srtp_unprotect_rtcp(peer.srtp, pkt, &len) != 0)
        return;
    const uint8_t *src = pkt;
    cr_rtcp_pkt_t r;
    while (cr_rtcp_next(&src, pkt + len, &r) == 1) {
        if (r.type == CR_RTCP_PSFB && (r.count == CR_RTCP_PSFB_PLI || r.count == CR_RTCP_PSFB_FIR)) {
            plis++;
            kf_request = 1;
        }
    }
}

static void drain(uint64_t now)
{
    uint8_t buf[2048];
    ssize_t n;
    while ((n = recv(peer.fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
        int was = peer.state;
        if (cr_bench_peer_input(&peer, buf, (size_t)n, now) == CR_BENCH_IN_RTCP && peer.srtp != NULL)
            on_rtcp(buf, (size_t)n);
        if (was != CR_BENCH_PEER_CONNECTED && peer.state == CR_BENCH_PEER_CONNECTED) {
            printf("connected\n");
            fflush(stdout);
        }
    }
}

static void arm(int tfd, uint64_t at_us)
{
    struct itimerspec its = {0};
    uint64_t now = cr_now_us();
    if (at_us <= now)
        at_us = now + 1;
    uint64_t d = at_us - now;
    its.it_value.tv_sec = (time_t)(d / 1000000u);
    its.it_value.tv_nsec = (long)(d % 1000000u) * 1000L;
    timerfd_settime(tfd, 0, &its, NULL);
}

/* The main loop: frames and audio on their clocks, the pacer, timers. Returns elapsed media time. */
static uint64_t loop(int epfd, int tfd, double video_bytes_per_s)
{
    uint64_t start = 0, f = 0, a = 0, au = 0, next_tick = 0, next_sr = 0, pace_at = UINT64_MAX, last_pace = 0;
    double tokens = 0, rate = o.pace_factor > 0 ? o.pace_factor * video_bytes_per_s / 1e6 : 0;
    struct epoll_event evs[4];
    while (!stop_flag) {
        uint64_t now = cr_now_us();
        if (now >= next_tick) {
            cr_bench_peer_tick(&peer, now);
            next_tick = now + TICK_US;
            if (peer.state == CR_BENCH_PEER_FAILED) {
                fprintf(stderr, "synthpub: %s\n", peer.error ? peer.error : "failed");
                return 0;
            }
        }
        if (peer.state == CR_BENCH_PEER_CONNECTED) {
            if (start == 0)
                start = last_pace = next_sr = now;
            if (o.seconds > 0 && now - start >= (uint64_t)(o.seconds * 1e6))
                break;
            while (now >= start + (uint64_t)((double)f * 1e6 / o.fps)) {
                if (kf_request) {
                    uint64_t j = au;
                    while (!h264.aus[j % h264.n_aus].is_idr && j < au + h264.n_aus)
                        j++;
                    kf_jumps += j != au;
                    au = j;
                    kf_request = 0;
                }
                queue_frame(&h264.aus[au++ % h264.n_aus], f++);
                frames++;
                pace_at = 0;
            }
            while (n_opus > 0 && now >= start + a * OPUS_FRAME_US)
                send_audio(a++);
            if (now >= pace_at)
                pace_at = pace(now, rate, &tokens, &last_pace);
            if (now >= next_sr) {
                send_sr(&vs, now - start - (uint64_t)((double)(f - 1) * 1e6 / o.fps));
                if (n_opus > 0)
                    send_sr(&as, now - start - (a - 1) * OPUS_FRAME_US);
                next_sr = now + SR_US;
            }
            uint64_t next = next_tick;
            uint64_t nf = start + (uint64_t)((double)f * 1e6 / o.fps), na = start + a * OPUS_FRAME_US;
            next = nf < next ? nf : next;
            next = n_opus > 0 && na < next ? na : next;
            next = pace_at < next ? pace_at : next;
            arm(tfd, next);
        } else {
            arm(tfd, next_tick);
        }
        int n = epoll_wait(epfd, evs, 4, 100);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.fd == tfd) {
                uint64_t exp;
                ssize_t r = read(tfd, &exp, sizeof(exp));
                (void)r;
            } else {
                drain(cr_now_us());
            }
        }
    }
    return start ? cr_now_us() - start : 0;
}

static int parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (strcmp(a, "--no-stamp") == 0) {
            o.stamp = 0;
            continue;
        }
        if (v == NULL)
            return -1;
        i++;
        errno = 0;
        if (strcmp(a, "--url") == 0)
            o.url = v;
        else if (strcmp(a, "--video") == 0)
            o.video = v;
        else if (strcmp(a, "--token") == 0)
            o.token = v;
        else if (strcmp(a, "--audio") == 0)
            o.audio = v;
        else if (strcmp(a, "--fps") == 0)
            o.fps = strtod(v, &end);
        else if (strcmp(a, "--seconds") == 0)
            o.seconds = strtod(v, &end);
        else if (strcmp(a, "--pace-factor") == 0)
            o.pace_factor = strtod(v, &end);
        else if (strcmp(a, "--mtu") == 0)
            o.mtu = (unsigned)strtoul(v, &end, 10);
        else
            return -1;
        if (end != NULL && (*end != '\0' || end == v || errno != 0))
            return -1;
    }
    if (o.url == NULL || o.video == NULL || o.fps <= 0 || o.fps > 240 || o.mtu < 200 || o.mtu > 1400 ||
        o.pace_factor < 0)
        return -1;
    return 0;
}

/* Mean bytes per second of the video file at o.fps (NAL units as sent, without start codes). */
static double video_rate(void)
{
    uint64_t bytes = 0;
    for (size_t i = 0; i < h264.n_nals; i++)
        bytes += h264.nals[i].len;
    return (double)bytes * o.fps / (double)h264.n_aus;
}

static int setup(cr_dtls_cert_t **cert, cr_dtls_ctx_t **ctx, cr_bench_url_t *url)
{
    size_t vlen;
    uint8_t *vbuf = read_file(o.video, &vlen);
    if (vbuf == NULL || cr_bench_h264_index(vbuf, vlen, MAX_NALS, &h264) != 0 || h264.n_idr == 0) {
        fprintf(stderr, "synthpub: cannot use %s as an H.264 Annex-B stream with an IDR\n", o.video);
        return -1;
    }
    if (o.audio != NULL && load_opus(o.audio) != 0) {
        fprintf(stderr, "synthpub: cannot read Opus packets from %s\n", o.audio);
        return -1;
    }
    queue = calloc(QUEUE_CAP, sizeof(*queue));
    if (queue == NULL || cr_bench_url_parse(o.url, url) != 0 || cr_srtp_global_init() != 0 ||
        cr_dtls_cert_new(cert) != 0 || cr_dtls_ctx_new(ctx, *cert) != 0)
        return -1;
    peer.token = o.token;
    if (cr_bench_peer_open(&peer, 0) != 0)
        return -1;
    uint8_t rnd[20];
    if (cr_random_bytes(rnd, sizeof(rnd)) != 0)
        return -1;
    memcpy(&vs.ssrc, rnd, 4);
    memcpy(&as.ssrc, rnd + 4, 4);
    memcpy(&vs.ts_base, rnd + 8, 4);
    memcpy(&as.ts_base, rnd + 12, 4);
    memcpy(&vs.seq, rnd + 16, 2);
    memcpy(&as.seq, rnd + 18, 2);
    vs.clock_rate = 90000;
    as.clock_rate = 48000;
    return 0;
}

int main(int argc, char **argv)
{
    cr_dtls_cert_t *cert = NULL;
    cr_dtls_ctx_t *ctx = NULL;
    cr_bench_url_t url;
    char offer[8192], plid[8], err[512];
    if (parse_args(argc, argv) != 0) {
        fprintf(stderr, "usage: cr_synthpub --url http://HOST:PORT/whip/CLASS --video FILE.h264 [--audio FILE.opus]\n"
                        "  [--fps 30] [--seconds S] [--pace-factor 2.5] [--mtu 1200] [--no-stamp] [--token T]\n");
        return 2;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    if (setup(&cert, &ctx, &url) != 0)
        return 1;
    snprintf(plid, sizeof(plid), "%02x%02x%02x", h264.profile_level_id[0], h264.profile_level_id[1],
             h264.profile_level_id[2]);
    cr_bench_offer_params_t op = {.publisher = 1, .ice_ufrag = peer.ufrag, .ice_pwd = peer.pwd,
                                  .fingerprint = cr_dtls_cert_fingerprint(cert), .audio_ssrc = as.ssrc,
                                  .video_ssrc = vs.ssrc, .cname = "bench-synthpub",
                                  .profile_level_id = h264.have_sps ? plid : "42e01f"};
    int len = cr_bench_offer_write(offer, sizeof(offer), &op);
    if (len < 0 || cr_bench_peer_negotiate(&peer, &url, offer, (size_t)len, 5000, err, sizeof(err)) != 0) {
        fprintf(stderr, "synthpub: %s\n", len < 0 ? "offer too big" : err);
        return 1;
    }
    int epfd = epoll_create1(EPOLL_CLOEXEC), tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    struct epoll_event e1 = {.events = EPOLLIN, .data.fd = peer.fd}, e2 = {.events = EPOLLIN, .data.fd = tfd};
    if (epfd < 0 || tfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, peer.fd, &e1) != 0 ||
        epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &e2) != 0 || cr_bench_peer_start(&peer, ctx, cr_now_us()) != 0)
        return 1;
    double rate = video_rate();
    fprintf(stderr, "synthpub: %zu frames (%zu IDR), %.0f kbit/s video, %zu opus packets, pacing %.1fx\n",
            h264.n_aus, h264.n_idr, rate * 8 / 1000, n_opus, o.pace_factor);
    uint64_t elapsed = loop(epfd, tfd, rate);
    double secs = (double)elapsed / 1e6;
    printf("frames=%llu video_packets=%llu audio_packets=%llu video_kbps=%.0f audio_kbps=%.0f stamps=%llu"
           " keyframe_requests=%llu keyframe_jumps=%llu pacer_max_queue=%zu pacer_overflow=%llu send_errors=%llu\n",
           (unsigned long long)frames, (unsigned long long)vs.packets, (unsigned long long)as.packets,
           secs > 0 ? (double)vs.octets * 8 / secs / 1000 : 0.0, secs > 0 ? (double)as.octets * 8 / secs / 1000 : 0.0,
           (unsigned long long)stamps, (unsigned long long)plis, (unsigned long long)kf_jumps, q_max,
           (unsigned long long)queue_overflow, (unsigned long long)send_errors);
    fflush(stdout);
    cr_bench_peer_close(&peer, &url, 1);
    cr_bench_h264_dispose(&h264);
    close(tfd);
    close(epfd);
    cr_dtls_ctx_free(ctx);
    cr_dtls_cert_free(cert);
    return elapsed > 0 ? 0 : 1;
}
