/* Publishable keys: every entry of publishable_keys.json, plus edge cases. */
#include "unit.h"

/* "pk_test_" + standard base64 (padded) of plain, as Clerk builds keys */
static const char *mk(apr_pool_t *p, const char *plain)
{
    size_t n = strlen(plain);
    unsigned char *out = apr_palloc(p, (n + 2) / 3 * 4 + 1);
    EVP_EncodeBlock(out, (const unsigned char *)plain, (int)n);
    return apr_pstrcat(p, "pk_test_", (const char *)out, NULL);
}

static void expect_invalid(apr_pool_t *p, const char *key, const char *err_part)
{
    clerk_publishable_key_t *pk = NULL;
    const char *err = NULL;
    if (clerk_publishable_key_parse(p, key, &pk, &err) != APR_EINVAL)
        fail_msg("publishable key accepted: %s", key);
    assert_null(pk);
    assert_non_null(err);
    if (err_part && !strstr(err, err_part))
        fail_msg("%s: error \"%s\" lacks \"%s\"", key, err, err_part);
}

static void test_vectors(void **state)
{
    json_t *doc = unit_load_json(UNIT_POOL, UNIT_VEC_CLERK "publishable_keys.json");
    json_t *k;
    size_t i;
    int valid = 0, invalid = 0;

    json_array_foreach(json_object_get(doc, "keys"), i, k) {
        const char *key = clerk_json_string(k, "key");
        clerk_publishable_key_t *pk = NULL;
        const char *err = NULL;
        apr_status_t rv = clerk_publishable_key_parse(UNIT_POOL, key, &pk, &err);

        if (json_is_true(json_object_get(k, "valid"))) {
            const char *type = clerk_json_string(k, "instance_type");
            const char *suffix = clerk_json_string(k, "cookie_suffix");
            if (rv != APR_SUCCESS)
                fail_msg("%s: refused: %s", key, err);
            unit_assert_str(pk->key, key);
            unit_assert_str(pk->frontend_api, clerk_json_string(k, "frontend_api"));
            unit_assert_str(pk->issuer, clerk_json_string(k, "expected_issuer"));
            unit_assert_str(pk->jwks_url, clerk_json_string(k, "fapi_jwks_url"));
            unit_assert_str(pk->cookie_suffix, suffix);
            assert_int_equal(pk->production, !strcmp(type, "production"));
            assert_true(!strcmp(type, "production") || !strcmp(type, "development"));
            /* the cookie names Clerk's SDK derives from the suffix */
            unit_assert_str(apr_pstrcat(UNIT_POOL, "__session_", suffix, NULL), clerk_json_string(k, "session_cookie"));
            unit_assert_str(apr_pstrcat(UNIT_POOL, "__client_uat_", suffix, NULL),
                            clerk_json_string(k, "client_uat_cookie"));
            valid++;
        }
        else {
            if (rv != APR_EINVAL)
                fail_msg("%s: accepted (frontend_api %s) but Clerk refuses it", key, pk ? pk->frontend_api : "?");
            assert_null(pk);
            assert_non_null(err);
            invalid++;
        }
    }
    assert_int_equal(valid + invalid, (int)json_array_size(json_object_get(doc, "keys")));
    assert_int_equal(valid, 14);
    assert_int_equal(invalid, 16);
}

