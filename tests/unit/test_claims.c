/*
 * The claims model: every v1/v2 organization vector of v2_claims_vectors.json
 * (org id/slug/role/permissions exactly, and has() through the Require
 * providers), scope splitting, and the model for each token type.
 */
#include "unit.h"

/* The vector's claims with base_claims_added put in (owned by p). */
static json_t *vector_payload(apr_pool_t *p, const json_t *base, const json_t *v)
{
    json_t *payload = unit_own(p, json_deep_copy(json_object_get(v, "claims")));
    const char *k;
    json_t *val;
    json_object_foreach((json_t *)base, k, val)
        json_object_set(payload, k, val);
    return payload;
}

static void assert_org(const char *name, const clerk_org_t *org, const json_t *expected)
{
    const json_t *perms = json_object_get(expected, "org_permissions");

    if ((org->id == NULL) != json_is_null(json_object_get(expected, "org_id"))
        || (org->id && strcmp(org->id, clerk_json_string(expected, "org_id"))))
        fail_msg("%s: org_id %s", name, org->id ? org->id : "(null)");
    if ((org->slug == NULL) != json_is_null(json_object_get(expected, "org_slug"))
        || (org->slug && strcmp(org->slug, clerk_json_string(expected, "org_slug"))))
        fail_msg("%s: org_slug %s", name, org->slug ? org->slug : "(null)");
    if ((org->role == NULL) != json_is_null(json_object_get(expected, "org_role"))
        || (org->role && strcmp(org->role, clerk_json_string(expected, "org_role"))))
        fail_msg("%s: org_role %s", name, org->role ? org->role : "(null)");
    if (json_is_null(perms)) {
        if (org->permissions)
            fail_msg("%s: permissions present (%d), expected none (undefined)", name,
                     org->permissions->nelts);
        return;
    }
    if (!org->permissions)
        fail_msg("%s: permissions NULL, expected a list of %zu", name, json_array_size(perms));
    if ((size_t)org->permissions->nelts != json_array_size(perms))
        fail_msg("%s: %d permissions, expected %zu", name, org->permissions->nelts, json_array_size(perms));
    for (int i = 0; i < org->permissions->nelts; i++) {
        const char *have = APR_ARRAY_IDX(org->permissions, i, const char *);
        const char *want = json_string_value(json_array_get(perms, (size_t)i));
        if (strcmp(have, want))
            fail_msg("%s: permission %d is %s, expected %s (SDK order)", name, i, have, want);
    }
}

