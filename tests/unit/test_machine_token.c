/*
 * src/clerk_machine_token.c: the creation call (URL, headers, body to the
 * byte), every check of Clerk's answer and of the JWT in it, the key, the
 * renewal margin and the backoff, the holder's timing driven with the
 * test's own clock (create, reuse, renew ahead of expiry, never hand out a
 * token about to expire, retry with backoff, logs rate-limited), the share
 * hooks (adopt, publish, refuse what is unusable), adoption over a restart,
 * and the refresher thread (started on first use, stopped with its pool).
 * Clerk is test_server.h.
 *
 * Also built with -fsanitize=thread by tests/unit/tsan.mk (make unit-tsan).
 */
#include "unit.h"

#include "clerk_backend_api.h"
#include "clerk_machine_token.h"
#include "test_server.h"

#define SECRET "ak_unitMachineSecret0123456789"
#define MACHINE "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk"
#define WHAT_PREFIX "Backend API m2m_tokens"
#define HEADER "{\"alg\":\"RS256\",\"kid\":\"" UNIT_KID "\",\"cat\":\"cl_B7d4PD333AAA\"}"

static test_server_t *srv;
static EVP_PKEY *priv;

static int group_setup(void **state)
{
    if (ts_group_setup(state, &srv))
        return -1;
    priv = unit_fixture_private_key(*unit_root_pool());
    return 0;
}

static int group_teardown(void **state)
{
    return ts_group_teardown(state, &srv);
}

/* ------------------------------------------------------------ tokens and answers */

static apr_int64_t now_s(void)
{
    return apr_time_sec(apr_time_now());
}

/* A signed M2M JWT expiring at exp (unix s), with extra payload members (",..." or ""). */
static char *jwt(apr_pool_t *p, apr_int64_t exp, const char *sub, const char *extra)
{
    return unit_sign(p, priv, "RS256", HEADER,
                     apr_psprintf(p, "{\"sub\":\"%s\",\"exp\":%" APR_INT64_T_FMT ",\"iat\":%"
                                  APR_INT64_T_FMT ",\"scopes\":\"mch_a mch_b\""
                                  ",\"aud\":[\"mch_a\",\"mch_b\"]%s}",
                                  sub, exp, exp - 3600, extra));
}

/* Clerk's M2MTokenJSON around token, expiration (ms) and extra members. */
static char *answer_of(apr_pool_t *p, const char *token_json, const char *expiration,
                       const char *extra)
{
    return apr_psprintf(p, "{\"object\":\"machine_to_machine_token\",\"id\":\"mt_unit1\","
                        "\"subject\":\"" MACHINE "\",\"scopes\":[\"mch_a\",\"mch_b\"],"
                        "\"claims\":null,\"revoked\":false,\"revocation_reason\":null,"
                        "\"expired\":false,\"expiration\":%s,\"last_used_at\":null,"
                        "\"created_at\":1,\"updated_at\":1,\"token\":%s%s}",
                        expiration, token_json, extra);
}

static char *quoted(apr_pool_t *p, const char *s)
{
    return apr_pstrcat(p, "\"", s, "\"", NULL);
}

/* A good answer for a token expiring at exp. */
static char *good_answer(apr_pool_t *p, apr_int64_t exp)
{
    return answer_of(p, quoted(p, jwt(p, exp, MACHINE, "")),
                     apr_psprintf(p, "%" APR_INT64_T_FMT "000", exp), "");
}

typedef struct {
    clerk_m2m_outcome_t o;
    const char *token;
    apr_time_t expires;
    const char *detail;
} parsed_t;

static parsed_t parse_as(apr_pool_t *p, int status, const char *body,
                         const apr_array_header_t *machines)
{
    parsed_t r = {0, NULL, 0, NULL};
    r.o = clerk_m2m_answer(p, status, body, strlen(body), machines, apr_time_now(), &r.token,
                           &r.expires, &r.detail);
    if (r.o == CLERK_M2M_CREATED) {
        assert_non_null(r.token);
        assert_null(r.detail);
    }
    else {
        assert_null(r.token);
        assert_non_null(r.detail);
        assert_null(strstr(r.detail, SECRET));
    }
    return r;
}

static void refused(apr_pool_t *p, const char *body, clerk_m2m_outcome_t want, const char *why)
{
    parsed_t r = parse_as(p, 200, body, unit_strings(p, "mch_a", NULL));
    assert_int_equal(r.o, want);
    if (!strstr(r.detail, why))
        fail_msg("detail \"%s\" does not say \"%s\"", r.detail, why);
}

/* ------------------------------------------------------------ the call */

static void test_request(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_m2m_spec_t spec = {.api_url = "https://api.clerk.com", .secret = SECRET, .ttl = 600};
    const char *url, *body;
    apr_array_header_t *headers;

    clerk_m2m_request(p, &spec, &url, &headers, &body);
    assert_string_equal(url, "https://api.clerk.com/m2m_tokens");      /* no /v1 */
    assert_int_equal(headers->nelts, 3);
    assert_string_equal(APR_ARRAY_IDX(headers, 0, const char *), "Authorization: Bearer " SECRET);
    assert_string_equal(APR_ARRAY_IDX(headers, 1, const char *),
                        "Clerk-API-Version: " CLERK_BACKEND_API_VERSION);
    assert_string_equal(APR_ARRAY_IDX(headers, 2, const char *), "Content-Type: application/json");
    assert_string_equal(body, "{\"seconds_until_expiration\":600,\"claims\":null,"
                              "\"token_format\":\"jwt\"}");
}

