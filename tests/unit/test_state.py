"""State transitions: which probes become samples, endpoint changes, history bounds, tolerant reads."""

from __future__ import annotations

import json
import os

from ccprompt import state as state_mod

NOW = 1_795_165_000.0
EP = "https://api.example/v1/messages"


def outcome(total=400.0, http_status=200, mode="GREEN", status="healthy", endpoint=EP, source="environment",
            error_type="success"):
    return {"endpoint": endpoint, "credential_source": source, "mode": mode, "http_status": http_status,
            "error_type": error_type, "status": status, "reason": "r", "timeout_ms": 3500,
            "phases_ms": {"dns": 1.0, "tcp": 2.0, "tls": 3.0, "ttfb": total - 10, "total": total}}


def test_only_successful_green_and_cold_probes_become_samples():
    state = None
    for mode in ("GREEN", "COLD"):
        state = state_mod.apply_outcome(state, outcome(mode=mode), now_s=NOW)
    assert state["network"]["rolling_totals"] == [400, 400]
    for changes in ({"mode": "RED"}, {"mode": "MANUAL"}, {"http_status": 529, "error_type": "overloaded_error"},
                    {"http_status": 429, "error_type": "rate_limit_error"}):
        state = state_mod.apply_outcome(state, outcome(total=999, **changes), now_s=NOW)
    assert state["network"]["rolling_totals"] == [400, 400]
    anonymous = state_mod.apply_outcome(state, outcome(total=500, http_status=401, source="none",
                                                       error_type="authentication_error"), now_s=NOW)
    assert anonymous["network"]["rolling_totals"] == [400, 400, 500]


def test_samples_are_capped_at_twelve_with_nearest_rank_percentiles():
    state = None
    for total in range(100, 1500, 100):  # 14 samples
        state = state_mod.apply_outcome(state, outcome(total=float(total)), now_s=NOW)
    assert state["network"]["rolling_totals"] == list(range(300, 1500, 100))
    assert state["network"]["p80_latency_ms"] == 1200  # ceil(0.8 * 12) = 10th
    assert state["network"]["p95_latency_ms"] == 1400


def test_a_new_endpoint_starts_a_new_baseline():
    state = state_mod.apply_outcome(None, outcome(), now_s=NOW)
    moved = state_mod.apply_outcome(state, outcome(endpoint="https://proxy.example/v1/messages", total=900),
                                    now_s=NOW)
    assert moved["network"]["rolling_totals"] == [900]
    assert moved["api_config"]["endpoint"] == "https://proxy.example/v1/messages"


def test_windows_and_cold_sessions_are_recorded():
    state = state_mod.apply_outcome(None, outcome(mode="COLD"), now_s=NOW, session_id="s1")
    ms = state["monitoring_state"]
    assert ms["recent_cold_sessions"] == ["s1"]
    assert ms["last_green_window_id"] == int(NOW * 1000) // 300_000
    assert ms["last_baseline_epoch_ms"] == int(NOW * 1000)
    red = state_mod.apply_outcome(state, outcome(mode="RED"), now_s=NOW + 20)
    assert red["monitoring_state"]["last_red_window_id"] == int((NOW + 20) * 1000) // 10_000
    assert red["monitoring_state"]["last_baseline_epoch_ms"] == int(NOW * 1000)
    assert red["monitoring_state"]["recent_cold_sessions"] == ["s1"]


def test_corrupt_or_foreign_state_reads_as_absent(tmp_path):
    path = tmp_path / "monitoring.json"
    for content in (b"", b"{", b"[]", b'{"schema": 2}', b"\xff\xfe", b'{"status": "healthy"}'):
        path.write_bytes(content)
        assert state_mod.read(str(tmp_path)) is None
    path.write_text(json.dumps({"schema": 1, "status": "healthy", "network": "garbage"}))
    assert state_mod.read(str(tmp_path))["network"] == {}


def test_history_is_bounded(tmp_path):
    record = state_mod.history_record(outcome(), NOW)
    for _ in range(400):
        state_mod.append_history(str(tmp_path), record, limit_bytes=20_000)
    sizes = [os.path.getsize(tmp_path / name) for name in ("history.jsonl", "history.jsonl.1")]
    assert all(size <= 20_000 for size in sizes)
    assert set(os.listdir(tmp_path)) == {"history.jsonl", "history.jsonl.1"}
    line = json.loads((tmp_path / "history.jsonl").read_text().splitlines()[-1])
    assert line["status"] == "healthy" and line["phases_ms"]["total"] == 400.0


def test_atomic_write_leaves_no_temp_files(tmp_path):
    target = tmp_path / "f"
    state_mod.atomic_write(str(target), b"one")
    state_mod.atomic_write(str(target), b"two")
    assert target.read_bytes() == b"two" and os.listdir(tmp_path) == ["f"]
    assert oct(target.stat().st_mode & 0o777) == "0o600"


def test_config_is_cached_and_the_cache_follows_the_file(tmp_path):
    import time as time_mod

    from ccprompt import config

    env = {"CCPROMPT_HOME": str(tmp_path / "home"), "CCPROMPT_CONFIG": str(tmp_path / "config.toml")}
    (tmp_path / "config.toml").write_text("green_interval_s = 60\n[statusline]\nstyle = \"icon\"\n")
    first = config.load(env)
    assert first["green_interval_s"] == 60 and first["statusline"]["style"] == "icon"
    assert first["statusline"]["segments"][0] == "model"  # defaults merged under the file
    assert (tmp_path / "home" / "config.cache.json").exists()
    time_mod.sleep(0.01)
    (tmp_path / "config.toml").write_text("green_interval_s = 120\n")
    assert config.load(env)["green_interval_s"] == 120
    (tmp_path / "config.toml").write_text("broken = = toml\n")
    assert config.load(env)["green_interval_s"] == 300  # a render ignores a broken file
    try:
        config.load(env, strict=True)
    except config.ConfigError as exc:
        assert "not valid TOML" in str(exc)
    else:
        raise AssertionError("strict load accepted a broken file")
