/*
 * HS256 JSON Web Tokens. The signing input is "BASE64URL(header).BASE64URL(payload)" and the
 * signature HMAC-SHA256(key, signing input) (RFC 7515 section 5.1, RFC 7518 section 3.2).
 */
#include "cr_auth.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cr_err.h"
#include "cr_json_guard.h"

#define CR__AUTH_SIG_LEN 32      /* SHA-256 */
#define CR__AUTH_PART_MAX 3072   /* decoded bytes of the header or payload */

static const char *const role_names[CR_ROLE_COUNT] = {"teacher", "classroom", "operator", "admin"};

/* The only header we issue; verification accepts any equivalent JSON. */
static const char jwt_header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

const char *cr_auth_strerror(int err)
{
    switch (err) {
#define CR__AUTH_TEXT(name, num, text) \
    case -(num):                       \
        return text;
        CR_AUTH_ERR_MAP(CR__AUTH_TEXT)
#undef CR__AUTH_TEXT
    }
    return cr_strerror(err);
}

const char *cr_role_name(enum cr_role r)
{
    return (unsigned)r < CR_ROLE_COUNT ? role_names[r] : "unknown";
}

int cr_role_parse(const char *s, size_t len, enum cr_role *out)
{
    for (unsigned i = 0; i < CR_ROLE_COUNT; i++) {
        if (strlen(role_names[i]) == len && memcmp(role_names[i], s, len) == 0) {
            *out = (enum cr_role)i;
            return 0;
        }
    }
    return -1;
}

int cr_auth_id_valid(const char *s, size_t len)
{
    if (len == 0 || len > CR_AUTH_ID_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-'))
            return 0;
    }
    return 1;
}

int cr_auth_class_ok(const cr_claims_t *c, const char *class_id)
{
    return strcmp(c->class_id, "*") == 0 || strcmp(c->class_id, class_id) == 0;
}

int cr_auth_bearer(const char *hdr, size_t len, const char **tok, size_t *tok_len)
{
    if (len < 7 || strncasecmp(hdr, "Bearer ", 7) != 0)
        return -1;
    size_t i = 7;
    while (i < len && hdr[i] == ' ')
        i++;
    size_t end = len;
    while (end > i && (hdr[end - 1] == ' ' || hdr[end - 1] == '\t'))
        end--;
    if (end == i)
        return -1;
    *tok = hdr + i;
    *tok_len = end - i;
    return 0;
}

/* --- base64url --- */

static const char b64url_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int cr_b64url_encode(const uint8_t *in, size_t n, char *out, size_t cap)
{
    size_t need = n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
    if (need + 1 > cap)
        return CR_ETOOBIG;
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64url_alphabet[v >> 18];
        out[o++] = b64url_alphabet[(v >> 12) & 63];
        out[o++] = b64url_alphabet[(v >> 6) & 63];
        out[o++] = b64url_alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = b64url_alphabet[v >> 18];
        out[o++] = b64url_alphabet[(v >> 12) & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64url_alphabet[v >> 18];
        out[o++] = b64url_alphabet[(v >> 12) & 63];
        out[o++] = b64url_alphabet[(v >> 6) & 63];
    }
    out[o] = '\0';
    return (int)o;
}

static int b64url_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

int cr_b64url_decode(const char *in, size_t n, uint8_t *out, size_t cap)
{
    if (n % 4 == 1)
        return CR_EMALFORMED; /* one leftover character cannot encode a byte */
    size_t need = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
    if (need > cap)
        return CR_ETOOBIG;
    size_t o = 0;
    uint32_t acc = 0;
    unsigned bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64url_value(in[i]);
        if (v < 0)
            return CR_EMALFORMED;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) /* non-canonical: the unused low bits must be zero (RFC 4648 section 3.5) */
        return CR_EMALFORMED;
    return (int)o;
}

/* --- signing --- */

static int hmac_sha256(const uint8_t *key, size_t key_len, const char *msg, size_t len,
                       uint8_t mac[CR__AUTH_SIG_LEN])
{
    unsigned mac_len = 0;
    if (HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)msg, len, mac, &mac_len) == NULL ||
        mac_len != CR__AUTH_SIG_LEN)
        return CR_ECRYPTO;
    return 0;
}

