#include "clerk_token_cache.h"
#include "clerk_doorkeeper.h"
#include "clerk_export.h"
#include "clerk_metrics.h"
#include "clerk_siphash.h"

#include <apr_atomic.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SHARDS 16

struct clerk_cached_token {
    unsigned char key[CLERK_TOKEN_CACHE_KEY_LEN];
    apr_uint64_t generation;
    apr_int64_t expires_at;
    unsigned refs;                  /* guarded by the shard lock; 1 for the table */
    int referenced;                 /* CLOCK bit */
    int shard;
    json_t *payload;                /* the entry's own copy: no other thread's pool holds it */
    clerk_claims_t claims;          /* strings and arrays point into this block */
    apr_array_header_t *vars;
};

typedef struct {
    apr_thread_mutex_t *lock;
    clerk_cached_token_t **ring;    /* CLOCK ring of entries, NULL = free */
    int *index;                     /* open addressing: ring slot or -1 */
    unsigned cap, index_mask, hand, used;
} shard_t;

struct clerk_token_cache {
    shard_t shards[SHARDS];
    unsigned nshards;               /* SHARDS, or fewer for a smaller cache */
    clerk_doorkeeper_t *doorkeeper;
    clerk_metrics_t *metrics;       /* NULL: not counted */
};

/* ---- freezing a claims model into one block ----------------------------- */

typedef struct {
    char *base;                     /* NULL while sizing */
    apr_size_t off;
} bump_t;

static void *bump(bump_t *b, apr_size_t n)
{
    void *p = b->base ? b->base + b->off : NULL;
    b->off += (n + 7) & ~(apr_size_t)7;
    return p;
}

