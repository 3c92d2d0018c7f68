/*
 * One request's decision (clerk_authenticate.h): the token flow, opaque
 * tokens, the ClerkSignedOutAction endings, the REMOTE_USER rule and the
 * browser flow (header, handshake result, cookie table).
 *
 * The caller's side is the scripted fake of auth_fake.h.  Development
 * instances, silent refresh, satellites, the sync flows and the cross-origin
 * check are in test_browser_flow.c.
 */
#include "auth_fake.h"

/* ------------------------------------------------------------ token flow */

static void test_no_token(void **state)
{
    AUTH_CASE(token_section(), page_view());

    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_SESSION_TOKEN_MISSING);
    unit_assert_str(o.detail, "no token");
    unit_assert_str(o.carrier, "none");
    assert_null(o.token);
    assert_int_equal(f.ncalls, 0);
    assert_int_equal(o.set_cookies->nelts, 0);

    /* other cookies, another scheme: still no token */
    v.cookies = "theme=dark; __session_other=x; session=y";
    v.authorization = "Basic dXNlcjpwYXNz";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_SESSION_TOKEN_MISSING);
    assert_int_equal(f.ncalls, 0);
}

static void test_header_signed_in(void **state)
{
    AUTH_CASE(token_section(), xhr_view());

    valid(&f, "tok.a.b", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    v.authorization = "Bearer tok.a.b";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
    unit_assert_str(o.user, "user_1");
    unit_assert_str(o.claims->sid, "sess_1");
    unit_assert_str(o.token, "tok.a.b");
    unit_assert_str(o.carrier, "header");
    assert_int_equal(f.ncalls, 1);
    expect_call(&f, 0, "verify", "tok.a.b", CLERK_TYPE_SESSION, "header");

    /* a bare value without a scheme is a token too (Clerk's SDK) */
    v.authorization = "tok.a.b";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
    assert_int_equal(f.verify_calls, 2);
}

static void test_header_wins_over_cookie(void **state)
{
    AUTH_CASE(token_section(), xhr_view());

    answer(&f, "hdr.tok.en", CLERK_STEP_DONE, CLERK_TOKEN_EXPIRED, 0);
    valid(&f, "ck.tok.en", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    v.authorization = "Bearer hdr.tok.en";
    v.cookies = "__session=ck.tok.en";
    o = run(p, &v, &s, &f);
    /* the invalid header decides: the valid cookie is never looked at */
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_TOKEN_EXPIRED);
    unit_assert_str(o.detail, "token rejected from header");
    unit_assert_str(o.token, "hdr.tok.en");
    assert_int_equal(f.ncalls, 1);
    expect_call(&f, 0, "verify", "hdr.tok.en", CLERK_TYPE_SESSION, "header");

    /* another scheme is "no token here": the cookie decides */
    v.authorization = "Token hdr.tok.en";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
    unit_assert_str(o.carrier, "cookie");
    expect_call(&f, 1, "verify", "ck.tok.en", CLERK_TYPE_SESSION, "cookie");
}

static void test_malformed_header(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_auth_settings_t s = token_section();
    clerk_request_view_t v = xhr_view();
    static const char *const bad[] = {"Bearer a.b.c d", "Bearer ", "Bearer", "Bearer a,b",
                                      "a.b;c", "Bearer  a.b.c"};
    fake_t f;

    fake_init(&f, p);
    valid(&f, "ck.tok.en", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    v.cookies = "__session=ck.tok.en";
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        clerk_auth_outcome_t o;
        v.authorization = bad[i];
        o = run(p, &v, &s, &f);
        /* something is in the header: it wins, even over a valid cookie */
        expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_TOKEN_INVALID);
        unit_assert_str(o.detail, "malformed or repeated header");
    }
    assert_int_equal(f.ncalls, 0);
}

static void test_repeated_cookie(void **state)
{
    AUTH_CASE(token_section(), xhr_view());

    valid(&f, "a.b.c", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    v.cookies = "__session=a.b.c; theme=1; __session=d.e.f";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_TOKEN_INVALID);
    unit_assert_str(o.detail, "malformed or repeated cookie");
    /* two Cookie headers merged by httpd count as well */
    v.cookies = "__session=a.b.c, __session=a.b.c";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_TOKEN_INVALID);
    assert_int_equal(f.ncalls, 0);
}

static void test_source_header_only(void **state)
{
    AUTH_CASE(token_section(), xhr_view());

    s.sources = CLERK_FROM_HEADER;
    valid(&f, "a.b.c", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    v.cookies = "__session=a.b.c";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_SESSION_TOKEN_MISSING);
    assert_int_equal(f.ncalls, 0);

    v.authorization = "Bearer a.b.c";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
    expect_call(&f, 0, "verify", "a.b.c", CLERK_TYPE_SESSION, "header");
}

static void test_source_cookie_only(void **state)
{
    AUTH_CASE(token_section(), xhr_view());

    s.sources = CLERK_FROM_COOKIE;
    valid(&f, "a.b.c", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    valid(&f, "ck.tok.en", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    v.authorization = "Bearer a.b.c";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_SESSION_TOKEN_MISSING);
    assert_int_equal(f.ncalls, 0);

    /* not even a malformed header counts */
    v.authorization = "Bearer a b";
    v.cookies = "__session=ck.tok.en";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
    unit_assert_str(o.carrier, "cookie");
    assert_int_equal(f.ncalls, 1);
    expect_call(&f, 0, "verify", "ck.tok.en", CLERK_TYPE_SESSION, "cookie");
}

static void test_suffixed_cookie_first(void **state)
{
    AUTH_CASE(token_section(), xhr_view());

    s.session_cookie = "__session_t4uUWLLE";
    valid(&f, "new.tok.en", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    valid(&f, "old.tok.en", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    v.cookies = "__session=old.tok.en; __session_t4uUWLLE=new.tok.en";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
    unit_assert_str(o.token, "new.tok.en");
    assert_int_equal(f.ncalls, 1);
    expect_call(&f, 0, "verify", "new.tok.en", CLERK_TYPE_SESSION, "cookie");

    /* without the suffixed one: __session */
    v.cookies = "__session=old.tok.en";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
    expect_call(&f, 1, "verify", "old.tok.en", CLERK_TYPE_SESSION, "cookie");

    /* a repeated suffixed cookie is refused, not passed over for __session */
    v.cookies = "__session_t4uUWLLE=new.tok.en; __session_t4uUWLLE=x; __session=old.tok.en";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_TOKEN_INVALID);
    assert_int_equal(f.ncalls, 2);
}

static void test_cookie_accept_masked(void **state)
{
    AUTH_CASE(token_section(), xhr_view());

    s.accept_types = CLERK_TYPE_ALL;
    valid(&f, "a.b.c", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    v.cookies = "__session=a.b.c";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
    /* a cookie only carries sessions, whatever the section accepts */
    expect_call(&f, 0, "verify", "a.b.c", CLERK_TYPE_SESSION, "cookie");

    /* the header gets the section's whole set */
    v.authorization = "Bearer a.b.c";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
    expect_call(&f, 1, "verify", "a.b.c", CLERK_TYPE_ALL, "header");
}

static void test_machine_only_ignores_cookies(void **state)
{
    AUTH_CASE(token_section(), xhr_view());

    s.accept_types = CLERK_TYPE_M2M | CLERK_TYPE_OAUTH;
    valid(&f, "a.b.c", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    v.cookies = "__session=a.b.c";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_SESSION_TOKEN_MISSING);
    /* a repeated cookie would be token-invalid if the cookies were read at all */
    v.cookies = "__session=a.b.c; __session=a.b.c";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_SESSION_TOKEN_MISSING);
    assert_int_equal(f.ncalls, 0);
}

/* ------------------------------------------------------------ opaque tokens */

static void test_opaque_type_not_accepted(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_auth_settings_t s = token_section();
    clerk_request_view_t v = xhr_view();
    static const struct { const char *token, *detail; } rows[] = {
        {"Bearer " M2M, "m2m_token from header is not accepted here"},
        {"Bearer " OAT, "oauth_token from header is not accepted here"},
        {"Bearer " AKEY, "api_key from header is not accepted here"},
        /* the type check comes first: even a malformed one is a mismatch */
        {"Bearer mt_x", "m2m_token from header is not accepted here"},
    };
    fake_t f;

    s.has_machine_secret = 1;
    fake_init(&f, p);
    valid(&f, M2M, "{\"sub\":\"mch_1\",\"exp\":9}", CLERK_TYPE_M2M);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        clerk_auth_outcome_t o;
        v.authorization = rows[i].token;
        o = run(p, &v, &s, &f);
        expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_TOKEN_TYPE_MISMATCH);
        unit_assert_str(o.detail, rows[i].detail);
        unit_assert_str(o.token, rows[i].token + 7);
        unit_assert_str(o.carrier, "header");
    }
    assert_int_equal(f.ncalls, 0);
}

