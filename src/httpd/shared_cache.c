/*
 * ClerkCache: the shared cache of a fleet (src/clerk_shared_cache.h) on one
 * of Apache's socache providers — shmcb for the processes of one server,
 * redis or memcache for many — through ap_socache.h, as mod_ssl's session
 * cache and mod_authn_socache use them.  This file reads the three
 * directives, sets the provider up (its cross-process mutex when it is not
 * safe for several processes, as shmcb), and gives each serving process its
 * courier and cache; key_sources.c and backend_api.c decide what to share.
 *
 * The provider's calls block, so only couriers make them
 * (src/clerk_cache_courier.h): a request waits on the cache at most
 * ClerkCacheTimeout, and a cache that fails is rested, never a 5xx.
 */
#include "auth_clerk.h"

#include "ap_socache.h"
#include "util_mutex.h"

#include "clerk_machine_token.h"
#include "clerk_shared_cache.h"

#define CACHE_MUTEX_TYPE "auth-clerk-cache"
#define DEFAULT_CACHE_TIMEOUT apr_time_from_msec(DEFAULT_CACHE_TIMEOUT_MS)
#define MAX_CACHE_TIMEOUT apr_time_from_sec(1)
/* Calls that may wait for a process's courier; beyond it they are refused. */
#define COURIER_QUEUE 256
/* How long the parent's start-up look-ups and stores may take in all per call. */
#define STARTUP_WAIT apr_time_from_sec(1)

/*
 * The main server's settings (the directives are refused elsewhere), read
 * anew with each configuration generation (pre_config resets them), and
 * what post_config and child_init make of them.
 */
static struct {
    const ap_socache_provider_t *provider;      /* NULL: ClerkCache none (the default) */
    const char *provider_name, *provider_args;
    ap_socache_instance_t *instance;
    const char *cache_key;                      /* ClerkCacheKey */
    const char *first_secret;                   /* of the server configuration */
    apr_interval_time_t timeout;                /* -1: unset */
    clerk_seal_keys_t *seal;                    /* post_config */
    apr_global_mutex_t *mutex;                  /* for a provider not safe across processes */
    server_rec *s;
    clerk_shared_cache_t *startup;              /* the parent's, during post_config */
    clerk_courier_t *startup_courier;
    clerk_courier_t *courier;                   /* child_init: this process's */
    clerk_shared_cache_t *cache;
} shared;

void mac_shared_cache_begin(apr_pool_t *pconf)
{
    memset(&shared, 0, sizeof(shared));
    shared.timeout = UNSET;
    ap_mutex_register(pconf, CACHE_MUTEX_TYPE, NULL, APR_LOCK_DEFAULT, 0);
}

static const char *main_server_only(cmd_parms *cmd)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    return err ? apr_pstrcat(cmd->pool, cmd->cmd->name, " belongs in the main server "
                             "configuration: one shared cache serves every virtual host",
                             NULL) : NULL;
}

/* ClerkCache none | <provider>[:<arguments>] */
const char *mac_set_cache(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *err = main_server_only(cmd), *sep = strchr(arg, ':');
    const char *name = sep ? apr_pstrndup(cmd->pool, arg, (apr_size_t)(sep - arg)) : arg;

    if (err)
        return err;
    shared.provider = NULL;
    if (!strcasecmp(arg, "none"))
        return NULL;
    shared.provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name,
                                         AP_SOCACHE_PROVIDER_VERSION);
    if (!shared.provider)
        return apr_psprintf(cmd->pool, "ClerkCache: no socache provider \"%s\" is loaded "
                            "(LoadModule socache_%s_module, or a2enmod socache_%s, before "
                            "this line)", name, name, name);
    shared.provider_name = name;
    shared.provider_args = sep ? apr_pstrdup(cmd->pool, sep + 1) : "";
    err = shared.provider->create(&shared.instance, shared.provider_args, cmd->temp_pool,
                                  cmd->pool);
    if (err) {
        shared.provider = NULL;
        return apr_psprintf(cmd->pool, "ClerkCache %s: %s", arg, err);
    }
    return NULL;
}

