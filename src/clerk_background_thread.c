#include "clerk_background_thread.h"

#include <apr_portable.h>
#include <pthread.h>
#include <signal.h>

apr_status_t clerk_background_thread_start(apr_thread_t **out, const char *name,
                                           apr_thread_start_t fn, void *data, apr_pool_t *p)
{
    static const int faults[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS};
    sigset_t blocked, saved;
    apr_status_t rv;

    /*
     * The thread inherits the mask in force when it is created.  Without
     * this (prefork: the creating thread blocks none) SIGTERM may run the
     * MPM's exit handler on the background thread itself, which then
     * destroys pools that thread is using (seen: abort in reslist_cleanup).
     * Faults stay deliverable: they belong to the thread that caused them.
     */
    sigfillset(&blocked);
    for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
        sigdelset(&blocked, faults[i]);
    pthread_sigmask(SIG_BLOCK, &blocked, &saved);
    rv = apr_thread_create(out, NULL, fn, data, p);
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
#ifdef __GLIBC__
    apr_os_thread_t *os;
    if (rv == APR_SUCCESS && apr_os_thread_get(&os, *out) == APR_SUCCESS)
        pthread_setname_np(*os, name);
#endif
    return rv;
}
