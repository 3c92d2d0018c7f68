/*
 * src/clerk_token_cache.c: the per-process cache of verified tokens.  The
 * digests and keys, frozen entries that outlive the request that stored
 * them, generation and expiry (at the boundary clerk_verify_token uses),
 * CLOCK eviction with its second chance, the exact capacity, refcounts (a
 * held entry survives eviction; its holder's pool frees it), the thread
 * stripes' fronts (found again without the shard, gone with the table's
 * entry, given back from another thread), replacing
 * a key, and a thread stress test on overlapping keys with a small capacity.
 *
 * Where an entry's lifetime must be seen without a sanitizer, it is seen
 * through the payload copy it owns: put stores a json_deep_copy of the
 * payload, freed with the entry.  main() installs counting allocation
 * functions for jansson, so live_json() is the number of jansson blocks
 * alive; a test measures how many one copy takes (copy_blocks) and expects
 * the count to move by exactly that when an entry is stored or freed.
 * Under make unit-san a use-after-free or a leaked entry shows directly.
 *
 * Also built with -fsanitize=thread by tests/unit/tsan.mk (make unit-tsan).
 */
#include "unit.h"

#include <apr_allocator.h>
#include <apr_atomic.h>
#include <apr_thread_proc.h>

#include "clerk_token_cache.h"

#define NOW 1700000000
#define SKEW 5
#define HDR "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"" UNIT_KID "\"}"
#define KEY_LEN CLERK_TOKEN_CACHE_KEY_LEN
/*
 * The id of the tests that work with keys alone: the key's bytes are also
 * the context, with an empty token, so one key is one identity, as for the
 * Backend API's ids (its key stands for the context).
 */
#define ID(k) (&(clerk_token_cache_id_t){(k), (k), KEY_LEN, "", 0})

/*
 * The implementation splits the cache into n = min(16, capacity) shards
 * picked by key[0] % n, each with its own CLOCK.  Shard s gets capacity / n
 * slots, plus one when s < capacity % n: the capacity is exact, and every
 * shard has a slot.  The eviction tests put all their keys in one shard
 * (same key[0]) so that they compete for its slots; capacity SHARD_CAP * 16
 * gives every shard SHARD_CAP slots.
 */
#define SHARDS 16

static unsigned shards_of(unsigned capacity)
{
    return capacity < SHARDS ? capacity : SHARDS;
}

/* The slots of shard s in a cache of capacity entries (see above). */
static unsigned shard_slots(unsigned capacity, unsigned s)
{
    return capacity / shards_of(capacity) + (s < capacity % shards_of(capacity));
}

/*
 * Live jansson blocks, counted by the allocation functions main() installs.
 * Atomic: the stress threads allocate too.  A block jansson hands out that
 * the caller frees with plain free() (clerk_json_compact frees json_dumps'
 * string so) stays counted: the tests compare counts only around cache
 * calls, which make no such block.
 */
static size_t json_blocks;

static void *counting_malloc(size_t n)
{
    void *p = malloc(n);
    if (p)
        __atomic_add_fetch(&json_blocks, 1, __ATOMIC_RELAXED);
    return p;
}

static void counting_free(void *p)
{
    if (p)
        __atomic_sub_fetch(&json_blocks, 1, __ATOMIC_RELAXED);
    free(p);
}

