"""The doctor's registry: checks declared with a stable id and title, run in order, within one budget.

A check is a function of the `Context` that returns a `Finding` (the level, what was
seen, the fix). The registry stamps the declared id and title on it, so a check that
raises is still reported under its own id, and `--json` ids never depend on how the
code is organised.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

OK, WARN, FAIL = "ok", "warn", "fail"
MARKS = {OK: "✓", WARN: "!", FAIL: "✗"}
COLORS = {OK: "32", WARN: "33", FAIL: "31"}

BUDGET_S = 20.0  # doctor as a whole
NET_TIMEOUT_S = 5.0  # each network step (DNS, TCP, TLS, the Date read)


@dataclass(frozen=True)
class Finding:
    """What a check saw: the level, one line of detail, and for ! and ✗ the fix."""

    level: str
    detail: str
    fix: str = ""
    data: dict = field(default_factory=dict)


def ok(detail: str, data: dict | None = None) -> Finding:
    return Finding(OK, detail, "", data or {})


def warn(detail: str, fix: str = "", data: dict | None = None) -> Finding:
    return Finding(WARN, detail, fix, data or {})


def fail(detail: str, fix: str = "", data: dict | None = None) -> Finding:
    return Finding(FAIL, detail, fix, data or {})


@dataclass(frozen=True)
class Check:
    """One line of the report, under the id and title its check was declared with."""

    id: str
    title: str
    level: str
    detail: str
    fix: str = ""
    data: dict = field(default_factory=dict)


class Deadline:
    """A point in time on the monotonic clock; steps take the smaller of their own limit and what is left."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self._clock = clock
        self._end = clock() + seconds

    def remaining(self) -> float:
        return max(0.0, self._end - self._clock())

    def expired(self) -> bool:
        return self.remaining() <= 0.0

    def within(self, limit: float) -> float:
        """A step's own limit, cut to what is left of this deadline (0 when nothing is)."""
        return min(limit, self.remaining())

    def sub(self, limit: float) -> Deadline:
        """A deadline for one step: `limit` seconds from now, but never past this one."""
        return Deadline(self.within(limit), self._clock)


def budget_text(deadline: Deadline) -> str:
    return f"skipped: doctor's {deadline.seconds:g} s budget ran out"


@dataclass(frozen=True)
class Spec:
    id: str
    title: str
    run: Callable
    network: bool = False


class Registry:
    """Checks in declaration order. `@registry.check("probe", "probe", network=True)` adds one.

    `network=True` marks a check that spends time on the network itself: once doctor's
    budget is gone it is reported as skipped instead of run. Checks that read the traced
    path get a per-step verdict from `netpath`, which keeps to the same deadline.
    """

    def __init__(self):
        self.specs: list[Spec] = []

    def check(self, id: str, title: str, network: bool = False):
        if any(spec.id == id for spec in self.specs):
            raise ValueError(f"check id {id!r} is declared twice")

        def declare(fn):
            self.specs.append(Spec(id, title, fn, network))
            return fn

        return declare

    def run(self, context) -> list[Check]:
        """Every check in order; a network check left with no budget is reported as skipped, not run."""
        from ccprompt.core.text import redact_secrets, sanitize
        from ccprompt.ops.doctor import fixes

        results: list[Check] = []
        for spec in self.specs:
            if spec.network and context.deadline.expired():
                finding = fail(budget_text(context.deadline), fixes.BUDGET)
            else:
                try:
                    finding = spec.run(context)
                except Exception as exc:  # one broken check must not hide the others
                    text = redact_secrets(str(exc), context.secrets())
                    finding = fail(f"check crashed: {type(exc).__name__}: {sanitize(text, 160)}",
                                   fixes.CRASHED)
            results.append(Check(spec.id, spec.title, finding.level, finding.detail, finding.fix, finding.data))
        return results
