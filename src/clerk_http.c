#include "clerk_http.h"

#include <apr_atomic.h>
#include <apr_reslist.h>
#include <apr_strings.h>
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <string.h>

struct clerk_http {
    clerk_http_opts_t opts;
    apr_reslist_t *handles;
};

typedef struct {
    char *buf;
    apr_size_t len, cap, max;
    apr_pool_t *pool;
    int too_large;
} body_sink;

void clerk_http_global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/*
 * localhost, or an address literal in 127.0.0.0/8 or ::1.  A name that merely
 * starts with "127." (127.0.0.1.nip.io) is a DNS name like any other.
 */
static int is_loopback_host(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    char buf[INET6_ADDRSTRLEN + 1];
    apr_size_t n = strlen(host);

    if (!strcasecmp(host, "localhost"))
        return 1;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (n > 2 && n - 2 < sizeof(buf) && host[0] == '[' && host[n - 1] == ']') {
        memcpy(buf, host + 1, n - 2);
        buf[n - 2] = '\0';
        return inet_pton(AF_INET6, buf, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
    }
    return 0;
}

/*
 * Scheme, host and (when port is not NULL) port of url, the scheme's default
 * port when none is written; 0 when it does not parse.  Free with curl_free.
 */
static int url_parts(const char *url, char **scheme, char **host, char **port)
{
    CURLU *u = curl_url();
    int ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK
        && curl_url_get(u, CURLUPART_SCHEME, scheme, 0) == CURLUE_OK
        && curl_url_get(u, CURLUPART_HOST, host, 0) == CURLUE_OK
        && (!port || curl_url_get(u, CURLUPART_PORT, port, CURLU_DEFAULT_PORT) == CURLUE_OK);
    curl_url_cleanup(u);
    return ok;
}

const char *clerk_http_check_url(apr_pool_t *p, const char *url)
{
    char *scheme = NULL, *host = NULL;
    const char *err = NULL;

    if (!url_parts(url, &scheme, &host, NULL))
        err = apr_psprintf(p, "'%s' is not a URL", url);
    else if (!strcmp(scheme, "http") && !is_loopback_host(host))
        err = apr_psprintf(p, "'%s': plain http is allowed only to loopback hosts; use https",
                           url);
    else if (strcmp(scheme, "https") && strcmp(scheme, "http"))
        err = apr_psprintf(p, "'%s' is not an http(s) URL", url);
    curl_free(scheme);
    curl_free(host);
    return err;
}

static size_t write_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    body_sink *s = userdata;
    size_t n = size * nmemb;

    if (s->len + n > s->max) {
        s->too_large = 1;
        return 0;   /* aborts the transfer */
    }
    if (s->len + n + 1 > s->cap) {
        apr_size_t cap = s->cap ? s->cap * 2 : 16384;
        while (cap < s->len + n + 1)
            cap *= 2;
        char *nb = apr_palloc(s->pool, cap);
        if (s->len)
            memcpy(nb, s->buf, s->len);
        s->buf = nb;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, n);
    s->len += n;
    return n;
}

static apr_status_t handle_construct(void **res, void *params, apr_pool_t *pool)
{
    CURL *h = curl_easy_init();
    if (!h)
        return APR_ENOMEM;
    *res = h;
    return APR_SUCCESS;
}

static apr_status_t handle_destruct(void *res, void *params, apr_pool_t *pool)
{
    curl_easy_cleanup((CURL *)res);
    return APR_SUCCESS;
}

apr_status_t clerk_http_create(apr_pool_t *p, const clerk_http_opts_t *opts,
                               int max_handles, clerk_http_t **out)
{
    clerk_http_t *http = apr_pcalloc(p, sizeof(*http));
    apr_status_t rv;

    http->opts = *opts;
    if (!http->opts.max_body)
        http->opts.max_body = CLERK_HTTP_MAX_BODY;
    if (http->opts.timeout_ms <= 0)
        http->opts.timeout_ms = 5000;
    rv = apr_reslist_create(&http->handles, 0, max_handles, max_handles, 0,
                            handle_construct, handle_destruct, http, p);
    if (rv == APR_SUCCESS) {
        apr_reslist_cleanup_order_set(http->handles, APR_RESLIST_CLEANUP_FIRST);
        /* When every handle is busy, wait at most one request's time for one. */
        apr_reslist_timeout_set(http->handles, apr_time_from_msec(http->opts.timeout_ms));
    }
    *out = http;
    return rv;
}

/* Progress callback: a non-zero return aborts the transfer. */
static int cancelled(void *flag, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                     curl_off_t ulnow)
{
    return apr_atomic_read32((volatile apr_uint32_t *)flag) != 0;
}

