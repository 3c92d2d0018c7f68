/*
 * A JWT verified for a request: locally, with the section's keys, through
 * the per-server token cache, or not at all when the request this one
 * derives from (a subrequest's main request, an internal redirect's
 * previous one) verified the same token under the same keys and rules.
 */
#include "auth_clerk.h"

/* Whether two verifications would decide alike: same token, keys and rules. */
static int same_verification(const clerk_request_state *a, const char *token,
                             const void *key_source, const clerk_verify_opts_t *o)
{
    const clerk_verify_opts_t *p = &a->opts;

    return a->claims && !strcmp(a->token, token) && a->key_source == key_source
           && p->clock_skew == o->clock_skew && p->allow_pending == o->allow_pending
           && p->accept_types == o->accept_types && mac_same_strings(p->issuers, o->issuers)
           && mac_same_strings(p->authorized_parties, o->authorized_parties)
           && mac_same_strings(p->audiences, o->audiences);
}

/*
 * The verification this one may re-use, or NULL: that of the request this
 * one derives from, or one an expression made earlier in this request, before
 * check_authn (expr.c; each recorded with the options it used), when it
 * would decide alike.
 */
static const clerk_request_state *reusable(const request_rec *r, const char *token,
                                           const void *key_source, const clerk_verify_opts_t *o)
{
    const clerk_request_state *earlier = mac_earlier_state(r);
    const apr_array_header_t *early = mac_expr_verifications(r);

    if (earlier && same_verification(earlier, token, key_source, o))
        return earlier;
    for (int i = 0; early && i < early->nelts; i++) {
        const clerk_request_state *e = &APR_ARRAY_IDX(early, i, clerk_request_state);
        if (same_verification(e, token, key_source, o))
            return e;
    }
    return NULL;
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

/* Everything that decides a token's verification: its token cache context. */
typedef struct {
    unsigned char keys[CLERK_TOKEN_CACHE_KEY_LEN];
    apr_uint64_t cache;                 /* unique in the process, never reused */
    unsigned char issuers[CLERK_TOKEN_CACHE_KEY_LEN];
    unsigned char parties[CLERK_TOKEN_CACHE_KEY_LEN];
    unsigned char audiences[CLERK_TOKEN_CACHE_KEY_LEN];
    apr_int64_t skew;
    unsigned types;
    int allow_pending;
} verification_context;

/*
 * The token cache id: the token under everything that decides its
 * verification (key source, issuers, parties, audiences, skew, types),
 * written to ctx and key, which id points to.
 */
static int token_cache_id(const clerk_dir_conf *c, const static_keyset *fixed,
                          const clerk_jwks_cache_t *cache, const clerk_verify_opts_t *o,
                          const char *token, apr_size_t len, verification_context *ctx,
                          unsigned char *key, clerk_token_cache_id_t *id)
{
    /* the list the options were decided from (clerk_verify_opts_from_settings), with its digest */
    const string_list *instance = mac_instance_issuers(c);
    const string_list *issuers = c->issuers && o->issuers == c->issuers->values ? c->issuers
        : instance && o->issuers == instance->values ? instance
                                                     : NULL;

    memset(ctx, 0, sizeof(*ctx));
    if (fixed)
        memcpy(ctx->keys, fixed->digest, sizeof(ctx->keys));
    ctx->cache = cache ? clerk_jwks_cache_id(cache) : 0;
    if (issuers)
        memcpy(ctx->issuers, issuers->digest, sizeof(ctx->issuers));
    if (c->authorized_parties)
        memcpy(ctx->parties, c->authorized_parties->digest, sizeof(ctx->parties));
    if (c->audiences)
        memcpy(ctx->audiences, c->audiences->digest, sizeof(ctx->audiences));
    ctx->skew = o->clock_skew;
    ctx->types = o->accept_types;
    ctx->allow_pending = o->allow_pending;
    return clerk_token_cache_id(id, key, token, len, ctx, sizeof(*ctx));
}

/* Take claims and variables from a token cache entry the request's pool holds. */
void mac_use_cached(clerk_request_state *st, const clerk_cached_token_t *entry)
{
    st->claims = (clerk_claims_t *)clerk_cached_token_claims(entry);
    st->vars = clerk_cached_token_vars(entry);
}

/*
 * Verify a JWT for this request under accept_types (and clock_skew, when
 * not -1, instead of the section's), through the token cache: DONE with *reason (and st->claims when CLERK_OK), or the step that
 * ended it (keys unavailable, or no key source).
 */
clerk_step_t mac_verify_jwt(request_rec *r, const clerk_dir_conf *c, clerk_request_state *st,
                            const char *token, unsigned accept_types, apr_int64_t clock_skew,
                            const char *carrier, clerk_reason_t *reason,
                            apr_int64_t *retry_after)
{
    clerk_server_conf *sc = ap_get_module_config(r->server->module_config, &auth_clerk_module);
    apr_size_t len = strlen(token);
    clerk_token_cache_t *cache = sc->token_cache;
    apr_time_t now = apr_time_now();
    const clerk_request_state *earlier;
    unsigned char key[CLERK_TOKEN_CACHE_ID_KEY_LEN];
    verification_context ctx;
    clerk_token_cache_id_t id;
    clerk_cached_token_t *entry;
    clerk_verify_result_t res;
    keys_in_use k;
    clerk_step_t step;
    clerk_verify_opts_t o;

    st->token = token;
    st->claims = NULL;
    st->vars = NULL;
    st->opts.accept_types = accept_types;
    /* a skew of its own is this verification's only: the request's options stay */
    o = st->opts;
    if (clock_skew >= 0)
        o.clock_skew = clock_skew;
    if ((step = mac_acquire_keys(r, c, &k, now, retry_after)) != CLERK_STEP_DONE)
        return step;
    st->key_source = k.fixed ? (const void *)k.fixed->keys : (const void *)k.cache;

    /*
     * A subrequest or internal redirect re-uses an identical verification, and
     * so does check_authn an expression's.
     */
    if ((earlier = reusable(r, token, st->key_source, &o))) {
        mac_release_keys(&k);
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, CLERKNO(090)
                      "token verification re-used (%s)",
                      earlier == mac_earlier_state(r) ? "the earlier request's"
                                                      : "an expression's, this request's");
        mac_adopt(st, earlier);
        *reason = CLERK_OK;
        return CLERK_STEP_DONE;
    }
    if (cache && !token_cache_id(c, k.fixed, k.cache, &o, token, len, &ctx, key, &id))
        cache = NULL;       /* no random key: verify without the cache */
    if (cache && (entry = clerk_token_cache_get(cache, &id, k.generation, apr_time_sec(now),
                                                r->pool))) {
        mac_release_keys(&k);
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, "verified token found in the cache");
        mac_use_cached(st, entry);
        *reason = CLERK_OK;
        return CLERK_STEP_DONE;
    }
    clerk_verify_token(r->pool, token, len, k.keys, &o, apr_time_sec(now), &res);
    mac_release_keys(&k);
    if (res.reason == CLERK_JWK_KID_MISMATCH && k.cache && clerk_jwks_cache_kid_miss(k.cache, now))
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, CLERKNO(013)
                      "unknown kid %s: asked for a key set refresh", loggable_kid(res.kid));
    *reason = res.reason;
    ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, CLERKNO(091) "token verified with the keys");
    if (res.reason != CLERK_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, CLERKNO(008)
                      "token rejected: %s (%s; kid %s; from %s)", clerk_reason_str(res.reason),
                      res.detail ? res.detail : "-", loggable_kid(res.kid), carrier);
        return CLERK_STEP_DONE;
    }
    if (cache && clerk_token_cache_admit(cache, &id)
        && (entry = clerk_token_cache_put(cache, &id, k.generation,
                                          res.claims->exp + o.clock_skew, res.claims,
                                          clerk_export_vars(r->pool, res.claims), r->pool)))
        mac_use_cached(st, entry);
    else
        st->claims = res.claims;
    return CLERK_STEP_DONE;
}

