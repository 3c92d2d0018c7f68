"""The one big server configuration shared by the suite (one server per MPM).

Every protected test URL lives under /t/<name>/: /t/<name>/env runs the
printenv CGI and /t/<name>/static.txt serves a static file (AliasMatch), so a
<Location /t/<name>> is all a test needs.  Real directories exist for the
.htaccess, merge, SSI and ErrorDocument cases.
"""
import json

import clerk_tokens as T

REALM = "clerk-it"
INS_PEM = T.INS_KID + ".public.pem"

# The has() conformance vectors: one Location per distinct check.
HAS_KIND_TO_PROVIDER = {
    "feature": "clerk-feature",
    "plan": "clerk-plan",
    "role": "clerk-org-role",
    "permission": "clerk-org-permission",
}


def v2_vectors():
    return json.loads((T.VECTORS / "v2_claims_vectors.json").read_text())


def has_checks():
    """[(kind, value)] distinct has() checks, in a stable order."""
    seen = []
    for v in v2_vectors()["vectors"]:
        for h in v.get("has_checks", []):
            (kind, value), = h["has"].items()
            if (kind, value) not in seen:
                seen.append((kind, value))
    return seen


def has_url(kind, value):
    return "/t/has/%d/static.txt" % has_checks().index((kind, value))


def edge_jwks():
    """A key set with one good key and every kind of key that must be skipped."""
    ins = json.loads((T.VECTORS / "jwks.json").read_text())["keys"][0]
    keys = [
        ins,
        T.public_jwk("rsa1024", kid="small", alg="RS256", use="sig"),
        T.public_jwk("rsa_e3", kid="e3", alg="RS256", use="sig"),
        T.public_jwk("gen_enc", kid="enc", alg="RS256", use="enc"),
        T.public_jwk("gen_ops", kid="noverify", alg="RS256", key_ops=["encrypt"]),
        T.public_jwk("ec", kid="ec", alg="ES256", use="sig"),
        T.public_jwk("gen_384", kid="rs384", alg="RS384", use="sig"),
        T.public_jwk("gen_noalg", kid="noalg"),
        T.public_jwk("gen_dup1", kid="dup", alg="RS256"),
        T.public_jwk("gen_dup2", kid="dup", alg="RS256"),
        T.public_jwk("gen_hs", kid="hsalg", alg="HS256"),
        dict(T.public_jwk("gen_e1", kid="e1", alg="RS256"), e="AQ"),
    ]
    return json.dumps({"keys": keys}, indent=1)


def key_line(h, key):
    K = h.keys
    if key == "pem":
        return 'ClerkJWTKeyFile "%s/%s"' % (K, INS_PEM)
    if key == "jwks":
        return 'ClerkJWKSFile "%s/jwks.json"' % K
    if key == "all":
        return 'ClerkJWKSFile "%s/jwks_all.json"' % K
    if key == "edge":
        return 'ClerkJWKSFile "%s/jwks_edge.json"' % K
    if key is None:
        return ""
    return key


def clerk(h, path, *body, key="pem", realm=REALM):
    lines = ["<Location %s>" % path, "    AuthType Clerk"]
    if realm is not None:
        lines.append('    AuthName "%s"' % realm)
    kl = key_line(h, key)
    if kl:
        lines.append("    " + kl)
    for b in body:
        for l in b.strip("\n").splitlines():
            lines.append("    " + l.strip())
    lines.append("</Location>")
    return "\n".join(lines)


def cgi_directory(doc, options="+ExecCGI -Indexes"):
    """The <Directory> of a small server's docroot: *.py (printenv.py) runs as
    CGI, everything else is served as is."""
    return f"""<Directory "{doc}">
    Options {options}
    AllowOverride None
    Require all granted
    AddHandler cgi-script .py
</Directory>"""


