"""ClerkProxyMachineToken across a fleet sharing ClerkCache redis: Apache
obtains an M2M token (POST /m2m_tokens at the fake, each creation billed)
for the requests it proxies, and the fleet creates one per token lifetime.
Both ends in every server: /p/ proxies to the server's own /f/backend/,
which verifies the token locally (ClerkAcceptToken m2m_token, the fixture
key the fake signs with)."""
import time

import pytest

import clerk_tokens as T
import fake_bapi as F
from fleet import REDIS_MODULE
from helpers import describe
from httpd_harness import MODDIR

PROXY_MODULES = [("proxy_module", str(MODDIR / "mod_proxy.so")),
                 ("proxy_http_module", str(MODDIR / "mod_proxy_http.so"))]
BACKEND = ("/f/backend", "pem", ["ClerkAcceptToken m2m_token"])


def proxy_conf(h, ttl=None):
    return f"""
<Location /p/>
    ClerkProxyMachineToken {F.MACHINE_SECRET}
    {"ClerkProxyMachineTokenTTL %d" % ttl if ttl else ""}
    ProxyPass "http://127.0.0.1:{h.port}/f/backend/"
</Location>
"""


def m2m_fleet(redis_fleet, *mpms, ttl=None):
    return redis_fleet(*mpms, modules=[REDIS_MODULE] + PROXY_MODULES,
                       server_conf=lambda h: proxy_conf(h, ttl), extra_locations=[BACKEND])


def through_the_proxy(fleet, rounds):
    """rounds x every server: /p/env with the client's own Authorization,
    which the M2M token replaces; the backend's variables say who called."""
    out = []
    for _ in range(rounds):
        for i in range(len(fleet.servers)):
            r = fleet.get(i, "/p/env", headers={"Authorization": "Bearer client-sent"})
            assert r.status_code == 200, (i, describe(r))
            env = r.json()
            assert env.get("CLERK_MACHINE_ID") == T.MACHINE, env
            out.append(r)
    return out


def test_one_creation_for_the_fleet(redis_fleet, fake):
    fleet = m2m_fleet(redis_fleet, "event", "prefork", "event")
    assert fake.creations() == 1, "the first server's parent creates, the others adopt"
    rs = through_the_proxy(fleet, rounds=4)
    assert fake.creations() == 1, fake.creations()
    create = fake.requests(F.M2M_CREATE)
    assert create[0].authorization == "Bearer " + F.MACHINE_SECRET
    assert create[0].json.get("token_format") == "jwt", create[0].json
    # never to the client, never in a log
    (token, _), = fake.m2m_tokens()
    for r in rs:
        assert token not in r.text and token not in str(r.headers)
    for h in fleet.servers:
        assert token not in h.error_log() and F.MACHINE_SECRET not in h.error_log()


@pytest.mark.parametrize("case", ["asked-60", "granted-22-of-3600"])
def test_one_renewal_per_lifetime_for_the_fleet(redis_fleet, fake, case):
    """A token is renewed a margin before it expires (for a short one, half
    its life): over that much traffic on every server, and two seconds more,
    the fleet creates two tokens, not one per process.
      asked-60            ClerkProxyMachineTokenTTL 60, granted as asked: renewed after 30 s
      granted-22-of-3600  Clerk grants 22 s of the default 3600: renewed after 11 s, by
                          the lifetime the token has (what the other servers adopt too)"""
    if case == "asked-60":
        lifetime, fleet = 60, m2m_fleet(redis_fleet, "event", "prefork", "event", ttl=60)
    else:
        lifetime = fake.m2m_lifetime = 22
        fleet = m2m_fleet(redis_fleet, "event", "prefork", "event")
    t0 = time.time()
    while time.time() - t0 < lifetime / 2 + 2:
        through_the_proxy(fleet, rounds=1)
        time.sleep(0.2)
    times = [r.at for r in fake.requests(F.M2M_CREATE)]
    gaps = [b - a for a, b in zip(times, times[1:])]
    print("\nM2M creations (%s): %d, gaps %s" % (case, len(times), [round(g, 1) for g in gaps]))
    assert len(times) == 2, (len(times), gaps)
    assert gaps[0] >= lifetime / 3, gaps
