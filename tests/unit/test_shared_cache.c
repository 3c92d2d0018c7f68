/*
 * src/clerk_shared_cache.c over a real courier and an in-memory store
 * (fake_store.h) that the tests read and write behind the cache's back, as
 * whoever can reach the Redis could: values round-trip; a value altered, cut,
 * moved to another name or sealed under another key never opens, is counted
 * and reported at most once per interval; an expired one is absent; a store
 * that fails is "did not answer", not "absent"; and the lease gives the work
 * to one process at a time.
 */
#include "unit.h"

#include "clerk_shared_cache.h"
#include "fake_store.h"

#define KEY_A "0123456789abcdef0123456789abcdef-fleet-a"
#define KEY_B "0123456789abcdef0123456789abcdef-fleet-b"
#define WAIT apr_time_from_sec(2)

typedef struct {
    int reports;
    char last[512];
} log_count_t;

static void count_log(void *baton, int level, const char *msg)
{
    log_count_t *l = baton;
    l->reports++;
    apr_cpystrn(l->last, msg, sizeof(l->last));
}

/* A process of the fleet: its own courier over the shared store, keys from material. */
static clerk_shared_cache_t *process(apr_pool_t *p, fake_store_t *fs, const char *material,
                                     log_count_t *log)
{
    clerk_store_t st = fs_store(fs);
    clerk_courier_t *courier;
    clerk_seal_keys_t *keys;

    assert_int_equal(clerk_seal_keys_derive(p, (const unsigned char *)material, strlen(material),
                                            &keys), APR_SUCCESS);
    assert_int_equal(clerk_courier_create(&courier, p, &st, 64, 4096), APR_SUCCESS);
    return clerk_shared_cache_create(p, keys, courier, WAIT, count_log, log);
}

static apr_status_t get(clerk_shared_cache_t *sc, clerk_seal_purpose_t purpose, const char *name,
                        apr_pool_t *p, const char **value)
{
    unsigned char *v = NULL;
    apr_size_t len = 0;
    apr_status_t rv = clerk_shared_cache_get(sc, purpose, name, strlen(name), apr_time_now(), 0,
                                             p, &v, &len, NULL);
    *value = rv == APR_SUCCESS ? apr_pstrmemdup(p, (const char *)v, len) : NULL;
    return rv;
}

static void put(clerk_shared_cache_t *sc, clerk_seal_purpose_t purpose, const char *name,
                const char *value, apr_interval_time_t ttl, apr_pool_t *p)
{
    assert_int_equal(clerk_shared_cache_put(sc, purpose, name, strlen(name),
                                            apr_time_now() + ttl, value, strlen(value), p),
                     APR_SUCCESS);
}

/* The only name in the store. */
static const char *only_name(fake_store_t *fs, apr_pool_t *p)
{
    apr_array_header_t *names = fs_names(fs, p);
    assert_int_equal(names->nelts, 1);
    return APR_ARRAY_IDX(names, 0, const char *);
}

static void test_round_trip_between_processes(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    fake_store_t *fs = fs_create(p);
    log_count_t log = {0};
    clerk_shared_cache_t *a = process(p, fs, KEY_A, &log), *b = process(p, fs, KEY_A, &log);
    const char *v, *name;
    apr_size_t len = 0;
    unsigned char *raw;

    put(a, CLERK_SEAL_VERDICT, "token-1", "G{\"object\":\"m2m_token\"}", WAIT, p);
    assert_int_equal(get(a, CLERK_SEAL_VERDICT, "token-1", p, &v), APR_SUCCESS);  /* in order */
    assert_string_equal(v, "G{\"object\":\"m2m_token\"}");
    assert_int_equal(get(b, CLERK_SEAL_VERDICT, "token-1", p, &v), APR_SUCCESS);
    assert_string_equal(v, "G{\"object\":\"m2m_token\"}");
    /* another purpose, another name: absent */
    assert_int_equal(get(b, CLERK_SEAL_KEYSET, "token-1", p, &v), APR_NOTFOUND);
    assert_int_equal(get(b, CLERK_SEAL_VERDICT, "token-2", p, &v), APR_NOTFOUND);
    /* the store holds neither the name nor the value in clear */
    name = only_name(fs, p);
    assert_null(strstr(name, "token-1"));
    assert_int_equal(strncmp(name, "clerk1:v:", 9), 0);
    raw = fs_raw(fs, name, &len, p);
    assert_non_null(raw);
    assert_null(memmem(raw, len, "m2m_token", 9));
    assert_int_equal(log.reports, 0);
    assert_true(clerk_shared_cache_rejected(b) == 0);
}

