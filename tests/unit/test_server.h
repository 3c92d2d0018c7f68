/*
 * A tiny HTTP/1.1 server for the unit tests of the network code
 * (test_http.c, test_jwks_cache.c, test_backend_api.c): one thread, a listening APR socket on
 * 127.0.0.1 with an ephemeral port, one connection at a time, every answer
 * with "Connection: close".
 *
 * Routes are set by the test while the server runs (everything shared is
 * guarded by one mutex, so ThreadSanitizer sees the ordering):
 *
 *   test_server_t *ts = ts_start();
 *   ts_route(ts, "/jwks", 200, NULL, body);           one body
 *   ts_route_bodies(ts, "/jwks", 2, bodies);          bodies served in turn
 *   ts_route_slow(ts, "/hang", 60000, 0);             answer after 60 s (a hang)
 *   ts_route_slow(ts, "/drip", 0, 200);               a body byte every 200 ms
 *   ts_url(ts, p, "/jwks")                            http://127.0.0.1:<port>/jwks
 *   ts_hits(ts, "/jwks"), ts_requests(ts), ts_last_head(ts, p)
 *   ts_last_body(ts, p)                               the last request's body (Content-Length)
 *   ts_stop(ts);                                      joins the thread, frees all
 *   ts_group_setup(state, &srv), ts_group_teardown(state, &srv)
 *                                                     one server shared by a binary's tests
 *   ts_client(p, timeout_ms, max_body, max_handles)   a clerk_http_t client
 *
 * Bodies and header strings are the caller's and must outlive the server
 * (literals, or memory of the test's pool); paths are copied.  A request for
 * a path without a route gets 404.  Slow answers give up at once when the
 * server stops, so ts_stop never waits for a "hang".
 */
#ifndef TEST_SERVER_H
#define TEST_SERVER_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_network_io.h>
#include <apr_poll.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>
#include <apr_time.h>

#include "clerk_http.h"
#include "unit.h"

#define TS_MAX_ROUTES 32
#define TS_MAX_BODIES 4
#define TS_HEAD_MAX 8192
#define TS_BODY_MAX 65536

typedef struct ts_route {
    char path[256];
    int status;
    const char *headers;                /* extra header lines, each ending "\r\n"; or NULL */
    const char *bodies[TS_MAX_BODIES];  /* served in turn */
    apr_size_t lens[TS_MAX_BODIES];
    int nbodies;
    int delay_ms;                       /* wait before answering */
    int drip_ms;                        /* wait before each body byte */
    unsigned hits;
} ts_route_t;

typedef struct test_server {
    apr_pool_t *pool;                   /* unmanaged; used by the server thread only */
    apr_socket_t *listener;
    apr_port_t port;
    apr_thread_t *thread;
    apr_thread_mutex_t *lock;           /* guards everything below */
    ts_route_t routes[TS_MAX_ROUTES];
    int nroutes;
    unsigned requests;
    char last_head[TS_HEAD_MAX];
    char last_body[TS_BODY_MAX];        /* NUL-terminated, cut at TS_BODY_MAX - 1 */
    unsigned stop;
} test_server_t;

static inline void ts_die(const char *what, apr_status_t rv)
{
    char buf[256];
    fprintf(stderr, "test server: %s: %s\n", what, apr_strerror(rv, buf, sizeof(buf)));
    abort();
}

/* A counter or flag of ts, read under the lock the server thread writes it under. */
static inline unsigned ts_read_locked(test_server_t *ts, const unsigned *field)
{
    unsigned value;
    apr_thread_mutex_lock(ts->lock);
    value = *field;
    apr_thread_mutex_unlock(ts->lock);
    return value;
}

static inline int ts_stopping(test_server_t *ts)
{
    return ts_read_locked(ts, &ts->stop) != 0;
}

/*
 * Wait ms, in slices, unless the server stops or the client hangs up (so a
 * "hang" the client gave up on does not hold up the next connection);
 * returns 1 when the answer should be abandoned.
 */
static inline int ts_nap(test_server_t *ts, apr_socket_t *s, apr_pool_t *p, int ms)
{
    apr_pollfd_t pfd;

    memset(&pfd, 0, sizeof(pfd));
    pfd.p = p;
    pfd.desc_type = APR_POLL_SOCKET;
    pfd.reqevents = APR_POLLIN;
    pfd.desc.s = s;
    while (ms > 0) {
        int slice = ms > 10 ? 10 : ms;
        apr_int32_t nready = 0;
        if (ts_stopping(ts))
            return 1;
        if (apr_poll(&pfd, 1, &nready, apr_time_from_msec(slice)) == APR_SUCCESS && nready > 0) {
            char c;
            apr_size_t n = 1;
            if (apr_socket_recv(s, &c, &n) != APR_SUCCESS || n == 0)
                return 1;       /* EOF or reset: the client is gone */
        }
        ms -= slice;
    }
    return ts_stopping(ts);
}

