#include "clerk_machine_token.h"

#include "clerk_background_thread.h"
#include "clerk_backend_api.h"
#include "clerk_claims.h"
#include "clerk_jitter.h"
#include "clerk_json.h"
#include "clerk_jws.h"

#include <apr_atomic.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

/* APLOG levels, without including httpd headers. */
#define LOG_ERR 3
#define LOG_INFO 6

#define WHAT "Backend API m2m_tokens"

int clerk_machine_id_wellformed(const char *id)
{
    apr_size_t n;

    if (strncmp(id, "mch_", 4))
        return 0;
    for (n = 0; id[4 + n]; n++)
        if (n == CLERK_MACHINE_ID_MAX || !apr_isalnum(id[4 + n]))
            return 0;
    return n > 0;
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A length-prefixed field, so that no two different specs hash alike. */
static int digest_field(EVP_MD_CTX *md, const void *data, apr_size_t len)
{
    unsigned char n[8];

    for (int i = 0; i < 8; i++)
        n[i] = (unsigned char)((apr_uint64_t)len >> (8 * i));
    return EVP_DigestUpdate(md, n, sizeof(n)) && EVP_DigestUpdate(md, data, len);
}

int clerk_m2m_key(const clerk_m2m_spec_t *spec, unsigned char key[CLERK_M2M_KEY_LEN])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int n = spec->machines ? spec->machines->nelts : 0, ok;
    const char **sorted = n ? malloc((size_t)n * sizeof(*sorted)) : NULL;
    char ttl[16];

    apr_snprintf(ttl, sizeof(ttl), "%d", spec->ttl);
    ok = md && (!n || sorted) && EVP_DigestInit_ex(md, EVP_sha256(), NULL)
         && digest_field(md, "clerk-m2m-token", 15)
         && digest_field(md, spec->api_url, strlen(spec->api_url))
         && digest_field(md, spec->secret, strlen(spec->secret))
         && digest_field(md, ttl, strlen(ttl));
    if (ok && n) {
        memcpy(sorted, spec->machines->elts, (size_t)n * sizeof(*sorted));
        qsort(sorted, (size_t)n, sizeof(*sorted), by_string);
        for (int i = 0; ok && i < n; i++)
            ok = digest_field(md, sorted[i], strlen(sorted[i]));
    }
    ok = ok && EVP_DigestFinal_ex(md, key, NULL);
    free(sorted);
    EVP_MD_CTX_free(md);
    return ok;
}

void clerk_m2m_request(apr_pool_t *p, const clerk_m2m_spec_t *spec, const char **url,
                       apr_array_header_t **headers, const char **body)
{
    *url = apr_pstrcat(p, spec->api_url, "/m2m_tokens", NULL);
    *headers = clerk_backend_api_headers(p, spec->secret);
    APR_ARRAY_PUSH(*headers, const char *) = "Content-Type: application/json";
    *body = apr_psprintf(p, "{\"seconds_until_expiration\":%d,\"claims\":null,"
                         "\"token_format\":\"jwt\"}", spec->ttl);
}

static int listed(const apr_array_header_t *list, const char *s)
{
    for (int i = 0; list && i < list->nelts; i++)
        if (!strcmp(APR_ARRAY_IDX(list, i, const char *), s))
            return 1;
    return 0;
}

