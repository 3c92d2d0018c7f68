/*
 * The key and secret directives: ClerkJWTKey, ClerkJWTKeyFile, ClerkJWKSFile,
 * ClerkJWKSURL, ClerkSecretKey, ClerkMachineSecretKey, ClerkPublishableKey.
 * Static keys are parsed here, once; network sources become slots that
 * key_sources.c resolves.  These are the directives that read httpd's files
 * and environment or make it fetch other hosts, so they are also where a
 * tenant's .htaccess is held back (see "Shared hosting" in the README).
 */
#include "auth_clerk.h"

static static_keyset *make_static(apr_pool_t *p, clerk_keyset_t *keys)
{
    static_keyset *sk = apr_pcalloc(p, sizeof(*sk));
    sk->keys = keys;
    clerk_keyset_digest(keys, sk->digest);
    return sk;
}

const char *mac_set_keys_pem_text(cmd_parms *cmd, void *dconf, const char *arg)
{
    clerk_dir_conf *c = dconf;
    const char *err = NULL, *begin = strstr(arg, "-----BEGIN ");
    const char *text = arg;

    /*
     * A PEM block given on one configuration line has lost its line breaks;
     * keep only the base64 body between the BEGIN and END lines.
     */
    if (begin) {
        const char *body = strstr(begin + 11, "-----");
        const char *end = body ? strstr(body + 5, "-----END ") : NULL;
        if (!body || !end)
            return "ClerkJWTKey: incomplete PEM block";
        text = apr_pstrmemdup(cmd->pool, body + 5, (apr_size_t)(end - body - 5));
    }
    clerk_keyset_t *keys;

    if (clerk_keyset_from_pem(cmd->pool, text, strlen(text), &keys, &err) != APR_SUCCESS)
        return apr_pstrcat(cmd->pool, "ClerkJWTKey: ", err, NULL);
    c->keys.pem = make_static(cmd->pool, keys);
    c->keys.set = 1;
    return NULL;
}

/*
 * Key files and key URLs make httpd read its own files and fetch other hosts:
 * in .htaccess only where the administrator allows it.
 */
static const char *check_key_source_override(cmd_parms *cmd)
{
    const clerk_server_conf *sc = ap_get_module_config(cmd->server->module_config,
                                                       &auth_clerk_module);

    if (mac_in_htaccess(cmd) && sc->allow_override_keys != 1)
        return apr_pstrcat(cmd->pool, cmd->cmd->name, " is not allowed in .htaccess files "
                           "unless the server configuration sets "
                           "ClerkAllowOverrideKeySources On", NULL);
    return NULL;
}

/* ClerkJWTKeyFile (PEM) and ClerkJWKSFile (cmd->info set): a key set from a file. */
const char *mac_set_keys_file(cmd_parms *cmd, void *dconf, const char *arg)
{
    clerk_dir_conf *c = dconf;
    const char *name = cmd->cmd->name, *err = check_key_source_override(cmd);
    const char *path = ap_server_root_relative(cmd->pool, arg);
    int jwks = cmd->info != NULL;
    clerk_keyset_t *keys;

    if (err)
        return err;
    if (!path)
        return apr_pstrcat(cmd->pool, name, ": invalid path ", arg, NULL);
    if ((jwks ? clerk_keyset_from_jwks_file(cmd->pool, path, &keys, &err)
              : clerk_keyset_from_pem_file(cmd->pool, path, &keys, &err)) != APR_SUCCESS)
        return apr_pstrcat(cmd->pool, name, ": ", err, NULL);
    for (int i = 0; i < keys->skipped->nelts; i++)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, cmd->server, CLERKNO(001)
                     "%s %s: %s", name, path, APR_ARRAY_IDX(keys->skipped, i, const char *));
    if (jwks)
        c->keys.jwks = make_static(cmd->pool, keys);
    else
        c->keys.pem = make_static(cmd->pool, keys);
    c->keys.set = 1;
    return NULL;
}

const char *mac_set_jwks_url(cmd_parms *cmd, void *dconf, const char *arg)
{
    clerk_dir_conf *c = dconf;
    const char *err = check_key_source_override(cmd);

    if (err)
        return err;
    if ((err = clerk_http_check_url(cmd->pool, arg)))
        return apr_pstrcat(cmd->pool, "ClerkJWKSURL: ", err, NULL);
    c->keys.url = mac_slot_new(cmd, c);
    c->keys.url->url = arg;
    c->keys.set = 1;
    return NULL;
}

/*
 * An env:VAR secret.  The variable is removed from httpd's environment the
 * first time it is read, so that code running inside httpd (mod_php's
 * getenv(), mod_lua's os.getenv, mod_perl's %ENV) cannot read it; the value
 * is kept for the life of the process in the process pool, since httpd reads
 * its configuration again at start-up and on every restart.
 */
