"""Headless Chromium through the browser flows of issue 12, with real
redirects and a real cookie jar:

  - a development instance (pk_test_) on http://localhost:<port>: the
    dev-browser-missing and dev-browser-sync handshakes, the handshake result
    in the URL (__clerk_handshake), the 307 to the clean URL, then the same
    browser after its session token expired: a handshake again, or, with a
    __refresh_<suffix> cookie, a silent refresh through the Backend API;
  - a production satellite domain, satellite.test (mapped to 127.0.0.1 with
    --host-resolver-rules), ClerkSatelliteAutoSync On: the
    satellite-needs-syncing handshake on the first visit, and signed in
    again across token expiry.

One Chromium per test, driven over the DevTools protocol on a pipe
(--remote-debugging-pipe), so that one browser makes several navigations
with the same cookies (session cookies do not outlive a browser); every
request it makes is recorded (Network.requestWillBeSent), so that each
navigation's redirect chain is asserted hop by hop and no loop can pass.
Every read is bounded by a timeout; the browser is killed with its whole
process group.  The tests run on http: the fake sets its cookies without
Secure (as handshake_fake.py's).
"""
import base64
import fcntl
import html
import json
import os
import re
import select
import signal
import subprocess
import time
import urllib.parse

import pytest

import clerk_tokens as T
import handshake_fake as F
from browser_kit import GENEROUS, common
from chromium_fake import ChromiumFake, cookie_suffix, refresh_path
from locations import cgi_directory, clerk
from server_fixtures import reset_around, running_httpd, started

CHROMIUM = "/usr/bin/chromium"
TIMEOUT = 40
SATELLITE = "satellite.test"
SAT_ISS = "https://clerk." + SATELLITE
DEV_SUFFIX = cookie_suffix(F.PK_TEST)
EXPIRED = "session-token-expired-refresh-non-eligible-no-refresh-cookie"
TTL = 5         # seconds a minted session token lives (ClerkClockSkew 0 below)

class ChildCrashed(Exception):
    """A navigation got no response because an httpd child died (SIGSEGV)."""


pytestmark = pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK),
    reason="%s is not installed (apt-get install -y chromium)" % CHROMIUM)


# ---------------------------------------------------------------- httpd

def flows_config(h, fake):
    doc = h.docroot
    h.install_www("cgi/printenv.py", "printenv.py")
    s = [f"""
ClerkAPIURL {fake.url}
ClerkHTTPTimeout 2
{GENEROUS}
{cgi_directory(doc)}
AliasMatch "^/([a-z]+)/env$" "{doc}/cgi/printenv.py"
"""]
    # a development instance (its Frontend API is the fake: ClerkProxyURL)
    s.append(clerk(h, "/dev", common(fake, pk=F.PK_TEST), "ClerkClockSkew 0"))
    # a production satellite: its Frontend API clerk.satellite.test, played by the fake
    s.append(clerk(h, "/sat", common(fake, proxy=False),
                   "ClerkProxyURL http://clerk.%s:%d" % (SATELLITE, fake.port),
                   "ClerkIsSatellite On", "ClerkDomain " + SATELLITE,
                   "ClerkSatelliteAutoSync On", "ClerkClockSkew 0"))
    return "\n".join(s) + "\n"


@pytest.fixture(scope="session")
def cfake_service():
    yield from started(ChromiumFake())


@pytest.fixture
def cfake(cfake_service):
    yield from reset_around(cfake_service)


@pytest.fixture(scope="session")
def cserver(mpm, cfake_service):
    yield from running_httpd(mpm, lambda h: flows_config(h, cfake_service), name="chromium")


# ---------------------------------------------------------------- Chromium