static void test_machine_ids(void **state)
{
    char long_id[4 + CLERK_MACHINE_ID_MAX + 2];

    assert_true(clerk_machine_id_wellformed(MACHINE));
    assert_true(clerk_machine_id_wellformed("mch_a"));
    assert_false(clerk_machine_id_wellformed("mch_"));
    assert_false(clerk_machine_id_wellformed("mch_a-b"));
    assert_false(clerk_machine_id_wellformed("mch_a b"));
    assert_false(clerk_machine_id_wellformed("user_abc"));
    assert_false(clerk_machine_id_wellformed("MCH_abc"));
    memcpy(long_id, "mch_", 4);
    memset(long_id + 4, 'a', CLERK_MACHINE_ID_MAX);
    long_id[4 + CLERK_MACHINE_ID_MAX] = '\0';
    assert_true(clerk_machine_id_wellformed(long_id));
    long_id[4 + CLERK_MACHINE_ID_MAX] = 'a';
    long_id[4 + CLERK_MACHINE_ID_MAX + 1] = '\0';
    assert_false(clerk_machine_id_wellformed(long_id));
}

/* ------------------------------------------------------------ the answer */

static void test_answer_accepted(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    apr_int64_t exp = now_s() + 3600;
    char *tok = jwt(p, exp, MACHINE, "");
    parsed_t r;

    r = parse_as(p, 200, good_answer(p, exp), unit_strings(p, "mch_a", "mch_b", NULL));
    assert_int_equal(r.o, CLERK_M2M_CREATED);
    assert_int_equal(apr_time_sec(r.expires), exp);
    r = parse_as(p, 201, answer_of(p, quoted(p, tok), "null", ""), NULL);
    assert_int_equal(r.o, CLERK_M2M_CREATED);
    assert_string_equal(r.token, tok);
    /* the earlier of exp and expiration: the object's */
    r = parse_as(p, 200, answer_of(p, quoted(p, tok),
                                   apr_psprintf(p, "%" APR_INT64_T_FMT "999", exp - 100), ""),
                 NULL);
    assert_int_equal(apr_time_sec(r.expires), exp - 100);
    /* ... the JWT's */
    r = parse_as(p, 200, answer_of(p, quoted(p, tok),
                                   apr_psprintf(p, "%" APR_INT64_T_FMT "000", exp + 100), ""),
                 NULL);
    assert_int_equal(apr_time_sec(r.expires), exp);
    /* no "expiration" member: the JWT's exp */
    r = parse_as(p, 200, apr_psprintf(p, "{\"object\":\"machine_to_machine_token\","
                                         "\"token\":\"%s\"}", tok), NULL);
    assert_int_equal(r.o, CLERK_M2M_CREATED);
    /* scopes from "aud" when the token has no "scopes", as the verifier reads them */
    tok = unit_sign(p, priv, "RS256", HEADER,
                    apr_psprintf(p, "{\"sub\":\"" MACHINE "\",\"exp\":%" APR_INT64_T_FMT
                                 ",\"aud\":[\"mch_x\",\"mch_y\"]}", exp));
    r = parse_as(p, 200, answer_of(p, quoted(p, tok), "null", ""),
                 unit_strings(p, "mch_y", "mch_x", NULL));
    assert_int_equal(r.o, CLERK_M2M_CREATED);
}

static void test_answer_statuses(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    const char *good = good_answer(p, now_s() + 3600);

    assert_int_equal(parse_as(p, 401, good, NULL).o, CLERK_M2M_SECRET_REFUSED);
    assert_int_equal(parse_as(p, 403, good, NULL).o, CLERK_M2M_SECRET_REFUSED);
    assert_int_equal(parse_as(p, 500, good, NULL).o, CLERK_M2M_FAILED);
    assert_int_equal(parse_as(p, 202, good, NULL).o, CLERK_M2M_FAILED);
    assert_int_equal(parse_as(p, 404, good, NULL).o, CLERK_M2M_FAILED);
}

