/*
 * SDP tests: parsing real offers (Chrome, Firefox, OBS, webrtcbin), negotiating publisher and
 * subscriber answers from them, writing and re-parsing answers, and malformed or oversized input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cr_err.h"
#include "cr_sdp.h"
#include "test_sdp_samples.h"

#define RELAY_FP "sha-256 0F:1E:2D:3C:4B:5A:69:78:87:96:A5:B4:C3:D2:E1:F0:0F:1E:2D:3C:4B:5A:69:78:87:96:A5:B4:C3:D2:E1:F0"

typedef struct fixture {
    cr_sdp_t offer;
    cr_sdp_t answer;
    cr_sdp_t reparsed;
    char text[CR_SDP_MAX_SIZE];
} fixture_t;

static int setup(void **state)
{
    *state = calloc(1, sizeof(fixture_t));
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

static int parse_str(const char *text, cr_sdp_t *out)
{
    return cr_sdp_parse(text, strlen(text), out);
}

/* Returns a heap copy of src with the first occurrence of from replaced by to. */
static char *replace(const char *src, const char *from, const char *to)
{
    const char *hit = strstr(src, from);
    assert_non_null(hit);
    size_t n = strlen(src) - strlen(from) + strlen(to);
    char *out = malloc(n + 1);
    assert_non_null(out);
    size_t head = (size_t)(hit - src);
    memcpy(out, src, head);
    memcpy(out + head, to, strlen(to));
    memcpy(out + head + strlen(to), hit + strlen(from), strlen(hit + strlen(from)) + 1);
    return out;
}

static int parse_replaced(const char *src, const char *from, const char *to, cr_sdp_t *out)
{
    char *text = replace(src, from, to);
    int err = parse_str(text, out);
    free(text);
    return err;
}

static const cr_sdp_codec_t *codec_by_pt(const cr_sdp_media_t *m, unsigned pt)
{
    for (unsigned i = 0; i < m->n_codecs; i++)
        if (m->codecs[i].pt == pt)
            return &m->codecs[i];
    return NULL;
}

static cr_sdp_answer_params_t params(enum cr_sdp_role role)
{
    cr_sdp_answer_params_t p = {
        .role = role,
        .ice_ufrag = "rLy7",
        .ice_pwd = "c2VjcmV0LXJlbGF5LXB3ZC0xMjM0",
        .fingerprint = RELAY_FP,
        .cand_ip = "203.0.113.10",
        .cand_port = 40000,
        .send_ssrc = {0x11111111, 0x22222222, 0x33333333},
        .cname = "classrelay",
        .stream_id = "class42",
    };
    return p;
}

static void test_parse_chrome_whip(void **state)
{
    fixture_t *f = *state;
    cr_sdp_t *s = &f->offer;
    assert_int_equal(parse_str(chrome_whip_sdp, s), 0);
    assert_true(s->sess_id == 4215775240449105457ull);
    assert_int_equal(s->sess_version, 2);
    assert_int_equal(s->ice_lite, 0);
    assert_int_equal(s->n_bundle, 2);
    assert_string_equal(s->bundle[0], "0");
    assert_string_equal(s->bundle[1], "1");
    assert_int_equal(s->n_media, 2);

    const cr_sdp_media_t *a = &s->media[0];
    assert_int_equal(a->kind, CR_SDP_AUDIO);
    assert_int_equal(a->port, 9);
    assert_string_equal(a->proto, "UDP/TLS/RTP/SAVPF");
    assert_string_equal(a->mid, "0");
    assert_int_equal(a->dir, CR_SDP_SENDONLY);
    assert_int_equal(a->rtcp_mux, 1);
    assert_int_equal(a->rtcp_rsize, 1);
    assert_int_equal(a->n_codecs, 8);
    assert_int_equal(a->codecs[0].pt, 111);
    assert_string_equal(a->codecs[0].name, "opus");
    assert_int_equal(a->codecs[0].clock_rate, 48000);
    assert_int_equal(a->codecs[0].channels, 2);
    assert_int_equal(a->codecs[0].fb, CR_SDP_FB_TWCC);
    assert_string_equal(a->codecs[0].fmtp, "minptime=10;useinbandfec=1");
    assert_string_equal(codec_by_pt(a, 63)->fmtp, "111/111");
    assert_int_equal(codec_by_pt(a, 0)->channels, 0);
    assert_int_equal(a->n_exts, 4);
    assert_int_equal(cr_sdp_ext_id(a, CR_SDP_EXT_MID), 4);
    assert_int_equal(cr_sdp_ext_id(a, CR_SDP_EXT_RID), 0);
    assert_int_equal(a->n_ssrcs, 1);
    assert_int_equal(a->ssrcs[0].ssrc, 3735928559u);
    assert_string_equal(a->ssrcs[0].cname, "q2f7Lr8sZ0cYbT4w");
    assert_string_equal(a->msid,
                        "3bd7c1b3-8a5b-4b4c-9c0e-2f7a3f0d6b41 0c2e8f0a-4a52-4f4f-8f57-2b0a0a6f9d13");
    assert_string_equal(cr_sdp_ice_ufrag(s, 0), "Kx3b");
    assert_string_equal(cr_sdp_ice_pwd(s, 0), "8vQW0dFh3yqXzR2u+PjL1nTs");
    assert_string_equal(cr_sdp_fingerprint(s, 0),
                        "sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:"
                        "24:C2:43:F0:A1:58:D0:A1:2C:19:08");
    assert_int_equal(cr_sdp_setup_of(s, 0), CR_SDP_SETUP_ACTPASS);

    const cr_sdp_media_t *v = &s->media[1];
    assert_int_equal(v->kind, CR_SDP_VIDEO);
    assert_int_equal(v->n_codecs, 25);
    const cr_sdp_codec_t *h = codec_by_pt(v, 106);
    assert_string_equal(h->name, "H264");
    assert_int_equal(h->h264_pmode, 1);
    assert_int_equal(h->h264_profile_level_id, 0x42e01f);
    assert_int_equal(h->fb, CR_SDP_FB_NACK | CR_SDP_FB_PLI | CR_SDP_FB_FIR | CR_SDP_FB_REMB |
                                CR_SDP_FB_TWCC);
    assert_int_equal(codec_by_pt(v, 108)->h264_pmode, 0);
    assert_int_equal(codec_by_pt(v, 112)->h264_profile_level_id, 0x64001f);
    const cr_sdp_codec_t *rtx = codec_by_pt(v, 107);
    assert_string_equal(rtx->name, "rtx");
    assert_int_equal(rtx->has_apt, 1);
    assert_int_equal(rtx->apt, 106);
    assert_string_equal(codec_by_pt(v, 118)->name, "ulpfec");
    assert_int_equal(v->n_exts, 11);
    assert_int_equal(cr_sdp_ext_id(v, CR_SDP_EXT_RID), 10);
    assert_int_equal(cr_sdp_ext_id(v, CR_SDP_EXT_RRID), 11);
    assert_int_equal(cr_sdp_ext_id(v, CR_SDP_EXT_ABS_SEND_TIME), 2);
    assert_int_equal(cr_sdp_ext_id(v, CR_SDP_EXT_TWCC), 3);
    assert_int_equal(v->n_rids, 3);
    assert_string_equal(v->rids[0].id, "h");
    assert_string_equal(v->rids[2].id, "l");
    assert_int_equal(v->rids[1].send, 1);
    assert_int_equal(v->simulcast, 1);
    assert_int_equal(v->n_ssrcs, 0);
}

