#include "clerk_jws_header_memo.h"

#include <apr_strings.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/*
 * One malloc'd block: the segment's bytes, then the header's strings, each
 * NUL-terminated.  Entries are made in request threads, where the request
 * pool dies too soon and the key set's pool must not be allocated from
 * (APR pools are not thread-safe), hence malloc; the pool's cleanup frees them.
 */
typedef struct {
    apr_size_t len;
    const char *segment;
    clerk_jws_header_t h;
    char bytes[];
} entry_t;

struct clerk_jws_header_memo {
    _Atomic(entry_t *) slots[CLERK_JWS_HEADER_MEMO_SLOTS];
};

static apr_status_t memo_cleanup(void *data)
{
    clerk_jws_header_memo_t *m = data;

    for (int i = 0; i < CLERK_JWS_HEADER_MEMO_SLOTS; i++)
        free(atomic_load(&m->slots[i]));
    free(m);
    return APR_SUCCESS;
}

/*
 * The slots are malloc'd too, not pool memory: a leak checker does not scan
 * APR's pool blocks (mmap'd), and would take entries referenced only from
 * there for leaks of the request that made them.
 */
clerk_jws_header_memo_t *clerk_jws_header_memo_create(apr_pool_t *p)
{
    clerk_jws_header_memo_t *m = malloc(sizeof(*m));

    if (!m)
        return NULL;
    for (int i = 0; i < CLERK_JWS_HEADER_MEMO_SLOTS; i++)
        atomic_init(&m->slots[i], NULL);
    apr_pool_cleanup_register(p, m, memo_cleanup, apr_pool_cleanup_null);
    return m;
}

static int holds(const entry_t *e, const char *segment, apr_size_t len)
{
    return e->len == len && !memcmp(e->segment, segment, len);
}

int clerk_jws_header_memo_get(const clerk_jws_header_memo_t *m, apr_pool_t *p,
                              const char *segment, apr_size_t len, clerk_jws_header_t *out)
{
    if (!m)
        return 0;
    /* slots fill in order, so the first empty one ends the search */
    for (int i = 0; i < CLERK_JWS_HEADER_MEMO_SLOTS; i++) {
        const entry_t *e = atomic_load_explicit(&m->slots[i], memory_order_acquire);
        if (!e)
            return 0;
        if (holds(e, segment, len)) {
            /* the request's copies: its pointers may outlive the key set's lease */
            out->alg = apr_pstrdup(p, e->h.alg);
            out->kid = e->h.kid ? apr_pstrdup(p, e->h.kid) : NULL;
            out->typ = e->h.typ ? apr_pstrdup(p, e->h.typ) : NULL;
            out->cat = e->h.cat ? apr_pstrdup(p, e->h.cat) : NULL;
            out->has_cat = e->h.has_cat;
            return 1;
        }
    }
    return 0;
}

/* Copy s (or NULL) to *at, advancing it. */
static const char *place(char **at, const char *s)
{
    apr_size_t n;
    char *out;

    if (!s)
        return NULL;
    n = strlen(s) + 1;
    out = memcpy(*at, s, n);
    *at += n;
    return out;
}

static apr_size_t size_of(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

void clerk_jws_header_memo_put(clerk_jws_header_memo_t *m, const char *segment, apr_size_t len,
                               const clerk_jws_header_t *h)
{
    entry_t *e = NULL;
    char *at;
    int i;

    if (!m || len == 0 || len > CLERK_JWS_HEADER_MEMO_MAX_SEGMENT)
        return;
    for (i = 0; i < CLERK_JWS_HEADER_MEMO_SLOTS; i++) {
        entry_t *cur = atomic_load_explicit(&m->slots[i], memory_order_acquire);
        if (!cur) {
            if (!e) {
                e = malloc(sizeof(*e) + len + size_of(h->alg) + size_of(h->kid)
                           + size_of(h->typ) + size_of(h->cat));
                if (!e)
                    return;     /* out of memory: the header is parsed next time */
                e->len = len;
                e->segment = memcpy(e->bytes, segment, len);
                at = e->bytes + len;
                e->h.alg = place(&at, h->alg);
                e->h.kid = place(&at, h->kid);
                e->h.typ = place(&at, h->typ);
                e->h.cat = place(&at, h->cat);
                e->h.has_cat = h->has_cat;
            }
            if (atomic_compare_exchange_strong_explicit(&m->slots[i], &cur, e,
                                                        memory_order_acq_rel,
                                                        memory_order_acquire))
                return;
            /* another thread took the slot first: cur is its entry */
        }
        if (holds(cur, segment, len))
            break;
    }
    free(e);    /* kept already, or no slot left */
}
