#include "clerk_jwks_cache.h"

#include "clerk_background_thread.h"
#include "clerk_be64.h"
#include "clerk_jitter.h"
#include "clerk_shared_cache.h"
#include "clerk_thread_stripe.h"

#include <apr_atomic.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>
#include <openssl/evp.h>
#include <string.h>

/* APLOG levels, without including httpd headers. */
#define LOG_ERR 3
#define LOG_WARNING 4
#define LOG_INFO 6
#define LOG_DEBUG 7

struct clerk_jwks_snapshot {
    apr_pool_t *pool;                   /* unmanaged: destroyable from any thread */
    clerk_keyset_t *keys;
    unsigned char body_hash[32];        /* to recognise an unchanged key set */
    apr_uint64_t generation;
    /*
     * Guarded by the cache mutex.  While the snapshot is current: 1, the
     * cache's own reference (the readers' are counted in the stripes).  Once
     * replaced: the cache's and every reader's still out, moved here.
     */
    apr_uint32_t refs;
};

/*
 * Readers take and give back references to the current snapshot through
 * their thread's stripe (src/clerk_thread_stripe.h), so that the threads
 * serving requests do not all take the cache mutex twice per request
 * (issue 13).  A stripe counts what was taken through it less what was given
 * back through it, modulo 2^32: a reference may be given back by another
 * thread than took it, so only the sum over the stripes is a count.  The
 * current snapshot and when it was confirmed change only while every stripe
 * lock and the cache mutex are held, so a reader sees them under its stripe
 * lock alone, and a replaced snapshot's count is exact once moved.
 */
typedef union {
    struct {
        apr_thread_mutex_t *lock;       /* from child_init; NULL: one thread, no lock */
        apr_uint32_t refs;
    } s;
    char pad[CLERK_CACHE_LINE];
} reader_stripe;

struct clerk_jwks_cache {
    clerk_jwks_source_t src;
    apr_uint64_t id;                    /* unique in the process, never reused */
    clerk_log_fn *log;
    void *log_baton;
    clerk_jwks_fetch_fn *on_fetch;      /* set before any fetch, or NULL */
    void *on_fetch_baton;
    clerk_shared_cache_t *shared;       /* set before any fetch, or NULL */
    const char *share_name;             /* the source in the shared cache: URL, header hash */

    reader_stripe *readers;             /* CLERK_STRIPES of them */

    /* Everything below is guarded by lock (once started). */
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *wake;
    /* These two also by every stripe lock when they change. */
    clerk_jwks_snapshot_t *current;
    apr_time_t fetched_at;              /* when current was last confirmed */
    apr_time_t last_attempt;
    int last_failed;
    apr_time_t last_forced;
    apr_uint64_t generations;
    int force, stop;
    /*
     * With a shared cache: another process fetches for the fleet now, so
     * look at the shared cache again at deferred_until instead of fetching
     * (forced: for a forced refresh); jitter spreads the fleet's refreshers
     * over a second, so that one of them fetches and the others adopt.
     */
    apr_time_t deferred_until;
    int deferred_forced;
    apr_interval_time_t jitter;

    apr_thread_t *thread;
    apr_pool_t *thread_pool;            /* where the refresher lives, per process */
    clerk_http_t *http;
    volatile apr_uint32_t started;
    volatile apr_uint32_t fetches;
    volatile apr_uint32_t cancel;       /* set when stopping: aborts a fetch in progress */
};

/*
 * With a shared cache: how long the refresher waits on it (it serves no
 * request), and how soon it looks again when another process fetches.
 */
#define SHARED_WAIT apr_time_from_sec(1)
#define DEFER_STEP apr_time_from_msec(500)

/* How soon to retry a source that never loaded. */
#define NEVER_LOADED_RETRY apr_time_from_sec(5)

static void logf_(clerk_jwks_cache_t *c, int level, apr_pool_t *p, const char *fmt, ...)
{
    va_list ap;
    if (!c->log)
        return;
    va_start(ap, fmt);
    c->log(c->log_baton, level, apr_pvsprintf(p, fmt, ap));
    va_end(ap);
}

