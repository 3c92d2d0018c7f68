/*
 * Key sources: the network key sources the configuration names (slots), the
 * bounded per-process registry of the caches they resolve to
 * (src/clerk_source_registry.h), and the keys a request verifies with.
 */
#include "auth_clerk.h"

#include "apr_hash.h"

#include "clerk_shared_cache.h"
#include "clerk_source_registry.h"

/*
 * Process-wide: the slots named by the configuration and the registry of
 * their caches.  Rebuilt with each configuration generation (pconf);
 * .htaccess slots are resolved at request time and may be closed to make
 * room.
 */
static struct {
    apr_array_header_t *slots;          /* key_slot * made while reading config */
    clerk_source_registry_t *sources;   /* made in post_config */
    apr_array_header_t *pinned;         /* source_count: index = metrics slot */
} registry;

/* A pinned cache and its metrics slot; the slot after the last counts every .htaccess source. */
typedef struct {
    clerk_jwks_cache_t *cache;
    const char *url;
    unsigned slot;
} source_count;

static void count_fetch(void *baton, int ok, apr_time_t when)
{
    clerk_metrics_fetch(mac_metrics(), ((const source_count *)baton)->slot, ok, when);
}

/*
 * The metrics slot of a pinned cache (made on its first slot), so that the
 * fetches of every process count together; before any fetch.
 */
static void count_fetches_of(apr_pool_t *pconf, clerk_jwks_cache_t *cache, const char *url)
{
    source_count *sc;

    for (int i = 0; i < registry.pinned->nelts; i++)
        if (APR_ARRAY_IDX(registry.pinned, i, source_count *)->cache == cache)
            return;
    sc = apr_pcalloc(pconf, sizeof(*sc));
    sc->cache = cache;
    sc->url = apr_pstrdup(pconf, url);
    sc->slot = (unsigned)registry.pinned->nelts;
    APR_ARRAY_PUSH(registry.pinned, source_count *) = sc;
    clerk_jwks_cache_on_fetch(cache, count_fetch, sc);
}

const clerk_metrics_source_view_t *mac_key_sources_views(apr_pool_t *p, unsigned *n)
{
    unsigned count = clerk_metrics_source_count(mac_metrics());
    clerk_metrics_source_view_t *v = apr_pcalloc(p, (count + 1) * sizeof(*v));

    for (int i = 0; registry.pinned && i < registry.pinned->nelts && (unsigned)i < count; i++) {
        const source_count *sc = APR_ARRAY_IDX(registry.pinned, i, source_count *);
        apr_array_header_t *kids;
        v[i].url = sc->url;
        v[i].loaded = clerk_jwks_cache_info(sc->cache, p, &v[i].fetched_at, &kids);
        v[i].kids = kids;
    }
    if (count)
        v[count - 1].url = "htaccess";  /* all sources of .htaccess files, counts only */
    *n = count;
    return v;
}

void mac_key_sources_begin(apr_pool_t *pconf)
{
    registry.slots = apr_array_make(pconf, 4, sizeof(key_slot *));
    registry.sources = NULL;
}

key_slot *mac_slot_new(cmd_parms *cmd, const clerk_dir_conf *owner)
{
    key_slot *slot = apr_pcalloc(cmd->pool, sizeof(*slot));
    slot->headers = apr_array_make(cmd->pool, 2, sizeof(const char *));
    slot->server = cmd->server;
    slot->owner = owner;
    if (mac_config_reading())
        APR_ARRAY_PUSH(registry.slots, key_slot *) = slot;
    return slot;
}

static void log_from_cache(void *baton, int level, const char *msg)
{
    ap_log_error(APLOG_MARK, level, 0, (server_rec *)baton, CLERKNO(011) "%s", msg);
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

    src.url = slot->secret ? apr_pstrcat(p, sc->api_url, "/v1/jwks", NULL) : slot->url;
    src.headers = slot->headers;
    src.ttl = sc->jwks_ttl;
    src.refresh_min = sc->refresh_min;
    src.max_stale = sc->max_stale;
    src.http.timeout_ms = (long)apr_time_as_msec(sc->http_timeout);
    src.http.ca_file = sc->ca_file;
    src.http.proxy = sc->proxy;
    src.http.max_body = 0;
    *src_out = src;
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
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CLERKNO(029)
                      "key source of %s not admitted: all %u key sources of this process "
                      "(ClerkMaxKeySources) are in use; answering 503",
                      r->uri, clerk_source_registry_count(registry.sources));
    return NULL;
}

