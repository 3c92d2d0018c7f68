"""Where the clerk server's CPU time goes: a perf profile of its child under
scenario (b) load, and bench/microbench.c, which times each step of the
module's request path natively in one thread (callgrind.py counts
instructions instead)."""
import re
import shutil
import subprocess
import time
from pathlib import Path

import mint
from host import SERVER_CPU, wait_quiet
from load import wrk
from settings import HERE, MICRO_N, OUT, PERF, REPO, WAIT_QUIET, log

PERF_SYMBOLS = [
    ("clerk_check_authn", "the module's check_authn hook, all of it"),
    ("clerk_verify_token", "full verification (cache miss)"),
    ("clerk_rsa_verify", "RSA-2048 verify incl. SHA-256 of the signing input"),
    ("clerk_rsa_verifier_check", "  digest + RSA on the key's reused context"),
    ("EVP_PKEY_verify", "    the RSA public operation"),
    ("BN_mod_exp_mont", "    of which the RSA exponentiation"),
    ("clerk_jws_parse_for", "JWS split, base64url (a verified header from the memo)"),
    ("clerk_json_parse_object_compact", "hardened JSON parsing of the payload"),
    ("clerk_claims_build", "claims model"),
    ("clerk_export_vars", "variables to export"),
    ("clerk_json_compact", "  CLERK_CLAIMS re-serialised (a non-compact payload)"),
    ("clerk_token_cache_id", "cache slot key (keyed SipHash over 48 bytes)"),
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


def function_name(symbol):
    """export_claims.isra.0 -> export_claims: GCC's clones count as the function."""
    return symbol.split(".")[0]


def perf_profile(servers, tokens_file):
    """perf record of the clerk child under scenario (b) load; the report
    lines, or None when perf is off, missing or fails."""
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
            incl.setdefault(function_name(m.group(3)), float(m.group(1)))
    dsos = []
    for line in dsorep.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(\S+)", line)
        if m:
            dsos.append((m.group(2), float(m.group(1))))
    return perf_lines(r["cpu_us"], r["rps"], incl, dsos)


def perf_lines(cpu_us, rps, incl, dsos):
    lines = ["CPU profile of the clerk child in scenario (b), every request a cache miss",
             "(perf cpu-clock, inclusive time; us/req = share x %.1f us CPU per request at "
             "%.0f req/s under perf):" % (cpu_us, rps)]
    for sym, what in PERF_SYMBOLS:
        if sym in incl:
            pct = incl[sym]
            lines.append("  %5.1f%%  %5.1f us  %-26s %s" % (pct, pct * cpu_us / 100, sym, what))
    lines.append("  by shared object (self time):")
    for dso, pct in dsos[:8]:
        lines.append("  %5.1f%%  %5.1f us  %s" % (pct, pct * cpu_us / 100, dso))
    lines.append("  full reports: %s" % (OUT / "perf"))
    return lines


def microbench(tokens_file):
    """The report lines of bench/microbench.c.  Native timings in one thread
    move with every other process on the CPU: wait a little for quiet first,
    and say so when there was none."""
    log("microbench: per-operation costs")
    busy = wait_quiet(min(30, WAIT_QUIET))
    lines = build_and_run_microbench(tokens_file)
    if busy > 0.10:
        lines.append("  (machine %.0f%% busy with other work: figures are high)" % (100 * busy))
    return lines


def build_and_run_microbench(tokens_file):
    """Build bench/microbench.c against the core objects of make and run it;
    its lines, or why it was skipped."""
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
        # -Werror: a microbenchmark that no longer matches the core's API
        # must fail to build (and say so), never run and crash.
        cmd = (["cc", "-O2", "-g", "-std=c11", "-Wall", "-Wextra", "-Werror", "-D_GNU_SOURCE",
                "-I" + str(REPO / "src")]
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
    r = subprocess.run(SERVER_CPU + [str(exe), str(OUT / "keys" / "public.pem"),
                                     str(tokens_file), str(MICRO_N), mint.ISSUER, mint.AZP],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=600)
    head = ("Per-operation cost, native, one thread on CPU 0, mean over %d distinct tokens "
            "(bench/microbench.c):" % MICRO_N)
    return [head] + ["  " + l for l in r.stdout.splitlines()]
