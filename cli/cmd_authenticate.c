/*
 * clerk-jwt authenticate: the module's decision for a whole request.  The
 * request given on the command line becomes the view the module builds
 * (src/httpd/request_view.c), the options the section's settings
 * (auth_settings() in src/httpd/authn.c), and the core decides
 * (clerk_authenticate_request) with the keys and Backend API of
 * cli/verdict_ops.c; the outcome is shown as the HTTP answer the module
 * gives for it (apply_outcome(); cli/auth_answer.c).
 */
#include <apr_general.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_uri.h>

#include <string.h>
#include <strings.h>

#include "cli.h"
#include "clerk_backend_api.h"
#include "clerk_export.h"
#include "clerk_handshake.h"
#include "clerk_satellite.h"

const char cli_authenticate_help[] =
"\n"
"Decide a request exactly as mod_auth_clerk (AuthType Clerk) does and print\n"
"the answer: the state (signed-in, signed-out, anonymous, sign-in-redirect,\n"
"handshake, unavailable), the HTTP status the module answers with, the reason,\n"
"Clerk's reason and message (X-Clerk-Auth-Reason and -Message with\n"
"ClerkDebugHeaders On), the Location, Set-Cookie, CORS and Retry-After headers\n"
"it sends, and for a request let through signed in the variables it gives the\n"
"application (REMOTE_USER, AUTH_TYPE, CLERK_*).\n"
"\n"
"The request:\n"
"  --url URL                  the public URL the client asked for (required);\n"
"                             its __clerk_handshake, __clerk_handshake_nonce,\n"
"                             __clerk_db_jwt (a development instance's dev\n"
"                             browser token) and __clerk_help parameters are\n"
"                             taken out, as the module does\n"
"  --method M                 the request method (default GET)\n"
"  --header 'Name: value'     a request header; repeatable.  Authorization,\n"
"                             Cookie, Sec-Fetch-Dest, Accept and Referer (the\n"
"                             cross-origin check) take part\n"
"  --cookie 'name=value'      a cookie, added to the Cookie header; repeatable\n"
"The section (as the directives of the same name):\n"
"  --token-source WHERE       header, cookie or both (default; ClerkTokenSource)\n"
"  --signed-out-action A      deny (default), pass, redirect=SIGN-IN-URL or\n"
"                             handshake (ClerkSignedOutAction; handshake needs\n"
"                             --publishable-key)\n"
"  --proxy-url URL            the Frontend API's public base, absolute or a path\n"
"                             on this site such as /__clerk (ClerkProxyURL)\n"
"  --machine-secret-key SK    verifies opaque M2M tokens (ClerkMachineSecretKey)\n"
"  --secret-key SK            also exchanges handshake nonces and refreshes\n"
"                             expired sessions (ClerkSecretKey)\n"
"Satellite domains (as configtest, --satellite needs --domain or --proxy-url,\n"
"and with a pk_test_ key --sign-in-url):\n"
"  --satellite                this site is a satellite domain (ClerkIsSatellite On)\n"
"  --domain HOST              the satellite's domain (ClerkDomain): a production\n"
"                             satellite's Frontend API is clerk.HOST, and its\n"
"                             tokens (issuer https://clerk.HOST) are the instance's\n"
"  --sign-in-url URL          the primary domain's sign-in page, where a\n"
"                             development satellite syncs (ClerkSignInURL)\n"
"  --satellite-auto-sync      a satellite without cookies syncs at once instead of\n"
"                             answering signed out (ClerkSatelliteAutoSync On)\n"
"  --authorized-party ORIGIN  (below) also names where a development primary may\n"
"                             send a syncing satellite back\n"
"\n"
CLI_VERDICT_OPTIONS_HELP
"  --json                     JSON output\n"
"\n"
"A key set or Backend API that cannot be reached makes the answer 503, as in\n"
"the module.  Secret keys and tokens are never printed: a Set-Cookie value\n"
"other than a number, and the __session and __clerk_db_jwt parameters of a\n"
"Location, are shown by their length.\n"
"\n"
"Example (a page view with an expired session, production instance):\n"
"  clerk-jwt authenticate --url https://app.example.com/account \\\n"
"    --header 'Sec-Fetch-Dest: document' --cookie \"__session=$TOKEN\" \\\n"
"    --cookie __client_uat=1767225000 --signed-out-action handshake \\\n"
"    --publishable-key pk_live_... --pem clerk.pem\n"
"\n"
"Exit status: 0 let through (HTTP 200: signed-in, anonymous), 1 not (also a\n"
"signed-in answer of 307: a development handshake's result sends the browser to\n"
"the clean URL first, the application is not reached), 2 usage or I/O error.\n";

