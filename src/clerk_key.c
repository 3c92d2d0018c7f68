#include "clerk_key.h"
#include "clerk_base64url.h"
#include "clerk_json.h"

#include <apr_file_io.h>
#include <apr_strings.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <string.h>

static apr_status_t pkey_cleanup(void *data)
{
    EVP_PKEY_free((EVP_PKEY *)data);
    return APR_SUCCESS;
}

static clerk_keyset_t *keyset_new(apr_pool_t *p)
{
    clerk_keyset_t *ks = apr_pcalloc(p, sizeof(*ks));
    ks->keys = apr_array_make(p, 4, sizeof(clerk_key_t *));
    ks->skipped = apr_array_make(p, 0, sizeof(const char *));
    ks->header_memo = clerk_jws_header_memo_create(p);
    return ks;
}

/*
 * ROCA (CVE-2017-15361): moduli made by Infineon's flawed generator are
 * k * M + (65537^a mod M), M the product of the small primes below, so for
 * every one of those primes n mod p lies in the subgroup that 65537 generates
 * mod p.  Such keys can be factored and must not verify anything.  A modulus
 * with proper random primes passes all 38 tests only with negligible odds.
 */
static int is_roca_weak(const BIGNUM *n)
{
    static const unsigned short primes[] = {
        3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71,
        73, 79, 83, 89, 97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151,
        157, 163, 167,
    };

    for (size_t i = 0; i < sizeof(primes) / sizeof(primes[0]); i++) {
        unsigned long p = primes[i], g = 65537 % p, r = 1;
        BN_ULONG rem = BN_mod_word(n, (BN_ULONG)p);
        int in_subgroup = 0;

        if (rem == (BN_ULONG)-1)
            return 0;
        do {
            if (r == rem)
                in_subgroup = 1;
            r = r * g % p;
        } while (r != 1 && !in_subgroup);
        if (!in_subgroup)
            return 0;
    }
    return 1;
}

/*
 * The rules every key must pass, whatever its encoding: RSA (not RSA-PSS,
 * not EC, not a symmetric key), a modulus of CLERK_KEY_MIN_BITS or more that
 * is not ROCA-weak, and an odd public exponent of at least 65537 (e = 1 or 3
 * is refused).
 */
static const char *check_rsa_key(EVP_PKEY *pkey, int *bits)
{
    BIGNUM *e = NULL, *n = NULL;
    const char *err = NULL;

    if (!EVP_PKEY_is_a(pkey, "RSA"))
        return "not an RSA key";
    *bits = EVP_PKEY_get_bits(pkey);
    if (*bits < CLERK_KEY_MIN_BITS)
        return "RSA key shorter than 2048 bits";
    if (*bits > CLERK_KEY_MAX_BITS)
        return "RSA key longer than 16384 bits";
    if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n))
        return "RSA key without a modulus";
    err = is_roca_weak(n) ? "RSA modulus has the ROCA weakness (CVE-2017-15361)" : NULL;
    BN_free(n);
    if (err)
        return err;
    if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e))
        return "RSA key without a public exponent";
    if (!BN_is_odd(e) || BN_num_bits(e) < 17 || BN_num_bits(e) > 256)
        err = "RSA public exponent is not an odd number from 65537 to 2^256";
    BN_free(e);
    return err;
}

static clerk_key_t *key_wrap(apr_pool_t *p, EVP_PKEY *pkey, int bits,
                             const char *kid, const char *alg)
{
    clerk_key_t *k = apr_pcalloc(p, sizeof(*k));
    apr_pool_cleanup_register(p, pkey, pkey_cleanup, apr_pool_cleanup_null);
    k->pkey = pkey;
    k->bits = bits;
    k->kid = kid;
    k->alg = alg;
    /*
     * Made after the key's cleanup is registered, so theirs run first.  Which
     * alg a token may use with this key (k->alg) is clerk_jws_verify's rule.
     */
    for (int i = 0; i < CLERK_RS_COUNT; i++)
        k->verifiers[i] = clerk_rsa_verifier_make(p, pkey, i);
    return k;
}

