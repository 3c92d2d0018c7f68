/*
 * Organization sync from URLs: which organization (or the personal account)
 * a page's URL names, as Clerk's SDK decides it from its
 * organizationSyncOptions (@clerk/backend, tokens/organizationMatcher.ts).
 *
 * The SDK compiles each list with path-to-regexp 6 (match(patterns), default
 * options: case-insensitive, an optional trailing '/', anchored at both
 * ends, parameters not decoded) and matches url.pathname.  This core
 * implements the subset of path-to-regexp that Clerk's documentation uses,
 * with a matcher linear in the path (no regular expression; the path is the
 * attacker's):
 *
 *   literal text       matched without regard to ASCII letter case; '\x'
 *                      is the character x
 *   :name              one or more characters other than '/' (and other
 *                      than '.' right after a '.'); it must be followed by
 *                      '/' or end the pattern.  :id names an organization
 *                      by ID, :slug by slug (:id wins when both match), any
 *                      other name matches without meaning anything
 *   (.*)               anything, '/' included; it must end the pattern
 *
 * Everything else path-to-regexp knows (modifiers ? * +, {groups}, custom
 * parameter patterns :id(\d+), other groups) is refused when the pattern is
 * compiled, as are patterns the SDK accepts but that can never match a
 * pathname (not starting with '/', characters a URL path never carries
 * unencoded) and organization patterns with neither :id nor :slug (the
 * SDK's documentation requires one; the SDK would silently never find an
 * organization with them).
 *
 * The path matched is the request's path as the client sent it; it is
 * first made what the SDK's url.pathname would be (see
 * clerk_org_sync_find_target).  Parameter values are taken from that
 * pathname as they stand: percent-encoded, as the SDK takes them.
 */
#ifndef CLERK_ORG_SYNC_H
#define CLERK_ORG_SYNC_H

#include <apr_pools.h>
#include <apr_tables.h>

/* Bounds: a pattern's length, the patterns of one list, the parameters of a pattern. */
#define CLERK_ORG_SYNC_MAX_PATTERN_LEN 512
#define CLERK_ORG_SYNC_MAX_PATTERNS 64
#define CLERK_ORG_SYNC_MAX_PARAMS 16
/* The longest path matched (before its query), above httpd's LimitRequestLine default. */
#define CLERK_ORG_SYNC_MAX_PATH 8192

/* Which list a pattern belongs to: organizationPatterns or personalAccountPatterns. */
typedef enum {
    CLERK_ORG_SYNC_ORGANIZATION_PATTERNS,
    CLERK_ORG_SYNC_PERSONAL_PATTERNS,
} clerk_org_sync_kind_t;

/* One compiled list of patterns, immutable once made (shared between threads). */
typedef struct clerk_org_sync_patterns clerk_org_sync_patterns_t;

/* The two lists; NULL or empty: no such patterns. */
typedef struct clerk_org_sync {
    const clerk_org_sync_patterns_t *organization;
    const clerk_org_sync_patterns_t *personal;
} clerk_org_sync_t;

typedef enum {
    CLERK_ORG_SYNC_NONE = 0,            /* no pattern matches: nothing to activate */
    CLERK_ORG_SYNC_ORGANIZATION,        /* an organization pattern: by ID or by slug */
    CLERK_ORG_SYNC_PERSONAL_ACCOUNT,    /* a personal-account pattern (and no organization one) */
} clerk_org_sync_type_t;

/* The SDK's OrganizationSyncTarget. */
typedef struct {
    clerk_org_sync_type_t type;
    const char *organization_id;        /* ORGANIZATION by :id, else NULL */
    const char *organization_slug;      /* ORGANIZATION by :slug (no :id), else NULL */
} clerk_org_sync_target_t;

/*
 * The patterns of *base (NULL: none) followed by the argc patterns of argv,
 * compiled into *out.  On a bad pattern (or too many), APR_EINVAL and *error
 * says which pattern and why; *out is untouched.  base is not changed.
 */
apr_status_t clerk_org_sync_add_patterns(apr_pool_t *pool, clerk_org_sync_kind_t kind,
                                         const clerk_org_sync_patterns_t *base, int argc,
                                         const char *const *argv,
                                         const clerk_org_sync_patterns_t **out,
                                         const char **error);

/*
 * Both lists at once (arrays of const char *, NULL for none): the SDK's
 * new OrganizationMatcher(organizationSyncOptions).
 */
apr_status_t clerk_org_sync_compile(apr_pool_t *pool, const apr_array_header_t *organization,
                                    const apr_array_header_t *personal,
                                    clerk_org_sync_t **matcher, const char **error);

/* How many patterns a list holds (0 for NULL). */
int clerk_org_sync_count(const clerk_org_sync_patterns_t *list);

/*
 * What the URL whose path is path names: the first organization pattern
 * that matches gives the organization, else any personal-account pattern the
 * personal account, else none (the SDK's findTarget).  path is the request
 * target's path as sent (a query or fragment after it is ignored) and is
 * first made what a WHATWG URL parser makes its pathname, which the SDK
 * matches: tabs and newlines dropped, '\' read as '/', "." and ".." segments
 * (also as %2e) resolved, and bytes a URL path never carries unencoded
 * (controls, space, " < > ` { }, non-ASCII) percent-encoded.  Parameter
 * values are allocated from pool.
 *
 * Returns 1 when the path was matched; 0, with target NONE, for a path
 * longer than CLERK_ORG_SYNC_MAX_PATH or NULL.  The cost is linear in the
 * path for each pattern.
 */
int clerk_org_sync_find_target(const clerk_org_sync_t *matcher, apr_pool_t *pool,
                               const char *path, clerk_org_sync_target_t *target);

#endif
