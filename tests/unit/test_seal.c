/*
 * Sealed values of the shared cache (src/clerk_seal.c): what was sealed opens
 * to the same bytes; nothing altered, cut, extended, moved to another name or
 * purpose, made under another cache key, of another version or out of its
 * time opens; the bounds on key material and values; the store names a fleet
 * shares; and threads sealing with one set of keys (TSan run too).
 *
 * The format itself is pinned by an independent construction with OpenSSL
 * (oracle_*): servers of a fleet running different releases must read each
 * other's values, and it also makes authentic blobs that clerk_seal would
 * never make (another version, too long), to show that the bounds refuse
 * them rather than the tag.
 */
#include "unit.h"

#include <apr_atomic.h>
#include <apr_thread_proc.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "clerk_seal.h"

#define NOW ((apr_time_t)1700000000 * APR_USEC_PER_SEC)
#define LATER (NOW + 60 * APR_USEC_PER_SEC)

static clerk_seal_keys_t *keys_of(apr_pool_t *p, unsigned n)
{
    unsigned char material[32];
    clerk_seal_keys_t *k = NULL;

    unit_key_of(n, "material", material);
    assert_int_equal(clerk_seal_keys_derive(p, material, sizeof(material), &k), APR_SUCCESS);
    assert_non_null(k);
    return k;
}

static const char *name_of(apr_pool_t *p, const clerk_seal_keys_t *k,
                           clerk_seal_purpose_t purpose, const char *name)
{
    const char *s = clerk_seal_store_name(k, purpose, name, strlen(name), p);
    assert_non_null(s);
    return s;
}

static unsigned char *seal(apr_pool_t *p, const clerk_seal_keys_t *k,
                           clerk_seal_purpose_t purpose, const char *store_name,
                           const void *value, apr_size_t len, apr_size_t *sealed_len)
{
    unsigned char *s = NULL;
    assert_int_equal(clerk_seal(k, purpose, store_name, LATER, value, len, p, &s, sealed_len),
                     APR_SUCCESS);
    assert_int_equal(*sealed_len, len + CLERK_SEAL_OVERHEAD);
    return s;
}

/* clerk_unseal at NOW, outputs discarded. */
static apr_status_t unseal(apr_pool_t *p, const clerk_seal_keys_t *k,
                           clerk_seal_purpose_t purpose, const char *store_name,
                           const unsigned char *sealed, apr_size_t sealed_len)
{
    return clerk_unseal(k, purpose, store_name, NOW, sealed, sealed_len, p, NULL, NULL, NULL);
}

/* Opens at NOW to exactly value (len bytes), NUL after it, expiring LATER. */
static void assert_opens_to(apr_pool_t *p, const clerk_seal_keys_t *k,
                            clerk_seal_purpose_t purpose, const char *store_name,
                            const unsigned char *sealed, apr_size_t sealed_len,
                            const void *value, apr_size_t len)
{
    unsigned char *v = NULL;
    apr_size_t vlen = 0;
    apr_time_t expiry = 0;

    assert_int_equal(clerk_unseal(k, purpose, store_name, NOW, sealed, sealed_len, p, &v, &vlen,
                                  &expiry), APR_SUCCESS);
    assert_int_equal(vlen, len);
    assert_non_null(v);
    if (len)
        assert_memory_equal(v, value, len);
    assert_int_equal(v[len], '\0');
    assert_int_equal(expiry, LATER);
}

/* ---- the independent construction ---- */

static void oracle_hkdf(const unsigned char *material, size_t len, const char *label,
                        unsigned char out[32])
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0),
        OSSL_PARAM_construct_octet_string("key", (void *)material, len),
        OSSL_PARAM_construct_octet_string("salt", "mod_auth_clerk ClerkCache v1", 28),
        OSSL_PARAM_construct_octet_string("info", (void *)label, strlen(label)),
        OSSL_PARAM_END
    };
    assert_int_equal(EVP_KDF_derive(ctx, out, 32, params), 1);
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
}

/*
 * version || nonce || AES-256-GCM(key of label; be64(expiry) || value) || tag,
 * associated data version || purpose || store name.
 */
