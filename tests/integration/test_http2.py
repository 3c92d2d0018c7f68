"""HTTP/2 through mod_http2 (README: "HTTP/2"): h2c with prior knowledge on the
server's port (Protocols h2c http/1.1) and h2 over TLS on a second port
(mod_ssl, a certificate of a CA the test makes with openssl), both with
Debian's curl.  Bearer and cookie tokens (also a cookie split over two h2
cookie fields), the 401, the handshake redirect of a browser section and its
round trip (the fake Clerk of browser/), client-sent X-Clerk-* headers
stripped, and a burst of concurrent streams on one connection, each with its
own token, each getting its own identity.

A server of its own, under mpm_event (mod_http2 does not serve HTTP/2 under
prefork, see h2server): browser_kit's configuration (the /b/ sections,
ClerkSignedOutAction handshake against handshake_fake.FakeClerk) plus the /h/
sections below."""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "browser"))

import browser_kit  # noqa: E402
import clerk_tokens as T  # noqa: E402
import handshake_fake as F  # noqa: E402
from helpers import (SPOOF_X_CLERK, apr_urlencoded, assert_no_crashed_child, challenge,  # noqa: E402
                     clerk_vars, http_clerk_vars)
from httpd_harness import MODDIR, free_port  # noqa: E402
from locations import clerk  # noqa: E402
from server_fixtures import client_of, running_httpd, started  # noqa: E402

CURL = shutil.which("curl") or "/usr/bin/curl"
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"

SPOOF = SPOOF_X_CLERK


def _curl_has_http2():
    try:
        out = subprocess.run([CURL, "-V"], stdout=subprocess.PIPE, timeout=10).stdout.decode()
    except OSError:
        return False
    return any(l.startswith("Features:") and " HTTP2" in l for l in out.splitlines())


def require(scheme):
    if not _curl_has_http2():
        pytest.skip("%s missing or built without HTTP2 (curl -V)" % CURL)
    if not (MODDIR / "mod_http2.so").exists():
        pytest.skip("mod_http2.so not in %s" % MODDIR)
    if scheme == "h2" and not (MODDIR / "mod_ssl.so").exists():
        pytest.skip("mod_ssl.so not in %s" % MODDIR)
    if scheme == "h2" and not os.access(OPENSSL, os.X_OK):
        pytest.skip("openssl not installed: no test certificate")


# ---------------------------------------------------------------- a test CA

