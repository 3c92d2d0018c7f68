"""The final report: the table of medians and ratios (what the main README's
"Performance" section quotes), the second table (Debian's default httpd
configuration), the RSS, profile, callgrind and configuration-scale sections,
the verdicts against the targets, and build/bench/results.txt."""
import datetime
import statistics
import time

import load
from host import PIN, machine, versions
from settings import (CONNECTIONS, DEBIAN_ROUNDS, DURATION, N_TOKENS, NOISE_LIMIT,
                      NOISE_RETRIES, OUT, RETRY_BUDGET, ROUNDS, RSS_REQUESTS, SCENARIOS, STATIC,
                      STATIC_CONF, THREADS)

# The ratio each authenticating server should reach against noauth.
# Issue 13's: (a) >= 0.95, (b) and (c) >= 0.60.
TARGETS = {("a", "clerk"): 0.95, ("b", "clerk"): 0.60, ("c", "clerk-nocache"): 0.60}


def fmt_ms(v):
    return "%.2f" % v if v == v else "-"


def median_of(rounds, field):
    return statistics.median(r[field] for r in rounds)


def table(results, targets=TARGETS):
    """The lines of one table and the verdicts against `targets` (none for
    the Debian table, which shows what a default install gets)."""
    lines = []
    hdr = "%-27s %-14s %9s %8s %8s %6s %11s %7s %7s %10s %5s %6s" % (
        "scenario", "server", "req/s", "p50 ms", "p99 ms", "ratio", "(min-max)", "non-2xx",
        "sockerr", "CPU us/req", "util", "noise")
    lines.append(hdr)
    lines.append("-" * len(hdr))
    verdicts = []
    for key in SCENARIOS:
        title = load.SCENARIO_SPECS[key][0]
        per = results[key]
        names = list(per)
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
            target = targets.get((key, n))
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


# A new token's CPU per request above no auth, against the RSA verification's
# above no auth (the rsa-only control), both in the server, in the same rounds.
CPU_TARGET = 1.3
# The p99 latency of (b) against no auth's.
P99_TARGET = 2
CPU_SERVERS = {"b": "clerk", "c": "clerk-nocache"}


def cpu_excess(results):
    """[(title, server, median excess us, median RSA excess us, median of the
    per-round ratios)] for the scenarios that ran with the rsa-only control."""
    out = []
    for key, name in CPU_SERVERS.items():
        per = results.get(key, {})
        if name not in per or "rsa-only" not in per:
            continue
        rounds = list(zip(per["noauth"], per[name], per["rsa-only"]))
        excess = [c["cpu_us"] - b["cpu_us"] for b, c, r in rounds]
        rsa = [r["cpu_us"] - b["cpu_us"] for b, c, r in rounds]
        ratios = [e / x for e, x in zip(excess, rsa) if x > 0]
        if ratios:
            out.append((load.SCENARIO_SPECS[key][0], name, statistics.median(excess),
                        statistics.median(rsa), statistics.median(ratios), min(ratios),
                        max(ratios)))
    return out


def cpu_split(results):
    """[(title, server, jansson us, rest us, rest / RSA)] for the scenarios
    that ran with both controls: of a new token's CPU above no auth, the
    payload's jansson parse (rsa-json above rsa-only) and everything else
    the module does (the server above rsa-json), medians of the rounds."""
    out = []
    for key, name in CPU_SERVERS.items():
        per = results.get(key, {})
        if not all(n in per for n in (name, "rsa-only", "rsa-json")):
            continue
        rounds = list(zip(per["noauth"], per[name], per["rsa-only"], per["rsa-json"]))
        json_us = [j["cpu_us"] - r["cpu_us"] for b, c, r, j in rounds]
        rest = [c["cpu_us"] - j["cpu_us"] for b, c, r, j in rounds]
        rest_ratio = [(c["cpu_us"] - j["cpu_us"]) / (r["cpu_us"] - b["cpu_us"])
                      for b, c, r, j in rounds if r["cpu_us"] > b["cpu_us"]]
        if rest_ratio:
            out.append((load.SCENARIO_SPECS[key][0], name, statistics.median(json_us),
                        statistics.median(rest), statistics.median(rest_ratio)))
    return out


def cpu_lines(results, with_target=True):
    rows = cpu_excess(results)
    if not rows:
        return []
    lines = ["CPU per request above no auth, in the server (medians over the rounds; ratio: "
             "median of the per-round ratios)",
             "  rsa-only = bench/mod_bench_rsa.c: the token's signature checked with the "
             "module's RSA verifier, nothing else"]
    for title, name, excess, rsa, ratio, lo, hi in rows:
        mark = ""
        if with_target:
            mark = "  target <= %.1f: %s" % (CPU_TARGET, "MET" if ratio <= CPU_TARGET
                                             else "NOT MET")
        lines.append("  %-27s %-14s %5.1f us; rsa-only %5.1f us; ratio %.2f (%.2f-%.2f)%s"
                     % (title, name, excess, rsa, ratio, lo, hi, mark))
    split = cpu_split(results)
    if split:
        lines.append("  split with rsa-json (rsa-only, and the payload parsed with the module's "
                     "jansson parse):")
    for title, name, json_us, rest, rest_ratio in split:
        lines.append("  %-27s jansson's parse %5.1f us; the rest of %s %5.1f us = %.2f x RSA"
                     % (title, json_us, name, rest, rest_ratio))
    lines.append("")
    return lines


