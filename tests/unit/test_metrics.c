/* Unit tests of the metric registry and its Prometheus text exposition (relay/metrics/cr_metrics.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cr_err.h"
#include "cr_metrics.h"

static cr_metric_family_t *fam(cr_metrics_t *m, const char *name, enum cr_metric_type type, const char *const *labels,
                               unsigned n, unsigned max)
{
    cr_metric_desc_t d = {.name = name, .help = "help", .type = type, .labels = labels, .n_labels = n, .max_series = max};
    cr_metric_family_t *f = NULL;
    assert_int_equal(cr_metrics_family(m, &d, &f), 0);
    return f;
}

static void test_counter_gauge_output(void **state)
{
    (void)state;
    cr_metrics_t *m;
    char buf[2048];
    assert_int_equal(cr_metrics_new(&m, 8), 0);
    static const char *const wl[] = {"worker"};
    cr_metric_family_t *c = fam(m, "x_packets_total", CR_METRIC_COUNTER, wl, 1, 4);
    cr_metric_family_t *g = fam(m, "a_sessions", CR_METRIC_GAUGE, NULL, 0, 1);
    const char *w1[] = {"1"}, *w0[] = {"0"};
    cr_metric_set(cr_metric_series(c, w1), 7);
    cr_metric_add(cr_metric_series(c, w0), 3);
    cr_metric_add(cr_metric_series(c, w0), 2);
    cr_metric_set(cr_metric_single(g), 0.25);
    assert_true(cr_metric_series(c, w0) == cr_metric_series(c, w0));
    assert_true(cr_metric_value(cr_metric_series(c, w0)) == 5);
    int n = cr_metrics_write(m, buf, sizeof(buf));
    assert_true(n > 0);
    assert_int_equal((size_t)n, strlen(buf));
    /* Families by name, series by label value, HELP and TYPE before the samples. */
    assert_string_equal(buf, "# HELP a_sessions help\n"
                             "# TYPE a_sessions gauge\n"
                             "a_sessions 0.25\n"
                             "# HELP x_packets_total help\n"
                             "# TYPE x_packets_total counter\n"
                             "x_packets_total{worker=\"0\"} 5\n"
                             "x_packets_total{worker=\"1\"} 7\n");
    cr_metrics_free(m);
}

static void test_stable_output(void **state)
{
    (void)state;
    static const char *const ll[] = {"class", "layer"};
    char a[4096], b[4096];
    const char *order1[][2] = {{"m", "h"}, {"a", "l"}, {"m", "a"}, {"z", ""}};
    const char *order2[][2] = {{"z", ""}, {"m", "a"}, {"a", "l"}, {"m", "h"}};
    for (int k = 0; k < 2; k++) {
        cr_metrics_t *m;
        assert_int_equal(cr_metrics_new(&m, 4), 0);
        cr_metric_family_t *f = fam(m, "subs", CR_METRIC_GAUGE, ll, 2, 10);
        for (int i = 0; i < 4; i++) {
            const char **v = k == 0 ? order1[i] : order2[i];
            cr_metric_set(cr_metric_series(f, v), v[0][0]);
        }
        assert_true(cr_metrics_write(m, k == 0 ? a : b, 4096) > 0);
        cr_metrics_free(m);
    }
    assert_string_equal(a, b);
    assert_non_null(strstr(a, "subs{class=\"a\",layer=\"l\"} 97\nsubs{class=\"m\",layer=\"a\"} 109\n"
                              "subs{class=\"m\",layer=\"h\"} 109\nsubs{class=\"z\",layer=\"\"} 122\n"));
}

