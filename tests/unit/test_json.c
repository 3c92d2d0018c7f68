/* JSON for untrusted input: duplicates, depth, top level, NUL, UTF-8. */
#include "unit.h"

static json_t *parse(apr_pool_t *p, const char *s, apr_size_t len, const char **err)
{
    *err = NULL;
    return clerk_json_parse_object(p, s, len, err);
}

#define PARSE(s, errp) parse(UNIT_POOL, (s), sizeof(s) - 1, (errp))

static void expect_reject(apr_pool_t *p, const char *s, apr_size_t len, const char *err_part)
{
    const char *err = NULL;
    json_t *j = parse(p, s, len, &err);
    if (j)
        fail_msg("accepted: %.*s", (int)(len > 80 ? 80 : len), s);
    assert_non_null(err);
    if (err_part && !strstr(err, err_part))
        fail_msg("error \"%s\" does not mention \"%s\"", err, err_part);
}

#define REJECT(s, part) expect_reject(UNIT_POOL, (s), sizeof(s) - 1, (part))

static void test_valid_object(void **state)
{
    const char *err;
    json_t *j = PARSE("{\"alg\":\"RS256\",\"n\":5,\"o\":{\"a\":[1,2]}}", &err);

    assert_non_null(j);
    assert_null(err);
    unit_assert_str(clerk_json_string(j, "alg"), "RS256");
    assert_null(clerk_json_string(j, "n"));         /* not a string */
    assert_null(clerk_json_string(j, "missing"));
    assert_null(clerk_json_string(NULL, "alg"));
    /* Compact output keeps the parse order. */
    unit_assert_str(clerk_json_compact(UNIT_POOL, j), "{\"alg\":\"RS256\",\"n\":5,\"o\":{\"a\":[1,2]}}");
}

static void test_parse_order_preserved(void **state)
{
    const char *err;
    json_t *j = PARSE("{ \"z\" : 1 , \"a\" : \"x\", \"m\": [true,null] }", &err);
    assert_non_null(j);
    unit_assert_str(clerk_json_compact(UNIT_POOL, j), "{\"z\":1,\"a\":\"x\",\"m\":[true,null]}");
}

static void test_length_is_respected(void **state)
{
    /* Only len bytes are parsed: trailing bytes after them do not matter. */
    const char *s = "{\"a\":1}GARBAGE";
    const char *err;
    assert_non_null(parse(UNIT_POOL, s, 7, &err));
    REJECT("{\"a\":1}GARBAGE", "invalid JSON");
    REJECT("{\"a\":1}{\"b\":2}", "invalid JSON");
}

static void test_duplicate_keys(void **state)
{
    REJECT("{\"alg\":\"RS256\",\"alg\":\"none\"}", "invalid JSON");
    REJECT("{\"sub\":\"user_a\",\"exp\":1,\"sub\":\"user_b\"}", NULL);
    REJECT("{\"o\":{\"rol\":\"admin\",\"rol\":\"member\"}}", NULL);
    REJECT("{\"a\":[{\"k\":1,\"k\":1}]}", NULL);
    /* same key in different objects is fine */
    {
        const char *err;
        assert_non_null(PARSE("{\"k\":{\"k\":{\"k\":1}}}", &err));
    }
}

/* "{\"a\":" repeated to the given depth around a 1 */
static char *nested_objects(apr_pool_t *p, int depth)
{
    char *s = apr_palloc(p, (apr_size_t)depth * 6 + 2);
    char *d = s;
    for (int i = 0; i < depth; i++) {
        memcpy(d, "{\"a\":", 5);
        d += 5;
    }
    *d++ = '1';
    for (int i = 0; i < depth; i++)
        *d++ = '}';
    *d = '\0';
    return s;
}

/* an object holding arrays: {"a":[[[...1...]]]} with depth levels in total */
static char *nested_arrays(apr_pool_t *p, int depth)
{
    char *s = apr_palloc(p, (apr_size_t)depth * 2 + 16);
    char *d = s;
    memcpy(d, "{\"a\":", 5);
    d += 5;
    for (int i = 1; i < depth; i++)
        *d++ = '[';
    *d++ = '1';
    for (int i = 1; i < depth; i++)
        *d++ = ']';
    *d++ = '}';
    *d = '\0';
    return s;
}

static void test_depth_limit(void **state)
{
    const char *err;
    char *ok_obj = nested_objects(UNIT_POOL, CLERK_JSON_MAX_DEPTH);
    char *deep_obj = nested_objects(UNIT_POOL, CLERK_JSON_MAX_DEPTH + 1);
    char *ok_arr = nested_arrays(UNIT_POOL, CLERK_JSON_MAX_DEPTH);
    char *deep_arr = nested_arrays(UNIT_POOL, CLERK_JSON_MAX_DEPTH + 1);

    assert_non_null(parse(UNIT_POOL, ok_obj, strlen(ok_obj), &err));
    expect_reject(UNIT_POOL, deep_obj, strlen(deep_obj), "nested too deeply");
    assert_non_null(parse(UNIT_POOL, ok_arr, strlen(ok_arr), &err));
    expect_reject(UNIT_POOL, deep_arr, strlen(deep_arr), "nested too deeply");
}

