/*
 * Inside clerk_authenticate_request: what the token flow
 * (clerk_authenticate.c) and the browser flow (clerk_browser_flow.c) share.
 * Not for use outside those two files.
 */
#ifndef CLERK_DECISION_H
#define CLERK_DECISION_H

#include "clerk_authenticate.h"

#define CLERK_SESSION_COOKIE "__session"

/* What one decision carries along. */
typedef struct clerk_decision {
    apr_pool_t *p;
    const clerk_request_view_t *v;
    const clerk_auth_settings_t *s;
    const clerk_auth_ops_t *ops;
    clerk_auth_outcome_t *out;
} clerk_decision_t;

/* A page view a redirect may answer (clerk_handshake_eligible). */
int clerk_decision_navigation(const clerk_request_view_t *v);

/* A cookie of the request (NULL for a NULL name, an absent or repeated cookie). */
const char *clerk_decision_cookie(const clerk_decision_t *d, const char *name);

void clerk_decision_warn(clerk_decision_t *d, const char *text);

/* A question to the caller that got no answer: the request ends with it. */
void clerk_decision_stopped(clerk_decision_t *d, clerk_step_t step, apr_int64_t retry_after,
                            clerk_reason_t reason);

/*
 * Signed out for reason (sdk_reason: Clerk's wording of it, or NULL): what
 * ClerkSignedOutAction makes of it.
 */
void clerk_decision_signed_out(clerk_decision_t *d, clerk_reason_t reason,
                               const char *sdk_reason, const char *detail);

/* A verified token: signed in, when it names a REMOTE_USER. */
void clerk_decision_signed_in(clerk_decision_t *d, clerk_claims_t *claims);

/*
 * A JWT verified through the caller (clock_skew -1: the section's): 1 with
 * *claims / *reason, or 0 when the request has ended (no keys).
 */
int clerk_decision_verify(clerk_decision_t *d, const char *token, unsigned accept,
                          apr_int64_t clock_skew, const char *carrier, clerk_claims_t **claims,
                          clerk_reason_t *reason);

/* An opaque token from the Authorization header, decided on its own. */
void clerk_decision_opaque(clerk_decision_t *d, const char *token, clerk_token_type_t type,
                           unsigned accept, const char *carrier);

/* The browser flow (clerk_browser_flow.c). */
void clerk_browser_flow(clerk_decision_t *d);

#endif
