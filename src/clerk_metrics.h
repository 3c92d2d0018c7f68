/*
 * The module's counters, shared by every process of one httpd (SetHandler
 * clerk-status, the Clerk section of server-status).  A fixed layout of
 * 64-bit counters in anonymous shared memory that the parent makes in
 * post_config, before the children fork (as clerk_call_budget.c does for
 * the Backend API budget): prefork's children and the threads of worker
 * and event all count into one place.  A count is one relaxed atomic
 * increment: no lock, nothing a dying child could leave held.  What every
 * request counts is kept in stripes, a thread counting into its own (see
 * clerk_metrics_child_init), so that no cache line is written by every
 * thread of every process.  Readers see each counter exactly, and the
 * counters together as of slightly different moments (a histogram's
 * _count is its +Inf bucket, so those agree).
 *
 * Per key source (one slot per source of the server configuration, plus
 * one for all sources named in .htaccess files) the fetches of every
 * process are counted too, with the time and result of the latest one;
 * what a process holds now (the kids in force, the age of its snapshot) is
 * that process's own and is passed in by the caller when it reports.
 *
 * Never a token, a secret or a user id: the only strings reported are the
 * fixed names below, reason names, kids (public) and source URLs without
 * their query or user info.
 */
#ifndef CLERK_METRICS_H
#define CLERK_METRICS_H

#include <apr_pools.h>
#include <apr_shm.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "clerk_cache_courier.h"
#include "clerk_claims.h"
#include "clerk_reason.h"

typedef struct clerk_metrics clerk_metrics_t;

/* Signed-in requests by token type: index of the CLERK_TYPE_* bit. */
#define CLERK_METRICS_TYPES 4

/* The handshakes of the browser flow by Clerk's reason (fixed set, then "other"). */
typedef enum {
    CLERK_HS_DEV_BROWSER_SYNC,
    CLERK_HS_DEV_BROWSER_MISSING,
    CLERK_HS_SESSION_TOKEN_BUT_NO_CLIENT_UAT,
    CLERK_HS_CLIENT_UAT_BUT_NO_SESSION_TOKEN,
    CLERK_HS_SESSION_TOKEN_IAT_BEFORE_CLIENT_UAT,
    CLERK_HS_SESSION_TOKEN_EXPIRED_REFRESH,     /* session-token-expired-refresh-<any> */
    CLERK_HS_SESSION_TOKEN_NBF,
    CLERK_HS_SESSION_TOKEN_IAT_IN_THE_FUTURE,
    CLERK_HS_SATELLITE_NEEDS_SYNCING,
    CLERK_HS_PRIMARY_RESPONDS_TO_SYNCING,
    CLERK_HS_PRIMARY_DOMAIN_CROSS_ORIGIN_SYNC,
    CLERK_HS_ACTIVE_ORGANIZATION_MISMATCH,
    CLERK_HS_OTHER,
    CLERK_HS_COUNT
} clerk_hs_reason_t;

/* The outcome of a request's authentication (clerk_auth_state_t, same order). */
#define CLERK_METRICS_STATES 7

typedef enum {
    CLERK_CALL_VERIFY,          /* opaque token verification */
    CLERK_CALL_HANDSHAKE,       /* handshake payload of a nonce */
    CLERK_CALL_REFRESH,         /* session refresh */
    CLERK_CALL_M2M_CREATE,      /* an M2M token for proxied requests (ClerkProxyMachineToken) */
    CLERK_CALL_ENDPOINTS
} clerk_call_endpoint_t;

/* A call's outcome: clerk_bapi_outcome_t's values, in their order. */
#define CLERK_CALL_OUTCOMES 3

/* Why a Backend API call was not made. */
typedef enum {
    CLERK_DROP_BUDGET,          /* ClerkBackendAPIBudget spent */
    CLERK_DROP_WAITING,         /* ClerkBackendAPIMaxWaiting threads already wait */
    CLERK_DROP_KINDS
} clerk_drop_t;

/* The latency histogram's upper bounds, seconds (then +Inf). */
#define CLERK_METRICS_BUCKETS 11
extern const double clerk_metrics_bucket_le[CLERK_METRICS_BUCKETS];

typedef enum {
    CLERK_CACHE_HIT, CLERK_CACHE_MISS, CLERK_CACHE_INSERT, CLERK_CACHE_EVICTION,
    CLERK_CACHE_EVENTS
} clerk_cache_event_t;

