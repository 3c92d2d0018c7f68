"""Browser sessions for PHP/CGI sites: ClerkSignedOutAction handshake (and
redirect) against a fake Clerk, with cookies and headers as browsers send
them (the decision table of the README's "Cookie selection and decisions").
"""
import json
import re
import urllib.parse

import pytest

import clerk_tokens as T
import handshake_fake as F
from browser_kit import CURL_HTML, FETCH, NAV, SIGN_IN, Browser, handshake_query
from helpers import Client, apr_urlencoded, assert_invalid, assert_no_token, describe
from locations import cgi_directory

EXPIRED_REASON = "session-token-expired-refresh-non-eligible-no-refresh-cookie"
EXPIRED_NON_GET = "session-token-expired-refresh-non-eligible-non-get"
# Clerk's reasons (X-Clerk-Auth-Reason) whose WWW-Authenticate is the plain challenge
# (no token, in CONTRACT section 5's token vocabulary: session-token-missing)
NO_TOKEN_REASONS = {"session-token-missing", "session-token-and-uat-missing",
                    "client-uat-but-no-session-token", "session-token-but-no-client-uat",
                    "session-token-iat-before-client-uat", "dev-browser-missing",
                    "dev-browser-sync", "satellite-needs-syncing", "primary-responds-to-syncing"}
S_SUFFIXED = "__session_" + F.SUFFIX
UAT_SUFFIXED = "__client_uat_" + F.SUFFIX


def tok(**over):
    """A session token of the instance for T.USER (F.USER comes from the fake's handshake)."""
    return F.session_token(T.USER, **over)


def expired():
    t = T.now()
    return tok(iat=t - 600, nbf=t - 610, exp=t - 60)


def sign_in(b, token, uat=None, suffixed=False):
    """The cookies clerk-js leaves after a sign-in: __session and __client_uat."""
    payload = json.loads(T.b64u_decode(token.split(".")[1]))
    b.set(S_SUFFIXED if suffixed else "__session", token)
    b.set(UAT_SUFFIXED if suffixed else "__client_uat",
          str(payload["iat"] if uat is None else uat))


def env_of(r):
    assert r.status_code == 200, describe(r)
    return r.json()


def assert_signed_in(r, user=T.USER):
    env = env_of(r)
    assert env["REMOTE_USER"] == user, env
    assert env["AUTH_TYPE"] == "Clerk"
    assert env["CLERK_USER_ID"] == user
    # a DirectoryIndex page decides twice (the directory, then index.php's
    # subrequest): httpd merges both debug headers
    assert {v.strip() for v in r.headers.get("X-Clerk-Auth-Status", "").split(",")} \
        == {"signed-in"}, describe(r)
    assert "Location" not in r.headers
    return env


def token_vocabulary(reason):
    """The WWW-Authenticate error_description for Clerk's reason (None: the plain challenge)."""
    if reason in NO_TOKEN_REASONS:
        return None
    if reason.startswith("session-token-expired-refresh-"):
        return "token-expired"
    return {"session-token-nbf": "token-not-active-yet",
            "session-token-iat-in-the-future": "token-iat-in-the-future"}.get(reason, reason)


def assert_signed_out(r, reason):
    """401 without a redirect; reason is Clerk's (the debug header), the
    WWW-Authenticate error_description its token-vocabulary counterpart."""
    assert r.status_code == 401, describe(r)
    assert "Location" not in r.headers, describe(r)
    assert r.headers.get("X-Clerk-Auth-Status") == "signed-out", describe(r)
    assert r.headers.get("X-Clerk-Auth-Reason") == reason, describe(r)
    assert not any(c.startswith("__clerk_redirect_count=") for c in r.set_cookies), describe(r)
    if token_vocabulary(reason) is None:
        assert_no_token(r)
    else:
        assert_invalid(r, token_vocabulary(reason))


