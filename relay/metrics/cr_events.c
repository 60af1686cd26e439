/*
 * The JSON-lines event log: a pure formatter, a rate limit per distinct line, a ring of recent lines
 * and counters per event name, behind one mutex (events are rare: joins, leaves, refusals, losses).
 */
#include "cr_events.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cr_err.h"

/* --- formatting --- */

typedef struct buf {
    char *p;
    size_t cap, len; /* len < cap always; room is kept for the closing "}\n" */
    int full;
} buf_t;

static void put(buf_t *b, const char *s, size_t n)
{
    if (b->full || n > b->cap - b->len - 1) {
        b->full = 1;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* Length of the valid UTF-8 sequence at s (RFC 3629), 0 if invalid. */
static size_t utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, cp = c & 0x07;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return n;
}

static void put_string(buf_t *b, const char *s)
{
    put(b, "\"", 1);
    const unsigned char *u = (const unsigned char *)s;
    while (*u && !b->full) {
        char esc[8];
        if (*u == '"' || *u == '\\') {
            esc[0] = '\\', esc[1] = (char)*u;
            put(b, esc, 2);
            u++;
        } else if (*u < 0x20) {
            snprintf(esc, sizeof(esc), "\\u%04x", *u);
            put(b, esc, 6);
            u++;
        } else {
            size_t n = utf8_len(u);
            if (n == 0) {
                put(b, "\\ufffd", 6);
                u++;
            } else {
                put(b, (const char *)u, n);
                u += n;
            }
        }
    }
    put(b, "\"", 1);
}

static void put_num(buf_t *b, long long v)
{
    char num[32];
    int n = snprintf(num, sizeof(num), "%lld", v);
    put(b, num, (size_t)n);
}

static void put_key(buf_t *b, const char *key)
{
    put(b, ",", 1);
    put_string(b, key);
    put(b, ":", 1);
}

const char *cr_events_level_name(enum cr_log_level level)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    return names[(unsigned)level & 3];
}

static void put_head(buf_t *b, int64_t now_ms, enum cr_log_level level, const char *event)
{
    char ts[128];
    struct tm tm;
    time_t sec = (time_t)(now_ms / 1000);
    gmtime_r(&sec, &tm);
    snprintf(ts, sizeof(ts), "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\",\"level\":", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(now_ms % 1000));
    put(b, ts, strlen(ts));
    put_string(b, cr_events_level_name(level));
    put_key(b, "event");
    put_string(b, event);
}

int cr_events_format(char *out, size_t cap, int64_t now_ms, enum cr_log_level level, const char *event,
                     const cr_event_field_t *fields, unsigned n_fields, uint32_t suppressed)
{
    static const char tail_trunc[] = ",\"truncated\":true}\n";
    if (event == NULL || cap < 128)
        return CR_EINVAL;
    /* Fields go into a buffer that leaves room for the truncation marker. */
    buf_t b = {.p = out, .cap = cap - sizeof(tail_trunc), .len = 0, .full = 0};
    out[0] = '\0';
    put_head(&b, now_ms, level, event);
    if (b.full)
        return CR_EINVAL;
    for (unsigned i = 0; i < n_fields && i < CR_EVENTS_FIELDS_MAX; i++) {
        size_t mark = b.len;
        put_key(&b, fields[i].key ? fields[i].key : "");
        if (fields[i].str != NULL)
            put_string(&b, fields[i].str);
        else
            put_num(&b, fields[i].num);
        if (b.full) { /* drop the partial field, end with the marker */
            b.len = mark;
            memcpy(out + mark, tail_trunc, sizeof(tail_trunc));
            return CR_EFULL;
        }
    }
    if (suppressed > 0) {
        size_t mark = b.len;
        put_key(&b, "suppressed");
        put_num(&b, suppressed);
        if (b.full) {
            b.len = mark;
            memcpy(out + mark, tail_trunc, sizeof(tail_trunc));
            return CR_EFULL;
        }
    }
    b.cap = cap; /* the closing brace and line feed fit in the reserved room */
    put(&b, "}\n", 2);
    return (int)b.len;
}

