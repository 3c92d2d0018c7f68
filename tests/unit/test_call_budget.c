/*
 * The Backend API call budget (src/clerk_call_budget.c), with `now` given
 * explicitly (no sleeping, no timing): exactly the burst, then refusal with
 * an exact retry-after; one call more per emission interval; a clock that
 * goes backwards or sits at the end of time admits nothing extra; threads
 * taking at once admit exactly the burst and never more than the rate allows
 * (TSan run too); and two processes share one budget.
 */
#include "unit.h"

#include <apr_atomic.h>
#include <apr_thread_proc.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clerk_call_budget.h"

#define T0 ((apr_time_t)1700000000 * APR_USEC_PER_SEC)

static clerk_call_budget_t *budget(apr_pool_t *p, unsigned per_second, unsigned burst)
{
    clerk_call_budget_t *b = NULL;
    assert_int_equal(clerk_call_budget_create(&b, p, 2), APR_SUCCESS);
    assert_int_equal(clerk_call_budget_configure(b, 0, per_second, burst), APR_SUCCESS);
    return b;
}

/* Calls admitted at now, taking until the first refusal. */
static unsigned drain(clerk_call_budget_t *b, unsigned i, apr_time_t now)
{
    unsigned n = 0;
    while (clerk_call_budget_take(b, i, now, NULL))
        n++;
    return n;
}

static void test_arguments(void **state)
{
    clerk_call_budget_t *b = NULL;

    assert_int_equal(clerk_call_budget_create(&b, UNIT_POOL, 0), APR_EINVAL);
    assert_int_equal(clerk_call_budget_create(&b, UNIT_POOL, 3), APR_SUCCESS);
    assert_int_equal(clerk_call_budget_configure(b, 3, 10, 10), APR_EINVAL);   /* no bucket 3 */
    assert_int_equal(clerk_call_budget_configure(b, 0, 0, 10), APR_EINVAL);
    assert_int_equal(clerk_call_budget_configure(b, 0, CLERK_CALL_BUDGET_MAX_RATE + 1, 10),
                     APR_EINVAL);
    assert_int_equal(clerk_call_budget_configure(b, 0, 10, 0), APR_EINVAL);
    assert_int_equal(clerk_call_budget_configure(b, 0, CLERK_CALL_BUDGET_MAX_RATE, 1),
                     APR_SUCCESS);
    assert_int_equal(clerk_call_budget_configure(b, 2, 1, 1), APR_SUCCESS);
}

/* A bucket not configured admits nothing (fails closed), and says to come back later. */
static void test_unconfigured_bucket_admits_nothing(void **state)
{
    clerk_call_budget_t *b = budget(UNIT_POOL, 10, 5);
    apr_interval_time_t retry = 0;

    assert_false(clerk_call_budget_take(b, 1, T0, &retry));
    assert_true(retry > 0);
}

static void test_exact_burst_then_refusal(void **state)
{
    clerk_call_budget_t *b = budget(UNIT_POOL, 10, 5);
    apr_interval_time_t retry = -1;

    for (unsigned i = 0; i < 5; i++)
        assert_true(clerk_call_budget_take(b, 0, T0, &retry));
    assert_int_equal(retry, -1);                        /* untouched when admitted */
    assert_false(clerk_call_budget_take(b, 0, T0, &retry));
    assert_int_equal(retry, APR_USEC_PER_SEC / 10);     /* one emission interval */
    assert_false(clerk_call_budget_take(b, 0, T0 + 40000, &retry));
    assert_int_equal(retry, 60000);
    assert_false(clerk_call_budget_take(b, 0, T0, NULL));   /* retry_after may be NULL */
}

/* Refill: one call per 1/rate, exactly on the microsecond; idle time refills up to burst. */
static void test_refill_after_one_interval(void **state)
{
    clerk_call_budget_t *b = budget(UNIT_POOL, 4, 3);   /* interval 250 ms */
    const apr_time_t I = APR_USEC_PER_SEC / 4;

    assert_int_equal(drain(b, 0, T0), 3);
    assert_false(clerk_call_budget_take(b, 0, T0 + I - 1, NULL));
    assert_true(clerk_call_budget_take(b, 0, T0 + I, NULL));
    assert_false(clerk_call_budget_take(b, 0, T0 + I, NULL));
    assert_int_equal(drain(b, 0, T0 + 3 * I), 2);
    /* idle far longer than burst intervals: the bucket is full again, not fuller */
    assert_int_equal(drain(b, 0, T0 + 3600 * APR_USEC_PER_SEC), 3);
    /* buckets are independent */
    assert_int_equal(clerk_call_budget_configure(b, 1, 1, 2), APR_SUCCESS);
    assert_int_equal(drain(b, 1, T0), 2);
    assert_int_equal(drain(b, 0, T0 + 3600 * APR_USEC_PER_SEC), 0);
}

/*
 * 3 a second: the interval is rounded up (333334 µs), so a call tried every
 * microsecond for 3 s gets the burst and 8 more; rounded down (333333 µs),
 * the 9th would come at 2999997 µs, a tenth call within 3 s.
 */
