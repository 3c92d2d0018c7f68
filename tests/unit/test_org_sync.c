/*
 * Organization sync patterns (clerk_org_sync): the SDK's own cases, the
 * path-to-regexp 6 semantics it relies on, the pathname a URL parser makes of
 * the request's path, refused patterns and hostile paths.
 *
 * The SDK's cases are translated from the clerk/javascript repository:
 *   packages/backend/src/tokens/__tests__/organizationMatcher.test.ts
 *   packages/backend/src/tokens/__tests__/request.test.ts
 *     ("tokens.getOrganizationSyncTarget(url,options)", its it.each table)
 *   packages/backend/src/tokens/types.ts (the examples of Pattern)
 */
#include "unit.h"

#include "clerk_org_sync.h"

static apr_array_header_t *list_of(apr_pool_t *p, const char *const *patterns)
{
    apr_array_header_t *a;

    if (!patterns)
        return NULL;
    a = apr_array_make(p, 4, sizeof(const char *));
    for (; *patterns; patterns++)
        APR_ARRAY_PUSH(a, const char *) = *patterns;
    return a;
}

/* The matcher of two NULL-terminated lists (NULL: the option is absent); fails the test on an error. */
static clerk_org_sync_t *matcher(apr_pool_t *p, const char *const *org, const char *const *personal)
{
    clerk_org_sync_t *m = NULL;
    const char *error = NULL;

    if (clerk_org_sync_compile(p, list_of(p, org), list_of(p, personal), &m, &error)
        != APR_SUCCESS)
        fail_msg("compile: %s", error);
    assert_non_null(m);
    return m;
}

/* The target of path, as text: "id:<id>", "slug:<slug>", "personal", "none" or "refused". */
static const char *target(apr_pool_t *p, const clerk_org_sync_t *m, const char *path)
{
    clerk_org_sync_target_t t;
    int matched = clerk_org_sync_find_target(m, p, path, &t);

    if (!matched) {
        assert_int_equal(t.type, CLERK_ORG_SYNC_NONE);
        return "refused";
    }
    switch (t.type) {
    case CLERK_ORG_SYNC_ORGANIZATION:
        /* exactly one of the two, as the SDK's findOrganizationTarget returns */
        assert_true(!t.organization_id != !t.organization_slug);
        return t.organization_id ? apr_pstrcat(p, "id:", t.organization_id, NULL)
                                 : apr_pstrcat(p, "slug:", t.organization_slug, NULL);
    case CLERK_ORG_SYNC_PERSONAL_ACCOUNT:
        assert_null(t.organization_id);
        assert_null(t.organization_slug);
        return "personal";
    case CLERK_ORG_SYNC_NONE:
        assert_null(t.organization_id);
        assert_null(t.organization_slug);
        return "none";
    }
    fail();
    return NULL;
}

#define ORG(...) ((const char *const[]){__VA_ARGS__, NULL})
#define PERSONAL(...) ((const char *const[]){__VA_ARGS__, NULL})
#define EXPECT(m, path, want) unit_assert_str(target(UNIT_POOL, (m), (path)), (want))

/* The error of compiling one pattern of a kind, or fails the test if it compiles. */
static const char *refusal(apr_pool_t *p, clerk_org_sync_kind_t kind, const char *pattern)
{
    const clerk_org_sync_patterns_t *l = NULL;
    const char *error = NULL;

    if (clerk_org_sync_add_patterns(p, kind, NULL, 1, &pattern, &l, &error) == APR_SUCCESS)
        fail_msg("'%s' compiled", pattern);
    assert_null(l);
    assert_non_null(error);
    return error;
}

#define REFUSED(kind, pattern, words)                                                    \
    do {                                                                                 \
        const char *e_ = refusal(UNIT_POOL, (kind), (pattern));                          \
        if (!strstr(e_, (words)))                                                        \
            fail_msg("'%s': error '%s' does not say '%s'", (pattern), e_, (words));      \
    } while (0)
#define ORG_REFUSED(pattern, words) REFUSED(CLERK_ORG_SYNC_ORGANIZATION_PATTERNS, pattern, words)
#define PERSONAL_REFUSED(pattern, words) REFUSED(CLERK_ORG_SYNC_PERSONAL_PATTERNS, pattern, words)

