"""Fixtures of the browser-session tests (tests/integration/browser).

  fake_service  the FakeClerk (Frontend + Backend API) for the session
  fake          the same, reset to nonce mode before every test
  bserver       one Httpd per MPM (mpm fixture of the parent conftest) with
                browser_kit.config, talking to fake
  browser       a fresh browser_kit.Browser (empty cookie jar) bound to bserver
"""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from browser_kit import Browser, config  # noqa: E402
from handshake_fake import FakeClerk  # noqa: E402
from server_fixtures import fake_backed_fixtures  # noqa: E402

fake_service, fake, bserver = fake_backed_fixtures(FakeClerk, config, "bserver", "browser")


@pytest.fixture
def browser(bserver, fake):
    b = Browser(bserver)
    yield b
    b.close()
