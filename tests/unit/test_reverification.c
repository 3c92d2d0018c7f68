/*
 * Require clerk-reverification: the SDK's presets and custom configurations,
 * decided from "fva" as @clerk/shared's checkReverificationAuthorization
 * (src/authorization.ts) does, the reverificationError body, and "fva" in
 * the claims model.
 */
#include "unit.h"

#include "clerk_reverification.h"

#define NEVER CLERK_FACTOR_NEVER

static const clerk_reverification_t *parsed(apr_pool_t *p, const char *args)
{
    const clerk_reverification_t *cfg = NULL;
    const char *err = clerk_reverification_parse(p, args, &cfg);
    if (err)
        fail_msg("'%s': %s", args, err);
    return cfg;
}

/* ---- configurations ---- */

static void test_presets_are_the_sdks(void **state)
{
    static const struct {
        const char *name;
        clerk_factor_level_t level;
        int minutes;
    } want[] = {
        {"strict_mfa", CLERK_MULTI_FACTOR, 10},
        {"strict", CLERK_SECOND_FACTOR, 10},
        {"moderate", CLERK_SECOND_FACTOR, 60},
        {"lax", CLERK_SECOND_FACTOR, 1440},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const clerk_reverification_t *cfg = parsed(UNIT_POOL, want[i].name);
        unit_assert_str(cfg->preset, want[i].name);
        assert_int_equal(cfg->level, want[i].level);
        assert_int_equal(cfg->after_minutes, want[i].minutes);
    }
}

static void test_custom_configurations(void **state)
{
    const clerk_reverification_t *cfg = parsed(UNIT_POOL, "first_factor 5");
    assert_null(cfg->preset);
    assert_int_equal(cfg->level, CLERK_FIRST_FACTOR);
    assert_int_equal(cfg->after_minutes, 5);
    cfg = parsed(UNIT_POOL, "second_factor 1");
    assert_int_equal(cfg->level, CLERK_SECOND_FACTOR);
    assert_int_equal(cfg->after_minutes, 1);
    cfg = parsed(UNIT_POOL, "  multi_factor   99998 ");
    assert_int_equal(cfg->level, CLERK_MULTI_FACTOR);
    assert_int_equal(cfg->after_minutes, CLERK_REVERIFICATION_MAX_MINUTES);
    cfg = parsed(UNIT_POOL, "\"second_factor\" 010");
    assert_int_equal(cfg->after_minutes, 10);
    unit_assert_str(clerk_factor_level_name(CLERK_FIRST_FACTOR), "first_factor");
    unit_assert_str(clerk_factor_level_name(CLERK_SECOND_FACTOR), "second_factor");
    unit_assert_str(clerk_factor_level_name(CLERK_MULTI_FACTOR), "multi_factor");
}

