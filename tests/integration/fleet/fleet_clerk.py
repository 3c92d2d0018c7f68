"""The one fake Clerk a whole fleet talks to: machine/fake_bapi.py's Backend
API (the verify endpoints of mt_/oat_/ak_ tokens and POST /m2m_tokens, every
request recorded) plus the key sets a fleet fetches, each request counted:

  GET  /jwks/<name>.json    a key set (ClerkJWKSURL), set_jwks(doc, path=...)
  GET  /v1/jwks             the key set of ClerkSecretKey (401 without an accepted secret)

  fake = FleetClerk().start()
  fake.count("/jwks/a.json"), fake.creations()
  fake.m2m_lifetime = 22    # M2M tokens live this long, whatever was asked (None: as asked)
"""
import copy
import threading
import time

import clerk_tokens as T
import fake_bapi as F
from fake_bapi import FakeBAPI, Request

BAPI_JWKS = "/v1/jwks"


def jwks_of(*keys):
    """{"keys": [...]}: the public JWKs of clerk_tokens key names ("ins", "a", "b")."""
    return {"keys": [T.public_jwk(k, kid=T.KIDS.get(k, k), alg="RS256", use="sig") for k in keys]}


class FleetClerk(FakeBAPI):
    def __init__(self):
        super().__init__()
        self._jwks_lock = threading.Lock()
        self._jwks = {None: jwks_of("ins")}     # path (None: every path) -> key set
        self.m2m_lifetime = None

    # ---------------------------------------------------------------- key sets
    def jwks_url(self, name):
        return "%s/jwks/%s.json" % (self.url, name)

    def set_jwks(self, doc, path=None):
        with self._jwks_lock:
            self._jwks[path] = doc

    def count(self, path):
        return self.calls(path)

    def creations(self):
        return self.calls(FakeBAPI.M2M_CREATE)

    # ---------------------------------------------------------------- serving
    def _handle(self, h):
        path = h.path.split("?", 1)[0]
        if h.command != "GET" or not (path.startswith("/jwks/") or path == BAPI_JWKS):
            return super()._handle(h)
        headers = {k.lower(): v for k, v in h.headers.items()}
        with self._lock:
            self._requests.append(Request(h.command, path, headers, b"", time.time()))
        auth = headers.get("authorization", "")
        authorized = auth.startswith("Bearer ") and auth[7:] in self.secrets
        try:
            if path.startswith("/jwks/"):
                return self._send(h, 200, self._jwks_for(path))
            if not authorized:
                return self._send(h, 401, F._error("authentication_invalid",
                                                   "The provided secret key is invalid."))
            self._send(h, 200, self._jwks_for(path))
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _jwks_for(self, path):
        with self._jwks_lock:
            return self._jwks.get(path, self._jwks[None])

    def _create_m2m(self, h, headers, req, release):
        """fake_bapi's creation, for m2m_lifetime seconds when set: a Clerk
        that grants less than asked (the module renews by what it got)."""
        if self.m2m_lifetime and isinstance(req.json, dict):
            req = copy.copy(req)        # the recorded request stays as it was sent
            req.json = dict(req.json, seconds_until_expiration=self.m2m_lifetime)
        return super()._create_m2m(h, headers, req, release)
