"""SetHandler clerk-whoami (README: "Who am I"): the verified identity as JSON
with the fields of the CLERK_* variables (but CLERK_CLAIMS), or 401 with
Clerk's reason, both Cache-Control: no-store; a 401 of the default deny is
JSON too (check_authn answers it before any handler runs).

A server of its own per MPM (the Locations below)."""
import json

import pytest

import clerk_tokens as T
from helpers import assert_invalid, assert_no_token, challenge, clerk_vars, describe
from locations import cgi_directory, clerk
from server_fixtures import module_server_fixtures

SPOOF = {"X-Clerk-User-Id": "user_evil", "x-clerk-org-role": "org:evil",
         "X-CLERK-CLAIMS": '{"sub":"user_evil"}', "X_Clerk_Org_Id": "org_evil",
         "X-Clerk-Signed-In": "true"}


def section(h, path, *lines, handler="clerk-whoami"):
    handler_line = ["SetHandler " + handler] if handler else []
    return clerk(h, path, "ClerkIssuer " + T.ISSUER, *handler_line, *lines)


def whoami_config(h):
    doc = h.docroot
    h.install_www("cgi/printenv.py", "printenv.py")
    h.install_www("static/err401.html", "err401.html")
    return "\n".join([
        cgi_directory(doc),
        # the same section's variables, for comparison (what a CGI sees)
        'Alias "/env" "%s/cgi/printenv.py"' % doc,
        section(h, "/env", "Require valid-user", "ClerkAcceptToken any", handler=None),
        section(h, "/whoami", "Require valid-user"),
        section(h, "/pass", "ClerkSignedOutAction pass", "Require valid-user"),
        section(h, "/hdr", "ClerkPassClaimsAs headers", "Require valid-user"),
        # an ErrorDocument does not replace the JSON answer
        section(h, "/errdoc", "Require valid-user", "ErrorDocument 401 /static/err401.html"),
        section(h, "/m2m", "ClerkAcceptToken any", "Require valid-user"),
        # misconfigurations: no Clerk decision to report
        section(h, "/norequire"),
        "<Location /notclerk>\n    SetHandler clerk-whoami\n    Require all granted\n</Location>",
    ]) + "\n"


wserver, wclient = module_server_fixtures(whoami_config, "wserver", "wclient", name="whoami")


def assert_json_answer(r, status):
    assert r.status_code == status, describe(r)
    assert r.headers["Content-Type"] == "application/json", describe(r)
    assert r.headers["Cache-Control"] == "no-store", describe(r)
    return r.json() if r.text else None


def expected_from_env(env):
    """What whoami must answer for the variables a CGI of the section sees."""
    want = {"signed_in": True, "remote_user": env["REMOTE_USER"]}
    want.update({k[len("CLERK_"):].lower(): v for k, v in clerk_vars(env).items()
                 if k != "CLERK_CLAIMS"})
    return want


def assert_same_as_variables(c, tok, path="/whoami", **kw):
    got = assert_json_answer(c.get(path, token=tok, **kw), 200)
    assert got == expected_from_env(c.env("/env", token=tok)), got
    return got


# ---------------------------------------------------------------- signed in

def test_bearer_session_token(wclient):
    tok = T.mint()
    got = assert_same_as_variables(wclient, tok)
    c = T.session_claims()
    assert got == {"signed_in": True, "remote_user": T.USER, "token_type": "session_token",
                   "user_id": T.USER, "session_id": T.SESSION, "azp": T.AZP, "issuer": T.ISSUER,
                   "expires_at": got["expires_at"], "issued_at": got["issued_at"]}
    assert abs(int(got["expires_at"]) - c["exp"]) < 30


def test_cookie_session_token(wclient):
    tok = T.mint(sts="active")
    r = wclient.get("/whoami", session=tok)
    got = assert_json_answer(r, 200)
    assert got["user_id"] == T.USER and got["session_status"] == "active"
    assert got == expected_from_env(wclient.env("/env", session=tok))


def test_no_token_or_claims_payload_in_the_answer(wclient):
    tok = T.mint(secretish="opaque-app-data")
    r = wclient.get("/whoami", token=tok)
    got = assert_json_answer(r, 200)
    assert "claims" not in got
    for part in tok.split("."):
        assert part not in r.text
    assert "opaque-app-data" not in r.text


def test_org_claims_v1(wclient):
    got = assert_same_as_variables(wclient, T.mint(T.v1_org_claims()))
    assert got["org_id"] == "org_1" and got["org_slug"] == "acme"
    assert got["org_role"] == "org:admin"
    assert got["org_permissions"] == "org:teams:read,org:teams:manage"


