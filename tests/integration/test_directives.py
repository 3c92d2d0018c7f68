"""Every network-free directive of the README's "Directives", at request time."""
import json

import pytest

import clerk_tokens as T
from helpers import (assert_insufficient, assert_invalid, assert_no_token, assert_ok,
                     assert_refused, clerk_vars, describe, header_name, http_clerk_vars,
                     http_var)


# ---------------------------------------------------------------- issuer

def test_publishable_key_derives_issuer(client):
    env = client.env("/t/pk/env", token=T.mint(iss=T.ISSUER))
    assert env["CLERK_ISSUER"] == T.ISSUER


@pytest.mark.parametrize("iss", [
    "https://clerk.other-instance.lcl.dev",
    T.ISSUER + "/",
    T.ISSUER.upper().replace("HTTPS", "https"),
    T.ISSUER.replace("https://", "http://"),
    T.ISSUER.replace("https://", "HTTPS://"),
    "",
    T.DROP,
    [T.ISSUER],
    None,
    1,
], ids=["other", "trailing-slash", "upper-host", "http", "upper-scheme", "empty", "missing",
        "array", "null", "number"])
def test_publishable_key_rejects_other_issuers(client, iss):
    assert_invalid(client.get("/t/pk/env", token=T.mint(iss=iss)), "token-invalid-issuer")


def test_issuer_off_accepts_any_issuer(client):
    assert_ok(client.get("/t/pk-off/env", token=T.mint(iss="https://elsewhere.example")))
    assert_ok(client.get("/t/pk-off/env", token=T.mint(iss=T.DROP)))


def test_explicit_issuer_replaces_derived_one(client):
    assert_ok(client.get("/t/pk-issuer/env", token=T.mint(iss="https://issuer.one")))
    assert_invalid(client.get("/t/pk-issuer/env", token=T.mint(iss=T.ISSUER)), "token-invalid-issuer")


def test_issuer_list(client):
    assert_ok(client.get("/t/issuer/env", token=T.mint(iss="https://issuer.one")))
    assert_ok(client.get("/t/issuer/env", token=T.mint(iss="https://issuer.two")))
    for bad in ("https://issuer.three", "https://issuer.one/", T.DROP):
        assert_invalid(client.get("/t/issuer/env", token=T.mint(iss=bad)), "token-invalid-issuer")


def test_no_issuer_configured_means_not_checked(client):
    assert_ok(client.get("/t/basic/env", token=T.mint(iss="https://anything.example")))
    assert_ok(client.get("/t/basic/env", token=T.mint(iss=T.DROP)))


# ---------------------------------------------------------------- azp

def test_authorized_parties_accept_listed(client):
    assert_ok(client.get("/t/azp/env", token=T.mint(azp="https://app.example.com")))
    env = client.env("/t/azp/env", token=T.mint(azp="http://localhost:3000"))
    assert env["CLERK_AZP"] == "http://localhost:3000"


@pytest.mark.parametrize("azp", [
    T.DROP, None, "", "https://evil.example.com", "https://app.example.com/",
    "https://app.example.com:8443", "https://APP.example.com", "http://app.example.com",
    "http://localhost:3001", ["https://app.example.com"], 1,
], ids=["missing", "null", "empty", "other", "trailing-slash", "other-port", "case", "http",
        "localhost-port", "array", "number"])
def test_authorized_parties_reject(client, azp):
    assert_invalid(client.get("/t/azp/env", token=T.mint(azp=azp)),
                   "token-invalid-authorized-parties")


def test_no_authorized_parties_means_azp_optional(client):
    assert_ok(client.get("/t/basic/env", token=T.mint(azp=T.DROP)))
    assert_ok(client.get("/t/basic/env", token=T.mint(azp="https://whatever.example")))


# ---------------------------------------------------------------- aud

@pytest.mark.parametrize("aud", [
    "https://api.example.com", "urn:two", ["https://api.example.com"], ["x", "urn:two"],
], ids=["string", "second", "array", "array-second"])
def test_audience_accept(client, aud):
    assert_ok(client.get("/t/aud/env", token=T.mint(aud=aud)))


