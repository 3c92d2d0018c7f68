/*
 * Clerk's Backend API for what cannot be verified locally: opaque machine
 * tokens (mt_ M2M tokens, oat_ OAuth access tokens, ak_ API keys), as
 * @clerk/backend does it (M2MTokenApi, IdPOAuthAccessTokenApi, APIKeysApi):
 * a POST to <api>/m2m_tokens/verify, /oauth_applications/access_tokens/verify
 * or /api_keys/verify with the token in a JSON body and the secret key as a
 * Bearer token.  The answer becomes the same claims model a JWT gives.
 * Also the two browser-session calls: a handshake nonce's payload and the
 * silent refresh of an expired session token.
 */
#ifndef CLERK_BACKEND_API_H
#define CLERK_BACKEND_API_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "clerk_claims.h"
#include "clerk_http.h"
#include "clerk_jws.h" /* CLERK_TOKEN_MAX_LEN */
#include "clerk_opaque_token.h" /* clerk_opaque_token_type, for this API's callers */
#include "clerk_verify.h"

/* Clerk-API-Version sent with every Backend API call. */
#define CLERK_BACKEND_API_VERSION "2026-05-12"

#define CLERK_DEFAULT_API_URL "https://api.clerk.com"

/* "Authorization: Bearer <secret>" and "Clerk-API-Version": every call's headers. */
apr_array_header_t *clerk_backend_api_headers(apr_pool_t *p, const char *secret);

typedef enum {
    CLERK_BAPI_ANSWERED = 0,    /* res->reason says valid or why not */
    CLERK_BAPI_UNAVAILABLE,     /* no usable answer: the caller answers 503 */
    CLERK_BAPI_SECRET_REJECTED, /* 401: the configured secret key is wrong */
} clerk_bapi_outcome_t;

/*
 * Verify an opaque token of the given type; a malformed one
 * (clerk_opaque_token_wellformed) is token-invalid without a call.  audiences
 * (may be NULL) apply to
 * OAuth tokens as in Clerk's SDK.  On CLERK_BAPI_ANSWERED, res is filled as
 * clerk_verify_token would (claims on success), and *answer_body (when not
 * NULL) is Clerk's answer of a 200, to be given to clerk_backend_opaque_answer
 * again (the shared cache keeps it).  *detail explains the other outcomes for
 * the log (never the token or the secret).
 */
clerk_bapi_outcome_t clerk_backend_verify_opaque(apr_pool_t *p, clerk_http_t *http,
                                                 const char *api_url, const char *secret,
                                                 const char *token, clerk_token_type_t type,
                                                 const apr_array_header_t *audiences,
                                                 apr_int64_t now, clerk_verify_result_t *res,
                                                 const char **detail, const char **answer_body);

/*
 * The verdict of a Backend API verification answer (a 200's JSON body), as
 * clerk_backend_verify_opaque decides it at now: CLERK_BAPI_ANSWERED with res,
 * or CLERK_BAPI_UNAVAILABLE when it is not a JSON object (*err says why).
 */
clerk_bapi_outcome_t clerk_backend_opaque_answer(apr_pool_t *p, const char *body, apr_size_t len,
                                                 clerk_token_type_t type,
                                                 const apr_array_header_t *audiences,
                                                 apr_int64_t now, clerk_verify_result_t *res,
                                                 const char **err);

/*
 * A handshake nonce (__clerk_handshake_nonce) resolved to its Set-Cookie
 * directives: GET <api>/v1/clients/handshake_payload?nonce=…  A malformed
 * nonce is never sent (CLERK_BAPI_UNAVAILABLE, *detail says why).
 */
clerk_bapi_outcome_t clerk_backend_handshake_payload(apr_pool_t *p, clerk_http_t *http,
                                                     const char *api_url, const char *secret,
                                                     const char *nonce,
                                                     apr_array_header_t **directives,
                                                     const char **detail);

