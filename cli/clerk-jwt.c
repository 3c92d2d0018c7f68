/*
 * clerk-jwt: decode, lint, verify, mint and keygen for Clerk JWTs, built on
 * the httpd-free core of mod_auth_clerk (CONTRACT §8).
 *
 *   verify  is the module's decision: the options are built as the module
 *           builds them and the token goes through clerk_verify_token(); the
 *           variables shown on success are clerk_export_vars().
 *   decode  and lint never verify anything.  They read what a token claims,
 *           so they also accept what the module refuses (HS256, alg none,
 *           padded base64) in order to show and explain it.
 *   mint    and keygen make development keys and tokens (clerk_jws_sign()).
 *
 * Exit status: 0 valid/ok, 1 rejected/findings, 2 usage or I/O error.
 * Secrets are never printed: no private key material, no secret key; tokens
 * only by mint.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clerk_backend_api.h"
#include "clerk_base64url.h"
#include "clerk_claims.h"
#include "clerk_export.h"
#include "clerk_http.h"
#include "clerk_jwks_cache.h"
#include "clerk_json.h"
#include "clerk_jws.h"
#include "clerk_key.h"
#include "clerk_policy.h"
#include "clerk_publishable_key.h"
#include "clerk_reason.h"
#include "clerk_verify.h"

#define EXIT_VALID    0
#define EXIT_REJECTED 1
#define EXIT_USAGE    2

/* Largest token or option document read from stdin or a file. */
#define CLI_MAX_INPUT (1u << 20)

/* Clerk's default session-token lifetime, and the lint thresholds. */
#define CLERK_DEFAULT_TTL 60
#define LINT_LONG_INFO    300
#define LINT_LONG_WARNING 3600
#define LINT_LONG_MACHINE 86400

/* ClerkClockSkew accepts 0 to this many seconds. */

/* Times beyond this are shown as out of range (no int64 overflow). */
#define TIME_LIMIT 253402300799LL /* 9999-12-31T23:59:59Z */

static const char *prog = "clerk-jwt";
static const char *g_cmd = NULL;    /* the subcommand, for messages */
static int g_json = 0;              /* --json anywhere on the line */
static apr_pool_t *g_pool;          /* the process pool, for option parsing */

/* ------------------------------------------------------------------ */
/* Messages and output                                                 */
/* ------------------------------------------------------------------ */

static void print_json(json_t *j)
{
    json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(j);
}

/*
 * An error that ends the command with status 2.  The message goes to stderr;
 * with --json an object {"ok":false,"error":kind,"message":...} also goes to
 * stdout so that a consumer parsing stdout always gets JSON.
 */
static int fail_v(const char *kind, int hint, const char *fmt, va_list ap)
{
    char msg[1024];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (g_cmd)
        fprintf(stderr, "%s %s: %s\n", prog, g_cmd, msg);
    else
        fprintf(stderr, "%s: %s\n", prog, msg);
    if (hint)
        fprintf(stderr, "Try '%s%s%s --help'.\n", prog, g_cmd ? " " : "", g_cmd ? g_cmd : "");
    if (g_json) {
        json_t *j = json_object();
        json_object_set_new(j, "ok", json_false());
        if (g_cmd)
            json_object_set_new(j, "command", json_string(g_cmd));
        json_object_set_new(j, "error", json_string(kind));
        json_object_set_new(j, "message", json_string(msg));
        print_json(j);
    }
    return EXIT_USAGE;
}

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    int rc;
    va_start(ap, fmt);
    rc = fail_v("usage", 1, fmt, ap);
    va_end(ap);
    return rc;
}

static int io_error(const char *fmt, ...)
{
    va_list ap;
    int rc;
    va_start(ap, fmt);
    rc = fail_v("io", 0, fmt, ap);
    va_end(ap);
    return rc;
}

/* A claim value for a terminal: control characters escaped. */
static void put_safe(FILE *f, const char *s)
{
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '\n')
            fputs("\\n", f);
        else if (*c == '\t')
            fputs("\\t", f);
        else if (*c < 0x20 || *c == 0x7f)
            fprintf(f, "\\x%02x", *c);
        else
            fputc(*c, f);
    }
}

static json_t *json_str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *json_str_array(const apr_array_header_t *a)
{
    json_t *j = json_array();
    for (int i = 0; a && i < a->nelts; i++)
        json_array_append_new(j, json_string(APR_ARRAY_IDX(a, i, const char *)));
    return j;
}

/* ------------------------------------------------------------------ */
/* Help                                                                */
/* ------------------------------------------------------------------ */

static const char help_main[] =
"Usage: clerk-jwt [--json] COMMAND [OPTIONS] [ARGS]\n"
"\n"
"Inspect, check, verify and mint Clerk JWTs with the verification core of\n"
"mod_auth_clerk: 'verify' gives exactly the module's decision and reason.\n"
"\n"
"Commands:\n"
"  decode TOKEN   show header, claims, times, organization and token type\n"
"  lint TOKEN     report risky or unusual properties (does not check the signature)\n"
"  verify TOKEN   verify as mod_auth_clerk does; show the variables it would set\n"
"  mint           sign a Clerk-style session token with a private key (dev/test)\n"
"  keygen         create a development RSA key pair and JWKS\n"
"  help [COMMAND] show this text or a command's help\n"
"\n"
"TOKEN may be '-' to read it from standard input (surrounding white space is\n"
"ignored).\n"
"\n"
"Options of every command:\n"
"  --json         machine-readable JSON on standard output\n"
"  -h, --help     help for the command\n"
"\n"
"Exit status: 0 valid/ok, 1 rejected or findings, 2 usage or I/O error.\n";

static const char help_decode[] =
"Usage: clerk-jwt decode [OPTIONS] TOKEN\n"
"\n"
"Show a token's header and payload, its times as UTC dates with how long ago or\n"
"until, the token type as the module classifies it (session_token, m2m_token,\n"
"oauth_token), the Clerk category (cat), and the organization as the module\n"
"sees it (v1 claims, or v2 \"o\"/\"fea\" expanded exactly as Clerk's SDK does).\n"
"The signature is NOT checked: use 'clerk-jwt verify' for that.\n"
"\n"
"Options:\n"
"  --now T            the current time: Unix seconds (fraction ignored) or\n"
"                     YYYY-MM-DDTHH:MM:SSZ (default: the clock)\n"
"  --clock-skew S     seconds of leeway noted next to the times (default 5)\n"
"  --json             JSON output\n"
"\n"
"Exit status: 0 decoded, 1 not a decodable JWT, 2 usage or I/O error.\n";

static const char help_lint[] =
"Usage: clerk-jwt lint [OPTIONS] TOKEN\n"
"\n"
"Report what is risky or unusual about a token, each finding with a severity:\n"
"  error    the module rejects the token, or it is dangerous (HS*/none: a shared\n"
"           secret may be embedded somewhere)\n"
"  warning  accepted, but worth fixing (long-lived, no azp, no kid, wildcard\n"
"           permissions, pending session, template/M2M category, ...)\n"
"  info     worth knowing (no aud, impersonation, ...)\n"
"The signature is NOT checked: use 'clerk-jwt verify' for that.\n"
"\n"
"Options:\n"
"  --now T            the current time (Unix seconds or YYYY-MM-DDTHH:MM:SSZ)\n"
"  --clock-skew S     leeway for exp/nbf/iat, as ClerkClockSkew (default 5)\n"
"  --accept TYPE      token type expected here, as ClerkAcceptToken; repeatable:\n"
"                     session_token (default), m2m_token, oauth_token, any\n"
"  --json             JSON output\n"
"\n"
"Exit status: 0 no error or warning, 1 any error or warning finding,\n"
"2 usage or I/O error.\n";

static const char help_verify[] =
"Usage: clerk-jwt verify [OPTIONS] TOKEN\n"
"\n"
"Verify a token exactly as mod_auth_clerk does and print the decision: \"valid\"\n"
"or \"rejected: <reason>\" (Clerk's vocabulary, e.g. token-expired) with the\n"
"detail.  On success, print the variables the module would give the\n"
"application (REMOTE_USER, AUTH_TYPE, CLERK_*).\n"
"\n"
"Key (one is required; --pem wins over --jwks, as ClerkJWTKeyFile does):\n"
"  --pem FILE                 public key PEM (SPKI) or bare base64 body, as\n"
"                             ClerkJWTKeyFile; the token's kid is not used\n"
"  --jwks FILE                key set {\"keys\":[...]}, as ClerkJWKSFile; the key\n"
"                             is chosen by kid\n"
"Instance and checks (as the directives of the same name):\n"
"  --publishable-key PK       pk_test_/pk_live_: the expected issuer is\n"
"                             https://<Frontend API host> unless --issuer is given\n"
"  --issuer ISS               accepted iss, exact match; repeatable; 'off' disables\n"
"                             the check (ClerkIssuer)\n"
"  --authorized-party ORIGIN  azp allow-list; repeatable (ClerkAuthorizedParties)\n"
"  --audience AUD             aud must contain one; repeatable (ClerkAudience)\n"
"  --clock-skew S             leeway for exp/nbf/iat, 0 to 3600 s (default 5)\n"
"  --accept TYPE              accepted token type; repeatable: session_token\n"
"                             (default), m2m_token, oauth_token, api_key, any\n"
"  --allow-pending            count sts \"pending\" sessions as signed in\n"
"                             (ClerkAllowPendingSessions On)\n"
"  --remote-user-claim CLAIM  claim shown as REMOTE_USER (default sub;\n"
"                             ClerkRemoteUserClaim)\n"
"  --now T                    verify at this time: Unix seconds (fraction ignored)\n"
"                             or YYYY-MM-DDTHH:MM:SSZ (default: the clock)\n"
"  --json                     JSON output\n"
"\n"
"Not in this build (they need the network key sources): --jwks URL and\n"
"--secret-key (Backend API JWKS, opaque machine tokens).  Both are refused with\n"
"status 2.\n"
"\n"
"Exit status: 0 valid, 1 rejected, 2 usage or I/O error.\n";

static const char help_mint[] =
"Usage: clerk-jwt mint --key PRIVATE.pem [OPTIONS]\n"
"\n"
"Sign a session token shaped like Clerk's, for development and tests.  Header:\n"
"alg, kid, typ \"JWT\", cat \"cl_B7d4PD111AAA\".  Payload: sub, sid, iat = now,\n"
"nbf = now - 10, exp = now + ttl, and iss/azp/v when asked.  The token is\n"
"printed on standard output.\n"
"\n"
"Options:\n"
"  --key FILE         RSA private key, PEM (PKCS#8 or PKCS#1), unencrypted\n"
"  --kid KID          header kid (default: the key's RFC 7638 thumbprint, the\n"
"                     kid 'clerk-jwt keygen' uses by default)\n"
"  --alg ALG          RS256 (default), RS384 or RS512\n"
"  --sub ID           subject (default user_dev)\n"
"  --issuer ISS       iss claim, e.g. https://clerk.example.com\n"
"  --azp ORIGIN       azp claim, e.g. http://localhost:3000\n"
"  --ttl S            lifetime in seconds (default 60, Clerk's default)\n"
"  --v2               v2 claims: sets \"v\": 2 (put \"o\", \"fea\", ... in --claims)\n"
"  --claims JSON      object merged over the default claims ('@FILE' reads a\n"
"                     file, '@-' standard input); a null value removes a claim\n"
"  --header JSON      object merged over the default header (same forms)\n"
"  --now T            issue at this time (Unix seconds or YYYY-MM-DDTHH:MM:SSZ)\n"
"  --json             print {\"token\", \"header\", \"payload\"} instead\n"
"\n"
"Example (a v2 token of an org admin allowed to read reports):\n"
"  clerk-jwt mint --key keys/private.pem --v2 --sub user_123 \\\n"
"    --claims '{\"o\":{\"id\":\"org_1\",\"slg\":\"acme\",\"rol\":\"admin\",\"per\":\"read\",\"fpm\":\"1\"},\"fea\":\"o:reports\"}'\n";

