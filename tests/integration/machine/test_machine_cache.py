"""ClerkMachineTokenCacheTTL, counted at the fake Backend API.

The cache is per process, so "N requests -> 1 call" is only exact on a
server with one process (prefork: one child; event: ServerLimit 1).  The
default TTL 0 (every request asks) is in test_machine_opaque.py."""
import time

import fake_bapi as F
from helpers import assert_invalid, assert_ok, clerk_vars

N = 5


def wait_until(t):
    left = t - time.time()
    if left > 0:
        time.sleep(left)


def test_ttl_reuses_a_positive_answer_in_one_process(single, fake):
    h, c = single()
    a = fake.token("mt")                                    # expires in an hour
    b = fake.token("ak", expiration=F.ms(time.time() + 3))  # expires before the TTL ends

    first = clerk_vars(c.env("/m/ttl/env", token=a))
    a_cached_at = time.time()
    assert_ok(c.get("/m/ttl/static.txt", token=b))
    for _ in range(N - 2):
        assert_ok(c.get("/m/ttl/static.txt", token=a))
        assert_ok(c.get("/m/ttl/static.txt", token=b))
    again = clerk_vars(c.env("/m/ttl/env", token=a))
    assert again == first                   # the cached answer gives the same variables
    assert first["CLERK_MACHINE_ID"] == F.MACHINE
    assert fake.calls(F.M2M, token=a) == 1, "N requests must make one call"
    assert fake.calls(F.API_KEY, token=b) == 1

    # the same token where the TTL is 0 asks anyway (the cache is per context)
    assert_ok(c.get("/m/any/static.txt", token=a))
    assert fake.calls(token=a) == 2

    # a negative answer is not cached for the TTL, only remembered for a few
    # seconds (REFUSAL_MEMORY_SECONDS), with its reason: a client retrying a
    # dead token in a loop costs one call
    revoked = fake.token("oat", mode="revoked")
    revoked_at = time.time()
    for _ in range(3):
        assert_invalid(c.get("/m/ttl/static.txt", token=revoked), "token-invalid")
    assert fake.calls(token=revoked) == 1
    # nor is a failure
    flaky = fake.token("mt")
    fake.set_mode("500")
    assert c.get("/m/ttl/static.txt", token=flaky).status_code == 503
    fake.set_mode(None)
    assert_ok(c.get("/m/ttl/static.txt", token=flaky))
    assert_ok(c.get("/m/ttl/static.txt", token=flaky))
    assert fake.calls(token=flaky) == 2

    # the entry of b ends at its expiration (3 s), before the TTL (5 s): asked again
    wait_until(fake.answer(b)["expiration"] // 1000 + 0.05)
    assert_invalid(c.get("/m/ttl/static.txt", token=b), "token-expired")
    assert fake.calls(token=b) == 2

    # once the TTL has passed, one more call, then reused again
    wait_until(a_cached_at + 5.05)
    assert_ok(c.get("/m/ttl/static.txt", token=a))
    assert_ok(c.get("/m/ttl/static.txt", token=a))
    assert fake.calls(F.M2M, token=a) == 3     # 1 + the /m/any call + 1 after the TTL

    # the refusal is forgotten after 5 s: asked again
    wait_until(revoked_at + 5.05)
    assert_invalid(c.get("/m/ttl/static.txt", token=revoked), "token-invalid")
    assert fake.calls(token=revoked) == 2
