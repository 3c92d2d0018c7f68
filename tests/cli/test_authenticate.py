"""clerk-jwt authenticate: the module's answer to a whole request (the core's
clerk_authenticate_request), with a fake Backend API on 127.0.0.1 for opaque
tokens and handshake nonces."""
import base64
import hashlib
import json
import socket
import urllib.parse

import pytest

from clijwt import FIXTURE_ISS, FIXTURE_PK, FIXTURE_PUB, NOW, decode_parts, mint, run
from test_network import GOOD_M2M, SECRET, FakeClerk, fake  # noqa: F401 (fake: the fixture)

APP = "https://app.example.com/account?tab=1"
FAPI = "clerk.acceptance.test"
PK_LIVE = "pk_live_" + base64.b64encode(f"{FAPI}$".encode()).decode().rstrip("=")
ISS = "https://" + FAPI
NONCE = "nonce_" + "n" * 26          # a well-formed handshake nonce the fake knows
PAGE = ["--header", "Sec-Fetch-Dest: document"]
KEYS = ["--pem", FIXTURE_PUB, "--now", NOW + 10]

JSON_KEYS = {"ok", "state", "status", "reason", "clerk_reason", "message", "handshake_reason",
             "detail", "warnings", "carrier", "verification", "token_type", "user", "env",
             "headers", "location", "set_cookies", "cors_headers", "retry_after", "request",
             "options"}
DEV_BROWSER = "dvb_" + "d" * 27      # a development instance's dev browser token
CORS = {"Access-Control-Allow-Origin": "null", "Access-Control-Allow-Credentials": "true"}


def session(sub="user_1", now=NOW, iss=None):
    return mint("--sub", sub, *(["--issuer", iss] if iss else []), now=now)


def authenticate(*args, url=APP):
    return run("authenticate", "--json", "--url", url, *KEYS, *args)


DIRECTIVES = []                      # what the fake's handshake_payload answers for NONCE


def get_with_nonces(handler, _get=FakeClerk.do_GET):
    if handler.path == "/v1/clients/handshake_payload?nonce=" + NONCE and handler.authorized():
        FakeClerk.seen.append((handler.path, dict(handler.headers)))
        return handler.reply(200, json.dumps({"directives": DIRECTIVES}).encode())
    return _get(handler)


@pytest.fixture
def bapi(fake, monkeypatch):  # noqa: F811
    """test_network's fake Backend API, which also resolves handshake nonces here."""
    monkeypatch.setattr(FakeClerk, "do_GET", get_with_nonces)
    return fake


