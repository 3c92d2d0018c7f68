/*
 * What the httpd glue of mod_auth_clerk shares between its files: the
 * configuration structures, the per-request state, and the functions one
 * concern offers the others.  Only src/httpd/ and mod_auth_clerk.c include
 * httpd headers; the core under src/ never does.
 *
 *   config.c             per-directory and server configuration: create/merge,
 *                        the defaults, the effective settings, the check of
 *                        the configuration read
 *   config_directives.c  the directive table and its setters (but the key and
 *                        secret directives)
 *   config_keys.c        the key and secret directives, and what they read
 *   key_sources.c        the network key sources of a process and the keys a
 *                        request verifies with
 *   request_hygiene.c    what no request may carry in or pass on: spoofed
 *                        X-Clerk-* headers, handshake secrets in the request
 *                        line, a parent request's identity in a subrequest
 *   request_view.c       the request as the core's decision sees it (the
 *                        public URL among it)
 *   authn.c              AuthType Clerk: the view, the core's decision
 *                        (src/clerk_authenticate.c) and its outcome applied;
 *                        what the application sees; WWW-Authenticate
 *   jwt_verification.c   a JWT verified with the section's keys, through the
 *                        token cache or an earlier request's verification
 *   backend_api.c        the Backend API on behalf of clients: opaque tokens,
 *                        handshake nonces, the budget that bounds them
 *   proxy_token.c        Apache as the calling machine: ClerkProxyMachineToken,
 *                        the M2M token held per process (src/clerk_machine_token.c)
 *                        and set on the requests httpd proxies
 *   authz.c              the Require clerk-* providers, and the reverification
 *                        body of a fetch clerk-reverification denies
 *   json_body.c          a JSON body for a 401/403 httpd itself sends (the
 *                        reverification body, clerk-whoami's signed-out one)
 *   whoami.c             SetHandler clerk-whoami: the verified identity as JSON
 *   expr.c               the ap_expr functions clerk_claim() and clerk_has(), and
 *                        the decision they make before check_authn
 *   shared_cache.c       ClerkCache: the socache provider a fleet shares through,
 *                        each process's courier and cache (src/clerk_shared_cache.h)
 *   status.c             SetHandler clerk-status and mod_status's Clerk section:
 *                        the counters shared by all processes (src/clerk_metrics.h)
 *
 * Functions shared between files are named mac_*; everything else is static.
 */
#ifndef MOD_AUTH_CLERK_GLUE_H
#define MOD_AUTH_CLERK_GLUE_H

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mod_auth.h"

#include "apr_atomic.h"
#include "apr_strings.h"

#include "clerk_authenticate.h"
#include "clerk_backend_api.h"
#include "clerk_cache_courier.h"
#include "clerk_carrier.h"
#include "clerk_export.h"
#include "clerk_handshake.h"
#include "clerk_http.h"
#include "clerk_jwks_cache.h"
#include "clerk_key.h"
#include "clerk_log_gate.h"
#include "clerk_machine_token.h"
#include "clerk_metrics.h"
#include "clerk_org_sync.h"
#include "clerk_policy.h"
#include "clerk_publishable_key.h"
#include "clerk_satellite.h"
#include "clerk_token_cache.h"
#include "clerk_verify.h"

extern module AP_MODULE_DECLARE_DATA auth_clerk_module;
APLOG_USE_MODULE(auth_clerk);

/*
 * The module's own log tags ("CLERK012: ..."), one per message, so that a
 * log line leads to its source; httpd's APLOGNO numbers are httpd's own.
 */
#define CLERKNO(n) "CLERK" #n ": "

#define AUTH_TYPE_NAME "Clerk"
#define SESSION_COOKIE "__session"

/* ClerkTokenSource bits: the core's */
#define SOURCE_HEADER CLERK_FROM_HEADER
#define SOURCE_COOKIE CLERK_FROM_COOKIE

typedef enum {
    SIGNED_OUT_UNSET = 0, SIGNED_OUT_DENY, SIGNED_OUT_PASS, SIGNED_OUT_REDIRECT,
    SIGNED_OUT_HANDSHAKE
} signed_out_action_t;

