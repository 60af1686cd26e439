/*
 * A metric registry with bounded label sets and a Prometheus text exposition writer (format 0.0.4).
 *
 * A registry holds families (a name, help text, type and label names) and each family holds series
 * (one value per combination of label values). Every family declares the most series it may hold;
 * a series beyond that cap is not created (the caller gets NULL, writes to NULL are ignored) and
 * counted in cr_metrics_dropped(), so a label fed by the network can never grow the registry without
 * bound. Label values are copied and limited to CR_METRICS_VALUE_MAX bytes.
 *
 * The exposition is sorted (families by name, series by label values) so that two scrapes of the same
 * state are byte-identical. Pure C (libc only); not thread-safe: one owner fills and writes it, e.g.
 * the control thread building a snapshot per scrape.
 */
#ifndef CR_METRICS_H
#define CR_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define CR_METRICS_NAME_MAX 96    /* metric and label names, bytes */
#define CR_METRICS_HELP_MAX 256   /* help text, bytes */
#define CR_METRICS_LABELS_MAX 4   /* label names per family */
#define CR_METRICS_VALUE_MAX 128  /* one label value, bytes */
#define CR_METRICS_BUCKETS_MAX 32 /* histogram buckets per family, +Inf not counted */

enum cr_metric_type { CR_METRIC_COUNTER = 0, CR_METRIC_GAUGE = 1, CR_METRIC_HISTOGRAM = 2 };

typedef struct cr_metrics cr_metrics_t;
typedef struct cr_metric_family cr_metric_family_t;
typedef struct cr_metric_series cr_metric_series_t;

/** Describes a family for cr_metrics_family(); all pointers are borrowed for the call. */
typedef struct cr_metric_desc {
    const char *name; /* [a-zA-Z_:][a-zA-Z0-9_:]*; counters should end in _total */
    const char *help;
    enum cr_metric_type type;
    const char *const *labels; /* n_labels names [a-zA-Z_][a-zA-Z0-9_]*, not "__*", not "le" */
    unsigned n_labels;
    unsigned max_series; /* 1.. ; a family without labels has exactly one series */
    const double *buckets; /* histogram: strictly increasing finite upper bounds */
    unsigned n_buckets;
} cr_metric_desc_t;

/**
 * Creates a registry of at most max_families families. Returns 0, CR_EINVAL (max_families 0) or
 * CR_ENOMEM. Free with cr_metrics_free().
 */
int cr_metrics_new(cr_metrics_t **out, unsigned max_families);

/** Frees the registry, its families and series. NULL is a no-op. */
void cr_metrics_free(cr_metrics_t *m);

/**
 * Adds a family (description copied). Returns 0 and sets *out (owned by m), CR_EINVAL for a bad name,
 * label name, help, bucket list or a duplicate name, CR_EFULL past max_families, CR_ENOMEM.
 */
int cr_metrics_family(cr_metrics_t *m, const cr_metric_desc_t *d, cr_metric_family_t **out);

/** Looks a family up by name; NULL if absent. */
cr_metric_family_t *cr_metrics_find(cr_metrics_t *m, const char *name);

/**
 * The series of family f with these label values (n_labels strings, borrowed; NULL counts as ""),
 * created at value 0 if new. Returns NULL when the family's max_series is reached or a value is
 * longer than CR_METRICS_VALUE_MAX - 1 bytes (both counted in cr_metrics_dropped()), or on ENOMEM.
 */
cr_metric_series_t *cr_metric_series(cr_metric_family_t *f, const char *const *values);

/** The series of a family without labels. */
cr_metric_series_t *cr_metric_single(cr_metric_family_t *f);

/** Sets a gauge (or a counter mirrored from a cumulative source). NULL s is a no-op. */
void cr_metric_set(cr_metric_series_t *s, double v);

/** Adds v to a counter or gauge (a counter ignores negative v). NULL s is a no-op. */
void cr_metric_add(cr_metric_series_t *s, double v);

/** The current value of a counter or gauge (0 for NULL). */
double cr_metric_value(const cr_metric_series_t *s);

/** Records one observation in a histogram (values above every bound go to +Inf). NULL is a no-op. */
void cr_metric_observe(cr_metric_series_t *s, double v);

/**
 * Replaces a histogram's state with a snapshot taken elsewhere: counts[i] observations fell in bucket
 * i (non-cumulative, i < the family's n_buckets), over observations above every bound, and sum
 * their total. NULL s is a no-op.
 */
void cr_metric_hist_set(cr_metric_series_t *s, const uint64_t *counts, uint64_t over, double sum);

/** Series refused since creation: family caps reached or label values too long. */
uint64_t cr_metrics_dropped(const cr_metrics_t *m);

/**
 * Writes the text exposition (format 0.0.4) of every family that has at least one series into buf
 * (cap bytes, NUL-terminated). Returns the length, or CR_EFULL when it does not fit (buf then holds
 * a truncated, unusable text), CR_ENOMEM.
 */
int cr_metrics_write(const cr_metrics_t *m, char *buf, size_t cap);

/**
 * Escapes a label value for the exposition (backslash, double quote and line feed) into dst (cap
 * bytes, NUL-terminated). Returns the length, or CR_EFULL if it does not fit.
 */
int cr_metrics_escape_value(const char *src, char *dst, size_t cap);

/** Formats a sample value as Prometheus reads it ("12", "0.25", "+Inf", "NaN") into dst (cap >= 32). */
void cr_metrics_format_double(double v, char *dst, size_t cap);

/** Returns 1 if name is a valid metric name, 0 otherwise. */
int cr_metrics_name_valid(const char *name);

#endif
