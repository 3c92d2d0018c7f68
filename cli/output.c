/*
 * clerk-jwt messages and output: errors on stderr (and as a JSON object on
 * stdout with --json, so that a program parsing stdout always gets JSON),
 * and the one place a command's result is printed.
 */
#include <apr_strings.h>

#include <stdarg.h>
#include <stdio.h>

#include "cli.h"

const char *cli_cmd = NULL;
int cli_json = 0;

static void print_json(json_t *j)
{
    json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
}

int cli_error(cli_error_kind_t kind, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (cli_cmd)
        fprintf(stderr, "%s %s: %s\n", cli_prog, cli_cmd, msg);
    else
        fprintf(stderr, "%s: %s\n", cli_prog, msg);
    if (kind == CLI_ERR_USAGE)
        fprintf(stderr, "Try '%s%s%s --help'.\n", cli_prog, cli_cmd ? " " : "",
                cli_cmd ? cli_cmd : "");
    if (cli_json) {
        json_t *j = json_object();
        json_object_set_new(j, "ok", json_false());
        if (cli_cmd)
            json_object_set_new(j, "command", json_string(cli_cmd));
        json_object_set_new(j, "error", json_string(kind == CLI_ERR_USAGE ? "usage" : "io"));
        json_object_set_new(j, "message", json_string(msg));
        print_json(j);
        json_decref(j);
    }
    return EXIT_USAGE;
}

void cli_note(const char *fmt, ...)
{
    va_list ap;

    if (cli_json)
        return;
    fprintf(stderr, "%s %s: note: ", cli_prog, cli_cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void cli_put_safe(FILE *f, const char *s)
{
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '\n')
            fputs("\\n", f);
        else if (*c == '\t')
            fputs("\\t", f);
        else if (*c < 0x20 || *c == 0x7f)
            fprintf(f, "\\x%02x", *c);
        else
            fputc(*c, f);
    }
}

void cli_put_row(const char *label, const char *value, const char *suffix)
{
    printf("  %-12s ", label);
    cli_put_safe(stdout, value);
    printf("%s\n", suffix ? suffix : "");
}

json_t *cli_json_str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *cli_json_str_array(const apr_array_header_t *a)
{
    json_t *j = json_array();
    for (int i = 0; a && i < a->nelts; i++)
        json_array_append_new(j, json_string(APR_ARRAY_IDX(a, i, const char *)));
    return j;
}

const char *cli_json_join(apr_pool_t *p, const json_t *array, char sep)
{
    apr_array_header_t *a = apr_array_make(p, 4, sizeof(const char *));
    size_t i;
    const json_t *v;

    json_array_foreach(array, i, v)
        APR_ARRAY_PUSH(a, const char *) = json_string_value(v);
    return apr_array_pstrcat(p, a, sep);
}

int cli_emit(apr_pool_t *p, json_t *result, cli_text_view text, const void *args, int rc)
{
    if (cli_json)
        print_json(result);
    else
        text(p, result, args);
    json_decref(result);
    return rc;
}
