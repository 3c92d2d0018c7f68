/*
 * Stripes: what every request thread updates (a reference count, a list of
 * idle contexts, a counter) is kept CLERK_STRIPES times over, each copy on
 * cache lines of its own, and a thread uses the copy of its stripe.  A
 * thread's stripe never changes, so on a many-core server two threads
 * contend only when they share a stripe and run at the same moment, and no
 * cache line is written by every thread (issue 13: no lock or atomic
 * read-modify-write shared by all threads on the path of a request).
 *
 * A stripe is not exclusive: more threads than stripes share them, so what
 * a stripe holds is still guarded (its own mutex, or atomic operations);
 * striping removes contention, never a guard.
 */
#ifndef CLERK_THREAD_STRIPE_H
#define CLERK_THREAD_STRIPE_H

#include <apr_pools.h>

/* A power of two: a stripe is picked with a mask. */
#define CLERK_STRIPES 16u

/* The alignment and the padding of a stripe: one cache line. */
#define CLERK_CACHE_LINE 64u

/*
 * This thread's ordinal in its process: 0 for the first thread that asks,
 * 1 for the next, and so on, fixed for the thread's life.  Numbering in
 * order of first use rather than hashing the thread id spreads the threads
 * of a pool evenly: consecutive threads get consecutive stripes.
 */
unsigned clerk_thread_ordinal(void);

/* This thread's stripe, 0 .. CLERK_STRIPES - 1. */
static inline unsigned clerk_thread_stripe(void)
{
    return clerk_thread_ordinal() & (CLERK_STRIPES - 1);
}

/*
 * An array of CLERK_STRIPES stripes of `size` bytes each, zeroed, starting
 * on a cache line boundary, in p.  size is a whole number of cache lines
 * (a stripe type is a union padded to them), so that no two stripes share
 * a line; NULL otherwise.
 */
void *clerk_stripes_alloc(apr_pool_t *p, apr_size_t size);

#endif
