/*
 * The fake caller (clerk_auth_ops_t) and the settings and views shared by
 * the tests of clerk_authenticate_request: test_authenticate.c (the token
 * flow, the production browser flow) and test_browser_flow.c (development
 * instances, silent refresh, satellites, the sync flows, the cross-origin
 * check).
 *
 * The fake answers from a script (per token, so that a test can tell which
 * token was asked) and records every question, so each test asserts both
 * the outcome and what the decision asked for: a branch that asks the
 * Backend API too often, or verifies the wrong token, fails even when the
 * state happens to match.  Only the handshake token is really verified (by
 * the core, with the fixture key set that acquire_keys hands out).
 */
#ifndef AUTH_FAKE_H
#define AUTH_FAKE_H

#include "unit.h"

#include "clerk_authenticate.h"
#include "clerk_backend_api.h"
#include "clerk_handshake.h"

#define PK_LIVE "pk_live_Y2xlcmsuZXhhbXBsZS5jb20k"      /* clerk.example.com, production */
#define PK_TEST "pk_test_Y2xlcmsuY2xlcmsuZGV2JA"        /* clerk.clerk.dev, development */
#define FAPI_BASE "https://clerk.example.com"
#define HOST "www.example.com"
#define PAGE_URL "https://www.example.com/account?tab=1"
#define PAGE_URL_ENC "https%3a%2f%2fwww.example.com%2faccount%3ftab%3d1"
#define SIGN_IN "https://accounts.example.com/sign-in"
#define HDR "{\"alg\":\"RS256\",\"kid\":\"" UNIT_KID "\",\"typ\":\"JWT\"}"

/* Well-formed opaque tokens: a prefix and 32 characters of Clerk's alphabet. */
#define BODY32 "abcdefghijklmnopqrstuvwxyz012345"
#define M2M "mt_" BODY32
#define OAT "oat_" BODY32
#define AKEY "ak_" BODY32
#define NONCE "nonce_abcdefghijklmnopqrstuvwx"

/* Session claims: iat 1700000100, so a __client_uat before or after it decides. */
#define SESSION_CLAIMS "{\"sub\":\"user_1\",\"sid\":\"sess_1\",\"iat\":1700000100,\"exp\":1700000700}"
#define UAT_BEFORE "1700000000"
#define UAT_AFTER "1700000200"
#define EXPIRED_REASON "session-token-expired-refresh-non-eligible-no-refresh-cookie"
#define REDIRECT_COUNT_1 "__clerk_redirect_count=1; SameSite=Lax; HttpOnly; Max-Age=2"

/* ------------------------------------------------------------ the fake caller */

typedef struct {
    const char *token;          /* the token this answers (verify_jwt and check_opaque) */
    clerk_step_t step;
    clerk_reason_t reason;
    const char *claims;         /* payload JSON of the claims when CLERK_OK */
    clerk_token_type_t type;    /* for the claims model */
    apr_int64_t retry;
    apr_int64_t skew;           /* verify: only at this clock_skew (0: at any) */
} answer_t;

typedef struct {
    const char *op;             /* "verify" or "opaque" */
    const char *token;
    unsigned accept;            /* verify: accept_types; opaque: the token's type */
    const char *carrier;
    apr_int64_t skew;           /* verify: the clock_skew asked (-1: the section's) */
} call_t;

typedef struct {
    apr_pool_t *p;
    answer_t answers[8];
    int nanswers;
    call_t calls[8];
    int ncalls, verify_calls, opaque_calls, acquire_calls, release_calls, exchange_calls;
    /* acquire_keys */
    clerk_step_t keys_step;
    const clerk_keyset_t *keys;
    apr_int64_t keys_retry;
    int hold_token;             /* its address is the hold handed out */
    void *released;
    /* exchange_nonce */
    clerk_step_t nonce_step;
    apr_array_header_t *directives;
    const char *nonce_detail, *nonce_asked;
    apr_int64_t nonce_retry;
    /* the last verify_jwt's clock_skew (-1: the section's) */
    apr_int64_t last_skew;
    /* refresh_session: what it answers, and what it was asked */
    int refresh_calls;
    const char *refresh_asked;
    const char *refresh_token_asked;
    int refresh_suffixed;
    clerk_step_t refresh_step;
    apr_int64_t refresh_retry;
    apr_array_header_t *refresh_cookies;
    const char *refresh_error;
} fake_t;

