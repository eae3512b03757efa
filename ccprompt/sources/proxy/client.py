"""One client connection: an `httptools.HttpRequestParser` reads its requests, each relayed by an `Exchange`.

The shape is uvicorn's: the parser calls back with the URL, each header, each piece of body and
the message's end; a complete request is queued, and the first in the queue is relayed while the
others wait their turn (pipelining). Reading pauses while a request waits behind another, and
while the server's budget of buffered request bytes is spent. A request the proxy refuses gets one
JSON error, after the answers to the requests before it, and the connection closes.
`GET /__ccprompt/health` is answered here.
"""

from __future__ import annotations

import asyncio
import collections
import select
import time

import httptools

from .exchange import HEALTH_PATH, Exchange, _cause
from .message import MAX_HEADER_BYTES, MAX_REQUEST_BODY, Head, Refused, refusal, request_head, simple_response
from .relay import strict

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class Request:
    """One request as read: method, target (origin form), header pairs, body. Owned by its connection."""

    __slots__ = ("method", "target", "headers", "head", "body", "parts", "size", "keep_alive", "http10", "expect",
                 "held", "budget", "started", "body_started", "raw")

    def __init__(self, budget, now: float) -> None:
        self.method = b""
        self.target = b""
        self.headers: list = []
        self.head: Head | None = None
        self.body = b""
        self.parts: list | None = None
        self.size = 0  # head bytes while the head is read, then body bytes
        self.keep_alive = True
        self.http10 = False
        self.expect = False
        self.held = 0  # bytes counted against the server's budget
        self.budget = budget
        self.started = now
        self.body_started = 0.0
        self.raw = 0  # bytes of the reads its head has spanned so far

    def release(self) -> None:
        """Give the body's bytes back to the budget (the request has no further use for them)."""
        if self.held:
            held, self.held = self.held, 0
            self.budget.release(held)


