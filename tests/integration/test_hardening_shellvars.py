"""Round three, finding 4: the session variables carry a safe alphabet into real prompts.

A transcript's `error` string ends up in `CCPROMPT_SESSION`. Planted with a backtick command,
a `$(...)`, zsh prompt escapes and history characters, it goes through the real status line
(which writes the session file), the real `ccprompt init` hook, and the prompt expansion of
real bash (a double-quoted `PS1`), zsh (`PROMPT_SUBST`) and fish.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hardening_support import cli, statusline

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "transcript-cc-2.1.197-529.jsonl"
# Within the 40 characters of `error` the session keeps.
PLANTED = "`touch b1`$(touch b2)%F{red}%K{white}!\\\"'"
UNSAFE = set("`$\\!'\"")


def _transcript(path: Path, error: str) -> None:
    entries = [json.loads(line) for line in FIXTURE.read_text().splitlines() if line.strip()]
    last = max(i for i, e in enumerate(entries) if e.get("isApiErrorMessage"))
    entries = entries[:last + 1]
    entries[last]["error"] = error
    stamps = [datetime.fromisoformat(e["timestamp"].replace("Z", "+00:00")) for e in entries if "timestamp" in e]
    shift = datetime.now(timezone.utc) - timedelta(seconds=20) - max(stamps)
    for entry in entries:
        if "timestamp" in entry:
            moved = datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00")) + shift
            entry["timestamp"] = moved.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    path.write_text("".join(json.dumps(e) + "\n" for e in entries))


def _unsafe_in(value: str) -> list:
    bad = [ch for ch in value if ch in UNSAFE or ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F]
    bad += [value[i:i + 2] for i, ch in enumerate(value) if ch == "%" and not (i and value[i - 1].isdigit())]
    return bad


PROMPTS = {
    # The common double-quoted PS1: the value is pasted in, then bash expands the prompt.
    "bash": (["bash", "--noprofile", "--norc", "-c"],
             'source "$1"; __ccprompt_hook; PS1="[${CCPROMPT_SESSION}] [${CCPROMPT_CONTEXT}] \\$ "; '
             'printf "%s\\n" "${PS1@P}"; env | grep "^CCPROMPT_"'),
    "zsh": (["zsh", "-f", "-c"],
            'source "$1"; __ccprompt_precmd; setopt PROMPT_SUBST; '
            'PROMPT="[${CCPROMPT_SESSION}] [${CCPROMPT_CONTEXT}] %# "; print -P -- "$PROMPT"; env | grep "^CCPROMPT_"'),
    "fish": (["fish", "--no-config", "--private", "-c"],
             'source $argv[1]; __ccprompt_hook; function fish_prompt; printf "[%s] [%s] > " $CCPROMPT_SESSION '
             '$CCPROMPT_CONTEXT; end; fish_prompt; echo; env | grep "^CCPROMPT_"'),
}


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_s4_a_planted_error_never_runs_or_renders_in_a_prompt(shell, cc_env, fake_api, tmp_path):
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    env = {**cc_env, "NO_COLOR": "1", "TERM": "dumb"}
    init = cli("init", shell, "--position", "none", "--no-refresh", env=env)
    assert init.returncode == 0, init.stderr
    script = tmp_path / f"init.{shell}"
    script.write_text(init.stdout)
    transcript = tmp_path / "session.jsonl"
    _transcript(transcript, PLANTED)
    data = {"session_id": "shellvars", "transcript_path": str(transcript), "model": {"display_name": "Opus"},
            "context_window": {"used_percentage": 6, "context_window_size": 200000}}
    line, _ = statusline(env, data)
    assert line.returncode == 0
    session_file = Path(env["CCPROMPT_HOME"]) / "prompt-session"
    assert session_file.exists(), "the status line wrote no session file"
    work = tmp_path / "work"
    work.mkdir()
    argv, program = PROMPTS[shell]
    args = [program, str(script)] if shell == "fish" else [program, shell, str(script)]
    result = subprocess.run(argv + args, env=env, cwd=str(work), capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in work.iterdir()) == [], "a planted command ran"
    prompt = result.stdout.splitlines()[0]
    assert "\x1b" not in prompt, repr(prompt)  # zsh's %F{red} did not render
    assert prompt.startswith("[API 529"), repr(prompt)
    exported = dict(line.split("=", 1) for line in result.stdout.splitlines()[1:] if "=" in line)
    assert exported["CCPROMPT_SESSION"].startswith("API 529"), exported
    assert exported["CCPROMPT_CONTEXT"].startswith("ctx 6%"), exported  # a number's unit stays
    for name, value in exported.items():
        assert _unsafe_in(value) == [], (name, value)