static EVP_PKEY *decode_public_key(const unsigned char *data, size_t len,
                                   const char *input_type)
{
    EVP_PKEY *pkey = NULL;
    OSSL_DECODER_CTX *dctx = OSSL_DECODER_CTX_new_for_pkey(
        &pkey, input_type, NULL, "RSA", EVP_PKEY_PUBLIC_KEY, NULL, NULL);

    if (!dctx)
        return NULL;
    if (!OSSL_DECODER_from_data(dctx, &data, &len) || len != 0) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    OSSL_DECODER_CTX_free(dctx);
    return pkey;
}

apr_status_t clerk_keyset_from_pem(apr_pool_t *p, const char *text, apr_size_t len,
                                   clerk_keyset_t **out, const char **err)
{
    EVP_PKEY *pkey;
    int bits;
    const char *why;

    if (len > CLERK_KEYDOC_MAX_LEN) {
        *err = "key text is too large";
        return APR_EINVAL;
    }
    /* A private key here means a secret was pasted where a public key belongs. */
    if (memmem(text, len, "PRIVATE KEY", 11)) {
        *err = "this is a private key; configure the instance's public key";
        return APR_EINVAL;
    }
    if (memmem(text, len, "-----BEGIN ", 11)) {
        pkey = decode_public_key((const unsigned char *)text, len, "PEM");
    }
    else {
        /* The dashboard's bare base64 body: strip white space, decode, DER. */
        char *b64 = apr_palloc(p, len + 1);
        apr_size_t n = 0;
        for (apr_size_t i = 0; i < len; i++) {
            if (text[i] == ' ' || text[i] == '\n' || text[i] == '\r' || text[i] == '\t')
                continue;
            b64[n++] = text[i];
        }
        b64[n] = '\0';
        if (n == 0 || n % 4 != 0) {
            *err = "key is neither PEM nor a base64 public key body";
            return APR_EINVAL;
        }
        unsigned char *der = apr_palloc(p, n / 4 * 3 + 1);
        int dlen = EVP_DecodeBlock(der, (const unsigned char *)b64, (int)n);
        if (dlen < 0) {
            *err = "key is neither PEM nor a base64 public key body";
            return APR_EINVAL;
        }
        /* EVP_DecodeBlock counts '=' padding as zero bytes; drop them. */
        if (b64[n - 1] == '=')
            dlen--;
        if (b64[n - 2] == '=')
            dlen--;
        pkey = decode_public_key(der, (size_t)dlen, "DER");
    }
    if (!pkey) {
        *err = "could not parse an RSA public key (SPKI or PKCS#1)";
        return APR_EINVAL;
    }
    if ((why = check_rsa_key(pkey, &bits)) != NULL) {
        EVP_PKEY_free(pkey);
        *err = why;
        return APR_EINVAL;
    }
    *out = keyset_new(p);
    (*out)->ignore_kid = 1;
    /* Clerk's SDK binds a PEM key to RS256 (loadClerkJwkFromPem); so do we. */
    APR_ARRAY_PUSH((*out)->keys, clerk_key_t *) = key_wrap(p, pkey, bits, NULL, "RS256");
    return APR_SUCCESS;
}

static int is_allowed_alg(const char *alg)
{
    return alg && (!strcmp(alg, "RS256") || !strcmp(alg, "RS384") || !strcmp(alg, "RS512"));
}

/* A kid we are willing to compare and to log: bounded, printable ASCII. */
static int is_sane_kid(const char *kid)
{
    size_t n = strlen(kid);
    if (n == 0 || n > CLERK_KID_MAX_LEN)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)kid[i] < 0x21 || (unsigned char)kid[i] > 0x7e)
            return 0;
    return 1;
}

static BIGNUM *b64url_bignum(apr_pool_t *p, const json_t *v)
{
    const char *s = json_string_value(v);
    unsigned char *bin;
    apr_size_t n;

    if (!s || clerk_b64url_decode(p, s, strlen(s), &bin, &n) != APR_SUCCESS || n == 0)
        return NULL;
    return BN_bin2bn(bin, (int)n, NULL);
}

