/*
 * Tokens: valid, expired, wrong signature, wrong class, wrong role, and every way a token can be
 * malformed; base64url; the RFC 7515 appendix A.1 HS256 example as an interoperability vector;
 * bounded JSON parsing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cr_auth.h"
#include "cr_auth_secret.h"
#include "cr_err.h"
#include "cr_json_guard.h"

#define NOW 1700000000

static const uint8_t key[] = "0123456789abcdef0123456789abcdef-test-secret";
#define KEYLEN (sizeof(key) - 1)

static cr_claims_t claims(enum cr_role role, const char *cls, const char *sub)
{
    cr_claims_t c;
    memset(&c, 0, sizeof(c));
    c.role = role;
    snprintf(c.class_id, sizeof(c.class_id), "%s", cls);
    snprintf(c.sub, sizeof(c.sub), "%s", sub);
    c.iat = NOW - 10;
    c.exp = NOW + 3600;
    return c;
}

static int mint(const cr_claims_t *c, char *tok, size_t cap)
{
    int n = cr_auth_sign(key, KEYLEN, c, tok, cap);
    assert_true(n > 0);
    assert_int_equal((size_t)n, strlen(tok));
    return n;
}

static int verify(const char *tok, int64_t now, cr_claims_t *out)
{
    return cr_auth_verify(key, KEYLEN, tok, strlen(tok), now, out);
}

/* Builds header.payload from JSON texts and signs it with key: for hand-made payloads. */
static void forge(const char *header, const char *payload, const uint8_t *k, size_t klen, char *out, size_t cap);

