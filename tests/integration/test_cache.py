"""The per-process token cache (ClerkTokenCache, default on) must never
change a decision: entries expire at exp, and a token verified under one
configuration is judged afresh under another."""
import time

import clerk_tokens as T
from helpers import assert_invalid, assert_ok


def test_cached_token_still_expires(client):
    n = T.now()
    tok = T.mint(exp=n + 3)
    assert_ok(client.get("/t/skew0/static.txt", token=tok))
    assert_ok(client.get("/t/skew0/static.txt", token=tok))
    time.sleep(max(0.0, n + 3 - time.time()) + 1.1)
    assert_invalid(client.get("/t/skew0/static.txt", token=tok), "token-expired")


def test_cache_does_not_cross_configurations(client):
    n = T.now()
    tok = T.mint(azp=T.DROP, iss="https://elsewhere.example", exp=n - 30)
    assert_ok(client.get("/t/skew60/static.txt", token=tok))
    for _ in range(2):
        assert_invalid(client.get("/t/skew0/static.txt", token=tok), "token-expired")
    tok = T.mint(azp=T.DROP, iss="https://elsewhere.example")
    assert_ok(client.get("/t/basic/static.txt", token=tok))
    assert_invalid(client.get("/t/wrongkey/static.txt", token=tok), "token-invalid-signature")
    assert_invalid(client.get("/t/azp/static.txt", token=tok), "token-invalid-authorized-parties")
    assert_invalid(client.get("/t/issuer/static.txt", token=tok), "token-invalid-issuer")
    assert_invalid(client.get("/t/aud/static.txt", token=tok), "token-invalid-audience")
    assert_invalid(client.get("/t/jwks-a/static.txt", token=tok), "jwk-kid-mismatch")


def test_cache_and_token_types(client):
    m2m = T.mint_m2m()
    assert_ok(client.get("/t/accept-any/static.txt", token=m2m))
    assert_invalid(client.get("/t/basic/static.txt", token=m2m), "token-type-mismatch")
    pending = T.mint(sts="pending")
    assert_ok(client.get("/t/pending/static.txt", token=pending))
    assert_invalid(client.get("/t/basic/static.txt", token=pending), "session-pending")


def test_rejection_is_not_cached_across_configurations(client):
    tok = T.mint(iss="https://elsewhere.example")
    assert_invalid(client.get("/t/issuer/static.txt", token=tok), "token-invalid-issuer")
    assert_ok(client.get("/t/basic/static.txt", token=tok))
    assert_invalid(client.get("/t/issuer/static.txt", token=tok), "token-invalid-issuer")
