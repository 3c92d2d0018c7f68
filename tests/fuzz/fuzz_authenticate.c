/*
 * The whole request decision (clerk_authenticate_request) on a request an
 * attacker shapes, with a caller whose answers are shaped by the input too.
 *
 * Input: 7 control bytes, then the view's strings separated by '\n' (an
 * empty or missing one is absent): authorization, cookies, method, accept,
 * sec-fetch-dest, handshake, nonce, url, host, earlier handshake session,
 * the directives exchange_nonce (and refresh_session) return, separated by
 * 0x1e (none at all: it returns no directives), referer, and last the dev
 * browser token of the query.
 *   b0: sources (2 bits), accept types (4 bits), ClerkSignedOutAction (2 bits)
 *   b1: instance, production, has_secret, has_machine_secret, sign-in URL,
 *       sign-in URL with a query, remote_user_claim "email", claims sub empty
 *   b2: verify_jwt: step (2 bits), reason (6 bits, mixed with the token)
 *   b3: check_opaque: the same
 *   b4: acquire_keys step (2 bits), exchange_nonce step (2 bits), claims iat (4 bits)
 *   b5: retry_after for every stop (signed)
 *   b6: satellite, ClerkSatelliteAutoSync, satellite sign-in URL, refresh_session step
 *       (2 bits), refresh_session gives the directives (else an error),
 *       ClerkAuthorizedParties (SYNC_PARTY), verify_jwt at the one-day skew verifies
 *
 * Every outcome is checked against what the decision table promises
 * (clerk_authenticate.h) and against what the caller was asked: an input
 * that breaks one aborts.  Only the handshake token is really verified, with
 * the fixture key (its seed is validly signed).
 */
#include "fuzz.h"

#include <apr_tables.h>

#include "clerk_authenticate.h"
#include "clerk_carrier.h"
#include "clerk_claims.h"
#include "clerk_export.h"
#include "clerk_handshake.h"
#include "clerk_key.h"
#include "clerk_opaque_token.h"

#define FIELDS 13
#define MAX_CALLS 8
#define SYNC_PARTY "https://sat.example.net"
#define DEV_HANDSHAKE_SKEW 86400

static clerk_keyset_t *keys;
static clerk_publishable_key_t *live, *dev;

typedef struct {
    apr_pool_t *p;
    const uint8_t *ctl;
    const apr_array_header_t *directives;   /* what exchange_nonce answers, or NULL */
    const char *tokens[MAX_CALLS];          /* every token asked about, in order */
    int ntokens, verify_calls, opaque_calls, acquire_calls, acquire_done, release_calls,
        exchange_calls, refresh_calls, stops;
    const char *last_nonce;
    const char *method;                     /* the request's */
    const clerk_request_view_t *v;
    const clerk_auth_settings_t *s;
    int skew_calls;                         /* verify_jwt asked with a skew of its own */
    int hold;
} fake_t;

static clerk_step_t step_of(unsigned bits)
{
    return (bits & 3) == 1 ? CLERK_STEP_UNAVAILABLE
           : (bits & 3) == 2 ? CLERK_STEP_BROKEN : CLERK_STEP_DONE;
}

static void asked(fake_t *f, const char *token)
{
    if (!token || f->ntokens >= MAX_CALLS)
        abort();    /* a NULL token, or a decision asking without end */
    f->tokens[f->ntokens++] = token;
}

/* The answer for token under control byte b: step, reason (mixed with the token), claims. */
static clerk_step_t answer(fake_t *f, uint8_t b, const char *token, clerk_token_type_t type,
                           clerk_claims_t **claims, clerk_reason_t *reason,
                           apr_int64_t *retry_after)
{
    clerk_step_t step = step_of(b);
    clerk_claims_t *c;

    *retry_after = (int8_t)f->ctl[5];
    if (step != CLERK_STEP_DONE) {
        f->stops++;
        return step;
    }
    *reason = (clerk_reason_t)(((unsigned)(b >> 2) + (unsigned char)token[0]) % CLERK_REASON_COUNT);
    if (*reason != CLERK_OK)
        return step;
    /* a minimal model: what signed_in and the cookie table read */
    c = apr_pcalloc(f->p, sizeof(*c));
    c->type = type;
    c->sub = (f->ctl[1] & 0x80) ? "" : "user_1";
    c->has_iat = (f->ctl[4] & 0x10) != 0;
    c->iat = (apr_int64_t)(f->ctl[4] >> 4) * 400000000;
    *claims = c;
    return step;
}

