#include "clerk_publishable_key.h"

#include <apr_strings.h>
#include <openssl/evp.h>
#include <string.h>

#define MAX_KEY_LEN 512

/* Decode standard base64 with the padding optional, as Clerk's atob use does. */
static int decode_b64_loose(apr_pool_t *p, const char *in, char **out, size_t *outlen)
{
    size_t n = strlen(in);
    char *padded;
    unsigned char *buf;
    int len;

    if (n == 0 || n > MAX_KEY_LEN || n % 4 == 1)
        return 0;
    if (strspn(in, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != n)
        return 0;
    /* '=' only as trailing padding */
    const char *eq = strchr(in, '=');
    if (eq && (strspn(eq, "=") != strlen(eq) || n % 4 != 0))
        return 0;
    padded = apr_pstrcat(p, in, n % 4 == 2 ? "==" : n % 4 == 3 ? "=" : "", NULL);
    n = strlen(padded);
    buf = apr_palloc(p, n / 4 * 3 + 1);
    len = EVP_DecodeBlock(buf, (unsigned char *)padded, (int)n);
    if (len < 0)
        return 0;
    if (padded[n - 1] == '=')
        len--;
    if (padded[n - 2] == '=')
        len--;
    buf[len] = '\0';
    *out = (char *)buf;
    *outlen = (size_t)len;
    return 1;
}

/* A DNS host name: letters, digits, '-' and '.', with at least one dot. */
static int is_host(const char *h, size_t n)
{
    if (n == 0 || n > 253 || !memchr(h, '.', n) || h[0] == '.' || h[0] == '-')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = h[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

static const char *cookie_suffix(apr_pool_t *p, const char *key)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    unsigned char b64[64];
    char *s;

    if (!EVP_Digest(key, strlen(key), md, &mdlen, EVP_sha1(), NULL))
        return NULL;
    EVP_EncodeBlock(b64, md, (int)mdlen);
    s = apr_pstrndup(p, (const char *)b64, 8);
    for (char *c = s; *c; c++) {
        if (*c == '+')
            *c = '-';
        else if (*c == '/')
            *c = '_';
    }
    return s;
}

apr_status_t clerk_publishable_key_parse(apr_pool_t *p, const char *key,
                                         clerk_publishable_key_t **out,
                                         const char **err)
{
    clerk_publishable_key_t *pk;
    const char *body;
    char *decoded;
    size_t dlen;
    int production;

    if (!strncmp(key, "pk_live_", 8))
        production = 1;
    else if (!strncmp(key, "pk_test_", 8))
        production = 0;
    else {
        *err = "a publishable key starts with pk_test_ or pk_live_";
        return APR_EINVAL;
    }
    body = key + 8;
    if (strchr(body, '_')) {
        *err = "publishable key has more than three '_'-separated parts";
        return APR_EINVAL;
    }
    if (!decode_b64_loose(p, body, &decoded, &dlen)) {
        *err = "publishable key body is not base64";
        return APR_EINVAL;
    }
    /* "<host>$": exactly one '$', at the end. */
    if (dlen < 2 || decoded[dlen - 1] != '$' || memchr(decoded, '$', dlen - 1)
        || memchr(decoded, '\0', dlen)) {
        *err = "publishable key does not encode \"<frontend api host>$\"";
        return APR_EINVAL;
    }
    if (!is_host(decoded, dlen - 1)) {
        *err = "publishable key does not encode a Frontend API host name";
        return APR_EINVAL;
    }
    pk = apr_pcalloc(p, sizeof(*pk));
    pk->key = apr_pstrdup(p, key);
    pk->production = production;
    pk->frontend_api = apr_pstrndup(p, decoded, dlen - 1);
    pk->issuer = apr_pstrcat(p, "https://", pk->frontend_api, NULL);
    pk->jwks_url = apr_pstrcat(p, pk->issuer, "/.well-known/jwks.json", NULL);
    pk->cookie_suffix = cookie_suffix(p, key);
    *out = pk;
    return APR_SUCCESS;
}
