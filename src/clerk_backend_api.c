#include "clerk_backend_api.h"
#include "clerk_json.h"

#include <apr_escape.h>
#include <apr_strings.h>
#include <string.h>

apr_array_header_t *clerk_backend_api_headers(apr_pool_t *p, const char *secret)
{
    apr_array_header_t *h = apr_array_make(p, 3, sizeof(const char *));
    APR_ARRAY_PUSH(h, const char *) = apr_pstrcat(p, "Authorization: Bearer ", secret, NULL);
    APR_ARRAY_PUSH(h, const char *) = "Clerk-API-Version: " CLERK_BACKEND_API_VERSION;
    return h;
}

static const char *endpoint(clerk_token_type_t type, const char **field)
{
    switch (type) {
    case CLERK_TYPE_M2M:
        *field = "token";
        return "/m2m_tokens/verify";
    case CLERK_TYPE_OAUTH:
        *field = "access_token";
        return "/oauth_applications/access_tokens/verify";
    default:
        *field = "secret";
        return "/api_keys/verify";
    }
}

static int any_listed(const apr_array_header_t *have, const apr_array_header_t *want)
{
    for (int i = 0; have && i < have->nelts; i++)
        for (int j = 0; j < want->nelts; j++)
            if (!strcmp(APR_ARRAY_IDX(have, i, const char *), APR_ARRAY_IDX(want, j, const char *)))
                return 1;
    return 0;
}

clerk_reason_t clerk_claims_from_bapi(apr_pool_t *p, json_t *answer, clerk_token_type_t type,
                                      const apr_array_header_t *audiences, apr_int64_t now,
                                      clerk_claims_t **out, const char **detail)
{
    clerk_claims_t *c;
    const char *subject = clerk_json_string(answer, "subject");
    const json_t *expiration = json_object_get(answer, "expiration");

    if (json_is_true(json_object_get(answer, "revoked"))) {
        const char *why = clerk_json_string(answer, "revocation_reason");
        *detail = why ? apr_pstrcat(p, "token revoked: ", why, NULL) : "token revoked";
        return CLERK_TOKEN_INVALID;
    }
    if (json_is_true(json_object_get(answer, "expired"))
        || (json_is_integer(expiration) && json_integer_value(expiration) / 1000 <= now)) {
        *detail = "token expired";
        return CLERK_TOKEN_EXPIRED;
    }
    if (!subject || !*subject) {
        *detail = "the Backend API answer has no subject";
        return CLERK_TOKEN_VERIFICATION_FAILED;
    }
    c = apr_pcalloc(p, sizeof(*c));
    c->type = type;
    c->payload = answer;
    c->sub = subject;
    c->jti = clerk_json_string(answer, "id");
    c->scopes = clerk_json_string_array(p, json_object_get(answer, "scopes"));
    if (json_is_integer(expiration))
        c->exp = json_integer_value(expiration) / 1000;
    switch (type) {
    case CLERK_TYPE_M2M:
        c->machine_id = subject;
        break;
    case CLERK_TYPE_OAUTH:
        c->user_id = subject;
        /* Clerk's SDK: a configured audience must be in the token's aud. */
        if (audiences && audiences->nelts
            && !any_listed(clerk_json_string_array(p, json_object_get(answer, "aud")), audiences)) {
            *detail = "aud is missing or matches no ClerkAudience";
            return CLERK_TOKEN_INVALID_AUDIENCE;
        }
        break;
    default:
        /* An API key belongs to a user or to an organization. */
        if (!strncmp(subject, "user_", 5))
            c->user_id = subject;
        else if (!strncmp(subject, "org_", 4))
            c->org.id = subject;
        break;
    }
    *out = c;
    *detail = NULL;
    return CLERK_OK;
}

