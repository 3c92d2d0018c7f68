"""Fixtures: one real apache2 per MPM, shared by the whole suite.

  mpm      "event" | "prefork" (session scope; every test runs under both)
  server   the running Httpd with the configuration of locations.py
  client   helpers.Client bound to server (a requests.Session)
  httpd_factory  makes extra, short-lived servers/configtests for an MPM

Set CLERK_IT_KEEP=1 to keep the generated ServerRoots for inspection.
"""
import sys
from pathlib import Path

import pytest

# the harness (tests/integration/harness/) and the tests of this directory
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "harness"))

from httpd_harness import Httpd  # noqa: E402
import locations  # noqa: E402
from server_fixtures import client_of, require_prereqs, running_httpd  # noqa: E402

MPMS = ["event", "prefork"]


@pytest.fixture(scope="session", params=MPMS)
def mpm(request):
    return request.param


@pytest.fixture(scope="session")
def server(mpm):
    yield from running_httpd(mpm, locations.main_config)


@pytest.fixture(scope="session")
def client(server):
    yield from client_of(server)


@pytest.fixture
def httpd_factory(mpm):
    """Httpd objects for configtests or extra servers; cleaned up after the test."""
    require_prereqs()
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
    require_prereqs()
    h = Httpd(mpm, name="configtest")
    yield h
    h.cleanup()


@pytest.fixture
def log(server):
    """The error-log text written during the test: log() -> str."""
    mark = server.log_mark()
    return lambda: server.log_since(mark)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """test_zz_sanitizer.py last of all, after the MPM grouping of the fixtures
    (trylast): it stops the servers still running and reads every report."""
    last = [i for i in items if i.path.name == "test_zz_sanitizer.py"]
    items[:] = [i for i in items if i not in last] + last
