/*
 * One request's decision (clerk_authenticate.h): the token flow, the
 * browser flow, and the signed-in / signed-out endings both share.
 */
#include "clerk_authenticate.h"

#include <apr_escape.h>
#include <apr_strings.h>
#include <string.h>

#include "clerk_carrier.h"
#include "clerk_export.h"
#include "clerk_handshake.h"
#include "clerk_opaque_token.h"

#define SESSION_COOKIE "__session"

/* What one decision carries along. */
typedef struct {
    apr_pool_t *p;
    const clerk_request_view_t *v;
    const clerk_auth_settings_t *s;
    const clerk_auth_ops_t *ops;
    clerk_auth_outcome_t *out;
} decision_t;

static int navigation(const clerk_request_view_t *v)
{
    return clerk_handshake_eligible(v->method, v->sec_fetch_dest, v->accept);
}

static const char *cookie(const decision_t *d, const char *name)
{
    const char *value;
    apr_size_t len;

    return name && clerk_cookie_value(d->p, d->v->cookies, name, &value, &len)
        == CLERK_CARRIER_TOKEN ? value : NULL;
}

static void warn(decision_t *d, const char *text)
{
    APR_ARRAY_PUSH(d->out->warnings, const char *) = text;
}

/* A question to the caller that got no answer: the request ends with it. */
static void stopped(decision_t *d, clerk_step_t step, apr_int64_t retry_after,
                    clerk_reason_t reason)
{
    d->out->state = step == CLERK_STEP_BROKEN ? CLERK_AUTH_BROKEN : CLERK_AUTH_UNAVAILABLE;
    d->out->reason = reason;
    d->out->claims = NULL;
    d->out->retry_after = retry_after > 0 ? retry_after : 1;
}

/* Signed out for reason: what ClerkSignedOutAction makes of it. */
static void signed_out(decision_t *d, clerk_reason_t reason, const char *detail)
{
    clerk_auth_outcome_t *out = d->out;
    const char *url = d->s->sign_in_url;

    out->reason = reason;
    out->claims = NULL;
    out->detail = detail;
    if (d->s->signed_out == CLERK_SIGNED_OUT_PASS) {
        out->state = CLERK_AUTH_ANONYMOUS;
    }
    else if (d->s->signed_out == CLERK_SIGNED_OUT_REDIRECT && url && navigation(d->v)) {
        /* A page view goes to the sign-in page, which sends the user back. */
        out->state = CLERK_AUTH_SIGN_IN_REDIRECT;
        out->location = apr_pstrcat(d->p, url, strchr(url, '?') ? "&" : "?", "redirect_url=",
                                    apr_pescape_urlencoded(d->p, d->v->url ? d->v->url : ""),
                                    NULL);
    }
    else {
        out->state = CLERK_AUTH_SIGNED_OUT;
    }
}

/* A verified token: signed in, when it names a REMOTE_USER. */
static void signed_in(decision_t *d, clerk_claims_t *claims)
{
    const char *user, *detail;
    clerk_reason_t reason = clerk_export_remote_user_decision(d->p, claims,
                                                              d->s->remote_user_claim, &user,
                                                              &detail);

    if (reason != CLERK_OK) {
        signed_out(d, reason, detail);
        return;
    }
    d->out->state = CLERK_AUTH_SIGNED_IN;
    d->out->reason = CLERK_OK;
    d->out->claims = claims;
    d->out->user = user;
}

/* A JWT verified: DONE with *claims / *reason, or the request has ended. */
static int verify(decision_t *d, const char *token, unsigned accept, const char *carrier,
                  clerk_claims_t **claims, clerk_reason_t *reason)
{
    apr_int64_t retry = 0;
    clerk_step_t step;

    d->out->token = token;
    d->out->carrier = carrier;
    *claims = NULL;
    *reason = CLERK_TOKEN_INVALID;
    step = d->ops->verify_jwt(d->ops->ctx, token, accept, carrier, claims, reason, &retry);
    if (step != CLERK_STEP_DONE) {
        stopped(d, step, retry, CLERK_JWK_FAILED_TO_RESOLVE);
        return 0;
    }
    return 1;
}

/* A JWT decides the request on its own: signed in or signed out. */
static void decide_jwt(decision_t *d, const char *token, unsigned accept, const char *carrier)
{
    clerk_claims_t *claims;
    clerk_reason_t reason;

    if (!verify(d, token, accept, carrier, &claims, &reason))
        return;
    if (reason == CLERK_OK)
        signed_in(d, claims);
    else
        signed_out(d, reason, apr_pstrcat(d->p, "token rejected from ", carrier, NULL));
}

