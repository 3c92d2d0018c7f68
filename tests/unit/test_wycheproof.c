/*
 * Wycheproof vectors (tests/vectors/wycheproof, Apache-2.0).
 *
 * RSASSA-PKCS1-v1_5: every vector through clerk_rsa_verify with the group's
 * key loaded by clerk_keyset_from_pem.  Decisions:
 *   - "valid": accepted, unless the key itself is refused by our key policy
 *     (the two e = 3 groups of the 2048-bit file): those keys do not load.
 *   - "invalid": rejected.
 *   - "acceptable" (MissingNull: a DigestInfo without the NULL parameter, a
 *     legacy encoding): REJECTED.  Only the canonical encoding is accepted.
 *
 * JWS/JWK: each group's "public" key (a JWK or a JWKS; symmetric-only groups
 * have none and their "private" oct keys must not load) goes through
 * clerk_keyset_from_jwks, each "jws" through clerk_jws_parse and
 * clerk_jws_verify.  A vector is accepted only if the file says valid AND its
 * alg is RS256/RS384/RS512 AND the key is acceptable to us.  The exact
 * accepted counts are asserted, so loosening any check fails here.
 */
#include "unit.h"

static const char *alg_for_sha(const char *sha)
{
    if (!strcmp(sha, "SHA-256"))
        return "RS256";
    if (!strcmp(sha, "SHA-384"))
        return "RS384";
    if (!strcmp(sha, "SHA-512"))
        return "RS512";
    return NULL;
}

struct rsa_file {
    const char *file;
    int tests;              /* numberOfTests */
    int accepted;           /* vectors clerk_rsa_verify accepts */
    int refused_key_valid;  /* "valid" vectors whose key our policy refuses (e = 3) */
    int acceptable;         /* "acceptable" vectors, all rejected */
};

static void run_rsa_file(apr_pool_t *p, const struct rsa_file *f)
{
    json_t *doc = unit_load_json(p, apr_pstrcat(p, UNIT_VEC_WP, f->file, NULL));
    json_t *groups = json_object_get(doc, "testGroups"), *g;
    size_t gi;
    int total = 0, accepted = 0, refused_key_valid = 0, acceptable = 0;

    assert_string_equal(json_string_value(json_object_get(doc, "algorithm")), "RSASSA-PKCS1-v1_5");
    json_array_foreach(groups, gi, g) {
        const char *alg = alg_for_sha(json_string_value(json_object_get(g, "sha")));
        const char *pemtext = json_string_value(json_object_get(g, "publicKeyPem"));
        const char *e_hex = json_string_value(json_object_get(json_object_get(g, "publicKey"), "publicExponent"));
        clerk_keyset_t *ks = NULL;
        const char *err = NULL;
        apr_status_t rv;
        json_t *tests = json_object_get(g, "tests"), *t;
        size_t ti;

        assert_non_null(alg);
        rv = clerk_keyset_from_pem(p, pemtext, strlen(pemtext), &ks, &err);
        if (strcmp(e_hex, "010001")) {
            /* our policy: e must be at least 65537 */
            assert_string_equal(e_hex, "03");
            assert_int_equal(rv, APR_EINVAL);
            assert_non_null(strstr(err, "exponent"));
        }
        else if (rv != APR_SUCCESS)
            fail_msg("%s group %zu: key refused: %s", f->file, gi, err);

        json_array_foreach(tests, ti, t) {
            const char *result = json_string_value(json_object_get(t, "result"));
            int tcid = (int)json_integer_value(json_object_get(t, "tcId"));
            apr_size_t msg_len, sig_len;
            unsigned char *msg = unit_hex(p, json_string_value(json_object_get(t, "msg")), &msg_len);
            unsigned char *sig = unit_hex(p, json_string_value(json_object_get(t, "sig")), &sig_len);
            int ok;

            total++;
            if (rv != APR_SUCCESS) {
                /* no key, no verification: counted as rejected */
                if (!strcmp(result, "valid"))
                    refused_key_valid++;
                continue;
            }
            ok = clerk_rsa_verify(APR_ARRAY_IDX(ks->keys, 0, clerk_key_t *), alg, msg, msg_len, sig, sig_len);
            accepted += ok;
            if (!strcmp(result, "valid")) {
                if (!ok)
                    fail_msg("%s tcId %d: valid vector rejected", f->file, tcid);
            }
            else if (!strcmp(result, "acceptable")) {
                acceptable++;
                if (ok)
                    fail_msg("%s tcId %d: 'acceptable' vector accepted (we reject them)", f->file, tcid);
            }
            else if (ok)
                fail_msg("%s tcId %d (%s): invalid vector accepted", f->file, tcid,
                         json_string_value(json_object_get(t, "comment")));
        }
    }
    assert_int_equal(total, f->tests);
    assert_int_equal(total, json_integer_value(json_object_get(doc, "numberOfTests")));
    assert_int_equal(accepted, f->accepted);
    assert_int_equal(refused_key_valid, f->refused_key_valid);
    assert_int_equal(acceptable, f->acceptable);
}

