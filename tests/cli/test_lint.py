"""clerk-jwt lint: every finding triggered by a crafted token; exit 1 on error/warning."""
import json

import pytest

from clijwt import FIXTURE_PUB, NOW, fixture, hs256_token, mint, run, unsigned_token

ISS = "https://clerk.example.com"
AZP = "https://app.example.com"


def clean(*args, now=NOW):
    """A token with nothing to warn about: iss, azp, sid, 60 s lifetime."""
    return mint("--issuer", ISS, "--azp", AZP, *args, now=now)


def lint(token, *args, now=NOW):
    r = run("lint", token, "--json", "--now", now, *args)
    assert r.rc in (0, 1), r
    j = r.json
    assert j["ok"] == (r.rc == 0)
    return r.rc, j, {(f["code"], f["severity"]) for f in j["findings"]}


def test_clean_token_has_only_the_aud_info():
    rc, j, codes = lint(clean())
    assert rc == 0
    assert codes == {("aud-missing", "info")}
    assert j["counts"] == {"error": 0, "warning": 0, "info": 1}
    assert j["token_type"] == "session_token" and j["signature_verified"] is False


def test_text_output_lines_and_summary():
    r = run("lint", clean("--ttl", "7200", "--claims", '{"azp":null}'), "--now", NOW)
    assert r.rc == 1
    lines = r.out.splitlines()
    # errors first, then warnings, then info
    sev = [line.split()[0] for line in lines[:-1]]
    assert sev == sorted(sev, key=["error", "warning", "info"].index)
    assert any(line.startswith("warning  long-lived ") for line in lines)
    assert any(line.startswith("warning  azp-missing ") for line in lines)
    assert lines[-1].startswith("0 errors, 2 warnings, 1 info")


def test_no_findings_text():
    t = clean("--claims", '{"aud":"api"}')
    r = run("lint", t, "--now", NOW)
    assert r.rc == 0
    assert r.out.startswith("no findings\n0 errors, 0 warnings, 0 info")


@pytest.mark.parametrize("name,args,now,code,severity", [
    ("expired", ["--ttl", "60"], NOW + 3600, "expired", "error"),
    ("not yet valid", ["--claims", json.dumps({"nbf": NOW + 600, "iat": NOW})], NOW,
     "not-yet-valid", "error"),
    ("iat in the future", ["--claims", json.dumps({"iat": NOW + 600, "nbf": NOW})], NOW,
     "iat-in-the-future", "error"),
    ("long-lived > 1 h", ["--ttl", "7200"], NOW, "long-lived", "warning"),
    ("longer than usual", ["--ttl", "600"], NOW, "long-lived", "info"),
    ("missing azp", ["--claims", '{"azp":null}'], NOW, "azp-missing", "warning"),
    ("missing iss", ["--claims", '{"iss":null}'], NOW, "iss-missing", "warning"),
    ("missing sid", ["--claims", '{"sid":null}'], NOW, "sid-missing", "info"),
    ("missing sub", ["--claims", '{"sub":null}'], NOW, "sub-missing", "error"),
    ("missing exp", ["--claims", '{"exp":null}'], NOW, "exp-missing", "error"),
    ("exp not an integer", ["--claims", '{"exp":"never"}'], NOW, "exp-invalid", "error"),
    ("no kid", ["--header", '{"kid":null}'], NOW, "no-kid", "warning"),
    ("pending session", ["--claims", '{"sts":"pending"}'], NOW, "pending-session", "warning"),
    ("JWT template category", ["--header", '{"cat":"cl_B7d4PD222AAA"}'], NOW,
     "template-category", "warning"),
    ("M2M category on a user token", ["--header", '{"cat":"cl_B7d4PD333AAA"}'], NOW,
     "m2m-category", "warning"),
    ("M2M category: not a session", ["--header", '{"cat":"cl_B7d4PD333AAA"}'], NOW,
     "token-type-not-accepted", "warning"),
    ("unknown category", ["--header", '{"cat":"cl_nope"}'], NOW, "category-unknown", "error"),
    ("cat not a string", ["--header", '{"cat":7}'], NOW, "category-invalid", "error"),
    ("typ not JWT", ["--header", '{"typ":"JOSE"}'], NOW, "typ-invalid", "error"),
    ("crit", ["--header", '{"crit":["exp"]}'], NOW, "header-unsupported", "error"),
    ("jku", ["--header", '{"jku":"https://evil.example/jwks"}'], NOW, "header-key-reference",
     "warning"),
    ("RS512 is fine, ES256 is not", ["--header", '{"alg":"ES256"}'], NOW, "alg-unsupported",
     "error"),
    ("v as a string", ["--claims", '{"v":"2"}'], NOW, "claims-version", "warning"),
    ("impersonation", ["--claims", '{"act":{"sub":"user_admin"}}'], NOW, "impersonation", "info"),
    ("malformed fea", ["--v2", "--claims", '{"fea":"o:a,teams","o":{"id":"org_1"}}'], NOW,
     "fea-malformed", "error"),
])
def test_each_finding(name, args, now, code, severity):
    rc, j, codes = lint(clean(*args), now=now)
    assert (code, severity) in codes, (name, j["findings"])
    expect_rc = 1 if any(s in ("error", "warning") for _, s in codes) else 0
    assert rc == expect_rc


