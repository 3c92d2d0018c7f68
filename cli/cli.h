/*
 * clerk-jwt: what the command files share.
 *
 * Every command works the same way: its options are a table of setters
 * (cli_parse_args), its TOKEN comes through cli_get_token, and its result is
 * built once, as a JSON document, which cli_emit either prints (--json) or
 * hands to the command's text view.  So the two outputs cannot drift apart:
 * the text shows what the JSON says (and, where it needs them, the options
 * the command was given).
 *
 * Exit status: 0 valid/ok, 1 rejected/findings, 2 usage or I/O error.
 */
#ifndef CLERK_CLI_H
#define CLERK_CLI_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "clerk_authenticate.h"
#include "clerk_claims.h"
#include "clerk_http.h"
#include "clerk_verify.h"

#define EXIT_VALID    0
#define EXIT_REJECTED 1
#define EXIT_USAGE    2

/* Clerk's default session-token lifetime: what mint issues, what lint compares with. */
#define CLI_CLERK_SESSION_TTL 60

/* Times beyond this are shown as out of range (no int64 overflow). */
#define CLI_TIME_LIMIT 253402300799LL /* 9999-12-31T23:59:59Z */

extern const char *const cli_prog;
extern const char *cli_cmd;         /* the command running, for messages */
extern int cli_json;                /* --json anywhere on the line */

/* ---- the commands (cli/main.c holds their table) ---- */

typedef int (*cli_command_fn)(apr_pool_t *p, int argc, char **argv);

int cli_decode(apr_pool_t *p, int argc, char **argv);
int cli_lint(apr_pool_t *p, int argc, char **argv);
int cli_verify(apr_pool_t *p, int argc, char **argv);
int cli_authenticate(apr_pool_t *p, int argc, char **argv);
int cli_mint(apr_pool_t *p, int argc, char **argv);
int cli_keygen(apr_pool_t *p, int argc, char **argv);

/* Each command's help after its "Usage:" line, beside the options it explains. */
extern const char cli_decode_help[], cli_lint_help[], cli_verify_help[],
    cli_authenticate_help[], cli_mint_help[], cli_keygen_help[];

/* Print the help of cmd (NULL: the tool's); EXIT_VALID. */
int cli_show_help(const char *cmd);

/* ---- messages and output (cli/output.c) ---- */

typedef enum { CLI_ERR_USAGE, CLI_ERR_IO } cli_error_kind_t;

/*
 * Report an error that ends the command: on stderr (a usage error with a
 * --help hint) and, with --json, as {"ok":false,"error":"usage"|"io",...} on
 * stdout.  Returns EXIT_USAGE.
 */
