/*
 * clerk-jwt authenticate's answer: the core's outcome shown as the HTTP
 * answer the module gives for it (apply_outcome() in src/httpd/authn.c), as
 * one JSON document and its text view.  Tokens never appear: what carries
 * one (a Set-Cookie, a handshake URL's __session or __clerk_db_jwt) is
 * shown by its length.
 */
#include <apr_strings.h>

#include <string.h>

#include "cli.h"
#include "clerk_json.h"

int cli_auth_status(const clerk_auth_outcome_t *out)
{
    switch (out->state) {
    case CLERK_AUTH_SIGNED_IN:
    case CLERK_AUTH_ANONYMOUS:
    case CLERK_AUTH_SIGNED_OUT:
        /* a development handshake's result: the browser goes to the clean URL first */
        if (out->location)
            return 307;
        return out->state == CLERK_AUTH_SIGNED_OUT ? 401 : 200;
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

/* name=<N characters>: a value that may be a token, by its length. */
static const char *by_length(apr_pool_t *p, const char *name, apr_size_t name_len,
                             apr_size_t value_len)
{
    return apr_psprintf(p, "%.*s=<%" APR_SIZE_T_FMT " characters>", (int)name_len, name,
                        value_len);
}

/*
 * A Set-Cookie value as shown: its value by its length unless it is a
 * number (__client_uat, __clerk_redirect_count), for a handshake or a
 * refresh sets session and refresh tokens.
 */
static const char *shown_cookie(apr_pool_t *p, const char *set_cookie)
{
    const char *eq = strchr(set_cookie, '=');
    apr_size_t n;

    if (!eq)
        return set_cookie;
    n = strcspn(eq + 1, ";");
    if (strspn(eq + 1, "0123456789") == n)
        return set_cookie;
    return apr_pstrcat(p, by_length(p, set_cookie, (apr_size_t)(eq - set_cookie), n),
                       eq + 1 + n, NULL);
}

static json_t *shown_cookies(apr_pool_t *p, const apr_array_header_t *set_cookies)
{
    json_t *list = json_array();

    for (int i = 0; i < set_cookies->nelts; i++)
        json_array_append_new(list, json_string(shown_cookie(
                                        p, APR_ARRAY_IDX(set_cookies, i, const char *))));
    return list;
}

/*
 * A Location as shown.  A handshake URL takes the session in use along
 * (Clerk's origin-outage mode) and, for a development instance, the dev
 * browser token, which a primary also sends a syncing satellite back with.
 */
static const char *shown_location(apr_pool_t *p, const char *location)
{
    const char *s = location ? strchr(location, '?') : NULL;
    char *out;

    if (!s)
        return location;
    out = apr_pstrndup(p, location, (apr_size_t)(++s - location));
    while (*s && *s != '#') {
        apr_size_t n = strcspn(s, "&#"), name = strcspn(s, "=&#");
        const char *param = apr_pstrndup(p, s, n);

        if (name < n && ((name == 9 && !strncmp(s, "__session", 9))
                         || (name == 14 && !strncmp(s, "__clerk_db_jwt", 14))))
            param = by_length(p, s, name, n - name - 1);
        out = apr_pstrcat(p, out, param, s[n] == '&' ? "&" : "", NULL);
        s += n + (s[n] == '&');
    }
    return apr_pstrcat(p, out, s, NULL);
}

/* The headers the module adds to the answer of a resolved handshake, as Clerk's SDK. */
static json_t *cors_json(const clerk_auth_outcome_t *out)
{
    json_t *j;

    if (!out->handshake_resolved)
        return json_null();
    j = json_object();
    for (int i = 0; clerk_auth_cors_headers[i]; i += 2)
        json_object_set_new(j, clerk_auth_cors_headers[i],
                            json_string(clerk_auth_cors_headers[i + 1]));
    return j;
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

json_t *cli_auth_answer_json(apr_pool_t *p, const cli_asked_t *asked,
                             const clerk_auth_outcome_t *out, json_t *request, json_t *options)
{
    int in = out->state == CLERK_AUTH_SIGNED_IN, status = cli_auth_status(out);
    const char *detail = out->detail ? out->detail : asked->outage;
    json_t *j = json_object();

    json_object_set_new(j, "ok", json_boolean(status == 200));
    json_object_set_new(j, "state", json_string(clerk_auth_state_name(out->state)));
    json_object_set_new(j, "status", json_integer(status));
    json_object_set_new(j, "reason", json_string(clerk_reason_str(out->reason)));
    json_object_set_new(j, "clerk_reason", cli_json_str_or_null(out->sdk_reason));
    json_object_set_new(j, "message", cli_json_str_or_null(out->message));
    json_object_set_new(j, "handshake_reason", cli_json_str_or_null(out->handshake_reason));
    json_object_set_new(j, "detail", cli_json_str_or_null(detail));
    json_object_set_new(j, "warnings", cli_json_str_array(out->warnings));
    json_object_set_new(j, "carrier", json_string(out->carrier));
    json_object_set_new(j, "verification", verification_json(asked));
    json_object_set_new(j, "token_type", in ? json_string(clerk_token_type_name(out->claims->type))
                                            : json_null());
    json_object_set_new(j, "user", cli_json_str_or_null(in ? out->user : NULL));
    /* a 307 reaches no application: no variables */
    cli_add_variables(p, j, in && status == 200 ? out->user : NULL, out->claims);
    json_object_set_new(j, "location", cli_json_str_or_null(shown_location(p, out->location)));
    json_object_set_new(j, "set_cookies", shown_cookies(p, out->set_cookies));
    json_object_set_new(j, "cors_headers", cors_json(out));
    json_object_set_new(j, "retry_after", out->state == CLERK_AUTH_UNAVAILABLE
                                              ? json_integer(out->retry_after) : json_null());
    json_object_set_new(j, "request", request);
    json_object_set_new(j, "options", options);
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

/* Whether JSON string a is b's string too (both may be null). */
static int same_string(const json_t *a, const json_t *b)
{
    return json_is_string(a) && json_is_string(b)
           && !strcmp(json_string_value(a), json_string_value(b));
}

void cli_put_auth_answer(apr_pool_t *p, const json_t *r, const void *args)
{
    const json_t *check = json_object_get(r, "verification");
    const json_t *retry = json_object_get(r, "retry_after");
    const json_t *clerk_reason = json_object_get(r, "clerk_reason");
    const json_t *options = json_object_get(r, "options"), *cors = json_object_get(r, "cors_headers");
    const char *reason = clerk_json_string(r, "reason"), *name;
    json_t *v;

    printf("%s: HTTP %" JSON_INTEGER_FORMAT "\n", clerk_json_string(r, "state"),
           json_integer_value(json_object_get(r, "status")));
    if (strcmp(reason, "ok"))
        cli_put_row("reason", reason, NULL);
    /* Clerk's reason where it says more than the reason and the handshake rows */
    if (!same_string(clerk_reason, json_object_get(r, "reason"))
        && !same_string(clerk_reason, json_object_get(r, "handshake_reason")))
        put_optional("Clerk reason", clerk_reason);
    put_optional("message", json_object_get(r, "message"));
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
    if (json_is_object(cors))
        json_object_foreach((json_t *)cors, name, v)
            cli_put_row("header", apr_pstrcat(p, name, ": ", json_string_value(v), NULL), NULL);
    if (json_is_integer(retry))
        printf("  %-12s %" JSON_INTEGER_FORMAT "\n", "retry-after", json_integer_value(retry));
    cli_put_row("url", clerk_json_string(json_object_get(r, "request"), "url"), NULL);
    if (json_is_true(json_object_get(options, "satellite")))
        cli_put_row("satellite", apr_pstrcat(p, "on, the instance's tokens from ",
                                             clerk_json_string(options, "instance_fapi"), NULL),
                    json_is_true(json_object_get(options, "satellite_auto_sync"))
                        ? ", auto-sync" : NULL);
    cli_put_verdict_options(p, options);
    cli_put_variables(json_object_get(r, "env"));
}
