"""Every probe window (SPEC §5) decided without sleeping: COLD > RED > GREEN."""

from ccprompt.core import schedule
from ccprompt.core.config import Config
from ccprompt.core.model import MonitorState, TranscriptScan

NOW = 1_795_165_000_000  # ms
CONFIG = {"green_interval_s": 300, "red_interval_s": 10, "cold_window_ms": 5000, "cold_quiet_s": 30,
          "path_interval_s": 0}  # the path checks have tests of their own, at the end
ERROR = {"error": {"code": 529}, "unresolved": True, "recent": True}


def decide(now_ms, state, *, config, transcript=None, **kwargs):
    """(kind, reason) from the scheduler, with the test's dicts turned into the typed values."""
    checked = Config("test")
    checked.values.update(config)
    typed_state = MonitorState.from_json(state) if isinstance(state, dict) else state
    scan = TranscriptScan(**transcript) if transcript else None
    decision = schedule.decide(now_ms, typed_state, checked, transcript=scan, **kwargs)
    return decision.kind, decision.reason


def state(last_probe_ago_s=400, baseline_ago_s=400, cold=(), red_window=0, green_window=0):
    return {
        "schema": 1,
        "status": "healthy",
        "monitoring_state": {
            "last_probe_epoch_ms": NOW - last_probe_ago_s * 1000,
            "last_baseline_epoch_ms": NOW - baseline_ago_s * 1000,
            "recent_cold_sessions": list(cold),
            "last_red_window_id": red_window,
            "last_green_window_id": green_window,
        },
    }


def test_no_state_is_cold():
    assert decide(NOW, None, config=CONFIG)[0] == "COLD"
    assert decide(NOW, {"garbage": 1}, config=CONFIG)[0] == "COLD"


def test_first_render_of_a_new_session_is_cold_once():
    fresh = state(last_probe_ago_s=100, baseline_ago_s=100)
    assert decide(NOW, fresh, session_id="s1", duration_ms=800, config=CONFIG)[0] == "COLD"
    seen = state(last_probe_ago_s=100, baseline_ago_s=100, cold=["s1"])
    assert decide(NOW, seen, session_id="s1", duration_ms=800, config=CONFIG)[0] is None


def test_cold_needs_an_early_render():
    fresh = state(last_probe_ago_s=100, baseline_ago_s=100)
    assert decide(NOW, fresh, session_id="s1", duration_ms=60_000, config=CONFIG)[0] is None


def test_cold_skipped_after_a_recent_probe():
    recent = state(last_probe_ago_s=10, baseline_ago_s=10)
    kind, reason = decide(NOW, recent, session_id="s2", duration_ms=100, config=CONFIG)
    assert kind is None and "30 s" in reason


def test_cold_beats_red():
    fresh = state(last_probe_ago_s=100, baseline_ago_s=100)
    assert decide(NOW, fresh, session_id="s3", duration_ms=10, transcript=ERROR, config=CONFIG)[0] == "COLD"