static void test_v2_claims_vectors(void **state)
{
    json_t *doc = unit_load_json(UNIT_POOL, UNIT_VEC_CLERK "v2_claims_vectors.json");
    json_t *base = json_object_get(doc, "base_claims_added");
    json_t *v;
    size_t vi;
    int n_throw = 0, n_has = 0;

    assert_true(json_array_size(json_object_get(doc, "vectors")) >= 24);
    json_array_foreach(json_object_get(doc, "vectors"), vi, v) {
        const char *name = apr_psprintf(UNIT_POOL, "vector %d (%s)", (int)vi, clerk_json_string(v, "name"));
        const json_t *expected = json_object_get(v, "expected");
        json_t *payload = vector_payload(UNIT_POOL, base, v);
        clerk_org_t org;
        clerk_claims_t *claims = NULL;
        const char *detail = "unset";
        clerk_reason_t r = clerk_org_from_payload(UNIT_POOL, payload, &org, &detail);
        json_t *h;
        size_t hi;

        if (json_is_true(json_object_get(expected, "throws"))) {
            n_throw++;
            if (r != CLERK_TOKEN_INVALID)
                fail_msg("%s: expected token-invalid, got %s", name, clerk_reason_str(r));
            assert_non_null(detail);
            unit_assert_reason(clerk_claims_build(UNIT_POOL, payload, CLERK_TYPE_SESSION, &claims, &detail),
                               CLERK_TOKEN_INVALID);
            assert_null(claims);
            assert_int_equal(json_array_size(json_object_get(v, "has_checks")), 0);
            continue;
        }
        if (r != CLERK_OK)
            fail_msg("%s: %s (%s)", name, clerk_reason_str(r), detail);
        assert_null(detail);
        assert_org(name, &org, expected);

        /* the same through the claims model, and has() through the providers */
        unit_assert_reason(clerk_claims_build(UNIT_POOL, payload, CLERK_TYPE_SESSION, &claims, &detail), CLERK_OK);
        assert_org(name, &claims->org, expected);
        unit_assert_str(claims->user_id, "user_vector");
        unit_assert_str(claims->sid, "sess_vector");
        json_array_foreach(json_object_get(v, "has_checks"), hi, h) {
            const json_t *has = json_object_get(h, "has");
            int want = json_is_true(json_object_get(h, "expected"));
            const char *what;
            json_t *arg;
            clerk_require_kind_t kind = CLERK_REQUIRE_USER;
            clerk_require_t *req = NULL;
            const char *err;

            assert_int_equal(json_object_size(has), 1);
            what = json_object_iter_key(json_object_iter((json_t *)has));
            arg = json_object_get(has, what);
            if (!strcmp(what, "role"))
                kind = CLERK_REQUIRE_ORG_ROLE;
            else if (!strcmp(what, "permission"))
                kind = CLERK_REQUIRE_ORG_PERMISSION;
            else if (!strcmp(what, "feature"))
                kind = CLERK_REQUIRE_FEATURE;
            else if (!strcmp(what, "plan"))
                kind = CLERK_REQUIRE_PLAN;
            else
                fail_msg("%s: unknown has() dimension %s", name, what);
            err = clerk_require_parse(UNIT_POOL, kind, json_string_value(arg), &req);
            if (err)
                fail_msg("%s: Require %s %s: %s", name, clerk_require_name(kind), json_string_value(arg), err);
            if (clerk_require_match(req, claims) != want)
                fail_msg("%s: has({%s: %s}) expected %s", name, what, json_string_value(arg),
                         want ? "true" : "false");
            n_has++;
        }
    }
    assert_int_equal(n_throw, 1);
    assert_true(n_has > 300);
}

/* ------------------------------------------------------------------ splitting */

static void assert_list(const apr_array_header_t *a, const char *const *want)
{
    int n = 0;
    while (want[n])
        n++;
    assert_non_null(a);
    if (a->nelts != n)
        fail_msg("%d entries, expected %d", a->nelts, n);
    for (int i = 0; i < n; i++)
        unit_assert_str(APR_ARRAY_IDX(a, i, const char *), want[i]);
}

static void test_split_by_scope(void **state)
{
    apr_array_header_t *org = NULL, *user = NULL;
    static const char *const none[] = {NULL};

    unit_assert_reason(clerk_split_by_scope(UNIT_POOL, "o:a,u:b,ou:c,uo:d,x:e, o:f ,\tu:g\n,ox:h,:i,o:",
                                            &org, &user), CLERK_OK);
    {
        static const char *const wo[] = {"a", "c", "d", "f", "", NULL};
        static const char *const wu[] = {"b", "c", "d", "g", NULL};
        assert_list(org, wo);
        assert_list(user, wu);
    }
    /* names keep everything after the first ':' */
    unit_assert_reason(clerk_split_by_scope(UNIT_POOL, "o:a:b", &org, NULL), CLERK_OK);
    {
        static const char *const w[] = {"a:b", NULL};
        assert_list(org, w);
    }
    /* an entry without a scope throws in Clerk's SDK */
    unit_assert_reason(clerk_split_by_scope(UNIT_POOL, "o:a,teams", &org, &user), CLERK_TOKEN_INVALID);
    unit_assert_reason(clerk_split_by_scope(UNIT_POOL, "teams", NULL, NULL), CLERK_TOKEN_INVALID);
    unit_assert_reason(clerk_split_by_scope(UNIT_POOL, "o:a,", NULL, NULL), CLERK_TOKEN_INVALID);
    unit_assert_reason(clerk_split_by_scope(UNIT_POOL, "o:a,,u:b", NULL, NULL), CLERK_TOKEN_INVALID);
    /* nothing: empty lists */
    unit_assert_reason(clerk_split_by_scope(UNIT_POOL, NULL, &org, &user), CLERK_OK);
    assert_list(org, none);
    assert_list(user, none);
    unit_assert_reason(clerk_split_by_scope(UNIT_POOL, "", &org, &user), CLERK_OK);
    assert_list(org, none);
    assert_list(user, none);
}

