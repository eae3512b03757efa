"""The typed model: which probes become samples, endpoint changes, history bounds, tolerant reads."""

from __future__ import annotations

import json
import os
import time

from ccprompt.core import files, store, transition
from ccprompt.core.config import Config
from ccprompt.core.model import MonitorState, Outcome
from ccprompt.core.paths import Paths

NOW = 1_795_165_000.0
EP = "https://api.example/v1/messages"


def outcome(total=400.0, http_status=200, mode="GREEN", status="healthy", endpoint=EP, source="environment",
            error_type="success"):
    return Outcome(endpoint=endpoint, credential_source=source, mode=mode, http_status=http_status,
                   error_type=error_type, status=status, reason="r", timeout_ms=3500,
                   phases_ms={"dns": 1.0, "tcp": 2.0, "tls": 3.0, "ttfb": total - 10, "total": total})


def apply(state, result, **kwargs):
    """What the recorder does with a probe: the verdict steps, then the state follows."""
    from ccprompt.core import verdict

    judged, _ = verdict.step(transition.judge_state(state, result.endpoint), verdict.ProbeResult.from_outcome(result))
    return transition.apply_outcome(state, result, now_s=kwargs.pop("now_s", NOW), judged=judged, **kwargs)


def test_only_answered_baseline_probes_become_samples():
    state = None
    for mode in ("GREEN", "COLD"):
        state = apply(state, outcome(mode=mode))
    assert state.network.rolling_totals == [400, 400]
    for changes in ({"mode": "RED"}, {"mode": "MANUAL"}, {"http_status": 529, "error_type": "overloaded_error"},
                    {"http_status": 429, "error_type": "rate_limit_error"}):
        state = apply(state, outcome(total=999, **changes))
    assert state.network.rolling_totals == [400, 400]
    anonymous = apply(state, outcome(total=500, http_status=401, source="none", error_type="authentication_error"))
    assert anonymous.network.rolling_totals == [400, 400, 500]


def test_samples_are_capped_with_nearest_rank_percentiles():
    from ccprompt.core.verdict import MAX_SAMPLES, nearest_rank

    state = None
    totals = [400 + (i * 37) % 50 for i in range(MAX_SAMPLES + 10)]  # a steady path with a little jitter
    for total in totals:
        state = apply(state, outcome(total=float(total)))
    kept = state.network.rolling_totals
    assert kept == totals[-MAX_SAMPLES:]
    assert state.network.p80_latency_ms == nearest_rank(kept, 0.80)
    assert state.network.p95_latency_ms == nearest_rank(kept, 0.95)


def test_no_percentile_until_four_samples():
    state = None
    for _ in range(3):
        state = apply(state, outcome())
    assert state.network.p95_latency_ms == 0
    state = apply(state, outcome())
    assert state.network.p95_latency_ms == 400


def test_a_new_endpoint_starts_a_new_baseline():
    state = apply(None, outcome())
    moved = apply(state, outcome(endpoint="https://proxy.example/v1/messages", total=900))
    assert moved.network.rolling_totals == [900]
    assert moved.to_json()["api_config"]["endpoint"] == "https://proxy.example/v1/messages"


def test_windows_and_cold_sessions_are_recorded():
    state = apply(None, outcome(mode="COLD"), session_id="s1")
    windows = state.windows
    assert windows.recent_cold_sessions == ["s1"]
    assert windows.last_green_window_id == int(NOW * 1000) // 300_000
    assert windows.last_baseline_epoch_ms == int(NOW * 1000)
    red = apply(state, outcome(mode="RED"), now_s=NOW + 20)
    assert red.windows.last_red_window_id == int((NOW + 20) * 1000) // 10_000
    assert red.windows.last_baseline_epoch_ms == int(NOW * 1000)
    assert red.windows.recent_cold_sessions == ["s1"]


def test_the_json_shape_round_trips():
    state = apply(None, outcome(mode="COLD"), session_id="s1")
    document = json.loads(json.dumps(state.to_json()))
    assert set(document) >= {"schema", "status", "monitoring_enabled", "api_config", "network", "monitoring_state",
                             "last_jsonl_error_event", "timestamp"}
    assert document["network"]["breakdown"] == "DNS:1ms|TCP:2ms|TLS:3ms|TTFB:390ms|Total:400ms"
    assert MonitorState.from_json(document) == state


