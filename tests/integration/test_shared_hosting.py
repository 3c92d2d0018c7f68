"""Shared hosting: a tenant's .htaccess (AllowOverride AuthConfig) gains
nothing httpd has.  It cannot read httpd's environment or files as secrets,
name key files or key URLs unless the administrator allows it, or grow a
child's key sources and threads without bound; and env: secrets do not stay
in httpd's environment for mod_lua (or mod_php) to read.

A server of its own per MPM, with the defaults (ClerkAllowOverrideKeySources
Off), one child, and a second server for the key-source bound."""
import os
from pathlib import Path

import pytest

import clerk_tokens as T
from helpers import Client, assert_no_crashed_child, describe
from httpd_harness import MODDIR, SINGLE_PROCESS
from locations import INS_PEM, cgi_directory
from server_fixtures import module_server_fixtures, running_httpd

ENV_SECRET = "sk_test_fromTheEnvironment0000000000000"

# name -> (.htaccess text, directive the error must name)
REFUSED = {
    "env-secret": ("ClerkSecretKey env:CLERK_IT_ENV_SECRET", "ClerkSecretKey"),
    "file-secret": ("ClerkSecretKey file:/etc/passwd", "ClerkSecretKey"),
    "env-machine": ("ClerkMachineSecretKey env:CLERK_IT_ENV_SECRET", "ClerkMachineSecretKey"),
    "file-machine": ("ClerkMachineSecretKey file:{keys}/" + INS_PEM, "ClerkMachineSecretKey"),
    "jwks-url": ("ClerkJWKSURL http://127.0.0.1:9/jwks.json", "ClerkJWKSURL"),
    "key-file": ('ClerkJWTKeyFile "{keys}/' + INS_PEM + '"', "ClerkJWTKeyFile"),
    "jwks-file": ('ClerkJWKSFile "{keys}/jwks_all.json"', "ClerkJWKSFile"),
}


def tenant_htaccess(body, keys):
    return ("AuthType Clerk\nAuthName tenant\nClerkJWTKey %s\n%s\nRequire valid-user\n"
            % (T.pem_body(T.PUBLIC_PEM["ins"]), body.format(keys=keys)))


def hosting_config(h):
    doc = h.docroot
    h.extra_env["CLERK_IT_ENV_SECRET"] = ENV_SECRET
    h.write("htdocs/env.lua", 'function handle(r)\n  r.content_type = "text/plain"\n'
            '  r:puts("[" .. tostring(os.getenv("CLERK_IT_ENV_SECRET")) .. "]")\n'
            '  return apache2.OK\nend\n')
    for name, (body, _) in REFUSED.items():
        h.write("htdocs/tenant/%s/.htaccess" % name, tenant_htaccess(body, h.keys))
        h.install_www("tenant/%s/printenv.py" % name, "printenv.py")
    h.write("htdocs/tenant/literal/.htaccess",
            tenant_htaccess("ClerkSecretKey sk_test_tenantsOwnLiteralKey000000000", h.keys))
    h.install_www("tenant/literal/printenv.py", "printenv.py")
    h.install_www("server/printenv.py", "printenv.py")
    return SINGLE_PROCESS[h.mpm] + f"""
LoadModule lua_module "{MODDIR / 'mod_lua.so'}"
{cgi_directory(doc)}
<Directory "{doc}/tenant">
    AllowOverride AuthConfig
</Directory>
# the server's own secret, from the environment
<Location /server>
    AuthType Clerk
    ClerkJWTKeyFile "{h.keys}/{INS_PEM}"
    ClerkSecretKey env:CLERK_IT_ENV_SECRET
    Require valid-user
</Location>
<Files "env.lua">
    SetHandler lua-script
</Files>
"""


hosting, tenant = module_server_fixtures(hosting_config, "hosting", "tenant")


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_tenant_cannot_use_httpd_secrets_or_key_sources(hosting, tenant, name):
    """Each refused directive: 500 (httpd's answer to a bad .htaccess), the
    error log names the directive and why, and nothing of the secret."""
    mark = hosting.log_mark()
    r = tenant.get("/tenant/%s/printenv.py" % name, token=T.mint())
    assert r.status_code == 500, describe(r)
    text = hosting.log_since(mark)
    directive = REFUSED[name][1]
    assert directive in text and ".htaccess" in text, text[-2000:]
    why = "ClerkAllowOverrideKeySources On" if "Secret" not in directive else "env: and file:"
    assert why in text, text[-2000:]
    assert ENV_SECRET not in text and "root:x:0:0" not in text


def test_tenant_literal_secret_is_allowed(tenant):
    env = tenant.env("/tenant/literal/printenv.py", token=T.mint())
    assert env["CLERK_USER_ID"] == T.USER


def test_env_secret_is_not_left_in_httpd_environment(hosting, tenant):
    """The server's env: secret works, and code inside httpd (mod_lua's
    os.getenv here; mod_php's getenv alike) no longer finds it."""
    assert tenant.env("/server/printenv.py", token=T.mint())["CLERK_USER_ID"] == T.USER
    r = tenant.get("/env.lua")
    assert r.status_code == 200, describe(r)
    assert r.text == "[nil]", r.text
    env = tenant.env("/tenant/literal/printenv.py", token=T.mint())
    assert ENV_SECRET not in repr(env)


# ------------------------------------------------ the bound on key sources

MAX_SOURCES = 3


def bound_config(h):
    doc = h.docroot
    h.install_www("tenant/t/printenv.py", "printenv.py")
    h.install_www("open/hello.txt", "hello.txt")
    return SINGLE_PROCESS[h.mpm] + f"""
ClerkAllowOverrideKeySources On
ClerkMaxKeySources {MAX_SOURCES}
{cgi_directory(doc)}
<Directory "{doc}/tenant">
    AllowOverride AuthConfig
</Directory>
"""


@pytest.fixture(scope="module")
def bounded(mpm):
    yield from running_httpd(mpm, bound_config, name="sources")


def child_threads(h):
    """{pid: thread count} of the serving children (not mod_cgid's daemon,
    which has one thread)."""
    out = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            if ppid == h.proc.pid:
                n = len(os.listdir(d / "task"))
                if n > 1 or h.mpm == "prefork":
                    out[int(d.name)] = n
        except (OSError, ValueError):
            continue
    return out


def test_htaccess_key_sources_are_bounded(bounded):
    """A tenant rewriting its .htaccess with 40 different ClerkJWKSURLs: the
    child admits at most ClerkMaxKeySources sources, closing the least
    recently used (and joining its refresher thread), so threads stay bounded."""
    c = Client(bounded)
    try:
        assert c.get("/open/hello.txt").status_code == 200
        before = child_threads(bounded)
        assert before, "no serving child found"
        mark = bounded.log_mark()
        for i in range(40):
            bounded.write("htdocs/tenant/t/.htaccess",
                          "AuthType Clerk\nClerkJWKSURL http://127.0.0.1:9/keys-%d.json\n"
                          "Require valid-user\n" % i)
            r = c.get("/tenant/t/printenv.py", token=T.mint())
            # never loaded (nothing answers there): 503, as for any unloaded source
            assert r.status_code == 503, describe(r)
        after = child_threads(bounded)
        for pid, n in after.items():
            assert n <= before.get(pid, n) + MAX_SOURCES, (before, after)
        text = bounded.log_since(mark)
        assert "ClerkMaxKeySources reached" in text, text[-3000:]
        assert_no_crashed_child(bounded)
    finally:
        c.s.close()
