"""Last in each MPM run: concurrency, a graceful restart, then the whole error
log: no crashed child, no sanitizer report, no token text."""
import concurrent.futures
import re

import clerk_tokens as T
from helpers import Client, assert_no_crashed_child


def _one(c, i):
    kind = i % 6
    if kind == 0:
        return c.get("/t/basic/static.txt", token=T.mint(sub="user_%d" % i)).status_code, 200
    if kind == 1:
        return c.get("/t/basic/static.txt", token=T.mint(exp=T.now() - 999)).status_code, 401
    if kind == 2:
        return c.get("/t/basic/static.txt").status_code, 401
    if kind == 3:
        return c.get("/t/p/role/static.txt", token=T.mint_v2()).status_code, 200
    if kind == 4:
        return c.get("/t/p/role/static.txt", token=T.mint()).status_code, 401
    return c.get("/t/jwks-all/static.txt", token=T.mint(key="a")).status_code, 200


def test_concurrent_requests(server):
    clients = [Client(server) for _ in range(8)]
    try:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            futs = [pool.submit(_one, clients[i % 8], i) for i in range(240)]
            results = [f.result() for f in futs]
    finally:
        for c in clients:
            c.s.close()
    bad = [(i, got, want) for i, (got, want) in enumerate(results) if got != want]
    assert not bad, bad[:10]


def test_graceful_restart_under_load(server):
    """Requests in flight while httpd restarts gracefully all get the right answer."""
    import threading
    import time

    import requests

    stop = threading.Event()
    results, errors = [], []
    tok = T.mint()
    server.sent_tokens.append(tok)

    def worker(i):
        while not stop.is_set():
            try:
                # a new connection per request: graceful closes idle keep-alives.
                # A static file, not CGI: mod_cgid answers 503 itself (AH01258)
                # when an old-generation child finds the old cgid daemon gone.
                r = requests.get(server.base_url + "/t/basic/static.txt",
                                 headers={"Authorization": "Bearer " + tok,
                                          "Connection": "close"} if i % 2 else {"Connection": "close"},
                                 timeout=30)
                results.append((r.status_code, 200 if i % 2 else 401))
            except requests.RequestException as e:
                errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)
        server.graceful()
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join()
    wrong = [x for x in results if x[0] != x[1]]
    assert results and not wrong, wrong[:10]
    assert not errors, errors[:5]


def test_graceful_restart(server):
    server.graceful()
    c = Client(server)
    try:
        env = c.env("/t/basic/env", token=T.mint())
        assert env["CLERK_USER_ID"] == T.USER
        assert c.get("/t/basic/env").status_code == 401
        assert c.get("/ht/basic/htenv.py", token=T.mint()).status_code == 200
        assert c.get("/t/jwks-all/env", token=T.mint(key="b")).status_code == 200
    finally:
        c.s.close()


def test_no_child_crashed(server):
    assert_no_crashed_child(server)


def test_no_token_text_in_error_log(server):
    text = server.error_log()
    leaked = []
    for tok in server.sent_tokens:
        for seg in re.split(r"[.\s;=,]", tok):
            if len(seg) >= 24 and re.fullmatch(r"[A-Za-z0-9_\-+/]+", seg) and seg in text:
                leaked.append(seg[:40])
    assert not leaked, "token text in the error log: %s" % sorted(set(leaked))[:10]