static int claims_valid(const cr_claims_t *c)
{
    if ((unsigned)c->role >= CR_ROLE_COUNT)
        return 0;
    if (strcmp(c->class_id, "*") != 0 && !cr_auth_id_valid(c->class_id, strnlen(c->class_id, sizeof(c->class_id))))
        return 0;
    if (c->sub[0] != '\0' && !cr_auth_id_valid(c->sub, strnlen(c->sub, sizeof(c->sub))))
        return 0;
    if (c->role == CR_ROLE_CLASSROOM && c->sub[0] == '\0')
        return 0;
    if (c->school[0] != '\0' && !cr_auth_id_valid(c->school, strnlen(c->school, sizeof(c->school))))
        return 0;
    return c->exp > c->iat;
}

static json_t *claims_json(const cr_claims_t *c)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    int bad = json_object_set_new(o, "role", json_string(cr_role_name(c->role)));
    bad |= json_object_set_new(o, "class", json_string(c->class_id));
    bad |= json_object_set_new(o, "sub", json_string(c->sub[0] ? c->sub : cr_role_name(c->role)));
    if (c->school[0])
        bad |= json_object_set_new(o, "school", json_string(c->school));
    if (c->name[0])
        bad |= json_object_set_new(o, "name", json_string(c->name));
    bad |= json_object_set_new(o, "iat", json_integer(c->iat));
    bad |= json_object_set_new(o, "exp", json_integer(c->exp));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int cr_auth_sign(const uint8_t *key, size_t key_len, const cr_claims_t *c, char *out, size_t cap)
{
    if (key_len == 0)
        return CR_EINVAL;
    if (!claims_valid(c))
        return CR_EINVAL;
    json_t *o = claims_json(c);
    if (o == NULL)
        return CR_EINVAL; /* e.g. a name that is not UTF-8 */
    char *payload = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (payload == NULL)
        return CR_ENOMEM;
    int rc = CR_ETOOBIG;
    int h = cr_b64url_encode((const uint8_t *)jwt_header, strlen(jwt_header), out, cap);
    if (h < 0 || (size_t)h + 1 >= cap)
        goto Exit;
    out[h] = '.';
    int p = cr_b64url_encode((const uint8_t *)payload, strlen(payload), out + h + 1, cap - (size_t)h - 1);
    if (p < 0)
        goto Exit;
    size_t signed_len = (size_t)h + 1 + (size_t)p;
    uint8_t mac[CR__AUTH_SIG_LEN];
    if ((rc = hmac_sha256(key, key_len, out, signed_len, mac)) != 0)
        goto Exit;
    rc = CR_ETOOBIG;
    if (signed_len + 1 >= cap)
        goto Exit;
    out[signed_len] = '.';
    int s = cr_b64url_encode(mac, sizeof(mac), out + signed_len + 1, cap - signed_len - 1);
    if (s < 0)
        goto Exit;
    rc = (int)(signed_len + 1 + (size_t)s);
    if (rc > CR_AUTH_TOKEN_MAX)
        rc = CR_ETOOBIG;
Exit:
    free(payload);
    return rc;
}

/* --- verification --- */

static const cr_json_limits_t token_json_limits = {
    .max_size = CR__AUTH_PART_MAX, .max_depth = 1, .max_key = 32, .max_string = CR_AUTH_NAME_MAX};

/* Decodes base64url part [s, s+n) and parses it as a flat JSON object. */
static int decode_part(const char *s, size_t n, json_t **out)
{
    uint8_t buf[CR__AUTH_PART_MAX];
    int len = cr_b64url_decode(s, n, buf, sizeof(buf));
    if (len < 0)
        return CR_AUTH_EMALFORMED;
    if (cr_json_load_object((const char *)buf, (size_t)len, &token_json_limits, out) != CR_JSON_OK)
        return CR_AUTH_EMALFORMED;
    return 0;
}

static int check_header(const char *s, size_t n)
{
    json_t *h = NULL;
    int rc = decode_part(s, n, &h);
    if (rc != 0)
        return rc;
    const char *alg = json_string_value(json_object_get(h, "alg"));
    json_t *typ = json_object_get(h, "typ");
    if (alg == NULL || strcmp(alg, "HS256") != 0)
        rc = CR_AUTH_EBAD_ALG;
    else if (typ != NULL && (!json_is_string(typ) || strcmp(json_string_value(typ), "JWT") != 0))
        rc = CR_AUTH_EMALFORMED;
    else if (json_object_get(h, "crit") != NULL) /* RFC 7515 section 4.1.11: we understand no extension */
        rc = CR_AUTH_EMALFORMED;
    json_decref(h);
    return rc;
}