@pytest.fixture
def down():
    """The URL of a port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return "http://127.0.0.1:%d" % port


def test_valid_bearer_token_is_signed_in_with_the_variables():
    r = authenticate("--header", "Authorization: Bearer " + session())
    j = r.json
    assert r.rc == 0 and set(j) == JSON_KEYS
    assert (j["ok"], j["state"], j["status"], j["reason"]) == (True, "signed-in", 200, "ok")
    assert j["carrier"] == "header" and j["user"] == "user_1"
    assert j["env"]["REMOTE_USER"] == "user_1" and j["env"]["AUTH_TYPE"] == "Clerk"
    assert j["headers"]["X-Clerk-User-Id"] == "user_1"
    assert j["verification"]["kid"] == "ins_2GIoQhbUpy0hX7B2cVkuTMinXoD"
    assert j["request"] == {"method": "GET", "url": APP, "host": "app.example.com",
                            "referer": None, "dev_browser_in_url": False}
    assert (j["clerk_reason"], j["message"], j["cors_headers"]) == (None, None, None)
    assert j["options"]["token_source"] == "both" and j["options"]["signed_out_action"] == "deny"


def test_text_output():
    r = run("authenticate", "--url", APP, *KEYS, "--header", "Authorization: Bearer " + session())
    lines = r.out.splitlines()
    assert r.rc == 0 and lines[0] == "signed-in: HTTP 200"
    assert "  user         user_1" in lines and "REMOTE_USER=user_1" in lines


def test_expired_token_is_401_token_expired():
    r = authenticate("--header", "Authorization: Bearer " + session(now=NOW - 3600))
    j = r.json
    assert r.rc == 1 and (j["state"], j["status"], j["reason"]) == ("signed-out", 401,
                                                                    "token-expired")
    assert j["verification"]["detail"] == "exp has passed" and j["env"] is None
    assert run("authenticate", "--url", APP, *KEYS, "--header",
               "Authorization: Bearer " + session(now=NOW - 3600)).out.startswith(
        "signed-out: HTTP 401\n  reason       token-expired\n")


def test_session_cookie():
    j = authenticate("--cookie", "__session=" + session()).json
    assert j["state"] == "signed-in" and j["carrier"] == "cookie"


def test_header_wins_over_cookie_even_when_invalid():
    cookie = ["--cookie", "__session=" + session("user_cookie")]
    j = authenticate("--header", "Authorization: Bearer " + session("user_header"), *cookie).json
    assert j["user"] == "user_header" and j["carrier"] == "header"
    j = authenticate("--header", "Authorization: Bearer x.y.z", *cookie).json
    assert j["state"] == "signed-out" and j["carrier"] == "header"


def test_several_cookie_headers_are_joined():
    j = authenticate("--header", "Cookie: a=1", "--header", "cookie: __session=" + session(),
                     "--cookie", "b=2").json
    assert j["state"] == "signed-in"


def test_token_source_header_ignores_the_cookie():
    r = authenticate("--token-source", "header", "--cookie", "__session=" + session())
    assert r.rc == 1 and r.json["reason"] == "session-token-missing"
    assert r.json["options"]["token_source"] == "header"


def test_pass_is_anonymous_and_let_through():
    r = authenticate("--signed-out-action", "pass")
    j = r.json
    assert r.rc == 0 and (j["ok"], j["state"], j["status"]) == (True, "anonymous", 200)
    assert j["reason"] == "session-token-missing" and j["user"] is None


def test_redirect_sends_a_page_view_to_sign_in_and_an_xhr_gets_401():
    action = ["--signed-out-action", "redirect=https://accounts.example.com/sign-in"]
    url = "https://app.example.com/page?x=1&__clerk_handshake_nonce=" + NONCE
    r = authenticate(*action, *PAGE, url=url)
    clean = "https://app.example.com/page?x=1"
    assert r.rc == 1 and (r.json["state"], r.json["status"]) == ("sign-in-redirect", 302)
    assert r.json["location"] == ("https://accounts.example.com/sign-in?redirect_url="
                                  + urllib.parse.quote(clean, safe="").lower())
    assert r.json["options"]["sign_in_url"] == "https://accounts.example.com/sign-in"
    r = authenticate(*action, "--header", "Sec-Fetch-Dest: empty", url=url)
    assert r.rc == 1 and (r.json["state"], r.json["status"]) == ("signed-out", 401)


def handshake(*args, url=APP):
    return authenticate("--signed-out-action", "handshake", "--publishable-key", PK_LIVE, *PAGE,
                        *args, url=url)


def test_expired_session_cookie_with_client_uat_goes_to_the_handshake():
    r = handshake("--cookie", "__session=" + session(now=NOW - 3600, iss=ISS),
                  "--cookie", "__client_uat=%d" % (NOW - 3600))
    j = r.json
    assert r.rc == 1 and (j["state"], j["status"]) == ("handshake", 307)
    assert j["handshake_reason"].startswith("session-token-expired")
    assert j["location"].startswith(f"https://{FAPI}/v1/client/handshake?redirect_url="
                                    + urllib.parse.quote(APP, safe="").lower())
    assert j["set_cookies"] == ["__clerk_redirect_count=1; SameSite=Lax; HttpOnly; Max-Age=2"]
    r = handshake("--cookie", "__session=" + session(now=NOW - 3600, iss=ISS),
                  "--cookie", "__client_uat=%d" % (NOW - 3600), "--proxy-url",
                  "https://app.example.com/__clerk")
    assert r.json["location"].startswith("https://app.example.com/__clerk/v1/client/handshake?")
    r = handshake("--cookie", "__session=" + session(now=NOW - 3600, iss=ISS),
                  "--cookie", "__client_uat=%d" % (NOW - 3600), "--proxy-url", "/__clerk")
    # a path is resolved against the public origin, as Clerk's SDK does
    assert r.json["location"].startswith("https://app.example.com/__clerk/v1/client/handshake"
                                         "?redirect_url=")


def test_redirect_loop_guard_answers_401():
    r = handshake("--cookie", "__session=" + session(now=NOW - 3600, iss=ISS),
                  "--cookie", "__client_uat=%d" % (NOW - 3600), "--cookie",
                  "__clerk_redirect_count=3")
    assert r.rc == 1 and (r.json["state"], r.json["status"]) == ("signed-out", 401)
    assert "redirect loop guard" in r.json["detail"] and r.json["set_cookies"] == []


def test_opaque_token_without_a_secret_key_is_token_invalid():
    r = authenticate("--accept", "m2m_token", "--header", "Authorization: Bearer " + GOOD_M2M)
    assert r.rc == 1 and r.json["reason"] == "token-invalid"
    assert "ClerkSecretKey" in r.json["detail"]


def test_malformed_opaque_token_is_token_invalid_without_a_call(bapi):
    FakeClerk.seen.clear()
    r = authenticate("--accept", "m2m_token", "--secret-key", SECRET, "--api-url", bapi,
                     "--header", "Authorization: Bearer mt_good")
    assert r.rc == 1 and r.json["reason"] == "token-invalid" and "malformed" in r.json["detail"]
    assert FakeClerk.seen == []


def test_opaque_token_through_the_backend_api(bapi):
    r = run("authenticate", "--json", "--url", APP, "--accept", "m2m_token", "--secret-key",
            SECRET, "--api-url", bapi, "--header", "Authorization: Bearer " + GOOD_M2M)
    assert r.rc == 0 and r.json["state"] == "signed-in"
    assert r.json["env"]["CLERK_MACHINE_ID"] == "mch_1"
    assert SECRET not in r.out + r.err and GOOD_M2M not in r.out + r.err


def test_machine_secret_key_verifies_m2m_tokens(bapi):
    r = run("authenticate", "--json", "--url", APP, "--accept", "m2m_token", "--pem", FIXTURE_PUB,
            "--machine-secret-key", SECRET, "--api-url", bapi,
            "--header", "Authorization: Bearer " + GOOD_M2M)
    assert r.rc == 0 and r.json["user"] == "mch_1"


def test_backend_api_down_is_unavailable_503(down):
    r = run("authenticate", "--json", "--url", APP, "--accept", "m2m_token", "--secret-key",
            SECRET, "--api-url", down, "--header", "Authorization: Bearer " + GOOD_M2M)
    j = r.json
    assert r.rc == 1 and (j["ok"], j["state"], j["status"]) == (False, "unavailable", 503)
    assert j["retry_after"] == 5 and j["detail"]
    assert r.err == ""


def test_key_set_down_is_unavailable_503(down):
    r = run("authenticate", "--json", "--url", APP, "--jwks", down + "/jwks.json", "--now", NOW,
            "--header", "Authorization: Bearer " + session())
    assert r.rc == 1 and r.json["status"] == 503 and r.json["reason"] == "jwk-failed-to-resolve"


def test_handshake_nonce_is_exchanged_for_a_session(bapi):
    fresh = session("user_hs", now=NOW, iss=ISS)
    DIRECTIVES[:] = [f"__session={fresh}; Path=/; Secure; SameSite=Lax",
                     f"__client_uat={NOW}; Path=/; Secure; SameSite=Lax"]
    r = handshake("--secret-key", SECRET, "--api-url", bapi,
                  url=APP + "&__clerk_handshake_nonce=" + NONCE)
    j = r.json
    assert r.rc == 0 and j["state"] == "signed-in" and j["user"] == "user_hs"
    assert j["carrier"] == "handshake" and j["request"]["url"] == APP
    assert j["set_cookies"] == [f"__session=<{len(fresh)} characters>; Path=/; Secure; "
                                "SameSite=Lax", f"__client_uat={NOW}; Path=/; Secure; SameSite=Lax"]
    assert fresh not in r.out + r.err and SECRET not in r.out + r.err


def test_unknown_handshake_nonce_is_a_result_without_a_session(bapi):
    # as Clerk's SDK: a nonce that gives no cookies signs the page view out
    r = handshake("--secret-key", SECRET, "--api-url", bapi,
                  url=APP + "&__clerk_handshake_nonce=nonce_unknown")
    assert r.rc == 1 and r.json["state"] == "signed-out"
    assert r.json["clerk_reason"] == "session-token-missing"
    assert r.json["warnings"] == ["handshake nonce not resolved: Backend API "
                                  "handshake_payload: HTTP 404"]


# ---- development instances (pk_test_): the dev browser protocol

def dev(*args, url=APP):
    return authenticate("--signed-out-action", "handshake", "--publishable-key", FIXTURE_PK,
                        *PAGE, *args, url=url)


def dev_session():
    token = session(iss=FIXTURE_ISS)
    return token, ["--cookie", "__session=" + token, "--cookie", "__client_uat=%d" % NOW]


def test_development_instance_without_a_dev_browser_goes_to_the_handshake():
    token, cookies = dev_session()
    r = dev(*cookies)
    j = r.json
    assert r.rc == 1 and (j["state"], j["status"]) == ("handshake", 307)
    assert j["clerk_reason"] == j["handshake_reason"] == "dev-browser-missing"
    assert j["location"].startswith(FIXTURE_ISS + "/v1/client/handshake?redirect_url=")
    assert j["location"].endswith(f"&__session=<{len(token)} characters>")
    assert "__clerk_db_jwt" not in j["location"] and token not in r.out + r.err


def test_dev_browser_in_the_url_syncs_and_goes_along_hidden():
    token, cookies = dev_session()
    r = dev(*cookies, url=APP + "&__clerk_db_jwt=" + DEV_BROWSER)
    j = r.json
    assert r.rc == 1 and j["clerk_reason"] == "dev-browser-sync"
    assert j["location"].endswith(f"&__clerk_db_jwt=<{len(DEV_BROWSER)} characters>")
    assert j["request"]["url"] == APP and j["request"]["dev_browser_in_url"] is True
    assert DEV_BROWSER not in r.out + r.err and token not in r.out + r.err


@pytest.mark.parametrize("args, url, why, base", [
    (["--publishable-key", FIXTURE_PK], APP, "dev-browser-missing", FIXTURE_ISS),
    (["--publishable-key", FIXTURE_PK], APP + "&__clerk_db_jwt=" + DEV_BROWSER,
     "dev-browser-sync", FIXTURE_ISS),
    (["--publishable-key", PK_LIVE, "--satellite", "--domain", "example.net",
      "--satellite-auto-sync"], APP, "satellite-needs-syncing", "https://clerk.example.net"),
])
def test_handshakes_of_a_browser_without_a_session(args, url, why, base):
    r = authenticate("--signed-out-action", "handshake", *PAGE, *args, url=url)
    assert r.rc == 1 and (r.json["status"], r.json["clerk_reason"]) == (307, why)
    assert r.json["location"].startswith(base + "/v1/client/handshake?redirect_url=")
    assert "__session=" not in r.json["location"] and DEV_BROWSER not in r.out + r.err


def test_development_session_with_its_dev_browser_cookie_is_signed_in():
    r = dev("--cookie", "__clerk_db_jwt=" + DEV_BROWSER, "--cookie",
            "__session=" + session(iss=FIXTURE_ISS), "--cookie", "__client_uat=%d" % NOW)
    assert r.rc == 0 and (r.json["state"], r.json["status"]) == ("signed-in", 200)


def test_resolved_development_handshake_is_a_307_to_the_clean_url(bapi):
    fresh = session("user_dev", iss=FIXTURE_ISS)
    DIRECTIVES[:] = [f"__session={fresh}; Path=/", f"__client_uat={NOW}; Path=/"]
    args = ("--secret-key", SECRET, "--api-url", bapi)
    url = APP + "&__clerk_handshake_nonce=" + NONCE
    r = dev(*args, url=url)
    j = r.json
    assert r.rc == 1 and (j["ok"], j["state"], j["status"]) == (False, "signed-in", 307)
    assert j["location"] == APP and j["cors_headers"] == CORS
    assert j["user"] == "user_dev" and j["env"] is None
    text = run("authenticate", "--url", url, *KEYS, "--signed-out-action", "handshake",
               "--publishable-key", FIXTURE_PK, *PAGE, *args)
    lines = text.out.splitlines()
    assert text.rc == 1 and lines[0] == "signed-in: HTTP 307"
    assert "  location     " + APP in lines
    assert "  header       Access-Control-Allow-Origin: null" in lines
    assert not any(line.startswith("REMOTE_USER=") for line in lines)
    assert fresh not in r.out + text.out + text.err


# ---- satellite domains

SATELLITE = ["--satellite", "--domain", "Example.NET"]
SAT_ISS = "https://clerk.example.net"


def test_satellite_without_cookies_is_signed_out():
    r = handshake(*SATELLITE)
    j = r.json
    assert r.rc == 1 and (j["state"], j["status"]) == ("signed-out", 401)
    assert j["clerk_reason"] == "session-token-and-uat-missing"
    assert j["options"]["instance_fapi"] == "clerk.example.net"
    assert j["options"]["domain"] == "example.net" and j["options"]["satellite"] is True
    assert j["options"]["issuers"] == [ISS, SAT_ISS]
    text = run("authenticate", "--url", APP, *KEYS, "--signed-out-action", "handshake",
               "--publishable-key", PK_LIVE, *PAGE, *SATELLITE).out.splitlines()
    assert "  Clerk reason session-token-and-uat-missing" in text
    assert "  satellite    on, the instance's tokens from clerk.example.net" in text


def test_satellite_asked_to_sync_goes_to_its_frontend_api():
    """As the SDK: __clerk_synced=false syncs even a satellite with cookies."""
    r = handshake(*SATELLITE, "--cookie", "__session=" + session(iss=SAT_ISS),
                  "--cookie", "__client_uat=%d" % NOW, url=APP + "&__clerk_synced=false")
    j = r.json
    assert r.rc == 1 and (j["state"], j["status"]) == ("handshake", 307)
    assert j["clerk_reason"] == "satellite-needs-syncing"
    assert j["location"].startswith(SAT_ISS + "/v1/client/handshake?redirect_url=")


def test_satellite_session_of_its_own_frontend_api_is_signed_in():
    r = handshake(*SATELLITE, "--cookie", "__session=" + session(iss=SAT_ISS),
                  "--cookie", "__client_uat=%d" % NOW)
    assert r.rc == 0 and r.json["state"] == "signed-in"


def test_development_satellite_syncs_at_the_primary_sign_in_page():
    r = dev("--satellite", "--domain", "example.net", "--sign-in-url",
            "https://primary.example.com/sign-in", "--satellite-auto-sync")
    assert r.rc == 1 and r.json["clerk_reason"] == "satellite-needs-syncing"
    assert r.json["location"] == ("https://primary.example.com/sign-in?__clerk_redirect_url="
                                  + urllib.parse.quote(APP, safe="").lower())


# ---- the cross-origin check

def test_cross_origin_referer_on_the_primary_syncs_first():
    token = session(iss=ISS)
    cookies = ["--cookie", "__session=" + token, "--cookie", "__client_uat=%d" % NOW]
    r = handshake(*cookies, "--header", "Referer: https://satellite.example.net/page")
    j = r.json
    assert r.rc == 1 and (j["state"], j["status"]) == ("handshake", 307)
    assert j["clerk_reason"] == "primary-domain-cross-origin-sync"
    assert j["message"] == "Cross-origin request from satellite domain requires handshake"
    assert j["request"]["referer"] == "https://satellite.example.net/page"
    assert f"&__session=<{len(token)} characters>" in j["location"]
    assert token not in r.out + r.err
    for own in ("https://app.example.com/home", "https://accounts.acceptance.test/sign-in"):
        r = handshake(*cookies, "--header", "Referer: " + own)
        assert r.rc == 0 and r.json["state"] == "signed-in", own


# ---- silent refresh through the Backend API

def cookie_suffix(pk):
    b64 = base64.b64encode(hashlib.sha1(pk.encode()).digest()).decode()
    return b64[:8].replace("+", "-").replace("/", "_")


REFRESHED = []                       # what the fake's refresh answers: [(sid, new token)]


def post_with_refresh(handler, _post=FakeClerk.do_POST):
    sid, new = REFRESHED[0] if REFRESHED else (None, None)
    if handler.path != f"/v1/sessions/{sid}/refresh":
        return _post(handler)
    body = json.loads(handler.rfile.read(int(handler.headers["Content-Length"])))
    FakeClerk.seen.append((handler.path, body))
    if not handler.authorized() or body.get("refresh_token") != "rt_1":
        return handler.reply(401)
    return handler.reply(200, json.dumps({"object": "cookies", "cookies": [
        f"__session={new}; Path=/", f"__client_uat={NOW}; Path=/"]}).encode())


def test_expired_session_is_refreshed_silently(bapi, monkeypatch):
    monkeypatch.setattr(FakeClerk, "do_POST", post_with_refresh)
    expired, new = session(now=NOW - 3600, iss=ISS), session("user_new", iss=ISS)
    REFRESHED[:] = [(decode_parts(expired)[1]["sid"], new)]
    FakeClerk.seen.clear()
    r = handshake("--secret-key", SECRET, "--api-url", bapi, "--cookie", "__session=" + expired,
                  "--cookie", "__client_uat=%d" % (NOW - 3600),
                  "--cookie", f"__refresh_{cookie_suffix(PK_LIVE)}=rt_1")
    j = r.json
    assert r.rc == 0 and (j["state"], j["status"], j["user"]) == ("signed-in", 200, "user_new")
    assert j["set_cookies"] == [f"__session=<{len(new)} characters>; Path=/",
                                f"__client_uat={NOW}; Path=/"]
    _, body = FakeClerk.seen[-1]
    assert body["expired_token"] == expired and body["request_origin"] == "https://app.example.com"
    assert new not in r.out + r.err and expired not in r.out + r.err


def test_expired_session_without_a_refresh_cookie_says_why():
    r = handshake("--cookie", "__session=" + session(now=NOW - 3600, iss=ISS),
                  "--cookie", "__client_uat=%d" % (NOW - 3600))
    assert r.json["clerk_reason"] == ("session-token-expired-refresh-"
                                      "non-eligible-no-refresh-cookie")


@pytest.mark.parametrize("args, needle", [
    ([], "missing --url"),
    (["--url", "app.example.com/x"], "not an absolute http(s) URL"),
    (["--url", APP, "--header", "Authorization Bearer x"], "is not 'Name: value'"),
    (["--url", APP, "--cookie", "session"], "is not 'name=value'"),
    (["--url", APP, "--signed-out-action", "bounce"], "is not deny, pass, redirect=URL"),
    (["--url", APP, "--signed-out-action", "redirect"], "give the sign-in URL"),
    (["--url", APP, "--token-source", "query"], "is not header, cookie or both"),
    (["--url", APP, "--proxy-url", "clerk.example.com"], "--proxy-url"),
    (["--url", APP, "--proxy-url", "//clerk.example.com"], "--proxy-url"),
    (["--url", APP, "--domain", "https://example.net"], "--domain 'https://example.net' is not"),
    (["--url", APP, "--domain", "example..net"], "is not a host name"),
    (["--url", APP, "--sign-in-url", "/sign-in"], "--sign-in-url: give the absolute URL"),
    (["--url", APP, "--sign-in-url", "https://a.example.com/x y"], "--sign-in-url"),
    (["--url", APP, "--satellite", "--pem", FIXTURE_PUB], "--satellite needs --domain"),
    (["--url", APP, "--satellite", "--domain", "example.net", "--pem", FIXTURE_PUB,
      "--publishable-key", FIXTURE_PK], "needs --sign-in-url"),
    (["--url", APP, "--satellite=yes"], "takes no value"),
    (["--url", APP, "extra"], "takes no arguments"),
    (["--url", APP, "--header", "Authorization: Bearer x.y.z"], "no key given"),
])
def test_usage_errors(args, needle):
    r = run("authenticate", *args)
    assert r.rc == 2 and needle in r.err, r


def test_usage_error_with_json():
    r = run("authenticate", "--json")
    assert r.rc == 2 and r.json == {"ok": False, "command": "authenticate", "error": "usage",
                                    "message": "missing --url"}
