/*
 * Sealed values for the shared cache (ClerkCache).  A shared cache is a
 * trust boundary: whoever can write to the Redis or memcached behind it must
 * not be able to make the module believe anything.  So every value the
 * module stores there is encrypted and authenticated with AES-256-GCM
 * (OpenSSL EVP) under a key of its own purpose, derived from the cache key
 * with HKDF-SHA-256, and bound, as associated data, to the name it is stored
 * under: a value copied to another name or purpose, cut, altered or made
 * under another cache key does not open.  Its expiry is sealed with it, so a
 * copy replayed after its time does not open either.
 *
 * The names values are stored under are HMAC-SHA-256 of the logical name (a
 * token's digest, a key set's URL) under a naming key derived the same way:
 * the cache holds no token, URL or claim in clear.
 *
 * Every server of a fleet derives the same keys from the same cache key, and
 * so reads what the others wrote.
 */
#ifndef CLERK_SEAL_H
#define CLERK_SEAL_H

#include <apr_pools.h>
#include <apr_time.h>

/* The shortest cache key accepted (bytes of key material). */
#define CLERK_SEAL_MIN_KEY 32
/* The longest value sealed or opened (a key set body is the largest). */
#define CLERK_SEAL_MAX_VALUE (256 * 1024)
/* The length of a store name, and of a sealed value beyond its value. */
#define CLERK_SEAL_NAME_LEN 52
#define CLERK_SEAL_OVERHEAD 37

/* What a value is for: each purpose has its own key and name space. */
typedef enum {
    CLERK_SEAL_KEYSET = 0,      /* a key set body, fetched by one process for all */
    CLERK_SEAL_LEASE,           /* who fetches a key set now (one for the fleet) */
    CLERK_SEAL_VERDICT,         /* the Backend API's verdict on an opaque token */
    CLERK_SEAL_BUDGET,          /* the fleet's Backend API budget */
    CLERK_SEAL_M2M,             /* an M2M token Apache obtained to call with */
    CLERK_SEAL_PURPOSES
} clerk_seal_purpose_t;

typedef struct clerk_seal_keys clerk_seal_keys_t;

/*
 * The keys of every purpose, derived from key material (>= CLERK_SEAL_MIN_KEY
 * bytes, else APR_EINVAL; APR_EGENERAL when OpenSSL fails), in p.  The key
 * material is not kept.
 */
apr_status_t clerk_seal_keys_derive(apr_pool_t *p, const unsigned char *material,
                                    apr_size_t len, clerk_seal_keys_t **out);

/*
 * The name a value of purpose with logical name (len bytes) is stored under:
 * "clerk1:" then a letter for the purpose, ':' and 43 base64url characters of
 * the HMAC (CLERK_SEAL_NAME_LEN characters in all), in p; NULL only when
 * OpenSSL fails (or for no purpose of the list).
 */
const char *clerk_seal_store_name(const clerk_seal_keys_t *k, clerk_seal_purpose_t purpose,
                                  const void *name, apr_size_t len, apr_pool_t *p);

/*
 * value (len <= CLERK_SEAL_MAX_VALUE bytes) sealed for store_name until
 * expiry: *sealed (in p) is len + CLERK_SEAL_OVERHEAD bytes (a version byte,
 * a random 96-bit nonce, the ciphertext, the 128-bit tag).  APR_EINVAL for a
 * value too long, APR_EGENERAL when OpenSSL fails.
 */
apr_status_t clerk_seal(const clerk_seal_keys_t *k, clerk_seal_purpose_t purpose,
                        const char *store_name, apr_time_t expiry, const void *value,
                        apr_size_t len, apr_pool_t *p, unsigned char **sealed,
                        apr_size_t *sealed_len);

/*
 * Open what was read under store_name: APR_SUCCESS with *value (in p, with a
 * NUL after its *len bytes) and *expiry (either may be NULL); APR_TIMEUP when
 * it opened but expired at or before now; APR_EGENERAL when it does not open
 * (altered, cut, another name, purpose or key, an unknown version): the
 * caller ignores it and counts it.
 */
apr_status_t clerk_unseal(const clerk_seal_keys_t *k, clerk_seal_purpose_t purpose,
                          const char *store_name, apr_time_t now,
                          const unsigned char *sealed, apr_size_t sealed_len, apr_pool_t *p,
                          unsigned char **value, apr_size_t *len, apr_time_t *expiry);

#endif
