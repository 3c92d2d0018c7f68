#include "clerk_thread_stripe.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

_Static_assert((CLERK_STRIPES & (CLERK_STRIPES - 1)) == 0, "CLERK_STRIPES: a power of two");

/*
 * One atomic increment per thread, on its first call; every later call is
 * a thread-local read.  0 in `mine` means "not numbered yet", so ordinals
 * are stored plus one.
 */
unsigned clerk_thread_ordinal(void)
{
    static atomic_uint next;
    static _Thread_local unsigned mine;

    if (!mine)
        mine = atomic_fetch_add_explicit(&next, 1, memory_order_relaxed) + 1;
    return mine - 1;
}

void *clerk_stripes_alloc(apr_pool_t *p, apr_size_t size)
{
    const uintptr_t line = CLERK_CACHE_LINE;
    char *raw;

    if (!size || size % CLERK_CACHE_LINE)
        return NULL;
    raw = apr_palloc(p, CLERK_STRIPES * size + CLERK_CACHE_LINE);
    raw = (char *)(((uintptr_t)raw + line - 1) & ~(line - 1));
    memset(raw, 0, CLERK_STRIPES * size);
    return raw;
}
