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
    mac_proxy_token_begin(pconf);
    mac_shared_cache_begin(pconf);
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
    if (mac_metrics_post_config(pconf, s) != APR_SUCCESS
        || mac_shared_cache_post_config(pconf, ptemp, s) != APR_SUCCESS
        || mac_backend_api_post_config(pconf, s) != APR_SUCCESS
        || mac_key_sources_post_config(pconf, ptemp, s) != APR_SUCCESS
        || mac_proxy_token_post_config(pconf, ptemp, s) != APR_SUCCESS)
        return HTTP_INTERNAL_SERVER_ERROR;
    mac_shared_cache_startup_done();    /* what the start-up fetches stored, written */
    /*
     * One token cache per process, shared by the virtual hosts of the main
     * server's ClerkTokenCache size (a key holds everything that decides a
     * verification, so hosts cannot see each other's verdicts); a host with a
     * size of its own has a cache of its own.  A cache per host would cost
     * 2 000 virtual hosts some 180 MiB.
     */
    for (server_rec *vs = s; vs; vs = vs->next) {
        const clerk_server_conf *main_sc = ap_get_module_config(s->module_config,
                                                                &auth_clerk_module);
        clerk_server_conf *sc = ap_get_module_config(vs->module_config, &auth_clerk_module);
        if (vs != s && sc->token_cache_entries == main_sc->token_cache_entries) {
            sc->token_cache = main_sc->token_cache;
            continue;
        }
        sc->token_cache = clerk_token_cache_create(pconf, (unsigned)sc->token_cache_entries);
        clerk_token_cache_count_into(sc->token_cache, mac_metrics());
    }
    return OK;
}

static void clerk_child_init(apr_pool_t *pchild, server_rec *s)
{
    mac_metrics_child_init();
    mac_shared_cache_child_init(pchild, s);     /* first: the others share through it */
    mac_key_sources_child_init(pchild, s);
    mac_backend_api_child_init(pchild, s);
    mac_proxy_token_child_init(pchild, s);
    for (server_rec *vs = s; vs; vs = vs->next) {
        const clerk_server_conf *main_sc = ap_get_module_config(s->module_config,
                                                                &auth_clerk_module);
        clerk_server_conf *sc = ap_get_module_config(vs->module_config, &auth_clerk_module);
        if (!sc->token_cache || (vs != s && sc->token_cache == main_sc->token_cache))
            continue;       /* none, or the main server's, set up once */
        if (clerk_token_cache_child_init(sc->token_cache, pchild) != APR_SUCCESS)
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, CLERKNO(017)
                         "cannot set up the token cache");
    }
}

/*
 * AuthType Clerk: the core decides (src/clerk_authenticate.c: the token
 * where ClerkTokenSource says, or Clerk's browser flow for a handshake
 * section); authn.c builds its view of the request and applies the outcome.
 * A 401 of a clerk-whoami section gets that handler's JSON body (whoami.c).
 */
static int clerk_check_authn(request_rec *r)
{
    int status;

    if (!mac_is_clerk_request(r))
        return DECLINED;
    mac_clean_slate(r);
    status = mac_authenticate(r);
    if (status == HTTP_UNAUTHORIZED)
        mac_whoami_denied(r);
    return status;
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
    /* before any fixup that may answer 401/403 itself (mod_rewrite's per-directory [F]) */
    ap_hook_fixups(mac_withdraw_json_body, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_insert_error_filter(mac_insert_json_body_filter, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_note_auth_failure(mac_note_auth_failure, NULL, NULL, APR_HOOK_MIDDLE);
    mac_register_providers(p);
    mac_register_json_body_filter();
    mac_register_whoami();
    mac_register_expr();
    mac_register_status();
    mac_register_proxy_token();
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