static void test_parse_lf_line_ends(void **state)
{
    fixture_t *f = *state;
    size_t n = 0;
    for (const char *p = chrome_whip_sdp; *p; p++)
        if (*p != '\r')
            f->text[n++] = *p;
    /* Also without a final line end, and not NUL-terminated: the length bounds the parse. */
    f->text[n - 1] = 'X';
    assert_int_equal(cr_sdp_parse(f->text, n - 1, &f->reparsed), 0);
    assert_int_equal(parse_str(chrome_whip_sdp, &f->offer), 0);
    assert_memory_equal(&f->offer, &f->reparsed, sizeof(cr_sdp_t));
}

static void test_parse_firefox(void **state)
{
    fixture_t *f = *state;
    cr_sdp_t *s = &f->offer;
    assert_int_equal(parse_str(firefox_whip_sdp, s), 0);
    assert_true(s->sess_id == 6125389316447306093ull);
    assert_int_equal(s->n_media, 2);
    /* Firefox gives the fingerprint at session level and ICE credentials per m-line. */
    assert_string_equal(s->media[1].fingerprint, "");
    assert_string_equal(cr_sdp_fingerprint(s, 1), s->fingerprint);
    assert_int_equal(strncmp(s->fingerprint, "sha-256 35:0F:", 14), 0);
    assert_string_equal(cr_sdp_ice_ufrag(s, 1), "9f2c1d3e");
    assert_int_equal(s->media[0].dir, CR_SDP_SENDONLY);
    assert_int_equal(s->media[0].codecs[0].pt, 109);
    assert_string_equal(s->media[0].codecs[0].fmtp, "maxplaybackrate=48000;stereo=1;useinbandfec=1");
    assert_int_equal(codec_by_pt(&s->media[0], 9)->channels, 1);
    const cr_sdp_media_t *v = &s->media[1];
    assert_int_equal(v->n_codecs, 11);
    /* fmtp lines come before rtpmap lines in Firefox offers. */
    const cr_sdp_codec_t *h = codec_by_pt(v, 126);
    assert_string_equal(h->name, "H264");
    assert_int_equal(h->h264_pmode, 1);
    assert_int_equal(codec_by_pt(v, 97)->h264_pmode, 0);
    assert_int_equal(codec_by_pt(v, 119)->apt, 122);
    assert_int_equal(codec_by_pt(v, 122)->fb, CR_SDP_FB_NACK | CR_SDP_FB_PLI);
    assert_int_equal(cr_sdp_ext_id(v, CR_SDP_EXT_TWCC), 7);
    assert_int_equal(v->n_ssrcs, 2);
    assert_string_equal(v->ssrcs[1].cname, "{0a1b2c3d-4e5f-4789-abcd-ef0123456789}");
    assert_int_equal(v->n_fid, 1);
    assert_int_equal(v->fid[0][0], 1143260330u);
    assert_int_equal(v->fid[0][1], 3523469425u);
    assert_int_equal(v->rtcp_rsize, 1);
    assert_int_equal(s->media[0].rtcp_rsize, 0);
}

static void test_parse_obs(void **state)
{
    fixture_t *f = *state;
    cr_sdp_t *s = &f->offer;
    assert_int_equal(parse_str(obs_whip_sdp, s), 0);
    assert_true(s->sess_id == 2722457468ull);
    assert_int_equal(s->n_bundle, 2);
    /* libdatachannel writes ICE and DTLS parameters once, at session level. */
    assert_string_equal(s->ice_ufrag, "FGlw");
    assert_string_equal(s->media[0].ice_ufrag, "");
    assert_string_equal(cr_sdp_ice_ufrag(s, 1), "FGlw");
    assert_string_equal(cr_sdp_ice_pwd(s, 1), "oAH76dCMfc1QxRGS3PazRU");
    assert_int_equal(cr_sdp_setup_of(s, 1), CR_SDP_SETUP_ACTPASS);
    assert_int_equal(s->media[0].port, 61764);
    assert_int_equal(s->media[1].codecs[0].h264_profile_level_id, 0x42e01f);
    assert_int_equal(s->media[1].codecs[0].fb, CR_SDP_FB_NACK | CR_SDP_FB_PLI | CR_SDP_FB_REMB);
    assert_string_equal(s->media[1].msid, "XQOuBVeVKsGCDQOE XQOuBVeVKsGCDQOE-video");
    assert_string_equal(s->cand_ip, "192.168.1.23");
    assert_int_equal(s->cand_port, 61764);
}

