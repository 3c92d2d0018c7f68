#include "clerk_source_registry.h"

#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>

/* APLOG levels, without including httpd headers. */
#define LOG_INFO 6

typedef struct {
    const char *id;                 /* clerk_jwks_source_id */
    clerk_jwks_cache_t *cache;
    apr_pool_t *pool;               /* admitted at request time: unmanaged, owns all of it */
    unsigned holds;                 /* requests using it now */
    apr_uint64_t last_used;         /* registry tick of the last hold */
} source_entry;

struct clerk_source_registry {
    unsigned max;
    clerk_log_fn *log;
    void *log_baton;
    apr_pool_t *pool;               /* the configuration pool, then the child's own pool */
    apr_hash_t *by_id;              /* id -> source_entry */
    apr_hash_t *by_cache;           /* cache pointer -> source_entry */
    apr_thread_mutex_t *lock;       /* NULL until child_init */
    apr_uint64_t tick;
    unsigned closed;
    clerk_jwks_fetch_fn *on_fetch;  /* for the sources admitted at request time */
    void *on_fetch_baton;
    struct clerk_shared_cache *shared;  /* every source's, or NULL */
};

clerk_source_registry_t *clerk_source_registry_create(apr_pool_t *p, unsigned max,
                                                      clerk_log_fn *log, void *log_baton)
{
    clerk_source_registry_t *reg = apr_pcalloc(p, sizeof(*reg));

    reg->max = max;
    reg->log = log;
    reg->log_baton = log_baton;
    reg->pool = p;
    reg->by_id = apr_hash_make(p);
    reg->by_cache = apr_hash_make(p);
    return reg;
}

static void add_entry(clerk_source_registry_t *reg, source_entry *e)
{
    apr_hash_set(reg->by_id, e->id, APR_HASH_KEY_STRING, e);
    apr_hash_set(reg->by_cache, &e->cache, sizeof(e->cache), e);
}

clerk_jwks_cache_t *clerk_source_registry_pin(clerk_source_registry_t *reg,
                                              const clerk_jwks_source_t *src,
                                              apr_pool_t *ptemp)
{
    const char *id = clerk_jwks_source_id(ptemp, src);
    source_entry *e = apr_hash_get(reg->by_id, id, APR_HASH_KEY_STRING);

    if (e)
        return e->cache;
    e = apr_pcalloc(reg->pool, sizeof(*e));
    e->id = apr_pstrdup(reg->pool, id);
    e->cache = clerk_jwks_cache_create(reg->pool, src, reg->log, reg->log_baton);
    add_entry(reg, e);
    return e->cache;
}

/* Close what is left of the sources admitted at request time (child exit). */
static apr_status_t close_admitted(void *data)
{
    clerk_source_registry_t *reg = data;

    for (apr_hash_index_t *hi = apr_hash_first(NULL, reg->by_id); hi; hi = apr_hash_next(hi)) {
        source_entry *e = apr_hash_this_val(hi);
        if (e->pool)
            apr_pool_destroy(e->pool);  /* stops and joins its refresher */
    }
    return APR_SUCCESS;
}

apr_status_t clerk_source_registry_child_init(clerk_source_registry_t *reg,
                                              apr_pool_t *pchild)
{
    apr_status_t rv;
    apr_pool_t *own;

    /*
     * From here on the tables grow at request time: they move to a pool of
     * this process, so no thread allocates from the configuration pool.
     */
    if ((rv = apr_pool_create(&own, pchild)) != APR_SUCCESS
        || (rv = apr_thread_mutex_create(&reg->lock, APR_THREAD_MUTEX_DEFAULT, own))
               != APR_SUCCESS)
        return rv;
    reg->pool = own;
    reg->by_id = apr_hash_copy(own, reg->by_id);
    reg->by_cache = apr_hash_copy(own, reg->by_cache);
    apr_pool_cleanup_register(own, reg, close_admitted, apr_pool_cleanup_null);
    for (apr_hash_index_t *hi = apr_hash_first(NULL, reg->by_id); hi; hi = apr_hash_next(hi)) {
        source_entry *e = apr_hash_this_val(hi);
        if ((rv = clerk_jwks_cache_child_init(e->cache, pchild)) != APR_SUCCESS)
            return rv;
    }
    return APR_SUCCESS;
}

