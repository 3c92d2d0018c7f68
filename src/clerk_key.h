/*
 * Verification keys and key sets.  Keys are parsed once (configuration time
 * or when a JWKS is fetched) into EVP_PKEY and never per request.  Only RSA
 * keys of at least CLERK_KEY_MIN_BITS with a sane public exponent are
 * accepted; a JWK that fails any rule is skipped with a note, so one bad key
 * never poisons the rest of a set.
 */
#ifndef CLERK_KEY_H
#define CLERK_KEY_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <openssl/evp.h>

#include "clerk_jws_header_memo.h"
#include "clerk_reason.h"
#include "clerk_rsa_verifier.h"

#define CLERK_KEY_MIN_BITS 2048
#define CLERK_KEY_MAX_BITS 16384
#define CLERK_KID_MAX_LEN 256
/* Largest JWKS document or PEM file we accept. */
#define CLERK_KEYDOC_MAX_LEN (1u << 20)

typedef struct clerk_key {
    const char *kid;        /* NULL when the key has none (PEM) */
    const char *alg;        /* JWK "alg" when given: the only alg it verifies */
    EVP_PKEY *pkey;         /* freed when the owning pool is cleared */
    int bits;
    /* one per RS* alg, freed with the pool; NULL if OpenSSL could not make it */
    clerk_rsa_verifier_t *verifiers[CLERK_RS_COUNT];
} clerk_key_t;

typedef struct clerk_keyset {
    /* clerk_key_t * entries */
    apr_array_header_t *keys;
    /* const char * notes, one per key skipped at load, for the error log */
    apr_array_header_t *skipped;
    /*
     * Set for a key configured as PEM: Clerk's SDK ignores the token's kid on
     * that path, and so do we (the set holds exactly one key).
     */
    int ignore_kid;
    /* the headers of tokens that verified under this set (clerk_jws) */
    clerk_jws_header_memo_t *header_memo;
} clerk_keyset_t;

/*
 * A PEM "PUBLIC KEY" (SPKI) or "RSA PUBLIC KEY" block, or the bare base64
 * body the Clerk dashboard shows.  Returns a one-key set with ignore_kid,
 * bound to RS256 as in Clerk's SDK.
 */
apr_status_t clerk_keyset_from_pem(apr_pool_t *p, const char *text, apr_size_t len,
                                   clerk_keyset_t **out, const char **err);

/*
 * A JWKS document {"keys":[...]}.  Unusable keys are skipped (noted in
 * ->skipped); keys sharing a kid are all dropped, since either could be meant.
 * Fails when the document is not a JWKS or no usable key remains.
 */
apr_status_t clerk_keyset_from_jwks(apr_pool_t *p, const char *json, apr_size_t len,
                                    clerk_keyset_t **out, const char **err);

/* Read a file (bounded by CLERK_KEYDOC_MAX_LEN) and parse it as PEM or JWKS. */
apr_status_t clerk_keyset_from_pem_file(apr_pool_t *p, const char *path,
                                        clerk_keyset_t **out, const char **err);
apr_status_t clerk_keyset_from_jwks_file(apr_pool_t *p, const char *path,
                                         clerk_keyset_t **out, const char **err);

/*
 * The key that must verify a token with this kid (NULL when the token has
 * none).  Returns CLERK_JWK_KID_MISMATCH when no key fits.
 */
clerk_reason_t clerk_keyset_select(const clerk_keyset_t *ks, const char *kid,
                                   const clerk_key_t **key);

/* SHA-256 over the set's public keys (DER) and kids: equal sets, equal digests. */
void clerk_keyset_digest(const clerk_keyset_t *ks, unsigned char out[32]);

/*
 * A public key of keytype ("RSA", or "RSA-PSS" for the tests of what the
 * policy refuses) from its modulus and exponent, with no check of either;
 * NULL when OpenSSL cannot build it.  The caller frees it.
 */
EVP_PKEY *clerk_rsa_public_from_n_e(const BIGNUM *n, const BIGNUM *e, const char *keytype);

/* Public key as a JWK object text {"kty":"RSA","n":..,"e":..[,"kid"]}. */
char *clerk_key_to_jwk(apr_pool_t *p, const clerk_key_t *key, const char *kid);

#endif
