/*
 * AuthType Clerk: find the token (Authorization header, else the session
 * cookie), verify it (a JWT locally, through the token cache; an opaque
 * token through backend_api.c), and answer: signed in (REMOTE_USER, the
 * CLERK_* variables or X-Clerk-* headers) or signed out (401, a redirect or
 * anonymous access, by ClerkSignedOutAction), with WWW-Authenticate from
 * what was found.  A subrequest or internal redirect re-uses the decision of
 * its request when it would be the same.
 */
#include "auth_clerk.h"

#include "apr_escape.h"

int mac_is_clerk_request(request_rec *r)
{
    const char *type = ap_auth_type(r);
    return type && !strcasecmp(type, AUTH_TYPE_NAME);
}

clerk_request_state *mac_request_state(const request_rec *r)
{
    return r ? ap_get_module_config(r->request_config, &auth_clerk_module) : NULL;
}

static void export_claims(request_rec *r, const clerk_dir_conf *c, clerk_request_state *st)
{
    int how = c->pass_claims_as ? c->pass_claims_as : PASS_ENV;
    const apr_array_header_t *vars;

    if (st->exported || how == PASS_NONE)
        return;
    st->exported = 1;
    vars = st->vars ? st->vars : clerk_export_vars(r->pool, st->claims);
    for (int i = 0; i < vars->nelts; i++) {
        const clerk_var_t *v = &APR_ARRAY_IDX(vars, i, clerk_var_t);
        if (how & PASS_ENV)
            apr_table_setn(r->subprocess_env, v->env, v->value);
        if (how & PASS_HEADERS) {
            if (clerk_export_header_safe(v->value))
                apr_table_setn(r->headers_in, v->header, v->value);
            else
                ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, CLERKNO(003)
                              "not passing %s as a header: control characters", v->header);
        }
    }
}

void mac_set_debug_headers(request_rec *r, const clerk_dir_conf *c, const char *status,
                              clerk_reason_t reason)
{
    if (c->debug_headers != 1)
        return;
    apr_table_setn(r->err_headers_out, "X-Clerk-Auth-Status", status);
    if (reason != CLERK_OK)
        apr_table_setn(r->err_headers_out, "X-Clerk-Auth-Reason", clerk_reason_str(reason));
}

/* Two string lists with the same values in the same order (NULL: empty). */
int mac_same_strings(const apr_array_header_t *x, const apr_array_header_t *y)
{
    int nx = x ? x->nelts : 0, ny = y ? y->nelts : 0;

    if (nx != ny)
        return 0;
    for (int k = 0; k < nx; k++)
        if (strcmp(APR_ARRAY_IDX(x, k, const char *), APR_ARRAY_IDX(y, k, const char *)))
            return 0;
    return 1;
}

/* Whether two verifications would decide alike: same token, keys and rules. */
static int same_verification(const clerk_request_state *a, const char *token,
                             const void *key_source, const clerk_verify_opts_t *o)
{
    const clerk_verify_opts_t *p = &a->opts;

    return a->claims && !strcmp(a->token, token) && a->key_source == key_source
           && p->clock_skew == o->clock_skew && p->allow_pending == o->allow_pending
           && p->accept_types == o->accept_types && mac_same_strings(p->issuers, o->issuers)
           && mac_same_strings(p->authorized_parties, o->authorized_parties)
           && mac_same_strings(p->audiences, o->audiences);
}

/* A kid fit for the log: printable ASCII only. */
static const char *loggable_kid(const char *kid)
{
    if (!kid)
        return "none";
    for (const unsigned char *s = (const unsigned char *)kid; *s; s++)
        if (*s < 0x21 || *s > 0x7e)
            return "(unprintable)";
    return kid;
}

/*
 * Find the token: the Authorization header wins when it carries one (even
 * an invalid one); otherwise the session cookie.  Returns NONE, TOKEN or
 * MALFORMED; *carrier names where it came from for the log.
 */
