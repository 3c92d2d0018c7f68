/*
 * A per-process cache of verified tokens, so the same token (a browser or a
 * service sends its ~60 s token with every request) is verified once.
 *
 * An entry holds the exact bytes of its JWT and of its verification
 * context (of a long-lived opaque token, a keyed PRF standing for both) and
 * is returned only for the same bytes; a keyed PRF of them (a random key per
 * process, so no client can aim at a shard or a slot) picks where it goes.
 * Bounded (CLOCK eviction; tokens over CLERK_TOKEN_CACHE_MAX_TOKEN are not
 * cached); sharded locks held only for lookups and inserts, never while a
 * signature is checked, and a front per thread stripe, so that a token
 * found again takes no lock the other threads take.  An entry is one
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
/* The bytes of an id's key the cache reads (the first of a clerk_token_cache_key). */
#define CLERK_TOKEN_CACHE_ID_KEY_LEN 16
/*
 * Longer tokens are not cached (a Clerk session token is ~1 KB): what an
 * entry copies of its token is bounded well below CLERK_TOKEN_MAX_LEN.
 */
#define CLERK_TOKEN_CACHE_MAX_TOKEN 4096u
#define CLERK_TOKEN_CACHE_MAX_CONTEXT 256u
/* The bytes at a token's end its slot key covers (clerk_token_cache_id). */
#define CLERK_TOKEN_CACHE_SLOT_TAIL 32u

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
 * 128-bit PRF (SipHash-2-4-128) of all of them with a random per-process
 * key, so only comparable within this process, and standing for them where
 * no bytes are kept (the Backend API's verdict memories and cache entries);
 * 0 when it could not be computed (no random key), and then the cache must
 * not be consulted.
 */
int clerk_token_cache_key(const char *token, apr_size_t len, const void *context,
                          apr_size_t context_len, unsigned char key[CLERK_TOKEN_CACHE_KEY_LEN]);

/*
 * What a cache entry is for: context and token are the bytes it must match
 * exactly to be returned, and that it keeps a copy of (the context is
 * opaque: the settings that decide the verification); key
 * (CLERK_TOKEN_CACHE_ID_KEY_LEN bytes) is a keyed PRF of them that picks
 * the entry's shard and slot and that the doorkeeper remembers:
 * clerk_token_cache_id's.  A token that must not be kept (a long-lived
 * opaque one) is given as the context alone, its clerk_token_cache_key
 * standing for it and its context, with an empty token.  The pointers must
 * stay valid for the call.
 */
typedef struct {
    const unsigned char *key;
    const void *context;
    apr_size_t context_len;
    const char *token;
    apr_size_t len;
} clerk_token_cache_id_t;

/*
 * id for token under context, its key written to key: the keyed PRF covers
 * the token's length, its last CLERK_TOKEN_CACHE_SLOT_TAIL bytes (for a JWT,
 * part of its signature) and an unkeyed mix of the context, since the
 * entry's byte comparison, not the key, tells tokens apart; a lookup so
 * hashes 48 bytes instead of the whole token and context.  0 as
 * clerk_token_cache_key.
 */
int clerk_token_cache_id(clerk_token_cache_id_t *id,
                         unsigned char key[CLERK_TOKEN_CACHE_ID_KEY_LEN], const char *token,
                         apr_size_t len, const void *context, apr_size_t context_len);

/*
 * A live entry for id verified under key-set generation, not expired at
 * now (Unix seconds); NULL otherwise.  An expired entry, or one verified
 * under an older generation, is dropped; one verified under a newer
 * generation (this request still holds the previous key set) is kept.
 * The entry is held until holder (the request's pool) is cleared: evicted
 * meanwhile, it is freed only then.  A token its thread stripe found in the
 * table before is found in the stripe's front, without the shard's lock.
 */
clerk_cached_token_t *clerk_token_cache_get(clerk_token_cache_t *c,
                                            const clerk_token_cache_id_t *id,
                                            apr_uint64_t generation, apr_int64_t now,
                                            apr_pool_t *holder);

/*
 * Insert a copy of a verified token's claims and variables (and of id's
 * bytes), valid until expires_at (Unix seconds).  Returns the new entry
 * (held by holder, as get's), or NULL when it could not be stored: out of memory, or
 * a token over CLERK_TOKEN_CACHE_MAX_TOKEN (a context over
 * CLERK_TOKEN_CACHE_MAX_CONTEXT) bytes.
 */
clerk_cached_token_t *clerk_token_cache_put(clerk_token_cache_t *c,
                                            const clerk_token_cache_id_t *id,
                                            apr_uint64_t generation, apr_int64_t expires_at,
                                            const clerk_claims_t *claims,
                                            const apr_array_header_t *vars, apr_pool_t *holder);

/*
 * Whether a verified token should be put in the cache now: 0 the first
 * time id's key is seen (it is remembered), 1 the next time (clerk_doorkeeper.h).
 * Worth it where a miss is cheap next to an insert, as for a JWT; an answer
 * of the Backend API is put at once.
 */
int clerk_token_cache_admit(clerk_token_cache_t *c, const clerk_token_cache_id_t *id);

const clerk_claims_t *clerk_cached_token_claims(const clerk_cached_token_t *e);
/* clerk_var_t entries (clerk_export.h) */
const apr_array_header_t *clerk_cached_token_vars(const clerk_cached_token_t *e);

/*
 * Count hits, misses, inserts and evictions into m (clerk_metrics.h), shared
 * by the processes; before the children fork (or before any thread uses c).
 */
struct clerk_metrics;
void clerk_token_cache_count_into(clerk_token_cache_t *c, struct clerk_metrics *m);

/* Entries currently held (for tests). */
unsigned clerk_token_cache_size(clerk_token_cache_t *c);

/* Entries the thread stripes' fronts currently give out, over all stripes (for tests). */
unsigned clerk_token_cache_front_size(clerk_token_cache_t *c);

#endif
