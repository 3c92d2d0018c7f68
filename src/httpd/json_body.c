/*
 * JSON error bodies: a 401 or 403 that httpd itself sends (a failed check_authn,
 * a denied Require, a handler's error status) answered with a JSON text
 * instead of httpd's HTML page.  Used by the reverification body of a denied
 * fetch (authz.c) and by clerk-whoami's signed-out answer (whoami.c).
 *
 * httpd sends the error response only after the hook or handler that decided
 * it has returned, so the body is registered beforehand with
 * ap_custom_response(): a request-level response text wins over any
 * ErrorDocument, and a text is sent as is.  If the request is granted after
 * all (another line of a RequireAny), the fixups withdraw it, so that a later
 * 401/403 of the handler is not answered with it.  The note holds the body
 * while it is registered.
 */
#include "auth_clerk.h"

#define JSON_BODY_NOTE "clerk-json-body"
#define JSON_BODY_FILTER "CLERK_JSON_BODY"

/* Whether the response text for status is the body of the note (ap_custom_response adds a '"'). */
static int body_registered(request_rec *r, int status, const char *body)
{
    core_request_config *rc = ap_get_core_module_config(r->request_config);
    const char *text;

    if (!rc->response_code_strings)
        return 0;
    text = rc->response_code_strings[ap_index_of_response(status)];
    return text && text[0] == '"' && !strcmp(text + 1, body);
}

void mac_offer_json_body(request_rec *r, const char *body, const int *statuses, int n)
{
    for (int i = 0; i < n; i++)
        ap_custom_response(r, statuses[i], body);
    apr_table_setn(r->notes, JSON_BODY_NOTE, body);
}

int mac_withdraw_json_body(request_rec *r)
{
    static const int statuses[] = {HTTP_UNAUTHORIZED, HTTP_FORBIDDEN};
    const char *body = apr_table_get(r->notes, JSON_BODY_NOTE);
    core_request_config *rc;

    if (!body)
        return DECLINED;
    rc = ap_get_core_module_config(r->request_config);
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
        if (body_registered(r, statuses[i], body))
            rc->response_code_strings[ap_index_of_response(statuses[i])] = NULL;
    apr_table_unset(r->notes, JSON_BODY_NOTE);
    return DECLINED;
}

/* ap_send_error_response() types every text it sends text/html: this filter corrects it. */
static apr_status_t json_type_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    ap_set_content_type(f->r, "application/json");
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

void mac_insert_json_body_filter(request_rec *r)
{
    const char *body = apr_table_get(r->notes, JSON_BODY_NOTE);

    if (body && body_registered(r, r->status, body))
        ap_add_output_filter(JSON_BODY_FILTER, NULL, r, r->connection);
}

void mac_register_json_body_filter(void)
{
    ap_register_output_filter(JSON_BODY_FILTER, json_type_filter, NULL, AP_FTYPE_CONTENT_SET);
}
