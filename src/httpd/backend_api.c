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
#include "auth_clerk.h"

#include "clerk_be64.h"
#include "clerk_call_budget.h"
#include "clerk_call_gate.h"
#include "clerk_opaque_token.h"
#include "clerk_shared_cache.h"
#include "clerk_verdict_memory.h"

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
 * With a shared cache, the budget is the fleet's too: its TAT (GCRA, as the
 * server's own) lives in the cache, read and written back by whichever
 * server calls.  Servers calling at the same moment may each be admitted
 * (the cache has no atomic update), so the fleet's budget is approximate;
 * each server's own stays exact.  A cache that does not answer leaves the
 * server's own budget in charge.
 */
static int fleet_budget_take(request_rec *r, const clerk_server_conf *sc,
                             apr_interval_time_t *retry)
{
    clerk_shared_cache_t *shared = mac_shared_cache();
    const char *name = sc->budget_name;
    unsigned char *value, stored[CLERK_BE64_LEN];
    apr_size_t len;
    apr_uint64_t tat = 0;
    apr_time_t now = apr_time_now();
    apr_status_t rv;

    if (!shared)
        return 1;
    rv = clerk_shared_cache_get(shared, CLERK_SEAL_BUDGET, name, strlen(name), now, 0, r->pool,
                                &value, &len, NULL);
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND)
        return 1;
    if (rv == APR_SUCCESS && len == sizeof(stored))
        tat = clerk_be64_get(value);
    if (!clerk_call_budget_apply(bapi.budget, sc->budget_bucket, &tat, now, retry))
        return 0;
    clerk_be64_put(stored, tat);
    /* kept while it still limits: until the bucket is full again */
    clerk_shared_cache_put(shared, CLERK_SEAL_BUDGET, name, strlen(name),
                           (apr_time_t)tat + apr_time_from_sec(1), stored, sizeof(stored),
                           r->pool);
    return 1;
}

/*
 * Take a place for one Backend API call: DONE (then call bapi_leave), or
 * UNAVAILABLE with *retry_after.  charge: whether the call counts against
 * the budget.
 */
static clerk_step_t bapi_enter(request_rec *r, int charge, clerk_call_endpoint_t ep,
                               const char *what, apr_int64_t *retry_after)
{
    static volatile apr_uint32_t last_waiting_log;
    const clerk_server_conf *sc = ap_get_module_config(r->server->module_config,
                                                       &auth_clerk_module);
    apr_interval_time_t retry = 0;

    if (bapi.gate && !clerk_call_gate_try_enter(bapi.gate)) {
        if (log_allowed(&last_waiting_log))
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, CLERKNO(031)
                          "%s: ClerkBackendAPIMaxWaiting threads of this process already "
                          "wait on the Backend API: answering 503", what);
        clerk_metrics_drop(mac_metrics(), ep, CLERK_DROP_WAITING);
        *retry_after = 1;
        return CLERK_STEP_UNAVAILABLE;
    }
    if (!charge || !bapi.budget
        || (clerk_call_budget_take(bapi.budget, sc->budget_bucket, apr_time_now(), &retry)
            && fleet_budget_take(r, sc, &retry)))
        return CLERK_STEP_DONE;
    if (bapi.gate)
        clerk_call_gate_leave(bapi.gate);
    clerk_metrics_drop(mac_metrics(), ep, CLERK_DROP_BUDGET);
    if (clerk_call_budget_warn_due(bapi.budget, sc->budget_bucket, apr_time_now(),
                                   apr_time_from_sec(LOG_INTERVAL)))
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, CLERKNO(032)
                      "%s: the Backend API budget (ClerkBackendAPIBudget) is spent: "
                      "answering 503", what);
    *retry_after = (retry + APR_USEC_PER_SEC - 1) / APR_USEC_PER_SEC;
    return CLERK_STEP_UNAVAILABLE;
}

/* The call made since started ended with outcome: counted, and its place given back. */
static void bapi_leave(clerk_call_endpoint_t ep, clerk_bapi_outcome_t outcome, apr_time_t started)
{
    clerk_metrics_call(mac_metrics(), ep, (unsigned)outcome, apr_time_now() - started);
    if (bapi.gate)
        clerk_call_gate_leave(bapi.gate);
}

