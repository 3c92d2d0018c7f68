/*
 * The Require clerk-* providers: their arguments are parsed once, at
 * start-up (src/clerk_policy.c); at request time they match the claims
 * authn.c verified, with no side effects.
 */
#include "auth_clerk.h"

static const char *parse_require(cmd_parms *cmd, const char *line, const void **parsed,
                                 clerk_require_kind_t kind)
{
    clerk_require_t *req;
    const char *err = clerk_require_parse(cmd->pool, kind, line, &req);

    if (err)
        return apr_pstrcat(cmd->pool, "Require ", clerk_require_name(kind), ": ", err, NULL);
    *parsed = req;
    return NULL;
}

static authz_status check_require(request_rec *r, const char *line, const void *parsed)
{
    const clerk_require_t *req = parsed;
    const clerk_request_state *st;

    if (!r->user)
        return AUTHZ_DENIED_NO_USER;
    st = mac_request_state(r);
    if (!st || !st->claims) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, CLERKNO(009)
                      "Require %s %s: denied, no verified Clerk token",
                      clerk_require_name(req->kind), line);
        return AUTHZ_DENIED;
    }
    if (clerk_require_match(req, st->claims))
        return AUTHZ_GRANTED;
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, CLERKNO(010)
                  "Require %s %s: denied for %s", clerk_require_name(req->kind), line, r->user);
    return AUTHZ_DENIED;
}

#define CLERK_PROVIDER(fn, kind)                                                  \
    static const char *parse_##fn(cmd_parms *cmd, const char *line, const void **p) \
    {                                                                             \
        return parse_require(cmd, line, p, kind);                                 \
    }                                                                             \
    static const authz_provider fn##_provider = {check_require, parse_##fn}

CLERK_PROVIDER(user, CLERK_REQUIRE_USER);

CLERK_PROVIDER(org, CLERK_REQUIRE_ORG);

CLERK_PROVIDER(org_role, CLERK_REQUIRE_ORG_ROLE);

CLERK_PROVIDER(org_permission, CLERK_REQUIRE_ORG_PERMISSION);

CLERK_PROVIDER(feature, CLERK_REQUIRE_FEATURE);

CLERK_PROVIDER(plan, CLERK_REQUIRE_PLAN);

CLERK_PROVIDER(machine, CLERK_REQUIRE_MACHINE);

CLERK_PROVIDER(scope, CLERK_REQUIRE_SCOPE);

CLERK_PROVIDER(token_type, CLERK_REQUIRE_TOKEN_TYPE);

CLERK_PROVIDER(claim, CLERK_REQUIRE_CLAIM);

void mac_register_providers(apr_pool_t *p)
{
    static const struct {
        const char *name;
        const authz_provider *provider;
    } providers[] = {
        {"clerk-user", &user_provider},
        {"clerk-org", &org_provider},
        {"clerk-org-role", &org_role_provider},
        {"clerk-org-permission", &org_permission_provider},
        {"clerk-feature", &feature_provider},
        {"clerk-plan", &plan_provider},
        {"clerk-machine", &machine_provider},
        {"clerk-scope", &scope_provider},
        {"clerk-token-type", &token_type_provider},
        {"clerk-claim", &claim_provider},
    };

    for (size_t i = 0; i < sizeof(providers) / sizeof(providers[0]); i++)
        ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, providers[i].name,
                                  AUTHZ_PROVIDER_VERSION, providers[i].provider,
                                  AP_AUTH_INTERNAL_PER_CONF);
}
