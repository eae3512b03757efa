"""On time in both directions: the real `ccprompt statusline` and the real bash prompt hook against
the fake API, with the real clock made short (`red_interval_s = 1`, `waiting_s = 1`).

The baseline interval is set far out (10 minutes), so a recovery can only be seen in time through
the backoff while a failure is on show: without it these tests would wait for the baseline and fail.
They assert the sequence of states each surface shows, never a wall-clock threshold.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from harness import REPO_ROOT, assert_no_secret
from harness.fakeapi import LOOKUP_HOST
from harness.wait import decisions, log_records

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SHORT = "red_interval_s = 1\nwaiting_s = 1\ngreen_interval_s = 600\ncold_quiet_s = 0\n"


class Plug:
    """A TCP port in front of the fake API that can be pulled: while down, a connection is refused."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.listener = None

    def up(self):
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self):
        if self.listener is not None:
            try:
                self.listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.listener.close()
            self.listener = None

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


@pytest.fixture
def plug(fake_api):
    line = Plug(fake_api.port)
    yield line
    line.down()


def short_clock(env, url=None) -> dict:
    env = {**env, "NO_COLOR": "1", "CCPROMPT_DEBUG": "1"}
    if url:
        env["ANTHROPIC_BASE_URL"] = url
    config = Path(env["XDG_CONFIG_HOME"]) / "ccprompt" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(SHORT)
    return env


