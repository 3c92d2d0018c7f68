/*
 * src/clerk_jwks_cache.c: the state machine (never loaded, ready, too stale),
 * what a fetch may and may not replace, the kid-miss rate limit, the lazy
 * refresher thread (TTL refresh, forced refresh, retry, stop), and a thread
 * stress test: readers acquire and release snapshots while the refresher
 * swaps them every few milliseconds.  The key server is test_server.h.
 *
 * Also built with -fsanitize=thread by tests/unit/tsan.mk (make unit-tsan).
 */
#include "unit.h"

#include <pthread.h>
#include <signal.h>

#include <apr_atomic.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include "clerk_http.h"
#include "clerk_jwks_cache.h"
#include "clerk_shared_cache.h"
#include "fake_store.h"
#include "test_server.h"

#define KID_A "integration-a"
#define KID_B "integration-b"
#define SECRET "sk_test_unitSECRETvalue"

static test_server_t *srv;
static const char *body_ins, *body_a, *body_b;   /* the JWKS vectors, one kid each */

/* ------------------------------------------------------------ log sink */

typedef struct {
    apr_thread_mutex_t *lock;
    char text[65536];
    apr_size_t len;
    int warnings;
} log_sink_t;

static log_sink_t sink;

static void sink_log(void *baton, int level, const char *msg)
{
    log_sink_t *s = baton;
    apr_thread_mutex_lock(s->lock);
    if (level <= 4)
        s->warnings++;
    s->len += (apr_size_t)apr_snprintf(s->text + s->len, sizeof(s->text) - s->len, "%d %s\n",
                                       level, msg);
    if (s->len >= sizeof(s->text) - 1)
        s->len = 0;     /* keep the tail only */
    apr_thread_mutex_unlock(s->lock);
}

static char *sink_text(apr_pool_t *p)
{
    char *t;
    apr_thread_mutex_lock(sink.lock);
    t = apr_pstrmemdup(p, sink.text, sink.len);
    apr_thread_mutex_unlock(sink.lock);
    return t;
}

static int sink_warnings(void)
{
    int n;
    apr_thread_mutex_lock(sink.lock);
    n = sink.warnings;
    apr_thread_mutex_unlock(sink.lock);
    return n;
}

static void sink_clear(void)
{
    apr_thread_mutex_lock(sink.lock);
    sink.len = 0;
    sink.warnings = 0;
    apr_thread_mutex_unlock(sink.lock);
}

/* ------------------------------------------------------------ set-up */

static int group_setup(void **state)
{
    apr_pool_t *root;
    if (unit_group_setup(state))
        return -1;
    root = *unit_root_pool();
    clerk_http_global_init();
    if (apr_thread_mutex_create(&sink.lock, APR_THREAD_MUTEX_DEFAULT, root) != APR_SUCCESS)
        return -1;
    /* bodies live as long as the server: a refresher may ask for them late */
    body_ins = unit_read_file(root, UNIT_JWKS, NULL);
    body_a = unit_read_file(root, UNIT_VEC_CLERK "jwks_integration_a.json", NULL);
    body_b = unit_read_file(root, UNIT_VEC_CLERK "jwks_integration_b.json", NULL);
    srv = ts_start();
    return 0;
}

static int group_teardown(void **state)
{
    return ts_group_teardown(state, &srv);
}

static int setup(void **state)
{
    sink_clear();
    return unit_setup(state);
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, unit_teardown)

static clerk_jwks_source_t source(apr_pool_t *p, const char *path, int ttl_ms, int refresh_min_ms,
                                  int max_stale_ms)
{
    clerk_jwks_source_t s;
    memset(&s, 0, sizeof(s));
    s.url = ts_url(srv, p, path);
    s.headers = unit_strings(p, "Authorization: Bearer " SECRET, "Clerk-API-Version: 2026-05-12",
                             NULL);
    s.ttl = apr_time_from_msec(ttl_ms);
    s.refresh_min = apr_time_from_msec(refresh_min_ms);
    s.max_stale = apr_time_from_msec(max_stale_ms);
    s.http.timeout_ms = 2000;
    return s;
}

static clerk_jwks_cache_t *cache(apr_pool_t *p, const char *path, int ttl_ms,
                                 int refresh_min_ms, int max_stale_ms)
{
    clerk_jwks_source_t s = source(p, path, ttl_ms, refresh_min_ms, max_stale_ms);
    return clerk_jwks_cache_create(p, &s, sink_log, &sink);
}

/* The only kid of a snapshot's key set. */
static const char *kid_of(const clerk_jwks_snapshot_t *snap)
{
    const clerk_keyset_t *ks = clerk_jwks_snapshot_keys(snap);
    assert_int_equal(ks->keys->nelts, 1);
    return APR_ARRAY_IDX(ks->keys, 0, clerk_key_t *)->kid;
}

/* Acquire, expecting READY; returns the key set pointer (released again). */
static const clerk_keyset_t *ready_keys(clerk_jwks_cache_t *c, apr_time_t now, const char **kid)
{
    clerk_jwks_snapshot_t *snap;
    const clerk_keyset_t *ks;
    assert_int_equal(clerk_jwks_cache_acquire(c, now, &snap), CLERK_KEYS_READY);
    assert_non_null(snap);
    ks = clerk_jwks_snapshot_keys(snap);
    if (kid)
        *kid = kid_of(snap);
    clerk_jwks_cache_release(c, snap);
    return ks;
}

/* Poll acquire until the snapshot's kid is kid (or ms passed); returns 1 when it is. */
static int wait_kid(clerk_jwks_cache_t *c, const char *kid, int ms)
{
    apr_time_t end = apr_time_now() + apr_time_from_msec(ms);
    do {
        clerk_jwks_snapshot_t *snap;
        if (clerk_jwks_cache_acquire(c, apr_time_now(), &snap) == CLERK_KEYS_READY) {
            int same = !strcmp(kid_of(snap), kid);
            clerk_jwks_cache_release(c, snap);
            if (same)
                return 1;
        }
        apr_sleep(apr_time_from_msec(5));
    } while (apr_time_now() < end);
    return 0;
}

