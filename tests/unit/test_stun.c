/*
 * STUN tests: the RFC 5769 test vectors (which check HMAC, CRC and XOR-MAPPED-ADDRESS against an
 * independent implementation), writer/parser round trips, and malformed input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "cr_err.h"
#include "cr_stun.h"

static const char rfc5769_pwd[] = "VOkJxbRl1RmTxUk/WvJxBt";

/* RFC 5769 section 2.1: sample request (SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME, MI, FP). */
static const uint8_t rfc5769_req[] = {
    0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73,
    0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
    0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09,
    0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76, 0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14,
    0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
    0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf,
};

/* RFC 5769 section 2.2: sample IPv4 response, mapped address 192.0.2.1 port 32853. */
static const uint8_t rfc5769_resp4[] = {
    0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
    0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9,
    0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7, 0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
};

/* RFC 5769 section 2.3: sample IPv6 response, 2001:db8:1234:5678:11:2233:4455:6677 port 32853. */
static const uint8_t rfc5769_resp6[] = {
    0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
    0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9, 0x00, 0x08, 0x00, 0x14,
    0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1, 0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75,
    0xbf, 0xe3, 0xed, 0x41, 0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c,
};

static const uint8_t tid_a[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

static void check_both(const uint8_t *msg, size_t len, int want_mi, int want_fp)
{
    cr_stun_msg_t m;
    assert_int_equal(cr_stun_parse(msg, len, &m), 0);
    assert_int_equal(cr_stun_check_integrity(msg, len, &m, (const uint8_t *)rfc5769_pwd,
                                             strlen(rfc5769_pwd)),
                     want_mi);
    assert_int_equal(cr_stun_check_fingerprint(msg, len, &m), want_fp);
}

/* Every byte before MESSAGE-INTEGRITY is covered by both checks; flipping one must fail both. */
static void check_vector(const uint8_t *vec, size_t len, size_t flip_at)
{
    uint8_t buf[128];
    assert_true(len <= sizeof(buf));
    assert_int_equal(cr_stun_is_stun(vec, len), 1);
    check_both(vec, len, 0, 0);
    memcpy(buf, vec, len);
    buf[flip_at] ^= 0x01;
    check_both(buf, len, CR_EAUTH, CR_EAUTH);
    /* A flipped FINGERPRINT byte only breaks the fingerprint. */
    memcpy(buf, vec, len);
    buf[len - 1] ^= 0x80;
    check_both(buf, len, 0, CR_EAUTH);
    /* A flipped MESSAGE-INTEGRITY byte breaks both (the CRC covers the HMAC). */
    memcpy(buf, vec, len);
    buf[len - 12] ^= 0x10;
    check_both(buf, len, CR_EAUTH, CR_EAUTH);
}

static void test_rfc5769_request(void **state)
{
    (void)state;
    cr_stun_msg_t m;
    assert_int_equal(cr_stun_parse(rfc5769_req, sizeof(rfc5769_req), &m), 0);
    assert_int_equal(m.type, CR_STUN_BINDING_REQUEST);
    assert_int_equal(m.length, 0x58);
    assert_memory_equal(m.tid, rfc5769_req + 8, 12);
    assert_int_equal(m.username_len, 9);
    assert_memory_equal(m.username, "evtj:h6vY", 9);
    assert_int_equal(m.priority, 0x6e0001ff);
    assert_int_equal(m.ice_controlled, 1);
    assert_int_equal(m.ice_controlling, 0);
    assert_int_equal(m.use_candidate, 0);
    assert_true(m.tiebreaker == 0x932ff9b151263b36ull);
    assert_int_equal(m.integrity_off, 76);
    assert_int_equal(m.fingerprint_off, 100);
    assert_int_equal(m.has_xor_mapped, 0);
    check_vector(rfc5769_req, sizeof(rfc5769_req), 30);
    /* The username is covered too. */
    check_vector(rfc5769_req, sizeof(rfc5769_req), 66);

    const char wrong[] = "VOkJxbRl1RmTxUk/WvJxBu";
    assert_int_equal(cr_stun_check_integrity(rfc5769_req, sizeof(rfc5769_req), &m,
                                             (const uint8_t *)wrong, strlen(wrong)),
                     CR_EAUTH);
}

static void test_rfc5769_ipv4_response(void **state)
{
    (void)state;
    cr_stun_msg_t m;
    assert_int_equal(cr_stun_parse(rfc5769_resp4, sizeof(rfc5769_resp4), &m), 0);
    assert_int_equal(m.type, CR_STUN_BINDING_SUCCESS);
    assert_int_equal(m.has_xor_mapped, 1);
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&m.xor_mapped;
    assert_int_equal(sin->sin_family, AF_INET);
    assert_int_equal(ntohs(sin->sin_port), 32853);
    char txt[INET_ADDRSTRLEN];
    assert_non_null(inet_ntop(AF_INET, &sin->sin_addr, txt, sizeof(txt)));
    assert_string_equal(txt, "192.0.2.1");
    check_vector(rfc5769_resp4, sizeof(rfc5769_resp4), 42);
}

static void test_rfc5769_ipv6_response(void **state)
{
    (void)state;
    cr_stun_msg_t m;
    assert_int_equal(cr_stun_parse(rfc5769_resp6, sizeof(rfc5769_resp6), &m), 0);
    assert_int_equal(m.has_xor_mapped, 1);
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&m.xor_mapped;
    assert_int_equal(sin6->sin6_family, AF_INET6);
    assert_int_equal(ntohs(sin6->sin6_port), 32853);
    char txt[INET6_ADDRSTRLEN];
    assert_non_null(inet_ntop(AF_INET6, &sin6->sin6_addr, txt, sizeof(txt)));
    assert_string_equal(txt, "2001:db8:1234:5678:11:2233:4455:6677");
    check_vector(rfc5769_resp6, sizeof(rfc5769_resp6), 50);
}

static void test_roundtrip_success_v4(void **state)
{
    (void)state;
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(50000)};
    inet_pton(AF_INET, "203.0.113.7", &sin.sin_addr);
    const uint8_t key[] = "relaypwd-0123456789abcd";
    uint8_t buf[256];
    int n = cr_stun_write_binding_success(buf, sizeof(buf), tid_a, (struct sockaddr *)&sin, key,
                                          sizeof(key) - 1);
    assert_int_equal(n, 20 + 12 + 24 + 8);
    assert_int_equal(cr_stun_is_stun(buf, (size_t)n), 1);
    cr_stun_msg_t m;
    assert_int_equal(cr_stun_parse(buf, (size_t)n, &m), 0);
    assert_int_equal(m.type, CR_STUN_BINDING_SUCCESS);
    assert_memory_equal(m.tid, tid_a, 12);
    assert_int_equal(m.has_xor_mapped, 1);
    assert_memory_equal(&m.xor_mapped, &sin, sizeof(sin));
    assert_int_equal(cr_stun_check_integrity(buf, (size_t)n, &m, key, sizeof(key) - 1), 0);
    assert_int_equal(cr_stun_check_fingerprint(buf, (size_t)n, &m), 0);
    /* Every prefix-sized buffer is too small; none may be overrun. */
    for (size_t cap = 0; cap < (size_t)n; cap++)
        assert_int_equal(cr_stun_write_binding_success(buf, cap, tid_a, (struct sockaddr *)&sin,
                                                       key, sizeof(key) - 1),
                         CR_ETOOBIG);
}

