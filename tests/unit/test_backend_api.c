/*
 * Opaque machine tokens: the prefix classification (clerk_opaque_token_type)
 * and the claims model built from a Backend API verification answer
 * (clerk_claims_from_bapi) with Clerk's response shapes: revoked, expired
 * flag, past expiration, no subject, API keys of users and organizations,
 * the OAuth audience rule, scopes, and what the application is given.
 * The silent refresh against the local test server: the request sent (path
 * with the sid, query, headers, the JSON body to the byte), the request
 * headers forwarded, Clerk's answers mapped to the SDK's refresh reasons,
 * the bounds, what is refused without a call, timeouts.
 */
#include "unit.h"

#include "clerk_backend_api.h"
#include "test_server.h"

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
                                                     NULL, NOW, &res, &detail, NULL),
                         CLERK_BAPI_ANSWERED);
        assert_int_equal(res.reason, CLERK_TOKEN_INVALID);
        assert_non_null(strstr(res.detail, "malformed"));
    }
    /* a well-formed one is sent: nothing answers there */
    assert_int_equal(clerk_backend_verify_opaque(p, h, "http://127.0.0.1:9", "sk_test_x",
                                                 "mt_8XOIucKvqHVr5tYP123456789abcdefghij",
                                                 CLERK_TYPE_M2M, NULL, NOW, &res, &detail, NULL),
                     CLERK_BAPI_UNAVAILABLE);
    detail = NULL;
    assert_int_equal(clerk_backend_handshake_payload(p, h, "http://127.0.0.1:9", "sk_test_x",
                                                     "nonce with space", &directives, &detail),
                     CLERK_BAPI_UNAVAILABLE);
    assert_non_null(strstr(detail, "malformed"));
    assert_null(directives);
}

/* ------------------------------------------------------------ silent refresh */

static test_server_t *srv;

#define SECRET "sk_test_refreshsecret"
#define REFRESH_TOKEN "rt_9mZ0opaque.value-1"
#define SID "sess_2xhFjEI5X2qWRvtV13BzSj8H6Dk"
#define REFRESH_PATH "/v1/sessions/" SID "/refresh"
#define NEW_JWT "eyJhbGciOiJSUzI1NiJ9.eyJzaWQiOiJzZXNzXzEifQ.c2lnbmF0dXJl"
#define COOKIES_ANSWER                                                                     \
    "{\"object\":\"cookies\",\"cookies\":[\"__session=" NEW_JWT "; Path=/; Secure; SameSite=Lax\"," \
    "\"__session_MqCvchyS=" NEW_JWT "; Path=/; Secure; SameSite=Lax\","                    \
    "\"__client_uat_MqCvchyS=1700000100; Path=/; Max-Age=315360000\"]}"

static int group_setup(void **state)
{
    return ts_group_setup(state, &srv);
}

static int group_teardown(void **state)
{
    return ts_group_teardown(state, &srv);
}

/* An unsigned "expired token": the refresh only decodes it (the caller verified it). */
static const char *jwt(apr_pool_t *p, const char *payload)
{
    const char *h = "{\"alg\":\"RS256\",\"kid\":\"" UNIT_KID "\",\"typ\":\"JWT\"}";
    return apr_pstrcat(p, clerk_b64url_encode(p, (const unsigned char *)h, strlen(h)), ".",
                       clerk_b64url_encode(p, (const unsigned char *)payload, strlen(payload)),
                       ".c2lnbmF0dXJl", NULL);
}

static const char *expired_jwt(apr_pool_t *p)
{
    return jwt(p, "{\"sub\":\"user_2\",\"sid\":\"" SID "\",\"exp\":1699999000,\"iat\":1699998940}");
}

static clerk_refresh_request_t request(apr_pool_t *p, const apr_table_t *headers)
{
    clerk_refresh_request_t r = {expired_jwt(p), REFRESH_TOKEN, "https://app.example.com", headers,
                                 1};
    return r;
}

typedef struct {
    clerk_bapi_outcome_t outcome;
    apr_array_header_t *cookies;
    const char *reason;
    const char *detail;
} refresh_t;

static refresh_t refresh_at(apr_pool_t *p, clerk_http_t *h, const char *api_url,
                            const char *secret, const clerk_refresh_request_t *req)
{
    refresh_t r = {0, NULL, "unset", "unset"};
    r.outcome = clerk_backend_refresh_session(p, h, api_url, secret, req, &r.cookies, &r.reason,
                                              &r.detail);
    if (r.reason) {
        /* a failure: no cookies, a reason, a detail without any secret */
        assert_null(r.cookies);
        assert_string_not_equal(r.reason, "unset");
        assert_non_null(r.detail);
        assert_string_not_equal(r.detail, "unset");
        assert_null(strstr(r.detail, SECRET));
        assert_null(strstr(r.detail, REFRESH_TOKEN));
        if (req->expired_token && strlen(req->expired_token) > 8)
            assert_null(strstr(r.detail, req->expired_token));
    }
    else {
        assert_int_equal(r.outcome, CLERK_BAPI_ANSWERED);
        assert_non_null(r.cookies);
    }
    return r;
}

