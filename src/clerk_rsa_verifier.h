/*
 * RSASSA-PKCS1-v1_5 verification contexts made once per key and algorithm
 * and reused, so that a request neither fetches the digest and signature
 * implementations again nor initialises a context (about 3 µs a token).
 *
 * OpenSSL documents that EVP_PKEY_verify() may be called again on the same
 * context with the same parameters, and that a context must not be used by
 * two threads at once.  So each verifier keeps free lists of initialised
 * contexts, one per thread stripe (src/clerk_thread_stripe.h), so that the
 * threads verifying with one key do not all take one lock: a verification
 * takes a context from its thread's stripe (or makes one when all of that
 * stripe's are in use), verifies, and puts it back there.  A stripe's list
 * grows to the largest number of its threads verifying with the key at
 * once, which the MPM's threads bound.
 */
#ifndef CLERK_RSA_VERIFIER_H
#define CLERK_RSA_VERIFIER_H

#include <apr_pools.h>
#include <openssl/evp.h>

/* The JWS algorithms a key can verify. */
typedef enum { CLERK_RS256, CLERK_RS384, CLERK_RS512, CLERK_RS_COUNT } clerk_rs_alg_t;

/* RS256/RS384/RS512 as a clerk_rs_alg_t, or -1 for anything else. */
int clerk_rs_alg_from_name(const char *alg);

/* The digest name of an RS* algorithm ("SHA256", …). */
const char *clerk_rs_alg_digest(clerk_rs_alg_t alg);

typedef struct clerk_rsa_verifier clerk_rsa_verifier_t;

/*
 * A verifier for pkey (an RSA public key) and alg, living as long as p; NULL
 * when OpenSSL cannot provide one.  pkey must outlive p's cleanups.
 */
clerk_rsa_verifier_t *clerk_rsa_verifier_make(apr_pool_t *p, EVP_PKEY *pkey,
                                              clerk_rs_alg_t alg);

/* 1 when sig is a valid signature of msg; safe from any number of threads. */
int clerk_rsa_verifier_check(clerk_rsa_verifier_t *v, const unsigned char *msg, size_t msg_len,
                             const unsigned char *sig, size_t sig_len);

#endif
