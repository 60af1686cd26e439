/*
 * The control plane (cr_relay) with real workers on loopback: WHIP/WHEP offers from the SDP samples
 * of real clients produce answers and sessions; every refusal carries its numbered error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include "cr_api_err.h"
#include "cr_auth.h"
#include "cr_relay.h"
#include "cr_sdp.h"
#include "test_sdp_samples.h"

static cr_relay_t *relay;
static const uint8_t key[] = "test-secret-test-secret-test-secret!";
static char teacher_tok[1024], classroom_tok[1024], admin_tok[1024];
static char teacher_auth[1100], classroom_auth[1100], admin_auth[1100];

static void mint(enum cr_role role, const char *sub, char *tok, char *auth)
{
    cr_claims_t c;
    memset(&c, 0, sizeof(c));
    c.role = role;
    snprintf(c.class_id, sizeof(c.class_id), "*");
    snprintf(c.sub, sizeof(c.sub), "%s", sub);
    c.iat = (int64_t)time(NULL);
    c.exp = c.iat + 600;
    assert_true(cr_auth_sign(key, sizeof(key) - 1, &c, tok, 1024) > 0);
    snprintf(auth, 1100, "Bearer %s", tok);
}

static int setup(void **state)
{
    (void)state;
    cr_conf_t conf;
    char err[256];
    cr_conf_defaults(&conf);
    conf.media_port = 0; /* any free port */
    conf.max_subscribers = 2;
    conf.max_classes = 2;
    int rc = cr_relay_new(&relay, &conf, err, sizeof(err));
    if (rc == 0)
        rc = cr_relay_set_key(relay, key, sizeof(key) - 1);
    mint(CR_ROLE_TEACHER, "t1", teacher_tok, teacher_auth);
    mint(CR_ROLE_CLASSROOM, "r1", classroom_tok, classroom_auth);
    mint(CR_ROLE_ADMIN, "", admin_tok, admin_auth);
    return rc;
}

static int teardown(void **state)
{
    (void)state;
    cr_relay_free(relay);
    return 0;
}

/* WHIP as the teacher, WHEP as a classroom. */
static void offer(enum cr_peer_role role, const char *cls, const char *sdp, cr_relay_reply_t *rep)
{
    cr_relay_req_t req = {.auth = role == CR_PEER_PUBLISHER ? teacher_auth : classroom_auth};
    cr_relay_offer(relay, role, cls, sdp, strlen(sdp), &req, rep);
}

static void delete_as(const char *auth, const char *res, cr_relay_reply_t *rep)
{
    cr_relay_req_t req = {.auth = auth};
    cr_relay_delete(relay, res, &req, rep);
}

static void expect_refusal(cr_relay_reply_t *rep, int code)
{
    assert_int_equal(rep->code, code);
    assert_int_equal(rep->status, code / 10);
    assert_non_null(strstr(rep->message, cr_api_err_text(code)));
    cr_relay_reply_dispose(rep);
}

static void test_whip_then_whep(void **state)
{
    (void)state;
    cr_relay_reply_t rep;
    cr_sdp_t *ans = calloc(1, sizeof(*ans));

    offer(CR_PEER_SUBSCRIBER, "math", gst_whep_sdp, &rep);
    expect_refusal(&rep, CR_API_NOT_LIVE);

    offer(CR_PEER_PUBLISHER, "math", gst_whip_sdp, &rep);
    assert_int_equal(rep.status, 201);
    assert_string_equal(rep.content_type, "application/sdp");
    assert_int_equal(strncmp(rep.location, "/resource/", 10), 0);
    assert_int_equal(cr_sdp_parse(rep.body, rep.body_len, ans), 0);
    assert_true(ans->ice_lite);
    assert_string_equal(ans->cand_ip, "127.0.0.1");
    assert_true(ans->cand_port > 0);
    char pub_res[96];
    strcpy(pub_res, rep.location + 10);
    cr_relay_reply_dispose(&rep);

    /* Subscribers up to the class limit, then refused. */
    for (int i = 0; i < 2; i++) {
        offer(CR_PEER_SUBSCRIBER, "math", i ? chrome_whep_sdp : gst_whep_sdp, &rep);
        assert_int_equal(rep.status, 201);
        assert_int_equal(cr_sdp_parse(rep.body, rep.body_len, ans), 0);
        assert_int_equal(ans->media[0].n_ssrcs + ans->media[1].n_ssrcs, 2);
        cr_relay_reply_dispose(&rep);
    }
    offer(CR_PEER_SUBSCRIBER, "math", gst_whep_sdp, &rep);
    expect_refusal(&rep, CR_API_CLASS_FULL);

    /* A second publisher replaces the first, whose resource is then gone. */
    offer(CR_PEER_PUBLISHER, "math", chrome_whip_sdp, &rep);
    assert_int_equal(rep.status, 201);
    cr_relay_reply_dispose(&rep);
    delete_as(teacher_auth, pub_res, &rep);
    expect_refusal(&rep, CR_API_NOT_FOUND);

    cr_relay_status(relay, &rep);
    assert_int_equal(rep.status, 200);
    assert_non_null(strstr(rep.body, "\"id\":\"math\""));
    assert_non_null(strstr(rep.body, "\"subscribers\":2"));
    assert_non_null(strstr(rep.body, "\"refusals_by_code\":{\"4041\":1,\"4042\":1,\"5031\":1}"));
    cr_relay_reply_dispose(&rep);
    free(ans);
}

