/*
 * The configuration's rows: one table of keys drives parsing, the built-in defaults and the range
 * checks of cr_conf_validate(). Adding a key, or a whole section such as [sched], is a row in
 * cr__conf_keys[]; a section that repeats with an id ([class.<id>], [school.<id>], [classroom.<id>])
 * is a row of cr__conf_insts[] plus rows whose section is "<name>.*". The parser (cr_conf.c) never
 * names a key. This file also reads and checks each type of value.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cr_conf_int.h"
#include "cr_log.h"

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
#define CR__I(type, field, inst) \
    .off = offsetof(type, field), .size = sizeof(((type *)0)->field), .instance = inst
#define CR__C(field) CR__I(cr_conf_class_t, field, CR__INST_CLASS)
#define CR__S(field) CR__I(cr_conf_school_t, field, CR__INST_SCHOOL)
#define CR__R(field) CR__I(cr_conf_classroom_t, field, CR__INST_CLASSROOM)
#define CR__SRC(field) CR__I(cr_conf_source_t, field, CR__INST_SOURCE)

const cr__conf_key_t cr__conf_keys[] = {
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
    {"class.*", "kind", CR__CONF_ENUM, CR__C(kind), .names = cr__conf_kinds, .def = "synchronous"},
    {"class.*", "title", CR__CONF_STRING, CR__C(title), .def = ""},
    {"class.*", "school", CR__CONF_ID, CR__C(school), .def = ""},
    {"class.*", "teacher", CR__CONF_ID, CR__C(teacher), .def = ""},
    {"class.*", "classrooms", CR__CONF_IDLIST, CR__C(classrooms), .def = ""},
    {"class.*", "start", CR__CONF_TIME, CR__C(start), .def = "0"},
    {"class.*", "end", CR__CONF_TIME, CR__C(end), .def = "0"},
    {"class.*", "record", CR__CONF_BOOL, CR__C(record), .names = cr__conf_bools, .def = "false"},
    {"supervise", "client_path", CR__CONF_STRING, CR__F(client_path), .def = ""},
    {"supervise", "log_dir", CR__CONF_STRING, CR__F(worker_log_dir), .def = ""},
    {"recording", "dir", CR__CONF_STRING, CR__F(rec_dir), .def = ""},
    {"recording", "all", CR__CONF_BOOL, CR__F(rec_all), .names = cr__conf_bools, .def = "false"},
    {"recording", "segment_s", CR__CONF_UINT, CR__F(rec_segment_s), .min = 10, .max = 14400, .def = "600"},
    {"recording", "max_segment_mb", CR__CONF_UINT, CR__F(rec_max_segment_mb), .min = 0, .max = 1048576,
     .def = "0"},
    {"recording", "max_recorders", CR__CONF_UINT, CR__F(rec_max), .min = 1, .max = 64, .def = "16"},
    {"source.*", "class", CR__CONF_ID, CR__SRC(class_id), .def = ""},
    {"source.*", "url", CR__CONF_STRING, CR__SRC(url), .def = ""},
    {"source.*", "transcode", CR__CONF_BOOL, CR__SRC(transcode), .names = cr__conf_bools, .def = "false"},
    {"source.*", "layers", CR__CONF_STRING, CR__SRC(layers), .def = "1080,720,360"},
    {"source.*", "fps", CR__CONF_UINT, CR__SRC(fps), .min = 1, .max = 60, .def = "30"},
    {"sched", "school_capacity_mbps", CR__CONF_UINT, CR__F(school_capacity_mbps), .min = 1, .max = 100000,
     .def = "1000"},
    {"sched", "classroom_capacity_mbps", CR__CONF_UINT, CR__F(classroom_capacity_mbps), .min = 1, .max = 100000,
     .def = "100"},
    {"sched", "target", CR__CONF_FRACTION, CR__F(target), .def = "0.95"},
    {"sched", "default_school", CR__CONF_ID, CR__F(default_school), .min = 1, .def = "default"},
    {"sched", "weight_synchronous", CR__CONF_UINT, CR__F(weight[CR_CONF_KIND_SYNCHRONOUS]), .min = 1, .max = 100,
     .def = "2"},
    {"sched", "weight_dedicated", CR__CONF_UINT, CR__F(weight[CR_CONF_KIND_DEDICATED]), .min = 1, .max = 100,
     .def = "3"},
    {"sched", "weight_master", CR__CONF_UINT, CR__F(weight[CR_CONF_KIND_MASTER]), .min = 1, .max = 100, .def = "1"},
    {"sched", "weight_network", CR__CONF_UINT, CR__F(weight[CR_CONF_KIND_NETWORK]), .min = 1, .max = 100,
     .def = "1"},
    {"sched", "floor_kbps", CR__CONF_UINT, CR__F(floor_kbps), .min = 0, .max = 100000, .def = "300"},
    {"sched", "audio_kbps", CR__CONF_UINT, CR__F(audio_kbps), .min = 0, .max = 10000, .def = "64"},
    {"sched", "pacing", CR__CONF_BOOL, CR__F(pacing), .names = cr__conf_bools, .def = "true"},
    {"school.*", "capacity_mbps", CR__CONF_UINT, CR__S(capacity_mbps), .min = 0, .max = 100000, .def = "0"},
    {"school.*", "target", CR__CONF_FRACTION, CR__S(target), .def = "0"},
    {"classroom.*", "school", CR__CONF_ID, CR__R(school), .def = ""},
    {"classroom.*", "capacity_mbps", CR__CONF_UINT, CR__R(capacity_mbps), .min = 0, .max = 100000, .def = "0"},
    {"classroom.*", "target", CR__CONF_FRACTION, CR__R(target), .def = "0"},
};

const size_t cr__conf_nkeys = sizeof(cr__conf_keys) / sizeof(cr__conf_keys[0]);

#define CR__INST(name, type, arr, cnt, mx)                                                                  \
    {.prefix = name ".", .section = name ".*", .what = name, .array_off = offsetof(cr_conf_t, arr),        \
     .count_off = offsetof(cr_conf_t, cnt), .elem_size = sizeof(type), .max = mx}

const cr__conf_inst_desc_t cr__conf_insts[CR__INST_COUNT] = {
    [CR__INST_CLASS] = CR__INST("class", cr_conf_class_t, classes, n_classes, CR_CONF_MAX_TIMETABLE),
    [CR__INST_SCHOOL] = CR__INST("school", cr_conf_school_t, schools, n_schools, CR_CONF_MAX_SCHOOLS),
    [CR__INST_CLASSROOM] =
        CR__INST("classroom", cr_conf_classroom_t, classrooms, n_classrooms, CR_CONF_MAX_CLASSROOMS),
    [CR__INST_SOURCE] = CR__INST("source", cr_conf_source_t, sources, n_sources, CR_CONF_MAX_SOURCES),
};

#undef CR__F
#undef CR__I
#undef CR__C
#undef CR__S
#undef CR__R
#undef CR__SRC
#undef CR__INST

char *cr__conf_inst_at(const cr__conf_inst_desc_t *d, const cr_conf_t *c, unsigned i)
{
    return (char *)c + d->array_off + (size_t)i * d->elem_size;
}

unsigned *cr__conf_inst_count(const cr__conf_inst_desc_t *d, const cr_conf_t *c)
{
    return (unsigned *)((char *)c + d->count_off);
}

void cr__conf_msg(char *err, size_t cap, const char *fmt, ...)
{
    if (err == NULL || cap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

bool cr__conf_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

void cr__conf_trim(const char **s, size_t *n)
{
    while (*n > 0 && cr__conf_blank((*s)[0])) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && cr__conf_blank((*s)[*n - 1]))
        (*n)--;
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

bool cr__conf_ipv4(const char *s)
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

bool cr__conf_id_ok(const char *s, size_t len)
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

/** A decimal fraction "D[.DDD]" with 0 < x <= 1 (no sign, exponent, hex or locale). */
static int cr__conf_fraction(const char *s, double *out)
{
    size_t i = 0, digits = 0;
    while (s[i] >= '0' && s[i] <= '9')
        i++, digits++;
    if (s[i] == '.') {
        i++;
        while (s[i] >= '0' && s[i] <= '9')
            i++, digits++;
    }
    if (digits == 0 || s[i] != '\0' || i > 16)
        return -1;
    double v = strtod(s, NULL);
    if (!(v > 0.0 && v <= 1.0))
        return -1;
    *out = v;
    return 0;
}

