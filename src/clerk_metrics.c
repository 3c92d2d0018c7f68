#include "clerk_metrics.h"

#include <apr_strings.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "clerk_authenticate.h"
#include "clerk_backend_api.h"
#include "clerk_json.h"
#include "clerk_thread_stripe.h"

/*
 * C11 atomics between processes need lock-free ones (see clerk_call_budget.c):
 * a build-time fact here.
 */
_Static_assert(ATOMIC_LONG_LOCK_FREE == 2 && ATOMIC_LLONG_LOCK_FREE == 2,
               "64-bit atomics must be lock-free");
_Static_assert(sizeof(atomic_uint_fast64_t) == 8, "64-bit counters");
_Static_assert(CLERK_AUTH_BROKEN + 1 == CLERK_METRICS_STATES, "one counter per state");
_Static_assert(CLERK_BAPI_SECRET_REJECTED + 1 == CLERK_CALL_OUTCOMES, "one per outcome");

typedef atomic_uint_fast64_t counter_t;

const double clerk_metrics_bucket_le[CLERK_METRICS_BUCKETS] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
};
static const char *const bucket_text[CLERK_METRICS_BUCKETS] = {
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10"
};

/* The shared counters: a fixed layout, recognised again after a restart by magic and size. */
#define LAYOUT 3u
#define MAGIC (0x436c65726b4d0000ull | LAYOUT)    /* "ClerkM" */

/* What every request counts, by outcome and by token cache event. */
#define REQUEST_COUNTS(T)                                                                    \
    struct {                                                                                 \
        T states[CLERK_METRICS_STATES];                                                      \
        T signed_in[CLERK_METRICS_TYPES];                                                    \
        T rejected[CLERK_REASON_COUNT];                                                      \
        T handshakes[CLERK_HS_COUNT];                                                        \
        T cache[CLERK_CACHE_EVENTS];                                                         \
    }
typedef REQUEST_COUNTS(counter_t) request_counts_t;
typedef REQUEST_COUNTS(uint64_t) request_totals_t;     /* the stripes summed, for reports */
#define REQUEST_COUNTERS (sizeof(request_totals_t) / sizeof(uint64_t))
_Static_assert(sizeof(request_counts_t) == REQUEST_COUNTERS * sizeof(counter_t),
               "request counts: arrays of counters without padding");

/*
 * The request counts are kept per stripe: a thread counts into stripe (its
 * process's base + its ordinal in the process) mod REQUEST_STRIPES, so the
 * threads of one process, and of the processes started one after another,
 * each have their own cache lines until there are more threads than
 * stripes.  Threads that share a stripe still count exactly (atomic adds);
 * reports sum the stripes.  The rarer counts (Backend API calls, drops) are
 * not striped.
 */
#define REQUEST_STRIPES 128u
typedef union {
    request_counts_t c;
    char pad[(sizeof(request_counts_t) + CLERK_CACHE_LINE - 1) / CLERK_CACHE_LINE
             * CLERK_CACHE_LINE];
} request_stripe;

typedef struct {
    uint64_t magic, size;
    int64_t started;                                    /* µs since the epoch */
    counter_t processes;                                /* children that asked for a base */
    counter_t calls[CLERK_CALL_ENDPOINTS][CLERK_CALL_OUTCOMES];
    counter_t buckets[CLERK_CALL_ENDPOINTS][CLERK_METRICS_BUCKETS + 1];  /* last: +Inf */
    counter_t sum_us[CLERK_CALL_ENDPOINTS];
    counter_t drops[CLERK_CALL_ENDPOINTS][CLERK_DROP_KINDS];
    _Alignas(CLERK_CACHE_LINE) request_stripe requests[REQUEST_STRIPES];
} shared_t;

/* One key source; last: (µs << 1) | ok of the latest fetch, 0 for none. */
typedef union {
    struct {
        counter_t ok, failed, last;
    } s;
    char pad[64];       /* a cache line each: refreshers of different sources do not contend */
} source_t;

struct clerk_metrics {
    shared_t *sh;
    source_t *sources;
    unsigned nsources;
    unsigned base;          /* this process's first request stripe */
};

