/*
 * The web pages' path checks (cr_http_static.c): which URL paths map to which files, that nothing
 * outside web_root can be named or opened (dot segments, absolute paths, symlinks out of the tree,
 * special files), the size cap, and the layer selector's body parser (cr_relay_layer.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cr_err.h"
#include "cr_http_static.h"
#include "cr_relay.h"

static void test_path_ok(void **state)
{
    (void)state;
    static const char *good[] = {"class.html", "classroom.js", "img/logo.png", "a-b_c.d.css", "a/b/c/d.json",
                                 "x.svg", "favicon.ico", "notes.txt", "m.mjs"};
    static const char *bad[] = {
        "", "..", "../etc/passwd", "a/../b.js", "a/./b.js", "./a.js", ".hidden.js", "a/.git/x.js",
        "/etc/passwd.js", "a//b.js", "a/b.js/", "a\\b.js", "a%2e%2e/b.js", "a/b/c/d/e.js", "noext",
        "x.exe", "x.html.bak", "-x.js", "a/-x.js", "x.JS", "\xc3\xa9.js", "a b.js", "a.js\n", "a:b.js",
        "dir.js/x", "x.", "a/b.html/c",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(cr_static_path_ok(good[i]));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (cr_static_path_ok(bad[i]))
            fail_msg("accepted \"%s\"", bad[i]);
    }
    char longp[CR_STATIC_MAX_PATH + 2];
    memset(longp, 'a', sizeof(longp));
    memcpy(longp + CR_STATIC_MAX_PATH - 3, ".js", 4); /* exactly CR_STATIC_MAX_PATH bytes */
    assert_true(cr_static_path_ok(longp));
    memset(longp, 'a', sizeof(longp));
    memcpy(longp + CR_STATIC_MAX_PATH - 2, ".js", 4); /* one more */
    assert_false(cr_static_path_ok(longp));
}

static void test_content_type(void **state)
{
    (void)state;
    assert_string_equal(cr_static_content_type("class.html"), "text/html; charset=utf-8");
    assert_string_equal(cr_static_content_type("a/b.js"), "text/javascript; charset=utf-8");
    assert_string_equal(cr_static_content_type("s.css"), "text/css; charset=utf-8");
    assert_string_equal(cr_static_content_type("i.png"), "image/png");
    assert_null(cr_static_content_type("a.sh"));
    assert_null(cr_static_content_type("a.js/b"));
    assert_null(cr_static_content_type("Makefile"));
}

static void test_map(void **state)
{
    (void)state;
    char rel[CR_STATIC_MAX_PATH + 1];
    assert_int_equal(cr_static_map("/class/math-7", rel, sizeof(rel)), 0);
    assert_string_equal(rel, "class.html");
    assert_int_equal(cr_static_map("/teach/grade3_math", rel, sizeof(rel)), 0);
    assert_string_equal(rel, "teach.html");
    assert_int_equal(cr_static_map("/web/classroom.js", rel, sizeof(rel)), 0);
    assert_string_equal(rel, "classroom.js");
    assert_int_equal(cr_static_map("/web/img/a.png", rel, sizeof(rel)), 0);
    assert_string_equal(rel, "img/a.png");

    assert_int_equal(cr_static_map("/class/", rel, sizeof(rel)), CR_EINVAL);
    assert_int_equal(cr_static_map("/class/a/b", rel, sizeof(rel)), CR_EINVAL);
    assert_int_equal(cr_static_map("/class/../web", rel, sizeof(rel)), CR_EINVAL);
    assert_int_equal(cr_static_map("/class/bad id", rel, sizeof(rel)), CR_EINVAL);
    assert_int_equal(cr_static_map("/teach/x.html", rel, sizeof(rel)), CR_EINVAL);
    assert_int_equal(cr_static_map("/web/", rel, sizeof(rel)), CR_EINVAL);
    assert_int_equal(cr_static_map("/web/../relay.conf.txt", rel, sizeof(rel)), CR_EINVAL);
    assert_int_equal(cr_static_map("/web//etc/passwd.txt", rel, sizeof(rel)), CR_EINVAL);
    assert_int_equal(cr_static_map("/web/run.sh", rel, sizeof(rel)), CR_EINVAL);
    assert_int_equal(cr_static_map("/api/status", rel, sizeof(rel)), CR_ENOTFOUND);
    assert_int_equal(cr_static_map("/webx/a.js", rel, sizeof(rel)), CR_ENOTFOUND);
    char small[8];
    assert_int_equal(cr_static_map("/class/x", small, sizeof(small)), CR_EINVAL); /* "class.html" */
}

static char root[64], outside[64];

static void put(const char *dir, const char *name, const char *text)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup_tree(void **state)
{
    (void)state;
    char p[256];
    snprintf(root, sizeof(root), "/tmp/cr-static-root.XXXXXX");
    snprintf(outside, sizeof(outside), "/tmp/cr-static-out.XXXXXX");
    if (mkdtemp(root) == NULL || mkdtemp(outside) == NULL)
        return -1;
    put(root, "class.html", "<!doctype html>");
    put(outside, "secret.txt", "secret");
    snprintf(p, sizeof(p), "%s/sub.js", root);
    mkdir(p, 0700);
    snprintf(p, sizeof(p), "%s/secret.txt", outside);
    char l[256];
    snprintf(l, sizeof(l), "%s/leak.txt", root);
    if (symlink(p, l) != 0) /* a file symlink out of the tree */
        return -1;
    snprintf(l, sizeof(l), "%s/d", root);
    if (symlink(outside, l) != 0) /* a directory symlink out of the tree */
        return -1;
    snprintf(p, sizeof(p), "%s/pipe.txt", root);
    return mkfifo(p, 0600);
}