/* The request, as given. */
typedef struct request_args {
    const char *url, *method;
    apr_array_header_t *headers, *cookies;
} request_args_t;

/* The section's directives beyond those verify shares. */
typedef struct section_args {
    unsigned sources;
    clerk_signed_out_action_t action;
    const char *sign_in_url, *proxy_url, *machine_secret;
    int satellite, satellite_auto_sync;
    const char *domain, *satellite_sign_in_url;
} section_args_t;

typedef struct auth_args {
    cli_verdict_inputs_t in;        /* first: cli_verdict_options' offsets are into it */
    request_args_t request;
    section_args_t section;
} auth_args_t;

static const char *const action_names[] = {
    [CLERK_SIGNED_OUT_DENY] = "deny", [CLERK_SIGNED_OUT_PASS] = "pass",
    [CLERK_SIGNED_OUT_REDIRECT] = "redirect", [CLERK_SIGNED_OUT_HANDSHAKE] = "handshake",
};

static int is_http_url(const char *s)
{
    return !strncmp(s, "https://", 8) || !strncmp(s, "http://", 7);
}

static int set_url(void *args, const cli_optdef_t *opt, const char *val)
{
    auth_args_t *a = args;
    apr_uri_t uri;

    if (!is_http_url(val) || apr_uri_parse(a->in.p, val, &uri) != APR_SUCCESS || !uri.hostname
        || !*uri.hostname)
        return cli_usage_error("--url '%s' is not an absolute http(s) URL", val);
    return cli_set_string(args, opt, val);
}

static int set_header(void *args, const cli_optdef_t *opt, const char *val)
{
    size_t name = strcspn(val, ":");

    if (!val[name] || !name || strcspn(val, " \t") < name)
        return cli_usage_error("--header '%s' is not 'Name: value'", val);
    return cli_set_list(args, opt, val);
}

static int set_cookie(void *args, const cli_optdef_t *opt, const char *val)
{
    size_t name = strcspn(val, "=");

    if (!val[name] || !name || strcspn(val, " \t;") < name)
        return cli_usage_error("--cookie '%s' is not 'name=value'", val);
    return cli_set_list(args, opt, val);
}

static int set_token_source(void *args, const cli_optdef_t *opt, const char *val)
{
    unsigned *sources = CLI_SLOT(args, opt, unsigned);

    if (!strcmp(val, "header"))
        *sources = CLERK_FROM_HEADER;
    else if (!strcmp(val, "cookie"))
        *sources = CLERK_FROM_COOKIE;
    else if (!strcmp(val, "both"))
        *sources = CLERK_FROM_HEADER | CLERK_FROM_COOKIE;
    else
        return cli_usage_error("--token-source '%s' is not header, cookie or both", val);
    return 0;
}

/* As ClerkSignedOutAction; the sign-in URL of redirect rides along after '='. */
static int set_signed_out_action(void *args, const cli_optdef_t *opt, const char *val)
{
    auth_args_t *a = args;

    if (!strncmp(val, "redirect", 8) && (!val[8] || val[8] == '=')) {
        const char *url = val[8] ? val + 9 : "";
        if (!is_http_url(url) && *url != '/')
            return cli_usage_error("--signed-out-action redirect=URL: give the sign-in URL "
                                   "(absolute, or a path)");
        a->section.action = CLERK_SIGNED_OUT_REDIRECT;
        a->section.sign_in_url = url;
        return 0;
    }
    for (size_t i = 0; i < sizeof(action_names) / sizeof(action_names[0]); i++)
        if (i != CLERK_SIGNED_OUT_REDIRECT && !strcmp(val, action_names[i])) {
            a->section.action = (clerk_signed_out_action_t)i;
            return 0;
        }
    return cli_usage_error("--signed-out-action '%s' is not deny, pass, redirect=URL or "
                           "handshake", val);
}

