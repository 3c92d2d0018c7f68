"""The Debian packages, installed into this machine's apache2 (make deb-test).

Installs build/deb/libapache2-mod-auth-clerk_*.deb and clerk-jwt_*.deb with
apt-get, checks what the maintainer scripts did (the module enabled, as
Debian's module packages do), serves a protected <Location> from the system
apache2 started with apache2ctl on 127.0.0.1:18080 only (401 without a
token, 200 with one minted from the test keys), then purges both packages
(remove first: the module is disabled, its conffiles stay) and checks
that nothing is left.

It changes the system, so it runs as root only and only through make
deb-test (which builds the packages first) or make test with CI=true.
Whatever happens, the teardown stops apache2, removes the test
configuration, restores ports.conf, purges the packages and, if apache2 was
running before, starts it again.
"""
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration" / "harness"))
import clerk_tokens as T  # noqa: E402

PORT = 18080
BASE = "http://127.0.0.1:%d" % PORT
PACKAGES = ["libapache2-mod-auth-clerk", "clerk-jwt"]
ETC = Path("/etc/apache2")
CONF_NAME = "clerk-deb-test"
CONF = ETC / "conf-available" / (CONF_NAME + ".conf")
PORTS = ETC / "ports.conf"
# ports.conf while the test runs (the system's Listen 80 would open port 80
# on every address); the original waits here and comes back in the teardown,
# or at the start of the next run if this one was killed
PORTS_SAVED = ETC / "ports.conf.clerk-deb-test-saved"
MODULE = Path("/usr/lib/apache2/modules/mod_auth_clerk.so")
AVAILABLE = [ETC / "mods-available" / "auth_clerk.load", ETC / "mods-available" / "auth_clerk.conf"]
ENABLED = [ETC / "mods-enabled" / "auth_clerk.load", ETC / "mods-enabled" / "auth_clerk.conf"]
STATE = Path("/var/lib/apache2")
APT_ENV = dict(os.environ, DEBIAN_FRONTEND="noninteractive")

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="installs packages: root only (make deb-test)"),
    pytest.mark.skipif(not shutil.which("a2enmod"), reason="needs Debian's apache2"),
]


def run(*cmd, check=True, env=None):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    if check and p.returncode != 0:
        raise AssertionError("%s: exit %d\n%s" % (" ".join(cmd), p.returncode, p.stdout))
    return p


def installed(pkg):
    p = run("dpkg-query", "-W", "-f=${Status}", pkg, check=False)
    return p.returncode == 0 and "installed" in p.stdout.split()[-1:]


PIDFILE = Path("/var/run/apache2/apache2.pid")


def apache_running():
    """The system apache2 (its pid file: other tests run private apache2s)."""
    try:
        os.kill(int(PIDFILE.read_text().strip()), 0)
        return True
    except (OSError, ValueError):
        return False


def stop_apache():
    if not apache_running():
        return
    run("apache2ctl", "stop", check=False)
    for _ in range(100):
        if not apache_running():
            return
        time.sleep(0.1)
    raise AssertionError("apache2 still running after apache2ctl stop")


def http():
    s = requests.Session()
    s.trust_env = False                    # no proxy from the environment
    return s


