"""`apache2 -t` (apachectl configtest): bad configuration fails with a message
naming the directive or provider; good configuration in every context passes."""
import json

import pytest

import clerk_tokens as T
from httpd_harness import MODDIR
from locations import INS_PEM


def loc(h, *lines, key=True):
    body = ["<Location /x>", "    AuthType Clerk", '    AuthName "cfg"']
    if key:
        body.append('    ClerkJWTKeyFile "%s/%s"' % (h.keys, INS_PEM))
    body += ["    " + l for l in lines]
    body.append("</Location>")
    return "\n".join(body) + "\n"


def expect_failure(h, body, *names):
    rc, out = h.configtest(body)
    assert rc != 0, "configtest passed:\n" + body
    assert "Segmentation" not in out and rc != 139 and rc > 0, "configtest crashed (rc %d):\n%s" % (rc, out)
    for n in names:
        assert n in out, "the message does not name %r:\n%s" % (n, out)
    return out


def expect_ok(h, body):
    rc, out = h.configtest(body)
    assert rc == 0, out
    assert "Syntax OK" in out


def in_every_context(h, block, location):
    """block at server level, in a <VirtualHost> and in a <Directory>, then a
    <Location /y> of AuthType Clerk holding the lines of location."""
    return block + "\n" + f"""
<VirtualHost 127.0.0.1:{h.port or 1}>
{block}
</VirtualHost>
<Directory "{h.docroot}">
{block}
</Directory>
<Location /y>
AuthType Clerk
{location}</Location>
"""


# ---------------------------------------------------------------- good configs

def test_minimal_location_ok(configtester):
    expect_ok(configtester, loc(configtester, "Require valid-user"))


def test_every_directive_everywhere_ok(configtester):
    h = configtester
    directives = [
        'ClerkJWTKeyFile "%s/%s"' % (h.keys, INS_PEM),
        'ClerkJWKSFile "%s/jwks_all.json"' % h.keys,
        "ClerkPublishableKey " + T.PK_TEST,
        "ClerkIssuer https://a.example https://b.example",
        "ClerkAuthorizedParties https://app.example.com http://localhost:3000",
        "ClerkAudience https://api.example.com",
        "ClerkClockSkew 0",
        "ClerkAcceptToken session_token m2m_token oauth_token api_key",
        "ClerkTokenSource header cookie",
        "ClerkAllowPendingSessions On",
        "ClerkSignedOutAction pass",
        "ClerkPassClaimsAs both",
        "ClerkRemoteUserClaim sid",
        "ClerkDebugHeaders On",
    ]
    block = "\n".join(directives)
    body = in_every_context(h, block, f"""{block}
ClerkIssuer off
ClerkAcceptToken any
ClerkTokenSource cookie
ClerkSignedOutAction deny
ClerkPassClaimsAs none
ClerkPassClaimsAs env
ClerkPassClaimsAs headers
Require clerk-user user_1 user_2
Require clerk-org
Require clerk-org org_1 acme
Require clerk-org-role admin org:member
Require clerk-org-permission org:teams:read teams:manage
Require clerk-feature teams o:teams u:teams org:x user:y organization:z
Require clerk-plan pro u:pro o:pro
Require clerk-machine
Require clerk-machine mch_1
Require clerk-scope read write
Require clerk-token-type session_token m2m_token oauth_token api_key
Require clerk-claim email a@example.com
Require clerk-claim meta.tier gold "platinum plus"
Require valid-user
""")
    expect_ok(h, body)


def test_token_cache_settings_ok(configtester):
    expect_ok(configtester, "ClerkTokenCache 0\n" + loc(configtester, "Require valid-user"))
    expect_ok(configtester, "ClerkTokenCache 100000\n" + loc(configtester, "Require valid-user"))


def test_lowercase_auth_type_ok(configtester):
    expect_ok(configtester, loc(configtester, "Require valid-user").replace("AuthType Clerk",
                                                                             "AuthType clerk"))


def test_jwt_key_as_base64_body_ok(configtester):
    expect_ok(configtester, loc(configtester, "ClerkJWTKey " + T.pem_body(T.PUBLIC_PEM["ins"]),
                                "Require valid-user", key=False))


# ---------------------------------------------------------------- keys

def _write_key(h, name, data):
    return h.write("keys/" + name, data)


