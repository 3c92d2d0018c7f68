/*
 * The courier in front of the shared cache's store (src/clerk_cache_courier.c),
 * against a fake store whose calls are scripted (found, not found, failing),
 * held until the test lets them go, or slowed down: round trips and copies,
 * the bounds (queue, value size, capacity of the store's answer), a lookup
 * given up on at its timeout, the rests that follow a failure or a late
 * answer and their doubling, the thread stopped with a call in progress,
 * and many threads at once (TSan run too).
 */
#include "unit.h"

#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <pthread.h>
#include <signal.h>

#include "clerk_cache_courier.h"

#define MAX_VALUE 64
#define QUEUE_LEN 8
#define RECORDED 64

/* ---- the fake store: everything under its lock ---- */

typedef struct {
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *changed;
    int held;                           /* calls wait until the test lets them go (10 s at most) */
    apr_interval_time_t delay;          /* each call sleeps this long first */
    apr_status_t get_rv, put_rv;        /* what calls answer */
    const unsigned char *value;         /* a found value; NULL: the key itself */
    apr_size_t value_len;
    int enospc;                         /* a value past the capacity: APR_ENOSPC, not a long *len */
    unsigned gets, puts, in_call;       /* calls made, calls under way */
    char put_keys[RECORDED][16];
    unsigned char put_values[RECORDED][MAX_VALUE];
    apr_size_t put_lens[RECORDED];
    apr_time_t put_expiries[RECORDED];
    char last_key[32];
    sigset_t mask;                      /* of the thread that called */
    char thread_name[16];
} fake_t;

static void fake_enter(fake_t *f, const char *key)
{
    apr_thread_mutex_lock(f->lock);
    f->in_call++;
    snprintf(f->last_key, sizeof(f->last_key), "%s", key);
    pthread_sigmask(SIG_SETMASK, NULL, &f->mask);
    pthread_getname_np(pthread_self(), f->thread_name, sizeof(f->thread_name));
    /* Bounded, so that a test failing with the store held ends (pchild's cleanup joins). */
    apr_time_t deadline = apr_time_now() + apr_time_from_sec(10);
    while (f->held && apr_time_now() < deadline)
        apr_thread_cond_timedwait(f->changed, f->lock, apr_time_from_msec(100));
    apr_interval_time_t delay = f->delay;
    apr_thread_mutex_unlock(f->lock);
    if (delay)
        apr_sleep(delay);
    apr_thread_mutex_lock(f->lock);
}

static void fake_leave(fake_t *f)
{
    f->in_call--;
    apr_thread_cond_broadcast(f->changed);
    apr_thread_mutex_unlock(f->lock);
}

static apr_status_t fake_get(void *baton, const char *key, unsigned char *buf, apr_size_t *len,
                             apr_pool_t *scratch)
{
    fake_t *f = baton;
    apr_status_t rv;

    fake_enter(f, key);
    f->gets++;
    rv = f->get_rv;
    if (rv == APR_SUCCESS && !strncmp(key, "miss", 4))
        rv = APR_NOTFOUND;
    if (rv == APR_SUCCESS) {
        const unsigned char *v = f->value ? f->value : (const unsigned char *)key;
        apr_size_t n = f->value ? f->value_len : strlen(key);
        memcpy(buf, v, n < *len ? n : *len);   /* never past the capacity */
        if (n > *len && f->enospc)
            rv = APR_ENOSPC;
        *len = n;
    }
    fake_leave(f);
    return rv;
}

static apr_status_t fake_put(void *baton, const char *key, apr_time_t expiry,
                             const unsigned char *value, apr_size_t len, apr_pool_t *scratch)
{
    fake_t *f = baton;
    apr_status_t rv;

    fake_enter(f, key);
    if (f->puts < RECORDED) {
        snprintf(f->put_keys[f->puts], sizeof(f->put_keys[0]), "%s", key);
        memcpy(f->put_values[f->puts], value, len);
        f->put_lens[f->puts] = len;
        f->put_expiries[f->puts] = expiry;
    }
    f->puts++;
    rv = f->put_rv;
    fake_leave(f);
    return rv;
}

static fake_t *fake_new(apr_pool_t *p)
{
    fake_t *f = apr_pcalloc(p, sizeof(*f));
    assert_int_equal(apr_thread_mutex_create(&f->lock, APR_THREAD_MUTEX_DEFAULT, p), APR_SUCCESS);
    assert_int_equal(apr_thread_cond_create(&f->changed, p), APR_SUCCESS);
    return f;
}

