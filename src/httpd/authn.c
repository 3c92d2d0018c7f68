/*
 * AuthType Clerk in httpd: the request's view and its section's settings
 * go to the core's decision (clerk_authenticate_request), which asks back
 * here for what needs this process (keys, the token cache, the Backend API);
 * its outcome is then applied: signed in (REMOTE_USER, the CLERK_* variables
 * or X-Clerk-* headers), signed out (401 with WWW-Authenticate, a redirect,
 * or anonymous access), a handshake redirect, or 503.  A subrequest or
 * internal redirect re-uses the verification of its request when it would
 * be the same.
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

/* Whether t has an entry whose name starts with prefix (case-insensitive, as apr_table). */
static int has_prefixed(const apr_table_t *t, const char *prefix)
{
    const apr_array_header_t *a = apr_table_elts(t);
    const apr_table_entry_t *e = (const apr_table_entry_t *)a->elts;
    apr_size_t n = strlen(prefix);

    for (int i = 0; i < a->nelts; i++)
        if (e[i].key && !strncasecmp(e[i].key, prefix, n))
            return 1;
    return 0;
}

/* CLERK_* variables (env names CLERK_*, header names X-Clerk-*: clerk_export.c) */
static void export_claims(request_rec *r, const clerk_dir_conf *c, clerk_request_state *st)
{
    int how = c->pass_claims_as ? c->pass_claims_as : PASS_ENV;
    const apr_array_header_t *vars;
    int env_add, hdr_add;

    if (st->exported || how == PASS_NONE)
        return;
    st->exported = 1;
    vars = st->vars ? st->vars : clerk_export_vars(r->pool, st->claims);
    /* no earlier value to replace: add (setn compares each name with every CLERK_* entry) */
    env_add = (how & PASS_ENV) && !has_prefixed(r->subprocess_env, "CLERK_");
    hdr_add = (how & PASS_HEADERS) && !has_prefixed(r->headers_in, "X-Clerk-");
    for (int i = 0; i < vars->nelts; i++) {
        const clerk_var_t *v = &APR_ARRAY_IDX(vars, i, clerk_var_t);
        if (how & PASS_ENV)
            (env_add ? apr_table_addn : apr_table_setn)(r->subprocess_env, v->env, v->value);
        if (how & PASS_HEADERS) {
            if (clerk_export_header_safe(v->value))
                (hdr_add ? apr_table_addn : apr_table_setn)(r->headers_in, v->header, v->value);
            else
                ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, CLERKNO(003)
                              "not passing %s as a header: control characters", v->header);
        }
    }
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

const clerk_request_state *mac_earlier_state(const request_rec *r)
{
    return mac_request_state(r->main ? r->main : r->prev);
}

void mac_adopt(clerk_request_state *st, const clerk_request_state *earlier)
{
    st->claims = earlier->claims;
    st->vars = earlier->vars;
}

/* The section's settings as the core's decision takes them, defaults applied. */
static void auth_settings(apr_pool_t *p, const clerk_dir_conf *c, clerk_auth_settings_t *s)
{
    const clerk_publishable_key_t *key = c->instance.key;

    memset(s, 0, sizeof(*s));
    s->sources = c->sources ? (unsigned)c->sources : CLERK_FROM_HEADER | CLERK_FROM_COOKIE;
    s->signed_out = c->signed_out_action == SIGNED_OUT_PASS ? CLERK_SIGNED_OUT_PASS
                    : c->signed_out_action == SIGNED_OUT_REDIRECT ? CLERK_SIGNED_OUT_REDIRECT
                    : c->signed_out_action == SIGNED_OUT_HANDSHAKE ? CLERK_SIGNED_OUT_HANDSHAKE
                                                                   : CLERK_SIGNED_OUT_DENY;
    s->sign_in_url = c->sign_in_url;
    s->remote_user_claim = c->remote_user_claim;
    s->instance = key;
    s->session_cookie = c->instance.session_cookie;
    s->uat_cookie = c->instance.uat_cookie;
    if (key) {
        /* derived when the configuration is read, not per request */
        s->instance_fapi = c->satellite_id ? c->satellite_id->frontend_api : key->frontend_api;
        s->frontend_api_base = c->proxy_url ? c->proxy_url
                               : c->satellite_id ? c->satellite_id->frontend_api_base
                                                 : c->instance.frontend_api_base;
    }
    s->has_secret = c->backend_api != NULL;
    s->has_machine_secret = c->machine_secret != NULL;
    s->satellite = c->satellite == 1;
    s->satellite_sign_in_url = c->satellite_sign_in_url;
    s->satellite_auto_sync = c->satellite_auto_sync == 1;
    s->authorized_parties = c->authorized_parties ? c->authorized_parties->values : NULL;
    s->org_sync = c->org_sync.organization || c->org_sync.personal ? &c->org_sync : NULL;
}