class Chromium:
    """One headless Chromium, driven over --remote-debugging-pipe (CDP
    messages are JSON, NUL-terminated; the browser reads fd 3, writes fd 4)."""

    def __init__(self, profile, flags=(), server=None):
        self.server = server
        self.log_mark = server.log_mark() if server is not None else 0
        cmd_r, cmd_w = os.pipe()
        res_r, res_w = os.pipe()
        # above 4, so that the child's dup2 onto 3 and 4 clobbers neither
        child_r = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10)
        child_w = fcntl.fcntl(res_w, fcntl.F_DUPFD, 10)
        for fd in (cmd_r, res_w):
            os.close(fd)

        def fds():
            os.dup2(child_r, 3)
            os.dup2(child_w, 4)

        cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-proxy-server", "--disable-extensions",
               "--user-data-dir=%s" % profile, "--remote-debugging-pipe"] + list(flags) \
            + ["about:blank"]
        self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True,
                                  preexec_fn=fds, pass_fds=(3, 4),
                                  env=dict(os.environ, LANG="C"))
        os.close(child_r)
        os.close(child_w)
        self.w, self.r = cmd_w, res_r
        self.buf = b""
        self.last_id = 0
        self.events = []
        try:
            target = self.call("Target.createTarget", url="about:blank")["targetId"]
            self.session = self.call("Target.attachToTarget", targetId=target,
                                     flatten=True)["sessionId"]
            self.call("Page.enable", True)
            self.call("Network.enable", True)
        except BaseException:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _message(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.time()
            if left <= 0 or not select.select([self.r], [], [], left)[0]:
                pytest.fail("chromium did not answer within %d s" % TIMEOUT)
            chunk = os.read(self.r, 1 << 16)
            if not chunk:
                pytest.fail("chromium closed its DevTools pipe (exit %s)" % self.p.poll())
            self.buf += chunk
        msg, _, self.buf = self.buf.partition(b"\0")
        return json.loads(msg)

    def call(self, method, in_page=False, **params):
        self.last_id += 1
        m = {"id": self.last_id, "method": method, "params": params}
        if in_page:
            m["sessionId"] = self.session
        os.write(self.w, json.dumps(m).encode() + b"\0")
        deadline = time.time() + TIMEOUT
        while True:
            msg = self._message(deadline)
            if msg.get("id") == self.last_id:
                assert "error" not in msg, "%s: %s" % (method, msg["error"])
                return msg["result"]
            self.events.append(msg)

    def _event(self, name, deadline):
        while True:
            for i, e in enumerate(self.events):
                if e.get("method") == name:
                    return self.events.pop(i)
            self.events.append(self._message(deadline))

    def navigate(self, url):
        """A top-level navigation to url, followed to its end: (the DOM, the
        chain [(url, status)] of every document request, redirects included)."""
        self.events = []
        r = self.call("Page.navigate", True, url=url)
        if r.get("errorText"):
            hops = [e["params"]["request"]["url"] for e in self.events
                    if e.get("method") == "Network.requestWillBeSent"]
            time.sleep(0.5)         # the parent logs the child's death
            if self.server is not None and "exit signal Segmentation fault" \
                    in self.server.log_since(self.log_mark):
                raise ChildCrashed("%s after %s" % (r["errorText"], hops))
            pytest.fail("navigation to %s failed: %s after %s" % (url, r["errorText"], hops))
        self._event("Page.loadEventFired", time.time() + TIMEOUT)
        chain = []
        for e in self.events:
            if e.get("method") != "Network.requestWillBeSent" \
                    or e["params"].get("type") != "Document":
                continue
            p = e["params"]
            if "redirectResponse" in p:        # the previous hop answered with a redirect
                chain[-1] = (chain[-1][0], p["redirectResponse"]["status"])
            chain.append((p["request"]["url"], None))
        final = [e["params"]["response"]["status"] for e in self.events
                 if e.get("method") == "Network.responseReceived"
                 and e["params"].get("type") == "Document"]
        if chain and final:
            chain[-1] = (chain[-1][0], final[-1])
        dom = self.call("Runtime.evaluate", True, expression="document.documentElement.outerHTML",
                        returnByValue=True)["result"]["value"]
        return dom, chain

    def cookies(self, url):
        """{name: value} of the cookies the browser holds for url (HttpOnly too)."""
        got = self.call("Network.getCookies", True, urls=[url])["cookies"]
        return {c["name"]: c["value"] for c in got}

    def close(self):
        try:
            os.write(self.w, b'{"id":999999,"method":"Browser.close"}\0')
            self.p.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        try:
            os.killpg(self.p.pid, signal.SIGKILL)     # renderer/zygote leftovers of this run only
        except ProcessLookupError:
            pass
        self.p.wait()
        for fd in (self.w, self.r):
            try:
                os.close(fd)
            except OSError:
                pass


def env_of(dom, server, fake):
    m = re.search(r"<pre[^>]*>(.*?)</pre>", dom, re.S)
    assert m, "%s\n--- fake saw: %r\n--- httpd error log:\n%s" % (
        dom[:2000], fake.requests(), server.error_log()[-3000:])
    return json.loads(html.unescape(m.group(1)))


# what a Frontend API sends back (the handshake request's own parameters are asserted apart)
RESULT_PARAMS = ("__clerk_db_jwt", "__clerk_handshake", "__clerk_handshake_nonce", "__clerk_synced")


def hop_names(chain, base, fapi):
    """The chain as (where, status, the Clerk parameters in the URL)."""
    out = []
    for url, status in chain:
        where = "app" if url.startswith(base) else "fapi" if url.startswith(fapi) else url
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
        out.append((where, status, sorted(k for k in q if k in RESULT_PARAMS)))
    return out


# hop_names of a handshake with a nonce: the app sends the browser to the
# Frontend API, which sends it back with __clerk_handshake_nonce
NONCE_ROUND_TRIP = [
    ("app", 307, []),
    ("fapi", 307, []),
    ("app", 200, ["__clerk_handshake_nonce"]),
]


def expire(token):
    """Sleep until token's exp has passed (ClerkClockSkew 0)."""
    payload = token.split(".")[1]
    exp = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["exp"]
    while T.now() <= exp:
        time.sleep(0.2)


def served_as_user(env):
    assert env["REMOTE_USER"] == F.USER, env
    assert env["CLERK_USER_ID"] == F.USER and env["CLERK_SESSION_ID"] == F.SID
    assert env["HTTP_SEC_FETCH_DEST"] == "document"


# ---------------------------------------------------------------- development

def dev_sign_in(c, cserver, cfake):
    """The first visit of a development instance without cookies; returns
    (target, base, the session token and dev browser token it ended with)."""
    base = "http://localhost:%d" % cserver.port
    target = base + "/dev/env?from=chromium"
    dom, chain = c.navigate(target)
    env = env_of(dom, cserver, cfake)
    served_as_user(env)
    assert env["QUERY_STRING"] == "from=chromium"      # the clean URL
    assert env["REQUEST_URI"] == "/dev/env?from=chromium"
    assert len(cfake.dev_browsers) == 1
    db = cfake.dev_browsers[0]
    # no cookies -> dev-browser-missing; back with __clerk_db_jwt -> dev-browser-sync;
    # back with __clerk_handshake -> 307 to the clean URL -> the page
    assert hop_names(chain, base, cfake.url) == [
        ("app", 307, []),
        ("fapi", 307, []),
        ("app", 307, ["__clerk_db_jwt"]),
        ("fapi", 307, ["__clerk_db_jwt"]),
        ("app", 307, ["__clerk_handshake"]),
        ("app", 200, []),
    ], chain
    assert chain[-1][0] == target
    hs = cfake.requests(F.HANDSHAKE)
    assert [r.query["__clerk_hs_reason"] for r in hs] == ["dev-browser-missing",
                                                          "dev-browser-sync"], hs
    # redirect_url never carries the dev browser token; the handshake URL does
    assert [r.query["redirect_url"] for r in hs] == [target, target]
    assert "__clerk_db_jwt" not in hs[0].query and hs[1].query["__clerk_db_jwt"] == db
    assert "Chrome" in hs[0].headers.get("user-agent", "")
    assert cfake.calls(F.PAYLOAD) == 0          # the result came in the URL, signed
    session = cfake.minted[-1]
    jar = c.cookies(base)
    assert jar["__session"] == session and jar["__clerk_db_jwt"] == db
    assert jar["__client_uat"].isdigit()
    # the page's request carried them
    assert "__session=" + session in env["HTTP_COOKIE"]
    assert "__clerk_db_jwt=" + db in env["HTTP_COOKIE"]
    cserver.sent_tokens.append(session)
    return target, base, session, db


def seed(c, url, cookies):
    """Cookies a signed-in browser holds for url's host (host-only, Path=/, SameSite=Lax)."""
    for name, value in cookies.items():
        ok = c.call("Network.setCookie", True, name=name, value=value, url=url, path="/",
                    sameSite="Lax", httpOnly=name.startswith("__refresh"))
        assert ok.get("success", True), (name, ok)


def dev_seeded(c, cserver, cfake, refresh=False):
    """A browser signed in on the development instance (what the first visit
    leaves): a live session, its __client_uat, the dev browser, perhaps a
    refresh token.  Its first navigation is served at once."""
    base = "http://localhost:%d" % cserver.port
    target = base + "/dev/env?from=chromium"
    tok, uat = cfake.mint_session()
    db = "dvb_seededDevBrowser0123456789"
    cookies = {"__session": tok, "__client_uat": uat, "__clerk_db_jwt": db}
    if refresh:
        cookies["__refresh_" + DEV_SUFFIX] = cfake.refresh_token
    seed(c, base, cookies)
    cserver.sent_tokens.append(tok)
    dom, chain = c.navigate(target)
    served_as_user(env_of(dom, cserver, cfake))
    assert chain == [(target, 200)], chain
    assert cfake.requests(F.HANDSHAKE) == [] and cfake.minted == [tok]
    return target, base, tok, db


def dev_expiry_handshake(c, cserver, cfake, target, base, old, db, before):
    """The navigation after the session expired: one handshake (the dev
    browser is known), its result in the URL, the 307 to the clean URL."""
    expire(old)
    dom, chain = c.navigate(target)
    env = env_of(dom, cserver, cfake)
    served_as_user(env)
    assert env["QUERY_STRING"] == "from=chromium"
    assert hop_names(chain, base, cfake.url) == [
        ("app", 307, []),
        ("fapi", 307, ["__clerk_db_jwt"]),
        ("app", 307, ["__clerk_handshake"]),
        ("app", 200, []),
    ], chain
    hs = cfake.requests(F.HANDSHAKE)
    assert len(hs) == before + 1, hs
    assert hs[-1].query["__clerk_hs_reason"] == EXPIRED
    assert hs[-1].query["redirect_url"] == target
    assert hs[-1].query["__clerk_db_jwt"] == db          # the same dev browser
    assert hs[-1].query["__session"] == old              # origin-outage mode: the session in use
    assert cfake.calls(F.PAYLOAD) == 0
    new = cfake.minted[-1]
    assert new != old and c.cookies(base)["__session"] == new
    assert c.cookies(base)["__clerk_db_jwt"] == db
    assert "__session=" + new in env["HTTP_COOKIE"]
    cserver.sent_tokens.append(new)
    # signed in without a trip while the new session lives
    dom, chain = c.navigate(target)
    served_as_user(env_of(dom, cserver, cfake))
    assert chain == [(target, 200)] and cfake.calls(F.HANDSHAKE) == before + 1


def dev_silent_refresh(c, cserver, cfake, target, base, old, before):
    """The navigation after the session expired, with __refresh_<suffix>:
    refreshed through the Backend API on the way, no redirect."""
    assert c.cookies(base)["__refresh_" + DEV_SUFFIX] == cfake.refresh_token
    expire(old)
    dom, chain = c.navigate(target)
    env = env_of(dom, cserver, cfake)
    served_as_user(env)
    assert chain == [(target, 200)], chain
    assert cfake.calls(F.HANDSHAKE) == before
    refreshes = cfake.requests(refresh_path())
    assert len(refreshes) == 1, cfake.requests()
    body = refreshes[0].body
    assert body["format"] == "cookie"
    assert body["expired_token"] == old
    assert body["refresh_token"] == cfake.refresh_token
    assert body["request_origin"] == base
    assert "Chrome" in str(body["request_headers"])      # the browser's own headers, forwarded
    # the request carried the expired session; the answer set the refreshed one
    assert "__session=" + old in env["HTTP_COOKIE"]
    new = cfake.minted[-1]
    assert new != old and c.cookies(base)["__session"] == new
    cserver.sent_tokens.append(new)
    # and the next navigation is signed in with it, asking no one
    dom, chain = c.navigate(target)
    served_as_user(env_of(dom, cserver, cfake))
    assert chain == [(target, 200)]
    assert cfake.calls(F.HANDSHAKE) == before and len(cfake.requests(refresh_path())) == 1


def test_chromium_dev_instance_first_visit_then_expiry(cserver, cfake, tmp_path):
    """No cookies: dev-browser-missing, dev-browser-sync, the signed result in
    the URL, the clean URL; then across expiry with a handshake."""
    cfake.mode, cfake.pk, cfake.ttl = "dev", F.PK_TEST, TTL
    with Chromium(tmp_path / "profile", server=cserver) as c:
        target, base, old, db = dev_sign_in(c, cserver, cfake)
        dev_expiry_handshake(c, cserver, cfake, target, base, old, db, before=2)


def test_chromium_dev_instance_first_visit_then_silent_refresh(cserver, cfake, tmp_path):
    """The first visit's handshake also sets __refresh_<suffix>; across
    expiry the session is refreshed silently."""
    cfake.mode, cfake.pk, cfake.ttl = "dev", F.PK_TEST, TTL
    cfake.refresh_token = "rt_chromiumRefreshToken0123456789"
    with Chromium(tmp_path / "profile", server=cserver) as c:
        target, base, old, db = dev_sign_in(c, cserver, cfake)
        dev_silent_refresh(c, cserver, cfake, target, base, old, before=2)


def test_chromium_dev_instance_signed_in_then_expiry(cserver, cfake, tmp_path):
    """A signed-in development browser (session cookie, dev browser) across
    expiry: the handshake with __clerk_db_jwt, __clerk_handshake, the clean URL."""
    cfake.mode, cfake.pk, cfake.ttl = "dev", F.PK_TEST, TTL
    with Chromium(tmp_path / "profile", server=cserver) as c:
        target, base, old, db = dev_seeded(c, cserver, cfake)
        dev_expiry_handshake(c, cserver, cfake, target, base, old, db, before=0)


def test_chromium_dev_instance_signed_in_then_silent_refresh(cserver, cfake, tmp_path):
    """The same with a __refresh_<suffix> cookie: the Backend API refreshes the
    session on the way, no handshake."""
    cfake.mode, cfake.pk, cfake.ttl = "dev", F.PK_TEST, TTL
    cfake.refresh_token = "rt_chromiumRefreshToken0123456789"
    with Chromium(tmp_path / "profile", server=cserver) as c:
        target, base, old, db = dev_seeded(c, cserver, cfake, refresh=True)
        dev_silent_refresh(c, cserver, cfake, target, base, old, before=0)


# ---------------------------------------------------------------- satellite

def sat_flags(cserver):
    """satellite.test on 127.0.0.1, and its http origin a secure context:
    Chromium sends Sec-Fetch-* only to potentially trustworthy origins, and
    the satellite sync (as the SDK's) is for Sec-Fetch-Dest: document only."""
    return ["--host-resolver-rules=MAP *.test 127.0.0.1",
            "--unsafely-treat-insecure-origin-as-secure=http://%s:%d" % (SATELLITE, cserver.port)]


def sat_urls(cserver, cfake):
    base = "http://%s:%d" % (SATELLITE, cserver.port)
    return base + "/sat/env?from=chromium", base, "http://clerk.%s:%d" % (SATELLITE, cfake.port)


def sat_expiry(c, cserver, cfake, old, before):
    """The navigation after the satellite's session expired: the ordinary
    expiry handshake (cookies exist: no sync), a nonce, signed in."""
    target, base, fapi = sat_urls(cserver, cfake)
    expire(old)
    dom, chain = c.navigate(target)
    env = env_of(dom, cserver, cfake)
    served_as_user(env)
    assert env["QUERY_STRING"] == "from=chromium"
    assert hop_names(chain, base, fapi) == NONCE_ROUND_TRIP, chain
    hs = cfake.requests(F.HANDSHAKE)
    assert len(hs) == before + 1, hs
    assert hs[-1].query["__clerk_hs_reason"] == EXPIRED
    assert hs[-1].query["redirect_url"] == target
    assert hs[-1].query["__session"] == old
    assert hs[-1].headers["host"] == "clerk.%s:%d" % (SATELLITE, cfake.port)
    assert cfake.calls(F.PAYLOAD) == before + 1
    new = cfake.minted[-1]
    assert new != old and c.cookies(base)["__session"] == new
    cserver.sent_tokens.append(new)
    # signed in without a trip while the new session lives
    dom, chain = c.navigate(target)
    served_as_user(env_of(dom, cserver, cfake))
    assert chain == [(target, 200)] and cfake.calls(F.HANDSHAKE) == before + 1


def test_chromium_satellite_first_visit_then_expiry(cserver, cfake, tmp_path):
    """No cookies on the satellite (ClerkSatelliteAutoSync On): the
    satellite-needs-syncing handshake through its Frontend API
    clerk.satellite.test, back with a nonce, signed in; then across expiry."""
    cfake.iss, cfake.ttl = SAT_ISS, TTL          # sessions of the satellite's Frontend API
    target, base, fapi = sat_urls(cserver, cfake)
    with Chromium(tmp_path / "profile", sat_flags(cserver), server=cserver) as c:
        dom, chain = c.navigate(target)
        env = env_of(dom, cserver, cfake)
        served_as_user(env)
        assert env["HTTP_HOST"] == "%s:%d" % (SATELLITE, cserver.port)
        assert env["QUERY_STRING"] == "from=chromium"
        assert hop_names(chain, base, fapi) == NONCE_ROUND_TRIP, chain
        hs = cfake.requests(F.HANDSHAKE)
        assert len(hs) == 1, hs
        assert hs[0].query["__clerk_hs_reason"] == "satellite-needs-syncing"
        assert hs[0].query["redirect_url"] == target
        assert hs[0].headers["host"] == "clerk.%s:%d" % (SATELLITE, cfake.port)
        assert cfake.calls(F.PAYLOAD) == 1
        old = cfake.minted[-1]
        assert c.cookies(base)["__session"] == old
        cserver.sent_tokens.append(old)
        sat_expiry(c, cserver, cfake, old, before=1)


def test_chromium_satellite_signed_in_then_expiry(cserver, cfake, tmp_path):
    """A browser signed in on the satellite (cookies issued by
    clerk.satellite.test) stays signed in across expiry."""
    cfake.iss, cfake.ttl = SAT_ISS, TTL
    target, base, fapi = sat_urls(cserver, cfake)
    with Chromium(tmp_path / "profile", sat_flags(cserver), server=cserver) as c:
        tok, uat = cfake.mint_session()
        seed(c, base, {"__session": tok, "__client_uat": uat})
        cserver.sent_tokens.append(tok)
        dom, chain = c.navigate(target)
        env = env_of(dom, cserver, cfake)
        served_as_user(env)
        assert env["HTTP_HOST"] == "%s:%d" % (SATELLITE, cserver.port)
        assert chain == [(target, 200)], chain
        assert cfake.calls(F.HANDSHAKE) == 0
        sat_expiry(c, cserver, cfake, tok, before=0)
