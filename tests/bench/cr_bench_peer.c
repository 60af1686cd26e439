#include "cr_bench_peer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cr_clock.h"
#include "cr_err.h"
#include "cr_sdp.h"
#include "cr_stun.h"

/* --- offer --- */

typedef struct out_buf {
    char *buf;
    size_t cap, len;
    int err;
} out_buf_t;

static void put(out_buf_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(out_buf_t *o, const char *fmt, ...)
{
    if (o->err)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len) {
        o->err = CR_ETOOBIG;
        return;
    }
    o->len += (size_t)n;
}

static void put_media(out_buf_t *o, const cr_bench_offer_params_t *p, int video)
{
    unsigned pt = video ? CR_BENCH_VIDEO_PT : CR_BENCH_AUDIO_PT;
    put(o, "m=%s 9 UDP/TLS/RTP/SAVPF %u\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n",
        video ? "video" : "audio", pt);
    put(o, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=fingerprint:%s\r\na=setup:active\r\n", p->ice_ufrag,
        p->ice_pwd, p->fingerprint);
    put(o, "a=mid:%d\r\na=%s\r\na=rtcp-mux\r\n", video, p->publisher ? "sendonly" : "recvonly");
    if (video) {
        put(o, "a=rtpmap:%u H264/90000\r\na=rtcp-fb:%u nack\r\na=rtcp-fb:%u nack pli\r\na=rtcp-fb:%u ccm fir\r\n",
            pt, pt, pt, pt);
        put(o, "a=fmtp:%u level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=%s\r\n", pt,
            p->profile_level_id);
    } else {
        put(o, "a=rtpmap:%u opus/48000/2\r\na=fmtp:%u minptime=10;useinbandfec=1\r\n", pt, pt);
    }
    /* draft-holmer-rmcat-transport-wide-cc-extensions-01 section 2.3: the extension, and its feedback. */
    if (p->twcc)
        put(o, "a=extmap:%d %s\r\na=rtcp-fb:%u transport-cc\r\n", CR_BENCH_TWCC_EXT_ID, CR_SDP_EXT_TWCC, pt);
    if (p->publisher) {
        uint32_t ssrc = video ? p->video_ssrc : p->audio_ssrc;
        put(o, "a=msid:bench bench-%s\r\na=ssrc:%u cname:%s\r\na=ssrc:%u msid:bench bench-%s\r\n",
            video ? "video" : "audio", ssrc, p->cname, ssrc, video ? "video" : "audio");
    }
}

int cr_bench_offer_write(char *buf, size_t cap, const cr_bench_offer_params_t *p)
{
    if (cap == 0 || p->ice_ufrag == NULL || p->ice_pwd == NULL || p->fingerprint == NULL ||
        p->profile_level_id == NULL || (p->publisher && p->cname == NULL))
        return CR_EINVAL;
    out_buf_t o = {.buf = buf, .cap = cap};
    uint64_t sess;
    if (cr_random_bytes(&sess, sizeof(sess)) != 0)
        return CR_EINVAL;
    put(&o, "v=0\r\no=- %llu 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n",
        (unsigned long long)(sess & 0x7fffffffffffffffull));
    put(&o, "a=group:BUNDLE 0 1\r\na=msid-semantic: WMS bench\r\n");
    put_media(&o, p, 0);
    put_media(&o, p, 1);
    if (o.err)
        return o.err;
    return (int)o.len;
}

/* --- peer --- */

int cr_bench_peer_open(cr_bench_peer_t *p, int rcvbuf)
{
    const char *token = p->token;
    memset(p, 0, sizeof(*p));
    p->token = token;
    p->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (p->fd < 0)
        return CR_EIO;
    if (rcvbuf > 0 && setsockopt(p->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) != 0)
        setsockopt(p->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    if (cr_random_token(p->ufrag, 8) != 0 || cr_random_token(p->pwd, 24) != 0 ||
        cr_random_bytes(&p->tiebreaker, sizeof(p->tiebreaker)) != 0) {
        close(p->fd);
        p->fd = -1;
        return CR_ECRYPTO;
    }
    p->state = CR_BENCH_PEER_IDLE;
    return 0;
}

static int copy_field(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n == 0 || n >= cap)
        return CR_EMALFORMED;
    memcpy(dst, src, n + 1);
    return 0;
}

