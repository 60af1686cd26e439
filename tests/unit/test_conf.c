#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cr_conf.h"
#include "cr_err.h"
#include "cr_log.h"

static int parse(cr_conf_t *c, const char *text, char *err, size_t cap)
{
    return cr_conf_parse(c, "t.conf", text, strlen(text), err, cap);
}

/* Parses text over the defaults and expects exactly this error message. */
static void expect_err_n(const char *text, size_t len, const char *msg)
{
    cr_conf_t c, ref;
    cr_conf_defaults(&c);
    ref = c;
    char err[512] = "";
    int r = cr_conf_parse(&c, "t.conf", text, len, err, sizeof(err));
    assert_int_equal(r, CR_ECONFIG);
    assert_string_equal(err, msg);
    /* A failed parse leaves the config untouched: no half-applied files. */
    assert_memory_equal(&c, &ref, sizeof(c));
}

static void expect_err(const char *text, const char *msg)
{
    expect_err_n(text, strlen(text), msg);
}

static void expect_ok(const char *text, cr_conf_t *c)
{
    char err[512] = "";
    cr_conf_defaults(c);
    int r = parse(c, text, err, sizeof(err));
    if (r != 0)
        fail_msg("unexpected error: %s", err);
}

static void test_defaults(void **state)
{
    (void)state;
    cr_conf_t c;
    memset(&c, 0x5a, sizeof(c));
    cr_conf_defaults(&c);
    assert_string_equal(c.http_host, "127.0.0.1");
    assert_int_equal(c.http_port, 8080);
    assert_string_equal(c.media_ip, "127.0.0.1");
    assert_string_equal(c.announce_ip, "127.0.0.1");
    assert_int_equal(c.media_port, 10000);
    assert_int_equal(c.workers, 1);
    assert_int_equal(c.max_classes, 256);
    assert_int_equal(c.max_subscribers, 1000);
    assert_int_equal(c.max_peers, 4096);
    assert_int_equal(c.consent_timeout_s, 30);
    assert_int_equal(c.history_packets, 1024);
    assert_int_equal(c.log_level, CR_LOG_INFO);
    assert_string_equal(c.web_root, "");
    assert_string_equal(c.auth_secret, "");
    assert_string_equal(c.auth_secret_file, "");
    assert_int_equal(c.admin_remote, 0);
    assert_int_equal(c.token_ttl_s, 3600);
    assert_int_equal(c.ws_idle_timeout_s, 60);
    assert_string_equal(c.event_log, "");
    assert_int_equal(c.event_log_level, CR_LOG_INFO);
    assert_string_equal(c.report_dir, "");
    assert_int_equal(c.n_classes, 0);
    char err[256] = "";
    assert_int_equal(cr_conf_validate(&c, err, sizeof(err)), 0);

    /* An empty text changes nothing. */
    cr_conf_t d = c;
    assert_int_equal(cr_conf_parse(&d, "t.conf", NULL, 0, err, sizeof(err)), 0);
    assert_int_equal(cr_conf_parse(&d, "t.conf", "", 0, err, sizeof(err)), 0);
    assert_memory_equal(&c, &d, sizeof(c));
}

static const char full_conf[] = "# classrelay\n"
                                "[relay]\n"
                                "http_listen = 0.0.0.0:8443\n"
                                "media_ip = 10.1.2.3\n"
                                "announce_ip = 203.0.113.7\n"
                                "media_port = 20000\n"
                                "workers = 8\n"
                                "max_classes = 10000\n"
                                "max_subscribers_per_class = 1\n"
                                "max_peers = 100000\n"
                                "consent_timeout_s = 5\n"
                                "history_packets = 32768\n"
                                "log_level = debug\n"
                                "web_root = /srv/classrelay/web\n";

static void test_full_file(void **state)
{
    (void)state;
    cr_conf_t c;
    expect_ok(full_conf, &c);
    assert_string_equal(c.http_host, "0.0.0.0");
    assert_int_equal(c.http_port, 8443);
    assert_string_equal(c.media_ip, "10.1.2.3");
    assert_string_equal(c.announce_ip, "203.0.113.7");
    assert_int_equal(c.media_port, 20000);
    assert_int_equal(c.workers, 8);
    assert_int_equal(c.max_classes, 10000);
    assert_int_equal(c.max_subscribers, 1);
    assert_int_equal(c.max_peers, 100000);
    assert_int_equal(c.consent_timeout_s, 5);
    assert_int_equal(c.history_packets, 32768);
    assert_int_equal(c.log_level, CR_LOG_DEBUG);
    assert_string_equal(c.web_root, "/srv/classrelay/web");
    char err[256] = "";
    assert_int_equal(cr_conf_validate(&c, err, sizeof(err)), 0);

    const char *levels[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++) {
        char text[64];
        snprintf(text, sizeof(text), "[relay]\nlog_level = %s\n", levels[i]);
        expect_ok(text, &c);
        assert_int_equal(c.log_level, CR_LOG_DEBUG + i);
    }
}

static void test_announce_follows_media_ip(void **state)
{
    (void)state;
    cr_conf_t c;
    char err[256];
    /* Not set: announce_ip takes media_ip, whatever the order of lines. */
    expect_ok("[relay]\nmedia_ip = 10.0.0.5\n", &c);
    assert_string_equal(c.announce_ip, "10.0.0.5");
    /* Set: kept, even when it comes before media_ip. */
    expect_ok("[relay]\nannounce_ip = 198.51.100.1\nmedia_ip = 10.0.0.5\n", &c);
    assert_string_equal(c.announce_ip, "198.51.100.1");
    /* Layered files: a value given by an earlier file is not overwritten by a later media_ip. */
    assert_int_equal(parse(&c, "[relay]\nmedia_ip = 10.0.0.9\n", err, sizeof(err)), 0);
    assert_string_equal(c.media_ip, "10.0.0.9");
    assert_string_equal(c.announce_ip, "198.51.100.1");
    /* ...but one that still tracked media_ip keeps tracking it. */
    expect_ok("[relay]\nmedia_ip = 10.0.0.5\n", &c);
    assert_int_equal(parse(&c, "[relay]\nmedia_ip = 10.0.0.6\n", err, sizeof(err)), 0);
    assert_string_equal(c.announce_ip, "10.0.0.6");
}

