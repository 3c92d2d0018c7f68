/*
 * Opaque machine tokens: the prefix classification (clerk_opaque_token_type)
 * and the claims model built from a Backend API verification answer
 * (clerk_claims_from_bapi) with Clerk's response shapes: revoked, expired
 * flag, past expiration, no subject, API keys of users and organizations,
 * the OAuth audience rule, scopes, and what the application is given.
 */
#include "unit.h"

#include "clerk_backend_api.h"

#define NOW 1700000000
#define NOW_MS "1700000000000"
#define LATER_MS "1700003600000"

/* Clerk's shapes (backend/src/api/resources/JSON.ts), NOW-relative. */
#define M2M_ANSWER(extra)                                                                  \
    "{\"object\":\"machine_to_machine_token\",\"id\":\"mt_id1\",\"subject\":\"mch_2xhF\","  \
    "\"scopes\":[\"mch_a\",\"mch_b\"],\"claims\":{\"team\":\"billing\"},\"revoked\":false," \
    "\"revocation_reason\":null,\"expired\":false,\"expiration\":" LATER_MS ","            \
    "\"created_at\":1699999000000,\"updated_at\":1699999000000" extra "}"
#define OAUTH_ANSWER(extra)                                                                \
    "{\"object\":\"clerk_idp_oauth_access_token\",\"id\":\"oat_id1\",\"client_id\":\"c1\"," \
    "\"type\":\"oauth:access_token\",\"subject\":\"user_9\",\"scopes\":[\"read\",\"write\"]," \
    "\"revoked\":false,\"expired\":false,\"expiration\":" LATER_MS extra "}"
#define API_KEY_ANSWER(subject, extra)                                                      \
    "{\"object\":\"api_key\",\"id\":\"ak_id1\",\"type\":\"api_key\",\"name\":\"ci\","       \
    "\"subject\":\"" subject "\",\"scopes\":[\"deploy\"],\"claims\":null,\"revoked\":false," \
    "\"expired\":false,\"expiration\":null" extra "}"

static json_t *answer(apr_pool_t *p, const char *text)
{
    const char *err = NULL;
    json_t *j = clerk_json_parse_object(p, text, strlen(text), &err);
    if (!j)
        fail_msg("answer does not parse: %s: %s", err, text);
    return j;
}

typedef struct {
    clerk_reason_t reason;
    clerk_claims_t *claims;
    const char *detail;
} outcome_t;

static outcome_t from_bapi(apr_pool_t *p, const char *text, clerk_token_type_t type,
                           const apr_array_header_t *audiences)
{
    outcome_t o = {0, NULL, "unset"};
    o.reason = clerk_claims_from_bapi(p, answer(p, text), type, audiences, NOW, &o.claims,
                                      &o.detail);
    if (o.reason == CLERK_OK) {
        assert_non_null(o.claims);
        assert_null(o.detail);
    }
    else {
        assert_null(o.claims);
        assert_non_null(o.detail);
        assert_string_not_equal(o.detail, "unset");
    }
    return o;
}

static void expect(apr_pool_t *p, const char *text, clerk_token_type_t type,
                   const apr_array_header_t *audiences, clerk_reason_t want)
{
    outcome_t o = from_bapi(p, text, type, audiences);
    if (o.reason != want)
        fail_msg("%s as %s: expected %s, got %s (%s)", text, clerk_token_type_name(type),
                 clerk_reason_str(want), clerk_reason_str(o.reason), o.detail ? o.detail : "");
}

/* The value of variable env in vars, or NULL. */
static const char *var(const apr_array_header_t *vars, const char *env)
{
    for (int i = 0; i < vars->nelts; i++)
        if (!strcmp(APR_ARRAY_IDX(vars, i, clerk_var_t).env, env))
            return APR_ARRAY_IDX(vars, i, clerk_var_t).value;
    return NULL;
}

