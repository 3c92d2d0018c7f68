/*
 * clerk_verify_token: Clerk's fixture tokens at their clocks, and minted
 * tokens for every claim, header and key rule of the README's "Security notes".
 */
#include "unit.h"

#define NOW 1700000000
#define HDR "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"" UNIT_KID "\"}"
/* Every claim but exp; tokens add their own exp (duplicates are refused). */
#define BASE "\"sub\":\"user_1\",\"sid\":\"sess_1\",\"iat\":1699999990,\"nbf\":1699999980"
#define EXP ",\"exp\":1700000060"
#define GOOD "{" BASE EXP "}"

/* ------------------------------------------------------------------ fixtures */

/*
 * Where the module's reason differs from @clerk/backend's for a fixture, and
 * why.  Everything else must match clerk_reason_str() exactly.
 */
static const struct {
    const char *name, *clerk_reason, *module_reason, *why;
} differences[] = {
    {"mockSignedOAuthAccessTokenJwt/session", "token-invalid", "token-type-mismatch",
     "an at+jwt token is classified as oauth_token before its typ is checked; at a session-only "
     "location that is a type mismatch, which is also what Clerk's authenticateRequest answers"},
    {"signedJwt/as-oauth", "token-verification-failed", "token-type-mismatch",
     "a session token where only machine tokens are accepted: the module names the type mismatch; "
     "verifyMachineAuthToken collapses every machine-token error to token-verification-failed"},
    {"mockSignedOAuthAccessTokenJwt/expired", "token-verification-failed", "token-expired",
     "the machine token is expired; Clerk's machine verifier collapses the reason, the module keeps it"},
};

static const char *module_difference(const char *name, const char *clerk_reason)
{
    for (size_t i = 0; i < sizeof(differences) / sizeof(differences[0]); i++)
        if (!strcmp(differences[i].name, name)) {
            /* the vector still says what the table says it does */
            if (strcmp(differences[i].clerk_reason, clerk_reason))
                fail_msg("%s: the vectors now expect %s, the table says %s", name, clerk_reason,
                         differences[i].clerk_reason);
            return differences[i].module_reason;
        }
    return NULL;
}

static clerk_keyset_t *fixture_keyset(apr_pool_t *p, const json_t *t)
{
    const char *key = clerk_json_string(t, "key"), *jwks = clerk_json_string(t, "jwks");
    if (key)
        return unit_pem_keyset(p, apr_pstrcat(p, UNIT_VEC_CLERK, key, NULL));
    assert_non_null(jwks);
    return unit_jwks_keyset(p, apr_pstrcat(p, UNIT_VEC_CLERK, jwks, NULL));
}

static void fixture_opts(apr_pool_t *p, const json_t *options, clerk_verify_opts_t *opts)
{
    const json_t *azp = json_object_get(options, "authorizedParties");
    const json_t *iss = json_object_get(options, "issuer");
    const json_t *skew = json_object_get(options, "clockSkewInMs");
    const char *key;
    json_t *v;

    clerk_verify_opts_init(opts);
    json_object_foreach((json_t *)options, key, v) {
        if (strcmp(key, "authorizedParties") && strcmp(key, "issuer") && strcmp(key, "clockSkewInMs")
            && strcmp(key, "publishableKey") && strcmp(key, "request_url"))
            fail_msg("fixture option %s is not mapped", key);
    }
    if (azp) {
        apr_array_header_t *a = apr_array_make(p, 2, sizeof(const char *));
        size_t i;
        json_array_foreach(azp, i, v)
            APR_ARRAY_PUSH(a, const char *) = json_string_value(v);
        opts->authorized_parties = a;
    }
    if (iss) {
        apr_array_header_t *a = apr_array_make(p, 1, sizeof(const char *));
        APR_ARRAY_PUSH(a, const char *) = json_string_value(iss);
        opts->issuers = a;
    }
    if (skew)
        opts->clock_skew = json_integer_value(skew) / 1000;
}

static void test_fixture_tokens(void **state)
{
    json_t *doc = unit_load_json(UNIT_POOL, UNIT_VEC_CLERK "fixture_tokens.json");
    json_t *tokens = json_object_get(doc, "tokens"), *t;
    size_t i;
    int sessions = 0, machines = 0, handshakes = 0, documented = 0;

    assert_int_equal(json_integer_value(json_object_get(doc, "default_clock_skew_ms")), 5000);
    json_array_foreach(tokens, i, t) {
        const char *name = clerk_json_string(t, "name");
        const char *verifier = clerk_json_string(t, "verifier");
        const char *token = clerk_json_string(t, "token");
        const json_t *expect = json_object_get(t, "expect");
        const char *result = clerk_json_string(expect, "result");
        apr_int64_t now_ms = json_integer_value(json_object_get(t, "now_ms"));
        apr_int64_t now = now_ms / 1000;        /* floor: every clock here is positive */
        clerk_keyset_t *ks = fixture_keyset(UNIT_POOL, t);
        clerk_verify_opts_t opts;
        clerk_verify_result_t res;

        fixture_opts(UNIT_POOL, json_object_get(t, "options"), &opts);
        if (!strcmp(verifier, "authenticateRequest")) {
            /* the handshake: verify the session token its __session directive sets */
            const json_t *cookies = json_object_get(expect, "set_cookie"), *c;
            size_t ci;
            const char *session = NULL;
            json_array_foreach(cookies, ci, c) {
                const char *s = json_string_value(c);
                if (!strncmp(s, "__session=", 10))
                    session = apr_pstrndup(UNIT_POOL, s + 10, strcspn(s + 10, ";"));
            }
            assert_non_null(session);
            opts.authorized_parties = NULL;
            clerk_verify_token(UNIT_POOL, session, strlen(session), ks, &opts, now, &res);
            if (res.reason != CLERK_OK)
                fail_msg("%s: embedded session token: %s (%s)", name, clerk_reason_str(res.reason), res.detail);
            unit_assert_str(res.claims->user_id, clerk_json_string(expect, "user_id"));
            handshakes++;
            continue;
        }
        if (!strcmp(verifier, "verifyMachineAuthToken")) {
            opts.accept_types = CLERK_TYPE_OAUTH | CLERK_TYPE_M2M;
            machines++;
        }
        else {
            assert_string_equal(verifier, "verifyToken");
            sessions++;
        }

        clerk_verify_token(UNIT_POOL, token, strlen(token), ks, &opts, now, &res);
        if (!strcmp(result, "valid")) {
            if (res.reason != CLERK_OK)
                fail_msg("%s: expected valid, got %s (%s)", name, clerk_reason_str(res.reason), res.detail);
            assert_non_null(res.claims);
            assert_null(res.detail);
            if (json_object_get(expect, "token_type")) {
                /* machine token */
                const json_t *scopes = json_object_get(expect, "scopes");
                unit_assert_str(clerk_token_type_name(res.claims->type), clerk_json_string(expect, "token_type"));
                unit_assert_str(res.claims->sub, clerk_json_string(expect, "subject"));
                unit_assert_str(res.claims->jti, clerk_json_string(expect, "id"));
                assert_non_null(res.claims->scopes);
                assert_int_equal(res.claims->scopes->nelts, json_array_size(scopes));
                for (int s = 0; s < res.claims->scopes->nelts; s++)
                    unit_assert_str(APR_ARRAY_IDX(res.claims->scopes, s, const char *),
                                    json_string_value(json_array_get(scopes, (size_t)s)));
            }
            else {
                assert_int_equal(res.claims->type, CLERK_TYPE_SESSION);
                unit_assert_str(res.claims->user_id, clerk_json_string(expect, "user_id"));
                unit_assert_str(res.claims->sid, clerk_json_string(expect, "session_id"));
            }
        }
        else {
            const char *want = clerk_json_string(expect, "reason");
            const char *module = module_difference(name, want);
            assert_string_equal(result, "invalid");
            assert_null(res.claims);
            assert_non_null(res.detail);
            if (module) {
                documented++;
                want = module;
            }
            if (strcmp(clerk_reason_str(res.reason), want))
                fail_msg("%s: expected %s, got %s (%s)", name, want, clerk_reason_str(res.reason), res.detail);
        }
        /* the kid is reported whenever the token parsed */
        unit_assert_str(res.kid, clerk_json_string(json_object_get(t, "header"), "kid"));
    }
    assert_int_equal(sessions + machines + handshakes, (int)json_array_size(tokens));
    assert_int_equal(sessions, 28);
    assert_int_equal(machines, 4);
    assert_int_equal(handshakes, 1);
    assert_int_equal(documented, (int)(sizeof(differences) / sizeof(differences[0])));
}

