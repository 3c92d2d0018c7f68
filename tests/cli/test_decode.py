"""clerk-jwt decode: header/payload, times, token type, category, org view."""
import json

import pytest

from clijwt import (NOW, VECTORS, b64url_json, fixture, floor_now, mint,
                    run, unsigned_token)

SIGNED = fixture("signedJwt/valid-pem")   # iat 1666648250, nbf 1666648240, exp 1666648310


def test_text_output_of_the_fixture_session_token():
    r = run("decode", SIGNED["token"], "--now", 1666648260)
    assert r.rc == 0, r
    out = r.out
    assert out.startswith("Header\n{\n")
    assert '"kid": "ins_2GIoQhbUpy0hX7B2cVkuTMinXoD"' in out
    assert '"sub": "user_2GIpXOEpVyJw51rkZn9Kmnc6Sxr"' in out
    assert "  type         session_token\n" in out
    assert "  algorithm    RS256\n" in out
    assert "  claims       v1\n" in out
    assert "category     absent" in out
    assert "Times (now 2022-10-24T21:51:00Z, clock skew 5 s)" in out
    assert "iat  1666648250   2022-10-24T21:50:50Z  issued 10s ago" in out
    assert "nbf  1666648240   2022-10-24T21:50:40Z  valid since 20s ago" in out
    assert "exp  1666648310   2022-10-24T21:51:50Z  expires in 50s" in out
    assert "lifetime 1m (exp - iat)" in out
    assert "  azp          https://accounts.inspired.puma-74.lcl.dev" in out
    assert "(no active organization)" in out
    assert "Signature: not verified" in out


@pytest.mark.parametrize("now,phrase", [
    (1666648312, "expired 2s ago (still within the clock skew)"),
    (1666648310 + 3 * 86400 + 4 * 3600, "expired 3d 4h ago"),
    (1666648310 + 3600 + 120, "expired 1h 2m ago"),
    (1666648310 - 125, "expires in 2m 5s"),
])
def test_relative_expiry(now, phrase):
    r = run("decode", SIGNED["token"], "--now", now)
    assert r.rc == 0
    assert phrase in r.out


def test_now_accepts_iso_and_fractions():
    a = run("decode", SIGNED["token"], "--json", "--now", "2022-10-24T21:51:00Z").json
    b = run("decode", SIGNED["token"], "--json", "--now", "1666648260.999").json
    assert a["now"] == b["now"] == 1666648260


def test_json_structure():
    r = run("decode", "--json", SIGNED["token"], "--now", 1666648320)
    assert r.rc == 0
    j = r.json
    assert set(j) == {"ok", "format", "canonical_base64url", "header", "payload", "token_type",
                      "alg", "kid", "typ", "category", "claims_version", "now", "now_utc",
                      "times", "lifetime", "expired", "org", "features", "plans",
                      "signature_verified"}
    assert j["ok"] is True and j["format"] == "jws" and j["canonical_base64url"] is True
    assert j["header"] == SIGNED["header"] and j["payload"] == SIGNED["payload"]
    assert j["token_type"] == "session_token"
    assert (j["alg"], j["kid"], j["typ"]) == ("RS256", "ins_2GIoQhbUpy0hX7B2cVkuTMinXoD", "JWT")
    assert j["category"] is None and j["claims_version"] == 1
    assert j["times"]["exp"] == {"value": 1666648310, "utc": "2022-10-24T21:51:50Z",
                                 "seconds_from_now": -10, "relative": "expired 10s ago"}
    assert j["times"]["iat"]["utc"] == "2022-10-24T21:50:50Z"
    assert j["lifetime"] == 60 and j["expired"] is True
    assert j["org"] is None and j["features"] is None and j["plans"] is None
    assert j["signature_verified"] is False


def test_stdin_dash_with_whitespace():
    r = run("decode", "-", "--json", "--now", NOW, stdin="\n  " + SIGNED["token"] + "  \r\n")
    assert r.rc == 0
    assert r.json["payload"]["sub"] == "user_2GIpXOEpVyJw51rkZn9Kmnc6Sxr"


@pytest.mark.parametrize("cat,key,text", [
    ("cl_B7d4PD111AAA", "session", "session token"),
    ("cl_B7d4PD222AAA", "jwt_template", "JWT template"),
    ("cl_B7d4PD333AAA", "m2m", "M2M token"),
    ("cl_I7d4PD111III", "ignore", "ignore"),
    ("cl_Zzz", "unknown", "unknown category"),
])
def test_categories_are_named(cat, key, text):
    t = mint("--header", json.dumps({"cat": cat}))
    j = run("decode", t, "--json").json
    assert j["category"] == {"value": cat, "name": key, "description": j["category"]["description"]}
    assert text in j["category"]["description"]
    assert f"category     {cat} ({text}" in run("decode", t).out


