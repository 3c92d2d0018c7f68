"""Opaque machine tokens (mt_, oat_, ak_) through the (fake) Backend API:
what is sent, what the application sees, and every way the answer can fail."""
import json
import time

import pytest

import clerk_tokens as T
import fake_bapi as F
from helpers import assert_invalid, assert_no_token, assert_ok, clerk_vars, describe

API_VERSION = "2026-05-12"


def only_call(fake, path, token):
    reqs = fake.requests(token=token)
    assert len(reqs) == 1, reqs
    r = reqs[0]
    assert r.method == "POST" and r.path == path, r
    assert r.headers.get("clerk-api-version") == API_VERSION, r.headers
    assert r.headers.get("content-type") == "application/json", r.headers
    assert r.fields == [F.ENDPOINTS[path]], r.json
    return r


def accepted_env(mclient, fake, path, tok, token_type):
    """GET path with an opaque token that must be accepted and check what every
    accepted token sets: its type, its id, and CLERK_CLAIMS = the Backend API's
    object as it came.  Returns (env, CLERK_ variables)."""
    ans = fake.answer(tok)
    env = mclient.env(path, token=tok)
    v = clerk_vars(env)
    assert v["CLERK_TOKEN_TYPE"] == token_type
    assert v["CLERK_TOKEN_ID"] == ans["id"]
    assert json.loads(v["CLERK_CLAIMS"]) == ans
    return env, v


# ------------------------------------------------------------ accepted

