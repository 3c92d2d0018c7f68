"""M2M and OAuth JWTs: verified locally with the fixture key (no Backend API
call), classified as Clerk's SDK does, with the rules that apply to them."""
import json

import pytest

import clerk_tokens as T
from helpers import assert_invalid, assert_ok, clerk_vars

from mtokens import M2M_JTI, OAUTH_JTI, OAUTH_SUB, header, m2m, oauth, payload


@pytest.fixture(autouse=True)
def no_backend_api_call(fake):
    """JWTs never reach the Backend API."""
    before = fake.verify_calls()
    yield
    assert fake.verify_calls() == before


# ------------------------------------------------------------ M2M JWTs

def test_m2m_jwt_variables(mclient):
    tok = m2m()
    assert header(tok) == {"alg": "RS256", "typ": "JWT", "kid": T.INS_KID, "cat": T.CAT_M2M}
    for path in ("/m/m2m/env", "/m/any/env", "/m/session-m2m/env"):
        env = mclient.env(path, token=tok)
        v = clerk_vars(env)
        assert v["CLERK_TOKEN_TYPE"] == "m2m_token"
        assert v["CLERK_MACHINE_ID"] == T.MACHINE
        assert v["CLERK_SCOPES"] == "mch_a mch_b"
        assert v["CLERK_TOKEN_ID"] == M2M_JTI
        assert json.loads(v["CLERK_CLAIMS"]) == payload(tok)
        assert env["REMOTE_USER"] == T.MACHINE
        assert "CLERK_USER_ID" not in v


def test_m2m_jwt_scopes_fall_back_to_aud(mclient):
    env = mclient.env("/m/m2m/env", token=m2m(scopes=T.DROP))
    assert env["CLERK_SCOPES"] == "mch_1xxxxx mch_2xxxxx"
    env = mclient.env("/m/m2m/env", token=m2m(scopes=T.DROP, aud=T.DROP))
    assert "CLERK_SCOPES" not in env


def test_m2m_jwt_category(mclient):
    assert_ok(mclient.get("/m/m2m/static.txt", token=m2m(header={"cat": T.DROP})))
    for cat in (T.CAT_SESSION, T.CAT_TEMPLATE, T.CAT_IGNORE, "cl_other"):
        assert_invalid(mclient.get("/m/m2m/static.txt", token=m2m(header={"cat": cat})),
                       "token-invalid")
    assert_invalid(mclient.get("/m/m2m/static.txt", token=m2m(header={"typ": "at+jwtx"})),
                   "token-invalid")


def test_m2m_jwt_time_rules(mclient):
    assert_invalid(mclient.get("/m/m2m/static.txt", token=m2m(exp=T.now() - 60)),
                   "token-expired")
    assert_invalid(mclient.get("/m/m2m/static.txt", token=m2m(nbf=T.now() + 600)),
                   "token-not-active-yet")
    assert_invalid(mclient.get("/m/m2m/static.txt", token=m2m(exp=T.DROP)),
                   "token-verification-failed")


def test_m2m_jwt_where_not_accepted(mclient):
    tok = m2m()
    for path in ("/m/session", "/m/oauth", "/m/apikey"):
        assert_invalid(mclient.get(path + "/static.txt", token=tok), "token-type-mismatch")


# ------------------------------------------------------------ OAuth JWTs

def test_oauth_jwt_variables(mclient):
    tok = oauth()
    assert header(tok)["typ"] == "at+jwt"
    for path in ("/m/oauth/env", "/m/any/env"):
        env = mclient.env(path, token=tok)
        v = clerk_vars(env)
        assert v["CLERK_TOKEN_TYPE"] == "oauth_token"
        assert v["CLERK_USER_ID"] == OAUTH_SUB
        assert v["CLERK_SCOPES"] == "read write"
        assert v["CLERK_TOKEN_ID"] == OAUTH_JTI
        assert json.loads(v["CLERK_CLAIMS"]) == payload(tok)
        assert env["REMOTE_USER"] == OAUTH_SUB
        assert "CLERK_MACHINE_ID" not in v