clerk_carrier_t mac_find_token(request_rec *r, const clerk_dir_conf *c, unsigned accept,
                                  const char **token, apr_size_t *len, const char **carrier)
{
    int sources = c->sources ? c->sources : SOURCE_HEADER | SOURCE_COOKIE;

    /* Machine tokens travel only in the Authorization header, never in cookies. */
    if (!(accept & CLERK_TYPE_SESSION))
        sources &= ~SOURCE_COOKIE;
    clerk_carrier_t found = CLERK_CARRIER_NONE;
    const char *cookies;

    if (sources & SOURCE_HEADER) {
        *carrier = "header";
        found = clerk_bearer_token(apr_table_get(r->headers_in, "Authorization"), token, len);
        if (found != CLERK_CARRIER_NONE)
            return found;
    }
    if (!(sources & SOURCE_COOKIE) || !(cookies = apr_table_get(r->headers_in, "Cookie")))
        return CLERK_CARRIER_NONE;
    *carrier = "cookie";
    if (c->instance.session_cookie) {
        found = clerk_cookie_value(r->pool, cookies, c->instance.session_cookie, token, len);
        if (found != CLERK_CARRIER_NONE)
            return found;
    }
    return clerk_cookie_value(r->pool, cookies, SESSION_COOKIE, token, len);
}

int mac_signed_out(request_rec *r, const clerk_dir_conf *c, clerk_request_state *st,
                      clerk_reason_t reason)
{
    st->reason = reason;
    mac_set_debug_headers(r, c, "signed-out", reason);
    if (c->signed_out_action == SIGNED_OUT_PASS) {
        /* Anonymous: Require valid-user passes, clerk-* providers deny. */
        r->user = "";
        return OK;
    }
    if (c->signed_out_action == SIGNED_OUT_REDIRECT && mac_navigation(r)) {
        /* A page view goes to the sign-in page, which sends the user back. */
        apr_table_setn(r->headers_out, "Location",
                       apr_pstrcat(r->pool, c->sign_in_url,
                                   strchr(c->sign_in_url, '?') ? "&" : "?", "redirect_url=",
                                   apr_pescape_urlencoded(r->pool, mac_public_url(r, c)), NULL));
        apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
        return HTTP_MOVED_TEMPORARILY;
    }
    ap_note_auth_failure(r);
    return HTTP_UNAUTHORIZED;
}

const clerk_request_state *mac_earlier_state(const request_rec *r)
{
    return mac_request_state(r->main ? r->main : r->prev);
}

void mac_adopt(clerk_request_state *st, const clerk_request_state *earlier)
{
    st->claims = earlier->claims;
    st->vars = earlier->vars;
}

int mac_unavailable(request_rec *r, apr_int64_t retry_seconds)
{
    apr_table_setn(r->err_headers_out, "Retry-After",
                   apr_psprintf(r->pool, "%" APR_INT64_T_FMT,
                                retry_seconds > 0 ? retry_seconds : 1));
    return HTTP_SERVICE_UNAVAILABLE;
}

int mac_signed_in(request_rec *r, const clerk_dir_conf *c, clerk_request_state *st)
{
    const char *user, *detail;
    clerk_reason_t reason = clerk_export_remote_user_decision(r->pool, st->claims,
                                                              c->remote_user_claim, &user,
                                                              &detail);

    if (reason != CLERK_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, CLERKNO(004) "token rejected: %s (%s)",
                      clerk_reason_str(reason), detail);
        st->claims = NULL;
        return mac_signed_out(r, c, st, reason);
    }
    st->reason = CLERK_OK;
    r->user = (char *)user;
    r->ap_auth_type = (char *)ap_auth_type(r);  /* AUTH_TYPE for CGI, as mod_auth_basic */
    mac_set_debug_headers(r, c, "signed-in", CLERK_OK);
    export_claims(r, c, st);
    return OK;
}

/*
 * The token cache key: the token under everything that decides its
 * verification (key source, issuers, parties, audiences, skew, types).
 */
