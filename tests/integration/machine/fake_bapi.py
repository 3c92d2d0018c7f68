"""A fake Clerk Backend API for opaque machine tokens (mt_, oat_, ak_).

FakeBAPI() is a threaded stdlib HTTP server on 127.0.0.1 with the three verify
endpoints of @clerk/backend (M2MTokenApi, IdPOAuthAccessTokenApi, APIKeysApi)
and Clerk's response shapes:

  POST /m2m_tokens/verify                       {"token": "mt_..."}
  POST /oauth_applications/access_tokens/verify {"access_token": "oat_..."}
  POST /api_keys/verify                         {"secret": "ak_..."}
  GET  /v1/jwks                                 the fixture key set (never needed)
  POST /m2m_tokens                              create an M2M JWT (ClerkProxyMachineToken)

POST /m2m_tokens is what Apache as the calling machine asks: with the machine
secret as Bearer it mints an M2M JWT with the fixture key (sub MACHINE,
scopes and aud `m2m_scopes`), living seconds_until_expiration, and answers
Clerk's M2MTokenJSON.  fake.m2m_mode: "valid", "401", "500", "hang" or
"wrong-scopes" (the token reaches only mch_other); fake.m2m_tokens() lists
the tokens minted, fake.calls(FakeBAPI.M2M_CREATE) counts the calls.

A request whose Authorization is not "Bearer <one of the accepted secrets>"
gets 401 (Clerk's authentication_invalid).  Otherwise the answer depends on
the token's registered mode (unregistered tokens are unknown: 404):

  fake = FakeBAPI().start()
  tok = fake.token("mt", mode="valid", scopes=["mch_a"])   # a fresh mt_ token
  fake.calls(FakeBAPI.M2M, token=tok)                       # requests for it
  fake.set_mode("hang")                                      # override every token

Modes:
  valid       200 with the object (revoked false, expired false)
  revoked     200 with "revoked": true and a revocation_reason
  expired     200 with "expired": true (expiration in the past)
  expired-ms  200 with "expired": false but "expiration" (ms) in the past
  unknown     404 (Clerk: "not found" for unknown tokens)
  500         HTTP 500 with a Clerk error body
  hang        no answer for `hang_seconds` (default 5), then the connection closes
  status:<n>  that status with a Clerk error body

Every request is recorded (method, path, lower-cased headers, raw body, the
JSON body's field names and the token in it) for the tests' assertions.
"""
import itertools
import json
import secrets
import socket
import threading
import time

import clerk_tokens as T
from fake_http import FakeHandler, FakeService, RecordedRequest

INSTANCE_SECRET = "sk_test_fakeInstanceSecretKey0123456789"
MACHINE_SECRET = "ak_fakeMachineSecretKey0123456789abcdef"

M2M = "/m2m_tokens/verify"
M2M_CREATE = "/m2m_tokens"
M2M_SCOPES = ["mch_a", "mch_b"]
OAUTH = "/oauth_applications/access_tokens/verify"
API_KEY = "/api_keys/verify"
ENDPOINTS = {M2M: "token", OAUTH: "access_token", API_KEY: "secret"}
PREFIX_ENDPOINT = {"mt": M2M, "oat": OAUTH, "ak": API_KEY}

MACHINE = T.MACHINE
OAUTH_USER = "user_2vYVtestTESTtestTEST"
OAUTH_CLIENT = "client_2xKa9BgvFakeClient"
API_KEY_USER = T.USER
API_KEY_ORG = "org_2xKa9BgvFakeOrganization"

_serial = itertools.count(1)


def ms(seconds):
    """Unix seconds -> Clerk's millisecond timestamps."""
    return int(seconds * 1000)


def _error(code, message):
    return {"errors": [{"code": code, "message": message, "long_message": message}],
            "clerk_trace_id": "fake"}