static void test_roundtrip_success_v6(void **state)
{
    (void)state;
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(3478)};
    inet_pton(AF_INET6, "2001:db8::42:1", &sin6.sin6_addr);
    const uint8_t key[] = "k";
    uint8_t buf[256];
    int n = cr_stun_write_binding_success(buf, sizeof(buf), tid_a, (struct sockaddr *)&sin6, key, 1);
    assert_int_equal(n, 20 + 24 + 24 + 8);
    cr_stun_msg_t m;
    assert_int_equal(cr_stun_parse(buf, (size_t)n, &m), 0);
    const struct sockaddr_in6 *got = (const struct sockaddr_in6 *)&m.xor_mapped;
    assert_int_equal(got->sin6_family, AF_INET6);
    assert_int_equal(got->sin6_port, sin6.sin6_port);
    assert_memory_equal(&got->sin6_addr, &sin6.sin6_addr, 16);
    assert_int_equal(cr_stun_check_integrity(buf, (size_t)n, &m, key, 1), 0);
    assert_int_equal(cr_stun_check_fingerprint(buf, (size_t)n, &m), 0);

    struct sockaddr bad = {.sa_family = AF_UNIX};
    assert_int_equal(cr_stun_write_binding_success(buf, sizeof(buf), tid_a, &bad, key, 1),
                     CR_EINVAL);
}

