/* JWS compact serialisation: structure, header rules, algorithm binding, signatures. */
#include "unit.h"

#include <openssl/hmac.h>

#define HDR256 "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"" UNIT_KID "\"}"
#define PAYLOAD "{\"sub\":\"user_1\",\"exp\":1700000060,\"iat\":1700000000}"

static clerk_reason_t parse(apr_pool_t *p, const char *token, clerk_jws_t **jws, const char **detail)
{
    *jws = NULL;
    *detail = NULL;
    return clerk_jws_parse(p, token, strlen(token), CLERK_TOKEN_MAX_LEN, jws, detail);
}

/* parse, and on success verify against ks */
static clerk_reason_t parse_verify(apr_pool_t *p, const char *token, const clerk_keyset_t *ks)
{
    clerk_jws_t *jws;
    const char *detail;
    clerk_reason_t r = parse(p, token, &jws, &detail);
    if (r != CLERK_OK) {
        assert_non_null(detail);
        assert_null(jws);
        return r;
    }
    r = clerk_jws_verify(jws, ks, &detail);
    if (r == CLERK_OK)
        assert_null(detail);
    else
        assert_non_null(detail);
    return r;
}

static void expect_parse(apr_pool_t *p, const char *token, clerk_reason_t want)
{
    clerk_jws_t *jws;
    const char *detail;
    clerk_reason_t r = parse(p, token, &jws, &detail);
    if (r != want)
        fail_msg("token %.80s: expected %s, got %s (%s)", token, clerk_reason_str(want),
                 clerk_reason_str(r), detail ? detail : "no detail");
    if (want != CLERK_OK) {
        assert_null(jws);
        assert_non_null(detail);
    }
}

/* A token with this header, signed with the fixture key (alg from the header if RS*). */
static char *mint(apr_pool_t *p, const char *alg, const char *header, const char *payload)
{
    return unit_sign(p, unit_fixture_private_key(p), alg, header, payload);
}

static char *hdr(apr_pool_t *p, const char *members)
{
    return apr_pstrcat(p, "{\"alg\":\"RS256\",\"kid\":\"" UNIT_KID "\"", members, "}", NULL);
}

/* The fixture key as a JWKS entry without "alg" (one key: tokens without a kid select it too). */
static clerk_keyset_t *any_alg_keyset(apr_pool_t *p)
{
    json_t *jwk = unit_load_json(p, UNIT_VEC_CLERK "keys/ins_2GIoQhbUpy0hX7B2cVkuTMinXoD.public.jwk.json");
    const char *doc = apr_psprintf(p, "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"%s\",\"n\":\"%s\",\"e\":\"AQAB\"}]}",
                                   UNIT_KID, clerk_json_string(jwk, "n"));
    clerk_keyset_t *ks = NULL;
    const char *err;
    if (clerk_keyset_from_jwks(p, doc, strlen(doc), &ks, &err) != APR_SUCCESS)
        fail_msg("%s", err);
    return ks;
}

/* ------------------------------------------------------------ happy path */

static void test_mint_parse_verify(void **state)
{
    static const char *const algs[] = {"RS256", "RS384", "RS512"};
    clerk_keyset_t *pemks = unit_pem_keyset(UNIT_POOL, UNIT_PUB_PEM);
    clerk_keyset_t *jwks = unit_jwks_keyset(UNIT_POOL, UNIT_JWKS);

    for (size_t i = 0; i < 3; i++) {
        const char *h = apr_psprintf(UNIT_POOL, "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\",\"cat\":\"cl_B7d4PD111AAA\"}",
                                     algs[i], UNIT_KID);
        char *token = mint(UNIT_POOL, algs[i], h, PAYLOAD);
        clerk_jws_t *jws;
        const char *detail;

        assert_int_equal(parse(UNIT_POOL, token, &jws, &detail), CLERK_OK);
        assert_null(detail);
        unit_assert_str(jws->alg, algs[i]);
        unit_assert_str(jws->kid, UNIT_KID);
        unit_assert_str(jws->typ, "JWT");
        unit_assert_str(jws->cat, "cl_B7d4PD111AAA");
        assert_int_equal(jws->payload_len, strlen(PAYLOAD));
        assert_memory_equal(jws->payload, PAYLOAD, jws->payload_len);
        assert_int_equal(jws->payload[jws->payload_len], '\0');
        assert_int_equal(jws->sig_len, 256);
        assert_ptr_equal(jws->signing_input, token);
        assert_int_equal(jws->signing_input_len, (apr_size_t)(strrchr(token, '.') - token));
        assert_int_equal(jws->header_len, (apr_size_t)(strchr(token, '.') - token));

        /* A PEM key is bound to RS256, as in Clerk's SDK. */
        unit_assert_reason(clerk_jws_verify(jws, pemks, &detail),
                           i == 0 ? CLERK_OK : CLERK_TOKEN_INVALID_ALGORITHM);
        /* The fixture JWK says RS256: it verifies RS256 only. */
        unit_assert_reason(clerk_jws_verify(jws, jwks, &detail),
                           i == 0 ? CLERK_OK : CLERK_TOKEN_INVALID_ALGORITHM);
        /* A JWK without alg verifies all three. */
        unit_assert_reason(clerk_jws_verify(jws, any_alg_keyset(UNIT_POOL), &detail), CLERK_OK);
    }
}

