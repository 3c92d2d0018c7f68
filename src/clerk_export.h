/*
 * What the application is given about a verified token (README: "What the application sees"): the
 * CLERK_* variable names, their X-Clerk-* header twins, and their values.
 * Shared by the module and by "clerk-jwt verify", so both show the same.
 */
#ifndef CLERK_EXPORT_H
#define CLERK_EXPORT_H

#include <apr_pools.h>
#include <apr_tables.h>

#include <jansson.h>

#include "clerk_claims.h"

typedef struct clerk_var {
    const char *env;        /* CLERK_USER_ID */
    const char *header;     /* X-Clerk-User-Id */
    const char *value;
} clerk_var_t;

/* The variables for c, in contract order; absent claims give no variable. */
apr_array_header_t *clerk_export_vars(apr_pool_t *p, const clerk_claims_t *c);

/*
 * The REMOTE_USER value: the token's subject for "sub", else the named
 * top-level claim when it is a string or an integer; NULL otherwise.
 */
const char *clerk_export_remote_user(apr_pool_t *p, const clerk_claims_t *c,
                                     const char *claim);

/* ClerkRemoteUserClaim's default. */
#define CLERK_DEFAULT_REMOTE_USER_CLAIM "sub"

/*
 * The decision the module and clerk-jwt share: a verified token whose
 * REMOTE_USER claim (claim; NULL: the default) is missing, empty, or neither
 * a string nor an integer is refused, CLERK_TOKEN_VERIFICATION_FAILED with
 * *detail; else CLERK_OK with *user.
 */
clerk_reason_t clerk_export_remote_user_decision(apr_pool_t *p, const clerk_claims_t *c,
                                                 const char *claim, const char **user,
                                                 const char **detail);

/*
 * The identity as JSON, for SetHandler clerk-whoami (and for any other
 * reader that wants the variables as one object): {"signed_in":true,
 * "remote_user":..., and every variable of vars but CLERK_CLAIMS, named by
 * its name without CLERK_ in lower case ("user_id", "org_role", ...) with
 * the variable's value, a string}.  CLERK_CLAIMS is left out on purpose:
 * for an opaque token it is the Backend API's answer, which the client never
 * saw, and custom session claims are meant for the server; the named fields
 * are the identity.  A value that is not valid UTF-8 (never one of verified
 * claims, which clerk_json checked) is left out rather than sent broken.
 * The object belongs to p.
 */
json_t *clerk_export_identity(apr_pool_t *p, const apr_array_header_t *vars,
                              const char *remote_user);

/* {"signed_in":false,"reason":reason}, reason in Clerk's vocabulary; belongs to p. */
json_t *clerk_export_signed_out(apr_pool_t *p, const char *reason);

/* 1 when value may be sent as an HTTP header value (no control characters). */
int clerk_export_header_safe(const char *value);

#endif
