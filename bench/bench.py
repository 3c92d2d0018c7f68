#!/usr/bin/python3
"""`make bench`: mod_auth_clerk against no auth and mod_auth_openidc.

  bench.py               the benchmark (./bench/run.sh, make bench)
  bench.py --callgrind   only the instructions per request (callgrind.py)

Starts httpd instances on 127.0.0.1 with identical event-MPM settings, all
serving the same 100-byte static file (servers.py):

  noauth         no authentication (the ceiling)
  clerk          AuthType Clerk, ClerkJWTKeyFile, default ClerkTokenCache (4096)
  clerk-nocache  the same with ClerkTokenCache 0
  openidc        Debian's mod_auth_openidc, AuthType oauth20, verifying the
                 same RS256 token locally (OIDCOAuthVerifyCertFiles kid#key)
  rsa-only       the control for the cost of RSA in the server: bench/
                 mod_bench_rsa.c checks each token's signature with the
                 module's own RSA verifier and does nothing else
  rsa-json       rsa-only, and the payload decoded and parsed with the
                 module's own jansson parse (BenchRSAParsePayload On): the
                 control for what jansson costs in the server

The servers run on CPU 0 and wrk on CPU 1 (when there are two).  wrk rounds
alternate between the servers (noauth first in each round); each figure is
the median of the rounds, and each ratio is the median over the rounds of
req/s against the no-auth server's req/s in the same round, with the same
client script (so a machine whose speed drifts over minutes, as VMs do,
still gives fair ratios).  Scenarios (load.py):

  (a) same token   every request carries one valid token (cache hit)
  (b) distinct     every request a different valid token (wrk Lua script
                   cycling through BENCH_TOKENS pre-minted tokens: cache miss)
  (c) cache off    the same token, ClerkTokenCache 0 (every request verified)

In (b) and (c) rsa-only runs in the same rounds: a new token's CPU per
request above no auth is compared with the RSA verification's above no auth,
both measured in the server (report.py, target <= 1.3x); in (b) rsa-json
too, which splits it into the RSA verification, the payload's jansson parse
and the rest.

Then RSS: a fresh clerk server (default cache, 4096 entries) gets >= 1 000 000
requests cycling through the distinct tokens, each token twice in a row (so
every second request is an insert and an eviction: the module caches a token
on its second verification), and its child's RSS is sampled along the way.
A perf profile of the clerk child in scenario (b) attributes its CPU time;
bench/microbench.c times each step of the module's request path natively in
one thread (profiling.py); and callgrind (callgrind.py) counts user-space
instructions per request for every server, which unlike req/s does not
depend on what else the machine is doing.  A second table runs the same
scenarios (without openidc, BENCH_DEBIAN_ROUNDS rounds) on servers
configured as Debian ships httpd (servers.PROFILES).  scale.py measures a
configuration of 2 000 virtual hosts with 50 key sources.  report.py prints
the result.

The knobs (BENCH_DURATION, BENCH_ROUNDS, BENCH_SCENARIOS, ...) and their
defaults are listed at the top of settings.py.
"""
import argparse
import shutil
import signal
import time

import callgrind
import host
import load
import mint
import profiling
import report
import scale
import servers
from settings import (CALLGRIND, CG_REQUESTS, CONNECTIONS, DEBIAN_ROUNDS, DURATION, KID, MICRO,
                      N_TOKENS, OUT, PRIVATE, ROUNDS, RSS_CONTROL_REQUESTS, RSS_REQUESTS, SCALE,
                      SCENARIOS, THREADS, TOKEN_MIN_LEFT, TOKEN_TTL, die, log)


def prepare():
    """Both modes: the prerequisites, then build/bench/."""
    host.check_prerequisites()
    servers.prepare_tree()


def tokens():
    """One token for the same-token runs and the file of distinct ones
    (minted once, then reused while they stay valid long enough)."""
    token = mint.mint_one(str(PRIVATE), KID, 999999999, TOKEN_TTL)
    tokens_file = mint.distinct_tokens(OUT / "tokens", str(PRIVATE), KID, N_TOKENS, TOKEN_TTL,
                                       TOKEN_MIN_LEFT, log)
    return token, tokens_file


