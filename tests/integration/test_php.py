"""PHP the way it is deployed (README: "PHP-FPM and mod_php"): PHP-FPM behind
mod_proxy_fcgi (`SetHandler "proxy:unix:<socket>|fcgi://localhost"` in a
<FilesMatch>, as Debian's php8.2-fpm.conf does), under both MPMs, and
mod_php (libapache2-mod-php8.2) under prefork.  For each: REMOTE_USER,
AUTH_TYPE and every CLERK_* in $_SERVER exactly as the printenv CGI sees them
for the same token, ClerkPassClaimsAs headers as HTTP_X_CLERK_* (and in
getallheaders()), client-sent X-Clerk-* headers nowhere, cookie sessions, the
401 without a token, anonymous access without variables.

The test starts its own php-fpm (/usr/sbin/php-fpm8.2 -F -y <pool conf>,
socket in its own temporary directory).  As root, the master runs as root and
the pool as www-data, the user httpd's children run as, so only they can use
the socket (mode 0660)."""
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import clerk_tokens as T
from helpers import (SPOOF_X_CLERK, assert_no_crashed_child, assert_no_token, clerk_vars, describe,
                     http_clerk_vars)
from httpd_harness import IS_ROOT, MODDIR, terminate
from locations import INS_PEM, REALM, cgi_directory
from server_fixtures import client_of, running_httpd

PHP_FPM = os.environ.get("PHP_FPM", "/usr/sbin/php-fpm8.2")
MOD_PHP = Path(os.environ.get("MOD_PHP", str(MODDIR / "libphp8.2.so")))

# $_SERVER, getallheaders() and the SAPI's name, as JSON
ENV_PHP = """<?php
header('Content-Type: application/json');
header('Cache-Control: no-store');
echo json_encode(['server' => $_SERVER, 'headers' => getallheaders(), 'sapi' => PHP_SAPI],
                 JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE);
"""

# directory -> the section's directives (besides AuthType, AuthName, the key)
MODES = {
    "env": ["Require valid-user"],
    "hdr": ["ClerkPassClaimsAs headers", "Require valid-user"],
    "any": ["ClerkAcceptToken any", "Require valid-user"],
    "any-hdr": ["ClerkAcceptToken any", "ClerkPassClaimsAs headers", "Require valid-user"],
    "pass": ["ClerkSignedOutAction pass", "Require valid-user"],
}

SPOOF = SPOOF_X_CLERK


def rich_v1():
    t = T.now()
    return T.mint(T.v1_org_claims(iat=t, exp=t + 300, sts="active", fva=[3, -1],
                                  act={"sub": "user_admin", "iss": "https://dashboard.clerk.com"},
                                  email="alice@example.com"))


# name -> (token maker, the mode directory whose section accepts it)
TOKENS = {
    "v1-org": (rich_v1, ""),
    "v2": (T.mint_v2, ""),
    "m2m": (T.mint_m2m, "any"),
    "oauth": (T.mint_oauth, "any"),
}


# ---------------------------------------------------------------- php-fpm

class PhpFpm:
    """php-fpm in the foreground with one pool of its own on a unix socket."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="clerk-it-php-fpm-"))
        os.chmod(self.dir, 0o755)      # httpd's children (www-data) reach the socket
        self.socket = self.dir / "php-fpm.sock"
        self.log = self.dir / "php-fpm.log"
        self.conf = self.dir / "php-fpm.conf"
        self.proc = None

    def write_conf(self):
        owner = ""
        if IS_ROOT:
            owner = ("user = www-data\ngroup = www-data\n"
                     "listen.owner = www-data\nlisten.group = www-data\n")
        self.conf.write_text(f"""[global]
pid = {self.dir}/php-fpm.pid
error_log = {self.log}
daemonize = no
log_level = notice