def test_oauth_jwt_forms(mclient):
    env = mclient.env("/m/oauth/env", token=oauth(header={"typ": "application/at+jwt"}))
    assert env["CLERK_TOKEN_TYPE"] == "oauth_token"
    env = mclient.env("/m/oauth/env", token=oauth(scope=T.DROP, scp=["read", "admin"]))
    assert env["CLERK_SCOPES"] == "read admin"
    # a typ of at+jwt wins over the M2M category (not over a mch_ subject: see below)
    env = mclient.env("/m/oauth/env", token=oauth(header={"cat": T.CAT_M2M}))
    assert env["CLERK_TOKEN_TYPE"] == "oauth_token"


def test_machine_subject_makes_an_m2m_token_whatever_its_typ(mclient):
    """Clerk's SDK classifies a JWT with a mch_ subject as M2M before it looks at
    an RFC 9068 typ, and M2M tokens need typ JWT: such a token is no OAuth token."""
    tok = oauth(sub=T.MACHINE)
    assert_invalid(mclient.get("/m/oauth/static.txt", token=tok), "token-type-mismatch")
    assert_invalid(mclient.get("/m/any/static.txt", token=tok), "token-invalid")
    assert_invalid(mclient.get("/m/p/user/static.txt", token=oauth(sub="mch_nobody",
                                                                    header={"typ": "application/at+jwt"})),
                   "token-invalid")


def test_oauth_jwt_time_rules(mclient):
    assert_invalid(mclient.get("/m/oauth/static.txt", token=oauth(exp=T.now() - 60)),
                   "token-expired")
    assert_invalid(mclient.get("/m/oauth/static.txt", token=oauth(iat=T.now() + 600)),
                   "token-iat-in-the-future")


def test_oauth_jwt_where_not_accepted(mclient):
    tok = oauth()
    for path in ("/m/session", "/m/m2m", "/m/apikey", "/m/session-m2m"):
        assert_invalid(mclient.get(path + "/static.txt", token=tok), "token-type-mismatch")


# ------------------------------------------------------------ session tokens

def test_session_token_at_machine_only_locations(mclient):
    tok = T.mint()
    for path in ("/m/m2m", "/m/oauth", "/m/apikey"):
        assert_invalid(mclient.get(path + "/static.txt", token=tok), "token-type-mismatch")
    # ...while it is fine where sessions are accepted
    assert mclient.env("/m/session-m2m/env", token=tok)["CLERK_TOKEN_TYPE"] == "session_token"
    assert mclient.env("/m/any/env", token=tok)["CLERK_TOKEN_TYPE"] == "session_token"


# ------------------------------------------------------------ azp, iss, aud

def test_authorized_parties_do_not_apply_to_machine_jwts(mclient):
    assert_ok(mclient.get("/m/azp/static.txt", token=m2m()))
    assert_ok(mclient.get("/m/azp/static.txt", token=m2m(azp="https://evil.example")))
    assert_ok(mclient.get("/m/azp/static.txt", token=oauth()))
    # the control: session tokens need an authorized azp there
    assert_ok(mclient.get("/m/azp/static.txt", token=T.mint()))
    assert_invalid(mclient.get("/m/azp/static.txt", token=T.mint(azp=T.DROP)),
                   "token-invalid-authorized-parties")


def test_issuer_does_not_apply_to_machine_jwts(mclient):
    assert_ok(mclient.get("/m/iss/static.txt", token=m2m()))
    assert_ok(mclient.get("/m/iss/static.txt", token=oauth()))
    assert_invalid(mclient.get("/m/iss/static.txt", token=T.mint()), "token-invalid-issuer")
    assert_ok(mclient.get("/m/iss/static.txt", token=T.mint(iss="https://issuer.example.com")))


def test_audience_applies_to_machine_jwts(mclient):
    # ClerkAudience mch_1xxxxx api.example.com
    assert_ok(mclient.get("/m/aud/static.txt", token=m2m()))
    assert_ok(mclient.get("/m/aud/static.txt", token=oauth(aud="api.example.com")))
    assert_ok(mclient.get("/m/aud/static.txt", token=oauth(aud=["x", "api.example.com"])))
    for tok in (m2m(aud=T.DROP), m2m(aud=["mch_9"]), oauth(), oauth(aud=["other"]),
                oauth(aud=[])):
        assert_invalid(mclient.get("/m/aud/static.txt", token=tok), "token-invalid-audience")
