#include "clerk_verify.h"
#include "clerk_jws.h"
#include "clerk_json.h"

#include <string.h>

void clerk_verify_opts_init(clerk_verify_opts_t *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->clock_skew = CLERK_DEFAULT_CLOCK_SKEW;
    opts->accept_types = CLERK_TYPE_SESSION;
    opts->max_token_len = CLERK_TOKEN_MAX_LEN;
}

clerk_issuer_source_t clerk_verify_opts_from_settings(const clerk_verify_settings_t *s,
                                                      clerk_verify_opts_t *opts)
{
    clerk_issuer_source_t source = CLERK_ISSUERS_UNCHECKED;

    clerk_verify_opts_init(opts);
    if (s->issuers) {
        opts->issuers = s->issuers->nelts ? s->issuers : NULL;
        source = s->issuers->nelts ? CLERK_ISSUERS_CONFIGURED : CLERK_ISSUERS_OFF;
    }
    else if (s->instance_issuers) {
        opts->issuers = s->instance_issuers;
        source = CLERK_ISSUERS_INSTANCE;
    }
    opts->authorized_parties = s->authorized_parties;
    opts->audiences = s->audiences;
    if (s->clock_skew >= 0)
        opts->clock_skew = s->clock_skew;
    opts->allow_pending = s->allow_pending == 1;
    if (s->accept_types)
        opts->accept_types = s->accept_types;
    return source;
}

static int fail(clerk_verify_result_t *res, clerk_reason_t r, const char *detail)
{
    res->reason = r;
    res->detail = detail;
    return 0;
}

static int in_list(const apr_array_header_t *list, const char *s)
{
    for (int i = 0; s && i < list->nelts; i++)
        if (!strcmp(APR_ARRAY_IDX(list, i, const char *), s))
            return 1;
    return 0;
}

static int configured(const apr_array_header_t *list)
{
    return list && list->nelts > 0;
}

clerk_token_type_t clerk_token_classify(const char *typ, const char *cat, const json_t *payload)
{
    const char *sub = payload ? clerk_json_string(payload, "sub") : NULL;

    /* getMachineTokenType's order: a machine subject first, then RFC 9068. */
    if (sub && !strncmp(sub, "mch_", 4))
        return CLERK_TYPE_M2M;
    if (typ && (!strcmp(typ, "at+jwt") || !strcmp(typ, "application/at+jwt")))
        return CLERK_TYPE_OAUTH;
    if (cat && !strcmp(cat, CLERK_CAT_M2M))
        return CLERK_TYPE_M2M;
    return CLERK_TYPE_SESSION;
}

int clerk_is_origin(const char *s)
{
    const char *host;

    if (!strncmp(s, "https://", 8))
        host = s + 8;
    else if (!strncmp(s, "http://", 7))
        host = s + 7;
    else
        return 0;
    return *host && !strchr(host, '/') && !strchr(host, '?') && !strchr(host, '#');
}

int clerk_session_category(const clerk_jws_t *jws)
{
    return !jws->has_cat
           || (jws->cat && (!strcmp(jws->cat, CLERK_CAT_SESSION)
                            || !strcmp(jws->cat, CLERK_CAT_IGNORE)));
}

/* typ and cat rules that depend on the token type. */
static int check_type_header(const clerk_jws_t *jws, clerk_token_type_t type,
                             clerk_verify_result_t *res)
{
    /* an OAuth token's typ is what classified it */
    if (type != CLERK_TYPE_OAUTH && jws->typ && strcmp(jws->typ, "JWT"))
        return fail(res, CLERK_TOKEN_INVALID, "typ is neither absent nor JWT");
    if (type == CLERK_TYPE_SESSION) {
        if (clerk_session_category(jws))
            return 1;
        /* Clerk names any other cat a type mismatch, null or a number included */
        return fail(res, CLERK_TOKEN_TYPE_MISMATCH,
                    !jws->cat ? "cat is not a string"
                    : !strcmp(jws->cat, CLERK_CAT_TEMPLATE)
                        ? "JWT template token where a session token is expected"
                        : "unknown token category");
    }
    /* Clerk reads no cat on OAuth tokens; one that is not a string is refused all the same */
    if (jws->has_cat && !jws->cat)
        return fail(res, CLERK_TOKEN_INVALID, "cat is not a string");
    if (type == CLERK_TYPE_M2M && jws->cat && strcmp(jws->cat, CLERK_CAT_M2M))
        return fail(res, CLERK_TOKEN_INVALID, "M2M token with a non-M2M category");
    return 1;
}

/* An optional NumericDate: absent, or a JSON integer. */
static int optional_time(const json_t *payload, const char *name, apr_int64_t *value,
                         int *present)
{
    const json_t *v = json_object_get(payload, name);
    *present = v != NULL;
    if (!v)
        return 1;
    if (!json_is_integer(v))
        return 0;
    *value = json_integer_value(v);
    return 1;
}