def test_jwt_key_garbage(configtester):
    expect_failure(configtester, loc(configtester, "ClerkJWTKey not-a-key", "Require valid-user",
                                     key=False), "ClerkJWTKey")


def test_jwt_key_truncated_body(configtester):
    body = T.pem_body(T.PUBLIC_PEM["ins"])[:100]
    expect_failure(configtester, loc(configtester, "ClerkJWTKey " + body, "Require valid-user",
                                     key=False), "ClerkJWTKey")


def test_jwt_key_too_small(configtester):
    pem = T.public_pem("rsa1024").decode()
    body = "".join(l for l in pem.splitlines() if not l.startswith("-----"))
    expect_failure(configtester, loc(configtester, "ClerkJWTKey " + body, "Require valid-user",
                                     key=False), "ClerkJWTKey")


@pytest.mark.parametrize("name,data", [
    ("missing.pem", None),
    ("empty.pem", b""),
    ("garbage.pem", b"-----BEGIN PUBLIC KEY-----\nnot base64 at all\n-----END PUBLIC KEY-----\n"),
    ("small.pem", "rsa1024"),
    ("e3.pem", "rsa_e3"),
    ("ec.pem", "ec"),
    ("jwks-instead.pem", "jwks"),
], ids=lambda x: x if isinstance(x, str) and x.endswith(".pem") else "")
def test_jwt_key_file_bad(configtester, name, data):
    h = configtester
    if data is not None:
        if data == "jwks":
            data = (T.VECTORS / "jwks.json").read_bytes()
        elif isinstance(data, str):
            data = T.public_pem(data)
        _write_key(h, name, data)
    expect_failure(h, loc(h, 'ClerkJWTKeyFile "%s/%s"' % (h.keys, name), "Require valid-user",
                          key=False), "ClerkJWTKeyFile")


@pytest.mark.parametrize("name,data", [
    ("missing.json", None),
    ("empty.json", b""),
    ("notjson.json", b"<html><body>Not Found</body></html>"),
    ("keys-empty.json", b'{"keys":[]}'),
    ("keys-object.json", b'{"keys":{}}'),
    ("array.json", b"[]"),
    ("no-keys.json", b'{"kty":"RSA"}'),
    ("dup-top.json", None),
    ("only-bad.json", None),
    ("huge.json", None),
], ids=lambda x: x if isinstance(x, str) and x.endswith(".json") else "")
def test_jwks_file_bad(configtester, name, data):
    h = configtester
    if name == "dup-top.json":
        data = b'{"keys":[],"keys":' + (T.VECTORS / "jwks.json").read_bytes().split(b":", 1)[1]
    elif name == "only-bad.json":
        data = json.dumps({"keys": [T.public_jwk("rsa1024", kid="small")]}).encode()
    elif name == "huge.json":
        data = b'{"keys":[' + b" " * (11 << 20) + b"]}"
    if data is not None:
        _write_key(h, name, data)
    expect_failure(h, loc(h, 'ClerkJWKSFile "%s/%s"' % (h.keys, name), "Require valid-user",
                          key=False), "ClerkJWKSFile")


def test_jwks_with_one_skipped_key_is_fine(configtester):
    """One unusable key is skipped, not fatal (and must not crash the parser)."""
    h = configtester
    good = json.loads((T.VECTORS / "jwks.json").read_text())["keys"][0]
    _write_key(h, "mixed.json", json.dumps({"keys": [good, dict(good, kid="other", use="enc")]}))
    expect_ok(h, loc(h, 'ClerkJWKSFile "%s/mixed.json"' % h.keys, "Require valid-user", key=False))


# ---------------------------------------------------------------- publishable key

def _invalid_publishable_keys():
    data = json.loads((T.VECTORS / "publishable_keys.json").read_text())
    out = [k["key"] for k in data["keys"] if not k["valid"]]
    return [k for k in out if k and " " not in k and '"' not in k]


@pytest.mark.parametrize("pk", _invalid_publishable_keys() + ["pk_test_bad", "pk_test_", "sk_test_abc"])
def test_publishable_key_invalid(configtester, pk):
    expect_failure(configtester, loc(configtester, "ClerkPublishableKey " + pk, "Require valid-user"),
                   "ClerkPublishableKey")


# ---------------------------------------------------------------- other directives

