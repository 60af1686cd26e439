/* Unit tests of relay/supervise: the back-off schedule, worker command lines, recording names, byte
 * ranges, and the supervisor itself with real child processes (/bin/sh scripts under test). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cr_err.h"
#include "cr_recfile.h"
#include "cr_supervise.h"
#include "cr_workcmd.h"

static void backoff_schedule(void **state)
{
    (void)state;
    assert_int_equal(cr_sup_backoff_ms(0), 0);
    assert_int_equal(cr_sup_backoff_ms(1), 1000);
    assert_int_equal(cr_sup_backoff_ms(2), 2000);
    assert_int_equal(cr_sup_backoff_ms(3), 4000);
    assert_int_equal(cr_sup_backoff_ms(6), 32000);
    assert_int_equal(cr_sup_backoff_ms(7), CR_SUP_BACKOFF_MAX_MS);
    assert_int_equal(cr_sup_backoff_ms(64), CR_SUP_BACKOFF_MAX_MS);
    assert_int_equal(cr_sup_backoff_ms(UINT32_MAX), CR_SUP_BACKOFF_MAX_MS);
    for (unsigned i = 1; i < 40; i++)
        assert_true(cr_sup_backoff_ms(i + 1) >= cr_sup_backoff_ms(i));
}

static void status_text(void **state)
{
    (void)state;
    char s[48];
    cr_sup_describe_status(1 << 8, s, sizeof(s));
    assert_string_equal(s, "exit 1");
    cr_sup_describe_status(9, s, sizeof(s));
    assert_string_equal(s, "signal 9 (Killed)");
    assert_string_equal(cr_sup_state_name(CR_SUP_BACKOFF), "backoff");
}

static const cr_workcmd_env_t env = {"/usr/bin/classrelay-client", "http://10.0.0.1:8080", "10.0.0.1"};

static void ingest_command(void **state)
{
    (void)state;
    cr_workcmd_t c;
    cr_workcmd_ingest_t in = {"grade7-math", "rtsp://studio:554/live?x=1 y", 0, NULL, 0};
    assert_int_equal(cr_workcmd_ingest(&c, &env, &in), 0);
    const char *want[] = {"/usr/bin/classrelay-client", "ingest", "rtsp://studio:554/live?x=1 y",
                          "http://10.0.0.1:8080/whip/grade7-math", "--reconnect-source", "--reconnect",
                          "--local-ip", "10.0.0.1", NULL};
    for (unsigned i = 0; want[i] != NULL; i++)
        assert_string_equal(c.argv[i], want[i]);
    assert_null(c.argv[8]);
    in.transcode = 1;
    in.layers = "1080,720,360";
    in.fps = 15;
    cr_workcmd_env_t e2 = {"/c", "http://127.0.0.1:8080", NULL};
    assert_int_equal(cr_workcmd_ingest(&c, &e2, &in), 0);
    assert_int_equal(c.n, 10);
    assert_string_equal(c.argv[5], "--transcode");
    assert_string_equal(c.argv[6], "--layers");
    assert_string_equal(c.argv[7], "1080,720,360");
    assert_string_equal(c.argv[8], "--fps=15");
    assert_string_equal(c.argv[9], "--reconnect");
    /* Refused: a class id with a path, a URL that would read as an option, a relative client. */
    in.class_id = "../etc";
    assert_int_equal(cr_workcmd_ingest(&c, &env, &in), CR_EINVAL);
    in.class_id = "a";
    in.url = "--help";
    assert_int_equal(cr_workcmd_ingest(&c, &env, &in), CR_EINVAL);
    in.url = "rtsp://x";
    cr_workcmd_env_t rel = {"classrelay-client", "http://h:1", NULL};
    assert_int_equal(cr_workcmd_ingest(&c, &rel, &in), CR_EINVAL);
    /* An argument that does not fit the buffer spoils the command. */
    char big[CR_WORKCMD_BUF + 8];
    memset(big, 'h', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    cr_workcmd_env_t huge = {"/c", big, NULL};
    assert_int_equal(cr_workcmd_ingest(&c, &huge, &in), CR_ETOOBIG);
}

