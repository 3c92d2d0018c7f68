"""Require providers with machine tokens: clerk-machine, clerk-scope,
clerk-token-type, clerk-user (OAuth, user API key), clerk-org (org API key)."""
import pytest

import clerk_tokens as T
import fake_bapi as F
from helpers import assert_insufficient, assert_ok
from mtokens import m2m, oauth


def tokens(fake):
    """One of each kind, as a dict name -> token."""
    return {
        "m2m_jwt": m2m(),
        "oauth_jwt": oauth(),
        "session": T.mint(),
        "mt": fake.token("mt"),
        "oat": fake.token("oat"),
        "ak_user": fake.token("ak"),
        "ak_org": fake.token("ak", subject=F.API_KEY_ORG),
    }


# location -> the token kinds granted there (every other kind: insufficient_scope)
GRANTS = {
    "/m/p/machine": {"m2m_jwt", "mt"},
    "/m/p/machine-id": {"m2m_jwt", "mt"},
    "/m/p/machine-other": set(),
    # write (OAuth) or mch_b (M2M)
    "/m/p/scope": {"m2m_jwt", "oauth_jwt", "mt", "oat"},
    "/m/p/scope-deploy": {"ak_user", "ak_org"},
    "/m/p/tt": {"oauth_jwt", "oat", "ak_user", "ak_org"},
    "/m/p/user": {"oauth_jwt", "oat", "ak_user", "session"},
    "/m/p/org": {"ak_org"},
    "/m/p/org-id": {"ak_org"},
}


@pytest.mark.parametrize("path", sorted(GRANTS))
def test_provider_grants(mclient, fake, path):
    for kind, tok in tokens(fake).items():
        r = mclient.get(path + "/static.txt", token=tok)
        if kind in GRANTS[path]:
            assert_ok(r)
        else:
            assert_insufficient(r)


def test_machine_provider_lists_machine_ids(mclient, fake):
    other = "mch_2zzzzzzzzzzzzzzzzzzzzzzzzzz"
    for tok in (m2m(sub=other), fake.token("mt", subject=other)):
        assert_ok(mclient.get("/m/p/machine/static.txt", token=tok))
        assert_insufficient(mclient.get("/m/p/machine-id/static.txt", token=tok))
    # an M2M JWT identified by its category alone is an M2M token too
    assert_ok(mclient.get("/m/p/machine/static.txt",
                          token=T.mint_m2m(sub="svc_billing", header={"typ": "JWT"})))


def test_scope_provider_reads_each_token_form(mclient, fake):
    # M2M: "scopes" string, else aud; OAuth: "scope" string, else "scp"
    assert_ok(mclient.get("/m/p/scope/static.txt", token=m2m(scopes=T.DROP, aud=["mch_b"])))
    assert_insufficient(mclient.get("/m/p/scope/static.txt", token=m2m(scopes="mch_a")))
    assert_ok(mclient.get("/m/p/scope/static.txt", token=oauth(scope=T.DROP, scp=["write"])))
    assert_insufficient(mclient.get("/m/p/scope/static.txt", token=oauth(scope="read")))
    assert_insufficient(mclient.get("/m/p/scope/static.txt", token=fake.token("oat", scopes=["read"])))
    assert_insufficient(mclient.get("/m/p/scope/static.txt", token=fake.token("mt", scopes=[])))
    assert_ok(mclient.get("/m/p/scope-deploy/static.txt",
                          token=fake.token("ak", subject=F.API_KEY_ORG, scopes=["deploy"])))


def test_user_provider_for_api_keys(mclient, fake):
    assert_insufficient(mclient.get("/m/p/user/static.txt",
                                    token=fake.token("ak", subject="user_someoneElse")))
    assert_insufficient(mclient.get("/m/p/org-id/static.txt",
                                    token=fake.token("ak", subject="org_someOtherOrg")))