static void lock(clerk_jwks_cache_t *c)
{
    if (c->lock)
        apr_thread_mutex_lock(c->lock);
}

static void unlock(clerk_jwks_cache_t *c)
{
    if (c->lock)
        apr_thread_mutex_unlock(c->lock);
}

static void stripe_lock(reader_stripe *st)
{
    if (st->s.lock)
        apr_thread_mutex_lock(st->s.lock);
}

static void stripe_unlock(reader_stripe *st)
{
    if (st->s.lock)
        apr_thread_mutex_unlock(st->s.lock);
}

/* The readers' references to the current snapshot, moved to it (it is being replaced). */
static void collect_reader_refs(clerk_jwks_cache_t *c)
{
    for (unsigned i = 0; i < CLERK_STRIPES; i++) {
        c->current->refs += c->readers[i].s.refs;
        c->readers[i].s.refs = 0;
    }
}

/* With the cache mutex held: also every stripe lock, in order, to change current. */
static void lock_readers(clerk_jwks_cache_t *c)
{
    for (unsigned i = 0; i < CLERK_STRIPES; i++)
        stripe_lock(&c->readers[i]);
}

static void unlock_readers(clerk_jwks_cache_t *c)
{
    for (unsigned i = CLERK_STRIPES; i-- > 0;)
        stripe_unlock(&c->readers[i]);
}

/* The stripe locks go with the child's pool; the cache may outlive it. */
static apr_status_t forget_reader_locks(void *data)
{
    clerk_jwks_cache_t *c = data;
    for (unsigned i = 0; i < CLERK_STRIPES; i++)
        c->readers[i].s.lock = NULL;
    return APR_SUCCESS;
}

static apr_status_t snapshot_cleanup(void *data)
{
    clerk_jwks_cache_t *c = data;
    if (c->current) {
        collect_reader_refs(c);
        if (--c->current->refs == 0)
            apr_pool_destroy(c->current->pool);
    }
    c->current = NULL;
    return APR_SUCCESS;
}

apr_status_t clerk_keyset_fetch(apr_pool_t *p, clerk_http_t *http, const char *url,
                                const apr_array_header_t *headers, clerk_keyset_t **out,
                                const char **err)
{
    clerk_http_response_t resp;

    if (clerk_http_request(http, p, "GET", url, headers, NULL, &resp) != APR_SUCCESS) {
        *err = resp.error;
        return APR_EGENERAL;
    }
    if (resp.status != 200) {
        *err = apr_psprintf(p, "HTTP status %d", resp.status);
        return APR_EGENERAL;
    }
    return clerk_keyset_from_jwks(p, resp.body, resp.len, out, err);
}

/* The URL and a hash of the request headers (never a secret they hold), in p. */
static const char *url_and_headers(apr_pool_t *p, const clerk_jwks_source_t *src)
{
    const char *headers = src->headers ? apr_array_pstrcat(p, src->headers, '\n') : "";
    unsigned char md[32];
    char hex[65];

    EVP_Digest(headers, strlen(headers), md, NULL, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++)
        apr_snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return apr_pstrcat(p, src->url, "\n", hex, NULL);
}

const char *clerk_jwks_source_id(apr_pool_t *p, const clerk_jwks_source_t *src)
{
    return apr_psprintf(p, "%s\n%" APR_TIME_T_FMT "/%" APR_TIME_T_FMT "/%" APR_TIME_T_FMT
                        "/%ld\n%s\n%s", url_and_headers(p, src), src->ttl, src->refresh_min,
                        src->max_stale, src->http.timeout_ms,
                        src->http.ca_file ? src->http.ca_file : "",
                        src->http.proxy ? src->http.proxy : "");
}