/* ---- organizationMatcher.test.ts ---- */

static void test_sdk_matcher_no_patterns(void **state)
{
    EXPECT(matcher(UNIT_POOL, NULL, NULL), "/orgs/123", "none");
}

static void test_sdk_matcher_find_by_id_and_slug(void **state)
{
    EXPECT(matcher(UNIT_POOL, ORG("/orgs/:id"), NULL), "/orgs/123", "id:123");
    EXPECT(matcher(UNIT_POOL, ORG("/orgs/:slug"), NULL), "/orgs/my-org", "slug:my-org");
}

static void test_sdk_matcher_personal_account(void **state)
{
    EXPECT(matcher(UNIT_POOL, NULL, PERSONAL("/account")), "/account", "personal");
}

static void test_sdk_matcher_organization_first(void **state)
{
    EXPECT(matcher(UNIT_POOL, ORG("/orgs/:id"), PERSONAL("/orgs/:id")), "/orgs/123", "id:123");
}

static void test_sdk_matcher_nested_multiple_nonmatching(void **state)
{
    EXPECT(matcher(UNIT_POOL, ORG("/orgs/:id/(.*)"), NULL), "/orgs/123/settings", "id:123");
    EXPECT(matcher(UNIT_POOL, ORG("/orgs/:id", "/teams/:id"), NULL), "/teams/123", "id:123");
    EXPECT(matcher(UNIT_POOL, ORG("/orgs/:id"), NULL), "/other/123", "none");
}

static void test_sdk_matcher_invalid_patterns(void **state)
{
    /* "Definitely invalid pattern" in both lists: path-to-regexp's Unexpected MODIFIER */
    ORG_REFUSED("/orgs/:id/***", "modifiers");
    PERSONAL_REFUSED("/account/***", "modifiers");
}

/* ---- request.test.ts: getOrganizationSyncTarget ---- */

static void test_sdk_request_table(void **state)
{
    static const char *const recommended[] = {"/orgs/:id", "/orgs/:id/", "/orgs/:id/(.*)", NULL};
    apr_pool_t *p = UNIT_POOL;
    clerk_org_sync_t *m;

    EXPECT(matcher(p, ORG("/orgs/:id"), NULL), "/orgs/org_foo", "id:org_foo");
    EXPECT(matcher(p, ORG("/orgs/:id"), NULL), "/personal-account/my-resource", "none");
    m = matcher(p, recommended, NULL);
    EXPECT(m, "/orgs/org_foo", "id:org_foo");
    EXPECT(m, "/orgs/org_foo/", "id:org_foo");
    EXPECT(m, "/orgs/org_foo/nested-resource", "id:org_foo");
    EXPECT(matcher(p, ORG("/orgs/:id/(.*)"), NULL),
           "/orgs/org_foo/nested-resource/and/more/deeply/nested/resources", "id:org_foo");
    EXPECT(matcher(p, ORG("/unknown-thing/:any/orgs/:id"), NULL),
           "/unknown-thing/thing/orgs/org_foo", "id:org_foo");
    EXPECT(matcher(p, ORG("/orgs/:slug"), NULL), "/orgs/my-org", "slug:my-org");
    EXPECT(matcher(p, NULL, PERSONAL("/personal-account")), "/personal-account", "personal");
    /* "ID match precedes slug match" (bad practice): the first pattern that matches */
    EXPECT(matcher(p, ORG("/orgs/:id", "/orgs/:slug"), NULL), "/orgs/my-org", "id:my-org");
    EXPECT(matcher(p, ORG("/orgs/:slug", "/orgs/:id"), NULL), "/orgs/my-org", "slug:my-org");
    EXPECT(matcher(p, ORG("/orgs/:slug"), PERSONAL("/", "/(.*)")), "/orgs/my-org",
           "slug:my-org");
    EXPECT(matcher(p, NULL, PERSONAL("/user/:any", "/user/:any/(.*)")), "/user/123/home",
           "personal");
    m = matcher(p, ORG("/orgs-by-id/:id", "/orgs-by-id/:id/(.*)", "/orgs-by-slug/:slug",
                       "/orgs-by-slug/:slug/(.*)"),
                PERSONAL("/personal-account", "/personal-account/(.*)"));
    EXPECT(m, "/orgs-by-slug/org_bar/sub-resource", "slug:org_bar");
    EXPECT(m, "/orgs-by-id/org_1", "id:org_1");
    EXPECT(m, "/personal-account/x", "personal");
    EXPECT(m, "/elsewhere", "none");
}

