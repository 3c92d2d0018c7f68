/*
 * The directives of mod_auth_clerk but the key and secret ones (config_keys.c):
 * their setters and the command table, apart from the structures they fill
 * (config.c), as httpd's own modules order them: setters, then the table.
 * Settings that are a field and nothing more go through generic setters
 * that find the field in cmd->info, as httpd's ap_set_*_slot do.
 */
#include "auth_clerk.h"

#include "clerk_call_budget.h"

/* A whole number within [min, max] into *out, or the directive's error message.
 * apr_strtoi64 saturates on overflow, and the saturated values are out of range. */
const char *mac_parse_bounded(cmd_parms *cmd, const char *arg, apr_int64_t min,
                              apr_int64_t max, const char *unit, apr_int64_t *out)
{
    char *end;

    *out = apr_strtoi64(arg, &end, 10);
    if (!*arg || *end || *out < min || *out > max)
        return apr_psprintf(cmd->pool, "%s: '%s' is not a number of %s from %" APR_INT64_T_FMT
                            " to %" APR_INT64_T_FMT, cmd->cmd->name, arg, unit, min, max);
    return NULL;
}

static clerk_server_conf *server_conf(cmd_parms *cmd)
{
    return ap_get_module_config(cmd->server->module_config, &auth_clerk_module);
}

/*
 * A whole number of a configuration: its field, the bounds and unit it is
 * read in, and whether the field is an apr_interval_time_t that the number
 * gives in seconds (else an int).
 */
typedef struct {
    apr_size_t offset;
    apr_int64_t min, max;
    const char *unit;               /* for the error message */
    int interval;
} number_slot;

/*
 * A bounded number (cmd->info: a number_slot) into the structure at conf, the
 * per-directory one when httpd calls it, as its ap_set_*_slot do: for
 * ClerkMachineTokenCacheTTL and ClerkClockSkew.
 */
static const char *set_number_slot(cmd_parms *cmd, void *conf, const char *arg)
{
    const number_slot *slot = cmd->info;
    char *field = (char *)conf + slot->offset;
    apr_int64_t v;
    const char *err = mac_parse_bounded(cmd, arg, slot->min, slot->max, slot->unit, &v);

    if (err)
        return err;
    if (slot->interval)
        *(apr_interval_time_t *)field = apr_time_from_sec(v);
    else
        *(int *)field = (int)v;
    return NULL;
}

/* ClerkJWKSCacheTTL, ClerkJWKSRefreshMin, ClerkJWKSMaxStale, ClerkHTTPTimeout, ClerkTokenCache */
static const char *set_server_number(cmd_parms *cmd, void *dconf, const char *arg)
{
    return set_number_slot(cmd, server_conf(cmd), arg);
}

/* ClerkMaxKeySources, ClerkBackendAPIMaxWaiting: one value serves the whole process. */
static const char *set_main_server_number(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    return err ? err : set_number_slot(cmd, server_conf(cmd), arg);
}

/* ClerkAllowOverrideKeySources: httpd's flag slot, in the server configuration. */
static const char *set_server_flag(cmd_parms *cmd, void *dconf, int on)
{
    return ap_set_flag_slot(cmd, server_conf(cmd), on);
}

/* ClerkHTTPProxy: httpd's string slot, in the server configuration. */
static const char *set_server_string(cmd_parms *cmd, void *dconf, const char *arg)
{
    return ap_set_string_slot(cmd, server_conf(cmd), arg);
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
    if (types & CLERK_TYPE_OAUTH)
        mac_note_oauth_section(cmd, c);
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
    return NULL;
}

