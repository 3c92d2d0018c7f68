/* clerk-jwt decode: what a token claims, shown without verifying it. */
#include <apr_general.h>
#include <apr_strings.h>

#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clerk_json.h"
#include "clerk_verify.h"

const char cli_decode_help[] =
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
"  --clock-skew S     seconds of leeway noted next to the times (default "
APR_STRINGIFY(CLERK_DEFAULT_CLOCK_SKEW) ")\n"
"  --json             JSON output\n"
"\n"
"Exit status: 0 decoded, 1 not a decodable JWT, 2 usage or I/O error.\n";

typedef struct decode_args {
    apr_int64_t now, skew;
} decode_args_t;

static const cli_optdef_t decode_options[] = {
    {"now", cli_set_now, offsetof(decode_args_t, now)},
    {"clock-skew", cli_set_clock_skew, offsetof(decode_args_t, skew)},
    {NULL, NULL, 0},
};

static const char *const time_names[] = {"iat", "nbf", "exp"};

/* A v2 "fea"/"pla" list: raw and split by scope; a string when malformed. */
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
    json_object_set_new(j, "org", cli_json_str_array(org));
    json_object_set_new(j, "user", cli_json_str_array(user));
    return j;
}

static json_t *category_json(const char *cat)
{
    json_t *j;

    if (!cat)
        return json_null();
    j = json_object();
    json_object_set_new(j, "value", json_string(cat));
    json_object_set_new(j, "name", json_string(cli_category_key(cat)));
    json_object_set_new(j, "description", json_string(cli_category_name(cat)));
    return j;
}

static json_t *times_json(apr_pool_t *p, const json_t *payload, const decode_args_t *a)
{
    json_t *times = json_object();

    for (int i = 0; i < 3; i++) {
        cli_time_claim_t tc = cli_time_claim(payload, time_names[i]);
        json_t *t;
        if (!tc.present)
            continue;
        t = json_object();
        json_object_set_new(t, "value", json_incref(json_object_get(payload, time_names[i])));
        if (tc.valid) {
            json_object_set_new(t, "utc", json_string(cli_iso_utc(p, tc.v)));
            json_object_set_new(t, "seconds_from_now", json_integer(tc.v - a->now));
            json_object_set_new(t, "relative", json_string(cli_relative_time(
                                                   p, time_names[i], tc.v, a->now, a->skew)));
        }
        else
            json_object_set_new(t, "error", json_string("not an integer NumericDate"));
        json_object_set_new(times, time_names[i], t);
    }
    return times;
}

/* The organization as the module sees it (session tokens only), or null. */
static json_t *org_json(apr_pool_t *p, const cli_token_view_t *v)
{
    clerk_org_t org;
    const char *err = NULL;
    json_t *j;

    if (v->type != CLERK_TYPE_SESSION)
        return json_null();
    if (clerk_org_from_payload(p, v->payload, &org, &err) != CLERK_OK) {
        j = json_object();
        json_object_set_new(j, "error", json_string(err ? err : "malformed"));
        return j;
    }
    if (!org.id && !org.role && !org.permissions)
        return json_null();
    j = json_object();
    json_object_set_new(j, "id", cli_json_str_or_null(org.id));
    json_object_set_new(j, "slug", cli_json_str_or_null(org.slug));
    json_object_set_new(j, "role", cli_json_str_or_null(org.role));
    json_object_set_new(j, "permissions",
                        org.permissions ? cli_json_str_array(org.permissions) : json_null());
    return j;
}