@pytest.mark.parametrize("header,claims,expected", [
    ({}, {}, "session_token"),
    ({"typ": "at+jwt"}, {}, "oauth_token"),
    ({"typ": "application/at+jwt"}, {"sub": "user_1"}, "oauth_token"),
    ({"typ": "application/at+jwt"}, {"sub": "mch_1"}, "m2m_token"),     # mch_ first, as Clerk
    ({"typ": "at+jwt", "cat": "cl_B7d4PD333AAA"}, {"sub": "user_1"}, "oauth_token"),
    ({}, {"sub": "mch_2abc"}, "m2m_token"),
    ({"cat": "cl_B7d4PD333AAA"}, {"sub": "user_1"}, "m2m_token"),
    ({"cat": "cl_B7d4PD222AAA"}, {}, "session_token"),
])
def test_token_type_is_classified_like_the_core(header, claims, expected):
    t = mint("--header", json.dumps(header), "--claims", json.dumps(claims))
    assert run("decode", t, "--json").json["token_type"] == expected
    assert f"  type         {expected}" in run("decode", t).out


def test_fixture_oauth_token_is_oauth():
    t = fixture("mockSignedOAuthAccessTokenJwt/oauth")["token"]
    r = run("decode", t, "--now", 1666648260)
    assert "type         oauth_token (typ at+jwt)" in r.out
    assert "scopes       read:foo write:bar" in r.out


def test_v2_org_text_view():
    t = mint("--v2", "--claims", json.dumps({
        "o": {"id": "org_1", "slg": "acme", "rol": "admin", "per": "manage,read", "fpm": "3,2"},
        "fea": "u:x,o:dashboard,o:teams", "pla": "o:pro"}))
    out = run("decode", t).out
    assert "  claims       v2\n" in out
    assert "  id           org_1\n" in out
    assert "  slug         acme\n" in out
    assert "  role         org:admin\n" in out
    assert "  permissions  org:dashboard:manage,org:dashboard:read,org:teams:read\n" in out
    assert "  features     u:x,o:dashboard,o:teams  (org: dashboard,teams; user: x)" in out
    assert "  plans        o:pro  (org: pro; user: -)" in out


def _vectors():
    with open(VECTORS / "v2_claims_vectors.json") as f:
        d = json.load(f)
    return d["base_claims_added"], d["vectors"]


BASE, V2 = _vectors()


@pytest.mark.parametrize("vec", V2, ids=[v["name"][:70] for v in V2])
def test_org_view_matches_clerk_sdk_vectors(vec):
    """decode uses clerk_org_from_payload: same org as @clerk/backend for every vector."""
    payload = dict(BASE)
    payload.update(vec["claims"])
    t = unsigned_token({"alg": "RS256", "typ": "JWT", "kid": "k"}, payload, b"\x01" * 256)
    j = run("decode", t, "--json").json
    exp = vec["expected"]
    if exp["throws"]:
        assert "error" in j["org"], j["org"]
        assert "the module rejects the token" in run("decode", t).out
        return
    org = j["org"] or {}
    assert org.get("id") == exp["org_id"]
    assert org.get("slug") == exp["org_slug"]
    assert org.get("role") == exp["org_role"]
    assert org.get("permissions") == exp["org_permissions"]


@pytest.mark.parametrize("token,needle", [
    ("not-a-token", "1 dot-separated segment; a JWS has 3"),
    ("a.b", "2 dot-separated segments"),
    ("a.b.c.d.e", "encrypted JWE"),
    ("!!!.e30.", "header segment is not base64url"),
    (b64url_json([1]) + ".e30.", "JSON is not an object"),
    ("e30." + b64url_json({}).replace("e", "!") + ".", "payload segment is not base64url"),
    ('eyJhbGciOiJSUzI1NiIsImFsZyI6Im5vbmUifQ.e30.', "header: invalid JSON"),  # duplicate alg
    ("mt_8XOIucKvqHVr5tYP123456789abcdefghij", "opaque m2m_token"),
    ("oat_8XOIucKvqHVr5tYP123456789abcdefghij", "opaque oauth_token"),
    ("ak_LCWGdaM8mv8K4PC/57IICZQXAeWfCgF30DZaFXHoGn9=", "opaque api_key"),
])
def test_undecodable_tokens_exit_1(token, needle):
    r = run("decode", token)
    assert r.rc == 1, r
    assert r.out.startswith("not a decodable JWT: ")
    assert needle in r.out
    j = run("decode", token, "--json").json
    assert j["ok"] is False and needle in j["error"]


def test_opaque_json_names_the_type():
    j = run("decode", "--json", "mt_abc").json
    assert (j["format"], j["token_type"]) == ("opaque", "m2m_token")


def test_padded_base64_is_decoded_but_flagged():
    t = mint()
    h, p, s = t.split(".")
    padded = f"{h}{'=' * (-len(h) % 4)}.{p}.{s}"
    if padded == t:     # the header happened to need no padding: use the standard alphabet
        padded = t.replace("-", "+").replace("_", "/")
    j = run("decode", padded, "--json").json
    assert j["ok"] is True and j["canonical_base64url"] is False
    assert "not canonical unpadded base64url" in run("decode", padded).out


def test_invalid_time_claims_are_reported():
    t = unsigned_token({"alg": "RS256"}, {"sub": "user_1", "exp": "tomorrow", "iat": 1.5})
    r = run("decode", t, "--json")
    assert r.rc == 0
    j = r.json
    assert j["times"]["exp"]["error"] == "not an integer NumericDate"
    assert j["times"]["iat"]["error"] == "not an integer NumericDate"
    assert j["expired"] is None and j["lifetime"] is None
    assert "exp  not an integer NumericDate" in run("decode", t).out


def test_decode_never_prints_the_token():
    t = mint()
    r = run("decode", t)
    assert t not in r.out and t.split(".")[2] not in r.out
