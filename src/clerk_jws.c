#include "clerk_jws.h"
#include "clerk_base64url.h"
#include "clerk_json.h"

#include <apr_strings.h>
#include <string.h>

static clerk_reason_t fail(const char **detail, const char *why, clerk_reason_t r)
{
    *detail = why;
    return r;
}

/* An optional header member that must be a string when present. */
static int optional_string(const json_t *h, const char *name, const char **out)
{
    const json_t *v = json_object_get(h, name);
    *out = json_string_value(v);    /* NULL when absent or not a string */
    return !v || *out != NULL;
}

/*
 * The header's own rules, from its bytes; alg is checked by the caller,
 * since an empty signature is reported only after it.
 */
static clerk_reason_t parse_header(apr_pool_t *p, const unsigned char *text, apr_size_t len,
                                   clerk_jws_header_t *h, const char **detail)
{
    json_t *header;
    const char *err;

    if (!(header = clerk_json_parse_object(p, (const char *)text, len, &err)))
        return fail(detail, apr_pstrcat(p, "header: ", err, NULL), CLERK_TOKEN_INVALID);
    /* alg first, as Clerk does: "none", HS*, ES*, PS* all end in the caller */
    h->alg = clerk_json_string(header, "alg");
    if (clerk_rs_alg_from_name(h->alg) < 0)
        return CLERK_OK;
    /*
     * crit names extensions we would have to understand; b64:false (RFC 7797)
     * changes what is signed; zip belongs to JWE.  None is acceptable here.
     */
    if (json_object_get(header, "crit"))
        return fail(detail, "header has crit", CLERK_TOKEN_INVALID);
    if (json_object_get(header, "b64"))
        return fail(detail, "header has b64", CLERK_TOKEN_INVALID);
    if (json_object_get(header, "zip"))
        return fail(detail, "header has zip", CLERK_TOKEN_INVALID);
    if (!optional_string(header, "kid", &h->kid) || !optional_string(header, "typ", &h->typ))
        return fail(detail, "kid or typ is not a string", CLERK_TOKEN_INVALID);
    /* cat of any JSON type: what it means depends on the token type (clerk_verify) */
    h->has_cat = json_object_get(header, "cat") != NULL;
    h->cat = clerk_json_string(header, "cat");
    if (h->kid && (strlen(h->kid) == 0 || strlen(h->kid) > CLERK_KID_MAX_LEN))
        return fail(detail, "kid is empty or too long", CLERK_TOKEN_INVALID);
    return CLERK_OK;
}

clerk_reason_t clerk_jws_parse_for(apr_pool_t *p, const char *token, apr_size_t len,
                                   apr_size_t max_len, const clerk_keyset_t *ks,
                                   clerk_jws_t **out, const char **detail)
{
    const char *dot1, *dot2;
    unsigned char *hdr, *payload, *sig;
    apr_size_t hdr_len, hdr_text_len, payload_len, sig_len;
    clerk_jws_header_t h = {0};
    clerk_jws_t *jws;
    int known;
    clerk_reason_t r = CLERK_OK;

    if (len == 0)
        return fail(detail, "empty token", CLERK_TOKEN_INVALID);
    if (len > max_len)
        return fail(detail, "token longer than the size limit", CLERK_TOKEN_INVALID);
    dot1 = memchr(token, '.', len);
    dot2 = dot1 ? memchr(dot1 + 1, '.', len - (apr_size_t)(dot1 + 1 - token)) : NULL;
    if (!dot2 || memchr(dot2 + 1, '.', len - (apr_size_t)(dot2 + 1 - token)))
        return fail(detail, "not three dot-separated segments", CLERK_TOKEN_INVALID);
    if (dot1 == token)
        return fail(detail, "empty header segment", CLERK_TOKEN_INVALID);
    hdr_len = (apr_size_t)(dot1 - token);
    known = ks && clerk_jws_header_memo_get(ks->header_memo, p, token, hdr_len, &h);

    /* every segment decodes before the header's rules are applied */
    if ((!known && clerk_b64url_decode(p, token, hdr_len, &hdr, &hdr_text_len))
        || clerk_b64url_decode(p, dot1 + 1, (apr_size_t)(dot2 - dot1 - 1), &payload, &payload_len)
        || clerk_b64url_decode(p, dot2 + 1, (apr_size_t)(token + len - dot2 - 1), &sig, &sig_len))
        return fail(detail, "segment is not canonical unpadded base64url", CLERK_TOKEN_INVALID);
    /* a header that is not JSON ends here; one that breaks a rule, after alg and sig */
    if (!known && (r = parse_header(p, hdr, hdr_text_len, &h, detail)) != CLERK_OK && !h.alg)
        return r;
    if (clerk_rs_alg_from_name(h.alg) < 0)
        return fail(detail, "alg is not RS256, RS384 or RS512", CLERK_TOKEN_INVALID_ALGORITHM);
    /*
     * After alg: an unsigned "alg":"none" JWS ends in "." and Clerk reports
     * its alg (an empty segment decodes); with an RS alg it is malformed.
     */
    if (sig_len == 0)
        return fail(detail, "empty signature segment", CLERK_TOKEN_INVALID);
    if (r != CLERK_OK)
        return r;

    jws = apr_pcalloc(p, sizeof(*jws));
    jws->alg = h.alg;
    jws->kid = h.kid;
    jws->typ = h.typ;
    jws->cat = h.cat;
    jws->has_cat = h.has_cat;
    jws->signing_input = token;
    jws->signing_input_len = (apr_size_t)(dot2 - token);
    jws->header_len = hdr_len;
    jws->header_known = known;
    jws->payload = payload;
    jws->payload_len = payload_len;
    jws->sig = sig;
    jws->sig_len = sig_len;
    *out = jws;
    *detail = NULL;
    return CLERK_OK;
}