static refresh_t refresh(apr_pool_t *p, const clerk_refresh_request_t *req)
{
    return refresh_at(p, ts_client(p, 2000, 0, 1), ts_url(srv, p, ""), SECRET, req);
}

/* The request, to the byte, and a 200 answer's cookies. */
static void test_refresh_request_sent(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    apr_table_t *in = apr_table_make(p, 8);
    clerk_refresh_request_t req;
    refresh_t r;
    char *head;

    apr_table_add(in, "Host", "app.example.com");
    apr_table_add(in, "User-Agent", "Mozilla/5.0 (X11; Linux x86_64)");
    apr_table_add(in, "Cookie", "__session=x; __refresh_MqCvchyS=" REFRESH_TOKEN "; PHPSESSID=y");
    apr_table_add(in, "Accept-Language", "en");
    apr_table_add(in, "Authorization", "Basic dXNlcjpwdw==");
    apr_table_add(in, "X-Forwarded-For", "203.0.113.7");
    apr_table_add(in, "Accept-Language", "fr;q=0.5");
    req = request(p, in);
    ts_route(srv, REFRESH_PATH, 200, "Content-Type: application/json\r\n", COOKIES_ANSWER);
    r = refresh(p, &req);
    assert_int_equal(r.outcome, CLERK_BAPI_ANSWERED);
    assert_null(r.reason);
    assert_null(r.detail);
    assert_int_equal(r.cookies->nelts, 3);
    unit_assert_str(APR_ARRAY_IDX(r.cookies, 0, const char *),
                    "__session=" NEW_JWT "; Path=/; Secure; SameSite=Lax");
    unit_assert_str(APR_ARRAY_IDX(r.cookies, 2, const char *),
                    "__client_uat_MqCvchyS=1700000100; Path=/; Max-Age=315360000");
    unit_assert_str(clerk_refresh_session_token(p, r.cookies), NEW_JWT);

    head = ts_last_head(srv, p);
    assert_true(!strncmp(head, "POST " REFRESH_PATH "?suffixed_cookies=true HTTP/1.1\r\n",
                         strlen("POST " REFRESH_PATH "?suffixed_cookies=true HTTP/1.1\r\n")));
    assert_non_null(strstr(head, "\r\nAuthorization: Bearer " SECRET "\r\n"));
    assert_non_null(strstr(head, "\r\nClerk-API-Version: " CLERK_BACKEND_API_VERSION "\r\n"));
    assert_non_null(strstr(head, "\r\nContent-Type: application/json\r\n"));
    /* SessionApi.refreshSession's body: suffixed_cookies is in the query, never here */
    unit_assert_str(ts_last_body(srv, p),
                    apr_pstrcat(p, "{\"format\":\"cookie\",\"expired_token\":\"",
                                req.expired_token, "\",\"refresh_token\":\"" REFRESH_TOKEN "\","
                                "\"request_origin\":\"https://app.example.com\","
                                "\"request_headers\":{\"accept-language\":[\"en, fr;q=0.5\"],"
                                "\"host\":[\"app.example.com\"],"
                                "\"user-agent\":[\"Mozilla/5.0 (X11; Linux x86_64)\"],"
                                "\"x-forwarded-for\":[\"203.0.113.7\"]}}", NULL));
    assert_int_equal(ts_hits(srv, REFRESH_PATH), 1);

    /* un-suffixed cookies: no query at all (the SDK drops a false query parameter) */
    req.suffixed_cookies = 0;
    req.headers = NULL;
    r = refresh(p, &req);
    assert_null(r.reason);
    head = ts_last_head(srv, p);
    assert_true(!strncmp(head, "POST " REFRESH_PATH " HTTP/1.1\r\n",
                         strlen("POST " REFRESH_PATH " HTTP/1.1\r\n")));
    assert_non_null(strstr(ts_last_body(srv, p), ",\"request_headers\":{}}"));
    assert_int_equal(ts_hits(srv, REFRESH_PATH), 2);
}

