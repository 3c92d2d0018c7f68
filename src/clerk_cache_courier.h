/*
 * The one thread of a process that talks to the shared cache's store (an
 * Apache socache provider: shmcb, redis, memcache), so that no request
 * waits on that store longer than a bound of its own choosing.  The store's
 * calls block — a Redis that is down or slow holds its caller for as long as
 * its provider's own timeout, seconds — so requests never make them: they
 * hand the courier a lookup and wait for its answer at most `timeout`, then
 * go on without it (the late answer is dropped); stores are queued and
 * never waited for.
 *
 * A store that fails or answers late is rested: for a while (one second,
 * doubling up to CLERK_COURIER_MAX_REST) every lookup and store is refused
 * at once, without queueing, so a cache that is down costs requests nothing;
 * the first call after the rest tries again, and one success brings the
 * rest back to one second (not the success of the late call that began the
 * rest).  The queue is bounded; what does not fit is refused (lookups) or
 * dropped (stores) and counted.
 *
 * The store's calls are made from the courier's thread only, one at a time:
 * a provider that is not thread-safe needs no lock within the process (one
 * across processes is the store's own business).
 */
#ifndef CLERK_CACHE_COURIER_H
#define CLERK_CACHE_COURIER_H

#include <apr_pools.h>
#include <apr_time.h>

/* The longest rest: a store that is back is used again within ten seconds. */
#define CLERK_COURIER_MAX_REST apr_time_from_sec(10)

/*
 * The blocking store, called from the courier's thread: scratch is a pool
 * the courier clears after each call.
 *   get:  APR_SUCCESS with the value in buf (*len: in, the capacity; out,
 *         the length), APR_NOTFOUND, or another error (the store failed).
 *         A value longer than the capacity (APR_ENOSPC, socache's answer,
 *         or APR_SUCCESS with *len beyond it) is taken for a miss: the store
 *         works, and the value is none that a courier of this size stored;
 *   put:  keep value under key until expiry (absolute).
 */
typedef struct {
    apr_status_t (*get)(void *baton, const char *key, unsigned char *buf, apr_size_t *len,
                        apr_pool_t *scratch);
    apr_status_t (*put)(void *baton, const char *key, apr_time_t expiry,
                        const unsigned char *value, apr_size_t len, apr_pool_t *scratch);
    void *baton;
} clerk_store_t;

typedef struct clerk_courier clerk_courier_t;

/*
 * A courier for store, in a serving process after fork (child_init, in
 * pchild): its thread starts now and is stopped and joined when pchild is
 * cleared (after the store call in progress, if any, returns).  At most
 * queue_len calls wait for it; values are at most max_value bytes.
 */
apr_status_t clerk_courier_create(clerk_courier_t **out, apr_pool_t *pchild,
                                  const clerk_store_t *store, unsigned queue_len,
                                  apr_size_t max_value);

/*
 * Look key up, waiting at most timeout: APR_SUCCESS with *value (in p) and
 * *len, APR_NOTFOUND, APR_TIMEUP (no answer in time), APR_EAGAIN (the store
 * is resting or the queue is full), or the store's error.  Any thread.
 */
apr_status_t clerk_courier_get(clerk_courier_t *c, const char *key, apr_interval_time_t timeout,
                               apr_pool_t *p, unsigned char **value, apr_size_t *len);

/*
 * Queue keeping value (copied) under key until expiry; never waits.
 * APR_SUCCESS when queued, APR_EAGAIN when resting or full (dropped), APR_EINVAL
 * for a value longer than max_value.  Any thread.
 */
apr_status_t clerk_courier_put(clerk_courier_t *c, const char *key, apr_time_t expiry,
                               const unsigned char *value, apr_size_t len);

/*
 * Wait at most timeout until every call queued so far has been made (the
 * parent's start-up stores, before its courier goes with ptemp): APR_SUCCESS,
 * or APR_TIMEUP.
 */
apr_status_t clerk_courier_drain(clerk_courier_t *c, apr_interval_time_t timeout);

/* What the courier has done in this process (server-status, tests). */
typedef struct {
    apr_uint64_t gets, hits, misses;    /* lookups asked, found, not found */
    apr_uint64_t puts;                  /* stores made */
    apr_uint64_t late;                  /* lookups given up on (timeout) */
    apr_uint64_t refused;               /* calls refused (resting, queue full) or dropped
                                           from the queue as a rest began */
    apr_uint64_t failures;              /* store calls that failed */
    int resting;                        /* 1 while the store is rested */
} clerk_courier_stats_t;

void clerk_courier_stats(clerk_courier_t *c, clerk_courier_stats_t *out);

/* The rest that follows one of length rest: twice as long, at most CLERK_COURIER_MAX_REST. */
apr_interval_time_t clerk_courier_longer_rest(apr_interval_time_t rest);

#endif
