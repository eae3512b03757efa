"""The transcript scanner: API errors, recovery, usage, and a cost that ignores file size."""

from __future__ import annotations

import json
import os
import time
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
    good = (FIXTURES / "transcript-529.jsonl").read_text()
    path = tmp_path / "t.jsonl"
    path.write_text("{broken\n" + "x" * 100 + "\n" + good)
    scan = transcript.scan(str(path), 64, now_s=NOW)
    assert scan.skipped == 2 and scan.error["code"] == 529


def test_only_the_tail_is_read(tmp_path):
    path = tmp_path / "t.jsonl"
    error_line = (FIXTURES / "transcript-529.jsonl").read_text().splitlines()[-1]
    with open(path, "w") as handle:
        handle.write(error_line + "\n")  # early error, far outside the tail
        handle.write(("{\"type\": \"user\"}\n") * 20000)
    scan = transcript.scan(str(path), 4, now_s=NOW)
    assert scan.error is None
    assert scan.lines < 300  # 4 KB worth of lines, the partial first one dropped


def _rchar() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar")


def test_a_one_gigabyte_transcript_costs_the_same(tmp_path):
    small = tmp_path / "small.jsonl"
    small.write_text((FIXTURES / "transcript-529.jsonl").read_text())
    big = tmp_path / "big.jsonl"
    with open(big, "wb") as handle:
        handle.truncate(1 << 30)  # sparse: a gigabyte without writing one
        handle.seek(1 << 30)
        handle.write(b"\n" + small.read_bytes())
    assert big.stat().st_size > 1 << 30
    before = _rchar()
    scan = transcript.scan(str(big), 64, now_s=NOW)
    read = _rchar() - before
    assert scan.error["code"] == 529 and scan.unresolved
    assert read <= 64 * 1024 + 4096, f"read {read} bytes of a 1 GB file"
    started = time.perf_counter()
    for _ in range(20):
        transcript.scan(str(big), 64, now_s=NOW)
    assert os.path.getsize(big) > 1 << 30
    assert time.perf_counter() - started < 20  # generous: this guards against reading the file, not speed


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
