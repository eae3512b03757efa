"""What a person sees: interactive bash, zsh and fish in tmux, each with a throwaway HOME.

Each shell loads ccprompt the way the README says (the init line in its rc file) and tmux
shows where the segment lands. The screen is polled with a deadline, never slept on.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from harness import assert_no_secret

from ccprompt.surfaces.shell import init as shells
from ccprompt.surfaces.shell.rcfile import init_line
from harness.states import write_prompt_cache

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is installed by .ci/run")

WIDTH, HEIGHT = 100, 24
SEGMENT = "🟡 990ms"
STATUS_WORD = {"bash": "$?", "zsh": "$?", "fish": "$status"}


class Tmux:
    """One tmux server on its own socket, one pane running the shell under test."""

    def __init__(self):
        self.socket = f"ccprompt-test-{uuid.uuid4().hex[:12]}"

    def tmux(self, *args, check=True) -> str:
        result = subprocess.run(["tmux", "-L", self.socket, "-u", "-f", "/dev/null", *args],
                                capture_output=True, text=True, timeout=10,
                                env=dict(os.environ, LANG="C.UTF-8"))
        if check and result.returncode != 0:
            raise AssertionError(f"tmux {args[0]} failed: {result.stderr}")
        return result.stdout

    def start(self, argv: list[str], env: dict) -> None:
        command = ["env", "-i"] + [f"{k}={v}" for k, v in env.items()] + argv
        self.tmux("new-session", "-d", "-x", str(WIDTH), "-y", str(HEIGHT), "-s", "main", *command)

    def screen(self) -> list[str]:
        """The visible lines, a long line wrapped by the terminal joined back into one."""
        text = self.tmux("capture-pane", "-p", "-J", "-t", "main")
        return [line.rstrip() for line in text.rstrip("\n").split("\n")]

    def show(self, fmt: str) -> str:
        return self.tmux("display-message", "-p", "-t", "main", fmt).rstrip("\n")

    def type(self, text: str, enter: bool = True) -> None:
        self.tmux("send-keys", "-t", "main", "-l", text)
        if enter:
            self.tmux("send-keys", "-t", "main", "Enter")

    def key(self, name: str) -> None:
        self.tmux("send-keys", "-t", "main", name)

    def wait_for(self, predicate, timeout: float = 15.0, what: str = "") -> list[str]:
        deadline = time.monotonic() + timeout
        while True:
            lines = self.screen()
            if predicate(lines):
                return lines
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; screen:\n" + "\n".join(lines))
            time.sleep(0.05)

    def wait_for_line(self, pattern: str, timeout: float = 15.0) -> str:
        regex = re.compile(pattern)
        lines = self.wait_for(lambda ls: any(regex.search(line) for line in ls), timeout, pattern)
        return [line for line in lines if regex.search(line)][-1]

    def kill(self) -> None:
        self.tmux("kill-server", check=False)


@pytest.fixture
def tmux():
    server = Tmux()
    yield server
    server.kill()


class User:
    """A throwaway HOME with ccprompt's state directory and the shell's rc file."""

    def __init__(self, root: Path, extra_env: dict | None = None):
        self.home = root / "home"
        self.home.mkdir(parents=True)
        self.state = self.home / ".claude" / "ccprompt"
        self.env = {
            "HOME": str(self.home),
            "CCPROMPT_STATUSPAGE_URL": "", "PATH": os.environ.get("PATH", os.defpath),
            "LANG": "C.UTF-8",
            "TERM": "screen",
            "CCPROMPT_HOME": str(self.state),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "ZDOTDIR": str(self.home),
        }
        self.env.update(extra_env or {})

    def fresh_cache(self) -> None:
        write_prompt_cache(str(self.state), {
            "status": "degraded",
            "monitoring_enabled": True,
            "network": {"latency_ms": 990, "p95_latency_ms": 450},
            "monitoring_state": {"last_probe_epoch_ms": int(time.time() * 1000)},
        })

    def init_command(self, shell: str, *options: str) -> str:
        """The README's line, with the command this checkout runs as."""
        line = init_line(shell)
        marker = f" init {shell}"
        return line.replace(marker, marker + "".join(" " + o for o in options))

    def rc(self, shell: str, before: str, *options: str, after: str = "", times: int = 1) -> list[str]:
        init = "\n".join([self.init_command(shell, *options)] * times)
        if shell == "bash":
            path = self.home / ".bashrc"
            path.write_text(f"PS1='me> '\n{before}\n{init}\n{after}\n")
            return ["bash", "--noprofile", "--rcfile", str(path), "-i"]
        if shell == "zsh":
            (self.home / ".zshrc").write_text(f"PS1='me> '\n{before}\n{init}\n{after}\n")
            return ["zsh", "-d", "-i"]  # -d: no /etc/zsh files, the user's own .zshrc only
        config = self.home / ".config" / "fish" / "config.fish"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text("set -g fish_greeting ''\nfunction fish_prompt; printf 'me> '; end\n"
                          f"{before}\n{init}\n{after}\n")
        return ["fish", "-i"]


