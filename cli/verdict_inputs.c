/*
 * What clerk-jwt verify and authenticate decide from: the key, instance and
 * check options (one table of rows, as the directives of the same names),
 * the key source the module would choose, the verification options and
 * section settings it would build, and the JSON and text of what was
 * decided with and of the variables given to the application.
 */
#include <apr_strings.h>

#include <string.h>
#include <strings.h>

#include "cli.h"
#include "clerk_backend_api.h"
#include "clerk_export.h"
#include "clerk_json.h"
#include "clerk_satellite.h"

static const char *const keysrc_names[] = {
    [CLI_KEYSRC_NONE] = "none", [CLI_KEYSRC_PEM_FILE] = "pem",
    [CLI_KEYSRC_JWKS_FILE] = "jwks", [CLI_KEYSRC_JWKS_URL] = "jwks_url",
    [CLI_KEYSRC_BAPI] = "backend_api", [CLI_KEYSRC_FAPI] = "frontend_api",
};

/* The setters get the command's argument struct, which starts with the inputs. */
static int set_api_url(void *args, const cli_optdef_t *opt, const char *val)
{
    cli_verdict_inputs_t *in = args;
    const char *err = clerk_http_check_url(in->p, val);

    if (err)
        return cli_usage_error("--api-url: %s", err);
    return cli_set_string(args, opt, val);
}

