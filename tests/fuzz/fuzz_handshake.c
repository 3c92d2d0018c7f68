/*
 * The browser-session inputs an attacker controls: the query string
 * (__clerk_handshake, __clerk_handshake_nonce and stripping them), the
 * __client_uat cookie, an opaque token's prefix, a handshake JWT (verified
 * with a fixed key set) and the Set-Cookie directives of a handshake payload.
 * The first input byte picks the parser, the rest is its input.
 */
#include "fuzz.h"

#include "clerk_backend_api.h"
#include "clerk_handshake.h"
#include "clerk_key.h"

static clerk_keyset_t *keys;

static void init(void)
{
    const char *err;
    if (clerk_keyset_from_pem(fuzz_global_pool(), FUZZ_FIXTURE_PEM, strlen(FUZZ_FIXTURE_PEM), &keys, &err))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    const char *s;

    if (size < 1)
        return 0;
    FUZZ_ONCE(init);
    p = fuzz_input_pool();
    s = fuzz_cstr(p, data + 1, size - 1);
    switch (data[0] % 4) {
    case 0: {
        const char *rest = clerk_handshake_strip_query(p, s);
        (void)clerk_query_param(p, s, "__clerk_handshake");
        (void)clerk_query_param(p, s, "__clerk_handshake_nonce");
        (void)clerk_query_param(p, s, "redirect_url");
        if (rest && (strstr(rest, "__clerk_handshake=") == rest || strstr(rest, "&__clerk_handshake=")))
            abort();
        break;
    }
    case 1:
        if (clerk_client_uat(s) < 0)
            abort();
        (void)clerk_opaque_token_type(s);
        break;
    case 2: {
        apr_array_header_t *directives = NULL;
        const char *detail = NULL;
        if (clerk_handshake_token_directives(p, s, keys, &directives, &detail) == CLERK_OK) {
            if (!directives)
                abort();
            (void)clerk_handshake_session(p, directives);
        }
        break;
    }
    default: {
        /* one Set-Cookie directive per line */
        apr_array_header_t *directives = apr_array_make(p, 4, sizeof(const char *));
        char *copy = apr_pstrdup(p, s), *last, *line;
        const char *session;
        for (line = apr_strtok(copy, "\n", &last); line; line = apr_strtok(NULL, "\n", &last))
            APR_ARRAY_PUSH(directives, const char *) = line;
        session = clerk_handshake_session(p, directives);
        for (int i = 0; i < directives->nelts; i++)
            if (strpbrk(APR_ARRAY_IDX(directives, i, const char *), "\r\x01\x7f"))
                abort();    /* directives with control characters must have been dropped */
        (void)session;
        break;
    }
    }
    fuzz_input_done(p);
    return 0;
}
