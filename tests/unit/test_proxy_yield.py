"""Background work in the proxy waits while a request waits for its first byte, and never for long."""

from __future__ import annotations

import time

import pytest

from ccprompt.sources.proxy import analysis
from ccprompt.sources.proxy.analysis import yield_to


class Busy:
    """True for the first `n` calls, then False; counts the calls."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.calls = 0

    def __call__(self) -> bool:
        self.calls += 1
        return self.calls <= self.n


def test_it_waits_until_the_forwarding_side_is_no_longer_busy():
    busy = Busy(5)
    yield_to(busy)
    assert busy.calls == 6  # asked until the answer was no


def test_an_idle_forwarding_side_costs_one_question():
    busy = Busy(0)
    yield_to(busy)
    assert busy.calls == 1


def test_a_forwarding_side_that_stays_busy_is_waited_for_at_most_the_cap(monkeypatch):
    monkeypatch.setattr(analysis, "YIELD_MAX_S", 0.05)
    busy = Busy(10**9)
    started = time.monotonic()
    yield_to(busy)
    waited = time.monotonic() - started
    assert busy.calls > 2
    assert waited >= 0.05
    assert waited < 5  # it gave up: the work goes on


@pytest.mark.parametrize("busy", [None, lambda: 1 / 0])
def test_no_question_or_a_failing_one_never_stops_the_work(busy):
    yield_to(busy)  # returns, raises nothing
