"""Instructions per request under callgrind: the last part of `make bench`, and
all of `./bench/run.sh --callgrind`.

Unlike req/s, instruction counts do not depend on what else the machine is
doing, so this is the load-independent half of `make bench`.  Each server
runs as one process (apache2 -X) under valgrind --tool=callgrind, counting
only inside ap_run_process_connection; BENCH_CG_REQUESTS (default 500)
requests are sent one after another on one keep-alive connection, one
valgrind run per server and phase.  Reported: user-space instructions (Ir)
per request, and for mod_auth_clerk the inclusive instructions of its main
functions.  Kernel time (the network stack) is not counted, and valgrind's
CPU model keeps OpenSSL off its AVX-512 code, so these are instruction
shares, not times.
"""
import re
import subprocess
import time

from host import give_to_httpd
from profiling import function_name
from servers import Httpd, get
from settings import CG_REQUESTS, OUT, log

CG = OUT / "callgrind"

FUNCS = [
    ("clerk_check_authn", "check_authn hook, all of it"),
    ("clerk_verify_token", "full verification"),
    ("clerk_rsa_verify", "RSA verify + SHA-256 of the signing input"),
    ("EVP_DigestVerifyInit_ex", "  of which: per-request EVP context setup"),
    ("EVP_DigestVerifyFinal", "  of which: digest + RSA public operation"),
    ("clerk_jws_parse_for", "JWS split, base64url (a verified header from the memo)"),
    ("clerk_json_parse_object_compact", "hardened JSON parsing of the payload"),
    ("clerk_claims_build", "claims model"),
    ("clerk_token_cache_id", "cache slot key (keyed SipHash over 48 bytes)"),
    ("clerk_bearer_token", "Authorization header parsing (has_separator)"),
    ("clerk_json_compact", "CLERK_CLAIMS: payload re-serialized (json_dumps)"),
    ("SHA256_Update", "SHA-256 compression (all callers)"),
    ("BN_mod_exp_mont", "RSA public exponentiation"),
    ("EVP_PKEY_CTX_new_from_pkey", "  per-request EVP_PKEY_CTX creation"),
    ("EVP_MD_fetch", "OpenSSL 3 algorithm fetches (all callers)"),
    ("clerk_token_cache_get", "cache lookup"),
    ("clerk_token_cache_put", "cache insert/evict"),
    ("clerk_export_vars", "variables to export"),
    ("export_claims", "CLERK_* into subprocess_env"),
    ("EVP_MD_CTX_new", "EVP_MD_CTX_new (all callers)"),
    ("EVP_MD_CTX_free", "EVP_MD_CTX_free (all callers)"),
    ("EVP_DigestInit_ex", "EVP_DigestInit_ex (all callers)"),
    ("json_loadb", "jansson json_loadb"),
    ("malloc", "malloc (all callers)"),
    ("free", "free (all callers)"),
]


def annotate(path):
    out = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100",
                          str(path)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         text=True).stdout
    total = 0
    m = re.search(r"^([\d,]+)\s+(?:\(100\.0%\)\s+)?PROGRAM TOTALS", out, re.M)
    if m:
        total = int(m.group(1).replace(",", ""))
    incl = {}
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+)\s+(?:\(\s*[\d.]+%\)\s+)?\S*?:([A-Za-z_][\w.]*)", line)
        if m:
            incl.setdefault(function_name(m.group(2)), int(m.group(1).replace(",", "")))
    return total, incl, out