static void test_header_bytes_are_signed_as_received(void **state)
{
    /* Whitespace and member order in the header are signed as they are. */
    clerk_keyset_t *ks = unit_pem_keyset(UNIT_POOL, UNIT_PUB_PEM);
    char *token = mint(UNIT_POOL, "RS256", "{ \"typ\" : \"JWT\",\n \"alg\" : \"RS256\" }", "not json at all");
    clerk_jws_t *jws;
    const char *detail;

    unit_assert_reason(parse(UNIT_POOL, token, &jws, &detail), CLERK_OK);
    assert_null(jws->kid);
    assert_null(jws->cat);
    assert_int_equal(jws->payload_len, 15);
    unit_assert_reason(clerk_jws_verify(jws, ks, &detail), CLERK_OK);
}

/* ------------------------------------------------------------ structure */

static void test_segment_counts(void **state)
{
    char *token = mint(UNIT_POOL, "RS256", HDR256, PAYLOAD);
    char *h, *pl, *s;
    unit_split3(UNIT_POOL, token, &h, &pl, &s);

    expect_parse(UNIT_POOL, token, CLERK_OK);
    /* the structural check names the problem (not the base64 of a segment with a '.') */
    {
        const char *shapes[] = {
            h, apr_pstrcat(UNIT_POOL, h, ".", pl, NULL),
            apr_pstrcat(UNIT_POOL, h, ".", pl, ".", s, ".", s, NULL),
            apr_pstrcat(UNIT_POOL, h, ".", pl, ".", s, ".", s, ".", s, NULL),
            apr_pstrcat(UNIT_POOL, token, ".", NULL),
        };
        for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
            clerk_jws_t *jws;
            const char *detail;
            unit_assert_reason(parse(UNIT_POOL, shapes[i], &jws, &detail), CLERK_TOKEN_INVALID);
            unit_assert_str(detail, "not three dot-separated segments");
        }
    }
    expect_parse(UNIT_POOL, h, CLERK_TOKEN_INVALID);
    expect_parse(UNIT_POOL, apr_pstrcat(UNIT_POOL, h, ".", pl, NULL), CLERK_TOKEN_INVALID);
    expect_parse(UNIT_POOL, apr_pstrcat(UNIT_POOL, h, ".", pl, ".", s, ".", s, NULL), CLERK_TOKEN_INVALID);
    expect_parse(UNIT_POOL, apr_pstrcat(UNIT_POOL, h, ".", pl, ".", s, ".", s, ".", s, NULL), CLERK_TOKEN_INVALID);
    /* a JWE-shaped token: five segments with an encryption header */
    expect_parse(UNIT_POOL, apr_pstrcat(UNIT_POOL, unit_b64url_str(UNIT_POOL, "{\"alg\":\"RSA-OAEP\",\"enc\":\"A256GCM\"}"),
                                        ".", s, ".AAAA.", pl, ".AAAA", NULL), CLERK_TOKEN_INVALID);
    /* trailing and leading dots */
    expect_parse(UNIT_POOL, apr_pstrcat(UNIT_POOL, token, ".", NULL), CLERK_TOKEN_INVALID);
    expect_parse(UNIT_POOL, apr_pstrcat(UNIT_POOL, ".", token, NULL), CLERK_TOKEN_INVALID);
    expect_parse(UNIT_POOL, "..", CLERK_TOKEN_INVALID);
    expect_parse(UNIT_POOL, ".", CLERK_TOKEN_INVALID);
    expect_parse(UNIT_POOL, "...", CLERK_TOKEN_INVALID);
    expect_parse(UNIT_POOL, "abc", CLERK_TOKEN_INVALID);
}

static void test_empty_segments(void **state)
{
    char *token = mint(UNIT_POOL, "RS256", HDR256, PAYLOAD);
    char *h, *pl, *s;
    clerk_jws_t *jws;
    const char *detail;
    unit_split3(UNIT_POOL, token, &h, &pl, &s);

    expect_parse(UNIT_POOL, apr_pstrcat(UNIT_POOL, ".", pl, ".", s, NULL), CLERK_TOKEN_INVALID);
    expect_parse(UNIT_POOL, apr_pstrcat(UNIT_POOL, h, ".", pl, ".", NULL), CLERK_TOKEN_INVALID);
    expect_parse(UNIT_POOL, apr_pstrcat(UNIT_POOL, ".", pl, ".", NULL), CLERK_TOKEN_INVALID);
    /* An empty payload is a valid JWS; it cannot carry a signature of ours. */
    unit_assert_reason(parse(UNIT_POOL, apr_pstrcat(UNIT_POOL, h, "..", s, NULL), &jws, &detail), CLERK_OK);
    assert_int_equal(jws->payload_len, 0);
    unit_assert_reason(clerk_jws_verify(jws, unit_pem_keyset(UNIT_POOL, UNIT_PUB_PEM), &detail),
                       CLERK_TOKEN_INVALID_SIGNATURE);
    /* the empty string */
    {
        clerk_jws_t *j = NULL;
        const char *d = NULL;
        unit_assert_reason(clerk_jws_parse(UNIT_POOL, "", 0, CLERK_TOKEN_MAX_LEN, &j, &d), CLERK_TOKEN_INVALID);
        assert_non_null(d);
    }
}