@pytest.mark.parametrize("args,code,reason", [
    (["--header", '{"cat":"cl_nope"}'], "category-unknown", "token-type-mismatch"),
    (["--header", '{"cat":7}'], "category-invalid", "token-type-mismatch"),
    (["--sub", "mch_1", "--header", '{"cat":7}'], "category-invalid", "token-invalid"),
])
def test_category_findings_name_the_verdict(args, code, reason):
    _, j, _ = lint(clean(*args))
    msg = next(f["message"] for f in j["findings"] if f["code"] == code)
    assert f"({reason})" in msg
    assert run("verify", clean(*args), "--json", "--now", NOW, "--pem", FIXTURE_PUB,
               "--accept", "any").json["reason"] == reason


def test_within_clock_skew_is_not_expired():
    t = clean("--ttl", "60")
    _, _, codes = lint(t, now=NOW + 64)
    assert ("expired", "error") not in codes
    _, _, codes = lint(t, now=NOW + 65)
    assert ("expired", "error") in codes
    _, _, codes = lint(t, "--clock-skew", "0", now=NOW + 60)
    assert ("expired", "error") in codes


def test_hs256_is_an_error():
    payload = {"sub": "user_1", "iat": NOW, "exp": NOW + 60, "iss": ISS, "azp": AZP, "sid": "s"}
    rc, j, codes = lint(hs256_token(payload))
    assert rc == 1
    assert ("alg-hmac", "error") in codes
    msg = next(f["message"] for f in j["findings"] if f["code"] == "alg-hmac")
    assert "shared-secret" in msg and "token-invalid-algorithm" in msg


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none_is_an_error(alg):
    t = unsigned_token({"alg": alg, "typ": "JWT"},
                       {"sub": "user_1", "iat": NOW, "exp": NOW + 60, "iss": ISS, "azp": AZP})
    assert t.endswith(".")
    rc, _, codes = lint(t)
    assert rc == 1 and ("alg-none", "error") in codes


def test_missing_alg_is_an_error():
    t = unsigned_token({"typ": "JWT"}, {"sub": "user_1", "exp": NOW + 60})
    _, _, codes = lint(t)
    assert ("alg-missing", "error") in codes


@pytest.mark.parametrize("claims,wild", [
    ({"org_id": "org_1", "org_role": "org:admin", "org_permissions": ["org:*"]}, "org:*"),
    ({"org_id": "org_1", "org_role": "org:admin", "org_permissions": ["org:a:read", "*:*"]}, "*:*"),
    ({"v": 2, "fea": "o:reports", "o": {"id": "org_1", "rol": "admin", "per": "read,*",
                                         "fpm": "3"}}, "org:reports:*"),
    ({"v": 2, "fea": "o:*", "o": {"id": "org_1", "rol": "admin", "per": "read", "fpm": "1"}},
     "org:*:read"),
])
def test_wildcard_permissions_are_warnings(claims, wild):
    rc, j, codes = lint(clean("--claims", json.dumps(claims)))
    assert rc == 1
    assert ("wildcard-permission", "warning") in codes
    msg = next(f["message"] for f in j["findings"] if f["code"] == "wildcard-permission")
    assert wild in msg


