/*
 * Apache as the calling machine: ClerkProxyMachineToken gives the requests
 * a section proxies (ProxyPass, RewriteRule [P], <Proxy>) an M2M token of
 * Clerk's, obtained with a machine secret and held per process by the core
 * (src/clerk_machine_token.c), in place of whatever Authorization the client
 * sent.  Never for a request httpd serves itself: a CGI or PHP page of the
 * section must not see it.
 *
 * Each creation is billed, so there is one holder per distinct (secret,
 * lifetime, machines) for the whole process; the parent obtains the first
 * token in post_config, its children inherit it and renew in their own
 * thread, and a graceful restart keeps a token still good instead of
 * creating another.  The holders' share hooks are left unset here: the
 * shared cache (ClerkCache) is what wires them.
 */
#include "auth_clerk.h"

/* What this configuration reading noted, and the holders made from it (per generation). */
static struct {
    apr_array_header_t *sections;       /* proxy_token * */
    apr_array_header_t *holders;        /* clerk_m2m_holder_t * */
} proxy;

/*
 * A token kept over graceful restarts, in the process pool (which outlives
 * the configuration and the module's own statics, since httpd unloads the
 * module between readings), one per key, reused in place.
 */
typedef struct {
    apr_time_t expires;
    char token[CLERK_TOKEN_MAX_LEN + 1];
} kept_token;

void mac_proxy_token_begin(apr_pool_t *pconf)
{
    proxy.sections = apr_array_make(pconf, 2, sizeof(proxy_token *));
    proxy.holders = apr_array_make(pconf, 2, sizeof(clerk_m2m_holder_t *));
}

/*
 * The section's unit, made by whichever of its two directives comes first.
 * A tenant must gain nothing from it (the token is the server's identity,
 * and env:/file: would read httpd's secrets): never in .htaccess.
 */
static const char *section_token(cmd_parms *cmd, clerk_dir_conf *c, proxy_token **out)
{
    if (mac_in_htaccess(cmd))
        return apr_psprintf(cmd->pool, "%s is not allowed in .htaccess files: the M2M token "
                            "is the server's own identity", cmd->cmd->name);
    if (!c->proxy_token) {
        c->proxy_token = apr_pcalloc(cmd->pool, sizeof(*c->proxy_token));
        c->proxy_token->ttl = UNSET;
        c->proxy_token->server = cmd->server;
        c->proxy_token->where = apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                                             cmd->directive->line_num);
        APR_ARRAY_PUSH(proxy.sections, proxy_token *) = c->proxy_token;
    }
    *out = c->proxy_token;
    return NULL;
}

/* A secret goes into a header: only what a Clerk secret can be. */
static int secret_wellformed(const char *s)
{
    if (strncmp(s, "ak_", 3) && strncmp(s, "sk_", 3))
        return 0;
    for (; *s; s++)
        if (*s <= ' ' || *s > '~')
            return 0;
    return 1;
}

const char *mac_set_proxy_token(cmd_parms *cmd, void *dconf, int argc, char *const argv[])
{
    proxy_token *pt;
    const char *secret, *err = section_token(cmd, dconf, &pt);

    if (err)
        return err;
    if (argc == 0)
        return "ClerkProxyMachineToken: give the machine secret (ak_..., sk_..., env:VAR or "
               "file:/path) and the machines the token is for, or off";
    pt->named = 1;
    if (argc == 1 && !strcasecmp(argv[0], "off")) {
        pt->secret = NULL;
        return NULL;
    }
    if ((err = mac_read_secret(cmd, "ClerkProxyMachineToken", argv[0], &secret)))
        return err;
    if (!secret_wellformed(secret))
        return "ClerkProxyMachineToken: the secret is not a machine secret (ak_...) or a secret "
               "key (sk_...) of printable characters";
    pt->secret = secret;
    pt->machines = apr_array_make(cmd->pool, argc - 1, sizeof(const char *));
    for (int i = 1; i < argc; i++) {
        if (!clerk_machine_id_wellformed(argv[i]))
            return apr_psprintf(cmd->pool, "ClerkProxyMachineToken: '%s' is not a machine id "
                                "(mch_ and 1 to %d letters or digits)", argv[i],
                                CLERK_MACHINE_ID_MAX);
        APR_ARRAY_PUSH(pt->machines, const char *) = argv[i];
    }
    return NULL;
}

