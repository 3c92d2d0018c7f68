"""Last: the machine server's error log has no crashed child and no token
or secret text."""
import re

import fake_bapi as F
from helpers import assert_no_crashed_child


def test_no_child_crashed(mserver):
    assert_no_crashed_child(mserver)


def test_no_token_or_secret_in_error_log(mserver):
    text = mserver.error_log()
    assert F.INSTANCE_SECRET not in text and F.MACHINE_SECRET not in text
    leaked = []
    for tok in mserver.sent_tokens:
        for seg in re.split(r"[.\s;=,]", tok):
            body = seg.split("_", 1)[-1]        # the random part of mt_/oat_/ak_ tokens
            if len(body) >= 20 and body in text:
                leaked.append(seg[:12])
    assert not leaked, "token text in the error log: %s" % sorted(set(leaked))[:10]
