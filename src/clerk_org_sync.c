/*
 * Organization sync patterns: compiled into a list of tokens, matched by one
 * pass over the pathname per pattern.  See clerk_org_sync.h for the subset of
 * path-to-regexp this is and why it is linear.
 *
 * Why a token list reproduces the SDK's regular expression: path-to-regexp 6
 * turns "/orgs/:slug/(.*)" into ^\/orgs(?:\/([^\/#\?]+?))(?:\/(.*))[\/#\?]?$
 * (flag i).  A pathname holds no '#' or '?', and the compiler only admits a
 * parameter followed by '/' or the end, so the lazy [^/]+? can only end at
 * the next '/' or the end: it takes the whole rest of the segment.  (.*) only
 * ends a pattern, so it takes everything left.  What remains after the last
 * token must be "" or "/" (the optional trailing delimiter).
 */
#include "clerk_org_sync.h"

#include <apr_general.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <string.h>

typedef enum { TOKEN_TEXT, TOKEN_PARAM, TOKEN_REST } token_kind;
typedef enum { NAME_OTHER, NAME_ID, NAME_SLUG } param_name;

typedef struct {
    token_kind kind;
    const char *text;               /* TOKEN_TEXT: the literal (escapes resolved) */
    apr_size_t len;
    param_name name;                /* TOKEN_PARAM */
    /*
     * TOKEN_PARAM right after an unescaped '.': path-to-regexp takes the '.'
     * as the parameter's prefix and then excludes '.' from its value
     * ((?:(?!\.)[^\/#\?])+?).
     */
    int no_dot;
} token;

/* A text, a parameter and a separator per parameter, and the rest. */
#define MAX_TOKENS (2 * CLERK_ORG_SYNC_MAX_PARAMS + 3)

typedef struct {
    token tokens[MAX_TOKENS];
    int ntokens;
} pattern;

struct clerk_org_sync_patterns {
    const pattern **items;
    int n;
};

/* Where a parameter's value is in the pathname. */
typedef struct {
    apr_size_t at, len;
    int set;
} capture;

/* The pattern as an error message may show it: other bytes than printable ASCII as \xNN. */
static const char *shown(apr_pool_t *p, const char *s)
{
    apr_size_t n = strlen(s), o = 0;
    char *out = apr_palloc(p, 4 * n + 1);

    for (apr_size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f)
            out[o++] = (char)c;
        else
            o += (apr_size_t)apr_snprintf(out + o, 5, "\\x%02x", c);
    }
    out[o] = '\0';
    return out;
}

/*
 * Whether c may stand in a pattern's literal text: what a WHATWG pathname can
 * hold, so that the text can match.  The URL parser percent-encodes controls,
 * space, " < > ` { } and non-ASCII, reads '\' as '/', and '#' and '?' end the
 * path.
 */
static int path_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && !strchr("\"#<>?\\`{}", c);
}

static int name_char(char c)
{
    return apr_isalnum(c) || c == '_';
}

static void add_text(pattern *pt, const char *text, apr_size_t len)
{
    if (len) {
        token *t = &pt->tokens[pt->ntokens++];
        t->kind = TOKEN_TEXT;
        t->text = text;
        t->len = len;
    }
}

/*
 * The token list of src into *out, or why src is refused.  The checks of
 * path-to-regexp's own parser come first, with its wording, then those of
 * the subset.
 */
