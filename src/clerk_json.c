#include "clerk_json.h"

#include <apr_strings.h>
#include <stdlib.h>

static apr_status_t json_cleanup(void *data)
{
    json_decref((json_t *)data);
    return APR_SUCCESS;
}

void clerk_json_pool_own(apr_pool_t *p, json_t *j)
{
    apr_pool_cleanup_register(p, j, json_cleanup, apr_pool_cleanup_null);
}

/*
 * jansson recurses once per nesting level up to 2048; refuse deep input
 * before it gets there.  Brackets inside strings do not count.
 */
static int depth_within_limit(const char *buf, apr_size_t len)
{
    int depth = 0, in_string = 0;

    for (apr_size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = 0;
        }
        else if (c == '"')
            in_string = 1;
        else if (c == '{' || c == '[') {
            if (++depth > CLERK_JSON_MAX_DEPTH)
                return 0;
        }
        else if (c == '}' || c == ']')
            depth--;
    }
    return 1;
}

json_t *clerk_json_parse_object(apr_pool_t *p, const char *buf, apr_size_t len,
                                const char **err)
{
    json_error_t jerr;
    json_t *j;

    if (!depth_within_limit(buf, len)) {
        *err = "JSON nested too deeply";
        return NULL;
    }
    j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j) {
        *err = apr_pstrcat(p, "invalid JSON: ", jerr.text, NULL);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        *err = "JSON is not an object";
        return NULL;
    }
    clerk_json_pool_own(p, j);
    return j;
}

const char *clerk_json_string(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

apr_array_header_t *clerk_json_string_array(apr_pool_t *p, const json_t *a)
{
    apr_array_header_t *out;
    size_t i;
    json_t *v;

    if (!json_is_array(a) || json_array_size(a) == 0)
        return NULL;
    out = apr_array_make(p, (int)json_array_size(a), sizeof(const char *));
    json_array_foreach(a, i, v)
        if (json_is_string(v))
            APR_ARRAY_PUSH(out, const char *) = json_string_value(v);
    return out->nelts ? out : NULL;
}

int clerk_json_is_compact(const char *text, apr_size_t len)
{
    int in_string = 0;

    for (apr_size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c < 0x20 || (c == ' ' && !in_string))
            return 0;
        if (in_string && c == '\\')
            i++;                        /* the escaped character, whatever it is */
        else if (c == '"')
            in_string = !in_string;
    }
    return 1;
}

char *clerk_json_compact(apr_pool_t *p, const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    json_free_t release;
    char *copy;

    if (!s)
        return NULL;
    copy = apr_pstrdup(p, s);
    json_get_alloc_funcs(NULL, &release);   /* jansson's allocator, whichever is set */
    release(s);
    return copy;
}