/*
 * The counters in the anonymous segment *shm when it holds this build's
 * layout (the segment of an earlier configuration generation, kept over a
 * restart), else in a new one made in keep, all zero; *shm is set to the
 * segment used.  The handle lives in p.  In the parent, before the
 * children fork.
 */
apr_status_t clerk_metrics_open(clerk_metrics_t **out, apr_pool_t *p, apr_pool_t *keep,
                                apr_shm_t **shm);

/*
 * nsources slots for key sources (the last one, by convention, for all the
 * sources of .htaccess files), zero, in a segment of their own in p (they
 * follow the configuration: a new generation starts them anew).  Before the
 * children fork.
 */
apr_status_t clerk_metrics_sources(clerk_metrics_t *m, apr_pool_t *p, unsigned nsources);
unsigned clerk_metrics_source_count(const clerk_metrics_t *m);

/*
 * In each child, before it serves: where its threads' request stripes
 * begin, one child after another (threads: the MPM's threads per child).
 * Without it a process counts from stripe 0.
 */
void clerk_metrics_child_init(clerk_metrics_t *m, unsigned threads);

/* ---- counting: any process, any thread; m may be NULL (nothing counted) ---- */

/* An authentication's outcome: state (clerk_auth_state_t), with its type or reason. */
void clerk_metrics_outcome(clerk_metrics_t *m, unsigned state, clerk_token_type_t type,
                           clerk_reason_t reason, const char *handshake_reason);
void clerk_metrics_cache(clerk_metrics_t *m, clerk_cache_event_t ev);
/* outcome: a clerk_bapi_outcome_t value; elapsed: how long the call took */
void clerk_metrics_call(clerk_metrics_t *m, clerk_call_endpoint_t ep, unsigned outcome,
                        apr_interval_time_t elapsed);
void clerk_metrics_drop(clerk_metrics_t *m, clerk_call_endpoint_t ep, clerk_drop_t why);
/* A fetch of source slot i (out of range: not counted) ended at when. */
void clerk_metrics_fetch(clerk_metrics_t *m, unsigned slot, int ok, apr_time_t when);

/* The handshake reason's bucket. */
clerk_hs_reason_t clerk_metrics_hs_reason(const char *why);
const char *clerk_metrics_hs_name(clerk_hs_reason_t r);
/* "session", "m2m", "oauth", "api_key" by index */
const char *clerk_metrics_type_name(unsigned i);
const char *clerk_metrics_state_name(unsigned state);
const char *clerk_metrics_endpoint_name(clerk_call_endpoint_t ep);
const char *clerk_metrics_outcome_name(unsigned outcome);

/* ---- reporting ---- */

/* What the reporting process knows of key source slot i, beyond the shared counts. */
typedef struct {
    const char *url;                    /* reported without query and user info */
    int loaded;                         /* this process holds keys */
    apr_time_t fetched_at;              /* when they were last confirmed */
    const apr_array_header_t *kids;     /* const char * (NULL entries: keys without one) */
} clerk_metrics_source_view_t;

/*
 * The report: views[i] for source slot i (nviews of them; NULL url: the slot
 * is not reported), pid the reporting process, now the time.
 */
typedef struct {
    const clerk_metrics_source_view_t *views;
    unsigned nviews;
    long pid;
    apr_time_t now, started;            /* started: when the counters began */
    /*
     * The shared cache (ClerkCache): its provider (NULL: none), and when this
     * process has one, what its courier did and the values that did not open.
     */
    const char *shared_cache;
    int shared_stats;
    clerk_courier_stats_t shared;
    apr_uint64_t shared_rejected;
} clerk_metrics_report_t;

/* JSON (an object; see README "Metrics and server-status"). */
char *clerk_metrics_json(apr_pool_t *p, const clerk_metrics_t *m,
                         const clerk_metrics_report_t *rep);
/* Prometheus text exposition format 0.0.4. */
char *clerk_metrics_prometheus(apr_pool_t *p, const clerk_metrics_t *m,
                               const clerk_metrics_report_t *rep);
/* "Key: value" lines (mod_status ?auto, and its HTML table): name, value, ... */
apr_array_header_t *clerk_metrics_flat(apr_pool_t *p, const clerk_metrics_t *m);

/* When these counters began (the segment's creation). */
apr_time_t clerk_metrics_started(const clerk_metrics_t *m);

/* A URL as it may be reported: without user info, query and fragment. */
const char *clerk_metrics_safe_url(apr_pool_t *p, const char *url);

#endif
