/*
 * URLs and origins as the browser flow compares them (clerk_url.h).
 */
#include "clerk_url.h"

#include <apr_escape.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_uri.h>
#include <string.h>

static char *lower(apr_pool_t *p, const char *s)
{
    char *out = apr_pstrdup(p, s);
    for (char *c = out; *c; c++)
        *c = (char)apr_tolower(*c);
    return out;
}

/* A URL's origin as the WHATWG URL parser gives it: lower case, no default port; or NULL. */
const char *clerk_url_origin(apr_pool_t *p, const char *url)
{
    apr_uri_t u;
    const char *scheme, *host;
    int default_port;

    if (!url || apr_uri_parse(p, url, &u) != APR_SUCCESS || !u.scheme || !u.hostname
        || !*u.hostname)
        return NULL;
    scheme = lower(p, u.scheme);
    host = lower(p, u.hostname);
    default_port = !u.port_str || !*u.port_str
                   || (!strcmp(scheme, "https") && u.port == 443)
                   || (!strcmp(scheme, "http") && u.port == 80);
    return apr_pstrcat(p, scheme, "://", strchr(host, ':') ? "[" : "", host,
                       strchr(host, ':') ? "]" : "", default_port ? "" : ":",
                       default_port ? "" : u.port_str, NULL);
}

/* The host of an origin (scheme://host[:port]), brackets kept for IPv6. */
const char *clerk_url_origin_host(apr_pool_t *p, const char *origin)
{
    const char *h = strstr(origin, "://") + 3;
    return h[0] == '[' ? apr_pstrndup(p, h, strcspn(h, "]") + 1)
                       : apr_pstrndup(p, h, strcspn(h, ":"));
}

/*
 * buildAccountsBaseUrl: https:// and the Frontend API host with its first
 * "clerk.accountsstage." made "accountsstage.", then its first "clerk.accounts."
 * or "clerk." made "accounts.".
 */
const char *clerk_url_accounts_origin(apr_pool_t *p, const char *fapi)
{
    const char *at;

    if ((at = strstr(fapi, "clerk.accountsstage.")))
        fapi = apr_pstrcat(p, apr_pstrndup(p, fapi, (apr_size_t)(at - fapi)), at + 6, NULL);
    if ((at = strstr(fapi, "clerk.")))
        fapi = apr_pstrcat(p, apr_pstrndup(p, fapi, (apr_size_t)(at - fapi)), "accounts.",
                           at + (!strncmp(at, "clerk.accounts.", 15) ? 15 : 6), NULL);
    return apr_pstrcat(p, "https://", lower(p, fapi), NULL);
}

/* A development Account Portal host (isLegacyDevAccountPortalOrigin, isCurrentDevAccountPortalOrigin). */
int clerk_url_dev_account_portal(apr_pool_t *p, const char *host)
{
    static const char *const legacy[] = {".lcl.dev", ".lclstage.dev", ".lclclerk.com"};
    static const char *const current[] = {".accounts.dev", ".accountsstage.dev",
                                          ".accounts.lclclerk.com"};
    apr_size_t n = strlen(host);

    for (size_t i = 0; i < sizeof(legacy) / sizeof(legacy[0]); i++)
        if (!strncmp(host, "accounts.", 9) && n > strlen(legacy[i])
            && !strcmp(host + n - strlen(legacy[i]), legacy[i]))
            return 1;
    for (size_t i = 0; i < sizeof(current) / sizeof(current[0]); i++) {
        const char *clerk = apr_pstrcat(p, ".clerk", current[i], NULL);
        if (n > strlen(current[i]) && !strcmp(host + n - strlen(current[i]), current[i])
            && !(n >= strlen(clerk) && !strcmp(host + n - strlen(clerk), clerk)))
            return 1;
    }
    return 0;
}

/*
 * url with a query parameter added as URLSearchParams does it: append adds it
 * at the end; set (replace) puts it in place of the first of that name and
 * drops the others, or adds it at the end when there is none.
 */
const char *clerk_url_with_param(apr_pool_t *p, const char *url, const char *name,
                                 const char *value, int replace)
{
    const char *q = strchr(url, '?'), *frag = strchr(url, '#');
    const char *base = apr_pstrndup(p, url, q ? (apr_size_t)(q - url)
                                            : frag ? (apr_size_t)(frag - url) : strlen(url));
    const char *args = q ? apr_pstrndup(p, q + 1, frag && frag > q ? (apr_size_t)(frag - q - 1)
                                                                   : strlen(q + 1))
                         : NULL;
    const char *pair = apr_pstrcat(p, name, "=", apr_pescape_urlencoded(p, value), NULL);
    apr_size_t len = strlen(name);
    char *kept = apr_pstrdup(p, "");
    int placed = 0;

    while (args && *args) {
        apr_size_t n = strcspn(args, "&");
        int same = replace && n >= len && !strncmp(args, name, len)
                   && (n == len || args[len] == '=');
        if (n && (!same || !placed))
            kept = apr_pstrcat(p, kept, *kept ? "&" : "", same ? pair : apr_pstrndup(p, args, n),
                               NULL);
        placed |= same;
        args += n + (args[n] == '&');
    }
    if (!placed)
        kept = apr_pstrcat(p, kept, *kept ? "&" : "", pair, NULL);
    return apr_pstrcat(p, base, "?", kept, frag ? frag : "", NULL);
}

