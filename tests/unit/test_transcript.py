"""The transcript scanner: API errors, recovery, usage, and a cost that ignores file size."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ccprompt.sources import transcript

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
NOW = transcript.parse_timestamp("2026-11-20T09:05:00Z")


def test_unresolved_529():
    scan = transcript.scan(str(FIXTURES / "transcript-529.jsonl"), 64, now_s=NOW)
    assert scan.error["code"] == 529
    assert scan.error["type"] == "overloaded_error"
    assert scan.error["message"] == "Overloaded"
    assert scan.error["timestamp"].startswith("2026-11-20T")
    assert scan.unresolved and scan.recent


def test_recovered_and_ok():
    recovered = transcript.scan(str(FIXTURES / "transcript-recovered.jsonl"), 64, now_s=NOW)
    assert recovered.error["code"] == 529 and not recovered.unresolved
    ok = transcript.scan(str(FIXTURES / "transcript-ok.jsonl"), 64, now_s=NOW)
    assert ok.error is None
    assert ok.usage_tokens == 6 + 800 + 52000
    assert ok.model == "claude-sonnet-4-5-20250929"


def test_old_error_is_not_recent():
    scan = transcript.scan(str(FIXTURES / "transcript-529.jsonl"), 64, now_s=NOW + 3600)
    assert scan.unresolved and not scan.recent


def test_text_fallback_without_the_flag(tmp_path):
    entry = {"type": "assistant", "timestamp": "2026-11-20T09:04:00Z",
             "message": {"model": "<synthetic>", "content": [{"type": "text", "text": "API Error: 500 {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"Internal\"}}"}]}}
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(entry) + "\n")
    scan = transcript.scan(str(path), 64, now_s=NOW)
    assert scan.error["code"] == 500 and scan.error["type"] == "api_error" and scan.unresolved


def test_parse_api_error_variants():
    assert transcript.parse_api_error("API Error: Request timed out.") == {
        "code": None, "type": None, "message": "Request timed out"}
    assert transcript.parse_api_error('API Error: 429 {"error":{"type":"rate_limit_error","message":"slow down"}}')[
        "type"] == "rate_limit_error"
    assert transcript.parse_api_error("API Error: 529 not json")["code"] == 529


def test_bad_lines_are_skipped(tmp_path):
    """Garbage that claims no kind is passed over unread; a line that claims one but is not JSON is counted."""
    good = (FIXTURES / "transcript-529.jsonl").read_text()
    path = tmp_path / "t.jsonl"
    path.write_text('{broken\n' + "x" * 100 + '\n{"type":"user", broken\n' + good)
    scan = transcript.scan(str(path), now_s=NOW)
    assert scan.skipped == 1 and scan.error["code"] == 529


def test_an_old_error_before_the_replies_is_not_read(tmp_path):
    """Reading backwards stops once the newest replies are in: what lies before them is settled."""
    path = tmp_path / "t.jsonl"
    lines = (FIXTURES / "transcript-recovered.jsonl").read_text().splitlines()
    error_line = (FIXTURES / "transcript-529.jsonl").read_text().splitlines()[-1]
    replies = [line for line in lines if '"assistant"' in line and "API Error" not in line]
    with open(path, "w") as handle:
        handle.write(error_line + "\n")  # early error, before many replies
        handle.write(("{\"type\": \"mode\"}\n") * 20000)
        for _ in range(transcript.REPLIES_WANTED):
            handle.write(replies[-1] + "\n")
    stats = transcript.Stats()
    turn = transcript.read(str(path), None, stats)
    scan = transcript.to_scan(turn, NOW)
    assert scan.error is None and not scan.unresolved and scan.last_reply_epoch_s
    assert stats.how == "backwards" and stats.bytes <= 64 * 1024 and turn.summary().partial


def _rchar() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar")


def test_a_one_gigabyte_transcript_is_read_within_the_bound_then_not_again(tmp_path):
    small = tmp_path / "small.jsonl"
    small.write_text((FIXTURES / "transcript-529.jsonl").read_text())
    big = tmp_path / "big.jsonl"
    with open(big, "wb") as handle:
        handle.truncate(1 << 30)  # sparse: a gigabyte without writing one
        handle.seek(1 << 30)
        handle.write(b"\n" + small.read_bytes())
    assert big.stat().st_size > 1 << 30
    memory = tmp_path / "memory"
    before = _rchar()
    scan = transcript.scan(str(big), now_s=NOW, remember_in=str(memory))
    read = _rchar() - before
    assert scan.error["code"] == 529 and scan.unresolved
    # No reply anywhere: the reader looks back for one, but no further than its bound.
    assert read <= transcript.BACK_LIMIT + transcript.CHUNK + 65536, f"read {read} bytes of a 1 GB file"
    before = _rchar()
    for _ in range(20):
        again = transcript.scan(str(big), now_s=NOW, remember_in=str(memory))
    assert again.error["code"] == 529 and again.unresolved
    assert _rchar() - before < 20 * 8192  # remembered: only the memory file is read
    assert os.path.getsize(big) > 1 << 30


def test_the_arithmetic_timestamp_parser_agrees_with_datetime():
    import random
    from datetime import datetime, timezone

    rng = random.Random(11)
    for _ in range(2000):
        moment = datetime.fromtimestamp(rng.uniform(0, 4_102_444_800), tz=timezone.utc)
        digits = rng.choice((0, 1, 3, 6))
        text = moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{moment.microsecond:06d}"[: digits + 1] if digits else "")
        fast = transcript.parse_timestamp(text + "Z")
        slow = transcript._parse_with_datetime(text + "Z")
        assert abs(fast - slow) < 1e-6, text
    assert transcript.parse_timestamp("2026-11-20T09:02:31.521+08:00") == transcript._parse_with_datetime(
        "2026-11-20T09:02:31.521+08:00")
    for bad in ("2026-13-01T00:00:00Z", "yesterday", "2026-11-20 nine o clock", ""):
        assert transcript.parse_timestamp(bad) is None
