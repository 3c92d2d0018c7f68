"""Keys from the network: warm start, rotation, outage, never loaded, kid storm,
a hung source, graceful restart (README: "How keys are found, rotated and survive outages").

Every test runs under both MPMs (the mpm fixture) against a FakeClerk.
"""
import os
import random
import signal
import string
import time

import requests

import clerk_tokens as T
from fake_clerk import jwks_of
from helpers import assert_invalid, describe
from keyenv import FEW_PROCESSES, Hammer, assert_200, assert_503, percentile


def url_line(fake, path):
    return "ClerkJWKSURL " + fake.url(path)


# ---------------------------------------------------------------- warm start

def test_warm_start_fetches_once_in_the_parent(keyserver, fake, mpm):
    """The parent fetches in post_config; every child starts with the keys:
    one fetch in all, and requests right after start need no other."""
    fake.set_jwks(jwks_of("a"))
    ks = keyserver().configure({"w": [url_line(fake, "/w.json")]}).start()
    assert fake.count("/w.json") == 1
    tok = T.mint(key="a")
    for r in ks.many([("w", tok)] * 40):
        assert_200(r)
    time.sleep(0.3)     # a refresher that wrongly fetched at once would show by now
    assert fake.count("/w.json") == 1, fake.requests()
    assert len(ks.serving_pids()) >= 1
    assert "loaded 1 key(s)" in ks.log()


# ---------------------------------------------------------------- rotation

def test_rotation_new_kid_then_old_kid_removed(keyserver, fake, mpm):
    """A new kid is accepted after one forced refresh; the old kid is refused
    (jwk-kid-mismatch) once it left the set and the TTL passed."""
    fake.set_jwks(jwks_of("a"))
    ks = keyserver().configure(
        {"rot": [url_line(fake, "/rot.json")]},
        server_conf="ClerkJWKSCacheTTL 2\nClerkJWKSRefreshMin 1\n").start()
    tok_a, tok_b = T.mint(key="a"), T.mint(key="b")
    assert_200(ks.get("rot", tok_a))
    r = ks.get("rot", tok_b)
    assert_invalid(r, "jwk-kid-mismatch")

    fake.set_jwks(jwks_of("a", "b"))
    t0 = time.time()
    r, took = ks.poll("rot", tok_b, lambda r: r.status_code == 200, timeout=3.0)
    assert_200(r)
    # every process serving requests learns it (prefork: several children)
    deadline = time.time() + 3.0
    while True:
        statuses = [x.status_code for x in ks.many([("rot", tok_b)] * 16)]
        if all(s == 200 for s in statuses) or time.time() > deadline:
            break
        time.sleep(0.1)
    assert all(s == 200 for s in statuses), statuses
    new_kid_seconds = time.time() - t0
    assert_200(ks.get("rot", tok_a))

    # kid a leaves the set: refused once the TTL (2 s) passed in each process
    fake.set_jwks(jwks_of("b"))
    t0 = time.time()
    deadline = t0 + 6.0
    while True:
        rs = ks.many([("rot", tok_a)] * 16)
        if all(x.status_code == 401 for x in rs) or time.time() > deadline:
            break
        time.sleep(0.2)
    for x in rs:
        assert_invalid(x, "jwk-kid-mismatch")
    old_kid_seconds = time.time() - t0
    assert_200(ks.get("rot", tok_b))
    print("\n[%s] rotation: new kid accepted everywhere after %.2f s, old kid refused "
          "everywhere after %.2f s, fetches %d" % (mpm, new_kid_seconds, old_kid_seconds,
                                                    fake.count("/rot.json")))


# ---------------------------------------------------------------- outage