def iso(epoch_s: float) -> str:
    moment = datetime.fromtimestamp(epoch_s, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def entry(kind: str, epoch_s: float, **extra) -> str:
    """One transcript line as Claude Code writes it: a prompt, or a reply that completed."""
    message = {"role": kind, "content": [{"type": "text", "text": "hi"}]}
    if kind == "assistant":
        message.update(model="claude-sonnet-5-5", stop_reason="end_turn",
                       usage={"input_tokens": 10, "output_tokens": 5})
    return json.dumps({"type": kind, "timestamp": iso(epoch_s), "sessionId": "timing", "message": message,
                       **extra}) + "\n"


def render(env, transcript, session="timing-session", duration_ms=600_000) -> str:
    data = json.loads((FIXTURES / "stdin-full.json").read_text())
    data.update(session_id=session, transcript_path=str(transcript), cost={"total_duration_ms": duration_ms},
                model={"id": "claude-sonnet-5-5", "display_name": "Sonnet 5.5"})
    result = subprocess.run([sys.executable, "-m", "ccprompt", "statusline"], input=json.dumps(data), env=env,
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=10)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().split(" | ")[-1]  # the network segment


def redraws(env, transcript, until, pace_s=0.5, limit_s=40.0) -> list:
    """Render at Claude Code's pace until `until(segment)` holds; every segment seen, in order."""
    seen = []
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        seen.append(render(env, transcript))
        if until(seen[-1]):
            return seen
        time.sleep(pace_s)
    raise AssertionError(f"never reached the wanted state; seen: {collapse(seen)}")


def collapse(segments) -> list:
    """The colours shown, in order, each once per run (⚪ `probing…` while there is no result yet)."""
    out = []
    for segment in segments:
        if not out or out[-1] != segment[:1]:
            out.append(segment[:1])
    return out


def probe_modes(env) -> list:
    return [(r.get("kind"), r.get("reason", "")) for r in log_records(env["CCPROMPT_HOME"], "refresh_decision")
            if r.get("kind")]


def test_status_line_waiting_turn_goes_red_with_the_cause_then_green_on_the_reply(cc_env, fake_api, tmp_path):
    """With a key, a 2.1.197-shaped turn (nothing written while Claude Code retries) on a 529 storm."""
    env = short_clock(cc_env)
    # The wait's probe is due 4 s after the prompt, so some redraw meets the 2 s before it
    # (`schedule.AHEAD_S`) even when a busy machine takes a second or more to start each one:
    # with a 1 s wait only a render started within a second of the prompt could.
    config = Path(env["XDG_CONFIG_HOME"]) / "ccprompt" / "config.toml"
    config.write_text(SHORT.replace("waiting_s = 1\n", "waiting_s = 4\n"))
    transcript = tmp_path / "session.jsonl"
    start = time.time() - 120
    transcript.write_text(entry("user", start) + entry("assistant", start + 2))
    first = redraws(env, transcript, lambda s: s.startswith("🟢"))  # the COLD probe, healthy
    fake_api.respond(529)
    transcript.write_text(transcript.read_text() + entry("user", time.time()))  # a prompt, waiting on the API
    storm = redraws(env, transcript, lambda s: s.startswith("🔴"), pace_s=0.2)
    assert storm[-1].startswith("🔴 529 overloaded"), storm[-1]
    fake_api.respond(200)
    transcript.write_text(transcript.read_text() + entry("assistant", time.time()))  # Claude Code's retry got through
    after = redraws(env, transcript, lambda s: s.startswith("🟢"))
    assert len(after) == 1, after  # the reply is the proof: green on the very next render
    assert collapse(first + storm + after) in (["⚪", "🟢", "🔴", "🟢"], ["🟢", "🔴", "🟢"])
    # The probe that turned it red was the waiting turn's, asking the session's own model.
    modes = probe_modes(env)
    assert modes[0][0] == "COLD" and any(kind == "RED" and "waited" in why for kind, why in modes), modes
    assert any(r.json and r.json.get("model") == "claude-sonnet-5-5" for r in fake_api.requests)
    # Due before the next redraw, it was started ahead, to be on show at that redraw.
    ahead = [r for r in decisions(env["CCPROMPT_HOME"]) if "started ahead" in r.get("reason", "")]
    assert ahead and ahead[0]["spawned"] is True, decisions(env["CCPROMPT_HOME"])
    assert_no_secret(Path(env["CCPROMPT_HOME"]))


def test_an_idle_session_sees_a_network_failure_end_through_the_backoff(cc_env, fake_api, plug, tmp_path):
    """No session activity at all: the line is red from a probe, and only its backoff can see the end."""
    url = f"https://{LOOKUP_HOST}:{plug.port}"
    env = short_clock(cc_env, url)
    transcript = tmp_path / "idle.jsonl"
    start = time.time() - 300
    transcript.write_text(entry("user", start) + entry("assistant", start + 2))  # a finished turn, long ago
    red = redraws(env, transcript, lambda s: s.startswith("🔴"))  # the line is down from the start
    assert red[-1].startswith("🔴 TCP: connect"), red[-1]
    stays = [render(env, transcript) for _ in range(3)]
    assert all(s.startswith("🔴 TCP: connect") for s in stays), stays
    plug.up()
    back = redraws(env, transcript, lambda s: s.startswith("🟢"))
    assert back[-1].startswith("🟢")
    modes = probe_modes(env)
    retries = [why for kind, why in modes if kind == "RED"]
    assert retries and all("failure is on show" in why for why in retries), modes
    # Backing off: a probe a second after the first failure, then every two seconds, not one per render.
    assert len(retries) < len(red + stays + back), (len(retries), len(red + stays + back))
    assert "GREEN" not in [kind for kind, _ in modes]  # the baseline (10 minutes) never came into it


def prompt_cycle(script: Path, env, prompts: int, pace_s: float, stop_on: str | None = None) -> list:
    """A real interactive bash drawing `prompts` prompts `pace_s` apart; $CCPROMPT_SEGMENT at each."""
    lines = [f"source {script}"]
    for _ in range(prompts):
        lines += ['echo "seen=$CCPROMPT_SEGMENT"', f"sleep {pace_s}"]
    result = subprocess.run(["bash", "--noprofile", "--norc", "-i"], input="\n".join(lines) + "\nexit\n",
                            env={**env, "TERM": "dumb"}, capture_output=True, text=True, timeout=120)
    return [line[len("seen="):] for line in result.stdout.splitlines() if line.startswith("seen=")]


def test_the_shell_prompt_alone_sees_a_failure_and_its_end(cc_env, fake_api, plug, run_cli, tmp_path):
    """No Claude Code at all: only the bash hook starts refreshes, from the cache's due line."""
    url = f"https://{LOOKUP_HOST}:{plug.port}"
    env = short_clock(cc_env, url)
    init = run_cli("init", "bash", "--position", "none", "--style", "short", env=env)
    assert init.returncode == 0, init.stderr
    script = tmp_path / "init.bash"
    script.write_text(init.stdout)
    plug.up()
    assert run_cli("refresh", "--sync", env=env).returncode == 0  # a healthy baseline
    plug.down()
    # The failure is seen by a probe the prompt does not start (the baseline is 10 minutes
    # away): here `probe`, as the status line's waiting-turn probe would be.
    probe = run_cli("probe", env=env)
    assert "TCP: connect" in probe.stdout + probe.stderr, probe.stdout + probe.stderr
    half = prompt_cycle(script, env, prompts=8, pace_s=0.4)
    assert half and all(s.startswith("🔴 TCP: connect") for s in half), half
    # explain tells the same schedule: the next probe comes on the failure's backoff.
    explain = run_cli("explain", env=env)
    assert "a failure is on show" in " ".join(explain.stdout.split()), explain.stdout
    plug.up()
    seen = prompt_cycle(script, env, prompts=20, pace_s=0.4)
    assert collapse(seen) == ["🔴", "🟢"], seen  # red until a backoff probe sees the end, then green
    retries = [why for kind, why in probe_modes(env) if kind == "RED"]
    assert retries and all("failure is on show" in why for why in retries), retries


def test_the_shell_prompt_alone_sees_the_network_go_away_and_come_back(cc_env, fake_api, plug, run_cli, tmp_path):
    """Nothing else runs: the path check between baselines finds the failure, the backoff its end."""
    url = f"https://{LOOKUP_HOST}:{plug.port}"
    env = short_clock(cc_env, url)
    config = Path(env["XDG_CONFIG_HOME"]) / "ccprompt" / "config.toml"
    config.write_text(SHORT + "path_interval_s = 2\n")
    init = run_cli("init", "bash", "--position", "none", "--style", "short", env=env)
    script = tmp_path / "init.bash"
    script.write_text(init.stdout)
    plug.up()
    assert run_cli("refresh", "--sync", env=env).returncode == 0  # a healthy baseline, 10 minutes good
    posts_before = len([r for r in fake_api.requests if r.method == "POST"])
    calm = prompt_cycle(script, env, prompts=8, pace_s=0.4)
    assert collapse(calm) == ["🟢"], calm
    assert len([r for r in fake_api.requests if r.method == "POST"]) == posts_before  # path checks send nothing
    plug.down()
    down = prompt_cycle(script, env, prompts=16, pace_s=0.4)
    assert collapse(down) == ["🟢", "🔴"] and down[-1].startswith("🔴 TCP: connect"), down
    plug.up()
    back = prompt_cycle(script, env, prompts=20, pace_s=0.4)
    assert collapse(back) == ["🔴", "🟢"], back
    kinds = [kind for kind, _ in probe_modes(env)]
    assert "PATH" in kinds and "RED" in kinds and "GREEN" not in kinds, kinds
