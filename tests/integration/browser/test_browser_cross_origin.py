"""Clerk's cross-origin check (request.ts 681-696, authenticateContext.ts
204-265), the X-Clerk-Auth-Message values, and item 8 of issue 12: azp-less
session tokens through a handshake."""
import re

import pytest

import clerk_tokens as T
import handshake_fake as F
from browser_kit import FETCH, NAV
from helpers import describe
from test_browser_sessions import (EXPIRED_REASON, assert_handshake, assert_signed_in,
                                   assert_signed_out, expired, sign_in, tok)

CROSS = "primary-domain-cross-origin-sync"
CROSS_MESSAGE = "Cross-origin request from satellite domain requires handshake"


def test_foreign_referer_gets_one_cross_origin_handshake(browser, fake, bserver):
    good = tok()
    sign_in(browser, good)
    r = browser.get("/b/noproxy/env", headers=dict(NAV, Referer="https://www.satellite.test/a"))
    assert_handshake(r, fake, bserver, "/b/noproxy/env", CROSS, base="https://" + F.FAPI,
                     session=good, count=1)
    assert r.headers.get("X-Clerk-Auth-Message") == CROSS_MESSAGE
    browser.set("__clerk_redirect_count", "1")
    assert_signed_in(browser.get("/b/noproxy/env",
                                 headers=dict(NAV, Referer="https://www.satellite.test/a")))


@pytest.mark.parametrize("referer", [None, "SELF", "https://clerk.acceptance.test/v1/x",
                                     "https://accounts.acceptance.test/sign-in", "not a url"])
def test_known_or_absent_referer_is_signed_in(browser, fake, bserver, referer):
    sign_in(browser, tok())
    hdrs = dict(NAV)
    if referer:
        hdrs["Referer"] = bserver.base_url + "/x" if referer == "SELF" else referer
    assert_signed_in(browser.get("/b/noproxy/env", headers=hdrs))


def test_cross_origin_check_is_for_document_gets_only(browser, fake):
    sign_in(browser, tok())
    ref = {"Referer": "https://www.satellite.test/"}
    assert_signed_in(browser.fetch("/b/noproxy/env", headers=ref) if False else
                     browser.request("GET", "/b/noproxy/env", headers=dict(FETCH, **ref)))
    assert_signed_in(browser.request("POST", "/b/noproxy/env", headers=dict(NAV, **ref), data=b"a"))
    assert_signed_in(browser.get("/b/noproxy/env", headers=dict(NAV, **{"Sec-Fetch-Dest": "iframe"}, **ref)))


def test_forged_referer_causes_at_most_one_handshake(browser, fake, bserver):
    """The Referer sent on every hop: one handshake, then the result decides."""
    sign_in(browser, tok())
    chain = browser.navigate("/b/hs/env", headers=dict(NAV, Referer="https://evil.test/"))
    assert [r.status_code for r in chain] == [307, 307, 200], [describe(r) for r in chain]
    assert chain[0].headers.get("X-Clerk-Auth-Reason") == CROSS
    assert fake.calls(F.HANDSHAKE) == 1
    assert_signed_in(chain[-1], user=F.USER)


def test_referer_from_the_proxy_host_is_known(browser, fake, bserver):
    sign_in(browser, tok())
    assert_signed_in(browser.get("/b/hs/env", headers=dict(NAV, Referer=fake.url + "/v1/client")))


def test_expired_message_is_the_sdks(browser, fake):
    sign_in(browser, expired())
    r = browser.fetch("/b/hs/env")
    assert re.fullmatch(r"JWT is expired\. Expiry date: .+ GMT, Current date: .+ GMT\. "
                        r"\(reason=token-expired, token-carrier=cookie\)",
                        r.headers.get("X-Clerk-Auth-Message", "")), describe(r)


def test_no_message_where_the_sdk_has_none(browser, fake, bserver):
    browser.set("__client_uat", str(T.now() - 5))
    r = browser.fetch("/b/hs/env")
    assert "X-Clerk-Auth-Message" not in r.headers
    assert_signed_out(browser.get("/b/hs/env", headers=FETCH), "client-uat-but-no-session-token")


# ---------------------------------------------------------------- item 8: azp-less tokens

def test_azp_less_handshake_tokens_with_authorized_parties_never_sign_in(browser, fake):
    """As the SDK (jwt/assertions.ts 86-101: azp required once authorizedParties is set):
    the handshake's session is refused, the cookies decide, the loop guard ends it."""
    fake.azp_less = True
    sign_in(browser, expired())
    chain = browser.navigate("/b/azp-parties/env")
    assert [r.status_code for r in chain] == [307, 307] * 3 + [401], [describe(r) for r in chain]
    assert_signed_out(chain[-1], EXPIRED_REASON)


def test_recommended_configuration_without_authorized_parties_keeps_the_user(browser, fake):
    fake.azp_less = True
    sign_in(browser, expired())
    chain = browser.navigate("/b/azp-open/env")
    assert [r.status_code for r in chain] == [307, 307, 200], [describe(r) for r in chain]
    env = assert_signed_in(chain[-1], user=F.USER)
    assert "CLERK_AZP" not in env
    assert_signed_in(browser.get("/b/azp-open/env"), user=F.USER)
    assert fake.calls(F.HANDSHAKE) == 1