static void test_rsa_2048_sha256(void **state)
{
    static const struct rsa_file f = {"rsa_signature_2048_sha256_test.json", 259, 7, 2, 1};
    run_rsa_file(UNIT_POOL, &f);
}

static void test_rsa_3072_sha384(void **state)
{
    static const struct rsa_file f = {"rsa_signature_3072_sha384_test.json", 259, 7, 0, 1};
    run_rsa_file(UNIT_POOL, &f);
}

static void test_rsa_4096_sha512(void **state)
{
    static const struct rsa_file f = {"rsa_signature_4096_sha512_test.json", 259, 7, 0, 1};
    run_rsa_file(UNIT_POOL, &f);
}

/*
 * The PSS, ECDSA and EdDSA files: EC/OKP keys and PS256 JWKs are refused.  The
 * PSS file's SPKI is a plain rsaEncryption key, which loads: then no PSS
 * signature passes PKCS#1 v1.5 verification, only the file's one genuine
 * PKCS#1 v1.5 signature (its "WrongPrimitive" vector).
 */
static void test_other_primitives_refused(void **state)
{
    static const char *const files[] = {
        "rsa_pss_2048_sha256_mgf1_32_test.json", "ecdsa_secp256r1_sha256_p1363_test.json",
        "ed25519_test.json",
    };
    int verified = 0, checked = 0;

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        json_t *doc = unit_load_json(UNIT_POOL, apr_pstrcat(UNIT_POOL, UNIT_VEC_WP, files[i], NULL));
        json_t *g;
        size_t gi;
        json_array_foreach(json_object_get(doc, "testGroups"), gi, g) {
            const char *pemtext = json_string_value(json_object_get(g, "publicKeyPem"));
            json_t *jwk = json_object_get(g, "publicKeyJwk");
            clerk_keyset_t *ks = NULL;
            const char *err;
            json_t *t;
            size_t ti;

            if (jwk) {
                /* as a JWKS: EC/OKP refused by kty, PSS by alg */
                const char *doc_text = apr_pstrcat(UNIT_POOL, "{\"keys\":[", unit_dump(UNIT_POOL, jwk), "]}", NULL);
                clerk_keyset_t *jks = NULL;
                if (clerk_keyset_from_jwks(UNIT_POOL, doc_text, strlen(doc_text), &jks, &err) == APR_SUCCESS) {
                    /* a PSS group's JWK without alg is a plain RSA key: PKCS#1 v1.5 only */
                    assert_true(strstr(files[i], "rsa_pss") != NULL);
                    assert_null(json_object_get(jwk, "alg"));
                }
            }
            if (clerk_keyset_from_pem(UNIT_POOL, pemtext, strlen(pemtext), &ks, &err) != APR_SUCCESS) {
                assert_true(strstr(files[i], "rsa_pss") == NULL);
                continue;
            }
            /*
             * The PSS file's key is an rsaEncryption SPKI, so it loads; PSS
             * signatures must then fail PKCS#1 v1.5 verification.
             */
            json_array_foreach(json_object_get(g, "tests"), ti, t) {
                apr_size_t msg_len, sig_len;
                unsigned char *msg = unit_hex(UNIT_POOL, json_string_value(json_object_get(t, "msg")), &msg_len);
                unsigned char *sig = unit_hex(UNIT_POOL, json_string_value(json_object_get(t, "sig")), &sig_len);
                int ok = clerk_rsa_verify(APR_ARRAY_IDX(ks->keys, 0, clerk_key_t *), "RS256",
                                          msg, msg_len, sig, sig_len);
                int wrong_primitive = 0;
                json_t *fl;
                size_t fi;
                json_array_foreach(json_object_get(t, "flags"), fi, fl)
                    wrong_primitive |= !strcmp(json_string_value(fl), "WrongPrimitive");
                checked++;
                /* the file's one PKCS#1 v1.5 signature ("WrongPrimitive" for PSS) is ours */
                if (ok != wrong_primitive)
                    fail_msg("%s tcId %d: PKCS#1 v1.5 verification gave %d", files[i],
                             (int)json_integer_value(json_object_get(t, "tcId")), ok);
                verified += ok;
            }
        }
    }
    assert_int_equal(checked, 108);
    assert_int_equal(verified, 1);
}