static void test_opaque_token_type(void **state)
{
    (void)state;
    assert_int_equal(clerk_opaque_token_type("mt_8XOIucKvqHVr5tYP123456789abcdefghij"),
                     CLERK_TYPE_M2M);
    assert_int_equal(clerk_opaque_token_type("oat_8XOIucKvqHVr5tYP123456789abcdefghij"),
                     CLERK_TYPE_OAUTH);
    /* API keys may contain '/', '+' and '=' (backend/src/fixtures/machine.ts) */
    assert_int_equal(clerk_opaque_token_type("ak_LCWGdaM8mv8K4PC/57IICZQXAeWfCgF30DZaFXHoGn9="),
                     CLERK_TYPE_API_KEY);
    assert_int_equal(clerk_opaque_token_type("mt_"), CLERK_TYPE_M2M);
    /* anything else is not an opaque machine token (a JWT, a session, near misses) */
    static const char *const others[] = {
        "", "mt", "oat", "ak", "MT_abc", "Mt_abc", "OAT_abc", "AK_abc", "m2m_abc", "oauth_abc",
        "api_key_abc", " mt_abc", "xmt_abc", "oa_abc", "a_k_abc",
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJtY2hfMSJ9.c2ln", "sk_test_abc", "user_abc",
    };
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
        if (clerk_opaque_token_type(others[i]) != 0)
            fail_msg("\"%s\" classified as %s", others[i],
                     clerk_token_type_name(clerk_opaque_token_type(others[i])));
}

static void test_m2m_answer(void **state)
{
    outcome_t o = from_bapi(UNIT_POOL, M2M_ANSWER(""), CLERK_TYPE_M2M, NULL);
    const clerk_claims_t *c = o.claims;
    apr_array_header_t *vars;

    unit_assert_reason(o.reason, CLERK_OK);
    assert_int_equal(c->type, CLERK_TYPE_M2M);
    unit_assert_str(c->sub, "mch_2xhF");
    unit_assert_str(c->machine_id, "mch_2xhF");
    unit_assert_str(c->jti, "mt_id1");
    assert_null(c->user_id);
    assert_null(c->org.id);
    assert_int_equal(c->exp, 1700003600);
    assert_non_null(c->scopes);
    assert_int_equal(c->scopes->nelts, 2);
    unit_assert_str(APR_ARRAY_IDX(c->scopes, 0, const char *), "mch_a");
    unit_assert_str(APR_ARRAY_IDX(c->scopes, 1, const char *), "mch_b");

    vars = clerk_export_vars(UNIT_POOL, c);
    unit_assert_str(var(vars, "CLERK_TOKEN_TYPE"), "m2m_token");
    unit_assert_str(var(vars, "CLERK_MACHINE_ID"), "mch_2xhF");
    unit_assert_str(var(vars, "CLERK_SCOPES"), "mch_a mch_b");
    unit_assert_str(var(vars, "CLERK_TOKEN_ID"), "mt_id1");
    unit_assert_str(var(vars, "CLERK_EXPIRES_AT"), "1700003600");
    assert_null(var(vars, "CLERK_USER_ID"));
    assert_null(var(vars, "CLERK_ORG_ID"));
    /* CLERK_CLAIMS: the Backend API answer itself */
    unit_assert_str(var(vars, "CLERK_CLAIMS"),
                    unit_dump(UNIT_POOL, answer(UNIT_POOL, M2M_ANSWER(""))));
    unit_assert_str(clerk_export_remote_user(UNIT_POOL, c, "sub"), "mch_2xhF");
    unit_assert_str(clerk_export_remote_user(UNIT_POOL, c, "id"), "mt_id1");
}

static void test_oauth_answer(void **state)
{
    outcome_t o = from_bapi(UNIT_POOL, OAUTH_ANSWER(""), CLERK_TYPE_OAUTH, NULL);
    apr_array_header_t *vars = clerk_export_vars(UNIT_POOL, o.claims);

    assert_int_equal(o.claims->type, CLERK_TYPE_OAUTH);
    unit_assert_str(o.claims->user_id, "user_9");
    assert_null(o.claims->machine_id);
    unit_assert_str(var(vars, "CLERK_TOKEN_TYPE"), "oauth_token");
    unit_assert_str(var(vars, "CLERK_USER_ID"), "user_9");
    unit_assert_str(var(vars, "CLERK_SCOPES"), "read write");
    unit_assert_str(var(vars, "CLERK_TOKEN_ID"), "oat_id1");
    assert_null(var(vars, "CLERK_MACHINE_ID"));
}