static void fake_set(fake_t *f, apr_status_t get_rv, apr_status_t put_rv)
{
    apr_thread_mutex_lock(f->lock);
    f->get_rv = get_rv;
    f->put_rv = put_rv;
    apr_thread_mutex_unlock(f->lock);
}

static void fake_hold(fake_t *f, int held)
{
    apr_thread_mutex_lock(f->lock);
    f->held = held;
    apr_thread_cond_broadcast(f->changed);
    apr_thread_mutex_unlock(f->lock);
}

static void fake_delay(fake_t *f, apr_interval_time_t delay)
{
    apr_thread_mutex_lock(f->lock);
    f->delay = delay;
    apr_thread_mutex_unlock(f->lock);
}

static unsigned fake_calls(fake_t *f)
{
    apr_thread_mutex_lock(f->lock);
    unsigned n = f->gets + f->puts;
    apr_thread_mutex_unlock(f->lock);
    return n;
}

/* Wait (5 s at most) until the store has made calls calls and in_call are under way. */
static void fake_wait(fake_t *f, unsigned calls, unsigned in_call)
{
    apr_time_t deadline = apr_time_now() + apr_time_from_sec(5);
    apr_thread_mutex_lock(f->lock);
    while ((f->gets + f->puts + f->in_call < calls || f->in_call != in_call)
           && apr_time_now() < deadline)
        apr_thread_cond_timedwait(f->changed, f->lock, apr_time_from_msec(10));
    unsigned made = f->gets + f->puts + f->in_call, under_way = f->in_call;
    apr_thread_mutex_unlock(f->lock);
    if (made < calls || under_way != in_call)
        fail_msg("the store saw %u calls (%u under way), expected %u (%u)", made, under_way,
                 calls, in_call);
}

/* ---- helpers ---- */

static clerk_courier_t *courier(apr_pool_t *pchild, fake_t *f, unsigned queue_len)
{
    clerk_store_t store = { fake_get, fake_put, f };
    clerk_courier_t *c = NULL;
    assert_int_equal(clerk_courier_create(&c, pchild, &store, queue_len, MAX_VALUE), APR_SUCCESS);
    return c;
}

static apr_pool_t *child_pool(apr_pool_t *p)
{
    apr_pool_t *pchild;
    assert_int_equal(apr_pool_create(&pchild, p), APR_SUCCESS);
    return pchild;
}

static apr_interval_time_t ms_since(apr_time_t start)
{
    return (apr_time_now() - start) / 1000;
}

static apr_status_t get(clerk_courier_t *c, const char *key, apr_interval_time_t timeout_ms,
                        apr_pool_t *p)
{
    unsigned char *value = NULL;
    apr_size_t len = 0;
    return clerk_courier_get(c, key, apr_time_from_msec(timeout_ms), p, &value, &len);
}

static clerk_courier_stats_t stats(clerk_courier_t *c)
{
    clerk_courier_stats_t s;
    clerk_courier_stats(c, &s);
    return s;
}

/* The courier counts a call once the store has returned: wait (5 s at most) until it has. */
#define WAIT_FOR(condition)                                                       \
    do {                                                                          \
        apr_time_t wait_deadline_ = apr_time_now() + apr_time_from_sec(5);        \
        while (!(condition) && apr_time_now() < wait_deadline_)                   \
            apr_sleep(apr_time_from_msec(1));                                     \
    } while (0)

static apr_status_t put(clerk_courier_t *c, const char *key)
{
    return clerk_courier_put(c, key, apr_time_now() + apr_time_from_sec(60),
                             (const unsigned char *)key, strlen(key));
}

/* ---- round trips ---- */

static void test_create_rejects_what_cannot_work(void **state)
{
    fake_t *f = fake_new(UNIT_POOL);
    clerk_store_t store = { fake_get, fake_put, f }, no_get = { NULL, fake_put, f };
    clerk_courier_t *c = NULL;

    assert_int_equal(clerk_courier_create(&c, UNIT_POOL, &store, 0, MAX_VALUE), APR_EINVAL);
    assert_int_equal(clerk_courier_create(&c, UNIT_POOL, &store, QUEUE_LEN, 0), APR_EINVAL);
    assert_int_equal(clerk_courier_create(&c, UNIT_POOL, &no_get, QUEUE_LEN, MAX_VALUE),
                     APR_EINVAL);
    assert_null(c);
}

