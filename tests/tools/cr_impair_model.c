/*
 * The impairment model (see cr_impair_model.h).
 */
#include "cr_impair_model.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void cr_imp_conf_default(cr_imp_conf_t *c)
{
    memset(c, 0, sizeof(*c));
    c->ge_loss_bad = 1.0;
    c->reorder_gap_us = 10000;
    c->burst_bytes = 1514;
    c->queue_bytes = 65536;
}

uint64_t cr_imp_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double cr_imp_uniform(uint64_t *state)
{
    return (double)(cr_imp_next(state) >> 11) * (1.0 / 9007199254740992.0);
}

void cr_imp_dir_init(cr_imp_dir_t *d, const cr_imp_conf_t *c, uint64_t seed, unsigned dir)
{
    memset(d, 0, sizeof(*d));
    d->c = *c;
    d->rng = seed ^ (0xd1b54a32d192ed03ull * (dir + 1));
    d->tokens = c->burst_bytes;
    d->bucket_us = -1; /* the bucket starts full at the first packet */
}

static int lost(cr_imp_dir_t *d)
{
    int l = 0;
    if (d->c.ge_p > 0) {
        /* state transition, then loss in the new state */
        double u = cr_imp_uniform(&d->rng);
        if (d->ge_bad ? u < d->c.ge_r : u < d->c.ge_p)
            d->ge_bad = !d->ge_bad;
        double pl = d->ge_bad ? d->c.ge_loss_bad : d->c.ge_loss_good;
        l = pl > 0 && cr_imp_uniform(&d->rng) < pl;
    }
    if (d->c.loss > 0 && cr_imp_uniform(&d->rng) < d->c.loss)
        l = 1;
    return l;
}

/* The token bucket and its FIFO: when the packet leaves the rate limiter, or -1 to drop it. */
static double rate_limit(cr_imp_dir_t *d, double now, uint32_t size)
{
    if (d->c.rate_bps == 0)
        return now;
    double rate = (double)d->c.rate_bps / 8e6; /* bytes per microsecond */
    if (d->bucket_us < 0) {
        d->bucket_us = now;
        d->tokens = d->c.burst_bytes;
    }
    double start = now > d->bucket_us ? now : d->bucket_us;
    double backlog = (d->bucket_us - now) * rate; /* bytes still queued ahead of this one */
    if (backlog > 0 && backlog + size > d->c.queue_bytes)
        return -1;
    double tokens = d->tokens + (start - d->bucket_us) * rate;
    if (tokens > d->c.burst_bytes)
        tokens = d->c.burst_bytes;
    double leave = start;
    if (tokens >= size) {
        tokens -= size;
    } else {
        leave = start + (size - tokens) / rate;
        tokens = 0;
    }
    d->tokens = tokens;
    d->bucket_us = leave;
    return leave;
}

enum cr_imp_verdict cr_imp_decide(cr_imp_dir_t *d, uint64_t now_us, uint32_t size, uint64_t *release_us)
{
    d->n.packets++;
    d->n.bytes += size;
    if (lost(d)) {
        d->n.drop_loss++;
        return CR_IMP_DROP_LOSS;
    }
    double t = rate_limit(d, (double)now_us, size);
    if (t < 0) {
        d->n.drop_queue++;
        return CR_IMP_DROP_QUEUE;
    }
    double jitter = 0;
    if (d->c.jitter_us > 0)
        jitter = (cr_imp_uniform(&d->rng) * 2.0 - 1.0) * d->c.jitter_us;
    t += d->c.delay_us + jitter;
    if (t < (double)now_us)
        t = (double)now_us;
    if (d->c.reorder > 0 && cr_imp_uniform(&d->rng) < d->c.reorder) {
        t = (t > d->last_release_us ? t : d->last_release_us) + d->c.reorder_gap_us;
        d->n.reordered++; /* held back; the order of the others is kept without it */
    } else {
        if (t < d->last_release_us)
            t = d->last_release_us;
        d->last_release_us = t;
    }
    *release_us = (uint64_t)t;
    d->n.passed++;
    d->n.passed_bytes += size;
    return CR_IMP_PASS;
}

/* ---- options ---- */

/* Parses a non-negative number (double) with optional ",x" continuation into out; *rest gets what
 * follows a comma (or NULL). Returns 0 or -1. */
static int num(const char *s, double lo, double hi, double *out, const char **rest)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno != 0 || v < lo || v > hi || (*end != '\0' && *end != ','))
        return -1;
    *out = v;
    if (rest != NULL)
        *rest = *end == ',' ? end + 1 : NULL;
    else if (*end != '\0')
        return -1;
    return 0;
}

static int apply(cr_imp_conf_t *c, const char *name, const char *value)
{
    double v, w;
    const char *rest;
    if (strcmp(name, "delay") == 0 || strcmp(name, "jitter") == 0) {
        if (num(value, 0, 60000, &v, NULL) != 0)
            return -2;
        *(name[0] == 'd' ? &c->delay_us : &c->jitter_us) = (uint32_t)(v * 1000.0);
    } else if (strcmp(name, "loss") == 0) {
        if (num(value, 0, 100, &v, NULL) != 0)
            return -2;
        c->loss = v / 100.0;
    } else if (strcmp(name, "ge") == 0) {
        if (num(value, 0, 100, &v, &rest) != 0 || rest == NULL || num(rest, 0, 100, &w, &rest) != 0)
            return -2;
        c->ge_p = v / 100.0;
        c->ge_r = w / 100.0;
        c->ge_loss_bad = 1.0;
        c->ge_loss_good = 0.0;
        if (rest != NULL) {
            if (num(rest, 0, 100, &v, &rest) != 0)
                return -2;
            c->ge_loss_bad = v / 100.0;
            if (rest != NULL) {
                if (num(rest, 0, 100, &v, NULL) != 0)
                    return -2;
                c->ge_loss_good = v / 100.0;
            }
        }
    } else if (strcmp(name, "reorder") == 0) {
        if (num(value, 0, 100, &v, &rest) != 0)
            return -2;
        c->reorder = v / 100.0;
        if (rest != NULL) {
            if (num(rest, 0, 60000, &w, NULL) != 0)
                return -2;
            c->reorder_gap_us = (uint32_t)(w * 1000.0);
        }
    } else if (strcmp(name, "rate") == 0) {
        if (num(value, 0, 100e6, &v, NULL) != 0)
            return -2;
        c->rate_bps = (uint64_t)(v * 1000.0);
    } else if (strcmp(name, "burst") == 0 || strcmp(name, "queue") == 0) {
        if (num(value, 64, 1 << 30, &v, NULL) != 0)
            return -2;
        *(name[0] == 'b' ? &c->burst_bytes : &c->queue_bytes) = (uint32_t)v;
    } else {
        return -1;
    }
    return 0;
}

int cr_imp_parse_option(cr_imp_conf_t *up, cr_imp_conf_t *down, const char *name, const char *value)
{
    if (value == NULL)
        return -2;
    if (strncmp(name, "up-", 3) == 0)
        return apply(up, name + 3, value);
    if (strncmp(name, "down-", 5) == 0)
        return apply(down, name + 5, value);
    int rc = apply(up, name, value);
    return rc != 0 ? rc : apply(down, name, value);
}
