/*
 * URLs and origins as Clerk's SDK compares and builds them with the WHATWG
 * URL parser (new URL(), URLSearchParams): what the browser flow
 * (clerk_browser_flow.c) needs for the cross-origin check and the sync
 * redirects.  Pure functions; everything allocated in p.
 */
#ifndef CLERK_URL_H
#define CLERK_URL_H

#include <apr_pools.h>

/* A URL's origin: scheme://host[:port] in lower case, no default port; NULL when none. */
const char *clerk_url_origin(apr_pool_t *p, const char *url);

/* The host of an origin from clerk_url_origin (IPv6 brackets kept). */
const char *clerk_url_origin_host(apr_pool_t *p, const char *origin);

/*
 * The Account Portal's origin for a Frontend API host (buildAccountsBaseUrl):
 * https:// and the host with its first "clerk.accountsstage." made
 * "accountsstage.", then its first "clerk.accounts." or "clerk." made
 * "accounts.".
 */
const char *clerk_url_accounts_origin(apr_pool_t *p, const char *fapi);

/*
 * A development Account Portal host of Clerk's (isLegacyDevAccountPortalOrigin,
 * isCurrentDevAccountPortalOrigin): accounts.*.lcl.dev and the like, or
 * *.accounts.dev but no *.clerk.accounts.dev (another instance's Frontend API).
 */
int clerk_url_dev_account_portal(apr_pool_t *p, const char *host);

/*
 * url with name=value in its query as URLSearchParams does it (value
 * percent-encoded): replace 0 appends; 1 sets, in place of the first of that
 * name, dropping the others, or at the end when there is none.
 */
const char *clerk_url_with_param(apr_pool_t *p, const char *url, const char *name,
                                 const char *value, int replace);

#endif
