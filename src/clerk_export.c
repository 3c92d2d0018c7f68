#include "clerk_export.h"
#include "clerk_json.h"

#include <apr_lib.h>
#include <apr_strings.h>
#include <string.h>

static void add(apr_array_header_t *vars, const char *env, const char *header,
                const char *value)
{
    clerk_var_t *v;
    if (!value)
        return;
    v = &APR_ARRAY_PUSH(vars, clerk_var_t);
    v->env = env;
    v->header = header;
    v->value = value;
}

static const char *join(apr_pool_t *p, const apr_array_header_t *a, char sep)
{
    if (!a)
        return NULL;
    return apr_array_pstrcat(p, a, sep);
}

apr_array_header_t *clerk_export_vars(apr_pool_t *p, const clerk_claims_t *c)
{
    apr_array_header_t *vars = apr_array_make(p, 20, sizeof(clerk_var_t));

    add(vars, "CLERK_TOKEN_TYPE", "X-Clerk-Token-Type", clerk_token_type_name(c->type));
    add(vars, "CLERK_USER_ID", "X-Clerk-User-Id", c->user_id);
    add(vars, "CLERK_SESSION_ID", "X-Clerk-Session-Id", c->sid);
    add(vars, "CLERK_SESSION_STATUS", "X-Clerk-Session-Status", c->sts);
    if (c->has_fva)     /* "5,-1": first factor, second factor (minutes; -1 never) */
        add(vars, "CLERK_FACTOR_AGES", "X-Clerk-Factor-Ages",
            apr_psprintf(p, "%" APR_INT64_T_FMT ",%" APR_INT64_T_FMT, c->fva[0], c->fva[1]));
    add(vars, "CLERK_ORG_ID", "X-Clerk-Org-Id", c->org.id);
    add(vars, "CLERK_ORG_SLUG", "X-Clerk-Org-Slug", c->org.slug);
    add(vars, "CLERK_ORG_ROLE", "X-Clerk-Org-Role", c->org.role);
    add(vars, "CLERK_ORG_PERMISSIONS", "X-Clerk-Org-Permissions", join(p, c->org.permissions, ','));
    add(vars, "CLERK_FEATURES", "X-Clerk-Features", c->features);
    add(vars, "CLERK_PLANS", "X-Clerk-Plans", c->plans);
    add(vars, "CLERK_ACTOR_ID", "X-Clerk-Actor-Id", c->actor_sub);
    add(vars, "CLERK_MACHINE_ID", "X-Clerk-Machine-Id", c->machine_id);
    add(vars, "CLERK_SCOPES", "X-Clerk-Scopes", join(p, c->scopes, ' '));
    add(vars, "CLERK_TOKEN_ID", "X-Clerk-Token-Id", c->jti);
    add(vars, "CLERK_AZP", "X-Clerk-Azp", c->azp);
    add(vars, "CLERK_ISSUER", "X-Clerk-Issuer", c->iss);
    if (c->exp)     /* opaque tokens may never expire */
        add(vars, "CLERK_EXPIRES_AT", "X-Clerk-Expires-At",
            apr_psprintf(p, "%" APR_INT64_T_FMT, c->exp));
    if (c->has_iat)
        add(vars, "CLERK_ISSUED_AT", "X-Clerk-Issued-At",
            apr_psprintf(p, "%" APR_INT64_T_FMT, c->iat));
    add(vars, "CLERK_CLAIMS", "X-Clerk-Claims",
        c->payload_text ? c->payload_text : clerk_json_compact(p, c->payload));
    return vars;
}

const char *clerk_export_remote_user(apr_pool_t *p, const clerk_claims_t *c,
                                     const char *claim)
{
    const json_t *v;

    /* "sub" is the model's subject: also for opaque tokens, whose answer says "subject". */
    if (!strcmp(claim, "sub"))
        return c->sub;
    v = json_object_get(c->payload, claim);
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v))
        /* APR's formatter has no %lld (JSON_INTEGER_FORMAT): print as apr_int64_t */
        return apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)json_integer_value(v));
    return NULL;
}

clerk_reason_t clerk_export_remote_user_decision(apr_pool_t *p, const clerk_claims_t *c,
                                                 const char *claim, const char **user,
                                                 const char **detail)
{
    if (!claim)
        claim = CLERK_DEFAULT_REMOTE_USER_CLAIM;
    *user = clerk_export_remote_user(p, c, claim);
    if (*user && **user)
        return CLERK_OK;
    *user = NULL;
    *detail = apr_psprintf(p, "ClerkRemoteUserClaim %s is missing, empty or not a string", claim);
    return CLERK_TOKEN_VERIFICATION_FAILED;
}

/* "CLERK_ORG_ID" -> "org_id" */
static char *field_name(apr_pool_t *p, const char *env)
{
    char *name = apr_pstrdup(p, env + strlen("CLERK_"));

    for (char *s = name; *s; s++)
        *s = (char)apr_tolower(*s);
    return name;
}

json_t *clerk_export_identity(apr_pool_t *p, const apr_array_header_t *vars,
                              const char *remote_user)
{
    json_t *o = json_object();
    json_t *user = json_string(remote_user);

    clerk_json_pool_own(p, o);
    json_object_set_new(o, "signed_in", json_true());
    if (user)
        json_object_set_new(o, "remote_user", user);
    for (int i = 0; i < vars->nelts; i++) {
        const clerk_var_t *v = &APR_ARRAY_IDX(vars, i, clerk_var_t);
        json_t *value;

        if (!strcmp(v->env, "CLERK_CLAIMS"))
            continue;
        value = json_string(v->value);
        if (value)
            json_object_set_new(o, field_name(p, v->env), value);
    }
    return o;
}

json_t *clerk_export_signed_out(apr_pool_t *p, const char *reason)
{
    json_t *o = json_pack("{s:b, s:s}", "signed_in", 0, "reason", reason);

    clerk_json_pool_own(p, o);
    return o;
}

int clerk_export_header_safe(const char *value)
{
    for (const unsigned char *s = (const unsigned char *)value; *s; s++)
        if (*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}
