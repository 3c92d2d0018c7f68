"""A fake Clerk key server for the network key source tests.

FakeClerk() is a threaded stdlib HTTP server on 127.0.0.1, driven from the
test in-process:

  fake = FakeClerk().start()            # or FakeClerk(port=p) to bind a chosen port
  fake.url("/jwks.json")                # http://127.0.0.1:<port>/jwks.json
  fake.set_jwks(jwks_of("a", "b"))      # the key set served (rotation), all paths
  fake.set_jwks(doc, path="/x.json")    #   ... or for one path only
  fake.set_mode("500", path="/x.json")  # a fault for one path (path=None: every path)
  fake.count("/x.json"), fake.requests("/v1/jwks")
  fake.stop()

Every path not given a mode serves the current JWKS ("ok").  /v1/jwks is the
Backend API: it answers 401 unless "Authorization: Bearer <secret>"
(default sk_test_fake).  /_r/<anything> is where the redirect modes point:
it always serves the JWKS.

Modes (the key source faults of the README's "How keys are found"):
  ok              the JWKS (application/json)
  500             HTTP 500 with a JSON error
  close           close the connection without answering
  hang            never answer (until the mode changes or the fake stops)
  drip            the JWKS one byte per second (Content-Length announced)
  redirect-same   302 to /_r<path> on the same host (served)
  redirect-other  302 to http://localhost:<port>/_r<path> (same port, other host name)
  redirect-port   302 to another port of 127.0.0.1 (opts: port=)
  redirect-loop   302 to the very same URL, forever
  gzip            the JWKS gzip-encoded (Content-Encoding: gzip)
  gzip-bomb       10 MB of JSON whitespace gzip-encoded (about 10 KB on the wire)
  empty-keys      {"keys":[]}
  keys-object     {"keys":{}}
  html            an HTML error page with status 200
  huge            a 10 MB body (a JWKS padded with whitespace)
  mixed           the JWKS plus unusable keys (1024-bit, e=3, EC, use=enc, no kid...)
  invalid-only    only unusable keys
  status:<n>      that status with a JSON error body
"""
import gzip
import json
import socket
import ssl
import threading
import time

import clerk_tokens as T
from fake_http import FakeHandler, FakeHTTPServer, FakeService, RecordedRequest

DEFAULT_SECRET = "sk_test_fake"
TEN_MB = 10 * 1024 * 1024


def jwk(key, kid=None, **extra):
    """The public JWK of a clerk_tokens key name ("ins", "a", "b", "gen1"...)."""
    extra.setdefault("alg", "RS256")
    extra.setdefault("use", "sig")
    return T.public_jwk(key, kid=kid if kid is not None else T.KIDS.get(key, key), **extra)


def jwks_of(*keys):
    """{"keys":[...]} for these key names."""
    return {"keys": [jwk(k) for k in keys]}


