/*
 * Require clerk-* arguments, parsed once at configuration time, and their
 * evaluation against a claims model.  Matching follows Clerk's has(): roles
 * and permissions compare with the "org:" prefix normalised on both sides
 * (permissions: requested side only, stored as issued), and need an active
 * organization; features and plans read the v2 "fea"/"pla" scopes.
 */
#ifndef CLERK_POLICY_H
#define CLERK_POLICY_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "clerk_claims.h"

typedef enum {
    CLERK_REQUIRE_USER,
    CLERK_REQUIRE_ORG,
    CLERK_REQUIRE_ORG_ROLE,
    CLERK_REQUIRE_ORG_PERMISSION,
    CLERK_REQUIRE_FEATURE,
    CLERK_REQUIRE_PLAN,
    CLERK_REQUIRE_MACHINE,
    CLERK_REQUIRE_SCOPE,
    CLERK_REQUIRE_TOKEN_TYPE,
    CLERK_REQUIRE_CLAIM,
} clerk_require_kind_t;

typedef struct clerk_require {
    clerk_require_kind_t kind;
    apr_array_header_t *values;     /* const char *, normalised at parse time */
    apr_array_header_t *claim_path; /* CLAIM: the dotted name split into parts */
    unsigned types;                 /* TOKEN_TYPE: CLERK_TYPE_* bits */
} clerk_require_t;

/* "clerk-org-role" etc. for a kind (the provider name). */
const char *clerk_require_name(clerk_require_kind_t kind);

/*
 * Parse the arguments of one Require line (shell-like words, quotes
 * allowed).  Returns NULL on success, or an error message naming what is
 * wrong.  Kinds that need arguments refuse an empty line; clerk-org and
 * clerk-machine accept none (then any active org / any machine matches).
 */
const char *clerk_require_parse(apr_pool_t *p, clerk_require_kind_t kind,
                                const char *args, clerk_require_t **out);

/*
 * A claim name or dotted path ("org.id": member "id" of the object "org"),
 * split into its parts, as clerk-claim reads it; NULL, or the error.
 */
const char *clerk_claim_path_parse(apr_pool_t *p, const char *name, apr_array_header_t **path);

/* The value at a parsed path in a payload, or NULL. */
const json_t *clerk_claim_find(const apr_array_header_t *path, const json_t *payload);

/* 1 when the claims satisfy the requirement. */
int clerk_require_match(const clerk_require_t *req, const clerk_claims_t *claims);

/* "org:" + value with any leading "org:" prefixes removed (Clerk's has()). */
const char *clerk_org_prefixed(apr_pool_t *p, const char *value);

#endif
