"""A fake Clerk for the browser-session tests: Frontend API handshake and
Backend API handshake payload, on one threaded stdlib HTTP server (127.0.0.1).

Frontend API (what the browser is sent to; ClerkProxyURL points here):
  GET /v1/client/handshake?redirect_url=...&__clerk_hs_reason=...
      307 back to redirect_url with a handshake result appended, by mode:
        "nonce"      (default) &__clerk_handshake_nonce=<nonce>; the nonce
                     resolves (Backend API) to a fresh __session + __client_uat
        "token"      &__clerk_handshake=<handshake JWT signed with the fixture
                     key, payload {"handshake": [the same directives]}>
        "token-badkey"  the same JWT signed with another key (kid unchanged)
        "token-template" the JWT with a JWT-template category (cl_B7d4PD222AAA)
        "unknown-nonce"  a nonce the Backend API does not know
        "loop"       straight back to redirect_url, nothing appended (a FAPI
                     that cannot sign the user in: the redirect-loop case)
        "dev"        the development instance's FAPI (the dev browser): without
                     __clerk_db_jwt in the handshake URL (dev-browser-missing)
                     back with &__clerk_db_jwt=<DEV_BROWSER>; with it, back with
                     &__clerk_handshake=<signed handshake JWT> whose directives
                     set __session, __client_uat and __clerk_db_jwt
  GET /seed?next=<url>&<cookie>=<value>...
      sets each cookie (Path=/; SameSite=Lax; no Secure: the tests run on
      http) and 302s to next: the first hop of the Chromium test.

Backend API (ClerkAPIURL points here):
  POST /v1/sessions/<sid>/refresh[?suffixed_cookies=true]
      Clerk's silent refresh (needs the secret, else 401); the JSON body is
      recorded (Seen.body); by refresh_mode:
        "ok"     200 {"object":"cookies","cookies":[refresh_cookies or a
                 fresh __session + __client_uat]}
        "error"  400 {"errors":[{"code": refresh_code}]}
        "down"   503 {"errors":[{"code":"service_unavailable"}]}
        "hangup" the connection closed without an answer (fetch-error)
  GET /v1/clients/handshake_payload?nonce=<nonce>
      needs "Authorization: Bearer <SECRET>" (else 401);
      {"directives": [...]} for a known nonce, {"directives": []} otherwise;
      bapi_mode "down": 503 for everything.

Every request is recorded (path, query, headers) and counted by path.
"""
import json
import secrets
import threading
import time
import urllib.parse

import clerk_tokens as T
from fake_http import FakeHandler, FakeService

SECRET = "sk_test_browserFlowFakeSecret0123456789abcdef"
PK_LIVE = "pk_live_Y2xlcmsuYWNjZXB0YW5jZS50ZXN0JA"    # clerk.acceptance.test
PK_TEST = "pk_test_Y2xlcmsuYWNjZXB0YW5jZS50ZXN0JA"
FAPI = "clerk.acceptance.test"
ISS = "https://" + FAPI
SUFFIX = "t4uUWLLE"                                     # getCookieSuffix(PK_LIVE)
USER = "user_2browserFlowSignedInViaHandshake"
SID = "sess_2browserFlowSessionFromHandshake"

HANDSHAKE = "/v1/client/handshake"
PAYLOAD = "/v1/clients/handshake_payload"
SEED = "/seed"
REFRESH_PREFIX = "/v1/sessions/"
DEV_BROWSER = "dvb_2devBrowserFromTheFakeFrontendApi0123"


def refresh_path(sid=SID):
    return REFRESH_PREFIX + sid + "/refresh"


def session_token(user=USER, key="ins", header=None, **over):
    """A session token of this instance (iss https://clerk.acceptance.test);
    azp=T.DROP for one without azp (minted on a top-level navigation)."""
    claims = T.session_claims(iss=ISS, sub=user, sid=SID)
    claims.update(over)
    return T.mint(claims, key=key, header=header)