def answer_for(token, mode="valid", **fields):
    """The Clerk object for token (by its prefix) in this mode, fields applied."""
    t = time.time()
    expiration = ms(t + 3600)
    revoked = mode == "revoked"
    expired = mode == "expired"
    if mode in ("expired", "expired-ms"):
        expiration = ms(t - 600)
    ident = token.split("_", 1)[0] + "_" + "id%06d" % next(_serial) + secrets.token_hex(4)

    def status(revocation_reason):
        """The revocation and expiry fields every kind has, in Clerk's order."""
        return {"revoked": revoked, "revocation_reason": revocation_reason if revoked else None,
                "expired": expired, "expiration": expiration}

    timestamps = {"created_at": ms(t - 60), "updated_at": ms(t - 60)}
    if token.startswith("mt_"):
        a = {
            "object": "machine_to_machine_token",
            "id": ident,
            "subject": MACHINE,
            "scopes": ["mch_a", "mch_b"],
            "claims": {"team": "billing"},
            **status("rotated"),
            **timestamps,
        }
    elif token.startswith("oat_"):
        a = {
            "object": "clerk_idp_oauth_access_token",
            "id": ident,
            "client_id": OAUTH_CLIENT,
            "type": "oauth:access_token",
            "subject": OAUTH_USER,
            "scopes": ["read", "write"],
            **status("user_revoked"),
            **timestamps,
        }
    elif token.startswith("ak_"):
        a = {
            "object": "api_key",
            "id": ident,
            "type": "api_key",
            "name": "ci-deploy",
            "subject": API_KEY_USER,
            "scopes": ["deploy", "read"],
            "claims": None,
            **status("leaked"),
            "created_by": API_KEY_USER,
            "last_used_at": None,
            **timestamps,
        }
    else:
        raise ValueError("not an opaque Clerk token: %r" % token[:8])
    a.update(fields)
    return {k: v for k, v in a.items() if v is not T.DROP}


class Request(RecordedRequest):
    def __init__(self, method, path, headers, body, at):
        super().__init__(method, path, headers, at)
        self.body = body                    # raw bytes
        try:
            self.json = json.loads(body.decode("utf-8")) if body else None
        except ValueError:
            self.json = None

    @property
    def fields(self):
        """The JSON body's field names, sorted."""
        return sorted(self.json) if isinstance(self.json, dict) else None

    @property
    def token(self):
        if not isinstance(self.json, dict):
            return None
        return self.json.get(ENDPOINTS.get(self.path, ""))

    def __repr__(self):
        return "<%s %s %s>" % (self.method, self.path, self.fields)


class _Handler(FakeHandler):
    server_version = "FakeBAPI/1"


