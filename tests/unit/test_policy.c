/* Require clerk-* providers: argument parsing and matching (Clerk's has() semantics). */
#include "unit.h"

static clerk_require_t *req(apr_pool_t *p, clerk_require_kind_t kind, const char *args)
{
    clerk_require_t *r = NULL;
    const char *err = clerk_require_parse(p, kind, args, &r);
    if (err)
        fail_msg("Require %s %s: %s", clerk_require_name(kind), args ? args : "(null)", err);
    assert_non_null(r);
    assert_int_equal(r->kind, kind);
    return r;
}

static void parse_error(apr_pool_t *p, clerk_require_kind_t kind, const char *args, const char *err_part)
{
    clerk_require_t *r = NULL;
    const char *err = clerk_require_parse(p, kind, args, &r);
    if (!err)
        fail_msg("Require %s %s was accepted", clerk_require_name(kind), args ? args : "(null)");
    if (err_part && !strstr(err, err_part))
        fail_msg("Require %s %s: error \"%s\" lacks \"%s\"", clerk_require_name(kind), args, err, err_part);
    assert_null(r);
}


static int match(apr_pool_t *p, clerk_require_kind_t kind, const char *args, const clerk_claims_t *c)
{
    return clerk_require_match(req(p, kind, args), c);
}

#define M(kind, args, c) match(UNIT_POOL, CLERK_REQUIRE_##kind, (args), (c))

/* ------------------------------------------------------------------ parsing */

static void test_names(void **state)
{
    static const char *const names[] = {
        "clerk-user", "clerk-org", "clerk-org-role", "clerk-org-permission", "clerk-feature",
        "clerk-plan", "clerk-machine", "clerk-scope", "clerk-token-type", "clerk-claim",
    };
    for (int k = CLERK_REQUIRE_USER; k <= CLERK_REQUIRE_CLAIM; k++)
        unit_assert_str(clerk_require_name((clerk_require_kind_t)k), names[k]);
}

static void test_arguments_required(void **state)
{
    static const clerk_require_kind_t need[] = {
        CLERK_REQUIRE_USER, CLERK_REQUIRE_ORG_ROLE, CLERK_REQUIRE_ORG_PERMISSION, CLERK_REQUIRE_FEATURE,
        CLERK_REQUIRE_PLAN, CLERK_REQUIRE_SCOPE, CLERK_REQUIRE_TOKEN_TYPE,
    };
    for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
        parse_error(UNIT_POOL, need[i], "", clerk_require_name(need[i]));
        parse_error(UNIT_POOL, need[i], NULL, "at least one argument");
        parse_error(UNIT_POOL, need[i], "   \t ", "at least one argument");
        parse_error(UNIT_POOL, need[i], "\"\"", "empty argument");
        parse_error(UNIT_POOL, need[i], "\"\" a", "empty argument");
    }
    parse_error(UNIT_POOL, CLERK_REQUIRE_CLAIM, "", "claim name and at least one value");
    parse_error(UNIT_POOL, CLERK_REQUIRE_CLAIM, NULL, "claim name and at least one value");
    parse_error(UNIT_POOL, CLERK_REQUIRE_CLAIM, "email", "claim name and at least one value");
    /* clerk-org and clerk-machine take none */
    assert_int_equal(req(UNIT_POOL, CLERK_REQUIRE_ORG, "")->values->nelts, 0);
    assert_int_equal(req(UNIT_POOL, CLERK_REQUIRE_ORG, NULL)->values->nelts, 0);
    assert_int_equal(req(UNIT_POOL, CLERK_REQUIRE_MACHINE, "")->values->nelts, 0);
    assert_int_equal(req(UNIT_POOL, CLERK_REQUIRE_MACHINE, "   ")->values->nelts, 0);
}