static void test_answer_rejections(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    apr_int64_t now = now_s(), exp = now + 3600;
    const char *ms = apr_psprintf(p, "%" APR_INT64_T_FMT "000", exp);
    const char *tok = quoted(p, jwt(p, exp, MACHINE, ""));
    char *pad = apr_palloc(p, CLERK_M2M_ANSWER_MAX + 1);
    char *big_sub = apr_palloc(p, CLERK_TOKEN_MAX_LEN + 1);

    memset(pad, 'x', CLERK_M2M_ANSWER_MAX);
    pad[CLERK_M2M_ANSWER_MAX] = '\0';
    memset(big_sub, 'a', CLERK_TOKEN_MAX_LEN);
    big_sub[CLERK_TOKEN_MAX_LEN] = '\0';

    refused(p, answer_of(p, tok, ms, apr_pstrcat(p, ",\"pad\":\"", pad, "\"", NULL)),
            CLERK_M2M_FAILED, "over");
    refused(p, "not json", CLERK_M2M_FAILED, WHAT_PREFIX);
    refused(p, "[1]", CLERK_M2M_FAILED, WHAT_PREFIX);
    refused(p, apr_psprintf(p, "{\"object\":\"api_key\",\"token\":%s}", tok), CLERK_M2M_FAILED,
            "not a machine_to_machine_token");
    refused(p, apr_psprintf(p, "{\"token\":%s}", tok), CLERK_M2M_FAILED,
            "not a machine_to_machine_token");
    refused(p, answer_of(p, "null", ms, ""), CLERK_M2M_FAILED, "no token");
    refused(p, "{\"object\":\"machine_to_machine_token\"}", CLERK_M2M_FAILED, "no token");
    refused(p, answer_of(p, "42", ms, ""), CLERK_M2M_FAILED, "no token");
    refused(p, answer_of(p, "\"mt_opaqueTokenNotAJwt1234567890\"", ms, ""), CLERK_M2M_FAILED,
            "not a usable JWT");
    refused(p, answer_of(p, quoted(p, unit_raw_token(p, "{\"alg\":\"none\"}",
                                                     "{\"sub\":\"" MACHINE "\"}", "")), ms, ""),
            CLERK_M2M_FAILED, "not a usable JWT");
    /* a JWS over CLERK_TOKEN_MAX_LEN */
    refused(p, answer_of(p, quoted(p, jwt(p, exp, MACHINE,
                                          apr_pstrcat(p, ",\"x\":\"", big_sub, "\"", NULL))),
                         ms, ""),
            CLERK_M2M_FAILED, "not a usable JWT");
    refused(p, answer_of(p, quoted(p, unit_sign(p, priv, "RS256", HEADER,
                                                "{\"sub\":\"" MACHINE "\"}")), ms, ""),
            CLERK_M2M_FAILED, "no integer exp");
    refused(p, answer_of(p, quoted(p, unit_sign(p, priv, "RS256", HEADER,
                                                apr_psprintf(p, "{\"sub\":\"" MACHINE "\","
                                                             "\"exp\":\"%" APR_INT64_T_FMT "\"}",
                                                             exp))), ms, ""),
            CLERK_M2M_FAILED, "no integer exp");
    refused(p, answer_of(p, quoted(p, jwt(p, now - 1, MACHINE, "")), ms, ""), CLERK_M2M_FAILED,
            "expire");
    refused(p, answer_of(p, quoted(p, jwt(p, now + 9, MACHINE, "")), ms, ""), CLERK_M2M_FAILED,
            "expire");
    /* far in the past: refused, without overflowing microseconds (found by fuzz_m2m_answer) */
    refused(p, answer_of(p, quoted(p, jwt(p, -700003600003600LL, MACHINE, "")), ms, ""),
            CLERK_M2M_FAILED, "expire");
    refused(p, answer_of(p, tok, "-700003600003600000", ""), CLERK_M2M_FAILED, "about to expire");
    refused(p, answer_of(p, quoted(p, jwt(p, exp, "user_2GIpXOEpVyJw51rkZn9Kmnc6Sxr", "")), ms,
                         ""),
            CLERK_M2M_FAILED, "not a machine id");
    refused(p, answer_of(p, quoted(p, unit_sign(p, priv, "RS256", HEADER,
                                                apr_psprintf(p, "{\"exp\":%" APR_INT64_T_FMT
                                                             "}", exp))), ms, ""),
            CLERK_M2M_FAILED, "not a machine id");
    refused(p, answer_of(p, tok, "\"soon\"", ""), CLERK_M2M_FAILED, "expiration is not a number");
    refused(p, answer_of(p, tok, apr_psprintf(p, "%" APR_INT64_T_FMT "000", now + 5), ""),
            CLERK_M2M_FAILED, "about to expire");
    refused(p, apr_psprintf(p, "{\"object\":\"machine_to_machine_token\",\"revoked\":true,"
                               "\"token\":%s}", tok), CLERK_M2M_FAILED, "revoked or expired");
    refused(p, apr_psprintf(p, "{\"object\":\"machine_to_machine_token\",\"expired\":true,"
                               "\"token\":%s}", tok), CLERK_M2M_FAILED, "revoked or expired");
    refused(p, apr_psprintf(p, "{\"object\":\"machine_to_machine_token\",\"subject\":\"mch_other\","
                               "\"token\":%s}", tok), CLERK_M2M_FAILED, "subject");
    refused(p, apr_psprintf(p, "{\"object\":\"machine_to_machine_token\",\"subject\":7,"
                               "\"token\":%s}", tok), CLERK_M2M_FAILED, "subject");
}

static void test_answer_scopes(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    const char *good = good_answer(p, now_s() + 3600);
    parsed_t r;

    r = parse_as(p, 200, good, unit_strings(p, "mch_a", "mch_c", NULL));
    assert_int_equal(r.o, CLERK_M2M_OUT_OF_SCOPE);
    assert_non_null(strstr(r.detail, "mch_c"));
    assert_int_equal(parse_as(p, 200, good, unit_strings(p, "mch_b", NULL)).o, CLERK_M2M_CREATED);
    /* a token with no scopes at all reaches no named machine */
    r = parse_as(p, 200, answer_of(p, quoted(p, unit_sign(p, priv, "RS256", HEADER,
                                                          apr_psprintf(p, "{\"sub\":\"" MACHINE
                                                                       "\",\"exp\":%"
                                                                       APR_INT64_T_FMT "}",
                                                                       now_s() + 3600))),
                                   "null", ""),
                 unit_strings(p, "mch_a", NULL));
    assert_int_equal(r.o, CLERK_M2M_OUT_OF_SCOPE);
}