/* ClerkPassClaimsAs bits */
#define PASS_UNSET 0
#define PASS_ENV 1
#define PASS_HEADERS 2
#define PASS_NONE 4

/* An integer setting not given in a section (merging keeps the parent's). */
#define UNSET -1

/*
 * The defaults of the server-scope directives, in seconds or counts: the one
 * place they are written.  config.c applies them to every server in
 * post_config (mac_config_end), and the directives' help text
 * quotes them, so code, help and README cannot disagree.
 */
#define DEFAULT_JWKS_TTL 300
#define DEFAULT_JWKS_REFRESH_MIN 30
#define DEFAULT_JWKS_MAX_STALE 86400
#define DEFAULT_HTTP_TIMEOUT 5
#define DEFAULT_TOKEN_CACHE 4096
#define DEFAULT_BUDGET_RATE 5
#define DEFAULT_BUDGET_BURST 20
#define DEFAULT_MAX_WAITING 8
#define DEFAULT_MAX_KEY_SOURCES 256
#define DEFAULT_CACHE_TIMEOUT_MS 50
/* and of a per-directory one, applied where it is read */
#define DEFAULT_MACHINE_TOKEN_CACHE_TTL 0

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

/*
 * The server-scope settings: how key sets are fetched (per server, since one
 * source has one fetch schedule per process) and what the Backend API may
 * cost.  Unset fields (-1, NULL) get their DEFAULT_* in post_config.
 */
typedef struct {
    const char *api_url;
    apr_interval_time_t jwks_ttl, refresh_min, max_stale;   /* -1: unset */
    apr_interval_time_t http_timeout;                       /* -1: unset */
    const char *ca_file, *proxy;
    int token_cache_entries;                                /* -1: unset */
    int allow_override_keys;                                /* -1: unset */
    int max_key_sources;                                    /* -1: unset; main server */
    int budget_rate, budget_burst;                          /* -1: unset */
    unsigned budget_bucket;                                 /* set in post_config */
    const char *budget_name;        /* post_config: the fleet's budget in the shared cache */
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
 * The explicit key source: ClerkJWTKey/ClerkJWTKeyFile, ClerkJWKSFile and
 * ClerkJWKSURL form one unit, so a child section that names any key replaces
 * the parent's choice as a whole.  Within a section the PEM key wins (the
 * source order of the README's "How keys are found, rotated and survive
 * outages").
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
    const char *frontend_api_base;      /* https://<frontend api>: where handshakes go */
} instance_identity;

/*
 * What a production satellite (ClerkIsSatellite On, ClerkDomain) derives
 * from its domain: Clerk's Frontend API there, clerk.<domain>, whose tokens
 * count as the instance's own, and the issuers accepted (the publishable
 * key's and that one).
 */
typedef struct {
    const char *frontend_api;           /* clerk.<domain> */
    const char *frontend_api_base;      /* https://clerk.<domain> */
    string_list *issuers;
} satellite_identity;

/*
 * ClerkProxyMachineToken and ClerkProxyMachineTokenTTL of one section: a
 * unit, so that a child section that names a token replaces the parent's
 * secret, machines and lifetime together (proxy_token.c).
 */
typedef struct {
    const char *secret;             /* NULL after "off"; never logged */
    apr_array_header_t *machines;   /* const char * mch_ ids the token must reach */
    int ttl;                        /* UNSET: CLERK_M2M_TTL_DEFAULT */
    int named;                      /* ClerkProxyMachineToken is in the section */
    server_rec *server;             /* whose ClerkAPIURL and HTTP settings apply */
    const char *where;              /* file:line */
    clerk_m2m_holder_t *holder;     /* post_config; NULL after "off" */
} proxy_token;

/*
 * Per-directory configuration.  Every field has an "unset" value so that a
 * child section overrides exactly what it sets (see mac_merge_dir_conf):
 * UNSET (-1) for numbers and flags, 0 or NULL for bit sets, keywords and
 * strings, which no directive can produce.
 */