/* Clerk's answers, each mapped as the SDK maps it (request.ts refreshToken). */
static void test_refresh_answers(void **state)
{
    static const struct {
        int status;
        const char *body;
        clerk_bapi_outcome_t outcome;
        const char *reason;     /* NULL: refreshed */
    } cases[] = {
        {200, COOKIES_ANSWER, CLERK_BAPI_ANSWERED, NULL},
        /* any 2xx is res.ok; the object type is not looked at, only .cookies */
        {201, "{\"cookies\":[\"__session=a.b.c\"]}", CLERK_BAPI_ANSWERED, NULL},
        /* Clerk's error codes become the reason, unexpected_error is a fetch error */
        {400, "{\"errors\":[{\"code\":\"refresh_token_invalid\",\"message\":\"m\"},"
              "{\"code\":\"other\"}]}", CLERK_BAPI_ANSWERED, "refresh_token_invalid"},
        {404, "{\"errors\":[{\"code\":\"resource_not_found\"}],\"clerk_trace_id\":\"t\"}",
         CLERK_BAPI_ANSWERED, "resource_not_found"},
        {422, "{\"errors\":[{\"code\":\"form-param_missing\"}]}", CLERK_BAPI_ANSWERED,
         "form-param_missing"},
        {400, "{\"errors\":[{\"code\":\"unexpected_error\"}]}", CLERK_BAPI_ANSWERED,
         CLERK_REFRESH_FETCH_ERROR},
        /* no errors at all: unexpected-bapi-error; an error without a code: the SDK's */
        {400, "{\"errors\":[]}", CLERK_BAPI_ANSWERED, CLERK_REFRESH_UNEXPECTED_BAPI_ERROR},
        {400, "{}", CLERK_BAPI_ANSWERED, CLERK_REFRESH_UNEXPECTED_BAPI_ERROR},
        {400, "Bad Request", CLERK_BAPI_ANSWERED, CLERK_REFRESH_UNEXPECTED_BAPI_ERROR},
        {400, "", CLERK_BAPI_ANSWERED, CLERK_REFRESH_UNEXPECTED_BAPI_ERROR},
        {400, "{\"errors\":{\"code\":\"x\"}}", CLERK_BAPI_ANSWERED,
         CLERK_REFRESH_UNEXPECTED_BAPI_ERROR},
        {400, "{\"errors\":[\"x\"]}", CLERK_BAPI_ANSWERED, CLERK_REFRESH_UNEXPECTED_BAPI_ERROR},
        {400, "{\"errors\":[{\"message\":\"m\"}]}", CLERK_BAPI_ANSWERED,
         CLERK_REFRESH_UNEXPECTED_SDK_ERROR},
        {400, "{\"errors\":[{\"code\":\"\"}]}", CLERK_BAPI_ANSWERED,
         CLERK_REFRESH_UNEXPECTED_SDK_ERROR},
        {400, "{\"errors\":[{\"code\":null}]}", CLERK_BAPI_ANSWERED,
         CLERK_REFRESH_UNEXPECTED_SDK_ERROR},
        /* stricter: a code that cannot safely go into a URL and a header */
        {400, "{\"errors\":[{\"code\":\"a/b?c\"}]}", CLERK_BAPI_ANSWERED,
         CLERK_REFRESH_UNEXPECTED_BAPI_ERROR},
        {400, "{\"errors\":[{\"code\":\"x\\r\\nSet-Cookie: a=b\"}]}", CLERK_BAPI_ANSWERED,
         CLERK_REFRESH_UNEXPECTED_BAPI_ERROR},
        {400, "{\"errors\":[{\"code\":7}]}", CLERK_BAPI_ANSWERED,
         CLERK_REFRESH_UNEXPECTED_BAPI_ERROR},
        {400, "{\"errors\":[{\"code\":\"a1234567890123456789012345678901234567890123456789"
              "012345678901234\"}]}", CLERK_BAPI_ANSWERED, CLERK_REFRESH_UNEXPECTED_BAPI_ERROR},
        {400, "{\"errors\":[{\"code\":\"a123456789012345678901234567890123456789012345678"
              "901234567890123\"}]}", CLERK_BAPI_ANSWERED,
         "a123456789012345678901234567890123456789012345678901234567890123"},
        /* the secret key refused; Clerk unwell */
        {401, "{\"errors\":[{\"code\":\"authentication_invalid\"}]}",
         CLERK_BAPI_SECRET_REJECTED, "authentication_invalid"},
        {403, "", CLERK_BAPI_SECRET_REJECTED, CLERK_REFRESH_UNEXPECTED_BAPI_ERROR},
        {500, "{\"errors\":[{\"code\":\"internal_clerk_error\"}]}", CLERK_BAPI_UNAVAILABLE,
         "internal_clerk_error"},
        {502, "<html>bad gateway</html>", CLERK_BAPI_UNAVAILABLE,
         CLERK_REFRESH_UNEXPECTED_BAPI_ERROR},
        {301, "", CLERK_BAPI_UNAVAILABLE, CLERK_REFRESH_UNEXPECTED_BAPI_ERROR},
        /* 2xx without what the SDK needs */
        {204, "", CLERK_BAPI_UNAVAILABLE, CLERK_REFRESH_UNEXPECTED_BAPI_ERROR},
        {200, "{\"cookies\":[\"__session=x\"", CLERK_BAPI_UNAVAILABLE, CLERK_REFRESH_FETCH_ERROR},
        {200, "", CLERK_BAPI_UNAVAILABLE, CLERK_REFRESH_FETCH_ERROR},
        {200, "[\"__session=x\"]", CLERK_BAPI_UNAVAILABLE, CLERK_REFRESH_FETCH_ERROR},
        {200, "{\"cookies\":[\"__session=x\"],\"cookies\":[]}", CLERK_BAPI_UNAVAILABLE,
         CLERK_REFRESH_FETCH_ERROR},
        {200, "{\"object\":\"cookies\",\"cookies\":[]}", CLERK_BAPI_ANSWERED,
         CLERK_REFRESH_UNEXPECTED_SDK_ERROR},
        {200, "{\"object\":\"cookies\"}", CLERK_BAPI_ANSWERED, CLERK_REFRESH_UNEXPECTED_SDK_ERROR},
        {200, "{\"object\":\"token\",\"jwt\":\"a.b.c\"}", CLERK_BAPI_ANSWERED,
         CLERK_REFRESH_UNEXPECTED_SDK_ERROR},
        {200, "{\"cookies\":\"__session=a.b.c\"}", CLERK_BAPI_ANSWERED,
         CLERK_REFRESH_UNEXPECTED_SDK_ERROR},
        {200, "{\"cookies\":null}", CLERK_BAPI_ANSWERED, CLERK_REFRESH_UNEXPECTED_SDK_ERROR},
        /* no __session… cookie, or an empty one: the SDK's verifyToken('') fails */
        {200, "{\"cookies\":[\"__client_uat=1700000100; Path=/\"]}", CLERK_BAPI_ANSWERED,
         CLERK_REFRESH_INVALID_SESSION_TOKEN},
        {200, "{\"cookies\":[\"__session=a.b.c\",\"__session_MqCvchyS=; Path=/\"]}",
         CLERK_BAPI_ANSWERED, CLERK_REFRESH_INVALID_SESSION_TOKEN},
        {200, "{\"cookies\":[\"__Session=a.b.c\"]}", CLERK_BAPI_ANSWERED,
         CLERK_REFRESH_INVALID_SESSION_TOKEN},
        /* stricter: cookies that cannot be set as they are */
        {200, "{\"cookies\":[\"__session=a.b.c\",\"x=1\\r\\nLocation: https://evil\"]}",
         CLERK_BAPI_UNAVAILABLE, CLERK_REFRESH_UNEXPECTED_BAPI_ERROR},
        {200, "{\"cookies\":[\"__session=a.b.c\\t\"]}", CLERK_BAPI_UNAVAILABLE,
         CLERK_REFRESH_UNEXPECTED_BAPI_ERROR},
        {200, "{\"cookies\":[\"__session=a.b.c\",7]}", CLERK_BAPI_UNAVAILABLE,
         CLERK_REFRESH_UNEXPECTED_BAPI_ERROR},
        {200, "{\"cookies\":[\"__session=a.b.c\",\"\"]}", CLERK_BAPI_UNAVAILABLE,
         CLERK_REFRESH_UNEXPECTED_BAPI_ERROR},
    };
    apr_pool_t *p = UNIT_POOL;
    clerk_http_t *h = ts_client(p, 2000, 0, 1);
    clerk_refresh_request_t req = request(p, NULL);

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        refresh_t r;
        ts_route(srv, REFRESH_PATH, cases[i].status, NULL, cases[i].body);
        r = refresh_at(p, h, ts_url(srv, p, ""), SECRET, &req);
        if (r.outcome != cases[i].outcome || (r.reason == NULL) != (cases[i].reason == NULL)
            || (r.reason && strcmp(r.reason, cases[i].reason)))
            fail_msg("case %zu (HTTP %d %s): expected %d/%s, got %d/%s (%s)", i,
                     cases[i].status, cases[i].body, cases[i].outcome,
                     cases[i].reason ? cases[i].reason : "refreshed", r.outcome,
                     r.reason ? r.reason : "refreshed", r.detail ? r.detail : "");
        if (cases[i].status != 204 && cases[i].status != 301)
            assert_non_null(strstr(ts_last_body(srv, p), "\"format\":\"cookie\""));
    }
}