static inline void fake_init(fake_t *f, apr_pool_t *p)
{
    memset(f, 0, sizeof(*f));
    f->p = p;
    f->keys_step = CLERK_STEP_DONE;
    f->nonce_step = CLERK_STEP_DONE;
}

/* Script the answer for token (verify_jwt or check_opaque). */
static inline void answer(fake_t *f, const char *token, clerk_step_t step, clerk_reason_t reason,
                   apr_int64_t retry)
{
    answer_t *a = &f->answers[f->nanswers++];

    assert_true(f->nanswers <= (int)(sizeof(f->answers) / sizeof(f->answers[0])));
    a->token = token;
    a->step = step;
    a->reason = reason;
    a->claims = reason == CLERK_OK ? SESSION_CLAIMS : NULL;
    a->type = CLERK_TYPE_SESSION;
    a->retry = retry;
}

/* The answer for token when verified with this clock_skew (script it before the others). */
static inline void answer_at_skew(fake_t *f, const char *token, apr_int64_t skew,
                                  clerk_reason_t reason)
{
    answer(f, token, CLERK_STEP_DONE, reason, 0);
    f->answers[f->nanswers - 1].skew = skew;
}

/* token verifies with these claims. */
static inline void valid(fake_t *f, const char *token, const char *claims, clerk_token_type_t type)
{
    answer(f, token, CLERK_STEP_DONE, CLERK_OK, 0);
    f->answers[f->nanswers - 1].claims = claims;
    f->answers[f->nanswers - 1].type = type;
}

static inline void record(fake_t *f, const char *op, const char *token, unsigned accept,
                   const char *carrier)
{
    assert_true(f->ncalls < (int)(sizeof(f->calls) / sizeof(f->calls[0])));
    f->calls[f->ncalls].op = op;
    f->calls[f->ncalls].token = apr_pstrdup(f->p, token);
    f->calls[f->ncalls].accept = accept;
    f->calls[f->ncalls].carrier = carrier;
    f->ncalls++;
}

/* An unscripted token is refused with a reason no branch produces by itself. */
static inline clerk_step_t scripted(fake_t *f, const char *token, apr_int64_t skew,
                                    clerk_claims_t **claims, clerk_reason_t *reason,
                                    apr_int64_t *retry_after)
{
    for (int i = 0; i < f->nanswers; i++) {
        const answer_t *a = &f->answers[i];
        if (strcmp(a->token, token) || (a->skew && a->skew != skew))
            continue;
        *retry_after = a->retry;
        if (a->step != CLERK_STEP_DONE)
            return a->step;
        *reason = a->reason;
        if (a->reason == CLERK_OK)
            *claims = unit_claims(f->p, a->claims, a->type);
        return CLERK_STEP_DONE;
    }
    *reason = CLERK_JWK_KID_MISMATCH;
    return CLERK_STEP_DONE;
}

static inline clerk_step_t fake_verify(void *ctx, const char *token, unsigned accept_types,
                                apr_int64_t clock_skew, const char *carrier,
                                clerk_claims_t **claims, clerk_reason_t *reason,
                                apr_int64_t *retry_after)
{
    fake_t *f = ctx;
    f->verify_calls++;
    f->last_skew = clock_skew;
    record(f, "verify", token, accept_types, carrier);
    f->calls[f->ncalls - 1].skew = clock_skew;
    return scripted(f, token, clock_skew, claims, reason, retry_after);
}

static inline clerk_step_t fake_opaque(void *ctx, const char *token, clerk_token_type_t type,
                                const char *carrier, clerk_claims_t **claims,
                                clerk_reason_t *reason, apr_int64_t *retry_after)
{
    fake_t *f = ctx;
    f->opaque_calls++;
    record(f, "opaque", token, type, carrier);
    return scripted(f, token, -1, claims, reason, retry_after);
}

static inline clerk_step_t fake_acquire(void *ctx, const clerk_keyset_t **keys, void **hold,
                                 apr_int64_t *retry_after)
{
    fake_t *f = ctx;
    f->acquire_calls++;
    *retry_after = f->keys_retry;
    if (f->keys_step != CLERK_STEP_DONE)
        return f->keys_step;
    *keys = f->keys;
    *hold = &f->hold_token;
    return CLERK_STEP_DONE;
}

