/*
 * The browser flow of clerk_authenticate_request (ClerkSignedOutAction
 * handshake): Clerk's authenticateRequest for session tokens, decided as
 * @clerk/backend decides it (tokens/request.ts, handshake.ts,
 * authenticateContext.ts), with its reasons: the Authorization header; a
 * handshake result; the satellite and development sync flows; the cookie
 * table; silent refresh; the cross-origin check.  Where the module is
 * stricter than the SDK, the comment says so (README: "Security notes").
 */
#include "clerk_decision.h"

#include <apr_escape.h>
#include <apr_strings.h>
#include <apr_uri.h>
#include <string.h>
#include <strings.h>

#include "clerk_carrier.h"
#include "clerk_export.h"
#include "clerk_handshake.h"
#include "clerk_jws.h"
#include "clerk_json.h"
#include "clerk_opaque_token.h"
#include "clerk_url.h"

/* Clerk's one-day tolerance when a development handshake's session fails on time. */
#define DEV_HANDSHAKE_CLOCK_SKEW 86400

/* What the flow reads of the request once. */
typedef struct {
    clerk_decision_t *d;
    int production;
    int suffixed;                   /* Clerk reads the suffixed cookie pair */
    const char *session;            /* the session cookie of that pair */
    apr_int64_t uat;                /* its __client_uat */
    const char *header_token;       /* a JWT from the Authorization header */
    const char *dev_browser;        /* development: query, else cookie */
    const char *refresh;            /* __refresh_<suffix> */
    apr_int64_t redirect_count;     /* __clerk_redirect_count */
} browser_t;

static int is_get(const clerk_request_view_t *v)
{
    return v->method && !strcmp(v->method, "GET");
}

/* A document navigation, as the sync flows and the cross-origin check want it (GET only). */
static int document_get(const clerk_request_view_t *v)
{
    return is_get(v) && v->sec_fetch_dest && !strcmp(v->sec_fetch_dest, "document");
}

static const char *suffixed_name(const browser_t *b, const char *name)
{
    return apr_pstrcat(b->d->p, name, "_", b->d->s->instance->cookie_suffix, NULL);
}

/* A cookie by Clerk's getSuffixedOrUnSuffixedCookie. */
static const char *pair_cookie(const browser_t *b, const char *name)
{
    return clerk_decision_cookie(b->d, b->suffixed ? suffixed_name(b, name) : name);
}

static const char *query(const browser_t *b, const char *name)
{
    const char *q = b->d->v->url ? strchr(b->d->v->url, '?') : NULL;
    return q ? clerk_query_param(b->d->p, q + 1, name) : NULL;
}

/*
 * A time claim (iat, exp, nbf) of a token, read without verifying it, as the
 * SDK decodes it; 0 when the token has none readable.
 */
static int peek_time(const browser_t *b, const char *token, const char *name, apr_int64_t *t)
{
    clerk_jws_t *jws;
    const char *detail;
    json_t *payload;

    if (!token
        || clerk_jws_parse(b->d->p, token, strlen(token), CLERK_TOKEN_MAX_LEN, &jws, &detail)
               != CLERK_OK
        || !(payload = clerk_json_parse_object(b->d->p, (const char *)jws->payload,
                                               jws->payload_len, &detail))
        || !json_is_integer(json_object_get(payload, name)))
        return 0;
    *t = json_integer_value(json_object_get(payload, name));
    return 1;
}

static void read_request(browser_t *b, clerk_decision_t *d)
{
    clerk_session_cookies_t ck;

    memset(b, 0, sizeof(*b));
    b->d = d;
    b->production = d->s->instance->production;
    ck.session = clerk_decision_cookie(d, CLERK_SESSION_COOKIE);
    ck.session_suffixed = clerk_decision_cookie(d, d->s->session_cookie);
    ck.client_uat = clerk_decision_cookie(d, "__client_uat");
    ck.client_uat_suffixed = clerk_decision_cookie(d, d->s->uat_cookie);
    b->suffixed = clerk_use_suffixed_cookies(d->p, &ck, d->s->instance_fapi, b->production,
                                             d->v->now);
    b->session = b->suffixed ? ck.session_suffixed : ck.session;
    b->uat = clerk_client_uat(b->suffixed ? ck.client_uat_suffixed : ck.client_uat);
    b->dev_browser = d->v->dev_browser ? d->v->dev_browser : pair_cookie(b, "__clerk_db_jwt");
    b->refresh = clerk_decision_cookie(d, suffixed_name(b, "__refresh"));
    b->redirect_count = clerk_redirect_count(clerk_decision_cookie(d, "__clerk_redirect_count"));
}

