/* clerk-jwt mint: a Clerk-style session token signed with a development key. */
#include <apr_general.h>
#include <apr_strings.h>

#include <openssl/err.h>
#include <openssl/rand.h>

#include <string.h>

#include "cli.h"
#include "rsa_keys.h"
#include "clerk_json.h"
#include "clerk_jws.h"
#include "clerk_verify.h"

const char cli_mint_help[] =
"\n"
"Sign a session token shaped like Clerk's, for development and tests.  Header:\n"
"alg, kid, typ \"JWT\", cat \"" CLERK_CAT_SESSION "\".  Payload: sub, sid, iat = now,\n"
"nbf = now - 10, exp = now + ttl, and iss/azp/v when asked.  The token is\n"
"printed on standard output.\n"
"\n"
"Options:\n"
"  --key FILE         RSA private key, PEM (PKCS#8 or PKCS#1), unencrypted\n"
"  --kid KID          header kid (default: the key's RFC 7638 thumbprint, the\n"
"                     kid 'clerk-jwt keygen' uses by default)\n"
"  --alg ALG          RS256 (default), RS384 or RS512\n"
"  --sub ID           subject (default user_dev)\n"
"  --issuer ISS       iss claim, e.g. https://clerk.example.com\n"
"  --azp ORIGIN       azp claim, e.g. http://localhost:3000\n"
"  --ttl S            lifetime in seconds (default "
APR_STRINGIFY(CLI_CLERK_SESSION_TTL) ", Clerk's default)\n"
"  --v2               v2 claims: sets \"v\": 2 (put \"o\", \"fea\", ... in --claims)\n"
"  --claims JSON      object merged over the default claims ('@FILE' reads a\n"
"                     file, '@-' standard input); a null value removes a claim\n"
"  --header JSON      object merged over the default header (same forms)\n"
"  --now T            issue at this time (Unix seconds or YYYY-MM-DDTHH:MM:SSZ)\n"
"  --json             print {\"token\", \"header\", \"payload\"} instead\n"
"\n"
"Example (a v2 token of an org admin allowed to read reports):\n"
"  clerk-jwt mint --key keys/private.pem --v2 --sub user_123 \\\n"
"    --claims '{\"o\":{\"id\":\"org_1\",\"slg\":\"acme\",\"rol\":\"admin\",\"per\":\"read\",\"fpm\":\"1\"},\"fea\":\"o:reports\"}'\n";

/* Clerk's tokens become valid this many seconds before they are issued. */
#define NBF_LEEWAY 10

typedef struct mint_args {
    const char *key, *kid, *alg, *sub, *issuer, *azp, *claims, *header;
    long long ttl;
    int v2;
    apr_int64_t now;
} mint_args_t;

static int set_kid(void *args, const cli_optdef_t *opt, const char *val)
{
    int rc = cli_check_kid_length(val);
    return rc ? rc : cli_set_string(args, opt, val);
}

static int set_alg(void *args, const cli_optdef_t *opt, const char *val)
{
    if (strcmp(val, "RS256") && strcmp(val, "RS384") && strcmp(val, "RS512"))
        return cli_usage_error("--alg must be RS256, RS384 or RS512, not '%s'", val);
    return cli_set_string(args, opt, val);
}

static int set_ttl(void *args, const cli_optdef_t *opt, const char *val)
{
    if (!cli_parse_int(val, -CLI_TIME_LIMIT, CLI_TIME_LIMIT, CLI_SLOT(args, opt, long long)))
        return cli_usage_error("--ttl needs a number of seconds, not '%s'", val);
    return 0;
}

static const cli_optdef_t mint_options[] = {
    {"key", cli_set_string, offsetof(mint_args_t, key)},
    {"kid", set_kid, offsetof(mint_args_t, kid)},
    {"alg", set_alg, offsetof(mint_args_t, alg)},
    {"sub", cli_set_string, offsetof(mint_args_t, sub)},
    {"issuer", cli_set_string, offsetof(mint_args_t, issuer)},
    {"azp", cli_set_string, offsetof(mint_args_t, azp)},
    {"ttl", set_ttl, offsetof(mint_args_t, ttl)},
    {"v2", cli_set_flag, offsetof(mint_args_t, v2)},
    {"claims", cli_set_string, offsetof(mint_args_t, claims)},
    {"header", cli_set_string, offsetof(mint_args_t, header)},
    {"now", cli_set_now, offsetof(mint_args_t, now)},
    {NULL, NULL, 0},
};