/* The answer's bounds: its size, the client's own bound, the number of cookies and their length. */
static void test_refresh_answer_bounds(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_refresh_request_t req = request(p, NULL);
    char *big = apr_palloc(p, CLERK_REFRESH_ANSWER_MAX + 64);
    const char *many = "{\"cookies\":[\"__session=a.b.c\"";
    const char *longest, *too_long;
    refresh_t r;
    apr_array_header_t *cookies;
    const char *reason, *detail;

    /* a JSON answer just over the bound: fetch-error, as a body the SDK could not read */
    memset(big, ' ', CLERK_REFRESH_ANSWER_MAX + 63);
    memcpy(big, "{\"cookies\":[\"__session=a.b.c\"]}", 31);
    big[CLERK_REFRESH_ANSWER_MAX + 63] = '\0';
    ts_route(srv, REFRESH_PATH, 200, NULL, big);
    r = refresh(p, &req);
    assert_int_equal(r.outcome, CLERK_BAPI_UNAVAILABLE);
    unit_assert_str(r.reason, CLERK_REFRESH_FETCH_ERROR);
    /* ...and at the bound it is read */
    big[CLERK_REFRESH_ANSWER_MAX] = '\0';
    ts_route(srv, REFRESH_PATH, 200, NULL, big);
    r = refresh(p, &req);
    assert_null(r.reason);
    /* over the HTTP client's own bound: the transfer is cut, a fetch error */
    r = refresh_at(p, ts_client(p, 2000, 1024, 1), ts_url(srv, p, ""), SECRET, &req);
    assert_int_equal(r.outcome, CLERK_BAPI_UNAVAILABLE);
    unit_assert_str(r.reason, CLERK_REFRESH_FETCH_ERROR);

    /* CLERK_REFRESH_MAX_COOKIES cookies are set, one more is refused */
    for (int i = 1; i < CLERK_REFRESH_MAX_COOKIES; i++)
        many = apr_psprintf(p, "%s,\"c%d=1\"", many, i);
    assert_int_equal(clerk_refresh_answer(p, 200, apr_pstrcat(p, many, "]}", NULL),
                                          strlen(many) + 2, &cookies, &reason, &detail),
                     CLERK_BAPI_ANSWERED);
    assert_int_equal(cookies->nelts, CLERK_REFRESH_MAX_COOKIES);
    many = apr_pstrcat(p, many, ",\"one=more\"]}", NULL);
    assert_int_equal(clerk_refresh_answer(p, 200, many, strlen(many), &cookies, &reason, &detail),
                     CLERK_BAPI_UNAVAILABLE);
    unit_assert_str(reason, CLERK_REFRESH_UNEXPECTED_BAPI_ERROR);
    assert_null(cookies);

    /* a cookie of CLERK_REFRESH_COOKIE_MAX characters is set, one longer is refused */
    longest = apr_psprintf(p, "{\"cookies\":[\"__session=%0*d\"]}",
                           (int)CLERK_REFRESH_COOKIE_MAX - 10, 0);
    too_long = apr_psprintf(p, "{\"cookies\":[\"__session=%0*d\"]}",
                            (int)CLERK_REFRESH_COOKIE_MAX - 9, 0);
    assert_int_equal(clerk_refresh_answer(p, 200, longest, strlen(longest), &cookies, &reason,
                                          &detail), CLERK_BAPI_ANSWERED);
    assert_null(reason);
    assert_int_equal(strlen(APR_ARRAY_IDX(cookies, 0, const char *)), CLERK_REFRESH_COOKIE_MAX);
    assert_int_equal(clerk_refresh_answer(p, 200, too_long, strlen(too_long), &cookies, &reason,
                                          &detail), CLERK_BAPI_UNAVAILABLE);
    unit_assert_str(reason, CLERK_REFRESH_UNEXPECTED_BAPI_ERROR);
}