/* ------------------------------------------------------------------ minted */

typedef struct {
    const char *header;     /* NULL: HDR */
    const char *payload;
    clerk_reason_t want;
} vcase_t;

static clerk_verify_result_t verify(apr_pool_t *p, const char *header, const char *payload,
                                    const clerk_verify_opts_t *opts, apr_int64_t now)
{
    clerk_keyset_t *ks = unit_pem_keyset(p, UNIT_PUB_PEM);
    char *token = unit_sign(p, unit_fixture_private_key(p), "RS256", header ? header : HDR, payload);
    clerk_verify_result_t res;

    clerk_verify_token(p, token, strlen(token), ks, opts, now, &res);
    if (res.reason == CLERK_OK) {
        assert_non_null(res.claims);
        assert_null(res.detail);
    }
    else {
        assert_null(res.claims);
        assert_non_null(res.detail);
    }
    return res;
}

static void run_cases(apr_pool_t *p, const vcase_t *cases, size_t n, const clerk_verify_opts_t *opts,
                      apr_int64_t now)
{
    for (size_t i = 0; i < n; i++) {
        clerk_verify_result_t res = verify(p, cases[i].header, cases[i].payload, opts, now);
        if (res.reason != cases[i].want)
            fail_msg("case %zu: header %s payload %s: expected %s, got %s (%s)", i,
                     cases[i].header ? cases[i].header : "(default)", cases[i].payload,
                     clerk_reason_str(cases[i].want), clerk_reason_str(res.reason),
                     res.detail ? res.detail : "");
    }
}

#define RUN(cases, opts, now) run_cases(UNIT_POOL, (cases), sizeof(cases) / sizeof((cases)[0]), (opts), (now))

static void test_opts_defaults(void **state)
{
    clerk_verify_opts_t o;
    memset(&o, 0xAB, sizeof(o));
    clerk_verify_opts_init(&o);
    assert_int_equal(o.clock_skew, 5);
    assert_int_equal(o.accept_types, CLERK_TYPE_SESSION);
    assert_int_equal(o.max_token_len, CLERK_TOKEN_MAX_LEN);
    assert_int_equal(o.allow_pending, 0);
    assert_null(o.issuers);
    assert_null(o.authorized_parties);
    assert_null(o.audiences);
}

static void test_valid_token_claims(void **state)
{
    clerk_verify_opts_t opts;
    clerk_verify_result_t res;

    clerk_verify_opts_init(&opts);
    res = verify(UNIT_POOL, NULL,
                 "{" BASE EXP ",\"azp\":\"https://app.example.com\",\"iss\":\"https://clerk.example.com\","
                 "\"sts\":\"active\",\"jti\":\"j1\",\"act\":{\"sub\":\"user_admin\"}}", &opts, NOW);
    unit_assert_reason(res.reason, CLERK_OK);
    unit_assert_str(res.kid, UNIT_KID);
    assert_int_equal(res.claims->type, CLERK_TYPE_SESSION);
    unit_assert_str(res.claims->sub, "user_1");
    unit_assert_str(res.claims->user_id, "user_1");
    unit_assert_str(res.claims->sid, "sess_1");
    unit_assert_str(res.claims->sts, "active");
    unit_assert_str(res.claims->azp, "https://app.example.com");
    unit_assert_str(res.claims->iss, "https://clerk.example.com");
    unit_assert_str(res.claims->jti, "j1");
    unit_assert_str(res.claims->actor_sub, "user_admin");
    assert_int_equal(res.claims->exp, 1700000060);
    assert_int_equal(res.claims->iat, 1699999990);
    assert_true(res.claims->has_iat);
    assert_null(res.claims->machine_id);
    assert_null(res.claims->org.id);
}

/*
 * A compact payload is handed out as signed (CLERK_CLAIMS is its bytes,
 * escapes and all); one with whitespace is serialised again by jansson.
 */
static void test_payload_text(void **state)
{
    const char *compact = "{" BASE EXP ",\"n\":\"\\u00e9\"}";
    clerk_verify_opts_t opts;
    clerk_verify_result_t res;
    apr_array_header_t *vars;

    clerk_verify_opts_init(&opts);
    res = verify(UNIT_POOL, NULL, compact, &opts, NOW);
    unit_assert_reason(res.reason, CLERK_OK);
    unit_assert_str(res.claims->payload_text, compact);
    vars = clerk_export_vars(UNIT_POOL, res.claims);
    unit_assert_str(APR_ARRAY_IDX(vars, vars->nelts - 1, clerk_var_t).value, compact);

    res = verify(UNIT_POOL, NULL, "{" BASE EXP ", \"n\":\"\\u00e9\"}", &opts, NOW);
    unit_assert_reason(res.reason, CLERK_OK);
    assert_null(res.claims->payload_text);
    vars = clerk_export_vars(UNIT_POOL, res.claims);
    unit_assert_str(APR_ARRAY_IDX(vars, vars->nelts - 1, clerk_var_t).value,
                    "{" BASE EXP ",\"n\":\"\xc3\xa9\"}");
}

