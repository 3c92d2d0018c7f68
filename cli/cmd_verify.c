/*
 * clerk-jwt verify: the module's decision for a token.  The options are
 * built as the module builds them from its directives, the keys come from
 * the same sources in the same order, JWTs go through clerk_verify_token()
 * and opaque machine tokens through clerk_backend_verify_opaque().
 */
#include <apr_general.h>
#include <apr_strings.h>

#include <string.h>
#include <strings.h>

#include "cli.h"
#include "clerk_backend_api.h"
#include "clerk_export.h"
#include "clerk_http.h"
#include "clerk_jwks_cache.h"
#include "clerk_json.h"
#include "clerk_opaque_token.h"
#include "clerk_publishable_key.h"
#include "clerk_verify.h"

const char cli_verify_help[] =
"\n"
"Verify a token exactly as mod_auth_clerk does and print the decision: \"valid\"\n"
"or \"rejected: <reason>\" (Clerk's vocabulary, e.g. token-expired) with the\n"
"detail.  On success, print the variables the module would give the\n"
"application (REMOTE_USER, AUTH_TYPE, CLERK_*).\n"
"\n"
"Key (one is required; of several, the first in this list is used, in the\n"
"module's order of ClerkJWTKeyFile, ClerkJWKSFile, ClerkJWKSURL, ClerkSecretKey\n"
"and ClerkPublishableKey):\n"
"  --pem FILE                 public key PEM (SPKI) or bare base64 body, as\n"
"                             ClerkJWTKeyFile; the token's kid is not used\n"
"  --jwks FILE                key set {\"keys\":[...]}, as ClerkJWKSFile; the key\n"
"                             is chosen by kid\n"
"  --jwks URL                 key set fetched over https (plain http only to\n"
"                             loopback hosts), as ClerkJWKSURL\n"
"  --secret-key SK            the Backend API's JWKS, fetched with the secret key,\n"
"                             as ClerkSecretKey; also verifies opaque machine\n"
"                             tokens (mt_, oat_, ak_) through the Backend API\n"
"  --api-url URL              Backend API base URL (default " CLERK_DEFAULT_API_URL ")\n"
"  --publishable-key PK       alone: the Frontend API's JWKS of that instance\n"
"Instance and checks (as the directives of the same name):\n"
"  --publishable-key PK       pk_test_/pk_live_: the expected issuer is\n"
"                             https://<Frontend API host> unless --issuer is given\n"
"  --issuer ISS               accepted iss, exact match; repeatable; 'off' disables\n"
"                             the check (ClerkIssuer)\n"
"  --authorized-party ORIGIN  azp allow-list; repeatable (ClerkAuthorizedParties)\n"
"  --audience AUD             aud must contain one; repeatable (ClerkAudience)\n"
"  --clock-skew S             leeway for exp/nbf/iat, 0 to "
APR_STRINGIFY(CLERK_MAX_CLOCK_SKEW) " s (default " APR_STRINGIFY(CLERK_DEFAULT_CLOCK_SKEW) ")\n"
"  --accept TYPE              accepted token type; repeatable: session_token\n"
"                             (default), m2m_token, oauth_token, api_key, any\n"
"  --allow-pending            count sts \"pending\" sessions as signed in\n"
"                             (ClerkAllowPendingSessions On)\n"
"  --remote-user-claim CLAIM  claim shown as REMOTE_USER (default sub;\n"
"                             ClerkRemoteUserClaim)\n"
"  --now T                    verify at this time: Unix seconds (fraction ignored)\n"
"                             or YYYY-MM-DDTHH:MM:SSZ (default: the clock)\n"
"  --json                     JSON output\n"
"\n"
"The secret key is never printed.  A key set or Backend API that cannot be\n"
"reached is an I/O error (status 2), where the module answers 503.\n"
"\n"
"Exit status: 0 valid, 1 rejected, 2 usage or I/O error.\n";

/*
 * A one-off command can wait longer than a request the module holds up
 * (ClerkHTTPTimeout): nothing queues behind it.
 */
#define CLI_HTTP_TIMEOUT_MS 10000

/*
 * Where the verification keys come from, in the module's order:
 * ClerkJWTKeyFile > ClerkJWKSFile > ClerkJWKSURL > Backend API JWKS (secret
 * key) > Frontend API JWKS (publishable key).
 */
