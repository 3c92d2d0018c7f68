"""The one fake Clerk a whole fleet talks to: machine/fake_bapi.py's Backend
API (the verify endpoints of mt_/oat_/ak_ tokens, every request recorded)
plus what a fleet also fetches from Clerk, each request counted:

  GET  /jwks/<name>.json    a key set (ClerkJWKSURL), set_jwks(doc, path=...)
  GET  /v1/jwks             the key set of ClerkSecretKey (401 without an accepted secret)
  POST /m2m_tokens          creates an M2M token in JWT format (ClerkProxyMachineToken):
  POST /v1/m2m_tokens         {"token": <JWT signed with the fixture key>, "expiration": ms, ...}

  fake = FleetClerk().start()
  fake.count("/jwks/a.json"), fake.creations()
  fake.m2m_lifetime = 20        # seconds every created token lives (None: as asked, else 3600)
"""
import secrets
import threading
import time

import clerk_tokens as T
import fake_bapi as F
from fake_bapi import FakeBAPI, Request

CREATE_PATHS = ("/m2m_tokens", "/v1/m2m_tokens")
BAPI_JWKS = "/v1/jwks"
M2M_SCOPES = ["mch_1xxxxx", "mch_2xxxxx"]


def jwks_of(*keys):
    """{"keys": [...]}: the public JWKs of clerk_tokens key names ("ins", "a", "b")."""
    return {"keys": [T.public_jwk(k, kid=T.KIDS.get(k, k), alg="RS256", use="sig") for k in keys]}


class FleetClerk(FakeBAPI):
    def __init__(self):
        super().__init__()
        self._jwks_lock = threading.Lock()
        self._jwks = {None: jwks_of("ins")}     # path (None: every path) -> key set
        self.m2m_lifetime = None
        self.created = []                        # the M2M tokens handed out, in order

    # ---------------------------------------------------------------- key sets
    def jwks_url(self, name):
        return "%s/jwks/%s.json" % (self.url, name)

    def set_jwks(self, doc, path=None):
        with self._jwks_lock:
            self._jwks[path] = doc

    def count(self, path):
        return self.calls(path)

    def creations(self):
        return sum(self.calls(p) for p in CREATE_PATHS)

    # ---------------------------------------------------------------- serving
    def _handle(self, h):
        path = h.path.split("?", 1)[0]
        mine = (h.command == "GET" and (path.startswith("/jwks/") or path == BAPI_JWKS)) or \
            (h.command == "POST" and path in CREATE_PATHS)
        if not mine:
            return super()._handle(h)
        headers = {k.lower(): v for k, v in h.headers.items()}
        n = int(headers.get("content-length") or 0)
        req = Request(h.command, path, headers, h.rfile.read(n) if n > 0 else b"", time.time())
        with self._lock:
            self._requests.append(req)
        auth = headers.get("authorization", "")
        authorized = auth.startswith("Bearer ") and auth[7:] in self.secrets
        try:
            if path.startswith("/jwks/"):
                return self._send(h, 200, self._jwks_for(path))
            if not authorized:
                return self._send(h, 401, F._error("authentication_invalid",
                                                   "The provided secret key is invalid."))
            if path == BAPI_JWKS:
                return self._send(h, 200, self._jwks_for(path))
            self._send(h, 200, self._create_m2m(req))
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _jwks_for(self, path):
        with self._jwks_lock:
            return self._jwks.get(path, self._jwks[None])

    def _create_m2m(self, req):
        """Clerk's M2M token object, its token a JWT for the fixture machine."""
        asked = (req.json or {}).get("seconds_until_expiration") if isinstance(req.json, dict) else None
        lifetime = self.m2m_lifetime or int(asked or 3600)
        t = int(time.time())
        ident = "mt_" + secrets.token_hex(12)
        token = T.mint_m2m(jti=ident, iat=t, nbf=t - 5, exp=t + lifetime,
                           scopes=" ".join(M2M_SCOPES))
        with self._lock:
            self.created.append(token)
        return {"object": "machine_to_machine_token", "id": ident, "subject": T.MACHINE,
                "scopes": M2M_SCOPES, "claims": None, "revoked": False,
                "revocation_reason": None, "expired": False, "expiration": F.ms(t + lifetime),
                "created_at": F.ms(t), "updated_at": F.ms(t), "token": token}
