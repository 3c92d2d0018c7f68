/* clerk-jwt keygen: a development RSA key pair and its JWKS, written safely. */
#include <apr_strings.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "rsa_keys.h"
#include "clerk_json.h"
#include "clerk_key.h"

const char cli_keygen_help[] =
"\n"
"Create a development RSA key pair:\n"
"  DIR/private.pem   PKCS#8 private key, mode 0600 (for 'clerk-jwt mint --key')\n"
"  DIR/public.pem    SPKI public key (for ClerkJWTKeyFile / verify --pem)\n"
"  DIR/jwks.json     {\"keys\":[...]} with kid, use sig, alg RS256 (for\n"
"                    ClerkJWKSFile / verify --jwks)\n"
"\n"
"Options:\n"
"  --out DIR          directory to write to (created if missing)\n"
"  --kid KID          kid in jwks.json (default: the RFC 7638 thumbprint)\n"
"  --bits N           2048 (default), 3072 or 4096\n"
"  --force            replace existing files\n"
"  --json             JSON output\n";

typedef struct keygen_args {
    const char *out, *kid;
    long long bits;
    int force;
} keygen_args_t;

/* A kid that also stays one token in logs and headers: printable, no spaces. */
static int set_kid(void *args, const cli_optdef_t *opt, const char *val)
{
    int rc = cli_check_kid_length(val);

    if (rc)
        return rc;
    for (const char *c = val; *c; c++)
        if ((unsigned char)*c < 0x21 || (unsigned char)*c > 0x7e)
            return cli_usage_error("--kid must be printable ASCII without spaces");
    return cli_set_string(args, opt, val);
}

static int set_bits(void *args, const cli_optdef_t *opt, const char *val)
{
    long long *bits = CLI_SLOT(args, opt, long long);

    if (!cli_parse_int(val, 2048, 4096, bits) || (*bits != 2048 && *bits != 3072 && *bits != 4096))
        return cli_usage_error("--bits must be 2048, 3072 or 4096");
    return 0;
}

static const cli_optdef_t keygen_options[] = {
    {"out", cli_set_string, offsetof(keygen_args_t, out)},
    {"kid", set_kid, offsetof(keygen_args_t, kid)},
    {"bits", set_bits, offsetof(keygen_args_t, bits)},
    {"force", cli_set_flag, offsetof(keygen_args_t, force)},
    {NULL, NULL, 0},
};

/* mkdir -p, mode for new directories. */
static int make_dirs(apr_pool_t *p, const char *path, mode_t mode)
{
    char *copy = apr_pstrdup(p, path);
    struct stat st;

    for (char *s = copy + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(copy, mode) && errno != EEXIST)
            return -1;
        *s = '/';
    }
    if (mkdir(copy, mode) && errno != EEXIST)
        return -1;
    if (stat(copy, &st) || !S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

/* Create path with exactly mode; an existing file is an error unless force. */
static int write_new_file(const char *path, const char *data, size_t len, mode_t mode, int force)
{
    int fd;
    size_t off = 0;

    if (force && unlink(path) && errno != ENOENT)
        return -1;
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    if (fchmod(fd, mode)) {
        close(fd);
        return -1;
    }
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            close(fd);
            return -1;
        }
        off += (size_t)w;
    }
    return close(fd);
}

/* pkey as PEM: its PKCS#8 private key, or its SPKI public key; NULL on failure. */
static char *pem_text(apr_pool_t *p, EVP_PKEY *pkey, int private_key)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data, *out = NULL;
    long n;

    if (bio && (private_key ? PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL)
                            : PEM_write_bio_PUBKEY(bio, pkey))
        && (n = BIO_get_mem_data(bio, &data)) > 0)
        out = apr_pstrmemdup(p, data, (apr_size_t)n);
    BIO_free(bio);
    return out;
}