static void test_revoked_each_type(void **state)
{
    static const char *const revoked[] = {
        "{\"id\":\"mt_1\",\"subject\":\"mch_1\",\"revoked\":true,\"revocation_reason\":\"rotated\","
        "\"expired\":false,\"expiration\":" LATER_MS "}",
        "{\"id\":\"mt_1\",\"subject\":\"mch_1\",\"revoked\":true,\"revocation_reason\":null,"
        "\"expired\":false,\"expiration\":null}",
        /* revoked and expired: revoked is the answer (token-invalid) */
        "{\"id\":\"mt_1\",\"subject\":\"mch_1\",\"revoked\":true,\"expired\":true,"
        "\"expiration\":1}",
        /* no subject either: still revoked */
        "{\"id\":\"mt_1\",\"revoked\":true}",
    };
    static const clerk_token_type_t types[] = {CLERK_TYPE_M2M, CLERK_TYPE_OAUTH,
                                                CLERK_TYPE_API_KEY};
    for (size_t i = 0; i < sizeof(revoked) / sizeof(revoked[0]); i++)
        for (size_t t = 0; t < 3; t++) {
            outcome_t o = from_bapi(UNIT_POOL, revoked[i], types[t], NULL);
            if (o.reason != CLERK_TOKEN_INVALID)
                fail_msg("case %zu: expected token-invalid, got %s", i, clerk_reason_str(o.reason));
            assert_non_null(strstr(o.detail, "revoked"));
        }
    /* the reason Clerk gives goes to the log detail */
    outcome_t o = from_bapi(UNIT_POOL, revoked[0], CLERK_TYPE_M2M, NULL);
    assert_non_null(strstr(o.detail, "rotated"));
    /* "revoked": false (or anything but true) is not a revocation */
    expect(UNIT_POOL, "{\"subject\":\"mch_1\",\"revoked\":false}", CLERK_TYPE_M2M, NULL, CLERK_OK);
    expect(UNIT_POOL, "{\"subject\":\"mch_1\",\"revoked\":null}", CLERK_TYPE_M2M, NULL, CLERK_OK);
}

static void test_expired_flag(void **state)
{
    /* "expired": true wins over an expiration in the future */
    expect(UNIT_POOL, "{\"subject\":\"mch_1\",\"revoked\":false,\"expired\":true,"
                      "\"expiration\":" LATER_MS "}", CLERK_TYPE_M2M, NULL, CLERK_TOKEN_EXPIRED);
    expect(UNIT_POOL, "{\"subject\":\"user_1\",\"expired\":true,\"expiration\":null}",
           CLERK_TYPE_OAUTH, NULL, CLERK_TOKEN_EXPIRED);
    expect(UNIT_POOL, "{\"subject\":\"org_1\",\"expired\":true}", CLERK_TYPE_API_KEY, NULL,
           CLERK_TOKEN_EXPIRED);
    /* ...and expired is checked before the subject */
    expect(UNIT_POOL, "{\"expired\":true}", CLERK_TYPE_API_KEY, NULL, CLERK_TOKEN_EXPIRED);
    expect(UNIT_POOL, "{\"subject\":\"mch_1\",\"expired\":false}", CLERK_TYPE_M2M, NULL, CLERK_OK);
}

static void test_past_expiration(void **state)
{
    /* expiration is in milliseconds; at or before now is expired */
    static const struct {
        const char *expiration;
        clerk_reason_t want;
        apr_int64_t exp;
    } cases[] = {
        {"1699999999999", CLERK_TOKEN_EXPIRED, 0},
        {"1699999000000", CLERK_TOKEN_EXPIRED, 0},
        {NOW_MS, CLERK_TOKEN_EXPIRED, 0},
        {"1", CLERK_TOKEN_EXPIRED, 0},
        {"0", CLERK_TOKEN_EXPIRED, 0},
        {"1700001000000", CLERK_OK, 1700001000},
        {LATER_MS, CLERK_OK, 1700003600},
        {"null", CLERK_OK, 0},              /* never expires */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *text = apr_psprintf(UNIT_POOL, "{\"subject\":\"mch_1\",\"revoked\":false,"
                                        "\"expired\":false,\"expiration\":%s}",
                                        cases[i].expiration);
        outcome_t o = from_bapi(UNIT_POOL, text, CLERK_TYPE_M2M, NULL);
        if (o.reason != cases[i].want)
            fail_msg("expiration %s: expected %s, got %s", cases[i].expiration,
                     clerk_reason_str(cases[i].want), clerk_reason_str(o.reason));
        if (o.claims)
            assert_int_equal(o.claims->exp, cases[i].exp);
    }
    /* no expiration at all: valid, no CLERK_EXPIRES_AT */
    outcome_t o = from_bapi(UNIT_POOL, "{\"subject\":\"mch_1\"}", CLERK_TYPE_M2M, NULL);
    assert_int_equal(o.claims->exp, 0);
    assert_null(var(clerk_export_vars(UNIT_POOL, o.claims), "CLERK_EXPIRES_AT"));
}

