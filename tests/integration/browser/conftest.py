"""Fixtures of the browser-session tests (tests/integration/browser).

  fake      the FakeClerk (Frontend + Backend API) for the session, reset to
            nonce mode before every test
  bserver   one Httpd per MPM (mpm fixture of the parent conftest) with
            browser_kit.config, talking to fake
  browser   a fresh browser_kit.Browser (empty cookie jar) bound to bserver
"""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from browser_kit import Browser, config  # noqa: E402
from handshake_fake import FakeClerk  # noqa: E402
from server_fixtures import reset_around, running_httpd, started  # noqa: E402


@pytest.fixture(scope="session")
def fake_clerk():
    yield from started(FakeClerk())


@pytest.fixture
def fake(fake_clerk):
    yield from reset_around(fake_clerk)


@pytest.fixture(scope="session")
def bserver(mpm, fake_clerk):
    yield from running_httpd(mpm, lambda h: config(h, fake_clerk), name="browser")


@pytest.fixture
def browser(bserver, fake):
    b = Browser(bserver)
    yield b
    b.close()