/* A URL the module may send as a Location: one header line, no space. */
static int is_header_url(const char *s)
{
    return clerk_export_header_safe(s) && !strchr(s, ' ');
}

/* As ClerkProxyURL: a relative one (/__clerk) is a path on the request's own origin. */
static int set_proxy_url(void *args, const cli_optdef_t *opt, const char *val)
{
    if ((!is_http_url(val) && *val != '/') || !strncmp(val, "//", 2) || !is_header_url(val))
        return cli_usage_error("--proxy-url: give the URL (absolute, or a path on this site) "
                               "your Clerk Frontend API proxy answers at");
    return cli_set_string(args, opt, val);
}

/* As ClerkDomain: a host name, kept in lower case as the module keeps it. */
static int set_domain(void *args, const cli_optdef_t *opt, const char *val)
{
    char *host;

    if (!clerk_satellite_domain_ok(val))
        return cli_usage_error("--domain '%s' is not a host name (give the satellite's domain, "
                               "e.g. example.net, no scheme)", val);
    host = apr_pstrdup(((auth_args_t *)args)->in.p, val);
    for (char *c = host; *c; c++)
        *c = (char)apr_tolower(*c);
    *CLI_SLOT(args, opt, const char *) = host;
    return 0;
}

/* As ClerkSignInURL. */
static int set_satellite_sign_in_url(void *args, const cli_optdef_t *opt, const char *val)
{
    if (!is_http_url(val) || !is_header_url(val))
        return cli_usage_error("--sign-in-url: give the absolute URL of the primary domain's "
                               "sign-in page");
    return cli_set_string(args, opt, val);
}

static const cli_optdef_t request_options[] = {
    {"url", set_url, offsetof(auth_args_t, request.url)},
    {"method", cli_set_string, offsetof(auth_args_t, request.method)},
    {"header", set_header, offsetof(auth_args_t, request.headers)},
    {"cookie", set_cookie, offsetof(auth_args_t, request.cookies)},
    {"token-source", set_token_source, offsetof(auth_args_t, section.sources)},
    {"signed-out-action", set_signed_out_action, offsetof(auth_args_t, section.action)},
    {"proxy-url", set_proxy_url, offsetof(auth_args_t, section.proxy_url)},
    {"machine-secret-key", cli_set_string, offsetof(auth_args_t, section.machine_secret)},
    {"satellite", cli_set_flag, offsetof(auth_args_t, section.satellite)},
    {"domain", set_domain, offsetof(auth_args_t, section.domain)},
    {"sign-in-url", set_satellite_sign_in_url,
     offsetof(auth_args_t, section.satellite_sign_in_url)},
    {"satellite-auto-sync", cli_set_flag, offsetof(auth_args_t, section.satellite_auto_sync)},
    {NULL, NULL, 0},
};

static const char *joined(apr_pool_t *p, const char *have, const char *sep, const char *more)
{
    return have ? apr_pstrcat(p, have, sep, more, NULL) : more;
}

/*
 * The view the module builds of this request.  Repeated headers are joined
 * with ", " as httpd merges them, Cookie headers with "; " as a browser
 * sends them; the handshake parameters and the dev browser token leave the
 * URL for the view (request_hygiene.c).
 */