/* The organization the page's URL names (organizationSyncOptions), or none. */
static clerk_org_sync_target_t org_target(const browser_t *b)
{
    clerk_org_sync_target_t t = { CLERK_ORG_SYNC_NONE, NULL, NULL };
    const char *url = b->d->v->url, *host = url ? strstr(url, "://") : NULL;

    if (b->d->s->org_sync && host)
        clerk_org_sync_find_target(b->d->s->org_sync, b->d->p, host + 3 + strcspn(host + 3, "/?#"),
                                   &t);
    return t;
}

/* The Frontend API handshake URL (buildRedirectToHandshake). */
static const char *handshake_url(const browser_t *b, const char *why)
{
    const clerk_decision_t *d = b->d;
    clerk_org_sync_target_t org = org_target(b);
    const char *session = b->session ? b->session : b->header_token;
    const char *base = d->s->frontend_api_base, *url;

    /* a ClerkProxyURL that is a path lives on this site's public origin, as in the SDK */
    if (base[0] == '/' && d->v->url && strstr(d->v->url, "://")) {
        const char *host = strstr(d->v->url, "://") + 3;
        base = apr_pstrcat(d->p, apr_pstrndup(d->p, d->v->url,
                                              (apr_size_t)(host - d->v->url)
                                                  + strcspn(host, "/?#")),
                           base, NULL);
    }
    url = clerk_handshake_location(d->p, base, d->v->url ? d->v->url : "", why, b->suffixed);

    /* Clerk's origin-outage mode: the session in use goes along (to Clerk's own origin) */
    if (session)
        url = apr_pstrcat(d->p, url, "&__session=", apr_pescape_urlencoded(d->p, session), NULL);
    if (!b->production && b->dev_browser)
        url = apr_pstrcat(d->p, url, "&__clerk_db_jwt=",
                          apr_pescape_urlencoded(d->p, b->dev_browser), NULL);
    /* the organization to activate: its id, else its slug; "" for the personal account */
    if (org.type != CLERK_ORG_SYNC_NONE)
        url = apr_pstrcat(d->p, url, "&organization_id=",
                          apr_pescape_urlencoded(d->p, org.organization_slug
                                                           ? org.organization_slug
                                                           : org.organization_id
                                                                 ? org.organization_id : ""),
                          NULL);
    return url;
}

/*
 * handleMaybeHandshakeStatus: a 307 to the handshake (or to location, for
 * the sync flows) when the request may be redirected and Clerk's loop guard
 * allows; else signed out for the same reason.  fallback is the reason in
 * the token vocabulary (WWW-Authenticate); why is Clerk's.
 */
static void handshake(browser_t *b, const char *why, clerk_reason_t fallback,
                      const char *message, const char *location)
{
    clerk_decision_t *d = b->d;
    const char *skip = !clerk_decision_navigation(d->v) ? "not a navigation request"
                       : b->redirect_count >= CLERK_HANDSHAKE_MAX_REDIRECTS ? "redirect loop guard"
                                                                            : NULL;

    if (skip) {
        clerk_decision_signed_out(d, fallback, why,
                                  apr_psprintf(d->p, "no handshake (%s): %s", why, skip));
        d->out->message = message;
        return;
    }
    d->out->state = CLERK_AUTH_HANDSHAKE;
    d->out->reason = fallback;
    d->out->sdk_reason = why;
    d->out->message = message;
    d->out->claims = NULL;
    d->out->handshake_reason = why;
    d->out->detail = apr_pstrcat(d->p, "handshake: ", why, NULL);
    d->out->location = location ? location : handshake_url(b, why);
    APR_ARRAY_PUSH(d->out->set_cookies, const char *)
        = apr_psprintf(d->p, "__clerk_redirect_count=%" APR_INT64_T_FMT
                       "; SameSite=Lax; HttpOnly; Max-Age=2", b->redirect_count + 1);
}

/* ---------------------------------------------------------- silent refresh */