typedef enum {
    KEYSRC_NONE, KEYSRC_PEM_FILE, KEYSRC_JWKS_FILE, KEYSRC_JWKS_URL, KEYSRC_BAPI, KEYSRC_FAPI,
} keysrc_kind_t;

static const char *const keysrc_names[] = {
    [KEYSRC_NONE] = "none", [KEYSRC_PEM_FILE] = "pem", [KEYSRC_JWKS_FILE] = "jwks",
    [KEYSRC_JWKS_URL] = "jwks_url", [KEYSRC_BAPI] = "backend_api", [KEYSRC_FAPI] = "frontend_api",
};

typedef struct verify_args {
    apr_pool_t *p;
    const char *pem, *jwks, *pk, *secret_key, *api_url, *remote_user_claim;
    apr_array_header_t *issuers, *azp, *aud;
    int issuer_off, allow_pending;
    apr_int64_t now, skew;
    unsigned accept;            /* 0 until --accept: then only what it names */
} verify_args_t;

static int set_api_url(void *args, const cli_optdef_t *opt, const char *val)
{
    verify_args_t *a = args;
    const char *err = clerk_http_check_url(a->p, val);

    if (err)
        return cli_usage_error("--api-url: %s", err);
    return cli_set_string(args, opt, val);
}

static int set_issuer(void *args, const cli_optdef_t *opt, const char *val)
{
    verify_args_t *a = args;

    if (!strcasecmp(val, "off")) {
        a->issuer_off = 1;
        return 0;
    }
    if (strncmp(val, "https://", 8) && strncmp(val, "http://", 7))
        return cli_usage_error("--issuer '%s' is not an http(s) URL (nor off)", val);
    return cli_set_list(args, opt, val);
}

static int set_authorized_party(void *args, const cli_optdef_t *opt, const char *val)
{
    if (!clerk_is_origin(val))
        return cli_usage_error("--authorized-party '%s' is not an origin (scheme://host[:port], "
                               "no path or trailing slash)", val);
    return cli_set_list(args, opt, val);
}

static int set_remote_user_claim(void *args, const cli_optdef_t *opt, const char *val)
{
    if (!*val)
        return cli_usage_error("--remote-user-claim needs a claim name");
    return cli_set_string(args, opt, val);
}

static const cli_optdef_t verify_options[] = {
    {"pem", cli_set_string, offsetof(verify_args_t, pem)},
    {"jwks", cli_set_string, offsetof(verify_args_t, jwks)},
    {"publishable-key", cli_set_string, offsetof(verify_args_t, pk)},
    {"secret-key", cli_set_string, offsetof(verify_args_t, secret_key)},
    {"api-url", set_api_url, offsetof(verify_args_t, api_url)},
    {"issuer", set_issuer, offsetof(verify_args_t, issuers)},
    {"authorized-party", set_authorized_party, offsetof(verify_args_t, azp)},
    {"audience", cli_set_list, offsetof(verify_args_t, aud)},
    {"clock-skew", cli_set_clock_skew, offsetof(verify_args_t, skew)},
    {"now", cli_set_now, offsetof(verify_args_t, now)},
    {"accept", cli_set_accept, offsetof(verify_args_t, accept)},
    {"allow-pending", cli_set_flag, offsetof(verify_args_t, allow_pending)},
    {"remote-user-claim", set_remote_user_claim, offsetof(verify_args_t, remote_user_claim)},
    {NULL, NULL, 0},
};

static int is_url(const char *s)
{
    return !strncasecmp(s, "http://", 7) || !strncasecmp(s, "https://", 8);
}

/* The key source the module would use, and where it is (NULL for none). */
static keysrc_kind_t key_source(apr_pool_t *p, const verify_args_t *a,
                                const clerk_publishable_key_t *pk, const char **where)
{
    *where = NULL;
    if (a->pem) {
        *where = a->pem;
        return KEYSRC_PEM_FILE;
    }
    if (a->jwks) {
        *where = a->jwks;
        return is_url(a->jwks) ? KEYSRC_JWKS_URL : KEYSRC_JWKS_FILE;
    }
    if (a->secret_key) {
        *where = apr_pstrcat(p, a->api_url, "/v1/jwks", NULL);
        return KEYSRC_BAPI;
    }
    if (pk) {
        *where = pk->jwks_url;
        return KEYSRC_FAPI;
    }
    return KEYSRC_NONE;
}

