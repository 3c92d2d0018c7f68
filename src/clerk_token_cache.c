#include "clerk_token_cache.h"
#include "clerk_doorkeeper.h"
#include "clerk_export.h"
#include "clerk_metrics.h"
#include "clerk_siphash.h"
#include "clerk_thread_stripe.h"

#include <apr_atomic.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define SHARDS 16

struct clerk_cached_token {
    unsigned char key[CLERK_TOKEN_CACHE_ID_KEY_LEN];
    apr_uint64_t generation;
    apr_int64_t expires_at;
    unsigned refs;                  /* guarded by the shard lock; 1 for the table, 1 a front slot */
    unsigned fronts;                /* guarded by the shard lock: the front slots holding it */
    atomic_int referenced;          /* CLOCK bit; set without the lock by a front hit */
    int shard;
    json_t *payload;                /* the entry's own copy: no other thread's pool holds it */
    clerk_claims_t claims;          /* strings and arrays point into this block */
    apr_array_header_t *vars;
    const unsigned char *context;   /* the bytes a lookup must match, in this block too */
    apr_size_t context_len;
    const char *token;
    apr_size_t len;
};

typedef struct {
    apr_thread_mutex_t *lock;
    clerk_cached_token_t **ring;    /* CLOCK ring of entries, NULL = free */
    int *index;                     /* open addressing: ring slot or -1 */
    unsigned cap, index_mask, hand, used;
} shard_t;

/*
 * The fronts (issue 13: no lock shared by every thread on the path of a
 * request whose key is known).  Each thread stripe keeps the entries its
 * threads found lately in the table, and counts the requests holding each
 * through it, under the stripe's own lock: a hit on one popular token takes
 * no shard lock and writes no line every thread writes.  A front slot holds
 * one table reference, so its entry is exactly as alive as a held one; the
 * entry's validity (expiry, generation, its bytes) is checked on every hit,
 * as in the table.  When an entry leaves the table (evicted, expired,
 * replaced) it leaves every front at once: a slot no request uses gives its
 * reference back, one in use is marked dead and gives it back with its last
 * use, so an entry lives no longer than without the fronts.  Lock order:
 * a shard's, then a stripe's; never the other way.
 */
#define FRONT_SLOTS 8

typedef struct {
    apr_uint64_t key;               /* key_hash of the entry's key: skips other entries cheaply */
    clerk_cached_token_t *entry;    /* holds a table reference; NULL: free */
    unsigned uses;                  /* requests holding entry through this slot */
    int dead;                       /* out of the table: given to no request, freed by the last use */
} front_slot;

typedef union {
    struct {
        apr_thread_mutex_t *lock;   /* from child_init; NULL: one thread, or the process ended */
        unsigned hand;              /* where the next free slot is looked for */
        front_slot slot[FRONT_SLOTS];
    } s;
    char pad[4 * CLERK_CACHE_LINE];
} front_stripe;

_Static_assert(sizeof(front_stripe) == 4 * CLERK_CACHE_LINE, "a front stripe: whole cache lines");

