/*
 * Relay configuration: the parser, loading and the cross-key checks. The rows that drive them (every
 * section, key, type, range and default) and the reading of each type of value are in
 * cr_conf_table.c; this file never names a key except in cross-key checks.
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

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cr_conf_int.h"
#include "cr_err.h"

#define CR__CONF_NKEYS_MAX 64 /* rows in cr__conf_keys[] (checked at parse time) */

/** Parser state for one text. */
typedef struct cr__conf_ctx {
    const char *name; /* file name for messages */
    unsigned line;
    const char *section; /* points into cr__conf_keys[], NULL before the first header */
    int inst;            /* enum cr__conf_inst of the open section */
    unsigned instance;   /* in a repeated section: its index in that section's array */
    unsigned set_line[CR__CONF_NKEYS_MAX];
    unsigned inst_line[CR__INST_COUNT][CR_CONF_MAX_CLASSROOMS]; /* where each [x.<id>] of this text opened */
    cr_conf_t conf; /* the copy being filled */
    char *err;
    size_t err_cap;
} cr__conf_ctx_t;

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

static bool cr__conf_is_comment(const char *s, size_t n)
{
    return n == 0 || s[0] == '#' || s[0] == ';';
}

void cr_conf_defaults(cr_conf_t *c)
{
    memset(c, 0, sizeof(*c));
    cr__conf_apply_defaults((char *)c, 0);
}