class ClientProtocol(asyncio.Protocol):
    """One client connection: requests read in turn, each relayed by an Exchange."""

    def __init__(self, server) -> None:
        self.server = server
        self.transport = None
        self.parser = strict(httptools.HttpRequestParser(self))
        self.reading: Request | None = None  # the request whose bytes are arriving
        self.queue: collections.deque = collections.deque()  # read whole, waiting their turn
        self.exchange: Exchange | None = None
        self.gone = False
        self.closing = False  # no further request is read
        self.refused = b""  # the answer to a refused request, sent once those before it are answered
        self.paused: set = set()
        self.headers: list = []  # where httptools' header callbacks go: the request's, then a throwaway
        self.feeding = 0  # the size of the read being parsed
        self.idle_since = 0.0
        self.turn = 0.0  # when this connection last had the proxy's attention back

    # -- asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.idle_since = self.turn = time.monotonic()
        self.server.connection_made(self)

    def connection_lost(self, exc) -> None:
        self.gone = True
        self.server.connection_lost(self)
        if self.reading is not None:
            self.reading.release()
        for request in self.queue:
            request.release()
        if self.exchange is not None:
            self.exchange.request.release()
            self.exchange.client_lost()

    def pause_writing(self) -> None:
        if self.exchange is not None:
            self.exchange.pause()

    def resume_writing(self) -> None:
        if self.exchange is not None:
            self.exchange.resume()

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        self.feeding = len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self.queue:  # a request that asked to switch protocols: answered, then the connection ends
                self.queue[-1].keep_alive = False
            self.closing = True
        except Exception as exc:  # noqa: BLE001 - every parser error is a refusal
            cause = _cause(exc)
            if isinstance(cause, Refused):
                self.refuse(cause.status, cause.why)
            else:
                self.refuse(400, _why(exc))
            return
        reading = self.reading
        if reading is not None and reading.body_started == 0.0:
            reading.raw += len(data)
            if reading.raw > MAX_HEADER_BYTES:
                self.refuse(431, "request head too large")  # its end has not arrived, and never needs to
                return
        if self.queue and self.exchange is not None:
            self.pause("turn")
        if reading is not None and reading.expect and self.exchange is None:
            self._continue(reading)

    # -- httptools callbacks -----------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self.reading = reading = Request(self.server.budget, time.monotonic())
        self.headers = reading.headers

    def on_url(self, url: bytes) -> None:
        reading = self.reading
        reading.target += url
        reading.size += len(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        reading, parser = self.reading, self.parser
        self.headers = []  # the trailers of a chunked body, if any, land here: they are not passed on
        reading.head = head = request_head(reading.headers)
        if reading.raw + self.feeding > MAX_HEADER_BYTES and head.size + reading.size > MAX_HEADER_BYTES:
            raise Refused(431, "request head too large")
        reading.body_started = time.monotonic()
        reading.method = method = parser.get_method()
        if method == b"CONNECT":
            raise Refused(400, "CONNECT is not served")
        version = parser.get_http_version()
        if version not in ("1.1", "1.0"):
            raise Refused(400, "not HTTP/1.1")
        reading.http10 = version == "1.0"
        reading.keep_alive = parser.should_keep_alive() and not reading.http10
        reading.target = _origin_form(reading.target)
        chunked = head.chunked()
        length = head.get(b"content-length")
        if length is not None and int(length) > MAX_REQUEST_BODY:
            raise Refused(413, "request body too large")
        expect = head.get(b"expect")
        if expect is not None and expect.strip().lower() == b"100-continue" and (chunked or (length or b"0") != b"0"):
            reading.expect = True
        reading.size = 0

    def on_body(self, body: bytes) -> None:
        reading = self.reading
        reading.expect = False
        size = len(body)
        reading.size += size
        if reading.size > MAX_REQUEST_BODY:
            raise Refused(413, "request body too large")
        if reading.parts is None:
            reading.parts = [body]
        else:
            reading.parts.append(body)
        reading.held += size
        reading.budget.take(size, self, reading.held)

    def on_message_complete(self) -> None:
        reading, self.reading = self.reading, None
        parts = reading.parts
        if parts:
            reading.body = parts[0] if len(parts) == 1 else b"".join(parts)
            reading.parts = None
        if not reading.keep_alive:
            self.closing = True
        self.queue.append(reading)
        if self.exchange is None:
            self._next()

    # -- turns ------------------------------------------------------------------------------------

    def _next(self) -> None:
        """Start on the first queued request, or, with none, read again (or send a pending refusal)."""
        while self.exchange is None and not self.gone:
            if not self.queue:
                self.turn = self.idle_since = time.monotonic()
                if self.refused:
                    self._send_refusal()
                    return
                if self.closing:
                    self.transport.close()
                    return
                self.resume("turn")
                if self.reading is not None and self.reading.expect:
                    self._continue(self.reading)
                return
            request = self.queue.popleft()
            if request.target.split(b"?", 1)[0] == HEALTH_PATH.encode() and request.method in (b"GET", b"HEAD"):
                status, reply = self.server.health_reply(request.target.decode("latin-1"))
                self.transport.write(simple_response(status, reply, not request.keep_alive, request.method == b"HEAD"))
                if not request.keep_alive:
                    self.transport.close()
                    return
                continue
            self.server.count_request()
            self.exchange = exchange = Exchange(self.server, self, request)
            exchange.start()
            self.server.loop.create_task(self._serve(exchange))

    async def _serve(self, exchange: Exchange) -> None:
        try:
            again = await exchange.run()
        except Exception:  # noqa: BLE001 - a bug here must not leave the client hanging
            again = False
        finally:
            exchange.answered()
            exchange.request.release()
        self.exchange = None
        if not again or self.gone:
            if not self.gone:
                self.transport.close()
            return
        self._next()

    def _continue(self, request: Request) -> None:
        request.expect = False
        if not self.queue:
            self.transport.write(CONTINUE)

    # -- what the exchange and the server may ask of a connection ------------------------------------

    def write(self, data: bytes) -> None:
        if not self.gone:
            self.transport.write(data)

    def abort(self) -> None:
        """Close once what was written has gone: the client must see a cut stream as cut."""
        self.closing = True
        if not self.gone:
            self.transport.close()

    def pause(self, why: str) -> None:
        if not self.paused and not self.gone:
            self.transport.pause_reading()
        self.paused.add(why)

    def resume(self, why: str) -> None:
        if why in self.paused:
            self.paused.discard(why)
            if not self.paused and not self.gone:
                self.transport.resume_reading()

    def refuse(self, status: int, why: str) -> None:
        """Answer `status` after the requests before this one, then close. Nothing more is read."""
        self.closing = True
        if self.reading is not None:
            self.reading.release()
            self.reading = None
        self.refused = refusal(status, "ccprompt proxy: " + why)
        self.pause("refused")
        if self.exchange is None and not self.queue:
            self._send_refusal()

    def _send_refusal(self) -> None:
        if not self.gone:
            self.transport.write(self.refused)
            self.transport.close()
        self.refused = b""

    def turn_away(self, answer: bytes) -> None:
        """The server has no room: this answer, then the connection closes, nothing read."""
        self.closing = True
        self.transport.write(answer)
        self.transport.close()

    def close_idle(self) -> None:
        self.closing = True
        self.transport.close()

    def idle(self) -> bool:
        """Nothing in progress: no request being read or answered."""
        return self.reading is None and self.exchange is None and not self.queue

    def check(self, now: float, limits) -> None:
        """Close a connection that has kept the proxy waiting too long; never one being answered."""
        if "budget" in self.paused and not self.gone and _hung_up(self.transport):
            # A paused transport reads nothing, so its peer's close goes unseen; a body whose
            # sender has shut its side can never be whole.
            self.transport.abort()
            return
        if self.gone or self.exchange is not None or self.queue or self.closing:
            return
        reading = self.reading
        if reading is None:
            if now - self.idle_since > limits.idle_timeout_s:
                self.closing = True
                self.transport.close()
        elif reading.body_started == 0.0:
            if now - max(reading.started, self.turn) > limits.head_timeout_s:
                self.refuse(408, "request head not received in time")
        elif now - max(reading.body_started, self.turn) > limits.body_timeout_s:
            self.refuse(408, "request body not received in time")


_HUNG_UP = getattr(select, "POLLRDHUP", 0) | select.POLLHUP | select.POLLERR if hasattr(select, "poll") else 0


def _hung_up(transport) -> bool:
    """The peer has closed its side (Linux: POLLRDHUP), seen without reading a byte."""
    sock = transport.get_extra_info("socket")
    if sock is None or not _HUNG_UP:
        return False
    try:
        poller = select.poll()
        poller.register(sock.fileno(), _HUNG_UP)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return False


def _origin_form(target: bytes) -> bytes:
    """The path and query of a request target; an absolute-form URI loses its scheme and host here."""
    if target.startswith(b"/"):
        return target
    if b"://" in target[:10]:
        try:
            url = httptools.parse_url(target)
        except httptools.HttpParserInvalidURLError:
            raise Refused(400, "bad request target") from None
        path = url.path or b"/"
        return path + (b"?" + url.query if url.query else b"")
    raise Refused(400, "bad request target")


def _why(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return "not an HTTP/1.1 request (" + text[:60].replace('"', "'") + ")"
