"""The real Claude Code CLI, with ccprompt as its statusLine, against a fake Messages API.

Each test starts Claude Code (pinned in claude.py) in tmux with a throwaway HOME and reads
the screen the way a person would. Timings are measured on one monotonic clock from what
the fake API did (its first 529, the start of a stall) or from what appeared on screen
(the first reply after an outage) to the status line's change, and are printed and kept.

StatusLineMismatch marks a status line that says the wrong thing; ScreenTimeout marks a
precondition (Claude Code itself, the fake API) that did not happen.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import time

from .claude import NETWORK_ICONS, ScreenTimeout, StatusLineMismatch, display_width, gave_up, retrying

PROMPT = "Reply with the single word pong."
SONNET = "claude-sonnet-4-5"
START_GREEN_S = 30  # the COLD probe on the first render
RED_TARGET_S, RED_BOUND_S = 20, 30
GREEN_BOUND_S = 10  # target: one render, refreshInterval = 1 s
STALL_S = 32
NARROW = 46


def green(line: str) -> bool:
    return "🟢" in line


def red_naming_529(line: str) -> bool:
    return "🔴" in line and "529" in line


def waiting_marker(line: str) -> bool:
    network = line[min((line.index(i) for i in NETWORK_ICONS if i in line), default=len(line)):]
    return any(mark in line for mark in ("⏳", "⌛")) or any(w in network.lower() for w in ("wait", "stall"))


def reply_count(screen) -> int:
    """Replies shown: Claude Code prints an assistant text block as `● pong`."""
    return sum(1 for row in screen.rows if row.strip() == "● pong")


def shell_prompt(cc) -> dict:
    """What a bash prompt beside this Claude Code exports: the real `ccprompt init bash`, one prompt."""
    env = {k: v for k, v in cc.environment().items() if k != "ANTHROPIC_API_KEY"}
    init = f"{shlex.quote(sys.executable)} -m ccprompt init bash --no-refresh --position none"
    result = subprocess.run(["bash", "--noprofile", "--norc", "-c", f'eval "$({init})"; __ccprompt_hook; command env'],
                            env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return {k: v for k, v in (line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
            if k in ("CCPROMPT_CACHE", "CCPROMPT_CONTEXT", "CCPROMPT_SESSION")}


def wait_until_green(cc) -> float:
    screen = cc.wait_for_status(green, START_GREEN_S, "🟢 after the first probe", error=ScreenTimeout)
    return round(screen.mono - cc.timeline.at("claude started"), 2)


def test_healthy_reply_and_green_status(start_claude, sse_api, report_timing):
    cc = start_claude()
    seconds_to_green = wait_until_green(cc)

    probes = sse_api.probes()
    assert probes, f"no ccprompt probe reached the fake API: {[r.summary() for r in sse_api.requests]}"
    assert all(p.path.split("?")[0] == "/v1/messages" and not p.stream and p.max_tokens == 1 for p in probes)

    sent = cc.send_prompt(PROMPT)
    screen = cc.wait_for_screen(lambda s: reply_count(s) >= 1, 60, "the reply `● pong`")
    assert green(cc.statusline_row()), cc.diagnostics()

    turns = sse_api.claude_requests()
    assert turns and all(r.stream and r.path == "/v1/messages?beta=true" for r in turns)
    assert all(not r.stream and r.path == "/v1/messages" for r in probes)
    report_timing("healthy", seconds_start_to_green=seconds_to_green,
                  seconds_prompt_to_reply=round(screen.mono - sent, 2),
                  status_line=cc.statusline_row(), probes=len(probes), claude_requests=len(turns))


def test_529_storm_turns_red_while_claude_code_retries(start_claude, sse_api, report_timing):
    cc = start_claude(model=SONNET)  # Sonnet with an API key and no IS_SANDBOX: 10 retries over ~3 min
    wait_until_green(cc)

    cc.timeline.mark("api overloaded", sse_api.set_mode("overloaded"))
    cc.send_prompt(PROMPT)
    first = sse_api.wait_for(lambda r: r.is_claude_code and r.status == 529, 30)
    cc.timeline.mark("first 529", first.mono)
    renders_before = cc.render_count()
    cc.wait_for_screen(retrying, 20, "Claude Code's retry notice")

    screen = None
    try:
        screen = cc.wait_for_status(red_naming_529, first.mono + RED_BOUND_S - time.monotonic(),
                                    "🔴 naming 529 during the retries")
    finally:
        seen = cc.first_status(red_naming_529, after=first.mono) or (screen.mono if screen else None)
        renders = cc.render_count()
        report_timing("529 storm", seconds_first_529_to_red=None if seen is None else round(seen - first.mono, 2),
                      target_s=RED_TARGET_S, bound_s=RED_BOUND_S,
                      claude_attempts=len(sse_api.messages(lambda r: r.is_claude_code and r.status == 529)),
                      probes_during_storm=len(sse_api.messages(lambda r: r.is_ccprompt and r.mono >= first.mono)),
                      renders_during_storm=None if None in (renders, renders_before) else renders - renders_before,
                      status_line=cc.statusline_row())
    assert retrying(screen), "Claude Code had given up before the line turned red:\n" + cc.diagnostics(screen)


def test_recovery_turns_green_within_one_render(start_claude, sse_api, report_timing):
    cc = start_claude()  # Opus, API key, no IS_SANDBOX: gives up after 3 quick 529s
    wait_until_green(cc)

    sse_api.set_mode("overloaded")
    cc.send_prompt(PROMPT)
    cc.wait_for_screen(lambda s: gave_up(s, 529), 45, "Claude Code giving up on the 529s")
    cc.wait_for_status(lambda line: "🔴" in line, 30, "🔴 after the failed turn", error=ScreenTimeout)
    cc.timeline.mark("status red")

    cc.timeline.mark("api healthy", sse_api.set_mode("ok"))
    cc.send_prompt(PROMPT)
    reply = cc.wait_for_screen(lambda s: reply_count(s) >= 1, 60, "the first reply after the outage")
    cc.timeline.mark("first reply on screen", reply.mono)

    shown = None
    try:
        shown = cc.wait_for_status(green, reply.mono + GREEN_BOUND_S - time.monotonic(), "🟢 after the reply")
    finally:
        seen = cc.first_status(green, after=cc.timeline.at("status red")) or (shown.mono if shown else None)
        report_timing("recovery",
                      seconds_reply_to_green=None if seen is None else round(max(seen - reply.mono, 0.0), 2),
                      target_s=1, bound_s=GREEN_BOUND_S, status_line=cc.statusline_row())


def test_midstream_stall_shows_waiting_marker(start_claude, sse_api, report_timing):
    cc = start_claude()
    wait_until_green(cc)
    assert shell_prompt(cc)["CCPROMPT_SESSION"] == ""  # a shell starts: its init creates what it reads

    sse_api.set_mode("stall", seconds=STALL_S, scope="main")
    cc.send_prompt(PROMPT)
    stalled = sse_api.wait_for(lambda r: r.is_claude_code and any(n == "stall_start" for n, _ in r.notes), 30)
    start = next(t for n, t in stalled.notes if n == "stall_start")
    cc.timeline.mark("stall started", start)

    marked = None
    try:
        marked = cc.wait_for_status(waiting_marker, start + STALL_S - 1 - time.monotonic(),
                                    "a waiting marker in the stall")
    finally:
        seen = cc.first_status(waiting_marker, after=start) or (marked.mono if marked else None)
        report_timing("mid-stream stall", stall_s=STALL_S,
                      seconds_stall_to_marker=None if seen is None else round(seen - start, 2),
                      status_line=cc.statusline_row())
    # The shell prompt beside it says the same, from the file the status line wrote.
    during = shell_prompt(cc)
    assert during["CCPROMPT_SESSION"].startswith("waiting "), during
    cc.wait_for_screen(lambda s: reply_count(s) >= 1, STALL_S + 30, "the reply after the stall")
    cc.wait_for_status(lambda line: green(line) and not waiting_marker(line), 10, "🟢 without the marker")
    after = shell_prompt(cc)
    context = next((part.strip() for part in cc.statusline_row().split("|") if part.strip().startswith("ctx ")), None)
    assert after["CCPROMPT_SESSION"] == "" and after["CCPROMPT_CONTEXT"] == context, (after, cc.statusline_row())
    report_timing("shell prompt beside the stall", during=during, after=after)


def test_narrow_terminal_keeps_network_segment_whole(start_claude, sse_api, report_timing):
    # A short model name and directory make the whole line just fit $COLUMNS (44 of 46), so
    # a line laid out for $COLUMNS instead of COLUMNS-4 ends its only row with the network segment.
    # CLAUDE_CODE_MAX_RETRIES=0: Sonnet gives up on the first 529, so the line turns red quickly.
    cc = start_claude(width=NARROW, model=SONNET, workdir_name="w", extra_env={"CLAUDE_CODE_MAX_RETRIES": "0"})
    limit = NARROW - 4  # the most Claude Code shows of a row

    def cut(screen) -> bool:
        segment = screen.network_segment
        return segment is not None and segment.endswith("…") and display_width(screen.network_row) >= limit - 1

    def check(what: str, seconds: float = 3.0) -> list[str]:
        """Watch the status line for a few renders; every network segment shown must be whole."""
        shown, deadline = [], time.monotonic() + seconds
        while time.monotonic() < deadline:
            screen = cc.screen()
            if screen.network_segment is not None:
                shown.append(screen.network_segment)
                if cut(screen):
                    raise StatusLineMismatch(f"{what}: network segment cut at {NARROW} columns: "
                                             f"{screen.network_row!r}\n{cc.diagnostics(screen)}")
            time.sleep(0.25)
        return shown

    wait_until_green(cc)
    widths = {row: display_width(row) for row in cc.screen().status_rows}
    try:
        healthy = check("healthy")
    finally:
        report_timing("narrow terminal", columns=NARROW, shown_columns=limit, row_widths=sorted(widths.values()),
                      network_segment=cc.screen().network_segment)
    assert all(width <= limit for width in widths.values()), widths

    sse_api.set_mode("overloaded")
    cc.send_prompt(PROMPT)
    cc.wait_for_screen(gave_up, 45, "Claude Code giving up on the 529")
    cc.wait_for_status(lambda line: "🔴" in line, 30, "🔴 after the failed turn", error=ScreenTimeout)
    failing = check("red")
    assert healthy and failing
