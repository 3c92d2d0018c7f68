/*
 * ap_expr functions (<If>, Require expr, Header, SetEnvIfExpr, RewriteCond
 * expr, ...):
 *
 *   clerk_claim('dotted.path')   the verified claim as a string ("" when
 *                                signed out, absent, or not header-safe)
 *   clerk_has('<kind>:<value>')  "true" when the claims grant it, else "":
 *                                kind role, permission, feature or plan,
 *                                decided as Require clerk-org-role,
 *                                clerk-org-permission, clerk-feature and
 *                                clerk-plan decide (src/clerk_policy.c)
 *
 * The argument is a string literal, parsed once when the configuration is
 * read (the lookup hook), so that a bad one fails configtest.
 *
 * Where httpd evaluates an expression before check_authn (<If> during the
 * location walk, SetEnvIfExpr in header_parser, a Require expr that needs no
 * user, a RewriteCond in server context), the functions ask the core's
 * decision themselves, with the settings in effect for the request at that
 * time (r->per_dir_config, when it is an AuthType Clerk section; else they
 * see no one signed in).  That decision is the one check_authn makes, but for
 * what needs a side effect (a handshake nonce exchanged, a session refreshed
 * through the Backend API: then the expression sees no one signed in).  It is
 * made once per request and settings; every verification it made is kept
 * with the token, key source and options it used, and a later verification of
 * the request (another section's early decision, check_authn) re-uses one
 * only when all three are the same (mac_verify_jwt, mac_check_opaque).
 * After check_authn, the functions read its verdict.
 */
#include "auth_clerk.h"

#include "ap_expr.h"

#include "clerk_json.h"

/* what an expression decided before check_authn, kept in a request note */
typedef struct {
    const clerk_dir_conf *conf;     /* the settings of the last decision (NULL: none yet) */
    const clerk_claims_t *claims;   /* its verdict: the claims when signed in, else NULL */
    apr_array_header_t *verified;   /* clerk_request_state: each token verified, as used */
} early_t;

static apr_size_t early_note;

static early_t *early_of(const request_rec *r, int make)
{
    early_t **slot = (early_t **)ap_get_request_note((request_rec *)r, early_note);

    if (!slot)
        return NULL;
    if (!*slot && make) {
        *slot = apr_pcalloc(r->pool, sizeof(**slot));
        (*slot)->verified = apr_array_make(r->pool, 2, sizeof(clerk_request_state));
    }
    return *slot;
}

const apr_array_header_t *mac_expr_verifications(const request_rec *r)
{
    const early_t *e = early_of(r, 0);
    return e ? e->verified : NULL;
}

/* ---- the early decision: check_authn's, asking this process without side effects ---- */

typedef struct {
    mac_ask ask;                    /* first: the keys are asked as authn.c asks them */
    early_t *e;
} early_ask;

/* Keep a successful verification with the options it was made under. */
static void remember(early_ask *a, clerk_claims_t *claims, apr_int64_t clock_skew)
{
    clerk_request_state *v = apr_array_push(a->e->verified);

    *v = *a->ask.st;
    v->claims = claims;
    if (clock_skew >= 0)
        v->opts.clock_skew = clock_skew;
}

static clerk_step_t early_verify_jwt(void *ctx, const char *token, unsigned accept_types,
                                     apr_int64_t clock_skew, const char *carrier,
                                     clerk_claims_t **claims, clerk_reason_t *reason,
                                     apr_int64_t *retry_after)
{
    early_ask *a = ctx;
    clerk_step_t step = mac_verify_jwt(a->ask.r, a->ask.c, a->ask.st, token, accept_types, clock_skew,
                                       carrier, reason, retry_after);

    *claims = a->ask.st->claims;
    if (step == CLERK_STEP_DONE && *reason == CLERK_OK && *claims)
        remember(a, *claims, clock_skew);
    return step;
}

static clerk_step_t early_check_opaque(void *ctx, const char *token, clerk_token_type_t type,
                                       const char *carrier, clerk_claims_t **claims,
                                       clerk_reason_t *reason, apr_int64_t *retry_after)
{
    early_ask *a = ctx;
    clerk_step_t step = mac_check_opaque(a->ask.r, a->ask.c, a->ask.st, token, type, carrier, claims,
                                         reason, retry_after);

    if (step == CLERK_STEP_DONE && *reason == CLERK_OK && *claims)
        remember(a, *claims, -1);
    return step;
}

/* A nonce is exchanged and a session refreshed by check_authn only: it sends the cookies. */
static clerk_step_t not_early(early_ask *a, const char *what, apr_int64_t *retry_after)
{
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, a->ask.r, CLERKNO(092)
                  "an expression before authentication does not %s: no one signed in for it",
                  what);
    *retry_after = 1;
    return CLERK_STEP_UNAVAILABLE;
}

static clerk_step_t early_exchange_nonce(void *ctx, const char *nonce,
                                         apr_array_header_t **directives, const char **detail,
                                         apr_int64_t *retry_after)
{
    return not_early(ctx, "exchange a handshake nonce", retry_after);
}

static clerk_step_t early_refresh_session(void *ctx, const char *expired_token,
                                          const char *refresh_token, int suffixed_cookies,
                                          clerk_refresh_result_t *result,
                                          apr_int64_t *retry_after)
{
    return not_early(ctx, "refresh a session", retry_after);
}