static void test_histogram(void **state)
{
    (void)state;
    static const double bounds[] = {0.001, 0.01, 0.1};
    static const char *const wl[] = {"worker"};
    cr_metric_desc_t d = {.name = "lat_seconds", .help = "latency", .type = CR_METRIC_HISTOGRAM, .labels = wl,
                          .n_labels = 1, .max_series = 2, .buckets = bounds, .n_buckets = 3};
    cr_metrics_t *m;
    cr_metric_family_t *f;
    char buf[4096];
    assert_int_equal(cr_metrics_new(&m, 2), 0);
    assert_int_equal(cr_metrics_family(m, &d, &f), 0);
    const char *w0[] = {"0"}, *w1[] = {"1"};
    cr_metric_series_t *s = cr_metric_series(f, w0);
    cr_metric_observe(s, 0.0005);
    cr_metric_observe(s, 0.001); /* le is inclusive */
    cr_metric_observe(s, 0.05);
    cr_metric_observe(s, 3);
    uint64_t counts[3] = {1, 2, 0};
    cr_metric_hist_set(cr_metric_series(f, w1), counts, 4, 1.5);
    assert_true(cr_metrics_write(m, buf, sizeof(buf)) > 0);
    assert_non_null(strstr(buf, "# TYPE lat_seconds histogram\n"
                                "lat_seconds_bucket{worker=\"0\",le=\"0.001\"} 2\n"
                                "lat_seconds_bucket{worker=\"0\",le=\"0.01\"} 2\n"
                                "lat_seconds_bucket{worker=\"0\",le=\"0.1\"} 3\n"
                                "lat_seconds_bucket{worker=\"0\",le=\"+Inf\"} 4\n"
                                "lat_seconds_sum{worker=\"0\"} 3.0515\n"
                                "lat_seconds_count{worker=\"0\"} 4\n"));
    assert_non_null(strstr(buf, "lat_seconds_bucket{worker=\"1\",le=\"0.01\"} 3\n"
                                "lat_seconds_bucket{worker=\"1\",le=\"0.1\"} 3\n"
                                "lat_seconds_bucket{worker=\"1\",le=\"+Inf\"} 7\n"
                                "lat_seconds_sum{worker=\"1\"} 1.5\n"
                                "lat_seconds_count{worker=\"1\"} 7\n"));
    cr_metrics_free(m);
}

static void test_escaping(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(cr_metrics_escape_value("a\"b\\c\nd", out, sizeof(out)), 10);
    assert_string_equal(out, "a\\\"b\\\\c\\nd");
    assert_int_equal(cr_metrics_escape_value("abc", out, 3), CR_EFULL);
    assert_int_equal(cr_metrics_escape_value("", out, 1), 0);

    cr_metrics_t *m;
    char buf[1024];
    static const char *const cl[] = {"class"};
    assert_int_equal(cr_metrics_new(&m, 1), 0);
    cr_metric_desc_t d = {.name = "c_info", .help = "a \\ help\nline \"q\"", .type = CR_METRIC_GAUGE, .labels = cl,
                          .n_labels = 1, .max_series = 2};
    cr_metric_family_t *f;
    assert_int_equal(cr_metrics_family(m, &d, &f), 0);
    const char *v[] = {"课\"x\"\\\n"};
    cr_metric_set(cr_metric_series(f, v), 1);
    assert_true(cr_metrics_write(m, buf, sizeof(buf)) > 0);
    assert_string_equal(buf, "# HELP c_info a \\\\ help\\nline \"q\"\n# TYPE c_info gauge\n"
                             "c_info{class=\"课\\\"x\\\"\\\\\\n\"} 1\n");
    cr_metrics_free(m);
}

static void test_numbers(void **state)
{
    (void)state;
    char s[40];
    cr_metrics_format_double(0, s, sizeof(s));
    assert_string_equal(s, "0");
    cr_metrics_format_double(-0.0, s, sizeof(s));
    assert_string_equal(s, "0");
    cr_metrics_format_double(1e14, s, sizeof(s));
    assert_string_equal(s, "100000000000000");
    cr_metrics_format_double(0.1, s, sizeof(s));
    assert_string_equal(s, "0.1");
    cr_metrics_format_double(1.0 / 3, s, sizeof(s));
    assert_true(strtod(s, NULL) == 1.0 / 3);
    cr_metrics_format_double(1e300 * 1e300, s, sizeof(s));
    assert_string_equal(s, "+Inf");
    cr_metrics_format_double(-1e300 * 1e300, s, sizeof(s));
    assert_string_equal(s, "-Inf");
    cr_metrics_format_double(0.0 / 0.0, s, sizeof(s));
    assert_string_equal(s, "NaN");
    cr_metrics_format_double(18446744073709551615.0, s, sizeof(s));
    assert_true(strtod(s, NULL) == 18446744073709551615.0);
}

