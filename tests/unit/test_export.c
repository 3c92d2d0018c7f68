/* What the application sees: CLERK_* variables, X-Clerk-* twins, REMOTE_USER. */
#include "unit.h"

#include <ctype.h>


/* Exactly these variables, in this order: {env, value} pairs, NULL-terminated. */
static void assert_vars(apr_pool_t *p, const apr_array_header_t *vars, const char *const *want)
{
    int n = 0;
    while (want[2 * n])
        n++;
    for (int i = 0; i < vars->nelts && i < n; i++) {
        const clerk_var_t *v = &APR_ARRAY_IDX(vars, i, clerk_var_t);
        if (strcmp(v->env, want[2 * i]))
            fail_msg("variable %d is %s, expected %s", i, v->env, want[2 * i]);
        if (strcmp(v->value, want[2 * i + 1]))
            fail_msg("%s = \"%s\", expected \"%s\"", v->env, v->value, want[2 * i + 1]);
    }
    if (vars->nelts != n)
        fail_msg("%d variables, expected %d", vars->nelts, n);
    /* every header is the twin of its variable: X-Clerk-Org-Id <-> CLERK_ORG_ID */
    for (int i = 0; i < vars->nelts; i++) {
        const clerk_var_t *v = &APR_ARRAY_IDX(vars, i, clerk_var_t);
        char *h = apr_pstrdup(p, v->header);
        assert_int_equal(strncmp(v->header, "X-Clerk-", 8), 0);
        assert_int_equal(strncmp(v->env, "CLERK_", 6), 0);
        for (char *c = h; *c; c++)
            *c = *c == '-' ? '_' : (char)toupper((unsigned char)*c);
        unit_assert_str(h + 2, v->env);     /* "X_CLERK_ORG_ID" + 2 */
    }
}

#define V2_ORG_PAYLOAD                                                                          \
    "{\"sub\":\"user_1\",\"sid\":\"sess_1\",\"sts\":\"active\",\"iss\":\"https://clerk.example.com\","  \
    "\"azp\":\"https://app.example.com\",\"exp\":1700000060,\"iat\":1699999990,\"jti\":\"jt_1\","       \
    "\"act\":{\"sub\":\"user_admin\",\"iss\":\"https://dashboard.clerk.com\"},\"v\":2,"                  \
    "\"fea\":\"o:repositories,u:beta,o:projects\",\"pla\":\"u:free\",\"o\":{\"id\":\"org_1\","           \
    "\"slg\":\"acme\",\"rol\":\"admin\",\"per\":\"read,create,update,delete,revoke\",\"fpm\":\"7,21\"},"  \
    "\"custom\":{\"z\":1,\"a\":[true,null,\"\xc3\xa9\"]}}"

static void test_v2_org_session(void **state)
{
    clerk_claims_t *c = unit_claims(UNIT_POOL, V2_ORG_PAYLOAD, CLERK_TYPE_SESSION);
    const char *const want[] = {
        "CLERK_TOKEN_TYPE", "session_token",
        "CLERK_USER_ID", "user_1",
        "CLERK_SESSION_ID", "sess_1",
        "CLERK_SESSION_STATUS", "active",
        "CLERK_ORG_ID", "org_1",
        "CLERK_ORG_SLUG", "acme",
        "CLERK_ORG_ROLE", "org:admin",
        "CLERK_ORG_PERMISSIONS", "org:repositories:read,org:repositories:create,org:repositories:update,"
                                 "org:projects:read,org:projects:update,org:projects:revoke",
        "CLERK_FEATURES", "o:repositories,u:beta,o:projects",
        "CLERK_PLANS", "u:free",
        "CLERK_ACTOR_ID", "user_admin",
        "CLERK_TOKEN_ID", "jt_1",
        "CLERK_AZP", "https://app.example.com",
        "CLERK_ISSUER", "https://clerk.example.com",
        "CLERK_EXPIRES_AT", "1700000060",
        "CLERK_ISSUED_AT", "1699999990",
        "CLERK_CLAIMS", V2_ORG_PAYLOAD,     /* compact already, keys in token order */
        NULL,
    };
    apr_array_header_t *vars = clerk_export_vars(UNIT_POOL, c);
    assert_vars(UNIT_POOL, vars, want);
    unit_assert_str(APR_ARRAY_IDX(vars, 7, clerk_var_t).header, "X-Clerk-Org-Permissions");
    unit_assert_str(APR_ARRAY_IDX(vars, 0, clerk_var_t).header, "X-Clerk-Token-Type");
    for (int i = 0; i < vars->nelts; i++)
        assert_true(clerk_export_header_safe(APR_ARRAY_IDX(vars, i, clerk_var_t).value));
}