static const char help_keygen[] =
"Usage: clerk-jwt keygen --out DIR [OPTIONS]\n"
"\n"
"Create a development RSA key pair:\n"
"  DIR/private.pem   PKCS#8 private key, mode 0600 (for 'clerk-jwt mint --key')\n"
"  DIR/public.pem    SPKI public key (for ClerkJWTKeyFile / verify --pem)\n"
"  DIR/jwks.json     {\"keys\":[...]} with kid, use sig, alg RS256 (for\n"
"                    ClerkJWKSFile / verify --jwks)\n"
"\n"
"Options:\n"
"  --out DIR          directory to write to (created if missing)\n"
"  --kid KID          kid in jwks.json (default: the RFC 7638 thumbprint)\n"
"  --bits N           2048 (default), 3072 or 4096\n"
"  --force            replace existing files\n"
"  --json             JSON output\n";

static const char *help_for(const char *cmd)
{
    if (!cmd)
        return help_main;
    if (!strcmp(cmd, "decode"))
        return help_decode;
    if (!strcmp(cmd, "lint"))
        return help_lint;
    if (!strcmp(cmd, "verify"))
        return help_verify;
    if (!strcmp(cmd, "mint"))
        return help_mint;
    if (!strcmp(cmd, "keygen"))
        return help_keygen;
    return NULL;
}

static int show_help(const char *cmd)
{
    fputs(help_for(cmd), stdout);
    return EXIT_VALID;
}

/* ------------------------------------------------------------------ */
/* Option parsing                                                      */
/* ------------------------------------------------------------------ */

typedef struct optdef {
    const char *name;       /* without the leading "--" */
    int has_arg;
    int id;
} optdef_t;

enum {
    OPT_JSON = 1, OPT_HELP, OPT_NOW, OPT_SKEW, OPT_ACCEPT,
    OPT_PEM, OPT_JWKS, OPT_PK, OPT_SK, OPT_API_URL, OPT_ISSUER, OPT_AZP_LIST, OPT_AUD, OPT_PENDING,
    OPT_KEY, OPT_KID, OPT_ALG, OPT_SUB, OPT_AZP, OPT_TTL, OPT_V2, OPT_CLAIMS, OPT_HEADER,
    OPT_OUT, OPT_BITS, OPT_FORCE, OPT_RUSER,
};

#define PARSE_HELP (-1)

typedef int (*opt_cb)(void *ctx, int id, const char *name, const char *val);

/*
 * GNU-style long options ("--name value" or "--name=value") in any order
 * with the positional arguments; "--" ends options; "-" is positional.
 * Returns 0, PARSE_HELP, or EXIT_USAGE after reporting the problem.
 */
static int parse_args(int argc, char **argv, const optdef_t *defs, opt_cb cb, void *ctx,
                      apr_array_header_t *pos)
{
    int only_pos = 0;

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const optdef_t *d = NULL;
        const char *eq, *val = NULL;
        size_t nlen;
        int rc;

        if (only_pos || a[0] != '-' || !strcmp(a, "-")) {
            APR_ARRAY_PUSH(pos, const char *) = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            only_pos = 1;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            return PARSE_HELP;
        if (!strcmp(a, "--json")) {
            g_json = 1;
            continue;
        }
        if (a[1] != '-')
            return usage_error("unknown option '%s'", a);
        eq = strchr(a + 2, '=');
        nlen = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
        for (const optdef_t *o = defs; o->name; o++)
            if (strlen(o->name) == nlen && !strncmp(o->name, a + 2, nlen))
                d = o;
        if (!d)
            return usage_error("unknown option '%.*s'", (int)nlen + 2, a);
        if (d->has_arg) {
            if (eq)
                val = eq + 1;
            else if (i + 1 < argc)
                val = argv[++i];
            else
                return usage_error("option '--%s' needs a value", d->name);
        }
        else if (eq)
            return usage_error("option '--%s' takes no value", d->name);
        if ((rc = cb(ctx, d->id, d->name, val)) != 0)
            return rc;
    }
    return 0;
}

/* A decimal integer in [min, max]; 1 on success. */
static int parse_int(const char *s, long long min, long long max, long long *out)
{
    char *end;
    long long v;

    if (!s || !*s || isspace((unsigned char)*s))
        return 0;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return 0;
    *out = v;
    return 1;
}

/*
 * --now: Unix seconds, optionally with a fraction that is dropped (the core
 * works in whole seconds: flooring keeps every comparison of Clerk's
 * millisecond rules, exp*1000 <= now_ms - skew and so on, exact), or an
 * ISO-8601 UTC date-time.
 */
static int parse_now(const char *s, apr_int64_t *out)
{
    const char *dot = strchr(s, '.');
    long long v;

    if (strlen(s) >= 19 && s[4] == '-' && s[10] == 'T') {
        struct tm tm;
        int y, mo, d, h, mi, sec, n = 0;
        const char *rest;
        memset(&tm, 0, sizeof(tm));
        if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n != 19)
            return 0;
        rest = s + 19;
        if (*rest == '.') {     /* fraction of a second: ignored */
            rest++;
            while (isdigit((unsigned char)*rest))
                rest++;
        }
        if (strcmp(rest, "Z") && strcmp(rest, "+00:00") && *rest)
            return 0;
        if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
            return 0;
        tm.tm_year = y - 1900;
        tm.tm_mon = mo - 1;
        tm.tm_mday = d;
        tm.tm_hour = h;
        tm.tm_min = mi;
        tm.tm_sec = sec;
        *out = (apr_int64_t)timegm(&tm);
        return 1;
    }
    if (dot) {
        char *whole = strndup(s, (size_t)(dot - s));
        int ok = whole && parse_int(whole, 0, TIME_LIMIT, &v) && dot[1]
            && strspn(dot + 1, "0123456789") == strlen(dot + 1);
        free(whole);
        if (!ok)
            return 0;
        *out = (apr_int64_t)v;
        return 1;
    }
    if (!parse_int(s, 0, TIME_LIMIT, &v))
        return 0;
    *out = (apr_int64_t)v;
    return 1;
}

/* --accept values, as ClerkAcceptToken. */
static int parse_accept(const char *s, unsigned *types)
{
    clerk_token_type_t t;

    if (!strcmp(s, "any")) {
        *types |= CLERK_TYPE_ALL;
        return 1;
    }
    if (!(t = clerk_token_type_from_name(s)))
        return 0;
    *types |= (unsigned)t;
    return 1;
}

/* ------------------------------------------------------------------ */
/* Input                                                               */
/* ------------------------------------------------------------------ */

/* Read at most CLI_MAX_INPUT bytes of a stream; NULL when larger or unreadable. */
static char *read_stream(apr_pool_t *p, FILE *f, apr_size_t *len, const char **err)
{
    apr_size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1), *out;

    if (!buf) {
        *err = "out of memory";
        return NULL;
    }
    for (;;) {
        size_t got;
        if (n == cap) {
            char *nb;
            if (cap >= CLI_MAX_INPUT) {
                free(buf);
                *err = "input is larger than 1 MiB";
                return NULL;
            }
            cap *= 2;
            if (!(nb = realloc(buf, cap + 1))) {
                free(buf);
                *err = "out of memory";
                return NULL;
            }
            buf = nb;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                free(buf);
                *err = strerror(errno);
                return NULL;
            }
            break;
        }
    }
    if (n > CLI_MAX_INPUT) {
        free(buf);
        *err = "input is larger than 1 MiB";
        return NULL;
    }
    out = apr_pstrmemdup(p, buf, n);
    free(buf);
    *len = n;
    return out;
}

static char *read_file(apr_pool_t *p, const char *path, apr_size_t *len, const char **err)
{
    FILE *f;
    char *buf;

    if (!strcmp(path, "-"))
        return read_stream(p, stdin, len, err);
    if (!(f = fopen(path, "rb"))) {
        *err = apr_psprintf(p, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    buf = read_stream(p, f, len, err);
    fclose(f);
    if (!buf)
        *err = apr_psprintf(p, "%s: %s", path, *err);
    return buf;
}

/* TOKEN or '-': the token text with surrounding white space removed. */
static int get_token(apr_pool_t *p, const char *arg, const char **tok, apr_size_t *len)
{
    const char *s, *err;
    apr_size_t n;

    if (!strcmp(arg, "-")) {
        if (!(s = read_stream(p, stdin, &n, &err)))
            return io_error("reading the token from standard input: %s", err);
    }
    else {
        s = arg;
        n = strlen(arg);
    }
    while (n && isspace((unsigned char)*s))
        s++, n--;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n == 0)
        return usage_error("the token is empty");
    *tok = apr_pstrmemdup(p, s, n);
    *len = n;
    return 0;
}

/* A JSON object given inline, as @FILE, or @- (stdin). */
static json_t *get_json_object(apr_pool_t *p, const char *opt, const char *arg, int *rc)
{
    const char *text = arg, *err;
    apr_size_t len = strlen(arg);
    json_t *j;

    if (arg[0] == '@') {
        if (!(text = read_file(p, arg + 1, &len, &err))) {
            *rc = io_error("%s: %s", opt, err);
            return NULL;
        }
    }
    if (!(j = clerk_json_parse_object(p, text, len, &err))) {
        *rc = usage_error("%s: not a JSON object (%s)", opt, err);
        return NULL;
    }
    return j;
}

/* ------------------------------------------------------------------ */
/* Times                                                               */
/* ------------------------------------------------------------------ */

static const char *iso_utc(apr_pool_t *p, apr_int64_t t)
{
    struct tm tm;
    time_t tt = (time_t)t;
    char buf[32];

    if (t < -TIME_LIMIT || t > TIME_LIMIT || !gmtime_r(&tt, &tm) || tm.tm_year + 1900 < 0)
        return "(out of range)";
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return apr_pstrdup(p, buf);
}

/* "45s", "3m 20s", "2h 5m", "400d 3h": the two largest units. */
static const char *span(apr_pool_t *p, apr_int64_t s)
{
    if (s < 0)
        s = -s;
    if (s < 60)
        return apr_psprintf(p, "%" APR_INT64_T_FMT "s", s);
    if (s < 3600)
        return s % 60 ? apr_psprintf(p, "%" APR_INT64_T_FMT "m %" APR_INT64_T_FMT "s", s / 60, s % 60)
                      : apr_psprintf(p, "%" APR_INT64_T_FMT "m", s / 60);
    if (s < 86400)
        return (s % 3600) / 60
            ? apr_psprintf(p, "%" APR_INT64_T_FMT "h %" APR_INT64_T_FMT "m", s / 3600, (s % 3600) / 60)
            : apr_psprintf(p, "%" APR_INT64_T_FMT "h", s / 3600);
    return (s % 86400) / 3600
        ? apr_psprintf(p, "%" APR_INT64_T_FMT "d %" APR_INT64_T_FMT "h", s / 86400, (s % 86400) / 3600)
        : apr_psprintf(p, "%" APR_INT64_T_FMT "d", s / 86400);
}

static apr_int64_t clock_now(void)
{
    return (apr_int64_t)time(NULL);
}

/* A time claim: absent, an integer in range, or invalid. */
typedef struct tclaim {
    int present, valid;
    apr_int64_t v;
} tclaim_t;

static tclaim_t time_claim(const json_t *payload, const char *name)
{
    tclaim_t t = {0, 0, 0};
    const json_t *j = payload ? json_object_get(payload, name) : NULL;

    if (!j)
        return t;
    t.present = 1;
    if (json_is_integer(j) && json_integer_value(j) >= -TIME_LIMIT
        && json_integer_value(j) <= TIME_LIMIT) {
        t.valid = 1;
        t.v = json_integer_value(j);
    }
    else if (json_is_integer(j)) {
        t.v = json_integer_value(j) < 0 ? -TIME_LIMIT : TIME_LIMIT;   /* out of range */
    }
    return t;
}

/* The phrase for a time claim relative to now. */
static const char *relative(apr_pool_t *p, const char *name, apr_int64_t v, apr_int64_t now,
                            apr_int64_t skew)
{
    apr_int64_t d = v - now;

    if (!strcmp(name, "exp")) {
        if (d > 0)
            return apr_pstrcat(p, "expires in ", span(p, d), NULL);
        return apr_pstrcat(p, "expired ", span(p, d), " ago",
                           v > now - skew ? " (still within the clock skew)" : "", NULL);
    }
    if (!strcmp(name, "nbf")) {
        if (d > 0)
            return apr_pstrcat(p, "not valid before, in ", span(p, d),
                               v <= now + skew ? " (within the clock skew)" : "", NULL);
        return apr_pstrcat(p, "valid since ", span(p, d), " ago", NULL);
    }
    if (d > 0)
        return apr_pstrcat(p, "issued in the future, in ", span(p, d),
                           v <= now + skew ? " (within the clock skew)" : "", NULL);
    return apr_pstrcat(p, "issued ", span(p, d), " ago", NULL);
}

/* ------------------------------------------------------------------ */
/* Reading a token without verifying it (decode, lint)                 */
/* ------------------------------------------------------------------ */

typedef struct token_view {
    const char *text;
    apr_size_t len;
    int nseg;
    const char *opaque;         /* type name of an opaque machine token */
    const char *opaque_prefix;
    const char *error;          /* set when not a decodable JWS */
    int canonical;              /* every segment strict unpadded base64url */
    json_t *header, *payload;
    apr_size_t sig_len;
    const char *alg, *kid, *typ, *cat;  /* NULL when absent or not strings */
    clerk_token_type_t type;
} token_view_t;

static int b64_value(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-' || c == '+')
        return 62;
    if (c == '_' || c == '/')
        return 63;
    return -1;
}

/*
 * Lenient base64 for display only: either alphabet, padding allowed, extra
 * trailing bits ignored.  The module itself uses the strict decoder.
 */
static int b64_lenient(apr_pool_t *p, const char *in, apr_size_t len,
                       unsigned char **out, apr_size_t *outlen)
{
    unsigned char *buf;
    unsigned acc = 0;
    int bits = 0;
    apr_size_t n = 0;

    while (len && in[len - 1] == '=')
        len--;
    if (len % 4 == 1)
        return 0;
    buf = apr_palloc(p, len / 4 * 3 + 4);
    for (apr_size_t i = 0; i < len; i++) {
        int v = b64_value((unsigned char)in[i]);
        if (v < 0)
            return 0;
        acc = ((acc << 6) | (unsigned)v) & 0xffffu;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[n++] = (unsigned char)(acc >> bits);
        }
    }
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    return 1;
}

