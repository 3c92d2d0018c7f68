/*
 * An in-memory store for the tests of the shared cache (test_shared_cache.c,
 * test_jwks_cache.c): what a socache provider is to the module, a map of
 * names to values with expiry, guarded by one mutex, that the tests can also
 * read and write behind the module's back (as someone with access to Redis
 * could) and make fail.
 *
 *   fake_store_t *fs = fs_create(p);
 *   clerk_store_t st = fs_store(fs);          for clerk_courier_create
 *   fs_fail(fs, 1);                            every call fails (the store is down)
 *   fs_raw(fs, name, &len) / fs_set_raw(...)   the stored bytes, as an attacker sees them
 *   fs_names(fs, p)                            the names stored, in order of first store
 *   fs_calls(fs)                               gets and puts made
 */
#ifndef FAKE_STORE_H
#define FAKE_STORE_H

#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <apr_thread_mutex.h>

#include "clerk_cache_courier.h"

typedef struct {
    unsigned char *data;
    apr_size_t len;
    apr_time_t expiry;
} fs_value_t;

typedef struct {
    apr_pool_t *pool;
    apr_thread_mutex_t *lock;
    apr_hash_t *values;
    apr_array_header_t *order;
    int failing;
    unsigned calls;
} fake_store_t;

static inline apr_status_t fs_get(void *baton, const char *key, unsigned char *buf,
                                  apr_size_t *len, apr_pool_t *scratch)
{
    fake_store_t *fs = baton;
    fs_value_t *v;
    apr_status_t rv = APR_NOTFOUND;

    apr_thread_mutex_lock(fs->lock);
    fs->calls++;
    if (fs->failing)
        rv = APR_ECONNREFUSED;
    else if ((v = apr_hash_get(fs->values, key, APR_HASH_KEY_STRING)) && v->data
             && v->expiry > apr_time_now()) {
        if (v->len > *len)
            rv = APR_ENOSPC;
        else {
            memcpy(buf, v->data, v->len);
            *len = v->len;
            rv = APR_SUCCESS;
        }
    }
    apr_thread_mutex_unlock(fs->lock);
    return rv;
}

/* With the lock held: name's value becomes a copy of data. */
static inline void fs_keep(fake_store_t *fs, const char *name, const void *data, apr_size_t len,
                    apr_time_t expiry)
{
    fs_value_t *v = apr_hash_get(fs->values, name, APR_HASH_KEY_STRING);

    if (!v) {
        v = apr_pcalloc(fs->pool, sizeof(*v));
        name = apr_pstrdup(fs->pool, name);
        apr_hash_set(fs->values, name, APR_HASH_KEY_STRING, v);
        APR_ARRAY_PUSH(fs->order, const char *) = name;
    }
    v->data = apr_pmemdup(fs->pool, data, len);
    v->len = len;
    v->expiry = expiry;
}

static inline apr_status_t fs_put(void *baton, const char *key, apr_time_t expiry,
                           const unsigned char *value, apr_size_t len, apr_pool_t *scratch)
{
    fake_store_t *fs = baton;
    apr_status_t rv = APR_SUCCESS;

    apr_thread_mutex_lock(fs->lock);
    fs->calls++;
    if (fs->failing)
        rv = APR_ECONNREFUSED;
    else
        fs_keep(fs, key, value, len, expiry);
    apr_thread_mutex_unlock(fs->lock);
    return rv;
}

static inline fake_store_t *fs_create(apr_pool_t *p)
{
    fake_store_t *fs = apr_pcalloc(p, sizeof(*fs));
    fs->pool = p;
    apr_thread_mutex_create(&fs->lock, APR_THREAD_MUTEX_DEFAULT, p);
    fs->values = apr_hash_make(p);
    fs->order = apr_array_make(p, 8, sizeof(const char *));
    return fs;
}

static inline clerk_store_t fs_store(fake_store_t *fs)
{
    clerk_store_t st = {fs_get, fs_put, fs};
    return st;
}

static inline void fs_fail(fake_store_t *fs, int failing)
{
    apr_thread_mutex_lock(fs->lock);
    fs->failing = failing;
    apr_thread_mutex_unlock(fs->lock);
}

static inline unsigned fs_calls(fake_store_t *fs)
{
    unsigned n;
    apr_thread_mutex_lock(fs->lock);
    n = fs->calls;
    apr_thread_mutex_unlock(fs->lock);
    return n;
}

/* A copy of the stored bytes of name (in p), or NULL. */
static inline unsigned char *fs_raw(fake_store_t *fs, const char *name, apr_size_t *len,
                                    apr_pool_t *p)
{
    fs_value_t *v;
    unsigned char *copy = NULL;

    apr_thread_mutex_lock(fs->lock);
    if ((v = apr_hash_get(fs->values, name, APR_HASH_KEY_STRING)) && v->data) {
        copy = apr_pmemdup(p, v->data, v->len);
            *len = v->len;
    }
    apr_thread_mutex_unlock(fs->lock);
    return copy;
}

static inline void fs_set_raw(fake_store_t *fs, const char *name, const void *data, apr_size_t len,
                       apr_time_t expiry)
{
    apr_thread_mutex_lock(fs->lock);
    fs_keep(fs, name, data, len, expiry);
    apr_thread_mutex_unlock(fs->lock);
}

/* The names stored so far (const char *, in p), in the order they first were. */
static inline apr_array_header_t *fs_names(fake_store_t *fs, apr_pool_t *p)
{
    apr_array_header_t *names;
    apr_thread_mutex_lock(fs->lock);
    names = apr_array_copy(p, fs->order);
    apr_thread_mutex_unlock(fs->lock);
    return names;
}

#endif