/* Keeps the path of a Location (RFC 9110 section 10.2.2: absolute or relative reference). */
static void set_resource(cr_bench_peer_t *p, const char *loc, size_t len)
{
    p->resource[0] = '\0';
    if (loc == NULL)
        return;
    if (len > 7 && strncmp(loc, "http://", 7) == 0) {
        const char *slash = memchr(loc + 7, '/', len - 7);
        if (slash == NULL)
            return;
        len -= (size_t)(slash - loc);
        loc = slash;
    }
    if (len < sizeof(p->resource)) {
        memcpy(p->resource, loc, len);
        p->resource[len] = '\0';
    }
}

static int use_answer(cr_bench_peer_t *p, const cr_sdp_t *s)
{
    int idx = -1;
    for (unsigned i = 0; i < s->n_media; i++) {
        const cr_sdp_media_t *m = &s->media[i];
        if (m->port != 0 && idx < 0)
            idx = (int)i;
        if (m->n_ssrcs > 0 && (m->kind == CR_SDP_AUDIO || m->kind == CR_SDP_VIDEO))
            p->answer_ssrc[m->kind == CR_SDP_VIDEO] = m->ssrcs[0].ssrc;
        /* BUNDLE: one id per URI across the m-lines (RFC 8285 section 6), so the first one found. */
        if (m->port != 0 && p->twcc_ext_id == 0)
            p->twcc_ext_id = cr_sdp_ext_id(m, CR_SDP_EXT_TWCC);
    }
    if (idx < 0 || s->cand_port == 0)
        return CR_EMALFORMED;
    if (copy_field(p->remote_ufrag, sizeof(p->remote_ufrag), cr_sdp_ice_ufrag(s, (unsigned)idx)) != 0 ||
        copy_field(p->remote_pwd, sizeof(p->remote_pwd), cr_sdp_ice_pwd(s, (unsigned)idx)) != 0 ||
        copy_field(p->remote_fp, sizeof(p->remote_fp), cr_sdp_fingerprint(s, (unsigned)idx)) != 0)
        return CR_EMALFORMED;
    int n = snprintf(p->username, sizeof(p->username), "%s:%s", p->remote_ufrag, p->ufrag);
    if (n < 0 || (size_t)n >= sizeof(p->username))
        return CR_EMALFORMED;
    p->relay.sin_family = AF_INET;
    p->relay.sin_port = htons(s->cand_port);
    if (inet_pton(AF_INET, s->cand_ip, &p->relay.sin_addr) != 1)
        return CR_EMALFORMED;
    return 0;
}

int cr_bench_peer_negotiate(cr_bench_peer_t *p, const cr_bench_url_t *url, const char *offer, size_t len,
                            int timeout_ms, char *err, size_t errcap)
{
    static char rbuf[CR_BENCH_HTTP_MAX_RESPONSE + 1]; /* one thread per tool */
    cr_bench_http_resp_t resp;
    cr_bench_http_req_t req = {.method = "POST", .content_type = "application/sdp", .token = p->token,
                               .body = offer, .body_len = len};
    int r = cr_bench_http_request(url, &req, rbuf, sizeof(rbuf) - 1, timeout_ms, &resp);
    if (r != 0) {
        snprintf(err, errcap, "POST %s: %s (%s)", url->path, cr_strerror(r), strerror(errno));
        return r;
    }
    if (resp.status != 201) {
        snprintf(err, errcap, "POST %s: HTTP %d %.*s", url->path, resp.status,
                 (int)(resp.body_len > 300 ? 300 : resp.body_len), resp.body);
        return CR_ENEGOTIATE;
    }
    set_resource(p, resp.location, resp.location_len);
    cr_sdp_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return CR_ENOMEM;
    r = cr_sdp_parse(resp.body, resp.body_len, s);
    if (r == 0)
        r = use_answer(p, s);
    free(s);
    if (r != 0) {
        snprintf(err, errcap, "POST %s: unusable answer (%s)", url->path, cr_strerror(r));
        return CR_EMALFORMED;
    }
    if (connect(p->fd, (struct sockaddr *)&p->relay, sizeof(p->relay)) != 0) {
        snprintf(err, errcap, "connect to candidate: %s", strerror(errno));
        return CR_EIO;
    }
    return 0;
}

