/*
 * Why a token was refused, in Clerk's own vocabulary (@clerk/backend
 * TokenVerificationErrorReason / AuthErrorReason), so that logs and the
 * WWW-Authenticate error_description read the same as Clerk's SDK would.
 */
#ifndef CLERK_REASON_H
#define CLERK_REASON_H

typedef enum {
    CLERK_OK = 0,
    CLERK_SESSION_TOKEN_MISSING,        /* no token in any accepted source */
    CLERK_TOKEN_INVALID,                /* malformed, bad header, bad category */
    CLERK_TOKEN_INVALID_ALGORITHM,      /* alg outside the allow-list or not bound to the key */
    CLERK_TOKEN_INVALID_SIGNATURE,
    CLERK_TOKEN_VERIFICATION_FAILED,    /* sub/exp missing or of the wrong type */
    CLERK_TOKEN_EXPIRED,
    CLERK_TOKEN_NOT_ACTIVE_YET,
    CLERK_TOKEN_IAT_IN_THE_FUTURE,
    CLERK_TOKEN_INVALID_AUTHORIZED_PARTIES,
    CLERK_TOKEN_INVALID_ISSUER,
    CLERK_TOKEN_INVALID_AUDIENCE,
    CLERK_TOKEN_TYPE_MISMATCH,
    CLERK_SESSION_PENDING,              /* sts: pending and pending sessions not allowed */
    CLERK_JWK_KID_MISMATCH,             /* no key in the set for the token's kid */
    CLERK_JWK_FAILED_TO_RESOLVE,        /* no key source at all */
    CLERK_REASON_COUNT
} clerk_reason_t;

/* The reason string, e.g. "token-expired"; never NULL. */
const char *clerk_reason_str(clerk_reason_t reason);

#endif