static void test_opaque_needs_secret(void **state)
{
    AUTH_CASE(token_section(), xhr_view());

    s.accept_types = CLERK_TYPE_ALL;
    s.has_secret = 0;
    valid(&f, M2M, "{\"sub\":\"mch_1\",\"exp\":9}", CLERK_TYPE_M2M);
    valid(&f, OAT, "{\"sub\":\"user_9\",\"exp\":9}", CLERK_TYPE_OAUTH);
    v.authorization = "Bearer " M2M;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_TOKEN_INVALID);
    unit_assert_str(o.detail, "an opaque m2m_token needs ClerkSecretKey or ClerkMachineSecretKey");
    v.authorization = "Bearer " OAT;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_TOKEN_INVALID);
    unit_assert_str(o.detail, "an opaque oauth_token needs ClerkSecretKey");
    assert_int_equal(f.ncalls, 0);

    /* the machine secret verifies M2M tokens only */
    s.has_machine_secret = 1;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_TOKEN_INVALID);
    assert_int_equal(f.ncalls, 0);
    v.authorization = "Bearer " M2M;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
    unit_assert_str(o.user, "mch_1");
    assert_int_equal(f.opaque_calls, 1);
    assert_int_equal(f.verify_calls, 0);
    expect_call(&f, 0, "opaque", M2M, CLERK_TYPE_M2M, "header");
}

static void test_opaque_signed_in(void **state)
{
    AUTH_CASE(token_section(), xhr_view());

    s.accept_types = CLERK_TYPE_ALL;
    valid(&f, OAT, "{\"sub\":\"user_9\",\"exp\":9}", CLERK_TYPE_OAUTH);
    valid(&f, AKEY, "{\"sub\":\"user_8\",\"exp\":9}", CLERK_TYPE_API_KEY);
    v.authorization = "Bearer " OAT;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
    unit_assert_str(o.user, "user_9");
    unit_assert_str(o.token, OAT);
    v.authorization = AKEY;     /* bare */
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
    unit_assert_str(o.user, "user_8");
    assert_int_equal(f.ncalls, 2);
    assert_int_equal(f.verify_calls, 0);
    expect_call(&f, 0, "opaque", OAT, CLERK_TYPE_OAUTH, "header");
    expect_call(&f, 1, "opaque", AKEY, CLERK_TYPE_API_KEY, "header");
}

static void test_opaque_malformed(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_auth_settings_t s = token_section();
    clerk_request_view_t v = xhr_view();
    char *long_body = apr_palloc(p, 3 + CLERK_OPAQUE_BODY_MAX + 2);
    const char *bad[5];
    fake_t f;

    memcpy(long_body, "mt_", 3);
    memset(long_body + 3, 'a', CLERK_OPAQUE_BODY_MAX + 1);
    long_body[3 + CLERK_OPAQUE_BODY_MAX + 1] = '\0';
    bad[0] = "mt_x";
    bad[1] = "mt_abcdefghijklmno";             /* 15 characters */
    bad[2] = "mt_abcdefghijklmnopqrstuvwxyz01234!";
    bad[3] = "oat_abcdefghijklmnopqrstuvwxyz.12345";
    bad[4] = long_body;
    s.accept_types = CLERK_TYPE_ALL;
    fake_init(&f, p);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        clerk_auth_outcome_t o;
        v.authorization = apr_pstrcat(p, "Bearer ", bad[i], NULL);
        o = run(p, &v, &s, &f);
        expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_TOKEN_INVALID);
        assert_non_null(strstr(o.detail, "not sent to the Backend API"));
    }
    /* never sent, and not handed to the JWT verifier either */
    assert_int_equal(f.ncalls, 0);
}

static void test_opaque_in_cookie(void **state)
{
    AUTH_CASE(token_section(), xhr_view());

    s.accept_types = CLERK_TYPE_ALL;
    valid(&f, M2M, "{\"sub\":\"mch_1\",\"exp\":9}", CLERK_TYPE_M2M);
    v.cookies = "__session=" M2M;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_TOKEN_TYPE_MISMATCH);
    unit_assert_str(o.detail, "m2m_token from cookie is not accepted here");
    unit_assert_str(o.carrier, "cookie");
    assert_int_equal(f.ncalls, 0);
}

static void test_opaque_refused(void **state)
{
    AUTH_CASE(token_section(), xhr_view());

    s.accept_types = CLERK_TYPE_ALL;
    answer(&f, OAT, CLERK_STEP_DONE, CLERK_TOKEN_EXPIRED, 0);
    v.authorization = "Bearer " OAT;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_TOKEN_EXPIRED);
    unit_assert_str(o.detail, "the Backend API refused this oauth_token");
    assert_int_equal(f.opaque_calls, 1);
}