static void *aligned_base(apr_shm_t *shm)
{
    return (void *)(((uintptr_t)apr_shm_baseaddr_get(shm) + 63) & ~(uintptr_t)63);
}

apr_status_t clerk_metrics_open(clerk_metrics_t **out, apr_pool_t *p, apr_pool_t *keep,
                                apr_shm_t **shm)
{
    clerk_metrics_t *m = apr_pcalloc(p, sizeof(*m));
    shared_t *sh;
    apr_status_t rv;

    if (*shm && apr_shm_size_get(*shm) >= sizeof(shared_t) + 64) {
        sh = aligned_base(*shm);
        if (sh->magic == MAGIC && sh->size == sizeof(shared_t)) {
            m->sh = sh;
            *out = m;
            return APR_SUCCESS;
        }
    }
    /* NULL name: anonymous memory, shared with the children forked later */
    if ((rv = apr_shm_create(shm, sizeof(shared_t) + 64, NULL, keep)) != APR_SUCCESS)
        return rv;
    sh = aligned_base(*shm);
    memset(sh, 0, sizeof(*sh));     /* all-zero atomics are zero counters */
    sh->magic = MAGIC;
    sh->size = sizeof(shared_t);
    sh->started = apr_time_now();
    m->sh = sh;
    *out = m;
    return APR_SUCCESS;
}

apr_status_t clerk_metrics_sources(clerk_metrics_t *m, apr_pool_t *p, unsigned nsources)
{
    apr_shm_t *shm;
    apr_status_t rv;

    m->sources = NULL;
    m->nsources = 0;
    if (!nsources)
        return APR_SUCCESS;
    if ((rv = apr_shm_create(&shm, (apr_size_t)nsources * sizeof(source_t) + 64, NULL, p))
        != APR_SUCCESS)
        return rv;
    m->sources = aligned_base(shm);
    memset(m->sources, 0, (apr_size_t)nsources * sizeof(source_t));
    m->nsources = nsources;
    return APR_SUCCESS;
}

unsigned clerk_metrics_source_count(const clerk_metrics_t *m)
{
    return m ? m->nsources : 0;
}

apr_time_t clerk_metrics_started(const clerk_metrics_t *m)
{
    return m->sh->started;
}

void clerk_metrics_child_init(clerk_metrics_t *m, unsigned threads)
{
    uint64_t nth;

    if (!m)
        return;
    nth = atomic_fetch_add_explicit(&m->sh->processes, 1, memory_order_relaxed);
    m->base = (unsigned)((nth * (threads ? threads : 1)) % REQUEST_STRIPES);
}

/* The stripe this thread counts its requests in. */
static request_counts_t *my_counts(clerk_metrics_t *m)
{
    return &m->sh->requests[(m->base + clerk_thread_ordinal()) % REQUEST_STRIPES].c;
}

static void sum_requests(const clerk_metrics_t *m, request_totals_t *t)
{
    uint64_t *sum = (uint64_t *)t;

    memset(t, 0, sizeof(*t));
    for (unsigned i = 0; i < REQUEST_STRIPES; i++) {
        const counter_t *c = (const counter_t *)&m->sh->requests[i].c;
        for (size_t k = 0; k < REQUEST_COUNTERS; k++)
            sum[k] += atomic_load_explicit((counter_t *)&c[k], memory_order_relaxed);
    }
}

/* ---- counting ---- */

