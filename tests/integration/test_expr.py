"""The ap_expr functions clerk_claim('dotted.path') and clerk_has('<kind>:<value>')
(README: "Expressions") in each directive that takes an expression: <If> and
SetEnvIfExpr (evaluated before check_authn: the functions decide themselves,
once per request, and check_authn re-uses that verification), Require expr
(alone: before check_authn as well), Header (after it) and RewriteCond expr
(per-directory: in fixups, after it).  Bad arguments fail configtest.

A server of its own per MPM (the Locations below)."""
import uuid

import pytest

import clerk_tokens as T
from helpers import assert_invalid, describe
from locations import INS_PEM, REALM, cgi_directory
from server_fixtures import client_of, running_httpd

VERIFIED = "CLERK091"           # a token verified with the keys (trace1)
REUSED = "CLERK090"             # a verification re-used (trace1)
EARLY = "CLERK093"              # an expression decided before check_authn (debug)
CACHE_HIT = "verified token found in the cache"


def clerk(h, path, *lines, alias=True):
    body = ["<Location %s>" % path, "    AuthType Clerk", '    AuthName "%s"' % REALM,
            '    ClerkJWTKeyFile "%s/%s"' % (h.keys, INS_PEM), "    ClerkIssuer " + T.ISSUER]
    body += ["    " + l for l in lines]
    body.append("</Location>")
    text = "\n".join(body)
    if alias:
        text = 'Alias "%s" "%s/cgi/printenv.py"\n' % (path, h.docroot) + text
    return text


IF_ADMIN = ['<If "clerk_has(\'role:org:admin\') == \'true\'">', "    SetEnv EXPR_IF admin",
            "</If>", "<Else>", "    SetEnv EXPR_IF other", "</Else>"]
HEADERS = ['Header always set X-Sub "expr=%{clerk_claim:sub}"',
           'Header always set X-Org "expr=%{clerk_claim:org_id}"',
           'Header always set X-Org2 "expr=%{clerk_claim:o.id}"',
           'Header always set X-O "expr=%{clerk_claim:o}"',
           'Header always set X-Admin yes "expr=clerk_has(\'role:admin\') == \'true\'"',
           'Header always set X-Reader yes "expr=-n clerk_has(\'permission:org:teams:read\')"']
SETENV = ["SetEnvIfExpr \"clerk_has('feature:dashboard') == 'true'\" EXPR_FEATURE=1",
          "SetEnvIfExpr \"clerk_has('plan:u:free') == 'true'\" EXPR_PLAN=1",
          "SetEnvIfExpr \"clerk_claim('sid') != ''\" EXPR_SID=1"]
REWRITE = ["RewriteEngine On",
           "RewriteCond expr \"clerk_has('permission:org:teams:manage') == 'true'\"",
           "RewriteRule ^ - [E=EXPR_RW:manage]"]


def expr_config(h):
    doc = h.docroot
    h.install_www("cgi/printenv.py", "printenv.py")
    return "\n".join([
        # trace1: the verifications counted below
        "LogLevel notice auth_clerk:trace1",
        cgi_directory(doc),
        # every directive in one section, authentication required
        clerk(h, "/all", "Require valid-user", *(IF_ADMIN + HEADERS + SETENV + REWRITE)),
        # the same, signed-out requests let through
        clerk(h, "/pass", "ClerkSignedOutAction pass", "Require valid-user",
              *(IF_ADMIN + HEADERS + SETENV + REWRITE)),
        # a lone Require expr: decided before check_authn, which then never runs
        clerk(h, "/rexpr", 'Require expr "clerk_claim(\'sub\') == \'%s\'"' % T.USER),
        # with a user required too: check_authn runs, after the expression
        clerk(h, "/rall", "<RequireAll>", "    Require valid-user",
              "    Require expr \"clerk_has('permission:org:teams:manage') == 'true'\"",
              "</RequireAll>"),
        # an <If> that changes the section's settings: check_authn decides under
        # the merged ones, and must not take the expression's verdict for them
        clerk(h, "/reconf", "Require valid-user", "<If \"-n clerk_claim('sub')\">",
              "    ClerkIssuer https://elsewhere.example", "</If>"),
        # not a Clerk section: the functions see no one
        'Alias "/plain" "%s/cgi/printenv.py"' % doc,
        "<Location /plain>", "    Require all granted", *("    " + l for l in HEADERS + SETENV),
        "</Location>",
    ]) + "\n"


@pytest.fixture(scope="module")
def xserver(mpm):
    yield from running_httpd(mpm, expr_config, name="expr")


@pytest.fixture(scope="module")
def xclient(xserver):
    yield from client_of(xserver)


def fresh(claims=None, **over):
    """A token no other request sent (not in the token cache)."""
    return T.mint(claims, jti="expr-" + uuid.uuid4().hex, **over)


def fresh_v2(**over):
    return T.mint(T.v2_claims(jti="expr-" + uuid.uuid4().hex, **over))


def env_and_headers(c, path, **kw):
    r = c.get(path, **kw)
    assert r.status_code == 200, describe(r)
    return r.json(), r.headers