static const char *bump_str(bump_t *b, const char *s)
{
    char *d;
    apr_size_t n;
    if (!s)
        return NULL;
    n = strlen(s) + 1;
    d = bump(b, n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* A copy of a const char * array (or of clerk_var_t values when vars). */
static apr_array_header_t *bump_array(bump_t *b, const apr_array_header_t *a, int vars)
{
    apr_array_header_t *out;
    char *elts;

    if (!a)
        return NULL;
    out = bump(b, sizeof(*out));
    elts = bump(b, (apr_size_t)a->nelts * (apr_size_t)a->elt_size + 1);
    for (int i = 0; i < a->nelts; i++) {
        if (vars) {
            const clerk_var_t *v = &APR_ARRAY_IDX(a, i, clerk_var_t);
            const char *value = bump_str(b, v->value);
            if (elts) {
                clerk_var_t *d = (clerk_var_t *)elts + i;
                d->env = v->env;        /* static names */
                d->header = v->header;
                d->value = value;
            }
        }
        else {
            const char *s = bump_str(b, APR_ARRAY_IDX(a, i, const char *));
            if (elts)
                ((const char **)elts)[i] = s;
        }
    }
    if (out) {
        out->pool = NULL;           /* frozen: never pushed to */
        out->elt_size = a->elt_size;
        out->nelts = out->nalloc = a->nelts;
        out->elts = elts;
    }
    return out;
}

static void freeze(bump_t *b, clerk_cached_token_t *e, const clerk_claims_t *c,
                   const apr_array_header_t *vars)
{
    clerk_claims_t f = *c;

    f.payload_text = bump_str(b, c->payload_text);
    f.sub = bump_str(b, c->sub);
    f.sid = bump_str(b, c->sid);
    f.sts = bump_str(b, c->sts);
    f.iss = bump_str(b, c->iss);
    f.azp = bump_str(b, c->azp);
    f.jti = bump_str(b, c->jti);
    f.actor_sub = bump_str(b, c->actor_sub);
    f.user_id = bump_str(b, c->user_id);
    f.org.id = bump_str(b, c->org.id);
    f.org.slug = bump_str(b, c->org.slug);
    f.org.role = bump_str(b, c->org.role);
    f.org.permissions = bump_array(b, c->org.permissions, 0);
    f.features = bump_str(b, c->features);
    f.plans = bump_str(b, c->plans);
    f.machine_id = bump_str(b, c->machine_id);
    f.scopes = bump_array(b, c->scopes, 0);
    if (e) {
        e->claims = f;
        e->vars = NULL;
    }
    {
        apr_array_header_t *v = bump_array(b, vars, 1);
        if (e)
            e->vars = v;
    }
}

static void entry_free(clerk_cached_token_t *e)
{
    json_decref(e->payload);
    free(e);
}

/* ---- the table ------------------------------------------------------------ */

static pthread_once_t mac_key_once = PTHREAD_ONCE_INIT;
static void mac_key_init(void);

static apr_uint64_t key_hash(const unsigned char *key)
{
    apr_uint64_t h;
    memcpy(&h, key + 8, sizeof(h));     /* key[0] picked the shard */
    return h;
}

clerk_token_cache_t *clerk_token_cache_create(apr_pool_t *p, unsigned capacity)
{
    clerk_token_cache_t *c;

    if (capacity == 0)
        return NULL;
    /* the key's secret, drawn here once, before the children are forked */
    (void)pthread_once(&mac_key_once, mac_key_init);
    c = apr_pcalloc(p, sizeof(*c));
    /* every shard gets a slot, so every token can be cached, and exactly capacity in all */
    c->nshards = capacity < SHARDS ? capacity : SHARDS;
    for (unsigned s = 0; s < c->nshards; s++) {
        shard_t *sh = &c->shards[s];
        unsigned per_shard = capacity / c->nshards + (s < capacity % c->nshards);
        unsigned isize = 4;
        while (isize < per_shard * 2)
            isize <<= 1;
        sh->cap = per_shard;
        sh->ring = apr_pcalloc(p, per_shard * sizeof(*sh->ring));
        sh->index = apr_palloc(p, isize * sizeof(*sh->index));
        for (unsigned i = 0; i < isize; i++)
            sh->index[i] = -1;
        sh->index_mask = isize - 1;
    }
    c->doorkeeper = clerk_doorkeeper_create(p, capacity);
    return c;
}

/*
 * The process is ending: drop the table's references and leave the shards
 * empty and unlocked (the mutexes are destroyed next), so that an entry a
 * request still holds is freed by its last release and nothing else is
 * touched.
 */
static apr_status_t free_all(void *data)
{
    clerk_token_cache_t *c = data;
    for (unsigned s = 0; s < c->nshards; s++) {
        shard_t *sh = &c->shards[s];
        for (unsigned i = 0; i < sh->cap; i++) {
            if (sh->ring[i] && --sh->ring[i]->refs == 0)
                entry_free(sh->ring[i]);
            sh->ring[i] = NULL;
        }
        for (unsigned i = 0; i <= sh->index_mask; i++)
            sh->index[i] = -1;
        sh->used = 0;
        sh->lock = NULL;
    }
    return APR_SUCCESS;
}

apr_status_t clerk_token_cache_child_init(clerk_token_cache_t *c, apr_pool_t *pchild)
{
    for (unsigned s = 0; s < c->nshards; s++) {
        apr_status_t rv = apr_thread_mutex_create(&c->shards[s].lock,
                                                  APR_THREAD_MUTEX_DEFAULT, pchild);
        if (rv != APR_SUCCESS)
            return rv;
    }
    /* Before the mutexes are destroyed (cleanups run last-registered first). */
    apr_pool_cleanup_register(pchild, c, free_all, apr_pool_cleanup_null);
    return APR_SUCCESS;
}

int clerk_digest(const void *data, apr_size_t len, unsigned char out[CLERK_TOKEN_CACHE_KEY_LEN])
{
    if (EVP_Digest(data, len, out, NULL, EVP_sha256(), NULL) == 1)
        return 1;
    memset(out, 0, CLERK_TOKEN_CACHE_KEY_LEN);
    return 0;
}

int clerk_digest_list(apr_pool_t *p, const apr_array_header_t *list,
                      unsigned char out[CLERK_TOKEN_CACHE_KEY_LEN])
{
    const char *joined;
    if (!list) {
        memset(out, 0, CLERK_TOKEN_CACHE_KEY_LEN);
        return 1;
    }
    joined = apr_array_pstrcat(p, list, '\n');
    return clerk_digest(joined, strlen(joined), out);
}

/*
 * The key of a token: SipHash-2-4 with 128-bit output (clerk_siphash.h) under
 * a random key drawn once per process, before the children are forked.  A
 * cache key only has to be impossible to make collide: a keyed PRF whose key
 * never leaves the process gives that (a forged token hits a cached entry
 * with probability entries / 2^128 per request), at a fifth of SHA-256's
 * cost.  Bytes 16..31, which the doorkeeper reads, are the PRF of bytes
 * 0..15: independent of the bytes that pick the shard and the slot.  The
 * state lives on the stack: no lock, no allocation, nothing per thread.
 */
static unsigned char mac_key[CLERK_SIPHASH_KEY_LEN];
static int mac_key_ready;

static void mac_key_init(void)
{
    mac_key_ready = RAND_bytes(mac_key, sizeof(mac_key)) == 1;
}

int clerk_token_cache_key(const char *token, apr_size_t len, const void *context,
                          apr_size_t context_len, unsigned char key[CLERK_TOKEN_CACHE_KEY_LEN])
{
    unsigned char n[8];     /* where the context ends and the token begins */
    clerk_siphash_t s;

    if (pthread_once(&mac_key_once, mac_key_init) != 0 || !mac_key_ready) {
        memset(key, 0, CLERK_TOKEN_CACHE_KEY_LEN);
        return 0;
    }
    for (int i = 0; i < 8; i++)
        n[i] = (unsigned char)((apr_uint64_t)context_len >> (8 * i));
    clerk_siphash_init(&s, mac_key);
    clerk_siphash_update(&s, n, sizeof(n));
    clerk_siphash_update(&s, context, context_len);
    clerk_siphash_update(&s, token, len);
    clerk_siphash_final(&s, key);
    clerk_siphash_init(&s, mac_key);
    clerk_siphash_update(&s, key, CLERK_SIPHASH_OUT_LEN);
    clerk_siphash_final(&s, key + CLERK_SIPHASH_OUT_LEN);
    return 1;
}

static void lock(shard_t *sh)
{
    if (sh->lock)
        apr_thread_mutex_lock(sh->lock);
}

static void unlock(shard_t *sh)
{
    if (sh->lock)
        apr_thread_mutex_unlock(sh->lock);
}

/* Index position holding key, or the empty position where it would go. */
static unsigned find(const shard_t *sh, const unsigned char *key, int *found)
{
    unsigned i = (unsigned)key_hash(key) & sh->index_mask;
    for (;; i = (i + 1) & sh->index_mask) {
        int slot = sh->index[i];
        if (slot < 0) {
            *found = 0;
            return i;
        }
        if (!memcmp(sh->ring[slot]->key, key, CLERK_TOKEN_CACHE_KEY_LEN)) {
            *found = 1;
            return i;
        }
    }
}

/* Remove index position i (backward-shift deletion keeps probing intact). */
static void index_delete(shard_t *sh, unsigned i)
{
    unsigned j = i;
    for (;;) {
        j = (j + 1) & sh->index_mask;
        if (sh->index[j] < 0)
            break;
        unsigned home = (unsigned)key_hash(sh->ring[sh->index[j]]->key) & sh->index_mask;
        /* Move j back to i unless its home lies cyclically in (i, j]. */
        if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
            sh->index[i] = sh->index[j];
            i = j;
        }
    }
    sh->index[i] = -1;
}

/* Take the entry at index position i out of the table; returns it if now unused. */
static clerk_cached_token_t *unlink_at(shard_t *sh, unsigned i)
{
    int slot = sh->index[i];
    clerk_cached_token_t *e = sh->ring[slot];
    sh->ring[slot] = NULL;
    sh->used--;
    index_delete(sh, i);
    return --e->refs == 0 ? e : NULL;
}

clerk_cached_token_t *clerk_token_cache_get(clerk_token_cache_t *c, const unsigned char *key,
                                            apr_uint64_t generation, apr_int64_t now)
{
    shard_t *sh = &c->shards[key[0] % c->nshards];
    clerk_cached_token_t *e = NULL, *dead = NULL;
    int found;
    unsigned i;

    lock(sh);
    i = find(sh, key, &found);
    if (found) {
        e = sh->ring[sh->index[i]];
        if (now >= e->expires_at || e->generation < generation) {
            dead = unlink_at(sh, i);
            e = NULL;
        }
        else if (e->generation != generation)
            e = NULL;   /* verified under a newer key set than this request's: keep it */
        else {
            e->referenced = 1;
            e->refs++;
        }
    }
    unlock(sh);
    if (dead)
        entry_free(dead);
    clerk_metrics_cache(c->metrics, e ? CLERK_CACHE_HIT : CLERK_CACHE_MISS);
    return e;
}

clerk_cached_token_t *clerk_token_cache_put(clerk_token_cache_t *c, const unsigned char *key,
                                            apr_uint64_t generation, apr_int64_t expires_at,
                                            const clerk_claims_t *claims,
                                            const apr_array_header_t *vars)
{
    shard_t *sh = &c->shards[key[0] % c->nshards];
    bump_t sizing = {NULL, 0}, fill;
    clerk_cached_token_t *e, *dead[2] = {NULL, NULL};
    apr_size_t head = (sizeof(*e) + 7) & ~(apr_size_t)7;
    int found;
    unsigned i;

    freeze(&sizing, NULL, claims, vars);
    if (!(e = malloc(head + sizing.off)))
        return NULL;
    memset(e, 0, sizeof(*e));
    fill.base = (char *)e + head;
    fill.off = 0;
    freeze(&fill, e, claims, vars);
    memcpy(e->key, key, CLERK_TOKEN_CACHE_KEY_LEN);
    e->generation = generation;
    e->expires_at = expires_at;
    e->shard = key[0] % c->nshards;
    /*
     * A deep copy, not a reference: the request's pool drops its reference
     * to claims->payload in its own thread while another thread may free
     * the entry, and jansson's refcounting does not order those two.
     */
    if (claims->payload && !(e->payload = json_deep_copy(claims->payload))) {
        free(e);
        return NULL;
    }
    e->claims.payload = e->payload;
    e->refs = 2;                        /* the table and the caller */
    e->referenced = 1;

    lock(sh);
    i = find(sh, key, &found);
    if (found)
        dead[0] = unlink_at(sh, i);     /* a concurrent put of the same token */
    if (sh->used == sh->cap) {
        /* CLOCK: skip (and clear) recently used entries, evict the first other. */
        for (;; sh->hand = (sh->hand + 1) % sh->cap) {
            clerk_cached_token_t *victim = sh->ring[sh->hand];
            if (victim->referenced) {
                victim->referenced = 0;
                continue;
            }
            dead[1] = unlink_at(sh, find(sh, victim->key, &found));
            break;
        }
    }
    {
        unsigned slot = sh->hand;
        while (sh->ring[slot])
            slot = (slot + 1) % sh->cap;
        sh->ring[slot] = e;
        sh->used++;
        sh->index[find(sh, key, &found)] = (int)slot;
    }
    unlock(sh);
    clerk_metrics_cache(c->metrics, CLERK_CACHE_INSERT);
    if (dead[1])
        clerk_metrics_cache(c->metrics, CLERK_CACHE_EVICTION);
    for (int k = 0; k < 2; k++)
        if (dead[k])
            entry_free(dead[k]);
    return e;
}

void clerk_token_cache_count_into(clerk_token_cache_t *c, clerk_metrics_t *m)
{
    if (c)
        c->metrics = m;
}

int clerk_token_cache_admit(clerk_token_cache_t *c, const unsigned char *key)
{
    return clerk_doorkeeper_admit(c->doorkeeper, key);
}

const clerk_claims_t *clerk_cached_token_claims(const clerk_cached_token_t *e)
{
    return &e->claims;
}

const apr_array_header_t *clerk_cached_token_vars(const clerk_cached_token_t *e)
{
    return e->vars;
}

void clerk_token_cache_release(clerk_token_cache_t *c, clerk_cached_token_t *e)
{
    shard_t *sh = &c->shards[e->shard];
    int last;

    lock(sh);
    last = --e->refs == 0;
    unlock(sh);
    if (last)
        entry_free(e);
}

typedef struct {
    clerk_token_cache_t *cache;
    clerk_cached_token_t *entry;
} release_ctx;

static apr_status_t release_cleanup(void *data)
{
    release_ctx *r = data;
    clerk_token_cache_release(r->cache, r->entry);
    return APR_SUCCESS;
}

void clerk_token_cache_release_on(apr_pool_t *p, clerk_token_cache_t *c,
                                  clerk_cached_token_t *e)
{
    release_ctx *r = apr_palloc(p, sizeof(*r));
    r->cache = c;
    r->entry = e;
    apr_pool_cleanup_register(p, r, release_cleanup, apr_pool_cleanup_null);
}

unsigned clerk_token_cache_size(clerk_token_cache_t *c)
{
    unsigned n = 0;
    for (unsigned s = 0; s < c->nshards; s++) {
        lock(&c->shards[s]);
        n += c->shards[s].used;
        unlock(&c->shards[s]);
    }
    return n;
}
