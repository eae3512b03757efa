"""Fixtures for the end-to-end tests: each Claude Code release, the fake SSE API, sessions, timings.

Every test that starts Claude Code runs once per release in ``versions_under_test()`` (the
pinned ones, or $CCPROMPT_E2E_CLAUDE_VERSION's); its id names the release, e.g.
``test_x[claude-2.1.332]``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from harness import assert_no_secret

from .claude import ClaudeCode, ClaudeCodeUnavailable, ensure_claude_code, resolve_version, versions_under_test
from .sseapi import SSEAPI

_TIMINGS = pytest.StashKey[list]()
_TIMINGS_FILE = pytest.StashKey[Path]()
VERSIONS = versions_under_test()


def in_ci() -> bool:
    """CI=true (or any value but empty/0/false), as GitHub Actions, GitLab and .ci/run set it."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(reason: str):
    """Skip on a developer's machine; in CI a missing Claude Code is a failure, never a quiet skip."""
    message = f"real Claude Code unavailable: {reason}"
    if in_ci():
        pytest.fail(message + " (CI is set: the e2e suite must run there)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session", params=VERSIONS, ids=lambda v: f"claude-{v}")
def claude_version(request) -> str:
    """The exact release under test (a dist-tag like ``latest`` resolved through npm)."""
    try:
        return resolve_version(request.param)
    except ClaudeCodeUnavailable as exc:
        reason = str(exc)
    unavailable(reason)  # outside the except block: one clear line, no chained traceback


@pytest.fixture(scope="session")
def claude_code_argv(claude_version) -> list[str]:
    """The command that runs that release; installs it with npm when the cache lacks it.

    The only skip in this module: npm/node missing, or npm could not install the package
    (a failure instead when CI is set).
    """
    try:
        return ensure_claude_code(claude_version)
    except ClaudeCodeUnavailable as exc:
        reason = str(exc)
    unavailable(reason)


@pytest.fixture
def sse_api():
    with SSEAPI() as api:
        yield api


@pytest.fixture
def start_claude(claude_code_argv, claude_version, sse_api, tmp_path):
    """``start_claude(**options)`` starts Claude Code in tmux against ``sse_api``.

    Options are ClaudeCode's (width, height, model, is_sandbox, ...). At teardown the tmux
    server and Claude Code are stopped, whatever happened, and then no file under
    CCPROMPT_HOME may hold the API key.
    """
    sessions: list[ClaudeCode] = []

    def start(**options) -> ClaudeCode:
        root = tmp_path / f"claude-{len(sessions) + 1}"
        root.mkdir()
        options.setdefault("version", claude_version)
        session = ClaudeCode(claude_code_argv, options.pop("base_url", sse_api.url), root, **options)
        sessions.append(session)
        return session.start()

    yield start
    for session in sessions:
        session.stop()
    for session in sessions:
        if session.ccprompt_home.exists():
            assert_no_secret(session.ccprompt_home)


@pytest.fixture
def report_timing(request, tmp_path_factory):
    """``report_timing(scenario, **figures)``: print measured figures and keep them for the summary.

    Each call appends one JSON line to ``e2e-timings.jsonl`` in the run's pytest base temp
    directory (named in the summary) and, when set, to $CCPROMPT_E2E_TIMINGS.
    """

    def report(scenario: str, **figures) -> None:
        version = request.node.funcargs.get("claude_version")
        record = {"scenario": scenario, "test": request.node.name, "claude_code": version, **figures}
        line = json.dumps(record, ensure_ascii=False)
        print(f"\ne2e timing: {line}", flush=True)
        request.config.stash.setdefault(_TIMINGS, []).append(line)
        run_file = tmp_path_factory.getbasetemp() / "e2e-timings.jsonl"
        request.config.stash[_TIMINGS_FILE] = run_file
        for target in filter(None, (run_file, os.environ.get("CCPROMPT_E2E_TIMINGS"))):
            with Path(target).open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")

    return report


def brief(record: dict) -> str:
    """One quotable row: release, credential, scenario, every seconds_* figure and the lines shown."""
    head = f"{record.get('claude_code') or '-':<8} {record.get('auth') or '-':<7} {record['scenario']}:"
    seconds = [f"{k.replace('seconds_', '')}={'never' if v is None else v}" for k, v in record.items()
               if "seconds_" in k]
    shown = [f"{k}={v!r}" for k, v in record.items() if isinstance(v, str) and v and (
        k.endswith("_line") or k.endswith("_red") or k.endswith("_green"))]
    return " ".join([head, *seconds, *shown])


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    lines = config.stash.get(_TIMINGS, [])
    if lines:
        terminalreporter.section("ccprompt e2e timings (real Claude Code)")
        for line in lines:
            terminalreporter.write_line(brief(json.loads(line)))
        terminalreporter.write_line("every figure, as JSON lines:")
        for line in lines:
            terminalreporter.write_line(line)
        terminalreporter.write_line(f"(also in {config.stash.get(_TIMINGS_FILE, '?')})")
