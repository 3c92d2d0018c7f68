/*
 * Organization claims, v1 and v2, normalised to one shape.  The v2 expansion
 * follows @clerk/shared jwtPayloadParser: permission names in o.per, one
 * decimal bitmask per org-scoped feature in o.fpm (bit j grants per[j]),
 * features in "fea" order.  Masks are decoded with arbitrary precision
 * (OpenSSL BIGNUM), since Clerk's own masks exceed 2^53 and 2^64.
 */
#include "clerk_claims.h"
#include "clerk_json.h"

#include <apr_strings.h>
#include <openssl/bn.h>
#include <string.h>

/* A mask longer than this many digits is treated as malformed (no grants). */
#define MAX_MASK_DIGITS 4096

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Split on ',' and trim ASCII white space from each part, as JS trim() would. */
static apr_array_header_t *split_trimmed(apr_pool_t *p, const char *s)
{
    apr_array_header_t *out = apr_array_make(p, 8, sizeof(const char *));
    const char *start = s;

    for (;;) {
        const char *end = strchr(start, ',');
        const char *stop = end ? end : start + strlen(start);
        const char *a = start, *b = stop;
        while (a < b && is_space(*a))
            a++;
        while (b > a && is_space(b[-1]))
            b--;
        APR_ARRAY_PUSH(out, const char *) = apr_pstrmemdup(p, a, (apr_size_t)(b - a));
        if (!end)
            break;
        start = end + 1;
    }
    return out;
}

clerk_reason_t clerk_split_by_scope(apr_pool_t *p, const char *list,
                                    apr_array_header_t **org_names,
                                    apr_array_header_t **user_names)
{
    apr_array_header_t *parts;
    apr_array_header_t *orgs = apr_array_make(p, 4, sizeof(const char *));
    apr_array_header_t *users = apr_array_make(p, 4, sizeof(const char *));

    if (list && *list) {
        parts = split_trimmed(p, list);
        for (int i = 0; i < parts->nelts; i++) {
            const char *part = APR_ARRAY_IDX(parts, i, const char *);
            const char *colon = strchr(part, ':');
            if (!colon)
                return CLERK_TOKEN_INVALID;
            apr_size_t slen = (apr_size_t)(colon - part);
            const char *name = colon + 1;
            int to_org = (slen == 1 && part[0] == 'o')
                || (slen == 2 && (!strncmp(part, "ou", 2) || !strncmp(part, "uo", 2)));
            int to_user = (slen == 1 && part[0] == 'u')
                || (slen == 2 && (!strncmp(part, "ou", 2) || !strncmp(part, "uo", 2)));
            if (to_org)
                APR_ARRAY_PUSH(orgs, const char *) = name;
            if (to_user)
                APR_ARRAY_PUSH(users, const char *) = name;
        }
    }
    if (org_names)
        *org_names = orgs;
    if (user_names)
        *user_names = users;
    return CLERK_OK;
}

/* A decimal mask as a BIGNUM, or NULL when malformed (fail closed). */
static BIGNUM *parse_mask(const char *s)
{
    size_t n = strlen(s);
    BIGNUM *bn = NULL;

    if (n == 0 || n > MAX_MASK_DIGITS || strspn(s, "0123456789") != n)
        return NULL;
    if (BN_dec2bn(&bn, s) != (int)n) {
        BN_free(bn);
        return NULL;
    }
    return bn;
}

static apr_array_header_t *v2_permissions(apr_pool_t *p, const json_t *o,
                                          apr_array_header_t *org_features)
{
    apr_array_header_t *perms = apr_array_make(p, 8, sizeof(const char *));
    const char *per = clerk_json_string(o, "per");
    const char *fpm = clerk_json_string(o, "fpm");
    apr_array_header_t *names, *masks;

    if (!per || !*per || !fpm || !*fpm)
        return perms;
    names = split_trimmed(p, per);
    masks = split_trimmed(p, fpm);
    for (int i = 0; i < org_features->nelts && i < masks->nelts; i++) {
        BIGNUM *mask = parse_mask(APR_ARRAY_IDX(masks, i, const char *));
        const char *feature = APR_ARRAY_IDX(org_features, i, const char *);
        if (!mask)
            continue;
        for (int j = 0; j < names->nelts; j++)
            if (BN_is_bit_set(mask, j))
                APR_ARRAY_PUSH(perms, const char *) = apr_pstrcat(
                    p, "org:", feature, ":", APR_ARRAY_IDX(names, j, const char *), NULL);
        BN_free(mask);
    }
    return perms;
}

int clerk_claims_are_v2(const json_t *payload)
{
    const json_t *v = json_object_get(payload, "v");
    return json_is_integer(v) && json_integer_value(v) == 2;
}

clerk_reason_t clerk_org_from_payload(apr_pool_t *p, const json_t *payload,
                                      clerk_org_t *org, const char **detail)
{
    memset(org, 0, sizeof(*org));
    *detail = NULL;

    if (clerk_claims_are_v2(payload)) {
        const json_t *o = json_object_get(payload, "o");
        apr_array_header_t *org_features;
        const char *rol;

        if (!json_is_object(o))
            return CLERK_OK;
        /*
         * With an active org Clerk's SDK throws on a malformed "fea" and builds
         * no auth object at all; refuse the token likewise.
         */
        if (clerk_split_by_scope(p, clerk_json_string(payload, "fea"),
                                 &org_features, NULL) != CLERK_OK) {
            *detail = "fea claim has an entry without a scope";
            return CLERK_TOKEN_INVALID;
        }
        org->id = clerk_json_string(o, "id");
        org->slug = clerk_json_string(o, "slg");
        rol = clerk_json_string(o, "rol");
        if (rol && *rol)
            org->role = apr_pstrcat(p, "org:", rol, NULL);
        org->permissions = v2_permissions(p, o, org_features);
        return CLERK_OK;
    }

    org->id = clerk_json_string(payload, "org_id");
    org->slug = clerk_json_string(payload, "org_slug");
    org->role = clerk_json_string(payload, "org_role");
    {
        const json_t *list = json_object_get(payload, "org_permissions");
        size_t i;
        json_t *v;
        if (json_is_array(list)) {
            org->permissions = apr_array_make(p, (int)json_array_size(list), sizeof(const char *));
            json_array_foreach(list, i, v)
                if (json_is_string(v))
                    APR_ARRAY_PUSH(org->permissions, const char *) = json_string_value(v);
        }
    }
    return CLERK_OK;
}
