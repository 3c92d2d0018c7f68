/*
 * The caller's side of the core's decision (clerk_auth_ops_t) for clerk-jwt:
 * what the module answers from its key caches and Backend API client, the
 * CLI answers with one load or one call.  Keys come from the source the
 * module would use, JWTs go through clerk_verify_token() at --now, opaque
 * machine tokens through clerk_backend_verify_opaque() and handshake nonces
 * through clerk_backend_handshake_payload().
 */
#include <apr_strings.h>

#include <string.h>

#include "cli.h"
#include "clerk_backend_api.h"
#include "clerk_jwks_cache.h"

/*
 * A one-off command can wait longer than a request the module holds up
 * (ClerkHTTPTimeout): nothing queues behind it.
 */
#define CLI_HTTP_TIMEOUT_MS 10000

/* How long the module asks a client to wait when keys or the Backend API fail it. */
#define RETRY_NO_KEYS 5
#define RETRY_NO_ANSWER 5
#define RETRY_SECRET_REFUSED 30

/* One HTTP client for the command's few fetches and Backend API calls. */
static clerk_http_t *http_client(cli_asked_t *a)
{
    clerk_http_opts_t opts = {.timeout_ms = CLI_HTTP_TIMEOUT_MS};

    if (!a->http) {
        clerk_http_global_init();
        clerk_http_create(a->in->p, &opts, 1, &a->http);
    }
    return a->http;
}

/*
 * An outage: verify reports it as an I/O error (BROKEN ends the decision,
 * the command returns a->rc), in words of its own; authenticate answers as
 * the module does.
 */
static clerk_step_t outage(cli_asked_t *a, const char *error, const char *what,
                           apr_int64_t retry, apr_int64_t *retry_after)
{
    if (a->outage_is_error) {
        a->rc = cli_io_error("%s", error);
        return CLERK_STEP_BROKEN;
    }
    a->outage = what;
    *retry_after = retry;
    return CLERK_STEP_UNAVAILABLE;
}

/* The keys, loaded at the first need; a missing or unreadable key ends the command. */
static clerk_step_t load_keys(cli_asked_t *a, apr_int64_t *retry_after)
{
    cli_verdict_inputs_t *in = a->in;
    const char *err = NULL, *secret = in->keysrc == CLI_KEYSRC_BAPI ? in->secret_key : NULL;

    if (a->keys || a->rc)
        return a->rc ? CLERK_STEP_BROKEN : CLERK_STEP_DONE;
    switch (in->keysrc) {
    case CLI_KEYSRC_PEM_FILE:
        if (clerk_keyset_from_pem_file(in->p, in->key_where, &a->keys, &err) != APR_SUCCESS)
            a->rc = cli_io_error("--pem: %s", err);
        break;
    case CLI_KEYSRC_JWKS_FILE:
        if (clerk_keyset_from_jwks_file(in->p, in->key_where, &a->keys, &err) != APR_SUCCESS)
            a->rc = cli_io_error("--jwks: %s", err);
        break;
    case CLI_KEYSRC_JWKS_URL:
    case CLI_KEYSRC_BAPI:
    case CLI_KEYSRC_FAPI:
        /* The same fetch the module's key cache makes (secret never printed). */
        if (clerk_keyset_fetch(in->p, http_client(a), in->key_where,
                               secret ? clerk_backend_api_headers(in->p, secret) : NULL,
                               &a->keys, &err) != APR_SUCCESS) {
            const char *what = apr_psprintf(in->p, "key set %s: %s", in->key_where, err);
            a->keys = NULL;
            return outage(a, what, what, RETRY_NO_KEYS, retry_after);
        }
        break;
    case CLI_KEYSRC_NONE:
    default:
        a->rc = cli_usage_error("no key given: pass --pem, --jwks, --secret-key or "
                                "--publishable-key");
        break;
    }
    if (a->rc) {
        a->keys = NULL;
        return CLERK_STEP_BROKEN;
    }
    for (int i = 0; a->keys->skipped && i < a->keys->skipped->nelts; i++)
        cli_note("%s", APR_ARRAY_IDX(a->keys->skipped, i, const char *));
    return CLERK_STEP_DONE;
}

static clerk_step_t ask_verify_jwt(void *ctx, const char *token, unsigned accept_types,
                                   apr_int64_t clock_skew, const char *carrier,
                                   clerk_claims_t **claims, clerk_reason_t *reason,
                                   apr_int64_t *retry_after)
{
    cli_asked_t *a = ctx;
    clerk_verify_opts_t opts = a->in->opts;
    clerk_step_t step = load_keys(a, retry_after);

    if (step != CLERK_STEP_DONE)
        return step;
    opts.accept_types = accept_types;
    if (clock_skew >= 0)
        opts.clock_skew = clock_skew;
    clerk_verify_token(a->in->p, token, strlen(token), a->keys, &opts, a->in->now, &a->res);
    a->checked = 1;
    *reason = a->res.reason;
    *claims = a->res.claims;
    return CLERK_STEP_DONE;
}