static int token_cache_key(const clerk_dir_conf *c, const static_keyset *fixed,
                            const clerk_jwks_cache_t *cache, const clerk_verify_opts_t *o,
                            const char *token, apr_size_t len, unsigned char *key)
{
    struct {
        unsigned char keys[CLERK_TOKEN_CACHE_KEY_LEN];
        apr_uint64_t cache;                 /* unique in the process, never reused */
        unsigned char issuers[CLERK_TOKEN_CACHE_KEY_LEN];
        unsigned char parties[CLERK_TOKEN_CACHE_KEY_LEN];
        unsigned char audiences[CLERK_TOKEN_CACHE_KEY_LEN];
        apr_int64_t skew;
        unsigned types;
        int allow_pending;
    } ctx;
    /* the list the options were decided from (clerk_verify_opts_from_settings), with its digest */
    const string_list *issuers = c->issuers && o->issuers == c->issuers->values ? c->issuers
        : c->instance.issuer && o->issuers == c->instance.issuer->values ? c->instance.issuer
                                                                          : NULL;

    memset(&ctx, 0, sizeof(ctx));
    if (fixed)
        memcpy(ctx.keys, fixed->digest, sizeof(ctx.keys));
    ctx.cache = cache ? clerk_jwks_cache_id(cache) : 0;
    if (issuers)
        memcpy(ctx.issuers, issuers->digest, sizeof(ctx.issuers));
    if (c->authorized_parties)
        memcpy(ctx.parties, c->authorized_parties->digest, sizeof(ctx.parties));
    if (c->audiences)
        memcpy(ctx.audiences, c->audiences->digest, sizeof(ctx.audiences));
    ctx.skew = o->clock_skew;
    ctx.types = o->accept_types;
    ctx.allow_pending = o->allow_pending;
    return clerk_token_cache_key(token, len, &ctx, sizeof(ctx), key);
}

/* Take claims and variables from a token cache entry, held until the request ends. */
void mac_use_cached(request_rec *r, clerk_request_state *st, clerk_token_cache_t *tokens,
                       clerk_cached_token_t *entry)
{
    clerk_token_cache_release_on(r->pool, tokens, entry);
    st->claims = (clerk_claims_t *)clerk_cached_token_claims(entry);
    st->vars = clerk_cached_token_vars(entry);
}

/*
 * Verify a JWT for this request, through the token cache.  Returns OK with
 * *reason set (st->claims on success), or an HTTP status when no decision
 * can be made (keys unavailable).
 */
int mac_verify_jwt(request_rec *r, const clerk_dir_conf *c, clerk_request_state *st,
                      const char *token, const char *carrier, clerk_reason_t *reason)
{
    clerk_server_conf *sc = ap_get_module_config(r->server->module_config, &auth_clerk_module);
    apr_size_t len = strlen(token);
    clerk_token_cache_t *cache = sc->token_cache;
    apr_time_t now = apr_time_now();
    const clerk_request_state *earlier = mac_earlier_state(r);
    unsigned char key[CLERK_TOKEN_CACHE_KEY_LEN];
    clerk_cached_token_t *entry;
    clerk_verify_result_t res;
    keys_in_use k;
    int rv;

    st->token = token;
    st->claims = NULL;
    if ((rv = mac_acquire_keys(r, c, &k, now)) != OK)
        return rv;
    st->key_source = k.fixed ? (const void *)k.fixed->keys : (const void *)k.cache;

    /* A subrequest or internal redirect re-uses an identical verification. */
    if (earlier && same_verification(earlier, token, st->key_source, &st->opts)) {
        mac_release_keys(&k);
        mac_adopt(st, earlier);
        *reason = CLERK_OK;
        return OK;
    }
    if (cache && !token_cache_key(c, k.fixed, k.cache, &st->opts, token, len, key))
        cache = NULL;       /* out of memory: verify without the cache */
    if (cache && (entry = clerk_token_cache_get(cache, key, k.generation, apr_time_sec(now)))) {
        mac_release_keys(&k);
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, "verified token found in the cache");
        mac_use_cached(r, st, cache, entry);
        *reason = CLERK_OK;
        return OK;
    }
    clerk_verify_token(r->pool, token, len, k.keys, &st->opts, apr_time_sec(now), &res);
    mac_release_keys(&k);
    if (res.reason == CLERK_JWK_KID_MISMATCH && k.cache && clerk_jwks_cache_kid_miss(k.cache, now))
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, CLERKNO(013)
                      "unknown kid %s: asked for a key set refresh", loggable_kid(res.kid));
    *reason = res.reason;
    if (res.reason != CLERK_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, CLERKNO(008)
                      "token rejected: %s (%s; kid %s; from %s)", clerk_reason_str(res.reason),
                      res.detail ? res.detail : "-", loggable_kid(res.kid), carrier);
        return OK;
    }
    if (cache && clerk_token_cache_admit(cache, key)
        && (entry = clerk_token_cache_put(cache, key, k.generation,
                                          res.claims->exp + st->opts.clock_skew, res.claims,
                                          clerk_export_vars(r->pool, res.claims))))
        mac_use_cached(r, st, cache, entry);
    else
        st->claims = res.claims;
    return OK;
}

