"""Apache request paths: ErrorDocument internal redirects, mod_include and
mod_rewrite subrequests, OPTIONS, `Require all granted` sub-locations,
<Directory>/<Location> merging."""
import json
import re

import pytest

import clerk_tokens as T
from helpers import assert_invalid, assert_no_token, assert_ok, challenge, describe

INCLUDE_ERROR = "[an error occurred while processing this directive]"


def included(text):
    m = re.search(r"BEGIN-INCLUDE(.*)END-INCLUDE", text, re.S)
    assert m, text
    return m.group(1)


def included_env(text):
    body = included(text)
    assert INCLUDE_ERROR not in body, text
    return json.loads(body)


# ---------------------------------------------------------------- ErrorDocument

def test_error_document_403_sees_the_same_identity(client):
    r = client.get("/t/err403/env", token=T.mint())
    assert r.status_code == 403, describe(r)
    env = r.json()
    assert env["REDIRECT_STATUS"] == "403"
    assert env["CLERK_USER_ID"] == T.USER
    assert env["REMOTE_USER"] == T.USER


def test_error_document_403_not_used_when_granted(client):
    env = client.env("/t/err403/env", token=T.mint_v2())
    assert "REDIRECT_STATUS" not in env
    assert env["CLERK_ORG_ROLE"] == "org:admin"


def test_error_document_404_sees_the_same_identity(client):
    r = client.get("/t/err404/missing.txt", token=T.mint(sub="user_404"))
    assert r.status_code == 404, describe(r)
    env = r.json()
    assert env["REDIRECT_STATUS"] == "404"
    assert env["CLERK_USER_ID"] == "user_404"
    assert env["REMOTE_USER"] == "user_404"


def test_error_document_404_needs_authentication_first(client):
    assert_no_token(client.get("/t/err404/missing.txt"))


def test_error_document_401_keeps_www_authenticate(client):
    r = client.get("/t/err401/env")
    assert r.status_code == 401, describe(r)
    assert r.headers.get("WWW-Authenticate") == challenge()
    assert "CUSTOM-401-PAGE" in r.text
    r = client.get("/t/err401/env", token=T.mint(exp=T.now() - 999))
    assert r.status_code == 401, describe(r)
    assert r.headers.get("WWW-Authenticate") == (
        challenge() + ', error="invalid_token", error_description="token-expired"')
    assert "CUSTOM-401-PAGE" in r.text


def test_error_document_401_cgi_gets_no_identity(client):
    r = client.get("/t/err401-cgi/env", token=T.mint(exp=T.now() - 999))
    assert r.status_code == 401, describe(r)
    assert r.headers.get("WWW-Authenticate", "").startswith(challenge())
    env = r.json()
    assert env["REDIRECT_STATUS"] == "401"
    assert not [k for k, v in env.items() if "CLERK_" in k and v], env
    assert env.get("REMOTE_USER", "") == ""


# ---------------------------------------------------------------- mod_include

def test_ssi_include_same_location(client):
    r = client.get("/ssi/prot/page.shtml", token=T.mint())
    assert_ok(r)
    assert "USER=[%s]" % T.USER in r.text
    assert "CLERK=[%s]" % T.USER in r.text
    env = included_env(r.text)
    assert env["CLERK_USER_ID"] == T.USER
    assert env["REMOTE_USER"] == T.USER


def test_ssi_needs_authentication(client):
    assert_no_token(client.get("/ssi/prot/page.shtml"))
    assert_invalid(client.get("/ssi/prot/page.shtml", token=T.mint(exp=T.now() - 999)),
                   "token-expired")


def test_ssi_include_of_stricter_location(client):
    r = client.get("/ssi/prot/admin.shtml", token=T.mint())
    assert_ok(r)
    body = included(r.text)
    assert INCLUDE_ERROR in body
    assert "CLERK_" not in body
    r = client.get("/ssi/prot/admin.shtml", token=T.mint_v2())
    assert_ok(r)
    env = included_env(r.text)
    assert env["CLERK_ORG_ROLE"] == "org:admin"


