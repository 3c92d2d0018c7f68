/*
 * The claims model: one normalised view of a verified token, whatever its
 * type (session v1/v2, M2M, OAuth) — what Require providers match against
 * and what the application is given.  Built once per verified token; only
 * read afterwards, so it may be shared between threads once built.
 */
#ifndef CLERK_CLAIMS_H
#define CLERK_CLAIMS_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>

#include "clerk_reason.h"

typedef enum {
    CLERK_TYPE_SESSION = 1,
    CLERK_TYPE_M2M = 2,
    CLERK_TYPE_OAUTH = 4,
    CLERK_TYPE_API_KEY = 8,
} clerk_token_type_t;

#define CLERK_TYPE_ALL (CLERK_TYPE_SESSION | CLERK_TYPE_M2M | CLERK_TYPE_OAUTH | CLERK_TYPE_API_KEY)

/* "session_token", "m2m_token", "oauth_token", "api_key". */
const char *clerk_token_type_name(clerk_token_type_t type);
/* The type named, or 0 when the name is not one. */
clerk_token_type_t clerk_token_type_from_name(const char *name);

/* The active organization, normalised from v1 claims or v2 "o". */
typedef struct clerk_org {
    const char *id, *slug;
    const char *role;                   /* v1 as issued; v2 "org:" + o.rol */
    /* const char * permissions in SDK order; NULL when no org is active */
    apr_array_header_t *permissions;
} clerk_org_t;

typedef struct clerk_claims {
    clerk_token_type_t type;
    json_t *payload;                    /* the verified payload, owned by the pool */
    const char *payload_text;           /* the payload as signed when it is compact JSON, or NULL */
    const char *sub, *sid, *sts, *iss, *azp, *jti;
    const char *actor_sub;              /* act.sub while impersonating */
    apr_int64_t exp, iat;
    int has_iat;
    const char *user_id;                /* sub of a user token (user_…) */
    clerk_org_t org;
    const char *features, *plans;       /* v2 "fea" and "pla" as issued */
    const char *machine_id;             /* M2M: sub (mch_…) */
    apr_array_header_t *scopes;         /* const char *; NULL when none */
    /*
     * Sessions: "fva", the minutes since the first and the second factor
     * were verified (rounded down), CLERK_FACTOR_NEVER for a factor never
     * verified or not enrolled; has_fva is 0 without a well-formed pair.
     */
    int has_fva;
    apr_int64_t fva[2];
} clerk_claims_t;

/* An "fva" age: the factor was never verified, or is not enrolled. */
#define CLERK_FACTOR_NEVER -1

/*
 * Build the model from a verified payload.  Fails with CLERK_TOKEN_INVALID
 * (and *detail) where Clerk's SDK cannot build an auth object either, such
 * as a v2 "fea" entry without a scope.
 */
clerk_reason_t clerk_claims_build(apr_pool_t *p, json_t *payload, clerk_token_type_t type,
                                  clerk_claims_t **out, const char **detail);

/* Whether a payload carries Clerk's v2 claims: "v" is the number 2. */
int clerk_claims_are_v2(const json_t *payload);

/*
 * The organization from v1 (org_id, org_slug, org_role, org_permissions) or
 * v2 (v == 2 as a number, "o", "fea") claims, exactly as @clerk/backend
 * expands it: v2 permissions from the o.per names and the decimal o.fpm
 * bitmasks (any length), aligned with the org-scoped features of "fea".
 */
clerk_reason_t clerk_org_from_payload(apr_pool_t *p, const json_t *payload,
                                      clerk_org_t *org, const char **detail);

/*
 * Split a v2 "fea"/"pla" list into its org-scoped and user-scoped names
 * (scopes o, u, ou, uo; unknown scopes are ignored, as in Clerk's SDK).
 * Either output may be NULL.  Fails when an entry has no ':'.
 */
clerk_reason_t clerk_split_by_scope(apr_pool_t *p, const char *list,
                                    apr_array_header_t **org_names,
                                    apr_array_header_t **user_names);

#endif
