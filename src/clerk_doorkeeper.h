/*
 * Admission to the token cache: a token is cached the second time it is
 * verified, not the first (the "doorkeeper" of TinyLFU).  Browsers and
 * services send the same token with every request for its whole lifetime,
 * so a reused token pays one extra verification; a token seen once — a
 * flood of distinct tokens, or a client that never comes back — costs no
 * insert (a malloc'd entry and, once the cache is full, an eviction) and
 * pushes no reused token out of the cache.
 *
 * A Bloom filter of two bits per token key, shared by the threads of a
 * process through atomic operations (no lock).  It forgets: after as many
 * first sightings as the cache has entries, it is cleared, so its false
 * positive rate stays below about 6% and a key admitted by mistake merely
 * costs one insert.  First sightings are counted per thread stripe and
 * reach the total in batches of window / 64 (src/clerk_thread_stripe.h), so
 * the clearing may come up to a quarter of a window late under many threads;
 * one thread alone clears after `window` rounded up to a whole batch.
 */
#ifndef CLERK_DOORKEEPER_H
#define CLERK_DOORKEEPER_H

#include <apr_pools.h>

typedef struct clerk_doorkeeper clerk_doorkeeper_t;

/* A doorkeeper remembering about `window` keys, allocated in p. */
clerk_doorkeeper_t *clerk_doorkeeper_create(apr_pool_t *p, unsigned window);

/*
 * 1 when key (32 uniformly random bytes, such as a SHA-256) has been seen
 * since the last clearing, or a false positive; otherwise it is recorded
 * and the answer is 0.
 */
int clerk_doorkeeper_admit(clerk_doorkeeper_t *d, const unsigned char *key);

#endif
