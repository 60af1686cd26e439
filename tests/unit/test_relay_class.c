/*
 * The control plane's classes, with real workers on loopback: token refusals on WHIP/WHEP, each
 * kind's rules (classroom publishing into a network class, master class only on stage), second
 * teacher, invitations, stage and grid sources as sent to the worker, hands, mute, class end, the
 * timetable, DELETE ownership and the events a participant's connections receive.
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
#include "cr_relay_int.h"
#include "test_sdp_samples.h"

static cr_relay_t *relay;
static const uint8_t key[] = "class-test-secret-class-test-secret";

/* --- helpers --- */

static void token(enum cr_role role, const char *cls, const char *sub, int64_t ttl, char *auth, size_t cap)
{
    cr_claims_t c;
    char tok[1024];
    memset(&c, 0, sizeof(c));
    c.role = role;
    snprintf(c.class_id, sizeof(c.class_id), "%s", cls);
    snprintf(c.sub, sizeof(c.sub), "%s", sub);
    c.iat = (int64_t)time(NULL) - 1000;
    c.exp = c.iat + ttl;
    assert_true(cr_auth_sign(key, sizeof(key) - 1, &c, tok, sizeof(tok)) > 0);
    snprintf(auth, cap, "Bearer %s", tok);
}

/* WHIP/WHEP with a fresh token; returns the reply code (0 = created) and the resource id in res. */
static int offer_q(enum cr_peer_role pr, enum cr_role role, const char *cls, const char *sub, const char *query,
                   char *res)
{
    char auth[1200];
    cr_relay_reply_t rep;
    token(role, cls, sub, 3600, auth, sizeof(auth));
    cr_relay_req_t req = {.auth = auth, .query = query};
    const char *sdp = pr == CR_PEER_PUBLISHER ? gst_whip_sdp : gst_whep_sdp;
    cr_relay_offer(relay, pr, cls, sdp, strlen(sdp), &req, &rep);
    if (rep.code == 0) {
        assert_int_equal(rep.status, 201);
        if (res != NULL)
            snprintf(res, 40, "%.32s", rep.location + strlen("/resource/"));
    } else {
        assert_int_equal(rep.status, rep.code / 10);
    }
    cr_relay_reply_dispose(&rep);
    return rep.code;
}

static int whip(enum cr_role role, const char *cls, const char *sub, char *res)
{
    return offer_q(CR_PEER_PUBLISHER, role, cls, sub, NULL, res);
}

static int whep(enum cr_role role, const char *cls, const char *sub, const char *query, char *res)
{
    return offer_q(CR_PEER_SUBSCRIBER, role, cls, sub, query, res);
}

/* A fake WebSocket connection that keeps what it is sent. */
typedef struct fake {
    cr__listener_t l;
    char log[16384];
    size_t used;
    int closed_code;
} fake_t;

static void fake_send(cr__listener_t *l, const char *text, size_t len)
{
    fake_t *f = (fake_t *)l;
    if (f->used + len + 2 < sizeof(f->log)) {
        memcpy(f->log + f->used, text, len);
        f->used += len;
        f->log[f->used++] = '\n';
        f->log[f->used] = '\0';
    }
}

static void fake_close(cr__listener_t *l, int code, const char *reason)
{
    (void)reason;
    ((fake_t *)l)->closed_code = code;
}

static fake_t *join(enum cr_role role, const char *cls, const char *sub, int *code)
{
    char auth[1200], detail[192];
    json_t *joined = NULL;
    fake_t *f = calloc(1, sizeof(*f));
    f->l.send = fake_send;
    f->l.close = fake_close;
    token(role, cls, sub, 3600, auth, sizeof(auth));
    *code = cr__ctl_join(relay, &f->l, cls, auth + 7, strlen(auth + 7), NULL, NULL, &joined, detail, sizeof(detail));
    json_decref(joined);
    if (*code != 0) {
        free(f);
        return NULL;
    }
    return f;
}

static void leave(fake_t *f)
{
    cr__listener_detach(relay, &f->l);
    free(f);
}

