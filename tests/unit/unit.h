/*
 * Shared helpers for the cmocka unit tests of the mod_auth_clerk core.
 *
 * Every test binary runs from the repository root (paths such as
 * tests/vectors/clerk/... are relative to it), initialises APR once in the
 * group setup and gets a fresh sub-pool per test in *state (UNIT_POOL).
 * Everything a test allocates hangs off that pool (JSON documents, EVP_PKEYs)
 * so that the ASan leak check sees nothing left behind.
 */
#ifndef UNIT_H
#define UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <apr_atomic.h>
#include <apr_thread_proc.h>
#include <apr_file_io.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "clerk_base64url.h"
#include "clerk_claims.h"
#include "clerk_export.h"
#include "clerk_json.h"
#include "clerk_jws.h"
#include "clerk_key.h"
#include "clerk_policy.h"
#include "clerk_publishable_key.h"
#include "clerk_reason.h"
#include "clerk_verify.h"

#define UNIT_VEC_CLERK "tests/vectors/clerk/"
#define UNIT_VEC_WP "tests/vectors/wycheproof/"
#define UNIT_KID "ins_2GIoQhbUpy0hX7B2cVkuTMinXoD"
#define UNIT_PRIV_PEM UNIT_VEC_CLERK "keys/ins_2GIoQhbUpy0hX7B2cVkuTMinXoD.private.pem"
#define UNIT_PUB_PEM UNIT_VEC_CLERK "keys/ins_2GIoQhbUpy0hX7B2cVkuTMinXoD.public.pem"
#define UNIT_JWKS UNIT_VEC_CLERK "jwks.json"

/* ---- APR set-up: one root pool per binary, one sub-pool per test ---- */

static inline apr_pool_t **unit_root_pool(void)
{
    static apr_pool_t *root;
    return &root;
}

static inline int unit_group_setup(void **state)
{
    (void)state;
    if (apr_initialize() != APR_SUCCESS)
        return -1;
    return apr_pool_create(unit_root_pool(), NULL) == APR_SUCCESS ? 0 : -1;
}

static inline int unit_group_teardown(void **state)
{
    (void)state;
    apr_pool_destroy(*unit_root_pool());
    *unit_root_pool() = NULL;
    apr_terminate();
    return 0;
}

static inline int unit_setup(void **state)
{
    apr_pool_t *p;
    if (apr_pool_create(&p, *unit_root_pool()) != APR_SUCCESS)
        return -1;
    *state = p;
    return 0;
}

static inline int unit_teardown(void **state)
{
    apr_pool_destroy((apr_pool_t *)*state);
    return 0;
}

#define UNIT_TEST(f) cmocka_unit_test_setup_teardown(f, unit_setup, unit_teardown)
#define UNIT_POOL ((apr_pool_t *)*state)
#define UNIT_RUN(tests) cmocka_run_group_tests(tests, unit_group_setup, unit_group_teardown)

/* 32 key bytes (a token cache or verdict key) from a counter, through SHA-256 as the module's. */
static inline void unit_key_of(unsigned n, const char *salt, unsigned char key[32])
{
    char text[64];
    int len = snprintf(text, sizeof(text), "%s-%u", salt, n);
    assert_int_equal(EVP_Digest(text, (size_t)len, key, NULL, EVP_sha256(), NULL), 1);
}

/*
 * Run n threads at once: start fn on each of the n elements of args (size
 * bytes apart), release them together through *go (each spins until it is
 * set, so contention starts at the same instant), and join them all.
 */
typedef void *(APR_THREAD_FUNC unit_thread_fn)(apr_thread_t *, void *);

/* In a thread of unit_run_threads: wait until all are released. */
static inline void unit_wait_for(volatile apr_uint32_t *go)
{
    while (!apr_atomic_read32(go))
        ;
}

/*
 * The body of thread id of unit_run_threads that works on keys of its own:
 * once released, each(arg, i, key) for i = 0..n-1, key being
 * unit_key_of(i, "t<id>"), so that no two threads share a key.
 */
typedef void unit_key_fn(void *arg, unsigned i, const unsigned char key[32]);

static inline void unit_for_own_keys(unsigned id, volatile apr_uint32_t *go, unsigned n,
                                     unit_key_fn *each, void *arg)
{
    char salt[16];
    unsigned char key[32];

    snprintf(salt, sizeof(salt), "t%u", id);
    unit_wait_for(go);
    for (unsigned i = 0; i < n; i++) {
        unit_key_of(i, salt, key);
        each(arg, i, key);
    }
}

static inline void unit_run_threads(apr_pool_t *p, unsigned n, unit_thread_fn *fn, void *args,
                                    apr_size_t size, volatile apr_uint32_t *go)
{
    apr_thread_t **t = apr_pcalloc(p, n * sizeof(*t));
    apr_status_t rv;

    for (unsigned i = 0; i < n; i++)
        assert_int_equal(apr_thread_create(&t[i], NULL, fn, (char *)args + i * size, p),
                         APR_SUCCESS);
    apr_atomic_set32(go, 1);
    for (unsigned i = 0; i < n; i++)
        apr_thread_join(&rv, t[i]);
}

