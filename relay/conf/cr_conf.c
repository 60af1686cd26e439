/*
 * Relay configuration: one table of keys drives parsing, the built-in defaults and the range checks in
 * cr_conf_validate(). Adding a key, or a whole section such as [topology] or [auth], is a row in
 * cr__conf_keys[]; the parser itself never names a key.
 *
 * File syntax (see docs/CONFIG.md):
 *   - lines end in LF or CRLF; a UTF-8 byte order mark at the start is skipped;
 *   - blank lines and lines whose first non-blank character is '#' or ';' are comments;
 *   - "[name]" opens a section; names and keys are case-sensitive;
 *   - "key = value", with blanks around key and value trimmed; in an unquoted value a '#' or ';'
 *     that starts the value or follows a blank begins a trailing comment;
 *   - a value may be double-quoted to keep blanks, '#' or ';'; there are no escapes, so a value
 *     cannot contain '"';
 *   - NUL and other control characters (except TAB) are rejected anywhere in the file.
 *
 * Parsing is all or nothing: the file is parsed into a copy and c is only updated on success.
 */
#include "cr_conf.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cr_err.h"
#include "cr_log.h"

enum cr__conf_type {
    CR__CONF_UINT,     /* unsigned, min..max */
    CR__CONF_PORT,     /* uint16_t, min..max */
    CR__CONF_STRING,   /* char[size]: any text up to size - 1 bytes */
    CR__CONF_IPV4,     /* char[size]: a dotted-quad IPv4 address */
    CR__CONF_HOSTPORT, /* char[size] host at off, uint16_t port (min..max) at off2 */
    CR__CONF_ENUM,     /* int: the value of one of names[] */
    CR__CONF_BOOL,     /* int: true or false */
    CR__CONF_TIME,     /* int64_t: Unix seconds, or YYYY-MM-DDTHH:MM[:SS]Z (UTC) */
    CR__CONF_ID,       /* char[size]: "" or an id of [A-Za-z0-9_-] */
    CR__CONF_IDLIST,   /* char[size]: "" or comma-separated ids */
};

typedef struct cr__conf_name {
    const char *name;
    int value;
} cr__conf_name_t;

typedef struct cr__conf_key {
    const char *section;
    const char *key;
    enum cr__conf_type type;
    size_t off;                   /* the field in cr_conf_t */
    size_t size;                  /* sizeof that field */
    size_t off2;                  /* HOSTPORT: the uint16_t port field */
    unsigned long min, max;       /* UINT, PORT, the port of HOSTPORT; STRING: min bytes unless empty */
    const cr__conf_name_t *names; /* ENUM: terminated by a NULL name */
    const char *def;              /* the built-in default, in file syntax */
    const char *follows;          /* a key of the same section whose value this one copies until set */
    int instance;                 /* a key of a [class.<id>] section: off is in cr_conf_class_t */
} cr__conf_key_t;

static const cr__conf_name_t cr__conf_log_levels[] = {
    {"debug", CR_LOG_DEBUG}, {"info", CR_LOG_INFO}, {"warn", CR_LOG_WARN}, {"error", CR_LOG_ERROR}, {NULL, 0},
};

static const cr__conf_name_t cr__conf_bools[] = {{"false", 0}, {"true", 1}, {NULL, 0}};

static const cr__conf_name_t cr__conf_kinds[] = {
    {"synchronous", CR_CONF_KIND_SYNCHRONOUS}, {"dedicated", CR_CONF_KIND_DEDICATED},
    {"master", CR_CONF_KIND_MASTER},           {"network", CR_CONF_KIND_NETWORK},
    {NULL, 0},
};

#define CR__F(field) .off = offsetof(cr_conf_t, field), .size = sizeof(((cr_conf_t *)0)->field)
#define CR__C(field) \
    .off = offsetof(cr_conf_class_t, field), .size = sizeof(((cr_conf_class_t *)0)->field), .instance = 1
#define CR__CLASS_SECTION "class.*" /* the rows of every [class.<id>] section */

