#include "clerk_carrier.h"

#include <apr_strings.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define SEP4(c) [c] = 1, [c + 1] = 1, [c + 2] = 1, [c + 3] = 1
/*
 * Characters a compact JWS (or an opaque Clerk token) may never contain:
 * controls, space (tab is a control), DEL, ',' and ';'.  A table and no
 * early exit: about 3 instructions a byte over a ~1 KB token.
 */
static const unsigned char separator[256] = {
    SEP4(0x00), SEP4(0x04), SEP4(0x08), SEP4(0x0c), SEP4(0x10), SEP4(0x14), SEP4(0x18),
    SEP4(0x1c), [' '] = 1, [','] = 1, [';'] = 1, [0x7f] = 1,
};
#undef SEP4

static int has_separator(const char *s, apr_size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned char bad = 0;
    apr_size_t i = 0;

#ifdef __SSE2__
    /* the same set 16 bytes at a time (x86-64 always has SSE2): <= 0x20, DEL, ',' and ';' */
    {
        const __m128i space = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7f),
                      comma = _mm_set1_epi8(','), semi = _mm_set1_epi8(';');
        __m128i any = _mm_setzero_si128();

        for (; i + 16 <= n; i += 16) {
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(u + i));
            any = _mm_or_si128(any, _mm_cmpeq_epi8(_mm_min_epu8(x, space), x));
            any = _mm_or_si128(any, _mm_cmpeq_epi8(x, del));
            any = _mm_or_si128(any, _mm_cmpeq_epi8(x, comma));
            any = _mm_or_si128(any, _mm_cmpeq_epi8(x, semi));
        }
        bad = _mm_movemask_epi8(any) != 0;
    }
#endif
    for (; i < n; i++)
        bad |= separator[u[i]];
    return bad;
}

clerk_carrier_t clerk_bearer_token(const char *authorization, const char **token,
                                   apr_size_t *len)
{
    apr_size_t n;

    if (!authorization || !*authorization)
        return CLERK_CARRIER_NONE;
    if (!strncmp(authorization, "Bearer ", 7)) {
        const char *t = authorization + 7;
        n = strlen(t);
        if (n == 0 || has_separator(t, n))
            return CLERK_CARRIER_MALFORMED;
        *token = t;
        *len = n;
        return CLERK_CARRIER_TOKEN;
    }
    if (strchr(authorization, ' '))
        return CLERK_CARRIER_NONE;      /* Basic, Token, lowercase bearer, … */
    if (!strcmp(authorization, "Bearer"))
        return CLERK_CARRIER_MALFORMED; /* the scheme with nothing after it */
    n = strlen(authorization);
    if (has_separator(authorization, n))
        return CLERK_CARRIER_MALFORMED;
    *token = authorization;
    *len = n;
    return CLERK_CARRIER_TOKEN;
}

clerk_carrier_t clerk_cookie_value(apr_pool_t *p, const char *cookie_header,
                                   const char *name, const char **value,
                                   apr_size_t *len)
{
    apr_size_t name_len = strlen(name);
    const char *s = cookie_header, *found = NULL;
    apr_size_t found_len = 0;
    int count = 0;

    while (s && *s) {
        const char *end = s + strcspn(s, ";,"), *a = s, *eq;
        while (a < end && (*a == ' ' || *a == '\t'))
            a++;
        eq = memchr(a, '=', (apr_size_t)(end - a));
        if (eq) {
            const char *nb = a, *ne = eq;
            while (ne > nb && (ne[-1] == ' ' || ne[-1] == '\t'))
                ne--;
            if ((apr_size_t)(ne - nb) == name_len && !memcmp(nb, name, name_len)) {
                const char *v = eq + 1, *ve = end;
                while (v < ve && (*v == ' ' || *v == '\t'))
                    v++;
                while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                    ve--;
                if (ve - v >= 2 && *v == '"' && ve[-1] == '"') {
                    v++;
                    ve--;
                }
                found = v;
                found_len = (apr_size_t)(ve - v);
                count++;
            }
        }
        s = *end ? end + 1 : end;
    }
    if (count == 0)
        return CLERK_CARRIER_NONE;
    if (count > 1 || found_len == 0)
        return CLERK_CARRIER_MALFORMED;
    *value = apr_pstrmemdup(p, found, found_len);
    *len = found_len;
    return CLERK_CARRIER_TOKEN;
}
