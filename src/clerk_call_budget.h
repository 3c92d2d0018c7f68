/*
 * A budget of Backend API calls shared by every process of one httpd, so
 * that no flood of opaque tokens or handshake nonces — well-formed, unknown
 * to every memory — can spend the instance's Backend API rate limit: past
 * the budget the module refuses the request itself (503 with Retry-After)
 * instead of asking Clerk.  A prefork httpd has many children, so a
 * per-process budget would be multiplied by their number; this one lives
 * in anonymous shared memory that the parent creates in post_config and
 * every child inherits over fork.
 *
 * Each bucket is a token bucket kept as GCRA (the generic cell rate
 * algorithm): one 64-bit "theoretical arrival time" (TAT, microseconds) a
 * call at `now` may not precede by more than the burst allows; a call that
 * goes ahead moves it on by one emission interval (1/rate).  One word per
 * bucket, updated by compare-and-swap, so no lock is shared between
 * processes (a child dying while holding one would stop them all).
 *
 * The clock may go backwards or jump: a call is admitted only against the
 * later of the TAT and now, so a `now` earlier than a previous one never
 * admits more than the budget; it admits less until the clock catches up.
 */
#ifndef CLERK_CALL_BUDGET_H
#define CLERK_CALL_BUDGET_H

#include <apr_pools.h>
#include <apr_time.h>

typedef struct clerk_call_budget clerk_call_budget_t;

/* Bound on per_second: the emission interval must be at least 1 µs. */
#define CLERK_CALL_BUDGET_MAX_RATE 1000000u

/*
 * nbuckets (>= 1) buckets in one anonymous shared memory segment, created in
 * p — in the parent, before the children fork (post_config in pconf), so
 * that they all share it.  Every bucket admits nothing until configured.
 */
apr_status_t clerk_call_budget_create(clerk_call_budget_t **out, apr_pool_t *p,
                                      unsigned nbuckets);

/*
 * Bucket i admits per_second calls a second (1..CLERK_CALL_BUDGET_MAX_RATE)
 * with bursts of up to burst calls (>= 1), starting full.  APR_EINVAL for a
 * value out of range.  In the parent, before the children fork: it is not
 * atomic with respect to clerk_call_budget_take.
 */
apr_status_t clerk_call_budget_configure(clerk_call_budget_t *b, unsigned i,
                                         unsigned per_second, unsigned burst);

/*
 * 1 when a call charged to bucket i (< nbuckets) may go ahead at now (it is
 * counted); 0 when the budget is spent, and then *retry_after (when not
 * NULL) is how long until one call would be admitted.
 */
int clerk_call_budget_take(clerk_call_budget_t *b, unsigned i, apr_time_t now,
                           apr_interval_time_t *retry_after);

/*
 * Bucket i's rate and burst applied to a TAT kept elsewhere (*tat, 0 for a
 * full bucket): the fleet's, which the shared cache holds (ClerkCache).  1
 * with *tat moved on when the call may go ahead; 0 with *retry_after.  The
 * caller stores *tat back; two servers doing so at once may both be admitted.
 */
int clerk_call_budget_apply(const clerk_call_budget_t *b, unsigned i, apr_uint64_t *tat,
                            apr_time_t now, apr_interval_time_t *retry_after);

/*
 * Whether a refusal of bucket i should be reported now: 1 for at most one
 * caller, in all processes together, per interval, so that a client who keeps
 * the budget spent cannot flood the error log from every child.
 */
int clerk_call_budget_warn_due(clerk_call_budget_t *b, unsigned i, apr_time_t now,
                               apr_interval_time_t interval);

#endif
