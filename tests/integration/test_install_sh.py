"""install.sh on a throwaway HOME: installs, probes, survives a second run, and uninstalls."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from harness import REPO_ROOT, assert_no_secret


def run_install(env, *args):
    return subprocess.run(["bash", str(REPO_ROOT / "install.sh"), *args], env=env, capture_output=True,
                          text=True, timeout=600)


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
    assert 'eval "$(ccprompt init zsh)"' in first.stdout and "ccprompt install statusline" in first.stdout
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

    removed = run_install(env, "--uninstall")
    assert removed.returncode == 0
    assert not link.exists() and not venv.exists()
    assert (home / ".claude" / "ccprompt" / "monitoring.json").exists()  # the user's state is kept
    assert_no_secret(first, second, removed, home / ".claude")


def test_unknown_argument_is_refused(cc_env):
    result = run_install(cc_env, "--frobnicate")
    assert result.returncode == 1 and "unknown argument" in result.stderr