/* ------------------------------------------------------------ key and timing */

static void test_key(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    clerk_m2m_spec_t a = {.api_url = "https://api.clerk.com", .secret = SECRET, .ttl = 3600,
                          .machines = unit_strings(p, "mch_a", "mch_b", NULL)};
    clerk_m2m_spec_t b = a;
    unsigned char ka[32], kb[32];

    assert_true(clerk_m2m_key(&a, ka));
    b.machines = unit_strings(p, "mch_b", "mch_a", NULL);
    assert_true(clerk_m2m_key(&b, kb));
    assert_memory_equal(ka, kb, 32);            /* the order of the machines does not matter */
    b.machines = unit_strings(p, "mch_a", NULL);
    assert_true(clerk_m2m_key(&b, kb));
    assert_memory_not_equal(ka, kb, 32);
    b.machines = unit_strings(p, "mch_am", "ch_b", NULL);   /* no ambiguity in the framing */
    assert_true(clerk_m2m_key(&b, kb));
    assert_memory_not_equal(ka, kb, 32);
    b = a;
    b.ttl = 3601;
    assert_true(clerk_m2m_key(&b, kb));
    assert_memory_not_equal(ka, kb, 32);
    b = a;
    b.secret = SECRET "x";
    assert_true(clerk_m2m_key(&b, kb));
    assert_memory_not_equal(ka, kb, 32);
    b = a;
    b.api_url = "https://api.example.com";
    assert_true(clerk_m2m_key(&b, kb));
    assert_memory_not_equal(ka, kb, 32);
}

static void test_margin_and_backoff(void **state)
{
    assert_int_equal(clerk_m2m_renew_margin(apr_time_from_sec(3600)), apr_time_from_sec(720));
    assert_int_equal(clerk_m2m_renew_margin(apr_time_from_sec(86400)), apr_time_from_sec(17280));
    assert_int_equal(clerk_m2m_renew_margin(apr_time_from_sec(300)), apr_time_from_sec(60));
    assert_int_equal(clerk_m2m_renew_margin(apr_time_from_sec(200)), apr_time_from_sec(60));
    /* at most half the lifetime */
    assert_int_equal(clerk_m2m_renew_margin(apr_time_from_sec(100)), apr_time_from_sec(50));
    assert_int_equal(clerk_m2m_renew_margin(apr_time_from_sec(60)), apr_time_from_sec(30));

    assert_int_equal(clerk_m2m_backoff(1), apr_time_from_sec(1));
    assert_int_equal(clerk_m2m_backoff(2), apr_time_from_sec(2));
    assert_int_equal(clerk_m2m_backoff(3), apr_time_from_sec(4));
    assert_int_equal(clerk_m2m_backoff(6), apr_time_from_sec(32));
    assert_int_equal(clerk_m2m_backoff(7), apr_time_from_sec(60));
    assert_int_equal(clerk_m2m_backoff(1000), apr_time_from_sec(60));
}

/* ------------------------------------------------------------ the holder */

typedef struct {
    int errors, infos;
    char last[1024];
} log_count_t;

static void count_log(void *baton, int level, const char *msg)
{
    log_count_t *l = baton;
    if (level <= 3)
        l->errors++;
    else
        l->infos++;
    apr_cpystrn(l->last, msg, sizeof(l->last));
    assert_null(strstr(msg, SECRET));
}

/* A holder against route /<name>/m2m_tokens of the test server. */
static clerk_m2m_holder_t *holder_at(apr_pool_t *p, const char *name, int ttl,
                                     const apr_array_header_t *machines,
                                     const clerk_m2m_share_t *share, log_count_t *log)
{
    clerk_m2m_spec_t spec = {.api_url = ts_url(srv, p, apr_pstrcat(p, "/", name, NULL)),
                             .secret = SECRET, .ttl = ttl, .machines = machines,
                             .http = {.timeout_ms = 2000}};
    clerk_m2m_holder_t *h = clerk_m2m_holder_create(p, &spec, share, NULL, count_log, log);
    assert_non_null(h);
    return h;
}

/*
 * A route's body, in the pool that lives as long as the server: the server
 * thread may still be writing it when the test's pool is gone and reused.
 */
static const char *served(const char *body)
{
    return apr_pstrdup(*unit_root_pool(), body);
}

static const char *route(apr_pool_t *p, const char *name)
{
    return apr_pstrcat(p, "/", name, "/m2m_tokens", NULL);
}

