/*
 * The browser flow of clerk_authenticate_request beyond the production
 * cookie table (clerk_browser_flow.c, issue 12): development instances (the
 * dev browser token, dev-browser-missing / dev-browser-sync, the one-day
 * retry of a development handshake's session, the 307 back to the clean
 * URL), the SDK's request-level reasons, silent refresh, satellite domains,
 * primary-responds-to-syncing, the cross-origin check, __session and
 * __clerk_db_jwt in the handshake URL.
 *
 * Expected values come from @clerk/backend (packages/backend/src/tokens/
 * request.ts, handshake.ts, authenticateContext.ts) where the module follows
 * it, and from the comments of clerk_browser_flow.c where it is stricter.
 * The caller's side is the scripted fake of auth_fake.h.
 */
#include "auth_fake.h"

#define DEV_BASE "https://clerk.clerk.dev"             /* PK_TEST's Frontend API */
#define SAT_FAPI "clerk.satellite.net"
#define SAT_BASE "https://" SAT_FAPI
#define SAT_SIGN_IN "https://primary.example.net/sign-in"
#define SYNC_BACK "https://sat.example.net/page?x=1"
#define CROSS_MESSAGE "Cross-origin request from satellite domain requires handshake"
#define REFRESHED "__session=new.tok.en; Path=/; Secure"
#define REFRESHED_UAT "__client_uat=1700000300; Path=/"

/* The handshake Location for this test's page at the Frontend API base. */
#define HS_AT(base, reason, suffixed)                                                    \
    base "/v1/client/handshake?redirect_url=" PAGE_URL_ENC                              \
         "&__clerk_api_version=" CLERK_BACKEND_API_VERSION "&suffixed_cookies=" suffixed \
         "&__clerk_hs_reason=" reason "&format=nonce"

#define EXPIRED_WITH(why) "session-token-expired-refresh-" why

/* The instance's __refresh_<suffix> cookie, set to value. */
static const char *refresh_cookie(apr_pool_t *p, const clerk_auth_settings_t *s, const char *value)
{
    return apr_pstrcat(p, "__refresh_", s->instance->cookie_suffix, "=", value, NULL);
}

static clerk_auth_settings_t satellite_section(apr_pool_t *p, const char *key)
{
    clerk_auth_settings_t s = browser_section(p, key);

    s.satellite = 1;
    s.frontend_api_base = SAT_BASE;
    s.instance_fapi = SAT_FAPI;
    return s;
}

/* The question-free endings: nothing verified, nothing asked of the Backend API. */
static void expect_no_calls(const fake_t *f)
{
    assert_int_equal(f->ncalls, 0);
    assert_int_equal(f->exchange_calls + f->acquire_calls + f->refresh_calls, 0);
}

/* ------------------------------------------------------------ development: the dev browser */

static void test_dev_browser_missing(void **state)
{
    AUTH_CASE(browser_section(p, PK_TEST), page_view());

    valid(&f, "ck.tok.en", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    /* a valid session, but no dev browser: the SDK syncs first, before any verification */
    v.cookies = "__session=ck.tok.en; __client_uat=" UAT_BEFORE;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_HANDSHAKE, CLERK_SESSION_TOKEN_MISSING);
    unit_assert_str(o.handshake_reason, "dev-browser-missing");
    unit_assert_str(o.sdk_reason, "dev-browser-missing");
    assert_null(o.message);
    unit_assert_str(o.location, HS_AT(DEV_BASE, "dev-browser-missing", "false")
                                    "&__session=ck.tok.en");
    expect_strings(o.set_cookies, REDIRECT_COUNT_1, NULL);
    assert_int_equal(o.warnings->nelts, 0);
    assert_false(o.handshake_resolved);
    expect_no_calls(&f);

    /* no cookies at all: still dev-browser-missing (before session-token-and-uat-missing) */
    v.cookies = NULL;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_HANDSHAKE, CLERK_SESSION_TOKEN_MISSING);
    unit_assert_str(o.handshake_reason, "dev-browser-missing");
    unit_assert_str(o.location, HS_AT(DEV_BASE, "dev-browser-missing", "false"));

    /* fetch()/XHR: signed out for the same reason, no redirect */
    v = xhr_view();
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_SESSION_TOKEN_MISSING);
    unit_assert_str(o.sdk_reason, "dev-browser-missing");
    unit_assert_str(o.detail, "no handshake (dev-browser-missing): not a navigation request");
    assert_null(o.location);
    assert_int_equal(o.set_cookies->nelts, 0);
    expect_no_calls(&f);
}

static void test_dev_browser_sync(void **state)
{
    AUTH_CASE(browser_section(p, PK_TEST), page_view());

    valid(&f, "ck.tok.en", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    /* a token in the query: synced first, even with a valid session; the query's wins */
    v.dev_browser = "dvb_query";
    v.cookies = "__clerk_db_jwt=dvb_cookie; __session=ck.tok.en; __client_uat=" UAT_BEFORE;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_HANDSHAKE, CLERK_SESSION_TOKEN_MISSING);
    unit_assert_str(o.handshake_reason, "dev-browser-sync");
    unit_assert_str(o.sdk_reason, "dev-browser-sync");
    assert_null(o.message);
    unit_assert_str(o.location, HS_AT(DEV_BASE, "dev-browser-sync", "false")
                                    "&__session=ck.tok.en&__clerk_db_jwt=dvb_query");
    expect_strings(o.set_cookies, REDIRECT_COUNT_1, NULL);
    expect_no_calls(&f);

    /* without the query token, the cookie's: the ordinary table, signed in */
    v.dev_browser = NULL;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
    assert_null(o.location);
    assert_int_equal(o.set_cookies->nelts, 0);
    assert_int_equal(f.verify_calls, 1);

    /* a production instance has no dev browser: the query token means nothing */
    s = browser_section(p, PK_LIVE);
    v.dev_browser = "dvb_query";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
    assert_null(o.location);
    assert_int_equal(f.verify_calls, 2);
}

static void test_dev_browser_suffix_rule(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_auth_settings_t s = browser_section(p, PK_TEST);
    clerk_request_view_t v = page_view();
    const char *sfx = s.instance->cookie_suffix;
    clerk_auth_outcome_t o;
    fake_t f;

    fake_init(&f, p);
    answer(&f, "sfx.tok.en", CLERK_STEP_DONE, CLERK_TOKEN_EXPIRED, 0);
    answer(&f, "ck.tok.en", CLERK_STEP_DONE, CLERK_TOKEN_EXPIRED, 0);
    /* the suffixed pair is read: so is the suffixed __clerk_db_jwt_<suffix> */
    v.cookies = apr_pstrcat(p, s.session_cookie, "=sfx.tok.en; ", s.uat_cookie, "=" UAT_BEFORE
                            "; __clerk_db_jwt=dvb_plain; __clerk_db_jwt_", sfx, "=dvb_sfx", NULL);
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_HANDSHAKE, CLERK_TOKEN_EXPIRED);
    unit_assert_str(o.location, HS_AT(DEV_BASE, EXPIRED_REASON, "true")
                                    "&__session=sfx.tok.en&__clerk_db_jwt=dvb_sfx");
    expect_call(&f, 0, "verify", "sfx.tok.en", CLERK_TYPE_SESSION, "cookie");

    /* the suffixed pair with only the plain dev browser cookie: none */
    v.cookies = apr_pstrcat(p, s.session_cookie, "=sfx.tok.en; ", s.uat_cookie, "=" UAT_BEFORE
                            "; __clerk_db_jwt=dvb_plain", NULL);
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_HANDSHAKE, CLERK_SESSION_TOKEN_MISSING);
    unit_assert_str(o.handshake_reason, "dev-browser-missing");
    unit_assert_str(o.location, HS_AT(DEV_BASE, "dev-browser-missing", "true")
                                    "&__session=sfx.tok.en");
    assert_int_equal(f.verify_calls, 1);

    /* the plain pair: the plain dev browser cookie, not the suffixed one */
    v.cookies = apr_pstrcat(p, "__session=ck.tok.en; __client_uat=" UAT_BEFORE
                            "; __clerk_db_jwt=dvb_plain; __clerk_db_jwt_", sfx, "=dvb_sfx", NULL);
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_HANDSHAKE, CLERK_TOKEN_EXPIRED);
    unit_assert_str(o.location, HS_AT(DEV_BASE, EXPIRED_REASON, "false")
                                    "&__session=ck.tok.en&__clerk_db_jwt=dvb_plain");
    expect_call(&f, 1, "verify", "ck.tok.en", CLERK_TYPE_SESSION, "cookie");
    assert_int_equal(f.verify_calls, 2);
}

