/*
 * Reverification, as Clerk's has({reverification}) decides it: is the
 * session's last factor verification ("fva": minutes since the first and
 * the second factor were verified, -1 for none) recent enough for a
 * configuration, one of the SDK's presets or a level with a number of
 * minutes?  And the body clerk-js reads to start reverification when it is
 * not.  The reference is @clerk/shared: src/authorization.ts
 * (TYPES_TO_OBJECTS, validateReverificationConfig,
 * checkReverificationAuthorization) and src/authorization-errors.ts
 * (reverificationError).
 */
#ifndef CLERK_REVERIFICATION_H
#define CLERK_REVERIFICATION_H

#include <apr_pools.h>

#include "clerk_claims.h"

typedef enum {
    CLERK_FIRST_FACTOR,
    CLERK_SECOND_FACTOR,
    /* the second factor where one is enrolled, else the first */
    CLERK_MULTI_FACTOR,
} clerk_factor_level_t;

typedef struct clerk_reverification {
    const char *preset;             /* "strict_mfa", "strict", "moderate", "lax"; NULL: custom */
    clerk_factor_level_t level;
    int after_minutes;              /* a factor is fresh when verified fewer minutes ago */
} clerk_reverification_t;

/*
 * The largest number of minutes a custom configuration may give: the SDK
 * documents afterMinutes as "greater than or equal to 1 and less than
 * 99,999" (types/sessionVerification.ts).
 */
#define CLERK_REVERIFICATION_MAX_MINUTES 99998

/*
 * Parse the arguments of "Require clerk-reverification": one preset, or a
 * level (first_factor, second_factor, multi_factor) and whole minutes from
 * 1 to CLERK_REVERIFICATION_MAX_MINUTES.  Returns NULL on success, or a
 * message naming what is wrong.
 */
const char *clerk_reverification_parse(apr_pool_t *p, const char *args,
                                       const clerk_reverification_t **out);

/*
 * 1 when the factor ages (fva[0] first factor, fva[1] second, in minutes,
 * CLERK_FACTOR_NEVER for none) satisfy cfg; fva NULL (no usable "fva"
 * claim) never does, as in the SDK.
 */
int clerk_reverification_check(const clerk_reverification_t *cfg, const apr_int64_t *fva);

/*
 * has({reverification: cfg}) for a verified token: a session token of a
 * user whose "fva" claim satisfies cfg.
 */
int clerk_reverification_grants(const clerk_reverification_t *cfg, const clerk_claims_t *c);

/*
 * The JSON of reverificationError(config), with config as the SDK's caller
 * passes it to has() and back: the preset's name, or {"level": …,
 * "afterMinutes": …}.
 */
const char *clerk_reverification_error_body(apr_pool_t *p, const clerk_reverification_t *cfg);

/* "first_factor", "second_factor", "multi_factor". */
const char *clerk_factor_level_name(clerk_factor_level_t level);

#endif