static void build_view(apr_pool_t *p, const request_args_t *a, clerk_request_view_t *v)
{
    apr_size_t base = strcspn(a->url, "?#");        /* a client never sends the #fragment */
    const char *query = a->url[base] == '?' ? a->url + base : NULL, *clean;
    apr_uri_t uri;

    memset(v, 0, sizeof(*v));
    v->method = a->method;
    for (int i = 0; i < a->headers->nelts; i++) {
        const char *h = APR_ARRAY_IDX(a->headers, i, const char *), *val = strchr(h, ':') + 1;
        const char *name = apr_pstrndup(p, h, (apr_size_t)(val - 1 - h));
        char *value = apr_pstrdup(p, val + strspn(val, " \t"));
        apr_size_t n = strlen(value);

        while (n && (value[n - 1] == ' ' || value[n - 1] == '\t'))
            value[--n] = '\0';
        if (!strcasecmp(name, "Authorization"))
            v->authorization = joined(p, v->authorization, ", ", value);
        else if (!strcasecmp(name, "Cookie"))
            v->cookies = joined(p, v->cookies, "; ", value);
        else if (!strcasecmp(name, "Sec-Fetch-Dest"))
            v->sec_fetch_dest = joined(p, v->sec_fetch_dest, ", ", value);
        else if (!strcasecmp(name, "Accept"))
            v->accept = joined(p, v->accept, ", ", value);
        else if (!strcasecmp(name, "Referer"))
            v->referer = joined(p, v->referer, ", ", value);
        else
            cli_note("header %s takes no part in the decision", name);
    }
    for (int i = 0; i < a->cookies->nelts; i++)
        v->cookies = joined(p, v->cookies, "; ", APR_ARRAY_IDX(a->cookies, i, const char *));
    v->url = apr_pstrndup(p, a->url, base);
    if (query) {
        query = apr_pstrndup(p, query + 1, strcspn(query + 1, "#"));
        v->handshake = clerk_query_param(p, query, "__clerk_handshake");
        v->handshake_nonce = clerk_query_param(p, query, "__clerk_handshake_nonce");
        v->dev_browser = clerk_query_param(p, query, "__clerk_db_jwt");
        if ((clean = clerk_handshake_strip_query(p, query)))
            v->url = apr_pstrcat(p, v->url, "?", clean, NULL);
    }
    apr_uri_parse(p, v->url, &uri);     /* parsed by set_url */
    v->host = uri.hostname;
}

static json_t *request_json(const clerk_request_view_t *v)
{
    json_t *j = json_object();

    json_object_set_new(j, "method", json_string(v->method));
    json_object_set_new(j, "url", json_string(v->url));
    json_object_set_new(j, "host", json_string(v->host));
    json_object_set_new(j, "referer", cli_json_str_or_null(v->referer));
    /* whether, never what: the dev browser token is a credential */
    json_object_set_new(j, "dev_browser_in_url", json_boolean(v->dev_browser != NULL));
    return j;
}

static json_t *settings_json(const cli_verdict_inputs_t *in, const clerk_auth_settings_t *s)
{
    json_t *o = cli_verdict_options_json(in);

    json_object_set_new(o, "token_source",
                        json_string(s->sources == CLERK_FROM_HEADER   ? "header"
                                    : s->sources == CLERK_FROM_COOKIE ? "cookie"
                                                                      : "both"));
    json_object_set_new(o, "signed_out_action", json_string(action_names[s->signed_out]));
    json_object_set_new(o, "sign_in_url", cli_json_str_or_null(s->sign_in_url));
    json_object_set_new(o, "frontend_api_base", cli_json_str_or_null(s->frontend_api_base));
    json_object_set_new(o, "instance_fapi", cli_json_str_or_null(s->instance_fapi));
    json_object_set_new(o, "satellite", json_boolean(s->satellite));
    json_object_set_new(o, "domain", cli_json_str_or_null(in->satellite_domain));
    json_object_set_new(o, "satellite_sign_in_url", cli_json_str_or_null(s->satellite_sign_in_url));
    json_object_set_new(o, "satellite_auto_sync", json_boolean(s->satellite_auto_sync));
    return o;
}