struct clerk_token_cache {
    shard_t shards[SHARDS];
    front_stripe *fronts;           /* CLERK_STRIPES of them */
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

static void *bump_copy(bump_t *b, const void *s, apr_size_t n)
{
    void *d = bump(b, n);
    if (d && n)
        memcpy(d, s, n);
    return d;
}

static const char *bump_str(bump_t *b, const char *s)
{
    return s ? bump_copy(b, s, strlen(s) + 1) : NULL;
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

static void freeze(bump_t *b, clerk_cached_token_t *e, const clerk_token_cache_id_t *id,
                   const clerk_claims_t *c, const apr_array_header_t *vars)
{
    clerk_claims_t f = *c;
    const unsigned char *context = bump_copy(b, id->context, id->context_len);
    const char *token = bump_copy(b, id->token, id->len);

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
        e->context = context;
        e->context_len = id->context_len;
        e->token = token;
        e->len = id->len;
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
    c->fronts = clerk_stripes_alloc(p, sizeof(front_stripe));
    c->doorkeeper = clerk_doorkeeper_create(p, capacity);
    return c;
}

/*
 * A live front slot lets go of its entry, which is leaving the table (with
 * its shard lock held, or in free_all): unused, it gives its reference back
 * now (the table's is still there, so the entry is not freed here); in use,
 * it is marked dead, and its last use gives the reference back.
 */
static void let_go(front_slot *s)
{
    if (s->uses) {
        s->dead = 1;
        return;
    }
    s->entry->fronts--;
    s->entry->refs--;
    s->entry = NULL;
}

/*
 * The process is ending: drop the fronts' and the table's references and
 * leave the fronts and shards empty and unlocked (the mutexes are destroyed
 * next), so that an entry a request still holds is freed by its last
 * release and nothing else is touched.  A front slot in use is marked dead:
 * its last use gives its reference back.  No other thread runs by now.
 */
static apr_status_t free_all(void *data)
{
    clerk_token_cache_t *c = data;
    for (unsigned f = 0; f < CLERK_STRIPES; f++) {
        front_stripe *fs = &c->fronts[f];
        for (unsigned i = 0; i < FRONT_SLOTS; i++)
            if (fs->s.slot[i].entry && !fs->s.slot[i].dead)
                let_go(&fs->s.slot[i]);
        fs->s.lock = NULL;
    }
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
    apr_status_t rv;

    for (unsigned s = 0; s < c->nshards; s++)
        if ((rv = apr_thread_mutex_create(&c->shards[s].lock, APR_THREAD_MUTEX_DEFAULT,
                                          pchild)) != APR_SUCCESS)
            return rv;
    for (unsigned f = 0; f < CLERK_STRIPES; f++)
        if ((rv = apr_thread_mutex_create(&c->fronts[f].s.lock, APR_THREAD_MUTEX_DEFAULT,
                                          pchild)) != APR_SUCCESS)
            return rv;
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
 * The keys: SipHash-2-4 with 128-bit output (clerk_siphash.h) under a random
 * key drawn once per process, before the children are forked, so that no
 * client can compute where a token goes (aim its tokens at one shard or one
 * probe sequence).  clerk_token_cache_key's, over the whole token, stands
 * for it where no bytes are compared (a forged token matches a remembered
 * one with probability 2^-128 per lookup); the cache's own lookups compare
 * the entry's bytes, so clerk_token_cache_id's covers only what spreads
 * tokens.  Bytes 16..31, which the doorkeeper reads, are the PRF of bytes
 * 0..15: independent of the bytes that pick the shard and the slot.  The
 * state lives on the stack: no lock, no allocation, nothing per thread.
 */
static unsigned char mac_key[CLERK_SIPHASH_KEY_LEN];
static int mac_key_ready;

static void mac_key_init(void)
{
    mac_key_ready = RAND_bytes(mac_key, sizeof(mac_key)) == 1;
}

static void put_le64(unsigned char out[8], apr_uint64_t v)
{
    for (int i = 0; i < 8; i++)
        out[i] = (unsigned char)(v >> (8 * i));
}

static int mac_key_usable(void)
{
    return pthread_once(&mac_key_once, mac_key_init) == 0 && mac_key_ready;
}

/* Bytes 16..31 of a key, which the doorkeeper reads: the PRF of bytes 0..15. */
static void derive_upper_half(unsigned char key[CLERK_TOKEN_CACHE_KEY_LEN])
{
    clerk_siphash_t s;

    clerk_siphash_init(&s, mac_key);
    clerk_siphash_update(&s, key, CLERK_SIPHASH_OUT_LEN);
    clerk_siphash_final(&s, key + CLERK_SIPHASH_OUT_LEN);
}

/* The lengths first, so that no two splits of the same bytes give one key. */
int clerk_token_cache_key(const char *token, apr_size_t len, const void *context,
                          apr_size_t context_len, unsigned char key[CLERK_TOKEN_CACHE_KEY_LEN])
{
    unsigned char n[16];
    clerk_siphash_t s;

    if (!mac_key_usable()) {
        memset(key, 0, CLERK_TOKEN_CACHE_KEY_LEN);
        return 0;
    }
    put_le64(n, context_len);
    put_le64(n + 8, len);
    clerk_siphash_init(&s, mac_key);
    clerk_siphash_update(&s, n, sizeof(n));
    clerk_siphash_update(&s, context, context_len);
    clerk_siphash_update(&s, token, len);
    clerk_siphash_final(&s, key);
    derive_upper_half(key);
    return 1;
}

/*
 * What a slot key takes of the context: a cheap unkeyed mix of its words.
 * It only spreads one token's entries under several contexts over several
 * slots; contexts come from the configuration, not from clients, and the
 * entry's bytes, not the key, tell them apart, so a collision here costs at
 * most a longer probe.
 */
static apr_uint64_t context_mix(const void *context, apr_size_t n)
{
    const unsigned char *p = context;
    apr_uint64_t h = n, w;

    for (; n >= 8; p += 8, n -= 8) {
        memcpy(&w, p, sizeof(w));
        h = (h ^ w) * 0x9E3779B97F4A7C15ull;
        h ^= h >> 32;
    }
    w = 0;
    memcpy(&w, p, n);
    return (h ^ w) * 0x9E3779B97F4A7C15ull;
}

/*
 * A slot key need not tell tokens apart (the entry's bytes do), only spread
 * them where no client can choose: the keyed PRF of the token's length and
 * end, and of the context's mix.  The end of a JWT is its signature, which
 * nobody without the private key predicts, and an opaque token's end is
 * random too; two tokens with the same end share a probe sequence and at
 * worst miss.
 */
int clerk_token_cache_id(clerk_token_cache_id_t *id,
                         unsigned char key[CLERK_TOKEN_CACHE_ID_KEY_LEN], const char *token,
                         apr_size_t len, const void *context, apr_size_t context_len)
{
    apr_size_t tail = len < CLERK_TOKEN_CACHE_SLOT_TAIL ? len : CLERK_TOKEN_CACHE_SLOT_TAIL;
    unsigned char n[16];
    clerk_siphash_t s;

    id->key = key;
    id->context = context;
    id->context_len = context_len;
    id->token = token;
    id->len = len;
    if (!mac_key_usable()) {
        memset(key, 0, CLERK_TOKEN_CACHE_ID_KEY_LEN);
        return 0;
    }
    put_le64(n, len);
    put_le64(n + 8, context_mix(context, context_len));
    clerk_siphash_init(&s, mac_key);
    clerk_siphash_update(&s, n, sizeof(n));
    clerk_siphash_update(&s, token + len - tail, tail);
    clerk_siphash_final(&s, key);
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

static void stripe_lock(front_stripe *f)
{
    if (f->s.lock)
        apr_thread_mutex_lock(f->s.lock);
}

static void stripe_unlock(front_stripe *f)
{
    if (f->s.lock)
        apr_thread_mutex_unlock(f->s.lock);
}

static shard_t *shard_of(clerk_token_cache_t *c, const clerk_cached_token_t *e)
{
    return &c->shards[e->shard];
}

/* Whether e is the entry for id: the same key, and the same bytes. */
static int is_for(const clerk_cached_token_t *e, const clerk_token_cache_id_t *id)
{
    return !memcmp(e->key, id->key, CLERK_TOKEN_CACHE_ID_KEY_LEN) && e->len == id->len
           && e->context_len == id->context_len
           && !memcmp(e->context, id->context, id->context_len)
           && !memcmp(e->token, id->token, id->len);
}

/*
 * Index position holding the entry for id, or the empty position where it
 * would go; entries with id's key but other bytes are probed past.
 */
static unsigned find(const shard_t *sh, const clerk_token_cache_id_t *id, int *found)
{
    unsigned i = (unsigned)key_hash(id->key) & sh->index_mask;
    for (;; i = (i + 1) & sh->index_mask) {
        int slot = sh->index[i];
        if (slot < 0) {
            *found = 0;
            return i;
        }
        if (is_for(sh->ring[slot], id)) {
            *found = 1;
            return i;
        }
    }
}

/* The index position of an entry that is in the table. */
static unsigned position_of(const shard_t *sh, const clerk_cached_token_t *e)
{
    unsigned i = (unsigned)key_hash(e->key) & sh->index_mask;
    while (sh->ring[sh->index[i]] != e)
        i = (i + 1) & sh->index_mask;
    return i;
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

/* With e's shard lock held: e, leaving the table, leaves every front (let_go). */
static void front_purge(clerk_token_cache_t *c, clerk_cached_token_t *e)
{
    for (unsigned f = 0; e->fronts && f < CLERK_STRIPES; f++) {
        front_stripe *fs = &c->fronts[f];
        stripe_lock(fs);
        for (unsigned i = 0; i < FRONT_SLOTS; i++)
            if (fs->s.slot[i].entry == e && !fs->s.slot[i].dead)
                let_go(&fs->s.slot[i]);
        stripe_unlock(fs);
    }
}

/* Take the entry at index position i out of the table; returns it if now unused. */
static clerk_cached_token_t *unlink_at(clerk_token_cache_t *c, shard_t *sh, unsigned i)
{
    int slot = sh->index[i];
    clerk_cached_token_t *e = sh->ring[slot];
    front_purge(c, e);
    sh->ring[slot] = NULL;
    sh->used--;
    index_delete(sh, i);
    return --e->refs == 0 ? e : NULL;
}

/* Give back a reference to e: a request's (from_front 0) or a front slot's (1). */
static void drop_ref(clerk_token_cache_t *c, clerk_cached_token_t *e, int from_front)
{
    shard_t *sh = shard_of(c, e);
    int last;

    lock(sh);
    e->fronts -= (unsigned)from_front;
    last = --e->refs == 0;
    unlock(sh);
    if (last)
        entry_free(e);
}

/* How a request holds an entry: through a front slot (front non-NULL) or a reference. */
typedef struct {
    clerk_token_cache_t *cache;
    clerk_cached_token_t *entry;
    front_stripe *front;
    unsigned slot;
} hold_t;

static apr_status_t release_hold(void *data)
{
    hold_t *h = data;
    clerk_cached_token_t *give_back = NULL;

    if (!h->front) {
        drop_ref(h->cache, h->entry, 0);
        return APR_SUCCESS;
    }
    stripe_lock(h->front);
    {
        front_slot *s = &h->front->s.slot[h->slot];
        if (--s->uses == 0 && s->dead) {
            give_back = s->entry;
            s->entry = NULL;
            s->dead = 0;
        }
    }
    stripe_unlock(h->front);
    if (give_back)
        drop_ref(h->cache, give_back, 1);
    return APR_SUCCESS;
}

static void hold_on(apr_pool_t *holder, clerk_token_cache_t *c, clerk_cached_token_t *e,
                    front_stripe *front, unsigned slot)
{
    hold_t *h = apr_palloc(holder, sizeof(*h));
    h->cache = c;
    h->entry = e;
    h->front = front;
    h->slot = slot;
    apr_pool_cleanup_register(holder, h, release_hold, apr_pool_cleanup_null);
}

/*
 * A live entry for id in front f, as one more use of its slot (*slot); NULL
 * when f has none.  An expired entry or one of another generation is not
 * given out: the table's lookup that follows drops it (and so purges it).
 * An entry's key, bytes, expiry and generation never change once it is in
 * the table, so they are read here without its shard lock.
 */
static clerk_cached_token_t *front_get(front_stripe *f, const clerk_token_cache_id_t *id,
                                       apr_uint64_t generation, apr_int64_t now, unsigned *slot)
{
    apr_uint64_t k = key_hash(id->key);
    clerk_cached_token_t *e = NULL;

    stripe_lock(f);
    for (unsigned i = 0; i < FRONT_SLOTS; i++) {
        front_slot *s = &f->s.slot[i];
        if (s->entry && s->key == k && !s->dead && is_for(s->entry, id)) {
            if (now < s->entry->expires_at && s->entry->generation == generation) {
                s->uses++;
                e = s->entry;
                *slot = i;
            }
            break;
        }
    }
    stripe_unlock(f);
    /* the CLOCK bit, written only when clear: the line is not written on every hit */
    if (e && !atomic_load_explicit(&e->referenced, memory_order_relaxed))
        atomic_store_explicit(&e->referenced, 1, memory_order_relaxed);
    return e;
}

/*
 * With e's shard lock held: put e in front f, in a slot no request uses
 * (the next one from the hand).  Returns the entry whose slot it took, for
 * the caller to give back once the shard lock is released (it may be in
 * another shard), or NULL; a full front, every slot in use, is left alone.
 */
static clerk_cached_token_t *front_offer(front_stripe *f, clerk_cached_token_t *e)
{
    clerk_cached_token_t *old = NULL;
    unsigned i, n;

    stripe_lock(f);
    for (i = 0; i < FRONT_SLOTS && f->s.slot[i].entry != e; i++)
        ;
    for (n = 0; i == FRONT_SLOTS && n < FRONT_SLOTS; n++) {
        front_slot *s = &f->s.slot[(f->s.hand + n) % FRONT_SLOTS];
        if (s->uses)
            continue;
        old = s->entry;
        s->key = key_hash(e->key);
        s->entry = e;
        s->dead = 0;
        e->fronts++;
        e->refs++;
        f->s.hand = (f->s.hand + n + 1) % FRONT_SLOTS;
        break;
    }
    stripe_unlock(f);
    return old;
}

clerk_cached_token_t *clerk_token_cache_get(clerk_token_cache_t *c,
                                            const clerk_token_cache_id_t *id,
                                            apr_uint64_t generation, apr_int64_t now,
                                            apr_pool_t *holder)
{
    shard_t *sh = &c->shards[id->key[0] % c->nshards];
    front_stripe *f = &c->fronts[clerk_thread_stripe()];
    clerk_cached_token_t *e, *dead = NULL, *displaced = NULL;
    int found;
    unsigned i;

    if ((e = front_get(f, id, generation, now, &i))) {
        hold_on(holder, c, e, f, i);
        clerk_metrics_cache(c->metrics, CLERK_CACHE_HIT);
        return e;
    }
    lock(sh);
    i = find(sh, id, &found);
    if (found) {
        e = sh->ring[sh->index[i]];
        if (now >= e->expires_at || e->generation < generation) {
            dead = unlink_at(c, sh, i);
            e = NULL;
        }
        else if (e->generation != generation)
            e = NULL;   /* verified under a newer key set than this request's: keep it */
        else {
            atomic_store_explicit(&e->referenced, 1, memory_order_relaxed);
            e->refs++;
            displaced = front_offer(f, e);  /* found twice: the next hit is the front's */
        }
    }
    unlock(sh);
    if (dead)
        entry_free(dead);
    if (displaced)
        drop_ref(c, displaced, 1);
    if (e)
        hold_on(holder, c, e, NULL, 0);
    clerk_metrics_cache(c->metrics, e ? CLERK_CACHE_HIT : CLERK_CACHE_MISS);
    return e;
}

clerk_cached_token_t *clerk_token_cache_put(clerk_token_cache_t *c,
                                            const clerk_token_cache_id_t *id,
                                            apr_uint64_t generation, apr_int64_t expires_at,
                                            const clerk_claims_t *claims,
                                            const apr_array_header_t *vars, apr_pool_t *holder)
{
    const unsigned char *key = id->key;
    shard_t *sh = &c->shards[key[0] % c->nshards];
    bump_t sizing = {NULL, 0}, fill;
    clerk_cached_token_t *e, *dead[2] = {NULL, NULL};
    apr_size_t head = (sizeof(*e) + 7) & ~(apr_size_t)7;
    int found;
    unsigned i;

    if (id->len > CLERK_TOKEN_CACHE_MAX_TOKEN || id->context_len > CLERK_TOKEN_CACHE_MAX_CONTEXT)
        return NULL;
    freeze(&sizing, NULL, id, claims, vars);
    if (!(e = malloc(head + sizing.off)))
        return NULL;
    memset(e, 0, sizeof(*e));
    fill.base = (char *)e + head;
    fill.off = 0;
    freeze(&fill, e, id, claims, vars);
    memcpy(e->key, key, CLERK_TOKEN_CACHE_ID_KEY_LEN);
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
    atomic_init(&e->referenced, 1);

    lock(sh);
    i = find(sh, id, &found);
    if (found)
        dead[0] = unlink_at(c, sh, i);  /* a concurrent put of the same token */
    if (sh->used == sh->cap) {
        /* CLOCK: skip (and clear) recently used entries, evict the first other. */
        for (;; sh->hand = (sh->hand + 1) % sh->cap) {
            clerk_cached_token_t *victim = sh->ring[sh->hand];
            if (atomic_load_explicit(&victim->referenced, memory_order_relaxed)) {
                atomic_store_explicit(&victim->referenced, 0, memory_order_relaxed);
                continue;
            }
            dead[1] = unlink_at(c, sh, position_of(sh, victim));
            break;
        }
    }
    {
        unsigned slot = sh->hand;
        while (sh->ring[slot])
            slot = (slot + 1) % sh->cap;
        sh->ring[slot] = e;
        sh->used++;
        sh->index[find(sh, id, &found)] = (int)slot;
    }
    unlock(sh);
    clerk_metrics_cache(c->metrics, CLERK_CACHE_INSERT);
    if (dead[1])
        clerk_metrics_cache(c->metrics, CLERK_CACHE_EVICTION);
    for (int k = 0; k < 2; k++)
        if (dead[k])
            entry_free(dead[k]);
    hold_on(holder, c, e, NULL, 0);
    return e;
}

void clerk_token_cache_count_into(clerk_token_cache_t *c, clerk_metrics_t *m)
{
    if (c)
        c->metrics = m;
}

/* The doorkeeper's bytes are derived here, on a miss, so that a hit does not compute them. */
int clerk_token_cache_admit(clerk_token_cache_t *c, const clerk_token_cache_id_t *id)
{
    unsigned char key[CLERK_TOKEN_CACHE_KEY_LEN];

    memcpy(key, id->key, CLERK_TOKEN_CACHE_ID_KEY_LEN);
    derive_upper_half(key);
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

unsigned clerk_token_cache_front_size(clerk_token_cache_t *c)
{
    unsigned n = 0;
    for (unsigned f = 0; f < CLERK_STRIPES; f++) {
        stripe_lock(&c->fronts[f]);
        for (unsigned i = 0; i < FRONT_SLOTS; i++)
            n += c->fronts[f].s.slot[i].entry && !c->fronts[f].s.slot[i].dead;
        stripe_unlock(&c->fronts[f]);
    }
    return n;
}