static void test_holder_renews_ahead(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    log_count_t log = {0};
    clerk_m2m_holder_t *h = holder_at(p, "renew", 3600, NULL, NULL, &log);
    clerk_http_t *http = ts_client(p, 2000, 0, 1);
    apr_time_t t0 = apr_time_now(), due;
    apr_int64_t exp = apr_time_sec(t0) + 3600, retry = 0;
    const char *tok;

    /* nothing yet: a reader is told when to come back, without a call */
    assert_false(clerk_m2m_holder_get(h, p, t0, &tok, &retry));
    assert_true(retry >= 1 && retry <= 60);
    assert_int_equal(ts_hits(srv, route(p, "renew")), 0);

    ts_route(srv, route(p, "renew"), 200, NULL, served(good_answer(p, exp)));
    due = clerk_m2m_holder_step(h, http, t0);
    assert_int_equal(ts_hits(srv, route(p, "renew")), 1);
    assert_int_equal(clerk_m2m_holder_creations(h), 1);
    assert_true(strstr(ts_last_head(srv, p), "Bearer " SECRET) != NULL);
    /* renewed 720 s (3600 / 5) before the expiry */
    assert_int_equal(apr_time_sec(due), exp - 720);
    assert_true(clerk_m2m_holder_get(h, p, t0, &tok, &retry));
    assert_int_equal(strncmp(tok, "eyJ", 3), 0);

    /* not due: no call */
    assert_int_equal(clerk_m2m_holder_step(h, http, due - 1), due);
    assert_int_equal(ts_hits(srv, route(p, "renew")), 1);

    /* the token is handed out until 10 s before exp, not after */
    assert_true(clerk_m2m_holder_get(h, p, apr_time_from_sec(exp) - apr_time_from_sec(11), &tok,
                                     &retry));
    assert_false(clerk_m2m_holder_get(h, p, apr_time_from_sec(exp) - apr_time_from_sec(10), &tok,
                                      &retry));

    /* due: renewed, and the new token's renewal is as far ahead */
    ts_route(srv, route(p, "renew"), 200, NULL, served(good_answer(p, exp - 720 + 3600)));
    due = clerk_m2m_holder_step(h, http, due);
    assert_int_equal(ts_hits(srv, route(p, "renew")), 2);
    assert_int_equal(apr_time_sec(due), exp - 720 + 3600 - 720);
    assert_int_equal(log.errors, 0);
}

static void test_holder_short_token(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    log_count_t log = {0};
    clerk_m2m_holder_t *h = holder_at(p, "short", 3600, NULL, NULL, &log);
    clerk_http_t *http = ts_client(p, 2000, 0, 1);
    apr_time_t t0 = apr_time_from_sec(apr_time_sec(apr_time_now()));

    /* Clerk gave 60 s though an hour was asked: renewed half-way, not at once */
    ts_route(srv, route(p, "short"), 200, NULL, served(good_answer(p, apr_time_sec(t0) + 60)));
    assert_int_equal(clerk_m2m_holder_step(h, http, t0), t0 + apr_time_from_sec(30));
    assert_int_equal(ts_hits(srv, route(p, "short")), 1);
}

static void test_holder_backoff(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    log_count_t log = {0};
    clerk_m2m_holder_t *h = holder_at(p, "backoff", 3600, NULL, NULL, &log);
    clerk_http_t *http = ts_client(p, 2000, 0, 1);
    apr_time_t t = apr_time_now(), due;
    apr_int64_t retry;
    const char *tok;

    ts_route(srv, route(p, "backoff"), 500, NULL, served("{\"errors\":[]}"));
    due = clerk_m2m_holder_step(h, http, t);
    assert_int_equal(due - t, apr_time_from_sec(1));
    assert_int_equal(log.errors, 1);
    assert_non_null(strstr(log.last, "HTTP 500"));
    assert_false(clerk_m2m_holder_get(h, p, t, &tok, &retry));
    assert_int_equal(retry, 1);
    /* before the backoff: no call */
    assert_int_equal(clerk_m2m_holder_step(h, http, due - 1), due);
    assert_int_equal(ts_hits(srv, route(p, "backoff")), 1);
    for (int i = 2; i <= 8; i++) {
        t = due;
        due = clerk_m2m_holder_step(h, http, t);
        assert_int_equal(due - t, clerk_m2m_backoff((unsigned)i));
        assert_int_equal(ts_hits(srv, route(p, "backoff")), (unsigned)i);
    }
    assert_int_equal(due - t, apr_time_from_sec(60));
    /* failures at +0, 1, 3, 7, 15, 31, 63 and 123 s: logged at +0, 63 and 123 only */
    assert_int_equal(log.errors, 3);

    /* the secret refused: said so, and retried later */
    ts_route(srv, route(p, "backoff"), 401, NULL, served("{\"errors\":[]}"));
    t = due + apr_time_from_sec(61);
    due = clerk_m2m_holder_step(h, http, t);
    assert_int_equal(log.errors, 4);
    assert_non_null(strstr(log.last, "secret"));
    assert_int_equal(due - t, apr_time_from_sec(60));

    /* recovered: said once, and the backoff starts over */
    ts_route(srv, route(p, "backoff"), 200, NULL, served(good_answer(p, apr_time_sec(due) + 3600)));
    clerk_m2m_holder_step(h, http, due);
    assert_int_equal(log.infos, 1);
    assert_true(clerk_m2m_holder_get(h, p, due, &tok, &retry));
}

