/*
 * Thread stripes (src/clerk_thread_stripe.c): every thread has an ordinal of
 * its own that never changes, consecutive threads get consecutive stripes,
 * and stripe arrays start on a cache line and are refused when a stripe is
 * not a whole number of cache lines.
 */
#include "unit.h"

#include <apr_atomic.h>
#include <apr_thread_proc.h>
#include <stdint.h>

#include "clerk_thread_stripe.h"

#define THREADS 24

typedef struct {
    volatile apr_uint32_t *go;
    unsigned first, again, stripe;
} ordinal_arg;

static void *APR_THREAD_FUNC ask(apr_thread_t *t, void *data)
{
    ordinal_arg *a = data;
    unit_wait_for(a->go);
    a->first = clerk_thread_ordinal();
    a->again = clerk_thread_ordinal();
    a->stripe = clerk_thread_stripe();
    return NULL;
}

static void test_ordinals_are_distinct_and_fixed(void **state)
{
    volatile apr_uint32_t go = 0;
    ordinal_arg a[THREADS];
    unsigned mine = clerk_thread_ordinal(), lowest = UINT32_MAX, per_stripe[CLERK_STRIPES] = {0};

    for (unsigned i = 0; i < THREADS; i++)
        a[i] = (ordinal_arg){ .go = &go };
    unit_run_threads(UNIT_POOL, THREADS, ask, a, sizeof(a[0]), &go);
    assert_int_equal(clerk_thread_ordinal(), mine);
    for (unsigned i = 0; i < THREADS; i++) {
        assert_int_equal(a[i].again, a[i].first);
        assert_int_equal(a[i].stripe, a[i].first % CLERK_STRIPES);
        assert_int_not_equal(a[i].first, mine);
        for (unsigned k = 0; k < i; k++)
            assert_int_not_equal(a[i].first, a[k].first);
        if (a[i].first < lowest)
            lowest = a[i].first;
    }
    /* numbered in order of first use: the threads took THREADS consecutive ordinals */
    for (unsigned i = 0; i < THREADS; i++) {
        assert_true(a[i].first - lowest < THREADS);
        per_stripe[a[i].stripe]++;
    }
    /* so they spread evenly: no stripe has more than its share, rounded up */
    for (unsigned s = 0; s < CLERK_STRIPES; s++)
        assert_true(per_stripe[s] <= (THREADS + CLERK_STRIPES - 1) / CLERK_STRIPES);
}

static void test_stripes_alloc(void **state)
{
    unsigned char *s = clerk_stripes_alloc(UNIT_POOL, 2 * CLERK_CACHE_LINE);

    assert_non_null(s);
    assert_int_equal((uintptr_t)s % CLERK_CACHE_LINE, 0);
    for (size_t i = 0; i < CLERK_STRIPES * 2 * CLERK_CACHE_LINE; i++)
        assert_int_equal(s[i], 0);
    /* a stripe that would share a line with the next one is refused */
    assert_null(clerk_stripes_alloc(UNIT_POOL, CLERK_CACHE_LINE + 8));
    assert_null(clerk_stripes_alloc(UNIT_POOL, 8));
    assert_null(clerk_stripes_alloc(UNIT_POOL, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_ordinals_are_distinct_and_fixed),
        UNIT_TEST(test_stripes_alloc),
    };
    return UNIT_RUN(tests);
}
