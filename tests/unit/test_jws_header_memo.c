/*
 * The header memo of a key set (src/clerk_jws_header_memo.c) and its use by
 * clerk_jws_parse_for / clerk_jws_verify: a hit needs the exact bytes, only
 * a header that verified enters, a hit changes no verdict (a forged
 * signature under a known header is still refused), the slots are bounded,
 * and threads share the memo without a lock (TSan run too).
 */
#include "unit.h"

#include "clerk_jws_header_memo.h"

#define HEADER "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"" UNIT_KID "\",\"cat\":\"cl_B7d4PD111AAA\"}"
#define PAYLOAD "{\"sub\":\"user_1\",\"exp\":1700000060,\"iat\":1700000000}"

static const clerk_jws_header_t SAMPLE = {"RS256", "kid_1", "JWT", "cl_B7d4PD111AAA", 1};

static void assert_header(const clerk_jws_header_t *got, const clerk_jws_header_t *want)
{
    unit_assert_str(got->alg, want->alg);
    unit_assert_str(got->kid, want->kid);
    unit_assert_str(got->typ, want->typ);
    unit_assert_str(got->cat, want->cat);
    assert_int_equal(got->has_cat, want->has_cat);
}

static void test_hit_needs_the_exact_bytes(void **state)
{
    clerk_jws_header_memo_t *m = clerk_jws_header_memo_create(UNIT_POOL);
    const char *seg = "eyJhbGciOiJSUzI1NiJ9", *other = "eyJhbGciOiJSUzI1NiJ8";
    apr_size_t len = strlen(seg);
    clerk_jws_header_t h;

    assert_false(clerk_jws_header_memo_get(m, UNIT_POOL, seg, len, &h));
    clerk_jws_header_memo_put(m, seg, len, &SAMPLE);
    assert_true(clerk_jws_header_memo_get(m, UNIT_POOL, seg, len, &h));
    assert_header(&h, &SAMPLE);
    /* the request's own copies, not the caller's strings */
    assert_ptr_not_equal(h.kid, SAMPLE.kid);
    /* one byte off, a prefix, a longer run: all misses */
    assert_false(clerk_jws_header_memo_get(m, UNIT_POOL, other, len, &h));
    assert_false(clerk_jws_header_memo_get(m, UNIT_POOL, seg, len - 1, &h));
    assert_false(clerk_jws_header_memo_get(m, UNIT_POOL, "eyJhbGciOiJSUzI1NiJ9x", len + 1, &h));
}

static void test_absent_members_stay_absent(void **state)
{
    clerk_jws_header_memo_t *m = clerk_jws_header_memo_create(UNIT_POOL);
    const clerk_jws_header_t bare = {"RS512", NULL, NULL, NULL, 1};   /* cat of another type */
    clerk_jws_header_t h;

    clerk_jws_header_memo_put(m, "abc", 3, &bare);
    assert_true(clerk_jws_header_memo_get(m, UNIT_POOL, "abc", 3, &h));
    assert_header(&h, &bare);
}

/* CLERK_JWS_HEADER_MEMO_SLOTS headers at most; a repeat takes no slot. */
static void test_slots_are_bounded(void **state)
{
    clerk_jws_header_memo_t *m = clerk_jws_header_memo_create(UNIT_POOL);
    clerk_jws_header_t h;
    char seg[32];

    for (int i = 0; i < CLERK_JWS_HEADER_MEMO_SLOTS; i++) {
        snprintf(seg, sizeof(seg), "header-%d", i);
        clerk_jws_header_memo_put(m, seg, strlen(seg), &SAMPLE);
        clerk_jws_header_memo_put(m, seg, strlen(seg), &SAMPLE);
    }
    for (int i = 0; i < CLERK_JWS_HEADER_MEMO_SLOTS; i++) {
        snprintf(seg, sizeof(seg), "header-%d", i);
        assert_true(clerk_jws_header_memo_get(m, UNIT_POOL, seg, strlen(seg), &h));
    }
    clerk_jws_header_memo_put(m, "one-too-many", 12, &SAMPLE);
    assert_false(clerk_jws_header_memo_get(m, UNIT_POOL, "one-too-many", 12, &h));
}

