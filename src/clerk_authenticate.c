/*
 * One request's decision (clerk_authenticate.h): the token flow, and the
 * signed-in / signed-out endings it shares with the browser flow
 * (clerk_browser_flow.c).
 */
#include "clerk_decision.h"

#include <apr_escape.h>
#include <apr_strings.h>
#include <string.h>

#include "clerk_carrier.h"
#include "clerk_export.h"
#include "clerk_handshake.h"
#include "clerk_opaque_token.h"

int clerk_decision_navigation(const clerk_request_view_t *v)
{
    return clerk_handshake_eligible(v->method, v->sec_fetch_dest, v->accept);
}

const char *clerk_decision_cookie(const clerk_decision_t *d, const char *name)
{
    const char *value;
    apr_size_t len;

    return name && clerk_cookie_value(d->p, d->v->cookies, name, &value, &len)
        == CLERK_CARRIER_TOKEN ? value : NULL;
}

void clerk_decision_warn(clerk_decision_t *d, const char *text)
{
    APR_ARRAY_PUSH(d->out->warnings, const char *) = text;
}

void clerk_decision_stopped(clerk_decision_t *d, clerk_step_t step, apr_int64_t retry_after,
                    clerk_reason_t reason)
{
    d->out->state = step == CLERK_STEP_BROKEN ? CLERK_AUTH_BROKEN : CLERK_AUTH_UNAVAILABLE;
    d->out->reason = reason;
    d->out->claims = NULL;
    d->out->retry_after = retry_after > 0 ? retry_after : 1;
}

