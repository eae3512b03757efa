"""Fixtures for the end-to-end tests: the pinned Claude Code, the fake SSE API, sessions, timings."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from harness import assert_no_secret

from .claude import ClaudeCode, ClaudeCodeUnavailable, ensure_claude_code
from .sseapi import SSEAPI

_TIMINGS = pytest.StashKey[list]()


@pytest.fixture(scope="session")
def claude_code_argv() -> list[str]:
    """The command that runs the pinned Claude Code; installs it with npm when the cache lacks it.

    The only skip in this module: npm/node missing, or npm could not install the package.
    """
    try:
        return ensure_claude_code()
    except ClaudeCodeUnavailable as exc:
        pytest.skip(f"real Claude Code unavailable: {exc}")


@pytest.fixture
def sse_api():
    with SSEAPI() as api:
        yield api


@pytest.fixture
def start_claude(claude_code_argv, sse_api, tmp_path):
    """``start_claude(**options)`` starts Claude Code in tmux against ``sse_api``.

    Options are ClaudeCode's (width, height, model, is_sandbox, ...). At teardown the tmux
    server and Claude Code are stopped, whatever happened, and then no file under
    CCPROMPT_HOME may hold the API key.
    """
    sessions: list[ClaudeCode] = []

    def start(**options) -> ClaudeCode:
        root = tmp_path / f"claude-{len(sessions) + 1}"
        root.mkdir()
        session = ClaudeCode(claude_code_argv, sse_api.url, root, **options)
        sessions.append(session)
        return session.start()

    yield start
    for session in sessions:
        session.stop()
    for session in sessions:
        if session.ccprompt_home.exists():
            assert_no_secret(session.ccprompt_home)


@pytest.fixture
def report_timing(request):
    """``report_timing(scenario, **figures)``: print measured figures and keep them for the summary.

    Each call also appends one JSON line to $CCPROMPT_E2E_TIMINGS when that is set.
    """

    def report(scenario: str, **figures) -> None:
        record = {"scenario": scenario, "test": request.node.name, **figures}
        line = json.dumps(record, ensure_ascii=False)
        print(f"\ne2e timing: {line}", flush=True)
        request.config.stash.setdefault(_TIMINGS, []).append(line)
        target = os.environ.get("CCPROMPT_E2E_TIMINGS")
        if target:
            with Path(target).open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")

    return report


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    lines = config.stash.get(_TIMINGS, [])
    if lines:
        terminalreporter.section("ccprompt e2e timings (real Claude Code)")
        for line in lines:
            terminalreporter.write_line(line)