static void test_claims_are_compacted(void **state)
{
    clerk_claims_t *c = unit_claims(UNIT_POOL, "{ \"sub\" : \"user_1\",\n \"exp\" : 5 , \"b\":\"\\u00e9\\n\" ,\"a\":1}",
                               CLERK_TYPE_SESSION);
    apr_array_header_t *vars = clerk_export_vars(UNIT_POOL, c);
    const clerk_var_t *last = &APR_ARRAY_IDX(vars, vars->nelts - 1, clerk_var_t);
    unit_assert_str(last->env, "CLERK_CLAIMS");
    unit_assert_str(last->header, "X-Clerk-Claims");
    unit_assert_str(last->value, "{\"sub\":\"user_1\",\"exp\":5,\"b\":\"\xc3\xa9\\n\",\"a\":1}");
    /* the JSON escape keeps the value header-safe */
    assert_true(clerk_export_header_safe(last->value));
}

static void test_minimal_session(void **state)
{
    clerk_claims_t *c = unit_claims(UNIT_POOL, "{\"sub\":\"user_1\",\"exp\":5}", CLERK_TYPE_SESSION);
    const char *const want[] = {
        "CLERK_TOKEN_TYPE", "session_token",
        "CLERK_USER_ID", "user_1",
        "CLERK_EXPIRES_AT", "5",
        "CLERK_CLAIMS", "{\"sub\":\"user_1\",\"exp\":5}",
        NULL,
    };
    assert_vars(UNIT_POOL, clerk_export_vars(UNIT_POOL, c), want);
}

/* CLERK_FACTOR_AGES: the two fva ages after the session's own variables, only when usable */
static void test_factor_ages(void **state)
{
    const char *payload = "{\"sub\":\"user_1\",\"sid\":\"sess_1\",\"sts\":\"active\",\"exp\":5,"
                          "\"fva\":[5,-1]}";
    const char *const want[] = {
        "CLERK_TOKEN_TYPE", "session_token",
        "CLERK_USER_ID", "user_1",
        "CLERK_SESSION_ID", "sess_1",
        "CLERK_SESSION_STATUS", "active",
        "CLERK_FACTOR_AGES", "5,-1",
        "CLERK_EXPIRES_AT", "5",
        "CLERK_CLAIMS", payload,
        NULL,
    };
    const char *const malformed[] = {
        "CLERK_TOKEN_TYPE", "session_token",
        "CLERK_USER_ID", "user_1",
        "CLERK_EXPIRES_AT", "5",
        "CLERK_CLAIMS", "{\"sub\":\"user_1\",\"exp\":5,\"fva\":[\"5\",-1]}",
        NULL,
    };
    apr_array_header_t *vars = clerk_export_vars(UNIT_POOL, unit_claims(UNIT_POOL, payload,
                                                                        CLERK_TYPE_SESSION));

    assert_vars(UNIT_POOL, vars, want);
    unit_assert_str(APR_ARRAY_IDX(vars, 4, clerk_var_t).header, "X-Clerk-Factor-Ages");
    vars = clerk_export_vars(UNIT_POOL, unit_claims(UNIT_POOL, "{\"sub\":\"user_1\",\"exp\":5,"
                                                    "\"fva\":[-1,1440]}", CLERK_TYPE_SESSION));
    unit_assert_str(APR_ARRAY_IDX(vars, 2, clerk_var_t).env, "CLERK_FACTOR_AGES");
    unit_assert_str(APR_ARRAY_IDX(vars, 2, clerk_var_t).value, "-1,1440");
    /* an fva the SDK would not use either gives no variable (CLERK_CLAIMS still has it) */
    assert_vars(UNIT_POOL, clerk_export_vars(UNIT_POOL, unit_claims(UNIT_POOL, malformed[7],
                                                                    CLERK_TYPE_SESSION)),
                malformed);
}

