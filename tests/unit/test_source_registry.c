/*
 * The per-process registry of key sources (clerk_source_registry): pinned
 * sources are shared and never closed; sources admitted at request time are
 * bounded, the least recently used idle one is closed (its refresher joined)
 * to make room, and a source is refused when every admitted one is held.
 * The sources point at a port where nothing listens: nothing here needs keys.
 */
#include "unit.h"

#include "clerk_source_registry.h"

static clerk_jwks_source_t source(apr_pool_t *p, int n)
{
    clerk_jwks_source_t s;

    memset(&s, 0, sizeof(s));
    s.url = apr_psprintf(p, "http://127.0.0.1:9/keys-%d.json", n);
    s.ttl = apr_time_from_sec(300);
    s.refresh_min = apr_time_from_sec(30);
    s.max_stale = apr_time_from_sec(60);
    s.http.timeout_ms = 1000;
    return s;
}

static clerk_jwks_cache_t *hold(clerk_source_registry_t *reg, apr_pool_t *p, int n)
{
    clerk_jwks_source_t s = source(p, n);
    return clerk_source_registry_hold(reg, &s, p);
}

/* Start a cache's refresher, as a request's acquire does. */
static void use(clerk_jwks_cache_t *c)
{
    clerk_jwks_snapshot_t *snap;
    assert_int_equal(clerk_jwks_cache_acquire(c, apr_time_now(), &snap), CLERK_KEYS_NEVER_LOADED);
}

static void test_not_serving_before_child_init(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_source_registry_t *reg = clerk_source_registry_create(p, 4, NULL, NULL);

    assert_null(hold(reg, p, 1));
}

static void test_pinned_are_shared(void **state)
{
    apr_pool_t *p = UNIT_POOL, *child;
    clerk_source_registry_t *reg = clerk_source_registry_create(p, 2, NULL, NULL);
    clerk_jwks_source_t a = source(p, 1), b = source(p, 2);
    clerk_jwks_cache_t *ca = clerk_source_registry_pin(reg, &a, p);

    assert_ptr_equal(clerk_source_registry_pin(reg, &a, p), ca);
    assert_ptr_not_equal(clerk_source_registry_pin(reg, &b, p), ca);
    assert_int_equal(apr_pool_create(&child, p), APR_SUCCESS);
    assert_int_equal(clerk_source_registry_child_init(reg, child), APR_SUCCESS);
    /* the same source named in .htaccess is the pinned one */
    assert_ptr_equal(hold(reg, p, 1), ca);
    clerk_source_registry_release(reg, ca);
    /* both places taken by pinned sources, which are never closed */
    assert_null(hold(reg, p, 3));
    assert_int_equal(clerk_source_registry_count(reg), 2);
    assert_int_equal(clerk_source_registry_closed(reg), 0);
    apr_pool_destroy(child);
}

static void test_bound_closes_least_recently_used_idle(void **state)
{
    apr_pool_t *p = UNIT_POOL, *child;
    clerk_source_registry_t *reg = clerk_source_registry_create(p, 3, NULL, NULL);
    clerk_jwks_cache_t *c1, *c2, *c3, *c4;
    apr_uint64_t id1;

    assert_int_equal(apr_pool_create(&child, p), APR_SUCCESS);
    assert_int_equal(clerk_source_registry_child_init(reg, child), APR_SUCCESS);
    c1 = hold(reg, p, 1);
    c2 = hold(reg, p, 2);
    c3 = hold(reg, p, 3);
    assert_non_null(c1);
    assert_non_null(c2);
    assert_non_null(c3);
    use(c1);
    use(c2);
    id1 = clerk_jwks_cache_id(c1);
    /* the same source again: the same cache, no new admission */
    assert_ptr_equal(hold(reg, p, 2), c2);
    clerk_source_registry_release(reg, c2);
    /* all three held: a fourth is refused */
    assert_null(hold(reg, p, 4));
    assert_int_equal(clerk_source_registry_count(reg), 3);
    /* 1 is released first but used before 2 and 3: it is closed for 4 */
    clerk_source_registry_release(reg, c1);
    clerk_source_registry_release(reg, c2);
    c4 = hold(reg, p, 4);
    assert_non_null(c4);
    assert_int_equal(clerk_source_registry_count(reg), 3);
    assert_int_equal(clerk_source_registry_closed(reg), 1);
    /* 2 is still there, 1 comes back as a new cache with a new id */
    assert_ptr_equal(hold(reg, p, 2), c2);
    clerk_source_registry_release(reg, c2);
    clerk_source_registry_release(reg, c3);
    c1 = hold(reg, p, 1);
    assert_non_null(c1);
    assert_true(clerk_jwks_cache_id(c1) != id1);
    assert_int_equal(clerk_source_registry_closed(reg), 2);
    clerk_source_registry_release(reg, c1);
    clerk_source_registry_release(reg, c4);
    apr_pool_destroy(child);        /* closes what is left, joining refreshers */
}

static void test_flood_stays_bounded(void **state)
{
    apr_pool_t *p = UNIT_POOL, *child;
    clerk_source_registry_t *reg = clerk_source_registry_create(p, 4, NULL, NULL);

    assert_int_equal(apr_pool_create(&child, p), APR_SUCCESS);
    assert_int_equal(clerk_source_registry_child_init(reg, child), APR_SUCCESS);
    for (int i = 0; i < 200; i++) {
        clerk_jwks_cache_t *c = hold(reg, p, i);
        assert_non_null(c);
        use(c);
        clerk_source_registry_release(reg, c);
        assert_true(clerk_source_registry_count(reg) <= 4);
    }
    assert_int_equal(clerk_source_registry_closed(reg), 196);
    apr_pool_destroy(child);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_not_serving_before_child_init),
        UNIT_TEST(test_pinned_are_shared),
        UNIT_TEST(test_bound_closes_least_recently_used_idle),
        UNIT_TEST(test_flood_stays_bounded),
    };
    return UNIT_RUN(tests);
}
