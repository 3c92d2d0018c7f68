/*
 * Browser sessions (clerk_handshake.h, README: "Protecting a PHP site for browser users"): handshake
 * eligibility, the suffixed-cookie rules of Clerk's usesSuffixedCookies, the
 * decision table for cookie and header tokens, the handshake Location, the
 * handshake JWT, Set-Cookie directives, query stripping and decoding.
 *
 * Tokens are minted here with the fixture key (clerk_jws_sign); the cookie
 * rules only read iss/iat/exp, so the payloads carry just what a rule needs.
 */
#include "unit.h"

#include "clerk_backend_api.h"
#include "clerk_handshake.h"

#define FAPI "clerk.acceptance.test"
#define ISS "https://" FAPI
#define OTHER_ISS "https://clerk.other-app.test"
#define HDR "{\"alg\":\"RS256\",\"kid\":\"" UNIT_KID "\",\"typ\":\"JWT\"}"

static apr_int64_t now_sec(void)
{
    return (apr_int64_t)apr_time_sec(apr_time_now());
}

/* A session-shaped token signed with the fixture key; iss NULL: no iss claim. */
static const char *tok(apr_pool_t *p, const char *iss, apr_int64_t iat, apr_int64_t exp)
{
    const char *payload = apr_psprintf(p,
                                       "{%s%s%s\"sub\":\"user_1\",\"sid\":\"sess_1\","
                                       "\"iat\":%" APR_INT64_T_FMT ",\"exp\":%" APR_INT64_T_FMT "}",
                                       iss ? "\"iss\":\"" : "", iss ? iss : "", iss ? "\"," : "",
                                       iat, exp);
    return unit_sign(p, unit_fixture_private_key(p), "RS256", HDR, payload);
}

static clerk_session_cookies_t jar(const char *session, const char *session_suffixed,
                                   const char *uat, const char *uat_suffixed)
{
    clerk_session_cookies_t c = {session, session_suffixed, uat, uat_suffixed};
    return c;
}

static int suffixed(apr_pool_t *p, clerk_session_cookies_t c, int production)
{
    return clerk_use_suffixed_cookies(p, &c, FAPI, production, apr_time_sec(apr_time_now()));
}

/* ------------------------------------------------------------ eligibility */

