/*
 * Clerk's answer to POST /m2m_tokens (clerk_m2m_answer), the one the module
 * hands to every proxied request as "Authorization: Bearer …", over
 * arbitrary bytes.  First byte: bit 0 picks the status (200, else another
 * one), bit 1 whether the token must reach mch_a; the rest is the body.  A
 * token accepted must be one that may go into a header (printable, no
 * CR/LF, bounded), must pass clerk_m2m_check_jwt again on its own, and must
 * have more than CLERK_M2M_MIN_LEFT left; nothing is ever accepted from a
 * status other than 200/201.
 */
#include "fuzz.h"

#include "clerk_machine_token.h"
#include "clerk_verify.h"

/* The fixture clock: Clerk's fixture tokens and the seeds are minted around it. */
#define NOW apr_time_from_sec(1700000000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_input_pool();
    apr_array_header_t *machines = apr_array_make(p, 1, sizeof(const char *));
    const char *token = NULL, *detail = NULL;
    apr_time_t expires = 0, exp2 = 0;
    clerk_m2m_outcome_t o;
    int status;
    char *body;

    if (size < 1) {
        fuzz_input_done(p);
        return 0;
    }
    status = data[0] & 1 ? 200 : (data[0] & 4 ? 201 : 500);
    if (data[0] & 2)
        APR_ARRAY_PUSH(machines, const char *) = "mch_a";
    body = fuzz_cstr(p, data + 1, size - 1);
    o = clerk_m2m_answer(p, status, body, size - 1, machines, NOW, &token, &expires, &detail);
    if (o == CLERK_M2M_CREATED) {
        size_t n = token ? strlen(token) : 0;
        if (status == 500 || !token || !n || n > CLERK_TOKEN_MAX_LEN)
            abort();
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)token[i] <= 0x20 || (unsigned char)token[i] >= 0x7f)
                abort();
        if (expires - NOW <= CLERK_M2M_MIN_LEFT
            || clerk_m2m_check_jwt(p, token, machines, NOW, &exp2, &detail) != CLERK_M2M_CREATED
            || expires > exp2)
            abort();
    }
    else if (o != CLERK_M2M_OUT_OF_SCOPE && o != CLERK_M2M_FAILED
             && o != CLERK_M2M_SECRET_REFUSED)
        abort();
    fuzz_input_done(p);
    return 0;
}