/* The least recently used admitted source no request holds; with the lock held. */
static source_entry *idle_victim(clerk_source_registry_t *reg)
{
    source_entry *victim = NULL;

    for (apr_hash_index_t *hi = apr_hash_first(NULL, reg->by_id); hi; hi = apr_hash_next(hi)) {
        source_entry *e = apr_hash_this_val(hi);
        if (e->pool && !e->holds && (!victim || e->last_used < victim->last_used))
            victim = e;
    }
    return victim;
}

/* A new admitted source in a pool of its own; NULL when out of memory. */
static source_entry *admit(clerk_source_registry_t *reg, const clerk_jwks_source_t *src,
                           const char *id)
{
    apr_pool_t *pool;
    source_entry *e;

    if (apr_pool_create_unmanaged_ex(&pool, NULL, NULL) != APR_SUCCESS)
        return NULL;
    e = apr_pcalloc(pool, sizeof(*e));
    e->pool = pool;
    e->id = apr_pstrdup(pool, id);
    e->cache = clerk_jwks_cache_create(pool, src, reg->log, reg->log_baton);
    if (reg->on_fetch)
        clerk_jwks_cache_on_fetch(e->cache, reg->on_fetch, reg->on_fetch_baton);
    clerk_jwks_cache_share(e->cache, reg->shared);
    if (clerk_jwks_cache_child_init(e->cache, pool) != APR_SUCCESS) {
        apr_pool_destroy(pool);
        return NULL;
    }
    return e;
}

clerk_jwks_cache_t *clerk_source_registry_hold(clerk_source_registry_t *reg,
                                               const clerk_jwks_source_t *src,
                                               apr_pool_t *ptemp)
{
    const char *id = clerk_jwks_source_id(ptemp, src);
    source_entry *e, *victim = NULL;
    clerk_jwks_cache_t *cache = NULL;

    if (!reg->lock)
        return NULL;
    apr_thread_mutex_lock(reg->lock);
    if (!(e = apr_hash_get(reg->by_id, id, APR_HASH_KEY_STRING))) {
        if (apr_hash_count(reg->by_id) >= reg->max && (victim = idle_victim(reg))) {
            apr_hash_set(reg->by_id, victim->id, APR_HASH_KEY_STRING, NULL);
            apr_hash_set(reg->by_cache, &victim->cache, sizeof(victim->cache), NULL);
            reg->closed++;
        }
        if (apr_hash_count(reg->by_id) < reg->max && (e = admit(reg, src, id)))
            add_entry(reg, e);
    }
    if (e) {
        if (e->pool)
            e->holds++;
        e->last_used = ++reg->tick;
        cache = e->cache;
    }
    apr_thread_mutex_unlock(reg->lock);
    if (victim) {
        /* Outside the lock: joining its refresher may take up to a second. */
        if (reg->log)
            reg->log(reg->log_baton, LOG_INFO,
                     "ClerkMaxKeySources reached: closed the least recently used key source");
        apr_pool_destroy(victim->pool);
    }
    return cache;
}

void clerk_source_registry_release(clerk_source_registry_t *reg, clerk_jwks_cache_t *cache)
{
    source_entry *e;

    apr_thread_mutex_lock(reg->lock);
    e = apr_hash_get(reg->by_cache, &cache, sizeof(cache));
    if (e && e->pool && e->holds)
        e->holds--;
    apr_thread_mutex_unlock(reg->lock);
}

unsigned clerk_source_registry_count(clerk_source_registry_t *reg)
{
    unsigned n;

    if (reg->lock)
        apr_thread_mutex_lock(reg->lock);
    n = apr_hash_count(reg->by_id);
    if (reg->lock)
        apr_thread_mutex_unlock(reg->lock);
    return n;
}

unsigned clerk_source_registry_closed(clerk_source_registry_t *reg)
{
    unsigned n;

    if (reg->lock)
        apr_thread_mutex_lock(reg->lock);
    n = reg->closed;
    if (reg->lock)
        apr_thread_mutex_unlock(reg->lock);
    return n;
}

void clerk_source_registry_share(clerk_source_registry_t *reg, struct clerk_shared_cache *shared)
{
    reg->shared = shared;
    for (apr_hash_index_t *hi = apr_hash_first(NULL, reg->by_id); hi; hi = apr_hash_next(hi))
        clerk_jwks_cache_share(((source_entry *)apr_hash_this_val(hi))->cache, shared);
}

void clerk_source_registry_on_fetch(clerk_source_registry_t *reg, clerk_jwks_fetch_fn *fn,
                                    void *baton)
{
    reg->on_fetch = fn;
    reg->on_fetch_baton = baton;
}