static void test_production_handshake_without_dev_browser(void **state)
{
    AUTH_CASE(browser_section(p, PK_LIVE), page_view());

    /* a production handshake never carries a dev browser token, even one in a cookie */
    v.dev_browser = "dvb_query";
    v.cookies = "__clerk_db_jwt=dvb_1; __client_uat=" UAT_AFTER;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_HANDSHAKE, CLERK_SESSION_TOKEN_MISSING);
    unit_assert_str(o.handshake_reason, "client-uat-but-no-session-token");
    unit_assert_str(o.location, HS_LOCATION("client-uat-but-no-session-token", "false"));
    expect_no_calls(&f);
}

/* ------------------------------------------------------------ development: handshake results */

static void test_dev_handshake_resolved(void **state)
{
    AUTH_CASE(browser_section(p, PK_TEST), page_view());

    valid(&f, "hs.tok.en", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    f.directives = unit_strings(p, "__session=hs.tok.en; Path=/",
                                "__client_uat=" UAT_BEFORE "; Path=/", NULL);
    v.handshake_nonce = NONCE;
    v.cookies = "__clerk_db_jwt=dvb_1";
    o = run(p, &v, &s, &f);
    /* signed in, and a 307 to the URL without the handshake parameters (as the SDK) */
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
    unit_assert_str(o.location, PAGE_URL);
    assert_true(o.handshake_resolved);
    unit_assert_str(o.handshake_session, "hs.tok.en");
    unit_assert_str(o.detail, "handshake resolved: back to the URL without its parameters");
    expect_strings(o.set_cookies, "__session=hs.tok.en; Path=/",
                   "__client_uat=" UAT_BEFORE "; Path=/", NULL);
    assert_null(o.handshake_reason);
    assert_int_equal(f.exchange_calls, 1);
    assert_int_equal(f.ncalls, 1);
    assert_int_equal(f.calls[0].skew, -1);

    /* a signed-out client: signed out, still sent back to the clean URL */
    fake_init(&f, p);
    f.directives = unit_strings(p, "__client_uat=0; Path=/", NULL);
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_SESSION_TOKEN_MISSING);
    unit_assert_str(o.sdk_reason, "session-token-missing");
    unit_assert_str(o.location, PAGE_URL);
    assert_true(o.handshake_resolved);
    expect_strings(o.set_cookies, "__client_uat=0; Path=/", NULL);
    assert_int_equal(f.ncalls, 0);

    /* production: the same result, no redirect */
    s = browser_section(p, PK_LIVE);
    fake_init(&f, p);
    valid(&f, "hs.tok.en", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    f.directives = unit_strings(p, "__session=hs.tok.en; Path=/", NULL);
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
    assert_null(o.location);
    assert_true(o.handshake_resolved);
    expect_strings(o.set_cookies, "__session=hs.tok.en; Path=/", NULL);
}

static void test_dev_handshake_clock_skew_retry(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_auth_settings_t s = browser_section(p, PK_TEST);
    clerk_request_view_t v = page_view();
    static const clerk_reason_t on_time[] = {CLERK_TOKEN_EXPIRED, CLERK_TOKEN_NOT_ACTIVE_YET,
                                             CLERK_TOKEN_IAT_IN_THE_FUTURE};
    clerk_auth_outcome_t o;
    fake_t f;

    s.accept_types = CLERK_TYPE_ALL;
    v.handshake_nonce = NONCE;
    v.cookies = "__clerk_db_jwt=dvb_1";
    for (size_t i = 0; i < sizeof(on_time) / sizeof(on_time[0]); i++) {
        fake_init(&f, p);
        answer_at_skew(&f, "hs.tok.en", 86400, CLERK_OK);
        answer(&f, "hs.tok.en", CLERK_STEP_DONE, on_time[i], 0);
        f.directives = unit_strings(p, "__session=hs.tok.en; Path=/", NULL);
        o = run(p, &v, &s, &f);
        /* failed on time: verified again with a day's tolerance, and signed in */
        expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
        unit_assert_str(o.handshake_session, "hs.tok.en");
        unit_assert_str(o.location, PAGE_URL);
        assert_true(o.handshake_resolved);
        expect_strings(o.set_cookies, "__session=hs.tok.en; Path=/", NULL);
        assert_int_equal(o.warnings->nelts, 0);
        assert_int_equal(f.verify_calls, 2);
        expect_call(&f, 0, "verify", "hs.tok.en", CLERK_TYPE_SESSION, "handshake");
        expect_call(&f, 1, "verify", "hs.tok.en", CLERK_TYPE_SESSION, "handshake");
        assert_int_equal(f.calls[0].skew, -1);
        assert_int_equal(f.calls[1].skew, 86400);
    }

    /* still failing after the retry: the result is dropped and the cookies decide */
    fake_init(&f, p);
    answer(&f, "hs.tok.en", CLERK_STEP_DONE, CLERK_TOKEN_EXPIRED, 0);
    f.directives = unit_strings(p, "__session=hs.tok.en; Path=/", NULL);
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_SESSION_TOKEN_MISSING);
    unit_assert_str(o.sdk_reason, "session-token-and-uat-missing");
    assert_null(o.location);
    assert_false(o.handshake_resolved);
    assert_null(o.handshake_session);
    assert_int_equal(o.set_cookies->nelts, 0);
    expect_strings(o.warnings, "the handshake's session was rejected (token-expired), "
                               "continuing with the cookies", NULL);
    assert_int_equal(f.verify_calls, 2);
    assert_int_equal(f.last_skew, 86400);

    /* a failure not on time is not retried */
    fake_init(&f, p);
    answer(&f, "hs.tok.en", CLERK_STEP_DONE, CLERK_TOKEN_INVALID_SIGNATURE, 0);
    f.directives = unit_strings(p, "__session=hs.tok.en; Path=/", NULL);
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_SESSION_TOKEN_MISSING);
    expect_strings(o.warnings, "the handshake's session was rejected (token-invalid-signature), "
                               "continuing with the cookies", NULL);
    assert_int_equal(f.verify_calls, 1);
    assert_int_equal(f.last_skew, -1);

    /* no keys for the retry: 503, nothing set */
    fake_init(&f, p);
    answer(&f, "hs.tok.en", CLERK_STEP_UNAVAILABLE, CLERK_OK, 8);
    answer(&f, "hs.tok.en", CLERK_STEP_DONE, CLERK_TOKEN_EXPIRED, 0);
    f.answers[0].skew = 86400;
    f.directives = unit_strings(p, "__session=hs.tok.en; Path=/", NULL);
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_UNAVAILABLE, CLERK_JWK_FAILED_TO_RESOLVE);
    assert_int_equal(o.retry_after, 8);
    assert_int_equal(o.set_cookies->nelts, 0);
    assert_int_equal(f.verify_calls, 2);

    /* production: no retry */
    s = browser_section(p, PK_LIVE);
    fake_init(&f, p);
    answer_at_skew(&f, "hs.tok.en", 86400, CLERK_OK);
    answer(&f, "hs.tok.en", CLERK_STEP_DONE, CLERK_TOKEN_EXPIRED, 0);
    f.directives = unit_strings(p, "__session=hs.tok.en; Path=/", NULL);
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_SESSION_TOKEN_MISSING);
    assert_int_equal(o.set_cookies->nelts, 0);
    assert_false(o.handshake_resolved);
    assert_int_equal(f.verify_calls, 1);
    assert_int_equal(f.last_skew, -1);
}