clerk_jwks_cache_t *clerk_jwks_cache_create(apr_pool_t *p, const clerk_jwks_source_t *src,
                                            clerk_log_fn *log, void *log_baton)
{
    static volatile apr_uint64_t ids;
    clerk_jwks_cache_t *c = apr_pcalloc(p, sizeof(*c));
    apr_array_header_t *headers = apr_array_make(p, 2, sizeof(const char *));

    c->id = apr_atomic_inc64(&ids) + 1;
    c->readers = clerk_stripes_alloc(p, sizeof(reader_stripe));

    /* A deep copy: the cache outlives whatever described the source. */
    c->src = *src;
    c->src.url = apr_pstrdup(p, src->url);
    for (int i = 0; src->headers && i < src->headers->nelts; i++)
        APR_ARRAY_PUSH(headers, const char *) =
            apr_pstrdup(p, APR_ARRAY_IDX(src->headers, i, const char *));
    c->src.headers = headers;
    c->src.http.ca_file = src->http.ca_file ? apr_pstrdup(p, src->http.ca_file) : NULL;
    c->src.http.proxy = src->http.proxy ? apr_pstrdup(p, src->http.proxy) : NULL;
    c->src.http.cancel = NULL;          /* only the refresher's own client has one */
    c->log = log;
    c->log_baton = log_baton;
    /*
     * What the fleet calls this source: its URL and the hash of its headers
     * (a /v1/jwks of another secret is another source); the ttl and the
     * other settings are each server's own.  Only the HMAC of it is stored.
     */
    c->share_name = url_and_headers(p, &c->src);
    apr_pool_cleanup_register(p, c, snapshot_cleanup, apr_pool_cleanup_null);
    return c;
}

void clerk_jwks_cache_share(clerk_jwks_cache_t *c, clerk_shared_cache_t *shared)
{
    c->shared = shared;
}

/*
 * A key set body made into a snapshot.  Returns it, or NULL when the body
 * hashes as current_hash (*unchanged) or is unusable (logged).  what: where
 * the body came from, for the log.
 */
static clerk_jwks_snapshot_t *snapshot_from(clerk_jwks_cache_t *c, const char *body,
                                            apr_size_t len, const unsigned char *current_hash,
                                            const char *what, int *unchanged, apr_pool_t *tmp)
{
    apr_pool_t *pool;
    clerk_jwks_snapshot_t *snap;
    unsigned char hash[32];
    const char *err = NULL;
    clerk_keyset_t *ks;

    *unchanged = 0;
    EVP_Digest(body, len, hash, NULL, EVP_sha256(), NULL);
    if (current_hash && !memcmp(hash, current_hash, sizeof(hash))) {
        *unchanged = 1;
        return NULL;
    }
    if (apr_pool_create_unmanaged_ex(&pool, NULL, NULL) != APR_SUCCESS)
        return NULL;
    if (clerk_keyset_from_jwks(pool, body, len, &ks, &err) != APR_SUCCESS) {
        logf_(c, LOG_WARNING, tmp, "key set %s%s: unusable, keeping the previous keys: %s",
              c->src.url, what, err);
        apr_pool_destroy(pool);
        return NULL;
    }
    for (int i = 0; i < ks->skipped->nelts; i++)
        logf_(c, LOG_WARNING, tmp, "key set %s%s: %s", c->src.url, what,
              APR_ARRAY_IDX(ks->skipped, i, const char *));
    snap = apr_pcalloc(pool, sizeof(*snap));
    snap->pool = pool;
    snap->keys = ks;
    snap->refs = 1;
    memcpy(snap->body_hash, hash, sizeof(hash));
    logf_(c, LOG_INFO, tmp, "key set %s%s: loaded %d key(s)", c->src.url, what,
          ks->keys->nelts);
    return snap;
}

/* The shared cache's value of a key set: when it was fetched (big-endian µs), the body. */
#define STORED_AT_LEN CLERK_BE64_LEN

static void publish(clerk_jwks_cache_t *c, const char *body, apr_size_t len, apr_time_t at,
                    apr_pool_t *tmp)
{
    unsigned char *value;

    if (!c->shared || len > CLERK_SEAL_MAX_VALUE - STORED_AT_LEN)
        return;
    value = apr_palloc(tmp, STORED_AT_LEN + len);
    clerk_be64_put(value, (apr_uint64_t)at);
    memcpy(value + STORED_AT_LEN, body, len);
    clerk_shared_cache_put(c->shared, CLERK_SEAL_KEYSET, c->share_name, strlen(c->share_name),
                           at + c->src.ttl, value, STORED_AT_LEN + len, tmp);
}

