#include "clerk_policy.h"
#include "clerk_json.h"

#include <apr_strings.h>
#include <string.h>

#define SCOPE_ORG 1
#define SCOPE_USER 2

static const char *const kind_names[] = {
    [CLERK_REQUIRE_USER] = "clerk-user",
    [CLERK_REQUIRE_ORG] = "clerk-org",
    [CLERK_REQUIRE_ORG_ROLE] = "clerk-org-role",
    [CLERK_REQUIRE_ORG_PERMISSION] = "clerk-org-permission",
    [CLERK_REQUIRE_FEATURE] = "clerk-feature",
    [CLERK_REQUIRE_PLAN] = "clerk-plan",
    [CLERK_REQUIRE_MACHINE] = "clerk-machine",
    [CLERK_REQUIRE_SCOPE] = "clerk-scope",
    [CLERK_REQUIRE_TOKEN_TYPE] = "clerk-token-type",
    [CLERK_REQUIRE_CLAIM] = "clerk-claim",
};

const char *clerk_require_name(clerk_require_kind_t kind)
{
    return kind_names[kind];
}

/* value with every leading "org:" removed. */
static const char *strip_org(const char *v)
{
    while (!strncmp(v, "org:", 4))
        v += 4;
    return v;
}

const char *clerk_org_prefixed(apr_pool_t *p, const char *value)
{
    return apr_pstrcat(p, "org:", strip_org(value), NULL);
}

/*
 * A feature/plan request: "name" (either scope), "o:"/"org:"/"organization:"
 * or "u:"/"user:" followed by the name.  Stored as "<mask>:<name>" where the
 * mask is one digit, so matching needs no allocation.
 */
static const char *parse_scoped_request(apr_pool_t *p, const char *arg, const char **err)
{
    const char *colon = strchr(arg, ':');
    int mask;

    if (!colon)
        return apr_psprintf(p, "%d:%s", SCOPE_ORG | SCOPE_USER, arg);
    apr_size_t n = (apr_size_t)(colon - arg);
    if ((n == 1 && arg[0] == 'o') || (n == 3 && !strncmp(arg, "org", 3))
        || (n == 12 && !strncmp(arg, "organization", 12)))
        mask = SCOPE_ORG;
    else if ((n == 1 && arg[0] == 'u') || (n == 4 && !strncmp(arg, "user", 4)))
        mask = SCOPE_USER;
    else {
        *err = apr_psprintf(p, "'%s' has an unknown scope (use o:, org:, u:, user: or none)", arg);
        return NULL;
    }
    if (!colon[1]) {
        *err = apr_psprintf(p, "'%s' names no feature or plan", arg);
        return NULL;
    }
    return apr_psprintf(p, "%d:%s", mask, colon + 1);
}

const char *clerk_claim_path_parse(apr_pool_t *p, const char *name, apr_array_header_t **path)
{
    char *copy, *last, *part;

    if (!*name || name[0] == '.' || name[strlen(name) - 1] == '.' || strstr(name, ".."))
        return apr_psprintf(p, "'%s' is not a claim name or dotted path", name);
    *path = apr_array_make(p, 2, sizeof(const char *));
    copy = apr_pstrdup(p, name);
    for (part = apr_strtok(copy, ".", &last); part; part = apr_strtok(NULL, ".", &last))
        APR_ARRAY_PUSH(*path, const char *) = part;
    return NULL;
}

const json_t *clerk_claim_find(const apr_array_header_t *path, const json_t *payload)
{
    const json_t *v = payload;

    for (int k = 0; v && k < path->nelts; k++)
        v = json_is_object(v) ? json_object_get(v, APR_ARRAY_IDX(path, k, const char *)) : NULL;
    return v;
}

const char *clerk_require_parse(apr_pool_t *p, clerk_require_kind_t kind,
                                const char *args, clerk_require_t **out)
{
    clerk_require_t *req = apr_pcalloc(p, sizeof(*req));
    char **argv;
    int first = 0;

    req->kind = kind;
    req->values = apr_array_make(p, 4, sizeof(const char *));
    if (apr_tokenize_to_argv(args ? args : "", &argv, p) != APR_SUCCESS)
        return "cannot split the arguments";

    if (kind == CLERK_REQUIRE_CLAIM) {
        const char *err;
        if (!argv[0] || !argv[1])
            return "clerk-claim needs a claim name and at least one value";
        if ((err = clerk_claim_path_parse(p, argv[0], &req->claim_path)))
            return err;
        first = 1;
    }
    for (int i = first; argv[i]; i++) {
        const char *v = argv[i], *err = NULL;
        if (!*v)
            return "empty argument";
        switch (kind) {
        case CLERK_REQUIRE_ORG_ROLE:
        case CLERK_REQUIRE_ORG_PERMISSION:
            if (!*strip_org(v))
                return apr_psprintf(p, "'%s' names no role or permission", v);
            v = strip_org(v);
            break;
        case CLERK_REQUIRE_FEATURE:
        case CLERK_REQUIRE_PLAN:
            if (!(v = parse_scoped_request(p, v, &err)))
                return err;
            break;
        case CLERK_REQUIRE_TOKEN_TYPE: {
            clerk_token_type_t t = clerk_token_type_from_name(v);
            if (!t)
                return apr_psprintf(p, "'%s' is not a token type (session_token, m2m_token, "
                                    "oauth_token, api_key)", v);
            req->types |= t;
            break;
        }
        default:
            break;
        }
        APR_ARRAY_PUSH(req->values, const char *) = v;
    }
    if (req->values->nelts == 0 && kind != CLERK_REQUIRE_ORG && kind != CLERK_REQUIRE_MACHINE)
        return apr_psprintf(p, "%s needs at least one argument", kind_names[kind]);
    *out = req;
    return NULL;
}