def test_red_once_per_ten_second_window():
    fresh = state(last_probe_ago_s=5, baseline_ago_s=5)
    assert decide(NOW, fresh, transcript=ERROR, config=CONFIG)[0] == "RED"
    probed = state(last_probe_ago_s=0, baseline_ago_s=5, red_window=NOW // 10_000)
    assert decide(NOW, probed, transcript=ERROR, config=CONFIG)[0] is None
    assert decide(NOW + 10_000, probed, transcript=ERROR, config=CONFIG)[0] == "RED"


def test_red_needs_recent_and_unresolved():
    fresh = state(last_probe_ago_s=5, baseline_ago_s=5)
    assert decide(NOW, fresh, transcript={**ERROR, "unresolved": False}, config=CONFIG)[0] is None
    assert decide(NOW, fresh, transcript={**ERROR, "recent": False}, config=CONFIG)[0] is None


def test_red_beats_green():
    stale = state(last_probe_ago_s=400, baseline_ago_s=400)
    assert decide(NOW, stale, transcript=ERROR, config=CONFIG)[0] == "RED"


def test_green_on_the_wall_clock():
    assert decide(NOW, state(baseline_ago_s=299, last_probe_ago_s=299), config=CONFIG)[0] is None
    assert decide(NOW, state(baseline_ago_s=300, last_probe_ago_s=300), config=CONFIG)[0] == "GREEN"
    already = state(baseline_ago_s=400, green_window=NOW // 300_000)
    assert decide(NOW, already, config=CONFIG)[0] is None


def test_green_interval_is_configurable():
    assert decide(NOW, state(baseline_ago_s=61), config={**CONFIG, "green_interval_s": 60})[0] == "GREEN"


def test_disabled_monitoring_never_probes():
    assert decide(NOW, None, config={**CONFIG, "monitoring_enabled": False})[0] is None


# -- while a failure is on show: the backoff -----------------------------------------------

def failing(ago_s, failures=1, baseline_ago_s=100, red_window=0, **extra):
    document = state(last_probe_ago_s=ago_s, baseline_ago_s=baseline_ago_s, red_window=red_window)
    document["status"] = "error"
    document["monitoring_state"]["failed_in_a_row"] = failures
    document.update(extra)
    return document


def test_the_backoff_retries_every_10s_for_ten_minutes_then_doubles_up_to_the_baseline():
    assert [schedule.backoff_s(n, 10, 300) for n in (0, 1, 2, 3, 59, 60, 61, 62, 63, 64, 65, 10**9)] == \
        [300, 10, 10, 10, 10, 10, 20, 40, 80, 160, 300, 300]


def test_the_spread_only_shortens_a_retry_and_never_the_first():
    assert schedule.backoff_s(1, 10, 300, 0.99) == 10
    assert 8 <= schedule.backoff_s(2, 10, 300, 0.99) < schedule.backoff_s(2, 10, 300, 0.0) == 10


def test_a_failure_on_show_is_probed_again_on_the_backoff_not_the_baseline():
    assert decide(NOW, failing(9), config=CONFIG)[0] is None
    kind, reason = decide(NOW, failing(10), config=CONFIG)
    assert kind == "RED" and "failure is on show" in reason and "10s" in reason
    # The second failure in a row waits 10 s too (less the spread, which comes from the probe's time).
    assert decide(NOW, failing(7, failures=2), config=CONFIG)[0] is None
    assert decide(NOW, failing(10, failures=2), config=CONFIG)[0] == "RED"
    # After ten minutes of failing, the waits double.
    assert decide(NOW, failing(15, failures=61), config=CONFIG)[0] is None
    assert decide(NOW, failing(20, failures=61), config=CONFIG)[0] == "RED"


def test_a_long_failure_backs_off_to_the_baseline_and_no_further():
    assert decide(NOW, failing(200, failures=70), config=CONFIG)[0] is None
    assert decide(NOW, failing(300, failures=70), config=CONFIG)[0] == "RED"


def test_an_answered_state_has_no_backoff():
    healthy = state(last_probe_ago_s=30, baseline_ago_s=30)
    assert decide(NOW, healthy, config=CONFIG)[0] is None
    assert schedule.failures_on_show(MonitorState.from_json(healthy)) == (0, 0)


def test_a_failed_real_request_the_proxy_saw_counts_as_a_failure_on_show():
    healthy = state(last_probe_ago_s=100, baseline_ago_s=100)
    healthy["passive"] = {"at_ms": NOW - 10_000, "outcome": "error", "http_status": 529}
    assert decide(NOW, healthy, config=CONFIG)[0] == "RED"
    healthy["passive"]["outcome"] = "ok"
    assert decide(NOW, healthy, config=CONFIG)[0] is None


def test_a_state_from_an_earlier_version_without_the_count_backs_off_from_one():
    old = failing(10)
    del old["monitoring_state"]["failed_in_a_row"]
    assert decide(NOW, old, config=CONFIG)[0] == "RED"


# -- next_due: the same rules, asked "when?" ------------------------------------------------

def next_due(now_ms, document, transcript=None, config=CONFIG):
    checked = Config("test")
    checked.values.update(config)
    scan = TranscriptScan(**transcript) if transcript else None
    return schedule.next_due(now_ms, MonitorState.from_json(document) if document else None, checked,
                             transcript=scan)


CASES = {
    "healthy": state(last_probe_ago_s=30, baseline_ago_s=30),
    "baseline just due": state(last_probe_ago_s=300, baseline_ago_s=300),
    "one failure": failing(3),
    "fifth failure": failing(3, failures=5),
    "seventieth failure": failing(100, failures=70),
    "waiting turn": state(last_probe_ago_s=30, baseline_ago_s=30),
    "no credential": {**state(last_probe_ago_s=5, baseline_ago_s=400), "status": "unknown", "reason": "no key"},
    "slow, confirming": {**state(last_probe_ago_s=4, baseline_ago_s=4), "judge": {"confirm": True}},
}
WAITING = {"waiting_since_epoch_s": (NOW - 4_000) / 1000}


def test_next_due_is_exactly_when_decide_first_says_due():
    for name, document in CASES.items():
        transcript = WAITING if name == "waiting turn" else None
        due, kind = next_due(NOW, document, transcript)
        assert due >= NOW, name
        if due > NOW:
            assert decide(due - 1, document, transcript=transcript, config=CONFIG)[0] is None, name
        assert decide(due, document, transcript=transcript, config=CONFIG)[0] == kind, name


def test_next_due_names_the_rule():
    assert next_due(NOW, CASES["one failure"]) == (NOW + 7_000, "RED")
    assert next_due(NOW, CASES["healthy"]) == (NOW + 270_000, "GREEN")
    assert next_due(NOW, CASES["waiting turn"], WAITING) == (NOW + 6_000, "RED")
    assert next_due(NOW, CASES["no credential"])[0] == NOW + 25_000
    assert next_due(NOW, None) == (NOW, "COLD")
    assert next_due(NOW, CASES["healthy"], config={**CONFIG, "monitoring_enabled": False}) is None


def test_a_waiting_turn_in_an_already_probed_window_falls_due_when_the_next_opens():
    probed = state(last_probe_ago_s=1, baseline_ago_s=30, red_window=NOW // 10_000)
    long_wait = {"waiting_since_epoch_s": (NOW - 30_000) / 1000}
    assert decide(NOW, probed, transcript=long_wait, config=CONFIG) == (None, "RED window already probed")
    assert next_due(NOW, probed, long_wait) == ((NOW // 10_000 + 1) * 10_000, "RED")


def test_claude_code_retrying_asks_for_a_red_probe_at_once():
    fresh = state(last_probe_ago_s=5, baseline_ago_s=5, green_window=NOW // 300_000)
    config = {**CONFIG, "waiting_s": 10}
    first = {"waiting_since_epoch_s": NOW / 1000 - 2, "attempts": 1}
    assert decide(NOW, fresh, config=config, transcript=first)[0] is None  # one attempt, 2 s: nothing yet
    kind, reason = decide(NOW, fresh, config=config, transcript={**first, "attempts": 2})
    assert kind == "RED" and "attempt 2" in reason


# -- between baselines: the path check -------------------------------------------------------

WITH_PATH = {**CONFIG, "path_interval_s": 20}


def test_a_healthy_path_is_checked_between_baselines():
    assert decide(NOW, state(last_probe_ago_s=19, baseline_ago_s=19), config=WITH_PATH)[0] is None
    kind, reason = decide(NOW, state(last_probe_ago_s=20, baseline_ago_s=20), config=WITH_PATH)
    assert kind == "PATH" and "20s ago" in reason
    checked = state(last_probe_ago_s=100, baseline_ago_s=100)
    checked["monitoring_state"]["last_path_epoch_ms"] = NOW - 5_000
    assert next_due(NOW, checked, config=WITH_PATH) == (NOW + 15_000, "PATH")


def test_a_baseline_that_is_due_goes_first_and_no_path_check_while_failing_or_off():
    assert decide(NOW, state(last_probe_ago_s=300, baseline_ago_s=300), config=WITH_PATH)[0] == "GREEN"
    assert next_due(NOW, failing(3), config=WITH_PATH)[1] == "RED"  # the backoff, not a path check
    assert decide(NOW, state(last_probe_ago_s=60, baseline_ago_s=60), config=CONFIG)[0] is None
    unknown = {**state(last_probe_ago_s=60, baseline_ago_s=60), "status": "unknown"}
    assert decide(NOW, unknown, config=WITH_PATH)[0] is None


def test_next_due_agrees_with_decide_with_path_checks_on_too():
    for name, document in CASES.items():
        transcript = WAITING if name == "waiting turn" else None
        due, kind = next_due(NOW, document, transcript, config=WITH_PATH)
        if due > NOW:
            assert decide(due - 1, document, transcript=transcript, config=WITH_PATH)[0] is None, name
        assert decide(due, document, transcript=transcript, config=WITH_PATH)[0] == kind, name
