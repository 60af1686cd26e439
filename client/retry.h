/* Reconnect schedule. Pure C. */
#ifndef CR_CLIENT_RETRY_H
#define CR_CLIENT_RETRY_H

/** Longest wait between two attempts, in milliseconds. */
#define CR_RETRY_MAX_MS 10000u

/**
 * Delay before retry number `retry` (1 = first retry after a failure): 1 s, 2 s, 4 s, 8 s,
 * then 10 s forever. retry 0 means "first attempt" and returns 0.
 */
unsigned cr_retry_backoff_ms(unsigned retry);

#endif
