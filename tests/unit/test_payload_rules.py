"""Pure rules for what Claude Code hands the status line: limits and pace, cache expiry, windows, prices."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ccprompt.core import limits, prices, seen
from ccprompt.core import session_rules as rules

NOW = 1_800_000_000.0
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.mark.parametrize("used, left_s, level", [
    (42, 2 * 3600, "ok"),  # 60 % of the window gone, 42 % used
    (64, 2 * 3600, "ok"),  # within the slack
    (66, 2 * 3600, "warn"),
    (80, 4 * 3600, "warn"),
    (91, 2 * 3600, "bad"),  # 90 % used and ahead of pace
    (92, 60, "ok"),  # 92 % used with a minute left: on pace, it resets first
    (100, 4 * 3600, "bad"),
])
def test_pace_compares_the_used_share_with_the_elapsed_share(used, left_s, level):
    assert limits.pace(used, NOW + left_s, 5 * 3600, NOW) == level


def test_the_segment_text_and_the_used_up_window():
    data = seen.limits_of({"five_hour": {"used_percentage": 100, "resets_at": NOW + 600},
                           "seven_day": {"used_percentage": 100.0, "resets_at": NOW + 3 * 86400}})
    assert limits.segment(data, NOW) == ("5h 100% · 7d 100%", "bad")
    assert limits.reached(data, NOW) == ("7d", int(NOW + 3 * 86400))  # the one that binds longest
    assert limits.reached(seen.limits_of({"five_hour": {"used_percentage": 99.9, "resets_at": NOW + 60}}), NOW) is None
    assert limits.cause("5h", None, NOW) == "5h limit reached"


@pytest.mark.parametrize("value, expected", [
    (1796390941, 1796390941), (1796390941825, 1796390941), (1796390941.5, 1796390941),
    ("2026-12-04T13:29:24.575Z", 1796390964), ("2026-12-04T13:29:24Z", 1796390964),
    ("2026-12-04T14:29:24+01:00", 1796390964), ("2026-12-04 13:29:24", 1796390964),
    ("yesterday", None), ("2026-13-04T13:29:24Z", None), (None, None), (True, None), (10**30, None), (-5, None),
])
def test_the_cache_expiry_in_any_form_claude_code_may_write(value, expected):
    assert seen.expiry_of(value) == expected


def test_iso_parsing_agrees_with_datetime_over_many_dates():
    from datetime import datetime, timezone

    for day in range(0, 3000, 37):
        moment = datetime.fromtimestamp(946684800 + day * 86400 + day * 97, timezone.utc)
        assert seen.expiry_of(moment.strftime("%Y-%m-%dT%H:%M:%SZ")) == int(moment.timestamp())


def test_the_cache_segment():
    assert seen.cache_segment({"warm": True, "expires_at": NOW + 192}, NOW) == ("cache 3m12s", "ok")
    assert seen.cache_segment({"warm": True, "expires_at": NOW + 30}, NOW) == ("cache 30s", "warn")
    assert seen.cache_segment({"warm": True, "expires_at": NOW - 1}, NOW) == ("cache cold", "bad")
    assert seen.cache_segment({"warm": False, "expires_at": None, "requests": 2}, NOW) == ("cache cold", "bad")
    assert seen.cache_segment({"warm": False, "expires_at": None, "requests": 0}, NOW) == ("", "")


def test_the_1m_models_have_1m_windows_without_a_suffix():
    assert rules.context_window("claude-sonnet-5-5") == 1_000_000
    assert rules.context_window("claude-opus-5-5") == 1_000_000
    assert rules.context_window("claude-opus-4-8") == 200_000
    assert rules.context_window("claude-opus-4-8", size=1_000_000) == 1_000_000
    assert rules.context_window("claude-sonnet-5-5", size=True) == 1_000_000  # a bool is no size


def test_the_5_5_prices_match_claude_codes_own_cost_figures():
    """The transcript's `cost-state` line is Claude Code's own arithmetic: the table must agree with it."""
    for line in (FIXTURES / "transcript-cc-2.1.332-529.jsonl").read_text().splitlines():
        entry = json.loads(line)
        if entry.get("type") == "cost-state":
            for model, usage in entry["modelUsage"].items():
                ours = prices.cost_usd(model, usage["inputTokens"], usage["outputTokens"],
                                       usage["cacheReadInputTokens"], usage["cacheCreationEphemeral5mInputTokens"],
                                       usage["cacheCreationEphemeral1hInputTokens"])
                assert ours == pytest.approx(usage["costUSD"], rel=1e-9), model
            break
    else:
        raise AssertionError("no cost-state line in the fixture")
    assert prices.price_of("claude-opus-5-5") == (4.0, 20.0)
    assert prices.price_of("claude-sonnet-5-5") == (2.0, 10.0)
    assert prices.price_of("claude-opus-4-8[1m]") == (5.0, 25.0)
    assert prices.price_of("claude-haiku-4-5") == (1.0, 5.0)


def test_a_payload_record_holds_only_checked_values():
    record = seen.record_of({"context_window": {"context_window_size": 1_000_000}, "model": {"id": "claude-opus-5-5"},
                             "cost": {"total_cost_usd": 1.2875}, "rate_limits": {
                                 "five_hour": {"used_percentage": 37.5, "resets_at": 1795600000}}})
    assert record == {"window": 1000000, "model": "claude-opus-5-5", "cost_usd": 1.2875,
                      "limits": {"five_hour": {"used": 37.5, "resets_at": 1795600000}}, "headroom": 0.625}
    assert json.loads(seen._encode(record)) == record
    assert seen.record_of({"model": {"id": 'x","window":1'}, "cost": {"total_cost_usd": float("nan")}}) == {}


def test_recall_checks_every_record_again_and_forgets_month_old_ones(tmp_path):
    import os

    from ccprompt.core.paths import Paths

    paths = Paths({"CCPROMPT_HOME": str(tmp_path), "HOME": str(tmp_path)})
    seen.remember(paths, "fresh-1", {"context_window": {"context_window_size": 1_000_000}})
    seen.remember(paths, "old-2", {"context_window": {"context_window_size": 200_000}})
    folder = tmp_path / "seen"
    (folder / "planted.json").write_text('{"window": "x", "model": "a\\"b", "limits": [1], "cost_usd": -3}')
    (folder / "broken.json").write_bytes(b"[" * 5000)
    import time

    now = time.time()
    os.utime(folder / "old-2.json", (now - 31 * 86400, now - 31 * 86400))
    found = seen.recall(paths, now_s=now)
    assert found == {"fresh-1": {"window": 1_000_000}}
    assert not (folder / "old-2.json").exists()
    assert (folder / "fresh-1.json").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("text", [
    "2026-12-04T13:29:24.Z", "2026-12-04T13:29:24+1:00", "2026-12-04T13:29:24+01:0x", "2026-12-04T24:00:00Z",
    "2026-12-04T13:60:00Z", "2026-12-04X13:29:24Z", "2026-12-04T13:29:24Z junk", "-026-12-04T13:29:24Z",
    "2026-12-04T13:29:24+ 1:00", "2026-12-04T13:29:24+01:00\n", "2026-12-04T13:29: 4Z", "2026-12-04T13:29:2_Z",
])
def test_one_iso_parser_refuses_every_other_shape(text):
    from ccprompt.core.text import iso_epoch
    from ccprompt.sources import entry

    assert iso_epoch(text) is None
    assert seen.expiry_of(text) is None
    assert entry.parse_timestamp("2026-12-04T13:29:24.575+01:00") == iso_epoch("2026-12-04T12:29:24.575Z")


def test_the_status_line_keeps_a_session_record_without_waiting_on_the_disk(tmp_path, monkeypatch):
    from ccprompt.core import oslite
    from ccprompt.core.paths import Paths

    synced = []
    real = oslite.fsync
    monkeypatch.setattr(oslite, "fsync", lambda fd: synced.append(fd) or real(fd))
    paths = Paths({"CCPROMPT_HOME": str(tmp_path), "HOME": str(tmp_path)})
    seen.remember(paths, "s-1", {"context_window": {"context_window_size": 200_000}})
    seen.remember(paths, "s-1", {"context_window": {"context_window_size": 1_000_000}})
    assert seen.recall(paths) == {"s-1": {"window": 1_000_000}}
    assert synced == []  # rewritten from the next redraw's stdin if a crash loses it