/* ---- what the decision asks of this process (clerk_auth_ops_t) ---- */


static clerk_step_t ask_verify_jwt(void *ctx, const char *token, unsigned accept_types,
                                   apr_int64_t clock_skew, const char *carrier,
                                   clerk_claims_t **claims, clerk_reason_t *reason,
                                   apr_int64_t *retry_after)
{
    mac_ask *a = ctx;
    clerk_step_t step = mac_verify_jwt(a->r, a->c, a->st, token, accept_types, clock_skew,
                                       carrier, reason, retry_after);
    *claims = a->st->claims;
    return step;
}

static clerk_step_t ask_check_opaque(void *ctx, const char *token, clerk_token_type_t type,
                                     const char *carrier, clerk_claims_t **claims,
                                     clerk_reason_t *reason, apr_int64_t *retry_after)
{
    mac_ask *a = ctx;
    return mac_check_opaque(a->r, a->c, a->st, token, type, carrier, claims, reason,
                            retry_after);
}

clerk_step_t mac_ask_acquire_keys(void *ctx, const clerk_keyset_t **keys, void **hold,
                                  apr_int64_t *retry_after)
{
    mac_ask *a = ctx;
    keys_in_use *k = apr_palloc(a->r->pool, sizeof(*k));
    clerk_step_t step = mac_acquire_keys(a->r, a->c, k, apr_time_now(), retry_after);

    *keys = k->keys;
    *hold = k;
    return step;
}

void mac_ask_release_keys(void *ctx, void *hold)
{
    mac_release_keys(hold);
}

static clerk_step_t ask_refresh_session(void *ctx, const char *expired_token,
                                        const char *refresh_token, int suffixed_cookies,
                                        clerk_refresh_result_t *result,
                                        apr_int64_t *retry_after)
{
    mac_ask *a = ctx;
    return mac_refresh_session(a->r, a->c, expired_token, refresh_token, suffixed_cookies,
                               result, retry_after);
}

static clerk_step_t ask_exchange_nonce(void *ctx, const char *nonce,
                                       apr_array_header_t **directives, const char **detail,
                                       apr_int64_t *retry_after)
{
    mac_ask *a = ctx;
    return mac_exchange_nonce(a->r, a->c, nonce, directives, detail, retry_after);
}

/* ---- applying the outcome ---- */

/* X-Clerk-Auth-Status, -Reason and -Message (ClerkDebugHeaders On), as Clerk's SDK sets them. */
static void debug_headers(request_rec *r, const clerk_dir_conf *c, const char *status,
                          const clerk_auth_outcome_t *o)
{
    const char *reason = o->sdk_reason ? o->sdk_reason
                         : o->reason != CLERK_OK ? clerk_reason_str(o->reason) : NULL;

    if (c->debug_headers != 1)
        return;
    apr_table_setn(r->err_headers_out, "X-Clerk-Auth-Status", status);
    if (reason)
        apr_table_setn(r->err_headers_out, "X-Clerk-Auth-Reason", reason);
    if (o->message && clerk_export_header_safe(o->message))
        apr_table_setn(r->err_headers_out, "X-Clerk-Auth-Message", o->message);
}

static int redirect(request_rec *r, const char *location, int status)
{
    apr_table_setn(r->headers_out, "Location", location);
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    return status;
}

