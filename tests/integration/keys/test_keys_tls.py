"""The Frontend API source (ClerkPublishableKey) over real HTTPS: the key set
URL is https://<host of the publishable key>/.well-known/jwks.json, reached
through ClerkHTTPProxy (a CONNECT proxy to a TLS FakeClerk) and verified with
ClerkHTTPCAFile.  TLS verification is always on: an unknown CA or a
certificate for another host name leaves the keys unloaded (503)."""
import time

import requests

import clerk_tokens as T
import locations
from fake_clerk import FakeClerk, jwks_of
from httpd_harness import free_port
from keyenv import assert_200, assert_503
from tls_fake import ConnectProxy, TestCA

FAPI_HOST = T.ISSUER[len("https://"):]      # what PK_TEST encodes


def test_publishable_key_source_over_verified_https(keyserver, tmp_path, mpm):
    ca = TestCA(tmp_path / "ca")
    other_ca = TestCA(tmp_path / "other", name="some other CA")
    good = FakeClerk(tls=ca.issue(FAPI_HOST), jwks=jwks_of("ins")).start()
    wrong_name = FakeClerk(tls=ca.issue("not-" + FAPI_HOST), jwks=jwks_of("ins")).start()
    proxy = ConnectProxy(good.port).start()
    proxy_wrong = ConnectProxy(wrong_name.port).start()
    try:
        ks = keyserver()
        h = ks.h
        ca_file = h.write("keys/ca.pem", ca.cert_path.read_text())
        other_file = h.write("keys/other-ca.pem", other_ca.cert_path.read_text())
        p_other_ca, p_wrong_name = free_port(), free_port()

        def fapi(name):
            return locations.clerk(h, "/k/" + name, "Require valid-user",
                                   key="ClerkPublishableKey " + T.PK_TEST)

        server_conf = f"""
ClerkHTTPProxy http://127.0.0.1:{proxy.port}
ClerkHTTPCAFile "{ca_file}"
ClerkHTTPTimeout 2
Listen 127.0.0.1:{p_other_ca}
Listen 127.0.0.1:{p_wrong_name}
<VirtualHost 127.0.0.1:{p_other_ca}>
    ClerkHTTPCAFile "{other_file}"
{fapi("fapi")}
</VirtualHost>
<VirtualHost 127.0.0.1:{p_wrong_name}>
    ClerkHTTPProxy http://127.0.0.1:{proxy_wrong.port}
{fapi("fapi")}
</VirtualHost>
"""
        ks.configure({"fapi": ["ClerkPublishableKey " + T.PK_TEST]},
                     server_conf=server_conf).start()
        log = ks.log()
        tok = T.mint()          # iss = https://<FAPI_HOST>, key "ins"

        # the main server: through the proxy, verified with the test CA
        assert good.count("/.well-known/jwks.json") == 1, good.requests()
        assert "CONNECT %s:443 HTTP/1.1" % FAPI_HOST in proxy.targets
        assert_200(ks.get("fapi", tok))
        r = ks.get("fapi", T.mint(iss="https://clerk.other.lcl.dev"))
        assert r.status_code == 401     # the issuer comes from the publishable key

        # another CA, or a certificate for another name: never loaded
        for port in (p_other_ca, p_wrong_name):
            r = requests.get("http://127.0.0.1:%d/k/fapi/static.txt" % port,
                             headers={"Authorization": "Bearer " + tok}, timeout=10)
            assert_503(r)
        assert wrong_name.count() == 0 and good.count() == 1, (good.requests(),
                                                                wrong_name.requests())
        fapi_url = "https://%s/.well-known/jwks.json" % FAPI_HOST
        failures = [l for l in log.splitlines() if fapi_url in l and "fetch failed" in l]
        assert len(failures) == 2, failures
        assert any("certificate" in l.lower() or "SSL" in l for l in failures), failures
        time.sleep(0.1)
    finally:
        for x in (proxy, proxy_wrong, good, wrong_name):
            x.stop()
