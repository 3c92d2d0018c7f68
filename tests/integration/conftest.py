"""Fixtures: one real apache2 per MPM, shared by the whole suite.

  mpm      "event" | "prefork" (session scope; every test runs under both)
  server   the running Httpd with the configuration of locations.py
  client   helpers.Client bound to server (a requests.Session)
  httpd_factory  makes extra, short-lived servers/configtests for an MPM

Set CLERK_IT_KEEP=1 to keep the generated ServerRoots for inspection.
"""
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import Client  # noqa: E402
from httpd_harness import APACHE, MODULE, Httpd  # noqa: E402
import locations  # noqa: E402

MPMS = ["event", "prefork"]


def _require_prereqs():
    if not os.path.exists(APACHE):
        pytest.fail("apache2 not found at %s" % APACHE)
    if not MODULE.exists():
        pytest.fail("%s is not built: run `make module` first" % MODULE)


@pytest.fixture(scope="session", params=MPMS)
def mpm(request):
    return request.param


@pytest.fixture(scope="session")
def server(mpm):
    _require_prereqs()
    h = Httpd(mpm)
    h.write_config(locations.main_config(h))
    try:
        h.start()
    except Exception:
        h.cleanup()
        raise
    yield h
    h.cleanup()


@pytest.fixture(scope="session")
def client(server):
    c = Client(server)
    yield c
    c.s.close()


@pytest.fixture
def httpd_factory(mpm):
    """Httpd objects for configtests or extra servers; cleaned up after the test."""
    _require_prereqs()
    made = []

    def make(name="extra"):
        h = Httpd(mpm, name=name)
        made.append(h)
        return h

    yield make
    for h in made:
        h.cleanup()


@pytest.fixture(scope="session")
def configtester(mpm):
    """One ServerRoot reused for every `apache2 -t` of this MPM."""
    _require_prereqs()
    h = Httpd(mpm, name="configtest")
    yield h
    h.cleanup()


@pytest.fixture
def log(server):
    """The error-log text written during the test: log() -> str."""
    mark = server.log_mark()
    return lambda: server.log_since(mark)