static void test_depth_far_beyond_jansson(void **state)
{
    /* 200000 levels: refused by our limit before jansson recurses. */
    apr_size_t n = 200000;
    char *s = apr_palloc(UNIT_POOL, n + 8);
    memcpy(s, "{\"a\":", 5);
    memset(s + 5, '[', n);
    expect_reject(UNIT_POOL, s, n + 5, "nested too deeply");
}

static void test_depth_brackets_in_strings(void **state)
{
    const char *err;
    char *s;

    /* brackets inside strings do not count */
    s = apr_pstrcat(UNIT_POOL, "{\"a\":\"", "[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{{{{{{{{{{{", "\"}", NULL);
    assert_non_null(parse(UNIT_POOL, s, strlen(s), &err));
    /* neither do they after an escaped quote inside the string */
    s = apr_pstrcat(UNIT_POOL, "{\"a\":\"\\\"", "[[[[[[[[[[[[[[[[[[[[", "\"}", NULL);
    assert_non_null(parse(UNIT_POOL, s, strlen(s), &err));
    /* ...and in keys */
    s = apr_pstrcat(UNIT_POOL, "{\"{{{{{{{{{{{{{{{{{{{{{{{{\":1}", NULL);
    assert_non_null(parse(UNIT_POOL, s, strlen(s), &err));
    /*
     * An escaped backslash ends with the string's closing quote: the deep
     * nesting after it is real and must be refused.
     */
    s = apr_pstrcat(UNIT_POOL, "{\"a\":\"\\\\\",\"b\":", nested_arrays(UNIT_POOL, 20) + 5, NULL);
    expect_reject(UNIT_POOL, s, strlen(s), "nested too deeply");
    /* closing brackets inside strings do not lower the depth either */
    s = apr_pstrcat(UNIT_POOL, "{\"a\":\"]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\",\"b\":",
                    nested_arrays(UNIT_POOL, 20) + 5, NULL);
    expect_reject(UNIT_POOL, s, strlen(s), "nested too deeply");
}

static void test_top_level_must_be_object(void **state)
{
    REJECT("[]", "not an object");
    REJECT("[{\"a\":1}]", "not an object");
    REJECT("\"str\"", NULL);
    REJECT("1", NULL);
    REJECT("true", NULL);
    REJECT("null", NULL);
    REJECT("", "invalid JSON");
    REJECT("   ", "invalid JSON");
    REJECT("{", "invalid JSON");
    REJECT("{\"a\":}", "invalid JSON");
    REJECT("{'a':1}", "invalid JSON");
    REJECT("{\"a\":1,}", "invalid JSON");
}

static void test_nul_rejected(void **state)
{
    REJECT("{\"sub\":\"a\\u0000b\"}", "invalid JSON");
    REJECT("{\"a\\u0000\":1}", "invalid JSON");
    REJECT("{\"sub\":\"\\u0000\"}", "invalid JSON");
    /* a raw NUL byte, inside and outside a string */
    REJECT("{\"sub\":\"a\0b\"}", "invalid JSON");
    REJECT("{\"sub\":1}\0", "invalid JSON");
    /* other escapes are fine */
    {
        const char *err;
        json_t *j = PARSE("{\"sub\":\"a\\u0001\\n\\u00e9\"}", &err);
        assert_non_null(j);
        unit_assert_str(clerk_json_string(j, "sub"), "a\x01\n\xc3\xa9");
    }
}

static void test_invalid_utf8_rejected(void **state)
{
    const char *err;
    REJECT("{\"s\":\"\xff\"}", "invalid JSON");
    REJECT("{\"s\":\"\xc0\xaf\"}", "invalid JSON");          /* overlong '/' */
    REJECT("{\"s\":\"\xe0\x80\xaf\"}", "invalid JSON");      /* overlong, 3 bytes */
    REJECT("{\"s\":\"\xed\xa0\x80\"}", "invalid JSON");      /* encoded surrogate */
    REJECT("{\"s\":\"\xe2\x82\"}", "invalid JSON");          /* truncated */
    REJECT("{\"s\":\"\xf4\x90\x80\x80\"}", "invalid JSON");  /* above U+10FFFF */
    REJECT("{\"\x80\":1}", "invalid JSON");                  /* in a key */
    REJECT("{\"s\":\"\\ud800\"}", "invalid JSON");            /* lone surrogate escape */
    /* valid multibyte text is accepted */
    assert_non_null(PARSE("{\"s\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}", &err));
    assert_non_null(PARSE("{\"s\":\"\\ud83d\\ude00\"}", &err));
}