static void test_token_type_parse(void **state)
{
    clerk_require_t *r = req(UNIT_POOL, CLERK_REQUIRE_TOKEN_TYPE, "session_token oauth_token");
    assert_int_equal(r->types, CLERK_TYPE_SESSION | CLERK_TYPE_OAUTH);
    r = req(UNIT_POOL, CLERK_REQUIRE_TOKEN_TYPE, "m2m_token api_key");
    assert_int_equal(r->types, CLERK_TYPE_M2M | CLERK_TYPE_API_KEY);
    parse_error(UNIT_POOL, CLERK_REQUIRE_TOKEN_TYPE, "bogus", "'bogus' is not a token type");
    parse_error(UNIT_POOL, CLERK_REQUIRE_TOKEN_TYPE, "session_token any", "'any' is not a token type");
    parse_error(UNIT_POOL, CLERK_REQUIRE_TOKEN_TYPE, "Session_Token", "is not a token type");
    parse_error(UNIT_POOL, CLERK_REQUIRE_TOKEN_TYPE, "session", "is not a token type");
}

static void test_feature_plan_scopes_parse(void **state)
{
    static const clerk_require_kind_t kinds[] = {CLERK_REQUIRE_FEATURE, CLERK_REQUIRE_PLAN};
    for (size_t i = 0; i < 2; i++) {
        clerk_require_kind_t k = kinds[i];
        parse_error(UNIT_POOL, k, "x:teams", "unknown scope");
        parse_error(UNIT_POOL, k, "ou:teams", "unknown scope");
        parse_error(UNIT_POOL, k, "O:teams", "unknown scope");
        parse_error(UNIT_POOL, k, "orgs:teams", "unknown scope");
        parse_error(UNIT_POOL, k, ":teams", "unknown scope");
        parse_error(UNIT_POOL, k, "teams x:beta", "unknown scope");
        parse_error(UNIT_POOL, k, "o:", "names no feature or plan");
        parse_error(UNIT_POOL, k, "user:", "names no feature or plan");
        req(UNIT_POOL, k, "teams o:a org:b organization:c u:d user:e o:a:b");
    }
}

static void test_claim_path_parse(void **state)
{
    clerk_require_t *r;
    parse_error(UNIT_POOL, CLERK_REQUIRE_CLAIM, ".a v", "not a claim name");
    parse_error(UNIT_POOL, CLERK_REQUIRE_CLAIM, "a. v", "not a claim name");
    parse_error(UNIT_POOL, CLERK_REQUIRE_CLAIM, "a..b v", "not a claim name");
    parse_error(UNIT_POOL, CLERK_REQUIRE_CLAIM, ". v", "not a claim name");
    parse_error(UNIT_POOL, CLERK_REQUIRE_CLAIM, "\"\" v", "not a claim name");
    parse_error(UNIT_POOL, CLERK_REQUIRE_CLAIM, "a \"\"", "empty argument");
    r = req(UNIT_POOL, CLERK_REQUIRE_CLAIM, "meta.plan.tier gold silver");
    assert_int_equal(r->claim_path->nelts, 3);
    unit_assert_str(APR_ARRAY_IDX(r->claim_path, 0, const char *), "meta");
    unit_assert_str(APR_ARRAY_IDX(r->claim_path, 2, const char *), "tier");
    assert_int_equal(r->values->nelts, 2);
    unit_assert_str(APR_ARRAY_IDX(r->values, 1, const char *), "silver");
}