/*
 * An opaque mt_/oat_/ak_ token: only when its type is accepted here (never
 * from a cookie, which carries sessions only), a secret can verify it, and it is
 * well-formed is it sent to the Backend API.
 */
static void decide_opaque(decision_t *d, const char *token, clerk_token_type_t type,
                          unsigned accept, const char *carrier)
{
    clerk_claims_t *claims = NULL;
    clerk_reason_t reason = CLERK_TOKEN_INVALID;
    apr_int64_t retry = 0;
    clerk_step_t step;

    d->out->token = token;
    d->out->carrier = carrier;
    if (!(accept & type)) {
        signed_out(d, CLERK_TOKEN_TYPE_MISMATCH,
                   apr_psprintf(d->p, "%s from %s is not accepted here",
                                clerk_token_type_name(type), carrier));
        return;
    }
    if (!d->s->has_secret && !(type == CLERK_TYPE_M2M && d->s->has_machine_secret)) {
        signed_out(d, CLERK_TOKEN_INVALID,
                   apr_psprintf(d->p, "an opaque %s needs ClerkSecretKey%s",
                                clerk_token_type_name(type),
                                type == CLERK_TYPE_M2M ? " or ClerkMachineSecretKey" : ""));
        return;
    }
    if (clerk_opaque_token_wellformed(token, strlen(token)) != type) {
        signed_out(d, CLERK_TOKEN_INVALID,
                   apr_psprintf(d->p, "malformed opaque %s from %s; not sent to the "
                                "Backend API", clerk_token_type_name(type), carrier));
        return;
    }
    step = d->ops->check_opaque(d->ops->ctx, token, type, carrier, &claims, &reason, &retry);
    if (step != CLERK_STEP_DONE)
        stopped(d, step, retry, CLERK_OK);
    else if (reason == CLERK_OK)
        signed_in(d, claims);
    else
        signed_out(d, reason, apr_psprintf(d->p, "the Backend API refused this %s",
                                           clerk_token_type_name(type)));
}

/* A token from the Authorization header: an opaque one, or a JWT. */
static void decide_token(decision_t *d, const char *token, unsigned accept, const char *carrier)
{
    clerk_token_type_t opaque = clerk_opaque_token_type(token);

    if (opaque)
        decide_opaque(d, token, opaque, accept, carrier);
    else
        decide_jwt(d, token, accept, carrier);
}

/*
 * The token flow: the Authorization header wins when it carries one (even
 * an invalid one); otherwise the instance's suffixed session cookie, then
 * __session.  Machine tokens travel only in the Authorization header.
 */
static void token_flow(decision_t *d)
{
    unsigned sources = d->s->sources, accept = d->s->accept_types;
    const char *token = NULL, *carrier = "header";
    clerk_carrier_t found = CLERK_CARRIER_NONE;
    apr_size_t len;

    if (!(accept & CLERK_TYPE_SESSION))
        sources &= ~CLERK_FROM_COOKIE;
    if (sources & CLERK_FROM_HEADER)
        found = clerk_bearer_token(d->v->authorization, &token, &len);
    if (found == CLERK_CARRIER_NONE && (sources & CLERK_FROM_COOKIE) && d->v->cookies) {
        carrier = "cookie";
        if (d->s->session_cookie)
            found = clerk_cookie_value(d->p, d->v->cookies, d->s->session_cookie, &token, &len);
        if (found == CLERK_CARRIER_NONE)
            found = clerk_cookie_value(d->p, d->v->cookies, SESSION_COOKIE, &token, &len);
    }
    if (found == CLERK_CARRIER_NONE) {
        signed_out(d, CLERK_SESSION_TOKEN_MISSING, "no token");
        return;
    }
    if (found == CLERK_CARRIER_MALFORMED) {
        signed_out(d, CLERK_TOKEN_INVALID,
                   apr_pstrcat(d->p, "malformed or repeated ", carrier, NULL));
        return;
    }
    if (!strcmp(carrier, "cookie"))
        accept &= CLERK_TYPE_SESSION;       /* a cookie only carries sessions */
    decide_token(d, token, accept, carrier);
}

/* ------------------------------------------------------------ the browser flow */

int clerk_auth_is_browser(const clerk_auth_settings_t *s)
{
    return s->signed_out == CLERK_SIGNED_OUT_HANDSHAKE && s->instance;
}

/* The session cookies of the request; whether Clerk reads the suffixed pair. */
static int session_cookies(const decision_t *d, clerk_session_cookies_t *ck)
{
    ck->session = cookie(d, SESSION_COOKIE);
    ck->session_suffixed = cookie(d, d->s->session_cookie);
    ck->client_uat = cookie(d, "__client_uat");
    ck->client_uat_suffixed = cookie(d, d->s->uat_cookie);
    return clerk_use_suffixed_cookies(d->p, ck, d->s->instance->frontend_api,
                                      d->s->instance->production);
}