def test_m2m_opaque_variables_and_request(mclient, fake):
    tok = fake.token("mt")
    env, v = accepted_env(mclient, fake, "/m/m2m/env", tok, "m2m_token")
    assert v["CLERK_MACHINE_ID"] == F.MACHINE
    assert v["CLERK_SCOPES"] == "mch_a mch_b"
    assert v["CLERK_EXPIRES_AT"] == str(fake.answer(tok)["expiration"] // 1000)
    assert env["REMOTE_USER"] == F.MACHINE
    assert env["AUTH_TYPE"] == "Clerk"
    for absent in ("CLERK_USER_ID", "CLERK_ORG_ID", "CLERK_SESSION_ID"):
        assert absent not in v, v
    # ClerkMachineSecretKey is the credential for M2M tokens
    r = only_call(fake, F.M2M, tok)
    assert r.authorization == "Bearer " + F.MACHINE_SECRET
    assert r.json == {"token": tok}


def test_oauth_opaque_variables_and_request(mclient, fake):
    tok = fake.token("oat")
    env, v = accepted_env(mclient, fake, "/m/oauth/env", tok, "oauth_token")
    assert v["CLERK_USER_ID"] == F.OAUTH_USER
    assert v["CLERK_SCOPES"] == "read write"
    assert env["REMOTE_USER"] == F.OAUTH_USER
    for absent in ("CLERK_MACHINE_ID", "CLERK_ORG_ID"):
        assert absent not in v, v
    # ClerkSecretKey (not the machine secret) for OAuth tokens
    r = only_call(fake, F.OAUTH, tok)
    assert r.authorization == "Bearer " + F.INSTANCE_SECRET
    assert r.json == {"access_token": tok}


def test_api_key_of_a_user(mclient, fake):
    tok = fake.token("ak", expiration=None)
    env, v = accepted_env(mclient, fake, "/m/apikey/env", tok, "api_key")
    assert v["CLERK_USER_ID"] == F.API_KEY_USER
    assert v["CLERK_SCOPES"] == "deploy read"
    assert env["REMOTE_USER"] == F.API_KEY_USER
    for absent in ("CLERK_ORG_ID", "CLERK_MACHINE_ID", "CLERK_EXPIRES_AT"):
        assert absent not in v, v       # "expiration": null: never expires
    r = only_call(fake, F.API_KEY, tok)
    assert r.authorization == "Bearer " + F.INSTANCE_SECRET
    assert r.json == {"secret": tok}


def test_api_key_of_an_organization(mclient, fake):
    tok = fake.token("ak", subject=F.API_KEY_ORG, scopes=[])
    env = mclient.env("/m/apikey/env", token=tok)
    v = clerk_vars(env)
    assert v["CLERK_TOKEN_TYPE"] == "api_key"
    assert v["CLERK_ORG_ID"] == F.API_KEY_ORG
    assert env["REMOTE_USER"] == F.API_KEY_ORG
    for absent in ("CLERK_USER_ID", "CLERK_SCOPES"):
        assert absent not in v, v


@pytest.mark.parametrize("kind,type_name", [("mt", "m2m_token"), ("oat", "oauth_token"),
                                            ("ak", "api_key")])
def test_accept_any_takes_each_opaque_type(mclient, fake, kind, type_name):
    tok = fake.token(kind)
    env = mclient.env("/m/any/env", token=tok)
    assert env["CLERK_TOKEN_TYPE"] == type_name
    assert fake.calls(token=tok) == 1


# ------------------------------------------------------------ never asked

@pytest.mark.parametrize("path,kind", [
    ("/m/m2m", "oat"), ("/m/m2m", "ak"),
    ("/m/oauth", "mt"), ("/m/oauth", "ak"),
    ("/m/apikey", "mt"), ("/m/apikey", "oat"),
    ("/m/session", "mt"), ("/m/session", "oat"), ("/m/session", "ak"),
    ("/m/session-m2m", "oat"), ("/m/session-m2m", "ak"),
])
def test_type_not_accepted_is_refused_without_an_api_call(mclient, fake, path, kind):
    tok = fake.token(kind)
    before = fake.verify_calls()
    assert_invalid(mclient.get(path + "/static.txt", token=tok), "token-type-mismatch")
    assert fake.verify_calls() == before


def test_machine_token_in_session_cookie_is_never_sent(mclient, fake):
    toks = [fake.token(k) for k in ("mt", "oat", "ak")]
    before = fake.verify_calls()
    for tok in toks:
        # a cookie carries only session tokens: refused where sessions are accepted...
        assert_invalid(mclient.get("/m/any/static.txt", session=tok), "token-type-mismatch")
        assert_invalid(mclient.get("/m/session-m2m/static.txt", session=tok),
                       "token-type-mismatch")
        assert_invalid(mclient.get("/m/session/static.txt", session=tok), "token-type-mismatch")
        # ...and not even read where only machine tokens are
        assert_no_token(mclient.get("/m/m2m/static.txt", session=tok))
        assert_no_token(mclient.get("/m/oauth/static.txt", session=tok))
        assert_no_token(mclient.get("/m/apikey/static.txt", session=tok))
    assert fake.verify_calls() == before


def test_authorization_header_wins_over_cookie(mclient, fake):
    header, cookie = fake.token("mt"), fake.token("mt")
    env = mclient.env("/m/any/env", token=header, session=cookie)
    assert env["CLERK_TOKEN_ID"] == fake.answer(header)["id"]
    assert fake.calls(token=header) == 1 and fake.calls(token=cookie) == 0


def test_bare_authorization_value_is_a_bearer_token(mclient, fake):
    tok = fake.token("ak")
    assert_ok(mclient.get("/m/apikey/static.txt", auth=tok))
    assert fake.calls(token=tok) == 1


def test_api_key_with_base64_characters_is_sent_verbatim(mclient, fake):
    """Clerk's API keys may contain '/', '+' and '=' (backend/src/fixtures/machine.ts)."""
    tok = fake.register("ak_LCWGdaM8mv8K4PC/57IICZQXAeWf+%s=" % F.secrets.token_hex(8))
    assert_ok(mclient.get("/m/apikey/static.txt", token=tok))
    assert only_call(fake, F.API_KEY, tok).json == {"secret": tok}


def test_overlong_opaque_token_is_refused_without_a_call(mclient, fake):
    before = fake.verify_calls()
    for kind in ("mt", "oat", "ak"):
        tok = fake.register(kind + "_" + "A" * 600)
        assert_invalid(mclient.get("/m/any/static.txt", token=tok), "token-invalid")
    assert fake.verify_calls() == before


# ------------------------------------------------------------ which secret

def test_instance_secret_for_m2m_without_machine_secret(mclient, fake):
    tok = fake.token("mt")
    assert_ok(mclient.get("/m/instance-only/static.txt", token=tok))
    assert only_call(fake, F.M2M, tok).authorization == "Bearer " + F.INSTANCE_SECRET


def test_machine_secret_alone_verifies_m2m_only(mclient, fake):
    tok = fake.token("mt")
    assert_ok(mclient.get("/m/machine-only/static.txt", token=tok))
    assert only_call(fake, F.M2M, tok).authorization == "Bearer " + F.MACHINE_SECRET
    # OAuth tokens and API keys need ClerkSecretKey: refused without a call
    for kind in ("oat", "ak"):
        other = fake.token(kind)
        assert_invalid(mclient.get("/m/machine-only/static.txt", token=other), "token-invalid")
        assert fake.calls(token=other) == 0


@pytest.mark.parametrize("kind", ["mt", "oat", "ak"])
def test_refused_secret_is_503_and_logged(mserver, mclient, fake, kind):
    tok = fake.token(kind)
    mark = mserver.log_mark()
    r = mclient.get("/m/badsecret/static.txt", token=tok)
    assert r.status_code == 503, describe(r)
    assert "WWW-Authenticate" not in r.headers, describe(r)
    assert r.headers.get("Retry-After", "").isdigit(), describe(r)
    assert fake.calls(token=tok) == 1
    log = mserver.log_since(mark)
    assert "secret key was refused" in log and "[auth_clerk:error]" in log, log
    assert "sk_test_wrong" not in log and "ak_wrong" not in log and tok not in log, log


# ------------------------------------------------------------ refusals

@pytest.mark.parametrize("kind", ["mt", "oat", "ak"])
@pytest.mark.parametrize("mode,reason", [
    ("revoked", "token-invalid"),
    ("expired", "token-expired"),
    ("expired-ms", "token-expired"),
    ("unknown", "token-invalid"),
    ("status:400", "token-invalid"),
    ("status:422", "token-invalid"),
])
def test_refused_by_the_answer(mclient, fake, kind, mode, reason):
    tok = fake.token(kind, mode=mode)
    r = mclient.get("/m/any/static.txt", token=tok)
    assert_invalid(r, reason)
    assert fake.calls(token=tok) == 1


def test_unregistered_token_is_unknown(mclient, fake):
    tok = "mt_" + F.secrets.token_hex(16)     # the fake never heard of it: 404
    assert_invalid(mclient.get("/m/any/static.txt", token=tok), "token-invalid")
    assert fake.calls(token=tok) == 1


def test_answer_without_subject_is_refused(mclient, fake):
    for fields in ({"subject": None}, {"subject": ""}, {"subject": F.T.DROP}):
        tok = fake.token("mt", **fields)
        assert_invalid(mclient.get("/m/any/static.txt", token=tok), "token-verification-failed")


@pytest.mark.parametrize("mode", ["500", "status:502", "status:429"])
def test_api_failure_is_503_with_retry_after(mclient, fake, mode):
    for kind in ("mt", "oat", "ak"):
        tok = fake.token(kind)
        fake.set_mode(mode)
        r = mclient.get("/m/any/static.txt", token=tok)
        assert r.status_code == 503, describe(r)
        assert r.headers.get("Retry-After", "").isdigit(), describe(r)
        assert "WWW-Authenticate" not in r.headers, describe(r)
        assert fake.calls(token=tok) == 1


def test_api_timeout_is_503_with_retry_after(mserver, mclient, fake):
    """ClerkHTTPTimeout 1; the fake hangs for 5 s."""
    fake.set_mode("hang")
    for kind in ("mt", "ak"):
        tok = fake.token(kind)
        mark = mserver.log_mark()
        t0 = time.monotonic()
        r = mclient.get("/m/any/static.txt", token=tok)
        took = time.monotonic() - t0
        assert r.status_code == 503, describe(r)
        assert r.headers.get("Retry-After", "").isdigit(), describe(r)
        assert took < 3.5, took
        assert fake.calls(token=tok) == 1
        assert "answering 503" in mserver.log_since(mark)
    fake.set_mode(None)
    # the next request gets a fresh connection and an answer
    tok = fake.token("mt")
    assert_ok(mclient.get("/m/any/static.txt", token=tok))


# ------------------------------------------------------------ ClerkAudience

def test_audience_applies_to_opaque_oauth_tokens(mclient, fake):
    ok = fake.token("oat", aud=["other", "api.example.com"])
    assert_ok(mclient.get("/m/aud/static.txt", token=ok))
    for bad in (fake.token("oat"), fake.token("oat", aud=["other"]), fake.token("oat", aud=[])):
        assert_invalid(mclient.get("/m/aud/static.txt", token=bad), "token-invalid-audience")
    # as Clerk's SDK: the audience rule is not applied to opaque M2M tokens or API keys
    assert_ok(mclient.get("/m/aud/static.txt", token=fake.token("mt")))
    assert_ok(mclient.get("/m/aud/static.txt", token=fake.token("ak")))


def test_authorized_parties_do_not_apply_to_opaque_tokens(mclient, fake):
    for kind in ("mt", "oat", "ak"):
        assert_ok(mclient.get("/m/azp/static.txt", token=fake.token(kind)))


def test_ttl_zero_asks_every_time(mclient, fake):
    """ClerkMachineTokenCacheTTL 0 (the default): N requests -> N calls."""
    for kind in ("mt", "oat", "ak"):
        tok = fake.token(kind)
        for _ in range(5):
            assert_ok(mclient.get("/m/any/static.txt", token=tok))
        assert fake.calls(token=tok) == 5
    # revoked after use: the very next request sees it
    tok = fake.token("ak")
    assert_ok(mclient.get("/m/any/static.txt", token=tok))
    fake.register(tok, "revoked")
    assert_invalid(mclient.get("/m/any/static.txt", token=tok), "token-invalid")


def test_internal_redirect_does_not_ask_again(mclient, fake):
    """An ErrorDocument in another Clerk section sees the same identity without a
    second Backend API call (as JWTs are not verified twice)."""
    for kind in ("mt", "oat", "ak"):
        tok = fake.token(kind)
        r = mclient.get("/m/redir/nothing-here", token=tok)
        assert r.status_code == 404, describe(r)
        env = r.json()
        assert env["REDIRECT_STATUS"] == "404"
        assert env["CLERK_TOKEN_ID"] == fake.answer(tok)["id"]
        assert fake.calls(token=tok) == 1
    # the control: a JWT there is verified once (no call at all) and seen the same
    env = mclient.get("/m/redir/nothing-here", token=T.mint()).json()
    assert env["CLERK_USER_ID"] == T.USER


def test_internal_redirect_with_another_secret_asks_again(mclient, fake):
    tok = fake.token("mt")
    r = mclient.get("/m/redir-other-secret/nothing-here", token=tok)
    assert r.status_code == 404, describe(r)
    assert r.json()["CLERK_MACHINE_ID"] == F.MACHINE
    assert [q.authorization for q in fake.requests(token=tok)] == [
        "Bearer " + F.MACHINE_SECRET, "Bearer " + F.INSTANCE_SECRET]
