/*
 * Token carriers, straight from request headers: the first byte chooses the
 * Authorization parser or the Cookie parser (cookie names __session and
 * __session_<suffix>), the rest is the header value.
 */
#include "fuzz.h"

#include "clerk_carrier.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    const char *value = NULL, *s;
    apr_size_t len = 0;

    if (size < 1)
        return 0;
    p = fuzz_input_pool();
    s = fuzz_cstr(p, data + 1, size - 1);
    if (data[0] & 1) {
        if (clerk_bearer_token(s, &value, &len) == CLERK_CARRIER_TOKEN
            && (!value || len == 0 || memchr(value, ' ', len) || memchr(value, '\r', len)))
            abort();
    }
    else {
        const char *name = (data[0] & 2) ? "__session" : "__session_vWCgMp3A";
        if (clerk_cookie_value(p, s, name, &value, &len) == CLERK_CARRIER_TOKEN
            && (!value || len == 0 || strlen(value) != len))
            abort();
    }
    fuzz_input_done(p);
    return 0;
}
