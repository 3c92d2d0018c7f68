"""The machine the bench runs on: prerequisites, CPU pinning, how busy it is,
and the facts printed with the results."""
import os
import platform
import re
import shutil
import subprocess
import time

from settings import APACHE, BUILT_MODULE, OPENIDC, WAIT_QUIET, die, log

NCPU = os.cpu_count() or 1
# httpd on CPU 0 and wrk on CPU 1, so the client never takes the server's CPU.
PIN = NCPU >= 2 and shutil.which("taskset")
SERVER_CPU = ["taskset", "-c", "0"] if PIN else []
CLIENT_CPU = ["taskset", "-c", "1"] if PIN else []
IS_ROOT = os.geteuid() == 0
CLK_TCK = os.sysconf("SC_CLK_TCK")


def check_prerequisites():
    for tool in ("wrk", APACHE):
        if not shutil.which(tool):
            die("%s is not installed (Debian: apt-get install wrk apache2)" % tool)
    if not BUILT_MODULE.exists():
        die("%s is missing: run make" % BUILT_MODULE)
    if not OPENIDC.exists():
        die("%s is missing (Debian: apt-get install libapache2-mod-auth-openidc)" % OPENIDC)


def give_to_httpd(path):
    """When the bench runs as root, httpd's children run as www-data: give
    them what they write into (their run directory, callgrind's output)."""
    if IS_ROOT:
        shutil.chown(path, "www-data", "www-data")


def machine():
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal:"):
            mem = int(line.split()[1]) / 1024 / 1024
    osname = "?"
    try:
        for line in open("/etc/os-release"):
            if line.startswith("PRETTY_NAME="):
                osname = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "%d CPU (%s), %.0f GiB, %s, kernel %s" % (NCPU, cpu, mem, osname, platform.release())


def versions():
    out = []
    for cmd, pat in (([APACHE, "-v"], r"Server version: (\S+)"),
                     (["wrk", "--version"], r"(wrk \S+)"),
                     (["openssl", "version"], r"(OpenSSL \S+)")):
        try:
            t = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True).stdout
            m = re.search(pat, t)
            out.append(m.group(1) if m else "?")
        except OSError:
            out.append("?")
    try:
        t = subprocess.run(["dpkg-query", "-W", "-f", "${Version}",
                            "libapache2-mod-auth-openidc"], stdout=subprocess.PIPE,
                           text=True).stdout
        out.append("mod_auth_openidc " + (t or "?"))
    except OSError:
        out.append("mod_auth_openidc ?")
    return ", ".join(out)


def core_busy_seconds(cpu):
    """Busy (non-idle, non-iowait) seconds of one CPU so far."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu%d " % cpu):
                v = [int(x) for x in line.split()[1:]]
                return (sum(v[:8]) - v[3] - v[4]) / CLK_TCK
    return 0.0


def cpu_busy(seconds=1.0):
    """Fraction of all CPUs busy over a short interval (from /proc/stat)."""
    def snap():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[3] + v[4]
    t0, i0 = snap()
    time.sleep(seconds)
    t1, i1 = snap()
    return 1 - (i1 - i0) / max(t1 - t0, 1)


def wait_quiet(limit=WAIT_QUIET):
    """Other work on the machine skews every figure: wait a while for quiet."""
    t0 = time.time()
    busy = cpu_busy()
    while busy > 0.10 and time.time() - t0 < limit:
        log("machine busy (%.0f%% CPU used by other processes); waiting for it to settle"
            % (busy * 100))
        time.sleep(4)
        busy = cpu_busy()
    if busy > 0.10:
        log("WARNING: machine still %.0f%% busy; figures will be low and noisy" % (busy * 100))
    return busy
