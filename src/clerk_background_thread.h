/*
 * The threads the module starts in a serving process of its own (the JWKS
 * refresher, the shared cache's courier): born with every asynchronous
 * signal blocked, so that signals meant for the process reach the threads
 * that serve requests, and named, for ps -L, top -H and /proc.
 */
#ifndef CLERK_BACKGROUND_THREAD_H
#define CLERK_BACKGROUND_THREAD_H

#include <apr_pools.h>
#include <apr_thread_proc.h>

/* apr_thread_create(out, NULL, fn, data, p), the thread named name (at most 15 bytes). */
apr_status_t clerk_background_thread_start(apr_thread_t **out, const char *name,
                                           apr_thread_start_t fn, void *data, apr_pool_t *p);

#endif
