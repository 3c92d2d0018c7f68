/*
 * The shared counters (src/clerk_metrics.c): each outcome lands in its own
 * counter; the handshake reasons map to the fixed set and "other"; threads
 * counting at once lose nothing (TSan run too) and a forked child counts
 * into the parent's segment; a segment reopened with the same layout keeps
 * its counts; the JSON has its shape, the Prometheus text parses (names,
 * HELP/TYPE, labels, monotone histogram buckets ending in +Inf = _count);
 * URLs are reported without user info and query.
 */
#include "unit.h"

#include <apr_atomic.h>

#include <regex.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clerk_authenticate.h"
#include "clerk_backend_api.h"
#include "clerk_metrics.h"

static clerk_metrics_t *fresh(apr_pool_t *p)
{
    clerk_metrics_t *m = NULL;
    apr_shm_t *shm = NULL;
    assert_int_equal(clerk_metrics_open(&m, p, p, &shm), APR_SUCCESS);
    assert_non_null(shm);
    assert_int_equal(clerk_metrics_sources(m, p, 2), APR_SUCCESS);
    return m;
}

static json_t *as_json(apr_pool_t *p, clerk_metrics_t *m)
{
    clerk_metrics_report_t rep = {0};
    json_error_t err;
    json_t *j;
    rep.now = apr_time_now();
    j = json_loads(clerk_metrics_json(p, m, &rep), 0, &err);
    assert_non_null(j);
    return j;
}

static json_int_t at(json_t *j, const char *a, const char *b, const char *c)
{
    json_t *v = json_object_get(json_object_get(j, a), b);
    if (c)
        v = json_object_get(v, c);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

static void test_outcomes_by_type_reason_and_handshake(void **state)
{
    clerk_metrics_t *m = fresh(UNIT_POOL);
    json_t *j;

    clerk_metrics_outcome(m, CLERK_AUTH_SIGNED_IN, CLERK_TYPE_SESSION, CLERK_OK, NULL);
    clerk_metrics_outcome(m, CLERK_AUTH_SIGNED_IN, CLERK_TYPE_SESSION, CLERK_OK, NULL);
    clerk_metrics_outcome(m, CLERK_AUTH_SIGNED_IN, CLERK_TYPE_M2M, CLERK_OK, NULL);
    clerk_metrics_outcome(m, CLERK_AUTH_SIGNED_OUT, 0, CLERK_TOKEN_EXPIRED, NULL);
    clerk_metrics_outcome(m, CLERK_AUTH_ANONYMOUS, 0, CLERK_SESSION_TOKEN_MISSING, NULL);
    clerk_metrics_outcome(m, CLERK_AUTH_HANDSHAKE, 0, CLERK_TOKEN_EXPIRED,
                          "session-token-expired-refresh-non-eligible-no-refresh-cookie");
    clerk_metrics_outcome(m, CLERK_AUTH_HANDSHAKE, 0, CLERK_OK, "dev-browser-missing");
    clerk_metrics_outcome(m, CLERK_AUTH_HANDSHAKE, 0, CLERK_OK, "something-new");
    clerk_metrics_outcome(m, CLERK_AUTH_UNAVAILABLE, 0, CLERK_OK, NULL);
    clerk_metrics_outcome(m, 99, 0, CLERK_OK, NULL);        /* out of range: ignored */
    clerk_metrics_cache(m, CLERK_CACHE_HIT);
    clerk_metrics_cache(m, CLERK_CACHE_MISS);
    clerk_metrics_cache(m, CLERK_CACHE_MISS);
    clerk_metrics_drop(m, CLERK_CALL_VERIFY, CLERK_DROP_BUDGET);
    clerk_metrics_outcome(NULL, CLERK_AUTH_SIGNED_IN, CLERK_TYPE_SESSION, CLERK_OK, NULL);

    j = as_json(UNIT_POOL, m);
    assert_int_equal(at(j, "requests", "signed_in", "session"), 2);
    assert_int_equal(at(j, "requests", "signed_in", "m2m"), 1);
    assert_int_equal(at(j, "requests", "signed_in", "oauth"), 0);
    assert_int_equal(at(j, "requests", "outcomes", "signed-in"), 3);
    assert_int_equal(at(j, "requests", "outcomes", "handshake"), 3);
    assert_int_equal(at(j, "requests", "outcomes", "unavailable"), 1);
    assert_int_equal(at(j, "requests", "rejected", "token-expired"), 1);
    assert_int_equal(at(j, "requests", "rejected", "session-token-missing"), 1);
    assert_null(json_object_get(json_object_get(json_object_get(j, "requests"), "rejected"),
                                clerk_reason_str(CLERK_OK)));
    assert_int_equal(at(j, "requests", "handshakes", "session-token-expired-refresh"), 1);
    assert_int_equal(at(j, "requests", "handshakes", "dev-browser-missing"), 1);
    assert_int_equal(at(j, "requests", "handshakes", "other"), 1);
    assert_int_equal(at(j, "token_cache", "hits", NULL), 1);
    assert_int_equal(at(j, "token_cache", "misses", NULL), 2);
    json_decref(j);
}

static void test_handshake_reason_set(void **state)
{
    assert_int_equal(clerk_metrics_hs_reason("session-token-expired-refresh-fetch-error"),
                     CLERK_HS_SESSION_TOKEN_EXPIRED_REFRESH);
    assert_int_equal(clerk_metrics_hs_reason("session-token-expired-refresh"), CLERK_HS_OTHER);
    assert_int_equal(clerk_metrics_hs_reason("satellite-needs-syncing"),
                     CLERK_HS_SATELLITE_NEEDS_SYNCING);
    assert_int_equal(clerk_metrics_hs_reason("satellite-needs-syncing-x"), CLERK_HS_OTHER);
    assert_int_equal(clerk_metrics_hs_reason(NULL), CLERK_HS_OTHER);
    for (unsigned i = 0; i < CLERK_HS_OTHER; i++)
        if (i != CLERK_HS_SESSION_TOKEN_EXPIRED_REFRESH)
            assert_int_equal(clerk_metrics_hs_reason(clerk_metrics_hs_name(i)), i);
}

#define THREADS 8
#define PER_THREAD 20000

static void *APR_THREAD_FUNC counter_thread(apr_thread_t *t, void *data)
{
    clerk_metrics_t *m = data;
    for (int i = 0; i < PER_THREAD; i++) {
        clerk_metrics_outcome(m, CLERK_AUTH_SIGNED_IN, CLERK_TYPE_SESSION, CLERK_OK, NULL);
        clerk_metrics_cache(m, CLERK_CACHE_HIT);
        clerk_metrics_call(m, CLERK_CALL_REFRESH, CLERK_BAPI_ANSWERED, 1000);
    }
    return NULL;
}

static void test_threads_lose_no_count(void **state)
{
    clerk_metrics_t *m = fresh(UNIT_POOL);
    apr_thread_t *t[THREADS];
    apr_status_t rv;
    json_t *j;

    for (int i = 0; i < THREADS; i++)
        assert_int_equal(apr_thread_create(&t[i], NULL, counter_thread, m, UNIT_POOL),
                         APR_SUCCESS);
    for (int i = 0; i < THREADS; i++)
        apr_thread_join(&rv, t[i]);
    j = as_json(UNIT_POOL, m);
    assert_int_equal(at(j, "requests", "signed_in", "session"), THREADS * PER_THREAD);
    assert_int_equal(at(j, "token_cache", "hits", NULL), THREADS * PER_THREAD);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_object_get(json_object_get(j, "backend_api"),
                                                         "calls"), "session_refresh"),
                         "answered")),
                     THREADS * PER_THREAD);
    json_decref(j);
}

