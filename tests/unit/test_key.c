/* Keys and key sets: PEM forms, JWKS rules (every skip reason), kid selection. */
#include "unit.h"

/* The fixture key's modulus (2048 bits) and its base64url form. */
static BIGNUM *fixture_n(apr_pool_t *p)
{
    clerk_keyset_t *ks = unit_pem_keyset(p, UNIT_PUB_PEM);
    BIGNUM *n = NULL;
    assert_true(EVP_PKEY_get_bn_param(APR_ARRAY_IDX(ks->keys, 0, clerk_key_t *)->pkey,
                                      OSSL_PKEY_PARAM_RSA_N, &n));
    return n;
}

static const char *fixture_n_b64(apr_pool_t *p)
{
    BIGNUM *n = fixture_n(p);
    const char *s = unit_bn_b64url(p, n);
    BN_free(n);
    return s;
}

static apr_status_t pem(apr_pool_t *p, const char *text, clerk_keyset_t **ks, const char **err)
{
    *ks = NULL;
    *err = NULL;
    return clerk_keyset_from_pem(p, text, strlen(text), ks, err);
}

static apr_status_t jwks(apr_pool_t *p, const char *text, clerk_keyset_t **ks, const char **err)
{
    *ks = NULL;
    *err = NULL;
    return clerk_keyset_from_jwks(p, text, strlen(text), ks, err);
}

static void expect_pem_rejected(apr_pool_t *p, const char *text, const char *err_part)
{
    clerk_keyset_t *ks;
    const char *err;
    if (pem(p, text, &ks, &err) != APR_EINVAL)
        fail_msg("PEM accepted: %.60s", text);
    assert_null(ks);
    assert_non_null(err);
    if (err_part && !strstr(err, err_part))
        fail_msg("error \"%s\" does not mention \"%s\"", err, err_part);
}

/* The base64 body of a PEM block, lines joined with sep. */
static char *pem_body(apr_pool_t *p, const char *pemtext, const char *sep)
{
    char *copy = apr_pstrdup(p, pemtext), *last, *line;
    char *out = "";
    for (line = apr_strtok(copy, "\r\n", &last); line; line = apr_strtok(NULL, "\r\n", &last)) {
        if (!strncmp(line, "-----", 5))
            continue;
        out = *out ? apr_pstrcat(p, out, sep, line, NULL) : apr_pstrdup(p, line);
    }
    return out;
}

static const clerk_key_t *only_key(const clerk_keyset_t *ks)
{
    assert_non_null(ks);
    assert_int_equal(ks->keys->nelts, 1);
    return APR_ARRAY_IDX(ks->keys, 0, const clerk_key_t *);
}

static void assert_same_modulus(const clerk_key_t *k, const BIGNUM *n)
{
    BIGNUM *kn = NULL;
    assert_true(EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_N, &kn));
    assert_int_equal(BN_cmp(kn, n), 0);
    BN_free(kn);
}

/* ------------------------------------------------------------------ PEM */

static void test_pem_spki(void **state)
{
    clerk_keyset_t *ks;
    const char *err;
    char *text = unit_read_file(UNIT_POOL, UNIT_PUB_PEM, NULL);
    const clerk_key_t *k;

    assert_non_null(strstr(text, "-----BEGIN PUBLIC KEY-----"));
    assert_int_equal(pem(UNIT_POOL, text, &ks, &err), APR_SUCCESS);
    k = only_key(ks);
    assert_true(ks->ignore_kid);
    assert_int_equal(ks->skipped->nelts, 0);
    assert_int_equal(k->bits, 2048);
    assert_null(k->kid);
    unit_assert_str(k->alg, "RS256");   /* bound to RS256, as in Clerk's SDK */
    assert_true(EVP_PKEY_is_a(k->pkey, "RSA"));
}

static void test_pem_all_fixture_public_keys(void **state)
{
    static const char *const files[] = {
        "ins_2GIoQhbUpy0hX7B2cVkuTMinXoD.public.pem", "integration-a.public.pem",
        "integration-b.public.pem", "mock-pem-key.public.pem", "some-other.public.pem",
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        clerk_keyset_t *ks = unit_pem_keyset(UNIT_POOL,
                                             apr_pstrcat(UNIT_POOL, UNIT_VEC_CLERK "keys/", files[i], NULL));
        assert_int_equal(only_key(ks)->bits, 2048);
    }
}

static void test_pem_crlf(void **state)
{
    clerk_keyset_t *ks;
    const char *err;
    char *text = unit_read_file(UNIT_POOL, UNIT_PUB_PEM, NULL);
    char *crlf = apr_pstrcat(UNIT_POOL, "-----BEGIN PUBLIC KEY-----\r\n",
                             pem_body(UNIT_POOL, text, "\r\n"), "\r\n-----END PUBLIC KEY-----\r\n", NULL);
    assert_int_equal(pem(UNIT_POOL, crlf, &ks, &err), APR_SUCCESS);
    only_key(ks);
}

