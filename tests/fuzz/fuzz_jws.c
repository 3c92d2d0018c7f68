/*
 * The whole verification pipeline over arbitrary bytes as a token, against a
 * fixed PEM key set and the same key as a JWKS (loaded once), with the
 * default options and with every option configured.  A token that verifies
 * (only possible from seeds signed by the fixture key) also goes through the
 * claims export and the Require providers.  The key sets' header memos fill
 * from those seeds, so mutants reuse verified headers; each input is also
 * parsed with and without the memo, which must agree in every field.
 */
#include "fuzz.h"

#include "clerk_export.h"
#include "clerk_key.h"
#include "clerk_policy.h"
#include "clerk_verify.h"

static clerk_keyset_t *pem_ks, *jwks_ks;
static clerk_verify_opts_t opts_default, opts_strict;
static clerk_require_t *reqs[4];

static void init(void)
{
    apr_pool_t *g = fuzz_global_pool();
    const char *err;

    if (clerk_keyset_from_pem(g, FUZZ_FIXTURE_PEM, strlen(FUZZ_FIXTURE_PEM), &pem_ks, &err)
        || clerk_keyset_from_jwks(g, FUZZ_FIXTURE_JWKS, strlen(FUZZ_FIXTURE_JWKS), &jwks_ks, &err))
        abort();
    clerk_verify_opts_init(&opts_default);
    clerk_verify_opts_init(&opts_strict);
    {
        apr_array_header_t *a = apr_array_make(g, 1, sizeof(const char *));
        APR_ARRAY_PUSH(a, const char *) = "https://accounts.inspired.puma-74.lcl.dev";
        opts_strict.authorized_parties = a;
        a = apr_array_make(g, 1, sizeof(const char *));
        APR_ARRAY_PUSH(a, const char *) = "https://clerk.inspired.puma-74.lcl.dev";
        opts_strict.issuers = a;
        a = apr_array_make(g, 1, sizeof(const char *));
        APR_ARRAY_PUSH(a, const char *) = "api://one";
        opts_strict.audiences = a;
    }
    opts_strict.accept_types = CLERK_TYPE_ALL;
    opts_strict.allow_pending = 1;
    opts_strict.clock_skew = 0;
    if (clerk_require_parse(g, CLERK_REQUIRE_ORG_PERMISSION, "org:a:read", &reqs[0])
        || clerk_require_parse(g, CLERK_REQUIRE_FEATURE, "teams u:beta", &reqs[1])
        || clerk_require_parse(g, CLERK_REQUIRE_CLAIM, "meta.tier gold 5 true", &reqs[2])
        || clerk_require_parse(g, CLERK_REQUIRE_ORG_ROLE, "admin", &reqs[3]))
        abort();
}

static void use_claims(apr_pool_t *p, const clerk_claims_t *c)
{
    apr_array_header_t *vars = clerk_export_vars(p, c);
    for (int i = 0; i < vars->nelts; i++)
        (void)clerk_export_header_safe(APR_ARRAY_IDX(vars, i, clerk_var_t).value);
    (void)clerk_export_remote_user(p, c, "sub");
    for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++)
        (void)clerk_require_match(reqs[i], c);
}

static int same(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

/* The memo only spares work: a parse from it is the parse without it. */
static void parse_both_ways(apr_pool_t *p, const char *token, size_t size)
{
    clerk_jws_t *with = NULL, *without = NULL;
    const char *d1, *d2;
    clerk_reason_t r1 = clerk_jws_parse_for(p, token, size, CLERK_TOKEN_MAX_LEN, jwks_ks, &with,
                                            &d1);
    clerk_reason_t r2 = clerk_jws_parse(p, token, size, CLERK_TOKEN_MAX_LEN, &without, &d2);

    if (r1 != r2 || !same(d1, d2))
        abort();
    if (r1 == CLERK_OK
        && (!same(with->alg, without->alg) || !same(with->kid, without->kid)
            || !same(with->typ, without->typ) || !same(with->cat, without->cat)
            || with->has_cat != without->has_cat || with->header_len != without->header_len
            || with->payload_len != without->payload_len || with->sig_len != without->sig_len
            || memcmp(with->payload, without->payload, with->payload_len)
            || memcmp(with->sig, without->sig, with->sig_len)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    clerk_verify_result_t res;
    /* the fixture tokens' clock, so that seeds verify all the way */
    const apr_int64_t now = 1666648260;

    FUZZ_ONCE(init);
    p = fuzz_input_pool();
    clerk_verify_token(p, (const char *)data, size, pem_ks, &opts_default, now, &res);
    if (res.reason == CLERK_OK)
        use_claims(p, res.claims);
    clerk_verify_token(p, (const char *)data, size, jwks_ks, &opts_strict, now, &res);
    if (res.reason == CLERK_OK)
        use_claims(p, res.claims);
    clerk_verify_token(p, (const char *)data, size, NULL, &opts_default, now, &res);
    (void)clerk_reason_str(res.reason);
    parse_both_ways(p, (const char *)data, size);
    fuzz_input_done(p);
    return 0;
}