/* --- the process-wide log --- */

typedef struct limit_slot {
    uint64_t hash;
    int64_t window_ms;
    uint32_t n;
    uint32_t suppressed;
} limit_slot_t;

static struct {
    pthread_mutex_t lock;
    int fd; /* -1: stderr */
    int min_level;
    limit_slot_t slots[CR_EVENTS_KEYS];
    cr_event_rec_t ring[CR_EVENTS_RING];
    uint64_t seq;
    cr_event_count_t counts[CR_EVENTS_NAMES];
    unsigned n_counts;
} g = {.lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1, .min_level = CR_LOG_INFO};

int cr_events_open(const char *path, enum cr_log_level min, char *err, size_t err_cap)
{
    int fd = -1;
    if (path != NULL && path[0] != '\0') {
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (fd < 0) {
            snprintf(err, err_cap, "event_log '%s': cannot open: %s", path, strerror(errno));
            return CR_EIO;
        }
    }
    pthread_mutex_lock(&g.lock);
    if (g.fd >= 0)
        close(g.fd);
    g.fd = fd;
    g.min_level = (int)min;
    pthread_mutex_unlock(&g.lock);
    return 0;
}

void cr_events_close(void)
{
    pthread_mutex_lock(&g.lock);
    if (g.fd >= 0)
        close(g.fd);
    g.fd = -1;
    g.min_level = CR_LOG_INFO;
    memset(g.slots, 0, sizeof(g.slots));
    memset(g.ring, 0, sizeof(g.ring));
    memset(g.counts, 0, sizeof(g.counts));
    g.seq = 0;
    g.n_counts = 0;
    pthread_mutex_unlock(&g.lock);
}

static uint64_t line_hash(enum cr_log_level level, const char *event, const cr_event_field_t *f, unsigned n)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)level; /* FNV-1a 64 */
    for (const char *p = event; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    for (unsigned i = 0; i < n; i++) {
        h = (h ^ 0xff) * 1099511628211ull;
        for (const char *p = f[i].key ? f[i].key : ""; *p; p++)
            h = (h ^ (uint8_t)*p) * 1099511628211ull;
        if (f[i].str != NULL)
            for (const char *p = f[i].str; *p; p++)
                h = (h ^ (uint8_t)*p) * 1099511628211ull;
        else
            h = (h ^ (uint64_t)f[i].num) * 1099511628211ull;
    }
    return h | 1; /* 0 marks a free slot */
}

/* Returns -1 to suppress, else the count suppressed since the last line written (locked). */
static int64_t limit(uint64_t h, int64_t now_ms)
{
    limit_slot_t *s = NULL, *oldest = &g.slots[0];
    for (unsigned i = 0; i < CR_EVENTS_KEYS; i++) {
        if (g.slots[i].hash == h) {
            s = &g.slots[i];
            break;
        }
        if (g.slots[i].window_ms < oldest->window_ms)
            oldest = &g.slots[i];
    }
    if (s == NULL) {
        s = oldest; /* a free slot has window 0, so it is the oldest */
        *s = (limit_slot_t){.hash = h, .window_ms = now_ms};
    }
    if (now_ms - s->window_ms >= CR_EVENTS_WINDOW_MS) {
        s->window_ms = now_ms;
        s->n = 0;
    }
    if (s->n >= CR_EVENTS_BURST) {
        s->suppressed++;
        return -1;
    }
    s->n++;
    int64_t sup = s->suppressed;
    s->suppressed = 0;
    return sup;
}

