"""Development instances (pk_test_): Clerk's dev-browser protocol as
@clerk/backend decides it (request.ts 567-610, handshake.ts 243-314), played
against the fake's development Frontend API (mode "dev")."""
import json
import urllib.parse

import pytest

import clerk_tokens as T
import handshake_fake as F
from browser_kit import FETCH, NAV, SAT_ORIGIN, handshake_query
from helpers import describe
from test_browser_sessions import (apr_urlencoded, assert_handshake, assert_signed_in,
                                   assert_signed_out, expired, sign_in, tok)


def test_dev_browser_round_trip_ends_signed_in_on_the_clean_url(browser, fake, bserver):
    """An expired session and no dev browser: dev-browser-missing, FAPI comes
    back with the dev browser, dev-browser-sync, FAPI comes back with a signed
    handshake, the module sets its cookies and 307s to the URL without the
    handshake's parameters; then signed in, without any more round trips.
    (Without any session cookie, see test_browser_header_token.py.)"""
    fake.mode = "dev"
    old = expired()
    sign_in(browser, old)
    chain = browser.navigate("/b/dev/env?x=1")
    assert [r.status_code for r in chain] == [307] * 5 + [200], [describe(r) for r in chain]
    assert_handshake(chain[0], fake, bserver, "/b/dev/env?x=1", "dev-browser-missing", count=1,
                     session=old)
    assert chain[1].headers["Location"] == bserver.base_url + "/b/dev/env?x=1&__clerk_db_jwt=" + F.DEV_BROWSER
    # the dev browser token goes to FAPI, never in redirect_url
    assert_handshake(chain[2], fake, bserver, "/b/dev/env?x=1", "dev-browser-sync", count=2,
                     session=old, dev_browser=F.DEV_BROWSER)
    assert "__clerk_handshake=" in chain[3].headers["Location"]
    resolved = chain[4]
    assert resolved.headers["Location"] == bserver.base_url + "/b/dev/env?x=1", describe(resolved)
    assert resolved.headers.get("Cache-Control") == "no-store"
    assert resolved.headers.get("X-Clerk-Auth-Status") == "signed-in"
    assert resolved.headers.get("Access-Control-Allow-Origin") == "null"
    assert resolved.headers.get("Access-Control-Allow-Credentials") == "true"
    assert [c.split("=", 1)[0] for c in resolved.set_cookies] == \
        ["__session", "__client_uat", "__clerk_db_jwt"], resolved.set_cookies
    env = assert_signed_in(chain[5], user=F.USER)
    assert env["QUERY_STRING"] == "x=1"
    assert fake.calls(F.HANDSHAKE) == 2
    assert_signed_in(browser.get("/b/dev/env"), user=F.USER)
    assert_signed_in(browser.fetch("/b/dev/env"), user=F.USER)
    assert fake.calls(F.HANDSHAKE) == 2


def test_resolved_dev_handshake_307s_without_any_handshake_parameter(browser, fake, bserver):
    for param in ("__clerk_handshake=" + fake.handshake_token(fake.dev_directives()),
                  "__clerk_handshake_nonce=" + fake.new_nonce(fake.dev_directives())):
        r = browser.get("/b/dev/env?a=1&%s&__clerk_help=1&__clerk_db_jwt=x&b=2" % param)
        assert r.status_code == 307, describe(r)
        assert r.headers["Location"] == bserver.base_url + "/b/dev/env?a=1&b=2"
        assert r.headers.get("X-Clerk-Auth-Status") == "signed-in", describe(r)
        assert "__clerk_redirect_count" not in " ".join(r.set_cookies)


def test_dev_browser_sync_from_the_query(browser, fake, bserver):
    """A __clerk_db_jwt in the query: dev-browser-sync, even with valid cookies
    and a dev browser cookie (request.ts 601-606)."""
    good = tok()
    sign_in(browser, good)
    browser.set("__clerk_db_jwt", "dvb_old")
    r = browser.get("/b/dev/env?q=1&__clerk_db_jwt=dvb_new")
    assert_handshake(r, fake, bserver, "/b/dev/env?q=1", "dev-browser-sync", session=good,
                     dev_browser="dvb_new")
    assert_signed_out(browser.fetch("/b/dev/env?__clerk_db_jwt=dvb_new"), "dev-browser-sync")


def test_dev_browser_cookie_goes_along_with_a_handshake(browser, fake, bserver):
    old = expired()
    sign_in(browser, old)
    browser.set("__clerk_db_jwt", F.DEV_BROWSER)
    assert_handshake(browser.get("/b/dev/env"), fake, bserver, "/b/dev/env",
                     "session-token-expired-refresh-non-eligible-no-refresh-cookie",
                     session=old, dev_browser=F.DEV_BROWSER)


def test_legacy_dev_session_parameter_is_not_in_redirect_url(browser, fake, bserver):
    old = expired()
    sign_in(browser, old)
    r = browser.get("/b/dev/env?a=1&__dev_session=legacy")
    assert_handshake(r, fake, bserver, "/b/dev/env?a=1", "dev-browser-missing", session=old)