/*
 * Everything a Backend API answer depends on besides the token (or nonce):
 * digests of the secret and of the audiences, the kind of token (0 for a
 * nonce) and the cache TTL.  0 when it could not be computed (out of
 * memory): then nothing is remembered.
 */
typedef struct {
    unsigned char secret[CLERK_TOKEN_CACHE_KEY_LEN];
    unsigned char audiences[CLERK_TOKEN_CACHE_KEY_LEN];
    unsigned kind;
    int ttl;
} answer_context;

static int answer_context_of(const clerk_dir_conf *c, const char *secret, unsigned kind,
                             int ttl, answer_context *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
    if (c->audiences && kind)
        memcpy(ctx->audiences, c->audiences->digest, sizeof(ctx->audiences));
    ctx->kind = kind;
    ctx->ttl = ttl;
    return clerk_digest(secret, strlen(secret), ctx->secret);
}

/* The key of a Backend API answer in this process's memories: a digest, never the token or the secret. */
static int bapi_key(const answer_context *ctx, const char *token, unsigned char *key)
{
    return clerk_token_cache_key(token, strlen(token), ctx, sizeof(*ctx), key);
}

/*
 * The fleet's name of an answer: the context and the token, which the
 * shared cache turns into an HMAC (clerk_seal_store_name) before it leaves
 * the process.
 */
static const char *fleet_name(apr_pool_t *p, const answer_context *ctx, const char *token,
                              apr_size_t *len)
{
    apr_size_t n = strlen(token);
    char *name = apr_palloc(p, sizeof(*ctx) + n);

    memcpy(name, ctx, sizeof(*ctx));
    memcpy(name + sizeof(*ctx), token, n);
    *len = sizeof(*ctx) + n;
    return name;
}

/*
 * What another process or server of the fleet learnt from the Backend API
 * about this token (ClerkCache): a refusal ("R" and the reason), for
 * REFUSAL_MEMORY_SECONDS, or — when answers may be cached at all
 * (ClerkMachineTokenCacheTTL) — Clerk's answer itself ("G" and its body),
 * decided again here exactly as a fresh one.  1 with *res when there is one.
 */
static int fleet_verdict(request_rec *r, const char *name, apr_size_t name_len,
                         clerk_token_type_t type, const apr_array_header_t *audiences,
                         apr_int64_t now, clerk_verify_result_t *res)
{
    clerk_shared_cache_t *shared = mac_shared_cache();
    unsigned char *value;
    apr_size_t len;
    const char *err;
    apr_int64_t code;

    if (!shared || clerk_shared_cache_get(shared, CLERK_SEAL_VERDICT, name, name_len,
                                          apr_time_now(), 0, r->pool, &value, &len, NULL)
                       != APR_SUCCESS || len < 2)
        return 0;
    memset(res, 0, sizeof(*res));
    if (value[0] == 'R') {
        code = apr_atoi64((const char *)value + 1);
        if (code <= CLERK_OK || code >= CLERK_REASON_COUNT)
            return 0;
        res->reason = (clerk_reason_t)code;
        res->detail = "the Backend API refused it moments ago (shared cache)";
        return 1;
    }
    return value[0] == 'G'
        && clerk_backend_opaque_answer(r->pool, (const char *)value + 1, len - 1, type,
                                       audiences, now, res, &err) == CLERK_BAPI_ANSWERED;
}

static void share_verdict(request_rec *r, const char *name, apr_size_t name_len,
                          const clerk_verify_result_t *res, const char *answer, apr_int64_t until)
{
    clerk_shared_cache_t *shared = mac_shared_cache();
    const char *value;

    if (!shared)
        return;
    value = res->reason != CLERK_OK ? apr_psprintf(r->pool, "R%d", (int)res->reason)
                                    : apr_pstrcat(r->pool, "G", answer, NULL);
    clerk_shared_cache_put(shared, CLERK_SEAL_VERDICT, name, name_len,
                           apr_time_from_sec(until), value, strlen(value), r->pool);
}