static void test_quoting(void **state)
{
    clerk_require_t *r = req(UNIT_POOL, CLERK_REQUIRE_CLAIM, "name \"Ada Lovelace\" 'Grace Hopper' plain");
    clerk_claims_t *c;
    assert_int_equal(r->values->nelts, 3);
    unit_assert_str(APR_ARRAY_IDX(r->values, 0, const char *), "Ada Lovelace");
    unit_assert_str(APR_ARRAY_IDX(r->values, 1, const char *), "Grace Hopper");
    unit_assert_str(APR_ARRAY_IDX(r->values, 2, const char *), "plain");

    c = unit_claims(UNIT_POOL, "{\"name\":\"Ada Lovelace\"}", CLERK_TYPE_SESSION);
    assert_true(clerk_require_match(r, c));
    c = unit_claims(UNIT_POOL, "{\"name\":\"Ada\"}", CLERK_TYPE_SESSION);
    assert_false(clerk_require_match(r, c));
    assert_false(M(CLAIM, "name Ada Lovelace x", unit_claims(UNIT_POOL, "{\"name\":\"Ada Lovelace\"}", CLERK_TYPE_SESSION)));
    /* roles with white space only match when quoted as one word */
    c = unit_claims(UNIT_POOL, "{\"org_id\":\"org_1\",\"org_role\":\"org:team lead\"}", CLERK_TYPE_SESSION);
    assert_true(M(ORG_ROLE, "\"team lead\"", c));
    assert_false(M(ORG_ROLE, "team lead", c));
}

/* ------------------------------------------------------------------ matching */

static void test_user(void **state)
{
    clerk_claims_t *s = unit_claims(UNIT_POOL, "{\"sub\":\"user_1\"}", CLERK_TYPE_SESSION);
    clerk_claims_t *o = unit_claims(UNIT_POOL, "{\"sub\":\"user_1\"}", CLERK_TYPE_OAUTH);
    clerk_claims_t *m = unit_claims(UNIT_POOL, "{\"sub\":\"user_1\"}", CLERK_TYPE_M2M);
    assert_true(M(USER, "user_1", s));
    assert_true(M(USER, "user_0 user_1", s));
    assert_false(M(USER, "user_2", s));
    assert_false(M(USER, "USER_1", s));
    assert_false(M(USER, "user_", s));
    assert_false(M(USER, "user_10", s));
    assert_true(M(USER, "user_1", o));          /* an OAuth token acts for its user */
    assert_false(M(USER, "user_1", m));         /* a machine is no user */
    assert_false(M(USER, "user_1", unit_claims(UNIT_POOL, "{}", CLERK_TYPE_SESSION)));
}

static void test_org(void **state)
{
    clerk_claims_t *v1 = unit_claims(UNIT_POOL, "{\"org_id\":\"org_1\",\"org_slug\":\"acme\"}", CLERK_TYPE_SESSION);
    clerk_claims_t *v2 = unit_claims(UNIT_POOL, "{\"v\":2,\"o\":{\"id\":\"org_2\",\"slg\":\"beta\"}}", CLERK_TYPE_SESSION);
    clerk_claims_t *none = unit_claims(UNIT_POOL, "{\"sub\":\"user_1\"}", CLERK_TYPE_SESSION);
    clerk_claims_t *slug_only = unit_claims(UNIT_POOL, "{\"org_slug\":\"acme\"}", CLERK_TYPE_SESSION);
    clerk_claims_t *noid_v2 = unit_claims(UNIT_POOL, "{\"v\":2,\"o\":{\"slg\":\"acme\",\"rol\":\"admin\"}}", CLERK_TYPE_SESSION);

    assert_true(M(ORG, "", v1));
    assert_true(M(ORG, "", v2));
    assert_false(M(ORG, "", none));
    assert_false(M(ORG, "", slug_only));
    assert_false(M(ORG, "", noid_v2));
    assert_true(M(ORG, "org_1", v1));
    assert_true(M(ORG, "acme", v1));
    assert_true(M(ORG, "org_9 acme", v1));
    assert_false(M(ORG, "org_2 beta", v1));
    assert_true(M(ORG, "org_2", v2));
    assert_true(M(ORG, "beta", v2));
    assert_false(M(ORG, "Acme", v1));
    assert_false(M(ORG, "acme", slug_only));
    assert_false(M(ORG, "acme", noid_v2));
    assert_false(M(ORG, "org_1", none));
}