def assert_handshake(r, fake, server, path, reason, suffixed=False, count=None, base=None,
                     session=None, dev_browser=None, origin=None):
    """A 307 to the Frontend API handshake, exactly as Clerk's SDK builds it
    (handshake.ts buildRedirectToHandshake): session is the token sent along
    as __session (the SDK's sessionToken: the cookie's, else the header's),
    dev_browser the __clerk_db_jwt of a development instance."""
    assert r.status_code == 307, describe(r)
    base = base or fake.url
    expected = (base + "/v1/client/handshake?redirect_url="
                + apr_urlencoded((origin or server.base_url) + path)
                + "&__clerk_api_version=2026-05-12&suffixed_cookies=%s&__clerk_hs_reason=%s"
                  "&format=nonce" % ("true" if suffixed else "false", reason))
    if session:
        expected += "&__session=" + apr_urlencoded(session)
    if dev_browser:
        expected += "&__clerk_db_jwt=" + apr_urlencoded(dev_browser)
    assert r.headers["Location"] == expected, describe(r)
    assert r.headers.get("Cache-Control") == "no-store", describe(r)
    counts = [c for c in r.set_cookies if c.startswith("__clerk_redirect_count=")]
    assert len(counts) == 1 and re.fullmatch(
        r"__clerk_redirect_count=%s; SameSite=Lax; HttpOnly; Max-Age=2"
        % (count if count is not None else "[123]"), counts[0]), describe(r)
    assert r.headers.get("X-Clerk-Auth-Status") == "handshake", describe(r)
    assert r.headers.get("X-Clerk-Auth-Reason") == reason, describe(r)
    assert "WWW-Authenticate" not in r.headers


# ---------------------------------------------------------------- decision table

def test_anonymous_visitor_is_signed_out(browser, fake):
    """No __client_uat and no __session: the ordinary visitor, 401 and no redirect."""
    for headers in (NAV, FETCH, CURL_HTML):
        assert_signed_out(browser.get("/b/hs/env", headers=headers), "session-token-and-uat-missing")
    browser.set("__client_uat", "0")
    assert_signed_out(browser.get("/b/hs/env"), "session-token-and-uat-missing")
    assert fake.calls(F.HANDSHAKE) == 0


def test_valid_cookies_signed_in_for_pages_and_fetches(browser, fake):
    sign_in(browser, tok())
    env = assert_signed_in(browser.get("/b/hs/env?page=1"))
    assert env["QUERY_STRING"] == "page=1"
    assert env["CLERK_ISSUER"] == F.ISS
    assert_signed_in(browser.fetch("/b/hs/env"))
    assert_signed_in(browser.request("POST", "/b/hs/env", headers=FETCH, data=b"x=1"))
    assert fake.calls(F.HANDSHAKE) == 0


def test_client_uat_without_session_token(browser, fake, bserver):
    """Signed in at Clerk (uat) but no session token here yet: handshake."""
    browser.set("__client_uat", str(T.now() - 30))
    assert_handshake(browser.get("/b/hs/env?a=1&b=x%20y"), fake, bserver, "/b/hs/env?a=1&b=x%20y",
                     "client-uat-but-no-session-token", count=1)
    # not a page view: signed out with the handshake's reason (request.ts handleMaybeHandshakeStatus)
    assert_signed_out(browser.fetch("/b/hs/env"), "client-uat-but-no-session-token")


def test_session_token_without_client_uat(browser, fake, bserver):
    t = tok()
    browser.set("__session", t)
    assert_handshake(browser.get("/b/hs/env"), fake, bserver, "/b/hs/env",
                     "session-token-but-no-client-uat", session=t)
    browser.set("__client_uat", "0")            # signed out at Clerk
    assert_handshake(browser.get("/b/hs/env"), fake, bserver, "/b/hs/env",
                     "session-token-but-no-client-uat", session=t)
    assert_signed_out(browser.fetch("/b/hs/env"), "session-token-but-no-client-uat")


def test_signed_out_elsewhere_iat_before_uat(browser, fake, bserver):
    """The client changed (signed out or in elsewhere) after the token was minted."""
    t = T.now()
    old = tok(iat=t - 20)
    sign_in(browser, old, uat=t - 5)
    assert_handshake(browser.get("/b/hs/env"), fake, bserver, "/b/hs/env",
                     "session-token-iat-before-client-uat", session=old)
    # iat == uat is fine
    sign_in(browser, tok(iat=t - 5), uat=t - 5)
    assert_signed_in(browser.get("/b/hs/env"))