@pytest.mark.parametrize("late,signed_in", [(3600, True), (2 * 86400, False)])
def test_one_day_retry_of_a_dev_handshake_session(browser, fake, bserver, late, signed_in):
    """A development handshake whose session failed on time is retried with a
    day's skew (handshake.ts 274-313); beyond it the cookies decide."""
    old = expired()
    sign_in(browser, old)
    browser.set("__clerk_db_jwt", "dvb_cookie")
    t = T.now()
    stale = F.session_token(F.USER, iat=t - late - 60, nbf=t - late - 70, exp=t - late)
    d = ["__session=%s; Path=/" % stale, "__client_uat=%d; Path=/" % (t - late - 60),
         "__clerk_db_jwt=%s; Path=/" % F.DEV_BROWSER]
    r = browser.get("/b/dev/env?k=v&__clerk_handshake=" + fake.handshake_token(d))
    if signed_in:
        assert r.status_code == 307 and r.headers["Location"] == bserver.base_url + "/b/dev/env?k=v"
        assert r.headers.get("X-Clerk-Auth-Status") == "signed-in", describe(r)
        assert [c.split("=", 1)[0] for c in r.set_cookies] == ["__session", "__client_uat",
                                                               "__clerk_db_jwt"]
    else:
        # rejected: nothing set, the cookie flow decides (the old expired cookie)
        assert_handshake(r, fake, bserver, "/b/dev/env?k=v",
                         "session-token-expired-refresh-non-eligible-no-refresh-cookie",
                         session=old, dev_browser="dvb_cookie")
        assert [c for c in r.set_cookies if not c.startswith("__clerk_redirect_count")] == []


def test_production_handshake_session_gets_no_day_of_skew(browser, fake, bserver):
    t = T.now()
    stale = F.session_token(F.USER, iat=t - 3660, nbf=t - 3670, exp=t - 3600)
    r = browser.get("/b/hs/env?__clerk_handshake=" + fake.handshake_token(
        ["__session=%s; Path=/" % stale, "__client_uat=%d; Path=/" % (t - 3660)]))
    assert_signed_out(r, "session-token-and-uat-missing")
    assert r.set_cookies == []


def test_dev_handshake_never_loops(browser, fake, bserver):
    """A development FAPI that cannot help: three handshakes, then 401."""
    fake.mode = "loop"
    sign_in(browser, expired())
    chain = browser.navigate("/b/dev/env")
    assert [r.status_code for r in chain] == [307, 307] * 3 + [401], [describe(r) for r in chain]
    assert fake.calls(F.HANDSHAKE) == 3
    assert_signed_out(chain[-1], "dev-browser-missing")


# ---------------------------------------------------------------- primary-responds-to-syncing

def test_primary_sends_a_syncing_satellite_back(browser, fake, bserver):
    browser.set("__clerk_db_jwt", F.DEV_BROWSER)
    back = SAT_ORIGIN + "/page?x=1"
    r = browser.get("/b/devprimary/env?__clerk_redirect_url=" + urllib.parse.quote(back, safe=""))
    assert r.status_code == 307, describe(r)
    assert r.headers["Location"] == back + "&__clerk_db_jwt=" + F.DEV_BROWSER + "&__clerk_synced=true"
    assert r.headers.get("X-Clerk-Auth-Reason") == "primary-responds-to-syncing"
    assert "__clerk_redirect_count=1; SameSite=Lax; HttpOnly; Max-Age=2" in r.set_cookies
    # a __clerk_synced=false already there becomes true (set, not append)
    r = browser.get("/b/devprimary/env?__clerk_redirect_url=" + urllib.parse.quote(
        SAT_ORIGIN + "/p?__clerk_synced=false", safe=""))
    q = urllib.parse.parse_qsl(urllib.parse.urlsplit(r.headers["Location"]).query)
    assert sorted(q) == [("__clerk_db_jwt", F.DEV_BROWSER), ("__clerk_synced", "true")], q
    assert fake.calls(F.HANDSHAKE) == 0


@pytest.mark.parametrize("target", ["https://evil.test/steal", "https://www.satellite.test.evil.test/",
                                    "http://www.satellite.test/", "javascript:alert(1)",
                                    "//evil.test/", "https://user@evil.test/"])
def test_foreign_redirect_url_never_gets_the_dev_browser(browser, fake, bserver, target):
    """Stricter than the SDK (which sends the token to any __clerk_redirect_url):
    only an origin of ClerkAuthorizedParties gets the dev browser token."""
    good = tok()
    sign_in(browser, good)
    browser.set("__clerk_db_jwt", F.DEV_BROWSER)
    r = browser.get("/b/devprimary/env?__clerk_redirect_url=" + urllib.parse.quote(target, safe=""))
    assert F.DEV_BROWSER not in r.headers.get("Location", ""), describe(r)
    assert_signed_in(r)


def test_primary_without_authorized_parties_sends_nobody_back(browser, fake, bserver):
    browser.set("__clerk_db_jwt", F.DEV_BROWSER)
    sign_in(browser, tok())
    r = browser.get("/b/dev/env?__clerk_redirect_url=" + urllib.parse.quote(SAT_ORIGIN + "/", safe=""))
    assert_signed_in(r)
