/*
 * The decision for one request, in the spirit of Clerk's authenticateRequest
 * (@clerk/backend tokens/request.ts): a plain view of the request and the
 * settings of its section in, one outcome out.  The module (AuthType Clerk)
 * and "clerk-jwt authenticate" both decide through clerk_authenticate_request,
 * so the CLI shows the module's verdict, and the whole table (token finding,
 * opaque-token routing, the browser handshake flow, ClerkSignedOutAction, the
 * REMOTE_USER rule) is unit-tested without httpd.
 *
 * What needs the caller's world (keys of a network cache, the token cache,
 * the Backend API and its budget) is asked for through clerk_auth_ops_t; the
 * decision itself has no I/O, no clock of its own and no logging.  What it
 * found out comes back in the outcome: the HTTP answer to give, the claims,
 * a detail for the debug log and warnings (never token text in either).
 *
 * Two flows, as the module's README describes them:
 *  - a token section: the token where the section's sources allow (the
 *    Authorization header wins, even when invalid; then the instance's
 *    suffixed session cookie, then __session; cookies only carry session
 *    tokens), verified locally (JWT) or through the Backend API (opaque);
 *  - a browser section (ClerkSignedOutAction handshake with a publishable
 *    key): the Authorization header; else a handshake result (a nonce, or a
 *    signed handshake token); else the __session / __client_uat pair chosen
 *    by Clerk's suffix rules and its decision table (clerk_handshake.h).
 */
#ifndef CLERK_AUTHENTICATE_H
#define CLERK_AUTHENTICATE_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "clerk_claims.h"
#include "clerk_key.h"
#include "clerk_org_sync.h"
#include "clerk_publishable_key.h"
#include "clerk_reason.h"

/* Where a token may come from (ClerkTokenSource). */
#define CLERK_FROM_HEADER 1u
#define CLERK_FROM_COOKIE 2u

/* What a signed-out request gets (ClerkSignedOutAction). */
typedef enum {
    CLERK_SIGNED_OUT_DENY,          /* 401 */
    CLERK_SIGNED_OUT_PASS,          /* anonymous: the application decides */
    CLERK_SIGNED_OUT_REDIRECT,      /* a page view goes to the sign-in URL */
    CLERK_SIGNED_OUT_HANDSHAKE,     /* Clerk's browser flow (needs the instance) */
} clerk_signed_out_action_t;

/* The request as the decision sees it; NULL for whatever is absent. */
typedef struct clerk_request_view {
    const char *method;
    const char *url;                /* the public URL, as the client sees it */
    const char *host;               /* the public host (what cookies are scoped to) */
    const char *authorization;      /* the Authorization header */
    const char *cookies;            /* the Cookie header */
    const char *sec_fetch_dest, *accept;
    /* the handshake result parameters, taken out of the query by the caller */
    const char *handshake;          /* __clerk_handshake */
    const char *handshake_nonce;    /* __clerk_handshake_nonce */
    /*
     * The session a handshake result set earlier in this request (an
     * internal redirect or subrequest of the request that resolved it: the
     * browser still sent its old cookies).
     */
    const char *earlier_handshake_session;
    const char *referer;            /* the Referer header (the cross-origin check) */
    apr_int64_t now;                /* the time, Unix seconds (the decision has no clock) */
    const char *dev_browser;        /* __clerk_db_jwt from the query, taken out by the caller */
} clerk_request_view_t;

/* The section's settings, defaults applied. */
typedef struct clerk_auth_settings {
    unsigned sources;                   /* CLERK_FROM_* bits */
    unsigned accept_types;              /* CLERK_TYPE_* bits */
    clerk_signed_out_action_t signed_out;
    const char *sign_in_url;            /* for CLERK_SIGNED_OUT_REDIRECT */
    const char *remote_user_claim;      /* NULL: the default */
    const clerk_publishable_key_t *instance;    /* NULL: none */
    const char *session_cookie;         /* the instance's __session_<suffix> */
    const char *uat_cookie;             /* its __client_uat_<suffix> */
    const char *frontend_api_base;      /* handshake base: ClerkProxyURL or https://<fapi> */
    /*
     * The host whose tokens are this instance's own (Clerk's
     * originalFrontendApi): the publishable key's Frontend API, or
     * clerk.<ClerkDomain> for a production satellite.
     */
    const char *instance_fapi;
    int has_secret;                     /* ClerkSecretKey: opaque tokens, nonces, refresh */
    int has_machine_secret;             /* ClerkMachineSecretKey: opaque M2M tokens */
    /* satellite domains (ClerkIsSatellite, ClerkSignInURL, ClerkSatelliteAutoSync) */
    int satellite;
    const char *satellite_sign_in_url;
    int satellite_auto_sync;
    /* origins a development primary may send a syncing satellite back to */
    const apr_array_header_t *authorized_parties;
    /* organization URLs (ClerkOrganizationSyncPattern, ClerkPersonalAccountPattern), or NULL */
    const clerk_org_sync_t *org_sync;
} clerk_auth_settings_t;

/* How a question to the caller ended. */
typedef enum {
    CLERK_STEP_DONE,            /* answered */
    CLERK_STEP_UNAVAILABLE,     /* no answer now: 503 after *retry_after seconds */
    CLERK_STEP_BROKEN,          /* the section cannot decide (its configuration): 500 */
} clerk_step_t;

/* What a session refresh through the Backend API gave. */
typedef struct clerk_refresh_result {
    apr_array_header_t *set_cookies;    /* the new cookies (const char *), or NULL */
    const char *error;                  /* else Clerk's refresh error, e.g. "fetch-error" */
} clerk_refresh_result_t;