@pytest.mark.parametrize("aud", [
    T.DROP, "https://api.example.com/", "https://other.example", [], ["x", "y"],
    [5, "https://api.example.com"], 5, None, {"aud": "https://api.example.com"},
    "HTTPS://API.EXAMPLE.COM",
], ids=["missing", "trailing-slash", "other", "empty-array", "array-no-match",
        "array-non-string", "number", "null", "object", "case"])
def test_audience_reject(client, aud):
    assert_invalid(client.get("/t/aud/env", token=T.mint(aud=aud)), "token-invalid-audience")


def test_no_audience_configured_means_aud_not_checked(client):
    assert_ok(client.get("/t/basic/env", token=T.mint(aud="https://whatever")))


# ---------------------------------------------------------------- clock skew

def test_default_skew_5s(client):
    n = T.now()
    assert_ok(client.get("/t/basic/env", token=T.mint(exp=n - 2)))
    assert_invalid(client.get("/t/basic/env", token=T.mint(exp=n - 30)), "token-expired")
    assert_ok(client.get("/t/basic/env", token=T.mint(nbf=n + 2)))
    assert_invalid(client.get("/t/basic/env", token=T.mint(nbf=n + 30)), "token-not-active-yet")
    assert_ok(client.get("/t/basic/env", token=T.mint(iat=n + 2)))
    assert_invalid(client.get("/t/basic/env", token=T.mint(iat=n + 30)), "token-iat-in-the-future")


def test_skew_zero(client):
    n = T.now()
    assert_invalid(client.get("/t/skew0/env", token=T.mint(exp=n)), "token-expired")
    assert_invalid(client.get("/t/skew0/env", token=T.mint(exp=n - 1)), "token-expired")
    assert_ok(client.get("/t/skew0/env", token=T.mint(exp=n + 30)))
    assert_invalid(client.get("/t/skew0/env", token=T.mint(nbf=n + 3)), "token-not-active-yet")
    assert_invalid(client.get("/t/skew0/env", token=T.mint(iat=n + 3)), "token-iat-in-the-future")


def test_skew_sixty(client):
    n = T.now()
    assert_ok(client.get("/t/skew60/env", token=T.mint(exp=n - 30)))
    assert_invalid(client.get("/t/skew60/env", token=T.mint(exp=n - 90)), "token-expired")
    assert_ok(client.get("/t/skew60/env", token=T.mint(nbf=n + 30, iat=n + 30)))
    assert_invalid(client.get("/t/skew60/env", token=T.mint(nbf=n + 90)), "token-not-active-yet")
    assert_invalid(client.get("/t/skew60/env", token=T.mint(iat=n + 90)), "token-iat-in-the-future")


# ---------------------------------------------------------------- pending sessions

def test_pending_session_is_signed_out_by_default(client):
    assert_invalid(client.get("/t/basic/env", token=T.mint(sts="pending")), "session-pending")
    assert_invalid(client.get("/t/pending-off/env", token=T.mint(sts="pending")), "session-pending")
    env = client.env("/t/basic/env", token=T.mint(sts="active"))
    assert env["CLERK_SESSION_STATUS"] == "active"


def test_pending_session_allowed(client):
    env = client.env("/t/pending/env", token=T.mint(sts="pending"))
    assert env["CLERK_SESSION_STATUS"] == "pending"
    assert env["REMOTE_USER"] == T.USER


# ---------------------------------------------------------------- token types

def test_default_accepts_session_tokens_only(client):
    for url in ("/t/basic/env", "/t/accept-session/env"):
        assert_invalid(client.get(url, token=T.mint_m2m()), "token-type-mismatch")
        assert_invalid(client.get(url, token=T.mint_oauth()), "token-type-mismatch")
        assert_ok(client.get(url, token=T.mint()))


