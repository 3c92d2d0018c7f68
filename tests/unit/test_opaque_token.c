/*
 * The syntactic screen in front of the Backend API (src/clerk_opaque_token.c):
 * Clerk's token formats and the fake's pass; every length bound is tested on
 * both sides (min-1, min, max, max+1), and each forbidden byte class — NUL
 * inside len, '.', space, '%', controls, non-ASCII — is refused anywhere in
 * the body, as is a token or nonce cut short by len.
 */
#include "unit.h"

#include "clerk_opaque_token.h"

/* prefix followed by n body characters cycling through the whole alphabet. */
static char *token_of(apr_pool_t *p, const char *prefix, apr_size_t n, const char *alphabet)
{
    apr_size_t plen = strlen(prefix), alen = strlen(alphabet);
    char *t = apr_palloc(p, plen + n + 1);
    memcpy(t, prefix, plen);
    for (apr_size_t i = 0; i < n; i++)
        t[plen + i] = alphabet[i % alen];
    t[plen + n] = '\0';
    return t;
}

#define TOKEN_ALPHABET "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/="
#define URLSAFE_ALPHABET "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

static clerk_token_type_t wellformed(const char *s)
{
    return clerk_opaque_token_wellformed(s, strlen(s));
}

static void test_clerk_formats(void **state)
{
    (void)state;
    /* backend/src/fixtures/machine.ts */
    assert_int_equal(wellformed("ak_LCWGdaM8mv8K4PC/57IICZQXAeWfCgF30DZaFXHoGn9="),
                     CLERK_TYPE_API_KEY);
    assert_int_equal(wellformed("oat_8XOIucKvqHVr5tYP123456789abcdefghij"), CLERK_TYPE_OAUTH);
    assert_int_equal(wellformed("mt_8XOIucKvqHVr5tYP123456789abcdefghij"), CLERK_TYPE_M2M);
    /* the integration fake: token_urlsafe(24) with - and _ replaced, 32 characters */
    assert_int_equal(wellformed("mt_Zq3xV9aLr0Tb7Kp2Wm5Yc8Nd1Hf4Gs6J"), CLERK_TYPE_M2M);
}

static void test_prefixes(void **state)
{
    static const char *const others[] = {
        "", "m", "mt", "oat", "oa_", "ak", "MT_", "Mt_", "OAT_", "AK_", "m2m_", "sk_test_",
        "user_", " mt_", "xmt_", "mt-", "oat-", "ak-",
    };
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        const char *t = token_of(UNIT_POOL, others[i], 32, URLSAFE_ALPHABET);
        if (wellformed(t))
            fail_msg("\"%s\" accepted", t);
    }
    /* the bare prefixes, as whole inputs, are too short */
    assert_int_equal(wellformed("mt_"), 0);
    assert_int_equal(wellformed("oat_"), 0);
    assert_int_equal(wellformed("ak_"), 0);
}

/* min-1, min, max, max+1 body characters, for every prefix. */
static void test_body_length_bounds(void **state)
{
    static const struct {
        const char *prefix;
        clerk_token_type_t type;
    } kinds[] = {{"mt_", CLERK_TYPE_M2M}, {"oat_", CLERK_TYPE_OAUTH}, {"ak_", CLERK_TYPE_API_KEY}};

    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        const char *p = kinds[k].prefix;
        clerk_token_type_t t = kinds[k].type;
        assert_int_equal(wellformed(token_of(UNIT_POOL, p, CLERK_OPAQUE_BODY_MIN - 1,
                                             TOKEN_ALPHABET)), 0);
        assert_int_equal(wellformed(token_of(UNIT_POOL, p, CLERK_OPAQUE_BODY_MIN,
                                             TOKEN_ALPHABET)), t);
        assert_int_equal(wellformed(token_of(UNIT_POOL, p, CLERK_OPAQUE_BODY_MAX,
                                             TOKEN_ALPHABET)), t);
        assert_int_equal(wellformed(token_of(UNIT_POOL, p, CLERK_OPAQUE_BODY_MAX + 1,
                                             TOKEN_ALPHABET)), 0);
    }
}

