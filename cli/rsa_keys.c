/* clerk-jwt development RSA keys: loading, thumbprints, kid bounds. */
#include <apr_strings.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include <string.h>

#include "cli.h"
#include "rsa_keys.h"
#include "clerk_base64url.h"
#include "clerk_json.h"
#include "clerk_key.h"

static apr_status_t pkey_cleanup(void *data)
{
    EVP_PKEY_free(data);
    return APR_SUCCESS;
}

void cli_pkey_own(apr_pool_t *p, EVP_PKEY *pkey)
{
    apr_pool_cleanup_register(p, pkey, pkey_cleanup, apr_pool_cleanup_null);
}

/* Never prompt for a passphrase: encrypted keys are refused. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    return -1;
}

EVP_PKEY *cli_load_private_key(apr_pool_t *p, const char *path, const char **err)
{
    apr_size_t len;
    char *text = cli_read_file(p, path, &len, err);
    EVP_PKEY *pkey;
    BIO *bio;

    if (!text)
        return NULL;
    if (!strstr(text, "PRIVATE KEY-----")) {
        *err = apr_psprintf(p, "%s is not a PEM private key%s", path,
                            strstr(text, "PUBLIC KEY") ? " (it is a public key)" : "");
        return NULL;
    }
    if (strstr(text, "ENCRYPTED")) {
        *err = apr_psprintf(p, "%s is encrypted; decrypt it first (openssl pkey -in ...)", path);
        return NULL;
    }
    bio = BIO_new_mem_buf(text, (int)len);
    pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
    BIO_free(bio);
    OPENSSL_cleanse(text, len);
    ERR_clear_error();
    if (!pkey) {
        *err = apr_psprintf(p, "%s: cannot read the private key", path);
        return NULL;
    }
    if (!EVP_PKEY_is_a(pkey, "RSA")) {
        EVP_PKEY_free(pkey);
        *err = apr_psprintf(p, "%s is not an RSA key (Clerk signs with RSA)", path);
        return NULL;
    }
    if (EVP_PKEY_get_bits(pkey) < CLERK_KEY_MIN_BITS) {
        EVP_PKEY_free(pkey);
        *err = apr_psprintf(p, "%s: the RSA key is shorter than %d bits; the module would "
                               "refuse its public key", path, CLERK_KEY_MIN_BITS);
        return NULL;
    }
    return pkey;
}

const char *cli_jwk_thumbprint(apr_pool_t *p, EVP_PKEY *pkey)
{
    /* n and e as the core encodes them in the JWKS that keygen writes */
    const clerk_key_t key = {.pkey = pkey};
    const char *jwk = clerk_key_to_jwk(p, &key, NULL), *err, *members;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    json_t *j;

    if (!jwk || !(j = clerk_json_parse_object(p, jwk, strlen(jwk), &err)))
        return NULL;
    /* the required members in lexicographic order, no white space (RFC 7638 §3) */
    members = apr_psprintf(p, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}",
                           clerk_json_string(j, "e"), clerk_json_string(j, "n"));
    if (!EVP_Digest(members, strlen(members), md, &mdlen, EVP_sha256(), NULL))
        return NULL;
    return clerk_b64url_encode(p, md, mdlen);
}

int cli_check_kid_length(const char *kid)
{
    if (!*kid || strlen(kid) > CLERK_KID_MAX_LEN)
        return cli_usage_error("--kid must have 1 to %d characters", CLERK_KID_MAX_LEN);
    return 0;
}