static int decode_segment(apr_pool_t *p, const char *s, apr_size_t len, unsigned char **out,
                          apr_size_t *outlen, int *canonical)
{
    if (clerk_b64url_decode(p, s, len, out, outlen) == APR_SUCCESS)
        return 1;
    *canonical = 0;
    return b64_lenient(p, s, len, out, outlen);
}

static void view_token(apr_pool_t *p, const char *tok, apr_size_t len, token_view_t *v)
{
    const char *seg[8];
    apr_size_t seglen[8];
    unsigned char *buf;
    apr_size_t blen;
    const char *err, *s = tok;

    memset(v, 0, sizeof(*v));
    v->text = tok;
    v->len = len;
    v->canonical = 1;

    if (!memchr(tok, '.', len) && clerk_opaque_token_type(tok)) {
        v->opaque = clerk_token_type_name(clerk_opaque_token_type(tok));
        v->opaque_prefix = apr_pstrndup(p, tok, (apr_size_t)(strchr(tok, '_') - tok + 1));
    }
    for (;;) {
        const char *dot = memchr(s, '.', len - (apr_size_t)(s - tok));
        if (v->nseg < 8) {
            seg[v->nseg] = s;
            seglen[v->nseg] = dot ? (apr_size_t)(dot - s) : len - (apr_size_t)(s - tok);
        }
        v->nseg++;
        if (!dot)
            break;
        s = dot + 1;
    }
    if (v->opaque) {
        v->error = apr_psprintf(p, "an opaque %s (%s...): nothing to decode; it is verified "
                                "through Clerk's Backend API", v->opaque, v->opaque_prefix);
        return;
    }
    if (v->nseg == 5) {
        v->error = "5 segments: an encrypted JWE, not a signed JWS";
        return;
    }
    if (v->nseg != 3) {
        v->error = apr_psprintf(p, "%d dot-separated segment%s; a JWS has 3", v->nseg,
                                v->nseg == 1 ? "" : "s");
        return;
    }
    if (!decode_segment(p, seg[0], seglen[0], &buf, &blen, &v->canonical)) {
        v->error = "the header segment is not base64url";
        return;
    }
    if (!(v->header = clerk_json_parse_object(p, (const char *)buf, blen, &err))) {
        v->error = apr_pstrcat(p, "header: ", err, NULL);
        return;
    }
    if (!decode_segment(p, seg[1], seglen[1], &buf, &blen, &v->canonical)) {
        v->error = "the payload segment is not base64url";
        return;
    }
    if (!(v->payload = clerk_json_parse_object(p, (const char *)buf, blen, &err))) {
        v->error = apr_pstrcat(p, "payload: ", err, NULL);
        return;
    }
    if (seglen[2] && !decode_segment(p, seg[2], seglen[2], &buf, &blen, &v->canonical)) {
        v->error = "the signature segment is not base64url";
        return;
    }
    v->sig_len = seglen[2] ? blen : 0;
    v->alg = clerk_json_string(v->header, "alg");
    v->kid = clerk_json_string(v->header, "kid");
    v->typ = clerk_json_string(v->header, "typ");
    v->cat = clerk_json_string(v->header, "cat");
    v->type = clerk_token_classify(v->typ, v->cat, v->payload);
}

static const char *category_name(const char *cat)
{
    if (!cat)
        return "absent (minted before categories; accepted for session tokens)";
    if (!strcmp(cat, CLERK_CAT_SESSION))
        return "session token";
    if (!strcmp(cat, CLERK_CAT_TEMPLATE))
        return "JWT template";
    if (!strcmp(cat, CLERK_CAT_M2M))
        return "M2M token";
    if (!strcmp(cat, CLERK_CAT_IGNORE))
        return "ignore (no class information)";
    return "unknown category";
}

/* Short stable names for --json. */
static const char *category_key(const char *cat)
{
    if (!cat)
        return NULL;
    if (!strcmp(cat, CLERK_CAT_SESSION))
        return "session";
    if (!strcmp(cat, CLERK_CAT_TEMPLATE))
        return "jwt_template";
    if (!strcmp(cat, CLERK_CAT_M2M))
        return "m2m";
    if (!strcmp(cat, CLERK_CAT_IGNORE))
        return "ignore";
    return "unknown";
}

static int is_v2(const json_t *payload)
{
    const json_t *v = json_object_get(payload, "v");
    return json_is_integer(v) && json_integer_value(v) == 2;
}

/* ------------------------------------------------------------------ */
/* decode                                                              */
/* ------------------------------------------------------------------ */

typedef struct time_opts {
    apr_int64_t now;
    apr_int64_t skew;
    unsigned accept;
    int accept_given;
} time_opts_t;

static int time_opt_cb(void *ctx, int id, const char *name, const char *val)
{
    time_opts_t *o = ctx;
    long long v;

    switch (id) {
    case OPT_NOW:
        if (!parse_now(val, &o->now))
            return usage_error("--now needs Unix seconds or YYYY-MM-DDTHH:MM:SSZ, not '%s'", val);
        return 0;
    case OPT_SKEW:
        if (!parse_int(val, 0, CLERK_MAX_CLOCK_SKEW, &v))
            return usage_error("--clock-skew needs seconds from 0 to %d, not '%s'",
                               CLERK_MAX_CLOCK_SKEW, val);
        o->skew = v;
        return 0;
    case OPT_ACCEPT:
        if (!parse_accept(val, &o->accept))
            return usage_error("--accept: unknown token type '%s' (session_token, m2m_token, "
                               "oauth_token, api_key, any)", val);
        o->accept_given = 1;
        return 0;
    }
    return 0;
}

static json_t *scoped_json(apr_pool_t *p, const char *list)
{
    apr_array_header_t *org, *user;
    json_t *j;

    if (!list)
        return json_null();
    if (clerk_split_by_scope(p, list, &org, &user) != CLERK_OK)
        return json_string("malformed: an entry has no scope");
    j = json_object();
    json_object_set_new(j, "raw", json_string(list));
    json_object_set_new(j, "org", json_str_array(org));
    json_object_set_new(j, "user", json_str_array(user));
    return j;
}

static void print_scoped(apr_pool_t *p, const char *label, const char *list)
{
    apr_array_header_t *org, *user;

    if (!list)
        return;
    printf("  %-12s ", label);
    put_safe(stdout, list);
    if (clerk_split_by_scope(p, list, &org, &user) != CLERK_OK)
        printf("  (malformed: an entry has no scope)\n");
    else
        printf("  (org: %s; user: %s)\n", org->nelts ? apr_array_pstrcat(p, org, ',') : "-",
               user->nelts ? apr_array_pstrcat(p, user, ',') : "-");
}

