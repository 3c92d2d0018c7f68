#include "clerk_handshake.h"
#include "clerk_backend_api.h"
#include "clerk_export.h"
#include "clerk_json.h"
#include "clerk_jws.h"
#include "clerk_verify.h"

#include <apr_escape.h>
#include <apr_strings.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int clerk_handshake_eligible(const char *method, const char *sec_fetch_dest,
                             const char *accept)
{
    if (!method || strcmp(method, "GET"))
        return 0;
    if (sec_fetch_dest && *sec_fetch_dest)     /* an empty header counts as absent */
        return !strcmp(sec_fetch_dest, "document") || !strcmp(sec_fetch_dest, "iframe");
    return accept && !strncmp(accept, "text/html", 9);
}

apr_int64_t clerk_client_uat(const char *value)
{
    apr_int64_t v = 0;
    int negative = 0;

    if (!value)
        return 0;
    value += strspn(value, " \t\n\v\f\r");
    if (*value == '+' || *value == '-')
        negative = *value++ == '-';
    for (; *value >= '0' && *value <= '9'; value++) {
        if (v > (APR_INT64_MAX - 9) / 10)
            return negative ? -APR_INT64_MAX : APR_INT64_MAX;   /* beyond any time */
        v = v * 10 + (*value - '0');
    }
    return negative ? -v : v;
}

apr_int64_t clerk_redirect_count(const char *value)
{
    char *end;
    apr_int64_t v;

    if (!value || !*value || strlen(value) > 18)
        return 0;
    v = apr_strtoi64(value, &end, 10);
    return (*end || v < 0) ? 0 : v;
}

/*
 * iss, iat and exp of a token, read without verifying it (cookie selection
 * only); 0 when the token cannot be decoded (missing claims read as 0).
 */
static int peek(apr_pool_t *p, const char *token, const char **iss, apr_int64_t *iat,
                apr_int64_t *exp)
{
    clerk_jws_t *jws;
    const char *detail;
    json_t *payload;

    *iss = NULL;
    *iat = *exp = 0;
    if (!token || clerk_jws_parse(p, token, strlen(token), CLERK_TOKEN_MAX_LEN, &jws, &detail)
                      != CLERK_OK)
        return 0;
    payload = clerk_json_parse_object(p, (const char *)jws->payload, jws->payload_len, &detail);
    if (!payload)
        return 0;
    *iss = clerk_json_string(payload, "iss");
    *iat = json_integer_value(json_object_get(payload, "iat"));
    *exp = json_integer_value(json_object_get(payload, "exp"));
    return 1;
}

/* Clerk compares the __client_uat cookies as text: only "0" is signed out, absent is not. */
static int is_zero(const char *uat)
{
    return uat && !strcmp(uat, "0");
}

static const char *strip_scheme(const char *url)
{
    if (!strncmp(url, "https://", 8))
        return url + 8;
    if (!strncmp(url, "http://", 7))
        return url + 7;
    return url;
}

int clerk_use_suffixed_cookies(apr_pool_t *p, const clerk_session_cookies_t *c,
                               const char *frontend_api, int production, apr_int64_t now)
{
    const char *u_iss = NULL, *s_iss;
    apr_int64_t u_iat = 0, s_iat = 0, u_exp, s_exp;
    int s_decoded;

    if (c->session) {
        peek(p, c->session, &u_iss, &u_iat, &u_exp);
        if (!u_iss || !*u_iss)
            return 0;                                   /* rule 1 */
        if (strcmp(strip_scheme(u_iss), frontend_api))
            return 1;                                   /* 2: another instance's cookie */
    }
    if (!c->client_uat_suffixed && !c->session_suffixed)
        return 0;                                       /* 3 */
    s_decoded = peek(p, c->session_suffixed, &s_iss, &s_iat, &s_exp);
    if (!is_zero(c->client_uat_suffixed) && !is_zero(c->client_uat) && u_iat > s_iat)
        return 0;                                       /* 4 */
    if (is_zero(c->client_uat_suffixed) && !is_zero(c->client_uat))
        return 0;                                       /* 5 */
    if (!production && !is_zero(c->client_uat_suffixed) && is_zero(c->client_uat) && s_decoded
        && s_exp && s_exp <= now)
        return 0;                                       /* 6 */
    if (c->session_suffixed && !c->client_uat_suffixed)
        return 0;                                       /* 7 */
    return 1;                                           /* 8 */
}

const char *clerk_handshake_location(apr_pool_t *p, const char *base, const char *redirect_url,
                                     const char *reason, int suffixed_cookies)
{
    apr_size_t n = strlen(base);
    const char *trimmed = n && base[n - 1] == '/' ? apr_pstrndup(p, base, n - 1) : base;

    return apr_pstrcat(p, trimmed, "/v1/client/handshake?redirect_url=",
                       apr_pescape_urlencoded(p, redirect_url),
                       "&__clerk_api_version=" CLERK_BACKEND_API_VERSION,
                       "&suffixed_cookies=", suffixed_cookies ? "true" : "false",
                       "&__clerk_hs_reason=", apr_pescape_urlencoded(p, reason),
                       "&format=nonce", NULL);
}