static void inc(counter_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static uint64_t get(const counter_t *c)
{
    return atomic_load_explicit((counter_t *)c, memory_order_relaxed);
}

static const struct {
    const char *name;
    size_t prefix;      /* match the first prefix bytes only; 0: the whole name */
} hs_names[CLERK_HS_COUNT] = {
    {"dev-browser-sync", 0},
    {"dev-browser-missing", 0},
    {"session-token-but-no-client-uat", 0},
    {"client-uat-but-no-session-token", 0},
    {"session-token-iat-before-client-uat", 0},
    {"session-token-expired-refresh", sizeof("session-token-expired-refresh-") - 1},
    {"session-token-nbf", 0},
    {"session-token-iat-in-the-future", 0},
    {"satellite-needs-syncing", 0},
    {"primary-responds-to-syncing", 0},
    {"primary-domain-cross-origin-sync", 0},
    {"active-organization-mismatch", 0},
    {"other", 0},
};

clerk_hs_reason_t clerk_metrics_hs_reason(const char *why)
{
    if (!why)
        return CLERK_HS_OTHER;
    for (unsigned i = 0; i < CLERK_HS_OTHER; i++) {
        if (hs_names[i].prefix ? !strncmp(why, "session-token-expired-refresh-", hs_names[i].prefix)
                               : !strcmp(why, hs_names[i].name))
            return (clerk_hs_reason_t)i;
    }
    return CLERK_HS_OTHER;
}

const char *clerk_metrics_hs_name(clerk_hs_reason_t r)
{
    return r < CLERK_HS_COUNT ? hs_names[r].name : "other";
}

static unsigned type_index(clerk_token_type_t type)
{
    for (unsigned i = 0; i < CLERK_METRICS_TYPES; i++)
        if ((unsigned)type == 1u << i)
            return i;
    return CLERK_METRICS_TYPES;
}

const char *clerk_metrics_type_name(unsigned i)
{
    static const char *const names[CLERK_METRICS_TYPES] = {"session", "m2m", "oauth", "api_key"};
    return i < CLERK_METRICS_TYPES ? names[i] : "unknown";
}

const char *clerk_metrics_state_name(unsigned state)
{
    return clerk_auth_state_name((clerk_auth_state_t)state);
}

const char *clerk_metrics_endpoint_name(clerk_call_endpoint_t ep)
{
    static const char *const names[CLERK_CALL_ENDPOINTS] = {
        "opaque_verify", "handshake_payload", "session_refresh", "m2m_token_create"
    };
    return ep < CLERK_CALL_ENDPOINTS ? names[ep] : "unknown";
}

const char *clerk_metrics_outcome_name(unsigned outcome)
{
    static const char *const names[CLERK_CALL_OUTCOMES] = {
        "answered", "unavailable", "refused_secret"
    };
    return outcome < CLERK_CALL_OUTCOMES ? names[outcome] : "unknown";
}

static const char *drop_name(unsigned d)
{
    return d == CLERK_DROP_BUDGET ? "budget" : "waiting";
}

static const char *const cache_names[CLERK_CACHE_EVENTS] = {"hits", "misses", "inserts",
                                                             "evictions"};

void clerk_metrics_outcome(clerk_metrics_t *m, unsigned state, clerk_token_type_t type,
                           clerk_reason_t reason, const char *handshake_reason)
{
    request_counts_t *c;
    unsigned t;

    if (!m || state >= CLERK_METRICS_STATES)
        return;
    c = my_counts(m);
    inc(&c->states[state], 1);
    switch (state) {
    case CLERK_AUTH_SIGNED_IN:
        if ((t = type_index(type)) < CLERK_METRICS_TYPES)
            inc(&c->signed_in[t], 1);
        break;
    case CLERK_AUTH_SIGNED_OUT:
    case CLERK_AUTH_ANONYMOUS:
    case CLERK_AUTH_SIGN_IN_REDIRECT:
        if ((unsigned)reason < CLERK_REASON_COUNT)
            inc(&c->rejected[reason], 1);
        break;
    case CLERK_AUTH_HANDSHAKE:
        inc(&c->handshakes[clerk_metrics_hs_reason(handshake_reason)], 1);
        break;
    default:
        break;
    }
}

void clerk_metrics_cache(clerk_metrics_t *m, clerk_cache_event_t ev)
{
    if (m && ev < CLERK_CACHE_EVENTS)
        inc(&my_counts(m)->cache[ev], 1);
}

void clerk_metrics_call(clerk_metrics_t *m, clerk_call_endpoint_t ep, unsigned outcome,
                        apr_interval_time_t elapsed)
{
    unsigned b = 0;
    double s;

    if (!m || ep >= CLERK_CALL_ENDPOINTS || outcome >= CLERK_CALL_OUTCOMES)
        return;
    if (elapsed < 0)
        elapsed = 0;
    s = (double)elapsed / APR_USEC_PER_SEC;
    while (b < CLERK_METRICS_BUCKETS && s > clerk_metrics_bucket_le[b])
        b++;
    inc(&m->sh->calls[ep][outcome], 1);
    inc(&m->sh->buckets[ep][b], 1);
    inc(&m->sh->sum_us[ep], (uint64_t)elapsed);
}

void clerk_metrics_drop(clerk_metrics_t *m, clerk_call_endpoint_t ep, clerk_drop_t why)
{
    if (m && ep < CLERK_CALL_ENDPOINTS && why < CLERK_DROP_KINDS)
        inc(&m->sh->drops[ep][why], 1);
}

void clerk_metrics_fetch(clerk_metrics_t *m, unsigned slot, int ok, apr_time_t when)
{
    source_t *s;

    if (!m || slot >= m->nsources)
        return;
    s = &m->sources[slot];
    inc(ok ? &s->s.ok : &s->s.failed, 1);
    atomic_store_explicit(&s->s.last, ((uint64_t)(when > 0 ? when : 1) << 1) | (ok ? 1 : 0),
                          memory_order_relaxed);
}

/* ---- reporting ---- */

const char *clerk_metrics_safe_url(apr_pool_t *p, const char *url)
{
    const char *scheme_end, *host, *at, *end;

    if (!url)
        return "";
    end = url + strcspn(url, "?#");
    scheme_end = strstr(url, "://");
    if (!scheme_end || scheme_end > end)
        return apr_pstrmemdup(p, url, (apr_size_t)(end - url));
    host = scheme_end + 3;
    at = memchr(host, '@', (size_t)(end - host));
    if (at && at < host + strcspn(host, "/"))
        host = at + 1;
    return apr_pstrcat(p, apr_pstrmemdup(p, url, (apr_size_t)(scheme_end + 3 - url)),
                       apr_pstrmemdup(p, host, (apr_size_t)(end - host)), NULL);
}

static double seconds(apr_time_t t)
{
    return (double)t / APR_USEC_PER_SEC;
}

static json_t *counts_object(const uint64_t *c, unsigned from, unsigned n,
                             const char *(*name)(unsigned))
{
    json_t *o = json_object();
    for (unsigned i = from; i < n; i++)
        json_object_set_new(o, name(i), json_integer((json_int_t)c[i]));
    return o;
}

static const char *reason_name(unsigned i)
{
    return clerk_reason_str((clerk_reason_t)i);
}

static const char *hs_name(unsigned i)
{
    return clerk_metrics_hs_name((clerk_hs_reason_t)i);
}

static const char *state_name(unsigned i)
{
    return clerk_metrics_state_name(i);
}

/* The shared cache: its provider, and what the reporting process's courier did. */
static json_t *shared_cache_json(const clerk_metrics_report_t *rep)
{
    const clerk_courier_stats_t *c = &rep->shared;
    json_t *o, *proc;

    if (!rep->shared_cache)
        return json_null();
    o = json_object();
    json_object_set_new(o, "provider", json_string(rep->shared_cache));
    if (!rep->shared_stats) {
        json_object_set_new(o, "this_process", json_null());
        return o;
    }
    proc = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b}", "lookups", (json_int_t)c->gets,
                     "hits", (json_int_t)c->hits, "misses", (json_int_t)c->misses, "stores",
                     (json_int_t)c->puts, "late", (json_int_t)c->late, "refused",
                     (json_int_t)c->refused, "failures", (json_int_t)c->failures,
                     "rejected", (json_int_t)rep->shared_rejected, "resting", c->resting);
    json_object_set_new(proc, "pid", json_integer(rep->pid));
    json_object_set_new(o, "this_process", proc);
    return o;
}

