#include "opts.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#define PARSE(o, err, ...)                                                                     \
    ({                                                                                         \
        char *const argv_[] = {"classrelay-client", __VA_ARGS__};                              \
        cr_opts_parse(o, (int)(sizeof(argv_) / sizeof(argv_[0])), argv_, err, sizeof(err));    \
    })

static void teach_defaults(void **state)
{
    struct cr_opts o;
    char err[128];
    assert_int_equal(PARSE(&o, err, "teach", "http://10.99.0.1:8080/whip/demo"), 0);
    assert_int_equal(o.mode, CR_MODE_TEACH);
    assert_string_equal(o.url, "http://10.99.0.1:8080/whip/demo");
    assert_int_equal(o.bitrate_kbps, CR_OPTS_DEFAULT_BITRATE);
    assert_int_equal(o.width, 1280);
    assert_int_equal(o.height, 720);
    assert_int_equal(o.fps, 30);
    assert_int_equal(o.duration_s, 0);
    assert_false(o.test);
    assert_false(o.simulcast);
    assert_false(o.reconnect);
    assert_null(o.token);
    assert_null(o.local_ip);
}

static void teach_all_options(void **state)
{
    struct cr_opts o;
    char err[128];
    assert_int_equal(PARSE(&o, err, "teach", "--test", "--token", "s3cret", "--bitrate=800",
                           "--width", "640", "--height", "360", "--fps", "25", "--duration",
                           "12", "--reconnect", "--local-ip", "127.0.0.1", "--simulcast",
                           "https://relay.example/whip/x"),
                     0);
    assert_true(o.test);
    assert_true(o.simulcast);
    assert_string_equal(o.token, "s3cret");
    assert_int_equal(o.bitrate_kbps, 800);
    assert_int_equal(o.width, 640);
    assert_int_equal(o.height, 360);
    assert_int_equal(o.fps, 25);
    assert_int_equal(o.duration_s, 12);
    assert_true(o.reconnect);
    assert_string_equal(o.local_ip, "127.0.0.1");
    assert_string_equal(o.url, "https://relay.example/whip/x");
}

static void attend_options(void **state)
{
    struct cr_opts o;
    char err[128];
    assert_int_equal(PARSE(&o, err, "attend", "http://[::1]:8080/whep/demo", "--headless",
                           "--duration", "14", "--local-ip=::1"),
                     0);
    assert_int_equal(o.mode, CR_MODE_ATTEND);
    assert_true(o.headless);
    assert_int_equal(o.duration_s, 14);
    assert_string_equal(o.local_ip, "::1");
}

static void expect_error(int rc, const char *err, const char *needle)
{
    assert_int_equal(rc, -1);
    if (strstr(err, needle) == NULL)
        fail_msg("error '%s' does not mention '%s'", err, needle);
}

static void ingest_options(void **state)
{
    struct cr_opts o;
    char err[160];
    assert_int_equal(PARSE(&o, err, "ingest", "rtsp://10.0.0.5/live", "http://r/whip/c"), 0);
    assert_int_equal(o.mode, CR_MODE_INGEST);
    assert_string_equal(o.src, "rtsp://10.0.0.5/live");
    assert_string_equal(o.url, "http://r/whip/c");
    assert_false(o.transcode);
    assert_int_equal(o.n_layers, 3);
    assert_int_equal(o.layer_h[0], 1080);
    assert_int_equal(o.layer_h[2], 360);
    assert_int_equal(PARSE(&o, err, "ingest", "--transcode", "--layers", "720,360", "--fps", "15",
                           "--reconnect-source", "/srv/a.mp4", "http://r/whip/c", "--token", "t"),
                     0);
    assert_true(o.transcode);
    assert_true(o.reconnect_source);
    assert_int_equal(o.n_layers, 2);
    assert_int_equal(o.layer_h[1], 360);
    assert_int_equal(o.fps, 15);
    assert_string_equal(o.src, "/srv/a.mp4");
    expect_error(PARSE(&o, err, "ingest", "http://r/whip/c"), err, "missing <whip-url>");
    expect_error(PARSE(&o, err, "ingest"), err, "missing <src-url>");
    expect_error(PARSE(&o, err, "ingest", "ftp://x/a", "http://r/whip/c"), err, "rtsp://");
    expect_error(PARSE(&o, err, "ingest", "rtsp://", "http://r/whip/c"), err, "nothing after");
    expect_error(PARSE(&o, err, "ingest", "rtsp://x", "http://r/whip/c", "--layers", "720"), err,
                 "needs --transcode");
    expect_error(PARSE(&o, err, "ingest", "rtsp://x", "http://r/w", "--transcode", "--layers",
                       "360,720"), err, "best first");
    expect_error(PARSE(&o, err, "ingest", "rtsp://x", "http://r/w", "--transcode", "--layers",
                       "1080,720,360,180"), err, "1 to 3");
    expect_error(PARSE(&o, err, "ingest", "rtsp://x", "http://r/w", "--transcode", "--layers",
                       "721"), err, "even");
    expect_error(PARSE(&o, err, "ingest", "rtsp://x", "http://r/w", "--headless"), err,
                 "only valid for 'attend'");
    expect_error(PARSE(&o, err, "teach", "http://r/w", "--transcode"), err,
                 "only valid for 'ingest'");
}