EVP_PKEY *clerk_rsa_public_from_n_e(const BIGNUM *n, const BIGNUM *e, const char *keytype)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;

    if (bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n)
        && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e)
        && (params = OSSL_PARAM_BLD_to_param(bld)) != NULL
        && (ctx = EVP_PKEY_CTX_new_from_name(NULL, keytype, NULL)) != NULL
        && EVP_PKEY_fromdata_init(ctx) > 0) {
        if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
            pkey = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    return pkey;
}

/* One JWK, or NULL with *why saying why it is unusable. */
static clerk_key_t *key_from_jwk(apr_pool_t *p, const json_t *jwk, const char **why)
{
    const char *kty = clerk_json_string(jwk, "kty");
    const json_t *use = json_object_get(jwk, "use");
    const json_t *ops = json_object_get(jwk, "key_ops");
    const json_t *algv = json_object_get(jwk, "alg");
    const json_t *kidv = json_object_get(jwk, "kid");
    const char *alg = NULL, *kid = NULL;
    BIGNUM *n, *e;
    EVP_PKEY *pkey;
    int bits;

    if (!json_is_object(jwk))
        return (*why = "entry is not an object", NULL);
    if (!kty || strcmp(kty, "RSA"))
        return (*why = "kty is not RSA", NULL);
    if (use && (!json_is_string(use) || strcmp(json_string_value(use), "sig")))
        return (*why = "use is not sig", NULL);
    if (ops) {
        size_t i;
        json_t *op;
        int verify = 0;
        if (!json_is_array(ops))
            return (*why = "key_ops is not an array", NULL);
        json_array_foreach(ops, i, op)
            if (json_is_string(op) && !strcmp(json_string_value(op), "verify"))
                verify = 1;
        if (!verify)
            return (*why = "key_ops does not allow verify", NULL);
    }
    if (algv) {
        alg = json_string_value(algv);
        if (!is_allowed_alg(alg))
            return (*why = "alg is not RS256, RS384 or RS512", NULL);
        alg = apr_pstrdup(p, alg);
    }
    if (kidv) {
        kid = json_string_value(kidv);
        if (!kid || !is_sane_kid(kid))
            return (*why = "kid is not a short printable string", NULL);
        kid = apr_pstrdup(p, kid);
    }
    if (json_object_get(jwk, "d") || json_object_get(jwk, "p") || json_object_get(jwk, "q"))
        return (*why = "private key material in a key set", NULL);

    n = b64url_bignum(p, json_object_get(jwk, "n"));
    e = b64url_bignum(p, json_object_get(jwk, "e"));
    pkey = (n && e) ? clerk_rsa_public_from_n_e(n, e, "RSA") : NULL;
    BN_free(n);
    BN_free(e);
    if (!pkey)
        return (*why = "n or e is not valid base64url", NULL);
    if ((*why = check_rsa_key(pkey, &bits)) != NULL) {
        EVP_PKEY_free(pkey);
        return NULL;
    }
    return key_wrap(p, pkey, bits, kid, alg);
}