static json_t *decode_result(apr_pool_t *p, const cli_token_view_t *v, const decode_args_t *a)
{
    json_t *j = json_object();
    cli_time_claim_t iat = cli_time_claim(v->payload, "iat");
    cli_time_claim_t exp = cli_time_claim(v->payload, "exp");

    json_object_set_new(j, "ok", json_true());
    json_object_set_new(j, "format", json_string("jws"));
    json_object_set_new(j, "canonical_base64url", json_boolean(v->canonical));
    json_object_set_new(j, "header", json_incref(v->header));
    json_object_set_new(j, "payload", json_incref(v->payload));
    json_object_set_new(j, "token_type", json_string(clerk_token_type_name(v->type)));
    json_object_set_new(j, "alg", cli_json_str_or_null(v->alg));
    json_object_set_new(j, "kid", cli_json_str_or_null(v->kid));
    json_object_set_new(j, "typ", cli_json_str_or_null(v->typ));
    json_object_set_new(j, "category", category_json(v->cat));
    json_object_set_new(j, "claims_version",
                        json_integer(clerk_claims_are_v2(v->payload) ? 2 : 1));
    json_object_set_new(j, "now", json_integer(a->now));
    json_object_set_new(j, "now_utc", json_string(cli_iso_utc(p, a->now)));
    json_object_set_new(j, "times", times_json(p, v->payload, a));
    json_object_set_new(j, "lifetime", exp.valid && iat.valid ? json_integer(exp.v - iat.v)
                                                              : json_null());
    json_object_set_new(j, "expired", exp.valid ? json_boolean(exp.v <= a->now - a->skew)
                                                : json_null());
    json_object_set_new(j, "org", org_json(p, v));
    json_object_set_new(j, "features", scoped_json(p, clerk_json_string(v->payload, "fea")));
    json_object_set_new(j, "plans", scoped_json(p, clerk_json_string(v->payload, "pla")));
    json_object_set_new(j, "signature_verified", json_false());
    return j;
}

static void print_undecodable(apr_pool_t *p, const json_t *r, const void *args)
{
    printf("not a decodable JWT: %s\n", clerk_json_string(r, "error"));
}

static void print_document(const char *title, const json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    printf("%s\n%s\n\n", title, s ? s : "?");
    free(s);
}

static void print_times(apr_pool_t *p, const json_t *r, const decode_args_t *a)
{
    const json_t *times = json_object_get(r, "times"), *life = json_object_get(r, "lifetime");

    printf("\nTimes (now %s, clock skew %" APR_INT64_T_FMT " s)\n", clerk_json_string(r, "now_utc"),
           a->skew);
    for (int i = 0; i < 3; i++) {
        const json_t *t = json_object_get(times, time_names[i]);
        if (!t)
            printf("  %-4s (absent)\n", time_names[i]);
        else if (clerk_json_string(t, "error"))
            printf("  %-4s %s\n", time_names[i], clerk_json_string(t, "error"));
        else
            printf("  %-4s %-12" JSON_INTEGER_FORMAT " %s  %s\n", time_names[i],
                   json_integer_value(json_object_get(t, "value")), clerk_json_string(t, "utc"),
                   clerk_json_string(t, "relative"));
    }
    if (json_is_integer(life))
        printf("  lifetime %s (exp - iat)\n", cli_span(p, json_integer_value(life)));
}

static void print_identity(clerk_token_type_t type, const json_t *payload)
{
    static const char *const ids[] = {"sub", "sid", "sts", "iss", "azp", "jti"};
    const json_t *aud = json_object_get(payload, "aud");
    const json_t *act = json_object_get(payload, "act");

    printf("\nIdentity\n");
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
        if (clerk_json_string(payload, ids[i]))
            cli_put_row(ids[i], clerk_json_string(payload, ids[i]), NULL);
    if (aud) {
        char *s = json_dumps(aud, JSON_COMPACT | JSON_ENCODE_ANY);
        cli_put_row("aud", s ? s : "?", NULL);
        free(s);
    }
    if (json_is_object(act) && clerk_json_string(act, "sub"))
        cli_put_row("actor", clerk_json_string(act, "sub"), " (impersonation)");
    if (type != CLERK_TYPE_SESSION) {
        const char *sc = clerk_json_string(payload, type == CLERK_TYPE_M2M ? "scopes" : "scope");
        if (sc)
            cli_put_row("scopes", sc, NULL);
    }
}

static const char *names_or_dash(apr_pool_t *p, const json_t *names)
{
    return json_array_size(names) ? cli_json_join(p, names, ',') : "-";
}

/* A "fea"/"pla" row: the list as issued and how it splits by scope. */
static void print_scoped(apr_pool_t *p, const char *label, const json_t *scoped,
                         const char *raw)
{
    if (json_is_null(scoped))
        return;
    cli_put_row(label, raw,
                json_is_string(scoped)
                    ? apr_psprintf(p, "  (%s)", json_string_value(scoped))
                    : apr_psprintf(p, "  (org: %s; user: %s)",
                                   names_or_dash(p, json_object_get(scoped, "org")),
                                   names_or_dash(p, json_object_get(scoped, "user"))));
}

