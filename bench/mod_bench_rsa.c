/*
 * mod_bench_rsa: the benchmark's "rsa-only" control server, never installed.
 *
 * Issue 13 asks that a new token cost no more than 1.3x its RSA verification
 * above no auth, in the server.  A single-threaded microbenchmark of the RSA
 * operation is not that: inside a 32-thread httpd on a busy CPU every
 * instruction runs slower (caches shared with other threads, wake-ups of the
 * client's idle CPU), and the kernel's share per request grows with the
 * server's own cost.  So `make bench` also runs this module: per request it
 * does the least any JWT verifier must do, and nothing else: take the
 * bearer token, base64url-decode its signature and check it with
 * mod_auth_clerk's own RSA verifier (clerk_rsa_verify: SHA-256 of the
 * signing input and the RSA public operation on the key's reused context).
 * No JSON, no claims, no cache.  Its CPU per request above no auth, measured
 * in the same rounds as mod_auth_clerk's, is the RSA verification's cost in
 * the server (bench/report.py).
 *
 * With BenchRSAParsePayload On it is the "rsa-json" control: after the
 * signature it also base64url-decodes the payload and parses it with the
 * module's own hardened jansson parse (clerk_json_parse_object_compact, the
 * call clerk_verify.c makes), and nothing else.  Its CPU above rsa-only's is
 * what parsing a token's payload with jansson costs in the server; the rest
 * of mod_auth_clerk's cost above it is everything else the module does.
 *
 * It answers 401 for a missing token or a signature that does not verify
 * (and, parsing, a payload that is not a JSON object), so the bench's sanity
 * check sees it do the work.
 *
 *   LoadModule bench_rsa_module .../mod_bench_rsa.so
 *   BenchRSAKeyFile /path/public.pem      (server config)
 *   BenchRSAParsePayload On               (server config; default Off)
 *
 * Built by bench/profiling.py with apxs against build/libclerk.a.
 */
#include <httpd.h>
#include <http_config.h>
#include <http_protocol.h>
#include <http_request.h>
#include <apr_strings.h>
#include <string.h>

#include "clerk_base64url.h"
#include "clerk_json.h"
#include "clerk_jws.h"
#include "clerk_key.h"

module AP_MODULE_DECLARE_DATA bench_rsa_module;

typedef struct {
    const clerk_key_t *key;
    int parse_payload;
} bench_rsa_conf_t;

static void *create_server_config(apr_pool_t *p, server_rec *s)
{
    return apr_pcalloc(p, sizeof(bench_rsa_conf_t));
}

static const char *set_key_file(cmd_parms *cmd, void *dummy, const char *path)
{
    bench_rsa_conf_t *conf = ap_get_module_config(cmd->server->module_config,
                                                  &bench_rsa_module);
    clerk_keyset_t *ks;
    const char *err;

    if (clerk_keyset_from_pem_file(cmd->pool, path, &ks, &err) != APR_SUCCESS)
        return apr_psprintf(cmd->pool, "BenchRSAKeyFile %s: %s", path, err);
    if (clerk_keyset_select(ks, NULL, &conf->key) != CLERK_OK)
        return "BenchRSAKeyFile: the file must hold exactly one RSA key";
    return NULL;
}

static const char *set_parse_payload(cmd_parms *cmd, void *dummy, int on)
{
    bench_rsa_conf_t *conf = ap_get_module_config(cmd->server->module_config,
                                                  &bench_rsa_module);
    conf->parse_payload = on;
    return NULL;
}

/* The payload between the token's two dots, decoded and parsed as the module does. */
static int parse_payload(request_rec *r, const char *token, const char *last_dot)
{
    const char *first_dot = strchr(token, '.');
    unsigned char *payload;
    apr_size_t payload_len;
    const char *err;
    int compact;

    if (!first_dot || first_dot == last_dot
        || clerk_b64url_decode(r->pool, first_dot + 1, (apr_size_t)(last_dot - first_dot - 1),
                               &payload, &payload_len) != APR_SUCCESS)
        return 0;
    return clerk_json_parse_object_compact(r->pool, (const char *)payload, payload_len,
                                           &compact, &err) != NULL;
}

static int verify_bearer(request_rec *r)
{
    bench_rsa_conf_t *conf = ap_get_module_config(r->server->module_config,
                                                  &bench_rsa_module);
    const char *auth = apr_table_get(r->headers_in, "Authorization");
    const char *token, *dot;
    unsigned char *sig;
    apr_size_t sig_len;

    if (!conf->key || r->main)
        return DECLINED;
    if (!auth || strncmp(auth, "Bearer ", 7))
        return HTTP_UNAUTHORIZED;
    token = auth + 7;
    dot = strrchr(token, '.');
    if (!dot || clerk_b64url_decode(r->pool, dot + 1, strlen(dot + 1), &sig, &sig_len)
                    != APR_SUCCESS)
        return HTTP_UNAUTHORIZED;
    if (!clerk_rsa_verify(conf->key, "RS256", (const unsigned char *)token,
                          (apr_size_t)(dot - token), sig, sig_len))
        return HTTP_UNAUTHORIZED;
    if (conf->parse_payload && !parse_payload(r, token, dot))
        return HTTP_UNAUTHORIZED;
    return OK;
}

static void register_hooks(apr_pool_t *p)
{
    ap_hook_fixups(verify_bearer, NULL, NULL, APR_HOOK_MIDDLE);
}

static const command_rec commands[] = {
    AP_INIT_TAKE1("BenchRSAKeyFile", set_key_file, NULL, RSRC_CONF,
                  "the PEM public key whose signatures every request must carry"),
    AP_INIT_FLAG("BenchRSAParsePayload", set_parse_payload, NULL, RSRC_CONF,
                 "also decode the payload and parse it with the module's JSON parse"),
    {NULL}
};

AP_DECLARE_MODULE(bench_rsa) = {
    STANDARD20_MODULE_STUFF,
    NULL, NULL, create_server_config, NULL, commands, register_hooks, AP_MODULE_FLAG_NONE
};