static inline void ts_send_all(apr_socket_t *s, const char *data, apr_size_t len)
{
    while (len > 0) {
        apr_size_t n = len;
        if (apr_socket_send(s, data, &n) != APR_SUCCESS || n == 0)
            return;             /* the client went away: fine */
        data += n;
        len -= n;
    }
}

static inline const char *ts_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 307: return "Temporary Redirect";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 500: return "Internal Server Error";
    default: return "Status";
    }
}

/*
 * The request body after the head of used bytes in head (which may hold its
 * start): Content-Length bytes, at most TS_BODY_MAX - 1, into body.
 */
static inline void ts_read_body(apr_socket_t *s, const char *head, apr_size_t used, char *body)
{
    const char *end = strstr(head, "\r\n\r\n") + 4, *cl = head;
    apr_size_t want = 0, have = used - (apr_size_t)(end - head);

    while ((cl = strstr(cl, "\r\n")) && cl < end) {
        cl += 2;
        if (!strncasecmp(cl, "Content-Length:", 15)) {
            want = (apr_size_t)strtoul(cl + 15, NULL, 10);
            break;
        }
    }
    if (want > TS_BODY_MAX - 1)
        want = TS_BODY_MAX - 1;
    if (have > want)
        have = want;
    memcpy(body, end, have);
    while (have < want) {
        apr_size_t n = want - have;
        if (apr_socket_recv(s, body + have, &n) != APR_SUCCESS || n == 0)
            break;
        have += n;
    }
    body[have] = '\0';
}

/* Answer one connection. */
static inline void ts_serve(test_server_t *ts, apr_socket_t *s, apr_pool_t *p)
{
    char head[TS_HEAD_MAX];
    char *reqbody = apr_palloc(p, TS_BODY_MAX);
    apr_size_t used = 0;
    char path[256] = "";
    ts_route_t r;
    int found = 0;
    const char *body = "not found";
    apr_size_t blen = 9;

    apr_socket_timeout_set(s, apr_time_from_sec(5));
    while (used < sizeof(head) - 1) {
        apr_size_t n = sizeof(head) - 1 - used;
        if (apr_socket_recv(s, head + used, &n) != APR_SUCCESS || n == 0)
            break;
        used += n;
        head[used] = '\0';
        if (strstr(head, "\r\n\r\n"))
            break;
    }
    head[used] = '\0';
    if (!strstr(head, "\r\n\r\n"))
        return;
    ts_read_body(s, head, used, reqbody);
    sscanf(head, "%*s %255s", path);
    {
        char *q = strchr(path, '?');
        if (q)
            *q = '\0';
    }

    apr_thread_mutex_lock(ts->lock);
    ts->requests++;
    memcpy(ts->last_head, head, used + 1);
    memcpy(ts->last_body, reqbody, strlen(reqbody) + 1);
    for (int i = 0; i < ts->nroutes; i++) {
        if (!strcmp(ts->routes[i].path, path)) {
            ts_route_t *rt = &ts->routes[i];
            r = *rt;
            if (rt->nbodies) {
                int k = (int)(rt->hits % (unsigned)rt->nbodies);
                body = rt->bodies[k];
                blen = rt->lens[k];
            }
            else {
                body = "";
                blen = 0;
            }
            rt->hits++;
            found = 1;
            break;
        }
    }
    apr_thread_mutex_unlock(ts->lock);
    if (!found) {
        memset(&r, 0, sizeof(r));
        r.status = 404;
    }
    if (r.delay_ms && ts_nap(ts, s, p, r.delay_ms))
        return;
    {
        const char *h = apr_psprintf(p, "HTTP/1.1 %d %s\r\nContent-Length: %" APR_SIZE_T_FMT
                                     "\r\nConnection: close\r\n%s\r\n", r.status,
                                     ts_reason(r.status), blen, r.headers ? r.headers : "");
        ts_send_all(s, h, strlen(h));
    }
    if (!r.drip_ms) {
        ts_send_all(s, body, blen);
        return;
    }
    for (apr_size_t i = 0; i < blen; i++) {
        if (ts_nap(ts, s, p, r.drip_ms))
            return;
        ts_send_all(s, body + i, 1);
    }
}

