"""Require clerk-reverification (README: "Require providers", "Reverification"):
the SDK's presets and level+minutes configurations decided from the `fva`
claim as Clerk's has({reverification}) does; a fetch that fails gets the
reverificationError JSON clerk-js acts on, a page view httpd's own answer;
CLERK_FACTOR_AGES; configtest errors for bad arguments.

A server of its own per MPM (the Locations below)."""
import json

import pytest

import clerk_tokens as T
from helpers import assert_insufficient, assert_ok, describe
from locations import INS_PEM, cgi_directory
from locations import clerk as section
from server_fixtures import module_server_fixtures

# Require arguments -> URL prefix
PRESETS = ["strict_mfa", "strict", "moderate", "lax"]
CUSTOM = {"first": "first_factor 5", "second": "second_factor 30", "multi": "multi_factor 15"}

# what a browser sends for fetch()/XHR and for a page view
FETCH = {"Sec-Fetch-Dest": "empty", "Accept": "*/*"}
PAGE = {"Sec-Fetch-Dest": "document", "Accept": "text/html,application/xhtml+xml"}


def body_for(config):
    """reverificationError(config) as JSON.stringify writes it."""
    return json.dumps({"clerk_error": {"type": "forbidden", "reason": "reverification-error",
                                       "metadata": {"reverification": config}}},
                      separators=(",", ":"))


def reverification_config(h):
    doc = h.docroot
    h.install_www("cgi/printenv.py", "printenv.py")
    h.install_www("static/hello.txt", "hello.txt")
    h.install_www("static/err403.html", "err401.html")
    h.write("htdocs/ht/.htaccess", "AuthType Clerk\nAuthName ht\nClerkJWTKey %s\n"
            "Require clerk-reverification sometimes\n" % T.pem_body(T.PUBLIC_PEM["ins"]))
    h.install_www("ht/printenv.py", "printenv.py")
    forbid = "AuthzSendForbiddenOnFailure On"
    s = [cgi_directory(doc), f"""
<Directory "{doc}/ht">
    AllowOverride AuthConfig
</Directory>
AliasMatch "^/r/(.+)/env$" "{doc}/cgi/printenv.py"
AliasMatch "^/r/(.+)/static\\.txt$" "{doc}/static/hello.txt"
"""]
    for p in PRESETS:
        s.append(section(h, "/r/%s" % p, forbid, "Require clerk-reverification " + p))
    for name, args in CUSTOM.items():
        s.append(section(h, "/r/%s" % name, forbid, "Require clerk-reverification " + args))
    # without AuthzSendForbiddenOnFailure: httpd's 401 for every failed Require, same body
    s.append(section(h, "/r/plain", "Require clerk-reverification strict"))
    s.append(section(h, "/r/quoted", forbid, 'Require clerk-reverification "second_factor" "10"'))
    # an ErrorDocument for 403: page views get it, fetches the JSON
    s.append(section(h, "/r/errdoc", forbid, "Require clerk-reverification strict",
                     "ErrorDocument 403 /static/err403.html"))
    # granted by another line: no body is left for a later 403 of the request
    s.append(section(h, "/r/any", forbid, "<RequireAny>",
                     "    Require clerk-reverification strict",
                     "    Require clerk-user user_vip", "</RequireAny>"))
    s.append("""<Location /r/any/forbidden>
    RewriteEngine On
    RewriteRule .* - [F]
</Location>""")
    # both must hold: a reverification and a role
    s.append(section(h, "/r/all", forbid, "<RequireAll>",
                     "    Require clerk-reverification strict",
                     "    Require clerk-org-role admin", "</RequireAll>"))
    s.append(section(h, "/r/machine", forbid, "ClerkAcceptToken any",
                     "Require clerk-reverification lax"))
    s.append(section(h, "/r/pass", forbid, "ClerkSignedOutAction pass",
                     "Require clerk-reverification lax"))
    s.append(section(h, "/r/open", "Require valid-user"))
    s.append(section(h, "/r/hdr", "ClerkPassClaimsAs headers", "Require valid-user"))
    return "\n".join(s) + "\n"


rserver, rclient = module_server_fixtures(reverification_config, "rserver", "rclient", name="reverification")


def fva(first, second, **over):
    return T.mint(fva=[first, second], **over)


def get(c, url, tok, how=FETCH, **kw):
    return c.get(url, token=tok, headers=how, **kw)