static clerk_step_t fake_verify(void *ctx, const char *token, unsigned accept_types,
                                apr_int64_t clock_skew, const char *carrier,
                                clerk_claims_t **claims, clerk_reason_t *reason,
                                apr_int64_t *retry_after)
{
    fake_t *f = ctx;

    f->verify_calls++;
    /*
     * The one-day skew: only a development handshake's session, once,
     * right after it failed with the section's own skew.
     */
    if (clock_skew != -1) {
        if (clock_skew != DEV_HANDSHAKE_SKEW || strcmp(carrier, "handshake")
            || f->s->instance->production || !f->ntokens || f->skew_calls++
            || strcmp(f->tokens[f->ntokens - 1], token))
            abort();
    }
    asked(f, token);
    /* a cookie (or a handshake's cookie, or a refreshed session) only carries sessions */
    if (strcmp(carrier, "header") && (accept_types & ~(unsigned)CLERK_TYPE_SESSION))
        abort();
    /* b6 bit 7: with the day's skew, the session verifies (reason 0 for any token) */
    if (clock_skew != -1 && (f->ctl[6] & 0x80))
        return answer(f, (uint8_t)((16 - (unsigned char)token[0] % 16) % 16 << 2), token,
                      CLERK_TYPE_SESSION, claims, reason, retry_after);
    return answer(f, f->ctl[2], token, CLERK_TYPE_SESSION, claims, reason, retry_after);
}

static clerk_step_t fake_opaque(void *ctx, const char *token, clerk_token_type_t type,
                                const char *carrier, clerk_claims_t **claims,
                                clerk_reason_t *reason, apr_int64_t *retry_after)
{
    fake_t *f = ctx;

    f->opaque_calls++;
    asked(f, token);
    /* only a well-formed opaque token of its type, and only from the header */
    if (clerk_opaque_token_wellformed(token, strlen(token)) != type || strcmp(carrier, "header"))
        abort();
    return answer(f, f->ctl[3], token, type, claims, reason, retry_after);
}

static clerk_step_t fake_acquire(void *ctx, const clerk_keyset_t **k, void **hold,
                                 apr_int64_t *retry_after)
{
    fake_t *f = ctx;
    clerk_step_t step = step_of(f->ctl[4]);

    f->acquire_calls++;
    *retry_after = (int8_t)f->ctl[5];
    if (step != CLERK_STEP_DONE) {
        f->stops++;
        return step;
    }
    f->acquire_done++;
    *k = keys;
    *hold = &f->hold;
    return step;
}

static void fake_release(void *ctx, void *hold)
{
    fake_t *f = ctx;

    if (hold != &f->hold)
        abort();
    f->release_calls++;
}

static clerk_step_t fake_exchange(void *ctx, const char *nonce, apr_array_header_t **directives,
                                  const char **detail, apr_int64_t *retry_after)
{
    fake_t *f = ctx;
    clerk_step_t step = step_of((unsigned)f->ctl[4] >> 2);

    f->exchange_calls++;
    f->last_nonce = nonce;
    if (!clerk_handshake_nonce_wellformed(nonce, strlen(nonce)))
        abort();
    *retry_after = (int8_t)f->ctl[5];
    if (step != CLERK_STEP_DONE) {
        f->stops++;
        return step;
    }
    *directives = f->directives ? apr_array_copy(f->p, f->directives) : NULL;
    *detail = f->directives ? NULL : "no payload";
    return step;
}

static clerk_step_t fake_refresh(void *ctx, const char *expired_token,
                                 const char *refresh_token, int suffixed_cookies,
                                 clerk_refresh_result_t *result, apr_int64_t *retry_after)
{
    fake_t *f = ctx;
    clerk_step_t step = step_of((unsigned)f->ctl[6] >> 3);

    f->refresh_calls++;
    /* only an expired session, with a refresh cookie, on a GET */
    if (!expired_token || !refresh_token || !f->method || strcmp(f->method, "GET"))
        abort();
    /* the refresh token is the instance's __refresh_<suffix> cookie, never another */
    {
        const char *name = apr_pstrcat(f->p, "__refresh_", f->s->instance->cookie_suffix, NULL);
        const char *value;
        apr_size_t len;
        if (clerk_cookie_value(f->p, f->v->cookies, name, &value, &len) != CLERK_CARRIER_TOKEN
            || strcmp(value, refresh_token))
            abort();
    }
    /* the session it refreshes was verified (and found expired), or is the cookie's */
    if (!f->ntokens || (strcmp(f->tokens[f->ntokens - 1], expired_token)
                        && !strstr(f->v->cookies, expired_token)))
        abort();
    *retry_after = (int8_t)f->ctl[5];
    if (step != CLERK_STEP_DONE) {
        f->stops++;
        return step;
    }
    result->set_cookies = (f->ctl[6] & 32) && f->directives ? apr_array_copy(f->p, f->directives)
                                                            : NULL;
    result->error = result->set_cookies ? NULL : "fetch-error";
    return step;
}

