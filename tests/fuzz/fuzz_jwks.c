/* clerk_keyset_from_jwks over arbitrary bytes; usable sets are then exercised. */
#include "fuzz.h"

#include "clerk_key.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_input_pool();
    clerk_keyset_t *ks = fuzz_parse_keyset(p, clerk_keyset_from_jwks, data, size);

    if (ks) {
        const clerk_key_t *k;
        if (ks->keys->nelts < 1 || ks->ignore_kid)
            abort();
        for (int i = 0; i < ks->keys->nelts; i++) {
            const clerk_key_t *key = APR_ARRAY_IDX(ks->keys, i, const clerk_key_t *);
            if (!key->pkey || key->bits < CLERK_KEY_MIN_BITS || key->bits > CLERK_KEY_MAX_BITS)
                abort();
            if (!clerk_key_to_jwk(p, key, key->kid))
                abort();
            /* every key with a kid is found by it, and it is that key */
            if (key->kid && (clerk_keyset_select(ks, key->kid, &k) != CLERK_OK || k != key))
                abort();
        }
        (void)clerk_keyset_select(ks, NULL, &k);
        (void)clerk_keyset_select(ks, "ins_2GIoQhbUpy0hX7B2cVkuTMinXoD", &k);
        for (int i = 0; i < ks->skipped->nelts; i++)
            (void)strlen(APR_ARRAY_IDX(ks->skipped, i, const char *));
    }
    fuzz_input_done(p);
    return 0;
}