/* clerk_m2m_check_jwt, with the token's sub */
static clerk_m2m_outcome_t check_jwt(apr_pool_t *p, const char *token,
                                     const apr_array_header_t *machines, apr_time_t now,
                                     apr_time_t *exp, const char **sub, const char **detail)
{
    apr_size_t len = strlen(token);
    clerk_jws_t *jws;
    clerk_claims_t *claims;
    json_t *payload;
    const json_t *e;
    const char *err;

    if (clerk_jws_parse(p, token, len, CLERK_TOKEN_MAX_LEN, &jws, &err) != CLERK_OK) {
        *detail = apr_pstrcat(p, "the token is not a usable JWT: ", err, NULL);
        return CLERK_M2M_FAILED;
    }
    if (!(payload = clerk_json_parse_object(p, (const char *)jws->payload, jws->payload_len,
                                            &err))) {
        *detail = apr_pstrcat(p, "the token's payload: ", err, NULL);
        return CLERK_M2M_FAILED;
    }
    e = json_object_get(payload, "exp");
    if (!json_is_integer(e)) {
        *detail = "the token has no integer exp";
        return CLERK_M2M_FAILED;
    }
    /* in range before it is turned into microseconds: an exp in the past may be any integer */
    if (json_integer_value(e) <= apr_time_sec(now)
        || json_integer_value(e) > apr_time_sec(APR_INT64_MAX) - 1
        || apr_time_from_sec(json_integer_value(e)) - now <= CLERK_M2M_MIN_LEFT) {
        *detail = "the token is expired or about to expire";
        return CLERK_M2M_FAILED;
    }
    /* the scopes as the verifier reads them (clerk_claims_build): "scopes", else "aud" */
    if (clerk_claims_build(p, payload, CLERK_TYPE_M2M, &claims, &err) != CLERK_OK
        || !claims->sub || !clerk_machine_id_wellformed(claims->sub)) {
        *detail = "the token's sub is not a machine id";
        return CLERK_M2M_FAILED;
    }
    for (int i = 0; machines && i < machines->nelts; i++) {
        const char *m = APR_ARRAY_IDX(machines, i, const char *);
        if (!listed(claims->scopes, m)) {
            *detail = apr_pstrcat(p, "the token's scopes do not include ", m, NULL);
            return CLERK_M2M_OUT_OF_SCOPE;
        }
    }
    *exp = apr_time_from_sec(json_integer_value(e));
    *sub = claims->sub;
    *detail = NULL;
    return CLERK_M2M_CREATED;
}

clerk_m2m_outcome_t clerk_m2m_check_jwt(apr_pool_t *p, const char *token,
                                        const apr_array_header_t *machines, apr_time_t now,
                                        apr_time_t *exp, const char **detail)
{
    const char *sub;
    return check_jwt(p, token, machines, now, exp, &sub, detail);
}

clerk_m2m_outcome_t clerk_m2m_answer(apr_pool_t *p, int status, const char *body,
                                     apr_size_t len, const apr_array_header_t *machines,
                                     apr_time_t now, const char **token, apr_time_t *expires,
                                     const char **detail)
{
    const json_t *expiration, *subject;
    const char *err, *object, *sub, *jwt_sub, *tok;
    json_t *answer;
    clerk_m2m_outcome_t o;
    apr_time_t exp;

    *token = NULL;
    if (status == 401 || status == 403) {
        *detail = apr_psprintf(p, WHAT ": HTTP %d, the machine secret was refused", status);
        return CLERK_M2M_SECRET_REFUSED;
    }
    if (status != 200 && status != 201) {
        *detail = apr_psprintf(p, WHAT ": HTTP %d", status);
        return CLERK_M2M_FAILED;
    }
    if (len > CLERK_M2M_ANSWER_MAX) {
        *detail = apr_psprintf(p, WHAT ": an answer over %u bytes", CLERK_M2M_ANSWER_MAX);
        return CLERK_M2M_FAILED;
    }
    if (!(answer = clerk_json_parse_object(p, body, len, &err))) {
        *detail = apr_pstrcat(p, WHAT ": ", err, NULL);
        return CLERK_M2M_FAILED;
    }
    object = clerk_json_string(answer, "object");
    expiration = json_object_get(answer, "expiration");
    subject = json_object_get(answer, "subject");
    if (!object || strcmp(object, "machine_to_machine_token")) {
        *detail = WHAT ": the answer is not a machine_to_machine_token";
        return CLERK_M2M_FAILED;
    }
    if (!(tok = clerk_json_string(answer, "token"))) {
        *detail = WHAT ": the answer has no token string";
        return CLERK_M2M_FAILED;
    }
    if (json_is_true(json_object_get(answer, "revoked"))
        || json_is_true(json_object_get(answer, "expired"))) {
        *detail = WHAT ": the new token is revoked or expired";
        return CLERK_M2M_FAILED;
    }
    if (expiration && !json_is_null(expiration) && !json_is_integer(expiration)) {
        *detail = WHAT ": the answer's expiration is not a number";
        return CLERK_M2M_FAILED;
    }
    if ((o = check_jwt(p, tok, machines, now, &exp, &jwt_sub, &err)) != CLERK_M2M_CREATED) {
        *detail = apr_pstrcat(p, WHAT ": ", err, NULL);
        return o;
    }
    /* the object describes the token: a subject other than its sub is not Clerk's answer */
    sub = json_string_value(subject);
    if (subject && !json_is_null(subject) && (!sub || strcmp(sub, jwt_sub))) {
        *detail = WHAT ": the answer's subject is not the token's sub";
        return CLERK_M2M_FAILED;
    }
    if (json_is_integer(expiration)) {
        apr_int64_t ms = json_integer_value(expiration);
        /* compared in seconds first: a past expiration may be any integer */
        if (ms / 1000 > apr_time_sec(now) && ms / 1000 < apr_time_sec(exp))
            exp = apr_time_from_sec(ms / 1000);
        if (ms / 1000 <= apr_time_sec(now) || exp - now <= CLERK_M2M_MIN_LEFT) {
            *detail = WHAT ": the new token is about to expire";
            return CLERK_M2M_FAILED;
        }
    }
    *token = tok;
    *expires = exp;
    *detail = NULL;
    return CLERK_M2M_CREATED;
}