static int cmd_decode(apr_pool_t *p, int argc, char **argv)
{
    static const optdef_t defs[] = {
        {"now", 1, OPT_NOW}, {"clock-skew", 1, OPT_SKEW}, {NULL, 0, 0},
    };
    static const char *const time_names[] = {"iat", "nbf", "exp"};
    apr_array_header_t *pos = apr_array_make(p, 2, sizeof(const char *));
    time_opts_t o = {clock_now(), 5, 0, 0};
    token_view_t v;
    const char *tok, *org_err = NULL;
    apr_size_t len;
    clerk_org_t org;
    clerk_reason_t org_rc = CLERK_OK;
    tclaim_t tc[3];
    int rc;

    if ((rc = parse_args(argc, argv, defs, time_opt_cb, &o, pos)) != 0)
        return rc == PARSE_HELP ? show_help("decode") : rc;
    if (pos->nelts != 1)
        return usage_error(pos->nelts ? "expects one TOKEN" : "missing TOKEN");
    if ((rc = get_token(p, APR_ARRAY_IDX(pos, 0, const char *), &tok, &len)) != 0)
        return rc;
    view_token(p, tok, len, &v);

    if (v.error) {
        if (g_json) {
            json_t *j = json_object();
            json_object_set_new(j, "ok", json_false());
            json_object_set_new(j, "error", json_string(v.error));
            json_object_set_new(j, "token_type", json_str_or_null(v.opaque));
            json_object_set_new(j, "format", json_string(v.opaque ? "opaque" : "invalid"));
            print_json(j);
        }
        else
            printf("not a decodable JWT: %s\n", v.error);
        return EXIT_REJECTED;
    }

    for (int i = 0; i < 3; i++)
        tc[i] = time_claim(v.payload, time_names[i]);
    if (v.type == CLERK_TYPE_SESSION)
        org_rc = clerk_org_from_payload(p, v.payload, &org, &org_err);
    else
        memset(&org, 0, sizeof(org));

    if (g_json) {
        json_t *j = json_object(), *times = json_object(), *cat = json_null(), *jorg = json_null();
        json_object_set_new(j, "ok", json_true());
        json_object_set_new(j, "format", json_string("jws"));
        json_object_set_new(j, "canonical_base64url", json_boolean(v.canonical));
        json_object_set_new(j, "header", json_incref(v.header));
        json_object_set_new(j, "payload", json_incref(v.payload));
        json_object_set_new(j, "token_type", json_string(clerk_token_type_name(v.type)));
        json_object_set_new(j, "alg", json_str_or_null(v.alg));
        json_object_set_new(j, "kid", json_str_or_null(v.kid));
        json_object_set_new(j, "typ", json_str_or_null(v.typ));
        if (v.cat) {
            cat = json_object();
            json_object_set_new(cat, "value", json_string(v.cat));
            json_object_set_new(cat, "name", json_string(category_key(v.cat)));
            json_object_set_new(cat, "description", json_string(category_name(v.cat)));
        }
        json_object_set_new(j, "category", cat);
        json_object_set_new(j, "claims_version", json_integer(is_v2(v.payload) ? 2 : 1));
        json_object_set_new(j, "now", json_integer(o.now));
        json_object_set_new(j, "now_utc", json_string(iso_utc(p, o.now)));
        for (int i = 0; i < 3; i++) {
            json_t *t;
            if (!tc[i].present)
                continue;
            t = json_object();
            json_object_set_new(t, "value", json_incref(json_object_get(v.payload, time_names[i])));
            if (tc[i].valid) {
                json_object_set_new(t, "utc", json_string(iso_utc(p, tc[i].v)));
                json_object_set_new(t, "seconds_from_now", json_integer(tc[i].v - o.now));
                json_object_set_new(t, "relative",
                                    json_string(relative(p, time_names[i], tc[i].v, o.now, o.skew)));
            }
            else
                json_object_set_new(t, "error", json_string("not an integer NumericDate"));
            json_object_set_new(times, time_names[i], t);
        }
        json_object_set_new(j, "times", times);
        json_object_set_new(j, "lifetime", tc[2].valid && tc[0].valid
                                               ? json_integer(tc[2].v - tc[0].v) : json_null());
        json_object_set_new(j, "expired", tc[2].valid ? json_boolean(tc[2].v <= o.now - o.skew)
                                                      : json_null());
        if (org_rc != CLERK_OK) {
            jorg = json_object();
            json_object_set_new(jorg, "error", json_string(org_err ? org_err : "malformed"));
        }
        else if (org.id || org.role || org.permissions) {
            jorg = json_object();
            json_object_set_new(jorg, "id", json_str_or_null(org.id));
            json_object_set_new(jorg, "slug", json_str_or_null(org.slug));
            json_object_set_new(jorg, "role", json_str_or_null(org.role));
            json_object_set_new(jorg, "permissions", org.permissions
                                                         ? json_str_array(org.permissions)
                                                         : json_null());
        }
        json_object_set_new(j, "org", jorg);
        json_object_set_new(j, "features", scoped_json(p, clerk_json_string(v.payload, "fea")));
        json_object_set_new(j, "plans", scoped_json(p, clerk_json_string(v.payload, "pla")));
        json_object_set_new(j, "signature_verified", json_false());
        print_json(j);
        return EXIT_VALID;
    }

    {
        char *h = json_dumps(v.header, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        char *pl = json_dumps(v.payload, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("Header\n%s\n\nPayload\n%s\n\n", h ? h : "?", pl ? pl : "?");
        free(h);
        free(pl);
    }
    printf("Token\n");
    printf("  %-12s %s%s\n", "type", clerk_token_type_name(v.type),
           v.type == CLERK_TYPE_OAUTH ? " (typ at+jwt)"
           : v.type == CLERK_TYPE_M2M ? " (machine subject or M2M category)" : "");
    printf("  %-12s ", "category");
    if (v.cat) {
        put_safe(stdout, v.cat);
        printf(" (%s)\n", category_name(v.cat));
    }
    else
        printf("%s\n", category_name(NULL));
    printf("  %-12s ", "algorithm");
    put_safe(stdout, v.alg ? v.alg : "(missing)");
    printf("\n  %-12s ", "kid");
    put_safe(stdout, v.kid ? v.kid : "(none)");
    printf("\n  %-12s %s\n", "claims", is_v2(v.payload) ? "v2" : "v1");
    if (!v.canonical)
        printf("  %-12s not canonical unpadded base64url (the module rejects it)\n", "encoding");

    printf("\nTimes (now %s, clock skew %" APR_INT64_T_FMT " s)\n", iso_utc(p, o.now), o.skew);
    for (int i = 0; i < 3; i++) {
        if (!tc[i].present) {
            printf("  %-4s (absent)\n", time_names[i]);
            continue;
        }
        if (!tc[i].valid) {
            printf("  %-4s not an integer NumericDate\n", time_names[i]);
            continue;
        }
        printf("  %-4s %-12" APR_INT64_T_FMT " %s  %s\n", time_names[i], tc[i].v,
               iso_utc(p, tc[i].v), relative(p, time_names[i], tc[i].v, o.now, o.skew));
    }
    if (tc[2].valid && tc[0].valid)
        printf("  lifetime %s (exp - iat)\n", span(p, tc[2].v - tc[0].v));

    printf("\nIdentity\n");
    {
        static const char *const ids[] = {"sub", "sid", "sts", "iss", "azp", "jti"};
        const json_t *aud = json_object_get(v.payload, "aud");
        const json_t *act = json_object_get(v.payload, "act");
        for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
            const char *s = clerk_json_string(v.payload, ids[i]);
            if (s) {
                printf("  %-12s ", ids[i]);
                put_safe(stdout, s);
                fputc('\n', stdout);
            }
        }
        if (aud) {
            char *a = json_dumps(aud, JSON_COMPACT | JSON_ENCODE_ANY);
            printf("  %-12s ", "aud");
            put_safe(stdout, a ? a : "?");
            fputc('\n', stdout);
            free(a);
        }
        if (json_is_object(act) && clerk_json_string(act, "sub")) {
            printf("  %-12s ", "actor");
            put_safe(stdout, clerk_json_string(act, "sub"));
            printf(" (impersonation)\n");
        }
        if (v.type != CLERK_TYPE_SESSION) {
            const char *sc = clerk_json_string(v.payload, v.type == CLERK_TYPE_M2M ? "scopes" : "scope");
            if (sc) {
                printf("  %-12s ", "scopes");
                put_safe(stdout, sc);
                fputc('\n', stdout);
            }
        }
    }

    if (v.type == CLERK_TYPE_SESSION) {
        printf("\nOrganization\n");
        if (org_rc != CLERK_OK)
            printf("  malformed: %s (the module rejects the token)\n", org_err ? org_err : "?");
        else if (!org.id && !org.role && !org.permissions)
            printf("  (no active organization)\n");
        else {
            printf("  %-12s ", "id");
            put_safe(stdout, org.id ? org.id : "-");
            printf("\n  %-12s ", "slug");
            put_safe(stdout, org.slug ? org.slug : "-");
            printf("\n  %-12s ", "role");
            put_safe(stdout, org.role ? org.role : "-");
            printf("\n  %-12s ", "permissions");
            put_safe(stdout, org.permissions && org.permissions->nelts
                                 ? apr_array_pstrcat(p, org.permissions, ',') : "(none)");
            fputc('\n', stdout);
        }
        print_scoped(p, "features", clerk_json_string(v.payload, "fea"));
        print_scoped(p, "plans", clerk_json_string(v.payload, "pla"));
    }
    printf("\nSignature: not verified (use 'clerk-jwt verify')\n");
    return EXIT_VALID;
}

/* ------------------------------------------------------------------ */
/* lint                                                                */
/* ------------------------------------------------------------------ */

typedef enum { SEV_ERROR, SEV_WARNING, SEV_INFO } severity_t;

static const char *const sev_names[] = {"error", "warning", "info"};

typedef struct finding {
    severity_t sev;
    const char *code;
    const char *message;
} finding_t;

static void add_finding(apr_pool_t *p, apr_array_header_t *f, severity_t sev, const char *code,
                        const char *fmt, ...)
{
    finding_t *x = &APR_ARRAY_PUSH(f, finding_t);
    va_list ap;

    va_start(ap, fmt);
    x->sev = sev;
    x->code = code;
    x->message = apr_pvsprintf(p, fmt, ap);
    va_end(ap);
}

static int has_wildcard(const char *s)
{
    return s && strchr(s, '*') != NULL;
}

static const char *type_list(apr_pool_t *p, unsigned types)
{
    apr_array_header_t *a = apr_array_make(p, 4, sizeof(const char *));
    for (unsigned t = 1; t <= CLERK_TYPE_API_KEY; t <<= 1)
        if (types & t)
            APR_ARRAY_PUSH(a, const char *) = clerk_token_type_name((clerk_token_type_t)t);
    return apr_array_pstrcat(p, a, ',');
}

static void lint_header(apr_pool_t *p, const token_view_t *v, apr_array_header_t *f)
{
    const json_t *alg = json_object_get(v->header, "alg");
    static const char *const key_refs[] = {"jku", "x5u", "jwk", "x5c"};
    static const char *const refused[] = {"crit", "b64", "zip"};

    if (!v->canonical)
        add_finding(p, f, SEV_ERROR, "non-canonical-base64url",
                    "a segment is padded, uses the standard base64 alphabet or has stray bits; "
                    "the module accepts only canonical unpadded base64url (token-invalid)");
    if (v->len > CLERK_TOKEN_MAX_LEN)
        add_finding(p, f, SEV_ERROR, "too-large",
                    "the token is %" APR_SIZE_T_FMT " bytes; the module refuses tokens over %u bytes (token-invalid)",
                    (size_t)v->len, CLERK_TOKEN_MAX_LEN);

    if (!json_is_string(alg))
        add_finding(p, f, SEV_ERROR, "alg-missing",
                    "the header has no alg string; the module rejects it (token-invalid-algorithm)");
    else if (!strcasecmp(v->alg, "none"))
        add_finding(p, f, SEV_ERROR, "alg-none",
                    "alg \"%s\": an unsigned token that anyone can forge; the module rejects it "
                    "(token-invalid-algorithm)", v->alg);
    else if (!strncasecmp(v->alg, "HS", 2))
        add_finding(p, f, SEV_ERROR, "alg-hmac",
                    "alg %s is a shared-secret HMAC: whoever can verify it can mint it, and the "
                    "secret may be embedded in a client or server somewhere; Clerk signs with "
                    "RS256 and the module rejects %s (token-invalid-algorithm)", v->alg, v->alg);
    else if (strcmp(v->alg, "RS256") && strcmp(v->alg, "RS384") && strcmp(v->alg, "RS512"))
        add_finding(p, f, SEV_ERROR, "alg-unsupported",
                    "alg %s is not RS256, RS384 or RS512; the module rejects it "
                    "(token-invalid-algorithm)", v->alg);

    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        if (json_object_get(v->header, refused[i]))
            add_finding(p, f, SEV_ERROR, "header-unsupported",
                        "header parameter \"%s\" is present; the module refuses it (token-invalid)",
                        refused[i]);
    for (size_t i = 0; i < sizeof(key_refs) / sizeof(key_refs[0]); i++)
        if (json_object_get(v->header, key_refs[i]))
            add_finding(p, f, SEV_WARNING, "header-key-reference",
                        "header parameter \"%s\" names or embeds a key; the module never fetches "
                        "or trusts it, but a verifier that does can be tricked into accepting "
                        "a forged token", key_refs[i]);

    if (!json_object_get(v->header, "kid"))
        add_finding(p, f, SEV_WARNING, "no-kid",
                    "no kid: with a JWKS the key cannot be chosen when the set has several keys "
                    "(jwk-kid-mismatch); Clerk always sets kid to the instance id");
    else if (!v->kid || !*v->kid || strlen(v->kid) > CLERK_KID_MAX_LEN)
        add_finding(p, f, SEV_ERROR, "kid-invalid",
                    "kid is not a string of 1 to %d characters; the module rejects it "
                    "(token-invalid)", CLERK_KID_MAX_LEN);

    if (json_object_get(v->header, "typ") && !v->typ)
        add_finding(p, f, SEV_ERROR, "typ-invalid", "typ is not a string (token-invalid)");
    else if (v->typ && v->type != CLERK_TYPE_OAUTH && strcmp(v->typ, "JWT"))
        add_finding(p, f, SEV_ERROR, "typ-invalid",
                    "typ \"%s\" is neither absent nor \"JWT\"; the module rejects it (token-invalid)",
                    v->typ);
}

static void lint_category(apr_pool_t *p, const token_view_t *v, unsigned accept,
                          apr_array_header_t *f)
{
    if (!(accept & (unsigned)v->type))
        add_finding(p, f, SEV_WARNING, "token-type-not-accepted",
                    "this is an %s, but %s is expected here; the module rejects it "
                    "(token-type-mismatch)", clerk_token_type_name(v->type),
                    type_list(p, accept));
    /* a cat that is not a string: Clerk's "another class" on a session token */
    if (json_object_get(v->header, "cat") && !v->cat)
        add_finding(p, f, SEV_ERROR, "category-invalid", "cat is not a string; the module "
                    "rejects it (%s)", v->type == CLERK_TYPE_SESSION ? "token-type-mismatch"
                                                                    : "token-invalid");
    if (!v->cat || v->type == CLERK_TYPE_OAUTH)
        return;
    if (v->type == CLERK_TYPE_M2M) {
        if (strcmp(v->cat, CLERK_CAT_M2M))
            add_finding(p, f, SEV_ERROR, "category-mismatch",
                        "an M2M token (sub mch_...) with category %s; the module rejects it "
                        "(token-invalid)", v->cat);
        else if (!clerk_json_string(v->payload, "sub")
                 || strncmp(clerk_json_string(v->payload, "sub"), "mch_", 4))
            add_finding(p, f, SEV_WARNING, "m2m-category",
                        "category %s (M2M) on a token whose subject is not a machine (mch_...): "
                        "it is treated as an M2M token, never as a session", v->cat);
        return;
    }
    if (!strcmp(v->cat, CLERK_CAT_TEMPLATE))
        add_finding(p, f, SEV_WARNING, "template-category",
                    "category %s: a JWT-template token, not a session token; templates carry no "
                    "session binding and outlive sign-out, so the module rejects them where a "
                    "session token is expected (token-type-mismatch)", v->cat);
    else if (strcmp(v->cat, CLERK_CAT_SESSION) && strcmp(v->cat, CLERK_CAT_IGNORE))
        add_finding(p, f, SEV_ERROR, "category-unknown",
                    "unknown category \"%s\"; the module rejects it (token-type-mismatch)",
                    v->cat);
}

static void lint_times(apr_pool_t *p, const token_view_t *v, const time_opts_t *o,
                       apr_array_header_t *f)
{
    tclaim_t exp = time_claim(v->payload, "exp");
    tclaim_t nbf = time_claim(v->payload, "nbf");
    tclaim_t iat = time_claim(v->payload, "iat");

    if (!exp.present)
        add_finding(p, f, SEV_ERROR, "exp-missing",
                    "no exp: a token that never expires; the module requires it "
                    "(token-verification-failed)");
    else if (!exp.valid)
        add_finding(p, f, SEV_ERROR, "exp-invalid",
                    "exp is not an integer NumericDate (token-verification-failed)");
    else if (exp.v <= o->now - o->skew)
        add_finding(p, f, SEV_ERROR, "expired", "expired %s ago (exp %s); the module rejects it "
                    "(token-expired)", span(p, o->now - exp.v), iso_utc(p, exp.v));

    if (nbf.present && !nbf.valid)
        add_finding(p, f, SEV_ERROR, "nbf-invalid",
                    "nbf is not an integer NumericDate (token-verification-failed)");
    else if (nbf.valid && nbf.v > o->now + o->skew)
        add_finding(p, f, SEV_ERROR, "not-yet-valid", "not valid for another %s (nbf %s); the "
                    "module rejects it (token-not-active-yet)", span(p, nbf.v - o->now),
                    iso_utc(p, nbf.v));
    if (iat.present && !iat.valid)
        add_finding(p, f, SEV_ERROR, "iat-invalid",
                    "iat is not an integer NumericDate (token-verification-failed)");
    else if (iat.valid && iat.v > o->now + o->skew)
        add_finding(p, f, SEV_ERROR, "iat-in-the-future", "issued %s in the future (iat %s); "
                    "the module rejects it (token-iat-in-the-future)", span(p, iat.v - o->now),
                    iso_utc(p, iat.v));

    if (exp.valid && (iat.valid || nbf.valid)) {
        apr_int64_t start = iat.valid ? iat.v : nbf.v;
        apr_int64_t life = exp.v - start;
        const char *from = iat.valid ? "iat" : "nbf";
        if (v->type == CLERK_TYPE_SESSION && life > LINT_LONG_WARNING)
            add_finding(p, f, SEV_WARNING, "long-lived",
                        "lifetime %s (exp - %s), far beyond Clerk's default of %d s: a leaked "
                        "token stays usable that long and survives sign-out", span(p, life), from,
                        CLERK_DEFAULT_TTL);
        else if (v->type == CLERK_TYPE_SESSION && life > LINT_LONG_INFO)
            add_finding(p, f, SEV_INFO, "long-lived",
                        "lifetime %s (exp - %s), longer than Clerk's default of %d s",
                        span(p, life), from, CLERK_DEFAULT_TTL);
        else if (v->type != CLERK_TYPE_SESSION && life > LINT_LONG_MACHINE)
            add_finding(p, f, SEV_INFO, "long-lived",
                        "lifetime %s (exp - %s): a JWT cannot be revoked before it expires",
                        span(p, life), from);
    }
    else if (exp.valid && !iat.present)
        add_finding(p, f, SEV_INFO, "iat-missing", "no iat: the token's age cannot be judged");
}

static void lint_claims(apr_pool_t *p, const token_view_t *v, apr_array_header_t *f)
{
    const json_t *pl = v->payload;
    const json_t *sub = json_object_get(pl, "sub");
    const json_t *ver = json_object_get(pl, "v");
    const char *sts = clerk_json_string(pl, "sts");
    int session = v->type == CLERK_TYPE_SESSION;

    if (!json_is_string(sub))
        add_finding(p, f, SEV_ERROR, "sub-missing",
                    "sub is missing or not a string; the module requires it "
                    "(token-verification-failed)");
    if (!json_object_get(pl, "iss"))
        add_finding(p, f, SEV_WARNING, "iss-missing",
                    "no iss: the token cannot be tied to a Clerk instance; it is rejected "
                    "wherever ClerkIssuer or ClerkPublishableKey sets the issuer "
                    "(token-invalid-issuer)");
    if (!json_object_get(pl, "aud"))
        add_finding(p, f, SEV_INFO, "aud-missing",
                    session ? "no aud (normal: Clerk session tokens carry none; bind them with "
                              "ClerkAuthorizedParties and the issuer instead); rejected where "
                              "ClerkAudience is set (token-invalid-audience)"
                            : "no aud; rejected where ClerkAudience is set (token-invalid-audience)");
    if (session && !json_object_get(pl, "azp"))
        add_finding(p, f, SEV_WARNING, "azp-missing",
                    "no azp (authorized party): the token is not bound to an origin; it is "
                    "rejected wherever ClerkAuthorizedParties is set "
                    "(token-invalid-authorized-parties)");
    if (session && !json_object_get(pl, "sid"))
        add_finding(p, f, SEV_INFO, "sid-missing",
                    "no sid: not tied to a Clerk session (Clerk's session tokens always have one)");
    if (session && sts && !strcmp(sts, "pending"))
        add_finding(p, f, SEV_WARNING, "pending-session",
                    "sts \"pending\": the session is not complete (e.g. an organization must "
                    "still be chosen); the module treats it as signed out unless "
                    "ClerkAllowPendingSessions On (session-pending)");
    else if (session && sts && strcmp(sts, "active"))
        add_finding(p, f, SEV_INFO, "session-status", "unusual sts \"%s\"", sts);
    if (ver && !is_v2(pl))
        add_finding(p, f, SEV_WARNING, "claims-version",
                    "v is present but not the number 2; the token is read as v1 and its v2 "
                    "organization claims (\"o\") are ignored");
    if (json_is_object(json_object_get(pl, "act")))
        add_finding(p, f, SEV_INFO, "impersonation",
                    "act is present: an impersonation session (actor %s)",
                    clerk_json_string(json_object_get(pl, "act"), "sub")
                        ? clerk_json_string(json_object_get(pl, "act"), "sub") : "?");

    if (session) {
        clerk_org_t org;
        const char *detail = NULL;
        if (clerk_org_from_payload(p, pl, &org, &detail) != CLERK_OK)
            add_finding(p, f, SEV_ERROR, "fea-malformed",
                        "%s; Clerk's SDK cannot build an auth object and the module rejects the "
                        "token (token-invalid)", detail ? detail : "organization claims are malformed");
        else {
            apr_array_header_t *wild = apr_array_make(p, 2, sizeof(const char *));
            for (int i = 0; org.permissions && i < org.permissions->nelts; i++)
                if (has_wildcard(APR_ARRAY_IDX(org.permissions, i, const char *)))
                    APR_ARRAY_PUSH(wild, const char *) = APR_ARRAY_IDX(org.permissions, i, const char *);
            if (wild->nelts)
                add_finding(p, f, SEV_WARNING, "wildcard-permission",
                            "wildcard permission%s %s: Clerk matches permissions literally, so "
                            "'*' grants nothing by itself, but an application that expands it "
                            "grants everything", wild->nelts > 1 ? "s" : "",
                            apr_array_pstrcat(p, wild, ','));
            if (has_wildcard(org.role))
                add_finding(p, f, SEV_WARNING, "wildcard-permission",
                            "wildcard in the organization role %s", org.role);
        }
    }
    else {
        const char *sc = clerk_json_string(pl, v->type == CLERK_TYPE_M2M ? "scopes" : "scope");
        if (has_wildcard(sc))
            add_finding(p, f, SEV_WARNING, "wildcard-permission", "wildcard scope in \"%s\"", sc);
    }
}

static int sev_cmp(const void *a, const void *b)
{
    const finding_t *x = a, *y = b;
    return (int)x->sev - (int)y->sev;
}

static int cmd_lint(apr_pool_t *p, int argc, char **argv)
{
    static const optdef_t defs[] = {
        {"now", 1, OPT_NOW}, {"clock-skew", 1, OPT_SKEW}, {"accept", 1, OPT_ACCEPT}, {NULL, 0, 0},
    };
    apr_array_header_t *pos = apr_array_make(p, 2, sizeof(const char *));
    apr_array_header_t *f = apr_array_make(p, 8, sizeof(finding_t));
    time_opts_t o = {clock_now(), 5, 0, 0};
    token_view_t v;
    const char *tok;
    apr_size_t len;
    int rc, counts[3] = {0, 0, 0};

    if ((rc = parse_args(argc, argv, defs, time_opt_cb, &o, pos)) != 0)
        return rc == PARSE_HELP ? show_help("lint") : rc;
    if (pos->nelts != 1)
        return usage_error(pos->nelts ? "expects one TOKEN" : "missing TOKEN");
    if (!o.accept_given)
        o.accept = CLERK_TYPE_SESSION;
    if ((rc = get_token(p, APR_ARRAY_IDX(pos, 0, const char *), &tok, &len)) != 0)
        return rc;
    view_token(p, tok, len, &v);

    if (v.opaque)
        add_finding(p, f, SEV_INFO, "opaque-token",
                    "an opaque %s: nothing to lint locally; it is verified through Clerk's "
                    "Backend API", v.opaque);
    else if (v.error)
        add_finding(p, f, SEV_ERROR, "malformed", "not a decodable JWT: %s (token-invalid)", v.error);
    else {
        lint_header(p, &v, f);
        lint_category(p, &v, o.accept, f);
        lint_times(p, &v, &o, f);
        lint_claims(p, &v, f);
    }
    qsort(f->elts, (size_t)f->nelts, sizeof(finding_t), sev_cmp);
    for (int i = 0; i < f->nelts; i++)
        counts[APR_ARRAY_IDX(f, i, finding_t).sev]++;
    rc = counts[SEV_ERROR] || counts[SEV_WARNING] ? EXIT_REJECTED : EXIT_VALID;

    if (g_json) {
        json_t *j = json_object(), *arr = json_array(), *c = json_object();
        for (int i = 0; i < f->nelts; i++) {
            finding_t *x = &APR_ARRAY_IDX(f, i, finding_t);
            json_t *e = json_object();
            json_object_set_new(e, "severity", json_string(sev_names[x->sev]));
            json_object_set_new(e, "code", json_string(x->code));
            json_object_set_new(e, "message", json_string(x->message));
            json_array_append_new(arr, e);
        }
        for (int s = 0; s < 3; s++)
            json_object_set_new(c, sev_names[s], json_integer(counts[s]));
        json_object_set_new(j, "ok", json_boolean(rc == EXIT_VALID));
        json_object_set_new(j, "token_type", v.error && !v.opaque ? json_null()
                                : json_string(v.opaque ? v.opaque : clerk_token_type_name(v.type)));
        json_object_set_new(j, "now", json_integer(o.now));
        json_object_set_new(j, "counts", c);
        json_object_set_new(j, "findings", arr);
        json_object_set_new(j, "signature_verified", json_false());
        print_json(j);
        return rc;
    }
    for (int i = 0; i < f->nelts; i++) {
        finding_t *x = &APR_ARRAY_IDX(f, i, finding_t);
        printf("%-8s %-24s ", sev_names[x->sev], x->code);
        put_safe(stdout, x->message);
        fputc('\n', stdout);
    }
    if (!f->nelts)
        printf("no findings\n");
    printf("%d error%s, %d warning%s, %d info (signature not checked; use 'clerk-jwt verify')\n",
           counts[0], counts[0] == 1 ? "" : "s", counts[1], counts[1] == 1 ? "" : "s", counts[2]);
    return rc;
}

/* ------------------------------------------------------------------ */
/* verify                                                              */
/* ------------------------------------------------------------------ */

/*
 * Where the verification keys come from, in the module's order (CONTRACT
 * §7): ClerkJWTKeyFile > ClerkJWKSFile > ClerkJWKSURL > Backend API JWKS
 * (secret key) > Frontend API JWKS (publishable key).  The network sources
 * are not built yet: load_keyset() refuses them with status 2, and adding
 * one is one more case there.
 */
typedef enum {
    KEYSRC_NONE, KEYSRC_PEM_FILE, KEYSRC_JWKS_FILE, KEYSRC_JWKS_URL, KEYSRC_BAPI, KEYSRC_FAPI,
} keysrc_kind_t;

typedef struct verify_args {
    apr_pool_t *p;
    const char *pem, *jwks, *pk, *secret_key, *api_url, *remote_user_claim;
    apr_array_header_t *issuers, *azp, *aud;
    int issuer_off;
    time_opts_t t;
    int allow_pending;
} verify_args_t;

static int is_url(const char *s)
{
    return !strncasecmp(s, "http://", 7) || !strncasecmp(s, "https://", 8);
}

static int verify_opt_cb(void *ctx, int id, const char *name, const char *val)
{
    verify_args_t *a = ctx;

    switch (id) {
    case OPT_PEM:
        a->pem = val;
        return 0;
    case OPT_JWKS:
        a->jwks = val;
        return 0;
    case OPT_PK:
        a->pk = val;
        return 0;
    case OPT_SK:
        a->secret_key = val;    /* never printed */
        return 0;
    case OPT_API_URL: {
        const char *err = clerk_http_check_url(g_pool, val);
        if (err)
            return usage_error("--api-url: %s", err);
        a->api_url = val;
        return 0;
    }
    case OPT_ISSUER:
        if (!strcasecmp(val, "off"))
            a->issuer_off = 1;
        else if (strncmp(val, "https://", 8) && strncmp(val, "http://", 7))
            return usage_error("--issuer '%s' is not an http(s) URL (nor off)", val);
        else
            APR_ARRAY_PUSH(a->issuers, const char *) = val;
        return 0;
    case OPT_AZP_LIST:
        if (!clerk_is_origin(val))
            return usage_error("--authorized-party '%s' is not an origin (scheme://host[:port], "
                               "no path or trailing slash)", val);
        APR_ARRAY_PUSH(a->azp, const char *) = val;
        return 0;
    case OPT_RUSER:
        if (!*val)
            return usage_error("--remote-user-claim needs a claim name");
        a->remote_user_claim = val;
        return 0;
    case OPT_AUD:
        APR_ARRAY_PUSH(a->aud, const char *) = val;
        return 0;
    case OPT_PENDING:
        a->allow_pending = 1;
        return 0;
    default:
        return time_opt_cb(&a->t, id, name, val);
    }
}

static keysrc_kind_t key_source(const verify_args_t *a, const char **where)
{
    if (a->pem) {
        *where = a->pem;
        return KEYSRC_PEM_FILE;
    }
    if (a->jwks) {
        *where = a->jwks;
        return is_url(a->jwks) ? KEYSRC_JWKS_URL : KEYSRC_JWKS_FILE;
    }
    if (a->secret_key) {
        *where = apr_pstrcat(g_pool, a->api_url ? a->api_url : CLERK_DEFAULT_API_URL, "/v1/jwks",
                             NULL);
        return KEYSRC_BAPI;
    }
    if (a->pk) {
        *where = NULL;      /* the publishable key's jwks_url, filled by the caller */
        return KEYSRC_FAPI;
    }
    *where = NULL;
    return KEYSRC_NONE;
}

static const char *const keysrc_names[] = {
    [KEYSRC_NONE] = "none", [KEYSRC_PEM_FILE] = "pem", [KEYSRC_JWKS_FILE] = "jwks",
    [KEYSRC_JWKS_URL] = "jwks_url", [KEYSRC_BAPI] = "backend_api", [KEYSRC_FAPI] = "frontend_api",
};

/* Returns 0 with *ks set, or the exit status after reporting. */
/* One HTTP client for the CLI's single fetch or Backend API call. */
static clerk_http_t *cli_http(apr_pool_t *p)
{
    clerk_http_opts_t opts = {.timeout_ms = 10000};
    clerk_http_t *http = NULL;

    clerk_http_global_init();
    clerk_http_create(p, &opts, 1, &http);
    return http;
}

static int load_keyset(apr_pool_t *p, keysrc_kind_t kind, const char *where,
                       const char *secret, clerk_keyset_t **ks)
{
    const char *err = NULL;

    switch (kind) {
    case KEYSRC_PEM_FILE:
        if (clerk_keyset_from_pem_file(p, where, ks, &err) != APR_SUCCESS)
            return io_error("--pem: %s", err);
        return 0;
    case KEYSRC_JWKS_FILE:
        if (clerk_keyset_from_jwks_file(p, where, ks, &err) != APR_SUCCESS)
            return io_error("--jwks: %s", err);
        return 0;
    case KEYSRC_JWKS_URL:
    case KEYSRC_BAPI:
    case KEYSRC_FAPI:
        /* The same fetch the module's key cache makes (secret never printed). */
        if (clerk_keyset_fetch(p, cli_http(p), where,
                               secret ? clerk_backend_api_headers(p, secret) : NULL, ks, &err)
            != APR_SUCCESS)
            return io_error("key set %s: %s", where, err);
        return 0;
    case KEYSRC_NONE:
    default:
        return usage_error("no key given: pass --pem, --jwks, --secret-key or "
                           "--publishable-key");
    }
}

static int cmd_verify(apr_pool_t *p, int argc, char **argv)
{
    static const optdef_t defs[] = {
        {"pem", 1, OPT_PEM}, {"jwks", 1, OPT_JWKS}, {"publishable-key", 1, OPT_PK},
        {"secret-key", 1, OPT_SK}, {"api-url", 1, OPT_API_URL}, {"issuer", 1, OPT_ISSUER},
        {"authorized-party", 1, OPT_AZP_LIST}, {"audience", 1, OPT_AUD},
        {"clock-skew", 1, OPT_SKEW}, {"now", 1, OPT_NOW}, {"accept", 1, OPT_ACCEPT},
        {"allow-pending", 0, OPT_PENDING}, {"remote-user-claim", 1, OPT_RUSER}, {NULL, 0, 0},
    };
    apr_array_header_t *pos = apr_array_make(p, 2, sizeof(const char *));
    verify_args_t a;
    clerk_publishable_key_t *pk = NULL;
    clerk_verify_opts_t opts;
    clerk_verify_result_t res;
    clerk_keyset_t *ks = NULL;
    keysrc_kind_t kind;
    clerk_token_type_t opaque;
    const char *tok, *where, *err, *issuer_source, *remote_user = NULL;
    apr_array_header_t *vars = NULL;
    apr_size_t len;
    int rc;

    memset(&a, 0, sizeof(a));
    a.p = p;
    a.issuers = apr_array_make(p, 2, sizeof(const char *));
    a.azp = apr_array_make(p, 2, sizeof(const char *));
    a.aud = apr_array_make(p, 2, sizeof(const char *));
    a.t.now = clock_now();
    a.t.skew = 5;
    a.remote_user_claim = "sub";

    if ((rc = parse_args(argc, argv, defs, verify_opt_cb, &a, pos)) != 0)
        return rc == PARSE_HELP ? show_help("verify") : rc;
    if (pos->nelts != 1)
        return usage_error(pos->nelts ? "expects one TOKEN" : "missing TOKEN");
    if (a.issuer_off && a.issuers->nelts)
        return usage_error("--issuer off cannot be combined with other --issuer values");
    if (a.pk && clerk_publishable_key_parse(p, a.pk, &pk, &err) != APR_SUCCESS)
        return usage_error("--publishable-key: %s", err);
    if ((rc = get_token(p, APR_ARRAY_IDX(pos, 0, const char *), &tok, &len)) != 0)
        return rc;

    /* The options, exactly as the module builds them from its directives. */
    clerk_verify_opts_init(&opts);
    if (a.issuer_off) {
        opts.issuers = NULL;
        issuer_source = "off";
    }
    else if (a.issuers->nelts) {
        opts.issuers = a.issuers;
        issuer_source = "issuer";
    }
    else if (pk) {
        apr_array_header_t *one = apr_array_make(p, 1, sizeof(const char *));
        APR_ARRAY_PUSH(one, const char *) = pk->issuer;
        opts.issuers = one;
        issuer_source = "publishable_key";
    }
    else
        issuer_source = "unchecked";
    opts.authorized_parties = a.azp;
    opts.audiences = a.aud;
    opts.clock_skew = a.t.skew;
    opts.allow_pending = a.allow_pending;
    if (a.t.accept_given)
        opts.accept_types = a.t.accept;

    kind = key_source(&a, &where);
    if (kind == KEYSRC_FAPI)
        where = pk->jwks_url;
    if (a.pem && a.jwks && !g_json)
        fprintf(stderr, "%s verify: note: --pem is used, --jwks ignored (ClerkJWTKeyFile wins "
                        "over ClerkJWKSFile)\n", prog);

    /*
     * Opaque machine tokens (mt_, oat_, ak_) go to the Backend API, as in the
     * module: refused without a call when their type is not accepted, or when
     * there is no secret key to ask with.
     */
    if ((opaque = clerk_opaque_token_type(tok))) {
        const char *detail = NULL;
        memset(&res, 0, sizeof(res));
        if (!(opts.accept_types & opaque)) {
            res.reason = CLERK_TOKEN_TYPE_MISMATCH;
            res.detail = "token type is not accepted here";
        }
        else if (!a.secret_key) {
            res.reason = CLERK_TOKEN_INVALID;
            res.detail = "an opaque token needs --secret-key";
        }
        else if (clerk_backend_verify_opaque(p, cli_http(p),
                                             a.api_url ? a.api_url : CLERK_DEFAULT_API_URL,
                                             a.secret_key, tok, opaque, opts.audiences, a.t.now,
                                             &res, &detail) != CLERK_BAPI_ANSWERED)
            return io_error("%s (the module answers 503)", detail);
    }
    else {
        if ((rc = load_keyset(p, kind, where, a.secret_key, &ks)) != 0)
            return rc;
        for (int i = 0; ks->skipped && i < ks->skipped->nelts && !g_json; i++)
            fprintf(stderr, "%s verify: note: %s\n", prog,
                    APR_ARRAY_IDX(ks->skipped, i, const char *));
        clerk_verify_token(p, tok, len, ks, &opts, a.t.now, &res);
    }
    if (res.reason == CLERK_OK) {
        /* As the module: no usable REMOTE_USER means the token is refused. */
        remote_user = clerk_export_remote_user(p, res.claims, a.remote_user_claim);
        if (!remote_user || !*remote_user) {
            res.reason = CLERK_TOKEN_VERIFICATION_FAILED;
            res.detail = apr_psprintf(p, "ClerkRemoteUserClaim %s is missing, empty or not a "
                                         "string", a.remote_user_claim);
            res.claims = NULL;
            remote_user = NULL;
        }
        else
            vars = clerk_export_vars(p, res.claims);
    }

    if (g_json) {
        json_t *j = json_object(), *o = json_object(), *env = json_null(), *hdr = json_null();
        json_object_set_new(j, "ok", json_boolean(res.reason == CLERK_OK));
        json_object_set_new(j, "valid", json_boolean(res.reason == CLERK_OK));
        json_object_set_new(j, "reason", json_string(clerk_reason_str(res.reason)));
        json_object_set_new(j, "detail", json_str_or_null(res.detail));
        json_object_set_new(j, "kid", json_str_or_null(res.kid));
        json_object_set_new(j, "token_type", res.claims
                                ? json_string(clerk_token_type_name(res.claims->type)) : json_null());
        json_object_set_new(j, "remote_user", json_str_or_null(remote_user));
        if (vars) {
            env = json_object();
            hdr = json_object();
            json_object_set_new(env, "REMOTE_USER", json_str_or_null(remote_user));
            json_object_set_new(env, "AUTH_TYPE", json_string("Clerk"));
            for (int i = 0; i < vars->nelts; i++) {
                clerk_var_t *x = &APR_ARRAY_IDX(vars, i, clerk_var_t);
                json_object_set_new(env, x->env, json_string(x->value));
                json_object_set_new(hdr, x->header, json_string(x->value));
            }
        }
        json_object_set_new(j, "env", env);
        json_object_set_new(j, "headers", hdr);
        json_object_set_new(o, "key_source", json_string(keysrc_names[kind]));
        json_object_set_new(o, "key_file", json_string(where));
        json_object_set_new(o, "issuer_source", json_string(issuer_source));
        json_object_set_new(o, "issuers", json_str_array(opts.issuers));
        json_object_set_new(o, "authorized_parties", json_str_array(a.azp));
        json_object_set_new(o, "audiences", json_str_array(a.aud));
        json_object_set_new(o, "clock_skew", json_integer(opts.clock_skew));
        json_object_set_new(o, "accept", json_string(type_list(p, opts.accept_types)));
        json_object_set_new(o, "allow_pending", json_boolean(opts.allow_pending));
        json_object_set_new(o, "remote_user_claim", json_string(a.remote_user_claim));
        json_object_set_new(o, "now", json_integer(a.t.now));
        json_object_set_new(j, "options", o);
        print_json(j);
        return res.reason == CLERK_OK ? EXIT_VALID : EXIT_REJECTED;
    }

    if (res.reason == CLERK_OK)
        printf("valid\n");
    else
        printf("rejected: %s\n", clerk_reason_str(res.reason));
    if (res.detail) {
        printf("  %-12s ", "detail");
        put_safe(stdout, res.detail);
        fputc('\n', stdout);
    }
    if (res.claims)
        printf("  %-12s %s\n", "token type", clerk_token_type_name(res.claims->type));
    printf("  %-12s ", "kid");
    put_safe(stdout, res.kid ? res.kid : "(none)");
    printf("%s\n", kind == KEYSRC_PEM_FILE ? " (not used with a PEM key)" : "");
    printf("  %-12s %s %s\n", "key", keysrc_names[kind], where);
    if (opts.issuers && opts.issuers->nelts) {
        printf("  %-12s ", "issuer");
        put_safe(stdout, apr_array_pstrcat(p, opts.issuers, ' '));
        printf("%s\n", pk && !a.issuers->nelts ? " (from the publishable key)" : "");
    }
    else
        printf("  %-12s not checked%s\n", "issuer", a.issuer_off ? " (--issuer off)" : "");
    printf("  %-12s %s\n", "accept", type_list(p, opts.accept_types));
    printf("  %-12s %" APR_INT64_T_FMT " (%s), clock skew %" APR_INT64_T_FMT " s\n", "now",
           a.t.now, iso_utc(p, a.t.now), opts.clock_skew);
    if (vars) {
        printf("\nVariables the module sets (ClerkPassClaimsAs env):\n");
        printf("REMOTE_USER=");
        put_safe(stdout, remote_user ? remote_user : "");
        printf("\nAUTH_TYPE=Clerk\n");
        for (int i = 0; i < vars->nelts; i++) {
            clerk_var_t *x = &APR_ARRAY_IDX(vars, i, clerk_var_t);
            printf("%s=", x->env);
            put_safe(stdout, x->value);
            fputc('\n', stdout);
        }
    }
    return res.reason == CLERK_OK ? EXIT_VALID : EXIT_REJECTED;
}

/* ------------------------------------------------------------------ */
/* Keys: loading, thumbprints, files                                   */
/* ------------------------------------------------------------------ */

static apr_status_t pkey_cleanup(void *data)
{
    EVP_PKEY_free(data);
    return APR_SUCCESS;
}

/* Never prompt for a passphrase: encrypted keys are refused. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    return -1;
}

static EVP_PKEY *load_private_key(apr_pool_t *p, const char *path, const char **err)
{
    apr_size_t len;
    char *text = read_file(p, path, &len, err);
    EVP_PKEY *pkey;
    BIO *bio;

    if (!text)
        return NULL;
    if (!strstr(text, "PRIVATE KEY-----")) {
        *err = apr_psprintf(p, "%s is not a PEM private key%s", path,
                            strstr(text, "PUBLIC KEY") ? " (it is a public key)" : "");
        return NULL;
    }
    if (strstr(text, "ENCRYPTED")) {
        *err = apr_psprintf(p, "%s is encrypted; decrypt it first (openssl pkey -in ...)", path);
        return NULL;
    }
    bio = BIO_new_mem_buf(text, (int)len);
    pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
    BIO_free(bio);
    OPENSSL_cleanse(text, len);
    ERR_clear_error();
    if (!pkey) {
        *err = apr_psprintf(p, "%s: cannot read the private key", path);
        return NULL;
    }
    if (!EVP_PKEY_is_a(pkey, "RSA")) {
        EVP_PKEY_free(pkey);
        *err = apr_psprintf(p, "%s is not an RSA key (Clerk signs with RSA)", path);
        return NULL;
    }
    if (EVP_PKEY_get_bits(pkey) < CLERK_KEY_MIN_BITS) {
        EVP_PKEY_free(pkey);
        *err = apr_psprintf(p, "%s: the RSA key is shorter than %d bits; the module would "
                               "refuse its public key", path, CLERK_KEY_MIN_BITS);
        return NULL;
    }
    return pkey;
}

static const char *bn_b64url(apr_pool_t *p, const BIGNUM *bn)
{
    int n = BN_num_bytes(bn);
    unsigned char *b = apr_palloc(p, (apr_size_t)n + 1);
    BN_bn2bin(bn, b);
    return clerk_b64url_encode(p, b, (apr_size_t)n);
}

/* RFC 7638 JWK thumbprint (SHA-256) of an RSA key: the default kid. */
static const char *jwk_thumbprint(apr_pool_t *p, EVP_PKEY *pkey)
{
    BIGNUM *n = NULL, *e = NULL;
    const char *out = NULL;

    if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n)
        && EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e)) {
        const char *canon = apr_psprintf(p, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}",
                                         bn_b64url(p, e), bn_b64url(p, n));
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        if (EVP_Digest(canon, strlen(canon), md, &mdlen, EVP_sha256(), NULL))
            out = clerk_b64url_encode(p, md, mdlen);
    }
    BN_free(n);
    BN_free(e);
    return out;
}

