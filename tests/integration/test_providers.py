"""Require providers (README: "Require providers"): each granting and denying, combined with
RequireAll/RequireAny/RequireNone, `Require not`, AuthMerging and
AuthzSendForbiddenOnFailure; plus the has() conformance vectors."""
import pytest

import clerk_tokens as T
import locations
from helpers import (assert_forbidden, assert_insufficient, assert_invalid, assert_no_token,
                     assert_ok)


def ok(client, url, tok):
    r = client.get(url, token=tok)
    assert_ok(r)
    return r


def denied(client, url, tok):
    assert_insufficient(client.get(url, token=tok))


# ---------------------------------------------------------------- valid-user

def test_valid_user(client):
    ok(client, "/t/basic/static.txt", T.mint())
    assert_no_token(client.get("/t/basic/static.txt"))


def test_authz_user_provider_sees_module_user(client):
    ok(client, "/t/p/authz-user/static.txt", T.mint(sub="user_alice"))
    denied(client, "/t/p/authz-user/static.txt", T.mint(sub="user_carol"))


# ---------------------------------------------------------------- clerk-user

def test_clerk_user(client):
    ok(client, "/t/p/user/static.txt", T.mint(sub="user_alice"))
    ok(client, "/t/p/user/static.txt", T.mint(sub="user_bob"))
    denied(client, "/t/p/user/static.txt", T.mint(sub="user_carol"))
    denied(client, "/t/p/user/static.txt", T.mint(sub="user_alicex"))
    denied(client, "/t/p/user/static.txt", T.mint(sub="USER_ALICE"))
    assert_no_token(client.get("/t/p/user/static.txt"))


def test_clerk_user_is_not_the_remote_user_claim_of_a_machine(client):
    # /t/p/user does not accept machine tokens at all
    assert_invalid(client.get("/t/p/user/static.txt", token=T.mint_m2m(sub="mch_alice")),
                   "token-type-mismatch")


# ---------------------------------------------------------------- clerk-org

def test_clerk_org_bare(client):
    ok(client, "/t/p/org/static.txt", T.mint(T.v1_org_claims()))
    ok(client, "/t/p/org/static.txt", T.mint_v2())
    denied(client, "/t/p/org/static.txt", T.mint())
    # v2 without o: no active organization
    denied(client, "/t/p/org/static.txt", T.mint_v2(o=T.DROP))


def test_clerk_org_listed(client):
    ok(client, "/t/p/org-list/static.txt", T.mint(T.v1_org_claims(org_id="org_1", org_slug="x")))
    ok(client, "/t/p/org-list/static.txt", T.mint(T.v1_org_claims(org_id="org_9", org_slug="acme")))
    ok(client, "/t/p/org-list/static.txt", T.mint_v2())
    denied(client, "/t/p/org-list/static.txt", T.mint(T.v1_org_claims(org_id="org_9", org_slug="other")))
    denied(client, "/t/p/org-list/static.txt", T.mint())


# ---------------------------------------------------------------- clerk-org-role

@pytest.mark.parametrize("url", ["/t/p/role", "/t/p/role-prefixed"])
def test_clerk_org_role(client, url):
    url += "/static.txt"
    ok(client, url, T.mint(T.v1_org_claims(org_role="org:admin")))
    ok(client, url, T.mint_v2())                                   # o.rol admin -> org:admin
    denied(client, url, T.mint(T.v1_org_claims(org_role="org:member")))
    denied(client, url, T.mint_v2(o={"id": "org_1", "rol": "member"}))
    denied(client, url, T.mint())                                  # no org at all


@pytest.mark.parametrize("role", [
    "org:Admin", "org:ADMIN", "org:admin ", " org:admin", "org:\u0430dmin", "org:admins",
    "org:admin,org:member", "org:adm",
], ids=["case", "upper", "trailing-space", "leading-space", "cyrillic-a", "plural", "comma",
        "prefix"])
def test_clerk_org_role_lookalikes_denied(client, role):
    denied(client, "/t/p/role/static.txt", T.mint(T.v1_org_claims(org_role=role)))


def test_clerk_org_role_needs_active_org(client):
    # a role claim without an org id is not an active organization
    denied(client, "/t/p/role/static.txt", T.mint(org_role="org:admin"))
    denied(client, "/t/p/role/static.txt", T.mint_v2(o={"rol": "admin"}, fea=T.DROP))


def test_clerk_org_role_several_values(client):
    ok(client, "/t/p/roles/static.txt", T.mint(T.v1_org_claims(org_role="org:billing_manager")))
    ok(client, "/t/p/roles/static.txt", T.mint(T.v1_org_claims(org_role="org:admin")))
    denied(client, "/t/p/roles/static.txt", T.mint(T.v1_org_claims(org_role="org:member")))


