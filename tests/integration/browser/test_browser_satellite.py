"""Satellite domains (ClerkIsSatellite, ClerkDomain, ClerkSignInURL,
ClerkSatelliteAutoSync): request.ts 487-565, and their configtest errors."""
import urllib.parse

import pytest

import clerk_tokens as T
import handshake_fake as F
from browser_kit import FETCH, NAV, PRIMARY_SIGN_IN, SAT_FAPI
from helpers import describe
from test_browser_sessions import (apr_urlencoded, assert_handshake, assert_signed_in,
                                   assert_signed_out, expired, sign_in, tok)
from test_config_errors import expect_failure, expect_ok, loc


def test_satellite_without_cookies_is_signed_out_without_auto_sync(browser, fake):
    assert_signed_out(browser.get("/b/sat/env"), "session-token-and-uat-missing")
    assert fake.calls(F.HANDSHAKE) == 0


def test_satellite_synced_false_handshakes_with_its_frontend_api(browser, fake, bserver):
    r = browser.get("/b/sat/env?__clerk_synced=false")
    assert_handshake(r, fake, bserver, "/b/sat/env?__clerk_synced=false", "satellite-needs-syncing",
                     base="https://" + SAT_FAPI)


def test_satellite_auto_sync_handshakes_until_synced(browser, fake, bserver):
    assert_handshake(browser.get("/b/sat-auto/env"), fake, bserver, "/b/sat-auto/env",
                     "satellite-needs-syncing", base="https://" + SAT_FAPI)
    # __clerk_synced=true stops it: the cookie table decides
    assert_signed_out(browser.get("/b/sat-auto/env?__clerk_synced=true"),
                      "session-token-and-uat-missing")
    # not a document GET: no sync
    assert_signed_out(browser.fetch("/b/sat-auto/env"), "session-token-and-uat-missing")


SAT_ISS = "https://" + SAT_FAPI


def test_satellite_with_cookies_decides_by_the_cookies(browser, fake, bserver):
    """A satellite's own tokens are issued by clerk.<domain> (originalFrontendApi)."""
    sign_in(browser, tok(iss=SAT_ISS))
    assert_signed_in(browser.get("/b/sat/env"))
    t = T.now()
    old = tok(iss=SAT_ISS, iat=t - 600, nbf=t - 610, exp=t - 60)
    sign_in(browser, old)
    assert_handshake(browser.get("/b/sat/env"), fake, bserver, "/b/sat/env",
                     "session-token-expired-refresh-non-eligible-no-refresh-cookie",
                     base="https://" + SAT_FAPI, session=old)


def test_satellite_round_trip_through_the_proxy(browser, fake, bserver):
    fake.iss = SAT_ISS
    chain = browser.navigate("/b/sat-proxy/env")
    assert [r.status_code for r in chain] == [307, 307, 200], [describe(r) for r in chain]
    assert_handshake(chain[0], fake, bserver, "/b/sat-proxy/env", "satellite-needs-syncing")
    assert_signed_in(chain[-1], user=F.USER)
    assert_signed_in(browser.get("/b/sat-proxy/env"), user=F.USER)
    assert fake.calls(F.HANDSHAKE) == 1


def test_development_satellite_goes_to_the_sign_in_url(browser, fake, bserver):
    assert_signed_out(browser.get("/b/devsat/env"), "session-token-and-uat-missing")
    for path in ("/b/devsat/env?__clerk_synced=false", "/b/devsat-auto/env"):
        r = browser.get(path)
        assert r.status_code == 307, describe(r)
        assert r.headers["Location"] == PRIMARY_SIGN_IN + "?__clerk_redirect_url=" + \
            apr_urlencoded(bserver.base_url + path)
        assert r.headers.get("X-Clerk-Auth-Reason") == "satellite-needs-syncing"
        assert "__clerk_redirect_count=1; SameSite=Lax; HttpOnly; Max-Age=2" in r.set_cookies


# ---------------------------------------------------------------- configtest

PK = "ClerkPublishableKey " + F.PK_LIVE


def test_satellite_needs_a_domain_or_proxy(configtester):
    h = configtester
    expect_failure(h, loc(h, PK, "ClerkSignedOutAction handshake", "ClerkIsSatellite On",
                          "Require valid-user"), "ClerkIsSatellite", "ClerkDomain")
    expect_ok(h, loc(h, PK, "ClerkSignedOutAction handshake", "ClerkIsSatellite On",
                     "ClerkDomain satellite.test", "Require valid-user"))
    expect_ok(h, loc(h, PK, "ClerkSignedOutAction handshake", "ClerkIsSatellite On",
                     "ClerkProxyURL https://www.satellite.test/__clerk", "Require valid-user"))


def test_development_satellite_needs_a_sign_in_url(configtester):
    h = configtester
    pk = "ClerkPublishableKey " + F.PK_TEST
    expect_failure(h, loc(h, pk, "ClerkSignedOutAction handshake", "ClerkIsSatellite On",
                          "ClerkDomain satellite.test", "Require valid-user"), "ClerkSignInURL")
    expect_ok(h, loc(h, pk, "ClerkSignedOutAction handshake", "ClerkIsSatellite On",
                     "ClerkDomain satellite.test", "ClerkSignInURL " + PRIMARY_SIGN_IN,
                     "Require valid-user"))


@pytest.mark.parametrize("bad", ["https://satellite.test", "satellite..test", ".satellite.test",
                                 "satellite.test.", "sat_ellite.test", "sat ellite.test",
                                 "-satellite.test", "satellite.test/path", "x" * 254])
def test_bad_clerk_domain(configtester, bad):
    h = configtester
    expect_failure(h, loc(h, PK, '"ClerkDomain" "%s"' % bad, "Require valid-user"), "ClerkDomain")


@pytest.mark.parametrize("bad", ["satellite.test/sign-in", "ftp://x.test/", "//x.test/"])
def test_bad_sign_in_url(configtester, bad):
    h = configtester
    expect_failure(h, loc(h, PK, "ClerkSignInURL " + bad, "Require valid-user"), "ClerkSignInURL")


# ---------------------------------------------------------------- relative ClerkProxyURL

def test_relative_proxy_url_is_resolved_against_the_public_origin(browser, fake, bserver):
    old = expired()
    sign_in(browser, old)
    assert_handshake(browser.get("/b/relproxy/env"), fake, bserver, "/b/relproxy/env",
                     "session-token-expired-refresh-non-eligible-no-refresh-cookie",
                     base=bserver.base_url + "/__clerk", session=old)
    fwd = dict(NAV, **{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "www.example.test"})
    assert_handshake(browser.get("/b/relproxy-fwd/env", headers=fwd), fake, bserver,
                     "/b/relproxy-fwd/env",
                     "session-token-expired-refresh-non-eligible-no-refresh-cookie",
                     base="https://www.example.test/__clerk", session=old,
                     origin="https://www.example.test")
