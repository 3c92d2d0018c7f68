"""A fleet: several real httpd (httpd_harness.Httpd, event and prefork) that
share one store (ClerkCache) and one fake Clerk (fleet_clerk.FleetClerk).

Every server gets the same configuration: the store, the same cache key
(ClerkCacheKey file:, 32 random bytes in hex per fleet, as `openssl rand -hex 32` makes), the fake's Backend API,
KeepAlive Off (every request on a connection of its own, so that the
requests of a prefork server spread over its children), an access log with
the serving process id, and the sections of LOCATIONS under /f/<name>/
(static.txt: a static file; env: the printenv CGI):

  fleet = Fleet(fake, cache="redis:127.0.0.1:6380", modules=[REDIS_MODULE])
  fleet.start("event", "prefork", "event")
  fleet.get(0, "/f/opaque/static.txt", token=tok)       # one request to server 0
  fleet.spread("/f/opaque/static.txt", tok, rounds=5)   # rounds x every server

Requests are timed (response.seconds) so that the fault tests can bound them.
"""
import os
import re
import time

import requests

import fake_bapi as F
from httpd_harness import MODDIR, Httpd, free_port
from locations import REALM, cgi_directory, clerk

REDIS_MODULE = ("socache_redis_module", str(MODDIR / "mod_socache_redis.so"))
MEMCACHE_MODULE = ("socache_memcache_module", str(MODDIR / "mod_socache_memcache.so"))
SHMCB_MODULE = ("socache_shmcb_module", str(MODDIR / "mod_socache_shmcb.so"))

S = "ClerkSecretKey " + F.INSTANCE_SECRET
MS = "ClerkMachineSecretKey " + F.MACHINE_SECRET
ANY = "ClerkAcceptToken any"
# ClerkMachineTokenCacheTTL of /f/opaque: long enough for a test, short enough to wait out
VERDICT_TTL = 6
# Room for every test's calls (10 a second, a burst of 100 000); the fleet
# budget's own tests set theirs.  A rate this low keeps what the budget
# stores alive for more than a second (test_fleet_opaque.py's
# test_short_lived_values_do_not_stop_sharing is about higher rates).
GENEROUS_BUDGET = "ClerkBackendAPIBudget 10 100000"
# how long a store takes to land in a test (a queued SET to a local store: about 1 ms)
SETTLE = 0.1


def locations(fake):
    """[(path, key line or None, body lines)]: the sections every server has."""
    return [
        # the three network key sources
        ("/f/url", "ClerkJWKSURL " + fake.jwks_url("url"), []),
        ("/f/url2", "ClerkJWKSURL " + fake.jwks_url("url2"), []),
        ("/f/bapi", S, []),
        # opaque tokens through the fake Backend API (JWTs verify with the fixture PEM)
        ("/f/opaque", "pem", [S, MS, ANY, "ClerkMachineTokenCacheTTL %d" % VERDICT_TTL]),
        # the same tokens verified with another secret (the instance's)
        ("/f/instance", "pem", [S, ANY, "ClerkMachineTokenCacheTTL %d" % VERDICT_TTL]),
    ]