class Seen:
    """One request the fake received."""

    def __init__(self, method, path, query, headers, body=b""):
        self.method = method
        self.path = path
        self.query = query              # {name: first value}
        self.headers = headers          # {lower-case name: value}
        self.body = body                # the request body (bytes)

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "<%s %s %s>" % (self.method, self.path, self.query)


class _Handler(FakeHandler):
    server_version = "FakeClerk/1"


class FakeClerk(FakeService):
    handler_class = _Handler

    def __init__(self):
        self._lock = threading.Lock()
        self._nonces = {}           # nonce -> directives
        self._seen = []
        self.reset()

    # ---------------------------------------------------------------- life
    # start() and stop(): FakeService
    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def reset(self):
        with self._lock:
            self.mode = "nonce"
            self.bapi_mode = "ok"
            self.refresh_mode = "ok"
            self.refresh_code = "refresh_token_invalid"
            self.refresh_cookies = None     # a list: what a refresh answers with, verbatim
            self.azp_less = False           # session tokens minted without azp
            self.iss = ISS                  # their issuer (a satellite's: https://clerk.<domain>)
            self.dev_browser = DEV_BROWSER
            self.user = USER
            self._seen = []

    # ---------------------------------------------------------------- records
    def requests(self, path=None):
        with self._lock:
            return [r for r in self._seen if path is None or r.path == path]

    def calls(self, path):
        return len(self.requests(path))

    # ---------------------------------------------------------------- state
    def directives(self, suffixed=False):
        """What Clerk's FAPI would set after a successful handshake."""
        # one clock reading for both: a second ticking between them would make the
        # token's iat earlier than __client_uat, which the module rightly refuses
        now = T.now()
        tok = session_token(self.user, iss=self.iss, iat=now,
                            **({"azp": T.DROP} if self.azp_less else {}))
        uat = str(now)
        d = ["__session=%s; Path=/; SameSite=Lax" % tok, "__client_uat=%s; Path=/" % uat]
        if suffixed:
            d += ["__session_%s=%s; Path=/; SameSite=Lax" % (SUFFIX, tok),
                  "__client_uat_%s=%s; Path=/" % (SUFFIX, uat)]
        return d

    def dev_directives(self, suffixed=False):
        """A development handshake's directives: the session pair and the dev browser."""
        return self.directives(suffixed) + ["__clerk_db_jwt=%s; Path=/; SameSite=Lax"
                                            % self.dev_browser]

    def new_nonce(self, directives=None):
        nonce = "nonce_" + secrets.token_urlsafe(18)
        with self._lock:
            self._nonces[nonce] = list(directives) if directives is not None else self.directives()
        return nonce

    def handshake_token(self, directives=None, key="ins", header=None):
        """A handshake JWT as FAPI signs it: {"handshake": [directives]}."""
        payload = {"handshake": directives if directives is not None else self.directives()}
        hdr = {"alg": "RS256", "kid": T.INS_KID, "typ": "JWT"}
        hdr.update(header or {})
        return T.raw_token(hdr, payload, key=key)

    # ---------------------------------------------------------------- serving
    def _handle(self, h):
        parsed = urllib.parse.urlsplit(h.path)
        query = {}
        for k, v in urllib.parse.parse_qsl(parsed.query, keep_blank_values=True):
            query.setdefault(k, v)
        body = b""
        if h.command == "POST":
            n = int(h.headers.get("Content-Length") or 0)
            body = h.rfile.read(n) if n else b""
        seen = Seen(h.command, parsed.path, query, {k.lower(): v for k, v in h.headers.items()},
                    body)
        with self._lock:
            self._seen.append(seen)
        try:
            if parsed.path == HANDSHAKE and h.command == "GET":
                return self._handshake(h, query)
            if parsed.path == PAYLOAD and h.command == "GET":
                return self._payload(h, query, seen.headers)
            if (parsed.path.startswith(REFRESH_PREFIX) and parsed.path.endswith("/refresh")
                    and h.command == "POST"):
                return self._refresh(h, seen)
            if parsed.path == SEED and h.command == "GET":
                return self._seed(h, parse_qsl_all(parsed.query))
            self._send(h, 404, b'{"errors":[{"code":"resource_not_found"}]}')
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _handshake(self, h, query):
        back = query.get("redirect_url")
        if not back:
            return self._send(h, 400, b'{"errors":[{"code":"form_param_missing"}]}')
        suffixed = query.get("suffixed_cookies") == "true"
        mode = self.mode
        if mode == "loop":
            extra = None
        elif mode == "dev" and not query.get("__clerk_db_jwt"):
            extra = ("__clerk_db_jwt", self.dev_browser)
        elif mode == "dev":
            extra = ("__clerk_handshake", self.handshake_token(self.dev_directives(suffixed)))
        elif mode == "nonce":
            extra = ("__clerk_handshake_nonce", self.new_nonce(self.directives(suffixed)))
        elif mode == "unknown-nonce":
            extra = ("__clerk_handshake_nonce", "nonce_nobodyKnowsThisOne")
        elif mode == "token":
            extra = ("__clerk_handshake", self.handshake_token(self.directives(suffixed)))
        elif mode == "token-badkey":
            extra = ("__clerk_handshake", self.handshake_token(self.directives(suffixed), key="a"))
        elif mode == "token-template":
            extra = ("__clerk_handshake",
                     self.handshake_token(self.directives(suffixed), header={"cat": T.CAT_TEMPLATE}))
        else:
            raise ValueError(mode)
        location = back
        if extra:
            location += ("&" if "?" in back else "?") + urllib.parse.urlencode([extra])
        h.send_response(307)
        h.send_header("Location", location)
        h.send_header("Cache-Control", "no-store")
        h.send_header("Content-Length", "0")
        h.end_headers()

    def _payload(self, h, query, headers):
        if self.bapi_mode == "down":
            return self._send(h, 503, b'{"errors":[{"code":"service_unavailable"}]}')
        if headers.get("authorization") != "Bearer " + SECRET:
            return self._send(h, 401, b'{"errors":[{"code":"authentication_invalid"}]}')
        with self._lock:
            directives = self._nonces.get(query.get("nonce", ""), [])
        self._send(h, 200, json.dumps({"directives": directives}).encode())

    def _refresh(self, h, seen):
        if seen.headers.get("authorization") != "Bearer " + SECRET:
            return self._send(h, 401, b'{"errors":[{"code":"authentication_invalid"}]}')
        if self.refresh_mode == "hangup":
            h.close_connection = True
            return
        if self.refresh_mode == "down":
            return self._send(h, 503, b'{"errors":[{"code":"service_unavailable"}]}')
        if self.refresh_mode == "error":
            return self._send(h, 400, json.dumps(
                {"errors": [{"code": self.refresh_code, "message": "refused"}]}).encode())
        suffixed = seen.query.get("suffixed_cookies") == "true"
        cookies = self.refresh_cookies if self.refresh_cookies is not None \
            else self.directives(suffixed)
        self._send(h, 200, json.dumps({"object": "cookies", "cookies": cookies}).encode())

    def _seed(self, h, pairs):
        nxt = None
        h.send_response(302)
        for k, v in pairs:
            if k == "next":
                nxt = v
            else:
                h.send_header("Set-Cookie", "%s=%s; Path=/; SameSite=Lax" % (k, v))
        h.send_header("Location", nxt or "/")
        h.send_header("Cache-Control", "no-store")
        h.send_header("Content-Length", "0")
        h.end_headers()

    @staticmethod
    def _send(h, status, body):
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)


def parse_qsl_all(q):
    return urllib.parse.parse_qsl(q, keep_blank_values=True)


def wait_until(pred, timeout=5.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return pred()
