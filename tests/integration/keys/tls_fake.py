"""HTTPS for the fake key server, reached through a CONNECT proxy.

The Frontend API source is https://<host from the publishable key>/... and
plain http is refused for non-loopback hosts, so the test makes it real:

  ca = TestCA(tmpdir)                           # a throw-away CA (EC keys: fast)
  cert, key = ca.issue("clerk.example.dev")     # a server certificate (SAN)
  fake = FakeClerk(tls=(cert, key)).start()     # HTTPS on 127.0.0.1
  proxy = ConnectProxy(fake.port).start()       # CONNECT any:443 -> 127.0.0.1:fake
  ... ClerkHTTPProxy http://127.0.0.1:<proxy.port>, ClerkHTTPCAFile <ca.cert_path>

ConnectProxy records the CONNECT targets it was asked for (proxy.targets).
"""
import datetime
import select
import socket
import threading
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(k):
    return k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                           serialization.NoEncryption())


class TestCA:
    __test__ = False    # not a pytest class

    def __init__(self, directory, name="mod_auth_clerk test CA"):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.key = _key()
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (x509.CertificateBuilder()
                     .subject_name(subject).issuer_name(subject)
                     .public_key(self.key.public_key())
                     .serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(days=1))
                     .not_valid_after(now + datetime.timedelta(days=2))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .add_extension(x509.KeyUsage(False, False, False, False, False, True, True,
                                                  False, False), critical=True)
                     .sign(self.key, hashes.SHA256()))
        self.cert_path = self.dir / ("%s.pem" % name.replace(" ", "_"))
        self.cert_path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, host):
        """(cert_path, key_path) of a server certificate for host."""
        k = _key()
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
                .issuer_name(self.cert.subject)
                .public_key(k.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=2))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                               critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .sign(self.key, hashes.SHA256()))
        cp, kp = self.dir / (host + ".crt"), self.dir / (host + ".key")
        cp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        kp.write_bytes(_pem_key(k))
        return cp, kp


class ConnectProxy:
    """A minimal HTTP CONNECT proxy: every tunnel goes to 127.0.0.1:target_port."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.targets = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.1)
        self.port = self._sock.getsockname()[1]

    def start(self):
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self):
        self._stop.set()
        self._sock.close()

    def _accept(self):
        while not self._stop.is_set():
            try:
                c, _ = self._sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._tunnel, args=(c,), daemon=True).start()

    def _tunnel(self, c):
        try:
            c.settimeout(5)
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 8192:
                b = c.recv(4096)
                if not b:
                    return
                head += b
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            with self._lock:
                self.targets.append(line)
            if not line.startswith("CONNECT "):
                c.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return
            u = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            socks = [c, u]
            while not self._stop.is_set():
                r, _, _ = select.select(socks, [], [], 0.2)
                for s in r:
                    data = s.recv(65536)
                    if not data:
                        u.close()
                        return
                    (u if s is c else c).sendall(data)
        except OSError:
            pass
        finally:
            c.close()