/* validateReverificationConfig refuses these; here they are configuration errors */
static void test_invalid_configurations(void **state)
{
    static const struct {
        const char *args, *message;
    } bad[] = {
        {"", "needs a preset"},
        {"   ", "needs a preset"},
        {NULL, "needs a preset"},
        {"invalid-value", "'invalid-value' is not a preset"},
        {"Strict", "'Strict' is not a preset"},
        {"veryStrict", "'veryStrict' is not a preset"},     /* renamed strict_mfa by the SDK */
        {"strictMfa", "'strictMfa' is not a preset"},       /* camelCase before snake_case */
        {"multi_factor", "the level multi_factor needs its minutes"},
        {"strict 10", "'strict' is not a level"},
        {"third_factor 10", "'third_factor' is not a level"},
        {"second_factor 0", "'0' is not a number of minutes from 1 to 99998"},
        {"second_factor -1", "'-1' is not a number"},
        {"second_factor +5", "'+5' is not a number"},
        {"second_factor 1.5", "'1.5' is not a number"},
        {"second_factor 10m", "'10m' is not a number"},
        {"second_factor ten", "'ten' is not a number"},
        {"second_factor 99999", "'99999' is not a number"},
        {"second_factor 1000000", "'1000000' is not a number"},
        {"second_factor \"\"", "'' is not a number"},
        {"second_factor 10 strict", "takes one preset, or one level and its minutes"},
        {"strict lax", "'strict' is not a level"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const clerk_reverification_t *cfg = NULL;
        const char *err = clerk_reverification_parse(UNIT_POOL, bad[i].args, &cfg);
        if (!err)
            fail_msg("'%s' was accepted", bad[i].args ? bad[i].args : "(null)");
        if (!strstr(err, bad[i].message))
            fail_msg("'%s': \"%s\" does not say \"%s\"", bad[i].args, err, bad[i].message);
        assert_null(cfg);
    }
}

/* ---- decisions ---- */

typedef struct {
    const char *config;
    apr_int64_t first, second;
    int granted;
} vector_t;

static void run_vectors(apr_pool_t *p, const vector_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const apr_int64_t fva[2] = {v[i].first, v[i].second};
        if (clerk_reverification_check(parsed(p, v[i].config), fva) != v[i].granted)
            fail_msg("%s with fva [%" APR_INT64_T_FMT ",%" APR_INT64_T_FMT "]: expected %s",
                     v[i].config, v[i].first, v[i].second, v[i].granted ? "granted" : "denied");
    }
}

/* the cases of packages/shared/src/__tests__/authorization.spec.ts */
static void test_sdk_spec_cases(void **state)
{
    static const vector_t v[] = {
        {"strict", 0, 0, 1},            /* "authorizes permission + reverification when both match" */
        {"strict_mfa", 0, NEVER, 1},    /* "... via graceful downgrade when no second factor" */
        {"strict", NEVER, NEVER, 0},    /* "fails ... when no factors are enrolled" */
        {"strict", 1000, 2000, 0},      /* the spec's default ages: verified long ago */
    };
    run_vectors(UNIT_POOL, v, sizeof(v) / sizeof(v[0]));
    /* "fails reverification when factorVerificationAge is null (fva not opted-in)" */
    assert_false(clerk_reverification_check(parsed(UNIT_POOL, "strict"), NULL));
    assert_false(clerk_reverification_check(parsed(UNIT_POOL, "lax"), NULL));
    assert_false(clerk_reverification_check(parsed(UNIT_POOL, "first_factor 99998"), NULL));
}

/* fresh means verified fewer than afterMinutes ago: exactly N minutes is too old */
static void test_presets_at_their_boundaries(void **state)
{
    static const vector_t v[] = {
        /* strict_mfa: both factors within 10 minutes, or the first alone without a second */
        {"strict_mfa", 0, 0, 1},
        {"strict_mfa", 9, 9, 1},
        {"strict_mfa", 10, 9, 0},
        {"strict_mfa", 9, 10, 0},
        {"strict_mfa", 10, 10, 0},
        {"strict_mfa", 9, NEVER, 1},
        {"strict_mfa", 10, NEVER, 0},
        {"strict_mfa", NEVER, 0, 0},    /* a second factor without a first cannot do */
        {"strict_mfa", NEVER, NEVER, 0},
        /* strict: the second factor within 10 minutes; the first without a second */
        {"strict", 9, 9, 1},
        {"strict", 1000, 9, 1},         /* the first factor's age does not matter */
        {"strict", 0, 10, 0},
        {"strict", 9, NEVER, 1},
        {"strict", 10, NEVER, 0},
        {"strict", NEVER, 9, 1},
        {"strict", NEVER, 10, 0},
        {"strict", NEVER, NEVER, 0},
        /* moderate: 60 minutes */
        {"moderate", 0, 59, 1},
        {"moderate", 0, 60, 0},
        {"moderate", 59, NEVER, 1},
        {"moderate", 60, NEVER, 0},
        {"moderate", NEVER, 59, 1},
        {"moderate", NEVER, NEVER, 0},
        /* lax: a day */
        {"lax", 5000, 1439, 1},
        {"lax", 0, 1440, 0},
        {"lax", 1439, NEVER, 1},
        {"lax", 1440, NEVER, 0},
        {"lax", NEVER, 0, 1},
        {"lax", NEVER, NEVER, 0},
    };
    run_vectors(UNIT_POOL, v, sizeof(v) / sizeof(v[0]));
}