static void count(enum cr_log_level level, const char *event)
{
    cr_event_count_t *c = NULL;
    for (unsigned i = 0; i < g.n_counts && c == NULL; i++)
        if (g.counts[i].level == level && strcmp(g.counts[i].event, event) == 0)
            c = &g.counts[i];
    if (c == NULL && g.n_counts < CR_EVENTS_NAMES) {
        c = &g.counts[g.n_counts++];
        snprintf(c->event, sizeof(c->event), "%s", g.n_counts == CR_EVENTS_NAMES ? "other" : event);
        c->level = level;
    } else if (c == NULL) {
        c = &g.counts[CR_EVENTS_NAMES - 1];
    }
    c->count++;
}

static void emit(int64_t now_ms, enum cr_log_level level, const char *event, const cr_event_field_t *f, unsigned n)
{
    char line[CR_EVENTS_LINE_MAX];
    if ((int)level < g.min_level || event == NULL)
        return;
    pthread_mutex_lock(&g.lock);
    count(level, event);
    int64_t sup = limit(line_hash(level, event, f, n), now_ms);
    if (sup < 0) {
        pthread_mutex_unlock(&g.lock);
        return;
    }
    int len = cr_events_format(line, sizeof(line), now_ms, level, event, f, n, (uint32_t)sup);
    if (len == CR_EFULL)
        len = (int)strlen(line);
    if (len > 0) {
        ssize_t w = write(g.fd >= 0 ? g.fd : STDERR_FILENO, line, (size_t)len);
        (void)w;
        cr_event_rec_t *r = &g.ring[g.seq % CR_EVENTS_RING];
        r->seq = ++g.seq;
        r->ts_ms = now_ms;
        r->level = level;
        snprintf(r->event, sizeof(r->event), "%s", event);
        memcpy(r->line, line, (size_t)len - 1);
        r->line[len - 1] = '\0';
    }
    pthread_mutex_unlock(&g.lock);
}

void cr_event_fields(enum cr_log_level level, const char *event, const cr_event_field_t *fields, unsigned n)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    emit((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, level, event, fields,
         n < CR_EVENTS_FIELDS_MAX ? n : CR_EVENTS_FIELDS_MAX);
}

static unsigned collect(va_list ap, cr_event_field_t *f)
{
    unsigned n = 0;
    const char *key;
    while ((key = va_arg(ap, const char *)) != NULL && n < CR_EVENTS_FIELDS_MAX) {
        if (key[0] == '#') {
            f[n] = (cr_event_field_t){.key = key + 1, .str = NULL, .num = va_arg(ap, long long)};
        } else {
            const char *v = va_arg(ap, const char *);
            f[n] = (cr_event_field_t){.key = key, .str = v ? v : "", .num = 0};
        }
        n++;
    }
    return n;
}

void cr_event(enum cr_log_level level, const char *event, ...)
{
    cr_event_field_t f[CR_EVENTS_FIELDS_MAX];
    va_list ap;
    va_start(ap, event);
    unsigned n = collect(ap, f);
    va_end(ap);
    cr_event_fields(level, event, f, n);
}

void cr_event_at(int64_t now_ms, enum cr_log_level level, const char *event, ...)
{
    cr_event_field_t f[CR_EVENTS_FIELDS_MAX];
    va_list ap;
    va_start(ap, event);
    unsigned n = collect(ap, f);
    va_end(ap);
    emit(now_ms, level, event, f, n);
}

size_t cr_events_recent(uint64_t after, cr_event_rec_t *out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&g.lock);
    uint64_t first = g.seq > CR_EVENTS_RING ? g.seq - CR_EVENTS_RING + 1 : 1;
    if (after + 1 > first)
        first = after + 1;
    for (uint64_t s = first; s <= g.seq && n < max; s++)
        out[n++] = g.ring[(s - 1) % CR_EVENTS_RING];
    pthread_mutex_unlock(&g.lock);
    return n;
}

size_t cr_events_counts(cr_event_count_t *out, size_t max)
{
    pthread_mutex_lock(&g.lock);
    size_t n = g.n_counts < max ? g.n_counts : max;
    memcpy(out, g.counts, n * sizeof(*out));
    pthread_mutex_unlock(&g.lock);
    return n;
}
