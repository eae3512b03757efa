"""A plain-http stand-in for the Messages API that streams SSE the way the real one does.

It serves the real Claude Code CLI (streamed ``POST /v1/messages?beta=true``) and
ccprompt's own probe (a non-streamed ``POST /v1/messages`` with ``max_tokens: 1``)
on 127.0.0.1. The test thread switches its mode at any time:

- ``ok``: answer at once;
- ``overloaded``: HTTP 529 with the API's ``overloaded_error`` body;
- ``stall``: send ``message_start`` and the first text delta, go quiet for
  ``seconds``, then finish the stream;
- ``slow_first_byte``: wait ``seconds`` before the status line, then answer.

A mode applies to the requests its ``scope`` names (``all``, ``stream`` for streamed
requests, ``main`` for streamed requests that carry tools, i.e. a conversation turn
rather than a title request); the others are answered ``ok``. Every request is
recorded with both clocks, so a test can line up what the server did with what
appeared on screen.

With ``require_key`` set, a Messages request that carries neither that ``x-api-key`` nor
that bearer token is answered 401 before any mode applies, as the real API's edge does:
that is what an anonymous probe gets. ``close_port()`` stops listening (new connections
are refused) and ``reopen_port()`` listens on the same port again: a network failure.

Requests are told apart by what they are, not by a version's user-agent: ccprompt's
probe names itself (``ccprompt/``, the product's own agent); every other Messages call
is Claude Code's.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

LOOPBACK = "127.0.0.1"
REPLY_TEXT = "pong"
MODES = ("ok", "overloaded", "stall", "slow_first_byte")
SCOPES = ("all", "stream", "main")
OVERLOADED_BODY = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
UNAUTHORIZED_BODY = {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}
MAX_HOLD_S = 600.0  # no handler outlives this, whatever the script says


@dataclass(frozen=True)
class Mode:
    name: str = "ok"
    seconds: float = 0.0
    scope: str = "all"

    def applies_to(self, request: "Request") -> bool:
        if self.scope == "all":
            return True
        if self.scope == "stream":
            return request.stream
        return request.stream and request.has_tools


@dataclass
class Request:
    """One request as received, and what it was answered with."""

    number: int
    time: float  # time.time() when the body had been read
    mono: float  # time.monotonic() at the same moment
    method: str
    path: str
    headers: dict  # lower-cased names
    model: str | None
    stream: bool
    has_tools: bool
    max_tokens: int | None
    user_agent: str
    request_id: str
    mode: str = "ok"  # the mode it was answered in
    status: int = 0  # the HTTP status sent (0 until sent)
    done_mono: float | None = None  # when the response was complete
    notes: list = field(default_factory=list)

    @property
    def is_claude_code(self) -> bool:
        """A Messages call that is not ccprompt's probe (whatever Claude Code's version calls itself)."""
        return self.is_messages and not self.is_ccprompt

    @property
    def is_ccprompt(self) -> bool:
        return self.user_agent.startswith("ccprompt/")

    @property
    def authenticated(self) -> bool:
        """It carried a credential at all (x-api-key or a bearer token)."""
        return bool(self.headers.get("x-api-key") or self.headers.get("authorization"))

    @property
    def is_messages(self) -> bool:
        return self.method == "POST" and self.path.split("?", 1)[0].endswith("/v1/messages")

    def summary(self) -> dict:
        return {
            "n": self.number, "t": round(self.mono, 3), "method": self.method, "path": self.path,
            "model": self.model, "stream": self.stream, "ua": self.user_agent, "mode": self.mode,
            "status": self.status, "key": self.authenticated,
        }


class SSEAPI:
    """Threaded HTTP server on 127.0.0.1; ``url`` is its base URL (``http://127.0.0.1:PORT``)."""

    def __init__(self, reply_text: str = REPLY_TEXT, require_key: str | None = None) -> None:
        self.reply_text = reply_text
        self.require_key = require_key
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._mode = Mode()
        self._requests: list[Request] = []
        self._numbers = itertools.count(1)
        self._stop = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port: int | None = None

    # -- lifecycle ---------------------------------------------------------

    def start(self, port: int = 0) -> "SSEAPI":
        server = _Server((LOOPBACK, port), _Handler)
        server.api = self
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"sseapi:{self.port}", daemon=True)
        self._thread.start()
        return self

    def _close_listener(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = None

    def stop(self) -> None:
        if self._server is None:
            return
        self._stop.set()  # releases handlers parked in a stall or a slow first byte
        self._close_listener()

    def close_port(self) -> float:
        """Stop listening: connections to the port are refused from now on. Returns when (monotonic)."""
        if self._server is not None:
            self._close_listener()
        return time.monotonic()

    def reopen_port(self, timeout: float = 10.0) -> float:
        """Listen on the same port again (retrying a moment if the kernel still holds it)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.start(self.port)
                return time.monotonic()
            except OSError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)

    @property
    def listening(self) -> bool:
        return self._server is not None

    def __enter__(self) -> "SSEAPI":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    # -- scripting ---------------------------------------------------------

    def set_mode(self, name: str, seconds: float = 0.0, scope: str = "all") -> float:
        """Switch the mode for requests arriving from now on; returns the monotonic switch time."""
        if name not in MODES:
            raise ValueError(f"unknown mode {name!r}, expected one of {MODES}")
        if scope not in SCOPES:
            raise ValueError(f"unknown scope {scope!r}, expected one of {SCOPES}")
        with self._lock:
            self._mode = Mode(name, float(seconds), scope)
            return time.monotonic()

    @property
    def mode(self) -> Mode:
        with self._lock:
            return self._mode

    # -- inspection --------------------------------------------------------

    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._requests)

    def messages(self, predicate: Callable[[Request], bool] | None = None) -> list[Request]:
        """Recorded Messages API calls, optionally filtered."""
        return [r for r in self.requests if r.is_messages and (predicate is None or predicate(r))]

    def claude_requests(self) -> list[Request]:
        return self.messages(lambda r: r.is_claude_code)

    def probes(self) -> list[Request]:
        """ccprompt's own probes, told apart by their user-agent."""
        return self.messages(lambda r: r.is_ccprompt)

    def wait_for(self, predicate: Callable[[Request], bool], timeout: float) -> Request:
        """The first recorded request matching ``predicate``, waiting up to ``timeout`` s for it."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for request in self._requests:
                    if predicate(request):
                        return request
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [r.summary() for r in self._requests]
                    raise AssertionError(f"no matching request within {timeout:.0f}s; received: {seen}")
                self._changed.wait(min(left, 0.5))

    # -- called from connection threads ------------------------------------

    def _record(self, handler: "_Handler", body: bytes) -> tuple[Request, Mode]:
        try:
            data = json.loads(body) if body else None
        except ValueError:
            data = None
        data = data if isinstance(data, dict) else {}
        headers = {name.lower(): value for name, value in handler.headers.items()}
        model = data.get("model")
        number = next(self._numbers)
        request = Request(
            number=number,
            time=time.time(),
            mono=time.monotonic(),
            method=handler.command,
            path=handler.path,
            headers=headers,
            model=model if isinstance(model, str) else None,
            stream=data.get("stream") is True,
            has_tools=bool(data.get("tools")),
            max_tokens=data.get("max_tokens") if isinstance(data.get("max_tokens"), int) else None,
            user_agent=headers.get("user-agent", ""),
            request_id=f"req_e2e{number:05d}",
        )
        with self._changed:
            mode = self._mode if request.is_messages and self._mode.applies_to(request) else Mode()
            request.mode = mode.name
            self._requests.append(request)
            self._changed.notify_all()
        return request, mode

    def _finished(self, request: Request, status: int) -> None:
        with self._changed:
            request.status = status
            request.done_mono = time.monotonic()
            self._changed.notify_all()

    def _sent_status(self, request: Request, status: int) -> None:
        with self._changed:
            request.status = status
            self._changed.notify_all()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 64
    api: SSEAPI

    def server_bind(self):
        # Skip HTTPServer's reverse lookup of the bound address.
        import socketserver

        socketserver.TCPServer.server_bind(self)
        self.server_name = LOOPBACK
        self.server_port = self.server_address[1]

    def handle_error(self, request, client_address):
        pass  # clients hanging up mid-stream is part of what these tests do


def _sse(event: str, data: dict) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def _usage(input_tokens: int, output_tokens: int) -> dict:
    return {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": 2048,
        "cache_read_input_tokens": 14336,
        "cache_creation": {"ephemeral_5m_input_tokens": 2048, "ephemeral_1h_input_tokens": 0},
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sseapi"
    sys_version = ""
    timeout = 30  # a silent client never pins a thread for long

    def log_message(self, format, *args):
        pass

    @property
    def api(self) -> SSEAPI:
        return self.server.api

    def do_HEAD(self):
        request, _ = self.api._record(self, b"")
        self.api._sent_status(request, 200)
        self.send_response(200)
        self.send_header("content-type", "text/plain")
        self.send_header("content-length", "0")
        self.end_headers()
        self.api._finished(request, 200)

    def do_GET(self):
        request, _ = self.api._record(self, b"")
        self._json(request, 404, {"type": "error", "error": {"type": "not_found_error", "message": "Not found"}})

    def do_POST(self):
        body = self._read_body()
        request, mode = self.api._record(self, body)
        path = self.path.split("?", 1)[0]
        if path.endswith("/v1/messages/count_tokens"):
            self._json(request, 200, {"input_tokens": 42})
            return
        if not request.is_messages:
            self._json(request, 404, {"type": "error", "error": {"type": "not_found_error", "message": "Not found"}})
            return
        stop = self.api._stop
        if self.api.require_key and not self._has_key(self.api.require_key):
            with self.api._changed:
                request.mode = "unauthorized"
            self._json(request, 401, dict(UNAUTHORIZED_BODY, request_id=request.request_id), reason="Unauthorized")
            return
        if mode.name == "overloaded":
            self._json(request, 529, dict(OVERLOADED_BODY, request_id=request.request_id), reason="Overloaded")
            return
        if mode.name == "slow_first_byte" and stop.wait(min(mode.seconds, MAX_HOLD_S)):
            return
        if request.stream:
            self._stream(request, mode)
        else:
            self._json(request, 200, self._message(request))

    def _has_key(self, key: str) -> bool:
        bearer = self.headers.get("authorization") or ""
        return self.headers.get("x-api-key") == key or bearer == f"Bearer {key}"

    # -- replies -------------------------------------------------------------

    def _message(self, request: Request) -> dict:
        text = self.api.reply_text
        if request.max_tokens == 1:
            text = text[:1]  # ccprompt's probe asks for one token
        return {
            "id": f"msg_e2e{request.number:05d}",
            "type": "message",
            "role": "assistant",
            "model": request.model or "claude-test",
            "content": [{"type": "text", "text": text}],
            "stop_reason": "max_tokens" if request.max_tokens == 1 else "end_turn",
            "stop_sequence": None,
            "usage": _usage(12, 1),
        }

    def _json(self, request: Request, status: int, data: dict, reason: str | None = None) -> None:
        payload = json.dumps(data).encode()
        self.api._sent_status(request, status)  # before any byte goes out, so a client never sees it unset
        self.send_response(status, reason)
        self.send_header("content-type", "application/json")
        self.send_header("request-id", request.request_id)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()
        self.api._finished(request, status)

    def _stream(self, request: Request, mode: Mode) -> None:
        self.api._sent_status(request, 200)
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("request-id", request.request_id)
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        text = self.api.reply_text
        half = max(1, len(text) // 2)
        message = {
            "id": f"msg_e2e{request.number:05d}", "type": "message", "role": "assistant",
            "model": request.model or "claude-test", "content": [], "stop_reason": None,
            "stop_sequence": None, "usage": _usage(12, 1),
        }
        try:
            self._chunk(_sse("message_start", {"type": "message_start", "message": message})
                        + _sse("content_block_start", {"type": "content_block_start", "index": 0,
                                                       "content_block": {"type": "text", "text": ""}})
                        + _sse("ping", {"type": "ping"})
                        + _delta(text[:half]))
            if mode.name == "stall":
                request.notes.append(("stall_start", time.monotonic()))
                if self.api._stop.wait(min(mode.seconds, MAX_HOLD_S)):
                    return
                request.notes.append(("stall_end", time.monotonic()))
            tail = _delta(text[half:]) if text[half:] else b""
            self._chunk(tail
                        + _sse("content_block_stop", {"type": "content_block_stop", "index": 0})
                        + _sse("message_delta", {"type": "message_delta",
                                                 "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                                 "usage": {"output_tokens": 2}})
                        + _sse("message_stop", {"type": "message_stop"}))
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            self.close_connection = True
            return
        self.api._finished(request, 200)

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline(1024).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline(16)
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length > 0 else b""


def _delta(text: str) -> bytes:
    return _sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                        "delta": {"type": "text_delta", "text": text}})
