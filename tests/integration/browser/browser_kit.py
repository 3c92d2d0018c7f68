"""The httpd configuration of the browser-session tests and a small browser.

Every protected URL is /b/<name>/env (the printenv CGI through AliasMatch),
so a <Location /b/<name>> is all a case needs.  /site/ is a real directory
with DirectoryIndex index.py, for the landing-on-a-directory case (a PHP
site's "/" with index.php); /open-site/ protects only its index.py (<Files>),
so only the DirectoryIndex subrequest authenticates.

Browser keeps cookies per host (not per port, as browsers do), sends the
headers of a navigation or of a fetch()/XHR, and follows redirects.
"""
import time
import urllib.parse

import requests

import clerk_tokens as T
import handshake_fake as F
from locations import REALM, cgi_directory, clerk

SIGN_IN = "https://accounts.example.test/sign-in"
SAT_DOMAIN = "satellite.test"                   # ClerkDomain of the satellite sections
SAT_FAPI = "clerk." + SAT_DOMAIN
SAT_ORIGIN = "https://www.satellite.test"       # a satellite's pages (ClerkAuthorizedParties)
PRIMARY_SIGN_IN = "https://primary.example.test/sign-in"    # ClerkSignInURL of a dev satellite

NAV = {  # what Chromium sends for a top-level navigation
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,"
              "image/webp,*/*;q=0.8",
    "Sec-Fetch-Dest": "document",
    "Sec-Fetch-Mode": "navigate",
    "Sec-Fetch-Site": "none",
    "Upgrade-Insecure-Requests": "1",
}
FETCH = {  # fetch() / XMLHttpRequest from a page
    "Accept": "*/*",
    "Sec-Fetch-Dest": "empty",
    "Sec-Fetch-Mode": "cors",
    "Sec-Fetch-Site": "same-origin",
}
CURL_HTML = {"Accept": "text/html"}   # a client without Sec-Fetch-* asking for a page


# An unprotected page whose script asks a protected URL with synchronous
# XMLHttpRequests (Sec-Fetch-Dest: empty) and writes what it got into the DOM.
XHR_PAGE = """<!doctype html>
<html><head><title>xhr</title></head><body><pre id="out">pending</pre>
<script>
var out = [];
function probe(method, url) {
  var x = new XMLHttpRequest();
  x.open(method, url, false);
  try {
    x.send(method === "POST" ? "a=1" : null);
    out.push(method + " " + x.status + " " + (x.getResponseHeader("X-Clerk-Auth-Reason") || "-")
             + " " + x.responseURL);
  } catch (e) {
    out.push(method + " error " + e.name);
  }
}
probe("GET", "/b/hs/env?via=xhr");
probe("POST", "/b/hs/env?via=xhr");
document.getElementById("out").textContent = out.join("\\n");
</script></body></html>
"""


def common(fake, pk=F.PK_LIVE, proxy=True):
    lines = ["ClerkPublishableKey " + pk, "ClerkSecretKey " + F.SECRET]
    if proxy is True:
        lines.append("ClerkProxyURL " + fake.url)
    elif proxy:
        lines.append("ClerkProxyURL " + proxy)
    lines += ["ClerkSignedOutAction handshake", "ClerkDebugHeaders On", "Require valid-user"]
    return "\n".join(lines)


# the browser tests resolve many nonces: the default budget is tested in
# test_browser_hardening.py, on servers of its own (limits="")
GENEROUS = "ClerkBackendAPIBudget 100000 100000"


def config(h, fake, limits=GENEROUS):
    doc = h.docroot
    h.install_www("cgi/printenv.py", "printenv.py")
    h.install_www("site/index.py", "printenv.py")
    h.install_www("open-site/index.py", "printenv.py")
    h.write("htdocs/open/xhr.html", XHR_PAGE)
    s = [f"""
ClerkAPIURL {fake.url}
ClerkHTTPTimeout 2
{limits}
{cgi_directory(doc)}
AliasMatch "^/b/([^/]+)/env$" "{doc}/cgi/printenv.py"
# as Debian's php8.x.conf: the script files get a section of their own, so the
# DirectoryIndex subrequest has another per-directory configuration
<FilesMatch "^index\\.py$">
    SetHandler cgi-script
</FilesMatch>
<Directory "{doc}/site">
    AuthType Clerk
    AuthName "{REALM}"
    ClerkJWTKeyFile "{h.keys}/{T.INS_KID}.public.pem"
    {common(fake)}
    DirectoryIndex index.py
</Directory>
# only the script is protected (a <Files>/<FilesMatch> section around *.php)
<Directory "{doc}/open-site">
    DirectoryIndex index.py
    <Files "index.py">
        AuthType Clerk
        AuthName "{REALM}"
        ClerkJWTKeyFile "{h.keys}/{T.INS_KID}.public.pem"
        {common(fake)}
    </Files>
</Directory>
"""]
    L = lambda path, *body: s.append(clerk(h, path, *body))
    L("/b/hs", common(fake))
    L("/b/hs-any", common(fake), "ClerkAcceptToken any")
    L("/b/fwd", common(fake), "ClerkTrustForwardedHeaders On")
    L("/b/noproxy", common(fake, proxy=False))
    L("/b/dev", common(fake, pk=F.PK_TEST))
    # dev primary that may send a syncing satellite back (the module wants its origin listed)
    L("/b/devprimary", common(fake, pk=F.PK_TEST),
      "ClerkAuthorizedParties %s %s" % (SAT_ORIGIN, T.AZP))
    # satellites: production (own Frontend API clerk.<domain>, or the proxy), development
    sat = "ClerkIsSatellite On\nClerkDomain " + SAT_DOMAIN
    L("/b/sat", common(fake, proxy=False), sat)
    L("/b/sat-auto", common(fake, proxy=False), sat, "ClerkSatelliteAutoSync On")
    L("/b/sat-proxy", common(fake), sat, "ClerkSatelliteAutoSync On")
    L("/b/devsat", common(fake, pk=F.PK_TEST), sat, "ClerkSignInURL " + PRIMARY_SIGN_IN)
    L("/b/devsat-auto", common(fake, pk=F.PK_TEST), sat, "ClerkSignInURL " + PRIMARY_SIGN_IN,
      "ClerkSatelliteAutoSync On")
    # a relative ClerkProxyURL, resolved against the public origin
    L("/b/relproxy", common(fake, proxy="/__clerk"))
    L("/b/relproxy-fwd", common(fake, proxy="/__clerk"), "ClerkTrustForwardedHeaders On")
    # item 8: the README's recommended browser section, with and without ClerkAuthorizedParties
    L("/b/azp-parties", common(fake), "ClerkAuthorizedParties " + T.AZP)
    L("/b/azp-open", common(fake))
    L("/b/redir", "ClerkPublishableKey " + F.PK_LIVE, "ClerkSignedOutAction redirect " + SIGN_IN,
      "ClerkDebugHeaders On", "Require valid-user")
    L("/b/redirq", "ClerkPublishableKey " + F.PK_LIVE,
      "ClerkSignedOutAction redirect %s?lang=en" % SIGN_IN, "Require valid-user")
    L("/b/redirfwd", "ClerkPublishableKey " + F.PK_LIVE, "ClerkSignedOutAction redirect " + SIGN_IN,
      "ClerkTrustForwardedHeaders On", "Require valid-user")
    return "\n".join(s) + "\n"


