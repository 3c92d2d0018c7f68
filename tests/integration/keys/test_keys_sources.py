"""Keys from the network: faulty sources (key source faults), the
Backend API source (ClerkSecretKey), secrets, and configtest errors.

Each fault gets its own ClerkJWKSURL path on one FakeClerk, so one httpd per
MPM covers them all at once (each URL is its own per-process cache).
"""
import time

import pytest

import clerk_tokens as T
from fake_clerk import DEFAULT_SECRET, FakeClerk, jwks_of
from keyenv import assert_200, assert_503

API_VERSION = "2026-05-12"

# mode -> what the error log says when a fetch in that mode fails
REFUSED = {
    "500": "HTTP status 500",
    "status:404": "HTTP status 404",
    "close": "fetch failed",
    "drip": "fetch failed: Timeout was reached",
    "hang": "fetch failed: Timeout was reached",
    "redirect-other": "redirect to another host, port or scheme refused",
    "redirect-loop": "too many redirects",
    "empty-keys": "unusable, keeping the previous keys",
    "keys-object": "unusable, keeping the previous keys",
    "html": "unusable, keeping the previous keys",
    "invalid-only": "unusable, keeping the previous keys",
    "huge": "response larger than 1048576 bytes",
    "gzip-bomb": "response larger than 1048576 bytes",
}
ACCEPTED = ["ok", "gzip", "redirect-same", "mixed"]


def loc(mode):
    return "m-" + mode.replace(":", "")


def path_of(mode):
    return "/src/%s.json" % loc(mode)


def log_lines_for(text, url):
    return [l for l in text.splitlines() if url in l]


# ---------------------------------------------------------------- faults at start

def test_sources_at_start(keyserver, fake, mpm):
    """A fault at start-up leaves the location without keys (503 + Retry-After,
    reason in the log); gzip, a same-host redirect and a set with some bad keys
    load."""
    fake.set_jwks(jwks_of("a"))
    refused = [m for m in REFUSED if m != "hang"]    # at start "hang" is "drip": a timeout
    for mode in refused + ACCEPTED:
        fake.set_mode(mode, path=path_of(mode))
    ks = keyserver().configure(
        {loc(m): ["ClerkJWKSURL " + fake.url(path_of(m))] for m in refused + ACCEPTED},
        server_conf="ClerkHTTPTimeout 1\nClerkJWKSRefreshMin 30\n").start()
    # the parent's one fetch, checked before any child could retry
    # (the redirect loop: the first request and 3 redirects)
    for mode in refused + ACCEPTED:
        expected = 4 if mode == "redirect-loop" else 1
        assert fake.count(path_of(mode)) == expected, (mode, fake.requests(path_of(mode)))
    assert fake.count("/_r" + path_of("redirect-same")) == 1
    # the other host (localhost) was never contacted
    assert fake.count("/_r" + path_of("redirect-other")) == 0
    log = ks.log()
    tok = T.mint(key="a")
    jobs = [(loc(m), tok) for m in refused + ACCEPTED]
    for (name, _), r in zip(jobs, ks.many(jobs)):
        mode = name[2:]
        if mode in [loc(m)[2:] for m in ACCEPTED]:
            assert_200(r)
        else:
            assert_503(r)
    for mode in refused:
        reason = REFUSED[mode]
        lines = log_lines_for(log, fake.url(path_of(mode)))
        assert any(reason in l for l in lines), (mode, reason, lines)
        assert not any("loaded" in l for l in lines), (mode, lines)
    # gzip was asked for and decoded
    assert "gzip" in fake.requests(path_of("gzip"))[0].headers.get("accept-encoding", "")
    mixed = log_lines_for(log, fake.url(path_of("mixed")))
    assert any("loaded 1 key(s)" in l for l in mixed), mixed
    assert sum("loaded" not in l for l in mixed) >= 5, mixed     # each skipped key noted


# ---------------------------------------------------------------- faults later

