"""Apache as the calling machine: ClerkProxyMachineToken.

One httpd (each MPM) is both ends: /front/ is a ProxyPass to the same
httpd's /back/, and /front's section has ClerkProxyMachineToken with the
fake's machine secret; /back/ is AuthType Clerk accepting M2M JWTs with the
fixture key and requiring the fake's machine.  The fake Backend API
(fake_bapi.py, POST /m2m_tokens) mints the tokens and counts the creations.

  - a proxied request reaches /back/ as the machine, the client's own
    Authorization replaced; a request the section serves itself (CGI) never
    gets the token;
  - the token is created once by the parent and inherited by every child:
    one creation for a burst under event and prefork, and none more across a
    graceful restart;
  - it never reaches the error log (LogLevel trace8 for the module and
    mod_proxy), the access log or the client;
  - without a usable token (the fake answers 401, 500, hangs, or mints a
    token for the wrong machines): 503 with Retry-After at once, and the
    token is used once Clerk answers again;
  - in .htaccess the directive is refused (500); bad arguments fail
    configtest.

Renewal timing (ahead of expiry, backoff) is tested in
tests/unit/test_machine_token.c with the test's own clock.
"""
import time

import pytest

import clerk_tokens as T
import fake_bapi as F
from helpers import Client, describe
from httpd_harness import MODDIR, free_port
from locations import REALM, cgi_directory, key_line

PROXY_MODULES = [("proxy_module", str(MODDIR / "mod_proxy.so")),
                 ("proxy_http_module", str(MODDIR / "mod_proxy_http.so"))]

TOKEN = "ClerkProxyMachineToken " + F.MACHINE_SECRET


def config(h, fake, front_token=TOKEN + " mch_a", log_level="LogLevel notice auth_clerk:debug"):
    doc = h.docroot
    h.install_www("cgi/printenv.py", "printenv.py")
    h.install_www("hta/printenv.py", "printenv.py")
    h.write("htdocs/hta/.htaccess", TOKEN + "\n")
    back = "http://127.0.0.1:%d/back/" % h.port
    return f"""
{log_level}
ClerkAPIURL {fake.url}
ClerkHTTPTimeout 1
{cgi_directory(doc)}
<Directory "{doc}/hta">
    AllowOverride AuthConfig
</Directory>
AliasMatch "^/(back|local)/env$" "{doc}/cgi/printenv.py"
<Location /front/>
    ProxyPass {back}
    {front_token}
</Location>
<Location /wrong-scope/>
    ProxyPass {back}
    {TOKEN} mch_a mch_zzz
    ClerkProxyMachineTokenTTL 1800
</Location>
<Location /front/off/>
    ProxyPass {back}
    ClerkProxyMachineToken off
</Location>
<Location /local/>
    {TOKEN}
    ClerkProxyMachineTokenTTL 3000
    CGIPassAuth On
</Location>
<Location /clerk-status>
    SetHandler clerk-status
    Require all granted
</Location>
<Location /back/>
    AuthType Clerk
    AuthName "{REALM}"
    {key_line(h, "pem")}
    ClerkAcceptToken m2m_token
    Require clerk-machine {T.MACHINE}
</Location>
"""


@pytest.fixture
def both_ends(httpd_factory, fake):
    """both_ends(**kw) -> (Httpd, Client): one httpd proxying /front/ to its own /back/."""
    def make(**kw):
        h = httpd_factory("m2m-proxy")
        h.port = free_port()
        h.write_config(config(h, fake, **kw), extra_modules=PROXY_MODULES)
        h.start()
        return h, Client(h)
    return make


def creations(fake, seconds=3600):
    """Creation calls for tokens of this lifetime (each section above asks its own)."""
    return len([r for r in fake.requests(F.FakeBAPI.M2M_CREATE)
                if isinstance(r.json, dict) and r.json.get("seconds_until_expiration") == seconds])


def counted(c, outcome):
    """The m2m_token_create calls of clerk-status with this outcome (all processes)."""
    r = c.get("/clerk-status")
    assert r.status_code == 200, describe(r)
    return r.json()["backend_api"]["calls"]["m2m_token_create"][outcome]


def minted(fake):
    return [t for t, _ in fake.m2m_tokens()]


def test_proxied_request_is_the_machine(both_ends, fake):
    h, c = both_ends()
    env = c.env("/front/env")
    assert env["REMOTE_USER"] == T.MACHINE
    assert env["CLERK_TOKEN_TYPE"] == "m2m_token"
    assert env["CLERK_MACHINE_ID"] == T.MACHINE
    req = [r for r in fake.requests(F.FakeBAPI.M2M_CREATE)
           if r.json.get("seconds_until_expiration") == 3600][-1]
    assert req.headers["authorization"] == "Bearer " + F.MACHINE_SECRET
    assert req.headers["clerk-api-version"]
    assert req.json == {"seconds_until_expiration": 3600, "claims": None, "token_format": "jwt"}


def test_client_authorization_replaced(both_ends, fake):
    h, c = both_ends()
    own = T.mint_m2m(sub="mch_clientOwnMachine000000000")
    # directly, the client's own token is not the machine /back/ requires
    assert c.get("/back/env", token=own).status_code in (401, 403)
    env = c.env("/front/env", token=own)
    assert env["REMOTE_USER"] == T.MACHINE
    env = c.env("/front/env", auth="Basic dXNlcjpwYXNz")
    assert env["REMOTE_USER"] == T.MACHINE


