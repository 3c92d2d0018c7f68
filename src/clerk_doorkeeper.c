#include "clerk_doorkeeper.h"

#include "clerk_thread_stripe.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

/*
 * C11 atomics rather than apr_atomic_*: ThreadSanitizer sees them (APR is
 * not instrumented).  Relaxed order is enough: a lost or late bit only
 * changes whether one token is cached now or on its next request.
 */
/*
 * First sightings are counted per thread stripe and added to the total a
 * batch at a time, so that a flood of new tokens does not have every
 * thread increment one counter.
 */
typedef union {
    atomic_uint sightings;
    char pad[CLERK_CACHE_LINE];
} sighting_stripe;

struct clerk_doorkeeper {
    _Atomic uint32_t *words;
    uint32_t bit_mask;              /* bits - 1, bits a power of two */
    uint32_t words_n;
    unsigned window;                /* first sightings before clearing */
    unsigned batch;                 /* a stripe's sightings added to the total at once */
    sighting_stripe *stripes;
    atomic_uint sightings;          /* the batches added */
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
    /* what the stripes hold back stays under a quarter of the window */
    d->batch = d->window / (4 * CLERK_STRIPES);
    if (!d->batch)
        d->batch = 1;
    d->stripes = clerk_stripes_alloc(p, sizeof(sighting_stripe));
    for (unsigned i = 0; i < CLERK_STRIPES; i++)
        atomic_init(&d->stripes[i].sightings, 0);
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

/* A first sighting counted; whether the window is now full. */
static int window_full(clerk_doorkeeper_t *d)
{
    atomic_uint *mine = &d->stripes[clerk_thread_stripe()].sightings;

    if (atomic_fetch_add_explicit(mine, 1, memory_order_relaxed) + 1 < d->batch)
        return 0;
    atomic_store_explicit(mine, 0, memory_order_relaxed);
    return atomic_fetch_add_explicit(&d->sightings, d->batch, memory_order_relaxed) + d->batch
           >= d->window;
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
    if (window_full(d)) {
        atomic_store_explicit(&d->sightings, 0, memory_order_relaxed);
        for (uint32_t i = 0; i < d->words_n; i++)
            atomic_store_explicit(&d->words[i], 0, memory_order_relaxed);
    }
    return 0;
}
