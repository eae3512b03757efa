"""The issue's end-to-end scenarios: the real Claude Code, with and without a key for ccprompt.

Each runs per Claude Code release (``[claude-2.1.197]``, ``[claude-2.1.332]``, or what
$CCPROMPT_E2E_CLAUDE_VERSION names) and per credential:

- ``key``: ANTHROPIC_API_KEY in Claude Code's environment, so ccprompt's probe carries it
  and sees what Claude Code sees (a 529);
- ``keyless``: Claude Code gets its key from an ``apiKeyHelper`` (ccprompt never runs one)
  beside a subscriber's ``~/.claude/.credentials.json`` (ccprompt never reads one), so
  ccprompt's probe is anonymous and the fake API answers it 401, as the real edge does.

The status line is the one `ccprompt install statusline` writes (its refreshInterval).
Every scenario reports its figures (seconds to 🔴 and the words shown, seconds to 🟢) through
``report_timing``: printed, collected in the terminal summary and in
$CCPROMPT_E2E_TIMINGS. The bounds are the issue's targets plus the sampling slack; a
figure past one fails the test with the figure reported first.
"""

from __future__ import annotations

import time

import pytest
from harness import REPO_ROOT, TEST_KEY
from harness.statuspage import MAJOR_API, FakeStatusPage

from .claude import SUBSCRIBER_SECRET, display_width, gave_up, retrying
from .scenario import (
    GREEN_TARGET_S,
    SAMPLING_SLACK_S,
    SHELL_TARGET_S,
    STALL_MARKER_S,
    ShellPrompt,
    attempt_shown,
    first_shown,
    green,
    lines_from,
    red,
    red_expected,
    secrets_in,
    waiting,
    writes_attempt_lines,
)
from .sseapi import SSEAPI
from .test_claude_statusline import PROMPT, reply_count

AUTHS = {"key": "key", "keyless": "helper"}  # the test id -> ClaudeCode(auth=...)
MODEL = "sonnet"  # Claude Code retries a 529 on Sonnet ten times over ~3 minutes, in every release
STALL_S = 35
START_S = 45  # Claude Code up and the first probe's line shown


@pytest.fixture
def sse_api():
    """The fake API that, like the real one, answers 401 to a request without the key."""
    with SSEAPI(require_key=TEST_KEY) as api:
        yield api


@pytest.fixture(params=list(AUTHS))
def auth(request) -> str:
    return request.param


def start(start_claude, auth: str, **options):
    cc = start_claude(auth=AUTHS[auth], refresh_interval=None, model=MODEL, **options)
    cc.wait_for_status(lambda line: any(i in line for i in "🟢🟡🔴⚪"), START_S, "the first probe's line")
    return cc


def no_leak(cc, api, auth: str) -> None:
    """The subscriber's secret never shows; ccprompt's probes are anonymous without a key."""
    assert not secrets_in(cc), secrets_in(cc)
    probes = api.probes()
    assert all(SUBSCRIBER_SECRET not in str(p.headers) for p in probes)
    if auth == "keyless":
        assert probes and all(not p.authenticated and p.status == 401 for p in probes), \
            [p.summary() for p in probes]
    else:
        assert probes and all(p.authenticated for p in probes), [p.summary() for p in probes]


def any_red(cc, start: float, end: float) -> dict:
    """When the line first showed 🔴 at all (whatever its words) between ``start`` and ``end``."""
    for mono, line in list(cc.status_history):
        if start <= mono <= end and red(line):
            return {"seconds_first_529_to_any_red": round(mono - start, 2), "first_red_line": line}
    return {"seconds_first_529_to_any_red": None}


def settled(line: str) -> bool:
    """🟢 and nothing else: not red, no waiting turn."""
    return green(line) and not red(line) and not waiting(line)


def whole_segment(line: str, columns: int) -> bool:
    """Every status row fits what Claude Code shows (COLUMNS - 4) and the health row is not cut."""
    rows = line.split("\n")
    fits = all(display_width(row) <= columns - 4 for row in rows)
    return fits and not any(row.endswith("…") for row in rows if "🔴" in row or "⏳" in row)


