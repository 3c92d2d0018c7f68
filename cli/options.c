/* clerk-jwt option parsing: one parser over each command's table of setters. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE     /* timegm */
#endif

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "clerk_verify.h"

int cli_parse_args(int argc, char **argv, const cli_optdef_t *defs, void *args,
                   apr_array_header_t *pos, int *status)
{
    int only_pos = 0;

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const cli_optdef_t *d = NULL;
        const char *eq, *val = NULL;
        size_t nlen;

        if (only_pos || a[0] != '-' || !strcmp(a, "-")) {
            APR_ARRAY_PUSH(pos, const char *) = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            only_pos = 1;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            *status = cli_show_help(cli_cmd);
            return 0;
        }
        if (!strcmp(a, "--json")) {
            cli_json = 1;
            continue;
        }
        if (a[1] != '-') {
            *status = cli_usage_error("unknown option '%s'", a);
            return 0;
        }
        eq = strchr(a + 2, '=');
        nlen = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
        for (const cli_optdef_t *o = defs; o->name; o++)
            if (strlen(o->name) == nlen && !strncmp(o->name, a + 2, nlen))
                d = o;
        if (!d) {
            *status = cli_usage_error("unknown option '%.*s'", (int)nlen + 2, a);
            return 0;
        }
        if (d->set != cli_set_flag) {
            if (eq)
                val = eq + 1;
            else if (i + 1 < argc)
                val = argv[++i];
            else {
                *status = cli_usage_error("option '--%s' needs a value", d->name);
                return 0;
            }
        }
        else if (eq) {
            *status = cli_usage_error("option '--%s' takes no value", d->name);
            return 0;
        }
        if ((*status = d->set(args, d, val)) != 0)
            return 0;
    }
    return 1;
}

const cli_optdef_t *cli_optdefs_cat(apr_pool_t *p, const cli_optdef_t *a, const cli_optdef_t *b)
{
    size_t na = 0, nb = 0;
    cli_optdef_t *all;

    while (a[na].name)
        na++;
    while (b[nb].name)
        nb++;
    all = apr_palloc(p, (na + nb + 1) * sizeof(*all));
    memcpy(all, a, na * sizeof(*all));
    memcpy(all + na, b, (nb + 1) * sizeof(*all));      /* with b's terminating row */
    return all;
}

int cli_one_token_arg(const apr_array_header_t *pos, const char **arg)
{
    if (pos->nelts != 1)
        return cli_usage_error(pos->nelts ? "expects one TOKEN" : "missing TOKEN");
    *arg = APR_ARRAY_IDX(pos, 0, const char *);
    return 0;
}

int cli_set_string(void *args, const cli_optdef_t *opt, const char *val)
{
    *CLI_SLOT(args, opt, const char *) = val;
    return 0;
}

int cli_set_flag(void *args, const cli_optdef_t *opt, const char *val)
{
    *CLI_SLOT(args, opt, int) = 1;
    return 0;
}

int cli_set_list(void *args, const cli_optdef_t *opt, const char *val)
{
    APR_ARRAY_PUSH(*CLI_SLOT(args, opt, apr_array_header_t *), const char *) = val;
    return 0;
}

int cli_parse_int(const char *s, long long min, long long max, long long *out)
{
    char *end;
    long long v;

    if (!s || !*s || isspace((unsigned char)*s))
        return 0;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return 0;
    *out = v;
    return 1;
}

/*
 * --now: Unix seconds, optionally with a fraction that is dropped (the core
 * works in whole seconds: flooring keeps every comparison of Clerk's
 * millisecond rules, exp*1000 <= now_ms - skew and so on, exact), or an
 * ISO-8601 UTC date-time.
 */
static int parse_now(const char *s, apr_int64_t *out)
{
    const char *dot = strchr(s, '.');
    long long v;

    if (strlen(s) >= 19 && s[4] == '-' && s[10] == 'T') {
        struct tm tm;
        int y, mo, d, h, mi, sec, n = 0;
        const char *rest;
        memset(&tm, 0, sizeof(tm));
        if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n != 19)
            return 0;
        rest = s + 19;
        if (*rest == '.') {     /* fraction of a second: ignored */
            rest++;
            while (isdigit((unsigned char)*rest))
                rest++;
        }
        if (strcmp(rest, "Z") && strcmp(rest, "+00:00") && *rest)
            return 0;
        if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
            return 0;
        tm.tm_year = y - 1900;
        tm.tm_mon = mo - 1;
        tm.tm_mday = d;
        tm.tm_hour = h;
        tm.tm_min = mi;
        tm.tm_sec = sec;
        *out = (apr_int64_t)timegm(&tm);
        return 1;
    }
    if (dot) {
        char *whole = strndup(s, (size_t)(dot - s));
        int ok = whole && cli_parse_int(whole, 0, CLI_TIME_LIMIT, &v) && dot[1]
            && strspn(dot + 1, "0123456789") == strlen(dot + 1);
        free(whole);
        if (!ok)
            return 0;
        *out = (apr_int64_t)v;
        return 1;
    }
    if (!cli_parse_int(s, 0, CLI_TIME_LIMIT, &v))
        return 0;
    *out = (apr_int64_t)v;
    return 1;
}

int cli_set_now(void *args, const cli_optdef_t *opt, const char *val)
{
    if (!parse_now(val, CLI_SLOT(args, opt, apr_int64_t)))
        return cli_usage_error("--now needs Unix seconds or YYYY-MM-DDTHH:MM:SSZ, not '%s'", val);
    return 0;
}

/* As ClerkClockSkew: 0 to CLERK_MAX_CLOCK_SKEW seconds. */
int cli_set_clock_skew(void *args, const cli_optdef_t *opt, const char *val)
{
    long long v;

    if (!cli_parse_int(val, 0, CLERK_MAX_CLOCK_SKEW, &v))
        return cli_usage_error("--clock-skew needs seconds from 0 to %d, not '%s'",
                               CLERK_MAX_CLOCK_SKEW, val);
    *CLI_SLOT(args, opt, apr_int64_t) = v;
    return 0;
}

/* As ClerkAcceptToken: each value adds its type; "any" adds all. */
int cli_set_accept(void *args, const cli_optdef_t *opt, const char *val)
{
    unsigned *types = CLI_SLOT(args, opt, unsigned);
    clerk_token_type_t t;

    if (!strcmp(val, "any")) {
        *types |= CLERK_TYPE_ALL;
        return 0;
    }
    if (!(t = clerk_token_type_from_name(val)))
        return cli_usage_error("--accept: unknown token type '%s' (session_token, m2m_token, "
                               "oauth_token, api_key, any)", val);
    *types |= (unsigned)t;
    return 0;
}
