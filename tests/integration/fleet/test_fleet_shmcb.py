"""ClerkCache shmcb: the children of one prefork httpd share verdicts through
Apache's shared-memory cache.  Requests on connections of their own, many at
once, so that they land on several children (each of which, without the
cache, would ask the Backend API once).  The cache key here is derived from
the server's ClerkSecretKey (no ClerkCacheKey)."""
import concurrent.futures
import time

import fake_bapi as F
from fleet import SHMCB_MODULE
from helpers import describe

OPAQUE = "/f/opaque/static.txt"
ALL_CHILDREN = {"prefork": "StartServers 4\nMinSpareServers 4\nMaxSpareServers 8\n"}


def htaccess_conf(h):
    """A directory whose .htaccess names ClerkCache: refused there."""
    h.write("htdocs/ht/hello.txt", "hello\n")
    h.write("htdocs/ht/.htaccess", "ClerkCache none\n")
    return f"""ClerkSecretKey {F.INSTANCE_SECRET}
<Directory "{h.docroot}/ht">
    AllowOverride All
    Require all granted
</Directory>
"""


def burst(fleet, tok, n=48):
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        return list(ex.map(lambda _: fleet.get(0, OPAQUE, tok), range(n)))


def test_shmcb_shares_verdicts_across_prefork_children(make_fleet, fake):
    fleet = make_fleet(cache="shmcb", modules=[SHMCB_MODULE], cache_key=False,
                       server_conf=htaccess_conf, tuning=ALL_CHILDREN).start("prefork")
    for kind, mode, status in (("mt", "valid", 200), ("oat", "revoked", 401),
                               ("ak", "unknown", 401)):
        tok = fake.token(kind, mode=mode)
        assert fleet.get(0, OPAQUE, tok).status_code == status
        time.sleep(0.2)             # the store is queued, not waited for
        rs = burst(fleet, tok)
        assert all(r.status_code == status for r in rs), [describe(r) for r in rs[:3]]
        assert fake.calls(token=tok) == 1, (kind, mode, fake.calls(token=tok))
    pids = fleet.serving_pids(0)
    assert len(pids) >= 3, "the requests reached %d child(ren) only" % len(pids)

    mark = fleet.marks()[0]
    r = fleet.get(0, "/ht/hello.txt")
    assert r.status_code == 500, describe(r)
    assert "ClerkCache not allowed here" in fleet.servers[0].log_since(mark)