apr_interval_time_t clerk_m2m_renew_margin(apr_interval_time_t lifetime)
{
    apr_interval_time_t m = lifetime / 5;

    if (m < apr_time_from_sec(60))
        m = apr_time_from_sec(60);
    return m > lifetime / 2 ? lifetime / 2 : m;
}

apr_interval_time_t clerk_m2m_backoff(unsigned failures)
{
    apr_interval_time_t b = CLERK_M2M_BACKOFF_FIRST;

    while (failures-- > 1 && b < CLERK_M2M_BACKOFF_MAX)
        b *= 2;
    return b < CLERK_M2M_BACKOFF_MAX ? b : CLERK_M2M_BACKOFF_MAX;
}

/* ---- the holder ---- */

struct clerk_m2m_holder {
    clerk_m2m_spec_t spec;
    unsigned char key[CLERK_M2M_KEY_LEN];
    apr_interval_time_t lifetime;       /* asked for */
    clerk_m2m_share_t share;
    clerk_metrics_t *metrics;
    clerk_log_fn *log;
    void *log_baton;

    /* Guarded by lock once the process serves requests (child_init). */
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *wake;
    char token[CLERK_TOKEN_MAX_LEN + 1];    /* "" when none */
    apr_time_t expires;
    apr_time_t renew_at;                /* when the current token is due for renewal */
    apr_time_t retry_at;                /* after a failure: the next attempt */
    apr_time_t deferred_until;          /* another process creates: look again then */
    unsigned failures;                  /* in a row */
    apr_time_t failing_logged;          /* when a failure was last logged, 0: not failing */
    int stop;

    apr_thread_t *thread;
    apr_pool_t *thread_pool;
    clerk_http_t *http;
    volatile apr_uint32_t started;
    volatile apr_uint32_t creations;
    volatile apr_uint32_t cancel;       /* set when stopping: aborts a creation in progress */
};

static void lock(clerk_m2m_holder_t *h)
{
    if (h->lock)
        apr_thread_mutex_lock(h->lock);
}

static void unlock(clerk_m2m_holder_t *h)
{
    if (h->lock)
        apr_thread_mutex_unlock(h->lock);
}

clerk_m2m_holder_t *clerk_m2m_holder_create(apr_pool_t *p, const clerk_m2m_spec_t *spec,
                                            const clerk_m2m_share_t *share,
                                            clerk_metrics_t *metrics, clerk_log_fn *log,
                                            void *log_baton)
{
    clerk_m2m_holder_t *h = apr_pcalloc(p, sizeof(*h));
    apr_array_header_t *machines = apr_array_make(p, 2, sizeof(const char *));

    /* a deep copy: the holder outlives what described it */
    h->spec = *spec;
    h->spec.api_url = apr_pstrdup(p, spec->api_url);
    h->spec.secret = apr_pstrdup(p, spec->secret);
    for (int i = 0; spec->machines && i < spec->machines->nelts; i++)
        APR_ARRAY_PUSH(machines, const char *) =
            apr_pstrdup(p, APR_ARRAY_IDX(spec->machines, i, const char *));
    h->spec.machines = machines;
    h->spec.http.ca_file = spec->http.ca_file ? apr_pstrdup(p, spec->http.ca_file) : NULL;
    h->spec.http.proxy = spec->http.proxy ? apr_pstrdup(p, spec->http.proxy) : NULL;
    h->spec.http.cancel = NULL;
    h->spec.http.max_body = CLERK_M2M_ANSWER_MAX + 1;   /* so that an oversized one is seen */
    h->lifetime = apr_time_from_sec(spec->ttl);
    if (share)
        h->share = *share;
    h->metrics = metrics;
    h->log = log;
    h->log_baton = log_baton;
    if (!clerk_m2m_key(&h->spec, h->key))
        return NULL;
    return h;
}