def test_expired_token_one_handshake_round_trip(browser, fake, bserver):
    """An expired session: 307 to FAPI, 307 back with a nonce, the module
    resolves it with the Backend API, sets the cookies and serves the page
    signed in, with the handshake parameter gone from QUERY_STRING."""
    old = expired()
    sign_in(browser, old)
    chain = browser.navigate("/b/hs/env?tab=2&q=a+b")
    assert [r.status_code for r in chain] == [307, 307, 200], [describe(r) for r in chain]
    assert_handshake(chain[0], fake, bserver, "/b/hs/env?tab=2&q=a+b", EXPIRED_REASON, session=old)
    # a resolved handshake is answered with the SDK's CORS headers (handshake.ts resolveHandshake)
    assert chain[2].headers.get("Access-Control-Allow-Origin") == "null", describe(chain[2])
    assert chain[2].headers.get("Access-Control-Allow-Credentials") == "true"
    back = chain[1].headers["Location"]
    assert back.startswith(bserver.base_url + "/b/hs/env?tab=2&q=a+b&__clerk_handshake_nonce=")
    env = assert_signed_in(chain[2], user=F.USER)
    assert env["QUERY_STRING"] == "tab=2&q=a+b"
    assert "__clerk_handshake_nonce" not in json.dumps(env)
    assert env["REQUEST_URI"] == "/b/hs/env?tab=2&q=a+b"
    assert env["CLERK_SESSION_ID"] == F.SID
    # every directive became a Set-Cookie, verbatim
    names = [c.split("=", 1)[0] for c in chain[2].set_cookies]
    assert names == ["__session", "__client_uat"], chain[2].set_cookies
    assert chain[2].set_cookies[0].endswith("; Path=/; SameSite=Lax")
    # FAPI saw Clerk's parameters; BAPI got the secret key and the API version
    hs = fake.requests(F.HANDSHAKE)
    assert len(hs) == 1
    assert hs[0].query["__clerk_hs_reason"] == EXPIRED_REASON
    assert hs[0].query["format"] == "nonce" and hs[0].query["suffixed_cookies"] == "false"
    assert hs[0].query["__clerk_api_version"] == "2026-05-12"
    bapi = fake.requests(F.PAYLOAD)
    assert len(bapi) == 1
    assert bapi[0].headers["authorization"] == "Bearer " + F.SECRET
    assert bapi[0].headers["clerk-api-version"] == "2026-05-12"
    assert bapi[0].query["nonce"] == urllib.parse.parse_qs(
        urllib.parse.urlsplit(back).query)["__clerk_handshake_nonce"][0]
    # the next page view uses the fresh cookies: no more round trips
    assert_signed_in(browser.get("/b/hs/env"), user=F.USER)
    assert_signed_in(browser.fetch("/b/hs/env"), user=F.USER)
    assert fake.calls(F.HANDSHAKE) == 1 and fake.calls(F.PAYLOAD) == 1


def test_not_yet_valid_and_iat_in_the_future(browser, fake, bserver):
    t = T.now()
    early = tok(nbf=t + 120, iat=t, exp=t + 300)
    sign_in(browser, early)
    assert_handshake(browser.get("/b/hs/env"), fake, bserver, "/b/hs/env", "session-token-nbf",
                     session=early)
    assert_signed_out(browser.fetch("/b/hs/env"), "session-token-nbf")
    future = tok(iat=t + 120, nbf=t - 10, exp=t + 300)
    sign_in(browser, future, uat=t - 100)
    assert_handshake(browser.get("/b/hs/env"), fake, bserver, "/b/hs/env",
                     "session-token-iat-in-the-future", session=future)
    assert_signed_out(browser.fetch("/b/hs/env"), "session-token-iat-in-the-future")


@pytest.mark.parametrize("kind", ["template", "m2m", "oauth"])
def test_token_type_mismatch_never_redirects(browser, fake, kind):
    """A JWT-template, M2M or OAuth token in __session is not a session: 401, no handshake."""
    if kind == "template":
        t = tok(header={"cat": T.CAT_TEMPLATE})
    elif kind == "m2m":
        t = T.mint_m2m(iss=F.ISS)
    else:
        t = T.mint_oauth(iss=F.ISS)
    browser.set("__session", t)
    browser.set("__client_uat", str(T.now() - 60))
    assert_signed_out(browser.get("/b/hs/env"), "token-type-mismatch")
    assert_signed_out(browser.fetch("/b/hs/env"), "token-type-mismatch")
    assert fake.calls(F.HANDSHAKE) == 0


def test_bad_signature_and_other_failures_are_signed_out(browser, fake):
    sign_in(browser, tok(key="a", header={"kid": T.INS_KID}))
    assert_signed_out(browser.get("/b/hs/env"), "token-invalid-signature")
    sign_in(browser, tok(iss="https://clerk.elsewhere.test", sub=T.USER))
    # another instance's un-suffixed cookie: the suffixed pair is read, and there is none
    assert_signed_out(browser.get("/b/hs/env"), "session-token-and-uat-missing")
    assert fake.calls(F.HANDSHAKE) == 0


# ---------------------------------------------------------------- suffixed cookies

