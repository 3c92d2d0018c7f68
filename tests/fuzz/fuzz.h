/*
 * Shared set-up for the libFuzzer targets: APR is initialised once and a
 * global pool holds what a target builds at start-up (key sets, claims
 * models); every input then runs in its own sub-pool, destroyed afterwards,
 * so the leak checker sees nothing left behind.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <openssl/err.h>
#include <sanitizer/lsan_interface.h>

#include "clerk_key.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * What is built once lives for the whole run, referenced only from APR pool
 * memory, which LeakSanitizer does not scan: its allocations are made with
 * leak checking off, so that they are not reported against the first input.
 */
#define FUZZ_ONCE(init_fn)              \
    do {                                \
        static int fuzz_done_;          \
        if (!fuzz_done_) {              \
            __lsan_disable();           \
            init_fn();                  \
            __lsan_enable();            \
            fuzz_done_ = 1;             \
        }                               \
    } while (0)

static inline void fuzz_create_global_pool(apr_pool_t **pool)
{
    if (apr_initialize() != APR_SUCCESS || apr_pool_create(pool, NULL) != APR_SUCCESS)
        abort();
}

static inline apr_pool_t *fuzz_global_pool(void)
{
    static apr_pool_t *pool;
    if (!pool) {
        __lsan_disable();
        fuzz_create_global_pool(&pool);
        __lsan_enable();
    }
    return pool;
}

static inline apr_pool_t *fuzz_input_pool(void)
{
    apr_pool_t *p;
    if (apr_pool_create(&p, fuzz_global_pool()) != APR_SUCCESS)
        abort();
    return p;
}

static inline void fuzz_input_done(apr_pool_t *p)
{
    apr_pool_destroy(p);
    ERR_clear_error();      /* failed decodes leave OpenSSL errors queued */
}

/* The input as a NUL-terminated string (it may hold NULs of its own). */
static inline char *fuzz_cstr(apr_pool_t *p, const uint8_t *data, size_t size)
{
    char *s = apr_palloc(p, size + 1);
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/*
 * The key set parse (clerk_keyset_from_pem or clerk_keyset_from_jwks) makes
 * of the input, or NULL when it refuses it; either way the parser keeps its
 * contract: a set on success, a reason on failure (else the target aborts).
 */
typedef apr_status_t fuzz_keyset_parser_fn(apr_pool_t *p, const char *text, apr_size_t len,
                                           clerk_keyset_t **out, const char **err);

static inline clerk_keyset_t *fuzz_parse_keyset(apr_pool_t *p, fuzz_keyset_parser_fn *parse,
                                                const uint8_t *data, size_t size)
{
    clerk_keyset_t *ks = NULL;
    const char *err = NULL;

    if (parse(p, (const char *)data, size, &ks, &err) != APR_SUCCESS) {
        if (!err)
            abort();
        return NULL;
    }
    if (!ks)
        abort();
    return ks;
}

/* The public key of tests/vectors/clerk/keys/ins_2GIoQhbUpy0hX7B2cVkuTMinXoD.public.pem */
#define FUZZ_FIXTURE_PEM \
    "-----BEGIN PUBLIC KEY-----\n" \
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAqYy3MY8fOneEyzNDu9lp\n" \
    "6iGXKkNUF+u/dUnrlkadZYyB35efzKFJEr9fftmWv5PUj1uRHTQ3bh6X1cceOYsI\n" \
    "jy008dHWZJsKhGOxgdTjeK91rjaklxt7tyFXEiKHIOr1LSgKzopClOfCIjxK/oPU\n" \
    "Of38pVh7WnekcSBQmU5fqA+EzKMi6k9VwvbzqKlZM4XQsiFyn28d9VubJWjTU8nN\n" \
    "ot0n1NE+9k6TxM8nglM4RwkBH4Ni4B0LhKKOOV+AG8tBNiZVil415dpBldmJ/j0w\n" \
    "k7Ad4VFi9en3Z17oCKr+K+zuT7vKMKSb1548dk0vnmi0vj2QGXSo+61wM5yQWpk6\n" \
    "sQIDAQAB\n" \
    "-----END PUBLIC KEY-----\n"

/* tests/vectors/clerk/jwks.json: the same key as a JWKS (kid, alg RS256) */
#define FUZZ_FIXTURE_JWKS \
    "{\"keys\":[{\"use\":\"sig\",\"kty\":\"RSA\",\"alg\":\"RS256\",\"n\":\"qYy3MY8fOneEyzNDu9lp6iGXKkNUF-u_dUnrlkadZYyB35efzKFJEr9fftmWv5PUj1uRHTQ3bh6X1cceOYsIjy008dHWZJsKhGOxgdTjeK91rjaklxt7tyFXEiKHIOr1LSgKzopClOfCIjxK_oPUOf38pVh7WnekcSBQmU5fqA-EzKMi6k9VwvbzqKlZM4XQsiFyn28d9VubJWjTU8nNot0n1NE-9k6TxM8nglM4RwkBH4Ni4B0LhKKOOV-AG8tBNiZVil415dpBldmJ_j0wk7Ad4VFi9en3Z17oCKr-K-zuT7vKMKSb1548dk0vnmi0vj2QGXSo-61wM5yQWpk6sQ\",\"e\":\"AQAB\",\"kid\":\"ins_2GIoQhbUpy0hX7B2cVkuTMinXoD\"}]}"

#endif