static void init(void)
{
    const char *err;

    if (clerk_keyset_from_pem(fuzz_global_pool(), FUZZ_FIXTURE_PEM, strlen(FUZZ_FIXTURE_PEM),
                              &keys, &err)
        || clerk_publishable_key_parse(fuzz_global_pool(), "pk_live_Y2xlcmsuZXhhbXBsZS5jb20k",
                                       &live, &err)
        || clerk_publishable_key_parse(fuzz_global_pool(), "pk_test_Y2xlcmsuY2xlcmsuZGV2JA",
                                       &dev, &err))
        abort();
}

/* Whether s is one of the directives exchange_nonce gave (kept as they were). */
static int given(const fake_t *f, const char *s)
{
    for (int i = 0; f->directives && i < f->directives->nelts; i++)
        if (!strcmp(APR_ARRAY_IDX(f->directives, i, const char *), s))
            return 1;
    return 0;
}

static int is_carrier(const char *c)
{
    return !strcmp(c, "header") || !strcmp(c, "cookie") || !strcmp(c, "handshake")
           || !strcmp(c, "refresh");
}

/* The request's __clerk_redirect_count, as the decision reads it. */
static apr_int64_t redirect_count(const fake_t *f, const clerk_request_view_t *v)
{
    const char *value;
    apr_size_t len;

    return clerk_cookie_value(f->p, v->cookies, "__clerk_redirect_count", &value, &len)
                   == CLERK_CARRIER_TOKEN
               ? clerk_client_uat(value)
               : 0;
}

/* Whether url is at origin: the origin itself, then the end or a path, query or fragment. */
static int at_origin(const char *url, const char *origin)
{
    size_t n = strlen(origin);
    return !strncmp(url, origin, n) && (!url[n] || strchr("/?#", url[n]));
}

/* Whether url is at the Frontend API base, or an origin of ClerkAuthorizedParties. */
static int token_target(const clerk_auth_settings_t *s, const char *url)
{
    if (!strncmp(url, s->frontend_api_base, strlen(s->frontend_api_base)))
        return 1;
    for (int i = 0; s->authorized_parties && i < s->authorized_parties->nelts; i++)
        if (at_origin(url, APR_ARRAY_IDX(s->authorized_parties, i, const char *)))
            return 1;
    return 0;
}

