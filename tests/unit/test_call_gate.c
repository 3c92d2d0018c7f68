/*
 * The per-process gate in front of Backend API calls (src/clerk_call_gate.c):
 * exactly limit threads in, the next refused, a leave makes room; and many
 * threads entering and leaving at once never exceed the limit (TSan run too).
 */
#include "unit.h"

#include <apr_atomic.h>
#include <apr_thread_proc.h>
#include <stdatomic.h>

#include "clerk_call_gate.h"

static void test_limit(void **state)
{
    clerk_call_gate_t *g = clerk_call_gate_create(UNIT_POOL, 3);

    assert_null(clerk_call_gate_create(UNIT_POOL, 0));
    for (unsigned i = 0; i < 3; i++)
        assert_true(clerk_call_gate_try_enter(g));
    assert_false(clerk_call_gate_try_enter(g));
    assert_false(clerk_call_gate_try_enter(g));         /* a refusal takes no place */
    clerk_call_gate_leave(g);
    assert_true(clerk_call_gate_try_enter(g));
    assert_false(clerk_call_gate_try_enter(g));
    for (unsigned i = 0; i < 3; i++)
        clerk_call_gate_leave(g);
    for (unsigned i = 0; i < 3; i++)
        assert_true(clerk_call_gate_try_enter(g));
}

#define THREADS 16
#define LIMIT 4
#define TRIES 20000

typedef struct {
    clerk_call_gate_t *g;
    volatile apr_uint32_t *go;
    atomic_uint *inside, *most;         /* the test's own count of who is in */
    unsigned entered;
} worker_t;

static void *APR_THREAD_FUNC worker(apr_thread_t *t, void *data)
{
    worker_t *w = data;

    unit_wait_for(w->go);
    for (unsigned i = 0; i < TRIES; i++) {
        if (!clerk_call_gate_try_enter(w->g))
            continue;
        unsigned now_in = atomic_fetch_add(w->inside, 1) + 1, most = atomic_load(w->most);
        while (now_in > most && !atomic_compare_exchange_weak(w->most, &most, now_in))
            ;
        w->entered++;
        atomic_fetch_sub(w->inside, 1);
        clerk_call_gate_leave(w->g);
    }
    return NULL;
}

static void test_threads_never_exceed_the_limit(void **state)
{
    clerk_call_gate_t *g = clerk_call_gate_create(UNIT_POOL, LIMIT);
    volatile apr_uint32_t go = 0;
    atomic_uint inside, most;
    worker_t w[THREADS];
    unsigned entered = 0;

    atomic_init(&inside, 0);
    atomic_init(&most, 0);
    for (unsigned i = 0; i < THREADS; i++)
        w[i] = (worker_t){ .g = g, .go = &go, .inside = &inside, .most = &most };
    unit_run_threads(UNIT_POOL, THREADS, worker, w, sizeof(w[0]), &go);
    for (unsigned i = 0; i < THREADS; i++)
        entered += w[i].entered;
    assert_true(atomic_load(&most) <= LIMIT);
    assert_true(atomic_load(&most) >= 1);
    assert_true(entered > 0);
    /* everyone left: the whole limit is free again */
    for (unsigned i = 0; i < LIMIT; i++)
        assert_true(clerk_call_gate_try_enter(g));
    assert_false(clerk_call_gate_try_enter(g));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_limit),
        UNIT_TEST(test_threads_never_exceed_the_limit),
    };
    return UNIT_RUN(tests);
}