static double seconds_since(apr_time_t t0)
{
    return (double)(apr_time_now() - t0) / APR_USEC_PER_SEC;
}

/* ------------------------------------------------------------ states */

static void test_never_loaded(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_jwks_cache_t *c = cache(p, "/nl", 300000, 30000, 86400000);
    clerk_jwks_snapshot_t *snap = (void *)1;

    ts_route(srv, "/nl", 500, NULL, "{\"errors\":[]}");
    /* nothing fetched yet: never loaded */
    assert_int_equal(clerk_jwks_cache_acquire(c, apr_time_now(), &snap), CLERK_KEYS_NEVER_LOADED);
    assert_null(snap);
    assert_int_equal(clerk_jwks_cache_fetches(c), 0);
    /* a failed fetch: still never loaded */
    assert_int_not_equal(clerk_jwks_cache_fetch_now(c, p), APR_SUCCESS);
    assert_int_equal(clerk_jwks_cache_acquire(c, apr_time_now(), &snap), CLERK_KEYS_NEVER_LOADED);
    assert_null(snap);
    assert_int_equal(clerk_jwks_cache_fetches(c), 1);
    assert_non_null(strstr(sink_text(p), "HTTP status 500"));
    /* far in the future too: never loaded, not "too stale" */
    assert_int_equal(clerk_jwks_cache_acquire(c, apr_time_now() + apr_time_from_sec(86400 * 10),
                                              &snap), CLERK_KEYS_NEVER_LOADED);
}

static void test_loaded_ready_and_headers(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_jwks_cache_t *c = cache(p, "/ready", 300000, 30000, 86400000);
    clerk_jwks_snapshot_t *snap;
    const clerk_keyset_t *ks;
    const clerk_key_t *key;
    char *head;

    ts_route(srv, "/ready", 200, NULL, body_ins);
    assert_int_equal(clerk_jwks_cache_fetch_now(c, p), APR_SUCCESS);
    assert_int_equal(clerk_jwks_cache_acquire(c, apr_time_now(), &snap), CLERK_KEYS_READY);
    ks = clerk_jwks_snapshot_keys(snap);
    assert_int_equal(ks->keys->nelts, 1);
    unit_assert_reason(clerk_keyset_select(ks, UNIT_KID, &key), CLERK_OK);
    unit_assert_reason(clerk_keyset_select(ks, "ins_other", &key), CLERK_JWK_KID_MISMATCH);
    clerk_jwks_cache_release(c, snap);

    head = ts_last_head(srv, p);
    assert_non_null(strstr(head, "GET /ready HTTP/1.1\r\n"));
    assert_non_null(strstr(head, "\r\nAuthorization: Bearer " SECRET "\r\n"));
    assert_non_null(strstr(head, "\r\nClerk-API-Version: 2026-05-12\r\n"));
    assert_non_null(strstr(sink_text(p), "loaded 1 key(s)"));
}

static void test_stale_window(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_jwks_cache_t *c = cache(p, "/stale", 1000, 30000, 2000);
    clerk_jwks_cache_t *z = cache(p, "/stale", 1000, 30000, 0);
    clerk_jwks_snapshot_t *snap;
    apr_time_t before, after;

    ts_route(srv, "/stale", 200, NULL, body_ins);
    before = apr_time_now();
    assert_int_equal(clerk_jwks_cache_fetch_now(c, p), APR_SUCCESS);
    assert_int_equal(clerk_jwks_cache_fetch_now(z, p), APR_SUCCESS);
    after = apr_time_now();

    ready_keys(c, after, NULL);
    /* past the TTL but within ttl + max_stale: still served */
    ready_keys(c, after + apr_time_from_msec(1500), NULL);
    ready_keys(c, before + apr_time_from_msec(2999), NULL);
    /* at and past ttl + max_stale: too stale */
    assert_int_equal(clerk_jwks_cache_acquire(c, after + apr_time_from_msec(3000), &snap),
                     CLERK_KEYS_TOO_STALE);
    assert_null(snap);
    assert_int_equal(clerk_jwks_cache_acquire(c, after + apr_time_from_sec(3600), &snap),
                     CLERK_KEYS_TOO_STALE);
    /* max_stale 0: too stale as soon as the TTL passed */
    ready_keys(z, before + apr_time_from_msec(999), NULL);
    assert_int_equal(clerk_jwks_cache_acquire(z, after + apr_time_from_msec(1000), &snap),
                     CLERK_KEYS_TOO_STALE);
}