int cr_bench_peer_send(cr_bench_peer_t *p, const uint8_t *data, size_t len)
{
    return send(p->fd, data, len, 0) == (ssize_t)len ? 0 : CR_EIO;
}

static void send_binding(cr_bench_peer_t *p)
{
    uint8_t tid[12], buf[600];
    if (cr_random_bytes(tid, sizeof(tid)) != 0)
        return;
    cr_stun_request_t req = {.tid = tid,
                             .username = p->username,
                             .key = (const uint8_t *)p->remote_pwd,
                             .key_len = strlen(p->remote_pwd),
                             .priority = 0x6e7f00ff, /* host candidate, RFC 8445 section 5.1.2.1 */
                             .controlling = 1,
                             .tiebreaker = p->tiebreaker,
                             .use_candidate = 1};
    int n = cr_stun_write_binding_request(buf, sizeof(buf), &req);
    if (n > 0 && cr_bench_peer_send(p, buf, (size_t)n) == 0)
        p->stun_sent++;
}

static void dtls_flush(cr_bench_peer_t *p)
{
    uint8_t buf[2048];
    int n;
    while ((n = cr_dtls_output(p->dtls, buf, sizeof(buf))) > 0) {
        cr_bench_peer_send(p, buf, (size_t)n);
        p->dtls_out++;
    }
}

static void fail(cr_bench_peer_t *p, const char *why)
{
    p->state = CR_BENCH_PEER_FAILED;
    p->error = why;
}

int cr_bench_peer_start(cr_bench_peer_t *p, cr_dtls_ctx_t *ctx, uint64_t now_us)
{
    if (cr_dtls_new(&p->dtls, ctx, 0, p->remote_fp) != 0) {
        fail(p, "dtls_new");
        return CR_ECRYPTO;
    }
    p->state = CR_BENCH_PEER_ICE;
    p->started_us = now_us;
    p->next_stun_us = now_us + CR_BENCH_ICE_RETRY_US;
    send_binding(p);
    return 0;
}

static void on_stun(cr_bench_peer_t *p, const uint8_t *pkt, size_t len, uint64_t now_us)
{
    cr_stun_msg_t m;
    if (cr_stun_parse(pkt, len, &m) != 0 || m.type != CR_STUN_BINDING_SUCCESS ||
        cr_stun_check_integrity(pkt, len, &m, (const uint8_t *)p->remote_pwd, strlen(p->remote_pwd)) != 0) {
        p->stun_bad++;
        return;
    }
    p->stun_ok++;
    if (p->state != CR_BENCH_PEER_ICE)
        return;
    /* The relay knows our address now: start the handshake (we are the DTLS client, setup:active). */
    p->ice_done_us = now_us;
    p->state = CR_BENCH_PEER_DTLS;
    p->next_stun_us = now_us + CR_BENCH_CONSENT_US;
    if (cr_dtls_connect(p->dtls) != 0) {
        fail(p, "dtls_connect");
        return;
    }
    dtls_flush(p);
}