static void test_exp(void **state)
{
    static const vcase_t cases[] = {
        {NULL, "{" BASE "}", CLERK_TOKEN_VERIFICATION_FAILED},
        {NULL, "{" BASE ",\"exp\":\"1700000060\"}", CLERK_TOKEN_VERIFICATION_FAILED},
        {NULL, "{" BASE ",\"exp\":1700000060.5}", CLERK_TOKEN_VERIFICATION_FAILED},
        {NULL, "{" BASE ",\"exp\":1700000060.0}", CLERK_TOKEN_VERIFICATION_FAILED},
        {NULL, "{" BASE ",\"exp\":1.7e9}", CLERK_TOKEN_VERIFICATION_FAILED},
        {NULL, "{" BASE ",\"exp\":true}", CLERK_TOKEN_VERIFICATION_FAILED},
        {NULL, "{" BASE ",\"exp\":false}", CLERK_TOKEN_VERIFICATION_FAILED},
        {NULL, "{" BASE ",\"exp\":null}", CLERK_TOKEN_VERIFICATION_FAILED},
        {NULL, "{" BASE ",\"exp\":{}}", CLERK_TOKEN_VERIFICATION_FAILED},
        {NULL, "{" BASE ",\"exp\":[1700000060]}", CLERK_TOKEN_VERIFICATION_FAILED},
        {NULL, "{" BASE ",\"exp\":1e300}", CLERK_TOKEN_VERIFICATION_FAILED},
        {NULL, "{" BASE ",\"exp\":-1}", CLERK_TOKEN_EXPIRED},
        {NULL, "{" BASE ",\"exp\":0}", CLERK_TOKEN_EXPIRED},
        {NULL, "{" BASE ",\"exp\":-9223372036854775808}", CLERK_TOKEN_EXPIRED},
        {NULL, "{" BASE ",\"exp\":9223372036854775807}", CLERK_OK},
        {NULL, "{" BASE ",\"exp\":99999999999999999999}", CLERK_TOKEN_INVALID},  /* not representable */
        /* boundaries with the default 5 s skew */
        {NULL, "{" BASE ",\"exp\":1700000000}", CLERK_OK},                       /* exp == now */
        {NULL, "{" BASE ",\"exp\":1699999996}", CLERK_OK},                       /* past by 4 s */
        {NULL, "{" BASE ",\"exp\":1699999995}", CLERK_TOKEN_EXPIRED},            /* past by 5 s */
        {NULL, "{" BASE ",\"exp\":1699999994}", CLERK_TOKEN_EXPIRED},
        {NULL, "{" BASE ",\"exp\":1699990000}", CLERK_TOKEN_EXPIRED},
    };
    static const vcase_t noskew[] = {
        {NULL, "{" BASE ",\"exp\":1700000000}", CLERK_TOKEN_EXPIRED},            /* exp == now */
        {NULL, "{" BASE ",\"exp\":1700000001}", CLERK_OK},
    };
    static const vcase_t bigskew[] = {
        {NULL, "{" BASE ",\"exp\":1699999941}", CLERK_OK},
        {NULL, "{" BASE ",\"exp\":1699999940}", CLERK_TOKEN_EXPIRED},
    };
    clerk_verify_opts_t opts;

    clerk_verify_opts_init(&opts);
    RUN(cases, &opts, NOW);
    opts.clock_skew = 0;
    RUN(noskew, &opts, NOW);
    opts.clock_skew = 60;
    RUN(bigskew, &opts, NOW);
}

static void test_nbf(void **state)
{
#define NB(v) "{\"sub\":\"user_1\",\"iat\":1699999990" EXP ",\"nbf\":" v "}"
    static const vcase_t cases[] = {
        {NULL, "{\"sub\":\"user_1\"" EXP "}", CLERK_OK},                 /* optional */
        {NULL, NB("1700000005"), CLERK_OK},                               /* future by the skew */
        {NULL, NB("1700000006"), CLERK_TOKEN_NOT_ACTIVE_YET},
        {NULL, NB("1700000000"), CLERK_OK},
        {NULL, NB("-5"), CLERK_OK},
        {NULL, NB("9223372036854775807"), CLERK_TOKEN_NOT_ACTIVE_YET},
        {NULL, NB("\"1699999980\""), CLERK_TOKEN_VERIFICATION_FAILED},
        {NULL, NB("1699999980.5"), CLERK_TOKEN_VERIFICATION_FAILED},
        {NULL, NB("1e300"), CLERK_TOKEN_VERIFICATION_FAILED},
        {NULL, NB("true"), CLERK_TOKEN_VERIFICATION_FAILED},
        {NULL, NB("null"), CLERK_TOKEN_VERIFICATION_FAILED},
        {NULL, NB("[]"), CLERK_TOKEN_VERIFICATION_FAILED},
    };
    static const vcase_t noskew[] = {
        {NULL, NB("1700000001"), CLERK_TOKEN_NOT_ACTIVE_YET},
        {NULL, NB("1700000000"), CLERK_OK},
    };
#undef NB
    clerk_verify_opts_t opts;
    clerk_verify_opts_init(&opts);
    RUN(cases, &opts, NOW);
    opts.clock_skew = 0;
    RUN(noskew, &opts, NOW);
}

static void test_iat(void **state)
{
#define IA(v) "{\"sub\":\"user_1\"" EXP ",\"iat\":" v "}"
    static const vcase_t cases[] = {
        {NULL, IA("1700000005"), CLERK_OK},
        {NULL, IA("1700000006"), CLERK_TOKEN_IAT_IN_THE_FUTURE},
        {NULL, IA("4102444800"), CLERK_TOKEN_IAT_IN_THE_FUTURE},          /* far in the future */
        {NULL, IA("0"), CLERK_OK},
        {NULL, IA("-1"), CLERK_OK},
        {NULL, IA("\"1699999990\""), CLERK_TOKEN_VERIFICATION_FAILED},
        {NULL, IA("1699999990.25"), CLERK_TOKEN_VERIFICATION_FAILED},
        {NULL, IA("1e300"), CLERK_TOKEN_VERIFICATION_FAILED},
        {NULL, IA("false"), CLERK_TOKEN_VERIFICATION_FAILED},
        {NULL, IA("null"), CLERK_TOKEN_VERIFICATION_FAILED},
    };
#undef IA
    clerk_verify_opts_t opts;
    clerk_verify_result_t res;
    clerk_verify_opts_init(&opts);
    RUN(cases, &opts, NOW);
    res = verify(UNIT_POOL, NULL, "{\"sub\":\"user_1\"" EXP "}", &opts, NOW);
    unit_assert_reason(res.reason, CLERK_OK);
    assert_false(res.claims->has_iat);
}

static void test_sub(void **state)
{
    static const vcase_t cases[] = {
        {NULL, "{\"iat\":1699999990" EXP "}", CLERK_TOKEN_VERIFICATION_FAILED},
        {NULL, "{\"sub\":123" EXP "}", CLERK_TOKEN_VERIFICATION_FAILED},
        {NULL, "{\"sub\":null" EXP "}", CLERK_TOKEN_VERIFICATION_FAILED},
        {NULL, "{\"sub\":[\"user_1\"]" EXP "}", CLERK_TOKEN_VERIFICATION_FAILED},
        {NULL, "{\"sub\":{\"id\":\"user_1\"}" EXP "}", CLERK_TOKEN_VERIFICATION_FAILED},
        {NULL, "{\"sub\":true" EXP "}", CLERK_TOKEN_VERIFICATION_FAILED},
        {NULL, "{\"sub\":\"user_1\"" EXP "}", CLERK_OK},
    };
    clerk_verify_opts_t opts;
    clerk_verify_opts_init(&opts);
    RUN(cases, &opts, NOW);
}

static void test_iss(void **state)
{
#define IS(v) "{" BASE EXP ",\"iss\":" v "}"
    static const vcase_t cases[] = {
        {NULL, IS("\"https://clerk.example.com\""), CLERK_OK},
        {NULL, IS("\"https://clerk.other.example.com\""), CLERK_OK},     /* the second issuer */
        {NULL, IS("\"https://evil.example.com\""), CLERK_TOKEN_INVALID_ISSUER},
        {NULL, IS("\"https://clerk.example.com/\""), CLERK_TOKEN_INVALID_ISSUER},
        {NULL, IS("\"https://CLERK.example.com\""), CLERK_TOKEN_INVALID_ISSUER},
        {NULL, IS("\"HTTPS://clerk.example.com\""), CLERK_TOKEN_INVALID_ISSUER},
        {NULL, IS("\"http://clerk.example.com\""), CLERK_TOKEN_INVALID_ISSUER},
        {NULL, IS("\"https://clerk.example.com.evil.com\""), CLERK_TOKEN_INVALID_ISSUER},
        {NULL, IS("\"https://clerk.example.co\""), CLERK_TOKEN_INVALID_ISSUER},
        {NULL, IS("\"\""), CLERK_TOKEN_INVALID_ISSUER},
        {NULL, IS("[\"https://clerk.example.com\"]"), CLERK_TOKEN_INVALID_ISSUER},
        {NULL, IS("null"), CLERK_TOKEN_INVALID_ISSUER},
        {NULL, IS("7"), CLERK_TOKEN_INVALID_ISSUER},
        {NULL, "{" BASE EXP "}", CLERK_TOKEN_INVALID_ISSUER},              /* missing */
    };
    static const vcase_t unchecked[] = {
        {NULL, IS("\"https://evil.example.com\""), CLERK_OK},
        {NULL, IS("[1]"), CLERK_OK},
        {NULL, "{" BASE EXP "}", CLERK_OK},
    };
#undef IS
    clerk_verify_opts_t opts;
    clerk_verify_opts_init(&opts);
    opts.issuers = unit_strings(UNIT_POOL, "https://clerk.example.com", "https://clerk.other.example.com", NULL);
    RUN(cases, &opts, NOW);
    opts.issuers = NULL;
    RUN(unchecked, &opts, NOW);
    opts.issuers = unit_strings(UNIT_POOL, NULL);      /* empty: not checked */
    RUN(unchecked, &opts, NOW);
}

