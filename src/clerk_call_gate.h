/*
 * A bound on how many threads of one process may be waiting on Backend API
 * calls at once.  The call budget (clerk_call_budget.h) bounds the rate;
 * this bounds the threads a slow or unreachable Backend API can hold: with
 * the event MPM, a flood of requests each waiting out its HTTP timeout
 * would otherwise take every worker of the process, and JWT requests, which
 * need no call, would queue behind them.  Past the bound the module refuses
 * at once (503) instead of waiting.
 *
 * One atomic counter per process.  Created in child_init, or before fork:
 * each child's copy is then its own counter, which is what is wanted.
 */
#ifndef CLERK_CALL_GATE_H
#define CLERK_CALL_GATE_H

#include <apr_pools.h>

typedef struct clerk_call_gate clerk_call_gate_t;

/* A gate letting in up to limit (>= 1) threads at once, in p; NULL when limit is 0. */
clerk_call_gate_t *clerk_call_gate_create(apr_pool_t *p, unsigned limit);

/*
 * 1 when the calling thread is let in (it must call clerk_call_gate_leave
 * once its call is over), 0 when limit threads are already in.
 */
int clerk_call_gate_try_enter(clerk_call_gate_t *g);

void clerk_call_gate_leave(clerk_call_gate_t *g);

#endif