static void record_command(void **state)
{
    (void)state;
    cr_workcmd_t c;
    cr_workcmd_record_t r = {"demo", "/srv/recordings", 600, 2000000000ull, "t-wang"};
    assert_int_equal(cr_workcmd_record(&c, &env, &r), 0);
    const char *want[] = {"/usr/bin/classrelay-client", "record", "http://10.0.0.1:8080/whep/demo", "--dir",
                          "/srv/recordings", "--segment-seconds=600", "--max-bytes=2000000000", "--teacher",
                          "t-wang", "--reconnect", "--local-ip", "10.0.0.1", NULL};
    for (unsigned i = 0; want[i] != NULL; i++)
        assert_string_equal(c.argv[i], want[i]);
    assert_null(c.argv[12]);
    r.class_id = "a/../../b";
    assert_int_equal(cr_workcmd_record(&c, &env, &r), CR_EINVAL);
    r.class_id = "demo";
    r.dir = "relative";
    assert_int_equal(cr_workcmd_record(&c, &env, &r), CR_EINVAL);
    r.dir = "/srv";
    r.teacher = "t wang";
    assert_int_equal(cr_workcmd_record(&c, &env, &r), CR_EINVAL);
}

static void base_url(void **state)
{
    (void)state;
    char u[64];
    assert_int_equal(cr_workcmd_base_url("0.0.0.0", 8080, u, sizeof(u)), 0);
    assert_string_equal(u, "http://127.0.0.1:8080");
    assert_int_equal(cr_workcmd_base_url("10.99.0.1", 80, u, sizeof(u)), 0);
    assert_string_equal(u, "http://10.99.0.1:80");
    assert_int_equal(cr_workcmd_base_url("10.99.0.1", 80, u, 8), CR_ETOOBIG);
}

static void recording_names(void **state)
{
    (void)state;
#define K(s) cr_recfile_kind(s, strlen(s))
    assert_int_equal(K("demo-20261123T181811Z-0001.mp4"), CR_RECFILE_SEGMENT);
    assert_int_equal(K("demo-20261123T181811Z.json"), CR_RECFILE_SIDECAR);
    assert_int_equal(K("../demo.mp4"), CR_RECFILE_NONE);
    assert_int_equal(K("a/b.mp4"), CR_RECFILE_NONE);
    assert_int_equal(K("..mp4"), CR_RECFILE_NONE);
    assert_int_equal(K(".mp4"), CR_RECFILE_NONE);
    assert_int_equal(K("-x.mp4"), CR_RECFILE_NONE);
    assert_int_equal(K("a.json.tmp"), CR_RECFILE_NONE);
    assert_int_equal(K("a.mp4.json"), CR_RECFILE_NONE);
    assert_int_equal(K("a%2F.mp4"), CR_RECFILE_NONE);
    assert_int_equal(K("a\\b.mp4"), CR_RECFILE_NONE);
    assert_int_equal(K("a b.mp4"), CR_RECFILE_NONE);
    assert_int_equal(K(""), CR_RECFILE_NONE);
    assert_int_equal(cr_recfile_kind("a.mp4\0x", 7), CR_RECFILE_NONE); /* an embedded NUL */
    char longname[CR_RECFILE_NAME_MAX + 8];
    memset(longname, 'a', sizeof(longname));
    memcpy(longname + CR_RECFILE_NAME_MAX - 4, ".mp4", 5);
    assert_int_equal(K(longname), CR_RECFILE_SEGMENT);
    memcpy(longname + CR_RECFILE_NAME_MAX - 3, ".mp4", 5);
    assert_int_equal(K(longname), CR_RECFILE_NONE);
    assert_string_equal(cr_recfile_type(CR_RECFILE_SEGMENT), "video/mp4");
    assert_null(cr_recfile_type(CR_RECFILE_NONE));
#undef K
}