def test_session_token_categories(client):
    for cat in (T.CAT_SESSION, T.CAT_IGNORE):
        assert_ok(client.get("/t/basic/env", token=T.mint(header={"cat": cat})))
    # JWT templates are not session tokens
    assert_invalid(client.get("/t/basic/env", token=T.mint(header={"cat": T.CAT_TEMPLATE})),
                   "token-type-mismatch")
    # the M2M category makes a user token an M2M token
    assert_invalid(client.get("/t/basic/env", token=T.mint(header={"cat": T.CAT_M2M})),
                   "token-type-mismatch")


def test_accept_m2m(client):
    tok = T.mint_m2m()
    env = client.env("/t/accept-m2m/env", token=tok)
    v = clerk_vars(env)
    assert v["CLERK_TOKEN_TYPE"] == "m2m_token"
    assert v["CLERK_MACHINE_ID"] == T.MACHINE
    assert v["CLERK_SCOPES"] == "mch_1xxxxx mch_2xxxxx"
    assert v["CLERK_TOKEN_ID"] == "mt_2xKa9Bgv7NxMRDFyQw8LpZ3cTmU"
    assert env["REMOTE_USER"] == T.MACHINE
    assert not v.get("CLERK_USER_ID")
    assert json.loads(v["CLERK_CLAIMS"])["sub"] == T.MACHINE
    # an M2M JWT without cat is tolerated (rollout)
    assert_ok(client.get("/t/accept-m2m/env", token=T.mint_m2m(header={"cat": T.DROP})))
    # a machine subject with a non-M2M category is malformed
    assert_invalid(client.get("/t/accept-m2m/env", token=T.mint_m2m(header={"cat": T.CAT_SESSION})),
                   "token-invalid")
    assert_invalid(client.get("/t/accept-m2m/env", token=T.mint()), "token-type-mismatch")
    assert_invalid(client.get("/t/accept-m2m/env", token=T.mint_oauth()), "token-type-mismatch")
    assert_invalid(client.get("/t/accept-m2m/env", token=T.mint_m2m(exp=T.now() - 600)),
                   "token-expired")


def test_m2m_scopes_fall_back_to_aud(client):
    env = client.env("/t/accept-m2m/env", token=T.mint_m2m(scopes=T.DROP, aud=["mch_a", "mch_b"]))
    assert env["CLERK_SCOPES"] == "mch_a mch_b"


def test_machine_tokens_only_from_header(client):
    r = client.get("/t/accept-m2m/env", session=T.mint_m2m())
    assert_refused(r)
    r = client.get("/t/accept-any/env", session=T.mint_m2m())
    assert r.status_code == 401, describe(r)


def test_accept_oauth(client):
    env = client.env("/t/accept-oauth/env", token=T.mint_oauth())
    v = clerk_vars(env)
    assert v["CLERK_TOKEN_TYPE"] == "oauth_token"
    assert v["CLERK_USER_ID"] == "user_2vYVtestTESTtestTEST"
    assert v["CLERK_SCOPES"] == "read:foo write:bar"
    assert v["CLERK_TOKEN_ID"] == "oat_2xKa9Bgv7NxMRDFyQw8LpZ3cTmU1"
    env = client.env("/t/accept-oauth/env", token=T.mint_oauth(header={"typ": "application/at+jwt"}))
    assert env["CLERK_TOKEN_TYPE"] == "oauth_token"
    env = client.env("/t/accept-oauth/env", token=T.mint_oauth(scope=T.DROP, scp=["a", "b"]))
    assert env["CLERK_SCOPES"] == "a b"
    assert_invalid(client.get("/t/accept-oauth/env", token=T.mint()), "token-type-mismatch")
    assert_invalid(client.get("/t/accept-oauth/env", token=T.mint_m2m()), "token-type-mismatch")


def test_accept_multi(client):
    assert client.env("/t/accept-multi/env", token=T.mint())["CLERK_TOKEN_TYPE"] == "session_token"
    assert client.env("/t/accept-multi/env", token=T.mint_m2m())["CLERK_TOKEN_TYPE"] == "m2m_token"
    assert_invalid(client.get("/t/accept-multi/env", token=T.mint_oauth()), "token-type-mismatch")