def main_config(h):
    """Write the htdocs tree and return the config body for server h."""
    doc = h.docroot
    K = h.keys
    h.install_www("cgi/printenv.py", "printenv.py")
    h.install_www("static/hello.txt", "hello.txt")
    h.install_www("static/err401.html", "err401.html")
    h.install_www("open/printenv.py", "printenv.py")
    # SSI pages
    h.install_www("ssi/prot/printenv.py", "printenv.py")
    h.install_www("ssi/prot/page.shtml", "include.shtml", {"@TARGET@": "/ssi/prot/printenv.py"})
    h.install_www("ssi/prot/admin.shtml", "include.shtml", {"@TARGET@": "/t/p/role/env"})
    h.install_www("ssi/open/page.shtml", "include.shtml", {"@TARGET@": "/t/basic/env"})
    # a verified page including a section with no AuthType Clerk, and one
    # where the same token is refused (another key; pass: the CGI still runs)
    h.install_www("ssi/prot/to-open.shtml", "include.shtml", {"@TARGET@": "/open/printenv.py"})
    h.install_www("ssi/prot/to-refused.shtml", "include.shtml", {"@TARGET@": "/t/refuses/env"})
    h.install_www("ssi/hdr/to-open.shtml", "include.shtml", {"@TARGET@": "/open/printenv.py"})
    h.install_www("ssi/hdr/to-refused.shtml", "include.shtml", {"@TARGET@": "/t/refuses/env"})
    # merge: <Directory> parent + <Location> child
    h.install_www("merge/printenv.py", "printenv.py")
    h.install_www("merge/child/printenv.py", "printenv.py")
    # .htaccess directories
    write_htaccess_tree(h)

    pem = 'ClerkJWTKeyFile "%s/%s"' % (K, INS_PEM)
    s = []
    s.append(f"""
<Directory "{doc}">
    Options +ExecCGI +IncludesNOEXEC -Indexes
    AllowOverride None
    Require all granted
    AddHandler cgi-script .py
    AddOutputFilter INCLUDES .shtml
</Directory>
AliasMatch "^/t/(.+)/env$" "{doc}/cgi/printenv.py"
AliasMatch "^/t/(.+)/static\\.txt$" "{doc}/static/hello.txt"

# Did any X-Clerk-* (or X_Clerk_*) request header survive the module's
# stripping?  mod_setenvif runs after it (post_read_request, MIDDLE).
SetEnvIfNoCase "^x[-_]clerk[-_]" "." SPOOF_HEADER_SEEN=1

# mod_rewrite look-ahead: a subrequest that authenticates before the main request
RewriteEngine On
RewriteCond %{{LA-U:REMOTE_USER}} ^(.+)$
RewriteRule ^/t/lau/env$ - [E=LAU_USER:%1,NS]
""")
    L = lambda *a, **k: s.append(clerk(h, *a, **k))

    # ---------------------------------------------------------- basics, keys
    L("/t/basic", "Require valid-user")
    L("/t/noname", "Require valid-user", realm=None)
    s.append(clerk(h, "/t/lower", "Require valid-user").replace("AuthType Clerk", "AuthType clerk"))
    L("/t/realm-spaces", "Require valid-user", realm="Members Only Area")
    L("/t/inline", "Require valid-user", key="ClerkJWTKey " + T.pem_body(T.PUBLIC_PEM["ins"]))
    # a PEM pasted with line continuations
    pem_lines = T.PUBLIC_PEM["ins"].read_text().strip().splitlines()
    L("/t/inline-pem", "Require valid-user", key="ClerkJWTKey " + " \\\n".join(pem_lines))
    # no key source at all: a server-side misconfiguration
    L("/t/nokey", "Require valid-user", key=None)
    L("/t/jwks", "Require valid-user", key="jwks")
    L("/t/jwks-all", "Require valid-user", key="all")
    L("/t/jwks-a", "Require valid-user", key='ClerkJWKSFile "%s/jwks_integration_a.json"' % K)
    L("/t/jwks-mismatched", "Require valid-user",
      key='ClerkJWKSFile "%s/jwks_integration_mismatched.json"' % K)
    L("/t/pem-a", "Require valid-user", key='ClerkJWTKeyFile "%s/integration-a.public.pem"' % K)
    L("/t/wrongkey", "Require valid-user", key='ClerkJWTKeyFile "%s/some-other.public.pem"' % K)
    # ClerkJWTKey[File] takes precedence over ClerkJWKSFile
    L("/t/precedence", 'ClerkJWKSFile "%s/jwks_integration_a.json"' % K, "Require valid-user")

    # ---------------------------------------------------------- directives
    L("/t/pk", "ClerkPublishableKey " + T.PK_TEST, "Require valid-user")
    L("/t/pk-off", "ClerkPublishableKey " + T.PK_TEST, "ClerkIssuer off", "Require valid-user")
    L("/t/pk-issuer", "ClerkPublishableKey " + T.PK_TEST, "ClerkIssuer https://issuer.one",
      "Require valid-user")
    L("/t/issuer", "ClerkIssuer https://issuer.one https://issuer.two", "Require valid-user")
    L("/t/azp", "ClerkAuthorizedParties https://app.example.com http://localhost:3000",
      "Require valid-user")
    L("/t/aud", "ClerkAudience https://api.example.com urn:two", "Require valid-user")
    L("/t/skew0", "ClerkClockSkew 0", "Require valid-user")
    L("/t/skew60", "ClerkClockSkew 60", "Require valid-user")
    # the same rules as /t/basic, with the cache's trace lines in the error log
    L("/t/cache-trace", "LogLevel auth_clerk:trace1", "Require valid-user")
    L("/t/pending", "ClerkAllowPendingSessions On", "Require valid-user")
    L("/t/pending-off", "ClerkAllowPendingSessions Off", "Require valid-user")
    L("/t/src-header", "ClerkTokenSource header", "Require valid-user")
    L("/t/src-cookie", "ClerkTokenSource cookie", "Require valid-user")
    L("/t/src-both", "ClerkTokenSource header cookie", "Require valid-user")
    L("/t/deny", "ClerkSignedOutAction deny", "Require valid-user")
    L("/t/pass", "ClerkSignedOutAction pass", "ClerkDebugHeaders On", "Require valid-user")
    L("/t/pass-org", "ClerkSignedOutAction pass", "Require clerk-org")
    L("/t/pass-hdr", "ClerkSignedOutAction pass", "ClerkPassClaimsAs headers", "Require valid-user")
    L("/t/env", "ClerkPassClaimsAs env", "Require valid-user")
    L("/t/hdr", "ClerkPassClaimsAs headers", "Require valid-user")
    L("/t/both", "ClerkPassClaimsAs both", "Require valid-user")
    L("/t/none", "ClerkPassClaimsAs none", "Require valid-user")
    L("/t/ru-sid", "ClerkRemoteUserClaim sid", "Require valid-user")
    L("/t/ru-email", "ClerkRemoteUserClaim email", "Require valid-user")
    L("/t/ru-num", "ClerkRemoteUserClaim uid", "Require valid-user")
    L("/t/debug", "ClerkDebugHeaders On", "Require valid-user")
    L("/t/debug-off", "ClerkDebugHeaders Off", "Require valid-user")
    L("/t/accept-session", "ClerkAcceptToken session_token", "Require valid-user")
    L("/t/accept-m2m", "ClerkAcceptToken m2m_token", "Require valid-user")
    L("/t/accept-oauth", "ClerkAcceptToken oauth_token", "Require valid-user")
    L("/t/accept-multi", "ClerkAcceptToken session_token m2m_token", "Require valid-user")
    L("/t/accept-any", "ClerkAcceptToken any", "Require valid-user")
    L("/t/accept-any-azp", "ClerkAcceptToken any",
      "ClerkAuthorizedParties https://app.example.com", "Require valid-user")
    L("/t/accept-any-aud", "ClerkAcceptToken any", "ClerkAudience mch_1xxxxx", "Require valid-user")

    # ---------------------------------------------------------- providers
    L("/t/p/user", "Require clerk-user user_alice user_bob")
    L("/t/p/org", "Require clerk-org")
    L("/t/p/org-list", "Require clerk-org org_1 acme")
    L("/t/p/role", "Require clerk-org-role admin")
    L("/t/p/role-prefixed", "Require clerk-org-role org:admin")
    L("/t/p/roles", "Require clerk-org-role billing_manager admin")
    L("/t/p/perm", "Require clerk-org-permission org:teams:read")
    L("/t/p/perm-bare", "Require clerk-org-permission teams:read")
    L("/t/p/perm-a", "Require clerk-org-permission org:a")
    L("/t/p/perm-adminall", "Require clerk-org-permission org:admin:all")
    L("/t/p/feature", "Require clerk-feature teams")
    L("/t/p/feature-o", "Require clerk-feature o:teams")
    L("/t/p/feature-u", "Require clerk-feature u:teams")
    L("/t/p/feature-org", "Require clerk-feature org:teams")
    L("/t/p/feature-user", "Require clerk-feature user:teams")
    L("/t/p/feature-multi", "Require clerk-feature billing o:teams")
    L("/t/p/plan", "Require clerk-plan pro")
    L("/t/p/plan-u", "Require clerk-plan u:pro")
    L("/t/p/plan-o", "Require clerk-plan o:pro")
    L("/t/p/machine", "ClerkAcceptToken any", "Require clerk-machine")
    L("/t/p/machine-id", "ClerkAcceptToken any", "Require clerk-machine mch_other " + T.MACHINE)
    L("/t/p/scope", "ClerkAcceptToken any", "Require clerk-scope write:bar mch_2xxxxx")
    L("/t/p/tt-session", "ClerkAcceptToken any", "Require clerk-token-type session_token")
    L("/t/p/tt-machine", "ClerkAcceptToken any", "Require clerk-token-type m2m_token oauth_token")
    L("/t/p/claim", "Require clerk-claim email alice@example.com")
    L("/t/p/claim-path", "Require clerk-claim meta.tier gold platinum")
    L("/t/p/claim-array", "Require clerk-claim groups editors")
    L("/t/p/claim-int", "Require clerk-claim level 42")
    L("/t/p/claim-bool", "Require clerk-claim verified true")
    L("/t/p/claim-quoted", 'Require clerk-claim name "Alice Smith"')
    L("/t/p/authz-user", "Require user user_alice")
    L("/t/p/implicit-any", "Require clerk-user user_vip", "Require clerk-org-role admin")
    L("/t/p/all", """
<RequireAll>
    Require clerk-org-role admin
    Require clerk-feature teams
</RequireAll>""")
    L("/t/p/any", """
<RequireAny>
    Require clerk-user user_vip
    Require clerk-org-permission org:teams:manage
</RequireAny>""")
    L("/t/p/any-debug", "ClerkDebugHeaders On", """
<RequireAny>
    Require clerk-org-role nobody
    Require clerk-user user_nobody
    Require valid-user
</RequireAny>""")
    L("/t/p/not", """
<RequireAll>
    Require valid-user
    Require not clerk-org-role guest
</RequireAll>""")
    L("/t/p/none", """
<RequireAll>
    Require valid-user
    <RequireNone>
        Require clerk-user user_banned
        Require clerk-claim banned true
    </RequireNone>
</RequireAll>""")
    L("/t/p/nested", """
<RequireAny>
    <RequireAll>
        Require clerk-org acme
        Require clerk-org-role admin
    </RequireAll>
    Require clerk-user user_root
</RequireAny>""")
    L("/t/p/forbidden", "AuthzSendForbiddenOnFailure On", "Require clerk-org-role admin")
    L("/t/p/forbidden-user", "AuthzSendForbiddenOnFailure On", "Require valid-user")
    # AuthMerging And: the child adds a requirement to the parent's
    L("/t/p/merge", "Require valid-user")
    s.append("""<Location /t/p/merge/and>
    AuthMerging And
    Require clerk-org-role admin
</Location>""")

    # has() conformance: one Location per distinct check of the vectors
    for i, (kind, value) in enumerate(has_checks()):
        L("/t/has/%d" % i, "Require %s %s" % (HAS_KIND_TO_PROVIDER[kind], value))

    # ---------------------------------------------------------- Apache paths
    L("/t/err403", "AuthzSendForbiddenOnFailure On", "Require clerk-org-role admin",
      "ErrorDocument 403 /t/errdoc/env")
    L("/t/errdoc", "Require valid-user")
    L("/t/err404", "Require valid-user", "ErrorDocument 404 /t/errdoc/env")
    L("/t/err401", "Require valid-user", "ErrorDocument 401 /static/err401.html")
    L("/t/err401-cgi", "Require valid-user", "ErrorDocument 401 /open/printenv.py")
    L("/t/opt", """
<RequireAny>
    Require method OPTIONS
    Require valid-user
</RequireAny>""")
    L("/t/parent", "ClerkPassClaimsAs headers", "Require valid-user")
    s.append("""<Location /t/parent/open>
    Require all granted
</Location>""")
    L("/t/lau", "Require valid-user")
    s.append(clerk(h, "/ssi/prot", "Require valid-user"))
    s.append(clerk(h, "/ssi/hdr", "ClerkPassClaimsAs both", "Require valid-user"))
    L("/t/refuses", "ClerkSignedOutAction pass", "Require valid-user",
      key='ClerkJWTKeyFile "%s/integration-b.public.pem"' % K)

    # ---------------------------------------------------------- merging
    s.append(f"""
<Directory "{doc}/merge">
    AuthType Clerk
    AuthName "merged"
    {pem}
    ClerkAuthorizedParties https://app.example.com
    ClerkPassClaimsAs both
    Require valid-user
</Directory>
<Location /merge/child>
    ClerkClockSkew 0
    ClerkPassClaimsAs env
</Location>
""")

    # ---------------------------------------------------------- .htaccess
    # (the .htaccess files name key files: the default Off is tested in
    # test_shared_hosting.py, on a server of its own)
    s.append(f"""
ClerkAllowOverrideKeySources On
<Directory "{doc}/ht">
    AllowOverride AuthConfig
</Directory>
<Directory "{doc}/ht/inherit">
    AuthType Clerk
    AuthName "ht-inherit"
    {pem}
    Require valid-user
</Directory>
<Directory "{doc}/ht-fileinfo">
    AllowOverride FileInfo
</Directory>
""")
    return "\n".join(s) + "\n"


