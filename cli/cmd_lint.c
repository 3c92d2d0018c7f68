/* clerk-jwt lint: what is risky or unusual about a token, without verifying it. */
#include <apr_general.h>
#include <apr_strings.h>

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "clerk_jws.h"
#include "clerk_json.h"
#include "clerk_key.h"
#include "clerk_verify.h"

const char cli_lint_help[] =
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
"  --clock-skew S     leeway for exp/nbf/iat, as ClerkClockSkew (default "
APR_STRINGIFY(CLERK_DEFAULT_CLOCK_SKEW) ")\n"
"  --accept TYPE      token type expected here, as ClerkAcceptToken; repeatable:\n"
"                     session_token (default), m2m_token, oauth_token, any\n"
"  --json             JSON output\n"
"\n"
"Exit status: 0 no error or warning, 1 any error or warning finding,\n"
"2 usage or I/O error.\n";

/* Lifetimes lint remarks on. */
#define LINT_LONG_INFO    300
#define LINT_LONG_WARNING 3600
#define LINT_LONG_MACHINE 86400

typedef struct lint_args {
    apr_int64_t now, skew;
    unsigned accept;            /* 0 until --accept: then only what it names */
} lint_args_t;

static const cli_optdef_t lint_options[] = {
    {"now", cli_set_now, offsetof(lint_args_t, now)},
    {"clock-skew", cli_set_clock_skew, offsetof(lint_args_t, skew)},
    {"accept", cli_set_accept, offsetof(lint_args_t, accept)},
    {NULL, NULL, 0},
};

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

static void lint_header(apr_pool_t *p, const cli_token_view_t *v, apr_array_header_t *f)
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