static unsigned char *oracle_seal(apr_pool_t *p, const unsigned char material[32],
                                  const char *label, unsigned char version,
                                  clerk_seal_purpose_t purpose, const char *store_name,
                                  apr_time_t expiry, const unsigned char *value, size_t len,
                                  apr_size_t *sealed_len)
{
    unsigned char key[32], head[2] = { version, (unsigned char)purpose };
    unsigned char *out = apr_palloc(p, len + 37), *plain = apr_palloc(p, len + 8);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n;

    oracle_hkdf(material, 32, label, key);
    for (int i = 0; i < 8; i++)
        plain[i] = (unsigned char)((apr_uint64_t)expiry >> (56 - 8 * i));
    memcpy(plain + 8, value, len);
    out[0] = version;
    memset(out + 1, 0x5a, 12);     /* any nonce does */
    assert_int_equal(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, out + 1), 1);
    assert_int_equal(EVP_EncryptUpdate(ctx, NULL, &n, head, 2), 1);
    assert_int_equal(EVP_EncryptUpdate(ctx, NULL, &n, (const unsigned char *)store_name,
                                       (int)strlen(store_name)), 1);
    assert_int_equal(EVP_EncryptUpdate(ctx, out + 13, &n, plain, (int)(len + 8)), 1);
    assert_int_equal(EVP_EncryptFinal_ex(ctx, out + 13 + len + 8, &n), 1);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, out + 21 + len), 1);
    EVP_CIPHER_CTX_free(ctx);
    *sealed_len = len + 37;
    return out;
}

/* ---- round trips ---- */

static void test_round_trip(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_seal_keys_t *k = keys_of(p, 1);
    const char *sn = name_of(p, k, CLERK_SEAL_KEYSET, "https://clerk.example.com/.well-known/jwks.json");
    apr_size_t lens[] = { 0, 1, 2, 1000, CLERK_SEAL_MAX_VALUE };
    unsigned char *big = apr_palloc(p, CLERK_SEAL_MAX_VALUE);

    for (apr_size_t i = 0; i < CLERK_SEAL_MAX_VALUE; i++)
        big[i] = (unsigned char)(i * 7 + (i >> 8));    /* NULs included */
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        apr_size_t sl;
        unsigned char *s = seal(p, k, CLERK_SEAL_KEYSET, sn, big, lens[i], &sl);
        assert_opens_to(p, k, CLERK_SEAL_KEYSET, sn, s, sl, big, lens[i]);
    }
}

/* The value (no pointer needed) and the expiry may each be left out. */
static void test_outputs_may_be_null(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_seal_keys_t *k = keys_of(p, 1);
    const char *sn = name_of(p, k, CLERK_SEAL_VERDICT, "t");
    apr_size_t sl, vlen = 0;
    unsigned char *s = seal(p, k, CLERK_SEAL_VERDICT, sn, "ok", 2, &sl), *v = NULL;
    apr_time_t expiry = 0;

    assert_int_equal(clerk_unseal(k, CLERK_SEAL_VERDICT, sn, NOW, s, sl, p, NULL, NULL, &expiry),
                     APR_SUCCESS);
    assert_int_equal(expiry, LATER);
    assert_int_equal(clerk_unseal(k, CLERK_SEAL_VERDICT, sn, NOW, s, sl, p, &v, &vlen, NULL),
                     APR_SUCCESS);
    assert_int_equal(vlen, 2);
    assert_memory_equal(v, "ok", 3);
}

/* ---- what does not open ---- */

