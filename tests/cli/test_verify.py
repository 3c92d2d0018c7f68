"""clerk-jwt verify: the module's decision for Clerk's fixture tokens, options as directives."""
import json

import pytest

from clijwt import (FIXTURE_ISS, FIXTURE_JWKS, FIXTURE_PK, FIXTURE_PUB, NOW, VECTORS,
                    fixture, fixture_tokens, floor_now, hs256_token, mint, pk_for, run,
                    unsigned_token)

# Where the module's reason differs from @clerk/backend's, on purpose.
DEVIATIONS = {
    # Clerk: verifyToken fails on typ (token-invalid).  The module classifies the
    # verified at+jwt token as oauth_token first: not accepted for sessions.
    "mockSignedOAuthAccessTokenJwt/session": "token-type-mismatch",
    # Clerk: a session JWT given to verifyMachineAuthToken is "neither M2M nor
    # OAuth" (token-verification-failed); the module: a session token where only
    # machine tokens are accepted.
    "signedJwt/as-oauth": "token-type-mismatch",
    # Clerk collapses machine-token errors into token-verification-failed; the
    # module keeps the precise reason.
    "mockSignedOAuthAccessTokenJwt/expired": "token-expired",
}

CASES = [t for t in fixture_tokens() if t["verifier"] != "authenticateRequest"]


