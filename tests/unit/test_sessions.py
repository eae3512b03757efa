"""The session rules and the reading behind `ccprompt sessions`: state, context, cache, cost, the index."""

from __future__ import annotations

import json
import os
import time

import pytest

from ccprompt.core import prices
from ccprompt.core import session_rules as rules
from ccprompt.core.paths import Paths
from ccprompt.core.session_rules import ProxyView, SessionSummary
from ccprompt.sources.sessions import index, proxyjoin, scan
from harness.sessionfiles import (FIXTURES, place_transcript, reply, shifted_lines, tool_result, transcript_path,
                                  user_prompt, write_entries)

SID = "0b6c1f0e-5a57-4c1e-9d1a-2f0f2b8c7a11"


def folded(entries) -> SessionSummary:
    summary = SessionSummary()
    scan.fold(summary, "\n".join(json.dumps(e) for e in entries).encode() + b"\n")
    return scan.totals(summary)


@pytest.fixture
def env(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    return {"HOME": str(home), "CCPROMPT_HOME": str(home / ".claude" / "ccprompt")}


def test_the_real_529_transcript_gives_turns_errors_context_and_cost():
    summary = folded(shifted_lines("transcript-cc-2.1.197-529.jsonl", 1_000_000))
    assert (summary.turns, summary.api_errors, summary.model) == (6, 1, "claude-opus-4-8")
    assert summary.context_tokens == 22505 and summary.last_kind == "reply"
    assert summary.last_error["code"] == 529 and summary.error_unresolved is False
    assert summary.project == "app" and summary.session_id.startswith("7670a960")
    assert summary.cost_usd == pytest.approx(prices.cost_usd("claude-opus-4-8", summary.input_tokens, 55))
    assert summary.waiting_since_s is None


def test_a_reply_split_over_several_lines_is_counted_once():
    now = 1_000_000.0
    first = reply(now, SID, input_tokens=100, cache_read=50_000, output=10, msg_id="msg_same")
    second = reply(now + 1, SID, input_tokens=100, cache_read=50_000, output=300, msg_id="msg_same",
                   tools=[("Bash", {"command": "make test"})])
    summary = folded([user_prompt(now - 5, SID), first, second])
    assert summary.output_tokens == 300 and summary.cache_read_tokens == 50_000
    assert summary.context_history == [50_100] and summary.tools == {"Bash": 1}
    assert summary.last_kind == "tool_use"


def test_states_waiting_errored_working_idle_and_stalled():
    now = 2_000_000.0
    waiting = folded([user_prompt(now - 200, SID), reply(now - 190, SID), user_prompt(now - 45, SID)])
    assert rules.state_of(waiting, now) == ("waiting", "45s")
    assert rules.state_of(waiting, now + 300)[0] == "stalled"
    stall = ProxyView(stall_since_s=now - 35, ts=now - 44)
    assert rules.state_of(waiting, now, stall) == ("stalled", "no bytes for 35s")
    retrying = ProxyView(failing=True, status=529, attempt=5, ts=now - 3)
    assert rules.state_of(waiting, now, retrying) == ("waiting", "45s · 529 retry 4")
    errored = folded(shifted_lines("transcript-529.jsonl", now - 10))
    assert rules.state_of(errored, now)[0] == "errored" and "529" in rules.state_of(errored, now)[1]
    working = folded([user_prompt(now - 20, SID), reply(now - 15, SID, tools=[("Bash", {"command": "make"})])])
    assert rules.state_of(working, now) == ("working", "running a tool")
    after_tool = folded([user_prompt(now - 20, SID), reply(now - 15, SID, tools=[("Read", {})]),
                         tool_result(now - 12, SID)])
    assert rules.state_of(after_tool, now) == ("waiting", "12s")
    idle = folded([user_prompt(now - 20, SID), reply(now - 15, SID)])
    assert rules.state_of(idle, now) == ("idle", "")


def test_attention_puts_errors_and_stalls_first():
    now = 3_000_000.0
    idle = folded([user_prompt(now - 20, SID), reply(now - 15, SID)])
    errored = folded(shifted_lines("transcript-529.jsonl", now - 500))
    stalled = folded([user_prompt(now - 400, SID)])
    full = folded([user_prompt(now - 20, SID), reply(now - 15, SID, cache_read=170_000)])
    order = rules.ordered([(idle, None), (full, None), (stalled, None), (errored, None)], now)
    assert [row[0] for row in order] == [errored, stalled, full, idle]


def test_context_window_is_1m_for_1m_models_or_past_200k():
    assert rules.context_window("claude-opus-4-8[1m]") == 1_000_000
    assert rules.context_window("claude-opus-4-8", 250_000) == 1_000_000
    assert rules.context_window("claude-opus-4-8", 150_000) == 200_000
    assert rules.context_window("claude-opus-4-8", 150_000, size=500_000) == 500_000


def test_turns_to_compact_follow_the_recent_growth():
    summary = SessionSummary(model="claude-sonnet-4-5", context_tokens=160_000,
                             context_history=[130_000, 140_000, 150_000, 160_000])
    assert rules.turns_to_compact(summary) == 2  # 180K is the compaction point, 10K a turn
    assert rules.context_segment(summary) == ("ctx 80% · ~2 turns to compact", "warn")


def test_cache_countdown_5m_then_1h_and_the_segment_levels():
    now = 4_000_000.0
    five = folded([user_prompt(now - 60, SID), reply(now - 50, SID, cache_write=40_000)])
    assert five.cache_ttl_s == 300 and rules.cache_segment(five, now) == ("cache 4m10s", "ok")
    assert rules.cache_segment(five, now + 200) == ("cache 50s", "warn")
    assert rules.cache_segment(five, now + 300) == ("cache expired", "bad")
    hour = folded([user_prompt(now - 60, SID), reply(now - 50, SID, cache_write=40_000, cache_1h=40_000),
                   user_prompt(now - 20, SID), reply(now - 10, SID, cache_read=40_000)])
    assert hour.cache_ttl_s == 3600 and hour.hit_ratio == pytest.approx(40_000 / 40_006, abs=1e-4)
    assert rules.cache_segment(hour, now)[0] == "cache 59m50s"
    assert rules.cache_segment(SessionSummary(), now) == ("", "")


def test_the_segments_of_a_waiting_session():
    now = 5_000_000.0
    waiting = folded([user_prompt(now - 90, SID), reply(now - 80, SID, cache_write=30_000),
                      user_prompt(now - 40, SID)])
    values = rules.segments(waiting, now)
    assert values["session"] == ("waiting 40s", "warn")
    assert values["cache"] == ("cache 3m40s", "ok")
    assert values["context"] == ("ctx 15%", "ok")


def test_prices_come_from_one_table():
    assert prices.price_of("claude-opus-4-8[1m]") == (5.0, 25.0)
    assert prices.price_of("claude-opus-4-1-20250805") == (15.0, 75.0)
    assert prices.price_of("claude-sonnet-4-5-20250929") == (3.0, 15.0)
    assert prices.price_of("gpt-4") is None
    # 1M input at $3, 1M 5-minute cache writes at 1.25x, 1M cache reads at 0.1x.
    assert prices.cost_usd("claude-sonnet-4-5", 1_000_000, 0, 1_000_000, 1_000_000, 0) == pytest.approx(3 + 0.3 + 3.75)


def test_the_proxy_view_gives_route_headroom_and_stalls():
    events = [
        {"kind": "attempt", "ts": 10.0, "session_id": "s1", "attempt": 1, "model_requested": "claude-opus-4-8",
         "model_served": "claude-sonnet-4-5-20250929", "outcome": "ok", "status": 200, "tools": {"count": 1},
         "ratelimit": {"requests": {"remaining": 40, "limit": 50}, "tokens": {"remaining": 1000, "limit": 4000}}},
        {"kind": "attempt", "ts": 11.0, "session_id": "s1", "attempt": 1, "model_requested": "claude-haiku-4-5",
         "model_served": "claude-haiku-4-5", "outcome": "ok", "status": 200},
        {"kind": "stall", "ts": 20.0, "session_id": "s2", "idle_ms": 30_000, "elapsed_ms": 40_000},
    ]
    views = proxyjoin.views(events)
    assert rules.route_mismatch(views["s1"]) and views["s1"].headroom == 0.25
    assert views["s2"].stall_since_s == pytest.approx(30.0)
    assert not rules.route_mismatch(ProxyView(model_requested="claude-opus-4-8",
                                              model_served="claude-opus-4-8-20260101"))


def test_the_index_reuses_unchanged_files_and_reads_only_what_was_appended(env):
    paths = Paths(env)
    path = place_transcript(env, "transcript-cc-2.1.197-529.jsonl", session_id=SID)
    first = index.summaries(paths)
    assert [s.turns for s in first] == [6]
    stored = (paths.state_dir + "/" + index.INDEX_FILE)
    text = open(stored).read()
    assert "Say hello" not in text and "FAKE REPLY" not in text  # numbers only, never content
    os.chmod(path, 0)  # unchanged (inode, size, mtime): the file is not even opened
    try:
        assert [s.turns for s in index.summaries(paths)] == [6]
    finally:
        os.chmod(path, 0o600)
    now = time.time()
    write_entries(path, [user_prompt(now - 3, SID), reply(now - 1, SID, cache_read=30_000)], mode="a")
    grown = index.summaries(paths)[0]
    assert grown.turns == 7 and grown.context_tokens == 30_006 and not grown.partial
    entry = json.loads(open(stored).read())["files"][str(path)]
    assert entry["offset"] == os.path.getsize(path)


def test_a_long_transcript_is_read_from_its_tail_and_marked_partial(env, monkeypatch):
    monkeypatch.setattr(index, "FULL_LIMIT", 4096)
    paths = Paths(env)
    path = transcript_path(env, SID)
    now = time.time()
    entries = []
    for i in range(200):
        entries += [user_prompt(now - 1000 + i * 4, SID), reply(now - 998 + i * 4, SID, cache_read=1000 + i)]
    write_entries(path, entries)
    summary = index.summaries(paths)[0]
    assert summary.partial and 0 < summary.turns < 200
    assert summary.context_tokens == 1000 + 199 + 6


def test_summary_of_reads_one_transcript_without_the_index(tmp_path):
    source = FIXTURES / "transcript-529.jsonl"
    summary = index.summary_of(str(source))
    assert summary.error_unresolved and summary.api_errors == 1
    assert index.summary_of(str(tmp_path / "missing.jsonl")).turns == 0
    os.mkfifo(tmp_path / "fifo")
    assert index.summary_of(str(tmp_path / "fifo")).turns == 0  # never blocks
