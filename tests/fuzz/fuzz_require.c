/*
 * clerk_require_parse for each provider: the first input byte picks the
 * kind, the rest is the Require line's arguments.  Parsed requirements are
 * matched against claims models of every token type.
 */
#include "fuzz.h"

#include "clerk_claims.h"
#include "clerk_json.h"
#include "clerk_policy.h"

static const char *const payloads[] = {
    ("{\"sub\":\"user_1\",\"exp\":1,\"v\":2,\"fea\":\"o:teams,u:beta,uo:both\",\"pla\":\"u:free,o:pro\","
     "\"o\":{\"id\":\"org_1\",\"slg\":\"acme\",\"rol\":\"admin\",\"per\":\"read,manage\",\"fpm\":\"3,1,2\"},"
     "\"meta\":{\"tier\":\"gold\",\"n\":5,\"flags\":[true,\"x\",7]}}"),
    ("{\"sub\":\"user_2\",\"exp\":1,\"org_id\":\"org_9\",\"org_slug\":\"nine\",\"org_role\":\"org:member\","
     "\"org_permissions\":[\"org:teams:read\",\"teams:manage\"]}"),
    "{\"sub\":\"mch_1\",\"exp\":1,\"scopes\":\"mch_2 mch_3\",\"jti\":\"mt_1\"}",
    "{\"sub\":\"user_3\",\"exp\":1,\"scope\":\"read:foo write:bar\",\"jti\":\"oat_1\"}",
};
static const clerk_token_type_t types[] = {
    CLERK_TYPE_SESSION, CLERK_TYPE_SESSION, CLERK_TYPE_M2M, CLERK_TYPE_OAUTH,
};
static clerk_claims_t *models[4];

static void init(void)
{
    apr_pool_t *g = fuzz_global_pool();
    for (size_t i = 0; i < 4; i++) {
        const char *err;
        json_t *j = clerk_json_parse_object(g, payloads[i], strlen(payloads[i]), &err);
        if (!j || clerk_claims_build(g, j, types[i], &models[i], &err) != CLERK_OK)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    clerk_require_kind_t kind;
    clerk_require_t *req = NULL;
    const char *err;

    FUZZ_ONCE(init);
    if (size < 1)
        return 0;
    kind = (clerk_require_kind_t)(data[0] % (CLERK_REQUIRE_CLAIM + 1));
    p = fuzz_input_pool();
    err = clerk_require_parse(p, kind, fuzz_cstr(p, data + 1, size - 1), &req);
    if (!err) {
        if (!req || req->kind != kind)
            abort();
        for (size_t i = 0; i < 4; i++)
            (void)clerk_require_match(req, models[i]);
    }
    (void)clerk_require_name(kind);
    (void)clerk_org_prefixed(p, fuzz_cstr(p, data + 1, size - 1));
    fuzz_input_done(p);
    return 0;
}