static void test_hit_and_miss(void **state)
{
    fake_t *f = fake_new(UNIT_POOL);
    clerk_courier_t *c = courier(child_pool(UNIT_POOL), f, QUEUE_LEN);
    unsigned char *value = NULL;
    apr_size_t len = 0;

    assert_int_equal(clerk_courier_get(c, "hit-1", apr_time_from_sec(5), UNIT_POOL, &value, &len),
                     APR_SUCCESS);
    assert_int_equal(len, 5);
    assert_memory_equal(value, "hit-1", 5);
    unit_assert_str(f->last_key, "hit-1");
    assert_int_equal(get(c, "miss-1", 5000, UNIT_POOL), APR_NOTFOUND);
    clerk_courier_stats_t s = stats(c);
    assert_int_equal(s.gets, 2);
    assert_int_equal(s.hits, 1);
    assert_int_equal(s.misses, 1);
    assert_int_equal(s.late + s.refused + s.failures + s.resting, 0);
    assert_int_equal(fake_calls(f), 2);
}

/* Binary values, NULs included, reach p whole; the courier's buffer is not what it hands out. */
static void test_value_copied_intact_into_p(void **state)
{
    static const unsigned char binary[] = { 'a', 0, 'b', 0, 0, 0xff, 0x80, 'z', 0 };
    fake_t *f = fake_new(UNIT_POOL);
    clerk_courier_t *c = courier(child_pool(UNIT_POOL), f, QUEUE_LEN);
    unsigned char *first = NULL, *second = NULL;
    apr_size_t len = 0;

    f->value = binary;
    f->value_len = sizeof(binary);
    assert_int_equal(clerk_courier_get(c, "k", apr_time_from_sec(5), UNIT_POOL, &first, &len),
                     APR_SUCCESS);
    assert_int_equal(len, sizeof(binary));
    assert_memory_equal(first, binary, sizeof(binary));
    assert_int_equal(clerk_courier_get(c, "k", apr_time_from_sec(5), UNIT_POOL, &second, &len),
                     APR_SUCCESS);
    assert_ptr_not_equal(first, second);                /* each answer a copy of its own */
    assert_memory_equal(first, binary, sizeof(binary));
}

/* With room in the queue, every store is made, in the order asked, value and expiry intact. */
static void test_puts_made_in_order(void **state)
{
    fake_t *f = fake_new(UNIT_POOL);
    clerk_courier_t *c = courier(child_pool(UNIT_POOL), f, QUEUE_LEN);
    unsigned char value[MAX_VALUE];

    fake_hold(f, 1);
    for (unsigned i = 0; i < QUEUE_LEN; i++) {
        char key[16];
        snprintf(key, sizeof(key), "put-%u", i);
        memset(value, (int)i, sizeof(value));
        value[0] = 0;
        assert_int_equal(clerk_courier_put(c, key, 1000 + i, value, i + 1), APR_SUCCESS);
    }
    memset(value, 0xee, sizeof(value));                 /* the courier kept copies */
    fake_hold(f, 0);
    fake_wait(f, QUEUE_LEN, 0);
    for (unsigned i = 0; i < QUEUE_LEN; i++) {
        char key[16];
        snprintf(key, sizeof(key), "put-%u", i);
        unit_assert_str(f->put_keys[i], key);
        assert_int_equal(f->put_lens[i], i + 1);
        assert_int_equal(f->put_expiries[i], 1000 + i);
        assert_int_equal(f->put_values[i][0], 0);
        for (unsigned j = 1; j <= i; j++)
            assert_int_equal(f->put_values[i][j], i);
    }
    assert_int_equal(f->puts, QUEUE_LEN);
    WAIT_FOR(stats(c).puts == QUEUE_LEN);
    assert_int_equal(stats(c).puts, QUEUE_LEN);
    assert_int_equal(stats(c).refused, 0);
}

/* ---- bounds ---- */

