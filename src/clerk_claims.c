#include "clerk_claims.h"
#include "clerk_json.h"

#include <apr_strings.h>
#include <string.h>

static const struct {
    clerk_token_type_t type;
    const char *name;
} type_names[] = {
    {CLERK_TYPE_SESSION, "session_token"},
    {CLERK_TYPE_M2M, "m2m_token"},
    {CLERK_TYPE_OAUTH, "oauth_token"},
    {CLERK_TYPE_API_KEY, "api_key"},
};

const char *clerk_token_type_name(clerk_token_type_t type)
{
    for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
        if (type_names[i].type == type)
            return type_names[i].name;
    return "unknown";
}

clerk_token_type_t clerk_token_type_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
        if (!strcmp(type_names[i].name, name))
            return type_names[i].type;
    return 0;
}

/* Space-separated scopes ("a b c") as an array; NULL for none. */
static apr_array_header_t *split_spaces(apr_pool_t *p, const char *s)
{
    apr_array_header_t *out = NULL;
    char *copy, *last, *tok;

    if (!s)
        return NULL;
    copy = apr_pstrdup(p, s);
    for (tok = apr_strtok(copy, " ", &last); tok; tok = apr_strtok(NULL, " ", &last)) {
        if (!out)
            out = apr_array_make(p, 4, sizeof(const char *));
        APR_ARRAY_PUSH(out, const char *) = tok;
    }
    return out;
}

/*
 * A machine or OAuth token's scopes as Clerk's SDK reads them: the member
 * spaced, split on spaces, or when it gives none, the string array listed.
 */
static apr_array_header_t *scopes_of(apr_pool_t *p, const json_t *payload, const char *spaced,
                                     const char *listed)
{
    apr_array_header_t *scopes = split_spaces(p, clerk_json_string(payload, spaced));
    return scopes ? scopes : clerk_json_string_array(p, json_object_get(payload, listed));
}

clerk_reason_t clerk_claims_build(apr_pool_t *p, json_t *payload, clerk_token_type_t type,
                                  clerk_claims_t **out, const char **detail)
{
    clerk_claims_t *c = apr_pcalloc(p, sizeof(*c));
    const json_t *act = json_object_get(payload, "act");
    const json_t *iat = json_object_get(payload, "iat");
    clerk_reason_t r;

    c->type = type;
    c->payload = payload;
    c->sub = clerk_json_string(payload, "sub");
    c->sid = clerk_json_string(payload, "sid");
    c->sts = clerk_json_string(payload, "sts");
    c->iss = clerk_json_string(payload, "iss");
    c->azp = clerk_json_string(payload, "azp");
    c->jti = clerk_json_string(payload, "jti");
    c->exp = json_integer_value(json_object_get(payload, "exp"));
    if (json_is_integer(iat)) {
        c->iat = json_integer_value(iat);
        c->has_iat = 1;
    }
    if (json_is_object(act))
        c->actor_sub = clerk_json_string(act, "sub");

    switch (type) {
    case CLERK_TYPE_M2M:
        c->machine_id = c->sub;
        /* Clerk's M2M object: "scopes" split on spaces, else "aud". */
        c->scopes = scopes_of(p, payload, "scopes", "aud");
        break;
    case CLERK_TYPE_OAUTH:
        c->user_id = c->sub;
        c->scopes = scopes_of(p, payload, "scope", "scp");
        break;
    default:
        c->user_id = c->sub;
        c->features = clerk_json_string(payload, "fea");
        c->plans = clerk_json_string(payload, "pla");
        if ((r = clerk_org_from_payload(p, payload, &c->org, detail)) != CLERK_OK)
            return r;
        break;
    }
    *out = c;
    *detail = NULL;
    return CLERK_OK;
}