static void test_v1_and_empty_permissions(void **state)
{
    clerk_claims_t *v1 = unit_claims(UNIT_POOL, "{\"sub\":\"u\",\"exp\":1,\"org_id\":\"org_9\",\"org_role\":\"org:member\","
                                           "\"org_permissions\":[\"org:teams:read\",\"org:teams:manage\"]}",
                                CLERK_TYPE_SESSION);
    clerk_claims_t *none = unit_claims(UNIT_POOL, "{\"sub\":\"u\",\"exp\":1,\"v\":2,\"o\":{\"id\":\"org_1\"}}",
                                  CLERK_TYPE_SESSION);
    apr_array_header_t *vars = clerk_export_vars(UNIT_POOL, v1);
    int seen = 0;

    for (int i = 0; i < vars->nelts; i++) {
        const clerk_var_t *v = &APR_ARRAY_IDX(vars, i, clerk_var_t);
        if (!strcmp(v->env, "CLERK_ORG_PERMISSIONS")) {
            unit_assert_str(v->value, "org:teams:read,org:teams:manage");
            seen++;
        }
        if (!strcmp(v->env, "CLERK_ORG_ROLE"))
            unit_assert_str(v->value, "org:member");
        assert_true(strcmp(v->env, "CLERK_ORG_SLUG") != 0);
    }
    assert_int_equal(seen, 1);
    /* an active org without permissions: the variable is there, empty */
    vars = clerk_export_vars(UNIT_POOL, none);
    seen = 0;
    for (int i = 0; i < vars->nelts; i++) {
        const clerk_var_t *v = &APR_ARRAY_IDX(vars, i, clerk_var_t);
        if (!strcmp(v->env, "CLERK_ORG_PERMISSIONS")) {
            unit_assert_str(v->value, "");
            seen++;
        }
        assert_true(strcmp(v->env, "CLERK_ORG_ROLE") != 0);
    }
    assert_int_equal(seen, 1);
}

static void test_m2m_and_oauth(void **state)
{
    clerk_claims_t *m = unit_claims(UNIT_POOL, "{\"sub\":\"mch_1\",\"exp\":9,\"jti\":\"mt_1\",\"scopes\":\"mch_2 mch_3\"}",
                               CLERK_TYPE_M2M);
    clerk_claims_t *o = unit_claims(UNIT_POOL, "{\"sub\":\"user_9\",\"exp\":9,\"iat\":8,\"jti\":\"oat_1\",\"scp\":[\"a\",\"b\"]}",
                               CLERK_TYPE_OAUTH);
    const char *const want_m[] = {
        "CLERK_TOKEN_TYPE", "m2m_token",
        "CLERK_MACHINE_ID", "mch_1",
        "CLERK_SCOPES", "mch_2 mch_3",
        "CLERK_TOKEN_ID", "mt_1",
        "CLERK_EXPIRES_AT", "9",
        "CLERK_CLAIMS", "{\"sub\":\"mch_1\",\"exp\":9,\"jti\":\"mt_1\",\"scopes\":\"mch_2 mch_3\"}",
        NULL,
    };
    const char *const want_o[] = {
        "CLERK_TOKEN_TYPE", "oauth_token",
        "CLERK_USER_ID", "user_9",
        "CLERK_SCOPES", "a b",
        "CLERK_TOKEN_ID", "oat_1",
        "CLERK_EXPIRES_AT", "9",
        "CLERK_ISSUED_AT", "8",
        "CLERK_CLAIMS", "{\"sub\":\"user_9\",\"exp\":9,\"iat\":8,\"jti\":\"oat_1\",\"scp\":[\"a\",\"b\"]}",
        NULL,
    };
    assert_vars(UNIT_POOL, clerk_export_vars(UNIT_POOL, m), want_m);
    assert_vars(UNIT_POOL, clerk_export_vars(UNIT_POOL, o), want_o);
}

static void test_control_characters_reach_header_safe(void **state)
{
    /* Values are exported as issued; header_safe is what keeps CR/LF out of headers. */
    clerk_claims_t *c = unit_claims(UNIT_POOL, "{\"sub\":\"user_1\\r\\nX-Injected: 1\",\"exp\":1,\"sid\":\"s\\u0001\"}",
                               CLERK_TYPE_SESSION);
    apr_array_header_t *vars = clerk_export_vars(UNIT_POOL, c);
    const clerk_var_t *user = &APR_ARRAY_IDX(vars, 1, clerk_var_t);
    const clerk_var_t *sid = &APR_ARRAY_IDX(vars, 2, clerk_var_t);
    unit_assert_str(user->env, "CLERK_USER_ID");
    assert_false(clerk_export_header_safe(user->value));
    unit_assert_str(sid->env, "CLERK_SESSION_ID");
    assert_false(clerk_export_header_safe(sid->value));
}

