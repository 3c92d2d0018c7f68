/*
 * A per-process cache of verified tokens, so the same token (a browser or a
 * service sends its ~60 s token with every request) is verified once.
 *
 * Keyed by a keyed PRF over the token and its verification context (never
 * the token itself); bounded (CLOCK eviction); sharded locks held only for
 * lookups and inserts, never while a signature is checked.  An entry is one
 * malloc'd block holding a frozen copy of the claims model and of the
 * exported variables, so a hit costs no parsing and no formatting.  Entries
 * expire at exp + clock skew and are ignored once the key set they were
 * verified against has been replaced (a new generation).  Entries are
 * refcounted: eviction never frees one a request still uses.  A JWT enters
 * the cache on its second verification (clerk_token_cache_admit).
 */
#ifndef CLERK_TOKEN_CACHE_H
#define CLERK_TOKEN_CACHE_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "clerk_claims.h"

#define CLERK_TOKEN_CACHE_KEY_LEN 32

typedef struct clerk_token_cache clerk_token_cache_t;
typedef struct clerk_cached_token clerk_cached_token_t;

/*
 * A cache of exactly capacity entries at most (every token can be cached,
 * whatever the capacity), in p; NULL when capacity is 0.
 */
clerk_token_cache_t *clerk_token_cache_create(apr_pool_t *p, unsigned capacity);

/* After fork, in each process that serves requests: create the locks. */
apr_status_t clerk_token_cache_child_init(clerk_token_cache_t *c, apr_pool_t *pchild);

/*
 * SHA-256 of data, and of a string list joined with '\n' (NULL: all zero).
 * 0 when OpenSSL failed (out of memory): out is then all zero and must not
 * be used to tell things apart.
 */
int clerk_digest(const void *data, apr_size_t len, unsigned char out[CLERK_TOKEN_CACHE_KEY_LEN]);
int clerk_digest_list(apr_pool_t *p, const apr_array_header_t *list,
                      unsigned char out[CLERK_TOKEN_CACHE_KEY_LEN]);

/*
 * The key for token under a verification context (opaque bytes): a keyed
 * 128-bit PRF (SipHash-2-4-128) with a random per-process key, so only
 * comparable within this process; 0 when it could not be computed (no
 * random key), and then the cache must not be consulted.
 */
int clerk_token_cache_key(const char *token, apr_size_t len, const void *context,
                          apr_size_t context_len, unsigned char key[CLERK_TOKEN_CACHE_KEY_LEN]);

/*
 * A live entry for key verified under key-set generation, not expired at
 * now (Unix seconds); NULL otherwise.  An expired entry, or one verified
 * under an older generation, is dropped; one verified under a newer
 * generation (this request still holds the previous key set) is kept.
 * Release the entry with clerk_token_cache_release
 * (clerk_token_cache_release_on registers that).
 */
clerk_cached_token_t *clerk_token_cache_get(clerk_token_cache_t *c, const unsigned char *key,
                                            apr_uint64_t generation, apr_int64_t now);

/*
 * Insert a copy of a verified token's claims and variables, valid until
 * expires_at (Unix seconds).  Returns the new entry (held, like get), or
 * NULL when it could not be stored.
 */
clerk_cached_token_t *clerk_token_cache_put(clerk_token_cache_t *c, const unsigned char *key,
                                            apr_uint64_t generation, apr_int64_t expires_at,
                                            const clerk_claims_t *claims,
                                            const apr_array_header_t *vars);

/*
 * Whether a verified token's key should be put in the cache now: 0 the first
 * time the key is seen (it is remembered), 1 the next time (clerk_doorkeeper.h).
 * Worth it where a miss is cheap next to an insert, as for a JWT; an answer
 * of the Backend API is put at once.
 */
int clerk_token_cache_admit(clerk_token_cache_t *c, const unsigned char *key);

const clerk_claims_t *clerk_cached_token_claims(const clerk_cached_token_t *e);
/* clerk_var_t entries (clerk_export.h) */
const apr_array_header_t *clerk_cached_token_vars(const clerk_cached_token_t *e);

void clerk_token_cache_release(clerk_token_cache_t *c, clerk_cached_token_t *e);
/* Release e when pool p (a request pool) is cleared. */
void clerk_token_cache_release_on(apr_pool_t *p, clerk_token_cache_t *c,
                                  clerk_cached_token_t *e);

/*
 * Count hits, misses, inserts and evictions into m (clerk_metrics.h), shared
 * by the processes; before the children fork (or before any thread uses c).
 */
struct clerk_metrics;
void clerk_token_cache_count_into(clerk_token_cache_t *c, struct clerk_metrics *m);

/* Entries currently held (for tests). */
unsigned clerk_token_cache_size(clerk_token_cache_t *c);

#endif