static void test_roundtrip_request(void **state)
{
    (void)state;
    const uint8_t key[] = "remote-pwd-abcdefghijklmn";
    cr_stun_request_t req = {
        .tid = tid_a,
        .username = "abcd:efghij",
        .key = key,
        .key_len = sizeof(key) - 1,
        .priority = 1853817087u,
        .controlling = 1,
        .tiebreaker = 0x0102030405060708ull,
        .use_candidate = 1,
    };
    uint8_t buf[256];
    int n = cr_stun_write_binding_request(buf, sizeof(buf), &req);
    assert_true(n > 0);
    cr_stun_msg_t m;
    assert_int_equal(cr_stun_parse(buf, (size_t)n, &m), 0);
    assert_int_equal(m.type, CR_STUN_BINDING_REQUEST);
    assert_int_equal(m.username_len, 11);
    assert_memory_equal(m.username, "abcd:efghij", 11);
    assert_int_equal(m.priority, 1853817087u);
    assert_int_equal(m.ice_controlling, 1);
    assert_int_equal(m.ice_controlled, 0);
    assert_int_equal(m.use_candidate, 1);
    assert_true(m.tiebreaker == 0x0102030405060708ull);
    assert_int_equal(cr_stun_check_integrity(buf, (size_t)n, &m, key, sizeof(key) - 1), 0);
    assert_int_equal(cr_stun_check_fingerprint(buf, (size_t)n, &m), 0);

    req.controlling = 0;
    req.use_candidate = 0;
    n = cr_stun_write_binding_request(buf, sizeof(buf), &req);
    assert_int_equal(cr_stun_parse(buf, (size_t)n, &m), 0);
    assert_int_equal(m.ice_controlled, 1);
    assert_int_equal(m.use_candidate, 0);

    char long_user[600];
    memset(long_user, 'u', sizeof(long_user) - 1);
    long_user[sizeof(long_user) - 1] = '\0';
    req.username = long_user;
    assert_int_equal(cr_stun_write_binding_request(buf, sizeof(buf), &req), CR_ETOOBIG);
    req.username = NULL;
    assert_int_equal(cr_stun_write_binding_request(buf, sizeof(buf), &req), CR_EINVAL);
}

static void test_roundtrip_error(void **state)
{
    (void)state;
    uint8_t buf[128];
    int n = cr_stun_write_binding_error(buf, sizeof(buf), tid_a, 487, "Role Conflict");
    assert_true(n > 0);
    cr_stun_msg_t m;
    assert_int_equal(cr_stun_parse(buf, (size_t)n, &m), 0);
    assert_int_equal(m.type, CR_STUN_BINDING_ERROR);
    assert_int_equal(m.error_code, 487);
    assert_int_equal(m.integrity_off, 0);
    assert_int_equal(cr_stun_check_integrity(buf, (size_t)n, &m, (const uint8_t *)"x", 1),
                     CR_ENOTFOUND);
    assert_int_equal(cr_stun_check_fingerprint(buf, (size_t)n, &m), 0);

    n = cr_stun_write_binding_error(buf, sizeof(buf), tid_a, 401, NULL);
    assert_int_equal(cr_stun_parse(buf, (size_t)n, &m), 0);
    assert_int_equal(m.error_code, 401);
    assert_int_equal(cr_stun_write_binding_error(buf, sizeof(buf), tid_a, 200, "x"), CR_EINVAL);
    assert_int_equal(cr_stun_write_binding_error(buf, 20, tid_a, 400, "Bad Request"), CR_ETOOBIG);
}