char *clerk_metrics_json(apr_pool_t *p, const clerk_metrics_t *m,
                         const clerk_metrics_report_t *rep)
{
    const shared_t *sh = m->sh;
    request_totals_t t;
    json_t *o = json_object(), *req = json_object(), *cache = json_object(),
           *bapi = json_object(), *calls = json_object(), *lat = json_object(),
           *drops = json_object(), *sources = json_array();
    char *text;

    json_object_set_new(o, "pid", json_integer(rep->pid));
    json_object_set_new(o, "started", json_real(seconds(sh->started)));
    json_object_set_new(o, "uptime_seconds", json_real(seconds(rep->now - sh->started)));

    sum_requests(m, &t);
    json_object_set_new(req, "outcomes", counts_object(t.states, 0, CLERK_METRICS_STATES,
                                                       state_name));
    json_object_set_new(req, "signed_in", counts_object(t.signed_in, 0, CLERK_METRICS_TYPES,
                                                        clerk_metrics_type_name));
    /* CLERK_OK is never a rejection: from 1 */
    json_object_set_new(req, "rejected", counts_object(t.rejected, 1, CLERK_REASON_COUNT,
                                                       reason_name));
    json_object_set_new(req, "handshakes", counts_object(t.handshakes, 0, CLERK_HS_COUNT,
                                                         hs_name));
    json_object_set_new(o, "requests", req);

    for (unsigned i = 0; i < CLERK_CACHE_EVENTS; i++)
        json_object_set_new(cache, cache_names[i], json_integer((json_int_t)t.cache[i]));
    json_object_set_new(o, "token_cache", cache);

    for (unsigned e = 0; e < CLERK_CALL_ENDPOINTS; e++) {
        const char *ep = clerk_metrics_endpoint_name((clerk_call_endpoint_t)e);
        json_t *by = json_object(), *h = json_object(), *bk = json_object(), *d = json_object();
        uint64_t cum = 0;
        for (unsigned k = 0; k < CLERK_CALL_OUTCOMES; k++)
            json_object_set_new(by, clerk_metrics_outcome_name(k),
                                json_integer((json_int_t)get(&sh->calls[e][k])));
        json_object_set_new(calls, ep, by);
        for (unsigned b = 0; b <= CLERK_METRICS_BUCKETS; b++) {
            cum += get(&sh->buckets[e][b]);
            json_object_set_new(bk, b < CLERK_METRICS_BUCKETS ? bucket_text[b] : "+Inf",
                                json_integer((json_int_t)cum));
        }
        json_object_set_new(h, "buckets", bk);
        json_object_set_new(h, "sum", json_real((double)get(&sh->sum_us[e]) / APR_USEC_PER_SEC));
        json_object_set_new(h, "count", json_integer((json_int_t)cum));
        json_object_set_new(lat, ep, h);
        for (unsigned k = 0; k < CLERK_DROP_KINDS; k++)
            json_object_set_new(d, drop_name(k), json_integer((json_int_t)get(&sh->drops[e][k])));
        json_object_set_new(drops, ep, d);
    }
    json_object_set_new(bapi, "calls", calls);
    json_object_set_new(bapi, "latency_seconds", lat);
    json_object_set_new(bapi, "dropped", drops);
    json_object_set_new(o, "backend_api", bapi);

    for (unsigned i = 0; i < m->nsources && i < rep->nviews; i++) {
        const clerk_metrics_source_view_t *v = &rep->views[i];
        const source_t *s = &m->sources[i];
        uint64_t last = get(&s->s.last);
        json_t *src, *proc, *kids;
        if (!v->url)
            continue;
        src = json_object();
        proc = json_object();
        kids = json_array();
        json_object_set_new(src, "source", json_string(clerk_metrics_safe_url(p, v->url)));
        json_object_set_new(src, "fetches_ok", json_integer((json_int_t)get(&s->s.ok)));
        json_object_set_new(src, "fetches_failed", json_integer((json_int_t)get(&s->s.failed)));
        json_object_set_new(src, "last_fetch", last ? json_real(seconds((apr_time_t)(last >> 1)))
                                                    : json_null());
        json_object_set_new(src, "last_fetch_ok", last ? json_boolean(last & 1) : json_null());
        json_object_set_new(proc, "pid", json_integer(rep->pid));
        json_object_set_new(proc, "loaded", json_boolean(v->loaded));
        for (int k = 0; v->loaded && v->kids && k < v->kids->nelts; k++) {
            const char *kid = APR_ARRAY_IDX(v->kids, k, const char *);
            json_array_append_new(kids, kid ? json_string(kid) : json_null());
        }
        json_object_set_new(proc, "kids", kids);
        json_object_set_new(proc, "snapshot_age_seconds",
                            v->loaded ? json_real(seconds(rep->now - v->fetched_at))
                                      : json_null());
        json_object_set_new(src, "this_process", proc);
        json_array_append_new(sources, src);
    }
    json_object_set_new(o, "key_sources", sources);
    json_object_set_new(o, "shared_cache", shared_cache_json(rep));

    text = clerk_json_compact(p, o);
    json_decref(o);
    return text;
}

