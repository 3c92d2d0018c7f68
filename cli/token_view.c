/*
 * clerk-jwt token view: what a token claims, read without verifying it, for
 * decode and lint.  Lenient on purpose (either base64 alphabet, padding,
 * stray bits) so that what the module refuses can still be shown; whether
 * it was strict is kept in canonical.
 */
#include <apr_strings.h>

#include <string.h>

#include "cli.h"
#include "clerk_base64url.h"
#include "clerk_json.h"
#include "clerk_opaque_token.h"
#include "clerk_verify.h"

/* A JWE has 5; more than this many segments are only counted. */
#define MAX_SEGMENTS 8

static int b64_value(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-' || c == '+')
        return 62;
    if (c == '_' || c == '/')
        return 63;
    return -1;
}

/* Lenient base64 for display only; the module itself uses the strict decoder. */
static int b64_lenient(apr_pool_t *p, const char *in, apr_size_t len,
                       unsigned char **out, apr_size_t *outlen)
{
    unsigned char *buf;
    unsigned acc = 0;
    int bits = 0;
    apr_size_t n = 0;

    while (len && in[len - 1] == '=')
        len--;
    if (len % 4 == 1)
        return 0;
    buf = apr_palloc(p, len / 4 * 3 + 4);
    for (apr_size_t i = 0; i < len; i++) {
        int v = b64_value((unsigned char)in[i]);
        if (v < 0)
            return 0;
        acc = ((acc << 6) | (unsigned)v) & 0xffffu;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[n++] = (unsigned char)(acc >> bits);
        }
    }
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    return 1;
}

static int decode_segment(apr_pool_t *p, const char *s, apr_size_t len, unsigned char **out,
                          apr_size_t *outlen, int *canonical)
{
    if (clerk_b64url_decode(p, s, len, out, outlen) == APR_SUCCESS)
        return 1;
    *canonical = 0;
    return b64_lenient(p, s, len, out, outlen);
}

/* Segment i decoded as a JSON object, or NULL with v->error set. */
static json_t *json_segment(apr_pool_t *p, const char *s, apr_size_t len, const char *what,
                            cli_token_view_t *v)
{
    unsigned char *buf;
    apr_size_t blen;
    const char *err;
    json_t *j;

    if (!decode_segment(p, s, len, &buf, &blen, &v->canonical)) {
        v->error = apr_pstrcat(p, "the ", what, " segment is not base64url", NULL);
        return NULL;
    }
    if (!(j = clerk_json_parse_object(p, (const char *)buf, blen, &err)))
        v->error = apr_pstrcat(p, what, ": ", err, NULL);
    return j;
}

void cli_view_token(apr_pool_t *p, const char *tok, apr_size_t len, cli_token_view_t *v)
{
    const char *seg[MAX_SEGMENTS], *s = tok;
    apr_size_t seglen[MAX_SEGMENTS];
    clerk_token_type_t opaque = memchr(tok, '.', len) ? 0 : clerk_opaque_token_type(tok);
    int nseg = 0;

    memset(v, 0, sizeof(*v));
    v->len = len;
    v->canonical = 1;

    for (;;) {
        const char *dot = memchr(s, '.', len - (apr_size_t)(s - tok));
        if (nseg < MAX_SEGMENTS) {
            seg[nseg] = s;
            seglen[nseg] = dot ? (apr_size_t)(dot - s) : len - (apr_size_t)(s - tok);
        }
        nseg++;
        if (!dot)
            break;
        s = dot + 1;
    }
    if (opaque) {
        v->opaque = clerk_token_type_name(opaque);
        v->error = apr_psprintf(p, "an opaque %s (%.*s...): nothing to decode; it is verified "
                                "through Clerk's Backend API", v->opaque,
                                (int)(strchr(tok, '_') - tok + 1), tok);
        return;
    }
    if (nseg == 5) {
        v->error = "5 segments: an encrypted JWE, not a signed JWS";
        return;
    }
    if (nseg != 3) {
        v->error = apr_psprintf(p, "%d dot-separated segment%s; a JWS has 3", nseg,
                                nseg == 1 ? "" : "s");
        return;
    }
    if (!(v->header = json_segment(p, seg[0], seglen[0], "header", v))
        || !(v->payload = json_segment(p, seg[1], seglen[1], "payload", v)))
        return;
    if (seglen[2]) {
        unsigned char *sig;
        apr_size_t siglen;
        if (!decode_segment(p, seg[2], seglen[2], &sig, &siglen, &v->canonical)) {
            v->error = "the signature segment is not base64url";
            return;
        }
    }
    v->alg = clerk_json_string(v->header, "alg");
    v->kid = clerk_json_string(v->header, "kid");
    v->typ = clerk_json_string(v->header, "typ");
    v->cat = clerk_json_string(v->header, "cat");
    v->type = clerk_token_classify(v->typ, v->cat, v->payload);
}

/* The known categories: value, description, short name for --json. */
static const struct {
    const char *value, *name, *key;
} categories[] = {
    {CLERK_CAT_SESSION, "session token", "session"},
    {CLERK_CAT_TEMPLATE, "JWT template", "jwt_template"},
    {CLERK_CAT_M2M, "M2M token", "m2m"},
    {CLERK_CAT_IGNORE, "ignore (no class information)", "ignore"},
};

static int category_index(const char *cat)
{
    for (size_t i = 0; i < sizeof(categories) / sizeof(categories[0]); i++)
        if (!strcmp(cat, categories[i].value))
            return (int)i;
    return -1;
}

const char *cli_category_name(const char *cat)
{
    int i;

    if (!cat)
        return "absent (minted before categories; accepted for session tokens)";
    return (i = category_index(cat)) >= 0 ? categories[i].name : "unknown category";
}

const char *cli_category_key(const char *cat)
{
    int i;

    if (!cat)
        return NULL;
    return (i = category_index(cat)) >= 0 ? categories[i].key : "unknown";
}

const char *cli_type_list(apr_pool_t *p, unsigned types)
{
    apr_array_header_t *a = apr_array_make(p, 4, sizeof(const char *));
    for (unsigned t = 1; t <= CLERK_TYPE_API_KEY; t <<= 1)
        if (types & t)
            APR_ARRAY_PUSH(a, const char *) = clerk_token_type_name((clerk_token_type_t)t);
    return apr_array_pstrcat(p, a, ',');
}