static void test_parse_gst(void **state)
{
    fixture_t *f = *state;
    cr_sdp_t *s = &f->offer;
    assert_int_equal(parse_str(gst_whip_sdp, s), 0);
    assert_string_equal(s->bundle[0], "video0");
    assert_string_equal(s->media[0].mid, "video0");
    assert_string_equal(s->media[1].mid, "audio1");
    assert_string_equal(s->ice_ufrag, "");
    assert_string_equal(cr_sdp_ice_ufrag(s, 0), "sVpqBMvB8Sw0UHExzmK2lHhLBr2ZSPRd");
    assert_int_equal(s->media[0].codecs[0].fb,
                     CR_SDP_FB_NACK | CR_SDP_FB_PLI | CR_SDP_FB_FIR | CR_SDP_FB_TWCC);
    assert_int_equal(s->media[0].codecs[1].apt, 96);
    assert_int_equal(s->media[0].n_ssrcs, 2);
    assert_string_equal(s->media[0].ssrcs[0].cname, "user3224433585@host-4f3ba55a");
    assert_int_equal(s->media[0].n_fid, 1);
    assert_string_equal(s->media[1].codecs[0].name, "OPUS");

    assert_int_equal(parse_str(gst_whep_sdp, s), 0);
    assert_int_equal(s->media[0].dir, CR_SDP_RECVONLY);
    assert_int_equal(s->media[0].codecs[0].h264_profile_level_id, 0x42c01f);
    assert_string_equal(s->media[0].codecs[1].name, "VP8");
    assert_int_equal(s->media[1].n_ssrcs, 0);
}

/* Negotiates and writes; returns the text in f->text and re-parses it into f->reparsed. */
static void negotiate_and_write(fixture_t *f, const char *offer, enum cr_sdp_role role)
{
    cr_sdp_answer_params_t p = params(role);
    assert_int_equal(parse_str(offer, &f->offer), 0);
    assert_int_equal(cr_sdp_negotiate(&f->offer, &p, &f->answer), 0);
    int n = cr_sdp_write(&f->answer, f->text, sizeof(f->text));
    assert_true(n > 0);
    assert_int_equal(strlen(f->text), (size_t)n);
    assert_int_equal(cr_sdp_parse(f->text, (size_t)n, &f->reparsed), 0);
}

static void assert_has_line(const char *text, const char *line)
{
    char want[600];
    snprintf(want, sizeof(want), "\r\n%s\r\n", line);
    if (strstr(text, want) == NULL)
        fail_msg("missing line \"%s\" in:\n%s", line, text);
}

static void test_answer_chrome_publisher(void **state)
{
    fixture_t *f = *state;
    negotiate_and_write(f, chrome_whip_sdp, CR_SDP_ROLE_PUBLISHER);
    const cr_sdp_t *a = &f->answer;
    assert_int_equal(a->ice_lite, 1);
    assert_int_equal(a->n_bundle, 2);
    assert_int_equal(a->n_media, 2);
    assert_int_equal(a->media[0].codecs[0].pt, 111);
    assert_int_equal(a->media[0].n_codecs, 1);
    assert_int_equal(a->media[0].codecs[0].fb, 0);
    assert_int_equal(a->media[1].codecs[0].pt, 106);
    assert_int_equal(a->media[1].codecs[0].fb,
                     CR_SDP_FB_NACK | CR_SDP_FB_PLI | CR_SDP_FB_FIR | CR_SDP_FB_REMB);
    assert_string_equal(a->media[1].codecs[0].fmtp,
                        "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f");
    assert_int_equal(a->media[1].dir, CR_SDP_RECVONLY);
    assert_int_equal(a->media[1].setup, CR_SDP_SETUP_PASSIVE);
    assert_int_equal(a->media[1].rtcp_rsize, 1);
    /* Kept extensions, in offer order with offer ids: abs-send-time, mid, rid, rrid (no twcc). */
    assert_int_equal(a->media[1].n_exts, 4);
    assert_int_equal(cr_sdp_ext_id(&a->media[1], CR_SDP_EXT_TWCC), 0);
    assert_int_equal(a->media[1].exts[0].id, 2);
    assert_int_equal(cr_sdp_ext_id(&a->media[1], CR_SDP_EXT_RRID), 11);
    assert_int_equal(a->media[0].n_exts, 2);
    assert_int_equal(a->media[1].n_rids, 3);
    assert_int_equal(a->media[1].rids[0].send, 0);
    assert_int_equal(a->media[1].n_ssrcs, 0);

    const char *t = f->text;
    assert_int_equal(strncmp(t, "v=0\r\no=- ", 9), 0);
    assert_has_line(t, "s=-");
    assert_has_line(t, "t=0 0");
    assert_has_line(t, "a=ice-lite");
    assert_has_line(t, "a=group:BUNDLE 0 1");
    assert_has_line(t, "a=msid-semantic: WMS *");
    assert_has_line(t, "m=audio 40000 UDP/TLS/RTP/SAVPF 111");
    assert_has_line(t, "m=video 40000 UDP/TLS/RTP/SAVPF 106");
    assert_has_line(t, "c=IN IP4 0.0.0.0");
    assert_has_line(t, "a=ice-ufrag:rLy7");
    assert_has_line(t, "a=ice-pwd:c2VjcmV0LXJlbGF5LXB3ZC0xMjM0");
    assert_has_line(t, "a=fingerprint:" RELAY_FP);
    assert_has_line(t, "a=setup:passive");
    assert_has_line(t, "a=rtcp-mux");
    assert_has_line(t, "a=rtcp-rsize");
    assert_has_line(t, "a=recvonly");
    assert_has_line(t, "a=rtpmap:106 H264/90000");
    assert_has_line(t, "a=rtcp-fb:106 nack pli");
    assert_has_line(t, "a=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f");
    assert_has_line(t, "a=rtpmap:111 opus/48000/2");
    assert_has_line(t, "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id");
    assert_has_line(t, "a=rid:h recv");
    assert_has_line(t, "a=rid:l recv");
    assert_has_line(t, "a=simulcast:recv h;m;l");
    assert_has_line(t, "a=candidate:1 1 udp 2130706431 203.0.113.10 40000 typ host");
    assert_has_line(t, "a=end-of-candidates");
    assert_null(strstr(t, "toffset"));
    assert_null(strstr(t, "rtx"));
    assert_null(strstr(t, "a=rtcp-fb:106 transport-cc"));
}

