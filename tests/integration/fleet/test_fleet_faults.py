"""A shared cache that fails or lies: redis killed mid-run and restarted,
redis hung (SIGSTOP) and resumed, values tampered with through the store.

Down or hung, the cache never makes a request wait much beyond
ClerkCacheTimeout (each request is asserted under BOUND, generous for a
loaded machine) and never causes a 5xx by itself; once the store is back,
sharing resumes by itself (the module rests a failing cache for 1 s,
doubling to 10 s: RESUME_WITHIN).  A value altered in the store (bit flip,
garbage, cut, another value's bytes under its name) never authenticates
anything: the request is decided as without the cache, and the error log
says "did not open", at most once per 10 s per process."""
import json
import time

import clerk_tokens as T
from fleet import DID_NOT_OPEN, REDIS_MODULE, lines_per_pid, names_of
from fleet_clerk import jwks_of
from helpers import assert_invalid, describe

BOUND = 1.0
RESUME_WITHIN = 15.0
OPAQUE = "/f/opaque/static.txt"


def assert_served(rs):
    for r in rs:
        assert r.status_code < 500, (r.server, describe(r))
        assert r.seconds < BOUND, "server %d took %.2f s" % (r.server, r.seconds)


def traffic(fleet, fake, seconds):
    """Requests on every server for this long while the store is out: a JWT,
    a fresh valid opaque token each round (a Backend API call without the
    cache), a refused one; all answered, rightly, within BOUND."""
    t0 = time.time()
    n = 0
    while time.time() - t0 < seconds:
        good, dead = fake.token("mt"), fake.token("oat", mode="revoked")
        for i in range(len(fleet.servers)):
            rs = [fleet.get(i, "/f/url/static.txt", T.mint()), fleet.get(i, OPAQUE, good),
                  fleet.get(i, OPAQUE, dead)]
            assert_served(rs)
            assert [r.status_code for r in rs] == [200, 200, 401], \
                (i, [describe(r) for r in rs])
            n += 3
    return n


def wait_for_sharing(fleet, fake):
    """Seconds until a fresh token is verified once for two rounds over the
    fleet (the processes asked have all left their rest)."""
    t0 = time.time()
    while True:
        tok = fake.token("ak")
        assert_served(fleet.first_then_spread(OPAQUE, tok, rounds=2))
        if fake.calls(token=tok) == 1:
            return time.time() - t0
        assert time.time() - t0 < RESUME_WITHIN, "sharing did not resume"
        time.sleep(0.2)


def shared(fleet, fake):
    tok = fake.token("mt")
    assert_served(fleet.first_then_spread(OPAQUE, tok, rounds=2))
    return fake.calls(token=tok) == 1


def test_redis_killed_and_restarted(redis_fleet, fake, redis):
    fleet = redis_fleet("event", "prefork", "event")
    assert shared(fleet, fake)
    redis.kill()
    n = traffic(fleet, fake, 3.0)
    # a server starting while the store is down starts, with keys of its own
    before = fake.count("/jwks/url.json")
    fleet.add("prefork")
    assert fake.count("/jwks/url.json") == before + 1
    n += traffic(fleet, fake, 1.0)
    redis.restart()
    took = wait_for_sharing(fleet, fake)
    print("\nredis down: %d requests answered; sharing back %.1f s after the restart" % (n, took))


def test_redis_hung_and_resumed(redis_fleet, fake, redis):
    fleet = redis_fleet("event", "prefork", "event")
    assert shared(fleet, fake)
    redis.pause()
    try:
        n = traffic(fleet, fake, 4.0)
    finally:
        redis.resume()
    took = wait_for_sharing(fleet, fake)
    print("\nredis hung: %d requests answered; sharing back %.1f s after SIGCONT" % (n, took))


# ---------------------------------------------------------------- tampering

def new_verdict_name(fleet, fake, redis, i, tok):
    """Verify tok on server i alone; returns the one verdict name it stored."""
    before = names_of(redis, "v")
    fleet.get(i, OPAQUE, tok)
    deadline = time.time() + 2
    while len(names_of(redis, "v") - before) < 1 and time.time() < deadline:
        time.sleep(0.02)      # stores are queued, not waited for
    new = names_of(redis, "v") - before
    assert len(new) == 1, (new, redis.names())
    return new.pop()


def flip_bit(value, at):
    b = bytearray(value)
    b[at % len(b)] ^= 0x01
    return bytes(b)


