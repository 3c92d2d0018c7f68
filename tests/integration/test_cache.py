"""The per-process token cache (ClerkTokenCache, default on) must never
change a decision: entries expire at exp, and a token verified under one
configuration is judged afresh under another.

A JWT enters the cache on its second verification (the doorkeeper), so the
tests below send a token twice where it must be in the cache."""
import time
import uuid

import clerk_tokens as T
from helpers import assert_invalid, assert_ok

HIT = "verified token found in the cache"


def cached(client, path, tok):
    """Two accepted requests: the token is in the cache afterwards."""
    for _ in range(2):
        assert_ok(client.get(path, token=tok))


def test_token_is_cached_on_its_second_verification(server, client):
    # a token no other test sent (RS256 signatures are deterministic: the
    # same claims in the same second would be the same, maybe cached, token)
    tok = T.mint(jti="cache-trace-" + uuid.uuid4().hex)
    before = server.error_log().count(HIT)
    assert_ok(client.get("/t/cache-trace/static.txt", token=tok))      # verified, remembered
    assert_ok(client.get("/t/cache-trace/static.txt", token=tok))      # verified, cached
    assert server.error_log().count(HIT) == before
    for i in range(1, 4):
        assert_ok(client.get("/t/cache-trace/static.txt", token=tok))
        assert server.error_log().count(HIT) == before + i
    # a rejected token is never cached, however often it comes
    bad = T.mint(exp=T.now() - 999)
    for _ in range(3):
        assert_invalid(client.get("/t/cache-trace/static.txt", token=bad), "token-expired")
    assert server.error_log().count(HIT) == before + 3


def test_cached_token_still_expires(client):
    n = T.now()
    tok = T.mint(exp=n + 3)
    cached(client, "/t/skew0/static.txt", tok)
    time.sleep(max(0.0, n + 3 - time.time()) + 1.1)
    assert_invalid(client.get("/t/skew0/static.txt", token=tok), "token-expired")


def test_cache_does_not_cross_configurations(client):
    n = T.now()
    tok = T.mint(azp=T.DROP, iss="https://elsewhere.example", exp=n - 30)
    cached(client, "/t/skew60/static.txt", tok)
    for _ in range(2):
        assert_invalid(client.get("/t/skew0/static.txt", token=tok), "token-expired")
    tok = T.mint(azp=T.DROP, iss="https://elsewhere.example")
    cached(client, "/t/basic/static.txt", tok)
    assert_invalid(client.get("/t/wrongkey/static.txt", token=tok), "token-invalid-signature")
    assert_invalid(client.get("/t/azp/static.txt", token=tok), "token-invalid-authorized-parties")
    assert_invalid(client.get("/t/issuer/static.txt", token=tok), "token-invalid-issuer")
    assert_invalid(client.get("/t/aud/static.txt", token=tok), "token-invalid-audience")
    assert_invalid(client.get("/t/jwks-a/static.txt", token=tok), "jwk-kid-mismatch")


def test_cache_and_token_types(client):
    m2m = T.mint_m2m()
    cached(client, "/t/accept-any/static.txt", m2m)
    assert_invalid(client.get("/t/basic/static.txt", token=m2m), "token-type-mismatch")
    pending = T.mint(sts="pending")
    cached(client, "/t/pending/static.txt", pending)
    assert_invalid(client.get("/t/basic/static.txt", token=pending), "session-pending")


def test_rejection_is_not_cached_across_configurations(client):
    tok = T.mint(iss="https://elsewhere.example")
    assert_invalid(client.get("/t/issuer/static.txt", token=tok), "token-invalid-issuer")
    cached(client, "/t/basic/static.txt", tok)
    assert_invalid(client.get("/t/issuer/static.txt", token=tok), "token-invalid-issuer")


def test_virtual_hosts_share_one_cache_but_not_verdicts(httpd_factory):
    """The virtual hosts of the main server's ClerkTokenCache size share the
    process's cache (one per vhost cost 2 000 vhosts 180 MiB): a token cached
    in one host is a hit in another that verifies alike, and is judged afresh
    where the settings differ, or where a host has a cache size of its own."""
    from httpd_harness import free_port
    from helpers import Client
    from locations import key_line
    h = httpd_factory("vhost-cache")
    h.install_www("static/hello.txt", "hello.txt")
    port = free_port()
    hosts = {"a.test": "", "b.test": "", "c.test": "ClerkIssuer https://other.example",
             "d.test": None}
    body = ["LogLevel notice auth_clerk:trace1"]
    for name, extra in hosts.items():
        body += ["<VirtualHost 127.0.0.1:%d>" % port, "    ServerName " + name,
                 "    ClerkTokenCache 64" if extra is None else "",
                 '    DocumentRoot "%s"' % h.docroot, "    <Location />",
                 "        AuthType Clerk", "        AuthName clerk-it", "        " + key_line(h, "pem"),
                 "        " + (extra or ""), "        Require valid-user", "    </Location>",
                 "</VirtualHost>"]
    h.write_config("\n".join(body) + "\n", port=port)
    h.start()
    c = Client(h)
    tok = T.mint(jti="vhost-cache-" + uuid.uuid4().hex)

    def get(host):
        return c.get("/static/hello.txt", token=tok, headers={"Host": host})

    for _ in range(2):                          # verified twice in a.test: cached
        assert_ok(get("a.test"))
    before = h.error_log().count(HIT)
    assert_ok(get("b.test"))                    # the same settings: a hit of the shared cache
    assert h.error_log().count(HIT) == before + 1
    assert_invalid(get("c.test"), "token-invalid-issuer")   # other settings: verified afresh
    assert_ok(get("d.test"))                    # a cache of its own: not in it yet
    assert h.error_log().count(HIT) == before + 1
