"""clerk-jwt verify with network key sources and the Backend API, against a
local fake of Clerk's APIs on 127.0.0.1 (the same calls the module makes)."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from clijwt import FIXTURE_PUB, VECTORS, fixture, run

SECRET = "sk_test_network_secret"
JWKS = (VECTORS / "jwks.json").read_bytes()


class FakeClerk(BaseHTTPRequestHandler):
    seen = []

    def log_message(self, *args):
        pass

    def reply(self, status, body=b""):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def authorized(self):
        return self.headers.get("Authorization") == "Bearer " + SECRET

    def do_GET(self):
        FakeClerk.seen.append((self.path, dict(self.headers)))
        if self.path == "/.well-known/jwks.json":
            return self.reply(200, JWKS)
        if self.path == "/v1/jwks":
            return self.reply(200, JWKS) if self.authorized() else self.reply(401)
        self.reply(404)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeClerk.seen.append((self.path, dict(self.headers)))
        if not self.authorized():
            return self.reply(401)
        if self.path == "/m2m_tokens/verify" and body.get("token") == GOOD_M2M:
            return self.reply(200, json.dumps({
                "object": "machine_to_machine_token", "id": "mt_1", "subject": "mch_1",
                "scopes": ["mch_2"], "revoked": False, "expired": False,
                "expiration": None}).encode())
        self.reply(404)


GOOD_M2M = "mt_" + "g" * 32     # a well-formed opaque token the fake knows


@pytest.fixture(scope="module")
def fake():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeClerk)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()


def at_fixture_clock(*args):
    t = fixture("signedJwt/valid-pem")
    return run("verify", t["token"], "--now", t["now"], "--json", *args)


def test_jwks_url(fake):
    r = at_fixture_clock("--jwks", fake + "/.well-known/jwks.json")
    assert r.rc == 0 and r.json["valid"]


def test_backend_api_jwks_with_the_secret_key(fake):
    FakeClerk.seen.clear()
    r = at_fixture_clock("--secret-key", SECRET, "--api-url", fake)
    assert r.rc == 0 and r.json["valid"]
    path, headers = FakeClerk.seen[-1]
    assert path == "/v1/jwks"
    assert headers["Clerk-API-Version"] == "2026-05-12"


def test_backend_api_refusing_the_secret_is_an_error_that_never_shows_it(fake):
    r = at_fixture_clock("--secret-key", "sk_test_wrong", "--api-url", fake)
    assert r.rc == 2
    assert "HTTP status 401" in r.err and "sk_test_wrong" not in r.out + r.err


def test_opaque_m2m_token_through_the_backend_api(fake):
    r = run("verify", GOOD_M2M, "--json", "--accept", "m2m_token", "--secret-key", SECRET,
            "--api-url", fake)
    assert r.rc == 0 and r.json["valid"]
    assert r.json["env"]["CLERK_MACHINE_ID"] == "mch_1"
    assert r.json["env"]["CLERK_TOKEN_TYPE"] == "m2m_token"
    path, headers = FakeClerk.seen[-1]
    assert path == "/m2m_tokens/verify" and headers["Content-Type"] == "application/json"


def test_unknown_opaque_token_is_token_invalid(fake):
    FakeClerk.seen.clear()
    r = run("verify", "mt_" + "u" * 32, "--json", "--accept", "m2m_token", "--secret-key", SECRET,
            "--api-url", fake)
    assert r.rc == 1 and r.json["reason"] == "token-invalid"
    assert [path for path, _ in FakeClerk.seen] == ["/m2m_tokens/verify"]


@pytest.mark.parametrize("token", ["mt_good", "oat_" + "a" * 257, "ak_" + "a" * 20 + "%2F"])
def test_malformed_opaque_token_is_token_invalid_without_a_call(fake, token):
    """As the module decides: a malformed opaque token never reaches the Backend API."""
    FakeClerk.seen.clear()
    r = run("verify", token, "--json", "--accept", "any", "--secret-key", SECRET,
            "--api-url", fake)
    assert r.rc == 1 and r.json["reason"] == "token-invalid", r.out + r.err
    assert "malformed" in r.json["detail"]
    assert FakeClerk.seen == []


def test_pem_wins_over_network_sources(fake):
    FakeClerk.seen.clear()
    r = at_fixture_clock("--pem", str(FIXTURE_PUB), "--secret-key", SECRET, "--api-url", fake)
    assert r.rc == 0 and r.json["valid"] and FakeClerk.seen == []
