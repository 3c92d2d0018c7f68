"""Paths, the BENCH_* knobs, and the run's log: what every bench module reads.

Every knob is read here, once, when the first module imports this one, so a
reader finds the whole list and its defaults in one place (all optional):

  BENCH_DURATION=4  BENCH_ROUNDS=5  BENCH_WARMUP=1  BENCH_CONNECTIONS=16
  BENCH_THREADS=1   BENCH_TOKENS=100000  BENCH_TOKEN_MIN_LEFT=3600
  BENCH_RSS_REQUESTS=1000000 (0 skips the RSS run)  BENCH_RSS_CONTROL_REQUESTS=200000
  BENCH_RSS_MAX_SECONDS=240  BENCH_PERF=1  BENCH_PORT=18081 (PORT..PORT+10 and PORT+14)
  BENCH_CALLGRIND=1  BENCH_CG_REQUESTS=500  BENCH_WAIT_QUIET=120
  BENCH_MICRO=1  BENCH_MICRO_N=20000
  BENCH_DEBIAN_ROUNDS=3 (the second table, Debian's default httpd settings;
  0 skips it)  BENCH_SCALE=1 (the configuration-scale step; 0 skips it)
  BENCH_SCALE_VHOSTS=2000  BENCH_SCALE_SOURCES=50
  BENCH_STATIC=fast (EnableMMAP Off, EnableSendfile On; "mmap": httpd's defaults)
  BENCH_NOISE_LIMIT_PCT=10  BENCH_NOISE_RETRIES=3 (a round in which other
  processes used more than that share of the server's or wrk's CPU is redone)
  BENCH_RETRY_BUDGET=60 (seconds of redone rounds in all)
  BENCH_PRIVATE_KEY, BENCH_PUBLIC_KEY, BENCH_KID (default: tests/vectors key)
  BENCH_SCENARIOS=abc  APACHE2=/usr/sbin/apache2  APACHE2_MODULES=/usr/lib/apache2/modules
"""
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = REPO / "build" / "bench"

APACHE = os.environ.get("APACHE2", "/usr/sbin/apache2")
MODDIR = Path(os.environ.get("APACHE2_MODULES", "/usr/lib/apache2/modules"))
BUILT_MODULE = REPO / "build" / "mod_auth_clerk.so"
OPENIDC = MODDIR / "mod_auth_openidc.so"
# A private copy: a rebuild during the run (make replaces the file) changes
# neither the servers nor perf's symbols.
MODULE = OUT / "mod_auth_clerk.so"
VEC = REPO / "tests" / "vectors" / "clerk" / "keys"
KID = os.environ.get("BENCH_KID", "ins_2GIoQhbUpy0hX7B2cVkuTMinXoD")
PRIVATE = Path(os.environ.get("BENCH_PRIVATE_KEY", VEC / (KID + ".private.pem")))
PUBLIC = Path(os.environ.get("BENCH_PUBLIC_KEY", VEC / (KID + ".public.pem")))


def env_int(name, default):
    return int(os.environ.get(name, default))


DURATION = env_int("BENCH_DURATION", 4)
ROUNDS = env_int("BENCH_ROUNDS", 5)
WARMUP = env_int("BENCH_WARMUP", 1)
CONNECTIONS = env_int("BENCH_CONNECTIONS", 16)
THREADS = env_int("BENCH_THREADS", 1)
N_TOKENS = env_int("BENCH_TOKENS", 100000)
TOKEN_MIN_LEFT = env_int("BENCH_TOKEN_MIN_LEFT", 3600)
RSS_REQUESTS = env_int("BENCH_RSS_REQUESTS", 1000000)
RSS_CONTROL_REQUESTS = env_int("BENCH_RSS_CONTROL_REQUESTS", 200000)
RSS_MAX_SECONDS = env_int("BENCH_RSS_MAX_SECONDS", 240)
PERF = env_int("BENCH_PERF", 1)
CALLGRIND = env_int("BENCH_CALLGRIND", 1)
CG_REQUESTS = env_int("BENCH_CG_REQUESTS", 500)
MICRO = env_int("BENCH_MICRO", 1)
MICRO_N = env_int("BENCH_MICRO_N", 20000)
WAIT_QUIET = env_int("BENCH_WAIT_QUIET", 120)
NOISE_LIMIT = env_int("BENCH_NOISE_LIMIT_PCT", 10) / 100.0
NOISE_RETRIES = env_int("BENCH_NOISE_RETRIES", 3)
RETRY_BUDGET = env_int("BENCH_RETRY_BUDGET", 60)
PORT = env_int("BENCH_PORT", 18081)
SCENARIOS = os.environ.get("BENCH_SCENARIOS", "abc")
# The second table: the same scenarios, fewer rounds (the run must stay
# within 10 minutes), on servers configured as Debian ships httpd.
DEBIAN_ROUNDS = env_int("BENCH_DEBIAN_ROUNDS", 3)
SCALE = env_int("BENCH_SCALE", 1)
SCALE_VHOSTS = env_int("BENCH_SCALE_VHOSTS", 2000)
SCALE_SOURCES = env_int("BENCH_SCALE_SOURCES", 50)
# How the static file is sent, the same for every server.  "fast" (default):
# read + sendfile, the fastest way httpd serves a small file here.  "mmap":
# httpd's compiled-in defaults (EnableMMAP On, EnableSendfile Off), which map
# and unmap the file for every request; on this VM each munmap's TLB flush
# costs ~35 us, which lowers the no-auth ceiling by half and flatters every
# auth module's ratio.
STATIC = os.environ.get("BENCH_STATIC", "fast")
STATIC_CONF = {"fast": "EnableMMAP Off\nEnableSendfile On",
               "mmap": "EnableMMAP On\nEnableSendfile Off"}.get(STATIC)
if STATIC_CONF is None:
    sys.exit("bench: BENCH_STATIC must be fast or mmap")

TOKEN_TTL = 12 * 3600
PATH = "/bench.txt"

T_START = time.time()


def log(msg):
    t = int(time.time() - T_START)
    print("bench [%d:%02d]: %s" % (t // 60, t % 60, msg), flush=True)


def die(msg):
    print("bench: ERROR: " + msg, file=sys.stderr, flush=True)
    sys.exit(1)