/* A 307 to the Frontend API handshake, with Clerk's loop guard. */
static void handshake(decision_t *d, const char *why, clerk_reason_t fallback)
{
    clerk_session_cookies_t ck;
    apr_int64_t count = clerk_client_uat(cookie(d, "__clerk_redirect_count"));
    const char *skip = !navigation(d->v) ? "not a navigation request"
                       : !d->s->instance->production ? "development instance"
                       : count >= CLERK_HANDSHAKE_MAX_REDIRECTS ? "redirect loop guard"
                                                                : NULL;

    if (skip) {
        signed_out(d, fallback, apr_psprintf(d->p, "no handshake (%s): %s", why, skip));
        return;
    }
    d->out->state = CLERK_AUTH_HANDSHAKE;
    d->out->reason = fallback;
    d->out->claims = NULL;
    d->out->handshake_reason = why;
    d->out->detail = apr_pstrcat(d->p, "handshake: ", why, NULL);
    /* the handshake reports the cookie pair in use, as Clerk's SDK does */
    d->out->location = clerk_handshake_location(d->p, d->s->frontend_api_base,
                                                d->v->url ? d->v->url : "", why,
                                                session_cookies(d, &ck));
    APR_ARRAY_PUSH(d->out->set_cookies, const char *)
        = apr_psprintf(d->p, "__clerk_redirect_count=%" APR_INT64_T_FMT
                       "; SameSite=Lax; HttpOnly; Max-Age=2", count + 1);
}

/* Act on Clerk's decision for a session. */
static void act(decision_t *d, clerk_session_decision_t sd, clerk_claims_t *claims)
{
    switch (sd.state) {
    case CLERK_SESSION_SIGNED_IN:
        signed_in(d, claims);
        break;
    case CLERK_SESSION_HANDSHAKE:
        handshake(d, sd.handshake_reason, sd.reason);
        break;
    default:
        signed_out(d, sd.reason, "session signed out");
        break;
    }
}

/* The Set-Cookie directives of a handshake result, or NULL (the request may have ended). */
static apr_array_header_t *handshake_directives(decision_t *d, int *ended)
{
    const clerk_request_view_t *v = d->v;
    const char *nonce = NULL, *hs = NULL, *detail = NULL;
    apr_array_header_t *directives = NULL;
    apr_int64_t retry = 0;
    clerk_step_t step;

    *ended = 0;
    /*
     * As Clerk's SDK: a nonce (query, then cookie) before a handshake token.
     * Stricter than the SDK, a nonce counts only on a page view (where a
     * handshake redirect lands): exchanging it costs a Backend API call,
     * which no other request may make anyone spend.
     */
    if (navigation(v) && !(nonce = v->handshake_nonce))
        nonce = cookie(d, "__clerk_handshake_nonce");
    if (!nonce && !(hs = v->handshake) && !(hs = cookie(d, "__clerk_handshake")))
        return NULL;
    if (hs) {
        const clerk_keyset_t *keys = NULL;
        void *hold = NULL;
        clerk_reason_t reason;

        if ((step = d->ops->acquire_keys(d->ops->ctx, &keys, &hold, &retry)) != CLERK_STEP_DONE) {
            stopped(d, step, retry, CLERK_JWK_FAILED_TO_RESOLVE);
            *ended = 1;
            return NULL;
        }
        reason = clerk_handshake_token_directives(d->p, hs, keys, &directives, &detail);
        d->ops->release_keys(d->ops->ctx, hold);
        if (reason != CLERK_OK)
            detail = apr_pstrcat(d->p, clerk_reason_str(reason), ": ", detail, NULL);
    }
    else if (!d->s->has_secret) {
        detail = "a handshake nonce needs ClerkSecretKey";
    }
    else if (!clerk_handshake_nonce_wellformed(nonce, strlen(nonce))) {
        detail = "malformed handshake nonce (not sent to the Backend API)";
    }
    else if ((step = d->ops->exchange_nonce(d->ops->ctx, nonce, &directives, &detail, &retry))
             != CLERK_STEP_DONE) {
        stopped(d, step, retry, CLERK_OK);
        *ended = 1;
        return NULL;
    }
    if (!directives)
        warn(d, apr_pstrcat(d->p, "handshake result not usable, continuing with the cookies: ",
                            detail ? detail : "no directives", NULL));
    return directives;
}

/*
 * A handshake result came back (a nonce, or a signed handshake token, in the
 * query or a cookie): set its cookies and decide with the session it
 * carries.  0 when there is none or it cannot be resolved (then the cookie
 * flow decides, as Clerk's SDK does in production).
 */