HTACCESS = {
    "basic": """
AuthType Clerk
AuthName "ht-basic"
{pem}
Require valid-user
""",
    "jwks": """
AuthType Clerk
AuthName "ht-jwks"
ClerkJWKSFile "{keys}/jwks_all.json"
Require valid-user
""",
    "full": """
AuthType Clerk
AuthName "ht-full"
ClerkJWKSFile "{keys}/jwks_all.json"
ClerkIssuer {issuer}
ClerkAuthorizedParties https://app.example.com
ClerkAudience https://api.example.com
ClerkClockSkew 0
ClerkAcceptToken session_token m2m_token
ClerkTokenSource header
ClerkAllowPendingSessions On
ClerkSignedOutAction deny
ClerkPassClaimsAs both
ClerkRemoteUserClaim sid
ClerkDebugHeaders On
<RequireAll>
    Require clerk-org-role admin
    Require clerk-org-permission org:teams:read
</RequireAll>
""",
    "pk": """
AuthType Clerk
AuthName "ht-pk"
{pem}
ClerkPublishableKey {pk}
Require valid-user
""",
    "inline": """
AuthType Clerk
AuthName "ht-inline"
ClerkJWTKey {body}
Require clerk-feature teams
""",
    "pass": """
AuthType Clerk
AuthName "ht-pass"
{pem}
ClerkSignedOutAction pass
Require valid-user
""",
    "machine": """
AuthType Clerk
AuthName "ht-machine"
{pem}
ClerkAcceptToken any
<RequireAny>
    Require clerk-machine
    Require clerk-scope write:bar
</RequireAny>
""",
    "claims": """
AuthType Clerk
AuthName "ht-claims"
{pem}
AuthzSendForbiddenOnFailure On
Require clerk-claim meta.tier gold
""",
    "inherit": """
Require clerk-user user_alice
ClerkPassClaimsAs headers
""",
    "badprov": """
AuthType Clerk
{pem}
Require clerk-feature x:teams
""",
    "badskew": """
AuthType Clerk
{pem}
ClerkClockSkew -1
Require valid-user
""",
    "badkey": """
AuthType Clerk
ClerkJWTKey not-a-key
Require valid-user
""",
    "badaccept": """
AuthType Clerk
{pem}
ClerkAcceptToken bogus_token
Require valid-user
""",
}


def write_htaccess_tree(h):
    pem = 'ClerkJWTKeyFile "%s/%s"' % (h.keys, INS_PEM)
    fmt = dict(pem=pem, keys=h.keys, issuer=T.ISSUER, pk=T.PK_TEST,
               body=T.pem_body(T.PUBLIC_PEM["ins"]))
    for name, text in HTACCESS.items():
        h.write("htdocs/ht/%s/.htaccess" % name, text.format(**fmt))
        h.install_www("ht/%s/htenv.py" % name, "htenv.py")
    # AuthConfig directives where only FileInfo may be overridden
    h.write("htdocs/ht-fileinfo/.htaccess", "ClerkClockSkew 10\n")
    h.install_www("ht-fileinfo/htenv.py", "htenv.py")
