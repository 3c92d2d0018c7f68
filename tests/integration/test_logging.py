"""The error log: the reason of every rejection at debug, never a token."""
import re

import pytest

import clerk_tokens as T

URL = "/t/basic/env"


@pytest.mark.parametrize("make,reason", [
    (lambda: T.mint(exp=T.now() - 999), "token-expired"),
    (lambda: T.mint(nbf=T.now() + 999), "token-not-active-yet"),
    (lambda: T.mint(iat=T.now() + 999), "token-iat-in-the-future"),
    (lambda: T.mint(key="b"), "token-invalid-signature"),
    (lambda: T.raw_session({"alg": "HS256"}, alg="HS256", key=b"secret"), "token-invalid-algorithm"),
    (lambda: T.mint(sub=T.DROP), "token-verification-failed"),
    (lambda: T.mint(sts="pending"), "session-pending"),
    (lambda: T.mint_m2m(), "token-type-mismatch"),
    (lambda: "not-a-token", "token-invalid"),
], ids=["expired", "nbf", "iat", "signature", "algorithm", "no-sub", "pending", "type", "malformed"])
def test_reason_logged_token_not(client, server, make, reason):
    tok = make()
    mark = server.log_mark()
    r = client.get(URL, token=tok)
    assert r.status_code == 401
    text = server.log_since(mark)
    debug = [l for l in text.splitlines() if "[auth_clerk:debug]" in l]
    assert any(reason in l for l in debug), "no debug line with %s:\n%s" % (reason, text)
    for seg in tok.split("."):
        if len(seg) >= 16:
            assert seg not in text, "token text in the error log"


@pytest.mark.parametrize("url,kw,reason", [
    ("/t/azp/env", {"azp": "https://evil.example"}, "token-invalid-authorized-parties"),
    ("/t/issuer/env", {"iss": "https://evil.example"}, "token-invalid-issuer"),
    ("/t/aud/env", {"aud": "https://evil.example"}, "token-invalid-audience"),
    ("/t/jwks/env", {"kid": "unknown-kid"}, "jwk-kid-mismatch"),
])
def test_reason_logged_per_directive(client, server, url, kw, reason):
    kw = dict(kw)                       # parameters are shared between MPM runs
    kid = kw.pop("kid", None)
    tok = T.mint(kid=kid, **kw)
    mark = server.log_mark()
    assert client.get(url, token=tok).status_code == 401
    text = server.log_since(mark)
    assert reason in text, text
    assert T.signature_of(tok) not in text


def test_no_token_logged_at_debug(client, server):
    mark = server.log_mark()
    assert client.get(URL).status_code == 401
    text = server.log_since(mark)
    assert "[auth_clerk:debug]" in text, text


def test_cookie_token_not_logged(client, server):
    tok = T.mint(exp=T.now() - 999)
    mark = server.log_mark()
    assert client.get(URL, session=tok).status_code == 401
    text = server.log_since(mark)
    assert "token-expired" in text
    assert T.signature_of(tok) not in text
    assert tok.split(".")[1] not in text


def test_valid_token_not_logged(client, server):
    tok = T.mint()
    mark = server.log_mark()
    assert client.get("/t/p/role/env", token=tok).status_code == 401
    assert client.get(URL, token=tok).status_code == 200
    text = server.log_since(mark)
    for seg in tok.split("."):
        assert seg not in text


def test_log_lines_are_single_lines(server):
    """Attacker-controlled values (kid, claims) never start a line of their own."""
    for line in server.error_log().splitlines():
        if line.strip():
            assert re.match(r"^\[", line) or line.startswith((" ", "\t", "AH")), repr(line[:200])
