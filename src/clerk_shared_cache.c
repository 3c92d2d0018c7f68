#include "clerk_shared_cache.h"

#include "clerk_log_gate.h"

#include <apr_atomic.h>
#include <apr_strings.h>
#include <openssl/rand.h>
#include <string.h>

/* APLOG levels, without including httpd headers. */
#define LOG_ERR 3

/* At most one report of values that did not open per this many seconds. */
#define REJECT_LOG_INTERVAL 10

/* How long a claim waits before it reads its lease back (background threads only). */
#define LEASE_SETTLE apr_time_from_msec(20)

/* A lease holder's mark: random, so that two processes never write the same. */
#define LEASE_MARK_LEN 16

struct clerk_shared_cache {
    const clerk_seal_keys_t *keys;
    clerk_courier_t *courier;
    apr_interval_time_t timeout;
    clerk_log_fn *log;
    void *log_baton;
    volatile apr_uint64_t rejected;
    volatile apr_uint32_t last_report;      /* Unix seconds of the last report */
};

clerk_shared_cache_t *clerk_shared_cache_create(apr_pool_t *p, const clerk_seal_keys_t *keys,
                                                clerk_courier_t *courier,
                                                apr_interval_time_t timeout,
                                                clerk_log_fn *log, void *log_baton)
{
    clerk_shared_cache_t *sc = apr_pcalloc(p, sizeof(*sc));

    sc->keys = keys;
    sc->courier = courier;
    sc->timeout = timeout;
    sc->log = log;
    sc->log_baton = log_baton;
    return sc;
}

/*
 * A value that did not open: someone who can write to the store wrote it,
 * or a server with another ClerkCacheKey shares the store.  Counted always,
 * reported at most once per interval (whoever writes to the store could
 * otherwise flood the error log).
 */
static void rejected(clerk_shared_cache_t *sc, clerk_seal_purpose_t purpose, apr_pool_t *p)
{
    static const char *const what[CLERK_SEAL_PURPOSES] = {
        "a key set", "a lease", "a Backend API verdict", "the Backend API budget",
        "an M2M token"};
    apr_atomic_inc64(&sc->rejected);
    if (sc->log && clerk_log_gate_open(&sc->last_report, REJECT_LOG_INTERVAL))
        sc->log(sc->log_baton, LOG_ERR,
                apr_psprintf(p, "a value in the shared cache (%s) did not open: altered, "
                             "or sealed under another ClerkCacheKey; ignored (%" APR_UINT64_T_FMT
                             " so far in this process)", what[purpose],
                             apr_atomic_read64(&sc->rejected)));
}

apr_status_t clerk_shared_cache_get(clerk_shared_cache_t *sc, clerk_seal_purpose_t purpose,
                                    const void *name, apr_size_t name_len, apr_time_t now,
                                    apr_interval_time_t wait, apr_pool_t *p,
                                    unsigned char **value, apr_size_t *len, apr_time_t *expiry)
{
    const char *store_name = clerk_seal_store_name(sc->keys, purpose, name, name_len, p);
    unsigned char *sealed;
    apr_size_t sealed_len;
    apr_status_t rv;

    rv = clerk_courier_get(sc->courier, store_name, wait ? wait : sc->timeout, p, &sealed,
                           &sealed_len);
    if (rv != APR_SUCCESS)
        return rv;
    rv = clerk_unseal(sc->keys, purpose, store_name, now, sealed, sealed_len, p, value, len,
                      expiry);
    if (rv == APR_EGENERAL)
        rejected(sc, purpose, p);
    return rv == APR_SUCCESS ? APR_SUCCESS : APR_NOTFOUND;
}

apr_status_t clerk_shared_cache_put(clerk_shared_cache_t *sc, clerk_seal_purpose_t purpose,
                                    const void *name, apr_size_t name_len, apr_time_t expiry,
                                    const void *value, apr_size_t len, apr_pool_t *p)
{
    const char *store_name = clerk_seal_store_name(sc->keys, purpose, name, name_len, p);
    unsigned char *sealed;
    apr_size_t sealed_len;
    apr_status_t rv;

    if ((rv = clerk_seal(sc->keys, purpose, store_name, expiry, value, len, p, &sealed,
                         &sealed_len)) != APR_SUCCESS)
        return rv;
    return clerk_courier_put(sc->courier, store_name, expiry, sealed, sealed_len);
}

int clerk_shared_cache_claim(clerk_shared_cache_t *sc, const void *name, apr_size_t name_len,
                             apr_time_t now, apr_interval_time_t hold,
                             apr_interval_time_t wait, apr_pool_t *p)
{
    unsigned char mark[LEASE_MARK_LEN], *held;
    apr_size_t held_len;
    apr_status_t rv;

    rv = clerk_shared_cache_get(sc, CLERK_SEAL_LEASE, name, name_len, now, wait, p, &held,
                                &held_len, NULL);
    if (rv == APR_SUCCESS)
        return 0;                       /* another process holds it (a mark is never ours twice) */
    if (rv != APR_NOTFOUND || RAND_bytes(mark, sizeof(mark)) != 1
        || clerk_shared_cache_put(sc, CLERK_SEAL_LEASE, name, name_len, now + hold, mark,
                                  sizeof(mark), p) != APR_SUCCESS)
        return -1;
    /*
     * Read it back, a moment later: the courier makes its calls in order,
     * so this reads what the store holds after our write, ours or a later
     * writer's; the pause lets a process that read "nobody" just before our
     * write land its own, so that of the two only the last writer goes on.
     */
    apr_sleep(LEASE_SETTLE);
    rv = clerk_shared_cache_get(sc, CLERK_SEAL_LEASE, name, name_len, now, wait, p, &held,
                                &held_len, NULL);
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND)
        return -1;
    return rv == APR_SUCCESS && held_len == sizeof(mark) && !memcmp(held, mark, sizeof(mark));
}

void clerk_shared_cache_release(clerk_shared_cache_t *sc, const void *name, apr_size_t name_len,
                                apr_pool_t *p)
{
    unsigned char mark[LEASE_MARK_LEN] = {0};

    clerk_shared_cache_put(sc, CLERK_SEAL_LEASE, name, name_len, apr_time_now(), mark,
                           sizeof(mark), p);
}

apr_uint64_t clerk_shared_cache_rejected(const clerk_shared_cache_t *sc)
{
    return apr_atomic_read64((volatile apr_uint64_t *)&sc->rejected);
}
