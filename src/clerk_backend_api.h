/*
 * Clerk's Backend API for what cannot be verified locally: opaque machine
 * tokens (mt_ M2M tokens, oat_ OAuth access tokens, ak_ API keys), as
 * @clerk/backend does it (M2MTokenApi, IdPOAuthAccessTokenApi, APIKeysApi):
 * a POST to <api>/m2m_tokens/verify, /oauth_applications/access_tokens/verify
 * or /api_keys/verify with the token in a JSON body and the secret key as a
 * Bearer token.  The answer becomes the same claims model a JWT gives.
 */
#ifndef CLERK_BACKEND_API_H
#define CLERK_BACKEND_API_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "clerk_claims.h"
#include "clerk_http.h"
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
 * clerk_verify_token would (claims on success).  *detail explains the other
 * outcomes for the log (never the token or the secret).
 */
clerk_bapi_outcome_t clerk_backend_verify_opaque(apr_pool_t *p, clerk_http_t *http,
                                                 const char *api_url, const char *secret,
                                                 const char *token, clerk_token_type_t type,
                                                 const apr_array_header_t *audiences,
                                                 apr_int64_t now, clerk_verify_result_t *res,
                                                 const char **detail);

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
 * The claims model from a Backend API verification answer (exported for the
 * unit tests and the fuzzer).
 */
clerk_reason_t clerk_claims_from_bapi(apr_pool_t *p, json_t *answer, clerk_token_type_t type,
                                      const apr_array_header_t *audiences, apr_int64_t now,
                                      clerk_claims_t **out, const char **detail);

#endif