def test_faulty_refresh_never_replaces_good_keys(keyserver, fake, mpm):
    """Warm start with good keys, then every fault: after several failed
    refreshes (TTL 1 s passed) the token signed by the old key still verifies
    and the reason is logged; an accepted form (gzip, same-host redirect) of
    a new set replaces the keys."""
    modes = list(REFUSED) + ["gzip", "redirect-same"]
    fake.set_jwks(jwks_of("a"))
    ks = keyserver().configure(
        {loc(m): ["ClerkJWKSURL " + fake.url(path_of(m))] for m in modes},
        server_conf="ClerkJWKSCacheTTL 1\nClerkJWKSRefreshMin 1\nClerkHTTPTimeout 1\n").start()
    tok_a, tok_b = T.mint(key="a"), T.mint(key="b")
    jobs = [(loc(m), tok_a) for m in modes]
    for r in ks.many(jobs):             # also starts each location's refresher
        assert_200(r)
    mark = ks.h.log_mark()
    before = {m: fake.count(path_of(m)) for m in modes}
    for m in REFUSED:
        fake.set_mode(m, path=path_of(m))
    for m in ("gzip", "redirect-same"):
        fake.set_mode(m, path=path_of(m))
        fake.set_jwks(jwks_of("b"), path=path_of(m))
        fake.set_jwks(jwks_of("b"), path="/_r" + path_of(m))
    # wait for at least two faulty fetches of each source (TTL 1, retries every 1 s)
    deadline = time.time() + 8
    while time.time() < deadline and any(fake.count(path_of(m)) < before[m] + 2 for m in REFUSED):
        time.sleep(0.1)
    assert all(fake.count(path_of(m)) >= before[m] + 2 for m in REFUSED), \
        {m: (before[m], fake.count(path_of(m))) for m in REFUSED}
    for m in REFUSED:
        for r in ks.many([(loc(m), tok_a)] * 4):
            assert_200(r)
    # the accepted forms of a new set replace the keys: b verifies everywhere
    # (a process that served no request yet learns it on its first unknown kid)
    for m in ("gzip", "redirect-same"):
        deadline = time.time() + 4
        while True:
            statuses = [r.status_code for r in ks.many([(loc(m), tok_b)] * 8)]
            if all(s == 200 for s in statuses) or time.time() > deadline:
                break
            time.sleep(0.1)
        assert all(s == 200 for s in statuses), (m, statuses)
    log = ks.h.log_since(mark)
    for mode, reason in REFUSED.items():
        lines = log_lines_for(log, fake.url(path_of(mode)))
        assert any(reason in l for l in lines), (mode, reason, lines)
    for m in ("gzip", "redirect-same"):
        lines = log_lines_for(log, fake.url(path_of(m)))
        assert any("loaded 1 key(s)" in l for l in lines), (m, lines)


# ---------------------------------------------------------------- Backend API

def test_backend_api_source_and_secret_hygiene(keyserver, fake, mpm):
    """ClerkSecretKey: keys from <ClerkAPIURL>/v1/jwks with the Bearer secret and
    Clerk-API-Version; the sk_, env: and file: forms; a wrong secret -> 503;
    source order; the secret never reaches a log (trace8) or CGI."""
    fake.set_jwks(jwks_of("ins", "a"))
    ks = keyserver(env={"CLERK_IT_SECRET": DEFAULT_SECRET})
    sk_file = ks.h.write("keys/sk.txt", DEFAULT_SECRET + "\n")
    wrong = "sk_test_wrongWRONGwrong"
    order = "sk_test_orderORDERorder"
    ks.configure({
        "bapi": ["ClerkSecretKey " + DEFAULT_SECRET],
        "bapi-env": ["ClerkSecretKey env:CLERK_IT_SECRET"],
        "bapi-file": ["ClerkSecretKey file:%s" % sk_file],
        "bapi-wrong": ["ClerkSecretKey " + wrong],
        # ClerkJWKSURL beats ClerkSecretKey; ClerkSecretKey beats the publishable key
        "order-url": ["ClerkJWKSURL " + fake.url("/order.json"), "ClerkSecretKey " + order],
        "order-pk": ["ClerkPublishableKey " + T.PK_TEST, "ClerkSecretKey " + DEFAULT_SECRET],
    }, server_conf="ClerkAPIURL %s/\n" % fake.base_url, loglevel="trace8").start()

    reqs = fake.requests("/v1/jwks")
    auths = sorted(r.authorization for r in reqs)
    # one fetch per distinct secret at start: sk_, env: and file: are the same source
    assert auths == sorted(["Bearer " + DEFAULT_SECRET, "Bearer " + wrong]), auths
    assert all(r.api_version == API_VERSION for r in reqs), [r.headers for r in reqs]
    assert fake.count("/order.json") == 1

    tok = T.mint(key="ins")
    for name in ("bapi", "bapi-env", "bapi-file", "order-pk"):
        assert_200(ks.get(name, tok))
    assert_200(ks.get("order-url", tok))
    assert_503(ks.get("bapi-wrong", tok))

    envs = {}
    for name in ("bapi", "bapi-env", "bapi-file"):
        r = ks.get(name, tok, what="env")
        assert_200(r)
        envs[name] = r.json()
        assert envs[name]["REMOTE_USER"] == T.USER
    time.sleep(0.2)
    assert fake.count("/v1/jwks") == 2
    assert not [r for r in fake.requests("/v1/jwks") if r.authorization == "Bearer " + order]
    logs = ks.all_logs()
    assert logs.count(":trace") > 20       # trace logging was really on
    assert ".well-known/jwks.json" not in logs      # the FAPI source was not in force
    for secret in (DEFAULT_SECRET, wrong, order):
        assert secret not in logs
        for env in envs.values():
            assert not [k for k, v in env.items() if secret in v or secret in k]
    for env in envs.values():
        assert "CLERK_IT_SECRET" not in env
        assert not [k for k, v in env.items() if "sk_test" in v]