static clerk_step_t ask_check_opaque(void *ctx, const char *token, clerk_token_type_t type,
                                     const char *carrier, clerk_claims_t **claims,
                                     clerk_reason_t *reason, apr_int64_t *retry_after)
{
    cli_asked_t *a = ctx;
    cli_verdict_inputs_t *in = a->in;
    const char *secret = type == CLERK_TYPE_M2M && a->machine_secret ? a->machine_secret
                                                                     : in->secret_key;
    const char *detail = NULL;
    clerk_bapi_outcome_t answer;

    memset(&a->res, 0, sizeof(a->res));
    answer = clerk_backend_verify_opaque(in->p, http_client(a), in->api_url, secret, token, type,
                                         in->opts.audiences, in->now, &a->res, &detail,
                                         NULL);
    if (answer != CLERK_BAPI_ANSWERED)
        return outage(a, apr_pstrcat(in->p, detail, " (the module answers 503)", NULL), detail,
                      answer == CLERK_BAPI_SECRET_REJECTED ? RETRY_SECRET_REFUSED
                                                           : RETRY_NO_ANSWER, retry_after);
    a->checked = 1;
    *reason = a->res.reason;
    *claims = a->res.claims;
    return CLERK_STEP_DONE;
}

static clerk_step_t ask_acquire_keys(void *ctx, const clerk_keyset_t **keys, void **hold,
                                     apr_int64_t *retry_after)
{
    cli_asked_t *a = ctx;
    clerk_step_t step = load_keys(a, retry_after);

    *keys = a->keys;
    *hold = NULL;
    return step;
}

/* The keys stay loaded for the command's next question. */
static void ask_release_keys(void *ctx, void *hold)
{
}

/*
 * As the module: a nonce the Backend API cannot resolve now leaves the
 * cookies to decide (DONE without directives), it is not a 503.
 */
static clerk_step_t ask_exchange_nonce(void *ctx, const char *nonce,
                                       apr_array_header_t **directives, const char **detail,
                                       apr_int64_t *retry_after)
{
    cli_asked_t *a = ctx;
    cli_verdict_inputs_t *in = a->in;

    if (clerk_backend_handshake_payload(in->p, http_client(a), in->api_url, in->secret_key,
                                        nonce, directives, detail) != CLERK_BAPI_ANSWERED)
        *directives = NULL;
    return CLERK_STEP_DONE;
}

/*
 * Clerk's silent refresh, as the module asks for it.  The command forwards
 * no request headers (it has only those given), only the origin of --url.
 */
static clerk_step_t ask_refresh_session(void *ctx, const char *expired_token,
                                        const char *refresh_token, int suffixed_cookies,
                                        clerk_refresh_result_t *result,
                                        apr_int64_t *retry_after)
{
    cli_asked_t *a = ctx;
    cli_verdict_inputs_t *in = a->in;
    clerk_refresh_request_t req = {expired_token, refresh_token, a->request_origin, NULL,
                                   suffixed_cookies};
    const char *sid, *detail = NULL;

    result->set_cookies = NULL;
    if ((result->error = clerk_refresh_refusal(in->p, in->secret_key, &req, &sid, &detail)))
        return CLERK_STEP_DONE;
    switch (clerk_backend_refresh_session(in->p, http_client(a), in->api_url, in->secret_key,
                                          &req, &result->set_cookies, &result->error,
                                          &detail)) {
    case CLERK_BAPI_ANSWERED:
        return CLERK_STEP_DONE;
    case CLERK_BAPI_SECRET_REJECTED:
        return outage(a, apr_pstrcat(in->p, detail, " (the module answers 503)", NULL), detail,
                      RETRY_SECRET_REFUSED, retry_after);
    default:
        /* as the module: the refresh failed, a handshake will do */
        result->set_cookies = NULL;
        if (!result->error)
            result->error = CLERK_REFRESH_FETCH_ERROR;
        return CLERK_STEP_DONE;
    }
}

void cli_asked_init(cli_asked_t *a, cli_verdict_inputs_t *in, clerk_auth_ops_t *ops)
{
    memset(a, 0, sizeof(*a));
    a->in = in;
    ops->ctx = a;
    ops->verify_jwt = ask_verify_jwt;
    ops->check_opaque = ask_check_opaque;
    ops->acquire_keys = ask_acquire_keys;
    ops->release_keys = ask_release_keys;
    ops->exchange_nonce = ask_exchange_nonce;
    ops->refresh_session = ask_refresh_session;
}
