/* Strict base64url: round trips and every rejection path. */
#include "unit.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int decodes(apr_pool_t *p, const char *s, apr_size_t len)
{
    unsigned char *out = NULL;
    apr_size_t outlen = 0;
    return clerk_b64url_decode(p, s, len, &out, &outlen) == APR_SUCCESS;
}

#define DECODES(s) decodes(UNIT_POOL, (s), sizeof(s) - 1)

static void test_rfc4648_vectors(void **state)
{
    /* RFC 4648 §10, without padding. */
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const enc[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};

    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
        unsigned char *out = NULL;
        apr_size_t outlen = 99;
        unit_assert_str(unit_b64url_str(UNIT_POOL, plain[i]), enc[i]);
        assert_int_equal(clerk_b64url_decode(UNIT_POOL, enc[i], strlen(enc[i]), &out, &outlen),
                         APR_SUCCESS);
        assert_int_equal(outlen, strlen(plain[i]));
        assert_memory_equal(out, plain[i], outlen);
        assert_int_equal(out[outlen], '\0');        /* NUL-terminated for JSON callers */
    }
}

static void test_url_alphabet(void **state)
{
    /* 0xfb 0xff encodes as "+/8" in standard base64, "-_8" in base64url */
    static const unsigned char bytes[] = {0xfb, 0xff};
    unsigned char *out;
    apr_size_t outlen;

    unit_assert_str(clerk_b64url_encode(UNIT_POOL, bytes, 2), "-_8");
    assert_int_equal(clerk_b64url_decode(UNIT_POOL, "-_8", 3, &out, &outlen), APR_SUCCESS);
    assert_int_equal(outlen, 2);
    assert_memory_equal(out, bytes, 2);
    /* The standard alphabet is refused, character by character. */
    assert_false(DECODES("+_8"));
    assert_false(DECODES("-/8"));
    assert_false(DECODES("+/8"));
    assert_false(DECODES("AAA+"));
    assert_false(DECODES("AAA/"));
}

static void test_round_trip_all_lengths(void **state)
{
    unsigned char buf[300];

    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (unsigned char)(i * 37 + 11);
    for (apr_size_t len = 0; len <= sizeof(buf); len++) {
        char *enc = clerk_b64url_encode(UNIT_POOL, buf, len);
        unsigned char *out = NULL;
        apr_size_t outlen = 0;
        assert_int_equal(strlen(enc), (len * 4 + 2) / 3);   /* unpadded length */
        assert_null(strchr(enc, '='));
        assert_int_equal(strspn(enc, alphabet), strlen(enc));
        assert_int_equal(clerk_b64url_decode(UNIT_POOL, enc, strlen(enc), &out, &outlen),
                         APR_SUCCESS);
        assert_int_equal(outlen, len);
        if (len)
            assert_memory_equal(out, buf, len);
    }
}

static void test_round_trip_every_byte(void **state)
{
    unsigned char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    for (int shift = 0; shift < 3; shift++) {
        char *enc = clerk_b64url_encode(UNIT_POOL, all + shift, 256 - (apr_size_t)shift);
        unsigned char *out;
        apr_size_t outlen;
        assert_int_equal(clerk_b64url_decode(UNIT_POOL, enc, strlen(enc), &out, &outlen),
                         APR_SUCCESS);
        assert_int_equal(outlen, 256 - shift);
        assert_memory_equal(out, all + shift, outlen);
    }
}

static void test_empty(void **state)
{
    unsigned char *out = NULL;
    apr_size_t outlen = 42;

    assert_int_equal(clerk_b64url_decode(UNIT_POOL, "", 0, &out, &outlen), APR_SUCCESS);
    assert_int_equal(outlen, 0);
    assert_non_null(out);
    assert_int_equal(out[0], '\0');
    unit_assert_str(clerk_b64url_encode(UNIT_POOL, (const unsigned char *)"", 0), "");
}

static void test_padding_rejected(void **state)
{
    assert_true(DECODES("Zg"));
    assert_false(DECODES("Zg=="));
    assert_false(DECODES("Zg="));
    assert_true(DECODES("Zm8"));
    assert_false(DECODES("Zm8="));
    assert_false(DECODES("Zm9v===="));
    assert_false(DECODES("===="));
    assert_false(DECODES("Z=9v"));
}

static void test_whitespace_rejected(void **state)
{
    assert_true(DECODES("Zm9vYmFy"));
    assert_false(DECODES("Zm9v YmFy"));
    assert_false(DECODES("Zm9v\nYmFy"));
    assert_false(DECODES("Zm9v\r\nYmFy"));
    assert_false(DECODES("\tZm9vYmFy"));
    assert_false(DECODES("Zm9vYmFy "));
    assert_false(DECODES("Zm9vYm "));
}

static void test_invalid_characters(void **state)
{
    assert_false(DECODES("Zm9v*mFy"));
    assert_false(DECODES("Zm.v"));
    assert_false(DECODES("Zm9\x80"));
    assert_false(DECODES("Zm9\xff"));
    assert_false(DECODES("Zm\0v"));          /* embedded NUL, length includes it */
    assert_false(DECODES("Zm9vY\0"));        /* NUL in the tail */
    assert_false(DECODES("Zm9vY%"));
}

/*
 * Exhaustive: every byte value in every position of a full quantum and of
 * both tail lengths.  Exactly the 64 alphabet characters are accepted in a
 * full quantum; in the tail only those whose unused low bits are zero.
 */
