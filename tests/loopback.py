"""A real HTTP server on 127.0.0.1 for a test: feeds to poll, robots to post to."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that keeps the test output clean."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def loopback_server(
    handler: type[BaseHTTPRequestHandler], on_stop: threading.Event | None = None
) -> Iterator[str]:
    """Serve ``handler`` on a free port of 127.0.0.1 in a thread; yields the base URL.
    ``on_stop`` is set before shutting down, to release handlers that wait on it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        if on_stop is not None:
            on_stop.set()
        server.shutdown()
        server.server_close()
        thread.join()
