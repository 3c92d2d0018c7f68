/*
 * mod_auth_clerk: Apache httpd 2.4 authentication and authorization with
 * Clerk tokens.
 *
 * This file is the module itself: its record, its hooks, its life cycle and
 * the check_authn dispatch.  The rest of the httpd glue is in src/httpd/,
 * one concern a file (src/httpd/auth_clerk.h lists them); everything that
 * decides about a token lives in the httpd-free core under src/, shared with
 * the clerk-jwt CLI and unit-tested on its own.
 */
#include "auth_clerk.h"

static int clerk_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    mac_config_begin(pconf);
    mac_key_sources_begin(pconf);
    return OK;
}

static int clerk_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                             server_rec *s)
{
    static int curl_ready;

    if (!curl_ready) {
        clerk_http_global_init();
        curl_ready = 1;
    }
    mac_config_end(s);
    if (mac_backend_api_post_config(pconf, s) != APR_SUCCESS
        || mac_key_sources_post_config(pconf, ptemp, s) != APR_SUCCESS)
        return HTTP_INTERNAL_SERVER_ERROR;
    for (server_rec *vs = s; vs; vs = vs->next) {
        clerk_server_conf *sc = ap_get_module_config(vs->module_config, &auth_clerk_module);
        sc->token_cache = clerk_token_cache_create(pconf, (unsigned)sc->token_cache_entries);
    }
    return OK;
}

static void clerk_child_init(apr_pool_t *pchild, server_rec *s)
{
    mac_key_sources_child_init(pchild, s);
    mac_backend_api_child_init(pchild, s);
    for (server_rec *vs = s; vs; vs = vs->next) {
        clerk_server_conf *sc = ap_get_module_config(vs->module_config, &auth_clerk_module);
        if (sc->token_cache && clerk_token_cache_child_init(sc->token_cache, pchild) != APR_SUCCESS)
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, CLERKNO(017)
                         "cannot set up the token cache");
    }
}

/*
 * AuthType Clerk: a browser-session section decides as Clerk's SDK does
 * (browser.c); any other takes the token where ClerkTokenSource says and
 * verifies it, locally for a JWT, through the Backend API for an opaque one.
 */
static int clerk_check_authn(request_rec *r)
{
    const clerk_dir_conf *c;
    clerk_request_state *st;
    const char *token = NULL, *carrier = "none";
    apr_size_t len = 0;
    clerk_carrier_t found;
    clerk_token_type_t opaque;
    clerk_reason_t reason;
    int rv;

    if (!mac_is_clerk_request(r))
        return DECLINED;
    mac_clean_slate(r);
    c = ap_get_module_config(r->per_dir_config, &auth_clerk_module);
    st = apr_pcalloc(r->pool, sizeof(*st));
    ap_set_module_config(r->request_config, &auth_clerk_module, st);
    mac_effective_opts(c, &st->opts);
    if (c->signed_out_action == SIGNED_OUT_HANDSHAKE && c->instance.key)
        return mac_browser_session(r, c, st);

    found = mac_find_token(r, c, st->opts.accept_types, &token, &len, &carrier);
    if (found == CLERK_CARRIER_NONE) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, CLERKNO(005)
                      "no token: session-token-missing");
        return mac_signed_out(r, c, st, CLERK_SESSION_TOKEN_MISSING);
    }
    if (found == CLERK_CARRIER_MALFORMED) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, CLERKNO(006)
                      "token rejected: token-invalid (malformed or repeated %s)", carrier);
        return mac_signed_out(r, c, st, CLERK_TOKEN_INVALID);
    }
    if (!strcmp(carrier, "cookie"))
        st->opts.accept_types &= CLERK_TYPE_SESSION;   /* a cookie only carries sessions */
    if ((opaque = clerk_opaque_token_type(token)))
        return mac_check_opaque(r, c, st, token, opaque, carrier);
    if ((rv = mac_verify_jwt(r, c, st, token, carrier, &reason)) != OK)
        return rv;
    return reason == CLERK_OK ? mac_signed_in(r, c, st) : mac_signed_out(r, c, st, reason);
}

static void register_hooks(apr_pool_t *p)
{
    ap_hook_pre_config(clerk_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(mac_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(clerk_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(clerk_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_read_request(mac_post_read_request, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_check_authn(clerk_check_authn, NULL, NULL, APR_HOOK_MIDDLE,
                        AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_fixups(mac_fixups, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_note_auth_failure(mac_note_auth_failure, NULL, NULL, APR_HOOK_MIDDLE);
    mac_register_providers(p);
}

module AP_MODULE_DECLARE_DATA auth_clerk_module = {
    STANDARD20_MODULE_STUFF,
    mac_create_dir_conf,
    mac_merge_dir_conf,
    mac_create_server_conf,
    mac_merge_server_conf,
    mac_cmds,
    register_hooks,
    AP_MODULE_FLAG_NONE
};