static void test_org_role(void **state)
{
    clerk_claims_t *v1 = unit_claims(UNIT_POOL, "{\"org_id\":\"org_1\",\"org_role\":\"org:admin\"}", CLERK_TYPE_SESSION);
    clerk_claims_t *v2 = unit_claims(UNIT_POOL, "{\"v\":2,\"o\":{\"id\":\"org_1\",\"rol\":\"admin\"}}", CLERK_TYPE_SESSION);
    clerk_claims_t *bare = unit_claims(UNIT_POOL, "{\"org_id\":\"org_1\",\"org_role\":\"admin\"}", CLERK_TYPE_SESSION);
    clerk_claims_t *noorg = unit_claims(UNIT_POOL, "{\"org_role\":\"org:admin\"}", CLERK_TYPE_SESSION);
    clerk_claims_t *spaced = unit_claims(UNIT_POOL, "{\"org_id\":\"o\",\"org_role\":\"org:admin \"}", CLERK_TYPE_SESSION);
    clerk_claims_t *comma = unit_claims(UNIT_POOL, "{\"org_id\":\"o\",\"org_role\":\"org:a,b\"}", CLERK_TYPE_SESSION);
    clerk_claims_t *colon = unit_claims(UNIT_POOL, "{\"org_id\":\"o\",\"org_role\":\"org:a:b\"}", CLERK_TYPE_SESSION);
    clerk_claims_t *cyr = unit_claims(UNIT_POOL, "{\"org_id\":\"o\",\"org_role\":\"org:\xd0\xb0" "dmin\"}", CLERK_TYPE_SESSION);

    for (int i = 0; i < 3; i++) {
        clerk_claims_t *c = i == 0 ? v1 : i == 1 ? v2 : bare;
        assert_true(M(ORG_ROLE, "admin", c));
        assert_true(M(ORG_ROLE, "org:admin", c));
        assert_true(M(ORG_ROLE, "org:org:admin", c));
        assert_true(M(ORG_ROLE, "member admin", c));
        assert_false(M(ORG_ROLE, "member", c));
        assert_false(M(ORG_ROLE, "Admin", c));
        assert_false(M(ORG_ROLE, "ORG:admin", c));
        assert_false(M(ORG_ROLE, "\"admin \"", c));
        assert_false(M(ORG_ROLE, "\" admin\"", c));
        assert_false(M(ORG_ROLE, "adm", c));
        assert_false(M(ORG_ROLE, "admins", c));
        assert_false(M(ORG_ROLE, "org:adm", c));
        assert_false(M(ORG_ROLE, "\xd0\xb0" "dmin", c));      /* Cyrillic a */
    }
    assert_false(M(ORG_ROLE, "admin", noorg));                 /* no active org */
    assert_false(M(ORG_ROLE, "admin", spaced));
    assert_true(M(ORG_ROLE, "\"admin \"", spaced));
    assert_false(M(ORG_ROLE, "a", comma));
    assert_false(M(ORG_ROLE, "b", comma));
    assert_true(M(ORG_ROLE, "a,b", comma));
    assert_false(M(ORG_ROLE, "a", colon));
    assert_true(M(ORG_ROLE, "a:b", colon));
    assert_true(M(ORG_ROLE, "org:a:b", colon));
    assert_false(M(ORG_ROLE, "admin", cyr));
    assert_true(M(ORG_ROLE, "\xd0\xb0" "dmin", cyr));
    parse_error(UNIT_POOL, CLERK_REQUIRE_ORG_ROLE, "org:", "names no role");
    parse_error(UNIT_POOL, CLERK_REQUIRE_ORG_ROLE, "org:org:", "names no role");
    parse_error(UNIT_POOL, CLERK_REQUIRE_ORG_PERMISSION, "org:", "names no role or permission");
}

