/*
 * clerk-jwt authenticate: the module's decision for a whole request.  The
 * request given on the command line becomes the view the module builds
 * (src/httpd/request_view.c), the options the section's settings
 * (auth_settings() in src/httpd/authn.c), and the core decides
 * (clerk_authenticate_request) with the keys and Backend API of
 * cli/verdict_ops.c; the outcome is shown as the HTTP answer the module
 * gives for it (apply_outcome()).
 */
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_uri.h>

#include <string.h>
#include <strings.h>

#include "cli.h"
#include "clerk_backend_api.h"
#include "clerk_handshake.h"
#include "clerk_json.h"

const char cli_authenticate_help[] =
"\n"
"Decide a request exactly as mod_auth_clerk (AuthType Clerk) does and print\n"
"the answer: the state (signed-in, signed-out, anonymous, sign-in-redirect,\n"
"handshake, unavailable), the HTTP status the module answers with, the reason,\n"
"the Location, Set-Cookie and Retry-After headers it sends, and for a signed-in\n"
"request the variables it gives the application (REMOTE_USER, AUTH_TYPE,\n"
"CLERK_*).\n"
"\n"
"The request:\n"
"  --url URL                  the public URL the client asked for (required);\n"
"                             its __clerk_handshake and __clerk_handshake_nonce\n"
"                             parameters are taken out, as the module does\n"
"  --method M                 the request method (default GET)\n"
"  --header 'Name: value'     a request header; repeatable.  Authorization,\n"
"                             Cookie, Sec-Fetch-Dest and Accept take part\n"
"  --cookie 'name=value'      a cookie, added to the Cookie header; repeatable\n"
"The section (as the directives of the same name):\n"
"  --token-source WHERE       header, cookie or both (default; ClerkTokenSource)\n"
"  --signed-out-action A      deny (default), pass, redirect=SIGN-IN-URL or\n"
"                             handshake (ClerkSignedOutAction; handshake needs\n"
"                             --publishable-key)\n"
"  --proxy-url URL            the Frontend API's public base (ClerkProxyURL)\n"
"  --machine-secret-key SK    verifies opaque M2M tokens (ClerkMachineSecretKey)\n"
"  --secret-key SK            also exchanges handshake nonces (ClerkSecretKey)\n"
"\n"
CLI_VERDICT_OPTIONS_HELP
"  --json                     JSON output\n"
"\n"
"A key set or Backend API that cannot be reached makes the answer 503, as in\n"
"the module.  Secret keys and tokens are never printed: a Set-Cookie value\n"
"other than a number is shown by its length.\n"
"\n"
"Example (a page view with an expired session, production instance):\n"
"  clerk-jwt authenticate --url https://app.example.com/account \\\n"
"    --header 'Sec-Fetch-Dest: document' --cookie \"__session=$TOKEN\" \\\n"
"    --cookie __client_uat=1767225000 --signed-out-action handshake \\\n"
"    --publishable-key pk_live_... --pem clerk.pem\n"
"\n"
"Exit status: 0 let through (signed-in, anonymous), 1 not, 2 usage or I/O error.\n";

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

static int set_proxy_url(void *args, const cli_optdef_t *opt, const char *val)
{
    if (!is_http_url(val))
        return cli_usage_error("--proxy-url: give the absolute URL your Clerk Frontend API "
                               "proxy answers at");
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
    {NULL, NULL, 0},
};

static const char *joined(apr_pool_t *p, const char *have, const char *sep, const char *more)
{
    return have ? apr_pstrcat(p, have, sep, more, NULL) : more;
}

/*
 * The view the module builds of this request.  Repeated headers are joined
 * with ", " as httpd merges them, Cookie headers with "; " as a browser
 * sends them; the handshake parameters leave the URL for the view.
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
        if ((clean = clerk_handshake_strip_query(p, query)))
            v->url = apr_pstrcat(p, v->url, "?", clean, NULL);
    }
    apr_uri_parse(p, v->url, &uri);     /* parsed by set_url */
    v->host = uri.hostname;
}

/* The HTTP status apply_outcome() answers with. */
static int http_status(clerk_auth_state_t state)
{
    switch (state) {
    case CLERK_AUTH_SIGNED_IN:
    case CLERK_AUTH_ANONYMOUS:
        return 200;
    case CLERK_AUTH_SIGNED_OUT:
        return 401;
    case CLERK_AUTH_SIGN_IN_REDIRECT:
        return 302;
    case CLERK_AUTH_HANDSHAKE:
        return 307;
    case CLERK_AUTH_UNAVAILABLE:
        return 503;
    default:
        return 500;
    }
}

/*
 * A Set-Cookie value as shown: its value replaced by its length unless it
 * is a number (__client_uat, __clerk_redirect_count), for a handshake sets
 * session and refresh tokens.
 */
static const char *shown_cookie(apr_pool_t *p, const char *set_cookie)
{
    const char *eq = strchr(set_cookie, '='), *attrs;
    apr_size_t n;

    if (!eq)
        return set_cookie;
    n = strcspn(eq + 1, ";");
    attrs = eq + 1 + n;
    if (strspn(eq + 1, "0123456789") == n)
        return set_cookie;
    return apr_psprintf(p, "%.*s<%" APR_SIZE_T_FMT " characters>%s", (int)(eq + 1 - set_cookie),
                        set_cookie, n, attrs);
}

static json_t *shown_cookies(apr_pool_t *p, const apr_array_header_t *set_cookies)
{
    json_t *list = json_array();

    for (int i = 0; i < set_cookies->nelts; i++)
        json_array_append_new(list, json_string(shown_cookie(
                                        p, APR_ARRAY_IDX(set_cookies, i, const char *))));
    return list;
}