/*
 * attemptRefresh: the new cookies set, the new session verified.  1 signed
 * in; 0 with *why (Clerk's RefreshTokenErrorReason); -1 the request ended.
 */
static int refresh(browser_t *b, const char *expired, const char **why)
{
    clerk_decision_t *d = b->d;
    clerk_refresh_result_t res = { NULL, NULL };
    apr_int64_t retry = 0;
    clerk_claims_t *claims;
    clerk_reason_t reason;
    const char *session;
    clerk_step_t step;

    if (!d->s->has_secret) {
        *why = "missing-api-client";
        return 0;
    }
    step = d->ops->refresh_session(d->ops->ctx, expired, b->refresh, b->suffixed, &res, &retry);
    if (step != CLERK_STEP_DONE) {
        clerk_decision_stopped(d, step, retry, CLERK_OK);
        return -1;
    }
    if (!res.set_cookies || !res.set_cookies->nelts) {
        *why = res.error ? res.error : "unexpected-sdk-error";
        return 0;
    }
    /* the same rule as for a handshake's cookies: only Clerk's, for this host */
    res.set_cookies = clerk_handshake_allowed_cookies(d->p, res.set_cookies, d->v->host, NULL);
    if (!(session = clerk_handshake_session(d->p, res.set_cookies))) {
        *why = "invalid-session-token";
        return 0;
    }
    if (!clerk_decision_verify(d, session, d->s->accept_types & CLERK_TYPE_SESSION, -1,
                               "refresh", &claims, &reason))
        return -1;
    if (reason != CLERK_OK) {
        *why = "invalid-session-token";
        return 0;
    }
    apr_array_cat(d->out->set_cookies, res.set_cookies);
    d->out->handshake_session = session;
    clerk_decision_signed_in(d, claims);
    return 1;
}

/* A date as JavaScript's toUTCString writes it, which the SDK's messages use. */
static const char *utc(apr_pool_t *p, apr_int64_t t)
{
    char *buf = apr_palloc(p, APR_RFC822_DATE_LEN);
    return apr_rfc822_date(buf, apr_time_from_sec(t)) == APR_SUCCESS ? buf : "";
}

/*
 * The SDK's message for a token that failed on time (jwt/assertions.ts, with
 * TokenVerificationError.getFullMessage), for X-Clerk-Auth-Message.
 */
static const char *time_message(const browser_t *b, const char *token, clerk_reason_t reason,
                                const char *carrier)
{
    apr_pool_t *p = b->d->p;
    apr_int64_t now = b->d->v->now, t = 0;
    const char *text;

    switch (reason) {
    case CLERK_TOKEN_EXPIRED:
        if (!peek_time(b, token, "exp", &t))
            return NULL;
        text = apr_pstrcat(p, "JWT is expired. Expiry date: ", utc(p, t), ", Current date: ",
                           utc(p, now), ".", NULL);
        break;
    case CLERK_TOKEN_NOT_ACTIVE_YET:
        if (!peek_time(b, token, "nbf", &t))
            return NULL;
        text = apr_pstrcat(p, "JWT cannot be used prior to not before date claim (nbf). "
                           "Not before date: ", utc(p, t), "; Current date: ", utc(p, now), ";",
                           NULL);
        break;
    case CLERK_TOKEN_IAT_IN_THE_FUTURE:
        if (!peek_time(b, token, "iat", &t))
            return NULL;
        text = apr_pstrcat(p, "JWT issued at date claim (iat) is in the future. Issued at date: ",
                           utc(p, t), "; Current date: ", utc(p, now), ";", NULL);
        break;
    default:
        return NULL;
    }
    return apr_pstrcat(p, text, " (reason=", clerk_reason_str(reason), ", token-carrier=",
                       carrier, ")", NULL);
}

/*
 * handleSessionTokenError: a session that failed verification.  An expired
 * one on a GET with a refresh cookie is refreshed; time failures get a
 * handshake; anything else is signed out.
 */