/**
 * Stores the NUL-terminated value v (len bytes, modifiable) in the field of row k. Returns 0, or -1
 * with the reason in why (CR__CONF_WHY bytes).
 */
int cr__conf_set(const cr__conf_key_t *k, char *base, char *v, size_t len, char *why)
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
    case CR__CONF_FRACTION: {
        double d = 0;
        if (strcmp(v, "0") != 0 && cr__conf_fraction(v, &d) < 0) {
            snprintf(why, CR__CONF_WHY, "must be a fraction above 0 and at most 1 (e.g. 0.9)");
            return -1;
        }
        if (d == 0 && k->instance == CR__INST_NONE) {
            snprintf(why, CR__CONF_WHY, "must be a fraction above 0 and at most 1 (e.g. 0.9)");
            return -1;
        }
        assert(k->size == sizeof(d));
        memcpy(field, &d, sizeof(d));
        return 0;
    }
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
const cr__conf_key_t *cr__conf_find(const char *section, const char *key, size_t keylen)
{
    for (size_t i = 0; i < cr__conf_nkeys; i++) {
        const cr__conf_key_t *k = &cr__conf_keys[i];
        if (strcmp(k->section, section) == 0 && strlen(k->key) == keylen && memcmp(k->key, key, keylen) == 0)
            return k;
    }
    return NULL;
}

/** Applies the defaults of the rows of one kind of section (enum cr__conf_inst). */
void cr__conf_apply_defaults(char *base, int instance)
{
    for (size_t i = 0; i < cr__conf_nkeys; i++) {
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

static int cr__conf_check_range(const cr__conf_key_t *k, unsigned long v, char *why)
{
    if (v >= k->min && v <= k->max)
        return 0;
    cr__conf_range_why(k, why);
    return -1;
}

/** Re-checks one row of a struct that may have been filled in by code rather than by the parser. */
int cr__conf_check(const cr__conf_key_t *k, const char *base, char *why)
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
    case CR__CONF_FRACTION: {
        double d;
        memcpy(&d, field, sizeof(d));
        if ((d > 0.0 && d <= 1.0) || (d == 0.0 && k->instance != CR__INST_NONE))
            return 0;
        snprintf(why, CR__CONF_WHY, "must be a fraction above 0 and at most 1 (e.g. 0.9)");
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
