"""Fixtures of the network key source tests (tests/integration/keys).

  fake        a FakeClerk on 127.0.0.1 (fake_clerk.py), stopped after the test
  keyserver   makes KeyServers (keyenv.py) on httpd_factory servers of the
              current MPM; after the test each is stopped and its error log
              checked for crash lines
"""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fake_clerk import FakeClerk  # noqa: E402
from keyenv import KeyServer  # noqa: E402
from server_fixtures import started  # noqa: E402


@pytest.fixture
def fake():
    yield from started(FakeClerk())


@pytest.fixture
def keyserver(httpd_factory, mpm):
    made = []

    def make(name="keys", env=None):
        ks = KeyServer(httpd_factory(name), env=env)
        made.append(ks)
        return ks

    yield make
    for ks in made:
        ks.h.stop()
        ks.assert_no_crash()
