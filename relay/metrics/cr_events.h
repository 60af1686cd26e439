/*
 * The event log: one JSON object per line for class, participant and link events, e.g.
 *
 *   {"ts":"2026-09-01T08:00:03.120Z","level":"info","event":"participant_joined","class":"math-7",
 *    "participant":"rural-3a","role":"classroom"}
 *
 * written to stderr or a file ([ops] event_log, docs/CONFIG.md). A line repeated with the same level,
 * event and fields is written at most CR_EVENTS_BURST times per CR_EVENTS_WINDOW_MS; the next line
 * written after that carries "suppressed":N. The last CR_EVENTS_RING lines are also kept in memory,
 * numbered, for the operator dashboard's alert list; counts per event name feed /metrics.
 *
 * The process-wide log (cr_event*) is thread-safe; cr_events_format() is the pure formatter.
 */
#ifndef CR_EVENTS_H
#define CR_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "cr_log.h"

#define CR_EVENTS_LINE_MAX 768   /* bytes of one line, with its line feed */
#define CR_EVENTS_FIELDS_MAX 10  /* fields per event besides ts, level, event */
#define CR_EVENTS_BURST 5        /* identical lines per window */
#define CR_EVENTS_WINDOW_MS 10000
#define CR_EVENTS_KEYS 128       /* distinct lines tracked by the rate limit */
#define CR_EVENTS_RING 256       /* recent lines kept in memory */
#define CR_EVENTS_NAMES 48       /* distinct event names counted */
#define CR_EVENTS_NAME_MAX 40

/** One field: a string (str non-NULL) or an integer. key and str are borrowed. */
typedef struct cr_event_field {
    const char *key;
    const char *str;
    long long num;
} cr_event_field_t;

/**
 * Formats one line (with its trailing line feed, NUL-terminated) into buf: ts (now_ms, Unix
 * milliseconds, UTC), level, event, then the fields in order; strings are JSON-escaped (invalid UTF-8
 * becomes U+FFFD). suppressed > 0 adds "suppressed". Returns the length, or CR_EFULL if cap is too
 * small (then buf holds a shortened valid line ending in "truncated":true), CR_EINVAL for a NULL name.
 */
int cr_events_format(char *buf, size_t cap, int64_t now_ms, enum cr_log_level level, const char *event,
                     const cr_event_field_t *fields, unsigned n_fields, uint32_t suppressed);

/**
 * Sends the event log to path (appended; created 0640), or to stderr when path is NULL or "". Lines
 * below min are dropped. Returns 0, or CR_EIO with a reason in err. Safe to call again (reopens).
 */
int cr_events_open(const char *path, enum cr_log_level min, char *err, size_t err_cap);

/** Closes a file opened by cr_events_open (back to stderr) and clears the ring and counters. */
void cr_events_close(void);

/** Logs an event now: fields as an array (see cr_event for the usual variadic form). */
void cr_event_fields(enum cr_log_level level, const char *event, const cr_event_field_t *fields, unsigned n);

/**
 * Logs an event now. The variadic arguments are key/value pairs ending with a NULL key: a key that
 * starts with '#' takes a long long (the '#' is not written), any other key a const char *
 * (NULL is written as null), e.g.
 *   cr_event(CR_LOG_WARN, "join_refused", "class", id, "participant", who, "#code", (long long)4033, NULL);
 */
void cr_event(enum cr_log_level level, const char *event, ...);

/** As cr_event at a given time (ms since the epoch), for tests of the rate limit. */
void cr_event_at(int64_t now_ms, enum cr_log_level level, const char *event, ...);

/** A line kept in the ring. */
typedef struct cr_event_rec {
    uint64_t seq; /* 1, 2, ... in the order written */
    int64_t ts_ms;
    enum cr_log_level level;
    char event[CR_EVENTS_NAME_MAX];
    char line[CR_EVENTS_LINE_MAX]; /* the JSON line without its line feed */
} cr_event_rec_t;

/**
 * Copies up to max ring entries with seq > after, oldest first, into out. Returns how many. Lines
 * suppressed by the rate limit are not in the ring.
 */
size_t cr_events_recent(uint64_t after, cr_event_rec_t *out, size_t max);

/** Per event name and level: how many events were logged (suppressed ones included). */
typedef struct cr_event_count {
    char event[CR_EVENTS_NAME_MAX];
    enum cr_log_level level;
    uint64_t count;
} cr_event_count_t;

/** Copies up to max counters into out; returns how many. Names past CR_EVENTS_NAMES count as "other". */
size_t cr_events_counts(cr_event_count_t *out, size_t max);

/** The lower-case name of a level ("debug", "info", "warn", "error"). */
const char *cr_events_level_name(enum cr_log_level level);

#endif