/* The source resource the control plane last sent to the worker for subscriber res. */
static const char *bound(const char *res)
{
    cr__session_t *s = cr__relay_session_find(relay, res);
    assert_non_null(s);
    return s->bound;
}

static int setup(void **state)
{
    (void)state;
    cr_conf_t conf;
    char err[256];
    cr_conf_defaults(&conf);
    conf.media_port = 0;
    /* The timetable: a network class, a dedicated class with a named teacher and invitations. */
    conf.n_classes = 2;
    snprintf(conf.classes[0].id, sizeof(conf.classes[0].id), "net");
    conf.classes[0].kind = CR_CONF_KIND_NETWORK;
    snprintf(conf.classes[1].id, sizeof(conf.classes[1].id), "ded");
    conf.classes[1].kind = CR_CONF_KIND_DEDICATED;
    snprintf(conf.classes[1].teacher, sizeof(conf.classes[1].teacher), "t-wang");
    snprintf(conf.classes[1].classrooms, sizeof(conf.classes[1].classrooms), "r1, r2");
    int rc = cr_relay_new(&relay, &conf, err, sizeof(err));
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

/* --- tests --- */

static void test_token_refusals(void **state)
{
    (void)state;
    char auth[1200];
    cr_relay_reply_t rep;
    cr_relay_req_t req = {.auth = NULL};
    cr_relay_offer(relay, CR_PEER_PUBLISHER, "net", gst_whip_sdp, strlen(gst_whip_sdp), &req, &rep);
    assert_int_equal(rep.code, CR_API_NO_TOKEN);
    req.auth = "Basic dXNlcjpwYXNz";
    cr_relay_offer(relay, CR_PEER_PUBLISHER, "net", gst_whip_sdp, strlen(gst_whip_sdp), &req, &rep);
    assert_int_equal(rep.code, CR_API_NO_TOKEN);
    token(CR_ROLE_TEACHER, "net", "t1", 3600, auth, sizeof(auth));
    auth[strlen(auth) - 3] ^= 1; /* bad signature */
    req.auth = auth;
    cr_relay_offer(relay, CR_PEER_PUBLISHER, "net", gst_whip_sdp, strlen(gst_whip_sdp), &req, &rep);
    assert_int_equal(rep.code, CR_API_BAD_TOKEN);
    assert_int_equal(rep.status, 401);
    token(CR_ROLE_TEACHER, "net", "t1", 10, auth, sizeof(auth)); /* issued 1000 s ago, valid for 10 */
    cr_relay_offer(relay, CR_PEER_PUBLISHER, "net", gst_whip_sdp, strlen(gst_whip_sdp), &req, &rep);
    assert_int_equal(rep.code, CR_API_EXPIRED);
    assert_int_equal(offer_q(CR_PEER_PUBLISHER, CR_ROLE_TEACHER, "net", "t1", NULL, NULL), 0);
    /* A token for another class. */
    token(CR_ROLE_CLASSROOM, "other", "r1", 3600, auth, sizeof(auth));
    cr_relay_offer(relay, CR_PEER_SUBSCRIBER, "net", gst_whep_sdp, strlen(gst_whep_sdp), &req, &rep);
    assert_int_equal(rep.code, CR_API_WRONG_CLASS);
    /* Refusals are counted per code. */
    cr_relay_status(relay, &rep);
    assert_non_null(strstr(rep.body, "\"4011\":2,\"4012\":1,\"4013\":1,\"4031\":1"));
    cr_relay_reply_dispose(&rep);
    /* End both classes for the next tests. */
    assert_int_equal(cr__class_end(relay, cr__class_find(relay, "net"), "admin"), 0);
}

static void test_kind_rules(void **state)
{
    (void)state;
    char t[40];
    /* A classroom cannot publish into a network class (net has ended: use a fresh one). */
    cr_class_desc_t d;
    cr_class_desc_init(&d, "net2", CR_KIND_NETWORK, CR_ORIGIN_ADMIN);
    assert_non_null(cr__class_add(relay, &d));
    assert_int_equal(whip(CR_ROLE_TEACHER, "net2", "t1", t), 0);
    assert_int_equal(whip(CR_ROLE_CLASSROOM, "net2", "r1", NULL), CR_API_FORBIDDEN);
    assert_int_equal(whip(CR_ROLE_OPERATOR, "net2", "op", NULL), CR_API_FORBIDDEN);
    assert_int_equal(whip(CR_ROLE_ADMIN, "net2", "admin", NULL), CR_API_FORBIDDEN);
    assert_int_equal(whep(CR_ROLE_CLASSROOM, "net2", "r1", NULL, NULL), 0);
    /* Classrooms do not choose sources; operators do. Bad queries are refused. */
    assert_int_equal(whep(CR_ROLE_CLASSROOM, "net2", "r1", "source=t1", NULL), CR_API_FORBIDDEN);
    assert_int_equal(whep(CR_ROLE_OPERATOR, "net2", "op", "source=t1", NULL), 0);
    assert_int_equal(whep(CR_ROLE_CLASSROOM, "net2", "r1", "view=side", NULL), CR_API_BAD_REQUEST);
    assert_int_equal(whep(CR_ROLE_CLASSROOM, "net2", "r1", "source=a/b", NULL), CR_API_BAD_REQUEST);
    /* A second teacher is refused; the same teacher reconnecting replaces its session. */
    assert_int_equal(whip(CR_ROLE_TEACHER, "net2", "t2", NULL), CR_API_TEACHER_BUSY);
    char t_again[40];
    assert_int_equal(whip(CR_ROLE_TEACHER, "net2", "t1", t_again), 0);
    assert_null(cr__relay_session_find(relay, t));
    assert_non_null(cr__relay_session_find(relay, t_again));
    /* No stage in a network class. */
    int code;
    fake_t *teacher = join(CR_ROLE_TEACHER, "net2", "t1", &code);
    assert_int_equal(code, 0);
    char detail[192];
    assert_int_equal(cr__ctl_stage(relay, teacher->l.p, "r1", detail, sizeof(detail)), CR_API_FORBIDDEN);
    leave(teacher);
}

static void test_membership(void **state)
{
    (void)state;
    int code;
    /* "ded": teacher t-wang, classrooms r1 and r2. */
    assert_int_equal(whip(CR_ROLE_TEACHER, "ded", "t-li", NULL), CR_API_NOT_TEACHER);
    assert_int_equal(whep(CR_ROLE_CLASSROOM, "ded", "r1", NULL, NULL), CR_API_NOT_LIVE); /* not started */
    assert_int_equal(join(CR_ROLE_CLASSROOM, "ded", "r3", &code), NULL);
    assert_int_equal(code, CR_API_NOT_INVITED);
    assert_int_equal(join(CR_ROLE_CLASSROOM, "nope", "r1", &code), NULL);
    assert_int_equal(code, CR_API_NO_CLASS);
    /* One id, one role: a classroom cannot take the teacher's id. */
    fake_t *t = join(CR_ROLE_TEACHER, "solo", "t1", &code);
    assert_non_null(t);
    assert_int_equal(join(CR_ROLE_CLASSROOM, "solo", "t1", &code), NULL);
    assert_int_equal(code, CR_API_FORBIDDEN);
    assert_int_equal(whip(CR_ROLE_CLASSROOM, "solo", "t1", NULL), CR_API_NOT_LIVE); /* state before identity */
    leave(t);
    assert_null(cr__class_find(relay, "solo"));
}

static void test_synchronous_stage(void **state)
{
    (void)state;
    char t[40], c1[40], c2[40], stage_sub[40], grid2[40], detail[192];
    int code;
    fake_t *teacher = join(CR_ROLE_TEACHER, "sync", "t1", &code); /* ad hoc, synchronous */
    assert_int_equal(code, 0);
    fake_t *room3 = join(CR_ROLE_CLASSROOM, "sync", "c3", &code);
    assert_int_equal(code, 0);
    assert_int_equal(whip(CR_ROLE_CLASSROOM, "sync", "c1", NULL), CR_API_NOT_LIVE); /* before the teacher */
    assert_int_equal(whip(CR_ROLE_TEACHER, "sync", "t1", t), 0);
    assert_non_null(strstr(room3->log, "\"type\":\"class_state\",\"class\":\"sync\",\"state\":\"live\""));
    assert_int_equal(whip(CR_ROLE_CLASSROOM, "sync", "c1", c1), 0);
    /* The teacher's grid: one WHEP per classroom; c2 does not publish yet, so it waits. */
    assert_int_equal(whep(CR_ROLE_TEACHER, "sync", "t1", "source=c2", grid2), 0);
    assert_string_equal(bound(grid2), "-");
    assert_int_equal(whip(CR_ROLE_CLASSROOM, "sync", "c2", c2), 0);
    assert_string_equal(bound(grid2), c2);
    /* A classroom's stage view shows the teacher until someone is on stage. */
    assert_int_equal(whep(CR_ROLE_CLASSROOM, "sync", "c3", "view=stage", stage_sub), 0);
    assert_string_equal(bound(stage_sub), "");
    /* Classrooms cannot stage; the teacher can, and every stage view follows. */
    assert_int_equal(cr__ctl_stage(relay, room3->l.p, "c2", detail, sizeof(detail)), CR_API_FORBIDDEN);
    assert_int_equal(cr__ctl_stage(relay, teacher->l.p, "c9", detail, sizeof(detail)), CR_API_NO_PARTICIPANT);
    assert_int_equal(cr__ctl_stage(relay, teacher->l.p, "t1", detail, sizeof(detail)), CR_API_FORBIDDEN);
    assert_int_equal(cr__ctl_stage(relay, teacher->l.p, "c2", detail, sizeof(detail)), 0);
    assert_string_equal(bound(stage_sub), c2);
    assert_non_null(strstr(room3->log, "{\"type\":\"stage\",\"participant\":\"c2\",\"by\":\"t1\"}"));
    /* c2 reconnects: the stage view follows its new session. */
    char c2b[40];
    assert_int_equal(whip(CR_ROLE_CLASSROOM, "sync", "c2", c2b), 0);
    assert_null(cr__relay_session_find(relay, c2));
    assert_string_equal(bound(stage_sub), c2b);
    assert_string_equal(bound(grid2), c2b);
    /* Mute: teacher only. */
    assert_int_equal(cr__ctl_mute(relay, room3->l.p, "c2", 1, -1, detail, sizeof(detail)), CR_API_FORBIDDEN);
    assert_int_equal(cr__ctl_mute(relay, teacher->l.p, "c2", 1, -1, detail, sizeof(detail)), 0);
    assert_non_null(strstr(room3->log, "\"id\":\"c2\",\"role\":\"classroom\",\"name\":\"c2\",\"school\":\"\","
                                       "\"publishing\":false,\"hand\":false,\"on_stage\":true,\"audio_muted\":true"));
    /* Clearing the stage returns stage views to the teacher; in a synchronous class c2 keeps publishing. */
    assert_int_equal(cr__ctl_stage(relay, teacher->l.p, NULL, detail, sizeof(detail)), 0);
    assert_string_equal(bound(stage_sub), "");
    assert_non_null(cr__relay_session_find(relay, c2b));
    /* Raising a hand is allowed here, accepting it stages c1. */
    fake_t *room1 = join(CR_ROLE_CLASSROOM, "sync", "c1", &code);
    assert_int_equal(cr__ctl_accept(relay, teacher->l.p, "c1", detail, sizeof(detail)), CR_API_FORBIDDEN); /* no hand */
    assert_int_equal(cr__ctl_hand(relay, room1->l.p, 1, detail, sizeof(detail)), 0);
    assert_int_equal(cr__ctl_accept(relay, teacher->l.p, "c1", detail, sizeof(detail)), 0);
    assert_string_equal(bound(stage_sub), c1);
    /* The end: every session closes, new ones are refused, the class stays listed as ended. */
    assert_int_equal(cr__ctl_state(relay, room1->l.p, 0, detail, sizeof(detail)), CR_API_FORBIDDEN);
    assert_int_equal(cr__ctl_state(relay, teacher->l.p, 1, detail, sizeof(detail)), CR_API_BAD_STATE);
    assert_int_equal(cr__ctl_state(relay, teacher->l.p, 0, detail, sizeof(detail)), 0);
    assert_null(cr__relay_session_find(relay, t));
    assert_null(cr__relay_session_find(relay, stage_sub));
    assert_non_null(strstr(room3->log, "\"state\":\"ended\""));
    assert_int_equal(whip(CR_ROLE_TEACHER, "sync", "t1", NULL), CR_API_ENDED);
    leave(room1);
    leave(room3);
    leave(teacher); /* the last one: the ad-hoc class goes */
    assert_null(cr__class_find(relay, "sync"));
}

static void test_master_hand(void **state)
{
    (void)state;
    char t[40], q[40], stage_sub[40], detail[192];
    int code;
    fake_t *teacher = join(CR_ROLE_TEACHER, "mc", "t1", &code);
    assert_int_equal(code, 0);
    teacher->l.p->cls->d.kind = CR_KIND_MASTER; /* as if joined with "kind":"master" */
    fake_t *room = join(CR_ROLE_CLASSROOM, "mc", "r1", &code);
    assert_int_equal(whip(CR_ROLE_TEACHER, "mc", "t1", t), 0);
    assert_int_equal(whep(CR_ROLE_CLASSROOM, "mc", "r2", "view=stage", stage_sub), 0);
    /* Before an accepted hand, a classroom may not publish, nor be put on stage. */
    assert_int_equal(whip(CR_ROLE_CLASSROOM, "mc", "r1", NULL), CR_API_NOT_ON_STAGE);
    assert_int_equal(cr__ctl_stage(relay, teacher->l.p, "r1", detail, sizeof(detail)), CR_API_FORBIDDEN);
    assert_int_equal(cr__ctl_hand(relay, teacher->l.p, 1, detail, sizeof(detail)), CR_API_FORBIDDEN);
    assert_int_equal(cr__ctl_hand(relay, room->l.p, 1, detail, sizeof(detail)), 0);
    assert_non_null(strstr(teacher->log, "{\"type\":\"hand\",\"participant\":\"r1\",\"state\":\"raised\"}"));
    assert_int_equal(cr__ctl_accept(relay, room->l.p, "r1", detail, sizeof(detail)), CR_API_FORBIDDEN);
    assert_int_equal(cr__ctl_accept(relay, teacher->l.p, "r1", detail, sizeof(detail)), 0);
    assert_non_null(strstr(room->log, "\"state\":\"accepted\",\"by\":\"t1\""));
    assert_non_null(strstr(room->log, "\"may_publish\":true"));
    /* Now its question goes out to every stage view. */
    assert_string_equal(bound(stage_sub), ""); /* on stage, not yet publishing: the teacher */
    assert_int_equal(whip(CR_ROLE_CLASSROOM, "mc", "r1", q), 0);
    assert_string_equal(bound(stage_sub), q);
    /* Off stage, its right to publish ends with its session. */
    assert_int_equal(cr__ctl_stage(relay, teacher->l.p, NULL, detail, sizeof(detail)), 0);
    assert_null(cr__relay_session_find(relay, q));
    assert_string_equal(bound(stage_sub), "");
    assert_int_equal(whip(CR_ROLE_CLASSROOM, "mc", "r1", NULL), CR_API_NOT_ON_STAGE);
    leave(room);
    leave(teacher);
}

static void test_delete_and_kick(void **state)
{
    (void)state;
    char t[40], s1[40], auth[1200];
    int code;
    cr_relay_reply_t rep;
    assert_int_equal(whip(CR_ROLE_TEACHER, "k", "t1", t), 0);
    assert_int_equal(whep(CR_ROLE_CLASSROOM, "k", "r1", NULL, s1), 0);
    fake_t *room = join(CR_ROLE_CLASSROOM, "k", "r1", &code);
    assert_int_equal(code, 0);
    /* Another classroom cannot end r1's session; r1 can. */
    token(CR_ROLE_CLASSROOM, "k", "r2", 3600, auth, sizeof(auth));
    cr_relay_req_t req = {.auth = auth};
    cr_relay_delete(relay, s1, &req, &rep);
    assert_int_equal(rep.code, CR_API_NOT_OWNER);
    token(CR_ROLE_CLASSROOM, "k", "r1", 3600, auth, sizeof(auth));
    cr_relay_delete(relay, s1, &req, &rep);
    assert_int_equal(rep.status, 200);
    assert_null(cr__relay_session_find(relay, s1));
    /* Kick: the connection gets "kicked" and is closed with 4038. */
    assert_int_equal(whep(CR_ROLE_CLASSROOM, "k", "r1", NULL, s1), 0);
    unsigned ns, nl;
    cr__participant_kick(relay, room->l.p, CR_API_KICKED, "admin", &ns, &nl);
    assert_int_equal(ns, 1);
    assert_int_equal(nl, 1);
    assert_int_equal(room->closed_code, CR_API_KICKED);
    assert_non_null(strstr(room->log, "{\"type\":\"kicked\",\"by\":\"admin\"}"));
    assert_null(room->l.p);
    assert_null(cr__relay_session_find(relay, s1));
    free(room);
}

static void test_layer(void **state)
{
    (void)state;
    char t[40], s1[40], s2[40], detail[192];
    int code;
    assert_int_equal(whip(CR_ROLE_TEACHER, "lay", "t1", t), 0);
    assert_int_equal(whep(CR_ROLE_CLASSROOM, "lay", "r1", NULL, s1), 0);
    assert_int_equal(whep(CR_ROLE_CLASSROOM, "lay", "r2", NULL, s2), 0);
    fake_t *room = join(CR_ROLE_CLASSROOM, "lay", "r1", &code);
    assert_int_equal(code, 0);
    assert_int_equal(cr__ctl_layer(relay, room->l.p, s1, "l", detail, sizeof(detail)), 0);
    assert_int_equal(cr__ctl_layer(relay, room->l.p, s1, "", detail, sizeof(detail)), 0); /* the best */
    assert_int_equal(cr__ctl_layer(relay, room->l.p, s2, "l", detail, sizeof(detail)), CR_API_NOT_OWNER);
    assert_int_equal(cr__ctl_layer(relay, room->l.p, t, "l", detail, sizeof(detail)), CR_API_NOT_FOUND);
    assert_int_equal(cr__ctl_layer(relay, room->l.p, "nope", "l", detail, sizeof(detail)), CR_API_NOT_FOUND);
    assert_int_equal(cr__ctl_layer(relay, room->l.p, s1, "a/b", detail, sizeof(detail)), CR_API_BAD_REQUEST);
    assert_int_equal(cr__ctl_layer(relay, room->l.p, s1, "0123456789abcdef", detail, sizeof(detail)),
                     CR_API_BAD_REQUEST);
    leave(room);
}

static void test_timetable_end(void **state)
{
    (void)state;
    char t[40];
    cr__class_t *c = cr__class_find(relay, "ded");
    assert_non_null(c);
    assert_int_equal(whip(CR_ROLE_TEACHER, "ded", "t-wang", t), 0); /* teaching starts it */
    assert_int_equal(c->d.state, CR_CLASS_LIVE);
    assert_int_equal(whip(CR_ROLE_CLASSROOM, "ded", "r2", NULL), 0);
    c->d.end = (int64_t)time(NULL) - 1;
    cr__class_tick(relay, (int64_t)time(NULL));
    assert_int_equal(c->d.state, CR_CLASS_ENDED);
    assert_null(cr__relay_session_find(relay, t));
    assert_int_equal(whep(CR_ROLE_CLASSROOM, "ded", "r1", NULL, NULL), CR_API_ENDED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_refusals), cmocka_unit_test(test_kind_rules),
        cmocka_unit_test(test_membership),     cmocka_unit_test(test_synchronous_stage),
        cmocka_unit_test(test_master_hand),    cmocka_unit_test(test_delete_and_kick),
        cmocka_unit_test(test_layer),          cmocka_unit_test(test_timetable_end),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