def test_suffixed_cookies_are_chosen(browser, fake, bserver):
    sign_in(browser, tok(), suffixed=True)
    assert_signed_in(browser.get("/b/hs/env"))
    # another Clerk app on the same host left its un-suffixed pair: ignored
    other = T.mint(T.session_claims(iss="https://clerk.other-app.test", sub="user_otherApp"), key="b")
    browser.set("__session", other)
    browser.set("__client_uat", str(T.now()))
    assert_signed_in(browser.get("/b/hs/env"))
    # an expired suffixed token: the handshake says suffixed_cookies=true
    old = expired()
    sign_in(browser, old, suffixed=True)
    assert_handshake(browser.get("/b/hs/env"), fake, bserver, "/b/hs/env", EXPIRED_REASON,
                     suffixed=True, session=old)


def test_suffixed_round_trip(browser, fake):
    """FAPI answers suffixed_cookies=true with both pairs; the next view reads the suffixed one."""
    sign_in(browser, expired(), suffixed=True)
    chain = browser.navigate("/b/hs/env")
    assert [r.status_code for r in chain] == [307, 307, 200]
    assert_signed_in(chain[-1], user=F.USER)
    assert {c.split("=", 1)[0] for c in chain[-1].set_cookies} == \
        {"__session", "__client_uat", S_SUFFIXED, UAT_SUFFIXED}
    assert_signed_in(browser.get("/b/hs/env"), user=F.USER)
    assert fake.calls(F.HANDSHAKE) == 1


def test_newer_unsuffixed_session_wins(browser, fake):
    """Both pairs signed in and the un-suffixed token is newer (clerk-js of
    an older version refreshed it): the un-suffixed pair is read."""
    t = T.now()
    sign_in(browser, tok(iat=t - 100, exp=t - 40, sub="user_stale"), uat=t - 100, suffixed=True)
    sign_in(browser, tok(iat=t), uat=t - 100)
    assert_signed_in(browser.get("/b/hs/env"))


# ---------------------------------------------------------------- loop guard

def test_redirect_count_three_stops_the_handshake(browser, fake):
    sign_in(browser, expired())
    browser.set("__clerk_redirect_count", "3")
    assert_signed_out(browser.get("/b/hs/env"), EXPIRED_REASON)
    browser.set("__clerk_redirect_count", "2")
    r = browser.get("/b/hs/env")
    assert r.status_code == 307
    assert "__clerk_redirect_count=3; SameSite=Lax; HttpOnly; Max-Age=2" in r.set_cookies
    assert fake.calls(F.HANDSHAKE) == 0


def test_redirect_loop_is_cut_after_three_round_trips(browser, fake):
    """A FAPI that cannot help (sends the browser straight back): the module
    counts with __clerk_redirect_count and gives up after three handshakes."""
    fake.mode = "loop"
    sign_in(browser, expired())
    chain = browser.navigate("/b/hs/env")
    codes = [r.status_code for r in chain]
    assert codes == [307, 307] * 3 + [401], codes
    counts = [c for r in chain for c in r.set_cookies if c.startswith("__clerk_redirect_count=")]
    assert counts == ["__clerk_redirect_count=%d; SameSite=Lax; HttpOnly; Max-Age=2" % n
                      for n in (1, 2, 3)]
    assert fake.calls(F.HANDSHAKE) == 3
    assert_signed_out(chain[-1], EXPIRED_REASON)


# ---------------------------------------------------------------- fetches, POSTs

def test_fetch_xhr_and_post_are_never_redirected(browser, fake):
    sign_in(browser, expired())
    assert_signed_out(browser.fetch("/b/hs/env"), EXPIRED_REASON)
    assert_signed_out(browser.request("GET", "/b/hs/env",
                                      headers={"Accept": "application/json",
                                               "X-Requested-With": "XMLHttpRequest"}),
                      EXPIRED_REASON)
    # not a GET: Clerk's refreshError is non-eligible-non-get (request.ts handleSessionTokenError)
    assert_signed_out(browser.request("POST", "/b/hs/env", headers=NAV, data=b"a=1"),
                      EXPIRED_NON_GET)
    assert_signed_out(browser.request("HEAD", "/b/hs/env", headers=NAV), EXPIRED_NON_GET)
    # an <img> or <script> sub-resource is not a navigation either
    r = browser.request("GET", "/b/hs/env", headers={"Accept": "image/avif,*/*",
                                                       "Sec-Fetch-Dest": "image"})
    assert r.status_code == 401 and "Location" not in r.headers
    assert fake.calls(F.HANDSHAKE) == 0