static const cr__conf_key_t cr__conf_keys[] = {
    {"relay", "http_listen", CR__CONF_HOSTPORT, CR__F(http_host), .off2 = offsetof(cr_conf_t, http_port),
     .min = 1, .max = 65535, .def = "127.0.0.1:8080"},
    {"relay", "media_ip", CR__CONF_IPV4, CR__F(media_ip), .def = "127.0.0.1"},
    {"relay", "announce_ip", CR__CONF_IPV4, CR__F(announce_ip), .def = "127.0.0.1", .follows = "media_ip"},
    {"relay", "media_port", CR__CONF_PORT, CR__F(media_port), .min = 1, .max = 65535, .def = "10000"},
    {"relay", "workers", CR__CONF_UINT, CR__F(workers), .min = 1, .max = 64, .def = "1"},
    {"relay", "max_classes", CR__CONF_UINT, CR__F(max_classes), .min = 1, .max = 10000, .def = "256"},
    {"relay", "max_subscribers_per_class", CR__CONF_UINT, CR__F(max_subscribers), .min = 1, .max = 10000,
     .def = "1000"},
    {"relay", "max_peers", CR__CONF_UINT, CR__F(max_peers), .min = 1, .max = 100000, .def = "4096"},
    {"relay", "consent_timeout_s", CR__CONF_UINT, CR__F(consent_timeout_s), .min = 5, .max = 300,
     .def = "30"},
    {"relay", "history_packets", CR__CONF_UINT, CR__F(history_packets), .min = 64, .max = 32768,
     .def = "1024"},
    {"relay", "log_level", CR__CONF_ENUM, CR__F(log_level), .names = cr__conf_log_levels, .def = "info"},
    {"relay", "web_root", CR__CONF_STRING, CR__F(web_root), .def = ""},
    {"auth", "secret", CR__CONF_STRING, CR__F(auth_secret), .min = 32, .def = ""},
    {"auth", "secret_file", CR__CONF_STRING, CR__F(auth_secret_file), .def = ""},
    {"auth", "admin_remote", CR__CONF_BOOL, CR__F(admin_remote), .names = cr__conf_bools, .def = "false"},
    {"auth", "token_ttl_s", CR__CONF_UINT, CR__F(token_ttl_s), .min = 60, .max = 2592000, .def = "3600"},
    {"signal", "ws_idle_timeout_s", CR__CONF_UINT, CR__F(ws_idle_timeout_s), .min = 5, .max = 3600,
     .def = "60"},
    {"ops", "event_log", CR__CONF_STRING, CR__F(event_log), .def = ""},
    {"ops", "event_log_level", CR__CONF_ENUM, CR__F(event_log_level), .names = cr__conf_log_levels, .def = "info"},
    {"ops", "report_dir", CR__CONF_STRING, CR__F(report_dir), .def = ""},
    {CR__CLASS_SECTION, "kind", CR__CONF_ENUM, CR__C(kind), .names = cr__conf_kinds, .def = "synchronous"},
    {CR__CLASS_SECTION, "title", CR__CONF_STRING, CR__C(title), .def = ""},
    {CR__CLASS_SECTION, "school", CR__CONF_ID, CR__C(school), .def = ""},
    {CR__CLASS_SECTION, "teacher", CR__CONF_ID, CR__C(teacher), .def = ""},
    {CR__CLASS_SECTION, "classrooms", CR__CONF_IDLIST, CR__C(classrooms), .def = ""},
    {CR__CLASS_SECTION, "start", CR__CONF_TIME, CR__C(start), .def = "0"},
    {CR__CLASS_SECTION, "end", CR__CONF_TIME, CR__C(end), .def = "0"},
};

#undef CR__F
#undef CR__C

#define CR__CONF_NKEYS (sizeof(cr__conf_keys) / sizeof(cr__conf_keys[0]))
#define CR__CONF_WHY 256 /* room for one reason text */

/** Parser state for one text. */
typedef struct cr__conf_ctx {
    const char *name; /* file name for messages */
    unsigned line;
    const char *section; /* points into cr__conf_keys[], NULL before the first header */
    unsigned instance;   /* in a [class.<id>] section: its index in conf.classes */
    unsigned set_line[CR__CONF_NKEYS];
    unsigned class_line[CR_CONF_MAX_TIMETABLE]; /* where each [class.<id>] of this text opened */
    cr_conf_t conf; /* the copy being filled */
    char *err;
    size_t err_cap;
} cr__conf_ctx_t;

