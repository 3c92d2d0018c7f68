/*
 * mod_auth_clerk: Apache httpd 2.4 authentication and authorization with
 * Clerk tokens.
 *
 * This file is the httpd glue only: directives, per-directory configuration
 * and its merging, the check_authn / fixups / note_auth_failure hooks, the
 * Require clerk-* providers and the export of claims.  Everything that decides
 * about a token lives in the httpd-free core under src/ (shared with the
 * clerk-jwt CLI and unit-tested on its own).
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mod_auth.h"

#include "apr_atomic.h"
#include "apr_escape.h"
#include "apr_hash.h"
#include "apr_lib.h"
#include "apr_strings.h"
#include "apr_thread_mutex.h"

#include "clerk_backend_api.h"
#include "clerk_call_budget.h"
#include "clerk_call_gate.h"
#include "clerk_carrier.h"
#include "clerk_export.h"
#include "clerk_handshake.h"
#include "clerk_http.h"
#include "clerk_jwks_cache.h"
#include "clerk_key.h"
#include "clerk_policy.h"
#include "clerk_publishable_key.h"
#include "clerk_source_registry.h"
#include "clerk_token_cache.h"
#include "clerk_verdict_memory.h"
#include "clerk_verify.h"

module AP_MODULE_DECLARE_DATA auth_clerk_module;
APLOG_USE_MODULE(auth_clerk);

#define AUTH_TYPE_NAME "Clerk"
#define SESSION_COOKIE "__session"

#define SOURCE_HEADER 1
#define SOURCE_COOKIE 2

typedef enum {
    SIGNED_OUT_UNSET = 0, SIGNED_OUT_DENY, SIGNED_OUT_PASS, SIGNED_OUT_REDIRECT,
    SIGNED_OUT_HANDSHAKE
} signed_out_action_t;

#define PASS_UNSET 0
#define PASS_ENV 1
#define PASS_HEADERS 2
#define PASS_NONE 4

#define UNSET -1


/*
 * How key sets are fetched: per server (virtual host), since one source has
 * one fetch schedule per process.
 */
typedef struct {
    const char *api_url;
    apr_interval_time_t jwks_ttl, refresh_min, max_stale;   /* -1: unset */
    long http_timeout_ms;                                   /* -1: unset */
    const char *ca_file, *proxy;
    int token_cache_entries;                                /* -1: unset */
    int allow_override_keys;                                /* -1: unset */
    int max_key_sources;                                    /* -1: unset; main server */
    int budget_rate, budget_burst;                          /* -1: unset */
    unsigned budget_bucket;                                 /* set in post_config */
    int max_waiting;                                        /* -1: unset; main server */
    clerk_token_cache_t *token_cache;                       /* made in post_config */
    clerk_http_t *backend_api;                              /* per process, child_init */
} clerk_server_conf;

/*
 * A list-valued setting with a digest of its content, computed when it is
 * parsed, so the token cache can tell verification contexts apart by
 * content (an .htaccess section is parsed anew for every request).
 */
typedef struct {
    apr_array_header_t *values;
    unsigned char digest[CLERK_TOKEN_CACHE_KEY_LEN];
} string_list;

/* A key set from configuration, with a digest of its keys. */
typedef struct {
    clerk_keyset_t *keys;
    unsigned char digest[CLERK_TOKEN_CACHE_KEY_LEN];
} static_keyset;

/*
 * A network key source named by a directive (ClerkJWKSURL, ClerkSecretKey,
 * ClerkPublishableKey).  Slots made while the configuration is read are
 * resolved to a per-process cache in post_config; slots made in .htaccess at
 * request time are resolved on first use.
 */
typedef struct key_slot {
    const char *url;
    apr_array_header_t *headers;    /* may carry the secret key: never logged */
    const char *secret;             /* ClerkSecretKey: the URL needs ClerkAPIURL */
    int from_publishable_key;
    server_rec *server;             /* whose fetch settings apply */
    const struct clerk_dir_conf *owner;
    clerk_jwks_cache_t *cache;
} key_slot;

/*
 * Per-directory configuration.  Every field has an "unset" value so that a
 * child section overrides exactly what it sets (see merge_dir_conf).
 */
/*
 * The explicit key source: ClerkJWTKey/ClerkJWTKeyFile, ClerkJWKSFile and
 * ClerkJWKSURL form one unit, so a child section that names any key replaces
 * the parent's choice as a whole.  Within a section the PEM key wins
 * (CONTRACT §7 source order).
 */
typedef struct {
    int set;
    static_keyset *pem;
    static_keyset *jwks;
    key_slot *url;
} key_choice;

/* What ClerkPublishableKey names, and what is derived from it once. */
typedef struct {
    clerk_publishable_key_t *key;
    key_slot *jwks;                     /* the Frontend API key set */
    string_list *issuer;                /* [https://<frontend api>] */
    const char *session_cookie;         /* __session_<suffix> */
    const char *uat_cookie;             /* __client_uat_<suffix> */
} instance_identity;

typedef struct clerk_dir_conf {
    /*
     * The explicit key source: ClerkJWTKey/ClerkJWTKeyFile and ClerkJWKSFile
     * form one unit, so a child section that names any key replaces the
     * parent's keys as a whole.  Within a section the PEM key wins (CONTRACT
     * §7 source order).
     */
    key_choice keys;
    key_slot *backend_api;          /* ClerkSecretKey: Backend API /v1/jwks */
    const char *machine_secret;     /* ClerkMachineSecretKey: opaque M2M tokens */
    int machine_cache_ttl;          /* ClerkMachineTokenCacheTTL seconds */

    instance_identity instance;             /* ClerkPublishableKey */
    string_list *issuers;                   /* NULL: unset; no values after "off" */
    string_list *authorized_parties;        /* NULL: unset */
    string_list *audiences;                 /* NULL: unset */
    int clock_skew;
    unsigned accept_types;                  /* 0: unset */
    int sources;                            /* 0: unset */
    int allow_pending;
    signed_out_action_t signed_out_action;
    const char *sign_in_url;                /* for ClerkSignedOutAction redirect */
    const char *proxy_url;                  /* ClerkProxyURL: the Frontend API's public base */
    int trust_forwarded;
    int pass_claims_as;
    const char *remote_user_claim;
    int debug_headers;
} clerk_dir_conf;

/* What check_authn found out, kept for the providers, fixups and failure hook. */
typedef struct {
    clerk_reason_t reason;                  /* CLERK_OK when claims are set */
    clerk_claims_t *claims;
    const char *token;                      /* to recognise the same token again */
    const void *key_source;                 /* a keyset or a cache */
    clerk_verify_opts_t opts;
    const apr_array_header_t *vars;         /* what to export (from the token cache) */
    int exported;
    const char *handshake_session;          /* the __session a handshake result set */
} clerk_request_state;

/* ------------------------------------------------------------------------ */
/* Configuration                                                             */

static void *create_dir_conf(apr_pool_t *p, char *dir)
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

static void *merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
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

/* ------------------------------------------------------------------------ */
/* Key sources                                                               */

/*
 * Process-wide: the slots named by the configuration and the bounded
 * registry of the caches they resolve to (src/clerk_source_registry.h).
 * Rebuilt with each configuration generation (pconf); .htaccess slots are
 * resolved at request time and may be closed to make room.
 */
static struct {
    apr_array_header_t *slots;          /* key_slot * made while reading config */
    apr_array_header_t *oauth_sections; /* oauth_section: checked in post_config */
    clerk_source_registry_t *sources;   /* made in post_config */
    server_rec *main_server;
    int serving;                        /* 1 once post_config has run */
} registry;

static const static_keyset *static_keys(const clerk_dir_conf *c)
{
    return c->keys.pem ? c->keys.pem : c->keys.jwks;
}

static string_list *make_list(apr_pool_t *p, int argc, char *const argv[])
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

static static_keyset *make_static(apr_pool_t *p, clerk_keyset_t *keys)
{
    static_keyset *sk = apr_pcalloc(p, sizeof(*sk));
    sk->keys = keys;
    clerk_keyset_digest(keys, sk->digest);
    return sk;
}

/* The network slot in force (CONTRACT §7 order), when no static key is. */
static key_slot *network_slot(const clerk_dir_conf *c)
{
    if (c->keys.set)
        return c->keys.url;
    return c->backend_api ? c->backend_api : c->instance.jwks;
}

static key_slot *new_slot(cmd_parms *cmd, const clerk_dir_conf *owner)
{
    key_slot *slot = apr_pcalloc(cmd->pool, sizeof(*slot));
    slot->headers = apr_array_make(cmd->pool, 2, sizeof(const char *));
    slot->server = cmd->server;
    slot->owner = owner;
    if (!registry.serving && registry.slots)
        APR_ARRAY_PUSH(registry.slots, key_slot *) = slot;
    return slot;
}

static void log_from_cache(void *baton, int level, const char *msg)
{
    ap_log_error(APLOG_MARK, level, 0, (server_rec *)baton, APLOGNO(10611) "%s", msg);
}

/*
 * What a slot fetches under a server's fetch settings; the registry keeps
 * one cache per distinct (URL, headers, settings) per process, naming it by
 * a hash of the headers, not the secret itself.
 */
static void slot_source(const key_slot *slot, server_rec *s, apr_pool_t *p,
                        clerk_jwks_source_t *src_out)
{
    const clerk_server_conf *sc = ap_get_module_config(s->module_config, &auth_clerk_module);
    clerk_jwks_source_t src;

    src.url = slot->secret ? apr_pstrcat(p, sc->api_url ? sc->api_url : CLERK_DEFAULT_API_URL,
                                         "/v1/jwks", NULL)
                           : slot->url;
    src.headers = slot->headers;
    src.ttl = sc->jwks_ttl != UNSET ? sc->jwks_ttl : apr_time_from_sec(300);
    src.refresh_min = sc->refresh_min != UNSET ? sc->refresh_min : apr_time_from_sec(30);
    src.max_stale = sc->max_stale != UNSET ? sc->max_stale : apr_time_from_sec(86400);
    src.http.timeout_ms = sc->http_timeout_ms != UNSET ? sc->http_timeout_ms : 5000;
    src.http.ca_file = sc->ca_file;
    src.http.proxy = sc->proxy;
    src.http.max_body = 0;
    *src_out = src;
}

