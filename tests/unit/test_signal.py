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


# -- Claude Code's own attempts, and what an anonymous probe can and cannot say -----------------


def anonymous(status="healthy", epoch_s=NOW - 5, **extra):
    document = state_json(status, epoch_s=epoch_s, **extra)
    document["api_config"]["source"] = "none"
    document["network"]["last_http_status"] = 401
    return as_state(document)


def test_a_keyed_failing_probe_adds_the_attempt_claude_code_is_on():
    state = failed(529, "overloaded_error")
    retrying = scan(waiting_since_epoch_s=NOW - 38, attempts=4)
    signal = assess(state, retrying, NOW)
    assert network_segment(state, "short", signal) == "🔴 529 overloaded · attempt 4"
    assert network_segment(state, "full", signal).startswith("🔴 529 overloaded · attempt 4 DNS:")


def test_retrying_is_red_without_a_key_and_says_the_network_is_fine():
    state = anonymous()
    retrying = scan(waiting_since_epoch_s=NOW - 38, attempts=4)
    signal = assess(state, retrying, NOW, waiting_s=10)
    assert (signal.status, signal.source) == ("error", "session")
    assert network_segment(state, "full", signal) == "🔴 Claude Code is retrying · attempt 4 · 38s · network ok, API side"
    assert network_segment(state, "short", signal) == "🔴 retrying · attempt 4 · 38s"
    assert network_segment(state, "icon", signal) == "🔴"
    # The anonymous probe itself failing is the user's path: its cause, with the attempt.
    down = anonymous("error", phase="tcp")
    down.network.failure_phase, down.network.last_http_status = "tcp", 0
    assert network_segment(down, "short", assess(down, retrying, NOW)) == "🔴 TCP: connect failed · attempt 4"


def test_a_first_attempt_is_not_a_retry():
    state = anonymous()
    first = scan(waiting_since_epoch_s=NOW - 4, attempts=1)
    assert assess(state, first, NOW, waiting_s=10).status == "healthy"


def test_without_attempt_lines_a_keyless_wait_is_shown_plainly_never_green():
    state = anonymous()
    waiting = scan(waiting_since_epoch_s=NOW - 45)
    signal = assess(state, waiting, NOW, waiting_s=10)
    assert network_segment(state, "full", signal) == "⏳ 45s · network ok"
    assert network_segment(state, "short", signal) == "⏳ 45s"
    assert network_segment(state, "icon", signal) == "⏳"
    assert "🟢" not in network_segment(state, "full", signal)
    # With a key the probe that the wait triggers vouches for the model: the marker only.
    keyed = as_state(state_json("healthy", epoch_s=NOW - 5))
    assert network_segment(keyed, "short", assess(keyed, waiting, NOW, waiting_s=10)).startswith("🟢")


def test_a_keyless_line_names_the_error_claude_code_gave_up_on():
    state = anonymous("degraded", reason=UNRESOLVED_REASON)
    gave_up = scan(error={"epoch_s": NOW - 20, "code": 529, "type": "overloaded_error"}, unresolved=True,
                   recent=True)
    signal = assess(state, gave_up, NOW)
    text = network_segment(state, "full", signal)
    assert text == "🟡 last turn 529 overloaded · network ok"
    assert "P95" not in text and "DNS" not in text


def test_the_proxy_s_retry_count_agrees_with_the_attempts():
    state = as_state(state_json("healthy", epoch_s=NOW - 60))
    state.passive.at_ms = int((NOW - 2) * 1000)
    state.passive.outcome, state.passive.http_status, state.passive.attempt = "error", 529, 4
    signal = assess(state, scan(waiting_since_epoch_s=NOW - 30, attempts=4), NOW)
    # retry 3 is the fourth attempt: the proxy's words stay, the transcript adds nothing contrary.
    assert network_segment(state, "short", signal) == "🔴 ⇄ 529 overloaded · retry 3"