class TestCA:
    """A CA and a server certificate for 127.0.0.1 (openssl, EC P-256, 2 days)."""
    __test__ = False

    def __init__(self, d):
        self.dir = Path(d)
        self.ca = self.dir / "ca.pem"
        self.cert = self.dir / "server.pem"
        self.key = self.dir / "server.key"

    def make(self):
        d = self.dir
        run = lambda *a: subprocess.run([OPENSSL, *a], check=True, cwd=d, timeout=60,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=mod_auth_clerk test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        run("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
        (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                      "extendedKeyUsage=serverAuth\n"
                                      "basicConstraints=CA:FALSE\n")
        run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext")
        return self


@pytest.fixture(scope="module")
def tls():
    require("h2")
    d = tempfile.mkdtemp(prefix="clerk-it-tls-")
    try:
        yield TestCA(d).make()
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def fake():
    yield from started(F.FakeClerk())


# ---------------------------------------------------------------- the server

def h2_config(h, fake, tls):
    doc = h.docroot
    h.tls_port = free_port()
    tls_dir = h.root / "tls"
    tls_dir.mkdir()
    for p in (tls.cert, tls.key):
        shutil.copy(p, tls_dir / p.name)
    s = [browser_kit.config(h, fake), f"""
LoadModule http2_module "{MODDIR / 'mod_http2.so'}"
LoadModule ssl_module "{MODDIR / 'mod_ssl.so'}"
Protocols h2c http/1.1
H2Direct on
LogLevel http2:info ssl:warn
AliasMatch "^/h/([^/]+)/env$" "{doc}/cgi/printenv.py"
# mod_setenvif runs after the module's stripping: did an X-Clerk-* survive?
SetEnvIfNoCase "^x[-_]clerk[-_]" "." SPOOF_HEADER_SEEN=1
Listen 127.0.0.1:{h.tls_port}
<VirtualHost 127.0.0.1:{h.tls_port}>
    ServerName 127.0.0.1
    SSLEngine on
    SSLCertificateFile "{tls_dir}/server.pem"
    SSLCertificateKeyFile "{tls_dir}/server.key"
    Protocols h2 http/1.1
</VirtualHost>
"""]
    s.append(clerk(h, "/h/basic", "Require valid-user"))
    s.append(clerk(h, "/h/hdr", "ClerkPassClaimsAs headers", "Require valid-user"))
    return "\n".join(s) + "\n"


@pytest.fixture(scope="module")
def h2server(fake, tls):
    """mpm_event only: under prefork mod_http2 declares itself inactive (AH10034,
    "the HTTP/2 protocol will be inactive"; ALPN then picks http/1.1)."""
    require("h2c")
    yield from running_httpd("event", lambda h: h2_config(h, fake, tls), name="http2")


@pytest.fixture(scope="module")
def h1(h2server):
    """An HTTP/1.1 client (requests) of the same server, for comparison."""
    yield from client_of(h2server)


# ---------------------------------------------------------------- curl

class Response:
    def __init__(self, info, head, body):
        self.info = info                     # curl's -w %{json}
        self.status_code = info["response_code"]
        self.http_version = info["http_version"]
        self.text = body.decode("utf-8", "replace")
        self.header_list = []
        for line in head.decode("latin-1").split("\r\n")[1:]:
            k, sep, v = line.partition(":")
            if sep:
                self.header_list.append((k.strip().lower(), v.strip()))
        self.headers = {}
        for k, v in self.header_list:
            self.headers.setdefault(k, v)

    def all(self, name):
        return [v for k, v in self.header_list if k == name]

    def json(self):
        return json.loads(self.text)

    def __repr__(self):
        return "HTTP/%s %s %r %r" % (self.http_version, self.status_code, self.header_list,
                                     self.text[:400])


class H2:
    """curl speaking HTTP/2 to the server: h2c (prior knowledge) or h2 over TLS."""

    def __init__(self, httpd, scheme, tls):
        self.h = httpd
        self.scheme = scheme
        if scheme == "h2c":
            self.base_url = httpd.base_url
            self.opts = ["--http2-prior-knowledge"]
        else:
            self.base_url = "https://127.0.0.1:%d" % httpd.tls_port
            self.opts = ["--http2", "--cacert", str(tls.ca)]
        self.tmp = Path(tempfile.mkdtemp(prefix="clerk-it-curl-"))

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def transfer_args(self, url, token=None, headers=(), out=None, head=None):
        """One transfer's curl options; headers: (name, value) pairs, repeats kept."""
        if url.startswith("/"):
            url = self.base_url + url
        args = ["-sS", "--max-time", "30", *self.opts, "-w", "%{json}\\n"]
        if token is not None:
            args += ["-H", "Authorization: Bearer " + token]
            self.h.sent_tokens.append(token)
        for k, v in headers:
            args += ["-H", "%s: %s" % (k, v)]
        args += ["-o", str(out), "-D", str(head), url]
        return args

    def _run(self, args):
        r = subprocess.run([CURL, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=90)
        assert r.returncode == 0, (args[:12], r.stderr.decode())
        return [json.loads(l) for l in r.stdout.decode().splitlines() if l.strip()]

    def get(self, path, token=None, headers=(), cookies=None):
        """headers: a dict or (name, value) pairs; cookies: a dict, one Cookie field."""
        headers = list(headers.items()) if isinstance(headers, dict) else list(headers)
        if cookies:
            headers.append(("Cookie", "; ".join("%s=%s" % kv for kv in cookies.items())))
            self.h.sent_tokens += [v for v in cookies.values() if len(v) > 40]
        out, head = self.tmp / "body", self.tmp / "head"
        info, = self._run(self.transfer_args(path, token, headers, out, head))
        return Response(info, head.read_bytes(), out.read_bytes())

    def burst(self, transfers):
        """transfers: [(path, token, headers)] in one curl --parallel: streams of one
        connection.  Returns the Responses in order."""
        args = ["--parallel", "--parallel-max", str(len(transfers))]
        files = []
        for i, (path, token, headers) in enumerate(transfers):
            out, head = self.tmp / ("body%d" % i), self.tmp / ("head%d" % i)
            files.append((out, head))
            if i:
                args.append("--next")
            args += self.transfer_args(path, token, list(headers), out, head)
        infos = self._run(args)
        by_url = {}
        for info in infos:
            by_url.setdefault(info["filename_effective"], info)
        return [Response(by_url[str(out)], head.read_bytes(), out.read_bytes())
                for out, head in files]


def h2c_burst(port, transfers, timeout=30):
    """transfers ([(path, token, headers)]) as concurrent streams of one h2c
    connection (prior knowledge), all sent before any answer is read; with
    python3-h2, because Debian 12's curl 7.88.1 cannot reuse a prior-knowledge
    connection ("Error in the HTTP2 framing layer" on the second stream: curl
    issue 10634, fixed in curl 8.0).  Returns the Responses in order."""
    h2 = pytest.importorskip("h2.connection", reason="python3-h2 (Debian package) missing: "
                             "curl 7.88 cannot multiplex on an h2c prior-knowledge connection")
    import h2.config
    import h2.events
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True,
                                                                header_encoding="utf-8"))
    conn.initiate_connection()
    got = {}
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        for path, token, headers in transfers:
            sid = conn.get_next_available_stream_id()
            fields = [(":method", "GET"), (":scheme", "http"),
                      (":authority", "127.0.0.1:%d" % port), (":path", path)]
            if token:
                fields.append(("authorization", "Bearer " + token))
            fields += [(k.lower(), v) for k, v in headers]
            conn.send_headers(sid, fields, end_stream=True)
            got[sid] = {"head": [], "body": b"", "done": False}
        sock.sendall(conn.data_to_send())
        while not all(g["done"] for g in got.values()):
            data = sock.recv(65536)
            assert data, "the server closed the connection: %r" % {k: v["done"] for k, v in got.items()}
            for ev in conn.receive_data(data):
                if isinstance(ev, h2.events.ResponseReceived):
                    got[ev.stream_id]["head"] = ev.headers
                elif isinstance(ev, h2.events.DataReceived):
                    got[ev.stream_id]["body"] += ev.data
                    conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                elif isinstance(ev, (h2.events.StreamEnded, h2.events.StreamReset)):
                    got[ev.stream_id]["done"] = True
            sock.sendall(conn.data_to_send())
        conn.close_connection()
        sock.sendall(conn.data_to_send())
    out = []
    for n, sid in enumerate(sorted(got)):
        head = dict(got[sid]["head"])
        info = {"response_code": int(head.get(":status", 0)), "http_version": "2",
                "num_connects": 1 if n == 0 else 0}
        lines = ["HTTP/2 %s" % head.get(":status")] + [
            "%s: %s" % kv for kv in got[sid]["head"] if not kv[0].startswith(":")]
        out.append(Response(info, "\r\n".join(lines).encode("latin-1"), got[sid]["body"]))
    return out


@pytest.fixture(params=["h2c", "h2"], ids=["h2c", "h2-tls"])
def h2(request, h2server, tls):
    require(request.param)
    c = H2(h2server, request.param, tls)
    yield c
    c.close()


def assert_http2(r):
    assert r.http_version == "2", r


def env_of(r):
    assert_http2(r)
    assert r.status_code == 200, r
    env = r.json()
    assert env["HTTP2"] == "on", env.get("HTTP2")
    return env


# ---------------------------------------------------------------- tokens

def test_bearer_token(h2, h1):
    tok = T.mint_v2()
    env = env_of(h2.get("/h/basic/env", token=tok))
    assert env["REMOTE_USER"] == T.USER and env["AUTH_TYPE"] == "Clerk"
    assert env["SERVER_PROTOCOL"] == "HTTP/2.0"
    assert env.get("HTTPS") == ("on" if h2.scheme == "h2" else None)
    # exactly what HTTP/1.1 gets
    assert clerk_vars(env) == clerk_vars(h1.env("/h/basic/env", token=tok))
    assert env["CLERK_ORG_PERMISSIONS"] == "org:dashboard:manage,org:dashboard:read,org:teams:read"


def test_no_or_bad_token_is_a_401(h2):
    r = h2.get("/h/basic/env")
    assert_http2(r)
    assert r.status_code == 401 and r.headers["www-authenticate"] == challenge(), r
    r = h2.get("/h/basic/env", token=T.mint(exp=T.now() - 600))
    assert r.status_code == 401, r
    assert r.headers["www-authenticate"] == challenge() + \
        ', error="invalid_token", error_description="token-expired"', r


def test_cookie_token(h2):
    tok = T.mint()
    env = env_of(h2.get("/h/basic/env", cookies={"__session": tok}))
    assert env["REMOTE_USER"] == T.USER
    # HTTP/2 lets a client split cookies over several fields (RFC 9113 8.2.3);
    # mod_http2 joins them into one Cookie header, where the module finds __session
    env = env_of(h2.get("/h/basic/env", headers=[("cookie", "theme=dark"),
                                                 ("cookie", "__session=" + tok),
                                                 ("cookie", "__client_uat=%d" % T.now())]))
    assert env["REMOTE_USER"] == T.USER
    assert env["HTTP_COOKIE"].startswith("theme=dark; __session="), env["HTTP_COOKIE"]


# ---------------------------------------------------------------- spoofing

def no_spoof(env, expected_http=None):
    assert "SPOOF_HEADER_SEEN" not in env, "an X-Clerk-* request header survived stripping"
    assert http_clerk_vars(env) == (expected_http or {}), http_clerk_vars(env)
    for k, v in clerk_vars(env).items():
        assert "evil" not in v, (k, v)
    assert "evil" not in env.get("REMOTE_USER", "")


def test_spoofed_headers_are_stripped(h2, h1):
    tok = T.mint()
    env = env_of(h2.get("/h/basic/env", token=tok, headers=SPOOF))
    no_spoof(env)
    assert env["CLERK_USER_ID"] == T.USER and "CLERK_ORG_ROLE" not in env
    expected = http_clerk_vars(h1.env("/h/hdr/env", token=tok))
    assert expected["HTTP_X_CLERK_USER_ID"] == T.USER
    env = env_of(h2.get("/h/hdr/env", token=tok, headers=SPOOF))
    no_spoof(env, expected)


def test_spoofed_headers_do_not_authenticate(h2):
    r = h2.get("/h/basic/env", headers=SPOOF)
    assert r.status_code == 401 and r.headers["www-authenticate"] == challenge(), r


# ---------------------------------------------------------------- the handshake

def test_handshake_redirect(h2, fake):
    """A page view with __client_uat and no session token: the 307 to the
    Frontend API names the https URL under h2 over TLS."""
    fake.reset()
    path = "/b/hs/env?a=1&b=x%20y"
    r = h2.get(path, headers=browser_kit.NAV, cookies={"__client_uat": str(T.now() - 30)})
    assert_http2(r)
    assert r.status_code == 307, r
    reason = "client-uat-but-no-session-token"
    assert r.headers["location"] == (
        fake.url + "/v1/client/handshake?redirect_url=" + apr_urlencoded(h2.base_url + path)
        + "&__clerk_api_version=2026-05-12&suffixed_cookies=false&__clerk_hs_reason=" + reason
        + "&format=nonce"), r
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["x-clerk-auth-status"] == "handshake"
    assert r.headers["x-clerk-auth-reason"] == reason
    assert any(c.startswith("__clerk_redirect_count=1;") for c in r.all("set-cookie")), r
    # a fetch() is never redirected
    r = h2.get("/b/hs/env", headers=browser_kit.FETCH,
               cookies={"__client_uat": str(T.now() - 30)})
    assert r.status_code == 401 and "location" not in r.headers, r


def cookies_of(r):
    return dict(c.split(";", 1)[0].split("=", 1) for c in r.all("set-cookie"))


def test_handshake_round_trip(h2, fake, h2server):
    """An expired session: 307 to the fake Frontend API, 307 back with a nonce,
    the module resolves it and serves the page signed in over HTTP/2."""
    import requests
    fake.reset()
    t = T.now()
    old = F.session_token(T.USER, iat=t - 600, nbf=t - 610, exp=t - 60)
    jar = {"__session": old, "__client_uat": str(t - 600)}
    r = h2.get("/b/hs/env?tab=2", headers=browser_kit.NAV, cookies=jar)
    assert r.status_code == 307 and r.headers["location"].startswith(fake.url), r
    jar.update(cookies_of(r))
    back = requests.get(r.headers["location"], allow_redirects=False, timeout=20)
    assert back.status_code == 307, back.text
    assert back.headers["Location"].startswith(h2.base_url + "/b/hs/env?tab=2&__clerk_handshake_nonce=")
    r = h2.get(back.headers["Location"], headers=browser_kit.NAV, cookies=jar)
    env = env_of(r)
    assert env["REMOTE_USER"] == F.USER and env["CLERK_SESSION_ID"] == F.SID
    assert env["QUERY_STRING"] == "tab=2"
    assert "__clerk_handshake_nonce" not in json.dumps(env)
    fresh = cookies_of(r)
    assert set(fresh) >= {"__session", "__client_uat"}, r
    h2server.sent_tokens.append(fresh["__session"])
    jar.update(fresh)
    jar.pop("__clerk_redirect_count", None)
    env = env_of(h2.get("/b/hs/env", headers=browser_kit.NAV, cookies=jar))
    assert env["REMOTE_USER"] == F.USER
    assert fake.calls(F.HANDSHAKE) == 1 and fake.calls(F.PAYLOAD) == 1


# ---------------------------------------------------------------- multiplexing

BURST = 24


def test_concurrent_streams_keep_their_identities(h2, h2server):
    """BURST streams on one connection at once (curl --parallel over TLS, a
    python3-h2 client for h2c: see h2c_burst), each with its own user and
    session (half of them in headers mode), and every sixth with no token but
    another user's X-Clerk-User-Id: each answer names its own stream's user
    and nobody else's."""
    users = ["user_burst%02d" % i for i in range(BURST)]
    transfers, expect = [], []
    for i, u in enumerate(users):
        if i % 6 == 5:
            transfers.append(("/h/basic/env?i=%d" % i, None,
                              [("X-Clerk-User-Id", users[i - 1])]))
            expect.append(None)
            continue
        mode = "hdr" if i % 2 else "basic"
        tok = T.mint(T.v1_org_claims(sub=u, sid="sess_burst%02d" % i, org_slug="org%02d" % i))
        transfers.append(("/h/%s/env?i=%d" % (mode, i), tok, [("X-Clerk-Org-Slug", "evil")]))
        expect.append((u, mode))
    if h2.scheme == "h2c":
        responses = h2c_burst(h2server.port, transfers)
    else:
        responses = h2.burst(transfers)
    ports, streams = set(), set()
    connects = 0
    for i, (r, want) in enumerate(zip(responses, expect)):
        assert_http2(r)
        connects += r.info["num_connects"]
        if want is None:
            assert r.status_code == 401 and r.headers["www-authenticate"] == challenge(), (i, r)
            continue
        user, mode = want
        env = env_of(r)
        ports.add(env["REMOTE_PORT"])
        streams.add(env["H2_STREAM_ID"])
        assert env["QUERY_STRING"] == "i=%d" % i
        assert env["REMOTE_USER"] == user, (i, env["REMOTE_USER"])
        prefix = "HTTP_X_" if mode == "hdr" else ""
        assert env[prefix + "CLERK_USER_ID"] == user
        assert env[prefix + "CLERK_SESSION_ID"] == "sess_burst%02d" % i
        assert env[prefix + "CLERK_ORG_SLUG"] == "org%02d" % i
        assert json.loads(env[prefix + "CLERK_CLAIMS"])["sub"] == user
        others = [u for u in users if u != user and u in json.dumps(env)]
        assert not others, (i, others)
        no_spoof(env, {k: v for k, v in http_clerk_vars(env).items()} if mode == "hdr" else None)
    # one connection, every answered stream a stream of its own
    assert connects == 1, connects
    assert len(ports) == 1, ports
    assert len(streams) == len([e for e in expect if e]), streams


def test_no_crashed_child(h2server):
    assert_no_crashed_child(h2server)