/* ------------------------------------------------------------------ JOSE */

static int is_rs_alg(const char *alg)
{
    return alg && (!strcmp(alg, "RS256") || !strcmp(alg, "RS384") || !strcmp(alg, "RS512"));
}

/* The alg in a compact JWS header, or NULL. */
static const char *header_alg(apr_pool_t *p, const char *jws)
{
    const char *dot = strchr(jws, '.');
    unsigned char *h;
    apr_size_t hl;
    json_t *j;
    const char *err;
    if (!dot || clerk_b64url_decode(p, jws, (apr_size_t)(dot - jws), &h, &hl) != APR_SUCCESS)
        return NULL;
    j = clerk_json_parse_object(p, (const char *)h, hl, &err);
    return j ? clerk_json_string(j, "alg") : NULL;
}

struct jose_counts {
    int tests, file_valid, accepted, groups_key_loaded, groups_key_refused;
};

static void run_jose_file(apr_pool_t *p, const char *file, const char *const *refused_groups,
                          struct jose_counts *c)
{
    json_t *doc = unit_load_json(p, apr_pstrcat(p, UNIT_VEC_WP, file, NULL));
    json_t *g;
    size_t gi;

    memset(c, 0, sizeof(*c));
    json_array_foreach(json_object_get(doc, "testGroups"), gi, g) {
        json_t *pub = json_object_get(g, "public");
        const char *comment = json_string_value(json_object_get(g, "comment"));
        clerk_keyset_t *ks = NULL;
        const char *err = NULL;
        json_t *t;
        size_t ti;

        if (pub) {
            const char *text = json_object_get(pub, "keys")
                ? unit_dump(p, pub)
                : apr_pstrcat(p, "{\"keys\":[", unit_dump(p, pub), "]}", NULL);
            int expect_refused = 0;
            if (clerk_keyset_from_jwks(p, text, strlen(text), &ks, &err) != APR_SUCCESS)
                ks = NULL;
            for (const char *const *r = refused_groups; *r; r++)
                if (!strcmp(*r, apr_psprintf(p, "%" APR_SIZE_T_FMT ":%s", (apr_size_t)gi, comment)))
                    expect_refused = 1;
            if (expect_refused != (ks == NULL))
                fail_msg("%s group %zu (%s): key %s (%s)", file, gi, comment,
                         ks ? "loaded but must be refused" : "refused but must load", err ? err : "");
        }
        else {
            /* symmetric only: the secret keys are no verification keys of ours */
            const char *text = unit_dump(p, json_object_get(g, "private"));
            clerk_keyset_t *sym = NULL;
            if (!json_object_get(json_object_get(g, "private"), "keys"))
                text = apr_pstrcat(p, "{\"keys\":[", text, "]}", NULL);
            assert_int_equal(clerk_keyset_from_jwks(p, text, strlen(text), &sym, &err), APR_EINVAL);
            assert_null(sym);
        }
        if (ks)
            c->groups_key_loaded++;
        else
            c->groups_key_refused++;

        json_array_foreach(json_object_get(g, "tests"), ti, t) {
            json_t *jv = json_object_get(t, "jws");
            const char *result = json_string_value(json_object_get(t, "result"));
            int tcid = (int)json_integer_value(json_object_get(t, "tcId"));
            int valid = !strcmp(result, "valid");
            int accepted = 0, expected;
            const char *alg = NULL;

            c->tests++;
            c->file_valid += valid;
            if (json_is_string(jv)) {
                const char *jws = json_string_value(jv);
                clerk_jws_t *parsed = NULL;
                const char *detail = NULL;
                clerk_reason_t r = clerk_jws_parse(p, jws, strlen(jws), CLERK_TOKEN_MAX_LEN, &parsed, &detail);
                alg = header_alg(p, jws);
                if (r == CLERK_OK) {
                    assert_true(is_rs_alg(parsed->alg));
                    /* with no usable key the module has nothing to verify with */
                    if (ks)
                        accepted = clerk_jws_verify(parsed, ks, &detail) == CLERK_OK;
                }
                else if (is_rs_alg(alg) && valid)
                    fail_msg("%s tcId %d: valid %s token not parsed: %s", file, tcid, alg, detail);
            }
            /* JSON serialisation (an object) is never accepted: compact only */
            expected = valid && is_rs_alg(alg) && ks != NULL;
            if (accepted != expected)
                fail_msg("%s tcId %d (%s, group %s): %s", file, tcid,
                         json_string_value(json_object_get(t, "comment")), comment,
                         accepted ? "accepted but must be rejected" : "rejected but must be accepted");
            c->accepted += accepted;
        }
    }
    assert_int_equal(c->tests, json_integer_value(json_object_get(doc, "numberOfTests")));
}

