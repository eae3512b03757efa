"""install.sh on a throwaway HOME: installs, probes, survives a second run, and uninstalls."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from harness import REPO_ROOT, assert_no_secret


def run_install(env, *args):
    return subprocess.run(["bash", str(REPO_ROOT / "install.sh"), *args], env=env, capture_output=True,
                          text=True, timeout=600)


def run_cli(link, env, *argv):
    return subprocess.run([str(link), *argv], env=env, capture_output=True, text=True, timeout=120)


PIP_VARIABLES = ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CERT", "PIP_CONFIG_FILE")


@pytest.mark.slow  # a real pip install into a new virtualenv: about a minute
def test_install_probe_reinstall_and_uninstall(cc_env, fake_api, tmp_path):
    # Whatever lets pip reach its index on this machine; nothing else of the outer environment.
    env = {**cc_env, **{name: os.environ[name] for name in PIP_VARIABLES if name in os.environ}}
    home = Path(env["HOME"])
    first = run_install(env)
    assert first.returncode == 0, first.stderr[-2000:]
    link = home / ".local" / "bin" / "ccprompt"
    venv = home / ".local" / "share" / "ccprompt" / "venv"
    assert link.is_symlink() and Path(os.readlink(link)) == venv / "bin" / "ccprompt"
    assert "DNS lookup" in first.stdout and "verdict      🟢 healthy" in first.stdout
    assert "ccprompt install shell" in first.stdout and "ccprompt install statusline" in first.stdout
    assert "ccprompt statusline --preview" in first.stdout
    assert fake_api.request_count == 5  # the first probe and a 4-probe calibration
    assert "--- 4 probes, 0 errors" in first.stdout and "kept as baseline samples" in first.stdout
    assert (venv / "bin" / "ccprompt").read_text().startswith(f"#!{venv}/bin/python")
    reader = home / ".local" / "share" / "ccprompt" / "ccprompt-prompt.sh"
    shown = subprocess.run(["sh", str(reader), "icon"], env=env, capture_output=True, text=True, timeout=10)
    assert shown.stdout.strip() == "🟢"  # the POSIX reader, installed where the README says

    status = subprocess.run([str(link), "status"], env=env, capture_output=True, text=True, timeout=30)
    assert status.returncode == 0 and status.stdout.startswith("🟢 P95:")  # calibrated: P95 at once

    # Running it again is harmless, and a first probe that fails does not fail the install.
    second = run_install({**env, "ANTHROPIC_BASE_URL": "https://api.ccprompt.invalid"})
    assert second.returncode == 0 and link.is_symlink(), second.stderr[-2000:]
    assert "Could not resolve host" in second.stdout
    assert "'ccprompt doctor' checks every link" in second.stdout
    assert "calibrating" not in second.stdout  # nothing to calibrate against

    # Fully wired: completions (by install.sh), a snippet, doctor, status line, three shells,
    # MCP and a service unit.
    bash_completion = home / ".local" / "share" / "bash-completion" / "completions" / "ccprompt"
    assert "complete -F __ccprompt_complete ccprompt" in bash_completion.read_text()
    assert "[custom.ccprompt]" in run_cli(link, env, "snippet", "starship").stdout
    assert run_cli(link, env, "doctor").returncode in (0, 1)  # runs to the end, whatever it finds
    for argv in (["install", "statusline"], ["install", "shell", "bash"], ["install", "shell", "zsh"],
                 ["install", "shell", "fish"], ["install", "mcp"]):
        done = run_cli(link, env, *argv)
        assert done.returncode == 0, (argv, done.stderr)
    unit = home / ".config" / "systemd" / "user" / "ccprompt-watch.service"
    unit.parent.mkdir(parents=True)
    unit.write_text((REPO_ROOT / "shell" / "ccprompt-watch.service").read_text())

    # A proxy `run` started from the virtualenv, still running (it would stay for its idle time).
    proxied = run_cli(link, env, "run", "--", "true")
    assert proxied.returncode == 0 and proxied.stderr == "", proxied.stderr
    state = json.loads(next((home / ".claude" / "ccprompt").glob("proxy-*.json")).read_text())
    os.kill(state["pid"], 0)

    removed = run_install(env, "--uninstall")
    assert removed.returncode == 0, removed.stderr
    out = removed.stdout
    # Every proxy is stopped first, so none keeps running from the deleted virtualenv.
    assert out.index(f"stopped the proxy on port {state['port']}") < out.index("removed the ccprompt statusLine")
    with pytest.raises(ProcessLookupError):
        os.kill(state["pid"], 0)
    # Every piece of wiring is undone, and said, before the binary goes.
    assert out.index("==> unwiring") < out.index("==> removing")
    for step in ("removed the ccprompt statusLine", f"removed the ccprompt block from {home}/.bashrc",
                 f"removed the ccprompt block from {home}/.zshrc", "fish/config.fish;",
                 "removed the ccprompt MCP server", "removed the ccprompt-watch service", f"removed {bash_completion}"):
        assert step in out, step
    # What is left is listed: ccprompt's backups and state, for --purge.
    assert "left behind, ccprompt's own" in out and "~/.claude/settings.json.ccprompt-" in out
    assert "~/.claude/ccprompt " in out and "./install.sh --uninstall --purge" in out
    assert not unit.exists() and not bash_completion.exists()
    assert "statusLine" not in json.loads((home / ".claude" / "settings.json").read_text())
    assert "ccprompt" not in json.loads((home / ".claude.json").read_text()).get("mcpServers", {})
    for rc in (home / ".bashrc", home / ".zshrc", home / ".config" / "fish" / "config.fish"):
        assert "ccprompt" not in rc.read_text()
    fresh = subprocess.run(["bash", "-i", "-c", "true"], env={**env, "PS1": "$ "}, capture_output=True, text=True,
                           timeout=30)
    assert "No such file" not in fresh.stderr  # a new shell no longer calls a deleted ccprompt
    assert not link.exists() and not venv.exists()
    assert (home / ".claude" / "ccprompt" / "monitoring.json").exists()  # the user's state is kept
    assert_no_secret(first, second, removed, home / ".claude")

    # Later, --purge from the clone: ccprompt's own leftovers go, though the virtualenv is gone;
    # the user's config stays.
    config = home / ".config" / "ccprompt" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("timeout_ms = 3000\n")
    purged = run_install(env, "--uninstall", "--purge")
    assert purged.returncode == 0, purged.stderr
    assert "unwound with the code in" in purged.stdout and "removed ccprompt's own leftovers:" in purged.stdout
    assert not (home / ".claude" / "ccprompt").exists()
    assert not list((home / ".claude").glob("settings.json.ccprompt-*.bak"))
    assert not list(home.glob(".claude.json.ccprompt-*.bak"))
    assert config.read_text() == "timeout_ms = 3000\n"


def test_unknown_argument_is_refused(cc_env):
    result = run_install(cc_env, "--frobnicate")
    assert result.returncode == 1 and "unknown argument" in result.stderr
    result = run_install(cc_env, "--uninstall", "--frobnicate")
    assert result.returncode == 1 and "unknown argument: --frobnicate" in result.stderr
