/*
 * Configuration: the per-directory and server structures, their creation and
 * merging (a child section overrides exactly what it sets), the effective
 * settings of a section with the defaults applied, and the directive table
 * with its setters.  The key and secret directives are in config_keys.c.
 * Order as in httpd's own modules: create/merge, getters, setters, table.
 */
#include "auth_clerk.h"

#include "apr_lib.h"

#include "clerk_call_budget.h"

/* A section of the server configuration that accepts OAuth tokens. */
typedef struct {
    const clerk_dir_conf *conf;
    server_rec *server;
    const char *where;              /* file:line */
} oauth_section;

/*
 * While httpd reads its configuration (pre_config to post_config): the
 * sections accepting OAuth tokens, checked once it is read.  .htaccess files
 * are read at request time, when reading is 0.
 */
static struct {
    int reading;
    apr_array_header_t *oauth_sections;
} config_state;

void mac_config_begin(apr_pool_t *pconf)
{
    config_state.reading = 1;
    config_state.oauth_sections = apr_array_make(pconf, 2, sizeof(oauth_section));
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
void mac_effective_opts(const clerk_dir_conf *c, clerk_verify_opts_t *o)
{
    clerk_verify_settings_t s;

    s.issuers = c->issuers ? c->issuers->values : NULL;
    s.instance_issuers = c->instance.issuer ? c->instance.issuer->values : NULL;
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

/* A whole number within [min, max] into *out, or the directive's error message.
 * apr_strtoi64 saturates on overflow, and the saturated values are out of range. */
static const char *parse_bounded(cmd_parms *cmd, const char *arg, apr_int64_t min,
                                 apr_int64_t max, const char *unit, apr_int64_t *out)
{
    char *end;

    *out = apr_strtoi64(arg, &end, 10);
    if (!*arg || *end || *out < min || *out > max)
        return apr_psprintf(cmd->pool, "%s: '%s' is not a number of %s from %" APR_INT64_T_FMT
                            " to %" APR_INT64_T_FMT, cmd->cmd->name, arg, unit, min, max);
    return NULL;
}

static const char *set_machine_cache_ttl(cmd_parms *cmd, void *dconf, const char *arg)
{
    clerk_dir_conf *c = dconf;
    apr_int64_t v;
    const char *err = parse_bounded(cmd, arg, 0, 3600, "seconds", &v);

    if (!err)
        c->machine_cache_ttl = (int)v;
    return err;
}

static const char *set_issuer(cmd_parms *cmd, void *dconf, int argc, char *const argv[])
{
    clerk_dir_conf *c = dconf;

    if (argc == 0)
        return "ClerkIssuer: give one or more issuer URLs, or off";
    if (argc == 1 && !strcasecmp(argv[0], "off")) {
        c->issuers = mac_make_list(cmd->pool, 0, argv);
        return NULL;
    }
    for (int i = 0; i < argc; i++)
        if (strncmp(argv[i], "https://", 8) && strncmp(argv[i], "http://", 7))
            return apr_pstrcat(cmd->pool, "ClerkIssuer: '", argv[i],
                               "' is not an http(s) URL", NULL);
    c->issuers = mac_make_list(cmd->pool, argc, argv);
    return NULL;
}

static const char *set_authorized_parties(cmd_parms *cmd, void *dconf, int argc,
                                          char *const argv[])
{
    clerk_dir_conf *c = dconf;

    if (argc == 0)
        return "ClerkAuthorizedParties: give one or more origins (https://app.example.com)";
    for (int i = 0; i < argc; i++)
        if (!clerk_is_origin(argv[i]))
            return apr_pstrcat(cmd->pool, "ClerkAuthorizedParties: '", argv[i],
                               "' is not an origin (scheme://host[:port], no path or "
                               "trailing slash)", NULL);
    c->authorized_parties = mac_make_list(cmd->pool, argc, argv);
    return NULL;
}

static const char *set_audience(cmd_parms *cmd, void *dconf, int argc, char *const argv[])
{
    clerk_dir_conf *c = dconf;

    if (argc == 0)
        return "ClerkAudience: give one or more audience values";
    c->audiences = mac_make_list(cmd->pool, argc, argv);
    return NULL;
}

static const char *set_clock_skew(cmd_parms *cmd, void *dconf, const char *arg)
{
    clerk_dir_conf *c = dconf;
    apr_int64_t v;
    const char *err = parse_bounded(cmd, arg, 0, CLERK_MAX_CLOCK_SKEW, "seconds", &v);

    if (!err)
        c->clock_skew = (int)v;
    return err;
}

/* The keywords of a directive (any letter case, as httpd's own) and the bits each stands for. */
typedef struct {
    const char *name;
    unsigned bits;
} keyword;

typedef struct {
    const keyword *words;               /* ends with {NULL, 0} */
    const char *choices;                /* for the error message */
} keywords;

static const keyword token_source_words[] = {
    {"header", SOURCE_HEADER}, {"cookie", SOURCE_COOKIE}, {NULL, 0}};
static const keywords token_source_keywords = {token_source_words, "header or cookie"};
static const keyword pass_claims_words[] = {
    {"env", PASS_ENV}, {"headers", PASS_HEADERS}, {"both", PASS_ENV | PASS_HEADERS},
    {"none", PASS_NONE}, {NULL, 0}};
static const keywords pass_claims_keywords = {pass_claims_words, "env, headers, both or none"};

/* The union of the bits of the keywords in argv, or the directive's error. */
static const char *parse_keywords(cmd_parms *cmd, const keywords *k, int argc,
                                  char *const argv[], unsigned *out)
{
    *out = 0;
    if (argc == 0)
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": give ", k->choices, NULL);
    for (int i = 0; i < argc; i++) {
        const keyword *w = k->words;
        while (w->name && strcasecmp(w->name, argv[i]))
            w++;
        if (!w->name)
            return apr_pstrcat(cmd->pool, cmd->cmd->name, ": '", argv[i], "' is not ",
                               k->choices, NULL);
        *out |= w->bits;
    }
    return NULL;
}

/* Token types are Clerk's names, matched exactly (clerk_token_type_from_name), or any. */
static const char *set_accept_token(cmd_parms *cmd, void *dconf, int argc, char *const argv[])
{
    clerk_dir_conf *c = dconf;
    unsigned types = 0;

    if (argc == 0)
        return "ClerkAcceptToken: give one or more token types, or any";
    for (int i = 0; i < argc; i++) {
        clerk_token_type_t t = !strcmp(argv[i], "any") ? CLERK_TYPE_ALL
                                                       : clerk_token_type_from_name(argv[i]);
        if (!t)
            return apr_pstrcat(cmd->pool, "ClerkAcceptToken: '", argv[i],
                               "' is not session_token, m2m_token, oauth_token, api_key "
                               "or any", NULL);
        types |= t;
    }
    c->accept_types = types;
    if ((types & CLERK_TYPE_OAUTH) && config_state.reading) {
        oauth_section *o = apr_array_push(config_state.oauth_sections);
        o->conf = c;
        o->server = cmd->server;
        o->where = apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                                cmd->directive->line_num);
    }
    return NULL;
}

