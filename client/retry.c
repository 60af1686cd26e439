#include "retry.h"

unsigned cr_retry_backoff_ms(unsigned retry)
{
    if (retry == 0)
        return 0;
    if (retry > 4) /* 1000 << 4 already passes the cap; also avoids shifting past 31 */
        return CR_RETRY_MAX_MS;
    unsigned ms = 1000u << (retry - 1);
    return ms < CR_RETRY_MAX_MS ? ms : CR_RETRY_MAX_MS;
}
