#include "cr_clock.h"
#include "cr_err.h"

#include <openssl/rand.h>
#include <time.h>

uint64_t cr_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t cr_ntp_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t sec = (uint64_t)ts.tv_sec + 2208988800u; /* 1900 -> 1970 */
    uint64_t frac = ((uint64_t)ts.tv_nsec << 32) / 1000000000u;
    return (sec << 32) | frac;
}

int cr_random_bytes(void *buf, int len)
{
    return RAND_bytes(buf, len) == 1 ? 0 : CR_ECRYPTO;
}

int cr_random_token(char *out, int len)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned char raw[256];
    if (len < 0 || len > (int)sizeof(raw))
        return CR_EINVAL;
    if (cr_random_bytes(raw, len) != 0)
        return CR_ECRYPTO;
    for (int i = 0; i < len; i++)
        out[i] = alphabet[raw[i] & 63];
    out[len] = '\0';
    return 0;
}
