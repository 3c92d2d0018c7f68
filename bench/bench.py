#!/usr/bin/python3
"""`make bench`: mod_auth_clerk against no auth and mod_auth_openidc.

Starts httpd instances on 127.0.0.1 with identical event-MPM settings, all
serving the same 100-byte static file:

  noauth         no authentication (the ceiling)
  clerk          AuthType Clerk, ClerkJWTKeyFile, default ClerkTokenCache (4096)
  clerk-nocache  the same with ClerkTokenCache 0
  openidc        Debian's mod_auth_openidc, AuthType oauth20, verifying the
                 same RS256 token locally (OIDCOAuthVerifyCertFiles kid#key)

The servers run on CPU 0 and wrk on CPU 1 (when there are two).  wrk rounds
alternate between the servers (noauth first in each round); each figure is
the median of the rounds, and each ratio is the median over the rounds of
req/s against the no-auth server's req/s in the same round, with the same
client script (so a machine whose speed drifts over minutes, as VMs do,
still gives fair ratios).  Scenarios:

  (a) same token   every request carries one valid token (cache hit)
  (b) distinct     every request a different valid token (wrk Lua script
                   cycling through BENCH_TOKENS pre-minted tokens: cache miss)
  (c) cache off    the same token, ClerkTokenCache 0 (every request verified)

Then RSS: a fresh clerk server (default cache, 4096 entries) gets >= 1 000 000
requests cycling through the distinct tokens, each token twice in a row (so
every second request is an insert and an eviction: the module caches a token
on its second verification), and its child's RSS is sampled along the way.  A perf profile of the clerk child in
scenario (b) attributes its CPU time; bench/microbench.c times each step of
the module's request path natively in one thread; and callgrind
(bench/callgrind.py) counts user-space instructions per request for every
server, which unlike req/s does not depend on what else the machine is doing.

Environment (all optional):
  BENCH_DURATION=4  BENCH_ROUNDS=5  BENCH_WARMUP=1  BENCH_CONNECTIONS=16
  BENCH_THREADS=1   BENCH_TOKENS=100000  BENCH_RSS_REQUESTS=1000000
  BENCH_RSS_MAX_SECONDS=240  BENCH_PERF=1  BENCH_PORT=18081 (4 ports from it)
  BENCH_CALLGRIND=1  BENCH_CG_REQUESTS=500  BENCH_WAIT_QUIET=120
  BENCH_MICRO=1  BENCH_MICRO_N=20000
  BENCH_STATIC=fast (EnableMMAP Off, EnableSendfile On; "mmap": httpd's defaults)
  BENCH_NOISE_LIMIT_PCT=10  BENCH_NOISE_RETRIES=3 (a round in which other
  processes used more than that share of the server's or wrk's CPU is redone)
  BENCH_RETRY_BUDGET=90 (seconds of redone rounds in all)
  BENCH_PRIVATE_KEY, BENCH_PUBLIC_KEY, BENCH_KID (default: tests/vectors key)
  BENCH_SCENARIOS=abc  APACHE2=/usr/sbin/apache2
"""
import datetime
import http.client
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
import mint  # noqa: E402

APACHE = os.environ.get("APACHE2", "/usr/sbin/apache2")
MODDIR = Path(os.environ.get("APACHE2_MODULES", "/usr/lib/apache2/modules"))
BUILT_MODULE = REPO / "build" / "mod_auth_clerk.so"
OPENIDC = MODDIR / "mod_auth_openidc.so"
OUT = REPO / "build" / "bench"
# A private copy: a rebuild during the run (make replaces the file) changes
# neither the servers nor perf's symbols.
MODULE = OUT / "mod_auth_clerk.so"
VEC = REPO / "tests" / "vectors" / "clerk" / "keys"
KID = os.environ.get("BENCH_KID", "ins_2GIoQhbUpy0hX7B2cVkuTMinXoD")
PRIVATE = Path(os.environ.get("BENCH_PRIVATE_KEY", VEC / (KID + ".private.pem")))
PUBLIC = Path(os.environ.get("BENCH_PUBLIC_KEY", VEC / (KID + ".public.pem")))


def env_int(name, default):
    return int(os.environ.get(name, default))


DURATION = env_int("BENCH_DURATION", 4)
ROUNDS = env_int("BENCH_ROUNDS", 5)
WARMUP = env_int("BENCH_WARMUP", 1)
CONNECTIONS = env_int("BENCH_CONNECTIONS", 16)
THREADS = env_int("BENCH_THREADS", 1)
N_TOKENS = env_int("BENCH_TOKENS", 100000)
RSS_REQUESTS = env_int("BENCH_RSS_REQUESTS", 1000000)
RSS_MAX_SECONDS = env_int("BENCH_RSS_MAX_SECONDS", 240)
PERF = env_int("BENCH_PERF", 1)
CALLGRIND = env_int("BENCH_CALLGRIND", 1)
NOISE_LIMIT = env_int("BENCH_NOISE_LIMIT_PCT", 10) / 100.0
# How the static file is sent, the same for every server.  "fast" (default):
# read + sendfile, the fastest way httpd serves a small file here.  "mmap":
# httpd's compiled-in defaults (EnableMMAP On, EnableSendfile Off), which map
# and unmap the file for every request; on this VM each munmap's TLB flush
# costs ~35 us, which lowers the no-auth ceiling by half and flatters every
# auth module's ratio.
STATIC = os.environ.get("BENCH_STATIC", "fast")
STATIC_CONF = {"fast": "EnableMMAP Off\nEnableSendfile On",
               "mmap": "EnableMMAP On\nEnableSendfile Off"}.get(STATIC)