/* A Backend API that does not answer in time, or is not there: fetch-error. */
static void test_refresh_timeouts(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_refresh_request_t req = request(p, NULL);
    apr_time_t t0 = apr_time_now();
    refresh_t r;

    ts_route(srv, "/v1/sessions/" SID "/slow", 200, NULL, COOKIES_ANSWER);
    ts_route(srv, REFRESH_PATH, 200, NULL, COOKIES_ANSWER);
    ts_route_slow(srv, REFRESH_PATH, 10000, 0);
    r = refresh_at(p, ts_client(p, 300, 0, 1), ts_url(srv, p, ""), SECRET, &req);
    assert_int_equal(r.outcome, CLERK_BAPI_UNAVAILABLE);
    unit_assert_str(r.reason, CLERK_REFRESH_FETCH_ERROR);
    assert_true(apr_time_now() - t0 < apr_time_from_sec(3));
    /* an answer that drips in slower than the timeout */
    ts_route_slow(srv, REFRESH_PATH, 0, 100);
    r = refresh_at(p, ts_client(p, 300, 0, 1), ts_url(srv, p, ""), SECRET, &req);
    assert_int_equal(r.outcome, CLERK_BAPI_UNAVAILABLE);
    unit_assert_str(r.reason, CLERK_REFRESH_FETCH_ERROR);
    ts_route_slow(srv, REFRESH_PATH, 0, 0);
    /* nothing listening */
    r = refresh_at(p, ts_client(p, 1000, 0, 1), "http://127.0.0.1:9", SECRET, &req);
    assert_int_equal(r.outcome, CLERK_BAPI_UNAVAILABLE);
    unit_assert_str(r.reason, CLERK_REFRESH_FETCH_ERROR);
}