static void cr__conf_msg(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void cr__conf_msg(char *err, size_t cap, const char *fmt, ...)
{
    if (err == NULL || cap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

/** Writes "FILE:LINE: WHY" and returns CR_ECONFIG. */
static int cr__conf_fail(const cr__conf_ctx_t *x, const char *why)
{
    cr__conf_msg(x->err, x->err_cap, "%s:%u: %s", x->name, x->line, why);
    return CR_ECONFIG;
}

/** Writes "FILE:LINE: key 'KEY': WHY" and returns CR_ECONFIG. */
static int cr__conf_fail_key(const cr__conf_ctx_t *x, const char *key, size_t keylen, const char *why)
{
    cr__conf_msg(x->err, x->err_cap, "%s:%u: key '%.*s': %s", x->name, x->line, (int)keylen, key, why);
    return CR_ECONFIG;
}

static bool cr__conf_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

static void cr__conf_trim(const char **s, size_t *n)
{
    while (*n > 0 && cr__conf_blank((*s)[0])) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && cr__conf_blank((*s)[*n - 1]))
        (*n)--;
}

static bool cr__conf_is_comment(const char *s, size_t n)
{
    return n == 0 || s[0] == '#' || s[0] == ';';
}

/** Parses a whole NUL-terminated decimal string; no sign, blanks or trailing text. */
static bool cr__conf_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
    if (s[0] < '0' || s[0] > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static bool cr__conf_ipv4(const char *s)
{
    struct in_addr a;
    return inet_pton(AF_INET, s, &a) == 1; /* glibc accepts exactly four decimal parts */
}

static void cr__conf_range_why(const cr__conf_key_t *k, char *why)
{
    const char *what = "port must be an integer"; /* HOSTPORT: the range is the port's */
    if (k->type == CR__CONF_UINT)
        what = "must be an integer";
    else if (k->type == CR__CONF_PORT)
        what = "must be a port number";
    snprintf(why, CR__CONF_WHY, "%s from %lu to %lu", what, k->min, k->max);
}

/** Lists the names of an enum as "a, b, c or d". */
static void cr__conf_names_why(const cr__conf_name_t *names, char *buf, size_t cap)
{
    size_t n = 0, used = 0;
    while (names[n].name != NULL)
        n++;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < cap; i++) {
        const char *sep = i == 0 ? "" : i + 1 == n ? " or " : ", ";
        int w = snprintf(buf + used, cap - used, "%s%s", sep, names[i].name);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

static int cr__conf_set_enum(const cr__conf_key_t *k, void *field, const char *v, char *why)
{
    for (const cr__conf_name_t *nm = k->names; nm->name != NULL; nm++) {
        if (strcmp(nm->name, v) == 0) {
            assert(k->size == sizeof(int));
            memcpy(field, &nm->value, sizeof(int));
            return 0;
        }
    }
    char list[CR__CONF_WHY / 2];
    cr__conf_names_why(k->names, list, sizeof(list));
    snprintf(why, CR__CONF_WHY, "unknown value '%.40s' (expected %s)", v, list);
    return -1;
}

/** A name for http_listen: an IPv4 address, or a host or interface name ("localhost", "eth0"). */
static int cr__conf_check_host(const char *h, char *why)
{
    bool numeric = true;
    for (const char *p = h; *p != '\0'; p++) {
        bool alnum = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9');
        if (!alnum && *p != '.' && *p != '-' && *p != '_') {
            snprintf(why, CR__CONF_WHY, "host '%.40s' is not an IPv4 address or a name", h);
            return -1;
        }
        numeric = numeric && ((*p >= '0' && *p <= '9') || *p == '.');
    }
    if (numeric && !cr__conf_ipv4(h)) {
        snprintf(why, CR__CONF_WHY, "host '%.40s' is not an IPv4 address", h);
        return -1;
    }
    return 0;
}

static int cr__conf_set_hostport(const cr__conf_key_t *k, char *base, char *v, char *why)
{
    char *colon = strrchr(v, ':');
    if (colon == NULL || colon == v || colon[1] == '\0' || memchr(v, ':', (size_t)(colon - v)) != NULL) {
        snprintf(why, CR__CONF_WHY, "expected HOST:PORT");
        return -1;
    }
    *colon = '\0';
    unsigned long port;
    if (!cr__conf_ulong(colon + 1, k->min, k->max, &port)) {
        cr__conf_range_why(k, why);
        return -1;
    }
    if (strlen(v) >= k->size) {
        snprintf(why, CR__CONF_WHY, "host too long (max %zu bytes)", k->size - 1);
        return -1;
    }
    if (cr__conf_check_host(v, why) < 0)
        return -1;
    uint16_t p16 = (uint16_t)port;
    memcpy(base + k->off, v, strlen(v) + 1);
    memcpy(base + k->off2, &p16, sizeof(p16));
    return 0;
}

static bool cr__conf_id_ok(const char *s, size_t len)
{
    if (len == 0 || len > CR_CONF_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/** "" or "a, b,c": ids separated by commas, blanks around them ignored. */
static int cr__conf_idlist_ok(const char *s, char *why)
{
    size_t len = strlen(s), i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && s[j] != ',')
            j++;
        const char *id = s + i;
        size_t n = j - i;
        cr__conf_trim(&id, &n);
        if (!cr__conf_id_ok(id, n)) {
            snprintf(why, CR__CONF_WHY, "'%.*s' is not an id (1-%d of A-Z a-z 0-9 _ -)", (int)(n > 40 ? 40 : n), id,
                     CR_CONF_ID_MAX);
            return -1;
        }
        if (j == len - 1) {
            snprintf(why, CR__CONF_WHY, "empty id after the last ','");
            return -1;
        }
        i = j + 1;
    }
    return 0;
}

/** Unix seconds, or YYYY-MM-DDTHH:MM[:SS]Z in UTC. */
static int cr__conf_time(const char *s, int64_t *out)
{
    unsigned long secs;
    if (cr__conf_ulong(s, 0, 253402300799ul /* 9999-12-31T23:59:59Z */, &secs)) {
        *out = (int64_t)secs;
        return 0;
    }
    unsigned y, mo, d, h, mi, sec = 0;
    int used = 0, used2 = 0;
    if (sscanf(s, "%4u-%2u-%2uT%2u:%2u%n", &y, &mo, &d, &h, &mi, &used) != 5 || used != 16)
        return -1;
    if (s[used] == ':' && (sscanf(s + used, ":%2u%n", &sec, &used2) != 1 || used2 != 3))
        return -1;
    if (strcmp(s + used + used2, "Z") != 0)
        return -1;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59)
        return -1;
    struct tm tm = {.tm_year = (int)y - 1900, .tm_mon = (int)mo - 1, .tm_mday = (int)d, .tm_hour = (int)h,
                    .tm_min = (int)mi, .tm_sec = (int)sec};
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || tm.tm_mday != (int)d) /* timegm normalizes 31 April to 1 May */
        return -1;
    *out = (int64_t)t;
    return 0;
}

/**
 * Stores the NUL-terminated value v (len bytes, modifiable) in the field of row k. Returns 0, or -1
 * with the reason in why (CR__CONF_WHY bytes).
 */
static int cr__conf_set(const cr__conf_key_t *k, char *base, char *v, size_t len, char *why)
{
    void *field = base + k->off;
    unsigned long n;
    switch (k->type) {
    case CR__CONF_UINT:
    case CR__CONF_PORT:
        if (!cr__conf_ulong(v, k->min, k->max, &n)) {
            cr__conf_range_why(k, why);
            return -1;
        }
        if (k->type == CR__CONF_UINT) {
            unsigned u = (unsigned)n;
            assert(k->size == sizeof(u));
            memcpy(field, &u, sizeof(u));
        } else {
            uint16_t p = (uint16_t)n;
            assert(k->size == sizeof(p));
            memcpy(field, &p, sizeof(p));
        }
        return 0;
    case CR__CONF_IPV4:
        if (len >= k->size || !cr__conf_ipv4(v)) {
            snprintf(why, CR__CONF_WHY, "not an IPv4 address");
            return -1;
        }
        memcpy(field, v, len + 1);
        return 0;
    case CR__CONF_STRING:
    case CR__CONF_ID:
    case CR__CONF_IDLIST:
        if (len >= k->size) {
            snprintf(why, CR__CONF_WHY, "value too long (max %zu bytes)", k->size - 1);
            return -1;
        }
        if (k->type == CR__CONF_STRING && len > 0 && len < k->min) {
            snprintf(why, CR__CONF_WHY, "too short (at least %lu bytes)", k->min);
            return -1;
        }
        if (k->type == CR__CONF_ID && len > 0 && !cr__conf_id_ok(v, len)) {
            snprintf(why, CR__CONF_WHY, "not an id (1-%d of A-Z a-z 0-9 _ -)", CR_CONF_ID_MAX);
            return -1;
        }
        if (k->type == CR__CONF_IDLIST && cr__conf_idlist_ok(v, why) < 0)
            return -1;
        memcpy(field, v, len + 1);
        return 0;
    case CR__CONF_HOSTPORT:
        return cr__conf_set_hostport(k, base, v, why);
    case CR__CONF_ENUM:
    case CR__CONF_BOOL:
        return cr__conf_set_enum(k, field, v, why);
    case CR__CONF_TIME: {
        int64_t t;
        if (cr__conf_time(v, &t) < 0) {
            snprintf(why, CR__CONF_WHY, "expected Unix seconds or YYYY-MM-DDTHH:MM[:SS]Z");
            return -1;
        }
        assert(k->size == sizeof(t));
        memcpy(field, &t, sizeof(t));
        return 0;
    }
    }
    assert(!"unknown key type");
    return -1;
}

/** Finds the row for section/key, or NULL. */
static const cr__conf_key_t *cr__conf_find(const char *section, const char *key, size_t keylen)
{
    for (size_t i = 0; i < CR__CONF_NKEYS; i++) {
        const cr__conf_key_t *k = &cr__conf_keys[i];
        if (strcmp(k->section, section) == 0 && strlen(k->key) == keylen && memcmp(k->key, key, keylen) == 0)
            return k;
    }
    return NULL;
}

/** Applies the defaults of the rows that are (instance = 1) or are not (0) [class.<id>] keys. */
static void cr__conf_apply_defaults(char *base, int instance)
{
    for (size_t i = 0; i < CR__CONF_NKEYS; i++) {
        const cr__conf_key_t *k = &cr__conf_keys[i];
        if (k->instance != instance)
            continue;
        char v[CR__CONF_WHY], why[CR__CONF_WHY];
        int w = snprintf(v, sizeof(v), "%s", k->def);
        int r = cr__conf_set(k, base, v, (size_t)w, why);
        assert(r == 0 && "built-in default out of range");
        (void)r;
    }
}

void cr_conf_defaults(cr_conf_t *c)
{
    memset(c, 0, sizeof(*c));
    cr__conf_apply_defaults((char *)c, 0);
}

/** Opens [class.<id>] (id is name + 6, idlen bytes): a new timetable entry with its defaults. */
static int cr__conf_class_section(cr__conf_ctx_t *x, const char *id, size_t idlen)
{
    char why[CR__CONF_WHY];
    if (!cr__conf_id_ok(id, idlen)) {
        snprintf(why, sizeof(why), "invalid class id in section [class.%.*s] (1-%d of A-Z a-z 0-9 _ -)",
                 (int)(idlen > 40 ? 40 : idlen), id, CR_CONF_ID_MAX);
        return cr__conf_fail(x, why);
    }
    for (unsigned i = 0; i < x->conf.n_classes; i++) {
        if (strlen(x->conf.classes[i].id) == idlen && memcmp(x->conf.classes[i].id, id, idlen) == 0) {
            if (x->class_line[i] != 0)
                snprintf(why, sizeof(why), "duplicate section [class.%.*s] (first on line %u)", (int)idlen, id,
                         x->class_line[i]);
            else
                snprintf(why, sizeof(why), "duplicate section [class.%.*s] (defined by an earlier file)", (int)idlen,
                         id);
            return cr__conf_fail(x, why);
        }
    }
    if (x->conf.n_classes >= CR_CONF_MAX_TIMETABLE) {
        snprintf(why, sizeof(why), "too many [class.*] sections (max %d)", CR_CONF_MAX_TIMETABLE);
        return cr__conf_fail(x, why);
    }
    unsigned idx = x->conf.n_classes++;
    cr_conf_class_t *cl = &x->conf.classes[idx];
    memset(cl, 0, sizeof(*cl));
    cr__conf_apply_defaults((char *)cl, 1);
    memcpy(cl->id, id, idlen);
    cl->id[idlen] = '\0';
    x->class_line[idx] = x->line;
    x->instance = idx;
    for (size_t i = 0; i < CR__CONF_NKEYS; i++)
        if (cr__conf_keys[i].instance)
            x->set_line[i] = 0;
    x->section = CR__CLASS_SECTION;
    return 0;
}

/** Handles "[name]" (s starts with '['; trimmed). */
static int cr__conf_section(cr__conf_ctx_t *x, const char *s, size_t n)
{
    const char *close = memchr(s, ']', n);
    if (close == NULL)
        return cr__conf_fail(x, "expected ']' after the section name");
    const char *rest = close + 1;
    size_t restlen = n - (size_t)(rest - s);
    cr__conf_trim(&rest, &restlen);
    if (!cr__conf_is_comment(rest, restlen))
        return cr__conf_fail(x, "unexpected text after the section header");
    const char *name = s + 1;
    size_t namelen = (size_t)(close - name);
    cr__conf_trim(&name, &namelen);
    if (namelen >= 6 && memcmp(name, "class.", 6) == 0)
        return cr__conf_class_section(x, name + 6, namelen - 6);
    for (size_t i = 0; i < CR__CONF_NKEYS; i++) {
        const char *sec = cr__conf_keys[i].section;
        if (!cr__conf_keys[i].instance && strlen(sec) == namelen && memcmp(sec, name, namelen) == 0) {
            x->section = sec;
            return 0;
        }
    }
    char why[CR__CONF_WHY];
    snprintf(why, sizeof(why), "unknown section [%.*s]", (int)(namelen > 40 ? 40 : namelen), name);
    return cr__conf_fail(x, why);
}

/**
 * Extracts the value after '=': *v and *vn become a view of the (unquoted) value. Returns NULL, or the
 * reason the value is malformed.
 */
static const char *cr__conf_value(const char *s, size_t n, const char **v, size_t *vn)
{
    cr__conf_trim(&s, &n);
    if (n > 0 && s[0] == '"') {
        const char *q = memchr(s + 1, '"', n - 1);
        if (q == NULL)
            return "unterminated quoted value";
        *v = s + 1;
        *vn = (size_t)(q - *v);
        const char *rest = q + 1;
        size_t restlen = n - (size_t)(rest - s);
        cr__conf_trim(&rest, &restlen);
        return cr__conf_is_comment(rest, restlen) ? NULL : "unexpected text after the closing quote";
    }
    for (size_t i = 0; i < n; i++) {
        if ((s[i] == '#' || s[i] == ';') && (i == 0 || cr__conf_blank(s[i - 1]))) {
            n = i;
            break;
        }
    }
    cr__conf_trim(&s, &n);
    *v = s;
    *vn = n;
    return NULL;
}

/** Handles "key = value" (s is trimmed, eq points at the first '='). */
static int cr__conf_assign(cr__conf_ctx_t *x, const char *s, size_t n, const char *eq)
{
    const char *key = s;
    size_t keylen = (size_t)(eq - s);
    cr__conf_trim(&key, &keylen);
    if (keylen == 0)
        return cr__conf_fail(x, "missing key before '='");
    if (x->section == NULL)
        return cr__conf_fail_key(x, key, keylen, "key outside any section");
    const cr__conf_key_t *k = cr__conf_find(x->section, key, keylen);
    char why[CR__CONF_WHY];
    if (k == NULL) {
        if (strcmp(x->section, CR__CLASS_SECTION) == 0)
            snprintf(why, sizeof(why), "unknown key in section [class.%s]", x->conf.classes[x->instance].id);
        else
            snprintf(why, sizeof(why), "unknown key in section [%s]", x->section);
        return cr__conf_fail_key(x, key, keylen, why);
    }
    size_t idx = (size_t)(k - cr__conf_keys);
    if (x->set_line[idx] != 0) {
        snprintf(why, sizeof(why), "duplicate key (first set on line %u)", x->set_line[idx]);
        return cr__conf_fail_key(x, key, keylen, why);
    }
    const char *v;
    size_t vn;
    const char *bad = cr__conf_value(eq + 1, n - (size_t)(eq + 1 - s), &v, &vn);
    if (bad != NULL)
        return cr__conf_fail_key(x, key, keylen, bad);
    char buf[CR_CONF_MAX_LINE + 1];
    assert(vn < sizeof(buf));
    memcpy(buf, v, vn);
    buf[vn] = '\0';
    char *base = k->instance ? (char *)&x->conf.classes[x->instance] : (char *)&x->conf;
    if (cr__conf_set(k, base, buf, vn, why) < 0)
        return cr__conf_fail_key(x, key, keylen, why);
    x->set_line[idx] = x->line;
    return 0;
}

/** Handles one line without its line end. */
static int cr__conf_line(cr__conf_ctx_t *x, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\0')
            return cr__conf_fail(x, "NUL byte in line (not a text file?)");
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
            char why[CR__CONF_WHY];
            snprintf(why, sizeof(why), "control character 0x%02x in line", ch);
            return cr__conf_fail(x, why);
        }
    }
    cr__conf_trim(&s, &n);
    if (cr__conf_is_comment(s, n))
        return 0;
    if (s[0] == '[')
        return cr__conf_section(x, s, n);
    const char *eq = memchr(s, '=', n);
    if (eq == NULL)
        return cr__conf_fail(x, "expected KEY = VALUE or [SECTION]");
    return cr__conf_assign(x, s, n, eq);
}