static void test_value_longer_than_max_value_refused(void **state)
{
    fake_t *f = fake_new(UNIT_POOL);
    clerk_courier_t *c = courier(child_pool(UNIT_POOL), f, QUEUE_LEN);
    unsigned char value[MAX_VALUE + 1] = { 0 };

    assert_int_equal(clerk_courier_put(c, "long", 0, value, MAX_VALUE + 1), APR_EINVAL);
    assert_int_equal(clerk_courier_put(c, "max", 0, value, MAX_VALUE), APR_SUCCESS);
    fake_wait(f, 1, 0);
    unit_assert_str(f->put_keys[0], "max");
    assert_int_equal(f->puts, 1);
}

/*
 * The store holds a value longer than the courier's buffer: never copied
 * past it (ASan), taken for a miss, and no failure (the store works).  One
 * of exactly max_value bytes is a hit.
 */
static void test_store_answer_longer_than_capacity(void **state)
{
    static unsigned char big[MAX_VALUE + 10];
    fake_t *f = fake_new(UNIT_POOL);
    clerk_courier_t *c = courier(child_pool(UNIT_POOL), f, QUEUE_LEN);
    unsigned char *value = NULL;
    apr_size_t len = 0;

    memset(big, 'v', sizeof(big));
    f->value = big;
    f->value_len = sizeof(big);
    assert_int_equal(get(c, "long", 5000, UNIT_POOL), APR_NOTFOUND);   /* SUCCESS, long *len */
    f->enospc = 1;
    assert_int_equal(get(c, "long", 5000, UNIT_POOL), APR_NOTFOUND);   /* APR_ENOSPC */
    f->value_len = MAX_VALUE;
    assert_int_equal(clerk_courier_get(c, "max", apr_time_from_sec(5), UNIT_POOL, &value, &len),
                     APR_SUCCESS);
    assert_int_equal(len, MAX_VALUE);
    assert_memory_equal(value, big, MAX_VALUE);
    clerk_courier_stats_t s = stats(c);
    assert_int_equal(s.misses, 2);
    assert_int_equal(s.failures, 0);
    assert_int_equal(s.resting, 0);
}

/* The store stuck in a call, the queue filled: the next store and lookup are refused at once. */
static void test_queue_full_refuses(void **state)
{
    fake_t *f = fake_new(UNIT_POOL);
    clerk_courier_t *c = courier(child_pool(UNIT_POOL), f, QUEUE_LEN);

    fake_hold(f, 1);
    assert_int_equal(put(c, "in-call"), APR_SUCCESS);
    fake_wait(f, 1, 1);
    for (unsigned i = 0; i < QUEUE_LEN; i++)
        assert_int_equal(put(c, "queued"), APR_SUCCESS);
    assert_int_equal(put(c, "one-too-many"), APR_EAGAIN);
    apr_time_t start = apr_time_now();
    assert_int_equal(get(c, "hit", 5000, UNIT_POOL), APR_EAGAIN);
    assert_true(ms_since(start) < 100);
    clerk_courier_stats_t s = stats(c);
    assert_int_equal(s.refused, 2);
    assert_int_equal(s.resting, 0);                     /* full is not failing */
    fake_hold(f, 0);
    fake_wait(f, QUEUE_LEN + 1, 0);
    assert_int_equal(f->puts, QUEUE_LEN + 1);
    WAIT_FOR(stats(c).puts == QUEUE_LEN + 1);
    assert_int_equal(stats(c).puts, QUEUE_LEN + 1);
    assert_int_equal(get(c, "hit", 5000, UNIT_POOL), APR_SUCCESS);   /* room again */
}

/* ---- lateness and rests ---- */

/*
 * A store that takes 300 ms: a lookup waiting 50 ms gives up at its timeout
 * (the bound allows for a loaded machine; it is not a speed test), and the
 * store rests: the next lookup is refused at once without a call.
 */
static void test_late_answer_given_up_and_rests(void **state)
{
    fake_t *f = fake_new(UNIT_POOL);
    clerk_courier_t *c = courier(child_pool(UNIT_POOL), f, QUEUE_LEN);

    fake_delay(f, apr_time_from_msec(300));
    apr_time_t start = apr_time_now();
    assert_int_equal(get(c, "hit", 50, UNIT_POOL), APR_TIMEUP);
    apr_interval_time_t waited = ms_since(start);
    assert_true(waited >= 49);
    assert_true(waited < 250);
    start = apr_time_now();
    assert_int_equal(get(c, "hit", 5000, UNIT_POOL), APR_EAGAIN);
    assert_true(ms_since(start) < 50);
    assert_int_equal(put(c, "dropped"), APR_EAGAIN);
    clerk_courier_stats_t s = stats(c);
    assert_int_equal(s.late, 1);
    assert_int_equal(s.refused, 2);
    assert_int_equal(s.resting, 1);
    assert_int_equal(s.hits, 0);
    fake_wait(f, 1, 0);                                 /* the late call ends, alone */
    assert_int_equal(fake_calls(f), 1);
    assert_int_equal(stats(c).resting, 1);              /* its late success ends no rest */
}