clerk_bapi_outcome_t clerk_backend_verify_opaque(apr_pool_t *p, clerk_http_t *http,
                                                 const char *api_url, const char *secret,
                                                 const char *token, clerk_token_type_t type,
                                                 const apr_array_header_t *audiences,
                                                 apr_int64_t now, clerk_verify_result_t *res,
                                                 const char **detail)
{
    const char *field, *path = endpoint(type, &field);
    apr_array_header_t *headers = clerk_backend_api_headers(p, secret);
    clerk_http_response_t resp;
    json_t *body, *answer;
    char *text;
    const char *err;

    memset(res, 0, sizeof(*res));
    /* what Clerk cannot have issued is never sent (src/clerk_opaque_token.h) */
    if (clerk_opaque_token_wellformed(token, strlen(token)) != type) {
        res->reason = CLERK_TOKEN_INVALID;
        res->detail = "malformed opaque token (not sent to the Backend API)";
        return CLERK_BAPI_ANSWERED;
    }
    APR_ARRAY_PUSH(headers, const char *) = "Content-Type: application/json";
    body = json_pack("{s:s}", field, token);
    text = clerk_json_compact(p, body);
    json_decref(body);

    if (clerk_http_request(http, p, "POST", apr_pstrcat(p, api_url, path, NULL), headers, text,
                           &resp) != APR_SUCCESS) {
        *detail = apr_pstrcat(p, "Backend API ", path, ": ", resp.error, NULL);
        return CLERK_BAPI_UNAVAILABLE;
    }
    if (resp.status == 401 || resp.status == 403) {
        *detail = apr_psprintf(p, "Backend API %s: HTTP %d, the secret key was refused", path,
                               resp.status);
        return CLERK_BAPI_SECRET_REJECTED;
    }
    if (resp.status == 404 || resp.status == 400 || resp.status == 422) {
        /* Clerk answers "not found" for unknown, revoked and expired tokens. */
        res->reason = CLERK_TOKEN_INVALID;
        res->detail = apr_psprintf(p, "the Backend API does not know the token (HTTP %d)",
                                   resp.status);
        return CLERK_BAPI_ANSWERED;
    }
    if (resp.status != 200) {
        *detail = apr_psprintf(p, "Backend API %s: HTTP %d", path, resp.status);
        return CLERK_BAPI_UNAVAILABLE;
    }
    if (!(answer = clerk_json_parse_object(p, resp.body, resp.len, &err))) {
        *detail = apr_pstrcat(p, "Backend API ", path, ": ", err, NULL);
        return CLERK_BAPI_UNAVAILABLE;
    }
    res->reason = clerk_claims_from_bapi(p, answer, type, audiences, now, &res->claims,
                                         &res->detail);
    if (res->reason != CLERK_OK)
        res->claims = NULL;
    return CLERK_BAPI_ANSWERED;
}

clerk_bapi_outcome_t clerk_backend_handshake_payload(apr_pool_t *p, clerk_http_t *http,
                                                     const char *api_url, const char *secret,
                                                     const char *nonce,
                                                     apr_array_header_t **directives,
                                                     const char **detail)
{
    clerk_http_response_t resp;
    const char *url = apr_pstrcat(p, api_url, "/v1/clients/handshake_payload?nonce=",
                                  apr_pescape_urlencoded(p, nonce), NULL);
    json_t *answer;
    const char *err;

    if (!clerk_handshake_nonce_wellformed(nonce, strlen(nonce))) {
        *detail = "malformed handshake nonce (not sent to the Backend API)";
        return CLERK_BAPI_UNAVAILABLE;
    }
    if (clerk_http_request(http, p, "GET", url, clerk_backend_api_headers(p, secret), NULL, &resp)
        != APR_SUCCESS) {
        *detail = apr_pstrcat(p, "Backend API handshake_payload: ", resp.error, NULL);
        return CLERK_BAPI_UNAVAILABLE;
    }
    if (resp.status == 401 || resp.status == 403) {
        *detail = "Backend API handshake_payload: the secret key was refused";
        return CLERK_BAPI_SECRET_REJECTED;
    }
    if (resp.status != 200
        || !(answer = clerk_json_parse_object(p, resp.body, resp.len, &err))) {
        *detail = apr_psprintf(p, "Backend API handshake_payload: HTTP %d", resp.status);
        return CLERK_BAPI_UNAVAILABLE;
    }
    *directives = clerk_json_string_array(p, json_object_get(answer, "directives"));
    if (!*directives)
        *directives = apr_array_make(p, 0, sizeof(const char *));
    return CLERK_BAPI_ANSWERED;
}