def assert_reverification(r, config, status=403):
    """The body clerk-js recognises (isReverificationHint) and its type."""
    assert r.status_code == status, describe(r)
    assert r.headers["Content-Type"] == "application/json", describe(r)
    assert r.text == body_for(config), describe(r)
    assert r.json()["clerk_error"]["metadata"]["reverification"] == config


def assert_plain_403(r):
    assert r.status_code == 403, describe(r)
    assert r.headers["Content-Type"].startswith("text/html"), describe(r)
    assert "clerk_error" not in r.text, describe(r)


# ---------------------------------------------------------------- decisions

# (config URL, fva, granted): boundaries at exactly N minutes, -1 = never verified
CASES = [
    # strict_mfa: 10 minutes, both factors (or the first alone without a second)
    ("strict_mfa", (0, 0), True), ("strict_mfa", (9, 9), True), ("strict_mfa", (10, 9), False),
    ("strict_mfa", (9, 10), False), ("strict_mfa", (9, -1), True), ("strict_mfa", (10, -1), False),
    ("strict_mfa", (-1, 0), False), ("strict_mfa", (-1, -1), False),
    # strict: 10 minutes, the second factor (the first without a second)
    ("strict", (1000, 9), True), ("strict", (0, 10), False), ("strict", (9, -1), True),
    ("strict", (10, -1), False), ("strict", (-1, 9), True), ("strict", (-1, -1), False),
    # moderate: 60 minutes
    ("moderate", (0, 59), True), ("moderate", (0, 60), False), ("moderate", (59, -1), True),
    ("moderate", (60, -1), False),
    # lax: 1440 minutes
    ("lax", (5000, 1439), True), ("lax", (0, 1440), False), ("lax", (1439, -1), True),
    ("lax", (1440, -1), False), ("lax", (-1, -1), False),
    # first_factor 5
    ("first", (4, -1), True), ("first", (4, 1000), True), ("first", (5, -1), False),
    ("first", (-1, 0), False),
    # second_factor 30
    ("second", (100, 29), True), ("second", (0, 30), False), ("second", (29, -1), True),
    ("second", (-1, 29), True), ("second", (-1, 30), False),
    # multi_factor 15
    ("multi", (14, 14), True), ("multi", (15, 14), False), ("multi", (14, 15), False),
    ("multi", (14, -1), True), ("multi", (-1, 0), False),
]


def config_of(name):
    if name in PRESETS:
        return name
    level, minutes = CUSTOM[name].split()
    return {"level": level, "afterMinutes": int(minutes)}


@pytest.mark.parametrize("name,ages,granted", CASES,
                         ids=["%s-%d,%d" % (n, a[0], a[1]) for n, a, _ in CASES])
def test_decision(rclient, name, ages, granted):
    r = get(rclient, "/r/%s/static.txt" % name, fva(*ages))
    if granted:
        assert_ok(r)
        assert r.text == "hello from a static file\n", describe(r)
    else:
        assert_reverification(r, config_of(name))


@pytest.mark.parametrize("claim", [T.DROP, None, [], [5], [0, 0, 0], "0,0", ["0", "0"],
                                   [-0.5, 0], [-2, 0], {"0": 0}],
                         ids=["absent", "null", "empty", "one", "three", "string", "strings",
                              "fraction-below-zero", "minus-two", "object"])
def test_no_usable_fva_denies(rclient, claim):
    """The SDK fails has({reverification}) without a well-formed fva (not opted in)."""
    for name in PRESETS + list(CUSTOM):
        assert_reverification(get(rclient, "/r/%s/static.txt" % name, T.mint(fva=claim)),
                              config_of(name))


@pytest.fixture
def log(rserver):
    mark = rserver.log_mark()
    return lambda: rserver.log_since(mark)


def test_denial_is_logged_with_the_ages(rclient, log):
    get(rclient, "/r/strict/static.txt", fva(0, 10))
    get(rclient, "/r/strict/static.txt", T.mint())
    text = log()
    assert "CLERK041: Require clerk-reverification strict: denied for %s (fva 0,10), " \
           "reverification-error offered" % T.USER in text, text
    assert "(no fva claim), reverification-error offered" in text, text
    get(rclient, "/r/strict/static.txt", T.mint(fva=["0", "0"]), how=PAGE)
    assert "(fva malformed)\n" in log(), log()


def test_fractional_ages_decide_as_the_sdk(rclient):
    # 9.5 minutes is fresh for 10; JSON reals are numbers like any other for the SDK
    assert_ok(get(rclient, "/r/strict/static.txt", fva(0, 9.5)))
    assert_ok(get(rclient, "/r/strict/static.txt", fva(-1.0, 9.0)))
    assert_reverification(get(rclient, "/r/strict/static.txt", fva(0, 10.0)), "strict")


