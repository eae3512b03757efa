"""One attempt: what the forwarder knows of it (`Attempt`) and what the analysis learns (`AttemptState`).

`AttemptState` keeps numbers and names, never content, and builds the three event kinds:
`response_start`, the `stall`/`resumed` notices and the final `attempt`.
"""

from __future__ import annotations

import itertools
import json
import re
import time
import zlib

from ccprompt.core.signal import error_type_of

from .event import AttemptEvent
from .sse import SSEParser, decoder_for

JSON_BODY_LIMIT = 8 * 1024 * 1024  # decoded JSON bodies past this are not parsed
REQUEST_PARSE_LIMIT = 1024 * 1024  # request bodies up to this are parsed as JSON for `model`
MAX_TOOL_NAMES = 64
PROBE_AGENT = "ccprompt/"  # ccprompt's own probe: recorded in requests.jsonl, never as a real request

_MODEL_RE = re.compile(rb'"model"\s*:\s*"([^"\\]{1,200})"')
_SAFE_TEXT_RE = re.compile(r"[^\w.:/@+\-\[\] ]")


def clean_text(value, limit: int = 120):
    """A short identifier fit to store: None for non-strings, odd characters replaced."""
    if not isinstance(value, str) or not value:
        return None
    return _SAFE_TEXT_RE.sub("?", value[:limit])


class Attempt:
    """What the forwarding side knows about one request; shared, written only by the forwarder."""

    __slots__ = ("serial", "t0", "ts", "method", "path", "last_activity", "dropped", "conn", "reused", "ended")

    _serials = itertools.count(1)

    def __init__(self, method: str, path: str) -> None:
        self.serial = next(Attempt._serials)
        self.t0 = time.monotonic()
        self.ts = time.time()
        self.method = method
        self.path = path.split("?", 1)[0][:300]
        self.last_activity = self.t0
        self.dropped = False
        self.conn: dict | None = None  # phases of a new upstream connection, from client tracing
        self.reused = False  # the upstream connection came from the pool
        self.ended = False

    # What the analyzer notes, from the forwarding side, as it is handed each piece.

    def touch(self, at: float) -> None:
        self.last_activity = at

    def finish(self) -> None:
        self.ended = True

    def drop(self) -> bool:
        """The analysis skips the rest of this attempt; True the first time."""
        first, self.dropped = not self.dropped, True
        return first


