"""Fixtures of the machine-token tests (tests/integration/machine).

  fake     a FakeBAPI (fake_bapi.py) for the session, reset to per-token modes
           before every test
  mserver  one Httpd per MPM with machine_conf.LOCATIONS, talking to fake
  mclient  helpers.Client bound to mserver
  single   makes single-process servers (httpd_factory) with the same config:
           single() -> (Httpd, Client)
"""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fake_bapi import FakeBAPI  # noqa: E402
from helpers import Client  # noqa: E402
from httpd_harness import APACHE, MODULE, Httpd  # noqa: E402
import machine_conf  # noqa: E402


@pytest.fixture(scope="session")
def fake_module():
    f = FakeBAPI().start()
    yield f
    f.stop()


@pytest.fixture
def fake(fake_module):
    fake_module.set_mode(None)
    yield fake_module
    fake_module.set_mode(None)


@pytest.fixture(scope="session")
def mserver(mpm, fake_module):
    if not Path(APACHE).exists() or not MODULE.exists():
        pytest.fail("apache2 or %s missing: run `make module` first" % MODULE)
    h = Httpd(mpm, name="machine")
    h.write_config(machine_conf.config(h, fake_module))
    try:
        h.start()
    except Exception:
        h.cleanup()
        raise
    yield h
    h.cleanup()


@pytest.fixture(scope="session")
def mclient(mserver):
    c = Client(mserver)
    yield c
    c.s.close()


@pytest.fixture
def single(httpd_factory, fake_module):
    clients = []

    def make():
        h = httpd_factory("machine-single")
        h.write_config(machine_conf.config(h, fake_module, single_process=True))
        h.start()
        c = Client(h)
        clients.append(c)
        return h, c

    yield make
    for c in clients:
        c.s.close()