/*
 * The success of a call that came too late, during the rest it began, does
 * not reset the rest: failing after it, the store rests 2 s (resting 1.5 s on).
 */
static void test_late_success_keeps_the_backoff(void **state)
{
    fake_t *f = fake_new(UNIT_POOL);
    clerk_courier_t *c = courier(child_pool(UNIT_POOL), f, QUEUE_LEN);

    fake_delay(f, apr_time_from_msec(200));
    assert_int_equal(get(c, "hit", 50, UNIT_POOL), APR_TIMEUP);
    apr_time_t gave_up = apr_time_now();
    fake_wait(f, 1, 0);
    fake_delay(f, 0);
    fake_set(f, APR_EGENERAL, APR_EGENERAL);
    apr_sleep(gave_up + apr_time_from_msec(1050) - apr_time_now());
    assert_int_equal(get(c, "hit", 5000, UNIT_POOL), APR_EGENERAL);
    apr_time_t failed = apr_time_now();
    apr_sleep(failed + apr_time_from_msec(1500) - apr_time_now());
    assert_int_equal(stats(c).resting, 1);
    assert_int_equal(fake_calls(f), 2);
}

/*
 * The late lookup rested the store; the call then fails, in the same rest:
 * still one rest of 1 s, not a second, longer one on top.
 */
static void test_one_rest_per_episode(void **state)
{
    fake_t *f = fake_new(UNIT_POOL);
    clerk_courier_t *c = courier(child_pool(UNIT_POOL), f, QUEUE_LEN);

    fake_set(f, APR_EGENERAL, APR_EGENERAL);
    fake_delay(f, apr_time_from_msec(200));
    assert_int_equal(get(c, "hit", 50, UNIT_POOL), APR_TIMEUP);
    apr_time_t gave_up = apr_time_now();
    WAIT_FOR(stats(c).failures == 1);
    assert_int_equal(stats(c).failures, 1);
    apr_sleep(gave_up + apr_time_from_msec(1100) - apr_time_now());
    assert_int_equal(stats(c).resting, 0);
}

/*
 * A failing store rests for 1 s; the first call after is tried; failing
 * again, it rests twice as long (resting 1.5 s after, not 2.1 s after); one
 * success then brings the rest back to 1 s.
 */
static void test_failure_rests_doubling_until_a_success(void **state)
{
    fake_t *f = fake_new(UNIT_POOL);
    clerk_courier_t *c = courier(child_pool(UNIT_POOL), f, QUEUE_LEN);
    apr_time_t asked, answered;

    fake_set(f, APR_EGENERAL, APR_EGENERAL);
    asked = apr_time_now();
    assert_int_equal(get(c, "hit", 5000, UNIT_POOL), APR_EGENERAL);    /* the store's error */
    answered = apr_time_now();
    assert_int_equal(stats(c).failures, 1);
    assert_int_equal(stats(c).resting, 1);
    assert_int_equal(get(c, "hit", 5000, UNIT_POOL), APR_EAGAIN);
    assert_int_equal(put(c, "dropped"), APR_EAGAIN);
    assert_int_equal(fake_calls(f), 1);

    /* 1 s on (the rest began between asked and answered): tried, fails, rests 2 s */
    apr_sleep(answered + apr_time_from_msec(1050) - apr_time_now());
    assert_int_equal(stats(c).resting, 0);
    asked = apr_time_now();
    assert_int_equal(get(c, "hit", 5000, UNIT_POOL), APR_EGENERAL);
    answered = apr_time_now();
    assert_int_equal(fake_calls(f), 2);
    apr_sleep(asked + apr_time_from_msec(1500) - apr_time_now());
    assert_int_equal(get(c, "hit", 5000, UNIT_POOL), APR_EAGAIN);      /* longer than 1 s */
    assert_int_equal(fake_calls(f), 2);
    apr_sleep(answered + apr_time_from_msec(2100) - apr_time_now());

    /* over: the store works again, and one success resets the rest to 1 s */
    fake_set(f, APR_SUCCESS, APR_SUCCESS);
    assert_int_equal(get(c, "hit", 5000, UNIT_POOL), APR_SUCCESS);
    assert_int_equal(fake_calls(f), 3);
    fake_set(f, APR_EGENERAL, APR_EGENERAL);
    assert_int_equal(put(c, "fails"), APR_SUCCESS);
    WAIT_FOR(stats(c).failures == 3);
    answered = apr_time_now();
    assert_int_equal(stats(c).resting, 1);
    apr_sleep(answered + apr_time_from_msec(1100) - apr_time_now());
    assert_int_equal(stats(c).resting, 0);
    assert_int_equal(get(c, "hit", 5000, UNIT_POOL), APR_EGENERAL);
    assert_int_equal(fake_calls(f), 5);
    clerk_courier_stats_t s = stats(c);
    assert_int_equal(s.failures, 4);
    assert_int_equal(s.hits, 1);
    assert_int_equal(s.puts, 0);
}