static char *bio_text(apr_pool_t *p, BIO *bio)
{
    char *data;
    long n = BIO_get_mem_data(bio, &data);
    return n > 0 ? apr_pstrmemdup(p, data, (apr_size_t)n) : NULL;
}

/* mkdir -p, mode for new directories. */
static int make_dirs(apr_pool_t *p, const char *path, mode_t mode)
{
    char *copy = apr_pstrdup(p, path);
    for (char *s = copy + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(copy, mode) && errno != EEXIST)
            return -1;
        *s = '/';
    }
    if (mkdir(copy, mode) && errno != EEXIST)
        return -1;
    {
        struct stat st;
        if (stat(copy, &st) || !S_ISDIR(st.st_mode)) {
            errno = ENOTDIR;
            return -1;
        }
    }
    return 0;
}

/* Create path with exactly mode; an existing file is an error unless force. */
static int write_new_file(const char *path, const char *data, size_t len, mode_t mode, int force)
{
    int fd;
    size_t off = 0;

    if (force && unlink(path) && errno != ENOENT)
        return -1;
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    if (fchmod(fd, mode)) {
        close(fd);
        return -1;
    }
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            close(fd);
            return -1;
        }
        off += (size_t)w;
    }
    return close(fd);
}

/* ------------------------------------------------------------------ */
/* mint                                                                */
/* ------------------------------------------------------------------ */

