#include "clerk_seal.h"

#include "clerk_be64.h"
#include "clerk_base64url.h"

#include <apr_strings.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <string.h>

/*
 * A sealed value: VERSION, a 96-bit nonce, then AES-256-GCM of (the expiry,
 * 8 bytes big-endian µs, then the value), then the 128-bit tag.  The
 * associated data is VERSION, the purpose and the store name, so that none
 * of them can be changed without the tag failing.
 *
 * The nonce is random: a fleet has no counter it could share.  With 96
 * random bits, 2^32 seals under one purpose's key keep the chance of a
 * repeated nonce below 2^-32 (NIST SP 800-38D §8.3); rotating the cache key
 * starts the count again.
 */
#define VERSION 1
#define NONCE_LEN 12
#define EXPIRY_LEN CLERK_BE64_LEN
#define TAG_LEN 16
#define KEY_LEN 32
#define MAC_LEN 32
#define NAME_PREFIX "clerk1:"
_Static_assert(1 + NONCE_LEN + EXPIRY_LEN + TAG_LEN == CLERK_SEAL_OVERHEAD,
               "the layout is what clerk_seal.h announces");
_Static_assert(sizeof(NAME_PREFIX) - 1 + 2 + (MAC_LEN * 8 + 5) / 6 == CLERK_SEAL_NAME_LEN,
               "prefix, letter, ':' and the unpadded base64url of the HMAC");
_Static_assert(CLERK_SEAL_MAX_VALUE + CLERK_SEAL_OVERHEAD < (1u << 30),
               "lengths given to OpenSSL fit in an int");

/*
 * The salt names the scheme: the same cache key used for anything else
 * yields unrelated keys.  The labels (HKDF info) separate the purposes and
 * must never change: servers of a fleet running different releases derive
 * their keys from them.
 */
static const char SALT[] = "mod_auth_clerk ClerkCache v1";
static const char *const LABELS[CLERK_SEAL_PURPOSES] = { "keyset", "lease", "verdict", "budget",
                                                         "m2m" };
static const char NAMING_LABEL[] = "store-name";
static const char LETTERS[] = "klvbm";
_Static_assert(sizeof(LETTERS) - 1 == CLERK_SEAL_PURPOSES, "a letter per purpose");

struct clerk_seal_keys {
    unsigned char sealing[CLERK_SEAL_PURPOSES][KEY_LEN];   /* AES-256-GCM, one per purpose */
    unsigned char naming[KEY_LEN];                          /* HMAC-SHA-256 of store names */
    /* fetched once: a fetch takes a lock and searches the providers */
    EVP_CIPHER *aes_gcm;
    EVP_MAC *hmac;
};

static apr_status_t keys_cleanup(void *data)
{
    clerk_seal_keys_t *k = data;

    OPENSSL_cleanse(k->sealing, sizeof(k->sealing));
    OPENSSL_cleanse(k->naming, sizeof(k->naming));
    EVP_CIPHER_free(k->aes_gcm);
    EVP_MAC_free(k->hmac);
    k->aes_gcm = NULL;
    k->hmac = NULL;
    return APR_SUCCESS;
}

static int valid_purpose(clerk_seal_purpose_t purpose)
{
    return (unsigned)purpose < CLERK_SEAL_PURPOSES;
}

/* HKDF-SHA-256 (extract and expand, RFC 5869) of the material with SALT and label. */
static int hkdf(EVP_KDF *kdf, const unsigned char *material, apr_size_t len, const char *label,
                unsigned char out[KEY_LEN])
{
    EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)material, len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)SALT, sizeof(SALT) - 1),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)label, strlen(label)),
        OSSL_PARAM_END
    };
    int ok = ctx && EVP_KDF_derive(ctx, out, KEY_LEN, params) == 1;

    EVP_KDF_CTX_free(ctx);      /* it cleanses its copy of the material */
    return ok;
}

apr_status_t clerk_seal_keys_derive(apr_pool_t *p, const unsigned char *material,
                                    apr_size_t len, clerk_seal_keys_t **out)
{
    clerk_seal_keys_t *k;
    EVP_KDF *kdf;
    int ok;

    if (len < CLERK_SEAL_MIN_KEY)
        return APR_EINVAL;
    k = apr_pcalloc(p, sizeof(*k));
    apr_pool_cleanup_register(p, k, keys_cleanup, apr_pool_cleanup_null);
    kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    ok = kdf && (k->aes_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL))
         && (k->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL))
         && hkdf(kdf, material, len, NAMING_LABEL, k->naming);
    for (int i = 0; ok && i < CLERK_SEAL_PURPOSES; i++)
        ok = hkdf(kdf, material, len, LABELS[i], k->sealing[i]);
    EVP_KDF_free(kdf);
    if (!ok) {
        apr_pool_cleanup_run(p, k, keys_cleanup);
        return APR_EGENERAL;
    }
    *out = k;
    return APR_SUCCESS;
}

