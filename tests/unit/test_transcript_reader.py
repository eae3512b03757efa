"""The one transcript reader: the current turn found whatever the lines around it weigh, read once."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from ccprompt.sources import entry, transcript

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CC332 = FIXTURES / "transcript-cc-2.1.332-529.jsonl"
CC197 = FIXTURES / "transcript-cc-2.1.197-529.jsonl"


def lines_of(path: Path) -> list:
    return path.read_bytes().split(b"\n")[:-1]


def stamp(seconds: float) -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int(seconds * 1000) % 1000:03d}Z"


def user(t: float, text="hello", tool=False) -> dict:
    content = [{"type": "tool_result", "tool_use_id": "toolu_1", "content": text}] if tool else text
    return {"type": "user", "timestamp": stamp(t), "sessionId": "s", "isSidechain": False,
            "message": {"role": "user", "content": content}}


def reply(t: float, cache_read=1000, model="claude-sonnet-5-5", msg_id=None) -> dict:
    return {"type": "assistant", "timestamp": stamp(t), "sessionId": "s",
            "message": {"model": model, "id": msg_id or f"msg_{t}", "role": "assistant",
                        "content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn",
                        "usage": {"input_tokens": 5, "output_tokens": 3, "cache_read_input_tokens": cache_read}}}


def attempt(t: float) -> dict:
    return {"type": "api-request", "timestamp": stamp(t), "sessionId": "s", "querySource": "repl_main_thread",
            "params": {"model": "claude-sonnet-5-5"}}


def attachment(size: int) -> bytes:
    """A 2.1.332-shaped bookkeeping line: the `type` key after a big `attachment` object."""
    body = {"type": "prompt_snapshot", "systemPrompt": ["x" * size],
            "messages": [{"type": "user", "message": {"content": "nested"}}]}
    return json.dumps({"parentUuid": "p", "attachment": body, "type": "attachment"},
                      separators=(",", ":")).encode()


def write(path: Path, *items, mode="wb") -> None:
    with open(path, mode) as handle:
        for item in items:
            handle.write((item if isinstance(item, bytes) else json.dumps(item, separators=(",", ":")).encode())
                         + b"\n")


def read(path, memory=None):
    stats = transcript.Stats()
    turn = transcript.read(str(path), str(memory) if memory else None, stats)
    return transcript.to_scan(turn, 1e10, 600, stats), (turn.summary() if turn else None), stats


# -- the real transcripts --------------------------------------------------------------------


@pytest.mark.parametrize("cut, waiting, attempts", [
    (18, True, 1),    # the first prompt, sent once, 91 KB of bookkeeping after it
    (31, True, 0),    # the second prompt, its first attempt not yet sent
    (32, True, 1),    # ... sent
    (35, True, 4),    # ... its fourth
    (42, True, 11),   # ... its eleventh, the last
    (43, False, 0),   # Claude Code gave up: the error entry
])
def test_the_real_2_1_332_storm_is_read_at_every_point(tmp_path, cut, waiting, attempts):
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"\n".join(lines_of(CC332)[:cut]) + b"\n")
    scan, summary, stats = read(path)
    assert bool(scan.waiting_since_epoch_s) is waiting
    assert scan.attempts == attempts
    if cut == 43:
        assert scan.error["code"] == 529 and scan.error["type"] == "overloaded_error" and scan.unresolved
    assert stats.lines >= 1 and stats.skipped == 0


def test_the_real_2_1_332_first_reply_is_seen_past_the_64_kb_snapshot_after_it(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"\n".join(lines_of(CC332)[:25]) + b"\n")  # reply, then the 64 KB prompt_snapshot
    assert len(lines_of(CC332)[23]) > 60_000
    scan, summary, _ = read(path)
    assert scan.last_reply_epoch_s == entry.parse_timestamp("2026-12-04T13:29:06.853Z")
    assert not scan.waiting_since_epoch_s and scan.model == "claude-sonnet-5-5"


def test_the_whole_real_2_1_332_transcript_ends_recovered():
    scan, summary, _ = read(CC332)
    assert not scan.unresolved and not scan.waiting_since_epoch_s
    assert scan.last_reply_epoch_s == entry.parse_timestamp("2026-12-04T13:32:34.559Z")
    assert scan.error["code"] == 529 and scan.last_reply_epoch_s > scan.error["epoch_s"]


def test_the_real_2_1_197_transcript_keeps_the_waiting_rule(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"\n".join(lines_of(CC197)[:10]) + b"\n")  # the second prompt, retried silently
    scan, _, _ = read(path)
    assert scan.waiting_since_epoch_s == entry.parse_timestamp("2026-11-22T01:26:47.339Z")
    assert scan.attempts == 0  # 2.1.197 writes no api-request lines
    full, _, _ = read(CC197)
    assert full.model == "claude-opus-4-8" and not full.waiting_since_epoch_s


# -- big lines -------------------------------------------------------------------------------


def test_a_turn_under_64_kb_attachments_is_found(tmp_path):
    path = tmp_path / "t.jsonl"
    write(path, user(1000), reply(1001), user(1010), attempt(1010.1), attachment(64_000), attempt(1011),
          attachment(64_000), attachment(14_000), attempt(1013))
    scan, _, stats = read(path)
    assert scan.waiting_since_epoch_s == pytest.approx(1010) and scan.attempts == 3
    assert scan.last_reply_epoch_s == pytest.approx(1001)
    assert stats.skipped == 0


def test_a_5_mb_tool_result_is_never_parsed_whole(tmp_path, monkeypatch):
    path = tmp_path / "t.jsonl"
    big = user(1010, text="y" * (5 << 20), tool=True)
    write(path, user(1000), reply(1001), big, attempt(1010.5), attempt(1012))
    parsed = []
    real = entry.fastjson.loads
    monkeypatch.setattr(entry.fastjson, "loads", lambda text: parsed.append(len(text)) or real(text))
    scan, summary, _ = read(path)
    assert scan.waiting_since_epoch_s == pytest.approx(1010) and scan.attempts == 2
    assert summary.last_kind == "tool_result"
    assert max(parsed) < entry.PARSE_LIMIT


def test_a_huge_reply_gives_its_model_and_usage_from_its_ends(tmp_path):
    path = tmp_path / "t.jsonl"
    huge = reply(1001, cache_read=70_000, model="claude-opus-5-5")
    huge["message"]["content"] = [{"type": "tool_use", "id": "toolu_1", "name": "Write",
                                   "input": {"content": "z" * (2 << 20)}}]
    write(path, user(1000), huge)
    scan, summary, _ = read(path)
    assert scan.model == "claude-opus-5-5" and scan.usage_tokens == 70_005
    assert scan.last_reply_epoch_s == pytest.approx(1001) and summary.tools == {"Write": 1}


def test_a_50_mb_transcript_is_read_from_its_end_then_remembered(tmp_path):
    path = tmp_path / "t.jsonl"
    filler = attachment(200_000)
    with open(path, "wb") as handle:
        while handle.tell() < 50 << 20:
            handle.write(filler + b"\n")
    write(path, user(1000), reply(1001), user(1010), attempt(1010.1), attempt(1012), attachment(64_000), mode="ab")
    memory = tmp_path / "memory"
    scan, _, stats = read(path, memory)
    assert stats.how == "backwards" and stats.bytes < 2 << 20
    assert scan.attempts == 2 and scan.last_reply_epoch_s == pytest.approx(1001)
    again, _, stats = read(path, memory)
    assert stats.how == "unchanged" and stats.bytes == 0 and again.attempts == 2
    write(path, attempt(1016), mode="ab")
    grown, _, stats = read(path, memory)
    assert stats.how == "appended" and stats.bytes < 4096 and grown.attempts == 3
    write(path, reply(1020), mode="ab")
    done, _, _ = read(path, memory)
    assert not done.waiting_since_epoch_s and done.attempts == 0 and done.last_reply_epoch_s == pytest.approx(1020)


def test_a_5_mb_line_appended_is_read_once(tmp_path):
    path = tmp_path / "t.jsonl"
    memory = tmp_path / "memory"
    write(path, user(1000), reply(1001))
    read(path, memory)
    write(path, user(1010, text="q" * (5 << 20), tool=True), attempt(1011), mode="ab")
    scan, _, stats = read(path, memory)
    assert stats.how == "appended" and scan.waiting_since_epoch_s == pytest.approx(1010) and scan.attempts == 1
    _, _, stats = read(path, memory)
    assert stats.bytes == 0


# -- files that change under the reader ------------------------------------------------------


def test_a_shrunk_transcript_is_read_afresh(tmp_path):
    path = tmp_path / "t.jsonl"
    memory = tmp_path / "memory"
    write(path, user(1000), reply(1001), user(1010), attempt(1010), attempt(1011))
    assert read(path, memory)[0].attempts == 2
    write(path, user(2000))  # truncated and rewritten, same inode
    scan, _, stats = read(path, memory)
    assert stats.how == "backwards" and scan.attempts == 0 and scan.waiting_since_epoch_s == pytest.approx(2000)
    assert scan.last_reply_epoch_s is None


def test_a_rewrite_that_grows_is_not_taken_for_an_append(tmp_path):
    path = tmp_path / "t.jsonl"
    memory = tmp_path / "memory"
    write(path, user(1000), reply(1001))
    read(path, memory)
    write(path, user(3000), {"type": "user", "timestamp": stamp(3000), "message": {"content": "x" * 500}})
    scan, _, stats = read(path, memory)
    assert stats.how == "backwards" and scan.last_reply_epoch_s is None


def test_a_replaced_transcript_is_read_afresh(tmp_path):
    path = tmp_path / "t.jsonl"
    memory = tmp_path / "memory"
    write(path, user(1000), reply(1001), user(1010), attempt(1010), attempt(1011))
    read(path, memory)
    other = tmp_path / "other.jsonl"
    write(other, user(1000), reply(1001), user(1010), attempt(1010), attempt(1011), reply(1030))
    os.replace(other, path)  # a new inode, larger
    scan, _, stats = read(path, memory)
    assert stats.how == "backwards" and not scan.waiting_since_epoch_s


def test_a_fifo_a_directory_garbage_and_nothing_give_an_empty_reading(tmp_path):
    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)
    done = []
    thread = threading.Thread(target=lambda: done.append(read(fifo)), daemon=True)
    thread.start()
    thread.join(5)
    assert done and done[0][0].read is False  # never blocks on a FIFO
    assert read(tmp_path)[0].read is False
    assert read(tmp_path / "missing.jsonl")[0].read is False
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_bytes(os.urandom(300_000) + b"\n\x00\xff{{{\n" + b'{"type":"user",' * 100 + b"\n")
    scan, _, stats = read(garbage)
    assert scan.read and not scan.waiting_since_epoch_s and stats.skipped >= 1


def test_a_partial_last_line_counts_when_whole_and_is_read_again(tmp_path):
    path = tmp_path / "t.jsonl"
    memory = tmp_path / "memory"
    write(path, user(1000), reply(1001))
    half = json.dumps(user(1010)).encode()
    with open(path, "ab") as handle:
        handle.write(half[:40])  # being written
    scan, _, _ = read(path, memory)
    assert not scan.waiting_since_epoch_s and scan.last_reply_epoch_s == pytest.approx(1001)
    with open(path, "ab") as handle:
        handle.write(half[40:])  # whole, the newline not yet written
    assert read(path, memory)[0].waiting_since_epoch_s == pytest.approx(1010)
    write(path, b"", attempt(1011), attempt(1013), mode="ab")  # its newline, then two attempts
    with open(path, "rb") as handle:
        assert handle.read().count(b"\n") == 5
    scan, _, _ = read(path, memory)
    assert scan.waiting_since_epoch_s == pytest.approx(1010) and scan.attempts == 2


def test_the_memory_holds_numbers_never_content_and_only_in_a_private_directory(tmp_path):
    path = tmp_path / "t.jsonl"
    memory = tmp_path / "state" / "transcripts"
    write(path, user(1000, text="SECRET PROMPT"), reply(1001))
    read(path, memory)
    kept = list(memory.iterdir())
    assert len(kept) == 1 and (memory.stat().st_mode & 0o777) == 0o700
    assert (kept[0].stat().st_mode & 0o777) == 0o600
    text = kept[0].read_text()
    assert "SECRET PROMPT" not in text and json.loads(text)["path"] == str(path)
    os.chmod(memory, 0o777)  # someone else could plant a memory here: it is not written to
    write(path, user(1010), mode="ab")
    before = kept[0].read_text()
    read(path, memory)
    assert kept[0].read_text() == before


def test_another_request_while_a_turn_waits_is_not_a_retry(tmp_path):
    path = tmp_path / "t.jsonl"
    compaction = {**attempt(1012), "querySource": "compact"}
    write(path, user(1000), reply(1001), user(1010), attempt(1010.1), compaction)
    assert read(path)[0].attempts == 1
    write(path, attempt(1013), mode="ab")  # the turn's own request, again: Claude Code retries it
    assert read(path)[0].attempts == 2


def test_a_remembered_number_that_is_not_finite_reads_as_none():
    fields = {"reply_s": float("inf"), "waiting_since_s": float("inf"), "attempts": 2, "attempt_s": float("nan"),
              "last_error": {"epoch_s": float("-inf"), "code": 529}, "error_unresolved": True}
    scan = transcript.to_scan(transcript.Reading(fields, "/t.jsonl"), now_s=1_800_000_000)
    assert scan.last_reply_epoch_s is None and scan.waiting_since_epoch_s is None
    assert scan.error["epoch_s"] is None and scan.recent is False


def test_a_hostile_error_type_is_cut_and_the_memory_stays_small(tmp_path):
    path = tmp_path / "t.jsonl"
    memory = tmp_path / "state" / "transcripts"
    body = json.dumps({"type": "error", "error": {"type": "x" * 300_000, "message": "m" * 100_000}})
    error = {"type": "assistant", "timestamp": stamp(1001), "sessionId": "s", "isApiErrorMessage": True,
             "message": {"model": "<synthetic>", "role": "assistant",
                         "content": [{"type": "text", "text": f"API Error: 529 {body}"}]}}
    write(path, user(1000), error)
    scan, _, stats = read(path, memory)
    assert scan.error["code"] == 529 and len(scan.error["type"]) <= 80 and len(scan.error["message"]) <= 200
    kept = list(memory.iterdir())
    assert len(kept) == 1 and kept[0].stat().st_size < transcript.MEMORY_LIMIT
    _, _, again = read(path, memory)
    assert again.how == "unchanged"  # remembered, not read again on every render
