"""The basics: status codes, the exact WWW-Authenticate, token sources,
variables of v1/v2 tokens, key sources."""
import json

import jwt
import pytest

import clerk_tokens as T
from helpers import (assert_insufficient, assert_invalid, assert_no_token, assert_ok,
                     assert_refused, clerk_vars, describe)


def test_minted_tokens_verify_with_pyjwt():
    """The minting helpers themselves: PyJWT accepts what we mint."""
    pub = T.PUBLIC_PEM["ins"].read_bytes()
    tok = T.mint()
    claims = jwt.decode(tok, pub, algorithms=["RS256"], options={"verify_aud": False})
    assert claims["sub"] == T.USER
    assert jwt.get_unverified_header(tok) == {"alg": "RS256", "kid": T.INS_KID, "typ": "JWT"}
    raw = T.raw_session()
    assert jwt.decode(raw, pub, algorithms=["RS256"])["sid"] == T.SESSION
    assert "typ" not in jwt.get_unverified_header(T.mint(header={"typ": T.DROP}))


def test_server_answers_static_without_auth(client):
    r = client.get("/static/hello.txt")
    assert r.status_code == 200 and "hello" in r.text


def test_no_token_401_with_plain_challenge(client):
    r = client.get("/t/basic/env")
    assert_no_token(r)
    assert "X-Clerk-Auth-Status" not in r.headers


def test_default_realm_is_clerk(client):
    assert_no_token(client.get("/t/noname/env"), realm="Clerk")
    assert_invalid(client.get("/t/noname/env", token=T.mint(exp=T.now() - 600)), "token-expired",
                   realm="Clerk")


def test_auth_type_is_case_insensitive(client):
    assert_no_token(client.get("/t/lower/env"))
    env = client.env("/t/lower/env", token=T.mint())
    assert env["CLERK_USER_ID"] == T.USER
    assert env["REMOTE_USER"] == T.USER


def test_realm_with_spaces(client):
    assert_no_token(client.get("/t/realm-spaces/env"), realm="Members Only Area")


def test_valid_token_200(client):
    env = client.env("/t/basic/env", token=T.mint())
    assert env["REMOTE_USER"] == T.USER
    assert env["AUTH_TYPE"] == "Clerk"
    assert env["CLERK_USER_ID"] == T.USER
    assert env["CLERK_SESSION_ID"] == T.SESSION


def test_static_file_behind_auth(client):
    assert_no_token(client.get("/t/basic/static.txt"))
    r = client.get("/t/basic/static.txt", token=T.mint())
    assert_ok(r)
    assert "hello" in r.text


def test_invalid_token_401_invalid_token(client):
    assert_invalid(client.get("/t/basic/env", token=T.mint(exp=T.now() - 600)), "token-expired")


def test_head_and_post(client):
    tok = T.mint()
    assert client.request("HEAD", "/t/basic/static.txt", token=tok).status_code == 200
    assert client.request("HEAD", "/t/basic/static.txt").status_code == 401
    r = client.request("POST", "/t/basic/env", token=tok, data=b"x=1")
    assert r.status_code == 200, describe(r)
    assert r.json()["REQUEST_METHOD"] == "POST"
    assert_no_token(client.request("POST", "/t/basic/env", data=b"x=1"))


# ---------------------------------------------------------------- variables

def test_v1_variables(client):
    t = T.now()
    claims = T.v1_org_claims(
        iat=t, exp=t + 300, sts="active", act={"sub": "user_admin", "iss": "https://dashboard.clerk.com"},
        email="alice@example.com")
    tok = T.mint(claims)
    env = client.env("/t/basic/env", token=tok)
    v = clerk_vars(env)
    assert v["CLERK_TOKEN_TYPE"] == "session_token"
    assert v["CLERK_USER_ID"] == T.USER
    assert v["CLERK_SESSION_ID"] == T.SESSION
    assert v["CLERK_SESSION_STATUS"] == "active"
    assert v["CLERK_ORG_ID"] == "org_1"
    assert v["CLERK_ORG_SLUG"] == "acme"
    assert v["CLERK_ORG_ROLE"] == "org:admin"
    assert v["CLERK_ORG_PERMISSIONS"] == "org:teams:read,org:teams:manage"
    assert v["CLERK_ACTOR_ID"] == "user_admin"
    assert v["CLERK_AZP"] == T.AZP
    assert v["CLERK_ISSUER"] == T.ISSUER
    assert v["CLERK_EXPIRES_AT"] == str(t + 300)
    assert v["CLERK_ISSUED_AT"] == str(t)
    assert json.loads(v["CLERK_CLAIMS"]) == claims
    # compact JSON
    assert ": " not in v["CLERK_CLAIMS"] and ", " not in v["CLERK_CLAIMS"]
    for absent in ("CLERK_FEATURES", "CLERK_PLANS", "CLERK_MACHINE_ID", "CLERK_SCOPES"):
        assert not v.get(absent), absent
    assert env["REMOTE_USER"] == T.USER and env["AUTH_TYPE"] == "Clerk"