[clerk-it]
{owner}listen = {self.socket}
listen.mode = 0660
pm = static
pm.max_children = 4
catch_workers_output = yes
security.limit_extensions = .php
""")

    def start(self, timeout=20):
        self.write_conf()
        out = open(self.dir / "stdout.log", "ab")
        self.proc = subprocess.Popen([PHP_FPM, "-F", "-y", str(self.conf)], stdout=out,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"})
        out.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("php-fpm exited with %s\n%s" % (self.proc.returncode,
                                                                   self.diagnostics()))
            if self.socket.exists():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("php-fpm did not open %s\n%s" % (self.socket, self.diagnostics()))

    def diagnostics(self):
        text = ""
        for p in (self.dir / "stdout.log", self.log):
            if p.exists():
                text += "--- %s ---\n%s\n" % (p.name, p.read_text(errors="replace")[-4000:])
        return text

    def stop(self):
        terminate(self.proc)

    def cleanup(self):
        self.stop()
        if not os.environ.get("CLERK_IT_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def fpm():
    if not os.access(PHP_FPM, os.X_OK):
        pytest.skip("%s not installed (Debian package php8.2-fpm)" % PHP_FPM)
    f = PhpFpm()
    try:
        yield f.start()
    finally:
        f.cleanup()


# ---------------------------------------------------------------- servers

def sections(h, kind, ext):
    """<kind>/ (and <kind>-<mode>/ per MODES) with env.<ext>, each its own section."""
    doc = h.docroot
    out = []
    for mode, lines in [("", MODES["env"])] + list(MODES.items()):
        d = kind + ("-" + mode if mode else "")
        if ext == "php":
            h.write("htdocs/%s/env.php" % d, ENV_PHP)
        else:
            h.install_www("%s/env.py" % d, "printenv.py")
        body = "\n    ".join(['AuthType Clerk', 'AuthName "%s"' % REALM,
                              'ClerkJWTKeyFile "%s/%s"' % (h.keys, INS_PEM)] + lines)
        out.append('<Directory "%s/%s">\n    %s\n</Directory>' % (doc, d, body))
    return "\n".join(out)


def common(h):
    # mod_setenvif runs after the module's stripping: did an X-Clerk-* survive?
    return "\n".join([cgi_directory(h.docroot), sections(h, "cgi", "py"), sections(h, "php", "php"),
                      'SetEnvIfNoCase "^x[-_]clerk[-_]" "." SPOOF_HEADER_SEEN=1'])


def fpm_config(h, fpm):
    return f"""
LoadModule proxy_module "{MODDIR / 'mod_proxy.so'}"
LoadModule proxy_fcgi_module "{MODDIR / 'mod_proxy_fcgi.so'}"
{common(h)}
# as Debian's /etc/apache2/conf-available/php8.2-fpm.conf
<FilesMatch ".+\\.php$">
    SetHandler "proxy:unix:{fpm.socket}|fcgi://localhost"
</FilesMatch>
"""


def modphp_config(h):
    # PHP reads no conf.d: Debian's enables opcache there, which PHP dlopen()s with
    # RTLD_DEEPBIND, and the sanitizer runtime of the ASan run (make test-asan) refuses
    # that; the tests need no extension (json_encode and getallheaders are built in)
    scan = h.root / "php-conf.d"
    scan.mkdir(exist_ok=True)
    h.extra_env["PHP_INI_SCAN_DIR"] = str(scan)
    return f"""
LoadModule php_module "{MOD_PHP}"
{common(h)}
# as Debian's /etc/apache2/mods-available/php8.2.conf
<FilesMatch ".+\\.php$">
    SetHandler application/x-httpd-php