/*
 * A row with .follows (announce_ip) keeps tracking its source (media_ip) when this text did not set
 * it and it still held the source's old value, i.e. it had never been given a value of its own.
 * Applied once at the end of each successful parse, so the order of keys in the file does not matter.
 */
static void cr__conf_follow(const cr__conf_ctx_t *x, const cr_conf_t *before, cr_conf_t *after)
{
    for (size_t i = 0; i < CR__CONF_NKEYS; i++) {
        const cr__conf_key_t *k = &cr__conf_keys[i];
        if (k->follows == NULL || x->set_line[i] != 0)
            continue;
        const cr__conf_key_t *src = cr__conf_find(k->section, k->follows, strlen(k->follows));
        assert(src != NULL && src->size == k->size && src->type == k->type);
        if (strncmp((const char *)before + k->off, (const char *)before + src->off, k->size) == 0)
            memcpy((char *)after + k->off, (const char *)after + src->off, k->size);
    }
}

int cr_conf_parse(cr_conf_t *c, const char *name, const char *text, size_t len, char *err, size_t err_cap)
{
    if (name == NULL)
        name = "(config)";
    if (c == NULL || (text == NULL && len > 0)) {
        cr__conf_msg(err, err_cap, "%s: invalid argument", name);
        return CR_EINVAL;
    }
    if (len > CR_CONF_MAX_FILE) {
        cr__conf_msg(err, err_cap, "%s: file too large (max %u bytes)", name, CR_CONF_MAX_FILE);
        return CR_ECONFIG;
    }
    cr__conf_ctx_t x = {.name = name, .conf = *c, .err = err, .err_cap = err_cap};
    size_t pos = (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) ? 3 : 0;
    while (pos < len) {
        x.line++;
        const char *s = text + pos;
        const char *nl = memchr(s, '\n', len - pos);
        size_t n = nl != NULL ? (size_t)(nl - s) : len - pos;
        pos += n + (nl != NULL);
        if (n > 0 && s[n - 1] == '\r')
            n--;
        if (n > CR_CONF_MAX_LINE) {
            cr__conf_msg(err, err_cap, "%s: line %u is longer than %d bytes", name, x.line, CR_CONF_MAX_LINE);
            return CR_ECONFIG;
        }
        int r = cr__conf_line(&x, s, n);
        if (r < 0)
            return r;
    }
    cr__conf_follow(&x, c, &x.conf);
    *c = x.conf;
    return 0;
}

