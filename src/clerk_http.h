/*
 * Outbound HTTP(S) for key sets and Clerk's Backend API: libcurl easy handles
 * pooled in an apr_reslist, so connections and TLS sessions are reused.  A
 * client is created per process after fork (no handle crosses a fork) and is
 * safe to use from several threads.  TLS peer and host verification are
 * always on; plain http is accepted only for loopback hosts (local fakes and
 * sidecars); redirects are followed only to the same origin (scheme, host
 * and port: the request headers, which may carry a secret, go along); bodies
 * are bounded after content decoding (gzip accepted), so a compressed bomb
 * cannot grow past the bound; every request has a total timeout.
 */
#ifndef CLERK_HTTP_H
#define CLERK_HTTP_H

#include <apr_pools.h>
#include <apr_tables.h>

#define CLERK_HTTP_MAX_BODY (1u << 20)
#define CLERK_HTTP_MAX_REDIRECTS 3

typedef struct clerk_http_opts {
    long timeout_ms;            /* total time for one request, redirects included */
    const char *ca_file;        /* NULL: the system store */
    const char *proxy;          /* NULL: none (curl's *_proxy variables are ignored) */
    apr_size_t max_body;        /* 0: CLERK_HTTP_MAX_BODY */
    /*
     * NULL, or a flag (apr_atomic_set32) that aborts a transfer in progress
     * within about a second once non-zero, so that a hung server cannot hold
     * up a process that is stopping.
     */
    volatile apr_uint32_t *cancel;
} clerk_http_opts_t;

typedef struct clerk_http clerk_http_t;

typedef struct clerk_http_response {
    int status;                 /* HTTP status, 0 when no response */
    const char *body;           /* NUL-terminated */
    apr_size_t len;
    const char *error;          /* set when the request failed (no secrets) */
} clerk_http_response_t;

/* Once per process, before any thread exists (curl_global_init). */
void clerk_http_global_init(void);

/*
 * Whether url may be fetched at all: https, or http to 127.0.0.0/8, ::1 or
 * localhost.  Returns NULL or an error message.
 */
const char *clerk_http_check_url(apr_pool_t *p, const char *url);

/* A client with a pool of at most max_handles easy handles, living in p. */
apr_status_t clerk_http_create(apr_pool_t *p, const clerk_http_opts_t *opts,
                               int max_handles, clerk_http_t **out);

/*
 * One request.  headers: const char * "Name: value" entries, may be NULL.
 * body: request body for POST (NULL for GET).  Returns APR_SUCCESS when a
 * response arrived (any status); the response lives in p.
 */
apr_status_t clerk_http_request(clerk_http_t *http, apr_pool_t *p, const char *method,
                                const char *url, const apr_array_header_t *headers,
                                const char *body, clerk_http_response_t *resp);

#endif