/* ------------------------------------------------------------------ v2 details */

static clerk_org_t org_of(apr_pool_t *p, const char *json, clerk_reason_t want)
{
    const char *err, *detail;
    json_t *j = clerk_json_parse_object(p, json, strlen(json), &err);
    clerk_org_t org;
    if (!j)
        fail_msg("%s: %s", json, err);
    unit_assert_reason(clerk_org_from_payload(p, j, &org, &detail), want);
    return org;
}

static void test_v2_permissions_edge_cases(void **state)
{
    clerk_org_t org;

    /* fpm aligned with the org-scoped features only */
    org = org_of(UNIT_POOL, "{\"v\":2,\"fea\":\"u:x,o:dashboard,o:teams\","
                            "\"o\":{\"id\":\"org_1\",\"rol\":\"admin\",\"per\":\"manage,read\",\"fpm\":\"3,2\"}}", CLERK_OK);
    {
        static const char *const w[] = {"org:dashboard:manage", "org:dashboard:read", "org:teams:read", NULL};
        assert_list(org.permissions, w);
    }
    /* bits beyond the permission list are ignored; masks beyond the features too */
    org = org_of(UNIT_POOL, "{\"v\":2,\"fea\":\"o:a\",\"o\":{\"id\":\"o\",\"per\":\"x\",\"fpm\":\"255,1\"}}", CLERK_OK);
    {
        static const char *const w[] = {"org:a:x", NULL};
        assert_list(org.permissions, w);
    }
    /* malformed masks fail closed, per feature */
    org = org_of(UNIT_POOL, "{\"v\":2,\"fea\":\"o:a,o:b,o:c,o:d,o:e\","
                            "\"o\":{\"id\":\"o\",\"per\":\"x\",\"fpm\":\"-1,1.5,1x, 1 ,0x1\"}}", CLERK_OK);
    {
        static const char *const w[] = {"org:d:x", NULL};
        assert_list(org.permissions, w);
    }
    /* a 4097-digit mask is treated as malformed; 4096 digits are decoded */
    {
        char *big = apr_palloc(UNIT_POOL, 4098);
        memset(big, '0', 4097);
        big[4096] = '1';
        big[4097] = '\0';
        org = org_of(UNIT_POOL, apr_psprintf(UNIT_POOL, "{\"v\":2,\"fea\":\"o:a\",\"o\":{\"id\":\"o\",\"per\":\"x\",\"fpm\":\"%s\"}}",
                                             big), CLERK_OK);
        assert_int_equal(org.permissions->nelts, 0);
        org = org_of(UNIT_POOL, apr_psprintf(UNIT_POOL, "{\"v\":2,\"fea\":\"o:a\",\"o\":{\"id\":\"o\",\"per\":\"x\",\"fpm\":\"%s\"}}",
                                             big + 1), CLERK_OK);
        assert_int_equal(org.permissions->nelts, 1);
    }
    /* non-string o members are ignored */
    org = org_of(UNIT_POOL, "{\"v\":2,\"o\":{\"id\":5,\"slg\":[],\"rol\":{},\"per\":1,\"fpm\":3}}", CLERK_OK);
    assert_null(org.id);
    assert_null(org.slug);
    assert_null(org.role);
    assert_int_equal(org.permissions->nelts, 0);
    /* "o" that is not an object: no org */
    org = org_of(UNIT_POOL, "{\"v\":2,\"o\":\"org_1\",\"fea\":\"bad\"}", CLERK_OK);
    assert_null(org.id);
    assert_null(org.permissions);
    /* v must be the number 2 */
    org = org_of(UNIT_POOL, "{\"v\":2.0,\"o\":{\"id\":\"org_1\"},\"org_id\":\"org_v1\"}", CLERK_OK);
    unit_assert_str(org.id, "org_v1");
    org = org_of(UNIT_POOL, "{\"v\":3,\"o\":{\"id\":\"org_1\"},\"org_id\":\"org_v1\"}", CLERK_OK);
    unit_assert_str(org.id, "org_v1");
    /* v1: non-string permissions are skipped, an empty list stays a list */
    org = org_of(UNIT_POOL, "{\"org_id\":\"o\",\"org_permissions\":[\"org:a\",5,null,\"org:b\"]}", CLERK_OK);
    {
        static const char *const w[] = {"org:a", "org:b", NULL};
        assert_list(org.permissions, w);
    }
    org = org_of(UNIT_POOL, "{\"org_id\":\"o\",\"org_permissions\":[]}", CLERK_OK);
    assert_non_null(org.permissions);
    assert_int_equal(org.permissions->nelts, 0);
    org = org_of(UNIT_POOL, "{\"org_id\":\"o\",\"org_permissions\":\"org:a\"}", CLERK_OK);
    assert_null(org.permissions);
    /* malformed fea only matters with an active org */
    org_of(UNIT_POOL, "{\"v\":2,\"fea\":\"o:a,\",\"o\":{\"id\":\"o\"}}", CLERK_TOKEN_INVALID);
    org_of(UNIT_POOL, "{\"v\":2,\"fea\":\"o:a,\"}", CLERK_OK);
}

