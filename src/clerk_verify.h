/*
 * The verification pipeline: the decision @clerk/backend makes for a token,
 * with the module's stricter rules (README: "Security notes").  Pure: no I/O, no clock of
 * its own, no logging; the caller supplies keys, options and the time.
 *
 * Order: JWS structure and header (alg allow-list) -> key by kid and
 * signature -> payload JSON -> token type (and whether it is accepted here)
 * -> typ/cat for that type -> sub, aud, azp, iss, exp, nbf, iat -> sts.
 * Nothing from the payload is used before the signature verified.
 */
#ifndef CLERK_VERIFY_H
#define CLERK_VERIFY_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "clerk_claims.h"
#include "clerk_jws.h"
#include "clerk_key.h"
#include "clerk_reason.h"

/* Clerk header "cat" values (backend/src/tokens/jwtCategories.ts). */
#define CLERK_CAT_SESSION  "cl_B7d4PD111AAA"
#define CLERK_CAT_TEMPLATE "cl_B7d4PD222AAA"
#define CLERK_CAT_M2M      "cl_B7d4PD333AAA"
#define CLERK_CAT_IGNORE   "cl_I7d4PD111III"

typedef struct clerk_verify_opts {
    /* accepted "iss" values, exact match; NULL or empty: not checked */
    const apr_array_header_t *issuers;
    /* "azp" allow-list for session tokens; when non-empty "azp" is required */
    const apr_array_header_t *authorized_parties;
    /* when non-empty "aud" is required and must contain one of these */
    const apr_array_header_t *audiences;
    apr_int64_t clock_skew;             /* seconds, applied to exp, nbf, iat */
    int allow_pending;                  /* sts: pending counts as signed in */
    unsigned accept_types;              /* CLERK_TYPE_* bits */
    apr_size_t max_token_len;           /* 0: CLERK_TOKEN_MAX_LEN */
} clerk_verify_opts_t;

/* ClerkClockSkew / --clock-skew: the default (Clerk's 5 s) and the largest. */
#define CLERK_DEFAULT_CLOCK_SKEW 5
#define CLERK_MAX_CLOCK_SKEW 3600

/*
 * The type of a JWT from its header typ/cat and payload, as Clerk's SDK
 * classifies it (getMachineTokenType): a machine subject (mch_) -> M2M; then
 * an RFC 9068 typ -> OAuth; then the M2M category -> M2M; else a session token.
 */
clerk_token_type_t clerk_token_classify(const char *typ, const char *cat, const json_t *payload);

/*
 * Whether a JWS header's cat lets it be a session token (or a handshake
 * token, which Clerk mints in the session category): cat absent,
 * cl_B7d4PD111AAA or cl_I7d4PD111III.  Any other cat, whatever its JSON type,
 * marks another class (isNonSessionJwtCategory).
 */
int clerk_session_category(const clerk_jws_t *jws);

/* Whether s is an origin as browsers send it: scheme://host[:port], nothing after. */
int clerk_is_origin(const char *s);

/* Defaults of the contract: skew CLERK_DEFAULT_CLOCK_SKEW, session tokens only. */
void clerk_verify_opts_init(clerk_verify_opts_t *opts);

/*
 * The settings of a section (the module's directives, or clerk-jwt verify's
 * options of the same names), each possibly unset.
 */
typedef struct clerk_verify_settings {
    const apr_array_header_t *issuers;          /* ClerkIssuer; NULL: unset; empty: off */
    const apr_array_header_t *instance_issuers; /* the publishable key's issuer, or NULL */
    const apr_array_header_t *authorized_parties, *audiences;   /* NULL: unset */
    int clock_skew;                             /* -1: unset */
    int allow_pending;                          /* -1: unset */
    unsigned accept_types;                      /* 0: unset */
} clerk_verify_settings_t;

/* Where the issuers in force came from. */
typedef enum {
    CLERK_ISSUERS_UNCHECKED,        /* neither ClerkIssuer nor a publishable key */
    CLERK_ISSUERS_OFF,              /* ClerkIssuer off */
    CLERK_ISSUERS_CONFIGURED,       /* ClerkIssuer <url>... */
    CLERK_ISSUERS_INSTANCE,         /* the publishable key's Frontend API */
} clerk_issuer_source_t;

/*
 * The verification options of settings, defaults applied: a ClerkIssuer
 * setting (also "off") wins over the publishable key's issuer.  The module
 * and clerk-jwt decide through this one function.
 */
clerk_issuer_source_t clerk_verify_opts_from_settings(const clerk_verify_settings_t *s,
                                                      clerk_verify_opts_t *opts);

typedef struct clerk_verify_result {
    clerk_reason_t reason;
    const char *detail;                 /* for the debug log; never token text */
    const char *kid;                    /* the token's kid, when it parsed */
    clerk_claims_t *claims;             /* set only when reason == CLERK_OK */
} clerk_verify_result_t;

/*
 * Verify token (len bytes) against key set ks at time now (Unix seconds).
 * ks may be NULL: the result is then CLERK_JWK_FAILED_TO_RESOLVE.
 */
void clerk_verify_token(apr_pool_t *p, const char *token, apr_size_t len,
                        const clerk_keyset_t *ks, const clerk_verify_opts_t *opts,
                        apr_int64_t now, clerk_verify_result_t *res);

#endif
