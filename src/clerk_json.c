#include "clerk_json.h"

#include <apr_strings.h>
#include <stdlib.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

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
 * One pass over the text before jansson sees it: whether its nesting stays
 * within CLERK_JSON_MAX_DEPTH (jansson recurses once per level up to 2048;
 * deep input is refused before it gets there; brackets inside strings do not
 * count), and whether it is compact (clerk_json_is_compact).  Strings are
 * most of a token's bytes: their bodies are skipped 16 bytes at a time.
 */
static apr_size_t string_run_end(const unsigned char *u, apr_size_t i, apr_size_t len)
{
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'),
                  control = _mm_set1_epi8(0x1f);

    for (; i + 16 <= len; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(u + i));
        __m128i stop = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote),
                                                 _mm_cmpeq_epi8(x, backslash)),
                                    _mm_cmpeq_epi8(_mm_min_epu8(x, control), x));
        unsigned m = (unsigned)_mm_movemask_epi8(stop);
        if (m)
            return i + (apr_size_t)__builtin_ctz(m);
    }
#endif
    for (; i < len && u[i] != '"' && u[i] != '\\' && u[i] >= 0x20; i++)
        ;
    return i;
}

/* The deepest nesting reached. */
static int scan(const char *buf, apr_size_t len, int *compact)
{
    const unsigned char *u = (const unsigned char *)buf;
    int depth = 0, deepest = 0;

    *compact = 1;
    for (apr_size_t i = 0; i < len; i++) {
        unsigned char c = u[i];
        if (c == '"') {
            /* to the closing quote; an escaped byte, whatever it is, is skipped */
            for (i++; (i = string_run_end(u, i, len)) < len && u[i] != '"'; i++) {
                if (u[i] == '\\')
                    i++;
                else
                    *compact = 0;       /* a raw control byte */
            }
        }
        else if (c <= ' ')
            *compact = 0;
        else if (c == '{' || c == '[') {
            if (++depth > deepest)
                deepest = depth;
        }
        else if (c == '}' || c == ']')
            depth--;
    }
    return deepest;
}

json_t *clerk_json_parse_object_compact(apr_pool_t *p, const char *buf, apr_size_t len,
                                        int *compact, const char **err)
{
    json_error_t jerr;
    json_t *j;

    if (scan(buf, len, compact) > CLERK_JSON_MAX_DEPTH) {
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

json_t *clerk_json_parse_object(apr_pool_t *p, const char *buf, apr_size_t len,
                                const char **err)
{
    int compact;
    return clerk_json_parse_object_compact(p, buf, len, &compact, err);
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
    int compact;
    (void)scan(text, len, &compact);
    return compact;
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