static inline void fake_release(void *ctx, void *hold)
{
    fake_t *f = ctx;
    f->release_calls++;
    f->released = hold;
}

static inline clerk_step_t fake_exchange(void *ctx, const char *nonce,
                                         apr_array_header_t **directives, const char **detail,
                                         apr_int64_t *retry_after)
{
    fake_t *f = ctx;
    f->exchange_calls++;
    f->nonce_asked = apr_pstrdup(f->p, nonce);
    *retry_after = f->nonce_retry;
    if (f->nonce_step != CLERK_STEP_DONE)
        return f->nonce_step;
    /* a copy: the decision may reorder or filter what it is given */
    *directives = f->directives ? apr_array_copy(f->p, f->directives) : NULL;
    *detail = f->nonce_detail;
    return CLERK_STEP_DONE;
}

static inline clerk_step_t fake_refresh(void *ctx, const char *expired_token,
                                 const char *refresh_token, int suffixed_cookies,
                                 clerk_refresh_result_t *result, apr_int64_t *retry_after)
{
    fake_t *f = ctx;
    f->refresh_calls++;
    f->refresh_asked = apr_pstrdup(f->p, expired_token);
    f->refresh_token_asked = apr_pstrdup(f->p, refresh_token);
    f->refresh_suffixed = suffixed_cookies;
    *retry_after = f->refresh_retry;
    if (f->refresh_step != CLERK_STEP_DONE)
        return f->refresh_step;
    result->set_cookies = f->refresh_cookies ? apr_array_copy(f->p, f->refresh_cookies) : NULL;
    result->error = f->refresh_error;
    return CLERK_STEP_DONE;
}

/* What holds for every outcome, whatever the branch. */
static inline void check_outcome(const clerk_auth_outcome_t *o)
{
    assert_non_null(o->set_cookies);
    assert_non_null(o->warnings);
    assert_non_null(o->carrier);
    for (int i = 0; i < o->set_cookies->nelts; i++)
        assert_true(clerk_export_header_safe(APR_ARRAY_IDX(o->set_cookies, i, const char *)));
    if (o->state == CLERK_AUTH_SIGNED_IN) {
        assert_non_null(o->claims);
        assert_non_null(o->user);
        unit_assert_reason(o->reason, CLERK_OK);
    }
    else
        assert_null(o->claims);
    if (o->state == CLERK_AUTH_UNAVAILABLE || o->state == CLERK_AUTH_BROKEN)
        assert_true(o->retry_after >= 1);
    if (o->state == CLERK_AUTH_HANDSHAKE) {
        /* X-Clerk-Auth-Reason of a handshake is its __clerk_hs_reason */
        assert_non_null(o->handshake_reason);
        unit_assert_str(o->sdk_reason, o->handshake_reason);
    }
    else
        assert_null(o->handshake_reason);
    /* a Location is a header: no control character (CR LF would split the response) */
    if (o->location && !clerk_export_header_safe(o->location))
        fail_msg("Location not header-safe: %s", o->location);
    if (o->state == CLERK_AUTH_HANDSHAKE || o->state == CLERK_AUTH_SIGN_IN_REDIRECT)
        assert_non_null(o->location);
    else if (o->location)       /* only a development handshake's result sends the browser on */
        assert_true(o->handshake_resolved);
}

static inline clerk_auth_outcome_t run(apr_pool_t *p, const clerk_request_view_t *v,
                                const clerk_auth_settings_t *s, fake_t *f)
{
    clerk_auth_ops_t ops = {f, fake_verify, fake_opaque, fake_acquire, fake_release,
                            fake_exchange, fake_refresh};
    clerk_auth_outcome_t o;

    clerk_authenticate_request(p, v, s, &ops, &o);
    check_outcome(&o);
    return o;
}

#define expect_state(o, st, r)                                                         \
    do {                                                                               \
        if ((o).state != (st))                                                         \
            fail_msg("state: expected %s, got %s", clerk_auth_state_name(st),          \
                     clerk_auth_state_name((o).state));                                \
        unit_assert_reason((o).reason, (r));                                           \
    } while (0)

