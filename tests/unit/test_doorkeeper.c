/*
 * The token cache's doorkeeper (src/clerk_doorkeeper.c): a key is admitted
 * the second time it is seen, the filter forgets after its window, its false
 * positives stay rare, and threads share it without a lock (TSan run too).
 */
#include "unit.h"

#include <apr_atomic.h>
#include <apr_thread_proc.h>

#include "clerk_doorkeeper.h"

static void test_second_sighting_is_admitted(void **state)
{
    clerk_doorkeeper_t *d = clerk_doorkeeper_create(UNIT_POOL, 4096);
    unsigned char a[32], b[32];

    unit_key_of(1, "a", a);
    unit_key_of(2, "b", b);
    assert_false(clerk_doorkeeper_admit(d, a));
    assert_true(clerk_doorkeeper_admit(d, a));
    assert_true(clerk_doorkeeper_admit(d, a));
    /* another key is not admitted because of the first */
    assert_false(clerk_doorkeeper_admit(d, b));
    assert_true(clerk_doorkeeper_admit(d, b));
}

/* Both bits count: a key sharing one of its two bits with a seen key is new. */
static void test_both_bits_must_be_set(void **state)
{
    clerk_doorkeeper_t *d = clerk_doorkeeper_create(UNIT_POOL, 4096);
    unsigned char a[32], half[32];

    unit_key_of(7, "half", a);
    memcpy(half, a, sizeof(half));
    half[20] ^= 0x5a;                   /* the second bit differs, the first is a's */
    assert_false(clerk_doorkeeper_admit(d, a));
    assert_false(clerk_doorkeeper_admit(d, half));
    assert_true(clerk_doorkeeper_admit(d, half));
}

/* After `window` first sightings the filter is cleared: old keys are new again. */
static void test_window_forgets(void **state)
{
    const unsigned window = 64;
    clerk_doorkeeper_t *d = clerk_doorkeeper_create(UNIT_POOL, window);
    unsigned char k[32], first[32];
    unsigned fresh = 1;                 /* `first` is one first sighting */

    unit_key_of(0, "w", first);
    assert_false(clerk_doorkeeper_admit(d, first));
    assert_true(clerk_doorkeeper_admit(d, first));
    for (unsigned i = 1; fresh < window - 1; i++) {
        unit_key_of(i, "w", k);
        fresh += !clerk_doorkeeper_admit(d, k);
    }
    assert_true(clerk_doorkeeper_admit(d, first));     /* still inside the window */
    for (unsigned i = 1000; fresh < window; i++) {
        unit_key_of(i, "w", k);
        fresh += !clerk_doorkeeper_admit(d, k);
    }
    assert_false(clerk_doorkeeper_admit(d, first));    /* cleared: seen anew */
    assert_true(clerk_doorkeeper_admit(d, first));
}

/* One-off keys: false admissions stay well under 10% (the design bound is ~6%). */
static void test_false_positives_are_rare(void **state)
{
    clerk_doorkeeper_t *d = clerk_doorkeeper_create(UNIT_POOL, 4096);
    unsigned char k[32];
    unsigned admitted = 0, n = 100000;

    for (unsigned i = 0; i < n; i++) {
        unit_key_of(i, "fp", k);
        admitted += (unsigned)clerk_doorkeeper_admit(d, k);
    }
    assert_true(admitted < n / 10);
    assert_true(admitted > 0);          /* a Bloom filter: some, by design */
}

#define THREADS 8
#define KEYS 4000

typedef struct {
    clerk_doorkeeper_t *d;
    volatile apr_uint32_t *go;
    unsigned id, second_admitted;
} worker_t;

/* A key shown twice in a row: the second sighting counts. */
static void admit_twice(void *arg, unsigned i, const unsigned char k[32])
{
    worker_t *w = arg;
    clerk_doorkeeper_admit(w->d, k);
    w->second_admitted += (unsigned)clerk_doorkeeper_admit(w->d, k);
}

static void *APR_THREAD_FUNC worker(apr_thread_t *t, void *data)
{
    worker_t *w = data;
    unit_for_own_keys(w->id, w->go, KEYS, admit_twice, w);
    return NULL;
}

/* Threads share one filter: a thread's own second sighting is always admitted. */
static void test_threads_share_the_filter(void **state)
{
    /* a window no thread reaches, so no clearing drops a bit between the two calls */
    clerk_doorkeeper_t *d = clerk_doorkeeper_create(UNIT_POOL, 4 * THREADS * KEYS);
    volatile apr_uint32_t go = 0;
    worker_t w[THREADS];

    for (unsigned i = 0; i < THREADS; i++)
        w[i] = (worker_t){ .d = d, .go = &go, .id = i };
    unit_run_threads(UNIT_POOL, THREADS, worker, w, sizeof(w[0]), &go);
    for (unsigned i = 0; i < THREADS; i++)
        assert_int_equal(w[i].second_admitted, KEYS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_second_sighting_is_admitted),
        UNIT_TEST(test_both_bits_must_be_set),
        UNIT_TEST(test_window_forgets),
        UNIT_TEST(test_false_positives_are_rare),
        UNIT_TEST(test_threads_share_the_filter),
    };
    return UNIT_RUN(tests);
}