/*
 * The caller's side.  carrier names where a token came from for its log
 * ("header", "cookie", "handshake").  A DONE verification sets *reason, and
 * *claims when CLERK_OK; the claims must live as long as the outcome's pool.
 */
typedef struct clerk_auth_ops {
    void *ctx;
    /*
     * A JWT, with the section's keys, under accept_types; clock_skew -1 for
     * the section's, else these seconds (Clerk's one-day retry of a
     * development handshake).
     */
    clerk_step_t (*verify_jwt)(void *ctx, const char *token, unsigned accept_types,
                               apr_int64_t clock_skew, const char *carrier,
                               clerk_claims_t **claims, clerk_reason_t *reason,
                               apr_int64_t *retry_after);
    /*
     * A well-formed opaque token of an accepted type, through the Backend
     * API (with the machine secret for an M2M token when the section has
     * one): its verdict, as verify_jwt.
     */
    clerk_step_t (*check_opaque)(void *ctx, const char *token, clerk_token_type_t type,
                                 const char *carrier, clerk_claims_t **claims,
                                 clerk_reason_t *reason, apr_int64_t *retry_after);
    /* The section's keys for a handshake token (*keys; release with release_keys). */
    clerk_step_t (*acquire_keys)(void *ctx, const clerk_keyset_t **keys, void **hold,
                                 apr_int64_t *retry_after);
    void (*release_keys)(void *ctx, void *hold);
    /*
     * A well-formed handshake nonce (only asked when has_secret): DONE with
     * *directives (NULL when there are none to use, *detail says why).
     */
    clerk_step_t (*exchange_nonce)(void *ctx, const char *nonce,
                                   apr_array_header_t **directives, const char **detail,
                                   apr_int64_t *retry_after);
    /*
     * Clerk's silent refresh (only asked when has_secret, on a GET with a
     * refresh cookie, for a session whose signature verified and which has
     * expired): POST /v1/sessions/{sid}/refresh.  DONE with *result.
     */
    clerk_step_t (*refresh_session)(void *ctx, const char *expired_token,
                                    const char *refresh_token, int suffixed_cookies,
                                    clerk_refresh_result_t *result, apr_int64_t *retry_after);
} clerk_auth_ops_t;

/*
 * The states.  A SIGNED_IN, SIGNED_OUT or ANONYMOUS outcome with a location
 * is answered with a 307 to it (a development handshake's result sends the
 * browser to the URL without the handshake parameters, as Clerk's SDK does).
 */
typedef enum {
    CLERK_AUTH_SIGNED_IN,           /* claims and user: let it through */
    CLERK_AUTH_SIGNED_OUT,          /* 401 with WWW-Authenticate */
    CLERK_AUTH_ANONYMOUS,           /* signed out, let through without a user */
    CLERK_AUTH_SIGN_IN_REDIRECT,    /* 302 to location */
    CLERK_AUTH_HANDSHAKE,           /* 307 to location (the Frontend API handshake) */
    CLERK_AUTH_UNAVAILABLE,         /* 503 with Retry-After: retry_after */
    CLERK_AUTH_BROKEN,              /* 500: the section cannot decide */
} clerk_auth_state_t;

typedef struct clerk_auth_outcome {
    clerk_auth_state_t state;
    /*
     * CLERK_OK when signed in; the signed-out reason otherwise (also for
     * ANONYMOUS and the sign-in redirect); CLERK_JWK_FAILED_TO_RESOLVE when
     * UNAVAILABLE for want of keys, else CLERK_OK.
     */
    clerk_reason_t reason;
    const char *handshake_reason;   /* HANDSHAKE: Clerk's __clerk_hs_reason */
    /*
     * Clerk's reason for the state, as its SDK's X-Clerk-Auth-Reason says it
     * (e.g. session-token-and-uat-missing), and its message; NULL when the
     * reason above says it all.
     */
    const char *sdk_reason;
    const char *message;
    int handshake_resolved;         /* a handshake result was used (clerk_auth_cors_headers) */
    clerk_claims_t *claims;         /* SIGNED_IN */
    const char *user;               /* SIGNED_IN: REMOTE_USER */
    const char *token;              /* the token decided on, or NULL */
    const char *carrier;            /* where it came from */
    const char *location;           /* the redirects */
    apr_int64_t retry_after;        /* UNAVAILABLE, at least 1 */
    /* Set-Cookie values to send with the answer, whatever its state */
    apr_array_header_t *set_cookies;
    /* the session a handshake result set in this request, or NULL */
    const char *handshake_session;
    const char *detail;             /* for the debug log: why, never token text */
    apr_array_header_t *warnings;   /* for the log at warning level (const char *) */
} clerk_auth_outcome_t;

/* The decision for view under s, asking ops; everything allocated in p. */
void clerk_authenticate_request(apr_pool_t *p, const clerk_request_view_t *view,
                                const clerk_auth_settings_t *s, const clerk_auth_ops_t *ops,
                                clerk_auth_outcome_t *out);

/*
 * The headers Clerk's SDK answers a resolved handshake with (handshake.ts
 * resolveHandshake): name, value, name, value, ..., NULL.
 */
extern const char *const clerk_auth_cors_headers[];

/* "signed-in", "signed-out", "handshake", ... as X-Clerk-Auth-Status and the CLI say it. */
const char *clerk_auth_state_name(clerk_auth_state_t state);

/* Whether a browser section (Clerk's handshake flow) decides this request. */
int clerk_auth_is_browser(const clerk_auth_settings_t *s);

#endif