@pytest.fixture
def user(tmp_path):
    return User(tmp_path)


def prompt_line(lines: list[str]) -> str:
    """The last line that holds a prompt (capture-pane drops trailing spaces)."""
    return [line for line in lines if "me>" in line][-1]


def wait_for_prompt(tmux, count: int = 1) -> list[str]:
    return tmux.wait_for(lambda ls: sum("me>" in line for line in ls) >= count, what=f"{count} prompt(s)")


# -- placement -------------------------------------------------------------------------------


@pytest.mark.parametrize("shell", shells.SHELLS)
def test_left_puts_the_segment_in_front_and_line_editing_stays_right(shell, tmux, user):
    user.fresh_cache()
    tmux.start(user.rc(shell, "", "--position", "left", "--no-refresh"), user.env)
    assert prompt_line(wait_for_prompt(tmux)) == f"{SEGMENT} me>"
    # Type, jump to the start of the line, insert: the editor must know the prompt's width.
    tmux.type("abc", enter=False)
    tmux.key("C-a")
    tmux.type("X", enter=False)
    line = tmux.wait_for_line(r"Xabc")
    assert line == f"{SEGMENT} me> Xabc"
    width = len(SEGMENT) + 1 + len(" me> ")  # the icon takes two columns
    assert tmux.show("#{cursor_x}") == str(width + 1)


@pytest.mark.parametrize("shell", shells.SHELLS)
def test_right_puts_the_segment_at_the_right_edge(shell, tmux, user):
    user.fresh_cache()
    tmux.start(user.rc(shell, "", "--position", "right", "--no-refresh"), user.env)
    line = prompt_line(tmux.wait_for(lambda ls: any(SEGMENT in line for line in ls), what="the segment"))
    assert line.startswith("me> ")
    assert line.endswith(SEGMENT)
    columns = len(line) + 1  # the icon takes two columns
    assert WIDTH - 2 <= columns <= WIDTH, line
    # Typing starts right after the left prompt.
    tmux.type("echo hi", enter=False)
    assert tmux.wait_for_line(r"^me> echo hi").startswith("me> echo hi")


@pytest.mark.parametrize("shell", shells.SHELLS)
def test_title_puts_the_segment_in_the_terminal_title_only(shell, tmux, user):
    user.fresh_cache()
    tmux.start(user.rc(shell, "", "--position", "title", "--no-refresh"), user.env)
    wait_for_prompt(tmux)
    deadline = time.monotonic() + 10
    while SEGMENT not in tmux.show("#{pane_title}") and time.monotonic() < deadline:
        time.sleep(0.05)
    title = tmux.show("#{pane_title}")
    if shell == "fish":
        assert title.startswith(SEGMENT + " ")  # then fish's own title
    else:
        assert title == SEGMENT
    assert all(SEGMENT not in line for line in tmux.screen())


@pytest.mark.parametrize("shell", shells.SHELLS)
def test_none_only_sets_the_variables(shell, tmux, user):
    user.fresh_cache()
    tmux.start(user.rc(shell, "", "--position", "none", "--no-refresh"), user.env)
    assert prompt_line(wait_for_prompt(tmux)) == "me>"
    tmux.type('echo "[$CCPROMPT_STATUS|$CCPROMPT_P95_MS|$CCPROMPT_SEGMENT]"')
    assert tmux.wait_for_line(r"^\[degraded") == f"[degraded|450|{SEGMENT}]"


# -- the user's own prompt state --------------------------------------------------------------


@pytest.mark.parametrize("shell", shells.SHELLS)
def test_false_then_enter_keeps_the_exit_status(shell, tmux, user):
    user.fresh_cache()
    tmux.start(user.rc(shell, "", "--position", "left", "--no-refresh"), user.env)
    wait_for_prompt(tmux)
    tmux.type("false")
    wait_for_prompt(tmux, 2)
    tmux.type(f'echo "rc={STATUS_WORD[shell]}"')
    assert tmux.wait_for_line(r"^rc=") == "rc=1"


USER_HOOKS = {
    "bash": ("__user_runs=0; PROMPT_COMMAND='__user_runs=$((__user_runs+1))'", 'echo "user-hook=$__user_runs"'),
    "zsh": ("__user_runs=0; precmd() { __user_runs=$((__user_runs+1)) }", 'echo "user-hook=$__user_runs"'),
    "fish": ("function fish_right_prompt; printf 'mine'; end", None),
}


@pytest.mark.parametrize("shell", shells.SHELLS)
def test_an_existing_prompt_hook_still_runs(shell, tmux, user):
    user.fresh_cache()
    before, probe = USER_HOOKS[shell]
    position = "right" if shell == "fish" else "left"
    tmux.start(user.rc(shell, before, "--position", position, "--no-refresh"), user.env)
    lines = wait_for_prompt(tmux)
    if shell == "fish":
        line = prompt_line(tmux.wait_for(lambda ls: any(SEGMENT in line for line in ls), what="segment"))
        assert line.endswith(f"mine {SEGMENT}")
        return
    assert prompt_line(lines) == f"{SEGMENT} me>"
    tmux.type("true")
    tmux.type(probe)
    count = int(tmux.wait_for_line(r"^user-hook=\d+").split("=")[1])
    assert count >= 2