/*
 * Whether a warning about a recurring condition may be logged now: at most
 * one per LOG_INTERVAL seconds per call site, so an attacker who triggers
 * it on every request cannot flood the error log.
 */
#define LOG_INTERVAL 10
static int log_allowed(volatile apr_uint32_t *last)
{
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(apr_time_now()), then = apr_atomic_read32(last);

    return (!then || now - then >= LOG_INTERVAL) && apr_atomic_cas32(last, now, then) == then;
}

static apr_status_t release_source(void *cache)
{
    clerk_source_registry_release(registry.sources, cache);
    return APR_SUCCESS;
}

/*
 * The cache behind a slot.  Slots of the server configuration were pinned
 * in post_config; an .htaccess slot is admitted on use and held until the
 * request ends (so it is never closed under it).  NULL when the registry
 * is full of sources in use (logged, rate-limited).
 */
static clerk_jwks_cache_t *slot_cache(request_rec *r, key_slot *slot)
{
    static volatile apr_uint32_t last_full_log;
    clerk_jwks_source_t src;
    clerk_jwks_cache_t *cache;

    if (slot->cache)
        return slot->cache;
    slot_source(slot, r->server, r->pool, &src);
    if ((cache = clerk_source_registry_hold(registry.sources, &src, r->pool))) {
        apr_pool_cleanup_register(r->pool, cache, release_source, apr_pool_cleanup_null);
        return cache;
    }
    if (log_allowed(&last_full_log))
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, APLOGNO(10629)
                      "key source of %s not admitted: all %u key sources of this process "
                      "(ClerkMaxKeySources) are in use; answering 503",
                      r->uri, clerk_source_registry_count(registry.sources));
    return NULL;
}

/* ClerkIssuer, else the issuer the publishable key implies, else none. */
static const string_list *effective_issuers(const clerk_dir_conf *c)
{
    return c->issuers ? c->issuers : c->instance.issuer;
}

/* The verification options in force for a section, defaults applied. */
static void effective_opts(const clerk_dir_conf *c, clerk_verify_opts_t *o)
{
    const string_list *issuers = effective_issuers(c);

    clerk_verify_opts_init(o);
    o->issuers = issuers ? issuers->values : NULL;
    o->authorized_parties = c->authorized_parties ? c->authorized_parties->values : NULL;
    o->audiences = c->audiences ? c->audiences->values : NULL;
    if (c->clock_skew != UNSET)
        o->clock_skew = c->clock_skew;
    o->allow_pending = c->allow_pending == 1;
    if (c->accept_types)
        o->accept_types = c->accept_types;
}

static const char *set_keys_pem_text(cmd_parms *cmd, void *dconf, const char *arg)
{
    clerk_dir_conf *c = dconf;
    const char *err = NULL, *begin = strstr(arg, "-----BEGIN ");
    const char *text = arg;

    /*
     * A PEM block given on one configuration line has lost its line breaks;
     * keep only the base64 body between the BEGIN and END lines.
     */
    if (begin) {
        const char *body = strstr(begin + 11, "-----");
        const char *end = body ? strstr(body + 5, "-----END ") : NULL;
        if (!body || !end)
            return "ClerkJWTKey: incomplete PEM block";
        text = apr_pstrmemdup(cmd->pool, body + 5, (apr_size_t)(end - body - 5));
    }
    clerk_keyset_t *keys;

    if (clerk_keyset_from_pem(cmd->pool, text, strlen(text), &keys, &err) != APR_SUCCESS)
        return apr_pstrcat(cmd->pool, "ClerkJWTKey: ", err, NULL);
    c->keys.pem = make_static(cmd->pool, keys);
    c->keys.set = 1;
    return NULL;
}

/* Whether the directive being read comes from an .htaccess file (a tenant's). */
static int in_htaccess(cmd_parms *cmd)
{
    return ap_check_cmd_context(cmd, NOT_IN_HTACCESS) != NULL;
}

/*
 * Key files and key URLs make httpd read its own files and fetch other hosts:
 * in .htaccess only where the administrator allows it.
 */
static const char *check_key_source_override(cmd_parms *cmd)
{
    const clerk_server_conf *sc = ap_get_module_config(cmd->server->module_config,
                                                       &auth_clerk_module);

    if (in_htaccess(cmd) && sc->allow_override_keys != 1)
        return apr_pstrcat(cmd->pool, cmd->cmd->name, " is not allowed in .htaccess files "
                           "unless the server configuration sets "
                           "ClerkAllowOverrideKeySources On", NULL);
    return NULL;
}

/* ClerkJWTKeyFile (PEM) and ClerkJWKSFile (cmd->info set): a key set from a file. */
static const char *set_keys_file(cmd_parms *cmd, void *dconf, const char *arg)
{
    clerk_dir_conf *c = dconf;
    const char *name = cmd->cmd->name, *err = check_key_source_override(cmd);
    const char *path = ap_server_root_relative(cmd->pool, arg);
    int jwks = cmd->info != NULL;
    clerk_keyset_t *keys;

    if (err)
        return err;
    if (!path)
        return apr_pstrcat(cmd->pool, name, ": invalid path ", arg, NULL);
    if ((jwks ? clerk_keyset_from_jwks_file(cmd->pool, path, &keys, &err)
              : clerk_keyset_from_pem_file(cmd->pool, path, &keys, &err)) != APR_SUCCESS)
        return apr_pstrcat(cmd->pool, name, ": ", err, NULL);
    for (int i = 0; i < keys->skipped->nelts; i++)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, cmd->server, APLOGNO(10601)
                     "%s %s: %s", name, path, APR_ARRAY_IDX(keys->skipped, i, const char *));
    if (jwks)
        c->keys.jwks = make_static(cmd->pool, keys);
    else
        c->keys.pem = make_static(cmd->pool, keys);
    c->keys.set = 1;
    return NULL;
}

static const char *set_jwks_url(cmd_parms *cmd, void *dconf, const char *arg)
{
    clerk_dir_conf *c = dconf;
    const char *err = check_key_source_override(cmd);

    if (err)
        return err;
    if ((err = clerk_http_check_url(cmd->pool, arg)))
        return apr_pstrcat(cmd->pool, "ClerkJWKSURL: ", err, NULL);
    c->keys.url = new_slot(cmd, c);
    c->keys.url->url = arg;
    c->keys.set = 1;
    return NULL;
}

/*
 * An env:VAR secret.  The variable is removed from httpd's environment the
 * first time it is read, so that code running inside httpd (mod_php's
 * getenv(), mod_lua's os.getenv, mod_perl's %ENV) cannot read it; the value
 * is kept for the life of the process in the process pool, since httpd reads
 * its configuration again at start-up and on every restart.
 */
static const char *env_secret(cmd_parms *cmd, const char *var)
{
    /*
     * Pool userdata, not a static: httpd unloads and reloads its modules
     * between the readings of its configuration.
     */
    apr_pool_t *process = cmd->server->process->pool;
    const char *key = apr_pstrcat(cmd->temp_pool, "auth_clerk:env:", var, NULL);
    void *kept = NULL;
    const char *value;

    apr_pool_userdata_get(&kept, key, process);
    if (kept)
        return kept;
    if (!(value = getenv(var)) || !*value)
        return NULL;
    value = apr_pstrdup(process, value);
    apr_pool_userdata_set(value, apr_pstrdup(process, key), apr_pool_cleanup_null, process);
    unsetenv(var);
    return value;
}

/*
 * sk_…, env:VAR or file:/path, read once here; never logged.  In .htaccess
 * only the literal form: env: and file: would read httpd's environment and
 * files with httpd's privileges, i.e. other tenants' secrets.
 */
static const char *read_secret(cmd_parms *cmd, const char *directive, const char *arg,
                               const char **secret)
{
    char *value = NULL;

    if ((!strncmp(arg, "env:", 4) || !strncmp(arg, "file:", 5)) && in_htaccess(cmd))
        return apr_psprintf(cmd->pool, "%s: env: and file: are not allowed in .htaccess "
                            "files; give the key itself", directive);
    if (!strncmp(arg, "env:", 4)) {
        const char *v = env_secret(cmd, arg + 4);
        if (!v)
            return apr_psprintf(cmd->pool, "%s: environment variable %s is not set",
                                directive, arg + 4);
        value = apr_pstrdup(cmd->pool, v);
    }
    else if (!strncmp(arg, "file:", 5)) {
        const char *path = ap_server_root_relative(cmd->pool, arg + 5);
        apr_file_t *f;
        char buf[512];
        apr_size_t n = sizeof(buf) - 1;
        if (!path || apr_file_open(&f, path, APR_FOPEN_READ, 0, cmd->pool) != APR_SUCCESS)
            return apr_psprintf(cmd->pool, "%s: cannot read %s", directive, arg + 5);
        apr_file_read(f, buf, &n);
        apr_file_close(f);
        buf[n] = '\0';
        value = apr_pstrdup(cmd->pool, buf);
        apr_collapse_spaces(value, value);
    }
    else
        value = apr_pstrdup(cmd->pool, arg);
    if (!*value || strchr(value, '\r') || strchr(value, '\n'))
        return apr_psprintf(cmd->pool, "%s: the secret key is empty or spans lines", directive);
    *secret = value;
    return NULL;
}

