/*
 * Monotonic and wall clocks. Modules that make timing decisions take `now` as a parameter (as h2o's
 * scheduler does) so they can be unit-tested with a fake time; only the event loops call these.
 */
#ifndef CR_CLOCK_H
#define CR_CLOCK_H

#include <stdint.h>

/** Monotonic time in microseconds. */
uint64_t cr_now_us(void);

/** Wall-clock time as a 64-bit NTP timestamp (RFC 3550 section 4: seconds since 1900 in 32.32). */
uint64_t cr_ntp_now(void);

/** Fills buf with len cryptographically random bytes (OpenSSL RAND_bytes). Returns 0 or CR_ECRYPTO. */
int cr_random_bytes(void *buf, int len);

/**
 * Fills out with len random characters from the ICE alphabet [A-Za-z0-9+/] and a terminating NUL;
 * out must hold len + 1 bytes. Returns 0 or CR_ECRYPTO.
 */
int cr_random_token(char *out, int len);

#endif
