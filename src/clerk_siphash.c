#include "clerk_siphash.h"

#include <string.h>

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

/* The four state words are locals (v0..v3) wherever this is used: kept in registers. */
#define SIPROUND                                                        \
    do {                                                                \
        v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);       \
        v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                          \
        v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                          \
        v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);       \
    } while (0)

/* One message word: two compression rounds (the "2" of SipHash-2-4). */
#define COMPRESS(m)                                                     \
    do {                                                                \
        uint64_t m_ = (m);                                              \
        v3 ^= m_;                                                       \
        SIPROUND;                                                       \
        SIPROUND;                                                       \
        v0 ^= m_;                                                       \
    } while (0)

#define LOAD_STATE uint64_t v0 = s->v0, v1 = s->v1, v2 = s->v2, v3 = s->v3
#define SAVE_STATE (s->v0 = v0, s->v1 = v1, s->v2 = v2, s->v3 = v3)

static uint64_t load_le64(const unsigned char *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof(w));       /* one unaligned load */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    return w;
}

static void store_le64(unsigned char *p, uint64_t w)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(w >> (8 * i));
}

void clerk_siphash_init(clerk_siphash_t *s, const unsigned char key[CLERK_SIPHASH_KEY_LEN])
{
    uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);

    s->v0 = k0 ^ 0x736f6d6570736575ULL;
    s->v1 = k1 ^ 0x646f72616e646f6dULL ^ 0xee;     /* 0xee: the 128-bit output variant */
    s->v2 = k0 ^ 0x6c7967656e657261ULL;
    s->v3 = k1 ^ 0x7465646279746573ULL;
    s->tail = 0;
    s->len = 0;
}

void clerk_siphash_update(clerk_siphash_t *s, const void *data, size_t len)
{
    const unsigned char *p = data;
    unsigned have = (unsigned)(s->len & 7);
    uint64_t tail = s->tail;
    LOAD_STATE;

    s->len += len;
    /* complete a word begun by an earlier piece */
    for (; have && len; len--, have = (have + 1) & 7) {
        tail |= (uint64_t)*p++ << (8 * have);
        if (have == 7) {
            COMPRESS(tail);
            tail = 0;
        }
    }
    if (!have) {
        for (; len >= 8; p += 8, len -= 8)
            COMPRESS(load_le64(p));
        for (unsigned i = 0; i < len; i++)
            tail |= (uint64_t)p[i] << (8 * i);
    }
    s->tail = tail;
    SAVE_STATE;
}

void clerk_siphash_final(clerk_siphash_t *s, unsigned char out[CLERK_SIPHASH_OUT_LEN])
{
    LOAD_STATE;

    COMPRESS(s->tail | (uint64_t)s->len << 56);
    v2 ^= 0xee;
    for (int i = 0; i < 4; i++)     /* the "4": finalization rounds */
        SIPROUND;
    store_le64(out, v0 ^ v1 ^ v2 ^ v3);
    v1 ^= 0xdd;
    for (int i = 0; i < 4; i++)
        SIPROUND;
    store_le64(out + 8, v0 ^ v1 ^ v2 ^ v3);
    SAVE_STATE;
}