static const char *set_secret_key(cmd_parms *cmd, void *dconf, const char *arg)
{
    clerk_dir_conf *c = dconf;
    const char *secret, *err = read_secret(cmd, "ClerkSecretKey", arg, &secret);

    if (err)
        return err;
    c->backend_api = new_slot(cmd, c);
    c->backend_api->secret = secret;
    c->backend_api->headers = clerk_backend_api_headers(cmd->pool, secret);
    return NULL;
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

static const char *set_machine_secret_key(cmd_parms *cmd, void *dconf, const char *arg)
{
    clerk_dir_conf *c = dconf;
    return read_secret(cmd, "ClerkMachineSecretKey", arg, &c->machine_secret);
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

/* Development instances need Clerk's dev-browser protocol, which is not implemented. */
static void warn_dev_handshake(cmd_parms *cmd, const clerk_dir_conf *c)
{
    if (c->signed_out_action == SIGNED_OUT_HANDSHAKE && c->instance.key
        && !c->instance.key->production)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, cmd->server, APLOGNO(10623)
                     "ClerkSignedOutAction handshake with a development instance (pk_test_): "
                     "the development browser flow is not supported; requests that would "
                     "need a handshake are answered as signed out (401)");
}

static const char *set_publishable_key(cmd_parms *cmd, void *dconf, const char *arg)
{
    clerk_dir_conf *c = dconf;
    const char *err = NULL;

    if (clerk_publishable_key_parse(cmd->pool, arg, &c->instance.key, &err) != APR_SUCCESS)
        return apr_pstrcat(cmd->pool, "ClerkPublishableKey: ", err, NULL);
    c->instance.jwks = new_slot(cmd, c);
    c->instance.jwks->url = c->instance.key->jwks_url;
    c->instance.jwks->from_publishable_key = 1;
    {
        char *issuer = (char *)c->instance.key->issuer;
        c->instance.issuer = make_list(cmd->pool, 1, &issuer);
    }
    c->instance.session_cookie = apr_pstrcat(cmd->pool, SESSION_COOKIE "_",
                                             c->instance.key->cookie_suffix, NULL);
    c->instance.uat_cookie = apr_pstrcat(cmd->pool, "__client_uat_",
                                         c->instance.key->cookie_suffix, NULL);
    warn_dev_handshake(cmd, c);
    return NULL;
}

static const char *set_issuer(cmd_parms *cmd, void *dconf, int argc, char *const argv[])
{
    clerk_dir_conf *c = dconf;

    if (argc == 0)
        return "ClerkIssuer: give one or more issuer URLs, or off";
    if (argc == 1 && !strcasecmp(argv[0], "off")) {
        c->issuers = make_list(cmd->pool, 0, argv);
        return NULL;
    }
    for (int i = 0; i < argc; i++)
        if (strncmp(argv[i], "https://", 8) && strncmp(argv[i], "http://", 7))
            return apr_pstrcat(cmd->pool, "ClerkIssuer: '", argv[i],
                               "' is not an http(s) URL", NULL);
    c->issuers = make_list(cmd->pool, argc, argv);
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
    c->authorized_parties = make_list(cmd->pool, argc, argv);
    return NULL;
}

static const char *set_audience(cmd_parms *cmd, void *dconf, int argc, char *const argv[])
{
    clerk_dir_conf *c = dconf;

    if (argc == 0)
        return "ClerkAudience: give one or more audience values";
    c->audiences = make_list(cmd->pool, argc, argv);
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

/* A section of the server configuration that accepts OAuth tokens. */
typedef struct {
    const clerk_dir_conf *conf;
    server_rec *server;
    const char *where;              /* file:line */
} oauth_section;

static const char *set_accept_token(cmd_parms *cmd, void *dconf, int argc, char *const argv[])
{
    clerk_dir_conf *c = dconf;
    unsigned types = 0;

    if (argc == 0)
        return "ClerkAcceptToken: give one or more token types, or any";
    for (int i = 0; i < argc; i++) {
        clerk_token_type_t t = clerk_token_type_from_name(argv[i]);
        if (!strcmp(argv[i], "any"))
            types |= CLERK_TYPE_ALL;
        else if (t)
            types |= t;
        else
            return apr_pstrcat(cmd->pool, "ClerkAcceptToken: '", argv[i],
                               "' is not session_token, m2m_token, oauth_token, api_key "
                               "or any", NULL);
    }
    c->accept_types = types;
    if ((types & CLERK_TYPE_OAUTH) && !registry.serving && registry.oauth_sections) {
        oauth_section *o = apr_array_push(registry.oauth_sections);
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
    int sources = 0;

    if (argc == 0)
        return "ClerkTokenSource: give header, cookie or both";
    for (int i = 0; i < argc; i++) {
        if (!strcasecmp(argv[i], "header"))
            sources |= SOURCE_HEADER;
        else if (!strcasecmp(argv[i], "cookie"))
            sources |= SOURCE_COOKIE;
        else
            return apr_pstrcat(cmd->pool, "ClerkTokenSource: '", argv[i],
                               "' is neither header nor cookie", NULL);
    }
    c->sources = sources;
    return NULL;
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
    warn_dev_handshake(cmd, c);
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

    if (!strcasecmp(arg, "env"))
        c->pass_claims_as = PASS_ENV;
    else if (!strcasecmp(arg, "headers"))
        c->pass_claims_as = PASS_HEADERS;
    else if (!strcasecmp(arg, "both"))
        c->pass_claims_as = PASS_ENV | PASS_HEADERS;
    else if (!strcasecmp(arg, "none"))
        c->pass_claims_as = PASS_NONE;
    else
        return apr_pstrcat(cmd->pool, "ClerkPassClaimsAs: '", arg,
                           "' is not env, headers, both or none", NULL);
    return NULL;
}

static const char *set_remote_user_claim(cmd_parms *cmd, void *dconf, const char *arg)
{
    clerk_dir_conf *c = dconf;

    if (!*arg)
        return "ClerkRemoteUserClaim: give a claim name";
    c->remote_user_claim = arg;
    return NULL;
}

static void *create_server_conf(apr_pool_t *p, server_rec *s)
{
    clerk_server_conf *sc = apr_pcalloc(p, sizeof(*sc));
    sc->jwks_ttl = sc->refresh_min = sc->max_stale = UNSET;
    sc->http_timeout_ms = UNSET;
    sc->token_cache_entries = UNSET;
    sc->allow_override_keys = UNSET;
    sc->max_key_sources = UNSET;
    sc->budget_rate = sc->budget_burst = UNSET;
    sc->max_waiting = UNSET;
    return sc;
}

static void *merge_server_conf(apr_pool_t *p, void *basev, void *addv)
{
    const clerk_server_conf *base = basev, *add = addv;
    clerk_server_conf *sc = apr_pcalloc(p, sizeof(*sc));

    sc->api_url = MERGE_PTR(api_url);
    sc->jwks_ttl = MERGE_INT(jwks_ttl);
    sc->refresh_min = MERGE_INT(refresh_min);
    sc->max_stale = MERGE_INT(max_stale);
    sc->http_timeout_ms = MERGE_INT(http_timeout_ms);
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

/* The key-fetch durations: ClerkHTTPTimeout up to 300 s, the others up to a week. */
static const char *set_seconds(cmd_parms *cmd, void *dconf, const char *arg)
{
    clerk_server_conf *sc = ap_get_module_config(cmd->server->module_config, &auth_clerk_module);
    const char *name = cmd->cmd->name;
    apr_int64_t v;
    const char *err = parse_bounded(cmd, arg, !strcasecmp(name, "ClerkJWKSMaxStale") ? 0 : 1,
                                    7 * 86400, "seconds", &v);

    if (err)
        return err;
    if (!strcasecmp(name, "ClerkJWKSCacheTTL"))
        sc->jwks_ttl = apr_time_from_sec(v);
    else if (!strcasecmp(name, "ClerkJWKSRefreshMin"))
        sc->refresh_min = apr_time_from_sec(v);
    else if (!strcasecmp(name, "ClerkJWKSMaxStale"))
        sc->max_stale = apr_time_from_sec(v);
    else if (v > 300)
        return apr_psprintf(cmd->pool, "%s: at most 300 seconds", name);
    else
        sc->http_timeout_ms = (long)v * 1000;
    return NULL;
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

static const char *set_token_cache(cmd_parms *cmd, void *dconf, const char *arg)
{
    clerk_server_conf *sc = ap_get_module_config(cmd->server->module_config, &auth_clerk_module);
    apr_int64_t v;
    const char *err = parse_bounded(cmd, arg, 0, 1000000, "entries (0: off)", &v);

    if (!err)
        sc->token_cache_entries = (int)v;
    return err;
}

static const char *set_allow_override_keys(cmd_parms *cmd, void *dconf, int on)
{
    clerk_server_conf *sc = ap_get_module_config(cmd->server->module_config, &auth_clerk_module);
    sc->allow_override_keys = on ? 1 : 0;
    return NULL;
}

/* One registry of key sources per process: the main server's setting only. */
static const char *set_max_key_sources(cmd_parms *cmd, void *dconf, const char *arg)
{
    clerk_server_conf *sc = ap_get_module_config(cmd->server->module_config, &auth_clerk_module);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    apr_int64_t v;

    if (err || (err = parse_bounded(cmd, arg, 1, 100000, "key sources", &v)))
        return err;
    sc->max_key_sources = (int)v;
    return NULL;
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

/* One bound per process: the main server's setting only. */
static const char *set_backend_api_max_waiting(cmd_parms *cmd, void *dconf, const char *arg)
{
    clerk_server_conf *sc = ap_get_module_config(cmd->server->module_config, &auth_clerk_module);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    apr_int64_t v;

    if (err || (err = parse_bounded(cmd, arg, 1, 10000, "threads", &v)))
        return err;
    sc->max_waiting = (int)v;
    return NULL;
}

static const char *set_proxy(cmd_parms *cmd, void *dconf, const char *arg)
{
    clerk_server_conf *sc = ap_get_module_config(cmd->server->module_config, &auth_clerk_module);
    sc->proxy = arg;
    return NULL;
}

static const char *set_flag(cmd_parms *cmd, void *dconf, int on)
{
    int *field = (int *)((char *)dconf + (apr_size_t)cmd->info);
    *field = on ? 1 : 0;
    return NULL;
}

#define DIR_CMD RSRC_CONF | OR_AUTHCFG

static const command_rec clerk_cmds[] = {
    AP_INIT_TAKE1("ClerkPublishableKey", set_publishable_key, NULL, DIR_CMD,
                  "pk_test_… or pk_live_…: the Clerk instance (issuer, cookie names)"),
    AP_INIT_RAW_ARGS("ClerkJWTKey", set_keys_pem_text, NULL, DIR_CMD,
                     "the instance's PEM public key, or its base64 body"),
    AP_INIT_TAKE1("ClerkJWTKeyFile", set_keys_file, NULL, DIR_CMD,
                  "file holding the instance's PEM public key"),
    AP_INIT_TAKE1("ClerkJWKSFile", set_keys_file, (void *)1, DIR_CMD,
                  "file holding the instance's JWKS"),
    AP_INIT_TAKE1("ClerkJWKSURL", set_jwks_url, NULL, DIR_CMD,
                  "URL of the instance's JWKS, fetched and cached per process"),
    AP_INIT_TAKE1("ClerkSecretKey", set_secret_key, NULL, DIR_CMD,
                  "sk_…, env:VAR or file:/path: Backend API access (keys from /v1/jwks)"),
    AP_INIT_TAKE1("ClerkMachineSecretKey", set_machine_secret_key, NULL, DIR_CMD,
                  "sk_…, env:VAR or file:/path: verifies opaque M2M tokens (else ClerkSecretKey)"),
    AP_INIT_TAKE1("ClerkMachineTokenCacheTTL", set_machine_cache_ttl, NULL, DIR_CMD,
                  "seconds a positive opaque-token verification may be reused (default 0)"),
    AP_INIT_TAKE1("ClerkAPIURL", set_api_url, NULL, RSRC_CONF,
                  "Backend API base URL (default https://api.clerk.com)"),
    AP_INIT_TAKE1("ClerkJWKSCacheTTL", set_seconds, NULL, RSRC_CONF,
                  "seconds a fetched key set is fresh (default 300)"),
    AP_INIT_TAKE1("ClerkJWKSRefreshMin", set_seconds, NULL, RSRC_CONF,
                  "at most one forced refetch per source per this many seconds (default 30)"),
    AP_INIT_TAKE1("ClerkJWKSMaxStale", set_seconds, NULL, RSRC_CONF,
                  "seconds keys stay usable after a failed refresh (default 86400)"),
    AP_INIT_TAKE1("ClerkHTTPTimeout", set_seconds, NULL, RSRC_CONF,
                  "total seconds for one Backend/Frontend API call (default 5)"),
    AP_INIT_TAKE1("ClerkHTTPCAFile", set_server_path, NULL, RSRC_CONF,
                  "CA bundle for HTTPS fetches (default: the system store)"),
    AP_INIT_TAKE1("ClerkHTTPProxy", set_proxy, NULL, RSRC_CONF,
                  "outbound proxy URL for fetches"),
    AP_INIT_TAKE1("ClerkTokenCache", set_token_cache, NULL, RSRC_CONF,
                  "verified tokens cached per process (default 4096, 0 = off)"),
    AP_INIT_FLAG("ClerkAllowOverrideKeySources", set_allow_override_keys, NULL, RSRC_CONF,
                 "whether .htaccess may name ClerkJWKSURL, ClerkJWTKeyFile and ClerkJWKSFile "
                 "(default Off)"),
    AP_INIT_TAKE1("ClerkMaxKeySources", set_max_key_sources, NULL, RSRC_CONF,
                  "key sources (and refresher threads) per process; beyond it the least "
                  "recently used .htaccess source is closed (default 256)"),
    AP_INIT_TAKE2("ClerkBackendAPIBudget", set_backend_api_budget, NULL, RSRC_CONF,
                  "<per-second> <burst>: Backend API calls for tokens and nonces not known "
                  "good, shared by all processes of the server (default 5 20)"),
    AP_INIT_TAKE1("ClerkBackendAPIMaxWaiting", set_backend_api_max_waiting, NULL, RSRC_CONF,
                  "threads of a process that may wait on Backend API answers at once "
                  "(default 8)"),
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
    AP_INIT_FLAG("ClerkAllowPendingSessions", set_flag,
                 (void *)APR_OFFSETOF(clerk_dir_conf, allow_pending), DIR_CMD,
                 "whether sts: pending sessions count as signed in (default Off)"),
    AP_INIT_TAKE12("ClerkSignedOutAction", set_signed_out_action, NULL, DIR_CMD,
                   "what a request without a valid token gets: deny (401), pass, "
                   "redirect <sign-in URL> or handshake"),
    AP_INIT_TAKE1("ClerkProxyURL", set_proxy_url, NULL, DIR_CMD,
                  "the Frontend API's public URL when Clerk is proxied (handshake redirects)"),
    AP_INIT_FLAG("ClerkTrustForwardedHeaders", set_flag,
                 (void *)APR_OFFSETOF(clerk_dir_conf, trust_forwarded), DIR_CMD,
                 "build the public URL from X-Forwarded-Proto/-Host (behind a trusted proxy)"),
    AP_INIT_TAKE1("ClerkPassClaimsAs", set_pass_claims_as, NULL, DIR_CMD,
                  "how claims reach the application: env, headers, both or none"),
    AP_INIT_TAKE1("ClerkRemoteUserClaim", set_remote_user_claim, NULL, DIR_CMD,
                  "claim used for REMOTE_USER (default sub)"),
    AP_INIT_FLAG("ClerkDebugHeaders", set_flag,
                 (void *)APR_OFFSETOF(clerk_dir_conf, debug_headers), DIR_CMD,
                 "add X-Clerk-Auth-Status and X-Clerk-Auth-Reason to responses"),
    {NULL}
};

/* ------------------------------------------------------------------------ */
/* Requests                                                                  */

static int is_clerk_request(request_rec *r)
{
    const char *type = ap_auth_type(r);
    return type && !strcasecmp(type, AUTH_TYPE_NAME);
}

static clerk_request_state *request_state(const request_rec *r)
{
    return r ? ap_get_module_config(r->request_config, &auth_clerk_module) : NULL;
}

/*
 * X-Clerk-* request headers are the module's to set; whatever a client sent
 * under such a name (any case, '-' or '_') is removed before anyone reads it.
 */
static int is_clerk_header(const char *name)
{
    static const char prefix[] = "x-clerk-";
    for (int i = 0; prefix[i]; i++) {
        char c = (char)apr_tolower(name[i]);
        if (c == '_')
            c = '-';
        if (c != prefix[i])
            return 0;
    }
    return 1;
}

static int collect_clerk_header(void *rec, const char *key, const char *value)
{
    if (is_clerk_header(key))
        APR_ARRAY_PUSH((apr_array_header_t *)rec, const char *) = key;
    return 1;
}

static void unset_names(apr_table_t *t, const apr_array_header_t *names)
{
    for (int i = 0; i < names->nelts; i++)
        apr_table_unset(t, APR_ARRAY_IDX(names, i, const char *));
}

static void strip_spoofed_headers(request_rec *r)
{
    apr_array_header_t *names = apr_array_make(r->pool, 0, sizeof(const char *));

    apr_table_do(collect_clerk_header, names, r->headers_in, NULL);
    for (int i = 0; i < names->nelts; i++)
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, APLOGNO(10602)
                      "removed client-sent header %s", APR_ARRAY_IDX(names, i, const char *));
    unset_names(r->headers_in, names);
}

/*
 * The handshake result parameters of the request line, taken out of it as
 * soon as the request is read (see take_handshake_params), kept here for
 * the decision: userdata of the initial request's pool.
 */
typedef struct {
    const char *handshake;          /* __clerk_handshake: a JWT holding a session token */
    const char *nonce;              /* __clerk_handshake_nonce */
} handshake_params;

#define HANDSHAKE_PARAMS_KEY "auth_clerk:handshake-params"

static const request_rec *initial_request(const request_rec *r)
{
    while (r->main || r->prev)
        r = r->main ? r->main : r->prev;
    return r;
}

static const handshake_params *request_handshake_params(const request_rec *r)
{
    void *hp = NULL;
    apr_pool_userdata_get(&hp, HANDSHAKE_PARAMS_KEY, initial_request(r)->pool);
    return hp;
}

/*
 * A handshake result comes back in the query of a page URL, and the
 * __clerk_handshake value embeds a fresh session token.  Before anything
 * else sees the request (the access log's %r, REQUEST_URI, THE_REQUEST,
 * QUERY_STRING, mod_rewrite, the application), the handshake parameters
 * are removed from the request line, from every view httpd keeps of it.
 * Done for every request: outside a handshake section they mean nothing to
 * httpd and are as secret.
 */
static void take_handshake_params(request_rec *r)
{
    handshake_params *hp;
    const char *clean, *path, *rest;
    apr_size_t path_len, method_len;

    if (!r->args || !strstr(r->args, "__clerk_"))
        return;
    clean = clerk_handshake_strip_query(r->pool, r->args);
    if (clean && !strcmp(clean, r->args))
        return;
    hp = apr_pcalloc(r->pool, sizeof(*hp));
    hp->handshake = clerk_query_param(r->pool, r->args, "__clerk_handshake");
    hp->nonce = clerk_query_param(r->pool, r->args, "__clerk_handshake_nonce");
    apr_pool_userdata_setn(hp, HANDSHAKE_PARAMS_KEY, NULL, r->pool);

    path = r->unparsed_uri;
    path_len = strcspn(path, "?");
    /* the request line is "<method> <unparsed uri>[ <protocol>]" */
    method_len = strlen(r->method);
    rest = NULL;
    if (r->the_request && !strncmp(r->the_request, r->method, method_len)
        && r->the_request[method_len] == ' '
        && !strncmp(r->the_request + method_len + 1, r->unparsed_uri, strlen(r->unparsed_uri)))
        rest = r->the_request + method_len + 1 + strlen(r->unparsed_uri);
    r->args = (char *)clean;
    r->parsed_uri.query = r->args;
    r->unparsed_uri = apr_pstrcat(r->pool, apr_pstrmemdup(r->pool, path, path_len),
                                  clean ? "?" : "", clean ? clean : "", NULL);
    r->the_request = apr_pstrcat(r->pool, r->method, " ", r->unparsed_uri,
                                 rest ? rest : " ", rest ? "" : r->protocol, NULL);
    ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r,
                  "handshake parameters taken out of the request line");
}

static int clerk_post_read_request(request_rec *r)
{
    strip_spoofed_headers(r);
    take_handshake_params(r);
    return DECLINED;
}

/*
 * Variables this module sets, the HTTP_X_CLERK_* that ap_add_common_vars
 * (mod_include) makes of its headers, and the REDIRECT_ copies of both.
 */
static int collect_clerk_var(void *rec, const char *key, const char *value)
{
    const char *name = strncmp(key, "REDIRECT_", 9) ? key : key + 9;

    if (!strncmp(name, "CLERK_", 6) || !strncmp(name, "HTTP_X_CLERK_", 13))
        APR_ARRAY_PUSH((apr_array_header_t *)rec, const char *) = key;
    return 1;
}

static clerk_request_state *request_state(const request_rec *r);

/*
 * A subrequest (mod_include, mod_rewrite look-ahead) copies its parent's
 * environment and request headers, and an internal redirect renames the
 * environment to REDIRECT_*: whatever this module exported for the parent
 * would reach a section that decides otherwise, or does not use Clerk at
 * all.  Every decision about such a request starts without them.
 */
static void clean_slate(request_rec *r)
{
    apr_array_header_t *names;
    int parent_decided = 0;

    if (!r->main && !r->prev)
        return;
    for (const request_rec *up = r->main ? r->main : r->prev; up && !parent_decided;
         up = up->main ? up->main : up->prev)
        parent_decided = request_state(up) != NULL;
    if (!parent_decided)
        return;
    names = apr_array_make(r->pool, 8, sizeof(const char *));
    apr_table_do(collect_clerk_var, names, r->subprocess_env, NULL);
    unset_names(r->subprocess_env, names);
    /* ap_add_common_vars of the parent (mod_include) put these in: the CGI makes its own */
    apr_table_unset(r->subprocess_env, "REMOTE_USER");
    apr_table_unset(r->subprocess_env, "AUTH_TYPE");
    /* the table may be the parent's own (internal redirects share it) */
    r->headers_in = apr_table_copy(r->pool, r->headers_in);
    names->nelts = 0;
    apr_table_do(collect_clerk_header, names, r->headers_in, NULL);
    unset_names(r->headers_in, names);
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
                ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, APLOGNO(10603)
                              "not passing %s as a header: control characters", v->header);
        }
    }
}

static void set_debug_headers(request_rec *r, const clerk_dir_conf *c, const char *status,
                              clerk_reason_t reason)
{
    if (c->debug_headers != 1)
        return;
    apr_table_setn(r->err_headers_out, "X-Clerk-Auth-Status", status);
    if (reason != CLERK_OK)
        apr_table_setn(r->err_headers_out, "X-Clerk-Auth-Reason", clerk_reason_str(reason));
}

/* Two string lists with the same values in the same order (NULL: empty). */
static int same_strings(const apr_array_header_t *x, const apr_array_header_t *y)
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
           && p->accept_types == o->accept_types && same_strings(p->issuers, o->issuers)
           && same_strings(p->authorized_parties, o->authorized_parties)
           && same_strings(p->audiences, o->audiences);
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
static clerk_carrier_t find_token(request_rec *r, const clerk_dir_conf *c, unsigned accept,
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

static const char *public_url(request_rec *r, const clerk_dir_conf *c);
static int navigation(const request_rec *r);

static int signed_out(request_rec *r, const clerk_dir_conf *c, clerk_request_state *st,
                      clerk_reason_t reason)
{
    st->reason = reason;
    set_debug_headers(r, c, "signed-out", reason);
    if (c->signed_out_action == SIGNED_OUT_PASS) {
        /* Anonymous: Require valid-user passes, clerk-* providers deny. */
        r->user = "";
        return OK;
    }
    if (c->signed_out_action == SIGNED_OUT_REDIRECT && navigation(r)) {
        /* A page view goes to the sign-in page, which sends the user back. */
        apr_table_setn(r->headers_out, "Location",
                       apr_pstrcat(r->pool, c->sign_in_url,
                                   strchr(c->sign_in_url, '?') ? "&" : "?", "redirect_url=",
                                   apr_pescape_urlencoded(r->pool, public_url(r, c)), NULL));
        apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
        return HTTP_MOVED_TEMPORARILY;
    }
    ap_note_auth_failure(r);
    return HTTP_UNAUTHORIZED;
}

static int signed_in(request_rec *r, const clerk_dir_conf *c, clerk_request_state *st)
{
    const char *claim = c->remote_user_claim ? c->remote_user_claim : "sub";
    const char *user = clerk_export_remote_user(r->pool, st->claims, claim);

    if (!user || !*user) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, APLOGNO(10604)
                      "token rejected: token-verification-failed (ClerkRemoteUserClaim "
                      "%s is missing, empty or not a string)", claim);
        st->claims = NULL;
        return signed_out(r, c, st, CLERK_TOKEN_VERIFICATION_FAILED);
    }
    st->reason = CLERK_OK;
    r->user = (char *)user;
    r->ap_auth_type = (char *)ap_auth_type(r);  /* AUTH_TYPE for CGI, as mod_auth_basic */
    set_debug_headers(r, c, "signed-in", CLERK_OK);
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
    const string_list *issuers = effective_issuers(c);

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
static void use_cached(request_rec *r, clerk_request_state *st, clerk_token_cache_t *tokens,
                       clerk_cached_token_t *entry)
{
    clerk_token_cache_release_on(r->pool, tokens, entry);
    st->claims = (clerk_claims_t *)clerk_cached_token_claims(entry);
    st->vars = clerk_cached_token_vars(entry);
}

/* ------------------------------------------------------------------------ */
/* The Backend API on behalf of clients                                     */

/*
 * Every opaque token and handshake nonce a client sends would cost a Backend
 * API call with the instance's secret, against a rate limit that every
 * service using that secret shares, and hold a worker while Clerk answers.
 * So: a budget of calls for what is not known good, shared by all processes
 * of the server (ClerkBackendAPIBudget), a bound on the threads of a process
 * waiting on answers (ClerkBackendAPIMaxWaiting), a short memory of refusals
 * and a memory of tokens Clerk vouched for (whose revocation re-checks are
 * not charged).  Beyond a bound a request gets 503 at once.
 */
#define DEFAULT_BUDGET_RATE 5
#define DEFAULT_BUDGET_BURST 20
#define DEFAULT_MAX_WAITING 8
#define REFUSAL_MEMORY_SECONDS 5       /* a dead token retried in a loop */
#define GOOD_MEMORY_SECONDS 3600       /* at most; never past the token's exp */
#define VERDICT_MEMORY_ENTRIES 4096

static struct {
    clerk_call_budget_t *budget;        /* post_config: shared by the children */
    clerk_verdict_memory_t *refused;    /* child_init: per process */
    clerk_verdict_memory_t *good;
    clerk_call_gate_t *gate;
} bapi;

/*
 * Take a place for one Backend API call: OK (then call bapi_leave), or 503
 * with Retry-After.  charge: whether the call counts against the budget.
 */
static int bapi_enter(request_rec *r, int charge, const char *what)
{
    static volatile apr_uint32_t last_waiting_log;
    const clerk_server_conf *sc = ap_get_module_config(r->server->module_config,
                                                       &auth_clerk_module);
    apr_interval_time_t retry = 0;

    if (bapi.gate && !clerk_call_gate_try_enter(bapi.gate)) {
        if (log_allowed(&last_waiting_log))
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, APLOGNO(10631)
                          "%s: ClerkBackendAPIMaxWaiting threads of this process already "
                          "wait on the Backend API: answering 503", what);
        apr_table_setn(r->err_headers_out, "Retry-After", "1");
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (!charge || !bapi.budget
        || clerk_call_budget_take(bapi.budget, sc->budget_bucket, apr_time_now(), &retry))
        return OK;
    if (bapi.gate)
        clerk_call_gate_leave(bapi.gate);
    if (clerk_call_budget_warn_due(bapi.budget, sc->budget_bucket, apr_time_now(),
                                   apr_time_from_sec(LOG_INTERVAL)))
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, APLOGNO(10632)
                      "%s: the Backend API budget (ClerkBackendAPIBudget) is spent: "
                      "answering 503", what);
    apr_table_setn(r->err_headers_out, "Retry-After",
                   apr_psprintf(r->pool, "%" APR_TIME_T_FMT,
                                (retry + APR_USEC_PER_SEC - 1) / APR_USEC_PER_SEC + (retry == 0)));
    return HTTP_SERVICE_UNAVAILABLE;
}

