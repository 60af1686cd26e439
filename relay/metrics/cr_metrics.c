/*
 * Metric registry and Prometheus text exposition (format 0.0.4, see
 * https://prometheus.io/docs/instrumenting/exposition_formats/). Families and series are allocated
 * when they are declared, never while writing; every cap is checked before allocation.
 */
#include "cr_metrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cr_err.h"

struct cr_metric_series {
    const cr_metric_family_t *f;
    char values[CR_METRICS_LABELS_MAX][CR_METRICS_VALUE_MAX];
    uint32_t hash; /* of the label values, to skip most string compares on lookup */
    double value;  /* counter, gauge; histogram: sum */
    uint64_t count;
    uint64_t *buckets; /* histogram: n_buckets + 1 (the last is +Inf), non-cumulative */
};

struct cr_metric_family {
    cr_metrics_t *m;
    char name[CR_METRICS_NAME_MAX];
    char help[CR_METRICS_HELP_MAX];
    enum cr_metric_type type;
    char labels[CR_METRICS_LABELS_MAX][CR_METRICS_NAME_MAX];
    unsigned n_labels;
    double bounds[CR_METRICS_BUCKETS_MAX];
    unsigned n_buckets;
    cr_metric_series_t **series;
    unsigned n_series, max_series;
};

struct cr_metrics {
    cr_metric_family_t **families;
    unsigned n_families, max_families;
    uint64_t dropped;
};

int cr_metrics_new(cr_metrics_t **out, unsigned max_families)
{
    *out = NULL;
    if (max_families == 0)
        return CR_EINVAL;
    cr_metrics_t *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return CR_ENOMEM;
    m->families = calloc(max_families, sizeof(*m->families));
    if (m->families == NULL) {
        free(m);
        return CR_ENOMEM;
    }
    m->max_families = max_families;
    *out = m;
    return 0;
}

static void family_free(cr_metric_family_t *f)
{
    for (unsigned i = 0; i < f->n_series; i++) {
        free(f->series[i]->buckets);
        free(f->series[i]);
    }
    free(f->series);
    free(f);
}

void cr_metrics_free(cr_metrics_t *m)
{
    if (m == NULL)
        return;
    for (unsigned i = 0; i < m->n_families; i++)
        family_free(m->families[i]);
    free(m->families);
    free(m);
}

/* --- names --- */

static int name_char(char ch, int first, int colon)
{
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' || (colon && ch == ':'))
        return 1;
    return !first && ch >= '0' && ch <= '9';
}

static int ident_valid(const char *s, int colon)
{
    size_t n = s ? strnlen(s, CR_METRICS_NAME_MAX) : 0;
    if (n == 0 || n >= CR_METRICS_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!name_char(s[i], i == 0, colon))
            return 0;
    return 1;
}

int cr_metrics_name_valid(const char *name)
{
    return ident_valid(name, 1);
}

static int label_name_valid(const char *name, enum cr_metric_type type)
{
    if (!ident_valid(name, 0) || strncmp(name, "__", 2) == 0)
        return 0;
    return !(type == CR_METRIC_HISTOGRAM && strcmp(name, "le") == 0);
}

static int desc_valid(const cr_metric_desc_t *d)
{
    if (!cr_metrics_name_valid(d->name) || d->help == NULL || strlen(d->help) >= CR_METRICS_HELP_MAX)
        return 0;
    if (d->type > CR_METRIC_HISTOGRAM || d->n_labels > CR_METRICS_LABELS_MAX || d->max_series == 0)
        return 0;
    if (d->n_labels == 0 && d->max_series != 1)
        return 0;
    for (unsigned i = 0; i < d->n_labels; i++) {
        if (!label_name_valid(d->labels[i], d->type))
            return 0;
        for (unsigned j = 0; j < i; j++)
            if (strcmp(d->labels[i], d->labels[j]) == 0)
                return 0;
    }
    if (d->type != CR_METRIC_HISTOGRAM)
        return d->n_buckets == 0;
    if (d->n_buckets == 0 || d->n_buckets > CR_METRICS_BUCKETS_MAX || d->buckets == NULL)
        return 0;
    for (unsigned i = 0; i < d->n_buckets; i++)
        if (!isfinite(d->buckets[i]) || (i > 0 && d->buckets[i] <= d->buckets[i - 1]))
            return 0;
    return 1;
}