const char *mac_set_proxy_token_ttl(cmd_parms *cmd, void *dconf, const char *arg)
{
    proxy_token *pt;
    apr_int64_t v;
    const char *err = section_token(cmd, dconf, &pt);

    if (err || (err = mac_parse_bounded(cmd, arg, CLERK_M2M_TTL_MIN, CLERK_M2M_TTL_MAX,
                                        "seconds", &v)))
        return err;
    pt->ttl = (int)v;
    return NULL;
}

/* A lifetime on its own would change the inherited token: the unit is the section's. */
static int check_proxy_tokens(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                              server_rec *s)
{
    for (int i = 0; i < proxy.sections->nelts; i++) {
        const proxy_token *pt = APR_ARRAY_IDX(proxy.sections, i, const proxy_token *);
        if (!pt->named) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, pt->server, CLERKNO(150)
                         "ClerkProxyMachineTokenTTL at %s needs ClerkProxyMachineToken in the "
                         "same section", pt->where);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    return OK;
}

static void log_from_holder(void *baton, int level, const char *msg)
{
    ap_log_error(APLOG_MARK, level, 0, (server_rec *)baton, CLERKNO(151) "%s", msg);
}

static void spec_of(const proxy_token *pt, clerk_m2m_spec_t *spec)
{
    const clerk_server_conf *sc = ap_get_module_config(pt->server->module_config,
                                                       &auth_clerk_module);

    memset(spec, 0, sizeof(*spec));
    spec->api_url = sc->api_url;
    spec->secret = pt->secret;
    spec->ttl = pt->ttl == UNSET ? CLERK_M2M_TTL_DEFAULT : pt->ttl;
    spec->machines = pt->machines;
    spec->http.timeout_ms = (long)apr_time_as_msec(sc->http_timeout);
    spec->http.ca_file = sc->ca_file;
    spec->http.proxy = sc->proxy;
}

static const char *hex_of(apr_pool_t *p, const unsigned char *key)
{
    char *hex = apr_palloc(p, 2 * CLERK_M2M_KEY_LEN + 1);

    for (int i = 0; i < CLERK_M2M_KEY_LEN; i++)
        apr_snprintf(hex + 2 * i, 3, "%02x", key[i]);
    return hex;
}

/* The holders are told apart by what the token is and by how it is fetched. */
static const char *holder_id(apr_pool_t *p, const unsigned char *key, const clerk_m2m_spec_t *spec)
{
    return apr_psprintf(p, "%s\n%ld\n%s\n%s", hex_of(p, key), spec->http.timeout_ms,
                        spec->http.ca_file ? spec->http.ca_file : "",
                        spec->http.proxy ? spec->http.proxy : "");
}

static kept_token *kept_for(server_rec *s, apr_pool_t *ptemp, const unsigned char *key)
{
    apr_pool_t *process = s->process->pool;
    const char *name = apr_pstrcat(ptemp, "auth_clerk:m2m:", hex_of(ptemp, key), NULL);
    void *kept = NULL;

    apr_pool_userdata_get(&kept, name, process);
    if (!kept) {
        kept = apr_pcalloc(process, sizeof(kept_token));
        apr_pool_userdata_set(kept, apr_pstrdup(process, name), apr_pool_cleanup_null, process);
    }
    return kept;
}

/*
 * A holder's first token: the previous generation's while it is not due
 * for renewal (each child would otherwise create its own as soon as it
 * starts), else a new one, within ClerkHTTPTimeout; a failure is logged
 * and the children retry.
 */