static void bapi_leave(void)
{
    if (bapi.gate)
        clerk_call_gate_leave(bapi.gate);
}

/*
 * The key of a Backend API answer: the token (or nonce) under everything the
 * answer depends on; a digest, never the token or the secret.  0 when it
 * could not be computed (out of memory): then nothing is remembered.
 */
static int bapi_key(const clerk_dir_conf *c, const char *secret, unsigned kind,
                    const char *token, int ttl, unsigned char *key)
{
    struct {
        unsigned char secret[CLERK_TOKEN_CACHE_KEY_LEN];
        unsigned char audiences[CLERK_TOKEN_CACHE_KEY_LEN];
        unsigned kind;                  /* a token type, or 0 for a nonce */
        int ttl;
    } ctx;

    memset(&ctx, 0, sizeof(ctx));
    if (c->audiences && kind)
        memcpy(ctx.audiences, c->audiences->digest, sizeof(ctx.audiences));
    ctx.kind = kind;
    ctx.ttl = ttl;
    return clerk_digest(secret, strlen(secret), ctx.secret)
        && clerk_token_cache_key(token, strlen(token), &ctx, sizeof(ctx), key);
}

/*
 * Opaque mt_/oat_/ak_ tokens: only from the Authorization header, only when
 * their type is accepted here and they are well-formed, verified by the
 * Backend API (answers reused for ClerkMachineTokenCacheTTL seconds when
 * that is set) within its budget.
 */
