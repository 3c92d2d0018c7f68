/* Token carriers: the Authorization header and the Cookie header. */
#include "unit.h"

#include "clerk_carrier.h"

#define TOK "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln"

static clerk_carrier_t bearer(const char *h, const char **tok)
{
    apr_size_t len = 12345;
    clerk_carrier_t r;
    *tok = NULL;
    r = clerk_bearer_token(h, tok, &len);
    if (r == CLERK_CARRIER_TOKEN) {
        assert_non_null(*tok);
        assert_int_equal(len, strlen(*tok));
    }
    else {
        assert_null(*tok);
        assert_int_equal(len, 12345);
    }
    return r;
}

static void test_bearer(void **state)
{
    const char *t;

    assert_int_equal(bearer("Bearer " TOK, &t), CLERK_CARRIER_TOKEN);
    unit_assert_str(t, TOK);
    /* a bare token without a scheme, as Clerk's SDK accepts */
    assert_int_equal(bearer(TOK, &t), CLERK_CARRIER_TOKEN);
    unit_assert_str(t, TOK);
    /* nothing here: no header, empty, other schemes, lowercase bearer */
    assert_int_equal(bearer(NULL, &t), CLERK_CARRIER_NONE);
    assert_int_equal(bearer("", &t), CLERK_CARRIER_NONE);
    assert_int_equal(bearer("Basic dXNlcjpwYXNz", &t), CLERK_CARRIER_NONE);
    assert_int_equal(bearer("Token " TOK, &t), CLERK_CARRIER_NONE);
    assert_int_equal(bearer("bearer " TOK, &t), CLERK_CARRIER_NONE);
    assert_int_equal(bearer("BEARER " TOK, &t), CLERK_CARRIER_NONE);
    /* the scheme with nothing usable after it */
    assert_int_equal(bearer("Bearer", &t), CLERK_CARRIER_MALFORMED);
    assert_int_equal(bearer("Bearer ", &t), CLERK_CARRIER_MALFORMED);
    assert_int_equal(bearer("Bearer  " TOK, &t), CLERK_CARRIER_MALFORMED);   /* several spaces */
    assert_int_equal(bearer("Bearer " TOK " ", &t), CLERK_CARRIER_MALFORMED);
    assert_int_equal(bearer("Bearer " TOK "\r\nX-Evil: 1", &t), CLERK_CARRIER_MALFORMED);
    assert_int_equal(bearer("Bearer " TOK "\t", &t), CLERK_CARRIER_MALFORMED);
    assert_int_equal(bearer("Bearer " TOK "," TOK, &t), CLERK_CARRIER_MALFORMED);   /* a repeated header, merged */
    assert_int_equal(bearer("Bearer " TOK ", Bearer " TOK, &t), CLERK_CARRIER_MALFORMED);
    assert_int_equal(bearer("Bearer " TOK ";x", &t), CLERK_CARRIER_MALFORMED);
    assert_int_equal(bearer("Bearer\t" TOK, &t), CLERK_CARRIER_MALFORMED);
    assert_int_equal(bearer(TOK "\x7f", &t), CLERK_CARRIER_MALFORMED);
    assert_int_equal(bearer(TOK ",x", &t), CLERK_CARRIER_MALFORMED);
}

/* Every byte value in the middle of a token: exactly the separators refuse it. */
static void test_bearer_every_byte(void **state)
{
    for (int c = 1; c < 256; c++) {
        char h[64];
        const char *t;
        int separator = c <= 0x20 || c == 0x7f || c == ',' || c == ';';

        snprintf(h, sizeof(h), "Bearer abc%cdef", c);
        if (bearer(h, &t) != (separator ? CLERK_CARRIER_MALFORMED : CLERK_CARRIER_TOKEN))
            fail_msg("byte 0x%02x: %s", c, separator ? "accepted" : "refused");
    }
}