/* Whether an earlier verification is the Backend API's answer for this token, secret and audiences. */
static int same_answer(const clerk_request_state *earlier, const char *token,
                       clerk_token_type_t type, const char *secret,
                       const apr_array_header_t *audiences)
{
    return earlier->claims && earlier->claims->type == type && earlier->key_source
           && !strcmp(earlier->token, token) && !strcmp(earlier->key_source, secret)
           && mac_same_strings(earlier->opts.audiences, audiences);
}

/* The answer an expression had for this request before check_authn (expr.c), or NULL. */
static const clerk_request_state *early_answer(const request_rec *r, const char *token,
                                               clerk_token_type_t type, const char *secret,
                                               const apr_array_header_t *audiences)
{
    const apr_array_header_t *early = mac_expr_verifications(r);

    for (int i = 0; early && i < early->nelts; i++) {
        const clerk_request_state *e = &APR_ARRAY_IDX(early, i, clerk_request_state);
        if (same_answer(e, token, type, secret, audiences))
            return e;
    }
    return NULL;
}

/*
 * A well-formed opaque mt_/oat_/ak_ token of an accepted type (the core
 * decided that much, clerk_authenticate.c), verified by the Backend API with
 * the section's secret (the machine secret for an M2M token, when set):
 * answers reused for ClerkMachineTokenCacheTTL seconds when that is set,
 * within the budget.
 */