def test_tampered_verdicts_never_authenticate(redis_fleet, fake, redis):
    fleet = redis_fleet("event", "prefork", "event")
    marks = fleet.marks()
    good = fake.token("mt")
    good_name = new_verdict_name(fleet, fake, redis, 0, good)
    good_value = redis.get(good_name)

    # a good token's verdict copied onto the name of revoked ones
    revoked = [fake.token("mt", mode="revoked") for _ in range(4)]
    for tok in revoked:
        redis.set(new_verdict_name(fleet, fake, redis, 0, tok), good_value)
    for tok in revoked:
        assert_invalid(fleet.get(1, OPAQUE, tok), "token-invalid")
        assert fake.calls(token=tok) == 2, "a copied verdict was believed"

    # a good token's own value altered, the token revoked meanwhile: each
    # case a fresh token, verified by server 0, then asked on server 1 or 2
    keyset_value = redis.get(sorted(names_of(redis, "k"))[0])
    alterations = [lambda v: flip_bit(v, 0), lambda v: flip_bit(v, len(v) // 2),
                   lambda v: flip_bit(v, -1), lambda v: v[:-1], lambda v: b"garbage",
                   lambda v: keyset_value]
    for n, alter in enumerate(alterations):
        tok = fake.token("ak")
        name = new_verdict_name(fleet, fake, redis, 0, tok)
        fake.register(tok, mode="revoked")
        redis.set(name, alter(redis.get(name)))
        assert_invalid(fleet.get(1 + n % 2, OPAQUE, tok), "token-invalid")
        assert fake.calls(token=tok) == 2, "altered value %d was believed" % n

    logs = fleet.logs_since(marks)
    assert DID_NOT_OPEN in logs[1] and DID_NOT_OPEN in logs[2], logs
    for log in logs:
        per_pid = lines_per_pid(log, DID_NOT_OPEN)
        assert all(c == 1 for c in per_pid.values()), ("not rate-limited", per_pid)


def test_tampered_key_set_is_ignored(redis_fleet, make_fleet, fake, redis):
    """/f/url serves key a, /f/url2 key ins; the stored copy of url is put
    under url2's name.  A server starting then adopts url, refetches url2 and
    does not accept key a there.  A server with another cache key finds
    nothing of the fleet's (its names are other HMACs) and fetches itself."""
    fake.set_jwks(jwks_of("a"), path="/jwks/url.json")
    fleet = redis_fleet("event", server_conf="ClerkJWKSCacheTTL 600\n")
    # url, url2, /v1/jwks; sealed values grow with their bodies: url's (key a,
    # the shorter kid) is the shortest, the two of key ins are alike
    assert len(json.dumps(jwks_of("a"))) < len(json.dumps(jwks_of("ins")))
    url_name, *ins_names = sorted(names_of(redis, "k"), key=lambda n: len(redis.get(n)))
    assert len(ins_names) == 2, redis.names()
    sizes = [len(redis.get(n)) for n in [url_name] + ins_names]
    assert sizes[0] < sizes[1] == sizes[2], sizes
    for n in ins_names:
        redis.set(n, redis.get(url_name), ttl_seconds=600)

    i = fleet.add("prefork")
    assert fake.count("/jwks/url.json") == 1, "url adopted from the store"
    assert fake.count("/jwks/url2.json") == 2, "url2 refetched"
    assert fake.count("/v1/jwks") == 2, "/v1/jwks refetched"
    assert DID_NOT_OPEN in fleet.servers[i].error_log()
    for r in fleet.spread("/f/url2/static.txt", T.mint(key="a"), rounds=3, servers=[i]):
        assert_invalid(r, "jwk-kid-mismatch")
    for r in fleet.spread("/f/url2/static.txt", T.mint(), rounds=3, servers=[i]):
        assert r.status_code == 200, describe(r)
    for r in fleet.spread("/f/url/static.txt", T.mint(key="a"), rounds=3, servers=[i]):
        assert r.status_code == 200, describe(r)

    other = make_fleet(cache="redis:" + redis.address, modules=[REDIS_MODULE],
                       server_conf="ClerkJWKSCacheTTL 600\n", name="otherkey").start("event")
    assert fake.count("/jwks/url.json") == 2
    assert other.get(0, "/f/url/static.txt", T.mint(key="a")).status_code == 200
