/*
 * Per-operation CPU cost of mod_auth_clerk's request path, native, one
 * thread, linked against the module's core objects (build/obj).  Part of
 * `make bench` (bench/bench.py builds and runs it pinned to CPU 0):
 *
 *   microbench PUBLIC.pem TOKENS_FILE N ISSUER AZP
 *
 * Each line is the mean over N calls on N distinct tokens (so nothing is
 * cached), with a request-sized APR pool cleared after every call, as httpd
 * does.  The "floor" lines show what the same work costs with OpenSSL
 * objects fetched once instead of per call.
 */
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <malloc.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clerk_carrier.h"
#include "clerk_export.h"
#include "clerk_json.h"
#include "clerk_jws.h"
#include "clerk_key.h"
#include "clerk_token_cache.h"
#include "clerk_verify.h"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void report(const char *name, const char *what, double ns, int n)
{
    printf("%-30s %8.2f us  %s\n", name, ns / n / 1000.0, what);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    apr_pool_t *pool, *rp;
    clerk_keyset_t *ks;
    const clerk_key_t *key;
    const char *err;
    char **tokens, line[20000];
    int n, count = 0;
    FILE *f;
    double t0;
    volatile int sink = 0;

    if (argc != 6) {
        fprintf(stderr, "usage: %s PUBLIC.pem TOKENS_FILE N ISSUER AZP\n", argv[0]);
        return 2;
    }
    n = atoi(argv[3]);
    apr_initialize();
    apr_pool_create(&pool, NULL);
    apr_pool_create(&rp, pool);
    if (clerk_keyset_from_pem_file(pool, argv[1], &ks, &err) != APR_SUCCESS) {
        fprintf(stderr, "key: %s\n", err);
        return 1;
    }
    if (clerk_keyset_select(ks, NULL, &key) != CLERK_OK) {
        fprintf(stderr, "no key\n");
        return 1;
    }
    tokens = calloc((size_t)n, sizeof(*tokens));
    if (!(f = fopen(argv[2], "r")))
        return 1;
    while (count < n && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (*line)
            tokens[count++] = strdup(line);
    }
    fclose(f);
    if (count < n) {
        fprintf(stderr, "only %d tokens\n", count);
        return 1;
    }

    clerk_verify_opts_t opts;
    clerk_verify_opts_init(&opts);
    apr_array_header_t *iss = apr_array_make(pool, 1, sizeof(const char *));
    apr_array_header_t *azp = apr_array_make(pool, 1, sizeof(const char *));
    APR_ARRAY_PUSH(iss, const char *) = argv[4];
    APR_ARRAY_PUSH(azp, const char *) = argv[5];
    opts.issuers = iss;
    opts.authorized_parties = azp;
    apr_int64_t t_now = (apr_int64_t)time(NULL);

    /* Pre-parse for the component timings. */
    clerk_jws_t **jws = calloc((size_t)n, sizeof(*jws));
    apr_pool_t *keep;
    apr_pool_create(&keep, pool);
    for (int i = 0; i < n; i++) {
        if (clerk_jws_parse(keep, tokens[i], strlen(tokens[i]), CLERK_TOKEN_MAX_LEN, &jws[i],
                            &err) != CLERK_OK) {
            fprintf(stderr, "token %d does not parse: %s\n", i, err);
            return 1;
        }
    }

    /* Warm up. */
    for (int i = 0; i < 200 && i < n; i++) {
        clerk_verify_result_t res;
        clerk_verify_token(rp, tokens[i], strlen(tokens[i]), ks, &opts, t_now, &res);
        if (res.reason != CLERK_OK) {
            fprintf(stderr, "token %d rejected: %s\n", i, res.detail ? res.detail : "?");
            return 1;
        }
        apr_pool_clear(rp);
    }

    printf("%-30s %8s     %s\n", "operation", "mean", "(one thread, N distinct tokens)");

    t0 = now_ns();
    for (int i = 0; i < n; i++) {
        clerk_verify_result_t res;
        clerk_verify_token(rp, tokens[i], strlen(tokens[i]), ks, &opts, t_now, &res);
        sink += res.reason;
        apr_pool_clear(rp);
    }
    report("clerk_verify_token", "whole verification of a new token", now_ns() - t0, n);

    t0 = now_ns();
    for (int i = 0; i < n; i++) {
        clerk_jws_t *j;
        sink += clerk_jws_parse(rp, tokens[i], strlen(tokens[i]), CLERK_TOKEN_MAX_LEN, &j, &err);
        apr_pool_clear(rp);
    }
    report("  clerk_jws_parse", "split, base64url x3, header JSON", now_ns() - t0, n);

    /* As clerk_verify_token parses: the warm-up's verifications filled the memo. */
    t0 = now_ns();
    for (int i = 0; i < n; i++) {
        clerk_jws_t *j;
        sink += clerk_jws_parse_for(rp, tokens[i], strlen(tokens[i]), CLERK_TOKEN_MAX_LEN, ks,
                                    &j, &err);
        apr_pool_clear(rp);
    }
    report("  clerk_jws_parse_for", "the same, header from the key set's memo", now_ns() - t0, n);

    t0 = now_ns();
    for (int i = 0; i < n; i++)
        sink += clerk_rsa_verify(key, jws[i]->alg, (const unsigned char *)jws[i]->signing_input,
                                 jws[i]->signing_input_len, jws[i]->sig, jws[i]->sig_len);
    report("  clerk_rsa_verify", "digest + EVP_PKEY_verify on the key's reused context",
           now_ns() - t0, n);

    t0 = now_ns();
    for (int i = 0; i < n; i++) {
        json_t *pl = clerk_json_parse_object(rp, (const char *)jws[i]->payload,
                                             jws[i]->payload_len, &err);
        sink += pl != NULL;
        apr_pool_clear(rp);
    }
    report("  clerk_json_parse_object", "payload JSON", now_ns() - t0, n);

    /* The same work with OpenSSL objects fetched once. */
    EVP_MD *sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    unsigned char md[32];
    t0 = now_ns();
    for (int i = 0; i < n; i++)
        sink += EVP_Digest(jws[i]->signing_input, jws[i]->signing_input_len, md, NULL,
                           sha256, NULL);
    report("  floor: SHA-256 signing input", "EVP_Digest, prefetched EVP_MD", now_ns() - t0, n);

    EVP_PKEY_CTX *tmpl = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);
    EVP_PKEY_verify_init(tmpl);
    EVP_PKEY_CTX_set_rsa_padding(tmpl, RSA_PKCS1_PADDING);
    EVP_PKEY_CTX_set_signature_md(tmpl, sha256);
    t0 = now_ns();
    for (int i = 0; i < n; i++) {
        EVP_Digest(jws[i]->signing_input, jws[i]->signing_input_len, md, NULL, sha256, NULL);
        sink += EVP_PKEY_verify(tmpl, jws[i]->sig, jws[i]->sig_len, md, sizeof(md));
    }
    report("  floor: RSA verify, ctx reused", "digest + verify on one EVP_PKEY_CTX, "
           "no lock", now_ns() - t0, n);
    EVP_PKEY_CTX_free(tmpl);

    /* Cache path. */
    unsigned char ctx[200], k[CLERK_TOKEN_CACHE_KEY_LEN], idkey[CLERK_TOKEN_CACHE_ID_KEY_LEN];
    clerk_token_cache_id_t id;
    memset(ctx, 7, sizeof(ctx));
    clerk_verify_result_t *res = calloc((size_t)n, sizeof(*res));
    apr_array_header_t **vars = calloc((size_t)n, sizeof(*vars));
    for (int i = 0; i < n; i++)
        clerk_verify_token(keep, tokens[i], strlen(tokens[i]), ks, &opts, t_now, &res[i]);
    for (int i = 0; i < n; i++)
        vars[i] = clerk_export_vars(keep, res[i].claims);

    /*
     * Heap held by a full cache of 4096 entries.  In httpd the verified
     * payload (a jansson tree) lives in the request pool and the entry keeps
     * a reference, so the tree counts too: re-parse a fresh copy for each.
     */
    {
        apr_pool_t *mp;
        apr_pool_create(&mp, pool);
        clerk_token_cache_t *mc = clerk_token_cache_create(mp, 4096);
        clerk_token_cache_child_init(mc, mp);
        int m = n < 4096 ? n : 4096;
        struct mallinfo2 before = mallinfo2();
        for (int i = 0; i < m; i++) {
            clerk_verify_result_t r1;
            clerk_verify_token(rp, tokens[i], strlen(tokens[i]), ks, &opts, t_now, &r1);
            clerk_token_cache_id(&id, idkey, tokens[i], strlen(tokens[i]), ctx, sizeof(ctx));
            clerk_token_cache_put(mc, &id, 1, t_now + 3600, r1.claims,
                                  clerk_export_vars(rp, r1.claims), rp);
            apr_pool_clear(rp);         /* the request's end: its hold is given back */
        }
        struct mallinfo2 after = mallinfo2();
        printf("%-30s %8.0f B   heap per cache entry (%d entries: %.1f MiB; "
               "malloc'd, outside APR pools)\n", "cache memory",
               (double)(after.uordblks - before.uordblks) / m, m,
               (double)(after.uordblks - before.uordblks) / 1048576.0);
        apr_pool_destroy(mp);
    }

    clerk_token_cache_t *cache = clerk_token_cache_create(pool, 4096);
    clerk_token_cache_child_init(cache, pool);
    t0 = now_ns();
    for (int i = 0; i < n; i++) {
        clerk_token_cache_key(tokens[i], strlen(tokens[i]), ctx, sizeof(ctx), k);
        sink += k[0];
    }
    report("clerk_token_cache_key", "SHA-256 over context + token (an opaque token's key)",
           now_ns() - t0, n);
    t0 = now_ns();
    for (int i = 0; i < n; i++) {
        EVP_MD_CTX *mc = EVP_MD_CTX_new();
        EVP_DigestInit_ex(mc, sha256, NULL);
        EVP_DigestUpdate(mc, ctx, sizeof(ctx));
        EVP_DigestUpdate(mc, tokens[i], strlen(tokens[i]));
        EVP_DigestFinal_ex(mc, k, NULL);
        EVP_MD_CTX_free(mc);
        sink += k[0];
    }
    report("  floor: same, prefetched EVP_MD", "", now_ns() - t0, n);
    t0 = now_ns();
    for (int i = 0; i < n; i++) {
        clerk_token_cache_id(&id, idkey, tokens[i], strlen(tokens[i]), ctx, sizeof(ctx));
        sink += idkey[0];
    }
    report("clerk_token_cache_id", "a JWT's slot key (keyed SipHash over 48 bytes)",
           now_ns() - t0, n);

    t0 = now_ns();
    for (int i = 0; i < n; i++) {
        apr_array_header_t *v = clerk_export_vars(rp, res[i].claims);
        sink += v->nelts;
        apr_pool_clear(rp);
    }
    report("clerk_export_vars", "CLERK_* values incl. CLERK_CLAIMS (the signed bytes)",
           now_ns() - t0, n);

    t0 = now_ns();
    for (int i = 0; i < n; i++) {
        clerk_token_cache_id(&id, idkey, tokens[i], strlen(tokens[i]), ctx, sizeof(ctx));
        clerk_token_cache_put(cache, &id, 1, t_now + 3600, res[i].claims, vars[i], rp);
        apr_pool_clear(rp);
    }
    report("clerk_token_cache_put", "id + insert (+ evict once full) + release, 4096",
           now_ns() - t0, n);
    t0 = now_ns();
    for (int i = n - 1; i >= 0; i--) {
        clerk_token_cache_id(&id, idkey, tokens[i], strlen(tokens[i]), ctx, sizeof(ctx));
        if (clerk_token_cache_get(cache, &id, 1, t_now, rp))
            sink++;
        apr_pool_clear(rp);
    }
    report("clerk_token_cache_get", "id + lookup + release (hits and misses)", now_ns() - t0, n);

    t0 = now_ns();
    for (int i = 0; i < n; i++) {
        const char *tok;
        apr_size_t len;
        char hdr[20000];
        snprintf(hdr, sizeof(hdr), "Bearer %s", tokens[i]);
        sink += clerk_bearer_token(hdr, &tok, &len);
    }
    report("clerk_bearer_token", "Authorization header -> token (incl. snprintf here)",
           now_ns() - t0, n);

    EVP_MD_free(sha256);
    return sink == 42 ? 3 : 0;
}
