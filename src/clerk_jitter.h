/*
 * A random part of a span, for spreading the processes of a fleet that
 * would otherwise act at the same instant (the key-set refreshers, the M2M
 * token renewals): the first acts for all, the others find its result.
 */
#ifndef CLERK_JITTER_H
#define CLERK_JITTER_H

#include <apr_time.h>

/* Uniform in [0, span) at 1/65536 of span (0 when span <= 0, or without randomness). */
apr_interval_time_t clerk_jitter(apr_interval_time_t span);

#endif