static void test_forked_child_counts_into_the_parent(void **state)
{
    clerk_metrics_t *m = fresh(UNIT_POOL);
    int status;
    pid_t pid = fork();
    json_t *j;

    assert_true(pid >= 0);
    if (pid == 0) {
        for (int i = 0; i < 500; i++)
            clerk_metrics_outcome(m, CLERK_AUTH_SIGNED_OUT, 0, CLERK_TOKEN_INVALID_SIGNATURE, NULL);
        clerk_metrics_fetch(m, 0, 1, 5 * APR_USEC_PER_SEC);
        _exit(0);
    }
    for (int i = 0; i < 500; i++)
        clerk_metrics_outcome(m, CLERK_AUTH_SIGNED_OUT, 0, CLERK_TOKEN_INVALID_SIGNATURE, NULL);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    j = as_json(UNIT_POOL, m);
    assert_int_equal(at(j, "requests", "rejected", "token-invalid-signature"), 1000);
    json_decref(j);
}

static void test_reopen_keeps_the_counts(void **state)
{
    clerk_metrics_t *m = NULL, *again = NULL;
    apr_shm_t *shm = NULL, *first;
    json_t *j;

    assert_int_equal(clerk_metrics_open(&m, UNIT_POOL, UNIT_POOL, &shm), APR_SUCCESS);
    first = shm;
    clerk_metrics_cache(m, CLERK_CACHE_EVICTION);
    assert_int_equal(clerk_metrics_open(&again, UNIT_POOL, UNIT_POOL, &shm), APR_SUCCESS);
    assert_ptr_equal(shm, first);
    assert_int_equal(clerk_metrics_started(again), clerk_metrics_started(m));
    j = as_json(UNIT_POOL, again);
    assert_int_equal(at(j, "token_cache", "evictions", NULL), 1);
    json_decref(j);
}

