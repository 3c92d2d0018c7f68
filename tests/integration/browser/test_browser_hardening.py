"""The browser flow played by an attacker: opaque tokens in a handshake
section (a remote crash once), handshake nonces on requests that are no page
view (each would cost a Backend API call), and handshake secrets in the
access log and the application's view of the request line."""
import concurrent.futures
import secrets
import time

import pytest

import handshake_fake as F
from handshake_fake import wait_until
from browser_kit import FETCH, NAV, Browser, config
from helpers import assert_invalid, assert_no_crashed_child, describe
from test_browser_sessions import (assert_signed_in, assert_signed_out,
                                   expired, sign_in)


@pytest.mark.parametrize("token", ["mt_x", "oat_x", "ak_x",
                                   "mt_" + "A" * 32, "oat_" + "b" * 40, "ak_" + "c/+=" * 10])
def test_opaque_token_in_a_handshake_section(browser, fake, bserver, token):
    """ClerkSignedOutAction handshake + ClerkSecretKey + ClerkAcceptToken any:
    an opaque bearer token is answered (it once killed the child), malformed
    ones without a Backend API call."""
    mark = bserver.log_mark()
    r = browser.request("GET", "/b/hs-any/env", headers=dict(FETCH, Authorization="Bearer " + token))
    assert r.status_code in (401, 503), describe(r)
    if r.status_code == 401:
        assert_invalid(r, r.headers["X-Clerk-Auth-Reason"])
    if len(token) < 10:
        assert r.headers.get("X-Clerk-Auth-Reason") == "token-invalid", describe(r)
        assert [q for q in fake.requests() if "verify" in q.path] == []
    assert "crashed" not in bserver.log_since(mark)
    assert_no_crashed_child(bserver)


@pytest.mark.parametrize("method,headers", [("POST", NAV), ("GET", FETCH), ("PUT", NAV),
                                            ("DELETE", FETCH)])
def test_nonce_is_ignored_on_what_is_no_page_view(browser, fake, method, headers):
    """Only a page view (where Clerk's redirect lands) exchanges a nonce; a
    script POSTing random nonces (query or cookie) costs no Backend API call.
    Clerk's SDK resolves them on any method: deliberately stricter."""
    for _ in range(10):
        nonce = fake.new_nonce()
        r = browser.request(method, "/b/hs/env?__clerk_handshake_nonce=" + nonce, headers=headers)
        assert r.status_code == 401, describe(r)
        assert r.set_cookies == [] or all(c.startswith("__clerk_redirect_count")
                                          for c in r.set_cookies), r.set_cookies
        browser.set("__clerk_handshake_nonce", fake.new_nonce())
        assert browser.request(method, "/b/hs/env", headers=headers).status_code == 401
    browser.jar.clear()
    assert fake.calls(F.PAYLOAD) == 0
    # the same nonce on a page view is exchanged
    assert_signed_in(browser.get("/b/hs/env?__clerk_handshake_nonce=" + fake.new_nonce()),
                     user=F.USER)
    assert fake.calls(F.PAYLOAD) == 1


def access_log_since(server, size):
    with open(server.root / "logs" / "access.log", "rb") as f:
        f.seek(size)
        return f.read().decode("latin-1")


def access_log_size(server):
    return (server.root / "logs" / "access.log").stat().st_size


@pytest.mark.parametrize("mode", ["nonce", "token"])
def test_handshake_secrets_are_not_in_the_access_log(browser, fake, bserver, mode):
    """After a handshake round trip neither the nonce nor the handshake JWT
    (which embeds a fresh session token) is in the access log's %r, nor in
    REQUEST_URI, THE_REQUEST or QUERY_STRING of the application."""
    fake.mode = mode
    sign_in(browser, expired())
    size = access_log_size(bserver)
    chain = browser.navigate("/b/hs/env?keep=1")
    assert [r.status_code for r in chain] == [307, 307, 200], [describe(r) for r in chain]
    back = chain[1].headers["Location"]
    secret = back.split("__clerk_handshake_nonce=" if mode == "nonce" else "__clerk_handshake=")[1]
    secret = secret.split("&")[0]
    env = assert_signed_in(chain[2], user=F.USER)
    for k in ("REQUEST_URI", "QUERY_STRING", "THE_REQUEST"):
        assert secret not in env.get(k, "") and "__clerk_handshake" not in env.get(k, ""), (k, env)
    assert env["REQUEST_URI"] == "/b/hs/env?keep=1"
    assert secret not in repr(env)
    # httpd logs a request after answering it: wait for the line
    wait_until(lambda: " 200 " in access_log_since(bserver, size))
    log = access_log_since(bserver, size)
    assert '"GET /b/hs/env?keep=1 HTTP/1.1" 307' in log, log
    assert '"GET /b/hs/env?keep=1 HTTP/1.1" 200' in log, log
    assert secret not in log and "__clerk_handshake" not in log, log


def test_handshake_parameters_alone_leave_a_clean_request_line(browser, fake, bserver):
    """The only query parameter is the handshake's: no '?' is left behind."""
    size = access_log_size(bserver)
    nonce = "nonce_" + secrets.token_urlsafe(12)
    r = browser.request("POST", "/b/hs/env?__clerk_handshake_nonce=" + nonce, headers=FETCH)
    # the nonce counts only on a page view (deliberately stricter than the SDK): no cookies
    assert_signed_out(r, "session-token-and-uat-missing")
    wait_until(lambda: " 401 " in access_log_since(bserver, size))
    log = access_log_since(bserver, size)
    assert nonce not in log and '"POST /b/hs/env HTTP/1.1" 401' in log, log


