/*
 * Bandwidth estimation for one classroom link, in the spirit of Google Congestion Control
 * (draft-ietf-rmcat-gcc-02, and libwebrtc's send-side estimator), plus the per-school
 * shared-bottleneck detector.
 *
 * Inputs are what the relay parses from its subscribers' RTCP:
 *   - transport-wide feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01): for each packet
 *     the relay sent, when it was sent (the relay's clock) and when it arrived (the receiver's clock,
 *     any offset) or that it was lost -> delay-based estimate (trendline of the one-way delay
 *     gradient), acknowledged rate, loss, and the result of probe clusters;
 *   - receiver reports (RFC 3550 section 6.4.1): fraction lost and the round-trip time -> loss-based
 *     estimate (decrease multiplicatively above 10 % loss, increase slowly below 2 %);
 *   - REMB (draft-alvestrand-rmcat-remb-03): the receiver's own estimate, a ceiling while fresh.
 * and the link's configured capacity, another ceiling. The estimate is the smallest of them.
 *
 * Everything is a plain struct updated in place; nothing allocates; times are parameters.
 */
#ifndef CR_ESTIMATE_H
#define CR_ESTIMATE_H

#include <stddef.h>
#include <stdint.h>

/** Size of the trendline's regression window (delay samples, one per 5 ms send group). */
#define CR_EST_TREND_WINDOW 20
/** Acknowledged-rate window: this many buckets of CR_EST_ACK_BUCKET_US arrival time. */
#define CR_EST_ACK_BUCKETS 32
#define CR_EST_ACK_BUCKET_US 10000

/** Tunables; cr_est_params_default() fills the values given in brackets. */
typedef struct cr_est_params {
    uint64_t min_bps;            /** never estimate below this [150 kbps] */
    uint64_t start_bps;          /** estimate before any feedback, capped by capacity [5 Mbps] */
    double loss_high;            /** loss fraction above which to decrease [0.10] */
    double loss_low;             /** loss fraction below which to increase [0.02] */
    double beta;                 /** on delay overuse while the link delivers less than sent:
                                     estimate = beta x acknowledged rate [0.85] */
    double beta_mild;            /** on delay overuse while the link delivers all that was sent
                                     (a burst queued, the sender is application-limited):
                                     estimate = beta_mild x estimate [0.95] */
    double mult_inc_per_s;       /** multiplicative increase per second, far from capacity [0.08] */
    double near_inc_per_s;       /** additive increase per second near the last congestion
                                     point, as a fraction of that point [0.04] */
    uint64_t remb_ttl_us;        /** a REMB caps the estimate this long [5 s] */
    uint64_t probe_interval_us;  /** clean time before (and between) periodic probes [2 s] */
    uint64_t probe_duration_us;  /** length of one probe cluster [15 ms] */
    uint64_t congested_ttl_us;   /** "degraded" this long after a congestion signal [1 s] */
    uint64_t queue_max_us;       /** a standing queue above this (one-way delay over its
                                     minimum, for 50 ms) counts as overuse [15 ms] */
    double report_inc_per_s;     /** cr_est_on_report: increase per second away from the last
                                     congestion point [0.25] */
    uint64_t lce_ttl_us;         /** delay-based: the last congestion point is forgotten after this
                                     long without a decrease, 0 = kept until passed [0] */
    double acked_headroom;       /** the delay-based estimate stays under this x the delivered
                                     rate (an application-limited sender proves no more) [1.5] */
} cr_est_params_t;

/** The delay detector's verdict on the latest send group. */
enum cr_est_usage { CR_EST_NORMAL = 0, CR_EST_OVERUSE = 1, CR_EST_UNDERUSE = 2 };

/** One packet of transport-wide feedback, in the order the relay sent them. */
typedef struct cr_est_pkt {
    uint64_t send_us;    /** when the relay's pacer released it (relay clock) */
    uint64_t arrival_us; /** when it arrived (receiver clock, any offset); ignored if lost */
    uint32_t size;       /** bytes on the wire */
    uint16_t probe_id;   /** the probe cluster it belonged to, 0 for none */
    uint8_t lost;        /** 1 if the feedback reports it missing */
    uint8_t rate_only;   /** 1: counts in the sent and acknowledged rates and the loss only, not
                             in the delay gradient, standing queue or probes. For a link shared by
                             several receivers: their clocks differ, and the gradient must see
                             one receiver's arrivals (the others' arrival_us must then be in a
                             common clock for the acknowledged rate, e.g. the relay's) */
} cr_est_pkt_t;