static void test_errors_keys(void **state)
{
    (void)state;
    expect_err("[relay]\nfoo = 1\n", "t.conf:2: key 'foo': unknown key in section [relay]");
    expect_err("[relay]\nWorkers = 1\n", "t.conf:2: key 'Workers': unknown key in section [relay]");
    expect_err("workers = 4\n[relay]\n", "t.conf:1: key 'workers': key outside any section");
    expect_err("[relay]\n\n# c\nworkers = 2\nmedia_port = 10000\n  workers=3\n",
               "t.conf:6: key 'workers': duplicate key (first set on line 4)");
    /* Reopening a section does not reset the duplicate check. */
    expect_err("[relay]\nworkers = 2\n[relay]\nworkers = 2\n",
               "t.conf:4: key 'workers': duplicate key (first set on line 2)");
    expect_err("[relay]\nworkers\n", "t.conf:2: expected KEY = VALUE or [SECTION]");
    expect_err("[relay]\n= 4\n", "t.conf:2: missing key before '='");
    expect_err("[metrics]\n", "t.conf:1: unknown section [metrics]");
    expect_err("[class]\n", "t.conf:1: unknown section [class]");
    expect_err("[relay]\n[ topology ]\nworkers = 1\n", "t.conf:2: unknown section [topology]");
    expect_err("[]\n", "t.conf:1: unknown section []");
    expect_err("[relay\n", "t.conf:1: expected ']' after the section name");
    expect_err("[relay] x\n", "t.conf:1: unexpected text after the section header");
}

static void test_errors_uint(void **state)
{
    (void)state;
    const char *bad[] = {"0", "65", "-1", "+4", "4x", "0x4", "4.0", "", "four", "99999999999999999999",
                         "1 2"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[128];
        snprintf(text, sizeof(text), "[relay]\nworkers = %s\n", bad[i]);
        expect_err(text, "t.conf:2: key 'workers': must be an integer from 1 to 64");
    }
    expect_err("[relay]\nconsent_timeout_s = 4\n",
               "t.conf:2: key 'consent_timeout_s': must be an integer from 5 to 300");
    expect_err("[relay]\nhistory_packets = 63\n",
               "t.conf:2: key 'history_packets': must be an integer from 64 to 32768");
    expect_err("[relay]\nmax_peers = 100001\n",
               "t.conf:2: key 'max_peers': must be an integer from 1 to 100000");
    expect_err("[relay]\nmax_subscribers_per_class = 0\n",
               "t.conf:2: key 'max_subscribers_per_class': must be an integer from 1 to 10000");
    expect_err("[relay]\nmedia_port = 65536\n",
               "t.conf:2: key 'media_port': must be a port number from 1 to 65535");
    expect_err("[relay]\nmedia_port = 0\n",
               "t.conf:2: key 'media_port': must be a port number from 1 to 65535");

    cr_conf_t c;
    expect_ok("[relay]\nworkers = 64\nmax_classes = 1\nmedia_port = 65535\n", &c);
    assert_int_equal(c.workers, 64);
    assert_int_equal(c.max_classes, 1);
    assert_int_equal(c.media_port, 65535);
    expect_ok("[relay]\nworkers = 007\n", &c);
    assert_int_equal(c.workers, 7);
}

static void test_errors_addresses(void **state)
{
    (void)state;
    const char *bad_ip[] = {"1.2.3", "256.1.1.1", "01.2.3.4", "1.2.3.4.5", "localhost", "::1", "", "1.2.3.4 x",
                            "1111111111111111111111111111111111111111111111111111111111111111111111"};
    for (size_t i = 0; i < sizeof(bad_ip) / sizeof(bad_ip[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text), "[relay]\nmedia_ip = %s\n", bad_ip[i]);
        expect_err(text, "t.conf:2: key 'media_ip': not an IPv4 address");
    }
    expect_err("[relay]\nannounce_ip = example.org\n", "t.conf:2: key 'announce_ip': not an IPv4 address");

    const char *bad_hp[] = {"127.0.0.1", ":8080", "127.0.0.1:", "::1:8080", "[::1]:8080", ""};
    for (size_t i = 0; i < sizeof(bad_hp) / sizeof(bad_hp[0]); i++) {
        char text[128];
        snprintf(text, sizeof(text), "[relay]\nhttp_listen = %s\n", bad_hp[i]);
        expect_err(text, "t.conf:2: key 'http_listen': expected HOST:PORT");
    }
    expect_err("[relay]\nhttp_listen = 127.0.0.1:0\n",
               "t.conf:2: key 'http_listen': port must be an integer from 1 to 65535");
    expect_err("[relay]\nhttp_listen = 127.0.0.1:http\n",
               "t.conf:2: key 'http_listen': port must be an integer from 1 to 65535");
    expect_err("[relay]\nhttp_listen = 127.0.0.1:70000\n",
               "t.conf:2: key 'http_listen': port must be an integer from 1 to 65535");
    expect_err("[relay]\nhttp_listen = 300.0.0.1:80\n",
               "t.conf:2: key 'http_listen': host '300.0.0.1' is not an IPv4 address");
    expect_err("[relay]\nhttp_listen = \"my host:80\"\n",
               "t.conf:2: key 'http_listen': host 'my host' is not an IPv4 address or a name");
    char text[256], host[65];
    memset(host, 'h', 64);
    host[64] = '\0';
    snprintf(text, sizeof(text), "[relay]\nhttp_listen = %s:80\n", host);
    expect_err(text, "t.conf:2: key 'http_listen': host too long (max 63 bytes)");

    cr_conf_t c;
    expect_ok("[relay]\nhttp_listen = localhost:80\n", &c);
    assert_string_equal(c.http_host, "localhost");
    assert_int_equal(c.http_port, 80);
    host[63] = '\0';
    snprintf(text, sizeof(text), "[relay]\nhttp_listen = %s:65535\n", host);
    expect_ok(text, &c);
    assert_string_equal(c.http_host, host);
    assert_int_equal(c.http_port, 65535);
}