/* A relative ClerkProxyURL (/__clerk) is resolved against the public origin, as the SDK does. */
static const char *set_proxy_url(cmd_parms *cmd, void *dconf, const char *arg)
{
    clerk_dir_conf *c = dconf;

    if ((strncmp(arg, "https://", 8) && strncmp(arg, "http://", 7) && arg[0] != '/')
        || !strncmp(arg, "//", 2) || !clerk_export_header_safe(arg) || strchr(arg, ' '))
        return "ClerkProxyURL: give the URL (absolute, or a path on this site) your Clerk "
               "Frontend API proxy answers at";
    c->proxy_url = arg;
    return NULL;
}

static const char *set_satellite(cmd_parms *cmd, void *dconf, int on)
{
    clerk_dir_conf *c = dconf;

    c->satellite = on;
    c->satellite_id = mac_satellite_identity(cmd->pool, c);
    if (on)
        mac_note_satellite_section(cmd, c);
    return NULL;
}

/* A host name: what Clerk's Frontend API of a satellite, clerk.<domain>, is built from. */
static const char *set_domain(cmd_parms *cmd, void *dconf, const char *arg)
{
    clerk_dir_conf *c = dconf;

    if (!clerk_satellite_domain_ok(arg))
        return apr_pstrcat(cmd->pool, "ClerkDomain: '", arg, "' is not a host name "
                           "(give the satellite's domain, e.g. example.net, no scheme)", NULL);
    c->domain = apr_pstrdup(cmd->pool, arg);
    ap_str_tolower((char *)c->domain);
    c->satellite_id = mac_satellite_identity(cmd->pool, c);
    return NULL;
}

static const char *set_sign_in_url(cmd_parms *cmd, void *dconf, const char *arg)
{
    clerk_dir_conf *c = dconf;

    if ((strncmp(arg, "https://", 8) && strncmp(arg, "http://", 7))
        || !clerk_export_header_safe(arg) || strchr(arg, ' '))
        return "ClerkSignInURL: give the absolute URL of the primary domain's sign-in page";
    c->satellite_sign_in_url = arg;
    return NULL;
}

/*
 * ClerkOrganizationSyncPattern, and ClerkPersonalAccountPattern (cmd->info
 * set): the SDK's organizationPatterns and personalAccountPatterns, compiled
 * as they are read so that a bad pattern fails configtest (from .htaccess,
 * the request).  The directives of one section add up, as DirectoryIndex's
 * do, so that an administrator may write a pattern per line; a section that
 * has any replaces the list it would inherit (mac_merge_dir_conf), and "off"
 * empties it.
 */
static const char *set_org_sync_patterns(cmd_parms *cmd, void *dconf, int argc,
                                         char *const argv[])
{
    clerk_dir_conf *c = dconf;
    int personal = cmd->info != NULL;
    const clerk_org_sync_patterns_t **list = personal ? &c->org_sync.personal
                                                      : &c->org_sync.organization;
    int off = argc == 1 && !strcasecmp(argv[0], "off");
    const char *err;

    if (argc == 0)
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": give one or more URL path patterns ",
                           personal ? "(/me, /me/(.*))" : "(/orgs/:slug, /orgs/:slug/(.*))",
                           ", or off", NULL);
    if (clerk_org_sync_add_patterns(cmd->pool, personal ? CLERK_ORG_SYNC_PERSONAL_PATTERNS
                                                        : CLERK_ORG_SYNC_ORGANIZATION_PATTERNS,
                                    off ? NULL : *list, off ? 0 : argc,
                                    (const char *const *)argv, list, &err) != APR_SUCCESS)
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": ", err, NULL);
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
    clerk_server_conf *sc = server_conf(cmd);
    const char *err = clerk_http_check_url(cmd->pool, arg);
    apr_size_t n = strlen(arg);

    if (err)
        return apr_pstrcat(cmd->pool, "ClerkAPIURL: ", err, NULL);
    sc->api_url = n && arg[n - 1] == '/' ? apr_pstrndup(cmd->pool, arg, n - 1) : arg;
    return NULL;
}