static void test_edge_cases(void **state)
{
    clerk_publishable_key_t *pk;
    const char *err;
    char *body = apr_palloc(UNIT_POOL, 600);

    expect_invalid(UNIT_POOL, "", "pk_test_ or pk_live_");
    expect_invalid(UNIT_POOL, "pk_prod_Y2xlcmsuY2xlcmsuZGV2JA", "pk_test_ or pk_live_");
    expect_invalid(UNIT_POOL, "PK_TEST_Y2xlcmsuY2xlcmsuZGV2JA", "pk_test_ or pk_live_");
    expect_invalid(UNIT_POOL, " pk_test_Y2xlcmsuY2xlcmsuZGV2JA", "pk_test_ or pk_live_");
    /* '_' in the body: more parts than pk, test, body */
    expect_invalid(UNIT_POOL, "pk_test_Y2xlcmsuY2xlcmsuZGV2JA_x", "'_'");
    /* base64: bad characters, misplaced padding, length 1 mod 4, trailing white space */
    expect_invalid(UNIT_POOL, "pk_test_Y2xlcmsuY2xlcmsuZGV2JA-", "not base64");
    expect_invalid(UNIT_POOL, "pk_test_Y2xl=msuY2xlcmsuZGV2JA", "not base64");
    expect_invalid(UNIT_POOL, "pk_test_Y2xlcmsuY2xlcmsuZGV2JA=", "not base64");
    expect_invalid(UNIT_POOL, "pk_test_Y2xlcmsuY2xlcmsuZGV2JAAAA", "not base64");   /* 25 characters */
    expect_invalid(UNIT_POOL, "pk_test_Y2xlcmsuY2xlcmsuZGV2JAA", "<frontend api host>$");  /* "...$\0" */
    expect_invalid(UNIT_POOL, "pk_test_Y2xlcmsuY2xlcmsuZGV2JA ", "not base64");
    expect_invalid(UNIT_POOL, "pk_test_Y2xlcmsuY2xlcmsuZGV2JA\n", "not base64");
    /* decoded shapes: "$" alone, no "$", a NUL, a host without a dot, bad host characters */
    expect_invalid(UNIT_POOL, mk(UNIT_POOL, "$"), NULL);
    expect_invalid(UNIT_POOL, mk(UNIT_POOL, "clerk.example.com"),
                   "<frontend api host>$");
    expect_invalid(UNIT_POOL, "pk_test_YS5iAGMk", "<frontend api host>$");      /* "a.b\0c$" */
    expect_invalid(UNIT_POOL, mk(UNIT_POOL, "localhost$"),
                   "host name");
    expect_invalid(UNIT_POOL, mk(UNIT_POOL, "evil.com/x?$"),
                   "host name");
    expect_invalid(UNIT_POOL, mk(UNIT_POOL, "evil.com:443$"),
                   "host name");
    expect_invalid(UNIT_POOL, mk(UNIT_POOL, "user@evil.com$"),
                   "host name");
    expect_invalid(UNIT_POOL, mk(UNIT_POOL, ".evil.com$"),
                   "host name");
    expect_invalid(UNIT_POOL, mk(UNIT_POOL, "-evil.com$"),
                   "host name");
    expect_invalid(UNIT_POOL, mk(UNIT_POOL, "a b.com$"),
                   "host name");
    expect_invalid(UNIT_POOL, mk(UNIT_POOL, "evil.com\r\nX: y$"),
                   "host name");
    /* over the length bound */
    memset(body, 'Q', 516);
    body[516] = '\0';
    expect_invalid(UNIT_POOL, apr_pstrcat(UNIT_POOL, "pk_live_", body, NULL), "not base64");
    /* unpadded, one and two '=' forms of the same host all parse */
    {
        static const char *const forms[] = {"pk_live_Y2xlcmsuZXhhbXBsZS5jb20k", "pk_live_Y2xlcmsuZXhhbXBsZS5jb20k",
                                            "pk_test_Y2xlcmsuY2xlcmsuZGV2JA", "pk_test_Y2xlcmsuY2xlcmsuZGV2JA=="};
        for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
            pk = NULL;
            assert_int_equal(clerk_publishable_key_parse(UNIT_POOL, forms[i], &pk, &err), APR_SUCCESS);
            assert_non_null(strstr(pk->issuer, "https://clerk."));
            assert_int_equal(strlen(pk->cookie_suffix), 8);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_vectors),
        UNIT_TEST(test_edge_cases),
    };
    return UNIT_RUN(tests);
}