/* ---- types.ts: the documented examples of a Pattern ---- */

static void test_sdk_documented_examples(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_org_sync_t *m = matcher(p, ORG("/orgs/:slug"), NULL);

    EXPECT(m, "/orgs/acmecorp", "slug:acmecorp");
    EXPECT(m, "/orgs", "none");
    EXPECT(m, "/orgs/acmecorp/settings", "none");
    m = matcher(p, ORG("/app/:any/orgs/:id"), NULL);
    EXPECT(m, "/app/petstore/orgs/org_123", "id:org_123");
    EXPECT(m, "/app/dogstore/v2/orgs/org_123", "none");
    m = matcher(p, NULL, PERSONAL("/personal-account/(.*)"));
    EXPECT(m, "/personal-account/settings", "personal");
    EXPECT(m, "/personal-account", "none");
    /* Clerk's guide: "/me" and "/me/(.*)" */
    m = matcher(p, ORG("/orgs/:slug", "/orgs/:slug/(.*)"), PERSONAL("/me", "/me/(.*)"));
    EXPECT(m, "/me", "personal");
    EXPECT(m, "/me/", "personal");
    EXPECT(m, "/me/settings/profile", "personal");
    EXPECT(m, "/meow", "none");
    EXPECT(m, "/orgs/acme/members/1", "slug:acme");
}

/* ---- the path-to-regexp 6 behaviour under match(patterns) with default options ---- */

static void test_case_insensitive_literals_values_kept(void **state)
{
    clerk_org_sync_t *m = matcher(UNIT_POOL, ORG("/Orgs/:slug"), PERSONAL("/ME"));

    EXPECT(m, "/ORGS/Acme-Corp", "slug:Acme-Corp");
    EXPECT(m, "/orgs/acme-corp", "slug:acme-corp");
    EXPECT(m, "/me", "personal");
    /* percent-encodings compare as text, hex digits in either case */
    m = matcher(UNIT_POOL, NULL, PERSONAL("/caf%C3%A9"));
    EXPECT(m, "/caf%c3%a9", "personal");
}

static void test_trailing_delimiter(void **state)
{
    clerk_org_sync_t *m = matcher(UNIT_POOL, ORG("/orgs/:slug"), NULL);

    /* [\/#\?]? before $: one optional '/', not two */
    EXPECT(m, "/orgs/acme/", "slug:acme");
    EXPECT(m, "/orgs/acme//", "none");
    EXPECT(m, "/orgs//", "none");
    m = matcher(UNIT_POOL, ORG("/orgs/:slug/"), NULL);
    EXPECT(m, "/orgs/acme", "none");
    EXPECT(m, "/orgs/acme/", "slug:acme");
    EXPECT(m, "/orgs/acme//", "slug:acme");
    m = matcher(UNIT_POOL, NULL, PERSONAL("/"));
    EXPECT(m, "/", "personal");
    EXPECT(m, "//", "personal");
    EXPECT(m, "/x", "none");
}

static void test_wildcard(void **state)
{
    clerk_org_sync_t *m = matcher(UNIT_POOL, NULL, PERSONAL("/me/(.*)"));

    EXPECT(m, "/me", "none");                       /* (?:\/(.*)): the '/' is required */
    EXPECT(m, "/me/", "personal");
    EXPECT(m, "/me//a/b//c", "personal");
    m = matcher(UNIT_POOL, NULL, PERSONAL("/me(.*)"));
    EXPECT(m, "/me", "personal");
    EXPECT(m, "/meow", "personal");
    m = matcher(UNIT_POOL, NULL, PERSONAL("/(.*)"));
    EXPECT(m, "/", "personal");
    EXPECT(m, "/anything/at/all", "personal");
}