static void test_rate_is_never_exceeded_by_rounding(void **state)
{
    clerk_call_budget_t *b = budget(UNIT_POOL, 3, 1);
    unsigned n = 0;

    for (apr_time_t t = T0; t <= T0 + 3 * APR_USEC_PER_SEC; t++)
        n += (unsigned)clerk_call_budget_take(b, 0, t, NULL);
    assert_int_equal(n, 1 + 8);
}

/* A clock going backwards admits nothing extra; time catching up again admits as before. */
static void test_backwards_clock(void **state)
{
    clerk_call_budget_t *b = budget(UNIT_POOL, 10, 5);
    const apr_time_t later = T0 + 100 * APR_USEC_PER_SEC;
    apr_interval_time_t retry;

    assert_int_equal(drain(b, 0, later), 5);
    assert_int_equal(drain(b, 0, T0), 0);                   /* 100 s back */
    assert_false(clerk_call_budget_take(b, 0, T0, &retry));
    assert_int_equal(retry, later - T0 + APR_USEC_PER_SEC / 10);
    assert_int_equal(drain(b, 0, -1), 0);                   /* before the epoch */
    assert_int_equal(drain(b, 0, later), 0);
    assert_int_equal(drain(b, 0, later + APR_USEC_PER_SEC / 10), 1);
    /* a bucket first used with a clock before the epoch starts full at 0 */
    assert_int_equal(clerk_call_budget_configure(b, 1, 10, 5), APR_SUCCESS);
    assert_int_equal(drain(b, 1, -5 * APR_USEC_PER_SEC), 5);
    assert_int_equal(drain(b, 1, 0), 0);
}

/* The end of time: the TAT does not wrap, so the burst is all there is. */
static void test_time_at_its_limit(void **state)
{
    clerk_call_budget_t *b = NULL;

    assert_int_equal(clerk_call_budget_create(&b, UNIT_POOL, 1), APR_SUCCESS);
    assert_int_equal(clerk_call_budget_configure(b, 0, 1, 4000000000u), APR_SUCCESS);
    for (unsigned i = 0; i < 1000; i++)
        assert_true(clerk_call_budget_take(b, 0, APR_INT64_MAX, NULL));
    assert_int_equal(clerk_call_budget_configure(b, 0, 1, 3), APR_SUCCESS);
    assert_int_equal(drain(b, 0, APR_INT64_MAX), 3);
    assert_int_equal(drain(b, 0, APR_INT64_MAX), 0);
    assert_int_equal(drain(b, 0, 0), 0);
}

#define THREADS 16
#define TRIES 2000

typedef struct {
    clerk_call_budget_t *b;
    volatile apr_uint32_t *go;
    apr_time_t step;            /* 0: every take at T0 */
    unsigned admitted;
} taker_t;

static void *APR_THREAD_FUNC taker(apr_thread_t *t, void *data)
{
    taker_t *w = data;

    unit_wait_for(w->go);
    for (unsigned i = 0; i < TRIES; i++)
        w->admitted += (unsigned)clerk_call_budget_take(w->b, 0, T0 + (apr_time_t)i * w->step,
                                                        NULL);
    return NULL;
}

static unsigned run_takers(apr_pool_t *p, clerk_call_budget_t *b, apr_time_t step)
{
    volatile apr_uint32_t go = 0;
    taker_t w[THREADS];
    unsigned total = 0;

    for (unsigned i = 0; i < THREADS; i++)
        w[i] = (taker_t){ .b = b, .go = &go, .step = step };
    unit_run_threads(p, THREADS, taker, w, sizeof(w[0]), &go);
    for (unsigned i = 0; i < THREADS; i++)
        total += w[i].admitted;
    return total;
}

/* All at one instant: no lost update and no double grant, exactly the burst. */
static void test_threads_at_one_instant_get_the_burst(void **state)
{
    clerk_call_budget_t *b = budget(UNIT_POOL, 1, 1000);
    assert_int_equal(run_takers(UNIT_POOL, b, 0), 1000);
}

/*
 * Each thread's clock runs on its own (so, across threads, time also goes
 * backwards): never more than burst + elapsed * rate.
 */
static void test_threads_never_exceed_the_rate(void **state)
{
    clerk_call_budget_t *b = budget(UNIT_POOL, 1000, 50);     /* 1 ms interval */
    const apr_time_t step = 10;                               /* µs per try */
    unsigned total = run_takers(UNIT_POOL, b, step);
    apr_time_t elapsed = (TRIES - 1) * step;

    assert_true(total <= 50 + (unsigned)(elapsed * 1000 / APR_USEC_PER_SEC));
    assert_true(total >= 1);
}

/* What the child reports up its pipe; 0 when the pipe failed. */
static int send_count(int fd, unsigned n)
{
    return write(fd, &n, sizeof(n)) == (ssize_t)sizeof(n);
}

static unsigned read_count(int fd)
{
    unsigned n = 0;
    if (read(fd, &n, sizeof(n)) != (ssize_t)sizeof(n))
        fail_msg("the child sent no count");
    return n;
}