def verify_args(t):
    args = ["verify", t["token"], "--json", "--now", floor_now(t)]
    args += ["--pem", VECTORS / t["key"]] if "key" in t else ["--jwks", VECTORS / t["jwks"]]
    o = t["options"]
    for a in o.get("authorizedParties", []):
        args += ["--authorized-party", a]
    if "issuer" in o:
        args += ["--issuer", o["issuer"]]
    if "clockSkewInMs" in o:
        args += ["--clock-skew", o["clockSkewInMs"] // 1000]
    if t["verifier"] == "verifyMachineAuthToken":
        args += ["--accept", "m2m_token", "--accept", "oauth_token"]
    return args


@pytest.mark.parametrize("t", CASES, ids=[t["name"] for t in CASES])
def test_fixture_tokens(t):
    r = run(*verify_args(t))
    exp = t["expect"]
    j = r.json
    if exp["result"] == "valid":
        assert r.rc == 0, j
        assert j["valid"] is True and j["reason"] == "ok"
        env = j["env"]
        if t["verifier"] == "verifyToken":
            assert env["REMOTE_USER"] == exp["user_id"] == env["CLERK_USER_ID"]
            assert env.get("CLERK_SESSION_ID") == exp["session_id"]
            assert env["CLERK_TOKEN_TYPE"] == "session_token"
        else:
            assert env["CLERK_TOKEN_TYPE"] == exp["token_type"]
            assert env["REMOTE_USER"] == exp["subject"]
            assert env["CLERK_SCOPES"] == " ".join(exp["scopes"])
            assert env["CLERK_TOKEN_ID"] == exp["id"]
    else:
        assert r.rc == 1, j
        assert j["valid"] is False
        assert j["reason"] == DEVIATIONS.get(t["name"], exp["reason"])
        assert j["env"] is None and j["remote_user"] is None


def test_text_output_valid():
    t = fixture("signedJwt/valid-pem")
    r = run("verify", t["token"], "--now", t["now"], "--pem", FIXTURE_PUB,
            "--publishable-key", FIXTURE_PK)
    assert r.rc == 0
    lines = r.out.splitlines()
    assert lines[0] == "valid"
    assert "  token type   session_token" in lines
    assert "  issuer       https://clerk.inspired.puma-74.lcl.dev (from the publishable key)" in lines
    i = lines.index("Variables the module sets (ClerkPassClaimsAs env):")
    assert lines[i + 1:i + 6] == [
        "REMOTE_USER=user_2GIpXOEpVyJw51rkZn9Kmnc6Sxr",
        "AUTH_TYPE=Clerk",
        "CLERK_TOKEN_TYPE=session_token",
        "CLERK_USER_ID=user_2GIpXOEpVyJw51rkZn9Kmnc6Sxr",
        "CLERK_SESSION_ID=sess_2GbDB4enNdCa5vS1zpC3Xzg9tK9",
    ]
    assert "CLERK_EXPIRES_AT=1666648310" in lines
    assert any(line.startswith('CLERK_CLAIMS={"azp":') for line in lines)


def test_text_output_rejected():
    t = fixture("mockExpiredJwt")
    r = run("verify", t["token"], "--now", t["now"], "--pem", FIXTURE_PUB)
    assert r.rc == 1
    assert r.out.splitlines()[:2] == ["rejected: token-expired", "  detail       exp has passed"]
    assert "Variables" not in r.out


def test_token_is_never_printed():
    t = fixture("signedJwt/valid-pem")
    for extra in ([], ["--json"]):
        r = run("verify", t["token"], "--now", t["now"], "--pem", FIXTURE_PUB, *extra)
        assert t["token"] not in r.out + r.err
        assert t["token"].split(".")[2] not in r.out + r.err


def test_json_structure():
    t = fixture("signedJwt/valid-jwks")
    j = run(*verify_args(t)).json
    assert set(j) == {"ok", "valid", "reason", "detail", "kid", "token_type", "remote_user",
                      "env", "headers", "options"}
    assert j["kid"] == "ins_2GIoQhbUpy0hX7B2cVkuTMinXoD" and j["token_type"] == "session_token"
    assert list(j["env"])[:3] == ["REMOTE_USER", "AUTH_TYPE", "CLERK_TOKEN_TYPE"]
    assert j["headers"]["X-Clerk-User-Id"] == "user_2GIpXOEpVyJw51rkZn9Kmnc6Sxr"
    assert j["options"] == {"key_source": "jwks", "key_file": str(VECTORS / "jwks.json"),
                            "issuer_source": "unchecked", "issuers": [],
                            "authorized_parties": [], "audiences": [], "clock_skew": 5,
                            "accept": "session_token", "allow_pending": False,
                            "now": 1666648260, "remote_user_claim": "sub"}


def test_stdin():
    t = fixture("signedJwt/valid-pem")
    r = run("verify", "-", "--now", t["now"], "--pem", FIXTURE_PUB, stdin=f"  {t['token']}\n")
    assert r.rc == 0 and r.out.startswith("valid\n")


def test_issuer_from_publishable_key_and_overrides():
    t = fixture("signedJwt/valid-pem")
    base = ["verify", t["token"], "--json", "--now", t["now"], "--pem", FIXTURE_PUB]
    j = run(*base, "--publishable-key", FIXTURE_PK).json
    assert j["valid"] and j["options"]["issuers"] == [FIXTURE_ISS]
    assert j["options"]["issuer_source"] == "publishable_key"
    other = pk_for("clerk.other.example.com")
    r = run(*base, "--publishable-key", other)
    assert r.rc == 1 and r.json["reason"] == "token-invalid-issuer"
    assert r.json["options"]["issuers"] == ["https://clerk.other.example.com"]
    # --issuer wins over the publishable key; 'off' disables the check
    j = run(*base, "--publishable-key", other, "--issuer", FIXTURE_ISS,
            "--issuer", "https://x.example").json
    assert j["valid"] and j["options"]["issuer_source"] == "issuer"
    j = run(*base, "--publishable-key", other, "--issuer", "off").json
    assert j["valid"] and j["options"]["issuers"] == [] and j["options"]["issuer_source"] == "off"


def test_publishable_keys_from_vectors():
    with open(VECTORS / "publishable_keys.json") as f:
        keys = json.load(f)
    keys = keys.get("keys", keys) if isinstance(keys, dict) else keys
    t = fixture("signedJwt/valid-pem")
    checked = 0
    for k in keys:
        if not isinstance(k, dict) or "key" not in k:
            continue
        r = run("verify", t["token"], "--json", "--now", t["now"], "--pem", FIXTURE_PUB,
                "--publishable-key", k["key"])
        if k.get("valid"):
            assert r.rc in (0, 1), (k, r)
            assert r.json["options"]["issuers"] == [k["expected_issuer"]], k
            assert r.json["valid"] == (k["expected_issuer"] == FIXTURE_ISS), k
        else:
            assert r.rc == 2, (k, r)
        checked += 1
    assert checked >= 5


def test_audience():
    t = fixture("signedJwt/valid-pem")
    base = ["verify", t["token"], "--json", "--now", t["now"], "--pem", FIXTURE_PUB]
    assert run(*base, "--audience", "api").json["reason"] == "token-invalid-audience"
    tok = mint("--claims", '{"aud":["api","other"]}')
    j = run("verify", tok, "--json", "--now", NOW, "--jwks", FIXTURE_JWKS, "--audience", "x",
            "--audience", "api").json
    assert j["valid"], j


def test_authorized_parties_require_azp():
    tok = mint()        # no azp
    r = run("verify", tok, "--json", "--now", NOW, "--pem", FIXTURE_PUB,
            "--authorized-party", "https://app.example.com")
    assert r.rc == 1 and r.json["reason"] == "token-invalid-authorized-parties"
    assert r.json["detail"] == "azp is missing"


def test_pending_sessions():
    tok = mint("--claims", '{"sts":"pending"}')
    base = ["verify", tok, "--json", "--now", NOW, "--pem", FIXTURE_PUB]
    r = run(*base)
    assert r.rc == 1 and r.json["reason"] == "session-pending"
    r = run(*base, "--allow-pending")
    assert r.rc == 0 and r.json["env"]["CLERK_SESSION_STATUS"] == "pending"


def test_accept_types():
    m2m = mint("--sub", "mch_2machine", "--header", '{"cat":"cl_B7d4PD333AAA"}',
               "--claims", '{"scopes":"mch_a mch_b","jti":"mt_123"}')
    base = ["verify", m2m, "--json", "--now", NOW, "--pem", FIXTURE_PUB]
    assert run(*base).json["reason"] == "token-type-mismatch"
    j = run(*base, "--accept", "m2m_token").json
    assert j["valid"] and j["token_type"] == "m2m_token"
    assert j["env"]["CLERK_MACHINE_ID"] == "mch_2machine"
    assert j["env"]["CLERK_SCOPES"] == "mch_a mch_b"
    assert "CLERK_USER_ID" not in j["env"]
    assert run(*base, "--accept", "any").json["valid"]
    assert j["options"]["accept"] == "m2m_token"
    # a JWT template where a session is expected
    tpl = mint("--header", '{"cat":"cl_B7d4PD222AAA"}')
    assert run("verify", tpl, "--json", "--now", NOW, "--pem", FIXTURE_PUB).json["reason"] == \
        "token-type-mismatch"


@pytest.mark.parametrize("cat", ["cl_nope", "", "cl_b7d4pd111aaa", "cl_i7d4pd111iii", 7, [],
                                 ["cl_B7d4PD111AAA"]])
def test_other_categories_are_a_type_mismatch(cat):
    """As Clerk's authenticateRequest: any cat but the session and ignore ones, any JSON type."""
    tok = mint("--header", json.dumps({"cat": cat}))
    r = run("verify", tok, "--json", "--now", NOW, "--pem", FIXTURE_PUB)
    assert r.rc == 1 and r.json["reason"] == "token-type-mismatch", r.json


@pytest.mark.parametrize("cat", ["cl_B7d4PD111AAA", "cl_I7d4PD111III"])
def test_session_categories_verify(cat):
    tok = mint("--header", json.dumps({"cat": cat}))
    assert run("verify", tok, "--json", "--now", NOW, "--pem", FIXTURE_PUB).json["valid"]


def test_remote_user_claim():
    tok = mint("--claims", '{"email":"a@example.com","empty":""}')
    base = ["verify", tok, "--json", "--now", NOW, "--pem", FIXTURE_PUB]
    j = run(*base, "--remote-user-claim", "email").json
    assert j["valid"] and j["env"]["REMOTE_USER"] == "a@example.com"
    for claim in ("missing", "empty"):
        r = run(*base, "--remote-user-claim", claim)
        assert r.rc == 1 and r.json["reason"] == "token-verification-failed"
        assert claim in r.json["detail"]


def test_v2_claims_exported():
    tok = mint("--v2", "--claims", json.dumps({
        "o": {"id": "org_1", "slg": "acme", "rol": "admin", "per": "manage,read", "fpm": "3,2"},
        "fea": "u:x,o:dashboard,o:teams", "pla": "u:free", "act": {"sub": "user_imp"}}))
    env = run("verify", tok, "--json", "--now", NOW, "--jwks", FIXTURE_JWKS).json["env"]
    assert env["CLERK_ORG_ID"] == "org_1" and env["CLERK_ORG_SLUG"] == "acme"
    assert env["CLERK_ORG_ROLE"] == "org:admin"
    assert env["CLERK_ORG_PERMISSIONS"] == "org:dashboard:manage,org:dashboard:read,org:teams:read"
    assert env["CLERK_FEATURES"] == "u:x,o:dashboard,o:teams"
    assert env["CLERK_PLANS"] == "u:free"
    assert env["CLERK_ACTOR_ID"] == "user_imp"


def test_hs256_and_none_are_rejected():
    cases = [
        (hs256_token({"sub": "user_1", "exp": NOW + 60}), "token-invalid-algorithm"),
        (unsigned_token({"alg": "none"}, {"sub": "user_1", "exp": NOW + 60}, b"x"),
         "token-invalid-algorithm"),
        # an unsigned JWS ends in "." (empty signature): Clerk names the alg, in any case
        *[(unsigned_token({"alg": alg}, {"sub": "user_1", "exp": NOW + 60}),
           "token-invalid-algorithm") for alg in ("none", "None", "NONE", "nOnE", "HS256")],
        (unsigned_token({"typ": "JWT"}, {"sub": "user_1", "exp": NOW + 60}),
         "token-invalid-algorithm"),
        # an RS256 header with no signature is malformed
        (unsigned_token({"alg": "RS256"}, {"sub": "user_1", "exp": NOW + 60}), "token-invalid"),
    ]
    for tok, reason in cases:
        r = run("verify", tok, "--json", "--now", NOW, "--pem", FIXTURE_PUB)
        assert r.rc == 1 and r.json["reason"] == reason, (tok, r.json)


def test_opaque_token_of_a_type_not_accepted_is_a_type_mismatch():
    r = run("verify", "mt_abcdef", "--json", "--pem", FIXTURE_PUB)
    assert r.rc == 1 and r.json["reason"] == "token-type-mismatch"


def test_opaque_token_without_a_secret_key_is_refused():
    r = run("verify", "mt_abcdef", "--json", "--pem", FIXTURE_PUB, "--accept", "m2m_token")
    assert r.rc == 1 and r.json["reason"] == "token-invalid"


def test_clock_skew_option():
    t = fixture("signedJwt/valid-pem")      # exp 1666648310
    base = ["verify", t["token"], "--json", "--pem", FIXTURE_PUB]
    assert run(*base, "--now", 1666648314).json["valid"]
    assert run(*base, "--now", 1666648314, "--clock-skew", 4).json["reason"] == "token-expired"
    assert run(*base, "--now", 1666648400, "--clock-skew", 3600).json["valid"]