/* One HTTP client for the CLI's single fetch or Backend API call. */
static clerk_http_t *cli_http(apr_pool_t *p)
{
    clerk_http_opts_t opts = {.timeout_ms = CLI_HTTP_TIMEOUT_MS};
    clerk_http_t *http = NULL;

    clerk_http_global_init();
    clerk_http_create(p, &opts, 1, &http);
    return http;
}

/* Returns 0 with *ks set, or the exit status after reporting. */
static int load_keyset(apr_pool_t *p, keysrc_kind_t kind, const char *where,
                       const char *secret, clerk_keyset_t **ks)
{
    const char *err = NULL;

    switch (kind) {
    case KEYSRC_PEM_FILE:
        if (clerk_keyset_from_pem_file(p, where, ks, &err) != APR_SUCCESS)
            return cli_io_error("--pem: %s", err);
        return 0;
    case KEYSRC_JWKS_FILE:
        if (clerk_keyset_from_jwks_file(p, where, ks, &err) != APR_SUCCESS)
            return cli_io_error("--jwks: %s", err);
        return 0;
    case KEYSRC_JWKS_URL:
    case KEYSRC_BAPI:
    case KEYSRC_FAPI:
        /* The same fetch the module's key cache makes (secret never printed). */
        if (clerk_keyset_fetch(p, cli_http(p), where,
                               secret ? clerk_backend_api_headers(p, secret) : NULL, ks, &err)
            != APR_SUCCESS)
            return cli_io_error("key set %s: %s", where, err);
        return 0;
    case KEYSRC_NONE:
    default:
        return cli_usage_error("no key given: pass --pem, --jwks, --secret-key or "
                               "--publishable-key");
    }
}

/* The verification options as the module builds them from its directives. */
static const char *build_opts(apr_pool_t *p, const verify_args_t *a,
                              const clerk_publishable_key_t *pk, clerk_verify_opts_t *opts)
{
    static const char *const source_names[] = {
        [CLERK_ISSUERS_UNCHECKED] = "unchecked", [CLERK_ISSUERS_OFF] = "off",
        [CLERK_ISSUERS_CONFIGURED] = "issuer", [CLERK_ISSUERS_INSTANCE] = "publishable_key",
    };
    clerk_verify_settings_t s;

    s.issuers = a->issuer_off ? apr_array_make(p, 0, sizeof(const char *))
                              : a->issuers->nelts ? a->issuers : NULL;
    s.instance_issuers = NULL;
    if (pk) {
        apr_array_header_t *one = apr_array_make(p, 1, sizeof(const char *));
        APR_ARRAY_PUSH(one, const char *) = pk->issuer;
        s.instance_issuers = one;
    }
    s.authorized_parties = a->azp;
    s.audiences = a->aud;
    s.clock_skew = (int)a->skew;
    s.allow_pending = a->allow_pending;
    s.accept_types = a->accept;
    return source_names[clerk_verify_opts_from_settings(&s, opts)];
}

/*
 * Opaque machine tokens (mt_, oat_, ak_) go to the Backend API, as in the
 * module: refused without a call when their type is not accepted, or when
 * there is no secret key to ask with.  0, or the exit status of an error.
 */
static int verify_opaque(apr_pool_t *p, const verify_args_t *a, const clerk_verify_opts_t *opts,
                         const char *tok, clerk_token_type_t type, clerk_verify_result_t *res)
{
    const char *detail = NULL;

    memset(res, 0, sizeof(*res));
    if (!(opts->accept_types & type)) {
        res->reason = CLERK_TOKEN_TYPE_MISMATCH;
        res->detail = "token type is not accepted here";
    }
    else if (!a->secret_key) {
        res->reason = CLERK_TOKEN_INVALID;
        res->detail = "an opaque token needs --secret-key";
    }
    else if (clerk_backend_verify_opaque(p, cli_http(p), a->api_url, a->secret_key, tok, type,
                                         opts->audiences, a->now, res, &detail)
             != CLERK_BAPI_ANSWERED)
        return cli_io_error("%s (the module answers 503)", detail);
    return 0;
}

