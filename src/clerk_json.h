/*
 * JSON parsing for untrusted input: jansson with duplicate keys rejected, NUL
 * inside strings rejected, invalid UTF-8 rejected, a nesting limit far below
 * jansson's own, and the top level required to be an object.  Parsed values
 * are tied to an APR pool so they are released with it.
 */
#ifndef CLERK_JSON_H
#define CLERK_JSON_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>

#define CLERK_JSON_MAX_DEPTH 16

/*
 * Parse len bytes as a JSON object.  Returns the object (its reference is
 * owned by pool p and dropped when p is cleared) or NULL with *err set to a
 * short description.
 */
json_t *clerk_json_parse_object(apr_pool_t *p, const char *buf, apr_size_t len,
                                const char **err);

/* The same, and *compact set to clerk_json_is_compact(buf, len): one pass over the text. */
json_t *clerk_json_parse_object_compact(apr_pool_t *p, const char *buf, apr_size_t len,
                                        int *compact, const char **err);

/* Hand a reference to pool p: json_decref(j) runs when p is cleared. */
void clerk_json_pool_own(apr_pool_t *p, json_t *j);

/* o[key] if it is a string, else NULL. */
const char *clerk_json_string(const json_t *o, const char *key);

/* The strings of a JSON array as const char * (other elements skipped); NULL when none. */
apr_array_header_t *clerk_json_string_array(apr_pool_t *p, const json_t *a);

/* Compact serialisation into p (keys in the order they were parsed). */
char *clerk_json_compact(apr_pool_t *p, const json_t *j);

/*
 * Whether text, which jansson accepted as JSON, is already compact: no
 * whitespace between tokens and no control bytes at all (so it is also a
 * C string of exactly len bytes).  Such text can be handed out as it came,
 * instead of serialising the parsed value again.
 */
int clerk_json_is_compact(const char *text, apr_size_t len);

#endif
