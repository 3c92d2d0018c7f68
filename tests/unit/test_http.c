/*
 * src/clerk_http.c against a real (tiny, in-test) HTTP server: which URLs may
 * be fetched at all, statuses and headers, the body bound (plain and after
 * gzip decoding), redirects (same origin only, at most 3), the total
 * timeout, cancellation, and concurrent use of one client.
 */
#include "unit.h"

#include <apr_atomic.h>
#include <apr_thread_proc.h>

#include "clerk_http.h"
#include "test_server.h"

static test_server_t *srv;

static int group_setup(void **state)
{
    return ts_group_setup(state, &srv);
}

static int group_teardown(void **state)
{
    return ts_group_teardown(state, &srv);
}

static clerk_http_t *client(apr_pool_t *p, long timeout_ms, apr_size_t max_body)
{
    return ts_client(p, timeout_ms, max_body, 2);
}

static apr_status_t get(clerk_http_t *h, apr_pool_t *p, const char *path,
                        clerk_http_response_t *resp)
{
    return clerk_http_request(h, p, "GET", ts_url(srv, p, path), NULL, NULL, resp);
}

/* The locals of a request's test: p, h (a client with this timeout and the default
   body limit) and its response resp. */
#define HTTP_CASE(timeout_ms)                                                          \
    apr_pool_t *p = UNIT_POOL;                                                         \
    clerk_http_t *h = client(p, timeout_ms, 0);                                        \
    clerk_http_response_t resp

/* path answers status with Location: to and an empty body (the header lives in p). */
static void redirect(apr_pool_t *p, const char *path, int status, const char *to)
{
    ts_route(srv, path, status, apr_psprintf(p, "Location: %s\r\n", to), "");
}

static double seconds_since(apr_time_t t0)
{
    return (double)(apr_time_now() - t0) / APR_USEC_PER_SEC;
}

/* ------------------------------------------------------------ gzip, by hand */

/*
 * A gzip member with one fixed-Huffman deflate block: literals, and runs of
 * the previous byte as (length 258, distance 1) pairs, so a large run of
 * spaces costs 13 bits per 258 bytes (a "compression bomb" without zlib).
 */
typedef struct {
    unsigned char *buf;
    apr_size_t len, cap;
    unsigned bits;
    int nbits;
    apr_uint32_t crc;
    apr_uint32_t size;
} gz_t;

static apr_uint32_t crc_table[256];