static int teardown_tree(void **state)
{
    (void)state;
    static const char *names[] = {"class.html", "leak.txt", "d", "pipe.txt"};
    char p[256];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", root, names[i]);
        unlink(p);
    }
    snprintf(p, sizeof(p), "%s/sub.js", root);
    rmdir(p);
    snprintf(p, sizeof(p), "%s/secret.txt", outside);
    unlink(p);
    rmdir(root);
    rmdir(outside);
    return 0;
}

static void test_read(void **state)
{
    (void)state;
    char *body;
    size_t len;
    assert_int_equal(cr_static_read(root, "class.html", 1024, &body, &len), 0);
    assert_int_equal(len, strlen("<!doctype html>"));
    assert_string_equal(body, "<!doctype html>");
    free(body);

    assert_int_equal(cr_static_read(root, "class.html", 4, &body, &len), CR_ETOOBIG);
    assert_null(body);
    assert_int_equal(cr_static_read(root, "missing.js", 1024, &body, &len), CR_ENOTFOUND);
    assert_int_equal(cr_static_read(root, "sub.js", 1024, &body, &len), CR_ENOTFOUND);
    assert_int_equal(cr_static_read(root, "leak.txt", 1024, &body, &len), CR_ENOTFOUND);
    assert_int_equal(cr_static_read(root, "d/secret.txt", 1024, &body, &len), CR_ENOTFOUND);
    assert_int_equal(cr_static_read(root, "pipe.txt", 1024, &body, &len), CR_ENOTFOUND);
    assert_int_equal(cr_static_read("/nonexistent-dir", "class.html", 1024, &body, &len), CR_ENOTFOUND);
    assert_null(body);
}

/* The fallback without openat2 follows no symlink at all. */
static void test_open_walk(void **state)
{
    (void)state;
    int dirfd = open(root, O_RDONLY | O_DIRECTORY);
    assert_true(dirfd >= 0);
    int fd = cr__static_open_walk(dirfd, "class.html");
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(cr__static_open_walk(dirfd, "leak.txt"), -1);
    assert_int_equal(cr__static_open_walk(dirfd, "d/secret.txt"), -1);
    assert_int_equal(cr__static_open_walk(dirfd, "sub.js/x.js"), -1);
    close(dirfd);
}

static void test_root(void **state)
{
    (void)state;
    const char *def = cr_static_root("");
    size_t n = strlen(def);
    assert_true(n >= strlen("client/web"));
    assert_string_equal(def + n - strlen("client/web"), "client/web");
    assert_ptr_equal(cr_static_root(NULL), def);
    assert_string_equal(cr_static_root("/srv/web"), "/srv/web");
}

static void expect_layer(const char *body, int rc, const char *rid)
{
    char out[16] = "unchanged";
    int got = cr_relay_layer_parse(body, strlen(body), out, sizeof(out));
    if (got != rc)
        fail_msg("\"%s\": rc %d, expected %d", body, got, rc);
    if (rc == 0)
        assert_string_equal(out, rid);
}

static void test_layer_parse(void **state)
{
    (void)state;
    expect_layer("h", 0, "h");
    expect_layer("l\n", 0, "l");
    expect_layer(" m \r\n", 0, "m");
    expect_layer("auto", 0, "");
    expect_layer("{\"rid\":\"l\"}", 0, "l");
    expect_layer(" {\"rid\":null}\n", 0, "");
    expect_layer("{\"rid\":\"auto\"}", 0, "");
    expect_layer("q1_x-2", 0, "q1_x-2");

    expect_layer("", CR_EINVAL, NULL);
    expect_layer("  \n", CR_EINVAL, NULL);
    expect_layer("x y", CR_EINVAL, NULL);
    expect_layer("h;drop", CR_EINVAL, NULL);
    expect_layer("0123456789abcdef", CR_EINVAL, NULL); /* 16 characters: over CR_RID_MAX - 1 */
    expect_layer("{\"rid\":5}", CR_EINVAL, NULL);
    expect_layer("{\"layer\":\"h\"}", CR_EINVAL, NULL);
    expect_layer("{\"rid\":\"h\",\"rid\":\"l\"}", CR_EINVAL, NULL);
    expect_layer("{", CR_EINVAL, NULL);
    expect_layer("[\"h\"]", CR_EINVAL, NULL);

    char small[2];
    assert_int_equal(cr_relay_layer_parse("hh", 2, small, sizeof(small)), CR_EINVAL);
    assert_int_equal(cr_relay_layer_parse("h", 1, small, sizeof(small)), 0);
    assert_string_equal(small, "h");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_ok),
        cmocka_unit_test(test_content_type),
        cmocka_unit_test(test_map),
        cmocka_unit_test_setup_teardown(test_read, setup_tree, teardown_tree),
        cmocka_unit_test_setup_teardown(test_open_walk, setup_tree, teardown_tree),
        cmocka_unit_test(test_root),
        cmocka_unit_test(test_layer_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