def test_navigation_without_sec_fetch_dest(browser, fake, bserver):
    """Older browsers (no Sec-Fetch-*): Accept: text/html marks the navigation;
    an iframe navigation counts too."""
    old = expired()
    sign_in(browser, old)
    assert_handshake(browser.get("/b/hs/env", headers=CURL_HTML), fake, bserver, "/b/hs/env",
                     EXPIRED_REASON, session=old)
    assert_handshake(browser.get("/b/hs/env", headers={"Sec-Fetch-Dest": "iframe",
                                                       "Accept": "*/*"}),
                     fake, bserver, "/b/hs/env", EXPIRED_REASON, session=old)


# ---------------------------------------------------------------- Authorization header

def test_header_wins_over_cookies(browser, fake, bserver):
    sign_in(browser, expired())
    r = browser.get("/b/hs/env", headers=dict(NAV, Authorization="Bearer " + tok()))
    assert_signed_in(r)
    # a valid cookie does not rescue an invalid header
    sign_in(browser, tok())
    r = browser.get("/b/hs/env", headers=dict(FETCH, Authorization="Bearer " + tok(key="a", header={"kid": T.INS_KID})))
    assert_signed_out(r, "token-invalid-signature")


def test_expired_header_on_navigation_handshakes(browser, fake, bserver):
    old = expired()
    r = browser.get("/b/hs/env", headers=dict(NAV, Authorization="Bearer " + old))
    assert_handshake(r, fake, bserver, "/b/hs/env", EXPIRED_REASON, session=old)
    r = browser.get("/b/hs/env", headers=dict(FETCH, Authorization="Bearer " + old))
    assert_signed_out(r, EXPIRED_REASON)
    t = T.now()
    early = tok(nbf=t + 100)
    r = browser.get("/b/hs/env", headers=dict(NAV, Authorization="Bearer " + early))
    assert_handshake(r, fake, bserver, "/b/hs/env", "session-token-nbf", session=early)
    r = browser.get("/b/hs/env", headers=dict(NAV, Authorization="Bearer " +
                                              tok(header={"cat": T.CAT_TEMPLATE})))
    assert_signed_out(r, "token-type-mismatch")


def test_expired_header_handshake_reports_the_cookie_suffix(browser, fake, bserver):
    """Clerk's SDK reports usesSuffixedCookies() from the cookies, also when
    the expired token came in the header."""
    t = T.now()
    in_cookie = tok(iat=t - 600, nbf=t - 610, exp=t - 60)
    in_header = tok(iat=t - 500, nbf=t - 510, exp=t - 50)
    sign_in(browser, in_cookie, suffixed=True)
    r = browser.get("/b/hs/env", headers=dict(NAV, Authorization="Bearer " + in_header))
    # __session is the SDK's sessionToken: the cookie's before the header's
    # (authenticateContext.ts sessionToken)
    assert_handshake(r, fake, bserver, "/b/hs/env", EXPIRED_REASON, suffixed=True,
                     session=in_cookie)


# ---------------------------------------------------------------- handshake results

def test_handshake_jwt_mode(browser, fake, bserver):
    fake.mode = "token"
    sign_in(browser, expired())
    chain = browser.navigate("/b/hs/env?x=1")
    assert [r.status_code for r in chain] == [307, 307, 200]
    assert "&__clerk_handshake=" in chain[1].headers["Location"]
    env = assert_signed_in(chain[-1], user=F.USER)
    assert env["QUERY_STRING"] == "x=1"
    assert [c.split("=", 1)[0] for c in chain[-1].set_cookies] == ["__session", "__client_uat"]
    assert fake.calls(F.PAYLOAD) == 0


def test_handshake_jwt_in_a_cookie(browser, fake):
    browser.set("__clerk_handshake", fake.handshake_token())
    env = assert_signed_in(browser.get("/b/hs/env"), user=F.USER)
    assert env["QUERY_STRING"] == ""


@pytest.mark.parametrize("mode", ["token-badkey", "token-template"])
def test_refused_handshake_jwt_continues_with_cookies(browser, fake, bserver, mode):
    """Signed with the wrong key, or a JWT template: no cookies are set and the
    ordinary cookie flow decides (production: a sibling app's cookie may collide)."""
    fake.mode = mode
    bad = fake.handshake_token(key="a") if mode == "token-badkey" else \
        fake.handshake_token(header={"cat": T.CAT_TEMPLATE})
    r = browser.get("/b/hs/env?__clerk_handshake=" + bad)
    # production: the SDK logs the failure and goes on with the cookies (request.ts 465-486)
    assert_signed_out(r, "session-token-and-uat-missing")
    assert r.set_cookies == []
    sign_in(browser, tok())
    r = browser.get("/b/hs/env?__clerk_handshake=" + bad)
    assert_signed_in(r)
    assert r.set_cookies == []
    # with an expired cookie the browser loops until the guard stops it
    sign_in(browser, expired())
    chain = browser.navigate("/b/hs/env")
    assert [c.status_code for c in chain] == [307, 307] * 3 + [401]


