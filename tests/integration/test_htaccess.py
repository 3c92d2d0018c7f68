"""The directives and providers from .htaccess (AllowOverride AuthConfig),
read per request by the children."""
import clerk_tokens as T
from helpers import (assert_forbidden, assert_insufficient, assert_invalid, assert_no_token,
                     assert_ok, clerk_vars, describe, http_clerk_vars)


def test_basic(client):
    assert_no_token(client.get("/ht/basic/htenv.py"), realm="ht-basic")
    env = client.env("/ht/basic/htenv.py", token=T.mint())
    assert env["_SCRIPT"] == "htenv"
    assert env["CLERK_USER_ID"] == T.USER
    assert env["REMOTE_USER"] == T.USER
    assert_invalid(client.get("/ht/basic/htenv.py", token=T.mint(key="b")), "token-invalid-signature",
                   realm="ht-basic")
    assert_ok(client.get("/ht/basic/htenv.py", session=T.mint()))


def test_jwks_file(client):
    for key in ("ins", "a", "b"):
        assert_ok(client.get("/ht/jwks/htenv.py", token=T.mint(key=key)))
    assert_invalid(client.get("/ht/jwks/htenv.py", token=T.mint(kid="nope")), "jwk-kid-mismatch",
                   realm="ht-jwks")


def _full_claims(**over):
    c = T.v1_org_claims(org_permissions=["org:teams:read"], aud="https://api.example.com",
                        sts="pending")
    c.update(over)
    return {k: v for k, v in c.items() if v is not T.DROP}


def test_full_grant(client):
    r = client.get("/ht/full/htenv.py", token=T.mint(_full_claims()))
    assert_ok(r)
    env = r.json()
    assert env["REMOTE_USER"] == T.SESSION                               # ClerkRemoteUserClaim sid
    assert env["CLERK_SESSION_STATUS"] == "pending"                      # ClerkAllowPendingSessions
    assert env["HTTP_X_CLERK_USER_ID"] == env["CLERK_USER_ID"] == T.USER  # both
    assert r.headers.get("X-Clerk-Auth-Status") == "signed-in"           # ClerkDebugHeaders


def test_full_token_source_header_only(client):
    r = client.get("/ht/full/htenv.py", session=T.mint(_full_claims()))
    assert_no_token(r, realm="ht-full")
    assert r.headers.get("X-Clerk-Auth-Status") == "signed-out"


def test_full_rejections(client):
    n = T.now()
    cases = [
        (_full_claims(azp=T.DROP), "token-invalid-authorized-parties"),
        (_full_claims(aud=T.DROP), "token-invalid-audience"),
        (_full_claims(iss="https://other.example"), "token-invalid-issuer"),
        (_full_claims(exp=n), "token-expired"),                           # ClerkClockSkew 0
    ]
    for claims, reason in cases:
        r = client.get("/ht/full/htenv.py", token=T.mint(claims))
        assert_invalid(r, reason, realm="ht-full")
        assert r.headers.get("X-Clerk-Auth-Reason") == reason
    assert_invalid(client.get("/ht/full/htenv.py", token=T.mint_oauth(aud="https://api.example.com")),
                   "token-type-mismatch", realm="ht-full")


def test_full_require_all(client):
    assert_insufficient(client.get("/ht/full/htenv.py", token=T.mint(_full_claims(org_role="org:member"))),
                        realm="ht-full")
    assert_insufficient(client.get("/ht/full/htenv.py",
                                   token=T.mint(_full_claims(org_permissions=["org:teams:manage"]))),
                        realm="ht-full")
    # an accepted M2M token authenticates, then fails the org requirements
    # (it carries a sid because ClerkRemoteUserClaim is sid here)
    m2m = T.mint_m2m(aud=["https://api.example.com"], sid="sess_m2m")
    assert_insufficient(client.get("/ht/full/htenv.py", token=m2m), realm="ht-full")


def test_publishable_key(client):
    assert_ok(client.get("/ht/pk/htenv.py", token=T.mint()))
    assert_invalid(client.get("/ht/pk/htenv.py", token=T.mint(iss="https://x.example")),
                   "token-invalid-issuer", realm="ht-pk")


def test_inline_key_and_feature(client):
    assert_ok(client.get("/ht/inline/htenv.py", token=T.mint_v2()))
    assert_insufficient(client.get("/ht/inline/htenv.py", token=T.mint()), realm="ht-inline")
    assert_invalid(client.get("/ht/inline/htenv.py", token=T.mint_v2(key="a")),
                   "token-invalid-signature", realm="ht-inline")


def test_pass(client):
    r = client.get("/ht/pass/htenv.py")
    assert r.status_code == 200, describe(r)
    assert clerk_vars(r.json()) == {}
    assert client.env("/ht/pass/htenv.py", token=T.mint())["CLERK_USER_ID"] == T.USER


def test_machine(client):
    assert_ok(client.get("/ht/machine/htenv.py", token=T.mint_m2m()))
    assert_ok(client.get("/ht/machine/htenv.py", token=T.mint_oauth()))
    assert_insufficient(client.get("/ht/machine/htenv.py", token=T.mint_oauth(scope="read:foo")),
                        realm="ht-machine")
    assert_insufficient(client.get("/ht/machine/htenv.py", token=T.mint()), realm="ht-machine")


def test_claims_forbidden(client):
    assert_ok(client.get("/ht/claims/htenv.py", token=T.mint(meta={"tier": "gold"})))
    assert_forbidden(client.get("/ht/claims/htenv.py", token=T.mint(meta={"tier": "silver"})))
    assert_no_token(client.get("/ht/claims/htenv.py"), realm="ht-claims")


def test_htaccess_over_directory_config(client):
    env = client.env("/ht/inherit/htenv.py", token=T.mint(sub="user_alice"))
    assert http_clerk_vars(env)["HTTP_X_CLERK_USER_ID"] == "user_alice"
    assert "CLERK_USER_ID" not in env
    assert_insufficient(client.get("/ht/inherit/htenv.py", token=T.mint(sub="user_bob")),
                        realm="ht-inherit")
    assert_no_token(client.get("/ht/inherit/htenv.py"), realm="ht-inherit")


def _error_500(client, server, url, *needles):
    mark = server.log_mark()
    r = client.get(url, token=T.mint())
    assert r.status_code == 500, describe(r)
    text = server.log_since(mark)
    for n in needles:
        assert n in text, "error log does not name %r:\n%s" % (n, text[-2000:])


def test_bad_provider_argument(client, server):
    _error_500(client, server, "/ht/badprov/htenv.py", "clerk-feature", ".htaccess")


def test_bad_clock_skew(client, server):
    _error_500(client, server, "/ht/badskew/htenv.py", "ClerkClockSkew", ".htaccess")


def test_bad_inline_key(client, server):
    _error_500(client, server, "/ht/badkey/htenv.py", "ClerkJWTKey", ".htaccess")


def test_bad_accept_token(client, server):
    _error_500(client, server, "/ht/badaccept/htenv.py", "ClerkAcceptToken", ".htaccess")


def test_directives_need_authconfig_override(client, server):
    _error_500(client, server, "/ht-fileinfo/htenv.py", "ClerkClockSkew", "not allowed here")