cr_metric_family_t *cr_metrics_find(cr_metrics_t *m, const char *name)
{
    for (unsigned i = 0; i < m->n_families; i++)
        if (strcmp(m->families[i]->name, name) == 0)
            return m->families[i];
    return NULL;
}

int cr_metrics_family(cr_metrics_t *m, const cr_metric_desc_t *d, cr_metric_family_t **out)
{
    *out = NULL;
    if (!desc_valid(d) || cr_metrics_find(m, d->name) != NULL)
        return CR_EINVAL;
    if (m->n_families >= m->max_families)
        return CR_EFULL;
    cr_metric_family_t *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return CR_ENOMEM;
    f->m = m;
    snprintf(f->name, sizeof(f->name), "%s", d->name);
    snprintf(f->help, sizeof(f->help), "%s", d->help);
    f->type = d->type;
    f->n_labels = d->n_labels;
    for (unsigned i = 0; i < d->n_labels; i++)
        snprintf(f->labels[i], sizeof(f->labels[i]), "%s", d->labels[i]);
    f->n_buckets = d->n_buckets;
    for (unsigned i = 0; i < d->n_buckets; i++)
        f->bounds[i] = d->buckets[i];
    f->max_series = d->max_series;
    m->families[m->n_families++] = f;
    *out = f;
    return 0;
}

/* --- series --- */

static uint32_t values_hash(const char *const *values, unsigned n)
{
    uint32_t h = 2166136261u; /* FNV-1a, with a separator between values */
    for (unsigned i = 0; i < n; i++) {
        for (const char *p = values[i] ? values[i] : ""; *p; p++)
            h = (h ^ (uint8_t)*p) * 16777619u;
        h = (h ^ 0xffu) * 16777619u;
    }
    return h;
}

static int same_values(const cr_metric_series_t *s, const char *const *values, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (strcmp(s->values[i], values[i] ? values[i] : "") != 0)
            return 0;
    return 1;
}

cr_metric_series_t *cr_metric_series(cr_metric_family_t *f, const char *const *values)
{
    static const char *const none[1] = {NULL};
    if (f == NULL)
        return NULL;
    if (f->n_labels == 0)
        values = none;
    uint32_t h = values_hash(values, f->n_labels);
    for (unsigned i = 0; i < f->n_series; i++)
        if (f->series[i]->hash == h && same_values(f->series[i], values, f->n_labels))
            return f->series[i];
    for (unsigned i = 0; i < f->n_labels; i++)
        if (values[i] != NULL && strnlen(values[i], CR_METRICS_VALUE_MAX) >= CR_METRICS_VALUE_MAX) {
            f->m->dropped++;
            return NULL;
        }
    if (f->n_series >= f->max_series) {
        f->m->dropped++;
        return NULL;
    }
    if (f->series == NULL) {
        /* The pointer array grows in steps so a family declared with a large cap costs little. */
        f->series = calloc(f->max_series < 16 ? f->max_series : 16, sizeof(*f->series));
        if (f->series == NULL)
            return NULL;
    } else if (f->n_series >= 16 && (f->n_series & (f->n_series - 1)) == 0) {
        unsigned cap = f->n_series * 2 < f->max_series ? f->n_series * 2 : f->max_series;
        cr_metric_series_t **ns = realloc(f->series, cap * sizeof(*ns));
        if (ns == NULL)
            return NULL;
        f->series = ns;
    }
    cr_metric_series_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    if (f->type == CR_METRIC_HISTOGRAM && (s->buckets = calloc(f->n_buckets + 1, sizeof(uint64_t))) == NULL) {
        free(s);
        return NULL;
    }
    for (unsigned i = 0; i < f->n_labels; i++)
        snprintf(s->values[i], sizeof(s->values[i]), "%s", values[i] ? values[i] : "");
    s->hash = h;
    s->f = f;
    f->series[f->n_series++] = s;
    return s;
}