static void test_rest_doubles_up_to_the_max(void **state)
{
    apr_interval_time_t rest = apr_time_from_sec(1);
    static const int seconds[] = { 2, 4, 8, 10, 10 };

    for (size_t i = 0; i < sizeof(seconds) / sizeof(seconds[0]); i++) {
        rest = clerk_courier_longer_rest(rest);
        assert_int_equal(rest, apr_time_from_sec(seconds[i]));
    }
    assert_int_equal(clerk_courier_longer_rest(apr_time_from_sec(6)), CLERK_COURIER_MAX_REST);
    assert_int_equal(CLERK_COURIER_MAX_REST, apr_time_from_sec(10));
}

typedef struct {
    clerk_courier_t *c;
    apr_status_t rv;
    apr_interval_time_t waited_ms;
} asker_t;

static void *APR_THREAD_FUNC ask(apr_thread_t *t, void *data)
{
    asker_t *a = data;
    apr_pool_t *p;
    apr_time_t start = apr_time_now();

    apr_pool_create_unmanaged_ex(&p, NULL, NULL);
    a->rv = get(a->c, "hit", 5000, p);
    a->waited_ms = ms_since(start);
    apr_pool_destroy(p);
    return NULL;
}

/*
 * Queued behind a call that fails: the lookup is answered APR_EAGAIN as the
 * rest begins, not at its 5 s timeout, and the queued store is dropped.
 */
static void test_rest_empties_the_queue(void **state)
{
    fake_t *f = fake_new(UNIT_POOL);
    clerk_courier_t *c = courier(child_pool(UNIT_POOL), f, QUEUE_LEN);
    asker_t a = { .c = c };
    apr_thread_t *t;
    apr_status_t rv;

    fake_set(f, APR_SUCCESS, APR_EGENERAL);
    fake_hold(f, 1);
    assert_int_equal(put(c, "fails"), APR_SUCCESS);
    fake_wait(f, 1, 1);
    assert_int_equal(put(c, "queued"), APR_SUCCESS);
    assert_int_equal(apr_thread_create(&t, NULL, ask, &a, UNIT_POOL), APR_SUCCESS);
    WAIT_FOR(stats(c).gets == 1);                       /* counted as it is queued */
    fake_hold(f, 0);
    apr_thread_join(&rv, t);
    assert_int_equal(a.rv, APR_EAGAIN);
    assert_true(a.waited_ms < 2000);
    assert_int_equal(fake_calls(f), 1);
    clerk_courier_stats_t s = stats(c);
    assert_int_equal(s.refused, 2);
    assert_int_equal(s.failures, 1);
    assert_int_equal(s.late, 0);
}

/* ---- the thread ---- */

/* The thread is born with asynchronous signals blocked (they are for the MPM's threads), named. */
static void test_thread_blocks_signals(void **state)
{
    fake_t *f = fake_new(UNIT_POOL);
    sigset_t before, after;

    pthread_sigmask(SIG_SETMASK, NULL, &before);
    clerk_courier_t *c = courier(child_pool(UNIT_POOL), f, QUEUE_LEN);
    pthread_sigmask(SIG_SETMASK, NULL, &after);
    for (int sig = 1; sig < 32; sig++)
        assert_int_equal(sigismember(&before, sig), sigismember(&after, sig));
    assert_int_equal(get(c, "hit", 5000, UNIT_POOL), APR_SUCCESS);
    assert_true(sigismember(&f->mask, SIGTERM));
    assert_true(sigismember(&f->mask, SIGHUP));
    assert_true(sigismember(&f->mask, SIGUSR1));
    assert_true(sigismember(&f->mask, SIGINT));
    assert_false(sigismember(&f->mask, SIGSEGV));      /* faults stay deliverable */
    assert_false(sigismember(&f->mask, SIGBUS));
    unit_assert_str(f->thread_name, "clerk-courier");
}