static void test_pem_pkcs1(void **state)
{
    clerk_keyset_t *ks;
    const char *err;
    BIGNUM *n = fixture_n(UNIT_POOL);
    clerk_keyset_t *spki = unit_pem_keyset(UNIT_POOL, UNIT_PUB_PEM);
    char *pkcs1 = unit_public_pem(UNIT_POOL, only_key(spki)->pkey, "type-specific");

    assert_non_null(strstr(pkcs1, "-----BEGIN RSA PUBLIC KEY-----"));
    assert_int_equal(pem(UNIT_POOL, pkcs1, &ks, &err), APR_SUCCESS);
    assert_true(ks->ignore_kid);
    assert_int_equal(only_key(ks)->bits, 2048);
    assert_same_modulus(only_key(ks), n);
    BN_free(n);
}

static void test_pem_bare_body(void **state)
{
    clerk_keyset_t *ks;
    const char *err;
    char *text = unit_read_file(UNIT_POOL, UNIT_PUB_PEM, NULL);
    BIGNUM *n = fixture_n(UNIT_POOL);
    const char *const seps[] = {"", "\n", "\r\n", " \t"};

    for (size_t i = 0; i < sizeof(seps) / sizeof(seps[0]); i++) {
        char *body = apr_pstrcat(UNIT_POOL, "  ", pem_body(UNIT_POOL, text, seps[i]), "\n", NULL);
        if (pem(UNIT_POOL, body, &ks, &err) != APR_SUCCESS)
            fail_msg("bare body with separator %zu: %s", i, err);
        assert_true(ks->ignore_kid);
        assert_same_modulus(only_key(ks), n);
    }
    BN_free(n);
}

static void test_pem_bare_body_broken(void **state)
{
    char *text = unit_read_file(UNIT_POOL, UNIT_PUB_PEM, NULL);
    char *body = pem_body(UNIT_POOL, text, "");
    size_t n = strlen(body);

    /* drop one character: not a multiple of 4 */
    expect_pem_rejected(UNIT_POOL, apr_pstrndup(UNIT_POOL, body, n - 1), "neither PEM nor");
    /* drop four: valid base64 of truncated DER */
    expect_pem_rejected(UNIT_POOL, apr_pstrndup(UNIT_POOL, body, n - 4), "could not parse");
    /* extra DER after the key */
    expect_pem_rejected(UNIT_POOL, apr_pstrcat(UNIT_POOL, body, "AAAA", NULL), "could not parse");
    expect_pem_rejected(UNIT_POOL, "!!!!", "neither PEM nor");
    expect_pem_rejected(UNIT_POOL, "AAAA", "could not parse");
    expect_pem_rejected(UNIT_POOL, "====", "could not parse");
    expect_pem_rejected(UNIT_POOL, "", "neither PEM nor");
    expect_pem_rejected(UNIT_POOL, " \n\t ", "neither PEM nor");
}

static void test_pem_private_refused(void **state)
{
    char *pkcs8 = unit_read_file(UNIT_POOL, UNIT_PRIV_PEM, NULL);
    char *pkcs1 = unit_read_file(UNIT_POOL, UNIT_VEC_CLERK "keys/integration-a.private.pem", NULL);

    assert_non_null(strstr(pkcs8, "BEGIN PRIVATE KEY"));
    assert_non_null(strstr(pkcs1, "BEGIN RSA PRIVATE KEY"));
    expect_pem_rejected(UNIT_POOL, pkcs8, "private key");
    expect_pem_rejected(UNIT_POOL, pkcs1, "private key");
    /* a public key followed by a private key: still a pasted secret */
    expect_pem_rejected(UNIT_POOL, apr_pstrcat(UNIT_POOL, unit_read_file(UNIT_POOL, UNIT_PUB_PEM, NULL),
                                               pkcs8, NULL), "private key");
    /* the bare body of a private key is not a public key either */
    expect_pem_rejected(UNIT_POOL, pem_body(UNIT_POOL, pkcs8, "\n"), "could not parse");
    expect_pem_rejected(UNIT_POOL, pem_body(UNIT_POOL, pkcs1, "\n"), "could not parse");
}