typedef struct clerk_dir_conf {
    key_choice keys;                /* ClerkJWTKey(File), ClerkJWKSFile, ClerkJWKSURL */
    key_slot *backend_api;          /* ClerkSecretKey: Backend API /v1/jwks */
    const char *machine_secret;     /* ClerkMachineSecretKey: opaque M2M tokens */
    int machine_cache_ttl;          /* ClerkMachineTokenCacheTTL seconds */
    proxy_token *proxy_token;       /* ClerkProxyMachineToken(TTL); NULL: unset */

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
    int satellite;                          /* ClerkIsSatellite */
    const char *domain;                     /* ClerkDomain: the satellite's own domain */
    const char *satellite_sign_in_url;      /* ClerkSignInURL: the primary's sign-in page */
    int satellite_auto_sync;                /* ClerkSatelliteAutoSync */
    const satellite_identity *satellite_id; /* derived: mac_satellite_identity */
    /*
     * ClerkOrganizationSyncPattern and ClerkPersonalAccountPattern, compiled
     * when read (NULL: unset; empty after "off"): the decision asks
     * clerk_org_sync_find_target(&c->org_sync, ...) which organization a
     * page's URL names.  Each list is inherited or replaced on its own.
     */
    clerk_org_sync_t org_sync;
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

/* The keys a verification uses: static, or a snapshot of a network cache. */
typedef struct {
    const static_keyset *fixed;
    clerk_jwks_cache_t *cache;
    clerk_jwks_snapshot_t *snap;
    const clerk_keyset_t *keys;
    apr_uint64_t generation;
} keys_in_use;

/*
 * Whether a warning about a recurring condition may be logged now: at most
 * one per LOG_INTERVAL seconds per call site, so an attacker who triggers
 * it on every request cannot flood the error log.
 */
#define LOG_INTERVAL 10

static inline int log_allowed(volatile apr_uint32_t *last)
{
    return clerk_log_gate_open(last, LOG_INTERVAL);
}


/*
 * The handshake result parameters, taken out of the request line as soon as
 * the request is read and kept for the decision (request_hygiene.c).
 */
typedef struct {
    const char *handshake;          /* __clerk_handshake: a JWT holding a session token */
    const char *nonce;              /* __clerk_handshake_nonce */
    const char *dev_browser;        /* __clerk_db_jwt: a development browser's token */
} handshake_params;

/* ---- config.c ---- */
void *mac_create_dir_conf(apr_pool_t *p, char *dir);
void *mac_merge_dir_conf(apr_pool_t *p, void *basev, void *addv);
void *mac_create_server_conf(apr_pool_t *p, server_rec *s);
void *mac_merge_server_conf(apr_pool_t *p, void *basev, void *addv);
/* pre_config: a configuration is about to be read; post_config: it has been */
void mac_config_begin(apr_pool_t *pconf);
void mac_config_end(server_rec *s);
int mac_config_reading(void);
/* ClerkAcceptToken with oauth_token, read from the server configuration: for mac_check_config */
void mac_note_oauth_section(cmd_parms *cmd, const clerk_dir_conf *c);
int mac_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s);
int mac_in_htaccess(cmd_parms *cmd);
string_list *mac_make_list(apr_pool_t *p, int argc, char *const argv[]);
const static_keyset *mac_static_keys(const clerk_dir_conf *c);
key_slot *mac_network_slot(const clerk_dir_conf *c);
void mac_effective_opts(const clerk_dir_conf *c, clerk_verify_opts_t *o);
/* What a production satellite derives from its domain, or NULL (not one, or not yet known). */
const satellite_identity *mac_satellite_identity(apr_pool_t *p, const clerk_dir_conf *c);
/* The issuers the section's publishable key stands for (a satellite's two), or NULL. */
const string_list *mac_instance_issuers(const clerk_dir_conf *c);
/* ClerkIsSatellite On in this section: its companions are checked by mac_check_config. */
void mac_note_satellite_section(cmd_parms *cmd, const clerk_dir_conf *c);

/* ---- config_directives.c ---- */
extern const command_rec mac_cmds[];
/* A whole number within [min, max] into *out, or the directive's error message. */
const char *mac_parse_bounded(cmd_parms *cmd, const char *arg, apr_int64_t min,
                              apr_int64_t max, const char *unit, apr_int64_t *out);