static void test_non_canonical_segments(void **state)
{
    char *token = mint(UNIT_POOL, "RS256", HDR256, PAYLOAD);
    char *h, *pl, *s;
    unit_split3(UNIT_POOL, token, &h, &pl, &s);

    /* padding on any segment (256-byte signature: 342 chars, rest 2) */
    assert_int_equal(strlen(s) % 4, 2);
    expect_parse(UNIT_POOL, apr_pstrcat(UNIT_POOL, h, ".", pl, ".", s, "==", NULL), CLERK_TOKEN_INVALID);
    expect_parse(UNIT_POOL, apr_pstrcat(UNIT_POOL, h, "=.", pl, ".", s, NULL), CLERK_TOKEN_INVALID);
    /* whitespace */
    expect_parse(UNIT_POOL, apr_pstrcat(UNIT_POOL, h, ".", pl, ".", s, " ", NULL), CLERK_TOKEN_INVALID);
    expect_parse(UNIT_POOL, apr_pstrcat(UNIT_POOL, h, ".", pl, "\n.", s, NULL), CLERK_TOKEN_INVALID);
    /* standard alphabet */
    {
        char *s2 = apr_pstrdup(UNIT_POOL, s), *c;
        for (c = s2; *c; c++) {
            if (*c == '-')
                *c = '+';
            else if (*c == '_')
                *c = '/';
        }
        if (strcmp(s2, s))
            expect_parse(UNIT_POOL, apr_pstrcat(UNIT_POOL, h, ".", pl, ".", s2, NULL), CLERK_TOKEN_INVALID);
    }
    /* a segment of length 1 mod 4 */
    {
        const char *pad[] = {"A", "", "AAA", "AA"};   /* to add to a length of rest 0, 1, 2, 3 */
        char *s1 = apr_pstrcat(UNIT_POOL, s, pad[strlen(s) % 4], NULL);
        char *p1 = apr_pstrcat(UNIT_POOL, pl, pad[strlen(pl) % 4], NULL);
        char *h1 = apr_pstrcat(UNIT_POOL, h, pad[strlen(h) % 4], NULL);
        assert_int_equal(strlen(s1) % 4, 1);
        assert_int_equal(strlen(p1) % 4, 1);
        assert_int_equal(strlen(h1) % 4, 1);
        expect_parse(UNIT_POOL, apr_pstrcat(UNIT_POOL, h, ".", pl, ".", s1, NULL), CLERK_TOKEN_INVALID);
        expect_parse(UNIT_POOL, apr_pstrcat(UNIT_POOL, h, ".", p1, ".", s, NULL), CLERK_TOKEN_INVALID);
        expect_parse(UNIT_POOL, apr_pstrcat(UNIT_POOL, h1, ".", pl, ".", s, NULL), CLERK_TOKEN_INVALID);
    }
}

static void test_max_len(void **state)
{
    char *token = mint(UNIT_POOL, "RS256", HDR256, PAYLOAD);
    apr_size_t len = strlen(token);
    clerk_jws_t *jws;
    const char *detail;

    unit_assert_reason(clerk_jws_parse(UNIT_POOL, token, len, len, &jws, &detail), CLERK_OK);
    unit_assert_reason(clerk_jws_parse(UNIT_POOL, token, len, len - 1, &jws, &detail), CLERK_TOKEN_INVALID);
    assert_non_null(strstr(detail, "size limit"));
    /* the length given is what counts, not the NUL */
    unit_assert_reason(clerk_jws_parse(UNIT_POOL, token, len - 1, len, &jws, &detail), CLERK_TOKEN_INVALID);
}

/* ------------------------------------------------------------ header */

static void test_header_not_an_object(void **state)
{
    static const char *const headers[] = {
        "not json", "[\"RS256\"]", "\"RS256\"", "123", "null", "",
        "{\"alg\":\"RS256\"", "{\"alg\":\"RS256\",\"alg\":\"RS256\"}",
        "{\"alg\":\"RS256\",\"alg\":\"none\"}", "{\"alg\":\"RS256\",\"kid\":\"a\\u0000b\"}",
        "{\"alg\":\"RS256\",\"kid\":\"\xff\"}",
        "{\"alg\":\"RS256\",\"x\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}",
    };
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        /* sign it properly: only the header is at fault */
        char *token = clerk_jws_sign(UNIT_POOL, unit_fixture_private_key(UNIT_POOL), "RS256",
                                     headers[i], PAYLOAD);
        assert_non_null(token);
        if (!*headers[i])
            continue;   /* an empty header segment: covered in test_empty_segments */
        expect_parse(UNIT_POOL, token, CLERK_TOKEN_INVALID);
    }
}