/* Set up a (possibly reused) handle for one hop. */
static void prepare(CURL *h, const clerk_http_t *http, const char *method, const char *url,
                    struct curl_slist *hdrs, const char *body, body_sink *sink, long left_ms)
{
    curl_easy_reset(h);     /* keeps the connection and TLS session caches */
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (http->opts.ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, http->opts.ca_file);
    /* An explicit proxy, or none: never one from the environment. */
    curl_easy_setopt(h, CURLOPT_PROXY, http->opts.proxy ? http->opts.proxy : "");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, left_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, left_ms);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)http->opts.max_body);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "mod_auth_clerk");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, sink);
    if (http->opts.cancel) {
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, cancelled);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, (void *)http->opts.cancel);
    }
    if (!strcmp(method, "POST")) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
    }
}

apr_status_t clerk_http_request(clerk_http_t *http, apr_pool_t *p, const char *method,
                                const char *url, const apr_array_header_t *headers,
                                const char *body, clerk_http_response_t *resp)
{
    struct curl_slist *hdrs = NULL;
    apr_time_t deadline = apr_time_now() + apr_time_from_msec(http->opts.timeout_ms);
    char *first_host = NULL, *scheme = NULL, *first_port = NULL;
    const char *current = url;
    apr_status_t rv = APR_SUCCESS;
    void *res;
    CURL *h;

    memset(resp, 0, sizeof(*resp));
    if ((resp->error = clerk_http_check_url(p, url)) != NULL)
        return APR_EINVAL;
    if (apr_reslist_acquire(http->handles, &res) != APR_SUCCESS) {
        resp->error = "no HTTP handle available";
        return APR_EGENERAL;
    }
    h = res;
    for (int i = 0; headers && i < headers->nelts; i++)
        hdrs = curl_slist_append(hdrs, APR_ARRAY_IDX(headers, i, const char *));
    url_parts(url, &scheme, &first_host, &first_port);

    for (int hop = 0;; hop++) {
        body_sink sink = {.pool = p, .max = http->opts.max_body};
        long left = (long)apr_time_as_msec(deadline - apr_time_now()), status = 0;
        char *location = NULL, *host = NULL, *lscheme = NULL, *lport = NULL;
        CURLcode cc;

        if (left <= 0) {
            resp->error = "timed out";
            rv = APR_TIMEUP;
            break;
        }
        if (http->opts.cancel && apr_atomic_read32(http->opts.cancel)) {
            resp->error = "cancelled";
            rv = APR_EINTR;
            break;
        }
        prepare(h, http, method, current, hdrs, body, &sink, left);
        cc = curl_easy_perform(h);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        if (cc != CURLE_OK) {
            resp->error = sink.too_large || cc == CURLE_FILESIZE_EXCEEDED
                ? apr_psprintf(p, "response larger than %" APR_SIZE_T_FMT " bytes",
                               http->opts.max_body)
                : apr_pstrdup(p, curl_easy_strerror(cc));
            rv = cc == CURLE_OPERATION_TIMEDOUT ? APR_TIMEUP : APR_EGENERAL;
            /* A failed handle may hold a broken connection: do not reuse it. */
            apr_reslist_invalidate(http->handles, h);
            h = NULL;
            break;
        }
        if (status >= 300 && status < 400 && strcmp(method, "POST")
            && curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &location) == CURLE_OK && location) {
            /* Same origin only: the request headers (a secret) go along. */
            int same = url_parts(location, &lscheme, &host, &lport) && first_host && first_port
                && !strcasecmp(host, first_host) && !strcmp(lscheme, scheme)
                && !strcmp(lport, first_port);
            curl_free(host);
            curl_free(lscheme);
            curl_free(lport);
            if (!same) {
                resp->error = "redirect to another host, port or scheme refused";
                rv = APR_EGENERAL;
                break;
            }
            if (hop + 1 > CLERK_HTTP_MAX_REDIRECTS) {
                resp->error = "too many redirects";
                rv = APR_EGENERAL;
                break;
            }
            current = apr_pstrdup(p, location);
            continue;
        }
        resp->status = (int)status;
        resp->body = sink.buf ? sink.buf : "";
        resp->len = sink.len;
        if (sink.buf)
            sink.buf[sink.len] = '\0';
        break;
    }
    curl_slist_free_all(hdrs);
    curl_free(first_host);
    curl_free(first_port);
    curl_free(scheme);
    if (h)
        apr_reslist_release(http->handles, h);
    return rv;
}