static void test_valid_roundtrip(void **state)
{
    (void)state;
    char tok[CR_AUTH_TOKEN_MAX + 1];
    cr_claims_t c = claims(CR_ROLE_CLASSROOM, "math-7", "rural-3a"), v;
    snprintf(c.school, sizeof(c.school), "%s", "school_1");
    snprintf(c.name, sizeof(c.name), "%s", "三年级 A 班");
    mint(&c, tok, sizeof(tok));
    assert_int_equal(strncmp(tok, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", 37), 0);
    assert_int_equal(verify(tok, NOW, &v), 0);
    assert_int_equal(v.role, CR_ROLE_CLASSROOM);
    assert_string_equal(v.class_id, "math-7");
    assert_string_equal(v.sub, "rural-3a");
    assert_string_equal(v.school, "school_1");
    assert_string_equal(v.name, "三年级 A 班");
    assert_int_equal(v.iat, NOW - 10);
    assert_int_equal(v.exp, NOW + 3600);
    assert_true(cr_auth_class_ok(&v, "math-7"));
}

static void test_sub_defaults_to_role(void **state)
{
    (void)state;
    char tok[1024];
    cr_claims_t c = claims(CR_ROLE_TEACHER, "*", ""), v;
    mint(&c, tok, sizeof(tok));
    assert_int_equal(verify(tok, NOW, &v), 0);
    assert_string_equal(v.sub, "teacher");
    assert_string_equal(v.class_id, "*");
    assert_true(cr_auth_class_ok(&v, "anything"));
}

static void test_expired(void **state)
{
    (void)state;
    char tok[1024];
    cr_claims_t c = claims(CR_ROLE_TEACHER, "math-7", "t1"), v;
    mint(&c, tok, sizeof(tok));
    assert_int_equal(verify(tok, c.exp - 1, &v), 0);
    assert_int_equal(verify(tok, c.exp, &v), CR_AUTH_EEXPIRED); /* exp itself is already too late */
    assert_int_equal(verify(tok, c.exp + 86400, &v), CR_AUTH_EEXPIRED);
    assert_int_equal(v.role, 0); /* zeroed on failure */
    assert_string_equal(v.class_id, "");
}

static void test_issued_in_future(void **state)
{
    (void)state;
    char tok[1024];
    cr_claims_t c = claims(CR_ROLE_TEACHER, "math-7", "t1"), v;
    c.iat = NOW + CR_AUTH_IAT_SKEW_S;
    c.exp = NOW + 7200;
    mint(&c, tok, sizeof(tok));
    assert_int_equal(verify(tok, NOW, &v), 0); /* within the allowed clock skew */
    c.iat = NOW + CR_AUTH_IAT_SKEW_S + 1;
    mint(&c, tok, sizeof(tok));
    assert_int_equal(verify(tok, NOW, &v), CR_AUTH_EFUTURE);
}

static void test_wrong_signature(void **state)
{
    (void)state;
    char tok[1024], other[1024];
    cr_claims_t c = claims(CR_ROLE_TEACHER, "math-7", "t1"), v;
    mint(&c, tok, sizeof(tok));
    /* Another key. */
    static const uint8_t key2[] = "another-secret-another-secret-another";
    assert_int_equal(cr_auth_verify(key2, sizeof(key2) - 1, tok, strlen(tok), NOW, &v), CR_AUTH_EBAD_SIGNATURE);
    /* A flipped character in the signature ('A' <-> 'B' keeps it canonical base64url). */
    snprintf(other, sizeof(other), "%s", tok);
    size_t last = strlen(other) - 2;
    other[last] = other[last] == 'A' ? 'B' : 'A';
    assert_int_equal(verify(other, NOW, &v), CR_AUTH_EBAD_SIGNATURE);
    /* A payload swapped for another token's (role elevated to admin) keeps the old signature. */
    cr_claims_t admin = claims(CR_ROLE_ADMIN, "*", "");
    char atok[1024];
    mint(&admin, atok, sizeof(atok));
    const char *p1 = strchr(tok, '.'), *s1 = strrchr(tok, '.');
    const char *p2 = strchr(atok, '.'), *s2 = strrchr(atok, '.');
    snprintf(other, sizeof(other), "%.*s%.*s%s", (int)(p1 - tok), tok, (int)(s2 - p2), p2, s1);
    assert_int_equal(verify(other, NOW, &v), CR_AUTH_EBAD_SIGNATURE);
    /* A truncated signature (three characters fewer: still canonical base64url, 30 bytes). */
    snprintf(other, sizeof(other), "%.*s", (int)(strlen(tok) - 3), tok);
    assert_int_equal(verify(other, NOW, &v), CR_AUTH_EBAD_SIGNATURE);
    /* An empty signature. */
    snprintf(other, sizeof(other), "%.*s.", (int)(s1 - tok), tok);
    assert_int_equal(verify(other, NOW, &v), CR_AUTH_EBAD_SIGNATURE);
    /* No key configured. */
    assert_int_equal(cr_auth_verify(key, 0, tok, strlen(tok), NOW, &v), CR_AUTH_ENO_KEY);
}

static void test_wrong_class(void **state)
{
    (void)state;
    char tok[1024];
    cr_claims_t c = claims(CR_ROLE_CLASSROOM, "math-7", "r1"), v;
    mint(&c, tok, sizeof(tok));
    assert_int_equal(verify(tok, NOW, &v), 0);
    assert_false(cr_auth_class_ok(&v, "math-8"));
    assert_false(cr_auth_class_ok(&v, "math-77"));
    assert_false(cr_auth_class_ok(&v, "math"));
    assert_false(cr_auth_class_ok(&v, "*"));
    assert_true(cr_auth_class_ok(&v, "math-7"));
}

static void test_wrong_role(void **state)
{
    (void)state;
    char tok[1024];
    cr_claims_t v;
    static const char hdr[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    forge(hdr, "{\"role\":\"superuser\",\"class\":\"*\",\"iat\":1699999990,\"exp\":1700003600}", key, KEYLEN, tok,
          sizeof(tok));
    assert_int_equal(verify(tok, NOW, &v), CR_AUTH_EBAD_CLAIMS);
    forge(hdr, "{\"role\":\"Admin\",\"class\":\"*\",\"iat\":1699999990,\"exp\":1700003600}", key, KEYLEN, tok,
          sizeof(tok));
    assert_int_equal(verify(tok, NOW, &v), CR_AUTH_EBAD_CLAIMS);
    forge(hdr, "{\"role\":1,\"class\":\"*\",\"iat\":1699999990,\"exp\":1700003600}", key, KEYLEN, tok, sizeof(tok));
    assert_int_equal(verify(tok, NOW, &v), CR_AUTH_EBAD_CLAIMS);
    /* A valid role is what the token says, and nothing more. */
    forge(hdr, "{\"role\":\"operator\",\"class\":\"*\",\"iat\":1699999990,\"exp\":1700003600}", key, KEYLEN, tok,
          sizeof(tok));
    assert_int_equal(verify(tok, NOW, &v), 0);
    assert_int_equal(v.role, CR_ROLE_OPERATOR);
    enum cr_role r;
    assert_int_equal(cr_role_parse("admin", 5, &r), 0);
    assert_int_equal(r, CR_ROLE_ADMIN);
    assert_int_equal(cr_role_parse("admi", 4, &r), -1);
    assert_string_equal(cr_role_name(CR_ROLE_CLASSROOM), "classroom");
}

static void test_bad_claims(void **state)
{
    (void)state;
    static const char hdr[] = "{\"alg\":\"HS256\"}";
    static const char *const payloads[] = {
        "{\"role\":\"teacher\",\"iat\":1699999990,\"exp\":1700003600}",                          /* no class */
        "{\"role\":\"teacher\",\"class\":\"a b\",\"iat\":1699999990,\"exp\":1700003600}",         /* bad class id */
        "{\"role\":\"teacher\",\"class\":\"c\",\"exp\":1700003600}",                              /* no iat */
        "{\"role\":\"teacher\",\"class\":\"c\",\"iat\":1699999990}",                              /* no exp */
        "{\"role\":\"teacher\",\"class\":\"c\",\"iat\":1699999990,\"exp\":\"1700003600\"}",       /* exp string */
        "{\"role\":\"teacher\",\"class\":\"c\",\"iat\":1699999990,\"exp\":1700003600.5}",         /* exp real */
        "{\"role\":\"teacher\",\"class\":\"c\",\"iat\":1700003600,\"exp\":1700003600}",           /* exp == iat */
        "{\"role\":\"classroom\",\"class\":\"c\",\"iat\":1699999990,\"exp\":1700003600}",         /* no sub */
        "{\"role\":\"classroom\",\"class\":\"c\",\"sub\":\"r/1\",\"iat\":1699999990,\"exp\":1700003600}",
        "{\"role\":\"teacher\",\"class\":\"c\",\"school\":\"s 1\",\"iat\":1699999990,\"exp\":1700003600}",
        "{\"role\":\"teacher\",\"class\":\"c\",\"name\":\"a\\u0001b\",\"iat\":1699999990,\"exp\":1700003600}",
        "{\"role\":\"teacher\",\"class\":\"c\",\"name\":7,\"iat\":1699999990,\"exp\":1700003600}",
    };
    char tok[2048];
    cr_claims_t v;
    for (size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
        forge(hdr, payloads[i], key, KEYLEN, tok, sizeof(tok));
        if (verify(tok, NOW, &v) != CR_AUTH_EBAD_CLAIMS)
            fail_msg("payload %zu: %s -> %s", i, payloads[i], cr_auth_strerror(verify(tok, NOW, &v)));
    }
    /* Unknown claims are ignored. */
    forge(hdr, "{\"role\":\"teacher\",\"class\":\"c\",\"aud\":\"x\",\"iat\":1699999990,\"exp\":1700003600}", key,
          KEYLEN, tok, sizeof(tok));
    assert_int_equal(verify(tok, NOW, &v), 0);
}

static void test_malformed(void **state)
{
    (void)state;
    char tok[1024], bad[1100];
    cr_claims_t c = claims(CR_ROLE_TEACHER, "math-7", "t1"), v;
    mint(&c, tok, sizeof(tok));
    const char *dot = strchr(tok, '.');
    assert_int_equal(verify("", NOW, &v), CR_AUTH_EMALFORMED);
    assert_int_equal(verify("abc", NOW, &v), CR_AUTH_EMALFORMED);
    assert_int_equal(verify("a.b", NOW, &v), CR_AUTH_EMALFORMED);
    assert_int_equal(verify("..", NOW, &v), CR_AUTH_EMALFORMED);
    snprintf(bad, sizeof(bad), "%s.x", tok); /* four parts */
    assert_int_equal(verify(bad, NOW, &v), CR_AUTH_EMALFORMED);
    snprintf(bad, sizeof(bad), "%s=", tok); /* padding */
    assert_int_equal(verify(bad, NOW, &v), CR_AUTH_EMALFORMED);
    snprintf(bad, sizeof(bad), "%.*s+%s", (int)(dot - tok), tok, dot + 1); /* '+' is base64, not base64url */
    assert_int_equal(verify(bad, NOW, &v), CR_AUTH_EMALFORMED);
    snprintf(bad, sizeof(bad), " %s", tok);
    assert_int_equal(verify(bad, NOW, &v), CR_AUTH_EMALFORMED);
    /* Headers: not JSON, not an object, another algorithm, "none", a critical extension. */
    forge("not json", "{}", key, KEYLEN, bad, sizeof(bad));
    assert_int_equal(verify(bad, NOW, &v), CR_AUTH_EMALFORMED);
    forge("[\"HS256\"]", "{}", key, KEYLEN, bad, sizeof(bad));
    assert_int_equal(verify(bad, NOW, &v), CR_AUTH_EMALFORMED);
    forge("{\"alg\":\"HS512\"}", "{}", key, KEYLEN, bad, sizeof(bad));
    assert_int_equal(verify(bad, NOW, &v), CR_AUTH_EBAD_ALG);
    forge("{\"alg\":\"none\"}", "{}", key, KEYLEN, bad, sizeof(bad));
    assert_int_equal(verify(bad, NOW, &v), CR_AUTH_EBAD_ALG);
    forge("{\"typ\":\"JWT\"}", "{}", key, KEYLEN, bad, sizeof(bad));
    assert_int_equal(verify(bad, NOW, &v), CR_AUTH_EBAD_ALG);
    forge("{\"alg\":\"HS256\",\"typ\":\"JOSE+JSON\"}", "{}", key, KEYLEN, bad, sizeof(bad));
    assert_int_equal(verify(bad, NOW, &v), CR_AUTH_EMALFORMED);
    forge("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", "{}", key, KEYLEN, bad, sizeof(bad));
    assert_int_equal(verify(bad, NOW, &v), CR_AUTH_EMALFORMED);
    forge("{\"alg\":\"HS256\",\"alg\":\"HS256\"}", "{}", key, KEYLEN, bad, sizeof(bad)); /* duplicate key */
    assert_int_equal(verify(bad, NOW, &v), CR_AUTH_EMALFORMED);
    /* Payloads, correctly signed: not an object, nested, duplicate keys, trailing garbage. */
    static const char hdr[] = "{\"alg\":\"HS256\"}";
    static const char *const payloads[] = {
        "[1,2]",
        "\"role\"",
        "{\"role\":\"teacher\",\"class\":\"c\",\"iat\":1699999990,\"exp\":1700003600,\"x\":{\"y\":1}}",
        "{\"role\":\"teacher\",\"role\":\"admin\",\"class\":\"c\",\"iat\":1699999990,\"exp\":1700003600}",
        "{\"role\":\"teacher\",\"class\":\"c\",\"iat\":1699999990,\"exp\":1700003600} x",
        "{\"role\":\"teacher\",\"class\":\"c\",\"iat\":1699999990,\"exp\":1700003600,"
        "\"a_key_that_is_longer_than_thirty_two_bytes\":1}",
    };
    for (size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
        forge(hdr, payloads[i], key, KEYLEN, bad, sizeof(bad));
        if (verify(bad, NOW, &v) != CR_AUTH_EMALFORMED)
            fail_msg("payload %zu: %s -> %s", i, payloads[i], cr_auth_strerror(verify(bad, NOW, &v)));
    }
}

static void test_too_long(void **state)
{
    (void)state;
    char *big = malloc(CR_AUTH_TOKEN_MAX + 2);
    assert_non_null(big);
    memset(big, 'A', CR_AUTH_TOKEN_MAX + 1);
    big[10] = '.';
    big[20] = '.';
    big[CR_AUTH_TOKEN_MAX + 1] = '\0';
    cr_claims_t v;
    assert_int_equal(verify(big, NOW, &v), CR_AUTH_ETOO_LONG);
    /* Exactly at the limit it is parsed (and fails later, as garbage). */
    big[CR_AUTH_TOKEN_MAX] = '\0';
    assert_int_not_equal(verify(big, NOW, &v), CR_AUTH_ETOO_LONG);
    free(big);
    /* Signing refuses a too-small buffer and invalid claims. */
    char small[40];
    cr_claims_t c = claims(CR_ROLE_TEACHER, "c", "t");
    assert_int_equal(cr_auth_sign(key, KEYLEN, &c, small, sizeof(small)), CR_ETOOBIG);
    c = claims(CR_ROLE_CLASSROOM, "c", "");
    assert_int_equal(cr_auth_sign(key, KEYLEN, &c, small, sizeof(small)), CR_EINVAL);
    c = claims(CR_ROLE_TEACHER, "bad class", "t");
    assert_int_equal(cr_auth_sign(key, KEYLEN, &c, small, sizeof(small)), CR_EINVAL);
}

/* RFC 7515 appendix A.1: the HS256 example. Its signature verifies with the example key; its claims
 * (iss, exp, no role) are not ours, so the result is "invalid claims", not "bad signature". */
static void test_rfc7515_vector(void **state)
{
    (void)state;
    static const char jwk_k[] = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
    static const char token[] = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
                                ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
                                ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    uint8_t k[64];
    int klen = cr_b64url_decode(jwk_k, strlen(jwk_k), k, sizeof(k));
    assert_int_equal(klen, 64);
    cr_claims_t v;
    assert_int_equal(cr_auth_verify(k, (size_t)klen, token, strlen(token), 1300000000, &v), CR_AUTH_EBAD_CLAIMS);
    k[0] ^= 1;
    assert_int_equal(cr_auth_verify(k, (size_t)klen, token, strlen(token), 1300000000, &v), CR_AUTH_EBAD_SIGNATURE);
}

static void test_b64url(void **state)
{
    (void)state;
    /* RFC 4648 section 10 vectors, without padding. */
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const enc[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    char out[32];
    uint8_t dec[32];
    for (int i = 0; i < 7; i++) {
        assert_int_equal(cr_b64url_encode((const uint8_t *)plain[i], strlen(plain[i]), out, sizeof(out)),
                         (int)strlen(enc[i]));
        assert_string_equal(out, enc[i]);
        int n = cr_b64url_decode(enc[i], strlen(enc[i]), dec, sizeof(dec));
        assert_int_equal(n, (int)strlen(plain[i]));
        assert_memory_equal(dec, plain[i], (size_t)n);
    }
    static const uint8_t bin[] = {0xfb, 0xff, 0xfe};
    assert_int_equal(cr_b64url_encode(bin, 3, out, sizeof(out)), 4);
    assert_string_equal(out, "-__-");
    assert_int_equal(cr_b64url_decode("Zh", 2, dec, sizeof(dec)), CR_EMALFORMED);   /* non-zero trailing bits */
    assert_int_equal(cr_b64url_decode("Z", 1, dec, sizeof(dec)), CR_EMALFORMED);    /* impossible length */
    assert_int_equal(cr_b64url_decode("Zg==", 4, dec, sizeof(dec)), CR_EMALFORMED); /* padding */
    assert_int_equal(cr_b64url_decode("Zm9v", 4, dec, 2), CR_ETOOBIG);
    assert_int_equal(cr_b64url_encode((const uint8_t *)"foo", 3, out, 4), CR_ETOOBIG);
}

static void test_bearer(void **state)
{
    (void)state;
    const char *t;
    size_t n;
    static const char h1[] = "Bearer abc.def.ghi";
    assert_int_equal(cr_auth_bearer(h1, strlen(h1), &t, &n), 0);
    assert_int_equal(n, 11);
    assert_memory_equal(t, "abc.def.ghi", 11);
    static const char h2[] = "bearer   x  ";
    assert_int_equal(cr_auth_bearer(h2, strlen(h2), &t, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(cr_auth_bearer("Basic abc", 9, &t, &n), -1);
    assert_int_equal(cr_auth_bearer("Bearer ", 7, &t, &n), -1);
    assert_int_equal(cr_auth_bearer("Bearer", 6, &t, &n), -1);
}

static void test_json_guard(void **state)
{
    (void)state;
    cr_json_limits_t lim = {.max_size = 64, .max_depth = 2, .max_key = 4, .max_string = 5};
    json_t *o;
#define LOAD(s) cr_json_load_object((s), strlen(s), &lim, &o)
    assert_int_equal(LOAD("{\"a\":{\"b\":1}}"), CR_JSON_OK);
    json_decref(o);
    assert_int_equal(LOAD("{\"a\":{\"b\":[1]}}"), CR_JSON_TOO_DEEP);
    assert_null(o);
    assert_int_equal(LOAD("{\"a\":\"[[[[[[\"}"), CR_JSON_LONG_STRING); /* brackets in strings do not count */
    assert_int_equal(LOAD("{\"a\":\"\\\"[[[\"}"), CR_JSON_OK);            /* nor after an escaped quote */
    json_decref(o);
    assert_int_equal(LOAD("{\"abcde\":1}"), CR_JSON_LONG_KEY);
    assert_int_equal(LOAD("{\"a\":[\"123456\"]}"), CR_JSON_LONG_STRING);
    assert_int_equal(LOAD("{\"a\":1,\"a\":2}"), CR_JSON_SYNTAX);
    assert_int_equal(LOAD("{\"a\":\"\\u0000\"}"), CR_JSON_SYNTAX);
    assert_int_equal(LOAD("{\"a\":"), CR_JSON_SYNTAX);
    assert_int_equal(LOAD("[1]"), CR_JSON_NOT_OBJECT);
    assert_int_equal(LOAD("{\"a\":\"0123456789012345678901234567890123456789012345678901234567890123\"}"),
                     CR_JSON_TOO_BIG);
#undef LOAD
    assert_int_equal(cr_json_depth("1", 1, 0), 0);
    assert_int_equal(cr_json_depth("[[]]", 4, 1), -1);
}

static void test_secret_sources(void **state)
{
    (void)state;
    char dir[] = "/tmp/cr-test-auth-XXXXXX", err[512], path[600];
    assert_non_null(mkdtemp(dir));
    setenv("XDG_RUNTIME_DIR", dir, 1);
    cr_auth_key_t k, k2;
    /* Inline. */
    assert_int_equal(cr_auth_secret_load("0123456789abcdef0123456789abcdef", "", 8080, 1, &k, err, sizeof(err)), 0);
    assert_int_equal(k.len, 32);
    assert_int_equal(k.generated, 0);
    assert_int_equal(cr_auth_secret_load("short", "", 8080, 1, &k, err, sizeof(err)), CR_ECONFIG);
    /* A file: its first line. */
    snprintf(path, sizeof(path), "%s/s", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("abcdefghijabcdefghijabcdefghij-0123\nsecond line\n", f);
    fclose(f);
    assert_int_equal(cr_auth_secret_load("", path, 8080, 0, &k, err, sizeof(err)), 0);
    assert_int_equal(k.len, 35);
    assert_memory_equal(k.key, "abcdefghijabcdefghijabcdefghij-0123", 35);
    f = fopen(path, "w");
    fputs("too short\n", f);
    fclose(f);
    assert_int_equal(cr_auth_secret_load("", path, 8080, 0, &k, err, sizeof(err)), CR_ECONFIG);
    assert_non_null(strstr(err, "must be 32 to 256 bytes"));
    unlink(path);
    /* Generated by the relay (create), then found by `classrelay token` (no create). */
    assert_int_equal(cr_auth_secret_load("", "", 9999, 0, &k, err, sizeof(err)), CR_ECONFIG);
    assert_non_null(strstr(err, "start the relay first"));
    assert_int_equal(cr_auth_secret_load("", "", 9999, 1, &k, err, sizeof(err)), 0);
    assert_int_equal(k.generated, 1);
    assert_int_equal(k.len, 64);
    snprintf(path, sizeof(path), "%s/classrelay-9999.secret", dir);
    assert_string_equal(k.path, path);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(cr_auth_secret_load("", "", 9999, 0, &k2, err, sizeof(err)), 0);
    assert_int_equal(k2.len, 64);
    assert_memory_equal(k.key, k2.key, 64);
    /* A second start replaces it. */
    assert_int_equal(cr_auth_secret_load("", "", 9999, 1, &k2, err, sizeof(err)), 0);
    assert_memory_not_equal(k.key, k2.key, 64);
    /* A generated secret readable by others is refused. */
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(cr_auth_secret_load("", "", 9999, 0, &k, err, sizeof(err)), CR_ECONFIG);
    assert_non_null(strstr(err, "readable by others"));
    unlink(path);
    rmdir(dir);
    unsetenv("XDG_RUNTIME_DIR");
}

static void forge(const char *header, const char *payload, const uint8_t *k, size_t klen, char *out, size_t cap)
{
    char h[1024], p[1024];
    assert_true(cr_b64url_encode((const uint8_t *)header, strlen(header), h, sizeof(h)) >= 0);
    assert_true(cr_b64url_encode((const uint8_t *)payload, strlen(payload), p, sizeof(p)) >= 0);
    int n = snprintf(out, cap, "%s.%s", h, p);
    assert_true(n > 0 && (size_t)n < cap);
    /* An independent HMAC-SHA256 over "h.p", as RFC 7515 section 5.1 defines the signing input. */
    uint8_t mac[32];
    unsigned mlen = 0;
    assert_non_null(HMAC(EVP_sha256(), k, (int)klen, (const unsigned char *)out, (size_t)n, mac, &mlen));
    char s[64];
    assert_true(cr_b64url_encode(mac, mlen, s, sizeof(s)) > 0);
    assert_true((size_t)n + 1 + strlen(s) < cap);
    snprintf(out + n, cap - (size_t)n, ".%s", s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_roundtrip), cmocka_unit_test(test_sub_defaults_to_role),
        cmocka_unit_test(test_expired),         cmocka_unit_test(test_issued_in_future),
        cmocka_unit_test(test_wrong_signature), cmocka_unit_test(test_wrong_class),
        cmocka_unit_test(test_wrong_role),      cmocka_unit_test(test_bad_claims),
        cmocka_unit_test(test_malformed),       cmocka_unit_test(test_too_long),
        cmocka_unit_test(test_rfc7515_vector),  cmocka_unit_test(test_b64url),
        cmocka_unit_test(test_bearer),          cmocka_unit_test(test_json_guard),
        cmocka_unit_test(test_secret_sources),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