/* What the module would give the application, as {REMOTE_USER, AUTH_TYPE, CLERK_*}. */
static void add_variables(apr_pool_t *p, json_t *j, const char *remote_user,
                          const clerk_claims_t *claims)
{
    apr_array_header_t *vars = clerk_export_vars(p, claims);
    json_t *env = json_object(), *hdr = json_object();

    json_object_set_new(env, "REMOTE_USER", json_string(remote_user));
    json_object_set_new(env, "AUTH_TYPE", json_string("Clerk"));
    for (int i = 0; i < vars->nelts; i++) {
        clerk_var_t *x = &APR_ARRAY_IDX(vars, i, clerk_var_t);
        json_object_set_new(env, x->env, json_string(x->value));
        json_object_set_new(hdr, x->header, json_string(x->value));
    }
    json_object_set_new(j, "env", env);
    json_object_set_new(j, "headers", hdr);
}

static json_t *options_json(apr_pool_t *p, const verify_args_t *a,
                            const clerk_verify_opts_t *opts, keysrc_kind_t kind,
                            const char *where, const char *issuer_source)
{
    json_t *o = json_object();

    json_object_set_new(o, "key_source", json_string(keysrc_names[kind]));
    if (where)
        json_object_set_new(o, "key_file", json_string(where));
    json_object_set_new(o, "issuer_source", json_string(issuer_source));
    json_object_set_new(o, "issuers", cli_json_str_array(opts->issuers));
    json_object_set_new(o, "authorized_parties", cli_json_str_array(a->azp));
    json_object_set_new(o, "audiences", cli_json_str_array(a->aud));
    json_object_set_new(o, "clock_skew", json_integer(opts->clock_skew));
    json_object_set_new(o, "accept", json_string(cli_type_list(p, opts->accept_types)));
    json_object_set_new(o, "allow_pending", json_boolean(opts->allow_pending));
    json_object_set_new(o, "remote_user_claim", json_string(a->remote_user_claim));
    json_object_set_new(o, "now", json_integer(a->now));
    return o;
}

static void print_verdict(apr_pool_t *p, const json_t *r, const void *args)
{
    const json_t *o = json_object_get(r, "options"), *env = json_object_get(r, "env");
    const json_t *issuers = json_object_get(o, "issuers"), *v;
    const char *detail = clerk_json_string(r, "detail"), *kid = clerk_json_string(r, "kid");
    const char *kind = clerk_json_string(o, "key_source");
    const char *where = clerk_json_string(o, "key_file");
    const char *issuer_source = clerk_json_string(o, "issuer_source"), *name;
    apr_int64_t now = json_integer_value(json_object_get(o, "now"));

    if (json_is_true(json_object_get(r, "valid")))
        printf("valid\n");
    else
        printf("rejected: %s\n", clerk_json_string(r, "reason"));
    if (detail)
        cli_put_row("detail", detail, NULL);
    if (clerk_json_string(r, "token_type"))
        cli_put_row("token type", clerk_json_string(r, "token_type"), NULL);
    cli_put_row("kid", kid ? kid : "(none)",
                !strcmp(kind, keysrc_names[KEYSRC_PEM_FILE]) ? " (not used with a PEM key)" : NULL);
    printf("  %-12s %s%s%s\n", "key", kind, where ? " " : "", where ? where : "");
    if (json_array_size(issuers))
        cli_put_row("issuer", cli_json_join(p, issuers, ' '),
                    !strcmp(issuer_source, "publishable_key") ? " (from the publishable key)"
                                                              : NULL);
    else
        printf("  %-12s not checked%s\n", "issuer",
               !strcmp(issuer_source, "off") ? " (--issuer off)" : "");
    printf("  %-12s %s\n", "accept", clerk_json_string(o, "accept"));
    printf("  %-12s %" APR_INT64_T_FMT " (%s), clock skew %" JSON_INTEGER_FORMAT " s\n", "now",
           now, cli_iso_utc(p, now), json_integer_value(json_object_get(o, "clock_skew")));
    if (!json_is_object(env))
        return;
    printf("\nVariables the module sets (ClerkPassClaimsAs env):\n");
    json_object_foreach((json_t *)env, name, v) {
        printf("%s=", name);
        cli_put_safe(stdout, json_string_value(v));
        fputc('\n', stdout);
    }
}