static const char *env_secret(cmd_parms *cmd, const char *var)
{
    /*
     * Pool userdata, not a static: httpd unloads and reloads its modules
     * between the readings of its configuration.
     */
    apr_pool_t *process = cmd->server->process->pool;
    const char *key = apr_pstrcat(cmd->temp_pool, "auth_clerk:env:", var, NULL);
    void *kept = NULL;
    const char *value;

    apr_pool_userdata_get(&kept, key, process);
    if (kept)
        return kept;
    if (!(value = getenv(var)) || !*value)
        return NULL;
    value = apr_pstrdup(process, value);
    apr_pool_userdata_set(value, apr_pstrdup(process, key), apr_pool_cleanup_null, process);
    unsetenv(var);
    return value;
}

/*
 * sk_…, env:VAR or file:/path, read once here; never logged.  In .htaccess
 * only the literal form: env: and file: would read httpd's environment and
 * files with httpd's privileges, i.e. other tenants' secrets.  Also the
 * secret of ClerkProxyMachineToken (proxy_token.c).
 */
const char *mac_read_secret(cmd_parms *cmd, const char *directive, const char *arg,
                            const char **secret)
{
    char *value = NULL;

    if ((!strncmp(arg, "env:", 4) || !strncmp(arg, "file:", 5)) && mac_in_htaccess(cmd))
        return apr_psprintf(cmd->pool, "%s: env: and file: are not allowed in .htaccess "
                            "files; give the key itself", directive);
    if (!strncmp(arg, "env:", 4)) {
        const char *v = env_secret(cmd, arg + 4);
        if (!v)
            return apr_psprintf(cmd->pool, "%s: environment variable %s is not set",
                                directive, arg + 4);
        value = apr_pstrdup(cmd->pool, v);
    }
    else if (!strncmp(arg, "file:", 5)) {
        const char *path = ap_server_root_relative(cmd->pool, arg + 5);
        apr_file_t *f;
        char buf[512];
        apr_size_t n = sizeof(buf) - 1;
        if (!path || apr_file_open(&f, path, APR_FOPEN_READ, 0, cmd->pool) != APR_SUCCESS)
            return apr_psprintf(cmd->pool, "%s: cannot read %s", directive, arg + 5);
        apr_file_read(f, buf, &n);
        apr_file_close(f);
        buf[n] = '\0';
        value = apr_pstrdup(cmd->pool, buf);
        apr_collapse_spaces(value, value);
    }
    else
        value = apr_pstrdup(cmd->pool, arg);
    if (!*value || strchr(value, '\r') || strchr(value, '\n'))
        return apr_psprintf(cmd->pool, "%s: the secret key is empty or spans lines", directive);
    *secret = value;
    return NULL;
}

const char *mac_set_secret_key(cmd_parms *cmd, void *dconf, const char *arg)
{
    clerk_dir_conf *c = dconf;
    const char *secret, *err = mac_read_secret(cmd, "ClerkSecretKey", arg, &secret);

    if (err)
        return err;
    c->backend_api = mac_slot_new(cmd, c);
    c->backend_api->secret = secret;
    c->backend_api->headers = clerk_backend_api_headers(cmd->pool, secret);
    mac_shared_cache_note_secret(cmd, secret);
    return NULL;
}

const char *mac_set_machine_secret_key(cmd_parms *cmd, void *dconf, const char *arg)
{
    clerk_dir_conf *c = dconf;
    return mac_read_secret(cmd, "ClerkMachineSecretKey", arg, &c->machine_secret);
}

const char *mac_set_publishable_key(cmd_parms *cmd, void *dconf, const char *arg)
{
    clerk_dir_conf *c = dconf;
    const char *err = NULL;

    if (clerk_publishable_key_parse(cmd->pool, arg, &c->instance.key, &err) != APR_SUCCESS)
        return apr_pstrcat(cmd->pool, "ClerkPublishableKey: ", err, NULL);
    c->instance.jwks = mac_slot_new(cmd, c);
    c->instance.jwks->url = c->instance.key->jwks_url;
    c->instance.jwks->from_publishable_key = 1;
    {
        char *issuer = (char *)c->instance.key->issuer;
        c->instance.issuer = mac_make_list(cmd->pool, 1, &issuer);
    }
    c->instance.session_cookie = apr_pstrcat(cmd->pool, SESSION_COOKIE "_",
                                             c->instance.key->cookie_suffix, NULL);
    c->instance.uat_cookie = apr_pstrcat(cmd->pool, "__client_uat_",
                                         c->instance.key->cookie_suffix, NULL);
    c->instance.frontend_api_base = apr_pstrcat(cmd->pool, "https://",
                                                c->instance.key->frontend_api, NULL);
    c->satellite_id = mac_satellite_identity(cmd->pool, c);
    return NULL;
}
