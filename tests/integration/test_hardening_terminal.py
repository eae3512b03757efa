"""Round three, finding 3: escape sequences planted in a transcript never reach the terminal.

A real Claude Code transcript (2.1.197, a 529 session) has every string value poisoned with
an OSC 52 clipboard write, a clear-screen, C1 controls and bidi overrides; then every command
that prints a transcript field runs for real, and each printed character is checked.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hardening_support import TREE, cli, popen, statusline

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "transcript-cc-2.1.197-529.jsonl"
# OSC 52 (clipboard), CSI clear-screen, OSC 0 (title), an 8-bit CSI, RLO, LRI, an isolate pop,
# a zero-width joiner, BEL, backspace, DEL, an 8-bit OSC and a raw NUL.
HOSTILE = ("x\x1b]52;c;cHduZWQ=\x07\x1b[2J\x1b]0;pwned\x07\u009b31m\u202e\u2066\u2069\u200d"
           "\x08\x7f\u009d8;;http://evil\u009c\x00\u202a\u202d")
# What the poisoning must leave alone for the entry to still parse as what it is.
STRUCTURAL = {"type", "role", "subtype", "timestamp", "stop_reason", "userType", "entrypoint"}


def forbidden(text: str) -> list:
    """Every character that must never reach a terminal: C0 but newline, DEL, C1, ESC, bidi."""
    bad = []
    for index, ch in enumerate(text):
        code = ord(ch)
        if (code < 0x20 and ch != "\n") or 0x7F <= code <= 0x9F or 0x202A <= code <= 0x202E \
                or 0x2066 <= code <= 0x2069 or code in (0x200E, 0x200F, 0x061C):
            bad.append((index, hex(code), text[max(0, index - 20):index + 5]))
    return bad


def poison(value, key=None):
    if isinstance(value, dict):
        return {k: poison(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [poison(v, key) for v in value]
    if isinstance(value, str) and key not in STRUCTURAL and value != "<synthetic>":
        return value + HOSTILE
    return value


@pytest.fixture
def hostile_session(cc_env):
    """The poisoned transcript under ~/.claude/projects, its timestamps moved to the last minutes."""
    entries = [json.loads(line) for line in FIXTURE.read_text().splitlines() if line.strip()]
    last_error = max(i for i, e in enumerate(entries) if e.get("isApiErrorMessage"))
    entries = entries[:last_error + 1]  # the session ends on its 529: STATE says `errored 529 …`
    for entry in entries:  # and it ran a tool, so the TOOLS column has a name to show
        message = entry.get("message")
        if entry.get("type") == "assistant" and isinstance(message, dict) and message.get("model") != "<synthetic>":
            message["content"].append({"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {}})
    stamps = [datetime.fromisoformat(e["timestamp"].replace("Z", "+00:00")) for e in entries if "timestamp" in e]
    shift = datetime.now(timezone.utc) - timedelta(seconds=30) - max(stamps)
    lines = []
    for entry in entries:
        if "timestamp" in entry:
            moved = datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00")) + shift
            entry["timestamp"] = moved.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        lines.append(json.dumps(poison(entry)))
    project = Path(cc_env["HOME"]) / ".claude" / "projects" / ("-home-you-src-webapp" + "\x1b[2J\u202e")
    project.mkdir(parents=True)
    path = project / "7d3c9e10-hostile.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def _printed(result) -> str:
    return result.stdout + result.stderr


def test_s3_no_escape_from_a_transcript_reaches_the_terminal(cc_env, fake_api, hostile_session, tmp_path):
    env = {**cc_env, "NO_COLOR": "1", "COLUMNS": "200"}
    runs = {
        "sessions": cli("sessions", env=env),
        "sessions --all": cli("sessions", "--all", env=env),
        "postmortem": cli("postmortem", "last", env=env),
        "explain": cli("explain", "--transcript", hostile_session, env=env),
        "status": cli("status", env=env),
    }
    data = {"session_id": "7d3c9e10-hostile", "transcript_path": str(hostile_session),
            "model": {"id": "claude-test", "display_name": "Opus" + HOSTILE},
            "workspace": {"current_dir": str(tmp_path / ("w" + HOSTILE.replace("\x00", "")))}}
    runs["statusline"] = statusline(env, data)[0]
    for name, result in runs.items():
        assert "Traceback" not in result.stderr, (name, result.stderr[-500:])
        assert forbidden(_printed(result)) == [], (name, forbidden(_printed(result))[:5])
    # The fields still say what happened, without their payload.
    assert "errored" in runs["sessions"].stdout and "529" in runs["sessions"].stdout, runs["sessions"].stdout
    assert "Bash" in runs["sessions"].stdout, runs["sessions"].stdout
    assert "pwned" not in runs["sessions"].stdout
    assert "529" in runs["postmortem"].stdout


def test_s3_the_watch_view_shows_no_escape_from_a_transcript(cc_env, hostile_session):
    env = {**cc_env, "NO_COLOR": "1", "COLUMNS": "200", "LINES": "40", "TERM": "dumb"}
    proc = popen("sessions", "--watch", "--interval", "0.5", env=env, stdout=subprocess.PIPE,
                 stderr=subprocess.PIPE)
    time.sleep(4)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    text = (out + err).decode("utf-8", "replace")
    assert "Traceback" not in text, text[-500:]
    assert "errored" in text and "529" in text, text[-800:]
    assert forbidden(text) == [], forbidden(text)[:5]


@pytest.mark.parametrize("args", [["sessions", "--json"], ["postmortem", "last", "--json"], ["explain", "--json"],
                                  ["status", "--json"]])
def test_s3_json_output_keeps_the_text_escaped_not_raw(args, cc_env, hostile_session):
    result = cli(*args, env={**cc_env, "NO_COLOR": "1"})
    assert result.returncode == 0, result.stderr
    assert forbidden(result.stdout + result.stderr) == [], forbidden(result.stdout)[:5]
    json.loads(result.stdout)


def test_s3_the_forbidden_walk_finds_what_it_must(cc_env):
    # The check itself: each planted character is caught.
    found = {code for _, code, _ in forbidden(HOSTILE)}
    assert {"0x1b", "0x7", "0x9b", "0x202e", "0x2066", "0x2069", "0x8", "0x7f", "0x9d", "0x9c", "0x0",
            "0x202a", "0x202d"} <= found
    assert TREE.exists()
