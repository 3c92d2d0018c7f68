"""httpd configuration of the machine-token tests.

Every protected URL lives under /m/<name>/: /m/<name>/env runs the printenv
CGI and /m/<name>/static.txt serves a static file, so a <Location /m/<name>>
is all a case needs.  Keys: the fixture PEM (JWTs verify locally);
ClerkAPIURL: the fake Backend API (opaque tokens); ClerkHTTPTimeout 1.
"""
import clerk_tokens as T
import fake_bapi as F
from httpd_harness import SINGLE_PROCESS
from locations import REALM, cgi_directory, clerk

AUD = "api.example.com"

# (path, body lines).  S: ClerkSecretKey; MS: ClerkMachineSecretKey.
S = "ClerkSecretKey " + F.INSTANCE_SECRET
MS = "ClerkMachineSecretKey " + F.MACHINE_SECRET
ANY = "ClerkAcceptToken any"

LOCATIONS = [
    ("/m/any", S, MS, ANY, "Require valid-user"),
    ("/m/m2m", S, MS, "ClerkAcceptToken m2m_token", "Require valid-user"),
    ("/m/oauth", S, MS, "ClerkAcceptToken oauth_token", "Require valid-user"),
    ("/m/apikey", S, MS, "ClerkAcceptToken api_key", "Require valid-user"),
    ("/m/session", S, MS, "Require valid-user"),                # default: session_token
    ("/m/session-m2m", S, MS, "ClerkAcceptToken session_token m2m_token", "Require valid-user"),
    # which secret goes where
    ("/m/instance-only", S, ANY, "Require valid-user"),
    ("/m/machine-only", MS, ANY, "Require valid-user"),
    ("/m/badsecret", "ClerkSecretKey sk_test_wrongWrongWrong000000000000",
     "ClerkMachineSecretKey ak_wrongWrongWrong00000000000000", ANY, "Require valid-user"),
    # rules that apply to sessions only, or to machine tokens too
    ("/m/azp", S, MS, ANY, "ClerkAuthorizedParties " + T.AZP, "Require valid-user"),
    ("/m/iss", S, MS, ANY, "ClerkIssuer https://issuer.example.com", "Require valid-user"),
    ("/m/aud", S, MS, ANY, "ClerkAudience mch_1xxxxx " + AUD, "Require valid-user"),
    # providers
    ("/m/p/machine", S, MS, ANY, "Require clerk-machine"),
    ("/m/p/machine-id", S, MS, ANY, "Require clerk-machine mch_other " + T.MACHINE),
    ("/m/p/machine-other", S, MS, ANY, "Require clerk-machine mch_other"),
    ("/m/p/scope", S, MS, ANY, "Require clerk-scope write mch_b"),
    ("/m/p/scope-deploy", S, MS, ANY, "Require clerk-scope deploy"),
    ("/m/p/tt", S, MS, ANY, "Require clerk-token-type oauth_token api_key"),
    ("/m/p/user", S, MS, ANY, "Require clerk-user user_nobody %s %s" % (F.OAUTH_USER, F.API_KEY_USER)),
    ("/m/p/org", S, MS, ANY, "Require clerk-org"),
    ("/m/p/org-id", S, MS, ANY, "Require clerk-org org_nobody " + F.API_KEY_ORG),
    # an internal redirect into another Clerk section (ErrorDocument)
    ("/m/redir", S, MS, ANY, 'ErrorDocument 404 "/m/errdoc/env"', "Require valid-user"),
    ("/m/errdoc", S, MS, ANY, "Require valid-user"),
    ("/m/redir-other-secret", S, MS, ANY, 'ErrorDocument 404 "/m/instance-only/env"',
     "Require valid-user"),
    # machine-token answers reused for 5 s (single-process servers only)
    ("/m/ttl", S, MS, ANY, "ClerkMachineTokenCacheTTL 5", "Require valid-user"),
]



# these tests send hundreds of distinct tokens: the default budget is tested
# in test_machine_budget.py, on servers of its own (limits=...)
GENEROUS = "ClerkBackendAPIBudget 100000 100000"


def config(h, fake, single_process=False, limits=GENEROUS):
    """Install the htdocs tree of h and return its config body; limits: the
    server's Backend API limits."""
    doc = h.docroot
    h.install_www("cgi/printenv.py", "printenv.py")
    h.install_www("static/hello.txt", "hello.txt")
    s = [SINGLE_PROCESS[h.mpm] if single_process else "", f"""
ClerkAPIURL {fake.url}
ClerkHTTPTimeout 1
{limits}
{cgi_directory(doc)}
AliasMatch "^/m/(.+)/env$" "{doc}/cgi/printenv.py"
AliasMatch "^/m/(.+)/static\\.txt$" "{doc}/static/hello.txt"
"""]
    for path, *body in LOCATIONS:
        s.append(clerk(h, path, *body, realm=REALM))
    return "\n".join(s) + "\n"