static void test_custom_levels(void **state)
{
    static const vector_t v[] = {
        /* first_factor: the first factor only, whatever the second */
        {"first_factor 5", 4, NEVER, 1},
        {"first_factor 5", 5, NEVER, 0},
        {"first_factor 5", 4, 1000, 1},
        {"first_factor 5", 6, 0, 0},
        {"first_factor 5", NEVER, 0, 0},
        {"first_factor 5", NEVER, NEVER, 0},
        {"first_factor 1", 0, NEVER, 1},
        {"first_factor 1", 1, NEVER, 0},
        /* second_factor, as strict with other minutes */
        {"second_factor 30", 100, 29, 1},
        {"second_factor 30", 0, 30, 0},
        {"second_factor 30", 29, NEVER, 1},
        {"second_factor 30", 30, NEVER, 0},
        {"second_factor 30", NEVER, 29, 1},
        {"second_factor 30", NEVER, 30, 0},
        {"second_factor 1", 0, 0, 1},
        /* multi_factor, as strict_mfa with other minutes */
        {"multi_factor 15", 14, 14, 1},
        {"multi_factor 15", 15, 14, 0},
        {"multi_factor 15", 14, 15, 0},
        {"multi_factor 15", 14, NEVER, 1},
        {"multi_factor 15", 15, NEVER, 0},
        {"multi_factor 15", NEVER, 0, 0},
        {"multi_factor 99998", 99997, 99997, 1},
        {"multi_factor 99998", 99998, 0, 0},
    };
    run_vectors(UNIT_POOL, v, sizeof(v) / sizeof(v[0]));
}

/* ---- fva in the claims model, and has() for a token ---- */

static clerk_claims_t *session_with(apr_pool_t *p, const char *fva_json)
{
    return unit_claims(p, apr_psprintf(p, "{\"sub\":\"user_1\",\"exp\":5%s%s}",
                                       fva_json ? ",\"fva\":" : "", fva_json ? fva_json : ""),
                       CLERK_TYPE_SESSION);
}

static void test_fva_claim_parsed(void **state)
{
    static const struct {
        const char *json;
        apr_int64_t first, second;
    } ok[] = {
        {"[5,-1]", 5, NEVER},
        {"[-1,-1]", NEVER, NEVER},
        {"[0,0]", 0, 0},
        {"[-1,1440]", NEVER, 1440},
        {"[-1.0,3.0]", NEVER, 3},          /* JSON numbers, written as reals */
        {"[2.5,0.9]", 2, 0},               /* rounded down: decides as the SDK against whole minutes */
        {"[-0.0,0]", 0, 0},
        {"[1e300,0]", APR_INT64_C(9007199254740992), 0},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        clerk_claims_t *c = session_with(UNIT_POOL, ok[i].json);
        if (!c->has_fva)
            fail_msg("fva %s was not taken", ok[i].json);
        assert_int_equal(c->fva[0], ok[i].first);
        assert_int_equal(c->fva[1], ok[i].second);
    }
}

