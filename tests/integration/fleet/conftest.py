"""Fixtures of the fleet tests (tests/integration/fleet): several httpd
sharing a ClerkCache store, counted at one fake Clerk.

  fake         a FleetClerk (fleet_clerk.py) for the test
  redis        a redis-server of the test's own (stores.py), stopped after
  memcached    a memcached of the test's own
  make_fleet   make_fleet(cache=..., modules=..., **Fleet kw) -> Fleet (not started);
               every server is stopped and removed after the test, and a
               crashed child fails it
  redis_fleet  redis_fleet(*mpms, **Fleet kw) -> a Fleet on `redis`, started

These tests are not parametrized by MPM: every fleet mixes event and prefork.
Without redis-server or memcached they fail under CI (CI=true) and are
skipped elsewhere, saying which package to install (stores.require_binary).
"""
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
for d in (HERE, HERE.parent / "machine", HERE.parent / "keys"):
    sys.path.insert(0, str(d))

from fleet import REDIS_MODULE, Fleet  # noqa: E402
from fleet_clerk import FleetClerk  # noqa: E402
from server_fixtures import require_prereqs, started  # noqa: E402
from stores import MemcachedServer, RedisServer  # noqa: E402


@pytest.fixture
def fake():
    yield from started(FleetClerk())


@pytest.fixture
def redis(tmp_path):
    r = RedisServer(tmp_path / "redis").start()
    yield r
    r.stop()


@pytest.fixture
def memcached():
    m = MemcachedServer().start()
    yield m
    m.stop()


@pytest.fixture
def make_fleet(fake):
    require_prereqs()
    made = []

    def make(**kw):
        f = Fleet(fake, **kw)
        made.append(f)
        return f

    yield make
    crashed = [l for f in made for l in f.crash_lines()]
    for f in made:
        f.cleanup()
    assert not crashed, "\n".join(crashed[:20])


@pytest.fixture
def redis_fleet(make_fleet, redis):
    def make(*mpms, **kw):
        kw.setdefault("cache", "redis:" + redis.address)
        kw.setdefault("modules", [REDIS_MODULE])
        return make_fleet(**kw).start(*mpms)
    return make
