"""JWK edge cases (algorithms and keys): a key set mixing one good
key with keys that must be skipped at load without poisoning the rest.
Runs on its own small server so that a start-up failure here does not take
the rest of the suite down."""
import pytest

import clerk_tokens as T
import locations
from helpers import assert_invalid, assert_ok
from server_fixtures import module_server_fixtures

URL = "/t/edge/env"


def _edge_config(h):
    h.write("keys/jwks_edge.json", locations.edge_jwks())
    h.install_www("cgi/printenv.py", "printenv.py")
    doc = h.docroot
    return f"""
{locations.cgi_directory(doc, options="+ExecCGI")}
AliasMatch "^/t/(.+)/env$" "{doc}/cgi/printenv.py"
""" + locations.clerk(h, "/t/edge", "Require valid-user", key="edge") + "\n"


edge, eclient = module_server_fixtures(_edge_config, "edge", "eclient")


def test_edge_set_passes_configtest(configtester):
    rc, out = configtester.configtest(_edge_config(configtester))
    assert rc == 0, out
    assert "Syntax OK" in out


def test_good_key_still_usable(eclient):
    assert_ok(eclient.get(URL, token=T.mint()))


@pytest.mark.parametrize("kid,key", [
    ("small", "rsa1024"), ("e3", "rsa_e3"), ("enc", "gen_enc"), ("noverify", "gen_ops"),
    ("dup", "gen_dup1"), ("dup", "gen_dup2"), ("hsalg", "gen_hs"), ("e1", "gen_e1"),
], ids=["rsa-1024", "e-3", "use-enc", "key-ops-encrypt", "duplicate-kid-1", "duplicate-kid-2",
        "jwk-alg-hs256", "e-1"])
def test_skipped_keys_do_not_verify(eclient, kid, key):
    assert_invalid(eclient.get(URL, token=T.mint(key=key, kid=kid)), "jwk-kid-mismatch")


def test_ec_key_and_es256(eclient):
    tok = T.raw_session({"alg": "ES256", "kid": "ec"}, alg="ES256", key="ec")
    assert_invalid(eclient.get(URL, token=tok), "token-invalid-algorithm")
    # an RS256 token naming the EC key's kid
    assert_invalid(eclient.get(URL, token=T.mint(key="gen_noalg", kid="ec")), "jwk-kid-mismatch")


def test_jwk_alg_binds_the_algorithm(eclient):
    assert_ok(eclient.get(URL, token=T.mint(key="gen_384", kid="rs384", alg="RS384")))
    assert_invalid(eclient.get(URL, token=T.mint(key="gen_384", kid="rs384", alg="RS256")),
                   "token-invalid-algorithm")
    assert_invalid(eclient.get(URL, token=T.mint(key="gen_384", kid="rs384", alg="RS512")),
                   "token-invalid-algorithm")


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512"])
def test_jwk_without_alg_accepts_every_rsa_alg(eclient, alg):
    env = eclient.env(URL, token=T.mint(key="gen_noalg", kid="noalg", alg=alg, sub="user_" + alg))
    assert env["CLERK_USER_ID"] == "user_" + alg


def test_no_kid_with_several_keys(eclient):
    assert_invalid(eclient.get(URL, token=T.mint(header={"kid": T.DROP})), "jwk-kid-mismatch")


def test_signed_by_right_key_under_wrong_kid(eclient):
    assert_invalid(eclient.get(URL, token=T.mint(key="gen_noalg", kid=T.INS_KID)),
                   "token-invalid-signature")