/* ---- config_keys.c ---- */
const char *mac_set_keys_pem_text(cmd_parms *cmd, void *dconf, const char *arg);
const char *mac_set_keys_file(cmd_parms *cmd, void *dconf, const char *arg);
const char *mac_set_jwks_url(cmd_parms *cmd, void *dconf, const char *arg);
const char *mac_set_secret_key(cmd_parms *cmd, void *dconf, const char *arg);
const char *mac_set_machine_secret_key(cmd_parms *cmd, void *dconf, const char *arg);
/* literal, env:VAR or file:/path into *secret, or the directive's error */
const char *mac_read_secret(cmd_parms *cmd, const char *directive, const char *arg,
                            const char **secret);

/* ---- shared_cache.c ---- */
const char *mac_set_cache(cmd_parms *cmd, void *dconf, const char *arg);
const char *mac_set_cache_key(cmd_parms *cmd, void *dconf, const char *arg);
const char *mac_set_cache_timeout(cmd_parms *cmd, void *dconf, const char *arg);
void mac_shared_cache_begin(apr_pool_t *pconf);
/* A ClerkSecretKey of the server configuration: the first derives the cache key. */
void mac_shared_cache_note_secret(cmd_parms *cmd, const char *secret);
int mac_shared_cache_check(server_rec *s);
apr_status_t mac_shared_cache_post_config(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s);
/* The parent's cache for the start-up fetches (post_config only), or NULL. */
struct clerk_shared_cache *mac_shared_cache_startup(void);
/* The start-up fetches are done: what they stored is written before it returns. */
void mac_shared_cache_startup_done(void);
void mac_shared_cache_child_init(apr_pool_t *pchild, server_rec *s);
/* This process's shared cache, or NULL (none configured, or not a serving process). */
struct clerk_shared_cache *mac_shared_cache(void);
/* The M2M token holders' share hooks (NULL without ClerkCache). */
const struct clerk_m2m_share *mac_shared_cache_m2m(void);
const char *mac_shared_cache_provider(void);
int mac_shared_cache_stats(clerk_courier_stats_t *stats, apr_uint64_t *rejected);
const char *mac_set_publishable_key(cmd_parms *cmd, void *dconf, const char *arg);

/* ---- key_sources.c ---- */
void mac_key_sources_begin(apr_pool_t *pconf);
key_slot *mac_slot_new(cmd_parms *cmd, const clerk_dir_conf *owner);
apr_status_t mac_key_sources_post_config(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s);
void mac_key_sources_child_init(apr_pool_t *pchild, server_rec *s);
clerk_step_t mac_acquire_keys(request_rec *r, const clerk_dir_conf *c, keys_in_use *k,
                              apr_time_t now, apr_int64_t *retry_after);
void mac_release_keys(keys_in_use *k);
/* What this process knows of each key source slot of the metrics (status.c). */
const clerk_metrics_source_view_t *mac_key_sources_views(apr_pool_t *p, unsigned *n);

/* ---- request_hygiene.c ---- */
int mac_post_read_request(request_rec *r);
const handshake_params *mac_handshake_params(const request_rec *r);
void mac_clean_slate(request_rec *r);

/* ---- authn.c ---- */
/*
 * The caller's side of the core's decision (clerk_auth_ops_t ctx) for a
 * request of a section: authn.c's, and expr.c's early one, which starts
 * with it.
 */
typedef struct {
    request_rec *r;
    const clerk_dir_conf *c;
    clerk_request_state *st;
} mac_ask;
clerk_step_t mac_ask_acquire_keys(void *ctx, const clerk_keyset_t **keys, void **hold,
                                  apr_int64_t *retry_after);
void mac_ask_release_keys(void *ctx, void *hold);
int mac_is_clerk_request(request_rec *r);
clerk_request_state *mac_request_state(const request_rec *r);
/* check_authn of a Clerk section: the view, the core's decision, its outcome applied */
int mac_authenticate(request_rec *r);
/* The core's decision for r under c (st->opts set from c), asking ops. */
void mac_decide(request_rec *r, const clerk_dir_conf *c, clerk_request_state *st,
                const clerk_auth_ops_t *ops, clerk_auth_outcome_t *outcome);
int mac_same_strings(const apr_array_header_t *x, const apr_array_header_t *y);
/*
 * The decision of the request this one derives from (the main request of a
 * subrequest, the previous one of an internal redirect), or NULL; each kind
 * of token says when it may be re-used (mac_verify_jwt, mac_check_opaque,
 * a handshake's session, mac_fixups), and mac_adopt re-uses it.
 */