static void test_rejected_handshake_falls_back(void **state)
{
    AUTH_CASE(browser_section(p, PK_LIVE), page_view());

    answer(&f, "hs.tok.en", CLERK_STEP_DONE, CLERK_TOKEN_INVALID_ISSUER, 0);
    valid(&f, "old.tok.en", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    f.directives = unit_strings(p, "__session=hs.tok.en; Path=/", "__client_uat=1; Path=/", NULL);
    v.handshake_nonce = NONCE;
    v.cookies = "__session=old.tok.en; __client_uat=" UAT_BEFORE;
    o = run(p, &v, &s, &f);
    /* the SDK throws, logs and goes on: the old cookie decides, none of the result is set */
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
    unit_assert_str(o.carrier, "cookie");
    unit_assert_str(o.token, "old.tok.en");
    assert_null(o.handshake_session);
    assert_false(o.handshake_resolved);
    assert_null(o.location);
    assert_int_equal(o.set_cookies->nelts, 0);
    expect_strings(o.warnings, "the handshake's session was rejected (token-invalid-issuer), "
                               "continuing with the cookies", NULL);
    assert_int_equal(f.verify_calls, 2);
    expect_call(&f, 0, "verify", "hs.tok.en", CLERK_TYPE_SESSION, "handshake");
    expect_call(&f, 1, "verify", "old.tok.en", CLERK_TYPE_SESSION, "cookie");
}

/* ------------------------------------------------------------ request-level reasons */

static void test_request_level_reasons(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_auth_settings_t s = browser_section(p, PK_LIVE);
    static const struct {
        int xhr;
        const char *method, *cookies, *authorization;
        clerk_auth_state_t st;
        clerk_reason_t reason;
        const char *sdk_reason, *message, *location, *detail;
        int verified;
    } rows[] = {
        {0, "GET", NULL, NULL, CLERK_AUTH_SIGNED_OUT, CLERK_SESSION_TOKEN_MISSING,
         "session-token-and-uat-missing", NULL, NULL, "no session cookies", 0},
        {0, "GET", "__session=ck.tok.en", NULL, CLERK_AUTH_HANDSHAKE,
         CLERK_SESSION_TOKEN_MISSING, "session-token-but-no-client-uat", NULL,
         HS_LOCATION("session-token-but-no-client-uat", "false") "&__session=ck.tok.en",
         "handshake: session-token-but-no-client-uat", 0},
        {0, "GET", "__client_uat=" UAT_BEFORE, NULL, CLERK_AUTH_HANDSHAKE,
         CLERK_SESSION_TOKEN_MISSING, "client-uat-but-no-session-token", NULL,
         HS_LOCATION("client-uat-but-no-session-token", "false"),
         "handshake: client-uat-but-no-session-token", 0},
        {0, "GET", "__session=ck.tok.en; __client_uat=" UAT_AFTER, NULL, CLERK_AUTH_HANDSHAKE,
         CLERK_SESSION_TOKEN_MISSING, "session-token-iat-before-client-uat", NULL,
         HS_LOCATION("session-token-iat-before-client-uat", "false") "&__session=ck.tok.en",
         "handshake: session-token-iat-before-client-uat", 1},
        {0, "GET", "__session=nbf.tok.en; __client_uat=" UAT_BEFORE, NULL, CLERK_AUTH_HANDSHAKE,
         CLERK_TOKEN_NOT_ACTIVE_YET, "session-token-nbf", NULL,
         HS_LOCATION("session-token-nbf", "false") "&__session=nbf.tok.en",
         "handshake: session-token-nbf", 1},
        {0, "GET", "__session=fut.tok.en; __client_uat=" UAT_BEFORE, NULL, CLERK_AUTH_HANDSHAKE,
         CLERK_TOKEN_IAT_IN_THE_FUTURE, "session-token-iat-in-the-future", NULL,
         HS_LOCATION("session-token-iat-in-the-future", "false") "&__session=fut.tok.en",
         "handshake: session-token-iat-in-the-future", 1},
        {0, "GET", "__session=exp.tok.en; __client_uat=" UAT_BEFORE, NULL, CLERK_AUTH_HANDSHAKE,
         CLERK_TOKEN_EXPIRED, EXPIRED_REASON, NULL,
         HS_LOCATION(EXPIRED_REASON, "false") "&__session=exp.tok.en",
         "handshake: " EXPIRED_REASON, 1},
        /* a POST is never refreshed, nor redirected */
        {0, "POST", "__session=exp.tok.en; __client_uat=" UAT_BEFORE, NULL,
         CLERK_AUTH_SIGNED_OUT, CLERK_TOKEN_EXPIRED,
         EXPIRED_WITH("non-eligible-non-get"), NULL, NULL,
         "no handshake (" EXPIRED_WITH("non-eligible-non-get") "): not a navigation request", 1},
        {0, "POST", NULL, "Bearer exp.tok.en", CLERK_AUTH_SIGNED_OUT, CLERK_TOKEN_EXPIRED,
         EXPIRED_WITH("non-eligible-non-get"), NULL, NULL,
         "no handshake (" EXPIRED_WITH("non-eligible-non-get") "): not a navigation request", 1},
        /* fetch()/XHR: the reason is kept on the signed-out answer */
        {1, "GET", "__session=nbf.tok.en; __client_uat=" UAT_BEFORE, NULL, CLERK_AUTH_SIGNED_OUT,
         CLERK_TOKEN_NOT_ACTIVE_YET, "session-token-nbf", NULL, NULL,
         "no handshake (session-token-nbf): not a navigation request", 1},
        {1, "GET", "__session=exp.tok.en; __client_uat=" UAT_BEFORE, NULL,
         CLERK_AUTH_SIGNED_OUT, CLERK_TOKEN_EXPIRED, EXPIRED_REASON,
         NULL, NULL,
         "no handshake (" EXPIRED_REASON "): not a navigation request", 1},
        {1, "GET", "__client_uat=" UAT_BEFORE, NULL, CLERK_AUTH_SIGNED_OUT,
         CLERK_SESSION_TOKEN_MISSING, "client-uat-but-no-session-token", NULL, NULL,
         "no handshake (client-uat-but-no-session-token): not a navigation request", 0},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        clerk_request_view_t v = rows[i].xhr ? xhr_view() : page_view();
        clerk_auth_outcome_t o;
        fake_t f;

        fake_init(&f, p);
        valid(&f, "ck.tok.en", SESSION_CLAIMS, CLERK_TYPE_SESSION);
        answer(&f, "nbf.tok.en", CLERK_STEP_DONE, CLERK_TOKEN_NOT_ACTIVE_YET, 0);
        answer(&f, "fut.tok.en", CLERK_STEP_DONE, CLERK_TOKEN_IAT_IN_THE_FUTURE, 0);
        answer(&f, "exp.tok.en", CLERK_STEP_DONE, CLERK_TOKEN_EXPIRED, 0);
        v.method = rows[i].method;
        v.cookies = rows[i].cookies;
        v.authorization = rows[i].authorization;
        o = run(p, &v, &s, &f);
        if (o.state != rows[i].st)
            fail_msg("row %zu: state %s", i, clerk_auth_state_name(o.state));
        unit_assert_reason(o.reason, rows[i].reason);
        unit_assert_str(o.sdk_reason, rows[i].sdk_reason);
        unit_assert_str(o.message, rows[i].message);
        unit_assert_str(o.location, rows[i].location);
        unit_assert_str(o.detail, rows[i].detail);
        if (rows[i].st == CLERK_AUTH_HANDSHAKE) {
            unit_assert_str(o.handshake_reason, rows[i].sdk_reason);
            expect_strings(o.set_cookies, REDIRECT_COUNT_1, NULL);
        }
        else
            assert_int_equal(o.set_cookies->nelts, 0);
        assert_int_equal(f.verify_calls, rows[i].verified);
        assert_int_equal(f.refresh_calls + f.exchange_calls + f.acquire_calls, 0);
        assert_int_equal(o.warnings->nelts, 0);
    }
}

static void test_iat_before_uat_before_expiry(void **state)
{
    AUTH_CASE(browser_section(p, PK_LIVE), page_view());
    /* a readable (unverified) iat of 1700000100, as the SDK's decodeJwt reads it */
    const char *old = handshake_token(p, SESSION_CLAIMS);
    const char *no_iat = handshake_token(p, "{\"sub\":\"user_1\",\"sid\":\"sess_1\"}");

    answer(&f, old, CLERK_STEP_DONE, CLERK_TOKEN_EXPIRED, 0);
    answer(&f, no_iat, CLERK_STEP_DONE, CLERK_TOKEN_EXPIRED, 0);
    f.refresh_cookies = unit_strings(p, REFRESHED, NULL);
    /* expired, and issued before the client's last change: the SDK checks iat first */
    v.cookies = apr_pstrcat(p, "__session=", old, "; __client_uat=" UAT_AFTER "; ",
                            refresh_cookie(p, &s, "rt_1"), NULL);
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_HANDSHAKE, CLERK_SESSION_TOKEN_MISSING);
    unit_assert_str(o.handshake_reason, "session-token-iat-before-client-uat");
    unit_assert_str(o.location, apr_pstrcat(p, HS_LOCATION("session-token-iat-before-client-uat",
                                                           "false"),
                                            "&__session=", old, NULL));
    assert_int_equal(f.refresh_calls, 0);

    /* a token without an iat is not "before": its expiry decides (here: refreshed) */
    valid(&f, "new.tok.en", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    v.cookies = apr_pstrcat(p, "__session=", no_iat, "; __client_uat=" UAT_AFTER "; ",
                            refresh_cookie(p, &s, "rt_1"), NULL);
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
    unit_assert_str(o.token, "new.tok.en");
    assert_int_equal(f.refresh_calls, 1);
}

/* ------------------------------------------------------------ silent refresh */

static void test_refresh_signed_in(void **state)
{
    AUTH_CASE(browser_section(p, PK_LIVE), page_view());

    s.accept_types = CLERK_TYPE_ALL;
    answer(&f, "ck.tok.en", CLERK_STEP_DONE, CLERK_TOKEN_EXPIRED, 0);
    valid(&f, "new.tok.en", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    /* only Clerk's cookies for this host are set (stricter than the SDK, as for a handshake) */
    f.refresh_cookies = unit_strings(p, REFRESHED, "admin=1; Path=/", REFRESHED_UAT,
                                     "__client_uat=1; Domain=evil.com", NULL);
    v.cookies = apr_pstrcat(p, "__session=ck.tok.en; __client_uat=" UAT_BEFORE "; ",
                            refresh_cookie(p, &s, "rt_1"), NULL);
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
    unit_assert_str(o.user, "user_1");
    unit_assert_str(o.token, "new.tok.en");
    unit_assert_str(o.carrier, "refresh");
    unit_assert_str(o.handshake_session, "new.tok.en");
    assert_null(o.location);
    assert_null(o.sdk_reason);
    assert_null(o.handshake_reason);
    assert_false(o.handshake_resolved);
    expect_strings(o.set_cookies, REFRESHED, REFRESHED_UAT, NULL);
    assert_int_equal(o.warnings->nelts, 0);
    assert_int_equal(f.refresh_calls, 1);
    unit_assert_str(f.refresh_asked, "ck.tok.en");
    unit_assert_str(f.refresh_token_asked, "rt_1");
    assert_false(f.refresh_suffixed);
    assert_int_equal(f.ncalls, 2);
    expect_call(&f, 0, "verify", "ck.tok.en", CLERK_TYPE_SESSION, "cookie");
    expect_call(&f, 1, "verify", "new.tok.en", CLERK_TYPE_SESSION, "refresh");
    assert_int_equal(f.calls[1].skew, -1);

    /* not only page views: a fetch() GET is refreshed too (no redirect involved) */
    v = xhr_view();
    v.cookies = apr_pstrcat(p, "__session=ck.tok.en; __client_uat=" UAT_BEFORE "; ",
                            refresh_cookie(p, &s, "rt_1"), NULL);
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
    unit_assert_str(o.carrier, "refresh");
    assert_int_equal(f.refresh_calls, 2);

    /* the suffixed pair: the Backend API is told so */
    v.cookies = apr_pstrcat(p, s.session_cookie, "=ck.tok.en; ", s.uat_cookie, "=" UAT_BEFORE
                            "; ", refresh_cookie(p, &s, "rt_2"), NULL);
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
    assert_true(f.refresh_suffixed);
    unit_assert_str(f.refresh_token_asked, "rt_2");
    assert_int_equal(f.refresh_calls, 3);
}

static void test_refresh_header_token(void **state)
{
    AUTH_CASE(browser_section(p, PK_LIVE), xhr_view());

    answer(&f, "hdr.tok.en", CLERK_STEP_DONE, CLERK_TOKEN_EXPIRED, 0);
    valid(&f, "new.tok.en", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    f.refresh_cookies = unit_strings(p, REFRESHED, NULL);
    v.authorization = "Bearer hdr.tok.en";
    v.cookies = refresh_cookie(p, &s, "rt_1");
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
    unit_assert_str(o.token, "new.tok.en");
    unit_assert_str(f.refresh_asked, "hdr.tok.en");
    expect_strings(o.set_cookies, REFRESHED, NULL);

    /* the SDK's sessionToken is the cookie's, else the header's */
    v.cookies = apr_pstrcat(p, "__session=ck.tok.en; __client_uat=" UAT_BEFORE "; ",
                            refresh_cookie(p, &s, "rt_1"), NULL);
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
    unit_assert_str(f.refresh_asked, "ck.tok.en");
    assert_int_equal(f.refresh_calls, 2);
    expect_call(&f, 2, "verify", "hdr.tok.en", CLERK_TYPE_SESSION, "header");
}

static void test_refresh_not_eligible(void **state)
{
    AUTH_CASE(browser_section(p, PK_LIVE), page_view());

    answer(&f, "ck.tok.en", CLERK_STEP_DONE, CLERK_TOKEN_EXPIRED, 0);
    answer(&f, "nbf.tok.en", CLERK_STEP_DONE, CLERK_TOKEN_NOT_ACTIVE_YET, 0);
    answer(&f, "bad.tok.en", CLERK_STEP_DONE, CLERK_TOKEN_INVALID_SIGNATURE, 0);
    f.refresh_cookies = unit_strings(p, REFRESHED, NULL);

    /* a HEAD is not a GET */
    v.method = "HEAD";
    v.cookies = apr_pstrcat(p, "__session=ck.tok.en; __client_uat=" UAT_BEFORE "; ",
                            refresh_cookie(p, &s, "rt_1"), NULL);
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_TOKEN_EXPIRED);
    unit_assert_str(o.sdk_reason, EXPIRED_WITH("non-eligible-non-get"));

    /* the unsuffixed __refresh is not the SDK's refresh cookie */
    v.method = "GET";
    v.cookies = "__session=ck.tok.en; __client_uat=" UAT_BEFORE "; __refresh=rt_1";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_HANDSHAKE, CLERK_TOKEN_EXPIRED);
    unit_assert_str(o.handshake_reason, EXPIRED_REASON);

    /* only an expired session is refreshed */
    v.cookies = apr_pstrcat(p, "__session=nbf.tok.en; __client_uat=" UAT_BEFORE "; ",
                            refresh_cookie(p, &s, "rt_1"), NULL);
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_HANDSHAKE, CLERK_TOKEN_NOT_ACTIVE_YET);
    unit_assert_str(o.handshake_reason, "session-token-nbf");
    v.cookies = apr_pstrcat(p, "__session=bad.tok.en; __client_uat=" UAT_BEFORE "; ",
                            refresh_cookie(p, &s, "rt_1"), NULL);
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_TOKEN_INVALID_SIGNATURE);
    assert_null(o.sdk_reason);
    assert_int_equal(o.set_cookies->nelts, 0);
    assert_int_equal(f.refresh_calls, 0);
    assert_int_equal(f.verify_calls, 4);
}