static void test_azp(void **state)
{
#define AZ(v) "{" BASE EXP ",\"azp\":" v "}"
    static const vcase_t cases[] = {
        {NULL, AZ("\"https://app.example.com\""), CLERK_OK},
        {NULL, AZ("\"http://localhost:3000\""), CLERK_OK},
        {NULL, "{" BASE EXP "}", CLERK_TOKEN_INVALID_AUTHORIZED_PARTIES},   /* missing */
        {NULL, AZ("null"), CLERK_TOKEN_INVALID_AUTHORIZED_PARTIES},
        {NULL, AZ("\"https://evil.example.com\""), CLERK_TOKEN_INVALID_AUTHORIZED_PARTIES},
        {NULL, AZ("\"https://app.example.com/\""), CLERK_TOKEN_INVALID_AUTHORIZED_PARTIES},
        {NULL, AZ("\"https://app.example.com:443\""), CLERK_TOKEN_INVALID_AUTHORIZED_PARTIES},
        {NULL, AZ("\"https://app.example.com:8443\""), CLERK_TOKEN_INVALID_AUTHORIZED_PARTIES},
        {NULL, AZ("\"http://app.example.com\""), CLERK_TOKEN_INVALID_AUTHORIZED_PARTIES},
        {NULL, AZ("\"https://APP.example.com\""), CLERK_TOKEN_INVALID_AUTHORIZED_PARTIES},
        {NULL, AZ("\"http://localhost:3001\""), CLERK_TOKEN_INVALID_AUTHORIZED_PARTIES},
        {NULL, AZ("\"\""), CLERK_TOKEN_INVALID_AUTHORIZED_PARTIES},
        {NULL, AZ("[\"https://app.example.com\"]"), CLERK_TOKEN_INVALID_AUTHORIZED_PARTIES},
        {NULL, AZ("1"), CLERK_TOKEN_INVALID_AUTHORIZED_PARTIES},
    };
    static const vcase_t unchecked[] = {
        {NULL, "{" BASE EXP "}", CLERK_OK},
        {NULL, AZ("\"https://evil.example.com\""), CLERK_OK},
    };
#undef AZ
    clerk_verify_opts_t opts;
    clerk_verify_opts_init(&opts);
    opts.authorized_parties = unit_strings(UNIT_POOL, "https://app.example.com", "http://localhost:3000", NULL);
    RUN(cases, &opts, NOW);
    opts.authorized_parties = NULL;
    RUN(unchecked, &opts, NOW);
}

static void test_aud(void **state)
{
#define AU(v) "{" BASE EXP ",\"aud\":" v "}"
    static const vcase_t cases[] = {
        {NULL, AU("\"api://one\""), CLERK_OK},
        {NULL, AU("\"api://two\""), CLERK_OK},
        {NULL, AU("[\"x\",\"api://two\"]"), CLERK_OK},
        {NULL, AU("[\"api://one\"]"), CLERK_OK},
        {NULL, "{" BASE EXP "}", CLERK_TOKEN_INVALID_AUDIENCE},            /* missing */
        {NULL, AU("\"api://three\""), CLERK_TOKEN_INVALID_AUDIENCE},
        {NULL, AU("\"API://ONE\""), CLERK_TOKEN_INVALID_AUDIENCE},
        {NULL, AU("\"api://one/\""), CLERK_TOKEN_INVALID_AUDIENCE},
        {NULL, AU("[\"x\",\"y\"]"), CLERK_TOKEN_INVALID_AUDIENCE},
        {NULL, AU("[]"), CLERK_TOKEN_INVALID_AUDIENCE},
        {NULL, AU("[\"api://one\",5]"), CLERK_TOKEN_INVALID_AUDIENCE},     /* non-string element */
        {NULL, AU("[5,\"api://one\"]"), CLERK_TOKEN_INVALID_AUDIENCE},
        {NULL, AU("[null]"), CLERK_TOKEN_INVALID_AUDIENCE},
        {NULL, AU("[[\"api://one\"]]"), CLERK_TOKEN_INVALID_AUDIENCE},
        {NULL, AU("5"), CLERK_TOKEN_INVALID_AUDIENCE},
        {NULL, AU("null"), CLERK_TOKEN_INVALID_AUDIENCE},
        {NULL, AU("{\"aud\":\"api://one\"}"), CLERK_TOKEN_INVALID_AUDIENCE},
        {NULL, AU("\"\""), CLERK_TOKEN_INVALID_AUDIENCE},
    };
    static const vcase_t unchecked[] = {
        {NULL, AU("\"anything\""), CLERK_OK},
        {NULL, AU("[1,2]"), CLERK_OK},
        {NULL, "{" BASE EXP "}", CLERK_OK},
    };
#undef AU
    clerk_verify_opts_t opts;
    clerk_verify_opts_init(&opts);
    opts.audiences = unit_strings(UNIT_POOL, "api://one", "api://two", NULL);
    RUN(cases, &opts, NOW);
    opts.audiences = NULL;
    RUN(unchecked, &opts, NOW);
}

static void test_pending_sessions(void **state)
{
    clerk_verify_opts_t opts;
    clerk_verify_result_t res;
    static const vcase_t refused[] = {
        {NULL, "{" BASE EXP ",\"sts\":\"pending\"}", CLERK_SESSION_PENDING},
        {NULL, "{" BASE EXP ",\"sts\":\"active\"}", CLERK_OK},
        {NULL, "{" BASE EXP "}", CLERK_OK},
        {NULL, "{" BASE EXP ",\"sts\":\"Pending\"}", CLERK_OK},
        {NULL, "{" BASE EXP ",\"sts\":7}", CLERK_OK},
    };

    clerk_verify_opts_init(&opts);
    RUN(refused, &opts, NOW);
    unit_assert_str(clerk_reason_str(CLERK_SESSION_PENDING), "session-pending");
    opts.allow_pending = 1;
    res = verify(UNIT_POOL, NULL, "{" BASE EXP ",\"sts\":\"pending\"}", &opts, NOW);
    unit_assert_reason(res.reason, CLERK_OK);
    unit_assert_str(res.claims->sts, "pending");
}