static void crc_init(void)
{
    for (apr_uint32_t i = 0; i < 256; i++) {
        apr_uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

static void gz_byte(gz_t *g, unsigned char b)
{
    if (g->len == g->cap) {
        apr_size_t cap = g->cap ? g->cap * 2 : 4096;
        unsigned char *nb = realloc(g->buf, cap);
        assert_non_null(nb);
        g->buf = nb;
        g->cap = cap;
    }
    g->buf[g->len++] = b;
}

static void gz_bit(gz_t *g, unsigned bit)
{
    g->bits |= (bit & 1) << g->nbits;
    if (++g->nbits == 8) {
        gz_byte(g, (unsigned char)g->bits);
        g->bits = 0;
        g->nbits = 0;
    }
}

static void gz_bits_lsb(gz_t *g, unsigned v, int n)
{
    for (int i = 0; i < n; i++)
        gz_bit(g, v >> i);
}

static void gz_huff(gz_t *g, unsigned code, int n)
{
    for (int i = n - 1; i >= 0; i--)
        gz_bit(g, code >> i);
}

/* Fixed literal/length code of symbol sym (RFC 1951 3.2.6). */
static void gz_sym(gz_t *g, unsigned sym)
{
    if (sym < 144)
        gz_huff(g, 0x30 + sym, 8);
    else if (sym < 256)
        gz_huff(g, 0x190 + sym - 144, 9);
    else if (sym < 280)
        gz_huff(g, sym - 256, 7);
    else
        gz_huff(g, 0xC0 + sym - 280, 8);
}

static void gz_data_crc(gz_t *g, unsigned char b, apr_size_t n)
{
    for (apr_size_t i = 0; i < n; i++)
        g->crc = crc_table[(g->crc ^ b) & 0xff] ^ (g->crc >> 8);
    g->size += (apr_uint32_t)n;
}

static void gz_begin(gz_t *g)
{
    static const unsigned char hdr[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    memset(g, 0, sizeof(*g));
    g->crc = 0xffffffffu;
    for (int i = 0; i < 10; i++)
        gz_byte(g, hdr[i]);
    gz_bits_lsb(g, 1, 1);   /* BFINAL */
    gz_bits_lsb(g, 1, 2);   /* BTYPE 01: fixed Huffman */
}

static void gz_text(gz_t *g, const char *s, apr_size_t n)
{
    for (apr_size_t i = 0; i < n; i++) {
        gz_sym(g, (unsigned char)s[i]);
        gz_data_crc(g, (unsigned char)s[i], 1);
    }
}

/* n more copies of the last byte written (n a multiple of 258). */
static void gz_repeat(gz_t *g, unsigned char last, apr_size_t n)
{
    for (apr_size_t i = 0; i < n / 258; i++) {
        gz_sym(g, 285);         /* length 258 */
        gz_huff(g, 0, 5);       /* distance code 0: distance 1 */
    }
    gz_data_crc(g, last, n / 258 * 258);
}

static char *gz_end(gz_t *g, apr_pool_t *p, apr_size_t *len)
{
    apr_uint32_t crc = g->crc ^ 0xffffffffu;
    char *out;
    gz_sym(g, 256);
    while (g->nbits)
        gz_bit(g, 0);
    for (int i = 0; i < 4; i++)
        gz_byte(g, (unsigned char)(crc >> (8 * i)));
    for (int i = 0; i < 4; i++)
        gz_byte(g, (unsigned char)(g->size >> (8 * i)));
    out = apr_pmemdup(p, g->buf, g->len);
    *len = g->len;
    free(g->buf);
    return out;
}

/* ------------------------------------------------------------ URL rules */

static void test_check_url_allowed(void **state)
{
    static const char *ok[] = {
        "https://api.clerk.com/v1/jwks",
        "https://clerk.example.com/.well-known/jwks.json",
        "https://93.184.216.34/jwks",
        "http://127.0.0.1/jwks",
        "http://127.0.0.1:8080/jwks",
        "http://127.1.2.3:1/x",
        "http://localhost/jwks",
        "http://localhost:3000/jwks",
        "http://LOCALHOST:3000/jwks",
        "http://[::1]/jwks",
        "http://[::1]:8443/jwks",
        "HTTPS://API.CLERK.COM/v1/jwks",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        const char *err = clerk_http_check_url(UNIT_POOL, ok[i]);
        if (err)
            fail_msg("%s refused: %s", ok[i], err);
    }
}

static void test_check_url_refused(void **state)
{
    static const struct {
        const char *url, *why;
    } bad[] = {
        {"http://api.clerk.com/v1/jwks", "plain http"},
        {"http://example.com/jwks", "plain http"},
        {"http://10.0.0.1/jwks", "plain http"},
        {"http://0.0.0.0/jwks", "plain http"},
        {"http://128.0.0.1/jwks", "plain http"},
        {"http://127.0.0.1.nip.io/jwks", "plain http"},     /* a DNS name, not 127/8 */
        {"http://127.attacker.example/jwks", "plain http"},
        {"http://localhost.attacker.example/jwks", "plain http"},
        {"http://[::2]/jwks", "plain http"},
        {"http://[::ffff:10.0.0.1]/jwks", "plain http"},
        {"ftp://127.0.0.1/jwks", "not an http(s) URL"},
        {"file:///etc/passwd", "not"},
        {"gopher://127.0.0.1/", "not"},
        {"jwks.json", "not"},
        {"", "not"},
        {"https://", "not"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *err = clerk_http_check_url(UNIT_POOL, bad[i].url);
        if (!err)
            fail_msg("%s accepted", bad[i].url);
        if (!strstr(err, bad[i].why))
            fail_msg("%s: \"%s\" does not say \"%s\"", bad[i].url, err, bad[i].why);
    }
}

/* A refused URL is never requested. */
static void test_request_refuses_bad_url(void **state)
{
    clerk_http_t *h = client(UNIT_POOL, 1000, 0);
    clerk_http_response_t resp;
    assert_int_equal(clerk_http_request(h, UNIT_POOL, "GET", "http://example.com/jwks", NULL,
                                        NULL, &resp), APR_EINVAL);
    assert_non_null(resp.error);
    assert_int_equal(resp.status, 0);
}

/* ------------------------------------------------------------ basics */

static void test_get_status_body_headers(void **state)
{
    HTTP_CASE(2000);
    apr_array_header_t *hdrs = unit_strings(p, "Authorization: Bearer sk_test_unit",
                                            "Clerk-API-Version: 2026-05-12", NULL);
    char *head;

    ts_route(srv, "/basic", 200, "Content-Type: application/json\r\n", "{\"keys\":[]}");
    assert_int_equal(clerk_http_request(h, p, "GET", ts_url(srv, p, "/basic"), hdrs, NULL, &resp),
                     APR_SUCCESS);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.len, 11);
    unit_assert_str(resp.body, "{\"keys\":[]}");
    assert_null(resp.error);
    head = ts_last_head(srv, p);
    assert_non_null(strstr(head, "GET /basic HTTP/1.1\r\n"));
    assert_non_null(strstr(head, "\r\nAuthorization: Bearer sk_test_unit\r\n"));
    assert_non_null(strstr(head, "\r\nClerk-API-Version: 2026-05-12\r\n"));
    assert_non_null(strstr(head, "\r\nUser-Agent: mod_auth_clerk\r\n"));
    assert_non_null(strstr(head, "\r\nAccept-Encoding: "));

    /* any status is a response; an empty body is "" */
    ts_route(srv, "/e500", 500, NULL, "");
    assert_int_equal(get(h, p, "/e500", &resp), APR_SUCCESS);
    assert_int_equal(resp.status, 500);
    assert_int_equal(resp.len, 0);
    unit_assert_str(resp.body, "");
    assert_int_equal(get(h, p, "/no-such-route", &resp), APR_SUCCESS);
    assert_int_equal(resp.status, 404);
}

static void test_post_body_and_no_redirect(void **state)
{
    HTTP_CASE(2000);

    redirect(p, "/post", 302, "/post-target");
    ts_route(srv, "/post-target", 200, NULL, "followed");
    assert_int_equal(clerk_http_request(h, p, "POST", ts_url(srv, p, "/post"), NULL,
                                        "{\"token\":\"x\"}", &resp), APR_SUCCESS);
    assert_int_equal(resp.status, 302);         /* a POST is never redirected */
    assert_int_equal(ts_hits(srv, "/post-target"), 0);
    assert_non_null(strstr(ts_last_head(srv, p), "POST /post HTTP/1.1\r\n"));
}

static void test_connection_refused(void **state)
{
    HTTP_CASE(2000);
    test_server_t *gone = ts_start();
    const char *url = ts_url(gone, p, "/x");

    ts_stop(gone);
    assert_int_not_equal(clerk_http_request(h, p, "GET", url, NULL, NULL, &resp), APR_SUCCESS);
    assert_int_equal(resp.status, 0);
    assert_non_null(resp.error);
    /* the client still works afterwards (the failed handle was dropped) */
    ts_route(srv, "/after", 200, NULL, "ok");
    assert_int_equal(get(h, p, "/after", &resp), APR_SUCCESS);
    unit_assert_str(resp.body, "ok");
}

/* ------------------------------------------------------------ size bound */

static void test_body_bound(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_http_t *small = client(p, 5000, 4096), *dflt = client(p, 5000, 0);
    clerk_http_response_t resp;
    char *exact = apr_palloc(p, 4096), *over = apr_palloc(p, 4097);
    apr_size_t big_len = CLERK_HTTP_MAX_BODY + 1;
    char *big = apr_palloc(p, big_len), *max = apr_palloc(p, CLERK_HTTP_MAX_BODY);

    memset(exact, 'x', 4096);
    memset(over, 'x', 4097);
    memset(big, ' ', big_len);
    memset(max, ' ', CLERK_HTTP_MAX_BODY);
    ts_route_bin(srv, "/exact", 200, NULL, exact, 4096);
    ts_route_bin(srv, "/over", 200, NULL, over, 4097);
    ts_route_bin(srv, "/big", 200, NULL, big, big_len);
    ts_route_bin(srv, "/max", 200, NULL, max, CLERK_HTTP_MAX_BODY);

    assert_int_equal(get(small, p, "/exact", &resp), APR_SUCCESS);
    assert_int_equal(resp.len, 4096);
    assert_int_not_equal(get(small, p, "/over", &resp), APR_SUCCESS);
    assert_non_null(strstr(resp.error, "larger than 4096"));
    assert_int_equal(get(dflt, p, "/max", &resp), APR_SUCCESS);
    assert_int_equal(resp.len, CLERK_HTTP_MAX_BODY);
    assert_int_not_equal(get(dflt, p, "/big", &resp), APR_SUCCESS);
    assert_non_null(strstr(resp.error, "larger than 1048576"));
    assert_null(resp.body);
}

static void test_gzip_decoded_and_bounded(void **state)
{
    HTTP_CASE(5000);
    const char *text = "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"k1\"}]}";
    gz_t g;
    apr_size_t zlen, blen;
    char *z, *bomb;

    gz_begin(&g);
    gz_text(&g, text, strlen(text));
    z = gz_end(&g, p, &zlen);
    ts_route_bin(srv, "/gz", 200, "Content-Encoding: gzip\r\n", z, zlen);
    assert_int_equal(get(h, p, "/gz", &resp), APR_SUCCESS);
    assert_int_equal(resp.status, 200);
    unit_assert_str(resp.body, text);
    assert_non_null(strstr(ts_last_head(srv, p), "gzip"));

    /* 4 MiB of spaces in about 25 KB: refused by the bound after decoding */
    gz_begin(&g);
    gz_text(&g, "{\"keys\":[] ", 11);
    gz_repeat(&g, ' ', (apr_size_t)258 * 16257);
    gz_text(&g, "}", 1);
    bomb = gz_end(&g, p, &blen);
    assert_true(blen < 64 * 1024);
    ts_route_bin(srv, "/bomb", 200, "Content-Encoding: gzip\r\n", bomb, blen);
    assert_int_not_equal(get(h, p, "/bomb", &resp), APR_SUCCESS);
    assert_non_null(strstr(resp.error, "larger than 1048576"));

    /* the same bytes, announced as plain: small, taken as they are */
    ts_route_bin(srv, "/bomb-plain", 200, NULL, bomb, blen);
    assert_int_equal(get(h, p, "/bomb-plain", &resp), APR_SUCCESS);
    assert_int_equal(resp.len, blen);
}

/* ------------------------------------------------------------ redirects */

static void test_redirect_same_origin_followed(void **state)
{
    HTTP_CASE(2000);
    apr_array_header_t *hdrs = unit_strings(p, "Authorization: Bearer sk_test_unit", NULL);

    /* 3 redirects, the most followed: relative, absolute, with a query */
    redirect(p, "/r-1", 302, "/r-2");
    redirect(p, "/r-2", 301, ts_url(srv, p, "/r-3"));
    redirect(p, "/r-3", 307, "/r-final?x=1");
    ts_route(srv, "/r-final", 200, NULL, "final");
    redirect(p, "/r-0", 302, "/r-1");
    assert_int_equal(clerk_http_request(h, p, "GET", ts_url(srv, p, "/r-1"), hdrs, NULL, &resp),
                     APR_SUCCESS);
    assert_int_equal(resp.status, 200);
    unit_assert_str(resp.body, "final");
    /* the secret header went along to the same origin */
    assert_non_null(strstr(ts_last_head(srv, p), "Authorization: Bearer sk_test_unit"));

    /* 4 redirects: one too many */
    assert_int_not_equal(get(h, p, "/r-0", &resp), APR_SUCCESS);
    assert_non_null(strstr(resp.error, "too many redirects"));
}

static void test_redirect_loop_refused(void **state)
{
    HTTP_CASE(2000);
    unsigned before;

    redirect(p, "/loop", 302, "/loop");
    before = ts_hits(srv, "/loop");
    assert_int_not_equal(get(h, p, "/loop", &resp), APR_SUCCESS);
    assert_non_null(strstr(resp.error, "too many redirects"));
    assert_int_equal(ts_hits(srv, "/loop") - before, 1 + CLERK_HTTP_MAX_REDIRECTS);
}

static void test_redirect_other_origin_refused(void **state)
{
    HTTP_CASE(2000);
    apr_array_header_t *hdrs = unit_strings(p, "Authorization: Bearer sk_test_unit", NULL);
    test_server_t *other = ts_start();
    struct {
        const char *path, *location;
    } cases[] = {
        /* another host name for the same socket */
        {"/to-localhost", apr_psprintf(p, "http://localhost:%u/target", (unsigned)srv->port)},
        /* the same host, another port: another origin, that must not get the secret */
        {"/to-port", ts_url(other, p, "/target")},
        /* another scheme */
        {"/to-https", apr_psprintf(p, "https://127.0.0.1:%u/target", (unsigned)srv->port)},
        {"/to-remote", "https://example.com/target"},
        {"/to-ftp", "ftp://127.0.0.1/target"},
    };

    ts_route(srv, "/target", 200, NULL, "should not be reached");
    ts_route(other, "/target", 200, NULL, "should not be reached");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ts_route(srv, cases[i].path, 302,
                 apr_psprintf(p, "Location: %s\r\n", cases[i].location), "");
        if (clerk_http_request(h, p, "GET", ts_url(srv, p, cases[i].path), hdrs, NULL, &resp)
            == APR_SUCCESS)
            fail_msg("redirect to %s followed (status %d)", cases[i].location, resp.status);
        assert_non_null(resp.error);
        if (!strstr(resp.error, "redirect to another host, port or scheme refused"))
            fail_msg("redirect to %s: %s", cases[i].location, resp.error);
    }
    assert_int_equal(ts_hits(srv, "/target"), 0);
    assert_int_equal(ts_requests(other), 0);
    ts_stop(other);
}

/* ------------------------------------------------------------ timeouts */

static void test_timeout_on_hang(void **state)
{
    HTTP_CASE(300);
    apr_time_t t0;
    apr_status_t rv;

    ts_route(srv, "/hang", 200, NULL, "late");
    ts_route_slow(srv, "/hang", 60000, 0);
    t0 = apr_time_now();
    rv = get(h, p, "/hang", &resp);
    assert_int_equal(rv, APR_TIMEUP);
    assert_true(seconds_since(t0) < 1.5);
    assert_int_equal(resp.status, 0);
    assert_non_null(resp.error);
}

static void test_timeout_on_drip(void **state)
{
    HTTP_CASE(500);
    apr_time_t t0;

    ts_route(srv, "/drip", 200, NULL, "{\"keys\":[\"dripping slowly\"]}");
    ts_route_slow(srv, "/drip", 0, 100);    /* 30 bytes: 3 s */
    t0 = apr_time_now();
    assert_int_equal(get(h, p, "/drip", &resp), APR_TIMEUP);
    assert_true(seconds_since(t0) < 1.5);
}

/* The total timeout covers every hop, not each one. */
static void test_timeout_covers_redirects(void **state)
{
    HTTP_CASE(600);
    apr_time_t t0;

    redirect(p, "/slow-a", 302, "/slow-b");
    ts_route_slow(srv, "/slow-a", 250, 0);
    redirect(p, "/slow-b", 302, "/slow-c");
    ts_route_slow(srv, "/slow-b", 250, 0);
    ts_route(srv, "/slow-c", 200, NULL, "late");
    ts_route_slow(srv, "/slow-c", 250, 0);
    t0 = apr_time_now();
    assert_int_not_equal(get(h, p, "/slow-a", &resp), APR_SUCCESS);
    assert_true(seconds_since(t0) < 1.2);
}

typedef struct {
    volatile apr_uint32_t *flag;
    int after_ms;
} canceller_t;

static void *APR_THREAD_FUNC cancel_later(apr_thread_t *t, void *data)
{
    canceller_t *c = data;
    apr_sleep(apr_time_from_msec(c->after_ms));
    apr_atomic_set32(c->flag, 1);
    return NULL;    /* not apr_thread_exit(): see clerk_jwks_cache.c refresher() */
}

/* A transfer stops soon after its cancel flag is set, whatever its timeout. */
static void test_cancel_flag_aborts_transfer(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    volatile apr_uint32_t flag = 0;
    clerk_http_opts_t o = {.timeout_ms = 30000, .cancel = &flag};
    clerk_http_t *h;
    clerk_http_response_t resp;
    canceller_t c = {&flag, 200};
    apr_thread_t *t;
    apr_status_t rv;
    apr_time_t t0;

    assert_int_equal(clerk_http_create(p, &o, 1, &h), APR_SUCCESS);
    ts_route(srv, "/cancel-ok", 200, NULL, "fine");
    assert_int_equal(get(h, p, "/cancel-ok", &resp), APR_SUCCESS);   /* flag 0: no effect */
    unit_assert_str(resp.body, "fine");

    ts_route(srv, "/cancel-hang", 200, NULL, "late");
    ts_route_slow(srv, "/cancel-hang", 60000, 0);
    assert_int_equal(apr_thread_create(&t, NULL, cancel_later, &c, p), APR_SUCCESS);
    t0 = apr_time_now();
    assert_int_not_equal(get(h, p, "/cancel-hang", &resp), APR_SUCCESS);
    assert_true(seconds_since(t0) < 2.5);
    assert_non_null(resp.error);
    apr_thread_join(&rv, t);
    /* once set, nothing more is sent */
    assert_int_not_equal(get(h, p, "/cancel-ok", &resp), APR_SUCCESS);
}

/* ------------------------------------------------------------ threads */

typedef struct {
    clerk_http_t *h;
    const char *url;
    int n, ok;
} worker_t;

static void *APR_THREAD_FUNC worker(apr_thread_t *t, void *data)
{
    worker_t *w = data;
    apr_pool_t *p;
    apr_pool_create_unmanaged_ex(&p, NULL, NULL);
    for (int i = 0; i < w->n; i++) {
        clerk_http_response_t resp;
        if (clerk_http_request(w->h, p, "GET", w->url, NULL, NULL, &resp) == APR_SUCCESS
            && resp.status == 200 && !strcmp(resp.body, "shared"))
            w->ok++;
        apr_pool_clear(p);
    }
    apr_pool_destroy(p);
    return NULL;    /* not apr_thread_exit(): see clerk_jwks_cache.c refresher() */
}

/* Four threads share a client of two pooled handles. */
static void test_concurrent_requests(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_http_t *h = client(p, 5000, 0);
    worker_t w[4];
    apr_thread_t *t[4];
    apr_status_t rv;

    ts_route(srv, "/shared", 200, NULL, "shared");
    for (int i = 0; i < 4; i++) {
        w[i] = (worker_t){.h = h, .url = ts_url(srv, p, "/shared"), .n = 25};
        assert_int_equal(apr_thread_create(&t[i], NULL, worker, &w[i], p), APR_SUCCESS);
    }
    for (int i = 0; i < 4; i++) {
        apr_thread_join(&rv, t[i]);
        assert_int_equal(w[i].ok, 25);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_check_url_allowed),
        UNIT_TEST(test_check_url_refused),
        UNIT_TEST(test_request_refuses_bad_url),
        UNIT_TEST(test_get_status_body_headers),
        UNIT_TEST(test_post_body_and_no_redirect),
        UNIT_TEST(test_connection_refused),
        UNIT_TEST(test_body_bound),
        UNIT_TEST(test_gzip_decoded_and_bounded),
        UNIT_TEST(test_redirect_same_origin_followed),
        UNIT_TEST(test_redirect_loop_refused),
        UNIT_TEST(test_redirect_other_origin_refused),
        UNIT_TEST(test_timeout_on_hang),
        UNIT_TEST(test_timeout_on_drip),
        UNIT_TEST(test_timeout_covers_redirects),
        UNIT_TEST(test_cancel_flag_aborts_transfer),
        UNIT_TEST(test_concurrent_requests),
    };
    crc_init();
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