class AttemptState:
    """Everything the analysis learns about one attempt. Keeps numbers and names, never content."""

    def __init__(self, attempt: Attempt, analyzer) -> None:
        self.attempt = attempt
        self.analyzer = analyzer
        self.session_id = None
        self.probe = False  # ccprompt's own probe, passing through
        self.retry_key = None
        self.failed_before = 0  # failed attempts of this same request just before this one
        self.retry = None
        self.model_requested = None
        self.model_served = None
        self.status = None
        self.request_id = None
        self.stream = False
        self.error_type = None
        self.t_headers = None
        self.t_first = None
        self.t_last_event = None
        self.max_gap = 0.0
        self.stop_reason = None
        self.usage: dict = {}
        self.tool_names: list = []
        self.tool_count = 0
        self.ratelimit: dict = {}
        self.retry_after = None
        self.encoding = None
        self.notes: list = []
        self.events = 0
        self.bytes = 0
        self.outcome = None
        self.detail = None
        self.t_end = None
        self.broken = False
        self.stalled = False
        self._decoder = None
        self._sse = None
        self._json = None
        self._capture_request = None
        self._capture_response = None
        self._capture_stem = None

    # -- inputs --------------------------------------------------------------------

    def on_request(self, headers, body: bytes) -> None:
        headers = _text(headers)
        encoded = False
        for name, value in headers:
            lower = name.lower()
            if lower == "x-claude-code-session-id":
                self.session_id = clean_text(value)
            elif lower == "x-stainless-retry-count":
                value = value.strip()
                self.retry = int(value) if value.isdigit() and len(value) < 6 else None
            elif lower == "content-encoding" and value.strip().lower() not in ("", "identity"):
                encoded = True
            elif lower == "user-agent" and value.startswith(PROBE_AGENT):
                self.probe = True
        if body and not encoded:
            self.model_requested = _requested_model(body)
        # The same request sent again after a failure is a retry, whatever the retry-count header
        # says (a client retrying on its own sends 0 each time). Kept in memory only, as a checksum.
        self.retry_key = (self.session_id, self.model_requested, len(body), zlib.crc32(body)) if body else None
        self.failed_before = self.analyzer.failures_before(self.retry_key)
        capture = self.analyzer.capture
        if capture is not None:
            self._capture_stem = capture.stem()
            handle = capture.open("request", self._capture_stem)
            if handle is not None:
                handle.head(f"{self.attempt.method} {self.attempt.path}", headers)
                handle.write(body)
                handle.close()

    def on_response(self, status: int, reason: str, headers, at: float) -> None:
        headers = _text(headers)
        self.status = status
        self.t_headers = at
        content_type = ""
        for name, value in headers:
            lower = name.lower()
            if lower == "request-id" or (lower == "x-request-id" and not self.request_id):
                self.request_id = clean_text(value)
            elif lower == "content-type":
                content_type = value.lower()
            elif lower == "content-encoding":
                self.encoding = value.strip().lower() or None
            elif lower == "retry-after":
                self.retry_after = clean_text(value, 40)
            elif lower.startswith("anthropic-ratelimit-"):
                _note_ratelimit(self.ratelimit, lower[len("anthropic-ratelimit-"):], value)
        self.stream = content_type.startswith("text/event-stream")
        self._decoder = decoder_for(self.encoding)
        if self._decoder is None:
            self.notes.append("encoding not parsed")
        elif self.stream:
            self._sse = SSEParser()
        elif "json" in content_type:
            self._json = bytearray()
        capture = self.analyzer.capture
        if capture is not None and self._capture_stem:
            self._capture_response = capture.open("response", self._capture_stem)
            if self._capture_response is not None:
                self._capture_response.head(f"HTTP {status} {reason}", headers)

    def on_chunk(self, data: bytes, at: float) -> None:
        self.bytes += len(data)
        if self._capture_response is not None:
            self._capture_response.write(data)
        if self.t_first is None and not self.stream:
            self.t_first = at
        if self.broken or self._decoder is None or (self._sse is None and self._json is None):
            return
        for piece in self._decoder(data):
            if self._sse is not None:
                for name, payload in self._sse.feed(piece):
                    self._on_sse_event(name, payload, at)
            elif self._json is not None:
                if len(self._json) + len(piece) > JSON_BODY_LIMIT:
                    self._json = None
                    self.notes.append("body too large to parse")
                    return
                self._json.extend(piece)

    def on_end(self, outcome: str, detail, at: float) -> None:
        self.t_end = at
        self.outcome = outcome
        self.detail = detail
        if self._capture_response is not None:
            self._capture_response.close()
            self.analyzer.capture.prune()
        if self._json and not self.broken:
            self._on_json_body(bytes(self._json))
        self._json = None
        if self._sse is not None and self._sse.oversized:
            self.notes.append(f"{self._sse.oversized} oversized line(s) skipped")
        if self._sse is not None and self._sse.malformed:
            self.notes.append(f"{self._sse.malformed} malformed event(s)")

    # -- parsing ---------------------------------------------------------------------

    def _on_sse_event(self, name: str, payload: str, at: float) -> None:
        if self.t_first is None:
            self.t_first = at
        elif self.t_last_event is not None:
            self.max_gap = max(self.max_gap, at - self.t_last_event)
        self.t_last_event = at
        self.events += 1
        if not payload:
            return
        try:
            data = json.loads(payload)
        except ValueError:
            self._sse.malformed += 1
            return
        if not isinstance(data, dict):
            self._sse.malformed += 1
            return
        kind = data.get("type") if isinstance(data.get("type"), str) else name
        if kind == "message_start":
            message = data.get("message")
            if isinstance(message, dict):
                self.model_served = clean_text(message.get("model")) or self.model_served
                _merge_usage(self.usage, message.get("usage"))
        elif kind == "content_block_start":
            block = data.get("content_block")
            if isinstance(block, dict) and block.get("type") in ("tool_use", "server_tool_use"):
                self._note_tool(block.get("name"))
        elif kind == "message_delta":
            delta = data.get("delta")
            if isinstance(delta, dict) and delta.get("stop_reason"):
                self.stop_reason = clean_text(delta.get("stop_reason"), 40)
            _merge_usage(self.usage, data.get("usage"))
        elif kind == "error":
            error = data.get("error")
            self.error_type = clean_text(error.get("type"), 60) if isinstance(error, dict) else "error"

    def _on_json_body(self, body: bytes) -> None:
        try:
            data = json.loads(body)
        except ValueError:
            self.notes.append("body is not JSON")
            return
        if not isinstance(data, dict):
            return
        error = data.get("error")
        if isinstance(error, dict):
            self.error_type = clean_text(error.get("type"), 60)
        self.model_served = clean_text(data.get("model")) or self.model_served
        if data.get("stop_reason"):
            self.stop_reason = clean_text(data.get("stop_reason"), 40)
        _merge_usage(self.usage, data.get("usage"))
        content = data.get("content")
        if isinstance(content, list):
            for block in content:
                if isinstance(block, dict) and block.get("type") in ("tool_use", "server_tool_use"):
                    self._note_tool(block.get("name"))

    def _note_tool(self, name) -> None:
        self.tool_count += 1
        name = clean_text(name, 64)
        if name and name not in self.tool_names and len(self.tool_names) < MAX_TOOL_NAMES:
            self.tool_names.append(name)

    # -- outputs ---------------------------------------------------------------------

    def _event(self, kind: str, **values) -> AttemptEvent:
        attempt = self.attempt
        return AttemptEvent(kind=kind, ts=round(attempt.ts, 3), session_id=self.session_id,
                            request_id=self.request_id,
                            attempt=max(1 if self.retry is None else self.retry + 1, self.failed_before + 1),
                            retry=self.retry, method=attempt.method, path=attempt.path,
                            model_requested=self.model_requested, probe=self.probe, status=self.status, **values)

    def start_event(self) -> AttemptEvent:
        return self._event("response_start", stream=self.stream,
                           error_type=error_type_of(self.status) if (self.status or 0) >= 400 else None,
                           ttfb_headers_ms=_ms(self.t_headers, self.attempt.t0), retry_after=self.retry_after)

    def notice(self, kind: str, now: float) -> AttemptEvent:
        return self._event(kind, phase="body" if self.t_headers is not None else "headers",
                           idle_ms=_ms(now, self.attempt.last_activity) if kind == "stall" else None,
                           elapsed_ms=_ms(now, self.attempt.t0))

    def final_event(self) -> AttemptEvent:
        attempt = self.attempt
        error_type = self.error_type
        if error_type is None and (self.status or 0) >= 400:
            error_type = error_type_of(self.status)
        outcome = self.outcome or "error"
        if outcome == "ok" and (error_type or (self.status or 0) >= 400):
            outcome = "error"
        if outcome == "upstream_unreachable" and error_type is None:
            error_type = "upstream_unreachable"
        notes = list(self.notes)
        if attempt.dropped:
            notes.append("analysis skipped part of the stream (queue full)")
        if self.broken:
            notes.append("analysis failed on this stream")
        return self._event(
            "attempt",
            model_served=self.model_served,
            stream=self.stream,
            error_type=error_type,
            ttfb_headers_ms=_ms(self.t_headers, attempt.t0),
            ttfb_first_event_ms=_ms(self.t_first, attempt.t0),
            duration_ms=_ms(self.t_end, attempt.t0),
            max_gap_ms=round(self.max_gap * 1000, 1) if self.events > 1 else None,
            stop_reason=self.stop_reason,
            usage=dict(self.usage) or None,
            tools={"count": self.tool_count, "names": list(self.tool_names)} if self.tool_count else None,
            ratelimit=dict(self.ratelimit) or None,
            retry_after=self.retry_after,
            outcome=outcome,
            events=self.events if self.stream else None,
            bytes=self.bytes,
            encoding=self.encoding,
            upstream_conn=dict(attempt.conn) if attempt.conn else None,
            detail=self.detail,
            analysis="; ".join(notes) if notes else None,
        )