</FilesMatch>
"""


# (SAPI, MPM): PHP-FPM under both MPMs; mod_php is not thread-safe in Debian,
# so prefork only
VARIANTS = [("php-fpm", "event"), ("php-fpm", "prefork"), ("mod_php", "prefork")]


@pytest.fixture(scope="module", params=VARIANTS, ids=["%s-%s" % v for v in VARIANTS])
def php_server(request):
    """(Httpd, PHP_SAPI) of one variant, started for the tests of that variant."""
    sapi, mpm = request.param
    if sapi == "php-fpm":
        fpm = request.getfixturevalue("fpm")
        yield from ((h, "fpm-fcgi") for h in
                    running_httpd(mpm, lambda h: fpm_config(h, fpm), name="php-fpm"))
    else:
        if not MOD_PHP.exists():
            pytest.skip("%s not installed (Debian package libapache2-mod-php8.2)" % MOD_PHP)
        yield from ((h, "apache2handler") for h in running_httpd(mpm, modphp_config, name="mod-php"))


@pytest.fixture(scope="module")
def php(php_server):
    """(Client, PHP_SAPI) of the variant."""
    h, sapi = php_server
    for c in client_of(h):
        yield c, sapi


# ---------------------------------------------------------------- reading

def php_env(c, sapi, path, **kw):
    """GET a PHP env.php: ($_SERVER, getallheaders()), asserting 200 and the SAPI."""
    r = c.get(path, **kw)
    assert r.status_code == 200, describe(r)
    out = r.json()
    assert out["sapi"] == sapi, out["sapi"]
    return out["server"], {k.lower(): v for k, v in out["headers"].items()}


def cgi_env(c, path, **kw):
    return c.env(path, **kw)


def identity(env):
    """What the module gives the application: REMOTE_USER, AUTH_TYPE, CLERK_*, HTTP_X_CLERK_*."""
    out = dict(clerk_vars(env), **http_clerk_vars(env))
    for k in ("REMOTE_USER", "AUTH_TYPE"):
        if k in env:
            out[k] = env[k]
    return out


def no_spoof(server, headers, expected_http=None):
    assert "SPOOF_HEADER_SEEN" not in server, "an X-Clerk-* request header survived stripping"
    assert http_clerk_vars(server) == (expected_http or {}), http_clerk_vars(server)
    seen = {k: v for k, v in headers.items() if k.replace("_", "-").startswith("x-clerk-")}
    assert seen == {k[len("HTTP_"):].replace("_", "-").lower(): v
                    for k, v in (expected_http or {}).items()}, seen
    for k, v in identity(server).items():
        assert "evil" not in v, (k, v)


# ---------------------------------------------------------------- tests

@pytest.mark.parametrize("name", sorted(TOKENS))
@pytest.mark.parametrize("mode", ["", "hdr"], ids=["env", "headers"])
def test_php_sees_what_cgi_sees(php, name, mode):
    """REMOTE_USER, AUTH_TYPE and every CLERK_* (or HTTP_X_CLERK_*) equal the CGI's."""
    c, sapi = php
    make, section = TOKENS[name]
    d = "-".join(x for x in (section, mode) if x)
    suffix = ("-" + d) if d else ""
    tok = make()
    cgi = identity(cgi_env(c, "/cgi%s/env.py" % suffix, token=tok))
    server, headers = php_env(c, sapi, "/php%s/env.php" % suffix, token=tok)
    assert identity(server) == cgi
    assert server["REMOTE_USER"] == json.loads(T.b64u_decode(tok.split(".")[1]))["sub"]
    assert server["AUTH_TYPE"] == "Clerk"
    if mode:
        assert not clerk_vars(server)
        assert server["HTTP_X_CLERK_TOKEN_TYPE"] in ("session_token", "m2m_token", "oauth_token")
        # the same values as request headers of the application
        assert headers["x-clerk-user-id" if name != "m2m" else "x-clerk-machine-id"] \
            == server["REMOTE_USER"]
    else:
        assert not http_clerk_vars(server)
        assert "CLERK_CLAIMS" in server and json.loads(server["CLERK_CLAIMS"])["sub"]