def test_org_claims_v2(wclient):
    got = assert_same_as_variables(wclient, T.mint_v2())
    assert got["org_id"] == "org_1" and got["org_role"] == "org:admin"
    assert got["features"] == "o:dashboard,o:teams" and got["plans"] == "u:free"
    assert set(got["org_permissions"].split(",")) == {
        "org:dashboard:manage", "org:dashboard:read", "org:teams:read"}


def test_machine_token(wclient):
    got = assert_same_as_variables(wclient, T.mint_m2m(), path="/m2m")
    assert got["token_type"] == "m2m_token" and got["machine_id"] == T.MACHINE
    assert got["remote_user"] == T.MACHINE


ODD = 'a"b\\c/\u00e9\u2603\U0001F600\x01\x1f\t\n\x7f<script>'


def test_json_escaping_of_odd_claim_values(wclient):
    tok = T.mint(T.v1_org_claims(org_slug=ODD, sub="user_" + ODD, org_role="org:\u00fcber"))
    r = wclient.get("/whoami", token=tok)
    got = assert_json_answer(r, 200)
    assert got["org_slug"] == ODD and got["user_id"] == "user_" + ODD
    assert got["remote_user"] == "user_" + ODD and got["org_role"] == "org:\u00fcber"
    # control characters are escaped, the text is UTF-8 and one line
    assert not any(ord(ch) < 0x20 for ch in r.text), r.text
    assert "\\u0001" in r.text and '\\"' in r.text and "\u2603" in r.text
    assert got == expected_from_env(wclient.env("/env", token=tok))


def test_spoofed_headers_do_not_appear(wclient):
    for path in ("/whoami", "/hdr"):
        r = wclient.get(path, token=T.mint(), headers=SPOOF)
        got = assert_json_answer(r, 200)
        assert "evil" not in r.text, r.text
        assert got["user_id"] == T.USER and "org_id" not in got and "signed" not in got
    r = wclient.get("/pass", headers=SPOOF)
    assert assert_json_answer(r, 401) == {"signed_in": False, "reason": "session-token-missing"}


def test_head_answers_the_headers_only(wclient):
    r = wclient.request("HEAD", "/whoami", token=T.mint())
    assert assert_json_answer(r, 200) is None
    assert r.content == b""
    assert int(r.headers["Content-Length"]) == len(wclient.get("/whoami", token=T.mint()).content)
    for path in ("/whoami", "/pass"):
        r = wclient.request("HEAD", path)
        assert assert_json_answer(r, 401) is None and r.content == b"", path


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_other_methods_405(wclient, method):
    r = wclient.request(method, "/whoami", token=T.mint(), data="x")
    assert r.status_code == 405, describe(r)
    # TRACE is the core's (TraceEnable)
    assert set(r.headers["Allow"].split(",")) - {"TRACE"} == {"GET", "HEAD"}, describe(r)


# ---------------------------------------------------------------- signed out

@pytest.mark.parametrize("path", ["/whoami", "/pass", "/errdoc"])
def test_no_token(wclient, path):
    r = wclient.get(path)
    assert assert_json_answer(r, 401) == {"signed_in": False, "reason": "session-token-missing"}
    assert r.text == '{"signed_in":false,"reason":"session-token-missing"}'
    assert_no_token(r)


@pytest.mark.parametrize("path", ["/whoami", "/pass"])
@pytest.mark.parametrize("token,reason", [
    (lambda: T.mint(exp=T.now() - 600), "token-expired"),
    (lambda: T.mint(nbf=T.now() + 600), "token-not-active-yet"),
    (lambda: T.mint(key="a"), "token-invalid-signature"),
    (lambda: T.mint(iss="https://evil.example"), "token-invalid-issuer"),
], ids=["expired", "not-yet", "foreign-key", "issuer"])
def test_rejected_token_reason(wclient, path, token, reason):
    r = wclient.get(path, token=token())
    assert assert_json_answer(r, 401) == {"signed_in": False, "reason": reason}
    assert_invalid(r, reason)


def test_expired_cookie_in_pass_section(wclient):
    r = wclient.get("/pass", session=T.mint(exp=T.now() - 600))
    assert assert_json_answer(r, 401) == {"signed_in": False, "reason": "token-expired"}


def test_other_401s_of_the_server_stay_html(wclient):
    r = wclient.get("/env")
    assert r.status_code == 401 and r.headers["Content-Type"].startswith("text/html")
    assert "signed_in" not in r.text


# ---------------------------------------------------------------- misconfigured

@pytest.mark.parametrize("path", ["/norequire", "/notclerk"])
def test_without_a_clerk_decision_500(wserver, wclient, path):
    mark = wserver.log_mark()
    r = wclient.get(path, token=T.mint())
    assert r.status_code == 500, describe(r)
    assert "CLERK070" in wserver.log_since(mark)
    assert T.USER not in r.text