void clerk_decision_signed_out(clerk_decision_t *d, clerk_reason_t reason,
                               const char *sdk_reason, const char *detail)
{
    clerk_auth_outcome_t *out = d->out;
    const char *url = d->s->sign_in_url;

    out->reason = reason;
    out->sdk_reason = sdk_reason;
    out->claims = NULL;
    out->detail = detail;
    if (d->s->signed_out == CLERK_SIGNED_OUT_PASS) {
        out->state = CLERK_AUTH_ANONYMOUS;
    }
    else if (d->s->signed_out == CLERK_SIGNED_OUT_REDIRECT && url && clerk_decision_navigation(d->v)) {
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

void clerk_decision_signed_in(clerk_decision_t *d, clerk_claims_t *claims)
{
    const char *user, *detail;
    clerk_reason_t reason = clerk_export_remote_user_decision(d->p, claims,
                                                              d->s->remote_user_claim, &user,
                                                              &detail);

    if (reason != CLERK_OK) {
        clerk_decision_signed_out(d, reason, NULL, detail);
        return;
    }
    d->out->state = CLERK_AUTH_SIGNED_IN;
    d->out->reason = CLERK_OK;
    d->out->claims = claims;
    d->out->user = user;
}

int clerk_decision_verify(clerk_decision_t *d, const char *token, unsigned accept,
                          apr_int64_t clock_skew, const char *carrier, clerk_claims_t **claims,
                          clerk_reason_t *reason)
{
    apr_int64_t retry = 0;
    clerk_step_t step;

    d->out->token = token;
    d->out->carrier = carrier;
    *claims = NULL;
    *reason = CLERK_TOKEN_INVALID;
    step = d->ops->verify_jwt(d->ops->ctx, token, accept, clock_skew, carrier, claims, reason,
                              &retry);
    if (step != CLERK_STEP_DONE) {
        clerk_decision_stopped(d, step, retry, CLERK_JWK_FAILED_TO_RESOLVE);
        return 0;
    }
    return 1;
}

/* A JWT decides the request on its own: signed in or signed out. */
static void decide_jwt(clerk_decision_t *d, const char *token, unsigned accept, const char *carrier)
{
    clerk_claims_t *claims;
    clerk_reason_t reason;

    if (!clerk_decision_verify(d, token, accept, -1, carrier, &claims, &reason))
        return;
    if (reason == CLERK_OK)
        clerk_decision_signed_in(d, claims);
    else
        clerk_decision_signed_out(d, reason, NULL,
                                  apr_pstrcat(d->p, "token rejected from ", carrier, NULL));
}

/*
 * An opaque mt_/oat_/ak_ token: only when its type is accepted here (never
 * from a cookie, which carries sessions only), a secret can verify it, and it is
 * well-formed is it sent to the Backend API.
 */
void clerk_decision_opaque(clerk_decision_t *d, const char *token, clerk_token_type_t type,
                           unsigned accept, const char *carrier)
{
    clerk_claims_t *claims = NULL;
    clerk_reason_t reason = CLERK_TOKEN_INVALID;
    apr_int64_t retry = 0;
    clerk_step_t step;

    d->out->token = token;
    d->out->carrier = carrier;
    if (!(accept & type)) {
        clerk_decision_signed_out(d, CLERK_TOKEN_TYPE_MISMATCH, NULL,
                                  apr_psprintf(d->p, "%s from %s is not accepted here",
                                               clerk_token_type_name(type), carrier));
        return;
    }
    if (!d->s->has_secret && !(type == CLERK_TYPE_M2M && d->s->has_machine_secret)) {
        clerk_decision_signed_out(d, CLERK_TOKEN_INVALID, NULL,
                                  apr_psprintf(d->p, "an opaque %s needs ClerkSecretKey%s",
                                               clerk_token_type_name(type),
                                               type == CLERK_TYPE_M2M
                                                   ? " or ClerkMachineSecretKey" : ""));
        return;
    }
    if (clerk_opaque_token_wellformed(token, strlen(token)) != type) {
        clerk_decision_signed_out(d, CLERK_TOKEN_INVALID, NULL,
                                  apr_psprintf(d->p, "malformed opaque %s from %s; not sent "
                                               "to the Backend API",
                                               clerk_token_type_name(type), carrier));
        return;
    }
    step = d->ops->check_opaque(d->ops->ctx, token, type, carrier, &claims, &reason, &retry);
    if (step != CLERK_STEP_DONE)
        clerk_decision_stopped(d, step, retry, CLERK_OK);
    else if (reason == CLERK_OK)
        clerk_decision_signed_in(d, claims);
    else
        clerk_decision_signed_out(d, reason, NULL,
                                  apr_psprintf(d->p, "the Backend API refused this %s",
                                               clerk_token_type_name(type)));
}

/* A token from the Authorization header: an opaque one, or a JWT. */
static void decide_token(clerk_decision_t *d, const char *token, unsigned accept, const char *carrier)
{
    clerk_token_type_t opaque = clerk_opaque_token_type(token);

    if (opaque)
        clerk_decision_opaque(d, token, opaque, accept, carrier);
    else
        decide_jwt(d, token, accept, carrier);
}

/*
 * The token flow: the Authorization header wins when it carries one (even
 * an invalid one); otherwise the instance's suffixed session cookie, then
 * __session.  Machine tokens travel only in the Authorization header.
 */
static void token_flow(clerk_decision_t *d)
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
            found = clerk_cookie_value(d->p, d->v->cookies, CLERK_SESSION_COOKIE, &token, &len);
    }
    if (found == CLERK_CARRIER_NONE) {
        clerk_decision_signed_out(d, CLERK_SESSION_TOKEN_MISSING, NULL, "no token");
        return;
    }
    if (found == CLERK_CARRIER_MALFORMED) {
        clerk_decision_signed_out(d, CLERK_TOKEN_INVALID, NULL,
                                  apr_pstrcat(d->p, "malformed or repeated ", carrier, NULL));
        return;
    }
    if (!strcmp(carrier, "cookie"))
        accept &= CLERK_TYPE_SESSION;       /* a cookie only carries sessions */
    decide_token(d, token, accept, carrier);
}

void clerk_authenticate_request(apr_pool_t *p, const clerk_request_view_t *view,
                                const clerk_auth_settings_t *s, const clerk_auth_ops_t *ops,
                                clerk_auth_outcome_t *out)
{
    clerk_decision_t d = { p, view, s, ops, out };

    memset(out, 0, sizeof(*out));
    out->carrier = "none";
    out->set_cookies = apr_array_make(p, 2, sizeof(const char *));
    out->warnings = apr_array_make(p, 0, sizeof(const char *));
    if (clerk_auth_is_browser(s))
        clerk_browser_flow(&d);
    else
        token_flow(&d);
}

const char *const clerk_auth_cors_headers[] = {
    "Access-Control-Allow-Origin", "null", "Access-Control-Allow-Credentials", "true", NULL
};

int clerk_auth_is_browser(const clerk_auth_settings_t *s)
{
    return s->signed_out == CLERK_SIGNED_OUT_HANDSHAKE && s->instance;
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