/* What the SDK refuses before any call, and what this code refuses more, is never sent. */
static void test_refresh_refused_without_call(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    const char *sid_payload = "{\"sub\":\"user_2\",\"sid\":%s,\"exp\":1699999000}";
    const char *token_max = apr_psprintf(p, "%0*d", CLERK_REFRESH_TOKEN_MAX, 0);
    const char *sid_max = apr_psprintf(p, "\"sess_%0*d\"", CLERK_SESSION_ID_MAX, 0);
    const struct {
        const char *secret, *expired, *refresh, *origin;
        const char *reason;
    } cases[] = {
        /* the SDK's order: api client, session token, refresh token, decoding, sid */
        {NULL, NULL, NULL, NULL, CLERK_REFRESH_MISSING_API_CLIENT},
        {"", "x", REFRESH_TOKEN, "https://a.example", CLERK_REFRESH_MISSING_API_CLIENT},
        {SECRET, NULL, NULL, NULL, CLERK_REFRESH_MISSING_SESSION_TOKEN},
        {SECRET, "", REFRESH_TOKEN, "https://a.example", CLERK_REFRESH_MISSING_SESSION_TOKEN},
        {SECRET, "x", NULL, NULL, CLERK_REFRESH_MISSING_REFRESH_TOKEN},
        {SECRET, "x", "", "https://a.example", CLERK_REFRESH_MISSING_REFRESH_TOKEN},
        /* stricter: a refresh token that cannot be a cookie value */
        {SECRET, "x", "has space", "https://a.example", CLERK_REFRESH_MISSING_REFRESH_TOKEN},
        {SECRET, "x", "a;b", "https://a.example", CLERK_REFRESH_MISSING_REFRESH_TOKEN},
        {SECRET, "x", "a\"b", "https://a.example", CLERK_REFRESH_MISSING_REFRESH_TOKEN},
        {SECRET, "x", "a\r\nb", "https://a.example", CLERK_REFRESH_MISSING_REFRESH_TOKEN},
        {SECRET, "x", "caf\xc3\xa9", "https://a.example", CLERK_REFRESH_MISSING_REFRESH_TOKEN},
        {SECRET, "x", apr_pstrcat(p, token_max, "0", NULL), "https://a.example",
         CLERK_REFRESH_MISSING_REFRESH_TOKEN},
        /* decodeJwt: three segments, JSON header and payload (strict base64url here) */
        {SECRET, "x", REFRESH_TOKEN, "https://a.example", CLERK_REFRESH_DECODE_FAILED},
        {SECRET, "a.b", REFRESH_TOKEN, "https://a.example", CLERK_REFRESH_DECODE_FAILED},
        {SECRET, apr_pstrcat(p, expired_jwt(p), ".x", NULL), REFRESH_TOKEN, "https://a.example",
         CLERK_REFRESH_DECODE_FAILED},
        /* decodes: past decoding, the sid is what is missing */
        {SECRET, "e30.e30.c2ln", REFRESH_TOKEN, "https://a.example", CLERK_REFRESH_MISSING_SID},
        {SECRET, "e30.W10.c2ln", REFRESH_TOKEN, "https://a.example", CLERK_REFRESH_DECODE_FAILED},
        {SECRET, "e30.bm90IGpzb24.c2ln", REFRESH_TOKEN, "https://a.example",
         CLERK_REFRESH_DECODE_FAILED},
        {SECRET, "e30.e30=.c2ln", REFRESH_TOKEN, "https://a.example",
         CLERK_REFRESH_DECODE_FAILED},
        {SECRET, "e30.e30.c2l+", REFRESH_TOKEN, "https://a.example", CLERK_REFRESH_DECODE_FAILED},
        {SECRET, apr_psprintf(p, "e30.%0*d.c2ln", (int)CLERK_TOKEN_MAX_LEN, 0), REFRESH_TOKEN,
         "https://a.example", CLERK_REFRESH_DECODE_FAILED},
        /* the sid: present and a session id, never a path of our choosing */
        {SECRET, jwt(p, "{\"sub\":\"user_2\"}"), REFRESH_TOKEN, "https://a.example",
         CLERK_REFRESH_MISSING_SID},
        {SECRET, jwt(p, apr_psprintf(p, sid_payload, "null")), REFRESH_TOKEN, "https://a.example",
         CLERK_REFRESH_MISSING_SID},
        {SECRET, jwt(p, apr_psprintf(p, sid_payload, "\"\"")), REFRESH_TOKEN, "https://a.example",
         CLERK_REFRESH_MISSING_SID},
        {SECRET, jwt(p, apr_psprintf(p, sid_payload, "42")), REFRESH_TOKEN, "https://a.example",
         CLERK_REFRESH_MISSING_SID},
        {SECRET, jwt(p, apr_psprintf(p, sid_payload, "[\"" SID "\"]")), REFRESH_TOKEN,
         "https://a.example", CLERK_REFRESH_MISSING_SID},
        {SECRET, jwt(p, apr_psprintf(p, sid_payload, "\"sess_\"")), REFRESH_TOKEN,
         "https://a.example", CLERK_REFRESH_MISSING_SID},
        {SECRET, jwt(p, apr_psprintf(p, sid_payload, "\"sess_../../users/user_2\"")),
         REFRESH_TOKEN, "https://a.example", CLERK_REFRESH_MISSING_SID},
        {SECRET, jwt(p, apr_psprintf(p, sid_payload, "\"sess_1/revoke\"")), REFRESH_TOKEN,
         "https://a.example", CLERK_REFRESH_MISSING_SID},
        {SECRET, jwt(p, apr_psprintf(p, sid_payload, "\"sess_1?x=1\"")), REFRESH_TOKEN,
         "https://a.example", CLERK_REFRESH_MISSING_SID},
        {SECRET, jwt(p, apr_psprintf(p, sid_payload, "\"sess_1%2f\"")), REFRESH_TOKEN,
         "https://a.example", CLERK_REFRESH_MISSING_SID},
        {SECRET, jwt(p, apr_psprintf(p, sid_payload, "\"SESS_1\"")), REFRESH_TOKEN,
         "https://a.example", CLERK_REFRESH_MISSING_SID},
        {SECRET, jwt(p, apr_psprintf(p, sid_payload, "\"user_2\"")), REFRESH_TOKEN,
         "https://a.example", CLERK_REFRESH_MISSING_SID},
        {SECRET, jwt(p, apr_psprintf(p, sid_payload, apr_pstrcat(p, sid_max, "", NULL))),
         REFRESH_TOKEN, "https://a.example", NULL},
        {SECRET, jwt(p, apr_psprintf(p, sid_payload, apr_psprintf(p, "\"sess_%0*d\"",
                                                                   CLERK_SESSION_ID_MAX + 1, 0))),
         REFRESH_TOKEN, "https://a.example", CLERK_REFRESH_MISSING_SID},
        /* the origin is the caller's: a malformed one is its bug */
        {SECRET, expired_jwt(p), REFRESH_TOKEN, NULL, CLERK_REFRESH_UNEXPECTED_SDK_ERROR},
        {SECRET, expired_jwt(p), REFRESH_TOKEN, "app.example.com",
         CLERK_REFRESH_UNEXPECTED_SDK_ERROR},
        {SECRET, expired_jwt(p), REFRESH_TOKEN, "https://", CLERK_REFRESH_UNEXPECTED_SDK_ERROR},
        {SECRET, expired_jwt(p), REFRESH_TOKEN, "https://app.example.com/",
         CLERK_REFRESH_UNEXPECTED_SDK_ERROR},
        {SECRET, expired_jwt(p), REFRESH_TOKEN, "https://a@app.example.com",
         CLERK_REFRESH_UNEXPECTED_SDK_ERROR},
        {SECRET, expired_jwt(p), REFRESH_TOKEN, "ftp://app.example.com",
         CLERK_REFRESH_UNEXPECTED_SDK_ERROR},
        {SECRET, expired_jwt(p), REFRESH_TOKEN, "https://app.example.com\r\nX: y",
         CLERK_REFRESH_UNEXPECTED_SDK_ERROR},
        {SECRET, expired_jwt(p), REFRESH_TOKEN, "http://[::1]:8443", NULL},
        {SECRET, expired_jwt(p), REFRESH_TOKEN, "http://localhost:8080", NULL},
    };
    unsigned before = ts_requests(srv);
    clerk_http_t *h = ts_client(p, 1000, 0, 1);

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        clerk_refresh_request_t req = {cases[i].expired, cases[i].refresh, cases[i].origin, NULL,
                                       1};
        const char *sid = "unset", *detail = NULL;
        const char *why = clerk_refresh_refusal(p, cases[i].secret, &req, &sid, &detail);
        refresh_t r;

        if ((why == NULL) != (cases[i].reason == NULL)
            || (why && strcmp(why, cases[i].reason)))
            fail_msg("case %zu: expected %s, got %s (%s)", i,
                     cases[i].reason ? cases[i].reason : "a call",
                     why ? why : "a call", detail ? detail : "");
        if (why) {
            assert_null(sid);
            /* the same through the call, with no request made */
            r = refresh_at(p, h, ts_url(srv, p, ""), cases[i].secret, &req);
            assert_int_equal(r.outcome, CLERK_BAPI_ANSWERED);
            unit_assert_str(r.reason, cases[i].reason);
            assert_int_equal(ts_requests(srv), before);
        }
        else
            assert_true(!strncmp(sid, "sess_", 5));
    }
    /* no API URL is no API client either */
    {
        clerk_refresh_request_t req = request(p, NULL);
        refresh_t r = refresh_at(p, h, NULL, SECRET, &req);
        unit_assert_str(r.reason, CLERK_REFRESH_MISSING_API_CLIENT);
        assert_int_equal(ts_requests(srv), before);
    }
}