/* isValidFactorAge and the tuple check: anything else is no fva, and denies */
static void test_fva_claim_malformed_or_missing(void **state)
{
    static const char *const bad[] = {
        NULL, "null", "[]", "[5]", "[5,5,5]", "\"5,-1\"", "5", "{}", "{\"0\":5,\"1\":5}",
        "[\"0\",\"0\"]", "[-0.5,0]", "[-2,0]", "[0,-3]", "[null,0]", "[true,0]", "[[0],0]",
        "[0,-1.5]",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        clerk_claims_t *c = session_with(UNIT_POOL, bad[i]);
        if (c->has_fva)
            fail_msg("fva %s was taken", bad[i] ? bad[i] : "(absent)");
        assert_false(clerk_reverification_grants(parsed(UNIT_POOL, "lax"), c));
        assert_false(clerk_reverification_grants(parsed(UNIT_POOL, "first_factor 99998"), c));
    }
}

static void test_grants_needs_a_user_session(void **state)
{
    const clerk_reverification_t *strict = parsed(UNIT_POOL, "strict");

    assert_true(clerk_reverification_grants(strict, session_with(UNIT_POOL, "[0,0]")));
    assert_false(clerk_reverification_grants(strict, session_with(UNIT_POOL, "[0,10]")));
    /* has() is false without a user id */
    assert_false(clerk_reverification_grants(
        strict, unit_claims(UNIT_POOL, "{\"exp\":5,\"fva\":[0,0]}", CLERK_TYPE_SESSION)));
    assert_false(clerk_reverification_grants(
        strict, unit_claims(UNIT_POOL, "{\"sub\":\"\",\"exp\":5,\"fva\":[0,0]}",
                            CLERK_TYPE_SESSION)));
    /* machine and OAuth tokens have no factors, whatever they carry */
    assert_false(clerk_reverification_grants(
        strict, unit_claims(UNIT_POOL, "{\"sub\":\"mch_1\",\"exp\":5,\"fva\":[0,0]}",
                            CLERK_TYPE_M2M)));
    assert_false(clerk_reverification_grants(
        strict, unit_claims(UNIT_POOL, "{\"sub\":\"user_1\",\"exp\":5,\"fva\":[0,0]}",
                            CLERK_TYPE_OAUTH)));
}

/* ---- reverificationError(config) ---- */

static void test_error_body(void **state)
{
    static const struct {
        const char *config, *reverification;
    } want[] = {
        {"strict_mfa", "\"strict_mfa\""},
        {"strict", "\"strict\""},
        {"moderate", "\"moderate\""},
        {"lax", "\"lax\""},
        {"first_factor 5", "{\"level\":\"first_factor\",\"afterMinutes\":5}"},
        {"second_factor 10", "{\"level\":\"second_factor\",\"afterMinutes\":10}"},
        {"multi_factor 99998", "{\"level\":\"multi_factor\",\"afterMinutes\":99998}"},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const char *body = clerk_reverification_error_body(UNIT_POOL,
                                                           parsed(UNIT_POOL, want[i].config));
        const char *err;
        json_t *j = clerk_json_parse_object(UNIT_POOL, body, strlen(body), &err);

        unit_assert_str(body, apr_pstrcat(UNIT_POOL, "{\"clerk_error\":{\"type\":\"forbidden\","
                                          "\"reason\":\"reverification-error\",\"metadata\":"
                                          "{\"reverification\":", want[i].reverification,
                                          "}}}", NULL));
        /* and it is JSON that isReverificationHint() recognises */
        if (!j)
            fail_msg("%s: %s", body, err);
        unit_assert_str(json_string_value(json_object_get(json_object_get(j, "clerk_error"),
                                                          "reason")),
                        "reverification-error");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_presets_are_the_sdks),
        UNIT_TEST(test_custom_configurations),
        UNIT_TEST(test_invalid_configurations),
        UNIT_TEST(test_sdk_spec_cases),
        UNIT_TEST(test_presets_at_their_boundaries),
        UNIT_TEST(test_custom_levels),
        UNIT_TEST(test_fva_claim_parsed),
        UNIT_TEST(test_fva_claim_malformed_or_missing),
        UNIT_TEST(test_grants_needs_a_user_session),
        UNIT_TEST(test_error_body),
    };
    return UNIT_RUN(tests);
}
