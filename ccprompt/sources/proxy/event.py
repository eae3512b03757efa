"""`AttemptEvent`: what the analysis learnt about one attempt, typed, for the recorder and requests.jsonl.

Built on the analysis thread (`AttemptState`), read by `passive.to_passive` as attributes, and
written by the sink as the JSON line `to_json()` makes (the fields docs/proxy.md lists). Nobody
parses it again.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

KINDS = ("response_start", "stall", "resumed", "attempt")


@dataclass(slots=True)
class AttemptEvent:
    """One event of one attempt: `response_start`, `stall`, `resumed` or the final `attempt`."""

    kind: str
    ts: float
    session_id: str | None = None
    request_id: str | None = None
    attempt: int = 1
    retry: int | None = None
    method: str = ""
    path: str = ""
    model_requested: str | None = None
    probe: bool = False
    status: int | None = None
    stream: bool = False
    error_type: str | None = None
    ttfb_headers_ms: float | None = None
    retry_after: str | None = None
    # stall and resumed
    phase: str | None = None
    idle_ms: float | None = None
    elapsed_ms: float | None = None
    # the final attempt
    model_served: str | None = None
    ttfb_first_event_ms: float | None = None
    duration_ms: float | None = None
    max_gap_ms: float | None = None
    stop_reason: str | None = None
    usage: dict | None = None
    tools: dict | None = None
    ratelimit: dict | None = None
    outcome: str | None = None
    events: int | None = None
    bytes: int = 0
    encoding: str | None = None
    upstream_conn: dict | None = None
    detail: str | None = None
    analysis: str | None = None
    extra: dict = field(default_factory=dict)  # nothing today: room for a field without a schema change

    @property
    def model(self) -> str | None:
        """The model served, else the one requested."""
        return self.model_served or self.model_requested

    def to_json(self) -> dict:
        """The requests.jsonl line: each kind's own fields, in the documented order."""
        data = {"kind": self.kind, "ts": self.ts, "session_id": self.session_id, "request_id": self.request_id,
                "attempt": self.attempt, "retry": self.retry, "method": self.method, "path": self.path,
                "model_requested": self.model_requested}
        if self.probe:
            data["probe"] = True
        if self.kind == "response_start":
            data.update(status=self.status, stream=self.stream, error_type=self.error_type,
                        ttfb_headers_ms=self.ttfb_headers_ms, retry_after=self.retry_after)
        elif self.kind in ("stall", "resumed"):
            data.update(status=self.status, phase=self.phase, idle_ms=self.idle_ms, elapsed_ms=self.elapsed_ms)
        else:
            data.update(model_served=self.model_served, stream=self.stream, status=self.status,
                        error_type=self.error_type, ttfb_headers_ms=self.ttfb_headers_ms,
                        ttfb_first_event_ms=self.ttfb_first_event_ms, duration_ms=self.duration_ms,
                        max_gap_ms=self.max_gap_ms, stop_reason=self.stop_reason, usage=self.usage,
                        tools=self.tools, ratelimit=self.ratelimit, retry_after=self.retry_after,
                        outcome=self.outcome, events=self.events, bytes=self.bytes)
            for name in ("encoding", "upstream_conn", "detail", "analysis"):
                value = getattr(self, name)
                if value:
                    data[name] = value
        data.update(self.extra)
        return data

    @classmethod
    def from_json(cls, data: dict) -> AttemptEvent:
        """Back from a requests.jsonl line (tests and tools); unknown keys land in `extra`."""
        known = {f.name for f in fields(cls)} - {"extra"}
        event = cls(kind=str(data.get("kind") or "attempt"), ts=float(data.get("ts") or 0))
        for name, value in data.items():
            if name in known:
                setattr(event, name, value)
            elif name not in ("kind", "ts"):
                event.extra[name] = value
        return event