static void test_refresh_failures(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    static const struct {
        int has_secret;
        const char *cookie, *error;     /* what refresh_session gives */
        clerk_reason_t new_reason;      /* the new session's verdict */
        const char *why;
        int refreshed, verified;
    } rows[] = {
        {0, REFRESHED, NULL, CLERK_OK, "missing-api-client", 0, 1},
        {1, NULL, "fetch-error", CLERK_OK, "fetch-error", 1, 1},
        {1, NULL, "unexpected-bapi-error", CLERK_OK, "unexpected-bapi-error", 1, 1},
        {1, NULL, NULL, CLERK_OK, "unexpected-sdk-error", 1, 1},
        {1, "", NULL, CLERK_OK, "unexpected-sdk-error", 1, 1},
        {1, REFRESHED_UAT, NULL, CLERK_OK, "invalid-session-token", 1, 1},
        {1, "__session=new.tok.en; Domain=evil.com", NULL, CLERK_OK, "invalid-session-token", 1, 1},
        {1, REFRESHED, NULL, CLERK_TOKEN_INVALID_SIGNATURE, "invalid-session-token", 1, 2},
        {1, REFRESHED, NULL, CLERK_TOKEN_EXPIRED, "invalid-session-token", 1, 2},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        clerk_auth_settings_t s = browser_section(p, PK_LIVE);
        clerk_request_view_t v = page_view();
        const char *why = apr_pstrcat(p, "session-token-expired-refresh-", rows[i].why, NULL);
        clerk_auth_outcome_t o;
        fake_t f;

        s.has_secret = rows[i].has_secret;
        fake_init(&f, p);
        answer(&f, "ck.tok.en", CLERK_STEP_DONE, CLERK_TOKEN_EXPIRED, 0);
        answer(&f, "new.tok.en", CLERK_STEP_DONE, rows[i].new_reason, 0);
        f.refresh_cookies = !rows[i].cookie ? NULL
                            : *rows[i].cookie ? unit_strings(p, rows[i].cookie, NULL)
                                              : unit_strings(p, NULL);
        f.refresh_error = rows[i].error;
        v.cookies = apr_pstrcat(p, "__session=ck.tok.en; __client_uat=" UAT_BEFORE "; ",
                                refresh_cookie(p, &s, "rt_1"), NULL);
        o = run(p, &v, &s, &f);
        /* the handshake instead, with the refresh's error in its reason; nothing of it set */
        if (o.state != CLERK_AUTH_HANDSHAKE)
            fail_msg("row %zu: state %s", i, clerk_auth_state_name(o.state));
        unit_assert_reason(o.reason, CLERK_TOKEN_EXPIRED);
        unit_assert_str(o.handshake_reason, why);
        assert_null(o.message);
        unit_assert_str(o.location, apr_pstrcat(p, FAPI_BASE "/v1/client/handshake?redirect_url="
                                                PAGE_URL_ENC "&__clerk_api_version="
                                                CLERK_BACKEND_API_VERSION
                                                "&suffixed_cookies=false&__clerk_hs_reason=",
                                                why, "&format=nonce&__session=ck.tok.en", NULL));
        expect_strings(o.set_cookies, REDIRECT_COUNT_1, NULL);
        assert_null(o.handshake_session);
        assert_int_equal(f.refresh_calls, rows[i].refreshed);
        assert_int_equal(f.verify_calls, rows[i].verified);
        if (rows[i].verified == 2)
            expect_call(&f, 1, "verify", "new.tok.en", CLERK_TYPE_SESSION, "refresh");
    }
}

