/*
 * Backend API verification answers (POST /m2m_tokens/verify,
 * /oauth_applications/access_tokens/verify, /api_keys/verify): the JSON
 * body through clerk_claims_from_bapi for each machine token type, with and
 * without configured audiences; accepted answers are exported.  The same
 * bytes as an answer to the session refresh (POST /v1/sessions/<sid>/refresh)
 * under each kind of status, whose accepted cookies must be header-safe and
 * hold the session token found in them, and as an expired session token
 * whose sid the refresh decodes (which must then be a bare session id).
 */
#include "fuzz.h"

#include "clerk_backend_api.h"
#include "clerk_export.h"
#include "clerk_json.h"

static apr_array_header_t *audiences;

static void init(void)
{
    audiences = apr_array_make(fuzz_global_pool(), 1, sizeof(const char *));
    APR_ARRAY_PUSH(audiences, const char *) = "api://one";
}

static void refresh_answer(apr_pool_t *p, const uint8_t *data, size_t size)
{
    static const int statuses[] = {200, 201, 204, 400, 401, 500};

    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
        apr_array_header_t *cookies = NULL;
        const char *reason = NULL, *detail = NULL;
        clerk_bapi_outcome_t o = clerk_refresh_answer(p, statuses[i], (const char *)data, size,
                                                      &cookies, &reason, &detail);
        if (!detail != !reason || (o != CLERK_BAPI_ANSWERED && !reason))
            abort();
        if (!reason) {
            if (!cookies || !cookies->nelts || cookies->nelts > CLERK_REFRESH_MAX_COOKIES
                || !clerk_refresh_session_token(p, cookies))
                abort();
            for (int k = 0; k < cookies->nelts; k++)
                for (const char *c = APR_ARRAY_IDX(cookies, k, const char *); *c; c++)
                    if ((unsigned char)*c < 0x20 || *c == 0x7f)
                        abort();
        }
        else if (cookies || strspn(reason, "abcdefghijklmnopqrstuvwxyz"
                                            "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
                                 != strlen(reason))
            abort();
    }
}

static void refresh_sid(apr_pool_t *p, const uint8_t *data, size_t size)
{
    clerk_refresh_request_t req = {apr_pstrmemdup(p, (const char *)data, size), "rt_1",
                                   "https://app.example.com", NULL, 1};
    const char *sid = NULL, *detail = NULL;

    if (memchr(data, '\0', size))
        return;     /* a C string ends at its NUL: nothing new to reach */
    if (!clerk_refresh_refusal(p, "sk_test_x", &req, &sid, &detail)) {
        if (!sid || strncmp(sid, "sess_", 5) || strlen(sid) > 5 + CLERK_SESSION_ID_MAX
            || strspn(sid + 5, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
                   != strlen(sid + 5)
            || !clerk_refresh_body(p, &req))
            abort();
    }
    else if (sid || !detail)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const clerk_token_type_t types[] = {CLERK_TYPE_M2M, CLERK_TYPE_OAUTH, CLERK_TYPE_API_KEY};
    apr_pool_t *p;
    const char *err;
    json_t *answer;

    FUZZ_ONCE(init);
    p = fuzz_input_pool();
    answer = clerk_json_parse_object(p, (const char *)data, size, &err);
    if (answer) {
        for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
            for (int a = 0; a < 2; a++) {
                clerk_claims_t *c = NULL;
                const char *detail = NULL;
                clerk_reason_t r = clerk_claims_from_bapi(p, answer, types[t], a ? audiences : NULL,
                                                          1700000000, &c, &detail);
                if (r == CLERK_OK) {
                    apr_array_header_t *vars;
                    if (!c)
                        abort();
                    vars = clerk_export_vars(p, c);
                    for (int i = 0; i < vars->nelts; i++)
                        (void)clerk_export_header_safe(APR_ARRAY_IDX(vars, i, clerk_var_t).value);
                }
            }
        }
    }
    refresh_answer(p, data, size);
    refresh_sid(p, data, size);
    fuzz_input_done(p);
    return 0;
}
