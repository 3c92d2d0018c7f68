"""ClerkOrganizationSyncPattern and ClerkPersonalAccountPattern as configuration:
a bad pattern fails `apache2 -t` with the directive, the pattern and why;
good ones pass in every context and from .htaccess (AllowOverride AuthConfig),
where a bad one is the 500 of a bad .htaccess.  What the patterns decide at
request time is tests/unit/test_org_sync.c's (the decision is not wired yet:
requests are served as without them)."""
import pytest

import clerk_tokens as T
from helpers import assert_no_token, assert_ok, describe
from locations import INS_PEM
from server_fixtures import module_server_fixtures
from test_config_errors import expect_failure, expect_ok, in_every_context, loc

ORG = "ClerkOrganizationSyncPattern"
PERSONAL = "ClerkPersonalAccountPattern"


# ---------------------------------------------------------------- configtest

@pytest.mark.parametrize("line,why", [
    (ORG, "give one or more URL path patterns"),
    (PERSONAL, "give one or more URL path patterns"),
    (ORG + " /orgs/:", "missing parameter name at 6"),
    (ORG + " /orgs/:slug/(.*", "unbalanced pattern"),
    (ORG + " /orgs/:slug/()", "missing pattern"),
    (ORG + " /orgs/:id/***", "modifiers"),
    (ORG + " /orgs/:slug?", "modifier '?' after :slug"),
    (ORG + " /orgs/{:slug}", "groups"),
    (ORG + r" /orgs/:id(\d+)", "pattern of its own"),
    (ORG + " /orgs/(.*)/:slug", "must end the pattern"),
    (ORG + " /orgs/:slug-x", "followed by '-'"),
    (ORG + " orgs/:slug", "does not start with '/'"),
    (ORG + " /orgs/:any", "neither :id nor :slug"),
    (ORG + " /orgs/:slug /teams/:", "'/teams/:' missing parameter name"),
    (ORG + " off /orgs/:slug", "'off' does not start with '/'"),
    (PERSONAL + " /me/(.+)", "only (.*)"),
    (PERSONAL + " me", "does not start with '/'"),
    (PERSONAL + " /caf\u00e9", "percent-encode"),
    (PERSONAL + " /" + "a" * 600, "longer than 512"),
])
def test_bad_pattern_fails_configtest(configtester, line, why):
    expect_failure(configtester, loc(configtester, line, "Require valid-user"),
                   line.split()[0], why)


def test_error_names_directive_pattern_and_reason(configtester):
    # httpd shows a '\' of the message doubled, hence a pattern without one
    expect_failure(configtester, loc(configtester, ORG + " /ok/:id /orgs/:slug?",
                                     "Require valid-user"),
                   "%s: '/orgs/:slug?' the modifier '?' after :slug is not supported" % ORG)


def test_too_many_patterns_in_a_section(configtester):
    lines = ["%s /o%d/:id" % (ORG, i) for i in range(64)]
    expect_ok(configtester, loc(configtester, *lines, "Require valid-user"))
    expect_failure(configtester, loc(configtester, *lines, ORG + " /one/:id/more",
                                     "Require valid-user"), ORG, "more than 64 patterns")


def test_bad_pattern_outside_a_location(configtester):
    h = configtester
    expect_failure(h, PERSONAL + " /me/:\n", PERSONAL, "missing parameter name")
    expect_failure(h, '<Directory "%s">\n%s /o/:slug?\n</Directory>\n' % (h.docroot, ORG), ORG,
                   "modifier")


def test_good_patterns_everywhere(configtester):
    h = configtester
    block = "\n".join([
        ORG + " /orgs/:slug /orgs/:slug/(.*)",
        ORG + " /orgs-by-id/:id /orgs-by-id/:id/ /orgs-by-id/:id/(.*)",
        ORG + r" /app/:any/orgs/:slug /files/v.:id /a\:b/:slug /ORG-:id",
        PERSONAL + " /me /me/(.*) / /(.*) /user/:any /user/:any/(.*)",
        ORG + ' "/quoted/:slug"',
        PERSONAL + " /%7Euser/caf%C3%A9",
    ])
    body = in_every_context(h, block, f"""ClerkJWTKeyFile "{h.keys}/{INS_PEM}"
{block}
{ORG} off
{PERSONAL} OFF
Require valid-user
""")
    expect_ok(h, body)


# ---------------------------------------------------------------- a server

HTACCESS = ("AuthType Clerk\nAuthName tenant\nClerkJWTKey %s\n%%s\nRequire valid-user\n"
            % T.pem_body(T.PUBLIC_PEM["ins"]))

TENANTS = {
    "good": ORG + " /orgs/:slug /orgs/:slug/(.*)\n" + PERSONAL + " /me /me/(.*)",
    "off": ORG + " off\n" + PERSONAL + " off",
    "bad": ORG + " /orgs/:slug?",
    "bad-personal": PERSONAL + " /me/(.*",
}


def org_sync_config(h):
    doc = h.docroot
    for name, lines in TENANTS.items():
        h.write("htdocs/tenant/%s/.htaccess" % name, HTACCESS % lines)
        h.install_www("tenant/%s/hello.txt" % name, "hello.txt")
    h.install_www("site/hello.txt", "hello.txt")
    h.install_www("site/orgs/acme/hello.txt", "hello.txt")
    return f"""
{ORG} /orgs/:slug /orgs/:slug/(.*)
<Directory "{doc}/tenant">
    AllowOverride AuthConfig
</Directory>
<Location /site>
    AuthType Clerk
    AuthName site
    ClerkJWTKeyFile "{h.keys}/{INS_PEM}"
    {PERSONAL} /me /me/(.*)
    Require valid-user
</Location>
<Location /site/orgs>
    {ORG} /site/orgs/:id/(.*)
</Location>
"""


org_server, org_client = module_server_fixtures(org_sync_config, "org_server", "org_client", name="orgsync")


def test_server_with_patterns_starts_and_serves(org_client):
    for path in ("/site/hello.txt", "/site/orgs/acme/hello.txt"):
        assert_ok(org_client.get(path, token=T.mint()))
        assert_no_token(org_client.get(path), realm="site")


@pytest.mark.parametrize("name", ["good", "off"])
def test_htaccess_patterns_accepted(org_client, name):
    path = "/tenant/%s/hello.txt" % name
    assert_ok(org_client.get(path, token=T.mint()))
    assert_no_token(org_client.get(path), realm="tenant")


@pytest.mark.parametrize("name,directive,why", [
    ("bad", ORG, "modifier '?' after :slug"),
    ("bad-personal", PERSONAL, "unbalanced pattern"),
])
def test_htaccess_bad_pattern_is_a_500(org_server, org_client, name, directive, why):
    mark = org_server.log_mark()
    r = org_client.get("/tenant/%s/hello.txt" % name, token=T.mint())
    assert r.status_code == 500, describe(r)
    text = org_server.log_since(mark)
    assert directive in text and why in text and ".htaccess" in text, text[-2000:]
