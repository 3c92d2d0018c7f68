"""Last test of a sanitizer run (make test-asan): stop every httpd still
running, so that their shutdown runs instrumented as well, then fail if any
httpd of the run (main, browser, keys, machine servers and configtests, both
MPMs) wrote an ASan or UBSan report (httpd_harness.sanitizer_reports).
conftest.py runs this after everything else; in a run without CLERK_IT_PRELOAD
there are no reports to look for."""
import pytest

import httpd_harness as H

pytestmark = pytest.mark.skipif(not H.SANITIZER_PRELOAD,
                                reason="not a sanitizer run (make test-asan)")


def test_no_sanitizer_report():
    H.stop_all()
    reports = H.sanitizer_reports()
    text = "\n".join("=== %s\n%s" % (where, report[:6000]) for where, report in reports[:5])
    assert not reports, "%d sanitizer report(s):\n%s" % (len(reports), text)