def benchmark():
    t_start = time.time()
    prepare()
    log("machine: " + host.machine())
    log("software: " + host.versions())
    log("pinning: " + ("httpd on CPU 0, wrk on CPU 1" if host.PIN else
                       "none (fewer than 2 CPUs or no taskset): httpd and wrk share the CPUs"))
    log("wrk: %d thread(s), %d connections, %d s rounds x %d, median reported"
        % (THREADS, CONNECTIONS, DURATION, ROUNDS))
    busy_before = host.wait_quiet()

    token, tokens_file = tokens()
    with open(tokens_file) as f:
        sample = f.readline().strip()
    log("token: %d bytes (Clerk v2 session token shape, RS256, kid %s)" % (len(token), KID))

    # clerk-nocache starts only for scenario (c); the sanity check reads the
    # file from noauth and the perf profile loads clerk, whatever BENCH_SCENARIOS.
    needed = {n for k in SCENARIOS for n in load.SCENARIO_SPECS[k][2]} | {"noauth", "clerk",
                                                                          "openidc"}
    running = {n: servers.Httpd(n) for n in ["noauth", "clerk", "openidc", "clerk-nocache",
                                             "rsa-only", "rsa-json"]
               if n in needed}
    try:
        for s in running.values():
            s.start()
        servers.sanity(running, token, sample)
        busy_before = max(busy_before, host.cpu_busy())
        results = load.run_scenarios(running, token, tokens_file)
        prof = profiling.perf_profile(running, tokens_file)
    finally:
        for s in running.values():
            s.stop()

    # The second table: the same scenarios on servers configured as Debian
    # ships httpd (servers.PROFILES["debian"]), without openidc, fewer rounds.
    debian = None
    if DEBIAN_ROUNDS > 0:
        log("second table: Debian's default httpd configuration, %d rounds" % DEBIAN_ROUNDS)
        running = {n: servers.Httpd(n, profile="debian") for n in ["noauth", "clerk",
                                                                     "clerk-nocache", "rsa-only"]
                   if n in needed}
        try:
            for s in running.values():
                s.start()
            servers.sanity(running, token, sample)
            debian = load.run_scenarios(running, token, tokens_file, rounds=DEBIAN_ROUNDS)
        finally:
            for s in running.values():
                s.stop()

    rss = rss_ctl = None
    if RSS_REQUESTS > 0:
        rss = load.rss_run(tokens_file, "clerk", RSS_REQUESTS)
        # Control: the same traffic with the cache off, to tell the cache's
        # memory from what httpd's threads and pools and malloc's arenas take.
        rss_ctl = load.rss_run(tokens_file, "clerk-nocache", RSS_CONTROL_REQUESTS)

    micro = profiling.microbench(tokens_file) if MICRO else None

    cg = None
    if CALLGRIND and shutil.which("valgrind"):
        log("callgrind: instructions per request, %d requests per server and phase"
            % CG_REQUESTS)
        cg = callgrind.run(token, tokens_file)
    elif CALLGRIND:
        log("callgrind part skipped: valgrind is not installed")

    scaled = scale.run(token) if SCALE else None

    report.print_report(t_start, busy_before, results, debian, rss, rss_ctl,
                        [prof, micro, cg, scaled])
    report.write_results(results, debian)


def callgrind_only():
    prepare()
    if not shutil.which("valgrind"):
        die("valgrind is not installed (Debian: apt-get install valgrind)")
    token, tokens_file = tokens()
    print()
    for line in callgrind.run(token, tokens_file):
        print(line)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--callgrind", action="store_true",
                    help="only the instructions per request under callgrind")
    args = ap.parse_args()

    # SIGTERM (make interrupted, a CI timeout) must unwind through the
    # finally blocks that stop the httpd instances.
    def _term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, _term)
    try:
        callgrind_only() if args.callgrind else benchmark()
    except KeyboardInterrupt:
        die("interrupted")


if __name__ == "__main__":
    main()
