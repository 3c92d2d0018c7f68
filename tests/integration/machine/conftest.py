"""Fixtures of the machine-token tests (tests/integration/machine).

  fake_service  a FakeBAPI (fake_bapi.py) for the session
  fake          the same, reset to per-token modes before every test
  mserver       one Httpd per MPM with machine_conf.LOCATIONS, talking to fake
  mclient       helpers.Client bound to mserver
  extra_server  makes servers of their own (httpd_factory) with the same
                locations: extra_server(single_process=..., limits=...) -> (Httpd, Client)
  single        extra_server(single_process=True)
"""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fake_bapi import FakeBAPI  # noqa: E402
from helpers import Client  # noqa: E402
import machine_conf  # noqa: E402
from server_fixtures import client_of, fake_backed_fixtures  # noqa: E402

fake_service, fake, mserver = fake_backed_fixtures(FakeBAPI, machine_conf.config, "mserver",
                                                   "machine")


@pytest.fixture(scope="session")
def mclient(mserver):
    yield from client_of(mserver)


@pytest.fixture
def extra_server(httpd_factory, fake_service):
    """extra_server(**kw) -> (Httpd, Client): a server of its own with the
    same locations; kw go to machine_conf.config (single_process, limits)."""
    clients = []

    def make(**kw):
        h = httpd_factory("machine-extra")
        h.write_config(machine_conf.config(h, fake_service, **kw))
        h.start()
        c = Client(h)
        clients.append(c)
        return h, c

    yield make
    for c in clients:
        c.s.close()


@pytest.fixture
def single(extra_server):
    """single() -> (Httpd, Client): a single-process server."""
    return lambda: extra_server(single_process=True)