/* A failed or unusable fetch never replaces good keys, nor makes them fresher. */
static void test_failed_fetch_keeps_keys(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_jwks_cache_t *c = cache(p, "/keep", 1000, 30000, 1000);
    static const struct {
        int status;
        const char *body, *log;
    } bad[] = {
        {500, "{}", "HTTP status 500"},
        {401, "{\"errors\":[]}", "HTTP status 401"},
        {302, "", "HTTP status 302"},       /* a redirect without Location */
        {200, "", "unusable"},
        {200, "<html><body>502 Bad Gateway</body></html>", "unusable"},
        {200, "{\"keys\":[]}", "unusable"},
        {200, "{\"keys\":{}}", "unusable"},
        {200, "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"ec\"}]}", "unusable"},
        {200, "[]", "unusable"},
        {200, "{\"keys\":[", "unusable"},
    };
    const clerk_keyset_t *good;
    const char *kid;
    apr_time_t loaded;

    ts_route(srv, "/keep", 200, NULL, body_a);
    assert_int_equal(clerk_jwks_cache_fetch_now(c, p), APR_SUCCESS);
    loaded = apr_time_now();
    good = ready_keys(c, loaded, &kid);
    unit_assert_str(kid, KID_A);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sink_clear();
        ts_route(srv, "/keep", bad[i].status, NULL, bad[i].body);
        assert_int_not_equal(clerk_jwks_cache_fetch_now(c, p), APR_SUCCESS);
        assert_ptr_equal(ready_keys(c, apr_time_now(), &kid), good);
        unit_assert_str(kid, KID_A);
        if (!strstr(sink_text(p), bad[i].log))
            fail_msg("case %zu: log \"%s\" lacks \"%s\"", i, sink_text(p), bad[i].log);
    }
    /* the failures did not refresh fetched_at: still too stale at loaded + 2 s */
    {
        clerk_jwks_snapshot_t *snap;
        assert_int_equal(clerk_jwks_cache_acquire(c, loaded + apr_time_from_msec(2000), &snap),
                         CLERK_KEYS_TOO_STALE);
    }
    assert_int_equal(clerk_jwks_cache_fetches(c), 1 + sizeof(bad) / sizeof(bad[0]));
    /* the secret is never logged, whatever failed */
    assert_null(strstr(sink_text(p), SECRET));
}

/* An unchanged body makes no new snapshot; a changed one does; old readers are safe. */
static void test_unchanged_body_same_snapshot(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_jwks_cache_t *c = cache(p, "/same", 1000, 30000, 1000);
    clerk_jwks_snapshot_t *held, *snap;
    const clerk_keyset_t *k1, *k2, *k3;
    const char *kid;
    apr_time_t t;

    ts_route(srv, "/same", 200, NULL, body_a);
    assert_int_equal(clerk_jwks_cache_fetch_now(c, p), APR_SUCCESS);
    k1 = ready_keys(c, apr_time_now(), NULL);
    apr_sleep(apr_time_from_msec(20));
    assert_int_equal(clerk_jwks_cache_fetch_now(c, p), APR_SUCCESS);
    t = apr_time_now();
    k2 = ready_keys(c, t, NULL);
    assert_ptr_equal(k1, k2);
    assert_int_equal(clerk_jwks_cache_fetches(c), 2);
    /* ... but it counts as confirmed: fresh again from the second fetch */
    ready_keys(c, t + apr_time_from_msec(1900), NULL);

    /* a reader holds the snapshot across a swap */
    assert_int_equal(clerk_jwks_cache_acquire(c, apr_time_now(), &held), CLERK_KEYS_READY);
    ts_route(srv, "/same", 200, NULL, body_b);
    assert_int_equal(clerk_jwks_cache_fetch_now(c, p), APR_SUCCESS);
    k3 = ready_keys(c, apr_time_now(), &kid);
    assert_ptr_not_equal(k3, k1);
    unit_assert_str(kid, KID_B);
    unit_assert_str(kid_of(held), KID_A);       /* still intact (ASan would object) */
    assert_ptr_equal(clerk_jwks_snapshot_keys(held), k1);
    clerk_jwks_cache_release(c, held);          /* the last reference: freed here */
    assert_int_equal(clerk_jwks_cache_acquire(c, apr_time_now(), &snap), CLERK_KEYS_READY);
    assert_ptr_equal(clerk_jwks_snapshot_keys(snap), k3);
    clerk_jwks_cache_release(c, snap);
}

static void test_kid_miss_rate_limit(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_jwks_cache_t *c = cache(p, "/rl", 300000, 10000, 86400000);
    apr_time_t now = apr_time_now();

    assert_int_equal(clerk_jwks_cache_kid_miss(c, now), 1);
    assert_int_equal(clerk_jwks_cache_kid_miss(c, now), 0);
    assert_int_equal(clerk_jwks_cache_kid_miss(c, now + apr_time_from_sec(1)), 0);
    assert_int_equal(clerk_jwks_cache_kid_miss(c, now + apr_time_from_msec(9999)), 0);
    assert_int_equal(clerk_jwks_cache_kid_miss(c, now + apr_time_from_sec(10)), 1);
    assert_int_equal(clerk_jwks_cache_kid_miss(c, now + apr_time_from_sec(11)), 0);
    assert_int_equal(clerk_jwks_cache_kid_miss(c, now + apr_time_from_sec(20)), 1);
}

static void test_source_id(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_jwks_source_t a = source(p, "/id", 1000, 1000, 1000), b = a;
    const char *ida = clerk_jwks_source_id(p, &a);

    assert_null(strstr(ida, SECRET));
    assert_null(strstr(ida, "Bearer"));
    unit_assert_str(clerk_jwks_source_id(p, &b), ida);
    b.headers = unit_strings(p, "Authorization: Bearer sk_test_other", NULL);
    assert_true(strcmp(clerk_jwks_source_id(p, &b), ida) != 0);
    b = a;
    b.ttl = apr_time_from_sec(2);
    assert_true(strcmp(clerk_jwks_source_id(p, &b), ida) != 0);
    b = a;
    b.url = ts_url(srv, p, "/id2");
    assert_true(strcmp(clerk_jwks_source_id(p, &b), ida) != 0);
}

/* ------------------------------------------------------------ the refresher */

static apr_pool_t *child_pool(apr_pool_t *p)
{
    apr_pool_t *pchild;
    assert_int_equal(apr_pool_create(&pchild, p), APR_SUCCESS);
    return pchild;
}

