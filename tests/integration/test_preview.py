"""`ccprompt statusline --preview`: every state from built-in samples, through the real renderer,
touching neither the state directory nor the network."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness import REPO_ROOT

STATES = ("healthy", "slow", "529", "DNS failure", "waiting", "retrying", "keyless", "no probe yet", "narrow (50)")


def shown(stdout: str) -> dict:
    """{sample name: the line shown for it}."""
    lines = stdout.splitlines()
    found = {}
    for head, line in zip(lines, lines[1:]):
        if head and not head.startswith(" ") and line.startswith(" "):
            found[head.split("  ")[0]] = line.strip()
    return found


def test_preview_renders_every_state_and_touches_nothing(run_cli, cc_env, fake_api):
    before = sorted(Path(cc_env["HOME"]).rglob("*"))
    result = run_cli("statusline", "--preview", env={**cc_env, "NO_COLOR": "1"})
    assert result.returncode == 0 and result.stderr == ""
    lines = shown(result.stdout)
    assert tuple(lines) == STATES
    assert lines["healthy"].endswith("| 🟢 P95:450ms")
    assert "| 🟡 P95:450ms DNS:12ms|TCP:30ms|TLS:45ms|TTFB:" in lines["slow"]
    assert "| 🔴 529 overloaded DNS:" in lines["529"]
    assert lines["DNS failure"].endswith("| 🔴 DNS: no such host Total:1ms") and ":-" not in lines["DNS failure"]
    assert lines["waiting"].endswith("🟢 P95:450ms ⏳ 45s")
    assert "🔴 Claude Code is retrying · attempt 3" in lines["retrying"]
    assert lines["keyless"].endswith("⏳ 45s · network ok")
    assert lines["no probe yet"].endswith("⚪ no probe yet")
    assert lines["narrow (50)"] == "Opus 4.5 | ctx 42% | 🔴 529 overloaded"
    # Directory and branch read as two things, not `main | ⎇ main`.
    assert "| webapp | ⎇ feature/login |" in lines["healthy"]
    assert sorted(Path(cc_env["HOME"]).rglob("*")) == before  # no state directory, no file written
    assert fake_api.request_count == 0


def test_preview_colours_on_a_terminal_only(run_cli, cc_env):
    plain = run_cli("statusline", "--preview", env=cc_env).stdout  # a pipe: no colour
    assert "\x1b[" not in plain


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_preview_opens_no_socket(cc_env):
    traced = subprocess.run(["strace", "-f", "-qq", "-e", "trace=socket,connect", sys.executable, "-m", "ccprompt",
                             "statusline", "--preview"], env=cc_env, cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=60)
    assert traced.returncode == 0, traced.stderr[-500:]
    calls = [line for line in traced.stderr.splitlines() if "socket(" in line or "connect(" in line]
    assert calls == [], calls
    assert "🟢" in traced.stdout