/* ------------------------------------------------------------------ the model */

static clerk_claims_t *build(apr_pool_t *p, const char *json, clerk_token_type_t type)
{
    const char *err, *detail;
    json_t *j = clerk_json_parse_object(p, json, strlen(json), &err);
    clerk_claims_t *c = NULL;
    if (!j)
        fail_msg("%s: %s", json, err);
    unit_assert_reason(clerk_claims_build(p, j, type, &c, &detail), CLERK_OK);
    assert_null(detail);
    assert_ptr_equal(c->payload, j);
    assert_int_equal(c->type, type);
    return c;
}

static void test_build_session(void **state)
{
    clerk_claims_t *c = build(UNIT_POOL,
        "{\"sub\":\"user_1\",\"sid\":\"sess_1\",\"sts\":\"active\",\"iss\":\"https://i\",\"azp\":\"https://a\","
        "\"jti\":\"j\",\"exp\":100,\"iat\":90,\"act\":{\"sub\":\"user_admin\",\"iss\":\"https://dashboard.clerk.com\"},"
        "\"v\":2,\"fea\":\"o:teams,u:beta\",\"pla\":\"u:free\",\"o\":{\"id\":\"org_1\",\"slg\":\"acme\",\"rol\":\"admin\"},"
        "\"scope\":\"ignored\"}", CLERK_TYPE_SESSION);

    unit_assert_str(c->sub, "user_1");
    unit_assert_str(c->user_id, "user_1");
    unit_assert_str(c->sid, "sess_1");
    unit_assert_str(c->sts, "active");
    unit_assert_str(c->iss, "https://i");
    unit_assert_str(c->azp, "https://a");
    unit_assert_str(c->jti, "j");
    assert_int_equal(c->exp, 100);
    assert_int_equal(c->iat, 90);
    assert_true(c->has_iat);
    unit_assert_str(c->actor_sub, "user_admin");
    unit_assert_str(c->features, "o:teams,u:beta");
    unit_assert_str(c->plans, "u:free");
    unit_assert_str(c->org.id, "org_1");
    unit_assert_str(c->org.slug, "acme");
    unit_assert_str(c->org.role, "org:admin");
    assert_null(c->machine_id);
    assert_null(c->scopes);

    c = build(UNIT_POOL, "{\"sub\":\"user_1\",\"exp\":1,\"iat\":1.5,\"act\":\"user_x\"}", CLERK_TYPE_SESSION);
    assert_false(c->has_iat);
    assert_null(c->actor_sub);
    assert_null(c->features);
    assert_null(c->org.id);
}

