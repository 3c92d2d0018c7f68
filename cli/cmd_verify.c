/*
 * clerk-jwt verify: the module's decision for a token.  The token goes to
 * the core's decision (clerk_authenticate_request) as the Authorization
 * header of a request to a section that reads only that header and denies
 * the signed-out; the keys, options and Backend API calls are those of the
 * module (cli/verdict_inputs.c, cli/verdict_ops.c).
 */
#include <apr_general.h>
#include <apr_strings.h>

#include <string.h>

#include "cli.h"
#include "clerk_backend_api.h"
#include "clerk_json.h"

const char cli_verify_help[] =
"\n"
"Verify a token exactly as mod_auth_clerk does and print the decision: \"valid\"\n"
"or \"rejected: <reason>\" (Clerk's vocabulary, e.g. token-expired) with the\n"
"detail.  On success, print the variables the module would give the\n"
"application (REMOTE_USER, AUTH_TYPE, CLERK_*).\n"
"\n"
CLI_VERDICT_OPTIONS_HELP
"  --json                     JSON output\n"
"\n"
"The secret key is never printed.  A key set or Backend API that cannot be\n"
"reached is an I/O error (status 2), where the module answers 503.\n"
"\n"
"Exit status: 0 valid, 1 rejected, 2 usage or I/O error.\n";

/*
 * The detail verify shows: the verifier's (or the Backend API's), unless
 * the core decided without it (the token's type, its form) or refused what
 * it accepted (no REMOTE_USER).
 */
static const char *verdict_detail(const cli_asked_t *asked, const clerk_auth_outcome_t *o)
{
    if (asked->checked && (asked->res.reason != CLERK_OK || o->state == CLERK_AUTH_SIGNED_IN))
        return asked->res.detail;
    return o->detail;
}

static void print_verdict(apr_pool_t *p, const json_t *r, const void *args)
{
    const json_t *o = json_object_get(r, "options");
    const char *detail = clerk_json_string(r, "detail"), *kid = clerk_json_string(r, "kid");

    if (json_is_true(json_object_get(r, "valid")))
        printf("valid\n");
    else
        printf("rejected: %s\n", clerk_json_string(r, "reason"));
    if (detail)
        cli_put_row("detail", detail, NULL);
    if (clerk_json_string(r, "token_type"))
        cli_put_row("token type", clerk_json_string(r, "token_type"), NULL);
    cli_put_row("kid", kid ? kid : "(none)",
                !strcmp(clerk_json_string(o, "key_source"), "pem") ? " (not used with a PEM key)"
                                                                   : NULL);
    cli_put_verdict_options(p, o);
    cli_put_variables(json_object_get(r, "env"));
}

int cli_verify(apr_pool_t *p, int argc, char **argv)
{
    apr_array_header_t *pos = apr_array_make(p, 2, sizeof(const char *));
    cli_verdict_inputs_t in;
    clerk_request_view_t view = {.method = "GET"};
    clerk_auth_settings_t settings;
    clerk_auth_outcome_t out;
    clerk_auth_ops_t ops;
    cli_asked_t asked;
    const char *arg, *tok;
    apr_size_t len;
    json_t *j;
    int rc, valid;

    cli_verdict_inputs_init(p, &in);
    if (!cli_parse_args(argc, argv, cli_verdict_options, &in, pos, &rc))
        return rc;
    if ((rc = cli_one_token_arg(pos, &arg)) != 0)
        return rc;
    if ((rc = cli_verdict_prepare(&in)) != 0)
        return rc;
    if ((rc = cli_get_token(p, arg, &tok, &len)) != 0)
        return rc;

    cli_asked_init(&asked, &in, &ops);
    asked.outage_is_error = 1;
    cli_verdict_settings(&in, &settings);
    settings.sources = CLERK_FROM_HEADER;
    view.authorization = apr_pstrcat(p, "Bearer ", tok, NULL);
    clerk_authenticate_request(p, &view, &settings, &ops, &out);
    if (asked.rc)
        return asked.rc;
    valid = out.state == CLERK_AUTH_SIGNED_IN;

    j = json_object();
    json_object_set_new(j, "ok", json_boolean(valid));
    json_object_set_new(j, "valid", json_boolean(valid));
    json_object_set_new(j, "reason", json_string(clerk_reason_str(out.reason)));
    json_object_set_new(j, "detail", cli_json_str_or_null(verdict_detail(&asked, &out)));
    json_object_set_new(j, "kid", cli_json_str_or_null(asked.checked ? asked.res.kid : NULL));
    json_object_set_new(j, "token_type", valid ? json_string(clerk_token_type_name(out.claims->type))
                                               : json_null());
    json_object_set_new(j, "remote_user", cli_json_str_or_null(valid ? out.user : NULL));
    cli_add_variables(p, j, valid ? out.user : NULL, out.claims);
    json_object_set_new(j, "options", cli_verdict_options_json(&in));
    return cli_emit(p, j, print_verdict, &in, valid ? EXIT_VALID : EXIT_REJECTED);
}