static int check_opaque(request_rec *r, const clerk_dir_conf *c, clerk_request_state *st,
                        const char *token, clerk_token_type_t type, const char *carrier)
{
    clerk_server_conf *sc = ap_get_module_config(r->server->module_config, &auth_clerk_module);
    const clerk_request_state *earlier = request_state(r->main ? r->main : r->prev);
    const char *secret = type == CLERK_TYPE_M2M && c->machine_secret
        ? c->machine_secret : (c->backend_api ? c->backend_api->secret : NULL);
    int ttl = c->machine_cache_ttl == UNSET ? 0 : c->machine_cache_ttl;
    clerk_token_cache_t *cache = ttl ? sc->token_cache : NULL;
    apr_int64_t now = apr_time_sec(apr_time_now());
    unsigned char key[CLERK_TOKEN_CACHE_KEY_LEN];
    clerk_cached_token_t *entry;
    clerk_verify_result_t res;
    const char *detail = NULL;
    int keyed, remembered, known_good, rv;
    clerk_bapi_outcome_t outcome;

    st->token = token;
    st->claims = NULL;
    if (!(st->opts.accept_types & type)) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, APLOGNO(10618)
                      "token rejected: token-type-mismatch (%s from %s is not accepted here)",
                      clerk_token_type_name(type), carrier);
        return signed_out(r, c, st, CLERK_TOKEN_TYPE_MISMATCH);
    }
    if (!secret || !sc->backend_api) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, APLOGNO(10619)
                      "token rejected: token-invalid (an opaque %s needs ClerkSecretKey%s)",
                      clerk_token_type_name(type),
                      type == CLERK_TYPE_M2M ? " or ClerkMachineSecretKey" : "");
        return signed_out(r, c, st, CLERK_TOKEN_INVALID);
    }
    if (clerk_opaque_token_wellformed(token, strlen(token)) != type) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, APLOGNO(10633)
                      "token rejected: token-invalid (malformed opaque %s from %s; not sent "
                      "to the Backend API)", clerk_token_type_name(type), carrier);
        return signed_out(r, c, st, CLERK_TOKEN_INVALID);
    }
    /*
     * A subrequest or internal redirect into another section re-uses the
     * answer the Backend API gave for the same token, secret and audiences.
     * (For an opaque token, key_source is the secret it was verified with.)
     */
    st->key_source = secret;
    if (earlier && earlier->claims && earlier->claims->type == type && earlier->key_source
        && !strcmp(earlier->token, token) && !strcmp(earlier->key_source, secret)
        && same_strings(earlier->opts.audiences, st->opts.audiences)) {
        st->claims = earlier->claims;
        st->vars = earlier->vars;
        return signed_in(r, c, st);
    }
    keyed = bapi_key(c, secret, type, token, ttl, key);
    if (keyed && bapi.refused && clerk_verdict_memory_recall(bapi.refused, key, now, &remembered)) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, APLOGNO(10634)
                      "token rejected: %s (the Backend API refused this %s moments ago)",
                      clerk_reason_str((clerk_reason_t)remembered), clerk_token_type_name(type));
        return signed_out(r, c, st, (clerk_reason_t)remembered);
    }
    if (!keyed)
        cache = NULL;
    else if (cache && (entry = clerk_token_cache_get(cache, key, 0, now))) {
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, "Backend API answer found in the cache");
        use_cached(r, st, cache, entry);
        return signed_in(r, c, st);
    }
    known_good = keyed && bapi.good && clerk_verdict_memory_recall(bapi.good, key, now, NULL);
    if ((rv = bapi_enter(r, !known_good, "opaque token")) != OK)
        return rv;
    outcome = clerk_backend_verify_opaque(r->pool, sc->backend_api,
                                          sc->api_url ? sc->api_url : CLERK_DEFAULT_API_URL,
                                          secret, token, type, st->opts.audiences, now, &res,
                                          &detail);
    bapi_leave();
    switch (outcome) {
    case CLERK_BAPI_ANSWERED:
        break;
    case CLERK_BAPI_SECRET_REJECTED:
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, APLOGNO(10620) "%s", detail);
        apr_table_setn(r->err_headers_out, "Retry-After", "30");
        return HTTP_SERVICE_UNAVAILABLE;
    default:
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, APLOGNO(10621)
                      "%s: answering 503", detail);
        apr_table_setn(r->err_headers_out, "Retry-After", "5");
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (res.reason != CLERK_OK) {
        if (keyed && bapi.refused)
            clerk_verdict_memory_remember(bapi.refused, key, now + REFUSAL_MEMORY_SECONDS,
                                          (int)res.reason);
        if (keyed && bapi.good)
            clerk_verdict_memory_forget(bapi.good, key);
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, APLOGNO(10622)
                      "token rejected: %s (%s; %s from %s)", clerk_reason_str(res.reason),
                      res.detail ? res.detail : "-", clerk_token_type_name(type), carrier);
        return signed_out(r, c, st, res.reason);
    }
    if (keyed && bapi.good) {
        apr_int64_t until = now + GOOD_MEMORY_SECONDS;
        if (res.claims->exp && res.claims->exp < until)
            until = res.claims->exp;
        clerk_verdict_memory_remember(bapi.good, key, until, 0);
    }
    if (cache) {
        apr_int64_t until = now + ttl;
        if (res.claims->exp && res.claims->exp < until)
            until = res.claims->exp;
        if ((entry = clerk_token_cache_put(cache, key, 0, until, res.claims,
                                           clerk_export_vars(r->pool, res.claims)))) {
            use_cached(r, st, cache, entry);
            return signed_in(r, c, st);
        }
    }
    st->claims = res.claims;
    return signed_in(r, c, st);
}

