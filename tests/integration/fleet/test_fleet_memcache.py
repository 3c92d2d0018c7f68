"""ClerkCache memcache: two servers (event, prefork) sharing one memcached
share key sets and Backend API verdicts.  Neither names ClerkCacheKey: both
derive the cache key from the same server-level ClerkSecretKey, which is what
lets them read each other's values."""
import clerk_tokens as T
import fake_bapi as F
from fleet import MEMCACHE_MODULE
from helpers import assert_invalid, describe

OPAQUE = "/f/opaque/static.txt"


def test_memcache_shares_key_sets_and_verdicts(make_fleet, fake, memcached):
    fleet = make_fleet(cache="memcache:" + memcached.address, modules=[MEMCACHE_MODULE],
                       cache_key=False, server_conf="ClerkSecretKey %s\n" % F.INSTANCE_SECRET)
    fleet.start("event")
    assert fake.count("/jwks/url.json") == 1 and fake.count("/v1/jwks") == 1
    assert int(memcached.stats_items()["curr_items"]) >= 2
    fleet.add("prefork")
    assert fake.count("/jwks/url.json") == 1 and fake.count("/v1/jwks") == 1, \
        "the second server must adopt the key sets the first stored"
    for r in fleet.spread("/f/url/static.txt", T.mint(), rounds=3) + \
            fleet.spread("/f/bapi/static.txt", T.mint(), rounds=3):
        assert r.status_code == 200, describe(r)

    good = fake.token("oat")
    for r in fleet.first_then_spread(OPAQUE, good, rounds=5):
        assert r.status_code == 200, describe(r)
    assert fake.calls(token=good) == 1
    dead = fake.token("mt", mode="revoked")
    for r in fleet.first_then_spread(OPAQUE, dead, rounds=5):
        assert_invalid(r, "token-invalid")
    assert fake.calls(token=dead) == 1