static void test_errors_string_enum(void **state)
{
    (void)state;
    char text[700];
    char val[513];
    memset(val, 'a', 512);
    val[512] = '\0';
    snprintf(text, sizeof(text), "[relay]\nweb_root = %s\n", val);
    expect_err(text, "t.conf:2: key 'web_root': value too long (max 511 bytes)");
    val[511] = '\0';
    cr_conf_t c;
    snprintf(text, sizeof(text), "[relay]\nweb_root = \"%s\"\n", val);
    expect_ok(text, &c);
    assert_int_equal(strlen(c.web_root), 511);

    expect_err("[relay]\nlog_level = verbose\n",
               "t.conf:2: key 'log_level': unknown value 'verbose' (expected debug, info, warn or error)");
    expect_err("[relay]\nlog_level = INFO\n",
               "t.conf:2: key 'log_level': unknown value 'INFO' (expected debug, info, warn or error)");
    expect_err("[relay]\nlog_level =\n",
               "t.conf:2: key 'log_level': unknown value '' (expected debug, info, warn or error)");
    expect_err("[relay]\nweb_root = \"/srv/web\n", "t.conf:2: key 'web_root': unterminated quoted value");
    expect_err("[relay]\nweb_root = \"/srv\"/web\n",
               "t.conf:2: key 'web_root': unexpected text after the closing quote");
}

static void test_comments_whitespace_quotes(void **state)
{
    (void)state;
    cr_conf_t c;
    expect_ok("\xEF\xBB\xBF"
              "; leading comment\n"
              "   # indented comment\n"
              "\t\n"
              "  [ relay ]   # trailing comment on a header\n"
              "\tworkers\t=\t4\t# four threads\n",
              &c);
    assert_int_equal(c.workers, 4);
    /* "12;no..." is not a number: ';' inside a word is part of the value. */
    expect_err("[relay]\nmax_classes=12;x\n",
               "t.conf:2: key 'max_classes': must be an integer from 1 to 10000");

    expect_ok("[relay]\n"
              "web_root = /srv/a#b;c  ; comment\n"
              "log_level = \"warn\" # quoted\n"
              "media_ip=\"10.0.0.1\"\n",
              &c);
    assert_string_equal(c.web_root, "/srv/a#b;c");
    assert_int_equal(c.log_level, CR_LOG_WARN);
    assert_string_equal(c.media_ip, "10.0.0.1");

    expect_ok("[relay]\nweb_root = \"  /srv/my web # 1 ; 2  \"  # comment\n", &c);
    assert_string_equal(c.web_root, "  /srv/my web # 1 ; 2  ");
    expect_ok("[relay]\nweb_root = \"\"\n", &c);
    assert_string_equal(c.web_root, "");
    expect_ok("[relay]\nweb_root = # nothing\n", &c);
    assert_string_equal(c.web_root, "");
    /* A value may contain '='; only the first one splits. */
    expect_ok("[relay]\nweb_root = /a=b\n", &c);
    assert_string_equal(c.web_root, "/a=b");
    /* UTF-8 is plain bytes. */
    expect_ok("[relay]\nweb_root = /srv/cours\xc3\xa9\n", &c);
    assert_string_equal(c.web_root, "/srv/cours\xc3\xa9");
    /* No final newline. */
    expect_ok("[relay]\nworkers = 3", &c);
    assert_int_equal(c.workers, 3);
}

static void test_crlf(void **state)
{
    (void)state;
    cr_conf_t c;
    expect_ok("# dos\r\n[relay]\r\nworkers = 5\r\nweb_root = /w  \r\n\r\nlog_level = error", &c);
    assert_int_equal(c.workers, 5);
    assert_string_equal(c.web_root, "/w");
    assert_int_equal(c.log_level, CR_LOG_ERROR);
    expect_err("[relay]\r\nworkers = 0\r\n", "t.conf:2: key 'workers': must be an integer from 1 to 64");
    /* A lone CR (old Mac line ends) is not a line end. */
    expect_err("[relay]\rworkers = 2\r", "t.conf:1: control character 0x0d in line");
}

static void test_nul_and_control(void **state)
{
    (void)state;
    static const char nul[] = "[relay]\nworkers = 4\0junk\n";
    expect_err_n(nul, sizeof(nul) - 1, "t.conf:2: NUL byte in line (not a text file?)");
    static const char nul_comment[] = "[relay]\n# \0\n";
    expect_err_n(nul_comment, sizeof(nul_comment) - 1, "t.conf:2: NUL byte in line (not a text file?)");
    expect_err("[relay]\nweb_root = /a\x1b[31m\n", "t.conf:2: control character 0x1b in line");
    expect_err("[relay]\nweb_root = /a\x7f\n", "t.conf:2: control character 0x7f in line");
}

