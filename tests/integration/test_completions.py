"""`ccprompt completions SHELL`, loaded in the real shell: a command name and an option complete."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from harness import run_python


def script(shell, cc_env, tmp_path):
    result = run_python("-m", "ccprompt", "completions", shell, env=cc_env)
    assert result.returncode == 0 and result.stderr == ""
    path = tmp_path / f"completions.{shell}"
    path.write_text(result.stdout)
    return path


def shell_env(tmp_path):
    return {"CCPROMPT_STATUSPAGE_URL": "", "PATH": os.environ.get("PATH", os.defpath), "HOME": str(tmp_path), "LANG": "C.UTF-8", "TERM": "dumb",
            "XDG_CONFIG_HOME": str(tmp_path / ".config"), "XDG_DATA_HOME": str(tmp_path / ".local" / "share")}


def test_bash_completes_a_command_an_option_and_a_choice(cc_env, tmp_path):
    path = script("bash", cc_env, tmp_path)
    lint = subprocess.run(["shellcheck", "--shell=bash", "--severity=style", str(path)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout
    if shutil.which("shfmt"):
        assert subprocess.run(["shfmt", "-d", "-i", "4", "-ci", "-ln", "bash", str(path)]).returncode == 0
    program = f"""source {path}
complete -p ccprompt
ask() {{ COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); __ccprompt_complete; echo "${{COMPREPLY[*]}}"; }}
ask ccprompt ins
ask ccprompt install shell --po
ask ccprompt install shell --position ""
ask ccprompt config ch
ask ccprompt completions f
"""
    result = subprocess.run(["bash", "--noprofile", "--norc", "-euo", "pipefail", "-c", program],
                            capture_output=True, text=True, env=shell_env(tmp_path), timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["complete -F __ccprompt_complete ccprompt", "install", "--position",
                                          "left right title none", "check", "fish"]


def test_zsh_completes_a_command_and_an_option(cc_env, tmp_path):
    path = script("zsh", cc_env, tmp_path)
    program = f"""autoload -U compinit && compinit -u -D
source {path}
print -r -- $_comps[ccprompt]
ask() {{ words=("$@"); CURRENT=$#; __ccprompt_candidates; print -r -- ${{(M)reply:#${{words[-1]}}*}}; }}
ask ccprompt ins
ask ccprompt watch --on
ask ccprompt statusline --segment net
"""
    result = subprocess.run(["zsh", "-f", "-c", program], capture_output=True, text=True, env=shell_env(tmp_path),
                            timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["__ccprompt_complete", "install", "--once", "network"]


def test_fish_completes_a_command_and_an_option(cc_env, tmp_path):
    path = script("fish", cc_env, tmp_path)
    assert subprocess.run(["fish_indent", "--check", str(path)], env=shell_env(tmp_path)).returncode == 0
    program = f"""source {path}
complete -C 'ccprompt ins'
complete -C 'ccprompt doctor --j'
complete -C 'ccprompt init zsh --style '
"""
    result = subprocess.run(["fish", "--no-config", "--private", "-c", program], capture_output=True, text=True,
                            env=shell_env(tmp_path), timeout=30)
    assert result.returncode == 0, result.stderr
    words = [line.split("\t")[0] for line in result.stdout.splitlines()]
    assert words == ["install", "--json", "full", "icon", "short"]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_every_command_of_the_table_is_in_the_script(cc_env, tmp_path, shell):
    from ccprompt.cli import table

    text = script(shell, cc_env, tmp_path).read_text()
    for command in table.COMMANDS:
        assert command.words[-1] in text
        for param in command.params:
            for flag in param.flags:
                if not param.hidden:
                    assert (flag if shell != "fish" else flag.lstrip("-")) in text, (command.name, flag)