typedef struct mint_args {
    apr_pool_t *p;
    const char *key, *kid, *alg, *sub, *issuer, *azp, *claims, *header;
    long long ttl;
    int v2, now_given;
    time_opts_t t;
} mint_args_t;

static int mint_opt_cb(void *ctx, int id, const char *name, const char *val)
{
    mint_args_t *a = ctx;

    switch (id) {
    case OPT_KEY:
        a->key = val;
        return 0;
    case OPT_KID:
        if (!*val || strlen(val) > CLERK_KID_MAX_LEN)
            return usage_error("--kid must have 1 to %d characters", CLERK_KID_MAX_LEN);
        a->kid = val;
        return 0;
    case OPT_ALG:
        if (strcmp(val, "RS256") && strcmp(val, "RS384") && strcmp(val, "RS512"))
            return usage_error("--alg must be RS256, RS384 or RS512, not '%s'", val);
        a->alg = val;
        return 0;
    case OPT_SUB:
        a->sub = val;
        return 0;
    case OPT_ISSUER:
        a->issuer = val;
        return 0;
    case OPT_AZP:
        a->azp = val;
        return 0;
    case OPT_TTL:
        if (!parse_int(val, -TIME_LIMIT, TIME_LIMIT, &a->ttl))
            return usage_error("--ttl needs a number of seconds, not '%s'", val);
        return 0;
    case OPT_V2:
        a->v2 = 1;
        return 0;
    case OPT_CLAIMS:
        a->claims = val;
        return 0;
    case OPT_HEADER:
        a->header = val;
        return 0;
    default:
        return time_opt_cb(&a->t, id, name, val);
    }
}

