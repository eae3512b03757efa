"""The stream observer: turns a copy of each attempt's traffic into one redacted event, on its own thread.

The forwarding side only ever calls the non-blocking `Analyzer.begin/response/chunk/end`;
they enqueue references to immutable bytes under a byte budget and never raise. Parsing,
decompression, the callback and the disk all happen on the analysis thread, where every
failure is caught and counted. When the budget is exhausted an attempt's remaining chunks
are dropped from analysis (its event says so); the client's bytes are never touched.

Parsing is in `sse` (decoding, SSE) and `attempt` (what one attempt's event says).
Event kinds: `response_start` (status known: a failing attempt can be shown at once),
`stall` / `resumed` (no bytes for more than `stall_s`), and `attempt`, exactly one per
attempt, written when it ends. `attempt` is 1-based: X-Stainless-Retry-Count + 1.
"""

from __future__ import annotations

import collections
import threading
import time

from .attempt import Attempt, AttemptState, clean_text
from .event import AttemptEvent
from .sink import CaptureWriter, Counters, JsonlSink
from .sse import SSEParser

__all__ = ("Analyzer", "Attempt", "AttemptEvent", "AttemptState", "SSEParser", "STALL_S", "clean_text", "yield_to")

STALL_S = 30.0
QUEUE_BUDGET_BYTES = 16 * 1024 * 1024
RETRY_MEMORY = 512  # requests whose consecutive failures are remembered
YIELD_STEP_S = 0.0002
YIELD_MAX_S = 0.05  # background work never waits longer than this for the forwarding side


def yield_to(busy) -> None:
    """Wait while `busy()` says a request is waiting for its first byte (at most YIELD_MAX_S).

    Background work in the proxy (analysis, state writes) holds the interpreter while it runs;
    a request that arrives meanwhile would wait for it. This runs between two pieces of that
    work, so the forwarding side gets the interpreter first.
    """
    if busy is None:
        return
    deadline = None
    try:
        while busy():
            now = time.monotonic()
            if deadline is None:
                deadline = now + YIELD_MAX_S
            elif now >= deadline:
                return
            time.sleep(YIELD_STEP_S)
    except Exception:  # noqa: BLE001 - never let this stop the work
        return


class _Feed:
    """A FIFO bounded by the bytes it holds. Control messages always fit; chunks may not."""

    def __init__(self, budget_bytes: int) -> None:
        self._items: collections.deque = collections.deque()
        self._cond = threading.Condition(threading.Lock())
        self._held = 0
        self._budget = budget_bytes

    def offer(self, item, size: int = 0, wake: bool = False) -> bool:
        """Queue an item. Only `wake` items rouse the worker at once; the rest wait for its next tick,
        so the thread handover happens between requests, not in the middle of one."""
        with self._cond:
            if size and self._held + size > self._budget:
                return False
            self._held += size
            self._items.append((item, size))
            if wake:
                self._cond.notify()
        return True

    def take(self, timeout: float):
        with self._cond:
            if not self._items and not self._cond.wait(timeout):
                return None
            if not self._items:
                return None
            item, size = self._items.popleft()
            self._held -= size
            return item