static void test_answer_rejects_datachannel(void **state)
{
    fixture_t *f = *state;
    char *with_app = replace(chrome_whip_sdp, "a=group:BUNDLE 0 1\r\n", "a=group:BUNDLE 0 1 2\r\n");
    size_t n = strlen(with_app);
    const char app[] = "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
                       "c=IN IP4 0.0.0.0\r\na=mid:2\r\na=sctp-port:5000\r\n";
    with_app = realloc(with_app, n + sizeof(app));
    assert_non_null(with_app);
    memcpy(with_app + n, app, sizeof(app));
    negotiate_and_write(f, with_app, CR_SDP_ROLE_PUBLISHER);
    free(with_app);
    assert_int_equal(f->answer.n_media, 3);
    assert_int_equal(f->answer.n_bundle, 2);
    assert_int_equal(f->answer.media[2].port, 0);
    assert_has_line(f->text, "a=group:BUNDLE 0 1");
    /* The rejected m-line is the last thing written: m=, mid, the transport attributes webrtcbin
     * insists on, the direction, and no candidate or codec. */
    const char *tail = strstr(f->text, "m=application");
    assert_non_null(tail);
    assert_int_equal(strncmp(tail, "m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:2\r\n"
                                   "a=ice-ufrag:", 71), 0);
    assert_non_null(strstr(tail, "a=fingerprint:sha-256 "));
    assert_non_null(strstr(tail, "a=setup:passive\r\n"));
    assert_null(strstr(tail, "a=candidate"));
    assert_null(strstr(tail, "c=IN"));
    size_t tl = strlen(tail);
    assert_true(tl > 12 && strcmp(tail + tl - 12, "a=inactive\r\n") == 0);
}

static void test_answer_obs_publisher(void **state)
{
    fixture_t *f = *state;
    negotiate_and_write(f, obs_whip_sdp, CR_SDP_ROLE_PUBLISHER);
    const cr_sdp_t *a = &f->answer;
    assert_int_equal(a->media[0].codecs[0].pt, 111);
    assert_int_equal(a->media[1].codecs[0].pt, 96);
    assert_int_equal(a->media[1].codecs[0].fb, CR_SDP_FB_NACK | CR_SDP_FB_PLI | CR_SDP_FB_REMB);
    assert_int_equal(a->media[0].dir, CR_SDP_RECVONLY);
    assert_int_equal(a->media[1].rtcp_rsize, 0);
    assert_has_line(f->text, "a=group:BUNDLE 0 1");
    assert_has_line(f->text, "a=fmtp:111 minptime=10;maxaveragebitrate=96000;stereo=1;sprop-stereo=1;useinbandfec=1");
    assert_null(strstr(f->text, "a=rtcp-rsize"));
    assert_null(strstr(f->text, "a=simulcast"));
}

static void test_answer_gst_publisher(void **state)
{
    fixture_t *f = *state;
    negotiate_and_write(f, gst_whip_sdp, CR_SDP_ROLE_PUBLISHER);
    const cr_sdp_t *a = &f->answer;
    assert_string_equal(a->bundle[0], "video0");
    assert_string_equal(a->bundle[1], "audio1");
    assert_int_equal(a->media[0].codecs[0].pt, 96);
    assert_int_equal(a->media[0].n_codecs, 1);
    assert_int_equal(a->media[1].codecs[0].pt, 111);
    assert_string_equal(a->media[1].codecs[0].name, "OPUS");
    assert_has_line(f->text, "a=group:BUNDLE video0 audio1");
    assert_has_line(f->text, "a=rtcp-fb:96 ccm fir");
    assert_null(strstr(f->text, "apt="));
}

static void test_answer_firefox_publisher(void **state)
{
    fixture_t *f = *state;
    negotiate_and_write(f, firefox_whip_sdp, CR_SDP_ROLE_PUBLISHER);
    assert_int_equal(f->answer.media[0].codecs[0].pt, 109);
    assert_int_equal(f->answer.media[1].codecs[0].pt, 126);
    assert_int_equal(f->answer.media[1].n_exts, 2); /* transport-cc dropped */
}