/* Members of src over dst; a null member removes the key from dst. */
static void merge_object(json_t *dst, json_t *src)
{
    const char *k;
    json_t *val;

    json_object_foreach(src, k, val) {
        if (json_is_null(val))
            json_object_del(dst, k);
        else
            json_object_set(dst, k, val);
    }
}

/* Merge the object of option opt (inline, @FILE or @-) over dst; 0 or the exit status. */
static int merge_option(apr_pool_t *p, json_t *dst, const char *opt, const char *arg)
{
    json_t *extra;
    int rc = 0;

    if (arg) {
        if (!(extra = cli_get_json_object(p, opt, arg, &rc)))
            return rc;
        merge_object(dst, extra);
    }
    return 0;
}

/* A random Clerk-style id: prefix + 27 base62 characters. */
static const char *random_id(apr_pool_t *p, const char *prefix)
{
    static const char alnum[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    unsigned char r[27];
    char s[28];

    if (RAND_bytes(r, sizeof(r)) != 1)
        return apr_pstrcat(p, prefix, "dev", NULL);
    for (size_t i = 0; i < sizeof(r); i++)
        s[i] = alnum[r[i] % 62];
    s[27] = '\0';
    return apr_pstrcat(p, prefix, s, NULL);
}

static void print_token(apr_pool_t *p, const json_t *r, const void *args)
{
    printf("%s\n", clerk_json_string(r, "token"));
}

int cli_mint(apr_pool_t *p, int argc, char **argv)
{
    apr_array_header_t *pos = apr_array_make(p, 2, sizeof(const char *));
    mint_args_t a = {.alg = "RS256", .sub = "user_dev", .ttl = CLI_CLERK_SESSION_TTL,
                     .now = cli_clock_now()};
    json_t *header, *payload, *j;
    EVP_PKEY *pkey;
    const char *err, *kid;
    char *hj, *pj, *token;
    int rc;

    if (!cli_parse_args(argc, argv, mint_options, &a, pos, &rc))
        return rc;
    if (pos->nelts)
        return cli_usage_error("unexpected argument '%s'", APR_ARRAY_IDX(pos, 0, const char *));
    if (!a.key)
        return cli_usage_error("--key PRIVATE.pem is required");
    if (a.claims && a.header && !strcmp(a.claims, "@-") && !strcmp(a.header, "@-"))
        return cli_usage_error("--claims and --header cannot both read standard input");
    if (!(pkey = cli_load_private_key(p, a.key, &err)))
        return cli_io_error("--key: %s", err);
    cli_pkey_own(p, pkey);
    kid = a.kid ? a.kid : cli_jwk_thumbprint(p, pkey);

    header = json_object();
    json_object_set_new(header, "alg", json_string(a.alg));
    if (kid)
        json_object_set_new(header, "kid", json_string(kid));
    json_object_set_new(header, "typ", json_string("JWT"));
    json_object_set_new(header, "cat", json_string(CLERK_CAT_SESSION));
    clerk_json_pool_own(p, header);

    payload = json_object();
    json_object_set_new(payload, "sub", json_string(a.sub));
    json_object_set_new(payload, "sid", json_string(random_id(p, "sess_")));
    json_object_set_new(payload, "iat", json_integer(a.now));
    json_object_set_new(payload, "nbf", json_integer(a.now - NBF_LEEWAY));
    json_object_set_new(payload, "exp", json_integer(a.now + a.ttl));
    if (a.issuer)
        json_object_set_new(payload, "iss", json_string(a.issuer));
    if (a.azp)
        json_object_set_new(payload, "azp", json_string(a.azp));
    if (a.v2)
        json_object_set_new(payload, "v", json_integer(2));
    clerk_json_pool_own(p, payload);

    if ((rc = merge_option(p, payload, "--claims", a.claims)) != 0
        || (rc = merge_option(p, header, "--header", a.header)) != 0)
        return rc;

    hj = clerk_json_compact(p, header);
    pj = clerk_json_compact(p, payload);
    if (!hj || !pj || !(token = clerk_jws_sign(p, pkey, a.alg, hj, pj))) {
        ERR_clear_error();
        return cli_io_error("signing failed");
    }
    j = json_object();
    json_object_set_new(j, "ok", json_true());
    json_object_set_new(j, "token", json_string(token));
    json_object_set_new(j, "header", json_incref(header));
    json_object_set_new(j, "payload", json_incref(payload));
    return cli_emit(p, j, print_token, &a, EXIT_VALID);
}
