/*
 * JWS compact serialisation (RFC 7515): parsing with size limits, the header
 * rules of the contract (alg allow-list, crit/b64/zip refused, jku/x5u/jwk/x5c
 * never consulted) and RSASSA-PKCS1-v1_5 verification through OpenSSL EVP
 * over the exact header.payload bytes.  The payload stays raw bytes here: it
 * is parsed as JSON only after the signature verified (clerk_verify).
 */
#ifndef CLERK_JWS_H
#define CLERK_JWS_H

#include <apr_pools.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "clerk_key.h"
#include "clerk_reason.h"

/* Default bound on a whole token; ClerkMaxTokenSize is not a directive. */
#define CLERK_TOKEN_MAX_LEN (16u * 1024u)

typedef struct clerk_jws {
    const char *signing_input;          /* "header.payload", as received */
    apr_size_t signing_input_len;
    apr_size_t header_len;              /* of the header segment, signing_input's start */
    int header_known;                   /* taken from the key set's header memo */
    const unsigned char *payload;       /* decoded, NUL-terminated */
    apr_size_t payload_len;
    const unsigned char *sig;
    apr_size_t sig_len;
    const char *alg;                    /* always one of RS256/RS384/RS512 */
    const char *kid, *typ;              /* NULL when absent */
    const char *cat;                    /* NULL when absent or not a string */
    int has_cat;                        /* a cat member of any JSON type */
} clerk_jws_t;

/*
 * Split and decode a compact JWS of len bytes (at most max_len).  Refuses,
 * in this order: anything but 3 base64url segments with a non-empty header,
 * or a header that is not a JSON object (CLERK_TOKEN_INVALID); an alg outside
 * RS256/RS384/RS512 (CLERK_TOKEN_INVALID_ALGORITHM, whatever the signature
 * segment holds, as Clerk); an empty signature, crit/b64/zip or a non-string
 * kid/typ (CLERK_TOKEN_INVALID).  cat is left to the caller: its meaning
 * depends on the token type.  *detail gets a short log message.
 */
clerk_reason_t clerk_jws_parse(apr_pool_t *p, const char *token, apr_size_t len,
                               apr_size_t max_len, clerk_jws_t **out,
                               const char **detail);

/*
 * The same, for a token to be verified with ks (NULL: none yet): a header
 * that verified under ks before is taken from its memo, byte for byte the
 * same parse without decoding it again (clerk_jws_header_memo.h).
 */
clerk_reason_t clerk_jws_parse_for(apr_pool_t *p, const char *token, apr_size_t len,
                                   apr_size_t max_len, const clerk_keyset_t *ks,
                                   clerk_jws_t **out, const char **detail);

/*
 * Choose the key by kid and check the signature with it.  The token's alg
 * must match the key's JWK alg when the key has one; the signature must be
 * exactly as long as the modulus.  A header that verified goes into ks's
 * header memo.
 */
clerk_reason_t clerk_jws_verify(const clerk_jws_t *jws, const clerk_keyset_t *ks,
                                const char **detail);

/* 1 when sig is a valid RSASSA-PKCS1-v1_5 signature of msg under key with alg. */
int clerk_rsa_verify(const clerk_key_t *key, const char *alg,
                     const unsigned char *msg, apr_size_t msg_len,
                     const unsigned char *sig, apr_size_t sig_len);

/*
 * Sign: returns "b64(header).b64(payload).b64(sig)" or NULL.  Used by the CLI
 * and the tests to mint tokens; the module never signs.
 */
char *clerk_jws_sign(apr_pool_t *p, EVP_PKEY *priv, const char *alg,
                     const char *header_json, const char *payload_json);

#endif
