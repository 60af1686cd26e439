#include "record_meta.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

static void class_from_url(void **state)
{
    char id[65];
    assert_int_equal(cr_rec_class_from_url("http://10.99.0.1:8080/whep/grade7-math", id, sizeof(id)), 0);
    assert_string_equal(id, "grade7-math");
    assert_int_equal(cr_rec_class_from_url("https://r/x/whep/a_b?view=main#f", id, sizeof(id)), 0);
    assert_string_equal(id, "a_b");
    /* The last /whep/ counts, and what follows must be an id: no path can sneak in. */
    assert_int_equal(cr_rec_class_from_url("http://r/whep/../../etc", id, sizeof(id)), -1);
    assert_int_equal(cr_rec_class_from_url("http://r/whep/a/b", id, sizeof(id)), -1);
    assert_int_equal(cr_rec_class_from_url("http://r/whep/a%2Fb", id, sizeof(id)), -1);
    assert_int_equal(cr_rec_class_from_url("http://r/whep/.hidden", id, sizeof(id)), -1);
    assert_int_equal(cr_rec_class_from_url("http://r/whep/", id, sizeof(id)), -1);
    assert_int_equal(cr_rec_class_from_url("http://r/whip/a", id, sizeof(id)), -1);
    char small[4];
    assert_int_equal(cr_rec_class_from_url("http://r/whep/abcd", small, sizeof(small)), -1);
    char longid[80];
    memset(longid, 'a', 65);
    longid[65] = '\0';
    char url[120];
    snprintf(url, sizeof(url), "http://r/whep/%s", longid);
    assert_int_equal(cr_rec_class_from_url(url, id, sizeof(id)), -1);
}

static void names(void **state)
{
    char base[96], seg[96], stamp[20], iso[32];
    cr_rec_stamp(1795457891, stamp, sizeof(stamp));
    assert_string_equal(stamp, "20261123T181811Z");
    cr_rec_iso_ms(1795457891123LL, iso, sizeof(iso));
    assert_string_equal(iso, "2026-11-23T18:18:11.123Z");
    assert_int_equal(cr_rec_base_name("demo", 1795457891, base, sizeof(base)), 0);
    assert_string_equal(base, "demo-20261123T181811Z");
    assert_int_equal(cr_rec_segment_name(base, 1, seg, sizeof(seg)), 0);
    assert_string_equal(seg, "demo-20261123T181811Z-0001.mp4");
    assert_int_equal(cr_rec_segment_name(base, 0, seg, sizeof(seg)), -1);
    assert_int_equal(cr_rec_segment_name(base, CR_REC_MAX_SEGMENTS + 1, seg, sizeof(seg)), -1);
    assert_int_equal(cr_rec_base_name("../x", 0, base, sizeof(base)), -1);
    assert_int_equal(cr_rec_base_name("a/b", 0, base, sizeof(base)), -1);
    assert_int_equal(cr_rec_base_name("", 0, base, sizeof(base)), -1);
    assert_int_equal(cr_rec_base_name(NULL, 0, base, sizeof(base)), -1);
    assert_int_equal(cr_rec_base_name("demo", 0, base, 8), -1);
    /* The longest class id still fits every name. */
    char id[65];
    memset(id, 'z', 64);
    id[64] = '\0';
    assert_int_equal(cr_rec_base_name(id, 1795457891, base, sizeof(base)), 0);
    assert_int_equal(cr_rec_segment_name(base, CR_REC_MAX_SEGMENTS, seg, sizeof(seg)), 0);
    assert_true(strlen(seg) + strlen(".tmp") < CR_REC_NAME_MAX);
}