/**
 * Reads fd to the end into a new heap buffer (*out, freed by the caller), starting from a guess of
 * its size. Returns 0, CR_ETOOBIG past CR_CONF_MAX_FILE, CR_ENOMEM, or CR_EIO with errno set.
 */
static int cr__conf_read_fd(int fd, size_t guess, char **out, size_t *outlen)
{
    /* One byte past the expected size, so that a file growing under us is still bounded below. */
    size_t cap = guess < CR_CONF_MAX_FILE ? guess + 1 : CR_CONF_MAX_FILE + 1, len = 0;
    char *buf = malloc(cap);
    if (buf == NULL)
        return CR_ENOMEM;
    for (;;) {
        if (len == cap) {
            size_t ncap = cap * 2 < CR_CONF_MAX_FILE + 1 ? cap * 2 : CR_CONF_MAX_FILE + 1;
            char *nb = cap > CR_CONF_MAX_FILE ? NULL : realloc(buf, ncap);
            if (nb == NULL) {
                free(buf);
                return cap > CR_CONF_MAX_FILE ? CR_ETOOBIG : CR_ENOMEM;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t got = read(fd, buf + len, cap - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int e = errno;
            free(buf);
            errno = e;
            return CR_EIO;
        }
        if (got == 0)
            break;
        len += (size_t)got;
    }
    *out = buf;
    *outlen = len;
    return 0;
}

/** Reads the regular file path into a new heap buffer (*out, freed by the caller). */
static int cr__conf_read(const char *path, char **out, size_t *outlen, char *err, size_t err_cap)
{
    char eb[128];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cr__conf_msg(err, err_cap, "%s: cannot open: %s", path, strerror_r(errno, eb, sizeof(eb)));
        return CR_ECONFIG;
    }
    int r = CR_ECONFIG;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        cr__conf_msg(err, err_cap, "%s: cannot stat: %s", path, strerror_r(errno, eb, sizeof(eb)));
        goto Exit;
    }
    if (!S_ISREG(st.st_mode)) {
        cr__conf_msg(err, err_cap, "%s: not a regular file", path);
        goto Exit;
    }
    r = cr__conf_read_fd(fd, (uint64_t)st.st_size < CR_CONF_MAX_FILE ? (size_t)st.st_size : CR_CONF_MAX_FILE,
                         out, outlen);
    if (r == CR_ETOOBIG)
        cr__conf_msg(err, err_cap, "%s: file too large (max %u bytes)", path, CR_CONF_MAX_FILE);
    else if (r == CR_EIO)
        cr__conf_msg(err, err_cap, "%s: read error: %s", path, strerror_r(errno, eb, sizeof(eb)));
    else if (r == CR_ENOMEM)
        cr__conf_msg(err, err_cap, "%s: out of memory", path);
    if (r == CR_ETOOBIG || r == CR_EIO)
        r = CR_ECONFIG;
Exit:
    close(fd);
    return r;
}