/*
 * Silent refresh: an expired session token exchanged for new session
 * cookies, as @clerk/backend's authenticateRequest does it (request.ts
 * refreshToken/attemptRefresh, SessionApi.refreshSession):
 *
 *   POST <api>/v1/sessions/<sid>/refresh[?suffixed_cookies=true]
 *   {"format":"cookie","expired_token":…,"refresh_token":…,
 *    "request_origin":…,"request_headers":{"<name>":["<value>"],…}}
 *
 * answered by {"object":"cookies","cookies":["<Set-Cookie value>",…]}.
 *
 * The caller calls this only after local verification of the session token
 * (its signature with the instance's keys, then its claims) said
 * token-expired, on a GET that carries the suffixed __refresh_<suffix>
 * cookie: the SDK refreshes only then (isRequestEligibleForRefresh), and
 * its verifyToken reports an expiry only once the signature is valid.  The
 * sid is therefore read from the expired token without checking its
 * signature again, and used for nothing but the URL path.
 *
 * *refresh_error, set on every failure, is the SDK's reason, for the
 * handshake reason session-token-expired-refresh-<refresh_error>: one of
 * the CLERK_REFRESH_* strings below or the code of the first error of
 * Clerk's error answer.  The SDK handshakes on every failure, whatever the
 * outcome below.
 */

/* The SDK's RefreshTokenErrorReason values on this path (request.ts). */
#define CLERK_REFRESH_INVALID_SESSION_TOKEN "invalid-session-token"
#define CLERK_REFRESH_MISSING_API_CLIENT "missing-api-client"
#define CLERK_REFRESH_MISSING_SESSION_TOKEN "missing-session-token"
#define CLERK_REFRESH_MISSING_REFRESH_TOKEN "missing-refresh-token"
#define CLERK_REFRESH_DECODE_FAILED "expired-session-token-decode-failed"
#define CLERK_REFRESH_MISSING_SID "expired-session-token-missing-sid-claim"
#define CLERK_REFRESH_FETCH_ERROR "fetch-error"
#define CLERK_REFRESH_UNEXPECTED_SDK_ERROR "unexpected-sdk-error"
#define CLERK_REFRESH_UNEXPECTED_BAPI_ERROR "unexpected-bapi-error"

/*
 * Bounds on what is sent and accepted.  A refresh token is a cookie value
 * (the SDK's tests use any string): RFC 6265 cookie-octets, at most 1024.
 * A session id is "sess_" and 1..64 letters or digits (Clerk's are 27).
 * Request headers: Apache's defaults (LimitRequestFields 100,
 * LimitRequestFieldSize 8190) and 32 KiB in all.  Clerk's answer holds a
 * few cookies (__session, __session_<suffix>, __client_uat and the like),
 * each at most a session token and its attributes.
 */
#define CLERK_REFRESH_TOKEN_MAX 1024
#define CLERK_SESSION_ID_MAX 64
#define CLERK_REFRESH_ORIGIN_MAX 512
#define CLERK_REFRESH_MAX_HEADERS 100
#define CLERK_REFRESH_HEADER_MAX 8190
#define CLERK_REFRESH_HEADERS_MAX_BYTES (32u * 1024u)
#define CLERK_REFRESH_ANSWER_MAX (64u * 1024u)
#define CLERK_REFRESH_MAX_COOKIES 16
#define CLERK_REFRESH_COOKIE_MAX (CLERK_TOKEN_MAX_LEN + 1024u)
#define CLERK_REFRESH_CODE_MAX 64

typedef struct clerk_refresh_request {
    const char *expired_token;      /* the session token found expired (cookie or header) */
    const char *refresh_token;      /* the __refresh_<suffix> cookie's value */
    const char *request_origin;     /* the request's public origin: scheme://host[:port] */
    /*
     * The request's headers (may be NULL), forwarded as the SDK forwards
     * request.headers: names lower-cased, sorted, repeated ones joined with
     * ", ", values trimmed.  Stricter than the SDK: Cookie, Authorization
     * and Proxy-Authorization are never forwarded (they carry this site's
     * own credentials, the session among them, which the body already
     * sends where Clerk needs it); neither is a header whose name is not an
     * RFC 9110 token or whose value is not printable ASCII (JSON needs
     * UTF-8 and Node would reinterpret the bytes as Latin-1), nor what
     * exceeds the bounds above (the rest still goes).
     */
    const apr_table_t *headers;
    int suffixed_cookies;           /* the SDK's usesSuffixedCookies() (clerk_use_suffixed_cookies) */
} clerk_refresh_request_t;

