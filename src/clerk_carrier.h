/*
 * Where a token travels: the Authorization header and the Cookie header.
 * Parsing follows Clerk's SDK (scheme "Bearer" matched exactly; a value
 * without a space is a bare token; any other scheme means "no token here")
 * and refuses what is ambiguous (a cookie sent twice, a bearer value with
 * white space or a list in it).
 */
#ifndef CLERK_CARRIER_H
#define CLERK_CARRIER_H

#include <apr_pools.h>

typedef enum {
    CLERK_CARRIER_NONE = 0,     /* nothing usable here: look elsewhere */
    CLERK_CARRIER_TOKEN,        /* *token is set */
    CLERK_CARRIER_MALFORMED,    /* something is here but it cannot be a token */
} clerk_carrier_t;

/* From an Authorization header value (may be NULL). */
clerk_carrier_t clerk_bearer_token(const char *authorization, const char **token,
                                   apr_size_t *len);

/*
 * From a Cookie header value (may be NULL; several Cookie headers merged with
 * ", " by httpd are understood).  Two cookies of the same name: MALFORMED.
 */
clerk_carrier_t clerk_cookie_value(apr_pool_t *p, const char *cookie_header,
                                   const char *name, const char **value,
                                   apr_size_t *len);

#endif
