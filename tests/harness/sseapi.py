"""A keep-alive HTTPS upstream that streams scripted SSE (or JSON, or garbage) at a fixed pace, on 127.0.0.1."""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Sequence

from ._server import MAX_HOLD_S, BackgroundServer, TLSHTTPServer
from .tls import LocalCA


def sse(event: str, data) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return f"event: {event}\ndata: {payload}\n\n".encode()


def message_stream(n_deltas: int = 5, model: str = "claude-test-served", tool: str | None = "Bash",
                   text: str = "word ") -> list:
    """A realistic Messages stream: start, text deltas, optionally one tool_use, delta with usage, stop."""
    events = [sse("message_start", {"type": "message_start", "message": {
        "id": "msg_stream", "type": "message", "role": "assistant", "model": model, "content": [],
        "stop_reason": None, "usage": {"input_tokens": 12, "output_tokens": 1, "cache_read_input_tokens": 100,
                                       "cache_creation_input_tokens": 40,
                                       "cache_creation": {"ephemeral_5m_input_tokens": 30,
                                                          "ephemeral_1h_input_tokens": 10}}}}),
              sse("content_block_start", {"type": "content_block_start", "index": 0,
                                          "content_block": {"type": "text", "text": ""}}),
              sse("ping", {"type": "ping"})]
    for i in range(n_deltas):
        events.append(sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                  "delta": {"type": "text_delta", "text": f"{text}{i} "}}))
    events.append(sse("content_block_stop", {"type": "content_block_stop", "index": 0}))
    stop = "end_turn"
    if tool:
        stop = "tool_use"
        events += [
            sse("content_block_start", {"type": "content_block_start", "index": 1, "content_block": {
                "type": "tool_use", "id": "toolu_1", "name": tool, "input": {}}}),
            sse("content_block_delta", {"type": "content_block_delta", "index": 1, "delta": {
                "type": "input_json_delta", "partial_json": "{\"command\": \"ls -la /secret-tool-input\"}"}}),
            sse("content_block_stop", {"type": "content_block_stop", "index": 1}),
        ]
    events += [
        sse("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                              "usage": {"output_tokens": 42}}),
        sse("message_stop", {"type": "message_stop"}),
    ]
    return events


@dataclass(frozen=True)
class Script:
    """One scripted answer.

    ``chunks`` are written one by one, ``interval_s`` apart, as HTTP chunks (``chunked``) or,
    with ``length=True``, under a Content-Length. ``stall_after``/``stall_s`` pause mid-body;
    ``cut_after`` drops the connection after that many chunks.
    """

    status: int = 200
    chunks: Sequence[bytes] = ()
    headers: Sequence[tuple] = (("content-type", "text/event-stream"),)
    interval_s: float = 0.0
    length: bool = False
    stall_after: int | None = None
    stall_s: float = 0.0
    cut_after: int | None = None
    reason: str | None = None


def json_script(body, status: int = 200, gzipped: bool = False, extra_headers=()) -> Script:
    raw = json.dumps(body).encode()
    headers = [("content-type", "application/json")]
    if gzipped:
        raw = gzip.compress(raw)
        headers.append(("content-encoding", "gzip"))
    return Script(status=status, chunks=[raw], headers=tuple(headers) + tuple(extra_headers), length=True)


@dataclass
class SeenRequest:
    method: str
    path: str
    headers: list  # (name, value) exactly as received, in order
    body: bytes
    connection: int  # serial of the TCP connection it came on


@dataclass
class Timeline:
    """When each chunk of one reply was handed to the socket (time.monotonic())."""

    sent: list = field(default_factory=list)


class SSEUpstream(BackgroundServer):
    """HTTPS on 127.0.0.1 with keep-alive: answers from a script queue (or the default), records requests."""

    def __init__(self, ca: LocalCA, default: Script | None = None) -> None:
        super().__init__()
        self.ca = ca
        self.ca_file = ca.ca_file
        self.default = default or Script(chunks=message_stream())
        self._queue: deque = deque()
        self._lock = threading.Lock()
        self.seen: list[SeenRequest] = []
        self.timelines: list[Timeline] = []

    def _make_server(self):
        return TLSHTTPServer(_Handler, self, self.ca.server_context("localhost", "127.0.0.1"))

    def script(self, *scripts: Script) -> None:
        with self._lock:
            self._queue.extend(scripts)

    def _next(self, request: SeenRequest) -> tuple[Script, Timeline]:
        with self._lock:
            self.seen.append(request)
            script = self._queue.popleft() if self._queue else self.default
            timeline = Timeline()
            self.timelines.append(timeline)
            return script, timeline

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sseapi"
    sys_version = ""

    def log_message(self, format, *args):
        pass

    def setup(self):
        super().setup()
        # Headers and body go out as separate writes: without this, Nagle's algorithm and the
        # peer's delayed ACK would add 40 ms to every small reply and swamp what is measured.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.serial = self.server.owner.connection_count

    def do_POST(self):
        owner: SSEUpstream = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        seen = SeenRequest(self.command, self.path, list(self.headers.items()), body, self.serial)
        script, timeline = owner._next(seen)
        self.send_response(script.status, script.reason)
        for name, value in script.headers:
            self.send_header(name, value)
        self.send_header("request-id", f"req_sse{len(owner.seen):04d}")
        total = b"".join(script.chunks)
        if script.length:
            self.send_header("content-length", str(len(total)))
        else:
            self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        if self.command == "HEAD":
            self.wfile.flush()
            return
        stop = self.server.stop_event
        for index, chunk in enumerate(script.chunks):
            if script.cut_after is not None and index >= script.cut_after:
                self.wfile.flush()
                self.close_connection = True
                self.connection.close()
                return
            if index and script.interval_s and stop.wait(script.interval_s):
                return
            if script.stall_after is not None and index == script.stall_after:
                if stop.wait(min(script.stall_s, MAX_HOLD_S)):
                    return
            self.wfile.write(chunk if script.length else b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.flush()
            timeline.sent.append(time.monotonic())
        if not script.length:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    do_GET = do_PUT = do_DELETE = do_HEAD = do_POST