/* {"keys":[jwk]} of the public key as the module loads it; NULL with *err. */
static char *jwks_text(apr_pool_t *p, const char *pub_pem, const char *kid, const char **err)
{
    clerk_keyset_t *ks;
    const char *jwk;
    json_t *jwks, *jwkj;
    char *s, *text;

    if (clerk_keyset_from_pem(p, pub_pem, strlen(pub_pem), &ks, err) != APR_SUCCESS) {
        *err = apr_pstrcat(p, "the new public key does not load: ", *err, NULL);
        return NULL;
    }
    jwk = clerk_key_to_jwk(p, APR_ARRAY_IDX(ks->keys, 0, clerk_key_t *), kid);
    if (!jwk || !(jwkj = clerk_json_parse_object(p, jwk, strlen(jwk), err))) {
        *err = "cannot build the JWK";
        return NULL;
    }
    jwks = json_object();
    json_object_set_new(jwks, "keys", json_array());
    json_array_append(json_object_get(jwks, "keys"), jwkj);
    s = json_dumps(jwks, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(jwks);
    if (!s) {
        *err = "cannot encode the JWKS";
        return NULL;
    }
    text = apr_pstrcat(p, s, "\n", NULL);
    free(s);
    if (clerk_keyset_from_jwks(p, text, strlen(text), &ks, err) != APR_SUCCESS) {
        *err = apr_pstrcat(p, "the new JWKS does not load: ", *err, NULL);
        return NULL;
    }
    return text;
}

static void print_written(apr_pool_t *p, const json_t *r, const void *args)
{
    printf("wrote %s  (PKCS#8 RSA-%" JSON_INTEGER_FORMAT " private key, mode 0600: for "
           "clerk-jwt mint --key)\n", clerk_json_string(r, "private_key"),
           json_integer_value(json_object_get(r, "bits")));
    printf("wrote %s   (SPKI public key: ClerkJWTKeyFile, clerk-jwt verify --pem)\n",
           clerk_json_string(r, "public_key"));
    printf("wrote %s    (JWKS: ClerkJWKSFile, clerk-jwt verify --jwks)\n",
           clerk_json_string(r, "jwks"));
    printf("kid   %s\n", clerk_json_string(r, "kid"));
}

int cli_keygen(apr_pool_t *p, int argc, char **argv)
{
    apr_array_header_t *pos = apr_array_make(p, 2, sizeof(const char *));
    keygen_args_t a = {NULL, NULL, 2048, 0};
    const char *paths[3], *kid, *err;
    char *priv_pem, *pub_pem, *jwks;
    EVP_PKEY *pkey;
    json_t *j;
    int rc;

    if (!cli_parse_args(argc, argv, keygen_options, &a, pos, &rc))
        return rc;
    if (pos->nelts)
        return cli_usage_error("unexpected argument '%s'", APR_ARRAY_IDX(pos, 0, const char *));
    if (!a.out || !*a.out)
        return cli_usage_error("--out DIR is required");
    paths[0] = apr_pstrcat(p, a.out, "/private.pem", NULL);
    paths[1] = apr_pstrcat(p, a.out, "/public.pem", NULL);
    paths[2] = apr_pstrcat(p, a.out, "/jwks.json", NULL);
    for (int i = 0; i < 3 && !a.force; i++)
        if (access(paths[i], F_OK) == 0)
            return cli_io_error("%s exists; pass --force to replace the key pair", paths[i]);
    if (make_dirs(p, a.out, 0755))
        return cli_io_error("cannot create %s: %s", a.out, strerror(errno));

    if (!(pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)a.bits))) {
        ERR_clear_error();
        return cli_io_error("RSA key generation failed");
    }
    cli_pkey_own(p, pkey);
    if (!(priv_pem = pem_text(p, pkey, 1)))
        return cli_io_error("cannot encode the private key");
    if (!(pub_pem = pem_text(p, pkey, 0)))
        return cli_io_error("cannot encode the public key");
    kid = a.kid ? a.kid : cli_jwk_thumbprint(p, pkey);
    if (!(jwks = jwks_text(p, pub_pem, kid, &err)))
        return cli_io_error("%s", err);

    rc = 0;
    {
        char *const data[3] = {priv_pem, pub_pem, jwks};
        const mode_t modes[3] = {0600, 0644, 0644};
        for (int i = 0; i < 3 && !rc; i++)
            if (write_new_file(paths[i], data[i], strlen(data[i]), modes[i], a.force))
                rc = cli_io_error("cannot write %s: %s", paths[i], strerror(errno));
        OPENSSL_cleanse(priv_pem, strlen(priv_pem));
        if (rc)
            return rc;
    }

    j = json_object();
    json_object_set_new(j, "ok", json_true());
    json_object_set_new(j, "kid", json_string(kid));
    json_object_set_new(j, "alg", json_string("RS256"));
    json_object_set_new(j, "bits", json_integer(a.bits));
    json_object_set_new(j, "private_key", json_string(paths[0]));
    json_object_set_new(j, "public_key", json_string(paths[1]));
    json_object_set_new(j, "jwks", json_string(paths[2]));
    return cli_emit(p, j, print_written, &a, EXIT_VALID);
}