def wait_port(port, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError("nothing listens on 127.0.0.1:%d" % port)


def listed(d):
    return sorted(os.listdir(d))


def error_log_tail():
    p = Path("/var/log/apache2/error.log")
    return p.read_text(errors="replace")[-3000:] if p.exists() else "(no error.log)"


def debs():
    d = REPO / "build" / "deb"
    found = {pkg: sorted(glob.glob(str(d / ("%s_*.deb" % pkg)))) for pkg in PACKAGES}
    missing = [pkg for pkg, f in found.items() if not f]
    if missing:
        pytest.skip("no %s in build/deb: run make deb-test" % ", ".join(missing))
    return [f[-1] for f in found.values()]


def restore_ports():
    if PORTS_SAVED.exists():
        os.replace(PORTS_SAVED, PORTS)


def purge():
    present = [p for p in PACKAGES if run("dpkg-query", "-W", p, check=False).returncode == 0]
    if present:
        run("apt-get", "purge", "-y", "-q", *present, env=APT_ENV)


@pytest.fixture(scope="module")
def system():
    """The packages installed and the test site configured; undone afterwards."""
    files = debs()
    restore_ports()                       # a killed earlier run
    for pkg in PACKAGES:
        assert not installed(pkg), "%s is already installed: the test would remove it" % pkg
    assert not CONF.exists(), "%s exists already" % CONF
    was_running = apache_running()
    stop_apache()
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", PORT)) != 0, "port %d is in use" % PORT
    before = {
        "mods-enabled": listed(ETC / "mods-enabled"),
        "conf-enabled": listed(ETC / "conf-enabled"),
        "ports.conf": PORTS.read_bytes(),
    }
    www = Path(tempfile.mkdtemp(prefix="clerk-deb-test."))
    state = {"before": before, "www": www, "was_running": was_running}
    try:
        run("apt-get", "install", "-y", "-q", "--no-install-recommends",
            *[os.path.abspath(f) for f in files], env=APT_ENV)
        yield state
    finally:
        stop_apache()
        run("a2disconf", "-q", "-p", CONF_NAME, check=False)   # -p: and its state
        CONF.unlink(missing_ok=True)
        restore_ports()
        purge()
        shutil.rmtree(www, ignore_errors=True)
        if was_running:
            run("apache2ctl", "start", check=False)


def test_layout(system):
    assert MODULE.is_file()
    for f in AVAILABLE:
        assert f.is_file(), f
    conffiles = run("dpkg-query", "-W", "-f=${Conffiles}", "libapache2-mod-auth-clerk").stdout
    for f in AVAILABLE:
        assert str(f) in conffiles, "%s is not a conffile:\n%s" % (f, conffiles)
    assert "LoadModule auth_clerk_module %s" % MODULE in AVAILABLE[0].read_text()
    assert Path("/usr/bin/clerk-jwt").is_file()
    assert Path("/usr/share/man/man1/clerk-jwt.1.gz").is_file()
    for pkg in PACKAGES:
        assert Path("/usr/share/doc/%s/copyright" % pkg).is_file()


def test_postinst_enabled_the_module(system):
    # as Debian's module packages do (apache2_invoke enmod in the postinst)
    for f in ENABLED:
        assert f.is_symlink() and f.resolve() == (ETC / "mods-available" / f.name), f
    # the README's step: a2enmod is idempotent
    out = run("a2enmod", "auth_clerk").stdout
    assert "already enabled" in out, out


def test_401_and_200_through_the_system_apache(system):
    www = system["www"]
    (www / "protected").mkdir()
    (www / "protected" / "index.html").write_text("clerk deb test: signed in\n")
    key = www / "clerk.public.pem"
    shutil.copy(T.PUBLIC_PEM["ins"], key)
    os.chmod(www, 0o755)
    CONF.write_text("""# mod_auth_clerk's Debian package test (tests/deb/test_deb.py); removed by it
Listen 127.0.0.1:{port}
<VirtualHost 127.0.0.1:{port}>
    ServerName localhost
    DocumentRoot "{www}"
    <Directory "{www}">
        Require all granted
    </Directory>
    <Location /protected>
        AuthType Clerk
        AuthName "clerk-deb-test"
        ClerkJWTKeyFile "{key}"
        ClerkIssuer {issuer}
        Require valid-user
    </Location>
</VirtualHost>
""".format(port=PORT, www=www, key=key, issuer=T.ISSUER))
    os.replace(PORTS, PORTS_SAVED)
    PORTS.write_text("# clerk-deb-test: the original is %s while the test runs\n" % PORTS_SAVED.name)
    run("a2enconf", "-q", CONF_NAME)
    run("apache2ctl", "configtest")
    run("apache2ctl", "start")
    try:
        wait_port(PORT)
        url = BASE + "/protected/"
        c = http()
        r = c.get(url, timeout=10)
        assert r.status_code == 401, (r.status_code, r.text, error_log_tail())
        token = T.mint()
        r = c.get(url, headers={"Authorization": "Bearer " + token}, timeout=10)
        assert r.status_code == 200, (r.status_code, r.text, error_log_tail())
        assert r.text == "clerk deb test: signed in\n"
        r = c.get(url, headers={"Authorization": "Bearer " + T.mint(key="a")}, timeout=10)
        assert r.status_code == 401, "a token of another key"
        # the packaged CLI agrees
        p = run("clerk-jwt", "verify", token, "--pem", str(key), "--issuer", T.ISSUER, check=False)
        assert p.returncode == 0 and "valid" in p.stdout, p.stdout
    finally:
        stop_apache()
        run("a2disconf", "-q", "-p", CONF_NAME)
        CONF.unlink()
        restore_ports()


def test_zz_remove_disables_and_purge_leaves_nothing(system):
    assert not apache_running()
    # remove: the prerm disables the module, the conffiles stay
    run("apt-get", "remove", "-y", "-q", *PACKAGES, env=APT_ENV)
    for f in ENABLED + [MODULE, Path("/usr/bin/clerk-jwt")]:
        assert not os.path.lexists(f), "%s left after remove" % f
    for f in AVAILABLE:
        assert f.is_file(), "conffile %s removed before purge" % f
    # purge: everything goes
    run("apt-get", "purge", "-y", "-q", *PACKAGES, env=APT_ENV)
    for pkg in PACKAGES:
        assert run("dpkg-query", "-W", pkg, check=False).returncode != 0, "%s still known to dpkg" % pkg
    for f in [MODULE, Path("/usr/bin/clerk-jwt"), Path("/usr/share/man/man1/clerk-jwt.1.gz")] + AVAILABLE + ENABLED:
        assert not os.path.lexists(f), "%s left after purge" % f
    before = system["before"]
    assert listed(ETC / "mods-enabled") == before["mods-enabled"]
    assert listed(ETC / "conf-enabled") == before["conf-enabled"]
    assert PORTS.read_bytes() == before["ports.conf"]
    assert not CONF.exists() and not PORTS_SAVED.exists()
    # apache2-maintscript-helper's and a2enmod's state (enabled_by_maint, ...)
    state = [str(p) for p in STATE.glob("*/*/*") if p.name in ("auth_clerk", CONF_NAME)]
    assert not state, "state left: %s" % state
