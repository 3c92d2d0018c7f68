/*
 * ClerkSignedOutAction handshake: browser sessions as Clerk's SDK runs them
 * (authenticateRequest): the Authorization header wins; otherwise a
 * handshake result, then the __session/__client_uat pair chosen by Clerk's
 * suffix rules and its decision table (src/clerk_handshake.c), acted on
 * here: signed in, signed out, or a 307 to the Frontend API handshake.
 */
#include "auth_clerk.h"

#include "apr_escape.h"
#include "apr_uri.h"

/*
 * The last element of a comma-separated header value, trimmed (NULL stays
 * NULL): the one the nearest proxy added.  A proxy that appends to
 * X-Forwarded-* (mod_proxy does) leaves whatever the client sent in front.
 */
static const char *last_value(apr_pool_t *p, const char *v)
{
    const char *comma;
    apr_size_t n;

    if (!v)
        return NULL;
    if ((comma = strrchr(v, ',')))
        v = comma + 1;
    v += strspn(v, " \t");
    n = strlen(v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    return apr_pstrndup(p, v, n);
}

/*
 * The URL the client asked for, as the client sees it: that of the initial
 * request, also in a subrequest or after an internal redirect (DirectoryIndex,
 * ErrorDocument, mod_rewrite).  With ClerkTrustForwardedHeaders On, the last
 * X-Forwarded-Proto and X-Forwarded-Host values (those of the nearest, trusted
 * proxy; Clerk's SDK takes the first) replace the scheme and the host, each on
 * its own (Clerk's SDK falls back to Host).
 */
const char *mac_public_url(request_rec *r, const clerk_dir_conf *c)
{
    const char *url, *proto, *host;
    int proto_ok, host_ok;

    while (r->main || r->prev)
        r = r->main ? r->main : r->prev;
    url = ap_construct_url(r->pool, r->unparsed_uri, r);
    if (c->trust_forwarded != 1)
        return url;
    proto = apr_table_get(r->headers_in, "X-Forwarded-Proto");
    host = apr_table_get(r->headers_in, "X-Forwarded-Host");
    proto = last_value(r->pool, proto);
    host = last_value(r->pool, host);
    proto_ok = proto && (!strcasecmp(proto, "https") || !strcasecmp(proto, "http"));
    /* Only plain host[:port] values: no header can inject a path. */
    host_ok = host && *host
              && strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              "0123456789.-:[]") == strlen(host);
    if (!proto_ok && !host_ok)
        return url;
    if (!host_ok) {
        const char *own = strstr(url, "://") + 3;   /* scheme://host[:port]/path */
        host = apr_pstrndup(r->pool, own, strcspn(own, "/"));
    }
    return apr_pstrcat(r->pool,
                       !proto_ok ? ap_http_scheme(r) : strcasecmp(proto, "https") ? "http" : "https",
                       "://", host, r->unparsed_uri, NULL);
}

/* The host of the public URL (what the browser's cookies are scoped to). */
static const char *public_host(request_rec *r, const clerk_dir_conf *c)
{
    apr_uri_t uri;

    if (apr_uri_parse(r->pool, mac_public_url(r, c), &uri) != APR_SUCCESS || !uri.hostname)
        return r->hostname;
    return uri.hostname;
}

int mac_navigation(const request_rec *r)
{
    return clerk_handshake_eligible(r->method, apr_table_get(r->headers_in, "Sec-Fetch-Dest"),
                                    apr_table_get(r->headers_in, "Accept"));
}

static const char *cookie(request_rec *r, const char *name)
{
    const char *v;
    apr_size_t len;
    return clerk_cookie_value(r->pool, apr_table_get(r->headers_in, "Cookie"), name, &v, &len)
        == CLERK_CARRIER_TOKEN ? v : NULL;
}

