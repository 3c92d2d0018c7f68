#include "clerk_rsa_verifier.h"

#include "clerk_thread_stripe.h"

#include <apr_thread_mutex.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

/* An initialised context that no thread is using. */
typedef struct idle_ctx {
    EVP_PKEY_CTX *ctx;
    struct idle_ctx *next;
} idle_ctx;

/* The idle contexts of the threads of one stripe. */
typedef union {
    struct {
        apr_thread_mutex_t *lock;   /* guards idle only, never held while verifying */
        idle_ctx *idle;             /* malloc'd: the list grows during requests */
    } s;
    char pad[CLERK_CACHE_LINE];
} ctx_stripe;

struct clerk_rsa_verifier {
    EVP_PKEY *pkey;
    EVP_MD *md;                 /* fetched once */
    ctx_stripe *stripes;        /* CLERK_STRIPES of them */
};

int clerk_rs_alg_from_name(const char *alg)
{
    if (!alg || strncmp(alg, "RS", 2))
        return -1;
    if (!strcmp(alg + 2, "256"))
        return CLERK_RS256;
    if (!strcmp(alg + 2, "384"))
        return CLERK_RS384;
    if (!strcmp(alg + 2, "512"))
        return CLERK_RS512;
    return -1;
}

const char *clerk_rs_alg_digest(clerk_rs_alg_t alg)
{
    static const char *const names[CLERK_RS_COUNT] = { "SHA256", "SHA384", "SHA512" };
    return names[alg];
}

/*
 * A context ready for EVP_PKEY_verify: PKCS#1 v1.5 padding and the signature
 * digest set, so OpenSSL compares the whole DigestInfo, not just the hash.
 */
static EVP_PKEY_CTX *new_ctx(const clerk_rsa_verifier_t *v)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, v->pkey, NULL);

    if (ctx && EVP_PKEY_verify_init(ctx) > 0
        && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0
        && EVP_PKEY_CTX_set_signature_md(ctx, v->md) > 0)
        return ctx;
    EVP_PKEY_CTX_free(ctx);
    return NULL;
}

static apr_status_t verifier_cleanup(void *data)
{
    clerk_rsa_verifier_t *v = data;

    for (unsigned i = 0; v->stripes && i < CLERK_STRIPES; i++) {
        while (v->stripes[i].s.idle) {
            idle_ctx *n = v->stripes[i].s.idle;
            v->stripes[i].s.idle = n->next;
            EVP_PKEY_CTX_free(n->ctx);
            free(n);
        }
    }
    EVP_MD_free(v->md);
    return APR_SUCCESS;
}

clerk_rsa_verifier_t *clerk_rsa_verifier_make(apr_pool_t *p, EVP_PKEY *pkey,
                                              clerk_rs_alg_t alg)
{
    clerk_rsa_verifier_t *v = apr_pcalloc(p, sizeof(*v));
    idle_ctx *first;

    v->pkey = pkey;
    if (!(v->md = EVP_MD_fetch(NULL, clerk_rs_alg_digest(alg), NULL)))
        return NULL;
    apr_pool_cleanup_register(p, v, verifier_cleanup, apr_pool_cleanup_null);
    if (!(v->stripes = clerk_stripes_alloc(p, sizeof(ctx_stripe))))
        return NULL;
    for (unsigned i = 0; i < CLERK_STRIPES; i++)
        if (apr_thread_mutex_create(&v->stripes[i].s.lock, APR_THREAD_MUTEX_DEFAULT, p)
            != APR_SUCCESS)
            return NULL;
    /* one context now: a key that cannot make one is known at load time */
    if (!(first = malloc(sizeof(*first))))
        return NULL;
    if (!(first->ctx = new_ctx(v))) {
        free(first);
        return NULL;
    }
    first->next = NULL;
    v->stripes[0].s.idle = first;
    return v;
}

int clerk_rsa_verifier_check(clerk_rsa_verifier_t *v, const unsigned char *msg, size_t msg_len,
                             const unsigned char *sig, size_t sig_len)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len;
    ctx_stripe *st = &v->stripes[clerk_thread_stripe()];
    idle_ctx *n;
    int ok;

    if (EVP_Digest(msg, msg_len, digest, &digest_len, v->md, NULL) != 1)
        return 0;
    apr_thread_mutex_lock(st->s.lock);
    if ((n = st->s.idle))
        st->s.idle = n->next;
    apr_thread_mutex_unlock(st->s.lock);
    if (!n) {
        if (!(n = malloc(sizeof(*n))))
            return 0;
        if (!(n->ctx = new_ctx(v))) {
            free(n);
            return 0;
        }
    }
    ok = EVP_PKEY_verify(n->ctx, sig, sig_len, digest, digest_len) == 1;
    apr_thread_mutex_lock(st->s.lock);
    n->next = st->s.idle;
    st->s.idle = n;
    apr_thread_mutex_unlock(st->s.lock);
    return ok;
}
