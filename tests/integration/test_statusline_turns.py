"""The real `ccprompt statusline` over a turn's life on a 2.1.332-shaped transcript: a first-prompt 529
storm read from Claude Code's own attempts, recovery on the session's first reply, and what a keyless
user (an anonymous probe, a 401 from the edge) is told."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ccprompt.core.text import display_width

from harness import REPO_ROOT, assert_no_secret, make_cli_env

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CC332 = [json.loads(line) for line in (FIXTURES / "transcript-cc-2.1.332-529.jsonl").read_text().splitlines()]
SESSION = "78dad6de-5565-4bd9-bbfc-304419d2fc72"


def stamp(epoch_s: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch_s)) + f".{int(epoch_s * 1000) % 1000:03d}Z"


def lines(entries, at_s: float) -> bytes:
    """Real 2.1.332 entries, compact as Claude Code writes them, their times moved to `at_s`."""
    out = []
    for entry in entries:
        entry = dict(entry)
        if "timestamp" in entry:
            entry["timestamp"] = stamp(at_s)
        out.append(json.dumps(entry, separators=(",", ":"), ensure_ascii=False).encode() + b"\n")
    return b"".join(out)


FIRST_PROMPT = CC332[:17]  # the user entry, then 91 KB of attachments and the request's shape
ATTEMPT = CC332[17]  # {"type":"api-request",...}
REPLY = CC332[22:25]  # the first reply, the 64 KB prompt_snapshot after it, turn_duration
GAVE_UP = CC332[42]  # the synthetic 529 entry after the eleventh attempt


def render(env, transcript: Path, duration_ms=218_745):
    data = json.loads((FIXTURES / "stdin-cc-2.1.332.json").read_text())
    data.update(transcript_path=str(transcript), session_id=SESSION, cwd=str(transcript.parent))
    data["workspace"] = {"current_dir": str(transcript.parent), "project_dir": str(transcript.parent)}
    data["cost"]["total_duration_ms"] = duration_ms
    result = subprocess.run([sys.executable, "-m", "ccprompt", "statusline"], input=json.dumps(data), env=env,
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=15)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    return result.stdout.strip()


def timed_render(env, transcript: Path, since: float):
    """`render`, and every whole number of seconds since `since` the line may show: any moment
    the render could have read the clock (a busy machine can take seconds to start one)."""
    before = time.time()
    line = render(env, transcript)
    return line, range(int(before - since), int(time.time() - since + 0.001) + 1)  # + the stamps' lost ms


def settle(env) -> None:
    import fcntl

    lock = Path(env["CCPROMPT_HOME"]) / "probe.lock"
    time.sleep(0.05)
    if lock.exists():
        with open(lock, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            fcntl.flock(handle, fcntl.LOCK_UN)


def wait_for(what, check, timeout=10.0):
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        seen = check()
        if seen:
            return seen
        time.sleep(0.1)
    raise AssertionError(f"not seen within {timeout}s: {what}")


def seed(env, transcript: Path) -> dict:
    """One recorded probe for this endpoint, the session already cold-probed, on an empty transcript."""
    transcript.write_bytes(lines(CC332[:4], time.time() - 60))
    subprocess.run([sys.executable, "-m", "ccprompt", "statusline", "--sync"], env=env, cwd=REPO_ROOT,
                   input=json.dumps({"session_id": SESSION, "transcript_path": str(transcript),
                                     "cost": {"total_duration_ms": 10}}),
                   capture_output=True, text=True, timeout=15, check=True)
    settle(env)
    return json.loads((Path(env["CCPROMPT_HOME"]) / "monitoring.json").read_text())


@pytest.fixture
def keyless(tmp_path, fake_api):
    env = {**make_cli_env(tmp_path, fake_api.url, fake_api.ca_file, api_key=None), "NO_COLOR": "1"}
    fake_api.respond(401)  # what the API's edge answers a request without a key
    return env


@pytest.fixture
def keyed(cc_env):
    return {**cc_env, "NO_COLOR": "1"}


def test_a_first_prompt_529_storm_turns_red_at_the_second_attempt_and_green_on_the_first_reply(
        keyed, fake_api, tmp_path):
    transcript = tmp_path / f"{SESSION}.jsonl"
    assert seed(keyed, transcript)["status"] == "healthy"
    fake_api.respond(529)
    sent = time.time()
    with open(transcript, "ab") as handle:
        handle.write(lines(FIRST_PROMPT, sent) + lines([ATTEMPT], sent + 0.05))
    before = fake_api.request_count
    line = render(keyed, transcript)
    assert "🟢" in line and "🔴" not in line  # one attempt, well inside waiting_s: nothing to say yet
    settle(keyed)
    assert fake_api.request_count == before  # and no probe for it

    with open(transcript, "ab") as handle:
        handle.write(lines([ATTEMPT], sent + 0.9))  # Claude Code's second attempt: it is retrying
    line = render(keyed, transcript)
    assert "🔴 Claude Code is retrying · attempt 2" in line, line  # at once, before any probe says so
    red = fake_api.wait_for_requests(before + 1, timeout=10)[before:]
    assert red[-1].json["model"] == "claude-sonnet-5-5"  # the RED probe asks the session's model
    settle(keyed)
    line = wait_for("the probe's cause", lambda: (lambda text: text if "529 overloaded" in text else None)(
        render(keyed, transcript)))
    assert "🔴 529 overloaded · attempt 2" in line, line

    with open(transcript, "ab") as handle:
        handle.write(lines([ATTEMPT], sent + 2.3) + lines([ATTEMPT], sent + 4.7))
    assert "🔴 529 overloaded · attempt 4" in render(keyed, transcript)

    fake_api.respond(200)
    with open(transcript, "ab") as handle:  # the session's first reply, a 64 KB snapshot after it
        handle.write(lines(REPLY, time.time()))
    data = transcript.read_bytes()
    reply_starts = data.rfind(b"\n", 0, data.rfind(b'"type":"assistant"')) + 1
    assert len(data) - reply_starts > 64 * 1024  # a 64 KB tail would not hold the whole reply
    line = render(keyed, transcript)
    assert "🟢 answering" in line, line
    assert_no_secret(line)


def test_a_keyless_storm_says_claude_code_is_retrying_and_that_the_network_is_fine(keyless, fake_api, tmp_path):
    transcript = tmp_path / f"{SESSION}.jsonl"
    state = seed(keyless, transcript)
    assert state["status"] == "healthy" and state["api_config"]["source"] == "none"
    assert all(r.header("x-api-key") is None for r in fake_api.requests)  # anonymous: the edge's 401
    sent = time.time() - 38
    with open(transcript, "ab") as handle:
        handle.write(lines(FIRST_PROMPT, sent))
        for offset in (0.05, 0.9, 2.3, 4.7):
            handle.write(lines([ATTEMPT], sent + offset))
    line, ages = timed_render(keyless, transcript, sent)
    assert any(f"🔴 Claude Code is retrying · attempt 4 · {age}s" in line for age in ages), (ages, line)
    assert "network ok, API side" in line, line
    assert "🟢" not in line and "P95" not in line
    settle(keyless)
    # The RED probe it started is anonymous too and proves only the path: the line says the same.
    line = render(keyless, transcript)
    assert "🔴 Claude Code is retrying · attempt 4" in line, line
    # A 46-column terminal shows 42 columns of the row: the retry keeps its words and attempt.
    narrow = render({**keyless, "COLUMNS": "46"}, transcript)
    assert "🔴 retrying · attempt 4 · " in narrow and display_width(narrow) <= 42, narrow

    with open(transcript, "ab") as handle:  # Claude Code gives up
        handle.write(lines([GAVE_UP], time.time()))
    line = render(keyless, transcript)
    assert "🟡 last turn 529 overloaded · network ok" in line, line
    assert "P95" not in line

    with open(transcript, "ab") as handle:
        handle.write(lines(CC332[43:45], time.time()) + lines([ATTEMPT], time.time()) + lines(REPLY, time.time()))
    line = render(keyless, transcript)
    assert "🟢" in line and "last turn" not in line and "retrying" not in line, line


def test_a_keyless_wait_without_attempt_lines_shows_the_wait_never_green(keyless, fake_api, tmp_path):
    """Claude Code 2.1.197 writes nothing while it retries: the wait is all a keyless user can be told."""
    transcript = tmp_path / f"{SESSION}.jsonl"
    seed(keyless, transcript)
    old = [json.loads(line) for line in (FIXTURES / "transcript-cc-2.1.197-529.jsonl").read_text().splitlines()]
    with open(transcript, "ab") as handle:
        handle.write(lines(old[8:10], prompted := time.time() - 45))  # a snapshot, then the prompt, 45 s ago
    line, ages = timed_render(keyless, transcript, prompted)
    assert any(f"⏳ {age}s · network ok" in line for age in ages), (ages, line)
    assert "🟢" not in line and "🔴" not in line