static void test_parameters(void **state)
{
    apr_pool_t *p = UNIT_POOL;

    /* a parameter takes a whole segment, at least one character */
    EXPECT(matcher(p, ORG("/orgs/:slug/edit"), NULL), "/orgs/a.b-c_d~e!f/edit", "slug:a.b-c_d~e!f");
    EXPECT(matcher(p, ORG("/orgs/:slug/edit"), NULL), "/orgs//edit", "none");
    /* text before a parameter in its segment */
    EXPECT(matcher(p, ORG("/org-:id"), NULL), "/org-123", "id:123");
    EXPECT(matcher(p, ORG("/org-:id"), NULL), "/org-", "none");
    /* after a '.', path-to-regexp's prefix, the value holds no '.' */
    EXPECT(matcher(p, ORG("/files/v.:id"), NULL), "/files/v.1", "id:1");
    EXPECT(matcher(p, ORG("/files/v.:id"), NULL), "/files/v.1.2", "none");
    EXPECT(matcher(p, ORG("/files/v\\.:id"), NULL), "/files/v.1.2", "id:1.2");
    /* :id wins over :slug in one pattern; a name twice: the last value */
    EXPECT(matcher(p, ORG("/o/:slug/:id"), NULL), "/o/acme/org_1", "id:org_1");
    EXPECT(matcher(p, ORG("/:slug/x/:slug"), NULL), "/a/x/b", "slug:b");
    /* parameter names are case-sensitive: :ID is not :id */
    EXPECT(matcher(p, ORG("/o/:ID/:slug"), NULL), "/o/1/acme", "slug:acme");
    /* escapes make literals */
    EXPECT(matcher(p, ORG("/a\\:b/:id"), NULL), "/a:b/1", "id:1");
    EXPECT(matcher(p, ORG("/a\\(x\\)/:id"), NULL), "/a(x)/1", "id:1");
}

static void test_values_not_decoded(void **state)
{
    clerk_org_sync_t *m = matcher(UNIT_POOL, ORG("/orgs/:slug"), NULL);

    /* match() without decode: the values are the pathname's text */
    EXPECT(m, "/orgs/%41cme", "slug:%41cme");
    EXPECT(m, "/orgs/a%2Fb", "slug:a%2Fb");
    EXPECT(m, "/orgs/%00", "slug:%00");                 /* no NUL ever comes out */
    EXPECT(m, "/orgs/%", "slug:%");
}

/* ---- the pathname of the URL (WHATWG), which the SDK's url.pathname is ---- */

static void test_pathname(void **state)
{
    clerk_org_sync_t *m = matcher(UNIT_POOL, ORG("/orgs/:slug"), PERSONAL("/", "/me"));

    EXPECT(m, "/orgs/acme?x=1/y", "slug:acme");
    EXPECT(m, "/orgs/acme#frag", "slug:acme");
    EXPECT(m, "/x/../orgs/acme", "slug:acme");
    EXPECT(m, "/x/%2e%2E/orgs/./acme", "slug:acme");
    EXPECT(m, "/orgs/acme/x/..", "slug:acme");       /* "/orgs/acme/": an empty last segment */
    EXPECT(m, "/orgs/acme/.", "slug:acme");
    EXPECT(m, "/orgs/..", "personal");                /* "/" */
    EXPECT(m, "/../../..", "personal");
    EXPECT(m, "/orgs/...", "slug:...");               /* three dots are a name */
    EXPECT(m, "\\orgs\\acme", "slug:acme");           /* '\' is '/' in http(s) URLs */
    EXPECT(m, "", "personal");
    EXPECT(m, "orgs/acme", "slug:acme");
    EXPECT(m, "/orgs/ac\tme\r\n", "slug:acme");       /* tabs and newlines are dropped */
    /* what a URL path never holds as such is percent-encoded, non-ASCII as UTF-8 bytes */
    EXPECT(m, "/orgs/caf\xc3\xa9", "slug:caf%C3%A9");
    EXPECT(m, "/orgs/a b\"<>`{}", "slug:a%20b%22%3C%3E%60%7B%7D");
    EXPECT(m, "/orgs/\x01\x7f\xff", "slug:%01%7F%FF");
    EXPECT(m, "/orgs/a^b|c[d]'e", "slug:a^b|c[d]'e");
    EXPECT(m, "/ME", "personal");
}

