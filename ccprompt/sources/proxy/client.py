"""One client connection: its requests read in turn, each relayed by an `Exchange`.

A request head in the usual form is read the quick way (`heads.quick_request`); a request
whose body is all here already leaves for the upstream in the callback that read it.
`GET /__ccprompt/health` is answered here. Malformed requests get one JSON error and the
connection closes.
"""

from __future__ import annotations

import asyncio
import json

from .exchange import HEALTH_PATH, Exchange, error_body, simple_response
from .heads import Fields, HTTPError, header, parse_head, quick_request, tokens
from .relay import MAX_HEADER_BYTES, MAX_REQUEST_BODY, Body, request_body


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
                head = self.buffer[:end]
                quick = quick_request(head)
                if quick is not None:
                    method, path, lines, length, raw = quick
                    body = Body("length", length)
                    headers = Fields(raw)  # a quick request has no Expect
                else:
                    try:
                        (method, path, version), headers = parse_head(head)
                        body = request_body(headers)
                    except HTTPError:
                        self._fail(400, "ccprompt proxy: not an HTTP/1.1 request")
                        return
                    lines = None
                    if version != "HTTP/1.1" or "close" in tokens(headers, "connection"):
                        self.close_after = True
                self.buffer = self.buffer[end + 4:]
                if body.kind == "length" and body.left > MAX_REQUEST_BODY:
                    self._fail(413, "ccprompt proxy: request body too large")
                    return
                self.request = (method, path, headers, body, [], 0, lines)
                if (lines is None and (header(headers, "expect") or "").lower() == "100-continue" and not body.done
                        and not self.buffer):
                    self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            method, path, headers, body, parts, size, lines = self.request
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
                self.request = (method, path, headers, body, parts, size, lines)
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
            self.exchange = Exchange(self.server, self, method, path, headers, b"".join(parts), lines)
            self.exchange.start()
            self.task = self.server.loop.create_task(self._serve(self.exchange))

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