/* 307 to the Frontend API handshake, with Clerk's loop guard. */
static int handshake_redirect(request_rec *r, const clerk_dir_conf *c, clerk_request_state *st,
                              const char *why, int suffixed, clerk_reason_t fallback)
{
    apr_int64_t count = clerk_client_uat(cookie(r, "__clerk_redirect_count"));
    const char *base = c->proxy_url
        ? c->proxy_url : apr_pstrcat(r->pool, "https://", c->instance.key->frontend_api, NULL);

    if (!mac_navigation(r) || !c->instance.key->production
        || count >= CLERK_HANDSHAKE_MAX_REDIRECTS) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, CLERKNO(025)
                      "no handshake (%s): %s", why,
                      !mac_navigation(r) ? "not a mac_navigation request"
                      : !c->instance.key->production ? "development instance"
                                                        : "redirect loop guard");
        return mac_signed_out(r, c, st, fallback);
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, CLERKNO(026) "handshake: %s", why);
    apr_table_setn(r->headers_out, "Location",
                   clerk_handshake_location(r->pool, base, mac_public_url(r, c), why, suffixed));
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    apr_table_addn(r->err_headers_out, "Set-Cookie",
                   apr_psprintf(r->pool, "__clerk_redirect_count=%" APR_INT64_T_FMT
                                "; SameSite=Lax; HttpOnly; Max-Age=2", count + 1));
    if (c->debug_headers == 1) {
        apr_table_setn(r->err_headers_out, "X-Clerk-Auth-Status", "handshake");
        apr_table_setn(r->err_headers_out, "X-Clerk-Auth-Reason", why);
    }
    return HTTP_TEMPORARY_REDIRECT;
}

/*
 * A handshake result came back (a nonce, or a signed handshake token, in the
 * query or a cookie): set its cookies and continue with the session it
 * carries.  DECLINED when there is none or it cannot be resolved (then the
 * ordinary cookie flow runs, as Clerk's SDK does in production).
 */
static int handshake_result(request_rec *r, const clerk_dir_conf *c, clerk_request_state *st)
{
    clerk_server_conf *sc = ap_get_module_config(r->server->module_config, &auth_clerk_module);
    const clerk_request_state *earlier = mac_earlier_state(r);
    const handshake_params *hp = mac_handshake_params(r);
    const char *nonce = NULL, *hs = NULL;
    apr_array_header_t *directives = NULL, *dropped;
    const char *detail = NULL, *session;
    clerk_reason_t reason;
    int rv;

    if (earlier && earlier->handshake_session) {
        /*
         * A subrequest or internal redirect (DirectoryIndex index.php,
         * ErrorDocument) of a request that resolved a handshake: the browser
         * still sent its old cookies; the session is the one just set.
         */
        if ((rv = mac_verify_jwt(r, c, st, earlier->handshake_session, "handshake", &reason)) != OK)
            return rv;
        if (reason == CLERK_OK) {
            st->handshake_session = earlier->handshake_session;
            return mac_signed_in(r, c, st);
        }
        /* not valid here (another instance's section): the ordinary flow decides */
    }
    /*
     * As Clerk's SDK: a nonce (query, then cookie) before a handshake token.
     * Stricter than the SDK, a nonce counts only on a page view (where a
     * handshake redirect lands): exchanging it costs a Backend API call,
     * which no other request may make anyone spend.
     */
    if (mac_navigation(r) && !(nonce = hp ? hp->nonce : NULL))
        nonce = cookie(r, "__clerk_handshake_nonce");
    if (!nonce && !(hs = hp ? hp->handshake : NULL) && !(hs = cookie(r, "__clerk_handshake")))
        return DECLINED;
    if (hs) {
        keys_in_use k;
        if ((rv = mac_acquire_keys(r, c, &k, apr_time_now())) != OK)
            return rv;
        reason = clerk_handshake_token_directives(r->pool, hs, k.keys, &directives, &detail);
        mac_release_keys(&k);
        if (reason != CLERK_OK)
            detail = apr_pstrcat(r->pool, clerk_reason_str(reason), ": ", detail, NULL);
    }
    else if (!c->backend_api || !sc->backend_api)
        detail = "a handshake nonce needs ClerkSecretKey";
    else if ((rv = mac_exchange_nonce(r, c, nonce, &directives, &detail)) != OK)
        return rv;
    if (!directives) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, CLERKNO(027)
                      "handshake result not usable, continuing with the cookies: %s", detail);
        return DECLINED;
    }
    /*
     * Only the cookies Clerk's handshake sets, for this host or a parent
     * domain of it: a handshake payload (signed, or from the Backend API)
     * never sets any other.  Clerk's SDK sets whatever it is given.
     */
    dropped = apr_array_make(r->pool, 0, sizeof(const char *));
    directives = clerk_handshake_allowed_cookies(r->pool, directives, public_host(r, c), dropped);
    for (int i = 0; i < dropped->nelts; i++)
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, CLERKNO(037)
                      "handshake directive not set: %s", APR_ARRAY_IDX(dropped, i, const char *));
    session = clerk_handshake_session(r->pool, directives);
    for (int i = 0; i < directives->nelts; i++)
        apr_table_addn(r->err_headers_out, "Set-Cookie", APR_ARRAY_IDX(directives, i, const char *));
    if (!session) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, CLERKNO(028)
                      "handshake set no session: signed out");
        return mac_signed_out(r, c, st, CLERK_SESSION_TOKEN_MISSING);
    }
    st->handshake_session = session;
    if ((rv = mac_verify_jwt(r, c, st, session, "handshake", &reason)) != OK)
        return rv;
    return reason == CLERK_OK ? mac_signed_in(r, c, st) : mac_signed_out(r, c, st, reason);
}