int cli_error(cli_error_kind_t kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define cli_usage_error(...) cli_error(CLI_ERR_USAGE, __VA_ARGS__)
#define cli_io_error(...)    cli_error(CLI_ERR_IO, __VA_ARGS__)

/* A note on stderr, kept off when stdout is JSON for a program. */
void cli_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A claim value for a terminal: control characters escaped. */
void cli_put_safe(FILE *f, const char *s);

/*
 * "  label        value suffix\n", the value escaped (suffix is ours, NULL
 * for none): the one row shape of the text views.
 */
void cli_put_row(const char *label, const char *value, const char *suffix);

json_t *cli_json_str_or_null(const char *s);
json_t *cli_json_str_array(const apr_array_header_t *a);

/* The strings of a JSON array joined by sep, in p. */
const char *cli_json_join(apr_pool_t *p, const json_t *array, char sep);

/* A command's text output: its result, and what it was asked (its args struct). */
typedef void (*cli_text_view)(apr_pool_t *p, const json_t *result, const void *args);

/* Print result as JSON or through text, then free it; returns rc. */
int cli_emit(apr_pool_t *p, json_t *result, cli_text_view text, const void *args, int rc);

/* ---- options (cli/options.c) ---- */

/*
 * One option: its name without "--", and the setter that stores or checks
 * its value at offset in the command's argument struct (as httpd's slot
 * setters do).  Every option takes a value except those set by
 * cli_set_flag, so a row cannot claim a value its setter ignores.  A setter
 * returns 0 or the exit status of the error it reported.
 */
typedef struct cli_optdef cli_optdef_t;
typedef int (*cli_setter)(void *args, const cli_optdef_t *opt, const char *val);
struct cli_optdef {
    const char *name;
    cli_setter set;
    size_t offset;
};

#define CLI_SLOT(args, opt, type) ((type *)(void *)((char *)(args) + (opt)->offset))

int cli_set_string(void *args, const cli_optdef_t *opt, const char *val);  /* const char * */
int cli_set_flag(void *args, const cli_optdef_t *opt, const char *val);    /* int = 1 */
int cli_set_list(void *args, const cli_optdef_t *opt, const char *val);    /* array push */
int cli_set_now(void *args, const cli_optdef_t *opt, const char *val);     /* apr_int64_t */
int cli_set_clock_skew(void *args, const cli_optdef_t *opt, const char *val); /* apr_int64_t */
int cli_set_accept(void *args, const cli_optdef_t *opt, const char *val);  /* unsigned bits */

/*
 * GNU-style long options ("--name value" or "--name=value") in any order
 * with the positional arguments, which go to pos; "--" ends options; "-" is
 * positional.  Returns 1 to go on, or 0 when the command ends here with
 * *status (help shown: EXIT_VALID; an error reported: EXIT_USAGE).
 */
int cli_parse_args(int argc, char **argv, const cli_optdef_t *defs, void *args,
                   apr_array_header_t *pos, int *status);

/* The rows of a, then those of b, as one table (in p). */
const cli_optdef_t *cli_optdefs_cat(apr_pool_t *p, const cli_optdef_t *a, const cli_optdef_t *b);

/* The one TOKEN argument of decode, lint and verify; 0 or the exit status. */
int cli_one_token_arg(const apr_array_header_t *pos, const char **arg);

/* A decimal integer in [min, max]; 1 on success. */
int cli_parse_int(const char *s, long long min, long long max, long long *out);

/* ---- input (cli/input.c) ---- */

/* A file's contents, or standard input for "-"; NULL with *err. */
char *cli_read_file(apr_pool_t *p, const char *path, apr_size_t *len, const char **err);

/* TOKEN or '-': the token text with surrounding white space removed; 0 or exit status. */
int cli_get_token(apr_pool_t *p, const char *arg, const char **tok, apr_size_t *len);

/* A JSON object given inline, as @FILE, or @- (stdin); NULL with *rc set. */
json_t *cli_get_json_object(apr_pool_t *p, const char *opt, const char *arg, int *rc);

/* ---- times (cli/times.c) ---- */

apr_int64_t cli_clock_now(void);
const char *cli_iso_utc(apr_pool_t *p, apr_int64_t t);
/* "45s", "3m 20s", "2h 5m", "400d 3h": the two largest units. */
const char *cli_span(apr_pool_t *p, apr_int64_t s);

/* A time claim: absent, an integer in range, or invalid. */
typedef struct cli_time_claim {
    int present, valid;
    apr_int64_t v;
} cli_time_claim_t;

cli_time_claim_t cli_time_claim(const json_t *payload, const char *name);

/* The phrase for time claim name (iat, nbf, exp) at v relative to now. */
const char *cli_relative_time(apr_pool_t *p, const char *name, apr_int64_t v, apr_int64_t now,
                              apr_int64_t skew);

/* ---- a token read without verifying it (cli/token_view.c) ---- */

typedef struct cli_token_view {
    apr_size_t len;
    const char *opaque;         /* type name of an opaque machine token */
    const char *error;          /* set when not a decodable JWS */
    int canonical;              /* every segment strict unpadded base64url */
    json_t *header, *payload;
    const char *alg, *kid, *typ, *cat;  /* NULL when absent or not strings */
    clerk_token_type_t type;
} cli_token_view_t;

/*
 * Read a token as decode and lint show it: leniently (padded or standard
 * base64 too, which the module refuses), to explain what it claims.
 */
void cli_view_token(apr_pool_t *p, const char *tok, apr_size_t len, cli_token_view_t *v);

/* The Clerk category (header cat) described, and its short name for --json. */
const char *cli_category_name(const char *cat);
const char *cli_category_key(const char *cat);

/* "session_token,m2m_token": the names of the CLERK_TYPE_* bits set. */
const char *cli_type_list(apr_pool_t *p, unsigned types);

/* ---- what verify and authenticate decide from (cli/verdict_inputs.c) ---- */

/*
 * Where the verification keys come from, in the module's order:
 * ClerkJWTKeyFile > ClerkJWKSFile > ClerkJWKSURL > Backend API JWKS (secret
 * key) > Frontend API JWKS (publishable key).
 */
typedef enum {
    CLI_KEYSRC_NONE, CLI_KEYSRC_PEM_FILE, CLI_KEYSRC_JWKS_FILE, CLI_KEYSRC_JWKS_URL,
    CLI_KEYSRC_BAPI, CLI_KEYSRC_FAPI,
} cli_keysrc_t;

/*
 * The key, instance and check options (the directives of the same names),
 * and what cli_verdict_prepare makes of them.  A command's argument struct
 * starts with one, so that the rows of cli_verdict_options (offsets into
 * it) and their setters serve that struct too.
 */
typedef struct cli_verdict_inputs {
    apr_pool_t *p;
    const char *pem, *jwks, *pk, *secret_key, *api_url, *remote_user_claim;
    apr_array_header_t *issuers, *azp, *aud;
    int issuer_off, allow_pending;
    apr_int64_t now, skew;
    unsigned accept;                /* 0 until --accept: then only what it names */
    /*
     * authenticate's ClerkDomain when it is a satellite (ClerkIsSatellite
     * On), else NULL: a production satellite's Frontend API is clerk.<domain>.
     */
    const char *satellite_domain;
    /* set by cli_verdict_prepare */
    clerk_publishable_key_t *instance;
    /*
     * The host whose tokens are the instance's own, as the module derives it
     * (mac_satellite_identity): clerk.<domain> for a production satellite,
     * else the publishable key's Frontend API; NULL without an instance.
     */
    const char *instance_fapi;
    clerk_verify_opts_t opts;
    const char *issuer_source;      /* "unchecked", "off", "issuer", "publishable_key" */
    cli_keysrc_t keysrc;
    const char *key_where;          /* the file or URL of the keys, or NULL */
} cli_verdict_inputs_t;

/* --pem ... --remote-user-claim, NULL-terminated. */
extern const cli_optdef_t cli_verdict_options[];

/* Their help, the same in every command that takes them. */
#define CLI_VERDICT_OPTIONS_HELP \
"Key (one is required; of several, the first in this list is used, in the\n" \
"module's order of ClerkJWTKeyFile, ClerkJWKSFile, ClerkJWKSURL, ClerkSecretKey\n" \
"and ClerkPublishableKey):\n" \
"  --pem FILE                 public key PEM (SPKI) or bare base64 body, as\n" \
"                             ClerkJWTKeyFile; the token's kid is not used\n" \
"  --jwks FILE                key set {\"keys\":[...]}, as ClerkJWKSFile; the key\n" \
"                             is chosen by kid\n" \
"  --jwks URL                 key set fetched over https (plain http only to\n" \
"                             loopback hosts), as ClerkJWKSURL\n" \
"  --secret-key SK            the Backend API's JWKS, fetched with the secret key,\n" \
"                             as ClerkSecretKey; also verifies opaque machine\n" \
"                             tokens (mt_, oat_, ak_) through the Backend API\n" \
"  --api-url URL              Backend API base URL (default " CLERK_DEFAULT_API_URL ")\n" \
"  --publishable-key PK       alone: the Frontend API's JWKS of that instance\n" \
"Instance and checks (as the directives of the same name):\n" \
"  --publishable-key PK       pk_test_/pk_live_: the expected issuer is\n" \
"                             https://<Frontend API host> unless --issuer is given\n" \
"  --issuer ISS               accepted iss, exact match; repeatable; 'off' disables\n" \
"                             the check (ClerkIssuer)\n" \
"  --authorized-party ORIGIN  azp allow-list; repeatable (ClerkAuthorizedParties)\n" \
"  --audience AUD             aud must contain one; repeatable (ClerkAudience)\n" \
"  --clock-skew S             leeway for exp/nbf/iat, 0 to " \
APR_STRINGIFY(CLERK_MAX_CLOCK_SKEW) " s (default " APR_STRINGIFY(CLERK_DEFAULT_CLOCK_SKEW) ")\n" \
"  --accept TYPE              accepted token type; repeatable: session_token\n" \
"                             (default), m2m_token, oauth_token, api_key, any\n" \
"  --allow-pending            count sts \"pending\" sessions as signed in\n" \
"                             (ClerkAllowPendingSessions On)\n" \
"  --remote-user-claim CLAIM  claim shown as REMOTE_USER (default sub;\n" \
"                             ClerkRemoteUserClaim)\n" \
"  --now T                    verify at this time: Unix seconds (fraction ignored)\n" \
"                             or YYYY-MM-DDTHH:MM:SSZ (default: the clock)\n"

/* The defaults, before the options are parsed. */
void cli_verdict_inputs_init(apr_pool_t *p, cli_verdict_inputs_t *in);

/* After parsing: the checks across options, the options, the key source; 0 or exit status. */
int cli_verdict_prepare(cli_verdict_inputs_t *in);

/*
 * The section's settings as the module builds them from these directives
 * (token source both, ClerkSignedOutAction deny, the Frontend API of
 * instance_fapi); the caller sets the rest.
 */
void cli_verdict_settings(const cli_verdict_inputs_t *in, clerk_auth_settings_t *s);

/* {"key_source", "key_file", "issuer_source", ..., "now"}: what was decided with. */
json_t *cli_verdict_options_json(const cli_verdict_inputs_t *in);

/* The key, issuer, accept and now rows of that object, for the text views. */
void cli_put_verdict_options(apr_pool_t *p, const json_t *options);

/* "env" {REMOTE_USER, AUTH_TYPE, CLERK_*} and "headers" {X-Clerk-*} (null when no user). */
void cli_add_variables(apr_pool_t *p, json_t *j, const char *remote_user,
                       const clerk_claims_t *claims);

/* The "env" object as the module's variables, after a blank line (nothing when null). */
void cli_put_variables(const json_t *env);

/* ---- answering the core's questions (cli/verdict_ops.c) ---- */

/*
 * The caller's side of clerk_authenticate_request (clerk_auth_ops_t) for a
 * command: the keys are loaded at their first need (an opaque token needs
 * none), once; the Backend API is called with the options' secret.
 */
typedef struct cli_asked {
    cli_verdict_inputs_t *in;
    const char *machine_secret;     /* ClerkMachineSecretKey, or NULL */
    const char *request_origin;     /* the origin of the request's URL (a refresh sends it) */
    /*
     * verify: an unreachable key set or Backend API is an I/O error (status
     * 2); authenticate: CLERK_STEP_UNAVAILABLE, the module's 503.
     */
    int outage_is_error;
    clerk_keyset_t *keys;
    clerk_http_t *http;
    int checked;                    /* a token was verified: res is the last result */
    clerk_verify_result_t res;
    const char *outage;             /* why the last step was UNAVAILABLE */
    int rc;                         /* the exit status of an error reported meanwhile */
} cli_asked_t;

/* a for in, and the ops that answer through it. */
void cli_asked_init(cli_asked_t *a, cli_verdict_inputs_t *in, clerk_auth_ops_t *ops);

/* ---- authenticate's answer (cli/auth_answer.c) ---- */

/*
 * The HTTP status the module answers out with (apply_outcome() in
 * src/httpd/authn.c): a signed-in, signed-out or anonymous outcome with a
 * location is a 307; only a 200 lets the request through.
 */
int cli_auth_status(const clerk_auth_outcome_t *out);

/*
 * The outcome as the module answers it: state, status, reasons, headers
 * (token values by their length), the variables of a request let through,
 * and the command's request and options objects (taken over).
 */
json_t *cli_auth_answer_json(apr_pool_t *p, const cli_asked_t *asked,
                             const clerk_auth_outcome_t *out, json_t *request, json_t *options);

/* Its text view (a cli_text_view). */
void cli_put_auth_answer(apr_pool_t *p, const json_t *answer, const void *args);

#endif