static void test_every_byte_every_position(void **state)
{
    for (int pos = 0; pos < 4; pos++) {
        int accepted = 0;
        for (int c = 0; c < 256; c++) {
            char s[4] = {'A', 'A', 'A', 'A'};
            s[pos] = (char)c;
            if (decodes(UNIT_POOL, s, 4)) {
                accepted++;
                assert_non_null(memchr(alphabet, c, 64));
            }
        }
        assert_int_equal(accepted, 64);
    }
    /* rest 2: "A" + c; c must leave its low 4 bits unused: A Q g w */
    {
        int accepted = 0;
        for (int c = 0; c < 256; c++) {
            char s[2] = {'A', (char)c};
            if (decodes(UNIT_POOL, s, 2)) {
                accepted++;
                assert_non_null(strchr("AQgw", c));
            }
            s[0] = (char)c;
            s[1] = 'A';
            assert_int_equal(decodes(UNIT_POOL, s, 2), c && memchr(alphabet, c, 64) != NULL);
        }
        assert_int_equal(accepted, 4);
    }
    /* rest 3: "AA" + c; the low 2 bits of c must be zero: 16 characters */
    {
        int accepted = 0;
        for (int c = 0; c < 256; c++) {
            char s[3] = {'A', 'A', (char)c};
            const char *hit = c ? memchr(alphabet, c, 64) : NULL;
            int ok = decodes(UNIT_POOL, s, 3);
            assert_int_equal(ok, hit && ((hit - alphabet) & 3) == 0);
            accepted += ok;
            s[1] = (char)c;
            s[2] = 'A';
            assert_int_equal(decodes(UNIT_POOL, s, 3), hit != NULL);
        }
        assert_int_equal(accepted, 16);
    }
}

static void test_non_canonical_tail(void **state)
{
    unsigned char *out;
    apr_size_t outlen;

    /* "f" is "Zg"; "Zh" sets an unused bit (decodes to the same byte leniently). */
    assert_true(DECODES("Zg"));
    assert_false(DECODES("Zh"));
    assert_false(DECODES("Zv"));
    /* "fo" is "Zm8"; "Zm9" sets an unused bit. */
    assert_true(DECODES("Zm8"));
    assert_false(DECODES("Zm9"));
    assert_false(DECODES("Zm_"));
    /* the canonical form still decodes to the right bytes */
    assert_int_equal(clerk_b64url_decode(UNIT_POOL, "Zm8", 3, &out, &outlen), APR_SUCCESS);
    assert_int_equal(outlen, 2);
    assert_memory_equal(out, "fo", 2);
}

static void test_length_mod_4_is_1(void **state)
{
    assert_false(DECODES("Z"));
    assert_false(DECODES("Zm9vY"));
    assert_false(DECODES("Zm9vYmFyZ"));
    assert_false(DECODES("AAAAA"));
    /* the bytes after len are valid characters: only the length decides */
    assert_false(decodes(UNIT_POOL, "AAAAAAAA", 5));
    assert_false(decodes(UNIT_POOL, "AAAAAAAA", 1));
    assert_true(decodes(UNIT_POOL, "AAAAAAAA", 6));
}

static void test_size_bound(void **state)
{
    apr_size_t max = CLERK_B64URL_MAX_INPUT;
    char *big = apr_palloc(UNIT_POOL, max + 8);
    unsigned char *out = NULL;
    apr_size_t outlen = 0;

    memset(big, 'A', max + 8);
    assert_int_equal(clerk_b64url_decode(UNIT_POOL, big, max, &out, &outlen), APR_SUCCESS);
    assert_int_equal(outlen, max / 4 * 3);
    out = NULL;
    assert_int_equal(clerk_b64url_decode(UNIT_POOL, big, max + 4, &out, &outlen), APR_EINVAL);
    assert_null(out);
    assert_int_equal(clerk_b64url_decode(UNIT_POOL, big, max + 2, &out, &outlen), APR_EINVAL);
    /* A length that would overflow size arithmetic is refused before any use. */
    assert_int_equal(clerk_b64url_decode(UNIT_POOL, big, (apr_size_t)-4, &out, &outlen),
                     APR_EINVAL);
    assert_int_equal(clerk_b64url_decode(UNIT_POOL, big, (apr_size_t)-1, &out, &outlen),
                     APR_EINVAL);
}

static void test_outputs_untouched_on_error(void **state)
{
    unsigned char sentinel[1], *out = sentinel;
    apr_size_t outlen = 7;

    assert_int_equal(clerk_b64url_decode(UNIT_POOL, "Zg==", 4, &out, &outlen), APR_EINVAL);
    assert_ptr_equal(out, sentinel);
    assert_int_equal(outlen, 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_rfc4648_vectors),
        UNIT_TEST(test_url_alphabet),
        UNIT_TEST(test_round_trip_all_lengths),
        UNIT_TEST(test_round_trip_every_byte),
        UNIT_TEST(test_empty),
        UNIT_TEST(test_padding_rejected),
        UNIT_TEST(test_whitespace_rejected),
        UNIT_TEST(test_invalid_characters),
        UNIT_TEST(test_every_byte_every_position),
        UNIT_TEST(test_non_canonical_tail),
        UNIT_TEST(test_length_mod_4_is_1),
        UNIT_TEST(test_size_bound),
        UNIT_TEST(test_outputs_untouched_on_error),
    };
    return UNIT_RUN(tests);
}