/* Copies an optional string claim that must fit cap - 1 bytes (and be an id when is_id). */
static int copy_claim(json_t *o, const char *name, char *dst, size_t cap, int required, int is_id)
{
    json_t *v = json_object_get(o, name);
    if (v == NULL)
        return required ? -1 : 0;
    if (!json_is_string(v))
        return -1;
    size_t len = json_string_length(v);
    const char *s = json_string_value(v);
    if (len >= cap || (is_id && !cr_auth_id_valid(s, len)))
        return -1;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return -1;
    memcpy(dst, s, len + 1);
    return 0;
}

static int parse_claims(json_t *o, cr_claims_t *c)
{
    json_t *role = json_object_get(o, "role"), *iat = json_object_get(o, "iat"), *exp = json_object_get(o, "exp");
    if (!json_is_string(role) || cr_role_parse(json_string_value(role), json_string_length(role), &c->role) != 0)
        return -1;
    if (!json_is_integer(iat) || !json_is_integer(exp))
        return -1;
    c->iat = json_integer_value(iat);
    c->exp = json_integer_value(exp);
    if (copy_claim(o, "class", c->class_id, sizeof(c->class_id), 1, 0) != 0 ||
        copy_claim(o, "sub", c->sub, sizeof(c->sub), c->role == CR_ROLE_CLASSROOM, 1) != 0 ||
        copy_claim(o, "school", c->school, sizeof(c->school), 0, 1) != 0 ||
        copy_claim(o, "name", c->name, sizeof(c->name), 0, 0) != 0)
        return -1;
    if (strcmp(c->class_id, "*") != 0 && !cr_auth_id_valid(c->class_id, strlen(c->class_id)))
        return -1;
    if (c->sub[0] == '\0')
        memcpy(c->sub, cr_role_name(c->role), strlen(cr_role_name(c->role)) + 1);
    return c->exp > c->iat ? 0 : -1;
}

static int verify(const uint8_t *key, size_t key_len, const char *token, size_t len, int64_t now, cr_claims_t *out)
{
    if (key_len == 0)
        return CR_AUTH_ENO_KEY;
    if (len > CR_AUTH_TOKEN_MAX)
        return CR_AUTH_ETOO_LONG;
    const char *dot1 = memchr(token, '.', len);
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
    if (dot2 == NULL || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)) != NULL)
        return CR_AUTH_EMALFORMED;
    int rc = check_header(token, (size_t)(dot1 - token));
    if (rc != 0)
        return rc;
    uint8_t sig[CR__AUTH_SIG_LEN + 3], mac[CR__AUTH_SIG_LEN];
    int sig_len = cr_b64url_decode(dot2 + 1, len - (size_t)(dot2 + 1 - token), sig, sizeof(sig));
    if (sig_len < 0)
        return CR_AUTH_EMALFORMED;
    if ((rc = hmac_sha256(key, key_len, token, (size_t)(dot2 - token), mac)) != 0)
        return rc;
    /* Constant time: the comparison must not reveal how many leading bytes were right. */
    if (sig_len != CR__AUTH_SIG_LEN || CRYPTO_memcmp(sig, mac, CR__AUTH_SIG_LEN) != 0)
        return CR_AUTH_EBAD_SIGNATURE;
    json_t *payload = NULL;
    if ((rc = decode_part(dot1 + 1, (size_t)(dot2 - dot1 - 1), &payload)) != 0)
        return rc;
    rc = parse_claims(payload, out) == 0 ? 0 : CR_AUTH_EBAD_CLAIMS;
    json_decref(payload);
    if (rc != 0)
        return rc;
    if (now >= out->exp)
        return CR_AUTH_EEXPIRED;
    if (out->iat > now + CR_AUTH_IAT_SKEW_S)
        return CR_AUTH_EFUTURE;
    return 0;
}

int cr_auth_verify(const uint8_t *key, size_t key_len, const char *token, size_t len, int64_t now,
                   cr_claims_t *out)
{
    memset(out, 0, sizeof(*out));
    int rc = verify(key, key_len, token, len, now, out);
    if (rc != 0)
        memset(out, 0, sizeof(*out));
    return rc;
}