class Analyzer:
    """Owns the analysis thread. All public methods are safe to call from the event loop."""

    def __init__(self, *, events_path: str | None, on_event=None, capture_dir: str | None = None,
                 stall_s: float = STALL_S, budget_bytes: int = QUEUE_BUDGET_BYTES,
                 counters: Counters | None = None, busy=None) -> None:
        self.counters = counters or Counters()
        self.sink = JsonlSink(events_path, self.counters)
        self.capture = CaptureWriter(capture_dir, self.counters) if capture_dir else None
        self.on_event = on_event
        self.busy = busy
        self.stall_s = float(stall_s)
        self._feed = _Feed(budget_bytes)
        self._states: dict = {}
        self._failures: dict = {}  # retry key -> consecutive failed attempts (analysis thread only)
        self._thread = threading.Thread(target=self._run, name="ccprompt-proxy-analysis", daemon=True)
        self._stopping = False
        self._thread.start()

    # -- the forwarding side: never blocks, never raises -------------------------

    def begin(self, attempt: Attempt, headers, body: bytes) -> None:
        try:
            if self._feed.offer(("begin", attempt, headers, body), len(body)):
                return
        except Exception:  # noqa: BLE001
            pass
        # No room for the body copy: the attempt is still counted, without a requested model.
        self._offer(attempt, ("begin", attempt, headers, b""), 0)

    def response(self, attempt: Attempt, status: int, reason: str, headers, at: float) -> None:
        # A failing status is news for the status line right away.
        self._offer(attempt, ("response", attempt, status, reason, headers, at), 0, wake=status >= 400)

    def chunk(self, attempt: Attempt, data: bytes, at: float) -> None:
        attempt.touch(at)
        if not attempt.dropped:
            self._offer(attempt, ("chunk", attempt, data, at), len(data))

    def end(self, attempt: Attempt, outcome: str, detail: str | None, at: float) -> None:
        attempt.finish()
        self._offer(attempt, ("end", attempt, outcome, detail, at), 0, wake=True)

    def _offer(self, attempt: Attempt, item, size: int, wake: bool = False) -> None:
        try:
            if not self._feed.offer(item, size, wake):
                if attempt.drop():
                    self.counters.analysis_dropped += 1
        except Exception:  # noqa: BLE001 - forwarding must go on whatever happens here
            attempt.drop()

    def close(self, timeout: float = 2.0) -> None:
        self._stopping = True
        self._feed.offer(None, 0, wake=True)
        self._thread.join(timeout)

    def in_flight(self) -> int:
        return len(self._states)

    # -- the analysis thread ----------------------------------------------------

    def _run(self) -> None:
        tick = max(0.05, min(0.5, self.stall_s / 4))
        next_check = time.monotonic() + tick
        while True:
            try:
                item = self._feed.take(tick)
            except Exception:  # noqa: BLE001
                item = None
            if item is None and self._stopping:
                return
            if item is not None:
                yield_to(self.busy)
                self._handle(item)
            now = time.monotonic()
            if now >= next_check:
                next_check = now + tick
                self._check_stalls(now)

    def _handle(self, item) -> None:
        kind = state = None
        try:
            kind, attempt = item[0], item[1]
            state = self._states.get(attempt.serial)
            if kind == "begin":
                state = AttemptState(attempt, self)
                self._states[attempt.serial] = state
                state.on_request(item[2], item[3])
            elif state is None:
                return
            elif kind == "response":
                state.on_response(item[2], item[3], item[4], item[5])
                self._emit(state.start_event())
            elif kind == "chunk":
                if state.stalled:
                    state.stalled = False
                    self._emit(state.notice("resumed", item[3]))
                state.on_chunk(item[2], item[3])
            elif kind == "end":
                self._states.pop(attempt.serial, None)
                state.on_end(item[2], item[3], item[4])
                event = state.final_event()
                self._note_result(state.retry_key, event)
                self._emit(event)
        except Exception:  # noqa: BLE001 - a hostile stream ends its own analysis, nothing else
            self.counters.analysis_errors += 1
            if state is not None:
                state.broken = True
                if kind == "end":
                    self._emit_safely(state)

    def failures_before(self, key) -> int:
        """How many attempts of this request (session, model, body checksum) failed in a row just now."""
        return self._failures.get(key, 0) if key is not None else 0

    def _note_result(self, key, event: AttemptEvent) -> None:
        if key is None or event.outcome == "client_aborted":
            return
        if event.outcome == "ok":
            self._failures.pop(key, None)
            return
        self._failures[key] = self._failures.pop(key, 0) + 1
        while len(self._failures) > RETRY_MEMORY:
            self._failures.pop(next(iter(self._failures)))

    def _emit_safely(self, state) -> None:
        try:
            self._emit(state.final_event())
        except Exception:  # noqa: BLE001
            self.counters.analysis_errors += 1

    def _check_stalls(self, now: float) -> None:
        for state in list(self._states.values()):
            try:
                attempt = state.attempt
                if attempt.ended or state.stalled:
                    continue
                idle = now - attempt.last_activity
                if idle > self.stall_s:
                    state.stalled = True
                    self._emit(state.notice("stall", now))
            except Exception:  # noqa: BLE001
                self.counters.analysis_errors += 1

    def _emit(self, event: AttemptEvent) -> None:
        if event.kind != "response_start":
            self.sink.write(event.to_json())
        callback = self.on_event
        if callback is not None:
            try:
                callback(event)
            except Exception:  # noqa: BLE001 - the recorder hook may fail; the proxy goes on
                self.counters.callback_errors += 1