int cr_conf_load(cr_conf_t *c, const char *path, char *err, size_t err_cap)
{
    if (c == NULL || path == NULL) {
        cr__conf_msg(err, err_cap, "%s: invalid argument", path != NULL ? path : "(config)");
        return CR_EINVAL;
    }
    char *buf = NULL;
    size_t len = 0;
    int r = cr__conf_read(path, &buf, &len, err, err_cap);
    if (r == 0)
        r = cr_conf_parse(c, path, buf, len, err, err_cap);
    free(buf);
    return r;
}

static int cr__conf_check_range(const cr__conf_key_t *k, unsigned long v, char *why)
{
    if (v >= k->min && v <= k->max)
        return 0;
    cr__conf_range_why(k, why);
    return -1;
}

/** Re-checks one row of a struct that may have been filled in by code rather than by the parser. */
static int cr__conf_check(const cr__conf_key_t *k, const char *base, char *why)
{
    const char *field = base + k->off;
    bool text = k->type == CR__CONF_STRING || k->type == CR__CONF_IPV4 || k->type == CR__CONF_HOSTPORT ||
                k->type == CR__CONF_ID || k->type == CR__CONF_IDLIST;
    if (text && memchr(field, '\0', k->size) == NULL) {
        snprintf(why, CR__CONF_WHY, "value not NUL-terminated");
        return -1;
    }
    unsigned u;
    uint16_t p16;
    int e;
    switch (k->type) {
    case CR__CONF_UINT:
        memcpy(&u, field, sizeof(u));
        return cr__conf_check_range(k, u, why);
    case CR__CONF_PORT:
        memcpy(&p16, field, sizeof(p16));
        return cr__conf_check_range(k, p16, why);
    case CR__CONF_STRING:
        if (field[0] != '\0' && strlen(field) < k->min) {
            snprintf(why, CR__CONF_WHY, "too short (at least %lu bytes)", k->min);
            return -1;
        }
        return 0;
    case CR__CONF_ID:
        if (field[0] != '\0' && !cr__conf_id_ok(field, strlen(field))) {
            snprintf(why, CR__CONF_WHY, "not an id (1-%d of A-Z a-z 0-9 _ -)", CR_CONF_ID_MAX);
            return -1;
        }
        return 0;
    case CR__CONF_IDLIST:
        return cr__conf_idlist_ok(field, why);
    case CR__CONF_TIME: {
        int64_t t;
        memcpy(&t, field, sizeof(t));
        if (t >= 0)
            return 0;
        snprintf(why, CR__CONF_WHY, "negative time");
        return -1;
    }
    case CR__CONF_IPV4:
        if (cr__conf_ipv4(field))
            return 0;
        snprintf(why, CR__CONF_WHY, "not an IPv4 address");
        return -1;
    case CR__CONF_HOSTPORT:
        if (field[0] == '\0') {
            snprintf(why, CR__CONF_WHY, "expected HOST:PORT");
            return -1;
        }
        if (cr__conf_check_host(field, why) < 0)
            return -1;
        memcpy(&p16, base + k->off2, sizeof(p16));
        return cr__conf_check_range(k, p16, why);
    case CR__CONF_ENUM:
    case CR__CONF_BOOL:
        memcpy(&e, field, sizeof(e));
        for (const cr__conf_name_t *nm = k->names; nm->name != NULL; nm++) {
            if (nm->value == e)
                return 0;
        }
        snprintf(why, CR__CONF_WHY, "invalid value %d", e);
        return -1;
    }
    assert(!"unknown key type");
    return -1;
}

