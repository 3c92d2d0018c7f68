/*
 * A per-process memory of recent Backend API verdicts on opaque tokens, so
 * that a token Clerk has just refused (revoked, unknown), or has just
 * vouched for, is not sent again at once: a client retrying a dead token in
 * a loop, or a good token re-checked for revocation, is not charged to the
 * instance's rate limit each time.  The module keeps one memory per verdict
 * it wants to repeat (refusals for a few seconds, good tokens for longer).
 *
 * Keyed by a 32-byte digest the caller computes (such as SHA-256 over the
 * secret and the token; never the token itself), so the memory holds no
 * credential.  Bounded: the entries are allocated once, at creation, in
 * sets of CLERK_VERDICT_WAYS; a key can only live in the set its first
 * bytes pick, and a new key takes the place, in that set, of the entry that
 * expires first — an expired one when there is one, otherwise, for a memory
 * whose verdicts all last as long, the oldest.  A flood of distinct keys
 * therefore costs no memory; it only pushes older verdicts out, which then
 * cost one more Backend API call.  Striped mutexes make it safe for the
 * threads of a process; nothing here is on the JWT path.
 *
 * Create it per process, in child_init: a memory created before fork is
 * copied into each child and works, but each copy is then that child's
 * own, and the parent's copy is wasted.
 */
#ifndef CLERK_VERDICT_MEMORY_H
#define CLERK_VERDICT_MEMORY_H

#include <apr_pools.h>

#define CLERK_VERDICT_KEY_LEN 32
#define CLERK_VERDICT_WAYS 8

typedef struct clerk_verdict_memory clerk_verdict_memory_t;

/*
 * A memory of capacity entries (rounded up to a multiple of
 * CLERK_VERDICT_WAYS; capacity >= 1), its entries and mutexes in p.
 */
apr_status_t clerk_verdict_memory_create(clerk_verdict_memory_t **out, apr_pool_t *p,
                                         unsigned capacity);

/*
 * Remember key, with the caller's verdict (such as the reason of a refusal,
 * to give it again), until Unix second until (> 0), replacing what was
 * remembered for it; may push out another key's verdict.
 */
void clerk_verdict_memory_remember(clerk_verdict_memory_t *m, const unsigned char *key,
                                   apr_int64_t until, int verdict);

/*
 * 1 when key is remembered and now (Unix seconds) is before its until, with
 * its verdict in *verdict (verdict may be NULL); else 0.
 */
int clerk_verdict_memory_recall(clerk_verdict_memory_t *m, const unsigned char *key,
                                apr_int64_t now, int *verdict);

/* Forget key (when a later verdict contradicts the remembered one). */
void clerk_verdict_memory_forget(clerk_verdict_memory_t *m, const unsigned char *key);

/* Entries the memory can hold, and those it holds now, live or expired (for tests). */
unsigned clerk_verdict_memory_capacity(const clerk_verdict_memory_t *m);
unsigned clerk_verdict_memory_size(clerk_verdict_memory_t *m);

#endif