static void test_alg_not_allowed(void **state)
{
    static const char *const headers[] = {
        "{\"alg\":\"none\"}", "{\"alg\":\"None\"}", "{\"alg\":\"NONE\"}", "{\"alg\":\"nOnE\"}",
        "{\"typ\":\"JWT\"}", "{\"alg\":\"\"}", "{\"alg\":256}", "{\"alg\":null}", "{\"alg\":true}",
        "{\"alg\":[\"RS256\"]}", "{\"alg\":{\"name\":\"RS256\"}}", "{\"alg\":\"HS256\"}",
        "{\"alg\":\"HS384\"}", "{\"alg\":\"HS512\"}", "{\"alg\":\"ES256\"}", "{\"alg\":\"ES384\"}",
        "{\"alg\":\"ES512\"}", "{\"alg\":\"PS256\"}", "{\"alg\":\"PS384\"}", "{\"alg\":\"PS512\"}",
        "{\"alg\":\"EdDSA\"}", "{\"alg\":\"rs256\"}", "{\"alg\":\"RS256 \"}", "{\"alg\":\" RS256\"}",
        "{\"alg\":\"RS1\"}", "{\"alg\":\"RS\"}", "{\"alg\":\"RSA-OAEP\"}", "{\"alg\":\"RS2560\"}",
    };
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        /* the signature is a real RS256 signature over these bytes */
        char *token = mint(UNIT_POOL, "RS256", headers[i], PAYLOAD);
        expect_parse(UNIT_POOL, token, CLERK_TOKEN_INVALID_ALGORITHM);
        /* and with a signature that is no RSA signature at all */
        expect_parse(UNIT_POOL, unit_raw_token(UNIT_POOL, headers[i], PAYLOAD, "AAAA"),
                     CLERK_TOKEN_INVALID_ALGORITHM);
    }
    /*
     * With an empty signature segment too, as an unsigned "alg":"none" JWS is
     * written: Clerk decodes the empty segment and names the alg; so do we.
     */
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++)
        expect_parse(UNIT_POOL, apr_pstrcat(UNIT_POOL, unit_b64url_str(UNIT_POOL, headers[i]), ".",
                                            unit_b64url_str(UNIT_POOL, PAYLOAD), ".", NULL),
                     CLERK_TOKEN_INVALID_ALGORITHM);
}

static void test_crit_b64_zip_refused(void **state)
{
    static const char *const members[] = {
        ",\"crit\":[\"exp\"]", ",\"crit\":[]", ",\"crit\":null", ",\"crit\":[\"b64\"],\"b64\":false",
        ",\"b64\":false", ",\"b64\":true", ",\"zip\":\"DEF\"", ",\"zip\":null",
    };
    clerk_keyset_t *ks = unit_pem_keyset(UNIT_POOL, UNIT_PUB_PEM);
    for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
        /* correctly signed: nothing but the member is wrong */
        char *token = mint(UNIT_POOL, "RS256", hdr(UNIT_POOL, members[i]), PAYLOAD);
        if (parse_verify(UNIT_POOL, token, ks) != CLERK_TOKEN_INVALID)
            fail_msg("header member %s was not refused", members[i]);
    }
}

static void test_untrusted_header_members_ignored(void **state)
{
    /*
     * jku, x5u, jwk and x5c are never consulted: a token signed with another
     * key that names that key in its header still fails against ours.
     */
    EVP_PKEY *attacker = unit_load_private_key(UNIT_POOL, UNIT_VEC_CLERK "keys/integration-a.private.pem");
    clerk_keyset_t *ours = unit_pem_keyset(UNIT_POOL, UNIT_PUB_PEM);
    clerk_keyset_t *jwks = unit_jwks_keyset(UNIT_POOL, UNIT_JWKS);
    clerk_keyset_t *theirs = unit_jwks_keyset(UNIT_POOL, UNIT_VEC_CLERK "jwks_integration_a.json");
    char *their_jwk = unit_dump(UNIT_POOL, json_array_get(
        json_object_get(unit_load_json(UNIT_POOL, UNIT_VEC_CLERK "jwks_integration_a.json"), "keys"), 0));
    const char *headers[] = {
        apr_psprintf(UNIT_POOL, "{\"alg\":\"RS256\",\"kid\":\"%s\",\"jwk\":%s}", UNIT_KID, their_jwk),
        apr_psprintf(UNIT_POOL, "{\"alg\":\"RS256\",\"kid\":\"%s\",\"jku\":\"https://evil.example/jwks.json\"}", UNIT_KID),
        apr_psprintf(UNIT_POOL, "{\"alg\":\"RS256\",\"kid\":\"%s\",\"x5u\":\"https://evil.example/cert.pem\"}", UNIT_KID),
        apr_psprintf(UNIT_POOL, "{\"alg\":\"RS256\",\"kid\":\"%s\",\"x5c\":[\"MIIB\"]}", UNIT_KID),
        apr_psprintf(UNIT_POOL, "{\"alg\":\"RS256\",\"jwk\":%s}", their_jwk),
    };
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        char *forged = unit_sign(UNIT_POOL, attacker, "RS256", headers[i], PAYLOAD);
        char *genuine = mint(UNIT_POOL, "RS256", headers[i], PAYLOAD);
        unit_assert_reason(parse_verify(UNIT_POOL, forged, ours), CLERK_TOKEN_INVALID_SIGNATURE);
        unit_assert_reason(parse_verify(UNIT_POOL, genuine, ours), CLERK_OK);
        if (i < 4) {    /* the headers naming our kid */
            unit_assert_reason(parse_verify(UNIT_POOL, forged, jwks), CLERK_TOKEN_INVALID_SIGNATURE);
            unit_assert_reason(parse_verify(UNIT_POOL, forged, theirs), CLERK_JWK_KID_MISMATCH);
        }
        else
            unit_assert_reason(parse_verify(UNIT_POOL, forged, jwks), CLERK_TOKEN_INVALID_SIGNATURE);
    }
}

