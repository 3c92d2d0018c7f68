/*
 * SipHash-2-4-128 (src/clerk_siphash.c): the reference implementation's
 * first test vectors, the same output as OpenSSL's EVP_MAC "SIPHASH" (size
 * 16) for every length that exercises a word boundary and for random keys,
 * and the same output whatever pieces the message is absorbed in.
 */
#include "unit.h"

#include <openssl/rand.h>

#include "clerk_siphash.h"

static void siphash(const unsigned char *key, const unsigned char *m, size_t len,
                    unsigned char out[CLERK_SIPHASH_OUT_LEN])
{
    clerk_siphash_t s;
    clerk_siphash_init(&s, key);
    clerk_siphash_update(&s, m, len);
    clerk_siphash_final(&s, out);
}

static void openssl_siphash(const unsigned char *key, const unsigned char *m, size_t len,
                            unsigned char out[CLERK_SIPHASH_OUT_LEN])
{
    size_t size = CLERK_SIPHASH_OUT_LEN, n = 0;
    OSSL_PARAM params[] = { OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
                            OSSL_PARAM_END };
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);

    assert_non_null(ctx);
    assert_true(EVP_MAC_init(ctx, key, CLERK_SIPHASH_KEY_LEN, params));
    assert_true(EVP_MAC_update(ctx, m, len));
    assert_true(EVP_MAC_final(ctx, out, &n, CLERK_SIPHASH_OUT_LEN));
    assert_int_equal(n, CLERK_SIPHASH_OUT_LEN);
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
}

/* vectors.h of the reference implementation: key 00..0f, message 00..len-1 */
static void test_reference_vectors(void **state)
{
    static const unsigned char want[3][16] = {
        { 0xa3, 0x81, 0x7f, 0x04, 0xba, 0x25, 0xa8, 0xe6,
          0x6d, 0xf6, 0x72, 0x14, 0xc7, 0x55, 0x02, 0x93 },
        { 0xda, 0x87, 0xc1, 0xd8, 0x6b, 0x99, 0xaf, 0x44,
          0x34, 0x76, 0x59, 0x11, 0x9b, 0x22, 0xfc, 0x45 },
        { 0x81, 0x77, 0x22, 0x8d, 0xa4, 0xa4, 0x5d, 0xc7,
          0xfc, 0xa3, 0x8b, 0xde, 0xf6, 0x0a, 0xff, 0xe4 },
    };
    unsigned char key[16], m[16], out[16];

    for (int i = 0; i < 16; i++)
        key[i] = m[i] = (unsigned char)i;
    for (size_t len = 0; len < 3; len++) {
        siphash(key, m, len, out);
        assert_memory_equal(out, want[len], 16);
    }
}

static void test_same_as_openssl(void **state)
{
    unsigned char key[16], m[300], a[16], b[16];

    for (int round = 0; round < 20; round++) {
        assert_int_equal(RAND_bytes(key, sizeof(key)), 1);
        assert_int_equal(RAND_bytes(m, sizeof(m)), 1);
        for (size_t len = 0; len <= sizeof(m); len += round < 2 ? 1 : 37) {
            siphash(key, m, len, a);
            openssl_siphash(key, m, len, b);
            assert_memory_equal(a, b, 16);
        }
    }
}

/* Any split into pieces, including empty ones and ones inside a word. */
static void test_pieces(void **state)
{
    unsigned char key[16], m[200], whole[16], pieces[16];

    assert_int_equal(RAND_bytes(key, sizeof(key)), 1);
    assert_int_equal(RAND_bytes(m, sizeof(m)), 1);
    siphash(key, m, sizeof(m), whole);
    for (size_t first = 0; first <= 20; first++)
        for (size_t second = 0; second <= 20; second++) {
            clerk_siphash_t s;
            clerk_siphash_init(&s, key);
            clerk_siphash_update(&s, m, first);
            clerk_siphash_update(&s, m + first, 0);
            clerk_siphash_update(&s, m + first, second);
            clerk_siphash_update(&s, m + first + second, sizeof(m) - first - second);
            clerk_siphash_final(&s, pieces);
            assert_memory_equal(whole, pieces, 16);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_reference_vectors),
        UNIT_TEST(test_same_as_openssl),
        UNIT_TEST(test_pieces),
    };
    return UNIT_RUN(tests);
}
