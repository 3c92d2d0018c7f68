/*
 * The browser-session inputs an attacker controls: the query string
 * (__clerk_handshake, __clerk_handshake_nonce and stripping them), the
 * __client_uat cookie, an opaque token's prefix, a handshake JWT (verified
 * with a fixed key set) and the Set-Cookie directives of a handshake payload,
 * with the filter of what may be set for a host.  The first input byte picks
 * the parser, the rest is its input.
 */
#include "fuzz.h"

#include "clerk_backend_api.h"
#include "clerk_export.h"
#include "clerk_handshake.h"
#include "clerk_key.h"

static clerk_keyset_t *keys;

/*
 * Run the cookie filter; abort unless every directive is either kept or has
 * a reason, and what is kept cannot split a header and is one of Clerk's.
 */
static void filter(apr_pool_t *p, const apr_array_header_t *directives, const char *host)
{
    apr_array_header_t *dropped = apr_array_make(p, 4, sizeof(const char *));
    apr_array_header_t *kept = clerk_handshake_allowed_cookies(p, directives, host, dropped);

    if (kept->nelts + dropped->nelts != directives->nelts)
        abort();
    for (int i = 0; i < kept->nelts; i++) {
        const char *d = APR_ARRAY_IDX(kept, i, const char *);
        if (!clerk_export_header_safe(d) || !strchr(d, '=') || strncmp(d, "__", 2))
            abort();
    }
    for (int i = 0; i < dropped->nelts; i++)
        if (!clerk_export_header_safe(APR_ARRAY_IDX(dropped, i, const char *)))
            abort();    /* reasons are logged */
    (void)clerk_handshake_session(p, kept);
}

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
    switch (data[0] % 5) {
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
        /* a count is never negative; a __client_uat is only when a '-' leads its digits */
        if (clerk_redirect_count(s) < 0
            || (clerk_client_uat(s) < 0 && !strchr(s, '-')))
            abort();
        (void)clerk_opaque_token_type(s);
        break;
    case 2: {
        apr_array_header_t *directives = NULL;
        const char *detail = NULL;
        if (clerk_handshake_token_directives(p, s, keys, &directives, &detail) == CLERK_OK) {
            if (!directives)
                abort();
            filter(p, directives, "www.example.com");
            (void)clerk_handshake_session(p, directives);
        }
        break;
    }
    case 4: {
        /* the host, then one Set-Cookie directive per line */
        apr_array_header_t *directives = apr_array_make(p, 4, sizeof(const char *));
        char *copy = apr_pstrdup(p, s), *nl = strchr(copy, '\n'), *last, *line;
        if (nl)
            *nl = '\0';
        for (line = nl ? apr_strtok(nl + 1, "\n", &last) : NULL; line;
             line = apr_strtok(NULL, "\n", &last))
            APR_ARRAY_PUSH(directives, const char *) = line;
        filter(p, directives, *copy ? copy : NULL);
        break;
    }
    case 3: {
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
