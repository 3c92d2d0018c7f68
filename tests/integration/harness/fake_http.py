"""The plumbing shared by the suite's fake HTTP services (keys/fake_clerk.py,
machine/fake_bapi.py, browser/handshake_fake.py): a threaded stdlib server on
127.0.0.1, served from a daemon thread, that hands every request to its
fake's _handle(handler).

  class MyFake(FakeService):
      handler_class = MyHandler         # a FakeHandler with its own server_version
      def _handle(self, h): ...
"""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class RecordedRequest:
    """One request a fake received, kept for the tests' assertions."""

    def __init__(self, method, path, headers, at):
        self.method = method
        self.path = path
        self.headers = headers          # {lower-case name: value}
        self.at = at

    @property
    def authorization(self):
        return self.headers.get("authorization")


class FakeHandler(BaseHTTPRequestHandler):
    """Hands GET and POST to self.server.fake._handle(self)."""
    protocol_version = "HTTP/1.0"   # one request per connection: simple and countable

    def log_message(self, fmt, *args):     # quiet
        pass

    def do_GET(self):
        self.server.fake._handle(self)

    do_POST = do_GET


class FakeHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False          # stop() must not wait for a hung request
    allow_reuse_address = True      # a fake restarted on the port it had


class FakeService:
    """Start and stop of a fake: one server_class(handler_class) on 127.0.0.1."""
    handler_class = FakeHandler
    server_class = FakeHTTPServer
    _httpd = None

    def _listen(self, port=0):
        """Bind 127.0.0.1:port (0: a free port), not serving yet; returns the server."""
        self._httpd = self.server_class(("127.0.0.1", port), self.handler_class)
        self._httpd.fake = self
        return self._httpd

    def _serve_in_background(self):
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def start(self):
        self._listen()
        self._serve_in_background()
        return self

    def stop(self):
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    @property
    def port(self):
        return self._httpd.server_address[1]