static void test_eligibility_matrix(void **state)
{
    static const struct {
        const char *method, *dest, *accept;
        int eligible;
    } rows[] = {
        /* a navigation: document or iframe, whatever Accept says */
        {"GET", "document", "text/html,application/xhtml+xml", 1},
        {"GET", "document", NULL, 1},
        {"GET", "document", "application/json", 1},
        {"GET", "iframe", "*/*", 1},
        /* fetch()/XHR, sub-resources: never, even with Accept text/html */
        {"GET", "empty", "text/html", 0},
        {"GET", "script", "text/html", 0},
        {"GET", "image", "image/avif,*/*", 0},
        {"GET", "style", "text/css", 0},
        {"GET", "Document", "text/html", 0},       /* values are case-sensitive */
        {"GET", "frame", "text/html", 0},
        /* no Sec-Fetch-Dest (older browsers, curl): Accept decides */
        {"GET", NULL, "text/html", 1},
        {"GET", NULL, "text/html,application/xhtml+xml,application/xml;q=0.9", 1},
        {"GET", NULL, "application/json", 0},
        {"GET", NULL, "*/*", 0},
        {"GET", NULL, "application/xhtml+xml,text/html", 0},  /* must start with it */
        {"GET", NULL, "TEXT/HTML", 0},
        {"GET", NULL, NULL, 0},
        /* an empty Sec-Fetch-Dest counts as absent (Clerk's header getter) */
        {"GET", "", "text/html", 1},
        {"GET", "", "application/json", 0},
        /* only GET */
        {"POST", "document", "text/html", 0},
        {"POST", NULL, "text/html", 0},
        {"HEAD", "document", "text/html", 0},
        {"PUT", "document", "text/html", 0},
        {"get", "document", "text/html", 0},
        {NULL, "document", "text/html", 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        if (clerk_handshake_eligible(rows[i].method, rows[i].dest, rows[i].accept)
            != rows[i].eligible)
            fail_msg("row %zu: %s dest=%s accept=%s: expected %s", i,
                     rows[i].method ? rows[i].method : "(null)",
                     rows[i].dest ? rows[i].dest : "(none)",
                     rows[i].accept ? rows[i].accept : "(none)",
                     rows[i].eligible ? "eligible" : "not eligible");
}

static void test_client_uat(void **state)
{
    (void)state;
    assert_int_equal(clerk_client_uat("1700000000"), 1700000000);
    assert_int_equal(clerk_client_uat("0"), 0);
    assert_int_equal(clerk_client_uat("1"), 1);
    assert_int_equal(clerk_client_uat(NULL), 0);
    assert_int_equal(clerk_client_uat(""), 0);
    assert_int_equal(clerk_client_uat("abc"), 0);
    /* as the SDK's Number.parseInt: a sign, leading white space, digits up to the first other */
    assert_int_equal(clerk_client_uat("-5"), -5);
    assert_int_equal(clerk_client_uat("12x"), 12);
    assert_int_equal(clerk_client_uat(" \t+42 7"), 42);
    assert_int_equal(clerk_client_uat("x12"), 0);
    assert_int_equal(clerk_client_uat("999999999999999999"), 999999999999999999LL);
    assert_true(clerk_client_uat("99999999999999999999999") == APR_INT64_MAX);
    assert_true(clerk_client_uat("-99999999999999999999999") == -APR_INT64_MAX);
}

static void test_redirect_count(void **state)
{
    (void)state;
    assert_int_equal(clerk_redirect_count("2"), 2);
    assert_int_equal(clerk_redirect_count(NULL), 0);
    assert_int_equal(clerk_redirect_count(""), 0);
    assert_int_equal(clerk_redirect_count("3x"), 0);
    assert_int_equal(clerk_redirect_count("-1"), 0);
    assert_int_equal(clerk_redirect_count("9999999999999999999"), 0);    /* 19 digits */
}

/* ------------------------------------------------------------ cookie suffix rules */

static void test_suffix_rule1_unsuffixed_without_iss(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    apr_int64_t t = now_sec();
    const char *s = tok(p, ISS, t, t + 60);

    /* U without iss: un-suffixed (signed out there rather than a handshake) */
    assert_false(suffixed(p, jar(tok(p, NULL, t, t + 60), s, "1", "1"), 1));
    /* an empty iss is no iss */
    assert_false(suffixed(p, jar(tok(p, "", t, t + 60), s, "1", "1"), 1));
    /* U that is no JWT at all cannot be decoded: no iss either */
    assert_false(suffixed(p, jar("garbage", s, "1", "1"), 1));
    assert_false(suffixed(p, jar("a.b.c", s, "1", "1"), 1));
}

static void test_suffix_rule2_other_instance(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    apr_int64_t t = now_sec();
    const char *other = tok(p, OTHER_ISS, t + 100, t + 160);

    /* another instance's U: suffixed, whatever the rest says */
    assert_true(suffixed(p, jar(other, NULL, NULL, NULL), 1));
    assert_true(suffixed(p, jar(other, NULL, "5", "0"), 1));
    assert_true(suffixed(p, jar(other, tok(p, ISS, t, t + 60), "9", NULL), 1));
    /* http:// is stripped as well as https:// */
    assert_false(suffixed(p, jar(tok(p, "http://" FAPI, t, t + 60), NULL, "1", NULL), 1));
    /* a host that merely contains ours is another instance */
    assert_true(suffixed(p, jar(tok(p, "https://x" FAPI, t, t + 60), NULL, NULL, NULL), 1));
    assert_true(suffixed(p, jar(tok(p, ISS ".evil", t, t + 60), NULL, NULL, NULL), 1));
}

static void test_suffix_rule3_no_suffixed_cookies(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    apr_int64_t t = now_sec();

    assert_false(suffixed(p, jar(NULL, NULL, NULL, NULL), 1));
    assert_false(suffixed(p, jar(tok(p, ISS, t, t + 60), NULL, "1", NULL), 1));
    assert_false(suffixed(p, jar(NULL, NULL, "1700000000", NULL), 1));
}

static void test_suffix_rule4_newer_unsuffixed(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    apr_int64_t t = now_sec();
    const char *older = tok(p, ISS, t - 100, t + 60), *newer = tok(p, ISS, t, t + 60);

    /* both uats signed in, U newer: un-suffixed */
    assert_false(suffixed(p, jar(newer, older, "5", "5"), 1));
    /* U older or as old: suffixed */
    assert_true(suffixed(p, jar(older, newer, "5", "5"), 1));
    assert_true(suffixed(p, jar(newer, newer, "5", "5"), 1));
    /* a uat of "0" disables the rule */
    assert_true(suffixed(p, jar(newer, older, "0", "5"), 1));
    /* Clerk compares the cookie text with "0": a missing uat is not "0" */
    assert_false(suffixed(p, jar(newer, older, NULL, "5"), 1));
    /* no U: its iat counts as 0, never newer */
    assert_true(suffixed(p, jar(NULL, older, "5", "5"), 1));
}

static void test_suffix_rule5_suffixed_signed_out(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    apr_int64_t t = now_sec();
    const char *s = tok(p, ISS, t, t + 60);

    /* suffixed uat "0", un-suffixed signed in: un-suffixed */
    assert_false(suffixed(p, jar(NULL, NULL, "5", "0"), 1));
    assert_false(suffixed(p, jar(NULL, s, "5", "0"), 1));
    /* both signed out: suffixed */
    assert_true(suffixed(p, jar(NULL, s, "0", "0"), 1));
    /* a missing un-suffixed uat is not "0": un-suffixed */
    assert_false(suffixed(p, jar(NULL, s, NULL, "0"), 1));
    /* only the text "0" means signed out: "00" does not */
    assert_true(suffixed(p, jar(NULL, s, "5", "00"), 1));
}

static void test_suffix_rule6_development_expired(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    apr_int64_t t = now_sec();
    const char *expired = tok(p, ISS, t - 600, t - 60), *fresh = tok(p, ISS, t, t + 60);

    /* development: suffixed uat signed in, un-suffixed "0", S expired: un-suffixed */
    assert_false(suffixed(p, jar(NULL, expired, "0", "5"), 0));
    /* production never applies it */
    assert_true(suffixed(p, jar(NULL, expired, "0", "5"), 1));
    /* S still valid: suffixed */
    assert_true(suffixed(p, jar(NULL, fresh, "0", "5"), 0));
    /* only the text "0" for the un-suffixed uat: a missing one does not count */
    assert_true(suffixed(p, jar(NULL, expired, NULL, "5"), 0));
    /* an S that cannot be decoded has not "expired" */
    assert_true(suffixed(p, jar(NULL, "not-a-jwt", "0", "5"), 0));
    /* no S at all: suffixed (its uat rules) */
    assert_true(suffixed(p, jar(NULL, NULL, "0", "5"), 0));
}

static void test_suffix_rule7_suffixed_session_without_uat(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    apr_int64_t t = now_sec();
    const char *s = tok(p, ISS, t, t + 60);

    assert_false(suffixed(p, jar(NULL, s, NULL, NULL), 1));
    assert_false(suffixed(p, jar(NULL, s, "5", NULL), 1));
    assert_false(suffixed(p, jar(NULL, s, "5", NULL), 0));
}

static void test_suffix_rule8_suffixed(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    apr_int64_t t = now_sec();
    const char *s = tok(p, ISS, t, t + 60);

    assert_true(suffixed(p, jar(NULL, s, NULL, "5"), 1));
    assert_true(suffixed(p, jar(NULL, NULL, NULL, "5"), 1));
    assert_true(suffixed(p, jar(NULL, s, "5", "5"), 1));
    assert_true(suffixed(p, jar(NULL, s, "0", "5"), 1));
    /* our own older U with both uats: the suffixed pair */
    assert_true(suffixed(p, jar(tok(p, ISS, t - 50, t + 10), s, "5", "5"), 1));
}

/* ------------------------------------------------------------ decision table */

static void test_location(void **state)
{
    apr_pool_t *p = UNIT_POOL;

    unit_assert_str(clerk_handshake_location(p, "https://" FAPI, "https://app.test/",
                                             "session-token-nbf", 0),
                    "https://" FAPI "/v1/client/handshake?redirect_url=https%3a%2f%2fapp.test%2f"
                    "&__clerk_api_version=" CLERK_BACKEND_API_VERSION
                    "&suffixed_cookies=false&__clerk_hs_reason=session-token-nbf&format=nonce");
    /* a query, a fragment-looking #, spaces, '+' and non-ASCII stay inside redirect_url */
    unit_assert_str(clerk_handshake_location(p, "https://" FAPI "/",
                                             "https://app.test/a b/p.php?x=1&y=a+b#f\xc3\xa9",
                                             "client-uat-but-no-session-token", 1),
                    "https://" FAPI "/v1/client/handshake?redirect_url="
                    "https%3a%2f%2fapp.test%2fa+b%2fp.php%3fx%3d1%26y%3da%2bb%23f%c3%a9"
                    "&__clerk_api_version=2026-05-12&suffixed_cookies=true"
                    "&__clerk_hs_reason=client-uat-but-no-session-token&format=nonce");
    /* a proxy base keeps its path; one trailing slash is dropped */
    unit_assert_str(clerk_handshake_location(p, "https://app.test/__clerk/", "https://app.test/",
                                             "r", 0),
                    "https://app.test/__clerk/v1/client/handshake?redirect_url="
                    "https%3a%2f%2fapp.test%2f&__clerk_api_version=2026-05-12"
                    "&suffixed_cookies=false&__clerk_hs_reason=r&format=nonce");
    unit_assert_str(clerk_handshake_location(p, "http://127.0.0.1:9", "http://127.0.0.1:8/x",
                                             "a&b=c", 0),
                    "http://127.0.0.1:9/v1/client/handshake?redirect_url="
                    "http%3a%2f%2f127.0.0.1%3a8%2fx&__clerk_api_version=2026-05-12"
                    "&suffixed_cookies=false&__clerk_hs_reason=a%26b%3dc&format=nonce");
    /* a redirect URL with CR/LF cannot break out of the header */
    assert_null(strpbrk(clerk_handshake_location(p, "https://" FAPI, "https://a.test/\r\nX: y",
                                                 "r", 0),
                        "\r\n"));
}

/* ------------------------------------------------------------ handshake JWT */

static const char *hs_token(apr_pool_t *p, EVP_PKEY *key, const char *header, const char *payload)
{
    return unit_sign(p, key, "RS256", header, payload);
}

static clerk_reason_t directives_of(apr_pool_t *p, const char *token, const clerk_keyset_t *ks,
                                    apr_array_header_t **out)
{
    const char *detail = "unset";
    clerk_reason_t r;

    *out = NULL;
    r = clerk_handshake_token_directives(p, token, ks, out, &detail);
    if (r == CLERK_OK) {
        assert_null(detail);
        assert_non_null(*out);
    }
    else
        assert_non_null(detail);
    return r;
}

#define HS_PAYLOAD "{\"handshake\":[\"__session=abc; Path=/; SameSite=Lax\",\"__client_uat=5; Path=/\"]}"

static void test_handshake_token_valid(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    EVP_PKEY *key = unit_fixture_private_key(p);
    clerk_keyset_t *pem = unit_pem_keyset(p, UNIT_PUB_PEM), *jwks = unit_jwks_keyset(p, UNIT_JWKS);
    apr_array_header_t *d;
    static const char *const headers[] = {
        HDR,
        "{\"alg\":\"RS256\",\"kid\":\"" UNIT_KID "\"}",                                /* no typ */
        "{\"alg\":\"RS256\",\"kid\":\"" UNIT_KID "\",\"cat\":\"" CLERK_CAT_SESSION "\"}",
        "{\"alg\":\"RS256\",\"kid\":\"" UNIT_KID "\",\"cat\":\"" CLERK_CAT_IGNORE "\"}",
    };

    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        const char *t = hs_token(p, key, headers[i], HS_PAYLOAD);
        unit_assert_reason(directives_of(p, t, pem, &d), CLERK_OK);
        assert_int_equal(d->nelts, 2);
        unit_assert_str(APR_ARRAY_IDX(d, 0, const char *), "__session=abc; Path=/; SameSite=Lax");
        unit_assert_str(APR_ARRAY_IDX(d, 1, const char *), "__client_uat=5; Path=/");
        unit_assert_reason(directives_of(p, t, jwks, &d), CLERK_OK);
    }
    /* no exp/nbf/iat checks at all: an old token with time claims still verifies */
    unit_assert_reason(directives_of(p, hs_token(p, key, HDR,
                                                 "{\"handshake\":[],\"exp\":1,\"nbf\":1,\"iat\":1}"),
                                     pem, &d), CLERK_OK);
    assert_int_equal(d->nelts, 0);
    /* entries that are not strings are skipped */
    unit_assert_reason(directives_of(p, hs_token(p, key, HDR,
                                                 "{\"handshake\":[1,\"__session=x\",null,{}]}"),
                                     pem, &d), CLERK_OK);
    assert_int_equal(d->nelts, 1);
    unit_assert_str(APR_ARRAY_IDX(d, 0, const char *), "__session=x");
}

static void test_handshake_token_refused(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    EVP_PKEY *key = unit_fixture_private_key(p);
    EVP_PKEY *other = unit_load_private_key(p, UNIT_VEC_CLERK "keys/integration-a.private.pem");
    clerk_keyset_t *pem = unit_pem_keyset(p, UNIT_PUB_PEM), *jwks = unit_jwks_keyset(p, UNIT_JWKS);
    apr_array_header_t *d;
    char *h, *pl, *s;
    const char *good = hs_token(p, key, HDR, HS_PAYLOAD);

    /* signed with another key under the fixture's kid */
    unit_assert_reason(directives_of(p, hs_token(p, other, HDR, HS_PAYLOAD), pem, &d),
                       CLERK_TOKEN_INVALID_SIGNATURE);
    assert_null(d);
    unit_assert_reason(directives_of(p, hs_token(p, other, HDR, HS_PAYLOAD), jwks, &d),
                       CLERK_TOKEN_INVALID_SIGNATURE);
    /* a payload swapped under a valid signature */
    unit_split3(p, good, &h, &pl, &s);
    unit_assert_reason(directives_of(p, apr_pstrcat(p, h, ".",
                                                    unit_b64url_str(p, "{\"handshake\":[\"__session=evil\"]}"),
                                                    ".", s, NULL),
                                     pem, &d),
                       CLERK_TOKEN_INVALID_SIGNATURE);
    /* JWT templates and M2M tokens must not set cookies (AISEC-85), even validly signed */
    unit_assert_reason(directives_of(p, hs_token(p, key,
                                                 "{\"alg\":\"RS256\",\"kid\":\"" UNIT_KID
                                                 "\",\"cat\":\"" CLERK_CAT_TEMPLATE "\"}",
                                                 HS_PAYLOAD),
                                     pem, &d),
                       CLERK_TOKEN_INVALID);
    assert_null(d);
    unit_assert_reason(directives_of(p, hs_token(p, key,
                                                 "{\"alg\":\"RS256\",\"kid\":\"" UNIT_KID
                                                 "\",\"cat\":\"" CLERK_CAT_M2M "\"}",
                                                 HS_PAYLOAD),
                                     pem, &d),
                       CLERK_TOKEN_INVALID);
    {
        /* any other cat, of any JSON type, is not the session category */
        static const char *const cats[] = {"\"cl_unknown\"", "\"\"", "7", "null", "[]"};
        for (size_t i = 0; i < sizeof(cats) / sizeof(cats[0]); i++) {
            const char *hd = apr_pstrcat(p, "{\"alg\":\"RS256\",\"kid\":\"" UNIT_KID "\",\"cat\":",
                                        cats[i], "}", NULL);
            unit_assert_reason(directives_of(p, hs_token(p, key, hd, HS_PAYLOAD), pem, &d),
                               CLERK_TOKEN_INVALID);
            assert_null(d);
        }
    }
    /* typ other than JWT */
    unit_assert_reason(directives_of(p, hs_token(p, key,
                                                 "{\"alg\":\"RS256\",\"kid\":\"" UNIT_KID
                                                 "\",\"typ\":\"at+jwt\"}",
                                                 HS_PAYLOAD),
                                     pem, &d),
                       CLERK_TOKEN_INVALID);
    /* the handshake list is missing or not a list */
    unit_assert_reason(directives_of(p, hs_token(p, key, HDR, "{\"sub\":\"user_1\"}"), pem, &d),
                       CLERK_TOKEN_INVALID);
    assert_null(d);
    unit_assert_reason(directives_of(p, hs_token(p, key, HDR, "{\"handshake\":\"__session=x\"}"),
                                     pem, &d),
                       CLERK_TOKEN_INVALID);
    unit_assert_reason(directives_of(p, hs_token(p, key, HDR, "{\"handshake\":null}"), pem, &d),
                       CLERK_TOKEN_INVALID);
    unit_assert_reason(directives_of(p, hs_token(p, key, HDR, "[\"__session=x\"]"), pem, &d),
                       CLERK_TOKEN_INVALID);
    /* an unknown kid in a key set */
    unit_assert_reason(directives_of(p, hs_token(p, key,
                                                 "{\"alg\":\"RS256\",\"kid\":\"ins_unknown\"}",
                                                 HS_PAYLOAD),
                                     jwks, &d),
                       CLERK_JWK_KID_MISMATCH);
    /* not a JWS; a foreign algorithm */
    unit_assert_reason(directives_of(p, "not-a-token", pem, &d), CLERK_TOKEN_INVALID);
    unit_assert_reason(directives_of(p, unit_raw_token(p, "{\"alg\":\"none\"}", HS_PAYLOAD, "AAAA"),
                                     pem, &d),
                       CLERK_TOKEN_INVALID_ALGORITHM);
}

/* ------------------------------------------------------------ directives */

static void test_handshake_session(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    apr_array_header_t *d;

    /* the last __session* directive wins; the value ends at ';' */
    d = unit_strings(p, "__client_uat=5; Path=/", "__session=first; Path=/",
                     "__session_t4uUWLLE=second; Path=/; SameSite=Lax", "__clerk_db_jwt=x", NULL);
    unit_assert_str(clerk_handshake_session(p, d), "second");
    assert_int_equal(d->nelts, 4);
    /* no attributes at all */
    unit_assert_str(clerk_handshake_session(p, unit_strings(p, "__session=tok", NULL)), "tok");
    /* no session directive, or none with a value */
    assert_null(clerk_handshake_session(p, unit_strings(p, "__client_uat=0; Path=/", NULL)));
    assert_null(clerk_handshake_session(p, unit_strings(p, NULL)));
    assert_null(clerk_handshake_session(p, unit_strings(p, "__session=; Max-Age=0", NULL)));
    assert_null(clerk_handshake_session(p, unit_strings(p, "__session", NULL)));
    /* a later clearing directive signs out */
    assert_null(clerk_handshake_session(p, unit_strings(p, "__session=tok", "__session=; Max-Age=0",
                                                         NULL)));
    /* only names that start with __session */
    assert_null(clerk_handshake_session(p, unit_strings(p, "x__session=tok", " __session=tok",
                                                         "__client_uat=__session=tok", NULL)));

    /* a directive with CR/LF (or any control character) is dropped, order kept */
    d = unit_strings(p, "__client_uat=5; Path=/", "__session=evil\r\nSet-Cookie: admin=1",
                     "__session=good; Path=/", "x=1\n", "y=\t2", "z=3", NULL);
    unit_assert_str(clerk_handshake_session(p, d), "good");
    assert_int_equal(d->nelts, 3);
    unit_assert_str(APR_ARRAY_IDX(d, 0, const char *), "__client_uat=5; Path=/");
    unit_assert_str(APR_ARRAY_IDX(d, 1, const char *), "__session=good; Path=/");
    unit_assert_str(APR_ARRAY_IDX(d, 2, const char *), "z=3");
    /* a dropped directive cannot provide the session */
    d = unit_strings(p, "__session=good", "__session=evil\r", NULL);
    unit_assert_str(clerk_handshake_session(p, d), "good");
    assert_int_equal(d->nelts, 1);
    d = unit_strings(p, "__session=evil\r\n", NULL);
    assert_null(clerk_handshake_session(p, d));
    assert_int_equal(d->nelts, 0);
}

/* ------------------------------------------------------------ cookie filter */

/* The filter's verdict on one directive from host: the reason, or NULL when kept. */
static const char *refusal(apr_pool_t *p, const char *directive, const char *host)
{
    apr_array_header_t *dropped = apr_array_make(p, 1, sizeof(const char *));
    apr_array_header_t *kept = clerk_handshake_allowed_cookies(p, unit_strings(p, directive, NULL),
                                                               host, dropped);

    assert_int_equal(kept->nelts + dropped->nelts, 1);
    if (kept->nelts) {
        assert_ptr_equal(APR_ARRAY_IDX(kept, 0, const char *), directive);
        return NULL;
    }
    return APR_ARRAY_IDX(dropped, 0, const char *);
}

#define KEPT(d, host) assert_null(refusal(p, (d), (host)))
#define DROPPED(d, host) assert_non_null(refusal(p, (d), (host)))

static void test_allowed_cookie_names(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    static const char *const kept[] = {
        "__session=tok; Path=/; SameSite=Lax; Secure", "__session_t4uUWLLE=tok",
        "__client_uat=1700000000; Path=/", "__client_uat_t4uUWLLE=0; Max-Age=0",
        "__refresh=r", "__refresh_t4uUWLLE=r; HttpOnly", "__clerk_db_jwt=dvb_1",
        "__clerk_handshake=; Max-Age=0", "__clerk_handshake_nonce=; Max-Age=0",
        "__clerk_redirect_count=1", "__clerk_x=1", "__session=", "__session_a-b.c~=x",
    };
    static const char *const refused[] = {
        "admin=1", "session=tok", "__Session=tok", "__SESSION=tok", "__session_=tok",
        "__sessionx=tok", "__session-x=tok", "__client_uatx=1", "__client_uat_=1",
        "__refreshx=1", "__Refresh=1", "__clerk_=1", "__clerk=1", "__CLERK_db_jwt=1",
        "__Host-__session=tok", "x__session=tok",
    };

    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
        KEPT(kept[i], "example.com");
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        DROPPED(refused[i], "example.com");
}

static void test_allowed_cookie_malformed(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    static const char *const refused[] = {
        "__session", "__session; Path=/", "=tok", "=", "", "; __session=tok",
        " __session=tok", "__session =tok", "__ses\"sion=tok", "__session;x=tok",
        "__session=evil\r\nSet-Cookie: admin=1", "__session=a\tb", "__session=\x01",
        "__session=x; Domain=example.com\n", "__clerk_\x7f=1", "__clerk_\xc3\xa9=1",
    };

    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        DROPPED(refused[i], "example.com");
}

static void test_allowed_cookie_domains(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    static const struct { const char *directive, *host; } kept[] = {
        {"__session=t; Domain=example.com", "example.com"},
        {"__session=t; Domain=.example.com", "example.com"},
        {"__session=t; Domain=.example.com", "www.example.com"},
        {"__session=t; Domain=example.com", "a.b.example.com"},
        {"__session=t; Domain=b.example.com", "a.b.example.com"},
        {"__session=t; Domain=EXAMPLE.com", "www.Example.COM"},
        {"__session=t; domain=example.com", "www.example.com"},
        {"__session=t;Domain=example.com;Path=/", "www.example.com"},
        {"__session=t; Domain = example.com ; Path=/", "www.example.com"},
        {"__session=t; Domain=example.com", "www.example.com:8443"},
        {"__session=t; Domain=example.com", "www.example.com."},
        {"__session=t; Domain=localhost", "localhost"},
        {"__session=t; Domain=localhost", "localhost:8080"},
        {"__session=t; Domain=127.0.0.1", "127.0.0.1"},
        {"__session=t; Domain=127.0.0.1", "127.0.0.1:8443"},
        {"__session=t; Domain=::1", "[::1]:8443"},
        {"__session=t; Domain=::1", "::1"},
        {"__clerk_db_jwt=x; Domain=example.com", "app.example.com"},
        /* no Domain: a host-only cookie, from any host */
        {"__session=t; Path=/", "example.com"},
        {"__session=t; Path=/; Domainx=evil.com", "example.com"},
        {"__session=t; Path=/", NULL},
    };
    static const struct { const char *directive, *host; } refused[] = {
        {"__session=t; Domain=other.com", "example.com"},
        {"__clerk_x=1; Domain=other.com", "example.com"},
        {"__session=t; Domain=example.co", "example.com"},
        {"__session=t; Domain=evil-example.com", "example.com"},
        {"__session=t; Domain=xample.com", "example.com"},
        {"__session=t; Domain=example.com", "evil-example.com"},
        {"__session=t; Domain=example.com", "example.com.evil.net"},
        {"__session=t; Domain=www.example.com", "example.com"},
        {"__session=t; Domain=com", "example.com"},
        {"__session=t; Domain=.com", "www.example.com"},
        {"__session=t; Domain=com.", "example.com"},
        {"__session=t; Domain=..example.com", "www.example.com"},
        {"__session=t; Domain=example.com.", "www.example.com"},
        {"__session=t; Domain=", "example.com"},
        {"__session=t; Domain", "example.com"},
        {"__session=t; Domain=.", "example.com"},
        {"__session=t; Domain=example.com:8443", "www.example.com:8443"},
        /* every Domain counts, not only the first or the last */
        {"__session=t; Domain=example.com; Domain=other.com", "www.example.com"},
        {"__session=t; Domain=other.com; Domain=example.com", "www.example.com"},
        /* an IP-literal host: no parent domains */
        {"__session=t; Domain=0.0.1", "127.0.0.1"},
        {"__session=t; Domain=0.1", "127.0.0.1:80"},
        {"__session=t; Domain=2.3.4", "0x1.2.3.4"},
        {"__session=t; Domain=2.0x3", "1.2.0x3"},
        {"__session=t; Domain=2.0X3f", "1.2.0X3f"},
        {"__session=t; Domain=3.4", "1.2.3.4."},
        {"__session=t; Domain=127.0.0.1", "127.0.0.2"},
        {"__session=t; Domain=[::1]", "[::1]"},
        {"__session=t; Domain=1", "::1"},
        /* no host: no Domain is known to be ours */
        {"__session=t; Domain=example.com", NULL},
    };

    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
        if (refusal(p, kept[i].directive, kept[i].host))
            fail_msg("%s from %s: dropped (%s)", kept[i].directive, kept[i].host,
                     refusal(p, kept[i].directive, kept[i].host));
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        if (!refusal(p, refused[i].directive, refused[i].host))
            fail_msg("%s from %s: kept", refused[i].directive, refused[i].host);
}

static void test_allowed_cookies_list(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    apr_array_header_t *in = unit_strings(p,
        "__session_t4uUWLLE=SECRETTOKEN1; Path=/; Domain=.example.com",
        "__client_uat_t4uUWLLE=1700000000; Path=/",
        "admin=SECRETTOKEN2; Path=/",
        "__session=SECRETTOKEN3; Domain=evil.com",
        "__session=SECRETTOKEN4\r\nSet-Cookie: x=1",
        "__client_uat=1700000000; Path=/", NULL);
    apr_array_header_t *dropped = apr_array_make(p, 1, sizeof(const char *));
    apr_array_header_t *kept = clerk_handshake_allowed_cookies(p, in, "www.example.com", dropped);

    /* kept in order, the input untouched */
    assert_int_equal(kept->nelts, 3);
    assert_int_equal(in->nelts, 6);
    assert_ptr_equal(APR_ARRAY_IDX(kept, 0, const char *), APR_ARRAY_IDX(in, 0, const char *));
    assert_ptr_equal(APR_ARRAY_IDX(kept, 1, const char *), APR_ARRAY_IDX(in, 1, const char *));
    assert_ptr_equal(APR_ARRAY_IDX(kept, 2, const char *), APR_ARRAY_IDX(in, 5, const char *));
    /* one reason per drop, loggable and without any value */
    assert_int_equal(dropped->nelts, 3);
    unit_assert_str(APR_ARRAY_IDX(dropped, 0, const char *),
                    "cookie admin is not one Clerk's handshake sets");
    unit_assert_str(APR_ARRAY_IDX(dropped, 1, const char *),
                    "cookie __session: Domain=evil.com is not the host or a parent of it");
    unit_assert_str(APR_ARRAY_IDX(dropped, 2, const char *), "a directive with a control character");
    for (int i = 0; i < dropped->nelts; i++) {
        assert_null(strstr(APR_ARRAY_IDX(dropped, i, const char *), "SECRET"));
        assert_true(clerk_export_header_safe(APR_ARRAY_IDX(dropped, i, const char *)));
    }
    /* what is kept still yields the session */
    unit_assert_str(clerk_handshake_session(p, kept), "SECRETTOKEN1");
    /* dropped may be NULL; an empty list stays empty */
    assert_int_equal(clerk_handshake_allowed_cookies(p, in, "www.example.com", NULL)->nelts, 3);
    assert_int_equal(clerk_handshake_allowed_cookies(p, unit_strings(p, NULL), "a.test", dropped)->nelts,
                     0);
    assert_int_equal(dropped->nelts, 3);
    /* a long name is shortened in the reason */
    {
        char *name = apr_palloc(p, 301);
        memset(name, 'a', 300);
        name[300] = '\0';
        unit_assert_str(refusal(p, apr_pstrcat(p, name, "=v", NULL), "a.test"),
                        apr_psprintf(p, "cookie %.64s is not one Clerk's handshake sets", name));
    }
}

/* ------------------------------------------------------------ query */

static void test_strip_query(void **state)
{
    apr_pool_t *p = UNIT_POOL;

    assert_null(clerk_handshake_strip_query(p, NULL));
    assert_null(clerk_handshake_strip_query(p, ""));
    unit_assert_str(clerk_handshake_strip_query(p, "a=1"), "a=1");
    unit_assert_str(clerk_handshake_strip_query(p, "a=1&__clerk_handshake_nonce=abc&b=2"), "a=1&b=2");
    unit_assert_str(clerk_handshake_strip_query(p, "__clerk_handshake_nonce=abc&b=2"), "b=2");
    unit_assert_str(clerk_handshake_strip_query(p, "a=1&__clerk_handshake_nonce=abc"), "a=1");
    assert_null(clerk_handshake_strip_query(p, "__clerk_handshake_nonce=abc"));
    assert_null(clerk_handshake_strip_query(p, "__clerk_handshake=eyJ.x.y&__clerk_help=1"
                                               "&__clerk_db_jwt=dvb&__clerk_handshake_nonce"));
    /* names are matched exactly: look-alikes and other Clerk parameters stay */
    unit_assert_str(clerk_handshake_strip_query(p, "__clerk_handshake_noncex=1&x__clerk_handshake=2"
                                                   "&__clerk_synced=true&__clerk_redirect_url=u"),
                    "__clerk_handshake_noncex=1&x__clerk_handshake=2&__clerk_synced=true"
                    "&__clerk_redirect_url=u");
    /* empty pieces disappear; order and encoding of the rest are kept */
    unit_assert_str(clerk_handshake_strip_query(p, "&&a=%20x&__clerk_handshake=t&&b=c+d&"),
                    "a=%20x&b=c+d");
    /* repeated handshake parameters all go */
    unit_assert_str(clerk_handshake_strip_query(p, "__clerk_handshake_nonce=1&q=&"
                                                   "__clerk_handshake_nonce=2"),
                    "q=");
}

static void test_query_param(void **state)
{
    apr_pool_t *p = UNIT_POOL;

    assert_null(clerk_query_param(p, NULL, "a"));
    assert_null(clerk_query_param(p, "", "a"));
    unit_assert_str(clerk_query_param(p, "a=1&b=2", "b"), "2");
    unit_assert_str(clerk_query_param(p, "a=1&b=2", "a"), "1");
    assert_null(clerk_query_param(p, "a=1&b=2", "c"));
    /* percent-decoding and '+' as space */
    unit_assert_str(clerk_query_param(p, "n=a%2Bb%2fc%3D%3d", "n"), "a+b/c==");
    unit_assert_str(clerk_query_param(p, "n=a+b", "n"), "a b");
    unit_assert_str(clerk_query_param(p, "n=%C3%A9", "n"), "\xc3\xa9");
    /* the first occurrence wins (URLSearchParams.get) */
    unit_assert_str(clerk_query_param(p, "n=1&n=2", "n"), "1");
    /* a name is never matched as a prefix of another */
    unit_assert_str(clerk_query_param(p, "__clerk_handshake_nonce=N&__clerk_handshake=T",
                                      "__clerk_handshake"), "T");
    unit_assert_str(clerk_query_param(p, "__clerk_handshake=T&__clerk_handshake_nonce=N",
                                      "__clerk_handshake_nonce"), "N");
    assert_null(clerk_query_param(p, "__clerk_handshake_nonce=N", "__clerk_handshake"));
    assert_null(clerk_query_param(p, "x__clerk_handshake=T", "__clerk_handshake"));
    /* empty or bare: absent */
    assert_null(clerk_query_param(p, "n=&m=1", "n"));
    assert_null(clerk_query_param(p, "n&m=1", "n"));
    /* a broken escape is refused, not passed on half-decoded */
    assert_null(clerk_query_param(p, "n=%zz", "n"));
    assert_null(clerk_query_param(p, "n=abc%", "n"));
    /* '=' inside the value is kept */
    unit_assert_str(clerk_query_param(p, "n=a=b", "n"), "a=b");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_eligibility_matrix),
        UNIT_TEST(test_client_uat),
        UNIT_TEST(test_redirect_count),
        UNIT_TEST(test_suffix_rule1_unsuffixed_without_iss),
        UNIT_TEST(test_suffix_rule2_other_instance),
        UNIT_TEST(test_suffix_rule3_no_suffixed_cookies),
        UNIT_TEST(test_suffix_rule4_newer_unsuffixed),
        UNIT_TEST(test_suffix_rule5_suffixed_signed_out),
        UNIT_TEST(test_suffix_rule6_development_expired),
        UNIT_TEST(test_suffix_rule7_suffixed_session_without_uat),
        UNIT_TEST(test_suffix_rule8_suffixed),
        UNIT_TEST(test_location),
        UNIT_TEST(test_handshake_token_valid),
        UNIT_TEST(test_handshake_token_refused),
        UNIT_TEST(test_handshake_session),
        UNIT_TEST(test_allowed_cookie_names),
        UNIT_TEST(test_allowed_cookie_malformed),
        UNIT_TEST(test_allowed_cookie_domains),
        UNIT_TEST(test_allowed_cookies_list),
        UNIT_TEST(test_strip_query),
        UNIT_TEST(test_query_param),
    };
    return UNIT_RUN(tests);
}
