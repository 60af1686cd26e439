/*
 * Logging for the relay process. Lines go to stderr as "LEVEL component: message". Parsers never log;
 * callers on hot paths use CR_LOG_RATELIMITED so that a flood of bad packets costs one line a second.
 */
#ifndef CR_LOG_H
#define CR_LOG_H

#include <stdint.h>

enum cr_log_level { CR_LOG_DEBUG = 0, CR_LOG_INFO = 1, CR_LOG_WARN = 2, CR_LOG_ERROR = 3 };

/** Sets the minimum level that is printed (default CR_LOG_INFO). Thread-safe. */
void cr_log_set_level(enum cr_log_level level);

/** Prints one line if level is enabled. Thread-safe (one write(2) per line). */
void cr_log(enum cr_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/**
 * A per-call-site limiter: at most one line per second; the next printed line reports how many were
 * suppressed. The state is owned by the caller (one per site and thread).
 */
typedef struct cr_log_limit {
    uint64_t last_us;
    uint32_t suppressed;
} cr_log_limit_t;

/** Returns the number of suppressed lines to report (>= 0) if a line may be printed now, else -1. */
int cr_log_limit_check(cr_log_limit_t *lim, uint64_t now_us);

#define CR_LOG_RATELIMITED(lim, now, level, comp, ...)          \
    do {                                                         \
        int cr__sup = cr_log_limit_check((lim), (now));          \
        if (cr__sup >= 0) {                                      \
            cr_log((level), (comp), __VA_ARGS__);                \
            if (cr__sup > 0)                                     \
                cr_log((level), (comp), "(%d similar lines suppressed)", cr__sup); \
        }                                                        \
    } while (0)

#endif
