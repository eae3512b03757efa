"""The prompt hook in real bash, zsh and fish: variables, placement, hostile caches, the
user's own prompt state, sourcing twice, no fork on a fresh cache, and the background refresh.

bash and zsh run with `-i` and commands on stdin: each command line ends with a real prompt
cycle (PROMPT_COMMAND, precmd), without a terminal. fish only runs prompt events on a
terminal, so its hook and wrappers are called the way fish calls them; the tmux tests cover
the interactive side of all three.
"""

from __future__ import annotations

import os
import pty
import re
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from harness import assert_no_secret

from ccprompt.surfaces.shell import init as shells
from harness.states import render_prompt_cache, write_prompt_cache

HOOK = {"bash": "__ccprompt_hook", "zsh": "__ccprompt_precmd", "fish": "__ccprompt_hook"}
ESC = "\x1b"


# -- helpers -------------------------------------------------------------------------------


def state(status="healthy", latency=470, p95=450, epoch_s=None):
    epoch_s = time.time() if epoch_s is None else epoch_s
    return {
        "status": status,
        "monitoring_enabled": True,
        "network": {"latency_ms": latency, "p95_latency_ms": p95,
                    "phases_ms": {"dns": 12, "tcp": 30, "tls": 45, "ttfb": latency - 87, "total": latency}},
        "monitoring_state": {"last_probe_epoch_ms": int(epoch_s * 1000), "last_baseline_epoch_ms": int(epoch_s * 1000)},
    }


def write_raw_cache(home: Path, lines: list[str], age_s: float = 0) -> None:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "prompt"
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8", "surrogateescape"))
    path.chmod(0o600)
    if age_s:
        when = time.time() - age_s
        os.utime(path, (when, when))


class Setup:
    """A state directory, a stand-in `ccprompt` that records its calls, and rendered scripts."""

    def __init__(self, root: Path):
        self.root = root
        self.home = root / "state"
        self.calls = root / "calls"
        self.exe = root / "bin" / "ccprompt"
        self.exe.parent.mkdir(parents=True, exist_ok=True)
        self.stub()

    def stub(self, then_write: dict | None = None, delay_s: float = 0.0):
        """The stand-in records `$@`; it can then publish a new cache, as `refresh` would."""
        body = ["#!/bin/sh", f'echo "$@" >> "{self.calls}"']
        if delay_s:
            body.append(f"sleep {delay_s}")
        if then_write is not None:
            staged = self.root / "next-prompt"
            staged.write_text(render_prompt_cache(then_write), encoding="utf-8")
            body.append(f'cp "{staged}" "{self.home}/prompt.tmp" && mv "{self.home}/prompt.tmp" "{self.home}/prompt"')
            body.append(f'touch "{self.root}/published"')
        self.exe.write_text("\n".join(body) + "\n")
        self.exe.chmod(0o755)

    def script(self, shell, position="left", style="short", refresh=True, interval=300) -> Path:
        text = shells.render_script(shell, position, style, refresh, interval, [str(self.exe)], str(self.home))
        path = self.root / f"init-{shell}-{position}-{style}-{int(refresh)}.{shell}"
        path.write_text(text, encoding="utf-8")
        return path

    def env(self, **extra) -> dict:
        env = {"CCPROMPT_STATUSPAGE_URL": "", "PATH": os.environ.get("PATH", os.defpath), "HOME": str(self.root), "LANG": "C.UTF-8",
               "TERM": "dumb"}
        env.update(extra)
        return env

    def call_lines(self) -> list[str]:
        return self.calls.read_text().splitlines() if self.calls.exists() else []

    def wait_for_calls(self, n: int, timeout: float = 5.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.call_lines()) < n:
            time.sleep(0.02)
        return self.call_lines()


@pytest.fixture
def setup(tmp_path):
    s = Setup(tmp_path)
    write_prompt_cache(str(s.home), state("degraded", latency=990, p95=450))
    return s