static void test_holder_out_of_scope(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    log_count_t log = {0};
    clerk_m2m_holder_t *h = holder_at(p, "scope", 3600, unit_strings(p, "mch_a", "mch_z", NULL),
                                      NULL, &log);
    clerk_http_t *http = ts_client(p, 2000, 0, 1);
    apr_time_t t = apr_time_now();
    apr_int64_t retry;
    const char *tok;

    ts_route(srv, route(p, "scope"), 200, NULL, served(good_answer(p, apr_time_sec(t) + 3600)));
    clerk_m2m_holder_step(h, http, t);
    assert_false(clerk_m2m_holder_get(h, p, t, &tok, &retry));
    assert_int_equal(log.errors, 1);
    assert_non_null(strstr(log.last, "mch_z"));
    assert_non_null(strstr(log.last, "not used"));
}

/* ------------------------------------------------------------ sharing */

typedef struct {
    const char *offer;                  /* what lookup finds, or NULL */
    apr_time_t offer_exp;
    int lookups, publishes, claims;
    int claim_answer;                   /* what claim says: 0 another process creates */
    unsigned char key[32];
    char published[CLERK_TOKEN_MAX_LEN + 1];
    apr_time_t published_exp;
} fake_share_t;

static int fake_claim(void *baton, const unsigned char *key)
{
    fake_share_t *s = baton;
    s->claims++;
    return s->claim_answer;
}

static int fake_lookup(void *baton, const unsigned char *key, apr_pool_t *p, const char **token,
                       apr_time_t *expires)
{
    fake_share_t *s = baton;
    s->lookups++;
    memcpy(s->key, key, 32);
    if (!s->offer)
        return 0;
    *token = apr_pstrdup(p, s->offer);
    *expires = s->offer_exp;
    return 1;
}

static void fake_publish(void *baton, const unsigned char *key, const char *token,
                         apr_time_t expires)
{
    fake_share_t *s = baton;
    s->publishes++;
    memcpy(s->key, key, 32);
    apr_cpystrn(s->published, token, sizeof(s->published));
    s->published_exp = expires;
}

static void test_share_hooks(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    log_count_t log = {0};
    fake_share_t fs = {0};
    clerk_m2m_share_t share = {fake_lookup, fake_publish, NULL, &fs};
    clerk_m2m_holder_t *h = holder_at(p, "share", 3600, unit_strings(p, "mch_a", NULL), &share,
                                      &log);
    clerk_http_t *http = ts_client(p, 2000, 0, 1);
    apr_time_t t = apr_time_now();
    apr_int64_t exp = apr_time_sec(t) + 3600, retry, due;
    const char *tok, *shared = jwt(p, exp - 100, MACHINE, "");

    /* a shared token with enough life is adopted: no call, nothing published */
    fs.offer = shared;
    fs.offer_exp = apr_time_from_sec(exp - 100);
    /* renewed by the margin of the life it has left (3 500 s: 700 s), up to 5 s earlier */
    due = apr_time_sec(clerk_m2m_holder_step(h, http, t));
    assert_true(due <= exp - 100 - 700 && due >= exp - 100 - 700 - 5);
    assert_int_equal(fs.lookups, 1);
    assert_memory_equal(fs.key, clerk_m2m_holder_key(h), 32);
    assert_int_equal(fs.publishes, 0);
    assert_int_equal(clerk_m2m_holder_creations(h), 0);
    assert_true(clerk_m2m_holder_get(h, p, t, &tok, &retry));
    assert_string_equal(tok, shared);

    /* due, and the share has nothing better (the same token, now due): created and published */
    ts_route(srv, route(p, "share"), 200, NULL, served(good_answer(p, exp + 600)));
    t = apr_time_from_sec(due + 1);
    clerk_m2m_holder_step(h, http, t);
    assert_int_equal(fs.lookups, 2);
    assert_int_equal(clerk_m2m_holder_creations(h), 1);
    assert_int_equal(fs.publishes, 1);
    assert_memory_equal(fs.key, clerk_m2m_holder_key(h), 32);
    assert_int_equal(apr_time_sec(fs.published_exp), exp + 600);
    assert_true(clerk_m2m_holder_get(h, p, t, &tok, &retry));
    assert_string_equal(tok, fs.published);
    assert_string_not_equal(tok, shared);
}

/*
 * Clerk may grant less than was asked: a shared token of 22 s (of 3 600
 * asked) is adopted, and renewed by the margin of what it has left (11 s),
 * not of the lifetime asked (720 s, which would make it never adoptable and
 * leave the other servers without a token).
 */
static void test_share_adopts_shorter_granted_token(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    log_count_t log = {0};
    fake_share_t fs = {0};
    clerk_m2m_share_t share = {fake_lookup, fake_publish, fake_claim, &fs};
    clerk_m2m_holder_t *h = holder_at(p, "short", 3600, NULL, &share, &log);
    clerk_http_t *http = ts_client(p, 2000, 0, 1);
    apr_time_t t = apr_time_now();
    apr_int64_t exp = apr_time_sec(t) + 22, retry, due;
    const char *tok;

    fs.offer = jwt(p, exp, MACHINE, "");
    fs.offer_exp = apr_time_from_sec(exp);
    due = apr_time_sec(clerk_m2m_holder_step(h, http, t));
    assert_int_equal(clerk_m2m_holder_creations(h), 0);
    assert_int_equal(fs.claims, 0);
    assert_true(clerk_m2m_holder_get(h, p, t, &tok, &retry));
    assert_true(due <= exp - 11 && due >= exp - 11 - 3);   /* 22 s left: 11 s margin, jitter */
    /* the same token again, due now: not "newer", so not adopted in place of a renewal */
    ts_route(srv, route(p, "short"), 200, NULL, served(good_answer(p, exp + 3600)));
    fs.claim_answer = 1;
    clerk_m2m_holder_step(h, http, apr_time_from_sec(due + 1));
    assert_int_equal(clerk_m2m_holder_creations(h), 1);
}

