"""clerk-jwt keygen and mint, and the mint -> verify round trip."""
import base64
import hashlib
import json
import os
import stat

import pytest

from clijwt import (FIXTURE_JWKS, FIXTURE_PRIV, FIXTURE_PUB, KEYS, NOW, decode_parts, mint, run)


def b64u_int(s):
    return int.from_bytes(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)), "big")


def thumbprint(jwk):
    canon = json.dumps({"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(hashlib.sha256(canon.encode()).digest()).rstrip(b"=").decode()


# ---------------------------------------------------------------- keygen

def test_keygen_files_modes_and_jwks(devkeys):
    d, info = devkeys
    assert info["ok"] is True and info["alg"] == "RS256" and info["bits"] == 2048
    priv, pub, jwks = d / "private.pem", d / "public.pem", d / "jwks.json"
    assert (info["private_key"], info["public_key"], info["jwks"]) == (str(priv), str(pub), str(jwks))
    assert stat.S_IMODE(os.stat(priv).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(pub).st_mode) == 0o644
    assert priv.read_text().startswith("-----BEGIN PRIVATE KEY-----\n")     # PKCS#8
    assert pub.read_text().startswith("-----BEGIN PUBLIC KEY-----\n")       # SPKI
    keys = json.loads(jwks.read_text())["keys"]
    assert len(keys) == 1
    k = keys[0]
    assert (k["kty"], k["use"], k["alg"], k["e"]) == ("RSA", "sig", "RS256", "AQAB")
    assert b64u_int(k["n"]).bit_length() == 2048
    assert k["kid"] == info["kid"] == thumbprint(k)       # RFC 7638 thumbprint by default


def test_keygen_public_key_matches_jwks(devkeys):
    cryptography = pytest.importorskip("cryptography.hazmat.primitives.serialization")
    d, _ = devkeys
    pubkey = cryptography.load_pem_public_key((d / "public.pem").read_bytes())
    k = json.loads((d / "jwks.json").read_text())["keys"][0]
    assert pubkey.public_numbers().n == b64u_int(k["n"])
    privkey = cryptography.load_pem_private_key((d / "private.pem").read_bytes(), None)
    assert privkey.public_key().public_numbers().n == b64u_int(k["n"])


def test_keygen_text_output_and_custom_kid(tmp_path):
    r = run("keygen", "--out", tmp_path / "a" / "b", "--kid", "ins_devkey1")
    assert r.rc == 0, r
    assert "private.pem  (PKCS#8 RSA-2048 private key, mode 0600" in r.out
    assert r.out.rstrip().endswith("kid   ins_devkey1")
    assert "BEGIN" not in r.out                      # never prints key material
    k = json.loads((tmp_path / "a" / "b" / "jwks.json").read_text())["keys"][0]
    assert k["kid"] == "ins_devkey1"


def test_keygen_refuses_to_overwrite_without_force(tmp_path):
    assert run("keygen", "--out", tmp_path).rc == 0
    before = (tmp_path / "private.pem").read_bytes()
    r = run("keygen", "--out", tmp_path)
    assert r.rc == 2 and "exists; pass --force" in r.err
    assert (tmp_path / "private.pem").read_bytes() == before
    assert run("keygen", "--out", tmp_path, "--force").rc == 0
    assert (tmp_path / "private.pem").read_bytes() != before
    assert stat.S_IMODE(os.stat(tmp_path / "private.pem").st_mode) == 0o600


def test_keygen_bits(tmp_path):
    r = run("keygen", "--out", tmp_path, "--bits", "3072", "--json")
    assert r.rc == 0 and r.json["bits"] == 3072
    k = json.loads((tmp_path / "jwks.json").read_text())["keys"][0]
    assert b64u_int(k["n"]).bit_length() == 3072


def test_keygen_unwritable_dir_is_io_error(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    r = run("keygen", "--out", f / "sub")
    assert r.rc == 2 and "cannot create" in r.err


# ---------------------------------------------------------------- mint

def test_mint_defaults_look_like_clerk(devkeys):
    d, info = devkeys
    r = run("mint", "--key", d / "private.pem", "--now", NOW)
    assert r.rc == 0 and r.err == ""
    tok = r.out.strip()
    assert r.out == tok + "\n" and tok.count(".") == 2
    h, p = decode_parts(tok)
    assert h == {"alg": "RS256", "kid": info["kid"], "typ": "JWT", "cat": "cl_B7d4PD111AAA"}
    assert p["sub"] == "user_dev" and p["sid"].startswith("sess_") and len(p["sid"]) == 32
    assert (p["iat"], p["nbf"], p["exp"]) == (NOW, NOW - 10, NOW + 60)
    assert set(p) == {"sub", "sid", "iat", "nbf", "exp"}


def test_mint_options():
    tok = mint("--sub", "user_42", "--ttl", "300", "--issuer", "https://clerk.example.com",
               "--azp", "https://app.example.com", "--v2", "--alg", "RS384", kid="k1")
    h, p = decode_parts(tok)
    assert h["alg"] == "RS384" and h["kid"] == "k1"
    assert p["sub"] == "user_42" and p["exp"] == NOW + 300 and p["v"] == 2
    assert p["iss"] == "https://clerk.example.com" and p["azp"] == "https://app.example.com"


def test_mint_claims_merge_and_remove(tmp_path):
    tok = mint("--claims", '{"sub":"user_x","org_id":"org_1","nbf":null,"sid":null}')
    _, p = decode_parts(tok)
    assert p["sub"] == "user_x" and p["org_id"] == "org_1"
    assert "nbf" not in p and "sid" not in p
    f = tmp_path / "claims.json"
    f.write_text('{"fea":"o:a"}')
    _, p = decode_parts(mint("--claims", f"@{f}"))
    assert p["fea"] == "o:a"
    r = run("mint", "--key", FIXTURE_PRIV, "--claims", "@-", stdin='{"x":1}')
    assert r.rc == 0 and decode_parts(r.out.strip())[1]["x"] == 1


def test_mint_header_override():
    h, _ = decode_parts(mint("--header", '{"cat":"cl_B7d4PD222AAA","typ":null,"x":1}'))
    assert h["cat"] == "cl_B7d4PD222AAA" and "typ" not in h and h["x"] == 1


def test_mint_json():
    r = run("mint", "--key", FIXTURE_PRIV, "--now", NOW, "--json")
    assert r.rc == 0
    j = r.json
    assert set(j) == {"ok", "token", "header", "payload"}
    h, p = decode_parts(j["token"])
    assert h == j["header"] and p == j["payload"]


def test_mint_never_prints_the_private_key():
    r = run("mint", "--key", FIXTURE_PRIV, "--json")
    assert "PRIVATE" not in r.out + r.err
    secret = FIXTURE_PRIV.read_text().splitlines()[1]
    assert secret not in r.out + r.err


def test_mint_with_pkcs1_key_verifies():
    tok = mint(key=KEYS / "integration-a.private.pem", kid="integration-a")
    r = run("verify", tok, "--now", NOW, "--jwks", KEYS.parent / "jwks_integration_a.json")
    assert r.rc == 0, r
    r = run("verify", tok, "--now", NOW, "--pem", KEYS / "integration-b.public.pem")
    assert r.rc == 1 and r.out.startswith("rejected: token-invalid-signature")


# ---------------------------------------------------------------- round trips

def test_round_trip_with_keygen_keys(devkeys):
    d, info = devkeys
    pk = "pk_test_" + base64.b64encode(b"clerk.demo.localhost$").decode().rstrip("=")
    tok = run("mint", "--key", d / "private.pem", "--v2", "--sub", "user_rt",
              "--issuer", "https://clerk.demo.localhost", "--azp", "http://localhost:3000",
              "--claims", json.dumps({"o": {"id": "org_9", "slg": "nine", "rol": "admin",
                                            "per": "read", "fpm": "1"}, "fea": "o:reports"})
              ).out.strip()
    for key in (["--pem", d / "public.pem"], ["--jwks", d / "jwks.json"]):
        r = run("verify", tok, "--json", *key, "--publishable-key", pk,
                "--authorized-party", "http://localhost:3000")
        assert r.rc == 0, r
        env = r.json["env"]
        assert env["REMOTE_USER"] == "user_rt"
        assert env["CLERK_ORG_ROLE"] == "org:admin"
        assert env["CLERK_ORG_PERMISSIONS"] == "org:reports:read"
        assert env["CLERK_ISSUER"] == "https://clerk.demo.localhost"
    assert run("lint", tok).rc == 0


def test_round_trip_through_stdin(devkeys):
    d, _ = devkeys
    tok = run("mint", "--key", d / "private.pem").out
    r = run("verify", "-", "--jwks", d / "jwks.json", stdin=tok)
    assert r.rc == 0 and r.out.startswith("valid\n")


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512"])
def test_algorithms_and_key_binding(devkeys, alg):
    d, _ = devkeys
    tok = run("mint", "--key", d / "private.pem", "--alg", alg).out.strip()
    # both the PEM key (as in Clerk's SDK) and the JWKS key (alg RS256) are bound to RS256
    for key in (["--pem", d / "public.pem"], ["--jwks", d / "jwks.json"]):
        r = run("verify", tok, *key, "--json")
        if alg == "RS256":
            assert r.rc == 0
        else:
            assert r.rc == 1 and r.json["reason"] == "token-invalid-algorithm"


def test_kid_must_match_the_jwks(devkeys):
    d, _ = devkeys
    tok = run("mint", "--key", d / "private.pem", "--kid", "other").out.strip()
    r = run("verify", tok, "--jwks", d / "jwks.json", "--json")
    assert r.rc == 1 and r.json["reason"] == "jwk-kid-mismatch"
    # with a PEM the kid is not used (as Clerk's SDK)
    assert run("verify", tok, "--pem", d / "public.pem").rc == 0


def test_other_key_is_rejected(devkeys):
    d, _ = devkeys
    tok = run("mint", "--key", d / "private.pem").out.strip()
    r = run("verify", tok, "--pem", FIXTURE_PUB, "--json")
    assert r.json["reason"] == "token-invalid-signature"
    r = run("verify", tok, "--jwks", FIXTURE_JWKS, "--json")
    assert r.json["reason"] == "jwk-kid-mismatch"


def test_expired_and_future_minted_tokens(devkeys):
    d, _ = devkeys
    old = run("mint", "--key", d / "private.pem", "--now", NOW - 7200).out.strip()
    new = run("mint", "--key", d / "private.pem", "--now", NOW + 7200).out.strip()
    assert run("verify", old, "--now", NOW, "--pem", d / "public.pem", "--json").json["reason"] \
        == "token-expired"
    assert run("verify", new, "--now", NOW, "--pem", d / "public.pem", "--json").json["reason"] \
        == "token-not-active-yet"


def test_independent_check_with_pyjwt(devkeys):
    jwt = pytest.importorskip("jwt")
    d, info = devkeys
    tok = run("mint", "--key", d / "private.pem", "--azp", "http://x").out.strip()
    claims = jwt.decode(tok, (d / "public.pem").read_text(), algorithms=["RS256"])
    assert claims["sub"] == "user_dev"
    assert jwt.get_unverified_header(tok)["kid"] == info["kid"]