static void test_opaque_unavailable(void **state)
{
    AUTH_CASE(token_section(), xhr_view());

    s.accept_types = CLERK_TYPE_ALL;
    v.authorization = "Bearer " M2M;
    answer(&f, M2M, CLERK_STEP_UNAVAILABLE, CLERK_OK, 7);
    o = run(p, &v, &s, &f);
    /* no keys are missing here: the reason stays ok */
    expect_state(o, CLERK_AUTH_UNAVAILABLE, CLERK_OK);
    assert_int_equal(o.retry_after, 7);
    unit_assert_str(o.token, M2M);

    /* a Retry-After of 0 (or less) would mean "now": at least 1 */
    fake_init(&f, p);
    answer(&f, M2M, CLERK_STEP_UNAVAILABLE, CLERK_OK, 0);
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_UNAVAILABLE, CLERK_OK);
    assert_int_equal(o.retry_after, 1);
    fake_init(&f, p);
    answer(&f, M2M, CLERK_STEP_UNAVAILABLE, CLERK_OK, -5);
    o = run(p, &v, &s, &f);
    assert_int_equal(o.retry_after, 1);

    fake_init(&f, p);
    answer(&f, M2M, CLERK_STEP_BROKEN, CLERK_OK, 0);
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_BROKEN, CLERK_OK);
    assert_int_equal(f.opaque_calls, 1);
}

/* ------------------------------------------------------------ verify_jwt */

static void test_verify_unavailable(void **state)
{
    AUTH_CASE(token_section(), xhr_view());

    v.authorization = "Bearer a.b.c";
    answer(&f, "a.b.c", CLERK_STEP_UNAVAILABLE, CLERK_OK, 30);
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_UNAVAILABLE, CLERK_JWK_FAILED_TO_RESOLVE);
    assert_int_equal(o.retry_after, 30);
    unit_assert_str(o.token, "a.b.c");
    unit_assert_str(o.carrier, "header");

    fake_init(&f, p);
    answer(&f, "a.b.c", CLERK_STEP_UNAVAILABLE, CLERK_OK, 0);
    o = run(p, &v, &s, &f);
    assert_int_equal(o.retry_after, 1);

    /* PASS does not turn a 503 into an anonymous request */
    s.signed_out = CLERK_SIGNED_OUT_PASS;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_UNAVAILABLE, CLERK_JWK_FAILED_TO_RESOLVE);
}

static void test_verify_broken(void **state)
{
    AUTH_CASE(token_section(), xhr_view());

    v.cookies = "__session=a.b.c";
    answer(&f, "a.b.c", CLERK_STEP_BROKEN, CLERK_OK, 0);
    o = run(p, &v, &s, &f);
    /* the reason is the keys' (what the implementation reports for both stops) */
    expect_state(o, CLERK_AUTH_BROKEN, CLERK_JWK_FAILED_TO_RESOLVE);
    unit_assert_str(o.carrier, "cookie");
    assert_int_equal(f.verify_calls, 1);
}

/* ------------------------------------------------------------ REMOTE_USER */

static void test_remote_user(void **state)
{
    AUTH_CASE(token_section(), xhr_view());

    valid(&f, "nosub.b.c", "{\"sub\":\"\",\"exp\":9}", CLERK_TYPE_SESSION);
    valid(&f, "mail.b.c", "{\"sub\":\"user_1\",\"exp\":9,\"email\":\"a@example.com\",\"n\":42,"
                          "\"o\":{\"x\":1}}", CLERK_TYPE_SESSION);
    v.authorization = "Bearer nosub.b.c";
    o = run(p, &v, &s, &f);
    /* verified, but no REMOTE_USER: not signed in */
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_TOKEN_VERIFICATION_FAILED);
    unit_assert_str(o.detail, "ClerkRemoteUserClaim sub is missing, empty or not a string");
    assert_null(o.user);

    v.authorization = "Bearer mail.b.c";
    s.remote_user_claim = "email";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
    unit_assert_str(o.user, "a@example.com");
    s.remote_user_claim = "n";
    o = run(p, &v, &s, &f);
    unit_assert_str(o.user, "42");
    s.remote_user_claim = "o";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_TOKEN_VERIFICATION_FAILED);
    s.remote_user_claim = "missing";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_TOKEN_VERIFICATION_FAILED);
    unit_assert_str(o.detail, "ClerkRemoteUserClaim missing is missing, empty or not a string");

    /* it goes through ClerkSignedOutAction like any signed-out request */
    s.signed_out = CLERK_SIGNED_OUT_PASS;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_ANONYMOUS, CLERK_TOKEN_VERIFICATION_FAILED);
    assert_null(o.user);
}

/* ------------------------------------------------------------ signed-out actions */

static void test_pass_anonymous(void **state)
{
    AUTH_CASE(token_section(), page_view());

    s.signed_out = CLERK_SIGNED_OUT_PASS;
    s.sign_in_url = SIGN_IN;    /* not used by PASS */
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_ANONYMOUS, CLERK_SESSION_TOKEN_MISSING);
    answer(&f, "a.b.c", CLERK_STEP_DONE, CLERK_TOKEN_INVALID_SIGNATURE, 0);
    v.authorization = "Bearer a.b.c";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_ANONYMOUS, CLERK_TOKEN_INVALID_SIGNATURE);
    assert_null(o.user);
}

static void test_deny_page_view(void **state)
{
    AUTH_CASE(token_section(), page_view());

    s.sign_in_url = SIGN_IN;    /* configured, but DENY does not redirect */
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_SESSION_TOKEN_MISSING);
}

static void test_redirect_page_view(void **state)
{
    AUTH_CASE(token_section(), page_view());

    s.signed_out = CLERK_SIGNED_OUT_REDIRECT;
    s.sign_in_url = SIGN_IN;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGN_IN_REDIRECT, CLERK_SESSION_TOKEN_MISSING);
    unit_assert_str(o.location, SIGN_IN "?redirect_url=" PAGE_URL_ENC);

    /* no Sec-Fetch-Dest: Accept text/html makes it a page view */
    v.sec_fetch_dest = NULL;
    v.accept = "text/html";
    v.url = "https://www.example.com/a b?x=1&y=2";
    answer(&f, "a.b.c", CLERK_STEP_DONE, CLERK_TOKEN_EXPIRED, 0);
    v.cookies = "__session=a.b.c";
    o = run(p, &v, &s, &f);
    /* the reason of the refused token is kept */
    expect_state(o, CLERK_AUTH_SIGN_IN_REDIRECT, CLERK_TOKEN_EXPIRED);
    unit_assert_str(o.location, SIGN_IN "?redirect_url="
                                "https%3a%2f%2fwww.example.com%2fa+b%3fx%3d1%26y%3d2");

    /* a sign-in URL with a query gets "&" */
    s.sign_in_url = "https://accounts.example.com/sign-in?lang=fr";
    v.cookies = NULL;
    v.url = PAGE_URL;
    o = run(p, &v, &s, &f);
    unit_assert_str(o.location, "https://accounts.example.com/sign-in?lang=fr&redirect_url="
                                PAGE_URL_ENC);
    /* no URL known: an empty redirect_url rather than a crash */
    v.url = NULL;
    o = run(p, &v, &s, &f);
    unit_assert_str(o.location, "https://accounts.example.com/sign-in?lang=fr&redirect_url=");
}

