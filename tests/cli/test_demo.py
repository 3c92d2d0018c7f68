"""make demo: it comes up, every curl line it prints answers as printed, make demo-stop stops it.

Runs in build/demo-test (DEMO_DIR) on a free port, so a demo started by hand
in build/demo is left alone.  As root, also from a copy of the checkout in a
0700 directory (httpd's children run as www-data and cannot read it), and its
self-check must fail loudly when the served tree is unreadable for them.

With CLERK_PUBLISHABLE_KEY and CLERK_SECRET_KEY the demo runs against your own
Clerk instance; here against the browser tests' fake Clerk
(tests/integration/browser/handshake_fake.py, through CLERK_API_URL and
CLERK_PROXY_URL), in build/demo-real-test.
"""
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest
import requests

from clijwt import ROOT

sys.path.insert(0, str(ROOT / "tests" / "integration" / "harness"))
sys.path.insert(0, str(ROOT / "tests" / "integration" / "browser"))

import handshake_fake as F  # noqa: E402

APACHE2 = "/usr/sbin/apache2"
CLERK_ENV = ("CLERK_PUBLISHABLE_KEY", "CLERK_SECRET_KEY", "CLERK_API_URL", "CLERK_PROXY_URL")


def local_env(**over):
    """The environment of a local demo: none of the real-instance variables."""
    env = {k: v for k, v in os.environ.items() if k not in CLERK_ENV}
    env.update(over)
    return env


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def examples(output):
    """(expected status, curl line) pairs from the '# expect NNN: ...' comments."""
    lines = [line.strip() for line in output.splitlines()]
    pairs = []
    for i, line in enumerate(lines):
        m = re.match(r"# expect (\d{3}): ", line)
        if m:
            assert lines[i + 1].startswith("curl "), lines[i + 1]
            pairs.append((int(m.group(1)), lines[i + 1]))
    return pairs