/* ---- assertions that tolerate NULL ---- */

#define unit_assert_str(actual, expected)                                          \
    do {                                                                           \
        const char *unit_a_ = (actual), *unit_e_ = (expected);                     \
        if (!unit_e_ && unit_a_)                                                   \
            fail_msg("%s: expected NULL, got \"%s\"", #actual, unit_a_);           \
        if (unit_e_ && !unit_a_)                                                   \
            fail_msg("%s: expected \"%s\", got NULL", #actual, unit_e_);           \
        if (unit_e_ && strcmp(unit_a_, unit_e_))                                   \
            fail_msg("%s: expected \"%s\", got \"%s\"", #actual, unit_e_, unit_a_); \
    } while (0)

#define unit_assert_reason(actual, expected)                                        \
    do {                                                                            \
        clerk_reason_t unit_ra_ = (actual), unit_re_ = (expected);                  \
        if (unit_ra_ != unit_re_)                                                   \
            fail_msg("%s: expected %s, got %s", #actual, clerk_reason_str(unit_re_), \
                     clerk_reason_str(unit_ra_));                                   \
    } while (0)

/* ---- files and JSON ---- */

static inline apr_status_t unit_pkey_cleanup(void *data)
{
    EVP_PKEY_free((EVP_PKEY *)data);
    return APR_SUCCESS;
}

static inline apr_status_t unit_json_cleanup(void *data)
{
    json_decref((json_t *)data);
    return APR_SUCCESS;
}

/* The whole file, NUL-terminated; fails the test when unreadable. */
static inline char *unit_read_file(apr_pool_t *p, const char *path, apr_size_t *len)
{
    apr_file_t *f;
    apr_finfo_t fi;
    char *buf;
    apr_size_t n;

    if (apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p) != APR_SUCCESS)
        fail_msg("cannot open %s (run the tests from the repository root)", path);
    if (apr_file_info_get(&fi, APR_FINFO_SIZE, f) != APR_SUCCESS)
        fail_msg("cannot stat %s", path);
    n = (apr_size_t)fi.size;
    buf = apr_palloc(p, n + 1);
    if (n && apr_file_read_full(f, buf, n, &n) != APR_SUCCESS)
        fail_msg("cannot read %s", path);
    apr_file_close(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

/* A test-data JSON file (any top level), owned by p. */
static inline json_t *unit_load_json(apr_pool_t *p, const char *path)
{
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    if (!j)
        fail_msg("%s:%d: %s", path, err.line, err.text);
    apr_pool_cleanup_register(p, j, unit_json_cleanup, apr_pool_cleanup_null);
    return j;
}

/* A JSON value built by the test, owned by p. */
static inline json_t *unit_own(apr_pool_t *p, json_t *j)
{
    if (!j)
        fail_msg("could not build a JSON value");
    apr_pool_cleanup_register(p, j, unit_json_cleanup, apr_pool_cleanup_null);
    return j;
}

/* Compact text of j in p. */
static inline char *unit_dump(apr_pool_t *p, const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    char *copy;
    if (!s)
        fail_msg("json_dumps failed");
    copy = apr_pstrdup(p, s);
    free(s);
    return copy;
}

/* ---- keys ---- */

static inline EVP_PKEY *unit_load_private_key(apr_pool_t *p, const char *path)
{
    apr_size_t len;
    char *text = unit_read_file(p, path, &len);
    BIO *bio = BIO_new_mem_buf(text, (int)len);
    EVP_PKEY *k = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (!k)
        fail_msg("cannot load private key %s", path);
    apr_pool_cleanup_register(p, k, unit_pkey_cleanup, apr_pool_cleanup_null);
    return k;
}

static inline EVP_PKEY *unit_fixture_private_key(apr_pool_t *p)
{
    return unit_load_private_key(p, UNIT_PRIV_PEM);
}

/* A key set read from a file by load (one of clerk_key.h's), or the test fails naming what. */
static inline clerk_keyset_t *unit_file_keyset(apr_pool_t *p, const char *path, const char *what,
                                               apr_status_t (*load)(apr_pool_t *, const char *,
                                                                    clerk_keyset_t **,
                                                                    const char **))
{
    clerk_keyset_t *ks = NULL;
    const char *err = NULL;
    if (load(p, path, &ks, &err) != APR_SUCCESS)
        fail_msg("%s %s: %s", what, path, err);
    return ks;
}

static inline clerk_keyset_t *unit_pem_keyset(apr_pool_t *p, const char *path)
{
    return unit_file_keyset(p, path, "PEM key set", clerk_keyset_from_pem_file);
}

static inline clerk_keyset_t *unit_jwks_keyset(apr_pool_t *p, const char *path)
{
    return unit_file_keyset(p, path, "JWKS", clerk_keyset_from_jwks_file);
}

/* A public RSA key from a modulus and exponent (no primality checks), owned by p. */
static inline EVP_PKEY *unit_rsa_from_bn(apr_pool_t *p, const BIGNUM *n, const BIGNUM *e,
                                         const char *keytype)
{
    EVP_PKEY *pkey = clerk_rsa_public_from_n_e(n, e, keytype);
    if (!pkey)
        fail_msg("could not build an %s key", keytype);
    apr_pool_cleanup_register(p, pkey, unit_pkey_cleanup, apr_pool_cleanup_null);
    return pkey;
}

/* The public key as PEM text; structure "SubjectPublicKeyInfo" or "type-specific". */
static inline char *unit_public_pem(apr_pool_t *p, EVP_PKEY *pkey, const char *structure)
{
    OSSL_ENCODER_CTX *ectx = OSSL_ENCODER_CTX_new_for_pkey(pkey, EVP_PKEY_PUBLIC_KEY, "PEM",
                                                           structure, NULL);
    unsigned char *data = NULL;
    size_t len = 0;
    char *out = NULL;

    if (ectx && OSSL_ENCODER_to_data(ectx, &data, &len) == 1)
        out = apr_pstrmemdup(p, (const char *)data, len);
    OPENSSL_free(data);
    OSSL_ENCODER_CTX_free(ectx);
    if (!out)
        fail_msg("could not encode a public key as %s PEM", structure);
    return out;
}

/* base64url of a big number's big-endian bytes. */
static inline char *unit_bn_b64url(apr_pool_t *p, const BIGNUM *bn)
{
    int n = BN_num_bytes(bn);
    unsigned char *buf = apr_palloc(p, (apr_size_t)n + 1);
    BN_bn2bin(bn, buf);
    return clerk_b64url_encode(p, buf, (apr_size_t)n);
}

/* ---- tokens ---- */

static inline char *unit_b64url_str(apr_pool_t *p, const char *s)
{
    return clerk_b64url_encode(p, (const unsigned char *)s, strlen(s));
}

/* Sign header.payload with priv (alg RS256/384/512). */
static inline char *unit_sign(apr_pool_t *p, EVP_PKEY *priv, const char *alg,
                              const char *header_json, const char *payload_json)
{
    char *t = clerk_jws_sign(p, priv, alg, header_json, payload_json);
    if (!t)
        fail_msg("clerk_jws_sign(%s) failed", alg);
    return t;
}

/* A claims model from payload text (no signature), owned by p. */
static inline clerk_claims_t *unit_claims(apr_pool_t *p, const char *json, clerk_token_type_t type)
{
    const char *err, *detail;
    json_t *j = clerk_json_parse_object(p, json, strlen(json), &err);
    clerk_claims_t *c = NULL;
    if (!j)
        fail_msg("%s: %s", json, err);
    if (clerk_claims_build(p, j, type, &c, &detail) != CLERK_OK)
        fail_msg("%s: %s", json, detail);
    return c;
}

/* A token from raw segment texts: b64(header).b64(payload).sig_b64 */
static inline char *unit_raw_token(apr_pool_t *p, const char *header_json,
                                   const char *payload_json, const char *sig_b64)
{
    return apr_pstrcat(p, unit_b64url_str(p, header_json), ".",
                       unit_b64url_str(p, payload_json), ".", sig_b64, NULL);
}

/* The three segments of a compact token (no validation). */
static inline void unit_split3(apr_pool_t *p, const char *token, char **h, char **pl, char **s)
{
    const char *d1 = strchr(token, '.');
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d2)
        fail_msg("not a three-segment token");
    *h = apr_pstrmemdup(p, token, (apr_size_t)(d1 - token));
    *pl = apr_pstrmemdup(p, d1 + 1, (apr_size_t)(d2 - d1 - 1));
    *s = apr_pstrdup(p, d2 + 1);
}

/* NULL-terminated list of strings as an apr array. */
static inline apr_array_header_t *unit_strings(apr_pool_t *p, ...)
{
    apr_array_header_t *a = apr_array_make(p, 4, sizeof(const char *));
    va_list ap;
    const char *s;
    va_start(ap, p);
    while ((s = va_arg(ap, const char *)) != NULL)
        APR_ARRAY_PUSH(a, const char *) = s;
    va_end(ap);
    return a;
}

/* Hex to bytes (Wycheproof msg/sig). */
static inline unsigned char *unit_hex(apr_pool_t *p, const char *hex, apr_size_t *len)
{
    apr_size_t n = strlen(hex) / 2;
    unsigned char *out = apr_palloc(p, n + 1);
    for (apr_size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            fail_msg("bad hex");
        out[i] = (unsigned char)v;
    }
    *len = n;
    return out;
}

#endif