class Fleet:
    def __init__(self, fake, cache, modules=(), server_conf="", cache_key=None,
                 extra_locations=(), tuning=None, name="fleet"):
        """cache: the ClerkCache argument (None: no ClerkCache at all);
        cache_key: bytes for ClerkCacheKey file: (default: random, the same for
        every server of this fleet; False: no ClerkCacheKey line);
        server_conf: more server-level lines (after the defaults, so they win),
        or a function of the Httpd returning them (ports of its own);
        extra_locations: more (path, key, body) sections; tuning: {mpm: MPM lines}."""
        self.fake = fake
        self.cache = cache
        self.modules = list(modules)
        self.server_conf = server_conf
        self.cache_key = os.urandom(32).hex() if cache_key is None else cache_key
        self.extra_locations = list(extra_locations)
        self.tuning = tuning or {}
        self.name = name
        self.servers = []

    # ---------------------------------------------------------------- config
    def config(self, h):
        doc = h.docroot
        h.install_www("cgi/printenv.py", "printenv.py")
        h.install_www("static/hello.txt", "hello.txt")
        parts = [
            self.tuning.get(h.mpm, ""),
            "KeepAlive Off",
            'LogFormat "%P %>s %U" pidlog',
            'CustomLog "%s/logs/pid.log" pidlog' % h.root,
            "ClerkAPIURL " + self.fake.url,
            "ClerkHTTPTimeout 1",
            GENEROUS_BUDGET,
        ]
        if self.cache is not None:
            parts.append("ClerkCache " + self.cache)
        if self.cache is not None and self.cache_key is not False:
            key_file = h.write("keys/cache.key", self.cache_key)
            parts.append("ClerkCacheKey file:%s" % key_file)
        conf = self.server_conf(h) if callable(self.server_conf) else self.server_conf
        parts += [conf, cgi_directory(doc),
                  'AliasMatch "^/f/(.+)/env$" "%s/cgi/printenv.py"' % doc,
                  'AliasMatch "^/f/(.+)/static\\.txt$" "%s/static/hello.txt"' % doc]
        for path, key, body in locations(self.fake) + self.extra_locations:
            parts.append(clerk(h, path, *(list(body) + ["Require valid-user"]), key=key,
                               realm=REALM))
        return "\n".join(parts) + "\n"

    # ---------------------------------------------------------------- life
    def add(self, mpm, timeout=20):
        """Start one more server of this fleet; returns its index.  Waits for
        "resuming normal operations": the listener accepts before the parent's
        post_config (where it fetches key sets) is over."""
        h = Httpd(mpm, name="%s%d" % (self.name, len(self.servers)))
        h.port = free_port()        # known to the configuration (a proxy to itself)
        self.servers.append(h)
        h.write_config(self.config(h), extra_modules=self.modules)
        h.start()
        deadline = time.time() + timeout
        while "resuming normal operations" not in h.error_log():
            if time.time() > deadline:
                raise AssertionError("httpd did not finish starting\n" + h.diagnostics())
            time.sleep(0.02)
        return len(self.servers) - 1

    def start(self, *mpms):
        for m in mpms:
            self.add(m)
        return self

    def cleanup(self):
        for h in self.servers:
            h.cleanup()

    # ---------------------------------------------------------------- requests
    def get(self, i, path, token=None, headers=None, timeout=20, port=None):
        """One request to server i (on port, default its main one) on a
        connection of its own; r.seconds: how long it took."""
        h = self.servers[i]
        hdrs = {"Connection": "close"}
        if token is not None:
            hdrs["Authorization"] = "Bearer " + token
            h.sent_tokens.append(token)
        hdrs.update(headers or {})
        t0 = time.time()
        base = h.base_url if port is None else "http://127.0.0.1:%d" % port
        r = requests.get(base + path, headers=hdrs, timeout=timeout, allow_redirects=False)
        r.seconds = time.time() - t0
        r.server = i
        return r

    def spread(self, path, token=None, rounds=1, servers=None):
        """rounds x (one request to each server in turn), sequentially."""
        servers = range(len(self.servers)) if servers is None else servers
        return [self.get(i, path, token) for _ in range(rounds) for i in servers]

    def first_then_spread(self, path, token, rounds=1):
        """One request to server 0, a pause for what it stored to land (stores
        are queued, never waited for), then spread(): what the fleet shares
        once one server has learnt it."""
        first = self.get(0, path, token)
        time.sleep(SETTLE)
        return [first] + self.spread(path, token, rounds)

    # ---------------------------------------------------------------- logs
    def marks(self):
        return [h.log_mark() for h in self.servers]

    def logs_since(self, marks):
        return [h.log_since(m) for h, m in zip(self.servers, marks)]

    def serving_pids(self, i):
        try:
            text = (self.servers[i].root / "logs" / "pid.log").read_text()
        except FileNotFoundError:
            return set()
        return {l.split()[0] for l in text.splitlines() if l.strip()}

    def crash_lines(self):
        from helpers import CRASH
        return [l for h in self.servers for l in h.error_log().splitlines() if CRASH.search(l)]


DID_NOT_OPEN = "did not open"


def lines_per_pid(log, needle):
    """{pid: number of error-log lines containing needle}."""
    out = {}
    for line in log.splitlines():
        if needle in line:
            m = re.search(r"\[pid (\d+)", line)
            pid = m.group(1) if m else "?"
            out[pid] = out.get(pid, 0) + 1
    return out


STORE_NAME = re.compile(r"^clerk1:([a-z]):[A-Za-z0-9_-]{43}$")
# mod_socache_redis and mod_socache_memcache store "<namespace>:<the name in hex>"
PROVIDER_NAME = re.compile(r"^(?:[^:]*:)?((?:[0-9a-f]{2})+)$")


def logical_name(stored):
    """The module's own name ("clerk1:<letter>:<43 base64url>") of a name as
    the store lists it, or None when it is none of the module's."""
    m = PROVIDER_NAME.match(stored)
    if m:
        try:
            decoded = bytes.fromhex(m.group(1)).decode("ascii")
        except ValueError:
            decoded = ""
        if STORE_NAME.match(decoded):
            return decoded
    return stored if STORE_NAME.match(stored) else None


def names_of(store, letter):
    """The store's names (as the store lists them) of values of one purpose
    (k key set, l lease, v verdict, b budget, m M2M token)."""
    found = set()
    for n in store.names():
        name = logical_name(n)
        if name and STORE_NAME.match(name).group(1) == letter:
            found.add(n)
    return found