/*
 * One fetch, done without the lock; its body is published to the shared
 * cache, changed or not (others then know it is current).  Returns a new
 * snapshot, or NULL when the key set is unchanged (*unchanged) or unusable
 * (logged).
 */
static clerk_jwks_snapshot_t *fetch(clerk_jwks_cache_t *c, clerk_http_t *http,
                                    const unsigned char *current_hash, int *unchanged)
{
    apr_pool_t *tmp;
    clerk_http_response_t resp;
    clerk_jwks_snapshot_t *snap = NULL;

    *unchanged = 0;
    apr_atomic_inc32(&c->fetches);
    if (apr_pool_create_unmanaged_ex(&tmp, NULL, NULL) != APR_SUCCESS)
        return NULL;
    if (clerk_http_request(http, tmp, "GET", c->src.url, c->src.headers, NULL, &resp)
        != APR_SUCCESS) {
        logf_(c, apr_atomic_read32(&c->cancel) ? LOG_DEBUG : LOG_WARNING, tmp,
              "key set %s: fetch failed: %s", c->src.url, resp.error);
        goto done;
    }
    if (resp.status != 200) {
        logf_(c, LOG_WARNING, tmp, "key set %s: HTTP status %d", c->src.url, resp.status);
        goto done;
    }
    snap = snapshot_from(c, resp.body, resp.len, current_hash, "", unchanged, tmp);
    if (snap || *unchanged)
        publish(c, resp.body, resp.len, apr_time_now(), tmp);  /* as of its answer */

done:
    apr_pool_destroy(tmp);
    return snap;
}

/*
 * A copy of the key set another process (of this server or another) stored
 * in the shared cache less than ttl ago and after newer_than, made into a
 * snapshot exactly as a fetched body is: *adopted with *at, when it was
 * fetched; the snapshot, or NULL when it is unchanged (*unchanged).
 */
static clerk_jwks_snapshot_t *adopt(clerk_jwks_cache_t *c, const unsigned char *current_hash,
                                    apr_time_t newer_than, apr_interval_time_t wait,
                                    int *adopted, int *unchanged, apr_time_t *at)
{
    apr_pool_t *tmp;
    unsigned char *value;
    apr_size_t len;
    apr_time_t stored_at = 0;
    clerk_jwks_snapshot_t *snap = NULL;

    *adopted = *unchanged = 0;
    if (!c->shared || apr_pool_create_unmanaged_ex(&tmp, NULL, NULL) != APR_SUCCESS)
        return NULL;
    if (clerk_shared_cache_get(c->shared, CLERK_SEAL_KEYSET, c->share_name,
                               strlen(c->share_name), apr_time_now(), wait, tmp, &value, &len,
                               NULL) == APR_SUCCESS && len > STORED_AT_LEN) {
        stored_at = (apr_time_t)clerk_be64_get(value);
        if (stored_at > newer_than && stored_at <= apr_time_now()) {
            snap = snapshot_from(c, (const char *)value + STORED_AT_LEN, len - STORED_AT_LEN,
                                 current_hash, " (from the shared cache)", unchanged, tmp);
            if ((*adopted = snap || *unchanged))
                *at = stored_at;
        }
    }
    apr_pool_destroy(tmp);
    return snap;
}

/* A new jitter for the next due refresh: up to a second, at most a tenth of the ttl. */
static void pick_jitter(clerk_jwks_cache_t *c)
{
    apr_interval_time_t span = c->src.ttl / 10 < APR_USEC_PER_SEC ? c->src.ttl / 10
                                                                   : APR_USEC_PER_SEC;

    c->jitter = c->shared ? clerk_jitter(span) : 0;
}

/* Record a fetch outcome; called with the lock held.  Returns the snapshot to drop. */
static clerk_jwks_snapshot_t *install(clerk_jwks_cache_t *c, clerk_jwks_snapshot_t *snap,
                                      int unchanged, apr_time_t when)
{
    clerk_jwks_snapshot_t *old = NULL;

    c->last_attempt = when;
    c->last_failed = !snap && !unchanged;
    c->deferred_until = 0;
    c->deferred_forced = 0;
    pick_jitter(c);
    if (c->on_fetch)
        c->on_fetch(c->on_fetch_baton, !c->last_failed, when);
    if (!unchanged && !snap)
        return NULL;
    lock_readers(c);
    if (unchanged)
        c->fetched_at = when;
    else {
        snap->generation = ++c->generations;
        if ((old = c->current))
            collect_reader_refs(c);
        c->current = snap;
        c->fetched_at = when;
    }
    unlock_readers(c);
    if (old && --old->refs != 0)
        old = NULL;     /* still in use: its last reader destroys it */
    return old;
}