clerk_step_t mac_check_opaque(request_rec *r, const clerk_dir_conf *c, clerk_request_state *st,
                              const char *token, clerk_token_type_t type, const char *carrier,
                              clerk_claims_t **claims, clerk_reason_t *reason,
                              apr_int64_t *retry_after)
{
    clerk_server_conf *sc = ap_get_module_config(r->server->module_config, &auth_clerk_module);
    const clerk_request_state *earlier = mac_earlier_state(r);
    const char *secret = type == CLERK_TYPE_M2M && c->machine_secret
        ? c->machine_secret : (c->backend_api ? c->backend_api->secret : NULL);
    int ttl = c->machine_cache_ttl == UNSET ? DEFAULT_MACHINE_TOKEN_CACHE_TTL
                                            : c->machine_cache_ttl;
    clerk_token_cache_t *cache = ttl ? sc->token_cache : NULL;
    apr_int64_t now = apr_time_sec(apr_time_now());
    unsigned char key[CLERK_TOKEN_CACHE_KEY_LEN];
    answer_context ctx;
    /* an opaque token lives long: its entry keeps the key, which stands for it, not its bytes */
    clerk_token_cache_id_t id = {key, key, sizeof(key), "", 0};
    clerk_cached_token_t *entry;
    clerk_verify_result_t res;
    const char *detail = NULL, *answer = NULL, *name = NULL;
    apr_size_t name_len = 0;
    int keyed, remembered, known_good;
    apr_time_t started;
    clerk_bapi_outcome_t outcome;
    clerk_step_t step;

    st->token = token;
    st->vars = NULL;
    if (!secret || !sc->backend_api) {     /* no HTTP client in this process */
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, CLERKNO(019)
                      "an opaque %s cannot be verified here: no Backend API client",
                      clerk_token_type_name(type));
        *reason = CLERK_TOKEN_INVALID;
        return CLERK_STEP_DONE;
    }
    /*
     * A subrequest or internal redirect into another section re-uses the
     * answer the Backend API gave for the same token, secret and audiences.
     * (For an opaque token, key_source is the secret it was verified with.)
     */
    st->key_source = secret;
    if ((earlier && same_answer(earlier, token, type, secret, st->opts.audiences))
        || (earlier = early_answer(r, token, type, secret, st->opts.audiences))) {
        mac_adopt(st, earlier);
        *claims = st->claims;
        *reason = CLERK_OK;
        return CLERK_STEP_DONE;
    }
    keyed = answer_context_of(c, secret, type, ttl, &ctx) && bapi_key(&ctx, token, key);
    if (keyed && bapi.refused && clerk_verdict_memory_recall(bapi.refused, key, now, &remembered)) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, CLERKNO(034)
                      "token rejected: %s (the Backend API refused this %s moments ago)",
                      clerk_reason_str((clerk_reason_t)remembered), clerk_token_type_name(type));
        *reason = (clerk_reason_t)remembered;
        return CLERK_STEP_DONE;
    }
    if (!keyed)
        cache = NULL;
    else if (cache && (entry = clerk_token_cache_get(cache, &id, 0, now, r->pool))) {
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, "Backend API answer found in the cache");
        mac_use_cached(st, entry);
        *claims = st->claims;
        *reason = CLERK_OK;
        return CLERK_STEP_DONE;
    }
    if (keyed)
        name = fleet_name(r->pool, &ctx, token, &name_len);
    if (keyed && fleet_verdict(r, name, name_len, type, st->opts.audiences, now, &res)) {
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, "Backend API answer found in the "
                      "shared cache");
    }
    else {
        known_good = keyed && bapi.good
                     && clerk_verdict_memory_recall(bapi.good, key, now, NULL);
        if ((step = bapi_enter(r, !known_good, CLERK_CALL_VERIFY, "opaque token",
                               retry_after)) != CLERK_STEP_DONE)
            return step;
        started = apr_time_now();
        outcome = clerk_backend_verify_opaque(r->pool, sc->backend_api, sc->api_url, secret,
                                              token, type, st->opts.audiences, now, &res,
                                              &detail, &answer);
        bapi_leave(CLERK_CALL_VERIFY, outcome, started);
        switch (outcome) {
        case CLERK_BAPI_ANSWERED:
            break;
        case CLERK_BAPI_SECRET_REJECTED:
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CLERKNO(020) "%s", detail);
            *retry_after = 30;
            return CLERK_STEP_UNAVAILABLE;
        default:
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, CLERKNO(021)
                          "%s: answering 503", detail);
            *retry_after = 5;
            return CLERK_STEP_UNAVAILABLE;
        }
        if (keyed && res.reason != CLERK_OK)
            share_verdict(r, name, name_len, &res, NULL, now + REFUSAL_MEMORY_SECONDS);
        else if (keyed && ttl && answer) {
            apr_int64_t until = now + ttl;
            if (res.claims->exp && res.claims->exp < until)
                until = res.claims->exp;
            share_verdict(r, name, name_len, &res, answer, until);
        }
    }
    *reason = res.reason;
    if (res.reason != CLERK_OK) {
        if (keyed && bapi.refused)
            clerk_verdict_memory_remember(bapi.refused, key, now + REFUSAL_MEMORY_SECONDS,
                                          (int)res.reason);
        if (keyed && bapi.good)
            clerk_verdict_memory_forget(bapi.good, key);
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, CLERKNO(022)
                      "token rejected: %s (%s; %s from %s)", clerk_reason_str(res.reason),
                      res.detail ? res.detail : "-", clerk_token_type_name(type), carrier);
        return CLERK_STEP_DONE;
    }
    if (keyed && bapi.good) {
        apr_int64_t until = now + GOOD_MEMORY_SECONDS;
        if (res.claims->exp && res.claims->exp < until)
            until = res.claims->exp;
        clerk_verdict_memory_remember(bapi.good, key, until, 0);
    }
    st->claims = res.claims;
    if (cache) {
        apr_int64_t until = now + ttl;
        if (res.claims->exp && res.claims->exp < until)
            until = res.claims->exp;
        if ((entry = clerk_token_cache_put(cache, &id, 0, until, res.claims,
                                           clerk_export_vars(r->pool, res.claims), r->pool)))
            mac_use_cached(st, entry);
    }
    *claims = st->claims;
    return CLERK_STEP_DONE;
}

/*
 * A well-formed handshake nonce for its Set-Cookie directives, within the
 * Backend API budget: DONE with *directives (NULL when there are none to
 * use, *detail says why), or UNAVAILABLE.  A nonce Clerk did not know is
 * remembered, so a client replaying it costs one call.
 */
