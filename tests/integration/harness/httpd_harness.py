"""A real Debian apache2 with mod_auth_clerk, in a throw-away ServerRoot.

Httpd(mpm) builds <tmp>/{conf,logs,run,htdocs,keys}, writes a minimal
httpd.conf (only the modules the suite needs, from /usr/lib/apache2/modules,
plus build/mod_auth_clerk.so of this checkout, or CLERK_IT_MODULE), runs `apache2 -DFOREGROUND`
on a free 127.0.0.1 port and stops it with SIGTERM.  configtest() runs
`apache2 -t` on a config for the failure tests.

When the suite runs as root, httpd's children and CGI scripts run as
www-data (Debian's apache2 refuses User root), so the tree is made readable
and traversable by everyone.

Sanitizer runs (make test-asan): CLERK_IT_MODULE names the ASan+UBSan build
of the module and CLERK_IT_PRELOAD the matching libasan, which httpd gets as
LD_PRELOAD (the ASan runtime must come first in the process; apache2 itself
is not instrumented).  ASan writes its reports into <root>/sanitizer/, UBSan
to httpd's stderr (see SANITIZER_LINE); cleanup() saves both in one directory
per test run, and sanitizer_reports() lists them all for test_zz_sanitizer.py.
"""
import atexit
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
MODULE = Path(os.environ.get("CLERK_IT_MODULE") or REPO / "build" / "mod_auth_clerk.so").resolve()
SANITIZER_PRELOAD = os.environ.get("CLERK_IT_PRELOAD", "")
VECTORS = REPO / "tests" / "vectors" / "clerk"
WWW = HERE.parent / "www"
APACHE = os.environ.get("APACHE2", "/usr/sbin/apache2")
MODDIR = Path(os.environ.get("APACHE2_MODULES", "/usr/lib/apache2/modules"))

IS_ROOT = os.geteuid() == 0

COMMON_MODULES = [
    ("authn_core_module", "mod_authn_core.so"),
    ("authz_core_module", "mod_authz_core.so"),
    # Debian enables authz_user by default; real deployments have it.
    ("authz_user_module", "mod_authz_user.so"),
    ("alias_module", "mod_alias.so"),
    ("mime_module", "mod_mime.so"),
    ("dir_module", "mod_dir.so"),
    ("env_module", "mod_env.so"),
    ("headers_module", "mod_headers.so"),
    ("include_module", "mod_include.so"),
    ("rewrite_module", "mod_rewrite.so"),
    ("setenvif_module", "mod_setenvif.so"),
    ("log_config_module", "mod_log_config.so"),
    ("unixd_module", "mod_unixd.so"),
]


def _builtin_modules():
    try:
        out = subprocess.run([APACHE, "-l"], stdout=subprocess.PIPE, timeout=30).stdout.decode()
    except OSError:
        return set()
    return {l.strip()[len("mod_"):-len(".c")] for l in out.splitlines()
            if l.strip().startswith("mod_") and l.strip().endswith(".c")}


# Debian compiles log_config, unixd, so... in; load only what is a DSO.
_BUILTIN = _builtin_modules()
COMMON_MODULES = [(sym, so) for sym, so in COMMON_MODULES
                  if so[len("mod_"):-len(".so")] not in _BUILTIN]

MPM_MODULES = {
    "event": [("mpm_event_module", "mod_mpm_event.so"), ("cgid_module", "mod_cgid.so")],
    "prefork": [("mpm_prefork_module", "mod_mpm_prefork.so"), ("cgi_module", "mod_cgi.so")],
}

MPM_TUNING = {
    "event": """
StartServers 2
ServerLimit 4
ThreadLimit 16
ThreadsPerChild 16
MinSpareThreads 8
MaxSpareThreads 48
MaxRequestWorkers 64
""",
    "prefork": """
StartServers 4
MinSpareServers 2
MaxSpareServers 8
ServerLimit 24
MaxRequestWorkers 24
""",
}


# One serving process, for what is counted per process (caches, the
# thread count); after MPM_TUNING in the config, so these win.
SINGLE_PROCESS = {
    "prefork": """
StartServers 1
MinSpareServers 1
MaxSpareServers 2
ServerLimit 1
MaxRequestWorkers 1
""",
    "event": """
StartServers 1
ServerLimit 1
ThreadsPerChild 16
MaxRequestWorkers 16
MinSpareThreads 1
MaxSpareThreads 64
""",
}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _chmod_tree(root):
    for dirpath, dirnames, filenames in os.walk(root):
        # cores/ and sanitizer/ are written by children running as www-data
        sticky = os.path.basename(dirpath) in ("cores", "sanitizer")
        os.chmod(dirpath, 0o1777 if sticky else 0o755)
        for f in filenames:
            p = os.path.join(dirpath, f)
            os.chmod(p, 0o755 if f.endswith(".py") else 0o644)