static int set_issuer(void *args, const cli_optdef_t *opt, const char *val)
{
    cli_verdict_inputs_t *in = args;

    if (!strcasecmp(val, "off")) {
        in->issuer_off = 1;
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

const cli_optdef_t cli_verdict_options[] = {
    {"pem", cli_set_string, offsetof(cli_verdict_inputs_t, pem)},
    {"jwks", cli_set_string, offsetof(cli_verdict_inputs_t, jwks)},
    {"publishable-key", cli_set_string, offsetof(cli_verdict_inputs_t, pk)},
    {"secret-key", cli_set_string, offsetof(cli_verdict_inputs_t, secret_key)},
    {"api-url", set_api_url, offsetof(cli_verdict_inputs_t, api_url)},
    {"issuer", set_issuer, offsetof(cli_verdict_inputs_t, issuers)},
    {"authorized-party", set_authorized_party, offsetof(cli_verdict_inputs_t, azp)},
    {"audience", cli_set_list, offsetof(cli_verdict_inputs_t, aud)},
    {"clock-skew", cli_set_clock_skew, offsetof(cli_verdict_inputs_t, skew)},
    {"now", cli_set_now, offsetof(cli_verdict_inputs_t, now)},
    {"accept", cli_set_accept, offsetof(cli_verdict_inputs_t, accept)},
    {"allow-pending", cli_set_flag, offsetof(cli_verdict_inputs_t, allow_pending)},
    {"remote-user-claim", set_remote_user_claim,
     offsetof(cli_verdict_inputs_t, remote_user_claim)},
    {NULL, NULL, 0},
};

void cli_verdict_inputs_init(apr_pool_t *p, cli_verdict_inputs_t *in)
{
    memset(in, 0, sizeof(*in));
    in->p = p;
    in->api_url = CLERK_DEFAULT_API_URL;
    in->remote_user_claim = CLERK_DEFAULT_REMOTE_USER_CLAIM;
    in->issuers = apr_array_make(p, 2, sizeof(const char *));
    in->azp = apr_array_make(p, 2, sizeof(const char *));
    in->aud = apr_array_make(p, 2, sizeof(const char *));
    in->now = cli_clock_now();
    in->skew = CLERK_DEFAULT_CLOCK_SKEW;
}

static int is_url(const char *s)
{
    return !strncasecmp(s, "http://", 7) || !strncasecmp(s, "https://", 8);
}

/* The key source the module would use, and where it is (NULL for none). */
static cli_keysrc_t key_source(apr_pool_t *p, const cli_verdict_inputs_t *in,
                               const char **where)
{
    *where = NULL;
    if (in->pem) {
        *where = in->pem;
        return CLI_KEYSRC_PEM_FILE;
    }
    if (in->jwks) {
        *where = in->jwks;
        return is_url(in->jwks) ? CLI_KEYSRC_JWKS_URL : CLI_KEYSRC_JWKS_FILE;
    }
    if (in->secret_key) {
        *where = apr_pstrcat(p, in->api_url, "/v1/jwks", NULL);
        return CLI_KEYSRC_BAPI;
    }
    if (in->instance) {
        *where = in->instance->jwks_url;
        return CLI_KEYSRC_FAPI;
    }
    return CLI_KEYSRC_NONE;
}

/* The verification options as the module builds them from its directives. */
static const char *build_opts(cli_verdict_inputs_t *in)
{
    static const char *const source_names[] = {
        [CLERK_ISSUERS_UNCHECKED] = "unchecked", [CLERK_ISSUERS_OFF] = "off",
        [CLERK_ISSUERS_CONFIGURED] = "issuer", [CLERK_ISSUERS_INSTANCE] = "publishable_key",
    };
    apr_pool_t *p = in->p;
    clerk_verify_settings_t s;

    s.issuers = in->issuer_off ? apr_array_make(p, 0, sizeof(const char *))
                               : in->issuers->nelts ? in->issuers : NULL;
    s.instance_issuers = NULL;
    if (in->instance) {
        /* a production satellite's tokens may also come from its clerk.<domain> */
        s.instance_issuers = clerk_satellite_issuers(p, in->instance, in->instance_fapi);
    }
    s.authorized_parties = in->azp;
    s.audiences = in->aud;
    s.clock_skew = (int)in->skew;
    s.allow_pending = in->allow_pending;
    s.accept_types = in->accept;
    return source_names[clerk_verify_opts_from_settings(&s, &in->opts)];
}

int cli_verdict_prepare(cli_verdict_inputs_t *in)
{
    const char *err;

    if (in->issuer_off && in->issuers->nelts)
        return cli_usage_error("--issuer off cannot be combined with other --issuer values");
    if (in->pk && clerk_publishable_key_parse(in->p, in->pk, &in->instance, &err) != APR_SUCCESS)
        return cli_usage_error("--publishable-key: %s", err);
    if (in->instance)
        in->instance_fapi = clerk_satellite_frontend_api(in->p, in->instance,
                                                         in->satellite_domain != NULL,
                                                         in->satellite_domain);
    in->issuer_source = build_opts(in);
    in->keysrc = key_source(in->p, in, &in->key_where);
    if (in->pem && in->jwks)
        cli_note("--pem is used, --jwks ignored (ClerkJWTKeyFile wins over ClerkJWKSFile)");
    return 0;
}

void cli_verdict_settings(const cli_verdict_inputs_t *in, clerk_auth_settings_t *s)
{
    const clerk_publishable_key_t *key = in->instance;

    memset(s, 0, sizeof(*s));
    s->sources = CLERK_FROM_HEADER | CLERK_FROM_COOKIE;
    s->accept_types = in->opts.accept_types;
    s->signed_out = CLERK_SIGNED_OUT_DENY;
    s->remote_user_claim = in->remote_user_claim;
    s->instance = key;
    if (key) {
        s->session_cookie = apr_pstrcat(in->p, "__session_", key->cookie_suffix, NULL);
        s->uat_cookie = apr_pstrcat(in->p, "__client_uat_", key->cookie_suffix, NULL);
        s->instance_fapi = in->instance_fapi;
        s->frontend_api_base = apr_pstrcat(in->p, "https://", in->instance_fapi, NULL);
    }
    s->has_secret = in->secret_key != NULL;
    /* also where a development primary may send a syncing satellite back */
    s->authorized_parties = in->azp;
}

json_t *cli_verdict_options_json(const cli_verdict_inputs_t *in)
{
    json_t *o = json_object();

    json_object_set_new(o, "key_source", json_string(keysrc_names[in->keysrc]));
    if (in->key_where)
        json_object_set_new(o, "key_file", json_string(in->key_where));
    json_object_set_new(o, "issuer_source", json_string(in->issuer_source));
    json_object_set_new(o, "issuers", cli_json_str_array(in->opts.issuers));
    json_object_set_new(o, "authorized_parties", cli_json_str_array(in->azp));
    json_object_set_new(o, "audiences", cli_json_str_array(in->aud));
    json_object_set_new(o, "clock_skew", json_integer(in->opts.clock_skew));
    json_object_set_new(o, "accept",
                        json_string(cli_type_list(in->p, in->opts.accept_types)));
    json_object_set_new(o, "allow_pending", json_boolean(in->opts.allow_pending));
    json_object_set_new(o, "remote_user_claim", json_string(in->remote_user_claim));
    json_object_set_new(o, "now", json_integer(in->now));
    return o;
}

void cli_put_verdict_options(apr_pool_t *p, const json_t *o)
{
    const json_t *issuers = json_object_get(o, "issuers");
    const char *kind = clerk_json_string(o, "key_source");
    const char *where = clerk_json_string(o, "key_file");
    const char *issuer_source = clerk_json_string(o, "issuer_source");
    apr_int64_t now = json_integer_value(json_object_get(o, "now"));

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
}

void cli_add_variables(apr_pool_t *p, json_t *j, const char *remote_user,
                       const clerk_claims_t *claims)
{
    apr_array_header_t *vars;
    json_t *env, *hdr;

    if (!remote_user) {
        json_object_set_new(j, "env", json_null());
        json_object_set_new(j, "headers", json_null());
        return;
    }
    vars = clerk_export_vars(p, claims);
    env = json_object();
    hdr = json_object();
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

void cli_put_variables(const json_t *env)
{
    const char *name;
    json_t *v;

    if (!json_is_object(env))
        return;
    printf("\nVariables the module sets (ClerkPassClaimsAs env):\n");
    json_object_foreach((json_t *)env, name, v) {
        printf("%s=", name);
        cli_put_safe(stdout, json_string_value(v));
        fputc('\n', stdout);
    }
}
