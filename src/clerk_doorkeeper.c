#include "clerk_doorkeeper.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

/*
 * C11 atomics rather than apr_atomic_*: ThreadSanitizer sees them (APR is
 * not instrumented).  Relaxed order is enough: a lost or late bit only
 * changes whether one token is cached now or on its next request.
 */
struct clerk_doorkeeper {
    _Atomic uint32_t *words;
    uint32_t bit_mask;              /* bits - 1, bits a power of two */
    uint32_t words_n;
    unsigned window;                /* first sightings before clearing */
    atomic_uint sightings;
};

clerk_doorkeeper_t *clerk_doorkeeper_create(apr_pool_t *p, unsigned window)
{
    clerk_doorkeeper_t *d = apr_pcalloc(p, sizeof(*d));
    uint32_t bits = 1024;

    /* 8 bits per remembered key: at most 2 of every 8 set before a clearing */
    while (bits < 8ull * window && bits < (1u << 31))
        bits <<= 1;
    d->bit_mask = bits - 1;
    d->words_n = bits / 32;
    d->words = apr_palloc(p, d->words_n * sizeof(*d->words));
    for (uint32_t i = 0; i < d->words_n; i++)
        atomic_init(&d->words[i], 0);
    d->window = window ? window : 1;
    atomic_init(&d->sightings, 0);
    return d;
}

/* Set bit h; whether it was set before. */
static int test_and_set(clerk_doorkeeper_t *d, uint32_t h)
{
    uint32_t bit = 1u << (h & 31);
    return (atomic_fetch_or_explicit(&d->words[(h & d->bit_mask) >> 5], bit,
                                     memory_order_relaxed) & bit) != 0;
}

int clerk_doorkeeper_admit(clerk_doorkeeper_t *d, const unsigned char *key)
{
    uint32_t h1, h2;
    int seen;

    /* bytes the token cache does not use to pick a shard or a slot */
    memcpy(&h1, key + 16, sizeof(h1));
    memcpy(&h2, key + 20, sizeof(h2));
    seen = test_and_set(d, h1);
    seen &= test_and_set(d, h2);
    if (seen)
        return 1;
    if (atomic_fetch_add_explicit(&d->sightings, 1, memory_order_relaxed) + 1 >= d->window) {
        atomic_store_explicit(&d->sightings, 0, memory_order_relaxed);
        for (uint32_t i = 0; i < d->words_n; i++)
            atomic_store_explicit(&d->words[i], 0, memory_order_relaxed);
    }
    return 0;
}
