"""The proxy in this process, on its own event-loop thread, and a tiny raw HTTP/1.1 client for tests."""

from __future__ import annotations

import asyncio
import http.client
import threading
import time


TEST_SECRET = b"5e" * 32  # the health endpoint's secret for in-process proxies


class ProxyThread:
    """Runs a ccprompt ProxyServer in a background thread; ``url`` once started."""

    def __init__(self, upstream, **options) -> None:
        from ccprompt.sources.proxy.server import ProxyServer

        options.setdefault("secret", TEST_SECRET)
        self.server = ProxyServer(upstream, **options)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="proxy-under-test", daemon=True)

    def __enter__(self):
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(10)
        return self

    def __exit__(self, *exc_info):
        asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def port(self) -> int:
        return self.server.port

    def health(self) -> dict | None:
        """The health document, asked the way `run` asks: with a fresh challenge, the answer verified."""
        from ccprompt.sources.proxy import trust

        return trust.verify(self.port, None, self.server.secret, timeout=5)


class Received:
    """A response as a client saw it: status, headers in order, body bytes, and when each piece arrived."""

    def __init__(self, status, reason, headers, body, arrivals, started):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.arrivals = arrivals  # (time.monotonic(), bytes) per read
        self.started = started

    def header(self, name: str):
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


def request(host: str, port: int, path: str = "/v1/messages?beta=true", *, method: str = "POST",
            body: bytes = b"", headers=(), conn: http.client.HTTPConnection | None = None,
            timeout: float = 30.0) -> Received:
    """Send one request (on ``conn`` if given, kept open) and read the whole body piece by piece."""
    own = conn is None
    conn = conn or http.client.HTTPConnection(host, port, timeout=timeout)
    started = time.monotonic()
    conn.putrequest(method, path, skip_host=any(k.lower() == "host" for k, _ in headers),
                    skip_accept_encoding=True)
    for name, value in headers:
        conn.putheader(name, value)
    if body or method == "POST":
        conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body if body else None)
    response = conn.getresponse()
    arrivals, parts = [], []
    if method != "HEAD":
        for _ in range(10_000_000):
            piece = response.read1(65536)
            if not piece:
                break
            arrivals.append((time.monotonic(), piece))
            parts.append(piece)
    else:
        response.read()  # nothing: a HEAD reply has no body, and the connection is then free again
    result = Received(response.status, response.reason, response.getheaders(), b"".join(parts), arrivals, started)
    if own:
        conn.close()
    return result