def test_every_variable_of_a_rich_token(php):
    c, sapi = php
    tok = rich_v1()
    server, _ = php_env(c, sapi, "/php/env.php", token=tok)
    v = clerk_vars(server)
    assert v["CLERK_USER_ID"] == T.USER and v["CLERK_SESSION_ID"] == T.SESSION
    assert v["CLERK_SESSION_STATUS"] == "active"
    assert v["CLERK_ORG_ID"] == "org_1" and v["CLERK_ORG_SLUG"] == "acme"
    assert v["CLERK_ORG_ROLE"] == "org:admin"
    assert v["CLERK_ORG_PERMISSIONS"] == "org:teams:read,org:teams:manage"
    assert v["CLERK_ACTOR_ID"] == "user_admin"
    assert v["CLERK_FACTOR_AGES"] == "3,-1"
    assert v["CLERK_AZP"] == T.AZP and v["CLERK_ISSUER"] == T.ISSUER
    assert json.loads(v["CLERK_CLAIMS"]) == json.loads(T.b64u_decode(tok.split(".")[1]))
    for k in ("CLERK_TOKEN_TYPE", "CLERK_EXPIRES_AT", "CLERK_ISSUED_AT"):
        assert v[k]


@pytest.mark.parametrize("mode", ["", "-hdr"], ids=["env", "headers"])
def test_spoofed_headers_never_reach_php(php, mode):
    c, sapi = php
    tok = T.mint()
    expected = {k: v for k, v in identity(cgi_env(c, "/cgi%s/env.py" % mode, token=tok)).items()
                if k.startswith("HTTP_X_CLERK_")}
    server, headers = php_env(c, sapi, "/php%s/env.php" % mode, token=tok, headers=SPOOF)
    no_spoof(server, headers, expected)
    assert server["REMOTE_USER"] == T.USER
    assert "CLERK_ORG_ROLE" not in server and "HTTP_X_CLERK_ORG_ROLE" not in server
    if mode:
        assert server["HTTP_X_CLERK_USER_ID"] == T.USER
    else:
        assert server["CLERK_USER_ID"] == T.USER


def test_spoofed_headers_without_a_token(php):
    """Anonymous (ClerkSignedOutAction pass): nothing of the client's under X-Clerk-*."""
    c, sapi = php
    server, headers = php_env(c, sapi, "/php-pass/env.php", headers=SPOOF)
    no_spoof(server, headers)
    assert not clerk_vars(server)
    assert server.get("REMOTE_USER", "") == ""


def test_cookie_session(php):
    c, sapi = php
    iat = T.now()
    tok = T.mint_v2(iat=iat)
    server, _ = php_env(c, sapi, "/php/env.php", session=tok)
    assert server["REMOTE_USER"] == T.USER
    assert identity(server) == identity(cgi_env(c, "/cgi/env.py", session=tok))
    # __client_uat no later than the token's iat, whenever the second ticks
    server, _ = php_env(c, sapi, "/php/env.php",
                        cookie="theme=dark; __session=%s; __client_uat=%d" % (tok, iat))
    assert server["CLERK_ORG_SLUG"] == "acme"
    # PHP parses the cookies too; the token is the application's to keep or ignore
    assert server["HTTP_COOKIE"].startswith("theme=dark; __session=")


def test_no_token_is_a_401(php):
    c, _ = php
    for path in ("/php/env.php", "/php-hdr/env.php", "/php-any/env.php"):
        assert_no_token(c.get(path))
    r = c.get("/php/env.php", token=T.mint(exp=T.now() - 600))
    assert r.status_code == 401 and "token-expired" in r.headers["WWW-Authenticate"], describe(r)
    # PHP never ran: httpd's own 401 page
    assert "sapi" not in r.text


def test_authorization_header_is_not_passed(php):
    """The bearer token stays in httpd as for CGI: $_SERVER has no HTTP_AUTHORIZATION."""
    c, sapi = php
    tok = T.mint()
    server, headers = php_env(c, sapi, "/php/env.php", token=tok)
    assert "HTTP_AUTHORIZATION" not in server
    assert tok not in json.dumps(server)
    # getallheaders(): PHP-FPM builds it from the HTTP_* parameters; mod_php
    # reads httpd's request headers, where the Authorization header still is
    assert ("authorization" in headers) == (sapi == "apache2handler"), sorted(headers)


def test_no_crashed_child(php_server):
    assert_no_crashed_child(php_server[0])