apr_status_t clerk_jwks_cache_fetch_now(clerk_jwks_cache_t *c, apr_pool_t *ptemp)
{
    int unchanged;
    clerk_jwks_snapshot_t *snap, *old;
    clerk_http_t *http;

    int adopted;
    apr_time_t when = 0;

    /* what another server fetched less than a ttl ago will do for this one */
    snap = adopt(c, c->current ? c->current->body_hash : NULL, c->fetched_at, SHARED_WAIT,
                 &adopted, &unchanged, &when);
    if (!adopted) {
        if (clerk_http_create(ptemp, &c->src.http, 1, &http) != APR_SUCCESS)
            return APR_EGENERAL;
        snap = fetch(c, http, c->current ? c->current->body_hash : NULL, &unchanged);
        when = apr_time_now();
    }
    lock(c);
    old = install(c, snap, unchanged, when);
    unlock(c);
    if (old)
        apr_pool_destroy(old->pool);
    return (snap || unchanged) ? APR_SUCCESS : APR_EGENERAL;
}

/* When the refresher should fetch next; called with the lock held. */
static apr_time_t next_due(const clerk_jwks_cache_t *c)
{
    if (c->force)
        return 0;
    if (c->deferred_until)
        return c->deferred_until;
    if (!c->current)
        return c->last_attempt + (c->src.refresh_min < NEVER_LOADED_RETRY
                                  ? c->src.refresh_min : NEVER_LOADED_RETRY);
    if (c->last_failed)
        return c->last_attempt + c->src.refresh_min;
    return c->fetched_at + c->src.ttl + c->jitter;
}

/* The name of the fleet's fetch lease of the source (forced: its forced one), in p. */
static const char *lease_name(const clerk_jwks_cache_t *c, int forced, apr_pool_t *p)
{
    return apr_pstrcat(p, forced ? "forced\n" : "fetch\n", c->share_name, NULL);
}

/*
 * Whether this process fetches for the fleet now: 1 when it holds the lease,
 * -1 without a shared cache or when it does not answer (then it fetches as
 * if alone), 0 when another process does.  A forced refresh (an unknown kid) takes
 * the source's forced lease for refresh_min, so that a kid storm against
 * every server costs one fetch per refresh_min for the fleet; a due refresh
 * takes its fetch lease for as long as a fetch may take.
 */
static int fleet_may_fetch(clerk_jwks_cache_t *c, int forced)
{
    apr_pool_t *tmp;
    const char *name;
    apr_interval_time_t hold;
    int held;

    if (!c->shared || apr_pool_create_unmanaged_ex(&tmp, NULL, NULL) != APR_SUCCESS)
        return -1;
    name = lease_name(c, forced, tmp);
    /* a due fetch's lease lasts as long as a fetch may, but never into the next ttl */
    hold = apr_time_from_msec(c->src.http.timeout_ms) + APR_USEC_PER_SEC;
    if (hold > c->src.ttl / 2)
        hold = c->src.ttl / 2;
    held = clerk_shared_cache_claim(c->shared, name, strlen(name), apr_time_now(),
                                    forced ? c->src.refresh_min : hold, SHARED_WAIT, tmp);
    apr_pool_destroy(tmp);
    return held;
}

/*
 * A due fetch's lease is done with once its result is stored: the next due
 * refresh need not wait for it to run out.  (A forced one's stays for
 * refresh_min: it is the fleet's limit.)
 */
static void release_fetch_lease(clerk_jwks_cache_t *c)
{
    apr_pool_t *tmp;
    const char *name;

    if (apr_pool_create_unmanaged_ex(&tmp, NULL, NULL) != APR_SUCCESS)
        return;
    name = lease_name(c, 0, tmp);
    clerk_shared_cache_release(c->shared, name, strlen(name), tmp);
    apr_pool_destroy(tmp);
}

