"""Shared fixtures: session TLS CA, fake Anthropic API, clean CLI environment and CLI runner."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# pytest's default import mode already puts tests/ on sys.path because of this
# conftest; do it explicitly so `import harness` also works under importlib mode.
_TESTS_DIR = str(Path(__file__).resolve().parent)
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

# Anything that inherits this environment must never fetch the real status page.
os.environ["CCPROMPT_STATUSPAGE_URL"] = ""

from harness import FakeAPI, LocalCA, make_cli_env, run_python  # noqa: E402


@pytest.fixture(scope="session")
def tls_ca(tmp_path_factory) -> LocalCA:
    """Session-wide CA: ``tls_ca.ca`` is the trustme.CA, ``tls_ca.ca_file`` its PEM path."""
    return LocalCA.create(tmp_path_factory.mktemp("tls-ca"))


@pytest.fixture
def fake_api(tls_ca):
    """A running FakeAPI (answers 200 until scripted otherwise), stopped after the test."""
    with FakeAPI(tls_ca) as api:
        yield api


@pytest.fixture
def cc_env(tmp_path, fake_api) -> dict[str, str]:
    """Clean environment for the CLI pointing at ``fake_api``, with HOME under tmp_path."""
    return make_cli_env(tmp_path, fake_api.url, fake_api.ca_file)


@pytest.fixture
def run_cli(request):
    """``run_cli(*args, env=None, input=None, timeout=30)`` runs ``python -m ccprompt`` from the repo root.

    Without ``env`` it uses the ``cc_env`` fixture, requested lazily so tests
    that bring their own environment don't start a FakeAPI for nothing.
    """

    def run(*args, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 30):
        if env is None:
            env = request.getfixturevalue("cc_env")
        return run_python("-m", "ccprompt", *args, env=env, input=input, timeout=timeout)

    return run
