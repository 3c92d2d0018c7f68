/*
 * The pieces of Clerk's browser-session protocol (README: "Protecting a PHP
 * site for browser users") that the browser flow (clerk_browser_flow.c)
 * decides with: which requests may be redirected, which session cookie to
 * read, the handshake URL, a handshake result's token and cookies, and the
 * handshake parameters of a query string.  Pure functions over request
 * facts.
 */
#ifndef CLERK_HANDSHAKE_H
#define CLERK_HANDSHAKE_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "clerk_key.h"
#include "clerk_reason.h"

/* At this __clerk_redirect_count no further handshake is attempted. */
#define CLERK_HANDSHAKE_MAX_REDIRECTS 3

/*
 * A navigation that may be redirected: GET, and Sec-Fetch-Dest document or
 * iframe, or no Sec-Fetch-Dest and an Accept starting with text/html.
 */
int clerk_handshake_eligible(const char *method, const char *sec_fetch_dest,
                             const char *accept);

/* The cookies of a request that matter here (NULL when absent). */
typedef struct clerk_session_cookies {
    const char *session, *session_suffixed;
    const char *client_uat, *client_uat_suffixed;
} clerk_session_cookies_t;

/*
 * Whether the suffixed cookie pair (__session_<suffix>, __client_uat_<suffix>)
 * is the one to read, by Clerk's rules (usesSuffixedCookies); frontend_api is
 * the instance's own host, to recognise another instance's cookies; now (Unix
 * seconds) tells an expired suffixed session of a development instance.
 */
int clerk_use_suffixed_cookies(apr_pool_t *p, const clerk_session_cookies_t *c,
                               const char *frontend_api, int production, apr_int64_t now);

/*
 * __client_uat as Clerk's SDK reads it (Number.parseInt(value) || 0): leading
 * white space, a sign and the digits that follow ("123x" is 123, "-5" is
 * -5); none, or missing, is 0.  Saturates beyond 18 digits.
 */
apr_int64_t clerk_client_uat(const char *value);

/*
 * __clerk_redirect_count: a non-negative decimal integer, anything else 0
 * (the SDK's Number(value) || 0 for every count a browser sends back).
 */
apr_int64_t clerk_redirect_count(const char *value);

/*
 * The 307 Location to the Frontend API handshake (base is
 * https://<frontend api> or the proxy URL).
 */
const char *clerk_handshake_location(apr_pool_t *p, const char *base, const char *redirect_url,
                                     const char *reason, int suffixed_cookies);

/*
 * A handshake JWT (the __clerk_handshake value): verified with the instance
 * keys, signature and category only as Clerk does (no exp/nbf/iat/azp); its
 * payload {"handshake":[Set-Cookie directives]}.
 */
clerk_reason_t clerk_handshake_token_directives(apr_pool_t *p, const char *token,
                                                const clerk_keyset_t *keys,
                                                apr_array_header_t **directives,
                                                const char **detail);

/*
 * The new session token among Set-Cookie directives: the value of the last
 * one whose name starts with __session, or NULL.  Directives with control
 * characters are dropped from the array first (they would split headers).
 */
const char *clerk_handshake_session(apr_pool_t *p, apr_array_header_t *directives);

/*
 * The directives of a handshake (a handshake token's list or a Backend API
 * nonce payload) that this host may emit as Set-Cookie, in order, as a new
 * array of const char *.  Stricter than Clerk's SDK, which sets every cookie
 * it is given: a validly signed payload must still not set arbitrary cookies.
 * A directive is kept when
 *  - it has no control character, and its name=value pair a non-empty
 *    RFC 6265 token as name;
 *  - the name (case-sensitive) is one Clerk's handshake sets: __session,
 *    __client_uat, __refresh, each also as <name>_<suffix>, or __clerk_<...>;
 *  - every Domain attribute (case-insensitive name, a leading dot ignored)
 *    is host itself or a parent domain of it: a whole-label suffix of at
 *    least two labels (no bare TLD), none at all for an IP-literal host.
 * host is the request's host name (a :port or IPv6 brackets are ignored);
 * when NULL only host-only cookies are kept.  When dropped is not NULL, one
 * short reason per dropped directive is pushed to it (const char *): it
 * names at most the cookie's name and Domain, never its value, which holds
 * the session token, so it can be logged.
 */
apr_array_header_t *clerk_handshake_allowed_cookies(apr_pool_t *p,
                                                    const apr_array_header_t *directives,
                                                    const char *host,
                                                    apr_array_header_t *dropped);

/* The query string without the handshake parameters (NULL when none remain). */
const char *clerk_handshake_strip_query(apr_pool_t *p, const char *args);

/* A query parameter's decoded value, or NULL. */
const char *clerk_query_param(apr_pool_t *p, const char *args, const char *name);

#endif
