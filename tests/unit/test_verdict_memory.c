/*
 * The memory of recent Backend API verdicts (src/clerk_verdict_memory.c):
 * recall until (not at) the expiry, replace and forget, a capacity that a
 * flood of keys cannot grow, eviction of the expired and then the oldest,
 * and threads sharing one memory (TSan run too).
 */
#include "unit.h"

#include <apr_atomic.h>
#include <apr_thread_proc.h>

#include "clerk_verdict_memory.h"

#define NOW 1700000000

static clerk_verdict_memory_t *memory(apr_pool_t *p, unsigned capacity)
{
    clerk_verdict_memory_t *m = NULL;
    assert_int_equal(clerk_verdict_memory_create(&m, p, capacity), APR_SUCCESS);
    return m;
}

static void test_recall_until_expiry(void **state)
{
    clerk_verdict_memory_t *m = memory(UNIT_POOL, 64);
    unsigned char a[32], b[32];

    unit_key_of(1, "a", a);
    unit_key_of(2, "b", b);
    assert_false(clerk_verdict_memory_recall(m, a, NOW, NULL));
    clerk_verdict_memory_remember(m, a, NOW + 5, 0);
    assert_true(clerk_verdict_memory_recall(m, a, NOW, NULL));
    assert_true(clerk_verdict_memory_recall(m, a, NOW + 4, NULL));
    assert_false(clerk_verdict_memory_recall(m, a, NOW + 5, NULL));  /* until is exclusive */
    assert_false(clerk_verdict_memory_recall(m, b, NOW, NULL));      /* only the key remembered */
    /* the same key again replaces its expiry, later or earlier */
    clerk_verdict_memory_remember(m, a, NOW + 60, 0);
    assert_true(clerk_verdict_memory_recall(m, a, NOW + 59, NULL));
    clerk_verdict_memory_remember(m, a, NOW + 1, 0);
    assert_false(clerk_verdict_memory_recall(m, a, NOW + 1, NULL));
    assert_int_equal(clerk_verdict_memory_size(m), 1);
}

static void test_verdict_is_given_back(void **state)
{
    clerk_verdict_memory_t *m = memory(UNIT_POOL, 64);
    unsigned char a[32], b[32];
    int v = -1;

    unit_key_of(1, "v", a);
    unit_key_of(2, "v", b);
    clerk_verdict_memory_remember(m, a, NOW + 5, 7);
    clerk_verdict_memory_remember(m, b, NOW + 5, 9);
    assert_true(clerk_verdict_memory_recall(m, a, NOW, &v));
    assert_int_equal(v, 7);
    assert_true(clerk_verdict_memory_recall(m, b, NOW, &v));
    assert_int_equal(v, 9);
    clerk_verdict_memory_remember(m, a, NOW + 5, 3);     /* a new verdict replaces it */
    assert_true(clerk_verdict_memory_recall(m, a, NOW, &v));
    assert_int_equal(v, 3);
    v = -1;
    assert_false(clerk_verdict_memory_recall(m, a, NOW + 5, &v));
    assert_int_equal(v, -1);                             /* untouched when expired */
}

static void test_forget(void **state)
{
    clerk_verdict_memory_t *m = memory(UNIT_POOL, 64);
    unsigned char a[32], b[32];

    unit_key_of(1, "f", a);
    unit_key_of(2, "f", b);
    clerk_verdict_memory_remember(m, a, NOW + 60, 0);
    clerk_verdict_memory_remember(m, b, NOW + 60, 0);
    clerk_verdict_memory_forget(m, a);
    assert_false(clerk_verdict_memory_recall(m, a, NOW, NULL));
    assert_true(clerk_verdict_memory_recall(m, b, NOW, NULL));
    clerk_verdict_memory_forget(m, a);                  /* forgetting twice is harmless */
    assert_int_equal(clerk_verdict_memory_size(m), 1);
}

static void test_capacity_is_rounded_up(void **state)
{
    clerk_verdict_memory_t *m = NULL;

    assert_int_equal(clerk_verdict_memory_create(&m, UNIT_POOL, 0), APR_EINVAL);
    assert_int_equal(clerk_verdict_memory_capacity(memory(UNIT_POOL, 1)), CLERK_VERDICT_WAYS);
    assert_int_equal(clerk_verdict_memory_capacity(memory(UNIT_POOL, 8)), 8);
    assert_int_equal(clerk_verdict_memory_capacity(memory(UNIT_POOL, 9)), 16);
    assert_int_equal(clerk_verdict_memory_capacity(memory(UNIT_POOL, 1000)), 1000);
}

/* A flood of distinct keys: the memory never holds more than its capacity. */
static void test_flood_is_bounded(void **state)
{
    clerk_verdict_memory_t *m = memory(UNIT_POOL, 256);
    unsigned char k[32];

    for (unsigned i = 0; i < 100000; i++) {
        unit_key_of(i, "flood", k);
        clerk_verdict_memory_remember(m, k, NOW + 10, 0);
        assert_true(clerk_verdict_memory_recall(m, k, NOW, NULL));   /* the newest is always kept */
        if (i % 1000 == 0)
            assert_true(clerk_verdict_memory_size(m) <= 256);
    }
    assert_int_equal(clerk_verdict_memory_size(m), 256);
}

