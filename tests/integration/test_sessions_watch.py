"""`ccprompt sessions --watch` in a real tmux pane: it fits, redraws, puts trouble first and reports changes."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid

import pytest

from harness.sessionfiles import place_transcript, reply, transcript_path, user_prompt, write_entries

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is installed by .ci/run")
WIDTH, HEIGHT = 120, 30


class Pane:
    def __init__(self):
        self.socket = f"ccprompt-test-{uuid.uuid4().hex[:12]}"

    def tmux(self, *args, check=True) -> str:
        result = subprocess.run(["tmux", "-L", self.socket, "-u", "-f", "/dev/null", *args], capture_output=True,
                                text=True, timeout=10, env=dict(os.environ, LANG="C.UTF-8"))
        if check and result.returncode != 0:
            raise AssertionError(f"tmux {args[0]} failed: {result.stderr}")
        return result.stdout

    def start(self, env: dict, *argv) -> None:
        command = ["env", "-i"] + [f"{k}={v}" for k, v in env.items()] + list(argv)
        self.tmux("new-session", "-d", "-x", str(WIDTH), "-y", str(HEIGHT), "-s", "main", *command)
        self.tmux("set-option", "-t", "main", "remain-on-exit", "on")

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "main")

    def wait_for(self, *needles, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            if all(n in text for n in needles):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"never saw {needles}; screen:\n{text}")
            time.sleep(0.1)


@pytest.fixture
def pane():
    server = Pane()
    yield server
    server.tmux("kill-server", check=False)


def test_the_live_view_in_tmux(cc_env, pane, tmp_path):
    now = time.time()
    env = {**cc_env, "TERM": "xterm-256color", "LANG": "C.UTF-8"}
    waiting = place_transcript(cc_env, "transcript-cc-2.1.197-529.jsonl", waiting=True, waiting_s=40)
    place_transcript(cc_env, "transcript-ok.jsonl", age_s=600)
    cached = "c0ffee00-0000-4000-8000-000000000001"
    cache_path = transcript_path(cc_env, cached, "-home-you-src-web")
    write_entries(cache_path, [user_prompt(now - 300, cached),
                               reply(now - 296, cached, cache_read=60_000, cache_write=2_000, input_tokens=10)])
    growing = "c0ffee00-0000-4000-8000-000000000002"
    grow_path = transcript_path(cc_env, growing, "-home-you-src-api")
    write_entries(grow_path, [user_prompt(now - 100 + i * 10, growing) if i % 2 == 0 else
                              reply(now - 95 + i * 10, growing, cache_read=140_000 + i * 1000, input_tokens=10)
                              for i in range(6)])
    # The shell ignores Ctrl-C so that it can print the exit status; ccprompt sets its own handler.
    pane.start(env, "sh", "-c", f"trap '' INT; '{sys.executable}' -m ccprompt sessions --watch --since 2h; "
                                "echo live view exited with $?; sleep 30")
    first = pane.wait_for("ccprompt sessions ·", "waiting")
    lines = first.splitlines()
    assert all(len(line) <= WIDTH for line in lines)
    table = [line for line in lines if waiting.stem[:8] in line or cached[:8] in line or growing[:8] in line]
    assert waiting.stem[:8] in table[0], first  # the session waiting on the API comes first

    # The cache of `web` expires within seconds: an event line says what the next turn will cost.
    pane.wait_for("CACHE expired · rebuild ~62K tokens", timeout=15)
    # `api` grows past 80% of its window.
    write_entries(grow_path, [user_prompt(time.time() - 2, growing),
                              reply(time.time() - 1, growing, cache_read=165_000, input_tokens=10)], mode="a")
    pane.wait_for("CONTEXT 83%", timeout=10)
    # The proxy sees a model route change, a 529 being retried, then a stall, for the waiting session.
    state = tmp_path / "home" / ".claude" / "ccprompt"
    state.mkdir(parents=True, exist_ok=True)
    events = [
        {"kind": "attempt", "ts": time.time() - 3, "session_id": growing, "attempt": 1, "status": 200,
         "outcome": "ok", "model_requested": "claude-opus-4-8", "model_served": "claude-sonnet-4-5", "tools": {"count": 1}},
        {"kind": "attempt", "ts": time.time() - 2, "session_id": waiting.stem, "attempt": 5, "status": 529,
         "outcome": "error", "error_type": "overloaded_error", "model_requested": "claude-opus-4-8"},
    ]
    with open(state / "requests.jsonl", "a") as handle:
        handle.writelines(json.dumps(e) + "\n" for e in events)
    pane.wait_for("MODEL requested opus, got sonnet", "API 529 · retry 4", timeout=10)
    stall = {"kind": "stall", "ts": time.time() - 46, "session_id": waiting.stem, "attempt": 6, "idle_ms": 45_000,
             "elapsed_ms": 46_000}
    with open(state / "requests.jsonl", "a") as handle:
        handle.write(json.dumps(stall) + "\n")
    # The line gives the stall's length when the view noticed it: 45 s plus however long the next refresh took.
    screen = pane.wait_for("STALL ", timeout=10)
    seconds = int(re.search(r"STALL (\d+)s", screen).group(1))
    assert 45 <= seconds <= 55, screen
    assert "stalled" in screen
    (tmp_path / "watch-capture.txt").write_text(screen)
    pane.tmux("send-keys", "-t", "main", "C-c")
    pane.wait_for("live view exited with 0", timeout=10)
    if os.environ.get("CCPROMPT_CAPTURE_DIR"):
        shutil.copy(tmp_path / "watch-capture.txt", os.environ["CCPROMPT_CAPTURE_DIR"])
