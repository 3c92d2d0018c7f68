"""make demo: it comes up, every curl line it prints answers as printed, make demo-stop stops it.

Runs in build/demo-test (DEMO_DIR) on a free port, so a demo started by hand
in build/demo is left alone.  As root, also from a copy of the checkout in a
0700 directory (httpd's children run as www-data and cannot read it), and its
self-check must fail loudly when the served tree is unreadable for them.
"""
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from clijwt import ROOT

APACHE2 = "/usr/sbin/apache2"


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


def run_make(target, cwd, env, timeout=600):
    return subprocess.run(["make", "--no-print-directory", target], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def demo():
    if not os.path.exists(APACHE2):
        pytest.skip(f"{APACHE2} is not installed")
    port = free_port()
    env = dict(os.environ, DEMO_PORT=str(port), DEMO_DIR=str(ROOT / "build" / "demo-test"))
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
    env = dict(os.environ, DEMO_PORT=str(port))
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
    env = dict(os.environ, DEMO_PORT=str(port), DEMO_RUNTIME_PARENT=str(home))
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