clerk_reason_t clerk_handshake_token_directives(apr_pool_t *p, const char *token,
                                                const clerk_keyset_t *keys,
                                                apr_array_header_t **directives,
                                                const char **detail)
{
    clerk_jws_t *jws;
    clerk_reason_t r;
    json_t *payload;
    const json_t *list;
    size_t i;
    json_t *v;

    if ((r = clerk_jws_parse(p, token, strlen(token), CLERK_TOKEN_MAX_LEN, &jws, detail))
        != CLERK_OK)
        return r;
    if (jws->typ && strcmp(jws->typ, "JWT")) {
        *detail = "handshake token typ is neither absent nor JWT";
        return CLERK_TOKEN_INVALID;
    }
    /* Only session-category tokens may set cookies (JWT templates must not). */
    if (!clerk_session_category(jws)) {
        *detail = "handshake token of a non-session category";
        return CLERK_TOKEN_INVALID;
    }
    if ((r = clerk_jws_verify(jws, keys, detail)) != CLERK_OK)
        return r;
    payload = clerk_json_parse_object(p, (const char *)jws->payload, jws->payload_len, detail);
    list = payload ? json_object_get(payload, "handshake") : NULL;
    if (!json_is_array(list)) {
        *detail = "handshake token without a handshake list";
        return CLERK_TOKEN_INVALID;
    }
    *directives = apr_array_make(p, (int)json_array_size(list), sizeof(const char *));
    json_array_foreach(list, i, v)
        if (json_is_string(v))
            APR_ARRAY_PUSH(*directives, const char *) = json_string_value(v);
    *detail = NULL;
    return CLERK_OK;
}

const char *clerk_handshake_session(apr_pool_t *p, apr_array_header_t *directives)
{
    const char *session = NULL;
    int kept = 0;

    for (int i = 0; i < directives->nelts; i++) {
        const char *d = APR_ARRAY_IDX(directives, i, const char *);
        const char *eq;
        if (!clerk_export_header_safe(d))
            continue;
        APR_ARRAY_IDX(directives, kept++, const char *) = d;
        if (!strncmp(d, "__session", 9) && (eq = strchr(d, '='))) {
            const char *end = strchr(eq, ';');
            session = apr_pstrndup(p, eq + 1, end ? (apr_size_t)(end - eq - 1) : strlen(eq + 1));
        }
    }
    directives->nelts = kept;
    return session && *session ? session : NULL;
}

/* RFC 9110 tchar, which RFC 6265 cookie names are made of. */
static int is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
           || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/*
 * The cookies Clerk's handshake sets (@clerk/backend constants.Cookies):
 * __session, __client_uat and __refresh, plain or as <name>_<suffix>
 * (getSuffixedCookieName), and Clerk's own __clerk_* (handshake, nonce,
 * db_jwt, redirect_count).
 */
static int is_clerk_cookie(const char *name, apr_size_t n)
{
    static const char *const bases[] = {"__session", "__client_uat", "__refresh"};

    if (n > 8 && !memcmp(name, "__clerk_", 8))
        return 1;
    for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
        apr_size_t b = strlen(bases[i]);
        if (n >= b && !memcmp(name, bases[i], b) && (n == b || (n > b + 1 && name[b] == '_')))
            return 1;
    }
    return 0;
}

/*
 * Whether the host name's last label is a number, as the URL standard takes
 * an IPv4 address ("ends in a number"): no parent domain exists above it.
 */
static int ends_in_number(const char *h)
{
    const char *last = strrchr(h, '.');

    last = last ? last + 1 : h;
    if (last[0] == '0' && (last[1] == 'x' || last[1] == 'X'))
        return strspn(last + 2, "0123456789abcdefABCDEF") == strlen(last + 2);
    return *last && strspn(last, "0123456789") == strlen(last);
}

/* host as cookies see it: no port, no IPv6 brackets, no trailing dot; *ip for an IP literal. */
static const char *bare_host(apr_pool_t *p, const char *host, int *ip)
{
    const char *colon = strchr(host, ':');
    apr_size_t n;

    if (*host == '[') {
        *ip = 1;
        return apr_pstrndup(p, host + 1, strcspn(host + 1, "]"));
    }
    if (colon && strchr(colon + 1, ':')) {
        *ip = 1;            /* an IPv6 address without brackets has no port */
        return host;
    }
    n = colon ? (apr_size_t)(colon - host) : strlen(host);
    if (n && host[n - 1] == '.')
        n--;
    host = apr_pstrndup(p, host, n);
    *ip = ends_in_number(host);
    return host;
}

/*
 * A Domain attribute value a browser would scope to host: host itself, or
 * (for a host name) a parent of at least two labels on a label boundary, so
 * neither "evil-example.com" for example.com nor a bare "com".  Multi-label
 * public suffixes (co.uk) are not known here; browsers refuse those.
 */