static void test_refresh_unavailable(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_auth_settings_t s = browser_section(p, PK_LIVE);
    clerk_request_view_t v = page_view();
    clerk_auth_outcome_t o;
    fake_t f;

    v.cookies = apr_pstrcat(p, "__session=ck.tok.en; __client_uat=" UAT_BEFORE "; ",
                            refresh_cookie(p, &s, "rt_1"), NULL);
    fake_init(&f, p);
    answer(&f, "ck.tok.en", CLERK_STEP_DONE, CLERK_TOKEN_EXPIRED, 0);
    f.refresh_step = CLERK_STEP_UNAVAILABLE;
    f.refresh_retry = 6;
    f.refresh_cookies = unit_strings(p, REFRESHED, NULL);
    o = run(p, &v, &s, &f);
    /* the Backend API did not answer (or its budget is spent): 503, not a handshake */
    expect_state(o, CLERK_AUTH_UNAVAILABLE, CLERK_OK);
    assert_int_equal(o.retry_after, 6);
    assert_int_equal(o.set_cookies->nelts, 0);
    assert_null(o.handshake_reason);
    f.refresh_step = CLERK_STEP_BROKEN;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_BROKEN, CLERK_OK);
    assert_int_equal(f.refresh_calls, 2);
    assert_int_equal(f.verify_calls, 2);

    /* no keys for the new session: 503 for want of keys, its cookies not set */
    fake_init(&f, p);
    answer(&f, "ck.tok.en", CLERK_STEP_DONE, CLERK_TOKEN_EXPIRED, 0);
    answer(&f, "new.tok.en", CLERK_STEP_UNAVAILABLE, CLERK_OK, 2);
    f.refresh_cookies = unit_strings(p, REFRESHED, NULL);
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_UNAVAILABLE, CLERK_JWK_FAILED_TO_RESOLVE);
    assert_int_equal(o.retry_after, 2);
    assert_int_equal(o.set_cookies->nelts, 0);
    assert_int_equal(f.refresh_calls, 1);
    assert_int_equal(f.verify_calls, 2);
}

/* ------------------------------------------------------------ satellites */

static void test_satellite_production(void **state)
{
    AUTH_CASE(satellite_section(p, PK_LIVE), page_view());

    valid(&f, "ck.tok.en", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    /* no cookies, ClerkSatelliteAutoSync Off (the SDK's default): signed out, no sync */
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_SESSION_TOKEN_MISSING);
    unit_assert_str(o.sdk_reason, "session-token-and-uat-missing");
    unit_assert_str(o.detail, "satellite without cookies (ClerkSatelliteAutoSync Off)");
    assert_null(o.location);
    assert_int_equal(o.set_cookies->nelts, 0);

    /* ... unless the primary sent it back with __clerk_synced=false */
    v.url = "https://www.example.com/account?__clerk_synced=false";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_HANDSHAKE, CLERK_SESSION_TOKEN_MISSING);
    unit_assert_str(o.handshake_reason, "satellite-needs-syncing");
    unit_assert_str(o.location, SAT_BASE "/v1/client/handshake?redirect_url="
                                "https%3a%2f%2fwww.example.com%2faccount%3f__clerk_synced%3dfalse"
                                "&__clerk_api_version=" CLERK_BACKEND_API_VERSION
                                "&suffixed_cookies=false&__clerk_hs_reason=satellite-needs-syncing"
                                "&format=nonce");
    expect_strings(o.set_cookies, REDIRECT_COUNT_1, NULL);

    /* __clerk_synced=false syncs even with cookies (and the session goes along) */
    v.cookies = "__session=ck.tok.en; __client_uat=" UAT_BEFORE;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_HANDSHAKE, CLERK_SESSION_TOKEN_MISSING);
    unit_assert_str(o.handshake_reason, "satellite-needs-syncing");
    unit_assert_str(o.location, SAT_BASE "/v1/client/handshake?redirect_url="
                                "https%3a%2f%2fwww.example.com%2faccount%3f__clerk_synced%3dfalse"
                                "&__clerk_api_version=" CLERK_BACKEND_API_VERSION
                                "&suffixed_cookies=false&__clerk_hs_reason=satellite-needs-syncing"
                                "&format=nonce&__session=ck.tok.en");
    expect_no_calls(&f);

    /* cookies and no sync parameter: the cookie table (no cross-origin check on a satellite) */
    v.url = PAGE_URL;
    v.referer = "https://www.other.example/page";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
    assert_null(o.location);
    assert_int_equal(o.set_cookies->nelts, 0);
    assert_int_equal(f.verify_calls, 1);

    /* ClerkSatelliteAutoSync On: a satellite without cookies syncs */
    s.satellite_auto_sync = 1;
    v.cookies = NULL;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_HANDSHAKE, CLERK_SESSION_TOKEN_MISSING);
    unit_assert_str(o.handshake_reason, "satellite-needs-syncing");
    unit_assert_str(o.location, HS_AT(SAT_BASE, "satellite-needs-syncing", "false"));

    /* __clerk_synced=true: synced already, the cookie table decides */
    v.url = "https://www.example.com/account?__clerk_synced=true";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_SESSION_TOKEN_MISSING);
    unit_assert_str(o.sdk_reason, "session-token-and-uat-missing");
    unit_assert_str(o.detail, "no session cookies");

    /* only a GET document navigation syncs */
    v = xhr_view();
    o = run(p, &v, &s, &f);
    unit_assert_str(o.detail, "no session cookies");
    v = page_view();
    v.sec_fetch_dest = "iframe";
    o = run(p, &v, &s, &f);
    unit_assert_str(o.detail, "no session cookies");
    v = page_view();
    v.method = "POST";
    o = run(p, &v, &s, &f);
    unit_assert_str(o.detail, "no session cookies");
    assert_int_equal(o.set_cookies->nelts, 0);

    /* the loop guard */
    v = page_view();
    v.cookies = "__clerk_redirect_count=3";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_SESSION_TOKEN_MISSING);
    unit_assert_str(o.sdk_reason, "satellite-needs-syncing");
    unit_assert_str(o.detail, "no handshake (satellite-needs-syncing): redirect loop guard");
    assert_int_equal(o.set_cookies->nelts, 0);
    assert_int_equal(f.verify_calls, 1);
}