def test_quoted_arguments(rclient):
    assert_ok(get(rclient, "/r/quoted/static.txt", fva(0, 9)))
    assert_reverification(get(rclient, "/r/quoted/static.txt", fva(0, 10)),
                          {"level": "second_factor", "afterMinutes": 10})


# ---------------------------------------------------------------- fetch vs page view

def test_page_view_gets_the_normal_403(rclient):
    assert_plain_403(get(rclient, "/r/strict/static.txt", fva(0, 10), how=PAGE))
    # no Sec-Fetch-Dest, Accept text/html: a navigation too
    assert_plain_403(get(rclient, "/r/strict/static.txt", fva(0, 10),
                         how={"Accept": "text/html"}))
    assert_plain_403(get(rclient, "/r/strict/static.txt", fva(0, 10),
                         how={"Sec-Fetch-Dest": "iframe", "Accept": "*/*"}))


@pytest.mark.parametrize("how", [
    {"Sec-Fetch-Dest": "empty", "Accept": "application/json"},
    {"Accept": "application/json"},
    {},
    {"Sec-Fetch-Dest": "script", "Accept": "text/html"},
], ids=["fetch-json", "no-fetch-metadata", "bare", "script"])
def test_what_counts_as_a_fetch(rclient, how):
    assert_reverification(get(rclient, "/r/strict/static.txt", fva(0, 10), how=how), "strict")


def test_form_post_is_not_a_page_view(rclient):
    # only GET navigations are page views (clerk_handshake_eligible)
    r = rclient.request("POST", "/r/strict/env", token=fva(0, 10), headers=PAGE, data="a=1")
    assert_reverification(r, "strict")


def test_without_forbidden_on_failure_it_is_httpds_401(rclient):
    r = get(rclient, "/r/plain/static.txt", fva(0, 10))
    assert_insufficient(r)
    assert_reverification(r, "strict", status=401)
    # and a page view gets the usual 401
    r = get(rclient, "/r/plain/static.txt", fva(0, 10), how=PAGE)
    assert_insufficient(r)
    assert "clerk_error" not in r.text and r.headers["Content-Type"].startswith("text/html")


def test_fetch_body_wins_over_error_document(rclient):
    assert_reverification(get(rclient, "/r/errdoc/static.txt", fva(0, 10)), "strict")
    r = get(rclient, "/r/errdoc/static.txt", fva(0, 10), how=PAGE)
    assert r.status_code == 403 and "clerk_error" not in r.text, describe(r)
    assert "<html" in r.text.lower(), describe(r)


def test_head_request(rclient):
    r = rclient.request("HEAD", "/r/strict/static.txt", token=fva(0, 10), headers=FETCH)
    assert r.status_code == 403, describe(r)
    assert r.headers["Content-Type"] == "application/json"
    assert r.text == ""


# ---------------------------------------------------------------- combined with others

def test_granted_by_another_line_keeps_no_body(rclient):
    vip = fva(0, 10, sub="user_vip")
    assert_ok(get(rclient, "/r/any/static.txt", vip))
    # the request is let through, then the handler (mod_rewrite [F]) refuses it: httpd's 403
    assert_plain_403(get(rclient, "/r/any/forbidden", vip))
    # not the vip and stale: both lines deny
    assert_reverification(get(rclient, "/r/any/static.txt", fva(0, 10)), "strict")
    assert_ok(get(rclient, "/r/any/static.txt", fva(0, 9)))


def test_require_all_with_a_role(rclient):
    admin = dict(T.v1_org_claims(), fva=[0, 0])
    assert_ok(get(rclient, "/r/all/static.txt", T.mint(admin)))
    assert_reverification(get(rclient, "/r/all/static.txt", T.mint(dict(admin, fva=[0, 10]))),
                          "strict")
    # fresh, but not an admin: the role denies, no reverification hint
    r = get(rclient, "/r/all/static.txt", fva(0, 0))
    assert_plain_403(r)


def test_machine_tokens_have_no_factors(rclient):
    assert_plain_403(get(rclient, "/r/machine/static.txt", T.mint_m2m(fva=[0, 0])))
    assert_plain_403(get(rclient, "/r/machine/static.txt", T.mint_oauth(fva=[0, 0])))
    assert_ok(get(rclient, "/r/machine/static.txt", fva(0, 0)))


