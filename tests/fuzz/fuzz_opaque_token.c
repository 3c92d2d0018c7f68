/*
 * The Backend API's syntactic screen (clerk_opaque_token_wellformed,
 * clerk_handshake_nonce_wellformed) over arbitrary bytes, held to a second,
 * independent statement of the rules: the prefix by strncmp, the alphabet by
 * strspn over a NUL-terminated copy.  The functions themselves get a buffer
 * of exactly the input's size, so ASan catches any read past len.
 */
#include "fuzz.h"

#include "clerk_opaque_token.h"

#define URLSAFE_ALPHABET "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

/* What the token screen must answer for the NUL-terminated s of n bytes. */
static clerk_token_type_t expected_type(const char *s, size_t n)
{
    clerk_token_type_t type = !strncmp(s, "mt_", 3)    ? CLERK_TYPE_M2M
                              : !strncmp(s, "oat_", 4) ? CLERK_TYPE_OAUTH
                              : !strncmp(s, "ak_", 3)  ? CLERK_TYPE_API_KEY
                                                       : 0;
    size_t body = n - (type == CLERK_TYPE_OAUTH ? 4 : 3);  /* type: n >= its prefix */

    if (!type || body < CLERK_OPAQUE_BODY_MIN || body > CLERK_OPAQUE_BODY_MAX
        || strspn(s + n - body, URLSAFE_ALPHABET "+/=") != body)
        return 0;
    return type;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_input_pool();
    char *s = fuzz_cstr(p, data, size);
    char *exact = malloc(size ? size : 1);
    int nonce;

    if (!exact)
        abort();
    if (size)
        memcpy(exact, data, size);
    if (clerk_opaque_token_wellformed(exact, size) != expected_type(s, size))
        abort();
    nonce = size >= 1 && size <= CLERK_NONCE_MAX && strspn(s, URLSAFE_ALPHABET) == size;
    if (clerk_handshake_nonce_wellformed(exact, size) != nonce)
        abort();
    free(exact);
    fuzz_input_done(p);
    return 0;
}