/* The same in a long token, at every position (the 16-byte blocks and the tail). */
static void test_bearer_every_byte_long(void **state)
{
    for (int pos = 0; pos < 40; pos++)
        for (int c = 1; c < 256; c++) {
            char h[64];
            const char *t;
            int separator = c <= 0x20 || c == 0x7f || c == ',' || c == ';';

            snprintf(h, sizeof(h), "Bearer %s", "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN");
            h[7 + pos] = (char)c;
            if (bearer(h, &t) != (separator ? CLERK_CARRIER_MALFORMED : CLERK_CARRIER_TOKEN))
                fail_msg("byte 0x%02x at %d: %s", c, pos, separator ? "accepted" : "refused");
        }
}

static clerk_carrier_t cookie(apr_pool_t *p, const char *h, const char *name, const char **v)
{
    apr_size_t len = 12345;
    clerk_carrier_t r;
    *v = NULL;
    r = clerk_cookie_value(p, h, name, v, &len);
    if (r == CLERK_CARRIER_TOKEN) {
        assert_non_null(*v);
        assert_int_equal(len, strlen(*v));
    }
    else
        assert_null(*v);
    return r;
}

static void test_cookie(void **state)
{
    const char *v;
    apr_pool_t *p = UNIT_POOL;

    assert_int_equal(cookie(p, "__session=" TOK, "__session", &v), CLERK_CARRIER_TOKEN);
    unit_assert_str(v, TOK);
    assert_int_equal(cookie(p, "theme=dark; __client_uat=1; __session=" TOK "; x=y", "__session", &v),
                     CLERK_CARRIER_TOKEN);
    unit_assert_str(v, TOK);
    /* white space around names and values, quoted values */
    assert_int_equal(cookie(p, "a=1;  __session \t= " TOK "  ;b=2", "__session", &v), CLERK_CARRIER_TOKEN);
    unit_assert_str(v, TOK);
    assert_int_equal(cookie(p, "__session=\"" TOK "\"", "__session", &v), CLERK_CARRIER_TOKEN);
    unit_assert_str(v, TOK);
    /* several Cookie headers merged by httpd with ", " */
    assert_int_equal(cookie(p, "a=1, __session=" TOK, "__session", &v), CLERK_CARRIER_TOKEN);
    unit_assert_str(v, TOK);
    /* suffixed and un-suffixed names are different cookies */
    assert_int_equal(cookie(p, "__session_vWCgMp3A=" TOK "; __session=x", "__session_vWCgMp3A", &v),
                     CLERK_CARRIER_TOKEN);
    unit_assert_str(v, TOK);
    assert_int_equal(cookie(p, "__session_vWCgMp3A=" TOK, "__session", &v), CLERK_CARRIER_NONE);
    /* names match exactly */
    assert_int_equal(cookie(p, "x__session=" TOK, "__session", &v), CLERK_CARRIER_NONE);
    assert_int_equal(cookie(p, "__Session=" TOK, "__session", &v), CLERK_CARRIER_NONE);
    assert_int_equal(cookie(p, "__session", "__session", &v), CLERK_CARRIER_NONE);
    assert_int_equal(cookie(p, NULL, "__session", &v), CLERK_CARRIER_NONE);
    assert_int_equal(cookie(p, "", "__session", &v), CLERK_CARRIER_NONE);
    /* a cookie sent twice is ambiguous; an empty one is no token */
    assert_int_equal(cookie(p, "__session=a; __session=b", "__session", &v), CLERK_CARRIER_MALFORMED);
    assert_int_equal(cookie(p, "__session=a, __session=a", "__session", &v), CLERK_CARRIER_MALFORMED);
    assert_int_equal(cookie(p, "__session=", "__session", &v), CLERK_CARRIER_MALFORMED);
    assert_int_equal(cookie(p, "__session=\"\"", "__session", &v), CLERK_CARRIER_MALFORMED);
    assert_int_equal(cookie(p, "__session=   ;a=1", "__session", &v), CLERK_CARRIER_MALFORMED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_bearer),
        UNIT_TEST(test_bearer_every_byte),
        UNIT_TEST(test_bearer_every_byte_long),
        UNIT_TEST(test_cookie),
    };
    return UNIT_RUN(tests);
}