const unsigned char *clerk_m2m_holder_key(const clerk_m2m_holder_t *h)
{
    return h->key;
}

/*
 * When a token obtained at now and expiring at expires is due for renewal:
 * the margin of the shorter of the lifetime asked for and the one it has.
 */
static apr_time_t renewal_of(const clerk_m2m_holder_t *h, apr_time_t now, apr_time_t expires)
{
    apr_interval_time_t life = expires - now < h->lifetime ? expires - now : h->lifetime;
    return expires - clerk_m2m_renew_margin(life);
}

/*
 * A token from elsewhere worth taking: valid and in scope, and
 *  - kept across a restart (shared = 0): not due for renewal by the margin
 *    of the lifetime asked for, else every child would renew it at once;
 *  - from the share (shared = 1): with more than CLERK_M2M_MIN_LEFT left
 *    and newer than the one held (the share still holds the token this
 *    holder is renewing).  Its lifetime may be shorter than asked for (Clerk
 *    grants less), so it is renewed by the margin of the life it has left
 *    (renewal_of): later than whoever created it, who has stored the next.
 */
static int adoptable(clerk_m2m_holder_t *h, apr_pool_t *p, const char *token,
                     apr_time_t expires, apr_time_t now, int shared, apr_time_t *exp_out)
{
    apr_time_t exp;
    const char *detail;

    if (clerk_m2m_check_jwt(p, token, h->spec.machines, now, &exp, &detail) != CLERK_M2M_CREATED)
        return 0;
    if (expires < exp)
        exp = expires;
    if (shared ? exp - now <= CLERK_M2M_MIN_LEFT || exp <= h->expires
               : exp - clerk_m2m_renew_margin(h->lifetime) <= now)
        return 0;
    *exp_out = exp;
    return 1;
}

/*
 * Up to CLERK_M2M_JITTER_MAX, at most a quarter of the margin, earlier: the
 * processes of a fleet holding one token do not all renew it at once, so
 * that the first creates it and the others adopt it.
 */
static apr_interval_time_t jitter(apr_interval_time_t margin)
{
    return clerk_jitter(margin / 4 < CLERK_M2M_JITTER_MAX ? margin / 4 : CLERK_M2M_JITTER_MAX);
}

/* Install a token or a failure; called with the lock held. */
static void install(clerk_m2m_holder_t *h, clerk_m2m_outcome_t o, const char *token,
                    apr_time_t expires, apr_time_t now)
{
    if (o == CLERK_M2M_CREATED) {
        apr_cpystrn(h->token, token, sizeof(h->token));
        h->expires = expires;
        h->renew_at = renewal_of(h, now, expires);
        if (h->share.lookup)
            h->renew_at -= jitter(expires - h->renew_at);
        h->failures = 0;
        h->retry_at = 0;
        h->deferred_until = 0;
        return;
    }
    if (o == CLERK_M2M_DEFERRED) {
        h->deferred_until = now + CLERK_M2M_DEFER_STEP;
        return;
    }
    h->failures++;
    h->retry_at = now + clerk_m2m_backoff(h->failures);
}

int clerk_m2m_holder_adopt(clerk_m2m_holder_t *h, apr_pool_t *ptemp, const char *token,
                           apr_time_t expires, apr_time_t now)
{
    apr_time_t exp;

    if (!adoptable(h, ptemp, token, expires, now, 0, &exp))
        return 0;
    lock(h);
    install(h, CLERK_M2M_CREATED, token, exp, now);
    unlock(h);
    return 1;
}

/* The metrics' outcome of a creation (clerk_bapi_outcome_t's order). */
static unsigned counted_as(clerk_m2m_outcome_t o)
{
    switch (o) {
    case CLERK_M2M_CREATED:
        return CLERK_BAPI_ANSWERED;
    case CLERK_M2M_SECRET_REFUSED:
        return CLERK_BAPI_SECRET_REJECTED;
    default:
        return CLERK_BAPI_UNAVAILABLE;
    }
}

/*
 * One attempt, without the lock: a shared token, or a new one.  The token
 * lives in p.
 */