static void test_org_permission(void **state)
{
    clerk_claims_t *c = unit_claims(UNIT_POOL,
        "{\"org_id\":\"org_1\",\"org_permissions\":[\"org:a\",\"org:x,y\",\"org:teams:read\",\"teams:manage\","
        "\"org:sp \",\"org:org:double\"]}", CLERK_TYPE_SESSION);
    clerk_claims_t *noorg = unit_claims(UNIT_POOL, "{\"org_permissions\":[\"org:a\"]}", CLERK_TYPE_SESSION);
    clerk_claims_t *noperms = unit_claims(UNIT_POOL, "{\"org_id\":\"org_1\"}", CLERK_TYPE_SESSION);
    clerk_claims_t *ab = unit_claims(UNIT_POOL, "{\"org_id\":\"org_1\",\"org_permissions\":[\"org:ab\"]}", CLERK_TYPE_SESSION);

    assert_true(M(ORG_PERMISSION, "org:a", c));
    assert_true(M(ORG_PERMISSION, "a", c));
    assert_true(M(ORG_PERMISSION, "org:org:a", c));
    assert_false(M(ORG_PERMISSION, "org:ab", c));              /* a prefix is not a match */
    assert_false(M(ORG_PERMISSION, "org:a", ab));
    assert_true(M(ORG_PERMISSION, "ab", ab));
    assert_false(M(ORG_PERMISSION, "ORG:a", c));
    assert_false(M(ORG_PERMISSION, "A", c));
    assert_false(M(ORG_PERMISSION, "org:a:", c));
    assert_false(M(ORG_PERMISSION, "\"org:a \"", c));
    assert_true(M(ORG_PERMISSION, "org:x,y", c));              /* values with ',' compare whole */
    assert_false(M(ORG_PERMISSION, "org:x", c));
    assert_false(M(ORG_PERMISSION, "y", c));
    assert_true(M(ORG_PERMISSION, "teams:read", c));
    assert_false(M(ORG_PERMISSION, "teams", c));
    assert_false(M(ORG_PERMISSION, "teams:rea", c));
    /* a stored permission without the org: prefix never matches (as Clerk's has()) */
    assert_false(M(ORG_PERMISSION, "teams:manage", c));
    assert_false(M(ORG_PERMISSION, "org:teams:manage", c));
    assert_true(M(ORG_PERMISSION, "\"sp \"", c));
    assert_false(M(ORG_PERMISSION, "sp", c));
    /* stored "org:org:double" is compared as issued: the request normalises to org:double */
    assert_false(M(ORG_PERMISSION, "double", c));
    assert_false(M(ORG_PERMISSION, "org:org:double", c));
    assert_false(M(ORG_PERMISSION, "org:a", noorg));
    assert_false(M(ORG_PERMISSION, "org:a", noperms));
    assert_true(M(ORG_PERMISSION, "nope org:a", c));
}