static void test_long_segments_are_not_kept(void **state)
{
    clerk_jws_header_memo_t *m = clerk_jws_header_memo_create(UNIT_POOL);
    apr_size_t len = CLERK_JWS_HEADER_MEMO_MAX_SEGMENT + 1;
    char *seg = memset(apr_palloc(UNIT_POOL, len), 'A', len);
    clerk_jws_header_t h;

    clerk_jws_header_memo_put(m, seg, len, &SAMPLE);
    assert_false(clerk_jws_header_memo_get(m, UNIT_POOL, seg, len, &h));
    clerk_jws_header_memo_put(m, seg, len - 1, &SAMPLE);
    assert_true(clerk_jws_header_memo_get(m, UNIT_POOL, seg, len - 1, &h));
}

static apr_size_t header_len(const char *token)
{
    return (apr_size_t)(strchr(token, '.') - token);
}

static int memo_holds(apr_pool_t *p, const clerk_keyset_t *ks, const char *token)
{
    clerk_jws_header_t h;
    return clerk_jws_header_memo_get(ks->header_memo, p, token, header_len(token), &h);
}

static clerk_reason_t parse_for(apr_pool_t *p, const clerk_keyset_t *ks, const char *token,
                                clerk_jws_t **jws)
{
    const char *detail;
    *jws = NULL;
    return clerk_jws_parse_for(p, token, strlen(token), CLERK_TOKEN_MAX_LEN, ks, jws, &detail);
}

/* A token with the good token's header and payload and someone else's signature. */
static char *forged(apr_pool_t *p, const char *token)
{
    char *h, *pl, *sig;
    unit_split3(p, token, &h, &pl, &sig);
    sig[10] = sig[10] == 'A' ? 'B' : 'A';
    return apr_pstrcat(p, h, ".", pl, ".", sig, NULL);
}

/* Only a verified header enters; a known header changes no verdict. */
static void test_only_verified_headers_enter(void **state)
{
    clerk_keyset_t *ks = unit_jwks_keyset(UNIT_POOL, UNIT_JWKS);
    const char *token = unit_sign(UNIT_POOL, unit_fixture_private_key(UNIT_POOL), "RS256",
                                  HEADER, PAYLOAD);
    const char *fake = forged(UNIT_POOL, token), *detail;
    clerk_jws_t *jws, *plain;

    /* parsing does not fill it, nor does a signature that fails */
    unit_assert_reason(parse_for(UNIT_POOL, ks, fake, &jws), CLERK_OK);
    assert_false(jws->header_known);
    assert_false(memo_holds(UNIT_POOL, ks, fake));
    unit_assert_reason(clerk_jws_verify(jws, ks, &detail), CLERK_TOKEN_INVALID_SIGNATURE);
    assert_false(memo_holds(UNIT_POOL, ks, fake));

    unit_assert_reason(parse_for(UNIT_POOL, ks, token, &jws), CLERK_OK);
    unit_assert_reason(clerk_jws_verify(jws, ks, &detail), CLERK_OK);
    assert_true(memo_holds(UNIT_POOL, ks, token));

    /* from the memo: the same fields as a parse without it */
    unit_assert_reason(parse_for(UNIT_POOL, ks, token, &jws), CLERK_OK);
    unit_assert_reason(clerk_jws_parse(UNIT_POOL, token, strlen(token), CLERK_TOKEN_MAX_LEN,
                                       &plain, &detail), CLERK_OK);
    assert_header(&(clerk_jws_header_t){jws->alg, jws->kid, jws->typ, jws->cat, jws->has_cat},
                  &(clerk_jws_header_t){plain->alg, plain->kid, plain->typ, plain->cat,
                                        plain->has_cat});
    assert_int_equal(jws->header_len, header_len(token));
    assert_int_equal(jws->payload_len, plain->payload_len);
    assert_true(jws->header_known);
    assert_false(plain->header_known);

    /* the forged token's header is now known; its signature still fails */
    unit_assert_reason(parse_for(UNIT_POOL, ks, fake, &jws), CLERK_OK);
    unit_assert_reason(clerk_jws_verify(jws, ks, &detail), CLERK_TOKEN_INVALID_SIGNATURE);

    /* another key set has its own memo */
    assert_false(memo_holds(UNIT_POOL, unit_jwks_keyset(UNIT_POOL, UNIT_JWKS), token));
}

