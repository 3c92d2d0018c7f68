#include "clerk_call_gate.h"

#include <stdatomic.h>

/* C11 atomics rather than apr_atomic_*: ThreadSanitizer sees them (APR is not instrumented). */
struct clerk_call_gate {
    atomic_uint inside;
    unsigned limit;
};

clerk_call_gate_t *clerk_call_gate_create(apr_pool_t *p, unsigned limit)
{
    clerk_call_gate_t *g;

    if (limit == 0)
        return NULL;
    g = apr_palloc(p, sizeof(*g));
    atomic_init(&g->inside, 0);
    g->limit = limit;
    return g;
}

int clerk_call_gate_try_enter(clerk_call_gate_t *g)
{
    unsigned n = atomic_load_explicit(&g->inside, memory_order_relaxed);

    /*
     * Compare-and-swap, not add-then-undo: an add past the limit, even
     * undone at once, would turn away a thread that a leave in between
     * had made room for.  Relaxed: the counter guards nothing else.
     */
    do {
        if (n >= g->limit)
            return 0;
    } while (!atomic_compare_exchange_weak_explicit(&g->inside, &n, n + 1, memory_order_relaxed,
                                                    memory_order_relaxed));
    return 1;
}

void clerk_call_gate_leave(clerk_call_gate_t *g)
{
    atomic_fetch_sub_explicit(&g->inside, 1, memory_order_relaxed);
}