@pytest.mark.parametrize("shell", shells.SHELLS)
def test_an_rc_that_loads_ccprompt_twice_shows_one_segment(shell, tmux, user):
    user.fresh_cache()
    tmux.start(user.rc(shell, "", "--position", "left", "--no-refresh", times=2), user.env)
    assert prompt_line(wait_for_prompt(tmux)) == f"{SEGMENT} me>"
    tmux.type("true")
    assert prompt_line(wait_for_prompt(tmux, 2)) == f"{SEGMENT} me>"


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_a_hostile_cache_is_shown_as_text(shell, tmux, user):
    pwned = user.home / "PWNED"
    hostile = f"%F{{red}}X%f $(touch {pwned}) \\[\x1b]2;owned\x07"
    user.state.mkdir(parents=True)
    (user.state / "prompt").write_text("\n".join([
        "ccprompt-prompt v1", str(int(time.time())), "error", "🔴", "", "", "🔴", f"🔴 {hostile}", "🔴"]) + "\n")
    tmux.start(user.rc(shell, "", "--position", "left", "--no-refresh"), user.env)
    line = prompt_line(wait_for_prompt(tmux))
    assert line == f"🔴 %F{{red}}X%f $(touch {pwned}) \\[]2;owned me>"
    assert not pwned.exists()
    assert "owned" not in tmux.show("#{pane_title}")


# -- the background refresh, for real ---------------------------------------------------------


@pytest.mark.parametrize("shell", shells.SHELLS)
def test_a_new_user_sees_the_first_probe_arrive_without_job_noise(shell, tmux, tmp_path, fake_api, cc_env):
    user = User(tmp_path / "new-user", extra_env={k: cc_env[k] for k in ("ANTHROPIC_BASE_URL", "SSL_CERT_FILE",
                                                            "ANTHROPIC_API_KEY")})
    tmux.start(user.rc(shell, "", "--position", "left"), user.env)
    # The first prompt reads the (missing) cache before it starts the refresh.
    assert prompt_line(wait_for_prompt(tmux)) == "⚪ no probe yet me>"
    # The refresh started by the first prompt probes the API in the background; a later
    # prompt shows its result.
    deadline = time.monotonic() + 30
    while not (user.state / "prompt").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (user.state / "prompt").exists(), "\n".join(tmux.screen())
    tmux.type("")
    line = tmux.wait_for_line(r"^🟢 \d+ms me>")
    assert re.fullmatch(r"🟢 \d+ms me>", line)
    tmux.type('echo "jobs=[$(jobs)]"' if shell != "fish" else 'set j (jobs); echo "jobs=[$j]"')
    done = tmux.wait_for_line(r"^jobs=")
    assert done.startswith("jobs=[")
    assert done in ("jobs=[]", "jobs=[jobs: There are no jobs]")
    screen = "\n".join(tmux.screen())
    assert not re.search(r"^\[\d+\]", screen, re.M), screen  # no job-control messages
    assert "Done" not in screen and "has ended" not in screen
    assert fake_api.request_count == 1
    assert_no_secret(screen, user.state)


@pytest.mark.parametrize("lang", ["C", "C.UTF-8"])
def test_zsh_right_keeps_the_cursor_in_place_whatever_the_locale(tmux, user, lang):
    user.fresh_cache()
    user.env.update(LANG=lang, LC_ALL=lang)
    tmux.start(user.rc("zsh", "", "--position", "right", "--no-refresh"), user.env)
    tmux.wait_for(lambda ls: any("me>" in line for line in ls), what="the prompt")
    tmux.type("abc", enter=False)
    tmux.key("C-a")
    tmux.type("X", enter=False)
    line = tmux.wait_for_line(r"Xabc")
    assert line.startswith("me> Xabc")
    # The icon is two columns wide; zsh must count it so, or the cursor lands a column early.
    assert tmux.show("#{cursor_x}") == str(len("me> X"))


DEBIAN_PS1 = r"""PS1='\[\e]0;${debian_chroot:+($debian_chroot)}\u@\h: \w\a\]me> '"""


def test_bash_title_wins_over_a_ps1_that_sets_the_title_like_debians(tmux, user):
    user.fresh_cache()
    tmux.start(user.rc("bash", "", "--position", "title", "--no-refresh", after=DEBIAN_PS1), user.env)
    wait_for_prompt(tmux)
    deadline = time.monotonic() + 10
    while tmux.show("#{pane_title}") != SEGMENT and time.monotonic() < deadline:
        time.sleep(0.05)
    assert tmux.show("#{pane_title}") == SEGMENT
    tmux.type("true")
    wait_for_prompt(tmux, 2)
    assert tmux.show("#{pane_title}") == SEGMENT  # on every prompt, not only the first
    assert all(SEGMENT not in line for line in tmux.screen())