def test_outage_stale_keys_then_503_then_recovery(keyserver, fake, mpm):
    """Source failing (HTTP 500 on one location, hanging on another): stale
    keys keep working; past TTL + MaxStale (1 + 2 s) requests get 503 with
    Retry-After, never 401; when the source is back, keys return."""
    fake.set_jwks(jwks_of("a"))
    ks = keyserver().configure(
        {"o500": [url_line(fake, "/o500.json")], "ohang": [url_line(fake, "/ohang.json")]},
        server_conf="ClerkJWKSCacheTTL 1\nClerkJWKSMaxStale 2\nClerkJWKSRefreshMin 1\n"
                    "ClerkHTTPTimeout 1\n").start()
    started = time.time()
    fake.set_mode("500", path="/o500.json")
    fake.set_mode("hang", path="/ohang.json")
    tok = T.mint(key="a")
    for name in ("o500", "ohang"):
        assert_200(ks.get(name, tok))

    seen = {}
    deadline = started + 7.0
    while len(seen) < 2 and time.time() < deadline:
        for name in ("o500", "ohang"):
            if name in seen:
                continue
            r = ks.get(name, tok)
            assert r.status_code in (200, 503), describe(r)
            if r.status_code == 503:
                assert_503(r)
                seen[name] = time.time() - started
        time.sleep(0.05)
    assert set(seen) == {"o500", "ohang"}, seen
    for name in seen:
        # not before TTL + MaxStale, not much after it
        assert 2.5 <= seen[name] <= 5.5, seen
        for r in ks.many([(name, tok)] * 8):
            assert_503(r)
    assert fake.count("/o500.json") >= 2 and fake.count("/ohang.json") >= 2

    fake.reset_modes()
    t0 = time.time()
    rec = {}
    for name in ("o500", "ohang"):
        r, _ = ks.poll(name, tok, lambda r: r.status_code == 200, timeout=5.0)
        assert_200(r)
        rec[name] = time.time() - t0
    print("\n[%s] outage: 503 after %s s (TTL 1 + MaxStale 2); recovered after %s s" % (
        mpm, {k: round(v, 2) for k, v in seen.items()}, {k: round(v, 2) for k, v in rec.items()}))
    assert "answering 503" in ks.log()


def test_never_loaded_503_until_source_comes_up(keyserver, fake, mpm):
    """Source down at start: 503 + Retry-After (not 401); once it answers,
    requests succeed within a few seconds."""
    port = fake.port
    fake.stop()             # the port is known but nothing listens (connection refused)
    ks = keyserver().configure({"nl": ["ClerkJWKSURL http://127.0.0.1:%d/nl.json" % port]},
                               server_conf="ClerkJWKSRefreshMin 1\n").start()
    assert "key set not loaded at start-up" in ks.log()
    tok = T.mint(key="ins")
    for r in ks.many([("nl", tok)] * 6):
        assert_503(r)
    for r in ks.many([("nl", None)] * 2):
        # no token: still 401 (nothing to verify), keys do not matter
        assert r.status_code in (401, 503), describe(r)

    from fake_clerk import FakeClerk
    up = FakeClerk(port=port).start()
    try:
        t0 = time.time()
        deadline = t0 + 5.0
        while True:
            statuses = [x.status_code for x in ks.many([("nl", tok)] * 8)]
            if all(s == 200 for s in statuses) or time.time() > deadline:
                break
            assert set(statuses) <= {200, 503}, statuses
            time.sleep(0.1)
        assert all(s == 200 for s in statuses), statuses
        print("\n[%s] never loaded: all 200 %.2f s after the source came up (%d fetches)" % (
            mpm, time.time() - t0, up.count("/nl.json")))
    finally:
        up.stop()


# ---------------------------------------------------------------- kid storm

def _random_kid():
    return "ins_" + "".join(random.choice(string.ascii_letters + string.digits) for _ in range(27))


def test_kid_storm_at_most_one_forced_fetch_per_process(keyserver, fake, mpm):
    """200 tokens with random unknown kids: each gets 401 jwk-kid-mismatch and
    each process forces at most one refresh per ClerkJWKSRefreshMin."""
    fake.set_jwks(jwks_of("a"))
    ks = keyserver().configure({"storm": [url_line(fake, "/storm.json")]},
                               tuning=FEW_PROCESSES[mpm]).start()
    assert fake.count("/storm.json") == 1
    jobs = [("storm", T.mint(key="a", kid=_random_kid())) for _ in range(200)]
    t0 = time.time()
    rs = ks.many(jobs, workers=12)
    storm_seconds = time.time() - t0
    for r in rs:
        assert_invalid(r, "jwk-kid-mismatch")
    time.sleep(0.5)         # let forced fetches land
    pids = ks.serving_pids()
    fetches = fake.count("/storm.json")
    forced = ks.forced_refreshes_by_pid()
    print("\n[%s] kid storm: 200 requests in %.2f s over %d process(es): %d fetch(es) "
          "(1 at start), forced per pid %s" % (mpm, storm_seconds, len(pids), fetches, forced))
    assert fetches <= 1 + len(pids), (fetches, pids)
    assert fetches >= 2, "the storm should force one refresh"
    assert all(n == 1 for n in forced.values()), forced
    assert set(forced) <= pids, (forced, pids)
    assert_200(ks.get("storm", T.mint(key="a")))