int cli_verify(apr_pool_t *p, int argc, char **argv)
{
    apr_array_header_t *pos = apr_array_make(p, 2, sizeof(const char *));
    verify_args_t a = {
        .p = p, .api_url = CLERK_DEFAULT_API_URL, .remote_user_claim = CLERK_DEFAULT_REMOTE_USER_CLAIM,
        .issuers = apr_array_make(p, 2, sizeof(const char *)),
        .azp = apr_array_make(p, 2, sizeof(const char *)),
        .aud = apr_array_make(p, 2, sizeof(const char *)),
        .now = cli_clock_now(), .skew = CLERK_DEFAULT_CLOCK_SKEW,
    };
    clerk_publishable_key_t *pk = NULL;
    clerk_verify_opts_t opts;
    clerk_verify_result_t res;
    clerk_keyset_t *ks = NULL;
    keysrc_kind_t kind;
    clerk_token_type_t opaque;
    const char *arg, *tok, *where, *err, *issuer_source, *remote_user = NULL;
    apr_size_t len;
    json_t *j;
    int rc;

    if (!cli_parse_args(argc, argv, verify_options, &a, pos, &rc))
        return rc;
    if ((rc = cli_one_token_arg(pos, &arg)) != 0)
        return rc;
    if (a.issuer_off && a.issuers->nelts)
        return cli_usage_error("--issuer off cannot be combined with other --issuer values");
    if (a.pk && clerk_publishable_key_parse(p, a.pk, &pk, &err) != APR_SUCCESS)
        return cli_usage_error("--publishable-key: %s", err);
    if ((rc = cli_get_token(p, arg, &tok, &len)) != 0)
        return rc;

    issuer_source = build_opts(p, &a, pk, &opts);
    kind = key_source(p, &a, pk, &where);
    if (a.pem && a.jwks)
        cli_note("--pem is used, --jwks ignored (ClerkJWTKeyFile wins over ClerkJWKSFile)");

    if ((opaque = clerk_opaque_token_type(tok))) {
        if ((rc = verify_opaque(p, &a, &opts, tok, opaque, &res)) != 0)
            return rc;
    }
    else {
        if ((rc = load_keyset(p, kind, where, a.secret_key, &ks)) != 0)
            return rc;
        for (int i = 0; ks->skipped && i < ks->skipped->nelts; i++)
            cli_note("%s", APR_ARRAY_IDX(ks->skipped, i, const char *));
        clerk_verify_token(p, tok, len, ks, &opts, a.now, &res);
    }
    if (res.reason == CLERK_OK) {
        /* As the module: no usable REMOTE_USER means the token is refused. */
        if ((res.reason = clerk_export_remote_user_decision(p, res.claims, a.remote_user_claim,
                                                            &remote_user, &res.detail))
            != CLERK_OK)
            res.claims = NULL;
    }

    j = json_object();
    json_object_set_new(j, "ok", json_boolean(res.reason == CLERK_OK));
    json_object_set_new(j, "valid", json_boolean(res.reason == CLERK_OK));
    json_object_set_new(j, "reason", json_string(clerk_reason_str(res.reason)));
    json_object_set_new(j, "detail", cli_json_str_or_null(res.detail));
    json_object_set_new(j, "kid", cli_json_str_or_null(res.kid));
    json_object_set_new(j, "token_type", res.claims
                            ? json_string(clerk_token_type_name(res.claims->type)) : json_null());
    json_object_set_new(j, "remote_user", cli_json_str_or_null(remote_user));
    if (remote_user)
        add_variables(p, j, remote_user, res.claims);
    else {
        json_object_set_new(j, "env", json_null());
        json_object_set_new(j, "headers", json_null());
    }
    json_object_set_new(j, "options", options_json(p, &a, &opts, kind, where, issuer_source));
    return cli_emit(p, j, print_verdict, &a,
                    res.reason == CLERK_OK ? EXIT_VALID : EXIT_REJECTED);
}