def test_unknown_nonce_is_signed_out(browser, fake):
    fake.mode = "unknown-nonce"
    browser.set("__client_uat", str(T.now() - 10))
    chain = browser.navigate("/b/hs/env")
    assert [r.status_code for r in chain] == [307, 307, 401]
    assert_signed_out(chain[-1], "session-token-missing")
    assert fake.calls(F.PAYLOAD) == 1


def test_nonce_in_a_cookie(browser, fake):
    browser.set("__clerk_handshake_nonce", fake.new_nonce())
    assert_signed_in(browser.get("/b/hs/env"), user=F.USER)
    assert fake.calls(F.PAYLOAD) == 1


def test_nonce_takes_precedence_over_a_handshake_jwt(browser, fake):
    """Clerk's SDK resolves the nonce when both are present."""
    nonce = fake.new_nonce()
    bad = fake.handshake_token(key="a")
    r = browser.get("/b/hs/env?__clerk_handshake=%s&__clerk_handshake_nonce=%s&k=v" % (bad, nonce))
    env = assert_signed_in(r, user=F.USER)
    assert env["QUERY_STRING"] == "k=v"
    assert fake.calls(F.PAYLOAD) == 1



def test_backend_api_down_is_decided_as_the_sdk_does(browser, fake):
    """Backend API down during the nonce exchange: Clerk's SDK logs the error
    and resolves the handshake with no cookies (signed out, session-token-missing),
    even when the browser has a valid session cookie."""
    fake.bapi_mode = "down"
    nonce = fake.new_nonce()
    r = browser.get("/b/hs/env?__clerk_handshake_nonce=" + nonce)
    assert_signed_out(r, "session-token-missing")
    assert r.headers.get("Access-Control-Allow-Origin") == "null", describe(r)
    sign_in(browser, tok())
    r = browser.get("/b/hs/env?__clerk_handshake_nonce=" + nonce)
    assert_signed_out(r, "session-token-missing")
    assert r.set_cookies == []
    assert fake.calls(F.PAYLOAD) == 2


def test_landing_on_a_directory_index(browser, fake, bserver):
    """The handshake comes back to the site's "/" (DirectoryIndex index.php):
    the index subrequest must see the session the handshake just set, not
    the browser's old cookie."""
    sign_in(browser, expired())
    chain = browser.navigate("/site/?p=1")
    assert [r.status_code for r in chain] == [307, 307, 200], [describe(r) for r in chain]
    env = assert_signed_in(chain[-1], user=F.USER)
    assert env["QUERY_STRING"] == "p=1"
    assert env["SCRIPT_NAME"] == "/site/index.py"
    assert_signed_in(browser.get("/site/"), user=F.USER)
    assert fake.calls(F.HANDSHAKE) == 1


def test_protected_index_of_an_open_directory(browser, fake, bserver):
    """Only index.php is protected: the handshake is decided in the
    DirectoryIndex subrequest, but redirect_url is still the URL the browser
    asked for (not index.php, not without the port)."""
    old = expired()
    sign_in(browser, old)
    r = browser.get("/open-site/?p=1")
    assert_handshake(r, fake, bserver, "/open-site/?p=1", EXPIRED_REASON, session=old)
    chain = browser.navigate("/open-site/?p=1")
    assert [c.status_code for c in chain] == [307, 307, 200], [describe(c) for c in chain]
    # httpd's DirectoryIndex (ap_internal_fast_redirect) keeps the subrequest's
    # environment but not its r->user: CLERK_* is there, REMOTE_USER is not
    # (the same for every auth module; protect the directory to get both)
    env = env_of(chain[-1])
    assert env["CLERK_USER_ID"] == F.USER and "REMOTE_USER" not in env
    assert chain[-1].headers.get("X-Clerk-Auth-Status") == "signed-in"
    assert env["QUERY_STRING"] == "p=1"
    assert [c.split("=", 1)[0] for c in chain[-1].set_cookies] == ["__session", "__client_uat"]
    assert env_of(browser.get("/open-site/"))["CLERK_USER_ID"] == F.USER
    assert fake.calls(F.HANDSHAKE) == 1


def test_handshake_goes_to_the_frontend_api_without_proxy(browser, fake, bserver):
    old = expired()
    sign_in(browser, old)
    assert_handshake(browser.get("/b/noproxy/env"), fake, bserver, "/b/noproxy/env",
                     EXPIRED_REASON, base="https://" + F.FAPI, session=old)