/*
 * Run a JOSE file and check what it counted against want (all but
 * groups_key_refused, which follows from the refused list).
 */
static void expect_jose_counts(apr_pool_t *p, const char *file, const char *const *refused_groups,
                               struct jose_counts want)
{
    struct jose_counts c;

    run_jose_file(p, file, refused_groups, &c);
    assert_int_equal(c.tests, want.tests);
    assert_int_equal(c.file_valid, want.file_valid);
    assert_int_equal(c.accepted, want.accepted);
    assert_int_equal(c.groups_key_loaded, want.groups_key_loaded);
}

static void test_json_web_signature(void **state)
{
    /* groups with a public key our policy refuses (index:comment) */
    static const char *const refused[] = {
        "1:es256", "6:ps256", "7:ps384", "8:ps512", "10:rfc7520", "11:rfc7520",
        "14:rfc7520WithKeyOps", "15:rfc7520WithKeyOps", "17:rsa_encryption",
        "18:ec_key_for_encryption", "19:rsa_encryption", "20:ec_key_for_encryption",
        "22:SpecialCaseEs256", NULL,
    };

    /* accepted: rs256 (1) + RS256_2048 (5) + RS384_2048 (4) + RS512_2048 (4) + RFC 7520 (1,
       and 1 with key_ops) */
    expect_jose_counts(UNIT_POOL, "json_web_signature_test.json", refused,
                       (struct jose_counts){
                           .tests = 401, .file_valid = 46, .accepted = 16, .groups_key_loaded = 6,
                       });
}

static void test_json_web_key(void **state)
{
    static const char *const refused[] = {
        "4:rs256",              /* RSA1_5 / use enc */
        "5:jws_rsa_roca_key",   /* ROCA-weak modulus */
        "6:keysize_too_small",  /* 1024 bits */
        "7:exponentOne",        /* e = 1 */
        "17:wrong_algorithm", "18:invalid_algorithm", "19:invalid_use", "20:invalid_point",
        "21:wrong_curve", "22:wrong_kty",
        NULL,
    };

    expect_jose_counts(UNIT_POOL, "json_web_key_test.json", refused,
                       (struct jose_counts){
                           .tests = 26, .file_valid = 5, .accepted = 1, .groups_key_loaded = 1,
                       });
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_rsa_2048_sha256),
        UNIT_TEST(test_rsa_3072_sha384),
        UNIT_TEST(test_rsa_4096_sha512),
        UNIT_TEST(test_other_primitives_refused),
        UNIT_TEST(test_json_web_signature),
        UNIT_TEST(test_json_web_key),
    };
    return UNIT_RUN(tests);
}