/* The keys a verification uses: static, or a snapshot of a network cache. */
typedef struct {
    const static_keyset *fixed;
    clerk_jwks_cache_t *cache;
    clerk_jwks_snapshot_t *snap;
    const clerk_keyset_t *keys;
    apr_uint64_t generation;
} keys_in_use;

/* Take the section's keys; OK, or the HTTP status to answer (500, 503). */
static int acquire_keys(request_rec *r, const clerk_dir_conf *c, keys_in_use *k, apr_time_t now)
{
    memset(k, 0, sizeof(*k));
    if ((k->fixed = static_keys(c))) {
        k->keys = k->fixed->keys;
        return OK;
    }
    if (network_slot(c) && !(k->cache = slot_cache(r, network_slot(c)))) {
        apr_table_setn(r->err_headers_out, "Retry-After", "5");
        set_debug_headers(r, c, "signed-out", CLERK_JWK_FAILED_TO_RESOLVE);
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (!k->cache) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, APLOGNO(10607)
                      "AuthType Clerk without a key source: configure ClerkPublishableKey, "
                      "ClerkSecretKey, ClerkJWKSURL, ClerkJWKSFile or ClerkJWTKey(File)");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    switch (clerk_jwks_cache_acquire(k->cache, now, &k->snap)) {
    case CLERK_KEYS_READY:
        k->keys = clerk_jwks_snapshot_keys(k->snap);
        k->generation = clerk_jwks_snapshot_generation(k->snap);
        return OK;
    case CLERK_KEYS_NEVER_LOADED:
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, APLOGNO(10612)
                      "keys unavailable (not loaded yet): answering 503");
        apr_table_setn(r->err_headers_out, "Retry-After", "5");
        break;
    default:
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, APLOGNO(10624)
                      "keys unavailable (stale past ClerkJWKSMaxStale): answering 503");
        apr_table_setn(r->err_headers_out, "Retry-After", "30");
        break;
    }
    set_debug_headers(r, c, "signed-out", CLERK_JWK_FAILED_TO_RESOLVE);
    return HTTP_SERVICE_UNAVAILABLE;
}

static void release_keys(keys_in_use *k)
{
    if (k->snap)
        clerk_jwks_cache_release(k->cache, k->snap);   /* claims never point into keys */
    k->snap = NULL;
}

/*
 * Verify a JWT for this request, through the token cache.  Returns OK with
 * *reason set (st->claims on success), or an HTTP status when no decision
 * can be made (keys unavailable).
 */
static int verify_jwt(request_rec *r, const clerk_dir_conf *c, clerk_request_state *st,
                      const char *token, const char *carrier, clerk_reason_t *reason)
{
    clerk_server_conf *sc = ap_get_module_config(r->server->module_config, &auth_clerk_module);
    apr_size_t len = strlen(token);
    clerk_token_cache_t *cache = sc->token_cache;
    apr_time_t now = apr_time_now();
    const clerk_request_state *earlier = request_state(r->main ? r->main : r->prev);
    unsigned char key[CLERK_TOKEN_CACHE_KEY_LEN];
    clerk_cached_token_t *entry;
    clerk_verify_result_t res;
    keys_in_use k;
    int rv;

    st->token = token;
    st->claims = NULL;
    if ((rv = acquire_keys(r, c, &k, now)) != OK)
        return rv;
    st->key_source = k.fixed ? (const void *)k.fixed->keys : (const void *)k.cache;

    /* A subrequest or internal redirect re-uses an identical verification. */
    if (earlier && same_verification(earlier, token, st->key_source, &st->opts)) {
        release_keys(&k);
        st->claims = earlier->claims;
        st->vars = earlier->vars;
        *reason = CLERK_OK;
        return OK;
    }
    if (cache && !token_cache_key(c, k.fixed, k.cache, &st->opts, token, len, key))
        cache = NULL;       /* out of memory: verify without the cache */
    if (cache && (entry = clerk_token_cache_get(cache, key, k.generation, apr_time_sec(now)))) {
        release_keys(&k);
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, "verified token found in the cache");
        use_cached(r, st, cache, entry);
        *reason = CLERK_OK;
        return OK;
    }
    clerk_verify_token(r->pool, token, len, k.keys, &st->opts, apr_time_sec(now), &res);
    release_keys(&k);
    if (res.reason == CLERK_JWK_KID_MISMATCH && k.cache && clerk_jwks_cache_kid_miss(k.cache, now))
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, APLOGNO(10613)
                      "unknown kid %s: asked for a key set refresh", loggable_kid(res.kid));
    *reason = res.reason;
    if (res.reason != CLERK_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, APLOGNO(10608)
                      "token rejected: %s (%s; kid %s; from %s)", clerk_reason_str(res.reason),
                      res.detail ? res.detail : "-", loggable_kid(res.kid), carrier);
        return OK;
    }
    if (cache && clerk_token_cache_admit(cache, key)
        && (entry = clerk_token_cache_put(cache, key, k.generation,
                                          res.claims->exp + st->opts.clock_skew, res.claims,
                                          clerk_export_vars(r->pool, res.claims))))
        use_cached(r, st, cache, entry);
    else
        st->claims = res.claims;
    return OK;
}

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
static const char *public_host(request_rec *r, const clerk_dir_conf *c)
{
    apr_uri_t uri;

    if (apr_uri_parse(r->pool, public_url(r, c), &uri) != APR_SUCCESS || !uri.hostname)
        return r->hostname;
    return uri.hostname;
}

static int navigation(const request_rec *r)
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

    if (!navigation(r) || !c->instance.key->production
        || count >= CLERK_HANDSHAKE_MAX_REDIRECTS) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, APLOGNO(10625)
                      "no handshake (%s): %s", why,
                      !navigation(r) ? "not a navigation request"
                      : !c->instance.key->production ? "development instance"
                                                        : "redirect loop guard");
        return signed_out(r, c, st, fallback);
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, APLOGNO(10626) "handshake: %s", why);
    apr_table_setn(r->headers_out, "Location",
                   clerk_handshake_location(r->pool, base, public_url(r, c), why, suffixed));
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
 * A handshake nonce for its Set-Cookie directives, within the Backend API
 * budget: OK with *directives (NULL when there are none to use, *detail says
 * why), or 503.  A malformed nonce is never sent; one Clerk did not know is
 * remembered, so a client replaying it costs one call.
 */
