"""SetHandler clerk-status and the Clerk section of server-status (README:
"Metrics and server-status"): counts after known requests (signed in by
token type, rejections by reason, token-cache hits from the third request
of a token), aggregated over prefork's children (connections held open
land on different children, and every child reports the same totals), the
Prometheus text parsed, the JSON shape, the key source of a ClerkJWKSURL,
mod_status's section (HTML and ?auto), no token or user id in any output,
and the handler protected by Require.

A server of its own per MPM, with mod_status loaded."""
import json
import re
import time

import pytest
import requests

import clerk_tokens as T
from helpers import Client, describe
from httpd_harness import MODDIR, Httpd, free_port
from locations import INS_PEM, REALM
from server_fixtures import require_prereqs


def section(h, path, *lines):
    body = ["<Location %s>" % path, "    AuthType Clerk", '    AuthName "%s"' % REALM,
            "    ClerkIssuer " + T.ISSUER, "    SetHandler clerk-whoami",
            "    Require valid-user"]
    body += ["    " + l for l in lines]
    body.append("</Location>")
    return "\n".join(body)


def status_config(h, port):
    pem = 'ClerkJWTKeyFile "%s/%s"' % (h.keys, INS_PEM)
    return "\n".join([
        section(h, "/api", pem, "ClerkAcceptToken any"),
        section(h, "/cached", pem),
        # a network key source: the parent's start-up fetch fails (nothing
        # listens yet), a child's refresher loads it a few seconds later
        'Alias "/keys-public" "%s"' % h.keys,
        '<Directory "%s">\n    Require all granted\n</Directory>' % h.keys,
        section(h, "/jwks", "ClerkJWKSURL http://127.0.0.1:%d/keys-public/jwks.json?hidden=q1"
                % port),
        "ClerkJWKSRefreshMin 1",
        "<Location /clerk-status>\n    SetHandler clerk-status\n"
        "    Require ip 127.0.0.1\n</Location>",
        "<Location /clerk-status-elsewhere>\n    SetHandler clerk-status\n"
        "    Require ip 192.0.2.1\n</Location>",
        "<Location /server-status>\n    SetHandler server-status\n    Require local\n</Location>",
        "ExtendedStatus On",
    ]) + "\n"


@pytest.fixture(scope="module")
def sserver(mpm):
    require_prereqs()
    h = Httpd(mpm, name="status")
    try:
        port = free_port()
        h.write_config(status_config(h, port), port=port,
                       extra_modules=[("status_module", str(MODDIR / "mod_status.so")),
                                      ("authz_host_module", str(MODDIR / "mod_authz_host.so"))])
        h.start()
        yield h
    finally:
        h.cleanup()


@pytest.fixture
def sclient(sserver):
    c = Client(sserver)
    yield c
    c.s.close()


def status(c, **params):
    r = c.get("/clerk-status", params=params)
    assert r.status_code == 200, describe(r)
    assert r.headers["Cache-Control"] == "no-store"
    return r


def counts(c):
    r = status(c)
    assert r.headers["Content-Type"] == "application/json", describe(r)
    return r.json()


def req(j, *path):
    for p in path:
        j = j[p]
    return j


def delta(before, after, *path):
    return req(after, *path) - req(before, *path)


def test_signed_in_by_type_and_rejections_by_reason(sclient):
    before = counts(sclient)
    for _ in range(3):
        assert sclient.get("/api", token=T.mint()).status_code == 200
    for _ in range(2):
        assert sclient.get("/api", token=T.mint_m2m()).status_code == 200
    t = T.now()
    for _ in range(2):
        assert sclient.get("/api", token=T.mint(exp=t - 600, iat=t - 900, nbf=t - 900)
                           ).status_code == 401
    assert sclient.get("/api", token=T.mint(key="a")).status_code == 401
    assert sclient.get("/api").status_code == 401
    after = counts(sclient)
    assert delta(before, after, "requests", "signed_in", "session") == 3
    assert delta(before, after, "requests", "signed_in", "m2m") == 2
    assert delta(before, after, "requests", "signed_in", "oauth") == 0
    assert delta(before, after, "requests", "rejected", "token-expired") == 2
    assert delta(before, after, "requests", "rejected", "token-invalid-signature") == 1
    assert delta(before, after, "requests", "rejected", "session-token-missing") == 1
    assert delta(before, after, "requests", "outcomes", "signed-in") == 5
    assert delta(before, after, "requests", "outcomes", "signed-out") == 4