static void test_answer_chrome_subscriber(void **state)
{
    fixture_t *f = *state;
    negotiate_and_write(f, chrome_whep_sdp, CR_SDP_ROLE_SUBSCRIBER);
    const cr_sdp_t *a = &f->answer;
    assert_int_equal(a->media[0].kind, CR_SDP_VIDEO);
    assert_int_equal(a->media[0].codecs[0].pt, 106);
    assert_int_equal(a->media[0].dir, CR_SDP_SENDONLY);
    assert_int_equal(a->media[1].codecs[0].pt, 111);
    assert_int_equal(a->media[0].n_ssrcs, 1);
    assert_int_equal(a->media[0].ssrcs[0].ssrc, 0x11111111);
    assert_string_equal(a->media[0].msid, "class42 video0");
    assert_string_equal(a->media[1].msid, "class42 audio0");
    assert_int_equal(a->media[0].n_rids, 0);
    assert_has_line(f->text, "a=sendonly");
    assert_has_line(f->text, "a=ssrc:286331153 cname:classrelay");
    assert_has_line(f->text, "a=ssrc:572662306 cname:classrelay");
    assert_has_line(f->text, "a=msid:class42 video0");
    assert_has_line(f->text, "a=ice-lite");
    assert_has_line(f->text, "a=candidate:1 1 udp 2130706431 203.0.113.10 40000 typ host");
}

/* Toward a subscriber the relay is the transport-cc sender: the answer keeps the extension with the
 * offer's id and the rtcp-fb; a publisher's answer to the same kind of offer keeps neither. */
static void test_answer_twcc_subscriber_only(void **state)
{
    fixture_t *f = *state;
    negotiate_and_write(f, chrome_whep_sdp, CR_SDP_ROLE_SUBSCRIBER);
    const cr_sdp_media_t *v = &f->answer.media[0];
    assert_int_equal(cr_sdp_ext_id(v, CR_SDP_EXT_TWCC), 3);
    assert_true(v->codecs[0].fb & CR_SDP_FB_TWCC);
    assert_int_equal(cr_sdp_ext_id(&f->reparsed.media[0], CR_SDP_EXT_TWCC), 3);
    assert_has_line(f->text, "a=extmap:3 " CR_SDP_EXT_TWCC);
    assert_has_line(f->text, "a=rtcp-fb:106 transport-cc");

    negotiate_and_write(f, chrome_whip_sdp, CR_SDP_ROLE_PUBLISHER);
    for (unsigned i = 0; i < f->answer.n_media; i++) {
        assert_int_equal(cr_sdp_ext_id(&f->answer.media[i], CR_SDP_EXT_TWCC), 0);
        assert_int_equal(f->answer.media[i].codecs[0].fb & CR_SDP_FB_TWCC, 0);
    }
    assert_null(strstr(f->text, "transport-cc"));
    assert_null(strstr(f->text, "transport-wide-cc"));
}

/* An id the one-byte header form cannot carry (15 and up, RFC 8285 section 4.2) is not taken. */
static void test_answer_twcc_two_byte_id(void **state)
{
    fixture_t *f = *state;
    cr_sdp_answer_params_t p = params(CR_SDP_ROLE_SUBSCRIBER);
    assert_int_equal(parse_str(chrome_whep_sdp, &f->offer), 0);
    for (unsigned i = 0; i < f->offer.n_media; i++)
        for (unsigned k = 0; k < f->offer.media[i].n_exts; k++)
            if (strcmp(f->offer.media[i].exts[k].uri, CR_SDP_EXT_TWCC) == 0)
                f->offer.media[i].exts[k].id = 16;
    assert_int_equal(cr_sdp_negotiate(&f->offer, &p, &f->answer), 0);
    assert_int_equal(cr_sdp_ext_id(&f->answer.media[0], CR_SDP_EXT_TWCC), 0);
    assert_int_equal(f->answer.media[0].codecs[0].fb & CR_SDP_FB_TWCC, 0);
}

static void test_answer_gst_subscriber(void **state)
{
    fixture_t *f = *state;
    negotiate_and_write(f, gst_whep_sdp, CR_SDP_ROLE_SUBSCRIBER);
    const cr_sdp_t *a = &f->answer;
    /* Constrained Baseline 42c01f is preferred over VP8, even though VP8 is also offered. */
    assert_int_equal(a->media[0].codecs[0].pt, 96);
    assert_int_equal(a->media[0].codecs[0].h264_profile_level_id, 0x42c01f);
    assert_int_equal(a->media[0].dir, CR_SDP_SENDONLY);
    assert_int_equal(a->media[1].codecs[0].pt, 111);
    assert_has_line(f->text, "m=video 40000 UDP/TLS/RTP/SAVPF 96");
    assert_has_line(f->text, "a=fmtp:96 packetization-mode=1;profile-level-id=42c01f");
    assert_has_line(f->text, "a=msid:class42 audio0");
}

static void test_answer_wrong_direction(void **state)
{
    fixture_t *f = *state;
    cr_sdp_answer_params_t sub = params(CR_SDP_ROLE_SUBSCRIBER);
    cr_sdp_answer_params_t pub = params(CR_SDP_ROLE_PUBLISHER);
    /* A publisher's sendonly offer cannot be answered by a relay that sends, and vice versa. */
    assert_int_equal(parse_str(chrome_whip_sdp, &f->offer), 0);
    assert_int_equal(cr_sdp_negotiate(&f->offer, &sub, &f->answer), CR_ENEGOTIATE);
    assert_int_equal(parse_str(gst_whep_sdp, &f->offer), 0);
    assert_int_equal(cr_sdp_negotiate(&f->offer, &pub, &f->answer), CR_ENEGOTIATE);
    /* One inactive m-line is rejected while the other is accepted. */
    assert_int_equal(parse_replaced(gst_whip_sdp, "a=sendonly\r\na=rtpmap:111",
                                    "a=inactive\r\na=rtpmap:111", &f->offer),
                     0);
    assert_int_equal(cr_sdp_negotiate(&f->offer, &pub, &f->answer), 0);
    assert_int_equal(f->answer.media[1].port, 0);
    assert_int_equal(f->answer.n_bundle, 1);
}