static int exchange_nonce(request_rec *r, const clerk_dir_conf *c, const char *nonce,
                          apr_array_header_t **directives, const char **detail)
{
    clerk_server_conf *sc = ap_get_module_config(r->server->module_config, &auth_clerk_module);
    const char *secret = c->backend_api->secret;
    apr_int64_t now = apr_time_sec(apr_time_now());
    unsigned char key[CLERK_TOKEN_CACHE_KEY_LEN];
    int keyed, rv;
    clerk_bapi_outcome_t outcome;

    *directives = NULL;
    if (!clerk_handshake_nonce_wellformed(nonce, strlen(nonce))) {
        *detail = "malformed handshake nonce (not sent to the Backend API)";
        return OK;
    }
    keyed = bapi_key(c, secret, 0, nonce, 0, key);
    if (keyed && bapi.refused && clerk_verdict_memory_recall(bapi.refused, key, now, NULL)) {
        *detail = "the Backend API did not know this handshake nonce moments ago";
        return OK;
    }
    if ((rv = bapi_enter(r, 1, "handshake nonce")) != OK)
        return rv;
    outcome = clerk_backend_handshake_payload(r->pool, sc->backend_api,
                                              sc->api_url ? sc->api_url : CLERK_DEFAULT_API_URL,
                                              secret, nonce, directives, detail);
    bapi_leave();
    if (outcome != CLERK_BAPI_ANSWERED)
        *directives = NULL;
    else if (!(*directives)->nelts && keyed && bapi.refused)
        clerk_verdict_memory_remember(bapi.refused, key, now + REFUSAL_MEMORY_SECONDS, 0);
    return OK;
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
    const clerk_request_state *earlier = request_state(r->main ? r->main : r->prev);
    const handshake_params *hp = request_handshake_params(r);
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
        if ((rv = verify_jwt(r, c, st, earlier->handshake_session, "handshake", &reason)) != OK)
            return rv;
        if (reason == CLERK_OK) {
            st->handshake_session = earlier->handshake_session;
            return signed_in(r, c, st);
        }
        /* not valid here (another instance's section): the ordinary flow decides */
    }
    /*
     * As Clerk's SDK: a nonce (query, then cookie) before a handshake token.
     * Stricter than the SDK, a nonce counts only on a page view (where a
     * handshake redirect lands): exchanging it costs a Backend API call,
     * which no other request may make anyone spend.
     */
    if (navigation(r) && !(nonce = hp ? hp->nonce : NULL))
        nonce = cookie(r, "__clerk_handshake_nonce");
    if (!nonce && !(hs = hp ? hp->handshake : NULL) && !(hs = cookie(r, "__clerk_handshake")))
        return DECLINED;
    if (hs) {
        keys_in_use k;
        if ((rv = acquire_keys(r, c, &k, apr_time_now())) != OK)
            return rv;
        reason = clerk_handshake_token_directives(r->pool, hs, k.keys, &directives, &detail);
        release_keys(&k);
        if (reason != CLERK_OK)
            detail = apr_pstrcat(r->pool, clerk_reason_str(reason), ": ", detail, NULL);
    }
    else if (!c->backend_api || !sc->backend_api)
        detail = "a handshake nonce needs ClerkSecretKey";
    else if ((rv = exchange_nonce(r, c, nonce, &directives, &detail)) != OK)
        return rv;
    if (!directives) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, APLOGNO(10627)
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
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, APLOGNO(10637)
                      "handshake directive not set: %s", APR_ARRAY_IDX(dropped, i, const char *));
    session = clerk_handshake_session(r->pool, directives);
    for (int i = 0; i < directives->nelts; i++)
        apr_table_addn(r->err_headers_out, "Set-Cookie", APR_ARRAY_IDX(directives, i, const char *));
    if (!session) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, APLOGNO(10628)
                      "handshake set no session: signed out");
        return signed_out(r, c, st, CLERK_SESSION_TOKEN_MISSING);
    }
    st->handshake_session = session;
    if ((rv = verify_jwt(r, c, st, session, "handshake", &reason)) != OK)
        return rv;
    return reason == CLERK_OK ? signed_in(r, c, st) : signed_out(r, c, st, reason);
}

/* Act on Clerk's decision for a session. */
static int act(request_rec *r, const clerk_dir_conf *c, clerk_request_state *st,
               clerk_session_decision_t d, int suffixed)
{
    switch (d.state) {
    case CLERK_SESSION_SIGNED_IN:
        return signed_in(r, c, st);
    case CLERK_SESSION_HANDSHAKE:
        st->claims = NULL;
        return handshake_redirect(r, c, st, d.handshake_reason, suffixed, d.reason);
    default:
        return signed_out(r, c, st, d.reason);
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

/*
 * ClerkSignedOutAction handshake: browser sessions as Clerk's SDK runs them
 * (clerk-semantics §6.6, production instances): the Authorization header
 * wins; otherwise a handshake result, then the __session/__client_uat pair
 * chosen by Clerk's suffix rules and its decision table.
 */
static int browser_session(request_rec *r, const clerk_dir_conf *c, clerk_request_state *st)
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
            return check_opaque(r, c, st, token, clerk_opaque_token_type(token), "header");
        if ((rv = verify_jwt(r, c, st, token, "header", &reason)) != OK)
            return rv;
        d = clerk_header_session_decision(reason);
        /* the handshake reports the cookie pair in use, as Clerk's SDK does */
        return act(r, c, st, d,
                   d.state == CLERK_SESSION_HANDSHAKE && session_cookies(r, c, &ck));
    case CLERK_CARRIER_MALFORMED:
        return signed_out(r, c, st, CLERK_TOKEN_INVALID);
    default:
        break;
    }
    if ((rv = handshake_result(r, c, st)) != DECLINED)
        return rv;

    st->opts.accept_types &= CLERK_TYPE_SESSION;    /* cookies carry sessions only */
    suffixed = session_cookies(r, c, &ck);
    session = suffixed ? ck.session_suffixed : ck.session;
    uat = clerk_client_uat(suffixed ? ck.client_uat_suffixed : ck.client_uat);
    if (session && (rv = verify_jwt(r, c, st, session, "cookie", &reason)) != OK)
        return rv;
    return act(r, c, st,
               clerk_cookie_session_decision(session, uat, reason,
                                             st->claims && st->claims->has_iat,
                                             st->claims ? st->claims->iat : 0),
               suffixed);
}

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

    if (!is_clerk_request(r))
        return DECLINED;
    clean_slate(r);
    c = ap_get_module_config(r->per_dir_config, &auth_clerk_module);
    st = apr_pcalloc(r->pool, sizeof(*st));
    ap_set_module_config(r->request_config, &auth_clerk_module, st);
    effective_opts(c, &st->opts);
    if (c->signed_out_action == SIGNED_OUT_HANDSHAKE && c->instance.key)
        return browser_session(r, c, st);

    found = find_token(r, c, st->opts.accept_types, &token, &len, &carrier);
    if (found == CLERK_CARRIER_NONE) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, APLOGNO(10605)
                      "no token: session-token-missing");
        return signed_out(r, c, st, CLERK_SESSION_TOKEN_MISSING);
    }
    if (found == CLERK_CARRIER_MALFORMED) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, APLOGNO(10606)
                      "token rejected: token-invalid (malformed or repeated %s)", carrier);
        return signed_out(r, c, st, CLERK_TOKEN_INVALID);
    }
    if (!strcmp(carrier, "cookie"))
        st->opts.accept_types &= CLERK_TYPE_SESSION;   /* a cookie only carries sessions */
    if ((opaque = clerk_opaque_token_type(token)))
        return check_opaque(r, c, st, token, opaque, carrier);
    if ((rv = verify_jwt(r, c, st, token, carrier, &reason)) != OK)
        return rv;
    return reason == CLERK_OK ? signed_in(r, c, st) : signed_out(r, c, st, reason);
}

/*
 * Subrequests and internal redirects that this module did not decide: when
 * httpd skipped authentication because the configuration is the parent's, it
 * copied r->user; give that request the same variables too (an ErrorDocument
 * CGI or an SSI include sees CLERK_*).  Any other (another section, with or
 * without AuthType Clerk) gets nothing of the parent's (clean_slate).
 */
static int clerk_fixups(request_rec *r)
{
    const request_rec *parent = r->main ? r->main : r->prev;
    const clerk_request_state *earlier;
    clerk_request_state *st;

    if (request_state(r) || !parent)
        return DECLINED;
    clean_slate(r);
    earlier = request_state(parent);
    if (!r->user || !is_clerk_request(r) || parent->per_dir_config != r->per_dir_config
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
static int clerk_note_auth_failure(request_rec *r, const char *auth_type)
{
    const clerk_request_state *st;
    const char *realm, *header;

    if (!auth_type || strcasecmp(auth_type, AUTH_TYPE_NAME))
        return DECLINED;
    st = request_state(r);
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

/* ------------------------------------------------------------------------ */
/* Require clerk-* providers                                                  */

static const char *parse_require(cmd_parms *cmd, const char *line, const void **parsed,
                                 clerk_require_kind_t kind)
{
    clerk_require_t *req;
    const char *err = clerk_require_parse(cmd->pool, kind, line, &req);

    if (err)
        return apr_pstrcat(cmd->pool, "Require ", clerk_require_name(kind), ": ", err, NULL);
    *parsed = req;
    return NULL;
}

static authz_status check_require(request_rec *r, const char *line, const void *parsed)
{
    const clerk_require_t *req = parsed;
    const clerk_request_state *st;

    if (!r->user)
        return AUTHZ_DENIED_NO_USER;
    st = request_state(r);
    if (!st || !st->claims) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, APLOGNO(10609)
                      "Require %s %s: denied, no verified Clerk token",
                      clerk_require_name(req->kind), line);
        return AUTHZ_DENIED;
    }
    if (clerk_require_match(req, st->claims))
        return AUTHZ_GRANTED;
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, APLOGNO(10610)
                  "Require %s %s: denied for %s", clerk_require_name(req->kind), line, r->user);
    return AUTHZ_DENIED;
}

