/*
 * The parsed headers of tokens that verified under one key set, found by the
 * header segment's exact bytes.
 *
 * A JWS header's parse (base64url, JSON, the rules of clerk_jws_parse) is a
 * function of its bytes alone, so a hit gives exactly what decoding and
 * parsing them again would.  Clerk signs all of an instance's tokens with the
 * same header for each kid, so in the server this spares every new token the
 * header's base64url and JSON work: about a tenth of its RSA verification
 * (issue 13).
 *
 * Only a header whose signature verified is put here (clerk_jws_verify), so a
 * client cannot fill the slots with headers of its own; once the slots are
 * taken, other headers are parsed as before.  Readers take no lock: a slot is
 * published once, by compare-and-swap, and its entry is freed only when the
 * key set's pool is cleared, when no request holds the set any more.
 */
#ifndef CLERK_JWS_HEADER_MEMO_H
#define CLERK_JWS_HEADER_MEMO_H

#include <apr_pools.h>

/* Distinct headers kept per key set: a few per kid is plenty. */
#define CLERK_JWS_HEADER_MEMO_SLOTS 16
/* Longer header segments are not kept (Clerk's are about 100 bytes). */
#define CLERK_JWS_HEADER_MEMO_MAX_SEGMENT 1024

/* What clerk_jws_parse takes from a header that passed its rules. */
typedef struct clerk_jws_header {
    const char *alg;                    /* RS256, RS384 or RS512 */
    const char *kid, *typ;              /* NULL when absent */
    const char *cat;                    /* NULL when absent or not a string */
    int has_cat;                        /* a cat member of any JSON type */
} clerk_jws_header_t;

typedef struct clerk_jws_header_memo clerk_jws_header_memo_t;

/*
 * An empty memo, freed with its entries when p is cleared; NULL when out of
 * memory, which get and put take as a memo that keeps nothing.
 */
clerk_jws_header_memo_t *clerk_jws_header_memo_create(apr_pool_t *p);

/*
 * 1 and *out set, its strings copied into p, when the len bytes at segment
 * are exactly a kept header segment; 0 otherwise.  Safe from any thread.
 */
int clerk_jws_header_memo_get(const clerk_jws_header_memo_t *m, apr_pool_t *p,
                              const char *segment, apr_size_t len, clerk_jws_header_t *out);

/*
 * Keep h as the parse of the len bytes at segment, unless they are kept
 * already, too long, or every slot is taken.  Safe from any thread.
 */
void clerk_jws_header_memo_put(clerk_jws_header_memo_t *m, const char *segment, apr_size_t len,
                               const clerk_jws_header_t *h);

#endif
