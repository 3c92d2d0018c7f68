/*
 * 64-bit numbers as 8 big-endian bytes: how the shared cache's values carry
 * times (a sealed value's expiry, a stored key set's fetch time, the fleet
 * budget's TAT), the same on every server of a fleet whatever its byte order.
 */
#ifndef CLERK_BE64_H
#define CLERK_BE64_H

#include <apr.h>

#define CLERK_BE64_LEN 8

static inline void clerk_be64_put(unsigned char out[CLERK_BE64_LEN], apr_uint64_t v)
{
    for (int i = 0; i < CLERK_BE64_LEN; i++)
        out[i] = (unsigned char)(v >> (8 * (CLERK_BE64_LEN - 1 - i)));
}

static inline apr_uint64_t clerk_be64_get(const unsigned char in[CLERK_BE64_LEN])
{
    apr_uint64_t v = 0;

    for (int i = 0; i < CLERK_BE64_LEN; i++)
        v = (v << 8) | in[i];
    return v;
}

#endif