/* Nothing is fetched until the first acquire; then a forced refresh is rate-limited. */
static void test_refresher_lazy_and_forced(void **state)
{
    apr_pool_t *p = UNIT_POOL, *pchild = child_pool(p);
    clerk_jwks_cache_t *c = cache(p, "/lazy", 300000, 400, 86400000);

    ts_route(srv, "/lazy", 200, NULL, body_a);
    assert_int_equal(clerk_jwks_cache_fetch_now(c, p), APR_SUCCESS);      /* "the parent" */
    assert_int_equal(clerk_jwks_cache_child_init(c, pchild), APR_SUCCESS);
    apr_sleep(apr_time_from_msec(150));
    assert_int_equal(ts_hits(srv, "/lazy"), 1);         /* no thread yet */
    ready_keys(c, apr_time_now(), NULL);                /* starts the refresher */
    apr_sleep(apr_time_from_msec(150));
    assert_int_equal(ts_hits(srv, "/lazy"), 1);         /* fresh: nothing to do */

    ts_route(srv, "/lazy", 200, NULL, body_b);          /* rotation */
    assert_int_equal(clerk_jwks_cache_kid_miss(c, apr_time_now()), 1);
    assert_int_equal(ts_wait_hits(srv, "/lazy", 2, 2000), 2);
    assert_true(wait_kid(c, KID_B, 2000));
    /* a second miss within refresh_min asks for nothing */
    assert_int_equal(clerk_jwks_cache_kid_miss(c, apr_time_now()), 0);
    apr_sleep(apr_time_from_msec(150));
    assert_int_equal(ts_hits(srv, "/lazy"), 2);
    /* after refresh_min, one more */
    apr_sleep(apr_time_from_msec(300));
    assert_int_equal(clerk_jwks_cache_kid_miss(c, apr_time_now()), 1);
    assert_int_equal(ts_wait_hits(srv, "/lazy", 3, 2000), 3);
    assert_int_equal(clerk_jwks_cache_fetches(c), 3);
    apr_pool_destroy(pchild);                           /* stops and joins the refresher */
    apr_sleep(apr_time_from_msec(50));
    assert_int_equal(ts_hits(srv, "/lazy"), 3);
}

/* TTL refresh: a key set changed at the source replaces the old one by itself. */
static void test_ttl_refresh(void **state)
{
    apr_pool_t *p = UNIT_POOL, *pchild = child_pool(p);
    clerk_jwks_cache_t *c = cache(p, "/ttl", 300, 30000, 86400000);
    apr_time_t t0;

    ts_route(srv, "/ttl", 200, NULL, body_a);
    assert_int_equal(clerk_jwks_cache_fetch_now(c, p), APR_SUCCESS);
    assert_int_equal(clerk_jwks_cache_child_init(c, pchild), APR_SUCCESS);
    ready_keys(c, apr_time_now(), NULL);
    ts_route(srv, "/ttl", 200, NULL, body_b);
    t0 = apr_time_now();
    assert_true(wait_kid(c, KID_B, 2000));
    assert_true(seconds_since(t0) < 1.0);
    /* unchanged afterwards: refreshed every TTL, no new snapshot */
    {
        const clerk_keyset_t *k = ready_keys(c, apr_time_now(), NULL);
        unsigned h = ts_hits(srv, "/ttl");
        assert_true(ts_wait_hits(srv, "/ttl", h + 2, 2000) >= h + 2);
        assert_ptr_equal(ready_keys(c, apr_time_now(), NULL), k);
    }
    apr_pool_destroy(pchild);
}

/* Never loaded at start: the refresher retries until the source answers. */
static void test_never_loaded_then_recovers(void **state)
{
    apr_pool_t *p = UNIT_POOL, *pchild = child_pool(p);
    clerk_jwks_cache_t *c = cache(p, "/recover", 300000, 100, 86400000);
    clerk_jwks_snapshot_t *snap;
    apr_time_t t0;

    ts_route(srv, "/recover", 503, NULL, "down");
    assert_int_not_equal(clerk_jwks_cache_fetch_now(c, p), APR_SUCCESS);
    assert_int_equal(clerk_jwks_cache_child_init(c, pchild), APR_SUCCESS);
    assert_int_equal(clerk_jwks_cache_acquire(c, apr_time_now(), &snap), CLERK_KEYS_NEVER_LOADED);
    assert_true(ts_wait_hits(srv, "/recover", 3, 2000) >= 3);       /* retried */
    ts_route(srv, "/recover", 200, NULL, body_a);
    t0 = apr_time_now();
    assert_true(wait_kid(c, KID_A, 2000));
    assert_true(seconds_since(t0) < 1.0);
    apr_pool_destroy(pchild);
}

/* Stopping is not held up by a fetch that hangs (the refresher's cancel flag). */
static void test_stop_during_hung_fetch(void **state)
{
    apr_pool_t *p = UNIT_POOL, *pchild = child_pool(p);
    clerk_jwks_source_t s = source(p, "/hung", 300000, 100, 86400000);
    clerk_jwks_cache_t *c;
    clerk_jwks_snapshot_t *snap;
    apr_time_t t0;

    s.http.timeout_ms = 60000;
    c = clerk_jwks_cache_create(p, &s, sink_log, &sink);
    ts_route(srv, "/hung", 200, NULL, body_a);
    ts_route_slow(srv, "/hung", 60000, 0);
    assert_int_equal(clerk_jwks_cache_child_init(c, pchild), APR_SUCCESS);
    assert_int_equal(clerk_jwks_cache_acquire(c, apr_time_now(), &snap), CLERK_KEYS_NEVER_LOADED);
    assert_int_equal(ts_wait_hits(srv, "/hung", 1, 2000), 1);
    apr_sleep(apr_time_from_msec(100));
    t0 = apr_time_now();
    apr_pool_destroy(pchild);
    assert_true(seconds_since(t0) < 2.5);
    /* the abandoned fetch is not reported as a failure */
    assert_int_equal(sink_warnings(), 0);
    ts_route_slow(srv, "/hung", 0, 0);
}