static void print_org(apr_pool_t *p, const json_t *r, const json_t *payload)
{
    const json_t *org = json_object_get(r, "org");
    const json_t *perms = json_object_get(org, "permissions");
    const char *role;

    printf("\nOrganization\n");
    if (clerk_json_string(org, "error"))
        printf("  malformed: %s (the module rejects the token)\n", clerk_json_string(org, "error"));
    else if (json_is_null(org))
        printf("  (no active organization)\n");
    else {
        role = clerk_json_string(org, "role");
        cli_put_row("id", clerk_json_string(org, "id") ? clerk_json_string(org, "id") : "-", NULL);
        cli_put_row("slug", clerk_json_string(org, "slug") ? clerk_json_string(org, "slug") : "-",
                    NULL);
        cli_put_row("role", role ? role : "-", NULL);
        cli_put_row("permissions",
                    json_array_size(perms) ? cli_json_join(p, perms, ',') : "(none)", NULL);
    }
    print_scoped(p, "features", json_object_get(r, "features"),
                 clerk_json_string(payload, "fea"));
    print_scoped(p, "plans", json_object_get(r, "plans"), clerk_json_string(payload, "pla"));
}

static void print_decoded(apr_pool_t *p, const json_t *r, const void *args)
{
    const json_t *payload = json_object_get(r, "payload");
    const json_t *cat = json_object_get(r, "category");
    const char *alg = clerk_json_string(r, "alg"), *kid = clerk_json_string(r, "kid");
    clerk_token_type_t type = clerk_token_type_from_name(clerk_json_string(r, "token_type"));

    print_document("Header", json_object_get(r, "header"));
    print_document("Payload", payload);
    printf("Token\n");
    cli_put_row("type", clerk_token_type_name(type),
                type == CLERK_TYPE_OAUTH ? " (typ at+jwt)"
                : type == CLERK_TYPE_M2M ? " (machine subject or M2M category)" : NULL);
    if (json_is_null(cat))
        cli_put_row("category", cli_category_name(NULL), NULL);
    else
        cli_put_row("category", clerk_json_string(cat, "value"),
                    apr_pstrcat(p, " (", clerk_json_string(cat, "description"), ")", NULL));
    cli_put_row("algorithm", alg ? alg : "(missing)", NULL);
    cli_put_row("kid", kid ? kid : "(none)", NULL);
    cli_put_row("claims",
                json_integer_value(json_object_get(r, "claims_version")) == 2 ? "v2" : "v1",
                NULL);
    if (!json_is_true(json_object_get(r, "canonical_base64url")))
        cli_put_row("encoding", "not canonical unpadded base64url (the module rejects it)", NULL);
    print_times(p, r, args);
    print_identity(type, payload);
    if (type == CLERK_TYPE_SESSION)
        print_org(p, r, payload);
    printf("\nSignature: not verified (use 'clerk-jwt verify')\n");
}

int cli_decode(apr_pool_t *p, int argc, char **argv)
{
    apr_array_header_t *pos = apr_array_make(p, 2, sizeof(const char *));
    decode_args_t a = {cli_clock_now(), CLERK_DEFAULT_CLOCK_SKEW};
    cli_token_view_t v;
    const char *arg, *tok;
    apr_size_t len;
    json_t *j;
    int rc;

    if (!cli_parse_args(argc, argv, decode_options, &a, pos, &rc))
        return rc;
    if ((rc = cli_one_token_arg(pos, &arg)) != 0 || (rc = cli_get_token(p, arg, &tok, &len)) != 0)
        return rc;
    cli_view_token(p, tok, len, &v);
    if (!v.error)
        return cli_emit(p, decode_result(p, &v, &a), print_decoded, &a, EXIT_VALID);

    j = json_object();
    json_object_set_new(j, "ok", json_false());
    json_object_set_new(j, "error", json_string(v.error));
    json_object_set_new(j, "token_type", cli_json_str_or_null(v.opaque));
    json_object_set_new(j, "format", json_string(v.opaque ? "opaque" : "invalid"));
    return cli_emit(p, j, print_undecodable, &a, EXIT_REJECTED);
}