/* ---- Prometheus text format ---- */

typedef struct {
    apr_pool_t *p;
    apr_array_header_t *parts;
} out_t;

static void emit(out_t *o, const char *s)
{
    APR_ARRAY_PUSH(o->parts, const char *) = s;
}

static void head(out_t *o, const char *name, const char *type, const char *help)
{
    emit(o, apr_psprintf(o->p, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type));
}

/* A label value: \, " and newline escaped. */
static const char *label(apr_pool_t *p, const char *v)
{
    char *out = apr_palloc(p, strlen(v) * 2 + 1), *d = out;
    for (; *v; v++) {
        if (*v == '\\' || *v == '"') {
            *d++ = '\\';
            *d++ = *v;
        }
        else if (*v == '\n') {
            *d++ = '\\';
            *d++ = 'n';
        }
        else
            *d++ = *v;
    }
    *d = '\0';
    return out;
}

static void sample(out_t *o, const char *name, const char *labels, uint64_t v)
{
    emit(o, apr_psprintf(o->p, "%s%s%s%s %" APR_UINT64_T_FMT "\n", name, labels ? "{" : "",
                         labels ? labels : "", labels ? "}" : "", (apr_uint64_t)v));
}

static void sample_real(out_t *o, const char *name, const char *labels, double v)
{
    emit(o, apr_psprintf(o->p, "%s%s%s%s %.6f\n", name, labels ? "{" : "", labels ? labels : "",
                         labels ? "}" : "", v));
}

