"""Real requests into the status line: analysis events become `Passive` records for the recorder.

The analysis thread hands each event to `PassiveRecorder`, which only converts it and
queues it; a thread of its own takes the state lock and writes. A slow or failing
write costs that record (counted), never a byte of the forwarded traffic nor the
analysis of the next stream. Only real `POST …/v1/messages` attempts count: ccprompt's
own probe passing through, `HEAD /` and token counting are left to requests.jsonl.

Passive latency is the real request's own (`ttfb_ms`) and is stored apart from the
probe's rolling figures, because a real request's time depends on its prompt.
"""

from __future__ import annotations

import collections
import threading
import time

from ccprompt.core.model import Passive
from ccprompt.core.text import redact_url

from .analysis import yield_to
from .event import AttemptEvent

QUEUE_LIMIT = 256
ENDPOINT_SUFFIX = "/v1/messages"


def endpoint_for(base_url: str) -> str:
    """`<base>/v1/messages`, redacted: the key the status line and the probe use for that base URL."""
    return redact_url(base_url.rstrip("/") + ENDPOINT_SUFFIX)


def is_real_request(event: AttemptEvent) -> bool:
    return event.method == "POST" and event.path.endswith(ENDPOINT_SUFFIX) and not event.probe


def to_passive(event: AttemptEvent, now_ms: int) -> Passive | None:
    """The record one event makes, or None when it says nothing about the API's health."""
    if not isinstance(event, AttemptEvent) or not is_real_request(event):
        return None
    kind = event.kind
    status = event.status if isinstance(event.status, int) else 0
    common = {"at_ms": now_ms, "attempt": event.attempt, "http_status": status, "model": event.model}
    if kind == "response_start":
        if status < 400:
            return None  # the attempt's end says whether the reply came through
        return Passive(outcome="error", error_type=event.error_type, ttfb_ms=event.ttfb_headers_ms,
                       retry_after=event.retry_after, **common)
    if kind == "attempt":
        outcome = event.outcome
        if outcome == "ok":
            return Passive(outcome="ok", ttfb_ms=event.ttfb_first_event_ms or event.ttfb_headers_ms, **common)
        if outcome in ("error", "upstream_unreachable"):
            return Passive(outcome="error", error_type=event.error_type, ttfb_ms=event.ttfb_headers_ms,
                           retry_after=event.retry_after, **common)
        return None  # the client went away: nothing learnt about the API
    if kind == "stall":
        return Passive(outcome="stall", stall_since_ms=max(0, int(now_ms - (event.idle_ms or 0))), **common)
    if kind == "resumed":
        return Passive(outcome="resumed", **common)
    return None


class PassiveRecorder:
    """Callable for `Analyzer(on_event=…)`: queues records and writes them on its own thread."""

    def __init__(self, paths, endpoints=(), *, record=None, limit: int = QUEUE_LIMIT, busy=None) -> None:
        if record is None:
            from ccprompt.sources.recorder import record_passive as record
        self.paths = paths
        self.endpoints = list(dict.fromkeys(endpoints))
        self.written = self.failed = self.dropped = self.coalesced = 0
        self.busy = busy  # true while the forwarding side has a request waiting for its first byte
        self._record = record
        self._queue: collections.deque = collections.deque()
        self._limit = limit
        self._cond = threading.Condition(threading.Lock())
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="ccprompt-proxy-passive", daemon=True)
        self._thread.start()

    def add_endpoint(self, endpoint: str) -> None:
        """Also write to this endpoint's state (the proxy's own URL, which sessions it serves read)."""
        endpoint = redact_url(endpoint)
        if endpoint not in self.endpoints:
            self.endpoints = self.endpoints + [endpoint]

    def __call__(self, event: AttemptEvent) -> None:
        passive = to_passive(event, int(time.time() * 1000))
        if passive is None:
            return
        with self._cond:
            if len(self._queue) >= self._limit:
                self._queue.popleft()  # the newest news matters most
                self.dropped += 1
            self._queue.append(passive)
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stopping:
                    self._cond.wait()
                if not self._queue:
                    return
                # The state keeps only the newest record, so what queued up behind it is written once.
                passive = self._queue.pop()
                self.coalesced += len(self._queue)
                self._queue.clear()
            for endpoint in self.endpoints:
                yield_to(self.busy)
                try:
                    ok = self._record(self.paths, endpoint, passive)
                except Exception:  # noqa: BLE001 - the recorder may fail; the proxy goes on
                    ok = False
                if ok:
                    self.written += 1
                else:
                    self.failed += 1

    def close(self, timeout: float = 2.0) -> None:
        """Write what is queued (within `timeout`), then stop."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join(timeout)

    def counts(self) -> dict:
        return {"passive_written": self.written, "passive_failed": self.failed, "passive_dropped": self.dropped,
                "passive_coalesced": self.coalesced}