static const char *set_token_source(cmd_parms *cmd, void *dconf, int argc, char *const argv[])
{
    clerk_dir_conf *c = dconf;
    unsigned sources;
    const char *err = parse_keywords(cmd, &token_source_keywords, argc, argv, &sources);

    if (!err)
        c->sources = (int)sources;
    return err;
}

static const char *set_signed_out_action(cmd_parms *cmd, void *dconf, const char *arg,
                                         const char *url)
{
    clerk_dir_conf *c = dconf;

    if (!strcasecmp(arg, "redirect")) {
        if (!url || (strncmp(url, "https://", 8) && strncmp(url, "http://", 7) && *url != '/'))
            return "ClerkSignedOutAction redirect: give the sign-in URL (absolute, or a path)";
        c->signed_out_action = SIGNED_OUT_REDIRECT;
        c->sign_in_url = url;
        return NULL;
    }
    if (url)
        return apr_pstrcat(cmd->pool, "ClerkSignedOutAction ", arg, ": takes no URL", NULL);
    if (!strcasecmp(arg, "deny"))
        c->signed_out_action = SIGNED_OUT_DENY;
    else if (!strcasecmp(arg, "pass"))
        c->signed_out_action = SIGNED_OUT_PASS;
    else if (!strcasecmp(arg, "handshake"))
        c->signed_out_action = SIGNED_OUT_HANDSHAKE;
    else
        return apr_pstrcat(cmd->pool, "ClerkSignedOutAction: '", arg,
                           "' is not deny, pass, redirect <url> or handshake", NULL);
    mac_warn_dev_handshake(cmd, c);
    return NULL;
}

static const char *set_proxy_url(cmd_parms *cmd, void *dconf, const char *arg)
{
    clerk_dir_conf *c = dconf;

    if (strncmp(arg, "https://", 8) && strncmp(arg, "http://", 7))
        return "ClerkProxyURL: give the absolute URL your Clerk Frontend API proxy answers at";
    c->proxy_url = arg;
    return NULL;
}