static const char *parse(apr_pool_t *p, clerk_org_sync_kind_t kind, const char *src,
                         pattern **out)
{
    apr_size_t n = strlen(src), i = 0, text_at = 0, used = 0;
    char *buf;
    pattern *pt;
    int params = 0, has_id = 0, has_slug = 0, after_dot = 0;

    if (!n)
        return "is empty";
    if (n > CLERK_ORG_SYNC_MAX_PATTERN_LEN)
        return "is longer than " APR_STRINGIFY(CLERK_ORG_SYNC_MAX_PATTERN_LEN) " characters";
    if (src[0] != '/')
        return "does not start with '/' (a URL path always does)";
    buf = apr_palloc(p, n);
    pt = apr_pcalloc(p, sizeof(*pt));
    while (i < n) {
        unsigned char c = (unsigned char)src[i];

        if (c == '\\') {
            if (i + 1 == n)
                return "ends with '\\', which escapes nothing";
            c = (unsigned char)src[i + 1];
            if (!path_char(c))
                return apr_psprintf(p, "'\\%s' at %" APR_SIZE_T_FMT " is a character a URL "
                                    "path never holds as such: percent-encode it",
                                    shown(p, apr_pstrndup(p, src + i + 1, 1)), i);
            buf[used++] = (char)c;
            i += 2;
            after_dot = 0;
            continue;
        }
        if (c == ':') {
            apr_size_t j = i + 1;
            param_name name;
            token *t;

            while (j < n && name_char(src[j]))
                j++;
            if (j == i + 1)
                return apr_psprintf(p, "missing parameter name at %" APR_SIZE_T_FMT, i);
            if (j - i - 1 == 2 && !memcmp(src + i + 1, "id", 2))
                name = NAME_ID;
            else if (j - i - 1 == 4 && !memcmp(src + i + 1, "slug", 4))
                name = NAME_SLUG;
            else
                name = NAME_OTHER;
            if (j < n && src[j] == '(')
                return apr_psprintf(p, ":%.*s at %" APR_SIZE_T_FMT " has a pattern of its own, "
                                    "which is not supported", (int)(j - i - 1), src + i + 1, i);
            if (j < n && strchr("?*+", src[j]))
                return apr_psprintf(p, "the modifier '%c' after :%.*s is not supported "
                                    "(optional or repeated parameters)", src[j],
                                    (int)(j - i - 1), src + i + 1);
            if (j < n && src[j] != '/')
                return apr_psprintf(p, ":%.*s at %" APR_SIZE_T_FMT " is followed by '%s': a "
                                    "parameter must be followed by '/' or end the pattern",
                                    (int)(j - i - 1), src + i + 1, i,
                                    shown(p, apr_pstrndup(p, src + j, 1)));
            if (++params > CLERK_ORG_SYNC_MAX_PARAMS)
                return "has more than " APR_STRINGIFY(CLERK_ORG_SYNC_MAX_PARAMS) " parameters";
            add_text(pt, buf + text_at, used - text_at);
            text_at = used;
            t = &pt->tokens[pt->ntokens++];
            t->kind = TOKEN_PARAM;
            t->name = name;
            t->no_dot = after_dot;
            has_id |= name == NAME_ID;
            has_slug |= name == NAME_SLUG;
            i = j;
            after_dot = 0;
            continue;
        }
        if (c == '(') {
            apr_size_t j = i + 1;
            int depth = 1;

            if (j < n && src[j] == '?')
                return apr_psprintf(p, "pattern cannot start with \"?\" at %" APR_SIZE_T_FMT, j);
            while (j < n) {
                if (src[j] == '\\') {
                    j += 2;
                    continue;
                }
                if (src[j] == ')') {
                    if (--depth == 0) {
                        j++;
                        break;
                    }
                }
                else if (src[j] == '(') {
                    depth++;
                    if (src[j + 1] != '?')
                        return apr_psprintf(p, "capturing groups are not allowed at %"
                                            APR_SIZE_T_FMT, j);
                }
                j++;
            }
            if (depth)
                return apr_psprintf(p, "unbalanced pattern at %" APR_SIZE_T_FMT, i);
            if (j == i + 2)
                return apr_psprintf(p, "missing pattern at %" APR_SIZE_T_FMT, i);
            if (j - i != 4 || memcmp(src + i, "(.*)", 4))
                return apr_psprintf(p, "the group %s at %" APR_SIZE_T_FMT " is not supported: "
                                    "only (.*) is", shown(p, apr_pstrndup(p, src + i, j - i)), i);
            if (j < n && strchr("?*+", src[j]))
                return apr_psprintf(p, "the modifier '%c' after (.*) is not supported", src[j]);
            if (j != n)
                return apr_psprintf(p, "(.*) at %" APR_SIZE_T_FMT " must end the pattern", i);
            add_text(pt, buf + text_at, used - text_at);
            text_at = used;
            pt->tokens[pt->ntokens++].kind = TOKEN_REST;
            i = j;
            continue;
        }
        if (c == '{' || c == '}')
            return apr_psprintf(p, "'%c' at %" APR_SIZE_T_FMT ": groups {...} are not supported",
                                c, i);
        if (c == '?' || c == '*' || c == '+')
            return apr_psprintf(p, "'%c' at %" APR_SIZE_T_FMT ": modifiers (? * +) are not "
                                "supported, and only follow a parameter", c, i);
        if (!path_char(c))
            return apr_psprintf(p, "the character '%s' at %" APR_SIZE_T_FMT " is one a URL path "
                                "never holds as such: percent-encode it",
                                shown(p, apr_pstrndup(p, src + i, 1)), i);
        buf[used++] = (char)c;
        after_dot = c == '.';
        i++;
    }
    add_text(pt, buf + text_at, used - text_at);
    if (kind == CLERK_ORG_SYNC_ORGANIZATION_PATTERNS && !has_id && !has_slug)
        return "names neither :id nor :slug (an organization pattern says which organization)";
    *out = pt;
    return NULL;
}