static void *APR_THREAD_FUNC refresher(apr_thread_t *thread, void *data)
{
    clerk_jwks_cache_t *c = data;

    lock(c);
    while (!c->stop) {
        apr_time_t now = apr_time_now(), due = next_due(c);
        if (due > now) {
            apr_thread_cond_timedwait(c->wake, c->lock, due - now);
            continue;
        }
        int forced = c->force || c->deferred_forced, unchanged, adopted = 0;
        apr_time_t fetched_at = c->fetched_at, asked_at = c->last_forced, when = 0;
        clerk_jwks_snapshot_t *snap = NULL, *old;
        const unsigned char *hash = c->current ? c->current->body_hash : NULL;
        unsigned char saved[32];
        c->force = 0;
        if (hash) {
            memcpy(saved, hash, sizeof(saved));
            hash = saved;
        }
        unlock(c);
        /*
         * A copy another process stored after ours will do; for a forced
         * refresh, only one stored after the unknown kid asked for it, or
         * while the fleet's forced lease says another process forced one
         * within refresh_min (its result is the copy, or is on its way).
         */
        snap = adopt(c, hash, fetched_at, SHARED_WAIT, &adopted, &unchanged, &when);
        if (!adopted || (forced && when < asked_at)) {
            int held = fleet_may_fetch(c, forced);
            if (held) {
                if (snap)
                    apr_pool_destroy(snap->pool);
                snap = fetch(c, c->http, hash, &unchanged);
                when = apr_time_now();
                if (held == 1 && !forced)
                    release_fetch_lease(c);
            }
            else if (!adopted) {
                /* another process fetches for the fleet: look for its result in a moment */
                lock(c);
                c->deferred_until = apr_time_now() + DEFER_STEP;
                c->deferred_forced = forced;
                continue;
            }
        }
        lock(c);
        old = install(c, snap, unchanged, when);
        if (old) {
            unlock(c);
            apr_pool_destroy(old->pool);
            lock(c);
        }
    }
    unlock(c);
    /*
     * Return rather than apr_thread_exit(): pthread_exit() unwinds past the
     * frames without unpoisoning them, and AddressSanitizer then reports a
     * stack overflow as the thread ends (ASan runs of httpd and make unit-san).
     */
    return NULL;
}

static apr_status_t stop_refresher(void *data)
{
    clerk_jwks_cache_t *c = data;
    apr_status_t rv;

    if (!c->thread)
        return APR_SUCCESS;
    apr_atomic_set32(&c->cancel, 1);   /* a fetch in progress ends within about 1 s */
    lock(c);
    c->stop = 1;
    apr_thread_cond_signal(c->wake);
    unlock(c);
    apr_thread_join(&rv, c->thread);
    c->thread = NULL;
    return APR_SUCCESS;
}

apr_status_t clerk_jwks_cache_child_init(clerk_jwks_cache_t *c, apr_pool_t *pchild)
{
    clerk_http_opts_t opts = c->src.http;
    apr_status_t rv;

    opts.cancel = &c->cancel;
    pick_jitter(c);     /* each process its own, not the parent's */
    if ((rv = apr_pool_create(&c->thread_pool, pchild)) != APR_SUCCESS
        || (rv = clerk_http_create(c->thread_pool, &opts, 1, &c->http)) != APR_SUCCESS
        || (rv = apr_thread_mutex_create(&c->lock, APR_THREAD_MUTEX_DEFAULT, c->thread_pool))
               != APR_SUCCESS
        || (rv = apr_thread_cond_create(&c->wake, c->thread_pool)) != APR_SUCCESS)
        return rv;
    for (unsigned i = 0; i < CLERK_STRIPES; i++)
        if ((rv = apr_thread_mutex_create(&c->readers[i].s.lock, APR_THREAD_MUTEX_DEFAULT,
                                          c->thread_pool)) != APR_SUCCESS)
            return rv;
    /* registered after the mutexes: runs before they are destroyed */
    apr_pool_cleanup_register(c->thread_pool, c, forget_reader_locks, apr_pool_cleanup_null);
    /* A pre-cleanup: it must run before the thread's own pool goes away. */
    apr_pool_pre_cleanup_register(c->thread_pool, c, stop_refresher);
    return APR_SUCCESS;
}