static void test_refusals(void **state)
{
    (void)state;
    cr_relay_reply_t rep;
    offer(CR_PEER_PUBLISHER, "bad/id", gst_whip_sdp, &rep);
    expect_refusal(&rep, CR_API_BAD_CLASS_ID);
    offer(CR_PEER_PUBLISHER, "", gst_whip_sdp, &rep);
    expect_refusal(&rep, CR_API_BAD_CLASS_ID);
    offer(CR_PEER_PUBLISHER, "x", "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n", &rep);
    expect_refusal(&rep, CR_API_BAD_SDP);

    /* An offer without ICE credentials. */
    char *no_ice = strdup(gst_whip_sdp);
    for (char *p = no_ice; (p = strstr(p, "a=ice-pwd")) != NULL;)
        memcpy(p, "a=xxx-pwd", 9);
    offer(CR_PEER_PUBLISHER, "x", no_ice, &rep);
    expect_refusal(&rep, CR_API_BAD_OFFER);
    free(no_ice);

    /* Only VP9: no common codec. */
    static const char vp9[] = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
                              "a=group:BUNDLE 0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
                              "a=fingerprint:sha-256 AA:BB\r\na=setup:actpass\r\n"
                              "m=video 9 UDP/TLS/RTP/SAVPF 98\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\n"
                              "a=rtcp-mux\r\na=rtpmap:98 VP9/90000\r\n";
    offer(CR_PEER_PUBLISHER, "x", vp9, &rep);
    expect_refusal(&rep, CR_API_NEGOTIATE);

    /* Too large, checked before parsing. */
    char *big = malloc(CR_SDP_MAX_SIZE + 2);
    memset(big, 'a', CR_SDP_MAX_SIZE + 1);
    big[CR_SDP_MAX_SIZE + 1] = '\0';
    offer(CR_PEER_PUBLISHER, "x", big, &rep);
    expect_refusal(&rep, CR_API_TOO_BIG);
    free(big);

    /* The class limit (2): "math" from the first test still exists; one more, then refused. */
    offer(CR_PEER_PUBLISHER, "art", gst_whip_sdp, &rep);
    assert_int_equal(rep.status, 201);
    cr_relay_reply_dispose(&rep);
    offer(CR_PEER_PUBLISHER, "music", gst_whip_sdp, &rep);
    expect_refusal(&rep, CR_API_RELAY_FULL);

    delete_as(admin_auth, "0123456789abcdef0123456789abcdef", &rep);
    expect_refusal(&rep, CR_API_NOT_FOUND);
    delete_as(NULL, "0123456789abcdef0123456789abcdef", &rep);
    expect_refusal(&rep, CR_API_NO_TOKEN);
}

static void test_class_id(void **state)
{
    (void)state;
    assert_true(cr_class_id_valid("grade-3_math", 12));
    assert_false(cr_class_id_valid("a b", 3));
    assert_false(cr_class_id_valid("..", 2));
    char long_id[66];
    memset(long_id, 'a', 65);
    long_id[65] = '\0';
    assert_false(cr_class_id_valid(long_id, 65));
    assert_true(cr_class_id_valid(long_id, 64));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whip_then_whep),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_class_id),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