static void test_caps(void **state)
{
    (void)state;
    cr_metrics_t *m;
    static const char *const cl[] = {"classroom"};
    assert_int_equal(cr_metrics_new(&m, 2), 0);
    cr_metric_family_t *f = fam(m, "subs", CR_METRIC_GAUGE, cl, 1, 3);
    char name[16];
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof(name), "r%d", i);
        const char *v[] = {name};
        cr_metric_series_t *s = cr_metric_series(f, v);
        if (i < 3)
            assert_non_null(s);
        else
            assert_null(s);
        cr_metric_set(s, 1); /* NULL: ignored */
    }
    assert_int_equal(cr_metrics_dropped(m), 7);
    const char *old[] = {"r1"};
    assert_non_null(cr_metric_series(f, old)); /* existing series still found at the cap */
    char lng[CR_METRICS_VALUE_MAX + 4];
    memset(lng, 'a', sizeof(lng) - 1);
    lng[sizeof(lng) - 1] = '\0';
    cr_metric_family_t *g = fam(m, "other", CR_METRIC_GAUGE, cl, 1, 100);
    const char *lv[] = {lng};
    assert_null(cr_metric_series(g, lv));
    assert_int_equal(cr_metrics_dropped(m), 8);
    /* The registry's family cap. */
    cr_metric_desc_t d = {.name = "third", .help = "h", .type = CR_METRIC_GAUGE, .max_series = 1};
    cr_metric_family_t *t;
    assert_int_equal(cr_metrics_family(m, &d, &t), CR_EFULL);
    /* A buffer too small. */
    char small[40];
    assert_int_equal(cr_metrics_write(m, small, sizeof(small)), CR_EFULL);
    /* Grows past the first 16 pointers up to the cap. */
    cr_metrics_free(m);
    assert_int_equal(cr_metrics_new(&m, 1), 0);
    f = fam(m, "many", CR_METRIC_COUNTER, cl, 1, 100);
    for (int i = 0; i < 150; i++) {
        snprintf(name, sizeof(name), "r%03d", i);
        const char *v[] = {name};
        cr_metric_add(cr_metric_series(f, v), i);
    }
    assert_int_equal(cr_metrics_dropped(m), 50);
    char *big = malloc(1 << 16);
    assert_true(cr_metrics_write(m, big, 1 << 16) > 0);
    assert_non_null(strstr(big, "many{classroom=\"r099\"} 99\n"));
    assert_null(strstr(big, "r100"));
    free(big);
    cr_metrics_free(m);
}

static void test_bad_descriptions(void **state)
{
    (void)state;
    cr_metrics_t *m;
    cr_metric_family_t *f;
    assert_int_equal(cr_metrics_new(&m, 0), CR_EINVAL);
    assert_int_equal(cr_metrics_new(&m, 16), 0);
    static const char *const le[] = {"le"}, *const dunder[] = {"__x"}, *const dup[] = {"a", "a"},
                                   *const bad[] = {"1a"}, *const ok[] = {"a"};
    static const double up[] = {1, 2}, down[] = {2, 1};
    cr_metric_desc_t cases[] = {
        {.name = "1abc", .help = "", .type = CR_METRIC_GAUGE, .max_series = 1},
        {.name = "a-b", .help = "", .type = CR_METRIC_GAUGE, .max_series = 1},
        {.name = "", .help = "", .type = CR_METRIC_GAUGE, .max_series = 1},
        {.name = "x", .help = NULL, .type = CR_METRIC_GAUGE, .max_series = 1},
        {.name = "x", .help = "", .type = CR_METRIC_GAUGE, .max_series = 2}, /* no labels, 2 series */
        {.name = "x", .help = "", .type = CR_METRIC_GAUGE, .labels = ok, .n_labels = 1, .max_series = 0},
        {.name = "x", .help = "", .type = CR_METRIC_GAUGE, .labels = dunder, .n_labels = 1, .max_series = 2},
        {.name = "x", .help = "", .type = CR_METRIC_GAUGE, .labels = dup, .n_labels = 2, .max_series = 2},
        {.name = "x", .help = "", .type = CR_METRIC_GAUGE, .labels = bad, .n_labels = 1, .max_series = 2},
        {.name = "x", .help = "", .type = CR_METRIC_HISTOGRAM, .labels = le, .n_labels = 1, .max_series = 2,
         .buckets = up, .n_buckets = 2},
        {.name = "x", .help = "", .type = CR_METRIC_HISTOGRAM, .max_series = 1, .buckets = down, .n_buckets = 2},
        {.name = "x", .help = "", .type = CR_METRIC_HISTOGRAM, .max_series = 1},
        {.name = "x", .help = "", .type = CR_METRIC_GAUGE, .max_series = 1, .buckets = up, .n_buckets = 2},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(cr_metrics_family(m, &cases[i], &f), CR_EINVAL);
    cr_metric_desc_t good = {.name = "ns:x_total", .help = "", .type = CR_METRIC_COUNTER, .labels = le,
                             .n_labels = 1, .max_series = 1};
    assert_int_equal(cr_metrics_family(m, &good, &f), 0); /* "le" is fine outside histograms */
    assert_int_equal(cr_metrics_family(m, &good, &f), CR_EINVAL); /* duplicate name */
    assert_non_null(cr_metrics_find(m, "ns:x_total"));
    assert_null(cr_metrics_find(m, "nope"));
    /* A family with no series is not written. */
    char buf[64];
    assert_int_equal(cr_metrics_write(m, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "");
    cr_metrics_free(m);
    cr_metrics_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_gauge_output), cmocka_unit_test(test_stable_output),
        cmocka_unit_test(test_histogram),            cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_numbers),              cmocka_unit_test(test_caps),
        cmocka_unit_test(test_bad_descriptions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