static void test_cat(void **state)
{
#define CAT(c) "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"" UNIT_KID "\",\"cat\":" c "}"
    static const vcase_t cases[] = {
        {HDR, GOOD, CLERK_OK},
        {CAT("\"" CLERK_CAT_SESSION "\""), GOOD, CLERK_OK},
        {CAT("\"" CLERK_CAT_IGNORE "\""), GOOD, CLERK_OK},
        {CAT("\"" CLERK_CAT_TEMPLATE "\""), GOOD, CLERK_TOKEN_TYPE_MISMATCH},
        {CAT("\"" CLERK_CAT_M2M "\""), GOOD, CLERK_TOKEN_TYPE_MISMATCH},       /* M2M category: m2m type */
        /* any other cat is another class to Clerk (isNonSessionJwtCategory) */
        {CAT("\"cl_B7d4PD999AAA\""), GOOD, CLERK_TOKEN_TYPE_MISMATCH},
        {CAT("\"cl_b7d4pd111aaa\""), GOOD, CLERK_TOKEN_TYPE_MISMATCH},
        {CAT("\"cl_i7d4pd111iii\""), GOOD, CLERK_TOKEN_TYPE_MISMATCH},
        {CAT("\"\""), GOOD, CLERK_TOKEN_TYPE_MISMATCH},
        {CAT("\"" CLERK_CAT_SESSION " \""), GOOD, CLERK_TOKEN_TYPE_MISMATCH},
        {CAT("7"), GOOD, CLERK_TOKEN_TYPE_MISMATCH},
        {CAT("null"), GOOD, CLERK_TOKEN_TYPE_MISMATCH},
        {CAT("true"), GOOD, CLERK_TOKEN_TYPE_MISMATCH},
        {CAT("[\"" CLERK_CAT_SESSION "\"]"), GOOD, CLERK_TOKEN_TYPE_MISMATCH},
        /* header rules come before claims */
        {CAT("\"" CLERK_CAT_TEMPLATE "\""), "{\"x\":1}", CLERK_TOKEN_TYPE_MISMATCH},
        {CAT("\"nope\""), "{\"x\":1}", CLERK_TOKEN_TYPE_MISMATCH},
        /* a bad typ is still token-invalid, whatever the cat */
        {"{\"alg\":\"RS256\",\"typ\":\"JOSE\",\"cat\":7}", GOOD, CLERK_TOKEN_INVALID},
    };
    /* machine tokens: a cat that is not a string is refused (Clerk reads none on OAuth) */
    static const vcase_t machine[] = {
        {"{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"cat\":null}", GOOD, CLERK_TOKEN_INVALID},
        {"{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"cat\":7}", GOOD, CLERK_TOKEN_INVALID},
        {"{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"cat\":\"cl_any\"}", GOOD, CLERK_OK},
        {"{\"alg\":\"RS256\",\"cat\":null}", "{\"sub\":\"mch_1\"" EXP "}", CLERK_TOKEN_INVALID},
        {"{\"alg\":\"RS256\",\"cat\":\"cl_any\"}", "{\"sub\":\"mch_1\"" EXP "}",
         CLERK_TOKEN_INVALID},
    };
    static const vcase_t any[] = {
        /* a template token is never a session token, whatever is accepted */
        {CAT("\"" CLERK_CAT_TEMPLATE "\""), GOOD, CLERK_TOKEN_TYPE_MISMATCH},
        /* with M2M accepted, the M2M category makes an m2m_token */
        {CAT("\"" CLERK_CAT_M2M "\""), GOOD, CLERK_OK},
    };
#undef CAT
    clerk_verify_opts_t opts;
    clerk_verify_result_t res;

    assert_string_equal(CLERK_CAT_SESSION, "cl_B7d4PD111AAA");
    assert_string_equal(CLERK_CAT_TEMPLATE, "cl_B7d4PD222AAA");
    assert_string_equal(CLERK_CAT_M2M, "cl_B7d4PD333AAA");
    assert_string_equal(CLERK_CAT_IGNORE, "cl_I7d4PD111III");
    clerk_verify_opts_init(&opts);
    RUN(cases, &opts, NOW);
    opts.accept_types = CLERK_TYPE_ALL;
    RUN(any, &opts, NOW);
    RUN(machine, &opts, NOW);
    res = verify(UNIT_POOL, "{\"alg\":\"RS256\",\"cat\":\"" CLERK_CAT_M2M "\"}", GOOD, &opts, NOW);
    assert_int_equal(res.claims->type, CLERK_TYPE_M2M);
}

static void test_typ(void **state)
{
#define TYP(t) "{\"alg\":\"RS256\",\"kid\":\"" UNIT_KID "\",\"typ\":" t "}"
    static const vcase_t cases[] = {
        {TYP("\"JWT\""), GOOD, CLERK_OK},
        {"{\"alg\":\"RS256\",\"kid\":\"" UNIT_KID "\"}", GOOD, CLERK_OK},
        {TYP("\"jwt\""), GOOD, CLERK_TOKEN_INVALID},
        {TYP("\"JOSE\""), GOOD, CLERK_TOKEN_INVALID},
        {TYP("\"JWT \""), GOOD, CLERK_TOKEN_INVALID},
        {TYP("\"\""), GOOD, CLERK_TOKEN_INVALID},
        {TYP("\"AT+JWT\""), GOOD, CLERK_TOKEN_INVALID},
        {TYP("\"at+jwt\""), GOOD, CLERK_TOKEN_TYPE_MISMATCH},
        {TYP("\"application/at+jwt\""), GOOD, CLERK_TOKEN_TYPE_MISMATCH},
        {TYP("[\"JWT\"]"), GOOD, CLERK_TOKEN_INVALID},
        /* header before claims: bad typ with no exp is still the typ */
        {TYP("\"JOSE\""), "{\"sub\":\"user_1\"}", CLERK_TOKEN_INVALID},
    };
#undef TYP
    clerk_verify_opts_t opts;
    clerk_verify_opts_init(&opts);
    RUN(cases, &opts, NOW);
}

#define M2M_HDR "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"" UNIT_KID "\",\"cat\":\"" CLERK_CAT_M2M "\"}"
#define M2M_PAYLOAD "{\"sub\":\"mch_1\",\"iat\":1699999990" EXP ",\"jti\":\"mt_1\"," \
                    "\"aud\":[\"mch_2\",\"mch_3\"],\"scopes\":\"mch_2 mch_3\",\"iss\":\"https://elsewhere\"}"