static void lint_category(apr_pool_t *p, const cli_token_view_t *v, unsigned accept,
                          apr_array_header_t *f)
{
    if (!(accept & (unsigned)v->type))
        add_finding(p, f, SEV_WARNING, "token-type-not-accepted",
                    "this is an %s, but %s is expected here; the module rejects it "
                    "(token-type-mismatch)", clerk_token_type_name(v->type),
                    cli_type_list(p, accept));
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

/*
 * nbf and iat: when present, an integer NumericDate no later than now plus
 * the skew; late_fmt takes how much later and the date.
 */
static void lint_not_later(apr_pool_t *p, const cli_time_claim_t *t, const char *name,
                           const char *late_code, const char *late_fmt, const lint_args_t *o,
                           apr_array_header_t *f)
{
    if (t->present && !t->valid)
        add_finding(p, f, SEV_ERROR, apr_pstrcat(p, name, "-invalid", NULL),
                    "%s is not an integer NumericDate (token-verification-failed)", name);
    else if (t->valid && t->v > o->now + o->skew)
        add_finding(p, f, SEV_ERROR, late_code, late_fmt, cli_span(p, t->v - o->now),
                    cli_iso_utc(p, t->v));
}

static void lint_times(apr_pool_t *p, const cli_token_view_t *v, const lint_args_t *o,
                       apr_array_header_t *f)
{
    cli_time_claim_t exp = cli_time_claim(v->payload, "exp");
    cli_time_claim_t nbf = cli_time_claim(v->payload, "nbf");
    cli_time_claim_t iat = cli_time_claim(v->payload, "iat");

    if (!exp.present)
        add_finding(p, f, SEV_ERROR, "exp-missing",
                    "no exp: a token that never expires; the module requires it "
                    "(token-verification-failed)");
    else if (!exp.valid)
        add_finding(p, f, SEV_ERROR, "exp-invalid",
                    "exp is not an integer NumericDate (token-verification-failed)");
    else if (exp.v <= o->now - o->skew)
        add_finding(p, f, SEV_ERROR, "expired", "expired %s ago (exp %s); the module rejects it "
                    "(token-expired)", cli_span(p, o->now - exp.v), cli_iso_utc(p, exp.v));

    lint_not_later(p, &nbf, "nbf", "not-yet-valid", "not valid for another %s (nbf %s); the "
                   "module rejects it (token-not-active-yet)", o, f);
    lint_not_later(p, &iat, "iat", "iat-in-the-future", "issued %s in the future (iat %s); "
                   "the module rejects it (token-iat-in-the-future)", o, f);

    if (exp.valid && (iat.valid || nbf.valid)) {
        apr_int64_t start = iat.valid ? iat.v : nbf.v;
        apr_int64_t life = exp.v - start;
        const char *from = iat.valid ? "iat" : "nbf";
        if (v->type == CLERK_TYPE_SESSION && life > LINT_LONG_WARNING)
            add_finding(p, f, SEV_WARNING, "long-lived",
                        "lifetime %s (exp - %s), far beyond Clerk's default of %d s: a leaked "
                        "token stays usable that long and survives sign-out", cli_span(p, life),
                        from, CLI_CLERK_SESSION_TTL);
        else if (v->type == CLERK_TYPE_SESSION && life > LINT_LONG_INFO)
            add_finding(p, f, SEV_INFO, "long-lived",
                        "lifetime %s (exp - %s), longer than Clerk's default of %d s",
                        cli_span(p, life), from, CLI_CLERK_SESSION_TTL);
        else if (v->type != CLERK_TYPE_SESSION && life > LINT_LONG_MACHINE)
            add_finding(p, f, SEV_INFO, "long-lived",
                        "lifetime %s (exp - %s): a JWT cannot be revoked before it expires",
                        cli_span(p, life), from);
    }
    else if (exp.valid && !iat.present)
        add_finding(p, f, SEV_INFO, "iat-missing", "no iat: the token's age cannot be judged");
}

static void lint_claims(apr_pool_t *p, const cli_token_view_t *v, apr_array_header_t *f)
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
    if (ver && !clerk_claims_are_v2(pl))
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

static json_t *lint_result(const cli_token_view_t *v, const lint_args_t *a,
                           apr_array_header_t *f, int ok)
{
    json_t *j = json_object(), *arr = json_array(), *c = json_object();
    int counts[3] = {0, 0, 0};

    for (int i = 0; i < f->nelts; i++) {
        finding_t *x = &APR_ARRAY_IDX(f, i, finding_t);
        json_t *e = json_object();
        json_object_set_new(e, "severity", json_string(sev_names[x->sev]));
        json_object_set_new(e, "code", json_string(x->code));
        json_object_set_new(e, "message", json_string(x->message));
        json_array_append_new(arr, e);
        counts[x->sev]++;
    }
    for (int s = 0; s < 3; s++)
        json_object_set_new(c, sev_names[s], json_integer(counts[s]));
    json_object_set_new(j, "ok", json_boolean(ok));
    json_object_set_new(j, "token_type", v->error && !v->opaque ? json_null()
                            : json_string(v->opaque ? v->opaque : clerk_token_type_name(v->type)));
    json_object_set_new(j, "now", json_integer(a->now));
    json_object_set_new(j, "counts", c);
    json_object_set_new(j, "findings", arr);
    json_object_set_new(j, "signature_verified", json_false());
    return j;
}

static void print_findings(apr_pool_t *p, const json_t *r, const void *args)
{
    const json_t *findings = json_object_get(r, "findings"), *counts = json_object_get(r, "counts");
    json_int_t n[3];
    size_t i;
    const json_t *x;

    json_array_foreach(findings, i, x) {
        printf("%-8s %-24s ", clerk_json_string(x, "severity"), clerk_json_string(x, "code"));
        cli_put_safe(stdout, clerk_json_string(x, "message"));
        fputc('\n', stdout);
    }
    if (!json_array_size(findings))
        printf("no findings\n");
    for (int s = 0; s < 3; s++)
        n[s] = json_integer_value(json_object_get(counts, sev_names[s]));
    printf("%" JSON_INTEGER_FORMAT " error%s, %" JSON_INTEGER_FORMAT " warning%s, %"
           JSON_INTEGER_FORMAT " info (signature not checked; use 'clerk-jwt verify')\n",
           n[0], n[0] == 1 ? "" : "s", n[1], n[1] == 1 ? "" : "s", n[2]);
}

int cli_lint(apr_pool_t *p, int argc, char **argv)
{
    apr_array_header_t *pos = apr_array_make(p, 2, sizeof(const char *));
    apr_array_header_t *f = apr_array_make(p, 8, sizeof(finding_t));
    lint_args_t a = {cli_clock_now(), CLERK_DEFAULT_CLOCK_SKEW, 0};
    cli_token_view_t v;
    const char *arg, *tok;
    apr_size_t len;
    int rc, bad = 0;

    if (!cli_parse_args(argc, argv, lint_options, &a, pos, &rc))
        return rc;
    if ((rc = cli_one_token_arg(pos, &arg)) != 0)
        return rc;
    if (!a.accept)
        a.accept = CLERK_TYPE_SESSION;
    if ((rc = cli_get_token(p, arg, &tok, &len)) != 0)
        return rc;
    cli_view_token(p, tok, len, &v);

    if (v.opaque)
        add_finding(p, f, SEV_INFO, "opaque-token",
                    "an opaque %s: nothing to lint locally; it is verified through Clerk's "
                    "Backend API", v.opaque);
    else if (v.error)
        add_finding(p, f, SEV_ERROR, "malformed", "not a decodable JWT: %s (token-invalid)", v.error);
    else {
        lint_header(p, &v, f);
        lint_category(p, &v, a.accept, f);
        lint_times(p, &v, &a, f);
        lint_claims(p, &v, f);
    }
    qsort(f->elts, (size_t)f->nelts, sizeof(finding_t), sev_cmp);
    for (int i = 0; i < f->nelts; i++)
        bad |= APR_ARRAY_IDX(f, i, finding_t).sev != SEV_INFO;
    return cli_emit(p, lint_result(&v, &a, f, !bad), print_findings, &a,
                    bad ? EXIT_REJECTED : EXIT_VALID);
}
