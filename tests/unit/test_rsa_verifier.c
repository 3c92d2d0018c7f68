/*
 * The reusable verification contexts (src/clerk_rsa_verifier.c): the right
 * answers for every RS* algorithm, contexts reused after a failure, and many
 * threads verifying with one key at once (also run under ThreadSanitizer).
 */
#include "unit.h"

#include <apr_atomic.h>
#include <apr_thread_proc.h>

typedef struct {
    unsigned char *sig;
    apr_size_t sig_len;
    const char *msg;
} signed_msg;

/* A signature of msg under the fixture key with alg. */
static signed_msg sign_msg(apr_pool_t *p, const char *alg, const char *payload)
{
    char *token = unit_sign(p, unit_fixture_private_key(p), alg, "{\"alg\":\"x\"}", payload);
    char *dot = strrchr(token, '.');
    signed_msg m;

    assert_int_equal(clerk_b64url_decode(p, dot + 1, strlen(dot + 1), &m.sig, &m.sig_len),
                     APR_SUCCESS);
    m.msg = apr_pstrndup(p, token, (apr_size_t)(dot - token));
    return m;
}

static int check(clerk_rsa_verifier_t *v, const signed_msg *m)
{
    return clerk_rsa_verifier_check(v, (const unsigned char *)m->msg, strlen(m->msg), m->sig,
                                     m->sig_len);
}

static EVP_PKEY *fixture_public_key(apr_pool_t *p)
{
    clerk_keyset_t *ks = unit_pem_keyset(p, UNIT_PUB_PEM);
    return APR_ARRAY_IDX(ks->keys, 0, clerk_key_t *)->pkey;
}

static void test_alg_names(void **state)
{
    assert_int_equal(clerk_rs_alg_from_name("RS256"), CLERK_RS256);
    assert_int_equal(clerk_rs_alg_from_name("RS384"), CLERK_RS384);
    assert_int_equal(clerk_rs_alg_from_name("RS512"), CLERK_RS512);
    assert_int_equal(clerk_rs_alg_from_name(NULL), -1);
    assert_int_equal(clerk_rs_alg_from_name("RS"), -1);
    assert_int_equal(clerk_rs_alg_from_name("RS2560"), -1);
    assert_int_equal(clerk_rs_alg_from_name("rs256"), -1);
    assert_int_equal(clerk_rs_alg_from_name("PS256"), -1);
    assert_int_equal(clerk_rs_alg_from_name("HS256"), -1);
    assert_string_equal(clerk_rs_alg_digest(CLERK_RS384), "SHA384");
}

/* Each verifier accepts its own algorithm's signatures only. */
static void test_each_alg_verifies_its_own(void **state)
{
    EVP_PKEY *pub = fixture_public_key(UNIT_POOL);
    const char *names[CLERK_RS_COUNT] = { "RS256", "RS384", "RS512" };
    signed_msg m[CLERK_RS_COUNT];
    clerk_rsa_verifier_t *v[CLERK_RS_COUNT];

    for (int i = 0; i < CLERK_RS_COUNT; i++) {
        m[i] = sign_msg(UNIT_POOL, names[i], "{\"sub\":\"user_1\"}");
        assert_non_null(v[i] = clerk_rsa_verifier_make(UNIT_POOL, pub, i));
    }
    for (int i = 0; i < CLERK_RS_COUNT; i++)
        for (int j = 0; j < CLERK_RS_COUNT; j++)
            assert_int_equal(check(v[i], &m[j]), i == j);
}

/* A context that refused a signature is put back and still verifies. */
static void test_reuse_after_failure(void **state)
{
    EVP_PKEY *pub = fixture_public_key(UNIT_POOL);
    clerk_rsa_verifier_t *v = clerk_rsa_verifier_make(UNIT_POOL, pub, CLERK_RS256);
    signed_msg good = sign_msg(UNIT_POOL, "RS256", "{\"sub\":\"user_1\"}");
    signed_msg bad = good;

    bad.sig = apr_pmemdup(UNIT_POOL, good.sig, good.sig_len);
    bad.sig[good.sig_len / 2] ^= 1;
    for (int round = 0; round < 3; round++) {
        assert_true(check(v, &good));
        assert_false(check(v, &bad));
        bad.sig_len--;                          /* a short signature */
        assert_false(check(v, &bad));
        bad.sig_len++;
        good.msg = apr_pstrcat(UNIT_POOL, good.msg, "", NULL);
        assert_true(check(v, &good));
    }
    /* the message is what is signed: one byte off is refused */
    bad = good;
    bad.msg = apr_pstrndup(UNIT_POOL, good.msg, strlen(good.msg) - 1);
    assert_false(check(v, &bad));
}

#define THREADS 8
#define ROUNDS 200

typedef struct {
    clerk_rsa_verifier_t *v;
    const signed_msg *good, *bad;
    volatile apr_uint32_t *go;
    int right, wrong;
} worker_t;

static void *APR_THREAD_FUNC worker(apr_thread_t *t, void *data)
{
    worker_t *w = data;
    unit_wait_for(w->go);
    for (int i = 0; i < ROUNDS; i++) {
        int want = (i % 3) != 0;
        if (check(w->v, want ? w->good : w->bad) == want)
            w->right++;
        else
            w->wrong++;
    }
    return NULL;
}

/* Threads share one verifier: every answer right, every context returned. */
static void test_threads_share_a_verifier(void **state)
{
    EVP_PKEY *pub = fixture_public_key(UNIT_POOL);
    clerk_rsa_verifier_t *v = clerk_rsa_verifier_make(UNIT_POOL, pub, CLERK_RS256);
    signed_msg good = sign_msg(UNIT_POOL, "RS256", "{\"sub\":\"user_2\"}");
    signed_msg bad = sign_msg(UNIT_POOL, "RS384", "{\"sub\":\"user_2\"}");
    volatile apr_uint32_t go = 0;
    worker_t w[THREADS];

    for (int i = 0; i < THREADS; i++)
        w[i] = (worker_t){ .v = v, .good = &good, .bad = &bad, .go = &go };
    unit_run_threads(UNIT_POOL, THREADS, worker, w, sizeof(w[0]), &go);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(w[i].wrong, 0);
        assert_int_equal(w[i].right, ROUNDS);
    }
    /* the contexts made for the threads are freed with the pool (ASan's leak check) */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_alg_names),
        UNIT_TEST(test_each_alg_verifies_its_own),
        UNIT_TEST(test_reuse_after_failure),
        UNIT_TEST(test_threads_share_a_verifier),
    };
    return UNIT_RUN(tests);
}