static void test_redirect_not_page_view(void **state)
{
    AUTH_CASE(token_section(), xhr_view());

    s.signed_out = CLERK_SIGNED_OUT_REDIRECT;
    s.sign_in_url = SIGN_IN;
    /* XHR: Sec-Fetch-Dest empty, even with Accept text/html */
    v.accept = "text/html";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_SESSION_TOKEN_MISSING);
    /* POST of a form */
    v = page_view();
    v.method = "POST";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_SESSION_TOKEN_MISSING);
    /* no sign-in URL: nowhere to send it */
    v.method = "GET";
    s.sign_in_url = NULL;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_SESSION_TOKEN_MISSING);
}

static void test_handshake_without_instance(void **state)
{
    AUTH_CASE(token_section(), page_view());

    /* ClerkSignedOutAction handshake without a publishable key: the token flow */
    s.signed_out = CLERK_SIGNED_OUT_HANDSHAKE;
    assert_false(clerk_auth_is_browser(&s));
    v.cookies = "__client_uat=" UAT_AFTER;
    v.handshake_nonce = NONCE;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_SESSION_TOKEN_MISSING);
    assert_int_equal(o.set_cookies->nelts, 0);
    assert_int_equal(f.exchange_calls, 0);

    s = browser_section(p, PK_LIVE);
    assert_true(clerk_auth_is_browser(&s));
    s.signed_out = CLERK_SIGNED_OUT_DENY;
    assert_false(clerk_auth_is_browser(&s));
}

/* ------------------------------------------------------------ browser: the header */

static void test_browser_header_signed_in(void **state)
{
    AUTH_CASE(browser_section(p, PK_LIVE), page_view());

    s.accept_types = CLERK_TYPE_SESSION | CLERK_TYPE_OAUTH;
    valid(&f, "hdr.tok.en", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    v.authorization = "Bearer hdr.tok.en";
    v.cookies = "__session=ck.tok.en; __client_uat=" UAT_BEFORE;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
    unit_assert_str(o.user, "user_1");
    unit_assert_str(o.carrier, "header");
    assert_int_equal(o.set_cookies->nelts, 0);
    assert_int_equal(f.ncalls, 1);
    expect_call(&f, 0, "verify", "hdr.tok.en", CLERK_TYPE_SESSION | CLERK_TYPE_OAUTH, "header");
}

static void test_browser_header_expired(void **state)
{
    AUTH_CASE(browser_section(p, PK_LIVE), page_view());

    answer(&f, "hdr.tok.en", CLERK_STEP_DONE, CLERK_TOKEN_EXPIRED, 0);
    answer(&f, "nbf.tok.en", CLERK_STEP_DONE, CLERK_TOKEN_NOT_ACTIVE_YET, 0);
    v.authorization = "Bearer hdr.tok.en";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_HANDSHAKE, CLERK_TOKEN_EXPIRED);
    unit_assert_str(o.handshake_reason, EXPIRED_REASON);
    /* the session in use goes along (Clerk's origin-outage mode) */
    unit_assert_str(o.location, HS_LOCATION(EXPIRED_REASON, "false") "&__session=hdr.tok.en");
    unit_assert_str(o.location,
                    apr_pstrcat(p, clerk_handshake_location(p, FAPI_BASE, PAGE_URL,
                                                            EXPIRED_REASON, 0),
                                "&__session=hdr.tok.en", NULL));
    expect_strings(o.set_cookies, REDIRECT_COUNT_1, NULL);
    unit_assert_str(o.detail, "handshake: " EXPIRED_REASON);

    /* the loop guard counts up ... */
    v.cookies = "__clerk_redirect_count=2";
    v.authorization = "Bearer nbf.tok.en";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_HANDSHAKE, CLERK_TOKEN_NOT_ACTIVE_YET);
    unit_assert_str(o.handshake_reason, "session-token-nbf");
    expect_strings(o.set_cookies, "__clerk_redirect_count=3; SameSite=Lax; HttpOnly; Max-Age=2",
                   NULL);
    /* ... and stops at CLERK_HANDSHAKE_MAX_REDIRECTS */
    v.cookies = "__clerk_redirect_count=3";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_TOKEN_NOT_ACTIVE_YET);
    unit_assert_str(o.detail, "no handshake (session-token-nbf): redirect loop guard");
    assert_null(o.handshake_reason);
    assert_int_equal(o.set_cookies->nelts, 0);
    assert_int_equal(f.verify_calls, 3);
}

static void test_browser_header_expired_xhr(void **state)
{
    AUTH_CASE(browser_section(p, PK_LIVE), xhr_view());

    answer(&f, "hdr.tok.en", CLERK_STEP_DONE, CLERK_TOKEN_EXPIRED, 0);
    v.authorization = "Bearer hdr.tok.en";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_TOKEN_EXPIRED);
    unit_assert_str(o.detail, "no handshake (" EXPIRED_REASON "): not a navigation request");
    assert_int_equal(o.set_cookies->nelts, 0);
}

static void test_browser_development_handshakes(void **state)
{
    AUTH_CASE(browser_section(p, PK_TEST), page_view());

    assert_false(s.instance->production);
    answer(&f, "hdr.tok.en", CLERK_STEP_DONE, CLERK_TOKEN_EXPIRED, 0);
    v.authorization = "Bearer hdr.tok.en";
    v.cookies = "__clerk_db_jwt=dvb_1";
    o = run(p, &v, &s, &f);
    /* a development instance handshakes too, with its dev browser token */
    expect_state(o, CLERK_AUTH_HANDSHAKE, CLERK_TOKEN_EXPIRED);
    unit_assert_str(o.handshake_reason, EXPIRED_REASON);
    assert_non_null(strstr(o.location, "&__session=hdr.tok.en&__clerk_db_jwt=dvb_1"));
    /* the cookie table: no dev browser yet */
    v.authorization = NULL;
    v.cookies = "__client_uat=" UAT_AFTER;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_HANDSHAKE, CLERK_SESSION_TOKEN_MISSING);
    unit_assert_str(o.handshake_reason, "dev-browser-missing");
    unit_assert_str(o.sdk_reason, "dev-browser-missing");
    /* one in the URL (taken out of the query by the caller): synced first */
    v.dev_browser = "dvb_2";
    o = run(p, &v, &s, &f);
    unit_assert_str(o.handshake_reason, "dev-browser-sync");
    assert_non_null(strstr(o.location, "&__clerk_db_jwt=dvb_2"));
    /* with the cookie, the ordinary table */
    v.dev_browser = NULL;
    v.cookies = "__clerk_db_jwt=dvb_1; __client_uat=" UAT_AFTER;
    o = run(p, &v, &s, &f);
    unit_assert_str(o.handshake_reason, "client-uat-but-no-session-token");
    assert_non_null(strstr(o.location, "&__clerk_db_jwt=dvb_1"));
}