/* Start the refresher on first use; nothing is fetched for unused sources. */
static void ensure_started(clerk_jwks_cache_t *c)
{
    if (apr_atomic_read32(&c->started) || !c->lock)
        return;
    lock(c);
    if (!c->started && !c->stop
        && clerk_background_thread_start(&c->thread, "clerk-jwks", refresher, c, c->thread_pool)
               == APR_SUCCESS)
        apr_atomic_set32(&c->started, 1);
    unlock(c);
}

clerk_keys_state_t clerk_jwks_cache_acquire(clerk_jwks_cache_t *c, apr_time_t now,
                                            clerk_jwks_snapshot_t **snap)
{
    reader_stripe *st = &c->readers[clerk_thread_stripe()];
    clerk_keys_state_t state;

    *snap = NULL;
    ensure_started(c);
    stripe_lock(st);
    if (!c->current)
        state = CLERK_KEYS_NEVER_LOADED;
    else if (now >= c->fetched_at + c->src.ttl + c->src.max_stale)
        state = CLERK_KEYS_TOO_STALE;
    else {
        st->s.refs++;
        *snap = c->current;
        state = CLERK_KEYS_READY;
    }
    stripe_unlock(st);
    return state;
}

const clerk_keyset_t *clerk_jwks_snapshot_keys(const clerk_jwks_snapshot_t *snap)
{
    return snap->keys;
}

apr_uint64_t clerk_jwks_snapshot_generation(const clerk_jwks_snapshot_t *snap)
{
    return snap->generation;
}

void clerk_jwks_cache_release(clerk_jwks_cache_t *c, clerk_jwks_snapshot_t *snap)
{
    reader_stripe *st = &c->readers[clerk_thread_stripe()];
    int current, last;

    stripe_lock(st);
    if ((current = snap == c->current))
        st->s.refs--;
    stripe_unlock(st);
    if (current)
        return;
    /* replaced since it was taken: its references were moved to it */
    lock(c);
    last = --snap->refs == 0;
    unlock(c);
    if (last)
        apr_pool_destroy(snap->pool);
}

int clerk_jwks_cache_kid_miss(clerk_jwks_cache_t *c, apr_time_t now)
{
    int asked = 0;

    lock(c);
    if (!c->last_forced || now - c->last_forced >= c->src.refresh_min) {
        c->last_forced = now;
        c->force = 1;
        asked = 1;
        if (c->wake)
            apr_thread_cond_signal(c->wake);
    }
    unlock(c);
    return asked;
}

void clerk_jwks_cache_on_fetch(clerk_jwks_cache_t *c, clerk_jwks_fetch_fn *fn, void *baton)
{
    c->on_fetch = fn;
    c->on_fetch_baton = baton;
}

int clerk_jwks_cache_info(clerk_jwks_cache_t *c, apr_pool_t *p, apr_time_t *fetched_at,
                          apr_array_header_t **kids)
{
    int loaded;

    *kids = apr_array_make(p, 4, sizeof(const char *));
    *fetched_at = 0;
    lock(c);
    if ((loaded = c->current != NULL)) {
        const apr_array_header_t *keys = c->current->keys->keys;
        *fetched_at = c->fetched_at;
        for (int i = 0; i < keys->nelts; i++) {
            const char *kid = APR_ARRAY_IDX(keys, i, const clerk_key_t *)->kid;
            APR_ARRAY_PUSH(*kids, const char *) = kid ? apr_pstrdup(p, kid) : NULL;
        }
    }
    unlock(c);
    return loaded;
}

apr_uint32_t clerk_jwks_cache_fetches(const clerk_jwks_cache_t *c)
{
    return apr_atomic_read32((volatile apr_uint32_t *)&c->fetches);
}

apr_uint64_t clerk_jwks_cache_id(const clerk_jwks_cache_t *c)
{
    return c->id;
}