static void test_kid_typ_cat_types(void **state)
{
    static const char *const bad[] = {
        ",\"kid\":123", ",\"kid\":null", ",\"kid\":{}", ",\"kid\":[]", ",\"kid\":true", ",\"kid\":\"\"",
        ",\"typ\":1", ",\"typ\":null", ",\"typ\":[\"JWT\"]",
    };
    /* cat is judged by clerk_verify, by token type: any JSON value parses */
    static const char *const cats[] = {",\"cat\":[]", ",\"cat\":7", ",\"cat\":null", ",\"cat\":{}"};
    char kid256[257], kid257[258];
    char *big = apr_palloc(UNIT_POOL, 10241);
    clerk_jws_t *jws;
    const char *detail;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *h = apr_pstrcat(UNIT_POOL, "{\"alg\":\"RS256\"", bad[i], "}", NULL);
        expect_parse(UNIT_POOL, mint(UNIT_POOL, "RS256", h, PAYLOAD), CLERK_TOKEN_INVALID);
    }
    for (size_t i = 0; i < sizeof(cats) / sizeof(cats[0]); i++) {
        char *h = apr_pstrcat(UNIT_POOL, "{\"alg\":\"RS256\"", cats[i], "}", NULL);
        unit_assert_reason(parse(UNIT_POOL, mint(UNIT_POOL, "RS256", h, PAYLOAD), &jws, &detail),
                           CLERK_OK);
        assert_true(jws->has_cat);
        assert_null(jws->cat);
    }
    unit_assert_reason(parse(UNIT_POOL, mint(UNIT_POOL, "RS256", "{\"alg\":\"RS256\",\"cat\":\"x\"}",
                                             PAYLOAD), &jws, &detail), CLERK_OK);
    assert_true(jws->has_cat);
    unit_assert_str(jws->cat, "x");
    unit_assert_reason(parse(UNIT_POOL, mint(UNIT_POOL, "RS256", "{\"alg\":\"RS256\"}", PAYLOAD),
                             &jws, &detail), CLERK_OK);
    assert_false(jws->has_cat);
    assert_null(jws->cat);
    memset(kid256, 'k', 256);
    kid256[256] = '\0';
    memset(kid257, 'k', 257);
    kid257[257] = '\0';
    memset(big, 'k', 10240);
    big[10240] = '\0';
    unit_assert_reason(parse(UNIT_POOL, mint(UNIT_POOL, "RS256",
                                             apr_psprintf(UNIT_POOL, "{\"alg\":\"RS256\",\"kid\":\"%s\"}", kid256),
                                             PAYLOAD), &jws, &detail), CLERK_OK);
    assert_int_equal(strlen(jws->kid), 256);
    expect_parse(UNIT_POOL, mint(UNIT_POOL, "RS256",
                                 apr_psprintf(UNIT_POOL, "{\"alg\":\"RS256\",\"kid\":\"%s\"}", kid257), PAYLOAD),
                 CLERK_TOKEN_INVALID);
    expect_parse(UNIT_POOL, mint(UNIT_POOL, "RS256",
                                 apr_psprintf(UNIT_POOL, "{\"alg\":\"RS256\",\"kid\":\"%s\"}", big), PAYLOAD),
                 CLERK_TOKEN_INVALID);
}

static void test_odd_kids_never_select_a_jwks_key(void **state)
{
    static const char *const kids[] = {
        "../../etc/passwd", "ins_2GIoQhbUpy0hX7B2cVkuTMinXoD\\r\\n", "line\\r\\nbreak",
        "ins_2GIoQhbUpy0hX7B2cVkuTMinXoD ", "INS_2GIOQHBUPY0HX7B2CVKUTMINXOD", "%s%s%n",
    };
    clerk_keyset_t *jwks = unit_jwks_keyset(UNIT_POOL, UNIT_JWKS);
    clerk_keyset_t *pemks = unit_pem_keyset(UNIT_POOL, UNIT_PUB_PEM);
    for (size_t i = 0; i < sizeof(kids) / sizeof(kids[0]); i++) {
        char *token = mint(UNIT_POOL, "RS256",
                           apr_psprintf(UNIT_POOL, "{\"alg\":\"RS256\",\"kid\":\"%s\"}", kids[i]), PAYLOAD);
        unit_assert_reason(parse_verify(UNIT_POOL, token, jwks), CLERK_JWK_KID_MISMATCH);
        /* a configured PEM ignores the kid, as Clerk's SDK does */
        unit_assert_reason(parse_verify(UNIT_POOL, token, pemks), CLERK_OK);
    }
}

/* ------------------------------------------------------------ algorithms and keys */

static char *hs_token(apr_pool_t *p, const EVP_MD *md, const char *alg,
                      const unsigned char *secret, apr_size_t secret_len)
{
    char *h = apr_psprintf(p, "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}", alg, UNIT_KID);
    char *input = apr_pstrcat(p, unit_b64url_str(p, h), ".", unit_b64url_str(p, PAYLOAD), NULL);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;

    assert_non_null(HMAC(md, secret, (int)secret_len, (const unsigned char *)input, strlen(input),
                         mac, &mac_len));
    return apr_pstrcat(p, input, ".", clerk_b64url_encode(p, mac, mac_len), NULL);
}