static void on_dtls(cr_bench_peer_t *p, const uint8_t *pkt, size_t len, uint64_t now_us)
{
    p->dtls_in++;
    if (p->state != CR_BENCH_PEER_DTLS) {
        if (p->dtls != NULL && p->state == CR_BENCH_PEER_CONNECTED) {
            cr_dtls_input(p->dtls, pkt, len); /* e.g. a retransmitted flight: answer it */
            dtls_flush(p);
        }
        return;
    }
    int st = cr_dtls_input(p->dtls, pkt, len);
    dtls_flush(p);
    if (st == CR_DTLS_FAILED || st == CR_DTLS_CLOSED) {
        fail(p, "dtls handshake failed");
        return;
    }
    if (st != CR_DTLS_CONNECTED)
        return;
    uint8_t lk[64], rk[64];
    if (cr_dtls_srtp_keys(p->dtls, &p->profile, lk, rk) != 0 || cr_srtp_new(&p->srtp, p->profile, lk, rk) != 0) {
        fail(p, "srtp keys");
        return;
    }
    memset(lk, 0, sizeof(lk));
    memset(rk, 0, sizeof(rk));
    p->state = CR_BENCH_PEER_CONNECTED;
    p->connected_us = now_us;
}

enum cr_bench_input cr_bench_peer_input(cr_bench_peer_t *p, const uint8_t *pkt, size_t len, uint64_t now_us)
{
    if (len == 0)
        return CR_BENCH_IN_OTHER;
    uint8_t b = pkt[0]; /* RFC 7983 section 7 */
    if (b >= 128 && b <= 191) {
        if (len >= 2 && pkt[1] >= 192 && pkt[1] <= 223)
            return CR_BENCH_IN_RTCP;
        return CR_BENCH_IN_RTP;
    }
    if (b <= 3)
        on_stun(p, pkt, len, now_us);
    else if (b >= 20 && b <= 63)
        on_dtls(p, pkt, len, now_us);
    else
        return CR_BENCH_IN_OTHER;
    return CR_BENCH_IN_DONE;
}

void cr_bench_peer_tick(cr_bench_peer_t *p, uint64_t now_us)
{
    if (p->state == CR_BENCH_PEER_IDLE || p->state == CR_BENCH_PEER_FAILED)
        return;
    if (p->state != CR_BENCH_PEER_CONNECTED && now_us - p->started_us > CR_BENCH_CONNECT_TIMEOUT_US) {
        fail(p, p->state == CR_BENCH_PEER_ICE ? "ICE timeout" : "DTLS timeout");
        return;
    }
    if (now_us >= p->next_stun_us) {
        send_binding(p);
        /* Consent checks are spread over 0.8..1.2 of the interval (RFC 7675 section 5.1). */
        uint64_t base = p->state == CR_BENCH_PEER_ICE ? CR_BENCH_ICE_RETRY_US : CR_BENCH_CONSENT_US;
        uint64_t jitter = p->state == CR_BENCH_PEER_ICE ? 0 : (uint64_t)(rand() % 1000) * base / 2500;
        p->next_stun_us = now_us + base * 4 / 5 + jitter;
    }
    if (p->state == CR_BENCH_PEER_DTLS) {
        uint64_t t = cr_dtls_next_timeout_us(p->dtls, now_us);
        if (t != 0 && t <= now_us) {
            if (cr_dtls_handle_timeout(p->dtls, now_us) == CR_DTLS_FAILED)
                fail(p, "DTLS timeout");
            else
                dtls_flush(p);
        }
    }
}

int cr_bench_peer_send_rtcp(cr_bench_peer_t *p, uint8_t *buf, size_t len, size_t cap)
{
    if (p->srtp == NULL)
        return CR_ESTATE;
    int err = cr_srtp_protect_rtcp(p->srtp, buf, &len, cap);
    if (err != 0)
        return err;
    return cr_bench_peer_send(p, buf, len);
}

void cr_bench_peer_close(cr_bench_peer_t *p, const cr_bench_url_t *url, int delete)
{
    if (delete && url != NULL && p->resource[0] != '\0') {
        char buf[4096];
        cr_bench_http_resp_t resp;
        cr_bench_http_req_t req = {.method = "DELETE", .path = p->resource, .token = p->token};
        cr_bench_http_request(url, &req, buf, sizeof(buf), 2000, &resp);
    }
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
    cr_dtls_free(p->dtls);
    cr_srtp_free(p->srtp);
    p->dtls = NULL;
    p->srtp = NULL;
    p->resource[0] = '\0';
}
