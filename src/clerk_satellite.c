#include "clerk_satellite.h"

#include <apr_lib.h>
#include <apr_strings.h>
#include <string.h>

int clerk_satellite_domain_ok(const char *domain)
{
    apr_size_t n = domain ? strlen(domain) : 0;

    return n && n <= 253 && domain[0] != '.' && domain[0] != '-' && domain[n - 1] != '.'
           && strspn(domain, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")
                  == n
           && !strstr(domain, "..");
}

const char *clerk_satellite_frontend_api(apr_pool_t *p, const clerk_publishable_key_t *pk,
                                         int satellite, const char *domain)
{
    char *host;

    if (!satellite || !domain || !pk->production)
        return pk->frontend_api;    /* a development satellite keeps the instance's */
    host = apr_pstrcat(p, "clerk.", domain, NULL);
    for (char *c = host; *c; c++)
        *c = (char)apr_tolower(*c);
    return host;
}

apr_array_header_t *clerk_satellite_issuers(apr_pool_t *p, const clerk_publishable_key_t *pk,
                                            const char *frontend_api)
{
    apr_array_header_t *issuers = apr_array_make(p, 2, sizeof(const char *));

    APR_ARRAY_PUSH(issuers, const char *) = pk->issuer;
    if (strcmp(frontend_api, pk->frontend_api))
        APR_ARRAY_PUSH(issuers, const char *) = apr_pstrcat(p, "https://", frontend_api, NULL);
    return issuers;
}

const char *clerk_satellite_missing(const clerk_publishable_key_t *pk, const char *domain,
                                    const char *proxy_url, const char *sign_in_url)
{
    if (!domain && !proxy_url)
        return "ClerkDomain (or ClerkProxyURL)";
    if (pk && !pk->production && !sign_in_url)
        return "ClerkSignInURL (a development satellite)";
    return NULL;
}
