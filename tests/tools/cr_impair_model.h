/*
 * The impairment model of cr_impair (the test bed's stand-in for netem, which this kernel lacks):
 * what happens to one packet in one direction. Pure and deterministic: a seeded PRNG per direction,
 * time as a parameter, no I/O, so tests/unit/test_impair.c checks it exactly.
 *
 * Per packet, in order:
 *   1. loss: Bernoulli (loss) and/or Gilbert-Elliott bursty loss (two states, good and bad;
 *      p = P(good -> bad), r = P(bad -> good) per packet; loss probability in each state);
 *   2. rate limit: a token bucket (rate, burst) feeding a FIFO with a byte limit, like tc tbf: a
 *      packet that would find more than queue bytes waiting is dropped;
 *   3. delay: base delay plus uniform jitter in [-jitter, +jitter]; packets keep their order (as a
 *      link does) unless picked for reordering (probability reorder), which holds one back by an extra
 *      reorder_gap so later packets overtake it.
 */
#ifndef CR_IMPAIR_MODEL_H
#define CR_IMPAIR_MODEL_H

#include <stdint.h>

/** One direction's impairments. All zero = a perfect link. */
typedef struct cr_imp_conf {
    uint32_t delay_us, jitter_us;
    double loss;                   /* Bernoulli loss probability, 0..1 */
    double ge_p, ge_r;             /* Gilbert-Elliott transitions per packet; ge_p = 0 disables it */
    double ge_loss_bad, ge_loss_good;
    double reorder;                /* probability a packet is held back */
    uint32_t reorder_gap_us;
    uint64_t rate_bps;             /* 0 = unlimited */
    uint32_t burst_bytes;          /* token bucket depth */
    uint32_t queue_bytes;          /* FIFO limit behind the bucket */
} cr_imp_conf_t;

/** What became of packets in one direction. */
typedef struct cr_imp_counters {
    uint64_t packets, bytes;        /* offered */
    uint64_t passed, passed_bytes;
    uint64_t drop_loss, drop_queue; /* dropped by the loss model, by the rate limiter's queue */
    uint64_t reordered;
} cr_imp_counters_t;

/** One direction's state. */
typedef struct cr_imp_dir {
    cr_imp_conf_t c;
    uint64_t rng;
    int ge_bad;
    double tokens, bucket_us; /* the token bucket at time bucket_us */
    double last_release_us;
    cr_imp_counters_t n;
} cr_imp_dir_t;

enum cr_imp_verdict { CR_IMP_PASS = 0, CR_IMP_DROP_LOSS = 1, CR_IMP_DROP_QUEUE = 2 };

/** Fills c with a perfect link (burst 1514 bytes, queue 64 KiB, reorder gap 10 ms for when used). */
void cr_imp_conf_default(cr_imp_conf_t *c);

/** Initializes d with c (copied) and a PRNG seeded from seed and the direction's number. */
void cr_imp_dir_init(cr_imp_dir_t *d, const cr_imp_conf_t *c, uint64_t seed, unsigned dir);

/**
 * Decides the fate of one packet of size bytes arriving at now_us. On CR_IMP_PASS, *release_us is
 * when to send it on. Updates the counters.
 */
enum cr_imp_verdict cr_imp_decide(cr_imp_dir_t *d, uint64_t now_us, uint32_t size, uint64_t *release_us);

/** The PRNG (splitmix64): the next 64 bits, and a double in [0, 1). */
uint64_t cr_imp_next(uint64_t *state);
double cr_imp_uniform(uint64_t *state);

/**
 * Parses one impairment option into up and/or down (both caller's): name without the leading
 * "--", optionally prefixed "up-" or "down-" for one direction; value as documented in cr_impair's
 * usage (delay MS, jitter MS, loss PCT, ge P,R[,LOSS_BAD[,LOSS_GOOD]] in percent, reorder
 * PCT[,GAP_MS], rate KBIT, burst BYTES, queue BYTES). Returns 0, -1 for an unknown name (not an
 * impairment), -2 for a bad value.
 */
int cr_imp_parse_option(cr_imp_conf_t *up, cr_imp_conf_t *down, const char *name, const char *value);

#endif
