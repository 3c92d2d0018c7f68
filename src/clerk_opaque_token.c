#include "clerk_opaque_token.h"

#include <string.h>

static const struct {
    const char *text;
    apr_size_t len;
    clerk_token_type_t type;
} prefixes[] = {
    {"mt_", 3, CLERK_TYPE_M2M},
    {"oat_", 4, CLERK_TYPE_OAUTH},
    {"ak_", 3, CLERK_TYPE_API_KEY},
};

/* The type whose prefix starts s[0..n), its length in *plen; 0 for none. */
static clerk_token_type_t prefix_of(const char *s, apr_size_t n, apr_size_t *plen)
{
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
        if (n >= prefixes[i].len && !memcmp(s, prefixes[i].text, prefixes[i].len)) {
            *plen = prefixes[i].len;
            return prefixes[i].type;
        }
    return 0;
}

/* Character classes: a nonce's characters are URLSAFE, a token body's either. */
#define URLSAFE 1
#define STD_B64 2

/* By hand rather than isalnum: the locale must not widen the alphabet. */
static unsigned char class_of(unsigned char c)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
        || c == '-' || c == '_')
        return URLSAFE;
    if (c == '+' || c == '/' || c == '=')
        return STD_B64;
    return 0;
}

/* Whether s[0..n) has min..max bytes, each of a class in allowed. */
static int all_of(const char *s, apr_size_t n, apr_size_t min, apr_size_t max,
                  unsigned char allowed)
{
    if (n < min || n > max)
        return 0;
    for (apr_size_t i = 0; i < n; i++)
        if (!(class_of((unsigned char)s[i]) & allowed))
            return 0;
    return 1;
}

clerk_token_type_t clerk_opaque_token_type(const char *token)
{
    apr_size_t plen;
    return prefix_of(token, strlen(token), &plen);
}

clerk_token_type_t clerk_opaque_token_wellformed(const char *token, apr_size_t len)
{
    apr_size_t plen;
    clerk_token_type_t type = prefix_of(token, len, &plen);

    return type && all_of(token + plen, len - plen, CLERK_OPAQUE_BODY_MIN,
                          CLERK_OPAQUE_BODY_MAX, URLSAFE | STD_B64) ? type : 0;
}

int clerk_handshake_nonce_wellformed(const char *nonce, apr_size_t len)
{
    return all_of(nonce, len, 1, CLERK_NONCE_MAX, URLSAFE);
}
