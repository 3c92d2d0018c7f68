"""Clerk's silent refresh (request.ts 183-311, 720-785): an expired __session
with the __refresh_<suffix> cookie on a GET is refreshed through the fake
Backend API (POST /v1/sessions/<sid>/refresh), the new cookies set, the
request served signed in without a redirect; else the handshake reason
session-token-expired-refresh-<why>."""

import pytest

import clerk_tokens as T
import handshake_fake as F
from browser_kit import FETCH, NAV, Browser, config
from helpers import describe
from test_browser_hardening import HOSTILE
from test_browser_sessions import (EXPIRED_NON_GET, assert_handshake, assert_signed_in,
                                   assert_signed_out, expired, sign_in)

REFRESH = "__refresh_" + F.SUFFIX


def test_refresh_signs_in_without_a_redirect(browser, fake, bserver):
    old = expired()
    sign_in(browser, old)
    browser.set(REFRESH, "rt_0123456789abcdef")
    r = browser.get("/b/hs/env?p=1")
    env = assert_signed_in(r, user=F.USER)
    assert env["QUERY_STRING"] == "p=1"
    assert [c.split("=", 1)[0] for c in r.set_cookies] == ["__session", "__client_uat"]
    calls = fake.requests(F.refresh_path())
    assert len(calls) == 1 and calls[0].method == "POST"
    assert calls[0].headers["authorization"] == "Bearer " + F.SECRET
    body = calls[0].json()
    assert body["format"] == "cookie"
    assert body["expired_token"] == old and body["refresh_token"] == "rt_0123456789abcdef"
    assert body["request_origin"] == bserver.base_url
    assert "cookie" not in body["request_headers"] and "sec-fetch-dest" in body["request_headers"]
    assert body["request_headers"]["sec-fetch-dest"] == ["document"]
    assert fake.calls(F.HANDSHAKE) == 0
    # the new cookies serve the next request without a call
    assert_signed_in(browser.fetch("/b/hs/env"), user=F.USER)
    assert len(fake.requests(F.refresh_path())) == 1


def test_refresh_on_a_fetch_too(browser, fake):
    """Eligibility is GET + refresh cookie, not a page view (isRequestEligibleForRefresh)."""
    sign_in(browser, expired())
    browser.set(REFRESH, "rt_x")
    assert_signed_in(browser.fetch("/b/hs/env"), user=F.USER)


def test_not_a_get_is_not_refreshed(browser, fake):
    sign_in(browser, expired())
    browser.set(REFRESH, "rt_x")
    assert_signed_out(browser.request("POST", "/b/hs/env", headers=NAV, data=b"a=1"), EXPIRED_NON_GET)
    assert fake.requests(F.refresh_path()) == []


@pytest.mark.parametrize("mode,why", [("error", "refresh_token_invalid"),
                                      ("down", "service_unavailable"),     # request.ts 250-266
                                      ("hangup", "fetch-error")])
def test_refresh_failure_handshakes_with_its_reason(browser, fake, bserver, mode, why):
    fake.refresh_mode = mode
    old = expired()
    sign_in(browser, old)
    browser.set(REFRESH, "rt_x")
    assert_handshake(browser.get("/b/hs/env"), fake, bserver, "/b/hs/env",
                     "session-token-expired-refresh-" + why, session=old)
    assert_signed_out(browser.fetch("/b/hs/env"), "session-token-expired-refresh-" + why)


def test_refresh_cookies_for_foreign_names_or_domains_are_dropped(browser, fake):
    good = fake.directives()
    fake.refresh_cookies = HOSTILE + good
    sign_in(browser, expired())
    browser.set(REFRESH, "rt_x")
    r = browser.get("/b/hs/env")
    assert_signed_in(r, user=F.USER)
    assert r.set_cookies == good, r.set_cookies


@pytest.mark.parametrize("value", ['rt"x', "rt\\x", "a" * 1100, "rt\tx"])
def test_odd_refresh_token_never_reaches_clerk(browser, fake, bserver, value):
    old = expired()
    sign_in(browser, old)
    browser.set(REFRESH, value)
    assert_handshake(browser.get("/b/hs/env"), fake, bserver, "/b/hs/env",
                     "session-token-expired-refresh-missing-refresh-token", session=old)
    assert fake.requests(F.refresh_path()) == []


def test_a_comma_ends_a_cookie_value(browser, fake, bserver):
    """httpd joins repeated Cookie headers with ", ", so a comma ends a cookie value (it is no
    RFC 6265 cookie-octet): of "rt,x" the refresh token is "rt", and only that is sent."""
    old = expired()
    sign_in(browser, old)
    browser.set(REFRESH, "rt,x")
    browser.get("/b/hs/env")
    sent = fake.requests(F.refresh_path())
    assert len(sent) == 1 and sent[0].json()["refresh_token"] == "rt", sent


def test_refresh_counts_against_the_budget(httpd_factory, fake):
    h = httpd_factory("browser-refresh-budget")
    h.write_config(config(h, fake, limits="ClerkBackendAPIBudget 1 1"))
    h.start()
    answers = []
    for i in range(2):
        b = Browser(h)
        try:
            sign_in(b, expired())
            b.set(REFRESH, "rt_%d" % i)
            answers.append(b.get("/b/hs/env"))
        finally:
            b.close()
    assert_signed_in(answers[0], user=F.USER)
    assert answers[1].status_code == 503, describe(answers[1])
    assert int(answers[1].headers["Retry-After"]) >= 1
    assert len(fake.requests(F.refresh_path())) == 1
