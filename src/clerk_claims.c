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

/*
 * One "fva" age as the SDK accepts it (isValidFactorAge: a finite number,
 * -1 or at least 0).  Fractions are rounded down, which decides as the SDK
 * does against the whole minutes of a configuration (m > 2.5 exactly when
 * m > 2); ages beyond 2^53 minutes are all too old, so they are held at it.
 */
static int factor_age(const json_t *v, apr_int64_t *age)
{
    double d;

    if (json_is_integer(v)) {
        *age = json_integer_value(v);
        return *age == CLERK_FACTOR_NEVER || *age >= 0;
    }
    if (!json_is_real(v))
        return 0;
    d = json_real_value(v);
    if (d == CLERK_FACTOR_NEVER) {
        *age = CLERK_FACTOR_NEVER;
        return 1;
    }
    if (!(d >= 0))
        return 0;
    *age = d < 9007199254740992.0 ? (apr_int64_t)d : APR_INT64_C(9007199254740992);
    return 1;
}

/* "fva": exactly two valid ages, else none (the SDK's tuple check). */
static int factor_ages(const json_t *fva, apr_int64_t ages[2])
{
    return json_is_array(fva) && json_array_size(fva) == 2
           && factor_age(json_array_get(fva, 0), &ages[0])
           && factor_age(json_array_get(fva, 1), &ages[1]);
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
        c->has_fva = factor_ages(json_object_get(payload, "fva"), c->fva);
        if ((r = clerk_org_from_payload(p, payload, &c->org, detail)) != CLERK_OK)
            return r;
        break;
    }
    *out = c;
    *detail = NULL;
    return CLERK_OK;
}
