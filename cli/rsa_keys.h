/* clerk-jwt development RSA keys: what mint and keygen share. */
#ifndef CLERK_CLI_RSA_KEYS_H
#define CLERK_CLI_RSA_KEYS_H

#include <apr_pools.h>
#include <openssl/evp.h>

/* Free pkey with pool p. */
void cli_pkey_own(apr_pool_t *p, EVP_PKEY *pkey);

/*
 * An unencrypted PEM RSA private key (PKCS#8 or PKCS#1) of at least
 * CLERK_KEY_MIN_BITS, or NULL with *err; never prompts for a passphrase.
 */
EVP_PKEY *cli_load_private_key(apr_pool_t *p, const char *path, const char **err);

/* RFC 7638 JWK thumbprint (SHA-256) of an RSA key: the default kid. */
const char *cli_jwk_thumbprint(apr_pool_t *p, EVP_PKEY *pkey);

/* 0 when kid can be a kid the module accepts (1..CLERK_KID_MAX_LEN), else the exit status. */
int cli_check_kid_length(const char *kid);

#endif
