"""Backend API verdicts on opaque machine tokens (mt_, oat_, ak_) shared
through ClerkCache redis by three servers (event, prefork, event): a valid
token is verified at the fake Backend API once for the fleet within
ClerkMachineTokenCacheTTL, a refusal (revoked, unknown) is shared for 5
seconds; a verdict is bound to the secret it was asked with; the store holds
no token, secret or claim in clear.  Requests are sequential and each on a
connection of its own, so that they spread over the processes of a server
(without the cache every process would ask once)."""
import time

import pytest

import fake_bapi as F
from fleet import MS, S, ANY, VERDICT_TTL, logical_name, names_of
from helpers import assert_invalid, clerk_vars, describe

REFUSAL_SECONDS = 5
OPAQUE = "/f/opaque/static.txt"


def wait_until(t):
    time.sleep(max(0.0, t - time.time()))


@pytest.fixture
def fleet(redis_fleet):
    return redis_fleet("event", "prefork", "event")


def test_valid_tokens_are_verified_once_for_the_fleet(fleet, fake, redis):
    tokens = [fake.token(kind) for kind in ("mt", "oat", "ak")]
    first = {}
    for tok in tokens:
        for r in fleet.first_then_spread(OPAQUE, tok, rounds=5):
            assert r.status_code == 200, (r.server, describe(r))
        first[tok] = fake.requests(token=tok)[0].at
        assert fake.calls(token=tok) == 1, \
            "15 requests over 3 servers must make one Backend API call for %s" % tok[:4]
    # what a server adopted gives the application the same variables
    env = [clerk_vars(fleet.get(i, "/f/opaque/env", tokens[0]).json()) for i in range(3)]
    assert env[0] == env[1] == env[2] and env[0]["CLERK_MACHINE_ID"] == F.MACHINE, env
    assert len(names_of(redis, "v")) >= 3, redis.names()

    # once the TTL has passed: one more call for the fleet, reused again
    wait_until(max(first.values()) + VERDICT_TTL + 0.3)
    for tok in tokens:
        for r in fleet.first_then_spread(OPAQUE, tok, rounds=3):
            assert r.status_code == 200, (r.server, describe(r))
        assert fake.calls(token=tok) == 2, (tok[:4], fake.calls(token=tok))


@pytest.mark.parametrize("mode", ["revoked", "unknown"])
def test_a_refusal_is_shared_for_five_seconds(fleet, fake, mode):
    tok = fake.token("mt", mode=mode)
    for r in fleet.first_then_spread(OPAQUE, tok, rounds=4):
        assert_invalid(r, "token-invalid")
    learnt = fake.requests(token=tok)[0].at
    assert fake.calls(token=tok) == 1, "a %s token asked about by every server" % mode
    assert time.time() < learnt + REFUSAL_SECONDS      # all of it inside the window

    # after 5 s the refusal is forgotten: asked once more, shared again
    wait_until(learnt + REFUSAL_SECONDS + 0.3)
    for r in fleet.first_then_spread(OPAQUE, tok, rounds=2):
        assert_invalid(r, "token-invalid")
    assert fake.calls(token=tok) == 2


def test_a_verdict_is_bound_to_its_secret(fleet, fake):
    """An M2M token verified with the machine secret is asked about again
    where another secret verifies it (the instance's): the store's name covers
    the secret, so the answer of one secret is never what another one got."""
    tok = fake.token("mt")
    for r in fleet.first_then_spread(OPAQUE, tok):
        assert r.status_code == 200, describe(r)
    assert fake.calls(token=tok) == 1
    for r in fleet.first_then_spread("/f/instance/static.txt", tok):
        assert r.status_code == 200, describe(r)
    asked = [r.authorization for r in fake.requests(token=tok)]
    assert asked == ["Bearer " + F.MACHINE_SECRET, "Bearer " + F.INSTANCE_SECRET], asked


def test_the_store_holds_nothing_in_clear(fleet, fake, redis):
    """Names are "clerk1:<purpose>:<43 base64url>" (after the provider's own
    prefix, if any); neither names nor values hold a token, a secret, a URL
    or a claim."""
    tokens = [fake.token("mt"), fake.token("oat", mode="revoked")]
    for tok in tokens:
        fleet.spread(OPAQUE, tok, rounds=2)
    names = redis.names()
    assert names and all(logical_name(n) for n in names), names
    secrets_and_claims = tokens + [F.INSTANCE_SECRET, F.MACHINE_SECRET, F.MACHINE, fake.url,
                                   "127.0.0.1", "billing", "mch_a"]
    for n in names:
        value = redis.get(n) or b""
        for s in secrets_and_claims:
            assert s not in logical_name(n) and s.encode() not in value, (n, s)


@pytest.mark.parametrize("case", ["verdict-ttl-1", "budget-high-rate"])
def test_short_lived_values_do_not_stop_sharing(redis_fleet, fake, case):
    """Values the module stores for a second or less: a verdict under
    ClerkMachineTokenCacheTTL 1; the fleet budget's state under a high rate
    (kept until one second after the bucket is full again, so about one
    second).  Whatever the provider makes of such an expiry (mod_socache_redis
    refuses one under a second), sharing goes on: a token verified right
    after is still verified once for the fleet."""
    fleet = redis_fleet("event", "prefork", "event",
                        server_conf="ClerkBackendAPIBudget 100000 100000\n"
                        if case == "budget-high-rate" else "",
                        extra_locations=[("/f/ttl1", "pem", [S, MS, ANY,
                                                             "ClerkMachineTokenCacheTTL 1"])])
    first = "/f/ttl1/static.txt" if case == "verdict-ttl-1" else OPAQUE
    assert fleet.get(0, first, fake.token("mt")).status_code == 200
    time.sleep(0.1)
    tok = fake.token("ak")
    for r in fleet.first_then_spread(OPAQUE, tok, rounds=3):
        assert r.status_code == 200, describe(r)
    assert fake.calls(token=tok) == 1, "sharing stopped after a short-lived store"
