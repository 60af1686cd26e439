/*
 * The bandwidth scheduler in the control plane (cr_relay_sched.c), with real workers on loopback:
 * the timetable admitted at load against a school link that holds two classrooms' floors of three
 * (degraded, naming the link), a WHEP join refused with 5034 naming the link, an ad-hoc class's
 * joins checked against what the timetable holds, its reservation released when a classroom leaves,
 * and the scheduler's section of GET /api/status.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cr_api_err.h"
#include "cr_auth.h"
#include "cr_relay.h"
#include "cr_relay_int.h"
#include "cr_relay_stats.h"
#include "test_sdp_samples.h"

static cr_relay_t *relay;
static const uint8_t key[] = "sched-test-secret-sched-test-secret";
static char detail[256];

static int offer(enum cr_peer_role pr, enum cr_role role, const char *cls, const char *sub, char *res)
{
    cr_claims_t c;
    char tok[1024], auth[1100];
    memset(&c, 0, sizeof(c));
    c.role = role;
    snprintf(c.class_id, sizeof(c.class_id), "%s", cls);
    snprintf(c.sub, sizeof(c.sub), "%s", sub);
    c.iat = (int64_t)time(NULL) - 10;
    c.exp = c.iat + 3600;
    assert_true(cr_auth_sign(key, sizeof(key) - 1, &c, tok, sizeof(tok)) > 0);
    snprintf(auth, sizeof(auth), "Bearer %s", tok);
    cr_relay_req_t req = {.auth = auth};
    cr_relay_reply_t rep;
    const char *sdp = pr == CR_PEER_PUBLISHER ? gst_whip_sdp : gst_whep_sdp;
    cr_relay_offer(relay, pr, cls, sdp, strlen(sdp), &req, &rep);
    if (rep.code == 0 && res != NULL)
        snprintf(res, 40, "%.32s", rep.location + strlen("/resource/"));
    snprintf(detail, sizeof(detail), "%s", rep.message);
    cr_relay_reply_dispose(&rep);
    return rep.code;
}

/* The scheduler section of GET /api/status (new reference). */
static json_t *status(void)
{
    cr_relay_reply_t rep;
    cr_relay_status(relay, &rep);
    assert_int_equal(rep.status, 200);
    json_t *root = json_loadb(rep.body, rep.body_len, 0, NULL);
    cr_relay_reply_dispose(&rep);
    assert_non_null(root);
    json_t *s = json_incref(json_object_get(root, "scheduler"));
    json_decref(root);
    assert_non_null(s);
    return s;
}

static json_t *admission_of(json_t *s, const char *cls)
{
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(s, "admission"), i, a)
    {
        if (strcmp(json_string_value(json_object_get(a, "class")), cls) == 0)
            return a;
    }
    return NULL;
}

static int setup(void **state)
{
    (void)state;
    cr_conf_t *conf = malloc(sizeof(*conf));
    char err[256];
    cr_conf_defaults(conf);
    const char *text = "[school.s1]\ncapacity_mbps = 1\n" /* budget 0.9 Mbit/s: two floors of 364 kbit/s */
                       "[classroom.r1]\nschool = s1\n[classroom.r2]\nschool = s1\n[classroom.r3]\nschool = s1\n"
                       "[school.default]\n" /* configured: unknown classrooms without a school claim land there */
                       "[class.math]\nclassrooms = r1, r2, r3\n";
    if (cr_conf_parse(conf, "t", text, strlen(text), err, sizeof(err)) != 0)
        fail_msg("%s", err);
    conf->media_port = 0; /* any free port */
    int rc = cr_relay_new(&relay, conf, err, sizeof(err));
    free(conf);
    if (rc == 0)
        rc = cr_relay_set_key(relay, key, sizeof(key) - 1);
    return rc;
}

static int teardown(void **state)
{
    (void)state;
    cr_relay_free(relay);
    return 0;
}

static void test_admission(void **state)
{
    (void)state;
    json_t *s = status();
    json_t *a = admission_of(s, "math");
    assert_non_null(a);
    assert_string_equal(json_string_value(json_object_get(a, "status")), "degraded");
    assert_non_null(strstr(json_string_value(json_object_get(a, "reason")), "school 's1' link"));
    json_t *rooms = json_object_get(a, "classrooms");
    assert_int_equal(json_array_size(rooms), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(rooms, 2), "status")), "refused");
    json_decref(s);

    /* The class goes live; r1 has its floor, r3 is refused naming the link, an unknown classroom
     * lands under the default school. */
    assert_int_equal(offer(CR_PEER_PUBLISHER, CR_ROLE_TEACHER, "math", "t1", NULL), 0);
    assert_int_equal(offer(CR_PEER_SUBSCRIBER, CR_ROLE_CLASSROOM, "math", "r1", NULL), 0);
    assert_int_equal(offer(CR_PEER_SUBSCRIBER, CR_ROLE_CLASSROOM, "math", "r3", NULL), CR_API_LINK_FULL);
    assert_non_null(strstr(detail, "school 's1' link"));
    assert_int_equal(cr_relay_refusals(relay, CR_API_LINK_FULL), 1);

    /* An ad-hoc class: an unknown classroom lands under the (configured) default school; a classroom of s1 does
     * not fit next to math's two. */
    assert_int_equal(offer(CR_PEER_PUBLISHER, CR_ROLE_TEACHER, "adhoc", "t2", NULL), 0);
    char res[40];
    assert_int_equal(offer(CR_PEER_SUBSCRIBER, CR_ROLE_CLASSROOM, "adhoc", "x9", res), 0);
    assert_int_equal(offer(CR_PEER_SUBSCRIBER, CR_ROLE_CLASSROOM, "adhoc", "r2", NULL), CR_API_LINK_FULL);
    s = status();
    a = admission_of(s, "adhoc");
    assert_non_null(a);
    assert_int_equal(json_array_size(json_object_get(a, "classrooms")), 1);
    json_decref(s);

    /* x9 leaves: its reservation goes with it. */
    cr__session_t *ses = cr__relay_session_find(relay, res);
    assert_non_null(ses);
    cr__relay_session_close(relay, ses);
    s = status();
    a = admission_of(s, "adhoc");
    assert_int_equal(json_array_size(json_object_get(a, "classrooms")), 0);
    assert_true(json_is_array(json_object_get(s, "links")));
    assert_true(json_is_array(json_object_get(s, "subscribers")));
    json_decref(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_admission),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