static void test_browser_header_refused(void **state)
{
    AUTH_CASE(browser_section(p, PK_LIVE), page_view());

    answer(&f, "hdr.tok.en", CLERK_STEP_DONE, CLERK_TOKEN_INVALID_SIGNATURE, 0);
    valid(&f, "ck.tok.en", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    v.authorization = "Bearer hdr.tok.en";
    v.cookies = "__session=ck.tok.en; __client_uat=" UAT_BEFORE;
    o = run(p, &v, &s, &f);
    /* a bad signature is not refreshed, and the header still wins */
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_TOKEN_INVALID_SIGNATURE);
    unit_assert_str(o.detail, "token rejected from header");
    assert_int_equal(o.set_cookies->nelts, 0);
    assert_int_equal(f.ncalls, 1);

    /* a malformed header: token-invalid, cookies unread */
    v.authorization = "Bearer a b";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_TOKEN_INVALID);
    unit_assert_str(o.detail, "malformed Authorization header");
    assert_int_equal(f.ncalls, 1);

    /* UNAVAILABLE from the header token */
    fake_init(&f, p);
    answer(&f, "hdr.tok.en", CLERK_STEP_UNAVAILABLE, CLERK_OK, 4);
    v.authorization = "Bearer hdr.tok.en";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_UNAVAILABLE, CLERK_JWK_FAILED_TO_RESOLVE);
    assert_int_equal(o.retry_after, 4);
}

static void test_browser_header_opaque(void **state)
{
    AUTH_CASE(browser_section(p, PK_LIVE), page_view());

    valid(&f, M2M, "{\"sub\":\"mch_1\",\"exp\":9}", CLERK_TYPE_M2M);
    v.authorization = "Bearer " M2M;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_TOKEN_TYPE_MISMATCH);
    assert_int_equal(f.ncalls, 0);
    assert_int_equal(o.set_cookies->nelts, 0);
    s.accept_types = CLERK_TYPE_ALL;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
    unit_assert_str(o.user, "mch_1");
    assert_int_equal(f.ncalls, 1);
    expect_call(&f, 0, "opaque", M2M, CLERK_TYPE_M2M, "header");
    /* malformed: never sent */
    v.authorization = "Bearer mt_x";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_TOKEN_INVALID);
    assert_int_equal(f.ncalls, 1);
}

/* ------------------------------------------------------------ browser: cookies */

static void test_browser_no_cookies(void **state)
{
    AUTH_CASE(browser_section(p, PK_LIVE), page_view());

    o = run(p, &v, &s, &f);
    /* the ordinary anonymous visitor is not sent on a handshake */
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_SESSION_TOKEN_MISSING);
    unit_assert_str(o.sdk_reason, "session-token-and-uat-missing");
    unit_assert_str(o.detail, "no session cookies");
    assert_int_equal(o.set_cookies->nelts, 0);
    assert_int_equal(f.ncalls + f.exchange_calls + f.acquire_calls, 0);
    /* __client_uat=0: signed out on the client too */
    v.cookies = "__client_uat=0";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_SESSION_TOKEN_MISSING);
    assert_int_equal(o.set_cookies->nelts, 0);
}

static void test_browser_uat_without_session(void **state)
{
    AUTH_CASE(browser_section(p, PK_LIVE), page_view());

    v.cookies = "__client_uat=" UAT_AFTER;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_HANDSHAKE, CLERK_SESSION_TOKEN_MISSING);
    unit_assert_str(o.handshake_reason, "client-uat-but-no-session-token");
    unit_assert_str(o.location, HS_LOCATION("client-uat-but-no-session-token", "false"));
    expect_strings(o.set_cookies, REDIRECT_COUNT_1, NULL);
    assert_int_equal(f.ncalls, 0);
}

static void test_browser_session_without_uat(void **state)
{
    AUTH_CASE(browser_section(p, PK_LIVE), page_view());

    s.accept_types = CLERK_TYPE_ALL;
    valid(&f, "ck.tok.en", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    v.cookies = "__session=ck.tok.en";
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_HANDSHAKE, CLERK_SESSION_TOKEN_MISSING);
    unit_assert_str(o.handshake_reason, "session-token-but-no-client-uat");
    expect_strings(o.set_cookies, REDIRECT_COUNT_1, NULL);
    /* as the SDK, decided before any verification */
    assert_int_equal(f.ncalls, 0);
}

static void test_browser_iat_before_uat(void **state)
{
    AUTH_CASE(browser_section(p, PK_LIVE), page_view());

    valid(&f, "ck.tok.en", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    v.cookies = "__session=ck.tok.en; __client_uat=" UAT_AFTER;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_HANDSHAKE, CLERK_SESSION_TOKEN_MISSING);
    unit_assert_str(o.handshake_reason, "session-token-iat-before-client-uat");
    unit_assert_str(o.location, HS_LOCATION("session-token-iat-before-client-uat", "false")
                                    "&__session=ck.tok.en");
}

static void test_browser_cookie_signed_in(void **state)
{
    AUTH_CASE(browser_section(p, PK_LIVE), xhr_view());

    valid(&f, "ck.tok.en", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    v.cookies = "__session=ck.tok.en; __client_uat=" UAT_BEFORE;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
    unit_assert_str(o.user, "user_1");
    unit_assert_str(o.token, "ck.tok.en");
    unit_assert_str(o.carrier, "cookie");
    assert_int_equal(o.set_cookies->nelts, 0);
    assert_int_equal(f.ncalls, 1);

    /* a repeated __session cookie is no session: a uat without one */
    v = page_view();
    v.cookies = "__session=ck.tok.en; __session=x.y.z; __client_uat=" UAT_BEFORE;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_HANDSHAKE, CLERK_SESSION_TOKEN_MISSING);
    unit_assert_str(o.handshake_reason, "client-uat-but-no-session-token");
    assert_int_equal(f.ncalls, 1);
}

static void test_browser_cookie_expired(void **state)
{
    AUTH_CASE(browser_section(p, PK_LIVE), page_view());

    answer(&f, "ck.tok.en", CLERK_STEP_DONE, CLERK_TOKEN_EXPIRED, 0);
    answer(&f, "bad.tok.en", CLERK_STEP_DONE, CLERK_TOKEN_INVALID_SIGNATURE, 0);
    v.cookies = "__session=ck.tok.en; __client_uat=" UAT_BEFORE;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_HANDSHAKE, CLERK_TOKEN_EXPIRED);
    unit_assert_str(o.handshake_reason, EXPIRED_REASON);
    /* a forged cookie: signed out, no redirect */
    v.cookies = "__session=bad.tok.en; __client_uat=" UAT_BEFORE;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_TOKEN_INVALID_SIGNATURE);
    assert_int_equal(o.set_cookies->nelts, 0);
}