def profile(name, label, tokens):
    """Ir per request and inclusive Ir per request of each function.

    One valgrind run per phase; only ap_run_process_connection (reading,
    processing and answering a request) is counted, so start-up and idle
    time are not.  The first request of a run (cold caches) is included:
    with 1000 requests it moves the average by well under 1%.
    """
    out = CG / ("%s-%s.out" % (name, label))
    # valgrind creates the file as root at start and rewrites it at exit,
    # after httpd has become www-data: give the file to www-data up front.
    out.write_bytes(b"")
    give_to_httpd(out)
    srv = Httpd(name, wrapper=["valgrind", "--tool=callgrind", "--quiet",
                               "--collect-atstart=no",
                               "--toggle-collect=ap_run_process_connection",
                               "--callgrind-out-file=%s" % out])
    srv.start()     # one probe request without a token, counted too
    try:
        t0 = time.time()
        bad = sum(status != 200 for status, _ in get(srv.port, tokens, timeout=60))
        secs = time.time() - t0
    finally:
        srv.stop()
    total, incl, text = annotate(out)
    (CG / ("%s-%s.txt" % (name, label))).write_text(text)
    n = len(tokens) + 1
    log("callgrind %-14s %-9s %5d requests (%d not 200) in %4.1f s: %8.0f Ir/request"
        % (name, label, len(tokens), bad, secs, total / n))
    return total / n, {k: v / n for k, v in incl.items()}


def run(token, tokens_file):
    """Profile every server; returns the report lines."""
    CG.mkdir(parents=True, exist_ok=True)
    # httpd -X drops to www-data, and callgrind writes its output at exit.
    give_to_httpd(CG)
    with open(tokens_file) as f:
        distinct = [next(f).strip() for _ in range(CG_REQUESTS)]
    same = [token] * CG_REQUESTS
    r = {}
    for name, label, tokens in (("noauth", "same", same), ("clerk", "same", same),
                                ("clerk", "distinct", distinct),
                                ("clerk-nocache", "same", same), ("openidc", "same", same),
                                ("rsa-only", "distinct", distinct),
                                ("rsa-json", "distinct", distinct)):
        r.setdefault(name, {})[label] = profile(name, label, tokens)
    base = r["noauth"]["same"][0]
    lines = ["User-space instructions per request under callgrind (load-independent; %d "
             "requests per row on one" % CG_REQUESTS,
             "keep-alive connection; counted inside ap_run_process_connection; no kernel "
             "time; valgrind hides SHA-NI/AVX-512):",
             "  %-34s %11s %12s %9s" % ("server / phase", "Ir/request", "over noauth",
                                        "x noauth")]
    for name, label, what in (("noauth", "same", "noauth"),
                              ("clerk", "same", "clerk, same token (cache hit)"),
                              ("clerk", "distinct", "clerk, distinct tokens (miss)"),
                              ("clerk-nocache", "same", "clerk, ClerkTokenCache 0"),
                              ("openidc", "same", "openidc, same token"),
                              ("rsa-only", "distinct", "rsa-only, distinct tokens"),
                              ("rsa-json", "distinct", "rsa-json, distinct tokens")):
        ir = r[name][label][0]
        lines.append("  %-34s %11.0f %12.0f %9.2f" % (what, ir, ir - base, ir / base))
    rsa = r["rsa-only"]["distinct"][0] - base
    parse = r["rsa-json"]["distinct"][0] - r["rsa-only"]["distinct"][0]
    miss = r["clerk"]["distinct"][0] - base
    lines.append("  a new token above no auth, split by the controls: the RSA verification (rsa-only) "
                 "%.0f, jansson's parse" % rsa)
    lines.append("  of the payload (rsa-json above rsa-only) %.0f = %.2f x RSA, the rest of "
                 "mod_auth_clerk %.0f = %.2f x RSA; in all %.2f x RSA"
                 % (parse, parse / rsa, miss - rsa - parse, (miss - rsa - parse) / rsa,
                    miss / rsa))
    for name, label, what in (("clerk", "distinct", "cache miss (distinct tokens)"),
                              ("clerk", "same", "cache hit (same token)")):
        incl = r[name][label][1]
        lines.append("  mod_auth_clerk, %s: inclusive Ir per request" % what)
        for fn, desc in FUNCS:
            if fn in incl and incl[fn] >= 300:
                lines.append("    %9.0f  %-26s %s" % (incl[fn], fn, desc))
    lines.append("  annotations: %s" % CG)
    return lines