static void test_hs256_with_public_key_as_secret(void **state)
{
    /* The classic confusion attack: HMAC keyed with the RSA public key text. */
    apr_size_t pem_len;
    char *pem_text = unit_read_file(UNIT_POOL, UNIT_PUB_PEM, &pem_len);
    char *jwk_text = unit_read_file(UNIT_POOL, UNIT_VEC_CLERK "keys/ins_2GIoQhbUpy0hX7B2cVkuTMinXoD.public.jwk.json", NULL);
    clerk_keyset_t *pemks = unit_pem_keyset(UNIT_POOL, UNIT_PUB_PEM);
    clerk_keyset_t *jwks = unit_jwks_keyset(UNIT_POOL, UNIT_JWKS);
    unsigned char *der = NULL;
    int der_len;
    clerk_verify_opts_t opts;
    struct {
        const unsigned char *k;
        apr_size_t len;
    } secrets[5];

    {
        BIO *bio = BIO_new_mem_buf(pem_text, (int)pem_len);
        EVP_PKEY *pub = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
        assert_non_null(pub);
        der_len = i2d_PUBKEY(pub, &der);
        assert_true(der_len > 0);
        EVP_PKEY_free(pub);
        BIO_free(bio);
    }
    secrets[0].k = (const unsigned char *)pem_text;
    secrets[0].len = pem_len;                       /* with the trailing newline */
    secrets[1].k = (const unsigned char *)pem_text;
    secrets[1].len = pem_len - 1;                   /* without it */
    secrets[2].k = der;
    secrets[2].len = (apr_size_t)der_len;
    secrets[3].k = (const unsigned char *)jwk_text;
    secrets[3].len = strlen(jwk_text);
    secrets[4].k = (const unsigned char *)"";
    secrets[4].len = 0;
    clerk_verify_opts_init(&opts);

    for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
        static const char *const algs[] = {"HS256", "HS384", "HS512"};
        const EVP_MD *mds[] = {EVP_sha256(), EVP_sha384(), EVP_sha512()};
        for (size_t a = 0; a < 3; a++) {
            char *token = hs_token(UNIT_POOL, mds[a], algs[a], secrets[i].k, secrets[i].len);
            clerk_verify_result_t res;
            unit_assert_reason(parse_verify(UNIT_POOL, token, pemks), CLERK_TOKEN_INVALID_ALGORITHM);
            unit_assert_reason(parse_verify(UNIT_POOL, token, jwks), CLERK_TOKEN_INVALID_ALGORITHM);
            clerk_verify_token(UNIT_POOL, token, strlen(token), pemks, &opts, 1700000000, &res);
            unit_assert_reason(res.reason, CLERK_TOKEN_INVALID_ALGORITHM);
            assert_null(res.claims);
        }
    }
    OPENSSL_free(der);
}

static void test_key_alg_binding(void **state)
{
    static const char *const algs[] = {"RS256", "RS384", "RS512"};
    json_t *jwk = unit_load_json(UNIT_POOL, UNIT_VEC_CLERK "keys/ins_2GIoQhbUpy0hX7B2cVkuTMinXoD.public.jwk.json");
    const char *n = clerk_json_string(jwk, "n");

    for (size_t key_alg = 0; key_alg < 4; key_alg++) {
        clerk_keyset_t *ks;
        const char *err;
        const char *doc = key_alg < 3
            ? apr_psprintf(UNIT_POOL, "{\"keys\":[{\"kty\":\"RSA\",\"alg\":\"%s\",\"kid\":\"k\",\"n\":\"%s\",\"e\":\"AQAB\"}]}",
                           algs[key_alg], n)
            : apr_psprintf(UNIT_POOL, "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"k\",\"n\":\"%s\",\"e\":\"AQAB\"}]}", n);
        assert_int_equal(clerk_keyset_from_jwks(UNIT_POOL, doc, strlen(doc), &ks, &err), APR_SUCCESS);
        for (size_t t = 0; t < 3; t++) {
            char *token = mint(UNIT_POOL, algs[t],
                               apr_psprintf(UNIT_POOL, "{\"alg\":\"%s\",\"kid\":\"k\"}", algs[t]), PAYLOAD);
            clerk_reason_t want = (key_alg == 3 || key_alg == t) ? CLERK_OK : CLERK_TOKEN_INVALID_ALGORITHM;
            clerk_reason_t got = parse_verify(UNIT_POOL, token, ks);
            if (got != want)
                fail_msg("key alg %s, token alg %s: expected %s, got %s",
                         key_alg < 3 ? algs[key_alg] : "(none)", algs[t], clerk_reason_str(want),
                         clerk_reason_str(got));
        }
    }
}

static void test_header_alg_cannot_be_swapped(void **state)
{
    /* An RS512 signature presented as RS256 (header rewritten) fails. */
    clerk_keyset_t *ks = unit_pem_keyset(UNIT_POOL, UNIT_PUB_PEM);
    char *t512 = mint(UNIT_POOL, "RS512", "{\"alg\":\"RS256\"}", PAYLOAD);
    char *t256 = mint(UNIT_POOL, "RS256", "{\"alg\":\"RS512\"}", PAYLOAD);
    unit_assert_reason(parse_verify(UNIT_POOL, t512, ks), CLERK_TOKEN_INVALID_SIGNATURE);
    /* RS512 is not even tried with a PEM key (bound to RS256). */
    unit_assert_reason(parse_verify(UNIT_POOL, t256, ks), CLERK_TOKEN_INVALID_ALGORITHM);
    /* with a key that allows every alg, both swaps fail at the signature */
    ks = any_alg_keyset(UNIT_POOL);
    unit_assert_reason(parse_verify(UNIT_POOL, t512, ks), CLERK_TOKEN_INVALID_SIGNATURE);
    unit_assert_reason(parse_verify(UNIT_POOL, t256, ks), CLERK_TOKEN_INVALID_SIGNATURE);
}

static char *with_sig(apr_pool_t *p, const char *token, const unsigned char *sig, apr_size_t len)
{
    char *h, *pl, *s;
    unit_split3(p, token, &h, &pl, &s);
    return apr_pstrcat(p, h, ".", pl, ".", clerk_b64url_encode(p, sig, len), NULL);
}