/* A minimal valid request header for building malformed messages. */
static size_t make_hdr(uint8_t *buf, uint16_t body_len)
{
    memset(buf, 0, 20);
    buf[1] = 0x01;
    buf[2] = (uint8_t)(body_len >> 8);
    buf[3] = (uint8_t)body_len;
    buf[4] = 0x21;
    buf[5] = 0x12;
    buf[6] = 0xa4;
    buf[7] = 0x42;
    memcpy(buf + 8, tid_a, 12);
    return 20;
}

static void test_malformed_header(void **state)
{
    (void)state;
    cr_stun_msg_t m;
    uint8_t buf[128];
    assert_int_equal(cr_stun_parse(rfc5769_req, 19, &m), CR_ETRUNC);
    assert_int_equal(cr_stun_parse(rfc5769_req, 0, &m), CR_ETRUNC);
    assert_int_equal(cr_stun_is_stun(rfc5769_req, 19), 0);
    /* Body shorter than the header says. */
    assert_int_equal(cr_stun_parse(rfc5769_req, sizeof(rfc5769_req) - 4, &m), CR_ETRUNC);
    assert_int_equal(cr_stun_is_stun(rfc5769_req, sizeof(rfc5769_req) - 4), 0);

    memcpy(buf, rfc5769_req, sizeof(rfc5769_req));
    buf[5] ^= 0xff; /* wrong magic cookie */
    assert_int_equal(cr_stun_parse(buf, sizeof(rfc5769_req), &m), CR_EMALFORMED);
    assert_int_equal(cr_stun_is_stun(buf, sizeof(rfc5769_req)), 0);

    memcpy(buf, rfc5769_req, sizeof(rfc5769_req));
    buf[0] = 0x40; /* top bits set: RTP/DTLS range, not STUN */
    assert_int_equal(cr_stun_parse(buf, sizeof(rfc5769_req), &m), CR_EMALFORMED);
    assert_int_equal(cr_stun_is_stun(buf, sizeof(rfc5769_req)), 0);

    size_t n = make_hdr(buf, 6); /* length not a multiple of 4 */
    memset(buf + n, 0, 6);
    assert_int_equal(cr_stun_parse(buf, n + 6, &m), CR_EMALFORMED);
    assert_int_equal(cr_stun_is_stun(buf, n + 6), 0);

    n = make_hdr(buf, 0); /* trailing bytes after the message */
    assert_int_equal(cr_stun_parse(buf, n + 4, &m), CR_EMALFORMED);
    assert_int_equal(cr_stun_parse(buf, n, &m), 0);
}

