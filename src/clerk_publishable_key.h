/*
 * Clerk publishable keys: pk_test_/pk_live_ followed by base64 of
 * "<frontend api host>$".  Everything the module derives from the instance
 * identity comes from here: the expected issuer, the Frontend API JWKS URL
 * and the cookie-name suffix.
 */
#ifndef CLERK_PUBLISHABLE_KEY_H
#define CLERK_PUBLISHABLE_KEY_H

#include <apr_pools.h>

typedef struct clerk_publishable_key {
    const char *key;            /* as configured */
    int production;             /* pk_live_ */
    const char *frontend_api;   /* host, e.g. clerk.example.com */
    const char *issuer;         /* https://<frontend_api> */
    const char *jwks_url;       /* https://<frontend_api>/.well-known/jwks.json */
    const char *cookie_suffix;  /* first 8 chars of base64url(SHA-1(key)) */
} clerk_publishable_key_t;

/* Parse and validate; on failure returns APR_EINVAL with *err set. */
apr_status_t clerk_publishable_key_parse(apr_pool_t *p, const char *key,
                                         clerk_publishable_key_t **out,
                                         const char **err);

#endif