def _text(headers) -> list:
    """Header pairs as read by httptools (bytes) as text, on the analysis thread."""
    return [(name.decode("latin-1"), value.decode("latin-1")) if isinstance(name, bytes) else (name, value)
            for name, value in headers]


def _ms(later, earlier):
    if later is None or earlier is None:
        return None
    return round((later - earlier) * 1000, 1)


def _requested_model(body: bytes):
    """The request's `model`, from a copy of the body; nothing else of the body is kept."""
    if len(body) <= REQUEST_PARSE_LIMIT:
        try:
            data = json.loads(body)
        except ValueError:
            return None
        return clean_text(data.get("model")) if isinstance(data, dict) else None
    # Too big to parse on every request: the first "model" key, which clients send first.
    match = _MODEL_RE.search(body, 0, REQUEST_PARSE_LIMIT)
    return clean_text(match.group(1).decode("utf-8", "replace")) if match else None


def _note_ratelimit(limits: dict, rest: str, value: str) -> None:
    for suffix in ("-remaining", "-limit"):
        if rest.endswith(suffix):
            value = value.strip()
            if value.isdigit() and len(value) < 20:
                limits.setdefault(rest[: -len(suffix)][:60], {})[suffix[1:]] = int(value)
            return


_USAGE_FIELDS = (("input_tokens", "input"), ("output_tokens", "output"),
                 ("cache_read_input_tokens", "cache_read"), ("cache_creation_input_tokens", "cache_creation"))


def _merge_usage(usage: dict, raw) -> None:
    """Later figures win: message_delta carries the final, cumulative counts."""
    if not isinstance(raw, dict):
        return
    for source, target in _USAGE_FIELDS:
        value = raw.get(source)
        if isinstance(value, int) and not isinstance(value, bool):
            usage[target] = value
    by_ttl = raw.get("cache_creation")
    if isinstance(by_ttl, dict):
        for source, target in (("ephemeral_5m_input_tokens", "cache_creation_5m"),
                               ("ephemeral_1h_input_tokens", "cache_creation_1h")):
            value = by_ttl.get(source)
            if isinstance(value, int) and not isinstance(value, bool):
                usage[target] = value