if STATIC_CONF is None:
    sys.exit("bench: BENCH_STATIC must be fast or mmap")
NOISE_RETRIES = env_int("BENCH_NOISE_RETRIES", 3)
RETRY_BUDGET = env_int("BENCH_RETRY_BUDGET", 90)
PORT = env_int("BENCH_PORT", 18081)
SCENARIOS = os.environ.get("BENCH_SCENARIOS", "abc")
TOKEN_TTL = 12 * 3600
PATH = "/bench.txt"

NCPU = os.cpu_count() or 1
PIN = NCPU >= 2 and shutil.which("taskset")
SERVER_CPU = ["taskset", "-c", "0"] if PIN else []
CLIENT_CPU = ["taskset", "-c", "1"] if PIN else []
IS_ROOT = os.geteuid() == 0
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


T_START = time.time()


def log(msg):
    t = int(time.time() - T_START)
    print("bench [%d:%02d]: %s" % (t // 60, t % 60, msg), flush=True)


def die(msg):
    print("bench: ERROR: " + msg, file=sys.stderr, flush=True)
    sys.exit(1)


# ---- httpd ---------------------------------------------------------------

COMMON = """# Generated by bench/bench.py ({name}); rewritten on every run.
ServerRoot "{out}"
DefaultRuntimeDir "{run}"
PidFile "{run}/httpd.pid"
Listen 127.0.0.1:{port}
ServerName 127.0.0.1:{port}
{user}
LoadModule mpm_event_module {moddir}/mod_mpm_event.so
LoadModule authn_core_module {moddir}/mod_authn_core.so
LoadModule authz_core_module {moddir}/mod_authz_core.so
LoadModule authz_user_module {moddir}/mod_authz_user.so
LoadModule mime_module {moddir}/mod_mime.so
{load}
# Identical for every server: one child, 32 threads, keep-alive.
StartServers 1
ServerLimit 1
ThreadLimit 32
ThreadsPerChild 32
MaxRequestWorkers 32
MinSpareThreads 1
MaxSpareThreads 64
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 30
ErrorLog "{out}/logs/{name}-error.log"
LogLevel warn
# No access log (no CustomLog).
TypesConfig /etc/mime.types
{static}

{server}
DocumentRoot "{out}/htdocs"
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory "{out}/htdocs">
    Options None
    AllowOverride None
{auth}
</Directory>
"""

# The two mod_auth_clerk servers differ only in ClerkTokenCache.
CLERK_AUTH = """    AuthType Clerk
    AuthName bench
    ClerkJWTKeyFile "{public}"
    ClerkIssuer {issuer}
    ClerkAuthorizedParties {azp}
    Require valid-user"""

SERVERS = {
    "noauth": dict(
        load="",
        server="",
        auth="    Require all granted"),
    "clerk": dict(
        load="LoadModule auth_clerk_module {module}",
        server="# ClerkTokenCache: not set, so the default (4096 entries per process).\n",
        auth=CLERK_AUTH),
    "clerk-nocache": dict(
        load="LoadModule auth_clerk_module {module}",
        server="ClerkTokenCache 0\n",
        auth=CLERK_AUTH),
    "openidc": dict(
        load="LoadModule auth_openidc_module {openidc}",
        server="""# Resource-server mode: verify the bearer JWT locally with the same key.
OIDCOAuthVerifyCertFiles {kid}#{public}
OIDCOAuthRemoteUserClaim sub
OIDCCryptoPassphrase bench-only-passphrase-not-a-secret
""",
        auth="""    AuthType oauth20
    Require valid-user"""),
}
PORTS = {"noauth": PORT, "clerk": PORT + 1, "openidc": PORT + 2, "clerk-nocache": PORT + 3}


class Httpd:
    def __init__(self, name, wrapper=None):
        """wrapper: a command to run httpd under (valgrind); then httpd runs
        as one process (-X) and start() waits longer."""
        self.wrapper = wrapper
        self.name = name
        self.port = PORTS[name]
        self.run = OUT / ("run-" + name)
        self.conf = OUT / "conf" / (name + ".conf")
        self.proc = None

    def write_conf(self):
        spec = SERVERS[self.name]
        fill = dict(module=MODULE, openidc=OPENIDC, public=OUT / "keys" / "public.pem",
                    issuer=mint.ISSUER, azp=mint.AZP, kid=KID)
        text = COMMON.format(
            name=self.name, out=OUT, run=self.run, port=self.port, moddir=MODDIR,
            static=STATIC_CONF,
            user="User www-data\nGroup www-data\n" if IS_ROOT else "",
            load=spec["load"].format(**fill), server=spec["server"].format(**fill),
            auth=spec["auth"].format(**fill))
        self.conf.write_text(text)

    def start(self):
        self.write_conf()
        if self.run.exists():
            shutil.rmtree(self.run)
        self.run.mkdir(parents=True)
        if IS_ROOT:
            shutil.chown(self.run, "www-data", "www-data")
        t = subprocess.run([APACHE, "-t", "-f", str(self.conf)], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        if t.returncode != 0:
            die("%s: configtest failed:\n%s" % (self.name, t.stdout))
        if self.wrapper:
            cmd = self.wrapper + [APACHE, "-X", "-f", str(self.conf)]
        else:
            cmd = SERVER_CPU + [APACHE, "-f", str(self.conf), "-DFOREGROUND"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + (120 if self.wrapper else 15)
        while time.time() < deadline:
            if self.proc.poll() is not None:
                die("%s: httpd exited: %s" % (self.name, self.proc.stderr.read().decode()))
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/")
                c.getresponse().read()
                c.close()
                if self.wrapper or self.children():
                    return
            except OSError:
                pass
            time.sleep(0.1)
        die("%s: httpd did not answer on port %d" % (self.name, self.port))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def children(self):
        """Pids of the parent's worker children."""
        if not self.proc:
            return []
        out = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % d) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid:
                out.append(int(d))
        return sorted(out)

    def cpu_seconds(self):
        """User + system CPU of the parent and its children so far."""
        total = 0
        for pid in [self.proc.pid] + self.children():
            try:
                with open("/proc/%d/stat" % pid) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
            except OSError:
                pass
        return total / CLK_TCK

    def rss_kb(self):
        """Summed RSS of the worker children, in KiB."""
        total = 0
        for pid in self.children():
            try:
                with open("/proc/%d/status" % pid) as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            total += int(line.split()[1])
            except OSError:
                pass
        return total

    def url(self):
        return "http://127.0.0.1:%d%s" % (self.port, PATH)


def get_status(port, token=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Authorization": "Bearer " + token} if token else {}
    c.request("GET", PATH, headers=headers)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, len(body)


# ---- wrk -----------------------------------------------------------------

def to_ms(value):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", value)
    if not m:
        return float("nan")
    v = float(m.group(1))
    return v * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[m.group(2)]


def parse_wrk(text):
    r = {"rps": 0.0, "p50": float("nan"), "p99": float("nan"), "requests": 0,
         "non2xx": 0, "sockerr": 0}
    m = re.search(r"Requests/sec:\s*([\d.]+)", text)
    if m:
        r["rps"] = float(m.group(1))
    m = re.search(r"(\d+) requests in", text)
    if m:
        r["requests"] = int(m.group(1))
    for pct, key in (("50", "p50"), ("99", "p99")):
        m = re.search(r"^\s+%s%%\s+(\S+)" % pct, text, re.M)
        if m:
            r[key] = to_ms(m.group(1))
    m = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", text)
    if m:
        r["non2xx"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        r["sockerr"] = sum(int(x) for x in m.groups())
    return r


def wrk_once(server, seconds, mode, token, tokens_file, start=None, repeat=1):
    cmd = CLIENT_CPU + ["wrk", "-t%d" % THREADS, "-c%d" % CONNECTIONS, "-d%ds" % seconds,
                        "--latency", "--timeout", "5s"]
    env = dict(os.environ, BENCH_THREADS=str(THREADS))
    if mode == "distinct":
        cmd += ["-s", str(HERE / "tokens.lua")]
        env["BENCH_TOKENS_FILE"] = str(tokens_file)
        env["BENCH_TOKENS_REPEAT"] = str(repeat)
        if start is not None:
            env["BENCH_TOKENS_START"] = str(start)
        else:
            env.pop("BENCH_TOKENS_START", None)
    else:
        cmd += ["-H", "Authorization: Bearer " + token]
    cmd.append(server.url())
    cpu0 = server.cpu_seconds()
    core0 = core_busy_seconds(0), core_busy_seconds(1)
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.time()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       env=env, timeout=seconds + 120)
    elapsed = time.time() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu1 = server.cpu_seconds()
    core1 = core_busy_seconds(0), core_busy_seconds(1)
    r = parse_wrk(p.stdout)
    if p.returncode != 0 or r["requests"] == 0:
        die("wrk failed against %s:\n%s" % (server.name, p.stdout))
    server_cpu = cpu1 - cpu0
    wrk_cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    # Time on the server's CPU not spent in this httpd, and on the client's CPU
    # not spent in wrk: other processes (and interrupts).  That is noise.
    if PIN:
        r["other"] = max(0.0, (core1[0] - core0[0]) - server_cpu,
                         (core1[1] - core0[1]) - wrk_cpu) / elapsed
    else:
        r["other"] = 0.0
    r["cpu_us"] = server_cpu * 1e6 / r["requests"]
    # Share of one CPU the server used while loaded: ~100% means server-bound
    # (approximate: wrk's Lua start-up in scenario (b) is not load time).
    r["util"] = server_cpu / seconds
    r["wrk_util"] = wrk_cpu / elapsed
    r["raw"] = p.stdout
    return r


_retry_spent = [0.0]


def wrk(server, seconds, mode, token, tokens_file, start=None, retries=None, repeat=1):
    """One round; a round disturbed by other work on the machine is redone
    (at most `retries` times, and within BENCH_RETRY_BUDGET seconds in all,
    so a busy machine cannot stretch the run much past ten minutes)."""
    retries = NOISE_RETRIES if retries is None else retries
    for attempt in range(retries + 1):
        t0 = time.time()
        r = wrk_once(server, seconds, mode, token, tokens_file, start, repeat)
        r["retries"] = attempt
        if (r["other"] <= NOISE_LIMIT or attempt == retries
                or _retry_spent[0] >= RETRY_BUDGET):
            return r
        log("    %s: %.0f%% of a CPU used by other processes during the round; redoing it"
            % (server.name, 100 * r["other"]))
        time.sleep(3)
        _retry_spent[0] += time.time() - t0
    return r


# ---- the run ---------------------------------------------------------------

SCENARIO_SPECS = {
    "a": ("(a) same token", "same", ["noauth", "clerk", "openidc"]),
    "b": ("(b) distinct tokens", "distinct", ["noauth", "clerk", "openidc"]),
    "c": ("(c) cache off, same token", "same", ["noauth", "clerk-nocache"]),
}
TARGETS = {("a", "clerk"): 0.90, ("b", "clerk"): 0.60, ("c", "clerk-nocache"): 0.60}


def machine():
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal:"):
            mem = int(line.split()[1]) / 1024 / 1024
    osname = "?"
    try:
        for line in open("/etc/os-release"):
            if line.startswith("PRETTY_NAME="):
                osname = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "%d CPU (%s), %.0f GiB, %s, kernel %s" % (NCPU, cpu, mem, osname, platform.release())


def versions():
    out = []
    for cmd, pat in (([APACHE, "-v"], r"Server version: (\S+)"),
                     (["wrk", "--version"], r"(wrk \S+)"),
                     (["openssl", "version"], r"(OpenSSL \S+)")):
        try:
            t = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True).stdout
            m = re.search(pat, t)
            out.append(m.group(1) if m else "?")
        except OSError:
            out.append("?")
    try:
        t = subprocess.run(["dpkg-query", "-W", "-f", "${Version}",
                            "libapache2-mod-auth-openidc"], stdout=subprocess.PIPE,
                           text=True).stdout
        out.append("mod_auth_openidc " + (t or "?"))
    except OSError:
        out.append("mod_auth_openidc ?")
    return ", ".join(out)


def core_busy_seconds(cpu):
    """Busy (non-idle, non-iowait) seconds of one CPU so far."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu%d " % cpu):
                v = [int(x) for x in line.split()[1:]]
                return (sum(v[:8]) - v[3] - v[4]) / CLK_TCK
    return 0.0


def cpu_busy(seconds=1.0):
    """Fraction of all CPUs busy over a short interval (from /proc/stat)."""
    def snap():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[3] + v[4]
    t0, i0 = snap()
    time.sleep(seconds)
    t1, i1 = snap()
    return 1 - (i1 - i0) / max(t1 - t0, 1)


def wait_quiet(limit=None):
    """Other work on the machine skews every figure: wait a while for quiet."""
    limit = env_int("BENCH_WAIT_QUIET", 120) if limit is None else limit
    t0 = time.time()
    busy = cpu_busy()
    while busy > 0.10 and time.time() - t0 < limit:
        log("machine busy (%.0f%% CPU used by other processes); waiting for it to settle"
            % (busy * 100))
        time.sleep(4)
        busy = cpu_busy()
    if busy > 0.10:
        log("WARNING: machine still %.0f%% busy; figures will be low and noisy" % (busy * 100))
    return busy


def prepare():
    for tool in ("wrk", APACHE):
        if not shutil.which(tool):
            die("%s is not installed (Debian: apt-get install wrk apache2)" % tool)
    if not BUILT_MODULE.exists():
        die("%s is missing: run make" % BUILT_MODULE)
    if not OPENIDC.exists():
        die("%s is missing (Debian: apt-get install libapache2-mod-auth-openidc)" % OPENIDC)
    for d in ("conf", "logs", "htdocs", "keys", "tokens", "perf"):
        (OUT / d).mkdir(parents=True, exist_ok=True)
    for f in (OUT / "logs").glob("*.log"):
        f.unlink()
    # Exactly 100 bytes.
    (OUT / "htdocs" / "bench.txt").write_bytes(b"mod_auth_clerk bench: a static file of exactly one hundred bytes"
                                               .ljust(99, b".") + b"\n")
    assert (OUT / "htdocs" / "bench.txt").stat().st_size == 100
    shutil.copyfile(PUBLIC, OUT / "keys" / "public.pem")
    shutil.copyfile(BUILT_MODULE, str(MODULE) + ".tmp")
    os.chmod(str(MODULE) + ".tmp", 0o755)
    os.replace(str(MODULE) + ".tmp", MODULE)
    # httpd's children (www-data when run as root) must read the tree.
    for p in [OUT] + [OUT / d for d in ("conf", "logs", "htdocs", "keys")]:
        os.chmod(p, 0o755)
    for p in REPO, REPO / "build":
        mode = p.stat().st_mode
        if not mode & 0o001:
            log("note: %s is not world-traversable; httpd children may not read the tree" % p)


def bad_token(token):
    """The same token with one signature character changed (still canonical)."""
    head, sig = token.rsplit(".", 1)
    i = len(sig) // 2
    return head + "." + sig[:i] + ("A" if sig[i] != "A" else "B") + sig[i + 1:]


def sanity(servers, token, distinct_sample):
    log("sanity check (status codes before measuring):")
    bad = bad_token(token)
    ok = True
    for name, srv in servers.items():
        got = {
            "valid": get_status(srv.port, token)[0],
            "distinct": get_status(srv.port, distinct_sample)[0],
            "bad-signature": get_status(srv.port, bad)[0],
            "none": get_status(srv.port)[0],
        }
        want = ({"valid": 200, "distinct": 200, "bad-signature": 200, "none": 200}
                if name == "noauth" else
                {"valid": 200, "distinct": 200, "bad-signature": 401, "none": 401})
        verdict = "ok" if got == want else "UNEXPECTED"
        ok &= got == want
        log("  %-14s valid token %d, another valid token %d, bad signature %d, no token %d"
            "  -> %s" % (name, got["valid"], got["distinct"], got["bad-signature"], got["none"],
                         verdict))
    size = get_status(servers["noauth"].port)[1]
    log("  static file: %d bytes" % size)
    if not ok:
        for name in servers:
            p = OUT / "logs" / (name + "-error.log")
            if p.exists():
                print(p.read_text()[-3000:], file=sys.stderr)
        die("sanity check failed: the servers do not answer as expected")


def fmt_ms(v):
    return "%.2f" % v if v == v else "-"


def run_scenarios(servers, token, tokens_file):
    results = {}
    for key in SCENARIOS:
        title, mode, names = SCENARIO_SPECS[key]
        log("%s: %d x %d s rounds, alternating %s" % (title, ROUNDS, DURATION, ", ".join(names)))
        if WARMUP:
            for n in names:
                wrk(servers[n], WARMUP, mode, token, tokens_file, retries=0)
        per = {n: [] for n in names}
        for rnd in range(ROUNDS):
            line = []
            for n in names:
                r = wrk(servers[n], DURATION, mode, token, tokens_file)
                per[n].append(r)
                line.append("%s %.0f req/s (%.1f us CPU/req, wrk %.0f%%%s)"
                            % (n, r["rps"], r["cpu_us"], 100 * r["wrk_util"],
                               ", noise %.0f%%" % (100 * r["other"]) if r["other"] > 0.05
                               else ""))
            base = per["noauth"][-1]["rps"]
            log("  round %d: %s; ratios %s" % (rnd + 1, "; ".join(line), ", ".join(
                "%s %.2f" % (n, per[n][-1]["rps"] / base) for n in names if n != "noauth")))
        results[key] = per
    return results


def median_of(rounds, field):
    return statistics.median(r[field] for r in rounds)


def table(results):
    lines = []
    hdr = "%-27s %-14s %9s %8s %8s %6s %11s %7s %7s %10s %5s %6s" % (
        "scenario", "server", "req/s", "p50 ms", "p99 ms", "ratio", "(min-max)", "non-2xx",
        "sockerr", "CPU us/req", "util", "noise")
    lines.append(hdr)
    lines.append("-" * len(hdr))
    verdicts = []
    for key in SCENARIOS:
        title, mode, names = SCENARIO_SPECS[key]
        per = results[key]
        base = per["noauth"]
        for n in names:
            rps = median_of(per[n], "rps")
            # Each round's figure against the no-auth figure of the same round
            # (measured seconds before): drift of the machine cancels out.
            ratios = [r["rps"] / b["rps"] for r, b in zip(per[n], base) if b["rps"]]
            ratio = statistics.median(ratios) if ratios else 0.0
            non2xx = sum(r["non2xx"] for r in per[n])
            sockerr = sum(r["sockerr"] for r in per[n])
            mark = ""
            target = TARGETS.get((key, n))
            if target is not None:
                good = ratio >= target and non2xx == 0
                mark = "  target >= %.2f: %s" % (target, "MET" if good else "NOT MET")
                verdicts.append((title, n, ratio, target, good, non2xx))
            lines.append("%-27s %-14s %9.0f %8s %8s %6.3f %11s %7d %7d %10.1f %4.0f%% %5.0f%%%s"
                         % (title, n, rps, fmt_ms(median_of(per[n], "p50")),
                            fmt_ms(median_of(per[n], "p99")), ratio,
                            "%.2f-%.2f" % (min(ratios), max(ratios)) if ratios else "-",
                            non2xx, sockerr, median_of(per[n], "cpu_us"),
                            100 * median_of(per[n], "util"),
                            100 * max(r["other"] for r in per[n]), mark))
        lines.append("")
    return lines, verdicts


def rss_run(tokens_file, ntokens, name="clerk", requests=None):
    """A fresh clerk server, >= requests requests: each token twice in a row,
    so that with the cache on every second request is an insert (the
    doorkeeper admits a token on its second verification) and an eviction."""
    requests = RSS_REQUESTS if requests is None else requests
    srv = Httpd(name)
    srv.start()
    try:
        with open(tokens_file) as f:
            first = f.readline().strip()
        assert get_status(srv.port, first)[0] == 200
        samples = [(1, srv.rss_kb())]
        log("RSS run: fresh %s server (%s), child RSS %d KiB after 1 request"
            % (name, "ClerkTokenCache 0" if name == "clerk-nocache"
               else "ClerkTokenCache default 4096", samples[0][1]))
        total, t0 = 0, time.time()
        # First a short chunk: enough distinct tokens to fill the cache.
        chunk_s = 2
        rps_seen = []
        while total < requests and time.time() - t0 < RSS_MAX_SECONDS:
            r = wrk(srv, chunk_s, "distinct", None, tokens_file, start=total // 2, retries=0,
                    repeat=2)
            total += r["requests"]
            rps_seen.append(r["rps"])
            if r["non2xx"] or r["sockerr"]:
                log("  WARNING: %d non-2xx, %d socket errors" % (r["non2xx"], r["sockerr"]))
            samples.append((total, srv.rss_kb()))
            log("  after %9d requests: child RSS %7d KiB  (%.0f req/s)"
                % (total, samples[-1][1], r["rps"]))
            left = requests - total
            chunk_s = max(2, min(20, int(left / max(r["rps"], 1) / 2) + 1)) if left > 0 else 0
        return samples, total, time.time() - t0, statistics.median(rps_seen)
    finally:
        srv.stop()


PERF_SYMBOLS = [
    ("clerk_check_authn", "the module's check_authn hook, all of it"),
    ("clerk_verify_token", "full verification (cache miss)"),
    ("clerk_rsa_verify", "RSA-2048 verify incl. SHA-256 of the signing input"),
    ("clerk_rsa_verifier_check", "  digest + RSA on the key's reused context"),
    ("EVP_PKEY_verify", "    the RSA public operation"),
    ("BN_mod_exp_mont", "    of which the RSA exponentiation"),
    ("clerk_jws_parse", "JWS split, base64url, header JSON"),
    ("clerk_json_parse_object", "hardened JSON parsing (header + payload)"),
    ("clerk_claims_build", "claims model"),
    ("clerk_export_vars", "variables to export"),
    ("clerk_json_compact", "  CLERK_CLAIMS re-serialised (a non-compact payload)"),
    ("clerk_token_cache_key", "cache key: SHA-256 over context + token"),
    ("clerk_token_cache_get", "cache lookup"),
    ("clerk_token_cache_admit", "doorkeeper: cache a token on its 2nd verification"),
    ("clerk_token_cache_put", "cache insert + eviction (+ frees)"),
    ("clerk_bearer_token", "Authorization header parsing"),
    ("export_claims", "CLERK_* into subprocess_env"),
    ("SHA256_Update", "SHA-256 compression, all callers"),
    ("json_loadb", "jansson json_loadb, all callers"),
    ("malloc", "malloc, all callers"),
    ("free", "free, all callers"),
]


def perf_profile(servers, tokens_file):
    if not PERF or not shutil.which("perf"):
        log("perf profile skipped (BENCH_PERF=0 or perf not installed)")
        return None
    srv = servers["clerk"]
    child = srv.children()
    if len(child) != 1:
        log("perf profile skipped: %d children" % len(child))
        return None
    data = OUT / "perf" / "clerk-distinct.data"
    seconds = 3
    log("perf: profiling the clerk child (pid %d) during scenario (b) for %d s (cpu-clock, "
        "dwarf call graphs)" % (child[0], seconds))
    rec = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", "1999",
                            "--call-graph", "dwarf,16384", "-p", str(child[0]),
                            "-o", str(data), "--", "sleep", str(seconds + 1)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(0.3)
    r = wrk(srv, seconds + 2, "distinct", None, tokens_file, retries=0)
    _, err = rec.communicate(timeout=120)
    if rec.returncode != 0 or not data.exists():
        log("perf record failed: %s" % err.decode()[-500:])
        return None
    def report(name, *args):
        """One perf report of the recording, also kept under perf/."""
        text = subprocess.run(["perf", "report", "-i", str(data), "--stdio", "-g", "none"]
                              + list(args), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True, timeout=600).stdout
        (OUT / "perf" / ("report-%s.txt" % name)).write_text(text)
        return text

    rep = report("children", "--children", "--no-demangle", "--percent-limit", "0.3",
                 "--sort", "symbol")
    report("self", "--no-children", "--no-demangle", "--percent-limit", "1",
           "--sort", "dso,symbol")
    dsorep = report("dso", "--no-children", "--sort", "dso")
    incl = {}
    for line in rep.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+([\d.]+)%\s+\[[.kAu]\]\s+(\S+)", line)
        if m:
            # export_claims.isra.0 -> export_claims
            incl.setdefault(m.group(3).split(".")[0], float(m.group(1)))
    dsos = []
    for line in dsorep.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(\S+)", line)
        if m:
            dsos.append((m.group(2), float(m.group(1))))
    return {"cpu_us": r["cpu_us"], "rps": r["rps"], "incl": incl, "dsos": dsos}


def microbench(tokens_file):
    """Build and run bench/microbench.c against the core objects of make."""
    objs = [REPO / "build" / "obj" / (Path(c).stem + ".o") for c in sorted(
        (REPO / "src").glob("*.c"))]
    missing = [o for o in objs if not o.exists()]
    if missing:
        return ["microbench skipped: %s missing (make cli builds it)" % missing[0]]
    exe = OUT / "microbench"

    def conf(tool, *args):
        return subprocess.run([tool] + list(args), stdout=subprocess.PIPE, text=True,
                              check=True).stdout.split()
    try:
        cmd = (["cc", "-O2", "-g", "-std=c11", "-D_GNU_SOURCE", "-I" + str(REPO / "src")]
               + conf("apr-1-config", "--cppflags", "--includes")
               + conf("apu-1-config", "--includes")
               + [str(HERE / "microbench.c")] + [str(o) for o in objs]
               + ["-o", str(exe)] + conf("apr-1-config", "--link-ld", "--libs")
               + conf("apu-1-config", "--link-ld", "--libs")
               + ["-ljansson", "-lcrypto", "-lcurl"])
        b = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    except (OSError, subprocess.CalledProcessError) as e:
        return ["microbench skipped: %s" % e]
    if b.returncode != 0:
        return ["microbench skipped: it does not build against this src/:",
                b.stdout[-1500:]]
    n = env_int("BENCH_MICRO_N", 20000)
    r = subprocess.run(SERVER_CPU + [str(exe), str(OUT / "keys" / "public.pem"),
                                     str(tokens_file), str(n), mint.ISSUER, mint.AZP],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=600)
    head = ("Per-operation cost, native, one thread on CPU 0, mean over %d distinct tokens "
            "(bench/microbench.c):" % n)
    return [head] + ["  " + l for l in r.stdout.splitlines()]


def perf_lines(p):
    lines = ["CPU profile of the clerk child in scenario (b), every request a cache miss",
             "(perf cpu-clock, inclusive time; us/req = share x %.1f us CPU per request at "
             "%.0f req/s under perf):" % (p["cpu_us"], p["rps"])]
    for sym, what in PERF_SYMBOLS:
        if sym in p["incl"]:
            pct = p["incl"][sym]
            lines.append("  %5.1f%%  %5.1f us  %-26s %s" % (pct, pct * p["cpu_us"] / 100, sym,
                                                          what))
    lines.append("  by shared object (self time):")
    for dso, pct in p["dsos"][:8]:
        lines.append("  %5.1f%%  %5.1f us  %s" % (pct, pct * p["cpu_us"] / 100, dso))
    lines.append("  full reports: %s" % (OUT / "perf"))
    return lines


def main():
    t_start = time.time()
    prepare()
    log("machine: " + machine())
    log("software: " + versions())
    log("pinning: " + ("httpd on CPU 0, wrk on CPU 1" if PIN else
                       "none (fewer than 2 CPUs or no taskset): httpd and wrk share the CPUs"))
    log("wrk: %d thread(s), %d connections, %d s rounds x %d, median reported"
        % (THREADS, CONNECTIONS, DURATION, ROUNDS))
    busy_before = wait_quiet()

    token = mint.mint_one(str(PRIVATE), KID, 999999999, TOKEN_TTL)
    tokens_file = mint.distinct_tokens(OUT / "tokens", str(PRIVATE), KID, N_TOKENS, TOKEN_TTL,
                                       env_int("BENCH_TOKEN_MIN_LEFT", 3600), log)
    with open(tokens_file) as f:
        sample = f.readline().strip()
    log("token: %d bytes (Clerk v2 session token shape, RS256, kid %s)" % (len(token), KID))

    needed = {n for k in SCENARIOS for n in SCENARIO_SPECS[k][2]} | {"noauth", "clerk",
                                                                     "openidc"}
    servers = {n: Httpd(n) for n in ["noauth", "clerk", "openidc", "clerk-nocache"]
               if n in needed}
    try:
        for s in servers.values():
            s.start()
        sanity(servers, token, sample)
        busy_before = max(busy_before, cpu_busy())
        results = run_scenarios(servers, token, tokens_file)
        prof = perf_profile(servers, tokens_file)
    finally:
        for s in servers.values():
            s.stop()

    rss = rss_ctl = None
    if RSS_REQUESTS > 0:
        rss = rss_run(tokens_file, N_TOKENS)
        # Control: the same traffic with the cache off, to tell the cache's
        # memory from what httpd's threads and pools and malloc's arenas take.
        rss_ctl = rss_run(tokens_file, N_TOKENS, "clerk-nocache",
                          env_int("BENCH_RSS_CONTROL_REQUESTS", 200000))

    micro = None
    if env_int("BENCH_MICRO", 1):
        log("microbench: per-operation costs")
        busy = wait_quiet(min(30, env_int("BENCH_WAIT_QUIET", 120)))
        micro = microbench(tokens_file)
        if busy > 0.10:
            micro.append("  (machine %.0f%% busy with other work: figures are high)"
                         % (100 * busy))

    cg = None
    if CALLGRIND and shutil.which("valgrind"):
        import callgrind
        log("callgrind: instructions per request, %d requests per server and phase"
            % callgrind.N)
        cg = callgrind.run(token, tokens_file)
    elif CALLGRIND:
        log("callgrind part skipped: valgrind is not installed")

    lines, verdicts = table(results)
    print()
    print("=" * 100)
    print("mod_auth_clerk benchmark, %s" % datetime.datetime.now().strftime("%Y-%m-%d %H:%M"))
    print("machine: " + machine())
    print("software: " + versions())
    print("load: wrk -t%d -c%d, %d s rounds, %d rounds alternating servers, median; "
          "100-byte static file; %s"
          % (THREADS, CONNECTIONS, DURATION, ROUNDS,
             "httpd pinned to CPU 0, wrk to CPU 1" if PIN else "no CPU pinning"))
    print("httpd: event MPM, 1 child x 32 threads, KeepAlive On, LogLevel warn, no access log, "
          "%s (BENCH_STATIC=%s)" % (STATIC_CONF.replace("\n", ", "), STATIC))
    print("idle check before measuring: %.0f%% of the CPUs busy with other work%s"
          % (busy_before * 100, "  ** WARNING: noisy **" if busy_before > 0.10 else ""))
    print("req/s, p50, p99, CPU: median over the rounds; ratio: median over the rounds of "
          "req/s / req/s of noauth in the same round")
    print("(same client script; noauth runs first in every round), with the lowest and "
          "highest round")
    print("non-2xx = wrk's count of responses >= 400 summed over all rounds; "
          "CPU us/req = server user+sys CPU / requests;")
    print("util = the server's CPU use while loaded (100% = one core: server-bound); "
          "noise = largest share of CPU 0 or CPU 1")
    print("used by anything but that httpd or wrk during a kept round (other processes); "
          "rounds above %d%% are redone up to %d times"
          % (100 * NOISE_LIMIT, NOISE_RETRIES))
    print("(within %d s of redone rounds in all; %.0f s used)" % (RETRY_BUDGET, _retry_spent[0]))
    print()
    for l in lines:
        print(l)
    if rss:
        samples, total, secs, rps = rss
        full = samples[1][1] if len(samples) > 1 else samples[0][1]
        print("RSS (clerk child, ClerkTokenCache default 4096 entries): %d requests in %.0f s "
              "(%.0f req/s), each token twice in a row," % (total, secs, rps))
        print("  cycling through %d distinct valid tokens: every request is a cache miss and "
              "a verification, every second one an insert and an eviction." % N_TOKENS)
        print("  fresh (1 request): %d KiB; after %d requests (cache full): %d KiB; "
              "after %d requests: %d KiB; growth after the cache filled: %+d KiB"
              % (samples[0][1], samples[1][0], full, total, samples[-1][1],
                 samples[-1][1] - full))
        print("  peak %d KiB; samples: %s" % (max(s[1] for s in samples),
                                             ", ".join("%dk:%d" % (n // 1000, kb)
                                                       for n, kb in samples)))
        if total < RSS_REQUESTS:
            print("  NOTE: stopped at BENCH_RSS_MAX_SECONDS before %d requests" % RSS_REQUESTS)
    if rss_ctl:
        samples, total, secs, rps = rss_ctl
        print("  control, ClerkTokenCache 0, same traffic: fresh %d KiB; after %d requests: "
              "%d KiB; after %d requests: %d KiB"
              % (samples[0][1], samples[1][0], samples[1][1], total, samples[-1][1]))
        if rss:
            print("  => memory held by the 4096-entry cache: about %d KiB (%d B per entry); "
                  "it stops growing once the cache is full"
                  % (rss[0][-1][1] - samples[-1][1],
                     (rss[0][-1][1] - samples[-1][1]) * 1024 // 4096))
    if prof:
        print()
        for l in perf_lines(prof):
            print(l)
    if micro:
        print()
        for l in micro:
            print(l)
    if cg:
        print()
        for l in cg:
            print(l)
    print()
    for title, n, ratio, target, good, non2xx in verdicts:
        print("%-27s %-14s ratio %.3f (target >= %.2f, non-2xx %d): %s"
              % (title, n, ratio, target, non2xx, "MET" if good else "NOT MET"))
    print("total time: %.0f s; raw wrk output and logs: %s" % (time.time() - t_start, OUT))
    print("=" * 100)
    # Keep raw results for the README.
    with open(OUT / "results.txt", "w") as f:
        for key in SCENARIOS:
            for n, rounds in results[key].items():
                for i, r in enumerate(rounds):
                    f.write("### %s %s round %d\n%s\n" % (key, n, i + 1, r["raw"]))


if __name__ == "__main__":
    def _term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, _term)
    try:
        main()
    except KeyboardInterrupt:
        die("interrupted")