static void test_every_bit_flip_fails(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_seal_keys_t *k = keys_of(p, 1);
    const char *sn = name_of(p, k, CLERK_SEAL_VERDICT, "token digest");
    apr_size_t sl;
    unsigned char *s = seal(p, k, CLERK_SEAL_VERDICT, sn, "sub=user_1", 10, &sl);
    unsigned char *copy = apr_pmemdup(p, s, sl);

    assert_opens_to(p, k, CLERK_SEAL_VERDICT, sn, copy, sl, "sub=user_1", 10);
    for (apr_size_t bit = 0; bit < sl * 8; bit++) {
        copy[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        if (unseal(p, k, CLERK_SEAL_VERDICT, sn, copy, sl) != APR_EGENERAL)
            fail_msg("a value with bit %zu flipped opened", (size_t)bit);
        copy[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    }
    assert_opens_to(p, k, CLERK_SEAL_VERDICT, sn, copy, sl, "sub=user_1", 10);
}

static void test_every_truncation_fails(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_seal_keys_t *k = keys_of(p, 1);
    const char *sn = name_of(p, k, CLERK_SEAL_BUDGET, "fleet");
    apr_size_t sl;
    unsigned char *s = seal(p, k, CLERK_SEAL_BUDGET, sn, "budget=42", 9, &sl);
    unsigned char *longer = apr_palloc(p, sl + 1);

    for (apr_size_t cut = 0; cut < sl; cut++) {
        /* a copy of just the prefix, so that ASan sees any read past it */
        unsigned char *prefix = apr_pmemdup(p, s, cut ? cut : 1);
        if (unseal(p, k, CLERK_SEAL_BUDGET, sn, prefix, cut) != APR_EGENERAL)
            fail_msg("a value cut to %zu bytes opened", (size_t)cut);
    }
    /* nor does one with a byte added */
    memcpy(longer, s, sl);
    longer[sl] = 0;
    assert_int_equal(unseal(p, k, CLERK_SEAL_BUDGET, sn, longer, sl + 1), APR_EGENERAL);
}

static void test_bound_to_the_store_name(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_seal_keys_t *k = keys_of(p, 1);
    const char *sn = name_of(p, k, CLERK_SEAL_VERDICT, "token a");
    const char *other = name_of(p, k, CLERK_SEAL_VERDICT, "token b");
    char *last_changed = apr_pstrdup(p, sn);
    apr_size_t sl;
    unsigned char *s = seal(p, k, CLERK_SEAL_VERDICT, sn, "active", 6, &sl);

    last_changed[CLERK_SEAL_NAME_LEN - 1] ^= 1;
    assert_int_equal(unseal(p, k, CLERK_SEAL_VERDICT, other, s, sl), APR_EGENERAL);
    assert_int_equal(unseal(p, k, CLERK_SEAL_VERDICT, last_changed, s, sl), APR_EGENERAL);
    assert_int_equal(unseal(p, k, CLERK_SEAL_VERDICT, "", s, sl), APR_EGENERAL);
    assert_int_equal(unseal(p, k, CLERK_SEAL_VERDICT, apr_pstrcat(p, sn, "x", NULL), s, sl),
                     APR_EGENERAL);
    assert_opens_to(p, k, CLERK_SEAL_VERDICT, sn, s, sl, "active", 6);
}

/* The same store name read as another purpose (another key) does not open. */
static void test_bound_to_the_purpose(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_seal_keys_t *k = keys_of(p, 1);

    for (int from = 0; from < CLERK_SEAL_PURPOSES; from++) {
        const char *sn = name_of(p, k, from, "name");
        apr_size_t sl;
        unsigned char *s = seal(p, k, from, sn, "value", 5, &sl);
        for (int to = 0; to < CLERK_SEAL_PURPOSES; to++) {
            if (to != from)
                assert_int_equal(unseal(p, k, to, sn, s, sl), APR_EGENERAL);
        }
        assert_opens_to(p, k, from, sn, s, sl, "value", 5);
    }
}

/* A value stored again under another purpose's name for the same logical name does not open. */
static void test_relabelled_to_another_purpose_fails(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_seal_keys_t *k = keys_of(p, 1);

    for (int from = 0; from < CLERK_SEAL_PURPOSES; from++) {
        apr_size_t sl;
        unsigned char *s = seal(p, k, from, name_of(p, k, from, "shared name"), "v", 1, &sl);
        for (int to = 0; to < CLERK_SEAL_PURPOSES; to++) {
            if (to != from)
                assert_int_equal(unseal(p, k, to, name_of(p, k, to, "shared name"), s, sl),
                                 APR_EGENERAL);
        }
    }
}

/*
 * Keys derived from other material open nothing; keys derived again from the
 * same material (another server of the fleet) open everything.
 */
static void test_bound_to_the_key_material(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_seal_keys_t *k = keys_of(p, 1), *same = keys_of(p, 1), *other = keys_of(p, 2);
    const char *sn = name_of(p, k, CLERK_SEAL_M2M, "machine");
    apr_size_t sl;
    unsigned char *s = seal(p, k, CLERK_SEAL_M2M, sn, "mt_token", 8, &sl);

    assert_int_equal(unseal(p, other, CLERK_SEAL_M2M, sn, s, sl), APR_EGENERAL);
    assert_opens_to(p, same, CLERK_SEAL_M2M, sn, s, sl, "mt_token", 8);
}

/* Opens before its expiry, at and after it APR_TIMEUP, and nothing is handed back. */
static void test_expiry(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_seal_keys_t *k = keys_of(p, 1);
    const char *sn = name_of(p, k, CLERK_SEAL_LEASE, "jwks url");
    apr_size_t sl, vlen = 99;
    unsigned char *s = seal(p, k, CLERK_SEAL_LEASE, sn, "pid 7", 5, &sl), *v = NULL;
    apr_time_t expiry = 1;
    const apr_time_t at[] = { LATER, LATER + 1, LATER + APR_USEC_PER_SEC * 3600 };

    assert_int_equal(clerk_unseal(k, CLERK_SEAL_LEASE, sn, LATER - 1, s, sl, p, &v, &vlen,
                                  &expiry), APR_SUCCESS);
    assert_int_equal(expiry, LATER);
    for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
        v = NULL;
        vlen = 99;
        expiry = 1;
        assert_int_equal(clerk_unseal(k, CLERK_SEAL_LEASE, sn, at[i], s, sl, p, &v, &vlen,
                                      &expiry), APR_TIMEUP);
        assert_null(v);
        assert_int_equal(vlen, 99);
        assert_int_equal(expiry, 1);
    }
}

/* A value that does not open hands back nothing, not even a part. */
static void test_failure_hands_back_nothing(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_seal_keys_t *k = keys_of(p, 1);
    const char *sn = name_of(p, k, CLERK_SEAL_KEYSET, "url");
    apr_size_t sl, vlen = 99;
    unsigned char *s = seal(p, k, CLERK_SEAL_KEYSET, sn, "{\"keys\":[]}", 11, &sl), *v = NULL;
    apr_time_t expiry = 1;

    s[sl - 1] ^= 0x80;      /* the tag */
    assert_int_equal(clerk_unseal(k, CLERK_SEAL_KEYSET, sn, NOW, s, sl, p, &v, &vlen, &expiry),
                     APR_EGENERAL);
    assert_null(v);
    assert_int_equal(vlen, 99);
    assert_int_equal(expiry, 1);
}

static void test_unknown_version_fails(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_seal_keys_t *k = keys_of(p, 1);
    const char *sn = name_of(p, k, CLERK_SEAL_KEYSET, "url");
    apr_size_t sl;
    unsigned char *s = seal(p, k, CLERK_SEAL_KEYSET, sn, "body", 4, &sl);
    const unsigned char versions[] = { 0, 2, 0x81, 0xff };

    assert_int_equal(s[0], 1);
    for (size_t i = 0; i < sizeof(versions); i++) {
        s[0] = versions[i];
        assert_int_equal(unseal(p, k, CLERK_SEAL_KEYSET, sn, s, sl), APR_EGENERAL);
    }
}

/* ---- the format, pinned ---- */

static void test_format_is_pinned(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    unsigned char material[32], naming[32], mac[32];
    unsigned char purpose_byte = CLERK_SEAL_VERDICT;
    unsigned int mac_len = 0;
    clerk_seal_keys_t *k = keys_of(p, 1);
    const char *sn = name_of(p, k, CLERK_SEAL_VERDICT, "token digest");
    unsigned char *msg = apr_palloc(p, 1 + 12), *s;
    apr_size_t sl;

    unit_key_of(1, "material", material);
    /* the store name: HMAC-SHA-256(naming key, purpose byte || name) */
    oracle_hkdf(material, sizeof(material), "store-name", naming);
    msg[0] = purpose_byte;
    memcpy(msg + 1, "token digest", 12);
    assert_non_null(HMAC(EVP_sha256(), naming, 32, msg, 13, mac, &mac_len));
    unit_assert_str(sn, apr_pstrcat(p, "clerk1:v:", clerk_b64url_encode(p, mac, 32), NULL));
    /* a value sealed independently opens, with its expiry */
    s = oracle_seal(p, material, "verdict", 1, CLERK_SEAL_VERDICT, sn, LATER,
                    (const unsigned char *)"active", 6, &sl);
    assert_opens_to(p, k, CLERK_SEAL_VERDICT, sn, s, sl, "active", 6);
    /* the key of each purpose is the HKDF of its label */
    {
        const char *labels[] = { "keyset", "lease", "verdict", "budget", "m2m" };
        for (int i = 0; i < CLERK_SEAL_PURPOSES; i++) {
            s = oracle_seal(p, material, labels[i], 1, i, "n", LATER, (const unsigned char *)"x",
                            1, &sl);
            assert_opens_to(p, k, i, "n", s, sl, "x", 1);
        }
    }
}

/* An authentic value of another version is refused by its version, not its tag. */
static void test_authentic_other_version_is_refused(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    unsigned char material[32];
    clerk_seal_keys_t *k = keys_of(p, 1);
    apr_size_t sl;
    unsigned char *s;

    unit_key_of(1, "material", material);
    s = oracle_seal(p, material, "keyset", 2, CLERK_SEAL_KEYSET, "n", LATER,
                    (const unsigned char *)"body", 4, &sl);
    assert_int_equal(unseal(p, k, CLERK_SEAL_KEYSET, "n", s, sl), APR_EGENERAL);
}

/* An authentic value one byte longer than CLERK_SEAL_MAX_VALUE is refused; one of it opens. */
static void test_authentic_oversized_is_refused(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    unsigned char material[32];
    clerk_seal_keys_t *k = keys_of(p, 1);
    unsigned char *big = apr_pcalloc(p, CLERK_SEAL_MAX_VALUE + 1), *s;
    apr_size_t sl;

    unit_key_of(1, "material", material);
    s = oracle_seal(p, material, "keyset", 1, CLERK_SEAL_KEYSET, "n", LATER, big,
                    CLERK_SEAL_MAX_VALUE + 1, &sl);
    assert_int_equal(unseal(p, k, CLERK_SEAL_KEYSET, "n", s, sl), APR_EGENERAL);
    s = oracle_seal(p, material, "keyset", 1, CLERK_SEAL_KEYSET, "n", LATER, big,
                    CLERK_SEAL_MAX_VALUE, &sl);
    assert_opens_to(p, k, CLERK_SEAL_KEYSET, "n", s, sl, big, CLERK_SEAL_MAX_VALUE);
}

/* ---- bounds ---- */

static void test_key_material_bound(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    unsigned char material[CLERK_SEAL_MIN_KEY + 1];
    clerk_seal_keys_t *k = NULL;

    memset(material, 0x42, sizeof(material));
    assert_int_equal(clerk_seal_keys_derive(p, material, 0, &k), APR_EINVAL);
    assert_int_equal(clerk_seal_keys_derive(p, material, CLERK_SEAL_MIN_KEY - 1, &k), APR_EINVAL);
    assert_null(k);
    assert_int_equal(clerk_seal_keys_derive(p, material, CLERK_SEAL_MIN_KEY, &k), APR_SUCCESS);
    assert_non_null(k);
    k = NULL;
    assert_int_equal(clerk_seal_keys_derive(p, material, sizeof(material), &k), APR_SUCCESS);
    assert_non_null(k);
}

/* The keys are derived at once: the material may be wiped as soon as derive returns. */
static void test_material_is_not_kept(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    unsigned char material[32];
    clerk_seal_keys_t *k = NULL, *fresh = keys_of(p, 1);
    apr_size_t sl;
    unsigned char *s;

    unit_key_of(1, "material", material);
    assert_int_equal(clerk_seal_keys_derive(p, material, sizeof(material), &k), APR_SUCCESS);
    memset(material, 0, sizeof(material));
    unit_assert_str(name_of(p, k, CLERK_SEAL_KEYSET, "n"), name_of(p, fresh, CLERK_SEAL_KEYSET, "n"));
    s = seal(p, k, CLERK_SEAL_KEYSET, "n", "v", 1, &sl);
    assert_opens_to(p, fresh, CLERK_SEAL_KEYSET, "n", s, sl, "v", 1);
}

static void test_value_bound(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_seal_keys_t *k = keys_of(p, 1);
    unsigned char *big = apr_pcalloc(p, CLERK_SEAL_MAX_VALUE + 1), *s = NULL;
    apr_size_t sl = 7;

    assert_int_equal(clerk_seal(k, CLERK_SEAL_KEYSET, "n", LATER, big, CLERK_SEAL_MAX_VALUE + 1,
                                p, &s, &sl), APR_EINVAL);
    assert_null(s);
    assert_int_equal(sl, 7);
    assert_int_equal(clerk_seal(k, CLERK_SEAL_KEYSET, "n", LATER, big, CLERK_SEAL_MAX_VALUE, p,
                                &s, &sl), APR_SUCCESS);
}

/* A purpose beyond the list has no key: refused, never read out of bounds. */
static void test_unknown_purpose_is_refused(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_seal_keys_t *k = keys_of(p, 1);
    apr_size_t sl;
    unsigned char *s = NULL, *ok = seal(p, k, CLERK_SEAL_M2M, "n", "v", 1, &sl);

    assert_null(clerk_seal_store_name(k, CLERK_SEAL_PURPOSES, "n", 1, p));
    assert_null(clerk_seal_store_name(k, (clerk_seal_purpose_t)-1, "n", 1, p));
    assert_int_equal(clerk_seal(k, CLERK_SEAL_PURPOSES, "n", LATER, "v", 1, p, &s, &sl),
                     APR_EINVAL);
    assert_int_equal(clerk_seal(k, (clerk_seal_purpose_t)-1, "n", LATER, "v", 1, p, &s, &sl),
                     APR_EINVAL);
    assert_null(s);
    assert_int_equal(unseal(p, k, CLERK_SEAL_PURPOSES, "n", ok, sl), APR_EGENERAL);
    /* (far beyond the keys: unchecked, this would read unmapped memory) */
    assert_int_equal(unseal(p, k, (clerk_seal_purpose_t)-1, "n", ok, sl), APR_EGENERAL);
}

/* ---- store names ---- */

static void test_store_name_format(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_seal_keys_t *k = keys_of(p, 1);
    const char letters[] = "klvbm";

    for (int purpose = 0; purpose < CLERK_SEAL_PURPOSES; purpose++) {
        const char *sn = name_of(p, k, purpose, "https://clerk.example.com/.well-known/jwks.json");
        assert_int_equal(strlen(sn), CLERK_SEAL_NAME_LEN);
        assert_memory_equal(sn, "clerk1:", 7);
        assert_int_equal(sn[7], letters[purpose]);
        assert_int_equal(sn[8], ':');
        for (int i = 9; i < CLERK_SEAL_NAME_LEN; i++) {
            if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", sn[i]))
                fail_msg("%s: '%c' is not base64url", sn, sn[i]);
        }
    }
    /* an empty name and one with NULs have names too */
    assert_int_equal(strlen(clerk_seal_store_name(k, CLERK_SEAL_LEASE, "", 0, p)),
                     CLERK_SEAL_NAME_LEN);
    assert_int_equal(strlen(clerk_seal_store_name(k, CLERK_SEAL_LEASE, "a\0b", 3, p)),
                     CLERK_SEAL_NAME_LEN);
}

static void test_store_names_differ_and_repeat(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_seal_keys_t *k = keys_of(p, 1), *again = keys_of(p, 1), *other = keys_of(p, 2);
    const char *n = name_of(p, k, CLERK_SEAL_VERDICT, "token");

    /* deterministic, and the same for another server deriving from the same material */
    unit_assert_str(name_of(p, k, CLERK_SEAL_VERDICT, "token"), n);
    unit_assert_str(name_of(p, again, CLERK_SEAL_VERDICT, "token"), n);
    /* other material, other name, other purpose: other store names (beyond the letter) */
    assert_string_not_equal(name_of(p, other, CLERK_SEAL_VERDICT, "token"), n);
    assert_string_not_equal(name_of(p, k, CLERK_SEAL_VERDICT, "token2"), n);
    assert_string_not_equal(clerk_seal_store_name(k, CLERK_SEAL_VERDICT, "token", 4, p), n);
    for (int a = 0; a < CLERK_SEAL_PURPOSES; a++)
        for (int b = a + 1; b < CLERK_SEAL_PURPOSES; b++)
            assert_string_not_equal(name_of(p, k, a, "token") + 9, name_of(p, k, b, "token") + 9);
}

static void test_nonces_differ(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_seal_keys_t *k = keys_of(p, 1);
    apr_size_t la, lb;
    unsigned char *a = seal(p, k, CLERK_SEAL_VERDICT, "n", "same", 4, &la);
    unsigned char *b = seal(p, k, CLERK_SEAL_VERDICT, "n", "same", 4, &lb);

    assert_int_equal(la, lb);
    assert_memory_not_equal(a + 1, b + 1, 12);
    assert_memory_not_equal(a + 13, b + 13, la - 13);   /* so the ciphertexts and tags too */
}

/* ---- threads ---- */

#define THREADS 4
#define OPS 500

typedef struct {
    const clerk_seal_keys_t *k;
    volatile apr_uint32_t *go;
    unsigned id, failures;
} worker_t;

static void seal_and_open(void *arg, unsigned i, const unsigned char key[32])
{
    worker_t *w = arg;
    apr_pool_t *p;
    const char *sn;
    unsigned char *s, *v;
    apr_size_t sl, vlen;
    clerk_seal_purpose_t purpose = (clerk_seal_purpose_t)(i % CLERK_SEAL_PURPOSES);

    if (apr_pool_create_unmanaged_ex(&p, NULL, NULL) != APR_SUCCESS) {
        w->failures++;
        return;
    }
    sn = clerk_seal_store_name(w->k, purpose, key, 32, p);
    if (!sn || clerk_seal(w->k, purpose, sn, LATER, key, 32, p, &s, &sl) != APR_SUCCESS
        || clerk_unseal(w->k, purpose, sn, NOW, s, sl, p, &v, &vlen, NULL) != APR_SUCCESS
        || vlen != 32 || memcmp(v, key, 32))
        w->failures++;
    apr_pool_destroy(p);
}

static void *APR_THREAD_FUNC worker(apr_thread_t *t, void *data)
{
    worker_t *w = data;
    unit_for_own_keys(w->id, w->go, OPS, seal_and_open, w);
    return NULL;
}

static void test_threads_share_the_keys(void **state)
{
    clerk_seal_keys_t *k = keys_of(UNIT_POOL, 1);
    volatile apr_uint32_t go = 0;
    worker_t w[THREADS];

    for (unsigned i = 0; i < THREADS; i++)
        w[i] = (worker_t){ .k = k, .go = &go, .id = i };
    unit_run_threads(UNIT_POOL, THREADS, worker, w, sizeof(w[0]), &go);
    for (unsigned i = 0; i < THREADS; i++)
        assert_int_equal(w[i].failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_round_trip),
        UNIT_TEST(test_outputs_may_be_null),
        UNIT_TEST(test_every_bit_flip_fails),
        UNIT_TEST(test_every_truncation_fails),
        UNIT_TEST(test_bound_to_the_store_name),
        UNIT_TEST(test_bound_to_the_purpose),
        UNIT_TEST(test_relabelled_to_another_purpose_fails),
        UNIT_TEST(test_bound_to_the_key_material),
        UNIT_TEST(test_expiry),
        UNIT_TEST(test_failure_hands_back_nothing),
        UNIT_TEST(test_unknown_version_fails),
        UNIT_TEST(test_format_is_pinned),
        UNIT_TEST(test_authentic_other_version_is_refused),
        UNIT_TEST(test_authentic_oversized_is_refused),
        UNIT_TEST(test_key_material_bound),
        UNIT_TEST(test_material_is_not_kept),
        UNIT_TEST(test_value_bound),
        UNIT_TEST(test_unknown_purpose_is_refused),
        UNIT_TEST(test_store_name_format),
        UNIT_TEST(test_store_names_differ_and_repeat),
        UNIT_TEST(test_nonces_differ),
        UNIT_TEST(test_threads_share_the_keys),
    };
    return UNIT_RUN(tests);
}