/* ---- patterns refused ---- */

static void test_refused(void **state)
{
    char longest[CLERK_ORG_SYNC_MAX_PATTERN_LEN + 2];
    char *many = apr_pstrdup(UNIT_POOL, "");

    /* what path-to-regexp itself refuses */
    ORG_REFUSED("/orgs/:", "missing parameter name at 6");
    ORG_REFUSED("/orgs/:/x", "missing parameter name");
    ORG_REFUSED("/orgs/:slug/(.*", "unbalanced pattern at 12");
    ORG_REFUSED("/orgs/:slug/()", "missing pattern at 12");
    ORG_REFUSED("/orgs/:slug/(?:x)", "cannot start with \"?\"");
    ORG_REFUSED("/orgs/:slug/((.*))", "capturing groups are not allowed");
    ORG_REFUSED("/orgs/:slug/x*", "modifiers");
    ORG_REFUSED("/orgs/:slug/}", "groups");
    /* what path-to-regexp takes and this subset does not */
    ORG_REFUSED("/orgs/:slug?", "modifier '?' after :slug");
    ORG_REFUSED("/orgs/:slug+", "modifier '+'");
    ORG_REFUSED("/orgs/:id(\\d+)", "pattern of its own");
    ORG_REFUSED("/orgs/:slug/(\\d+)", "only (.*)");
    ORG_REFUSED("/orgs/:slug/(.+)", "only (.*)");
    ORG_REFUSED("/a(x)/:id", "the group (x) at 2");
    ORG_REFUSED("/orgs/:slug/(.*)?", "modifier '?' after (.*)");
    ORG_REFUSED("/orgs/(.*)/:slug", "must end the pattern");
    ORG_REFUSED("/orgs/{:slug}", "groups");
    ORG_REFUSED("/orgs/:slug-x", "followed by '-'");
    ORG_REFUSED("/orgs/:slug:id", "followed by ':'");
    ORG_REFUSED("/orgs/:slug.json", "followed by '.'");
    /* patterns that could never match a pathname */
    ORG_REFUSED("", "is empty");
    ORG_REFUSED("orgs/:slug", "does not start with '/'");
    ORG_REFUSED("/caf\xc3\xa9/:slug", "'\\xc3' at 4");
    ORG_REFUSED("/a b/:slug", "percent-encode");
    ORG_REFUSED("/a#b/:slug", "percent-encode");
    ORG_REFUSED("/a\\?b/:slug", "percent-encode");
    ORG_REFUSED("/a\\\\b/:slug", "percent-encode");
    ORG_REFUSED("/a\\\xce/:slug", "'\\\\xce' at 2");          /* shown printable */
    PERSONAL_REFUSED("/orgs/x\\", "escapes nothing");
    /* the SDK documents that an organization pattern names :id or :slug */
    ORG_REFUSED("/orgs/:any", "neither :id nor :slug");
    ORG_REFUSED("/orgs", "neither :id nor :slug");
    assert_non_null(matcher(UNIT_POOL, NULL, PERSONAL("/user/:any", "/user")));
    PERSONAL_REFUSED("/user/:any?", "modifier");
    /* bounds */
    memset(longest, 'a', sizeof(longest) - 1);
    longest[0] = '/';
    longest[sizeof(longest) - 1] = '\0';
    PERSONAL_REFUSED(longest, "longer than 512");
    longest[sizeof(longest) - 2] = '\0';
    assert_non_null(matcher(UNIT_POOL, NULL, (const char *const[]){longest, NULL}));
    for (int i = 0; i < CLERK_ORG_SYNC_MAX_PARAMS; i++)
        many = apr_psprintf(UNIT_POOL, "%s/:p%d", many, i);
    assert_non_null(matcher(UNIT_POOL, NULL, (const char *const[]){many, NULL}));
    PERSONAL_REFUSED(apr_pstrcat(UNIT_POOL, many, "/:one_more", NULL), "more than 16 parameters");
}

