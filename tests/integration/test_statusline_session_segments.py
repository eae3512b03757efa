"""The `cache` and `session` segments: the session's prompt cache countdown and a waiting turn, when asked for."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from harness import REPO_ROOT
from harness.wait import log_records


def stamp(seconds_ago: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def transcript(path: Path, waiting_for_s: float) -> Path:
    entries = [
        {"type": "user", "timestamp": stamp(200), "message": {"role": "user", "content": "hi"}},
        {"type": "assistant", "timestamp": stamp(190),
         "message": {"id": "msg_1", "role": "assistant", "model": "claude-sonnet-4-5",
                     "content": [{"type": "text", "text": "ok"}],
                     "usage": {"input_tokens": 10, "cache_read_input_tokens": 50000,
                               "cache_creation_input_tokens": 2000, "output_tokens": 5}}},
        {"type": "user", "timestamp": stamp(waiting_for_s), "message": {"role": "user", "content": "next"}},
    ]
    path.write_text("".join(json.dumps(e) + "\n" for e in entries))
    return path


def render(env, transcript_path, segments):
    config = Path(env["XDG_CONFIG_HOME"]) / "ccprompt" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f"[statusline]\nsegments = {json.dumps(segments)}\n")
    data = {"session_id": "seg", "transcript_path": str(transcript_path), "model": {"display_name": "Sonnet"}}
    return subprocess.run([sys.executable, "-m", "ccprompt", "statusline"], input=json.dumps(data),
                          env={**env, "NO_COLOR": "1", "CCPROMPT_DEBUG": "1"}, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=30)


def test_cache_and_session_segments_show_when_asked_for(cc_env, fake_api, tmp_path):
    path = transcript(tmp_path / "t.jsonl", waiting_for_s=45)
    line = render(cc_env, path, ["model", "cache", "session", "network"]).stdout.strip()
    model, cache, session, network = line.split(" | ")
    assert model == "Sonnet"
    # the last cache read was 190 s ago: a 5-minute ephemeral cache has about 1m50s left
    assert cache.startswith("cache 1m") and session.startswith("waiting 4")
    assert network.startswith("⚪") or network.startswith("🟢")


def test_the_default_layout_reads_nothing_for_them(cc_env, fake_api, tmp_path):
    path = transcript(tmp_path / "t.jsonl", waiting_for_s=45)
    line = render(cc_env, path, ["model", "network"]).stdout.strip()
    assert "cache" not in line and "waiting 4" not in line
    renders = log_records(cc_env["CCPROMPT_HOME"], "render")
    assert renders and all(r["status"] for r in renders)


def test_context_gains_the_turns_to_compact_estimate_near_compaction(cc_env, fake_api, tmp_path):
    entries = []
    for i, tokens in enumerate((100_000, 130_000, 160_000)):
        entries.append({"type": "user", "timestamp": stamp(300 - 60 * i), "message": {"role": "user", "content": "go"}})
        entries.append({"type": "assistant", "timestamp": stamp(290 - 60 * i),
                        "message": {"id": f"msg_{i}", "role": "assistant", "model": "claude-sonnet-4-5",
                                    "content": [{"type": "text", "text": "ok"}],
                                    "usage": {"input_tokens": 10, "cache_read_input_tokens": tokens,
                                              "cache_creation_input_tokens": 0, "output_tokens": 5}}})
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in entries))

    def line(used):
        data = {"session_id": "ctx", "transcript_path": str(path), "model": {"display_name": "Sonnet"},
                "context_window": {"used_percentage": used, "context_window_size": 200_000}}
        return subprocess.run([sys.executable, "-m", "ccprompt", "statusline"], input=json.dumps(data),
                              env={**cc_env, "NO_COLOR": "1"}, cwd=REPO_ROOT, capture_output=True, text=True,
                              timeout=30).stdout.strip()

    near = line(80)
    assert "ctx 80% · ~" in near and "to compact" in near  # 30K a turn, 20K left before compaction
    assert "to compact" not in line(30)  # far from it: nothing more is read or said


# -- the same segments for the shell prompt -------------------------------------------------


def shell_init(env) -> str:
    """`ccprompt init bash` as a user's shell start runs it (which also creates its cache directory)."""
    result = subprocess.run([sys.executable, "-m", "ccprompt", "init", "bash", "--no-refresh", "--position", "none"],
                            env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout


def bash_prompt(env, script: str) -> dict:
    result = subprocess.run(["bash", "--noprofile", "--norc", "-c", script + "\n__ccprompt_hook; command env"],
                            env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return {k: v for k, v in (line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
            if k in ("CCPROMPT_CACHE", "CCPROMPT_CONTEXT", "CCPROMPT_SESSION")}


def test_the_status_line_hands_the_session_to_the_shell_prompt(cc_env, fake_api, tmp_path):
    script = shell_init(cc_env)
    path = transcript(tmp_path / "t.jsonl", waiting_for_s=45)
    render(cc_env, path, ["model", "network"])  # the default layout: the prompt gets them all the same
    written = Path(cc_env["CCPROMPT_HOME"]) / "prompt-session"
    assert oct(written.stat().st_mode & 0o777) == "0o600"
    text = written.read_text()
    assert "next" not in text and "hi\n" not in text and str(tmp_path) not in text  # numbers and labels only
    shown = bash_prompt(cc_env, script)
    assert shown["CCPROMPT_SESSION"].startswith("waiting 4"), shown
    assert shown["CCPROMPT_CACHE"].startswith("cache 1m"), shown
    assert shown["CCPROMPT_CONTEXT"] == "ctx 26%", shown


def test_a_redraw_rewrites_nothing_and_a_new_turn_does(cc_env, fake_api, tmp_path):
    script = shell_init(cc_env)
    path = transcript(tmp_path / "t.jsonl", waiting_for_s=45)
    render(cc_env, path, ["model", "network"])
    written = Path(cc_env["CCPROMPT_HOME"]) / "prompt-session"
    before = written.stat()
    render(cc_env, path, ["model", "network"])
    after = written.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    with open(path, "a") as handle:  # the reply arrives
        handle.write(json.dumps({"type": "assistant", "timestamp": stamp(1), "message": {
            "id": "msg_2", "role": "assistant", "model": "claude-sonnet-4-5", "content": [{"type": "text", "text": "ok"}],
            "usage": {"input_tokens": 10, "cache_read_input_tokens": 90000, "output_tokens": 5}}}) + "\n")
    render(cc_env, path, ["model", "network"])
    assert written.stat().st_ino != before.st_ino
    shown = bash_prompt(cc_env, script)
    assert shown == {"CCPROMPT_CACHE": shown["CCPROMPT_CACHE"], "CCPROMPT_CONTEXT": "ctx 45%", "CCPROMPT_SESSION": ""}
    assert shown["CCPROMPT_CACHE"].startswith("cache 4m") or shown["CCPROMPT_CACHE"] == "cache 5m00s"


def test_nothing_is_written_before_a_shell_hook_or_into_an_unsafe_directory(cc_env, fake_api, tmp_path):
    path = transcript(tmp_path / "t.jsonl", waiting_for_s=45)
    home = Path(cc_env["CCPROMPT_HOME"])
    render(cc_env, path, ["model", "network"])
    assert home.is_dir() and not (home / "prompt-session").exists()
    shell_init(cc_env)
    home.chmod(0o777)
    try:
        line = render(cc_env, path, ["model", "network"]).stdout
        assert "unsafe" in line
        assert not (home / "prompt-session").exists()
    finally:
        home.chmod(0o700)
