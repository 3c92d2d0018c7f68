#include "clerk_cache_courier.h"

#include "clerk_background_thread.h"

#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>
#include <stdlib.h>
#include <string.h>

#define FIRST_REST apr_time_from_sec(1)

/*
 * A lookup or a store handed to the courier.  malloc'ed, never in a
 * caller's pool: a requester that gives up goes on, and may destroy its
 * pool, while the courier's thread still holds the errand.
 */
typedef struct errand errand_t;
struct errand {
    errand_t *next;                     /* in the queue */
    int is_get;
    /* A lookup's, guarded by the courier's lock: */
    int holders;                        /* requester and thread; the last one frees it */
    int answered, abandoned;
    apr_thread_cond_t *wake;            /* the requester's while it waits, else NULL */
    apr_status_t rv;                    /* the answer */
    /* Written by the thread before it answers, read by the requester after: */
    unsigned char *value;               /* get: the value found (malloc'ed); put: in key[] */
    apr_size_t len;
    apr_time_t expiry;                  /* put */
    char key[];                         /* NUL-terminated; a put's value follows */
};

/*
 * A condition a requester waits on, its own, so that an answer wakes the one
 * it is for rather than every waiting request; kept for the next requester.
 */
typedef struct waiter waiter_t;
struct waiter {
    apr_thread_cond_t *cond;
    waiter_t *next;
};

struct clerk_courier {
    clerk_store_t store;
    unsigned queue_len;
    apr_size_t max_value;

    apr_thread_t *thread;
    /* The thread's alone (and the cleanup's, once it is joined): */
    unsigned char *buf;                 /* max_value bytes: where the store answers */
    apr_pool_t *scratch;                /* unmanaged: no allocator shared with other threads */

    /* Everything below is guarded by lock. */
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *work;            /* signalled when an errand is queued, or to stop */
    errand_t *head, *tail;
    unsigned queued;
    waiter_t *idle;
    apr_pool_t *waiters;                /* unmanaged: where the waiters are made */
    apr_time_t rest_until;
    apr_interval_time_t next_rest;
    int stop;
    int busy;                           /* the thread is making a call */
    apr_thread_cond_t *drained;         /* signalled when nothing is queued or being made */
    clerk_courier_stats_t stats;        /* but resting, computed when asked */
};

apr_interval_time_t clerk_courier_longer_rest(apr_interval_time_t rest)
{
    return rest >= CLERK_COURIER_MAX_REST / 2 ? CLERK_COURIER_MAX_REST : 2 * rest;
}

static void errand_free(errand_t *e)
{
    if (e->is_get)
        free(e->value);
    free(e);
}

/* An errand for key, with room for extra bytes after the key; NULL when out of memory. */
static errand_t *errand_new(const char *key, int is_get, apr_size_t extra)
{
    apr_size_t klen = strlen(key);
    errand_t *e = malloc(sizeof(*e) + klen + 1 + extra);

    if (!e)
        return NULL;
    memset(e, 0, sizeof(*e));
    e->is_get = is_get;
    memcpy(e->key, key, klen + 1);
    return e;
}

static void enqueue(clerk_courier_t *c, errand_t *e)
{
    if (c->tail)
        c->tail->next = e;
    else
        c->head = e;
    c->tail = e;
    c->queued++;
    apr_thread_cond_signal(c->work);
}

static errand_t *dequeue(clerk_courier_t *c)
{
    errand_t *e = c->head;

    if (e) {
        c->head = e->next;
        if (!c->head)
            c->tail = NULL;
        c->queued--;
    }
    return e;
}

/* Under the lock: the thread lets go of a lookup, answering it rv unless it already is. */
static void answer(errand_t *e, apr_status_t rv)
{
    if (!e->answered) {
        e->answered = 1;
        e->rv = rv;
        if (e->wake)
            apr_thread_cond_signal(e->wake);
    }
    if (--e->holders == 0)
        errand_free(e);
}

/*
 * Under the lock: begin a rest at now, unless one is on already (the
 * requesters given up on during one slow call rest the store once, not once
 * each).  What waits in the queue would only meet the same store: lookups
 * are answered at once rather than at their timeout, stores are dropped.
 */
static void rest(clerk_courier_t *c, apr_time_t now)
{
    errand_t *e;

    if (now < c->rest_until)
        return;
    c->rest_until = now + c->next_rest;
    c->next_rest = clerk_courier_longer_rest(c->next_rest);
    while ((e = dequeue(c)) != NULL) {
        if (!e->abandoned)
            c->stats.refused++;
        if (e->is_get)
            answer(e, APR_EAGAIN);
        else
            errand_free(e);
    }
}

/*
 * The store call for e, without the lock.  Returns what the store did; a
 * lookup's answer goes to e->rv, and its value to e->value.
 */
