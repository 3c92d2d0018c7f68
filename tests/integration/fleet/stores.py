"""The stores a fleet shares, as Debian ships them: a real redis-server and a
real memcached, each started by the test on 127.0.0.1 and a free port of its
own, in a directory of its own, never the machine's services (Debian starts
those on 6379 and 11211 at install time; nothing here talks to them).

  r = RedisServer(tmpdir).start()       # answers PING when start() returns
  r.kill(); r.restart()                 # down (SIGKILL) and back, on the same port
  r.pause(); r.resume()                 # hung (SIGSTOP) and running again (SIGCONT)
  r.names()                             # every key, through `redis-cli --scan`
  r.get(name), r.set(name, value)       # raw bytes (a small RESP client: values are binary)
  m = MemcachedServer().start()

A missing binary fails the test under CI (CI=true) and skips it elsewhere,
with the package to install (require_binary).
"""
import os
import signal
import socket
import subprocess
import time

import pytest

from httpd_harness import IS_ROOT, free_port, terminate

REDIS_SERVER = "/usr/bin/redis-server"
REDIS_CLI = "/usr/bin/redis-cli"
MEMCACHED = "/usr/bin/memcached"
PACKAGES = {REDIS_SERVER: "redis-server", REDIS_CLI: "redis-tools", MEMCACHED: "memcached"}


def require_binary(path):
    """Fail (CI) or skip (elsewhere, saying what to install) when path is missing:
    under CI a missing store must never turn into a silently skipped suite."""
    if os.access(path, os.X_OK):
        return
    why = "%s not found: apt-get install %s (scripts/install-deps.sh)" % (path, PACKAGES[path])
    if os.environ.get("CI") == "true":
        pytest.fail(why)
    pytest.skip(why)


def _wait_until(answers, proc, what, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("%s exited with %s" % (what, proc.returncode))
        if answers():
            return
        time.sleep(0.02)
    raise RuntimeError("%s did not answer within %.0f s" % (what, timeout))


def _ask(port, request, until, timeout=1.0):
    """Send request bytes to 127.0.0.1:port and read until until(reply) holds."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        reply = b""
        while not until(reply):
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
        return reply


# ------------------------------------------------------------------ redis

def _resp_command(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def _resp_complete(reply):
    """Whether reply holds one whole RESP answer of the kinds used here
    (+simple, -error, :integer, $bulk, $-1 nil)."""
    if not reply.endswith(b"\r\n"):
        return False
    if reply[:1] in (b"+", b"-", b":"):
        return True
    if reply[:1] == b"$":
        n = int(reply[1:reply.index(b"\r\n")])
        return n < 0 or len(reply) >= reply.index(b"\r\n") + 2 + n + 2
    return True


def _resp_value(reply):
    kind = reply[:1]
    if kind == b"$":
        head = reply.index(b"\r\n")
        n = int(reply[1:head])
        return None if n < 0 else reply[head + 2:head + 2 + n]
    if kind == b"-":
        raise RuntimeError("redis: " + reply[1:].decode(errors="replace").strip())
    return reply[1:].strip()


class RedisServer:
    def __init__(self, directory):
        require_binary(REDIS_SERVER)
        require_binary(REDIS_CLI)
        self.dir = str(directory)
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.proc = None

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def start(self):
        log = open(os.path.join(self.dir, "redis.log"), "ab")
        # no persistence: a restart after kill() is an empty store, as after a crash
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--protected-mode", "yes", "--dir", self.dir,
             "--daemonize", "no"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        _wait_until(self._answers, self.proc, "redis-server on %s" % self.address)
        return self

    def _answers(self):
        try:
            return _ask(self.port, _resp_command("PING"), _resp_complete) == b"+PONG\r\n"
        except OSError:
            return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)   # a paused server cannot exit
            terminate(self.proc)
        self.proc = None

    def kill(self):
        """Down at once, as a crash: SIGKILL to our own redis-server only."""
        self.proc.send_signal(signal.SIGCONT)
        self.proc.kill()
        self.proc.wait(5)

    def restart(self):
        """Up again on the same port, empty."""
        self.stop()
        return self.start()

    def pause(self):
        """Hung: connections are accepted by the kernel but never answered."""
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)

    # -------------------------------------------------------------- contents
    def command(self, *args):
        return _resp_value(_ask(self.port, _resp_command(*args), _resp_complete, timeout=5.0))

    def names(self):
        """Every key in the store, as redis-cli lists them."""
        out = subprocess.run([REDIS_CLI, "-p", str(self.port), "--scan"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=10, check=True).stdout
        return sorted(set(out.decode().split()))

    def get(self, name):
        return self.command("GET", name)

    def set(self, name, value, ttl_seconds=60):
        assert self.command("SET", name, value, "EX", ttl_seconds) == b"OK"

    def flush(self):
        self.command("FLUSHALL")


# ------------------------------------------------------------------ memcached

class MemcachedServer:
    def __init__(self):
        require_binary(MEMCACHED)
        self.port = free_port()
        self.proc = None

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def start(self):
        cmd = [MEMCACHED, "-l", "127.0.0.1", "-p", str(self.port), "-U", "0", "-m", "16"]
        if IS_ROOT:
            cmd += ["-u", "nobody"]     # memcached refuses to run as root without -u
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        _wait_until(self._answers, self.proc, "memcached on %s" % self.address)
        return self

    def _answers(self):
        try:
            return _ask(self.port, b"version\r\n", lambda r: r.endswith(b"\r\n")).startswith(b"VERSION")
        except OSError:
            return False

    def stats_items(self):
        """memcached's `stats` counters: {name: value} (curr_items, get_hits...)."""
        reply = _ask(self.port, b"stats\r\n", lambda r: r.endswith(b"END\r\n"), timeout=5.0)
        out = {}
        for line in reply.decode().splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[0] == "STAT":
                out[parts[1]] = parts[2]
        return out

    def stop(self):
        terminate(self.proc)
        self.proc = None