/* A /proc file (its size reads as 0, so unit_read_file does not fit). */
static char *read_proc(apr_pool_t *p, const char *path)
{
    apr_file_t *f;
    char *buf = apr_pcalloc(p, 8192);
    apr_size_t n = 8191;
    if (apr_file_open(&f, path, APR_FOPEN_READ, 0, p) != APR_SUCCESS)
        return "";
    apr_file_read_full(f, buf, n, &n);
    apr_file_close(f);
    buf[n] = '\0';
    return buf;
}

/*
 * The refresher is born with asynchronous signals blocked (signals for the
 * process must reach the MPM's thread, never a refresher), and the thread
 * that started it gets its own mask back.  Linux: read from /proc.
 */
static void test_refresher_blocks_signals(void **state)
{
    apr_pool_t *p = UNIT_POOL, *pchild = child_pool(p);
    clerk_jwks_cache_t *c = cache(p, "/sig", 300000, 30000, 86400000);
    sigset_t before, after;
    apr_dir_t *dir;
    apr_finfo_t fi;
    int found = 0;

    ts_route(srv, "/sig", 200, NULL, body_a);
    assert_int_equal(clerk_jwks_cache_fetch_now(c, p), APR_SUCCESS);
    assert_int_equal(clerk_jwks_cache_child_init(c, pchild), APR_SUCCESS);
    pthread_sigmask(SIG_SETMASK, NULL, &before);
    ready_keys(c, apr_time_now(), NULL);            /* starts the refresher */
    pthread_sigmask(SIG_SETMASK, NULL, &after);
    for (int sig = 1; sig < 32; sig++)
        assert_int_equal(sigismember(&before, sig), sigismember(&after, sig));
    if (apr_dir_open(&dir, "/proc/self/task", p) != APR_SUCCESS) {
        apr_pool_destroy(pchild);
        skip();
    }
    apr_sleep(apr_time_from_msec(100));     /* the thread names itself as it starts */
    while (apr_dir_read(&fi, APR_FINFO_NAME, dir) == APR_SUCCESS) {
        const char *base = apr_pstrcat(p, "/proc/self/task/", fi.name, NULL);
        char *comm, *status, *blk;
        unsigned long long mask;
        if (fi.name[0] == '.')
            continue;
        comm = read_proc(p, apr_pstrcat(p, base, "/comm", NULL));
        if (strncmp(comm, "clerk-jwks", 10))
            continue;
        status = read_proc(p, apr_pstrcat(p, base, "/status", NULL));
        blk = strstr(status, "SigBlk:");
        assert_non_null(blk);
        mask = strtoull(blk + 7, NULL, 16);
        assert_true(mask & (1ull << (SIGTERM - 1)));
        assert_true(mask & (1ull << (SIGHUP - 1)));
        assert_true(mask & (1ull << (SIGUSR1 - 1)));
        assert_true(mask & (1ull << (SIGINT - 1)));
        assert_false(mask & (1ull << (SIGSEGV - 1)));      /* faults stay deliverable */
        assert_false(mask & (1ull << (SIGBUS - 1)));
        found++;
    }
    apr_dir_close(dir);
    assert_int_equal(found, 1);
    apr_pool_destroy(pchild);
}

/* ------------------------------------------------------------ threads */

#define STRESS_THREADS 8
#define STRESS_ITERATIONS 20000     /* at least, per reader ... */
#define STRESS_SWAPS 60             /* ... and until the refresher fetched this often */
#define STRESS_MAX_SECONDS 20

typedef struct {
    clerk_jwks_cache_t *c;
    volatile apr_uint32_t *go, *done;
    int ready, other, a, b, iterations;
    apr_time_t deadline;
} reader_t;

static void *APR_THREAD_FUNC reader(apr_thread_t *t, void *data)
{
    reader_t *r = data;
    unit_wait_for(r->go);
    for (int i = 0; i < STRESS_ITERATIONS
                    || (clerk_jwks_cache_fetches(r->c) < STRESS_SWAPS && apr_time_now() < r->deadline);
         i++) {
        clerk_jwks_snapshot_t *snap;
        r->iterations++;
        clerk_keys_state_t st = clerk_jwks_cache_acquire(r->c, apr_time_now(), &snap);
        if (st != CLERK_KEYS_READY) {
            r->other++;
            continue;
        }
        r->ready++;
        {
            const clerk_keyset_t *ks = clerk_jwks_snapshot_keys(snap);
            const clerk_key_t *key = NULL;
            const char *kid = APR_ARRAY_IDX(ks->keys, 0, clerk_key_t *)->kid;
            /* read the snapshot for real: a freed one would show under ASan/TSan */
            if (!strcmp(kid, KID_A))
                r->a++;
            else if (!strcmp(kid, KID_B))
                r->b++;
            if (clerk_keyset_select(ks, kid, &key) != CLERK_OK || !key || !key->pkey)
                r->other++;
        }
        clerk_jwks_cache_release(r->c, snap);
        if (i % 997 == 0)
            clerk_jwks_cache_kid_miss(r->c, apr_time_now());    /* as the module does */
    }
    apr_atomic_inc32(r->done);
    return NULL;    /* not apr_thread_exit(): see clerk_jwks_cache.c refresher() */
}

typedef struct {
    clerk_jwks_cache_t *c;
    volatile apr_uint32_t *done;
    int asked;
} flipper_t;

/* Forces a refresh every ~2 ms (refresh_min 0) until the readers are done. */
static void *APR_THREAD_FUNC flipper(apr_thread_t *t, void *data)
{
    flipper_t *f = data;
    while (apr_atomic_read32(f->done) < STRESS_THREADS) {
        f->asked += clerk_jwks_cache_kid_miss(f->c, apr_time_now());
        apr_sleep(apr_time_from_msec(2));
    }
    return NULL;    /* not apr_thread_exit(): see clerk_jwks_cache.c refresher() */
}