apr_status_t clerk_org_sync_add_patterns(apr_pool_t *pool, clerk_org_sync_kind_t kind,
                                         const clerk_org_sync_patterns_t *base, int argc,
                                         const char *const *argv,
                                         const clerk_org_sync_patterns_t **out,
                                         const char **error)
{
    int had = clerk_org_sync_count(base);
    clerk_org_sync_patterns_t *l;

    if (argc < 0 || argc > CLERK_ORG_SYNC_MAX_PATTERNS - had) {
        *error = "more than " APR_STRINGIFY(CLERK_ORG_SYNC_MAX_PATTERNS) " patterns";
        return APR_EINVAL;
    }
    l = apr_palloc(pool, sizeof(*l));
    l->items = apr_palloc(pool, sizeof(*l->items) * (apr_size_t)(had + argc + 1));
    if (had)
        memcpy(l->items, base->items, sizeof(*l->items) * (apr_size_t)had);
    for (int k = 0; k < argc; k++) {
        pattern *pt = NULL;
        const char *why = parse(pool, kind, argv[k], &pt);
        if (why) {
            *error = apr_psprintf(pool, "'%s' %s", shown(pool, argv[k]), why);
            return APR_EINVAL;
        }
        l->items[had + k] = pt;
    }
    l->n = had + argc;
    *out = l;
    return APR_SUCCESS;
}

static apr_status_t add_array(apr_pool_t *pool, clerk_org_sync_kind_t kind,
                              const apr_array_header_t *a, const clerk_org_sync_patterns_t **out,
                              const char **error)
{
    if (!a) {
        *out = NULL;
        return APR_SUCCESS;
    }
    return clerk_org_sync_add_patterns(pool, kind, NULL, a->nelts, (const char *const *)a->elts,
                                       out, error);
}

apr_status_t clerk_org_sync_compile(apr_pool_t *pool, const apr_array_header_t *organization,
                                    const apr_array_header_t *personal,
                                    clerk_org_sync_t **matcher, const char **error)
{
    clerk_org_sync_t *m = apr_pcalloc(pool, sizeof(*m));
    apr_status_t rv = add_array(pool, CLERK_ORG_SYNC_ORGANIZATION_PATTERNS, organization,
                                &m->organization, error);

    if (rv == APR_SUCCESS)
        rv = add_array(pool, CLERK_ORG_SYNC_PERSONAL_PATTERNS, personal, &m->personal, error);
    if (rv == APR_SUCCESS)
        *matcher = m;
    return rv;
}

int clerk_org_sync_count(const clerk_org_sync_patterns_t *list)
{
    return list ? list->n : 0;
}

/*
 * Whether a segment of a pathname is "." (1) or ".." (2), also written with
 * %2e, as the WHATWG URL parser tells them.
 */
static int dot_segment(const char *s, apr_size_t len)
{
    int dots = 0;

    while (len) {
        if (*s == '.') {
            s++;
            len--;
        }
        else if (len >= 3 && s[0] == '%' && s[1] == '2' && (s[2] == 'e' || s[2] == 'E')) {
            s += 3;
            len -= 3;
        }
        else
            return 0;
        if (++dots > 2)
            return 0;
    }
    return dots;
}

/* The bytes the WHATWG URL parser percent-encodes in a path (its path percent-encode set). */
static int encoded_in_path(unsigned char c)
{
    return c <= 0x20 || c >= 0x7f || strchr("\"<>`{}", c);
}

/*
 * path as a WHATWG URL parser makes it the pathname of http(s)://host<path>:
 * what the SDK matches.  Up to the first '?' or '#'; NULL when that is
 * longer than CLERK_ORG_SYNC_MAX_PATH.  One pass, at most 3 bytes out per
 * byte in.
 */
