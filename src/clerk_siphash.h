/*
 * SipHash-2-4 with a 128-bit output (Aumasson and Bernstein), the keyed PRF
 * of the token cache's keys.  The same function as OpenSSL's EVP_MAC
 * "SIPHASH" with size 16, computed here because a token cache hit hashes a
 * ~1 KB token on every request: the EVP_MAC path (provider dispatch, parameter
 * lookups, a context per thread) cost more than the hash itself.  Streaming,
 * in any pieces; no allocation, no lock, no shared state.
 */
#ifndef CLERK_SIPHASH_H
#define CLERK_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define CLERK_SIPHASH_KEY_LEN 16
#define CLERK_SIPHASH_OUT_LEN 16

typedef struct {
    uint64_t v0, v1, v2, v3;
    uint64_t tail;                  /* the bytes of an incomplete word, little-endian */
    size_t len;                     /* bytes absorbed so far */
} clerk_siphash_t;

void clerk_siphash_init(clerk_siphash_t *s, const unsigned char key[CLERK_SIPHASH_KEY_LEN]);
void clerk_siphash_update(clerk_siphash_t *s, const void *data, size_t len);
void clerk_siphash_final(clerk_siphash_t *s, unsigned char out[CLERK_SIPHASH_OUT_LEN]);

#endif
