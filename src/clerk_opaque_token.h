/*
 * Opaque Clerk identifiers that only the Backend API can resolve, and only
 * with the instance secret: machine tokens (mt_ M2M tokens, oat_ OAuth
 * access tokens, ak_ API keys; README: "Protecting an internal API for services") and handshake nonces
 * (__clerk_handshake_nonce, resolved by GET /v1/clients/handshake_payload).
 *
 * Every such string a client sends costs a Backend API call charged to the
 * instance's rate limit, so a string that cannot be one of Clerk's is
 * refused here, for nothing, before any call: the prefix, the alphabet and
 * a length bound.  These checks are syntactic only; a well-formed string
 * may still be unknown to Clerk.
 */
#ifndef CLERK_OPAQUE_TOKEN_H
#define CLERK_OPAQUE_TOKEN_H

#include <apr.h>

#include "clerk_claims.h"

/*
 * Bounds on what follows the prefix of a machine token.  Clerk's bodies are
 * 32 to 44 characters (fixtures: 35 for mt_/oat_, 44 for an ak_ key with
 * '/', '+' and '='; 32 from a token_urlsafe(24)): half the shortest and
 * nearly six times the longest leave room for other formats, while 256
 * keeps a refused token cheap to log and a well-formed one short enough
 * for any JSON body and URL we build.
 */
#define CLERK_OPAQUE_BODY_MIN 16
#define CLERK_OPAQUE_BODY_MAX 256

/*
 * Bound on a handshake nonce.  Clerk documents no format; the test fake's
 * are 30 characters ("nonce_" and 24 of token_urlsafe), and a nonce travels
 * in a URL query and a cookie, so it is URL-safe.
 */
#define CLERK_NONCE_MAX 256

/* The type of an opaque Clerk token by its prefix, or 0 for anything else. */
clerk_token_type_t clerk_opaque_token_type(const char *token);

/*
 * The type of the len bytes at token when they are a well-formed opaque
 * token — a known prefix, then CLERK_OPAQUE_BODY_MIN..MAX characters of
 * Clerk's alphabet (A-Z a-z 0-9 - _ + / =) — or 0.  len, not a NUL, ends
 * the token: a NUL inside it is a forbidden byte.
 */
clerk_token_type_t clerk_opaque_token_wellformed(const char *token, apr_size_t len);

/*
 * 1 when the len bytes at nonce can be a handshake nonce: 1..CLERK_NONCE_MAX
 * characters of the URL-safe alphabet (A-Z a-z 0-9 - _), else 0.
 */
int clerk_handshake_nonce_wellformed(const char *nonce, apr_size_t len);

#endif