static const char *set_pass_claims_as(cmd_parms *cmd, void *dconf, const char *arg)
{
    clerk_dir_conf *c = dconf;
    unsigned how;
    const char *err = parse_keywords(cmd, &pass_claims_keywords, 1, (char *const *)&arg, &how);

    if (!err)
        c->pass_claims_as = (int)how;
    return err;
}

static const char *set_remote_user_claim(cmd_parms *cmd, void *dconf, const char *arg)
{
    clerk_dir_conf *c = dconf;

    if (!*arg)
        return "ClerkRemoteUserClaim: give a claim name";
    c->remote_user_claim = arg;
    return NULL;
}

static const char *set_api_url(cmd_parms *cmd, void *dconf, const char *arg)
{
    clerk_server_conf *sc = ap_get_module_config(cmd->server->module_config, &auth_clerk_module);
    const char *err = clerk_http_check_url(cmd->pool, arg);
    apr_size_t n = strlen(arg);

    if (err)
        return apr_pstrcat(cmd->pool, "ClerkAPIURL: ", err, NULL);
    sc->api_url = n && arg[n - 1] == '/' ? apr_pstrndup(cmd->pool, arg, n - 1) : arg;
    return NULL;
}

/* A duration of the server configuration: its field and the bounds of its seconds. */
typedef struct {
    apr_size_t offset;              /* an apr_interval_time_t in clerk_server_conf */
    apr_int64_t min, max;
} duration_slot;

#define WEEK (7 * 86400)
static const duration_slot jwks_ttl_slot = {APR_OFFSETOF(clerk_server_conf, jwks_ttl), 1, WEEK};
static const duration_slot refresh_min_slot = {APR_OFFSETOF(clerk_server_conf, refresh_min), 1,
                                               WEEK};
static const duration_slot max_stale_slot = {APR_OFFSETOF(clerk_server_conf, max_stale), 0, WEEK};
static const duration_slot http_timeout_slot = {APR_OFFSETOF(clerk_server_conf, http_timeout), 1,
                                                300};

/* ClerkJWKSCacheTTL, ClerkJWKSRefreshMin, ClerkJWKSMaxStale, ClerkHTTPTimeout (cmd->info). */
static const char *set_seconds(cmd_parms *cmd, void *dconf, const char *arg)
{
    clerk_server_conf *sc = ap_get_module_config(cmd->server->module_config, &auth_clerk_module);
    const duration_slot *slot = cmd->info;
    apr_int64_t v;
    const char *err = parse_bounded(cmd, arg, slot->min, slot->max, "seconds", &v);

    if (!err)
        *(apr_interval_time_t *)((char *)sc + slot->offset) = apr_time_from_sec(v);
    return err;
}

static const char *set_server_path(cmd_parms *cmd, void *dconf, const char *arg)
{
    clerk_server_conf *sc = ap_get_module_config(cmd->server->module_config, &auth_clerk_module);
    const char *path = ap_server_root_relative(cmd->pool, arg);

    if (!path)
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": invalid path ", arg, NULL);
    sc->ca_file = path;
    return NULL;
}

/*
 * A count of the server configuration: its int field, its bounds and unit, and
 * whether one value serves the whole process (the main server's only).
 */
typedef struct {
    apr_size_t offset;
    apr_int64_t min, max;
    const char *unit;
    int main_server_only;
} count_slot;

static const count_slot token_cache_slot = {APR_OFFSETOF(clerk_server_conf, token_cache_entries),
                                            0, 1000000, "entries (0: off)", 0};
static const count_slot max_key_sources_slot = {APR_OFFSETOF(clerk_server_conf, max_key_sources),
                                                1, 100000, "key sources", 1};
static const count_slot max_waiting_slot = {APR_OFFSETOF(clerk_server_conf, max_waiting),
                                            1, 10000, "threads", 1};

/* ClerkTokenCache, ClerkMaxKeySources, ClerkBackendAPIMaxWaiting (cmd->info). */
static const char *set_count(cmd_parms *cmd, void *dconf, const char *arg)
{
    clerk_server_conf *sc = ap_get_module_config(cmd->server->module_config, &auth_clerk_module);
    const count_slot *slot = cmd->info;
    const char *err = slot->main_server_only ? ap_check_cmd_context(cmd, GLOBAL_ONLY) : NULL;
    apr_int64_t v;

    if (err || (err = parse_bounded(cmd, arg, slot->min, slot->max, slot->unit, &v)))
        return err;
    *(int *)((char *)sc + slot->offset) = (int)v;
    return NULL;
}