/* The SDK's request_headers: Record<string, string[]> of request.headers, within bounds. */
static void test_refresh_headers_forwarded(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    apr_table_t *in = apr_table_make(p, 8);
    clerk_refresh_request_t req = request(p, in);
    const char *body, *prefix;
    json_t *j, *h;
    const char *err;

    apr_table_add(in, "X-B", "  two  ");                  /* trimmed as Fetch's Headers do */
    apr_table_add(in, "x-a", "one");
    apr_table_add(in, "COOKIE", "__session=secret");     /* never: this site's credentials */
    apr_table_add(in, "authorization", "Bearer eyJ.secret");
    apr_table_add(in, "Proxy-Authorization", "Basic secret");
    apr_table_add(in, "X-B", "three");                   /* joined in order, ", " */
    apr_table_add(in, "Bad Name", "x");                  /* not a token: skipped */
    apr_table_add(in, "X-Latin", "caf\xe9");             /* not ASCII: skipped */
    apr_table_add(in, "X-Ctl", "a\x01z");                /* a control character: skipped */
    apr_table_add(in, "X-Tab", "a\tz");                  /* a tab is allowed */
    apr_table_add(in, "X-Quote", "say \"hi\" \\o/");     /* JSON-escaped */
    apr_table_add(in, "X-Empty", "");
    body = clerk_refresh_body(p, &req);
    prefix = apr_pstrcat(p, "{\"format\":\"cookie\",\"expired_token\":\"", req.expired_token,
                         "\",\"refresh_token\":\"" REFRESH_TOKEN "\",\"request_origin\":"
                         "\"https://app.example.com\",\"request_headers\":", NULL);
    assert_true(!strncmp(body, prefix, strlen(prefix)));
    unit_assert_str(body + strlen(prefix),
                    "{\"x-a\":[\"one\"],\"x-b\":[\"two, three\"],\"x-empty\":[\"\"],"
                    "\"x-quote\":[\"say \\\"hi\\\" \\\\o/\"],\"x-tab\":[\"a\\tz\"]}}");
    assert_null(strstr(body, "secret"));

    /* at most CLERK_REFRESH_MAX_HEADERS headers, a value of at most CLERK_REFRESH_HEADER_MAX */
    in = apr_table_make(p, 128);
    apr_table_add(in, "X-Long", apr_psprintf(p, "%0*d", CLERK_REFRESH_HEADER_MAX + 1, 0));
    apr_table_add(in, "X-Longest", apr_psprintf(p, "%0*d", CLERK_REFRESH_HEADER_MAX, 0));
    for (int i = 0; i < CLERK_REFRESH_MAX_HEADERS + 20; i++)
        apr_table_add(in, apr_psprintf(p, "X-H%03d", i), "v");
    req.headers = in;
    body = clerk_refresh_body(p, &req);
    assert_non_null(j = clerk_json_parse_object(p, body, strlen(body), &err));
    h = json_object_get(j, "request_headers");
    assert_int_equal(json_object_size(h), CLERK_REFRESH_MAX_HEADERS);
    assert_null(json_object_get(h, "x-long"));
    assert_int_equal(strlen(json_string_value(json_array_get(json_object_get(h, "x-longest"), 0))),
                     CLERK_REFRESH_HEADER_MAX);
    assert_non_null(json_object_get(h, "x-h098"));
    assert_null(json_object_get(h, "x-h099"));

    /* CLERK_REFRESH_HEADERS_MAX_BYTES in all: what does not fit is left out, the rest goes */
    in = apr_table_make(p, 8);
    for (int i = 0; i < 5; i++)
        apr_table_add(in, apr_psprintf(p, "X-Big%d", i),
                      apr_psprintf(p, "%0*d", CLERK_REFRESH_HEADER_MAX, i));
    apr_table_add(in, "X-Small", "s");
    req.headers = in;
    body = clerk_refresh_body(p, &req);
    assert_non_null(j = clerk_json_parse_object(p, body, strlen(body), &err));
    h = json_object_get(j, "request_headers");
    assert_int_equal(json_object_size(h), 4);   /* three big ones and the small one */
    assert_null(json_object_get(h, "x-big3"));
    assert_null(json_object_get(h, "x-big4"));
    assert_non_null(json_object_get(h, "x-small"));
    assert_true(strlen(body) < CLERK_REFRESH_HEADERS_MAX_BYTES + 2048);
}