def test_accept_any(client):
    assert client.env("/t/accept-any/env", token=T.mint())["CLERK_TOKEN_TYPE"] == "session_token"
    assert client.env("/t/accept-any/env", token=T.mint_m2m())["CLERK_TOKEN_TYPE"] == "m2m_token"
    assert client.env("/t/accept-any/env", token=T.mint_oauth())["CLERK_TOKEN_TYPE"] == "oauth_token"
    # templates are never session tokens
    assert_invalid(client.get("/t/accept-any/env", token=T.mint(header={"cat": T.CAT_TEMPLATE})),
                   "token-type-mismatch")


def test_authorized_parties_do_not_apply_to_machine_tokens(client):
    assert_ok(client.get("/t/accept-any-azp/env", token=T.mint_m2m()))
    assert_ok(client.get("/t/accept-any-azp/env", token=T.mint_oauth()))
    assert_ok(client.get("/t/accept-any-azp/env", token=T.mint()))
    assert_invalid(client.get("/t/accept-any-azp/env", token=T.mint(azp=T.DROP)),
                   "token-invalid-authorized-parties")


def test_audience_applies_to_every_type(client):
    assert_ok(client.get("/t/accept-any-aud/env", token=T.mint_m2m()))
    assert_invalid(client.get("/t/accept-any-aud/env", token=T.mint_m2m(aud=["mch_9"])),
                   "token-invalid-audience")
    assert_invalid(client.get("/t/accept-any-aud/env", token=T.mint_oauth()), "token-invalid-audience")
    assert_invalid(client.get("/t/accept-any-aud/env", token=T.mint()), "token-invalid-audience")
    assert_ok(client.get("/t/accept-any-aud/env", token=T.mint(aud="mch_1xxxxx")))


# ---------------------------------------------------------------- signed-out action

def test_signed_out_action_deny_is_default(client):
    assert_no_token(client.get("/t/deny/env"))
    assert_invalid(client.get("/t/deny/env", token=T.mint(exp=T.now() - 600)), "token-expired")


def test_signed_out_pass_anonymous(client):
    r = client.get("/t/pass/env")
    assert r.status_code == 200, describe(r)
    env = r.json()
    assert env.get("REMOTE_USER", "") == ""
    assert clerk_vars(env) == {}
    assert r.headers.get("X-Clerk-Auth-Status") == "signed-out"
    assert "WWW-Authenticate" not in r.headers


def test_signed_out_pass_invalid_token(client):
    r = client.get("/t/pass/env", token=T.mint(exp=T.now() - 600))
    assert r.status_code == 200, describe(r)
    env = r.json()
    assert env.get("REMOTE_USER", "") == ""
    assert clerk_vars(env) == {}
    assert r.headers.get("X-Clerk-Auth-Status") == "signed-out"
    assert r.headers.get("X-Clerk-Auth-Reason") == "token-expired"


def test_signed_out_pass_valid_token(client):
    r = client.get("/t/pass/env", token=T.mint())
    assert r.status_code == 200, describe(r)
    assert r.json()["CLERK_USER_ID"] == T.USER
    assert r.json()["REMOTE_USER"] == T.USER
    assert r.headers.get("X-Clerk-Auth-Status") == "signed-in"


def test_signed_out_pass_clerk_providers_still_deny(client):
    assert_refused(client.get("/t/pass-org/env"))
    assert_refused(client.get("/t/pass-org/env", token=T.mint(exp=T.now() - 600)))
    assert_insufficient(client.get("/t/pass-org/env", token=T.mint()))
    assert_ok(client.get("/t/pass-org/env", token=T.mint_v2()))


# ---------------------------------------------------------------- pass claims as

def _full_token():
    return T.mint_v2(act={"sub": "user_imp"}, sts="active", jti="jti_1")