/* Act on Clerk's decision for a session. */
static int act(request_rec *r, const clerk_dir_conf *c, clerk_request_state *st,
               clerk_session_decision_t d, int suffixed)
{
    switch (d.state) {
    case CLERK_SESSION_SIGNED_IN:
        return mac_signed_in(r, c, st);
    case CLERK_SESSION_HANDSHAKE:
        st->claims = NULL;
        return handshake_redirect(r, c, st, d.handshake_reason, suffixed, d.reason);
    default:
        return mac_signed_out(r, c, st, d.reason);
    }
}

/* The session cookies of the request; whether Clerk reads the suffixed pair. */
static int session_cookies(request_rec *r, const clerk_dir_conf *c, clerk_session_cookies_t *ck)
{
    ck->session = cookie(r, SESSION_COOKIE);
    ck->session_suffixed = cookie(r, c->instance.session_cookie);
    ck->client_uat = cookie(r, "__client_uat");
    ck->client_uat_suffixed = cookie(r, c->instance.uat_cookie);
    return clerk_use_suffixed_cookies(r->pool, ck, c->instance.key->frontend_api,
                                      c->instance.key->production);
}

/* One request of a browser-session section, in the order the file comment gives. */
int mac_browser_session(request_rec *r, const clerk_dir_conf *c, clerk_request_state *st)
{
    clerk_session_cookies_t ck;
    clerk_session_decision_t d;
    const char *token, *session;
    apr_size_t len;
    clerk_reason_t reason = CLERK_OK;
    int suffixed, rv;
    apr_int64_t uat;

    switch (clerk_bearer_token(apr_table_get(r->headers_in, "Authorization"), &token, &len)) {
    case CLERK_CARRIER_TOKEN:
        if (clerk_opaque_token_type(token))
            return mac_check_opaque(r, c, st, token, clerk_opaque_token_type(token), "header");
        if ((rv = mac_verify_jwt(r, c, st, token, "header", &reason)) != OK)
            return rv;
        d = clerk_header_session_decision(reason);
        /* the handshake reports the cookie pair in use, as Clerk's SDK does */
        return act(r, c, st, d,
                   d.state == CLERK_SESSION_HANDSHAKE && session_cookies(r, c, &ck));
    case CLERK_CARRIER_MALFORMED:
        return mac_signed_out(r, c, st, CLERK_TOKEN_INVALID);
    default:
        break;
    }
    if ((rv = handshake_result(r, c, st)) != DECLINED)
        return rv;

    st->opts.accept_types &= CLERK_TYPE_SESSION;    /* cookies carry sessions only */
    suffixed = session_cookies(r, c, &ck);
    session = suffixed ? ck.session_suffixed : ck.session;
    uat = clerk_client_uat(suffixed ? ck.client_uat_suffixed : ck.client_uat);
    if (session && (rv = mac_verify_jwt(r, c, st, session, "cookie", &reason)) != OK)
        return rv;
    return act(r, c, st,
               clerk_cookie_session_decision(session, uat, reason,
                                             st->claims && st->claims->has_iat,
                                             st->claims ? st->claims->iat : 0),
               suffixed);
}