static void test_satellite_development(void **state)
{
    AUTH_CASE(satellite_section(p, PK_TEST), page_view());

    valid(&f, "ck.tok.en", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    s.satellite_sign_in_url = SAT_SIGN_IN;
    /* Off and no cookies: signed out before any dev browser question */
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_SESSION_TOKEN_MISSING);
    unit_assert_str(o.sdk_reason, "session-token-and-uat-missing");
    unit_assert_str(o.detail, "satellite without cookies (ClerkSatelliteAutoSync Off)");

    /* On: the primary's sign-in page syncs, told where to come back */
    s.satellite_auto_sync = 1;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_HANDSHAKE, CLERK_SESSION_TOKEN_MISSING);
    unit_assert_str(o.handshake_reason, "satellite-needs-syncing");
    unit_assert_str(o.sdk_reason, "satellite-needs-syncing");
    assert_null(o.message);
    unit_assert_str(o.location, SAT_SIGN_IN "?__clerk_redirect_url=" PAGE_URL_ENC);
    expect_strings(o.set_cookies, REDIRECT_COUNT_1, NULL);
    s.satellite_sign_in_url = SAT_SIGN_IN "?lang=fr";
    o = run(p, &v, &s, &f);
    unit_assert_str(o.location, SAT_SIGN_IN "?lang=fr&__clerk_redirect_url=" PAGE_URL_ENC);
    expect_no_calls(&f);

    /* no ClerkSignInURL (the SDK refuses the configuration): signed out, never a redirect */
    s.satellite_sign_in_url = NULL;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_SESSION_TOKEN_MISSING);
    unit_assert_str(o.sdk_reason, "satellite-needs-syncing");
    unit_assert_str(o.detail, "a development satellite needs ClerkSignInURL");
    assert_null(o.location);
    assert_int_equal(o.set_cookies->nelts, 0);

    /* with cookies: the development table (here: no dev browser yet, at the satellite's FAPI) */
    s.satellite_sign_in_url = SAT_SIGN_IN;
    v.cookies = "__session=ck.tok.en; __client_uat=" UAT_BEFORE;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_HANDSHAKE, CLERK_SESSION_TOKEN_MISSING);
    unit_assert_str(o.handshake_reason, "dev-browser-missing");
    unit_assert_str(o.location, HS_AT(SAT_BASE, "dev-browser-missing", "false")
                                    "&__session=ck.tok.en");
    /* and signed in once it has one */
    v.cookies = "__clerk_db_jwt=dvb_1; __session=ck.tok.en; __client_uat=" UAT_BEFORE;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
    assert_int_equal(f.verify_calls, 1);

    /* a satellite does not answer sync requests as a primary: its cookie table decides */
    v.url = "https://www.example.com/?__clerk_redirect_url=https%3A%2F%2Fsat.example.net%2Fp";
    s.authorized_parties = unit_strings(p, "https://sat.example.net", NULL);
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
    assert_null(o.location);
    assert_int_equal(o.set_cookies->nelts, 0);
    assert_int_equal(o.warnings->nelts, 0);
    assert_int_equal(f.verify_calls, 2);
}

/* ------------------------------------------------------------ primary-responds-to-syncing */

#define SYNC_URL "https://www.example.com/sign-in?__clerk_redirect_url="

static void test_primary_responds_to_syncing(void **state)
{
    AUTH_CASE(browser_section(p, PK_TEST), page_view());

    s.authorized_parties = unit_strings(p, "https://app.example.org", "https://sat.example.net",
                                        NULL);
    v.url = SYNC_URL "https%3A%2F%2Fsat.example.net%2Fpage%3Fx%3D1";
    v.cookies = "__clerk_db_jwt=dvb_1";
    o = run(p, &v, &s, &f);
    /* back to the satellite with the dev browser token and __clerk_synced=true */
    expect_state(o, CLERK_AUTH_HANDSHAKE, CLERK_SESSION_TOKEN_MISSING);
    unit_assert_str(o.handshake_reason, "primary-responds-to-syncing");
    unit_assert_str(o.sdk_reason, "primary-responds-to-syncing");
    assert_null(o.message);
    unit_assert_str(o.location, SYNC_BACK "&__clerk_db_jwt=dvb_1&__clerk_synced=true");
    expect_strings(o.set_cookies, REDIRECT_COUNT_1, NULL);
    assert_int_equal(o.warnings->nelts, 0);
    expect_no_calls(&f);

    /* the query's dev browser token: it goes back (before dev-browser-sync, as the SDK) */
    v.dev_browser = "dvb_query";
    o = run(p, &v, &s, &f);
    unit_assert_str(o.handshake_reason, "primary-responds-to-syncing");
    unit_assert_str(o.location, SYNC_BACK "&__clerk_db_jwt=dvb_query&__clerk_synced=true");

    /* no dev browser: only __clerk_synced (before dev-browser-missing) */
    v.dev_browser = NULL;
    v.cookies = NULL;
    o = run(p, &v, &s, &f);
    unit_assert_str(o.handshake_reason, "primary-responds-to-syncing");
    unit_assert_str(o.location, SYNC_BACK "&__clerk_synced=true");

    /* a path without a query */
    v.url = SYNC_URL "https%3A%2F%2Fsat.example.net%2Fpage";
    o = run(p, &v, &s, &f);
    unit_assert_str(o.location, "https://sat.example.net/page?__clerk_synced=true");
    expect_no_calls(&f);

    /* fetch()/XHR: signed out for that reason */
    v = xhr_view();
    v.url = SYNC_URL "https%3A%2F%2Fsat.example.net%2Fpage%3Fx%3D1";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_SESSION_TOKEN_MISSING);
    unit_assert_str(o.sdk_reason, "primary-responds-to-syncing");
    unit_assert_str(o.detail,
                    "no handshake (primary-responds-to-syncing): not a navigation request");
    assert_null(o.location);
    assert_int_equal(o.set_cookies->nelts, 0);
}

static void test_primary_sync_target_refused(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_auth_settings_t s = browser_section(p, PK_TEST);
    static const char *const targets[] = {
        "https%3A%2F%2Fevil.example%2Fsteal",           /* another origin */
        "https%3A%2F%2Fsat.example.net.evil.example%2F", /* a longer host */
        "https%3A%2F%2Fsat.example.net%3A8443%2Fp",     /* another port */
        "http%3A%2F%2Fsat.example.net%2Fp",             /* another scheme */
        "javascript%3Aalert(1)",
        "%2Fpage",                                      /* relative */
    };
    fake_t f;

    fake_init(&f, p);
    s.authorized_parties = unit_strings(p, "https://sat.example.net", NULL);
    /*
     * Stricter than the SDK (which sends the dev browser token to any
     * __clerk_redirect_url): only to an origin of ClerkAuthorizedParties;
     * otherwise the cookie table decides, and the warning says why.
     */
    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
        clerk_request_view_t v = page_view();
        clerk_auth_outcome_t o;

        v.url = apr_pstrcat(p, SYNC_URL, targets[i], NULL);
        v.cookies = "__clerk_db_jwt=dvb_1";
        o = run(p, &v, &s, &f);
        expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_SESSION_TOKEN_MISSING);
        unit_assert_str(o.sdk_reason, "session-token-and-uat-missing");
        assert_null(o.location);
        assert_int_equal(o.set_cookies->nelts, 0);
        expect_strings(o.warnings, "__clerk_redirect_url names no origin of "
                                   "ClerkAuthorizedParties: not sending the browser there", NULL);
    }

    /* no ClerkAuthorizedParties at all: nowhere */
    {
        clerk_request_view_t v = page_view();
        clerk_auth_outcome_t o;

        s.authorized_parties = NULL;
        v.url = SYNC_URL "https%3A%2F%2Fsat.example.net%2Fpage";
        v.cookies = "__clerk_db_jwt=dvb_1; __client_uat=" UAT_BEFORE;
        o = run(p, &v, &s, &f);
        /* the table goes on: here a uat without a session */
        expect_state(o, CLERK_AUTH_HANDSHAKE, CLERK_SESSION_TOKEN_MISSING);
        unit_assert_str(o.handshake_reason, "client-uat-but-no-session-token");
        assert_non_null(strstr(o.location, DEV_BASE "/v1/client/handshake?"));
        assert_int_equal(o.warnings->nelts, 1);

        /* a production primary has no such flow: no warning either */
        s = browser_section(p, PK_LIVE);
        s.authorized_parties = unit_strings(p, "https://sat.example.net", NULL);
        v.cookies = NULL;
        o = run(p, &v, &s, &f);
        expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_SESSION_TOKEN_MISSING);
        assert_null(o.location);
        assert_int_equal(o.warnings->nelts, 0);
    }
    expect_no_calls(&f);
}

static void test_primary_sync_replaces_synced(void **state)
{
    AUTH_CASE(browser_section(p, PK_TEST), page_view());

    s.authorized_parties = unit_strings(p, "https://sat.example.net", NULL);
    v.url = SYNC_URL "https%3A%2F%2Fsat.example.net%2Fpage%3Fx%3D1%26__clerk_synced%3Dfalse";
    v.cookies = "__clerk_db_jwt=dvb_1";
    o = run(p, &v, &s, &f);
    /* __clerk_synced=false is replaced, never kept next to true (no sync loop) */
    expect_state(o, CLERK_AUTH_HANDSHAKE, CLERK_SESSION_TOKEN_MISSING);
    unit_assert_str(o.location,
                    "https://sat.example.net/page?x=1&__clerk_synced=true&__clerk_db_jwt=dvb_1");

    /*
     * As the SDK: URLSearchParams.set replaces the first __clerk_synced
     * in place (handshake.ts/request.ts: append __clerk_db_jwt, then set
     * __clerk_synced), so the SDK's Location keeps the parameter's position:
     * ...?__clerk_synced=true&x=1&__clerk_db_jwt=dvb_1, as with_param()
     * (clerk_browser_flow.c) does.
     */
    v.url = SYNC_URL "https%3A%2F%2Fsat.example.net%2Fpage%3F__clerk_synced%3Dfalse%26x%3D1";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_HANDSHAKE, CLERK_SESSION_TOKEN_MISSING);
    unit_assert_str(o.location,
                    "https://sat.example.net/page?__clerk_synced=true&x=1&__clerk_db_jwt=dvb_1");
}