static void test_limits(void **state)
{
    (void)state;
    /* A line of exactly CR_CONF_MAX_LINE bytes is fine, one more is not. */
    size_t cap = CR_CONF_MAX_LINE + 64;
    char *text = malloc(cap);
    assert_non_null(text);
    int off = snprintf(text, cap, "[relay]\n#");
    memset(text + off, 'x', CR_CONF_MAX_LINE - 1);
    memcpy(text + off + CR_CONF_MAX_LINE - 1, "\r\n", 3);
    cr_conf_t c;
    expect_ok(text, &c);
    memcpy(text + off + CR_CONF_MAX_LINE - 1, "x\n", 3);
    expect_err(text, "t.conf: line 2 is longer than 4096 bytes");
    free(text);

    size_t big = CR_CONF_MAX_FILE + 1;
    text = malloc(big);
    assert_non_null(text);
    memset(text, '\n', big);
    expect_err_n(text, big, "t.conf: file too large (max 1048576 bytes)");
    /* Exactly CR_CONF_MAX_FILE bytes (blank lines) is accepted. */
    char err[256] = "";
    cr_conf_defaults(&c);
    assert_int_equal(cr_conf_parse(&c, "t.conf", text, big - 1, err, sizeof(err)), 0);
    free(text);
}

static void test_err_buffer(void **state)
{
    (void)state;
    cr_conf_t c;
    cr_conf_defaults(&c);
    /* No buffer, or a tiny one: still the right code, output truncated and terminated. */
    assert_int_equal(parse(&c, "[relay]\nworkers = 0\n", NULL, 0), CR_ECONFIG);
    char tiny[8];
    assert_int_equal(parse(&c, "[relay]\nworkers = 0\n", tiny, sizeof(tiny)), CR_ECONFIG);
    assert_string_equal(tiny, "t.conf:");
    assert_int_equal(cr_conf_parse(NULL, "t.conf", "", 0, NULL, 0), CR_EINVAL);
    assert_int_equal(cr_conf_parse(&c, "t.conf", NULL, 3, NULL, 0), CR_EINVAL);
    assert_int_equal(cr_conf_load(&c, NULL, NULL, 0), CR_EINVAL);
    assert_int_equal(cr_conf_validate(NULL, NULL, 0), CR_EINVAL);
}

static void test_load_file(void **state)
{
    (void)state;
    char path[] = "/tmp/test_conf_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static const char text[] = "[relay]\r\nworkers = 6\nlog_level = warn # quiet\n";
    assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
    close(fd);

    cr_conf_t c;
    cr_conf_defaults(&c);
    char err[512] = "";
    assert_int_equal(cr_conf_load(&c, path, err, sizeof(err)), 0);
    assert_int_equal(c.workers, 6);
    assert_int_equal(c.log_level, CR_LOG_WARN);
    assert_int_equal(c.max_classes, 256);

    /* Errors name the path given. */
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("[relay]\nworkers = 6\nworkers = 7\n", f);
    fclose(f);
    char want[600];
    snprintf(want, sizeof(want), "%s:3: key 'workers': duplicate key (first set on line 2)", path);
    assert_int_equal(cr_conf_load(&c, path, err, sizeof(err)), CR_ECONFIG);
    assert_string_equal(err, want);

    /* An empty file is valid. */
    f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(cr_conf_load(&c, path, err, sizeof(err)), 0);
    unlink(path);

    assert_int_equal(cr_conf_load(&c, path, err, sizeof(err)), CR_ECONFIG);
    snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", path);
    assert_string_equal(err, want);

    assert_int_equal(cr_conf_load(&c, "/tmp", err, sizeof(err)), CR_ECONFIG);
    assert_string_equal(err, "/tmp: not a regular file");
}

static void test_load_too_large(void **state)
{
    (void)state;
    char path[] = "/tmp/test_conf_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, CR_CONF_MAX_FILE + 1), 0);
    close(fd);
    cr_conf_t c;
    cr_conf_defaults(&c);
    char err[512] = "", want[600];
    assert_int_equal(cr_conf_load(&c, path, err, sizeof(err)), CR_ECONFIG);
    snprintf(want, sizeof(want), "%s: file too large (max 1048576 bytes)", path);
    assert_string_equal(err, want);
    unlink(path);
}

