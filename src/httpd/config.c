/*
 * Configuration: the per-directory and server structures, their creation and
 * merging (a child section overrides exactly what it sets), the defaults
 * applied once the configuration is read, the effective settings of a
 * section, and the check of the whole configuration.  The directives that
 * fill the structures are in config_directives.c and config_keys.c.
 * Order as in httpd's own modules: state, create/merge, getters, check.
 */
#include "auth_clerk.h"

/* A section of the server configuration to check once it is read. */
typedef struct {
    const clerk_dir_conf *conf;
    server_rec *server;
    const char *where;              /* file:line */
} noted_section;

/*
 * While httpd reads its configuration (pre_config to post_config): the
 * sections accepting OAuth tokens and the satellite sections, checked once
 * it is read.  .htaccess files are read at request time, when reading is 0.
 */
static struct {
    int reading;
    apr_array_header_t *oauth_sections;
    apr_array_header_t *satellite_sections;
} config_state;

void mac_config_begin(apr_pool_t *pconf)
{
    config_state.reading = 1;
    config_state.oauth_sections = apr_array_make(pconf, 2, sizeof(noted_section));
    config_state.satellite_sections = apr_array_make(pconf, 2, sizeof(noted_section));
}

static void note_section(cmd_parms *cmd, const clerk_dir_conf *c, apr_array_header_t *list)
{
    noted_section *o;

    if (!config_state.reading)
        return;
    o = apr_array_push(list);
    o->conf = c;
    o->server = cmd->server;
    o->where = apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                            cmd->directive->line_num);
}

/*
 * The configuration is read: every server's unset settings get their
 * defaults, so that nothing else ever falls back.
 */
void mac_config_end(server_rec *s)
{
    config_state.reading = 0;
    for (server_rec *vs = s; vs; vs = vs->next) {
        clerk_server_conf *sc = ap_get_module_config(vs->module_config, &auth_clerk_module);
#define DEFAULT_TO(field, value) if (sc->field == UNSET) sc->field = (value)
        DEFAULT_TO(jwks_ttl, apr_time_from_sec(DEFAULT_JWKS_TTL));
        DEFAULT_TO(refresh_min, apr_time_from_sec(DEFAULT_JWKS_REFRESH_MIN));
        DEFAULT_TO(max_stale, apr_time_from_sec(DEFAULT_JWKS_MAX_STALE));
        DEFAULT_TO(http_timeout, apr_time_from_sec(DEFAULT_HTTP_TIMEOUT));
        DEFAULT_TO(token_cache_entries, DEFAULT_TOKEN_CACHE);
        DEFAULT_TO(allow_override_keys, 0);
        DEFAULT_TO(max_key_sources, DEFAULT_MAX_KEY_SOURCES);
        DEFAULT_TO(budget_rate, DEFAULT_BUDGET_RATE);
        DEFAULT_TO(budget_burst, DEFAULT_BUDGET_BURST);
        DEFAULT_TO(max_waiting, DEFAULT_MAX_WAITING);
#undef DEFAULT_TO
        if (!sc->api_url)
            sc->api_url = CLERK_DEFAULT_API_URL;
    }
}

int mac_config_reading(void)
{
    return config_state.reading;
}

void *mac_create_dir_conf(apr_pool_t *p, char *dir)
{
    clerk_dir_conf *c = apr_pcalloc(p, sizeof(*c));
    c->clock_skew = UNSET;
    c->machine_cache_ttl = UNSET;
    c->allow_pending = UNSET;
    c->debug_headers = UNSET;
    c->trust_forwarded = UNSET;
    c->satellite = UNSET;
    c->satellite_auto_sync = UNSET;
    return c;
}

#define MERGE_PTR(f) (add->f ? add->f : base->f)

#define MERGE_INT(f) (add->f != UNSET ? add->f : base->f)

