/* clerk_publishable_key_parse over arbitrary strings. */
#include "fuzz.h"

#include "clerk_publishable_key.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_input_pool();
    clerk_publishable_key_t *pk = NULL;
    const char *err = NULL;

    if (clerk_publishable_key_parse(p, fuzz_cstr(p, data, size), &pk, &err) == APR_SUCCESS) {
        /* what a valid key yields must be usable as a host and a cookie suffix */
        if (!pk || !pk->frontend_api || !*pk->frontend_api || strchr(pk->frontend_api, '$')
            || strcspn(pk->frontend_api, "/?#@:\\ \r\n") != strlen(pk->frontend_api)
            || !pk->cookie_suffix || strlen(pk->cookie_suffix) != 8
            || strncmp(pk->issuer, "https://", 8) || strcmp(pk->issuer + 8, pk->frontend_api))
            abort();
    }
    else if (!err)
        abort();
    fuzz_input_done(p);
    return 0;
}