@pytest.mark.parametrize("when, width", [("first prompt", 80), ("later prompt", 46)])
def test_529_storm_turns_red_on_time_and_green_on_the_first_good_reply(start_claude, sse_api, auth, report_timing,
                                                                         claude_version, when, width):
    cc = start(start_claude, auth, width=width)
    replies = 0
    if when == "later prompt":
        cc.send_prompt(PROMPT)
        cc.wait_for_screen(lambda s: reply_count(s) >= 1, 60, "the first reply")
        replies = 1

    sse_api.set_mode("overloaded")
    cc.send_prompt(PROMPT)
    first = sse_api.wait_for(lambda r: r.is_claude_code and r.status == 529, 30)
    cc.timeline.mark("first 529", first.mono)
    sse_api.wait_for(lambda r: r.is_claude_code and r.status == 529 and r.number > first.number, 15)
    cc.wait_for_screen(retrying, 20, "Claude Code's retry notice")
    attempts_written = writes_attempt_lines(cc, 2)
    expected, what, target_s = red_expected(auth, attempts_written)
    figures = {"scenario_width": width, "refresh_interval": cc.refresh_interval, "auth": auth,
               "attempt_lines": attempts_written, "expected": what, "target_s": target_s}
    try:
        seconds_red, red_line = first_shown(cc, expected, first.mono, target_s + SAMPLING_SLACK_S, what)
        figures.update(seconds_first_529_to_red=seconds_red, red_line=red_line)
        if red_line is not None:
            shown_at = first.mono + seconds_red
            figures["attempts_sent_by_then"] = len(sse_api.messages(
                lambda r: r.is_claude_code and r.status == 529 and r.mono <= shown_at))
            figures["attempt_on_line"] = attempt_shown(red_line)
        healthy = cc.timeline.mark("api healthy", sse_api.set_mode("ok"))
        reply = cc.wait_for_screen(lambda s: reply_count(s) > replies, 90, "the reply after the storm")
        good = sse_api.wait_for(lambda r: r.is_claude_code and r.status == 200 and r.mono >= healthy, 5)
        recovered = good.done_mono or good.mono
        cc.timeline.mark("first good reply sent", recovered)
        seconds_green, green_line = first_shown(cc, settled, recovered,
                                                GREEN_TARGET_S + SAMPLING_SLACK_S, "🟢 after the first good reply")
        figures.update(seconds_reply_to_green=seconds_green, green_line=green_line,
                       seconds_reply_on_screen=round(reply.mono - recovered, 2),
                       claude_529s=len(sse_api.messages(lambda r: r.is_claude_code and r.status == 529)))
        during = lines_from(cc, expected, first.mono, healthy)
        figures["lines_during_storm"] = sorted(set(during))
        figures.update(any_red(cc, first.mono, healthy))
    finally:
        report_timing(f"529 storm on the {when}", **figures)

    assert not gave_up(reply), "Claude Code gave up before the API recovered:\n" + cc.diagnostics(reply)
    assert seconds_red is not None, f"no {what} within {target_s}s of the first 529\n{cc.diagnostics()}"
    if figures["attempt_on_line"] is not None:
        assert 1 <= figures["attempt_on_line"] <= figures["attempts_sent_by_then"], figures
    assert not any(green(line) for line in during), f"🟢 while the storm went on: {during}"
    assert whole_segment(red_line, width), f"the line does not fit {width} columns: {red_line!r}"
    assert seconds_green is not None, f"no 🟢 within {GREEN_TARGET_S}s of the first good reply\n{cc.diagnostics()}"
    no_leak(cc, sse_api, auth)


def test_stall_on_the_first_prompt_shows_the_waiting_turn(start_claude, sse_api, auth, report_timing,
                                                          claude_version):
    cc = start(start_claude, auth)
    sse_api.set_mode("stall", seconds=STALL_S, scope="stream")
    cc.send_prompt(PROMPT)
    stalled = sse_api.wait_for(lambda r: r.is_claude_code and any(n == "stall_start" for n, _ in r.notes), 30)
    began = next(t for n, t in stalled.notes if n == "stall_start")
    cc.timeline.mark("stall started", began)
    figures = {"auth": auth, "stall_s": STALL_S, "refresh_interval": cc.refresh_interval}
    try:
        # Without a key the anonymous probe cannot vouch for the model: the waiting turn, never 🟢.
        marked = waiting if auth == "key" else (lambda line: waiting(line) and not green(line))
        seconds_marker, marker_line = first_shown(cc, marked, began, STALL_MARKER_S + SAMPLING_SLACK_S,
                                                  "the waiting turn")
        figures.update(seconds_stall_to_marker=seconds_marker, marker_line=marker_line)
        sse_api.set_mode("ok")
        cc.wait_for_screen(lambda s: reply_count(s) >= 1, STALL_S + 30, "the reply after the stall")
        done = sse_api.wait_for(lambda r: r.number == stalled.number and r.done_mono is not None, 10).done_mono
        seconds_green, green_line = first_shown(cc, settled, done,
                                                GREEN_TARGET_S + SAMPLING_SLACK_S, "🟢 without the marker")
        figures.update(seconds_reply_to_green=seconds_green, green_line=green_line)
    finally:
        report_timing("stall on the first prompt", **figures)
    assert seconds_marker is not None, f"no waiting marker within {STALL_MARKER_S}s of the stall\n{cc.diagnostics()}"
    assert seconds_green is not None, f"no 🟢 within {GREEN_TARGET_S}s of the reply\n{cc.diagnostics()}"
    no_leak(cc, sse_api, auth)