def run(argv, program: str, env: dict, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(argv + ["-c", program], capture_output=True, text=True, env=env, timeout=timeout)


def bash(program, env):
    return run(["bash", "--noprofile", "--norc"], program, env)


def zsh(program, env):
    return run(["zsh", "-f"], program, env)


def fish(program, env):
    return run(["fish", "--no-config", "--private"], program, env)


def session(shell: str, lines: list[str], env: dict, timeout: float = 30) -> subprocess.CompletedProcess:
    """An interactive bash or zsh fed one command line at a time; each line ends in a prompt."""
    argv = {"bash": ["bash", "--noprofile", "--norc", "-i"], "zsh": ["zsh", "-f", "-i"]}[shell]
    # History expansion would eat the `!` in test commands such as ${!-none}.
    no_history = {"bash": "set +H", "zsh": "setopt no_bang_hist"}[shell]
    return subprocess.run(argv, input="\n".join([no_history] + lines) + "\nexit\n", capture_output=True,
                          text=True, env=env, timeout=timeout)


def marked(output: str, marker: str) -> list[str]:
    return [line[len(marker):] for line in output.splitlines() if line.startswith(marker)]


# -- the variables -------------------------------------------------------------------------


@pytest.mark.parametrize("shell", shells.SHELLS)
@pytest.mark.parametrize("style, segment", [
    ("icon", "🟡"),
    ("short", "🟡 990ms"),
    ("full", "🟡 P95:450ms DNS:12ms|TCP:30ms|TLS:45ms|TTFB:903ms|Total:990ms"),
])
def test_the_hook_exports_the_state_to_child_processes(shell, style, segment, setup):
    script = setup.script(shell, "none", style)
    result = {"bash": bash, "zsh": zsh, "fish": fish}[shell](
        f"source {script}; {HOOK[shell]}; command env", setup.env())
    assert result.returncode == 0, result.stderr
    given = setup.env()  # what the test's environment already holds is not the hook's doing
    exported = dict(line.split("=", 1) for line in result.stdout.splitlines()
                    if line.startswith("CCPROMPT_") and line.split("=", 1)[0] not in given)
    assert exported == {
        "CCPROMPT_STATUS": "degraded",
        "CCPROMPT_ICON": "🟡",
        "CCPROMPT_P95_MS": "450",
        "CCPROMPT_LATENCY_MS": "990",
        "CCPROMPT_SEGMENT": segment,
        # No Claude Code session has drawn a status line here (test_shell_session.py has those).
        "CCPROMPT_CACHE": "",
        "CCPROMPT_CONTEXT": "",
        "CCPROMPT_SESSION": "",
    }


@pytest.mark.parametrize("shell", shells.SHELLS)
@pytest.mark.parametrize("content", ["missing", "foreign", "empty"])
def test_no_usable_cache_reads_as_unknown(shell, content, setup):
    cache = setup.home / "prompt"
    if content == "missing":
        cache.unlink()
    elif content == "foreign":
        write_raw_cache(setup.home, ["ccprompt-prompt v9", "1", "healthy", "🟢", "1", "2", "🟢", "🟢 2ms", "🟢 x"])
    else:
        cache.write_text("")
    script = setup.script(shell, "none", "short", refresh=False)
    program = f'source {script}; {HOOK[shell]}; printf "%s|%s|%s|%s|%s\\n" "$CCPROMPT_STATUS" "$CCPROMPT_ICON" ' \
              f'"$CCPROMPT_P95_MS" "$CCPROMPT_LATENCY_MS" "$CCPROMPT_SEGMENT"'
    result = {"bash": bash, "zsh": zsh, "fish": fish}[shell](program, setup.env())
    assert (result.stdout, result.stderr) == ("unknown|⚪|||⚪ no probe yet\n", "")


@pytest.mark.parametrize("shell", shells.SHELLS)
def test_values_that_are_not_numbers_are_never_evaluated(shell, setup):
    pwned = setup.root / "PWNED"
    write_raw_cache(setup.home, [
        "ccprompt-prompt v1",
        f"a[$(touch {pwned})]",
        "healthy",
        "🟢",
        f"$(touch {pwned})",
        f"1;touch {pwned}",
        "🟢", "🟢 470ms", "🟢 P95:450ms",
    ])
    script = setup.script(shell, "left", "short", refresh=True)
    program = f'source {script}; {HOOK[shell]}; printf "[%s][%s]\\n" "$CCPROMPT_P95_MS" "$CCPROMPT_LATENCY_MS"'
    result = {"bash": bash, "zsh": zsh, "fish": fish}[shell](program, setup.env())
    assert (result.stdout, result.stderr) == ("[][]\n", "")
    assert not pwned.exists()
    # The unreadable probe time counts as "never": a refresh is due, and only that runs.
    assert setup.wait_for_calls(1) == ["refresh"]
    assert not pwned.exists()


# -- data is shown, never interpreted ---------------------------------------------------------

HOSTILE = "🔴 %F{red}RED%f $(touch {pwned}) `touch {pwned}` \\[\\e[5m\\] !! \x1b]2;owned\x07\x1b[31m ${HOME} %%"


def hostile_cache(setup) -> str:
    pwned = setup.root / "PWNED"
    text = HOSTILE.replace("{pwned}", str(pwned))
    write_raw_cache(setup.home, ["ccprompt-prompt v1", str(int(time.time())), "error", "🔴", "", "2000",
                                 "🔴", text, text])
    return text


def shown_text(hostile: str) -> str:
    """What a person should see: the same characters, minus the control bytes."""
    return re.sub(r"[\x00-\x1f\x7f]", "", hostile)


def strip_our_colour(text: str) -> str:
    return re.sub("\x01?\x1b\\[[0-9;]*m\x02?", "", text)


@pytest.mark.parametrize("position", ["left", "right"])
@pytest.mark.parametrize("promptvars", ["-s", "-u"])
def test_bash_shows_a_hostile_cache_inert(position, promptvars, setup):
    hostile = hostile_cache(setup)
    script = setup.script("bash", position, "full", refresh=False)
    result = bash(f"shopt {promptvars} promptvars; PS1='\\u> '; source {script}; __ccprompt_hook; "
                  'printf "%s" "${PS1@P}"', setup.env(USER="tester"))
    assert result.stderr == ""
    assert not (setup.root / "PWNED").exists()
    shown = result.stdout
    assert shown.endswith("> ")
    visible = strip_our_colour(shown)
    if position == "right":  # cursor save, column, restore around the segment
        visible = re.sub("\x01\x1b7\x1b\\[\\d+G|\x1b8\x02", "", visible)
    assert ESC not in visible and "\x07" not in visible
    assert shown_text(hostile) in visible


@pytest.mark.parametrize("position", ["left", "right"])
@pytest.mark.parametrize("options", ["", "setopt prompt_subst", "setopt prompt_subst prompt_bang",
                                     "setopt no_prompt_percent"])
def test_zsh_shows_a_hostile_cache_inert(position, options, setup):
    hostile = hostile_cache(setup)
    script = setup.script("zsh", position, "full", refresh=False)
    param = "PS1" if position == "left" else "RPROMPT"
    result = zsh(f"{options}; PS1='%n> '; source {script}; __ccprompt_precmd; print -rnP -- ${param}",
                 setup.env(USER="tester"))
    assert result.stderr == ""
    assert not (setup.root / "PWNED").exists()
    visible = strip_our_colour(result.stdout)
    assert ESC not in visible and "\x07" not in visible
    assert shown_text(hostile) in visible


@pytest.mark.parametrize("position", ["left", "right", "title"])
def test_fish_shows_a_hostile_cache_inert(position, setup):
    hostile = hostile_cache(setup)
    script = setup.script("fish", position, "full", refresh=False)
    target = {"left": "fish_prompt", "right": "fish_right_prompt", "title": "fish_title"}[position]
    result = fish(f"function fish_prompt; printf '> '; end; source {script}; __ccprompt_hook; {target}",
                  setup.env())
    assert result.stderr == ""
    assert not (setup.root / "PWNED").exists()
    visible = re.sub("\x1b\\[[0-9;]*m|\x1b\\(B", "", result.stdout)  # set_color's own escapes
    assert ESC not in visible and "\x07" not in visible
    assert shown_text(hostile) in visible


def read_pty(fd: int, timeout: float = 2.0) -> bytes:
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if not ready:
            if out:
                break
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    return out


def test_bash_title_is_the_last_thing_in_ps1_and_its_data_stays_text(setup):
    hostile = hostile_cache(setup)
    script = setup.script("bash", "title", "short", refresh=False)
    program = (f"PS1='\\[\\e]0;\\u@\\h\\a\\]me> '; source {script}; {HOOK['bash']}; {HOOK['bash']}; "
               'printf "%s" "${PS1@P}"')
    result = run(["bash", "--noprofile", "--norc"], program, setup.env())
    assert result.stderr == ""
    # The user's own title first, then ours, which wins.
    assert result.stdout.startswith("\x1b]0;")
    assert result.stdout.endswith(f"me> \x1b]2;{shown_text(hostile)}\x07")
    assert result.stdout.count("\x1b]2;") == 1  # placed once, however often the hook runs
    assert not list(setup.root.rglob("PWNED"))


@pytest.mark.parametrize("shell", ["zsh"])
def test_title_goes_to_a_terminal_as_osc_2_and_never_into_a_pipe(shell, setup):
    hostile = hostile_cache(setup)
    script = setup.script(shell, "title", "short", refresh=False)
    argv = {"bash": ["bash", "--noprofile", "--norc"], "zsh": ["zsh", "-f"]}[shell]
    program = f"source {script}; {HOOK[shell]}"
    piped = run(argv, program, setup.env())
    assert (piped.stdout, piped.stderr) == ("", "")
    main, child = pty.openpty()
    try:
        proc = subprocess.Popen(argv + ["-c", program], stdin=subprocess.DEVNULL, stdout=child,
                                stderr=subprocess.PIPE, env=setup.env())
        os.close(child)
        written = read_pty(main)
        assert proc.wait(timeout=10) == 0
        assert proc.stderr.read() == b""
    finally:
        os.close(main)
    text = written.decode("utf-8")
    assert text == f"\x1b]2;{shown_text(hostile)}\x07"
    assert "PS1" not in text


# -- the user's prompt state survives ---------------------------------------------------------


def test_bash_keeps_the_exit_status_for_ps1_and_later_prompt_commands(setup):
    script = setup.script("bash", "left", "short", refresh=False)
    result = session("bash", [
        "PROMPT_COMMAND='__user_saw=$?'",
        f"source {script}",
        "PS1='[$?] '",
        "false",
        'echo "status=$? user-hook-saw=$__user_saw"',
        "(exit 7)",
        'echo "status=$? user-hook-saw=$__user_saw ps1=${PS1@P}"',
    ], setup.env())
    assert marked(result.stdout, "status=") == [
        "1 user-hook-saw=1",
        "7 user-hook-saw=7 ps1=\x01\x1b[33m\x02🟡 990ms\x01\x1b[0m\x02 [7] ",
    ]
    # The prompt bash printed after `false` (on stderr, no line editor here) expanded $? as 1.
    assert "\x1b[33m🟡 990ms\x1b[0m [1] " in result.stderr


def test_bash_ps1_and_later_array_entries_still_see_the_whole_pipestatus(setup):
    script = setup.script("bash", "left", "short", refresh=False)
    result = session("bash", [
        "PROMPT_COMMAND=('__user_pipe=\"${PIPESTATUS[*]}\"')",
        f"source {script}",
        "PS1='[${PIPESTATUS[*]}] '",
        "false | true | (exit 3)",
        'echo "user-entry-saw=$__user_pipe"',
    ], setup.env(NO_COLOR="1"))
    assert marked(result.stdout, "user-entry-saw=") == ["1 0 3"]
    assert "🟡 990ms [1 0 3] echo" in result.stderr  # the prompt after the pipeline


@pytest.mark.parametrize("form", ["string", "array"])
def test_bash_runs_first_and_keeps_an_existing_prompt_command(form, setup):
    script = setup.script("bash", "left", "short", refresh=False)
    existing = {"string": "PROMPT_COMMAND='__user_runs=$((__user_runs+1))'",
                "array": "PROMPT_COMMAND=('__user_runs=$((__user_runs+1))' '__user_second=yes')"}[form]
    result = session("bash", [
        "__user_runs=0",
        existing,
        f"source {script}",
        f"source {script}",
        "true",
        'echo "runs=$__user_runs"',
        'declare -p PROMPT_COMMAND',
        'echo "second=${__user_second-}"',
    ], setup.env())
    runs = marked(result.stdout, "runs=")
    assert runs and int(runs[0]) >= 3
    declared = [line for line in result.stdout.splitlines() if line.startswith("declare")][0]
    assert declared.count("__ccprompt_hook") == 1
    if form == "array":
        assert declared.startswith('declare -a PROMPT_COMMAND=([0]="__ccprompt_hook" [1]=')
        assert marked(result.stdout, "second=") == ["yes"]
    else:
        assert declared == "declare -- PROMPT_COMMAND=$'__ccprompt_hook\\n__user_runs=$((__user_runs+1))'"


def test_zsh_keeps_status_pipestatus_and_existing_precmd_hooks(setup):
    script = setup.script("zsh", "left", "short", refresh=False)
    result = session("zsh", [
        "precmd() { __user_precmd=\"$? ${pipestatus[*]}\" }",
        "__user_hook() { __user_hook_saw=\"$? ${pipestatus[*]}\" }",
        "precmd_functions+=(__user_hook)",
        f"source {script}",
        f"source {script}",
        "false | true | (exit 3)",
        'print -r -- "saw=$__user_precmd / $__user_hook_saw / ${(j:,:)precmd_functions}"',
        "false",
        'print -r -- "status=$?"',
    ], setup.env())
    assert marked(result.stdout, "saw=") == ["3 1 0 3 / 3 1 0 3 / __ccprompt_precmd,__user_hook"]
    assert marked(result.stdout, "status=") == ["1"]


def test_fish_wrappers_keep_status_pipestatus_and_the_user_s_prompts(setup):
    result = fish(
        "function fish_prompt; printf 'left(%s/%s)> ' $status \"$pipestatus\"; end\n"
        "function fish_right_prompt; printf 'right(%s)' $status; end\n"
        "function fish_title; printf 'title(%s)' \"$argv\"; end\n"
        f"source {setup.script('fish', 'left', 'short', refresh=False)}\n"
        "__ccprompt_hook\n"
        "false | true | false; fish_prompt; echo\n"
        f"source {setup.script('fish', 'right', 'short', refresh=False)}\n"
        "__ccprompt_hook\n"
        "false; fish_prompt; echo; false; fish_right_prompt; echo\n"
        f"source {setup.script('fish', 'title', 'short', refresh=False)}\n"
        "__ccprompt_hook\n"
        "fish_right_prompt; echo; fish_title vim; echo\n",
        setup.env(NO_COLOR="1"))
    assert result.stderr == ""
    assert result.stdout.splitlines() == [
        "🟡 990ms left(1/1 0 1)> ",   # wrapped: segment first, the user's prompt saw its status
        "left(1/1)> ",                 # re-sourced with --position right: fish_prompt is theirs again
        "right(1) 🟡 990ms",
        "right(0)",                    # and --position title gives fish_right_prompt back
        "🟡 990ms title(vim)",
    ]


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_sourcing_twice_places_the_segment_once_and_a_new_position_moves_it(shell, setup):
    left = setup.script(shell, "left", "short", refresh=False)
    right = setup.script(shell, "right", "short", refresh=False)
    show = {"bash": 'printf "PS1=%s\\n" "$PS1"', "zsh": 'print -r -- "PS1=${(%)PS1} RPROMPT=${(%)RPROMPT-}"'}[shell]
    result = session(shell, [
        "PS1='me> '",
        f"source {left}", "true", f"source {left}", "true", f"source {left}", "true",
        show,
        f"source {right}", "true", "true",
        show,
    ], setup.env(NO_COLOR="1"))
    shown = marked(result.stdout, "PS1=")
    if shell == "bash":
        assert shown[0] == "${__ccprompt_ps1_text}me> "
        assert shown[1] == "${__ccprompt_ps1_text}me> "
        assert "\x1b7" in result.stderr  # the right-hand copy is drawn with cursor save/restore
    else:
        assert shown == ["🟡 990ms me>  RPROMPT=", "me>  RPROMPT=🟡 990ms"]


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_changes_the_user_makes_to_the_prompt_are_kept(shell, setup):
    script = setup.script(shell, "left", "short", refresh=False)
    show = {"bash": 'printf "PS1=%s\\n" "${PS1@P}"', "zsh": 'print -rP -- "PS1=$PS1"'}[shell]
    result = session(shell, [
        "PS1='me> '",
        f"source {script}",
        "PS1='(venv) '$PS1",     # what a virtualenv's activate does
        show,
        "PS1='new> '",           # a plain reassignment
        show,
    ], setup.env(NO_COLOR="1"))
    assert marked(result.stdout, "PS1=") == ["🟡 990ms (venv) me> ", "🟡 990ms new> "]


@pytest.mark.parametrize("position", ["left", "right"])
def test_unusual_zsh_options_do_not_change_what_is_shown(position, setup):
    script = setup.script("zsh", position, "short", refresh=True)
    options = ("setopt ksh_arrays sh_word_split no_unset err_exit no_glob extended_glob glob_subst "
               "rc_quotes warn_create_global; IFS=:")
    result = zsh(f"{options}; PS1='me> '; RPROMPT='r'; source {script}; __ccprompt_precmd; __ccprompt_precmd; "
                 'print -r -- "[${(%)PS1}|${(%)RPROMPT}|$CCPROMPT_SEGMENT]"', setup.env(NO_COLOR="1"))
    assert (result.returncode, result.stderr) == (0, "")
    expected = {"left": "[🟡 990ms me> |r|🟡 990ms]", "right": "[me> |r 🟡 990ms|🟡 990ms]"}[position]
    assert result.stdout == expected + "\n"


@pytest.mark.parametrize("position", ["left", "right"])
def test_unusual_bash_options_do_not_change_what_is_shown(position, setup):
    script = setup.script("bash", position, "short", refresh=True)
    options = "set -u; shopt -s nullglob failglob extglob nocasematch; IFS=:"
    result = bash(f"{options}; PS1='me> '; source {script}; __ccprompt_hook; __ccprompt_hook; "
                  'printf "[%s|%s]\\n" "${PS1@P}" "$CCPROMPT_SEGMENT"', setup.env(NO_COLOR="1"))
    assert (result.returncode, result.stderr) == (0, "")
    shown = re.sub("\x01\x1b7\x1b\\[\\d+G|\x1b8\x02", "", result.stdout)
    expected = {"left": "[🟡 990ms me> |🟡 990ms]", "right": "[🟡 990msme> |🟡 990ms]"}[position]
    assert shown == expected + "\n"


# -- no fork on a fresh cache ---------------------------------------------------------------

needs_strace = pytest.mark.skipif(shutil.which("strace") is None, reason="strace is installed by .ci/run")


def process_creations(trace: str) -> list[str]:
    """execve calls and clones that make a process (threads share CLONE_THREAD)."""
    found = []
    for line in trace.splitlines():
        if re.search(r"\b(fork|vfork)\(", line):
            found.append(line)
        elif re.search(r"\bclone3?\(", line) and "CLONE_THREAD" not in line:
            found.append(line)
        elif re.search(r"\bexecve\(", line):
            found.append(line)
    return found


def write_live_session(home: Path) -> None:
    """A Claude Code session's file, so the countdowns run at every prompt too."""
    now = int(time.time())
    (home / "prompt-session").write_text(f"ccprompt-session v1\n1:2:3:\n{now}\n{now + 200}\nctx 40%\n{now - 30}\n\n")


def strace(argv, stdin_text, env, tmp_path):
    log = tmp_path / "trace"
    subprocess.run(["strace", "-f", "-qq", "-o", str(log), "-e", "trace=clone,clone3,fork,vfork,execve"] + argv,
                   input=stdin_text, capture_output=True, text=True, env=env, timeout=60)
    return process_creations(log.read_text())


@needs_strace
@pytest.mark.parametrize("shell", ["bash", "zsh"])
@pytest.mark.parametrize("position", shells.POSITIONS)
def test_fifty_prompts_on_a_fresh_cache_start_no_process(shell, position, setup):
    write_live_session(setup.home)
    script = setup.script(shell, position, "full", refresh=True)
    argv = {"bash": ["bash", "--noprofile", "--norc", "-i"], "zsh": ["zsh", "-f", "-i"]}[shell]
    prompts = f"source {script}\n" + "\n" * 50 + "exit\n"
    created = strace(argv, prompts, setup.env(), setup.root)
    assert len(created) == 1, created  # the shell's own execve, nothing else
    assert f'execve("{shutil.which(shell)}"' in created[0]
    # Control: the same session with a stale cache does start processes, and strace sees them.
    (setup.home / "prompt").unlink()
    created = strace(argv, prompts, setup.env(), setup.root)
    assert len(created) > 1
    assert any("ccprompt" in line and "execve" in line for line in created)


@needs_strace
@pytest.mark.parametrize("position", shells.POSITIONS)
def test_fifty_fish_prompt_cycles_on_a_fresh_cache_start_no_process(position, setup):
    write_live_session(setup.home)
    script = setup.script("fish", position, "full", refresh=True)
    cycle = {"left": "__ccprompt_hook; fish_prompt", "right": "__ccprompt_hook; fish_prompt; fish_right_prompt",
             "title": "__ccprompt_hook; fish_prompt; fish_title", "none": "__ccprompt_hook"}[position]
    numbers = " ".join(str(i) for i in range(50))
    program = (f"function fish_prompt; printf '> '; end\nsource {script}\n"
               f"for i in {numbers}\n{cycle}\nend\n")
    created = strace(["fish", "--no-config", "--private", "-c", program], "", setup.env(), setup.root)
    assert len(created) == 1, created  # fish's own execve, nothing else
    assert f'execve("{shutil.which("fish")}"' in created[0]


# -- the background refresh ---------------------------------------------------------------------


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_a_stale_cache_starts_one_detached_refresh_and_the_next_prompt_shows_the_result(shell, setup):
    write_prompt_cache(str(setup.home), state("healthy", epoch_s=time.time() - 3600))
    setup.stub(then_write=state("error", latency=2000), delay_s=0.3)
    script = setup.script(shell, "left", "short", refresh=True)
    published = setup.root / "published"
    result = session(shell, [
        'echo "bang=$!"',
        f"source {script}",
        'echo "seen=$CCPROMPT_STATUS"',
        'echo "bang=$!"',
        'echo "jobs=[$(jobs)]"',
        "true", "true", "true",
        f"while [ ! -e {published} ]; do sleep 0.05; done",
        'echo "seen=$CCPROMPT_STATUS"',
        'echo "bang=$!"',
        'echo "jobs=[$(jobs)]"',
    ], setup.env())
    assert marked(result.stdout, "seen=") == ["healthy", "error"]
    bangs = marked(result.stdout, "bang=")
    assert len(bangs) == 3 and len(set(bangs)) == 1, bangs  # $! never moved
    assert marked(result.stdout, "jobs=") == ["[]", "[]"]
    assert setup.call_lines() == ["refresh"]


@pytest.mark.parametrize("shell", shells.SHELLS)
def test_at_most_one_refresh_per_interval_per_shell(shell, setup):
    (setup.home / "prompt").unlink()  # stays missing: the stand-in publishes nothing
    script = setup.script(shell, "none", "short", refresh=True, interval=2)
    hook = HOOK[shell]
    pause = {"bash": "sleep 2.3", "zsh": "sleep 2.3", "fish": "command sleep 2.3"}[shell]
    program = f"source {script}\n{hook}\n{hook}\n{hook}\n{pause}\n{hook}\n{hook}\n"
    result = {"bash": bash, "zsh": zsh, "fish": fish}[shell](program, setup.env())
    assert (result.returncode, result.stderr) == (0, "")
    assert setup.wait_for_calls(2) == ["refresh", "refresh"]
    time.sleep(0.3)
    assert setup.call_lines() == ["refresh", "refresh"]


@pytest.mark.parametrize("fresh", [True, False])
def test_bash_without_epochseconds_uses_printf_for_the_time(fresh, setup):
    """bash 4.2 to 4.4 have no $EPOCHSECONDS; printf's %(%s)T is the builtin clock there."""
    write_prompt_cache(str(setup.home), state("healthy", epoch_s=time.time() - (0 if fresh else 3600)))
    script = setup.script("bash", "none", "short", refresh=True)
    result = bash(f"unset EPOCHSECONDS; source {script}; __ccprompt_hook; __ccprompt_hook", setup.env())
    assert (result.returncode, result.stderr) == (0, "")
    expected = [] if fresh else ["refresh"]
    assert setup.wait_for_calls(len(expected) or 1, timeout=1.0 if fresh else 5.0) == expected


def test_fish_without_a_clock_refreshes_on_the_first_prompt_and_every_fifty(setup):
    """fish before 3.5 has no `path` builtin: the hook counts prompts instead."""
    (setup.home / "prompt").unlink()
    script = setup.script("fish", "none", "short", refresh=True)
    calls = " ".join(str(i) for i in range(60))
    result = fish(f"source {script}\nset -e __ccprompt_clock\nfor i in {calls}\n__ccprompt_hook\nend\n", setup.env())
    assert (result.returncode, result.stderr) == (0, "")
    assert setup.wait_for_calls(2) == ["refresh", "refresh"]
    time.sleep(0.3)
    assert len(setup.call_lines()) == 2


def test_fish_starts_the_refresh_without_touching_last_pid_or_jobs(setup):
    write_prompt_cache(str(setup.home), state("healthy", epoch_s=time.time() - 3600))
    setup.stub(then_write=state("error", latency=2000))
    script = setup.script("fish", "none", "short", refresh=True)
    published = setup.root / "published"
    result = fish(
        f"command sleep 0 &\nset -l before $last_pid\nwait\nsource {script}\n__ccprompt_hook\n"
        "echo seen=$CCPROMPT_STATUS\njobs\ntest \"$last_pid\" = \"$before\"; and echo pid=same\n"
        f"while not test -e {published}; command sleep 0.05; end\n__ccprompt_hook\necho seen=$CCPROMPT_STATUS\n",
        setup.env())
    assert result.stderr == ""
    assert result.stdout.splitlines() == ["seen=healthy", "jobs: There are no jobs", "pid=same", "seen=error"]
    assert setup.call_lines() == ["refresh"]


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_the_real_refresh_probes_the_api_once_and_the_next_prompt_shows_it(shell, fake_api, cc_env, run_cli, tmp_path):
    env = dict(cc_env, TERM="dumb")
    init = run_cli("init", shell, "--position", "left", "--style", "short", env=env)
    assert init.returncode == 0, init.stderr
    script = tmp_path / f"init.{shell}"
    script.write_text(init.stdout, encoding="utf-8")
    cache = Path(env["CCPROMPT_HOME"]) / "prompt"
    result = session(shell, [
        f"source {script}",
        'echo "first=$CCPROMPT_STATUS"',
        "true", "true",
        f"i=0; while [ ! -s {cache} ] && [ $i -lt 300 ]; do sleep 0.05; i=$((i+1)); done",
        'echo "then=$CCPROMPT_STATUS $CCPROMPT_SEGMENT"',
    ], env, timeout=60)
    assert marked(result.stdout, "first=") == ["unknown"]
    then = marked(result.stdout, "then=")
    assert len(then) == 1 and re.fullmatch(r"healthy 🟢 \d+ms", then[0]), result.stdout + result.stderr
    assert fake_api.request_count == 1
    # The key travelled only through the environment: not into output, the cache or state.
    assert_no_secret(result, Path(env["CCPROMPT_HOME"]), script)


# -- the due line: sooner while a failure is on show ---------------------------------------------


def failing(probed_s_ago: float, failures: int = 1) -> dict:
    """A probe that said error `probed_s_ago` seconds ago, the `failures`-th in a row; baseline fresh."""
    document = state("error", latency=2000, epoch_s=time.time() - probed_s_ago)
    document["monitoring_state"].update(failed_in_a_row=failures, last_baseline_epoch_ms=int(time.time() * 1000))
    return document


@pytest.mark.parametrize("shell", shells.SHELLS)
def test_a_failure_on_show_is_refreshed_on_the_backoff_not_the_interval(shell, setup):
    """The cache's last line says when the scheduler wants the next probe: 10 s after a first failure."""
    script = setup.script(shell, "none", "short", refresh=True, interval=300)
    hook = HOOK[shell]
    write_prompt_cache(str(setup.home), failing(probed_s_ago=3))  # due in 7 s: nothing yet
    result = {"bash": bash, "zsh": zsh, "fish": fish}[shell](f"source {script}\n{hook}\n{hook}\n", setup.env())
    assert (result.returncode, result.stderr) == (0, "")
    time.sleep(0.3)
    assert setup.call_lines() == []
    write_prompt_cache(str(setup.home), failing(probed_s_ago=11))  # due a second ago, 289 s before the interval
    result = {"bash": bash, "zsh": zsh, "fish": fish}[shell](f"source {script}\n{hook}\n{hook}\n", setup.env())
    assert (result.returncode, result.stderr) == (0, "")
    assert setup.wait_for_calls(1) == ["refresh"]
    time.sleep(0.3)
    assert setup.call_lines() == ["refresh"]  # once, however many prompts


@pytest.mark.parametrize("shell", shells.SHELLS)
def test_a_cache_written_before_the_due_line_still_reads_and_refreshes_on_the_interval(shell, setup):
    lines = render_prompt_cache(state("degraded", latency=990, epoch_s=time.time() - 400)).split("\n")[:9]
    write_raw_cache(setup.home, lines)
    script = setup.script(shell, "none", "short", refresh=True, interval=300)
    result = {"bash": bash, "zsh": zsh, "fish": fish}[shell](
        f"source {script}\n{HOOK[shell]}\necho \"seen=$CCPROMPT_STATUS\"\n", setup.env())
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    assert marked(result.stdout, "seen=") == ["degraded"]
    assert setup.wait_for_calls(1) == ["refresh"]  # 400 s old: past the interval