@pytest.mark.parametrize("line,name", [
    ("ClerkClockSkew -1", "ClerkClockSkew"),
    ("ClerkClockSkew abc", "ClerkClockSkew"),
    ("ClerkClockSkew 1.5", "ClerkClockSkew"),
    ("ClerkClockSkew 5s", "ClerkClockSkew"),
    ("ClerkClockSkew 99999999999999999999999", "ClerkClockSkew"),
    ("ClerkClockSkew", "ClerkClockSkew"),
    ("ClerkAcceptToken bogus", "ClerkAcceptToken"),
    ("ClerkAcceptToken session_token bogus", "ClerkAcceptToken"),
    ("ClerkAcceptToken Session_Token", "ClerkAcceptToken"),
    ("ClerkAcceptToken", "ClerkAcceptToken"),
    ("ClerkTokenSource query", "ClerkTokenSource"),
    ("ClerkTokenSource", "ClerkTokenSource"),
    ("ClerkAllowPendingSessions maybe", "ClerkAllowPendingSessions"),
    ("ClerkSignedOutAction bogus", "ClerkSignedOutAction"),
    ("ClerkSignedOutAction", "ClerkSignedOutAction"),
    ("ClerkPassClaimsAs cookies", "ClerkPassClaimsAs"),
    ("ClerkPassClaimsAs", "ClerkPassClaimsAs"),
    ("ClerkRemoteUserClaim", "ClerkRemoteUserClaim"),
    ("ClerkRemoteUserClaim a b", "ClerkRemoteUserClaim"),
    ("ClerkDebugHeaders yes", "ClerkDebugHeaders"),
    ("ClerkIssuer", "ClerkIssuer"),
    ("ClerkAuthorizedParties", "ClerkAuthorizedParties"),
    ("ClerkAudience", "ClerkAudience"),
    ("ClerkJWKSFile", "ClerkJWKSFile"),
    ("ClerkJWTKeyFile", "ClerkJWTKeyFile"),
    ("ClerkPublishableKey", "ClerkPublishableKey"),
    ("ClerkTokenCache -1", "ClerkTokenCache"),
    ("ClerkTokenCache lots", "ClerkTokenCache"),
], ids=lambda x: x if isinstance(x, str) and " " in x else None)
def test_directive_errors(configtester, line, name):
    expect_failure(configtester, loc(configtester, line, "Require valid-user"), name)


# ---------------------------------------------------------------- Require providers

@pytest.mark.parametrize("line,name", [
    ("Require clerk-token-type bogus", "clerk-token-type"),
    ("Require clerk-token-type session_token bogus", "clerk-token-type"),
    ("Require clerk-token-type", "clerk-token-type"),
    ("Require clerk-feature x:teams", "clerk-feature"),
    ("Require clerk-feature o:", "clerk-feature"),
    ("Require clerk-feature", "clerk-feature"),
    ("Require clerk-plan x:pro", "clerk-plan"),
    ("Require clerk-plan", "clerk-plan"),
    ("Require clerk-claim", "clerk-claim"),
    ("Require clerk-claim email", "clerk-claim"),
    ("Require clerk-claim .email x", "clerk-claim"),
    ("Require clerk-claim meta..tier x", "clerk-claim"),
    ("Require clerk-claim meta. x", "clerk-claim"),
    ("Require clerk-user", "clerk-user"),
    ("Require clerk-org-role", "clerk-org-role"),
    ("Require clerk-org-role org:", "clerk-org-role"),
    ("Require clerk-org-permission", "clerk-org-permission"),
    ("Require clerk-org-permission org:", "clerk-org-permission"),
    ("Require clerk-scope", "clerk-scope"),
], ids=lambda x: x if isinstance(x, str) and x.startswith("Require") else None)
def test_provider_errors(configtester, line, name):
    expect_failure(configtester, loc(configtester, line), name)


def test_provider_errors_inside_require_all(configtester):
    expect_failure(configtester, loc(configtester, "<RequireAll>", "Require valid-user",
                                     "Require clerk-feature x:teams", "</RequireAll>"), "clerk-feature")


# ---------------------------------------------------------------- warnings