static inline void *APR_THREAD_FUNC ts_main(apr_thread_t *t, void *data)
{
    test_server_t *ts = data;
    apr_pollfd_t pfd;

    memset(&pfd, 0, sizeof(pfd));
    pfd.p = ts->pool;
    pfd.desc_type = APR_POLL_SOCKET;
    pfd.reqevents = APR_POLLIN;
    pfd.desc.s = ts->listener;
    while (!ts_stopping(ts)) {
        apr_int32_t nready = 0;
        apr_socket_t *s;
        apr_pool_t *cp;

        if (apr_poll(&pfd, 1, &nready, apr_time_from_msec(20)) != APR_SUCCESS || nready < 1)
            continue;
        apr_pool_create(&cp, ts->pool);
        if (apr_socket_accept(&s, ts->listener, cp) == APR_SUCCESS) {
            ts_serve(ts, s, cp);
            apr_socket_shutdown(s, APR_SHUTDOWN_WRITE);
            apr_socket_close(s);
        }
        apr_pool_destroy(cp);
    }
    return NULL;    /* not apr_thread_exit(): see clerk_jwks_cache.c refresher() */
}

/* Start a server on 127.0.0.1 with an ephemeral port (aborts on failure). */
static inline test_server_t *ts_start(void)
{
    /* Clients hang up mid-response on purpose (size bounds): no SIGPIPE death. */
    signal(SIGPIPE, SIG_IGN);
    apr_pool_t *pool;
    test_server_t *ts;
    apr_sockaddr_t *sa;
    apr_status_t rv;

    if ((rv = apr_pool_create_unmanaged_ex(&pool, NULL, NULL)) != APR_SUCCESS)
        ts_die("pool", rv);
    ts = apr_pcalloc(pool, sizeof(*ts));
    ts->pool = pool;
    if ((rv = apr_thread_mutex_create(&ts->lock, APR_THREAD_MUTEX_DEFAULT, pool)) != APR_SUCCESS)
        ts_die("mutex", rv);
    if ((rv = apr_sockaddr_info_get(&sa, "127.0.0.1", APR_INET, 0, 0, pool)) != APR_SUCCESS
        || (rv = apr_socket_create(&ts->listener, APR_INET, SOCK_STREAM, APR_PROTO_TCP, pool))
               != APR_SUCCESS)
        ts_die("socket", rv);
    apr_socket_opt_set(ts->listener, APR_SO_REUSEADDR, 1);
    if ((rv = apr_socket_bind(ts->listener, sa)) != APR_SUCCESS
        || (rv = apr_socket_listen(ts->listener, 64)) != APR_SUCCESS)
        ts_die("bind/listen", rv);
    if ((rv = apr_socket_addr_get(&sa, APR_LOCAL, ts->listener)) != APR_SUCCESS)
        ts_die("addr", rv);
    ts->port = sa->port;
    if ((rv = apr_thread_create(&ts->thread, NULL, ts_main, ts, pool)) != APR_SUCCESS)
        ts_die("thread", rv);
    return ts;
}

/* Stop the thread, close the socket, free everything. */
static inline void ts_stop(test_server_t *ts)
{
    apr_status_t rv;
    if (!ts)
        return;
    apr_thread_mutex_lock(ts->lock);
    ts->stop = 1;
    apr_thread_mutex_unlock(ts->lock);
    apr_thread_join(&rv, ts->thread);
    apr_socket_close(ts->listener);
    apr_pool_destroy(ts->pool);
}

/*
 * Stop *ts (if started) and forget it: for the group teardown of a test
 * binary whose tests share one server.
 */
static inline void ts_stop_shared(test_server_t **ts)
{
    ts_stop(*ts);
    *ts = NULL;
}

/*
 * The group set-up and teardown of a test binary whose tests share one
 * server *ts: unit.h's, with clerk_http_global_init() and the server.
 */
static inline int ts_group_setup(void **state, test_server_t **ts)
{
    if (unit_group_setup(state))
        return -1;
    clerk_http_global_init();
    *ts = ts_start();
    return 0;
}

static inline int ts_group_teardown(void **state, test_server_t **ts)
{
    ts_stop_shared(ts);
    return unit_group_teardown(state);
}