apr_status_t clerk_keyset_from_jwks(apr_pool_t *p, const char *json, apr_size_t len,
                                    clerk_keyset_t **out, const char **err)
{
    json_t *doc, *keys, *jwk;
    clerk_keyset_t *ks;
    size_t i;

    if (len > CLERK_KEYDOC_MAX_LEN) {
        *err = "key set is too large";
        return APR_EINVAL;
    }
    if (!(doc = clerk_json_parse_object(p, json, len, err)))
        return APR_EINVAL;
    keys = json_object_get(doc, "keys");
    if (!json_is_array(keys)) {
        *err = "not a JWKS: \"keys\" is not an array";
        return APR_EINVAL;
    }
    ks = keyset_new(p);
    json_array_foreach(keys, i, jwk) {
        const char *why = NULL;
        clerk_key_t *k = key_from_jwk(p, jwk, &why);
        if (!k) {
            const char *kid = clerk_json_string(jwk, "kid");
            APR_ARRAY_PUSH(ks->skipped, const char *) = apr_psprintf(
                p, "key %" APR_SIZE_T_FMT "%s%s%s skipped: %s", (apr_size_t)i,
                kid && is_sane_kid(kid) ? " (kid " : "",
                kid && is_sane_kid(kid) ? kid : "",
                kid && is_sane_kid(kid) ? ")" : "", why);
            continue;
        }
        APR_ARRAY_PUSH(ks->keys, clerk_key_t *) = k;
    }
    /* Keys sharing a kid are ambiguous: drop every one of them. */
    for (int a = 0; a < ks->keys->nelts; a++) {
        clerk_key_t *ka = APR_ARRAY_IDX(ks->keys, a, clerk_key_t *);
        int dup = 0;
        if (!ka->kid)
            continue;
        for (int b = 0; b < ks->keys->nelts; b++) {
            clerk_key_t *kb = APR_ARRAY_IDX(ks->keys, b, clerk_key_t *);
            if (a != b && kb->kid && !strcmp(ka->kid, kb->kid))
                dup = 1;
        }
        if (dup) {
            APR_ARRAY_PUSH(ks->skipped, const char *) =
                apr_psprintf(p, "key with kid %s skipped: kid is not unique", ka->kid);
            /*
             * Only the key goes: its kid must stay for the comparisons of
             * the keys after it, or the last copy of a kid would survive.
             */
            ka->pkey = NULL;    /* still freed by the pool cleanup */
        }
    }
    {
        /* Compact away the dropped duplicates. */
        int w = 0;
        for (int r = 0; r < ks->keys->nelts; r++) {
            clerk_key_t *k = APR_ARRAY_IDX(ks->keys, r, clerk_key_t *);
            if (k->pkey)
                APR_ARRAY_IDX(ks->keys, w++, clerk_key_t *) = k;
        }
        ks->keys->nelts = w;
    }
    if (ks->keys->nelts == 0) {
        *err = ks->skipped->nelts
            ? apr_pstrcat(p, "no usable key in the key set; first problem: ",
                          APR_ARRAY_IDX(ks->skipped, 0, const char *), NULL)
            : "the key set is empty";
        return APR_EINVAL;
    }
    *out = ks;
    return APR_SUCCESS;
}

static apr_status_t read_bounded_file(apr_pool_t *p, const char *path,
                                      char **buf, apr_size_t *len, const char **err)
{
    apr_file_t *f;
    apr_finfo_t fi;
    apr_status_t rv;

    if ((rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p)) != APR_SUCCESS) {
        char msg[128];
        *err = apr_psprintf(p, "cannot open %s: %s", path, apr_strerror(rv, msg, sizeof(msg)));
        return rv;
    }
    if ((rv = apr_file_info_get(&fi, APR_FINFO_SIZE, f)) != APR_SUCCESS
        || fi.size < 0 || (apr_uint64_t)fi.size > CLERK_KEYDOC_MAX_LEN) {
        apr_file_close(f);
        *err = apr_psprintf(p, "%s is larger than %u bytes or unreadable", path,
                            CLERK_KEYDOC_MAX_LEN);
        return rv ? rv : APR_EINVAL;
    }
    *buf = apr_palloc(p, (apr_size_t)fi.size + 1);
    *len = (apr_size_t)fi.size;
    rv = apr_file_read_full(f, *buf, *len, len);
    apr_file_close(f);
    if (rv != APR_SUCCESS && rv != APR_EOF) {
        *err = apr_psprintf(p, "cannot read %s", path);
        return rv;
    }
    (*buf)[*len] = '\0';
    return APR_SUCCESS;
}

typedef apr_status_t keyset_parser_fn(apr_pool_t *p, const char *text, apr_size_t len,
                                      clerk_keyset_t **out, const char **err);