/*
 * X-Clerk-Auth-Message: the SDK's messages for time failures (jwt/assertions.ts,
 * TokenVerificationError.getFullMessage), dates from the token's claims read
 * without verifying it and from the view's time.
 */
#define TIMED "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyXzEiLCJleHAiOjE3MDAwMDAwMDAsIm5iZiI6MTgwMDAw" \
              "MDAwMCwiaWF0IjoxOTAwMDAwMDAwfQ.c2ln"    /* exp 1700000000, nbf 1.8e9, iat 1.9e9 */

static void test_time_messages(void **state)
{
    static const struct {
        clerk_reason_t reason;
        const char *carrier, *message;
    } cases[] = {
        {CLERK_TOKEN_EXPIRED, "cookie",
         "JWT is expired. Expiry date: Tue, 14 Nov 2023 22:13:20 GMT, Current date: Wed, 15 Nov "
         "2023 00:00:00 GMT. (reason=token-expired, token-carrier=cookie)"},
        {CLERK_TOKEN_NOT_ACTIVE_YET, "header",
         "JWT cannot be used prior to not before date claim (nbf). Not before date: Fri, 15 Jan "
         "2027 08:00:00 GMT; Current date: Wed, 15 Nov 2023 00:00:00 GMT; "
         "(reason=token-not-active-yet, token-carrier=header)"},
        {CLERK_TOKEN_IAT_IN_THE_FUTURE, "cookie",
         "JWT issued at date claim (iat) is in the future. Issued at date: Sun, 17 Mar 2030 "
         "17:46:40 GMT; Current date: Wed, 15 Nov 2023 00:00:00 GMT; "
         "(reason=token-iat-in-the-future, token-carrier=cookie)"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        apr_pool_t *p = UNIT_POOL;
        clerk_auth_settings_t s = browser_section(p, PK_LIVE);
        clerk_request_view_t v = page_view();
        clerk_auth_outcome_t o;
        fake_t f;

        fake_init(&f, p);
        answer(&f, TIMED, CLERK_STEP_DONE, cases[i].reason, 0);
        v.now = 1700006400;     /* 2023-11-15T00:00:00Z */
        if (!strcmp(cases[i].carrier, "header"))
            v.authorization = "Bearer " TIMED;
        else
            v.cookies = "__session=" TIMED "; __client_uat=1";
        o = run(p, &v, &s, &f);
        expect_state(o, CLERK_AUTH_HANDSHAKE, cases[i].reason);
        unit_assert_str(o.message, cases[i].message);
    }
}

/* ------------------------------------------------------------ the cross-origin check */

/* The decision on v with a valid session ck.tok.en in cookies, sent from referer. */
static clerk_auth_outcome_t referred(apr_pool_t *p, clerk_request_view_t *v,
                                     const clerk_auth_settings_t *s, fake_t *f,
                                     const char *cookies, const char *referer)
{
    valid(f, "ck.tok.en", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    v->cookies = cookies;
    v->referer = referer;
    return run(p, v, s, f);
}

static void test_cross_origin_sync(void **state)
{
    AUTH_CASE(browser_section(p, PK_LIVE), page_view());

    o = referred(p, &v, &s, &f, "__session=ck.tok.en; __client_uat=" UAT_BEFORE,
                 "https://sat.example.net/page");
    expect_state(o, CLERK_AUTH_HANDSHAKE, CLERK_OK);
    unit_assert_str(o.handshake_reason, "primary-domain-cross-origin-sync");
    unit_assert_str(o.sdk_reason, "primary-domain-cross-origin-sync");
    unit_assert_str(o.message, CROSS_MESSAGE);
    unit_assert_str(o.location, HS_LOCATION("primary-domain-cross-origin-sync", "false")
                                    "&__session=ck.tok.en");
    expect_strings(o.set_cookies, REDIRECT_COUNT_1, NULL);
    assert_int_equal(f.verify_calls, 1);

    /* a development Account Portal is foreign to a production instance */
    v.referer = "https://happy-cat-1.accounts.dev/sign-in";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_HANDSHAKE, CLERK_OK);
    unit_assert_str(o.handshake_reason, "primary-domain-cross-origin-sync");

    /* development: the dev browser token goes along */
    s = browser_section(p, PK_TEST);
    v.cookies = "__clerk_db_jwt=dvb_1; __session=ck.tok.en; __client_uat=" UAT_BEFORE;
    v.referer = "https://sat.example.net/page";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_HANDSHAKE, CLERK_OK);
    unit_assert_str(o.location, HS_AT(DEV_BASE, "primary-domain-cross-origin-sync", "false")
                                    "&__session=ck.tok.en&__clerk_db_jwt=dvb_1");
    unit_assert_str(o.message, CROSS_MESSAGE);

    /* a page view by its Accept (no Sec-Fetch-Dest) is not a document navigation: no check */
    s = browser_section(p, PK_LIVE);
    v.cookies = "__session=ck.tok.en; __client_uat=" UAT_BEFORE;
    v.sec_fetch_dest = NULL;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
    assert_null(o.message);
}

static void test_cross_origin_not_checked(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    static const struct {
        const char *key, *referer, *dest, *method, *cookie_extra;
        int satellite;
    } rows[] = {
        {PK_LIVE, NULL, "document", "GET", "", 0},
        {PK_LIVE, "https://www.example.com/other", "document", "GET", "", 0},
        {PK_LIVE, "HTTPS://WWW.EXAMPLE.COM/other", "document", "GET", "", 0},
        {PK_LIVE, "https://clerk.example.com/v1/client", "document", "GET", "", 0},
        {PK_LIVE, "https://accounts.example.com/sign-in", "document", "GET", "", 0},
        {PK_LIVE, "not a url", "document", "GET", "", 0},
        {PK_LIVE, "https://sat.example.net/", "iframe", "GET", "", 0},
        {PK_LIVE, "https://sat.example.net/", "document", "POST", "", 0},
        {PK_LIVE, "https://sat.example.net/", "document", "GET", "; __clerk_redirect_count=1", 0},
        {PK_LIVE, "https://sat.example.net/", "document", "GET", "", 1},
        {PK_TEST, "https://happy-cat-1.accounts.dev/sign-in", "document", "GET", "", 0},
        {PK_TEST, "https://happy-cat-1.accountsstage.dev/", "document", "GET", "", 0},
        {PK_TEST, "https://clerk.clerk.dev/v1/client", "document", "GET", "", 0},
        {PK_TEST, "https://accounts.clerk.dev/", "document", "GET", "", 0},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        clerk_auth_settings_t s = browser_section(p, rows[i].key);
        clerk_request_view_t v = page_view();
        clerk_auth_outcome_t o;
        fake_t f;

        s.satellite = rows[i].satellite;
        fake_init(&f, p);
        valid(&f, "ck.tok.en", SESSION_CLAIMS, CLERK_TYPE_SESSION);
        v.referer = rows[i].referer;
        v.sec_fetch_dest = rows[i].dest;
        v.method = rows[i].method;
        v.cookies = apr_pstrcat(p, "__clerk_db_jwt=dvb_1; __session=ck.tok.en; __client_uat="
                                UAT_BEFORE, rows[i].cookie_extra, NULL);
        o = run(p, &v, &s, &f);
        if (o.state != CLERK_AUTH_SIGNED_IN)
            fail_msg("row %zu (%s): %s %s", i, rows[i].referer ? rows[i].referer : "no referer",
                     clerk_auth_state_name(o.state), o.handshake_reason);
        assert_null(o.message);
        assert_null(o.location);
        assert_int_equal(o.set_cookies->nelts, 0);
        assert_int_equal(f.verify_calls, 1);
    }
}

static void test_cross_origin_after_verification(void **state)
{
    AUTH_CASE(browser_section(p, PK_LIVE), page_view());

    answer(&f, "exp.tok.en", CLERK_STEP_DONE, CLERK_TOKEN_EXPIRED, 0);
    answer(&f, "bad.tok.en", CLERK_STEP_DONE, CLERK_TOKEN_INVALID_SIGNATURE, 0);
    v.referer = "https://sat.example.net/page";
    /* only a valid session is checked: an expired one has its own handshake */
    v.cookies = "__session=exp.tok.en; __client_uat=" UAT_BEFORE;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_HANDSHAKE, CLERK_TOKEN_EXPIRED);
    unit_assert_str(o.handshake_reason, EXPIRED_REASON);
    assert_null(o.message);
    v.cookies = "__session=bad.tok.en; __client_uat=" UAT_BEFORE;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_TOKEN_INVALID_SIGNATURE);
    assert_null(o.message);
    /* the Authorization header is not the cookie table: no check */
    v.cookies = NULL;
    valid(&f, "hdr.tok.en", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    v.authorization = "Bearer hdr.tok.en";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
    assert_null(o.location);
}