static void test_browser_suffixed_cookies(void **state)
{
    AUTH_CASE(browser_section(p, PK_LIVE), page_view());

    answer(&f, "sfx.tok.en", CLERK_STEP_DONE, CLERK_TOKEN_EXPIRED, 0);
    valid(&f, "plain.tok.en", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    /* only the instance's suffixed pair (Clerk's rule: the suffixed pair is read) */
    v.cookies = apr_pstrcat(p, s.session_cookie, "=sfx.tok.en; ", s.uat_cookie, "=" UAT_BEFORE,
                            NULL);
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_HANDSHAKE, CLERK_TOKEN_EXPIRED);
    unit_assert_str(o.location, HS_LOCATION(EXPIRED_REASON, "true") "&__session=sfx.tok.en");
    assert_int_equal(f.ncalls, 1);
    expect_call(&f, 0, "verify", "sfx.tok.en", CLERK_TYPE_SESSION, "cookie");
}

static void test_browser_cookie_unavailable(void **state)
{
    AUTH_CASE(browser_section(p, PK_LIVE), page_view());

    answer(&f, "ck.tok.en", CLERK_STEP_UNAVAILABLE, CLERK_OK, 0);
    v.cookies = "__session=ck.tok.en; __client_uat=" UAT_BEFORE;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_UNAVAILABLE, CLERK_JWK_FAILED_TO_RESOLVE);
    assert_int_equal(o.retry_after, 1);
    /* no handshake cookie on a 503 */
    assert_int_equal(o.set_cookies->nelts, 0);
}

/* ------------------------------------------------------------ browser: handshake results */

static void test_nonce_exchange(void **state)
{
    AUTH_CASE(browser_section(p, PK_LIVE), page_view());

    s.accept_types = CLERK_TYPE_ALL;
    valid(&f, "hs.tok.en", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    valid(&f, "old.tok.en", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    f.directives = unit_strings(p, "__session=hs.tok.en; Path=/; Domain=example.com",
                                "admin=1; Path=/",
                                "__client_uat=" UAT_BEFORE "; Path=/",
                                "__refresh=r; Domain=evil.com", NULL);
    v.handshake_nonce = NONCE;
    /* the browser still sends its old cookies: the handshake's session wins */
    v.cookies = "__session=old.tok.en; __client_uat=" UAT_AFTER;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
    unit_assert_str(o.user, "user_1");
    unit_assert_str(o.handshake_session, "hs.tok.en");
    unit_assert_str(o.token, "hs.tok.en");
    unit_assert_str(o.carrier, "handshake");
    assert_int_equal(f.exchange_calls, 1);
    unit_assert_str(f.nonce_asked, NONCE);
    expect_strings(o.set_cookies, "__session=hs.tok.en; Path=/; Domain=example.com",
                   "__client_uat=" UAT_BEFORE "; Path=/", NULL);
    expect_strings(o.warnings,
                   "handshake directive not set: cookie admin is not one Clerk's handshake sets",
                   "handshake directive not set: cookie __refresh: Domain=evil.com is not the "
                   "host or a parent of it", NULL);
    assert_int_equal(f.ncalls, 1);
    expect_call(&f, 0, "verify", "hs.tok.en", CLERK_TYPE_SESSION, "handshake");
    assert_int_equal(f.acquire_calls, 0);
}

static void test_nonce_from_cookie(void **state)
{
    AUTH_CASE(browser_section(p, PK_LIVE), page_view());

    valid(&f, "hs.tok.en", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    f.directives = unit_strings(p, "__session=hs.tok.en; Path=/", NULL);
    v.cookies = "__clerk_handshake_nonce=" NONCE;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
    unit_assert_str(f.nonce_asked, NONCE);
    assert_int_equal(f.exchange_calls, 1);
    expect_strings(o.set_cookies, "__session=hs.tok.en; Path=/", NULL);
    assert_int_equal(o.warnings->nelts, 0);
}

static void test_nonce_not_navigation(void **state)
{
    AUTH_CASE(browser_section(p, PK_LIVE), xhr_view());

    f.directives = unit_strings(p, "__session=hs.tok.en", NULL);
    v.handshake_nonce = NONCE;
    v.cookies = "__clerk_handshake_nonce=" NONCE;
    o = run(p, &v, &s, &f);
    /* costs a Backend API call only where a handshake lands: ignored */
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_SESSION_TOKEN_MISSING);
    assert_int_equal(f.exchange_calls, 0);
    assert_int_equal(o.warnings->nelts, 0);
    assert_int_equal(o.set_cookies->nelts, 0);
}

static void test_nonce_without_secret(void **state)
{
    AUTH_CASE(browser_section(p, PK_LIVE), page_view());

    s.has_secret = 0;
    s.has_machine_secret = 1;   /* not for nonces */
    valid(&f, "ck.tok.en", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    f.directives = unit_strings(p, "__session=hs.tok.en", NULL);
    v.handshake_nonce = NONCE;
    v.cookies = "__session=ck.tok.en; __client_uat=" UAT_BEFORE;
    o = run(p, &v, &s, &f);
    /* as the SDK without an API client: a result without a session, the cookies unread */
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_SESSION_TOKEN_MISSING);
    unit_assert_str(o.sdk_reason, "session-token-missing");
    assert_true(o.handshake_resolved);
    assert_null(o.handshake_session);
    assert_int_equal(f.exchange_calls, 0);
    assert_int_equal(f.ncalls, 0);
    expect_strings(o.warnings, "handshake nonce not resolved: "
                               "a handshake nonce needs ClerkSecretKey", NULL);
}

static void test_nonce_malformed(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_auth_settings_t s = browser_section(p, PK_LIVE);
    clerk_request_view_t v = page_view();
    char *long_nonce = apr_palloc(p, CLERK_NONCE_MAX + 2);
    const char *bad[4];
    fake_t f;

    memset(long_nonce, 'n', CLERK_NONCE_MAX + 1);
    long_nonce[CLERK_NONCE_MAX + 1] = '\0';
    bad[0] = "nonce with space";
    bad[1] = "nonce/../x";
    bad[2] = "";
    bad[3] = long_nonce;
    fake_init(&f, p);
    f.directives = unit_strings(p, "__session=hs.tok.en", NULL);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        clerk_auth_outcome_t o;
        v.handshake_nonce = bad[i];
        o = run(p, &v, &s, &f);
        expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_SESSION_TOKEN_MISSING);
        expect_strings(o.warnings, "handshake nonce not resolved: "
                                   "malformed handshake nonce (not sent to the Backend API)",
                       NULL);
    }
    assert_int_equal(f.exchange_calls, 0);
}

static void test_nonce_unavailable(void **state)
{
    AUTH_CASE(browser_section(p, PK_LIVE), page_view());

    valid(&f, "ck.tok.en", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    f.nonce_step = CLERK_STEP_UNAVAILABLE;
    f.nonce_retry = 12;
    v.handshake_nonce = NONCE;
    v.cookies = "__session=ck.tok.en; __client_uat=" UAT_BEFORE;
    o = run(p, &v, &s, &f);
    /* not the cookies' decision: the request waits for the exchange */
    expect_state(o, CLERK_AUTH_UNAVAILABLE, CLERK_OK);
    assert_int_equal(o.retry_after, 12);
    assert_int_equal(f.ncalls, 0);
    f.nonce_retry = 0;
    o = run(p, &v, &s, &f);
    assert_int_equal(o.retry_after, 1);
    f.nonce_step = CLERK_STEP_BROKEN;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_BROKEN, CLERK_OK);
    assert_int_equal(f.exchange_calls, 3);
    assert_int_equal(f.ncalls, 0);
}

