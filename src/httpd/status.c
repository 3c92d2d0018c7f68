/*
 * SetHandler clerk-status and the Clerk section of mod_status's
 * server-status: the counters of src/clerk_metrics.h, shared by every
 * process of the server (README: "Metrics and server-status").
 *
 *   GET ...                      JSON
 *   GET ...?format=prometheus    Prometheus text exposition format 0.0.4
 *
 * The counters live in anonymous shared memory that the parent makes in its
 * first post_config and keeps in the process pool, so they survive restarts
 * (graceful or not: the parent stays) and reset only when httpd stops; a
 * module of another layout after a restart starts anew.  The key-source
 * slots follow the configuration and start anew with each generation.
 * What a process holds (the kids in force, the age of its key set) is the
 * answering child's own.
 */
#include "auth_clerk.h"

#include "ap_mpm.h"
#include "mod_status.h"
#include "util_script.h"

#include <unistd.h>

#define STATUS_HANDLER "clerk-status"
#define SHM_KEY "mod_auth_clerk-metrics"

static clerk_metrics_t *metrics;

clerk_metrics_t *mac_metrics(void)
{
    return metrics;
}

apr_status_t mac_metrics_post_config(apr_pool_t *pconf, server_rec *s)
{
    apr_pool_t *keep = s->process->pool;
    apr_shm_t *shm = NULL;
    void *data = NULL;
    apr_status_t rv;

    apr_pool_userdata_get(&data, SHM_KEY, keep);
    shm = data;
    if ((rv = clerk_metrics_open(&metrics, pconf, keep, &shm)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, CLERKNO(080)
                     "cannot create the shared metrics");
        metrics = NULL;
        return rv;
    }
    if (shm != data)
        apr_pool_userdata_set(shm, SHM_KEY, apr_pool_cleanup_null, keep);
    return APR_SUCCESS;
}

void mac_metrics_child_init(void)
{
    int threads = 1;

    /* a threaded MPM's threads per child, so that children count in stripes of their own */
    if (ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads) != APR_SUCCESS || threads < 1)
        threads = 1;
    clerk_metrics_child_init(metrics, (unsigned)threads);
}

void mac_count_outcome(const clerk_auth_outcome_t *o)
{
    clerk_metrics_outcome(metrics, o->state, o->claims ? o->claims->type : 0, o->reason,
                          o->handshake_reason);
}

static clerk_metrics_report_t *report(request_rec *r)
{
    clerk_metrics_report_t *rep = apr_pcalloc(r->pool, sizeof(*rep));

    rep->views = mac_key_sources_views(r->pool, &rep->nviews);
    rep->pid = (long)getpid();
    rep->now = apr_time_now();
    rep->started = clerk_metrics_started(metrics);
    rep->shared_cache = mac_shared_cache_provider();
    rep->shared_stats = mac_shared_cache_stats(&rep->shared, &rep->shared_rejected);
    return rep;
}

static int status_handler(request_rec *r)
{
    const char *body, *format = NULL;
    int prometheus;

    if (!r->handler || strcmp(r->handler, STATUS_HANDLER))
        return DECLINED;
    ap_allow_standard_methods(r, REPLACE_ALLOW, M_GET, -1);
    if (r->method_number != M_GET)
        return HTTP_METHOD_NOT_ALLOWED;
    if (!metrics) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CLERKNO(081)
                      "SetHandler " STATUS_HANDLER ": no shared metrics in this server");
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (r->args) {
        apr_table_t *args;
        ap_args_to_table(r, &args);
        format = apr_table_get(args, "format");
    }
    prometheus = format && !strcmp(format, "prometheus");
    if (format && !prometheus && strcmp(format, "json"))
        return HTTP_BAD_REQUEST;
    body = prometheus ? clerk_metrics_prometheus(r->pool, metrics, report(r))
                      : clerk_metrics_json(r->pool, metrics, report(r));
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    ap_set_content_type(r, prometheus ? "text/plain; version=0.0.4; charset=utf-8"
                                      : "application/json");
    ap_set_content_length(r, strlen(body));
    if (!r->header_only)
        ap_rputs(body, r);
    return OK;
}

/* mod_status: "Key: value" lines with ?auto, else a table. */
static int status_hook(request_rec *r, int flags)
{
    apr_array_header_t *kv;

    if (!metrics)
        return OK;
    kv = clerk_metrics_flat(r->pool, metrics);
    if (flags & AP_STATUS_SHORT) {
        for (int i = 0; i + 1 < kv->nelts; i += 2)
            ap_rprintf(r, "%s: %s\n", APR_ARRAY_IDX(kv, i, const char *),
                       APR_ARRAY_IDX(kv, i + 1, const char *));
        return OK;
    }
    ap_rputs("<hr />\n<h2>Clerk</h2>\n<table>\n", r);
    for (int i = 0; i + 1 < kv->nelts; i += 2)
        ap_rprintf(r, "<tr><td>%s</td><td>%s</td></tr>\n",
                   ap_escape_html(r->pool, APR_ARRAY_IDX(kv, i, const char *)),
                   APR_ARRAY_IDX(kv, i + 1, const char *));
    ap_rputs("</table>\n", r);
    return OK;
}

void mac_register_status(void)
{
    ap_hook_handler(status_handler, NULL, NULL, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ap, status_hook, status_hook, NULL, NULL, APR_HOOK_MIDDLE);
}
