"""Every probe window (SPEC §5) decided without sleeping: COLD > RED > GREEN."""

from ccprompt.core import schedule
from ccprompt.core.config import Config
from ccprompt.core.model import MonitorState, TranscriptScan

NOW = 1_795_165_000_000  # ms
CONFIG = {"green_interval_s": 300, "red_interval_s": 10, "cold_window_ms": 5000, "cold_quiet_s": 30}
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