static const char *set_server_path(cmd_parms *cmd, void *dconf, const char *arg)
{
    clerk_server_conf *sc = server_conf(cmd);
    const char *path = ap_server_root_relative(cmd->pool, arg);

    if (!path)
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": invalid path ", arg, NULL);
    sc->ca_file = path;
    return NULL;
}

static const char *set_backend_api_budget(cmd_parms *cmd, void *dconf, const char *rate,
                                          const char *burst)
{
    clerk_server_conf *sc = server_conf(cmd);
    apr_int64_t r, b;
    const char *err = mac_parse_bounded(cmd, rate, 1, CLERK_CALL_BUDGET_MAX_RATE,
                                    "calls per second", &r);

    if (err || (err = mac_parse_bounded(cmd, burst, 1, 1000000, "calls (burst)", &b)))
        return err;
    sc->budget_rate = (int)r;
    sc->budget_burst = (int)b;
    return NULL;
}

/*
 * What the generic setters find in cmd->info: a field's offset (httpd's slot
 * setters), or the field and bounds of a number.
 */
#define DIR_FIELD(field) ((void *)APR_OFFSETOF(clerk_dir_conf, field))
#define SERVER_FIELD(field) ((void *)APR_OFFSETOF(clerk_server_conf, field))
#define NUMBER(conf, field, min, max, unit, interval) \
    ((void *)&(const number_slot){APR_OFFSETOF(conf, field), (min), (max), (unit), (interval)})
#define DIR_NUMBER(field, min, max, unit) NUMBER(clerk_dir_conf, field, min, max, unit, 0)
#define SERVER_NUMBER(field, min, max, unit) NUMBER(clerk_server_conf, field, min, max, unit, 0)
#define SERVER_SECONDS(field, min, max) NUMBER(clerk_server_conf, field, min, max, "seconds", 1)

