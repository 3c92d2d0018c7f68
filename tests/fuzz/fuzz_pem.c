/* clerk_keyset_from_pem over arbitrary bytes (PEM SPKI, PKCS#1, bare base64 body). */
#include "fuzz.h"

#include "clerk_key.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_input_pool();
    clerk_keyset_t *ks = fuzz_parse_keyset(p, clerk_keyset_from_pem, data, size);

    if (ks) {
        const clerk_key_t *k;
        if (ks->keys->nelts != 1 || !ks->ignore_kid)
            abort();
        k = APR_ARRAY_IDX(ks->keys, 0, const clerk_key_t *);
        /* a configured PEM verifies RS256 only (Clerk's SDK) */
        if (k->bits < CLERK_KEY_MIN_BITS || k->kid || !k->alg || strcmp(k->alg, "RS256"))
            abort();
        if (clerk_keyset_select(ks, "any", &k) != CLERK_OK || !clerk_key_to_jwk(p, k, NULL))
            abort();
    }
    fuzz_input_done(p);
    return 0;
}
