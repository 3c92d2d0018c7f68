#include "clerk_reason.h"

static const char *const reason_names[CLERK_REASON_COUNT] = {
    [CLERK_OK] = "ok",
    [CLERK_SESSION_TOKEN_MISSING] = "session-token-missing",
    [CLERK_TOKEN_INVALID] = "token-invalid",
    [CLERK_TOKEN_INVALID_ALGORITHM] = "token-invalid-algorithm",
    [CLERK_TOKEN_INVALID_SIGNATURE] = "token-invalid-signature",
    [CLERK_TOKEN_VERIFICATION_FAILED] = "token-verification-failed",
    [CLERK_TOKEN_EXPIRED] = "token-expired",
    [CLERK_TOKEN_NOT_ACTIVE_YET] = "token-not-active-yet",
    [CLERK_TOKEN_IAT_IN_THE_FUTURE] = "token-iat-in-the-future",
    [CLERK_TOKEN_INVALID_AUTHORIZED_PARTIES] = "token-invalid-authorized-parties",
    [CLERK_TOKEN_INVALID_ISSUER] = "token-invalid-issuer",
    [CLERK_TOKEN_INVALID_AUDIENCE] = "token-invalid-audience",
    [CLERK_TOKEN_TYPE_MISMATCH] = "token-type-mismatch",
    [CLERK_SESSION_PENDING] = "session-pending",
    [CLERK_JWK_KID_MISMATCH] = "jwk-kid-mismatch",
    [CLERK_JWK_FAILED_TO_RESOLVE] = "jwk-failed-to-resolve",
};

const char *clerk_reason_str(clerk_reason_t reason)
{
    if ((unsigned)reason >= CLERK_REASON_COUNT)
        return "unexpected-error";
    return reason_names[reason];
}