static void record_options(void **state)
{
    struct cr_opts o;
    char err[160];
    assert_int_equal(PARSE(&o, err, "record", "http://r/whep/c", "--dir", "/srv/rec"), 0);
    assert_int_equal(o.mode, CR_MODE_RECORD);
    assert_string_equal(o.dir, "/srv/rec");
    assert_int_equal(o.segment_s, CR_OPTS_DEFAULT_SEGMENT_S);
    assert_int_equal(o.max_bytes, 0);
    assert_int_equal(PARSE(&o, err, "record", "http://r/whep/c", "--dir=/d", "--segment-seconds",
                           "30", "--max-bytes", "5000000000", "--teacher", "t1"),
                     0);
    assert_int_equal(o.segment_s, 30);
    assert_true(o.max_bytes == 5000000000ull);
    assert_string_equal(o.teacher, "t1");
    expect_error(PARSE(&o, err, "record", "http://r/whep/c"), err, "--dir");
    expect_error(PARSE(&o, err, "record", "http://r/whep/c", "--dir", "d", "--max-bytes", "10"),
                 err, "1048576");
    expect_error(PARSE(&o, err, "record", "http://r/whep/c", "--dir", "d", "--max-bytes", "-1"),
                 err, "1048576");
    expect_error(PARSE(&o, err, "record", "http://r/whep/c", "--dir", "d", "--fps", "5"), err,
                 "only valid for 'teach' or 'ingest'");
}

static void help(void **state)
{
    struct cr_opts o;
    char err[128];
    assert_int_equal(PARSE(&o, err, "--help"), 0);
    assert_true(o.help);
    assert_int_equal(PARSE(&o, err, "attend", "-h"), 0);
    assert_true(o.help);
    assert_non_null(strstr(cr_opts_usage(), "--headless"));
}

static void errors(void **state)
{
    struct cr_opts o;
    char err[128];
    expect_error(PARSE(&o, err, "teach"), err, "missing <url>");
    expect_error(PARSE(&o, err, "watch", "http://x/"), err, "unknown command");
    expect_error(PARSE(&o, err, "--test"), err, "unknown command");
    expect_error(PARSE(&o, err, "teach", "ftp://x/whip/a"), err, "http://");
    expect_error(PARSE(&o, err, "teach", "http:///whip/a"), err, "no host");
    expect_error(PARSE(&o, err, "teach", "http://x/a", "http://y/b"), err, "unexpected");
    expect_error(PARSE(&o, err, "teach", "http://x/a", "--bogus"), err, "unknown option");
    expect_error(PARSE(&o, err, "teach", "http://x/a", "-x"), err, "unknown option");
    expect_error(PARSE(&o, err, "teach", "http://x/a", "--token"), err, "needs a value");
    expect_error(PARSE(&o, err, "teach", "http://x/a", "--token="), err, "non-empty");
    expect_error(PARSE(&o, err, "teach", "http://x/a", "--test=1"), err, "takes no value");
    expect_error(PARSE(&o, err, "teach", "http://x/a", "--bitrate", "fast"), err, "not a number");
    expect_error(PARSE(&o, err, "teach", "http://x/a", "--bitrate", "-5"), err, "not a number");
    expect_error(PARSE(&o, err, "teach", "http://x/a", "--fps", "0"), err, "1..120");
    expect_error(PARSE(&o, err, "teach", "http://x/a", "--fps", "30x"), err, "not a number");
    expect_error(PARSE(&o, err, "teach", "http://x/a", "--width", "99999999999"), err,
                 "not a number");
    expect_error(PARSE(&o, err, "teach", "http://x/a", "--test", "--file", "a.mp4"), err,
                 "together");
    expect_error(PARSE(&o, err, "teach", "http://x/a", "--local-ip", "eth0"), err,
                 "not an IP");
    expect_error(PARSE(&o, err, "teach", "http://x/a", "--headless"), err, "only valid for 'attend'");
    expect_error(PARSE(&o, err, "attend", "http://x/a", "--test"), err, "only valid for 'teach'");
    expect_error(PARSE(&o, err, "attend", "http://x/a", "--simulcast"), err, "only valid for 'teach'");
    expect_error(PARSE(&o, err, "teach", "http://x/a", "--simulcast=1"), err, "takes no value");
    expect_error(PARSE(&o, err, "attend", "http://x/a", "--bitrate", "9"), err,
                 "only valid for 'teach'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(teach_defaults), cmocka_unit_test(teach_all_options),
        cmocka_unit_test(attend_options), cmocka_unit_test(help),
        cmocka_unit_test(errors), cmocka_unit_test(ingest_options),
        cmocka_unit_test(record_options),
    };
    return cmocka_run_group_tests_name("opts", tests, NULL, NULL);
}