static int domain_allowed(apr_pool_t *p, const char *domain, const char *host)
{
    int ip;
    const char *h = bare_host(p, host, &ip);
    const char *d = domain + (*domain == '.');
    apr_size_t hn = strlen(h), dn = strlen(d);

    if (!dn)
        return 0;
    if (!strcasecmp(d, h))
        return 1;
    return !ip && strchr(d, '.') && hn > dn + 1 && h[hn - dn - 1] == '.'
           && !strcasecmp(h + hn - dn, d);
}

/*
 * Why directive d (its name the first n bytes, all tchar) may not be set, or
 * NULL.  The reason shows the name (at most 64 bytes) and the Domain, never
 * the value.
 */
static const char *cookie_refused(apr_pool_t *p, const char *d, apr_size_t n, const char *host)
{
    const char *attr = strchr(d, ';');
    int shown = n > 64 ? 64 : (int)n;

    if (!is_clerk_cookie(d, n))
        return apr_psprintf(p, "cookie %.*s is not one Clerk's handshake sets", shown, d);
    while (attr) {
        const char *name = attr + 1 + strspn(attr + 1, " ");
        apr_size_t len = strcspn(name, ";");
        const char *eq = memchr(name, '=', len);
        apr_size_t name_len = eq ? (apr_size_t)(eq - name) : len;
        const char *value = "";

        attr = name[len] ? name + len : NULL;
        while (name_len && name[name_len - 1] == ' ')
            name_len--;
        if (name_len != 6 || strncasecmp(name, "Domain", 6))
            continue;
        /* RFC 6265 5.2.3: the value without surrounding whitespace */
        if (eq) {
            value = eq + 1 + strspn(eq + 1, " ");
            len -= (apr_size_t)(value - name);
            while (len && value[len - 1] == ' ')
                len--;
            value = apr_pstrndup(p, value, len);
        }
        if (!host)
            return apr_psprintf(p, "cookie %.*s: Domain=%.100s and the request names no host",
                                shown, d, value);
        if (!domain_allowed(p, value, host))
            return apr_psprintf(p, "cookie %.*s: Domain=%.100s is not the host or a parent of it",
                                shown, d, value);
    }
    return NULL;
}

apr_array_header_t *clerk_handshake_allowed_cookies(apr_pool_t *p,
                                                    const apr_array_header_t *directives,
                                                    const char *host,
                                                    apr_array_header_t *dropped)
{
    apr_array_header_t *kept = apr_array_make(p, directives->nelts, sizeof(const char *));

    for (int i = 0; i < directives->nelts; i++) {
        const char *d = APR_ARRAY_IDX(directives, i, const char *);
        apr_size_t n = strcspn(d, "=;");
        const char *why = NULL;

        if (!clerk_export_header_safe(d))
            why = "a directive with a control character";
        else if (d[n] != '=')
            why = "a directive without name=value";
        else if (!n)
            why = "a directive with an empty cookie name";
        else {
            for (apr_size_t j = 0; j < n && !why; j++)
                if (!is_tchar(d[j]))
                    why = "a cookie name that is not a token";
            if (!why)
                why = cookie_refused(p, d, n, host);
        }
        if (!why)
            APR_ARRAY_PUSH(kept, const char *) = d;
        else if (dropped)
            APR_ARRAY_PUSH(dropped, const char *) = why;
    }
    return kept;
}

static int is_handshake_param(const char *param, apr_size_t n)
{
    static const char *const names[] = {"__clerk_handshake", "__clerk_handshake_nonce",
                                        "__clerk_help", "__clerk_db_jwt", "__dev_session"};
    const char *eq = memchr(param, '=', n);
    apr_size_t name_len = eq ? (apr_size_t)(eq - param) : n;

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strlen(names[i]) == name_len && !memcmp(param, names[i], name_len))
            return 1;
    return 0;
}

const char *clerk_handshake_strip_query(apr_pool_t *p, const char *args)
{
    char *out, *d;
    const char *s = args;

    if (!args)
        return NULL;
    out = d = apr_palloc(p, strlen(args) + 1);
    while (*s) {
        apr_size_t n = strcspn(s, "&");
        if (n && !is_handshake_param(s, n)) {
            if (d != out)
                *d++ = '&';
            memcpy(d, s, n);
            d += n;
        }
        s += n;
        if (*s == '&')
            s++;
    }
    *d = '\0';
    return *out ? out : NULL;
}

const char *clerk_query_param(apr_pool_t *p, const char *args, const char *name)
{
    apr_size_t name_len = strlen(name);
    const char *s = args;

    while (s && *s) {
        apr_size_t n = strcspn(s, "&");
        if (n > name_len && s[name_len] == '=' && !memcmp(s, name, name_len)) {
            const char *v = apr_punescape_url(p, apr_pstrndup(p, s + name_len + 1,
                                                              n - name_len - 1),
                                              NULL, NULL, 1);
            return v && *v ? v : NULL;
        }
        s += n;
        if (*s == '&')
            s++;
    }
    return NULL;
}