/* One sample line: name{labels} value (labels as Prometheus writes them). */
static regex_t sample_re, label_re;

static void test_prometheus_exposition(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_metrics_t *m = fresh(p);
    clerk_metrics_source_view_t views[2] = {{0}};
    clerk_metrics_report_t rep = {0};
    apr_array_header_t *kids = apr_array_make(p, 2, sizeof(const char *));
    char *text, *line, *save;
    const char *typed = "";
    double last_bucket = -1;
    int buckets = 0, inf_seen = 0;

    assert_int_equal(regcomp(&sample_re, "^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{([^}]*)\\})? "
                                         "([0-9]+(\\.[0-9]+)?)$", REG_EXTENDED), 0);
    assert_int_equal(regcomp(&label_re, "^[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\.)*\"$",
                             REG_EXTENDED), 0);
    clerk_metrics_call(m, CLERK_CALL_VERIFY, CLERK_BAPI_ANSWERED, 3000);        /* 0.005 */
    clerk_metrics_call(m, CLERK_CALL_VERIFY, CLERK_BAPI_ANSWERED, 70000);       /* 0.1 */
    clerk_metrics_call(m, CLERK_CALL_VERIFY, CLERK_BAPI_UNAVAILABLE, 30000000); /* +Inf */
    clerk_metrics_fetch(m, 0, 0, 7 * APR_USEC_PER_SEC);
    APR_ARRAY_PUSH(kids, const char *) = "ins_\"kid\\1";
    APR_ARRAY_PUSH(kids, const char *) = NULL;
    views[0].url = "https://user:pw@example.test/jwks?secret=x";
    views[0].loaded = 1;
    views[0].fetched_at = 1;
    views[0].kids = kids;
    rep.views = views;
    rep.nviews = 2;
    rep.now = apr_time_now();
    text = clerk_metrics_prometheus(p, m, &rep);
    assert_null(strstr(text, "secret=x"));
    assert_null(strstr(text, "pw@"));
    assert_non_null(strstr(text, "source=\"https://example.test/jwks\""));
    assert_non_null(strstr(text, "kid=\"ins_\\\"kid\\\\1\""));
    assert_non_null(strstr(text, "clerk_key_source_fetches_total{source=\"https://example.test/jwks\","
                                 "result=\"failed\"} 1\n"));
    assert_non_null(strstr(text, "clerk_backend_api_call_duration_seconds_count"
                                 "{endpoint=\"opaque_verify\"} 3\n"));
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        regmatch_t g[6];
        char name[128], labels[512];
        if (!strncmp(line, "# HELP ", 7))
            continue;
        if (!strncmp(line, "# TYPE ", 7)) {
            typed = apr_pstrdup(p, line + 7);
            assert_true(strstr(typed, " counter") || strstr(typed, " gauge")
                        || strstr(typed, " histogram"));
            continue;
        }
        if (regexec(&sample_re, line, 6, g, 0))
            fail_msg("not a sample line: %s", line);
        snprintf(name, sizeof(name), "%.*s", (int)(g[1].rm_eo - g[1].rm_so), line + g[1].rm_so);
        /* every sample follows the TYPE of its family */
        assert_int_equal(strncmp(typed, name, strcspn(typed, " ")), 0);
        if (g[3].rm_so >= 0) {
            char *l, *ls;
            snprintf(labels, sizeof(labels), "%.*s", (int)(g[3].rm_eo - g[3].rm_so),
                     line + g[3].rm_so);
            /* split at commas outside quotes */
            for (l = labels, ls = labels;; l++) {
                int in = 0;
                for (l = ls; *l && (in || *l != ','); l++) {
                    if (*l == '\\' && l[1])
                        l++;
                    else if (*l == '"')
                        in = !in;
                }
                char c = *l;
                *l = '\0';
                if (regexec(&label_re, ls, 0, NULL, 0))
                    fail_msg("bad label %s in %s", ls, line);
                if (!c)
                    break;
                ls = l + 1;
            }
        }
        if (strstr(name, "_bucket") && strstr(line, "endpoint=\"opaque_verify\"")) {
            double v = atof(line + g[4].rm_so);
            assert_true(v >= last_bucket);
            last_bucket = v;
            buckets++;
            if (strstr(line, "le=\"+Inf\""))
                inf_seen = 1, assert_true(v == 3);
        }
    }
    assert_int_equal(buckets, CLERK_METRICS_BUCKETS + 1);
    assert_true(inf_seen);
    regfree(&sample_re);
    regfree(&label_re);
}