def test_v2_variables_docs_example(client):
    """fea o:dashboard,o:teams; per manage,read; fpm 3,2 (the docs' example)."""
    tok = T.mint_v2()
    v = clerk_vars(client.env("/t/basic/env", token=tok))
    assert v["CLERK_ORG_ID"] == "org_1"
    assert v["CLERK_ORG_SLUG"] == "acme"
    assert v["CLERK_ORG_ROLE"] == "org:admin"
    assert v["CLERK_ORG_PERMISSIONS"] == "org:dashboard:manage,org:dashboard:read,org:teams:read"
    assert v["CLERK_FEATURES"] == "o:dashboard,o:teams"
    assert v["CLERK_PLANS"] == "u:free"


def test_v2_user_feature_before_org_features(client):
    tok = T.mint_v2(fea="u:x,o:dashboard,o:teams")
    v = clerk_vars(client.env("/t/basic/env", token=tok))
    assert v["CLERK_ORG_PERMISSIONS"] == "org:dashboard:manage,org:dashboard:read,org:teams:read"
    assert v["CLERK_FEATURES"] == "u:x,o:dashboard,o:teams"


def test_no_org_no_org_variables(client):
    v = clerk_vars(client.env("/t/basic/env", token=T.mint()))
    for k in ("CLERK_ORG_ID", "CLERK_ORG_SLUG", "CLERK_ORG_ROLE", "CLERK_ORG_PERMISSIONS",
              "CLERK_ACTOR_ID", "CLERK_SESSION_STATUS", "CLERK_FEATURES", "CLERK_PLANS"):
        assert not v.get(k), k


def _vector_ids():
    import locations
    return [v["name"] for v in locations.v2_vectors()["vectors"]]


@pytest.mark.parametrize("idx", range(len(_vector_ids())), ids=_vector_ids())
def test_org_vectors(client, idx):
    """Every v2_claims_vectors.json vector: the org variables equal the SDK's."""
    import locations
    vec = locations.v2_vectors()["vectors"][idx]
    claims = T.session_claims()
    claims.update(vec["claims"])
    tok = T.mint(claims)
    exp = vec["expected"]
    if exp.get("throws"):
        assert_invalid(client.get("/t/basic/env", token=tok), "token-invalid")
        return
    v = clerk_vars(client.env("/t/basic/env", token=tok))
    assert v.get("CLERK_ORG_ID", "") == (exp["org_id"] or "")
    assert v.get("CLERK_ORG_SLUG", "") == (exp["org_slug"] or "")
    assert v.get("CLERK_ORG_ROLE", "") == (exp["org_role"] or "")
    assert v.get("CLERK_ORG_PERMISSIONS", "") == ",".join(exp["org_permissions"] or [])


# ---------------------------------------------------------------- sources

def test_cookie_token(client):
    env = client.env("/t/basic/env", session=T.mint())
    assert env["CLERK_USER_ID"] == T.USER


def test_cookie_among_others(client):
    tok = T.mint()
    env = client.env("/t/basic/env", cookie="a=1; __session=%s; __client_uat=123; b=2" % tok)
    assert env["CLERK_USER_ID"] == T.USER


def test_other_cookie_names_are_not_the_session(client):
    tok = T.mint()
    assert_no_token(client.get("/t/basic/env", cookie="my__session=%s" % tok))
    assert_no_token(client.get("/t/basic/env", cookie="__session_abc=%s" % tok))
    assert_no_token(client.get("/t/basic/env", cookie="__Session=%s" % tok))


def test_invalid_cookie_token(client):
    assert_invalid(client.get("/t/basic/env", session=T.mint(exp=T.now() - 600)), "token-expired")


def test_header_wins_over_cookie(client):
    good, bad = T.mint(sub="user_header"), T.mint(sub="user_cookie")
    env = client.env("/t/basic/env", token=good, session=bad)
    assert env["CLERK_USER_ID"] == "user_header"
    # an invalid header token is not rescued by a valid cookie
    expired = T.mint(exp=T.now() - 600)
    assert_invalid(client.get("/t/basic/env", token=expired, session=good), "token-expired")
    # an invalid cookie is ignored when the header is valid
    env = client.env("/t/basic/env", token=good, session="garbage.not.jwt")
    assert env["CLERK_USER_ID"] == "user_header"


def test_bare_authorization_value_is_a_token(client):
    env = client.env("/t/basic/env", auth=T.mint())
    assert env["CLERK_USER_ID"] == T.USER


def test_token_source_header_only(client):
    tok = T.mint()
    assert_ok(client.get("/t/src-header/env", token=tok))
    assert_no_token(client.get("/t/src-header/env", session=tok))


def test_token_source_cookie_only(client):
    tok = T.mint()
    assert_ok(client.get("/t/src-cookie/env", session=tok))
    assert_no_token(client.get("/t/src-cookie/env", token=tok))
    # the header is not a source here, so an invalid one does not matter
    env = client.env("/t/src-cookie/env", token="garbage", session=tok)
    assert env["CLERK_USER_ID"] == T.USER