static void family(out_t *o, const char *name, const char *help, const char *key,
                   const uint64_t *c, unsigned from, unsigned n, const char *(*nm)(unsigned))
{
    head(o, name, "counter", help);
    for (unsigned i = from; i < n; i++)
        sample(o, name, apr_psprintf(o->p, "%s=\"%s\"", key, label(o->p, nm(i))), c[i]);
}

char *clerk_metrics_prometheus(apr_pool_t *p, const clerk_metrics_t *m,
                               const clerk_metrics_report_t *rep)
{
    const shared_t *sh = m->sh;
    request_totals_t t;
    out_t o = {p, apr_array_make(p, 256, sizeof(const char *))};
    static const char *const cache_help[CLERK_CACHE_EVENTS] = {
        "Token cache lookups that found a verified token.",
        "Token cache lookups that found nothing usable.",
        "Verified tokens put in the token cache.",
        "Token cache entries evicted to make room.",
    };

    head(&o, "clerk_metrics_start_time_seconds", "gauge",
         "When these counters began (they survive graceful restarts).");
    sample_real(&o, "clerk_metrics_start_time_seconds", NULL, seconds(sh->started));
    sum_requests(m, &t);
    family(&o, "clerk_requests_total", "AuthType Clerk authentications by outcome.", "outcome",
           t.states, 0, CLERK_METRICS_STATES, state_name);
    family(&o, "clerk_signed_in_total", "Requests signed in, by token type.", "token_type",
           t.signed_in, 0, CLERK_METRICS_TYPES, clerk_metrics_type_name);
    family(&o, "clerk_rejections_total",
           "Signed-out requests (401, anonymous, sign-in redirect) by reason.", "reason",
           t.rejected, 1, CLERK_REASON_COUNT, reason_name);
    family(&o, "clerk_handshakes_total", "Browser-flow handshake redirects by reason.", "reason",
           t.handshakes, 0, CLERK_HS_COUNT, hs_name);
    for (unsigned i = 0; i < CLERK_CACHE_EVENTS; i++) {
        const char *name = apr_pstrcat(p, "clerk_token_cache_", cache_names[i], "_total", NULL);
        head(&o, name, "counter", cache_help[i]);
        sample(&o, name, NULL, t.cache[i]);
    }

    head(&o, "clerk_backend_api_calls_total", "counter", "Backend API calls by endpoint and outcome.");
    for (unsigned e = 0; e < CLERK_CALL_ENDPOINTS; e++)
        for (unsigned k = 0; k < CLERK_CALL_OUTCOMES; k++)
            sample(&o, "clerk_backend_api_calls_total",
                   apr_psprintf(p, "endpoint=\"%s\",outcome=\"%s\"",
                                clerk_metrics_endpoint_name((clerk_call_endpoint_t)e),
                                clerk_metrics_outcome_name(k)),
                   get(&sh->calls[e][k]));
    head(&o, "clerk_backend_api_call_duration_seconds", "histogram",
         "Backend API call latency by endpoint.");
    for (unsigned e = 0; e < CLERK_CALL_ENDPOINTS; e++) {
        const char *ep = clerk_metrics_endpoint_name((clerk_call_endpoint_t)e);
        uint64_t cum = 0;
        for (unsigned b = 0; b <= CLERK_METRICS_BUCKETS; b++) {
            cum += get(&sh->buckets[e][b]);
            sample(&o, "clerk_backend_api_call_duration_seconds_bucket",
                   apr_psprintf(p, "endpoint=\"%s\",le=\"%s\"", ep,
                                b < CLERK_METRICS_BUCKETS ? bucket_text[b] : "+Inf"),
                   cum);
        }
        sample_real(&o, "clerk_backend_api_call_duration_seconds_sum",
                    apr_psprintf(p, "endpoint=\"%s\"", ep),
                    (double)get(&sh->sum_us[e]) / APR_USEC_PER_SEC);
        sample(&o, "clerk_backend_api_call_duration_seconds_count",
               apr_psprintf(p, "endpoint=\"%s\"", ep), cum);
    }
    head(&o, "clerk_backend_api_dropped_total", "counter",
         "Backend API calls not made (503), by endpoint and cause.");
    for (unsigned e = 0; e < CLERK_CALL_ENDPOINTS; e++)
        for (unsigned k = 0; k < CLERK_DROP_KINDS; k++)
            sample(&o, "clerk_backend_api_dropped_total",
                   apr_psprintf(p, "endpoint=\"%s\",cause=\"%s\"",
                                clerk_metrics_endpoint_name((clerk_call_endpoint_t)e),
                                drop_name(k)),
                   get(&sh->drops[e][k]));

    if (m->nsources && rep->nviews) {
        apr_array_header_t *fetch = apr_array_make(p, 8, sizeof(const char *)),
                           *last = apr_array_make(p, 8, sizeof(const char *)),
                           *okay = apr_array_make(p, 8, sizeof(const char *)),
                           *kids = apr_array_make(p, 8, sizeof(const char *)),
                           *age = apr_array_make(p, 8, sizeof(const char *));
        for (unsigned i = 0; i < m->nsources && i < rep->nviews; i++) {
            const clerk_metrics_source_view_t *v = &rep->views[i];
            const source_t *s = &m->sources[i];
            uint64_t l = get(&s->s.last);
            const char *src;
            if (!v->url)
                continue;
            src = label(p, clerk_metrics_safe_url(p, v->url));
            APR_ARRAY_PUSH(fetch, const char *) = apr_psprintf(
                p, "clerk_key_source_fetches_total{source=\"%s\",result=\"ok\"} %" APR_UINT64_T_FMT
                "\nclerk_key_source_fetches_total{source=\"%s\",result=\"failed\"} %"
                APR_UINT64_T_FMT "\n", src, (apr_uint64_t)get(&s->s.ok), src,
                (apr_uint64_t)get(&s->s.failed));
            if (l) {
                APR_ARRAY_PUSH(last, const char *) = apr_psprintf(
                    p, "clerk_key_source_last_fetch_timestamp_seconds{source=\"%s\"} %.6f\n", src,
                    seconds((apr_time_t)(l >> 1)));
                APR_ARRAY_PUSH(okay, const char *) = apr_psprintf(
                    p, "clerk_key_source_last_fetch_success{source=\"%s\"} %d\n", src,
                    (int)(l & 1));
            }
            for (int k = 0; v->loaded && v->kids && k < v->kids->nelts; k++) {
                const char *kid = APR_ARRAY_IDX(v->kids, k, const char *);
                APR_ARRAY_PUSH(kids, const char *) = apr_psprintf(
                    p, "clerk_key_source_kid_info{source=\"%s\",kid=\"%s\"} 1\n", src,
                    label(p, kid ? kid : ""));
            }
            if (v->loaded)
                APR_ARRAY_PUSH(age, const char *) = apr_psprintf(
                    p, "clerk_key_source_snapshot_age_seconds{source=\"%s\"} %.6f\n", src,
                    seconds(rep->now - v->fetched_at));
        }
        const struct {
            const char *name, *type, *help;
            const apr_array_header_t *rows;
        } families[] = {
            {"clerk_key_source_fetches_total", "counter",
             "Key set fetches by source and result (all processes).", fetch},
            {"clerk_key_source_last_fetch_timestamp_seconds", "gauge",
             "When the latest fetch of any process ended.", last},
            {"clerk_key_source_last_fetch_success", "gauge",
             "Whether the latest fetch of any process gave usable keys.", okay},
            {"clerk_key_source_kid_info", "gauge",
             "The kids in force in the reporting process.", kids},
            {"clerk_key_source_snapshot_age_seconds", "gauge",
             "Since the reporting process's keys were last confirmed.", age},
        };
        for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
            head(&o, families[f].name, families[f].type, families[f].help);
            emit(&o, apr_array_pstrcat(p, families[f].rows, 0));
        }
    }
    return apr_array_pstrcat(p, o.parts, 0);
}