/* Abort unless the outcome keeps every promise of clerk_authenticate.h. */
static void check(const fake_t *f, const clerk_request_view_t *v, const clerk_auth_settings_t *s,
                  const clerk_auth_outcome_t *o)
{
    int browser = clerk_auth_is_browser(s);
    int nav = clerk_handshake_eligible(v->method, v->sec_fetch_dest, v->accept);

    if ((unsigned)o->reason >= CLERK_REASON_COUNT || !clerk_auth_state_name(o->state)
        || !o->set_cookies || !o->warnings || !o->carrier)
        abort();
    switch (o->state) {
    case CLERK_AUTH_SIGNED_IN:
        if (!o->claims || !o->user || !*o->user || o->reason != CLERK_OK || !o->token)
            abort();
        break;
    case CLERK_AUTH_ANONYMOUS:
        if (s->signed_out != CLERK_SIGNED_OUT_PASS || o->reason == CLERK_OK)
            abort();
        break;
    case CLERK_AUTH_SIGN_IN_REDIRECT:
        if (s->signed_out != CLERK_SIGNED_OUT_REDIRECT || !nav || !s->sign_in_url
            || !o->location || strncmp(o->location, s->sign_in_url, strlen(s->sign_in_url))
            || o->reason == CLERK_OK)
            abort();
        break;
    case CLERK_AUTH_HANDSHAKE: {
        const char *last;
        /* to the Frontend API, or a sync flow's own target */
        int target = !strncmp(o->location, s->frontend_api_base, strlen(s->frontend_api_base))
            || (s->satellite_sign_in_url && !strncmp(o->location, s->satellite_sign_in_url,
                                                     strlen(s->satellite_sign_in_url)))
            || (!strcmp(o->handshake_reason, "primary-responds-to-syncing")
                && token_target(s, o->location));
        if (!browser || !nav || !o->location || !o->handshake_reason || !target
            || !o->set_cookies->nelts)
            abort();
        /* X-Clerk-Auth-Reason of a handshake is its __clerk_hs_reason */
        if (!o->sdk_reason || strcmp(o->sdk_reason, o->handshake_reason))
            abort();
        /*
         * The dev browser token only goes to the Frontend API or an
         * authorized party, and only from a development instance (the
         * redirect_url in a handshake URL is encoded: a literal
         * "__clerk_db_jwt=" is a parameter of the Location itself).
         */
        if (strstr(o->location, "__clerk_db_jwt=")
            && (s->instance->production || !token_target(s, o->location)))
            abort();
        /* the cross-origin check: a GET document navigation on the primary, first time */
        if (!strcmp(o->handshake_reason, "primary-domain-cross-origin-sync")
            && (s->satellite || strcmp(v->method, "GET") || !v->sec_fetch_dest
                || strcmp(v->sec_fetch_dest, "document") || !v->referer
                || o->reason != CLERK_OK || !o->message || redirect_count(f, v)))
            abort();
        /* a satellite's sync: a satellite's GET document navigation */
        if (!strcmp(o->handshake_reason, "satellite-needs-syncing")
            && (!s->satellite || strcmp(v->method, "GET") || !v->sec_fetch_dest
                || strcmp(v->sec_fetch_dest, "document")))
            abort();
        last = APR_ARRAY_IDX(o->set_cookies, o->set_cookies->nelts - 1, const char *);
        if (strncmp(last, "__clerk_redirect_count=", 23))
            abort();
        if (clerk_redirect_count(last + 23) > CLERK_HANDSHAKE_MAX_REDIRECTS)
            abort();    /* at most count 2 -> 3: the loop guard stops the next one */
        break;
    }
    case CLERK_AUTH_UNAVAILABLE:
    case CLERK_AUTH_BROKEN:
        /* a stop comes from a caller that did not answer */
        if (o->retry_after < 1 || !f->stops)
            abort();
        break;
    case CLERK_AUTH_SIGNED_OUT:
        if (o->reason == CLERK_OK || s->signed_out == CLERK_SIGNED_OUT_PASS)
            abort();
        break;
    default:
        abort();
    }
    if (o->state != CLERK_AUTH_SIGNED_IN && (o->claims || o->user))
        abort();
    /* a location is a redirect's, or a resolved development handshake's clean URL */
    if ((o->state == CLERK_AUTH_HANDSHAKE || o->state == CLERK_AUTH_SIGN_IN_REDIRECT)
        != (o->location != NULL)
        && !(o->location && o->handshake_resolved && !s->instance->production))
        abort();
    if (o->location && !clerk_export_header_safe(o->location))
        abort();
    /* a resolved development handshake sends the browser to the request's own URL */
    if (o->location && o->state != CLERK_AUTH_HANDSHAKE
        && o->state != CLERK_AUTH_SIGN_IN_REDIRECT && (!v->url || strcmp(o->location, v->url)))
        abort();
    /* a refreshed session: signed in only through one refresh, with its cookies */
    if (o->state == CLERK_AUTH_SIGNED_IN && !strcmp(o->carrier, "refresh")
        && (f->refresh_calls != 1 || !o->set_cookies->nelts || !o->handshake_session))
        abort();
    /* every Set-Cookie is header-safe, and either the loop guard's or one it was given */
    for (int i = 0; i < o->set_cookies->nelts; i++) {
        const char *c = APR_ARRAY_IDX(o->set_cookies, i, const char *);
        if (!clerk_export_header_safe(c) || strncmp(c, "__", 2))
            abort();    /* the filter keeps only Clerk's __ cookies */
        if (strncmp(c, "__clerk_redirect_count=", 23) && !given(f, c)
            && !(v->handshake || (v->cookies && strstr(v->cookies, "__clerk_handshake="))))
            abort();
    }
    /* the token decided on is the last one asked about, from a known carrier */
    if (f->ntokens && (!o->token || strcmp(o->token, f->tokens[f->ntokens - 1])))
        abort();
    if (o->token && !is_carrier(o->carrier))
        abort();
    /* no token text in the debug detail (long enough not to match by chance) */
    if (o->token && o->detail && strlen(o->token) >= 24 && strstr(o->detail, o->token))
        abort();
    /* the Backend API only when it can and may answer */
    if (f->opaque_calls > 1 || f->exchange_calls > 1 || f->acquire_calls > 1
        || f->refresh_calls > 1)
        abort();
    if (f->refresh_calls && (!browser || !s->has_secret))
        abort();
    if (f->exchange_calls && (!browser || !nav || !s->has_secret))
        abort();
    if (f->opaque_calls && !s->has_secret && !s->has_machine_secret)
        abort();
    /* keys acquired are released exactly once */
    if (f->release_calls != f->acquire_done)
        abort();
    if (o->handshake_session && !browser)
        abort();
    if (o->state == CLERK_AUTH_SIGNED_IN && o->handshake_session
        && strcmp(o->token, o->handshake_session))
        abort();
    /* a token section reads no cookie it may not */
    if (!browser && f->verify_calls && !strcmp(o->carrier, "cookie")
        && (!(s->sources & CLERK_FROM_COOKIE) || !(s->accept_types & CLERK_TYPE_SESSION)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *field[FIELDS] = {0};
    clerk_request_view_t v;
    clerk_auth_settings_t s;
    clerk_auth_outcome_t o;
    clerk_auth_ops_t ops = {0};
    apr_pool_t *p;
    fake_t f;
    char *rest;
    int n = 0;

    if (size < 7)
        return 0;
    FUZZ_ONCE(init);
    p = fuzz_input_pool();
    memset(&f, 0, sizeof(f));
    f.p = p;
    f.ctl = data;
    rest = fuzz_cstr(p, data + 7, size - 7);
    while (n < FIELDS) {
        char *nl = n < FIELDS - 1 ? strchr(rest, '\n') : NULL;
        if (nl)
            *nl = '\0';
        field[n++] = *rest ? rest : NULL;
        if (!nl)
            break;
        rest = nl + 1;
    }
    if (field[10]) {
        apr_array_header_t *d = apr_array_make(p, 4, sizeof(const char *));
        char *copy = apr_pstrdup(p, field[10]), *last, *one;
        for (one = apr_strtok(copy, "\x1e", &last); one; one = apr_strtok(NULL, "\x1e", &last))
            APR_ARRAY_PUSH(d, const char *) = one;
        f.directives = d;
    }

    memset(&v, 0, sizeof(v));
    v.authorization = field[0];
    v.cookies = field[1];
    v.method = field[2];
    v.accept = field[3];
    v.sec_fetch_dest = field[4];
    v.handshake = field[5];
    v.handshake_nonce = field[6];
    v.url = field[7];
    v.host = field[8];
    v.earlier_handshake_session = field[9];
    v.referer = field[11];
    v.dev_browser = field[12];
    f.method = v.method;
    f.v = &v;
    f.s = &s;

    memset(&s, 0, sizeof(s));
    s.sources = data[0] & 3;
    s.accept_types = (data[0] >> 2) & 15;
    s.signed_out = (clerk_signed_out_action_t)(data[0] >> 6);
    if (data[1] & 1) {
        s.instance = (data[1] & 2) ? live : dev;
        s.session_cookie = apr_pstrcat(p, "__session_", s.instance->cookie_suffix, NULL);
        s.uat_cookie = apr_pstrcat(p, "__client_uat_", s.instance->cookie_suffix, NULL);
        s.frontend_api_base = apr_pstrcat(p, "https://", s.instance->frontend_api, NULL);
        s.instance_fapi = s.instance->frontend_api;
    }
    s.satellite = data[6] & 1;
    s.satellite_auto_sync = (data[6] & 2) != 0;
    if (data[6] & 4)
        s.satellite_sign_in_url = "https://primary.example.com/sign-in";
    if (data[6] & 64)
    {
        apr_array_header_t *parties = apr_array_make(p, 1, sizeof(const char *));
        APR_ARRAY_PUSH(parties, const char *) = SYNC_PARTY;
        s.authorized_parties = parties;
    }
    s.has_secret = (data[1] & 4) != 0;
    s.has_machine_secret = (data[1] & 8) != 0;
    if (data[1] & 16)
        s.sign_in_url = (data[1] & 32) ? "https://accounts.example.com/sign-in?x=1"
                                       : "https://accounts.example.com/sign-in";
    s.remote_user_claim = (data[1] & 64) ? "email" : NULL;

    ops.ctx = &f;
    ops.verify_jwt = fake_verify;
    ops.check_opaque = fake_opaque;
    ops.acquire_keys = fake_acquire;
    ops.release_keys = fake_release;
    ops.exchange_nonce = fake_exchange;
    ops.refresh_session = fake_refresh;
    clerk_authenticate_request(p, &v, &s, &ops, &o);
    check(&f, &v, &s, &o);
    fuzz_input_done(p);
    return 0;
}