static void first_token(clerk_m2m_holder_t *h, server_rec *s, apr_pool_t *ptemp)
{
    kept_token *kept = kept_for(s, ptemp, clerk_m2m_holder_key(h));
    const char *token;
    apr_time_t expires;

    if (kept->token[0]
        && clerk_m2m_holder_adopt(h, ptemp, kept->token, kept->expires, apr_time_now()))
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, CLERKNO(152)
                     "ClerkProxyMachineToken: the M2M token of the previous configuration "
                     "is reused");
    else
        clerk_m2m_holder_create_now(h, ptemp);
    if (clerk_m2m_holder_current(h, ptemp, &token, &expires)) {
        apr_cpystrn(kept->token, token, sizeof(kept->token));
        kept->expires = expires;
    }
}

apr_status_t mac_proxy_token_post_config(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s)
{
    apr_hash_t *by_id = apr_hash_make(ptemp);

    for (int i = 0; i < proxy.sections->nelts; i++) {
        proxy_token *pt = APR_ARRAY_IDX(proxy.sections, i, proxy_token *);
        clerk_m2m_spec_t spec;
        unsigned char key[CLERK_M2M_KEY_LEN];
        const char *id;

        if (!pt->secret)
            continue;
        spec_of(pt, &spec);
        if (!clerk_m2m_key(&spec, key))
            return APR_ENOMEM;
        id = holder_id(ptemp, key, &spec);
        if ((pt->holder = apr_hash_get(by_id, id, APR_HASH_KEY_STRING)))
            continue;
        pt->holder = clerk_m2m_holder_create(pconf, &spec, mac_shared_cache_m2m(),
                                             mac_metrics(), log_from_holder, pt->server);
        if (!pt->holder)
            return APR_ENOMEM;
        apr_hash_set(by_id, id, APR_HASH_KEY_STRING, pt->holder);
        APR_ARRAY_PUSH(proxy.holders, clerk_m2m_holder_t *) = pt->holder;
        /* httpd reads its configuration twice at start-up: the first reading serves nothing */
        if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG)
            first_token(pt->holder, pt->server, ptemp);
    }
    return APR_SUCCESS;
}

void mac_proxy_token_child_init(apr_pool_t *pchild, server_rec *s)
{
    for (int i = 0; i < proxy.holders->nelts; i++)
        if (clerk_m2m_holder_child_init(APR_ARRAY_IDX(proxy.holders, i, clerk_m2m_holder_t *),
                                        pchild) != APR_SUCCESS)
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, CLERKNO(153)
                         "ClerkProxyMachineToken: cannot set up the M2M token's renewal");
}

/*
 * After every other fixup (mod_rewrite's [P] makes a request a proxy
 * request in its fixup): a proxied request of a section with a token gets
 * it in place of the client's Authorization, or 503 at once when there is
 * none to give (the next attempt is what Retry-After says); the client's
 * own never goes on.
 */
static int set_proxy_token(request_rec *r)
{
    static volatile apr_uint32_t last_unavailable_log;
    const clerk_dir_conf *c = ap_get_module_config(r->per_dir_config, &auth_clerk_module);
    const proxy_token *pt = c ? c->proxy_token : NULL;
    const char *token;
    apr_int64_t retry_after = 1;

    if (!pt || !pt->secret || r->proxyreq == PROXYREQ_NONE)
        return DECLINED;
    apr_table_unset(r->headers_in, "Authorization");
    if (!pt->holder
        || !clerk_m2m_holder_get(pt->holder, r->pool, apr_time_now(), &token, &retry_after)) {
        if (log_allowed(&last_unavailable_log))
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, CLERKNO(154)
                          "ClerkProxyMachineToken: no usable M2M token (see the errors "
                          "above): answering 503");
        apr_table_setn(r->err_headers_out, "Retry-After",
                       apr_psprintf(r->pool, "%" APR_INT64_T_FMT, retry_after));
        return HTTP_SERVICE_UNAVAILABLE;
    }
    apr_table_setn(r->headers_in, "Authorization", apr_pstrcat(r->pool, "Bearer ", token, NULL));
    return DECLINED;
}

void mac_register_proxy_token(void)
{
    ap_hook_check_config(check_proxy_tokens, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_fixups(set_proxy_token, NULL, NULL, APR_HOOK_LAST);
}
