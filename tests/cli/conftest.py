"""Fixtures for the clerk-jwt tests; helpers live in clijwt.py."""
import pytest

from clijwt import run


@pytest.fixture(scope="session")
def devkeys(tmp_path_factory):
    """A key pair from 'clerk-jwt keygen'."""
    d = tmp_path_factory.mktemp("keys") / "dev"
    r = run("keygen", "--out", d, "--json")
    assert r.rc == 0, r
    return d, r.json
