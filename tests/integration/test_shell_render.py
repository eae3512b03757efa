"""Every init script, in every combination, checked and run by the real shell under strict flags."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import time

import pytest

from ccprompt.surfaces.shell import init as shells
from harness.states import write_prompt_cache

COMBINATIONS = list(itertools.product(shells.SHELLS, shells.POSITIONS, shells.STYLES, (True, False)))
STRICT = {
    "bash": ["bash", "--noprofile", "--norc", "-euo", "pipefail"],
    "zsh": ["zsh", "-f", "-euo", "pipefail"],
    "fish": ["fish", "--no-config", "--private"],
}
SYNTAX = {
    "bash": ["bash", "-n"],
    "zsh": ["zsh", "-n"],
    "fish": ["fish", "--no-execute"],
}
HOOK = {"bash": "__ccprompt_hook", "zsh": "__ccprompt_precmd", "fish": "__ccprompt_hook"}


def ident(combo):
    shell, position, style, refresh = combo
    return f"{shell}-{position}-{style}-{'refresh' if refresh else 'no-refresh'}"


def healthy_state(epoch_s):
    return {
        "status": "healthy",
        "monitoring_enabled": True,
        "network": {"latency_ms": 470, "p95_latency_ms": 450, "phases_ms": {"total": 470}},
        "monitoring_state": {"last_probe_epoch_ms": int(epoch_s * 1000), "last_baseline_epoch_ms": int(epoch_s * 1000)},
    }


@pytest.fixture
def workspace(tmp_path):
    """A state directory with a fresh cache, and a stand-in executable that records calls."""
    home = tmp_path / "state"
    write_prompt_cache(str(home), healthy_state(time.time()))
    calls = tmp_path / "calls"
    exe = tmp_path / "bin" / "ccprompt"
    exe.parent.mkdir()
    exe.write_text(f'#!/bin/sh\necho "$@" >> "{calls}"\n')
    exe.chmod(0o755)
    return {"home": home, "exe": exe, "calls": calls, "dir": tmp_path}


def clean_env(tmp_path):
    """HOME and every XDG directory in the test's own folder: fish and its tools create
    ~/.config/fish and ~/.local/share/fish on first use, and must not in the real HOME."""
    return {"CCPROMPT_STATUSPAGE_URL": "", "PATH": os.environ.get("PATH", os.defpath), "HOME": str(tmp_path), "LANG": "C.UTF-8",
            "TERM": "dumb", "XDG_CONFIG_HOME": str(tmp_path / ".config"),
            "XDG_DATA_HOME": str(tmp_path / ".local" / "share"), "XDG_CACHE_HOME": str(tmp_path / ".cache"),
            "XDG_RUNTIME_DIR": str(tmp_path / "run")}


def render_to(workspace, shell, position, style, refresh):
    script = shells.render_script(shell, position, style, refresh, 300, [str(workspace["exe"])],
                                  str(workspace["home"]))
    path = workspace["dir"] / f"init.{shell}"
    path.write_text(script, encoding="utf-8")
    return path


def wait_for_calls(path, expected, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= expected:
            return lines
        time.sleep(0.02)
    return path.read_text().splitlines() if path.exists() else []


@pytest.mark.parametrize("combo", COMBINATIONS, ids=ident)
def test_script_passes_the_shell_s_own_syntax_check(combo, workspace):
    shell = combo[0]
    path = render_to(workspace, *combo)
    result = subprocess.run(SYNTAX[shell] + [str(path)], capture_output=True, text=True, env=clean_env(workspace["dir"]))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is installed by .ci/run")
@pytest.mark.parametrize("combo", [c for c in COMBINATIONS if c[0] == "bash"], ids=ident)
def test_bash_script_passes_shellcheck(combo, workspace):
    path = render_to(workspace, *combo)
    result = subprocess.run(["shellcheck", "--shell=bash", "--severity=style", str(path)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


@pytest.mark.skipif(shutil.which("shfmt") is None, reason="shfmt is not installed")
@pytest.mark.parametrize("combo", [c for c in COMBINATIONS if c[0] == "bash"], ids=ident)
def test_bash_script_is_formatted_like_shfmt(combo, workspace):
    path = render_to(workspace, *combo)
    result = subprocess.run(["shfmt", "-d", "-i", "4", "-ci", "-ln", "bash", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


@pytest.mark.skipif(shutil.which("fish_indent") is None, reason="fish_indent comes with fish")
@pytest.mark.parametrize("combo", [c for c in COMBINATIONS if c[0] == "fish"], ids=ident)
def test_fish_script_is_formatted_like_fish_indent(combo, workspace):
    path = render_to(workspace, *combo)
    home = workspace["dir"] / "indent-home"
    home.mkdir()
    result = subprocess.run(["fish_indent", "--check", str(path)], capture_output=True, text=True,
                            env=clean_env(home))
    assert result.returncode == 0, result.stderr
    # fish_indent makes its config and data directories on first use: here, not in the real HOME.
    assert (home / ".config" / "fish").is_dir() or not any(home.iterdir())


@pytest.mark.parametrize("combo", COMBINATIONS, ids=ident)
def test_sourcing_twice_and_running_the_hook_is_silent_under_strict_flags(combo, workspace):
    shell = combo[0]
    path = render_to(workspace, *combo)
    hook = HOOK[shell]
    program = f"source {path}\n{hook}\nsource {path}\n{hook}\n{hook}\n"
    result = subprocess.run(STRICT[shell] + ["-c", program], capture_output=True, text=True,
                            env=clean_env(workspace["dir"]), timeout=30)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    # The cache is fresh: nothing was started.
    assert not workspace["calls"].exists()


@pytest.mark.parametrize("combo", [c for c in COMBINATIONS if c[3]], ids=ident)
def test_a_missing_cache_starts_one_refresh_and_stays_silent(combo, workspace):
    shell = combo[0]
    (workspace["home"] / "prompt").unlink()
    path = render_to(workspace, *combo)
    hook = HOOK[shell]
    program = f"source {path}\n{hook}\n{hook}\n{hook}\n"
    result = subprocess.run(STRICT[shell] + ["-c", program], capture_output=True, text=True,
                            env=clean_env(workspace["dir"]), timeout=30)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert wait_for_calls(workspace["calls"], 1) == ["refresh"]
    time.sleep(0.2)
    assert workspace["calls"].read_text().splitlines() == ["refresh"]


@pytest.mark.parametrize("shell", shells.SHELLS)
def test_the_real_command_prints_a_script_the_shell_accepts(shell, run_cli, tmp_path):
    env = clean_env(tmp_path)
    env["CCPROMPT_HOME"] = str(tmp_path / "state")
    result = run_cli("init", shell, "--position", "right", "--style", "full", "--no-refresh", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    path = tmp_path / f"init.{shell}"
    path.write_text(result.stdout, encoding="utf-8")
    check = subprocess.run(SYNTAX[shell] + [str(path)], capture_output=True, text=True, env=env)
    assert check.returncode == 0, check.stderr
    program = f"source {path}\n{HOOK[shell]}\n"
    run = subprocess.run(STRICT[shell] + ["-c", program], capture_output=True, text=True, env=env, timeout=30)
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")