static void test_validate(void **state)
{
    (void)state;
    cr_conf_t c;
    char err[512] = "";

    expect_ok("[relay]\nmedia_port = 65534\nworkers = 2\n", &c);
    assert_int_equal(cr_conf_validate(&c, err, sizeof(err)), 0);
    expect_ok("[relay]\nmedia_port = 65535\nworkers = 2\n", &c);
    assert_int_equal(cr_conf_validate(&c, err, sizeof(err)), CR_ECONFIG);
    assert_string_equal(err, "key 'media_port': media_port + workers - 1 = 65536 exceeds 65535");

    expect_ok("[relay]\nhttp_listen = 127.0.0.1:10003\nmedia_port = 10000\nworkers = 4\n", &c);
    assert_int_equal(cr_conf_validate(&c, err, sizeof(err)), CR_ECONFIG);
    assert_string_equal(err,
                        "key 'http_listen': port 10003 is also a media port (10000..10003) on the same address");
    /* Just past the range, or on another address: fine. */
    expect_ok("[relay]\nhttp_listen = 127.0.0.1:10004\nworkers = 4\n", &c);
    assert_int_equal(cr_conf_validate(&c, err, sizeof(err)), 0);
    expect_ok("[relay]\nhttp_listen = 127.0.0.2:10000\n", &c);
    assert_int_equal(cr_conf_validate(&c, err, sizeof(err)), 0);
    /* The wildcard, or a name we cannot resolve here, overlaps every address. */
    expect_ok("[relay]\nhttp_listen = 0.0.0.0:10000\n", &c);
    assert_int_equal(cr_conf_validate(&c, err, sizeof(err)), CR_ECONFIG);
    expect_ok("[relay]\nhttp_listen = localhost:10000\n", &c);
    assert_int_equal(cr_conf_validate(&c, err, sizeof(err)), CR_ECONFIG);
    expect_ok("[relay]\nhttp_listen = 10.0.0.1:10000\nmedia_ip = 0.0.0.0\nannounce_ip = 10.0.0.1\n", &c);
    assert_int_equal(cr_conf_validate(&c, err, sizeof(err)), CR_ECONFIG);

    /* Binding every address is fine, announcing it is not. */
    expect_ok("[relay]\nmedia_ip = 0.0.0.0\n", &c);
    assert_int_equal(cr_conf_validate(&c, err, sizeof(err)), CR_ECONFIG);
    assert_string_equal(err, "key 'announce_ip': 0.0.0.0 cannot be announced to peers; set announce_ip to an "
                             "address they can reach");
    expect_ok("[relay]\nmedia_ip = 0.0.0.0\nannounce_ip = 192.0.2.10\n", &c);
    assert_int_equal(cr_conf_validate(&c, err, sizeof(err)), 0);

    /* Values set by code (e.g. command-line overrides) get the same range checks. */
    cr_conf_defaults(&c);
    c.workers = 0;
    assert_int_equal(cr_conf_validate(&c, err, sizeof(err)), CR_ECONFIG);
    assert_string_equal(err, "key 'workers': must be an integer from 1 to 64");
    cr_conf_defaults(&c);
    c.log_level = 9;
    assert_int_equal(cr_conf_validate(&c, err, sizeof(err)), CR_ECONFIG);
    assert_string_equal(err, "key 'log_level': invalid value 9");
    cr_conf_defaults(&c);
    c.http_port = 0;
    assert_int_equal(cr_conf_validate(&c, err, sizeof(err)), CR_ECONFIG);
    assert_string_equal(err, "key 'http_listen': port must be an integer from 1 to 65535");
    cr_conf_defaults(&c);
    snprintf(c.media_ip, sizeof(c.media_ip), "bogus");
    assert_int_equal(cr_conf_validate(&c, err, sizeof(err)), CR_ECONFIG);
    assert_string_equal(err, "key 'media_ip': not an IPv4 address");
    cr_conf_defaults(&c);
    memset(c.web_root, 'a', sizeof(c.web_root));
    assert_int_equal(cr_conf_validate(&c, err, sizeof(err)), CR_ECONFIG);
    assert_string_equal(err, "key 'web_root': value not NUL-terminated");
}

static void test_auth_signal(void **state)
{
    (void)state;
    cr_conf_t c;
    char err[256] = "";
    expect_ok("[auth]\nsecret = 0123456789abcdef0123456789abcdef\nadmin_remote = true\ntoken_ttl_s = 60\n"
              "[signal]\nws_idle_timeout_s = 5\n",
              &c);
    assert_string_equal(c.auth_secret, "0123456789abcdef0123456789abcdef");
    assert_int_equal(c.admin_remote, 1);
    assert_int_equal(c.token_ttl_s, 60);
    assert_int_equal(c.ws_idle_timeout_s, 5);
    assert_int_equal(cr_conf_validate(&c, err, sizeof(err)), 0);
    expect_ok("[auth]\nsecret_file = /etc/classrelay/secret\nadmin_remote = false\n", &c);
    assert_string_equal(c.auth_secret_file, "/etc/classrelay/secret");
    assert_int_equal(c.admin_remote, 0);
    expect_err("[auth]\nsecret = short\n", "t.conf:2: key 'secret': too short (at least 32 bytes)");
    expect_err("[auth]\nadmin_remote = yes\n", "t.conf:2: key 'admin_remote': unknown value 'yes' (expected false or true)");
    expect_err("[auth]\ntoken_ttl_s = 59\n", "t.conf:2: key 'token_ttl_s': must be an integer from 60 to 2592000");
    expect_ok("[ops]\nevent_log = /var/log/classrelay/events.log\nevent_log_level = warn\nreport_dir = /srv/reports\n", &c);
    assert_string_equal(c.event_log, "/var/log/classrelay/events.log");
    assert_int_equal(c.event_log_level, CR_LOG_WARN);
    assert_string_equal(c.report_dir, "/srv/reports");
    expect_err("[ops]\nevent_log_level = loud\n",
               "t.conf:2: key 'event_log_level': unknown value 'loud' (expected debug, info, warn or error)");
    expect_err("[signal]\nws_idle_timeout_s = 3601\n",
               "t.conf:2: key 'ws_idle_timeout_s': must be an integer from 5 to 3600");
    expect_ok("[auth]\nsecret = 0123456789abcdef0123456789abcdef\nsecret_file = /x\n", &c);
    assert_int_equal(cr_conf_validate(&c, err, sizeof(err)), CR_ECONFIG);
    assert_string_equal(err, "key 'secret_file': set either secret or secret_file in [auth], not both");
    cr_conf_defaults(&c);
    snprintf(c.auth_secret, sizeof(c.auth_secret), "%s", "too-short");
    assert_int_equal(cr_conf_validate(&c, err, sizeof(err)), CR_ECONFIG);
    assert_string_equal(err, "key 'secret': too short (at least 32 bytes)");
}

