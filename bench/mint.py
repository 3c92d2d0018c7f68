"""Clerk-style RS256 session tokens for `make bench`, minted in bulk.

One token costs one RSA-2048 signature (~0.4 ms in OpenSSL here, ~0.5 ms
through PyJWT), so 100 000 tokens take about 25 s on two cores; the tokens
are kept in build/bench/tokens/ and reused while they stay valid for at least
BENCH_TOKEN_MIN_LEFT seconds.

Each token looks like a Clerk v2 session token (header alg/kid/typ/cat;
payload azp, exp, fva, iat, iss, nbf, sid, sts, sub, v) with its own sub and
sid, so every token is distinct and valid.
"""
import json
import multiprocessing
import os
import time
from pathlib import Path

import jwt  # PyJWT (Debian python3-jwt)
from cryptography.hazmat.primitives import serialization

ISSUER = "https://clerk.bench.localhost"
AZP = "https://app.bench.localhost"
CAT_SESSION = "cl_B7d4PD111AAA"

_key = None
_kid = None


def _init(private_pem, kid):
    global _key, _kid
    with open(private_pem, "rb") as f:
        _key = serialization.load_pem_private_key(f.read(), password=None)
    _kid = kid


def claims(i, now, ttl):
    return {
        "azp": AZP,
        "exp": now + ttl,
        "fva": [0, -1],
        "iat": now - 30,
        "iss": ISSUER,
        "nbf": now - 40,
        "sid": "sess_bench%010d" % i,
        "sts": "active",
        "sub": "user_bench%010d" % i,
        "v": 2,
    }


def _mint_range(args):
    start, count, now, ttl = args
    headers = {"kid": _kid, "cat": CAT_SESSION, "typ": "JWT"}
    return [jwt.encode(claims(i, now, ttl), _key, algorithm="RS256", headers=headers)
            for i in range(start, start + count)]


def mint_one(private_pem, kid, i, ttl, now=None):
    _init(private_pem, kid)
    return _mint_range((i, 1, int(now or time.time()), ttl))[0]


def mint_many(private_pem, kid, n, ttl, procs=None):
    """n distinct tokens, minted on all cores."""
    now = int(time.time())
    procs = procs or os.cpu_count() or 1
    chunk = 2000
    jobs = [(s, min(chunk, n - s), now, ttl) for s in range(0, n, chunk)]
    with multiprocessing.Pool(procs, initializer=_init, initargs=(private_pem, kid)) as pool:
        out = []
        for part in pool.imap(_mint_range, jobs):
            out.extend(part)
    return out, now + ttl


def distinct_tokens(cache_dir, private_pem, kid, n, ttl, min_left, log):
    """Path of a file of n distinct valid tokens, re-minted only when needed."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / ("distinct-%d.txt" % n)
    meta_path = cache_dir / ("distinct-%d.json" % n)
    want = {"n": n, "kid": kid, "key": os.path.abspath(private_pem),
            "key_mtime": os.path.getmtime(private_pem), "iss": ISSUER, "azp": AZP}
    try:
        meta = json.loads(meta_path.read_text())
        if (all(meta.get(k) == v for k, v in want.items())
                and meta["exp"] - time.time() >= min_left and path.exists()):
            log("reusing %d distinct tokens from %s (valid for %d more minutes)"
                % (n, path, (meta["exp"] - time.time()) // 60))
            return path
    except (OSError, ValueError, KeyError):
        pass
    t0 = time.time()
    log("minting %d distinct RS256 tokens on %d cores ..." % (n, os.cpu_count() or 1))
    tokens, exp = mint_many(private_pem, kid, n, ttl)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(tokens) + "\n")
    tmp.rename(path)
    meta_path.write_text(json.dumps(dict(want, exp=exp)))
    log("minted %d tokens in %.1f s (%.0f tokens/s)"
        % (n, time.time() - t0, n / max(time.time() - t0, 1e-9)))
    return path
