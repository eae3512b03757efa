"""The right shell: `install shell` with no name follows the login shell and says so, a login
bash loads the prompt, bash completions load without the bash-completion package, and
`uninstall shell` finds ccprompt's block wherever it is. Real bash and zsh throughout."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness import REPO_ROOT

needs = pytest.mark.skipif(not (shutil.which("bash") and shutil.which("zsh")), reason="needs bash and zsh")
CLI = f"{shlex.quote(sys.executable)} -m ccprompt"


def from_shell(shell: str, command: str, env: dict, *flags) -> subprocess.CompletedProcess:
    """Run `command` from a real `shell` (the `; true` keeps it the parent, not exec'd)."""
    return subprocess.run([shell, *flags, "-c", f"{command}; true"], env=env, cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=60)


@needs
def test_install_shell_from_bash_follows_the_zsh_login_shell_and_says_so(cc_env):
    env = {**cc_env, "SHELL": shutil.which("zsh")}
    home = Path(env["HOME"])
    done = from_shell("bash", f"{CLI} install shell", env)
    # Before: the block went to ~/.bashrc, the parent process's shell, without a word.
    assert f"your login shell is zsh (SHELL={env['SHELL']}) but this is bash; following the login shell" \
        in done.stdout, done.stdout + done.stderr
    assert "for bash: ccprompt install shell bash" in done.stdout
    assert "# >>> ccprompt >>>" in (home / ".zshrc").read_text() and not (home / ".bashrc").exists()
    loaded = subprocess.run(["zsh", "-i", "-c", "print -r -- ${precmd_functions[*]}"], env={**env, "ZDOTDIR": str(home)},
                            capture_output=True, text=True, timeout=60)
    assert "ccprompt" in loaded.stdout, loaded.stdout + loaded.stderr  # a real zsh loads it
    same = from_shell("zsh", f"{CLI} install shell", env)
    assert "login shell" not in same.stdout and "nothing to change" in same.stdout  # no note when they agree


@needs
def test_a_login_bash_loads_the_prompt_and_doctor_says_when_it_would_not(cc_env, run_cli):
    env = {**cc_env, "SHELL": shutil.which("bash")}
    home = Path(env["HOME"])
    (home / ".bashrc").write_text(f'eval "$({CLI} init bash)"\n')
    # Before: `✓ shell init line in ~/.bashrc`, while `bash -l` loaded nothing.
    doctor = run_cli("doctor", env={**env, "NO_COLOR": "1"}, timeout=60).stdout
    line = next(text for text in doctor.splitlines() if text.startswith(("✓ shell", "! shell")))
    assert line.startswith("! shell") and "a login bash" in line and "~/.profile, which does not exist" in line
    (home / ".bashrc").write_text("")
    assert from_shell("bash", f"{CLI} install shell bash", env).returncode == 0
    profile = (home / ".profile").read_text()
    assert '. "$HOME/.bashrc"' in profile and "# >>> ccprompt >>>" in profile
    login = subprocess.run(["bash", "-l", "-c", "echo \"$PROMPT_COMMAND\""], env=env, capture_output=True,
                           text=True, timeout=60)
    assert "__ccprompt" in login.stdout, login.stdout + login.stderr
    doctor = run_cli("doctor", env={**env, "NO_COLOR": "1"}, timeout=60).stdout
    assert "✓ shell        init line in ~/.bashrc" in doctor
    # A login file that already loads ~/.bashrc is left alone.
    (home / ".profile").unlink()
    (home / ".bash_profile").write_text('[ -f ~/.bashrc ] && . ~/.bashrc\n')
    run_cli("install", "shell", "bash", env=env)
    assert not (home / ".profile").exists()
    assert (home / ".bash_profile").read_text() == '[ -f ~/.bashrc ] && . ~/.bashrc\n'


@needs
def test_bash_completions_load_without_the_bash_completion_package(cc_env, run_cli):
    from ccprompt.surfaces.shell.rcfile import bash_completion_present

    if bash_completion_present():
        pytest.skip("the bash-completion package is installed here: it loads the file itself")
    env = {**cc_env, "SHELL": shutil.which("bash")}
    saved = Path(env["HOME"]) / ".local" / "share" / "bash-completion" / "completions" / "ccprompt"
    saved.parent.mkdir(parents=True)
    saved.write_text(run_cli("completions", "bash", env=env).stdout)  # where install.sh puts it
    assert run_cli("install", "shell", "bash", env=env).returncode == 0
    shell = subprocess.run(["bash", "-i", "-c", "complete -p ccprompt"], env={**env, "PS1": "$ "},
                           capture_output=True, text=True, timeout=60)
    assert "complete -F __ccprompt_complete ccprompt" in shell.stdout, shell.stdout + shell.stderr


@needs
def test_uninstall_shell_with_no_name_finds_every_block(cc_env):
    env = {**cc_env, "SHELL": shutil.which("zsh")}
    home = Path(env["HOME"])
    for shell in ("bash", "zsh", "fish"):
        assert from_shell("bash", f"{CLI} install shell {shell}", env).returncode == 0
    removed = from_shell("bash", f"{CLI} uninstall shell", env)
    assert removed.returncode == 0, removed.stderr
    for path in (home / ".bashrc", home / ".zshrc", home / ".config" / "fish" / "config.fish", home / ".profile"):
        assert f"removed the ccprompt block from {path}" in removed.stdout
        assert "ccprompt" not in path.read_text()
    again = from_shell("zsh", f"{CLI} uninstall shell", env)
    assert "no ccprompt block in " in again.stdout and "nothing to remove" in again.stdout