@pytest.fixture
def default_limits(httpd_factory, fake):
    """A browser server with the default Backend API budget (5/s, burst 20)."""
    h = httpd_factory("browser-budget")
    h.write_config(config(h, fake, limits=""))
    h.start()
    return h


def test_random_nonces_spend_at_most_the_budget(default_limits, fake, mpm):
    """1 000 POSTs with random nonces cost no Backend API call at all, and
    1 000 page views with random (well-formed, unknown) nonces at most the
    budget; a real handshake still resolves afterwards."""
    h = default_limits

    def send(method_headers):
        method, headers = method_headers
        b = Browser(h)
        try:
            r = b.request(method, "/b/hs/env?__clerk_handshake_nonce=nonce_" +
                          secrets.token_urlsafe(16), headers=dict(headers, Connection="close"))
            return r.status_code
        finally:
            b.close()
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        posts = list(ex.map(send, [("POST", NAV)] * 1000))
    assert set(posts) == {401}, set(posts)
    assert fake.calls(F.PAYLOAD) == 0
    t0 = time.time()
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        views = list(ex.map(send, [("GET", NAV)] * 1000))
    elapsed = time.time() - t0
    calls = fake.calls(F.PAYLOAD)
    assert calls <= 20 + 5 * (elapsed + 1), (calls, elapsed)
    assert views.count(503) >= 1000 - 20 - 5 * (elapsed + 1)
    print("\n[%s] 1000 POSTs with nonces: 0 calls; 1000 page views with random nonces in "
          "%.1f s: %d calls, %d answered 503" % (mpm, elapsed, calls, views.count(503)))
    time.sleep(0.3)
    b = Browser(h)
    try:
        assert_signed_in(b.get("/b/hs/env?__clerk_handshake_nonce=" + fake.new_nonce()),
                         user=F.USER)
    finally:
        b.close()


def test_empty_nonce_is_no_nonce(browser, fake):
    """An empty __clerk_handshake_nonce is no nonce for the SDK either (a falsy
    searchParams value): the cookie flow decides."""
    r = browser.get("/b/hs/env?__clerk_handshake_nonce=")
    assert_signed_out(r, "session-token-and-uat-missing")
    assert fake.calls(F.PAYLOAD) == 0


@pytest.mark.parametrize("nonce", ["a" * 257, "nonce with space", "nonce%2F..%2F", "n\u00e9"])
def test_malformed_nonce_is_never_sent(browser, fake, nonce):
    """Never sent (stricter than the SDK), but decided as the SDK decides a
    nonce the Backend API refuses: signed out, session-token-missing."""
    r = browser.get("/b/hs/env?__clerk_handshake_nonce=" + nonce)
    assert_signed_out(r, "session-token-missing")
    assert fake.calls(F.PAYLOAD) == 0


def test_unknown_nonce_is_remembered(browser, fake, bserver):
    """A nonce Clerk did not know, replayed: one call per process."""
    nonce = "nonce_" + secrets.token_urlsafe(16)
    for _ in range(20):
        assert_signed_out(browser.get("/b/hs/env?__clerk_handshake_nonce=" + nonce),
                          "session-token-missing")
    assert 1 <= fake.calls(F.PAYLOAD) <= 4


HOSTILE = [
    "PHPSESSID=attacker-fixed; Path=/",                          # another application's cookie
    "__session=x; Domain=evil.test; Path=/",                     # a foreign domain
    "__clerk_db_jwt=x; Domain=com; Path=/",                      # a bare top-level domain
    "__client_uat=1; Domain=0.0.1; Path=/",                      # not a parent of 127.0.0.1
    "__Session=x; Path=/",                                       # not Clerk's name (case)
    "=nameless; Path=/",
]


@pytest.mark.parametrize("via", ["nonce", "token"])
def test_handshake_sets_only_clerks_cookies_for_this_host(browser, fake, bserver, via):
    """A validly signed handshake JWT, or a Backend API payload, naming other
    cookies or other domains: only Clerk's, for this host, are set; each
    dropped one is logged (name, never value).  Deliberately stricter than
    Clerk's SDK, which sets every directive."""
    good = fake.directives()
    directives = HOSTILE + good + ["__clerk_redirect_count=0; Domain=127.0.0.1; Path=/"]
    mark = bserver.log_mark()
    if via == "nonce":
        r = browser.get("/b/hs/env?__clerk_handshake_nonce=" + fake.new_nonce(directives))
    else:
        r = browser.get("/b/hs/env?__clerk_handshake=" + fake.handshake_token(directives))
    assert_signed_in(r, user=F.USER)
    assert r.set_cookies == good + ["__clerk_redirect_count=0; Domain=127.0.0.1; Path=/"], \
        r.set_cookies
    log = bserver.log_since(mark)
    assert log.count("handshake directive not set") == len(HOSTILE), log
    assert "attacker-fixed" not in log


def test_a_dropped_session_cookie_is_not_the_session(browser, fake):
    """A __session for another domain is neither set nor used to sign in."""
    other = fake.directives()[0].replace("; Path=/", "; Domain=evil.test; Path=/")
    r = browser.get("/b/hs/env?__clerk_handshake=" + fake.handshake_token([other]))
    assert_signed_out(r, "session-token-missing")
    assert r.set_cookies == [] or all(not c.startswith("__session") for c in r.set_cookies)