/* The last token check the core asked for, or null. */
static json_t *verification_json(const cli_asked_t *asked)
{
    json_t *j;

    if (!asked->checked)
        return json_null();
    j = json_object();
    json_object_set_new(j, "reason", json_string(clerk_reason_str(asked->res.reason)));
    json_object_set_new(j, "detail", cli_json_str_or_null(asked->res.detail));
    json_object_set_new(j, "kid", cli_json_str_or_null(asked->res.kid));
    return j;
}

static json_t *request_json(const clerk_request_view_t *v)
{
    json_t *j = json_object();

    json_object_set_new(j, "method", json_string(v->method));
    json_object_set_new(j, "url", json_string(v->url));
    json_object_set_new(j, "host", json_string(v->host));
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
    return o;
}

static json_t *outcome_json(apr_pool_t *p, const clerk_request_view_t *v,
                            const clerk_auth_settings_t *s, const cli_asked_t *asked,
                            const clerk_auth_outcome_t *out)
{
    int in = out->state == CLERK_AUTH_SIGNED_IN;
    const char *detail = out->detail ? out->detail : asked->outage;
    json_t *j = json_object();

    json_object_set_new(j, "ok", json_boolean(in || out->state == CLERK_AUTH_ANONYMOUS));
    json_object_set_new(j, "state", json_string(clerk_auth_state_name(out->state)));
    json_object_set_new(j, "status", json_integer(http_status(out->state)));
    json_object_set_new(j, "reason", json_string(clerk_reason_str(out->reason)));
    json_object_set_new(j, "handshake_reason", cli_json_str_or_null(out->handshake_reason));
    json_object_set_new(j, "detail", cli_json_str_or_null(detail));
    json_object_set_new(j, "warnings", cli_json_str_array(out->warnings));
    json_object_set_new(j, "carrier", json_string(out->carrier));
    json_object_set_new(j, "verification", verification_json(asked));
    json_object_set_new(j, "token_type", in ? json_string(clerk_token_type_name(out->claims->type))
                                            : json_null());
    json_object_set_new(j, "user", cli_json_str_or_null(in ? out->user : NULL));
    cli_add_variables(p, j, in ? out->user : NULL, out->claims);
    json_object_set_new(j, "location", cli_json_str_or_null(out->location));
    json_object_set_new(j, "set_cookies", shown_cookies(p, out->set_cookies));
    json_object_set_new(j, "retry_after", out->state == CLERK_AUTH_UNAVAILABLE
                                              ? json_integer(out->retry_after) : json_null());
    json_object_set_new(j, "request", request_json(v));
    json_object_set_new(j, "options", settings_json(asked->in, s));
    return j;
}

static void put_optional(const char *label, const json_t *value)
{
    if (json_is_string(value))
        cli_put_row(label, json_string_value(value), NULL);
}

static void put_each(const char *label, const json_t *list)
{
    size_t i;
    const json_t *v;

    json_array_foreach(list, i, v)
        cli_put_row(label, json_string_value(v), NULL);
}

static void print_outcome(apr_pool_t *p, const json_t *r, const void *args)
{
    const json_t *check = json_object_get(r, "verification");
    const json_t *retry = json_object_get(r, "retry_after");
    const char *reason = clerk_json_string(r, "reason");

    printf("%s: HTTP %" JSON_INTEGER_FORMAT "\n", clerk_json_string(r, "state"),
           json_integer_value(json_object_get(r, "status")));
    if (strcmp(reason, "ok"))
        cli_put_row("reason", reason, NULL);
    put_optional("handshake", json_object_get(r, "handshake_reason"));
    put_optional("detail", json_object_get(r, "detail"));
    put_each("warning", json_object_get(r, "warnings"));
    if (strcmp(clerk_json_string(r, "carrier"), "none"))
        cli_put_row("token", clerk_json_string(r, "carrier"), NULL);
    if (json_is_object(check)) {
        const char *detail = clerk_json_string(check, "detail");
        cli_put_row("checked", apr_pstrcat(p, clerk_json_string(check, "reason"),
                                           detail ? ": " : "", detail ? detail : "", NULL),
                    NULL);
        put_optional("kid", json_object_get(check, "kid"));
    }
    put_optional("user", json_object_get(r, "user"));
    put_optional("location", json_object_get(r, "location"));
    put_each("set-cookie", json_object_get(r, "set_cookies"));
    if (json_is_integer(retry))
        printf("  %-12s %" JSON_INTEGER_FORMAT "\n", "retry-after", json_integer_value(retry));
    cli_put_row("url", clerk_json_string(json_object_get(r, "request"), "url"), NULL);
    cli_put_verdict_options(p, json_object_get(r, "options"));
    cli_put_variables(json_object_get(r, "env"));
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
    if (a->action == CLERK_SIGNED_OUT_HANDSHAKE && !in->instance)
        cli_note("--signed-out-action handshake without --publishable-key: the module "
                 "denies the signed-out (401)");
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
    if ((rc = cli_verdict_prepare(&a.in)) != 0)
        return rc;

    build_view(p, &a.request, &view);
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
    return cli_emit(p, outcome_json(p, &view, &settings, &asked, &out), print_outcome, &a,
                    out.state == CLERK_AUTH_SIGNED_IN || out.state == CLERK_AUTH_ANONYMOUS
                        ? EXIT_VALID : EXIT_REJECTED);
}