def test_token_source_both_explicit(client):
    tok = T.mint()
    assert_ok(client.get("/t/src-both/env", token=tok))
    assert_ok(client.get("/t/src-both/env", session=tok))


# ---------------------------------------------------------------- key sources

def test_inline_key_base64_body(client):
    assert_ok(client.get("/t/inline/env", token=T.mint()))
    assert_invalid(client.get("/t/inline/env", token=T.mint(key="a")), "token-invalid-signature")


def test_inline_key_pem_with_line_continuations(client):
    assert_ok(client.get("/t/inline-pem/env", token=T.mint()))
    assert_invalid(client.get("/t/inline-pem/env", token=T.mint(key="a")), "token-invalid-signature")


def test_no_key_source_never_grants(client, log):
    """AuthType Clerk without any key source: a server error, never access."""
    assert_no_token(client.get("/t/nokey/env"))
    r = client.get("/t/nokey/env", token=T.mint())
    assert r.status_code in (500, 503), describe(r)
    if r.status_code == 503:
        assert r.headers.get("Retry-After"), describe(r)
    assert "auth_clerk:error" in log()


def test_pem_ignores_kid(client):
    """The PEM path ignores kid, as Clerk's SDK does."""
    assert_ok(client.get("/t/basic/env", token=T.mint(kid="some-other-kid")))
    assert_ok(client.get("/t/basic/env", token=T.mint(header={"kid": T.DROP})))


def test_jwks_file_selects_by_kid(client):
    assert_ok(client.get("/t/jwks/env", token=T.mint()))
    assert_invalid(client.get("/t/jwks/env", token=T.mint(kid="ins_unknown")), "jwk-kid-mismatch")
    for key in ("ins", "a", "b"):
        env = client.env("/t/jwks-all/env", token=T.mint(key=key, sub="user_" + key))
        assert env["CLERK_USER_ID"] == "user_" + key
    # right kid, wrong key: signature
    assert_invalid(client.get("/t/jwks-all/env", token=T.mint(key="b", kid="integration-a")),
                   "token-invalid-signature")


def test_jwks_integration_a(client):
    assert_ok(client.get("/t/jwks-a/env", token=T.mint(key="a")))
    assert_invalid(client.get("/t/jwks-a/env", token=T.mint(key="ins")), "jwk-kid-mismatch")


def test_jwks_mismatched_key(client):
    """jwks_integration_mismatched.json: pair b's key under kid integration-a."""
    assert_invalid(client.get("/t/jwks-mismatched/env", token=T.mint(key="a")),
                   "token-invalid-signature")
    assert_ok(client.get("/t/jwks-mismatched/env", token=T.mint(key="b", kid="integration-a")))


def test_pem_pair_a(client):
    assert_ok(client.get("/t/pem-a/env", token=T.mint(key="a")))
    assert_invalid(client.get("/t/pem-a/env", token=T.mint(key="b")), "token-invalid-signature")


def test_wrong_key(client):
    assert_invalid(client.get("/t/wrongkey/env", token=T.mint()), "token-invalid-signature")


def test_jwt_key_takes_precedence_over_jwks_file(client):
    assert_ok(client.get("/t/precedence/env", token=T.mint()))
    assert_invalid(client.get("/t/precedence/env", token=T.mint(key="a")), "token-invalid-signature")


def test_fixture_tokens_at_wall_clock(client):
    """The vendored fixture tokens whose outcome does not depend on the clock."""
    data = json.loads((T.VECTORS / "fixture_tokens.json").read_text())
    by_name = {t["name"]: t for t in data["tokens"]}
    cases = [
        ("signedJwt/wallclock", "/t/basic/env", "token-expired"),
        ("mockExpiredJwt", "/t/basic/env", "token-expired"),
        ("mockInvalidSignatureJwt", "/t/basic/env", "token-invalid-signature"),
        # only {iat} in the payload, but the signature is checked first
        ("mockMalformedJwt", "/t/basic/env", "token-invalid-signature"),
        ("signedJwt/wrong-key", "/t/wrongkey/env", "token-invalid-signature"),
        ("signedJwt/unknown-kid", "/t/jwks-a/env", "jwk-kid-mismatch"),
        ("integration/mismatched-key", "/t/jwks-mismatched/env", "token-invalid-signature"),
        ("integration/other-pair", "/t/basic/env", "token-invalid-signature"),
    ]
    for name, url, reason in cases:
        tok = by_name[name]["token"]
        assert_invalid(client.get(url, token=tok), reason)


def test_expired_token_in_cookie_and_pass_anonymous_is_not_forbidden(client):
    """An expired cookie token is a rejection (401), never a 403/500."""
    assert_refused(client.get("/t/p/role/env", session=T.mint(exp=T.now() - 600)))


def test_valid_token_lacking_requirement_is_insufficient_scope(client):
    assert_insufficient(client.get("/t/p/role/env", token=T.mint()))