static void test_m2m(void **state)
{
    static const vcase_t session_only[] = {
        {M2M_HDR, M2M_PAYLOAD, CLERK_TOKEN_TYPE_MISMATCH},
        {HDR, M2M_PAYLOAD, CLERK_TOKEN_TYPE_MISMATCH},                     /* mch_ sub, no cat */
        /* type before claims: expired and without exp, still a mismatch */
        {M2M_HDR, "{\"sub\":\"mch_1\",\"exp\":1}", CLERK_TOKEN_TYPE_MISMATCH},
        {M2M_HDR, "{\"sub\":\"mch_1\"}", CLERK_TOKEN_TYPE_MISMATCH},
    };
    static const vcase_t m2m[] = {
        {M2M_HDR, M2M_PAYLOAD, CLERK_OK},
        {HDR, M2M_PAYLOAD, CLERK_OK},                                      /* absent cat tolerated */
        {"{\"alg\":\"RS256\",\"cat\":\"" CLERK_CAT_SESSION "\"}", M2M_PAYLOAD, CLERK_TOKEN_INVALID},
        {"{\"alg\":\"RS256\",\"cat\":\"" CLERK_CAT_TEMPLATE "\"}", M2M_PAYLOAD, CLERK_TOKEN_INVALID},
        {"{\"alg\":\"RS256\",\"cat\":\"" CLERK_CAT_IGNORE "\"}", M2M_PAYLOAD, CLERK_TOKEN_INVALID},
        {"{\"alg\":\"RS256\",\"typ\":\"JOSE\"}", M2M_PAYLOAD, CLERK_TOKEN_INVALID},
        /* a machine subject makes an M2M token even with typ at+jwt; its typ must then be JWT */
        {"{\"alg\":\"RS256\",\"typ\":\"at+jwt\"}", M2M_PAYLOAD, CLERK_TOKEN_INVALID},
        {M2M_HDR, "{\"sub\":\"mch_1\",\"exp\":1}", CLERK_TOKEN_EXPIRED},
        {M2M_HDR, "{\"sub\":\"mch_1\"}", CLERK_TOKEN_VERIFICATION_FAILED},
        {M2M_HDR, "{\"exp\":1700000060}", CLERK_TOKEN_VERIFICATION_FAILED},  /* M2M by cat, no sub */
        /* a session token where only M2M is accepted */
        {HDR, GOOD, CLERK_TOKEN_TYPE_MISMATCH},
        {"{\"alg\":\"RS256\",\"typ\":\"at+jwt\"}", GOOD, CLERK_TOKEN_TYPE_MISMATCH},
    };
    clerk_verify_opts_t opts;
    clerk_verify_result_t res;

    clerk_verify_opts_init(&opts);
    RUN(session_only, &opts, NOW);
    opts.accept_types = CLERK_TYPE_M2M;
    /* neither azp nor iss rules apply to machine tokens */
    opts.authorized_parties = unit_strings(UNIT_POOL, "https://app.example.com", NULL);
    opts.issuers = unit_strings(UNIT_POOL, "https://clerk.example.com", NULL);
    RUN(m2m, &opts, NOW);

    res = verify(UNIT_POOL, M2M_HDR, M2M_PAYLOAD, &opts, NOW);
    assert_int_equal(res.claims->type, CLERK_TYPE_M2M);
    unit_assert_str(res.claims->machine_id, "mch_1");
    unit_assert_str(res.claims->sub, "mch_1");
    assert_null(res.claims->user_id);
    unit_assert_str(res.claims->jti, "mt_1");
    assert_int_equal(res.claims->scopes->nelts, 2);
    unit_assert_str(APR_ARRAY_IDX(res.claims->scopes, 0, const char *), "mch_2");
    unit_assert_str(APR_ARRAY_IDX(res.claims->scopes, 1, const char *), "mch_3");
    /* pending status is a session notion */
    res = verify(UNIT_POOL, M2M_HDR, "{\"sub\":\"mch_1\",\"sts\":\"pending\"" EXP "}", &opts, NOW);
    unit_assert_reason(res.reason, CLERK_OK);
}

static void test_oauth(void **state)
{
#define OAUTH_HDR "{\"alg\":\"RS256\",\"kid\":\"" UNIT_KID "\",\"typ\":\"at+jwt\"}"
#define OAUTH_PAYLOAD "{\"sub\":\"user_9\",\"client_id\":\"c1\",\"scope\":\"read write\",\"jti\":\"oat_1\"" EXP "}"
    static const vcase_t cases[] = {
        {OAUTH_HDR, OAUTH_PAYLOAD, CLERK_OK},
        {"{\"alg\":\"RS256\",\"typ\":\"application/at+jwt\"}", OAUTH_PAYLOAD, CLERK_OK},
        {OAUTH_HDR, "{\"sub\":\"user_9\",\"exp\":5}", CLERK_TOKEN_EXPIRED},
        {OAUTH_HDR, "{\"exp\":1700000060}", CLERK_TOKEN_VERIFICATION_FAILED},
        /* Clerk applies no cat check to OAuth JWTs */
        {"{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"cat\":\"whatever\"}", OAUTH_PAYLOAD, CLERK_OK},
        /* a machine subject makes it M2M whatever its typ (Clerk's order) */
        {OAUTH_HDR, M2M_PAYLOAD, CLERK_TOKEN_TYPE_MISMATCH},
        {HDR, GOOD, CLERK_TOKEN_TYPE_MISMATCH},
        {M2M_HDR, M2M_PAYLOAD, CLERK_TOKEN_TYPE_MISMATCH},
    };
    clerk_verify_opts_t opts;
    clerk_verify_result_t res;

    clerk_verify_opts_init(&opts);
    opts.accept_types = CLERK_TYPE_OAUTH;
    RUN(cases, &opts, NOW);
    res = verify(UNIT_POOL, OAUTH_HDR, OAUTH_PAYLOAD, &opts, NOW);
    assert_int_equal(res.claims->type, CLERK_TYPE_OAUTH);
    unit_assert_str(res.claims->user_id, "user_9");
    unit_assert_str(res.claims->jti, "oat_1");
    assert_int_equal(res.claims->scopes->nelts, 2);
    unit_assert_str(APR_ARRAY_IDX(res.claims->scopes, 1, const char *), "write");
    /* audience is enforced for OAuth tokens when configured */
    opts.audiences = unit_strings(UNIT_POOL, "api://x", NULL);
    res = verify(UNIT_POOL, OAUTH_HDR, OAUTH_PAYLOAD, &opts, NOW);
    unit_assert_reason(res.reason, CLERK_TOKEN_INVALID_AUDIENCE);
#undef OAUTH_HDR
#undef OAUTH_PAYLOAD
}

static void test_payload_not_acceptable_json(void **state)
{
    static const vcase_t cases[] = {
        {NULL, "{\"sub\":\"user_1\",\"sub\":\"user_2\"" EXP "}", CLERK_TOKEN_INVALID},
        {NULL, "{" BASE EXP EXP "}", CLERK_TOKEN_INVALID},
        {NULL, "{" BASE EXP ",\"org_role\":\"org:member\",\"org_role\":\"org:admin\"}", CLERK_TOKEN_INVALID},
        {NULL, "{" BASE EXP ",\"o\":{\"rol\":\"member\",\"rol\":\"admin\"}}", CLERK_TOKEN_INVALID},
        {NULL, "not json", CLERK_TOKEN_INVALID},
        {NULL, "[{" BASE EXP "}]", CLERK_TOKEN_INVALID},
        {NULL, "\"user_1\"", CLERK_TOKEN_INVALID},
        {NULL, "{" BASE EXP ",\"x\":\"a\\u0000b\"}", CLERK_TOKEN_INVALID},
        {NULL, "{\"sub\":\"user_\\u0000admin\"" EXP "}", CLERK_TOKEN_INVALID},
        {NULL, "{" BASE EXP ",\"x\":\"\xc0\xaf\"}", CLERK_TOKEN_INVALID},
        {NULL, "{" BASE EXP ",\"x\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}", CLERK_TOKEN_INVALID},
        {NULL, "{" BASE EXP ",}", CLERK_TOKEN_INVALID},
    };
    clerk_verify_opts_t opts;
    clerk_verify_opts_init(&opts);
    RUN(cases, &opts, NOW);
}

static void test_v2_claims_that_cannot_build(void **state)
{
    static const vcase_t cases[] = {
        {NULL, "{" BASE EXP ",\"v\":2,\"fea\":\"o:teams,teams\",\"o\":{\"id\":\"org_1\",\"rol\":\"admin\"}}",
         CLERK_TOKEN_INVALID},
        /* without an active org the malformed fea does not matter to the org model */
        {NULL, "{" BASE EXP ",\"v\":2,\"fea\":\"o:teams,teams\"}", CLERK_OK},
    };
    clerk_verify_opts_t opts;
    clerk_verify_opts_init(&opts);
    RUN(cases, &opts, NOW);
}

