/*
 * The key sources of one process: one JWKS cache (and so one refresher
 * thread) per distinct source, bounded.
 *
 * Sources named in the server configuration are pinned: they are known at
 * start-up, fetched by the parent, and live as long as the configuration.
 * Sources named in .htaccess files appear at request time, written by
 * tenants who can invent as many as they like; they are admitted up to the
 * registry's bound, and beyond it the least recently used one that no
 * request holds is closed (its refresher stopped and joined) to make room.
 * When every admitted source is in use, the new one is refused and the
 * caller answers 503: memory and threads stay bounded whatever tenants write.
 */
#ifndef CLERK_SOURCE_REGISTRY_H
#define CLERK_SOURCE_REGISTRY_H

#include <apr_pools.h>

#include "clerk_jwks_cache.h"

typedef struct clerk_source_registry clerk_source_registry_t;

/* A registry in p (the configuration pool) admitting at most max sources. */
clerk_source_registry_t *clerk_source_registry_create(apr_pool_t *p, unsigned max,
                                                      clerk_log_fn *log, void *log_baton);

/*
 * While reading the configuration (one thread): the pinned cache for src,
 * shared by every slot naming the same source.  Pinned sources count
 * towards the bound and are never closed.
 */
clerk_jwks_cache_t *clerk_source_registry_pin(clerk_source_registry_t *reg,
                                              const clerk_jwks_source_t *src,
                                              apr_pool_t *ptemp);

/*
 * In each serving process, after fork: the lock, and child_init of every
 * pinned cache.  Sources admitted later live until pchild is cleared (or
 * until they are closed to make room).
 */
apr_status_t clerk_source_registry_child_init(clerk_source_registry_t *reg,
                                              apr_pool_t *pchild);

/*
 * At request time (any thread, after child_init): the cache for src, held
 * until clerk_source_registry_release.  NULL when the source cannot be
 * admitted (every admitted source is held) or the process is not set up.
 */
clerk_jwks_cache_t *clerk_source_registry_hold(clerk_source_registry_t *reg,
                                               const clerk_jwks_source_t *src,
                                               apr_pool_t *ptemp);
void clerk_source_registry_release(clerk_source_registry_t *reg, clerk_jwks_cache_t *cache);

/* How many sources this process has admitted, pinned ones included. */
unsigned clerk_source_registry_count(clerk_source_registry_t *reg);

/*
 * The fetch observer (clerk_jwks_cache_on_fetch) of every source admitted
 * at request time from now on; pinned caches get theirs from the caller.
 * Before child_init.
 */
void clerk_source_registry_on_fetch(clerk_source_registry_t *reg, clerk_jwks_fetch_fn *fn,
                                    void *baton);

/*
 * Share every source, pinned and admitted from now on, through a shared
 * cache (clerk_jwks_cache_share), or stop sharing (NULL): in each serving
 * process before child_init.
 */
void clerk_source_registry_share(clerk_source_registry_t *reg, struct clerk_shared_cache *shared);

/* Sources closed to make room so far (for the log and the tests). */
unsigned clerk_source_registry_closed(clerk_source_registry_t *reg);

#endif