static void test_signature_length_must_equal_modulus(void **state)
{
    clerk_keyset_t *ks = unit_pem_keyset(UNIT_POOL, UNIT_PUB_PEM);
    EVP_PKEY *priv = unit_fixture_private_key(UNIT_POOL);
    char *token = NULL, *h, *pl, *s;
    unsigned char *sig, *longer;
    apr_size_t sig_len;
    int i;

    /* Find a (deterministic) signature whose first byte is zero. */
    for (i = 0; i < 5000; i++) {
        token = unit_sign(UNIT_POOL, priv, "RS256", HDR256,
                          apr_psprintf(UNIT_POOL, "{\"sub\":\"user_1\",\"exp\":1700000060,\"n\":%d}", i));
        unit_split3(UNIT_POOL, token, &h, &pl, &s);
        assert_int_equal(clerk_b64url_decode(UNIT_POOL, s, strlen(s), &sig, &sig_len), APR_SUCCESS);
        assert_int_equal(sig_len, 256);
        if (sig[0] == 0)
            break;
    }
    assert_true(i < 5000);
    unit_assert_reason(parse_verify(UNIT_POOL, token, ks), CLERK_OK);
    /* the same number without its leading zero byte: 255 bytes */
    unit_assert_reason(parse_verify(UNIT_POOL, with_sig(UNIT_POOL, token, sig + 1, 255), ks),
                       CLERK_TOKEN_INVALID_SIGNATURE);
    assert_false(clerk_rsa_verify(APR_ARRAY_IDX(ks->keys, 0, clerk_key_t *), "RS256",
                                  (const unsigned char *)token, (apr_size_t)(strrchr(token, '.') - token),
                                  sig + 1, 255));
    /* with an extra leading zero byte: 257 bytes */
    longer = apr_pcalloc(UNIT_POOL, 257);
    memcpy(longer + 1, sig, 256);
    unit_assert_reason(parse_verify(UNIT_POOL, with_sig(UNIT_POOL, token, longer, 257), ks),
                       CLERK_TOKEN_INVALID_SIGNATURE);
    /* truncated, one byte, oversized */
    unit_assert_reason(parse_verify(UNIT_POOL, with_sig(UNIT_POOL, token, sig, 255), ks),
                       CLERK_TOKEN_INVALID_SIGNATURE);
    unit_assert_reason(parse_verify(UNIT_POOL, with_sig(UNIT_POOL, token, sig, 1), ks),
                       CLERK_TOKEN_INVALID_SIGNATURE);
    {
        unsigned char *huge = apr_pcalloc(UNIT_POOL, 512);
        memcpy(huge + 256, sig, 256);
        unit_assert_reason(parse_verify(UNIT_POOL, with_sig(UNIT_POOL, token, huge, 512), ks),
                           CLERK_TOKEN_INVALID_SIGNATURE);
    }
}

