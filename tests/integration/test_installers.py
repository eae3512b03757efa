"""A fresh install by each method people use (install.sh is test_install_sh.py; here pipx and
uv tool), each in a throwaway HOME: completions, a snippet from the wheel, and doctor work."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from harness import REPO_ROOT

PIP_VARIABLES = ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CERT", "PIP_CONFIG_FILE",
                 "UV_INDEX_URL", "UV_EXTRA_INDEX_URL", "UV_DEFAULT_INDEX", "UV_FIND_LINKS")


@pytest.fixture(scope="module")
def installers(tmp_path_factory):
    """pipx and uv in a virtualenv of their own: the system's when it has them, else from PyPI."""
    found = {name: shutil.which(name) for name in ("pipx", "uv")}
    if all(found.values()):
        return found
    where = tmp_path_factory.mktemp("installers")
    venv.EnvBuilder(with_pip=True).create(where)
    pip = subprocess.run([str(where / "bin" / "python"), "-m", "pip", "install", "-q", "pipx", "uv"],
                         capture_output=True, text=True, timeout=600)
    if pip.returncode != 0:
        pytest.skip(f"pipx and uv could not be installed from the package index: {pip.stderr[-300:]}")
    return {name: found[name] or str(where / "bin" / name) for name in found}


def throwaway_env(tmp_path: Path, cc_env: dict) -> dict:
    home = Path(cc_env["HOME"])
    env = {**cc_env, **{name: os.environ[name] for name in PIP_VARIABLES if name in os.environ}}
    env.update(PIPX_HOME=str(home / ".local" / "pipx"), PIPX_BIN_DIR=str(home / ".local" / "bin"),
               PIPX_MAN_DIR=str(home / ".local" / "share" / "man"),
               UV_TOOL_DIR=str(home / ".local" / "share" / "uv" / "tools"),
               UV_TOOL_BIN_DIR=str(home / ".local" / "bin"), UV_CACHE_DIR=str(tmp_path / "uv-cache"),
               UV_PYTHON=sys.executable, UV_PYTHON_DOWNLOADS="never",
               XDG_DATA_HOME=str(home / ".local" / "share"))
    return env


def installer_env(env: dict) -> dict:
    """The installers talk to the package index, not the fake API: the system's CA bundle (pip's
    own, when set) instead of the test CA, and pip's index settings for uv too."""
    bundle = os.environ.get("PIP_CERT") or "/etc/ssl/certs/ca-certificates.crt"
    out = {**env, "SSL_CERT_FILE": bundle}
    if "PIP_FIND_LINKS" in os.environ:
        out.setdefault("UV_FIND_LINKS", os.environ["PIP_FIND_LINKS"])
    return out


def check_installed(env: dict) -> None:
    exe = Path(env["HOME"]) / ".local" / "bin" / "ccprompt"
    assert exe.exists()

    def run(*argv):
        return subprocess.run([str(exe), *argv], env=env, capture_output=True, text=True, timeout=120)

    assert run("--version").stdout.startswith("ccprompt ")
    assert "complete -F __ccprompt_complete ccprompt" in run("completions", "bash").stdout
    assert "#compdef ccprompt" in run("completions", "zsh").stdout
    assert "[custom.ccprompt]" in run("snippet", "starship").stdout  # package data made it into the wheel
    assert "ExecStart=" in run("snippet", "watch.service").stdout
    # The MCP server works from this install path too (before: pipx's lacked the mcp package
    # and `install mcp` registered the broken server anyway).
    registered = run("install", "mcp")
    assert registered.returncode == 0, registered.stderr
    doctor = run("doctor")
    assert doctor.returncode in (0, 1) and "✓" in doctor.stdout, doctor.stderr
    assert "internal error" not in doctor.stderr
    assert "✓ MCP server   registered in " in doctor.stdout and "ccprompt 0.1.0 answers" in doctor.stdout


@pytest.mark.slow  # a real build and install from the checkout: a minute or two each
def test_pipx_install(installers, cc_env, fake_api, tmp_path):
    env = throwaway_env(tmp_path, cc_env)
    done = subprocess.run([installers["pipx"], "install", "--python", sys.executable, str(REPO_ROOT)],
                          env=installer_env(env), capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    check_installed(env)


@pytest.mark.slow
def test_uv_tool_install(installers, cc_env, fake_api, tmp_path):
    env = throwaway_env(tmp_path, cc_env)
    done = subprocess.run([installers["uv"], "tool", "install", str(REPO_ROOT)], env=installer_env(env),
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    check_installed(env)
