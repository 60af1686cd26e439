#include "cr_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static volatile int log_level = CR_LOG_INFO;

void cr_log_set_level(enum cr_log_level level)
{
    log_level = (int)level;
}

void cr_log(enum cr_log_level level, const char *component, const char *fmt, ...)
{
    static const char *names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    char line[1024];
    int n;
    va_list ap;

    if ((int)level < log_level)
        return;
    n = snprintf(line, sizeof(line), "%s %s: ", names[level & 3], component);
    if (n < 0 || (size_t)n >= sizeof(line))
        return;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    n += m;
    if ((size_t)n > sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}

int cr_log_limit_check(cr_log_limit_t *lim, uint64_t now_us)
{
    if (lim->last_us != 0 && now_us - lim->last_us < 1000000u) {
        lim->suppressed++;
        return -1;
    }
    int sup = (int)lim->suppressed;
    lim->last_us = now_us;
    lim->suppressed = 0;
    return sup;
}