/*
 * While another process of the fleet holds the creation lease, a holder
 * creates nothing: it looks for that process's token again shortly, without
 * counting a failure; once the lease is its own (or the cache cannot say), it
 * creates.
 */
static void test_share_claim_defers_creation(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    log_count_t log = {0};
    fake_share_t fs = {0};
    clerk_m2m_share_t share = {fake_lookup, fake_publish, fake_claim, &fs};
    clerk_m2m_holder_t *h = holder_at(p, "claim", 3600, unit_strings(p, "mch_a", NULL), &share,
                                      &log);
    clerk_http_t *http = ts_client(p, 2000, 0, 1);
    apr_time_t t = apr_time_now();
    apr_int64_t exp = apr_time_sec(t) + 3600, retry;
    const char *tok;

    ts_route(srv, route(p, "claim"), 200, NULL, served(good_answer(p, exp)));
    fs.claim_answer = 0;
    assert_true(clerk_m2m_holder_step(h, http, t) == t + CLERK_M2M_DEFER_STEP);
    assert_int_equal(fs.claims, 1);
    assert_int_equal(clerk_m2m_holder_creations(h), 0);
    assert_false(clerk_m2m_holder_get(h, p, t, &tok, &retry));
    assert_int_equal(log.errors, 0);                    /* not a failure */
    fs.claim_answer = -1;                               /* the cache does not answer */
    clerk_m2m_holder_step(h, http, t + CLERK_M2M_DEFER_STEP);
    assert_int_equal(clerk_m2m_holder_creations(h), 1);
    assert_int_equal(fs.publishes, 1);
    assert_true(clerk_m2m_holder_get(h, p, t + CLERK_M2M_DEFER_STEP, &tok, &retry));
}

static void test_share_refuses_unusable(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    log_count_t log = {0};
    fake_share_t fs = {0};
    clerk_m2m_share_t share = {fake_lookup, NULL, NULL, &fs};
    apr_time_t t = apr_time_now();
    apr_int64_t exp = apr_time_sec(t) + 3600;
    const char *offers[] = {
        "not a token\r\nX-Injected: 1",
        jwt(p, exp, "user_2GIpXOEpVyJw51rkZn9Kmnc6Sxr", ""),
        unit_sign(p, priv, "RS256", HEADER,
                  apr_psprintf(p, "{\"sub\":\"" MACHINE "\",\"exp\":%" APR_INT64_T_FMT
                               ",\"scopes\":\"mch_b\"}", exp)),     /* out of scope */
    };

    ts_route(srv, route(p, "share-bad"), 200, NULL, served(good_answer(p, exp)));
    for (size_t i = 0; i < sizeof(offers) / sizeof(offers[0]); i++) {
        clerk_m2m_holder_t *h = holder_at(p, "share-bad", 3600, unit_strings(p, "mch_a", NULL),
                                          &share, &log);
        const char *tok;
        apr_int64_t retry;
        fs.offer = offers[i];
        fs.offer_exp = apr_time_from_sec(exp);
        clerk_m2m_holder_step(h, ts_client(p, 2000, 0, 1), t);
        assert_int_equal(clerk_m2m_holder_creations(h), 1);
        assert_true(clerk_m2m_holder_get(h, p, t, &tok, &retry));
        assert_string_not_equal(tok, offers[i]);
    }
    /* the share's expiry is believed only when it is the earlier one */
    {
        clerk_m2m_holder_t *h = holder_at(p, "share-bad", 3600, NULL, &share, &log);
        fs.offer = jwt(p, exp, MACHINE, "");
        fs.offer_exp = apr_time_from_sec(exp + 100000);
        apr_int64_t due = apr_time_sec(clerk_m2m_holder_step(h, ts_client(p, 2000, 0, 1), t));
        assert_true(due <= exp - 720 && due >= exp - 720 - 5);
        assert_int_equal(clerk_m2m_holder_creations(h), 0);
    }
}

static void test_adopt(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    log_count_t log = {0};
    clerk_m2m_holder_t *h = holder_at(p, "adopt", 3600, unit_strings(p, "mch_a", NULL), NULL,
                                      &log);
    apr_time_t t = apr_time_now();
    apr_int64_t exp = apr_time_sec(t) + 3000, retry;
    const char *tok, *kept = jwt(p, exp, MACHINE, "");

    /* due for renewal (less than the margin left): every child would create one; refused */
    assert_false(clerk_m2m_holder_adopt(h, p, kept, apr_time_from_sec(exp),
                                        apr_time_from_sec(exp) - apr_time_from_sec(720)));
    assert_false(clerk_m2m_holder_adopt(h, p, "garbage", apr_time_from_sec(exp), t));
    assert_false(clerk_m2m_holder_get(h, p, t, &tok, &retry));
    assert_true(clerk_m2m_holder_adopt(h, p, kept, apr_time_from_sec(exp), t));
    assert_true(clerk_m2m_holder_get(h, p, t, &tok, &retry));
    assert_string_equal(tok, kept);
    {
        const char *cur;
        apr_time_t cur_exp;
        assert_true(clerk_m2m_holder_current(h, p, &cur, &cur_exp));
        assert_string_equal(cur, kept);
        assert_int_equal(apr_time_sec(cur_exp), exp);
    }
    /* a kept token that no longer reaches the machines is not used */
    h = holder_at(p, "adopt", 3600, unit_strings(p, "mch_q", NULL), NULL, &log);
    assert_false(clerk_m2m_holder_adopt(h, p, kept, apr_time_from_sec(exp), t));
    assert_int_equal(clerk_m2m_holder_creations(h), 0);
}