static void test_json_shape(void **state)
{
    clerk_metrics_t *m = fresh(UNIT_POOL);
    json_t *j = as_json(UNIT_POOL, m), *h;

    for (const char *const *k = (const char *const[]){"pid", "started", "uptime_seconds",
                                                      "requests", "token_cache", "backend_api",
                                                      "key_sources", NULL};
         *k; k++)
        assert_non_null(json_object_get(j, *k));
    h = json_object_get(json_object_get(json_object_get(j, "backend_api"), "latency_seconds"),
                        "handshake_payload");
    assert_int_equal(json_object_size(json_object_get(h, "buckets")), CLERK_METRICS_BUCKETS + 1);
    assert_true(json_is_array(json_object_get(j, "key_sources")));
    json_decref(j);
}

static void test_safe_url(void **state)
{
    assert_string_equal(clerk_metrics_safe_url(UNIT_POOL, "https://a:b@h.test:8/p?q=1#f"),
                        "https://h.test:8/p");
    assert_string_equal(clerk_metrics_safe_url(UNIT_POOL, "https://h.test/a@b"),
                        "https://h.test/a@b");
    assert_string_equal(clerk_metrics_safe_url(UNIT_POOL, "/local?x"), "/local");
}

/*
 * Two children on one segment, each with its base of request stripes and
 * more threads between them than stripes remain above the second base: the
 * counts of both, of threads sharing stripes too, add up exactly.
 */
typedef struct {
    clerk_metrics_t *m;
    volatile apr_uint32_t *go;
} child_thread_arg;

static void *APR_THREAD_FUNC child_counter(apr_thread_t *t, void *data)
{
    child_thread_arg *a = data;
    unit_wait_for(a->go);
    for (int i = 0; i < PER_THREAD; i++) {
        clerk_metrics_outcome(a->m, CLERK_AUTH_SIGNED_OUT, 0, CLERK_TOKEN_EXPIRED, NULL);
        clerk_metrics_cache(a->m, CLERK_CACHE_MISS);
    }
    return NULL;
}

static void test_children_count_in_stripes_of_their_own(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_metrics_t *first = NULL, *second = NULL;
    apr_shm_t *shm = NULL;
    volatile apr_uint32_t go = 0;
    child_thread_arg args[2 * THREADS];
    apr_thread_t *t[2 * THREADS];
    apr_status_t rv;
    json_t *j;

    assert_int_equal(clerk_metrics_open(&first, p, p, &shm), APR_SUCCESS);
    assert_int_equal(clerk_metrics_open(&second, p, p, &shm), APR_SUCCESS);   /* the same segment */
    clerk_metrics_child_init(first, 120);
    clerk_metrics_child_init(second, 120);      /* base 120: its threads wrap to stripe 0 */
    for (int i = 0; i < 2 * THREADS; i++) {
        args[i] = (child_thread_arg){ .m = i < THREADS ? first : second, .go = &go };
        assert_int_equal(apr_thread_create(&t[i], NULL, child_counter, &args[i], p),
                         APR_SUCCESS);
    }
    apr_atomic_set32(&go, 1);
    for (int i = 0; i < 2 * THREADS; i++)
        apr_thread_join(&rv, t[i]);
    /* either handle reports the whole segment */
    j = as_json(p, first);
    assert_int_equal(at(j, "requests", "outcomes", "signed-out"), 2 * THREADS * PER_THREAD);
    assert_int_equal(at(j, "requests", "rejected", "token-expired"), 2 * THREADS * PER_THREAD);
    assert_int_equal(at(j, "token_cache", "misses", NULL), 2 * THREADS * PER_THREAD);
    json_decref(j);
    j = as_json(p, second);
    assert_int_equal(at(j, "token_cache", "misses", NULL), 2 * THREADS * PER_THREAD);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_outcomes_by_type_reason_and_handshake),
        UNIT_TEST(test_handshake_reason_set),
        UNIT_TEST(test_threads_lose_no_count),
        UNIT_TEST(test_children_count_in_stripes_of_their_own),
        UNIT_TEST(test_forked_child_counts_into_the_parent),
        UNIT_TEST(test_reopen_keeps_the_counts),
        UNIT_TEST(test_prometheus_exposition),
        UNIT_TEST(test_json_shape),
        UNIT_TEST(test_safe_url),
    };
    return UNIT_RUN(tests);
}