/*
 * Subrequests and internal redirects that this module did not decide: when
 * httpd skipped authentication because the configuration is the parent's, it
 * copied r->user; give that request the same variables too (an ErrorDocument
 * CGI or an SSI include sees CLERK_*).  Any other (another section, with or
 * without AuthType Clerk) gets nothing of the parent's (mac_clean_slate).
 */
int mac_fixups(request_rec *r)
{
    const request_rec *parent = r->main ? r->main : r->prev;
    const clerk_request_state *earlier;
    clerk_request_state *st;

    if (mac_request_state(r) || !parent)
        return DECLINED;
    mac_clean_slate(r);
    earlier = mac_earlier_state(r);
    if (!r->user || !mac_is_clerk_request(r) || parent->per_dir_config != r->per_dir_config
        || !earlier || !earlier->claims)
        return DECLINED;
    st = apr_pmemdup(r->pool, earlier, sizeof(*st));
    st->exported = 0;
    ap_set_module_config(r->request_config, &auth_clerk_module, st);
    export_claims(r, ap_get_module_config(r->per_dir_config, &auth_clerk_module), st);
    return DECLINED;
}

/* Quote a realm for a header parameter: backslash-escape '"' and '\'. */
static const char *quoted(apr_pool_t *p, const char *s)
{
    char *out = apr_palloc(p, strlen(s) * 2 + 1), *d = out;
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            continue;
        if (*s == '"' || *s == '\\')
            *d++ = '\\';
        *d++ = *s;
    }
    *d = '\0';
    return out;
}

/* WWW-Authenticate for 401s (RFC 6750 §3), from what check_authn found. */
int mac_note_auth_failure(request_rec *r, const char *auth_type)
{
    const clerk_request_state *st;
    const char *realm, *header;

    if (!auth_type || strcasecmp(auth_type, AUTH_TYPE_NAME))
        return DECLINED;
    st = mac_request_state(r);
    realm = quoted(r->pool, ap_auth_name(r) ? ap_auth_name(r) : AUTH_TYPE_NAME);
    if (st && st->claims && st->reason == CLERK_OK)
        header = apr_psprintf(r->pool, "Bearer realm=\"%s\", error=\"insufficient_scope\"", realm);
    else if (st && st->reason != CLERK_OK && st->reason != CLERK_SESSION_TOKEN_MISSING)
        header = apr_psprintf(r->pool, "Bearer realm=\"%s\", error=\"invalid_token\", "
                              "error_description=\"%s\"", realm, clerk_reason_str(st->reason));
    else
        header = apr_psprintf(r->pool, "Bearer realm=\"%s\"", realm);
    apr_table_setn(r->err_headers_out, (PROXYREQ_PROXY == r->proxyreq) ? "Proxy-Authenticate"
                                                                       : "WWW-Authenticate",
                   header);
    return OK;
}
