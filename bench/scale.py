"""Scale of configuration: one httpd with BENCH_SCALE_VHOSTS name-based
virtual hosts on one 127.0.0.1 port (ServerName vNNNN.bench.test), each with
AuthType Clerk in a <Location> and one of BENCH_SCALE_SOURCES key sources.

A publishable key makes httpd fetch https://<frontend api>/.well-known/jwks.json,
which the bench cannot reach; the sources are ClerkJWKSURLs on a local fake
(http://127.0.0.1:<port>/jwks/<n>.json, a python http.server thread that
counts the requests per path and per process), standing in for 50 Clerk
instances.  Both kinds are network key sources of the same registry.

Measured: `apache2 -t` time, start-up time (exec until the port answers),
RSS of the parent and each child after start and after a request to one
vhost of each source, threads per child, and the JWKS fetches (during -t,
at start, after the requests).  A control with the same vhosts and no
mod_auth_clerk tells the module's share.  Servers use the debian profile.
"""
import base64
import collections
import http.server
import json
import os
import re
import statistics
import subprocess
import threading
import time

from cryptography.hazmat.primitives import serialization

import mint
from servers import JWKS_PORT, SCALE_PORT, Httpd, get
from settings import APACHE, KID, PUBLIC, SCALE_SOURCES, SCALE_VHOSTS, die, log

CYCLES = 3   # starts of the clerk configuration; the median of their timings


def jwks_body():
    """The bench's public key as a JWKS (the same key for every source)."""
    nums = serialization.load_pem_public_key(PUBLIC.read_bytes()).public_numbers()

    def b64(i):
        return base64.urlsafe_b64encode(i.to_bytes((i.bit_length() + 7) // 8, "big")) \
            .rstrip(b"=").decode()
    return json.dumps({"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": KID,
                                 "n": b64(nums.n), "e": b64(nums.e)}]}).encode()


def socket_owner(local_port):
    """Pid of the process holding the TCP socket bound to 127.0.0.1:local_port."""
    inode = None
    want = ":%04X" % local_port
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1].endswith(want):
                inode = fields[9]
                break
    if not inode:
        return None
    target = "socket:[%s]" % inode
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            for fd in os.listdir("/proc/%s/fd" % d):
                if os.readlink("/proc/%s/fd/%s" % (d, fd)) == target:
                    return int(d)
        except OSError:
            continue
    return None


