"""The fake Clerk of the Chromium flow tests (test_chromium_flows.py): the
FakeClerk of handshake_fake.py, plus what a development instance, silent
refresh and short-lived sessions need.

  ttl           lifetime of the session tokens it mints (seconds; default 60)
  iss           their issuer (default handshake_fake.ISS; a satellite's
                tokens come from https://clerk.<its domain>)
  refresh_token when set, every handshake result also sets
                __refresh_<suffix of pk> with it (and the Backend API below
                refreshes sessions that present it)
  pk            the publishable key whose cookie suffix that is

Frontend API, mode "dev" (a development instance's FAPI):
  GET /v1/client/handshake without __clerk_db_jwt
      307 back to redirect_url&__clerk_db_jwt=<a new dev browser token>
      (Clerk creates the dev browser)
  GET /v1/client/handshake with __clerk_db_jwt=<token>
      307 back to redirect_url&__clerk_handshake=<signed handshake JWT>
      whose directives set __session, __client_uat, __clerk_db_jwt=<token>
      (and __refresh_<suffix> when refresh_token is set)
Every other mode: as FakeClerk.

Backend API:
  POST /v1/sessions/<sid>/refresh  {"format":"cookie","expired_token":…,
      "refresh_token":…,"request_origin":…,"request_headers":…}
      needs the secret; the refresh_token must be self.refresh_token, the
      expired token's sid the URL's; answers {"object":"cookies","cookies":
      [__session, __client_uat]} (suffixed too with ?suffixed_cookies=true),
      else 400 {"errors":[{"code":"refresh_token_invalid"}]}.
      Each call is recorded with its parsed JSON body (Seen.body).
"""
import base64
import hashlib
import json
import secrets
import urllib.parse

import clerk_tokens as T
import handshake_fake as F
from handshake_fake import FakeClerk, Seen

REFRESH_PREFIX = "/v1/sessions/"


def refresh_path(sid=F.SID):
    return REFRESH_PREFIX + sid + "/refresh"


def cookie_suffix(pk):
    """@clerk/shared getCookieSuffix: base64url(sha1(pk)), first 8 characters."""
    digest = base64.b64encode(hashlib.sha1(pk.encode()).digest()).decode()
    return digest.replace("+", "-").replace("/", "_")[:8]


assert cookie_suffix(F.PK_LIVE) == F.SUFFIX


def _claims_of(token):
    try:
        payload = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}


class ChromiumFake(FakeClerk):

    def reset(self):
        super().reset()
        with self._lock:
            self.ttl = 60
            self.iss = F.ISS
            self.pk = F.PK_LIVE
            self.refresh_token = None
            self.minted = []            # every session token handed out, in order
            self.dev_browsers = []      # every dev browser token created

    # ---------------------------------------------------------------- state
    def mint_session(self):
        t = T.now()
        tok = F.session_token(self.user, iss=self.iss, iat=t, nbf=t - 10, exp=t + self.ttl)
        with self._lock:
            self.minted.append(tok)
        return tok, str(t)

    def directives(self, suffixed=False):
        tok, uat = self.mint_session()
        names = [("__session", tok), ("__client_uat", uat)]
        d = []
        for name, value in names:
            d.append("%s=%s; Path=/; SameSite=Lax" % (name, value))
            if suffixed:
                d.append("%s_%s=%s; Path=/; SameSite=Lax" % (name, cookie_suffix(self.pk), value))
        if self.refresh_token:
            d.append("__refresh_%s=%s; Path=/; HttpOnly; SameSite=Lax"
                     % (cookie_suffix(self.pk), self.refresh_token))
        return d

    # ---------------------------------------------------------------- serving
    def _handle(self, h):
        path = urllib.parse.urlsplit(h.path).path
        if h.command == "POST" and path.startswith(REFRESH_PREFIX) and path.endswith("/refresh"):
            try:
                return self._refresh(h)
            except (BrokenPipeError, ConnectionResetError):
                return None
        return super()._handle(h)

    def _handshake(self, h, query):
        if self.mode != "dev" or not query.get("redirect_url"):
            return super()._handshake(h, query)
        back = query["redirect_url"]
        db = query.get("__clerk_db_jwt")
        if not db:
            db = "dvb_" + secrets.token_urlsafe(18)
            with self._lock:
                self.dev_browsers.append(db)
            extra = ("__clerk_db_jwt", db)
        else:
            d = self.directives(query.get("suffixed_cookies") == "true")
            d.append("__clerk_db_jwt=%s; Path=/; SameSite=Lax" % db)
            extra = ("__clerk_handshake", self.handshake_token(d))
        h.send_response(307)
        h.send_header("Location", back + ("&" if "?" in back else "?") + urllib.parse.urlencode([extra]))
        h.send_header("Cache-Control", "no-store")
        h.send_header("Content-Length", "0")
        h.end_headers()

    def _refresh(self, h):
        parsed = urllib.parse.urlsplit(h.path)
        query = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
        seen = Seen(h.command, parsed.path, query, {k.lower(): v for k, v in h.headers.items()})
        raw = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        try:
            seen.body = json.loads(raw)
        except ValueError:
            seen.body = None
        with self._lock:
            self._seen.append(seen)
        if seen.headers.get("authorization") != "Bearer " + F.SECRET:
            return self._send(h, 401, b'{"errors":[{"code":"authentication_invalid"}]}')
        body = seen.body if isinstance(seen.body, dict) else {}
        sid = _claims_of(body.get("expired_token") or "").get("sid")
        if not self.refresh_token or body.get("refresh_token") != self.refresh_token \
                or parsed.path != refresh_path(sid or "-"):
            return self._send(h, 400, b'{"errors":[{"code":"refresh_token_invalid"}]}')
        tok, uat = self.mint_session()
        cookies = ["__session=%s; Path=/; SameSite=Lax" % tok, "__client_uat=%s; Path=/" % uat]
        if query.get("suffixed_cookies") == "true":
            sfx = cookie_suffix(self.pk)
            cookies += ["__session_%s=%s; Path=/; SameSite=Lax" % (sfx, tok),
                        "__client_uat_%s=%s; Path=/" % (sfx, uat)]
        self._send(h, 200, json.dumps({"object": "cookies", "cookies": cookies}).encode())
