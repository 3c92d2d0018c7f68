/*
 * What no request may carry in or pass on.  As soon as a request is read:
 * client-sent X-Clerk-* headers are removed (they are the module's to set),
 * and the handshake result parameters leave the request line (they are
 * secrets: the access log, REQUEST_URI and the application never see them).
 * Before a subrequest or internal redirect is decided: nothing of the
 * parent's identity is inherited.
 */
#include "auth_clerk.h"

#include "apr_lib.h"

/*
 * X-Clerk-* request headers are the module's to set; whatever a client sent
 * under such a name (any case, '-' or '_') is removed before anyone reads it.
 */
static int is_clerk_header(const char *name)
{
    static const char prefix[] = "x-clerk-";
    for (int i = 0; prefix[i]; i++) {
        char c = (char)apr_tolower(name[i]);
        if (c == '_')
            c = '-';
        if (c != prefix[i])
            return 0;
    }
    return 1;
}

static int collect_clerk_header(void *rec, const char *key, const char *value)
{
    if (is_clerk_header(key))
        APR_ARRAY_PUSH((apr_array_header_t *)rec, const char *) = key;
    return 1;
}

static void unset_names(apr_table_t *t, const apr_array_header_t *names)
{
    for (int i = 0; i < names->nelts; i++)
        apr_table_unset(t, APR_ARRAY_IDX(names, i, const char *));
}

static void strip_spoofed_headers(request_rec *r)
{
    apr_array_header_t *names = apr_array_make(r->pool, 0, sizeof(const char *));

    apr_table_do(collect_clerk_header, names, r->headers_in, NULL);
    for (int i = 0; i < names->nelts; i++)
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, CLERKNO(002)
                      "removed client-sent header %s", APR_ARRAY_IDX(names, i, const char *));
    unset_names(r->headers_in, names);
}


/* userdata of the initial request's pool, where the handshake parameters are kept */
#define HANDSHAKE_PARAMS_KEY "auth_clerk:handshake-params"

static const request_rec *initial_request(const request_rec *r)
{
    while (r->main || r->prev)
        r = r->main ? r->main : r->prev;
    return r;
}

const handshake_params *mac_handshake_params(const request_rec *r)
{
    void *hp = NULL;
    apr_pool_userdata_get(&hp, HANDSHAKE_PARAMS_KEY, initial_request(r)->pool);
    return hp;
}

/*
 * A handshake result comes back in the query of a page URL, and the
 * __clerk_handshake value embeds a fresh session token.  Before anything
 * else sees the request (the access log's %r, REQUEST_URI, THE_REQUEST,
 * QUERY_STRING, mod_rewrite, the application), the handshake parameters
 * are removed from the request line, from every view httpd keeps of it.
 * Done for every request: outside a handshake section they mean nothing to
 * httpd and are as secret.
 */
static void take_handshake_params(request_rec *r)
{
    handshake_params *hp;
    const char *clean, *path, *rest;
    apr_size_t path_len, method_len;

    if (!r->args || (!strstr(r->args, "__clerk_") && !strstr(r->args, "__dev_session")))
        return;
    clean = clerk_handshake_strip_query(r->pool, r->args);
    if (clean && !strcmp(clean, r->args))
        return;
    hp = apr_pcalloc(r->pool, sizeof(*hp));
    hp->handshake = clerk_query_param(r->pool, r->args, "__clerk_handshake");
    hp->nonce = clerk_query_param(r->pool, r->args, "__clerk_handshake_nonce");
    hp->dev_browser = clerk_query_param(r->pool, r->args, "__clerk_db_jwt");
    apr_pool_userdata_setn(hp, HANDSHAKE_PARAMS_KEY, NULL, r->pool);

    path = r->unparsed_uri;
    path_len = strcspn(path, "?");
    /* the request line is "<method> <unparsed uri>[ <protocol>]" */
    method_len = strlen(r->method);
    rest = NULL;
    if (r->the_request && !strncmp(r->the_request, r->method, method_len)
        && r->the_request[method_len] == ' '
        && !strncmp(r->the_request + method_len + 1, r->unparsed_uri, strlen(r->unparsed_uri)))
        rest = r->the_request + method_len + 1 + strlen(r->unparsed_uri);
    r->args = (char *)clean;
    r->parsed_uri.query = r->args;
    r->unparsed_uri = apr_pstrcat(r->pool, apr_pstrmemdup(r->pool, path, path_len),
                                  clean ? "?" : "", clean ? clean : "", NULL);
    r->the_request = apr_pstrcat(r->pool, r->method, " ", r->unparsed_uri,
                                 rest ? rest : " ", rest ? "" : r->protocol, NULL);
    ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r,
                  "handshake parameters taken out of the request line");
}

int mac_post_read_request(request_rec *r)
{
    strip_spoofed_headers(r);
    take_handshake_params(r);
    return DECLINED;
}

/*
 * Variables this module sets, the HTTP_X_CLERK_* that ap_add_common_vars
 * (mod_include) makes of its headers, and the REDIRECT_ copies of both.
 */
static int collect_clerk_var(void *rec, const char *key, const char *value)
{
    const char *name = strncmp(key, "REDIRECT_", 9) ? key : key + 9;

    if (!strncmp(name, "CLERK_", 6) || !strncmp(name, "HTTP_X_CLERK_", 13))
        APR_ARRAY_PUSH((apr_array_header_t *)rec, const char *) = key;
    return 1;
}

/*
 * A subrequest (mod_include, mod_rewrite look-ahead) copies its parent's
 * environment and request headers, and an internal redirect renames the
 * environment to REDIRECT_*: whatever this module exported for the parent
 * would reach a section that decides otherwise, or does not use Clerk at
 * all.  Every decision about such a request starts without them.
 */
void mac_clean_slate(request_rec *r)
{
    apr_array_header_t *names;
    int parent_decided = 0;

    if (!r->main && !r->prev)
        return;
    for (const request_rec *up = r->main ? r->main : r->prev; up && !parent_decided;
         up = up->main ? up->main : up->prev)
        parent_decided = mac_request_state(up) != NULL;
    if (!parent_decided)
        return;
    names = apr_array_make(r->pool, 8, sizeof(const char *));
    apr_table_do(collect_clerk_var, names, r->subprocess_env, NULL);
    unset_names(r->subprocess_env, names);
    /* ap_add_common_vars of the parent (mod_include) put these in: the CGI makes its own */
    apr_table_unset(r->subprocess_env, "REMOTE_USER");
    apr_table_unset(r->subprocess_env, "AUTH_TYPE");
    /* the table may be the parent's own (internal redirects share it) */
    r->headers_in = apr_table_copy(r->pool, r->headers_in);
    names->nelts = 0;
    apr_table_do(collect_clerk_header, names, r->headers_in, NULL);
    unset_names(r->headers_in, names);
}