static int apply_outcome(request_rec *r, const clerk_dir_conf *c, clerk_request_state *st,
                         const clerk_auth_outcome_t *o)
{
    for (int i = 0; i < o->warnings->nelts; i++)
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, CLERKNO(027) "%s",
                      APR_ARRAY_IDX(o->warnings, i, const char *));
    for (int i = 0; i < o->set_cookies->nelts; i++)
        apr_table_addn(r->err_headers_out, "Set-Cookie",
                       APR_ARRAY_IDX(o->set_cookies, i, const char *));
    for (int i = 0; o->handshake_resolved && clerk_auth_cors_headers[i]; i += 2)
        apr_table_setn(r->err_headers_out, clerk_auth_cors_headers[i],
                       clerk_auth_cors_headers[i + 1]);
    st->reason = o->reason;
    st->claims = o->state == CLERK_AUTH_SIGNED_IN ? o->claims : NULL;
    st->handshake_session = o->handshake_session;
    mac_count_outcome(o);
    if (o->state != CLERK_AUTH_SIGNED_IN && o->detail)
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, CLERKNO(005) "%s: %s (%s)",
                      clerk_auth_state_name(o->state),
                      o->sdk_reason ? o->sdk_reason : clerk_reason_str(o->reason), o->detail);
    switch (o->state) {
    case CLERK_AUTH_SIGNED_IN:
        debug_headers(r, c, "signed-in", o);
        if (o->location)    /* a development handshake's result: to the clean URL first */
            return redirect(r, o->location, HTTP_TEMPORARY_REDIRECT);
        r->user = (char *)o->user;
        r->ap_auth_type = (char *)ap_auth_type(r);  /* AUTH_TYPE for CGI, as mod_auth_basic */
        export_claims(r, c, st);
        return OK;
    case CLERK_AUTH_HANDSHAKE:
        debug_headers(r, c, "handshake", o);
        return redirect(r, o->location, HTTP_TEMPORARY_REDIRECT);
    case CLERK_AUTH_UNAVAILABLE:
        if (o->reason != CLERK_OK)
            debug_headers(r, c, "signed-out", o);
        apr_table_setn(r->err_headers_out, "Retry-After",
                       apr_psprintf(r->pool, "%" APR_INT64_T_FMT, o->retry_after));
        return HTTP_SERVICE_UNAVAILABLE;
    case CLERK_AUTH_BROKEN:
        return HTTP_INTERNAL_SERVER_ERROR;
    default:
        break;
    }
    debug_headers(r, c, "signed-out", o);
    if (o->location && o->state != CLERK_AUTH_SIGN_IN_REDIRECT)
        return redirect(r, o->location, HTTP_TEMPORARY_REDIRECT);
    switch (o->state) {
    case CLERK_AUTH_ANONYMOUS:
        r->user = "";       /* Require valid-user passes, clerk-* providers deny */
        return OK;
    case CLERK_AUTH_SIGN_IN_REDIRECT:
        return redirect(r, o->location, HTTP_MOVED_TEMPORARILY);
    default:
        ap_note_auth_failure(r);
        return HTTP_UNAUTHORIZED;
    }
}

/*
 * The core's decision for r under c, asking ops: the view and settings built
 * here (st->opts set from c).  check_authn asks this process for everything;
 * an expression evaluated before it (expr.c) asks with ops of its own.
 */
void mac_decide(request_rec *r, const clerk_dir_conf *c, clerk_request_state *st,
                const clerk_auth_ops_t *ops, clerk_auth_outcome_t *outcome)
{
    clerk_auth_settings_t settings;
    clerk_request_view_t view;

    mac_effective_opts(c, &st->opts);
    auth_settings(r->pool, c, &settings);
    settings.accept_types = st->opts.accept_types;
    mac_request_view(r, c,
                     clerk_auth_is_browser(&settings)
                         || settings.signed_out == CLERK_SIGNED_OUT_REDIRECT,
                     &view);
    clerk_authenticate_request(r->pool, &view, &settings, ops, outcome);
}

/*
 * AuthType Clerk: build the view, decide in the core, apply the outcome.  A
 * verification an expression made earlier in this request is re-used where
 * it would be the same (mac_verify_jwt, mac_check_opaque).
 */
int mac_authenticate(request_rec *r)
{
    const clerk_dir_conf *c = ap_get_module_config(r->per_dir_config, &auth_clerk_module);
    clerk_request_state *st = apr_pcalloc(r->pool, sizeof(*st));
    mac_ask asked = { r, c, st };
    const clerk_auth_ops_t ops = {
        &asked, ask_verify_jwt, ask_check_opaque, mac_ask_acquire_keys, mac_ask_release_keys,
        ask_exchange_nonce, ask_refresh_session
    };
    clerk_auth_outcome_t outcome;

    ap_set_module_config(r->request_config, &auth_clerk_module, st);
    mac_decide(r, c, st, &ops, &outcome);
    return apply_outcome(r, c, st, &outcome);
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