/* Where the SDK finds the new session token among the cookies (cookie.ts, request.ts). */
static void test_refresh_session_token(void **state)
{
    static const struct {
        const char *cookies;    /* '\n'-separated */
        const char *token;
    } cases[] = {
        {"__session=a.b.c; Path=/", "a.b.c"},
        {"__session=a.b.c", "a.b.c"},
        {"__client_uat=1; Path=/\n__session_MqCvchyS=s.u.f; Path=/", "s.u.f"},
        /* the last cookie whose name starts with __session wins */
        {"__session=one; Path=/\n__session_MqCvchyS=two; Path=/", "two"},
        {"__session_MqCvchyS=two\n__session=one", "one"},
        {"__sessionX=x.y.z", "x.y.z"},
        {"__session=a.b.c\n__session_x=; Path=/", NULL},
        {"__session=a.b.c\n__session_x", NULL},
        /* the value ends at the next '=' or ';', as split('=')[1] */
        {"__session=a.b=c; Path=/", "a.b"},
        {"__session=a.b.c;Path=/", "a.b.c"},
        {"__session; a=b", NULL},
        {"__Session=a.b.c", NULL},
        {"_session=a.b.c", NULL},
        {"x__session=a.b.c", NULL},
        {"__clerk_db_jwt=dvb; Path=/\n__client_uat=0", NULL},
        {"a=__session=b", NULL},
    };
    apr_pool_t *p = UNIT_POOL;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        apr_array_header_t *list = apr_array_make(p, 2, sizeof(const char *));
        char *last, *copy = apr_pstrdup(p, cases[i].cookies);
        for (char *c = apr_strtok(copy, "\n", &last); c; c = apr_strtok(NULL, "\n", &last))
            APR_ARRAY_PUSH(list, const char *) = c;
        unit_assert_str(clerk_refresh_session_token(p, list), cases[i].token);
    }
    unit_assert_str(clerk_refresh_session_token(p, apr_array_make(p, 0, sizeof(const char *))),
                    NULL);
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
        UNIT_TEST(test_refresh_request_sent),
        UNIT_TEST(test_refresh_answers),
        UNIT_TEST(test_refresh_answer_bounds),
        UNIT_TEST(test_refresh_timeouts),
        UNIT_TEST(test_refresh_refused_without_call),
        UNIT_TEST(test_refresh_headers_forwarded),
        UNIT_TEST(test_refresh_session_token),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
