"""Scriptable HTTPS stand-in for the Anthropic Messages API, served on 127.0.0.1."""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, fields
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any, Iterable, Mapping

from ._server import MAX_HOLD_S, BackgroundServer, TLSHTTPServer
from .tls import LocalCA

DEFAULT_MODEL = "claude-test"

# Error "type" the real API uses for each status code.
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}

ERROR_MESSAGES = {
    401: "invalid x-api-key",
    429: "Number of request tokens has exceeded your per-minute rate limit",
    500: "Internal server error",
    529: "Overloaded",
}

# http.server only knows IANA reason phrases; 529 is Anthropic-specific.
REASON_PHRASES = {529: "Overloaded"}


@dataclass(frozen=True)
class Reply:
    """One scripted answer; the fields mirror the keyword arguments of FakeAPI.respond()."""

    status: int = 200
    body: Any = None  # None: Anthropic-shaped default; dict/list: JSON; str/bytes: sent verbatim
    headers: Mapping[str, str] | None = None  # added to / overriding the defaults (case-insensitive)
    delay_s: float = 0.0  # wait before the status line, i.e. slow time-to-first-byte
    hang: bool = False  # read the request, never answer
    close_without_reply: bool = False  # read the request, then drop the connection

    @classmethod
    def of(cls, spec: Reply | Mapping[str, Any] | int) -> Reply:
        """Build from a Reply, a dict of respond() kwargs, or a bare status code."""
        if isinstance(spec, Reply):
            return spec
        if isinstance(spec, int):
            return cls(status=spec)
        return cls(**spec)  # unknown keys raise TypeError here, in the test thread


@dataclass(frozen=True)
class RecordedRequest:
    """A request as the fake API received it. Also readable like a dict: ``req["path"]``."""

    method: str
    path: str
    headers: dict[str, str]  # lower-cased names; repeated headers joined with ", "
    body: bytes
    json: Any  # parsed body, or None when it is empty or not JSON
    time: float  # time.time() once the body was read
    request_id: str  # the request-id this request was (or would have been) answered with

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def __getitem__(self, key: str) -> Any:
        if key not in {f.name for f in fields(self)}:
            raise KeyError(key)
        return getattr(self, key)


def _lookup_host() -> str:
    """This machine's name if the resolver maps it to loopback, else ``localhost``."""
    name = socket.gethostname()
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(name, 443, socket.AF_INET, socket.SOCK_STREAM)}
    except OSError:
        return "localhost"
    if name and addresses and all(a.startswith("127.") for a in addresses):
        return name
    return "localhost"


LOOKUP_HOST = _lookup_host()