class FakeBAPI(FakeService):
    M2M, OAUTH, API_KEY, M2M_CREATE = M2M, OAUTH, API_KEY, M2M_CREATE
    handler_class = _Handler

    def __init__(self, secrets=(INSTANCE_SECRET, MACHINE_SECRET), hang_seconds=5.0):
        self.secrets = set(secrets)
        self.hang_seconds = hang_seconds
        self._lock = threading.Lock()
        self._tokens = {}           # token -> (mode, answer)
        self._mode = None           # overrides every token when set
        self._requests = []
        self._release = threading.Event()
        self.m2m_mode = "valid"
        self.m2m_scopes = list(M2M_SCOPES)
        self._minted = []           # (token, seconds asked for)

    # ---------------------------------------------------------------- life
    def stop(self):
        self._release.set()         # hung requests end now, not after hang_seconds
        super().stop()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    # ---------------------------------------------------------------- tokens
    def token(self, kind, mode="valid", **fields):
        """Register a fresh opaque token of kind "mt", "oat" or "ak"; returns it.
        fields override the answer's (T.DROP removes one)."""
        tok = "%s_%s" % (kind, secrets.token_urlsafe(24).replace("-", "x").replace("_", "y"))
        self.register(tok, mode, **fields)
        return tok

    def register(self, token, mode="valid", **fields):
        with self._lock:
            self._tokens[token] = (mode, answer_for(token, mode, **fields))
        return token

    def answer(self, token):
        """The object the fake answers for token (what CLERK_CLAIMS must equal)."""
        with self._lock:
            return self._tokens[token][1]

    def set_mode(self, mode):
        """A mode for every token (None: back to each token's own); releases hung requests."""
        with self._lock:
            self._mode = mode
            old, self._release = self._release, threading.Event()
        old.set()

    def reset(self):
        """Every token back to its own mode: the state each test starts from."""
        self.set_mode(None)
        with self._lock:
            self.m2m_mode = "valid"
            self.m2m_scopes = list(M2M_SCOPES)

    def set_m2m_mode(self, mode):
        """How POST /m2m_tokens answers from now on; releases hung creations."""
        with self._lock:
            self.m2m_mode = mode
            old, self._release = self._release, threading.Event()
        old.set()

    def m2m_tokens(self):
        """[(token, seconds_until_expiration)] of every token minted."""
        with self._lock:
            return list(self._minted)

    # ---------------------------------------------------------------- records
    def requests(self, path=None, token=None):
        with self._lock:
            return [r for r in self._requests
                    if (path is None or r.path == path) and (token is None or r.token == token)]

    def calls(self, path=None, token=None):
        return len(self.requests(path, token))

    def verify_calls(self):
        """Requests to any of the three verify endpoints."""
        return sum(self.calls(p) for p in ENDPOINTS)

    # ---------------------------------------------------------------- serving
    def _handle(self, h):
        path = h.path.split("?", 1)[0]
        headers = {k.lower(): v for k, v in h.headers.items()}
        n = int(headers.get("content-length") or 0)
        body = h.rfile.read(n) if n > 0 else b""
        req = Request(h.command, path, headers, body, time.time())
        with self._lock:
            self._requests.append(req)
            override, release = self._mode, self._release
            mode, answer = self._tokens.get(req.token, ("unknown", None))
        try:
            if path == "/v1/jwks" and h.command == "GET":
                return self._send(h, 200, {"keys": [T.public_jwk("ins", kid=T.INS_KID,
                                                                 alg="RS256", use="sig")]})
            if path == M2M_CREATE and h.command == "POST":
                return self._create_m2m(h, headers, req, release)
            if path not in ENDPOINTS or h.command != "POST":
                return self._send(h, 404, _error("resource_not_found", "not found"))
            auth = headers.get("authorization", "")
            if not auth.startswith("Bearer ") or auth[7:] not in self.secrets:
                return self._send(h, 401, _error("authentication_invalid",
                                                 "The provided secret key is invalid."))
            mode = override or mode
            if mode == "hang":
                release.wait(self.hang_seconds)
                h.close_connection = True
                return
            if mode == "500":
                return self._send(h, 500, _error("internal_clerk_error", "Oops"))
            if mode.startswith("status:"):
                return self._send(h, int(mode[7:]), _error("fake", "fake status"))
            if mode == "unknown" or answer is None:
                return self._send(h, 404, _error("resource_not_found",
                                                 "Machine token not found"))
            self._send(h, 200, answer)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            pass

    def _create_m2m(self, h, headers, req, release):
        """POST /m2m_tokens as Clerk's M2MTokenApi.createToken is answered."""
        with self._lock:
            mode, scopes = self.m2m_mode, list(self.m2m_scopes)
        if headers.get("authorization") != "Bearer " + MACHINE_SECRET or mode == "401":
            return self._send(h, 401, _error("authentication_invalid",
                                             "The provided machine secret key is invalid."))
        if mode == "hang":
            release.wait(self.hang_seconds)
            h.close_connection = True
            return
        if mode == "500":
            return self._send(h, 500, _error("internal_clerk_error", "Oops"))
        body = req.json if isinstance(req.json, dict) else {}
        seconds = body.get("seconds_until_expiration")
        if not isinstance(seconds, int) or body.get("token_format") != "jwt":
            return self._send(h, 422, _error("form_param_invalid", "bad request body"))
        if mode == "wrong-scopes":
            scopes = ["mch_other"]
        t = int(time.time())
        ident = "mt_%06d%s" % (next(_serial), secrets.token_hex(8))
        token = T.mint_m2m(iat=t, nbf=t, exp=t + seconds, jti=ident, aud=scopes,
                           scopes=" ".join(scopes))
        with self._lock:
            self._minted.append((token, seconds))
        self._send(h, 200, {
            "object": "machine_to_machine_token", "id": ident, "subject": MACHINE,
            "scopes": scopes, "claims": None, "revoked": False, "revocation_reason": None,
            "expired": False, "expiration": ms(t + seconds), "last_used_at": None,
            "created_at": ms(t), "updated_at": ms(t), "token": token,
        })

    def _send(self, h, status, doc):
        body = json.dumps(doc).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)
