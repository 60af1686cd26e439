/* Unit tests of `classrelay status` rendering and the lesson report's HTML page, from sample JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "cr_ops_report.h"
#include "cr_status_cli.h"

static const char sample[] =
    "{\"type\":\"ops\",\"t\":1756713600,\"relay\":{\"workers\":2,\"peers\":4},"
    "\"schools\":[{\"kind\":\"school\",\"school\":\"county-1\",\"id\":\"county-1\",\"capacity_bps\":1e9,\"bps\":3.1e6,"
    "\"loss\":0.001,\"rtt_ms\":12,\"subscribers\":2,\"health\":\"ok\",\"util\":0.0031,\"classrooms\":["
    "{\"kind\":\"classroom\",\"school\":\"county-1\",\"id\":\"r3a\",\"capacity_bps\":1e8,\"bps\":1.55e6,\"loss\":0,"
    "\"rtt_ms\":9,\"subscribers\":1,\"health\":\"ok\",\"util\":0.0155},"
    "{\"kind\":\"classroom\",\"school\":\"county-1\",\"id\":\"r3b\",\"capacity_bps\":1e8,\"bps\":0,\"loss\":0.08,"
    "\"rtt_ms\":450,\"subscribers\":1,\"health\":\"lost\",\"util\":0}]}],"
    "\"classes\":[{\"id\":\"math-7\",\"kind\":\"synchronous\",\"state\":\"live\",\"teacher\":\"t-wang\","
    "\"teacher_publishing\":true,\"audience\":[\"r3a\",\"r3b\"],\"invited\":3,\"bps\":1.6e6}],"
    "\"alerts\":[{\"seq\":3,\"ts_ms\":1756713590000,\"level\":\"warn\",\"event\":\"classroom_lost\","
    "\"detail\":{\"class\":\"math-7\",\"school\":\"county-1\",\"classroom\":\"r3b\"}}]}";

static void test_render(void **state)
{
    (void)state;
    json_t *j = json_loads(sample, 0, NULL);
    assert_non_null(j);
    char buf[4096];
    int n = cr_status_render(j, "http://127.0.0.1:8080", buf, sizeof(buf));
    assert_true(n > 0);
    assert_int_equal((size_t)n, strlen(buf));
    assert_non_null(strstr(buf, "classrelay at http://127.0.0.1:8080: 2 worker(s), 4 sessions, 1 class(es), 1 live"));
    assert_non_null(strstr(buf, "math-7"));
    assert_non_null(strstr(buf, "2 classroom(s) of 3 invited"));
    assert_non_null(strstr(buf, "1.6 Mb/s"));
    /* Links as a tree, then the problems: the lost classroom first, then the alert. */
    const char *links = strstr(buf, "LINKS"), *probs = strstr(buf, "PROBLEMS");
    assert_non_null(links);
    assert_non_null(probs);
    assert_non_null(strstr(links, "school    county-1"));
    assert_non_null(strstr(links, "    classroom r3a"));
    assert_non_null(strstr(probs, "r3b"));
    assert_non_null(strstr(probs, "lost"));
    assert_non_null(strstr(probs, "classroom_lost"));
    assert_non_null(strstr(probs, "classroom=r3b"));
    /* A small buffer is cut, never overrun. */
    char small[40];
    n = cr_status_render(j, "http://x", small, sizeof(small));
    assert_true(n >= 0 && (size_t)n < sizeof(small));
    json_decref(j);
    /* An empty relay. */
    j = json_loads("{\"relay\":{},\"schools\":[],\"classes\":[],\"alerts\":[]}", 0, NULL);
    assert_true(cr_status_render(j, "http://x", buf, sizeof(buf)) > 0);
    assert_non_null(strstr(buf, "no classroom connected"));
    assert_non_null(strstr(buf, "PROBLEMS\n  none\n"));
    json_decref(j);
}

static void test_report_html(void **state)
{
    (void)state;
    json_t *r = json_loads("{\"class\":\"m<7>\",\"kind\":\"dedicated\",\"title\":\"Math & <b>\",\"teacher\":\"t\","
                           "\"scheduled_start\":1756713600,\"started\":1756713660,\"ended\":1756716300,\"minutes\":44,"
                           "\"started_on_time\":true,\"invited\":2,\"attended\":1,\"attendance_rate\":0.5,"
                           "\"classrooms\":[{\"classroom\":\"r\\\"1\",\"school\":\"s\",\"invited\":true,"
                           "\"minutes_attended\":43.5,\"freezes\":{\"count\":2,\"longest_s\":3,\"total_s\":4},"
                           "\"loss_percent\":{\"mean\":0.5,\"max\":2},\"rtt_ms\":{\"mean\":20,\"max\":80},"
                           "\"jitter_ms\":{\"mean\":3,\"max\":9},\"layers_seconds\":{\"h\":2000,\"l\":610},"
                           "\"below_floor_s\":0}]}",
                           0, NULL);
    assert_non_null(r);
    char *html = cr_ops_report_html(r);
    assert_non_null(html);
    assert_non_null(strstr(html, "<title>Lesson report: Math &amp; &lt;b&gt;</title>"));
    assert_null(strstr(html, "<b>\""));
    assert_non_null(strstr(html, "m&lt;7&gt;"));
    assert_non_null(strstr(html, "r&quot;1"));
    assert_non_null(strstr(html, "on time"));
    assert_non_null(strstr(html, "of 2 invited: 50%"));
    assert_non_null(strstr(html, "<td>43.5</td><td>2</td><td>3</td>"));
    assert_non_null(strstr(html, "h:2000 l:610"));
    assert_non_null(strstr(html, "</html>"));
    free(html);
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_report_html),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
