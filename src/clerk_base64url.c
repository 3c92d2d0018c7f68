#include "clerk_base64url.h"

#include <apr_strings.h>

/* 0..63 for the base64url alphabet, 0xFF for everything else. */
static const unsigned char decode_table[256] = {
#define X 0xFF
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, 62, X, X,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, X, X, X, X, X, X,
    X, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, X, X, X, X, 63,
    X, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
#undef X
};

static const char encode_table[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

apr_status_t clerk_b64url_decode(apr_pool_t *p, const char *in, apr_size_t len,
                                 unsigned char **out, apr_size_t *outlen)
{
    /* Bound first: every size computed below then fits comfortably. */
    if (len > CLERK_B64URL_MAX_INPUT || (len % 4) == 1)
        return APR_EINVAL;

    apr_size_t full = len / 4, rest = len % 4;
    apr_size_t n = full * 3 + (rest ? rest - 1 : 0);
    unsigned char *buf = apr_palloc(p, n + 1);
    const unsigned char *s = (const unsigned char *)in;
    unsigned char *d = buf;

    for (apr_size_t i = 0; i < full; i++, s += 4) {
        unsigned a = decode_table[s[0]], b = decode_table[s[1]],
                 c = decode_table[s[2]], e = decode_table[s[3]];
        if ((a | b | c | e) & 0x80)
            return APR_EINVAL;
        *d++ = (unsigned char)(a << 2 | b >> 4);
        *d++ = (unsigned char)((b & 0x0F) << 4 | c >> 2);
        *d++ = (unsigned char)((c & 0x03) << 6 | e);
    }
    if (rest) {
        unsigned a = decode_table[s[0]], b = decode_table[s[1]];
        unsigned c = rest == 3 ? decode_table[s[2]] : 0;
        if ((a | b | c) & 0x80)
            return APR_EINVAL;
        *d++ = (unsigned char)(a << 2 | b >> 4);
        if (rest == 2) {
            if (b & 0x0F)       /* non-canonical: unused bits set */
                return APR_EINVAL;
        }
        else {
            *d++ = (unsigned char)((b & 0x0F) << 4 | c >> 2);
            if (c & 0x03)
                return APR_EINVAL;
        }
    }
    *d = '\0';
    *out = buf;
    *outlen = n;
    return APR_SUCCESS;
}

char *clerk_b64url_encode(apr_pool_t *p, const unsigned char *in, apr_size_t len)
{
    char *out = apr_palloc(p, (len + 2) / 3 * 4 + 1), *d = out;
    apr_size_t i = 0;

    for (; i + 3 <= len; i += 3) {
        *d++ = encode_table[in[i] >> 2];
        *d++ = encode_table[(in[i] & 0x03) << 4 | in[i + 1] >> 4];
        *d++ = encode_table[(in[i + 1] & 0x0F) << 2 | in[i + 2] >> 6];
        *d++ = encode_table[in[i + 2] & 0x3F];
    }
    if (len - i == 1) {
        *d++ = encode_table[in[i] >> 2];
        *d++ = encode_table[(in[i] & 0x03) << 4];
    }
    else if (len - i == 2) {
        *d++ = encode_table[in[i] >> 2];
        *d++ = encode_table[(in[i] & 0x03) << 4 | in[i + 1] >> 4];
        *d++ = encode_table[(in[i + 1] & 0x0F) << 2];
    }
    *d = '\0';
    return out;
}