# ---------------------------------------------------------------- clerk-org-permission

@pytest.mark.parametrize("url", ["/t/p/perm", "/t/p/perm-bare"])
def test_clerk_org_permission(client, url):
    url += "/static.txt"
    ok(client, url, T.mint(T.v1_org_claims(org_permissions=["org:teams:read"])))
    ok(client, url, T.mint_v2(fea="o:teams", o={"id": "org_1", "rol": "admin", "per": "read", "fpm": "1"}))
    denied(client, url, T.mint(T.v1_org_claims(org_permissions=["org:teams:manage"])))
    denied(client, url, T.mint_v2(fea="o:teams", o={"id": "org_1", "rol": "admin", "per": "read,manage",
                                                     "fpm": "2"}))
    denied(client, url, T.mint())
    # permissions without an active organization do not count
    denied(client, url, T.mint(org_permissions=["org:teams:read"]))


@pytest.mark.parametrize("perms", [
    ["org:Teams:Read"], ["org:teams:read "], ["org:teams:readx"], ["org:teams"],
    ["org:teams:read,org:x"], ["org:te\u0430ms:read"], [],
], ids=["case", "trailing-space", "longer", "prefix", "comma-inside", "lookalike", "empty"])
def test_clerk_org_permission_lookalikes_denied(client, perms):
    denied(client, "/t/p/perm/static.txt", T.mint(T.v1_org_claims(org_permissions=perms)))


def test_permission_prefix_of_another(client):
    """org:a is not granted by org:ab."""
    denied(client, "/t/p/perm-a/static.txt", T.mint(T.v1_org_claims(org_permissions=["org:ab"])))
    ok(client, "/t/p/perm-a/static.txt", T.mint(T.v1_org_claims(org_permissions=["org:ab", "org:a"])))


def test_permission_with_comma_is_not_split(client):
    """A single permission "org:x,org:admin:all" must not grant org:admin:all."""
    denied(client, "/t/p/perm-adminall/static.txt",
           T.mint(T.v1_org_claims(org_permissions=["org:x,org:admin:all"])))
    # nor a v2 permission name containing ':'/','
    denied(client, "/t/p/perm-adminall/static.txt",
           T.mint_v2(fea="o:admin", o={"id": "org_1", "rol": "admin", "per": "x", "fpm": "1"}))


def test_malformed_fpm_fails_closed(client):
    for fpm in ("1.5", "-1", "1invalid", "0x3", "", "abc"):
        denied(client, "/t/p/perm/static.txt",
               T.mint_v2(fea="o:teams", o={"id": "org_1", "rol": "admin", "per": "read", "fpm": fpm}))


# ---------------------------------------------------------------- clerk-feature / plan

def test_clerk_feature(client):
    org_tok = T.mint_v2(fea="o:teams")
    user_tok = T.mint_v2(fea="u:teams", o=T.DROP)
    both_tok = T.mint_v2(fea="ou:teams")
    none_tok = T.mint_v2(fea="o:billing")
    for url, expect in [
        ("/t/p/feature", (True, True, True, False)),
        ("/t/p/feature-o", (True, False, True, False)),
        ("/t/p/feature-org", (True, False, True, False)),
        ("/t/p/feature-u", (False, True, True, False)),
        ("/t/p/feature-user", (False, True, True, False)),
    ]:
        for tok, want in zip((org_tok, user_tok, both_tok, none_tok), expect):
            (ok if want else denied)(client, url + "/static.txt", tok)


def test_clerk_feature_several_values(client):
    ok(client, "/t/p/feature-multi/static.txt", T.mint_v2(fea="u:billing"))
    ok(client, "/t/p/feature-multi/static.txt", T.mint_v2(fea="o:teams"))
    denied(client, "/t/p/feature-multi/static.txt", T.mint_v2(fea="u:teams"))


def test_clerk_feature_v1_token_has_none(client):
    denied(client, "/t/p/feature/static.txt", T.mint(T.v1_org_claims()))


def test_clerk_feature_name_must_match_exactly(client):
    for fea in ("o:teamsx", "o:team", "o:Teams", "x:teams"):
        denied(client, "/t/p/feature/static.txt", T.mint_v2(fea=fea))


def test_clerk_plan(client):
    u_pro = T.mint_v2(pla="u:pro")
    o_pro = T.mint_v2(pla="o:pro")
    free = T.mint_v2(pla="u:free")
    for url, expect in [
        ("/t/p/plan", (True, True, False)),
        ("/t/p/plan-u", (True, False, False)),
        ("/t/p/plan-o", (False, True, False)),
    ]:
        for tok, want in zip((u_pro, o_pro, free), expect):
            (ok if want else denied)(client, url + "/static.txt", tok)