def test_not_for_requests_served_locally(both_ends, fake):
    h, c = both_ends()
    env = c.env("/local/env")
    assert "HTTP_AUTHORIZATION" not in env
    env = c.env("/local/env", auth="Bearer client-own")
    assert env["HTTP_AUTHORIZATION"] == "Bearer client-own"      # untouched
    # "off" in a child section: the client's request goes on as it came
    own = T.mint_m2m(sub="mch_clientOwnMachine000000000")
    assert c.get("/front/off/env", token=own).status_code in (401, 403)


@pytest.mark.parametrize("burst", [40])
def test_one_creation_for_a_burst(both_ends, fake, burst):
    before = creations(fake)
    h, c = both_ends()
    assert creations(fake) - before == 1, "the parent creates the first token"
    for _ in range(burst):
        r = c.get("/front/env")
        assert r.status_code == 200, describe(r)
        c.s.close()                 # new connections: prefork spreads them over its children
    assert creations(fake) - before == 1, "children inherit it"
    h.graceful()
    for _ in range(10):
        assert c.get("/front/env").status_code == 200
    assert creations(fake) - before == 1, "a graceful restart keeps it"
    assert counted(c, "answered") >= 1


def test_token_never_logged_nor_sent_back(both_ends, fake):
    h, c = both_ends(log_level="LogLevel debug auth_clerk:trace8 proxy:trace8 "
                               "proxy_http:trace8")
    r = c.get("/front/env")
    assert r.status_code == 200, describe(r)
    r503 = c.get("/wrong-scope/env")
    tokens = minted(fake)
    assert tokens
    access = (h.root / "logs" / "access.log").read_text()
    for tok in tokens:
        sig = tok.rsplit(".", 1)[1]
        for where, text in (("error log", h.error_log()), ("access log", access),
                            ("response", r.text + str(r.headers)),
                            ("503 response", r503.text + str(r503.headers))):
            assert sig not in text, "the token is in the " + where
    assert F.MACHINE_SECRET not in h.error_log() + access + r.text


@pytest.mark.parametrize("mode", ["401", "500", "hang"])
def test_unavailable_is_503_at_once(both_ends, fake, mode):
    fake.set_m2m_mode(mode)
    h, c = both_ends()
    # the children serve (the parent's attempts at start-up took ClerkHTTPTimeout each)
    assert c.get("/back/env").status_code == 401
    t0 = time.time()
    r = c.get("/front/env")
    assert time.time() - t0 < 1.0, "no network wait on the request"
    assert r.status_code == 503, describe(r)
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert "CLERK151" in h.error_log()
    if mode == "401":
        assert "machine secret was refused" in h.error_log()
        assert counted(c, "refused_secret") >= 1
    else:
        assert counted(c, "unavailable") >= 1
    # Clerk answers again: a child's refresher retries with backoff and the token is used
    fake.set_m2m_mode("valid")
    deadline = time.time() + 15
    while time.time() < deadline:
        r = c.get("/front/env")
        if r.status_code == 200:
            break
        time.sleep(0.5)
    assert r.status_code == 200, describe(r)


def test_scope_mismatch_not_used(both_ends, fake):
    h, c = both_ends()
    r = c.get("/wrong-scope/env")
    assert r.status_code == 503, describe(r)
    assert "Retry-After" in r.headers
    assert "do not include mch_zzz" in h.error_log()
    assert "not used" in h.error_log()
    # and a token minted for other machines only is not sent even where none is required
    fake.set_m2m_mode("wrong-scopes")
    h2, c2 = both_ends()
    assert c2.get("/front/env").status_code == 503


def test_htaccess_refused(both_ends, fake):
    h, c = both_ends()
    r = c.get("/hta/printenv.py")
    assert r.status_code == 500
    assert "ClerkProxyMachineToken is not allowed in .htaccess files" in h.error_log()


@pytest.mark.parametrize("line,message", [
    (TOKEN + " mch_a-b", "'mch_a-b' is not a machine id"),
    (TOKEN + " user_abc", "'user_abc' is not a machine id"),
    ('ClerkProxyMachineToken ""', "give the machine secret"),    # httpd drops an empty word
    ("ClerkProxyMachineToken file:@ROOT@/keys/empty-secret", "the secret key is empty"),
    ("ClerkProxyMachineToken env:CLERK_IT_UNSET_VARIABLE", "is not set"),
    ("ClerkProxyMachineToken mch_a", "not a machine secret"),
    ("ClerkProxyMachineToken", "give the machine secret"),
    (TOKEN + "\nClerkProxyMachineTokenTTL 59", "from 60 to 86400"),
    (TOKEN + "\nClerkProxyMachineTokenTTL 86401", "from 60 to 86400"),
    (TOKEN + "\nClerkProxyMachineTokenTTL soon", "is not a number"),
    ("ClerkProxyMachineTokenTTL 600", "needs ClerkProxyMachineToken in the same section"),
])
def test_configtest_refuses(configtester, line, message):
    configtester.write("keys/empty-secret", "\n")
    body = "<Location /front/>\n%s\n</Location>\n" % line.replace("@ROOT@", str(configtester.root))
    rc, out = configtester.configtest(body, extra_modules=PROXY_MODULES)
    assert rc != 0, out
    assert message in out, out
    assert F.MACHINE_SECRET not in out


def test_configtest_accepts(configtester):
    body = "<Location /front/>\n%s mch_a mch_B2\nClerkProxyMachineTokenTTL 60\n</Location>\n" \
           "<Proxy http://127.0.0.1:9/>\n%s\nClerkProxyMachineTokenTTL 86400\n</Proxy>\n" % (
               TOKEN, TOKEN)
    rc, out = configtester.configtest(body, extra_modules=PROXY_MODULES)
    assert rc == 0, out