clerk_step_t mac_exchange_nonce(request_rec *r, const clerk_dir_conf *c, const char *nonce,
                                apr_array_header_t **directives, const char **detail,
                                apr_int64_t *retry_after)
{
    clerk_server_conf *sc = ap_get_module_config(r->server->module_config, &auth_clerk_module);
    const char *secret = c->backend_api ? c->backend_api->secret : NULL;
    apr_int64_t now = apr_time_sec(apr_time_now());
    unsigned char key[CLERK_TOKEN_CACHE_KEY_LEN];
    answer_context ctx;
    clerk_bapi_outcome_t outcome;
    clerk_step_t step;
    apr_time_t started;
    int keyed;

    *directives = NULL;
    if (!secret || !sc->backend_api) {
        *detail = "a handshake nonce needs ClerkSecretKey";
        return CLERK_STEP_DONE;
    }
    keyed = answer_context_of(c, secret, 0, 0, &ctx) && bapi_key(&ctx, nonce, key);
    if (keyed && bapi.refused && clerk_verdict_memory_recall(bapi.refused, key, now, NULL)) {
        *detail = "the Backend API did not know this handshake nonce moments ago";
        return CLERK_STEP_DONE;
    }
    if ((step = bapi_enter(r, 1, CLERK_CALL_HANDSHAKE, "handshake nonce", retry_after))
        != CLERK_STEP_DONE)
        return step;
    started = apr_time_now();
    outcome = clerk_backend_handshake_payload(r->pool, sc->backend_api, sc->api_url, secret,
                                              nonce, directives, detail);
    bapi_leave(CLERK_CALL_HANDSHAKE, outcome, started);
    if (outcome != CLERK_BAPI_ANSWERED)
        *directives = NULL;
    else if (!(*directives)->nelts && keyed && bapi.refused)
        clerk_verdict_memory_remember(bapi.refused, key, now + REFUSAL_MEMORY_SECONDS, 0);
    return CLERK_STEP_DONE;
}

/* The public origin of the request's URL (scheme://host[:port]), or NULL. */
static const char *public_origin(apr_pool_t *p, const char *url)
{
    const char *host = url ? strstr(url, "://") : NULL;
    return host ? apr_pstrndup(p, url, (apr_size_t)(host + 3 - url) + strcspn(host + 3, "/?#"))
                : NULL;
}

/*
 * Clerk's silent refresh of an expired session (the core asks only on a
 * GET with a refresh cookie, after the signature verified), within the
 * budget: DONE with *result (cookies, or Clerk's refresh error), or
 * UNAVAILABLE when the Backend API cannot answer or the budget is spent.
 * What Clerk's SDK refuses without a call is refused before anything is
 * charged.
 */
clerk_step_t mac_refresh_session(request_rec *r, const clerk_dir_conf *c,
                                 const char *expired_token, const char *refresh_token,
                                 int suffixed_cookies, clerk_refresh_result_t *result,
                                 apr_int64_t *retry_after)
{
    clerk_server_conf *sc = ap_get_module_config(r->server->module_config, &auth_clerk_module);
    const char *secret = c->backend_api && sc->backend_api ? c->backend_api->secret : NULL;
    clerk_refresh_request_t req;
    const char *sid, *detail = NULL;
    clerk_bapi_outcome_t outcome;
    clerk_step_t step;
    apr_time_t started;
    clerk_request_view_t view;

    mac_request_view(r, c, 1, &view);
    req.expired_token = expired_token;
    req.refresh_token = refresh_token;
    req.request_origin = public_origin(r->pool, view.url);
    req.headers = r->headers_in;
    req.suffixed_cookies = suffixed_cookies;
    result->set_cookies = NULL;
    if ((result->error = clerk_refresh_refusal(r->pool, secret, &req, &sid, &detail))) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, CLERKNO(039)
                      "no session refresh: %s (%s)", result->error, detail ? detail : "-");
        return CLERK_STEP_DONE;
    }
    if ((step = bapi_enter(r, 1, CLERK_CALL_REFRESH, "session refresh", retry_after))
        != CLERK_STEP_DONE)
        return step;
    started = apr_time_now();
    outcome = clerk_backend_refresh_session(r->pool, sc->backend_api, sc->api_url, secret, &req,
                                            &result->set_cookies, &result->error, &detail);
    bapi_leave(CLERK_CALL_REFRESH, outcome, started);
    switch (outcome) {
    case CLERK_BAPI_ANSWERED:
        if (result->error)
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, CLERKNO(060)
                          "session refresh refused: %s (%s)", result->error,
                          detail ? detail : "-");
        return CLERK_STEP_DONE;
    case CLERK_BAPI_SECRET_REJECTED:
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CLERKNO(061) "%s", detail);
        *retry_after = 30;
        return CLERK_STEP_UNAVAILABLE;
    default:
        /* as Clerk's SDK: the refresh failed, a handshake will do (fetch-error) */
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, CLERKNO(062)
                      "session refresh failed: %s", detail ? detail : "-");
        result->set_cookies = NULL;
        if (!result->error)
            result->error = CLERK_REFRESH_FETCH_ERROR;
        return CLERK_STEP_DONE;
    }
}