# ---------------------------------------------------------------- signed in

def test_v1_claims_in_every_directive(xclient):
    env, hdr = env_and_headers(xclient, "/all", token=fresh(T.v1_org_claims()))
    assert env["REMOTE_USER"] == T.USER
    assert env["EXPR_IF"] == "admin"                    # <If>, before check_authn
    assert env["EXPR_SID"] == "1"                       # SetEnvIfExpr, before it
    assert "EXPR_FEATURE" not in env and "EXPR_PLAN" not in env     # no v2 fea/pla
    assert env["EXPR_RW"] == "manage"                   # RewriteCond, after it
    assert hdr["X-Sub"] == T.USER and hdr["X-Org"] == "org_1"       # Header, after it
    assert hdr["X-Admin"] == "yes" and hdr["X-Reader"] == "yes"
    assert hdr.get("X-Org2", "") == "" and hdr.get("X-O", "") == ""


def test_v2_claims_in_every_directive(xclient):
    env, hdr = env_and_headers(xclient, "/all", token=fresh_v2())
    assert env["EXPR_IF"] == "admin"
    assert env["EXPR_FEATURE"] == "1" and env["EXPR_PLAN"] == "1"
    # v2 permissions: dashboard:manage, dashboard:read, teams:read (fpm 3,2)
    assert "EXPR_RW" not in env
    assert hdr["X-Reader"] == "yes" and hdr["X-Admin"] == "yes"
    # clerk_claim reads the payload as issued (as Require clerk-claim does)
    assert hdr.get("X-Org", "") == "" and hdr["X-Org2"] == "org_1"
    assert hdr["X-O"].startswith('{"id":"org_1"')


def test_cookie_token(xclient):
    env, hdr = env_and_headers(xclient, "/all", session=fresh(T.v1_org_claims()))
    assert env["EXPR_IF"] == "admin" and hdr["X-Sub"] == T.USER


def test_not_admin(xclient):
    env, hdr = env_and_headers(xclient, "/all",
                               token=fresh(T.v1_org_claims(org_role="org:member",
                                                           org_permissions=["org:teams:read"])))
    assert env["EXPR_IF"] == "other" and "EXPR_RW" not in env
    assert "X-Admin" not in hdr and hdr["X-Reader"] == "yes"


def test_no_token_text_in_headers(xclient):
    tok = fresh_v2()
    r = xclient.get("/all", token=tok)
    assert r.status_code == 200, describe(r)
    text = "\n".join("%s: %s" % kv for kv in r.headers.items())
    for part in tok.split("."):
        assert part not in text


def test_control_characters_are_not_a_header(xclient):
    r = xclient.get("/all", token=fresh(T.v1_org_claims(org_id="org_1\r\nX-Evil: 1")))
    assert r.status_code == 200, describe(r)
    assert "X-Evil" not in r.headers and r.headers.get("X-Org", "") == ""


# ---------------------------------------------------------------- signed out

def test_signed_out_sees_nothing(xclient):
    env, hdr = env_and_headers(xclient, "/pass")
    assert env["EXPR_IF"] == "other"
    assert not any(k in env for k in ("EXPR_FEATURE", "EXPR_PLAN", "EXPR_SID", "EXPR_RW"))
    assert hdr.get("X-Sub", "") == "" and "X-Admin" not in hdr and "X-Reader" not in hdr


@pytest.mark.parametrize("token", [
    lambda: fresh(T.v1_org_claims(), key="a"),                  # foreign key
    lambda: fresh(T.v1_org_claims(), exp=T.now() - 600),        # expired
    lambda: fresh(T.v1_org_claims(), iss="https://evil.example"),
    lambda: T.mint_v2() + "x",                                  # broken signature
], ids=["foreign-key", "expired", "issuer", "signature"])
def test_invalid_token_is_never_true(xclient, token):
    tok = token()
    env, hdr = env_and_headers(xclient, "/pass", token=tok)
    assert "REMOTE_USER" not in env or not env["REMOTE_USER"]
    assert env["EXPR_IF"] == "other"
    assert not any(k in env for k in ("EXPR_FEATURE", "EXPR_PLAN", "EXPR_SID", "EXPR_RW"))
    assert hdr.get("X-Sub", "") == "" and "X-Admin" not in hdr
    assert xclient.get("/all", token=tok).status_code == 401
    assert xclient.get("/rexpr", token=tok).status_code == 403


def test_not_a_clerk_section(xclient):
    env, hdr = env_and_headers(xclient, "/plain", token=fresh_v2())
    assert hdr.get("X-Sub", "") == "" and hdr.get("X-Org2", "") == ""
    assert not any(k in env for k in ("EXPR_FEATURE", "EXPR_PLAN", "EXPR_SID"))


# ---------------------------------------------------------------- Require expr

def test_lone_require_expr(xclient):
    env, _ = env_and_headers(xclient, "/rexpr", token=fresh())
    # granted before check_authn: httpd does not authenticate then
    assert not env.get("REMOTE_USER")
    assert xclient.get("/rexpr", token=fresh(sub="user_other")).status_code == 403
    assert xclient.get("/rexpr").status_code == 403