static clerk_m2m_outcome_t attempt(clerk_m2m_holder_t *h, clerk_http_t *http, apr_pool_t *p,
                                   apr_time_t now, const char **token, apr_time_t *expires,
                                   const char **detail)
{
    const char *url, *body, *shared;
    apr_array_header_t *headers;
    clerk_http_response_t resp;
    apr_time_t shared_exp, started = apr_time_now();
    clerk_m2m_outcome_t o;

    if (h->share.lookup && h->share.lookup(h->share.baton, h->key, p, &shared, &shared_exp)
        && shared && adoptable(h, p, shared, shared_exp, now, 1, expires)) {
        *token = shared;
        return CLERK_M2M_CREATED;
    }
    /* each creation is billed: one process of the fleet at a time */
    if (h->share.claim) {
        if (h->share.claim(h->share.baton, h->key) == 0)
            return CLERK_M2M_DEFERRED;
        /* the lease's last holder may have stored its token since the lookup */
        if (h->share.lookup && h->share.lookup(h->share.baton, h->key, p, &shared, &shared_exp)
            && shared
            && adoptable(h, p, shared, shared_exp, now, 1, expires)) {
            *token = shared;
                return CLERK_M2M_CREATED;
        }
    }
    clerk_m2m_request(p, &h->spec, &url, &headers, &body);
    apr_atomic_inc32(&h->creations);
    if (clerk_http_request(http, p, "POST", url, headers, body, &resp) != APR_SUCCESS) {
        *detail = apr_pstrcat(p, WHAT ": ", resp.error, NULL);
        o = CLERK_M2M_FAILED;
    }
    else
        o = clerk_m2m_answer(p, resp.status, resp.body, resp.len, h->spec.machines, now, token,
                             expires, detail);
    clerk_metrics_call(h->metrics, CLERK_CALL_M2M_CREATE, counted_as(o),
                       apr_time_now() - started);
    if (o == CLERK_M2M_CREATED && h->share.publish)
        h->share.publish(h->share.baton, h->key, *token, *expires);
    return o;
}

/*
 * What an attempt's outcome tells the log (NULL: nothing): a failure when
 * it starts and then at most once per CLERK_M2M_LOG_INTERVAL, a recovery
 * once.  Called with the lock held, after install; logged without it.
 */
static const char *report(clerk_m2m_holder_t *h, apr_pool_t *p, clerk_m2m_outcome_t o,
                          apr_time_t now, const char *detail, int *level)
{
    if (o == CLERK_M2M_DEFERRED)
        return NULL;
    if (o == CLERK_M2M_CREATED) {
        int was_failing = h->failing_logged != 0;
        h->failing_logged = 0;
        *level = LOG_INFO;
        return was_failing ? "M2M token for proxied requests: obtained again" : NULL;
    }
    if (h->failing_logged && now - h->failing_logged < CLERK_M2M_LOG_INTERVAL)
        return NULL;
    h->failing_logged = now;
    *level = LOG_ERR;
    return apr_psprintf(p, "M2M token for proxied requests: %s%s (next attempt in %"
                        APR_TIME_T_FMT " s)", detail,
                        o == CLERK_M2M_OUT_OF_SCOPE ? "; the token is not used"
                        : o == CLERK_M2M_SECRET_REFUSED
                            ? "; check ClerkProxyMachineToken's secret" : "",
                        apr_time_sec(h->retry_at - now));
}

/* Due at now? Called with the lock held. */
static apr_time_t next_due(const clerk_m2m_holder_t *h)
{
    if (h->deferred_until)
        return h->deferred_until;
    if (h->failures)
        return h->retry_at;
    return h->token[0] ? h->renew_at : 0;
}

apr_time_t clerk_m2m_holder_step(clerk_m2m_holder_t *h, clerk_http_t *http, apr_time_t now)
{
    apr_pool_t *tmp;
    const char *token = NULL, *detail = NULL, *message;
    apr_time_t expires = 0, due;
    clerk_m2m_outcome_t o;
    int level;

    lock(h);
    due = next_due(h);
    unlock(h);
    if (due > now)
        return due;
    if (apr_pool_create_unmanaged_ex(&tmp, NULL, NULL) != APR_SUCCESS)
        return now + CLERK_M2M_BACKOFF_MAX;
    o = attempt(h, http, tmp, now, &token, &expires, &detail);
    if (o != CLERK_M2M_CREATED && apr_atomic_read32(&h->cancel)) {
        apr_pool_destroy(tmp);          /* stopping: not a failure worth a word */
        return now;
    }
    lock(h);
    install(h, o, token, expires, now);
    message = report(h, tmp, o, now, detail, &level);
    due = next_due(h);
    unlock(h);
    if (message && h->log)
        h->log(h->log_baton, level, message);
    apr_pool_destroy(tmp);
    return due;
}