static int listed(const apr_array_header_t *values, const char *s)
{
    for (int i = 0; s && i < values->nelts; i++)
        if (!strcmp(APR_ARRAY_IDX(values, i, const char *), s))
            return 1;
    return 0;
}

/* Does the comma-separated "scope:name" list grant the parsed request? */
static int scoped_list_grants(const char *list, const char *request)
{
    int want = request[0] - '0';
    const char *name = request + 2;
    apr_size_t name_len = strlen(name);
    const char *s = list;
    int granted = 0;

    if (!s)
        return 0;
    /*
     * The whole list is read, empty entries included ("o:a," has one): an
     * entry without a scope anywhere voids it.
     */
    for (;;) {
        const char *end = strchr(s, ','), *a = s, *b, *colon;
        if (!end)
            end = s + strlen(s);
        b = end;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        colon = memchr(a, ':', (apr_size_t)(b - a));
        if (!colon)
            return 0;   /* Clerk's SDK throws on such a list: grant nothing */
        apr_size_t sl = (apr_size_t)(colon - a);
        int have = (sl == 1 && *a == 'o') ? SCOPE_ORG
                 : (sl == 1 && *a == 'u') ? SCOPE_USER
                 : (sl == 2 && (!strncmp(a, "ou", 2) || !strncmp(a, "uo", 2)))
                     ? (SCOPE_ORG | SCOPE_USER) : 0;
        if ((have & want) && (apr_size_t)(b - colon - 1) == name_len
            && !memcmp(colon + 1, name, name_len))
            granted = 1;
        if (!*end)
            break;
        s = end + 1;
    }
    return granted;
}

static int json_equals_text(const json_t *v, const char *text)
{
    char buf[32];

    switch (json_typeof(v)) {
    case JSON_STRING:
        return !strcmp(json_string_value(v), text);
    case JSON_INTEGER:
        /* APR's formatter has no %lld (JSON_INTEGER_FORMAT): print as apr_int64_t */
        apr_snprintf(buf, sizeof(buf), "%" APR_INT64_T_FMT, (apr_int64_t)json_integer_value(v));
        return !strcmp(buf, text);
    case JSON_TRUE:
        return !strcmp(text, "true");
    case JSON_FALSE:
        return !strcmp(text, "false");
    default:
        return 0;
    }
}

static int claim_matches(const clerk_require_t *req, const json_t *payload)
{
    const json_t *v = clerk_claim_find(req->claim_path, payload);
    size_t i;
    json_t *e;

    if (!v)
        return 0;
    for (int k = 0; k < req->values->nelts; k++) {
        const char *want = APR_ARRAY_IDX(req->values, k, const char *);
        if (json_is_array(v)) {
            json_array_foreach(v, i, e)
                if (json_equals_text(e, want))
                    return 1;
        }
        else if (json_equals_text(v, want))
            return 1;
    }
    return 0;
}

int clerk_require_match(const clerk_require_t *req, const clerk_claims_t *c)
{
    const clerk_org_t *org = &c->org;

    switch (req->kind) {
    case CLERK_REQUIRE_USER:
        return listed(req->values, c->user_id);
    case CLERK_REQUIRE_ORG:
        if (!org->id)
            return 0;
        return req->values->nelts == 0 || listed(req->values, org->id)
            || listed(req->values, org->slug);
    case CLERK_REQUIRE_ORG_ROLE:
        if (!org->id || !org->role)
            return 0;
        return listed(req->values, strip_org(org->role));
    case CLERK_REQUIRE_ORG_PERMISSION:
        if (!org->id || !org->permissions)
            return 0;
        /* Stored permissions are compared as issued against "org:" + request. */
        for (int i = 0; i < org->permissions->nelts; i++) {
            const char *have = APR_ARRAY_IDX(org->permissions, i, const char *);
            if (!strncmp(have, "org:", 4) && listed(req->values, have + 4))
                return 1;
        }
        return 0;
    case CLERK_REQUIRE_FEATURE:
    case CLERK_REQUIRE_PLAN:
        for (int i = 0; i < req->values->nelts; i++)
            if (scoped_list_grants(req->kind == CLERK_REQUIRE_FEATURE ? c->features : c->plans,
                                   APR_ARRAY_IDX(req->values, i, const char *)))
                return 1;
        return 0;
    case CLERK_REQUIRE_MACHINE:
        if (c->type != CLERK_TYPE_M2M)
            return 0;
        return req->values->nelts == 0 || listed(req->values, c->machine_id);
    case CLERK_REQUIRE_SCOPE:
        for (int i = 0; c->scopes && i < c->scopes->nelts; i++)
            if (listed(req->values, APR_ARRAY_IDX(c->scopes, i, const char *)))
                return 1;
        return 0;
    case CLERK_REQUIRE_TOKEN_TYPE:
        return (req->types & c->type) != 0;
    case CLERK_REQUIRE_CLAIM:
        return claim_matches(req, c->payload);
    }
    return 0;
}