def test_require_expr_with_a_user(xclient):
    env, _ = env_and_headers(xclient, "/rall", token=fresh(T.v1_org_claims()))
    assert env["REMOTE_USER"] == T.USER and env["CLERK_ORG_ID"] == "org_1"
    assert xclient.get("/rall", token=fresh_v2()).status_code == 403   # v2: no teams:manage
    # the expression is false without a token: denied before check_authn
    assert xclient.get("/rall").status_code == 403


# ---------------------------------------------------------------- one verification

def verifications(log):
    return log.count(VERIFIED) + log.count(CACHE_HIT)


@pytest.mark.parametrize("path", ["/all", "/rall"])
def test_one_request_verifies_once(xserver, xclient, path):
    mark = xserver.log_mark()
    env, _ = env_and_headers(xclient, path, token=fresh(T.v1_org_claims()))
    assert env["REMOTE_USER"] == T.USER
    log = xserver.log_since(mark)
    assert log.count(EARLY) >= 1, log               # decided before check_authn
    assert verifications(log) == 1, log
    assert log.count(REUSED) >= 1, log              # check_authn took that verification


def test_other_settings_verify_anew(xserver, xclient):
    """The <If> is decided under the section's issuer; check_authn, under the
    <If>'s own, verifies again and refuses the token."""
    mark = xserver.log_mark()
    assert_invalid(xclient.get("/reconf", token=fresh()), "token-invalid-issuer")
    log = xserver.log_since(mark)
    # httpd walks the <If> twice (before and after map_to_storage): the second
    # early decision re-uses the first's verification; check_authn does not
    assert verifications(log) == 2, log
    assert log.rindex(VERIFIED) > log.rindex(REUSED), log


def test_no_crash(xserver):
    assert "Segmentation fault" not in xserver.error_log()
    assert "exit signal" not in xserver.error_log()


# ---------------------------------------------------------------- configtest

def loc(h, *lines):
    body = ["<Location /x>", "    AuthType Clerk", '    AuthName "cfg"',
            '    ClerkJWTKeyFile "%s/%s"' % (h.keys, INS_PEM)]
    body += ["    " + l for l in lines]
    body.append("</Location>")
    return "\n".join(body) + "\n"


def in_directive(arg_expr, directive):
    """The expression arg_expr (a condition) in one directive."""
    return {
        "if": ['<If "%s">' % arg_expr, "    Require all denied", "</If>", "Require valid-user"],
        "require": ['Require expr "%s"' % arg_expr],
        "header": ['Header set X-A 1 "expr=%s"' % arg_expr, "Require valid-user"],
        "setenvif": ['SetEnvIfExpr "%s" A=1' % arg_expr, "Require valid-user"],
        "rewrite": ["RewriteEngine On", 'RewriteCond expr "%s"' % arg_expr, "RewriteRule ^ -",
                    "Require valid-user"],
    }[directive]


DIRECTIVES = ["if", "require", "header", "setenvif", "rewrite"]


@pytest.mark.parametrize("directive", DIRECTIVES)
def test_good_arguments_pass_configtest(configtester, directive):
    h = configtester
    for e in ["clerk_has('permission:org:teams:manage') == 'true'",
              "clerk_has('role:admin') == 'true' && clerk_claim('o.id') == 'org_1'",
              "-n clerk_has('feature:o:dashboard') || -z clerk_has('plan:free')"]:
        rc, out = h.configtest(loc(h, *in_directive(e, directive)))
        assert rc == 0 and "Syntax OK" in out, (e, out)
    rc, out = h.configtest(loc(h, 'Header set X-S "expr=%{clerk_claim:org.id}"',
                               "Require valid-user"))
    assert rc == 0, out


@pytest.mark.parametrize("directive", DIRECTIVES)
@pytest.mark.parametrize("expr,message", [
    ("clerk_has('colour:red') == 'true'", "unknown kind 'colour'"),
    ("clerk_has('admin') == 'true'", "'<kind>:<value>'"),
    ("clerk_has('role:') == 'true'", "clerk-org-role"),
    ("clerk_has('role:org:') == 'true'", "names no role"),
    ("clerk_has('role:a b') == 'true'", "one value"),
    ("clerk_has('feature:x:y') == 'true'", "unknown scope"),
    ("clerk_has('plan:u:') == 'true'", "names no feature or plan"),
    ("clerk_claim('a..b') == 'x'", "not a claim name"),
    ("clerk_claim('.a') == 'x'", "not a claim name"),
    ("clerk_claim(%{QUERY_STRING}) == 'x'", "string literal"),
    ("clerk_has(%{HTTP_HOST}) == 'x'", "string literal"),
], ids=["kind", "no-colon", "empty-role", "org-only", "two-values", "scope", "empty-plan",
        "dots", "leading-dot", "claim-variable", "has-variable"])
def test_bad_arguments_fail_configtest(configtester, directive, expr, message):
    h = configtester
    rc, out = h.configtest(loc(h, *in_directive(expr, directive)))
    assert rc != 0 and rc != 139, out
    assert message in out, out
    assert "clerk_" in out, out