def test_token_cache_hit_from_the_third_request(sclient):
    tok = T.mint(sub="user_cachetest")
    before = counts(sclient)
    for _ in range(3):      # one connection: one process, one token cache
        assert sclient.get("/cached", token=tok).status_code == 200
    after = counts(sclient)
    assert delta(before, after, "token_cache", "misses") == 2
    assert delta(before, after, "token_cache", "inserts") == 1
    assert delta(before, after, "token_cache", "hits") == 1


def test_aggregated_across_processes(sserver, mpm):
    clients = [Client(sserver) for _ in range(4)]
    try:
        before = counts(clients[0])
        # each client keeps its connection open: under prefork, each holds a child
        for c in clients:
            for _ in range(2):
                assert c.get("/api", token=T.mint()).status_code == 200
        seen = [counts(c) for c in clients]
        pids = {j["pid"] for j in seen}
        if mpm == "prefork":
            assert len(pids) > 1, pids
        for j in seen:
            assert delta(before, j, "requests", "signed_in", "session") >= 8
        last = counts(clients[0])
        assert delta(before, last, "requests", "signed_in", "session") == 8
    finally:
        for c in clients:
            c.s.close()


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)')


def parse_prometheus(text):
    """{family: {"type", "help", "samples": [(name, {labels}, value)]}}, asserting the syntax."""
    fams, current = {}, None
    assert text.endswith("\n")
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name, help_ = line[7:].split(" ", 1)
            fams.setdefault(name, {"samples": []})["help"] = help_
            continue
        if line.startswith("# TYPE "):
            name, typ = line[7:].split(" ")
            assert typ in ("counter", "gauge", "histogram"), line
            assert "type" not in fams.get(name, {}), "TYPE twice: " + line
            fams.setdefault(name, {"samples": []})["type"] = typ
            current = name
            continue
        assert line and not line.startswith("#"), repr(line)
        m = SAMPLE.match(line)
        assert m, line
        name, labels_text, value = m.groups()
        labels = {}
        if labels_text is not None:
            pos = 0
            while pos < len(labels_text):
                lm = LABEL.match(labels_text, pos)
                assert lm, "bad labels: " + line
                labels[lm.group(1)] = lm.group(2)
                pos = lm.end()
        float(value)
        assert current and (name == current or (fams[current]["type"] == "histogram" and
                                                name in (current + "_bucket", current + "_sum",
                                                         current + "_count"))), line
        fams[current]["samples"].append((name, labels, float(value)))
    for name, f in fams.items():
        assert "help" in f and "type" in f, name
        if f["type"] == "counter":
            assert name.endswith("_total"), name
    return fams


def test_prometheus_format(sclient):
    sclient.get("/api", token=T.mint())
    r = status(sclient, format="prometheus")
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), describe(r)
    fams = parse_prometheus(r.text)
    for name in ("clerk_requests_total", "clerk_signed_in_total", "clerk_rejections_total",
                 "clerk_handshakes_total", "clerk_token_cache_hits_total",
                 "clerk_token_cache_misses_total", "clerk_token_cache_inserts_total",
                 "clerk_token_cache_evictions_total", "clerk_backend_api_calls_total",
                 "clerk_backend_api_call_duration_seconds", "clerk_backend_api_dropped_total",
                 "clerk_key_source_fetches_total"):
        assert name in fams, name
    signed = {l["token_type"]: v for _, l, v in fams["clerk_signed_in_total"]["samples"]}
    assert signed["session"] >= 1
    h = fams["clerk_backend_api_call_duration_seconds"]
    assert h["type"] == "histogram"
    for ep in ("opaque_verify", "handshake_payload", "session_refresh", "m2m_token_create"):
        buckets = [(l["le"], v) for n, l, v in h["samples"]
                   if n.endswith("_bucket") and l["endpoint"] == ep]
        assert buckets[-1][0] == "+Inf"
        les = [float(le) for le, _ in buckets[:-1]]
        assert les == sorted(les)
        values = [v for _, v in buckets]
        assert values == sorted(values), values
        count = [v for n, l, v in h["samples"] if n.endswith("_count") and l["endpoint"] == ep]
        assert count == [values[-1]]
        assert [1 for n, l, _ in h["samples"] if n.endswith("_sum") and l["endpoint"] == ep]