/*
 * Refresh.  On success CLERK_BAPI_ANSWERED, *set_cookies the cookies to
 * set on the response (const char * Set-Cookie values as Clerk sent them,
 * at least one __session… among them: clerk_refresh_session_token) and
 * *refresh_error NULL.  Otherwise *set_cookies stays NULL and
 * *refresh_error is set:
 *  - CLERK_BAPI_ANSWERED: refused without a call (clerk_refresh_refusal),
 *    or Clerk answered 4xx (its error code) or 2xx without a usable cookie;
 *  - CLERK_BAPI_SECRET_REJECTED: HTTP 401 or 403;
 *  - CLERK_BAPI_UNAVAILABLE: no answer in time (fetch-error), a 5xx or
 *    other status, or a 2xx body that is not JSON or not what this code
 *    accepts (see clerk_refresh_answer).
 * *detail explains any failure for the log, never with a token, a cookie
 * value or the secret.
 */
clerk_bapi_outcome_t clerk_backend_refresh_session(apr_pool_t *p, clerk_http_t *http,
                                                   const char *api_url, const char *secret,
                                                   const clerk_refresh_request_t *req,
                                                   apr_array_header_t **set_cookies,
                                                   const char **refresh_error,
                                                   const char **detail);

/*
 * Why the SDK would refuse to refresh without a call, in its order (no
 * secret key: missing-api-client; then missing-session-token,
 * missing-refresh-token, expired-session-token-decode-failed,
 * expired-session-token-missing-sid-claim), or NULL with *sid set.  So that
 * the caller can do this before it charges the Backend API budget.
 * Stricter than the SDK, which sends whatever it finds: a refresh token
 * outside CLERK_REFRESH_TOKEN_MAX cookie-octets is missing-refresh-token,
 * a sid that is not sess_[A-Za-z0-9]{1,64} is
 * expired-session-token-missing-sid-claim, a token is decoded as strict
 * base64url with JSON-object header and payload, and a malformed
 * request_origin is unexpected-sdk-error (the caller's bug).
 */
const char *clerk_refresh_refusal(apr_pool_t *p, const char *secret,
                                  const clerk_refresh_request_t *req, const char **sid,
                                  const char **detail);

/* The JSON body of the refresh call for a request clerk_refresh_refusal let through
 * (exported for the unit tests). */
char *clerk_refresh_body(apr_pool_t *p, const clerk_refresh_request_t *req);

/*
 * Clerk's answer to the refresh call, as clerk_backend_refresh_session
 * reports it (exported for the unit tests and the fuzzer).  As the SDK
 * (api/request.ts, tokens/request.ts): 204 is unexpected-bapi-error; any
 * other 2xx is read as JSON (not JSON: fetch-error) and its "cookies" used (none: unexpected-sdk-error;
 * no __session… cookie with a value: invalid-session-token); any other
 * status gives the "code" of the first of its "errors" (unexpected_error:
 * fetch-error; none: unexpected-bapi-error; empty: unexpected-sdk-error).
 * Stricter: a code that is not 1..64 of [A-Za-z0-9_-] is
 * unexpected-bapi-error, and a 2xx answer is refused
 * (unexpected-bapi-error) when its cookies are not all strings that can be
 * sent as a header (no control character, at most CLERK_REFRESH_COOKIE_MAX)
 * or more than CLERK_REFRESH_MAX_COOKIES; a body over
 * CLERK_REFRESH_ANSWER_MAX is fetch-error.
 */
clerk_bapi_outcome_t clerk_refresh_answer(apr_pool_t *p, int status, const char *body,
                                          apr_size_t len, apr_array_header_t **set_cookies,
                                          const char **refresh_error, const char **detail);

/*
 * The new session token among Set-Cookie values, as the SDK finds it: the
 * value (up to the first ';' or next '=') of the last cookie whose name
 * starts with "__session"; NULL when there is none or its value is empty.
 * The caller verifies it as any session token (failure:
 * invalid-session-token) before it signs the request in with it.
 */
const char *clerk_refresh_session_token(apr_pool_t *p, const apr_array_header_t *set_cookies);

/*
 * The claims model from a Backend API verification answer (exported for the
 * unit tests and the fuzzer).
 */
clerk_reason_t clerk_claims_from_bapi(apr_pool_t *p, json_t *answer, clerk_token_type_t type,
                                      const apr_array_header_t *audiences, apr_int64_t now,
                                      clerk_claims_t **out, const char **detail);

#endif