def _allow_cores():
    import resource
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


_SNAPSHOT = {}

# The Httpds not cleaned up yet, so that the last test can stop those still
# running and look at their sanitizer reports too.
_ALL = []
_REPORTS = {}

# Sanitizer options for httpd in a sanitizer run; log_path is added per ServerRoot.
#   detect_leaks=0  httpd never destroys pconf or its global pool before exit
#                   (and OpenSSL/curl keep their global state), so LeakSanitizer
#                   would report every configuration allocation at every exit;
#                   the unit tests run with leak checking instead (make unit-san).
#   abort_on_error=1  a report ends the child with SIGABRT, which the parent logs
#                   ("exit signal Aborted"): the error-log crash checks see it too.
#   allow_user_segv_handler=0  httpd installs its own SIGSEGV/SIGBUS handler (to
#                   dump core); ASan keeps its own so a wild access is reported
#                   with a stack instead of being a bare "exit signal".
ASAN_DEFAULTS = "detect_leaks=0:abort_on_error=1:allow_user_segv_handler=0:print_summary=1"
UBSAN_DEFAULTS = "print_stacktrace=1:halt_on_error=1:abort_on_error=1"


def _report_dir():
    if "dir" not in _REPORTS:
        _REPORTS["dir"] = Path(tempfile.mkdtemp(prefix="clerk-it-sanitizer-"))
        # kept when a report is in it (os.rmdir fails on a non-empty directory)
        atexit.register(lambda d=_REPORTS["dir"]: os.rmdir(d) if not any(d.iterdir()) else None)
    return _REPORTS["dir"]


# A sanitizer report on stderr.  ASan honours log_path, but GCC's UBSan is a
# runtime of its own (libubsan) whose log_path goes to the preloaded libasan's
# copy of the common sanitizer code, so UBSan reports land on httpd's stderr:
# logs/stdout.log until httpd opens its error log, logs/error.log after.
SANITIZER_LINE = re.compile(r"runtime error:|ERROR: AddressSanitizer|"
                            r"ERROR: UndefinedBehaviorSanitizer|^SUMMARY: \w+Sanitizer")


def _reports_in(h):
    """[(file name, text)]: h's files in sanitizer/, and from each of its two
    stderr logs the first sanitizer line with what follows it (the stack)."""
    found = []
    if h.sanitizer_dir.is_dir():
        found += [(p.name, p.read_text(errors="replace")) for p in sorted(h.sanitizer_dir.iterdir())]
    for log in ("stdout.log", "error.log"):
        try:
            lines = (h.root / "logs" / log).read_text(errors="replace").splitlines()
        except FileNotFoundError:
            continue
        hits = [i for i, line in enumerate(lines) if SANITIZER_LINE.search(line)]
        if hits:
            found.append((log, "\n".join(lines[hits[0]:hits[0] + 80])))
    return found


def sanitizer_reports():
    """[(where, text)]: every sanitizer report of this run so far, those saved
    from removed ServerRoots and those in the live ones."""
    found = [(p, p.read_text(errors="replace")) for p in sorted(_report_dir().iterdir())]
    for h in _ALL:
        found += [(h.root / name, text) for name, text in _reports_in(h)]
    return found


def stop_all():
    for h in _ALL:
        h.stop()


def snapshot_module():
    """A private copy of build/mod_auth_clerk.so, made once per test run, so
    that every server of the run loads the same build.  `make module` copies
    over the build file in place: a running httpd that has it mapped would
    see its code change (every child then dies with SIGSEGV), and a graceful
    restart would load whatever half-built state is there."""
    if not MODULE.exists() or os.environ.get("CLERK_IT_NO_SNAPSHOT"):
        return MODULE
    if "path" in _SNAPSHOT:
        return _SNAPSHOT["path"]
    d = Path(tempfile.mkdtemp(prefix="clerk-it-module-"))
    os.chmod(d, 0o755)
    dst = d / MODULE.name
    for _ in range(50):
        before = MODULE.stat()
        shutil.copyfile(MODULE, dst)
        after = MODULE.stat()
        if (before.st_mtime_ns, before.st_size) == (after.st_mtime_ns, after.st_size) \
                and time.time() - after.st_mtime > 1.0 and dst.stat().st_size == after.st_size:
            break
        time.sleep(0.3)
    os.chmod(dst, 0o755)
    _SNAPSHOT["path"] = dst
    atexit.register(shutil.rmtree, d, True)
    return dst


class StartError(RuntimeError):
    pass