static const clerk_claims_t *early_claims(request_rec *r)
{
    const clerk_dir_conf *c = ap_get_module_config(r->per_dir_config, &auth_clerk_module);
    early_t *e = early_of(r, 1);
    early_ask asked = { { r, c, NULL }, e };
    const clerk_auth_ops_t ops = {
        &asked, early_verify_jwt, early_check_opaque, mac_ask_acquire_keys,
        mac_ask_release_keys, early_exchange_nonce, early_refresh_session
    };
    clerk_auth_outcome_t outcome;

    if (!e)
        return NULL;
    if (e->conf == c)
        return e->claims;
    asked.ask.st = apr_pcalloc(r->pool, sizeof(*asked.ask.st));
    mac_decide(r, c, asked.ask.st, &ops, &outcome);
    /* signed in, and not answered with a redirect (a development handshake's result) */
    e->conf = c;
    e->claims = outcome.state == CLERK_AUTH_SIGNED_IN && !outcome.location ? outcome.claims
                                                                            : NULL;
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, CLERKNO(093)
                  "expression before authentication: %s%s%s", e->claims ? "signed in"
                  : clerk_auth_state_name(outcome.state),
                  outcome.reason != CLERK_OK ? ", " : "",
                  outcome.reason != CLERK_OK ? clerk_reason_str(outcome.reason) : "");
    return e->claims;
}

/*
 * The claims an expression sees for r: check_authn's verdict once it decided
 * r (or mac_fixups gave r its parent's); before, the early decision of an
 * AuthType Clerk section; else none.
 */
static const clerk_claims_t *request_claims(request_rec *r)
{
    const clerk_request_state *st;

    if (!r)
        return NULL;
    if ((st = mac_request_state(r)))
        return st->claims;
    return mac_is_clerk_request(r) ? early_claims(r) : NULL;
}

/* ---- the functions ---- */

static const char *claim_fn(ap_expr_eval_ctx_t *ctx, const void *data, const char *arg)
{
    const clerk_claims_t *claims = request_claims(ctx->r);
    const json_t *v = claims ? clerk_claim_find(data, claims->payload) : NULL;
    const char *text;

    if (!v || json_is_null(v))
        return "";
    text = json_is_string(v) ? json_string_value(v) : clerk_json_compact(ctx->p, v);
    if (!text || !clerk_export_header_safe(text)) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, ctx->r, CLERKNO(094)
                      "clerk_claim('%s'): empty, the value has control characters", arg);
        return "";
    }
    return text;
}

static const char *has_fn(ap_expr_eval_ctx_t *ctx, const void *data, const char *arg)
{
    const clerk_claims_t *claims = request_claims(ctx->r);
    return claims && clerk_require_match(data, claims) ? "true" : "";
}

/* ---- parsed when the configuration is read ---- */

static const struct {
    const char *name;
    clerk_require_kind_t kind;
} has_kinds[] = {
    {"role", CLERK_REQUIRE_ORG_ROLE},
    {"permission", CLERK_REQUIRE_ORG_PERMISSION},
    {"feature", CLERK_REQUIRE_FEATURE},
    {"plan", CLERK_REQUIRE_PLAN},
};

/* clerk_has's '<kind>:<value>': the requirement, as its Require provider parses it. */
static const char *parse_has(apr_pool_t *p, apr_pool_t *ptemp, const char *arg,
                             clerk_require_t **req)
{
    const char *colon = strchr(arg, ':'), *value, *err, *name;

    if (!colon)
        return "the argument is '<kind>:<value>' (kind role, permission, feature or plan)";
    value = colon + 1;
    for (size_t i = 0; i < sizeof(has_kinds) / sizeof(has_kinds[0]); i++) {
        if (strlen(has_kinds[i].name) != (apr_size_t)(colon - arg)
            || strncmp(arg, has_kinds[i].name, (apr_size_t)(colon - arg)))
            continue;
        if (value[strcspn(value, " \t\r\n\"'\\")])
            return "one value, without spaces, quotes or backslashes";
        err = clerk_require_parse(p, has_kinds[i].kind, value, req);
        name = clerk_require_name(has_kinds[i].kind);
        if (err && strncmp(err, name, strlen(name)))
            return apr_pstrcat(ptemp, name, ": ", err, NULL);
        return err;
    }
    return apr_psprintf(ptemp, "unknown kind '%.*s' (role, permission, feature or plan)",
                        (int)(colon - arg), arg);
}

static int clerk_expr_lookup(ap_expr_lookup_parms *parms)
{
    int claim;
    const char *err;

    if (parms->type != AP_EXPR_FUNC_STRING)
        return DECLINED;
    if (!strcasecmp(parms->name, "clerk_claim"))
        claim = 1;
    else if (!strcasecmp(parms->name, "clerk_has"))
        claim = 0;
    else
        return DECLINED;
    if (!parms->arg) {
        err = "the argument must be a string literal";
    }
    else if (claim) {
        apr_array_header_t *path;
        if (!(err = clerk_claim_path_parse(parms->pool, parms->arg, &path))) {
            *parms->func = claim_fn;
            *parms->data = path;
        }
    }
    else {
        clerk_require_t *req;
        if (!(err = parse_has(parms->pool, parms->ptemp, parms->arg, &req))) {
            *parms->func = has_fn;
            *parms->data = req;
        }
    }
    if (err) {
        *parms->err = parms->arg ? apr_psprintf(parms->ptemp, "%s('%s'): %s", parms->name,
                                                parms->arg, err)
                                 : apr_psprintf(parms->ptemp, "%s(): %s", parms->name, err);
        return !OK;
    }
    return OK;
}

void mac_register_expr(void)
{
    early_note = ap_register_request_note();
    ap_hook_expr_lookup(clerk_expr_lookup, NULL, NULL, APR_HOOK_MIDDLE);
}