def test_no_wildcard_no_warning():
    claims = {"v": 2, "fea": "o:reports", "o": {"id": "org_1", "rol": "admin", "per": "read",
                                                 "fpm": "1"}}
    rc, _, codes = lint(clean("--claims", json.dumps(claims)))
    assert rc == 0 and not any(c == "wildcard-permission" for c, _ in codes)


def test_m2m_token_where_session_expected_and_accepted():
    t = clean("--sub", "mch_2xyz", "--header", '{"cat":"cl_B7d4PD333AAA"}',
              "--claims", '{"azp":null,"sid":null,"scopes":"mch_a mch_b"}')
    rc, j, codes = lint(t)
    assert j["token_type"] == "m2m_token"
    assert ("token-type-not-accepted", "warning") in codes
    assert not any(c in ("azp-missing", "sid-missing") for c, _ in codes)   # session-only checks
    rc, j, codes = lint(t, "--accept", "m2m_token")
    assert rc == 0, j["findings"]
    rc, j, codes = lint(t, "--accept", "any")
    assert rc == 0


def test_m2m_subject_with_session_category_is_an_error():
    t = clean("--sub", "mch_2xyz")           # mint sets cat cl_B7d4PD111AAA
    _, _, codes = lint(t, "--accept", "m2m_token")
    assert ("category-mismatch", "error") in codes


def test_wildcard_scope_on_machine_token():
    t = clean("--sub", "mch_1", "--header", '{"cat":"cl_B7d4PD333AAA"}',
              "--claims", '{"scopes":"mch_a *"}')
    _, _, codes = lint(t, "--accept", "m2m_token")
    assert ("wildcard-permission", "warning") in codes


def test_oauth_fixture_token():
    t = fixture("mockSignedOAuthAccessTokenJwt/oauth")
    rc, j, codes = lint(t["token"], now=t["now"])
    assert j["token_type"] == "oauth_token"
    assert ("token-type-not-accepted", "warning") in codes
    assert not any(c == "typ-invalid" for c, _ in codes)
    rc, j, codes = lint(t["token"], "--accept", "oauth_token", now=t["now"])
    assert rc == 0, j["findings"]


def test_malformed_and_opaque():
    rc, j, codes = lint("a.b")
    assert rc == 1 and codes == {("malformed", "error")} and j["token_type"] is None
    rc, j, codes = lint("oat_abcdef")
    assert rc == 0 and codes == {("opaque-token", "info")} and j["token_type"] == "oauth_token"


def test_non_canonical_base64url_is_an_error():
    t = clean()
    h, p, s = t.split(".")
    bad = f"{h}.{p}.{s}==" if len(s) % 4 else f"{h.replace('-', '+').replace('_', '/')}.{p}.{s}"
    _, _, codes = lint(bad)
    assert ("non-canonical-base64url", "error") in codes


def test_too_large_is_an_error():
    t = clean("--claims", json.dumps({"pad": "x" * 17000}))
    _, _, codes = lint(t)
    assert ("too-large", "error") in codes


def test_stdin():
    t = clean()
    r = run("lint", "-", "--now", NOW, stdin=t + "\n")
    assert r.rc == 0 and "aud-missing" in r.out


def test_findings_json_entries_have_stable_keys():
    _, j, _ = lint(clean("--ttl", "7200"))
    assert set(j) == {"ok", "token_type", "now", "counts", "findings", "signature_verified"}
    for f in j["findings"]:
        assert set(f) == {"severity", "code", "message"}
        assert f["severity"] in ("error", "warning", "info")
