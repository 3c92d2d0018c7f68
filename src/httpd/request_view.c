/*
 * The request as the core's decision sees it (clerk_request_view_t): plain
 * strings taken from httpd's request, among them the public URL as the
 * client sees it, which a handshake and the sign-in redirect send the
 * browser back to.
 */
#include "auth_clerk.h"

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
static const char *public_url(request_rec *r, const clerk_dir_conf *c)
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
static const char *public_host(request_rec *r, const char *url)
{
    apr_uri_t uri;

    if (apr_uri_parse(r->pool, url, &uri) != APR_SUCCESS || !uri.hostname)
        return r->hostname;
    return uri.hostname;
}

/*
 * The view of r.  with_url: whether the decision may need the public URL and
 * host (a browser section, a sign-in redirect), which cost a little to build.
 */
void mac_request_view(request_rec *r, const clerk_dir_conf *c, int with_url,
                      clerk_request_view_t *v)
{
    const clerk_request_state *earlier = mac_earlier_state(r);
    const handshake_params *hp = mac_handshake_params(r);

    memset(v, 0, sizeof(*v));
    v->method = r->method;
    v->now = apr_time_sec(apr_time_now());
    v->authorization = apr_table_get(r->headers_in, "Authorization");
    v->cookies = apr_table_get(r->headers_in, "Cookie");
    v->sec_fetch_dest = apr_table_get(r->headers_in, "Sec-Fetch-Dest");
    v->accept = apr_table_get(r->headers_in, "Accept");
    v->referer = apr_table_get(r->headers_in, "Referer");
    if (hp) {
        v->handshake = hp->handshake;
        v->handshake_nonce = hp->nonce;
        v->dev_browser = hp->dev_browser;
    }
    v->earlier_handshake_session = earlier ? earlier->handshake_session : NULL;
    if (with_url) {
        v->url = public_url(r, c);
        v->host = public_host(r, v->url);
    }
}