def test_network_failure_and_recovery_reach_the_shell_prompt_with_no_session_activity(
        start_claude, sse_api, auth, report_timing, claude_version, tmp_path):
    """The API's port is closed: a new shell's prompt and an idle session turn red on their own
    first probes. The port opens again right after the shell's next probe failed, while nothing
    happens in any session; the shell prompt (Enter pressed once a second, nothing else) and the
    idle session must turn green by themselves, with no session activity to prove the recovery."""
    down = sse_api.close_port()
    cc = start(start_claude, auth)  # a session left idle: no prompt is ever sent
    shell = ShellPrompt(tmp_path / "shell", sse_api.url, auth, REPO_ROOT).start(subscriber=auth == "keyless")
    cc.timeline.mark("port closed", down)
    figures = {"auth": auth, "refresh_interval": cc.refresh_interval}
    try:
        opened = time.monotonic()
        seconds_red, red_prompt = shell.watch_until(red, opened, SHELL_TARGET_S + SAMPLING_SLACK_S)
        figures.update(shell_seconds_first_prompt_to_red=seconds_red,
                       **{"shell_red" if seconds_red is not None else "shell_prompt_at_bound": red_prompt})
        idle_red, idle_red_line = first_shown(cc, red, down, START_S, "🔴 in the idle session")
        figures.update(idle_session_red=idle_red_line)
        assert seconds_red is not None and idle_red is not None, \
            f"not red while the port was closed: shell {shell.history}\n{cc.diagnostics()}"
        # The worst moment for the shell: the port opens right after its next probe failed, so
        # nothing but its own schedule (no session, no other shell) can show the recovery.
        figures["shell_seconds_red_to_next_failed_probe"] = shell.until_next_probe(SHELL_TARGET_S + 10)
        up = cc.timeline.mark("port reopened", sse_api.reopen_port())
        seconds_green, green_prompt = shell.watch_until(lambda p: green(p) and not red(p), up,
                                                        SHELL_TARGET_S + SAMPLING_SLACK_S)
        figures.update(shell_seconds_to_green=seconds_green,
                       **{"shell_green" if seconds_green is not None else "shell_prompt_at_bound": green_prompt})
        idle_green, idle_green_line = first_shown(cc, settled, up, SHELL_TARGET_S + SAMPLING_SLACK_S, "🟢")
        figures.update(idle_session_seconds_to_green=idle_green, idle_session_green=idle_green_line,
                       shell_prompts=[p for _, p in shell.history])
    finally:
        report_timing("network failure and recovery, shell prompt and idle session", **figures)
        shell.stop()
    assert seconds_green is not None, f"the shell prompt was not 🟢 within {SHELL_TARGET_S}s: {shell.history}"
    assert idle_green is not None, f"the idle session was not 🟢 within {SHELL_TARGET_S}s\n{cc.diagnostics()}"
    assert not shell.secrets(), shell.secrets()
    assert not secrets_in(cc), secrets_in(cc)
    if auth == "keyless":
        assert not any(p.authenticated for p in sse_api.probes()), [p.summary() for p in sse_api.probes()]


def test_529_storm_names_the_status_page_incident(start_claude, sse_api, auth, report_timing, claude_version):
    incident_name = MAJOR_API["incidents"][0]["name"]  # "Elevated errors on Opus 5.5"
    with FakeStatusPage() as page:
        page.serve(MAJOR_API)
        cc = start(start_claude, auth, extra_env={"CCPROMPT_STATUSPAGE_URL": page.url,
                                                  "SSL_CERT_FILE": str(page.ca_file)})
        sse_api.set_mode("overloaded")
        cc.send_prompt(PROMPT)
        first = sse_api.wait_for(lambda r: r.is_claude_code and r.status == 529, 30)
        cc.timeline.mark("first 529", first.mono)
        sse_api.wait_for(lambda r: r.is_claude_code and r.status == 529 and r.number > first.number, 15)
        attempts_written = writes_attempt_lines(cc, 2)
        base, what, target_s = red_expected(auth, attempts_written)
        # Where the line claims a failure, the incident explains it; the waiting turn alone claims none.
        names_incident = auth == "key" or attempts_written
        expected = (lambda line: base(line) and "incident" in line.lower() and incident_name[:15] in line) \
            if names_incident else base
        figures = {"auth": auth, "refresh_interval": cc.refresh_interval, "attempt_lines": attempts_written,
                   "expected": what + (" and the incident" if names_incident else "")}
        try:
            seconds_red, red_line = first_shown(cc, expected, first.mono, target_s + SAMPLING_SLACK_S, what)
            figures.update(seconds_first_529_to_red=seconds_red, red_line=red_line,
                           status_page_requests=page.request_count, **any_red(cc, first.mono, time.monotonic()),
                           lines_during_storm=sorted(set(lines_from(cc, expected, first.mono, time.monotonic()))))
        finally:
            report_timing("529 storm with a status page incident", **figures)
            sse_api.set_mode("ok")
        assert page.request_count >= 1, "ccprompt never asked the status page"
        assert seconds_red is not None, f"no {figures['expected']} within {target_s}s\n{cc.diagnostics()}"
        no_leak(cc, sse_api, auth)