/* ClerkAllowOverrideKeySources: a flag of the server configuration. */
static const char *set_server_flag(cmd_parms *cmd, void *dconf, int on)
{
    return ap_set_flag_slot(cmd, ap_get_module_config(cmd->server->module_config,
                                                      &auth_clerk_module), on);
}

static const char *set_backend_api_budget(cmd_parms *cmd, void *dconf, const char *rate,
                                          const char *burst)
{
    clerk_server_conf *sc = ap_get_module_config(cmd->server->module_config, &auth_clerk_module);
    apr_int64_t r, b;
    const char *err = parse_bounded(cmd, rate, 1, CLERK_CALL_BUDGET_MAX_RATE,
                                    "calls per second", &r);

    if (err || (err = parse_bounded(cmd, burst, 1, 1000000, "calls (burst)", &b)))
        return err;
    sc->budget_rate = (int)r;
    sc->budget_burst = (int)b;
    return NULL;
}

static const char *set_proxy(cmd_parms *cmd, void *dconf, const char *arg)
{
    clerk_server_conf *sc = ap_get_module_config(cmd->server->module_config, &auth_clerk_module);
    sc->proxy = arg;
    return NULL;
}


#define DIR_CMD RSRC_CONF | OR_AUTHCFG

const command_rec mac_cmds[] = {
    AP_INIT_TAKE1("ClerkPublishableKey", mac_set_publishable_key, NULL, DIR_CMD,
                  "pk_test_… or pk_live_…: the Clerk instance (issuer, cookie names)"),
    AP_INIT_RAW_ARGS("ClerkJWTKey", mac_set_keys_pem_text, NULL, DIR_CMD,
                     "the instance's PEM public key, or its base64 body"),
    AP_INIT_TAKE1("ClerkJWTKeyFile", mac_set_keys_file, NULL, DIR_CMD,
                  "file holding the instance's PEM public key"),
    AP_INIT_TAKE1("ClerkJWKSFile", mac_set_keys_file, (void *)1, DIR_CMD,
                  "file holding the instance's JWKS"),
    AP_INIT_TAKE1("ClerkJWKSURL", mac_set_jwks_url, NULL, DIR_CMD,
                  "URL of the instance's JWKS, fetched and cached per process"),
    AP_INIT_TAKE1("ClerkSecretKey", mac_set_secret_key, NULL, DIR_CMD,
                  "sk_…, env:VAR or file:/path: Backend API access (keys from /v1/jwks)"),
    AP_INIT_TAKE1("ClerkMachineSecretKey", mac_set_machine_secret_key, NULL, DIR_CMD,
                  "sk_…, env:VAR or file:/path: verifies opaque M2M tokens (else ClerkSecretKey)"),
    AP_INIT_TAKE1("ClerkMachineTokenCacheTTL", set_machine_cache_ttl, NULL, DIR_CMD,
                  "seconds a positive opaque-token verification may be reused (default "
                  STRINGIFY(DEFAULT_MACHINE_TOKEN_CACHE_TTL) ")"),
    AP_INIT_TAKE1("ClerkAPIURL", set_api_url, NULL, RSRC_CONF,
                  "Backend API base URL (default " CLERK_DEFAULT_API_URL ")"),
    AP_INIT_TAKE1("ClerkJWKSCacheTTL", set_seconds, (void *)&jwks_ttl_slot, RSRC_CONF,
                  "seconds a fetched key set is fresh (default " STRINGIFY(DEFAULT_JWKS_TTL) ")"),
    AP_INIT_TAKE1("ClerkJWKSRefreshMin", set_seconds, (void *)&refresh_min_slot, RSRC_CONF,
                  "at most one forced refetch per source per this many seconds (default "
                  STRINGIFY(DEFAULT_JWKS_REFRESH_MIN) ")"),
    AP_INIT_TAKE1("ClerkJWKSMaxStale", set_seconds, (void *)&max_stale_slot, RSRC_CONF,
                  "seconds keys stay usable after a failed refresh (default "
                  STRINGIFY(DEFAULT_JWKS_MAX_STALE) ")"),
    AP_INIT_TAKE1("ClerkHTTPTimeout", set_seconds, (void *)&http_timeout_slot, RSRC_CONF,
                  "total seconds for one Backend/Frontend API call (default "
                  STRINGIFY(DEFAULT_HTTP_TIMEOUT) ")"),
    AP_INIT_TAKE1("ClerkHTTPCAFile", set_server_path, NULL, RSRC_CONF,
                  "CA bundle for HTTPS fetches (default: the system store)"),
    AP_INIT_TAKE1("ClerkHTTPProxy", set_proxy, NULL, RSRC_CONF,
                  "outbound proxy URL for fetches"),
    AP_INIT_TAKE1("ClerkTokenCache", set_count, (void *)&token_cache_slot, RSRC_CONF,
                  "verified tokens cached per process (default " STRINGIFY(DEFAULT_TOKEN_CACHE)
                  ", 0 = off)"),
    AP_INIT_FLAG("ClerkAllowOverrideKeySources", set_server_flag,
                 (void *)APR_OFFSETOF(clerk_server_conf, allow_override_keys), RSRC_CONF,
                 "whether .htaccess may name ClerkJWKSURL, ClerkJWTKeyFile and ClerkJWKSFile "
                 "(default Off)"),
    AP_INIT_TAKE1("ClerkMaxKeySources", set_count, (void *)&max_key_sources_slot, RSRC_CONF,
                  "key sources (and refresher threads) per process; beyond it the least "
                  "recently used .htaccess source is closed (default "
                  STRINGIFY(DEFAULT_MAX_KEY_SOURCES) ")"),
    AP_INIT_TAKE2("ClerkBackendAPIBudget", set_backend_api_budget, NULL, RSRC_CONF,
                  "<per-second> <burst>: Backend API calls for tokens and nonces not known "
                  "good, shared by all processes of the server (default "
                  STRINGIFY(DEFAULT_BUDGET_RATE) " " STRINGIFY(DEFAULT_BUDGET_BURST) ")"),
    AP_INIT_TAKE1("ClerkBackendAPIMaxWaiting", set_count, (void *)&max_waiting_slot,
                  RSRC_CONF,
                  "threads of a process that may wait on Backend API answers at once "
                  "(default " STRINGIFY(DEFAULT_MAX_WAITING) ")"),
    AP_INIT_TAKE_ARGV("ClerkIssuer", set_issuer, NULL, DIR_CMD,
                      "accepted iss values (exact match), or off"),
    AP_INIT_TAKE_ARGV("ClerkAuthorizedParties", set_authorized_parties, NULL, DIR_CMD,
                      "origins allowed as azp of session tokens"),
    AP_INIT_TAKE_ARGV("ClerkAudience", set_audience, NULL, DIR_CMD,
                      "aud values of which a token must carry one"),
    AP_INIT_TAKE1("ClerkClockSkew", set_clock_skew, NULL, DIR_CMD,
                  "seconds of leeway for exp, nbf and iat (default 5)"),
    AP_INIT_TAKE_ARGV("ClerkAcceptToken", set_accept_token, NULL, DIR_CMD,
                      "token types accepted: session_token m2m_token oauth_token api_key | any"),
    AP_INIT_TAKE_ARGV("ClerkTokenSource", set_token_source, NULL, DIR_CMD,
                      "where session tokens are read: header, cookie (default both)"),
    AP_INIT_FLAG("ClerkAllowPendingSessions", ap_set_flag_slot,
                 (void *)APR_OFFSETOF(clerk_dir_conf, allow_pending), DIR_CMD,
                 "whether sts: pending sessions count as signed in (default Off)"),
    AP_INIT_TAKE12("ClerkSignedOutAction", set_signed_out_action, NULL, DIR_CMD,
                   "what a request without a valid token gets: deny (401), pass, "
                   "redirect <sign-in URL> or handshake"),
    AP_INIT_TAKE1("ClerkProxyURL", set_proxy_url, NULL, DIR_CMD,
                  "the Frontend API's public URL when Clerk is proxied (handshake redirects)"),
    AP_INIT_FLAG("ClerkTrustForwardedHeaders", ap_set_flag_slot,
                 (void *)APR_OFFSETOF(clerk_dir_conf, trust_forwarded), DIR_CMD,
                 "build the public URL from X-Forwarded-Proto/-Host (behind a trusted proxy)"),
    AP_INIT_TAKE1("ClerkPassClaimsAs", set_pass_claims_as, NULL, DIR_CMD,
                  "how claims reach the application: env, headers, both or none"),
    AP_INIT_TAKE1("ClerkRemoteUserClaim", set_remote_user_claim, NULL, DIR_CMD,
                  "claim used for REMOTE_USER (default sub)"),
    AP_INIT_FLAG("ClerkDebugHeaders", ap_set_flag_slot,
                 (void *)APR_OFFSETOF(clerk_dir_conf, debug_headers), DIR_CMD,
                 "add X-Clerk-Auth-Status and X-Clerk-Auth-Reason to responses"),
    {NULL}
};

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
    if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG)
        return OK;
    for (int i = 0; i < config_state.oauth_sections->nelts; i++) {
        const oauth_section *o = &APR_ARRAY_IDX(config_state.oauth_sections, i, oauth_section);
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