void *mac_merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    const clerk_dir_conf *base = basev, *add = addv;
    clerk_dir_conf *c = apr_pcalloc(p, sizeof(*c));

    c->keys = add->keys.set ? add->keys : base->keys;
    c->backend_api = MERGE_PTR(backend_api);
    c->machine_secret = MERGE_PTR(machine_secret);
    c->machine_cache_ttl = MERGE_INT(machine_cache_ttl);
    c->proxy_token = MERGE_PTR(proxy_token);        /* a unit: see proxy_token */
    c->instance = add->instance.key ? add->instance : base->instance;
    c->issuers = MERGE_PTR(issuers);
    c->authorized_parties = MERGE_PTR(authorized_parties);
    c->audiences = MERGE_PTR(audiences);
    c->clock_skew = MERGE_INT(clock_skew);
    c->accept_types = add->accept_types ? add->accept_types : base->accept_types;
    c->sources = add->sources ? add->sources : base->sources;
    c->allow_pending = MERGE_INT(allow_pending);
    c->signed_out_action = add->signed_out_action ? add->signed_out_action
                                                  : base->signed_out_action;
    c->sign_in_url = add->signed_out_action ? add->sign_in_url : base->sign_in_url;
    c->proxy_url = MERGE_PTR(proxy_url);
    c->satellite = MERGE_INT(satellite);
    c->domain = MERGE_PTR(domain);
    c->satellite_sign_in_url = MERGE_PTR(satellite_sign_in_url);
    c->satellite_auto_sync = MERGE_INT(satellite_auto_sync);
    c->satellite_id = mac_satellite_identity(p, c);
    c->org_sync.organization = MERGE_PTR(org_sync.organization);
    c->org_sync.personal = MERGE_PTR(org_sync.personal);
    c->trust_forwarded = MERGE_INT(trust_forwarded);
    c->pass_claims_as = add->pass_claims_as ? add->pass_claims_as : base->pass_claims_as;
    c->remote_user_claim = MERGE_PTR(remote_user_claim);
    c->debug_headers = MERGE_INT(debug_headers);
    return c;
}

void *mac_create_server_conf(apr_pool_t *p, server_rec *s)
{
    clerk_server_conf *sc = apr_pcalloc(p, sizeof(*sc));
    sc->jwks_ttl = sc->refresh_min = sc->max_stale = UNSET;
    sc->http_timeout = UNSET;
    sc->token_cache_entries = UNSET;
    sc->allow_override_keys = UNSET;
    sc->max_key_sources = UNSET;
    sc->budget_rate = sc->budget_burst = UNSET;
    sc->max_waiting = UNSET;
    return sc;
}

void *mac_merge_server_conf(apr_pool_t *p, void *basev, void *addv)
{
    const clerk_server_conf *base = basev, *add = addv;
    clerk_server_conf *sc = apr_pcalloc(p, sizeof(*sc));

    sc->api_url = MERGE_PTR(api_url);
    sc->jwks_ttl = MERGE_INT(jwks_ttl);
    sc->refresh_min = MERGE_INT(refresh_min);
    sc->max_stale = MERGE_INT(max_stale);
    sc->http_timeout = MERGE_INT(http_timeout);
    sc->ca_file = MERGE_PTR(ca_file);
    sc->proxy = MERGE_PTR(proxy);
    sc->token_cache_entries = MERGE_INT(token_cache_entries);
    sc->allow_override_keys = MERGE_INT(allow_override_keys);
    sc->max_key_sources = MERGE_INT(max_key_sources);
    sc->budget_rate = MERGE_INT(budget_rate);
    sc->budget_burst = MERGE_INT(budget_burst);
    sc->max_waiting = MERGE_INT(max_waiting);
    return sc;
}

const static_keyset *mac_static_keys(const clerk_dir_conf *c)
{
    return c->keys.pem ? c->keys.pem : c->keys.jwks;
}

string_list *mac_make_list(apr_pool_t *p, int argc, char *const argv[])
{
    string_list *l = apr_pcalloc(p, sizeof(*l));
    l->values = apr_array_make(p, argc, sizeof(const char *));
    for (int i = 0; i < argc; i++)
        APR_ARRAY_PUSH(l->values, const char *) = argv[i];
    /* only an allocation failure makes SHA-256 fail; equal digests must mean equal lists */
    if (!clerk_digest_list(p, l->values, l->digest))
        ap_abort_on_oom();
    return l;
}

/* The network slot in force (the README's source order), when no static key is. */
key_slot *mac_network_slot(const clerk_dir_conf *c)
{
    if (c->keys.set)
        return c->keys.url;
    return c->backend_api ? c->backend_api : c->instance.jwks;
}

/* The verification options in force for a section, defaults applied. */
/*
 * Derived whenever the values it depends on may have changed: when a
 * section's directives set them and when sections merge.  Once per merge for
 * a satellite section: two short strings and a digest.
 */
