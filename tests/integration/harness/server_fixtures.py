"""Bodies of the fixtures that run something for the tests: an httpd, a client
bound to it, a fake service.  conftest.py, browser/, machine/, keys/ and
test_keys.py yield from these, so that prerequisites, a failed start and
clean-up are handled the same way everywhere:

  @pytest.fixture(scope="session")
  def server(mpm):
      yield from running_httpd(mpm, locations.main_config)

and the fixture sets that recur are made here whole: module_server_fixtures
(a module's own server and client), fake_backed_fixtures (a fake service and
the server talking to it, for browser/ and machine/).
"""
import os

import pytest

from helpers import Client
from httpd_harness import APACHE, MODULE, Httpd


def require_prereqs():
    """Fail, not skip: a suite whose servers cannot start must not pass."""
    if not os.path.exists(APACHE):
        pytest.fail("apache2 not found at %s" % APACHE)
    if not MODULE.exists():
        pytest.fail("%s is not built: run `make module` (or `make test-asan`) first" % MODULE)


def running_httpd(mpm, configure, name="main"):
    """Yields a started Httpd of this MPM whose config body is configure(h);
    its ServerRoot is removed afterwards, also when it failed to start."""
    require_prereqs()
    h = Httpd(mpm, name=name)
    try:
        h.write_config(configure(h))
        h.start()
        yield h
    finally:
        h.cleanup()


def client_of(httpd):
    """Yields a helpers.Client bound to httpd; its connections are closed after."""
    c = Client(httpd)
    yield c
    c.s.close()


def started(fake):
    """Yields fake (a FakeService) started; stopped after."""
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


def reset_around(fake):
    """Yields a session-wide fake in its default state and leaves it so:
    what one test set up must not leak into the next."""
    fake.reset()
    yield fake
    fake.reset()


def module_server_fixtures(configure, server, client, name=None):
    """The fixtures of a test module with a server of its own: server, an Httpd
    of each MPM (named name, by default server) whose config body is
    configure(h), and client, a Client bound to it; both module-scoped.  The
    module binds them:

      edge, eclient = module_server_fixtures(_edge_config, "edge", "eclient")
    """
    @pytest.fixture(scope="module", name=server)
    def server_fixture(mpm):
        yield from running_httpd(mpm, configure, name=name or server)

    # mpm, although unused here, keeps the tests that ask for the client
    # alone parametrized by MPM (the server is looked up by name, at run time)
    @pytest.fixture(scope="module", name=client)
    def client_fixture(mpm, request):
        yield from client_of(request.getfixturevalue(server))

    return server_fixture, client_fixture


def fake_backed_fixtures(make_fake, configure, server, name):
    """The fixtures of a directory whose tests share one fake service and one
    server talking to it: fake_service, make_fake() started for the session;
    fake, the same reset around every test; and server, an Httpd of each MPM
    (called name) whose config body is configure(h, fake_service).  The
    directory's conftest.py binds them:

      fake_service, fake, bserver = fake_backed_fixtures(FakeClerk, config, "bserver", "browser")
    """
    @pytest.fixture(scope="session", name="fake_service")
    def fake_service_fixture():
        yield from started(make_fake())

    @pytest.fixture(name="fake")
    def fake_fixture(fake_service):
        yield from reset_around(fake_service)

    @pytest.fixture(scope="session", name=server)
    def server_fixture(mpm, fake_service):
        yield from running_httpd(mpm, lambda h: configure(h, fake_service), name=name)

    return fake_service_fixture, fake_fixture, server_fixture