static void test_header_safe(void **state)
{
    assert_true(clerk_export_header_safe(""));
    assert_true(clerk_export_header_safe("user_2GIpXOEpVyJw51rkZn9Kmnc6Sxr"));
    assert_true(clerk_export_header_safe("a b,c;d=e \"q\" ~"));
    assert_true(clerk_export_header_safe("\xc3\xa9\xe2\x82\xac"));   /* UTF-8 bytes are not controls */
    assert_false(clerk_export_header_safe("a\rb"));
    assert_false(clerk_export_header_safe("a\nb"));
    assert_false(clerk_export_header_safe("a\r\nX-Evil: 1"));
    assert_false(clerk_export_header_safe("\t"));
    assert_false(clerk_export_header_safe("a\x01"));
    assert_false(clerk_export_header_safe("\x1f"));
    assert_false(clerk_export_header_safe("a\x7f"));
}

static void test_remote_user(void **state)
{
    clerk_claims_t *c = unit_claims(UNIT_POOL,
        "{\"sub\":\"user_1\",\"exp\":1,\"email\":\"a@b.c\",\"num\":42,\"neg\":-7,\"big\":9223372036854775807,"
        "\"real\":1.5,\"t\":true,\"nul\":null,\"obj\":{\"sub\":\"x\"},\"arr\":[\"x\"],\"empty\":\"\"}",
        CLERK_TYPE_SESSION);
    unit_assert_str(clerk_export_remote_user(UNIT_POOL, c, "sub"), "user_1");
    unit_assert_str(clerk_export_remote_user(UNIT_POOL, c, "email"), "a@b.c");
    unit_assert_str(clerk_export_remote_user(UNIT_POOL, c, "num"), "42");
    unit_assert_str(clerk_export_remote_user(UNIT_POOL, c, "neg"), "-7");
    unit_assert_str(clerk_export_remote_user(UNIT_POOL, c, "big"), "9223372036854775807");
    unit_assert_str(clerk_export_remote_user(UNIT_POOL, c, "exp"), "1");
    unit_assert_str(clerk_export_remote_user(UNIT_POOL, c, "empty"), "");
    assert_null(clerk_export_remote_user(UNIT_POOL, c, "real"));
    assert_null(clerk_export_remote_user(UNIT_POOL, c, "t"));
    assert_null(clerk_export_remote_user(UNIT_POOL, c, "nul"));
    assert_null(clerk_export_remote_user(UNIT_POOL, c, "obj"));
    assert_null(clerk_export_remote_user(UNIT_POOL, c, "arr"));
    assert_null(clerk_export_remote_user(UNIT_POOL, c, "missing"));
    assert_null(clerk_export_remote_user(UNIT_POOL, c, "obj.sub"));      /* top level only */
}

/* The refusal the module and clerk-jwt share: no usable REMOTE_USER, no sign-in. */
static void test_remote_user_decision(void **state)
{
    clerk_claims_t *c = unit_claims(UNIT_POOL,
        "{\"sub\":\"user_1\",\"exp\":1,\"num\":42,\"empty\":\"\",\"t\":true}",
        CLERK_TYPE_SESSION);
    const char *user = "unset", *detail = NULL;

    assert_int_equal(clerk_export_remote_user_decision(UNIT_POOL, c, NULL, &user, &detail),
                     CLERK_OK);
    unit_assert_str(user, "user_1");
    assert_int_equal(clerk_export_remote_user_decision(UNIT_POOL, c, "num", &user, &detail),
                     CLERK_OK);
    unit_assert_str(user, "42");
    for (const char *const *claim = (const char *const[]){"empty", "t", "missing", NULL}; *claim;
         claim++) {
        detail = NULL;
        assert_int_equal(clerk_export_remote_user_decision(UNIT_POOL, c, *claim, &user, &detail),
                         CLERK_TOKEN_VERIFICATION_FAILED);
        assert_null(user);
        assert_non_null(strstr(detail, *claim));
    }
}

