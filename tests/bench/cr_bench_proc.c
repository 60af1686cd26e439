#include "cr_bench_proc.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cr_err.h"

/* Reads an unsigned decimal at *p (after blanks); advances *p. Returns 0 or CR_EMALFORMED. */
static int read_u64(const char **p, const char *end, uint64_t *out)
{
    const char *s = *p;
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    if (s == end || *s < '0' || *s > '9')
        return CR_EMALFORMED;
    uint64_t v = 0;
    while (s < end && *s >= '0' && *s <= '9') {
        if (v > (UINT64_MAX - 9) / 10)
            return CR_EMALFORMED;
        v = v * 10 + (uint64_t)(*s++ - '0');
    }
    *p = s;
    *out = v;
    return 0;
}

/* Skips one blank-separated field. */
static int skip_field(const char **p, const char *end)
{
    const char *s = *p;
    while (s < end && *s == ' ')
        s++;
    if (s == end)
        return CR_EMALFORMED;
    while (s < end && *s != ' ')
        s++;
    *p = s;
    return 0;
}

int cr_bench_proc_stat_parse(const char *text, size_t len, uint64_t *ticks)
{
    const char *end = text + len, *p = NULL;
    for (const char *s = text; s < end; s++)
        if (*s == ')')
            p = s + 1; /* the last ')' ends the command name */
    if (p == NULL)
        return CR_EMALFORMED;
    /* After the name: field 3 (state) .. field 13 (cmajflt) are 11 fields to skip. */
    for (int i = 3; i <= 13; i++)
        if (skip_field(&p, end) != 0)
            return CR_EMALFORMED;
    uint64_t ut, st;
    if (read_u64(&p, end, &ut) != 0 || read_u64(&p, end, &st) != 0)
        return CR_EMALFORMED;
    *ticks = ut + st;
    return 0;
}

/* Finds a line starting with prefix; returns a pointer after the prefix or NULL. */
static const char *find_line(const char *text, size_t len, const char *prefix)
{
    size_t plen = strlen(prefix);
    const char *p = text, *end = text + len;
    while (p < end) {
        if ((size_t)(end - p) >= plen && memcmp(p, prefix, plen) == 0)
            return p + plen;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    return NULL;
}

int cr_bench_proc_rss_parse(const char *text, size_t len, uint64_t *kb)
{
    const char *p = find_line(text, len, "VmRSS:");
    if (p == NULL)
        return CR_ENOTFOUND;
    return read_u64(&p, text + len, kb);
}

int cr_bench_proc_cpu_parse(const char *text, size_t len, int cpu, uint64_t *busy, uint64_t *total)
{
    char prefix[24];
    snprintf(prefix, sizeof(prefix), "cpu%d ", cpu);
    const char *p = find_line(text, len, prefix), *end = text + len;
    if (p == NULL)
        return CR_ENOTFOUND;
    /* user nice system idle iowait irq softirq steal [guest guest_nice] */
    uint64_t v[8];
    for (int i = 0; i < 8; i++)
        if (read_u64(&p, end, &v[i]) != 0)
            return CR_EMALFORMED;
    *total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
    *busy = *total - v[3] - v[4];
    return 0;
}

static int read_text(const char *path, char *buf, size_t cap, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return CR_EIO;
    size_t n = 0;
    while (n + 1 < cap) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    *len = n;
    return n > 0 ? 0 : CR_EIO;
}

int cr_bench_proc_cpu_us(pid_t pid, uint64_t *us)
{
    char path[64], buf[4096];
    size_t len;
    uint64_t ticks;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int err = read_text(path, buf, sizeof(buf), &len);
    if (err == 0)
        err = cr_bench_proc_stat_parse(buf, len, &ticks);
    if (err == 0)
        *us = ticks * 1000000u / (uint64_t)sysconf(_SC_CLK_TCK);
    return err;
}

int cr_bench_proc_rss_kb(pid_t pid, uint64_t *kb)
{
    char path[64], buf[8192];
    size_t len;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    int err = read_text(path, buf, sizeof(buf), &len);
    return err == 0 ? cr_bench_proc_rss_parse(buf, len, kb) : err;
}

int cr_bench_proc_core_us(int cpu, uint64_t *busy, uint64_t *total)
{
    static char buf[65536];
    size_t len;
    int err = read_text("/proc/stat", buf, sizeof(buf), &len);
    if (err == 0)
        err = cr_bench_proc_cpu_parse(buf, len, cpu, busy, total);
    if (err == 0) {
        uint64_t hz = (uint64_t)sysconf(_SC_CLK_TCK);
        *busy = *busy * 1000000u / hz;
        *total = *total * 1000000u / hz;
    }
    return err;
}