# ---------------------------------------------------------------- redirect mode

def test_redirect_mode(browser, fake, bserver):
    r = browser.get("/b/redir/env?a=1&b=%C3%A9")
    assert r.status_code == 302, describe(r)
    assert r.headers["Location"] == SIGN_IN + "?redirect_url=" + apr_urlencoded(
        bserver.base_url + "/b/redir/env?a=1&b=%C3%A9")
    assert r.headers.get("Cache-Control") == "no-store"
    assert_signed_out(browser.fetch("/b/redir/env"), "session-token-missing")
    assert browser.request("POST", "/b/redir/env", headers=NAV, data=b"").status_code == 401
    sign_in(browser, expired())
    assert browser.get("/b/redir/env").status_code == 302
    assert_signed_out(browser.fetch("/b/redir/env"), "token-expired")
    sign_in(browser, tok())
    assert_signed_in(browser.get("/b/redir/env"))


def test_redirect_mode_sign_in_url_with_a_query(browser, fake, bserver):
    r = browser.get("/b/redirq/env")
    assert r.status_code == 302, describe(r)
    assert r.headers["Location"] == SIGN_IN + "?lang=en&redirect_url=" + apr_urlencoded(
        bserver.base_url + "/b/redirq/env")


# ---------------------------------------------------------------- forwarded headers

FWD = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "www.example.test"}


def redirect_url_of(r):
    assert r.status_code in (302, 307), describe(r)
    return handshake_query(r.headers["Location"])["redirect_url"]


def test_forwarded_headers_on_and_off(browser, fake, bserver):
    sign_in(browser, expired())
    # Off (default): the request's own URL, whatever the client claims
    r = browser.get("/b/hs/env?a=1", headers=dict(NAV, **FWD))
    assert redirect_url_of(r) == bserver.base_url + "/b/hs/env?a=1"
    # On: the public URL from the proxy's headers
    r = browser.get("/b/fwd/env?a=1", headers=dict(NAV, **FWD))
    assert redirect_url_of(r) == "https://www.example.test/b/fwd/env?a=1"
    r = browser.get("/b/redirfwd/env", headers=dict(NAV, **FWD))
    assert r.headers["Location"] == SIGN_IN + "?redirect_url=" + apr_urlencoded(
        "https://www.example.test/b/redirfwd/env")


def test_forwarded_list_takes_the_nearest_proxys_value(browser, fake, bserver):
    """A client sends its own X-Forwarded-* and the trusted proxy appends the
    real ones (mod_proxy does): the last value counts, never the client's
    (Clerk's SDK takes the first: deliberately stricter)."""
    sign_in(browser, expired())
    r = browser.get("/b/fwd/env", headers=dict(NAV, **{
        "X-Forwarded-Proto": "http, https",
        "X-Forwarded-Host": "evil.test, www.example.test:8443"}))
    assert redirect_url_of(r) == "https://www.example.test:8443/b/fwd/env"
    r = browser.get("/b/fwd/env", headers=dict(NAV, **{
        "X-Forwarded-Proto": "https ,  http ", "X-Forwarded-Host": "www.example.test ,evil.test "}))
    assert redirect_url_of(r) == "http://evil.test/b/fwd/env"


def test_forwarded_proto_or_host_alone(browser, fake, bserver):
    """A TLS-terminating proxy that keeps Host sends only X-Forwarded-Proto
    (and the other way round): each falls back on its own."""
    sign_in(browser, expired())
    r = browser.get("/b/fwd/env", headers=dict(NAV, **{"X-Forwarded-Proto": "https"}))
    assert redirect_url_of(r) == "https://127.0.0.1:%d/b/fwd/env" % bserver.port
    r = browser.get("/b/fwd/env", headers=dict(NAV, **{"X-Forwarded-Host": "www.example.test"}))
    assert redirect_url_of(r) == "http://www.example.test/b/fwd/env"


@pytest.mark.parametrize("host", ["evil.test/path", "evil.test@x", "evil.test?x=1", "evil.test#f",
                                  "evil.test\\x", "evil test", "", "evil.test%2f"])
def test_hostile_forwarded_host_is_ignored(browser, fake, bserver, host):
    sign_in(browser, expired())
    r = browser.get("/b/fwd/env", headers=dict(NAV, **{"X-Forwarded-Proto": "https",
                                                     "X-Forwarded-Host": host}))
    assert redirect_url_of(r) == "https://127.0.0.1:%d/b/fwd/env" % bserver.port
    r = browser.get("/b/fwd/env", headers=dict(NAV, **{"X-Forwarded-Proto": "javascript",
                                                     "X-Forwarded-Host": host}))
    assert redirect_url_of(r) == bserver.base_url + "/b/fwd/env"