def test_json_shape(sclient):
    j = counts(sclient)
    assert set(j) >= {"pid", "started", "uptime_seconds", "requests", "token_cache",
                      "backend_api", "key_sources"}
    assert set(j["requests"]) == {"outcomes", "signed_in", "rejected", "handshakes"}
    assert set(j["requests"]["signed_in"]) == {"session", "m2m", "oauth", "api_key"}
    assert "other" in j["requests"]["handshakes"]
    assert set(j["token_cache"]) == {"hits", "misses", "inserts", "evictions"}
    bapi = j["backend_api"]
    assert set(bapi["calls"]) == {"opaque_verify", "handshake_payload", "session_refresh",
                                  "m2m_token_create"}
    assert set(bapi["calls"]["opaque_verify"]) == {"answered", "refused_secret", "unavailable"}
    assert set(bapi["dropped"]["session_refresh"]) == {"budget", "waiting"}
    lat = bapi["latency_seconds"]["opaque_verify"]
    assert list(lat["buckets"])[-1] == "+Inf" and lat["count"] == lat["buckets"]["+Inf"]
    assert "htaccess" in [s["source"] for s in j["key_sources"]]


def test_key_source_of_a_jwks_url(sserver):
    c = Client(sserver)
    try:
        deadline = time.time() + 20
        while True:
            r = c.get("/jwks", token=T.mint())
            if r.status_code == 200 or time.time() > deadline:
                break
            time.sleep(0.5)
        assert r.status_code == 200, describe(r)
        j = counts(c)      # the same connection: the child that loaded the keys
        src = [s for s in j["key_sources"] if "/keys-public/jwks.json" in s["source"]]
        assert len(src) == 1, j["key_sources"]
        s = src[0]
        assert s["source"] == "http://127.0.0.1:%d/keys-public/jwks.json" % sserver.port
        assert s["fetches_ok"] >= 1 and s["fetches_failed"] >= 1     # the parent's, at start-up
        assert s["last_fetch"] and s["last_fetch_ok"] is True
        assert s["this_process"]["loaded"] is True
        assert s["this_process"]["kids"] == [T.INS_KID]
        assert 0 <= s["this_process"]["snapshot_age_seconds"] < 60
        text = status(c, format="prometheus").text
        assert 'clerk_key_source_kid_info{source="http://127.0.0.1:%d/keys-public/jwks.json",' \
               'kid="%s"} 1' % (sserver.port, T.INS_KID) in text
        assert "hidden" not in text and "hidden" not in json.dumps(j)
    finally:
        c.s.close()


def test_server_status_section(sclient):
    sclient.get("/api", token=T.mint())
    r = sclient.get("/server-status?auto")
    assert r.status_code == 200, describe(r)
    auto = dict(l.split(": ", 1) for l in r.text.splitlines() if ": " in l)
    assert int(auto["ClerkSignedIn-session"]) >= 1
    assert "ClerkRejected-token-expired" in auto and "ClerkTokenCache-hits" in auto
    r = sclient.get("/server-status")
    assert r.status_code == 200 and "<h2>Clerk</h2>" in r.text, describe(r)
    assert "ClerkSignedIn-session" in r.text


def test_no_token_or_user_id_in_the_outputs(sserver, sclient):
    sclient.get("/api", token=T.mint())
    texts = [status(sclient).text, status(sclient, format="prometheus").text,
             sclient.get("/server-status?auto").text, sclient.get("/server-status").text]
    for text in texts:
        assert "user_" not in text and T.USER not in text and T.SESSION not in text
        assert "eyJ" not in text
        for tok in set(sserver.sent_tokens):
            assert tok not in text


def test_handler_protected_by_require(sclient):
    r = sclient.get("/clerk-status-elsewhere")
    assert r.status_code == 403, describe(r)
    assert "signed_in" not in r.text


def test_unknown_format_and_methods(sclient):
    assert sclient.get("/clerk-status", params={"format": "xml"}).status_code == 400
    assert sclient.request("POST", "/clerk-status").status_code == 405


def test_counters_survive_a_graceful_restart(sserver):
    c = Client(sserver)
    try:
        c.get("/api", token=T.mint())
        before = counts(c)
    finally:
        c.s.close()
    sserver.graceful()
    c = Client(sserver)
    try:
        after = counts(c)
    finally:
        c.s.close()
    assert after["started"] == before["started"]
    assert req(after, "requests", "signed_in", "session") >= \
        req(before, "requests", "signed_in", "session")
    assert req(after, "requests", "signed_in", "session") > 0
