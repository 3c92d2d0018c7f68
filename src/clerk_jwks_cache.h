/*
 * A per-process cache of one remote key set (a JWKS URL, the Backend API's
 * /v1/jwks or the Frontend API's /.well-known/jwks.json).
 *
 * Readers take an immutable, refcounted snapshot of parsed keys; only the
 * pointer swap and the refcount are guarded by a mutex, which no fetch ever
 * holds, so no request waits on the network.  All fetching is done by one
 * refresher thread per process (started after fork, on first use), woken when the key set
 * is due (TTL), after a failure (retry every refresh_min), or when a request
 * met an unknown kid (at most one such forced refresh per refresh_min).
 * A failed or unusable fetch never replaces good keys; they stay usable until
 * ttl + max_stale after they were fetched, after which callers answer 503.
 */
#ifndef CLERK_JWKS_CACHE_H
#define CLERK_JWKS_CACHE_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "clerk_http.h"
#include "clerk_key.h"

typedef struct clerk_jwks_source {
    const char *url;
    const apr_array_header_t *headers;  /* "Name: value"; may hold a secret: never logged */
    apr_interval_time_t ttl, refresh_min, max_stale;
    clerk_http_opts_t http;
} clerk_jwks_source_t;

typedef struct clerk_jwks_cache clerk_jwks_cache_t;
typedef struct clerk_jwks_snapshot clerk_jwks_snapshot_t;

/* Logging from the core without httpd: level is an APLOG_* number. */
typedef void clerk_log_fn(void *baton, int level, const char *msg);

typedef enum {
    CLERK_KEYS_READY,           /* a snapshot was returned */
    CLERK_KEYS_NEVER_LOADED,    /* no fetch has succeeded yet */
    CLERK_KEYS_TOO_STALE,       /* older than ttl + max_stale */
} clerk_keys_state_t;

/*
 * Fetch a key set once (what the cache does on every refresh, and what
 * clerk-jwt does).  The keys live in p.  On failure *err says why.
 */
apr_status_t clerk_keyset_fetch(apr_pool_t *p, clerk_http_t *http, const char *url,
                                const apr_array_header_t *headers, clerk_keyset_t **out,
                                const char **err);

/*
 * An identity for a source: equal for sources that may share one cache.  It
 * carries a hash of the request headers, never a secret they hold.
 */
const char *clerk_jwks_source_id(apr_pool_t *p, const clerk_jwks_source_t *src);

/*
 * A cache in p (the configuration pool, or a pool of its own, whose
 * destruction closes the cache); nothing is fetched yet.
 */
clerk_jwks_cache_t *clerk_jwks_cache_create(apr_pool_t *p, const clerk_jwks_source_t *src,
                                            clerk_log_fn *log, void *log_baton);

/*
 * Fetch synchronously now (the parent at start-up, so children begin warm).
 * Returns APR_SUCCESS when usable keys were installed.  Not while this
 * process's refresher runs: it reads the current snapshot without the lock.
 */
apr_status_t clerk_jwks_cache_fetch_now(clerk_jwks_cache_t *c, apr_pool_t *ptemp);

/*
 * In each process that serves requests, after fork: create the lock.  The
 * refresher thread ("clerk-jwks", asynchronous signals blocked) starts with
 * the first acquire (so a source no request uses never causes traffic) and
 * is stopped and joined when pchild is cleared; a fetch in progress is
 * abandoned within about a second.  Its HTTP handles are made here too,
 * never inherited across fork.
 */
apr_status_t clerk_jwks_cache_child_init(clerk_jwks_cache_t *c, apr_pool_t *pchild);

/*
 * The current keys (release them after use, from any thread), or why there
 * are none.  Neither takes the cache's mutex while the keys stay current:
 * readers count in their thread's stripe (src/clerk_thread_stripe.h).
 */
clerk_keys_state_t clerk_jwks_cache_acquire(clerk_jwks_cache_t *c, apr_time_t now,
                                            clerk_jwks_snapshot_t **snap);
const clerk_keyset_t *clerk_jwks_snapshot_keys(const clerk_jwks_snapshot_t *snap);
/* Increases with every new key set (not with an unchanged refetch). */
apr_uint64_t clerk_jwks_snapshot_generation(const clerk_jwks_snapshot_t *snap);
void clerk_jwks_cache_release(clerk_jwks_cache_t *c, clerk_jwks_snapshot_t *snap);

/*
 * A request met a kid the snapshot lacks: ask for a refresh unless one was
 * forced less than refresh_min ago.  Never waits.  Returns 1 if asked.
 */
int clerk_jwks_cache_kid_miss(clerk_jwks_cache_t *c, apr_time_t now);

/*
 * A number no other cache of this process has or will have: what a token
 * cache key names a source by, since a closed cache's address may be reused
 * by the next one (clerk_source_registry).
 */
apr_uint64_t clerk_jwks_cache_id(const clerk_jwks_cache_t *c);

/*
 * Be told of every fetch's end (ok: usable keys, new or unchanged), from the
 * thread that fetched, with the cache's lock held (fn must not call back
 * into the cache).  Before the first fetch.
 */
typedef void clerk_jwks_fetch_fn(void *baton, int ok, apr_time_t when);
void clerk_jwks_cache_on_fetch(clerk_jwks_cache_t *c, clerk_jwks_fetch_fn *fn, void *baton);

/*
 * What this process holds now: 1 with the time its keys were last
 * confirmed and their kids (const char *, NULL for a key without one, in p),
 * or 0 when no key set was ever loaded.
 */
int clerk_jwks_cache_info(clerk_jwks_cache_t *c, apr_pool_t *p, apr_time_t *fetched_at,
                          apr_array_header_t **kids);

/*
 * Share this source with the other processes and servers of a fleet through
 * a shared cache (clerk_shared_cache.h): a refresh first adopts a copy
 * another one fetched less than a ttl ago (validated as a fetched body), and
 * only one process of the fleet fetches at a time; what this one fetches it
 * stores for the others.  Forced refreshes (unknown kids) are limited to one
 * per refresh_min for the whole fleet.  Before the refresher starts (the
 * parent's start-up fetch may use a cache of its own); NULL to stop sharing.
 */
struct clerk_shared_cache;
void clerk_jwks_cache_share(clerk_jwks_cache_t *c, struct clerk_shared_cache *shared);

/* Fetches attempted by this process (for tests and the status log). */
apr_uint32_t clerk_jwks_cache_fetches(const clerk_jwks_cache_t *c);

#endif
