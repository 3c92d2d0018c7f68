"""Load: wrk runs and their parsing, the scenarios' alternating rounds, and
the RSS run.

A round disturbed by other work on the machine is redone; the CPU the server
and wrk used is measured around each run so that "other work" is what the
two CPUs did besides them.
"""
import os
import re
import resource
import statistics
import subprocess
import time

from host import CLIENT_CPU, PIN, core_busy_seconds
from servers import Httpd, get
from settings import (CONNECTIONS, DURATION, HERE, NOISE_LIMIT, NOISE_RETRIES, RETRY_BUDGET,
                      ROUNDS, RSS_MAX_SECONDS, SCENARIOS, THREADS, WARMUP, die, log)

# key: (title, wrk mode, servers in the order they run in each round)
SCENARIO_SPECS = {
    "a": ("(a) same token", "same", ["noauth", "clerk", "openidc"]),
    "b": ("(b) distinct tokens", "distinct", ["noauth", "clerk", "rsa-only", "rsa-json",
                                              "openidc"]),
    "c": ("(c) cache off, same token", "same", ["noauth", "clerk-nocache", "rsa-only"]),
}

# Seconds spent on redone rounds so far, against BENCH_RETRY_BUDGET.
retry_seconds = 0.0


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


def wrk(server, seconds, mode, token, tokens_file, start=None, retries=NOISE_RETRIES, repeat=1):
    """One round; a round disturbed by other work on the machine is redone
    (at most `retries` times, and within BENCH_RETRY_BUDGET seconds in all,
    so a busy machine cannot stretch the run much past ten minutes)."""
    global retry_seconds
    for attempt in range(retries + 1):
        t0 = time.time()
        r = wrk_once(server, seconds, mode, token, tokens_file, start, repeat)
        r["retries"] = attempt
        if (r["other"] <= NOISE_LIMIT or attempt == retries
                or retry_seconds >= RETRY_BUDGET):
            return r
        log("    %s: %.0f%% of a CPU used by other processes during the round; redoing it"
            % (server.name, 100 * r["other"]))
        time.sleep(3)
        retry_seconds += time.time() - t0
    return r


def run_scenarios(servers, token, tokens_file, rounds=ROUNDS):
    """{scenario key: {server name: [one wrk result per round]}}, for the
    scenario's servers that are in `servers` (the Debian table has no openidc)."""
    results = {}
    for key in SCENARIOS:
        title, mode, names = SCENARIO_SPECS[key]
        names = [n for n in names if n in servers]
        log("%s: %d x %d s rounds, alternating %s"
            % (title, rounds, DURATION, ", ".join(servers[n].tag for n in names)))
        if WARMUP:
            for n in names:
                wrk(servers[n], WARMUP, mode, token, tokens_file, retries=0)
        per = {n: [] for n in names}
        for rnd in range(rounds):
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


def rss_run(tokens_file, name, requests):
    """A fresh server, >= requests requests: each token twice in a row,
    so that with the cache on every second request is an insert (the
    doorkeeper admits a token on its second verification) and an eviction.
    Returns ([(requests so far, child RSS KiB)], requests, seconds, median req/s)."""
    srv = Httpd(name)
    srv.start()
    try:
        with open(tokens_file) as f:
            first = f.readline().strip()
        assert get(srv.port, [first])[0][0] == 200
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
