"""make demo: it comes up, every curl line it prints answers as printed, make demo-stop stops it.

Runs in build/demo-test (DEMO_DIR) on a free port, so a demo started by hand
in build/demo is left alone.
"""
import os
import re
import shutil
import socket
import subprocess
import time

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


@pytest.fixture(scope="module")
def demo():
    if not os.path.exists(APACHE2):
        pytest.skip(f"{APACHE2} is not installed")
    port = free_port()
    env = dict(os.environ, DEMO_PORT=str(port), DEMO_DIR=str(ROOT / "build" / "demo-test"))
    shutil.rmtree(ROOT / "build" / "demo-test", ignore_errors=True)
    r = subprocess.run(["make", "--no-print-directory", "demo"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=600)
    try:
        assert r.returncode == 0, r.stdout + r.stderr
        yield port, env, r.stdout
    finally:
        subprocess.run(["make", "--no-print-directory", "demo-stop"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=60)


def test_demo_answers_every_printed_curl_line(demo):
    port, env, out = demo
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
    r = subprocess.run(["make", "--no-print-directory", "demo"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "already running; restarting" in r.stdout
    new = pidfile.read_text().strip()
    assert new != old
    assert port_open(port)
    r = subprocess.run(["make", "--no-print-directory", "demo-stop"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and f"stopped (pid {new})" in r.stdout
    for _ in range(50):
        if not port_open(port):
            break
        time.sleep(0.1)
    assert not port_open(port)
    assert not pidfile.exists()
    r = subprocess.run(["make", "--no-print-directory", "demo-stop"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "not running" in r.stdout