static void session_error(browser_t *b, const char *token, clerk_reason_t reason,
                          const char *carrier)
{
    clerk_decision_t *d = b->d;
    const char *why = NULL;

    /* the session the SDK refreshes: the cookie's, else the header's (sessionToken) */
    if (reason == CLERK_TOKEN_EXPIRED && b->refresh && is_get(d->v)) {
        if (refresh(b, b->session ? b->session : token, &why) != 0)
            return;
    }
    else if (!is_get(d->v)) {
        why = "non-eligible-non-get";
    }
    else if (!b->refresh) {
        why = "non-eligible-no-refresh-cookie";
    }
    switch (reason) {
    case CLERK_TOKEN_EXPIRED:
        handshake(b, apr_pstrcat(d->p, "session-token-expired-refresh-", why, NULL), reason,
                  time_message(b, token, reason, carrier), NULL);
        return;
    case CLERK_TOKEN_NOT_ACTIVE_YET:
        handshake(b, "session-token-nbf", reason, time_message(b, token, reason, carrier), NULL);
        return;
    case CLERK_TOKEN_IAT_IN_THE_FUTURE:
        handshake(b, "session-token-iat-in-the-future", reason,
                  time_message(b, token, reason, carrier), NULL);
        return;
    default:
        clerk_decision_signed_out(d, reason, NULL,
                                  apr_pstrcat(d->p, "token rejected from ", carrier, NULL));
        return;
    }
}

/* ---------------------------------------------------------- handshake result */

