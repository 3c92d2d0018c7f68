"""A handshake without any session (no session cookie, no Authorization
header) must carry no __session parameter.  The browser flow reads the
header's token from an uninitialised field (clerk_browser_flow.c:
browser_t.header_token is set only when an Authorization header carries a
JWT; read_request leaves it as the stack had it, and handshake_url sends it
as __session): stack bytes in the Location, or a crashed child."""
import re

import pytest

import clerk_tokens as T
import handshake_fake as F
from browser_kit import NAV
from helpers import describe
from test_browser_sessions import apr_urlencoded


def test_handshake_without_a_session_carries_no_session_parameter(httpd_factory, fake):
    from browser_kit import config
    import requests
    h = httpd_factory("browser-nosession")
    h.write_config(config(h, fake))
    h.start()
    problems = []
    for i in range(12):
        for path, cookie, reason in (
                ("/b/hs/env", "__client_uat=%d" % (T.now() - 30), "client-uat-but-no-session-token"),
                ("/b/dev/env", "", "dev-browser-missing")):
            hdrs = dict(NAV, Connection="close")
            if cookie:
                hdrs["Cookie"] = cookie
            try:
                r = requests.get(h.base_url + path, headers=hdrs, allow_redirects=False, timeout=10)
            except requests.ConnectionError as e:
                problems.append((path, "connection died: %s" % e))
                continue
            expected = (fake.url + "/v1/client/handshake?redirect_url=" + apr_urlencoded(h.base_url + path)
                        + "&__clerk_api_version=2026-05-12&suffixed_cookies=false"
                          "&__clerk_hs_reason=%s&format=nonce" % reason)
            if r.status_code != 307 or r.headers.get("Location") != expected:
                problems.append((path, r.status_code, r.headers.get("Location")))
    assert "Segmentation" not in h.error_log(), h.error_log()[-2000:]
    assert problems == []
