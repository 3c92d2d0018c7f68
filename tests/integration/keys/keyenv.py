"""Servers for the network key source tests, built on the shared harness.

KeyServer wraps one httpd_harness.Httpd (made by the httpd_factory fixture):
it writes a small config (printenv CGI and a static file under /k/<name>/,
one <Location /k/<name>> per key source via locations.clerk), an access log
that records the serving process id (%P) so the tests know how many
processes could have fetched, optional MPM limits and extra environment for
httpd (ClerkSecretKey env:VAR).  Nothing here replaces the harness.
"""
import concurrent.futures
import re
import threading
import time

import requests

import locations
from helpers import describe

REALM = locations.REALM

# Few processes, so that "one forced fetch per process" has a small bound.
FEW_PROCESSES = {
    "event": """
StartServers 1
ServerLimit 2
ThreadsPerChild 16
MinSpareThreads 1
MaxSpareThreads 64
MaxRequestWorkers 32
""",
    "prefork": """
StartServers 2
MinSpareServers 1
MaxSpareServers 2
ServerLimit 2
MaxRequestWorkers 2
""",
}

CRASH_PATTERNS = ("segfault", "exit signal", "AddressSanitizer", "still did not exit",
                  "SIGKILL", "double free", "corrupted")


class KeyServer:
    def __init__(self, h, env=None):
        self.h = h
        self.extra_env = dict(env or {})
        if self.extra_env:
            base_env = h._env

            def _env():
                e = base_env()
                e.update(self.extra_env)
                return e
            h._env = _env       # one instance only: the harness itself is unchanged

    # ---------------------------------------------------------------- config
    def configure(self, locs, server_conf="", tuning=None, loglevel=None):
        """locs: {name: [directive lines]} -> <Location /k/<name>> each with
        AuthType Clerk, AuthName, Require valid-user.  server_conf: server
        level directives (ClerkJWKSCacheTTL...).  tuning: MPM limits."""
        h = self.h
        h.install_www("cgi/printenv.py", "printenv.py")
        h.install_www("static/hello.txt", "hello.txt")
        doc = h.docroot
        parts = [
            "KeepAlive Off",
            'LogFormat "%P %>s %U" pidlog',
            'CustomLog "%s/logs/pid.log" pidlog' % h.root,
        ]
        if tuning:
            parts.append(tuning)
        if loglevel:
            parts.append("LogLevel " + loglevel)
        parts.append(f"""
{locations.cgi_directory(doc)}
AliasMatch "^/k/(.+)/env$" "{doc}/cgi/printenv.py"
AliasMatch "^/k/(.+)/static\\.txt$" "{doc}/static/hello.txt"
""")
        parts.append(server_conf)
        for name, lines in locs.items():
            lines = list(lines)
            first = lines.pop(0) if lines else None
            parts.append(locations.clerk(h, "/k/" + name, *(lines + ["Require valid-user"]),
                                         key=first))
        h.write_config("\n".join(parts) + "\n")
        return self

    def start(self, timeout=15):
        """Start, then wait for "resuming normal operations": the listener
        accepts connections before post_config (where the parent fetches)
        has finished, so the harness's port check alone is too early here."""
        self.h.start()
        deadline = time.time() + timeout
        while "resuming normal operations" not in self.h.error_log():
            if time.time() > deadline:
                raise AssertionError("httpd did not finish starting\n" + self.h.diagnostics())
            time.sleep(0.02)
        return self

    # ---------------------------------------------------------------- requests
    def url(self, name, what="static.txt"):
        return "%s/k/%s/%s" % (self.h.base_url, name, what)

    def get(self, name, token=None, what="static.txt", timeout=30):
        """One request on a new connection (KeepAlive is off anyway)."""
        hdrs = {"Connection": "close"}
        if token is not None:
            hdrs["Authorization"] = "Bearer " + token
            self.h.sent_tokens.append(token)
        return requests.get(self.url(name, what), headers=hdrs, timeout=timeout,
                            allow_redirects=False)

    def many(self, jobs, workers=8):
        """Run [(name, token)] concurrently; returns the responses in order."""
        with concurrent.futures.ThreadPoolExecutor(workers) as ex:
            return list(ex.map(lambda j: self.get(*j), jobs))

    def poll(self, name, token, accept, timeout=5.0, interval=0.05):
        """Repeat a request until accept(response); returns (response, seconds)."""
        t0 = time.time()
        while True:
            r = self.get(name, token)
            if accept(r) or time.time() - t0 > timeout:
                return r, time.time() - t0
            time.sleep(interval)

    # ---------------------------------------------------------------- logs
    def serving_pids(self):
        """Process ids that answered requests (from the %P access log)."""
        try:
            text = (self.h.root / "logs" / "pid.log").read_text()
        except FileNotFoundError:
            return set()
        return {l.split()[0] for l in text.splitlines() if l.strip()}

    def log(self):
        return self.h.error_log()

    def all_logs(self):
        out = []
        for p in (self.h.root / "logs").iterdir():
            out.append(p.read_text(errors="replace"))
        return "\n".join(out)

    def assert_no_crash(self):
        text = self.log()
        bad = [l for l in text.splitlines() if any(p in l for p in CRASH_PATTERNS)]
        assert not bad, "\n".join(bad[:20])

    def forced_refreshes_by_pid(self):
        """{pid: n} of 'asked for a key set refresh' lines (debug)."""
        out = {}
        for l in self.log().splitlines():
            if "asked for a key set refresh" in l:
                m = re.search(r"\[pid (\d+)", l)
                pid = m.group(1) if m else "?"
                out[pid] = out.get(pid, 0) + 1
        return out


def retry_after(r):
    return r.headers.get("Retry-After")


def assert_503(r):
    assert r.status_code == 503, describe(r)
    ra = retry_after(r)
    assert ra is not None and ra.isdigit() and int(ra) > 0, describe(r)
    assert "WWW-Authenticate" not in r.headers, describe(r)


def assert_200(r):
    assert r.status_code == 200, describe(r)


def percentile(values, pct):
    v = sorted(values)
    if not v:
        return 0.0
    k = min(len(v) - 1, max(0, int(round(pct / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


class Hammer:
    """Background requests until stopped: (status, seconds, error) per request."""

    def __init__(self, ks, jobs, workers=4):
        self.ks = ks
        self.jobs = jobs
        self.workers = workers
        self.results = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = []

    def _run(self, i):
        n = 0
        while not self._stop.is_set():
            name, token = self.jobs[(i + n) % len(self.jobs)]
            n += 1
            t0 = time.time()
            try:
                r = self.ks.get(name, token, timeout=20)
                res = (r.status_code, time.time() - t0, None, name)
            except requests.RequestException as e:
                res = (None, time.time() - t0, repr(e), name)
            with self._lock:
                self.results.append(res)

    def __enter__(self):
        for i in range(self.workers):
            t = threading.Thread(target=self._run, args=(i,), daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for t in self._threads:
            t.join(30)