static void test_answer_preference(void **state)
{
    fixture_t *f = *state;
    cr_sdp_answer_params_t pub = params(CR_SDP_ROLE_PUBLISHER);
    /* Without 42e01f, Chrome's Baseline 42001f (pmode 1) beats Main and High. */
    assert_int_equal(parse_replaced(chrome_whip_sdp, "packetization-mode=1;profile-level-id=42e01f",
                                    "packetization-mode=1;profile-level-id=640c1f", &f->offer),
                     0);
    assert_int_equal(cr_sdp_negotiate(&f->offer, &pub, &f->answer), 0);
    assert_int_equal(f->answer.media[1].codecs[0].pt, 102);
    /* H.264 with packetization-mode=0 only is not usable: VP8 is taken, or nothing. */
    cr_sdp_answer_params_t sub = params(CR_SDP_ROLE_SUBSCRIBER);
    assert_int_equal(parse_replaced(gst_whep_sdp, "packetization-mode=1", "packetization-mode=0",
                                    &f->offer),
                     0);
    assert_int_equal(cr_sdp_negotiate(&f->offer, &sub, &f->answer), 0);
    assert_string_equal(f->answer.media[0].codecs[0].name, "VP8");
    assert_int_equal(f->answer.media[0].codecs[0].pt, 97);
    assert_int_equal(parse_replaced(obs_whip_sdp, "packetization-mode=1", "packetization-mode=0",
                                    &f->offer),
                     0);
    assert_int_equal(cr_sdp_negotiate(&f->offer, &pub, &f->answer), 0);
    assert_int_equal(f->answer.media[1].port, 0);
    assert_string_equal(f->answer.bundle[0], "0");
    assert_int_equal(f->answer.n_bundle, 1);
}

static void test_answer_bundle_only(void **state)
{
    fixture_t *f = *state;
    cr_sdp_answer_params_t pub = params(CR_SDP_ROLE_PUBLISHER);
    /* RFC 8843: a bundle-only m-line has port 0 but is in the BUNDLE group; it is accepted. */
    assert_int_equal(parse_replaced(gst_whip_sdp, "m=audio 9 ", "m=audio 0 ", &f->offer), 0);
    assert_int_equal(cr_sdp_negotiate(&f->offer, &pub, &f->answer), 0);
    assert_int_equal(f->answer.media[1].port, 40000);
    assert_int_equal(f->answer.n_bundle, 2);
}

static void test_roundtrip_answer(void **state)
{
    fixture_t *f = *state;
    negotiate_and_write(f, chrome_whip_sdp, CR_SDP_ROLE_PUBLISHER);
    assert_memory_equal(&f->answer, &f->reparsed, sizeof(cr_sdp_t));
    negotiate_and_write(f, gst_whep_sdp, CR_SDP_ROLE_SUBSCRIBER);
    assert_memory_equal(&f->answer, &f->reparsed, sizeof(cr_sdp_t));
    negotiate_and_write(f, firefox_whip_sdp, CR_SDP_ROLE_PUBLISHER);
    assert_memory_equal(&f->answer, &f->reparsed, sizeof(cr_sdp_t));
}

static void test_write_too_small(void **state)
{
    fixture_t *f = *state;
    negotiate_and_write(f, gst_whep_sdp, CR_SDP_ROLE_SUBSCRIBER);
    int n = (int)strlen(f->text);
    char *small = malloc((size_t)n + 1);
    assert_non_null(small);
    /* Room for the text but not its NUL is too small; so is every shorter buffer. */
    for (int cap = 0; cap <= n; cap += (cap < 64 || cap > n - 64) ? 1 : 37)
        assert_int_equal(cr_sdp_write(&f->answer, small, (size_t)cap), CR_ETOOBIG);
    assert_int_equal(cr_sdp_write(&f->answer, small, (size_t)n + 1), n);
    free(small);
}