class FakeAPI(BackgroundServer):
    """Threaded HTTPS server on 127.0.0.1 answering as scripted and recording every request.

    ``url`` is ``https://<host>:<port>`` where the host is this machine's own name when
    /etc/hosts maps it to loopback: libcurl answers ``localhost`` without a lookup, and the
    probe's DNS phase should be a real one. ``localhost`` is used otherwise and also
    matches the certificate. Clients must trust ``ca_file``.
    The script may be changed from the test thread at any time.
    """

    def __init__(self, ca: LocalCA | None = None, default_model: str = DEFAULT_MODEL) -> None:
        super().__init__()
        self.ca = ca if ca is not None else LocalCA.create()
        self.ca_file = self.ca.ca_file
        self.default_model = default_model
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._default = Reply()
        self._queue: deque[Reply] = deque()
        self._requests: list[RecordedRequest] = []
        self._ids = itertools.count(1)

    def _make_server(self) -> TLSHTTPServer:
        names = ["localhost", "127.0.0.1"]
        if LOOKUP_HOST != "localhost":
            names.append(LOOKUP_HOST)
        context = self.ca.server_context(*names)
        return TLSHTTPServer(_FakeAPIHandler, self, context)

    @property
    def url(self) -> str:
        return super().url.replace("://localhost:", f"://{LOOKUP_HOST}:", 1)

    @property
    def messages_url(self) -> str:
        return f"{self.url}/v1/messages"

    # -- scripting ---------------------------------------------------------

    def respond(
        self,
        status: int = 200,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        delay_s: float = 0.0,
        hang: bool = False,
        close_without_reply: bool = False,
    ) -> None:
        """Set the default reply, used whenever the respond_sequence() queue is empty."""
        reply = Reply(status, body, dict(headers or {}), delay_s, hang, close_without_reply)
        with self._lock:
            self._default = reply

    def respond_sequence(self, replies: Iterable[Reply | Mapping[str, Any] | int]) -> None:
        """Replace the queue of one-shot replies, consumed one per request in order.

        Items are dicts of respond() kwargs (or bare status codes). Once the queue
        runs dry, requests get the respond() default again.
        """
        parsed = [Reply.of(spec) for spec in replies]
        with self._lock:
            self._queue = deque(parsed)

    def reset(self) -> None:
        """Forget recorded requests and the script; back to plain 200s."""
        with self._lock:
            self._default = Reply()
            self._queue.clear()
            self._requests.clear()

    # -- inspection --------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Snapshot of every request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self._requests)

    @property
    def last_request(self) -> RecordedRequest | None:
        with self._lock:
            return self._requests[-1] if self._requests else None

    def wait_for_requests(self, n: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until at least ``n`` requests arrived; return them, or fail after ``timeout`` s."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self._requests) >= n, timeout):
                raise AssertionError(
                    f"FakeAPI expected >= {n} request(s) within {timeout}s, got {len(self._requests)}"
                )
            return list(self._requests)

    # -- called from connection threads ------------------------------------

    def _accept(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[RecordedRequest, Reply]:
        """Record one request and pick its reply, atomically so sequences stay in order."""
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        with self._lock:
            request_id = f"req_test{next(self._ids):04d}"
            record = RecordedRequest(method, path, headers, body, parsed, time.time(), request_id)
            self._requests.append(record)
            reply = self._queue.popleft() if self._queue else self._default
            self._arrived.notify_all()
        return record, reply

    def _render_body(self, reply: Reply, request: RecordedRequest) -> bytes:
        body = reply.body
        if body is None:
            body = self._default_body(reply.status, request)
        if isinstance(body, bytes):
            return body
        if isinstance(body, str):
            return body.encode("utf-8")
        return json.dumps(body).encode("utf-8")

    def _default_body(self, status: int, request: RecordedRequest) -> dict[str, Any]:
        if status >= 400:
            error_type = ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
            message = ERROR_MESSAGES.get(status, _reason(status) or "error")
            return {
                "type": "error",
                "error": {"type": error_type, "message": message},
                "request_id": request.request_id,
            }
        model = request.json.get("model") if isinstance(request.json, dict) else None
        return {
            "id": "msg_test" + request.request_id.removeprefix("req_test"),
            "type": "message",
            "role": "assistant",
            "model": model if isinstance(model, str) else self.default_model,
            "content": [{"type": "text", "text": "Hi"}],
            "stop_reason": "max_tokens",
            "stop_sequence": None,
            "usage": {"input_tokens": 8, "output_tokens": 1},
        }


def _reason(status: int) -> str:
    if status in REASON_PHRASES:
        return REASON_PHRASES[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


class _FakeAPIHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fakeapi"
    sys_version = ""

    def log_message(self, format, *args):
        pass  # per-request lines on stderr would drown test output

    def do_POST(self):
        self._serve()

    do_GET = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_POST

    def _serve(self) -> None:
        api: FakeAPI = self.server.owner
        stop = self.server.stop_event
        self.close_connection = True  # one request per connection keeps the script easy to reason about

        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        request, reply = api._accept(self.command, self.path, headers, self._read_body())

        if reply.delay_s > 0 and stop.wait(reply.delay_s):
            return  # server stopping: drop the connection rather than answer late
        if reply.hang:
            stop.wait(MAX_HOLD_S)
            return
        if reply.close_without_reply:
            self._close_tls_cleanly()
            return

        body = api._render_body(reply, request)
        out = {
            "content-type": "application/json",
            "request-id": request.request_id,
            "content-length": str(len(body)),
            "connection": "close",
        }
        # Overrides may replace defaults (even content-length, to fake a truncated body).
        out.update({name.lower(): str(value) for name, value in (reply.headers or {}).items()})

        self.send_response(reply.status, _reason(reply.status))
        for name, value in out.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def _close_tls_cleanly(self) -> None:
        # Sending close_notify makes this an orderly close, which clients report
        # as an empty reply (curl 52) instead of a truncated TLS stream (curl 56).
        self.connection.settimeout(1.0)  # unwrap() then waits briefly for the client's close_notify
        try:
            self.connection.unwrap()
        except OSError:
            pass

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes:
        chunks = []
        for _ in range(100_000):  # bounded: a test body is never this many chunks
            size = int(self.rfile.readline(1024).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                break
            chunks.append(self.rfile.read(size))
            self.rfile.readline(16)  # CRLF after each chunk
        for _ in range(100):  # trailer section ends with an empty line
            if self.rfile.readline(8192) in (b"\r\n", b"\n", b""):
                break
        return b"".join(chunks)
