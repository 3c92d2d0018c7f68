/*
 * A verified payload's journey after the signature: clerk_json_parse_object,
 * the organization (v1/v2, clerk_org_from_payload), the claims model for every
 * token type, the scope split of fea/pla and the exported variables.
 */
#include "fuzz.h"

#include "clerk_claims.h"
#include "clerk_export.h"
#include "clerk_json.h"
#include "clerk_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const clerk_token_type_t types[] = {CLERK_TYPE_SESSION, CLERK_TYPE_M2M, CLERK_TYPE_OAUTH};
    apr_pool_t *p = fuzz_input_pool();
    const char *err = NULL;
    json_t *payload = clerk_json_parse_object(p, (const char *)data, size, &err);

    if (payload) {
        clerk_org_t org;
        const char *detail;
        apr_array_header_t *o = NULL, *u = NULL;

        (void)clerk_org_from_payload(p, payload, &org, &detail);
        if (org.permissions)
            for (int i = 0; i < org.permissions->nelts; i++)
                (void)strlen(APR_ARRAY_IDX(org.permissions, i, const char *));
        (void)clerk_split_by_scope(p, clerk_json_string(payload, "fea"), &o, &u);
        (void)clerk_split_by_scope(p, clerk_json_string(payload, "pla"), NULL, NULL);
        for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
            clerk_claims_t *c = NULL;
            if (clerk_claims_build(p, payload, types[t], &c, &detail) == CLERK_OK) {
                apr_array_header_t *vars = clerk_export_vars(p, c);
                for (int i = 0; i < vars->nelts; i++)
                    (void)clerk_export_header_safe(APR_ARRAY_IDX(vars, i, clerk_var_t).value);
                (void)clerk_export_remote_user(p, c, "sub");
                (void)clerk_export_remote_user(p, c, "email");
            }
        }
        (void)clerk_json_compact(p, payload);
    }
    else if (!err)
        abort();
    fuzz_input_done(p);
    return 0;
}