def test_pass_claims_env_default(client):
    tok = _full_token()
    for url in ("/t/basic/env", "/t/env/env"):
        env = client.env(url, token=tok)
        assert env["CLERK_USER_ID"] == T.USER
        assert http_clerk_vars(env) == {}


def test_pass_claims_headers(client):
    tok = _full_token()
    expected = clerk_vars(client.env("/t/env/env", token=tok))
    env = client.env("/t/hdr/env", token=tok)
    assert clerk_vars(env) == {}, "headers mode must not set CLERK_* variables"
    assert env["REMOTE_USER"] == T.USER
    got = http_clerk_vars(env)
    assert got == {http_var(k): v for k, v in expected.items()}
    # the names are X-Clerk- + Title-Case words
    assert header_name("CLERK_ORG_PERMISSIONS") == "X-Clerk-Org-Permissions"
    assert got["HTTP_X_CLERK_ORG_PERMISSIONS"] == "org:dashboard:manage,org:dashboard:read,org:teams:read"
    assert json.loads(got["HTTP_X_CLERK_CLAIMS"])["sub"] == T.USER


def test_pass_claims_both(client):
    tok = _full_token()
    expected = clerk_vars(client.env("/t/env/env", token=tok))
    env = client.env("/t/both/env", token=tok)
    assert clerk_vars(env) == expected
    assert http_clerk_vars(env) == {http_var(k): v for k, v in expected.items()}


def test_pass_claims_none(client):
    env = client.env("/t/none/env", token=_full_token())
    assert clerk_vars(env) == {}
    assert http_clerk_vars(env) == {}
    assert env["REMOTE_USER"] == T.USER
    assert env["AUTH_TYPE"] == "Clerk"


def test_headers_mode_never_injects_header_lines(client):
    """A claim value with CR/LF must not become an extra request header."""
    tok = T.mint(sub="user_x\r\nX-Injected: 1", sid="sess\nX-Injected2: 2")
    r = client.get("/t/hdr/env", token=tok)
    if r.status_code == 200:
        env = r.json()
        assert "HTTP_X_INJECTED" not in env and "HTTP_X_INJECTED2" not in env
        for k, v in http_clerk_vars(env).items():
            assert "\n" not in v and "\r" not in v
    else:
        assert r.status_code == 401, describe(r)


# ---------------------------------------------------------------- REMOTE_USER

def test_remote_user_claim(client):
    env = client.env("/t/ru-sid/env", token=T.mint())
    assert env["REMOTE_USER"] == T.SESSION
    assert env["CLERK_USER_ID"] == T.USER
    env = client.env("/t/ru-email/env", token=T.mint(email="alice@example.com"))
    assert env["REMOTE_USER"] == "alice@example.com"


def test_remote_user_claim_integer(client):
    env = client.env("/t/ru-num/env", token=T.mint(uid=12345))
    assert env["REMOTE_USER"] == "12345"


# ---------------------------------------------------------------- debug headers

def test_debug_headers_on(client):
    r = client.get("/t/debug/env", token=T.mint())
    assert_ok(r)
    assert r.headers.get("X-Clerk-Auth-Status") == "signed-in"
    r = client.get("/t/debug/env", token=T.mint(exp=T.now() - 600))
    assert_invalid(r, "token-expired")
    assert r.headers.get("X-Clerk-Auth-Status") == "signed-out"
    assert r.headers.get("X-Clerk-Auth-Reason") == "token-expired"
    r = client.get("/t/debug/env")
    assert_no_token(r)
    assert r.headers.get("X-Clerk-Auth-Status") == "signed-out"
    assert r.headers.get("X-Clerk-Auth-Reason") == "session-token-missing"


@pytest.mark.parametrize("url", ["/t/debug-off/env", "/t/basic/env"])
def test_debug_headers_off(client, url):
    for kw in ({}, {"token": T.mint()}, {"token": T.mint(exp=T.now() - 600)}):
        r = client.get(url, **kw)
        assert not [h for h in r.headers if h.lower().startswith("x-clerk")], describe(r)