static void test_no_subject(void **state)
{
    static const char *const answers[] = {
        "{\"object\":\"machine_to_machine_token\",\"id\":\"mt_1\",\"revoked\":false,"
        "\"expired\":false}",
        "{\"id\":\"mt_1\",\"subject\":null}",
        "{\"id\":\"mt_1\",\"subject\":\"\"}",
        "{\"id\":\"mt_1\",\"subject\":123}",
        "{\"id\":\"mt_1\",\"subject\":[\"mch_1\"]}",
        "{\"id\":\"mt_1\",\"subject\":{\"id\":\"mch_1\"}}",
        "{}",
    };
    for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
        expect(UNIT_POOL, answers[i], CLERK_TYPE_M2M, NULL, CLERK_TOKEN_VERIFICATION_FAILED);
        expect(UNIT_POOL, answers[i], CLERK_TYPE_OAUTH, NULL, CLERK_TOKEN_VERIFICATION_FAILED);
        expect(UNIT_POOL, answers[i], CLERK_TYPE_API_KEY, NULL, CLERK_TOKEN_VERIFICATION_FAILED);
    }
}

static void test_api_key_user_and_org(void **state)
{
    outcome_t user = from_bapi(UNIT_POOL, API_KEY_ANSWER("user_2GIp", ""), CLERK_TYPE_API_KEY,
                               NULL);
    outcome_t org = from_bapi(UNIT_POOL, API_KEY_ANSWER("org_2abc", ""), CLERK_TYPE_API_KEY,
                              NULL);
    outcome_t other = from_bapi(UNIT_POOL, API_KEY_ANSWER("mch_1", ""), CLERK_TYPE_API_KEY,
                                NULL);
    apr_array_header_t *vars;

    assert_int_equal(user.claims->type, CLERK_TYPE_API_KEY);
    unit_assert_str(user.claims->sub, "user_2GIp");
    unit_assert_str(user.claims->user_id, "user_2GIp");
    assert_null(user.claims->org.id);
    assert_null(user.claims->machine_id);
    vars = clerk_export_vars(UNIT_POOL, user.claims);
    unit_assert_str(var(vars, "CLERK_TOKEN_TYPE"), "api_key");
    unit_assert_str(var(vars, "CLERK_USER_ID"), "user_2GIp");
    assert_null(var(vars, "CLERK_ORG_ID"));
    unit_assert_str(var(vars, "CLERK_SCOPES"), "deploy");
    unit_assert_str(var(vars, "CLERK_TOKEN_ID"), "ak_id1");
    assert_null(var(vars, "CLERK_EXPIRES_AT"));     /* "expiration": null */

    unit_assert_str(org.claims->sub, "org_2abc");
    unit_assert_str(org.claims->org.id, "org_2abc");
    assert_null(org.claims->user_id);
    assert_null(org.claims->org.slug);
    assert_null(org.claims->org.role);
    assert_null(org.claims->org.permissions);
    vars = clerk_export_vars(UNIT_POOL, org.claims);
    unit_assert_str(var(vars, "CLERK_ORG_ID"), "org_2abc");
    assert_null(var(vars, "CLERK_USER_ID"));
    unit_assert_str(clerk_export_remote_user(UNIT_POOL, org.claims, "sub"), "org_2abc");

    /* a subject of neither kind: the key is valid, but belongs to no user or org */
    unit_assert_str(other.claims->sub, "mch_1");
    assert_null(other.claims->user_id);
    assert_null(other.claims->org.id);
    assert_null(other.claims->machine_id);
    /* prefixes are exact: "user" or "organization_" are neither */
    outcome_t near = from_bapi(UNIT_POOL, API_KEY_ANSWER("user", ""), CLERK_TYPE_API_KEY, NULL);
    assert_null(near.claims->user_id);
    near = from_bapi(UNIT_POOL, API_KEY_ANSWER("organization_1", ""), CLERK_TYPE_API_KEY, NULL);
    assert_null(near.claims->org.id);
}