static void test_malformed(void **state)
{
    fixture_t *f = *state;
    cr_sdp_t *s = &f->offer;
    const char *g = gst_whep_sdp;
    assert_int_equal(parse_str(g + strlen("v=0\r\n"), s), CR_EMALFORMED);
    assert_int_equal(parse_str("", s), CR_EMALFORMED);
    assert_int_equal(parse_replaced(g, "v=0", "v=1", s), CR_EMALFORMED);
    assert_int_equal(parse_replaced(g, "s=-", "v=0", s), CR_EMALFORMED);
    assert_int_equal(parse_replaced(g, "a=rtpmap:97 VP8/90000", "a=rtpmap:97 VP8", s), CR_EMALFORMED);
    assert_int_equal(parse_replaced(g, "a=rtpmap:97 VP8/90000", "a=rtpmap:97 VP8/fast", s),
                     CR_EMALFORMED);
    assert_int_equal(parse_replaced(g, "a=rtpmap:97 VP8/90000", "a=rtpmap:300 VP8/90000", s),
                     CR_EMALFORMED);
    assert_int_equal(parse_replaced(g, "m=video 9 ", "m=video nine ", s), CR_EMALFORMED);
    assert_int_equal(parse_replaced(g, "m=video 9 ", "m=video 70000 ", s), CR_EMALFORMED);
    assert_int_equal(parse_replaced(g, "SAVPF 96 97", "SAVPF", s), CR_EMALFORMED);
    assert_int_equal(parse_replaced(g, "SAVPF 96 97", "SAVPF 96 x97", s), CR_EMALFORMED);
    assert_int_equal(parse_replaced(g, "SAVPF 96 97", "SAVPF 96 96", s), CR_EMALFORMED);
    assert_int_equal(parse_replaced(g, "packetization-mode=1", "packetization-mode=one", s),
                     CR_EMALFORMED);
    assert_int_equal(parse_replaced(g, "profile-level-id=42c01f", "profile-level-id=42c01", s),
                     CR_EMALFORMED);
    assert_int_equal(parse_replaced(gst_whip_sdp, "apt=96", "apt=", s), CR_EMALFORMED);
    assert_int_equal(parse_replaced(gst_whip_sdp, "a=ssrc:2215349447 cname", "a=ssrc:-5 cname", s),
                     CR_EMALFORMED);
    assert_int_equal(parse_replaced(gst_whip_sdp, "FID 2215349447 1906416573", "FID 2215349447", s),
                     CR_EMALFORMED);
    assert_int_equal(parse_replaced(chrome_whip_sdp, "a=extmap:14 ", "a=extmap:0 ", s), CR_EMALFORMED);
    assert_int_equal(parse_replaced(chrome_whip_sdp, "a=extmap:14 ", "a=extmap:3 ", s), CR_EMALFORMED);
    assert_int_equal(parse_replaced(chrome_whip_sdp, "a=rid:m send", "a=rid:m;x send", s),
                     CR_EMALFORMED);
    assert_int_equal(parse_replaced(chrome_whip_sdp, "a=rid:m send", "a=rid:m both", s),
                     CR_EMALFORMED);
    assert_int_equal(parse_replaced(chrome_whip_sdp, "a=rid:m send", "a=rid:h send", s),
                     CR_EMALFORMED);
    assert_int_equal(parse_replaced(g, "a=mid:audio1", "a=mid:video0", s), CR_EMALFORMED);
    assert_int_equal(parse_replaced(g, "a=mid:audio1", "a=mid:", s), CR_EMALFORMED);
    assert_int_equal(parse_replaced(g, "a=setup:actpass", "a=setup:sideways", s), CR_EMALFORMED);
    assert_int_equal(parse_replaced(g, "a=mid:audio1", "a=mid:au\rdio1", s), CR_EMALFORMED);
    assert_int_equal(parse_replaced(g, "s=-\r\n", "garbage\r\n", s), CR_EMALFORMED);
    /* An embedded NUL is malformed rather than an early end. */
    char nul[] = "v=0\r\ns=-\r\nm=audio 9 RTP/AVP 0\r\na=mid:a\0b\r\n";
    assert_int_equal(cr_sdp_parse(nul, sizeof(nul) - 1, s), CR_EMALFORMED);
}

static void test_limits(void **state)
{
    fixture_t *f = *state;
    cr_sdp_t *s = &f->offer;
    const char *g = gst_whep_sdp;
    char *big = malloc(40 * 1024 + 1);
    assert_non_null(big);

    /* 40 KB of otherwise valid SDP. */
    size_t n = (size_t)snprintf(big, 100, "v=0\r\ns=-\r\n");
    while (n < 40 * 1024 - 20)
        n += (size_t)snprintf(big + n, 40 * 1024 + 1 - n, "a=x-pad:0123456789\r\n");
    assert_int_equal(cr_sdp_parse(big, n, s), CR_ETOOBIG);
    /* More than CR_SDP_MAX_LINES lines, though under the size limit. */
    n = (size_t)snprintf(big, 100, "v=0\r\n");
    for (int i = 0; i < CR_SDP_MAX_LINES; i++)
        n += (size_t)snprintf(big + n, 100, "t=0\n");
    assert_true(n <= CR_SDP_MAX_SIZE);
    assert_int_equal(cr_sdp_parse(big, n, s), CR_ETOOBIG);
    /* A 3000-byte line. */
    n = (size_t)snprintf(big, 100, "v=0\r\na=x-long:");
    memset(big + n, 'x', 3000);
    n += 3000;
    memcpy(big + n, "\r\n", 2);
    assert_int_equal(cr_sdp_parse(big, n + 2, s), CR_ETOOBIG);

    /* Nine m-lines. */
    n = (size_t)snprintf(big, 100, "v=0\r\ns=-\r\n");
    for (int i = 0; i < CR_SDP_MAX_MEDIA + 1; i++)
        n += (size_t)snprintf(big + n, 100, "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:%d\r\n", i);
    assert_int_equal(cr_sdp_parse(big, n, s), CR_ETOOBIG);
    /* CR_SDP_MAX_CODECS payload types parse; one more does not. */
    n = (size_t)snprintf(big, 100, "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF");
    for (int i = 0; i < CR_SDP_MAX_CODECS; i++)
        n += (size_t)snprintf(big + n, 100, " %d", 127 - i);
    assert_int_equal(cr_sdp_parse(big, n, s), 0);
    n += (size_t)snprintf(big + n, 100, " 35\r\n");
    assert_int_equal(cr_sdp_parse(big, n, s), CR_ETOOBIG);
    /* CR_SDP_MAX_EXTS extensions, rids, ssrcs. */
    n = (size_t)snprintf(big, 100, "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n");
    for (int i = 0; i <= CR_SDP_MAX_EXTS; i++)
        n += (size_t)snprintf(big + n, 100, "a=extmap:%d urn:x-ext:%d\r\n", i + 1, i);
    assert_int_equal(cr_sdp_parse(big, n, s), CR_ETOOBIG);
    n = (size_t)snprintf(big, 100, "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n");
    for (int i = 0; i <= CR_SDP_MAX_RIDS; i++)
        n += (size_t)snprintf(big + n, 100, "a=rid:r%d send\r\n", i);
    assert_int_equal(cr_sdp_parse(big, n, s), CR_ETOOBIG);
    n = (size_t)snprintf(big, 100, "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n");
    for (int i = 0; i <= CR_SDP_MAX_SSRCS; i++)
        n += (size_t)snprintf(big + n, 100, "a=ssrc:%d cname:c\r\n", 1000 + i);
    assert_int_equal(cr_sdp_parse(big, n, s), CR_ETOOBIG);
    free(big);

    /* Strings that do not fit their field fail rather than truncate. */
    char fp512[8 + 64 * 3];
    memcpy(fp512, "sha-512 ", 8);
    for (int i = 0; i < 64; i++)
        memcpy(fp512 + 8 + 3 * i, i < 63 ? "AB:" : "AB", 3);
    assert_int_equal(parse_replaced(g, "sha-256 A4:19:3B:5E:88:0F:C2:D7:61:4A:9E:B3:20:F5:7C:0D:E6:"
                                       "92:48:1B:AF:35:C8:70:2E:D9:64:8F:13:B6:5A:EC",
                                    fp512, s),
                     CR_ETOOBIG);
    assert_int_equal(parse_replaced(g, "a=mid:audio1", "a=mid:0123456789abcdef0123456789abcdef", s),
                     CR_ETOOBIG);
    assert_int_equal(parse_replaced(g, "H264/90000", "H264-with-a-long-name/90000", s), CR_ETOOBIG);
    assert_int_equal(parse_replaced(chrome_whip_sdp, "cname:q2f7Lr8sZ0cYbT4w",
                                    "cname:0123456789012345678901234567890123456789012345678901234567890123",
                                    s),
                     CR_ETOOBIG);
    char fmtp[300] = "a=fmtp:97 x=";
    memset(fmtp + 12, 'y', 260);
    fmtp[272] = '\0';
    assert_int_equal(parse_replaced(g, "a=rtpmap:97 VP8/90000", fmtp, s), CR_ETOOBIG);
}