static void test_pem_garbage(void **state)
{
    char *text = unit_read_file(UNIT_POOL, UNIT_PUB_PEM, NULL);
    char *other = unit_read_file(UNIT_POOL, UNIT_VEC_CLERK "keys/some-other.public.pem", NULL);

    expect_pem_rejected(UNIT_POOL, "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n", NULL);
    expect_pem_rejected(UNIT_POOL, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", NULL);
    expect_pem_rejected(UNIT_POOL, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", NULL);
    expect_pem_rejected(UNIT_POOL, "hello world", NULL);
    /* two keys in one text: which one was meant? */
    expect_pem_rejected(UNIT_POOL, apr_pstrcat(UNIT_POOL, text, other, NULL), NULL);
    /* a truncated block */
    expect_pem_rejected(UNIT_POOL, apr_pstrndup(UNIT_POOL, text, strlen(text) - 30), NULL);
}

static void test_pem_too_large(void **state)
{
    apr_size_t n = CLERK_KEYDOC_MAX_LEN + 1;
    char *big = apr_palloc(UNIT_POOL, n + 1);
    clerk_keyset_t *ks = NULL;
    const char *err = NULL;

    memset(big, 'A', n);
    big[n] = '\0';
    assert_int_equal(clerk_keyset_from_pem(UNIT_POOL, big, n, &ks, &err), APR_EINVAL);
    assert_non_null(strstr(err, "too large"));
    assert_int_equal(clerk_keyset_from_jwks(UNIT_POOL, big, n, &ks, &err), APR_EINVAL);
    assert_non_null(strstr(err, "too large"));
    assert_null(ks);
}

static void test_pem_not_rsa(void **state)
{
    json_t *ec = unit_load_json(UNIT_POOL, UNIT_VEC_WP "ecdsa_secp256r1_sha256_p1363_test.json");
    json_t *ed = unit_load_json(UNIT_POOL, UNIT_VEC_WP "ed25519_test.json");
    BIGNUM *n = fixture_n(UNIT_POOL), *e = BN_new();
    EVP_PKEY *pss;

    expect_pem_rejected(UNIT_POOL, json_string_value(json_object_get(
        json_array_get(json_object_get(ec, "testGroups"), 0), "publicKeyPem")), NULL);
    expect_pem_rejected(UNIT_POOL, json_string_value(json_object_get(
        json_array_get(json_object_get(ed, "testGroups"), 0), "publicKeyPem")), NULL);
    /* An RSA-PSS (id-RSASSA-PSS) key is not an RSA PKCS#1 v1.5 key. */
    BN_set_word(e, 65537);
    pss = unit_rsa_from_bn(UNIT_POOL, n, e, "RSA-PSS");
    expect_pem_rejected(UNIT_POOL, unit_public_pem(UNIT_POOL, pss, "SubjectPublicKeyInfo"), NULL);
    BN_free(n);
    BN_free(e);
}

static void test_pem_weak_keys(void **state)
{
    BIGNUM *n = fixture_n(UNIT_POOL), *e = BN_new(), *small = BN_new();
    json_t *wp = unit_load_json(UNIT_POOL, UNIT_VEC_WP "rsa_signature_2048_sha256_test.json");

    /* 2047-bit modulus */
    BN_rshift1(small, n);
    BN_set_word(e, 65537);
    expect_pem_rejected(UNIT_POOL, unit_public_pem(UNIT_POOL, unit_rsa_from_bn(UNIT_POOL, small, e, "RSA"),
                                                   "SubjectPublicKeyInfo"), "shorter than 2048");
    /* 1024-bit modulus, PKCS#1 form */
    BN_rshift(small, n, 1024);
    expect_pem_rejected(UNIT_POOL, unit_public_pem(UNIT_POOL, unit_rsa_from_bn(UNIT_POOL, small, e, "RSA"),
                                                   "type-specific"), "shorter than 2048");
    /* e = 3 (a Wycheproof key) and e = 1, 65535, 65536 */
    expect_pem_rejected(UNIT_POOL, json_string_value(json_object_get(
        json_array_get(json_object_get(wp, "testGroups"), 1), "publicKeyPem")), "exponent");
    {
        static const unsigned long bad_e[] = {1, 3, 17, 65535, 65536};
        for (size_t i = 0; i < sizeof(bad_e) / sizeof(bad_e[0]); i++) {
            BN_set_word(e, bad_e[i]);
            expect_pem_rejected(UNIT_POOL, unit_public_pem(UNIT_POOL, unit_rsa_from_bn(UNIT_POOL, n, e, "RSA"),
                                                           "SubjectPublicKeyInfo"), "exponent");
        }
    }
    BN_free(n);
    BN_free(e);
    BN_free(small);
}

static void test_pem_file_loaders(void **state)
{
    clerk_keyset_t *ks = NULL;
    const char *err = NULL;

    assert_int_equal(clerk_keyset_from_pem_file(UNIT_POOL, UNIT_PUB_PEM, &ks, &err), APR_SUCCESS);
    only_key(ks);
    ks = NULL;
    assert_int_not_equal(clerk_keyset_from_pem_file(UNIT_POOL, "tests/vectors/clerk/keys/nope.pem",
                                                    &ks, &err), APR_SUCCESS);
    assert_non_null(strstr(err, "nope.pem"));
    assert_null(ks);
    /* a private key file: the message names the file and the problem */
    assert_int_equal(clerk_keyset_from_pem_file(UNIT_POOL, UNIT_PRIV_PEM, &ks, &err), APR_EINVAL);
    assert_non_null(strstr(err, UNIT_PRIV_PEM));
    assert_non_null(strstr(err, "private key"));
    /* JWKS loader */
    assert_int_equal(clerk_keyset_from_jwks_file(UNIT_POOL, UNIT_JWKS, &ks, &err), APR_SUCCESS);
    only_key(ks);
    ks = NULL;
    assert_int_equal(clerk_keyset_from_jwks_file(UNIT_POOL, UNIT_PUB_PEM, &ks, &err), APR_EINVAL);
    assert_non_null(strstr(err, UNIT_PUB_PEM));
    assert_null(ks);
    assert_int_not_equal(clerk_keyset_from_jwks_file(UNIT_POOL, "/nonexistent/jwks.json", &ks, &err),
                         APR_SUCCESS);
    assert_non_null(strstr(err, "/nonexistent/jwks.json"));
}

static void test_file_too_large(void **state)
{
    apr_file_t *f;
    char tmpl[] = "/tmp/clerk-unit-XXXXXX";
    apr_size_t n = CLERK_KEYDOC_MAX_LEN + 1, written;
    char *big = apr_palloc(UNIT_POOL, n);
    clerk_keyset_t *ks = NULL;
    const char *err = NULL;

    memset(big, ' ', n);
    assert_int_equal(apr_file_mktemp(&f, tmpl, APR_FOPEN_CREATE | APR_FOPEN_READ | APR_FOPEN_WRITE
                                     | APR_FOPEN_EXCL | APR_FOPEN_DELONCLOSE, UNIT_POOL), APR_SUCCESS);
    assert_int_equal(apr_file_write_full(f, big, n, &written), APR_SUCCESS);
    assert_int_not_equal(clerk_keyset_from_pem_file(UNIT_POOL, tmpl, &ks, &err), APR_SUCCESS);
    assert_non_null(strstr(err, "larger than"));
    assert_int_not_equal(clerk_keyset_from_jwks_file(UNIT_POOL, tmpl, &ks, &err), APR_SUCCESS);
    assert_non_null(strstr(err, "larger than"));
    assert_null(ks);
    apr_file_close(f);
}

/* ------------------------------------------------------------------ JWKS */

static void test_jwks_fixture(void **state)
{
    clerk_keyset_t *ks = unit_jwks_keyset(UNIT_POOL, UNIT_JWKS);
    const clerk_key_t *k = only_key(ks);
    BIGNUM *n = fixture_n(UNIT_POOL);

    assert_false(ks->ignore_kid);
    assert_int_equal(ks->skipped->nelts, 0);
    unit_assert_str(k->kid, UNIT_KID);
    unit_assert_str(k->alg, "RS256");
    assert_int_equal(k->bits, 2048);
    assert_same_modulus(k, n);
    BN_free(n);

    ks = unit_jwks_keyset(UNIT_POOL, UNIT_VEC_CLERK "jwks_all.json");
    assert_int_equal(ks->keys->nelts, 3);
    assert_int_equal(ks->skipped->nelts, 0);
}

/* One JWKS entry that must be skipped, and why. */
struct bad_jwk {
    const char *json;       /* %1$s is the fixture modulus */
    const char *why;
};

static void test_jwks_mixed_valid_and_invalid(void **state)
{
    const char *n = fixture_n_b64(UNIT_POOL);
    BIGNUM *fn = fixture_n(UNIT_POOL), *bn = BN_new();
    const char *n2047, *n1024, *n16385;
    apr_array_header_t *entries = apr_array_make(UNIT_POOL, 40, sizeof(struct bad_jwk));
    char *doc;
    clerk_keyset_t *ks;
    const char *err;

    BN_rshift1(bn, fn);
    n2047 = unit_bn_b64url(UNIT_POOL, bn);
    BN_rshift(bn, fn, 1024);
    n1024 = unit_bn_b64url(UNIT_POOL, bn);
    BN_zero(bn);
    BN_set_bit(bn, 16384);
    BN_set_bit(bn, 0);
    n16385 = unit_bn_b64url(UNIT_POOL, bn);
    BN_free(bn);
    BN_free(fn);

#define BAD(js, w) (APR_ARRAY_PUSH(entries, struct bad_jwk) = (struct bad_jwk){(js), (w)})
#define RSA(extra) apr_psprintf(UNIT_POOL, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"%s}", n, extra)
    BAD("42", "entry is not an object");
    BAD("[]", "entry is not an object");
    BAD("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\",\"kid\":\"ec\"}", "kty is not RSA");
    BAD("{\"kty\":\"oct\",\"k\":\"AAAA\",\"kid\":\"oct\"}", "kty is not RSA");
    BAD("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AA\"}", "kty is not RSA");
    BAD(apr_psprintf(UNIT_POOL, "{\"kty\":\"rsa\",\"n\":\"%s\",\"e\":\"AQAB\"}", n), "kty is not RSA");
    BAD(apr_psprintf(UNIT_POOL, "{\"n\":\"%s\",\"e\":\"AQAB\"}", n), "kty is not RSA");
    BAD(RSA(",\"use\":\"enc\",\"kid\":\"use-enc\""), "use is not sig");
    BAD(RSA(",\"use\":\"SIG\""), "use is not sig");
    BAD(RSA(",\"use\":1"), "use is not sig");
    BAD(RSA(",\"key_ops\":[\"sign\"]"), "key_ops does not allow verify");
    BAD(RSA(",\"key_ops\":[\"encrypt\",\"wrapKey\"]"), "key_ops does not allow verify");
    BAD(RSA(",\"key_ops\":[]"), "key_ops does not allow verify");
    BAD(RSA(",\"key_ops\":\"verify\""), "key_ops is not an array");
    BAD(RSA(",\"alg\":\"HS256\""), "alg is not RS256");
    BAD(RSA(",\"alg\":\"PS256\""), "alg is not RS256");
    BAD(RSA(",\"alg\":\"RSA1_5\""), "alg is not RS256");
    BAD(RSA(",\"alg\":\"none\""), "alg is not RS256");
    BAD(RSA(",\"alg\":\"rs256\""), "alg is not RS256");
    BAD(RSA(",\"alg\":256"), "alg is not RS256");
    BAD(RSA(",\"kid\":7"), "kid is not a short printable string");
    BAD(RSA(",\"kid\":\"\""), "kid is not a short printable string");
    BAD(RSA(",\"kid\":\"has space\""), "kid is not a short printable string");
    BAD(RSA(",\"kid\":\"line\\r\\nbreak\""), "kid is not a short printable string");
    BAD(apr_psprintf(UNIT_POOL, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\",\"kid\":\"%s\"}", n,
                     apr_pstrcat(UNIT_POOL, "k", memset(apr_pcalloc(UNIT_POOL, 257), 'x', 256), NULL)),
        "kid is not a short printable string");
    BAD(RSA(",\"d\":\"AQAB\""), "private key material");
    BAD(RSA(",\"p\":\"AQAB\""), "private key material");
    BAD(RSA(",\"q\":\"AQAB\""), "private key material");
    BAD(apr_psprintf(UNIT_POOL, "{\"kty\":\"RSA\",\"n\":\"%s=\",\"e\":\"AQAB\"}", n), "n or e is not valid base64url");
    BAD(apr_psprintf(UNIT_POOL, "{\"kty\":\"RSA\",\"n\":\"+%s\",\"e\":\"AQAB\"}", n + 1), "n or e is not valid base64url");
    BAD(apr_psprintf(UNIT_POOL, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB=\"}", n), "n or e is not valid base64url");
    BAD(apr_psprintf(UNIT_POOL, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"\"}", n), "n or e is not valid base64url");
    BAD(apr_psprintf(UNIT_POOL, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":65537}", n), "n or e is not valid base64url");
    BAD(apr_psprintf(UNIT_POOL, "{\"kty\":\"RSA\",\"n\":\"%s\"}", n), "n or e is not valid base64url");
    BAD("{\"kty\":\"RSA\",\"e\":\"AQAB\"}", "n or e is not valid base64url");
    BAD(apr_psprintf(UNIT_POOL, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}", n2047), "shorter than 2048");
    BAD(apr_psprintf(UNIT_POOL, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}", n1024), "shorter than 2048");
    BAD(apr_psprintf(UNIT_POOL, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}", n16385), "");
    BAD(apr_psprintf(UNIT_POOL, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQ\"}", n), "exponent");     /* 1 */
    BAD(apr_psprintf(UNIT_POOL, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"Aw\"}", n), "exponent");     /* 3 */
    BAD(apr_psprintf(UNIT_POOL, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAA\"}", n), "exponent");   /* 65536 */
    BAD(apr_psprintf(UNIT_POOL, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"__8\"}", n), "exponent");    /* 65535 */
    BAD(apr_psprintf(UNIT_POOL, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AA\"}", n), "");             /* 0 */
    /* 2^256 + 1: 257 bits */
    BAD(apr_psprintf(UNIT_POOL, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB\"}", n),
        "exponent");
#undef RSA

    /* valid keys: one with everything, one bare, placed among the bad ones */
    doc = apr_psprintf(UNIT_POOL,
                       "{\"keys\":[{\"kty\":\"RSA\",\"use\":\"sig\",\"alg\":\"RS256\",\"key_ops\":[\"verify\"],"
                       "\"kid\":\"good\",\"n\":\"%s\",\"e\":\"AQAB\",\"x5c\":[\"ignored\"],\"ext\":true}", n);
    for (int i = 0; i < entries->nelts; i++)
        doc = apr_pstrcat(UNIT_POOL, doc, ",", APR_ARRAY_IDX(entries, i, struct bad_jwk).json, NULL);
    doc = apr_pstrcat(UNIT_POOL, doc, ",", apr_psprintf(UNIT_POOL,
                      "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\",\"kid\":\"bare\"}]}", n), NULL);

    if (jwks(UNIT_POOL, doc, &ks, &err) != APR_SUCCESS)
        fail_msg("mixed JWKS refused: %s", err);
    assert_int_equal(ks->keys->nelts, 2);
    unit_assert_str(APR_ARRAY_IDX(ks->keys, 0, clerk_key_t *)->kid, "good");
    unit_assert_str(APR_ARRAY_IDX(ks->keys, 0, clerk_key_t *)->alg, "RS256");
    unit_assert_str(APR_ARRAY_IDX(ks->keys, 1, clerk_key_t *)->kid, "bare");
    assert_null(APR_ARRAY_IDX(ks->keys, 1, clerk_key_t *)->alg);
    assert_int_equal(ks->skipped->nelts, entries->nelts);
    for (int i = 0; i < entries->nelts; i++) {
        const char *note = APR_ARRAY_IDX(ks->skipped, i, const char *);
        const char *why = APR_ARRAY_IDX(entries, i, struct bad_jwk).why;
        const char *prefix = apr_psprintf(UNIT_POOL, "key %d ", i + 1);
        if (strncmp(note, prefix, strlen(prefix)) || !strstr(note, why))
            fail_msg("entry %d (%s): note \"%s\" lacks \"%s\"", i + 1,
                     APR_ARRAY_IDX(entries, i, struct bad_jwk).json, note, why);
        /* notes go to the error log: never a control character */
        assert_true(clerk_export_header_safe(note));
    }
    /* each bad entry alone: the set has no usable key */
    for (int i = 0; i < entries->nelts; i++) {
        const char *one = apr_pstrcat(UNIT_POOL, "{\"keys\":[",
                                      APR_ARRAY_IDX(entries, i, struct bad_jwk).json, "]}", NULL);
        if (jwks(UNIT_POOL, one, &ks, &err) != APR_EINVAL)
            fail_msg("alone, entry %d was accepted: %s", i + 1, one);
        assert_null(ks);
        assert_non_null(strstr(err, "no usable key"));
        assert_non_null(strstr(err, APR_ARRAY_IDX(entries, i, struct bad_jwk).why));
    }
#undef BAD
}

static void test_jwks_skip_note_names_sane_kid_only(void **state)
{
    clerk_keyset_t *ks;
    const char *err;
    const char *doc = apr_psprintf(UNIT_POOL,
        "{\"keys\":[{\"kty\":\"EC\",\"kid\":\"ec-1\"},{\"kty\":\"EC\",\"kid\":\"a\\r\\nb\"},"
        "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}]}", fixture_n_b64(UNIT_POOL));

    assert_int_equal(jwks(UNIT_POOL, doc, &ks, &err), APR_SUCCESS);
    assert_int_equal(ks->skipped->nelts, 2);
    unit_assert_str(APR_ARRAY_IDX(ks->skipped, 0, const char *), "key 0 (kid ec-1) skipped: kty is not RSA");
    unit_assert_str(APR_ARRAY_IDX(ks->skipped, 1, const char *), "key 1 skipped: kty is not RSA");
}

static void test_jwks_boundaries(void **state)
{
    BIGNUM *bn = BN_new();
    clerk_keyset_t *ks;
    const char *err, *doc;

    /* exactly 16384 bits with e = 2^255 + 1 (256 bits): accepted */
    BN_set_bit(bn, 16383);
    BN_set_bit(bn, 0);
    doc = apr_psprintf(UNIT_POOL, "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\"}]}",
                       unit_bn_b64url(UNIT_POOL, bn),
                       "gAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE");
    if (jwks(UNIT_POOL, doc, &ks, &err) != APR_SUCCESS)
        fail_msg("16384-bit key refused: %s", err);
    assert_int_equal(only_key(ks)->bits, 16384);
    /* e = 65537 with a leading zero byte in its encoding is the same number */
    doc = apr_psprintf(UNIT_POOL, "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AAEAAQ\"}]}",
                       fixture_n_b64(UNIT_POOL));
    assert_int_equal(jwks(UNIT_POOL, doc, &ks, &err), APR_SUCCESS);
    BN_free(bn);
}

static void test_jwks_roca_key_refused(void **state)
{
    json_t *wp = unit_load_json(UNIT_POOL, UNIT_VEC_WP "json_web_key_test.json");
    json_t *groups = json_object_get(wp, "testGroups"), *g;
    size_t i;
    int seen = 0;

    json_array_foreach(groups, i, g) {
        if (strcmp(json_string_value(json_object_get(g, "comment")), "jws_rsa_roca_key"))
            continue;
        clerk_keyset_t *ks;
        const char *err;
        const char *doc = unit_dump(UNIT_POOL, json_object_get(g, "public"));
        assert_int_equal(jwks(UNIT_POOL, doc, &ks, &err), APR_EINVAL);
        assert_non_null(strstr(err, "ROCA"));
        seen++;
    }
    assert_int_equal(seen, 1);
}

static void test_jwks_duplicate_kid(void **state)
{
    const char *n = fixture_n_b64(UNIT_POOL);
    char *other_pem = unit_read_file(UNIT_POOL, UNIT_VEC_CLERK "keys/some-other.public.pem", NULL);
    clerk_keyset_t *ks, *other;
    const char *err, *n2, *doc;
    BIGNUM *bn = NULL;

    assert_int_equal(pem(UNIT_POOL, other_pem, &other, &err), APR_SUCCESS);
    assert_true(EVP_PKEY_get_bn_param(only_key(other)->pkey, OSSL_PKEY_PARAM_RSA_N, &bn));
    n2 = unit_bn_b64url(UNIT_POOL, bn);
    BN_free(bn);

    /* two keys share "dup": both go, "solo" stays */
    doc = apr_psprintf(UNIT_POOL,
        "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"dup\",\"n\":\"%s\",\"e\":\"AQAB\"},"
        "{\"kty\":\"RSA\",\"kid\":\"solo\",\"n\":\"%s\",\"e\":\"AQAB\"},"
        "{\"kty\":\"RSA\",\"kid\":\"dup\",\"n\":\"%s\",\"e\":\"AQAB\"}]}", n, n, n2);
    assert_int_equal(jwks(UNIT_POOL, doc, &ks, &err), APR_SUCCESS);
    unit_assert_str(only_key(ks)->kid, "solo");
    assert_int_equal(ks->skipped->nelts, 2);
    unit_assert_str(APR_ARRAY_IDX(ks->skipped, 0, const char *), "key with kid dup skipped: kid is not unique");
    unit_assert_str(APR_ARRAY_IDX(ks->skipped, 1, const char *), "key with kid dup skipped: kid is not unique");
    {
        const clerk_key_t *k;
        assert_int_equal(clerk_keyset_select(ks, "dup", &k), CLERK_JWK_KID_MISMATCH);
    }

    /* only the duplicates: nothing usable */
    doc = apr_psprintf(UNIT_POOL,
        "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"dup\",\"n\":\"%s\",\"e\":\"AQAB\"},"
        "{\"kty\":\"RSA\",\"kid\":\"dup\",\"n\":\"%s\",\"e\":\"AQAB\"}]}", n, n);
    assert_int_equal(jwks(UNIT_POOL, doc, &ks, &err), APR_EINVAL);
    assert_non_null(strstr(err, "kid is not unique"));

    /* three copies */
    doc = apr_psprintf(UNIT_POOL,
        "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"t\",\"n\":\"%s\",\"e\":\"AQAB\"},"
        "{\"kty\":\"RSA\",\"kid\":\"t\",\"n\":\"%s\",\"e\":\"AQAB\"},"
        "{\"kty\":\"RSA\",\"kid\":\"t\",\"n\":\"%s\",\"e\":\"AQAB\"},"
        "{\"kty\":\"RSA\",\"kid\":\"u\",\"n\":\"%s\",\"e\":\"AQAB\"}]}", n, n2, n, n2);
    assert_int_equal(jwks(UNIT_POOL, doc, &ks, &err), APR_SUCCESS);
    unit_assert_str(only_key(ks)->kid, "u");
    assert_int_equal(ks->skipped->nelts, 3);

    /*
     * A duplicate that is unusable anyway (EC) was skipped before the kid
     * check: the one usable key with that kid stays.
     */
    doc = apr_psprintf(UNIT_POOL,
        "{\"keys\":[{\"kty\":\"EC\",\"kid\":\"k1\"},{\"kty\":\"RSA\",\"kid\":\"k1\",\"n\":\"%s\",\"e\":\"AQAB\"}]}", n);
    assert_int_equal(jwks(UNIT_POOL, doc, &ks, &err), APR_SUCCESS);
    unit_assert_str(only_key(ks)->kid, "k1");

    /* keys without a kid are not duplicates of each other */
    doc = apr_psprintf(UNIT_POOL,
        "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"},{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}]}",
        n, n2);
    assert_int_equal(jwks(UNIT_POOL, doc, &ks, &err), APR_SUCCESS);
    assert_int_equal(ks->keys->nelts, 2);
}

static void test_jwks_not_a_key_set(void **state)
{
    static const struct {
        const char *doc, *err;
    } cases[] = {
        {"{\"keys\":[]}", "the key set is empty"},
        {"{\"keys\":{}}", "not a JWKS"},
        {"{\"keys\":null}", "not a JWKS"},
        {"{\"keys\":\"x\"}", "not a JWKS"},
        {"{}", "not a JWKS"},
        {"{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}", "not a JWKS"},
        {"[]", "not an object"},
        {"[{\"keys\":[]}]", "not an object"},
        {"", "invalid JSON"},
        {"<html><body>502 Bad Gateway</body></html>", "invalid JSON"},
        {"{\"keys\":[],\"keys\":[]}", "invalid JSON"},
        {"{\"keys\":[{\"kty\":\"EC\"}]}", "no usable key in the key set; first problem: key 0 skipped: kty is not RSA"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        clerk_keyset_t *ks;
        const char *err;
        if (jwks(UNIT_POOL, cases[i].doc, &ks, &err) != APR_EINVAL)
            fail_msg("accepted: %s", cases[i].doc);
        assert_null(ks);
        if (!err || !strstr(err, cases[i].err))
            fail_msg("%s: error \"%s\" lacks \"%s\"", cases[i].doc, err ? err : "(null)", cases[i].err);
    }
}

static void test_jwks_deep_nesting(void **state)
{
    clerk_keyset_t *ks;
    const char *err;
    char *doc = apr_pstrcat(UNIT_POOL, "{\"keys\":[", NULL);
    for (int i = 0; i < 40; i++)
        doc = apr_pstrcat(UNIT_POOL, doc, "[", NULL);
    for (int i = 0; i < 40; i++)
        doc = apr_pstrcat(UNIT_POOL, doc, "]", NULL);
    doc = apr_pstrcat(UNIT_POOL, doc, "]}", NULL);
    assert_int_equal(jwks(UNIT_POOL, doc, &ks, &err), APR_EINVAL);
    assert_non_null(strstr(err, "nested too deeply"));
}

/* ------------------------------------------------------------------ select */

static void test_select(void **state)
{
    clerk_keyset_t *all = unit_jwks_keyset(UNIT_POOL, UNIT_VEC_CLERK "jwks_all.json");
    clerk_keyset_t *one = unit_jwks_keyset(UNIT_POOL, UNIT_JWKS);
    clerk_keyset_t *pemks = unit_pem_keyset(UNIT_POOL, UNIT_PUB_PEM);
    const clerk_key_t *k;
    static const char *const kids[] = {UNIT_KID, "integration-a", "integration-b"};

    for (size_t i = 0; i < 3; i++) {
        k = NULL;
        assert_int_equal(clerk_keyset_select(all, kids[i], &k), CLERK_OK);
        unit_assert_str(k->kid, kids[i]);
    }
    k = NULL;
    assert_int_equal(clerk_keyset_select(all, "unknown", &k), CLERK_JWK_KID_MISMATCH);
    assert_null(k);
    assert_int_equal(clerk_keyset_select(all, "integration-", &k), CLERK_JWK_KID_MISMATCH);
    assert_int_equal(clerk_keyset_select(all, "INTEGRATION-A", &k), CLERK_JWK_KID_MISMATCH);
    assert_int_equal(clerk_keyset_select(all, "../../etc/passwd", &k), CLERK_JWK_KID_MISMATCH);
    /* no kid: only an unambiguous set answers */
    assert_int_equal(clerk_keyset_select(all, NULL, &k), CLERK_JWK_KID_MISMATCH);
    assert_null(k);
    assert_int_equal(clerk_keyset_select(one, NULL, &k), CLERK_OK);
    unit_assert_str(k->kid, UNIT_KID);
    k = NULL;
    assert_int_equal(clerk_keyset_select(one, "integration-a", &k), CLERK_JWK_KID_MISMATCH);
    assert_null(k);
    /* a PEM set ignores the kid, whatever it is */
    assert_int_equal(clerk_keyset_select(pemks, NULL, &k), CLERK_OK);
    assert_ptr_equal(k, APR_ARRAY_IDX(pemks->keys, 0, clerk_key_t *));
    k = NULL;
    assert_int_equal(clerk_keyset_select(pemks, "anything", &k), CLERK_OK);
    assert_ptr_equal(k, APR_ARRAY_IDX(pemks->keys, 0, clerk_key_t *));
}

static void test_select_no_kid_several_kidless(void **state)
{
    const char *n = fixture_n_b64(UNIT_POOL);
    const char *doc = apr_psprintf(UNIT_POOL,
        "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"},{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\",\"kid\":\"x\"}]}",
        n, n);
    clerk_keyset_t *ks;
    const char *err;
    const clerk_key_t *k = NULL;

    assert_int_equal(jwks(UNIT_POOL, doc, &ks, &err), APR_SUCCESS);
    assert_int_equal(clerk_keyset_select(ks, NULL, &k), CLERK_JWK_KID_MISMATCH);
    assert_int_equal(clerk_keyset_select(ks, "x", &k), CLERK_OK);
    unit_assert_str(k->kid, "x");
    /* a single kid-less key answers a token that has a kid?  No: kids must match. */
    doc = apr_psprintf(UNIT_POOL, "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}]}", n);
    assert_int_equal(jwks(UNIT_POOL, doc, &ks, &err), APR_SUCCESS);
    assert_int_equal(clerk_keyset_select(ks, "x", &k), CLERK_JWK_KID_MISMATCH);
    assert_int_equal(clerk_keyset_select(ks, NULL, &k), CLERK_OK);
}

/* ------------------------------------------------------------------ to_jwk */

static void test_key_to_jwk(void **state)
{
    clerk_keyset_t *ks = unit_pem_keyset(UNIT_POOL, UNIT_VEC_CLERK "keys/mock-pem-key.public.pem");
    json_t *expected = unit_load_json(UNIT_POOL, UNIT_VEC_CLERK "keys/mock-pem-key.expected-jwk.json");
    const char *err;
    char *text = clerk_key_to_jwk(UNIT_POOL, only_key(ks), "local-test-kid");
    json_t *j = clerk_json_parse_object(UNIT_POOL, text, strlen(text), &err);
    clerk_keyset_t *back;

    assert_non_null(j);
    unit_assert_str(clerk_json_string(j, "kty"), "RSA");
    unit_assert_str(clerk_json_string(j, "alg"), "RS256");
    unit_assert_str(clerk_json_string(j, "use"), "sig");
    unit_assert_str(clerk_json_string(j, "kid"), clerk_json_string(expected, "kid"));
    unit_assert_str(clerk_json_string(j, "n"), clerk_json_string(expected, "n"));
    unit_assert_str(clerk_json_string(j, "e"), clerk_json_string(expected, "e"));
    /* and it loads back as a JWKS */
    assert_int_equal(jwks(UNIT_POOL, apr_pstrcat(UNIT_POOL, "{\"keys\":[", text, "]}", NULL), &back, &err),
                     APR_SUCCESS);
    unit_assert_str(only_key(back)->kid, "local-test-kid");
    /* without a kid */
    text = clerk_key_to_jwk(UNIT_POOL, only_key(ks), NULL);
    j = clerk_json_parse_object(UNIT_POOL, text, strlen(text), &err);
    assert_non_null(j);
    assert_null(json_object_get(j, "kid"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_pem_spki),
        UNIT_TEST(test_pem_all_fixture_public_keys),
        UNIT_TEST(test_pem_crlf),
        UNIT_TEST(test_pem_pkcs1),
        UNIT_TEST(test_pem_bare_body),
        UNIT_TEST(test_pem_bare_body_broken),
        UNIT_TEST(test_pem_private_refused),
        UNIT_TEST(test_pem_garbage),
        UNIT_TEST(test_pem_too_large),
        UNIT_TEST(test_pem_not_rsa),
        UNIT_TEST(test_pem_weak_keys),
        UNIT_TEST(test_pem_file_loaders),
        UNIT_TEST(test_file_too_large),
        UNIT_TEST(test_jwks_fixture),
        UNIT_TEST(test_jwks_mixed_valid_and_invalid),
        UNIT_TEST(test_jwks_skip_note_names_sane_kid_only),
        UNIT_TEST(test_jwks_boundaries),
        UNIT_TEST(test_jwks_roca_key_refused),
        UNIT_TEST(test_jwks_duplicate_kid),
        UNIT_TEST(test_jwks_not_a_key_set),
        UNIT_TEST(test_jwks_deep_nesting),
        UNIT_TEST(test_select),
        UNIT_TEST(test_select_no_kid_several_kidless),
        UNIT_TEST(test_key_to_jwk),
    };
    return UNIT_RUN(tests);
}