/* Whoever writes to the store: altered, cut, moved or foreign values never open, and are counted. */
static void test_tampered_values_do_not_open(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    fake_store_t *fs = fs_create(p);
    log_count_t log = {0};
    clerk_shared_cache_t *a = process(p, fs, KEY_A, &log), *other = process(p, fs, KEY_B, &log);
    const char *v, *good, *bad;
    unsigned char *raw;
    apr_size_t len = 0;
    apr_time_t later = apr_time_now() + WAIT;

    put(a, CLERK_SEAL_VERDICT, "good-token", "G{}", WAIT, p);
    put(a, CLERK_SEAL_VERDICT, "revoked-token", "R3", WAIT, p);
    assert_int_equal(get(a, CLERK_SEAL_VERDICT, "revoked-token", p, &v), APR_SUCCESS);
    good = APR_ARRAY_IDX(fs_names(fs, p), 0, const char *);
    bad = APR_ARRAY_IDX(fs_names(fs, p), 1, const char *);

    /* a genuine value copied onto another token's name */
    raw = fs_raw(fs, good, &len, p);
    fs_set_raw(fs, bad, raw, len, later);
    assert_int_equal(get(a, CLERK_SEAL_VERDICT, "revoked-token", p, &v), APR_NOTFOUND);
    assert_true(clerk_shared_cache_rejected(a) == 1);
    assert_int_equal(log.reports, 1);
    assert_non_null(strstr(log.last, "did not open"));
    assert_non_null(strstr(log.last, "verdict"));

    /* one bit flipped, then cut short: refused too, counted, but reported once per interval */
    raw[len - 1] ^= 1;
    fs_set_raw(fs, good, raw, len, later);
    assert_int_equal(get(a, CLERK_SEAL_VERDICT, "good-token", p, &v), APR_NOTFOUND);
    fs_set_raw(fs, good, raw, len / 2, later);
    assert_int_equal(get(a, CLERK_SEAL_VERDICT, "good-token", p, &v), APR_NOTFOUND);
    fs_set_raw(fs, good, "garbage", 7, later);
    assert_int_equal(get(a, CLERK_SEAL_VERDICT, "good-token", p, &v), APR_NOTFOUND);
    assert_true(clerk_shared_cache_rejected(a) == 4);
    assert_int_equal(log.reports, 1);

    /* a server with another ClerkCacheKey neither reads nor is read */
    put(other, CLERK_SEAL_VERDICT, "good-token", "G{}", WAIT, p);
    assert_int_equal(get(other, CLERK_SEAL_VERDICT, "good-token", p, &v), APR_SUCCESS);
    assert_int_equal(fs_names(fs, p)->nelts, 3);        /* another name, too */
    raw = fs_raw(fs, APR_ARRAY_IDX(fs_names(fs, p), 2, const char *), &len, p);
    fs_set_raw(fs, good, raw, len, later);
    assert_int_equal(get(a, CLERK_SEAL_VERDICT, "good-token", p, &v), APR_NOTFOUND);
    assert_true(clerk_shared_cache_rejected(a) == 5);
}