cr_metric_series_t *cr_metric_single(cr_metric_family_t *f)
{
    return cr_metric_series(f, NULL);
}

void cr_metric_set(cr_metric_series_t *s, double v)
{
    if (s != NULL && s->buckets == NULL)
        s->value = v;
}

void cr_metric_add(cr_metric_series_t *s, double v)
{
    if (s != NULL && s->buckets == NULL)
        s->value += v;
}

double cr_metric_value(const cr_metric_series_t *s)
{
    return s != NULL ? s->value : 0;
}

void cr_metric_observe(cr_metric_series_t *s, double v)
{
    if (s == NULL || s->buckets == NULL || isnan(v))
        return;
    unsigned b = 0;
    while (b < s->f->n_buckets && v > s->f->bounds[b])
        b++;
    s->buckets[b]++;
    s->count++;
    s->value += v;
}

void cr_metric_hist_set(cr_metric_series_t *s, const uint64_t *counts, uint64_t over, double sum)
{
    if (s == NULL || s->buckets == NULL)
        return;
    s->count = over;
    for (unsigned b = 0; b < s->f->n_buckets; b++) {
        s->buckets[b] = counts[b];
        s->count += counts[b];
    }
    s->buckets[s->f->n_buckets] = over;
    s->value = sum;
}

uint64_t cr_metrics_dropped(const cr_metrics_t *m)
{
    return m->dropped;
}

/* --- exposition --- */

typedef struct out {
    char *buf;
    size_t cap, len;
    int full;
} out_t;