/* A client of the network code for a test (aborts the test on failure). */
static inline clerk_http_t *ts_client(apr_pool_t *p, long timeout_ms, apr_size_t max_body,
                                      int max_handles)
{
    clerk_http_opts_t o = {.timeout_ms = timeout_ms, .max_body = max_body};
    clerk_http_t *h = NULL;
    assert_int_equal(clerk_http_create(p, &o, max_handles, &h), APR_SUCCESS);
    return h;
}

/* The route for path, made when missing; called with the lock held. */
static inline ts_route_t *ts_route_locked(test_server_t *ts, const char *path)
{
    for (int i = 0; i < ts->nroutes; i++)
        if (!strcmp(ts->routes[i].path, path))
            return &ts->routes[i];
    if (ts->nroutes == TS_MAX_ROUTES) {
        fprintf(stderr, "test server: too many routes\n");
        abort();
    }
    ts_route_t *r = &ts->routes[ts->nroutes++];
    memset(r, 0, sizeof(*r));
    apr_cpystrn(r->path, path, sizeof(r->path));
    return r;
}

/* Serve bodies[0..n-1] in turn at path (n may be 0: an empty body). */
static inline void ts_route_bodies(test_server_t *ts, const char *path, int status,
                                   const char *headers, int n, const char *const *bodies,
                                   const apr_size_t *lens)
{
    apr_thread_mutex_lock(ts->lock);
    ts_route_t *r = ts_route_locked(ts, path);
    r->status = status;
    r->headers = headers;
    r->nbodies = n;
    for (int i = 0; i < n && i < TS_MAX_BODIES; i++) {
        r->bodies[i] = bodies[i];
        r->lens[i] = lens ? lens[i] : strlen(bodies[i]);
    }
    apr_thread_mutex_unlock(ts->lock);
}

/* One body (NUL-terminated text) at path. */
static inline void ts_route(test_server_t *ts, const char *path, int status,
                            const char *headers, const char *body)
{
    ts_route_bodies(ts, path, status, headers, 1, &body, NULL);
}

/* One body of len bytes (binary) at path. */
static inline void ts_route_bin(test_server_t *ts, const char *path, int status,
                                const char *headers, const char *body, apr_size_t len)
{
    ts_route_bodies(ts, path, status, headers, 1, &body, &len);
}

/* Make path's answers slow: delay_ms before anything, drip_ms before each body byte. */
static inline void ts_route_slow(test_server_t *ts, const char *path, int delay_ms, int drip_ms)
{
    apr_thread_mutex_lock(ts->lock);
    ts_route_t *r = ts_route_locked(ts, path);
    r->delay_ms = delay_ms;
    r->drip_ms = drip_ms;
    if (!r->status)
        r->status = 200;
    apr_thread_mutex_unlock(ts->lock);
}

static inline const char *ts_url(test_server_t *ts, apr_pool_t *p, const char *path)
{
    return apr_psprintf(p, "http://127.0.0.1:%u%s", (unsigned)ts->port, path);
}

static inline unsigned ts_requests(test_server_t *ts)
{
    return ts_read_locked(ts, &ts->requests);
}

static inline unsigned ts_hits(test_server_t *ts, const char *path)
{
    unsigned n = 0;
    apr_thread_mutex_lock(ts->lock);
    for (int i = 0; i < ts->nroutes; i++)
        if (!strcmp(ts->routes[i].path, path))
            n = ts->routes[i].hits;
    apr_thread_mutex_unlock(ts->lock);
    return n;
}

/* A copy in p of a string the server writes (under the lock). */
static inline char *ts_copy_locked(test_server_t *ts, apr_pool_t *p, const char *field)
{
    char *s;
    apr_thread_mutex_lock(ts->lock);
    s = apr_pstrdup(p, field);
    apr_thread_mutex_unlock(ts->lock);
    return s;
}

/* A copy of the last request's head (request line and headers) in p. */
static inline char *ts_last_head(test_server_t *ts, apr_pool_t *p)
{
    return ts_copy_locked(ts, p, ts->last_head);
}

/* A copy of the last request's body in p. */
static inline char *ts_last_body(test_server_t *ts, apr_pool_t *p)
{
    return ts_copy_locked(ts, p, ts->last_body);
}

/* Wait up to ms for path to have been hit at least n times; returns the hits. */
static inline unsigned ts_wait_hits(test_server_t *ts, const char *path, unsigned n, int ms)
{
    apr_time_t end = apr_time_now() + apr_time_from_msec(ms);
    unsigned h;
    while ((h = ts_hits(ts, path)) < n && apr_time_now() < end)
        apr_sleep(apr_time_from_msec(5));
    return h;
}

#endif