static void test_tampering(void **state)
{
    clerk_keyset_t *ks = unit_pem_keyset(UNIT_POOL, UNIT_PUB_PEM);
    char *token = mint(UNIT_POOL, "RS256", HDR256, PAYLOAD);
    char *other = mint(UNIT_POOL, "RS256", HDR256, "{\"sub\":\"user_2\",\"exp\":1700000060,\"iat\":1700000000}");
    char *h, *pl, *s, *oh, *opl, *os;
    unsigned char *sig;
    apr_size_t sig_len;

    unit_split3(UNIT_POOL, token, &h, &pl, &s);
    unit_split3(UNIT_POOL, other, &oh, &opl, &os);
    unit_assert_reason(parse_verify(UNIT_POOL, token, ks), CLERK_OK);
    /* header changed */
    unit_assert_reason(parse_verify(UNIT_POOL, apr_pstrcat(UNIT_POOL,
        unit_b64url_str(UNIT_POOL, "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"" UNIT_KID "\",\"x\":1}"),
        ".", pl, ".", s, NULL), ks), CLERK_TOKEN_INVALID_SIGNATURE);
    /* payload changed: user_1 -> user_2, and payload from another token */
    unit_assert_reason(parse_verify(UNIT_POOL, apr_pstrcat(UNIT_POOL, h, ".",
        unit_b64url_str(UNIT_POOL, "{\"sub\":\"user_2\",\"exp\":1700000060,\"iat\":1700000000}"), ".", s, NULL), ks),
        CLERK_TOKEN_INVALID_SIGNATURE);
    unit_assert_reason(parse_verify(UNIT_POOL, apr_pstrcat(UNIT_POOL, h, ".", opl, ".", s, NULL), ks),
                       CLERK_TOKEN_INVALID_SIGNATURE);
    /* signature taken from another valid token */
    unit_assert_reason(parse_verify(UNIT_POOL, apr_pstrcat(UNIT_POOL, h, ".", pl, ".", os, NULL), ks),
                       CLERK_TOKEN_INVALID_SIGNATURE);
    /* every single bit of the signature matters (sampled) */
    assert_int_equal(clerk_b64url_decode(UNIT_POOL, s, strlen(s), &sig, &sig_len), APR_SUCCESS);
    for (apr_size_t bit = 0; bit < sig_len * 8; bit += 97) {
        unsigned char *copy = apr_pmemdup(UNIT_POOL, sig, sig_len);
        copy[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        unit_assert_reason(parse_verify(UNIT_POOL, with_sig(UNIT_POOL, token, copy, sig_len), ks),
                           CLERK_TOKEN_INVALID_SIGNATURE);
    }
    /* another instance's key */
    unit_assert_reason(parse_verify(UNIT_POOL, token,
                                    unit_pem_keyset(UNIT_POOL, UNIT_VEC_CLERK "keys/some-other.public.pem")),
                       CLERK_TOKEN_INVALID_SIGNATURE);
}

static void test_verify_kid_selection(void **state)
{
    clerk_keyset_t *all = unit_jwks_keyset(UNIT_POOL, UNIT_VEC_CLERK "jwks_all.json");
    clerk_keyset_t *one = unit_jwks_keyset(UNIT_POOL, UNIT_JWKS);
    char *with_kid = mint(UNIT_POOL, "RS256", HDR256, PAYLOAD);
    char *no_kid = mint(UNIT_POOL, "RS256", "{\"alg\":\"RS256\",\"typ\":\"JWT\"}", PAYLOAD);
    char *unknown = mint(UNIT_POOL, "RS256", "{\"alg\":\"RS256\",\"kid\":\"ins_unknown\"}", PAYLOAD);
    char *other_kid = mint(UNIT_POOL, "RS256", "{\"alg\":\"RS256\",\"kid\":\"integration-a\"}", PAYLOAD);

    unit_assert_reason(parse_verify(UNIT_POOL, with_kid, all), CLERK_OK);
    unit_assert_reason(parse_verify(UNIT_POOL, no_kid, all), CLERK_JWK_KID_MISMATCH);
    unit_assert_reason(parse_verify(UNIT_POOL, unknown, all), CLERK_JWK_KID_MISMATCH);
    /* right key material, wrong kid: integration-a's key does not verify it */
    unit_assert_reason(parse_verify(UNIT_POOL, other_kid, all), CLERK_TOKEN_INVALID_SIGNATURE);
    unit_assert_reason(parse_verify(UNIT_POOL, no_kid, one), CLERK_OK);
    unit_assert_reason(parse_verify(UNIT_POOL, unknown, one), CLERK_JWK_KID_MISMATCH);
}

static void test_sign_and_rsa_verify_edges(void **state)
{
    EVP_PKEY *priv = unit_fixture_private_key(UNIT_POOL);
    clerk_keyset_t *ks = unit_pem_keyset(UNIT_POOL, UNIT_PUB_PEM);
    const clerk_key_t *k = APR_ARRAY_IDX(ks->keys, 0, clerk_key_t *);
    char *token = mint(UNIT_POOL, "RS256", HDR256, PAYLOAD), *h, *pl, *s;
    unsigned char *sig;
    apr_size_t sig_len, in_len = (apr_size_t)(strrchr(token, '.') - token);

    assert_null(clerk_jws_sign(UNIT_POOL, priv, "HS256", "{}", "{}"));
    assert_null(clerk_jws_sign(UNIT_POOL, priv, "none", "{}", "{}"));
    assert_null(clerk_jws_sign(UNIT_POOL, priv, "PS256", "{}", "{}"));
    assert_null(clerk_jws_sign(UNIT_POOL, priv, NULL, "{}", "{}"));

    unit_split3(UNIT_POOL, token, &h, &pl, &s);
    assert_int_equal(clerk_b64url_decode(UNIT_POOL, s, strlen(s), &sig, &sig_len), APR_SUCCESS);
    assert_true(clerk_rsa_verify(k, "RS256", (const unsigned char *)token, in_len, sig, sig_len));
    assert_false(clerk_rsa_verify(k, "RS384", (const unsigned char *)token, in_len, sig, sig_len));
    assert_false(clerk_rsa_verify(k, "PS256", (const unsigned char *)token, in_len, sig, sig_len));
    assert_false(clerk_rsa_verify(k, "HS256", (const unsigned char *)token, in_len, sig, sig_len));
    assert_false(clerk_rsa_verify(k, NULL, (const unsigned char *)token, in_len, sig, sig_len));
    assert_false(clerk_rsa_verify(k, "RS256", (const unsigned char *)token, in_len - 1, sig, sig_len));
    assert_false(clerk_rsa_verify(k, "RS256", (const unsigned char *)token, in_len, sig, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_mint_parse_verify),
        UNIT_TEST(test_header_bytes_are_signed_as_received),
        UNIT_TEST(test_segment_counts),
        UNIT_TEST(test_empty_segments),
        UNIT_TEST(test_non_canonical_segments),
        UNIT_TEST(test_max_len),
        UNIT_TEST(test_header_not_an_object),
        UNIT_TEST(test_alg_not_allowed),
        UNIT_TEST(test_crit_b64_zip_refused),
        UNIT_TEST(test_untrusted_header_members_ignored),
        UNIT_TEST(test_kid_typ_cat_types),
        UNIT_TEST(test_odd_kids_never_select_a_jwks_key),
        UNIT_TEST(test_hs256_with_public_key_as_secret),
        UNIT_TEST(test_key_alg_binding),
        UNIT_TEST(test_header_alg_cannot_be_swapped),
        UNIT_TEST(test_signature_length_must_equal_modulus),
        UNIT_TEST(test_tampering),
        UNIT_TEST(test_verify_kid_selection),
        UNIT_TEST(test_sign_and_rsa_verify_edges),
    };
    return UNIT_RUN(tests);
}
