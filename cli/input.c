/* clerk-jwt input: tokens and documents from arguments, files or stdin, bounded. */
#include <apr_strings.h>

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clerk_json.h"

/* Largest token or option document read from stdin or a file. */
#define CLI_MAX_INPUT (1u << 20)

/* Read at most CLI_MAX_INPUT bytes of a stream; NULL when larger or unreadable. */
static char *read_stream(apr_pool_t *p, FILE *f, apr_size_t *len, const char **err)
{
    apr_size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1), *out;

    if (!buf) {
        *err = "out of memory";
        return NULL;
    }
    for (;;) {
        size_t got;
        if (n == cap) {
            char *nb;
            if (cap >= CLI_MAX_INPUT) {
                free(buf);
                *err = "input is larger than 1 MiB";
                return NULL;
            }
            cap *= 2;
            if (!(nb = realloc(buf, cap + 1))) {
                free(buf);
                *err = "out of memory";
                return NULL;
            }
            buf = nb;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                free(buf);
                *err = strerror(errno);
                return NULL;
            }
            break;
        }
    }
    if (n > CLI_MAX_INPUT) {
        free(buf);
        *err = "input is larger than 1 MiB";
        return NULL;
    }
    out = apr_pstrmemdup(p, buf, n);
    free(buf);
    *len = n;
    return out;
}

char *cli_read_file(apr_pool_t *p, const char *path, apr_size_t *len, const char **err)
{
    FILE *f;
    char *buf;

    if (!strcmp(path, "-"))
        return read_stream(p, stdin, len, err);
    if (!(f = fopen(path, "rb"))) {
        *err = apr_psprintf(p, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    buf = read_stream(p, f, len, err);
    fclose(f);
    if (!buf)
        *err = apr_psprintf(p, "%s: %s", path, *err);
    return buf;
}

int cli_get_token(apr_pool_t *p, const char *arg, const char **tok, apr_size_t *len)
{
    const char *s, *err;
    apr_size_t n;

    if (!strcmp(arg, "-")) {
        if (!(s = read_stream(p, stdin, &n, &err)))
            return cli_io_error("reading the token from standard input: %s", err);
    }
    else {
        s = arg;
        n = strlen(arg);
    }
    while (n && isspace((unsigned char)*s))
        s++, n--;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n == 0)
        return cli_usage_error("the token is empty");
    *tok = apr_pstrmemdup(p, s, n);
    *len = n;
    return 0;
}

json_t *cli_get_json_object(apr_pool_t *p, const char *opt, const char *arg, int *rc)
{
    const char *text = arg, *err;
    apr_size_t len = strlen(arg);
    json_t *j;

    if (arg[0] == '@') {
        if (!(text = cli_read_file(p, arg + 1, &len, &err))) {
            *rc = cli_io_error("%s: %s", opt, err);
            return NULL;
        }
    }
    if (!(j = clerk_json_parse_object(p, text, len, &err))) {
        *rc = cli_usage_error("%s: not a JSON object (%s)", opt, err);
        return NULL;
    }
    return j;
}