def test_oauth_without_audience_is_warned(configtester):
    """Every OAuth application of the instance can obtain OAuth tokens: a
    section accepting them without ClerkAudience lets any of them in."""
    h = configtester
    for accept in ("oauth_token", "any", "session_token oauth_token"):
        rc, out = h.configtest(loc(h, "ClerkAcceptToken " + accept, "Require valid-user"))
        assert rc == 0, out
        assert "admits oauth_token without ClerkAudience" in out, out
        assert "httpd.conf:" in out, out                    # where: file and line
    for quiet in (loc(h, "ClerkAcceptToken any", "ClerkAudience api.example.com",
                      "Require valid-user"),
                  "ClerkAudience api.example.com\n" + loc(h, "ClerkAcceptToken oauth_token",
                                                          "Require valid-user"),
                  loc(h, "ClerkAcceptToken session_token m2m_token", "Require valid-user")):
        rc, out = h.configtest(quiet)
        assert rc == 0, out
        assert "without ClerkAudience" not in out, out


def test_shared_hosting_directives_are_server_scope(configtester):
    h = configtester
    expect_failure(h, loc(h, "ClerkAllowOverrideKeySources On"), "ClerkAllowOverrideKeySources")
    expect_failure(h, loc(h, "ClerkMaxKeySources 4"), "ClerkMaxKeySources")
    expect_failure(h, "<VirtualHost 127.0.0.1:1>\nClerkMaxKeySources 4\n</VirtualHost>\n",
                   "ClerkMaxKeySources")
    for bad in ("0", "-1", "x", "100001"):
        expect_failure(h, "ClerkMaxKeySources %s\n" % bad, "ClerkMaxKeySources")
    expect_ok(h, "ClerkMaxKeySources 16\nClerkAllowOverrideKeySources On\n"
                 "<VirtualHost 127.0.0.1:1>\nClerkAllowOverrideKeySources Off\n</VirtualHost>\n")


# ---------------------------------------------------------------- the reference configuration

REFERENCE = T.REPO / "conf" / "auth_clerk.conf"


def test_shipped_reference_configuration_ok(configtester):
    """conf/auth_clerk.conf as `make install` and a2enmod put it in place."""
    expect_ok(configtester, 'Include "%s"\n' % REFERENCE)


def reference_examples():
    """[(context, example line)] of conf/auth_clerk.conf: each "#Clerk..." line
    with the "Context:" of the comment block above it."""
    examples, context = [], None
    for line in REFERENCE.read_text().splitlines():
        if "Context: " in line:
            context = line.split("Context: ", 1)[1].rstrip(".")
        elif line.startswith("#Clerk"):
            examples.append((context, line[1:]))
    return examples


def test_reference_examples_ok_in_their_context(configtester):
    """Every example line of the reference, uncommented, is accepted where the
    reference says it may go: dir ones in an AuthType Clerk section, server
    ones at server level and in a <VirtualHost>, main-server ones at server
    level.  The example files are made; the one truncated key is filled in."""
    h = configtester
    files = h.root / "clerk"
    h.write("clerk/secret-key", "sk_test_" + "x" * 40 + "\n")
    h.write("clerk/machine-secret-key", "sk_test_" + "y" * 40 + "\n")
    h.write("clerk/cache-key", "c0ffee" * 11 + "\n")
    h.write("clerk/jwt-public.pem", (h.keys / INS_PEM).read_text())
    h.write("clerk/jwks.json", (h.keys / "jwks_all.json").read_text())
    lines = {"dir": [], "server": [], "main server": []}
    for context, example in reference_examples():
        example = example.replace("/etc/apache2/clerk", str(files))
        if example.startswith("ClerkJWTKey "):
            example = "ClerkJWTKey " + T.pem_body(T.PUBLIC_PEM["ins"])
        lines[context].append(example)
    assert len(lines["dir"]) > 20 and len(lines["server"]) > 5 and lines["main server"]
    server = "\n".join(lines["server"])
    # ClerkCache's example names shmcb, whose module a server loads first
    body = 'LoadModule socache_shmcb_module "%s"\n' % (MODDIR / "mod_socache_shmcb.so")
    body += "\n".join(lines["main server"]) + "\n" + server + f"""
<VirtualHost 127.0.0.1:{h.port or 1}>
{server}
</VirtualHost>
<Location /reference>
AuthType Clerk
Require valid-user
""" + "\n".join(lines["dir"]) + "\n</Location>\n"
    expect_ok(h, body)