/*
 * pchild destroyed while the store is in a call for a requester that gave
 * up and whose pool is gone: the destroy waits for the call, then the
 * thread frees the abandoned lookup (LSan), touching nothing of the requester's.
 */
static void test_destroy_waits_for_the_call(void **state)
{
    fake_t *f = fake_new(UNIT_POOL);
    apr_pool_t *pchild = child_pool(UNIT_POOL), *request;
    clerk_courier_t *c = courier(pchild, f, QUEUE_LEN);

    fake_delay(f, apr_time_from_msec(300));
    assert_int_equal(apr_pool_create(&request, UNIT_POOL), APR_SUCCESS);
    apr_time_t start = apr_time_now();
    assert_int_equal(get(c, "hit", 50, request), APR_TIMEUP);
    apr_pool_destroy(request);
    fake_wait(f, 1, 1);
    apr_pool_destroy(pchild);
    assert_true(ms_since(start) >= 290);
    assert_int_equal(f->in_call, 0);
    assert_int_equal(f->gets, 1);
}

/* What is still queued when pchild goes is never made, and freed (LSan). */
static void test_destroy_drops_the_queue(void **state)
{
    fake_t *f = fake_new(UNIT_POOL);
    apr_pool_t *pchild = child_pool(UNIT_POOL);
    clerk_courier_t *c = courier(pchild, f, QUEUE_LEN);

    fake_delay(f, apr_time_from_msec(200));
    assert_int_equal(put(c, "in-call"), APR_SUCCESS);
    fake_wait(f, 1, 1);
    for (unsigned i = 0; i < QUEUE_LEN; i++)
        assert_int_equal(put(c, "queued"), APR_SUCCESS);
    apr_pool_destroy(pchild);
    assert_int_equal(f->in_call, 0);
    assert_int_equal(f->puts, 1);
}

/* ---- many threads ---- */

#define THREADS 8
#define OPS 1000

typedef struct {
    clerk_courier_t *c;
    volatile apr_uint32_t *go;
    unsigned id;
    unsigned gets, hits, misses, get_refused, puts, put_refused, wrong;
} worker_t;

static void *APR_THREAD_FUNC worker(apr_thread_t *t, void *data)
{
    worker_t *w = data;
    apr_pool_t *p;

    apr_pool_create_unmanaged_ex(&p, NULL, NULL);
    unit_wait_for(w->go);
    for (unsigned i = 0; i < OPS; i++) {
        char key[32];
        unsigned char *value;
        apr_size_t len;
        apr_status_t rv;
        snprintf(key, sizeof(key), "%s-%u-%u", i % 3 == 1 ? "miss" : "hit", w->id, i);
        if (i % 3 == 2) {
            rv = put(w->c, key);
            if (rv == APR_SUCCESS)
                w->puts++;
            else if (rv == APR_EAGAIN)
                w->put_refused++;                       /* the queue was full */
            else
                w->wrong++;
            continue;
        }
        w->gets++;
        rv = clerk_courier_get(w->c, key, apr_time_from_sec(30), p, &value, &len);
        if (rv == APR_SUCCESS && len == strlen(key) && !memcmp(value, key, len))
            w->hits++;                                  /* its own answer, no other's */
        else if (rv == APR_NOTFOUND && i % 3 == 1)
            w->misses++;
        else if (rv == APR_EAGAIN)
            w->get_refused++;
        else
            w->wrong++;
        apr_pool_clear(p);
    }
    apr_pool_destroy(p);
    return NULL;
}