/*
 * Take the section's keys: DONE, UNAVAILABLE with *retry_after (no keys
 * now: 503), or BROKEN (no key source at all: 500).
 */
clerk_step_t mac_acquire_keys(request_rec *r, const clerk_dir_conf *c, keys_in_use *k,
                              apr_time_t now, apr_int64_t *retry_after)
{
    memset(k, 0, sizeof(*k));
    if ((k->fixed = mac_static_keys(c))) {
        k->keys = k->fixed->keys;
        return CLERK_STEP_DONE;
    }
    if (mac_network_slot(c) && !(k->cache = slot_cache(r, mac_network_slot(c)))) {
        *retry_after = 5;
        return CLERK_STEP_UNAVAILABLE;
    }
    if (!k->cache) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CLERKNO(007)
                      "AuthType Clerk without a key source: configure ClerkPublishableKey, "
                      "ClerkSecretKey, ClerkJWKSURL, ClerkJWKSFile or ClerkJWTKey(File)");
        return CLERK_STEP_BROKEN;
    }
    switch (clerk_jwks_cache_acquire(k->cache, now, &k->snap)) {
    case CLERK_KEYS_READY:
        k->keys = clerk_jwks_snapshot_keys(k->snap);
        k->generation = clerk_jwks_snapshot_generation(k->snap);
        return CLERK_STEP_DONE;
    case CLERK_KEYS_NEVER_LOADED:
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, CLERKNO(012)
                      "keys unavailable (not loaded yet): answering 503");
        *retry_after = 5;
        return CLERK_STEP_UNAVAILABLE;
    default:
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, CLERKNO(024)
                      "keys unavailable (stale past ClerkJWKSMaxStale): answering 503");
        *retry_after = 30;
        return CLERK_STEP_UNAVAILABLE;
    }
}

void mac_release_keys(keys_in_use *k)
{
    if (k->snap)
        clerk_jwks_cache_release(k->cache, k->snap);   /* claims never point into keys */
    k->snap = NULL;
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

apr_status_t mac_key_sources_post_config(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s)
{
    const clerk_server_conf *main_sc = ap_get_module_config(s->module_config,
                                                            &auth_clerk_module);
    int warm = ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG
        && ap_state_query(AP_SQ_RUN_MODE) == AP_SQ_RM_NORMAL;
    apr_hash_t *fetched = apr_hash_make(ptemp);     /* caches fetched at start-up */

    registry.sources = clerk_source_registry_create(
        pconf, (unsigned)main_sc->max_key_sources, log_from_cache, s);
    registry.pinned = apr_array_make(pconf, 4, sizeof(source_count *));
    if (mac_metrics()) {
        /* at most one slot per configured source, and the last for .htaccess ones */
        source_count *htaccess = apr_pcalloc(pconf, sizeof(*htaccess));
        unsigned n = (unsigned)registry.slots->nelts + 1;
        if (clerk_metrics_sources(mac_metrics(), pconf, n) != APR_SUCCESS)
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, CLERKNO(082)
                         "cannot create the shared key source metrics: not counted");
        htaccess->slot = n - 1;
        clerk_source_registry_on_fetch(registry.sources, count_fetch, htaccess);
    }
    for (int i = 0; i < registry.slots->nelts; i++) {
        key_slot *slot = APR_ARRAY_IDX(registry.slots, i, key_slot *);
        clerk_jwks_source_t src;
        slot_source(slot, slot->server, ptemp, &src);
        slot->cache = clerk_source_registry_pin(registry.sources, &src, ptemp);
        count_fetches_of(pconf, slot->cache, src.url);
        /* a fresh copy another server of the fleet fetched saves this fetch */
        clerk_jwks_cache_share(slot->cache, mac_shared_cache_startup());
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
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, CLERKNO(014)
                         "key set not loaded at start-up; requests get 503 until a refresh "
                         "succeeds");
    }
    clerk_source_registry_share(registry.sources, NULL);    /* the start-up cache goes */
    return APR_SUCCESS;
}

void mac_key_sources_child_init(apr_pool_t *pchild, server_rec *s)
{
    clerk_source_registry_share(registry.sources, mac_shared_cache());
    if (clerk_source_registry_child_init(registry.sources, pchild) != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, CLERKNO(015) "cannot set up the key caches");
}