def rss_lines(rss, rss_ctl):
    """The RSS section: load.rss_run's results with the cache and, as the
    control, without it."""
    lines = []
    if rss:
        samples, total, secs, rps = rss
        full = samples[1][1] if len(samples) > 1 else samples[0][1]
        lines.append("RSS (clerk child, ClerkTokenCache default 4096 entries): %d requests in "
                     "%.0f s (%.0f req/s), each token twice in a row," % (total, secs, rps))
        lines.append("  cycling through %d distinct valid tokens: every request is a cache miss "
                     "and a verification, every second one an insert and an eviction."
                     % N_TOKENS)
        lines.append("  fresh (1 request): %d KiB; after %d requests (cache full): %d KiB; "
                     "after %d requests: %d KiB; growth after the cache filled: %+d KiB"
                     % (samples[0][1], samples[1][0], full, total, samples[-1][1],
                        samples[-1][1] - full))
        lines.append("  peak %d KiB; samples: %s"
                     % (max(s[1] for s in samples),
                        ", ".join("%dk:%d" % (n // 1000, kb) for n, kb in samples)))
        if total < RSS_REQUESTS:
            lines.append("  NOTE: stopped at BENCH_RSS_MAX_SECONDS before %d requests"
                         % RSS_REQUESTS)
    if rss_ctl:
        samples, total, secs, rps = rss_ctl
        lines.append("  control, ClerkTokenCache 0, same traffic: fresh %d KiB; after %d "
                     "requests: %d KiB; after %d requests: %d KiB"
                     % (samples[0][1], samples[1][0], samples[1][1], total, samples[-1][1]))
        if rss:
            held = rss[0][-1][1] - samples[-1][1]
            lines.append("  => memory held by the 4096-entry cache: about %d KiB (%d B per "
                         "entry); it stops growing once the cache is full"
                         % (held, held * 1024 // 4096))
    return lines


def print_report(t_start, busy_before, results, debian, rss, rss_ctl, sections):
    """debian: the second table's results (None when it did not run);
    sections: the perf, microbench, callgrind and scale lines, each None
    when that part did not run."""
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
    print("(within %d s of redone rounds in all; %.0f s used)"
          % (RETRY_BUDGET, load.retry_seconds))
    print()
    for line in lines + cpu_lines(results):
        print(line)
    if debian:
        print("Second table: Debian's default httpd configuration (%d rounds of %d s, same "
              "wrk, pinning and ratios as above):" % (DEBIAN_ROUNDS, DURATION))
        print("  Debian's default modules and their conf files, event MPM StartServers 2, "
              "ThreadsPerChild 25, MaxRequestWorkers 150,")
        print("  Min/MaxSpareThreads 25/75, KeepAlive On, MaxKeepAliveRequests 100, "
              "KeepAliveTimeout 5, LogLevel warn,")
        print("  access log in the combined format to a file, EnableMMAP On, EnableSendfile Off "
              "(httpd's defaults); no openidc")
        print()
        for line in table(debian, {})[0] + cpu_lines(debian, with_target=False):
            print(line)
    for line in rss_lines(rss, rss_ctl):
        print(line)
    for section in sections:
        if section:
            print()
            for line in section:
                print(line)
    print()
    for title, n, ratio, target, good, non2xx in verdicts:
        print("%-27s %-14s ratio %.3f (target >= %.2f, non-2xx %d): %s"
              % (title, n, ratio, target, non2xx, "MET" if good else "NOT MET"))
    if "b" in results and "clerk" in results["b"]:
        p99 = median_of(results["b"]["clerk"], "p99") / median_of(results["b"]["noauth"], "p99")
        print("%-27s %-14s p99 %.1fx no auth's (target <= %.0f): %s"
              % (load.SCENARIO_SPECS["b"][0], "clerk", p99, P99_TARGET,
                 "MET" if p99 <= P99_TARGET else "NOT MET"))
    for title, n, excess, rsa, ratio, lo, hi in cpu_excess(results):
        print("%-27s %-14s CPU above no auth %.2fx the RSA verification's in the server "
              "(target <= %.1f): %s" % (title, n, ratio, CPU_TARGET,
                                        "MET" if ratio <= CPU_TARGET else "NOT MET"))
    print("total time: %.0f s; raw wrk output and logs: %s" % (time.time() - t_start, OUT))
    print("=" * 100)


def write_results(results, debian=None):
    """Every wrk output, raw, for the README's figures."""
    with open(OUT / "results.txt", "w") as f:
        for prefix, res in (("", results), ("debian-", debian or {})):
            for key in res:
                for n, rounds in res[key].items():
                    for i, r in enumerate(rounds):
                        f.write("### %s %s%s round %d\n%s\n" % (key, prefix, n, i + 1,
                                                                   r["raw"]))