static void test_thread_stress(void **state)
{
    apr_pool_t *p = UNIT_POOL, *pchild = child_pool(p);
    clerk_jwks_cache_t *c = cache(p, "/stress", 300000, 0, 86400000);
    const char *bodies[2] = {body_a, body_b};
    volatile apr_uint32_t go = 0, done = 0;
    reader_t r[STRESS_THREADS];
    flipper_t f = {.done = &done};
    apr_thread_t *t[STRESS_THREADS], *ft;
    apr_status_t rv;
    int ready = 0, a = 0, b = 0, other = 0, iterations = 0;
    unsigned fetches;
    apr_time_t t0 = apr_time_now();

    ts_route_bodies(srv, "/stress", 200, NULL, 2, bodies, NULL);
    assert_int_equal(clerk_jwks_cache_fetch_now(c, p), APR_SUCCESS);
    assert_int_equal(clerk_jwks_cache_child_init(c, pchild), APR_SUCCESS);
    f.c = c;
    for (int i = 0; i < STRESS_THREADS; i++) {
        r[i] = (reader_t){.c = c, .go = &go, .done = &done,
                          .deadline = t0 + apr_time_from_sec(STRESS_MAX_SECONDS)};
        assert_int_equal(apr_thread_create(&t[i], NULL, reader, &r[i], p), APR_SUCCESS);
    }
    assert_int_equal(apr_thread_create(&ft, NULL, flipper, &f, p), APR_SUCCESS);
    apr_atomic_set32(&go, 1);       /* every reader's first acquire races to start the refresher */
    for (int i = 0; i < STRESS_THREADS; i++) {
        apr_thread_join(&rv, t[i]);
        ready += r[i].ready;
        a += r[i].a;
        b += r[i].b;
        other += r[i].other;
        iterations += r[i].iterations;
        assert_true(r[i].iterations >= STRESS_ITERATIONS);
    }
    apr_thread_join(&rv, ft);
    apr_pool_destroy(pchild);
    fetches = clerk_jwks_cache_fetches(c);
    print_message("stress: %d acquires in %.2f s, %u fetches (%d forced), kids a=%d b=%d\n",
                  ready, seconds_since(t0), fetches, f.asked, a, b);
    assert_int_equal(ready, iterations);
    assert_int_equal(other, 0);
    assert_int_equal(a + b, ready);
    assert_true(fetches >= STRESS_SWAPS);   /* many swaps happened under the readers */
    assert_true(a > 0 && b > 0);
    assert_int_equal(sink_warnings(), 0);
}

/*
 * A reference may be given back by another thread than took it (under the
 * event MPM a request's pool may be cleared elsewhere): each thread counts
 * in its own stripe, so the counts of single stripes wrap, and only their
 * sum is exact.  A snapshot replaced while held survives until its last
 * reference, wherever given back, and is freed then: ASan sees a snapshot
 * freed too early, LeakSanitizer one never freed.
 */
typedef struct {
    clerk_jwks_cache_t *c;
    clerk_jwks_snapshot_t *snap;
    int acquire;                    /* else release snap */
    clerk_keys_state_t state;
} handoff_t;

static void *APR_THREAD_FUNC handoff(apr_thread_t *t, void *data)
{
    handoff_t *h = data;
    if (h->acquire)
        h->state = clerk_jwks_cache_acquire(h->c, apr_time_now(), &h->snap);
    else
        clerk_jwks_cache_release(h->c, h->snap);
    return NULL;    /* not apr_thread_exit(): see clerk_jwks_cache.c refresher() */
}

static void in_thread(apr_pool_t *p, handoff_t *h)
{
    apr_thread_t *t;
    apr_status_t rv;
    assert_int_equal(apr_thread_create(&t, NULL, handoff, h, p), APR_SUCCESS);
    apr_thread_join(&rv, t);
}

static void test_reference_given_back_by_another_thread(void **state)
{
    apr_pool_t *p = UNIT_POOL, *pchild = child_pool(p);
    clerk_jwks_cache_t *c = cache(p, "/handoff", 300000, 0, 86400000);
    handoff_t first = {.c = c, .acquire = 1}, second = {.c = c, .acquire = 1};
    clerk_jwks_snapshot_t *snap;
    const char *kid = NULL;

    ts_route(srv, "/handoff", 200, NULL, body_a);
    assert_int_equal(clerk_jwks_cache_fetch_now(c, p), APR_SUCCESS);
    assert_int_equal(clerk_jwks_cache_child_init(c, pchild), APR_SUCCESS);

    /* taken in one thread, given back in this one: no swap in between */
    in_thread(p, &first);
    assert_int_equal(first.state, CLERK_KEYS_READY);
    unit_assert_str(kid_of(first.snap), KID_A);
    clerk_jwks_cache_release(c, first.snap);

    /* taken in another thread, then the keys change, then given back in a third */
    in_thread(p, &second);
    assert_int_equal(second.state, CLERK_KEYS_READY);
    ts_route(srv, "/handoff", 200, NULL, body_b);
    for (int i = 0; i < 500; i++) {
        assert_true(clerk_jwks_cache_kid_miss(c, apr_time_now()) || i);
        assert_int_equal(clerk_jwks_cache_acquire(c, apr_time_now(), &snap), CLERK_KEYS_READY);
        kid = kid_of(snap);
        clerk_jwks_cache_release(c, snap);
        if (!strcmp(kid, KID_B))
            break;
        apr_sleep(apr_time_from_msec(10));
    }
    unit_assert_str(kid, KID_B);
    unit_assert_str(kid_of(second.snap), KID_A);      /* replaced, held: intact */
    second.acquire = 0;
    in_thread(p, &second);                            /* the last reference: freed there */
    apr_pool_destroy(pchild);
}