clerk_m2m_outcome_t clerk_m2m_holder_create_now(clerk_m2m_holder_t *h, apr_pool_t *ptemp)
{
    clerk_http_t *http;
    apr_time_t now = apr_time_now();

    if (clerk_http_create(ptemp, &h->spec.http, 1, &http) != APR_SUCCESS)
        return CLERK_M2M_FAILED;
    clerk_m2m_holder_step(h, http, now);
    return h->token[0] ? CLERK_M2M_CREATED : CLERK_M2M_FAILED;   /* deferred: none yet */
}

static void *APR_THREAD_FUNC refresher(apr_thread_t *thread, void *data)
{
    clerk_m2m_holder_t *h = data;

    lock(h);
    while (!h->stop && !apr_atomic_read32(&h->cancel)) {
        apr_time_t now = apr_time_now(), due = next_due(h);
        if (due > now) {
            apr_thread_cond_timedwait(h->wake, h->lock, due - now);
            continue;
        }
        unlock(h);
        clerk_m2m_holder_step(h, h->http, now);
        lock(h);
    }
    unlock(h);
    /* return rather than apr_thread_exit(), for AddressSanitizer (clerk_jwks_cache.c) */
    return NULL;
}

static apr_status_t stop_refresher(void *data)
{
    clerk_m2m_holder_t *h = data;
    apr_status_t rv;

    if (!h->thread)
        return APR_SUCCESS;
    apr_atomic_set32(&h->cancel, 1);   /* a creation in progress ends within about 1 s */
    lock(h);
    h->stop = 1;
    apr_thread_cond_signal(h->wake);
    unlock(h);
    apr_thread_join(&rv, h->thread);
    h->thread = NULL;
    return APR_SUCCESS;
}

apr_status_t clerk_m2m_holder_child_init(clerk_m2m_holder_t *h, apr_pool_t *pchild)
{
    clerk_http_opts_t opts = h->spec.http;
    apr_status_t rv;

    opts.cancel = &h->cancel;
    if ((rv = apr_pool_create(&h->thread_pool, pchild)) != APR_SUCCESS
        || (rv = clerk_http_create(h->thread_pool, &opts, 1, &h->http)) != APR_SUCCESS
        || (rv = apr_thread_mutex_create(&h->lock, APR_THREAD_MUTEX_DEFAULT, h->thread_pool))
               != APR_SUCCESS
        || (rv = apr_thread_cond_create(&h->wake, h->thread_pool)) != APR_SUCCESS)
        return rv;
    /* a pre-cleanup: it must run before the thread's own pool goes away */
    apr_pool_pre_cleanup_register(h->thread_pool, h, stop_refresher);
    return APR_SUCCESS;
}

/* The refresher, started on first use, asynchronous signals blocked (as clerk_jwks_cache.c's). */
static void ensure_started(clerk_m2m_holder_t *h)
{
    if (apr_atomic_read32(&h->started) || !h->lock)
        return;
    lock(h);
    if (!h->started && !h->stop
        && clerk_background_thread_start(&h->thread, "clerk-m2m", refresher, h, h->thread_pool)
               == APR_SUCCESS)
        apr_atomic_set32(&h->started, 1);
    unlock(h);
}

int clerk_m2m_holder_get(clerk_m2m_holder_t *h, apr_pool_t *p, apr_time_t now,
                         const char **token, apr_int64_t *retry_after)
{
    int ok;
    apr_time_t next;

    ensure_started(h);
    lock(h);
    ok = h->token[0] && h->expires - now > CLERK_M2M_MIN_LEFT;
    if (ok)
        *token = apr_pstrdup(p, h->token);
    next = next_due(h);
    unlock(h);
    if (!ok) {
        apr_int64_t s = next > now ? apr_time_sec(next - now + APR_USEC_PER_SEC - 1) : 1;
        *retry_after = s < 1 ? 1 : s > 60 ? 60 : s;
    }
    return ok;
}

int clerk_m2m_holder_current(clerk_m2m_holder_t *h, apr_pool_t *p, const char **token,
                             apr_time_t *expires)
{
    int ok;

    lock(h);
    if ((ok = h->token[0] != '\0')) {
        *token = apr_pstrdup(p, h->token);
        *expires = h->expires;
    }
    unlock(h);
    return ok;
}

apr_uint32_t clerk_m2m_holder_creations(const clerk_m2m_holder_t *h)
{
    return apr_atomic_read32((volatile apr_uint32_t *)&h->creations);
}