/* The section's settings as auth_settings() builds them from the directives. */
static void section_settings(const cli_verdict_inputs_t *in, const section_args_t *a,
                             clerk_auth_settings_t *s)
{
    cli_verdict_settings(in, s);
    s->sources = a->sources;
    s->signed_out = a->action;
    s->sign_in_url = a->sign_in_url;
    if (in->instance && a->proxy_url)
        s->frontend_api_base = a->proxy_url;
    s->has_machine_secret = a->machine_secret != NULL;
    s->satellite = a->satellite;
    s->satellite_sign_in_url = a->satellite_sign_in_url;
    s->satellite_auto_sync = a->satellite_auto_sync;
    if (a->action == CLERK_SIGNED_OUT_HANDSHAKE && !in->instance)
        cli_note("--signed-out-action handshake without --publishable-key: the module "
                 "denies the signed-out (401)");
}

/*
 * What configtest refuses (check_satellites in src/httpd/config.c: Clerk's
 * SDK asserts the same), as usage errors; 0 or the exit status.
 */
static int check_satellite(const auth_args_t *a)
{
    const section_args_t *s = &a->section;
    const char *missing;

    if (!s->satellite) {
        if (s->domain || s->satellite_sign_in_url || s->satellite_auto_sync)
            cli_note("--domain, --sign-in-url and --satellite-auto-sync take effect only "
                     "with --satellite");
        return 0;
    }
    missing = clerk_satellite_missing(a->in.instance, s->domain, s->proxy_url,
                                      s->satellite_sign_in_url);
    if (missing && !strncmp(missing, "ClerkDomain", 11))
        return cli_usage_error("--satellite needs --domain (or --proxy-url), as "
                               "ClerkIsSatellite On needs ClerkDomain");
    if (missing)
        return cli_usage_error("--satellite with a development instance (pk_test_) needs "
                               "--sign-in-url, as ClerkIsSatellite On needs ClerkSignInURL");
    return 0;
}

int cli_authenticate(apr_pool_t *p, int argc, char **argv)
{
    apr_array_header_t *pos = apr_array_make(p, 1, sizeof(const char *));
    auth_args_t a = {
        .request = {.method = "GET", .headers = apr_array_make(p, 4, sizeof(const char *)),
                    .cookies = apr_array_make(p, 4, sizeof(const char *))},
        .section = {.sources = CLERK_FROM_HEADER | CLERK_FROM_COOKIE,
                    .action = CLERK_SIGNED_OUT_DENY},
    };
    clerk_auth_settings_t settings;
    clerk_request_view_t view;
    clerk_auth_outcome_t out;
    clerk_auth_ops_t ops;
    cli_asked_t asked;
    int rc;

    cli_verdict_inputs_init(p, &a.in);
    if (!cli_parse_args(argc, argv, cli_optdefs_cat(p, request_options, cli_verdict_options),
                        &a, pos, &rc))
        return rc;
    if (pos->nelts)
        return cli_usage_error("takes no arguments, only options (the request is --url, "
                               "--header, --cookie)");
    if (!a.request.url)
        return cli_usage_error("missing --url");
    if (a.section.satellite)
        a.in.satellite_domain = a.section.domain;
    if ((rc = cli_verdict_prepare(&a.in)) != 0 || (rc = check_satellite(&a)) != 0)
        return rc;

    build_view(p, &a.request, &view);
    view.now = a.in.now;             /* --now, as verification sees it */
    section_settings(&a.in, &a.section, &settings);
    cli_asked_init(&asked, &a.in, &ops);
    asked.machine_secret = a.section.machine_secret;
    {
        apr_uri_t uri;
        apr_uri_parse(p, view.url, &uri);   /* parsed by set_url */
        asked.request_origin = apr_pstrcat(p, uri.scheme, "://", uri.hostinfo, NULL);
    }
    clerk_authenticate_request(p, &view, &settings, &ops, &out);
    if (asked.rc)
        return asked.rc;
    return cli_emit(p, cli_auth_answer_json(p, &asked, &out, request_json(&view),
                                            settings_json(&a.in, &settings)),
                    cli_put_auth_answer, &a,
                    cli_auth_status(&out) == 200 ? EXIT_VALID : EXIT_REJECTED);
}
