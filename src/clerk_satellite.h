/*
 * Satellite domains (Clerk's isSatellite, domain, signInUrl): the decisions
 * the module's directives (ClerkIsSatellite, ClerkDomain, ClerkSignInURL) and
 * `clerk-jwt authenticate --satellite` both make, so that they cannot drift:
 * what a domain may be, which Frontend API a satellite's tokens come from and
 * which issuers count as the instance's own, and the companions a satellite
 * needs (the SDK's assertions in authenticateRequest).
 */
#ifndef CLERK_SATELLITE_H
#define CLERK_SATELLITE_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "clerk_publishable_key.h"

/* A satellite's domain as ClerkDomain takes it: a host name, no scheme or port. */
int clerk_satellite_domain_ok(const char *domain);

/*
 * The Frontend API host whose tokens are the instance's own (the SDK's
 * originalFrontendApi): clerk.<domain> for a production satellite (domain
 * in lower case), else the publishable key's.
 */
const char *clerk_satellite_frontend_api(apr_pool_t *p, const clerk_publishable_key_t *pk,
                                         int satellite, const char *domain);

/*
 * The issuers the instance stands for (const char *): the publishable key's,
 * and https://<frontend_api> when that is another host (a satellite's).
 */
apr_array_header_t *clerk_satellite_issuers(apr_pool_t *p, const clerk_publishable_key_t *pk,
                                            const char *frontend_api);

/*
 * What a satellite lacks, named by its directive ("ClerkDomain (or
 * ClerkProxyURL)", "ClerkSignInURL (a development satellite)"), or NULL.
 * pk may be NULL (not known yet).
 */
const char *clerk_satellite_missing(const clerk_publishable_key_t *pk, const char *domain,
                                    const char *proxy_url, const char *sign_in_url);

#endif