static void test_error_names_the_pattern(void **state)
{
    const char *e = refusal(UNIT_POOL, CLERK_ORG_SYNC_ORGANIZATION_PATTERNS, "/x/\x01:id");

    unit_assert_str(e, "'/x/\\x01:id' the character '\\x01' at 3 is one a URL path never "
                       "holds as such: percent-encode it");
}

/* ---- lists: appending, bounds, a bad one among good ones ---- */

static void test_lists(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    const char *first[] = {"/orgs/:slug"}, *second[] = {"/teams/:id", "/t/:id"};
    const char *bad[] = {"/ok/:id", "/bad/:"};
    const clerk_org_sync_patterns_t *a = NULL, *b = NULL, *untouched = (const void *)first;
    const char *error = NULL;
    clerk_org_sync_t m = {NULL, NULL};
    const char **lots = apr_palloc(p, sizeof(*lots) * (CLERK_ORG_SYNC_MAX_PATTERNS + 1));

    assert_int_equal(clerk_org_sync_add_patterns(p, CLERK_ORG_SYNC_ORGANIZATION_PATTERNS, NULL,
                                                 1, first, &a, &error), APR_SUCCESS);
    assert_int_equal(clerk_org_sync_add_patterns(p, CLERK_ORG_SYNC_ORGANIZATION_PATTERNS, a, 2,
                                                 second, &b, &error), APR_SUCCESS);
    assert_int_equal(clerk_org_sync_count(a), 1);
    assert_int_equal(clerk_org_sync_count(b), 3);
    assert_int_equal(clerk_org_sync_count(NULL), 0);
    m.organization = b;
    EXPECT(&m, "/orgs/acme", "slug:acme");
    EXPECT(&m, "/t/org_1", "id:org_1");
    m.organization = a;
    EXPECT(&m, "/t/org_1", "none");
    /* an empty list (a directive's "off") */
    assert_int_equal(clerk_org_sync_add_patterns(p, CLERK_ORG_SYNC_PERSONAL_PATTERNS, NULL, 0,
                                                 NULL, &m.personal, &error), APR_SUCCESS);
    assert_int_equal(clerk_org_sync_count(m.personal), 0);
    EXPECT(&m, "/", "none");
    /* a bad pattern among good ones: nothing made, the bad one named */
    assert_int_equal(clerk_org_sync_add_patterns(p, CLERK_ORG_SYNC_ORGANIZATION_PATTERNS, a, 2,
                                                 bad, &untouched, &error), APR_EINVAL);
    assert_ptr_equal(untouched, (const void *)first);
    assert_non_null(strstr(error, "'/bad/:' missing parameter name"));
    /* at most CLERK_ORG_SYNC_MAX_PATTERNS, appended ones included */
    for (int i = 0; i <= CLERK_ORG_SYNC_MAX_PATTERNS; i++)
        lots[i] = apr_psprintf(p, "/o%d/:id", i);
    assert_int_equal(clerk_org_sync_add_patterns(p, CLERK_ORG_SYNC_ORGANIZATION_PATTERNS, NULL,
                                                 CLERK_ORG_SYNC_MAX_PATTERNS + 1, lots, &b,
                                                 &error), APR_EINVAL);
    assert_non_null(strstr(error, "more than 64 patterns"));
    assert_int_equal(clerk_org_sync_add_patterns(p, CLERK_ORG_SYNC_ORGANIZATION_PATTERNS, a,
                                                 CLERK_ORG_SYNC_MAX_PATTERNS, lots, &b, &error),
                     APR_EINVAL);
    assert_int_equal(clerk_org_sync_add_patterns(p, CLERK_ORG_SYNC_ORGANIZATION_PATTERNS, a,
                                                 CLERK_ORG_SYNC_MAX_PATTERNS - 1, lots, &b,
                                                 &error), APR_SUCCESS);
    m.organization = b;
    EXPECT(&m, "/o62/x", "id:x");
}

