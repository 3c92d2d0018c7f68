/*
 * Organization sync patterns and the paths matched against them: the
 * administrator's patterns (ClerkOrganizationSyncPattern,
 * ClerkPersonalAccountPattern; from .htaccess a tenant's) and the request's
 * path (anyone's).  The first byte gives how many lines are organization
 * patterns (bits 0-1) and personal-account patterns (bits 2-3); the lines
 * after them are paths.
 *
 * Invariants: a compile either succeeds or gives a printable error; a
 * target is one of the three types, an organization with exactly one
 * non-empty value made of pathname characters (no '/', nothing a URL parser
 * would encode); matching is repeatable; and each compiled pattern matches a
 * path written from it.
 */
#include "fuzz.h"

#include <apr_lib.h>

#include "clerk_org_sync.h"

#define MAX_PATHS 8

static int printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            return 0;
    return 1;
}

/* A parameter value as a pathname holds it. */
static int value_ok(const char *v)
{
    if (!v || !*v)
        return 0;
    for (; *v; v++)
        if ((unsigned char)*v <= 0x20 || (unsigned char)*v >= 0x7f || strchr("/?#\"<>`{}\\", *v))
            return 0;
    return 1;
}

static void check_target(const clerk_org_sync_target_t *t)
{
    switch (t->type) {
    case CLERK_ORG_SYNC_ORGANIZATION:
        if (!t->organization_id == !t->organization_slug)
            abort();
        if (!value_ok(t->organization_id ? t->organization_id : t->organization_slug))
            abort();
        break;
    case CLERK_ORG_SYNC_PERSONAL_ACCOUNT:
    case CLERK_ORG_SYNC_NONE:
        if (t->organization_id || t->organization_slug)
            abort();
        break;
    default:
        abort();
    }
}

static int same_target(const clerk_org_sync_target_t *a, const clerk_org_sync_target_t *b)
{
    const char *x = a->organization_id ? a->organization_id : a->organization_slug;
    const char *y = b->organization_id ? b->organization_id : b->organization_slug;

    return a->type == b->type && !a->organization_id == !b->organization_id
           && (!x || !strcmp(x, y));
}

/*
 * A path the compiled pattern src matches: its text with escapes resolved,
 * "v" for each parameter, nothing for (.*); NULL when dot segments would make
 * the pathname differ from the text.
 */
static const char *instance(apr_pool_t *p, const char *src)
{
    char *out = apr_palloc(p, 2 * strlen(src) + 1), *o = out;

    while (*src) {
        if (*src == '\\') {
            *o++ = src[1];
            src += 2;
        }
        else if (*src == ':') {
            *o++ = 'v';
            for (src++; apr_isalnum(*src) || *src == '_'; src++)
                ;
        }
        else if (*src == '(')
            src += 4;                   /* (.*), which ends the pattern */
        else
            *o++ = *src++;
    }
    *o = '\0';
    if (strstr(out, "/."))
        return NULL;
    for (o = out; *o; o++)
        if (o[0] == '%' && o[1] == '2' && (o[2] == 'e' || o[2] == 'E'))
            return NULL;
    return out;
}

static void find(apr_pool_t *p, const clerk_org_sync_t *m, const char *path,
                 clerk_org_sync_target_t *t)
{
    clerk_org_sync_target_t again;
    int matched = clerk_org_sync_find_target(m, p, path, t);

    if (matched != (strcspn(path, "?#") <= CLERK_ORG_SYNC_MAX_PATH))
        abort();
    check_target(t);
    if (clerk_org_sync_find_target(m, p, path, &again) != matched || !same_target(t, &again))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    apr_array_header_t *org, *personal, *paths;
    clerk_org_sync_t *m = NULL;
    const char *error = NULL;
    char *s, *line, *rest;
    int n_org, n_personal;

    if (size < 1)
        return 0;
    p = fuzz_input_pool();
    n_org = data[0] & 3;
    n_personal = (data[0] >> 2) & 3;
    org = n_org ? apr_array_make(p, n_org, sizeof(const char *)) : NULL;
    personal = n_personal ? apr_array_make(p, n_personal, sizeof(const char *)) : NULL;
    paths = apr_array_make(p, MAX_PATHS, sizeof(const char *));
    s = fuzz_cstr(p, data + 1, size - 1);
    for (rest = s; rest; ) {
        line = rest;
        rest = strchr(rest, '\n');
        if (rest)
            *rest++ = '\0';
        if (org && org->nelts < n_org)
            APR_ARRAY_PUSH(org, const char *) = line;
        else if (personal && personal->nelts < n_personal)
            APR_ARRAY_PUSH(personal, const char *) = line;
        else if (paths->nelts < MAX_PATHS)
            APR_ARRAY_PUSH(paths, const char *) = line;
    }

    if (clerk_org_sync_compile(p, org, personal, &m, &error) != APR_SUCCESS) {
        if (!error || !printable(error))
            abort();
        fuzz_input_done(p);
        return 0;
    }
    if (!m || clerk_org_sync_count(m->organization) != (org ? org->nelts : 0)
        || clerk_org_sync_count(m->personal) != (personal ? personal->nelts : 0))
        abort();

    for (int i = 0; i < paths->nelts; i++) {
        clerk_org_sync_target_t t;
        find(p, m, APR_ARRAY_IDX(paths, i, const char *), &t);
    }
    /* every pattern matches a path written from it: organization ones an organization */
    for (int i = 0; org && i < org->nelts; i++) {
        const char *path = instance(p, APR_ARRAY_IDX(org, i, const char *));
        clerk_org_sync_target_t t;
        if (path) {
            find(p, m, path, &t);
            if (t.type != CLERK_ORG_SYNC_ORGANIZATION)
                abort();
        }
    }
    for (int i = 0; personal && i < personal->nelts; i++) {
        const char *path = instance(p, APR_ARRAY_IDX(personal, i, const char *));
        clerk_org_sync_target_t t;
        if (path) {
            find(p, m, path, &t);
            if (t.type == CLERK_ORG_SYNC_NONE)
                abort();
        }
    }
    fuzz_input_done(p);
    return 0;
}
