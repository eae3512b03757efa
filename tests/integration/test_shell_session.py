"""CCPROMPT_CACHE, CCPROMPT_CONTEXT and CCPROMPT_SESSION in real bash, zsh and fish.

The hooks count down from the session file with the shell's own clock; what they export must
be what `promptsession.values` computes for the same second, whatever the file holds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from ccprompt.core import promptsession
from ccprompt.surfaces.shell import init as shells

HOOK = {"bash": "__ccprompt_hook", "zsh": "__ccprompt_precmd", "fish": "__ccprompt_hook"}
NAMES = ("CCPROMPT_CACHE", "CCPROMPT_CONTEXT", "CCPROMPT_SESSION")
ARGV = {"bash": ["bash", "--noprofile", "--norc", "-c"], "zsh": ["zsh", "-f", "-c"],
        "fish": ["fish", "--no-config", "--private", "-c"]}


def need(shell):
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is installed by .ci/run")


def hook_values(shell: str, home: Path, root: Path, runs: int = 1) -> list[tuple[dict, float, float]]:
    """Run the hook `runs` times in one shell; each run's exported values, with the time bracketing the run."""
    need(shell)
    script = root / f"init.{shell}"
    script.write_text(shells.render_script(shell, "none", "short", False, 300, ["/bin/false"], str(home)))
    stamp = root / "stamp"
    probe = {"bash": f'date +%s.%N >> {stamp}', "zsh": f'date +%s.%N >> {stamp}',
             "fish": f'date +%s.%N >> {stamp}'}[shell]
    one = f"{probe}; {HOOK[shell]}; {probe}; command env | grep -E '^CCPROMPT_(CACHE|CONTEXT|SESSION)=' | sort; echo ---"
    program = f"source {script}; " + "; ".join([one] * runs)
    env = {"CCPROMPT_STATUSPAGE_URL": "", "PATH": os.environ.get("PATH", os.defpath), "HOME": str(root), "LANG": "C.UTF-8", "TERM": "dumb"}
    stamp.unlink(missing_ok=True)
    result = subprocess.run(ARGV[shell] + [program], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    times = [float(t) for t in stamp.read_text().split()]
    out = []
    for i, block in enumerate(result.stdout.split("---\n")[:runs]):
        exported = dict(line.split("=", 1) for line in block.splitlines())
        out.append(({name: exported.get(name) for name in NAMES}, times[2 * i], times[2 * i + 1]))
    return out


# The shells' clocks (`$EPOCHSECONDS`, `printf '%(%s)T'`) come from time(2), which reads the coarse
# real-time clock: it can lag the clock `date +%N` reads by up to one scheduler tick.
COARSE_LAG_S = 0.02


def expected_any(text: str, t0: float, t1: float) -> list[dict]:
    seconds = range(int(t0 - COARSE_LAG_S), int(t1) + 1)
    return [promptsession.values(text, float(s)) for s in seconds]


def write(home: Path, text: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "prompt-session").write_text(text, encoding="utf-8")


def session_file(now, *, last=-10, expiry=192, context="ctx 87% · ~2 turns to compact", since=-45, error=""):
    def at(offset):
        return "" if offset is None else str(int(now + offset))
    return "\n".join(["ccprompt-session v1", "1:2:3:", at(last), at(expiry), context, at(since), error]) + "\n"


CASES = {
    "waiting, cache warm": {},
    "stalled, cache expired": {"expiry": -5, "since": -400},
    "errored": {"since": None, "error": "API 529 overloaded_error"},
    "one-hour cache": {"expiry": 3900, "since": None, "context": "ctx 3%"},
    "no cache use": {"expiry": None, "since": None},
    "quiet for an hour": {"last": -3700},
}


@pytest.mark.parametrize("shell", shells.SHELLS)
@pytest.mark.parametrize("case", CASES)
def test_the_hook_exports_what_the_status_line_would_show(shell, case, tmp_path):
    home = tmp_path / "state"
    text = session_file(time.time(), **CASES[case])
    write(home, text)
    [(got, t0, t1)] = hook_values(shell, home, tmp_path)
    assert got in expected_any(text, t0, t1), (got, promptsession.values(text, t1))
    if case != "quiet for an hour":
        assert got["CCPROMPT_CONTEXT"], got


@pytest.mark.parametrize("shell", shells.SHELLS)
def test_the_countdown_moves_between_prompts_without_a_new_file(shell, tmp_path):
    home = tmp_path / "state"
    text = session_file(time.time(), expiry=4, since=-58)
    write(home, text)
    runs = hook_values(shell, home, tmp_path)
    time.sleep(5)
    runs += hook_values(shell, home, tmp_path)
    for got, t0, t1 in runs:
        assert got in expected_any(text, t0, t1)
    assert runs[0][0]["CCPROMPT_CACHE"].startswith("cache ") and runs[0][0]["CCPROMPT_CACHE"] != "cache expired"
    assert runs[-1][0]["CCPROMPT_CACHE"] == "cache expired"
    assert runs[0][0]["CCPROMPT_SESSION"].startswith("waiting ")
    assert runs[-1][0]["CCPROMPT_SESSION"].startswith("waiting 1m0")
    assert runs[0][0]["CCPROMPT_SESSION"] != runs[-1][0]["CCPROMPT_SESSION"]


HOSTILE = {
    "missing": None,
    "foreign": "ccprompt-session v9\nk\n{now}\n{now}\nctx 1%\n\n\n",
    "not numbers": "ccprompt-session v1\nk\n$(touch {pwned})\n1;touch {pwned}\nctx 1%\n`touch {pwned}`\n\n",
    "too long": "ccprompt-session v1\nk\n{now}\n{now}\n" + "x" * 5000 + "\n\n\n",
    "a huge epoch": "ccprompt-session v1\nk\n{now}\n99999999999999999999\nctx 1%\n99999999999999999999\n\n",
}


@pytest.mark.parametrize("shell", shells.SHELLS)
@pytest.mark.parametrize("case", HOSTILE)
def test_a_missing_foreign_or_hostile_file_sets_nothing_and_runs_nothing(shell, case, tmp_path):
    home = tmp_path / "state"
    pwned = tmp_path / "PWNED"
    if HOSTILE[case] is not None:
        write(home, HOSTILE[case].format(now=int(time.time()), pwned=pwned))
    [(got, _, _)] = hook_values(shell, home, tmp_path)
    if case == "not numbers" or case == "a huge epoch":
        # A context line is only text: it may show, but nothing in the file runs.
        assert got["CCPROMPT_CACHE"] == "" and got["CCPROMPT_SESSION"] == ""
    else:
        assert got == dict.fromkeys(NAMES, ""), got
    assert not pwned.exists()


@pytest.mark.parametrize("shell", shells.SHELLS)
def test_control_characters_never_reach_the_variables(shell, tmp_path):
    home = tmp_path / "state"
    now = time.time()
    write(home, session_file(now, context="ctx 9%\x1b]2;pwned\x07", since=None, error="API \x1b[31m529"))
    [(got, _, _)] = hook_values(shell, home, tmp_path)
    assert got["CCPROMPT_CONTEXT"] == "ctx 9%]2;pwned" and got["CCPROMPT_SESSION"] == "API [31m529", got


@pytest.mark.parametrize("shell", shells.SHELLS)
def test_a_fifo_in_place_of_the_file_never_blocks_the_prompt(shell, tmp_path):
    home = tmp_path / "state"
    home.mkdir()
    os.mkfifo(home / "prompt-session")
    [(got, _, _)] = hook_values(shell, home, tmp_path)
    assert got == dict.fromkeys(NAMES, "")


def test_the_file_format_matches_the_shells(tmp_path):
    """The seven lines the hooks read are the seven `render` writes."""
    text = session_file(time.time())
    assert text.count("\n") == promptsession.LINES
    assert json.dumps(promptsession.values(text, time.time()), ensure_ascii=False).count("CCPROMPT_") == 3


@pytest.mark.parametrize("shell", shells.SHELLS)
def test_one_shell_follows_a_new_turn_and_a_removed_file(shell, tmp_path):
    """The file is read again at most every REREAD_S seconds; a new one, or none, shows after that."""
    need(shell)
    home = tmp_path / "state"
    now = time.time()
    write(home, session_file(now, since=-45))
    staged = tmp_path / "next"
    staged.write_text(session_file(now, since=None, context="ctx 91%"))
    script = tmp_path / f"init.{shell}"
    script.write_text(shells.render_script(shell, "none", "short", False, 300, ["/bin/false"], str(home)))
    show = 'printf "%s|%s|%s\\n" "$CCPROMPT_CACHE" "$CCPROMPT_CONTEXT" "$CCPROMPT_SESSION"'
    wait = f"sleep {promptsession.REREAD_S + 0.5}"
    target = home / "prompt-session"
    program = "; ".join([f"source {script}", HOOK[shell], show, f"command cp {staged} {target}", HOOK[shell], show,
                         wait, HOOK[shell], show, f"command rm {target}", wait, HOOK[shell], show])
    env = {"CCPROMPT_STATUSPAGE_URL": "", "PATH": os.environ.get("PATH", os.defpath), "HOME": str(tmp_path), "LANG": "C.UTF-8", "TERM": "dumb"}
    result = subprocess.run(ARGV[shell] + [program], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    first, same, turned, gone = result.stdout.splitlines()
    assert first.split("|")[1] == "ctx 87% · ~2 turns to compact" and first.split("|")[2].startswith("waiting 4")
    assert same.split("|")[1] == "ctx 87% · ~2 turns to compact"  # read again only after REREAD_S
    assert turned.split("|")[1:] == ["ctx 91%", ""] and turned.startswith("cache ")
    assert gone == "||"