static void test_negotiate_failures(void **state)
{
    fixture_t *f = *state;
    cr_sdp_t *s = &f->offer;
    cr_sdp_answer_params_t pub = params(CR_SDP_ROLE_PUBLISHER);

    /* No ICE credentials, no fingerprint, no rtcp-mux: the offer cannot be answered. */
    assert_int_equal(parse_replaced(obs_whip_sdp, "a=ice-ufrag:FGlw\r\n", "", s), 0);
    assert_int_equal(cr_sdp_negotiate(s, &pub, &f->answer), CR_EINVAL);
    assert_int_equal(parse_replaced(obs_whip_sdp, "a=ice-pwd:oAH76dCMfc1QxRGS3PazRU\r\n", "", s), 0);
    assert_int_equal(cr_sdp_negotiate(s, &pub, &f->answer), CR_EINVAL);
    char *text = replace(chrome_whip_sdp, "a=fingerprint:", "a=x-fingerprint:");
    char *text2 = replace(text, "a=fingerprint:", "a=x-fingerprint:");
    assert_int_equal(parse_str(text2, s), 0);
    assert_int_equal(cr_sdp_negotiate(s, &pub, &f->answer), CR_EINVAL);
    free(text);
    free(text2);
    assert_int_equal(parse_replaced(obs_whip_sdp, "a=rtcp-mux\r\na=rtpmap:111", "a=rtpmap:111", s), 0);
    assert_int_equal(cr_sdp_negotiate(s, &pub, &f->answer), CR_EINVAL);

    /* Only VP9 video, and nothing but a data channel: nothing to accept. */
    const char vp9[] = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
                       "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
                       "a=fingerprint:sha-256 AA:BB\r\na=setup:actpass\r\n"
                       "m=video 9 UDP/TLS/RTP/SAVPF 98 99\r\na=mid:0\r\na=sendonly\r\na=rtcp-mux\r\n"
                       "a=rtpmap:98 VP9/90000\r\na=fmtp:98 profile-id=0\r\n"
                       "a=rtpmap:99 rtx/90000\r\na=fmtp:99 apt=98\r\n";
    assert_int_equal(parse_str(vp9, s), 0);
    assert_int_equal(cr_sdp_negotiate(s, &pub, &f->answer), CR_ENEGOTIATE);
    assert_int_equal(f->answer.media[0].port, 0);
    const char app[] = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
                       "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
                       "a=fingerprint:sha-256 AA:BB\r\na=setup:actpass\r\n"
                       "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\n"
                       "a=sctp-port:5000\r\n";
    assert_int_equal(parse_str(app, s), 0);
    assert_int_equal(cr_sdp_negotiate(s, &pub, &f->answer), CR_ENEGOTIATE);
    /* A peer that will only be DTLS passive cannot talk to the passive relay. */
    assert_int_equal(parse_replaced(obs_whip_sdp, "a=setup:actpass", "a=setup:passive", s), 0);
    assert_int_equal(cr_sdp_negotiate(s, &pub, &f->answer), CR_ENEGOTIATE);

    /* Bad relay parameters. */
    assert_int_equal(parse_str(obs_whip_sdp, s), 0);
    cr_sdp_answer_params_t bad = pub;
    bad.ice_ufrag = NULL;
    assert_int_equal(cr_sdp_negotiate(s, &bad, &f->answer), CR_EINVAL);
    bad = pub;
    bad.fingerprint = "sha-256 AA\r\na=evil";
    assert_int_equal(cr_sdp_negotiate(s, &bad, &f->answer), CR_EINVAL);
    bad = params(CR_SDP_ROLE_SUBSCRIBER);
    bad.stream_id = NULL;
    assert_int_equal(parse_str(gst_whep_sdp, s), 0);
    assert_int_equal(cr_sdp_negotiate(s, &bad, &f->answer), CR_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_parse_chrome_whip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_lf_line_ends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_firefox, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_obs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_gst, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_chrome_publisher, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_rejects_datachannel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_obs_publisher, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_gst_publisher, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_firefox_publisher, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_chrome_subscriber, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_twcc_subscriber_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_twcc_two_byte_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_gst_subscriber, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_wrong_direction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_preference, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_bundle_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roundtrip_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_too_small, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_negotiate_failures, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
