"""The watch loop's rules, pure: how long to wait after each kind of event.

`plan` takes what happened, the state it left, the clock and the settings and returns
the next consecutive-failure count and when to probe next, so every path through the
backoff is tested without sleeping.
"""

from __future__ import annotations

import random

from ccprompt.core.model import ANSWERED, MonitorState, Record, _slots
from ccprompt.core.schedule import backoff_s

DEFAULT_RETRY_S = 10.0
EVENTS = ("probe", "adopt", "error", "skip", "busy")


def next_delay(failures: int, interval_s: float, retry_s: float = DEFAULT_RETRY_S, rand=random.random) -> float:
    """Seconds until the next probe after `failures` consecutive failed probes: the one
    backoff rule the status line and the prompt follow too (`core.schedule.backoff_s`),
    with a random spread, so machines that failed together do not retry in step."""
    return backoff_s(failures, retry_s, interval_s, rand() if failures > 1 else 0.0)


def retry_after_s(state: MonitorState | None) -> float | None:
    """The server's `retry-after` in seconds from the recorded probe, when it gave one."""
    if state is None:
        return None
    try:
        seconds = float(str(state.network.retry_after).strip())
    except (TypeError, ValueError):
        return None
    return seconds if 0 < seconds < 86400 else None


class Plan(Record):
    """After an event: the consecutive failures, the wait, when the next probe is due, and
    the exit code `--once` should end with (None while the loop goes on)."""

    _fields = (("failures", 0), ("delay_s", 0.0), ("next_due_s", 0.0), ("once_code", None))
    __slots__ = _slots(_fields)


def plan(event: str, state: MonitorState | None, now_s: float, *, failures: int, interval_s: float,
         retry_s: float, seen_s: float | None = None, rand=random.random) -> Plan:
    """What follows `event`: "probe" (ours finished), "adopt" (another process probed at
    `seen_s`), "error" (the probe or the disk failed), "skip" (nothing could be probed) or
    "busy" (the lock stayed taken)."""
    if event not in EVENTS:
        raise ValueError(f"unknown watch event {event!r}")
    if event == "busy":
        return Plan(failures=failures, delay_s=retry_s, next_due_s=now_s + retry_s, once_code=1)
    if event == "skip":
        # Monitoring off or no credential: retrying sooner would not change that.
        return Plan(failures=failures, delay_s=interval_s, next_due_s=now_s + interval_s, once_code=2)
    ok = event != "error" and state is not None and state.status in ANSWERED
    failures = 0 if ok else failures + 1
    delay = next_delay(failures, interval_s, retry_s, rand)
    if failures and event != "error":
        # A 429 or 529 that says when to come back is obeyed, within the interval.
        delay = min(max(delay, retry_after_s(state) or 0), interval_s)
    start = seen_s if event == "adopt" and seen_s is not None else now_s
    return Plan(failures=failures, delay_s=delay, next_due_s=start + delay, once_code=0 if ok else 1)
