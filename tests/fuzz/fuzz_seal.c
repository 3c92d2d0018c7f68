/*
 * clerk_unseal over what a writer to the shared cache could store, and
 * clerk_seal / clerk_unseal round trips over the fuzzer's names and values.
 *
 * First byte even: the rest is a value read from the store, opened under the
 * store name of "fuzz" for every purpose.  Without the keys nothing can be
 * made that opens, so anything but APR_EGENERAL (an opened value, even an
 * expired one) is a forgery and aborts.
 *
 * First byte odd: bits 1.. pick the purpose; the second byte is the length of
 * the name, the next two pick a bit and a cut, the name follows, the value is
 * the rest.  The value sealed under the name opens to the same bytes and
 * expiry before its expiry, is APR_TIMEUP at it, and does not open with the
 * bit flipped, cut, or under another purpose's name for the same name.
 */
#include "fuzz.h"

#include "clerk_seal.h"

#define EXPIRY ((apr_time_t)1700000000 * APR_USEC_PER_SEC)

static clerk_seal_keys_t *keys;

static void derive_keys(void)
{
    static const unsigned char material[32] = "fuzz_seal fixed key material 32";

    if (clerk_seal_keys_derive(fuzz_global_pool(), material, sizeof(material), &keys)
        != APR_SUCCESS)
        abort();
}

static void must_not_open(apr_pool_t *p, clerk_seal_purpose_t purpose, const char *store_name,
                          apr_time_t now, const unsigned char *sealed, apr_size_t len)
{
    unsigned char *v = NULL;
    apr_size_t vlen = 0;

    if (clerk_unseal(keys, purpose, store_name, now, sealed, len, p, &v, &vlen, NULL)
        != APR_EGENERAL || v)
        abort();
}

static void forge(apr_pool_t *p, const uint8_t *data, size_t size)
{
    for (int purpose = 0; purpose < CLERK_SEAL_PURPOSES; purpose++) {
        const char *sn = clerk_seal_store_name(keys, purpose, "fuzz", 4, p);
        if (!sn)
            abort();
        must_not_open(p, purpose, sn, EXPIRY, data, size);
    }
}

static void round_trip(apr_pool_t *p, const uint8_t *data, size_t size)
{
    clerk_seal_purpose_t purpose = (clerk_seal_purpose_t)((data[0] >> 1) % CLERK_SEAL_PURPOSES);
    clerk_seal_purpose_t other = (clerk_seal_purpose_t)((purpose + 1) % CLERK_SEAL_PURPOSES);
    size_t name_len, pick;
    const uint8_t *name, *value;
    size_t value_len;
    const char *sn, *other_sn;
    unsigned char *sealed, *v = NULL;
    apr_size_t sealed_len, vlen = 0;
    apr_time_t expiry = 0;

    if (size < 4)
        return;
    pick = (size_t)data[2] | (size_t)data[3] << 8;
    name_len = data[1] < size - 4 ? data[1] : size - 4;
    name = data + 4;
    value = name + name_len;
    value_len = size - 4 - name_len;
    sn = clerk_seal_store_name(keys, purpose, name, name_len, p);
    other_sn = clerk_seal_store_name(keys, other, name, name_len, p);
    if (!sn || !other_sn || strlen(sn) != CLERK_SEAL_NAME_LEN
        || clerk_seal(keys, purpose, sn, EXPIRY, value, value_len, p, &sealed, &sealed_len)
               != APR_SUCCESS
        || sealed_len != value_len + CLERK_SEAL_OVERHEAD)
        abort();

    if (clerk_unseal(keys, purpose, sn, EXPIRY - 1, sealed, sealed_len, p, &v, &vlen, &expiry)
            != APR_SUCCESS
        || vlen != value_len || (value_len && memcmp(v, value, value_len)) || v[vlen] != '\0'
        || expiry != EXPIRY)
        abort();
    if (clerk_unseal(keys, purpose, sn, EXPIRY, sealed, sealed_len, p, NULL, NULL, NULL)
        != APR_TIMEUP)
        abort();
    must_not_open(p, other, other_sn, EXPIRY - 1, sealed, sealed_len);
    must_not_open(p, purpose, sn, EXPIRY - 1, sealed, sealed_len - 1 - pick % sealed_len);
    sealed[pick / 8 % sealed_len] ^= (unsigned char)(1u << (pick % 8));
    must_not_open(p, purpose, sn, EXPIRY - 1, sealed, sealed_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;

    FUZZ_ONCE(derive_keys);
    p = fuzz_input_pool();
    if (size && data[0] & 1)
        round_trip(p, data, size);
    else
        forge(p, size ? data + 1 : data, size ? size - 1 : 0);
    fuzz_input_done(p);
    return 0;
}