static void test_create_now(void **state)
{
    apr_pool_t *p = UNIT_POOL;
    log_count_t log = {0};
    clerk_m2m_holder_t *h = holder_at(p, "now", 3600, NULL, NULL, &log);
    apr_int64_t retry;
    const char *tok;

    ts_route(srv, route(p, "now"), 201, NULL, served(good_answer(p, now_s() + 3600)));
    assert_int_equal(clerk_m2m_holder_create_now(h, p), CLERK_M2M_CREATED);
    assert_true(clerk_m2m_holder_get(h, p, apr_time_now(), &tok, &retry));
    h = holder_at(p, "now-hang", 3600, NULL, NULL, &log);
    ts_route_slow(srv, route(p, "now-hang"), 60000, 0);
    {
        apr_time_t t0 = apr_time_now();
        assert_int_equal(clerk_m2m_holder_create_now(h, p), CLERK_M2M_FAILED);
        /* bounded by the HTTP timeout (2 s) */
        assert_true(apr_time_now() - t0 < apr_time_from_sec(5));
    }
    assert_int_equal(log.errors, 1);
}

/* ------------------------------------------------------------ the refresher thread */

static void test_refresher_thread(void **state)
{
    apr_pool_t *p = UNIT_POOL, *child;
    log_count_t log = {0};
    clerk_m2m_holder_t *h = holder_at(p, "thread", 3600, NULL, NULL, &log);
    apr_int64_t retry;
    const char *tok = NULL;
    int got = 0;

    ts_route(srv, route(p, "thread"), 200, NULL, served(good_answer(p, now_s() + 3600)));
    assert_int_equal(apr_pool_create(&child, p), APR_SUCCESS);
    assert_int_equal(clerk_m2m_holder_child_init(h, child), APR_SUCCESS);
    assert_int_equal(ts_hits(srv, route(p, "thread")), 0);     /* nothing before first use */
    for (int i = 0; i < 500 && !got; i++) {
        got = clerk_m2m_holder_get(h, p, apr_time_now(), &tok, &retry);
        if (!got)
            apr_sleep(10000);
    }
    assert_true(got);
    assert_int_equal(ts_hits(srv, route(p, "thread")), 1);
    /* readers in the meantime, then the pool goes: the thread is stopped and joined */
    for (int i = 0; i < 1000; i++)
        assert_true(clerk_m2m_holder_get(h, p, apr_time_now(), &tok, &retry));
    apr_pool_destroy(child);
    assert_int_equal(ts_hits(srv, route(p, "thread")), 1);
}

static void test_refresher_stops_during_hang(void **state)
{
    apr_pool_t *p = UNIT_POOL, *child;
    log_count_t log = {0};
    clerk_m2m_holder_t *h = holder_at(p, "thread-hang", 3600, NULL, NULL, &log);
    apr_int64_t retry;
    const char *tok;
    apr_time_t t0;

    ts_route_slow(srv, route(p, "thread-hang"), 60000, 0);
    assert_int_equal(apr_pool_create(&child, p), APR_SUCCESS);
    assert_int_equal(clerk_m2m_holder_child_init(h, child), APR_SUCCESS);
    t0 = apr_time_now();
    assert_false(clerk_m2m_holder_get(h, p, t0, &tok, &retry));
    /* a reader never waits on the creation */
    assert_true(apr_time_now() - t0 < apr_time_from_msec(200));
    apr_sleep(300000);
    t0 = apr_time_now();
    apr_pool_destroy(child);
    assert_true(apr_time_now() - t0 < apr_time_from_sec(3));
    assert_int_equal(log.errors, 0);                /* stopping is not a failure to report */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_request),
        UNIT_TEST(test_machine_ids),
        UNIT_TEST(test_answer_accepted),
        UNIT_TEST(test_answer_statuses),
        UNIT_TEST(test_answer_rejections),
        UNIT_TEST(test_answer_scopes),
        UNIT_TEST(test_key),
        UNIT_TEST(test_margin_and_backoff),
        UNIT_TEST(test_holder_renews_ahead),
        UNIT_TEST(test_holder_short_token),
        UNIT_TEST(test_holder_backoff),
        UNIT_TEST(test_holder_out_of_scope),
        UNIT_TEST(test_share_hooks),
        UNIT_TEST(test_share_adopts_shorter_granted_token),
        UNIT_TEST(test_share_claim_defers_creation),
        UNIT_TEST(test_share_refuses_unusable),
        UNIT_TEST(test_adopt),
        UNIT_TEST(test_create_now),
        UNIT_TEST(test_refresher_thread),
        UNIT_TEST(test_refresher_stops_during_hang),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
