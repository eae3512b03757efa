"""One request relayed to the upstream, and its response back to the client.

The client's request has been read whole (bodies are JSON, at most 64 MB); it is sent on a pooled
upstream connection; a pooled connection the upstream had just closed is replaced once,
since nothing was answered and the body is still here. The response goes back as it
arrives (see `relay`). Failures to reach the upstream get an Anthropic-shaped 502.
"""

from __future__ import annotations

import json
import time

from .attempt import Attempt
from .heads import (BODY_METHODS, Fields, HTTPError, field_lines, forwardable, parse_head, quick_response,
                    response_lines, tokens)
from .relay import MAX_HEADER_BYTES, UpstreamError, framing, response_body

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

    def __init__(self, server, client, method: str, raw_path: str, headers, body: bytes, lines=None) -> None:
        """`headers` are parsed pairs (the careful way) or, with `lines` (the quick way), a `Fields`."""
        self.server = server
        self.client = client
        self.method = method
        self.raw_path = raw_path
        if lines is None:
            # Expect: 100-continue was answered here, with the body already read.
            self.headers = tuple((n, v) for n, v in forwardable(headers) if n.lower() != "expect")
            lines = field_lines((n, v) for n, v in self.headers if n.lower() != "content-length")
        else:
            self.headers = headers
        self.lines = lines  # the header lines sent on, without Host and Content-Length
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
        parts = [f"{self.method} {pool.target(self.raw_path)} HTTP/1.1\r\nHost: {pool.host_header}".encode("latin-1"),
                 self.lines]
        if self.body or self.method in BODY_METHODS:
            parts.append(b"\r\nContent-Length: %d" % len(self.body))
        if pool.proxy is not None and not pool.https:
            auth = pool.proxy_authorization()
            if auth:
                parts.append(f"\r\nProxy-Authorization: {auth}".encode("latin-1"))
        parts += (b"\r\n\r\n", self.body)
        return b"".join(parts)

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
        self.connection, self.buffer, self.framing = connection, b"", None
        connection.exchange = self
        connection.transport.write(self.request_bytes())
        # Nothing can arrive before this callback returns: the rest waits until the request is gone.
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
        response = None
        if self.framing is None:
            self.buffer = self.buffer + data if self.buffer else data
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEADER_BYTES:
                    self.head.set_exception(HTTPError("head too long"))
                return
            response = self._read_head(self.buffer[:end])
            if response is None:
                return
            data, self.buffer = self.buffer[end + 4:], b""
        elif self.done.done():
            return
        framing = self.framing
        try:
            if framing.kind == "chunked" and framing.chunked.open_at_end(data):
                # All of it belongs to this body: the client gets it first, the decoder after.
                self.client.write(data)
                payload, rest = framing.feed(data)
            else:
                payload, rest = framing.feed(data)
                self.client.write(data[:len(data) - len(rest)] if rest else data)
        except HTTPError:
            self._broken("the upstream's chunked framing is broken")
            return
        finally:
            if response is not None:
                self.head.set_result(None)
        if data:
            self.answered()
        # The analysis hears of it after the client has the bytes.
        analyzer = self.server.analyzer
        if response is not None:
            analyzer.response(self.attempt, response[0], response[1].decode("latin-1"), response[2], now)
        if payload:
            analyzer.chunk(self.attempt, payload, now)
        if framing.done:
            if rest:
                self.reusable = False
            if self.reusable and not self.client.gone:
                # Back in the pool now, not a loop turn later: the client's next request may
                # already be on its way.
                self.server.pool.give_back(self.connection)
                self.returned = True
            self.done.set_result(("ok", None))

    def _read_head(self, head: bytes):
        """Read the response head and hold the client's; (status, reason, forwarded headers), or
        None when this was an interim reply (handled) or a bad head."""
        quick = quick_response(head)
        if quick is not None:
            status, reason, length, chunked, lines = quick
            self.framing = framing(self.method, status, length, chunked)
            self.reusable = True
            forwarded = Fields(lines)
            lines = response_lines(lines, self.framing.kind == "chunked")
        else:
            try:
                (version, status, reason), headers = parse_head(head)
                status = int(status)
                if 100 <= status < 200:  # an interim reply: the real one follows
                    rest, self.buffer = self.buffer[len(head) + 4:], b""
                    if rest:
                        self.upstream_data(rest)
                    return None
                self.framing = response_body(self.method, status, headers)
            except (HTTPError, ValueError):
                if not self.head.done():
                    self.head.set_exception(HTTPError("bad head"))
                return None
            self.reusable = version == "HTTP/1.1" and "close" not in tokens(headers, "connection")
            forwarded = shown = forwardable(headers)
            if self.framing.kind == "chunked":
                shown = ((n, v) for n, v in forwarded if n.lower() != "content-length")
            reason, lines = reason.encode("latin-1"), field_lines(shown)
        self._relay_head(status, reason, lines)
        return status, reason, forwarded

    def _relay_head(self, status: int, reason: bytes, lines: bytes) -> None:
        """Hold the client's head until the first body bytes, so they leave in one packet."""
        parts = [b"HTTP/1.1 %d %s" % (status, reason), lines]
        kind = self.framing.kind
        if kind == "chunked":
            parts.append(b"\r\nTransfer-Encoding: chunked")
        if kind == "close" or self.client.close_after:
            parts.append(b"\r\nConnection: close")
            self.client.close_after = True
        parts.append(b"\r\n\r\n")
        self.client.hold(b"".join(parts))

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
        self._broken("the upstream closed the connection")

    def _broken(self, why: str) -> None:
        """Broken off mid-body: close the client's connection too, so the truncation shows there."""
        self.reusable = False
        self.client.close_after = True
        self.client.abort_after_flush()
        self.done.set_result(("error", "upstream stream broken: " + why))

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