/* Members of src over dst; a null member removes the key from dst. */
static void merge_object(json_t *dst, json_t *src)
{
    const char *k;
    json_t *val;

    json_object_foreach(src, k, val) {
        if (json_is_null(val))
            json_object_del(dst, k);
        else
            json_object_set(dst, k, val);
    }
}

/* A random Clerk-style id: prefix + 27 base62 characters. */
static const char *random_id(apr_pool_t *p, const char *prefix)
{
    static const char alnum[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    unsigned char r[27];
    char s[28];

    if (RAND_bytes(r, sizeof(r)) != 1)
        return apr_pstrcat(p, prefix, "dev", NULL);
    for (size_t i = 0; i < sizeof(r); i++)
        s[i] = alnum[r[i] % 62];
    s[27] = '\0';
    return apr_pstrcat(p, prefix, s, NULL);
}

static int cmd_mint(apr_pool_t *p, int argc, char **argv)
{
    static const optdef_t defs[] = {
        {"key", 1, OPT_KEY}, {"kid", 1, OPT_KID}, {"alg", 1, OPT_ALG}, {"sub", 1, OPT_SUB},
        {"issuer", 1, OPT_ISSUER}, {"azp", 1, OPT_AZP}, {"ttl", 1, OPT_TTL}, {"v2", 0, OPT_V2},
        {"claims", 1, OPT_CLAIMS}, {"header", 1, OPT_HEADER}, {"now", 1, OPT_NOW}, {NULL, 0, 0},
    };
    apr_array_header_t *pos = apr_array_make(p, 2, sizeof(const char *));
    mint_args_t a;
    json_t *header, *payload, *extra;
    EVP_PKEY *pkey;
    const char *err, *kid;
    char *hj, *pj, *token;
    int rc = 0;

    memset(&a, 0, sizeof(a));
    a.p = p;
    a.alg = "RS256";
    a.sub = "user_dev";
    a.ttl = CLERK_DEFAULT_TTL;
    a.t.now = clock_now();

    if ((rc = parse_args(argc, argv, defs, mint_opt_cb, &a, pos)) != 0)
        return rc == PARSE_HELP ? show_help("mint") : rc;
    if (pos->nelts)
        return usage_error("unexpected argument '%s'", APR_ARRAY_IDX(pos, 0, const char *));
    if (!a.key)
        return usage_error("--key PRIVATE.pem is required");
    if (a.claims && a.header && a.claims[0] == '@' && a.header[0] == '@'
        && !strcmp(a.claims, "@-") && !strcmp(a.header, "@-"))
        return usage_error("--claims and --header cannot both read standard input");
    if (!(pkey = load_private_key(p, a.key, &err)))
        return io_error("--key: %s", err);
    apr_pool_cleanup_register(p, pkey, pkey_cleanup, apr_pool_cleanup_null);
    kid = a.kid ? a.kid : jwk_thumbprint(p, pkey);

    header = json_object();
    json_object_set_new(header, "alg", json_string(a.alg));
    if (kid)
        json_object_set_new(header, "kid", json_string(kid));
    json_object_set_new(header, "typ", json_string("JWT"));
    json_object_set_new(header, "cat", json_string(CLERK_CAT_SESSION));
    clerk_json_pool_own(p, header);

    payload = json_object();
    json_object_set_new(payload, "sub", json_string(a.sub));
    json_object_set_new(payload, "sid", json_string(random_id(p, "sess_")));
    json_object_set_new(payload, "iat", json_integer(a.t.now));
    json_object_set_new(payload, "nbf", json_integer(a.t.now - 10));
    json_object_set_new(payload, "exp", json_integer(a.t.now + a.ttl));
    if (a.issuer)
        json_object_set_new(payload, "iss", json_string(a.issuer));
    if (a.azp)
        json_object_set_new(payload, "azp", json_string(a.azp));
    if (a.v2)
        json_object_set_new(payload, "v", json_integer(2));
    clerk_json_pool_own(p, payload);

    if (a.claims) {
        if (!(extra = get_json_object(p, "--claims", a.claims, &rc)))
            return rc;
        merge_object(payload, extra);
    }
    if (a.header) {
        if (!(extra = get_json_object(p, "--header", a.header, &rc)))
            return rc;
        merge_object(header, extra);
    }

    hj = clerk_json_compact(p, header);
    pj = clerk_json_compact(p, payload);
    if (!hj || !pj || !(token = clerk_jws_sign(p, pkey, a.alg, hj, pj))) {
        ERR_clear_error();
        return io_error("signing failed");
    }
    if (g_json) {
        json_t *j = json_object();
        json_object_set_new(j, "ok", json_true());
        json_object_set_new(j, "token", json_string(token));
        json_object_set_new(j, "header", json_incref(header));
        json_object_set_new(j, "payload", json_incref(payload));
        print_json(j);
    }
    else
        printf("%s\n", token);
    return EXIT_VALID;
}

/* ------------------------------------------------------------------ */
/* keygen                                                              */
/* ------------------------------------------------------------------ */

typedef struct keygen_args {
    const char *out, *kid;
    long long bits;
    int force;
} keygen_args_t;

static int keygen_opt_cb(void *ctx, int id, const char *name, const char *val)
{
    keygen_args_t *a = ctx;

    switch (id) {
    case OPT_OUT:
        a->out = val;
        return 0;
    case OPT_KID:
        if (!*val || strlen(val) > CLERK_KID_MAX_LEN)
            return usage_error("--kid must have 1 to %d characters", CLERK_KID_MAX_LEN);
        for (const char *c = val; *c; c++)
            if ((unsigned char)*c < 0x21 || (unsigned char)*c > 0x7e)
                return usage_error("--kid must be printable ASCII without spaces");
        a->kid = val;
        return 0;
    case OPT_BITS:
        if (!parse_int(val, 2048, 4096, &a->bits) || (a->bits != 2048 && a->bits != 3072
                                                      && a->bits != 4096))
            return usage_error("--bits must be 2048, 3072 or 4096");
        return 0;
    case OPT_FORCE:
        a->force = 1;
        return 0;
    }
    return 0;
}

static int cmd_keygen(apr_pool_t *p, int argc, char **argv)
{
    static const optdef_t defs[] = {
        {"out", 1, OPT_OUT}, {"kid", 1, OPT_KID}, {"bits", 1, OPT_BITS},
        {"force", 0, OPT_FORCE}, {NULL, 0, 0},
    };
    apr_array_header_t *pos = apr_array_make(p, 2, sizeof(const char *));
    keygen_args_t a = {NULL, NULL, 2048, 0};
    const char *priv_path, *pub_path, *jwks_path, *kid, *err, *jwk;
    char *priv_pem, *pub_pem, *jwks_text;
    clerk_keyset_t *ks;
    json_t *jwks, *jwkj;
    EVP_PKEY *pkey;
    BIO *bio;
    int rc;

    if ((rc = parse_args(argc, argv, defs, keygen_opt_cb, &a, pos)) != 0)
        return rc == PARSE_HELP ? show_help("keygen") : rc;
    if (pos->nelts)
        return usage_error("unexpected argument '%s'", APR_ARRAY_IDX(pos, 0, const char *));
    if (!a.out || !*a.out)
        return usage_error("--out DIR is required");
    priv_path = apr_pstrcat(p, a.out, "/private.pem", NULL);
    pub_path = apr_pstrcat(p, a.out, "/public.pem", NULL);
    jwks_path = apr_pstrcat(p, a.out, "/jwks.json", NULL);
    if (!a.force) {
        const char *paths[] = {priv_path, pub_path, jwks_path};
        for (int i = 0; i < 3; i++)
            if (access(paths[i], F_OK) == 0)
                return io_error("%s exists; pass --force to replace the key pair", paths[i]);
    }
    if (make_dirs(p, a.out, 0755))
        return io_error("cannot create %s: %s", a.out, strerror(errno));

    if (!(pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)a.bits))) {
        ERR_clear_error();
        return io_error("RSA key generation failed");
    }
    apr_pool_cleanup_register(p, pkey, pkey_cleanup, apr_pool_cleanup_null);

    /* PKCS#8 private key, SPKI public key. */
    bio = BIO_new(BIO_s_mem());
    if (!bio || !PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL)
        || !(priv_pem = bio_text(p, bio))) {
        BIO_free(bio);
        return io_error("cannot encode the private key");
    }
    BIO_free(bio);
    bio = BIO_new(BIO_s_mem());
    if (!bio || !PEM_write_bio_PUBKEY(bio, pkey) || !(pub_pem = bio_text(p, bio))) {
        BIO_free(bio);
        return io_error("cannot encode the public key");
    }
    BIO_free(bio);

    /* The JWK through the core, from the public key as the module loads it. */
    if (clerk_keyset_from_pem(p, pub_pem, strlen(pub_pem), &ks, &err) != APR_SUCCESS)
        return io_error("the new public key does not load: %s", err);
    kid = a.kid ? a.kid : jwk_thumbprint(p, pkey);
    jwk = clerk_key_to_jwk(p, APR_ARRAY_IDX(ks->keys, 0, clerk_key_t *), kid);
    if (!jwk || !(jwkj = clerk_json_parse_object(p, jwk, strlen(jwk), &err)))
        return io_error("cannot build the JWK");
    jwks = json_object();
    json_object_set_new(jwks, "keys", json_array());
    json_array_append(json_object_get(jwks, "keys"), jwkj);
    {
        char *s = json_dumps(jwks, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(jwks);
        if (!s)
            return io_error("cannot encode the JWKS");
        jwks_text = apr_pstrcat(p, s, "\n", NULL);
        free(s);
    }
    if (clerk_keyset_from_jwks(p, jwks_text, strlen(jwks_text), &ks, &err) != APR_SUCCESS)
        return io_error("the new JWKS does not load: %s", err);

    if (write_new_file(priv_path, priv_pem, strlen(priv_pem), 0600, a.force)) {
        rc = io_error("cannot write %s: %s", priv_path, strerror(errno));
        OPENSSL_cleanse(priv_pem, strlen(priv_pem));
        return rc;
    }
    OPENSSL_cleanse(priv_pem, strlen(priv_pem));
    if (write_new_file(pub_path, pub_pem, strlen(pub_pem), 0644, a.force))
        return io_error("cannot write %s: %s", pub_path, strerror(errno));
    if (write_new_file(jwks_path, jwks_text, strlen(jwks_text), 0644, a.force))
        return io_error("cannot write %s: %s", jwks_path, strerror(errno));

    if (g_json) {
        json_t *j = json_object();
        json_object_set_new(j, "ok", json_true());
        json_object_set_new(j, "kid", json_string(kid));
        json_object_set_new(j, "alg", json_string("RS256"));
        json_object_set_new(j, "bits", json_integer(a.bits));
        json_object_set_new(j, "private_key", json_string(priv_path));
        json_object_set_new(j, "public_key", json_string(pub_path));
        json_object_set_new(j, "jwks", json_string(jwks_path));
        print_json(j);
        return EXIT_VALID;
    }
    printf("wrote %s  (PKCS#8 RSA-%lld private key, mode 0600: for clerk-jwt mint --key)\n",
           priv_path, a.bits);
    printf("wrote %s   (SPKI public key: ClerkJWTKeyFile, clerk-jwt verify --pem)\n", pub_path);
    printf("wrote %s    (JWKS: ClerkJWKSFile, clerk-jwt verify --jwks)\n", jwks_path);
    printf("kid   %s\n", kid);
    return EXIT_VALID;
}

