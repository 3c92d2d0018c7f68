/*
 * Whether a report of a recurring condition may be logged now: at most one
 * per interval seconds per gate (a static or per-object word), for every
 * thread of the process, so that whoever can make the condition recur (a
 * client, a writer to the shared cache) cannot flood the error log.
 */
#ifndef CLERK_LOG_GATE_H
#define CLERK_LOG_GATE_H

#include <apr_atomic.h>
#include <apr_time.h>

static inline int clerk_log_gate_open(volatile apr_uint32_t *last, apr_uint32_t interval)
{
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(apr_time_now()), then = apr_atomic_read32(last);

    return (!then || now - then >= interval) && apr_atomic_cas32(last, now, then) == then;
}

#endif
