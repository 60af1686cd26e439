#include "stats.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

static void attend_line(void **state)
{
    struct cr_stats_sample prev = {.t = 2.0, .frames = 60, .video_bytes = 400000,
                                   .audio_bytes = 10000, .audio_samples = 96000};
    struct cr_stats_sample cur = {.t = 3.0, .unix_s = 1700000000.1234, .frames = 90,
                                  .video_bytes = 581250, .audio_bytes = 15000,
                                  .audio_samples = 144000, .packets_lost = 2, .jitter_ms = 1.25,
                                  .frames_dropped = 1};
    char out[512];
    size_t n = cr_stats_format(out, sizeof(out), CR_STATS_ATTEND, "stats", &cur, &prev);
    assert_string_equal(out, "stats t=3 frames_decoded=90 frames_dropped=1 fps=30.0 "
                             "video_kbps=1450 audio_kbps=40 audio_samples=144000 "
                             "packets_lost=2 jitter_ms=1.2 unix=1700000000.123");
    assert_int_equal(n, strlen(out));
}

static void teach_summary(void **state)
{
    struct cr_stats_sample first = {.t = 0.0};
    struct cr_stats_sample cur = {.t = 10.02, .unix_s = 5.0, .frames = 299,
                                  .video_bytes = 1875000, .audio_bytes = 80000,
                                  .audio_samples = 480000};
    char out[512];
    cr_stats_format(out, sizeof(out), CR_STATS_TEACH, "summary", &cur, &first);
    assert_string_equal(out, "summary t=10 frames_sent=299 fps=29.8 video_kbps=1497 "
                             "audio_kbps=64 audio_samples=480000 unix=5.000");
}

static void degenerate(void **state)
{
    /* no time elapsed, or a counter reset: rates are 0, never negative or infinite */
    struct cr_stats_sample a = {.t = 1.0, .frames = 10, .video_bytes = 100};
    struct cr_stats_sample b = {.t = 1.0, .frames = 5, .video_bytes = 50};
    char out[512];
    cr_stats_format(out, sizeof(out), CR_STATS_ATTEND, "stats", &b, &a);
    assert_non_null(strstr(out, " fps=0.0 video_kbps=0 "));
    char tiny[10];
    assert_int_equal(cr_stats_format(tiny, sizeof(tiny), CR_STATS_TEACH, "stats", &a, &b), 9);
    assert_string_equal(tiny, "stats t=1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(attend_line),
        cmocka_unit_test(teach_summary),
        cmocka_unit_test(degenerate),
    };
    return cmocka_run_group_tests_name("stats", tests, NULL, NULL);
}
