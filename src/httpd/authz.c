/*
 * The Require clerk-* providers: their arguments are parsed once, at
 * start-up (src/clerk_policy.c, src/clerk_reverification.c); at request time
 * they match the claims authn.c verified.  One thing a denial leaves behind:
 * a fetch that clerk-reverification denies is answered, if the request ends
 * denied, with the JSON body that makes clerk-js ask the user to verify
 * again (see "The reverification body" below, and json_body.c).
 */
#include "auth_clerk.h"

#include "clerk_reverification.h"

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

/* ---- Require clerk-reverification ---- */

static const char *parse_reverification(cmd_parms *cmd, const char *line, const void **parsed)
{
    const clerk_reverification_t *cfg;
    const char *err = clerk_reverification_parse(cmd->pool, line, &cfg);

    if (err)
        return apr_pstrcat(cmd->pool, "Require clerk-reverification: ", err, NULL);
    *parsed = cfg;
    return NULL;
}

/*
 * The reverification body.  httpd's authorization gives a denied request
 * its 401 or 403 (AuthzSendForbiddenOnFailure) only after every provider has
 * spoken, so the provider that denies offers the body for both
 * (json_body.c), withdrawn again if the request is granted after all.
 */
static void offer_reverification(request_rec *r, const clerk_reverification_t *cfg)
{
    static const int statuses[] = {HTTP_UNAUTHORIZED, HTTP_FORBIDDEN};

    mac_offer_json_body(r, clerk_reverification_error_body(r->pool, cfg), statuses,
                        sizeof(statuses) / sizeof(statuses[0]));
}

/* The fva claim for the log: "fva 5,-1", or why there is none to use. */
static const char *fva_text(request_rec *r, const clerk_claims_t *c)
{
    if (c->type != CLERK_TYPE_SESSION)
        return "not a session token";
    if (!c->has_fva)
        return json_object_get(c->payload, "fva") ? "fva malformed" : "no fva claim";
    return apr_psprintf(r->pool, "fva %" APR_INT64_T_FMT ",%" APR_INT64_T_FMT, c->fva[0],
                        c->fva[1]);
}

static authz_status check_reverification(request_rec *r, const char *line, const void *parsed)
{
    const clerk_reverification_t *cfg = parsed;
    const clerk_request_state *st;
    int offer;

    if (!r->user)
        return AUTHZ_DENIED_NO_USER;
    st = mac_request_state(r);
    if (!st || !st->claims) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, CLERKNO(040)
                      "Require clerk-reverification %s: denied, no verified Clerk token", line);
        return AUTHZ_DENIED;
    }
    if (clerk_reverification_grants(cfg, st->claims))
        return AUTHZ_GRANTED;
    /*
     * A page view gets httpd's own answer; a fetch with a session (a user who
     * can verify again) the body clerk-js acts on.
     */
    offer = st->claims->type == CLERK_TYPE_SESSION
            && !clerk_handshake_eligible(r->method,
                                         apr_table_get(r->headers_in, "Sec-Fetch-Dest"),
                                         apr_table_get(r->headers_in, "Accept"));
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, CLERKNO(041)
                  "Require clerk-reverification %s: denied for %s (%s)%s", line, r->user,
                  fva_text(r, st->claims), offer ? ", reverification-error offered" : "");
    if (offer)
        offer_reverification(r, cfg);
    return AUTHZ_DENIED;
}

static const authz_provider reverification_provider = {check_reverification,
                                                       parse_reverification};

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
        {"clerk-reverification", &reverification_provider},
    };

    for (size_t i = 0; i < sizeof(providers) / sizeof(providers[0]); i++)
        ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, providers[i].name,
                                  AUTHZ_PROVIDER_VERSION, providers[i].provider,
                                  AP_AUTH_INTERNAL_PER_CONF);
}