static void test_feature_plan(void **state)
{
    clerk_claims_t *c = unit_claims(UNIT_POOL, "{\"v\":2,\"fea\":\" o:teams , u:beta,uo:both,ou:also,x:weird\","
                                          "\"pla\":\"u:free,o:pro\"}", CLERK_TYPE_SESSION);
    clerk_claims_t *bad = unit_claims(UNIT_POOL, "{\"v\":2,\"fea\":\"u:teams,bogus\",\"pla\":\"u:free,\"}", CLERK_TYPE_SESSION);
    clerk_claims_t *bad_first = unit_claims(UNIT_POOL, "{\"v\":2,\"fea\":\"bogus,u:teams\"}", CLERK_TYPE_SESSION);
    clerk_claims_t *none = unit_claims(UNIT_POOL, "{\"v\":2}", CLERK_TYPE_SESSION);
    clerk_claims_t *empty = unit_claims(UNIT_POOL, "{\"v\":2,\"fea\":\"\"}", CLERK_TYPE_SESSION);

    assert_true(M(FEATURE, "teams", c));
    assert_true(M(FEATURE, "o:teams", c));
    assert_true(M(FEATURE, "org:teams", c));
    assert_true(M(FEATURE, "organization:teams", c));
    assert_false(M(FEATURE, "u:teams", c));
    assert_false(M(FEATURE, "user:teams", c));
    assert_true(M(FEATURE, "beta", c));
    assert_true(M(FEATURE, "u:beta", c));
    assert_true(M(FEATURE, "user:beta", c));
    assert_false(M(FEATURE, "o:beta", c));
    assert_true(M(FEATURE, "o:both", c));
    assert_true(M(FEATURE, "u:both", c));
    assert_true(M(FEATURE, "o:also", c));
    assert_true(M(FEATURE, "u:also", c));
    assert_false(M(FEATURE, "weird", c));                      /* unknown scope grants nothing */
    assert_false(M(FEATURE, "team", c));
    assert_false(M(FEATURE, "teamsx", c));
    assert_false(M(FEATURE, "Teams", c));
    assert_false(M(FEATURE, "o:teams:x", c));
    assert_true(M(FEATURE, "nope teams", c));
    assert_true(M(PLAN, "free", c));
    assert_true(M(PLAN, "u:free", c));
    assert_false(M(PLAN, "o:free", c));
    assert_true(M(PLAN, "pro", c));
    assert_false(M(PLAN, "u:pro", c));
    assert_false(M(PLAN, "teams", c));                         /* plans are not features */
    assert_false(M(FEATURE, "free", c));
    /* a list Clerk's SDK cannot split grants nothing, wherever the bad entry is */
    assert_false(M(FEATURE, "teams", bad));
    assert_false(M(FEATURE, "u:teams", bad));
    assert_false(M(FEATURE, "teams", bad_first));
    assert_false(M(PLAN, "free", bad));                        /* trailing ',' is an empty entry */
    assert_false(M(FEATURE, "teams", none));
    assert_false(M(FEATURE, "teams", empty));
}

static void test_machine_scope_type(void **state)
{
    clerk_claims_t *m2m = unit_claims(UNIT_POOL, "{\"sub\":\"mch_1\",\"scopes\":\"mch_2 mch_3\"}", CLERK_TYPE_M2M);
    clerk_claims_t *oauth = unit_claims(UNIT_POOL, "{\"sub\":\"user_1\",\"scope\":\"read:foo write:bar\"}", CLERK_TYPE_OAUTH);
    clerk_claims_t *session = unit_claims(UNIT_POOL, "{\"sub\":\"mch_1\",\"scope\":\"read:foo\"}", CLERK_TYPE_SESSION);

    assert_true(M(MACHINE, "", m2m));
    assert_true(M(MACHINE, "mch_1", m2m));
    assert_true(M(MACHINE, "mch_0 mch_1", m2m));
    assert_false(M(MACHINE, "mch_2", m2m));
    assert_false(M(MACHINE, "", oauth));
    assert_false(M(MACHINE, "", session));
    assert_false(M(MACHINE, "mch_1", session));                /* a session with a machine-like sub */

    assert_true(M(SCOPE, "mch_3", m2m));
    assert_false(M(SCOPE, "mch_1", m2m));
    assert_true(M(SCOPE, "write:bar", oauth));
    assert_true(M(SCOPE, "admin read:foo", oauth));
    assert_false(M(SCOPE, "read", oauth));
    assert_false(M(SCOPE, "read:foo", session));               /* sessions have no scopes */

    assert_true(M(TOKEN_TYPE, "m2m_token", m2m));
    assert_false(M(TOKEN_TYPE, "session_token", m2m));
    assert_true(M(TOKEN_TYPE, "session_token oauth_token", oauth));
    assert_true(M(TOKEN_TYPE, "session_token", session));
    assert_false(M(TOKEN_TYPE, "oauth_token api_key m2m_token", session));
}