/*
 * A parent and its forked child spend one budget: what one took the other
 * cannot, in turn, and then both taking at once admit exactly the burst.
 */
static void test_processes_share_one_budget(void **state)
{
    clerk_call_budget_t *b = budget(UNIT_POOL, 1, 100);
    const apr_time_t later = T0 + 1000 * APR_USEC_PER_SEC;      /* full again by then */
    int up[2], down[2], status;
    unsigned mine = 0;
    char go = 'g';
    pid_t pid;

    assert_int_equal(pipe(up), 0);
    assert_int_equal(pipe(down), 0);
    for (unsigned i = 0; i < 30; i++)
        assert_true(clerk_call_budget_take(b, 0, T0, NULL));
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* no cmocka in the child: it reports, the parent asserts */
        unsigned n = 0;
        char c;
        if (!send_count(up[1], drain(b, 0, T0)) || read(down[0], &c, 1) != 1)
            _exit(1);
        for (unsigned i = 0; i < 1000; i++)
            n += (unsigned)clerk_call_budget_take(b, 0, later, NULL);
        _exit(send_count(up[1], n) ? 0 : 1);
    }
    assert_int_equal(read_count(up[0]), 70);            /* the child found what was left */
    assert_int_equal(drain(b, 0, T0), 0);               /* and the parent sees it spent */
    assert_int_equal(write(down[1], &go, 1), 1);
    for (unsigned i = 0; i < 1000; i++)
        mine += (unsigned)clerk_call_budget_take(b, 0, later, NULL);
    assert_int_equal(mine + read_count(up[0]), 100);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(up[0]);
    close(up[1]);
    close(down[0]);
    close(down[1]);
}

/* One report per interval, across processes: the child after the parent is not due. */
static void test_one_warning_per_interval(void **state)
{
    clerk_call_budget_t *b = budget(UNIT_POOL, 1, 1);
    const apr_interval_time_t ten = 10 * APR_USEC_PER_SEC;
    int status;
    pid_t pid;

    assert_true(clerk_call_budget_warn_due(b, 0, T0, ten));
    assert_false(clerk_call_budget_warn_due(b, 0, T0, ten));
    assert_false(clerk_call_budget_warn_due(b, 0, T0 + ten - 1, ten));
    assert_false(clerk_call_budget_warn_due(b, 0, T0 - ten, ten));     /* clock went back */
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(clerk_call_budget_warn_due(b, 0, T0 + 1, ten) ? 1 : 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(clerk_call_budget_warn_due(b, 0, T0 + ten, ten));
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(clerk_call_budget_warn_due(b, 0, T0 + 3 * ten, ten) ? 0 : 1);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_false(clerk_call_budget_warn_due(b, 0, T0 + 3 * ten, ten));  /* the child's was shared */
}

/*
 * The fleet's budget (clerk_call_budget_apply): bucket 0's rate applied to a
 * TAT kept outside, as the shared cache keeps it.  From an empty TAT, exactly
 * the burst, then a refusal with the exact wait; one more per interval; a
 * refusal leaves the TAT as it was; the server's own bucket is not touched.
 */
static void test_rate_applied_to_a_tat_kept_elsewhere(void **state)
{
    clerk_call_budget_t *b = budget(UNIT_POOL, 10, 5);     /* 100 ms interval */
    apr_uint64_t tat = 0, before;
    apr_interval_time_t retry = 0;
    unsigned n = 0;

    while (clerk_call_budget_apply(b, 0, &tat, T0, &retry))
        n++;
    assert_int_equal(n, 5);
    assert_int_equal(retry, apr_time_from_msec(100));
    before = tat;
    assert_false(clerk_call_budget_apply(b, 0, &tat, T0 + apr_time_from_msec(99), &retry));
    assert_true(tat == before);
    assert_int_equal(retry, apr_time_from_msec(1));
    assert_true(clerk_call_budget_apply(b, 0, &tat, T0 + apr_time_from_msec(100), &retry));
    assert_false(clerk_call_budget_apply(b, 0, &tat, T0 + apr_time_from_msec(100), &retry));
    /* the process's own bucket still has its whole burst */
    assert_int_equal(drain(b, 0, T0), 5);
    /* and an unconfigured bucket admits nothing from outside either */
    tat = 0;
    assert_false(clerk_call_budget_apply(b, 1, &tat, T0, &retry));
    assert_true(retry > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_arguments),
        UNIT_TEST(test_unconfigured_bucket_admits_nothing),
        UNIT_TEST(test_exact_burst_then_refusal),
        UNIT_TEST(test_refill_after_one_interval),
        UNIT_TEST(test_rate_is_never_exceeded_by_rounding),
        UNIT_TEST(test_backwards_clock),
        UNIT_TEST(test_time_at_its_limit),
        UNIT_TEST(test_threads_at_one_instant_get_the_burst),
        UNIT_TEST(test_threads_never_exceed_the_rate),
        UNIT_TEST(test_processes_share_one_budget),
        UNIT_TEST(test_one_warning_per_interval),
        UNIT_TEST(test_rate_applied_to_a_tat_kept_elsewhere),
    };
    return UNIT_RUN(tests);
}