/* Several caches (sources) start their refreshers at once from many threads. */
typedef struct {
    clerk_jwks_cache_t **c;
    int n, ok;
    volatile apr_uint32_t *go;
} multi_t;

static void *APR_THREAD_FUNC multi_reader(apr_thread_t *t, void *data)
{
    multi_t *m = data;
    unit_wait_for(m->go);
    for (int i = 0; i < 2000; i++) {
        clerk_jwks_snapshot_t *snap;
        clerk_jwks_cache_t *c = m->c[i % m->n];
        if (clerk_jwks_cache_acquire(c, apr_time_now(), &snap) == CLERK_KEYS_READY) {
            m->ok += kid_of(snap) != NULL;
            clerk_jwks_cache_release(c, snap);
        }
    }
    return NULL;    /* not apr_thread_exit(): see clerk_jwks_cache.c refresher() */
}

static void test_many_sources_many_threads(void **state)
{
    apr_pool_t *p = UNIT_POOL, *pchild = child_pool(p);
    clerk_jwks_cache_t *c[4];
    multi_t m[6];
    apr_thread_t *t[6];
    volatile apr_uint32_t go = 0;
    apr_status_t rv;

    for (int i = 0; i < 4; i++) {
        const char *path = apr_psprintf(p, "/multi%d", i);
        ts_route(srv, path, 200, NULL, i % 2 ? body_a : body_b);
        c[i] = cache(p, path, 50, 10, 86400000);
        assert_int_equal(clerk_jwks_cache_fetch_now(c[i], p), APR_SUCCESS);
        assert_int_equal(clerk_jwks_cache_child_init(c[i], pchild), APR_SUCCESS);
    }
    for (int i = 0; i < 6; i++) {
        m[i] = (multi_t){.c = c, .n = 4, .go = &go};
        assert_int_equal(apr_thread_create(&t[i], NULL, multi_reader, &m[i], p), APR_SUCCESS);
    }
    apr_atomic_set32(&go, 1);
    for (int i = 0; i < 6; i++) {
        apr_thread_join(&rv, t[i]);
        assert_int_equal(m[i].ok, 2000);
    }
    apr_sleep(apr_time_from_msec(120));     /* a few TTL refreshes each */
    apr_pool_destroy(pchild);
    for (int i = 0; i < 4; i++)
        assert_true(clerk_jwks_cache_fetches(c[i]) >= 2);
}

/* ------------------------------------------------------------ the fleet */

#define FLEET_KEY "0123456789abcdef0123456789abcdef-fleet"

/* One process of a fleet sharing store fs: its own courier and cache, in pchild. */
static clerk_shared_cache_t *fleet_process(apr_pool_t *pchild, fake_store_t *fs)
{
    clerk_store_t st = fs_store(fs);
    clerk_courier_t *courier;
    clerk_seal_keys_t *keys;

    assert_int_equal(clerk_seal_keys_derive(pchild, (const unsigned char *)FLEET_KEY,
                                            strlen(FLEET_KEY), &keys), APR_SUCCESS);
    assert_int_equal(clerk_courier_create(&courier, pchild, &st, 64, 65536), APR_SUCCESS);
    return clerk_shared_cache_create(pchild, keys, courier, apr_time_from_sec(1), sink_log,
                                     &sink);
}

/* A cache of path in "another process" of the fleet: shared through fs, set up in pchild. */
static clerk_jwks_cache_t *fleet_cache(apr_pool_t *p, apr_pool_t *pchild, fake_store_t *fs,
                                       const char *path, int ttl_ms, int refresh_min_ms)
{
    clerk_jwks_cache_t *c = cache(p, path, ttl_ms, refresh_min_ms, 86400000);
    clerk_jwks_cache_share(c, fleet_process(pchild, fs));
    return c;
}

/* Wait until the store holds n names (the couriers store in the background). */
static void wait_stored(fake_store_t *fs, int n, apr_pool_t *p)
{
    for (int i = 0; i < 400 && fs_names(fs, p)->nelts < n; i++)
        apr_sleep(apr_time_from_msec(5));
    assert_true(fs_names(fs, p)->nelts >= n);
}

/*
 * Both processes started and serving: a fetches at start-up and stores, b
 * adopts that copy, each starts its refresher in its child pool.
 */
static void start_both(apr_pool_t *p, fake_store_t *fs, clerk_jwks_cache_t *a,
                       apr_pool_t *one, clerk_jwks_cache_t *b, apr_pool_t *two)
{
    assert_int_equal(clerk_jwks_cache_fetch_now(a, p), APR_SUCCESS);
    wait_stored(fs, 1, p);
    assert_int_equal(clerk_jwks_cache_fetch_now(b, p), APR_SUCCESS);
    assert_int_equal(clerk_jwks_cache_child_init(a, one), APR_SUCCESS);
    assert_int_equal(clerk_jwks_cache_child_init(b, two), APR_SUCCESS);
    ready_keys(a, apr_time_now(), NULL);
    ready_keys(b, apr_time_now(), NULL);
}

/* A server starting beside another adopts the key set it stored instead of fetching. */
static void test_fleet_start_adopts_stored_copy(void **state)
{
    apr_pool_t *p = UNIT_POOL, *one = child_pool(p), *two = child_pool(p);
    fake_store_t *fs = fs_create(p);
    clerk_jwks_cache_t *a = fleet_cache(p, one, fs, "/fleet-start", 300000, 30000),
                       *b = fleet_cache(p, two, fs, "/fleet-start", 300000, 30000);
    const char *kid;

    ts_route(srv, "/fleet-start", 200, NULL, body_a);
    assert_int_equal(clerk_jwks_cache_fetch_now(a, p), APR_SUCCESS);
    wait_stored(fs, 1, p);
    assert_int_equal(clerk_jwks_cache_fetch_now(b, p), APR_SUCCESS);
    assert_int_equal(ts_hits(srv, "/fleet-start"), 1);
    ready_keys(b, apr_time_now(), &kid);
    assert_string_equal(kid, KID_A);
    assert_int_equal(clerk_jwks_cache_fetches(b), 0);
    assert_non_null(strstr(sink.text, "from the shared cache"));
    apr_pool_destroy(one);
    apr_pool_destroy(two);
}

