"""Helpers for the clerk-jwt tests (run: make cli-test)."""
import base64
import hashlib
import hmac
import json
import math
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# CLERK_JWT=path runs the tests against another build (e.g. with sanitizers).
CLI = Path(os.environ.get("CLERK_JWT", ROOT / "build" / "clerk-jwt"))
VECTORS = ROOT / "tests" / "vectors" / "clerk"
KEYS = VECTORS / "keys"

# The Clerk fixture key pair (public test keys) and its kid.
FIXTURE_KID = "ins_2GIoQhbUpy0hX7B2cVkuTMinXoD"
FIXTURE_PRIV = KEYS / f"{FIXTURE_KID}.private.pem"
FIXTURE_PUB = KEYS / f"{FIXTURE_KID}.public.pem"
FIXTURE_JWKS = VECTORS / "jwks.json"
# pk_test_ for clerk.inspired.puma-74.lcl.dev, the fixture tokens' issuer host.
FIXTURE_PK = "pk_test_Y2xlcmsuaW5zcGlyZWQucHVtYS03NC5sY2wuZGV2JA"
FIXTURE_ISS = "https://clerk.inspired.puma-74.lcl.dev"

NOW = 1767225600  # 2026-01-01T00:00:00Z: a fixed clock for minted tokens


class Result:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    @property
    def json(self):
        return json.loads(self.out)

    def __repr__(self):
        return f"<rc={self.rc} out={self.out!r} err={self.err!r}>"


def run(*args, stdin=None, env=None):
    if not CLI.exists():
        pytest.fail(f"{CLI} is missing: run 'make cli' first")
    proc = subprocess.run([str(CLI), *map(str, args)], input=stdin, capture_output=True,
                          text=True, timeout=60, env=env)
    return Result(proc)


def fixture_tokens():
    with open(VECTORS / "fixture_tokens.json") as f:
        return json.load(f)["tokens"]


def fixture(name):
    for t in fixture_tokens():
        if t["name"] == name:
            return t
    raise KeyError(name)


def floor_now(t):
    return math.floor(t["now"])


def b64url(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(obj):
    return b64url(json.dumps(obj, separators=(",", ":")))


def unsigned_token(header, payload, sig=b""):
    """A JWS with an arbitrary header and signature bytes (not a real signature)."""
    return f"{b64url_json(header)}.{b64url_json(payload)}.{b64url(sig) if sig else ''}"


def hs256_token(payload, secret=b"shared-secret", header=None):
    h = {"alg": "HS256", "typ": "JWT", "kid": "k1"}
    if header:
        h.update(header)
    signing_input = f"{b64url_json(h)}.{b64url_json(payload)}"
    sig = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(sig)}"


def mint(*args, key=FIXTURE_PRIV, kid=FIXTURE_KID, now=NOW):
    """A token from 'clerk-jwt mint' with the fixture key (kid of the fixture JWKS)."""
    extra = ["--kid", kid] if kid else []
    r = run("mint", "--key", key, "--now", now, *extra, *args)
    assert r.rc == 0, r
    return r.out.strip()


def decode_parts(token):
    h, p, _ = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    return (json.loads(base64.urlsafe_b64decode(pad(h))),
            json.loads(base64.urlsafe_b64decode(pad(p))))


def pk_for(host):
    return "pk_test_" + base64.b64encode(f"{host}$".encode()).decode().rstrip("=")


def env_without(*names):
    env = dict(os.environ)
    for n in names:
        env.pop(n, None)
    return env