/*
 * As the SDK: isCrossOriginReferrer compares URL origins, in which the
 * default port is dropped (new URL("https://h:443/").origin is "https://h"):
 * a same-origin Referer spelled with :443 is not cross-origin.
 * foreign_referer() (clerk_browser_flow.c) compares hostinfo, "h:443" to "h".
 */
static void test_cross_origin_default_port(void **state)
{
    AUTH_CASE(browser_section(p, PK_LIVE), page_view());

    o = referred(p, &v, &s, &f, "__session=ck.tok.en; __client_uat=" UAT_BEFORE,
                 "https://www.example.com:443/other");
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
    assert_null(o.location);
}

/*
 * As the SDK: isCurrentDevAccountPortalOrigin trusts *.accounts.dev but
 * not *.clerk.accounts.dev (another development instance's Frontend API,
 * @clerk/shared url.ts): such a Referer is cross-origin and gets the
 * handshake.  foreign_referer() trusts every *.accounts.dev.
 */
static void test_cross_origin_dev_fapi_referer(void **state)
{
    AUTH_CASE(browser_section(p, PK_TEST), page_view());

    o = referred(p, &v, &s, &f,
                 "__clerk_db_jwt=dvb_1; __session=ck.tok.en; __client_uat=" UAT_BEFORE,
                 "https://other-app-7.clerk.accounts.dev/v1/client");
    expect_state(o, CLERK_AUTH_HANDSHAKE, CLERK_OK);
    unit_assert_str(o.handshake_reason, "primary-domain-cross-origin-sync");
}

/*
 * As the SDK: isKnownClerkReferrer trusts the Account Portal by origin
 * (new URL(buildAccountsBaseUrl(frontendApi)).origin, always https and the
 * default port): http://accounts.example.com is not it.  foreign_referer()
 * compares the host name only.
 */
static void test_cross_origin_accounts_origin(void **state)
{
    AUTH_CASE(browser_section(p, PK_LIVE), page_view());

    o = referred(p, &v, &s, &f, "__session=ck.tok.en; __client_uat=" UAT_BEFORE,
                 "http://accounts.example.com/sign-in");
    expect_state(o, CLERK_AUTH_HANDSHAKE, CLERK_OK);
    unit_assert_str(o.handshake_reason, "primary-domain-cross-origin-sync");
}

/*
 * As the SDK: isKnownClerkReferrer compares the Referer's host with
 * this.frontendApi, which is the proxy URL when there is one
 * (parsePublishableKey with proxyUrl).  foreign_referer() compares with
 * instance_fapi (the key's Frontend API), so a Referer from the proxy's
 * host gets the handshake.
 */
static void test_cross_origin_proxy_referer(void **state)
{
    AUTH_CASE(browser_section(p, PK_LIVE), page_view());

    s.frontend_api_base = "https://proxy.example.org/__clerk";
    o = referred(p, &v, &s, &f, "__session=ck.tok.en; __client_uat=" UAT_BEFORE,
                 "https://proxy.example.org/__clerk/v1/client");
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
}

/* ------------------------------------------------------------ the handshake URL's session */

/* Leave pointers to a recognisable string in the stack the decision will reuse. */
static __attribute__((noinline)) void dirty_stack(void)
{
    volatile const char *junk[4096];

    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
        junk[i] = "stack-garbage";
    (void)junk[0];
}

static void test_handshake_url_session(void **state)
{
    AUTH_CASE(browser_section(p, PK_LIVE), page_view());

    answer(&f, "hdr.tok.en", CLERK_STEP_DONE, CLERK_TOKEN_EXPIRED, 0);
    answer(&f, "ck.tok.en", CLERK_STEP_DONE, CLERK_TOKEN_EXPIRED, 0);
    /* the cookie's session, else the header's (the SDK's sessionToken) */
    v.authorization = "Bearer hdr.tok.en";
    v.cookies = "__session=ck.tok.en; __client_uat=" UAT_BEFORE;
    o = run(p, &v, &s, &f);
    unit_assert_str(o.location, HS_LOCATION(EXPIRED_REASON, "false") "&__session=ck.tok.en");
    v.cookies = NULL;
    o = run(p, &v, &s, &f);
    unit_assert_str(o.location, HS_LOCATION(EXPIRED_REASON, "false") "&__session=hdr.tok.en");
    /* URL-encoded */
    answer(&f, "a+b/c=", CLERK_STEP_DONE, CLERK_TOKEN_EXPIRED, 0);
    v.authorization = "Bearer a+b/c=";
    o = run(p, &v, &s, &f);
    unit_assert_str(o.location, HS_LOCATION(EXPIRED_REASON, "false") "&__session=a%2bb%2fc%3d");

    /*
     * No session at all (no cookie, no header): no __session parameter,
     * whatever the stack held before (browser_t's header_token is only set
     * when the header carries a token).
     */
    v.authorization = NULL;
    v.cookies = "__client_uat=" UAT_BEFORE;
    dirty_stack();
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_HANDSHAKE, CLERK_SESSION_TOKEN_MISSING);
    unit_assert_str(o.location, HS_LOCATION("client-uat-but-no-session-token", "false"));
}

static void test_locations_header_safe(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_auth_settings_t s = browser_section(p, PK_TEST);
    clerk_request_view_t v = page_view();
    clerk_auth_outcome_t o;
    fake_t f;

    /*
     * primary-responds-to-syncing: __clerk_redirect_url is decoded, so
     * %0d%0a would put CR LF in the Location (check_outcome fails on it).
     * Clerk's SDK goes through new URL(), which drops tab, CR and LF.
     */
    fake_init(&f, p);
    s.authorized_parties = unit_strings(p, "https://sat.example.net", NULL);
    v.url = SYNC_URL "https%3A%2F%2Fsat.example.net%2Fp%0d%0aSet-Cookie%3A%20a%3D1";
    v.cookies = "__clerk_db_jwt=dvb_1";
    o = run(p, &v, &s, &f);
    /* not sent there at all, or to a header-safe URL at the authorized origin */
    if (o.location)
        assert_int_equal(strncmp(o.location, "https://sat.example.net/", 24), 0);

    /* a resolved development handshake: the request's URL as it is */
    fake_init(&f, p);
    valid(&f, "hs.tok.en", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    f.directives = unit_strings(p, "__session=hs.tok.en; Path=/", NULL);
    v = page_view();
    v.url = "https://www.example.com/a\x01b";
    v.handshake_nonce = NONCE;
    v.cookies = "__clerk_db_jwt=dvb_1";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_dev_browser_missing),
        UNIT_TEST(test_dev_browser_sync),
        UNIT_TEST(test_dev_browser_suffix_rule),
        UNIT_TEST(test_production_handshake_without_dev_browser),
        UNIT_TEST(test_dev_handshake_resolved),
        UNIT_TEST(test_dev_handshake_clock_skew_retry),
        UNIT_TEST(test_rejected_handshake_falls_back),
        UNIT_TEST(test_request_level_reasons),
        UNIT_TEST(test_iat_before_uat_before_expiry),
        UNIT_TEST(test_refresh_signed_in),
        UNIT_TEST(test_refresh_header_token),
        UNIT_TEST(test_refresh_not_eligible),
        UNIT_TEST(test_refresh_failures),
        UNIT_TEST(test_refresh_unavailable),
        UNIT_TEST(test_satellite_production),
        UNIT_TEST(test_satellite_development),
        UNIT_TEST(test_primary_responds_to_syncing),
        UNIT_TEST(test_primary_sync_target_refused),
        UNIT_TEST(test_primary_sync_replaces_synced),
        UNIT_TEST(test_time_messages),
        UNIT_TEST(test_cross_origin_sync),
        UNIT_TEST(test_cross_origin_not_checked),
        UNIT_TEST(test_cross_origin_after_verification),
        UNIT_TEST(test_cross_origin_default_port),
        UNIT_TEST(test_cross_origin_dev_fapi_referer),
        UNIT_TEST(test_cross_origin_accounts_origin),
        UNIT_TEST(test_cross_origin_proxy_referer),
        UNIT_TEST(test_handshake_url_session),
        UNIT_TEST(test_locations_header_safe),
    };
    return UNIT_RUN(tests);
}
