/*
 * Apache as the calling machine: an M2M token obtained from Clerk's Backend
 * API with a machine secret, held per process and renewed ahead of its
 * expiry, for the requests httpd proxies (ClerkProxyMachineToken).
 *
 * The call, as @clerk/backend's M2MTokenApi.createToken makes it (its client
 * skips the API version in the URL):
 *
 *   POST <api>/m2m_tokens
 *   Authorization: Bearer <machine secret>   Clerk-API-Version: <the module's>
 *   {"seconds_until_expiration":N,"claims":null,"token_format":"jwt"}
 *
 * answered (200 or 201) by an M2MTokenJSON whose "token" is the JWT.  The
 * holder does not verify the JWT (the machine it is sent to does), but it
 * sends only what that machine can accept: a compact JWS of Clerk's
 * algorithms, a payload with a future exp and a mch_ subject, whose scopes
 * (as the verifier reads them: "scopes", else "aud") reach every machine
 * the configuration names.
 *
 * A holder keeps one current token.  Each creation is billed, so tokens are
 * reused until a margin before their expiry, across a graceful restart when
 * the caller hands one over (clerk_m2m_holder_adopt), and, through optional
 * share hooks, between processes and servers.  Readers copy the current
 * token under a short mutex and never wait on the network: one refresher
 * thread per process creates tokens.
 */
#ifndef CLERK_MACHINE_TOKEN_H
#define CLERK_MACHINE_TOKEN_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "clerk_http.h"
#include "clerk_jwks_cache.h"   /* clerk_log_fn */
#include "clerk_metrics.h"

/* ClerkProxyMachineTokenTTL: the lifetime asked for, seconds. */
#define CLERK_M2M_TTL_MIN 60
#define CLERK_M2M_TTL_MAX 86400
#define CLERK_M2M_TTL_DEFAULT 3600

/* A machine id: "mch_" and 1..64 letters or digits (Clerk's are 27). */
#define CLERK_MACHINE_ID_MAX 64
int clerk_machine_id_wellformed(const char *id);

/* Clerk's answer: a token of at most CLERK_TOKEN_MAX_LEN and its object. */
#define CLERK_M2M_ANSWER_MAX (64u * 1024u)

/* Never handed out with less left than this: it must still be valid at the target. */
#define CLERK_M2M_MIN_LEFT apr_time_from_sec(10)

/* Failures are retried after 1 s, doubling up to 60 s. */
#define CLERK_M2M_BACKOFF_FIRST apr_time_from_sec(1)
#define CLERK_M2M_BACKOFF_MAX apr_time_from_sec(60)

/* A failure that persists is logged again at most this often. */
#define CLERK_M2M_LOG_INTERVAL apr_time_from_sec(60)

#define CLERK_M2M_KEY_LEN 32

/* What a holder obtains tokens for. */
typedef struct clerk_m2m_spec {
    const char *api_url;                    /* ClerkAPIURL, without /v1 */
    const char *secret;                     /* the machine secret: never logged */
    int ttl;                                /* seconds, CLERK_M2M_TTL_MIN..MAX */
    const apr_array_header_t *machines;     /* const char * mch_ ids it must reach, or NULL */
    clerk_http_opts_t http;                 /* cancel is the holder's own */
} clerk_m2m_spec_t;

/*
 * The key a token is shared and kept under: SHA-256 over the API URL, the
 * secret, the TTL and the sorted machines, so the secret itself is never a
 * key.  Returns 0 only when out of memory.
 */
int clerk_m2m_key(const clerk_m2m_spec_t *spec, unsigned char key[CLERK_M2M_KEY_LEN]);

/* ---- the call (exported for the unit tests) ---- */

/* The URL, headers and body of the creation call. */
void clerk_m2m_request(apr_pool_t *p, const clerk_m2m_spec_t *spec, const char **url,
                       apr_array_header_t **headers, const char **body);

typedef enum {
    CLERK_M2M_CREATED = 0,          /* *token and *expires set */
    CLERK_M2M_FAILED,               /* no answer, another status, an unusable answer */
    CLERK_M2M_SECRET_REFUSED,       /* 401 or 403: the machine secret is wrong */
    CLERK_M2M_OUT_OF_SCOPE,         /* a usable token that does not reach every machine */
    CLERK_M2M_DEFERRED,             /* another process of the fleet creates one now */
} clerk_m2m_outcome_t;

/* At most how much earlier than its margin says a process renews (jitter, for a fleet). */
#define CLERK_M2M_JITTER_MAX apr_time_from_sec(5)

/* How soon a holder that left the creation to another process looks for its token. */
#define CLERK_M2M_DEFER_STEP apr_time_from_msec(500)

/*
 * Clerk's answer to the creation call (status and body), checked strictly:
 * a body over CLERK_M2M_ANSWER_MAX, not a JSON object, an "object" other
 * than machine_to_machine_token, "revoked" or "expired" true, an
 * "expiration" that is neither null nor a number, a "subject" that is not
 * the JWT's sub, and a "token" that clerk_m2m_check_jwt refuses are
 * failures.  *expires: the earlier of the JWT's exp and "expiration" (ms).
 * *detail says why, never with the token or the secret.
 */
clerk_m2m_outcome_t clerk_m2m_answer(apr_pool_t *p, int status, const char *body,
                                     apr_size_t len, const apr_array_header_t *machines,
                                     apr_time_t now, const char **token, apr_time_t *expires,
                                     const char **detail);