/* The Set-Cookie directives of a handshake result, or NULL; 0 when the request ended. */
static int handshake_directives(browser_t *b, apr_array_header_t **directives)
{
    clerk_decision_t *d = b->d;
    const clerk_request_view_t *v = d->v;
    const char *nonce = NULL, *hs = NULL, *detail = NULL;
    apr_int64_t retry = 0;
    clerk_step_t step;

    *directives = NULL;
    /*
     * As Clerk's SDK: a nonce (query, then cookie) before a handshake token.
     * Stricter than the SDK, a nonce counts only on a page view (where a
     * handshake redirect lands): exchanging it costs a Backend API call,
     * which no other request may make anyone spend.
     */
    if (clerk_decision_navigation(v) && !(nonce = v->handshake_nonce))
        nonce = clerk_decision_cookie(d, "__clerk_handshake_nonce");
    if (!nonce && !(hs = v->handshake) && !(hs = clerk_decision_cookie(d, "__clerk_handshake")))
        return 1;
    if (hs) {
        const clerk_keyset_t *keys = NULL;
        void *hold = NULL;
        clerk_reason_t reason;

        if ((step = d->ops->acquire_keys(d->ops->ctx, &keys, &hold, &retry)) != CLERK_STEP_DONE) {
            clerk_decision_stopped(d, step, retry, CLERK_JWK_FAILED_TO_RESOLVE);
            return 0;
        }
        reason = clerk_handshake_token_directives(d->p, hs, keys, directives, &detail);
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
    else if ((step = d->ops->exchange_nonce(d->ops->ctx, nonce, directives, &detail, &retry))
             != CLERK_STEP_DONE) {
        clerk_decision_stopped(d, step, retry, CLERK_OK);
        return 0;
    }
    if (*directives)
        return 1;
    if (nonce) {
        /*
         * As the SDK: a nonce that gives no cookies (unknown, malformed, no
         * secret, the Backend API failing) is a result without a session.
         */
        clerk_decision_warn(d, apr_pstrcat(d->p, "handshake nonce not resolved: ",
                                           detail ? detail : "no directives", NULL));
        *directives = apr_array_make(d->p, 0, sizeof(const char *));
        return 1;
    }
    if (!b->production) {
        /*
         * Development: the token came in this URL, so it cannot be another
         * app's; the SDK stops there (it throws), and so does the module,
         * signed out, rather than loop.
         */
        clerk_decision_signed_out(d, CLERK_TOKEN_INVALID, NULL,
                                  apr_pstrcat(d->p, "development handshake token refused: ",
                                              detail, NULL));
        return 0;
    }
    /* production: maybe another app's cookie on the same site; the cookies decide */
    clerk_decision_warn(d, apr_pstrcat(d->p, "handshake result not usable, continuing with "
                                       "the cookies: ", detail, NULL));
    return 1;
}

/*
 * resolveHandshake: set the result's cookies and decide with the session it
 * carries.  1 when decided (or ended); 0 when there is no usable result, and
 * the cookie flow decides (as Clerk's SDK, which logs and goes on).
 */
static int handshake_result(browser_t *b)
{
    clerk_decision_t *d = b->d;
    apr_array_header_t *directives, *dropped;
    const char *session;
    clerk_claims_t *claims;
    clerk_reason_t reason;

    if (d->v->earlier_handshake_session) {
        if (!clerk_decision_verify(d, d->v->earlier_handshake_session,
                                   d->s->accept_types & CLERK_TYPE_SESSION, -1, "handshake",
                                   &claims, &reason))
            return 1;
        if (reason == CLERK_OK) {
            d->out->handshake_session = d->v->earlier_handshake_session;
            clerk_decision_signed_in(d, claims);
            return 1;
        }
        /* not valid here (another instance's section): the ordinary flow decides */
    }
    if (!handshake_directives(b, &directives))
        return 1;
    if (!directives)
        return 0;
    /*
     * Only the cookies Clerk's handshake sets, for this host or a parent
     * domain of it: a handshake payload (signed, or from the Backend API)
     * never sets any other.  Clerk's SDK sets whatever it is given.
     */
    dropped = apr_array_make(d->p, 0, sizeof(const char *));
    directives = clerk_handshake_allowed_cookies(d->p, directives, d->v->host, dropped);
    for (int i = 0; i < dropped->nelts; i++)
        clerk_decision_warn(d, apr_pstrcat(d->p, "handshake directive not set: ",
                                           APR_ARRAY_IDX(dropped, i, const char *), NULL));
    session = clerk_handshake_session(d->p, directives);
    if (session) {
        if (!clerk_decision_verify(d, session, d->s->accept_types & CLERK_TYPE_SESSION, -1,
                                   "handshake", &claims, &reason))
            return 1;
        /* a development instance retries a session that failed on time with a day's skew */
        if (!b->production && (reason == CLERK_TOKEN_EXPIRED || reason == CLERK_TOKEN_NOT_ACTIVE_YET
                               || reason == CLERK_TOKEN_IAT_IN_THE_FUTURE)
            && !clerk_decision_verify(d, session, d->s->accept_types & CLERK_TYPE_SESSION,
                                      DEV_HANDSHAKE_CLOCK_SKEW, "handshake", &claims, &reason))
            return 1;
        if (reason != CLERK_OK) {
            /* the SDK throws here, logs it, and lets the cookie flow decide */
            clerk_decision_warn(d, apr_pstrcat(d->p, "the handshake's session was rejected (",
                                               clerk_reason_str(reason), "), continuing with "
                                               "the cookies", NULL));
            return 0;
        }
    }
    apr_array_cat(d->out->set_cookies, directives);
    d->out->handshake_resolved = 1;
    if (!session) {
        clerk_decision_signed_out(d, CLERK_SESSION_TOKEN_MISSING, "session-token-missing",
                                  "handshake set no session");
    }
    else {
        d->out->handshake_session = session;
        clerk_decision_signed_in(d, claims);
    }
    /* development: the handshake came in the URL; send the browser to the clean one */
    if (!b->production && d->v->url && clerk_export_header_safe(d->v->url)) {
        d->out->location = d->v->url;
        d->out->detail = "handshake resolved: back to the URL without its parameters";
    }
    return 1;
}

/* ---------------------------------------------------------- sync flows */

/* Whether url's origin is one a development primary may send its token to. */
static int sync_target_allowed(const browser_t *b, const char *url)
{
    const apr_array_header_t *parties = b->d->s->authorized_parties;
    apr_uri_t u;
    const char *origin;

    /* decoded from the query: it must not split the Location header it goes into */
    if (!clerk_export_header_safe(url) || strpbrk(url, " \"<>\\^`{|}")
        || apr_uri_parse(b->d->p, url, &u) != APR_SUCCESS || !u.scheme || !u.hostinfo
        || (strcmp(u.scheme, "https") && strcmp(u.scheme, "http")))
        return 0;
    origin = apr_pstrcat(b->d->p, u.scheme, "://", u.hostinfo, NULL);
    for (int i = 0; parties && i < parties->nelts; i++)
        if (!strcmp(APR_ARRAY_IDX(parties, i, const char *), origin))
            return 1;
    return 0;
}

/*
 * The multi-domain sync flows, before the cookie table.  1 when they
 * decided the request.
 */
static int sync_flows(browser_t *b)
{
    clerk_decision_t *d = b->d;
    const char *synced = query(b, "__clerk_synced"), *back;
    int eligible = d->s->satellite && document_get(d->v);
    int needs_sync = synced && !strcmp(synced, "false");
    int has_cookies = b->session || b->uat;

    if (eligible && !(synced && !strcmp(synced, "true"))) {
        if (!d->s->satellite_auto_sync && !has_cookies && !needs_sync) {
            clerk_decision_signed_out(d, CLERK_SESSION_TOKEN_MISSING,
                                      "session-token-and-uat-missing",
                                      "satellite without cookies (ClerkSatelliteAutoSync Off)");
            return 1;
        }
        if (!has_cookies || needs_sync) {
            const char *to = NULL;
            if (!b->production && !d->s->satellite_sign_in_url) {
                clerk_decision_signed_out(d, CLERK_SESSION_TOKEN_MISSING,
                                          "satellite-needs-syncing",
                                          "a development satellite needs ClerkSignInURL");
                return 1;
            }
            if (!b->production)     /* development: the primary's sign-in page syncs */
                to = apr_pstrcat(d->p, d->s->satellite_sign_in_url,
                                 strchr(d->s->satellite_sign_in_url, '?') ? "&" : "?",
                                 "__clerk_redirect_url=",
                                 apr_pescape_urlencoded(d->p, d->v->url ? d->v->url : ""), NULL);
            handshake(b, "satellite-needs-syncing", CLERK_SESSION_TOKEN_MISSING, NULL, to);
            return 1;
        }
    }
    /*
     * A development primary sends a syncing satellite back with its dev
     * browser token.  Stricter than Clerk's SDK, which sends it to any
     * __clerk_redirect_url: only to an origin of ClerkAuthorizedParties, so
     * that no link can carry the token to another site.
     */
    if (!b->production && !d->s->satellite && (back = query(b, "__clerk_redirect_url"))) {
        if (!sync_target_allowed(b, back)) {
            clerk_decision_warn(d, "__clerk_redirect_url names no origin of "
                                   "ClerkAuthorizedParties: not sending the browser there");
            return 0;
        }
        if (b->dev_browser)
            back = clerk_url_with_param(d->p, back, "__clerk_db_jwt", b->dev_browser, 0);
        back = clerk_url_with_param(d->p, back, "__clerk_synced", "true", 1);
        handshake(b, "primary-responds-to-syncing", CLERK_SESSION_TOKEN_MISSING, NULL, back);
        return 1;
    }
    return 0;
}

/* ---------------------------------------------------------- the cookie table */

/*
 * isCrossOriginReferrer and not isKnownClerkReferrer: the Referer's origin
 * differs from the page's, and its host is not the Frontend API's (the proxy's
 * when ClerkProxyURL is set, as the SDK's frontendApi is then), nor in
 * development an Account Portal of Clerk's, nor its origin the instance's
 * Account Portal.
 */
static int foreign_referer(const browser_t *b)
{
    clerk_decision_t *d = b->d;
    const char *ref = clerk_url_origin(d->p, d->v->referer), *own = clerk_url_origin(d->p, d->v->url);
    const char *base = d->s->frontend_api_base;
    const char *fapi = clerk_url_origin(d->p, base[0] == '/' ? d->v->url : base);
    int proxied = strcmp(base, apr_pstrcat(d->p, "https://", d->s->instance_fapi, NULL)) != 0;

    if (!ref || !own || !strcmp(ref, own))
        return 0;                                       /* no Referer, or the same origin */
    if (fapi && !strcmp(clerk_url_origin_host(d->p, ref), clerk_url_origin_host(d->p, fapi)))
        return 0;                                       /* the Frontend API (or its proxy) */
    if (!b->production && clerk_url_dev_account_portal(d->p, clerk_url_origin_host(d->p, ref)))
        return 0;
    if (!proxied && !strcmp(ref, clerk_url_accounts_origin(d->p, d->s->instance_fapi)))
        return 0;                                       /* the instance's Account Portal */
    return 1;
}

/*
 * handleMaybeOrganizationSyncHandshake: whether a signed-in page names an
 * organization other than the session's active one (or the personal account
 * while one is active); Clerk's SDK skips it at the redirect-count limit.
 */
static int org_mismatch(browser_t *b, const clerk_claims_t *claims)
{
    clerk_org_sync_target_t t = org_target(b);
    int mismatch;

    if (!claims->user_id || t.type == CLERK_ORG_SYNC_NONE)
        return 0;
    mismatch = t.type == CLERK_ORG_SYNC_PERSONAL_ACCOUNT
        ? claims->org.id != NULL
        : (t.organization_slug && (!claims->org.slug || strcmp(t.organization_slug,
                                                              claims->org.slug)))
              || (t.organization_id && (!claims->org.id || strcmp(t.organization_id,
                                                                  claims->org.id)));
    if (mismatch && b->redirect_count >= CLERK_HANDSHAKE_MAX_REDIRECTS) {
        clerk_decision_warn(b->d, "organization activation handshake loop: the URL's "
                                  "organization is not activated (invalid id or slug?)");
        return 0;
    }
    return mismatch;
}

/* authenticateRequestWithTokenInCookie, after the handshake result and the sync flows. */
static void cookie_table(browser_t *b)
{
    clerk_decision_t *d = b->d;
    clerk_claims_t *claims;
    clerk_reason_t reason;
    apr_int64_t iat = 0;
    const char *why = NULL;

    if (!b->production && d->v->dev_browser)
        why = "dev-browser-sync";
    else if (!b->production && !b->dev_browser)
        why = "dev-browser-missing";
    else if (!b->uat && !b->session) {
        clerk_decision_signed_out(d, CLERK_SESSION_TOKEN_MISSING, "session-token-and-uat-missing",
                                  "no session cookies");
        return;
    }
    else if (!b->uat)
        why = "session-token-but-no-client-uat";
    else if (!b->session)
        why = "client-uat-but-no-session-token";
    if (why) {
        handshake(b, why, CLERK_SESSION_TOKEN_MISSING, NULL, NULL);
        return;
    }
    if (!clerk_decision_verify(d, b->session, d->s->accept_types & CLERK_TYPE_SESSION, -1,
                               "cookie", &claims, &reason))
        return;
    /*
     * The SDK's order: a token of another class; one issued before the
     * client's last change (its iat read without verifying, as the SDK
     * does; a token without one is not); then the verification's verdict.
     */
    if (claims && claims->has_iat)
        iat = claims->iat;
    else if (!peek_time(b, b->session, "iat", &iat))
        iat = b->uat;
    if (reason == CLERK_TOKEN_TYPE_MISMATCH)
        clerk_decision_signed_out(d, reason, NULL, "session cookie of another token class");
    else if (iat < b->uat)
        handshake(b, "session-token-iat-before-client-uat", CLERK_SESSION_TOKEN_MISSING, NULL,
                  NULL);
    else if (reason != CLERK_OK)
        session_error(b, b->session, reason, "cookie");
    /*
     * Clerk's cross-origin check: a page view on the primary domain that
     * came from another site (a satellite) syncs first, once.
     */
    else if (!d->s->satellite && document_get(d->v) && b->redirect_count == 0
             && foreign_referer(b))
        handshake(b, "primary-domain-cross-origin-sync", CLERK_OK,
                  "Cross-origin request from satellite domain requires handshake", NULL);
    else if (org_mismatch(b, claims) && clerk_decision_navigation(d->v)) {
        handshake(b, "active-organization-mismatch", CLERK_OK, NULL, NULL);
    }
    else
        clerk_decision_signed_in(d, claims);
}

void clerk_browser_flow(clerk_decision_t *d)
{
    clerk_claims_t *claims = NULL;
    clerk_reason_t reason = CLERK_OK;
    const char *token;
    apr_size_t len;
    browser_t b;

    read_request(&b, d);
    switch (clerk_bearer_token(d->v->authorization, &token, &len)) {
    case CLERK_CARRIER_TOKEN:
        if (clerk_opaque_token_type(token)) {
            clerk_decision_opaque(d, token, clerk_opaque_token_type(token), d->s->accept_types,
                                  "header");
            return;
        }
        b.header_token = token;
        if (!clerk_decision_verify(d, token, d->s->accept_types, -1, "header", &claims, &reason))
            return;
        if (reason == CLERK_OK)
            clerk_decision_signed_in(d, claims);
        else
            session_error(&b, token, reason, "header");
        return;
    case CLERK_CARRIER_MALFORMED:
        clerk_decision_signed_out(d, CLERK_TOKEN_INVALID, NULL, "malformed Authorization header");
        return;
    default:
        break;
    }
    if (handshake_result(&b) || sync_flows(&b))
        return;
    cookie_table(&b);
}
