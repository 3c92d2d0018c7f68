"""ClerkBackendAPIBudget for the whole fleet once ClerkCache is set: random
opaque tokens (each a Backend API call, answered "not found") sent one at a
time, in turn to three servers, are refused (503) by all of them after about
the budget's burst for the fleet; without ClerkCache each server admits a
burst of its own.  Sequential on purpose: the fleet's budget is approximate,
concurrent charges on different servers may each be admitted."""
import secrets
import time

RATE, BURST = 1, 10
# "about the burst": what sequential requests may still get beyond it
SLACK = 3
REQUESTS = 60
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
BUDGET = "ClerkBackendAPIBudget %d %d\n" % (RATE, BURST)


def random_token():
    return "mt_" + "".join(secrets.choice(ALPHABET) for _ in range(32))


def flood(fleet):
    """REQUESTS distinct random tokens, one at a time, in turn to every server:
    (responses, seconds)."""
    t0 = time.time()
    rs = [fleet.get(n % len(fleet.servers), "/f/opaque/static.txt", random_token())
          for n in range(REQUESTS)]
    return rs, time.time() - t0


def test_the_budget_is_the_fleet_s(redis_fleet, fake):
    fleet = redis_fleet("event", "prefork", "event", server_conf=BUDGET)
    before = fake.verify_calls()
    rs, elapsed = flood(fleet)
    calls = fake.verify_calls() - before
    statuses = [r.status_code for r in rs]
    print("\nfleet budget %d %d: %d requests in %.1f s, %d Backend API calls"
          % (RATE, BURST, REQUESTS, elapsed, calls))
    assert set(statuses) <= {401, 503}, statuses
    assert statuses.count(401) == calls
    assert calls <= BURST + RATE * (elapsed + 1) + SLACK, (calls, elapsed)
    assert calls >= BURST, (calls, "the burst must be admitted")
    # every server refuses once the fleet's budget is spent
    for i in range(3):
        late = [r for r in rs[-15:] if r.server == i]
        assert late and all(r.status_code == 503 for r in late), (i, [r.status_code for r in late])
        assert all(int(r.headers["Retry-After"]) >= 1 for r in late)


def test_without_the_cache_each_server_has_its_own_budget(make_fleet, fake):
    """The control of the test above: the same flood admits about three bursts."""
    fleet = make_fleet(cache=None, server_conf=BUDGET).start("event", "prefork", "event")
    before = fake.verify_calls()
    rs, elapsed = flood(fleet)
    calls = fake.verify_calls() - before
    assert calls >= 3 * BURST, (calls, elapsed)
