"""HTTP client and assertions shared by the integration tests."""
import json
import re
import socket

import requests

from locations import REALM


class Client:
    """requests.Session bound to one Httpd; remembers every token it sent."""

    def __init__(self, httpd):
        self.h = httpd
        self.s = requests.Session()

    def _record(self, *values):
        for v in values:
            if v:
                self.h.sent_tokens.append(v)

    def request(self, method, path, token=None, auth=None, session=None, cookie=None,
                headers=None, **kw):
        """token: sent as "Authorization: Bearer <token>"; auth: the raw
        Authorization value; session: sent as the __session cookie; cookie:
        the raw Cookie header."""
        hdrs = {}
        if token is not None:
            hdrs["Authorization"] = "Bearer " + token
            self._record(token)
        if auth is not None:
            hdrs["Authorization"] = auth
            self._record(auth)
        cookies = []
        if session is not None:
            cookies.append("__session=" + session)
            self._record(session)
        if cookie is not None:
            cookies.append(cookie)
            self._record(cookie)
        if cookies:
            hdrs["Cookie"] = "; ".join(cookies)
        if headers:
            hdrs.update(headers)
        kw.setdefault("allow_redirects", False)
        kw.setdefault("timeout", 30)
        return self.s.request(method, self.h.base_url + path, headers=hdrs, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def env(self, path, **kw):
        """GET a printenv URL and return the JSON environment (asserting 200)."""
        r = self.get(path, **kw)
        assert r.status_code == 200, describe(r)
        return r.json()

    def raw(self, request_bytes, timeout=30):
        """Send bytes verbatim on a new connection; returns RawResponse."""
        self._record(request_bytes.decode("latin-1"))
        with socket.create_connection(("127.0.0.1", self.h.port), timeout=timeout) as sock:
            sock.sendall(request_bytes)
            chunks = []
            while True:
                try:
                    b = sock.recv(65536)
                except socket.timeout:
                    break
                if not b:
                    break
                chunks.append(b)
        return RawResponse(b"".join(chunks))

    def raw_get(self, path, header_lines, method="GET"):
        """A request with exactly these header lines (str, no CRLF added inside)."""
        head = "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n" % (
            method, path, self.h.port)
        for line in header_lines:
            head += line + "\r\n"
        return self.raw((head + "\r\n").encode("latin-1"))


class RawResponse:
    def __init__(self, data):
        self.data = data
        head, _, self.body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        m = re.match(r"HTTP/1\.\d (\d{3})", lines[0] if lines else "")
        self.status_code = int(m.group(1)) if m else 0
        self.header_list = []
        for l in lines[1:]:
            k, _, v = l.partition(":")
            self.header_list.append((k.strip(), v.strip()))

    def headers_named(self, name):
        return [v for k, v in self.header_list if k.lower() == name.lower()]

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        body = self.body
        if b"Transfer-Encoding: chunked" in self.data.partition(b"\r\n\r\n")[0]:
            body = _dechunk(body)
        return json.loads(body)


def _dechunk(body):
    out = b""
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        body = rest[size + 2:]
    return out


# ------------------------------------------------------------------ asserts

def describe(r):
    hdrs = getattr(r, "headers", None)
    if hdrs is None:
        hdrs = dict(r.header_list)
    return "status %s, WWW-Authenticate %r, headers %r, body %r" % (
        r.status_code, _www(r), dict(hdrs), r.text[:500])


def _www(r):
    if isinstance(r, RawResponse):
        v = r.headers_named("WWW-Authenticate")
        return ", ".join(v) if v else None
    return r.headers.get("WWW-Authenticate")


def www_authenticate(r):
    return _www(r)


def challenge(realm=REALM):
    return 'Bearer realm="%s"' % realm


def assert_ok(r):
    assert r.status_code == 200, describe(r)
    assert _www(r) is None, describe(r)
    return r


def assert_no_token(r, realm=REALM):
    """401 for a request that carried no (usable) token: the plain challenge."""
    assert r.status_code == 401, describe(r)
    assert _www(r) == challenge(realm), describe(r)


def assert_invalid(r, reason, realm=REALM):
    """401 invalid_token with exactly this reason."""
    assert r.status_code == 401, describe(r)
    expected = '%s, error="invalid_token", error_description="%s"' % (challenge(realm), reason)
    assert _www(r) == expected, describe(r)


def assert_rejected(r, realm=REALM, reasons=None):
    """401 with error="invalid_token" (any reason, or one of reasons)."""
    assert r.status_code == 401, describe(r)
    w = _www(r) or ""
    assert w.startswith(challenge(realm) + ', error="invalid_token", error_description="'), describe(r)
    if reasons is not None:
        got = re.search(r'error_description="([^"]*)"', w).group(1)
        assert got in reasons, describe(r)


def assert_refused(r, realm=REALM):
    """Refused one way or another: 401 (no token or invalid token) - never 2xx/5xx."""
    assert r.status_code == 401, describe(r)
    w = _www(r) or ""
    assert w == challenge(realm) or w.startswith(challenge(realm) + ', error="invalid_token"'), describe(r)


def assert_insufficient(r, realm=REALM):
    """A valid token that does not meet Require: 401 insufficient_scope."""
    assert r.status_code == 401, describe(r)
    w = _www(r) or ""
    assert w.startswith(challenge(realm) + ", "), describe(r)
    assert 'error="insufficient_scope"' in w, describe(r)
    assert "invalid_token" not in w, describe(r)


def assert_forbidden(r):
    assert r.status_code == 403, describe(r)


# Error-log lines that mean a child crashed or a sanitizer spoke up.
CRASH = re.compile(r"exit signal|Segmentation fault|AddressSanitizer|runtime error:|"
                   r"double free|stack smashing|Aborted|AH00051|AH00052")


def assert_no_crashed_child(httpd):
    bad = [l for l in httpd.error_log().splitlines() if CRASH.search(l)]
    assert not bad, "\n".join(bad[:20])


def clerk_vars(env):
    return {k: v for k, v in env.items() if k.startswith("CLERK_")}


def http_clerk_vars(env):
    return {k: v for k, v in env.items() if k.startswith("HTTP_X_CLERK")}


def header_name(var):
    """CLERK_ORG_PERMISSIONS -> X-Clerk-Org-Permissions."""
    return "X-" + "-".join(w.capitalize() for w in var.split("_"))


def http_var(var):
    """CLERK_USER_ID -> HTTP_X_CLERK_USER_ID (what CGI makes of the header)."""
    return "HTTP_X_" + var


# Client-sent headers with the names the module sets (X-Clerk-*, in the
# spellings a client may use, '_' for '-' too): none may reach the application.
SPOOF_X_CLERK = {
    "X-Clerk-User-Id": "user_evil",
    "x-clerk-org-role": "org:admin",
    "X-CLERK-ORG-PERMISSIONS": "org:evil:all",
    "x-ClErK-cLaImS": '{"sub":"user_evil"}',
    "X-Clerk-Token-Type": "m2m_token",
    "X-Clerk-Something-New": "evil",
    "x-clerk_user_id": "user_evil",
    "X_Clerk_Org_Id": "org_evil",
}


def apr_urlencoded(s):
    """apr_pescape_urlencoded: alnum and .-*_ kept, space as '+', the rest %xx (lower case)."""
    out = []
    for b in s.encode("utf-8"):
        c = chr(b)
        if c.isascii() and (c.isalnum() or c in ".-*_"):
            out.append(c)
        elif c == " ":
            out.append("+")
        else:
            out.append("%%%02x" % b)
    return "".join(out)