static void test_timetable(void **state)
{
    (void)state;
    cr_conf_t c;
    char err[256] = "";
    expect_ok("[class.math-7]\nkind = dedicated\ntitle = \"Grade 7 math\"\nschool = anchor_1\nteacher = t-wang\n"
              "classrooms = rural-3a, rural-3b,rural-4\nstart = 2025-09-01T08:00Z\nend = 2025-09-01T08:45:30Z\n"
              "[relay]\nworkers = 2\n"
              "[class.open]\n",
              &c);
    assert_int_equal(c.n_classes, 2);
    assert_int_equal(c.workers, 2);
    assert_string_equal(c.classes[0].id, "math-7");
    assert_int_equal(c.classes[0].kind, CR_CONF_KIND_DEDICATED);
    assert_string_equal(c.classes[0].title, "Grade 7 math");
    assert_string_equal(c.classes[0].school, "anchor_1");
    assert_string_equal(c.classes[0].teacher, "t-wang");
    assert_string_equal(c.classes[0].classrooms, "rural-3a, rural-3b,rural-4");
    assert_int_equal(c.classes[0].start, 1756713600);
    assert_int_equal(c.classes[0].end, 1756716330);
    assert_string_equal(c.classes[1].id, "open");
    assert_int_equal(c.classes[1].kind, CR_CONF_KIND_SYNCHRONOUS); /* defaults */
    assert_string_equal(c.classes[1].title, "");
    assert_int_equal(c.classes[1].start, 0);
    assert_int_equal(cr_conf_validate(&c, err, sizeof(err)), 0);

    expect_ok("[class.a]\nkind = master\nstart = 1700000000\n[class.b]\nkind = network\n", &c);
    assert_int_equal(c.classes[0].kind, CR_CONF_KIND_MASTER);
    assert_int_equal(c.classes[0].start, 1700000000);
    assert_int_equal(c.classes[1].kind, CR_CONF_KIND_NETWORK);

    expect_err("[class.a]\nkind = lecture\n",
               "t.conf:2: key 'kind': unknown value 'lecture' (expected synchronous, dedicated, master or network)");
    expect_err("[class.a]\nfoo = 1\n", "t.conf:2: key 'foo': unknown key in section [class.a]");
    expect_err("[class.a]\nkind = master\nkind = master\n", "t.conf:3: key 'kind': duplicate key (first set on line 2)");
    expect_err("[class.a]\n[class.a]\n", "t.conf:2: duplicate section [class.a] (first on line 1)");
    expect_err("[class.a b]\n", "t.conf:1: invalid class id in section [class.a b] (1-64 of A-Z a-z 0-9 _ -)");
    expect_err("[class.]\n", "t.conf:1: invalid class id in section [class.] (1-64 of A-Z a-z 0-9 _ -)");
    expect_err("[class.a]\nclassrooms = r1,,r2\n", "t.conf:2: key 'classrooms': '' is not an id (1-64 of A-Z a-z 0-9 _ -)");
    expect_err("[class.a]\nclassrooms = r1, r/2\n", "t.conf:2: key 'classrooms': 'r/2' is not an id (1-64 of A-Z a-z 0-9 _ -)");
    expect_err("[class.a]\nclassrooms = r1,\n", "t.conf:2: key 'classrooms': empty id after the last ','");
    expect_err("[class.a]\nteacher = Wang Li\n", "t.conf:2: key 'teacher': not an id (1-64 of A-Z a-z 0-9 _ -)");
    expect_err("[class.a]\nstart = 2025-02-30T08:00Z\n",
               "t.conf:2: key 'start': expected Unix seconds or YYYY-MM-DDTHH:MM[:SS]Z");
    expect_err("[class.a]\nstart = 2025-09-01 08:00\n",
               "t.conf:2: key 'start': expected Unix seconds or YYYY-MM-DDTHH:MM[:SS]Z");
    expect_err("[class.a]\nstart = 2025-09-01T08:00+08:00\n",
               "t.conf:2: key 'start': expected Unix seconds or YYYY-MM-DDTHH:MM[:SS]Z");
    expect_err("[class.a]\nstart = -5\n", "t.conf:2: key 'start': expected Unix seconds or YYYY-MM-DDTHH:MM[:SS]Z");

    /* A section per id, at most CR_CONF_MAX_TIMETABLE. */
    char text[4096];
    size_t used = 0;
    for (int i = 0; i <= CR_CONF_MAX_TIMETABLE; i++)
        used += (size_t)snprintf(text + used, sizeof(text) - used, "[class.c%d]\n", i);
    char msg[128];
    snprintf(msg, sizeof(msg), "t.conf:%d: too many [class.*] sections (max %d)", CR_CONF_MAX_TIMETABLE + 1,
             CR_CONF_MAX_TIMETABLE);
    expect_err(text, msg);

    /* Cross-key checks. */
    expect_ok("[class.a]\nstart = 2000\nend = 2000\n", &c);
    assert_int_equal(cr_conf_validate(&c, err, sizeof(err)), CR_ECONFIG);
    assert_string_equal(err, "[class.a] key 'end': not after start");
    expect_ok("[relay]\nmax_classes = 1\n[class.a]\n[class.b]\n", &c);
    assert_int_equal(cr_conf_validate(&c, err, sizeof(err)), CR_ECONFIG);
    assert_string_equal(err, "key 'max_classes': 1 is fewer than the 2 [class.*] sections");
    /* A later file adds entries; the same id again is an error. */
    expect_ok("[class.a]\n", &c);
    assert_int_equal(parse(&c, "[class.b]\n", err, sizeof(err)), 0);
    assert_int_equal(c.n_classes, 2);
    assert_int_equal(parse(&c, "[class.a]\n", err, sizeof(err)), CR_ECONFIG);
    assert_string_equal(err, "t.conf:1: duplicate section [class.a] (defined by an earlier file)");
}

