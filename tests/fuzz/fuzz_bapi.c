/*
 * Backend API verification answers (POST /m2m_tokens/verify,
 * /oauth_applications/access_tokens/verify, /api_keys/verify): the JSON
 * body through clerk_claims_from_bapi for each machine token type, with and
 * without configured audiences; accepted answers are exported.
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
    fuzz_input_done(p);
    return 0;
}