static void test_keys_and_kids(void **state)
{
    clerk_verify_opts_t opts;
    clerk_verify_result_t res;
    EVP_PKEY *priv = unit_fixture_private_key(UNIT_POOL);
    clerk_keyset_t *jwks = unit_jwks_keyset(UNIT_POOL, UNIT_JWKS);
    clerk_keyset_t *all = unit_jwks_keyset(UNIT_POOL, UNIT_VEC_CLERK "jwks_all.json");
    char *good = unit_sign(UNIT_POOL, priv, "RS256", HDR, GOOD);
    char *unknown = unit_sign(UNIT_POOL, priv, "RS256", "{\"alg\":\"RS256\",\"kid\":\"ins_unknown\"}", GOOD);
    char *nokid = unit_sign(UNIT_POOL, priv, "RS256", "{\"alg\":\"RS256\"}", GOOD);

    clerk_verify_opts_init(&opts);
    /* no key source at all */
    clerk_verify_token(UNIT_POOL, good, strlen(good), NULL, &opts, NOW, &res);
    unit_assert_reason(res.reason, CLERK_JWK_FAILED_TO_RESOLVE);
    unit_assert_str(res.kid, UNIT_KID);
    assert_null(res.claims);
    /* parse errors still come first */
    clerk_verify_token(UNIT_POOL, "a.b", 3, NULL, &opts, NOW, &res);
    unit_assert_reason(res.reason, CLERK_TOKEN_INVALID);
    assert_null(res.kid);
    {
        char *none = unit_raw_token(UNIT_POOL, "{\"alg\":\"none\"}", GOOD, "AAAA");
        clerk_verify_token(UNIT_POOL, none, strlen(none), NULL, &opts, NOW, &res);
        unit_assert_reason(res.reason, CLERK_TOKEN_INVALID_ALGORITHM);
    }
    /* JWKS: known kid, unknown kid, no kid */
    clerk_verify_token(UNIT_POOL, good, strlen(good), jwks, &opts, NOW, &res);
    unit_assert_reason(res.reason, CLERK_OK);
    clerk_verify_token(UNIT_POOL, unknown, strlen(unknown), jwks, &opts, NOW, &res);
    unit_assert_reason(res.reason, CLERK_JWK_KID_MISMATCH);
    unit_assert_str(res.kid, "ins_unknown");
    clerk_verify_token(UNIT_POOL, nokid, strlen(nokid), jwks, &opts, NOW, &res);
    unit_assert_reason(res.reason, CLERK_OK);
    clerk_verify_token(UNIT_POOL, nokid, strlen(nokid), all, &opts, NOW, &res);
    unit_assert_reason(res.reason, CLERK_JWK_KID_MISMATCH);
    assert_null(res.kid);
    /* a token from another instance: other key, same kid */
    {
        EVP_PKEY *other = unit_load_private_key(UNIT_POOL, UNIT_VEC_CLERK "keys/integration-b.private.pem");
        char *t = unit_sign(UNIT_POOL, other, "RS256", HDR, GOOD);
        clerk_verify_token(UNIT_POOL, t, strlen(t), jwks, &opts, NOW, &res);
        unit_assert_reason(res.reason, CLERK_TOKEN_INVALID_SIGNATURE);
    }
}

static void test_signature_before_claims(void **state)
{
    /* A forged token with every claim wrong reports the signature, nothing else. */
    clerk_verify_opts_t opts;
    clerk_verify_result_t res;
    EVP_PKEY *other = unit_load_private_key(UNIT_POOL, UNIT_VEC_CLERK "keys/integration-a.private.pem");
    char *t = unit_sign(UNIT_POOL, other, "RS256",
                        "{\"alg\":\"RS256\",\"cat\":\"" CLERK_CAT_TEMPLATE "\",\"typ\":\"JOSE\"}", "[\"not an object\"]");

    clerk_verify_opts_init(&opts);
    clerk_verify_token(UNIT_POOL, t, strlen(t), unit_pem_keyset(UNIT_POOL, UNIT_PUB_PEM), &opts, NOW, &res);
    unit_assert_reason(res.reason, CLERK_TOKEN_INVALID_SIGNATURE);
}

static void test_check_order(void **state)
{
    static const vcase_t cases[] = {
        /* sub before aud */
        {NULL, "{\"exp\":1700000060,\"aud\":\"bad\"}", CLERK_TOKEN_VERIFICATION_FAILED},
        /* aud before azp */
        {NULL, "{\"sub\":\"u\",\"exp\":1700000060,\"aud\":\"bad\",\"azp\":\"bad\"}", CLERK_TOKEN_INVALID_AUDIENCE},
        /* azp before iss */
        {NULL, "{\"sub\":\"u\",\"exp\":1700000060,\"aud\":\"a\",\"azp\":\"bad\",\"iss\":\"bad\"}",
         CLERK_TOKEN_INVALID_AUTHORIZED_PARTIES},
        /* iss before exp */
        {NULL, "{\"sub\":\"u\",\"exp\":1,\"aud\":\"a\",\"azp\":\"p\",\"iss\":\"bad\"}", CLERK_TOKEN_INVALID_ISSUER},
        {NULL, "{\"sub\":\"u\",\"aud\":\"a\",\"azp\":\"p\",\"iss\":\"bad\"}", CLERK_TOKEN_INVALID_ISSUER},
        /* exp before nbf */
        {NULL, "{\"sub\":\"u\",\"exp\":1,\"nbf\":4102444800,\"aud\":\"a\",\"azp\":\"p\",\"iss\":\"i\"}",
         CLERK_TOKEN_EXPIRED},
        /* nbf before iat */
        {NULL, "{\"sub\":\"u\",\"exp\":1700000060,\"nbf\":4102444800,\"iat\":4102444800,\"aud\":\"a\",\"azp\":\"p\",\"iss\":\"i\"}",
         CLERK_TOKEN_NOT_ACTIVE_YET},
        /* iat before sts */
        {NULL, "{\"sub\":\"u\",\"exp\":1700000060,\"iat\":4102444800,\"sts\":\"pending\",\"aud\":\"a\",\"azp\":\"p\",\"iss\":\"i\"}",
         CLERK_TOKEN_IAT_IN_THE_FUTURE},
        {NULL, "{\"sub\":\"u\",\"exp\":1700000060,\"sts\":\"pending\",\"aud\":\"a\",\"azp\":\"p\",\"iss\":\"i\"}",
         CLERK_SESSION_PENDING},
        {NULL, "{\"sub\":\"u\",\"exp\":1700000060,\"aud\":\"a\",\"azp\":\"p\",\"iss\":\"i\"}", CLERK_OK},
    };
    clerk_verify_opts_t opts;
    clerk_verify_opts_init(&opts);
    opts.audiences = unit_strings(UNIT_POOL, "a", NULL);
    opts.authorized_parties = unit_strings(UNIT_POOL, "p", NULL);
    opts.issuers = unit_strings(UNIT_POOL, "i", NULL);
    RUN(cases, &opts, NOW);
}