# ---------------------------------------------------------------- machines, scopes, types

def test_clerk_machine(client):
    ok(client, "/t/p/machine/static.txt", T.mint_m2m())
    denied(client, "/t/p/machine/static.txt", T.mint())
    denied(client, "/t/p/machine/static.txt", T.mint_oauth())
    ok(client, "/t/p/machine-id/static.txt", T.mint_m2m())
    denied(client, "/t/p/machine-id/static.txt", T.mint_m2m(sub="mch_somebody_else"))


def test_clerk_scope(client):
    ok(client, "/t/p/scope/static.txt", T.mint_oauth())                       # write:bar
    ok(client, "/t/p/scope/static.txt", T.mint_m2m())                         # mch_2xxxxx
    denied(client, "/t/p/scope/static.txt", T.mint_oauth(scope="read:foo"))
    denied(client, "/t/p/scope/static.txt", T.mint_m2m(scopes="mch_1xxxxx", aud=["mch_1xxxxx"]))
    denied(client, "/t/p/scope/static.txt", T.mint_oauth(scope="write:barx read:foo"))
    # a session token has no scopes, even with a "scope" claim
    denied(client, "/t/p/scope/static.txt", T.mint(scope="write:bar", scopes="write:bar"))


def test_clerk_token_type(client):
    ok(client, "/t/p/tt-session/static.txt", T.mint())
    denied(client, "/t/p/tt-session/static.txt", T.mint_m2m())
    denied(client, "/t/p/tt-session/static.txt", T.mint_oauth())
    ok(client, "/t/p/tt-machine/static.txt", T.mint_m2m())
    ok(client, "/t/p/tt-machine/static.txt", T.mint_oauth())
    denied(client, "/t/p/tt-machine/static.txt", T.mint())


# ---------------------------------------------------------------- clerk-claim

def test_clerk_claim_string(client):
    ok(client, "/t/p/claim/static.txt", T.mint(email="alice@example.com"))
    denied(client, "/t/p/claim/static.txt", T.mint(email="mallory@example.com"))
    denied(client, "/t/p/claim/static.txt", T.mint(email="Alice@example.com"))
    denied(client, "/t/p/claim/static.txt", T.mint())
    denied(client, "/t/p/claim/static.txt", T.mint(email=1))


def test_clerk_claim_dotted_path(client):
    ok(client, "/t/p/claim-path/static.txt", T.mint(meta={"tier": "gold"}))
    ok(client, "/t/p/claim-path/static.txt", T.mint(meta={"tier": "platinum"}))
    denied(client, "/t/p/claim-path/static.txt", T.mint(meta={"tier": "silver"}))
    denied(client, "/t/p/claim-path/static.txt", T.mint(**{"meta.tier": "gold"}))
    denied(client, "/t/p/claim-path/static.txt", T.mint(meta="gold"))
    denied(client, "/t/p/claim-path/static.txt", T.mint(meta={"tier": {"name": "gold"}}))


def test_clerk_claim_array(client):
    ok(client, "/t/p/claim-array/static.txt", T.mint(groups=["viewers", "editors"]))
    ok(client, "/t/p/claim-array/static.txt", T.mint(groups="editors"))
    denied(client, "/t/p/claim-array/static.txt", T.mint(groups=["viewers"]))
    denied(client, "/t/p/claim-array/static.txt", T.mint(groups=[["editors"]]))
    denied(client, "/t/p/claim-array/static.txt", T.mint(groups="viewers,editors"))


def test_clerk_claim_scalars(client):
    ok(client, "/t/p/claim-int/static.txt", T.mint(level=42))
    ok(client, "/t/p/claim-int/static.txt", T.mint(level="42"))
    denied(client, "/t/p/claim-int/static.txt", T.mint(level=420))
    ok(client, "/t/p/claim-bool/static.txt", T.mint(verified=True))
    denied(client, "/t/p/claim-bool/static.txt", T.mint(verified=False))
    denied(client, "/t/p/claim-bool/static.txt", T.mint(verified=None))


def test_clerk_claim_quoted_value(client):
    ok(client, "/t/p/claim-quoted/static.txt", T.mint(name="Alice Smith"))
    denied(client, "/t/p/claim-quoted/static.txt", T.mint(name="Alice"))


# ---------------------------------------------------------------- combinations

def test_several_require_lines_are_any(client):
    ok(client, "/t/p/implicit-any/static.txt", T.mint(sub="user_vip"))
    ok(client, "/t/p/implicit-any/static.txt", T.mint_v2())
    denied(client, "/t/p/implicit-any/static.txt", T.mint())