const clerk_request_state *mac_earlier_state(const request_rec *r);
void mac_adopt(clerk_request_state *st, const clerk_request_state *earlier);
int mac_fixups(request_rec *r);
int mac_note_auth_failure(request_rec *r, const char *auth_type);

/* ---- jwt_verification.c ---- */
void mac_use_cached(clerk_request_state *st, const clerk_cached_token_t *entry);
clerk_step_t mac_verify_jwt(request_rec *r, const clerk_dir_conf *c, clerk_request_state *st,
                            const char *token, unsigned accept_types, apr_int64_t clock_skew,
                            const char *carrier, clerk_reason_t *reason,
                            apr_int64_t *retry_after);

/* ---- backend_api.c ---- */
apr_status_t mac_backend_api_post_config(apr_pool_t *pconf, server_rec *s);
void mac_backend_api_child_init(apr_pool_t *pchild, server_rec *s);
clerk_step_t mac_check_opaque(request_rec *r, const clerk_dir_conf *c, clerk_request_state *st,
                              const char *token, clerk_token_type_t type, const char *carrier,
                              clerk_claims_t **claims, clerk_reason_t *reason,
                              apr_int64_t *retry_after);
clerk_step_t mac_exchange_nonce(request_rec *r, const clerk_dir_conf *c, const char *nonce,
                                apr_array_header_t **directives, const char **detail,
                                apr_int64_t *retry_after);
clerk_step_t mac_refresh_session(request_rec *r, const clerk_dir_conf *c,
                                 const char *expired_token, const char *refresh_token,
                                 int suffixed_cookies, clerk_refresh_result_t *result,
                                 apr_int64_t *retry_after);

/* ---- proxy_token.c ---- */
const char *mac_set_proxy_token(cmd_parms *cmd, void *dconf, int argc, char *const argv[]);
const char *mac_set_proxy_token_ttl(cmd_parms *cmd, void *dconf, const char *arg);
void mac_proxy_token_begin(apr_pool_t *pconf);
/* the parent: a holder per distinct token, and its first token (or the previous generation's) */
apr_status_t mac_proxy_token_post_config(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s);
void mac_proxy_token_child_init(apr_pool_t *pchild, server_rec *s);
/* its check_config and fixups hooks */
void mac_register_proxy_token(void);

/* ---- request_view.c ---- */
void mac_request_view(request_rec *r, const clerk_dir_conf *c, int with_url,
                      clerk_request_view_t *v);

/* ---- authz.c ---- */
void mac_register_providers(apr_pool_t *p);

/* ---- json_body.c ---- */
/* body is the response text for each of the n statuses, if httpd answers one of them */
void mac_offer_json_body(request_rec *r, const char *body, const int *statuses, int n);
/* fixups: a request granted after all keeps no body offered for a denial */
int mac_withdraw_json_body(request_rec *r);
/* insert_error_filter: an offered body goes out as application/json */
void mac_insert_json_body_filter(request_rec *r);
void mac_register_json_body_filter(void);

/* ---- whoami.c ---- */
void mac_register_whoami(void);
/* check_authn denied the request (401): a clerk-whoami section answers it in JSON */
void mac_whoami_denied(request_rec *r);

/* ---- expr.c ---- */
void mac_register_expr(void);
/*
 * The verifications (clerk_request_state, each with the options it used) an
 * expression made for r before check_authn, or NULL: re-used by a later one
 * of the same token, key source and options.
 */
const apr_array_header_t *mac_expr_verifications(const request_rec *r);
/* ---- status.c ---- */
/* post_config, before key sources and caches: the counters shared by all processes */
apr_status_t mac_metrics_post_config(apr_pool_t *pconf, server_rec *s);
/* child_init: this child's stripes of the request counts */
void mac_metrics_child_init(void);
/* The counters, or NULL (then nothing is counted) */
clerk_metrics_t *mac_metrics(void);
/* apply_outcome: one authentication's outcome counted */
void mac_count_outcome(const clerk_auth_outcome_t *o);
void mac_register_status(void);

#endif