/** The [auth] pair and each [class.<id>] entry. */
static int cr__conf_validate_auth_classes(const cr_conf_t *c, char *err, size_t err_cap)
{
    char why[CR__CONF_WHY];
    if (memchr(c->auth_secret, '\0', sizeof(c->auth_secret)) == NULL ||
        memchr(c->auth_secret_file, '\0', sizeof(c->auth_secret_file)) == NULL)
        return -1; /* reported by the row checks, which run first */
    if (c->auth_secret[0] != '\0' && c->auth_secret_file[0] != '\0') {
        cr__conf_msg(err, err_cap, "key 'secret_file': set either secret or secret_file in [auth], not both");
        return -1;
    }
    if (c->n_classes > CR_CONF_MAX_TIMETABLE) {
        cr__conf_msg(err, err_cap, "too many [class.*] sections (max %d)", CR_CONF_MAX_TIMETABLE);
        return -1;
    }
    if (c->n_classes > c->max_classes) {
        cr__conf_msg(err, err_cap, "key 'max_classes': %u is fewer than the %u [class.*] sections", c->max_classes,
                     c->n_classes);
        return -1;
    }
    for (unsigned i = 0; i < c->n_classes; i++) {
        const cr_conf_class_t *cl = &c->classes[i];
        if (memchr(cl->id, '\0', sizeof(cl->id)) == NULL || !cr__conf_id_ok(cl->id, strlen(cl->id))) {
            cr__conf_msg(err, err_cap, "[class.*] entry %u: invalid class id", i);
            return -1;
        }
        for (size_t j = 0; j < CR__CONF_NKEYS; j++) {
            const cr__conf_key_t *k = &cr__conf_keys[j];
            if (k->instance && cr__conf_check(k, (const char *)cl, why) < 0) {
                cr__conf_msg(err, err_cap, "[class.%s] key '%s': %s", cl->id, k->key, why);
                return -1;
            }
        }
        if (cl->start != 0 && cl->end != 0 && cl->end <= cl->start) {
            cr__conf_msg(err, err_cap, "[class.%s] key 'end': not after start", cl->id);
            return -1;
        }
    }
    return 0;
}

