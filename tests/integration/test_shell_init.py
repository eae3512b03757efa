"""`ccprompt init` and `ccprompt install shell` as a user runs them: the real CLI, real shells."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from ccprompt.surfaces.shell.quote import posix_quote

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HEAVY = ("jinja2", "typer", "click", "shellingham", "json", "re", "enum", "typing", "dataclasses",
         "subprocess", "pycurl", "ccprompt.cli.app")


@pytest.fixture
def env(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    return {
        "CCPROMPT_STATUSPAGE_URL": "", "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "CCPROMPT_HOME": str(home / ".claude" / "ccprompt"),
        "XDG_CONFIG_HOME": str(home / ".config"),
    }


def cli(*args, env, parent=None, cwd=REPO):
    """Run `python -m ccprompt ARGS`, optionally from inside another program (a shell)."""
    command = [sys.executable, "-m", "ccprompt", *args]
    if parent is not None:
        command = parent + [" ".join(posix_quote(w) for w in command)]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, timeout=60)


def imported_modules(stderr: str) -> set[str]:
    """Modules imported once ccprompt starts; site start-up (an editable install's finder
    imports `re`) comes before the package's first line and is not ccprompt's doing."""
    order = [m.group(1).strip() for m in re.finditer(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)", stderr, re.M)]
    return set(order[order.index("ccprompt"):]) if "ccprompt" in order else set(order)


@pytest.mark.parametrize("shell", ["tcsh", "powershell", "sh"])
def test_an_unsupported_shell_gets_a_clear_error_and_nothing_to_eval(shell, env):
    result = cli("init", shell, env=env)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (f"ccprompt: unsupported shell {shell!r}; "
                             "ccprompt supports bash, zsh and fish\n")


def test_a_bad_option_is_a_usage_error(env):
    result = cli("init", "zsh", "--position", "top", env=env)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == ("ccprompt: Invalid value for '--position': 'top' is not one of "
                             "'left', 'right', 'title', 'none'.\n")


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_without_a_name_the_calling_shell_is_detected(shell, env):
    parent = {"bash": ["bash", "--norc", "-c"], "zsh": ["zsh", "-f", "-c"], "fish": ["fish", "--no-config", "-c"]}[shell]
    # `; true` keeps the shell alive as the parent instead of exec'ing Python.
    result = subprocess.run(parent + [f"{shlex_join([sys.executable, '-m', 'ccprompt', 'init'])}; true"],
                            capture_output=True, text=True, env=env, cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stderr
    assert f"ccprompt init {shell} --position left --style short" in result.stdout


def test_a_detected_shell_that_is_not_supported_exits_2(env):
    if shutil.which("dash") is None:
        pytest.skip("needs dash as a parent shell")
    result = subprocess.run(["dash", "-c", f"{shlex_join([sys.executable, '-m', 'ccprompt', 'init'])}; echo rc=$? >&2"],
                            capture_output=True, text=True, env=env, cwd=REPO, timeout=60)
    assert result.stdout == ""
    assert result.stderr.startswith("ccprompt: unsupported shell 'dash' detected;")
    assert result.stderr.endswith("rc=2\n")


def shlex_join(words):
    return " ".join(posix_quote(w) for w in words)


def test_the_second_init_skips_jinja2_and_typer(env):
    first = cli("init", "zsh", "--style", "full", env=env)
    assert first.returncode == 0
    again = subprocess.run([sys.executable, "-X", "importtime", "-m", "ccprompt", "init", "zsh", "--style", "full"],
                           capture_output=True, text=True, env=env, cwd=REPO, timeout=60)
    assert again.returncode == 0
    assert again.stdout == first.stdout
    loaded = imported_modules(again.stderr)
    assert {"ccprompt.surfaces.shell.init", "ccprompt.entry"} <= loaded
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_the_first_init_renders_with_jinja2_and_caches_the_result(env):
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "ccprompt", "init", "bash"],
                            capture_output=True, text=True, env=env, cwd=REPO, timeout=60)
    assert result.returncode == 0
    assert "jinja2" in imported_modules(result.stderr)
    cached = os.path.join(env["CCPROMPT_HOME"], "init", "bash-left-short-r")
    with open(cached, "rb") as handle:
        assert handle.read().endswith(result.stdout.encode())


def test_the_script_runs_ccprompt_from_any_directory(env, tmp_path):
    """The embedded command must work where the shell is, not where init ran."""
    script = cli("init", "bash", env=env).stdout
    exe = re.search(r"^__ccprompt_exe=\((.*)\)$", script, re.M).group(1)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run(["bash", "--norc", "-c", f"words=({exe}); \"${{words[@]}}\" init --help >/dev/null; "
                             f"\"${{words[@]}}\" status --style short"],
                            capture_output=True, text=True, env=env, cwd=elsewhere, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "⚪ no probe yet"


def test_an_installed_package_finds_its_templates_inside_itself(env, tmp_path):
    """A wheel puts templates/ at ccprompt/templates; lay the files out that way and run."""
    site = tmp_path / "site"
    shutil.copytree(os.path.join(REPO, "ccprompt"), site / "ccprompt",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(os.path.join(REPO, "templates"), site / "ccprompt" / "templates")
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    result = subprocess.run([sys.executable, "-m", "ccprompt", "init", "fish"], capture_output=True, text=True,
                            env=dict(env, PYTHONPATH=str(site)), cwd=elsewhere, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "function __ccprompt_hook --on-event fish_prompt" in result.stdout
    cached = os.path.join(env["CCPROMPT_HOME"], "init", "fish-left-short-r")
    with open(cached, encoding="utf-8") as handle:
        assert str(site / "ccprompt" / "templates" / "fish.j2") in handle.readline()


# -- install shell / uninstall shell through the CLI ------------------------------------------


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_install_adds_a_block_the_shell_then_loads(shell, env):
    installed = cli("install", "shell", shell, env=env)
    assert installed.returncode == 0, installed.stderr
    assert installed.stdout.startswith("ccprompt: added the ccprompt block to ")
    again = cli("install", "shell", shell, env=env)
    assert "nothing to change" in again.stdout
    home = env["HOME"]
    if shell == "bash":
        check = ["bash", "--noprofile", "--rcfile", f"{home}/.bashrc", "-i", "-c", "declare -F __ccprompt_hook"]
    elif shell == "zsh":
        check = ["zsh", "-d", "-i", "-c", "print -r -- ${precmd_functions[1]}"]
    else:
        check = ["fish", "-i", "-c", "functions -q __ccprompt_hook; and echo __ccprompt_hook"]
    loaded = subprocess.run(check, capture_output=True, text=True, env=dict(env, ZDOTDIR=home, TERM="dumb"),
                            stdin=subprocess.DEVNULL, timeout=60)
    assert loaded.stdout.split()[-1] in ("__ccprompt_hook", "__ccprompt_precmd"), loaded.stdout + loaded.stderr
    removed = cli("uninstall", "shell", shell, env=env)
    assert removed.returncode == 0
    assert removed.stdout.startswith("ccprompt: removed the ccprompt block from ")


def test_install_dry_run_changes_nothing(env):
    result = cli("install", "shell", "zsh", "--dry-run", env=env)
    assert result.returncode == 0
    assert "dry run" in result.stdout and "init zsh" in result.stdout
    assert not os.path.exists(os.path.join(env["HOME"], ".zshrc"))


def test_install_for_an_unsupported_shell_exits_2(env):
    result = cli("install", "shell", "tcsh", env=env)
    assert (result.returncode, result.stdout) == (2, "")
    assert "unsupported shell 'tcsh'" in result.stderr


FAKE_CLAUDE = '#!/bin/sh\nprintf "claude:%s\\n" "$@"\n'


def shell_running(shell: str, script_file, command: str, env: dict, tmp_path) -> list:
    """argv for an interactive `shell` that loads `script_file` first, then runs `command`."""
    if shell == "bash":
        return ["bash", "--noprofile", "--rcfile", str(script_file), "-i", "-c", command]
    if shell == "zsh":
        zdotdir = tmp_path / "zdotdir"
        zdotdir.mkdir(exist_ok=True)
        (zdotdir / ".zshrc").write_text(f"source {posix_quote(str(script_file))}\n")
        env["ZDOTDIR"] = str(zdotdir)
        return ["zsh", "-i", "-c", command]
    return ["fish", "--no-config", "-i", "-C", f"source {posix_quote(str(script_file))}", "-c", command]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_wrap_claude_sends_claude_through_ccprompt_run_with_its_arguments_intact(shell, env, tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "claude").write_text(FAKE_CLAUDE)
    (bindir / "claude").chmod(0o755)
    # No usable upstream: `run` fails open at once (and says so), with no proxy left running.
    env = {**env, "PATH": f"{bindir}:{env['PATH']}", "ANTHROPIC_BASE_URL": "not-a-url"}
    plain = cli("init", shell, env=env).stdout
    wrapped = cli("init", shell, "--wrap-claude", env=env).stdout
    assert "run claude" not in plain
    assert "run claude" in wrapped and "--wrap-claude" in wrapped
    assert cli("init", shell, "--wrap-claude", env=env).stdout == wrapped  # the cached copy is the same
    assert cli("init", shell, env=env).stdout == plain  # and the option is part of the cache key
    script_file = tmp_path / f"init.{shell}"
    script_file.write_text(wrapped)
    argv = shell_running(shell, script_file, "claude -p 'two  words' --model x", env, tmp_path)
    result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, stdin=subprocess.DEVNULL)
    assert "claude:-p\nclaude:two  words\nclaude:--model\nclaude:x\n" in result.stdout, result.stderr
    assert "running claude directly" in result.stderr

    # Without the option, `claude` is the real one: ccprompt is not in the way.
    script_file.write_text(plain)
    argv = shell_running(shell, script_file, "claude hi", env, tmp_path)
    result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, stdin=subprocess.DEVNULL)
    assert "claude:hi\n" in result.stdout and "ccprompt" not in result.stderr