const satellite_identity *mac_satellite_identity(apr_pool_t *p, const clerk_dir_conf *c)
{
    satellite_identity *id;
    const char *fapi;
    apr_array_header_t *issuers;

    if (!c->instance.key
        || !strcmp(fapi = clerk_satellite_frontend_api(p, c->instance.key, c->satellite == 1,
                                                       c->domain),
                   c->instance.key->frontend_api))
        return NULL;
    id = apr_palloc(p, sizeof(*id));
    id->frontend_api = fapi;
    id->frontend_api_base = apr_pstrcat(p, "https://", fapi, NULL);
    issuers = clerk_satellite_issuers(p, c->instance.key, fapi);
    id->issuers = mac_make_list(p, issuers->nelts, (char *const *)issuers->elts);
    return id;
}

/* The issuers a section's publishable key stands for (NULL: none). */
const string_list *mac_instance_issuers(const clerk_dir_conf *c)
{
    return c->satellite_id ? c->satellite_id->issuers : c->instance.issuer;
}

void mac_effective_opts(const clerk_dir_conf *c, clerk_verify_opts_t *o)
{
    clerk_verify_settings_t s;
    const string_list *instance = mac_instance_issuers(c);

    s.issuers = c->issuers ? c->issuers->values : NULL;
    s.instance_issuers = instance ? instance->values : NULL;
    s.authorized_parties = c->authorized_parties ? c->authorized_parties->values : NULL;
    s.audiences = c->audiences ? c->audiences->values : NULL;
    s.clock_skew = c->clock_skew;
    s.allow_pending = c->allow_pending;
    s.accept_types = c->accept_types;
    clerk_verify_opts_from_settings(&s, o);
}

/* Whether the directive being read comes from an .htaccess file (a tenant's). */
int mac_in_htaccess(cmd_parms *cmd)
{
    return ap_check_cmd_context(cmd, NOT_IN_HTACCESS) != NULL;
}

/* ClerkAcceptToken admits oauth_token in this section: checked by mac_check_config. */
void mac_note_oauth_section(cmd_parms *cmd, const clerk_dir_conf *c)
{
    note_section(cmd, c, config_state.oauth_sections);
}

/* ClerkIsSatellite On in this section: checked with its companions by mac_check_config. */
void mac_note_satellite_section(cmd_parms *cmd, const clerk_dir_conf *c)
{
    note_section(cmd, c, config_state.satellite_sections);
}

/*
 * Clerk's SDK refuses a satellite without a domain or proxy URL, and a
 * development satellite without a sign-in URL (authenticateRequest's
 * assertions); here they are configuration errors, in the section that says
 * ClerkIsSatellite On.
 */
static int check_satellites(void)
{
    int ok = 1;

    for (int i = 0; i < config_state.satellite_sections->nelts; i++) {
        const noted_section *o = &APR_ARRAY_IDX(config_state.satellite_sections, i,
                                                noted_section);
        const char *missing = clerk_satellite_missing(o->conf->instance.key, o->conf->domain,
                                                      o->conf->proxy_url,
                                                      o->conf->satellite_sign_in_url);
        if (missing) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, o->server, CLERKNO(038)
                         "ClerkIsSatellite On at %s needs %s in the same section", o->where,
                         missing);
            ok = 0;
        }
    }
    return ok;
}

/*
 * Clerk issues OAuth tokens to every OAuth application of the instance: a
 * section that accepts them without ClerkAudience (in the section or the
 * server's defaults) lets any of those applications in.  Warned when the
 * configuration is first read: at start-up and by configtest (which
 * apache2ctl graceful runs first), not again on the second reading.
 */
int mac_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                              server_rec *s)
{
    if (!check_satellites() || !mac_shared_cache_check(s))
        return HTTP_INTERNAL_SERVER_ERROR;
    if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG)
        return OK;
    for (int i = 0; i < config_state.oauth_sections->nelts; i++) {
        const noted_section *o = &APR_ARRAY_IDX(config_state.oauth_sections, i, noted_section);
        const clerk_dir_conf *defaults = ap_get_module_config(o->server->lookup_defaults,
                                                              &auth_clerk_module);
        if (!o->conf->audiences && !defaults->audiences)
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, o->server, CLERKNO(030)
                         "ClerkAcceptToken at %s admits oauth_token without ClerkAudience: "
                         "an OAuth token that any OAuth application of the instance obtained "
                         "is accepted; set ClerkAudience to the audience of yours", o->where);
    }
    return OK;
}
