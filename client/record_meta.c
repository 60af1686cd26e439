#include "record_meta.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int cr_rec_id_ok(const char *s, size_t len)
{
    if (len == 0 || len > CR_REC_ID_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

int cr_rec_class_from_url(const char *url, char *out, size_t cap)
{
    const char *p = NULL, *q = url;
    while ((q = strstr(q, "/whep/")) != NULL) {
        p = q + 6;
        q = p;
    }
    if (p == NULL)
        return -1;
    size_t n = strcspn(p, "?#");
    if (!cr_rec_id_ok(p, n) || n >= cap)
        return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

static void utc(int64_t t, struct tm *tm)
{
    time_t tt = (time_t)t;
    if (gmtime_r(&tt, tm) == NULL)
        memset(tm, 0, sizeof(*tm));
}

void cr_rec_stamp(int64_t t, char *out, size_t cap)
{
    struct tm tm;
    utc(t, &tm);
    if (strftime(out, cap, "%Y%m%dT%H%M%SZ", &tm) == 0 && cap > 0)
        out[0] = '\0';
}

void cr_rec_iso_ms(int64_t ms, char *out, size_t cap)
{
    struct tm tm;
    char s[24];
    int64_t sec = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    utc(sec, &tm);
    if (strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        s[0] = '\0';
    snprintf(out, cap, "%s.%03dZ", s, (int)(ms - sec * 1000));
}

int cr_rec_base_name(const char *class_id, int64_t t, char *out, size_t cap)
{
    char stamp[20];
    if (class_id == NULL || !cr_rec_id_ok(class_id, strlen(class_id)))
        return -1;
    cr_rec_stamp(t, stamp, sizeof(stamp));
    int n = snprintf(out, cap, "%s-%s", class_id, stamp);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int cr_rec_segment_name(const char *base, unsigned index, char *out, size_t cap)
{
    if (index == 0 || index > CR_REC_MAX_SEGMENTS)
        return -1;
    int n = snprintf(out, cap, "%s-%04u.mp4", base, index);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* An output cursor that counts what it could not write, so the caller learns the size. */
struct out {
    char *buf;
    size_t cap, len;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = o->len < o->cap ? o->cap - o->len : 0;
    int n = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n;
}

/* A JSON string (RFC 8259 section 7), or null for NULL / "" when empty_null. */
static void put_str(struct out *o, const char *s, int empty_null)
{
    if (s == NULL || (empty_null && s[0] == '\0')) {
        put(o, "null");
        return;
    }
    put(o, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            put(o, "\\%c", *p);
        else if (*p < 0x20)
            put(o, "\\u%04x", *p);
        else
            put(o, "%c", *p);
    }
    put(o, "\"");
}

static void put_time(struct out *o, int64_t ms)
{
    char iso[32];
    if (ms <= 0) {
        put(o, "null");
        return;
    }
    cr_rec_iso_ms(ms, iso, sizeof(iso));
    put_str(o, iso, 0);
}

int cr_rec_meta_json(const struct cr_rec_meta *m, char *buf, size_t cap)
{
    struct out o = {buf, cap, 0};
    if (m == NULL || (m->n_segs > 0 && m->segs == NULL) || (buf == NULL && cap > 0))
        return -1;
    int64_t last = m->end_ms > 0 ? m->end_ms : m->updated_ms;
    double dur = last > m->start_ms && m->start_ms > 0 ? (double)(last - m->start_ms) / 1000.0 : 0.0;
    put(&o, "{\"class\":");
    put_str(&o, m->class_id, 0);
    put(&o, ",\"teacher\":");
    put_str(&o, m->teacher, 1);
    put(&o, ",\"state\":");
    put_str(&o, m->state, 0);
    put(&o, ",\"start\":");
    put_time(&o, m->start_ms);
    put(&o, ",\"end\":");
    put_time(&o, m->end_ms);
    put(&o, ",\"updated\":");
    put_time(&o, m->updated_ms);
    put(&o, ",\"duration_s\":%.1f,\"format\":\"mp4 h264 opus\",\"segments\":[", dur);
    for (unsigned i = 0; i < m->n_segs; i++) {
        const struct cr_rec_segment *s = &m->segs[i];
        put(&o, "%s{\"file\":", i ? "," : "");
        put_str(&o, s->file, 0);
        put(&o, ",\"start\":");
        put_time(&o, s->start_ms);
        put(&o, ",\"end\":");
        put_time(&o, s->end_ms);
        put(&o, ",\"bytes\":%llu}", (unsigned long long)s->bytes);
    }
    put(&o, "]}\n");
    if (cap > 0)
        buf[o.len < cap ? o.len : cap - 1] = '\0';
    return o.len > (size_t)0x7fffffff ? -1 : (int)o.len;
}

int cr_rec_write_atomic(int dirfd, const char *name, const char *data, size_t len)
{
    char tmp[CR_REC_NAME_MAX + 8];
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp", name);
    if (n < 0 || (size_t)n >= sizeof(tmp) || strchr(name, '/') != NULL)
        return -EINVAL;
    unlinkat(dirfd, tmp, 0); /* a leftover of a crash */
    int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    size_t off = 0;
    int rc = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = w < 0 ? -errno : -EIO;
            break;
        }
        off += (size_t)w;
    }
    if (rc == 0 && fsync(fd) != 0)
        rc = -errno;
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && renameat(dirfd, tmp, dirfd, name) != 0)
        rc = -errno;
    if (rc != 0) {
        unlinkat(dirfd, tmp, 0);
        return rc;
    }
    fsync(dirfd); /* the rename itself survives a crash */
    return 0;
}
