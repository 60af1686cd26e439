/* Unit tests of the JSON-lines event log (relay/metrics/cr_events.c): formatting, escaping, the rate
 * limit on repeated lines, the ring of recent lines and the counters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cr_err.h"
#include "cr_events.h"

#define T0 1756713603120LL /* 2025-09-01T08:00:03.120Z */

static void test_format(void **state)
{
    (void)state;
    char buf[512];
    cr_event_field_t f[] = {{.key = "class", .str = "math-7"}, {.key = "code", .num = 4033},
                            {.key = "name", .str = "三(1)班 \"A\"\\\n\t"}};
    int n = cr_events_format(buf, sizeof(buf), T0, CR_LOG_WARN, "join_refused", f, 3, 0);
    assert_int_equal(n, (int)strlen(buf));
    assert_string_equal(buf, "{\"ts\":\"2025-09-01T08:00:03.120Z\",\"level\":\"warn\",\"event\":\"join_refused\","
                             "\"class\":\"math-7\",\"code\":4033,\"name\":\"三(1)班 \\\"A\\\"\\\\\\u000a\\u0009\"}\n");
    n = cr_events_format(buf, sizeof(buf), T0, CR_LOG_INFO, "x", NULL, 0, 7);
    assert_string_equal(buf, "{\"ts\":\"2025-09-01T08:00:03.120Z\",\"level\":\"info\",\"event\":\"x\",\"suppressed\":7}\n");
    assert_int_equal(cr_events_format(buf, sizeof(buf), T0, CR_LOG_INFO, NULL, NULL, 0, 0), CR_EINVAL);
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    char buf[256];
    cr_event_field_t f[] = {{.key = "v", .str = "a\xff" "b\xc3" "\xed\xa0\x80" "c\xe2\x82\xac"}};
    assert_true(cr_events_format(buf, sizeof(buf), T0, CR_LOG_INFO, "e", f, 1, 0) > 0);
    /* 0xff, a lone lead byte and a UTF-16 surrogate are replaced; the euro sign is kept. */
    assert_non_null(strstr(buf, "\"v\":\"a\\ufffdb\\ufffd\\ufffd\\ufffd\\ufffdc\xe2\x82\xac\"}"));
}

static void test_truncation(void **state)
{
    (void)state;
    char buf[160], big[400];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    cr_event_field_t f[] = {{.key = "a", .str = "short"}, {.key = "b", .str = big}};
    assert_int_equal(cr_events_format(buf, sizeof(buf), T0, CR_LOG_INFO, "e", f, 2, 0), CR_EFULL);
    assert_true(strlen(buf) < sizeof(buf));
    assert_non_null(strstr(buf, "\"a\":\"short\",\"truncated\":true}\n"));
    assert_null(strstr(buf, "xxx"));
}

static int read_file(const char *path, char *out, size_t cap)
{
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return -1;
    size_t n = fread(out, 1, cap - 1, fp);
    out[n] = '\0';
    fclose(fp);
    return (int)n;
}

static int count_lines(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void test_file_and_rate_limit(void **state)
{
    (void)state;
    char path[] = "/tmp/cr-events-test-XXXXXX", err[256];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(cr_events_open(path, CR_LOG_INFO, err, sizeof(err)), 0);
    cr_event_at(T0, CR_LOG_DEBUG, "hidden", "class", "c", NULL); /* below the level */
    for (int i = 0; i < 12; i++) /* 12 identical lines in one window: 5 written */
        cr_event_at(T0 + i, CR_LOG_WARN, "join_refused", "class", "c", "participant", "r1", "#code", 4033LL, NULL);
    cr_event_at(T0 + 20, CR_LOG_WARN, "join_refused", "class", "c", "participant", "r2", "#code", 4033LL, NULL);
    /* After the window: written again, with the suppressed count. */
    cr_event_at(T0 + CR_EVENTS_WINDOW_MS + 1, CR_LOG_WARN, "join_refused", "class", "c", "participant", "r1", "#code",
                4033LL, NULL);
    char text[8192];
    assert_true(read_file(path, text, sizeof(text)) > 0);
    assert_null(strstr(text, "hidden"));
    assert_int_equal(count_lines(text, "\"participant\":\"r1\""), 6);
    assert_int_equal(count_lines(text, "\"participant\":\"r2\""), 1);
    assert_int_equal(count_lines(text, "\"suppressed\":7}"), 1);
    assert_int_equal(count_lines(text, "\n"), 7);

    /* The ring holds the written lines in order; the counters count every event. */
    cr_event_rec_t recs[16];
    size_t n = cr_events_recent(0, recs, 16);
    assert_int_equal(n, 7);
    assert_int_equal(recs[0].seq, 1);
    assert_int_equal(recs[6].seq, 7);
    assert_string_equal(recs[5].event, "join_refused");
    assert_non_null(strstr(recs[5].line, "\"participant\":\"r2\""));
    assert_int_equal(cr_events_recent(5, recs, 16), 2);
    assert_int_equal(recs[0].seq, 6);
    assert_int_equal(cr_events_recent(7, recs, 16), 0);
    cr_event_count_t counts[8];
    assert_int_equal(cr_events_counts(counts, 8), 1);
    assert_string_equal(counts[0].event, "join_refused");
    assert_int_equal(counts[0].count, 14);
    cr_events_close();
    unlink(path);
    assert_int_equal(cr_events_open("/nonexistent-dir/x.log", CR_LOG_INFO, err, sizeof(err)), CR_EIO);
    assert_non_null(strstr(err, "cannot open"));
}

static void test_ring_wraps(void **state)
{
    (void)state;
    char err[64];
    assert_int_equal(cr_events_open("/dev/null", CR_LOG_INFO, err, sizeof(err)), 0);
    char id[16];
    for (int i = 0; i < CR_EVENTS_RING + 10; i++) {
        snprintf(id, sizeof(id), "p%d", i);
        cr_event_at(T0, CR_LOG_INFO, "participant_joined", "participant", id, NULL);
    }
    static cr_event_rec_t recs[CR_EVENTS_RING + 10];
    size_t n = cr_events_recent(0, recs, CR_EVENTS_RING + 10);
    assert_int_equal(n, CR_EVENTS_RING);
    assert_int_equal(recs[0].seq, 11);
    assert_non_null(strstr(recs[n - 1].line, "\"p265\""));
    /* Many distinct lines: the rate limit's table evicts the oldest and never refuses new lines. */
    for (int i = 0; i < CR_EVENTS_KEYS * 3; i++) {
        snprintf(id, sizeof(id), "q%d", i);
        cr_event_at(T0 + i, CR_LOG_INFO, "participant_left", "participant", id, NULL);
    }
    n = cr_events_recent(0, recs, CR_EVENTS_RING + 10);
    assert_non_null(strstr(recs[n - 1].line, "\"q383\""));
    cr_events_close();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_file_and_rate_limit),
        cmocka_unit_test(test_ring_wraps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