static void ranges(void **state)
{
    (void)state;
    uint64_t f = 0, l = 0;
    assert_int_equal(cr_http_range(NULL, 1000, &f, &l), 0);
    assert_int_equal(cr_http_range("bytes=0-99", 1000, &f, &l), 1);
    assert_true(f == 0 && l == 100);
    assert_int_equal(cr_http_range("bytes=900-", 1000, &f, &l), 1);
    assert_true(f == 900 && l == 100);
    assert_int_equal(cr_http_range("bytes=900-5000", 1000, &f, &l), 1); /* clipped to the end */
    assert_true(f == 900 && l == 100);
    assert_int_equal(cr_http_range("bytes=-10", 1000, &f, &l), 1);
    assert_true(f == 990 && l == 10);
    assert_int_equal(cr_http_range("bytes=-5000", 1000, &f, &l), 1);
    assert_true(f == 0 && l == 1000);
    assert_int_equal(cr_http_range("bytes=1000-", 1000, &f, &l), -1);
    assert_int_equal(cr_http_range("bytes=-0", 1000, &f, &l), -1);
    assert_int_equal(cr_http_range("bytes=0-", 0, &f, &l), -1);
    /* Ignored: the whole file is served. */
    assert_int_equal(cr_http_range("bytes=5-1", 1000, &f, &l), 0);
    assert_int_equal(cr_http_range("bytes=0-1,5-6", 1000, &f, &l), 0);
    assert_int_equal(cr_http_range("items=0-1", 1000, &f, &l), 0);
    assert_int_equal(cr_http_range("bytes= 0-1", 1000, &f, &l), 0);
    assert_int_equal(cr_http_range("bytes=+0-1", 1000, &f, &l), 0);
    assert_int_equal(cr_http_range("bytes=0-1x", 1000, &f, &l), 0);
    assert_int_equal(cr_http_range("bytes=99999999999999999999999-", 1000, &f, &l), 0);
    assert_int_equal(cr_http_range("bytes=18446744073709551615-", UINT64_MAX, &f, &l), -1);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Polls until worker name reaches state st (or the deadline). */
static int wait_state(cr_sup_t *s, const char *name, enum cr_sup_state st, unsigned ms, cr_sup_info_t *info)
{
    uint64_t end = now_ms() + ms;
    while (now_ms() < end) {
        cr_sup_poll(s, now_ms());
        if (cr_sup_find(s, name, info) == 0 && info->state == st)
            return 1;
        usleep(10 * 1000);
    }
    return 0;
}

static void supervisor_lifecycle(void **state)
{
    (void)state;
    cr_sup_t *s;
    cr_sup_info_t info;
    char dir[] = "/tmp/cr-test-sup-XXXXXX", out[96], log[96];
    assert_non_null(mkdtemp(dir));
    snprintf(out, sizeof(out), "%s/env", dir);
    snprintf(log, sizeof(log), "%s/w.log", dir);
    assert_int_equal(cr_sup_new(&s, 2), 0);
    /* The worker writes its environment entry and lives until killed. */
    char script[256];
    snprintf(script, sizeof(script), "echo \"$CR_TEST_VALUE\" > %s; echo started; exec sleep 30", out);
    const char *argv[] = {"/bin/sh", "-c", script, NULL};
    const char *envp[] = {"CR_TEST_VALUE=a b;c", NULL};
    assert_int_equal(cr_sup_set(s, "w", argv, envp, log), 0);
    assert_int_equal(cr_sup_find(s, "w", &info), 0);
    assert_int_equal(info.state, CR_SUP_STOPPED);
    assert_int_equal(cr_sup_want(s, "w", 1), 0);
    assert_true(wait_state(s, "w", CR_SUP_RUNNING, 2000, &info));
    assert_true(info.pid > 0);
    pid_t first = info.pid;
    /* Killed: restarted after the first back-off step (1 s), counted as a restart. */
    assert_int_equal(cr_sup_signal(s, "w", SIGKILL), 0);
    assert_true(wait_state(s, "w", CR_SUP_BACKOFF, 2000, &info));
    assert_string_equal(info.last_exit, "signal 9 (Killed)");
    assert_int_equal(info.failures, 1);
    uint64_t t0 = now_ms();
    assert_true(wait_state(s, "w", CR_SUP_RUNNING, 3000, &info));
    assert_true(now_ms() - t0 >= 900);
    assert_true(info.pid > 0 && info.pid != first);
    assert_int_equal(info.restarts, 1);
    assert_int_equal(info.starts, 2);
    /* The value arrived intact (no shell ever saw it) and stdout went to the log. */
    struct stat st;
    for (int i = 0; i < 200 && (stat(out, &st) != 0 || st.st_size == 0); i++)
        usleep(10 * 1000);
    FILE *f = fopen(out, "r");
    assert_non_null(f);
    char line[64] = "";
    assert_non_null(fgets(line, sizeof(line), f));
    fclose(f);
    assert_string_equal(line, "a b;c\n");
    assert_int_equal(stat(log, &st), 0);
    assert_true(st.st_size >= 8);
    /* Not wanted: SIGTERM, reaped, stopped; then forgotten. */
    assert_int_equal(cr_sup_remove(s, "w"), CR_ESTATE);
    assert_int_equal(cr_sup_want(s, "w", 0), 0);
    assert_true(wait_state(s, "w", CR_SUP_STOPPED, 3000, &info));
    assert_string_equal(info.last_exit, "signal 15 (Terminated)");
    assert_int_equal(info.pid, 0);
    assert_int_equal(cr_sup_remove(s, "w"), 0);
    assert_int_equal(cr_sup_count(s), 0);
    assert_int_equal(cr_sup_want(s, "w", 1), CR_ENOTFOUND);
    cr_sup_free(s);
    unlink(out);
    unlink(log);
    rmdir(dir);
}

static void supervisor_limits(void **state)
{
    (void)state;
    cr_sup_t *s;
    cr_sup_info_t info;
    assert_int_equal(cr_sup_new(&s, 1), 0);
    const char *rel[] = {"sh", NULL};
    assert_int_equal(cr_sup_set(s, "w", rel, NULL, NULL), CR_EINVAL); /* no PATH search */
    const char *noeq[] = {"NOEQUALS", NULL};
    const char *ok[] = {"/bin/true", NULL};
    assert_int_equal(cr_sup_set(s, "w", ok, noeq, NULL), CR_EINVAL);
    assert_int_equal(cr_sup_set(s, "", ok, NULL, NULL), CR_EINVAL);
    assert_int_equal(cr_sup_set(s, "w", ok, NULL, NULL), 0);
    assert_int_equal(cr_sup_set(s, "w2", ok, NULL, NULL), CR_EFULL);
    /* A worker that cannot be started backs off instead of spinning. */
    const char *missing[] = {"/nonexistent/classrelay-client", NULL};
    assert_int_equal(cr_sup_set(s, "w", missing, NULL, NULL), 0);
    assert_int_equal(cr_sup_want(s, "w", 1), 0);
    cr_sup_poll(s, now_ms());
    usleep(50 * 1000);
    cr_sup_poll(s, now_ms());
    assert_int_equal(cr_sup_find(s, "w", &info), 0);
    /* posix_spawn reports exec failure as an exit 127 of the child, or as an error. */
    assert_true(info.state == CR_SUP_BACKOFF || info.state == CR_SUP_RUNNING);
    assert_true(wait_state(s, "w", CR_SUP_BACKOFF, 2000, &info));
    assert_true(info.next_start_ms > now_ms() - 100);
    cr_sup_free(s);
    cr_sup_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(backoff_schedule), cmocka_unit_test(status_text),
        cmocka_unit_test(ingest_command),   cmocka_unit_test(record_command),
        cmocka_unit_test(base_url),         cmocka_unit_test(recording_names),
        cmocka_unit_test(ranges),           cmocka_unit_test(supervisor_lifecycle),
        cmocka_unit_test(supervisor_limits),
    };
    return cmocka_run_group_tests_name("supervise", tests, NULL, NULL);
}