# ---------------------------------------------------------------- cookies

class Cookie:
    def __init__(self, name, value, path="/", expires=None):
        self.name, self.value, self.path, self.expires = name, value, path, expires


def parse_set_cookie(header, request_path):
    parts = [p.strip() for p in header.split(";")]
    name, _, value = parts[0].partition("=")
    path = request_path.rsplit("/", 1)[0] or "/"       # RFC 6265 default-path
    expires = None
    for attr in parts[1:]:
        k, _, v = attr.partition("=")
        k = k.strip().lower()
        if k == "path" and v.startswith("/"):
            path = v
        elif k == "max-age":
            expires = time.time() + int(v)
    return Cookie(name.strip(), value.strip(), path, expires)


class Browser:
    """Cookies per host (ports ignored), navigation or fetch headers, redirects followed."""

    def __init__(self, httpd=None):
        self.h = httpd
        self.jar = {}               # host -> {(name, path): Cookie}
        self.s = requests.Session()

    def close(self):
        self.s.close()

    # -- cookies
    def set(self, name, value, host="127.0.0.1", path="/"):
        self.jar.setdefault(host, {})[(name, path)] = Cookie(name, value, path)
        if self.h is not None and len(value) > 40:
            self.h.sent_tokens.append(value)

    def cookies(self, host="127.0.0.1", path="/"):
        now = time.time()
        out = {}
        for (name, cpath), c in sorted(self.jar.get(host, {}).items(), key=lambda kv: -len(kv[0][1])):
            if c.expires is not None and c.expires <= now:
                continue
            if path == cpath or path.startswith(cpath.rstrip("/") + "/") or cpath == "/":
                out.setdefault(name, c.value)
        return out

    def _store(self, host, path, headers):
        for sc in headers:
            c = parse_set_cookie(sc, path)
            bucket = self.jar.setdefault(host, {})
            if c.value == "" or (c.expires is not None and c.expires <= time.time()):
                bucket.pop((c.name, c.path), None)
            else:
                bucket[(c.name, c.path)] = c

    # -- requests
    def url(self, path):
        return self.h.base_url + path

    def request(self, method, url, headers=None, **kw):
        """One request, no redirects followed; cookies from the jar, Set-Cookie stored."""
        if url.startswith("/"):
            url = self.url(url)
        u = urllib.parse.urlsplit(url)
        hdrs = dict(headers or {})
        jar = self.cookies(u.hostname, u.path or "/")
        if jar:
            hdrs["Cookie"] = "; ".join("%s=%s" % kv for kv in jar.items())
        r = self.s.request(method, url, headers=hdrs, allow_redirects=False, timeout=20, **kw)
        r.set_cookies = r.raw.headers.getlist("Set-Cookie")
        self._store(u.hostname, u.path or "/", r.set_cookies)
        return r

    def navigate(self, url, method="GET", headers=NAV, max_hops=12, **kw):
        """Follow redirects as a browser does; returns the list of responses."""
        chain = []
        for _ in range(max_hops):
            r = self.request(method, url, headers=headers, **kw)
            chain.append(r)
            if r.status_code not in (301, 302, 303, 307, 308):
                return chain
            url = urllib.parse.urljoin(r.url, r.headers["Location"])
            if r.status_code in (301, 302, 303):
                method = "GET"
                kw.pop("data", None)
        raise AssertionError("more than %d redirects: %s" % (max_hops, [c.url for c in chain]))

    def fetch(self, url, method="GET", **kw):
        return self.request(method, url, headers=FETCH, **kw)

    def get(self, url, headers=NAV, **kw):
        return self.request("GET", url, headers=headers, **kw)


def handshake_query(location):
    """The query of a handshake Location as a dict (first values)."""
    u = urllib.parse.urlsplit(location)
    return dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