def test_anonymous_is_denied_without_a_hint(rclient):
    # ClerkSignedOutAction pass: no token, no factors, no reverification to offer
    assert_plain_403(rclient.get("/r/pass/static.txt", headers=FETCH))
    assert_ok(get(rclient, "/r/pass/static.txt", fva(0, 0)))


def test_no_token_is_401(rclient):
    r = rclient.get("/r/strict/static.txt", headers=FETCH)
    assert r.status_code == 401 and "clerk_error" not in r.text, describe(r)


# ---------------------------------------------------------------- CLERK_FACTOR_AGES

def test_factor_ages_reach_the_application(rclient):
    env = rclient.env("/r/strict/env", token=fva(5, 3))
    assert env["CLERK_FACTOR_AGES"] == "5,3"
    env = rclient.env("/r/open/env", token=fva(5, -1))
    assert env["CLERK_FACTOR_AGES"] == "5,-1"
    env = rclient.env("/r/open/env", token=fva(-1, -1))
    assert env["CLERK_FACTOR_AGES"] == "-1,-1"
    env = rclient.env("/r/open/env", token=fva(2.9, 0))
    assert env["CLERK_FACTOR_AGES"] == "2,0"


@pytest.mark.parametrize("claim", [T.DROP, None, ["5", "-1"], [5]], ids=["absent", "null",
                                                                        "strings", "one"])
def test_no_factor_ages_without_a_usable_fva(rclient, claim):
    env = rclient.env("/r/open/env", token=T.mint(fva=claim))
    assert "CLERK_FACTOR_AGES" not in env
    assert "CLERK_USER_ID" in env


def test_factor_ages_header_twin(rclient):
    env = rclient.env("/r/hdr/env", token=fva(5, -1))
    assert env["HTTP_X_CLERK_FACTOR_AGES"] == "5,-1"
    assert "CLERK_FACTOR_AGES" not in env
    # a client cannot send its own
    env = rclient.env("/r/hdr/env", token=T.mint(), headers={"X-Clerk-Factor-Ages": "0,0"})
    assert "HTTP_X_CLERK_FACTOR_AGES" not in env


# ---------------------------------------------------------------- configuration errors

def loc(h, *lines):
    return "\n".join(["<Location /x>", "    AuthType Clerk", '    AuthName "cfg"',
                      '    ClerkJWTKeyFile "%s/%s"' % (h.keys, INS_PEM)]
                     + ["    " + l for l in lines] + ["</Location>"]) + "\n"


@pytest.mark.parametrize("args,message", [
    ("", "needs a preset (strict_mfa, strict, moderate, lax) or a level"),
    ("invalid-value", "'invalid-value' is not a preset"),
    ("STRICT", "'STRICT' is not a preset"),
    ("second_factor", "the level second_factor needs its minutes"),
    ("strict 10", "'strict' is not a level"),
    ("third_factor 10", "'third_factor' is not a level"),
    ("second_factor 0", "'0' is not a number of minutes from 1 to 99998"),
    ("second_factor -5", "'-5' is not a number of minutes"),
    ("second_factor 1.5", "'1.5' is not a number of minutes"),
    ("second_factor 99999", "'99999' is not a number of minutes"),
    ("multi_factor 10 20", "takes one preset, or one level and its minutes"),
], ids=["empty", "unknown", "case", "no-minutes", "preset-with-minutes", "bad-level", "zero",
        "negative", "fraction", "too-many-minutes", "extra"])
def test_bad_arguments_fail_configtest(configtester, args, message):
    rc, out = configtester.configtest(loc(configtester, "Require clerk-reverification " + args))
    assert rc != 0 and rc != 139, out
    assert "Require clerk-reverification: " + message in out, out


def test_good_arguments_pass_configtest(configtester):
    lines = ["Require clerk-reverification " + a for a in PRESETS + list(CUSTOM.values())]
    lines += ["Require clerk-reverification first_factor 1",
              "Require clerk-reverification multi_factor 99998"]
    rc, out = configtester.configtest(loc(configtester, "<RequireAny>", *lines, "</RequireAny>"))
    assert rc == 0 and "Syntax OK" in out, out


def test_bad_arguments_in_htaccess_are_a_500(rclient, log):
    r = rclient.get("/ht/printenv.py", token=fva(0, 0))
    assert r.status_code == 500, describe(r)
    assert "Require clerk-reverification: 'sometimes' is not a preset" in log()
