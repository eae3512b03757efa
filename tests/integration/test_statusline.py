"""`ccprompt statusline` as Claude Code runs it: payload on stdin, a line on stdout, probes detached."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from harness.wait import all_ended, decisions, wait_until
from harness import REPO_ROOT, TEST_KEY, assert_no_secret

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def payload(name="stdin-full.json", **changes):
    data = json.loads((FIXTURES / name).read_text())
    for key, value in changes.items():
        data[key] = value
    return data


def fresh_transcript(tmp_path, name, minutes_ago=1.0):
    """A fixture transcript with its timestamps moved to just before now."""
    lines = (FIXTURES / name).read_text().splitlines()
    entries = [json.loads(line) for line in lines if line.strip()]
    last = datetime.fromisoformat(entries[-1]["timestamp"].replace("Z", "+00:00"))
    shift = datetime.now(timezone.utc) - timedelta(minutes=minutes_ago) - last
    for entry in entries:
        moment = datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00")) + shift
        entry["timestamp"] = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    path = tmp_path / name
    path.write_text("\n".join(json.dumps(e) for e in entries) + "\n")
    return path


def statusline(env, data=None, raw=None, extra_args=(), timeout=10):
    text = raw if raw is not None else json.dumps(data if data is not None else {})
    return subprocess.run([sys.executable, "-m", "ccprompt", "statusline", *extra_args], input=text,
                          env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout)


def read_state(env):
    path = Path(env["CCPROMPT_HOME"]) / "monitoring.json"
    return json.loads(path.read_text()) if path.exists() else None


def wait_for_state(env, predicate, timeout=10.0):
    return wait_until(lambda: (lambda state: state if state and predicate(state) else None)(read_state(env)),
                      timeout, what="the expected state")


def settle(env):
    """Wait until no probe holds the lock (a detached child may still be writing)."""
    import fcntl

    lock = Path(env["CCPROMPT_HOME"]) / "probe.lock"
    if not lock.exists():
        return
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture
def env(cc_env):
    return {**cc_env, "NO_COLOR": "1"}


def seed_state(env, run_cli, session_id):
    """A recorded healthy probe that has already cold-probed `session_id`."""
    statusline(env, payload(session_id=session_id, cost={"total_duration_ms": 10}))
    state = wait_for_state(env, lambda s: session_id in s["monitoring_state"]["recent_cold_sessions"])
    settle(env)
    return state


def test_first_render_cold_probes_once_and_the_next_render_shows_it(env, fake_api):
    data = payload("stdin-early.json")
    first = statusline(env, data)
    assert first.returncode == 0
    assert first.stdout.endswith("⚪ probing…\n")
    assert "Sonnet 4.5" in first.stdout
    fake_api.wait_for_requests(1)
    state = wait_for_state(env, lambda s: s["status"] == "healthy")
    settle(env)
    assert state["monitoring_state"]["last_probe_mode"] == "COLD"
    assert data["session_id"] in state["monitoring_state"]["recent_cold_sessions"]
    second = statusline({**env, "CCPROMPT_DEBUG": "1"}, data)
    assert "🟢 P95:" in second.stdout
    [made] = decisions(env["CCPROMPT_HOME"])  # the same session is never cold-probed twice
    assert made["kind"] is None and not made["spawned"], made
    assert fake_api.request_count == 1


def test_unresolved_529_turns_the_line_red_with_the_breakdown(env, fake_api, run_cli, tmp_path):
    session = "red-session"
    seed_state(env, run_cli, session)
    fake_api.respond(status=529)
    transcript = fresh_transcript(tmp_path, "transcript-529.jsonl")
    data = payload(session_id=session, transcript_path=str(transcript))
    before = fake_api.request_count
    statusline(env, data)
    fake_api.wait_for_requests(before + 1)
    state = wait_for_state(env, lambda s: s["monitoring_state"]["last_probe_mode"] == "RED")
    settle(env)
    assert state["status"] == "error"
    assert state["last_jsonl_error_event"]["code"] == 529
    assert state["last_jsonl_error_event"]["type"] == "overloaded_error"
    line = statusline(env, data).stdout.strip()
    assert line.endswith("🔴 529 overloaded " + state["network"]["breakdown"])
    assert "DNS:" in line and "TTFB:" in line and "Total:" in line


def test_a_successful_red_probe_is_degraded_while_the_error_is_unresolved(env, fake_api, run_cli, tmp_path):
    seed_state(env, run_cli, "s-deg")
    transcript = fresh_transcript(tmp_path, "transcript-529.jsonl")
    statusline(env, payload(session_id="s-deg", transcript_path=str(transcript)))
    state = wait_for_state(env, lambda s: s["monitoring_state"]["last_probe_mode"] == "RED")
    assert state["status"] == "degraded"
    assert "not resolved" in state["reason"]


def test_red_probing_stops_once_the_transcript_recovers(env, fake_api, run_cli, tmp_path):
    seed_state(env, run_cli, "s-rec")
    transcript = fresh_transcript(tmp_path, "transcript-recovered.jsonl")
    before = fake_api.request_count
    debug = {**env, "CCPROMPT_DEBUG": "1"}
    for _ in range(3):
        result = statusline(debug, payload(session_id="s-rec", transcript_path=str(transcript)))
        assert result.stdout.strip()
    # Proof from the renders' own decisions, not from waiting: none started a probe.
    made = decisions(env["CCPROMPT_HOME"])
    assert len(made) == 3 and not any(d["spawned"] for d in made), made
    assert fake_api.request_count == before


def test_an_old_error_does_not_trigger_red(env, fake_api, run_cli, tmp_path):
    seed_state(env, run_cli, "s-old")
    transcript = fresh_transcript(tmp_path, "transcript-529.jsonl", minutes_ago=30)
    before = fake_api.request_count
    statusline({**env, "CCPROMPT_DEBUG": "1"}, payload(session_id="s-old", transcript_path=str(transcript)))
    [made] = decisions(env["CCPROMPT_HOME"])
    assert made["kind"] is None and not made["spawned"], made
    assert fake_api.request_count == before


def test_fifty_simultaneous_renders_make_one_probe(env, fake_api):
    # However long the renders take on a busy machine: the rules due later by the clock (a path
    # check, a confirmation, a backoff, a baseline) are hours away, so a second request can only
    # be a second probe for the same moment.
    config = Path(env["XDG_CONFIG_HOME"]) / "ccprompt" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("path_interval_s = 0\nred_interval_s = 3600\ngreen_interval_s = 86400\n")
    fake_api.respond(delay_s=0.3)
    text = json.dumps(payload("stdin-early.json"))
    procs = [
        subprocess.Popen([sys.executable, "-m", "ccprompt", "statusline"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=REPO_ROOT, text=True)
        for _ in range(50)
    ]
    outputs = [p.communicate(text, timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert all(out.strip() and not err for out, err in outputs)
    fake_api.wait_for_requests(1, timeout=60)
    wait_for_state(env, lambda s: s["status"] == "healthy")
    all_ended(env["CCPROMPT_HOME"])  # every child the renders started has probed or given up
    assert fake_api.request_count == 1


def test_sigkill_during_probes_never_leaves_a_broken_state(env, fake_api):
    fake_api.respond(delay_s=0.05)
    for attempt in range(12):
        proc = subprocess.Popen([sys.executable, "-m", "ccprompt", "probe"], env=env, cwd=REPO_ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.15 + 0.03 * attempt)  # sweeps the kill across start-up, probe and write
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        state_file = Path(env["CCPROMPT_HOME"]) / "monitoring.json"
        if state_file.exists():
            assert json.loads(state_file.read_text())["schema"] == 1
    assert read_state(env) is not None, "no probe ever completed; the sweep missed the write"
    assert "🟢" in statusline(env, {}).stdout


def test_a_corrupt_state_counts_as_absent(env, fake_api):
    home = Path(env["CCPROMPT_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "monitoring.json").write_text('{"schema": 1, "status": "heal')
    result = statusline(env, {"session_id": "x"})
    assert result.returncode == 0 and result.stdout.strip() == "⚪ probing…"
    wait_for_state(env, lambda s: s["status"] == "healthy")


@pytest.mark.parametrize("raw", ["", "not json at all", "{\"model\": ", "[1, 2, 3]", "\x00\xff\xfe garbage",
                                 json.dumps({"model": 5, "cost": "x", "workspace": [], "context_window": {}})])
def test_bad_stdin_still_gives_a_line(env, fake_api, raw):
    started = time.monotonic()
    result = statusline(env, raw=raw)
    assert time.monotonic() - started < 5
    assert result.returncode == 0
    assert result.stdout.strip() and not result.stderr


def test_stdin_that_never_closes(env, fake_api):
    proc = subprocess.Popen([sys.executable, "-m", "ccprompt", "statusline"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=REPO_ROOT)
    proc.stdin.write(json.dumps(payload()).encode())
    proc.stdin.flush()  # and never close it
    started = time.monotonic()
    out = proc.stdout.readline().decode()
    elapsed = time.monotonic() - started
    proc.stdin.close()
    proc.wait(timeout=5)
    assert "Opus 4.5" in out and elapsed < 3


def test_endless_stdin_is_cut_at_one_megabyte(env, fake_api):
    proc = subprocess.Popen([sys.executable, "-m", "ccprompt", "statusline"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=REPO_ROOT)
    chunk = b"x" * 65536
    written = 0
    try:
        while proc.poll() is None and written < 8 * 1024 * 1024:
            proc.stdin.write(chunk)
            written += len(chunk)
    except BrokenPipeError:
        pass
    out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0 and out.strip()
    assert written < 8 * 1024 * 1024, "statusline kept reading past its bound"


def test_missing_or_unreadable_transcript(env, fake_api, tmp_path):
    unreadable = tmp_path / "locked.jsonl"
    unreadable.write_text("{}\n")
    unreadable.chmod(0)
    for path in ("/nonexistent/t.jsonl", str(unreadable), str(tmp_path)):
        result = statusline(env, payload(transcript_path=path))
        assert result.returncode == 0 and "Opus 4.5" in result.stdout


def test_hostile_payload_and_transcript_print_no_escape_sequences(env, fake_api, tmp_path):
    evil = "\x1b]0;pwned\x07\x1b[2J\x1b[31mred\x9b1m\u202eevil\r\n"
    transcript = tmp_path / "t.jsonl"
    entry = {"type": "assistant", "timestamp": "2026-11-20T09:00:00Z",
             "message": {"model": evil, "content": [{"type": "text", "text": "ok"}],
                         "usage": {"input_tokens": 10}}}
    transcript.write_text(json.dumps(entry) + "\n")
    project = tmp_path / f"dir{evil}"
    (project / ".git").mkdir(parents=True)
    (project / ".git" / "HEAD").write_text(f"ref: refs/heads/feat{evil}\n")
    data = {"model": {"display_name": evil}, "workspace": {"current_dir": str(project)},
            "transcript_path": str(transcript), "session_id": evil}
    for extra in ({}, {"NO_COLOR": ""}):
        out = statusline({**env, **extra}, data).stdout
        body = out.replace("\x1b[0m", "")
        for code in ("36", "34", "35", "37", "32", "33", "31", "90"):
            body = body.replace(f"\x1b[{code}m", "")
        assert not any(ch in body for ch in "\x1b\x07\x9b\r\u202e"), repr(out)
        assert out.count("\n") == 1
        assert "featredevil" in out and "pwned" not in out  # visible text stays; the OSC title goes with its sequence


def test_git_branch_and_context_from_transcript(env, fake_api, tmp_path):
    repo = tmp_path / "proj"
    (repo / ".git").mkdir(parents=True)
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/feature/login\n")
    (repo / "src").mkdir()
    transcript = fresh_transcript(tmp_path, "transcript-ok.jsonl")
    data = payload("stdin-minimal.json", transcript_path=str(transcript),
                   workspace={"current_dir": str(repo / "src")})
    out = statusline(env, data).stdout
    assert "src | ⎇ feature/login" in out
    assert "ctx 26%" in out  # 6 + 52000 + 800 tokens of a 200k window
    assert "$0.00" in out


def test_fits_what_claude_code_shows_of_a_row(env, fake_api):
    from ccprompt.core.text import display_width

    data = payload()
    statusline(env, data, extra_args=("--sync",))  # a recorded probe, so every render below shows it
    wide = statusline({**env, "COLUMNS": "300", "NO_COLOR": "1"}, data).stdout
    assert wide.count("\n") == 1 and "🟢" in wide
    network = wide.rstrip("\n").rsplit(" | ", 1)[1]
    for columns in (60, 46, 36, 24, 12):
        line = statusline({**env, "COLUMNS": str(columns), "NO_COLOR": "1"}, data).stdout
        assert line.count("\n") == 1, line
        shown = line.rstrip("\n")
        # Claude Code shows COLUMNS - 4 columns of a row and cuts the rest with an ellipsis.
        assert display_width(shown) <= max(columns - 4, 8), (columns, shown)
        last = shown.rsplit(" | ", 1)[-1]
        assert last == network or network.startswith(last.split(" ")[0]), (columns, shown)
    # Directory, branch and cost give way first, the model next; the network segment stays whole.
    at_46 = statusline({**env, "COLUMNS": "46", "NO_COLOR": "1"}, data).stdout.rstrip("\n")
    assert at_46 == f"Opus 4.5 | ctx 59% | $1.29 | {network}"
    at_30 = statusline({**env, "COLUMNS": "30", "NO_COLOR": "1"}, data).stdout.rstrip("\n")
    assert at_30 == f"ctx 59% | {network}"


def test_colours_unless_no_color(cc_env, fake_api):
    coloured = statusline(cc_env, payload()).stdout
    plain = statusline({**cc_env, "NO_COLOR": "1"}, payload()).stdout
    assert "\x1b[" in coloured and "\x1b[" not in plain


def test_segments_and_format_are_configurable(env, fake_api):
    config = Path(env["XDG_CONFIG_HOME"]) / "ccprompt" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    off = "monitoring_enabled = false\n"  # keeps the network segment still while layouts change
    config.write_text('[statusline]\nsegments = ["network", "model"]\nseparator = " · "\nstyle = "icon"\n')
    assert statusline(env, payload()).stdout == "⚪ · Opus 4.5\n"
    config.write_text(off + '[statusline]\nsegments = ["model", "network"]\n')
    assert statusline(env, payload()).stdout == "Opus 4.5 | ⚪ monitoring off\n"
    config.write_text(off + '[statusline]\nformat = "{{ model }} [{{ status }}] {{ cost }} {{ network }}"\n')
    assert statusline(env, payload()).stdout == "Opus 4.5 [unknown] $1.29 ⚪ monitoring off\n"
    assert fake_api.request_count <= 1  # only the very first render could probe
    config.write_text('[statusline]\nformat = "{{ model "\n')
    broken = statusline(env, payload())
    assert broken.returncode == 0 and "format error" in broken.stdout


def test_sync_mode_waits_for_the_probe(env, fake_api):
    result = statusline(env, payload("stdin-early.json"), extra_args=["--sync"])
    assert "🟢" in result.stdout
    assert fake_api.request_count == 1


def test_status_command(env, fake_api, run_cli):
    assert run_cli("status", env=env).stdout.strip() == "⚪ no probe yet"
    run_cli("probe", env=env)
    assert run_cli("status", "--style", "icon", env=env).stdout.strip() == "🟢"
    state = json.loads(run_cli("status", "--json", env=env).stdout)
    assert state["status"] == "healthy" and state["schema"] == 1
    bad = run_cli("status", "--style", "huge", env=env)
    assert bad.returncode == 2 and not bad.stdout


def test_debug_log_records_decisions_and_never_the_key(env, fake_api, tmp_path):
    debug_env = {**env, "CCPROMPT_DEBUG": "1"}
    transcript = fresh_transcript(tmp_path, "transcript-529.jsonl")
    out = statusline(debug_env, payload("stdin-early.json", transcript_path=str(transcript)))
    wait_for_state(env, lambda s: s["status"] != "unknown")
    settle(env)
    log = Path(env["CCPROMPT_HOME"]) / "debug.log"
    events = [json.loads(line) for line in log.read_text().splitlines()]
    names = {e["event"] for e in events}
    assert {"stdin", "transcript", "decision", "render", "credential", "refresh_decision",
            "probe_start", "probe_stop", "state_write"} <= names
    decision = next(e for e in events if e["event"] == "decision")
    assert decision["kind"] == "COLD" and decision["reason"]
    credential = next(e for e in events if e["event"] == "credential")
    assert credential["source"] == "environment" and credential["token_length"] == len(TEST_KEY)
    assert_no_secret(out, Path(env["CCPROMPT_HOME"]))


def test_debug_off_writes_nothing(env, fake_api):
    statusline(env, payload())
    wait_for_state(env, lambda s: s["status"] == "healthy")
    assert not (Path(env["CCPROMPT_HOME"]) / "debug.log").exists()


def test_the_detached_probe_gets_the_key_from_the_environment_not_argv(env, fake_api):
    fake_api.respond(delay_s=1.0)
    statusline(env, payload("stdin-early.json"))
    deadline = time.monotonic() + 5
    seen = []
    while time.monotonic() < deadline and not seen:
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                environ = Path(f"/proc/{pid}/environ").read_bytes()
            except OSError:
                continue
            # Only this test's own child: other runs on the machine start refreshes too.
            mine = f"CCPROMPT_HOME={env['CCPROMPT_HOME']}".encode() in environ.split(b"\0")
            if b"ccprompt" in cmdline and b"refresh" in cmdline and mine:
                seen.append((pid, cmdline))
        time.sleep(0.02)
    assert seen, "the detached refresh never appeared"
    pid, cmdline = seen[0]
    assert TEST_KEY.encode() not in cmdline
    try:
        assert os.getsid(int(pid)) == int(pid)  # its own session: detached from the terminal
    except ProcessLookupError:
        pass
    fake_api.wait_for_requests(1)


def test_refresh_runs_the_scheduler_once(env, fake_api, run_cli):
    first = run_cli("refresh", "--sync", env=env)
    assert first.returncode == 0 and first.stdout.startswith("COLD: no valid state yet")
    again = run_cli("refresh", "--sync", env=env)
    assert again.stdout.startswith("no probe: nothing due")
    assert fake_api.request_count == 1
    quiet = run_cli("refresh", env=env)
    assert quiet.returncode == 0 and quiet.stdout == ""


def test_inside_claude_code_the_endpoint_is_the_one_claude_code_uses(env, fake_api):
    """CLAUDECODE=1 and no ANTHROPIC_BASE_URL: Claude Code talks to the API's own URL, so the state
    and the probe are for that one, not for a URL an rc file exports (which Claude Code never saw)."""
    from ccprompt.core.paths import Paths

    home = Path(env["HOME"])
    (home / ".bashrc").write_text(f"export ANTHROPIC_BASE_URL={fake_api.url}\n")
    inside = {k: v for k, v in env.items() if k != "ANTHROPIC_BASE_URL"}
    inside["CLAUDECODE"] = "1"
    paths = Paths(inside)
    result = statusline(inside, payload(session_id="inside"), extra_args=("--sync",), timeout=30)
    assert result.returncode == 0 and result.stdout.strip(), result.stderr
    assert Path(paths.endpoint_state_file("https://api.anthropic.com/v1/messages")).exists()
    assert not Path(paths.endpoint_state_file(f"{fake_api.url}/v1/messages")).exists()
    assert fake_api.requests == []
    # Run by hand in a shell, the same setup follows the rc file, as `ccprompt probe` does.
    outside = {k: v for k, v in inside.items() if k != "CLAUDECODE"}
    result = statusline(outside, payload(session_id="outside"), extra_args=("--sync",), timeout=30)
    assert "🟢" in result.stdout, result.stdout + result.stderr
    assert Path(paths.endpoint_state_file(f"{fake_api.url}/v1/messages")).exists()
    assert len(fake_api.wait_for_requests(1)) >= 1
