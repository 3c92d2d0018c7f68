"""ClerkCache, ClerkCacheKey and ClerkCacheTimeout in the configuration: main
server only, the socache provider's module must be loaded, the key must be
at least 32 bytes (or come from a ClerkSecretKey), the timeout 1ms..1s.
Each refusal is checked where httpd makes it, at `apache2 -t` or at start
(the provider is looked up when the configuration is complete), and must
name what is wrong."""
import os
import re
import time

import pytest

import fake_bapi as F
from fleet import MEMCACHE_MODULE, REDIS_MODULE, SHMCB_MODULE
from httpd_harness import Httpd, StartError
from locations import INS_PEM
from server_fixtures import require_prereqs

ALL_PROVIDERS = [REDIS_MODULE, MEMCACHE_MODULE, SHMCB_MODULE]


@pytest.fixture
def h():
    require_prereqs()
    srv = Httpd("event", name="cachecfg")
    yield srv
    srv.cleanup()


def section(h, *lines):
    return "\n".join(["<Location /x>", "AuthType Clerk", 'AuthName "cfg"',
                      'ClerkJWTKeyFile "%s/%s"' % (h.keys, INS_PEM)] + list(lines)
                     + ["Require valid-user", "</Location>"]) + "\n"


def key_file(h, data):
    return h.write("keys/cache.key", data)


def refused(h, body, modules=ALL_PROVIDERS):
    """The output of httpd refusing body, at configtest or at start; the
    message must be whole (no printf directive left unexpanded)."""
    rc, out = h.configtest(body, extra_modules=modules)
    if rc == 0:
        h.write_config(body, extra_modules=modules)
        with pytest.raises(StartError) as e:
            h.start()
        out = str(e.value)
    else:
        assert rc > 0 and "Segmentation" not in out, out
    assert not re.search(r"%[-0-9.]*[a-z]", out), "a message with an unexpanded format:\n" + out
    return out


def accepted(h, body, modules=ALL_PROVIDERS):
    h.write_config(body, extra_modules=modules)
    h.start()
    deadline = time.time() + 10
    while "resuming normal operations" not in h.error_log() and time.time() < deadline:
        time.sleep(0.05)
    assert "resuming normal operations" in h.error_log(), h.diagnostics()
    h.stop()


def good_cache(h):
    return "ClerkCache shmcb\nClerkCacheKey file:%s\n" % key_file(h, os.urandom(32).hex())


@pytest.mark.parametrize("where", ["vhost", "directory", "location"])
@pytest.mark.parametrize("line", ["ClerkCache none", "ClerkCacheKey file:/etc/hostname",
                                  "ClerkCacheTimeout 50ms"])
def test_main_server_only(h, where, line):
    inner = {"vhost": "<VirtualHost 127.0.0.1:1>\n%s\n</VirtualHost>\n",
             "directory": '<Directory "/tmp">\n%s\n</Directory>\n',
             "location": "<Location /y>\n%s\n</Location>\n"}[where] % line
    out = refused(h, good_cache(h) + section(h) + inner)
    assert line.split()[0] in out, out
    assert any(w in out for w in ("main server", "not allowed", "cannot occur within")), out


@pytest.mark.parametrize("cache, module", [
    ("redis:127.0.0.1:6379", "mod_socache_redis"),
    ("memcache:127.0.0.1:11211", "mod_socache_memcache"),
    ("shmcb", "mod_socache_shmcb"),
])
def test_provider_module_must_be_loaded(h, cache, module):
    others = [m for m in ALL_PROVIDERS if module not in m[1]]
    body = "ClerkCache %s\nClerkCacheKey file:%s\n" % (cache, key_file(h, os.urandom(32).hex()))
    out = refused(h, body + section(h), modules=others)
    assert module in out or module[len("mod_"):] in out, out


def test_unknown_provider(h):
    body = "ClerkCache nosuch:1\nClerkCacheKey file:%s\n" % key_file(h, os.urandom(32).hex())
    out = refused(h, body + section(h))
    assert "ClerkCache" in out and "nosuch" in out, out


@pytest.mark.parametrize("how", ["file", "env"])
def test_key_too_short(h, how):
    material = b"k" * 31
    if how == "file":
        line = "ClerkCacheKey file:%s" % key_file(h, material)
    else:
        h.extra_env["CLERK_IT_CACHE_KEY"] = material.decode()
        line = "ClerkCacheKey env:CLERK_IT_CACHE_KEY"
    out = refused(h, "ClerkCache shmcb\n%s\n" % line + section(h))
    assert "ClerkCacheKey" in out and "31" in out and "32" in out, out


def test_key_of_32_bytes_from_the_environment(h):
    h.extra_env["CLERK_IT_CACHE_KEY"] = "k" * 32
    accepted(h, "ClerkCache shmcb\nClerkCacheKey env:CLERK_IT_CACHE_KEY\n" + section(h))


@pytest.mark.parametrize("line, needle", [
    ("ClerkCacheKey env:CLERK_IT_UNSET_CACHE_KEY", "CLERK_IT_UNSET_CACHE_KEY"),
    ("ClerkCacheKey file:/nonexistent/cache.key", "/nonexistent/cache.key"),
])
def test_key_source_errors(h, line, needle):
    out = refused(h, "ClerkCache shmcb\n%s\n" % line + section(h))
    assert needle in out and "ClerkCacheKey" in out, out


def test_no_key_and_no_secret(h):
    out = refused(h, "ClerkCache shmcb\n" + section(h))
    assert "ClerkCacheKey" in out and "ClerkSecretKey" in out, out


def test_key_derived_from_the_secret(h):
    accepted(h, "ClerkCache shmcb\nClerkSecretKey %s\n" % F.INSTANCE_SECRET + section(h))


def test_key_not_derived_from_a_short_secret(h):
    """A ClerkSecretKey under 32 characters would make a weak cache key: refused."""
    out = refused(h, "ClerkCache shmcb\nClerkSecretKey sk_test_short\n" + section(h))
    assert "shorter than 32" in out and "ClerkCacheKey" in out, out


def test_none_needs_no_key(h):
    accepted(h, "ClerkCache none\n" + section(h), modules=[])


@pytest.mark.parametrize("value", ["0", "0ms", "2", "1001ms", "2s", "abc", "-5", "50us", ""])
def test_timeout_out_of_range(h, value):
    out = refused(h, good_cache(h) + "ClerkCacheTimeout %s\n" % value + section(h))
    assert "ClerkCacheTimeout" in out, out


@pytest.mark.parametrize("value", ["1ms", "50ms", "1", "1000ms"])
def test_timeout_in_range(h, value):
    rc, out = h.configtest(good_cache(h) + "ClerkCacheTimeout %s\n" % value + section(h),
                           extra_modules=ALL_PROVIDERS)
    assert rc == 0, out
