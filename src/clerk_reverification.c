#include "clerk_reverification.h"

#include <apr_strings.h>
#include <string.h>

/* The SDK's TYPES_TO_OBJECTS. */
static const clerk_reverification_t presets[] = {
    {"strict_mfa", CLERK_MULTI_FACTOR, 10},
    {"strict", CLERK_SECOND_FACTOR, 10},
    {"moderate", CLERK_SECOND_FACTOR, 60},
    {"lax", CLERK_SECOND_FACTOR, 1440},
};

static const char *const level_names[] = {
    [CLERK_FIRST_FACTOR] = "first_factor",
    [CLERK_SECOND_FACTOR] = "second_factor",
    [CLERK_MULTI_FACTOR] = "multi_factor",
};

#define PRESET_NAMES "strict_mfa, strict, moderate, lax"
#define LEVEL_NAMES "first_factor, second_factor, multi_factor"

const char *clerk_factor_level_name(clerk_factor_level_t level)
{
    return level_names[level];
}

static int level_named(const char *name, clerk_factor_level_t *level)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
        if (!strcmp(level_names[i], name)) {
            *level = (clerk_factor_level_t)i;
            return 1;
        }
    return 0;
}

/* Whole minutes, 1 to CLERK_REVERIFICATION_MAX_MINUTES, in decimal digits only. */
static int minutes_of(const char *s, int *minutes)
{
    apr_size_t n = strlen(s);
    int v = 0;

    if (n == 0 || n > 5 || strspn(s, "0123456789") != n)
        return 0;
    for (const char *d = s; *d; d++)
        v = v * 10 + (*d - '0');
    if (v < 1 || v > CLERK_REVERIFICATION_MAX_MINUTES)
        return 0;
    *minutes = v;
    return 1;
}

const char *clerk_reverification_parse(apr_pool_t *p, const char *args,
                                       const clerk_reverification_t **out)
{
    clerk_reverification_t *cfg;
    clerk_factor_level_t level;
    char **argv;
    int argc = 0;

    if (apr_tokenize_to_argv(args ? args : "", &argv, p) != APR_SUCCESS)
        return "cannot split the arguments";
    while (argv[argc])
        argc++;
    if (argc == 0)
        return "needs a preset (" PRESET_NAMES ") or a level (" LEVEL_NAMES ") and minutes";
    if (argc > 2)
        return "takes one preset, or one level and its minutes";
    if (argc == 1) {
        for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++)
            if (!strcmp(presets[i].preset, argv[0])) {
                *out = &presets[i];
                return NULL;
            }
        if (level_named(argv[0], &level))
            return apr_psprintf(p, "the level %s needs its minutes (e.g. %s 10)", argv[0],
                                argv[0]);
        return apr_psprintf(p, "'%s' is not a preset (" PRESET_NAMES ") or a level ("
                            LEVEL_NAMES ")", argv[0]);
    }
    if (!level_named(argv[0], &level))
        return apr_psprintf(p, "'%s' is not a level (" LEVEL_NAMES ")", argv[0]);
    cfg = apr_pcalloc(p, sizeof(*cfg));
    cfg->level = level;
    if (!minutes_of(argv[1], &cfg->after_minutes))
        return apr_psprintf(p, "'%s' is not a number of minutes from 1 to %d", argv[1],
                            CLERK_REVERIFICATION_MAX_MINUTES);
    *out = cfg;
    return NULL;
}

int clerk_reverification_check(const clerk_reverification_t *cfg, const apr_int64_t *fva)
{
    int first_fresh, second_fresh;

    if (!fva)
        return 0;
    /* nothing enrolled: nothing can be verified (fail closed) */
    if (fva[0] == CLERK_FACTOR_NEVER && fva[1] == CLERK_FACTOR_NEVER)
        return 0;
    first_fresh = fva[0] != CLERK_FACTOR_NEVER && cfg->after_minutes > fva[0];
    second_fresh = fva[1] != CLERK_FACTOR_NEVER && cfg->after_minutes > fva[1];
    switch (cfg->level) {
    case CLERK_FIRST_FACTOR:
        return first_fresh;
    case CLERK_SECOND_FACTOR:
        /* the SDK's graceful downgrade: without a second factor, the first counts */
        return fva[1] == CLERK_FACTOR_NEVER ? first_fresh : second_fresh;
    case CLERK_MULTI_FACTOR:
        /* without a second factor the first counts; a second factor alone cannot do */
        if (fva[1] == CLERK_FACTOR_NEVER)
            return first_fresh;
        return first_fresh && second_fresh;
    }
    return 0;
}

int clerk_reverification_grants(const clerk_reverification_t *cfg, const clerk_claims_t *c)
{
    /* has() is false without a user; machine tokens have no factors */
    if (c->type != CLERK_TYPE_SESSION || !c->user_id || !*c->user_id)
        return 0;
    return clerk_reverification_check(cfg, c->has_fva ? c->fva : NULL);
}

const char *clerk_reverification_error_body(apr_pool_t *p, const clerk_reverification_t *cfg)
{
    /* JSON.stringify's output: no spaces, keys in the SDK's order */
    const char *config = cfg->preset
        ? apr_psprintf(p, "\"%s\"", cfg->preset)
        : apr_psprintf(p, "{\"level\":\"%s\",\"afterMinutes\":%d}", level_names[cfg->level],
                       cfg->after_minutes);

    return apr_pstrcat(p, "{\"clerk_error\":{\"type\":\"forbidden\",\"reason\":"
                       "\"reverification-error\",\"metadata\":{\"reverification\":", config,
                       "}}}", NULL);
}