/*
 * A token as it may be sent: a compact JWS of at most CLERK_TOKEN_MAX_LEN
 * that clerk_jws_parse accepts, whose payload is a JSON object with an
 * integer exp more than CLERK_M2M_MIN_LEFT after now and a sub of mch_…
 * (else CLERK_M2M_FAILED), and whose scopes hold every one of machines
 * (else CLERK_M2M_OUT_OF_SCOPE).  *exp: the JWT's exp.
 */
clerk_m2m_outcome_t clerk_m2m_check_jwt(apr_pool_t *p, const char *token,
                                        const apr_array_header_t *machines, apr_time_t now,
                                        apr_time_t *exp, const char **detail);

/* ---- timing (exported for the unit tests) ---- */

/*
 * How long before its expiry a token of this lifetime is renewed:
 * max(60 s, lifetime / 5), but at most half the lifetime, so that a short
 * token is used before it is replaced.
 */
apr_interval_time_t clerk_m2m_renew_margin(apr_interval_time_t lifetime);

/* The wait after the n-th failure in a row (n >= 1): 1 s, 2 s, 4 s … 60 s. */
apr_interval_time_t clerk_m2m_backoff(unsigned failures);

/* ---- the holder ---- */

/*
 * Sharing a token between processes and servers (the shared cache), both
 * called from the thread that renews, never under the holder's lock:
 * lookup before a creation (a token found is checked as a created one and
 * adopted when it is not due for renewal), publish after one.  claim, before
 * a creation too: 0 when another process of the fleet creates one now (the
 * holder then looks for its token again in CLERK_M2M_DEFER_STEP), else
 * create.  key is clerk_m2m_key's.  Any may be NULL.
 */
typedef struct clerk_m2m_share {
    int (*lookup)(void *baton, const unsigned char *key, apr_pool_t *p, const char **token,
                  apr_time_t *expires);
    void (*publish)(void *baton, const unsigned char *key, const char *token,
                    apr_time_t expires);
    int (*claim)(void *baton, const unsigned char *key);
    void *baton;
} clerk_m2m_share_t;

typedef struct clerk_m2m_holder clerk_m2m_holder_t;

/*
 * A holder in p (the configuration pool), without a token yet.  spec is
 * copied; log (may be NULL) is told of failures, at most once per
 * CLERK_M2M_LOG_INTERVAL while they last, and of recoveries; creations
 * are counted in metrics (may be NULL) as the m2m_token_create endpoint.
 * share may be NULL.
 */
clerk_m2m_holder_t *clerk_m2m_holder_create(apr_pool_t *p, const clerk_m2m_spec_t *spec,
                                            const clerk_m2m_share_t *share,
                                            clerk_metrics_t *metrics, clerk_log_fn *log,
                                            void *log_baton);

const unsigned char *clerk_m2m_holder_key(const clerk_m2m_holder_t *h);

/*
 * A token kept from earlier (an earlier configuration's, over a graceful
 * restart) installed when it passes clerk_m2m_check_jwt and is not due for
 * renewal at now.  Returns 1 when installed.  Before the refresher runs.
 */
int clerk_m2m_holder_adopt(clerk_m2m_holder_t *h, apr_pool_t *ptemp, const char *token,
                           apr_time_t expires, apr_time_t now);

/*
 * Obtain a token now, synchronously, within the spec's HTTP timeout (the
 * parent at start-up, so its children inherit it).  Returns the outcome;
 * failures were logged.  Before the refresher runs.
 */
clerk_m2m_outcome_t clerk_m2m_holder_create_now(clerk_m2m_holder_t *h, apr_pool_t *ptemp);

/*
 * The refresher's step at now, with http: when a token is due (none, or
 * within the renewal margin, or the backoff after a failure has passed),
 * adopt a shared one or create one; returns when the next step is due.
 * (Exported so that the unit tests can drive the timing with their own
 * clock; the refresher calls it with apr_time_now().)
 */
apr_time_t clerk_m2m_holder_step(clerk_m2m_holder_t *h, clerk_http_t *http, apr_time_t now);

/*
 * In each process that serves requests, after fork: the lock and the HTTP
 * client.  The refresher thread ("clerk-m2m", asynchronous signals blocked)
 * starts with the first clerk_m2m_holder_get and is stopped and joined when
 * pchild is cleared (a creation in progress is abandoned within about a
 * second).
 */
apr_status_t clerk_m2m_holder_child_init(clerk_m2m_holder_t *h, apr_pool_t *pchild);

/*
 * The current token copied into p, when one has more than
 * CLERK_M2M_MIN_LEFT left at now: 1.  Else 0 with *retry_after, the
 * seconds (1..60) until the next attempt.  Never waits on the network.
 */
int clerk_m2m_holder_get(clerk_m2m_holder_t *h, apr_pool_t *p, apr_time_t now,
                         const char **token, apr_int64_t *retry_after);

/* The current token and its expiry (for the caller to keep over a restart): 1, or 0 when none. */
int clerk_m2m_holder_current(clerk_m2m_holder_t *h, apr_pool_t *p, const char **token,
                             apr_time_t *expires);

/* Creation calls this process made (for the tests). */
apr_uint32_t clerk_m2m_holder_creations(const clerk_m2m_holder_t *h);

#endif