#define CLERK_PROVIDER(fn, kind)                                                  \
    static const char *parse_##fn(cmd_parms *cmd, const char *line, const void **p) \
    {                                                                             \
        return parse_require(cmd, line, p, kind);                                 \
    }                                                                             \
    static const authz_provider fn##_provider = {check_require, parse_##fn}

CLERK_PROVIDER(user, CLERK_REQUIRE_USER);
CLERK_PROVIDER(org, CLERK_REQUIRE_ORG);
CLERK_PROVIDER(org_role, CLERK_REQUIRE_ORG_ROLE);
CLERK_PROVIDER(org_permission, CLERK_REQUIRE_ORG_PERMISSION);
CLERK_PROVIDER(feature, CLERK_REQUIRE_FEATURE);
CLERK_PROVIDER(plan, CLERK_REQUIRE_PLAN);
CLERK_PROVIDER(machine, CLERK_REQUIRE_MACHINE);
CLERK_PROVIDER(scope, CLERK_REQUIRE_SCOPE);
CLERK_PROVIDER(token_type, CLERK_REQUIRE_TOKEN_TYPE);
CLERK_PROVIDER(claim, CLERK_REQUIRE_CLAIM);

/* ------------------------------------------------------------------------ */
/* Life cycle                                                                */

static int clerk_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    registry.slots = apr_array_make(pconf, 4, sizeof(key_slot *));
    registry.oauth_sections = apr_array_make(pconf, 2, sizeof(oauth_section));
    registry.sources = NULL;
    registry.serving = 0;
    return OK;
}

/*
 * Would this slot be the key source of the section that named it?  Only
 * such slots are fetched at start-up; any other is fetched on first use.
 */
static int slot_in_force(const key_slot *slot)
{
    const clerk_dir_conf *o = slot->owner;
    if (slot->from_publishable_key)
        return !o->keys.set && !o->backend_api;
    if (slot->secret)
        return !o->keys.set;
    return !o->keys.pem && !o->keys.jwks;
}

/*
 * Clerk issues OAuth tokens to every OAuth application of the instance: a
 * section that accepts them without ClerkAudience (in the section or the
 * server's defaults) lets any of those applications in.  Warned when the
 * configuration is first read: at start-up and by configtest (which
 * apache2ctl graceful runs first), not again on the second reading.
 */
static int clerk_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                              server_rec *s)
{
    if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG)
        return OK;
    for (int i = 0; i < registry.oauth_sections->nelts; i++) {
        const oauth_section *o = &APR_ARRAY_IDX(registry.oauth_sections, i, oauth_section);
        const clerk_dir_conf *defaults = ap_get_module_config(o->server->lookup_defaults,
                                                              &auth_clerk_module);
        if (!o->conf->audiences && !defaults->audiences)
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, o->server, APLOGNO(10630)
                         "ClerkAcceptToken at %s admits oauth_token without ClerkAudience: "
                         "an OAuth token that any OAuth application of the instance obtained "
                         "is accepted; set ClerkAudience to the audience of yours", o->where);
    }
    return OK;
}

/*
 * The Backend API budget, in shared memory made before the children are
 * forked, so that prefork's many children share one.  A virtual host whose
 * ClerkBackendAPIBudget differs from the main server's has a budget of its
 * own; the others share the main server's.
 */
static apr_status_t create_budget(apr_pool_t *pconf, server_rec *s)
{
    unsigned n = 0;
    apr_status_t rv;

    for (server_rec *vs = s; vs; vs = vs->next)
        n++;
    if ((rv = clerk_call_budget_create(&bapi.budget, pconf, n)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, APLOGNO(10635)
                     "cannot create the shared Backend API budget");
        return rv;
    }
    n = 0;
    for (server_rec *vs = s; vs; vs = vs->next) {
        clerk_server_conf *sc = ap_get_module_config(vs->module_config, &auth_clerk_module);
        const clerk_server_conf *main_sc = ap_get_module_config(s->module_config,
                                                                &auth_clerk_module);
        int rate = sc->budget_rate == UNSET ? DEFAULT_BUDGET_RATE : sc->budget_rate;
        int burst = sc->budget_burst == UNSET ? DEFAULT_BUDGET_BURST : sc->budget_burst;
        if (vs != s && sc->budget_rate == main_sc->budget_rate
            && sc->budget_burst == main_sc->budget_burst) {
            sc->budget_bucket = main_sc->budget_bucket;
            continue;
        }
        sc->budget_bucket = n;
        if ((rv = clerk_call_budget_configure(bapi.budget, n++, (unsigned)rate, (unsigned)burst))
            != APR_SUCCESS)
            return rv;
    }
    return APR_SUCCESS;
}

static int clerk_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                             server_rec *s)
{
    static int curl_ready;
    int warm = ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG
        && ap_state_query(AP_SQ_RUN_MODE) == AP_SQ_RM_NORMAL;
    apr_hash_t *fetched = apr_hash_make(ptemp);     /* caches fetched at start-up */

    if (!curl_ready) {
        clerk_http_global_init();
        curl_ready = 1;
    }
    const clerk_server_conf *main_sc = ap_get_module_config(s->module_config,
                                                            &auth_clerk_module);

    registry.main_server = s;
    registry.serving = 1;

    if (create_budget(pconf, s) != APR_SUCCESS)
        return HTTP_INTERNAL_SERVER_ERROR;
    registry.sources = clerk_source_registry_create(
        pconf, main_sc->max_key_sources == UNSET ? CLERK_DEFAULT_MAX_KEY_SOURCES
                                                 : (unsigned)main_sc->max_key_sources,
        log_from_cache, s);
    for (server_rec *vs = s; vs; vs = vs->next) {
        clerk_server_conf *sc = ap_get_module_config(vs->module_config, &auth_clerk_module);
        sc->token_cache = clerk_token_cache_create(
            pconf, sc->token_cache_entries == UNSET ? 4096 : (unsigned)sc->token_cache_entries);
    }
    for (int i = 0; i < registry.slots->nelts; i++) {
        key_slot *slot = APR_ARRAY_IDX(registry.slots, i, key_slot *);
        clerk_jwks_source_t src;
        slot_source(slot, slot->server, ptemp, &src);
        slot->cache = clerk_source_registry_pin(registry.sources, &src, ptemp);
        /*
         * Fetch each in-force source once, here, so children start warm.  A
         * cache shared by several slots is fetched for the first slot that
         * is in force, which need not be the one that made it.
         */
        if (!warm || !slot_in_force(slot)
            || apr_hash_get(fetched, &slot->cache, sizeof(slot->cache)))
            continue;
        apr_hash_set(fetched, apr_pmemdup(ptemp, &slot->cache, sizeof(slot->cache)),
                     sizeof(slot->cache), slot);
        if (clerk_jwks_cache_fetch_now(slot->cache, ptemp) != APR_SUCCESS)
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, APLOGNO(10614)
                         "key set not loaded at start-up; requests get 503 until a refresh "
                         "succeeds");
    }
    return OK;
}

static void clerk_child_init(apr_pool_t *pchild, server_rec *s)
{
    const clerk_server_conf *main_sc = ap_get_module_config(s->module_config,
                                                            &auth_clerk_module);

    if (clerk_source_registry_child_init(registry.sources, pchild) != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, APLOGNO(10615) "cannot set up the key caches");
    /* Without the memories nothing breaks: every call is then charged. */
    if (clerk_verdict_memory_create(&bapi.refused, pchild, VERDICT_MEMORY_ENTRIES) != APR_SUCCESS
        || clerk_verdict_memory_create(&bapi.good, pchild, VERDICT_MEMORY_ENTRIES)
               != APR_SUCCESS) {
        bapi.refused = bapi.good = NULL;
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, APLOGNO(10636)
                     "cannot set up the Backend API verdict memories");
    }
    bapi.gate = clerk_call_gate_create(pchild, main_sc->max_waiting == UNSET
                                                   ? DEFAULT_MAX_WAITING
                                                   : (unsigned)main_sc->max_waiting);
    for (server_rec *vs = s; vs; vs = vs->next) {
        clerk_server_conf *sc = ap_get_module_config(vs->module_config, &auth_clerk_module);
        clerk_http_opts_t opts = {0};
        if (sc->token_cache && clerk_token_cache_child_init(sc->token_cache, pchild) != APR_SUCCESS)
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, APLOGNO(10617)
                         "cannot set up the token cache");
        /* Backend API handles for opaque tokens, shared by this process's threads. */
        opts.timeout_ms = sc->http_timeout_ms != UNSET ? sc->http_timeout_ms : 5000;
        opts.ca_file = sc->ca_file;
        opts.proxy = sc->proxy;
        if (clerk_http_create(pchild, &opts, 16, &sc->backend_api) != APR_SUCCESS)
            sc->backend_api = NULL;
    }
}

static void register_hooks(apr_pool_t *p)
{
    static const struct {
        const char *name;
        const authz_provider *provider;
    } providers[] = {
        {"clerk-user", &user_provider},
        {"clerk-org", &org_provider},
        {"clerk-org-role", &org_role_provider},
        {"clerk-org-permission", &org_permission_provider},
        {"clerk-feature", &feature_provider},
        {"clerk-plan", &plan_provider},
        {"clerk-machine", &machine_provider},
        {"clerk-scope", &scope_provider},
        {"clerk-token-type", &token_type_provider},
        {"clerk-claim", &claim_provider},
    };

    ap_hook_pre_config(clerk_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(clerk_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(clerk_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(clerk_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_read_request(clerk_post_read_request, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_check_authn(clerk_check_authn, NULL, NULL, APR_HOOK_MIDDLE,
                        AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_fixups(clerk_fixups, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_note_auth_failure(clerk_note_auth_failure, NULL, NULL, APR_HOOK_MIDDLE);
    for (size_t i = 0; i < sizeof(providers) / sizeof(providers[0]); i++)
        ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, providers[i].name,
                                  AUTHZ_PROVIDER_VERSION, providers[i].provider,
                                  AP_AUTH_INTERNAL_PER_CONF);
}

module AP_MODULE_DECLARE_DATA auth_clerk_module = {
    STANDARD20_MODULE_STUFF,
    create_dir_conf,
    merge_dir_conf,
    create_server_conf,
    merge_server_conf,
    clerk_cmds,
    register_hooks,
    AP_MODULE_FLAG_NONE
};
