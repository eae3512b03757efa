"""One request relayed to the upstream, and its response read by httptools and passed back.

The client's request has been read whole (bodies are JSON, at most 64 MiB); it goes up on a
pooled connection with its own Content-Length. A pooled connection the upstream had just closed
is replaced once, since nothing was answered and the body is still here. The response is read by
its own `httptools.HttpResponseParser`: each callback adds bytes for the client, written once per
upstream read, before the analysis hears of them. A chunked body goes down chunked again, a
length stays a length, a body that ends at the upstream's close ends the client's connection.
A response httptools refuses, or that the proxy refuses on top of it, is a 502 when nothing of it
has been passed on, else a cut stream; that upstream connection is closed either way, so nothing
of one response can reach the next request.
"""

from __future__ import annotations

import time

import httptools

from .attempt import Attempt
from .message import MAX_HEADER_BYTES, Refused, error_body, response_head, simple_response
from .relay import UpstreamError, strict

HEALTH_PATH = "/__ccprompt/health"
BODY_METHODS = (b"POST", b"PUT", b"PATCH")  # these always say their Content-Length, 0 included


class _Closed(Exception):
    """The upstream closed the connection before answering."""


class _Stop(Exception):
    """The reply is over as far as this exchange goes (a HEAD reply's head, or bytes after the end)."""


def _settle(future, result=None, error=None) -> None:
    """Set a future once: whichever side speaks first (client gone, upstream answer) wins."""
    if future is not None and not future.done():
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)


def _cause(exc: BaseException) -> BaseException:
    """What a callback raised, for an httptools error that wraps it."""
    if isinstance(exc, httptools.HttpParserCallbackError) and exc.__context__ is not None:
        return exc.__context__
    return exc