class Httpd:
    def __init__(self, mpm, name="main"):
        assert mpm in MPM_MODULES
        self.mpm = mpm
        self.root = Path(tempfile.mkdtemp(prefix="clerk-it-%s-%s-" % (name, mpm)))
        os.chmod(self.root, 0o755)
        for d in ("conf", "logs", "run", "htdocs", "keys"):
            (self.root / d).mkdir()
        self.conf = self.root / "conf" / "httpd.conf"
        self.error_log_path = self.root / "logs" / "error.log"
        self.port = None
        self.proc = None
        self.sent_tokens = []       # every token a client sent, for the leak check
        self.extra_env = {}         # more environment for apache2 (env: secrets)
        self._copy_keys()
        self.module = self._snapshot_module()
        if SANITIZER_PRELOAD:
            self.sanitizer_dir.mkdir()
        _ALL.append(self)

    # ------------------------------------------------------------ layout
    @property
    def sanitizer_dir(self):
        return self.root / "sanitizer"

    @property
    def keys(self):
        return self.root / "keys"

    @property
    def docroot(self):
        return self.root / "htdocs"

    @property
    def base_url(self):
        return "http://127.0.0.1:%d" % self.port

    def _snapshot_module(self):
        return snapshot_module()

    def _copy_keys(self):
        for p in (VECTORS / "keys").glob("*.pem"):
            if "private" not in p.name:
                shutil.copy(p, self.keys / p.name)
        for p in VECTORS.glob("jwks*.json"):
            shutil.copy(p, self.keys / p.name)

    def write(self, relpath, text, mode=None):
        """Write a file under the ServerRoot (str or bytes)."""
        p = self.root / relpath
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            p.write_bytes(text)
        else:
            p.write_text(text)
        if mode is not None:
            os.chmod(p, mode)
        return p

    def install_www(self, relpath, name, replace=None):
        """Copy tests/integration/www/<name> to htdocs/<relpath>."""
        text = (WWW / name).read_text()
        for k, v in (replace or {}).items():
            text = text.replace(k, v)
        return self.write(Path("htdocs") / relpath, text)

    # ------------------------------------------------------------ config
    def base_config(self, port, extra_modules=()):
        lines = [
            'ServerRoot "%s"' % self.root,
            "ServerName 127.0.0.1",
            "Listen 127.0.0.1:%d" % port,
            'PidFile "%s/run/httpd.pid"' % self.root,
            'DefaultRuntimeDir "%s/run"' % self.root,
            'Mutex file:%s/run default' % self.root,
        ]
        for sym, so in MPM_MODULES[self.mpm][:1] + COMMON_MODULES + MPM_MODULES[self.mpm][1:]:
            lines.append('LoadModule %s "%s"' % (sym, MODDIR / so))
        for sym, so in extra_modules:
            lines.append('LoadModule %s "%s"' % (sym, so))
        lines.append('LoadModule auth_clerk_module "%s"' % self.module)
        if IS_ROOT:
            lines += ["User www-data", "Group www-data"]
        if self.mpm == "event":
            lines.append('ScriptSock "%s/run/cgid.sock"' % self.root)
        if os.environ.get("CLERK_IT_COREDUMP") or SANITIZER_PRELOAD:
            # cores of crashed children land in <root>/cores (keep with CLERK_IT_KEEP=1).
            # A sanitizer run needs the directive too: only with it does httpd make
            # its children dumpable again after they switch to www-data, and in an
            # undumpable child /proc/self/maps is unreadable to itself, so UBSan
            # (which reads it at its first report) prints no stack.  ASan keeps
            # the aborts from writing cores (disable_coredump, on by default).
            (self.root / "cores").mkdir(exist_ok=True)
            lines.append('CoreDumpDirectory "%s/cores"' % self.root)
        lines += [
            MPM_TUNING[self.mpm],
            'ErrorLog "%s"' % self.error_log_path,
            "LogLevel notice auth_clerk:debug",
            'LogFormat "%h %l %u %t \\"%r\\" %>s %b" common',
            'CustomLog "%s/logs/access.log" common' % self.root,
            "TypesConfig %s" % ("/etc/mime.types" if os.path.exists("/etc/mime.types") else "/dev/null"),
            "AddType text/html .shtml",
            "AddType application/json .json",
            'DocumentRoot "%s"' % self.docroot,
            "Timeout 20",
            "KeepAlive On",
            "MaxKeepAliveRequests 0",
            "KeepAliveTimeout 30",
            # Let 16 KiB+ tokens reach the module (the core default is 8190).
            "LimitRequestFieldSize 70000",
            "<Directory />",
            "    AllowOverride None",
            "    Require all denied",
            "</Directory>",
        ]
        return "\n".join(lines) + "\n"

    def write_config(self, body, port=None, extra_modules=()):
        if port is None:
            port = self.port or free_port()
        self.port = port
        self.conf.write_text(self.base_config(port, extra_modules) + body)
        _chmod_tree(self.root)
        return self.conf

    # ------------------------------------------------------------ lifecycle
    def _env(self):
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"}
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LD_PRELOAD"):
            if k in os.environ:
                env[k] = os.environ[k]
        if SANITIZER_PRELOAD:
            # Options from the caller's environment may add to the defaults;
            # log_path comes last, because the report check looks only there.
            for k, defaults, name in (("ASAN_OPTIONS", ASAN_DEFAULTS, "asan"),
                                      ("UBSAN_OPTIONS", UBSAN_DEFAULTS, "ubsan")):
                extra = os.environ.get(k, "")
                env[k] = ":".join(o for o in (defaults, extra,
                                              "log_path=%s/%s" % (self.sanitizer_dir, name)) if o)
            env["LD_PRELOAD"] = SANITIZER_PRELOAD
        env.update(self.extra_env)
        return env

    def start(self, timeout=15):
        """Start httpd and wait until it serves: its children run, so post_config is over.

        The port alone does not tell: the MPM opens the listener before
        post_config (which fetches keys and creates M2M tokens), and the
        kernel completes connections to it before anything accepts them.  The
        parent logs "resuming normal operations" (a notice, logged whatever
        the LogLevel) once the configuration is done and the children start.
        """
        ready_before = self.error_log().count("resuming normal operations")
        out = open(self.root / "logs" / "stdout.log", "ab")
        self.proc = subprocess.Popen(
            [APACHE, "-d", str(self.root), "-f", str(self.conf), "-DFOREGROUND"],
            stdout=out, stderr=subprocess.STDOUT, env=self._env(), start_new_session=True,
            preexec_fn=_allow_cores if os.environ.get("CLERK_IT_COREDUMP") else None)
        out.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise StartError("apache2 exited with %s\n%s" % (self.proc.returncode, self.diagnostics()))
            if self.error_log().count("resuming normal operations") > ready_before:
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                        return self
                except OSError:
                    pass
            time.sleep(0.05)
        self.stop()
        raise StartError("apache2 did not answer on port %d\n%s" % (self.port, self.diagnostics()))

    def stop(self, timeout=15):
        if not self.proc or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            # Only our own process group (start_new_session) is killed.
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)

    def graceful(self, timeout=15):
        """SIGUSR1 (graceful restart) and wait until the new generation answers."""
        before = self.error_log().count("resuming normal operations")
        self.proc.send_signal(signal.SIGUSR1)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise StartError("apache2 died on graceful restart\n" + self.diagnostics())
            if self.error_log().count("resuming normal operations") > before:
                break
            time.sleep(0.05)
        else:
            raise StartError("no new generation after graceful restart\n" + self.diagnostics())
        # the listener is kept; give the new children a moment to accept
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)

    def cleanup(self):
        self.stop()
        if SANITIZER_PRELOAD:
            for name, text in _reports_in(self):
                (_report_dir() / ("%s-%s" % (self.root.name, name))).write_text(text)
        if self in _ALL:
            _ALL.remove(self)
        if not os.environ.get("CLERK_IT_KEEP"):
            shutil.rmtree(self.root, ignore_errors=True)

    # ------------------------------------------------------------ logs
    def error_log(self):
        try:
            return self.error_log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_mark(self):
        try:
            return self.error_log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def log_since(self, mark):
        try:
            with open(self.error_log_path, "rb") as f:
                f.seek(mark)
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def diagnostics(self):
        try:
            stdout = (self.root / "logs" / "stdout.log").read_text(errors="replace")
        except FileNotFoundError:
            stdout = ""
        return "--- stdout/stderr ---\n%s\n--- error.log (tail) ---\n%s" % (
            stdout[-4000:], self.error_log()[-6000:])

    # ------------------------------------------------------------ configtest
    def configtest(self, body, extra_modules=()):
        """apache2 -t on base config + body; returns (returncode, output)."""
        self.write_config(body, port=self.port or free_port(), extra_modules=extra_modules)
        r = subprocess.run(
            [APACHE, "-t", "-d", str(self.root), "-f", str(self.conf)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=self._env(), timeout=60)
        return r.returncode, r.stdout.decode("utf-8", "replace")


def terminate(proc, timeout=15):
    """SIGTERM to proc (a Popen started with start_new_session) and wait; if it
    does not exit within timeout, SIGKILL to its own process group only."""
    if not proc or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
