"""One client connection, and each request on it relayed to the upstream and back.

The client's request is read whole (bodies are JSON, at most 64 MB), then sent on a pooled
upstream connection; a pooled connection the upstream had just closed is replaced once,
since nothing was answered and the body is still here. The response goes back as it
arrives (see `relay`). Failures to reach the upstream get an Anthropic-shaped 502.
"""

from __future__ import annotations

import asyncio
import json
import time

from .attempt import Attempt
from .relay import (MAX_HEADER_BYTES, MAX_REQUEST_BODY, HTTPError, UpstreamError, forwardable, header, parse_head,
                    request_body, response_body, tokens)

HEALTH_PATH = "/__ccprompt/health"
REASONS = {200: "OK", 400: "Bad Request", 413: "Payload Too Large", 431: "Request Header Fields Too Large",
           502: "Bad Gateway"}


def error_body(message: str) -> bytes:
    return json.dumps({"type": "error", "error": {"type": "api_error", "message": message}}).encode()


def simple_response(status: int, body: bytes, close: bool, head_only: bool = False) -> bytes:
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}", "Content-Type: application/json",
             f"Content-Length: {len(body)}"]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (b"" if head_only else body)


class _Closed(Exception):
    """The upstream closed the connection before answering."""


class Exchange:
    """One request and its response; the upstream connection feeds it through `upstream_data`."""

    def __init__(self, server, client, method: str, raw_path: str, headers, body: bytes) -> None:
        self.server = server
        self.client = client
        self.method = method
        self.raw_path = raw_path
        # Expect: 100-continue was answered here, with the body already read.
        self.headers = tuple((n, v) for n, v in forwardable(headers) if n.lower() != "expect")
        self.body = body
        self.attempt = Attempt(method, raw_path)
        self.connection = None
        self.buffer = b""
        self.framing = None
        self.head = None  # a future: the response head has been relayed
        self.done = None  # a future: (outcome, detail)
        self.reusable = False
        self.returned = False  # the upstream connection is back in the pool
        self.waiting = False  # counted in server.waiting until its first body bytes go out

    def request_bytes(self) -> bytes:
        pool = self.server.pool
        lines = [f"{self.method} {pool.target(self.raw_path)} HTTP/1.1", f"Host: {pool.host_header}"]
        lines += [f"{name}: {value}" for name, value in self.headers if name.lower() != "content-length"]
        if self.body or self.method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(self.body)}")
        if pool.proxy is not None and not pool.https:
            auth = pool.proxy_authorization()
            if auth:
                lines.append(f"Proxy-Authorization: {auth}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body

    def start(self) -> None:
        """Begin at once, in the caller's callback: on a pooled connection the request leaves now."""
        self.attempt.t0 = time.monotonic()
        self.waiting = True
        self.server.waiting += 1
        connection = self.server.pool.take()
        if connection is not None:
            self.attempt.reused = True
            self._send(connection)
        self.server.analyzer.begin(self.attempt, self.headers, self.body)

    def _send(self, connection) -> None:
        loop = asyncio.get_running_loop()
        self.connection, self.buffer, self.framing = connection, b"", None
        self.head, self.done = loop.create_future(), loop.create_future()
        connection.exchange = self
        connection.transport.write(self.request_bytes())

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
                        connection = await pool.connect(attempt)
                except UpstreamError as exc:
                    return self._unreachable(str(exc))
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
            except HTTPError:
                connection.close()
                return self._unreachable("the upstream's reply is not HTTP/1.1")
        outcome, detail = "ok", None
        try:
            outcome, detail = await self.done
        finally:
            if self.returned:
                pass
            elif outcome == "ok" and self.reusable and not self.client.gone:
                pool.give_back(connection)
            else:
                connection.exchange = None
                connection.close()
            analyzer.end(attempt, outcome, detail, time.monotonic())
        return outcome == "ok" and self.framing.kind != "close"

    def answered(self) -> None:
        """The client has its first bytes (or never will): analysis may use the CPU again."""
        if self.waiting:
            self.waiting = False
            self.server.waiting -= 1

    def _unreachable(self, detail: str) -> bool:
        self.server.analyzer.end(self.attempt, "upstream_unreachable", detail, time.monotonic())
        self.client.write(simple_response(502, error_body(f"ccprompt proxy: upstream unreachable: {detail}"),
                                          self.client.close_after))
        return True

    # -- called by the upstream connection ------------------------------------------------------

    def upstream_data(self, data: bytes) -> None:
        now = time.monotonic()
        if self.framing is None:
            self.buffer += data
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEADER_BYTES:
                    self.head.set_exception(HTTPError("head too long"))
                return
            try:
                (version, status, reason), headers = parse_head(self.buffer[:end])
                status = int(status)
                if 100 <= status < 200:  # an interim reply: the real one follows
                    rest, self.buffer = self.buffer[end + 4:], b""
                    if rest:
                        self.upstream_data(rest)
                    return
                self.framing = response_body(self.method, status, headers)
            except (HTTPError, ValueError):
                if not self.head.done():
                    self.head.set_exception(HTTPError("bad head"))
                return
            data, self.buffer = self.buffer[end + 4:], b""
            self.reusable = version == "HTTP/1.1" and "close" not in tokens(headers, "connection")
            forwarded = self._relay_head(status, reason, headers)
            self.head.set_result(None)
        else:
            forwarded = None
        if self.done.done():
            return
        payload, rest = self.framing.feed(data)
        raw = data[:len(data) - len(rest)] if rest else data
        if raw or self.client.held:
            self.client.write(raw)
            if raw:
                self.answered()
        # The analysis hears of it after the client has the bytes.
        if forwarded is not None:
            self.server.analyzer.response(self.attempt, status, reason, forwarded, now)
        if payload:
            self.server.analyzer.chunk(self.attempt, payload, now)
        if self.framing.done:
            if rest:
                self.reusable = False
            if self.reusable and not self.client.gone:
                # Back in the pool now, not a loop turn later: the client's next request may
                # already be on its way.
                self.server.pool.give_back(self.connection)
                self.returned = True
            self.done.set_result(("ok", None))

    def _relay_head(self, status: int, reason: str, headers) -> tuple:
        """Hold the client's head until the first body bytes (one packet); the forwarded headers."""
        forwarded = shown = forwardable(headers)
        kind = self.framing.kind
        if kind == "chunked":
            shown = tuple((n, v) for n, v in forwarded if n.lower() != "content-length")
        lines = [f"HTTP/1.1 {status} {reason}"] + [f"{name}: {value}" for name, value in shown]
        if kind == "chunked":
            lines.append("Transfer-Encoding: chunked")
        if kind == "close" or self.client.close_after:
            lines.append("Connection: close")
            self.client.close_after = True
        self.client.hold(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        return forwarded

    def upstream_lost(self, exc) -> None:
        if self.framing is None:
            if self.head is not None and not self.head.done():
                self.head.set_exception(_Closed())
            return
        if self.done.done():
            return
        self.reusable = False
        if self.framing.kind == "close":
            self.done.set_result(("ok", None))
            return
        # Broken off mid-body: close the client's connection too, so the truncation shows there.
        self.client.close_after = True
        self.client.abort_after_flush()
        self.done.set_result(("error", "upstream stream broken: the upstream closed the connection"))

    def client_lost(self) -> None:
        if self.head is not None and not self.head.done():
            self.head.set_exception(_Closed())
        if self.done is not None and not self.done.done():
            self.reusable = False
            self.done.set_result(("client_aborted", None))

    def pause(self) -> None:
        if self.connection is not None and self.connection.transport is not None:
            self.connection.transport.pause_reading()

    def resume(self) -> None:
        if self.connection is not None and self.connection.transport is not None:
            self.connection.transport.resume_reading()


class ClientProtocol(asyncio.Protocol):
    """One client connection: requests read in turn, each relayed by an Exchange."""

    def __init__(self, server) -> None:
        self.server = server
        self.transport = None
        self.buffer = b""
        self.request = None  # (method, path, headers, Body, parts, size) while its body arrives
        self.exchange = None
        self.task = None
        self.gone = False
        self.close_after = False
        self.held = b""

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.server.clients.add(self)

    def connection_lost(self, exc) -> None:
        self.gone = True
        self.server.clients.discard(self)
        if self.exchange is not None:
            self.exchange.client_lost()

    def pause_writing(self) -> None:
        if self.exchange is not None:
            self.exchange.pause()

    def resume_writing(self) -> None:
        if self.exchange is not None:
            self.exchange.resume()

    def hold(self, head: bytes) -> None:
        self.held = head

    def write(self, data: bytes) -> None:
        if self.held:
            data, self.held = self.held + data, b""
        if not self.gone:
            self.transport.write(data)

    def flush(self) -> None:
        if self.held:
            self.write(b"")

    def abort_after_flush(self) -> None:
        self.flush()
        if not self.gone:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.task is None:
            self._next()

    def _next(self) -> None:
        while self.task is None and not self.gone:
            if self.request is None:
                end = self.buffer.find(b"\r\n\r\n")
                if end < 0:
                    if len(self.buffer) > MAX_HEADER_BYTES:
                        self._fail(431, "ccprompt proxy: request head too large")
                    return
                try:
                    (method, path, version), headers = parse_head(self.buffer[:end])
                    body = request_body(headers)
                except HTTPError:
                    self._fail(400, "ccprompt proxy: not an HTTP/1.1 request")
                    return
                self.buffer = self.buffer[end + 4:]
                if body.kind == "length" and body.left > MAX_REQUEST_BODY:
                    self._fail(413, "ccprompt proxy: request body too large")
                    return
                if version != "HTTP/1.1" or "close" in tokens(headers, "connection"):
                    self.close_after = True
                self.request = (method, path, headers, body, [], 0)
                if (header(headers, "expect") or "").lower() == "100-continue" and not body.done and not self.buffer:
                    self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            method, path, headers, body, parts, size = self.request
            if not body.done:
                try:
                    payload, self.buffer = body.feed(self.buffer)
                except HTTPError:
                    self._fail(400, "ccprompt proxy: not an HTTP/1.1 request")
                    return
                parts.append(payload)
                size += len(payload)
                if size > MAX_REQUEST_BODY:
                    self._fail(413, "ccprompt proxy: request body too large")
                    return
                self.request = (method, path, headers, body, parts, size)
                if not body.done:
                    return
            self.request = None
            if path.split("?", 1)[0] == HEALTH_PATH and method in ("GET", "HEAD"):
                reply = json.dumps(self.server.health()).encode()
                self.transport.write(simple_response(200, reply, self.close_after, method == "HEAD"))
                if self.close_after:
                    self.transport.close()
                    return
                continue
            self.server.requests += 1
            self.exchange = Exchange(self.server, self, method, path, headers, b"".join(parts))
            self.exchange.start()
            self.task = asyncio.get_running_loop().create_task(self._serve(self.exchange))

    async def _serve(self, exchange: Exchange) -> None:
        try:
            again = await exchange.run()
        except Exception:  # noqa: BLE001 - a bug here must not leave the client hanging
            again = False
        finally:
            exchange.answered()
        self.flush()
        self.exchange = None
        self.task = None
        if not again or self.close_after:
            if not self.gone:
                self.transport.close()
            return
        if self.buffer:
            self._next()

    def _fail(self, status: int, message: str) -> None:
        self.transport.write(simple_response(status, error_body(message), True))
        self.transport.close()
        self.gone = True
