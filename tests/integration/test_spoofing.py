"""A client sending the names the module sets never reaches the application
as module values (README: "What the application sees")."""
import pytest

import clerk_tokens as T
from helpers import SPOOF_X_CLERK, assert_no_token, clerk_vars, describe, http_clerk_vars

SPOOF = {
    **SPOOF_X_CLERK,
    "X-Clerk-Auth-Status": "signed-in",
    "Clerk-User-Id": "user_evil",
    "X-Remote-User": "user_evil",
    "Remote-User": "user_evil",
    "REMOTE_USER": "user_evil",
    "Auth-Type": "evil",
}


def no_spoof_reaches(env, expected_http_clerk=None):
    """The application sees no spoofed X-Clerk header and only module values."""
    assert "SPOOF_HEADER_SEEN" not in env, "an X-Clerk-* request header survived stripping"
    http = http_clerk_vars(env)
    assert http == (expected_http_clerk or {}), http
    for k, v in clerk_vars(env).items():
        assert "evil" not in v, (k, v)
    assert "evil" not in env.get("REMOTE_USER", "")
    assert env.get("AUTH_TYPE", "Clerk") in ("Clerk", "")


def test_env_mode_with_token(client):
    env = client.env("/t/basic/env", token=T.mint(), headers=SPOOF)
    no_spoof_reaches(env)
    assert env["REMOTE_USER"] == T.USER
    assert env["CLERK_USER_ID"] == T.USER
    assert "CLERK_ORG_ROLE" not in env
    # names outside the X-Clerk- namespace are plain client headers under HTTP_*
    assert env.get("HTTP_CLERK_USER_ID") == "user_evil"
    assert env.get("HTTP_X_REMOTE_USER") == "user_evil"


def test_headers_mode_with_token(client):
    tok = T.mint()
    expected = {"HTTP_X_" + k: v for k, v in clerk_vars(client.env("/t/env/env", token=tok)).items()}
    env = client.env("/t/hdr/env", token=tok, headers=SPOOF)
    no_spoof_reaches(env, expected)
    assert env["HTTP_X_CLERK_USER_ID"] == T.USER
    assert "HTTP_X_CLERK_ORG_ROLE" not in env


def test_both_mode_with_token(client):
    env = client.env("/t/both/env", token=T.mint(), headers=SPOOF)
    assert env["HTTP_X_CLERK_USER_ID"] == T.USER == env["CLERK_USER_ID"]
    assert "HTTP_X_CLERK_ORG_PERMISSIONS" not in env
    assert "SPOOF_HEADER_SEEN" not in env


def test_none_mode_with_token(client):
    env = client.env("/t/none/env", token=T.mint(), headers=SPOOF)
    no_spoof_reaches(env)


def test_pass_mode_anonymous(client):
    r = client.get("/t/pass-hdr/env", headers=SPOOF)
    assert r.status_code == 200, describe(r)
    env = r.json()
    no_spoof_reaches(env)
    assert clerk_vars(env) == {}


def test_pass_mode_invalid_token(client):
    r = client.get("/t/pass-hdr/env", token=T.mint(exp=T.now() - 999), headers=SPOOF)
    assert r.status_code == 200, describe(r)
    no_spoof_reaches(r.json())


def test_options_without_authentication(client):
    r = client.request("OPTIONS", "/t/opt/env", headers=SPOOF)
    assert r.status_code == 200, describe(r)
    env = r.json()
    no_spoof_reaches(env)
    assert env.get("REMOTE_USER", "") == ""


def test_require_all_granted_sublocation(client):
    r = client.get("/t/parent/open/env", headers=SPOOF)
    assert r.status_code == 200, describe(r)
    no_spoof_reaches(r.json())


def test_unprotected_location(client):
    """"whatever the setting": the headers are stripped server-wide."""
    r = client.get("/open/printenv.py", headers=SPOOF)
    assert r.status_code == 200, describe(r)
    no_spoof_reaches(r.json())


def test_spoofed_headers_do_not_authenticate(client):
    assert_no_token(client.get("/t/basic/env", headers=SPOOF))
    assert_no_token(client.get("/t/hdr/env", headers=SPOOF))
    assert_no_token(client.get("/t/p/role/env", headers=SPOOF))


def test_spoofed_headers_do_not_satisfy_providers(client):
    r = client.get("/t/p/role/env", token=T.mint(), headers=SPOOF)
    assert r.status_code == 401, describe(r)
    r = client.get("/t/p/user/env", token=T.mint(), headers={"X-Clerk-User-Id": "user_alice"})
    assert r.status_code == 401, describe(r)


def test_spoof_through_error_document(client):
    """The ErrorDocument target sees module values only."""
    r = client.get("/t/err403/env", token=T.mint(), headers=SPOOF)
    assert r.status_code == 403, describe(r)
    env = r.json()
    assert "SPOOF_HEADER_SEEN" not in env and "REDIRECT_SPOOF_HEADER_SEEN" not in env
    module_names = ("CLERK_", "REDIRECT_CLERK_", "HTTP_X_CLERK", "REDIRECT_HTTP_X_CLERK")
    assert not [k for k, v in env.items() if k.startswith(module_names) and "evil" in v], env
    assert env["CLERK_USER_ID"] == T.USER


@pytest.mark.parametrize("name", ["X-Clerk-User-Id", "x-clerk-user-id", "X_CLERK_USER_ID",
                                  "X-Clerk_User-Id"])
def test_raw_header_name_variants(client, name):
    """Sent byte-for-byte on a raw connection."""
    r = client.raw_get("/t/hdr/env", ["Authorization: Bearer " + T.mint(), name + ": user_evil"])
    assert r.status_code == 200, describe(r)
    env = r.json()
    assert env["HTTP_X_CLERK_USER_ID"] == T.USER
    assert "SPOOF_HEADER_SEEN" not in env