/* The file at path through parse; a parse error names the file, as a read error does. */
static apr_status_t keyset_from_file(apr_pool_t *p, const char *path, keyset_parser_fn *parse,
                                     clerk_keyset_t **out, const char **err)
{
    char *buf;
    apr_size_t len;
    apr_status_t rv = read_bounded_file(p, path, &buf, &len, err);
    if (rv == APR_SUCCESS && (rv = parse(p, buf, len, out, err)) != APR_SUCCESS)
        *err = apr_pstrcat(p, path, ": ", *err, NULL);
    return rv;
}

apr_status_t clerk_keyset_from_pem_file(apr_pool_t *p, const char *path,
                                        clerk_keyset_t **out, const char **err)
{
    return keyset_from_file(p, path, clerk_keyset_from_pem, out, err);
}

apr_status_t clerk_keyset_from_jwks_file(apr_pool_t *p, const char *path,
                                         clerk_keyset_t **out, const char **err)
{
    return keyset_from_file(p, path, clerk_keyset_from_jwks, out, err);
}

clerk_reason_t clerk_keyset_select(const clerk_keyset_t *ks, const char *kid,
                                   const clerk_key_t **key)
{
    if (ks->ignore_kid) {
        *key = APR_ARRAY_IDX(ks->keys, 0, const clerk_key_t *);
        return CLERK_OK;
    }
    if (!kid) {
        /* Without a kid only an unambiguous set can answer. */
        if (ks->keys->nelts == 1) {
            *key = APR_ARRAY_IDX(ks->keys, 0, const clerk_key_t *);
            return CLERK_OK;
        }
        return CLERK_JWK_KID_MISMATCH;
    }
    for (int i = 0; i < ks->keys->nelts; i++) {
        const clerk_key_t *k = APR_ARRAY_IDX(ks->keys, i, const clerk_key_t *);
        if (k->kid && !strcmp(k->kid, kid)) {
            *key = k;
            return CLERK_OK;
        }
    }
    return CLERK_JWK_KID_MISMATCH;
}

void clerk_keyset_digest(const clerk_keyset_t *ks, unsigned char out[32])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    EVP_DigestUpdate(ctx, ks->ignore_kid ? "pem" : "jwks", ks->ignore_kid ? 3 : 4);
    for (int i = 0; i < ks->keys->nelts; i++) {
        const clerk_key_t *k = APR_ARRAY_IDX(ks->keys, i, const clerk_key_t *);
        unsigned char *der = NULL;
        int n = i2d_PUBKEY(k->pkey, &der);
        if (n > 0)
            EVP_DigestUpdate(ctx, der, (size_t)n);
        OPENSSL_free(der);
        EVP_DigestUpdate(ctx, k->kid ? k->kid : "", k->kid ? strlen(k->kid) + 1 : 1);
        EVP_DigestUpdate(ctx, k->alg ? k->alg : "", k->alg ? strlen(k->alg) + 1 : 1);
    }
    EVP_DigestFinal_ex(ctx, out, NULL);
    EVP_MD_CTX_free(ctx);
}

char *clerk_key_to_jwk(apr_pool_t *p, const clerk_key_t *key, const char *kid)
{
    BIGNUM *n = NULL, *e = NULL;
    char *out = NULL;

    if (EVP_PKEY_get_bn_param(key->pkey, OSSL_PKEY_PARAM_RSA_N, &n)
        && EVP_PKEY_get_bn_param(key->pkey, OSSL_PKEY_PARAM_RSA_E, &e)) {
        int nl = BN_num_bytes(n), el = BN_num_bytes(e);
        unsigned char *nb = apr_palloc(p, nl), *eb = apr_palloc(p, el);
        BN_bn2bin(n, nb);
        BN_bn2bin(e, eb);
        json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kty", "RSA", "use", "sig",
                              "alg", "RS256", "n", clerk_b64url_encode(p, nb, nl),
                              "e", clerk_b64url_encode(p, eb, el));
        if (j && kid)
            json_object_set_new(j, "kid", json_string(kid));
        if (j) {
            out = clerk_json_compact(p, j);
            json_decref(j);
        }
    }
    BN_free(n);
    BN_free(e);
    return out;
}
