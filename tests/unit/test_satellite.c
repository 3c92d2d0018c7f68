/*
 * Satellite domains (src/clerk_satellite.c): what ClerkDomain accepts, the
 * Frontend API and issuers of a satellite, and the companions it needs,
 * decided once for the module and clerk-jwt.
 */
#include "unit.h"

#include "clerk_satellite.h"

#define PK_LIVE "pk_live_Y2xlcmsuZXhhbXBsZS5jb20k"      /* clerk.example.com */
#define PK_TEST "pk_test_Y2xlcmsuY2xlcmsuZGV2JA"        /* clerk.clerk.dev */

static clerk_publishable_key_t *key(apr_pool_t *p, const char *pk)
{
    clerk_publishable_key_t *k;
    const char *err;
    assert_int_equal(clerk_publishable_key_parse(p, pk, &k, &err), APR_SUCCESS);
    return k;
}

static void test_domain(void **state)
{
    static const char *const good[] = {"example.net", "SAT.Example.net", "a-b.c", "x"};
    static const char *const bad[] = {"", ".example.net", "-x.net", "example.net.", "a..b",
                                      "https://example.net", "example.net:443", "ex ample.net",
                                      "example.net/x", "ex\xc3\xa4mple.net"};
    char big[300];

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(clerk_satellite_domain_ok(good[i]));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(clerk_satellite_domain_ok(bad[i]));
    assert_false(clerk_satellite_domain_ok(NULL));
    memset(big, 'a', 254);
    big[254] = '\0';
    assert_false(clerk_satellite_domain_ok(big));
}

static void test_frontend_api_and_issuers(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_publishable_key_t *live = key(p, PK_LIVE), *dev = key(p, PK_TEST);
    apr_array_header_t *iss;

    /* a production satellite: clerk.<domain>, in lower case, and both issuers */
    unit_assert_str(clerk_satellite_frontend_api(p, live, 1, "Sat.Example.NET"),
                    "clerk.sat.example.net");
    iss = clerk_satellite_issuers(p, live, "clerk.sat.example.net");
    assert_int_equal(iss->nelts, 2);
    unit_assert_str(APR_ARRAY_IDX(iss, 0, const char *), "https://clerk.example.com");
    unit_assert_str(APR_ARRAY_IDX(iss, 1, const char *), "https://clerk.sat.example.net");
    /* not a satellite, no domain, or a development satellite: the key's own */
    unit_assert_str(clerk_satellite_frontend_api(p, live, 0, "sat.example.net"),
                    "clerk.example.com");
    unit_assert_str(clerk_satellite_frontend_api(p, live, 1, NULL), "clerk.example.com");
    unit_assert_str(clerk_satellite_frontend_api(p, dev, 1, "sat.example.net"),
                    "clerk.clerk.dev");
    iss = clerk_satellite_issuers(p, live, "clerk.example.com");
    assert_int_equal(iss->nelts, 1);
}

static void test_missing(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_publishable_key_t *live = key(p, PK_LIVE), *dev = key(p, PK_TEST);

    unit_assert_str(clerk_satellite_missing(live, NULL, NULL, NULL),
                    "ClerkDomain (or ClerkProxyURL)");
    assert_null(clerk_satellite_missing(live, "sat.example.net", NULL, NULL));
    assert_null(clerk_satellite_missing(live, NULL, "https://sat.example.net/__clerk", NULL));
    unit_assert_str(clerk_satellite_missing(dev, "sat.example.net", NULL, NULL),
                    "ClerkSignInURL (a development satellite)");
    assert_null(clerk_satellite_missing(dev, "sat.example.net", NULL,
                                        "https://www.example.com/sign-in"));
    /* the key not known yet: only the domain can be checked */
    assert_null(clerk_satellite_missing(NULL, "sat.example.net", NULL, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_domain),
        UNIT_TEST(test_frontend_api_and_issuers),
        UNIT_TEST(test_missing),
    };
    return UNIT_RUN(tests);
}