def test_forwarded_host_with_control_characters(bserver, fake):
    """A CR inside X-Forwarded-Host never reaches a Location: httpd refuses
    the request line-up, or the value is ignored."""
    tokn = expired()
    bserver.sent_tokens.append(tokn)
    for raw in (b"evil.test\rX-Injected: 1", b"evil.test\x0bx", b"evil.test\x7f"):
        head = (b"GET /b/fwd/env HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n"
                b"Accept: text/html\r\nSec-Fetch-Dest: document\r\nX-Forwarded-Proto: https\r\n"
                b"X-Forwarded-Host: " % bserver.port + raw + b"\r\nCookie: __session="
                + tokn.encode() + b"; __client_uat=1\r\n\r\n")
        resp = Client(bserver).raw(head, timeout=10)
        assert resp.status_code in (307, 400), resp.data[:300]
        assert b"evil" not in resp.data.partition(b"\r\n\r\n")[0], resp.data[:600]
        assert resp.headers_named("X-Injected") == []


# ---------------------------------------------------------------- development instance

def test_development_instance_without_dev_browser_handshakes(browser, fake, bserver):
    """A development instance without a dev browser token: the SDK's
    dev-browser-missing handshake (request.ts 608-610), before any cookie is
    looked at, valid or not; a fetch is signed out with that reason."""
    old = expired()
    sign_in(browser, old)
    assert_handshake(browser.get("/b/dev/env"), fake, bserver, "/b/dev/env",
                     "dev-browser-missing", session=old)
    assert_signed_out(browser.fetch("/b/dev/env"), "dev-browser-missing")
    good = tok()
    sign_in(browser, good)
    assert_handshake(browser.get("/b/dev/env"), fake, bserver, "/b/dev/env",
                     "dev-browser-missing", session=good)
    # with the dev browser cookie, valid cookies are signed in without a round trip
    browser.set("__clerk_db_jwt", F.DEV_BROWSER)
    assert_signed_in(browser.get("/b/dev/env"))
    assert fake.calls(F.HANDSHAKE) == 0
    # the start-up warning of the old 401 fallback is gone
    startup = (bserver.root / "logs" / "stdout.log").read_text(errors="replace") + bserver.error_log()
    assert "development instance (pk_test_)" not in startup


def test_development_instance_alone(httpd_factory, fake):
    """A server whose only instance is a development one: no start-up
    warning; without a dev browser, a dev-browser-missing handshake (no debug
    headers here); with one, valid cookies are signed in."""
    h = httpd_factory("browser-dev")
    h.install_www("cgi/printenv.py", "printenv.py")
    h.write_config(f"""
{cgi_directory(h.docroot, options="+ExecCGI")}
<Location /cgi>
    AuthType Clerk
    ClerkPublishableKey {F.PK_TEST}
    ClerkJWTKeyFile "{h.keys}/{T.INS_KID}.public.pem"
    ClerkProxyURL {fake.url}
    ClerkSignedOutAction handshake
    Require valid-user
</Location>
""")
    h.start()
    b = Browser(h)
    try:
        old = expired()
        sign_in(b, old)
        r = b.get("/cgi/printenv.py")
        assert r.status_code == 307, describe(r)
        assert r.headers["Location"] == (
            fake.url + "/v1/client/handshake?redirect_url=" + apr_urlencoded(h.base_url + "/cgi/printenv.py")
            + "&__clerk_api_version=2026-05-12&suffixed_cookies=false"
              "&__clerk_hs_reason=dev-browser-missing&format=nonce&__session=" + apr_urlencoded(old))
        sign_in(b, tok())
        b.set("__clerk_db_jwt", F.DEV_BROWSER)
        assert b.get("/cgi/printenv.py").json()["REMOTE_USER"] == T.USER
    finally:
        b.close()
    log = (h.root / "logs" / "stdout.log").read_text(errors="replace") + h.error_log()
    assert "development instance (pk_test_)" not in log
    assert fake.calls(F.HANDSHAKE) == 0


# ---------------------------------------------------------------- hygiene

def test_zz_no_token_or_secret_in_the_error_log(bserver):
    log = bserver.error_log()
    assert F.SECRET not in log
    jwts = {t for t in bserver.sent_tokens if re.fullmatch(r"[\w-]+\.[\w-]+\.[\w-]+", t)}
    assert jwts
    for t in jwts:
        assert t not in log
        assert T.signature_of(t) not in log
    assert "segfault" not in log.lower() and "exit signal" not in log.lower()