/* ClerkCacheKey file:/path | env:VAR | <key>: at least CLERK_SEAL_MIN_KEY characters */
const char *mac_set_cache_key(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *err = main_server_only(cmd);

    if (err || (err = mac_read_secret(cmd, "ClerkCacheKey", arg, &shared.cache_key)))
        return err;
    if (strlen(shared.cache_key) < CLERK_SEAL_MIN_KEY)
        return apr_psprintf(cmd->pool, "ClerkCacheKey: the key has %" APR_SIZE_T_FMT
                            " characters, fewer than %d (make one with: openssl rand -hex 32)",
                            strlen(shared.cache_key), CLERK_SEAL_MIN_KEY);
    return NULL;
}

const char *mac_set_cache_timeout(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *err = main_server_only(cmd);
    apr_interval_time_t t;

    if (err)
        return err;
    if (ap_timeout_parameter_parse(arg, &t, "s") != APR_SUCCESS || t < apr_time_from_msec(1)
        || t > MAX_CACHE_TIMEOUT)
        return "ClerkCacheTimeout: a time from 1ms to 1s (such as 50ms)";
    shared.timeout = t;
    return NULL;
}

void mac_shared_cache_note_secret(cmd_parms *cmd, const char *secret)
{
    if (!shared.first_secret && !mac_in_htaccess(cmd))
        shared.first_secret = apr_pstrdup(cmd->pool, secret);
}

/* A configured cache has a key: checked for apache2 -t too. */
int mac_shared_cache_check(server_rec *s)
{
    if (shared.provider && !shared.cache_key && !shared.first_secret) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, CLERKNO(170)
                     "ClerkCache %s needs ClerkCacheKey (or a ClerkSecretKey in the server "
                     "configuration to derive one from): its values are sealed",
                     shared.provider_name);
        return 0;
    }
    if (shared.provider && !shared.cache_key && strlen(shared.first_secret) < CLERK_SEAL_MIN_KEY) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, CLERKNO(177)
                     "ClerkCache %s: the ClerkSecretKey it would derive its key from is "
                     "shorter than %d characters: set ClerkCacheKey", shared.provider_name,
                     CLERK_SEAL_MIN_KEY);
        return 0;
    }
    return 1;
}

static void log_from_cache(void *baton, int level, const char *msg)
{
    ap_log_error(APLOG_MARK, level, 0, (server_rec *)baton, CLERKNO(171) "%s", msg);
}

/* ---- the store a courier calls: the provider, under its mutex when it needs one ---- */

typedef struct {
    ap_socache_instance_t *instance;
    apr_global_mutex_t *mutex;
    server_rec *s;
} store_baton;

static apr_status_t store_get(void *baton, const char *key, unsigned char *buf, apr_size_t *len,
                              apr_pool_t *scratch)
{
    store_baton *b = baton;
    unsigned int n = *len > UINT_MAX ? UINT_MAX : (unsigned int)*len;
    apr_status_t rv;

    if (b->mutex && (rv = apr_global_mutex_lock(b->mutex)) != APR_SUCCESS)
        return rv;
    rv = shared.provider->retrieve(b->instance, b->s, (const unsigned char *)key,
                                   (unsigned int)strlen(key), buf, &n, scratch);
    if (b->mutex)
        apr_global_mutex_unlock(b->mutex);
    *len = n;
    /* a value too large for us is no value of ours (someone else wrote it) */
    return rv == APR_ENOSPC ? APR_NOTFOUND : rv;
}

static apr_status_t store_put(void *baton, const char *key, apr_time_t expiry,
                              const unsigned char *value, apr_size_t len, apr_pool_t *scratch)
{
    store_baton *b = baton;
    apr_time_t soonest = apr_time_now() + apr_time_from_sec(2);
    apr_status_t rv;

    /*
     * redis and memcache count expiry in whole seconds from now, rounded
     * down, and refuse none left (SETEX 0): a value is kept two seconds at
     * least.  Keeping it longer is
     * harmless, its own expiry is sealed in it (clerk_unseal).
     */
    if (expiry < soonest)
        expiry = soonest;
    if (b->mutex && (rv = apr_global_mutex_lock(b->mutex)) != APR_SUCCESS)
        return rv;
    /* the providers do not write through data; their prototype predates const */
    rv = shared.provider->store(b->instance, b->s, (const unsigned char *)key,
                                (unsigned int)strlen(key), expiry, (unsigned char *)value,
                                (unsigned int)len, scratch);
    if (b->mutex)
        apr_global_mutex_unlock(b->mutex);
    return rv;
}

