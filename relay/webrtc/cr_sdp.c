/*
 * SDP parser (RFC 8866) for the offers WebRTC endpoints send (JSEP, RFC 8829).
 *
 * The text is walked line by line as views into the input; only values the relay needs are copied,
 * each into a fixed field whose size is checked first. Every count a peer controls is capped by the
 * limits in cr_sdp.h. Attributes the relay does not use are skipped, but a known attribute with a
 * value that cannot be what its RFC says makes the whole description malformed: guessing at a
 * half-understood offer would only move the failure to the media path, where it is harder to see.
 */
#include "cr_sdp.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "cr_err.h"

/* A view of bytes in the input; never NUL-terminated. */
typedef struct sv {
    const char *p;
    size_t n;
} sv_t;

typedef struct parse_state {
    cr_sdp_t *s;
    cr_sdp_media_t *m;       /* current m-line, NULL at session level */
    enum cr_sdp_dir sess_dir; /* RFC 8866 section 6.7: a session-level direction is the default */
    bool have_bundle;
} parse_state_t;

static bool sv_eq(sv_t v, const char *lit)
{
    size_t n = strlen(lit);
    return v.n == n && memcmp(v.p, lit, n) == 0;
}

static bool sv_ieq(sv_t v, const char *lit)
{
    size_t n = strlen(lit);
    return v.n == n && strncasecmp(v.p, lit, n) == 0;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

static sv_t sv_trim(sv_t v)
{
    while (v.n > 0 && is_space(v.p[0])) {
        v.p++;
        v.n--;
    }
    while (v.n > 0 && is_space(v.p[v.n - 1]))
        v.n--;
    return v;
}

/* Returns the part of *rest before the first sep and leaves *rest after it (empty if none). */
static sv_t sv_next(sv_t *rest, char sep)
{
    const char *hit = memchr(rest->p, sep, rest->n);
    sv_t head = {rest->p, hit ? (size_t)(hit - rest->p) : rest->n};
    rest->p += hit ? head.n + 1 : head.n;
    rest->n -= hit ? head.n + 1 : head.n;
    return head;
}

/* The next space-separated word of *rest; empty when none is left. */
static sv_t sv_word(sv_t *rest)
{
    *rest = sv_trim(*rest);
    sv_t w = {rest->p, 0};
    while (w.n < rest->n && !is_space(rest->p[w.n]))
        w.n++;
    rest->p += w.n;
    rest->n -= w.n;
    return w;
}

/* A decimal number of at most 20 digits and at most max; anything else is malformed. */
static int sv_u64(sv_t v, uint64_t max, uint64_t *out)
{
    uint64_t x = 0;
    if (v.n == 0 || v.n > 20)
        return CR_EMALFORMED;
    for (size_t i = 0; i < v.n; i++) {
        unsigned d = (unsigned char)v.p[i] - '0';
        if (d > 9 || x > (UINT64_MAX - d) / 10)
            return CR_EMALFORMED;
        x = x * 10 + d;
    }
    if (x > max)
        return CR_EMALFORMED;
    *out = x;
    return 0;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* profile-level-id is exactly three bytes in hex (RFC 6184 section 8.1). */
static int sv_hex24(sv_t v, uint32_t *out)
{
    uint32_t x = 0;
    if (v.n != 6)
        return CR_EMALFORMED;
    for (size_t i = 0; i < 6; i++) {
        int d = hex_digit(v.p[i]);
        if (d < 0)
            return CR_EMALFORMED;
        x = (x << 4) | (uint32_t)d;
    }
    *out = x;
    return 0;
}

/*
 * Copies v into dst[cap], NUL-padded to the end so that a field overwritten by a later line holds
 * nothing of the earlier value. A value that does not fit is an error, never truncated.
 */
static int sv_copy(char *dst, size_t cap, sv_t v)
{
    if (v.n >= cap)
        return CR_ETOOBIG;
    memcpy(dst, v.p, v.n);
    memset(dst + v.n, 0, cap - v.n);
    return 0;
}

/* As sv_copy() for a token (mid, ufrag, codec name): non-empty and without spaces. */
static int sv_copy_token(char *dst, size_t cap, sv_t v)
{
    if (v.n == 0 || memchr(v.p, ' ', v.n) != NULL || memchr(v.p, '\t', v.n) != NULL)
        return CR_EMALFORMED;
    return sv_copy(dst, cap, v);
}

static cr_sdp_codec_t *find_codec(cr_sdp_media_t *m, uint64_t pt)
{
    for (unsigned i = 0; i < m->n_codecs; i++)
        if (m->codecs[i].pt == pt)
            return &m->codecs[i];
    return NULL;
}

/* Payload type at the start of an rtpmap/fmtp/rtcp-fb value: 0..127 (RFC 3550 section 5.1). */
static int take_pt(sv_t *v, uint64_t *pt)
{
    return sv_u64(sv_word(v), 127, pt);
}

/* a=rtpmap:<pt> <name>/<clock rate>[/<channels>] (RFC 8866 section 6.6) */
static int attr_rtpmap(parse_state_t *st, sv_t v)
{
    uint64_t pt, rate, ch = 0;
    if (take_pt(&v, &pt) != 0)
        return CR_EMALFORMED;
    sv_t enc = sv_trim(v);
    sv_t name = sv_next(&enc, '/');
    sv_t rate_v = sv_next(&enc, '/');
    if (name.n == 0 || sv_u64(rate_v, UINT32_MAX, &rate) != 0 || rate == 0)
        return CR_EMALFORMED;
    if (enc.n > 0 && (sv_u64(enc, 255, &ch) != 0 || ch == 0))
        return CR_EMALFORMED;
    cr_sdp_codec_t *c = find_codec(st->m, pt);
    if (c == NULL)
        return 0; /* a format the m-line does not list is not offered */
    int err = sv_copy_token(c->name, sizeof(c->name), name);
    if (err != 0)
        return err;
    c->clock_rate = (uint32_t)rate;
    c->channels = (uint8_t)ch;
    return 0;
}

/* The fmtp parameters the relay acts on: rtx apt (RFC 4588), H.264 (RFC 6184 section 8.1). */
static int parse_fmtp_params(cr_sdp_codec_t *c, sv_t params)
{
    while (params.n > 0) {
        sv_t kv = sv_next(&params, ';');
        sv_t key = sv_trim(sv_next(&kv, '='));
        sv_t val = sv_trim(kv);
        uint64_t x;
        if (sv_ieq(key, "apt")) {
            if (sv_u64(val, 127, &x) != 0)
                return CR_EMALFORMED;
            c->has_apt = 1;
            c->apt = (uint8_t)x;
        } else if (sv_ieq(key, "packetization-mode")) {
            if (sv_u64(val, 2, &x) != 0)
                return CR_EMALFORMED;
            c->h264_pmode = (uint8_t)x;
        } else if (sv_ieq(key, "profile-level-id")) {
            if (sv_hex24(val, &c->h264_profile_level_id) != 0)
                return CR_EMALFORMED;
        }
    }
    return 0;
}

/* a=fmtp:<pt> <parameters> (RFC 8866 section 6.15) */
static int attr_fmtp(parse_state_t *st, sv_t v)
{
    uint64_t pt;
    if (take_pt(&v, &pt) != 0)
        return CR_EMALFORMED;
    sv_t params = sv_trim(v);
    cr_sdp_codec_t *c = find_codec(st->m, pt);
    if (c == NULL)
        return 0;
    int err = sv_copy(c->fmtp, sizeof(c->fmtp), params);
    if (err != 0)
        return err;
    /* A repeated fmtp line replaces the earlier one, parsed values included. */
    c->has_apt = 0;
    c->apt = 0;
    c->h264_pmode = 0;
    c->h264_profile_level_id = 0;
    return parse_fmtp_params(c, params);
}

/* a=rtcp-fb:<pt|*> <type> [<subtype>] (RFC 4585 section 4.2, RFC 5104 section 7.1) */
static int attr_rtcp_fb(parse_state_t *st, sv_t v)
{
    sv_t pt_v = sv_word(&v), type = sv_word(&v), sub = sv_word(&v);
    uint8_t bit = 0;
    if (sv_eq(type, "nack"))
        bit = sub.n == 0 ? CR_SDP_FB_NACK : sv_eq(sub, "pli") ? CR_SDP_FB_PLI : 0;
    else if (sv_eq(type, "ccm") && sv_eq(sub, "fir"))
        bit = CR_SDP_FB_FIR;
    else if (sv_eq(type, "goog-remb"))
        bit = CR_SDP_FB_REMB;
    else if (sv_eq(type, "transport-cc"))
        bit = CR_SDP_FB_TWCC;
    if (sv_eq(pt_v, "*")) {
        for (unsigned i = 0; i < st->m->n_codecs; i++)
            st->m->codecs[i].fb |= bit;
        return 0;
    }
    uint64_t pt;
    if (sv_u64(pt_v, 127, &pt) != 0)
        return CR_EMALFORMED;
    cr_sdp_codec_t *c = find_codec(st->m, pt);
    if (c != NULL)
        c->fb |= bit;
    return 0;
}

/* a=extmap:<id>[/<direction>] <uri> [<attributes>] (RFC 8285 section 8) */
static int attr_extmap(parse_state_t *st, sv_t v)
{
    sv_t id_dir = sv_word(&v), uri = sv_word(&v);
    sv_t id_v = sv_next(&id_dir, '/');
    uint64_t id;
    /* Ids 1-14 fit the one-byte form, up to 255 the two-byte form; 0 is never valid. */
    if (sv_u64(id_v, 255, &id) != 0 || id == 0 || uri.n == 0)
        return CR_EMALFORMED;
    cr_sdp_media_t *m = st->m;
    /* Section 5: an id names one extension; two meanings for one id cannot be answered. */
    for (unsigned i = 0; i < m->n_exts; i++)
        if (m->exts[i].id == id)
            return CR_EMALFORMED;
    if (m->n_exts >= CR_SDP_MAX_EXTS)
        return CR_ETOOBIG;
    int err = sv_copy(m->exts[m->n_exts].uri, sizeof(m->exts[0].uri), uri);
    if (err != 0)
        return err;
    m->exts[m->n_exts++].id = (uint8_t)id;
    return 0;
}

static cr_sdp_ssrc_t *find_or_add_ssrc(cr_sdp_media_t *m, uint32_t ssrc)
{
    for (unsigned i = 0; i < m->n_ssrcs; i++)
        if (m->ssrcs[i].ssrc == ssrc)
            return &m->ssrcs[i];
    if (m->n_ssrcs >= CR_SDP_MAX_SSRCS)
        return NULL;
    cr_sdp_ssrc_t *e = &m->ssrcs[m->n_ssrcs++];
    e->ssrc = ssrc;
    return e;
}

/* a=ssrc:<ssrc> <attribute>[:<value>] (RFC 5576 section 4.1); only cname is kept. */
static int attr_ssrc(parse_state_t *st, sv_t v)
{
    uint64_t ssrc;
    if (sv_u64(sv_word(&v), UINT32_MAX, &ssrc) != 0)
        return CR_EMALFORMED;
    cr_sdp_ssrc_t *e = find_or_add_ssrc(st->m, (uint32_t)ssrc);
    if (e == NULL)
        return CR_ETOOBIG;
    sv_t rest = sv_trim(v);
    sv_t name = sv_next(&rest, ':');
    return sv_eq(name, "cname") ? sv_copy(e->cname, sizeof(e->cname), rest) : 0;
}

/* a=ssrc-group:FID <media ssrc> <rtx ssrc> (RFC 5576 section 4.2, RFC 4588 section 8.2) */
static int attr_ssrc_group(parse_state_t *st, sv_t v)
{
    if (!sv_eq(sv_word(&v), "FID"))
        return 0;
    uint64_t a, b;
    if (sv_u64(sv_word(&v), UINT32_MAX, &a) != 0 || sv_u64(sv_word(&v), UINT32_MAX, &b) != 0 ||
        sv_word(&v).n != 0)
        return CR_EMALFORMED;
    cr_sdp_media_t *m = st->m;
    if (m->n_fid >= CR_SDP_MAX_SSRCS)
        return CR_ETOOBIG;
    m->fid[m->n_fid][0] = (uint32_t)a;
    m->fid[m->n_fid][1] = (uint32_t)b;
    m->n_fid++;
    return 0;
}

/* rid-id = 1*(alpha-numeric / "-" / "_") (RFC 8851 section 10); it is later written into lists. */
static bool is_rid_id(sv_t id)
{
    if (id.n == 0)
        return false;
    for (size_t i = 0; i < id.n; i++) {
        char c = id.p[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
        if (!ok)
            return false;
    }
    return true;
}

/* a=rid:<id> send|recv [<restrictions>] (RFC 8851 section 10) */
static int attr_rid(parse_state_t *st, sv_t v)
{
    sv_t id = sv_word(&v), dir = sv_word(&v);
    cr_sdp_media_t *m = st->m;
    if (!is_rid_id(id) || !(sv_eq(dir, "send") || sv_eq(dir, "recv")))
        return CR_EMALFORMED;
    for (unsigned i = 0; i < m->n_rids; i++)
        if (sv_eq(id, m->rids[i].id))
            return CR_EMALFORMED; /* section 4: a rid-id is unique within its m-line */
    if (m->n_rids >= CR_SDP_MAX_RIDS)
        return CR_ETOOBIG;
    int err = sv_copy(m->rids[m->n_rids].id, sizeof(m->rids[0].id), id);
    if (err != 0)
        return err;
    m->rids[m->n_rids++].send = sv_eq(dir, "send");
    return 0;
}

static int attr_simulcast(parse_state_t *st, sv_t v)
{
    st->m->simulcast = 1;
    return 0;
}

static int attr_msid(parse_state_t *st, sv_t v)
{
    return sv_copy(st->m->msid, sizeof(st->m->msid), sv_trim(v));
}

static int attr_mid(parse_state_t *st, sv_t v)
{
    return sv_copy_token(st->m->mid, sizeof(st->m->mid), sv_trim(v));
}

static int attr_rtcp_mux(parse_state_t *st, sv_t v)
{
    st->m->rtcp_mux = 1;
    return 0;
}

static int attr_rtcp_rsize(parse_state_t *st, sv_t v)
{
    st->m->rtcp_rsize = 1;
    return 0;
}

static int set_dir(parse_state_t *st, enum cr_sdp_dir d)
{
    if (st->m != NULL)
        st->m->dir = d;
    else
        st->sess_dir = d;
    return 0;
}

static int attr_sendrecv(parse_state_t *st, sv_t v)
{
    return set_dir(st, CR_SDP_SENDRECV);
}

static int attr_sendonly(parse_state_t *st, sv_t v)
{
    return set_dir(st, CR_SDP_SENDONLY);
}

static int attr_recvonly(parse_state_t *st, sv_t v)
{
    return set_dir(st, CR_SDP_RECVONLY);
}

static int attr_inactive(parse_state_t *st, sv_t v)
{
    return set_dir(st, CR_SDP_INACTIVE);
}

/* a=ice-ufrag / a=ice-pwd (RFC 8839 section 5.4): 4-256 and 22-256 ice-chars, no spaces. */
static int attr_ice_ufrag(parse_state_t *st, sv_t v)
{
    char *dst = st->m ? st->m->ice_ufrag : st->s->ice_ufrag;
    return sv_copy_token(dst, sizeof(st->s->ice_ufrag), sv_trim(v));
}

static int attr_ice_pwd(parse_state_t *st, sv_t v)
{
    char *dst = st->m ? st->m->ice_pwd : st->s->ice_pwd;
    return sv_copy_token(dst, sizeof(st->s->ice_pwd), sv_trim(v));
}

/* a=fingerprint:<hash> <hex> (RFC 8122 section 5). Several may be given; the first is used. */
static int attr_fingerprint(parse_state_t *st, sv_t v)
{
    char *dst = st->m ? st->m->fingerprint : st->s->fingerprint;
    sv_t fp = sv_trim(v);
    if (fp.n == 0 || memchr(fp.p, ' ', fp.n) == NULL)
        return CR_EMALFORMED;
    if (fp.n >= sizeof(st->s->fingerprint))
        return CR_ETOOBIG;
    return dst[0] != '\0' ? 0 : sv_copy(dst, sizeof(st->s->fingerprint), fp);
}

/* a=setup (RFC 4145 section 4); holdconn means no connection, which is NONE here. */
static int attr_setup(parse_state_t *st, sv_t v)
{
    enum cr_sdp_setup *dst = st->m ? &st->m->setup : &st->s->setup;
    v = sv_trim(v);
    if (sv_eq(v, "actpass"))
        *dst = CR_SDP_SETUP_ACTPASS;
    else if (sv_eq(v, "active"))
        *dst = CR_SDP_SETUP_ACTIVE;
    else if (sv_eq(v, "passive"))
        *dst = CR_SDP_SETUP_PASSIVE;
    else if (sv_eq(v, "holdconn"))
        *dst = CR_SDP_SETUP_NONE;
    else
        return CR_EMALFORMED;
    return 0;
}

static int attr_ice_lite(parse_state_t *st, sv_t v)
{
    st->s->ice_lite = 1;
    return 0;
}

/* a=group:BUNDLE <mid>... (RFC 8843 section 7.1); JSEP uses one group, later ones are ignored. */
static int attr_group(parse_state_t *st, sv_t v)
{
    cr_sdp_t *s = st->s;
    if (!sv_eq(sv_word(&v), "BUNDLE") || st->have_bundle)
        return 0;
    st->have_bundle = true;
    for (sv_t mid = sv_word(&v); mid.n > 0; mid = sv_word(&v)) {
        if (s->n_bundle >= CR_SDP_MAX_MEDIA)
            return CR_ETOOBIG;
        int err = sv_copy(s->bundle[s->n_bundle], sizeof(s->bundle[0]), mid);
        if (err != 0)
            return err;
        s->n_bundle++;
    }
    return 0;
}

/*
 * a=candidate (RFC 8839 section 5.1). The relay learns peer addresses from STUN, so candidates are
 * only read to fill cand_ip/cand_port from the first UDP component-1 candidate, which lets a written
 * answer parse back to what was written. Candidates in any other shape are skipped.
 */
static int attr_candidate(parse_state_t *st, sv_t v)
{
    cr_sdp_t *s = st->s;
    if (s->cand_ip[0] != '\0')
        return 0;
    sv_t foundation = sv_word(&v), comp = sv_word(&v), transport = sv_word(&v);
    sv_t prio = sv_word(&v), addr = sv_word(&v), port_v = sv_word(&v), typ = sv_word(&v);
    uint64_t port;
    if (foundation.n == 0 || prio.n == 0 || addr.n == 0 || !sv_eq(comp, "1") ||
        !sv_ieq(transport, "udp") || !sv_eq(typ, "typ") || sv_u64(port_v, 65535, &port) != 0)
        return 0;
    int err = sv_copy(s->cand_ip, sizeof(s->cand_ip), addr);
    if (err == 0)
        s->cand_port = (uint16_t)port;
    return err;
}

enum { AT_SESSION = 1, AT_MEDIA = 2, AT_BOTH = 3 };

typedef int (*attr_fn)(parse_state_t *st, sv_t value);

/* The attributes the relay reads and where they may appear; all others are ignored. */
static const struct attr_handler {
    const char *name;
    uint8_t scope;
    attr_fn fn;
} attr_handlers[] = {
    {"rtpmap", AT_MEDIA, attr_rtpmap},
    {"fmtp", AT_MEDIA, attr_fmtp},
    {"rtcp-fb", AT_MEDIA, attr_rtcp_fb},
    {"extmap", AT_MEDIA, attr_extmap},
    {"ssrc", AT_MEDIA, attr_ssrc},
    {"ssrc-group", AT_MEDIA, attr_ssrc_group},
    {"rid", AT_MEDIA, attr_rid},
    {"simulcast", AT_MEDIA, attr_simulcast},
    {"msid", AT_MEDIA, attr_msid},
    {"mid", AT_MEDIA, attr_mid},
    {"rtcp-mux", AT_MEDIA, attr_rtcp_mux},
    {"rtcp-rsize", AT_MEDIA, attr_rtcp_rsize},
    {"candidate", AT_MEDIA, attr_candidate},
    {"sendrecv", AT_BOTH, attr_sendrecv},
    {"sendonly", AT_BOTH, attr_sendonly},
    {"recvonly", AT_BOTH, attr_recvonly},
    {"inactive", AT_BOTH, attr_inactive},
    {"ice-ufrag", AT_BOTH, attr_ice_ufrag},
    {"ice-pwd", AT_BOTH, attr_ice_pwd},
    {"fingerprint", AT_BOTH, attr_fingerprint},
    {"setup", AT_BOTH, attr_setup},
    {"ice-lite", AT_SESSION, attr_ice_lite},
    {"group", AT_SESSION, attr_group},
};

static int parse_attr(parse_state_t *st, sv_t v)
{
    sv_t name = sv_next(&v, ':');
    uint8_t scope = st->m ? AT_MEDIA : AT_SESSION;
    for (size_t i = 0; i < sizeof(attr_handlers) / sizeof(attr_handlers[0]); i++) {
        const struct attr_handler *h = &attr_handlers[i];
        if (sv_eq(name, h->name))
            return (h->scope & scope) ? h->fn(st, v) : 0;
    }
    return 0;
}

/* m=<media> <port>[/<count>] <proto> <fmt>... (RFC 8866 section 5.14) */
static int parse_fmts(cr_sdp_media_t *m, sv_t v)
{
    bool rtp = strstr(m->proto, "RTP/") != NULL;
    unsigned n_fmts = 0;
    for (sv_t f = sv_word(&v); f.n > 0; f = sv_word(&v), n_fmts++) {
        if (!rtp)
            continue; /* e.g. "webrtc-datachannel": not a payload type */
        uint64_t pt;
        if (sv_u64(f, 127, &pt) != 0 || find_codec(m, pt) != NULL)
            return CR_EMALFORMED;
        if (m->n_codecs >= CR_SDP_MAX_CODECS)
            return CR_ETOOBIG;
        m->codecs[m->n_codecs++].pt = (uint8_t)pt;
    }
    return n_fmts > 0 ? 0 : CR_EMALFORMED;
}

static enum cr_sdp_kind kind_of(sv_t v)
{
    if (sv_eq(v, "audio"))
        return CR_SDP_AUDIO;
    if (sv_eq(v, "video"))
        return CR_SDP_VIDEO;
    if (sv_eq(v, "application"))
        return CR_SDP_APPLICATION;
    return CR_SDP_OTHER;
}

static int parse_mline(parse_state_t *st, sv_t v)
{
    cr_sdp_t *s = st->s;
    if (s->n_media >= CR_SDP_MAX_MEDIA)
        return CR_ETOOBIG;
    cr_sdp_media_t *m = &s->media[s->n_media];
    sv_t kind = sv_word(&v), port_count = sv_word(&v), proto = sv_word(&v);
    sv_t port_v = sv_next(&port_count, '/');
    uint64_t port, count;
    if (kind.n == 0 || sv_u64(port_v, 65535, &port) != 0)
        return CR_EMALFORMED;
    if (port_count.n > 0 && sv_u64(port_count, 65535, &count) != 0)
        return CR_EMALFORMED;
    int err = sv_copy_token(m->proto, sizeof(m->proto), proto);
    if (err != 0)
        return err;
    m->kind = kind_of(kind);
    m->port = (uint16_t)port;
    m->dir = st->sess_dir;
    err = parse_fmts(m, v);
    if (err != 0)
        return err;
    s->n_media++;
    st->m = m;
    return 0;
}

/* o=<username> <sess-id> <sess-version> ...: kept when numeric, as RFC 8866 section 5.2 asks. */
static int parse_origin(cr_sdp_t *s, sv_t v)
{
    (void)sv_word(&v);
    sv_t id = sv_word(&v), ver = sv_word(&v);
    if (sv_u64(id, UINT64_MAX, &s->sess_id) != 0)
        s->sess_id = 0;
    if (sv_u64(ver, UINT64_MAX, &s->sess_version) != 0)
        s->sess_version = 0;
    return 0;
}

static int parse_line(parse_state_t *st, sv_t line, bool *have_v)
{
    /* Control characters have no place in SDP and would survive into a written answer. */
    for (size_t i = 0; i < line.n; i++) {
        unsigned char c = (unsigned char)line.p[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return CR_EMALFORMED;
    }
    if (line.n < 2 || line.p[1] != '=')
        return CR_EMALFORMED;
    sv_t val = {line.p + 2, line.n - 2};
    /* RFC 8866 section 5: the description starts with v=0, and it occurs only once. */
    if (!*have_v || line.p[0] == 'v') {
        if (*have_v || line.p[0] != 'v' || !sv_eq(val, "0"))
            return CR_EMALFORMED;
        *have_v = true;
        return 0;
    }
    switch (line.p[0]) {
    case 'o':
        return st->m == NULL ? parse_origin(st->s, val) : 0;
    case 'm':
        return parse_mline(st, val);
    case 'a':
        return parse_attr(st, val);
    default:
        return 0; /* s=, t=, c=, b=, ... carry nothing the relay uses */
    }
}

/* Mids name m-lines in BUNDLE and in the RTP mid extension, so they must be unique (RFC 5888). */
static int check_mids(const cr_sdp_t *s)
{
    for (unsigned i = 0; i < s->n_media; i++)
        for (unsigned j = i + 1; j < s->n_media; j++)
            if (s->media[i].mid[0] != '\0' && strcmp(s->media[i].mid, s->media[j].mid) == 0)
                return CR_EMALFORMED;
    return 0;
}

int cr_sdp_parse(const char *text, size_t len, cr_sdp_t *out)
{
    if (text == NULL || out == NULL)
        return CR_EINVAL;
    memset(out, 0, sizeof(*out));
    if (len > CR_SDP_MAX_SIZE)
        return CR_ETOOBIG;
    parse_state_t st = {.s = out, .m = NULL, .sess_dir = CR_SDP_SENDRECV};
    bool have_v = false;
    unsigned n_lines = 0;
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        sv_t line = {text + pos, end - pos};
        pos = nl ? end + 1 : len;
        if (++n_lines > CR_SDP_MAX_LINES)
            return CR_ETOOBIG;
        if (line.n > 0 && line.p[line.n - 1] == '\r')
            line.n--;
        if (line.n > CR_SDP_MAX_LINE)
            return CR_ETOOBIG;
        if (line.n == 0)
            continue;
        int err = parse_line(&st, line, &have_v);
        if (err != 0)
            return err;
    }
    return have_v ? check_mids(out) : CR_EMALFORMED;
}

const char *cr_sdp_ice_ufrag(const cr_sdp_t *s, unsigned i)
{
    return i < s->n_media && s->media[i].ice_ufrag[0] ? s->media[i].ice_ufrag : s->ice_ufrag;
}

const char *cr_sdp_ice_pwd(const cr_sdp_t *s, unsigned i)
{
    return i < s->n_media && s->media[i].ice_pwd[0] ? s->media[i].ice_pwd : s->ice_pwd;
}

const char *cr_sdp_fingerprint(const cr_sdp_t *s, unsigned i)
{
    return i < s->n_media && s->media[i].fingerprint[0] ? s->media[i].fingerprint
                                                        : s->fingerprint;
}

enum cr_sdp_setup cr_sdp_setup_of(const cr_sdp_t *s, unsigned i)
{
    return i < s->n_media && s->media[i].setup != CR_SDP_SETUP_NONE ? s->media[i].setup : s->setup;
}

uint8_t cr_sdp_ext_id(const cr_sdp_media_t *m, const char *uri)
{
    for (unsigned i = 0; i < m->n_exts && i < CR_SDP_MAX_EXTS; i++)
        if (strcmp(m->exts[i].uri, uri) == 0)
            return m->exts[i].id;
    return 0;
}