/** Estimator state for one link. Embedded (no pointers to free); cr_est_init sets every field. */
typedef struct cr_est {
    cr_est_params_t p;
    uint64_t capacity_bps; /* configured ceiling */
    double delay_bps, loss_bps;
    uint64_t remb_bps, remb_us;
    uint32_t rtt_us;
    /* acknowledged rate: bytes received per 10 ms bucket of arrival time */
    uint64_t ack_bucket_id[CR_EST_ACK_BUCKETS];
    uint64_t ack_bytes[CR_EST_ACK_BUCKETS];
    uint64_t ack_newest, ack_first;
    double acked_bps;
    /* sent rate of the same packets: bytes per 10 ms bucket of send time */
    uint64_t sent_bucket_id[CR_EST_ACK_BUCKETS];
    uint64_t sent_bytes[CR_EST_ACK_BUCKETS];
    uint64_t sent_newest, sent_first;
    double sent_bps;
    /* send-time groups (5 ms bursts) for the delay gradient */
    uint64_t grp_first_send, grp_last_send, grp_last_arr, prev_last_send, prev_last_arr;
    uint8_t grp_open, have_prev;
    /* trendline (linear regression of smoothed accumulated delay over arrival time) */
    double acc_delay_ms, smooth_delay_ms, first_arr_ms;
    double trend_x[CR_EST_TREND_WINDOW], trend_y[CR_EST_TREND_WINDOW];
    unsigned trend_n, trend_pos, num_deltas;
    double prev_trend, threshold_ms, overuse_ms, last_thresh_ms;
    unsigned overuse_count;
    enum cr_est_usage usage;
    /* AIMD state for the delay-based rate */
    int hold;                     /* 1 after overuse/underuse until the next normal verdict */
    double lce_bps, lce_var;      /* link capacity estimate: acked rate at congestion, and variance */
    uint64_t last_inc_us, last_dec_us;
    /* loss */
    uint32_t loss_sent, loss_lost;
    uint64_t loss_period_start_us, last_loss_dec_us;
    double last_loss;
    /* probing */
    uint16_t probe_id, probe_next_id;
    uint64_t probe_rate_bps, probe_started_us, probe_after_us;
    uint32_t pr_count, pr_lost;
    uint64_t pr_bytes, pr_first_send, pr_last_send, pr_first_arr, pr_last_arr;
    uint32_t pr_first_size, pr_last_size;
    int probe_fast; /* the last probe was fully delivered: the next may follow at once */
    /* congestion signal for the school's shared-bottleneck detector */
    uint64_t congested_us;
    uint64_t packets_in;
    double last_probe_result_bps;
    /* standing queue: one-way delay over its windowed minimum */
    int64_t owd_cur_min, owd_prev_min;
    uint64_t owd_block_start, queue_us, queue_since_us;
    int owd_valid;
    /* loss reports (cr_est_on_report) */
    double clean_sent_bps; /* the rate sent in the last report with loss below loss_low */
    uint8_t report_lossy;  /* the last report's loss was at least loss_low */
    /* shared bottleneck: the school backs off instead of this link */
    double pre_dec_bps;
    uint64_t shared_until_us;
    /* several receivers per link: arrivals and sends before these are reported by all of them */
    uint64_t ack_horizon_us, sent_horizon_us;
} cr_est_t;

/** Fills p with the defaults given in cr_est_params_t's comments. */
void cr_est_params_default(cr_est_params_t *p);

/**
 * Initializes e for a link with configured capacity capacity_bps (> 0). p (copied; NULL = the
 * defaults) is the tuning.
 */
void cr_est_init(cr_est_t *e, const cr_est_params_t *p, uint64_t capacity_bps, uint64_t now_us);

/**
 * For a link with several receivers, each sending its own feedback: every receiver has reported
 * its arrivals up to arrival_us and the packets sent up to send_us (the smallest over the receivers,
 * arrivals in the clock the caller feeds). The acknowledged and sent rates then leave out the newer
 * buckets, which the receivers that have not reported yet would still fill (0, 0: no horizon).
 */
void cr_est_set_horizon(cr_est_t *e, uint64_t arrival_us, uint64_t send_us);

/** Changes the configured capacity (a ceiling) without losing the estimator's state. */
void cr_est_set_capacity(cr_est_t *e, uint64_t capacity_bps);

/**
 * Feeds transport-wide feedback: n packets (array owned by the caller, read only), in the order the
 * relay sent them. Runs the loss, acknowledged-rate, delay-gradient and probe estimators.
 */
void cr_est_on_packets(cr_est_t *e, const cr_est_pkt_t *pkts, size_t n, uint64_t now_us);

/**
 * Feeds a receiver report block (RFC 3550 section 6.4.1): fraction_lost is the 8-bit fixed-point
 * fraction, rtt_us the round-trip time the relay computed from LSR/DLSR (0 = unknown). Use this
 * loss input only for links without transport-wide feedback, or both would count each loss.
 */
void cr_est_on_rr(cr_est_t *e, uint8_t fraction_lost, uint32_t rtt_us, uint64_t now_us);