/*
 * The locals of a test of one decision: p (the test's pool), the section s,
 * the request view v, the outcome o and the fake f, initialised and ready to
 * be scripted.
 */
#define AUTH_CASE(section, view)                                                       \
    apr_pool_t *p = UNIT_POOL;                                                         \
    clerk_auth_settings_t s = (section);                                               \
    clerk_request_view_t v = (view);                                                   \
    clerk_auth_outcome_t o;                                                            \
    fake_t f;                                                                          \
    fake_init(&f, p)

/* The i-th question: op, token, accept (or type), carrier. */
static inline void expect_call(const fake_t *f, int i, const char *op, const char *token,
                        unsigned accept, const char *carrier)
{
    if (i >= f->ncalls)
        fail_msg("call %d expected (%s %s), only %d made", i, op, token, f->ncalls);
    unit_assert_str(f->calls[i].op, op);
    unit_assert_str(f->calls[i].token, token);
    assert_int_equal(f->calls[i].accept, accept);
    unit_assert_str(f->calls[i].carrier, carrier);
}

static inline void expect_strings(const apr_array_header_t *a, ...)
{
    va_list ap;
    const char *s;
    int i = 0;

    va_start(ap, a);
    while ((s = va_arg(ap, const char *)) != NULL) {
        if (i >= a->nelts)
            fail_msg("entry %d \"%s\" expected, only %d", i, s, a->nelts);
        unit_assert_str(APR_ARRAY_IDX(a, i, const char *), s);
        i++;
    }
    va_end(ap);
    assert_int_equal(a->nelts, i);
}

/* ------------------------------------------------------------ settings and views */

/* A token section: both sources, session tokens, 401 when signed out, a secret. */
static inline clerk_auth_settings_t token_section(void)
{
    clerk_auth_settings_t s;
    memset(&s, 0, sizeof(s));
    s.sources = CLERK_FROM_HEADER | CLERK_FROM_COOKIE;
    s.accept_types = CLERK_TYPE_SESSION;
    s.signed_out = CLERK_SIGNED_OUT_DENY;
    s.has_secret = 1;
    return s;
}

/* A browser section for the instance of key. */
static inline clerk_auth_settings_t browser_section(apr_pool_t *p, const char *key)
{
    clerk_auth_settings_t s = token_section();
    clerk_publishable_key_t *pk = NULL;
    const char *err = NULL;

    if (clerk_publishable_key_parse(p, key, &pk, &err) != APR_SUCCESS)
        fail_msg("%s: %s", key, err);
    s.signed_out = CLERK_SIGNED_OUT_HANDSHAKE;
    s.instance = pk;
    s.session_cookie = apr_pstrcat(p, "__session_", pk->cookie_suffix, NULL);
    s.uat_cookie = apr_pstrcat(p, "__client_uat_", pk->cookie_suffix, NULL);
    s.frontend_api_base = apr_pstrcat(p, "https://", pk->frontend_api, NULL);
    s.instance_fapi = pk->frontend_api;
    return s;
}

/* A top-level page view (a navigation a handshake may redirect). */
static inline clerk_request_view_t page_view(void)
{
    clerk_request_view_t v;
    memset(&v, 0, sizeof(v));
    v.method = "GET";
    v.sec_fetch_dest = "document";
    v.accept = "text/html,application/xhtml+xml";
    v.url = PAGE_URL;
    v.host = HOST;
    return v;
}

/* fetch()/XHR from the page: never redirected. */
static inline clerk_request_view_t xhr_view(void)
{
    clerk_request_view_t v = page_view();
    v.sec_fetch_dest = "empty";
    v.accept = "*/*";
    return v;
}

/* The handshake Location Clerk's SDK builds for this test's page. */
#define HS_LOCATION(reason, suffixed)                                                   \
    FAPI_BASE "/v1/client/handshake?redirect_url=" PAGE_URL_ENC                         \
              "&__clerk_api_version=" CLERK_BACKEND_API_VERSION "&suffixed_cookies=" suffixed \
              "&__clerk_hs_reason=" reason "&format=nonce"


static inline const char *handshake_token(apr_pool_t *p, const char *payload)
{
    return unit_sign(p, unit_fixture_private_key(p), "RS256", HDR, payload);
}

#endif
