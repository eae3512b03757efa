"""The signal: named causes, the newest evidence winning, recovery at once, waiting markers."""

from __future__ import annotations

import pytest

from ccprompt.core import verdict
from ccprompt.core.model import TranscriptScan
from ccprompt.core.render import network_segment
from ccprompt.core.signal import UNRESOLVED_REASON, assess, recovered_unconfirmed, waiting_too_long
from harness.states import as_state, state_json

NOW = 1_795_165_000.0


def failed(http=0, error_type=None, phase=None, reason="", endpoint="https://api.example/v1/messages", **network):
    document = state_json("error", latency=None, epoch_s=NOW - 30, endpoint=endpoint, reason=reason,
                          phases={"dns": 0.4, "tcp": 0.2, "ttfb": 1.0, "total": 2.0})
    document["network"].update(last_http_status=http, error_type=error_type, failure_phase=phase, **network)
    return as_state(document)


@pytest.mark.parametrize("state, short", [
    (failed(529, "overloaded_error"), "🔴 529 overloaded"),
    (failed(401, "authentication_error"), "🔴 401 invalid key"),
    (failed(429, "rate_limit_error", retry_after="7"), "🔴 429 rate limited · retry in 7s"),
    (failed(418, "teapot_error"), "🔴 418 teapot"),
    (failed(phase="dns", reason="DNS failed: Could not resolve host: api.invalid"), "🔴 DNS: no such host"),
    (failed(phase="tcp", reason="TCP failed: Failed to connect: Connection refused"), "🔴 TCP: connection refused"),
    (failed(phase="tls", reason="TLS failed: SSL certificate problem: certificate has expired"),
     "🔴 TLS: certificate expired"),
    (failed(phase="tls", reason="TLS failed: SSL certificate problem: self-signed certificate"),
     "🔴 TLS: certificate not trusted"),
    (failed(phase="timeout", timeout_ms=2500, reason="timed out after 2500 ms during TTFB"),
     "🔴 timeout after 2.5s waiting for the first byte"),
])
def test_an_error_names_its_cause(state, short):
    assert network_segment(state, "short") == short
    assert network_segment(state, "full").startswith(short + " DNS:")


def test_a_phase_that_cannot_apply_is_left_out():
    state = failed(529, "overloaded_error", endpoint="http://127.0.0.1:8080/v1/messages")
    full = network_segment(state, "full")
    assert full == "🔴 529 overloaded DNS:0ms|TCP:0ms|TTFB:1ms|Total:2ms"
    assert "TLS" not in full


def scan(**fields):
    return TranscriptScan(read=True, **fields)


def test_a_reply_newer_than_the_failure_is_green_at_once():
    state = failed(529, "overloaded_error")
    recovered = scan(last_reply_epoch_s=NOW - 1, error={"epoch_s": NOW - 40, "code": 529})
    signal = assess(state, recovered, NOW)
    assert (signal.status, signal.source) == ("healthy", "session")
    assert network_segment(state, "full", signal) == "🟢 answering (seen in session)"
    assert recovered_unconfirmed(state, recovered)


def test_an_older_reply_proves_nothing():
    state = failed(529, "overloaded_error")
    stale = scan(last_reply_epoch_s=NOW - 60)
    assert assess(state, stale, NOW).status == "error"
    assert not recovered_unconfirmed(state, stale)


def test_a_probe_doubting_only_the_session_s_error_is_settled_by_the_reply_that_follows():
    # The RED probe answered while the API recovered, but the session's 529 was still unresolved;
    # the reply that came a moment later, older than the probe, settles that doubt.
    document = state_json("degraded", latency=12, epoch_s=NOW - 2, reason=UNRESOLVED_REASON)
    state = as_state(document)
    settled = scan(last_reply_epoch_s=NOW - 3, error={"epoch_s": NOW - 20, "code": 529}, unresolved=False)
    signal = assess(state, settled, NOW)
    assert (signal.status, signal.source) == ("healthy", "session")
    still = scan(last_reply_epoch_s=NOW - 60, error={"epoch_s": NOW - 20, "code": 529}, unresolved=True)
    assert assess(state, still, NOW).status == "degraded"
    # A probe that was slow is not settled by a reply: the reply proves an answer, not its speed.
    slow = as_state(state_json("degraded", latency=3000, epoch_s=NOW - 2, reason="3.0s, usual 0.4s"))
    assert assess(slow, settled, NOW).status == "degraded"
    assert UNRESOLVED_REASON == verdict.UNRESOLVED_REASON  # the words the verdict writes


def test_a_waiting_turn_is_a_marker_not_a_colour():
    healthy = as_state(state_json("healthy", epoch_s=NOW - 5))
    waiting = scan(waiting_since_epoch_s=NOW - 45)
    signal = assess(healthy, waiting, NOW, waiting_s=10)
    assert (signal.status, signal.marker) == ("healthy", "⏳ 45s")
    assert network_segment(healthy, "full", signal).endswith(" ⏳ 45s")
    assert assess(healthy, scan(waiting_since_epoch_s=NOW - 3), NOW, waiting_s=10).marker == ""
    assert waiting_too_long(waiting, NOW, 10) and not waiting_too_long(scan(), NOW, 10)


def test_the_proxy_newer_than_the_probe_decides():
    state = as_state(state_json("healthy", epoch_s=NOW - 60))
    state.passive.at_ms = int((NOW - 2) * 1000)
    state.passive.outcome, state.passive.http_status, state.passive.attempt = "error", 529, 4
    signal = assess(state, None, NOW)
    assert (signal.status, signal.source) == ("error", "proxy")
    assert network_segment(state, "short", signal) == "🔴 ⇄ 529 overloaded · retry 3"
    state.passive.outcome = "ok"
    assert network_segment(state, "full") == "🟢 ⇄ P95:450ms"
    state.passive.outcome, state.passive.stall_since_ms = "stall", int((NOW - 45) * 1000)
    assert assess(state, None, NOW).marker == "⏳ stall 45s"


def test_a_probe_newer_than_the_proxy_decides():
    state = failed(529, "overloaded_error")
    state.passive.at_ms = int((NOW - 100) * 1000)
    state.passive.outcome = "ok"
    assert assess(state, None, NOW).status == "error"