static void test_oversized_tokens(void **state)
{
    EVP_PKEY *priv = unit_fixture_private_key(UNIT_POOL);
    clerk_keyset_t *ks = unit_pem_keyset(UNIT_POOL, UNIT_PUB_PEM);
    static const apr_size_t sizes[] = {16 * 1024, 64 * 1024, 1024 * 1024};
    clerk_verify_opts_t opts;
    clerk_verify_result_t res;

    clerk_verify_opts_init(&opts);
    for (size_t i = 0; i < 3; i++) {
        char *pad = apr_palloc(UNIT_POOL, sizes[i] + 1);
        char *t;
        memset(pad, 'x', sizes[i]);
        pad[sizes[i]] = '\0';
        t = unit_sign(UNIT_POOL, priv, "RS256", HDR,
                      apr_pstrcat(UNIT_POOL, "{" BASE EXP ",\"pad\":\"", pad, "\"}", NULL));
        assert_true(strlen(t) > CLERK_TOKEN_MAX_LEN);
        clerk_verify_token(UNIT_POOL, t, strlen(t), ks, &opts, NOW, &res);
        unit_assert_reason(res.reason, CLERK_TOKEN_INVALID);
        /* max_token_len 0 means the default */
        opts.max_token_len = 0;
        clerk_verify_token(UNIT_POOL, t, strlen(t), ks, &opts, NOW, &res);
        unit_assert_reason(res.reason, CLERK_TOKEN_INVALID);
        opts.max_token_len = CLERK_TOKEN_MAX_LEN;
        if (i == 0) {
            /* a larger configured bound lets it through */
            opts.max_token_len = 32 * 1024;
            clerk_verify_token(UNIT_POOL, t, strlen(t), ks, &opts, NOW, &res);
            unit_assert_reason(res.reason, CLERK_OK);
            opts.max_token_len = CLERK_TOKEN_MAX_LEN;
        }
    }
    /* the size bound applies to the given length exactly */
    {
        char *t = unit_sign(UNIT_POOL, priv, "RS256", HDR, GOOD);
        opts.max_token_len = strlen(t);
        clerk_verify_token(UNIT_POOL, t, strlen(t), ks, &opts, NOW, &res);
        unit_assert_reason(res.reason, CLERK_OK);
        opts.max_token_len = strlen(t) - 1;
        clerk_verify_token(UNIT_POOL, t, strlen(t), ks, &opts, NOW, &res);
        unit_assert_reason(res.reason, CLERK_TOKEN_INVALID);
    }
}

static void test_accept_types_combinations(void **state)
{
    static const struct {
        const char *header, *payload;
        clerk_token_type_t type;
    } tokens[] = {
        {HDR, GOOD, CLERK_TYPE_SESSION},
        {M2M_HDR, M2M_PAYLOAD, CLERK_TYPE_M2M},
        {"{\"alg\":\"RS256\",\"typ\":\"at+jwt\"}", GOOD, CLERK_TYPE_OAUTH},
    };
    for (unsigned accept = 1; accept <= CLERK_TYPE_ALL; accept++) {
        clerk_verify_opts_t opts;
        clerk_verify_opts_init(&opts);
        opts.accept_types = accept;
        for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
            clerk_verify_result_t res = verify(UNIT_POOL, tokens[i].header, tokens[i].payload, &opts, NOW);
            clerk_reason_t want = (accept & tokens[i].type) ? CLERK_OK : CLERK_TOKEN_TYPE_MISMATCH;
            if (res.reason != want)
                fail_msg("accept %u, token %zu: expected %s, got %s", accept, i, clerk_reason_str(want),
                         clerk_reason_str(res.reason));
            if (want == CLERK_OK)
                assert_int_equal(res.claims->type, tokens[i].type);
        }
    }
}

static void test_reason_strings(void **state)
{
    static const char *const names[CLERK_REASON_COUNT] = {
        "ok", "session-token-missing", "token-invalid", "token-invalid-algorithm",
        "token-invalid-signature", "token-verification-failed", "token-expired",
        "token-not-active-yet", "token-iat-in-the-future", "token-invalid-authorized-parties",
        "token-invalid-issuer", "token-invalid-audience", "token-type-mismatch", "session-pending",
        "jwk-kid-mismatch", "jwk-failed-to-resolve",
    };
    for (int r = 0; r < CLERK_REASON_COUNT; r++)
        unit_assert_str(clerk_reason_str((clerk_reason_t)r), names[r]);
    unit_assert_str(clerk_reason_str(CLERK_REASON_COUNT), "unexpected-error");
    unit_assert_str(clerk_reason_str((clerk_reason_t)-1), "unexpected-error");
    unit_assert_str(clerk_reason_str((clerk_reason_t)9999), "unexpected-error");
}

/* The settings the module and clerk-jwt share, with their defaults and the issuer rule. */
static void test_opts_from_settings(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    apr_array_header_t *configured = unit_strings(p, "https://a.example", NULL);
    apr_array_header_t *instance = unit_strings(p, "https://clerk.example.com", NULL);
    apr_array_header_t *off = unit_strings(p, NULL);
    clerk_verify_settings_t s = {NULL, NULL, NULL, NULL, -1, -1, 0};
    clerk_verify_opts_t o;

    assert_int_equal(clerk_verify_opts_from_settings(&s, &o), CLERK_ISSUERS_UNCHECKED);
    assert_null(o.issuers);
    assert_int_equal(o.clock_skew, CLERK_DEFAULT_CLOCK_SKEW);
    assert_int_equal(o.accept_types, CLERK_TYPE_SESSION);
    assert_false(o.allow_pending);
    s.instance_issuers = instance;
    assert_int_equal(clerk_verify_opts_from_settings(&s, &o), CLERK_ISSUERS_INSTANCE);
    assert_ptr_equal(o.issuers, instance);
    s.issuers = configured;                     /* ClerkIssuer wins over the instance */
    assert_int_equal(clerk_verify_opts_from_settings(&s, &o), CLERK_ISSUERS_CONFIGURED);
    assert_ptr_equal(o.issuers, configured);
    s.issuers = off;                            /* and so does "off" */
    assert_int_equal(clerk_verify_opts_from_settings(&s, &o), CLERK_ISSUERS_OFF);
    assert_null(o.issuers);
    s.clock_skew = 0;
    s.allow_pending = 1;
    s.accept_types = CLERK_TYPE_M2M;
    s.audiences = configured;
    clerk_verify_opts_from_settings(&s, &o);
    assert_int_equal(o.clock_skew, 0);
    assert_true(o.allow_pending);
    assert_int_equal(o.accept_types, CLERK_TYPE_M2M);
    assert_ptr_equal(o.audiences, configured);
    s.allow_pending = 0;
    clerk_verify_opts_from_settings(&s, &o);
    assert_false(o.allow_pending);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_fixture_tokens),
        UNIT_TEST(test_opts_defaults),
        UNIT_TEST(test_opts_from_settings),
        UNIT_TEST(test_valid_token_claims),
        UNIT_TEST(test_payload_text),
        UNIT_TEST(test_exp),
        UNIT_TEST(test_nbf),
        UNIT_TEST(test_iat),
        UNIT_TEST(test_sub),
        UNIT_TEST(test_iss),
        UNIT_TEST(test_azp),
        UNIT_TEST(test_aud),
        UNIT_TEST(test_pending_sessions),
        UNIT_TEST(test_cat),
        UNIT_TEST(test_typ),
        UNIT_TEST(test_m2m),
        UNIT_TEST(test_oauth),
        UNIT_TEST(test_payload_not_acceptable_json),
        UNIT_TEST(test_v2_claims_that_cannot_build),
        UNIT_TEST(test_keys_and_kids),
        UNIT_TEST(test_signature_before_claims),
        UNIT_TEST(test_check_order),
        UNIT_TEST(test_oversized_tokens),
        UNIT_TEST(test_accept_types_combinations),
        UNIT_TEST(test_reason_strings),
    };
    return UNIT_RUN(tests);
}