const char *clerk_seal_store_name(const clerk_seal_keys_t *k, clerk_seal_purpose_t purpose,
                                  const void *name, apr_size_t len, apr_pool_t *p)
{
    unsigned char purpose_byte = (unsigned char)purpose, mac[MAC_LEN];
    char letter[2];
    size_t mac_len = 0;
    OSSL_PARAM params[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
                            OSSL_PARAM_END };
    EVP_MAC_CTX *ctx;
    int ok;

    if (!valid_purpose(purpose))
        return NULL;
    /* a context per call: the keys are shared by every thread */
    ctx = EVP_MAC_CTX_new(k->hmac);
    ok = ctx && EVP_MAC_init(ctx, k->naming, KEY_LEN, params) == 1
         && EVP_MAC_update(ctx, &purpose_byte, 1) == 1 && EVP_MAC_update(ctx, name, len) == 1
         && EVP_MAC_final(ctx, mac, &mac_len, sizeof(mac)) == 1 && mac_len == MAC_LEN;
    EVP_MAC_CTX_free(ctx);
    if (!ok)
        return NULL;
    letter[0] = LETTERS[purpose];
    letter[1] = '\0';
    return apr_pstrcat(p, NAME_PREFIX, letter, ":", clerk_b64url_encode(p, mac, MAC_LEN), NULL);
}

/*
 * ctx set for the key of purpose and nonce (encrypt or decrypt), the
 * associated data given.  The store name comes last, so the associated data
 * reads one way only.  Store names are the module's own (CLERK_SEAL_NAME_LEN
 * characters), far from an int's range.
 */
static int begin(EVP_CIPHER_CTX *ctx, const clerk_seal_keys_t *k, clerk_seal_purpose_t purpose,
                 const char *store_name, const unsigned char *nonce, int encrypt)
{
    const unsigned char head[2] = { VERSION, (unsigned char)purpose };
    int n;

    return EVP_CipherInit_ex2(ctx, k->aes_gcm, k->sealing[purpose], nonce, encrypt, NULL) == 1
           && EVP_CipherUpdate(ctx, NULL, &n, head, sizeof(head)) == 1
           && EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)store_name,
                               (int)strlen(store_name)) == 1;
}

/*
 * GCM is a stream mode: each update writes as many bytes as it reads and the
 * final call writes none, so the ciphertext lies exactly where the plaintext
 * would.
 */
apr_status_t clerk_seal(const clerk_seal_keys_t *k, clerk_seal_purpose_t purpose,
                        const char *store_name, apr_time_t expiry, const void *value,
                        apr_size_t len, apr_pool_t *p, unsigned char **sealed,
                        apr_size_t *sealed_len)
{
    unsigned char expiry_be[EXPIRY_LEN], *out, *nonce, *body, *tag;
    EVP_CIPHER_CTX *ctx;
    int n, ok;

    if (!valid_purpose(purpose) || len > CLERK_SEAL_MAX_VALUE)
        return APR_EINVAL;
    clerk_be64_put(expiry_be, (apr_uint64_t)expiry);
    out = apr_palloc(p, len + CLERK_SEAL_OVERHEAD);
    out[0] = VERSION;
    nonce = out + 1;
    body = nonce + NONCE_LEN;
    tag = body + EXPIRY_LEN + len;
    ctx = EVP_CIPHER_CTX_new();
    ok = ctx && RAND_bytes(nonce, NONCE_LEN) == 1 && begin(ctx, k, purpose, store_name, nonce, 1)
         && EVP_EncryptUpdate(ctx, body, &n, expiry_be, EXPIRY_LEN) == 1
         && (len == 0 || EVP_EncryptUpdate(ctx, body + EXPIRY_LEN, &n, value, (int)len) == 1)
         && EVP_EncryptFinal_ex(ctx, tag, &n) == 1
         && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, tag) == 1;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok)
        return APR_EGENERAL;
    *sealed = out;
    *sealed_len = len + CLERK_SEAL_OVERHEAD;
    return APR_SUCCESS;
}

apr_status_t clerk_unseal(const clerk_seal_keys_t *k, clerk_seal_purpose_t purpose,
                          const char *store_name, apr_time_t now,
                          const unsigned char *sealed, apr_size_t sealed_len, apr_pool_t *p,
                          unsigned char **value, apr_size_t *len, apr_time_t *expiry)
{
    unsigned char tag[TAG_LEN], *plain;
    apr_size_t body_len;
    apr_uint64_t at = 0;
    EVP_CIPHER_CTX *ctx;
    int n, ok;

    /* what the store gave is bounded before any arithmetic or allocation */
    if (!valid_purpose(purpose) || sealed_len < CLERK_SEAL_OVERHEAD
        || sealed_len > CLERK_SEAL_MAX_VALUE + CLERK_SEAL_OVERHEAD || sealed[0] != VERSION)
        return APR_EGENERAL;
    body_len = sealed_len - 1 - NONCE_LEN - TAG_LEN;        /* the expiry and the value */
    memcpy(tag, sealed + sealed_len - TAG_LEN, TAG_LEN);
    plain = apr_palloc(p, body_len + 1);
    ctx = EVP_CIPHER_CTX_new();
    /* the tag is checked by EVP_DecryptFinal_ex, in constant time */
    ok = ctx && begin(ctx, k, purpose, store_name, sealed + 1, 0)
         && EVP_DecryptUpdate(ctx, plain, &n, sealed + 1 + NONCE_LEN, (int)body_len) == 1
         && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, tag) == 1
         && EVP_DecryptFinal_ex(ctx, plain + body_len, &n) == 1;
    EVP_CIPHER_CTX_free(ctx);
    if (ok) {
        at = clerk_be64_get(plain);
        if ((apr_time_t)at > now) {
            plain[body_len] = '\0';
            if (value)
                *value = plain + EXPIRY_LEN;
            if (len)
                *len = body_len - EXPIRY_LEN;
            if (expiry)
                *expiry = (apr_time_t)at;
            return APR_SUCCESS;
        }
    }
    /* nothing of a value that did not open, or has expired, stays readable in p */
    OPENSSL_cleanse(plain, body_len);
    return ok ? APR_TIMEUP : APR_EGENERAL;
}