#define WEEK (7 * 86400)

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
    AP_INIT_TAKE1("ClerkMachineTokenCacheTTL", set_number_slot,
                  DIR_NUMBER(machine_cache_ttl, 0, 3600, "seconds"), DIR_CMD,
                  "seconds a positive opaque-token verification may be reused (default "
                  STRINGIFY(DEFAULT_MACHINE_TOKEN_CACHE_TTL) ")"),
    AP_INIT_TAKE_ARGV("ClerkProxyMachineToken", mac_set_proxy_token, NULL, DIR_CMD,
                      "<ak_…|sk_…|env:VAR|file:/path> [mch_… …] | off: an M2M token obtained "
                      "with this machine secret (scoped to every machine named) replaces "
                      "Authorization on proxied requests; not in .htaccess"),
    AP_INIT_TAKE1("ClerkProxyMachineTokenTTL", mac_set_proxy_token_ttl, NULL, DIR_CMD,
                  "seconds the M2M token of ClerkProxyMachineToken is asked to live ("
                  STRINGIFY(CLERK_M2M_TTL_MIN) "-" STRINGIFY(CLERK_M2M_TTL_MAX) ", default "
                  STRINGIFY(CLERK_M2M_TTL_DEFAULT) ")"),
    AP_INIT_TAKE1("ClerkAPIURL", set_api_url, NULL, RSRC_CONF,
                  "Backend API base URL (default " CLERK_DEFAULT_API_URL ")"),
    AP_INIT_TAKE1("ClerkJWKSCacheTTL", set_server_number,
                  SERVER_SECONDS(jwks_ttl, 1, WEEK), RSRC_CONF,
                  "seconds a fetched key set is fresh (default " STRINGIFY(DEFAULT_JWKS_TTL) ")"),
    AP_INIT_TAKE1("ClerkJWKSRefreshMin", set_server_number,
                  SERVER_SECONDS(refresh_min, 1, WEEK), RSRC_CONF,
                  "at most one forced refetch per source per this many seconds (default "
                  STRINGIFY(DEFAULT_JWKS_REFRESH_MIN) ")"),
    AP_INIT_TAKE1("ClerkJWKSMaxStale", set_server_number,
                  SERVER_SECONDS(max_stale, 0, WEEK), RSRC_CONF,
                  "seconds keys stay usable after a failed refresh (default "
                  STRINGIFY(DEFAULT_JWKS_MAX_STALE) ")"),
    AP_INIT_TAKE1("ClerkHTTPTimeout", set_server_number,
                  SERVER_SECONDS(http_timeout, 1, 300), RSRC_CONF,
                  "total seconds for one Backend/Frontend API call (default "
                  STRINGIFY(DEFAULT_HTTP_TIMEOUT) ")"),
    AP_INIT_TAKE1("ClerkHTTPCAFile", set_server_path, NULL, RSRC_CONF,
                  "CA bundle for HTTPS fetches (default: the system store)"),
    AP_INIT_TAKE1("ClerkHTTPProxy", set_server_string, SERVER_FIELD(proxy), RSRC_CONF,
                  "outbound proxy URL for fetches"),
    AP_INIT_TAKE1("ClerkTokenCache", set_server_number,
                  SERVER_NUMBER(token_cache_entries, 0, 1000000, "entries (0: off)"), RSRC_CONF,
                  "verified tokens cached per process (default " STRINGIFY(DEFAULT_TOKEN_CACHE)
                  ", 0 = off)"),
    AP_INIT_FLAG("ClerkAllowOverrideKeySources", set_server_flag,
                 SERVER_FIELD(allow_override_keys), RSRC_CONF,
                 "whether .htaccess may name ClerkJWKSURL, ClerkJWTKeyFile and ClerkJWKSFile "
                 "(default Off)"),
    AP_INIT_TAKE1("ClerkMaxKeySources", set_main_server_number,
                  SERVER_NUMBER(max_key_sources, 1, 100000, "key sources"), RSRC_CONF,
                  "key sources (and refresher threads) per process; beyond it the least "
                  "recently used .htaccess source is closed (default "
                  STRINGIFY(DEFAULT_MAX_KEY_SOURCES) ")"),
    AP_INIT_TAKE2("ClerkBackendAPIBudget", set_backend_api_budget, NULL, RSRC_CONF,
                  "<per-second> <burst>: Backend API calls for tokens and nonces not known "
                  "good, shared by all processes of the server (default "
                  STRINGIFY(DEFAULT_BUDGET_RATE) " " STRINGIFY(DEFAULT_BUDGET_BURST) ")"),
    AP_INIT_TAKE1("ClerkBackendAPIMaxWaiting", set_main_server_number,
                  SERVER_NUMBER(max_waiting, 1, 10000, "threads"), RSRC_CONF,
                  "threads of a process that may wait on Backend API answers at once "
                  "(default " STRINGIFY(DEFAULT_MAX_WAITING) ")"),
    AP_INIT_TAKE_ARGV("ClerkIssuer", set_issuer, NULL, DIR_CMD,
                      "accepted iss values (exact match), or off"),
    AP_INIT_TAKE_ARGV("ClerkAuthorizedParties", set_authorized_parties, NULL, DIR_CMD,
                      "origins allowed as azp of session tokens"),
    AP_INIT_TAKE_ARGV("ClerkAudience", set_audience, NULL, DIR_CMD,
                      "aud values of which a token must carry one"),
    AP_INIT_TAKE1("ClerkClockSkew", set_number_slot,
                  DIR_NUMBER(clock_skew, 0, CLERK_MAX_CLOCK_SKEW, "seconds"), DIR_CMD,
                  "seconds of leeway for exp, nbf and iat (default 5)"),
    AP_INIT_TAKE_ARGV("ClerkAcceptToken", set_accept_token, NULL, DIR_CMD,
                      "token types accepted: session_token m2m_token oauth_token api_key | any"),
    AP_INIT_TAKE_ARGV("ClerkTokenSource", set_token_source, NULL, DIR_CMD,
                      "where session tokens are read: header, cookie (default both)"),
    AP_INIT_FLAG("ClerkAllowPendingSessions", ap_set_flag_slot, DIR_FIELD(allow_pending),
                 DIR_CMD,
                 "whether sts: pending sessions count as signed in (default Off)"),
    AP_INIT_TAKE12("ClerkSignedOutAction", set_signed_out_action, NULL, DIR_CMD,
                   "what a request without a valid token gets: deny (401), pass, "
                   "redirect <sign-in URL> or handshake"),
    AP_INIT_TAKE1("ClerkProxyURL", set_proxy_url, NULL, DIR_CMD,
                  "the Frontend API's public URL when Clerk is proxied (handshake redirects)"),
    AP_INIT_FLAG("ClerkIsSatellite", set_satellite, NULL, DIR_CMD,
                 "this site is a satellite domain of its Clerk instance (default Off)"),
    AP_INIT_TAKE1("ClerkDomain", set_domain, NULL, DIR_CMD,
                  "a satellite's own domain: its Frontend API is clerk.<domain>"),
    AP_INIT_TAKE1("ClerkSignInURL", set_sign_in_url, NULL, DIR_CMD,
                  "the primary domain's sign-in page (a development satellite syncs there)"),
    AP_INIT_FLAG("ClerkSatelliteAutoSync", ap_set_flag_slot, DIR_FIELD(satellite_auto_sync),
                 DIR_CMD,
                 "a satellite without cookies syncs with the primary at once (default Off)"),
    AP_INIT_TAKE_ARGV("ClerkOrganizationSyncPattern", set_org_sync_patterns, NULL, DIR_CMD,
                      "URL path patterns naming an organization by :id or :slug (the SDK's "
                      "organizationPatterns: /orgs/:slug /orgs/:slug/(.*)), or off"),
    AP_INIT_TAKE_ARGV("ClerkPersonalAccountPattern", set_org_sync_patterns, (void *)1, DIR_CMD,
                      "URL path patterns of the personal account (the SDK's "
                      "personalAccountPatterns: /me /me/(.*)), or off"),
    AP_INIT_FLAG("ClerkTrustForwardedHeaders", ap_set_flag_slot, DIR_FIELD(trust_forwarded),
                 DIR_CMD,
                 "build the public URL from X-Forwarded-Proto/-Host (behind a trusted proxy)"),
    AP_INIT_TAKE1("ClerkPassClaimsAs", set_pass_claims_as, NULL, DIR_CMD,
                  "how claims reach the application: env, headers, both or none"),
    AP_INIT_TAKE1("ClerkRemoteUserClaim", set_remote_user_claim, NULL, DIR_CMD,
                  "claim used for REMOTE_USER (default sub)"),
    AP_INIT_FLAG("ClerkDebugHeaders", ap_set_flag_slot, DIR_FIELD(debug_headers), DIR_CMD,
                 "add X-Clerk-Auth-Status and X-Clerk-Auth-Reason to responses"),
    AP_INIT_TAKE1("ClerkCache", mac_set_cache, NULL, RSRC_CONF,
                  "none, or the socache provider through which the servers of a fleet "
                  "share key sets, Backend API verdicts and budget, and M2M tokens, with its "
                  "arguments: shmcb, shmcb:/path(bytes), redis:host:port,..., "
                  "memcache:host:port,..."),
    AP_INIT_TAKE1("ClerkCacheKey", mac_set_cache_key, NULL, RSRC_CONF,
                  "file:/path, env:VAR or the key itself (at least 32 characters) that "
                  "seals the shared cache's values; default: derived from the first "
                  "ClerkSecretKey"),
    AP_INIT_TAKE1("ClerkCacheTimeout", mac_set_cache_timeout, NULL, RSRC_CONF,
                  "the most a request waits on the shared cache (default "
                  STRINGIFY(DEFAULT_CACHE_TIMEOUT_MS) "ms, at most 1s)"),
    {NULL}
};