static char *pathname(apr_pool_t *p, const char *path, apr_size_t *len)
{
    static const char hex[] = "0123456789ABCDEF";
    apr_size_t n = strcspn(path, "?#"), i, o = 0;
    char *out;

    if (n > CLERK_ORG_SYNC_MAX_PATH)
        return NULL;
    out = apr_palloc(p, 3 * n + 2);
    i = n && (path[0] == '/' || path[0] == '\\');
    for (;;) {
        apr_size_t seg;
        int last, dots;

        out[o++] = '/';
        seg = o;
        while (i < n && path[i] != '/' && path[i] != '\\') {
            unsigned char c = (unsigned char)path[i++];
            if (c == '\t' || c == '\n' || c == '\r')
                continue;           /* the parser drops them anywhere in a URL */
            if (encoded_in_path(c)) {
                out[o++] = '%';
                out[o++] = hex[c >> 4];
                out[o++] = hex[c & 15];
            }
            else
                out[o++] = (char)c;
        }
        last = i >= n;
        dots = dot_segment(out + seg, o - seg);
        if (dots) {
            o = seg - 1;                        /* this segment goes */
            if (dots == 2) {                    /* and so does the one before, if any */
                while (o > 0 && out[o - 1] != '/')
                    o--;
                if (o > 0)
                    o--;
            }
            if (last)
                out[o++] = '/';                 /* "/a/.." is "/": an empty last segment */
        }
        if (last)
            break;
        i++;                                    /* the separator */
    }
    out[o] = '\0';
    *len = o;
    return out;
}

static int same_text(const char *path, const char *text, apr_size_t len)
{
    for (apr_size_t k = 0; k < len; k++)
        if (apr_tolower(path[k]) != apr_tolower(text[k]))
            return 0;
    return 1;
}

/* Whether pt matches the whole pathname; its :id and :slug into *id and *slug if so. */
static int match(const pattern *pt, const char *path, apr_size_t n, capture *id, capture *slug)
{
    apr_size_t pos = 0;
    capture found[3] = {{0, 0, 0}, {0, 0, 0}, {0, 0, 0}};     /* by param_name */

    for (int k = 0; k < pt->ntokens; k++) {
        const token *t = &pt->tokens[k];
        apr_size_t start = pos;

        switch (t->kind) {
        case TOKEN_TEXT:
            if (n - pos < t->len || !same_text(path + pos, t->text, t->len))
                return 0;
            pos += t->len;
            break;
        case TOKEN_PARAM:
            while (pos < n && path[pos] != '/' && !(t->no_dot && path[pos] == '.'))
                pos++;
            if (pos == start)
                return 0;
            /* a name given twice: the last value counts, as in path-to-regexp's params */
            found[t->name] = (capture){start, pos - start, 1};
            break;
        case TOKEN_REST:
            pos = n;
            break;
        }
    }
    if (pos != n && !(pos + 1 == n && path[pos] == '/'))
        return 0;
    *id = found[NAME_ID];
    *slug = found[NAME_SLUG];
    return 1;
}

static int match_any(const clerk_org_sync_patterns_t *l, const char *path, apr_size_t n,
                     capture *id, capture *slug)
{
    for (int k = 0; k < clerk_org_sync_count(l); k++)
        if (match(l->items[k], path, n, id, slug))
            return 1;
    return 0;
}

int clerk_org_sync_find_target(const clerk_org_sync_t *matcher, apr_pool_t *pool,
                               const char *path, clerk_org_sync_target_t *target)
{
    capture id, slug;
    apr_size_t n;
    const char *name;

    memset(target, 0, sizeof(*target));
    if (!path)
        return 0;
    /* the common case, a section without patterns, costs nothing */
    if (!clerk_org_sync_count(matcher->organization) && !clerk_org_sync_count(matcher->personal))
        return strcspn(path, "?#") <= CLERK_ORG_SYNC_MAX_PATH;
    name = pathname(pool, path, &n);
    if (!name)
        return 0;
    /* the first organization pattern that matches decides, :id before :slug (findTarget) */
    if (match_any(matcher->organization, name, n, &id, &slug)) {
        target->type = CLERK_ORG_SYNC_ORGANIZATION;
        if (id.set)
            target->organization_id = apr_pstrmemdup(pool, name + id.at, id.len);
        else
            target->organization_slug = apr_pstrmemdup(pool, name + slug.at, slug.len);
    }
    else if (match_any(matcher->personal, name, n, &id, &slug))
        target->type = CLERK_ORG_SYNC_PERSONAL_ACCOUNT;
    return 1;
}