static void test_claim(void **state)
{
    clerk_claims_t *c = unit_claims(UNIT_POOL,
        "{\"sub\":\"user_1\",\"email\":\"a@b.c\",\"n\":5,\"neg\":-3,\"big\":9007199254740993,\"f\":1.5,"
        "\"t\":true,\"fa\":false,\"nul\":null,\"s\":\"true\",\"groups\":[\"admins\",\"ops\",7,true],"
        "\"meta\":{\"plan\":{\"tier\":\"gold\"},\"list\":[{\"x\":\"y\"}]},\"empty\":\"\"}", CLERK_TYPE_SESSION);

    assert_true(M(CLAIM, "email a@b.c", c));
    assert_false(M(CLAIM, "email A@B.C", c));
    assert_true(M(CLAIM, "email x a@b.c", c));
    assert_true(M(CLAIM, "n 5", c));
    assert_false(M(CLAIM, "n 5.0", c));
    assert_false(M(CLAIM, "n 05", c));
    assert_false(M(CLAIM, "n \"5 \"", c));
    assert_true(M(CLAIM, "neg -3", c));
    assert_true(M(CLAIM, "big 9007199254740993", c));
    assert_false(M(CLAIM, "big 9007199254740992", c));
    assert_false(M(CLAIM, "f 1.5", c));                         /* reals never match */
    assert_true(M(CLAIM, "t true", c));
    assert_false(M(CLAIM, "t 1", c));
    assert_false(M(CLAIM, "t True", c));
    assert_true(M(CLAIM, "fa false", c));
    assert_false(M(CLAIM, "fa true", c));
    assert_false(M(CLAIM, "nul null", c));
    assert_true(M(CLAIM, "s true", c));
    assert_true(M(CLAIM, "groups ops", c));                     /* arrays: any element */
    assert_true(M(CLAIM, "groups 7", c));
    assert_true(M(CLAIM, "groups true", c));
    assert_false(M(CLAIM, "groups admin", c));
    assert_false(M(CLAIM, "groups admins,ops", c));
    assert_true(M(CLAIM, "meta.plan.tier gold", c));
    assert_false(M(CLAIM, "meta.plan.tier silver", c));
    assert_false(M(CLAIM, "meta.plan gold", c));                /* an object is no value */
    assert_false(M(CLAIM, "meta.plan.tier.x gold", c));         /* path through a string */
    assert_false(M(CLAIM, "meta.list.x y", c));                 /* no descent into arrays */
    assert_false(M(CLAIM, "missing x", c));
    assert_false(M(CLAIM, "email.x a@b.c", c));
    assert_false(M(CLAIM, "Email a@b.c", c));
    assert_true(M(CLAIM, "sub user_1", c));
    parse_error(UNIT_POOL, CLERK_REQUIRE_CLAIM, "empty \"\"", "empty argument");
}

static void test_org_prefixed(void **state)
{
    unit_assert_str(clerk_org_prefixed(UNIT_POOL, "admin"), "org:admin");
    unit_assert_str(clerk_org_prefixed(UNIT_POOL, "org:admin"), "org:admin");
    unit_assert_str(clerk_org_prefixed(UNIT_POOL, "org:org:admin"), "org:admin");
    unit_assert_str(clerk_org_prefixed(UNIT_POOL, "org:"), "org:");
    unit_assert_str(clerk_org_prefixed(UNIT_POOL, ""), "org:");
    unit_assert_str(clerk_org_prefixed(UNIT_POOL, "ORG:admin"), "org:ORG:admin");
    unit_assert_str(clerk_org_prefixed(UNIT_POOL, "organization:x"), "org:organization:x");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_names),
        UNIT_TEST(test_arguments_required),
        UNIT_TEST(test_token_type_parse),
        UNIT_TEST(test_feature_plan_scopes_parse),
        UNIT_TEST(test_claim_path_parse),
        UNIT_TEST(test_quoting),
        UNIT_TEST(test_user),
        UNIT_TEST(test_org),
        UNIT_TEST(test_org_role),
        UNIT_TEST(test_org_permission),
        UNIT_TEST(test_feature_plan),
        UNIT_TEST(test_machine_scope_type),
        UNIT_TEST(test_claim),
        UNIT_TEST(test_org_prefixed),
    };
    return UNIT_RUN(tests);
}