/**
 * Feeds a loss report for a link without transport-wide feedback: over the last window the relay
 * sent n_packets at sent_bps toward the link and a fraction loss (0..1) of them was lost (from the
 * receivers' NACKs or receiver reports); rtt_us as for cr_est_on_rr. It drives the rate-based part of
 * the estimate (the one transport-wide feedback drives otherwise, so the school's shared-bottleneck
 * detector and cr_est_school_congested work the same), and the acknowledged and sent rates:
 *   - loss above loss_high: congestion. At most once per 300 ms + RTT, the estimate falls to the
 *     smaller of estimate x (1 - loss / 2) and beta x what the link delivered, sent x (1 - loss), so
 *     a capacity drop is followed within one report. None while the school link is the
 *     bottleneck (cr_est_school_congested).
 *   - loss below loss_low: it rises by mult_inc_per_s per second near the rate that last congested
 *     (for 3 s after that congestion) and by report_inc_per_s otherwise, up to the capacity.
 *   - in between: it holds, unless this is the second such report in a row and more is sent than
 *     in the last clean report (the loss came with the rate: a small overshoot, which without delay
 *     feedback would otherwise persist); then it falls to beta_mild x delivered. Loss at a rate
 *     that was clean before (a lossy radio link) does not lower it.
 * Start such links at their capacity (start_bps = 0): without delay feedback only loss can find a
 * lower one. Do not feed the same losses through cr_est_on_rr as well.
 */
void cr_est_on_report(cr_est_t *e, double loss, uint32_t rtt_us, uint64_t sent_bps, uint32_t n_packets,
                      uint64_t now_us);

/**
 * Tells the estimator that its congestion was the school link's (cr_topo_refresh calls this when
 * the school's detector fires): the delay-based estimate returns to where it was before this
 * episode's first decrease and makes no delay-based decrease until until_us (it still reports
 * congestion, so the detector keeps seeing it). Loss-based decreases still apply.
 */
void cr_est_school_congested(cr_est_t *e, uint64_t until_us);

/** Feeds a REMB bitrate: a ceiling on the estimate for remb_ttl_us. */
void cr_est_on_remb(cr_est_t *e, uint64_t bps, uint64_t now_us);

/** The current estimate: min(delay-based, loss-based, fresh REMB, capacity), at least min_bps. */
uint64_t cr_est_value(const cr_est_t *e, uint64_t now_us);

/** The acknowledged (delivered) rate over the last ~150 ms of arrivals, 0 if unknown. */
uint64_t cr_est_acked(const cr_est_t *e);

/** 1 if the link showed congestion (delay overuse or loss above loss_high) within congested_ttl. */
int cr_est_degraded(const cr_est_t *e, uint64_t now_us);

/**
 * Asks whether to probe now. Returns 0, or the rate (bps) at which the caller should send one cluster
 * of padding (or retransmissions) for probe_duration_us, at least 5 packets, each reported later in
 * feedback with probe_id = *cluster_id. Startup probes exponentially (3x, then 2x while fully
 * delivered); afterwards a probe follows probe_interval_us of clean link while below capacity.
 */
uint64_t cr_est_probe_want(cr_est_t *e, uint64_t now_us, uint16_t *cluster_id);

/** Shared-bottleneck detector of one school. */
typedef struct cr_school_est {
    double est_bps;
    uint64_t capacity_bps;
    double lce_bps;       /* carried rate at the last shared congestion */
    uint64_t last_us, last_drop_us, clean_since_us;
    int dropped; /* the last update detected shared congestion and lowered the estimate */
} cr_school_est_t;

/** Initializes s for a school link of configured capacity capacity_bps. */
void cr_school_est_init(cr_school_est_t *s, uint64_t capacity_bps, uint64_t now_us);

/**
 * Updates the school's estimate from its classrooms: n_active classrooms carry traffic, n_degraded
 * of them showed congestion recently, and together they were sent sent_bps and delivered
 * carried_bps (sums of their estimators' sent and acknowledged rates). When at least two
 * classrooms and at least half of the active ones degrade together, the bottleneck is the shared
 * school link: the estimate drops to 0.85 x carried_bps when the link delivered under 90 % of what
 * it was sent, else (bursts queued) by 10 %, at most once per 500 ms. While no classroom degrades
 * it climbs back: 10 %/s of the rate that congested up to 95 % of it, 2 %/s up to 110 %, then
 * 25 %/s (the capacity grew), up to the capacity. Returns the estimate (bps).
 */
uint64_t cr_school_est_update(cr_school_est_t *s, unsigned n_active, unsigned n_degraded, uint64_t carried_bps,
                              uint64_t sent_bps, uint64_t now_us);

/** The sent rate of the packets feedback reported over the last ~150 ms, 0 if unknown. */
uint64_t cr_est_sent(const cr_est_t *e);

#endif
