/*
 * URLs and origins as Clerk's SDK reads them (src/clerk_url.c): the values
 * below are what new URL(...).origin, buildAccountsBaseUrl and
 * URLSearchParams give in Node for the same inputs.
 */
#include "unit.h"

#include "clerk_url.h"

static void test_origin(void **state)
{
    apr_pool_t *p = UNIT_POOL;

    unit_assert_str(clerk_url_origin(p, "https://www.example.com/a?b#c"),
                    "https://www.example.com");
    /* lower case, and the default port dropped */
    unit_assert_str(clerk_url_origin(p, "HTTPS://WWW.Example.COM:443/"), "https://www.example.com");
    unit_assert_str(clerk_url_origin(p, "http://h:80/"), "http://h");
    unit_assert_str(clerk_url_origin(p, "http://h:443/"), "http://h:443");
    unit_assert_str(clerk_url_origin(p, "https://h:8443"), "https://h:8443");
    unit_assert_str(clerk_url_origin(p, "http://[::1]:8080/x"), "http://[::1]:8080");
    /* no origin at all */
    assert_null(clerk_url_origin(p, NULL));
    assert_null(clerk_url_origin(p, "/relative/path"));
    assert_null(clerk_url_origin(p, "not a url"));
    assert_null(clerk_url_origin(p, "https://"));
    unit_assert_str(clerk_url_origin_host(p, "https://www.example.com:8443"), "www.example.com");
    unit_assert_str(clerk_url_origin_host(p, "http://[::1]:8080"), "[::1]");
}

static void test_accounts_origin(void **state)
{
    apr_pool_t *p = UNIT_POOL;

    unit_assert_str(clerk_url_accounts_origin(p, "clerk.example.com"), "https://accounts.example.com");
    unit_assert_str(clerk_url_accounts_origin(p, "foo-bar-13.clerk.accounts.dev"),
                    "https://foo-bar-13.accounts.dev");
    unit_assert_str(clerk_url_accounts_origin(p, "foo.clerk.accountsstage.dev"),
                    "https://foo.accountsstage.dev");
    /* only the first clerk. is replaced, as String.replace without /g */
    unit_assert_str(clerk_url_accounts_origin(p, "clerk.clerk.dev"), "https://accounts.clerk.dev");
    unit_assert_str(clerk_url_accounts_origin(p, "auth.example.com"), "https://auth.example.com");
}

static void test_dev_account_portal(void **state)
{
    apr_pool_t *p = UNIT_POOL;

    assert_true(clerk_url_dev_account_portal(p, "foo-bar-13.accounts.dev"));
    assert_true(clerk_url_dev_account_portal(p, "foo-bar-13.accountsstage.dev"));
    assert_true(clerk_url_dev_account_portal(p, "accounts.foo.bar-13.lcl.dev"));
    /* another development instance's Frontend API is not an Account Portal */
    assert_false(clerk_url_dev_account_portal(p, "foo-bar-13.clerk.accounts.dev"));
    assert_false(clerk_url_dev_account_portal(p, "foo.lcl.dev"));
    assert_false(clerk_url_dev_account_portal(p, "accounts.dev"));
    assert_false(clerk_url_dev_account_portal(p, "evil.example.com"));
}

static void test_with_param(void **state)
{
    apr_pool_t *p = UNIT_POOL;

    /* append: at the end, even when the name is there */
    unit_assert_str(clerk_url_with_param(p, "https://s.test/p", "a", "1", 0), "https://s.test/p?a=1");
    unit_assert_str(clerk_url_with_param(p, "https://s.test/p?a=0", "a", "1", 0),
                    "https://s.test/p?a=0&a=1");
    /* set: in place of the first, the others dropped */
    unit_assert_str(clerk_url_with_param(p, "https://s.test/p?a=0&b=2&a=3", "a", "1", 1),
                    "https://s.test/p?a=1&b=2");
    unit_assert_str(clerk_url_with_param(p, "https://s.test/p?ab=0", "a", "1", 1),
                    "https://s.test/p?ab=0&a=1");
    unit_assert_str(clerk_url_with_param(p, "https://s.test/p?x=1#frag", "a", "b c&d", 1),
                    "https://s.test/p?x=1&a=b+c%26d#frag");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_origin),
        UNIT_TEST(test_accounts_origin),
        UNIT_TEST(test_dev_account_portal),
        UNIT_TEST(test_with_param),
    };
    return UNIT_RUN(tests);
}