def test_ssi_open_page_including_protected(client):
    r = client.get("/ssi/open/page.shtml")
    assert_ok(r)
    assert INCLUDE_ERROR in included(r.text)
    r = client.get("/ssi/open/page.shtml", token=T.mint(exp=T.now() - 999))
    assert_ok(r)
    assert INCLUDE_ERROR in included(r.text)
    r = client.get("/ssi/open/page.shtml", token=T.mint(sub="user_sub"))
    assert_ok(r)
    assert included_env(r.text)["CLERK_USER_ID"] == "user_sub"


@pytest.mark.parametrize("page", ["/ssi/prot/to-open.shtml", "/ssi/prot/to-refused.shtml",
                                  "/ssi/hdr/to-open.shtml", "/ssi/hdr/to-refused.shtml"])
def test_ssi_include_gets_nothing_of_the_parents_identity(client, page):
    """httpd copies the parent's environment and request headers into a
    subrequest: a section without AuthType Clerk, or one where the token is
    refused, must still see no CLERK_*, no module-set X-Clerk-* and no
    REMOTE_USER of the parent."""
    r = client.get(page, token=T.mint(sub="user_parent"))
    assert_ok(r)
    assert "CLERK=[user_parent]" in r.text          # the parent itself is signed in
    env = included_env(r.text)
    leaked = {k: v for k, v in env.items()
              if "CLERK" in k.upper() or "user_parent" in v or k in ("REMOTE_USER", "AUTH_TYPE")}
    if "refused" in page:
        # ClerkSignedOutAction pass: anonymous, with an empty REMOTE_USER (and AUTH_TYPE)
        assert leaked.pop("REMOTE_USER") == ""
        assert leaked.pop("AUTH_TYPE", "Clerk") == "Clerk"
    assert leaked == {}, leaked


# ---------------------------------------------------------------- mod_rewrite

def test_rewrite_lookahead_remote_user(client):
    env = client.env("/t/lau/env", token=T.mint(sub="user_lau"))
    assert env["LAU_USER"] == "user_lau"
    assert env["REMOTE_USER"] == "user_lau"
    assert_no_token(client.get("/t/lau/env"))
    assert_invalid(client.get("/t/lau/env", token=T.mint(exp=T.now() - 999)), "token-expired")


# ---------------------------------------------------------------- OPTIONS etc.

def test_options_passes_without_token(client):
    r = client.request("OPTIONS", "/t/opt/env")
    assert r.status_code == 200, describe(r)
    assert "WWW-Authenticate" not in r.headers
    assert not [k for k in r.json() if k.startswith("CLERK_")]
    assert_no_token(client.get("/t/opt/env"))
    assert_ok(client.get("/t/opt/env", token=T.mint()))
    r = client.request("OPTIONS", "/t/opt/env", token=T.mint(exp=T.now() - 999))
    assert r.status_code == 200, describe(r)


def test_require_all_granted_sublocation(client):
    assert_no_token(client.get("/t/parent/env"))
    r = client.get("/t/parent/open/env")
    assert_ok(r)
    env = r.json()
    assert env.get("REMOTE_USER", "") == ""
    assert not [k for k in env if k.startswith(("CLERK_", "HTTP_X_CLERK"))]


# ---------------------------------------------------------------- merging

def test_directory_config(client):
    env = client.env("/merge/printenv.py", token=T.mint(exp=T.now() - 2))
    assert env["CLERK_USER_ID"] == T.USER
    assert env["HTTP_X_CLERK_USER_ID"] == T.USER                     # both
    assert_invalid(client.get("/merge/printenv.py", token=T.mint(azp=T.DROP)),
                   "token-invalid-authorized-parties", realm="merged")
    assert_no_token(client.get("/merge/printenv.py"), realm="merged")


def test_location_merges_over_directory(client):
    env = client.env("/merge/child/printenv.py", token=T.mint())
    assert env["CLERK_USER_ID"] == T.USER
    assert "HTTP_X_CLERK_USER_ID" not in env                         # env only
    # ClerkClockSkew 0 from the Location
    assert_invalid(client.get("/merge/child/printenv.py", token=T.mint(exp=T.now() - 2)),
                   "token-expired", realm="merged")
    # ClerkAuthorizedParties inherited from the Directory
    assert_invalid(client.get("/merge/child/printenv.py", token=T.mint(azp="https://x.example")),
                   "token-invalid-authorized-parties", realm="merged")