static void test_oauth_audience(void **state)
{
    apr_array_header_t *aud = unit_strings(UNIT_POOL, "api.example.com", "mch_1", NULL);
    apr_array_header_t *none = unit_strings(UNIT_POOL, NULL);

    /* no ClerkAudience: aud is not looked at */
    expect(UNIT_POOL, OAUTH_ANSWER(""), CLERK_TYPE_OAUTH, NULL, CLERK_OK);
    expect(UNIT_POOL, OAUTH_ANSWER(""), CLERK_TYPE_OAUTH, none, CLERK_OK);
    expect(UNIT_POOL, OAUTH_ANSWER(",\"aud\":[\"other\"]"), CLERK_TYPE_OAUTH, NULL, CLERK_OK);
    /* with it: a non-empty aud list containing one of them */
    expect(UNIT_POOL, OAUTH_ANSWER(",\"aud\":[\"api.example.com\"]"), CLERK_TYPE_OAUTH, aud,
           CLERK_OK);
    expect(UNIT_POOL, OAUTH_ANSWER(",\"aud\":[\"x\",7,\"mch_1\"]"), CLERK_TYPE_OAUTH, aud,
           CLERK_OK);
    expect(UNIT_POOL, OAUTH_ANSWER(""), CLERK_TYPE_OAUTH, aud, CLERK_TOKEN_INVALID_AUDIENCE);
    expect(UNIT_POOL, OAUTH_ANSWER(",\"aud\":null"), CLERK_TYPE_OAUTH, aud,
           CLERK_TOKEN_INVALID_AUDIENCE);
    expect(UNIT_POOL, OAUTH_ANSWER(",\"aud\":[]"), CLERK_TYPE_OAUTH, aud,
           CLERK_TOKEN_INVALID_AUDIENCE);
    expect(UNIT_POOL, OAUTH_ANSWER(",\"aud\":[\"other\"]"), CLERK_TYPE_OAUTH, aud,
           CLERK_TOKEN_INVALID_AUDIENCE);
    expect(UNIT_POOL, OAUTH_ANSWER(",\"aud\":[\"API.example.com\"]"), CLERK_TYPE_OAUTH, aud,
           CLERK_TOKEN_INVALID_AUDIENCE);
    /* the answer's aud is a list; a bare string is not one */
    expect(UNIT_POOL, OAUTH_ANSWER(",\"aud\":\"api.example.com\""), CLERK_TYPE_OAUTH, aud,
           CLERK_TOKEN_INVALID_AUDIENCE);
    /* revoked and expired are reported before the audience */
    expect(UNIT_POOL, "{\"subject\":\"user_9\",\"revoked\":true}", CLERK_TYPE_OAUTH, aud,
           CLERK_TOKEN_INVALID);
    expect(UNIT_POOL, "{\"subject\":\"user_9\",\"expired\":true}", CLERK_TYPE_OAUTH, aud,
           CLERK_TOKEN_EXPIRED);
    /* as Clerk's SDK: the rule is for OAuth tokens, not M2M tokens or API keys */
    expect(UNIT_POOL, M2M_ANSWER(""), CLERK_TYPE_M2M, aud, CLERK_OK);
    expect(UNIT_POOL, API_KEY_ANSWER("user_1", ""), CLERK_TYPE_API_KEY, aud, CLERK_OK);
}