/* Two refreshers of one source: about one fetch per TTL between them, not one each. */
static void test_fleet_refreshes_once_per_ttl(void **state)
{
    apr_pool_t *p = UNIT_POOL, *one = child_pool(p), *two = child_pool(p);
    fake_store_t *fs = fs_create(p);
    clerk_jwks_cache_t *a = fleet_cache(p, one, fs, "/fleet-ttl", 400, 30000),
                       *b = fleet_cache(p, two, fs, "/fleet-ttl", 400, 30000);
    unsigned hits;

    ts_route(srv, "/fleet-ttl", 200, NULL, body_a);
    start_both(p, fs, a, one, b, two);
    apr_sleep(apr_time_from_msec(2100));    /* five TTLs: each alone would fetch 5 times */
    apr_pool_destroy(one);
    apr_pool_destroy(two);
    hits = ts_hits(srv, "/fleet-ttl");
    assert_int_equal(hits, clerk_jwks_cache_fetches(a) + clerk_jwks_cache_fetches(b));
    assert_true(hits >= 3);     /* the key set was kept fresh */
    assert_true(hits <= 8);     /* 1 at start, about one per TTL after: alone, 12 */
}

/* A kid storm against two processes: one forced fetch for both; the other adopts its result. */
static void test_fleet_forced_refresh_once(void **state)
{
    apr_pool_t *p = UNIT_POOL, *one = child_pool(p), *two = child_pool(p);
    fake_store_t *fs = fs_create(p);
    clerk_jwks_cache_t *a = fleet_cache(p, one, fs, "/fleet-kid", 300000, 5000),
                       *b = fleet_cache(p, two, fs, "/fleet-kid", 300000, 5000);

    ts_route(srv, "/fleet-kid", 200, NULL, body_a);
    start_both(p, fs, a, one, b, two);
    ts_route(srv, "/fleet-kid", 200, NULL, body_b);     /* rotation */
    assert_int_equal(clerk_jwks_cache_kid_miss(a, apr_time_now()), 1);
    assert_true(wait_kid(a, KID_B, 3000));
    assert_int_equal(clerk_jwks_cache_kid_miss(b, apr_time_now()), 1);  /* its own limit allows */
    assert_true(wait_kid(b, KID_B, 3000));
    apr_sleep(apr_time_from_msec(200));
    assert_int_equal(ts_hits(srv, "/fleet-kid"), 2);    /* start-up, and one forced for both */
    assert_int_equal(clerk_jwks_cache_fetches(b), 0);
    apr_pool_destroy(one);
    apr_pool_destroy(two);
}

/* A stored key set someone altered is not adopted: the process fetches for itself. */
static void test_fleet_altered_copy_is_fetched_anew(void **state)
{
    apr_pool_t *p = UNIT_POOL, *one = child_pool(p), *two = child_pool(p);
    fake_store_t *fs = fs_create(p);
    clerk_jwks_cache_t *a = fleet_cache(p, one, fs, "/fleet-alter", 300000, 30000),
                       *b = fleet_cache(p, two, fs, "/fleet-alter", 300000, 30000);
    apr_array_header_t *names;
    unsigned char *raw;
    apr_size_t len = 0;
    const char *kid;

    ts_route(srv, "/fleet-alter", 200, NULL, body_a);
    assert_int_equal(clerk_jwks_cache_fetch_now(a, p), APR_SUCCESS);
    wait_stored(fs, 1, p);
    names = fs_names(fs, p);
    assert_int_equal(names->nelts, 1);
    raw = fs_raw(fs, APR_ARRAY_IDX(names, 0, const char *), &len, p);
    assert_non_null(raw);
    raw[len / 2] ^= 0x20;
    fs_set_raw(fs, APR_ARRAY_IDX(names, 0, const char *), raw, len,
               apr_time_now() + apr_time_from_sec(60));
    ts_route(srv, "/fleet-alter", 200, NULL, body_b);
    assert_int_equal(clerk_jwks_cache_fetch_now(b, p), APR_SUCCESS);
    assert_int_equal(ts_hits(srv, "/fleet-alter"), 2);
    ready_keys(b, apr_time_now(), &kid);
    assert_string_equal(kid, KID_B);                    /* its own fetch, not the altered copy */
    assert_non_null(strstr(sink.text, "did not open"));
    apr_pool_destroy(one);
    apr_pool_destroy(two);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_never_loaded),
        TEST(test_loaded_ready_and_headers),
        TEST(test_stale_window),
        TEST(test_failed_fetch_keeps_keys),
        TEST(test_unchanged_body_same_snapshot),
        TEST(test_kid_miss_rate_limit),
        TEST(test_source_id),
        TEST(test_refresher_lazy_and_forced),
        TEST(test_ttl_refresh),
        TEST(test_never_loaded_then_recovers),
        TEST(test_stop_during_hung_fetch),
        TEST(test_refresher_blocks_signals),
        TEST(test_thread_stress),
        TEST(test_reference_given_back_by_another_thread),
        TEST(test_many_sources_many_threads),
        TEST(test_fleet_start_adopts_stored_copy),
        TEST(test_fleet_refreshes_once_per_ttl),
        TEST(test_fleet_forced_refresh_once),
        TEST(test_fleet_altered_copy_is_fetched_anew),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