/* Under a known header the other segments are checked as before. */
static void test_known_header_other_segments_checked(void **state)
{
    clerk_keyset_t *ks = unit_jwks_keyset(UNIT_POOL, UNIT_JWKS);
    const char *token = unit_sign(UNIT_POOL, unit_fixture_private_key(UNIT_POOL), "RS256",
                                  HEADER, PAYLOAD), *detail;
    char *h, *pl, *sig;
    clerk_jws_t *jws;

    unit_assert_reason(parse_for(UNIT_POOL, ks, token, &jws), CLERK_OK);
    unit_assert_reason(clerk_jws_verify(jws, ks, &detail), CLERK_OK);
    assert_true(memo_holds(UNIT_POOL, ks, token));
    unit_split3(UNIT_POOL, token, &h, &pl, &sig);

    unit_assert_reason(parse_for(UNIT_POOL, ks, apr_pstrcat(UNIT_POOL, h, ".", pl, ".", NULL),
                                 &jws), CLERK_TOKEN_INVALID);           /* empty signature */
    unit_assert_reason(parse_for(UNIT_POOL, ks, apr_pstrcat(UNIT_POOL, h, ".", pl, "=.", sig,
                                                            NULL), &jws),
                       CLERK_TOKEN_INVALID);                            /* padded payload */
    unit_assert_reason(parse_for(UNIT_POOL, ks, apr_pstrcat(UNIT_POOL, h, ".", pl, ".", sig,
                                                            "!", NULL), &jws),
                       CLERK_TOKEN_INVALID);                            /* not base64url */
    unit_assert_reason(parse_for(UNIT_POOL, ks, apr_pstrcat(UNIT_POOL, h, ".", pl, NULL), &jws),
                       CLERK_TOKEN_INVALID);                            /* two segments */
    /* the header with one more byte is not the known one: parsed, and refused */
    unit_assert_reason(parse_for(UNIT_POOL, ks, apr_pstrcat(UNIT_POOL, h, "x.", pl, ".", sig,
                                                            NULL), &jws),
                       CLERK_TOKEN_INVALID);
}

#define THREADS 8
#define HEADERS 64

typedef struct {
    clerk_jws_header_memo_t *m;
    volatile apr_uint32_t *go;
    unsigned id;
    unsigned wrong;                     /* hits whose fields are not the segment's */
} worker_t;

/* Segment i's header names kid i, so a hit can be checked against its segment. */
static void *APR_THREAD_FUNC worker(apr_thread_t *t, void *data)
{
    worker_t *w = data;
    apr_pool_t *p;
    char seg[32], kid[32];
    clerk_jws_header_t h;

    apr_pool_create(&p, NULL);
    unit_wait_for(w->go);
    for (unsigned round = 0; round < 50; round++) {
        for (unsigned i = 0; i < HEADERS; i++) {
            unsigned n = (i + w->id * 7) % HEADERS;
            snprintf(seg, sizeof(seg), "segment-%u", n);
            snprintf(kid, sizeof(kid), "kid-%u", n);
            if (clerk_jws_header_memo_get(w->m, p, seg, strlen(seg), &h))
                w->wrong += strcmp(h.kid, kid) != 0;
            else
                clerk_jws_header_memo_put(w->m, seg, strlen(seg),
                                          &(clerk_jws_header_t){"RS256", kid, "JWT", NULL, 0});
        }
        apr_pool_clear(p);
    }
    apr_pool_destroy(p);
    return NULL;
}

static void test_threads_share_the_memo(void **state)
{
    clerk_jws_header_memo_t *m = clerk_jws_header_memo_create(UNIT_POOL);
    volatile apr_uint32_t go = 0;
    worker_t w[THREADS];
    unsigned kept = 0;
    clerk_jws_header_t h;
    char seg[32];

    for (unsigned i = 0; i < THREADS; i++)
        w[i] = (worker_t){ .m = m, .go = &go, .id = i };
    unit_run_threads(UNIT_POOL, THREADS, worker, w, sizeof(w[0]), &go);
    for (unsigned i = 0; i < THREADS; i++)
        assert_int_equal(w[i].wrong, 0);
    for (unsigned i = 0; i < HEADERS; i++) {
        snprintf(seg, sizeof(seg), "segment-%u", i);
        kept += (unsigned)clerk_jws_header_memo_get(m, UNIT_POOL, seg, strlen(seg), &h);
    }
    /* every slot taken once, by distinct headers */
    assert_int_equal(kept, CLERK_JWS_HEADER_MEMO_SLOTS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_hit_needs_the_exact_bytes),
        UNIT_TEST(test_absent_members_stay_absent),
        UNIT_TEST(test_slots_are_bounded),
        UNIT_TEST(test_long_segments_are_not_kept),
        UNIT_TEST(test_only_verified_headers_enter),
        UNIT_TEST(test_known_header_other_segments_checked),
        UNIT_TEST(test_threads_share_the_memo),
    };
    return UNIT_RUN(tests);
}