static void test_scopes(void **state)
{
    static const struct {
        const char *scopes;
        const char *joined;     /* NULL: no scopes */
    } cases[] = {
        {"[\"read\",\"write\"]", "read write"},
        {"[\"only\"]", "only"},
        {"[\"a\",5,null,\"b\",{}]", "a b"},     /* non-strings are skipped */
        {"[]", NULL},
        {"[1,2]", NULL},
        {"null", NULL},
        {"\"read write\"", NULL},               /* Clerk answers a list, never a string */
        {"{\"read\":true}", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        for (int t = CLERK_TYPE_M2M; t <= CLERK_TYPE_API_KEY; t <<= 1) {
            const char *text = apr_psprintf(UNIT_POOL, "{\"subject\":\"user_1\",\"scopes\":%s}",
                                            cases[i].scopes);
            outcome_t o = from_bapi(UNIT_POOL, text, (clerk_token_type_t)t, NULL);
            const char *joined = o.claims->scopes
                ? apr_array_pstrcat(UNIT_POOL, o.claims->scopes, ' ') : NULL;
            unit_assert_str(joined, cases[i].joined);
            unit_assert_str(var(clerk_export_vars(UNIT_POOL, o.claims), "CLERK_SCOPES"),
                            cases[i].joined);
        }
    /* absent scopes: none */
    outcome_t o = from_bapi(UNIT_POOL, "{\"subject\":\"mch_1\"}", CLERK_TYPE_M2M, NULL);
    assert_null(o.claims->scopes);
}

static void test_claims_of_the_answer_are_not_trusted_as_claims(void **state)
{
    /*
     * The M2M answer's custom "claims" object stays inside CLERK_CLAIMS; it
     * never becomes the model's subject, scopes or organization.
     */
    outcome_t o = from_bapi(UNIT_POOL,
                            "{\"subject\":\"mch_1\",\"claims\":{\"sub\":\"user_evil\","
                            "\"org_id\":\"org_evil\",\"scopes\":\"admin\",\"sid\":\"sess_1\"}}",
                            CLERK_TYPE_M2M, NULL);
    unit_assert_str(o.claims->sub, "mch_1");
    assert_null(o.claims->user_id);
    assert_null(o.claims->org.id);
    assert_null(o.claims->sid);
    assert_null(o.claims->scopes);
    assert_null(o.claims->jti);
}

/*
 * What Clerk cannot have issued never leaves: a malformed token or nonce is
 * refused without a request.  The API URL is a port where nothing listens, so
 * a request that were made would end as "unavailable", not as these answers.
 */
static void test_malformed_is_never_sent(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_http_opts_t o = {0};
    clerk_http_t *h;
    clerk_verify_result_t res;
    apr_array_header_t *directives = NULL;
    const char *detail = NULL;
    static const char *const tokens[] = {"mt_x", "mt_short", "oat_with space and more chars",
                                         "ak_%2F%2F%2F%2F%2F%2F%2F%2F"};

    o.timeout_ms = 1000;
    assert_int_equal(clerk_http_create(p, &o, 1, &h), APR_SUCCESS);
    for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
        assert_int_equal(clerk_backend_verify_opaque(p, h, "http://127.0.0.1:9", "sk_test_x",
                                                     tokens[i], clerk_opaque_token_type(tokens[i]),
                                                     NULL, NOW, &res, &detail),
                         CLERK_BAPI_ANSWERED);
        assert_int_equal(res.reason, CLERK_TOKEN_INVALID);
        assert_non_null(strstr(res.detail, "malformed"));
    }
    /* a well-formed one is sent: nothing answers there */
    assert_int_equal(clerk_backend_verify_opaque(p, h, "http://127.0.0.1:9", "sk_test_x",
                                                 "mt_8XOIucKvqHVr5tYP123456789abcdefghij",
                                                 CLERK_TYPE_M2M, NULL, NOW, &res, &detail),
                     CLERK_BAPI_UNAVAILABLE);
    detail = NULL;
    assert_int_equal(clerk_backend_handshake_payload(p, h, "http://127.0.0.1:9", "sk_test_x",
                                                     "nonce with space", &directives, &detail),
                     CLERK_BAPI_UNAVAILABLE);
    assert_non_null(strstr(detail, "malformed"));
    assert_null(directives);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_opaque_token_type),
        UNIT_TEST(test_malformed_is_never_sent),
        UNIT_TEST(test_m2m_answer),
        UNIT_TEST(test_oauth_answer),
        UNIT_TEST(test_revoked_each_type),
        UNIT_TEST(test_expired_flag),
        UNIT_TEST(test_past_expiration),
        UNIT_TEST(test_no_subject),
        UNIT_TEST(test_api_key_user_and_org),
        UNIT_TEST(test_oauth_audience),
        UNIT_TEST(test_scopes),
        UNIT_TEST(test_claims_of_the_answer_are_not_trusted_as_claims),
    };
    return UNIT_RUN(tests);
}
