#include "clerk_jitter.h"

#include <openssl/rand.h>

apr_interval_time_t clerk_jitter(apr_interval_time_t span)
{
    unsigned char r[2];

    if (span <= 0 || RAND_bytes(r, sizeof(r)) != 1)
        return 0;
    return span * ((r[0] << 8) | r[1]) / 65536;
}