static void test_malformed_attrs(void **state)
{
    (void)state;
    cr_stun_msg_t m;
    uint8_t buf[512];

    /* An attribute whose length runs past the end of the message. */
    size_t n = make_hdr(buf, 8);
    const uint8_t past[] = {0x80, 0x22, 0x00, 0x08, 'a', 'b', 'c', 'd'};
    memcpy(buf + n, past, sizeof(past));
    assert_int_equal(cr_stun_parse(buf, n + sizeof(past), &m), CR_EMALFORMED);

    /* Padding that runs past the end: length 5 needs 8 bytes of value. */
    n = make_hdr(buf, 8);
    const uint8_t pad[] = {0x80, 0x22, 0x00, 0x05, 'a', 'b', 'c', 'd'};
    memcpy(buf + n, pad, sizeof(pad));
    assert_int_equal(cr_stun_parse(buf, n + sizeof(pad), &m), CR_EMALFORMED);

    /* CR_STUN_MAX_ATTRS attributes are fine, one more is not. */
    n = make_hdr(buf, (CR_STUN_MAX_ATTRS + 1) * 4);
    for (int i = 0; i <= CR_STUN_MAX_ATTRS; i++) {
        const uint8_t sw[] = {0x80, 0x22, 0x00, 0x00};
        memcpy(buf + n + 4 * (size_t)i, sw, 4);
    }
    assert_int_equal(cr_stun_parse(buf, n + (CR_STUN_MAX_ATTRS + 1) * 4, &m), CR_EMALFORMED);
    make_hdr(buf, CR_STUN_MAX_ATTRS * 4);
    assert_int_equal(cr_stun_parse(buf, n + CR_STUN_MAX_ATTRS * 4, &m), 0);

    /* An attribute after FINGERPRINT. */
    uint8_t tail[sizeof(rfc5769_req) + 4];
    memcpy(tail, rfc5769_req, sizeof(rfc5769_req));
    tail[3] += 4;
    const uint8_t uc[] = {0x00, 0x25, 0x00, 0x00};
    memcpy(tail + sizeof(rfc5769_req), uc, 4);
    assert_int_equal(cr_stun_parse(tail, sizeof(tail), &m), CR_EMALFORMED);

    /* XOR-MAPPED-ADDRESS with family 3, and with an IPv4 family but IPv6 length. */
    uint8_t bad[sizeof(rfc5769_resp4)];
    memcpy(bad, rfc5769_resp4, sizeof(bad));
    bad[41] = 0x03;
    assert_int_equal(cr_stun_parse(bad, sizeof(bad), &m), CR_EMALFORMED);
    uint8_t bad6[sizeof(rfc5769_resp6)];
    memcpy(bad6, rfc5769_resp6, sizeof(bad6));
    bad6[41] = 0x01;
    assert_int_equal(cr_stun_parse(bad6, sizeof(bad6), &m), CR_EMALFORMED);

    /* Wrong fixed lengths: PRIORITY of 8 bytes, FINGERPRINT of 8 bytes. */
    n = make_hdr(buf, 12);
    const uint8_t prio[] = {0x00, 0x24, 0x00, 0x08, 0, 0, 0, 1, 0, 0, 0, 2};
    memcpy(buf + n, prio, sizeof(prio));
    assert_int_equal(cr_stun_parse(buf, n + sizeof(prio), &m), CR_EMALFORMED);
    n = make_hdr(buf, 12);
    const uint8_t fp[] = {0x80, 0x28, 0x00, 0x08, 0, 0, 0, 1, 0, 0, 0, 2};
    memcpy(buf + n, fp, sizeof(fp));
    assert_int_equal(cr_stun_parse(buf, n + sizeof(fp), &m), CR_EMALFORMED);

    /* ERROR-CODE with class 7. */
    n = make_hdr(buf, 8);
    const uint8_t ec[] = {0x00, 0x09, 0x00, 0x04, 0, 0, 7, 0};
    memcpy(buf + n, ec, sizeof(ec));
    assert_int_equal(cr_stun_parse(buf, n + sizeof(ec), &m), CR_EMALFORMED);
}

static void test_absent_checks(void **state)
{
    (void)state;
    uint8_t buf[20];
    cr_stun_msg_t m;
    size_t n = make_hdr(buf, 0);
    assert_int_equal(cr_stun_parse(buf, n, &m), 0);
    assert_int_equal(cr_stun_check_integrity(buf, n, &m, (const uint8_t *)"k", 1), CR_ENOTFOUND);
    assert_int_equal(cr_stun_check_fingerprint(buf, n, &m), CR_ENOTFOUND);
    /* A message descriptor that does not belong to the buffer is refused, not followed. */
    m.integrity_off = 400;
    m.fingerprint_off = 400;
    assert_int_equal(cr_stun_check_integrity(buf, n, &m, (const uint8_t *)"k", 1), CR_EINVAL);
    assert_int_equal(cr_stun_check_fingerprint(buf, n, &m), CR_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc5769_request),
        cmocka_unit_test(test_rfc5769_ipv4_response),
        cmocka_unit_test(test_rfc5769_ipv6_response),
        cmocka_unit_test(test_roundtrip_success_v4),
        cmocka_unit_test(test_roundtrip_success_v6),
        cmocka_unit_test(test_roundtrip_request),
        cmocka_unit_test(test_roundtrip_error),
        cmocka_unit_test(test_malformed_header),
        cmocka_unit_test(test_malformed_attrs),
        cmocka_unit_test(test_absent_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