static void test_big_numbers(void **state)
{
    const char *err;
    json_t *j;
    /* integers beyond 64 bits are not silently truncated */
    REJECT("{\"exp\":99999999999999999999999}", "invalid JSON");
    j = PARSE("{\"exp\":1e300,\"n\":-9223372036854775808}", &err);
    assert_non_null(j);
    assert_true(json_is_real(json_object_get(j, "exp")));
    assert_true(json_is_integer(json_object_get(j, "n")));
}

static void test_pool_ownership(void **state)
{
    apr_pool_t *sub;
    const char *err;
    json_t *j, *k = json_object();

    /* A parsed object lives until its pool goes; the leak checker watches. */
    apr_pool_create(&sub, UNIT_POOL);
    j = PARSE("{\"a\":[1,2,3]}", &err);
    assert_non_null(j);
    j = parse(sub, "{\"b\":{\"c\":\"d\"}}", 15, &err);
    assert_non_null(j);
    json_incref(j);
    apr_pool_destroy(sub);
    /* we took our own reference: still usable */
    unit_assert_str(clerk_json_string(json_object_get(j, "b"), "c"), "d");
    json_decref(j);

    clerk_json_pool_own(UNIT_POOL, k);
    json_object_set_new(k, "x", json_string("y"));
    unit_assert_str(clerk_json_compact(UNIT_POOL, k), "{\"x\":\"y\"}");
}

/* Compact: no whitespace between tokens; inside strings anything but control bytes. */
static void test_is_compact(void **state)
{
    static const struct { const char *text; int compact; } cases[] = {
        { "{\"a\":1}", 1 },
        { "{\"a\":\"x y\"}", 1 },                  /* a space inside a string */
        { "{\"a\":\"\\\" , \"}", 1 },           /* an escaped quote: still inside */
        { "{\"a\":\"\\u00e9\",\"b\":[1,2]}", 1 },
        { "{ \"a\":1}", 0 },
        { "{\"a\": 1}", 0 },
        { "{\"a\":1} ", 0 },
        { "{\"a\":1}\n", 0 },
        { "{\"a\":\"\\\\\", \"b\":2}", 0 },      /* "\\" ends the string: the space is outside */
        { "{\"a\":[1,\t2]}", 0 },
        { "{\"a\":\"x\ty\"}", 0 },                /* a raw control byte, even in a string */
        /* strings longer than the 16 bytes skipped at a time, stops at every offset */
        { "{\"a\":\"0123456789abcdefghijklmnopqrstuv\",\"b\":[1,2]}", 1 },
        { "{\"a\":\"0123456789abcdefghijklmnopqrstuv\", \"b\":1}", 0 },
        { "{\"a\":\"0123456789abcdef\\\"ghijklmnopqrstuv { \"}", 1 },
        { "{\"a\":\"0123456789abcdefghijklmnopq\\\\\", \"b\":1}", 0 },
        { "{\"a\":\"0123456789abcdefghij\nklmnopqrstuv\"}", 0 },
        { "{\"a\":\"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ\x1f\"}", 0 },
        { "{\"0123456789abcdefghijklmnopqrstuvwxyz\":\"0123456789abcdefghijklmnopqrstuvwxyz\"}",
          1 },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (clerk_json_is_compact(cases[i].text, strlen(cases[i].text)) != cases[i].compact)
            fail_msg("%s: expected %d", cases[i].text, cases[i].compact);
    /* parsing tells the same, from the same pass (where jansson accepts the text) */
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int compact = -1;
        const char *err = NULL;
        json_t *j = clerk_json_parse_object_compact(UNIT_POOL, cases[i].text,
                                                    strlen(cases[i].text), &compact, &err);
        if (j && compact != cases[i].compact)
            fail_msg("%s: parsed, compact %d, expected %d", cases[i].text, compact,
                     cases[i].compact);
    }
    /* a NUL byte inside the length is not compact text (not a C string of len bytes) */
    assert_false(clerk_json_is_compact("{\"a\":1}\0x", 9));
    assert_true(clerk_json_is_compact("{\"a\":1}", 7));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_valid_object),
        UNIT_TEST(test_parse_order_preserved),
        UNIT_TEST(test_length_is_respected),
        UNIT_TEST(test_duplicate_keys),
        UNIT_TEST(test_depth_limit),
        UNIT_TEST(test_depth_far_beyond_jansson),
        UNIT_TEST(test_depth_brackets_in_strings),
        UNIT_TEST(test_top_level_must_be_object),
        UNIT_TEST(test_nul_rejected),
        UNIT_TEST(test_invalid_utf8_rejected),
        UNIT_TEST(test_big_numbers),
        UNIT_TEST(test_pool_ownership),
        UNIT_TEST(test_is_compact),
    };
    return UNIT_RUN(tests);
}