static int handshake_result(decision_t *d)
{
    apr_array_header_t *directives, *dropped;
    const char *session;
    clerk_claims_t *claims;
    clerk_reason_t reason;
    int ended;

    if (d->v->earlier_handshake_session) {
        if (!verify(d, d->v->earlier_handshake_session, d->s->accept_types & CLERK_TYPE_SESSION,
                    "handshake", &claims, &reason))
            return 1;
        if (reason == CLERK_OK) {
            d->out->handshake_session = d->v->earlier_handshake_session;
            signed_in(d, claims);
            return 1;
        }
        /* not valid here (another instance's section): the ordinary flow decides */
    }
    if (!(directives = handshake_directives(d, &ended)))
        return ended;
    /*
     * Only the cookies Clerk's handshake sets, for this host or a parent
     * domain of it: a handshake payload (signed, or from the Backend API)
     * never sets any other.  Clerk's SDK sets whatever it is given.
     */
    dropped = apr_array_make(d->p, 0, sizeof(const char *));
    directives = clerk_handshake_allowed_cookies(d->p, directives, d->v->host, dropped);
    for (int i = 0; i < dropped->nelts; i++)
        warn(d, apr_pstrcat(d->p, "handshake directive not set: ",
                            APR_ARRAY_IDX(dropped, i, const char *), NULL));
    session = clerk_handshake_session(d->p, directives);
    apr_array_cat(d->out->set_cookies, directives);
    if (!session) {
        signed_out(d, CLERK_SESSION_TOKEN_MISSING, "handshake set no session");
        return 1;
    }
    d->out->handshake_session = session;
    if (!verify(d, session, d->s->accept_types & CLERK_TYPE_SESSION, "handshake", &claims,
                &reason))
        return 1;
    if (reason == CLERK_OK)
        signed_in(d, claims);
    else
        signed_out(d, reason, "the handshake's session was rejected");
    return 1;
}

/* The browser flow, in the order of clerk_authenticate.h. */
static void browser_flow(decision_t *d)
{
    clerk_session_cookies_t ck;
    clerk_claims_t *claims = NULL;
    clerk_reason_t reason = CLERK_OK;
    const char *token, *session;
    apr_size_t len;
    int suffixed;

    switch (clerk_bearer_token(d->v->authorization, &token, &len)) {
    case CLERK_CARRIER_TOKEN:
        if (clerk_opaque_token_type(token)) {
            decide_opaque(d, token, clerk_opaque_token_type(token), d->s->accept_types,
                          "header");
            return;
        }
        if (verify(d, token, d->s->accept_types, "header", &claims, &reason))
            act(d, clerk_header_session_decision(reason), claims);
        return;
    case CLERK_CARRIER_MALFORMED:
        signed_out(d, CLERK_TOKEN_INVALID, "malformed Authorization header");
        return;
    default:
        break;
    }
    if (handshake_result(d))
        return;
    suffixed = session_cookies(d, &ck);
    session = suffixed ? ck.session_suffixed : ck.session;
    if (session && !verify(d, session, d->s->accept_types & CLERK_TYPE_SESSION, "cookie",
                           &claims, &reason))
        return;
    act(d, clerk_cookie_session_decision(session,
                                         clerk_client_uat(suffixed ? ck.client_uat_suffixed
                                                                   : ck.client_uat),
                                         reason, claims && claims->has_iat,
                                         claims ? claims->iat : 0),
        claims);
}

void clerk_authenticate_request(apr_pool_t *p, const clerk_request_view_t *view,
                                const clerk_auth_settings_t *s, const clerk_auth_ops_t *ops,
                                clerk_auth_outcome_t *out)
{
    decision_t d = { p, view, s, ops, out };

    memset(out, 0, sizeof(*out));
    out->carrier = "none";
    out->set_cookies = apr_array_make(p, 2, sizeof(const char *));
    out->warnings = apr_array_make(p, 0, sizeof(const char *));
    if (clerk_auth_is_browser(s))
        browser_flow(&d);
    else
        token_flow(&d);
}

const char *clerk_auth_state_name(clerk_auth_state_t state)
{
    switch (state) {
    case CLERK_AUTH_SIGNED_IN:
        return "signed-in";
    case CLERK_AUTH_SIGNED_OUT:
        return "signed-out";
    case CLERK_AUTH_ANONYMOUS:
        return "anonymous";
    case CLERK_AUTH_SIGN_IN_REDIRECT:
        return "sign-in-redirect";
    case CLERK_AUTH_HANDSHAKE:
        return "handshake";
    case CLERK_AUTH_UNAVAILABLE:
        return "unavailable";
    default:
        return "broken";
    }
}
