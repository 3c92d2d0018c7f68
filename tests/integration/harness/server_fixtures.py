"""Bodies of the fixtures that run something for the tests: an httpd, a client
bound to it, a fake service.  conftest.py, browser/, machine/, keys/ and
test_keys.py yield from these, so that prerequisites, a failed start and
clean-up are handled the same way everywhere:

  @pytest.fixture(scope="session")
  def mserver(mpm, fake_module):
      yield from running_httpd(mpm, lambda h: machine_conf.config(h, fake_module),
                               name="machine")
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
