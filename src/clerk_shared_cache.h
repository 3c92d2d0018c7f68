/*
 * The shared cache (ClerkCache): what the processes and servers of a fleet
 * tell each other — key set bodies, Backend API verdicts on opaque tokens,
 * the Backend API budget, the M2M tokens Apache calls with — through an
 * Apache socache provider.  Values are sealed (clerk_seal.h) under names
 * that reveal nothing, and carried by the process's courier
 * (clerk_cache_courier.h), so a request waits on the store at most the
 * cache's timeout.  A value that does not open is ignored, counted and
 * logged (at most once per interval), and is then no different from one that
 * is absent: the shared cache can make the module do more work, never accept
 * anything it would not have accepted without it.
 */
#ifndef CLERK_SHARED_CACHE_H
#define CLERK_SHARED_CACHE_H

#include <apr_pools.h>
#include <apr_time.h>

#include "clerk_cache_courier.h"
#include "clerk_jwks_cache.h"
#include "clerk_seal.h"

typedef struct clerk_shared_cache clerk_shared_cache_t;

/*
 * A shared cache in p over keys and courier; a lookup waits at most timeout
 * unless its caller says otherwise.  log (may be NULL) is told, at most once
 * per ten seconds, of values that did not open.
 */
clerk_shared_cache_t *clerk_shared_cache_create(apr_pool_t *p, const clerk_seal_keys_t *keys,
                                                clerk_courier_t *courier,
                                                apr_interval_time_t timeout,
                                                clerk_log_fn *log, void *log_baton);

/*
 * The value of purpose stored under the logical name (name_len bytes):
 * APR_SUCCESS with *value (in p, NUL after its *len bytes) and *expiry (may
 * be NULL); APR_NOTFOUND when there is none that opens and is unexpired at
 * now; another error when the cache did not answer (down, resting, late).
 * wait: how long to wait for the store, 0 for the cache's timeout (requests);
 * background threads may wait longer.
 */
apr_status_t clerk_shared_cache_get(clerk_shared_cache_t *sc, clerk_seal_purpose_t purpose,
                                    const void *name, apr_size_t name_len, apr_time_t now,
                                    apr_interval_time_t wait, apr_pool_t *p,
                                    unsigned char **value, apr_size_t *len, apr_time_t *expiry);

/* Store value under name until expiry (absolute); queued, never waits. */
apr_status_t clerk_shared_cache_put(clerk_shared_cache_t *sc, clerk_seal_purpose_t purpose,
                                    const void *name, apr_size_t name_len, apr_time_t expiry,
                                    const void *value, apr_size_t len, apr_pool_t *p);

/*
 * A lease: whether this process may do, for the whole fleet, the work named
 * by name (fetch a key set, create an M2M token) for the next hold.  It
 * reads the lease, and when nobody else holds one writes its own and reads
 * it back: 1 when this process holds it, 0 when another one does, -1 when the
 * cache did not answer (then the caller acts on its own, as without a cache).
 * It waits some 20 ms before reading back, so that of two processes
 * claiming at once the last writer wins: both win only when one writes more
 * than that after the other's first read, and a duplicate fetch or creation
 * is then the whole cost.  For background threads: a request never claims.
 */
int clerk_shared_cache_claim(clerk_shared_cache_t *sc, const void *name, apr_size_t name_len,
                             apr_time_t now, apr_interval_time_t hold,
                             apr_interval_time_t wait, apr_pool_t *p);

/*
 * Give a lease back once its work is done (its result stored), so that the
 * next one need not wait for it to run out: what is stored in its place has
 * expired already, and so reads as no lease.
 */
void clerk_shared_cache_release(clerk_shared_cache_t *sc, const void *name, apr_size_t name_len,
                                apr_pool_t *p);

/* Values read that did not open, in this process. */
apr_uint64_t clerk_shared_cache_rejected(const clerk_shared_cache_t *sc);

#endif