static void test_build_m2m(void **state)
{
    static const char *const two[] = {"mch_2", "mch_3", NULL};
    clerk_claims_t *c = build(UNIT_POOL, "{\"sub\":\"mch_1\",\"jti\":\"mt_1\",\"scopes\":\"mch_2  mch_3 \","
                                         "\"aud\":[\"x\"],\"org_id\":\"org_1\",\"fea\":\"o:a\"}", CLERK_TYPE_M2M);
    unit_assert_str(c->machine_id, "mch_1");
    assert_null(c->user_id);
    unit_assert_str(c->jti, "mt_1");
    assert_list(c->scopes, two);
    /* machine tokens carry no org and no features */
    assert_null(c->org.id);
    assert_null(c->features);

    /* scopes fall back to aud */
    c = build(UNIT_POOL, "{\"sub\":\"mch_1\",\"aud\":[\"mch_2\",7,\"mch_3\"]}", CLERK_TYPE_M2M);
    assert_list(c->scopes, two);
    c = build(UNIT_POOL, "{\"sub\":\"mch_1\",\"scopes\":\"   \",\"aud\":[\"mch_2\",\"mch_3\"]}", CLERK_TYPE_M2M);
    assert_list(c->scopes, two);
    c = build(UNIT_POOL, "{\"sub\":\"mch_1\",\"aud\":[]}", CLERK_TYPE_M2M);
    assert_null(c->scopes);
    c = build(UNIT_POOL, "{\"sub\":\"mch_1\",\"aud\":\"mch_2\"}", CLERK_TYPE_M2M);
    assert_null(c->scopes);
    c = build(UNIT_POOL, "{\"sub\":\"mch_1\",\"aud\":[1,2]}", CLERK_TYPE_M2M);
    assert_null(c->scopes);
}

static void test_build_oauth(void **state)
{
    static const char *const rw[] = {"read:foo", "write:bar", NULL};
    clerk_claims_t *c = build(UNIT_POOL, "{\"sub\":\"user_9\",\"scope\":\"read:foo write:bar\",\"scp\":[\"x\"],"
                                         "\"jti\":\"oat_1\"}", CLERK_TYPE_OAUTH);
    unit_assert_str(c->user_id, "user_9");
    assert_null(c->machine_id);
    unit_assert_str(c->jti, "oat_1");
    assert_list(c->scopes, rw);
    c = build(UNIT_POOL, "{\"sub\":\"user_9\",\"scp\":[\"read:foo\",\"write:bar\"]}", CLERK_TYPE_OAUTH);
    assert_list(c->scopes, rw);
    c = build(UNIT_POOL, "{\"sub\":\"user_9\"}", CLERK_TYPE_OAUTH);
    assert_null(c->scopes);
}

static void test_token_type_names(void **state)
{
    static const struct {
        clerk_token_type_t t;
        const char *name;
    } names[] = {
        {CLERK_TYPE_SESSION, "session_token"}, {CLERK_TYPE_M2M, "m2m_token"},
        {CLERK_TYPE_OAUTH, "oauth_token"}, {CLERK_TYPE_API_KEY, "api_key"},
    };
    for (size_t i = 0; i < 4; i++) {
        unit_assert_str(clerk_token_type_name(names[i].t), names[i].name);
        assert_int_equal(clerk_token_type_from_name(names[i].name), names[i].t);
    }
    assert_int_equal(CLERK_TYPE_ALL, 15);
    unit_assert_str(clerk_token_type_name(0), "unknown");
    unit_assert_str(clerk_token_type_name(CLERK_TYPE_ALL), "unknown");
    assert_int_equal(clerk_token_type_from_name("any"), 0);
    assert_int_equal(clerk_token_type_from_name("Session_Token"), 0);
    assert_int_equal(clerk_token_type_from_name("session_token "), 0);
    assert_int_equal(clerk_token_type_from_name(""), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_v2_claims_vectors),
        UNIT_TEST(test_split_by_scope),
        UNIT_TEST(test_v2_permissions_edge_cases),
        UNIT_TEST(test_build_session),
        UNIT_TEST(test_build_m2m),
        UNIT_TEST(test_build_oauth),
        UNIT_TEST(test_token_type_names),
    };
    return UNIT_RUN(tests);
}