/* The identity JSON of clerk-whoami: the variables by their lower-case names, no CLERK_CLAIMS. */
static void test_identity_json(void **state)
{
    clerk_claims_t *c = unit_claims(UNIT_POOL, V2_ORG_PAYLOAD, CLERK_TYPE_SESSION);
    json_t *o = clerk_export_identity(UNIT_POOL, clerk_export_vars(UNIT_POOL, c), "user_1");

    unit_assert_str(clerk_json_compact(UNIT_POOL, o),
        "{\"signed_in\":true,\"remote_user\":\"user_1\",\"token_type\":\"session_token\","
        "\"user_id\":\"user_1\",\"session_id\":\"sess_1\",\"session_status\":\"active\","
        "\"org_id\":\"org_1\",\"org_slug\":\"acme\",\"org_role\":\"org:admin\","
        "\"org_permissions\":\"org:repositories:read,org:repositories:create,"
        "org:repositories:update,org:projects:read,org:projects:update,org:projects:revoke\","
        "\"features\":\"o:repositories,u:beta,o:projects\",\"plans\":\"u:free\","
        "\"actor_id\":\"user_admin\",\"token_id\":\"jt_1\","
        "\"azp\":\"https://app.example.com\",\"issuer\":\"https://clerk.example.com\","
        "\"expires_at\":\"1700000060\",\"issued_at\":\"1699999990\"}");
    assert_null(json_object_get(o, "claims"));
    assert_null(json_object_get(o, "custom"));
}

/* Quotes, backslashes, control characters and non-ASCII come out as valid JSON. */
static void test_identity_json_escaping(void **state)
{
    clerk_claims_t *c = unit_claims(UNIT_POOL,
        "{\"sub\":\"u\\\"q\\\\b\\u0001\\n\\u007f\u00e9\u2603\",\"exp\":1,"
        "\"org_id\":\"org_\\t\",\"org_role\":\"</script>\"}",
        CLERK_TYPE_SESSION);
    json_t *o = clerk_export_identity(UNIT_POOL, clerk_export_vars(UNIT_POOL, c), c->sub);
    const char *text = clerk_json_compact(UNIT_POOL, o);
    const char *err = NULL;
    json_t *back = clerk_json_parse_object(UNIT_POOL, text, strlen(text), &err);

    unit_assert_str(text,
        "{\"signed_in\":true,\"remote_user\":\"u\\\"q\\\\b\\u0001\\n\x7f\u00e9\u2603\","
        "\"token_type\":\"session_token\",\"user_id\":\"u\\\"q\\\\b\\u0001\\n\x7f\u00e9\u2603\","
        "\"org_id\":\"org_\\t\",\"org_role\":\"</script>\",\"expires_at\":\"1\"}");
    assert_non_null(back);
    unit_assert_str(json_string_value(json_object_get(back, "user_id")),
                    "u\"q\\b\x01\n\x7f\u00e9\u2603");
}

/* A value that is not UTF-8 is left out, never sent as broken JSON; so is a broken user. */
static void test_identity_json_skips_invalid_utf8(void **state)
{
    apr_array_header_t *vars = apr_array_make(UNIT_POOL, 2, sizeof(clerk_var_t));
    clerk_var_t *v = &APR_ARRAY_PUSH(vars, clerk_var_t);
    json_t *o;

    v->env = "CLERK_ORG_SLUG", v->header = "X-Clerk-Org-Slug", v->value = "bad\xff";
    v = &APR_ARRAY_PUSH(vars, clerk_var_t);
    v->env = "CLERK_USER_ID", v->header = "X-Clerk-User-Id", v->value = "user_1";
    o = clerk_export_identity(UNIT_POOL, vars, "\xc3");
    unit_assert_str(clerk_json_compact(UNIT_POOL, o), "{\"signed_in\":true,\"user_id\":\"user_1\"}");
}

static void test_signed_out_json(void **state)
{
    unit_assert_str(clerk_json_compact(UNIT_POOL, clerk_export_signed_out(UNIT_POOL,
                                                                          "token-expired")),
                    "{\"signed_in\":false,\"reason\":\"token-expired\"}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_v2_org_session),
        UNIT_TEST(test_claims_are_compacted),
        UNIT_TEST(test_minimal_session),
        UNIT_TEST(test_factor_ages),
        UNIT_TEST(test_v1_and_empty_permissions),
        UNIT_TEST(test_m2m_and_oauth),
        UNIT_TEST(test_control_characters_reach_header_safe),
        UNIT_TEST(test_header_safe),
        UNIT_TEST(test_remote_user),
        UNIT_TEST(test_remote_user_decision),
        UNIT_TEST(test_identity_json),
        UNIT_TEST(test_identity_json_escaping),
        UNIT_TEST(test_identity_json_skips_invalid_utf8),
        UNIT_TEST(test_signed_out_json),
    };
    return UNIT_RUN(tests);
}
