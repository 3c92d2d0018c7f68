#include "clerk_verdict_memory.h"

#include <apr_thread_mutex.h>
#include <string.h>

/* Enough that 16+ threads rarely meet on one lock; the sets are spread over them. */
#define STRIPES 16

typedef struct {
    unsigned char key[CLERK_VERDICT_KEY_LEN];
    apr_int64_t until;              /* 0: a free slot (no verdict lasts until 1970) */
    int verdict;                    /* the caller's, e.g. the reason of a refusal */
} slot_t;

struct clerk_verdict_memory {
    slot_t *slots;                  /* nsets sets of CLERK_VERDICT_WAYS slots */
    unsigned nsets;
    apr_thread_mutex_t *locks[STRIPES];
};

apr_status_t clerk_verdict_memory_create(clerk_verdict_memory_t **out, apr_pool_t *p,
                                         unsigned capacity)
{
    clerk_verdict_memory_t *m;

    if (capacity == 0)
        return APR_EINVAL;
    m = apr_pcalloc(p, sizeof(*m));
    m->nsets = capacity / CLERK_VERDICT_WAYS + (capacity % CLERK_VERDICT_WAYS != 0);
    m->slots = apr_pcalloc(p, (apr_size_t)m->nsets * CLERK_VERDICT_WAYS * sizeof(*m->slots));
    for (unsigned i = 0; i < STRIPES; i++) {
        apr_status_t rv = apr_thread_mutex_create(&m->locks[i], APR_THREAD_MUTEX_DEFAULT, p);
        if (rv != APR_SUCCESS)
            return rv;
    }
    *out = m;
    return APR_SUCCESS;
}

/* The key's set (a digest: any 8 of its bytes are uniform), locked. */
static slot_t *lock_set(clerk_verdict_memory_t *m, const unsigned char *key, unsigned *set)
{
    apr_uint64_t h;

    memcpy(&h, key, sizeof(h));
    *set = (unsigned)(h % m->nsets);
    apr_thread_mutex_lock(m->locks[*set % STRIPES]);
    return m->slots + (apr_size_t)*set * CLERK_VERDICT_WAYS;
}

static void unlock_set(clerk_verdict_memory_t *m, unsigned set)
{
    apr_thread_mutex_unlock(m->locks[set % STRIPES]);
}

/* The slot of set s holding key, or NULL. */
static slot_t *find(slot_t *s, const unsigned char *key)
{
    for (unsigned w = 0; w < CLERK_VERDICT_WAYS; w++)
        if (s[w].until && !memcmp(s[w].key, key, CLERK_VERDICT_KEY_LEN))
            return &s[w];
    return NULL;
}

void clerk_verdict_memory_remember(clerk_verdict_memory_t *m, const unsigned char *key,
                                   apr_int64_t until, int verdict)
{
    unsigned set;
    slot_t *s = lock_set(m, key, &set), *e = find(s, key);

    if (!e) {
        /*
         * The slot that expires first: a free one (until 0), else an expired
         * one (its until is at most now, every live one's is later), else
         * the live verdict nearest its end.
         */
        e = &s[0];
        for (unsigned w = 1; w < CLERK_VERDICT_WAYS; w++)
            if (s[w].until < e->until)
                e = &s[w];
        memcpy(e->key, key, CLERK_VERDICT_KEY_LEN);
    }
    e->until = until;
    e->verdict = verdict;
    unlock_set(m, set);
}

int clerk_verdict_memory_recall(clerk_verdict_memory_t *m, const unsigned char *key,
                                apr_int64_t now, int *verdict)
{
    unsigned set;
    slot_t *e = find(lock_set(m, key, &set), key);
    int live = e && now < e->until;

    if (live && verdict)
        *verdict = e->verdict;
    unlock_set(m, set);
    return live;
}

void clerk_verdict_memory_forget(clerk_verdict_memory_t *m, const unsigned char *key)
{
    unsigned set;
    slot_t *e = find(lock_set(m, key, &set), key);

    if (e)
        e->until = 0;
    unlock_set(m, set);
}

unsigned clerk_verdict_memory_capacity(const clerk_verdict_memory_t *m)
{
    return m->nsets * CLERK_VERDICT_WAYS;
}

unsigned clerk_verdict_memory_size(clerk_verdict_memory_t *m)
{
    unsigned n = 0;

    for (unsigned set = 0; set < m->nsets; set++) {
        const slot_t *s = m->slots + (apr_size_t)set * CLERK_VERDICT_WAYS;
        apr_thread_mutex_lock(m->locks[set % STRIPES]);
        for (unsigned w = 0; w < CLERK_VERDICT_WAYS; w++)
            n += s[w].until != 0;
        apr_thread_mutex_unlock(m->locks[set % STRIPES]);
    }
    return n;
}