apr_array_header_t *clerk_metrics_flat(apr_pool_t *p, const clerk_metrics_t *m)
{
    const shared_t *sh = m->sh;
    request_totals_t t;
    apr_array_header_t *a = apr_array_make(p, 64, sizeof(const char *));
#define PAIR(k, v)                                                                                 \
    do {                                                                                           \
        APR_ARRAY_PUSH(a, const char *) = (k);                                                     \
        APR_ARRAY_PUSH(a, const char *) = apr_psprintf(p, "%" APR_UINT64_T_FMT, (apr_uint64_t)(v)); \
    } while (0)

    sum_requests(m, &t);
    for (unsigned i = 0; i < CLERK_METRICS_STATES; i++)
        PAIR(apr_pstrcat(p, "ClerkRequests-", clerk_metrics_state_name(i), NULL), t.states[i]);
    for (unsigned i = 0; i < CLERK_METRICS_TYPES; i++)
        PAIR(apr_pstrcat(p, "ClerkSignedIn-", clerk_metrics_type_name(i), NULL), t.signed_in[i]);
    for (unsigned i = 1; i < CLERK_REASON_COUNT; i++)
        PAIR(apr_pstrcat(p, "ClerkRejected-", reason_name(i), NULL), t.rejected[i]);
    for (unsigned i = 0; i < CLERK_HS_COUNT; i++)
        PAIR(apr_pstrcat(p, "ClerkHandshakes-", hs_name(i), NULL), t.handshakes[i]);
    for (unsigned i = 0; i < CLERK_CACHE_EVENTS; i++)
        PAIR(apr_pstrcat(p, "ClerkTokenCache-", cache_names[i], NULL), t.cache[i]);
    for (unsigned e = 0; e < CLERK_CALL_ENDPOINTS; e++) {
        const char *ep = clerk_metrics_endpoint_name((clerk_call_endpoint_t)e);
        for (unsigned k = 0; k < CLERK_CALL_OUTCOMES; k++)
            PAIR(apr_pstrcat(p, "ClerkBackendAPI-", ep, "-", clerk_metrics_outcome_name(k), NULL),
                 get(&sh->calls[e][k]));
        for (unsigned k = 0; k < CLERK_DROP_KINDS; k++)
            PAIR(apr_pstrcat(p, "ClerkBackendAPIDropped-", ep, "-", drop_name(k), NULL),
                 get(&sh->drops[e][k]));
    }
    for (unsigned i = 0; i < m->nsources; i++) {
        PAIR(apr_psprintf(p, "ClerkKeySource%u-fetches-ok", i), get(&m->sources[i].s.ok));
        PAIR(apr_psprintf(p, "ClerkKeySource%u-fetches-failed", i), get(&m->sources[i].s.failed));
    }
#undef PAIR
    return a;
}
