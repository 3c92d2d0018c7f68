/*
 * SetHandler clerk-whoami: the identity that AuthType Clerk verified for the
 * request, as JSON, so that a static front end can ask the server who is
 * signed in without any backend code (README: "Who am I").
 *
 *   200 {"signed_in":true,"remote_user":...,"user_id":...,...}  (clerk_export_identity)
 *   401 {"signed_in":false,"reason":"<Clerk's reason>"}
 *
 * The 401 comes from two places: the handler, when the section lets
 * signed-out requests through (ClerkSignedOutAction pass: r->user is ""),
 * and check_authn, when it denies them (the default): then no handler runs,
 * and the body is offered for httpd's own 401 (json_body.c) if the section's
 * handler is this one.  Both answer the same, with Cache-Control: no-store
 * (an identity must not be cached by anyone) and WWW-Authenticate.
 */
#include "auth_clerk.h"

#include "ap_expr.h"
#include "clerk_json.h"

#define WHOAMI_HANDLER "clerk-whoami"

/*
 * Whether SetHandler of the request's section names clerk-whoami.  Before
 * the fixups, r->handler is not yet what SetHandler says (the core sets it
 * in its fixups): evaluate the directive's expression as the core does.
 */
static int section_is_whoami(request_rec *r)
{
    core_dir_config *conf = ap_get_core_module_config(r->per_dir_config);
    const char *err = NULL, *handler;

    if (!conf->expr_handler)
        return 0;
    handler = ap_expr_str_exec(r, conf->expr_handler, &err);
    return !err && handler && !strcmp(handler, WHOAMI_HANDLER);
}

static void no_store(request_rec *r)
{
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
}

/* The signed-out body offered for httpd's 401 of this request (st: check_authn's). */
static void offer_signed_out(request_rec *r, const clerk_request_state *st)
{
    static const int statuses[] = {HTTP_UNAUTHORIZED};
    /* a signed-out outcome without a reason of its own is one without a token */
    const char *reason = clerk_reason_str(st->reason != CLERK_OK ? st->reason
                                                                 : CLERK_SESSION_TOKEN_MISSING);

    mac_offer_json_body(r, clerk_json_compact(r->pool, clerk_export_signed_out(r->pool, reason)),
                        statuses, 1);
    no_store(r);
}

void mac_whoami_denied(request_rec *r)
{
    if (section_is_whoami(r))
        offer_signed_out(r, mac_request_state(r));
}

static int whoami_handler(request_rec *r)
{
    const clerk_request_state *st;
    const char *body;

    if (!r->handler || strcmp(r->handler, WHOAMI_HANDLER))
        return DECLINED;
    st = mac_request_state(r);
    if (!mac_is_clerk_request(r) || !st) {
        /* no Clerk decision to report: not an AuthType Clerk section, or no Require in it */
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CLERKNO(070)
                      "SetHandler " WHOAMI_HANDLER " needs AuthType Clerk and a Require "
                      "(valid-user) in its section: no Clerk authentication ran for %s", r->uri);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    ap_allow_standard_methods(r, REPLACE_ALLOW, M_GET, -1);   /* Allow: GET, HEAD */
    if (r->method_number != M_GET)     /* HEAD is M_GET too */
        return HTTP_METHOD_NOT_ALLOWED;
    if (!st->claims || !r->user || !*r->user) {
        /* ClerkSignedOutAction pass let the request through anonymously */
        offer_signed_out(r, st);
        ap_note_auth_failure(r);
        return HTTP_UNAUTHORIZED;
    }
    body = clerk_json_compact(r->pool,
                              clerk_export_identity(r->pool,
                                                    st->vars ? st->vars
                                                             : clerk_export_vars(r->pool,
                                                                                 st->claims),
                                                    r->user));
    no_store(r);
    ap_set_content_type(r, "application/json");
    ap_set_content_length(r, strlen(body));
    if (!r->header_only)
        ap_rputs(body, r);
    return OK;
}

void mac_register_whoami(void)
{
    ap_hook_handler(whoami_handler, NULL, NULL, APR_HOOK_MIDDLE);
}