static void sidecar_json(void **state)
{
    struct cr_rec_segment segs[2] = {
        {"demo-20261123T181811Z-0001.mp4", 1795457891000LL, 1795457901500LL, 1234},
        {"demo-20261123T181811Z-0002.mp4", 1795457901500LL, 0, 99},
    };
    struct cr_rec_meta m = {"demo", "t\"x\\", "recording", 1795457891000LL, 0, 1795457903000LL, segs, 2};
    char buf[1024];
    int n = cr_rec_meta_json(&m, buf, sizeof(buf));
    assert_true(n > 0 && (size_t)n < sizeof(buf));
    assert_int_equal(n, (int)strlen(buf));
    assert_string_equal(buf,
        "{\"class\":\"demo\",\"teacher\":\"t\\\"x\\\\\",\"state\":\"recording\","
        "\"start\":\"2026-11-23T18:18:11.000Z\",\"end\":null,\"updated\":\"2026-11-23T18:18:23.000Z\","
        "\"duration_s\":12.0,\"format\":\"mp4 h264 opus\",\"segments\":["
        "{\"file\":\"demo-20261123T181811Z-0001.mp4\",\"start\":\"2026-11-23T18:18:11.000Z\","
        "\"end\":\"2026-11-23T18:18:21.500Z\",\"bytes\":1234},"
        "{\"file\":\"demo-20261123T181811Z-0002.mp4\",\"start\":\"2026-11-23T18:18:21.500Z\","
        "\"end\":null,\"bytes\":99}]}\n");
    /* Sizing like snprintf, and truncation that stays terminated. */
    assert_int_equal(cr_rec_meta_json(&m, NULL, 0), n);
    char small[16];
    assert_int_equal(cr_rec_meta_json(&m, small, sizeof(small)), n);
    assert_int_equal(strlen(small), sizeof(small) - 1);
    /* Unknown teacher, finished, control characters escaped. */
    struct cr_rec_meta m2 = {"d", "", "complete", 1000, 31000, 31000, NULL, 0};
    assert_true(cr_rec_meta_json(&m2, buf, sizeof(buf)) > 0);
    assert_non_null(strstr(buf, "\"teacher\":null"));
    assert_non_null(strstr(buf, "\"duration_s\":30.0"));
    struct cr_rec_meta m3 = {"d", "a\nb", "failed", 0, 0, 0, NULL, 0};
    assert_true(cr_rec_meta_json(&m3, buf, sizeof(buf)) > 0);
    assert_non_null(strstr(buf, "a\\u000ab"));
    assert_int_equal(cr_rec_meta_json(NULL, buf, sizeof(buf)), -1);
}

static void atomic_write(void **state)
{
    char dir[] = "/tmp/cr-test-rec-XXXXXX";
    assert_non_null(mkdtemp(dir));
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    assert_true(dfd >= 0);
    assert_int_equal(cr_rec_write_atomic(dfd, "a.json", "{}\n", 3), 0);
    assert_int_equal(cr_rec_write_atomic(dfd, "a.json", "{\"x\":1}\n", 8), 0);
    struct stat st;
    assert_int_equal(fstatat(dfd, "a.json", &st, 0), 0);
    assert_int_equal(st.st_size, 8);
    assert_int_equal(fstatat(dfd, "a.json.tmp", &st, 0), -1); /* no temp left behind */
    /* A symlink planted at the temp name is removed, not followed. */
    assert_int_equal(symlinkat("/tmp/cr-test-rec-outside", dfd, "b.json.tmp"), 0);
    assert_int_equal(cr_rec_write_atomic(dfd, "b.json", "{}\n", 3), 0);
    assert_int_equal(access("/tmp/cr-test-rec-outside", F_OK), -1);
    assert_true(cr_rec_write_atomic(dfd, "../escape.json", "{}", 2) < 0);
    unlinkat(dfd, "a.json", 0);
    unlinkat(dfd, "b.json", 0);
    close(dfd);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(class_from_url),
        cmocka_unit_test(names),
        cmocka_unit_test(sidecar_json),
        cmocka_unit_test(atomic_write),
    };
    return cmocka_run_group_tests_name("record_meta", tests, NULL, NULL);
}