def test_require_all(client):
    ok(client, "/t/p/all/static.txt", T.mint_v2(fea="o:teams"))
    denied(client, "/t/p/all/static.txt", T.mint_v2(fea="o:billing"))           # role only
    denied(client, "/t/p/all/static.txt", T.mint_v2(fea="o:teams", o={"id": "org_1", "rol": "member"}))


def test_require_any(client):
    ok(client, "/t/p/any/static.txt", T.mint(sub="user_vip"))
    ok(client, "/t/p/any/static.txt", T.mint(T.v1_org_claims(org_permissions=["org:teams:manage"])))
    denied(client, "/t/p/any/static.txt", T.mint(T.v1_org_claims(org_permissions=["org:teams:read"])))


def test_require_any_failing_branch_leaves_nothing_behind(client):
    """Providers are predicates: a denying branch leaves no error header behind."""
    r = client.get("/t/p/any-debug/env", token=T.mint())
    assert_ok(r)
    assert r.headers.get("X-Clerk-Auth-Status") == "signed-in"
    assert "X-Clerk-Auth-Reason" not in r.headers
    env = r.json()
    assert env["CLERK_USER_ID"] == T.USER
    assert not [k for k in env if "ERROR" in k.upper() and "CLERK" in k.upper()]


def test_require_not(client):
    ok(client, "/t/p/not/static.txt", T.mint_v2())
    ok(client, "/t/p/not/static.txt", T.mint())
    denied(client, "/t/p/not/static.txt", T.mint(T.v1_org_claims(org_role="org:guest")))
    assert_no_token(client.get("/t/p/not/static.txt"))


def test_require_none(client):
    ok(client, "/t/p/none/static.txt", T.mint())
    denied(client, "/t/p/none/static.txt", T.mint(sub="user_banned"))
    denied(client, "/t/p/none/static.txt", T.mint(banned=True))
    ok(client, "/t/p/none/static.txt", T.mint(banned=False))


def test_nested(client):
    ok(client, "/t/p/nested/static.txt", T.mint_v2())                          # acme admin
    ok(client, "/t/p/nested/static.txt", T.mint(sub="user_root"))
    denied(client, "/t/p/nested/static.txt", T.mint_v2(o={"id": "org_2", "slg": "other", "rol": "admin"}))
    denied(client, "/t/p/nested/static.txt", T.mint_v2(o={"id": "org_1", "slg": "acme", "rol": "member"}))


def test_auth_merging_and(client):
    ok(client, "/t/p/merge/static.txt", T.mint())
    ok(client, "/t/p/merge/and/static.txt", T.mint_v2())
    denied(client, "/t/p/merge/and/static.txt", T.mint())
    assert_no_token(client.get("/t/p/merge/and/static.txt"))


def test_authz_send_forbidden_on_failure(client):
    assert_forbidden(client.get("/t/p/forbidden/static.txt", token=T.mint()))
    ok(client, "/t/p/forbidden/static.txt", T.mint_v2())
    # authentication failures stay 401
    assert_no_token(client.get("/t/p/forbidden/static.txt"))
    assert_invalid(client.get("/t/p/forbidden/static.txt", token=T.mint(exp=T.now() - 600)),
                   "token-expired")
    assert_no_token(client.get("/t/p/forbidden-user/static.txt"))


# ---------------------------------------------------------------- has() vectors

def _has_cases():
    cases = []
    for v in locations.v2_vectors()["vectors"]:
        if v["expected"].get("throws"):
            continue
        for h in v.get("has_checks", []):
            (kind, value), = h["has"].items()
            cases.append(pytest.param(v["claims"], kind, value, h["expected"],
                                      id="%s|%s=%s" % (v["name"][:50], kind, value)))
    return cases


_HAS = _has_cases()


def test_has_vectors(client):
    """Every has() check of v2_claims_vectors.json through the matching provider
    (clerk-feature/-plan/-org-role/-org-permission): granted exactly when the
    SDK's has() is true.  One test per MPM (553 requests) to keep output short."""
    failures = []
    tokens = {}
    for p in _HAS:
        claims, kind, value, want = p.values
        key = repr(sorted(claims.items()))
        if key not in tokens:
            c = T.session_claims()
            c.update(claims)
            tokens[key] = T.mint(c)
        r = client.get(locations.has_url(kind, value), token=tokens[key])
        got = r.status_code == 200
        if got != want or r.status_code not in (200, 401):
            failures.append("%s: Require %s %s -> %d (SDK has() = %s)" % (
                p.id, locations.HAS_KIND_TO_PROVIDER[kind], value, r.status_code, want))
    assert not failures, "%d of %d has() checks differ:\n%s" % (
        len(failures), len(_HAS), "\n".join(failures))