static void test_expired_value_is_absent(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    fake_store_t *fs = fs_create(p);
    log_count_t log = {0};
    clerk_shared_cache_t *a = process(p, fs, KEY_A, &log);
    const char *v;
    unsigned char *raw;
    apr_size_t len = 0;

    put(a, CLERK_SEAL_VERDICT, "short", "R3", apr_time_from_msec(100), p);
    assert_int_equal(get(a, CLERK_SEAL_VERDICT, "short", p, &v), APR_SUCCESS);
    raw = fs_raw(fs, only_name(fs, p), &len, p);
    apr_sleep(apr_time_from_msec(150));
    /* even when the store keeps it longer than asked (or someone puts it back) */
    fs_set_raw(fs, only_name(fs, p), raw, len, apr_time_now() + WAIT);
    assert_int_equal(get(a, CLERK_SEAL_VERDICT, "short", p, &v), APR_NOTFOUND);
    assert_true(clerk_shared_cache_rejected(a) == 0);   /* genuine, only old */
}

static void test_failing_store_is_not_an_absent_value(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    fake_store_t *fs = fs_create(p);
    log_count_t log = {0};
    clerk_shared_cache_t *a = process(p, fs, KEY_A, &log);
    const char *v;
    apr_status_t rv;

    fs_fail(fs, 1);
    rv = get(a, CLERK_SEAL_VERDICT, "x", p, &v);
    assert_true(rv != APR_SUCCESS && rv != APR_NOTFOUND);
    /* resting: refused at once, without calling the store */
    {
        unsigned calls = fs_calls(fs);
        rv = get(a, CLERK_SEAL_VERDICT, "x", p, &v);
        assert_true(rv != APR_SUCCESS && rv != APR_NOTFOUND);
        assert_int_equal(fs_calls(fs), calls);
        assert_int_equal(clerk_shared_cache_claim(a, "work", 4, apr_time_now(), WAIT, 0, p), -1);
    }
}

/* One process of the fleet holds a lease; the others learn it is held; it ends by itself. */
static void test_lease_goes_to_one_process(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    fake_store_t *fs = fs_create(p);
    log_count_t log = {0};
    clerk_shared_cache_t *a = process(p, fs, KEY_A, &log), *b = process(p, fs, KEY_A, &log);
    apr_interval_time_t hold = apr_time_from_msec(300);

    assert_int_equal(clerk_shared_cache_claim(a, "fetch\nurl", 9, apr_time_now(), hold, 0, p), 1);
    assert_int_equal(clerk_shared_cache_claim(b, "fetch\nurl", 9, apr_time_now(), hold, 0, p), 0);
    /* the holder itself does not get it twice (a forced refetch per interval, not per call) */
    assert_int_equal(clerk_shared_cache_claim(a, "fetch\nurl", 9, apr_time_now(), hold, 0, p), 0);
    /* another lease is another name */
    assert_int_equal(clerk_shared_cache_claim(b, "forced\nurl", 10, apr_time_now(), hold, 0, p),
                     1);
    apr_sleep(hold + apr_time_from_msec(50));
    assert_int_equal(clerk_shared_cache_claim(b, "fetch\nurl", 9, apr_time_now(), hold, 0, p), 1);
    /* given back when its work is done: the next claim need not wait for it to run out */
    clerk_shared_cache_release(b, "fetch\nurl", 9, p);
    assert_int_equal(clerk_shared_cache_claim(a, "fetch\nurl", 9, apr_time_now(), hold, 0, p), 1);
    assert_int_equal(clerk_shared_cache_claim(b, "fetch\nurl", 9, apr_time_now(), hold, 0, p), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_round_trip_between_processes),
        UNIT_TEST(test_tampered_values_do_not_open),
        UNIT_TEST(test_expired_value_is_absent),
        UNIT_TEST(test_failing_store_is_not_an_absent_value),
        UNIT_TEST(test_lease_goes_to_one_process),
    };
    return UNIT_RUN(tests);
}
