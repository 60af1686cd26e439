#include "ingest_plan.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

static void source_kinds(void **state)
{
    assert_int_equal(cr_src_kind_of("rtsp://10.0.0.5:554/live"), CR_SRC_RTSP);
    assert_int_equal(cr_src_kind_of("rtsps://h/x"), CR_SRC_RTSP);
    assert_int_equal(cr_src_kind_of("srt://10.0.0.5:9000?mode=caller"), CR_SRC_SRT);
    assert_int_equal(cr_src_kind_of("rtmp://h/app/key"), CR_SRC_RTMP);
    assert_int_equal(cr_src_kind_of("/srv/lesson.mp4"), CR_SRC_FILE);
    assert_int_equal(cr_src_kind_of("file:///srv/lesson.mp4"), CR_SRC_FILE);
    assert_int_equal(cr_src_kind_of("RTSP://upper"), CR_SRC_FILE); /* schemes are lower case */
}

static void layers_1080_720_360(void **state)
{
    const unsigned h[] = {1080, 720, 360};
    struct cr_layer l[3];
    assert_int_equal(cr_layer_plan(h, 3, 30, l), 3);
    assert_string_equal(l[0].rid, "h");
    assert_string_equal(l[1].rid, "m");
    assert_string_equal(l[2].rid, "l");
    assert_int_equal(l[0].width, 1920);
    assert_int_equal(l[1].width, 1280);
    assert_int_equal(l[2].width, 640);
    assert_int_equal(l[0].height, 1080);
    assert_int_equal(l[0].kbps, 4355); /* 1920*1080*30*0.07 = 4354.6 */
    assert_int_equal(l[2].kbps, 484);  /* 640*360*30*0.07 = 483.8 */
}

static void layers_odd_sizes_and_floor(void **state)
{
    const unsigned h[] = {480, 90};
    struct cr_layer l[3];
    assert_int_equal(cr_layer_plan(h, 2, 5, l), 2);
    assert_int_equal(l[0].width, 854); /* 853.3 rounded to even */
    assert_int_equal(l[1].width, 160);
    assert_int_equal(l[1].kbps, 100); /* the floor */
    const unsigned four[] = {1080, 720, 360, 180};
    assert_int_equal(cr_layer_plan(four, 4, 5, l), 3); /* never more than three rids */
}

static void passable_profiles(void **state)
{
    assert_true(cr_h264_passable("constrained-baseline"));
    assert_true(cr_h264_passable("baseline"));
    assert_true(cr_h264_passable("main"));
    assert_true(cr_h264_passable("high"));
    assert_false(cr_h264_passable("high-10"));
    assert_false(cr_h264_passable("high-4:2:2"));
    assert_false(cr_h264_passable("high-4:4:4"));
    assert_false(cr_h264_passable(NULL));
    assert_false(cr_h264_passable(""));
}

static void source_backoff(void **state)
{
    assert_int_equal(cr_src_backoff_ms(0), 0);
    assert_int_equal(cr_src_backoff_ms(1), 500);
    assert_int_equal(cr_src_backoff_ms(2), 1000);
    assert_int_equal(cr_src_backoff_ms(3), 2000);
    assert_int_equal(cr_src_backoff_ms(4), 3000);
    assert_int_equal(cr_src_backoff_ms(1000000), 3000);
    /* A server back right after a retry is seen within stall + backoff + connect. */
    assert_true(CR_SRC_STALL_MS + cr_src_backoff_ms(99) < 10000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(source_kinds),
        cmocka_unit_test(layers_1080_720_360),
        cmocka_unit_test(layers_odd_sizes_and_floor),
        cmocka_unit_test(passable_profiles),
        cmocka_unit_test(source_backoff),
    };
    return cmocka_run_group_tests_name("ingest_plan", tests, NULL, NULL);
}