static void test_nonce_no_directives(void **state)
{
    AUTH_CASE(browser_section(p, PK_LIVE), page_view());

    valid(&f, "ck.tok.en", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    v.handshake_nonce = NONCE;
    v.cookies = "__session=ck.tok.en; __client_uat=" UAT_BEFORE;
    f.nonce_detail = "the nonce is unknown";
    o = run(p, &v, &s, &f);
    /* as the SDK: a nonce without cookies is a result without a session; the cookies unread */
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_SESSION_TOKEN_MISSING);
    assert_int_equal(f.ncalls, 0);
    expect_strings(o.warnings, "handshake nonce not resolved: the nonce is unknown", NULL);
    f.nonce_detail = NULL;
    o = run(p, &v, &s, &f);
    expect_strings(o.warnings, "handshake nonce not resolved: no directives", NULL);
    assert_int_equal(f.exchange_calls, 2);
}

static void test_nonce_no_session(void **state)
{
    AUTH_CASE(browser_section(p, PK_LIVE), page_view());

    valid(&f, "ck.tok.en", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    /* a signed-out client: the handshake clears the session; a foreign one is dropped */
    f.directives = unit_strings(p, "__client_uat=0; Path=/", "__session=evil; Domain=evil.com",
                                NULL);
    v.handshake_nonce = NONCE;
    v.cookies = "__session=ck.tok.en; __client_uat=" UAT_BEFORE;
    o = run(p, &v, &s, &f);
    /* the handshake decides, not the stale cookies */
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_SESSION_TOKEN_MISSING);
    unit_assert_str(o.detail, "handshake set no session");
    assert_null(o.handshake_session);
    expect_strings(o.set_cookies, "__client_uat=0; Path=/", NULL);
    assert_int_equal(o.warnings->nelts, 1);
    assert_int_equal(f.ncalls, 0);

    /* an empty list, too */
    f.directives = unit_strings(p, NULL);
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_SESSION_TOKEN_MISSING);
    assert_int_equal(o.set_cookies->nelts, 0);
    assert_int_equal(f.ncalls, 0);
}

static void test_nonce_session_rejected(void **state)
{
    AUTH_CASE(browser_section(p, PK_LIVE), page_view());

    answer(&f, "hs.tok.en", CLERK_STEP_DONE, CLERK_TOKEN_INVALID_ISSUER, 0);
    f.directives = unit_strings(p, "__session=hs.tok.en", "__client_uat=1", NULL);
    v.handshake_nonce = NONCE;
    o = run(p, &v, &s, &f);
    /* as Clerk's SDK: the result is dropped, logged, and the cookies decide */
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_SESSION_TOKEN_MISSING);
    unit_assert_str(o.sdk_reason, "session-token-and-uat-missing");
    assert_null(o.handshake_session);
    assert_int_equal(o.set_cookies->nelts, 0);
    expect_strings(o.warnings, "the handshake's session was rejected (token-invalid-issuer), "
                               "continuing with the cookies", NULL);

    /* keys unavailable for the handshake's session: 503 (the result is not used) */
    fake_init(&f, p);
    answer(&f, "hs.tok.en", CLERK_STEP_UNAVAILABLE, CLERK_OK, 3);
    f.directives = unit_strings(p, "__session=hs.tok.en", NULL);
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_UNAVAILABLE, CLERK_JWK_FAILED_TO_RESOLVE);
    assert_int_equal(o.retry_after, 3);
    assert_int_equal(o.set_cookies->nelts, 0);
}