/* ------------------------------------------------------------------ */
/* main                                                                */
/* ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    apr_pool_t *p;
    const char *cmd = NULL;
    int cmd_at = 0, rc;

    /* --json is global: honour it wherever it appears (before "--"). */
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--json"))
            g_json = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            continue;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return show_help(NULL);
        if (argv[i][0] == '-')
            return usage_error("unknown option '%s' before the command", argv[i]);
        cmd = argv[i];
        cmd_at = i;
        break;
    }
    if (!cmd) {
        fputs(help_main, stderr);
        return usage_error("missing COMMAND");
    }
    if (!strcmp(cmd, "help")) {
        const char *what = cmd_at + 1 < argc ? argv[cmd_at + 1] : NULL;
        if (what && !help_for(what))
            return usage_error("no help for unknown command '%s'", what);
        return show_help(what);
    }
    if (!help_for(cmd) || !strcmp(cmd, "help"))
        return usage_error("unknown command '%s' (decode, lint, verify, mint, keygen)", cmd);
    g_cmd = cmd;

    if (apr_initialize() != APR_SUCCESS || apr_pool_create(&p, NULL) != APR_SUCCESS) {
        fprintf(stderr, "%s: cannot initialise APR\n", prog);
        return EXIT_USAGE;
    }
    g_pool = p;
    argc -= cmd_at + 1;
    argv += cmd_at + 1;
    if (!strcmp(cmd, "decode"))
        rc = cmd_decode(p, argc, argv);
    else if (!strcmp(cmd, "lint"))
        rc = cmd_lint(p, argc, argv);
    else if (!strcmp(cmd, "verify"))
        rc = cmd_verify(p, argc, argv);
    else if (!strcmp(cmd, "mint"))
        rc = cmd_mint(p, argc, argv);
    else
        rc = cmd_keygen(p, argc, argv);
    fflush(stdout);
    apr_pool_destroy(p);
    apr_terminate();
    if (ferror(stdout)) {
        fprintf(stderr, "%s: error writing standard output\n", prog);
        return EXIT_USAGE;
    }
    return rc;
}