def test_backend_api_redirect_to_other_port_never_gets_the_secret(keyserver, fake, mpm):
    """A redirect from the Backend API to another port of the same host is
    another origin: refused, so the secret is never sent there."""
    other = FakeClerk().start()
    try:
        fake.set_mode("redirect-port", path="/v1/jwks", port=other.port)
        ks = keyserver().configure({"bapi": ["ClerkSecretKey " + DEFAULT_SECRET]},
                                   server_conf="ClerkAPIURL %s\n" % fake.base_url).start()
        assert fake.count("/v1/jwks") == 1
        assert other.count() == 0, [r.headers for r in other.requests()]
        assert_503(ks.get("bapi", T.mint()))
        assert "redirect to another host, port or scheme refused" in ks.log()
    finally:
        other.stop()


# ---------------------------------------------------------------- configtest

def _loc(line):
    return "<Location /x>\n%s\n</Location>" % line


CONFIG_ERRORS = [
    ("jwks-plain-http", "<Location /x>\nClerkJWKSURL http://example.com/jwks.json\n</Location>",
     ["ClerkJWKSURL", "plain http"]),
    ("jwks-127-lookalike", _loc("ClerkJWKSURL http://127.0.0.1.nip.io/jwks.json"),
     ["ClerkJWKSURL", "plain http"]),
    ("jwks-127-name", _loc("ClerkJWKSURL http://127.attacker.example/jwks.json"),
     ["ClerkJWKSURL", "plain http"]),
    ("jwks-ftp", "<Location /x>\nClerkJWKSURL ftp://127.0.0.1/jwks.json\n</Location>",
     ["ClerkJWKSURL", "not an http(s) URL"]),
    ("jwks-not-url", "<Location /x>\nClerkJWKSURL jwks.json\n</Location>", ["ClerkJWKSURL"]),
    ("api-ftp", "ClerkAPIURL ftp://x", ["ClerkAPIURL", "not an http(s) URL"]),
    ("api-plain-http", "ClerkAPIURL http://api.clerk.com", ["ClerkAPIURL", "plain http"]),
    ("ttl-0", "ClerkJWKSCacheTTL 0", ["ClerkJWKSCacheTTL"]),
    ("ttl-word", "ClerkJWKSCacheTTL soon", ["ClerkJWKSCacheTTL"]),
    ("refresh-min-0", "ClerkJWKSRefreshMin 0", ["ClerkJWKSRefreshMin"]),
    ("max-stale-neg", "ClerkJWKSMaxStale -1", ["ClerkJWKSMaxStale"]),
    ("timeout-big", "ClerkHTTPTimeout 301", ["ClerkHTTPTimeout"]),
    ("secret-env-unset", "<Location /x>\nClerkSecretKey env:CLERK_IT_UNSET_VAR\n</Location>",
     ["ClerkSecretKey", "CLERK_IT_UNSET_VAR"]),
    ("secret-file-missing", "<Location /x>\nClerkSecretKey file:/nonexistent/sk.txt\n</Location>",
     ["ClerkSecretKey", "/nonexistent/sk.txt"]),
    ("ttl-in-location", "<Location /x>\nClerkJWKSCacheTTL 60\n</Location>",
     ["ClerkJWKSCacheTTL", "not allowed"]),
    ("api-in-location", "<Location /x>\nClerkAPIURL https://api.clerk.com\n</Location>",
     ["ClerkAPIURL", "not allowed"]),
    ("proxy-in-location", "<Location /x>\nClerkHTTPProxy http://127.0.0.1:3128\n</Location>",
     ["ClerkHTTPProxy", "not allowed"]),
]


@pytest.mark.parametrize("name,body,needles", CONFIG_ERRORS, ids=[c[0] for c in CONFIG_ERRORS])
def test_configtest_refuses(configtester, name, body, needles):
    rc, out = configtester.configtest(body)
    assert rc != 0, out
    for n in needles:
        assert n in out, (n, out)


def test_configtest_accepts_and_never_fetches(configtester, fake):
    body = "\n".join([
        "ClerkAPIURL " + fake.base_url,
        "ClerkJWKSCacheTTL 1", "ClerkJWKSRefreshMin 1", "ClerkJWKSMaxStale 0",
        "ClerkHTTPTimeout 300",
        "<Location /a>", "AuthType Clerk", "ClerkJWKSURL " + fake.url("/ct.json"),
        "Require valid-user", "</Location>",
        "<Location /b>", "AuthType Clerk", "ClerkSecretKey " + DEFAULT_SECRET,
        "Require valid-user", "</Location>",
        "<Location /c>", "ClerkJWKSURL https://example.com/.well-known/jwks.json", "</Location>",
        "<Location /d>", "ClerkJWKSURL http://localhost:9/jwks.json", "</Location>",
        "<Location /e>", "ClerkJWKSURL http://[::1]:9/jwks.json", "</Location>",
    ])
    rc, out = configtester.configtest(body)
    assert rc == 0, out
    assert fake.count() == 0