clerk_reason_t clerk_jws_parse(apr_pool_t *p, const char *token, apr_size_t len,
                               apr_size_t max_len, clerk_jws_t **out,
                               const char **detail)
{
    return clerk_jws_parse_for(p, token, len, max_len, NULL, out, detail);
}

int clerk_rsa_verify(const clerk_key_t *key, const char *alg,
                     const unsigned char *msg, apr_size_t msg_len,
                     const unsigned char *sig, apr_size_t sig_len)
{
    int i = clerk_rs_alg_from_name(alg);

    if (i < 0 || !key->verifiers[i] || sig_len != (apr_size_t)EVP_PKEY_get_size(key->pkey))
        return 0;
    return clerk_rsa_verifier_check(key->verifiers[i], msg, msg_len, sig, sig_len);
}

clerk_reason_t clerk_jws_verify(const clerk_jws_t *jws, const clerk_keyset_t *ks,
                                const char **detail)
{
    const clerk_key_t *key;

    if (clerk_keyset_select(ks, jws->kid, &key) != CLERK_OK)
        return fail(detail, jws->kid ? "no key with the token's kid"
                                     : "token has no kid and the key set has several keys",
                    CLERK_JWK_KID_MISMATCH);
    if (key->alg && strcmp(key->alg, jws->alg))
        return fail(detail, "token alg differs from the key's alg",
                    CLERK_TOKEN_INVALID_ALGORITHM);
    if (!clerk_rsa_verify(key, jws->alg, (const unsigned char *)jws->signing_input,
                          jws->signing_input_len, jws->sig, jws->sig_len))
        return fail(detail, "signature does not verify", CLERK_TOKEN_INVALID_SIGNATURE);
    if (!jws->header_known)     /* a header from the memo is there already */
        clerk_jws_header_memo_put(ks->header_memo, jws->signing_input, jws->header_len,
                                  &(clerk_jws_header_t){jws->alg, jws->kid, jws->typ, jws->cat,
                                                        jws->has_cat});
    *detail = NULL;
    return CLERK_OK;
}

char *clerk_jws_sign(apr_pool_t *p, EVP_PKEY *priv, const char *alg,
                     const char *header_json, const char *payload_json)
{
    int i = clerk_rs_alg_from_name(alg);
    char *input, *out = NULL;
    unsigned char *sig;
    size_t sig_len = 0;
    EVP_MD_CTX *ctx;

    if (i < 0)
        return NULL;
    input = apr_pstrcat(p,
        clerk_b64url_encode(p, (const unsigned char *)header_json, strlen(header_json)), ".",
        clerk_b64url_encode(p, (const unsigned char *)payload_json, strlen(payload_json)), NULL);
    if (!(ctx = EVP_MD_CTX_new()))
        return NULL;
    if (EVP_DigestSignInit_ex(ctx, NULL, clerk_rs_alg_digest(i), NULL, NULL, priv, NULL) == 1
        && EVP_DigestSign(ctx, NULL, &sig_len, (unsigned char *)input, strlen(input)) == 1) {
        sig = apr_palloc(p, sig_len);
        if (EVP_DigestSign(ctx, sig, &sig_len, (unsigned char *)input, strlen(input)) == 1)
            out = apr_pstrcat(p, input, ".", clerk_b64url_encode(p, sig, sig_len), NULL);
    }
    EVP_MD_CTX_free(ctx);
    return out;
}