# ---------------------------------------------------------------- hung source

def test_hung_source_never_delays_cached_kids(keyserver, fake, mpm):
    """While the source hangs (refreshes stuck for ClerkHTTPTimeout 30 s), a
    request whose kid is cached is answered at once: p99 < 0.5 s.  Stopping
    httpd is not held up by the hung refresh either."""
    fake.set_jwks(jwks_of("a"))
    ks = keyserver().configure(
        {"hang": [url_line(fake, "/hang.json")]},
        server_conf="ClerkJWKSCacheTTL 1\nClerkJWKSRefreshMin 1\nClerkHTTPTimeout 30\n").start()
    fake.set_mode("hang", path="/hang.json")
    tok = T.mint(key="a")
    assert_200(ks.get("hang", tok))         # starts the refresher
    fake.wait_count("/hang.json", 2, timeout=3.0)
    # unknown kids as well: kid_miss never waits
    jobs = [("hang", tok)] * 45 + [("hang", T.mint(key="a", kid=_random_kid())) for _ in range(5)]
    random.shuffle(jobs)
    lat = []

    def timed(job):
        t0 = time.time()
        r = ks.get(*job)
        return r, time.time() - t0
    import concurrent.futures
    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        out = list(ex.map(timed, jobs))
    for (name, token), (r, dt) in zip(jobs, out):
        if token == tok:
            assert_200(r)
        else:
            assert_invalid(r, "jwk-kid-mismatch")
        lat.append(dt)
    assert fake.count("/hang.json") >= 2
    p99 = percentile(lat, 99)
    assert p99 < 0.5, sorted(lat)[-5:]

    # refreshers (one per process that served) are inside their 30 s fetches:
    # a stop must not wait for them
    t0 = time.time()
    ks.h.stop()
    stop_seconds = time.time() - t0
    print("\n[%s] hung source: 50 requests, p50 %.3f s, p99 %.3f s, max %.3f s; "
          "stop took %.2f s" % (mpm, percentile(lat, 50), p99, max(lat), stop_seconds))
    assert stop_seconds < 4, stop_seconds
    assert "still did not exit" not in ks.log()


# ---------------------------------------------------------------- graceful restart

def test_graceful_restart_with_requests_in_flight(keyserver, fake, mpm):
    """Graceful restarts while requests run: no failed request, keys keep
    working (the new generation fetches once at start), no crash lines."""
    fake.set_jwks(jwks_of("a"))
    ks = keyserver().configure({"gr": [url_line(fake, "/gr.json")]},
                               server_conf="ClerkJWKSCacheTTL 1\nClerkJWKSRefreshMin 1\n").start()
    tok = T.mint(key="a")
    jobs = [("gr", tok), ("gr", T.mint(key="a", kid=_random_kid()))]
    with Hammer(ks, [(n, t) for n, t in jobs[:1] * 3 + jobs[1:]], workers=4) as hm:
        time.sleep(0.5)
        for _ in range(2):
            before = fake.count("/gr.json")
            ks.h.graceful()
            time.sleep(0.7)
            assert fake.count("/gr.json") > before
    res = hm.results
    errors = [x for x in res if x[0] is None]
    bad = [x for x in res if x[0] not in (200, 401)]
    assert len(res) > 20, len(res)
    assert not errors, errors[:5]
    assert not bad, bad[:5]
    assert_200(ks.get("gr", tok))
    assert_200(ks.get("gr", tok, what="env"))
    ks.assert_no_crash()
    print("\n[%s] graceful x2: %d requests in flight, none failed" % (mpm, len(res)))


# ---------------------------------------------------------------- .htaccess

