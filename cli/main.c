/*
 * clerk-jwt: decode, lint, verify, authenticate, mint and keygen for Clerk
 * JWTs, built on the httpd-free core of mod_auth_clerk.
 *
 *   verify  is the module's decision for a token, and authenticate for a
 *           whole request (URL, headers, cookies, ClerkSignedOutAction):
 *           both decide through clerk_authenticate_request() with settings
 *           built as the module builds them; the variables shown on
 *           success are clerk_export_vars().
 *   decode  and lint never verify anything.  They read what a token claims,
 *           so they also accept what the module refuses (HS256, alg none,
 *           padded base64) in order to show and explain it.
 *   mint    and keygen make development keys and tokens (clerk_jws_sign()).
 *
 * Secrets are never printed: no private key material, no secret key; tokens
 * only by mint.
 *
 * This file holds the command table; the tool's help, the dispatch and the
 * "unknown command" error are all read from it, so a command added there
 * appears in all three.
 */
#include <apr_general.h>
#include <apr_strings.h>

#include <string.h>

#include "cli.h"

static int cli_help(apr_pool_t *p, int argc, char **argv);

typedef struct cli_command {
    const char *name;
    const char *operands;       /* shown in the tool's command list */
    const char *synopsis;       /* after "Usage: clerk-jwt NAME " in its help */
    const char *summary;        /* one line in the tool's command list */
    const char *help;           /* the rest of its help */
    cli_command_fn run;
} cli_command_t;

static const cli_command_t commands[] = {
    {"decode", "TOKEN", "[OPTIONS] TOKEN",
     "show header, claims, times, organization and token type", cli_decode_help, cli_decode},
    {"lint", "TOKEN", "[OPTIONS] TOKEN",
     "report risky or unusual properties (does not check the signature)", cli_lint_help,
     cli_lint},
    {"verify", "TOKEN", "[OPTIONS] TOKEN",
     "verify as mod_auth_clerk does; show the variables it would set", cli_verify_help,
     cli_verify},
    {"authenticate", "", "--url URL [OPTIONS]",
     "decide a request as mod_auth_clerk does: status, headers, variables",
     cli_authenticate_help, cli_authenticate},
    {"mint", "", "--key PRIVATE.pem [OPTIONS]",
     "sign a Clerk-style session token with a private key (dev/test)", cli_mint_help, cli_mint},
    {"keygen", "", "--out DIR [OPTIONS]", "create a development RSA key pair and JWKS",
     cli_keygen_help, cli_keygen},
    {"help", "[COMMAND]", "[COMMAND]", "show this text or a command's help",
     "\nShow the tool's help, or COMMAND's (as 'clerk-jwt COMMAND --help').\n", cli_help},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

const char *const cli_prog = "clerk-jwt";

static const cli_command_t *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(commands[i].name, name))
            return &commands[i];
    return NULL;
}

static void print_tool_help(FILE *f)
{
    fputs("Usage: clerk-jwt [--json] COMMAND [OPTIONS] [ARGS]\n"
          "\n"
          "Inspect, check, verify and mint Clerk JWTs with the verification core of\n"
          "mod_auth_clerk: 'verify' gives exactly the module's decision and reason for\n"
          "a token, 'authenticate' its answer to a whole request.\n"
          "\n"
          "Commands:\n", f);
    for (size_t i = 0; i < N_COMMANDS; i++) {
        const cli_command_t *c = &commands[i];
        char head[32];
        snprintf(head, sizeof(head), "%s%s%s", c->name, *c->operands ? " " : "", c->operands);
        fprintf(f, "  %-14s %s\n", head, c->summary);
    }
    fputs("\n"
          "TOKEN may be '-' to read it from standard input (surrounding white space is\n"
          "ignored).\n"
          "\n"
          "Options of every command:\n"
          "  --json         machine-readable JSON on standard output\n"
          "  -h, --help     help for the command\n"
          "\n"
          "Exit status: 0 valid/ok, 1 rejected or findings, 2 usage or I/O error.\n", f);
}

int cli_show_help(const char *cmd)
{
    const cli_command_t *c = cmd ? find_command(cmd) : NULL;

    if (c)
        printf("Usage: %s %s %s\n%s", cli_prog, c->name, c->synopsis, c->help);
    else
        print_tool_help(stdout);
    return EXIT_VALID;
}

/* "decode, lint, verify, authenticate, ...": for the unknown-command errors. */
static const char *command_names(apr_pool_t *p)
{
    const char *names = commands[0].name;
    for (size_t i = 1; i < N_COMMANDS; i++)
        names = apr_pstrcat(p, names, ", ", commands[i].name, NULL);
    return names;
}

static int cli_help(apr_pool_t *p, int argc, char **argv)
{
    const char *what = argc ? argv[0] : NULL;

    if (what && (!strcmp(what, "-h") || !strcmp(what, "--help")))
        return cli_show_help("help");
    if (what && !find_command(what))
        return cli_usage_error("no help for unknown command '%s' (%s)", what,
                               command_names(p));
    return cli_show_help(what);
}

int main(int argc, char **argv)
{
    const cli_command_t *cmd = NULL;
    apr_pool_t *p;
    int cmd_at = 0, rc;

    /* --json is global: honour it wherever it appears (before "--"). */
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--json"))
            cli_json = 1;
    for (cmd_at = 1; cmd_at < argc && !strcmp(argv[cmd_at], "--json"); cmd_at++)
        ;
    if (cmd_at == argc) {
        print_tool_help(stderr);
        return cli_usage_error("missing COMMAND");
    }
    if (!strcmp(argv[cmd_at], "-h") || !strcmp(argv[cmd_at], "--help"))
        return cli_show_help(NULL);
    if (argv[cmd_at][0] == '-')
        return cli_usage_error("unknown option '%s' before the command", argv[cmd_at]);

    if (apr_initialize() != APR_SUCCESS || apr_pool_create(&p, NULL) != APR_SUCCESS) {
        fprintf(stderr, "%s: cannot initialise APR\n", cli_prog);
        return EXIT_USAGE;
    }
    if (!(cmd = find_command(argv[cmd_at])))
        rc = cli_usage_error("unknown command '%s' (%s)", argv[cmd_at],
                             command_names(p));
    else {
        /* help speaks for the tool; the others name themselves in messages */
        cli_cmd = cmd->run == cli_help ? NULL : cmd->name;
        rc = cmd->run(p, argc - cmd_at - 1, argv + cmd_at + 1);
    }
    fflush(stdout);
    apr_pool_destroy(p);
    apr_terminate();
    if (ferror(stdout)) {
        fprintf(stderr, "%s: error writing standard output\n", cli_prog);
        return EXIT_USAGE;
    }
    return rc;
}