static void test_many_threads(void **state)
{
    fake_t *f = fake_new(UNIT_POOL);
    clerk_courier_t *c = courier(child_pool(UNIT_POOL), f, 64);
    volatile apr_uint32_t go = 0;
    worker_t w[THREADS];
    unsigned gets = 0, hits = 0, misses = 0, puts = 0, refused = 0, put_refused = 0;

    for (unsigned i = 0; i < THREADS; i++)
        w[i] = (worker_t){ .c = c, .go = &go, .id = i };
    unit_run_threads(UNIT_POOL, THREADS, worker, w, sizeof(w[0]), &go);
    for (unsigned i = 0; i < THREADS; i++) {
        assert_int_equal(w[i].wrong, 0);
        gets += w[i].gets;
        hits += w[i].hits;
        misses += w[i].misses;
        puts += w[i].puts;
        put_refused += w[i].put_refused;
        refused += w[i].get_refused + w[i].put_refused;
        assert_int_equal(w[i].gets, w[i].hits + w[i].misses + w[i].get_refused);
    }
    assert_int_equal(gets + puts + put_refused, OPS * THREADS);
    fake_wait(f, hits + misses + puts, 0);
    WAIT_FOR(stats(c).puts == puts);
    clerk_courier_stats_t s = stats(c);
    assert_int_equal(s.gets, gets);
    assert_int_equal(s.hits, hits);
    assert_int_equal(s.misses, misses);
    assert_int_equal(s.puts, puts);
    assert_int_equal(s.refused, refused);
    assert_int_equal(s.late + s.failures + s.resting, 0);
    assert_int_equal(f->gets, hits + misses);
    assert_int_equal(f->puts, puts);
    assert_true(hits > 0 && misses > 0 && puts > 0);
}

/* Drain: returns once every queued store was made; gives up at its timeout while one blocks. */
static void test_drain_waits_for_queued_stores(void **state)
{
    apr_pool_t *p = UNIT_POOL, *pchild = child_pool(p);
    fake_t *f = fake_new(p);
    clerk_courier_t *c = courier(pchild, f, QUEUE_LEN);
    apr_time_t start;

    fake_set(f, APR_SUCCESS, APR_SUCCESS);
    assert_int_equal(clerk_courier_drain(c, apr_time_from_msec(100)), APR_SUCCESS);  /* idle */
    fake_delay(f, apr_time_from_msec(40));
    for (int i = 0; i < 3; i++)
        assert_int_equal(clerk_courier_put(c, "k", apr_time_now() + apr_time_from_sec(9),
                                           (const unsigned char *)"v", 1), APR_SUCCESS);
    assert_int_equal(clerk_courier_drain(c, apr_time_from_sec(5)), APR_SUCCESS);
    apr_thread_mutex_lock(f->lock);
    assert_int_equal(f->puts, 3);                       /* all made when it returned */
    apr_thread_mutex_unlock(f->lock);
    fake_delay(f, 0);
    fake_hold(f, 1);
    assert_int_equal(clerk_courier_put(c, "k", apr_time_now() + apr_time_from_sec(9),
                                       (const unsigned char *)"v", 1), APR_SUCCESS);
    start = apr_time_now();
    assert_int_equal(clerk_courier_drain(c, apr_time_from_msec(50)), APR_TIMEUP);
    assert_true(ms_since(start) >= 45 && ms_since(start) < 1000);
    fake_hold(f, 0);
    assert_int_equal(clerk_courier_drain(c, apr_time_from_sec(5)), APR_SUCCESS);
    apr_pool_destroy(pchild);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_drain_waits_for_queued_stores),
        UNIT_TEST(test_create_rejects_what_cannot_work),
        UNIT_TEST(test_hit_and_miss),
        UNIT_TEST(test_value_copied_intact_into_p),
        UNIT_TEST(test_puts_made_in_order),
        UNIT_TEST(test_value_longer_than_max_value_refused),
        UNIT_TEST(test_store_answer_longer_than_capacity),
        UNIT_TEST(test_queue_full_refuses),
        UNIT_TEST(test_late_answer_given_up_and_rests),
        UNIT_TEST(test_late_success_keeps_the_backoff),
        UNIT_TEST(test_one_rest_per_episode),
        UNIT_TEST(test_failure_rests_doubling_until_a_success),
        UNIT_TEST(test_rest_doubles_up_to_the_max),
        UNIT_TEST(test_rest_empties_the_queue),
        UNIT_TEST(test_thread_blocks_signals),
        UNIT_TEST(test_destroy_waits_for_the_call),
        UNIT_TEST(test_destroy_drops_the_queue),
        UNIT_TEST(test_many_threads),
    };
    return UNIT_RUN(tests);
}