class Exchange:
    """One request and its response; the upstream connection feeds it through `upstream_data`."""

    def __init__(self, server, client, request) -> None:
        self.server = server
        self.client = client
        self.request = request
        self.method = request.method
        self.attempt = Attempt(request.method.decode("latin-1"), request.target.decode("latin-1"))
        self.connection = None
        self.parser = None
        self.head = None  # a future: the response head has been read
        self.done = None  # a future: (outcome, detail)
        self.reusable = False
        self.keep_alive = request.keep_alive  # the client connection can carry another request after this
        self.returned = False  # the upstream connection is back in the pool
        self.waiting = False  # counted as waiting by the server until its first bytes go out
        # The reply being read
        self.status = 0
        self.reason = b""
        self.fields, self.head_size = [], 0
        self.interim = False
        self.in_body = False
        self.finished = False
        self.kind = None  # none, length, chunked, close
        self.down_chunked = False
        self.out: list = []
        self.payloads: list = []
        self.head_news = False

    def request_bytes(self) -> bytes:
        pool, request = self.server.pool, self.request
        body = request.body
        parts = [b"%s %s HTTP/1.1\r\nHost: %s" % (self.method, pool.target(request.target), pool.host_header),
                 request.head.passed_on()]
        if body or self.method in BODY_METHODS:
            parts.append(b"\r\nContent-Length: %d" % len(body))
        if pool.proxy_header:
            parts.append(pool.proxy_header)
        parts += (b"\r\n\r\n", body)
        return b"".join(parts)

    def start(self) -> None:
        """Send at once on a pooled connection if there is one; `run` does the rest."""
        self.waiting = True
        self.server.request_waiting(1)
        connection = self.server.pool.take()
        if connection is not None:
            self.attempt.reused = True
            self._send(connection)
        self.server.analyzer.begin(self.attempt, self.request.headers, self.request.body)

    def _send(self, connection) -> None:
        self.connection = connection
        self.parser = strict(httptools.HttpResponseParser(self))
        self.fields, self.head_size, self.reason = [], 0, b""
        connection.attach(self)
        connection.write(self.request_bytes())
        loop = self.server.loop
        self.head, self.done = loop.create_future(), loop.create_future()

    async def run(self) -> bool:
        """Relay the exchange after `start`; True when the client connection can carry another request."""
        analyzer, attempt, pool = self.server.analyzer, self.attempt, self.server.pool
        for tries_left in (1, 0):
            if self.connection is None:
                connection = pool.take()
                try:
                    if connection is not None:
                        attempt.reused = True
                    else:
                        connection, attempt.conn = await pool.connect()
                        attempt.reused = False
                except UpstreamError as exc:
                    return self._unreachable(str(exc))
                if self.client.gone:
                    pool.give_back(connection)
                    analyzer.end(attempt, "client_aborted", None, time.monotonic())
                    return False
                self._send(connection)
            connection = self.connection
            try:
                await self.head
                break
            except _Closed:
                connection.close()
                self.connection = None
                if self.client.gone:
                    analyzer.end(attempt, "client_aborted", None, time.monotonic())
                    return False
                if not (attempt.reused and tries_left):
                    return self._unreachable("the upstream closed the connection")
            except Refused as exc:
                connection.close()
                return self._unreachable(f"the upstream's reply is malformed ({exc.why})")
        self.request.release()  # no second try now: the body's place in the budget is free
        outcome, detail = "ok", None
        try:
            outcome, detail = await self.done
        finally:
            if self.returned:
                pass
            elif outcome == "ok" and self.reusable and not self.client.gone:
                pool.give_back(connection)
            else:
                connection.close()
            analyzer.end(attempt, outcome, detail, time.monotonic())
        return outcome == "ok" and self.keep_alive

    def answered(self) -> None:
        """The client has its first bytes (or never will): analysis may use the CPU again."""
        if self.waiting:
            self.waiting = False
            self.server.request_waiting(-1)

    def _unreachable(self, detail: str) -> bool:
        self.server.analyzer.end(self.attempt, "upstream_unreachable", detail, time.monotonic())
        self.client.write(simple_response(502, error_body(f"ccprompt proxy: upstream unreachable: {detail}"),
                                          not self.keep_alive))
        return True

    # -- httptools callbacks: the upstream's reply ---------------------------------------------

    def on_message_begin(self) -> None:
        if self.finished:
            raise _Stop()  # bytes after the end of the reply: never passed on
        self.fields, self.head_size, self.reason, self.in_body = [], 0, b"", False

    def on_status(self, reason: bytes) -> None:
        self.reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.in_body:
            return  # trailers are not passed on
        self.fields.append((name, value))
        self.head_size += len(name) + len(value)
        if self.head_size > MAX_HEADER_BYTES:
            raise Refused(502, "head too large")

    def on_headers_complete(self) -> None:
        fields = response_head(self.fields)
        if self.head_size + 4 * len(self.fields) + len(self.reason) > MAX_HEADER_BYTES:
            raise Refused(502, "head too large")
        status = self.parser.get_status_code()
        if not 100 <= status <= 599 or status == 101:
            raise Refused(502, f"status {status}")
        self.in_body = True
        if status < 200:
            self.interim = True  # 100, 102, 103: not passed on; the real reply follows
            return
        self.interim = False
        self.status = status
        try:
            chunked = fields.chunked()
        except Refused:
            raise Refused(502, "a Transfer-Encoding other than chunked") from None
        request = self.request
        if self.method == b"HEAD" or status in (204, 304):
            self.kind = "none"
        elif chunked:
            self.kind = "chunked"
        elif fields.get(b"content-length") is not None:
            self.kind = "length"
        else:
            self.kind = "close"
        self.reusable = self.kind != "close" and self.parser.should_keep_alive()
        self.down_chunked = self.kind == "chunked" and not request.http10
        parts = [b"HTTP/1.1 %d %s" % (status, self.reason), fields.passed_on()]
        if self.down_chunked:
            parts.append(b"\r\nTransfer-Encoding: chunked")
        if self.kind == "close" or (self.kind == "chunked" and request.http10) or not self.keep_alive:
            self.keep_alive = False
            parts.append(b"\r\nConnection: close")
        parts.append(b"\r\n\r\n")
        self.out.append(b"".join(parts))
        self.head_news = True
        if self.method == b"HEAD":
            self.finished = True
            self.reusable = False  # httptools cannot be told this reply has no body: the connection goes
            raise _Stop()

    def on_body(self, body: bytes) -> None:
        if self.interim:
            return
        if self.down_chunked:
            self.out += (b"%x\r\n" % len(body), body, b"\r\n")
        else:
            self.out.append(body)
        self.payloads.append(body)

    def on_message_complete(self) -> None:
        if self.interim:
            self.interim = False
            return
        self.finished = True
        if self.down_chunked:
            self.out.append(b"0\r\n\r\n")

    # -- called by the upstream connection ------------------------------------------------------

    def upstream_data(self, data: bytes) -> None:
        now = time.monotonic()
        failure = None
        if self.finished:
            self.reusable = False  # more bytes after the end: the connection's state is unknown
            return
        try:
            self.parser.feed_data(data)
        except Exception as exc:  # noqa: BLE001 - every parser error ends the reply one way or another
            cause = _cause(exc)
            if isinstance(cause, _Stop) or self.finished:
                self.reusable = False  # a HEAD reply's head, or bytes after the end: the connection goes
            else:
                failure = cause.why if isinstance(cause, Refused) else str(exc) or type(exc).__name__
        self._flush(now, failure)

    def _flush(self, now: float, failure) -> None:
        out, payloads = self.out, self.payloads
        if failure is not None and self.kind is None:
            out.clear()
            _settle(self.head, error=Refused(502, failure[:80]))
            return
        if out:
            self.out = []
            self.client.write(out[0] if len(out) == 1 else b"".join(out))
        analyzer = self.server.analyzer
        if self.head_news:
            self.head_news = False
            _settle(self.head)
            analyzer.response(self.attempt, self.status, self.reason.decode("latin-1"), self.fields, now)
        if payloads:
            self.answered()
            self.payloads = []
            for payload in payloads:
                analyzer.chunk(self.attempt, payload, now)
        elif self.finished:
            self.answered()
        if failure is not None:
            self._broken(f"the upstream's reply is malformed ({failure[:80]})")
        elif self.finished and self.done is not None and not self.done.done():
            if self.reusable and not self.client.gone:
                # Back in the pool now, not a loop turn later: the client's next request may
                # already be on its way.
                self.server.pool.give_back(self.connection)
                self.returned = True
            self.done.set_result(("ok", None))

    def upstream_lost(self, exc) -> None:
        if self.kind is None:
            _settle(self.head, error=_Closed())
            return
        if self.done is None or self.done.done():
            return
        self.reusable = False
        if self.kind == "close" and not self.finished:
            self.finished = True
            self.done.set_result(("ok", None))
            return
        self._broken("the upstream closed the connection")

    def _broken(self, why: str) -> None:
        """Broken off mid-body: close the client's connection too, so the truncation shows there."""
        self.reusable = False
        self.keep_alive = False
        self.client.abort()
        _settle(self.done, ("error", "upstream stream broken: " + why))

    # -- called by the client connection -----------------------------------------------------------

    def client_lost(self) -> None:
        _settle(self.head, error=_Closed())
        if self.done is not None and not self.done.done():
            self.reusable = False
            self.done.set_result(("client_aborted", None))

    def pause(self) -> None:
        if self.connection is not None:
            self.connection.pause_reading()

    def resume(self) -> None:
        if self.connection is not None:
            self.connection.resume_reading()