static void put(out_t *o, const char *s, size_t n)
{
    if (o->full || n >= o->cap - o->len) {
        o->full = 1;
        return;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

static void puts_(out_t *o, const char *s)
{
    put(o, s, strlen(s));
}

/* Help text: backslash and line feed escaped (quotes are literal there). */
static void put_help(out_t *o, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            put(o, "\\\\", 2);
        else if (*s == '\n')
            put(o, "\\n", 2);
        else
            put(o, s, 1);
    }
}

int cr_metrics_escape_value(const char *src, char *dst, size_t cap)
{
    out_t o = {.buf = dst, .cap = cap, .len = 0, .full = cap == 0};
    if (cap > 0)
        dst[0] = '\0';
    for (; *src; src++) {
        if (*src == '\\')
            put(&o, "\\\\", 2);
        else if (*src == '"')
            put(&o, "\\\"", 2);
        else if (*src == '\n')
            put(&o, "\\n", 2);
        else
            put(&o, src, 1);
    }
    return o.full ? CR_EFULL : (int)o.len;
}

void cr_metrics_format_double(double v, char *dst, size_t cap)
{
    if (isnan(v))
        snprintf(dst, cap, "NaN");
    else if (isinf(v))
        snprintf(dst, cap, "%s", v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 1e15)
        snprintf(dst, cap, "%.0f", v == 0 ? 0.0 : v); /* no "-0" */
    else {
        /* The shortest of %.15g and %.17g that reads back as the same double. */
        snprintf(dst, cap, "%.15g", v);
        if (strtod(dst, NULL) != v)
            snprintf(dst, cap, "%.17g", v);
    }
}

static void put_value(out_t *o, double v)
{
    char num[40];
    cr_metrics_format_double(v, num, sizeof(num));
    puts_(o, num);
}

/* name{l1="v1",...[,le="x"]} */
static void put_series_name(out_t *o, const cr_metric_family_t *f, const cr_metric_series_t *s, const char *suffix,
                            const char *le)
{
    char esc[CR_METRICS_VALUE_MAX * 2 + 1];
    puts_(o, f->name);
    puts_(o, suffix);
    if (f->n_labels == 0 && le == NULL)
        return;
    put(o, "{", 1);
    for (unsigned i = 0; i < f->n_labels; i++) {
        if (i > 0)
            put(o, ",", 1);
        puts_(o, f->labels[i]);
        put(o, "=\"", 2);
        if (cr_metrics_escape_value(s->values[i], esc, sizeof(esc)) < 0)
            o->full = 1; /* cannot happen: values are shorter than half of esc */
        puts_(o, esc);
        put(o, "\"", 1);
    }
    if (le != NULL) {
        puts_(o, f->n_labels ? ",le=\"" : "le=\"");
        puts_(o, le);
        put(o, "\"", 1);
    }
    put(o, "}", 1);
}

static void put_histogram(out_t *o, const cr_metric_family_t *f, const cr_metric_series_t *s)
{
    char le[40];
    uint64_t cum = 0;
    for (unsigned b = 0; b <= f->n_buckets; b++) {
        cum += s->buckets[b];
        if (b < f->n_buckets)
            cr_metrics_format_double(f->bounds[b], le, sizeof(le));
        else
            snprintf(le, sizeof(le), "+Inf");
        put_series_name(o, f, s, "_bucket", le);
        put(o, " ", 1);
        put_value(o, (double)cum);
        put(o, "\n", 1);
    }
    put_series_name(o, f, s, "_sum", NULL);
    put(o, " ", 1);
    put_value(o, s->value);
    put(o, "\n", 1);
    put_series_name(o, f, s, "_count", NULL);
    put(o, " ", 1);
    put_value(o, (double)cum);
    put(o, "\n", 1);
}

static int cmp_family(const void *a, const void *b)
{
    return strcmp((*(cr_metric_family_t *const *)a)->name, (*(cr_metric_family_t *const *)b)->name);
}

static int cmp_series(const void *a, const void *b)
{
    const cr_metric_series_t *x = *(cr_metric_series_t *const *)a, *y = *(cr_metric_series_t *const *)b;
    for (unsigned i = 0; i < x->f->n_labels; i++) {
        int c = strcmp(x->values[i], y->values[i]);
        if (c != 0)
            return c;
    }
    return 0;
}

static void put_family(out_t *o, const cr_metric_family_t *f, cr_metric_series_t **sorted)
{
    static const char *const types[] = {"counter", "gauge", "histogram"};
    memcpy(sorted, f->series, f->n_series * sizeof(*sorted));
    qsort(sorted, f->n_series, sizeof(*sorted), cmp_series);
    puts_(o, "# HELP ");
    puts_(o, f->name);
    put(o, " ", 1);
    put_help(o, f->help);
    puts_(o, "\n# TYPE ");
    puts_(o, f->name);
    put(o, " ", 1);
    puts_(o, types[f->type]);
    put(o, "\n", 1);
    for (unsigned i = 0; i < f->n_series; i++) {
        if (f->type == CR_METRIC_HISTOGRAM) {
            put_histogram(o, f, sorted[i]);
            continue;
        }
        put_series_name(o, f, sorted[i], "", NULL);
        put(o, " ", 1);
        put_value(o, sorted[i]->value);
        put(o, "\n", 1);
    }
}

int cr_metrics_write(const cr_metrics_t *m, char *buf, size_t cap)
{
    out_t o = {.buf = buf, .cap = cap, .len = 0, .full = cap == 0};
    if (cap > 0)
        buf[0] = '\0';
    unsigned most = 1;
    for (unsigned i = 0; i < m->n_families; i++)
        if (m->families[i]->n_series > most)
            most = m->families[i]->n_series;
    cr_metric_family_t **fams = malloc((m->n_families ? m->n_families : 1) * sizeof(*fams));
    cr_metric_series_t **sorted = malloc(most * sizeof(*sorted));
    if (fams == NULL || sorted == NULL) {
        free(fams);
        free(sorted);
        return CR_ENOMEM;
    }
    memcpy(fams, m->families, m->n_families * sizeof(*fams));
    qsort(fams, m->n_families, sizeof(*fams), cmp_family);
    for (unsigned i = 0; i < m->n_families && !o.full; i++)
        if (fams[i]->n_series > 0)
            put_family(&o, fams[i], sorted);
    free(fams);
    free(sorted);
    return o.full ? CR_EFULL : (int)o.len;
}
