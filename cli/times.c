/* clerk-jwt times: NumericDate claims shown as UTC dates and spans from now. */
#include <apr_strings.h>

#include <string.h>
#include <time.h>

#include "cli.h"

apr_int64_t cli_clock_now(void)
{
    return (apr_int64_t)time(NULL);
}

const char *cli_iso_utc(apr_pool_t *p, apr_int64_t t)
{
    struct tm tm;
    time_t tt = (time_t)t;
    char buf[32];

    if (t < -CLI_TIME_LIMIT || t > CLI_TIME_LIMIT || !gmtime_r(&tt, &tm) || tm.tm_year + 1900 < 0)
        return "(out of range)";
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return apr_pstrdup(p, buf);
}

/* n1 unit1 and, when not zero, n2 unit2. */
static const char *two_units(apr_pool_t *p, apr_int64_t n1, const char *u1, apr_int64_t n2,
                             const char *u2)
{
    return n2 ? apr_psprintf(p, "%" APR_INT64_T_FMT "%s %" APR_INT64_T_FMT "%s", n1, u1, n2, u2)
              : apr_psprintf(p, "%" APR_INT64_T_FMT "%s", n1, u1);
}

const char *cli_span(apr_pool_t *p, apr_int64_t s)
{
    if (s < 0)
        s = -s;
    if (s < 60)
        return two_units(p, s, "s", 0, "");
    if (s < 3600)
        return two_units(p, s / 60, "m", s % 60, "s");
    if (s < 86400)
        return two_units(p, s / 3600, "h", (s % 3600) / 60, "m");
    return two_units(p, s / 86400, "d", (s % 86400) / 3600, "h");
}

cli_time_claim_t cli_time_claim(const json_t *payload, const char *name)
{
    cli_time_claim_t t = {0, 0, 0};
    const json_t *j = payload ? json_object_get(payload, name) : NULL;

    if (!j)
        return t;
    t.present = 1;
    if (json_is_integer(j) && json_integer_value(j) >= -CLI_TIME_LIMIT
        && json_integer_value(j) <= CLI_TIME_LIMIT) {
        t.valid = 1;
        t.v = json_integer_value(j);
    }
    else if (json_is_integer(j)) {
        t.v = json_integer_value(j) < 0 ? -CLI_TIME_LIMIT : CLI_TIME_LIMIT;   /* out of range */
    }
    return t;
}

const char *cli_relative_time(apr_pool_t *p, const char *name, apr_int64_t v, apr_int64_t now,
                              apr_int64_t skew)
{
    apr_int64_t d = v - now;

    if (!strcmp(name, "exp")) {
        if (d > 0)
            return apr_pstrcat(p, "expires in ", cli_span(p, d), NULL);
        return apr_pstrcat(p, "expired ", cli_span(p, d), " ago",
                           v > now - skew ? " (still within the clock skew)" : "", NULL);
    }
    if (!strcmp(name, "nbf")) {
        if (d > 0)
            return apr_pstrcat(p, "not valid before, in ", cli_span(p, d),
                               v <= now + skew ? " (within the clock skew)" : "", NULL);
        return apr_pstrcat(p, "valid since ", cli_span(p, d), " ago", NULL);
    }
    if (d > 0)
        return apr_pstrcat(p, "issued in the future, in ", cli_span(p, d),
                           v <= now + skew ? " (within the clock skew)" : "", NULL);
    return apr_pstrcat(p, "issued ", cli_span(p, d), " ago", NULL);
}