class FakeJWKS:
    """/jwks/<n>.json for n < sources, from a thread; every request counted
    by (path, pid of the requesting process)."""

    def __init__(self, port, sources):
        self.counts = collections.Counter()
        self.lock = threading.Lock()
        body, outer = jwks_body(), self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                pid = socket_owner(self.client_address[1])
                with outer.lock:
                    outer.counts[(self.path, pid)] += 1
                m = re.fullmatch(r"/jwks/(\d+)\.json", self.path)
                ok = m and int(m.group(1)) < sources
                data = body if ok else b'{"error":"not found"}'
                self.send_response(200 if ok else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.srv.daemon_threads = True
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def take(self):
        """The requests counted since the last take(), and reset."""
        with self.lock:
            c, self.counts = self.counts, collections.Counter()
        return c

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def vhost_name(i):
    return "v%04d.bench.test" % i


def vhosts_conf(clerk):
    """The <VirtualHost>s; vhost i uses source i % SCALE_SOURCES.  Without
    clerk: the same vhosts and Locations, Require all granted."""
    out = []
    for i in range(SCALE_VHOSTS):
        if clerk:
            auth = ("        AuthType Clerk\n        AuthName v%04d\n"
                    "        ClerkJWKSURL http://127.0.0.1:%d/jwks/%d.json\n"
                    "        ClerkIssuer %s\n        ClerkAuthorizedParties %s\n"
                    "        Require valid-user\n"
                    % (i, JWKS_PORT, i % SCALE_SOURCES, mint.ISSUER, mint.AZP))
        else:
            auth = "        Require all granted\n"
        out.append("<VirtualHost 127.0.0.1:%d>\n    ServerName %s\n"
                   "    <Location />\n%s    </Location>\n</VirtualHost>\n"
                   % (SCALE_PORT, vhost_name(i), auth))
    return "".join(out)


def server(clerk, name="scale", server_conf=""):
    spec = dict(load="LoadModule auth_clerk_module {module}" if clerk else "",
                server=server_conf, auth="    Require all granted", vhosts=vhosts_conf(clerk))
    return Httpd(name, profile="debian", spec=spec, port=SCALE_PORT)


def threads(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def describe(counts, srv, other="other"):
    """Fetch counts: total, distinct paths, the most for one path, by
    process (other: what to call a process not of srv, e.g. apache2 -t)."""
    if not counts:
        return "0 fetches"
    paths = collections.Counter()
    roles = collections.Counter()
    for (path, pid), n in counts.items():
        paths[path] += n
        role = ("parent" if srv.proc and pid == srv.proc.pid else
                "child" if pid in srv.children() else other)
        roles[role] += n
    return ("%d fetches of %d distinct sources (at most %d of one source); by process: %s"
            % (sum(paths.values()), len(paths), max(paths.values()),
               ", ".join("%s %d" % kv for kv in sorted(roles.items()))))


def private_kb(pid):
    """Private_Clean + Private_Dirty: what the process does not share
    (the children share the parent's configuration pages until they write)."""
    total = 0
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    total += int(line.split()[1])
    except OSError:
        pass
    return total


def rss_line(srv):
    each = srv.rss_each_kb(parent=True)
    parent = each.pop(srv.proc.pid, 0)
    return ("parent %d KiB; %d children: RSS %s KiB (sum %d KiB), private %s KiB; "
            "threads per child %s"
            % (parent, len(each), ", ".join(str(v) for v in each.values()), sum(each.values()),
               ", ".join(str(private_kb(p)) for p in each),
               ", ".join(str(threads(p)) for p in each)))


def configtest(srv):
    srv.run.mkdir(parents=True, exist_ok=True)     # DefaultRuntimeDir must exist
    t0 = time.time()
    r = subprocess.run([APACHE, "-t", "-f", str(srv.conf)], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        die("%s: configtest failed:\n%s" % (srv.tag, r.stdout))
    return time.time() - t0


def run(token):
    """The section's lines for the report."""
    log("configuration scale: %d vhosts, %d key sources (ClerkJWKSURL on a local fake)"
        % (SCALE_VHOSTS, SCALE_SOURCES))
    lines = ["Configuration scale: %d name-based <VirtualHost>s on 127.0.0.1:%d, each "
             "AuthType Clerk in <Location />" % (SCALE_VHOSTS, SCALE_PORT),
             "  with one of %d ClerkJWKSURL http://127.0.0.1:%d/jwks/<n>.json (a local fake "
             "standing in for %d instances' Frontend API);"
             % (SCALE_SOURCES, JWKS_PORT, SCALE_SOURCES),
             "  Debian's default httpd settings (2 children x 25 threads); control: the same "
             "vhosts without mod_auth_clerk"]
    fake = FakeJWKS(JWKS_PORT, SCALE_SOURCES)
    try:
        srv = server(clerk=True)
        srv.write_conf()
        lines.append("  config: %d lines, %d KiB" % (srv.conf.read_text().count("\n"),
                                                    srv.conf.stat().st_size // 1024))
        t_tests, t_starts, start_fetches = [], [], []
        for cycle in range(CYCLES):
            secs = configtest(srv)
            t_tests.append(secs)
            during_t = fake.take()
            srv.start()          # its own -t again, then exec until the port answers
            t_starts.append(srv.startup_s)
            at_start = fake.take()
            start_fetches.append(sum(at_start.values()))
            if cycle < CYCLES - 1:
                srv.stop()
                fake.take()
                continue
            lines.append("  apache2 -t: %.2f s (median of %d: %s); %s during -t"
                         % (statistics.median(t_tests), CYCLES,
                            ", ".join("%.2f" % t for t in t_tests),
                            describe(during_t, srv, "apache2 -t")))
            lines.append("  start-up (exec until the port answers, after -t): %.2f s "
                         "(median of %d: %s)" % (statistics.median(t_starts), CYCLES,
                                                 ", ".join("%.2f" % t for t in t_starts)))
            lines.append("  JWKS fetches at start (this start; each start: %s): %s"
                         % (", ".join(map(str, start_fetches)), describe(at_start, srv)))
            time.sleep(3)
            lines.append("  in the 3 s after: %s" % describe(fake.take(), srv))
            lines.append("  RSS after start: " + rss_line(srv))
            # One vhost per source (vhost i uses source i), 4 new connections
            # each so both children are likely to serve some; then the last vhost.
            bad = 0
            for i in range(SCALE_SOURCES):
                for _ in range(4):
                    bad += get(srv.port, [token], host=vhost_name(i))[0][0] != 200
            last = vhost_name(SCALE_VHOSTS - 1)
            statuses = (get(srv.port, [token], host=last)[0][0],
                        get(srv.port, [None], host=last)[0][0])
            lines.append("  %d requests, 4 to one vhost of each source: %d not 200; %s: valid "
                         "token %d, no token %d" % (4 * SCALE_SOURCES, bad, last, *statuses))
            if bad or statuses != (200, 401):
                lines.append("  ** UNEXPECTED status codes: see %s **" % srv.conf)
            lines.append("  fetches during the requests: %s" % describe(fake.take(), srv))
            lines.append("  RSS after the requests: " + rss_line(srv))
            srv.stop()

        # Controls: where the memory goes.
        for what, ctl in (("ClerkTokenCache 0 (server-wide, so in every vhost)",
                           server(True, "scale-nocache", "ClerkTokenCache 0\n")),
                          ("without mod_auth_clerk", server(False, "scale-noclerk"))):
            ctl.write_conf()
            secs = configtest(ctl)
            ctl.start()
            get(ctl.port, [None], host=vhost_name(0))
            lines.append("  control, %s: apache2 -t %.2f s, start-up %.2f s; %s at start; "
                         "RSS after start: %s" % (what, secs, ctl.startup_s,
                                                  describe(fake.take(), ctl), rss_line(ctl)))
            ctl.stop()
    finally:
        fake.close()
    for line in lines[3:]:
        log(line.strip())
    return lines
