/*
 * SDP writer (RFC 8866) for the relay's answers, in the layout browsers produce themselves (JSEP,
 * RFC 8829 section 5.3): session attributes, then per m-line transport, direction, codec, header
 * extensions, simulcast, sources and the relay's one host candidate.
 *
 * Fields are read with their array size as bound, so a struct whose strings lack a NUL is written
 * short rather than overrun.
 */
#include "cr_sdp.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cr_err.h"

typedef struct out {
    char *buf;
    size_t cap;
    size_t len; /* < cap while err is 0, so buf stays NUL-terminated */
    int err;
} out_t;

/* A fixed-size char array as "%.*s" arguments. */
#define FLD(a) (int)strnlen((a), sizeof(a)), (a)

static void put(out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(out_t *o, const char *fmt, ...)
{
    if (o->err != 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len) {
        o->err = CR_ETOOBIG;
        o->buf[o->len] = '\0';
        return;
    }
    o->len += (size_t)n;
}

static const char *kind_name(enum cr_sdp_kind k)
{
    switch (k) {
    case CR_SDP_AUDIO:
        return "audio";
    case CR_SDP_VIDEO:
        return "video";
    case CR_SDP_APPLICATION:
        return "application";
    default:
        return "unknown"; /* the original media token is not kept */
    }
}

static const char *dir_name(enum cr_sdp_dir d)
{
    static const char *const names[] = {"sendrecv", "sendonly", "recvonly", "inactive"};
    return (unsigned)d < 4 ? names[d] : "inactive";
}

static const char *setup_name(enum cr_sdp_setup s)
{
    switch (s) {
    case CR_SDP_SETUP_ACTPASS:
        return "actpass";
    case CR_SDP_SETUP_ACTIVE:
        return "active";
    case CR_SDP_SETUP_PASSIVE:
        return "passive";
    default:
        return NULL;
    }
}

/* ICE and DTLS attributes, shared by session and media level (RFC 8839, RFC 8842). */
static void write_transport(out_t *o, const char *ufrag, size_t ufrag_cap, const char *pwd,
                            size_t pwd_cap, const char *fp, size_t fp_cap, enum cr_sdp_setup setup)
{
    if (ufrag[0] != '\0')
        put(o, "a=ice-ufrag:%.*s\r\n", (int)strnlen(ufrag, ufrag_cap), ufrag);
    if (pwd[0] != '\0')
        put(o, "a=ice-pwd:%.*s\r\n", (int)strnlen(pwd, pwd_cap), pwd);
    if (fp[0] != '\0')
        put(o, "a=fingerprint:%.*s\r\n", (int)strnlen(fp, fp_cap), fp);
    if (setup_name(setup) != NULL)
        put(o, "a=setup:%s\r\n", setup_name(setup));
}

static void write_session(out_t *o, const cr_sdp_t *s)
{
    put(o, "v=0\r\no=- %llu %llu IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n",
        (unsigned long long)s->sess_id, (unsigned long long)s->sess_version);
    if (s->ice_lite)
        put(o, "a=ice-lite\r\n");
    write_transport(o, s->ice_ufrag, sizeof(s->ice_ufrag), s->ice_pwd, sizeof(s->ice_pwd),
                    s->fingerprint, sizeof(s->fingerprint), s->setup);
    unsigned n_bundle = s->n_bundle < CR_SDP_MAX_MEDIA ? s->n_bundle : CR_SDP_MAX_MEDIA;
    if (n_bundle > 0) {
        put(o, "a=group:BUNDLE");
        for (unsigned i = 0; i < n_bundle; i++)
            put(o, " %.*s", FLD(s->bundle[i]));
        put(o, "\r\n");
    }
    /* RFC 8830 section 3: msid applies to every m-line; the relay uses no stream list. */
    put(o, "a=msid-semantic: WMS *\r\n");
}

static void write_fb(out_t *o, unsigned pt, uint8_t fb)
{
    static const struct {
        uint8_t bit;
        const char *text;
    } fbs[] = {
        {CR_SDP_FB_NACK, "nack"},        {CR_SDP_FB_PLI, "nack pli"},
        {CR_SDP_FB_FIR, "ccm fir"},      {CR_SDP_FB_REMB, "goog-remb"},
        {CR_SDP_FB_TWCC, "transport-cc"},
    };
    for (size_t i = 0; i < sizeof(fbs) / sizeof(fbs[0]); i++)
        if (fb & fbs[i].bit)
            put(o, "a=rtcp-fb:%u %s\r\n", pt, fbs[i].text);
}

/* rtpmap, rtcp-fb and fmtp of each codec that has a name; bare payload types get none. */
static void write_codecs(out_t *o, const cr_sdp_media_t *m, unsigned n_codecs)
{
    for (unsigned i = 0; i < n_codecs; i++) {
        const cr_sdp_codec_t *c = &m->codecs[i];
        if (c->name[0] == '\0')
            continue;
        put(o, "a=rtpmap:%u %.*s/%u", c->pt, FLD(c->name), c->clock_rate);
        if (c->channels != 0)
            put(o, "/%u", c->channels);
        put(o, "\r\n");
        write_fb(o, c->pt, c->fb);
        if (c->fmtp[0] != '\0')
            put(o, "a=fmtp:%u %.*s\r\n", c->pt, FLD(c->fmtp));
    }
}

/* a=rid and a=simulcast (RFC 8851, RFC 8853): the list follows the rids' own direction. */
static void write_rids(out_t *o, const cr_sdp_media_t *m)
{
    unsigned n_rids = m->n_rids < CR_SDP_MAX_RIDS ? m->n_rids : CR_SDP_MAX_RIDS;
    for (unsigned i = 0; i < n_rids; i++)
        put(o, "a=rid:%.*s %s\r\n", FLD(m->rids[i].id), m->rids[i].send ? "send" : "recv");
    if (!m->simulcast || n_rids == 0)
        return;
    put(o, "a=simulcast:%s ", m->rids[0].send ? "send" : "recv");
    for (unsigned i = 0; i < n_rids; i++)
        put(o, "%s%.*s", i ? ";" : "", FLD(m->rids[i].id));
    put(o, "\r\n");
}

static void write_sources(out_t *o, const cr_sdp_media_t *m)
{
    if (m->msid[0] != '\0')
        put(o, "a=msid:%.*s\r\n", FLD(m->msid));
    unsigned n_fid = m->n_fid < CR_SDP_MAX_SSRCS ? m->n_fid : CR_SDP_MAX_SSRCS;
    for (unsigned i = 0; i < n_fid; i++)
        put(o, "a=ssrc-group:FID %u %u\r\n", m->fid[i][0], m->fid[i][1]);
    unsigned n_ssrcs = m->n_ssrcs < CR_SDP_MAX_SSRCS ? m->n_ssrcs : CR_SDP_MAX_SSRCS;
    for (unsigned i = 0; i < n_ssrcs; i++) {
        if (m->ssrcs[i].cname[0] != '\0')
            put(o, "a=ssrc:%u cname:%.*s\r\n", m->ssrcs[i].ssrc, FLD(m->ssrcs[i].cname));
        else
            put(o, "a=ssrc:%u\r\n", m->ssrcs[i].ssrc);
    }
}

static void write_mline(out_t *o, const cr_sdp_media_t *m, unsigned n_codecs)
{
    put(o, "m=%s %u %.*s", kind_name(m->kind), m->port, FLD(m->proto));
    for (unsigned i = 0; i < n_codecs; i++)
        put(o, " %u", m->codecs[i].pt);
    /* Every m-line needs a format; a non-RTP one (data channel, RFC 8841) names its protocol. */
    if (n_codecs == 0)
        put(o, " %s", strstr(m->proto, "RTP/") ? "0" : "webrtc-datachannel");
    put(o, "\r\n");
}

static void write_media(out_t *o, const cr_sdp_t *s, const cr_sdp_media_t *m)
{
    unsigned n_codecs = m->n_codecs < CR_SDP_MAX_CODECS ? m->n_codecs : CR_SDP_MAX_CODECS;
    write_mline(o, m, n_codecs);
    if (m->port == 0) {
        /* A rejected m-line carries its mid and nothing else (RFC 8829 section 5.3.1). */
        if (m->mid[0] != '\0')
            put(o, "a=mid:%.*s\r\n", FLD(m->mid));
        if (m->ice_ufrag[0] != '\0') /* for webrtcbin, see cr_sdp_answer.c */
            write_transport(o, m->ice_ufrag, sizeof(m->ice_ufrag), m->ice_pwd, sizeof(m->ice_pwd),
                            m->fingerprint, sizeof(m->fingerprint), m->setup);
        put(o, "a=%s\r\n", dir_name(m->dir));
        return;
    }
    put(o, "c=IN IP4 0.0.0.0\r\n");
    if (m->mid[0] != '\0')
        put(o, "a=mid:%.*s\r\n", FLD(m->mid));
    write_transport(o, m->ice_ufrag, sizeof(m->ice_ufrag), m->ice_pwd, sizeof(m->ice_pwd),
                    m->fingerprint, sizeof(m->fingerprint), m->setup);
    if (m->rtcp_mux)
        put(o, "a=rtcp-mux\r\n");
    if (m->rtcp_rsize)
        put(o, "a=rtcp-rsize\r\n");
    put(o, "a=%s\r\n", dir_name(m->dir));
    write_codecs(o, m, n_codecs);
    unsigned n_exts = m->n_exts < CR_SDP_MAX_EXTS ? m->n_exts : CR_SDP_MAX_EXTS;
    for (unsigned i = 0; i < n_exts; i++)
        put(o, "a=extmap:%u %.*s\r\n", m->exts[i].id, FLD(m->exts[i].uri));
    write_rids(o, m);
    write_sources(o, m);
    if (s->cand_ip[0] != '\0') {
        /* One host candidate, highest type preference (RFC 8445 section 5.1.2.1), then done. */
        put(o, "a=candidate:1 1 udp 2130706431 %.*s %u typ host\r\n", FLD(s->cand_ip),
            s->cand_port);
        put(o, "a=end-of-candidates\r\n");
    }
}

int cr_sdp_write(const cr_sdp_t *s, char *buf, size_t cap)
{
    if (s == NULL || buf == NULL)
        return CR_EINVAL;
    if (cap == 0)
        return CR_ETOOBIG;
    /* The result is returned as int; CR_SDP_MAX_SIZE is far below INT_MAX anyway. */
    out_t o = {.buf = buf, .cap = cap < (size_t)INT32_MAX ? cap : (size_t)INT32_MAX};
    buf[0] = '\0';
    write_session(&o, s);
    unsigned n_media = s->n_media < CR_SDP_MAX_MEDIA ? s->n_media : CR_SDP_MAX_MEDIA;
    for (unsigned i = 0; i < n_media; i++)
        write_media(&o, s, &s->media[i]);
    return o.err != 0 ? o.err : (int)o.len;
}