/* Hosts "coincide" if equal, if either is the wildcard, or if http_host is a name: unresolved, it may be. */
static bool cr__conf_same_host(const char *http_host, const char *media_ip)
{
    return strcmp(http_host, media_ip) == 0 || strcmp(http_host, "0.0.0.0") == 0 ||
           strcmp(media_ip, "0.0.0.0") == 0 || !cr__conf_ipv4(http_host);
}

int cr_conf_validate(const cr_conf_t *c, char *err, size_t err_cap)
{
    if (c == NULL) {
        cr__conf_msg(err, err_cap, "invalid argument");
        return CR_EINVAL;
    }
    char why[CR__CONF_WHY];
    for (size_t i = 0; i < CR__CONF_NKEYS; i++) {
        if (!cr__conf_keys[i].instance && cr__conf_check(&cr__conf_keys[i], (const char *)c, why) < 0) {
            cr__conf_msg(err, err_cap, "key '%s': %s", cr__conf_keys[i].key, why);
            return CR_ECONFIG;
        }
    }
    if (cr__conf_validate_auth_classes(c, err, err_cap) != 0)
        return CR_ECONFIG;
    unsigned long last = (unsigned long)c->media_port + c->workers - 1;
    if (last > 65535) {
        cr__conf_msg(err, err_cap, "key 'media_port': media_port + workers - 1 = %lu exceeds 65535", last);
        return CR_ECONFIG;
    }
    bool in_range = c->http_port >= c->media_port && c->http_port <= last;
    if (in_range && cr__conf_same_host(c->http_host, c->media_ip)) {
        cr__conf_msg(err, err_cap,
                     "key 'http_listen': port %u is also a media port (%u..%lu) on the same address",
                     (unsigned)c->http_port, (unsigned)c->media_port, last);
        return CR_ECONFIG;
    }
    if (strcmp(c->announce_ip, "0.0.0.0") == 0) {
        cr__conf_msg(err, err_cap,
                     "key 'announce_ip': 0.0.0.0 cannot be announced to peers; set announce_ip to an address "
                     "they can reach");
        return CR_ECONFIG;
    }
    return 0;
}