def test_wrong_types_nan_and_huge_numbers_become_defaults():
    state = MonitorState.from_json({
        "schema": 1, "status": "sideways", "api_config": "nope",
        "network": {"latency_ms": float("nan"), "rolling_totals": [400, "x", None, 1e30, True, 500],
                    "phases_ms": {"total": float("inf"), "dns": -4}, "p95_latency_ms": "450"},
        "monitoring_state": {"recent_cold_sessions": "s1", "last_probe_epoch_ms": 1.5e300,
                             "last_red_window_id": True},
        "probe_counts": {"healthy": 2, "error": "many", "weird": 3},
    })
    assert state.status == "unknown" and state.endpoint is None
    assert state.network.latency_ms is None and state.network.rolling_totals == [400, 500]
    assert state.network.phases_ms == dict.fromkeys(("dns", "tcp", "tls", "ttfb", "total"))
    assert state.network.p95_latency_ms == 0
    assert state.windows.recent_cold_sessions == [] and state.windows.last_red_window_id == 0
    assert state.probe_counts == {"healthy": 2}
    json.dumps(state.to_json(), allow_nan=False)  # nothing unserialisable survives


def test_corrupt_or_foreign_state_reads_as_absent(tmp_path):
    paths = Paths({"CCPROMPT_HOME": str(tmp_path), "HOME": str(tmp_path)})
    path = tmp_path / "monitoring.json"
    for content in (b"", b"{", b"[]", b'{"schema": 2}', b"\xff\xfe", b'{"status": "healthy"}', b"[" * 100_000):
        path.write_bytes(content)
        assert store.read_state(paths) is None
    path.write_text(json.dumps({"schema": 1, "status": "healthy", "network": "garbage"}))
    assert store.read_state(paths).network.rolling_totals == []
    path.unlink()
    os.mkfifo(path)
    assert store.read_state(paths) is None  # a FIFO never blocks the reader


def test_history_is_bounded(tmp_path):
    paths = Paths({"CCPROMPT_HOME": str(tmp_path), "HOME": str(tmp_path)})
    record = transition.history_record(outcome(), NOW)
    for _ in range(400):
        store.append_history(paths, record, limit_bytes=20_000)
    sizes = [os.path.getsize(tmp_path / name) for name in ("history.jsonl", "history.jsonl.1")]
    assert all(size <= 20_000 for size in sizes)
    assert set(os.listdir(tmp_path)) == {"history.jsonl", "history.jsonl.1"}
    line = json.loads((tmp_path / "history.jsonl").read_text().splitlines()[-1])
    assert line["status"] == "healthy" and line["phases_ms"]["total"] == 400.0


def test_atomic_write_leaves_no_temp_files(tmp_path):
    target = tmp_path / "f"
    files.atomic_write(str(target), b"one")
    files.atomic_write(str(target), b"two")
    assert target.read_bytes() == b"two" and os.listdir(tmp_path) == ["f"]
    assert oct(target.stat().st_mode & 0o777) == "0o600"


def test_config_is_cached_and_the_cache_follows_the_file(tmp_path):
    paths = Paths({"CCPROMPT_HOME": str(tmp_path / "home"), "CCPROMPT_CONFIG": str(tmp_path / "config.toml"),
                   "HOME": str(tmp_path)})
    (tmp_path / "config.toml").write_text("green_interval_s = 60\n[statusline]\nstyle = \"icon\"\n")
    first = Config.load(paths)
    assert first["green_interval_s"] == 60 and first["statusline.style"] == "icon"
    assert first["statusline.segments"][0] == "model"  # defaults under the file
    assert (tmp_path / "home" / "config.cache.json").exists()
    time.sleep(0.01)
    (tmp_path / "config.toml").write_text("green_interval_s = 120\n")
    assert Config.load(paths)["green_interval_s"] == 120
    (tmp_path / "config.toml").write_text("broken = = toml\n")
    broken = Config.load(paths)
    assert broken["green_interval_s"] == 300  # a render ignores a broken file
    assert "not valid TOML" in broken.first_problem()