static apr_status_t perform(clerk_courier_t *c, errand_t *e)
{
    apr_status_t rv;
    apr_size_t len = c->max_value;

    if (!e->is_get)
        return c->store.put(c->store.baton, e->key, e->expiry, e->value, e->len, c->scratch);
    rv = c->store.get(c->store.baton, e->key, c->buf, &len, c->scratch);
    if (rv == APR_ENOSPC || (rv == APR_SUCCESS && len > c->max_value))
        rv = APR_NOTFOUND;
    e->rv = rv;
    if (rv == APR_SUCCESS) {
        /* The value's own size: a courier's buffer is max_value, most values far less. */
        e->value = malloc(len ? len : 1);
        if (e->value) {
            memcpy(e->value, c->buf, len);
            e->len = len;
        } else
            e->rv = APR_ENOMEM;
    }
    return rv;
}

/* Under the lock: what the store did with e. */
static void settle(clerk_courier_t *c, errand_t *e, apr_status_t stored)
{
    apr_time_t now = apr_time_now();

    if (stored == APR_SUCCESS || stored == APR_NOTFOUND) {
        /* A success that comes while resting is the late answer that began the rest. */
        if (now >= c->rest_until)
            c->next_rest = FIRST_REST;
    } else {
        c->stats.failures++;
        rest(c, now);
    }
    if (e->is_get)
        answer(e, e->rv);
    else {
        if (stored == APR_SUCCESS)
            c->stats.puts++;
        errand_free(e);
    }
}

static void *APR_THREAD_FUNC run(apr_thread_t *thread, void *data)
{
    clerk_courier_t *c = data;
    errand_t *e;

    apr_thread_mutex_lock(c->lock);
    for (;;) {
        while (!c->head && !c->stop)
            apr_thread_cond_wait(c->work, c->lock);
        if (c->stop)
            break;
        e = dequeue(c);
        if (e->is_get && e->abandoned) {
            answer(e, APR_TIMEUP);      /* nobody waits for it: not worth a call */
            continue;
        }
        c->busy = 1;
        apr_thread_mutex_unlock(c->lock);
        apr_status_t stored = perform(c, e);
        apr_pool_clear(c->scratch);
        apr_thread_mutex_lock(c->lock);
        c->busy = 0;
        settle(c, e, stored);
        if (!c->head)
            apr_thread_cond_broadcast(c->drained);
    }
    apr_thread_mutex_unlock(c->lock);
    /* Returns rather than apr_thread_exit(): see the JWKS refresher (ASan and pthread_exit). */
    return NULL;
}

/*
 * pchild's pre-cleanup (before the thread's own pool, a sub-pool, goes):
 * the thread ends after the store call in progress and is joined; what is
 * still queued is never made.  Also what a failed clerk_courier_create
 * undoes, hence the checks.
 */
static apr_status_t stop_courier(void *data)
{
    clerk_courier_t *c = data;
    apr_status_t rv;
    errand_t *e;

    if (c->thread) {
        apr_thread_mutex_lock(c->lock);
        c->stop = 1;
        apr_thread_cond_signal(c->work);
        apr_thread_mutex_unlock(c->lock);
        apr_thread_join(&rv, c->thread);
        c->thread = NULL;
    }
    while ((e = dequeue(c)) != NULL) {
        if (e->is_get)
            answer(e, APR_EAGAIN);
        else
            errand_free(e);
    }
    free(c->buf);
    c->buf = NULL;
    if (c->scratch)
        apr_pool_destroy(c->scratch);
    c->scratch = NULL;
    if (c->waiters)
        apr_pool_destroy(c->waiters);
    c->waiters = NULL;
    c->idle = NULL;
    return APR_SUCCESS;
}

static apr_status_t start(clerk_courier_t *c, apr_pool_t *pchild)
{
    apr_thread_t *thread;
    apr_status_t rv;

    if (!(c->buf = malloc(c->max_value)))
        return APR_ENOMEM;
    if ((rv = apr_pool_create_unmanaged_ex(&c->scratch, NULL, NULL)) != APR_SUCCESS
        || (rv = apr_pool_create_unmanaged_ex(&c->waiters, NULL, NULL)) != APR_SUCCESS
        || (rv = apr_thread_mutex_create(&c->lock, APR_THREAD_MUTEX_DEFAULT, pchild))
               != APR_SUCCESS
        || (rv = apr_thread_cond_create(&c->work, pchild)) != APR_SUCCESS
        || (rv = apr_thread_cond_create(&c->drained, pchild)) != APR_SUCCESS
        || (rv = clerk_background_thread_start(&thread, "clerk-courier", run, c, pchild))
               != APR_SUCCESS)
        return rv;
    c->thread = thread;
    return APR_SUCCESS;
}