/* len, not a NUL, ends the token: a shorter len cuts it, inside the prefix too. */
static void test_len_is_the_end(void **state)
{
    const char *t = token_of(UNIT_POOL, "oat_", 40, URLSAFE_ALPHABET);

    assert_int_equal(clerk_opaque_token_wellformed(t, 4 + 40), CLERK_TYPE_OAUTH);
    assert_int_equal(clerk_opaque_token_wellformed(t, 4 + CLERK_OPAQUE_BODY_MIN),
                     CLERK_TYPE_OAUTH);
    assert_int_equal(clerk_opaque_token_wellformed(t, 4 + CLERK_OPAQUE_BODY_MIN - 1), 0);
    for (apr_size_t n = 0; n <= 4; n++)
        assert_int_equal(clerk_opaque_token_wellformed(t, n), 0);
    /* a NUL inside len is a byte like any other, and forbidden */
    assert_int_equal(clerk_opaque_token_wellformed(t, 4 + 40 + 1), 0);
}

/* Every byte value outside the alphabet, at the start, middle and end of the body. */
static void test_every_forbidden_byte(void **state)
{
    const apr_size_t n = 32;
    unsigned accepted = 0;

    for (int c = 0; c < 256; c++) {
        int allowed = c && strchr(TOKEN_ALPHABET, c) != NULL;
        const apr_size_t where[] = {3, 3 + n / 2, 3 + n - 1};
        for (size_t w = 0; w < 3; w++) {
            char *t = token_of(UNIT_POOL, "ak_", n, URLSAFE_ALPHABET);
            t[where[w]] = (char)c;
            if ((clerk_opaque_token_wellformed(t, 3 + n) != 0) != allowed)
                fail_msg("byte 0x%02x at %zu: expected %s", c, where[w],
                         allowed ? "accepted" : "refused");
        }
        accepted += (unsigned)allowed;
    }
    assert_int_equal(accepted, 64 + 3);
}

/* The classes a client is likeliest to send, named. */
static void test_named_forbidden_classes(void **state)
{
    static const char *const bad[] = {
        "mt_8XOIucKvqHVr5tYP.23456789abcdefghij",      /* a JWT's separator */
        "mt_8XOIucKvqHVr5tYP 23456789abcdefghij",      /* space */
        "mt_8XOIucKvqHVr5tYP%2F3456789abcdefghij",     /* still URL-encoded */
        "mt_8XOIucKvqHVr5tYP\t23456789abcdefghij",     /* a control */
        "mt_8XOIucKvqHVr5tYP\xc3\xa9" "3456789abcdefghij", /* UTF-8 é */
        "mt_8XOIucKvqHVr5tYP\xff" "23456789abcdefghij",
        "mt_8XOIucKvqHVr5tYP123456789abcdefghij\r\n",
        "mt_8XOIucKvqHVr5tYP123456789abcdefghij,",
        "mt_8XOIucKvqHVr5tYP123456789abcdefghij;",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (wellformed(bad[i]))
            fail_msg("\"%s\" accepted", bad[i]);
}

static void test_nonce(void **state)
{
    const char *max = token_of(UNIT_POOL, "", CLERK_NONCE_MAX + 1, URLSAFE_ALPHABET);

    assert_true(clerk_handshake_nonce_wellformed("nonce_AbC-9_xYz0123456789abcdef", 30));
    assert_false(clerk_handshake_nonce_wellformed("", 0));                  /* min-1 */
    assert_true(clerk_handshake_nonce_wellformed("a", 1));                  /* min */
    assert_true(clerk_handshake_nonce_wellformed(max, CLERK_NONCE_MAX));    /* max */
    assert_false(clerk_handshake_nonce_wellformed(max, CLERK_NONCE_MAX + 1));
    /* the URL-safe alphabet only: not the standard base64 extras of API keys */
    for (int c = 0; c < 256; c++) {
        char s[3] = {'a', (char)c, 'b'};
        int allowed = c && strchr(URLSAFE_ALPHABET, c) != NULL;
        if (clerk_handshake_nonce_wellformed(s, 3) != allowed)
            fail_msg("byte 0x%02x in a nonce: expected %s", c, allowed ? "accepted" : "refused");
    }
    assert_false(clerk_handshake_nonce_wellformed("abc\0def", 7));
    assert_true(clerk_handshake_nonce_wellformed("abc\0def", 3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_clerk_formats),
        UNIT_TEST(test_prefixes),
        UNIT_TEST(test_body_length_bounds),
        UNIT_TEST(test_len_is_the_end),
        UNIT_TEST(test_every_forbidden_byte),
        UNIT_TEST(test_named_forbidden_classes),
        UNIT_TEST(test_nonce),
    };
    return UNIT_RUN(tests);
}