static size_t live_json(void)
{
    return __atomic_load_n(&json_blocks, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------ helpers */

/* The cache as the module has it: made in "pconf", locks made in "pchild". */
static clerk_token_cache_t *new_cache(apr_pool_t *p, unsigned capacity, apr_pool_t **pchild)
{
    clerk_token_cache_t *c = clerk_token_cache_create(p, capacity);
    apr_pool_t *child;

    assert_non_null(c);
    /* pchild is a sub-pool of p: destroyed (entries freed) before p's own cleanups run */
    assert_int_equal(apr_pool_create(&child, p), APR_SUCCESS);
    assert_int_equal(clerk_token_cache_child_init(c, child), APR_SUCCESS);
    if (pchild)
        *pchild = child;
    return c;
}

/*
 * A pool with its own allocator: destroying it free()s its memory, so ASan
 * flags any later read of it (a shared allocator would keep the blocks).
 */
static apr_pool_t *private_pool(apr_pool_t *parent)
{
    apr_allocator_t *a;
    apr_pool_t *p;

    assert_int_equal(apr_allocator_create(&a), APR_SUCCESS);
    assert_int_equal(apr_pool_create_ex(&p, parent, NULL, a), APR_SUCCESS);
    apr_allocator_owner_set(a, p);
    return p;
}


static clerk_claims_t *user_claims(apr_pool_t *p, const char *sub)
{
    return unit_claims(p, apr_psprintf(p, "{\"sub\":\"%s\",\"sid\":\"sess_x\",\"exp\":%d}", sub,
                                 NOW + 60), CLERK_TYPE_SESSION);
}

/* The verify options of these tests: the contract's defaults (skew 5 s, sessions). */
static void opts_init(clerk_verify_opts_t *o)
{
    clerk_verify_opts_init(o);
    assert_int_equal(o->clock_skew, SKEW);
}

/* A token minted with the fixture key for payload, verified at now. */
static clerk_verify_result_t verify_at(apr_pool_t *p, const char *token, apr_int64_t now)
{
    clerk_keyset_t *ks = unit_pem_keyset(p, UNIT_PUB_PEM);
    clerk_verify_opts_t o;
    clerk_verify_result_t res;

    opts_init(&o);
    clerk_verify_token(p, token, strlen(token), ks, &o, now, &res);
    return res;
}

static clerk_claims_t *verified(apr_pool_t *p, const char *token)
{
    clerk_verify_result_t res = verify_at(p, token, NOW);
    if (res.reason != CLERK_OK)
        fail_msg("fixture token: %s (%s)", clerk_reason_str(res.reason), res.detail);
    return res.claims;
}

/* A key in the shard picked by shard_byte; n tells keys apart (and spreads their index slots). */
static void shard_key(unsigned char key[KEY_LEN], unsigned char shard_byte, unsigned n)
{
    apr_uint64_t h = (apr_uint64_t)(n + 1) * 0x9E3779B97F4A7C15ull;

    memset(key, 0, KEY_LEN);
    key[0] = shard_byte;
    memcpy(key + 8, &h, sizeof(h));
    memcpy(key + 24, &n, sizeof(n));
}

static size_t refs_of(const json_t *j)
{
    return __atomic_load_n(&j->refcount, __ATOMIC_ACQUIRE);
}

/* The jansson blocks one copy of j takes: what an entry holds of a payload like j. */
static size_t copy_blocks(const json_t *j)
{
    size_t before = live_json(), n;
    json_t *copy = json_deep_copy(j);

    assert_non_null(copy);
    n = live_json() - before;
    json_decref(copy);
    assert_int_equal(live_json(), before);
    assert_true(n > 0);
    return n;
}

/*
 * copy is a deep copy of orig: equal, and no value of it (at any depth) is
 * one of orig's, so no refcount is shared with the request that owns orig.
 */
static void assert_json_copied(json_t *copy, json_t *orig)
{
    assert_non_null(copy);
    assert_true(json_equal(copy, orig));
    if (json_is_true(orig) || json_is_false(orig) || json_is_null(orig))
        return;                                         /* jansson's shared singletons */
    assert_ptr_not_equal(copy, orig);
    if (json_is_object(orig)) {
        const char *k;
        json_t *v;
        json_object_foreach(orig, k, v)
            assert_json_copied(json_object_get(copy, k), v);
    }
    else if (json_is_array(orig)) {
        for (size_t i = 0; i < json_array_size(orig); i++)
            assert_json_copied(json_array_get(copy, i), json_array_get(orig, i));
    }
}

/*
 * A request holds what the cache gives it until its pool is cleared.  Here
 * get() and put() give every entry a pool of its own (a "request"), and
 * release(e) destroys the pool of one hold of e.  Main thread only.
 */
#define MAX_HOLDS 64
static struct {
    const clerk_cached_token_t *entry;
    apr_pool_t *pool;
} holds[MAX_HOLDS];

static apr_pool_t *request_pool(void)
{
    apr_pool_t *p;
    assert_int_equal(apr_pool_create(&p, NULL), APR_SUCCESS);
    return p;
}

static clerk_cached_token_t *held(clerk_cached_token_t *e, apr_pool_t *p)
{
    for (int i = 0; e && i < MAX_HOLDS; i++)
        if (!holds[i].entry) {
            holds[i].entry = e;
            holds[i].pool = p;
            return e;
        }
    if (e)
        fail_msg("more than %d entries held at once", MAX_HOLDS);
    apr_pool_destroy(p);                /* nothing was held: nothing to give back */
    return NULL;
}

static clerk_cached_token_t *get(clerk_token_cache_t *c, const clerk_token_cache_id_t *id,
                                 apr_uint64_t generation, apr_int64_t now)
{
    apr_pool_t *p = request_pool();
    return held(clerk_token_cache_get(c, id, generation, now, p), p);
}

static clerk_cached_token_t *put(clerk_token_cache_t *c, const clerk_token_cache_id_t *id,
                                 apr_uint64_t generation, apr_int64_t expires_at,
                                 const clerk_claims_t *claims, const apr_array_header_t *vars)
{
    apr_pool_t *p = request_pool();
    return held(clerk_token_cache_put(c, id, generation, expires_at, claims, vars, p), p);
}

static void release(const clerk_cached_token_t *e)
{
    for (int i = MAX_HOLDS; i-- > 0;)
        if (holds[i].entry == e) {
            holds[i].entry = NULL;
            apr_pool_destroy(holds[i].pool);
            return;
        }
    fail_msg("released an entry not held");
}

static const char *sub_of(const clerk_cached_token_t *e)
{
    return clerk_cached_token_claims(e)->sub;
}

/* Whether id has a live entry under generation (a hit also sets its CLOCK bit: use last). */
static int found_under(clerk_token_cache_t *c, const clerk_token_cache_id_t *id,
                       apr_uint64_t generation)
{
    clerk_cached_token_t *e = get(c, id, generation, NOW);
    if (!e)
        return 0;
    release(e);
    return 1;
}

static int present(clerk_token_cache_t *c, const unsigned char *key)
{
    return found_under(c, ID(key), 1);
}

static int present_gen(clerk_token_cache_t *c, const unsigned char *key, apr_uint64_t generation)
{
    return found_under(c, ID(key), generation);
}

static void put_release(clerk_token_cache_t *c, const unsigned char *key, const clerk_claims_t *cl)
{
    clerk_cached_token_t *e = put(c, ID(key), 1, NOW + 60, cl, NULL);
    assert_non_null(e);
    release(e);
}

static void assert_strings_equal(const apr_array_header_t *got, const apr_array_header_t *want)
{
    if (!want) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_int_equal(got->nelts, want->nelts);
    for (int i = 0; i < want->nelts; i++)
        unit_assert_str(APR_ARRAY_IDX(got, i, const char *), APR_ARRAY_IDX(want, i, const char *));
}

/* A string of the entry equals the original and is a copy, not the original's pointer. */
#define assert_copied_str(got, want)                      \
    do {                                                  \
        unit_assert_str((got), (want));                   \
        if ((want) != NULL)                               \
            assert_ptr_not_equal((got), (want));          \
    } while (0)

/* The string members of clerk_claims_t: both checks of an entry below go over all of them. */
#define CLAIMS_STRING_MEMBERS(X)                                                              \
    X(sub) X(sid) X(sts) X(iss) X(azp) X(jti) X(actor_sub) X(user_id) X(org.id) X(org.slug) \
    X(org.role) X(features) X(plans) X(machine_id)

static void assert_claims_equal(const clerk_claims_t *got, const clerk_claims_t *want)
{
#define ASSERT_MEMBER_EQUAL(member) unit_assert_str(got->member, want->member);
    CLAIMS_STRING_MEMBERS(ASSERT_MEMBER_EQUAL)
#undef ASSERT_MEMBER_EQUAL
    assert_int_equal(got->type, want->type);
    assert_int_equal(got->exp, want->exp);
    assert_int_equal(got->iat, want->iat);
    assert_int_equal(got->has_iat, want->has_iat);
    assert_strings_equal(got->org.permissions, want->org.permissions);
    assert_strings_equal(got->scopes, want->scopes);
    assert_non_null(got->payload);
    assert_true(json_equal(got->payload, want->payload));
}

/* A list of the entry is a copy: neither the array nor a string is the original's. */
static void assert_strings_copied(const apr_array_header_t *got, const apr_array_header_t *orig)
{
    if (!orig)
        return;
    assert_ptr_not_equal(got, orig);
    for (int i = 0; i < orig->nelts; i++)
        assert_ptr_not_equal(APR_ARRAY_IDX(got, i, const char *),
                             APR_ARRAY_IDX(orig, i, const char *));
}

/* No string of the entry is the original's (they must survive its pool). */
static void assert_claims_copied(const clerk_claims_t *got, const clerk_claims_t *orig)
{
#define ASSERT_MEMBER_COPIED(member) assert_copied_str(got->member, orig->member);
    CLAIMS_STRING_MEMBERS(ASSERT_MEMBER_COPIED)
#undef ASSERT_MEMBER_COPIED
    assert_json_copied(got->payload, orig->payload);
    assert_strings_copied(got->org.permissions, orig->org.permissions);
    assert_strings_copied(got->scopes, orig->scopes);
}

static void assert_vars_equal(const apr_array_header_t *got, const apr_array_header_t *want)
{
    assert_non_null(got);
    assert_int_equal(got->nelts, want->nelts);
    assert_int_equal(got->elt_size, sizeof(clerk_var_t));
    for (int i = 0; i < want->nelts; i++) {
        const clerk_var_t *g = &APR_ARRAY_IDX(got, i, clerk_var_t);
        const clerk_var_t *w = &APR_ARRAY_IDX(want, i, clerk_var_t);
        unit_assert_str(g->env, w->env);
        unit_assert_str(g->header, w->header);
        unit_assert_str(g->value, w->value);
    }
}

/* ------------------------------------------------------------ create, digests, keys */

static void test_create_and_child_init(void **state)
{
    apr_pool_t *pchild;
    clerk_token_cache_t *c;
    clerk_claims_t *cl = user_claims(UNIT_POOL, "user_1");
    size_t per = copy_blocks(cl->payload), base = live_json();
    unsigned char key[KEY_LEN];

    /* ClerkTokenCache 0 means off: no cache at all */
    assert_null(clerk_token_cache_create(UNIT_POOL, 0));

    c = new_cache(UNIT_POOL, 64, &pchild);
    assert_int_equal(clerk_token_cache_size(c), 0);
    shard_key(key, 3, 1);
    put_release(c, key, cl);
    assert_int_equal(clerk_token_cache_size(c), 1);
    assert_int_equal(live_json(), base + per);          /* the table's entry and its copy */
    /*
     * child_init made the locks and tied the table's entries to pchild: when
     * the child exits (pchild destroyed) they are freed, not leaked.
     */
    apr_pool_destroy(pchild);
    assert_int_equal(live_json(), base);
}

static void hex32(const unsigned char d[KEY_LEN], char out[2 * KEY_LEN + 1])
{
    for (int i = 0; i < KEY_LEN; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static void test_digest(void **state)
{
    unsigned char d[KEY_LEN], e[KEY_LEN], zero[KEY_LEN] = {0};
    char hex[2 * KEY_LEN + 1];

    /* FIPS 180-2 test vectors */
    assert_int_equal(clerk_digest("abc", 3, d), 1);
    hex32(d, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(clerk_digest("", 0, d), 1);
    hex32(d, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    /* len is what is hashed, not the C string */
    assert_int_equal(clerk_digest("abcdef", 3, e), 1);
    assert_int_equal(clerk_digest("abc", 3, d), 1);
    assert_memory_equal(d, e, KEY_LEN);

    /* NULL list: all zero (out is written even when it held something) */
    memset(d, 0xAA, sizeof(d));
    assert_int_equal(clerk_digest_list(UNIT_POOL, NULL, d), 1);
    assert_memory_equal(d, zero, KEY_LEN);

    /* a list is the digest of its values joined with '\n' */
    assert_int_equal(clerk_digest_list(UNIT_POOL, unit_strings(UNIT_POOL, "a", "b", NULL), d), 1);
    assert_int_equal(clerk_digest("a\nb", 3, e), 1);
    assert_memory_equal(d, e, KEY_LEN);
    /* order matters (issuers, parties and audiences are ordered lists in the config) */
    assert_int_equal(clerk_digest_list(UNIT_POOL, unit_strings(UNIT_POOL, "b", "a", NULL), e), 1);
    assert_memory_not_equal(d, e, KEY_LEN);
    /* an empty list is not "no list": SHA-256("") */
    assert_int_equal(clerk_digest_list(UNIT_POOL, unit_strings(UNIT_POOL, NULL), d), 1);
    hex32(d, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_memory_not_equal(d, zero, KEY_LEN);
}

static void test_cache_key(void **state)
{
    const char ctx1[16] = "context-one", ctx2[16] = "context-two";
    unsigned char k1[KEY_LEN], k2[KEY_LEN], k3[KEY_LEN], k4[KEY_LEN], zero[KEY_LEN] = {0};

    assert_int_equal(clerk_token_cache_key("tok.en.A", 8, ctx1, sizeof(ctx1), k1), 1);
    assert_int_equal(clerk_token_cache_key("tok.en.A", 8, ctx1, sizeof(ctx1), k2), 1);
    assert_memory_equal(k1, k2, KEY_LEN);               /* same inputs, same key */
    assert_memory_not_equal(k1, zero, KEY_LEN);

    assert_int_equal(clerk_token_cache_key("tok.en.B", 8, ctx1, sizeof(ctx1), k3), 1);
    assert_memory_not_equal(k1, k3, KEY_LEN);           /* another token */
    assert_int_equal(clerk_token_cache_key("tok.en.A", 8, ctx2, sizeof(ctx2), k4), 1);
    assert_memory_not_equal(k1, k4, KEY_LEN);           /* same token, another context */
    assert_memory_not_equal(k3, k4, KEY_LEN);

    /* the token is len bytes: what follows is not part of it */
    assert_int_equal(clerk_token_cache_key("tok.en.A.trailing", 8, ctx1, sizeof(ctx1), k2), 1);
    assert_memory_equal(k1, k2, KEY_LEN);
    /* ... and a prefix of it is another token */
    assert_int_equal(clerk_token_cache_key("tok.en.A", 7, ctx1, sizeof(ctx1), k2), 1);
    assert_memory_not_equal(k1, k2, KEY_LEN);
    /* the whole context counts, also bytes after a NUL */
    {
        char a[16] = "same", b[16] = "same";
        b[15] = 1;
        assert_int_equal(clerk_token_cache_key("t", 1, a, sizeof(a), k1), 1);
        assert_int_equal(clerk_token_cache_key("t", 1, b, sizeof(b), k2), 1);
        assert_memory_not_equal(k1, k2, KEY_LEN);
    }
}

/*
 * The key hashes the context's length before the context and the token, so
 * where the context ends counts: the same bytes split differently between
 * context and token are other keys (a context that ends in bytes a token
 * could start with must not let one token pass for another).
 */
static void test_cache_key_context_boundary(void **state)
{
    unsigned char k1[KEY_LEN], k2[KEY_LEN], k3[KEY_LEN], k4[KEY_LEN];

    assert_int_equal(clerk_token_cache_key("c", 1, "ab", 2, k1), 1);
    assert_int_equal(clerk_token_cache_key("bc", 2, "a", 1, k2), 1);
    assert_memory_not_equal(k1, k2, KEY_LEN);           /* "ab"+"c" is not "a"+"bc" */
    assert_int_equal(clerk_token_cache_key("abc", 3, "", 0, k3), 1);
    assert_int_equal(clerk_token_cache_key("", 0, "abc", 3, k4), 1);
    assert_memory_not_equal(k3, k4, KEY_LEN);           /* all token vs all context */
    assert_memory_not_equal(k1, k3, KEY_LEN);
    assert_memory_not_equal(k1, k4, KEY_LEN);
    assert_memory_not_equal(k2, k3, KEY_LEN);
    assert_memory_not_equal(k2, k4, KEY_LEN);
    /* ... while each split still gives its own key every time */
    assert_int_equal(clerk_token_cache_key("c", 1, "ab", 2, k3), 1);
    assert_memory_equal(k1, k3, KEY_LEN);
    assert_int_equal(clerk_token_cache_key("bc", 2, "a", 1, k3), 1);
    assert_memory_equal(k2, k3, KEY_LEN);
}

/* ------------------------------------------------------------ entries */

/* Every kind of claim the model has: a v2 session with an org, features and an actor. */
#define RICH_PAYLOAD                                                                              \
    "{\"sub\":\"user_1\",\"sid\":\"sess_1\",\"sts\":\"active\",\"iss\":\"https://clerk.example.com\","  \
    "\"azp\":\"https://app.example.com\",\"exp\":1700000060,\"iat\":1699999990,\"jti\":\"jt_1\","       \
    "\"act\":{\"sub\":\"user_admin\"},\"v\":2,"                                                        \
    "\"fea\":\"o:repositories,u:beta,o:projects\",\"pla\":\"u:free\",\"o\":{\"id\":\"org_1\","           \
    "\"slg\":\"acme\",\"rol\":\"admin\",\"per\":\"read,create,update,delete,revoke\",\"fpm\":\"7,21\"},"  \
    "\"custom\":{\"z\":1,\"a\":[true,null,\"\xc3\xa9\"]}}"

/*
 * put copies the claims and variables: the entry (the one put returns and
 * the one get finds) equals the originals and still reads right after the
 * request pool they came from is gone.
 */
/* Threads computing keys at once: the same keys as one thread (no state shared but the key). */
typedef struct {
    volatile apr_uint32_t *go;
    unsigned char keys[64][CLERK_TOKEN_CACHE_KEY_LEN];
} key_thread_t;

static void *APR_THREAD_FUNC key_thread(apr_thread_t *t, void *arg)
{
    key_thread_t *k = arg;
    char token[32];

    unit_wait_for(k->go);
    for (unsigned i = 0; i < 64; i++) {
        snprintf(token, sizeof(token), "tok-%u", i);
        if (!clerk_token_cache_key(token, strlen(token), "ctx", 3, k->keys[i]))
            memset(k->keys[i], 0xff, CLERK_TOKEN_CACHE_KEY_LEN);
    }
    return NULL;
}

static void test_cache_key_per_thread(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    volatile apr_uint32_t go = 0;
    key_thread_t *k = apr_pcalloc(p, 4 * sizeof(*k));
    unsigned char want[CLERK_TOKEN_CACHE_KEY_LEN], zero[CLERK_TOKEN_CACHE_KEY_LEN] = {0};
    char token[32];

    for (unsigned n = 0; n < 4; n++)
        k[n].go = &go;
    unit_run_threads(p, 4, key_thread, k, sizeof(*k), &go);
    for (unsigned i = 0; i < 64; i++) {
        snprintf(token, sizeof(token), "tok-%u", i);
        assert_true(clerk_token_cache_key(token, strlen(token), "ctx", 3, want));
        assert_memory_not_equal(want, zero, sizeof(want));
        /* the doorkeeper's half is not the shard's and slot's half */
        assert_memory_not_equal(want, want + 16, 16);
        for (unsigned n = 0; n < 4; n++)
            assert_memory_equal(k[n].keys[i], want, sizeof(want));
    }
}

static void test_put_get_frozen_copy(void **state)
{
    apr_pool_t *rp = private_pool(UNIT_POOL);
    char *token = unit_sign(UNIT_POOL, unit_fixture_private_key(UNIT_POOL), "RS256", HDR,
                            RICH_PAYLOAD);
    /* the reference: the same token verified again, in a pool that stays */
    clerk_claims_t *want = verified(UNIT_POOL, token);
    apr_array_header_t *want_vars = clerk_export_vars(UNIT_POOL, want);
    clerk_token_cache_t *c = new_cache(UNIT_POOL, 64, NULL);
    clerk_claims_t *orig = verified(rp, token);
    apr_array_header_t *orig_vars = clerk_export_vars(rp, orig);
    clerk_cached_token_t *stored, *got;
    unsigned char key[KEY_LEN];

    assert_non_null(want->org.permissions);             /* the model is as rich as meant */
    assert_non_null(want->actor_sub);
    assert_non_null(want->features);
    assert_true(want_vars->nelts > 15);
    assert_int_equal(clerk_token_cache_key(token, strlen(token), "ctx", 3, key), 1);

    assert_non_null(stored = put(c, ID(key), 1, want->exp + SKEW, orig, orig_vars));
    assert_claims_equal(clerk_cached_token_claims(stored), want);
    assert_claims_copied(clerk_cached_token_claims(stored), orig);     /* payload: a deep copy */
    assert_vars_equal(clerk_cached_token_vars(stored), want_vars);
    for (int i = 0; i < orig_vars->nelts; i++)
        assert_ptr_not_equal(APR_ARRAY_IDX(clerk_cached_token_vars(stored), i, clerk_var_t).value,
                             APR_ARRAY_IDX(orig_vars, i, clerk_var_t).value);

    /* the request ends: its memory goes back to malloc (ASan: any dangling read shows) */
    apr_pool_destroy(rp);

    assert_non_null(got = get(c, ID(key), 1, NOW));
    assert_ptr_equal(got, stored);                         /* one entry, two holders */
    assert_claims_equal(clerk_cached_token_claims(got), want);
    assert_vars_equal(clerk_cached_token_vars(got), want_vars);
    unit_assert_str(clerk_json_string(clerk_cached_token_claims(got)->payload, "sub"), "user_1");
    release(got);
    assert_claims_equal(clerk_cached_token_claims(stored), want);
    release(stored);
    assert_int_equal(clerk_token_cache_size(c), 1);     /* released, still cached */
}

/* The arrays of an M2M model (scopes, machine id) are copied too; vars may be NULL. */
static void test_put_m2m_scopes(void **state)
{
    apr_pool_t *rp = private_pool(UNIT_POOL);
    const char *json = "{\"sub\":\"mch_1\",\"exp\":1700000060,\"scopes\":\"read write  admin\"}";
    clerk_claims_t *want = unit_claims(UNIT_POOL, json, CLERK_TYPE_M2M);
    clerk_claims_t *orig = unit_claims(rp, json, CLERK_TYPE_M2M);
    clerk_token_cache_t *c = new_cache(UNIT_POOL, 16, NULL);
    clerk_cached_token_t *e;
    unsigned char key[KEY_LEN];

    assert_int_equal(want->scopes->nelts, 3);
    shard_key(key, 0, 0);
    assert_non_null(e = put(c, ID(key), 1, NOW + 60, orig, NULL));
    assert_claims_copied(clerk_cached_token_claims(e), orig);
    apr_pool_destroy(rp);
    assert_claims_equal(clerk_cached_token_claims(e), want);
    assert_null(clerk_cached_token_vars(e));
    unit_assert_str(APR_ARRAY_IDX(clerk_cached_token_claims(e)->scopes, 2, const char *), "admin");
    release(e);
}

/*
 * The entry's payload is its own deep copy: not the request's json_t, equal
 * to it, no reference taken on it, and still whole after the request's pool
 * (which owns the original, as clerk_json_parse_object makes it) is gone.
 * The original is then really freed: the entry does not keep it alive.
 */
static void test_payload_is_a_copy(void **state)
{
    apr_pool_t *rp = private_pool(UNIT_POOL), *pchild;
    clerk_claims_t *want = user_claims(UNIT_POOL, "user_1");
    clerk_token_cache_t *c = new_cache(UNIT_POOL, 16, &pchild);
    size_t before = live_json(), per, refs;
    clerk_claims_t *orig = user_claims(rp, "user_1");  /* the request's: rp owns its payload */
    clerk_cached_token_t *e, *got;
    json_t *copy;
    unsigned char key[KEY_LEN];

    per = copy_blocks(orig->payload);
    refs = refs_of(orig->payload);
    shard_key(key, 7, 1);
    assert_non_null(e = put(c, ID(key), 1, NOW + 60, orig, NULL));
    copy = clerk_cached_token_claims(e)->payload;
    assert_ptr_not_equal(copy, orig->payload);
    assert_json_copied(copy, orig->payload);
    assert_int_equal(refs_of(orig->payload), refs);     /* no reference on the request's */
    assert_int_equal(refs_of(copy), 1);                 /* the entry's alone */

    /* the request ends: its payload is freed, only the entry's copy is left */
    apr_pool_destroy(rp);
    assert_int_equal(live_json(), before + per);
    assert_true(json_equal(copy, want->payload));       /* ASan: no read of a freed block */
    unit_assert_str(clerk_json_string(copy, "sub"), "user_1");
    release(e);

    /* a later request gets the same copy, still whole */
    assert_non_null(got = get(c, ID(key), 1, NOW));
    assert_ptr_equal(clerk_cached_token_claims(got)->payload, copy);
    assert_true(json_equal(clerk_cached_token_claims(got)->payload, want->payload));
    release(got);
    assert_int_equal(live_json(), before + per);        /* released, still cached */
    apr_pool_destroy(pchild);
    assert_int_equal(live_json(), before);              /* the copy went with the entry */
}

/* ------------------------------------------------------------ generation, expiry */

/*
 * An entry belongs to the key set generation it was verified under: a get
 * under any other generation misses, and drops the entry (it can never be
 * right again once the key set was replaced).
 */
static void test_generation(void **state)
{
    clerk_token_cache_t *c = new_cache(UNIT_POOL, 16, NULL);
    clerk_claims_t *cl = user_claims(UNIT_POOL, "user_1");
    size_t per = copy_blocks(cl->payload), base = live_json();
    clerk_cached_token_t *e;
    unsigned char key[KEY_LEN];

    shard_key(key, 1, 1);
    assert_non_null(e = put(c, ID(key), 7, NOW + 60, cl, NULL));
    release(e);
    assert_int_equal(live_json(), base + per);
    /* a request still on an older key set misses, and leaves the newer entry alone */
    assert_null(get(c, ID(key), 6, NOW));
    assert_int_equal(clerk_token_cache_size(c), 1);
    assert_int_equal(live_json(), base + per);
    /* a newer key set: the entry is stale, dropped on the first miss */
    assert_null(get(c, ID(key), 8, NOW));
    assert_int_equal(clerk_token_cache_size(c), 0);
    assert_int_equal(live_json(), base);                /* ... and freed */
    assert_null(get(c, ID(key), 7, NOW));

    assert_non_null(e = put(c, ID(key), 7, NOW + 60, cl, NULL));
    release(e);
    assert_non_null(e = get(c, ID(key), 7, NOW));
    unit_assert_str(sub_of(e), "user_1");
    release(e);
}

/*
 * The module stores a token until exp + skew, and clerk_verify_token refuses
 * it from exactly then on (exp <= now - skew): a hit while now < expires_at,
 * a miss from now == expires_at.  So the cache never answers for a token the
 * verifier would refuse, and does answer for every second it would accept.
 */
static void test_expiry_boundary(void **state)
{
    char *token = unit_sign(UNIT_POOL, unit_fixture_private_key(UNIT_POOL), "RS256", HDR,
                            "{\"sub\":\"user_1\",\"iat\":1699999990,\"exp\":1700000060}");
    clerk_claims_t *cl = verified(UNIT_POOL, token);
    apr_int64_t until = cl->exp + SKEW;                 /* as mod_auth_clerk.c puts it */
    clerk_token_cache_t *c = new_cache(UNIT_POOL, 16, NULL);
    clerk_cached_token_t *e, *held;
    unsigned char key[KEY_LEN];

    /* the verifier's boundary */
    assert_int_equal(verify_at(UNIT_POOL, token, until - 1).reason, CLERK_OK);
    unit_assert_reason(verify_at(UNIT_POOL, token, until).reason, CLERK_TOKEN_EXPIRED);

    assert_int_equal(clerk_token_cache_key(token, strlen(token), "c", 1, key), 1);
    assert_non_null(held = put(c, ID(key), 1, until, cl, NULL));
    assert_non_null(e = get(c, ID(key), 1, NOW));
    release(e);
    assert_non_null(e = get(c, ID(key), 1, until - 1));
    release(e);
    assert_null(get(c, ID(key), 1, until));
    assert_int_equal(clerk_token_cache_size(c), 0);     /* an expired entry is dropped */
    assert_null(get(c, ID(key), 1, until - 1));
    /* a request that still holds it reads it to the end (ASan: no use-after-free) */
    unit_assert_str(sub_of(held), "user_1");
    release(held);

    /* long past expiry: still a miss (no wrap-around) */
    assert_non_null(held = put(c, ID(key), 1, until, cl, NULL));
    release(held);
    assert_null(get(c, ID(key), 1, until + 86400));
}

/* ------------------------------------------------------------ eviction */

/*
 * Many distinct tokens through a small cache: the size stays within the
 * capacity.  50 is no multiple of 16: a per-shard capacity rounded up
 * (4 each, 64 in all) would show here.
 */
static void test_size_bounded(void **state)
{
    const unsigned capacity = 50;
    clerk_token_cache_t *c = new_cache(UNIT_POOL, capacity, NULL);
    clerk_claims_t *cl = user_claims(UNIT_POOL, "user_1");
    size_t per = copy_blocks(cl->payload), base = live_json();
    unsigned hits = 0;

    for (unsigned i = 0; i < 2000; i++) {
        unsigned char key[KEY_LEN];
        char *token = apr_psprintf(UNIT_POOL, "token-%u", i);
        assert_int_equal(clerk_token_cache_key(token, strlen(token), "ctx", 3, key), 1);
        put_release(c, key, cl);
        assert_true(clerk_token_cache_size(c) <= capacity);
    }
    /* the table holds exactly its size in entries (one payload copy each) */
    assert_int_equal(live_json(), base + per * clerk_token_cache_size(c));
    /* 2000 keys fill every slot of every shard: used to the last entry */
    assert_int_equal(clerk_token_cache_size(c), capacity);
    for (unsigned i = 0; i < 2000; i++) {
        unsigned char key[KEY_LEN];
        char *token = apr_psprintf(UNIT_POOL, "token-%u", i);
        assert_int_equal(clerk_token_cache_key(token, strlen(token), "ctx", 3, key), 1);
        hits += (unsigned)present(c, key);
    }
    /* what is still there is what is counted; the rest was evicted */
    assert_int_equal(hits, clerk_token_cache_size(c));
}

/*
 * CLOCK, as clerk_token_cache_put does it: when the shard is full, the hand
 * skips (and clears) entries used since it last passed, and evicts the first
 * other one; the new entry takes the freed slot, with its bit set.  A get
 * sets the bit: a used entry gets a second chance that an unused one,
 * inserted after it, does not.  In one shard of 4 slots (ring positions):
 *
 *   put A B C D       [A B C D]  all bits set (a new entry counts as used)
 *   put E             the hand clears A..D, comes back to A: evicts A
 *                     [E B C D]  bits E=1, hand at 0
 *   get C             C=1
 *   put F             clears E, evicts B          [E F C D], hand at 1
 *   put G             clears F, clears C (second chance), evicts D
 *                     [E F C G]
 *
 * Without the bit get sets, G would have evicted C instead of D.
 */
static void test_clock_second_chance(void **state)
{
    clerk_token_cache_t *c = new_cache(UNIT_POOL, 4 * SHARDS, NULL);
    clerk_claims_t *cl = user_claims(UNIT_POOL, "user_1");
    unsigned char k[7][KEY_LEN];        /* A..G */
    clerk_cached_token_t *e;

    for (unsigned i = 0; i < 7; i++)
        shard_key(k[i], 5, i);          /* all in one shard */
    for (unsigned i = 0; i < 4; i++)
        put_release(c, k[i], cl);
    assert_int_equal(clerk_token_cache_size(c), 4);
    put_release(c, k[4], cl);           /* E */
    assert_int_equal(clerk_token_cache_size(c), 4);
    assert_non_null(e = get(c, ID(k[2]), 1, NOW));     /* C is used */
    release(e);
    put_release(c, k[5], cl);           /* F */
    put_release(c, k[6], cl);           /* G */
    assert_int_equal(clerk_token_cache_size(c), 4);

    /* checked last: a hit sets the bit */
    assert_true(present(c, k[2]));      /* C survived thanks to its use */
    assert_false(present(c, k[3]));     /* D, newer but unused, did not */
    assert_false(present(c, k[0]));
    assert_false(present(c, k[1]));
    assert_true(present(c, k[4]));
    assert_true(present(c, k[5]));
    assert_true(present(c, k[6]));
}

/* The control: the same sequence without the get evicts C, so the get is what saved it. */
static void test_clock_unused_is_evicted(void **state)
{
    clerk_token_cache_t *c = new_cache(UNIT_POOL, 4 * SHARDS, NULL);
    clerk_claims_t *cl = user_claims(UNIT_POOL, "user_1");
    unsigned char k[7][KEY_LEN];

    for (unsigned i = 0; i < 7; i++)
        shard_key(k[i], 5, i);
    for (unsigned i = 0; i < 7; i++)
        put_release(c, k[i], cl);
    assert_int_equal(clerk_token_cache_size(c), 4);
    assert_false(present(c, k[2]));     /* C */
    assert_true(present(c, k[3]));      /* D */
}

/* Shards are independent: a full shard evicts only its own entries. */
static void test_eviction_stays_in_its_shard(void **state)
{
    clerk_token_cache_t *c = new_cache(UNIT_POOL, 2 * SHARDS, NULL);
    clerk_claims_t *cl = user_claims(UNIT_POOL, "user_1");
    unsigned char other[KEY_LEN], k[KEY_LEN];

    shard_key(other, 9, 100);
    put_release(c, other, cl);
    for (unsigned i = 0; i < 50; i++) {
        shard_key(k, 2, i);
        put_release(c, k, cl);
    }
    assert_int_equal(clerk_token_cache_size(c), 3);     /* 2 in shard 2, 1 in shard 9 */
    assert_true(present(c, other));
}

/*
 * The capacity is exact, also when it is no multiple of the shard count or
 * smaller than it: with keys in every shard (key[0] and key[0] + 16 pick
 * the same one), the cache never holds more than capacity entries, each
 * shard keeps as many as it has slots, and a put into a shard without
 * slots stores nothing (NULL, no copy made or left behind).
 */
static void test_capacity_exact(void **state)
{
    static const unsigned capacities[] = {1, 4, 20, 33};
    clerk_claims_t *cl = user_claims(UNIT_POOL, "user_1");
    size_t per = copy_blocks(cl->payload);

    for (size_t ci = 0; ci < sizeof(capacities) / sizeof(capacities[0]); ci++) {
        const unsigned capacity = capacities[ci];
        apr_pool_t *pchild;
        clerk_token_cache_t *c = new_cache(UNIT_POOL, capacity, &pchild);
        size_t base = live_json();
        unsigned char key[KEY_LEN];
        unsigned total = 0, kept[SHARDS] = {0}, n_shards = shards_of(capacity);

        for (unsigned s = 0; s < n_shards; s++) {
            assert_true(shard_slots(capacity, s) >= 1);   /* every token can be cached */
            total += shard_slots(capacity, s);
        }
        assert_int_equal(total, capacity);              /* the rule itself adds up */

        for (unsigned n = 0; n < 6; n++)
            for (unsigned b = 0; b < 2 * SHARDS; b++) {
                clerk_cached_token_t *e;
                shard_key(key, (unsigned char)b, n);
                e = put(c, ID(key), 1, NOW + 60, cl, NULL);
                if (!e)
                    fail_msg("capacity %u: a put into shard %u failed", capacity, b % n_shards);
                release(e);
                if (clerk_token_cache_size(c) > capacity)
                    fail_msg("capacity %u: %u entries", capacity, clerk_token_cache_size(c));
            }
        /* at least 12 keys per shard: every slot is taken, and no more */
        assert_int_equal(clerk_token_cache_size(c), capacity);
        assert_int_equal(live_json(), base + per * capacity);
        for (unsigned n = 0; n < 6; n++)
            for (unsigned b = 0; b < 2 * SHARDS; b++) {
                shard_key(key, (unsigned char)b, n);
                kept[b % n_shards] += (unsigned)present(c, key);
            }
        for (unsigned s = 0; s < n_shards; s++)
            if (kept[s] != shard_slots(capacity, s))
                fail_msg("capacity %u: shard %u keeps %u entries, has %u slots", capacity, s,
                         kept[s], shard_slots(capacity, s));
        apr_pool_destroy(pchild);
        assert_int_equal(live_json(), base);
    }
}

/* ------------------------------------------------------------ refcounts */

/*
 * The process ends (pchild destroyed) while a request still holds an entry:
 * the cached ones are freed at once, the held one by its last release, and
 * the emptied cache answers misses without touching freed memory (ASan).
 */
static void test_entry_held_across_child_exit(void **state)
{
    apr_pool_t *pchild;
    clerk_token_cache_t *c = new_cache(UNIT_POOL, 32, &pchild);
    clerk_claims_t *cl = user_claims(UNIT_POOL, "user_1");
    size_t per = copy_blocks(cl->payload), base = live_json();
    clerk_cached_token_t *held, *other;
    unsigned char k1[KEY_LEN], k2[KEY_LEN];

    shard_key(k1, 1, 1);
    shard_key(k2, 2, 2);
    assert_non_null(held = put(c, ID(k1), 1, NOW + 60, cl, NULL));
    assert_non_null(other = put(c, ID(k2), 1, NOW + 60, cl, NULL));
    release(other);
    apr_pool_destroy(pchild);
    assert_int_equal(live_json(), base + per);          /* only the held entry is left */
    assert_int_equal(clerk_token_cache_size(c), 0);
    assert_null(get(c, ID(k1), 1, NOW));
    unit_assert_str(sub_of(held), "user_1");
    release(held);
    assert_int_equal(live_json(), base);
}

/* An entry a request holds outlives its eviction; the last release frees it. */
static void test_held_entry_survives_eviction(void **state)
{
    clerk_token_cache_t *c = new_cache(UNIT_POOL, SHARDS, NULL);     /* 1 slot per shard */
    clerk_claims_t *a = user_claims(UNIT_POOL, "user_a");
    clerk_claims_t *b = user_claims(UNIT_POOL, "user_b");
    size_t per = copy_blocks(a->payload), base = live_json();
    clerk_cached_token_t *held, *got;
    unsigned char ka[KEY_LEN], kb[KEY_LEN];

    assert_int_equal(copy_blocks(b->payload), per);
    shard_key(ka, 4, 1);
    shard_key(kb, 4, 2);
    assert_non_null(held = put(c, ID(ka), 1, NOW + 60, a, NULL));
    assert_non_null(got = get(c, ID(ka), 1, NOW));    /* a second holder */
    assert_ptr_equal(got, held);
    assert_int_equal(live_json(), base + per);          /* one entry, one copy */
    put_release(c, kb, b);                              /* evicts A: its only slot */
    assert_false(present(c, ka));
    assert_int_equal(clerk_token_cache_size(c), 1);

    /* evicted but held: still whole (ASan would see a freed block) */
    unit_assert_str(sub_of(held), "user_a");
    unit_assert_str(clerk_cached_token_claims(got)->sid, "sess_x");
    assert_int_equal(live_json(), base + 2 * per);      /* A (held) and B (cached) */
    release(got);
    unit_assert_str(sub_of(held), "user_a");
    unit_assert_str(clerk_json_string(clerk_cached_token_claims(held)->payload, "sub"), "user_a");
    assert_int_equal(live_json(), base + 2 * per);      /* one holder left */
    release(held);
    assert_int_equal(live_json(), base + per);          /* the last one freed A; B stays */
}

/* Releasing an entry the table still has keeps it cached. */
static void test_release_keeps_cached_entry(void **state)
{
    clerk_token_cache_t *c = new_cache(UNIT_POOL, SHARDS, NULL);
    clerk_claims_t *a = user_claims(UNIT_POOL, "user_a");
    size_t per = copy_blocks(a->payload), base = live_json();
    unsigned char ka[KEY_LEN];

    shard_key(ka, 4, 1);
    put_release(c, ka, a);
    for (int i = 0; i < 3; i++) {
        clerk_cached_token_t *e = get(c, ID(ka), 1, NOW);
        assert_non_null(e);
        unit_assert_str(sub_of(e), "user_a");
        release(e);
    }
    assert_int_equal(live_json(), base + per);          /* the entry and its copy live on */
    assert_int_equal(clerk_token_cache_size(c), 1);
}

/* A request's pool holds what the cache gave it: clearing the pool is the release. */
static void test_release_on_pool_clear(void **state)
{
    clerk_token_cache_t *c = new_cache(UNIT_POOL, SHARDS, NULL);
    clerk_claims_t *a = user_claims(UNIT_POOL, "user_a");
    clerk_claims_t *b = user_claims(UNIT_POOL, "user_b");
    size_t per = copy_blocks(a->payload), base = live_json();
    clerk_cached_token_t *e;
    unsigned char ka[KEY_LEN], kb[KEY_LEN];
    apr_pool_t *rp;

    assert_int_equal(apr_pool_create(&rp, UNIT_POOL), APR_SUCCESS);
    assert_int_equal(copy_blocks(b->payload), per);
    shard_key(ka, 6, 1);
    shard_key(kb, 6, 2);

    /* held by a request while it is evicted: freed when the request ends */
    assert_non_null(e = clerk_token_cache_put(c, ID(ka), 1, NOW + 60, a, NULL, rp));
    put_release(c, kb, b);                              /* evicts A */
    assert_false(present(c, ka));
    unit_assert_str(sub_of(e), "user_a");
    assert_int_equal(live_json(), base + 2 * per);      /* A (held by the request) and B */
    apr_pool_clear(rp);
    assert_int_equal(live_json(), base + per);          /* A freed with the request */

    /* held by a request while cached: the request's end leaves the table's reference */
    assert_non_null(e = clerk_token_cache_get(c, ID(kb), 1, NOW, rp));
    apr_pool_clear(rp);
    assert_true(present(c, kb));
    assert_int_equal(live_json(), base + per);          /* B not freed */
    apr_pool_destroy(rp);
}

/* ------------------------------------------------------------ fronts */

/*
 * The thread stripes' fronts: a token found in the table is found next in
 * this thread's front, the same entry, and the front gives it out only
 * while the table would: not once expired, not under another generation.
 * Each check here fails if the front's own check is removed (the front
 * would hand out its entry).
 */
static void test_front_serves_what_the_table_would(void **state)
{
    clerk_token_cache_t *c = new_cache(UNIT_POOL, 16, NULL);
    clerk_claims_t *cl = user_claims(UNIT_POOL, "user_1");
    size_t per = copy_blocks(cl->payload), base = live_json();
    clerk_cached_token_t *stored, *first, *again;
    unsigned char key[KEY_LEN];

    shard_key(key, 3, 1);
    assert_non_null(stored = put(c, ID(key), 7, NOW + 60, cl, NULL));
    release(stored);
    assert_int_equal(clerk_token_cache_front_size(c), 0);   /* stored, never found */
    assert_non_null(first = get(c, ID(key), 7, NOW));
    assert_int_equal(clerk_token_cache_front_size(c), 1);   /* found: the front has it */
    assert_non_null(again = get(c, ID(key), 7, NOW));
    assert_ptr_equal(again, first);
    assert_ptr_equal(again, stored);
    release(first);
    release(again);
    assert_int_equal(live_json(), base + per);              /* one entry, no copy */

    /* a request on the previous key set: a miss, and the entry stays in both */
    assert_null(get(c, ID(key), 6, NOW));
    assert_int_equal(clerk_token_cache_front_size(c), 1);
    /* the last second of its life, then expired: the front refuses it, the table drops it */
    assert_non_null(first = get(c, ID(key), 7, NOW + 59));
    release(first);
    assert_null(get(c, ID(key), 7, NOW + 60));
    assert_int_equal(clerk_token_cache_front_size(c), 0);
    assert_int_equal(clerk_token_cache_size(c), 0);
    assert_int_equal(live_json(), base);                    /* freed: no front keeps it */

    /* a newer key set: stale in the front too */
    assert_non_null(stored = put(c, ID(key), 7, NOW + 60, cl, NULL));
    release(stored);
    assert_true(present_gen(c, key, 7));
    assert_int_equal(clerk_token_cache_front_size(c), 1);
    assert_null(get(c, ID(key), 8, NOW));
    assert_int_equal(clerk_token_cache_front_size(c), 0);
    assert_int_equal(live_json(), base);
}

/*
 * An entry leaves the fronts when it leaves the table: evicted while no
 * request holds it, it is freed at once; held through a front, it is freed
 * by that hold's release, and never given out again meanwhile.
 */
static void test_front_follows_the_table(void **state)
{
    clerk_token_cache_t *c = new_cache(UNIT_POOL, SHARDS, NULL);     /* 1 slot per shard */
    clerk_claims_t *a = user_claims(UNIT_POOL, "user_a");
    clerk_claims_t *b = user_claims(UNIT_POOL, "user_b");
    size_t per = copy_blocks(a->payload), base = live_json();
    clerk_cached_token_t *held;
    unsigned char ka[KEY_LEN], kb[KEY_LEN];

    shard_key(ka, 9, 1);
    shard_key(kb, 9, 2);
    put_release(c, ka, a);
    assert_true(present(c, ka));
    assert_int_equal(clerk_token_cache_front_size(c), 1);
    put_release(c, kb, b);                                  /* evicts A */
    assert_int_equal(clerk_token_cache_front_size(c), 0);
    assert_int_equal(live_json(), base + per);              /* A freed, B cached */

    /* B found (fronted), then held through the front, then evicted by A */
    assert_true(present(c, kb));
    assert_non_null(held = get(c, ID(kb), 1, NOW));
    assert_int_equal(clerk_token_cache_front_size(c), 1);
    put_release(c, ka, a);                                  /* evicts B */
    assert_int_equal(clerk_token_cache_front_size(c), 0);   /* dead: not given out */
    assert_false(present(c, kb));
    unit_assert_str(sub_of(held), "user_b");                /* but whole for its holder */
    assert_int_equal(live_json(), base + 2 * per);
    release(held);
    assert_int_equal(live_json(), base + per);              /* the hold's end freed B */
    assert_true(present(c, ka));
}

/*
 * A front whose every slot a request uses takes nothing new (no slot in
 * use is ever reused): the token is served from the table instead, and
 * once a slot is free again the next find takes it.
 */
static void test_front_full_of_uses(void **state)
{
    apr_pool_t *pchild;
    clerk_token_cache_t *c = new_cache(UNIT_POOL, 4 * SHARDS, &pchild);
    clerk_claims_t *cl = user_claims(UNIT_POOL, "user_1");
    size_t per = copy_blocks(cl->payload), base = live_json();
    clerk_cached_token_t *held[8], *e;
    unsigned char k[9][KEY_LEN];

    for (unsigned i = 0; i < 9; i++) {
        shard_key(k[i], (unsigned char)i, i);
        put_release(c, k[i], cl);
    }
    for (unsigned i = 0; i < 8; i++) {
        assert_true(present(c, k[i]));                      /* into the front */
        assert_non_null(held[i] = get(c, ID(k[i]), 1, NOW));    /* a use of its slot */
    }
    assert_int_equal(clerk_token_cache_front_size(c), 8);
    for (int round = 0; round < 2; round++) {
        assert_non_null(e = get(c, ID(k[8]), 1, NOW));      /* from the table, each time */
        unit_assert_str(sub_of(e), "user_1");
        release(e);
        assert_int_equal(clerk_token_cache_front_size(c), 8);
    }
    /*
     * Had a slot in use been taken, its holder's entry would have lost the
     * front's reference: evicted now, it would be freed under its holder.
     */
    for (unsigned i = 0; i < 8; i++)
        for (unsigned j = 0; j < 8; j++) {
            unsigned char filler[KEY_LEN];
            shard_key(filler, (unsigned char)i, 100 + j);
            put_release(c, filler, cl);
        }
    for (unsigned i = 0; i < 8; i++)
        assert_false(present(c, k[i]));
    assert_int_equal(live_json(), base + (8 + clerk_token_cache_size(c)) * per);
    for (unsigned i = 0; i < 8; i++)
        unit_assert_str(sub_of(held[i]), "user_1");         /* whole for their holders */
    assert_int_equal(clerk_token_cache_front_size(c), 0);   /* all dead, all in use */
    release(held[3]);                                       /* frees its entry and slot */
    assert_int_equal(live_json(), base + (7 + clerk_token_cache_size(c)) * per);
    assert_true(present(c, k[8]));                          /* takes the free slot */
    assert_int_equal(clerk_token_cache_front_size(c), 1);
    for (unsigned i = 0; i < 8; i++)
        if (i != 3)
            release(held[i]);
    assert_int_equal(live_json(), base + clerk_token_cache_size(c) * per);
    apr_pool_destroy(pchild);
    assert_int_equal(live_json(), base);
}

/*
 * The CLOCK bit of a front hit: as test_clock_second_chance, but C's use
 * after the hand cleared its bit is a front hit.  Without the bit the front
 * sets, G would evict C instead of D.
 */
static void test_front_hit_is_a_use(void **state)
{
    clerk_token_cache_t *c = new_cache(UNIT_POOL, 4 * SHARDS, NULL);
    clerk_claims_t *cl = user_claims(UNIT_POOL, "user_1");
    unsigned char k[7][KEY_LEN];        /* A..G */

    for (unsigned i = 0; i < 7; i++)
        shard_key(k[i], 5, i);
    for (unsigned i = 0; i < 4; i++)
        put_release(c, k[i], cl);
    assert_true(present(c, k[2]));      /* C into the front */
    put_release(c, k[4], cl);           /* E: the hand clears A..D, evicts A */
    assert_int_equal(clerk_token_cache_front_size(c), 1);
    assert_true(present(c, k[2]));      /* C used, through the front */
    put_release(c, k[5], cl);           /* F: evicts B */
    put_release(c, k[6], cl);           /* G: C's second chance, evicts D */
    assert_true(present(c, k[2]));
    assert_false(present(c, k[3]));
}

/* Handing a hold to another thread: the pool of a request ends there (event MPM). */
typedef struct {
    apr_pool_t *request;
} handover_t;

static void *APR_THREAD_FUNC end_request(apr_thread_t *t, void *data)
{
    handover_t *h = data;
    (void)t;
    apr_pool_destroy(h->request);
    return NULL;
}

/*
 * A request's pool may be cleared on another thread than the one that got
 * the entry (the event MPM finishes writing a response on any worker): the
 * front's use is given back there, under the stripe's lock (TSan sees the
 * order), and the entry is still freed exactly once, with its last hold.
 */
static void test_front_release_on_another_thread(void **state)
{
    clerk_token_cache_t *c = new_cache(UNIT_POOL, SHARDS, NULL);
    clerk_claims_t *a = user_claims(UNIT_POOL, "user_a");
    clerk_claims_t *b = user_claims(UNIT_POOL, "user_b");
    size_t per = copy_blocks(a->payload), base = live_json();
    unsigned char ka[KEY_LEN], kb[KEY_LEN];
    apr_uint32_t go = 0;
    handover_t h[2];

    shard_key(ka, 2, 1);
    shard_key(kb, 2, 2);
    put_release(c, ka, a);
    assert_true(present(c, ka));
    for (int i = 0; i < 2; i++) {
        h[i].request = request_pool();
        assert_non_null(clerk_token_cache_get(c, ID(ka), 1, NOW, h[i].request));
    }
    put_release(c, kb, b);                                  /* evicts A, held twice */
    assert_int_equal(live_json(), base + 2 * per);
    unit_run_threads(UNIT_POOL, 2, end_request, h, sizeof(h[0]), &go);
    assert_int_equal(live_json(), base + per);              /* A freed by the last of them */
    assert_int_equal(clerk_token_cache_front_size(c), 0);
}

/*
 * The process ends while a request holds an entry through a front: the
 * front's other slots give their references back, the one in use gives it
 * back with its release, and nothing is left.
 */
static void test_front_held_across_child_exit(void **state)
{
    apr_pool_t *pchild;
    clerk_token_cache_t *c = new_cache(UNIT_POOL, 32, &pchild);
    clerk_claims_t *cl = user_claims(UNIT_POOL, "user_1");
    size_t per = copy_blocks(cl->payload), base = live_json();
    clerk_cached_token_t *held;
    unsigned char k1[KEY_LEN], k2[KEY_LEN];

    shard_key(k1, 1, 1);
    shard_key(k2, 2, 2);
    put_release(c, k1, cl);
    put_release(c, k2, cl);
    assert_true(present(c, k1));
    assert_true(present(c, k2));
    assert_non_null(held = get(c, ID(k1), 1, NOW));         /* through the front */
    assert_int_equal(clerk_token_cache_front_size(c), 2);
    apr_pool_destroy(pchild);
    assert_int_equal(live_json(), base + per);              /* only the held entry is left */
    assert_int_equal(clerk_token_cache_front_size(c), 0);
    assert_null(get(c, ID(k1), 1, NOW));
    unit_assert_str(sub_of(held), "user_1");
    release(held);
    assert_int_equal(live_json(), base);
}

/* ------------------------------------------------------------ same key twice */

/*
 * A second put of a key (two requests verified the same token at once)
 * replaces the entry: later gets see the second one, the size counts one,
 * and a request holding the first one still reads it until it releases it.
 */
static void test_put_same_key_replaces(void **state)
{
    clerk_token_cache_t *c = new_cache(UNIT_POOL, 2 * SHARDS, NULL);    /* 2 slots per shard */
    clerk_claims_t *one = user_claims(UNIT_POOL, "user_one");
    clerk_claims_t *two = user_claims(UNIT_POOL, "user_two");
    clerk_claims_t *other = user_claims(UNIT_POOL, "user_other");
    size_t per = copy_blocks(one->payload), base = live_json();
    clerk_cached_token_t *first, *second, *e;
    unsigned char k[KEY_LEN], ko[KEY_LEN];

    assert_int_equal(copy_blocks(two->payload), per);
    assert_int_equal(copy_blocks(other->payload), per);
    shard_key(k, 8, 1);
    shard_key(ko, 8, 2);
    put_release(c, ko, other);                          /* the shard is now full with k */
    assert_non_null(first = put(c, ID(k), 1, NOW + 60, one, NULL));
    assert_int_equal(clerk_token_cache_size(c), 2);
    assert_non_null(second = put(c, ID(k), 1, NOW + 60, two, NULL));
    assert_ptr_not_equal(first, second);
    assert_int_equal(live_json(), base + 3 * per);      /* other, first (held), second */
    /* replaced in place: the full shard did not evict the other key for it */
    assert_int_equal(clerk_token_cache_size(c), 2);
    assert_true(present(c, ko));

    assert_non_null(e = get(c, ID(k), 1, NOW));
    assert_ptr_equal(e, second);
    unit_assert_str(sub_of(e), "user_two");
    release(e);

    unit_assert_str(sub_of(first), "user_one");         /* the old one, still held */
    assert_int_equal(live_json(), base + 3 * per);
    release(first);
    assert_int_equal(live_json(), base + 2 * per);      /* out of the table: freed */
    release(second);
    assert_int_equal(live_json(), base + 2 * per);      /* still cached */

    /* a later put under a new generation replaces too: second is freed, its successor kept */
    assert_non_null(e = put(c, ID(k), 2, NOW + 60, one, NULL));
    release(e);
    assert_int_equal(live_json(), base + 2 * per);
    assert_int_equal(clerk_token_cache_size(c), 2);
    assert_non_null(e = get(c, ID(k), 2, NOW));
    unit_assert_str(sub_of(e), "user_one");
    release(e);
}

/* ------------------------------------------------------------ ids: the bytes an entry is for */

#define TAIL CLERK_TOKEN_CACHE_SLOT_TAIL

static clerk_cached_token_t *put_id(apr_pool_t *p, clerk_token_cache_t *c,
                                    const clerk_token_cache_id_t *id, const char *sub)
{
    return put(c, id, 1, NOW + 60, user_claims(p, sub), NULL);
}

static int id_present(clerk_token_cache_t *c, const clerk_token_cache_id_t *id)
{
    return found_under(c, id, 1);
}

/*
 * A slot key covers the token's length, its last TAIL bytes and the
 * context, and nothing else of the token: two tokens that differ only
 * before their tail get the same key (the entry's bytes tell them apart,
 * test_entry_only_for_identical_token).
 */
static void test_cache_id(void **state)
{
    const char ctx1[24] = "context-one", ctx2[24] = "context-two";
    char t[100], u[100];
    unsigned char k1[16], k2[16], zero[16] = {0};
    clerk_token_cache_id_t a, b;

    memset(t, 'x', sizeof(t));
    memcpy(u, t, sizeof(u));
    assert_int_equal(clerk_token_cache_id(&a, k1, t, sizeof(t), ctx1, sizeof(ctx1)), 1);
    assert_ptr_equal(a.key, k1);
    assert_ptr_equal(a.token, t);
    assert_int_equal(a.len, sizeof(t));
    assert_ptr_equal(a.context, ctx1);
    assert_int_equal(a.context_len, sizeof(ctx1));
    assert_memory_not_equal(k1, zero, 16);
    assert_int_equal(clerk_token_cache_id(&b, k2, u, sizeof(u), ctx1, sizeof(ctx1)), 1);
    assert_memory_equal(k1, k2, 16);                    /* same bytes, same key */

    u[sizeof(u) - TAIL - 1] = 'y';                      /* before the tail: not covered */
    assert_int_equal(clerk_token_cache_id(&b, k2, u, sizeof(u), ctx1, sizeof(ctx1)), 1);
    assert_memory_equal(k1, k2, 16);
    u[sizeof(u) - TAIL] = 'y';                          /* the tail's first byte */
    assert_int_equal(clerk_token_cache_id(&b, k2, u, sizeof(u), ctx1, sizeof(ctx1)), 1);
    assert_memory_not_equal(k1, k2, 16);
    assert_int_equal(clerk_token_cache_id(&b, k2, t + 1, sizeof(t) - 1, ctx1, sizeof(ctx1)), 1);
    assert_memory_not_equal(k1, k2, 16);                /* same tail, another length */
    assert_int_equal(clerk_token_cache_id(&b, k2, t, sizeof(t), ctx2, sizeof(ctx2)), 1);
    assert_memory_not_equal(k1, k2, 16);                /* another context */
    assert_int_equal(clerk_token_cache_id(&b, k2, t, sizeof(t), ctx1, sizeof(ctx1) - 1), 1);
    assert_memory_not_equal(k1, k2, 16);                /* a shorter context */
    /* a token shorter than the tail is all covered */
    assert_int_equal(clerk_token_cache_id(&a, k1, "ab", 2, ctx1, sizeof(ctx1)), 1);
    assert_int_equal(clerk_token_cache_id(&b, k2, "ac", 2, ctx1, sizeof(ctx1)), 1);
    assert_memory_not_equal(k1, k2, 16);
}

/*
 * Two JWTs with the same signature segment and payloads of the same length
 * have the same slot key; a lookup with one never returns the other's
 * entry, nor one for a token that differs in its first byte.
 */
static void test_entry_only_for_identical_token(void **state)
{
    EVP_PKEY *priv = unit_fixture_private_key(UNIT_POOL);
    const char *ctx = "verification context";
    char *a = unit_sign(UNIT_POOL, priv, "RS256", HDR, "{\"sub\":\"user_a\"}");
    char *b = unit_sign(UNIT_POOL, priv, "RS256", HDR, "{\"sub\":\"user_b\"}");
    char *first = apr_pstrdup(UNIT_POOL, a);
    clerk_token_cache_t *c = new_cache(UNIT_POOL, 64, NULL);
    unsigned char ka[16], kb[16], kf[16];
    clerk_token_cache_id_t ia, ib, i_first;
    clerk_cached_token_t *e;

    /* b with a's signature: another payload, the same tail */
    memcpy(strrchr(b, '.'), strrchr(a, '.'), strlen(strrchr(a, '.')));
    assert_int_equal(strlen(a), strlen(b));
    assert_string_not_equal(a, b);
    first[0] ^= 1;
    assert_true(clerk_token_cache_id(&ia, ka, a, strlen(a), ctx, strlen(ctx)));
    assert_true(clerk_token_cache_id(&ib, kb, b, strlen(b), ctx, strlen(ctx)));
    assert_true(clerk_token_cache_id(&i_first, kf, first, strlen(first), ctx, strlen(ctx)));
    assert_memory_equal(ka, kb, 16);
    assert_memory_equal(ka, kf, 16);

    assert_non_null(e = put_id(UNIT_POOL, c, &ia, "user_a"));
    release(e);
    assert_false(id_present(c, &ib));
    assert_false(id_present(c, &i_first));
    assert_true(id_present(c, &ia));
    /* both can be cached side by side, each returned for itself */
    assert_non_null(e = put_id(UNIT_POOL, c, &ib, "user_b"));
    release(e);
    assert_int_equal(clerk_token_cache_size(c), 2);
    assert_non_null(e = get(c, &ia, 1, NOW));
    unit_assert_str(sub_of(e), "user_a");
    release(e);
    assert_non_null(e = get(c, &ib, 1, NOW));
    unit_assert_str(sub_of(e), "user_b");
    release(e);
}

/*
 * Under the same key (as when contexts or lengths collide in it), an entry
 * is returned only for its own context and token, byte for byte and length
 * for length: not for another context, nor for a prefix of either.
 */
static void test_entry_only_for_its_bytes(void **state)
{
    const char ctx[] = "context-A", other[] = "context-B", token[] = "tok.en.signature";
    unsigned char key[16];
    clerk_token_cache_t *c = new_cache(UNIT_POOL, 64, NULL);
    clerk_token_cache_id_t id, probe;
    clerk_cached_token_t *e;

    assert_true(clerk_token_cache_id(&id, key, token, strlen(token), ctx, sizeof(ctx)));
    assert_non_null(e = put_id(UNIT_POOL, c, &id, "user_a"));
    release(e);
    assert_true(id_present(c, &id));
    /* found in the table: the front has it, and is asked first by every probe below */
    assert_int_equal(clerk_token_cache_front_size(c), 1);

    probe = id;
    probe.context = other;                              /* the same length, one byte off */
    assert_false(id_present(c, &probe));
    probe = id;
    probe.context_len--;                                /* a prefix of the context */
    assert_false(id_present(c, &probe));
    probe = id;
    probe.len--;                                        /* a prefix of the token */
    assert_false(id_present(c, &probe));
    probe = id;
    probe.token = "tok.en.signaturE";
    assert_false(id_present(c, &probe));
    /* the same bytes elsewhere in memory are the same entry */
    probe = id;
    probe.token = apr_pstrdup(UNIT_POOL, token);
    probe.context = apr_pmemdup(UNIT_POOL, ctx, sizeof(ctx));
    assert_true(id_present(c, &probe));
}

/* An entry holds a copy of its bytes: the caller's buffers may change or go. */
static void test_entry_copies_its_bytes(void **state)
{
    char *token = strdup("tok.en.signature-of-some-length-longer-than-the-tail");
    char *ctx = strdup("a context");
    unsigned char key[16];
    clerk_token_cache_t *c = new_cache(UNIT_POOL, 64, NULL);
    clerk_token_cache_id_t id, probe;
    clerk_cached_token_t *e;

    assert_non_null(token);
    assert_non_null(ctx);
    assert_true(clerk_token_cache_id(&id, key, token, strlen(token), ctx, strlen(ctx) + 1));
    assert_non_null(e = put_id(UNIT_POOL, c, &id, "user_a"));
    release(e);
    probe = id;
    probe.token = apr_pstrdup(UNIT_POOL, token);
    probe.context = apr_pstrdup(UNIT_POOL, ctx);
    memset(token, 'z', strlen(token));
    memset(ctx, 'z', strlen(ctx));
    assert_false(id_present(c, &id));                   /* the scribbled bytes: not it */
    free(token);                                        /* under ASan: no read of them */
    free(ctx);
    assert_true(id_present(c, &probe));
}

/* What an entry copies is bounded: longer tokens (contexts) are not cached. */
static void test_oversized_not_cached(void **state)
{
    apr_size_t n = CLERK_TOKEN_CACHE_MAX_TOKEN + 1, m = CLERK_TOKEN_CACHE_MAX_CONTEXT + 1;
    char *big = apr_palloc(UNIT_POOL, n), *ctx = apr_palloc(UNIT_POOL, m);
    unsigned char key[16];
    clerk_token_cache_t *c = new_cache(UNIT_POOL, 64, NULL);
    clerk_token_cache_id_t id;
    clerk_cached_token_t *e;

    memset(big, 't', n);
    memset(ctx, 'c', m);
    assert_true(clerk_token_cache_id(&id, key, big, n, "ctx", 3));
    assert_null(put_id(UNIT_POOL, c, &id, "user_a"));
    assert_int_equal(clerk_token_cache_size(c), 0);
    assert_false(id_present(c, &id));
    assert_true(clerk_token_cache_id(&id, key, "tok", 3, ctx, m));
    assert_null(put_id(UNIT_POOL, c, &id, "user_a"));
    assert_int_equal(clerk_token_cache_size(c), 0);
    /* at the bounds: cached */
    assert_true(clerk_token_cache_id(&id, key, big, n - 1, ctx, m - 1));
    assert_non_null(e = put_id(UNIT_POOL, c, &id, "user_a"));
    release(e);
    assert_int_equal(clerk_token_cache_size(c), 1);
    assert_true(id_present(c, &id));
}

/* The doorkeeper, asked by id: a token is admitted the second time its id is seen. */
static void test_admit_by_id(void **state)
{
    unsigned char k1[16], k2[16];
    clerk_token_cache_t *c = new_cache(UNIT_POOL, 64, NULL);
    clerk_token_cache_id_t a, b;

    assert_true(clerk_token_cache_id(&a, k1, "token-one", 9, "ctx", 3));
    assert_true(clerk_token_cache_id(&b, k2, "token-two", 9, "ctx", 3));
    assert_int_equal(clerk_token_cache_admit(c, &a), 0);
    assert_int_equal(clerk_token_cache_admit(c, &a), 1);
    assert_int_equal(clerk_token_cache_admit(c, &b), 0);
    assert_int_equal(clerk_token_cache_admit(c, &b), 1);
}

/* ------------------------------------------------------------ threads */

#define STRESS_THREADS 8
#define STRESS_KEYS 96              /* over twice the capacity: constant eviction */
#define STRESS_CAPACITY (2 * SHARDS + 5)    /* uneven: shards 0-4 have 3 slots, the others 2 */
#define STRESS_ROUNDS 4000

/*
 * Payloads are stored as the module stores them: owned by the request pool
 * (clerk_json_parse_object) and dropped when it is cleared, after the entry
 * is released.  The entry owns a deep copy, so the request's reference and
 * the entry's never meet.
 */
typedef struct {
    clerk_token_cache_t *c;
    unsigned char (*keys)[KEY_LEN];
    int nvars;                      /* variables a model of the stress payload has */
    volatile apr_uint32_t *go;
    unsigned seed;
    int hits, puts, bad;
} stress_t;

static const char *stress_payload(apr_pool_t *p, unsigned k)
{
    return apr_psprintf(p,
                        "{\"sub\":\"user_%u\",\"sid\":\"sess_%u\",\"exp\":%d,\"iat\":%d,"
                        "\"org_id\":\"org_%u\",\"org_slug\":\"slug-%u\",\"org_role\":\"org:admin\","
                        "\"org_permissions\":[\"org:p:%u\",\"org:q:%u\"]}",
                        k, k, NOW + 60, NOW - 10, k, k, k, k);
}

static const char *var_value(const apr_array_header_t *vars, const char *env)
{
    for (int i = 0; i < vars->nelts; i++)
        if (!strcmp(APR_ARRAY_IDX(vars, i, clerk_var_t).env, env))
            return APR_ARRAY_IDX(vars, i, clerk_var_t).value;
    return NULL;
}

static int streq(const char *a, const char *b)
{
    return a && b && !strcmp(a, b);
}

/* Every part of the entry is the one its key encodes (no cmocka asserts off the main thread). */
static int entry_is(apr_pool_t *p, const clerk_cached_token_t *e, unsigned k, int nvars)
{
    const clerk_claims_t *cl = clerk_cached_token_claims(e);
    const apr_array_header_t *vars = clerk_cached_token_vars(e);
    const char *user = apr_psprintf(p, "user_%u", k);

    return streq(cl->sub, user) && streq(cl->user_id, user)
           && streq(cl->sid, apr_psprintf(p, "sess_%u", k))
           && streq(cl->org.id, apr_psprintf(p, "org_%u", k))
           && streq(cl->org.slug, apr_psprintf(p, "slug-%u", k))
           && streq(cl->org.role, "org:admin") && cl->org.permissions
           && cl->org.permissions->nelts == 2
           && streq(APR_ARRAY_IDX(cl->org.permissions, 0, const char *),
                    apr_psprintf(p, "org:p:%u", k))
           && streq(APR_ARRAY_IDX(cl->org.permissions, 1, const char *),
                    apr_psprintf(p, "org:q:%u", k))
           && cl->exp == NOW + 60 && cl->iat == NOW - 10 && cl->has_iat
           && streq(clerk_json_string(cl->payload, "sub"), user)
           && vars && vars->nelts == nvars
           && streq(var_value(vars, "CLERK_USER_ID"), user)
           && streq(var_value(vars, "CLERK_ORG_PERMISSIONS"),
                    apr_psprintf(p, "org:p:%u,org:q:%u", k, k))
           && streq(var_value(vars, "CLERK_CLAIMS"), stress_payload(p, k));
}

static void *APR_THREAD_FUNC stresser(apr_thread_t *t, void *data)
{
    stress_t *s = data;
    apr_pool_t *tp, *rp;

    /* a pool of its own (own allocator): the thread's "connection", rp its requests */
    if (apr_pool_create_unmanaged_ex(&tp, NULL, NULL) != APR_SUCCESS
        || apr_pool_create(&rp, tp) != APR_SUCCESS) {
        s->bad++;
        return NULL;
    }
    unit_wait_for(s->go);
    for (int i = 0; i < STRESS_ROUNDS; i++) {
        unsigned k;
        /* 1 in 64 rounds asks under the next key set generation, 1 in 97 at a late clock */
        apr_uint64_t gen = (i % 64 == 63) ? 2 : 1;
        apr_int64_t now = (i % 97 == 96) ? NOW + 3600 : NOW;
        clerk_cached_token_t *e;

        s->seed = s->seed * 1103515245u + 12345u;
        k = (s->seed >> 8) % STRESS_KEYS;
        if ((e = clerk_token_cache_get(s->c, ID(s->keys[k]), gen, now, rp)))
            s->hits++;
        else {
            /* a miss: "verify" (parse into rp, build the model and its variables) and store */
            const char *json = stress_payload(rp, k), *err, *detail;
            json_t *payload = clerk_json_parse_object(rp, json, strlen(json), &err);
            clerk_claims_t *cl = NULL;
            if (!payload || clerk_claims_build(rp, payload, CLERK_TYPE_SESSION, &cl, &detail)
                                != CLERK_OK) {
                s->bad++;
                break;
            }
            e = clerk_token_cache_put(s->c, ID(s->keys[k]), gen, NOW + 60, cl,
                                      clerk_export_vars(rp, cl), rp);
            if (!e) {
                s->bad++;
                break;
            }
            if (clerk_cached_token_claims(e)->payload == payload)
                s->bad++;                   /* the request's own json_t, not a copy */
            s->puts++;
        }
        if (!entry_is(rp, e, k, s->nvars))
            s->bad++;
        /*
         * The request ends: its hold goes before rp's payload does (the
         * hold's cleanup is registered after the parse's, so it runs
         * first), while other threads may free the entry.
         */
        apr_pool_clear(rp);
    }
    apr_pool_destroy(tp);
    return NULL;
}

/*
 * 8 threads get, put and release overlapping keys in a cache over twice
 * too small: every entry read whole and right, nothing freed under a reader
 * (ASan/TSan), the size within the capacity, every entry freed at the end.
 * Without the locks child_init makes, TSan reports races here.
 */
static void test_thread_stress(void **state)
{
    apr_pool_t *pchild;
    clerk_token_cache_t *c = new_cache(UNIT_POOL, STRESS_CAPACITY, &pchild);
    unsigned char (*keys)[KEY_LEN] = apr_palloc(UNIT_POOL, STRESS_KEYS * KEY_LEN);
    const char *ctx = "stress";
    volatile apr_uint32_t go = 0;
    stress_t s[STRESS_THREADS];
    int hits = 0, puts = 0;
    int nvars;
    size_t per;
    unsigned cached;

    for (unsigned k = 0; k < STRESS_KEYS; k++) {
        char *token = apr_psprintf(UNIT_POOL, "eyJ.token-%u.sig", k);
        assert_int_equal(clerk_token_cache_key(token, strlen(token), ctx, strlen(ctx), keys[k]),
                         1);
    }
    {
        /* the expected variable count, and jansson's hash seed set before the threads */
        clerk_claims_t *cl = unit_claims(UNIT_POOL, stress_payload(UNIT_POOL, 0), CLERK_TYPE_SESSION);
        nvars = clerk_export_vars(UNIT_POOL, cl)->nelts;
        assert_true(nvars >= 8);
        per = copy_blocks(cl->payload);     /* the same for every key: same shape */
    }
    for (int i = 0; i < STRESS_THREADS; i++) {
        s[i] = (stress_t){.c = c, .keys = keys, .nvars = nvars, .go = &go,
                          .seed = 2654435761u * (unsigned)(i + 1)};
    }
    unit_run_threads(UNIT_POOL, STRESS_THREADS, stresser, s, sizeof(s[0]), &go);
    for (int i = 0; i < STRESS_THREADS; i++) {
        assert_int_equal(s[i].bad, 0);
        assert_int_equal(s[i].hits + s[i].puts, STRESS_ROUNDS);
        hits += s[i].hits;
        puts += s[i].puts;
    }
    cached = clerk_token_cache_size(c);
    print_message("token cache stress: %d hits, %d puts, %u cached\n", hits, puts, cached);
    assert_true(cached <= STRESS_CAPACITY);
    assert_true(hits > 0);
    assert_true(puts > STRESS_KEYS);                    /* entries were evicted and stored again */
    /* every key still cached reads right from here too */
    for (unsigned k = 0; k < STRESS_KEYS; k++) {
        clerk_cached_token_t *e = get(c, ID(keys[k]), 1, NOW);
        if (e) {
            assert_true(entry_is(UNIT_POOL, e, k, nvars));
            release(e);
        }
    }
    {
        /*
         * The child exits: the table's entries go, each with its copy (and
         * ASan's leak check).  Counted again: the gets above drop entries of
         * generation 2.
         */
        size_t live = live_json();
        cached = clerk_token_cache_size(c);
        apr_pool_destroy(pchild);
        assert_int_equal(live - live_json(), (size_t)cached * per);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_create_and_child_init),
        UNIT_TEST(test_entry_held_across_child_exit),
        UNIT_TEST(test_digest),
        UNIT_TEST(test_cache_key),
        UNIT_TEST(test_cache_key_context_boundary),
        UNIT_TEST(test_cache_key_per_thread),
        UNIT_TEST(test_put_get_frozen_copy),
        UNIT_TEST(test_put_m2m_scopes),
        UNIT_TEST(test_payload_is_a_copy),
        UNIT_TEST(test_generation),
        UNIT_TEST(test_expiry_boundary),
        UNIT_TEST(test_size_bounded),
        UNIT_TEST(test_clock_second_chance),
        UNIT_TEST(test_clock_unused_is_evicted),
        UNIT_TEST(test_eviction_stays_in_its_shard),
        UNIT_TEST(test_capacity_exact),
        UNIT_TEST(test_held_entry_survives_eviction),
        UNIT_TEST(test_release_keeps_cached_entry),
        UNIT_TEST(test_release_on_pool_clear),
        UNIT_TEST(test_front_serves_what_the_table_would),
        UNIT_TEST(test_front_follows_the_table),
        UNIT_TEST(test_front_full_of_uses),
        UNIT_TEST(test_front_hit_is_a_use),
        UNIT_TEST(test_front_release_on_another_thread),
        UNIT_TEST(test_front_held_across_child_exit),
        UNIT_TEST(test_put_same_key_replaces),
        UNIT_TEST(test_cache_id),
        UNIT_TEST(test_entry_only_for_identical_token),
        UNIT_TEST(test_entry_only_for_its_bytes),
        UNIT_TEST(test_entry_copies_its_bytes),
        UNIT_TEST(test_oversized_not_cached),
        UNIT_TEST(test_admit_by_id),
        UNIT_TEST(test_thread_stress),
    };

    /* Before jansson allocates anything, so that every block it frees was counted. */
    json_set_alloc_funcs(counting_malloc, counting_free);
    return UNIT_RUN(tests);
}
