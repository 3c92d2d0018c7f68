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
from httpd_harness import APACHE, MODULE, Httpd  # noqa: E402


@pytest.fixture(scope="session")
def fake_clerk():
    f = FakeClerk().start()
    yield f
    f.stop()


@pytest.fixture
def fake(fake_clerk):
    fake_clerk.reset()
    yield fake_clerk
    fake_clerk.reset()


@pytest.fixture(scope="session")
def bserver(mpm, fake_clerk):
    if not Path(APACHE).exists() or not MODULE.exists():
        pytest.fail("apache2 or %s missing: run `make module` first" % MODULE)
    h = Httpd(mpm, name="browser")
    h.write_config(config(h, fake_clerk))
    try:
        h.start()
    except Exception:
        h.cleanup()
        raise
    yield h
    h.cleanup()


@pytest.fixture
def browser(bserver, fake):
    b = Browser(bserver)
    yield b
    b.close()