def run_make(target, cwd, env, timeout=600, args=()):
    return subprocess.run(["make", "--no-print-directory", target, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def demo():
    if not os.path.exists(APACHE2):
        pytest.skip(f"{APACHE2} is not installed")
    port = free_port()
    env = local_env(DEMO_PORT=str(port), DEMO_DIR=str(ROOT / "build" / "demo-test"))
    shutil.rmtree(ROOT / "build" / "demo-test", ignore_errors=True)
    r = run_make("demo", ROOT, env)
    try:
        assert r.returncode == 0, r.stdout + r.stderr
        yield port, env, r.stdout
    finally:
        run_make("demo-stop", ROOT, env, timeout=60)


def assert_printed_lines_answer(out, port):
    assert f"mod_auth_clerk demo running on http://127.0.0.1:{port}/" in out
    pairs = examples(out)
    statuses = [s for s, _ in pairs]
    assert statuses.count(200) >= 5 and 401 in statuses and 403 in statuses
    paths = " ".join(c for _, c in pairs)
    for path in ("/app/", "/admin/", "/reports/"):
        assert f"127.0.0.1:{port}{path}" in paths
    if os.path.exists("/usr/bin/php-cgi"):
        assert f"127.0.0.1:{port}/php/" in paths
    for status, cmd in pairs:
        r = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, (cmd, r.stderr)
        first = r.stdout.splitlines()[0]
        assert re.match(rf"HTTP/1\.1 {status} ", first), (cmd, r.stdout[:500])
        if status == 200 and "admin.jwt" in cmd:
            assert "REMOTE_USER=user_2demoAdmin" in r.stdout
            assert "CLERK_ORG_ROLE=org:admin" in r.stdout
            assert "CLERK_ORG_PERMISSIONS=org:reports:read,org:reports:manage" in r.stdout
        if status == 401 and "expired.jwt" in cmd:
            assert 'error_description="token-expired"' in r.stdout
        if status == 401 and "Bearer" not in cmd:
            assert 'WWW-Authenticate: Bearer realm="Clerk demo"' in r.stdout


def test_demo_answers_every_printed_curl_line(demo):
    port, env, out = demo
    assert_printed_lines_answer(out, port)


def test_demo_default_mode_is_local(demo):
    """Without the keys: the made-up instance, its local key file (no network
    key source), no browser section, no sign-in page, no secret."""
    port, env, out = demo
    conf = (ROOT / "build" / "demo-test" / "httpd.conf").read_text()
    assert "ClerkJWTKeyFile" in conf and "ClerkAuthorizedParties" in conf
    for directive in ("ClerkSecretKey", "ClerkSignedOutAction", "ClerkAPIURL", "ClerkProxyURL",
                      "ErrorDocument"):
        assert directive not in conf
    assert "with your Clerk instance" not in out
    assert not (ROOT / "build" / "demo-test" / "keys" / "clerk-secret-key").exists()
    assert requests.get(f"http://127.0.0.1:{port}/sign-in.html", timeout=10).status_code == 404
    log = (ROOT / "build" / "demo-test" / "logs" / "error.log").read_text()
    assert "key set" not in log     # nothing fetched


def test_demo_cli_lines_work(demo):
    _, _, out = demo
    cli = str(ROOT / "build" / "clerk-jwt") + " "
    lines = [line.strip() for line in out.splitlines() if line.strip().startswith(cli)]
    assert len(lines) == 3
    rcs = [subprocess.run(["sh", "-c", line], capture_output=True, text=True, timeout=30)
           .returncode for line in lines]
    assert rcs == [0, 0, 1]      # decode ok, lint of a 1-hour token ok, verify of expired.jwt


def test_demo_restarts_cleanly_and_stops(demo):
    port, env, _ = demo
    pidfile = ROOT / "build" / "demo-test" / "httpd.pid"
    old = pidfile.read_text().strip()
    r = run_make("demo", ROOT, env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "already running; restarting" in r.stdout
    new = pidfile.read_text().strip()
    assert new != old
    assert port_open(port)
    r = run_make("demo-stop", ROOT, env, timeout=60)
    assert r.returncode == 0 and f"stopped (pid {new})" in r.stdout
    for _ in range(50):
        if not port_open(port):
            break
        time.sleep(0.1)
    assert not port_open(port)
    assert not pidfile.exists()
    r = run_make("demo-stop", ROOT, env, timeout=60)
    assert r.returncode == 0 and "not running" in r.stdout


def copy_checkout(dst):
    """The files git knows plus the build outputs `make all` would make,
    with their times, so that make finds the copy up to date."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    files += ["build/mod_auth_clerk.so", "build/clerk-jwt"]
    files += [str(p.relative_to(ROOT)) for p in (ROOT / "build" / "obj").glob("*.o")]
    for f in filter(None, files):
        if (ROOT / f).is_file():
            (dst / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, dst / f)


@pytest.fixture(scope="module")
def private_checkout(tmp_path_factory):
    """A copy of the checkout in a 0700 directory (like /root or a 0700 home)."""
    if os.geteuid() != 0:
        pytest.skip("needs root: only then do httpd's children run as another user (www-data)")
    if not os.path.exists(APACHE2):
        pytest.skip(f"{APACHE2} is not installed")
    home = tmp_path_factory.mktemp("home")
    os.chmod(home, 0o700)
    checkout = home / "mod_auth_clerk"
    copy_checkout(checkout)
    return home, checkout


def test_demo_from_a_private_checkout(private_checkout):
    home, checkout = private_checkout
    port = free_port()
    env = local_env(DEMO_PORT=str(port))
    env.pop("DEMO_DIR", None)
    r = run_make("demo", checkout, env)
    try:
        assert r.returncode == 0, r.stdout + r.stderr
        assert_printed_lines_answer(r.stdout, port)
        runtime = Path((checkout / "build" / "demo" / "runtime").read_text().strip())
        assert runtime.is_dir() and not runtime.is_relative_to(home)
    finally:
        stop = run_make("demo-stop", checkout, env, timeout=60)
    assert stop.returncode == 0 and "stopped" in stop.stdout, stop.stdout + stop.stderr
    assert not runtime.exists()
    assert not port_open(port)


def test_demo_self_check_fails_loudly(private_checkout):
    """With its served tree in a 0700 directory every page answers 403: the
    start must fail, say which lines, and leave no httpd behind."""
    home, checkout = private_checkout
    port = free_port()
    env = local_env(DEMO_PORT=str(port), DEMO_RUNTIME_PARENT=str(home))
    env.pop("DEMO_DIR", None)
    r = run_make("demo", checkout, env)
    assert r.returncode != 0, r.stdout
    assert "demo: self-check failed" in r.stderr, r.stderr
    assert re.search(rf"curl -si http://127.0.0.1:{port}/app/\n +expected 401, got: HTTP/1.1 403 ",
                     r.stderr), r.stderr
    assert "Try these" not in r.stdout
    assert not port_open(port)
    assert not (checkout / "build" / "demo" / "httpd.pid").exists()
    assert not list(home.glob("mod_auth_clerk-demo.*"))


# ---------------------------------------------------------------- your own instance

class DemoFakeClerk(F.FakeClerk):
    """The browser tests' fake Clerk, plus what the demo needs of a real
    instance beyond the handshake: the Backend API's key set (GET /v1/jwks
    with the secret key: the module's start-up fetch with ClerkSecretKey) and
    clerk-js's bundles under /npm/ of the Frontend API (the demo checks that
    they load before it sends a browser there)."""

    JWKS = (ROOT / "tests" / "vectors" / "clerk" / "jwks.json").read_bytes()

    def __init__(self):
        super().__init__()
        self.jwks_auth = []             # the Authorization header of each /v1/jwks
        self.bundles = []               # the /npm/ paths fetched

    def _handle(self, h):
        path = urllib.parse.urlsplit(h.path).path
        if path == "/v1/jwks" and h.command == "GET":
            self.jwks_auth.append(h.headers.get("Authorization"))
            if h.headers.get("Authorization") != "Bearer " + F.SECRET:
                return self._send(h, 401, b'{"errors":[{"code":"authentication_invalid"}]}')
            return self._send(h, 200, self.JWKS)
        if path.startswith("/npm/@clerk/") and h.command == "GET":
            self.bundles.append(path)
            body = b"/* a stand-in for Clerk's bundle */\n"
            h.send_response(200)
            h.send_header("Content-Type", "application/javascript")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
            return None
        return super()._handle(h)


REAL_DIR = ROOT / "build" / "demo-real-test"
OTHER_DIR = ROOT / "build" / "demo-real-test-2"    # the tests that start demos of their own
CLERK_JS = "/npm/@clerk/clerk-js@6/dist/clerk.browser.js"
CLERK_UI = "/npm/@clerk/ui@1/dist/ui.browser.js"


@pytest.fixture(scope="module")
def fake_clerk():
    fake = DemoFakeClerk().start()
    yield fake
    fake.stop()


def real_env(fake, port, demo_dir=REAL_DIR, **over):
    env = local_env(DEMO_PORT=str(port), DEMO_DIR=str(demo_dir),
                    CLERK_API_URL=fake.url, CLERK_PROXY_URL=fake.url)
    env.update(over)
    return env


def real_keys(pk=F.PK_TEST, sk=F.SECRET):
    """The keys as the README says to give them: on make's command line."""
    return (f"CLERK_PUBLISHABLE_KEY={pk}", f"CLERK_SECRET_KEY={sk}")


@pytest.fixture(scope="module")
def real_demo(fake_clerk):
    if not os.path.exists(APACHE2):
        pytest.skip(f"{APACHE2} is not installed")
    port = free_port()
    env = real_env(fake_clerk, port)
    shutil.rmtree(REAL_DIR, ignore_errors=True)
    r = run_make("demo", ROOT, env, args=real_keys())
    try:
        assert r.returncode == 0, r.stdout + r.stderr
        yield port, env, r
    finally:
        run_make("demo-stop", ROOT, env, timeout=60)


def test_real_config_uses_the_keys_and_hides_the_secret(real_demo, fake_clerk):
    port, env, r = real_demo
    conf = (REAL_DIR / "httpd.conf").read_text()
    secret_file = REAL_DIR / "keys" / "clerk-secret-key"
    assert f"ClerkPublishableKey {F.PK_TEST}\n" in conf
    assert f'ClerkSecretKey "file:{secret_file}"\n' in conf
    assert "ClerkSignedOutAction handshake\n" in conf
    assert f"ClerkAPIURL {fake_clerk.url}\n" in conf
    assert f"ClerkProxyURL {fake_clerk.url}\n" in conf
    assert "ErrorDocument 401 /sign-in.html\n" in conf
    # the instance's own keys, from its Backend API: no local key, no azp pin
    assert not re.search(r"^\s*(ClerkJWTKeyFile|ClerkAuthorizedParties)\b", conf, re.M)
    # the secret: in a file only the demo's user can read, and nowhere else
    st = secret_file.stat()
    assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == os.geteuid()
    assert secret_file.read_text().strip() == F.SECRET
    assert F.SECRET not in conf
    assert F.SECRET not in r.stdout and F.SECRET not in r.stderr
    assert F.SECRET not in (REAL_DIR / "logs" / "error.log").read_text()
    pid = (REAL_DIR / "httpd.pid").read_text().strip()
    environ = Path(f"/proc/{pid}/environ").read_bytes()
    assert F.SECRET.encode() not in environ             # not even through MAKEFLAGS
    # the module's start-up fetch went to the Backend API with the secret
    assert ("Bearer " + F.SECRET) in fake_clerk.jwks_auth


def test_real_output_says_what_to_open(real_demo):
    port, env, r = real_demo
    out = r.stdout
    assert f"mod_auth_clerk demo running on http://127.0.0.1:{port}/" in out
    assert "with your Clerk instance" in out
    assert f"open http://localhost:{port}/app/" in out
    assert "development" in out and "localhost" in out
    assert "Clerk dashboard" in out
    assert "production instance" in out and "HTTPS" in out


def test_real_sign_in_page_loads_clerk_js(real_demo, fake_clerk):
    port, env, r = real_demo
    resp = requests.get(f"http://127.0.0.1:{port}/sign-in.html", timeout=10)
    assert resp.status_code == 200
    page = resp.text
    tag = re.search(r"<script\s[^>]*data-clerk-publishable-key=[^>]*>", page)
    assert tag, page
    assert f'data-clerk-publishable-key="{F.PK_TEST}"' in tag.group(0)
    assert f'src="{fake_clerk.url}{CLERK_JS}"' in tag.group(0)
    assert f'data-clerk-proxy-url="{fake_clerk.url}"' in tag.group(0)
    assert f'src="{fake_clerk.url}{CLERK_UI}"' in page
    assert "Clerk.load({ ui: { ClerkUI: window.__internal_ClerkUICtor } })" in page
    assert "Clerk.mountSignIn(" in page
    # the demo made sure both bundles load before it printed anything
    assert CLERK_JS in fake_clerk.bundles and CLERK_UI in fake_clerk.bundles


def test_real_page_view_gets_the_handshake(real_demo, fake_clerk):
    port, env, r = real_demo
    for path in ["/app/"] + (["/php/"] if os.path.exists("/usr/bin/php-cgi") else []):
        resp = requests.get(f"http://127.0.0.1:{port}{path}", headers={"Accept": "text/html"},
                            allow_redirects=False, timeout=10)
        assert resp.status_code == 307, (path, resp.status_code, resp.text[:300])
        loc = urllib.parse.urlsplit(resp.headers["Location"])
        assert f"{loc.scheme}://{loc.netloc}{loc.path}" == fake_clerk.url + F.HANDSHAKE
        q = urllib.parse.parse_qs(loc.query)
        assert q["redirect_url"] == [f"http://127.0.0.1:{port}{path}"]
        # not a page view: 401, with the sign-in page as its body
        resp = requests.get(f"http://127.0.0.1:{port}{path}", allow_redirects=False, timeout=10)
        assert resp.status_code == 401
        assert 'WWW-Authenticate' in resp.headers and "data-clerk-publishable-key" in resp.text


def test_real_self_check_lines_answer(real_demo, fake_clerk):
    """The lines start printed, each run again: the status it states."""
    port, env, r = real_demo
    pairs = examples(r.stdout)
    statuses = [s for s, _ in pairs]
    assert statuses.count(307) >= 1 and 401 in statuses and 200 in statuses
    assert any("/sign-in.html" in c for _, c in pairs)
    for status, cmd in pairs:
        out = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, timeout=30).stdout
        assert re.match(rf"HTTP/1\.1 {status} ", out), (cmd, out[:500])
        if status == 307:
            assert f"Location: {fake_clerk.url}{F.HANDSHAKE}?" in out


def test_real_signed_in_page_shows_the_user(real_demo, fake_clerk):
    """What a browser gets after sign-in: the fake plays a development
    instance's Frontend API (dev browser, then a signed handshake carrying a
    session); the pages then show REMOTE_USER and the CLERK_* variables."""
    port, env, r = real_demo
    fake_clerk.mode = "dev"
    try:
        s = requests.Session()
        for path, marker in [("/app/", "(CGI)"), ("/php/", "Hello from PHP")]:
            if path == "/php/" and not os.path.exists("/usr/bin/php-cgi"):
                continue
            resp = s.get(f"http://127.0.0.1:{port}{path}", headers={"Accept": "text/html"},
                         timeout=10)
            assert resp.status_code == 200, (path, resp.status_code, resp.text[:300])
            assert marker in resp.text
            assert f"REMOTE_USER={F.USER}" in resp.text
            assert f"CLERK_USER_ID={F.USER}" in resp.text
            assert f"CLERK_SESSION_ID={F.SID}" in resp.text
    finally:
        fake_clerk.reset()


def test_real_demo_stop_removes_the_secret(fake_clerk):
    if not os.path.exists(APACHE2):
        pytest.skip(f"{APACHE2} is not installed")
    port = free_port()
    env = real_env(fake_clerk, port, OTHER_DIR)
    r = run_make("demo", ROOT, env, args=real_keys())
    try:
        assert r.returncode == 0, r.stdout + r.stderr
        assert (OTHER_DIR / "keys" / "clerk-secret-key").exists()
    finally:
        stop = run_make("demo-stop", ROOT, env, timeout=60)
    assert stop.returncode == 0 and "stopped" in stop.stdout
    assert not (OTHER_DIR / "keys" / "clerk-secret-key").exists()
    assert not port_open(port)


def assert_failed_cleanly(r, port):
    assert r.returncode != 0, r.stdout
    assert "Try these" not in r.stdout and "running on" not in r.stdout
    assert F.SECRET not in r.stdout + r.stderr
    assert not port_open(port)
    assert not (OTHER_DIR / "httpd.pid").exists()
    assert not (OTHER_DIR / "keys" / "clerk-secret-key").exists()


def test_real_fails_clearly_when_the_backend_api_refuses(fake_clerk):
    if not os.path.exists(APACHE2):
        pytest.skip(f"{APACHE2} is not installed")
    port = free_port()
    env = real_env(fake_clerk, port, OTHER_DIR)
    r = run_make("demo", ROOT, env, args=real_keys(sk="sk_test_notTheInstancesSecret0123"))
    run_make("demo-stop", ROOT, env, timeout=60)
    assert "could not load your instance's keys from the Backend API" in r.stderr, r.stderr
    assert "HTTP status 401" in r.stderr
    assert "sk_test_notTheInstancesSecret0123" not in r.stdout + r.stderr
    assert_failed_cleanly(r, port)


def test_real_fails_clearly_when_the_backend_api_is_unreachable(fake_clerk):
    if not os.path.exists(APACHE2):
        pytest.skip(f"{APACHE2} is not installed")
    port, closed = free_port(), free_port()
    env = real_env(fake_clerk, port, OTHER_DIR, CLERK_API_URL=f"http://127.0.0.1:{closed}")
    r = run_make("demo", ROOT, env, args=real_keys())
    run_make("demo-stop", ROOT, env, timeout=60)
    assert "could not load your instance's keys from the Backend API" in r.stderr, r.stderr
    assert f"http://127.0.0.1:{closed}/v1/jwks" in r.stderr
    assert_failed_cleanly(r, port)


def test_real_fails_clearly_when_the_frontend_api_is_unreachable(fake_clerk):
    port, closed = free_port(), free_port()
    env = real_env(fake_clerk, port, OTHER_DIR, CLERK_PROXY_URL=f"http://127.0.0.1:{closed}")
    r = run_make("demo", ROOT, env, args=real_keys())
    assert "cannot reach your instance's Frontend API" in r.stderr, r.stderr
    assert_failed_cleanly(r, port)


@pytest.mark.parametrize("keys, message", [
    ((f"CLERK_PUBLISHABLE_KEY={F.PK_TEST}",), "needs both CLERK_PUBLISHABLE_KEY and CLERK_SECRET_KEY"),
    (real_keys(sk="pk_test_Y2xlcmsuYWNjZXB0YW5jZS50ZXN0JA"), "must start with sk_test_ or sk_live_"),
    (real_keys(pk="pk_test_bm90LWEtaG9zdA"), "does not decode to a Frontend API host"),
    (real_keys(sk="sk_live_abc"), "not of the same kind of instance"),
])
def test_real_refuses_bad_keys(fake_clerk, keys, message):
    port = free_port()
    r = run_make("demo", ROOT, real_env(fake_clerk, port, OTHER_DIR), args=keys)
    assert r.returncode != 0 and message in r.stderr, r.stderr
    assert not port_open(port)