static clerk_shared_cache_t *cache_over(apr_pool_t *p, ap_socache_instance_t *instance,
                                        apr_global_mutex_t *mutex, server_rec *s,
                                        clerk_courier_t **courier_out)
{
    store_baton *b = apr_pcalloc(p, sizeof(*b));
    clerk_store_t store = {store_get, store_put, b};
    clerk_courier_t *courier;

    b->instance = instance;
    b->mutex = mutex;
    b->s = s;
    if (clerk_courier_create(&courier, p, &store, COURIER_QUEUE,
                             CLERK_SEAL_MAX_VALUE + CLERK_SEAL_OVERHEAD) != APR_SUCCESS)
        return NULL;
    if (courier_out)
        *courier_out = courier;
    return clerk_shared_cache_create(p, shared.seal, courier, shared.timeout, log_from_cache, s);
}

static apr_status_t destroy_instance(void *data)
{
    shared.provider->destroy(data, shared.s);
    return APR_SUCCESS;
}

/* What the cache holds: names of 52 characters, values of some hundreds of bytes. */
static const struct ap_socache_hints cache_hints = {
    CLERK_SEAL_NAME_LEN, 1024, apr_time_from_sec(60)
};

/*
 * The keys, the provider and its mutex; and for a provider other processes
 * reach too (redis, memcache), an instance of the parent's own for the
 * start-up fetches, so that a server starting beside others adopts the key
 * sets they hold.  It lives in ptemp, so its connections are closed before
 * the children fork: sockets a parent opened would be shared by them all.
 */
apr_status_t mac_shared_cache_post_config(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s)
{
    const char *material = shared.cache_key ? shared.cache_key : shared.first_secret;
    ap_socache_instance_t *startup;
    apr_status_t rv;

    shared.s = s;
    if (!shared.provider)
        return APR_SUCCESS;
    if (shared.timeout == UNSET)
        shared.timeout = DEFAULT_CACHE_TIMEOUT;
    if ((rv = clerk_seal_keys_derive(pconf, (const unsigned char *)material, strlen(material),
                                     &shared.seal)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, CLERKNO(176)
                     "ClerkCache %s: cannot derive the keys its values are sealed with",
                     shared.provider_name);
        return rv;
    }
    if ((shared.provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE)
        && (rv = ap_global_mutex_create(&shared.mutex, NULL, CACHE_MUTEX_TYPE, NULL, s, pconf,
                                        0)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, CLERKNO(172)
                     "ClerkCache %s: cannot create its mutex", shared.provider_name);
        return rv;
    }
    if ((rv = shared.provider->init(shared.instance, "mod_auth_clerk", &cache_hints, s, pconf))
        != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, CLERKNO(173)
                     "ClerkCache %s: the provider cannot be set up", shared.provider_name);
        return rv;
    }
    apr_pool_cleanup_register(pconf, shared.instance, destroy_instance, apr_pool_cleanup_null);
    if (shared.provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE
        || ap_state_query(AP_SQ_RUN_MODE) != AP_SQ_RM_NORMAL
        || shared.provider->create(&startup, shared.provider_args, ptemp, ptemp)
        || shared.provider->init(startup, "mod_auth_clerk", &cache_hints, s, ptemp)
               != APR_SUCCESS)
        return APR_SUCCESS;     /* nothing to adopt at start-up: it only saves fetches */
    apr_pool_cleanup_register(ptemp, startup, destroy_instance, apr_pool_cleanup_null);
    shared.startup = cache_over(ptemp, startup, NULL, s, &shared.startup_courier);
    return APR_SUCCESS;
}

/* The parent's start-up cache, during post_config, or NULL. */
clerk_shared_cache_t *mac_shared_cache_startup(void)
{
    return shared.startup;
}

void mac_shared_cache_startup_done(void)
{
    /*
     * What the start-up fetches stored is written before the courier goes
     * with ptemp (its queue would be dropped), for at most a second.
     */
    if (shared.startup_courier
        && clerk_courier_drain(shared.startup_courier, STARTUP_WAIT) != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, shared.s, CLERKNO(178)
                     "ClerkCache %s: the key sets fetched at start-up could not all be "
                     "stored in time", shared.provider_name);
    shared.startup = NULL;
    shared.startup_courier = NULL;
}