apr_status_t clerk_courier_create(clerk_courier_t **out, apr_pool_t *pchild,
                                  const clerk_store_t *store, unsigned queue_len,
                                  apr_size_t max_value)
{
    clerk_courier_t *c;
    apr_status_t rv;

    if (!store->get || !store->put || queue_len == 0 || max_value == 0)
        return APR_EINVAL;
    c = apr_pcalloc(pchild, sizeof(*c));
    c->store = *store;
    c->queue_len = queue_len;
    c->max_value = max_value;
    c->next_rest = FIRST_REST;
    apr_pool_pre_cleanup_register(pchild, c, stop_courier);
    if ((rv = start(c, pchild)) != APR_SUCCESS) {
        stop_courier(c);
        return rv;
    }
    *out = c;
    return APR_SUCCESS;
}

/* Under the lock: new errands are refused while resting, when full, and once stopping. */
static int refuses(const clerk_courier_t *c, apr_time_t now)
{
    return now < c->rest_until || c->queued >= c->queue_len || c->stop;
}

/* Under the lock: a waiter, or NULL when none could be made. */
static waiter_t *waiter_take(clerk_courier_t *c)
{
    waiter_t *w = c->idle;

    if (w) {
        c->idle = w->next;
        return w;
    }
    w = apr_palloc(c->waiters, sizeof(*w));
    return apr_thread_cond_create(&w->cond, c->waiters) == APR_SUCCESS ? w : NULL;
}

static void waiter_give_back(clerk_courier_t *c, waiter_t *w)
{
    w->next = c->idle;
    c->idle = w;
}

apr_status_t clerk_courier_get(clerk_courier_t *c, const char *key, apr_interval_time_t timeout,
                               apr_pool_t *p, unsigned char **value, apr_size_t *len)
{
    apr_time_t now = apr_time_now(), deadline = now + timeout;
    errand_t *e = errand_new(key, 1, 0);
    waiter_t *w = NULL;
    apr_status_t rv;

    apr_thread_mutex_lock(c->lock);
    c->stats.gets++;
    if (refuses(c, now)) {
        c->stats.refused++;
        apr_thread_mutex_unlock(c->lock);
        free(e);
        return APR_EAGAIN;
    }
    if (!e || !(w = waiter_take(c))) {
        apr_thread_mutex_unlock(c->lock);
        free(e);
        return APR_ENOMEM;
    }
    e->holders = 2;
    e->wake = w->cond;
    enqueue(c, e);
    /* Woken by its answer, or spuriously, or by nothing until the deadline. */
    while (!e->answered && (now = apr_time_now()) < deadline)
        apr_thread_cond_timedwait(w->cond, c->lock, deadline - now);
    e->wake = NULL;
    waiter_give_back(c, w);
    if (!e->answered) {
        /* The thread, which still holds e, frees it once its call is over. */
        e->abandoned = 1;
        e->holders--;
        c->stats.late++;
        rest(c, now);
        apr_thread_mutex_unlock(c->lock);
        return APR_TIMEUP;
    }
    /* The thread let go of e as it answered: e is the requester's alone. */
    e->holders--;
    rv = e->rv;
    if (rv == APR_SUCCESS)
        c->stats.hits++;
    else if (rv == APR_NOTFOUND)
        c->stats.misses++;
    apr_thread_mutex_unlock(c->lock);
    if (rv == APR_SUCCESS) {
        *value = apr_pmemdup(p, e->value, e->len);
        *len = e->len;
    }
    errand_free(e);
    return rv;
}

apr_status_t clerk_courier_put(clerk_courier_t *c, const char *key, apr_time_t expiry,
                               const unsigned char *value, apr_size_t len)
{
    errand_t *e;

    if (len > c->max_value)
        return APR_EINVAL;
    if (!(e = errand_new(key, 0, len)))
        return APR_ENOMEM;
    e->value = (unsigned char *)e->key + strlen(key) + 1;
    memcpy(e->value, value, len);
    e->len = len;
    e->expiry = expiry;
    apr_thread_mutex_lock(c->lock);
    if (refuses(c, apr_time_now())) {
        c->stats.refused++;
        apr_thread_mutex_unlock(c->lock);
        free(e);
        return APR_EAGAIN;
    }
    enqueue(c, e);
    apr_thread_mutex_unlock(c->lock);
    return APR_SUCCESS;
}

apr_status_t clerk_courier_drain(clerk_courier_t *c, apr_interval_time_t timeout)
{
    apr_time_t now = apr_time_now(), deadline = now + timeout;
    apr_status_t rv;

    apr_thread_mutex_lock(c->lock);
    while ((c->head || c->busy) && (now = apr_time_now()) < deadline)
        apr_thread_cond_timedwait(c->drained, c->lock, deadline - now);
    rv = c->head || c->busy ? APR_TIMEUP : APR_SUCCESS;
    apr_thread_mutex_unlock(c->lock);
    return rv;
}

void clerk_courier_stats(clerk_courier_t *c, clerk_courier_stats_t *out)
{
    apr_thread_mutex_lock(c->lock);
    *out = c->stats;
    out->resting = apr_time_now() < c->rest_until;
    apr_thread_mutex_unlock(c->lock);
}