def _unusable_keys():
    """Keys a JWKS loader must skip (generated once per run, cached by clerk_tokens)."""
    return [
        T.public_jwk("rsa1024", kid="small", alg="RS256", use="sig"),
        T.public_jwk("rsa_e3", kid="e3", alg="RS256", use="sig"),
        T.public_jwk("ec", kid="ec", alg="ES256", use="sig"),
        T.public_jwk("gen_enc", kid="enc", alg="RS256", use="enc"),
        {"kty": "RSA", "kid": "garbage", "n": "!!!", "e": "AQAB"},
        {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
        "not an object",
    ]


class Request(RecordedRequest):
    @property
    def api_version(self):
        return self.headers.get("clerk-api-version")

    def __repr__(self):
        return "<%s %s at %.3f>" % (self.method, self.path, self.at)


class _Handler(FakeHandler):
    server_version = "FakeClerk/1"

    def setup(self):
        if isinstance(self.request, ssl.SSLSocket):
            # in this connection's thread, not the accepting one
            self.request.settimeout(10)
            self.request.do_handshake()
        super().setup()


class _Server(FakeHTTPServer):
    def handle_error(self, request, client_address):
        pass    # refused TLS handshakes, clients that hung up: expected here


class FakeClerk(FakeService):
    handler_class = _Handler
    server_class = _Server

    def __init__(self, port=0, secret=DEFAULT_SECRET, jwks=None, tls=None):
        """tls: (cert_path, key_path) to serve HTTPS (see tls_fake.py)."""
        self.secret = secret
        self.tls = tls
        self._port = port
        self._lock = threading.Lock()
        self._jwks = jwks if jwks is not None else jwks_of("ins")
        self._path_jwks = {}
        self._modes = {}            # path or None -> (mode, opts)
        self._requests = []
        self._release = threading.Event()

    # ---------------------------------------------------------------- life
    def start(self):
        httpd = self._listen(self._port)
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*[str(x) for x in self.tls])
            httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True,
                                           do_handshake_on_connect=False)
        self._port = httpd.server_address[1]
        self._serve_in_background()
        return self

    def stop(self):
        self._release_hung()
        super().stop()

    @property
    def running(self):
        return self._httpd is not None

    @property
    def port(self):
        return self._port           # also after stop(): a test restarts the fake on it

    @property
    def base_url(self):
        return "%s://127.0.0.1:%d" % ("https" if self.tls else "http", self._port)

    def url(self, path="/jwks.json"):
        return self.base_url + path

    # ---------------------------------------------------------------- control
    def set_jwks(self, doc, path=None):
        """The key set served (a dict or raw text) for every path, or one path."""
        with self._lock:
            if path is None:
                self._jwks = doc
            else:
                self._path_jwks[path] = doc

    def set_mode(self, mode, path=None, **opts):
        """A mode for one path (path=None: the default of every path).  Hung
        requests are released whenever a mode changes."""
        if mode in ("mixed", "invalid-only"):
            _unusable_keys()    # make the keys now, not while a fetch waits
        with self._lock:
            self._modes[path] = (mode, opts)
        self._release_hung()

    def reset_modes(self):
        with self._lock:
            self._modes.clear()
        self._release_hung()

    def _release_hung(self):
        with self._lock:
            old, self._release = self._release, threading.Event()
        old.set()

    # ---------------------------------------------------------------- records
    def requests(self, path=None):
        with self._lock:
            return [r for r in self._requests if path is None or r.path == path]

    def count(self, path=None):
        return len(self.requests(path))

    def wait_count(self, path, n, timeout=5.0):
        """Wait until path was requested at least n times; returns the count."""
        deadline = time.time() + timeout
        while True:
            c = self.count(path)
            if c >= n or time.time() >= deadline:
                return c
            time.sleep(0.02)

    # ---------------------------------------------------------------- serving
    def _current(self, path):
        with self._lock:
            mode, opts = self._modes.get(path, self._modes.get(None, ("ok", {})))
            doc = self._path_jwks.get(path, self._jwks)
            release = self._release
        return mode, opts, doc, release

    def _handle(self, h):
        path = h.path.split("?", 1)[0]
        headers = {k.lower(): v for k, v in h.headers.items()}
        with self._lock:
            self._requests.append(Request(h.command, path, headers, time.time()))
        mode, opts, doc, release = self._current(path)
        body = (doc if isinstance(doc, str) else json.dumps(doc)).encode()
        try:
            if path.startswith("/_r/"):
                return self._send(h, 200, body)
            if path == "/v1/jwks" and headers.get("authorization") != "Bearer " + self.secret:
                return self._send(h, 401, b'{"errors":[{"code":"authentication_invalid"}]}')
            self._serve_mode(h, path, mode, opts, body, release)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            pass

    def _send(self, h, status, body, ctype="application/json", extra=()):
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)

    def _redirect(self, h, location):
        h.send_response(302)
        h.send_header("Location", location)
        h.send_header("Content-Length", "0")
        h.end_headers()

    def _serve_mode(self, h, path, mode, opts, body, release):
        if mode == "ok":
            self._send(h, 200, body)
        elif mode == "500":
            self._send(h, 500, b'{"errors":[{"code":"internal"}]}')
        elif mode.startswith("status:"):
            self._send(h, int(mode[7:]), b'{"errors":[{"code":"fake"}]}')
        elif mode == "close":
            h.close_connection = True
            h.connection.shutdown(socket.SHUT_RDWR)
        elif mode == "hang":
            release.wait(opts.get("max_seconds", 60))
            h.close_connection = True
        elif mode == "drip":
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.flush()
            for i in range(len(body)):
                if release.wait(opts.get("interval", 1.0)):
                    return
                h.wfile.write(body[i:i + 1])
                h.wfile.flush()
        elif mode == "redirect-same":
            self._redirect(h, "/_r" + path)
        elif mode == "redirect-other":
            self._redirect(h, "http://localhost:%d/_r%s" % (self._port, path))
        elif mode == "redirect-port":
            self._redirect(h, "http://127.0.0.1:%d/_r%s" % (opts["port"], path))
        elif mode == "redirect-loop":
            self._redirect(h, path)
        elif mode == "gzip":
            self._send(h, 200, gzip.compress(body), extra=[("Content-Encoding", "gzip")])
        elif mode == "gzip-bomb":
            bomb = body[:-1] + b" " * TEN_MB + b"}"
            self._send(h, 200, gzip.compress(bomb, 9), extra=[("Content-Encoding", "gzip")])
        elif mode == "empty-keys":
            self._send(h, 200, b'{"keys":[]}')
        elif mode == "keys-object":
            self._send(h, 200, b'{"keys":{}}')
        elif mode == "html":
            self._send(h, 200, b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>",
                       ctype="text/html")
        elif mode == "huge":
            self._send(h, 200, body[:-1] + b" " * TEN_MB + b"}")
        elif mode == "mixed":
            doc = json.loads(body)
            doc["keys"] = _unusable_keys() + doc["keys"]
            self._send(h, 200, json.dumps(doc).encode())
        elif mode == "invalid-only":
            self._send(h, 200, json.dumps({"keys": _unusable_keys()}).encode())
        else:
            raise ValueError("unknown fake mode %r" % mode)


if __name__ == "__main__":      # a manual run: python3 fake_clerk.py
    import sys
    sys.path.insert(0, str(T.HERE))
    f = FakeClerk(port=int(sys.argv[1]) if len(sys.argv) > 1 else 0).start()
    print("serving", f.url())
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        f.stop()