/* ---- hostile paths ---- */

static void test_hostile_paths(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    char *path = apr_palloc(p, CLERK_ORG_SYNC_MAX_PATH + 2);
    const char **lots = apr_palloc(p, sizeof(*lots) * CLERK_ORG_SYNC_MAX_PATTERNS);
    const clerk_org_sync_patterns_t *org = NULL;
    const char *error = NULL;
    clerk_org_sync_t empty = {NULL, NULL}, *m;
    clerk_org_sync_target_t t;

    /* the worst list there is: every pattern almost matches every long path */
    for (int i = 0; i < CLERK_ORG_SYNC_MAX_PATTERNS; i++)
        lots[i] = "/:a/:b/:c/:d/:e/:f/:g/:h/:i/:j/:k/:l/:m/:n/:o/:id";
    assert_int_equal(clerk_org_sync_add_patterns(p, CLERK_ORG_SYNC_ORGANIZATION_PATTERNS, NULL,
                                                 CLERK_ORG_SYNC_MAX_PATTERNS, lots, &org, &error),
                     APR_SUCCESS);
    m = apr_pcalloc(p, sizeof(*m));
    m->organization = org;
    m->personal = matcher(p, NULL, PERSONAL("/(.*)"))->personal;

    memset(path, '/', CLERK_ORG_SYNC_MAX_PATH);
    path[CLERK_ORG_SYNC_MAX_PATH] = '\0';
    EXPECT(m, path, "personal");                      /* the longest path taken */
    for (int i = 0; i < CLERK_ORG_SYNC_MAX_PATH; i++)
        path[i] = i % 2 ? 'a' : '/';
    EXPECT(m, path, "personal");
    memcpy(path, "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/", 31);
    path[31] = 'x';
    EXPECT(m, path, "personal");                      /* the last param holds no '/' */
    path[33] = '\0';
    EXPECT(m, path, "id:x");
    memset(path, '\xff', CLERK_ORG_SYNC_MAX_PATH);    /* 3 bytes out for each */
    EXPECT(m, path, "personal");
    for (int i = 0; i + 3 <= CLERK_ORG_SYNC_MAX_PATH; i += 3)
        memcpy(path + i, "/..", 3);
    path[CLERK_ORG_SYNC_MAX_PATH - CLERK_ORG_SYNC_MAX_PATH % 3] = '\0';
    EXPECT(m, path, "personal");

    /* longer: refused, also when nothing would be matched; a long query does not count */
    memset(path, 'a', CLERK_ORG_SYNC_MAX_PATH + 1);
    path[0] = '/';
    path[CLERK_ORG_SYNC_MAX_PATH + 1] = '\0';
    EXPECT(m, path, "refused");
    EXPECT(&empty, path, "refused");
    path[1] = '?';
    EXPECT(m, path, "personal");
    EXPECT(&empty, path, "none");
    assert_int_equal(clerk_org_sync_find_target(m, p, NULL, &t), 0);
    assert_int_equal(t.type, CLERK_ORG_SYNC_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_sdk_matcher_no_patterns),
        UNIT_TEST(test_sdk_matcher_find_by_id_and_slug),
        UNIT_TEST(test_sdk_matcher_personal_account),
        UNIT_TEST(test_sdk_matcher_organization_first),
        UNIT_TEST(test_sdk_matcher_nested_multiple_nonmatching),
        UNIT_TEST(test_sdk_matcher_invalid_patterns),
        UNIT_TEST(test_sdk_request_table),
        UNIT_TEST(test_sdk_documented_examples),
        UNIT_TEST(test_case_insensitive_literals_values_kept),
        UNIT_TEST(test_trailing_delimiter),
        UNIT_TEST(test_wildcard),
        UNIT_TEST(test_parameters),
        UNIT_TEST(test_values_not_decoded),
        UNIT_TEST(test_pathname),
        UNIT_TEST(test_refused),
        UNIT_TEST(test_error_names_the_pattern),
        UNIT_TEST(test_lists),
        UNIT_TEST(test_hostile_paths),
    };
    return UNIT_RUN(tests);
}