void mac_shared_cache_child_init(apr_pool_t *pchild, server_rec *s)
{
    if (!shared.provider || !shared.seal)
        return;
    if (shared.mutex && apr_global_mutex_child_init(&shared.mutex,
                                                    apr_global_mutex_lockfile(shared.mutex),
                                                    pchild) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, CLERKNO(174)
                     "ClerkCache %s: cannot attach its mutex; this process shares nothing",
                     shared.provider_name);
        return;
    }
    if (!(shared.cache = cache_over(pchild, shared.instance, shared.mutex, s, &shared.courier)))
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, CLERKNO(175)
                     "ClerkCache %s: cannot start its courier; this process shares nothing",
                     shared.provider_name);
}

clerk_shared_cache_t *mac_shared_cache(void)
{
    return shared.cache;
}

/* ---- M2M tokens Apache calls with (proxy_token.c): one creation per lifetime for the fleet ---- */

/* The parent's cache while it starts, each child's own after. */
static clerk_shared_cache_t *m2m_cache(void)
{
    return shared.cache ? shared.cache : shared.startup;
}

static int m2m_lookup(void *baton, const unsigned char *key, apr_pool_t *p, const char **token,
                      apr_time_t *expires)
{
    clerk_shared_cache_t *sc = m2m_cache();
    unsigned char *value;
    apr_size_t len;

    if (!sc || clerk_shared_cache_get(sc, CLERK_SEAL_M2M, key, CLERK_M2M_KEY_LEN,
                                      apr_time_now(), STARTUP_WAIT, p, &value, &len, expires)
                   != APR_SUCCESS)
        return 0;
    *token = (const char *)value;       /* NUL-terminated; checked as a new token */
    return 1;
}

static void m2m_publish(void *baton, const unsigned char *key, const char *token,
                        apr_time_t expires)
{
    clerk_shared_cache_t *sc = m2m_cache();
    apr_pool_t *p;

    if (!sc || apr_pool_create_unmanaged_ex(&p, NULL, NULL) != APR_SUCCESS)
        return;
    clerk_shared_cache_put(sc, CLERK_SEAL_M2M, key, CLERK_M2M_KEY_LEN, expires, token,
                           strlen(token), p);
    /* the creation lease (m2m_claim) is done with: the next renewal need not wait for it */
    clerk_shared_cache_release(sc, key, CLERK_M2M_KEY_LEN, p);
    apr_pool_destroy(p);
}

/*
 * A creation lease: longer than a creation takes (ClerkHTTPTimeout's default
 * is 5 s), shorter than any renewal margin (a token lives 60 s at least); a
 * creation slower than it may be duplicated, never prevented.
 */
#define M2M_CREATION_LEASE apr_time_from_sec(15)

static int m2m_claim(void *baton, const unsigned char *key)
{
    clerk_shared_cache_t *sc = m2m_cache();
    apr_pool_t *p;
    int held;

    if (!sc || apr_pool_create_unmanaged_ex(&p, NULL, NULL) != APR_SUCCESS)
        return -1;
    held = clerk_shared_cache_claim(sc, key, CLERK_M2M_KEY_LEN, apr_time_now(),
                                    M2M_CREATION_LEASE, STARTUP_WAIT, p);
    apr_pool_destroy(p);
    return held;
}

const clerk_m2m_share_t *mac_shared_cache_m2m(void)
{
    static const clerk_m2m_share_t share = {m2m_lookup, m2m_publish, m2m_claim, NULL};
    return shared.provider ? &share : NULL;
}

/* For the status pages: the provider, and this process's courier's counts. */
const char *mac_shared_cache_provider(void)
{
    return shared.provider ? shared.provider_name : NULL;
}

int mac_shared_cache_stats(clerk_courier_stats_t *stats, apr_uint64_t *rejected)
{
    if (!shared.courier)
        return 0;
    clerk_courier_stats(shared.courier, stats);
    *rejected = clerk_shared_cache_rejected(shared.cache);
    return 1;
}