static void test_earlier_handshake_session(void **state)
{
    AUTH_CASE(browser_section(p, PK_LIVE), page_view());

    s.accept_types = CLERK_TYPE_ALL;
    valid(&f, "early.tok.en", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    f.directives = unit_strings(p, "__session=hs.tok.en", NULL);
    v.earlier_handshake_session = "early.tok.en";
    v.handshake_nonce = NONCE;     /* still in the query of the internal redirect */
    v.cookies = "__client_uat=" UAT_AFTER;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
    unit_assert_str(o.handshake_session, "early.tok.en");
    unit_assert_str(o.carrier, "handshake");
    assert_int_equal(o.set_cookies->nelts, 0);
    assert_int_equal(f.exchange_calls + f.acquire_calls, 0);
    assert_int_equal(f.ncalls, 1);
    expect_call(&f, 0, "verify", "early.tok.en", CLERK_TYPE_SESSION, "handshake");

    /* not valid in this section: the ordinary flow (here the nonce) decides */
    fake_init(&f, p);
    answer(&f, "early.tok.en", CLERK_STEP_DONE, CLERK_TOKEN_INVALID_ISSUER, 0);
    valid(&f, "hs.tok.en", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    f.directives = unit_strings(p, "__session=hs.tok.en", NULL);
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
    unit_assert_str(o.handshake_session, "hs.tok.en");
    assert_int_equal(f.exchange_calls, 1);
    assert_int_equal(f.ncalls, 2);

    /* unavailable keys stop it there */
    fake_init(&f, p);
    answer(&f, "early.tok.en", CLERK_STEP_UNAVAILABLE, CLERK_OK, 5);
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_UNAVAILABLE, CLERK_JWK_FAILED_TO_RESOLVE);
    assert_int_equal(o.retry_after, 5);
    assert_int_equal(f.exchange_calls, 0);
}

static void test_handshake_token(void **state)
{
    AUTH_CASE(browser_section(p, PK_LIVE), page_view());
    const char *hs = handshake_token(p, "{\"handshake\":[\"__session=hs.tok.en; Path=/\","
                                        "\"__client_uat=" UAT_BEFORE "; Path=/\",\"x=1\"]}");

    f.keys = unit_pem_keyset(p, UNIT_PUB_PEM);
    valid(&f, "hs.tok.en", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    v.handshake = hs;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
    unit_assert_str(o.handshake_session, "hs.tok.en");
    expect_strings(o.set_cookies, "__session=hs.tok.en; Path=/",
                   "__client_uat=" UAT_BEFORE "; Path=/", NULL);
    expect_strings(o.warnings,
                   "handshake directive not set: cookie x is not one Clerk's handshake sets", NULL);
    assert_int_equal(f.acquire_calls, 1);
    assert_int_equal(f.release_calls, 1);
    assert_ptr_equal(f.released, &f.hold_token);
    assert_int_equal(f.exchange_calls, 0);
    expect_call(&f, 0, "verify", "hs.tok.en", CLERK_TYPE_SESSION, "handshake");

    /* from the __clerk_handshake cookie */
    fake_init(&f, p);
    f.keys = unit_pem_keyset(p, UNIT_PUB_PEM);
    valid(&f, "hs.tok.en", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    v.handshake = NULL;
    v.cookies = apr_pstrcat(p, "__clerk_handshake=", hs, NULL);
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
    unit_assert_str(o.handshake_session, "hs.tok.en");
    assert_int_equal(f.acquire_calls, 1);
    assert_int_equal(f.release_calls, 1);
}

static void test_handshake_token_refused(void **state)
{
    AUTH_CASE(browser_section(p, PK_LIVE), page_view());
    EVP_PKEY *other = unit_load_private_key(p, UNIT_VEC_CLERK "keys/integration-a.private.pem");

    f.keys = unit_pem_keyset(p, UNIT_PUB_PEM);
    valid(&f, "hs.tok.en", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    v.handshake = unit_sign(p, other, "RS256", HDR, "{\"handshake\":[\"__session=hs.tok.en\"]}");
    o = run(p, &v, &s, &f);
    /* a forged handshake sets nothing: the cookies decide (none: signed out) */
    expect_state(o, CLERK_AUTH_SIGNED_OUT, CLERK_SESSION_TOKEN_MISSING);
    assert_int_equal(o.set_cookies->nelts, 0);
    assert_null(o.handshake_session);
    assert_int_equal(o.warnings->nelts, 1);
    {
        const char *w = APR_ARRAY_IDX(o.warnings, 0, const char *);
        const char *prefix = "handshake result not usable, continuing with the cookies: "
                             "token-invalid-signature: ";
        if (strncmp(w, prefix, strlen(prefix)))
            fail_msg("warning: %s", w);
    }
    assert_int_equal(f.acquire_calls, 1);
    assert_int_equal(f.release_calls, 1);
    assert_int_equal(f.ncalls, 0);

    /* no keys now: 503 for want of keys, nothing to release */
    fake_init(&f, p);
    f.keys_step = CLERK_STEP_UNAVAILABLE;
    f.keys_retry = 9;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_UNAVAILABLE, CLERK_JWK_FAILED_TO_RESOLVE);
    assert_int_equal(o.retry_after, 9);
    assert_int_equal(f.acquire_calls, 1);
    assert_int_equal(f.release_calls, 0);
    f.keys_step = CLERK_STEP_BROKEN;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_BROKEN, CLERK_JWK_FAILED_TO_RESOLVE);
    assert_int_equal(f.release_calls, 0);
}

static void test_nonce_before_handshake_token(void **state)
{
    AUTH_CASE(browser_section(p, PK_LIVE), page_view());

    f.keys = unit_pem_keyset(p, UNIT_PUB_PEM);
    valid(&f, "n.tok.en", SESSION_CLAIMS, CLERK_TYPE_SESSION);
    f.directives = unit_strings(p, "__session=n.tok.en", NULL);
    v.handshake = handshake_token(p, "{\"handshake\":[\"__session=hs.tok.en\"]}");
    v.handshake_nonce = NONCE;
    o = run(p, &v, &s, &f);
    expect_state(o, CLERK_AUTH_SIGNED_IN, CLERK_OK);
    unit_assert_str(o.handshake_session, "n.tok.en");
    assert_int_equal(f.exchange_calls, 1);
    assert_int_equal(f.acquire_calls, 0);
    assert_int_equal(f.release_calls, 0);
}

/* ------------------------------------------------------------ names */

static void test_state_names(void **state)
{
    (void)state;
    unit_assert_str(clerk_auth_state_name(CLERK_AUTH_SIGNED_IN), "signed-in");
    unit_assert_str(clerk_auth_state_name(CLERK_AUTH_SIGNED_OUT), "signed-out");
    unit_assert_str(clerk_auth_state_name(CLERK_AUTH_ANONYMOUS), "anonymous");
    unit_assert_str(clerk_auth_state_name(CLERK_AUTH_SIGN_IN_REDIRECT), "sign-in-redirect");
    unit_assert_str(clerk_auth_state_name(CLERK_AUTH_HANDSHAKE), "handshake");
    unit_assert_str(clerk_auth_state_name(CLERK_AUTH_UNAVAILABLE), "unavailable");
    unit_assert_str(clerk_auth_state_name(CLERK_AUTH_BROKEN), "broken");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_no_token),
        UNIT_TEST(test_header_signed_in),
        UNIT_TEST(test_header_wins_over_cookie),
        UNIT_TEST(test_malformed_header),
        UNIT_TEST(test_repeated_cookie),
        UNIT_TEST(test_source_header_only),
        UNIT_TEST(test_source_cookie_only),
        UNIT_TEST(test_suffixed_cookie_first),
        UNIT_TEST(test_cookie_accept_masked),
        UNIT_TEST(test_machine_only_ignores_cookies),
        UNIT_TEST(test_opaque_type_not_accepted),
        UNIT_TEST(test_opaque_needs_secret),
        UNIT_TEST(test_opaque_signed_in),
        UNIT_TEST(test_opaque_malformed),
        UNIT_TEST(test_opaque_in_cookie),
        UNIT_TEST(test_opaque_refused),
        UNIT_TEST(test_opaque_unavailable),
        UNIT_TEST(test_verify_unavailable),
        UNIT_TEST(test_verify_broken),
        UNIT_TEST(test_remote_user),
        UNIT_TEST(test_pass_anonymous),
        UNIT_TEST(test_deny_page_view),
        UNIT_TEST(test_redirect_page_view),
        UNIT_TEST(test_redirect_not_page_view),
        UNIT_TEST(test_handshake_without_instance),
        UNIT_TEST(test_browser_header_signed_in),
        UNIT_TEST(test_browser_header_expired),
        UNIT_TEST(test_browser_header_expired_xhr),
        UNIT_TEST(test_browser_development_handshakes),
        UNIT_TEST(test_browser_header_refused),
        UNIT_TEST(test_browser_header_opaque),
        UNIT_TEST(test_browser_no_cookies),
        UNIT_TEST(test_browser_uat_without_session),
        UNIT_TEST(test_browser_session_without_uat),
        UNIT_TEST(test_browser_iat_before_uat),
        UNIT_TEST(test_browser_cookie_signed_in),
        UNIT_TEST(test_browser_cookie_expired),
        UNIT_TEST(test_browser_suffixed_cookies),
        UNIT_TEST(test_browser_cookie_unavailable),
        UNIT_TEST(test_nonce_exchange),
        UNIT_TEST(test_nonce_from_cookie),
        UNIT_TEST(test_nonce_not_navigation),
        UNIT_TEST(test_nonce_without_secret),
        UNIT_TEST(test_nonce_malformed),
        UNIT_TEST(test_nonce_unavailable),
        UNIT_TEST(test_nonce_no_directives),
        UNIT_TEST(test_nonce_no_session),
        UNIT_TEST(test_nonce_session_rejected),
        UNIT_TEST(test_earlier_handshake_session),
        UNIT_TEST(test_handshake_token),
        UNIT_TEST(test_handshake_token_refused),
        UNIT_TEST(test_nonce_before_handshake_token),
        UNIT_TEST(test_state_names),
    };
    return UNIT_RUN(tests);
}
