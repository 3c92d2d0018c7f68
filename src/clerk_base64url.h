/*
 * Strict base64url (RFC 4648 §5, no padding) as JWS compact serialisation
 * requires.  Written here rather than taken from apr_base64 because the
 * decoder must refuse what a lenient one accepts (padding, the standard
 * alphabet, whitespace, non-canonical trailing bits) and must bound its input
 * before any length arithmetic (CVE-2022-25147 class).
 */
#ifndef CLERK_BASE64URL_H
#define CLERK_BASE64URL_H

#include <apr_pools.h>

/* Largest encoded input the decoder accepts. */
#define CLERK_B64URL_MAX_INPUT (1u << 20)

/*
 * Decode len bytes of in.  On success *out (NUL-terminated for the
 * convenience of JSON callers; the NUL is not counted) and *outlen are set
 * and APR_SUCCESS is returned.  Any deviation from canonical unpadded
 * base64url, or len > CLERK_B64URL_MAX_INPUT, gives APR_EINVAL.
 */
apr_status_t clerk_b64url_decode(apr_pool_t *p, const char *in, apr_size_t len,
                                 unsigned char **out, apr_size_t *outlen);

/* Encode, without padding.  Returns a NUL-terminated string from p. */
char *clerk_b64url_encode(apr_pool_t *p, const unsigned char *in, apr_size_t len);

#endif