/* One set (capacity 8): a new key takes an expired entry's place first... */
static void test_eviction_takes_the_expired_first(void **state)
{
    clerk_verdict_memory_t *m = memory(UNIT_POOL, CLERK_VERDICT_WAYS);
    unsigned char k[CLERK_VERDICT_WAYS + 1][32];

    for (unsigned i = 0; i < CLERK_VERDICT_WAYS; i++) {
        unit_key_of(i, "x", k[i]);
        /* entry 3 expired at NOW - 1, while the others, older and newer, live on */
        clerk_verdict_memory_remember(m, k[i], i == 3 ? NOW - 1 : NOW + 100 + i, 0);
    }
    unit_key_of(99, "x", k[CLERK_VERDICT_WAYS]);
    clerk_verdict_memory_remember(m, k[CLERK_VERDICT_WAYS], NOW + 5, 0);
    for (unsigned i = 0; i <= CLERK_VERDICT_WAYS; i++)
        assert_int_equal(clerk_verdict_memory_recall(m, k[i], NOW, NULL), i != 3);
    assert_int_equal(clerk_verdict_memory_size(m), CLERK_VERDICT_WAYS);
}

/* ...then, all entries live and lasting as long, the oldest. */
static void test_eviction_then_takes_the_oldest(void **state)
{
    clerk_verdict_memory_t *m = memory(UNIT_POOL, CLERK_VERDICT_WAYS);
    unsigned char k[32], first[32];

    unit_key_of(0, "o", first);
    clerk_verdict_memory_remember(m, first, NOW + 10, 0);
    for (unsigned i = 1; i < CLERK_VERDICT_WAYS; i++) {
        unit_key_of(i, "o", k);
        clerk_verdict_memory_remember(m, k, NOW + 10 + i, 0);     /* remembered a second later each */
    }
    assert_true(clerk_verdict_memory_recall(m, first, NOW, NULL));
    unit_key_of(100, "o", k);
    clerk_verdict_memory_remember(m, k, NOW + 10 + CLERK_VERDICT_WAYS, 0);
    assert_false(clerk_verdict_memory_recall(m, first, NOW, NULL));
    for (unsigned i = 1; i < CLERK_VERDICT_WAYS; i++) {
        unit_key_of(i, "o", k);
        assert_true(clerk_verdict_memory_recall(m, k, NOW, NULL));
    }
}

#define THREADS 16
#define OPS 20000
#define PINNED (CLERK_VERDICT_WAYS - 1)

typedef struct {
    clerk_verdict_memory_t *m;
    volatile apr_uint32_t *go;
    const unsigned char (*pinned)[32];
    unsigned id, lost_pins;
} worker_t;

/* One short verdict remembered, recalled and at times forgotten; then a pin read. */
static void churn(void *arg, unsigned i, const unsigned char k[32])
{
    worker_t *w = arg;
    clerk_verdict_memory_remember(w->m, k, NOW + 1 + i % 30, 0);
    clerk_verdict_memory_recall(w->m, k, NOW, NULL);
    if (i % 3 == 0)
        clerk_verdict_memory_forget(w->m, k);
    w->lost_pins += !clerk_verdict_memory_recall(w->m, w->pinned[i % PINNED], NOW, NULL);
}

static void *APR_THREAD_FUNC worker(apr_thread_t *t, void *data)
{
    worker_t *w = data;
    unit_for_own_keys(w->id, w->go, OPS, churn, w);
    return NULL;
}

/*
 * Threads flood one memory with short verdicts while reading a few long
 * ones: fewer long ones than a set has ways, so no flood can push one out.
 */
static void test_threads_share_the_memory(void **state)
{
    clerk_verdict_memory_t *m = memory(UNIT_POOL, 512);
    unsigned char pinned[PINNED][32];
    volatile apr_uint32_t go = 0;
    worker_t w[THREADS];

    for (unsigned i = 0; i < PINNED; i++) {
        unit_key_of(i, "pinned", pinned[i]);
        clerk_verdict_memory_remember(m, pinned[i], NOW + 3600, 0);
    }
    for (unsigned i = 0; i < THREADS; i++) {
        w[i] = (worker_t){ .m = m, .go = &go, .pinned = (const unsigned char (*)[32])pinned,
                           .id = i };
    }
    unit_run_threads(UNIT_POOL, THREADS, worker, w, sizeof(w[0]), &go);
    for (unsigned i = 0; i < THREADS; i++)
        assert_int_equal(w[i].lost_pins, 0);
    assert_true(clerk_verdict_memory_size(m) <= 512);
    for (unsigned i = 0; i < PINNED; i++)
        assert_true(clerk_verdict_memory_recall(m, pinned[i], NOW, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_recall_until_expiry),
        UNIT_TEST(test_verdict_is_given_back),
        UNIT_TEST(test_forget),
        UNIT_TEST(test_capacity_is_rounded_up),
        UNIT_TEST(test_flood_is_bounded),
        UNIT_TEST(test_eviction_takes_the_expired_first),
        UNIT_TEST(test_eviction_then_takes_the_oldest),
        UNIT_TEST(test_threads_share_the_memory),
    };
    return UNIT_RUN(tests);
}
