"""Running the CLI (or any Python) in a subprocess with a clean, fully specified environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .leaks import TEST_KEY

REPO_ROOT = Path(__file__).resolve().parents[2]


def make_cli_env(root: str | Path, base_url: str, ca_file: str, api_key: str | None = TEST_KEY) -> dict[str, str]:
    """Environment built from scratch: HOME lives under ``root``, only PATH comes from os.environ.

    The developer's environment carries CA bundles and proxy settings
    (SSL_CERT_FILE, CURL_CA_BUNDLE, NODE_EXTRA_CA_CERTS, *_proxy, ...) that
    would silently change what the CLI trusts or where it connects.
    """
    home = Path(root) / "home"
    home.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "CCPROMPT_HOME": str(home / ".claude" / "ccprompt"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "ANTHROPIC_BASE_URL": base_url,
        "SSL_CERT_FILE": str(ca_file),
        "LANG": "C.UTF-8",
        # Tests never reach the internet: the real status page stays off unless a test
        # points this at its local fake (harness.statuspage).
        "CCPROMPT_STATUSPAGE_URL": "",
    }
    if api_key is not None:
        env["ANTHROPIC_API_KEY"] = api_key
    return env


def run_python(*argv: str | os.PathLike, env: dict[str, str], input: str | None = None,
               timeout: float = 30, cwd: str | Path = REPO_ROOT) -> subprocess.CompletedProcess:
    """Run ``sys.executable *argv`` and capture text output.

    ``env`` is mandatory: subprocess would otherwise inherit os.environ wholesale.
    """
    return subprocess.run(
        [sys.executable, *map(str, argv)],
        env=env,
        input=input,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        cwd=str(cwd),
    )