/*
 * The Backend API budget, in shared memory made before the children are
 * forked, so that prefork's many children share one.  A virtual host whose
 * ClerkBackendAPIBudget differs from the main server's has a budget of its
 * own; the others share the main server's.
 */
apr_status_t mac_backend_api_post_config(apr_pool_t *pconf, server_rec *s)
{
    const clerk_server_conf *main_sc = ap_get_module_config(s->module_config,
                                                            &auth_clerk_module);
    unsigned n = 0;
    apr_status_t rv;

    for (server_rec *vs = s; vs; vs = vs->next)
        n++;
    if ((rv = clerk_call_budget_create(&bapi.budget, pconf, n)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, CLERKNO(035)
                     "cannot create the shared Backend API budget");
        return rv;
    }
    n = 0;
    for (server_rec *vs = s; vs; vs = vs->next) {
        clerk_server_conf *sc = ap_get_module_config(vs->module_config, &auth_clerk_module);
        /* the fleet's servers of the same budget share it (ClerkCache) */
        sc->budget_name = apr_psprintf(pconf, "budget\n%d/%d", sc->budget_rate, sc->budget_burst);
        if (vs != s && sc->budget_rate == main_sc->budget_rate
            && sc->budget_burst == main_sc->budget_burst) {
            sc->budget_bucket = main_sc->budget_bucket;
            continue;
        }
        sc->budget_bucket = n;
        if ((rv = clerk_call_budget_configure(bapi.budget, n++, (unsigned)sc->budget_rate,
                                              (unsigned)sc->budget_burst))
            != APR_SUCCESS)
            return rv;
    }
    return APR_SUCCESS;
}

/*
 * In each serving process: the verdict memories and the gate of this
 * process, and per server the Backend API handles its threads share.
 */
void mac_backend_api_child_init(apr_pool_t *pchild, server_rec *s)
{
    const clerk_server_conf *main_sc = ap_get_module_config(s->module_config,
                                                            &auth_clerk_module);

    /* Without the memories nothing breaks: every call is then charged. */
    if (clerk_verdict_memory_create(&bapi.refused, pchild, VERDICT_MEMORY_ENTRIES) != APR_SUCCESS
        || clerk_verdict_memory_create(&bapi.good, pchild, VERDICT_MEMORY_ENTRIES)
               != APR_SUCCESS) {
        bapi.refused = bapi.good = NULL;
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, CLERKNO(036)
                     "cannot set up the Backend API verdict memories");
    }
    bapi.gate = clerk_call_gate_create(pchild, (unsigned)main_sc->max_waiting);
    for (server_rec *vs = s; vs; vs = vs->next) {
        clerk_server_conf *sc = ap_get_module_config(vs->module_config, &auth_clerk_module);
        clerk_http_opts_t opts = {0};
        opts.timeout_ms = (long)apr_time_as_msec(sc->http_timeout);
        opts.ca_file = sc->ca_file;
        opts.proxy = sc->proxy;
        if (clerk_http_create(pchild, &opts, 16, &sc->backend_api) != APR_SUCCESS)
            sc->backend_api = NULL;
    }
}
