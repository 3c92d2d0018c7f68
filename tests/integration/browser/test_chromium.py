"""A real browser: headless Chromium (Debian's /usr/bin/chromium) walks the
handshake with an expired session cookie and lands signed in on the CGI.

The cookies are seeded by a first navigation to the fake Clerk on
127.0.0.1:<other port> (cookies are per host, not per port, so httpd on
127.0.0.1 gets them); its 302 leads on to httpd.  Every Chromium run is
bounded by a timeout and killed with its whole process group.
"""
import html
import json
import os
import re
import signal
import subprocess
import urllib.parse

import pytest

import clerk_tokens as T
import handshake_fake as F

CHROMIUM = "/usr/bin/chromium"
TIMEOUT = 40

pytestmark = pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK),
    reason="%s is not installed (apt-get install -y chromium)" % CHROMIUM)


def dump_dom(url, user_data_dir):
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--no-proxy-server", "--disable-extensions",
           "--user-data-dir=%s" % user_data_dir, "--dump-dom", url]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True, env=dict(os.environ, LANG="C"))
    try:
        out, err = p.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        pytest.fail("chromium did not finish within %d s on %s" % (TIMEOUT, url))
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)     # renderer/zygote leftovers of this run only
        except ProcessLookupError:
            pass
    assert p.returncode == 0, err.decode("utf-8", "replace")[-2000:]
    return out.decode("utf-8", "replace")


def seed_url(fake, cookies, next_url):
    return fake.url + F.SEED + "?" + urllib.parse.urlencode(list(cookies.items()) + [("next", next_url)])


def pre_text(dom, server, fake):
    m = re.search(r"<pre[^>]*>(.*?)</pre>", dom, re.S)
    assert m, "%s\n--- fake saw: %r\n--- httpd error log:\n%s" % (
        dom[:2000], fake.requests(), server.error_log()[-3000:])
    return html.unescape(m.group(1))


def test_chromium_expired_session_handshake(bserver, fake, tmp_path):
    t = T.now()
    old = F.session_token(T.USER, iat=t - 600, nbf=t - 610, exp=t - 60)
    bserver.sent_tokens.append(old)
    target = bserver.base_url + "/b/hs/env?from=chromium"
    dom = dump_dom(seed_url(fake, {"__session": old, "__client_uat": str(t - 600)}, target),
                   tmp_path / "profile")
    env = json.loads(pre_text(dom, bserver, fake))
    # landed signed in as the user of the fresh session the handshake set
    assert env["REMOTE_USER"] == F.USER, env
    assert env["CLERK_USER_ID"] == F.USER and env["CLERK_SESSION_ID"] == F.SID
    assert env["QUERY_STRING"] == "from=chromium"
    # a real navigation: Chromium said so, and sent the seeded (expired) cookie
    assert env["HTTP_SEC_FETCH_DEST"] == "document"
    assert "__session=" + old in env["HTTP_COOKIE"]
    # one seed, one trip through the Frontend API, one nonce resolved
    assert fake.calls(F.SEED) == 1
    hs = fake.requests(F.HANDSHAKE)
    assert len(hs) == 1, fake.requests()
    assert hs[0].query["redirect_url"] == target
    assert hs[0].query["__clerk_hs_reason"] == \
        "session-token-expired-refresh-non-eligible-no-refresh-cookie"
    assert "Chrome" in hs[0].headers.get("user-agent", "")
    assert fake.calls(F.PAYLOAD) == 1


def test_chromium_xhr_is_never_redirected(bserver, fake, tmp_path):
    """XMLHttpRequests from a page (Sec-Fetch-Dest: empty) with an expired
    session get 401, never a handshake the XHR would follow.  The reason is
    the SDK's (request.ts handleSessionTokenError, then
    handleMaybeHandshakeStatus, which signs out for the same reason when the
    request is not eligible for a handshake): session-token-expired-refresh-
    <refresh error>, the refresh error non-eligible-no-refresh-cookie for a
    GET without __refresh_<suffix>, non-eligible-non-get for a POST (the
    method is checked first)."""
    t = T.now()
    old = F.session_token(T.USER, iat=t - 600, nbf=t - 610, exp=t - 60)
    bserver.sent_tokens.append(old)
    dom = dump_dom(seed_url(fake, {"__session": old, "__client_uat": str(t - 600)},
                            bserver.base_url + "/open/xhr.html"),
                   tmp_path / "profile")
    lines = pre_text(dom, bserver, fake).splitlines()
    url = bserver.base_url + "/b/hs/env?via=xhr"
    assert lines == [
        "GET 401 session-token-expired-refresh-non-eligible-no-refresh-cookie " + url,
        "POST 401 session-token-expired-refresh-non-eligible-non-get " + url], lines
    assert fake.calls(F.HANDSHAKE) == 0 and fake.calls(F.PAYLOAD) == 0
