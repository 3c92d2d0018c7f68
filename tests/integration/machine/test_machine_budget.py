"""The Backend API on behalf of clients, played by an attacker: random opaque
tokens must not spend the instance's rate limit.  Counted at the fake Backend
API, on servers of their own with the default budget (5 calls a second, a
burst of 20) shared by every process of the server (prefork: many children).
"""
import concurrent.futures
import secrets
import time

import pytest

from helpers import Client, assert_invalid, assert_no_crashed_child, assert_ok, describe

BURST, RATE = 20, 5
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def random_token(kind):
    return "%s_%s" % (kind, "".join(secrets.choice(ALPHABET) for _ in range(32)))


@pytest.fixture
def limited(extra_server):
    """limited(limits) -> (Httpd, Client): a server with these Backend API limits."""
    return lambda limits="": extra_server(limits=limits)


def many(fn, args, workers=8):
    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        return list(ex.map(fn, args))


def test_random_opaque_tokens_spend_at_most_the_budget(limited, fake, mpm):
    """1 000 requests, each with a distinct random well-formed opaque token:
    at most burst + rate x elapsed Backend API calls; the others get 503 at
    once with Retry-After; and a valid token still verifies afterwards."""
    h, c = limited()
    mark = h.log_mark()
    before = fake.verify_calls()
    tokens = [random_token(("mt", "oat", "ak")[i % 3]) for i in range(1000)]
    t0 = time.time()

    def one(tok):
        return Client(h).get("/m/any/static.txt", token=tok, headers={"Connection": "close"})
    answers = many(one, tokens)
    elapsed = time.time() - t0
    calls = fake.verify_calls() - before
    statuses = [r.status_code for r in answers]
    assert set(statuses) <= {401, 503}, set(statuses)
    assert calls <= BURST + RATE * (elapsed + 1), (calls, elapsed)
    assert statuses.count(401) == calls             # each call answered "not found"
    busy = [r for r in answers if r.status_code == 503]
    assert len(busy) >= 1000 - BURST - RATE * (elapsed + 1)
    assert all(int(r.headers["Retry-After"]) >= 1 for r in busy)
    print("\n[%s] 1000 random opaque tokens in %.1f s: %d Backend API calls, %d answered 503"
          % (mpm, elapsed, calls, len(busy)))
    # one warning for the whole server, not one per request or per child
    assert h.log_since(mark).count("ClerkBackendAPIBudget) is spent") <= 1 + int(elapsed / 10)
    time.sleep(1.0 / RATE + 0.1)
    good = fake.token("mt")
    assert_ok(c.get("/m/any/static.txt", token=good))
    assert_no_crashed_child(h)


def test_known_good_rechecks_are_not_charged(extra_server, fake):
    """ClerkMachineTokenCacheTTL 0: a good token is asked about on every
    request (revocation), but those re-checks do not spend the budget, so a
    flood of random tokens does not lock its owner out.  What a process
    learnt is its own: one process here."""
    h, c = extra_server(single_process=True, limits="")
    good = fake.token("ak")
    assert_ok(c.get("/m/any/static.txt", token=good))
    statuses = [c.get("/m/any/static.txt", token=random_token("ak")).status_code
                for _ in range(BURST + 10)]
    assert statuses.count(503) >= 5, statuses
    for _ in range(10):
        assert_ok(c.get("/m/any/static.txt", token=good))
    assert fake.calls(token=good) == 11
    # revoked meanwhile: the next re-check says so, and it is no longer known good
    fake.register(good, mode="revoked")
    assert_invalid(c.get("/m/any/static.txt", token=good), "token-invalid")


@pytest.mark.parametrize("token", [
    "mt_x", "oat_", "ak_short", "mt_" + "a" * 257, "oat_" + "a" * 31 + ".", "ak_" + "a%2F" * 8,
    "mt_" + "a" * 30 + "~~", "oat_" + "a" * 20 + "\\" + "a" * 20])
def test_malformed_opaque_tokens_never_reach_the_backend_api(limited, fake, token):
    h, c = limited()
    before = fake.verify_calls()
    for _ in range(3):
        assert_invalid(c.get("/m/any/static.txt", token=token), "token-invalid")
    assert fake.verify_calls() == before
    assert "malformed opaque" in h.error_log()


def test_a_refused_token_is_remembered(limited, fake):
    """The same unknown token in a loop: one call, the same answer each time."""
    h, c = limited("ClerkBackendAPIBudget 1000 1000")
    dead = random_token("mt")
    for _ in range(30):
        assert_invalid(c.get("/m/any/static.txt", token=dead), "token-invalid")
    # prefork: each child that gets the token asks once
    assert 1 <= fake.calls(token=dead) <= 4


def test_budget_directives_are_checked(configtester):
    for line, why in [("ClerkBackendAPIBudget 0 20", "calls per second"),
                      ("ClerkBackendAPIBudget 5 0", "calls (burst)"),
                      ("ClerkBackendAPIBudget x 20", "calls per second"),
                      ("ClerkBackendAPIBudget 5 20000000", "calls (burst)"),
                      ("ClerkBackendAPIBudget 5", "two arguments"),
                      ("<Location /x>\nClerkBackendAPIBudget 5 20\n</Location>", "not allowed in <Location>"),
                      ("<VirtualHost 127.0.0.1:1>\nClerkBackendAPIMaxWaiting 4\n</VirtualHost>",
                       "cannot occur within"),
                      ("ClerkBackendAPIMaxWaiting 0", "threads")]:
        rc, out = configtester.configtest(line + "\n")
        assert rc != 0 and why in out, (line, out)
    rc, out = configtester.configtest("ClerkBackendAPIBudget 50 100\nClerkBackendAPIMaxWaiting 4\n"
                                      "<VirtualHost 127.0.0.1:1>\nClerkBackendAPIBudget 1 1\n"
                                      "</VirtualHost>\n")
    assert rc == 0, out


def test_waiting_threads_are_bounded(extra_server, fake, mpm):
    """A Backend API that hangs: at most ClerkBackendAPIMaxWaiting threads of a
    process wait on it; the others get 503 at once instead of a worker held
    for ClerkHTTPTimeout.  (prefork: one thread per process, so the bound is
    the budget's alone.)"""
    if mpm != "event":
        pytest.skip("a per-process bound on threads: prefork has one thread per process")
    h, c = extra_server(single_process=True,
                        limits="ClerkBackendAPIBudget 1000 1000\nClerkBackendAPIMaxWaiting 2")
    tokens = [fake.token("mt") for _ in range(8)]
    before = fake.verify_calls()
    fake.set_mode("hang")

    def one(tok):
        t0 = time.time()
        r = Client(h).get("/m/any/static.txt", token=tok)
        return r, time.time() - t0
    try:
        results = many(one, tokens, workers=8)
    finally:
        fake.set_mode(None)
    fast = [r for r, t in results if r.status_code == 503 and t < 0.5]
    assert all(r.status_code == 503 for r, _ in results), [describe(r) for r, _ in results]
    assert len(fast) >= 6, [(r.status_code, round(t, 2)) for r, t in results]
    assert all(r.headers.get("Retry-After") for r, _ in results)
    assert fake.verify_calls() - before <= 2
    assert "ClerkBackendAPIMaxWaiting" in h.error_log()