/* The shipped example must load and, being all comments, leave the built-in defaults unchanged. */
static void test_example_config(void **state)
{
    (void)state;
    const char *candidates[] = {"config/relay.conf", "../config/relay.conf", "../../config/relay.conf"};
    char path[1024] = "";
    /* __FILE__ is the path the compiler was given; config/ sits two levels above tests/unit/. */
    const char *slash = strrchr(__FILE__, '/');
    if (slash != NULL)
        snprintf(path, sizeof(path), "%.*s/../../config/relay.conf", (int)(slash - __FILE__), __FILE__);
    if (path[0] == '\0' || access(path, R_OK) != 0) {
        path[0] = '\0';
        for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
            if (access(candidates[i], R_OK) == 0) {
                snprintf(path, sizeof(path), "%s", candidates[i]);
                break;
            }
        }
    }
    if (path[0] == '\0')
        skip();
    cr_conf_t c, d;
    cr_conf_defaults(&c);
    cr_conf_defaults(&d);
    char err[512] = "";
    if (cr_conf_load(&c, path, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_memory_equal(&c, &d, sizeof(c));
    assert_int_equal(cr_conf_validate(&c, err, sizeof(err)), 0);
}

/* The scheduler's topology: [sched], [school.<id>] and [classroom.<id>]. */
static void test_topology(void **state)
{
    (void)state;
    cr_conf_t c;
    char err[512] = "";
    cr_conf_defaults(&c);
    assert_int_equal(c.school_capacity_mbps, 1000);
    assert_int_equal(c.classroom_capacity_mbps, 100);
    assert_true(c.target > 0.949 && c.target < 0.951);
    assert_string_equal(c.default_school, "default");
    assert_int_equal(c.weight[CR_CONF_KIND_SYNCHRONOUS], 2);
    assert_int_equal(c.weight[CR_CONF_KIND_DEDICATED], 3);
    assert_int_equal(c.weight[CR_CONF_KIND_MASTER], 1);
    assert_int_equal(c.weight[CR_CONF_KIND_NETWORK], 1);
    assert_int_equal(c.floor_kbps, 300);
    assert_int_equal(c.audio_kbps, 64);
    assert_int_equal(c.pacing, 1);
    assert_int_equal(c.n_schools, 0);
    assert_int_equal(c.n_classrooms, 0);

    expect_ok("[sched]\nclassroom_capacity_mbps = 10\ntarget = 0.95\nweight_master = 4\npacing = false\n"
              "[school.xian-1]\ncapacity_mbps = 100\ntarget = .8\n"
              "[classroom.r1]\nschool = xian-1\ncapacity_mbps = 10\n"
              "[classroom.r2]\nschool = xian-1\ntarget = 1\n"
              "[classroom.r3]\n",
              &c);
    assert_int_equal(cr_conf_validate(&c, err, sizeof(err)), 0);
    assert_int_equal(c.classroom_capacity_mbps, 10);
    assert_true(c.target > 0.949 && c.target < 0.951);
    assert_int_equal(c.weight[CR_CONF_KIND_MASTER], 4);
    assert_int_equal(c.pacing, 0);
    assert_int_equal(c.n_schools, 1);
    assert_string_equal(c.schools[0].id, "xian-1");
    assert_int_equal(c.schools[0].capacity_mbps, 100);
    assert_true(c.schools[0].target > 0.799 && c.schools[0].target < 0.801);
    assert_int_equal(c.n_classrooms, 3);
    assert_string_equal(c.classrooms[0].id, "r1");
    assert_string_equal(c.classrooms[0].school, "xian-1");
    assert_int_equal(c.classrooms[0].capacity_mbps, 10);
    assert_true(c.classrooms[0].target == 0.0); /* 0: the [sched] target */
    assert_true(c.classrooms[1].target == 1.0);
    assert_int_equal(c.classrooms[1].capacity_mbps, 0); /* 0: [sched] classroom_capacity_mbps */
    assert_string_equal(c.classrooms[2].school, "");    /* the default school */

    expect_err("[sched]\ntarget = 0\n", "t.conf:2: key 'target': must be a fraction above 0 and at most 1 (e.g. 0.9)");
    expect_err("[sched]\ntarget = 1.5\n",
               "t.conf:2: key 'target': must be a fraction above 0 and at most 1 (e.g. 0.9)");
    expect_err("[school.s]\ntarget = 9e-1\n",
               "t.conf:2: key 'target': must be a fraction above 0 and at most 1 (e.g. 0.9)");
    expect_err("[school.s]\ntarget = -0.5\n",
               "t.conf:2: key 'target': must be a fraction above 0 and at most 1 (e.g. 0.9)");
    expect_err("[school.s]\ncapacity_mbps = 100001\n",
               "t.conf:2: key 'capacity_mbps': must be an integer from 0 to 100000");
    expect_err("[school.s]\nschool = x\n", "t.conf:2: key 'school': unknown key in section [school.s]");
    expect_err("[classroom.r 1]\n",
               "t.conf:1: invalid classroom id in section [classroom.r 1] (1-64 of A-Z a-z 0-9 _ -)");
    expect_err("[school.s]\n[school.s]\n", "t.conf:2: duplicate section [school.s] (first on line 1)");
    expect_err("[sched]\nweight_dedicated = 0\n",
               "t.conf:2: key 'weight_dedicated': must be an integer from 1 to 100");

    /* A classroom must name a configured school (or the default one). */
    expect_ok("[classroom.r1]\nschool = nowhere\n", &c);
    assert_int_equal(cr_conf_validate(&c, err, sizeof(err)), CR_ECONFIG);
    assert_string_equal(err, "[classroom.r1] key 'school': no [school.nowhere] section");
    expect_ok("[classroom.r1]\nschool = default\n", &c);
    assert_int_equal(cr_conf_validate(&c, err, sizeof(err)), 0);

    /* At most CR_CONF_MAX_SCHOOLS schools. */
    char text[8192];
    size_t used = 0;
    for (int i = 0; i <= CR_CONF_MAX_SCHOOLS; i++)
        used += (size_t)snprintf(text + used, sizeof(text) - used, "[school.s%d]\n", i);
    char msg[128];
    snprintf(msg, sizeof(msg), "t.conf:%d: too many [school.*] sections (max %d)", CR_CONF_MAX_SCHOOLS + 1,
             CR_CONF_MAX_SCHOOLS);
    expect_err(text, msg);
}

/* The worker sections: [supervise], [recording], a class's record key and [source.<id>]. */
static void test_workers(void **state)
{
    (void)state;
    cr_conf_t c;
    char err[512] = "";
    cr_conf_defaults(&c);
    assert_string_equal(c.client_path, "");
    assert_string_equal(c.rec_dir, "");
    assert_int_equal(c.rec_all, 0);
    assert_int_equal(c.rec_segment_s, 600);
    assert_int_equal(c.rec_max_segment_mb, 0);
    assert_int_equal(c.rec_max, 16);
    assert_int_equal(c.n_sources, 0);

    expect_ok("[supervise]\nclient_path = /opt/cr/classrelay-client\nlog_dir = /var/log/cr\n"
              "[recording]\ndir = /srv/rec\nall = true\nsegment_s = 300\nmax_segment_mb = 2048\n"
              "max_recorders = 4\n"
              "[class.math]\nrecord = true\n"
              "[source.studio-1]\nclass = math\nurl = rtsp://user:pw@10.0.0.5:554/live?ch=1#x\n"
              "[source.studio-2]\nclass = art\nurl = srt://10.0.0.6:9000?mode=caller\ntranscode = true\n"
              "layers = 720,360\nfps = 15\n"
              "[source.file]\nclass = music\nurl = /srv/lessons/music.mp4\n",
              &c);
    assert_int_equal(cr_conf_validate(&c, err, sizeof(err)), 0);
    assert_string_equal(c.client_path, "/opt/cr/classrelay-client");
    assert_string_equal(c.worker_log_dir, "/var/log/cr");
    assert_string_equal(c.rec_dir, "/srv/rec");
    assert_int_equal(c.rec_all, 1);
    assert_int_equal(c.rec_segment_s, 300);
    assert_int_equal(c.rec_max_segment_mb, 2048);
    assert_int_equal(c.rec_max, 4);
    assert_int_equal(c.classes[0].record, 1);
    assert_int_equal(c.n_sources, 3);
    assert_string_equal(c.sources[0].id, "studio-1");
    assert_string_equal(c.sources[0].class_id, "math");
    assert_string_equal(c.sources[0].url, "rtsp://user:pw@10.0.0.5:554/live?ch=1#x"); /* '#' after no blank */
    assert_int_equal(c.sources[0].transcode, 0);
    assert_string_equal(c.sources[0].layers, "1080,720,360");
    assert_int_equal(c.sources[0].fps, 30);
    assert_int_equal(c.sources[1].transcode, 1);
    assert_string_equal(c.sources[1].layers, "720,360");
    assert_int_equal(c.sources[1].fps, 15);

    expect_err("[recording]\nsegment_s = 5\n", "t.conf:2: key 'segment_s': must be an integer from 10 to 14400");
    expect_err("[recording]\nmax_recorders = 0\n",
               "t.conf:2: key 'max_recorders': must be an integer from 1 to 64");
    expect_err("[source.s]\nclass = ../x\n", "t.conf:2: key 'class': not an id (1-64 of A-Z a-z 0-9 _ -)");
    expect_err("[source.s]\nfps = 0\n", "t.conf:2: key 'fps': must be an integer from 1 to 60");
    expect_err("[source.s/x]\n", "t.conf:1: invalid source id in section [source.s/x] (1-64 of A-Z a-z 0-9 _ -)");
    expect_err("[supervise]\nrecord = true\n", "t.conf:2: key 'record': unknown key in section [supervise]");

    /* Checked once every row is known. */
    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"[source.s]\nurl = rtsp://h/x\n", "[source.s] key 'class': missing: the class this source feeds"},
        {"[source.s]\nclass = c\n", "[source.s] key 'url': missing: rtsp://, srt://, rtmp:// URL or an absolute "
                                     "file path"},
        {"[source.s]\nclass = c\nurl = http://h/x\n",
         "[source.s] key 'url': expected rtsp://, rtsps://, srt://, rtmp://, rtmps://, file:// or an absolute file "
         "path"},
        {"[source.s]\nclass = c\nurl = --help\n",
         "[source.s] key 'url': expected rtsp://, rtsps://, srt://, rtmp://, rtmps://, file:// or an absolute file "
         "path"},
        {"[source.s]\nclass = c\nurl = rtsp://\n", "[source.s] key 'url': nothing after the scheme"},
        {"[source.s]\nclass = c\nurl = rtsp://h\nlayers = 360,720\n",
         "[source.s] key 'layers': 1 to 3 even heights from 90 to 2160, best first (e.g. 1080,720,360)"},
        {"[source.s]\nclass = c\nurl = rtsp://h\nlayers = 1080,720,360,180\n",
         "[source.s] key 'layers': 1 to 3 even heights from 90 to 2160, best first (e.g. 1080,720,360)"},
        {"[source.s]\nclass = c\nurl = rtsp://h\nlayers = 1080,\n",
         "[source.s] key 'layers': 1 to 3 even heights from 90 to 2160, best first (e.g. 1080,720,360)"},
        {"[source.a]\nclass = c\nurl = rtsp://h\n[source.b]\nclass = c\nurl = rtsp://i\n",
         "[source.b] key 'class': class 'c' already has [source.a]"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        expect_ok(bad[i].text, &c);
        assert_int_equal(cr_conf_validate(&c, err, sizeof(err)), CR_ECONFIG);
        assert_string_equal(err, bad[i].msg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_full_file),
        cmocka_unit_test(test_announce_follows_media_ip),
        cmocka_unit_test(test_errors_keys),
        cmocka_unit_test(test_errors_uint),
        cmocka_unit_test(test_errors_addresses),
        cmocka_unit_test(test_errors_string_enum),
        cmocka_unit_test(test_comments_whitespace_quotes),
        cmocka_unit_test(test_crlf),
        cmocka_unit_test(test_nul_and_control),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_err_buffer),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_load_too_large),
        cmocka_unit_test(test_validate),
        cmocka_unit_test(test_example_config),
        cmocka_unit_test(test_auth_signal),
        cmocka_unit_test(test_timetable),
        cmocka_unit_test(test_topology),
        cmocka_unit_test(test_workers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