def test_htaccess_network_source(keyserver, fake, mpm):
    """ClerkJWKSURL in .htaccess (where ClerkAllowOverrideKeySources On allows
    it): the source is looked up per process on first use (not fetched at
    start), then shared: no fetch per request."""
    fake.set_jwks(jwks_of("a"))
    ks = keyserver()
    h = ks.h
    h.install_www("ht/printenv.py", "printenv.py")
    h.install_www("ht/hello.txt", "hello.txt")
    h.write("htdocs/ht/.htaccess", "\n".join([
        "AuthType Clerk", 'AuthName "clerk-it"', "ClerkJWKSURL " + fake.url("/ht.json"),
        "Require valid-user", ""]))
    ks.configure({}, server_conf="""
ClerkAllowOverrideKeySources On
<Directory "%s/ht">
    AllowOverride AuthConfig
</Directory>
""" % h.docroot).start()
    assert fake.count("/ht.json") == 0          # not in the main configuration
    tok = T.mint(key="a")
    url = "/ht/hello.txt"

    def get():
        return requests.get(h.base_url + url, headers={"Authorization": "Bearer " + tok,
                                                       "Connection": "close"}, timeout=10)
    first = get()
    assert first.status_code in (200, 503), describe(first)
    deadline = time.time() + 4
    while True:
        statuses = [r.status_code for r in ks_many(get, 16)]
        if all(s == 200 for s in statuses) or time.time() > deadline:
            break
        assert set(statuses) <= {200, 503}, statuses
        time.sleep(0.1)
    assert all(s == 200 for s in statuses), statuses
    for s in [r.status_code for r in ks_many(get, 40)]:
        assert s == 200
    fetches = fake.count("/ht.json")
    assert 1 <= fetches <= max(2, len(ks.serving_pids())), (fetches, ks.serving_pids())
    bad = requests.get(h.base_url + url, headers={"Authorization": "Bearer " + T.mint(key="b")},
                       timeout=10)
    assert_invalid(bad, "jwk-kid-mismatch")


def ks_many(fn, n, workers=8):
    import concurrent.futures
    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        return list(ex.map(lambda _: fn(), range(n)))


def test_warm_start_when_an_unused_section_names_the_same_source(keyserver, fake, mpm):
    """A source first named where it is not in force (ClerkJWTKeyFile wins
    there), then where it is: still fetched once at start, children warm."""
    fake.set_jwks(jwks_of("a"))
    ks = keyserver()
    ks.configure({
        "shadowed": ['ClerkJWTKeyFile "%s/integration-b.public.pem"' % ks.h.keys,
                     url_line(fake, "/shared.json")],
        "uses-it": [url_line(fake, "/shared.json")],
    }).start()
    assert fake.count("/shared.json") == 1
    for r in ks.many([("uses-it", T.mint(key="a"))] * 8):
        assert_200(r)
    assert_200(ks.get("shadowed", T.mint(key="b")))
    assert fake.count("/shared.json") == 1


def _sigblk(pid, tid):
    with open("/proc/%d/task/%d/status" % (pid, tid)) as f:
        for line in f:
            if line.startswith("SigBlk:"):
                return int(line.split()[1], 16)
    return 0


def test_refresher_threads_block_process_signals(keyserver, fake, mpm):
    """Signals sent to an httpd child (SIGTERM, SIGHUP, SIGUSR1, SIGWINCH)
    must reach the MPM's own thread, never a key refresher: under prefork a
    SIGTERM that ran the exit handler on a refresher in the middle of a fetch
    destroyed the pool of the HTTP handle it was using (SIGABRT in
    reslist_cleanup, about one stop in 25 with a hung source).  Checked
    directly: every refresher thread ("clerk-jwks") blocks them."""
    fake.set_jwks(jwks_of("a"))
    ks = keyserver().configure(
        {"s%d" % i: [url_line(fake, "/sig%d.json" % i)] for i in range(2)},
        server_conf="ClerkJWKSCacheTTL 1\nClerkJWKSRefreshMin 1\nClerkHTTPTimeout 30\n",
        tuning=FEW_PROCESSES[mpm]).start()
    for i in range(2):
        fake.set_mode("hang", path="/sig%d.json" % i)
    tok = T.mint(key="a")
    for r in ks.many([("s%d" % i, tok) for i in range(2)] * 6):
        assert_200(r)
    for i in range(2):
        assert fake.wait_count("/sig%d.json" % i, 2, timeout=3) >= 2
    wanted = [signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGWINCH]
    refreshers = 0
    for pid in (int(p) for p in ks.serving_pids()):
        for tid in (int(t) for t in os.listdir("/proc/%d/task" % pid)):
            with open("/proc/%d/task/%d/comm" % (pid, tid)) as f:
                if f.read().strip() != "clerk-jwks":
                    continue
            mask = _sigblk(pid, tid)
            missing = [s.name for s in wanted if not mask & (1 << (s - 1))]
            assert not missing, (pid, tid, hex(mask), missing)
            refreshers += 1
    assert refreshers >= 2, refreshers      # one per source in each serving process
    t0 = time.time()
    ks.h.stop()
    assert time.time() - t0 < 4
    ks.assert_no_crash()