/** Opens [<prefix><id>] (id: idlen bytes): a new entry of a repeated section with its defaults. */
static int cr__conf_inst_section(cr__conf_ctx_t *x, int inst, const char *id, size_t idlen)
{
    const cr__conf_inst_desc_t *d = &cr__conf_insts[inst];
    char why[CR__CONF_WHY];
    if (!cr__conf_id_ok(id, idlen)) {
        snprintf(why, sizeof(why), "invalid %s id in section [%s%.*s] (1-%d of A-Z a-z 0-9 _ -)", d->what,
                 d->prefix, (int)(idlen > 40 ? 40 : idlen), id, CR_CONF_ID_MAX);
        return cr__conf_fail(x, why);
    }
    unsigned *count = cr__conf_inst_count(d, &x->conf);
    for (unsigned i = 0; i < *count; i++) {
        const char *eid = cr__conf_inst_at(d, &x->conf, i); /* every entry struct starts with its id */
        if (strlen(eid) == idlen && memcmp(eid, id, idlen) == 0) {
            if (x->inst_line[inst][i] != 0)
                snprintf(why, sizeof(why), "duplicate section [%s%.*s] (first on line %u)", d->prefix, (int)idlen,
                         id, x->inst_line[inst][i]);
            else
                snprintf(why, sizeof(why), "duplicate section [%s%.*s] (defined by an earlier file)", d->prefix,
                         (int)idlen, id);
            return cr__conf_fail(x, why);
        }
    }
    if (*count >= d->max) {
        snprintf(why, sizeof(why), "too many [%s] sections (max %u)", d->section, d->max);
        return cr__conf_fail(x, why);
    }
    unsigned idx = (*count)++;
    char *e = cr__conf_inst_at(d, &x->conf, idx);
    memset(e, 0, d->elem_size);
    cr__conf_apply_defaults(e, inst);
    memcpy(e, id, idlen);
    e[idlen] = '\0';
    x->inst_line[inst][idx] = x->line;
    x->inst = inst;
    x->instance = idx;
    for (size_t i = 0; i < cr__conf_nkeys; i++)
        if (cr__conf_keys[i].instance == inst)
            x->set_line[i] = 0;
    x->section = d->section;
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
    for (int inst = 1; inst < CR__INST_COUNT; inst++) {
        size_t pl = strlen(cr__conf_insts[inst].prefix);
        if (namelen >= pl && memcmp(name, cr__conf_insts[inst].prefix, pl) == 0)
            return cr__conf_inst_section(x, inst, name + pl, namelen - pl);
    }
    for (size_t i = 0; i < cr__conf_nkeys; i++) {
        const char *sec = cr__conf_keys[i].section;
        if (!cr__conf_keys[i].instance && strlen(sec) == namelen && memcmp(sec, name, namelen) == 0) {
            x->section = sec;
            x->inst = CR__INST_NONE;
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
        if (x->inst != CR__INST_NONE)
            snprintf(why, sizeof(why), "unknown key in section [%s%s]", cr__conf_insts[x->inst].prefix,
                     cr__conf_inst_at(&cr__conf_insts[x->inst], &x->conf, x->instance));
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
    char *base = k->instance ? cr__conf_inst_at(&cr__conf_insts[k->instance], &x->conf, x->instance)
                             : (char *)&x->conf;
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
    for (size_t i = 0; i < cr__conf_nkeys; i++) {
        const cr__conf_key_t *k = &cr__conf_keys[i];
        if (k->follows == NULL || x->set_line[i] != 0)
            continue;
        const cr__conf_key_t *src = cr__conf_find(k->section, k->follows, strlen(k->follows));
        assert(src != NULL && src->size == k->size && src->type == k->type);
        if (strncmp((const char *)before + k->off, (const char *)before + src->off, k->size) == 0)
            memcpy((char *)after + k->off, (const char *)after + src->off, k->size);
    }
}

/* Parses text into x->conf (a copy of c) and stores it in c on success. */
static int cr__conf_parse_text(cr__conf_ctx_t *x, cr_conf_t *c, const char *name, const char *text, size_t len,
                               char *err, size_t err_cap)
{
    x->name = name;
    x->conf = *c;
    x->err = err;
    x->err_cap = err_cap;
    size_t pos = (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) ? 3 : 0;
    while (pos < len) {
        x->line++;
        const char *s = text + pos;
        const char *nl = memchr(s, '\n', len - pos);
        size_t n = nl != NULL ? (size_t)(nl - s) : len - pos;
        pos += n + (nl != NULL);
        if (n > 0 && s[n - 1] == '\r')
            n--;
        if (n > CR_CONF_MAX_LINE) {
            cr__conf_msg(err, err_cap, "%s: line %u is longer than %d bytes", name, x->line, CR_CONF_MAX_LINE);
            return CR_ECONFIG;
        }
        int r = cr__conf_line(x, s, n);
        if (r < 0)
            return r;
    }
    cr__conf_follow(x, c, &x->conf);
    *c = x->conf;
    return 0;
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
    assert(cr__conf_nkeys <= CR__CONF_NKEYS_MAX);
    cr__conf_ctx_t *x = calloc(1, sizeof(*x)); /* holds a whole cr_conf_t: kept off the stack */
    if (x == NULL) {
        cr__conf_msg(err, err_cap, "%s: out of memory", name);
        return CR_ENOMEM;
    }
    int r = cr__conf_parse_text(x, c, name, text, len, err, err_cap);
    free(x);
    return r;
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

/** Every entry of the repeated sections: its id and its rows. */
static int cr__conf_validate_insts(const cr_conf_t *c, char *err, size_t err_cap)
{
    char why[CR__CONF_WHY];
    for (int inst = 1; inst < CR__INST_COUNT; inst++) {
        const cr__conf_inst_desc_t *d = &cr__conf_insts[inst];
        unsigned n = *cr__conf_inst_count(d, c);
        if (n > d->max) {
            cr__conf_msg(err, err_cap, "too many [%s] sections (max %u)", d->section, d->max);
            return -1;
        }
        for (unsigned i = 0; i < n; i++) {
            const char *e = cr__conf_inst_at(d, c, i); /* every entry struct starts with its id */
            if (memchr(e, '\0', CR_CONF_ID_MAX + 1) == NULL || !cr__conf_id_ok(e, strlen(e))) {
                cr__conf_msg(err, err_cap, "[%s] entry %u: invalid %s id", d->section, i, d->what);
                return -1;
            }
            for (size_t j = 0; j < cr__conf_nkeys; j++) {
                const cr__conf_key_t *k = &cr__conf_keys[j];
                if (k->instance == inst && cr__conf_check(k, e, why) < 0) {
                    cr__conf_msg(err, err_cap, "[%s%s] key '%s': %s", d->prefix, e, k->key, why);
                    return -1;
                }
            }
        }
    }
    return 0;
}

/** The [auth] pair, the timetable's times and the topology's references. */
static int cr__conf_validate_cross(const cr_conf_t *c, char *err, size_t err_cap)
{
    if (memchr(c->auth_secret, '\0', sizeof(c->auth_secret)) == NULL ||
        memchr(c->auth_secret_file, '\0', sizeof(c->auth_secret_file)) == NULL)
        return -1; /* reported by the row checks, which run first */
    if (c->auth_secret[0] != '\0' && c->auth_secret_file[0] != '\0') {
        cr__conf_msg(err, err_cap, "key 'secret_file': set either secret or secret_file in [auth], not both");
        return -1;
    }
    if (c->n_classes > c->max_classes) {
        cr__conf_msg(err, err_cap, "key 'max_classes': %u is fewer than the %u [class.*] sections", c->max_classes,
                     c->n_classes);
        return -1;
    }
    for (unsigned i = 0; i < c->n_classes; i++) {
        const cr_conf_class_t *cl = &c->classes[i];
        if (cl->start != 0 && cl->end != 0 && cl->end <= cl->start) {
            cr__conf_msg(err, err_cap, "[class.%s] key 'end': not after start", cl->id);
            return -1;
        }
    }
    if (c->default_school[0] == '\0') {
        cr__conf_msg(err, err_cap, "key 'default_school': must be an id");
        return -1;
    }
    for (unsigned i = 0; i < c->n_classrooms; i++) {
        const cr_conf_classroom_t *cr = &c->classrooms[i];
        unsigned k = 0;
        while (k < c->n_schools && strcmp(c->schools[k].id, cr->school) != 0)
            k++;
        if (cr->school[0] != '\0' && k == c->n_schools && strcmp(cr->school, c->default_school) != 0) {
            cr__conf_msg(err, err_cap, "[classroom.%s] key 'school': no [school.%s] section", cr->id, cr->school);
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
    for (size_t i = 0; i < cr__conf_nkeys; i++) {
        if (!cr__conf_keys[i].instance && cr__conf_check(&cr__conf_keys[i], (const char *)c, why) < 0) {
            cr__conf_msg(err, err_cap, "key '%s': %s", cr__conf_keys[i].key, why);
            return CR_ECONFIG;
        }
    }
    if (cr__conf_validate_insts(c, err, err_cap) != 0 || cr__conf_validate_cross(c, err, err_cap) != 0 ||
        cr__conf_validate_workers(c, err, err_cap) != 0)
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