static int check_audience(const json_t *payload, const apr_array_header_t *audiences,
                          clerk_verify_result_t *res)
{
    const json_t *aud = json_object_get(payload, "aud");
    size_t i;
    json_t *v;
    int match = 0;

    if (!configured(audiences))
        return 1;
    if (json_is_string(aud))
        match = in_list(audiences, json_string_value(aud));
    else if (json_is_array(aud)) {
        json_array_foreach(aud, i, v) {
            if (!json_is_string(v))
                return fail(res, CLERK_TOKEN_INVALID_AUDIENCE, "aud has a non-string element");
            match |= in_list(audiences, json_string_value(v));
        }
    }
    else
        return fail(res, CLERK_TOKEN_INVALID_AUDIENCE, "aud is missing");
    return match ? 1 : fail(res, CLERK_TOKEN_INVALID_AUDIENCE, "aud matches no ClerkAudience");
}

static int check_claims(const json_t *payload, clerk_token_type_t type,
                        const clerk_verify_opts_t *o, apr_int64_t now,
                        clerk_verify_result_t *res)
{
    apr_int64_t exp = 0, nbf = 0, iat = 0;
    int has_exp, has_nbf, has_iat;

    if (!json_is_string(json_object_get(payload, "sub")))
        return fail(res, CLERK_TOKEN_VERIFICATION_FAILED, "sub is missing or not a string");
    if (!check_audience(payload, o->audiences, res))
        return 0;
    if (type == CLERK_TYPE_SESSION && configured(o->authorized_parties)
        && !in_list(o->authorized_parties, clerk_json_string(payload, "azp")))
        return fail(res, CLERK_TOKEN_INVALID_AUTHORIZED_PARTIES,
                    clerk_json_string(payload, "azp") ? "azp is not an authorized party"
                                                      : "azp is missing");
    if (type == CLERK_TYPE_SESSION && configured(o->issuers)
        && !in_list(o->issuers, clerk_json_string(payload, "iss")))
        return fail(res, CLERK_TOKEN_INVALID_ISSUER, "iss is not an accepted issuer");

    if (!optional_time(payload, "exp", &exp, &has_exp) || !has_exp)
        return fail(res, CLERK_TOKEN_VERIFICATION_FAILED, "exp is missing or not an integer");
    if (exp <= now - o->clock_skew)
        return fail(res, CLERK_TOKEN_EXPIRED, "exp has passed");
    if (!optional_time(payload, "nbf", &nbf, &has_nbf))
        return fail(res, CLERK_TOKEN_VERIFICATION_FAILED, "nbf is not an integer");
    if (has_nbf && nbf > now + o->clock_skew)
        return fail(res, CLERK_TOKEN_NOT_ACTIVE_YET, "nbf is in the future");
    if (!optional_time(payload, "iat", &iat, &has_iat))
        return fail(res, CLERK_TOKEN_VERIFICATION_FAILED, "iat is not an integer");
    if (has_iat && iat > now + o->clock_skew)
        return fail(res, CLERK_TOKEN_IAT_IN_THE_FUTURE, "iat is in the future");

    if (type == CLERK_TYPE_SESSION && !o->allow_pending) {
        const char *sts = clerk_json_string(payload, "sts");
        if (sts && !strcmp(sts, "pending"))
            return fail(res, CLERK_SESSION_PENDING, "session is pending");
    }
    return 1;
}

void clerk_verify_token(apr_pool_t *p, const char *token, apr_size_t len,
                        const clerk_keyset_t *ks, const clerk_verify_opts_t *opts,
                        apr_int64_t now, clerk_verify_result_t *res)
{
    clerk_jws_t *jws;
    json_t *payload;
    clerk_token_type_t type;
    const char *detail;
    int compact;

    memset(res, 0, sizeof(*res));
    res->reason = clerk_jws_parse_for(p, token, len,
                                      opts->max_token_len ? opts->max_token_len
                                                          : CLERK_TOKEN_MAX_LEN,
                                      ks, &jws, &res->detail);
    if (res->reason != CLERK_OK)
        return;
    res->kid = jws->kid;
    if (!ks) {
        fail(res, CLERK_JWK_FAILED_TO_RESOLVE, "no verification key is available");
        return;
    }
    if ((res->reason = clerk_jws_verify(jws, ks, &res->detail)) != CLERK_OK)
        return;

    payload = clerk_json_parse_object_compact(p, (const char *)jws->payload, jws->payload_len,
                                              &compact, &detail);
    if (!payload) {
        fail(res, CLERK_TOKEN_INVALID, detail);
        return;
    }
    type = clerk_token_classify(jws->typ, jws->cat, payload);
    if (!(opts->accept_types & type)) {
        fail(res, CLERK_TOKEN_TYPE_MISMATCH, "token type is not accepted here");
        return;
    }
    if (!check_type_header(jws, type, res) || !check_claims(payload, type, opts, now, res))
        return;
    if ((res->reason = clerk_claims_build(p, payload, type, &res->claims, &res->detail))
        != CLERK_OK) {
        res->claims = NULL;
        return;
    }
    /* Clerk signs compact JSON: CLERK_CLAIMS can be the signed bytes themselves */
    if (compact)
        res->claims->payload_text = (const char *)jws->payload;
}
