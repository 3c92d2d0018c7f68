#include "clerk_call_budget.h"

#include <apr_shm.h>
#include <stdatomic.h>

/*
 * C11 atomics rather than apr_atomic_cas64: they must work between
 * processes, which only lock-free atomics do (APR falls back to a table of
 * process-local mutexes where it has no 64-bit builtins), and this assert
 * makes that a build-time fact; ThreadSanitizer also sees them (APR is not
 * instrumented).
 */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");

/*
 * Times are microseconds since the epoch, unsigned: a TAT never exceeds
 * now + tolerance + interval < 2^63 + 2^32 * 10^6, far from wrapping.
 */
typedef struct {
    _Atomic unsigned long long tat;
    unsigned long long interval;    /* emission interval, µs; 0: not configured */
    unsigned long long tolerance;   /* (burst - 1) * interval */
    _Atomic unsigned long long warned;  /* when a refusal was last reported, µs */
} bucket_t;

/* One bucket per cache line, so processes taking from different buckets do not contend. */
#define LINE 64
typedef union {
    bucket_t b;
    char pad[LINE];
} line_t;

struct clerk_call_budget {
    line_t *lines;
    unsigned n;
};

apr_status_t clerk_call_budget_create(clerk_call_budget_t **out, apr_pool_t *p,
                                      unsigned nbuckets)
{
    clerk_call_budget_t *b;
    apr_shm_t *shm;
    apr_status_t rv;
    apr_uintptr_t base;

    if (nbuckets == 0)
        return APR_EINVAL;
    /* NULL name: anonymous memory, shared with the children forked later, removed with p. */
    rv = apr_shm_create(&shm, (apr_size_t)nbuckets * sizeof(line_t) + LINE, NULL, p);
    if (rv != APR_SUCCESS)
        return rv;
    base = ((apr_uintptr_t)apr_shm_baseaddr_get(shm) + LINE - 1) & ~(apr_uintptr_t)(LINE - 1);
    b = apr_palloc(p, sizeof(*b));
    b->lines = (line_t *)base;
    b->n = nbuckets;
    for (unsigned i = 0; i < nbuckets; i++) {
        atomic_init(&b->lines[i].b.tat, 0);
        atomic_init(&b->lines[i].b.warned, 0);
        b->lines[i].b.interval = b->lines[i].b.tolerance = 0;
    }
    *out = b;
    return APR_SUCCESS;
}

apr_status_t clerk_call_budget_configure(clerk_call_budget_t *b, unsigned i,
                                         unsigned per_second, unsigned burst)
{
    bucket_t *k;

    if (i >= b->n || per_second < 1 || per_second > CLERK_CALL_BUDGET_MAX_RATE || burst < 1)
        return APR_EINVAL;
    k = &b->lines[i].b;
    /* Rounded up: the rate admitted is at most per_second, never above it. */
    k->interval = (APR_USEC_PER_SEC + per_second - 1) / per_second;
    k->tolerance = (unsigned long long)(burst - 1) * k->interval;
    atomic_store_explicit(&k->tat, 0, memory_order_relaxed);  /* full: any now is past it */
    return APR_SUCCESS;
}

/*
 * GCRA's one decision: a call at t against the theoretical arrival time tat
 * goes ahead when the later of the two precedes t by at most the tolerance,
 * and then moves it on by one interval (*next).  Else *retry_after is how
 * long until it would.
 */
static int gcra(const bucket_t *k, unsigned long long tat, unsigned long long t,
                unsigned long long *next, apr_interval_time_t *retry_after)
{
    unsigned long long from = tat > t ? tat : t;

    if (from - t > k->tolerance) {
        if (retry_after)
            *retry_after = (apr_interval_time_t)(from - t - k->tolerance);
        return 0;
    }
    *next = from + k->interval;
    return 1;
}

/* A misconfigured (unconfigured) bucket refuses, with a hint that keeps clients from spinning. */
static int unconfigured(const bucket_t *k, apr_interval_time_t *retry_after)
{
    if (k->interval)
        return 0;
    if (retry_after)
        *retry_after = APR_USEC_PER_SEC;
    return 1;
}

int clerk_call_budget_take(clerk_call_budget_t *b, unsigned i, apr_time_t now,
                           apr_interval_time_t *retry_after)
{
    bucket_t *k = &b->lines[i].b;
    unsigned long long t = now > 0 ? (unsigned long long)now : 0;
    unsigned long long tat = atomic_load_explicit(&k->tat, memory_order_relaxed), next;

    if (unconfigured(k, retry_after))
        return 0;
    /* Relaxed: the TAT is the only shared state, and the CAS orders every change to it. */
    do {
        if (!gcra(k, tat, t, &next, retry_after))
            return 0;
    } while (!atomic_compare_exchange_weak_explicit(&k->tat, &tat, next, memory_order_relaxed,
                                                    memory_order_relaxed));
    return 1;
}

int clerk_call_budget_apply(const clerk_call_budget_t *b, unsigned i, apr_uint64_t *tat,
                            apr_time_t now, apr_interval_time_t *retry_after)
{
    const bucket_t *k = &b->lines[i].b;
    unsigned long long t = now > 0 ? (unsigned long long)now : 0, next;

    if (unconfigured(k, retry_after) || !gcra(k, *tat, t, &next, retry_after))
        return 0;
    *tat = next;
    return 1;
}

int clerk_call_budget_warn_due(clerk_call_budget_t *b, unsigned i, apr_time_t now,
                               apr_interval_time_t interval)
{
    bucket_t *k = &b->lines[i].b;
    unsigned long long t = now > 0 ? (unsigned long long)now : 0;
    unsigned long long last = atomic_load_explicit(&k->warned, memory_order_relaxed);

    if (last && (t < last || t - last < (unsigned long long)interval))
        return 0;
    /* one process wins the exchange; the others were not first to see it due */
    return atomic_compare_exchange_strong_explicit(&k->warned, &last, t ? t : 1,
                                                   memory_order_relaxed, memory_order_relaxed);
}
