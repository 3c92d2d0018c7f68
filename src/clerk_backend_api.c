#include "clerk_backend_api.h"
#include "clerk_base64url.h"
#include "clerk_json.h"

#include <apr_escape.h>
#include <apr_lib.h>
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
                                                 const char **detail, const char **answer_body)
{
    const char *field, *path = endpoint(type, &field);
    apr_array_header_t *headers = clerk_backend_api_headers(p, secret);
    clerk_http_response_t resp;
    json_t *body;
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
    if (clerk_backend_opaque_answer(p, resp.body, resp.len, type, audiences, now, res, &err)
        != CLERK_BAPI_ANSWERED) {
        *detail = apr_pstrcat(p, "Backend API ", path, ": ", err, NULL);
        return CLERK_BAPI_UNAVAILABLE;
    }
    if (answer_body)
        *answer_body = apr_pstrmemdup(p, resp.body, resp.len);
    return CLERK_BAPI_ANSWERED;
}

clerk_bapi_outcome_t clerk_backend_opaque_answer(apr_pool_t *p, const char *body, apr_size_t len,
                                                 clerk_token_type_t type,
                                                 const apr_array_header_t *audiences,
                                                 apr_int64_t now, clerk_verify_result_t *res,
                                                 const char **err)
{
    json_t *answer;

    memset(res, 0, sizeof(*res));
    if (!(answer = clerk_json_parse_object(p, body, len, err)))
        return CLERK_BAPI_UNAVAILABLE;
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

/* ---- Silent refresh ---- */

#define REFRESH_WHAT "Backend API sessions refresh"

/* RFC 6265 cookie-octet: what a cookie value, such as __refresh, can hold. */
static int cookie_octets(const char *s, apr_size_t max)
{
    apr_size_t n = 0;
    for (; s[n]; n++) {
        unsigned char c = (unsigned char)s[n];
        if (n == max || c < 0x21 || c > 0x7e || c == '"' || c == ',' || c == ';' || c == '\\')
            return 0;
    }
    return n > 0;
}

static int alnum_run(const char *s, apr_size_t min, apr_size_t max)
{
    apr_size_t n = 0;
    for (; s[n]; n++)
        if (n == max || !apr_isalnum(s[n]))
            return 0;
    return n >= min;
}

/*
 * scheme://authority and nothing else, as the SDK's clerkUrl.origin; the
 * authority holds what a host name, an IP literal and a port can.
 */
static int origin_wellformed(const char *o)
{
    const char *a;
    apr_size_t n;

    if (strlen(o) > CLERK_REFRESH_ORIGIN_MAX)
        return 0;
    if (!strncmp(o, "https://", 8))
        a = o + 8;
    else if (!strncmp(o, "http://", 7))
        a = o + 7;
    else
        return 0;
    for (n = 0; a[n]; n++)
        if (!apr_isalnum(a[n]) && !strchr(".-:[]", a[n]))
            return 0;
    return n > 0;
}

/* A strict base64url segment that decodes to a JSON object (NULL if not). */
static json_t *json_segment(apr_pool_t *p, const char *seg, apr_size_t len)
{
    unsigned char *raw;
    apr_size_t rawlen;
    const char *err;

    if (clerk_b64url_decode(p, seg, len, &raw, &rawlen) != APR_SUCCESS)
        return NULL;
    return clerk_json_parse_object(p, (const char *)raw, rawlen, &err);
}

/*
 * The sid of the expired token, decoded as the SDK's decodeJwt does (three
 * segments, header and payload JSON, signature base64url) but strictly.
 */
static const char *session_id_of(apr_pool_t *p, const char *token, const char **sid,
                                 const char **detail)
{
    apr_size_t len = strlen(token);
    const char *d1, *d2;
    unsigned char *sig;
    apr_size_t siglen;
    json_t *payload;

    d1 = len <= CLERK_TOKEN_MAX_LEN ? memchr(token, '.', len) : NULL;
    d2 = d1 ? memchr(d1 + 1, '.', len - (apr_size_t)(d1 + 1 - token)) : NULL;
    if (!d2 || memchr(d2 + 1, '.', len - (apr_size_t)(d2 + 1 - token))
        || !json_segment(p, token, (apr_size_t)(d1 - token))
        || !(payload = json_segment(p, d1 + 1, (apr_size_t)(d2 - d1 - 1)))
        || clerk_b64url_decode(p, d2 + 1, len - (apr_size_t)(d2 + 1 - token), &sig, &siglen)
               != APR_SUCCESS) {
        *detail = "the expired session token does not decode (no refresh)";
        return CLERK_REFRESH_DECODE_FAILED;
    }
    *sid = clerk_json_string(payload, "sid");
    if (!*sid || strncmp(*sid, "sess_", 5) || !alnum_run(*sid + 5, 1, CLERK_SESSION_ID_MAX)) {
        /* only a session id goes into the URL path: nothing else can inject one */
        *detail = json_object_get(payload, "sid")
            ? "the expired session token's sid is not a session id (not sent)"
            : "the expired session token has no sid (no refresh)";
        *sid = NULL;
        return CLERK_REFRESH_MISSING_SID;
    }
    return NULL;
}

const char *clerk_refresh_refusal(apr_pool_t *p, const char *secret,
                                  const clerk_refresh_request_t *req, const char **sid,
                                  const char **detail)
{
    const char *why;

    *sid = NULL;
    if (!secret || !*secret) {
        *detail = "no secret key, so no Backend API to refresh with";
        return CLERK_REFRESH_MISSING_API_CLIENT;
    }
    if (!req->expired_token || !*req->expired_token) {
        *detail = "no session token to refresh";
        return CLERK_REFRESH_MISSING_SESSION_TOKEN;
    }
    if (!req->refresh_token || !*req->refresh_token) {
        *detail = "no refresh token";
        return CLERK_REFRESH_MISSING_REFRESH_TOKEN;
    }
    if (!cookie_octets(req->refresh_token, CLERK_REFRESH_TOKEN_MAX)) {
        *detail = "malformed refresh token (not sent)";
        return CLERK_REFRESH_MISSING_REFRESH_TOKEN;
    }
    if ((why = session_id_of(p, req->expired_token, sid, detail)))
        return why;
    if (!req->request_origin || !origin_wellformed(req->request_origin)) {
        *sid = NULL;
        *detail = "malformed request origin (not sent)";
        return CLERK_REFRESH_UNEXPECTED_SDK_ERROR;
    }
    return NULL;
}

typedef struct {
    const char *name;           /* lower case */
    const char *value;
    int order;                  /* position in the table: repeated headers join in order */
} fwd_header_t;

static int by_name_then_order(const void *a, const void *b)
{
    const fwd_header_t *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : x->order - y->order;
}

/* An RFC 9110 token of at most 256 characters, lower-cased into p; NULL if not. */
static char *header_name(apr_pool_t *p, const char *key)
{
    char *name;
    apr_size_t n = strlen(key);

    if (n == 0 || n > 256 || strspn(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "0123456789!#$%&'*+-.^_`|~") != n)
        return NULL;
    name = apr_pstrmemdup(p, key, n);
    for (char *c = name; *c; c++)
        *c = (char)apr_tolower(*c);
    return name;
}

/* Visible ASCII, spaces and tabs: a header value JSON carries as it is. */
static int printable_ascii(const char *v, apr_size_t len)
{
    for (apr_size_t k = 0; k < len; k++) {
        unsigned char c = (unsigned char)v[k];
        if ((c < 0x20 && c != '\t') || c > 0x7e)
            return 0;
    }
    return 1;
}

/* request.headers as Record<string, string[]>, as the SDK builds it, within the bounds. */
static json_t *request_headers(apr_pool_t *p, const apr_table_t *t)
{
    json_t *o = json_object();
    const apr_array_header_t *arr;
    const apr_table_entry_t *e;
    apr_array_header_t *kept;
    fwd_header_t *h;
    apr_size_t bytes = 0;

    if (!t)
        return o;
    arr = apr_table_elts(t);
    e = (const apr_table_entry_t *)arr->elts;
    kept = apr_array_make(p, arr->nelts, sizeof(fwd_header_t));
    for (int i = 0; i < arr->nelts && kept->nelts < CLERK_REFRESH_MAX_HEADERS; i++) {
        const char *v = e[i].val;
        char *name = e[i].key ? header_name(p, e[i].key) : NULL;
        apr_size_t vlen, cost;

        if (!name || !v || !strcmp(name, "cookie") || !strcmp(name, "authorization")
            || !strcmp(name, "proxy-authorization"))
            continue;
        /* Fetch's Headers trim HTTP whitespace around values */
        v += strspn(v, " \t");
        for (vlen = strlen(v); vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'); vlen--)
            ;
        cost = strlen(name) + vlen + 2;     /* +2: the ", " of a join */
        if (vlen > CLERK_REFRESH_HEADER_MAX || bytes + cost > CLERK_REFRESH_HEADERS_MAX_BYTES
            || !printable_ascii(v, vlen))
            continue;
        bytes += cost;
        h = apr_array_push(kept);
        h->name = name;
        h->value = apr_pstrmemdup(p, v, vlen);
        h->order = i;
    }
    /* Headers.entries(): sorted by name, the values of one name joined by ", " */
    h = (fwd_header_t *)kept->elts;
    qsort(h, (size_t)kept->nelts, sizeof(*h), by_name_then_order);
    for (int i = 0; i < kept->nelts;) {
        const char *value = h[i].value;
        int j = i + 1;
        for (; j < kept->nelts && !strcmp(h[j].name, h[i].name); j++)
            value = apr_pstrcat(p, value, ", ", h[j].value, NULL);
        json_object_set_new(o, h[i].name, json_pack("[s]", value));
        i = j;
    }
    return o;
}

char *clerk_refresh_body(apr_pool_t *p, const clerk_refresh_request_t *req)
{
    /* the SDK's key order; suffixed_cookies goes in the query, not here */
    json_t *body = json_pack("{s:s, s:s, s:s, s:s, s:o}", "format", "cookie",
                             "expired_token", req->expired_token,
                             "refresh_token", req->refresh_token,
                             "request_origin", req->request_origin,
                             "request_headers", request_headers(p, req->headers));
    char *text = body ? clerk_json_compact(p, body) : NULL;

    json_decref(body);
    return text;
}

/* A JavaScript-falsy JSON value (or none): the SDK's `!code`. */
static int json_falsy(const json_t *v)
{
    return !v || json_is_null(v) || json_is_false(v)
        || (json_is_integer(v) && json_integer_value(v) == 0)
        || (json_is_real(v) && json_real_value(v) == 0.0)
        || (json_is_string(v) && json_string_length(v) == 0);
}

/* The reason of an error answer: the code of its first error, as the SDK gives it. */
static const char *error_reason(apr_pool_t *p, const char *body, apr_size_t len)
{
    const char *err, *code;
    json_t *answer = clerk_json_parse_object(p, body, len, &err);
    const json_t *errors = answer ? json_object_get(answer, "errors") : NULL;
    const json_t *first = json_array_get(errors, 0), *c;

    if (!json_is_object(first))
        return CLERK_REFRESH_UNEXPECTED_BAPI_ERROR;
    c = json_object_get(first, "code");
    if (json_falsy(c))
        return CLERK_REFRESH_UNEXPECTED_SDK_ERROR;
    code = json_string_value(c);
    if (!code)
        return CLERK_REFRESH_UNEXPECTED_BAPI_ERROR;
    if (!strcmp(code, "unexpected_error"))
        return CLERK_REFRESH_FETCH_ERROR;
    /* the code goes into a handshake URL and a header: only what Clerk's codes look like */
    if (json_string_length(c) > CLERK_REFRESH_CODE_MAX
        || strspn(code, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
               != json_string_length(c))
        return CLERK_REFRESH_UNEXPECTED_BAPI_ERROR;
    return code;
}

/* Each a string that can go out as a Set-Cookie value, or NULL. */
static apr_array_header_t *header_safe_strings(apr_pool_t *p, const json_t *a)
{
    apr_array_header_t *out = apr_array_make(p, (int)json_array_size(a), sizeof(const char *));
    size_t i;
    const json_t *v;

    json_array_foreach(a, i, v) {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if (!s || n == 0 || n > CLERK_REFRESH_COOKIE_MAX)
            return NULL;
        for (size_t k = 0; k < n; k++)
            if ((unsigned char)s[k] < 0x20 || s[k] == 0x7f)
                return NULL;
        APR_ARRAY_PUSH(out, const char *) = s;
    }
    return out;
}

clerk_bapi_outcome_t clerk_refresh_answer(apr_pool_t *p, int status, const char *body,
                                          apr_size_t len, apr_array_header_t **set_cookies,
                                          const char **refresh_error, const char **detail)
{
    const char *err;
    json_t *answer;
    const json_t *cookies;
    apr_array_header_t *list;

    *set_cookies = NULL;
    if (len > CLERK_REFRESH_ANSWER_MAX) {
        *refresh_error = CLERK_REFRESH_FETCH_ERROR;
        *detail = apr_psprintf(p, REFRESH_WHAT ": HTTP %d, an answer over %u bytes", status,
                               CLERK_REFRESH_ANSWER_MAX);
        return CLERK_BAPI_UNAVAILABLE;
    }
    if (status < 200 || status > 299) {
        *refresh_error = error_reason(p, body, len);
        *detail = apr_psprintf(p, REFRESH_WHAT ": HTTP %d (%s)", status, *refresh_error);
        if (status == 401 || status == 403)
            return CLERK_BAPI_SECRET_REJECTED;
        return status >= 400 && status < 500 ? CLERK_BAPI_ANSWERED : CLERK_BAPI_UNAVAILABLE;
    }
    if (status == 204) {
        /* the SDK reads .cookies of no data: a TypeError, which it calls a BAPI error */
        *refresh_error = CLERK_REFRESH_UNEXPECTED_BAPI_ERROR;
        *detail = REFRESH_WHAT ": HTTP 204, no answer";
        return CLERK_BAPI_UNAVAILABLE;
    }
    if (!(answer = clerk_json_parse_object(p, body, len, &err))) {
        *refresh_error = CLERK_REFRESH_FETCH_ERROR;
        *detail = apr_pstrcat(p, REFRESH_WHAT ": ", err, NULL);
        return CLERK_BAPI_UNAVAILABLE;
    }
    cookies = json_object_get(answer, "cookies");
    if (!json_is_array(cookies) || json_array_size(cookies) == 0) {
        *refresh_error = CLERK_REFRESH_UNEXPECTED_SDK_ERROR;
        *detail = REFRESH_WHAT ": the answer has no cookies";
        return CLERK_BAPI_ANSWERED;
    }
    if (json_array_size(cookies) > CLERK_REFRESH_MAX_COOKIES
        || !(list = header_safe_strings(p, cookies))) {
        *refresh_error = CLERK_REFRESH_UNEXPECTED_BAPI_ERROR;
        *detail = REFRESH_WHAT ": the answer's cookies cannot be set (not strings, control "
                  "characters, too long or too many)";
        return CLERK_BAPI_UNAVAILABLE;
    }
    if (!clerk_refresh_session_token(p, list)) {
        /* the SDK verifies the empty token it found, which fails */
        *refresh_error = CLERK_REFRESH_INVALID_SESSION_TOKEN;
        *detail = REFRESH_WHAT ": the answer sets no __session cookie";
        return CLERK_BAPI_ANSWERED;
    }
    *set_cookies = list;
    *refresh_error = NULL;
    *detail = NULL;
    return CLERK_BAPI_ANSWERED;
}

const char *clerk_refresh_session_token(apr_pool_t *p, const apr_array_header_t *set_cookies)
{
    const char *token = NULL;

    /* the SDK's getCookieName/getCookieValue: split(';')[0].split('=') [0] and [1]; last wins */
    for (int i = 0; i < set_cookies->nelts; i++) {
        const char *c = APR_ARRAY_IDX(set_cookies, i, const char *);
        apr_size_t pair = strcspn(c, ";"), name = strcspn(c, "=;");
        if (name >= 9 && !strncmp(c, "__session", 9)) {
            const char *v = c + name + (name < pair);
            token = apr_pstrmemdup(p, v, strcspn(v, "=;"));
        }
    }
    return token && *token ? token : NULL;
}

clerk_bapi_outcome_t clerk_backend_refresh_session(apr_pool_t *p, clerk_http_t *http,
                                                   const char *api_url, const char *secret,
                                                   const clerk_refresh_request_t *req,
                                                   apr_array_header_t **set_cookies,
                                                   const char **refresh_error,
                                                   const char **detail)
{
    apr_array_header_t *headers;
    clerk_http_response_t resp;
    const char *sid, *url;

    *set_cookies = NULL;
    if ((*refresh_error = clerk_refresh_refusal(p, api_url ? secret : NULL, req, &sid, detail)))
        return CLERK_BAPI_ANSWERED;
    url = apr_pstrcat(p, api_url, "/v1/sessions/", sid, "/refresh",
                      req->suffixed_cookies ? "?suffixed_cookies=true" : "", NULL);
    headers = clerk_backend_api_headers(p, secret);
    APR_ARRAY_PUSH(headers, const char *) = "Content-Type: application/json";
    if (clerk_http_request(http, p, "POST", url, headers, clerk_refresh_body(p, req), &resp)
        != APR_SUCCESS) {
        *refresh_error = CLERK_REFRESH_FETCH_ERROR;
        *detail = apr_pstrcat(p, REFRESH_WHAT ": ", resp.error, NULL);
        return CLERK_BAPI_UNAVAILABLE;
    }
    return clerk_refresh_answer(p, resp.status, resp.body, resp.len, set_cookies, refresh_error,
                                detail);
}
