"""The real Claude Code CLI started as `ccprompt run claude`, through the local proxy, against the fake API.

`ccprompt run` finds or starts the supervised proxy for the fake API and runs Claude Code
with ANTHROPIC_BASE_URL pointing at it, so the status line (whose environment is Claude
Code's) reads the state the proxy writes for every real request. Timings are measured on
one monotonic clock, from what the fake API did or what appeared on screen, to the
status line's change, and printed like the other e2e timings.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import time
from pathlib import Path

import pytest
from harness import TEST_KEY, assert_no_secret

from .claude import ClaudeCode, ScreenTimeout, gave_up
from .test_claude_statusline import PROMPT, SONNET, green, reply_count

START_GREEN_S = 30
RED_BOUND_S = 5  # the first failing attempt is recorded when its status arrives: one or two renders
GREEN_BOUND_S = 5
RESTART_BOUND_S = 3


def red_naming_529(line: str) -> bool:
    return "🔴" in line and "529" in line


def red_naming_a_retry(line: str) -> bool:
    return red_naming_529(line) and re.search(r"retry \d", line) is not None


def proxy_state(home: Path) -> dict | None:
    for path in sorted(home.glob("proxy-*.json")) if home.is_dir() else ():
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            continue
    return None


def health(state: dict, home: Path) -> dict | None:
    """The health answer, asked the way `run` asks: a fresh challenge, the proof checked with the secret."""
    from ccprompt.sources.proxy import supervisor

    return supervisor.check_health(state["port"], host=state["host"], home=str(home), timeout=0.5)


def retried(requests) -> list:
    """Requests sent again: Claude Code retries with X-Stainless-Retry-Count: 0, so a retry shows as
    the same request (model, size) once more, or as a non-zero count from the SDK's own retries."""
    seen, again = set(), []
    for r in requests:
        key = (r.model, r.headers.get("content-length"), r.headers.get("x-claude-code-session-id"))
        if key in seen or r.headers.get("x-stainless-retry-count", "0") not in ("", "0"):
            again.append(r)
        seen.add(key)
    return again


@pytest.fixture
def start_proxied(claude_code_argv, claude_version, sse_api, tmp_path):
    """Like start_claude, with Claude Code started as `python -m ccprompt run -- claude ...`.

    At teardown the supervisor `run` started is stopped (it outlives the session by design)
    and no file under CCPROMPT_HOME may hold the API key.
    """
    sessions: list[ClaudeCode] = []

    def start(**options) -> ClaudeCode:
        root = tmp_path / f"proxied-{len(sessions) + 1}"
        root.mkdir()
        argv = [sys.executable, "-m", "ccprompt", "run", "--", *claude_code_argv]
        session = ClaudeCode(argv, sse_api.url, root, version=claude_version, **options)
        sessions.append(session)
        return session.start()

    yield start
    for session in sessions:
        session.stop()
        state = proxy_state(session.ccprompt_home)
        if state:
            try:
                os.kill(state["pid"], signal.SIGTERM)
            except ProcessLookupError:
                pass
    for session in sessions:
        if session.ccprompt_home.exists():
            assert_no_secret(session.ccprompt_home)


def through_the_proxy(cc: ClaudeCode) -> dict:
    """The proxy `run` started for this session, once it is healthy."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        state = proxy_state(cc.ccprompt_home)
        if state and health(state, cc.ccprompt_home):
            return state
        time.sleep(0.1)
    raise ScreenTimeout(f"no healthy proxy under {cc.ccprompt_home}\n{cc.diagnostics()}")


def attempts(home: Path) -> list:
    path = home / "requests.jsonl"
    if not path.exists():
        return []
    events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [e for e in events if e.get("kind") == "attempt"]


def relayed(home: Path) -> set:
    """The request ids of the real requests whose exchange the proxy has finished and recorded."""
    return {e.get("request_id") for e in attempts(home) if not e.get("probe")}


def test_replies_arrive_intact_and_every_request_is_recorded_without_the_key(start_proxied, sse_api,
                                                                               report_timing):
    cc = start_proxied()
    state = through_the_proxy(cc)
    screen = cc.wait_for_status(green, START_GREEN_S, "🟢 after the first probe", error=ScreenTimeout)
    sent = cc.send_prompt(PROMPT)
    reply = cc.wait_for_screen(lambda s: reply_count(s) >= 1, 60, "the reply `● pong`")
    turns = sse_api.claude_requests()
    assert turns and all(r.stream and r.path == "/v1/messages?beta=true" for r in turns)
    assert all(r.headers.get("x-api-key") == TEST_KEY for r in turns), "the key did not pass through unchanged"

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len([e for e in attempts(cc.ccprompt_home) if not e.get("probe")
                                               and e["path"] == "/v1/messages"]) < len(turns):
        time.sleep(0.1)
    real = [e for e in attempts(cc.ccprompt_home) if not e.get("probe") and e["path"] == "/v1/messages"]
    assert len(real) == len(turns), (real, [t.summary() for t in turns])
    assert all(e["status"] == 200 and e["outcome"] == "ok" and e["session_id"] and e["attempt"] == 1
               and e["model_served"] and e["usage"] for e in real)
    marked = cc.wait_for_status(lambda line: green(line) and "⇄" in line, GREEN_BOUND_S,
                                "🟢 marked ⇄ (the proxy's real requests decide)")
    assert_no_secret(cc.ccprompt_home)
    report_timing("proxied reply", seconds_reply_to_proxy_mark=round(max(marked.mono - reply.mono, 0.0), 2), seconds_start_to_green=round(screen.mono - cc.timeline.at("claude started"), 2),
                  seconds_prompt_to_reply=round(reply.mono - sent, 2), claude_requests=len(turns),
                  recorded_attempts=len(real), proxy_port=state["port"], status_line=cc.statusline_row())


def test_a_529_storm_is_red_on_the_first_failing_attempt_and_green_on_the_first_reply(start_proxied, sse_api,
                                                                                        report_timing):
    cc = start_proxied(model=SONNET)  # Sonnet with an API key: ten retries, time enough to recover
    through_the_proxy(cc)
    cc.wait_for_status(green, START_GREEN_S, "🟢 after the first probe", error=ScreenTimeout)

    cc.timeline.mark("api overloaded", sse_api.set_mode("overloaded"))
    cc.send_prompt(PROMPT)
    first = sse_api.wait_for(lambda r: r.is_claude_code and r.status == 529, 30)
    cc.timeline.mark("first 529", first.mono)
    figures = {}
    try:
        screen = cc.wait_for_status(red_naming_529, first.mono + RED_BOUND_S - time.monotonic(), "🔴 naming 529")
        seen = min(cc.first_status(red_naming_529, after=first.mono) or screen.mono, screen.mono)
        figures["seconds_first_529_to_red"] = round(seen - first.mono, 2)
        # Claude Code retries on its own, each retry with X-Stainless-Retry-Count: 0; the proxy
        # counts a request sent again after a failure as the next attempt.
        main = sse_api.wait_for(lambda r: r.is_claude_code and r.status == 529 and r.model == SONNET, 30)
        second = sse_api.wait_for(lambda r: r.is_claude_code and r.status == 529 and r.model == SONNET
                                  and r.number > main.number, 30)
        screen = cc.wait_for_status(red_naming_a_retry, second.mono + RED_BOUND_S - time.monotonic(),
                                    "🔴 naming 529 and the retry")
        seen = min(cc.first_status(red_naming_a_retry, after=second.mono) or screen.mono, screen.mono)
        figures["seconds_retry_529_to_red_naming_retry"] = round(max(seen - second.mono, 0.0), 2)
        figures["red_line"] = screen.network_segment

        cc.timeline.mark("api healthy", sse_api.set_mode("ok"))
        reply = cc.wait_for_screen(lambda s: reply_count(s) >= 1, 90, "the first reply after the storm")
        cc.timeline.mark("first reply on screen", reply.mono)
        ok = sse_api.wait_for(lambda r: r.is_claude_code and r.stream and r.status == 200
                              and r.mono >= cc.timeline.at("api healthy"), 5)
        screen = cc.wait_for_status(green, reply.mono + GREEN_BOUND_S - time.monotonic(), "🟢 after the first good reply")
        seen = min(cc.first_status(green, after=cc.timeline.at("api healthy")) or screen.mono, screen.mono)
        figures["seconds_reply_to_green"] = round(max(seen - reply.mono, 0.0), 2)
        figures["seconds_good_response_to_green"] = round(max(seen - ok.mono, 0.0), 2)
    finally:
        report_timing("proxied 529 storm and recovery", red_bound_s=RED_BOUND_S, green_bound_s=GREEN_BOUND_S,
                      claude_529s=len(sse_api.messages(lambda r: r.is_claude_code and r.status == 529)),
                      status_line=cc.statusline_row(), **figures)


@pytest.mark.parametrize("when", ["between turns", "mid-stream"])
def test_kill_9_of_the_proxy_server_costs_at_most_one_retried_request(start_proxied, sse_api, report_timing, when):
    cc = start_proxied()
    state = through_the_proxy(cc)
    cc.wait_for_status(green, START_GREEN_S, "🟢 after the first probe", error=ScreenTimeout)
    cc.send_prompt(PROMPT)
    cc.wait_for_screen(lambda s: reply_count(s) >= 1, 60, "the first reply")
    before = len(sse_api.claude_requests())
    victim = health(state, cc.ccprompt_home)["pid"]
    assert victim != state["pid"], "the health answer should come from the server, not the supervisor"

    if when == "mid-stream":  # the turn's stream is open, through the server, when it dies
        sse_api.set_mode("stall", seconds=20, scope="main")
        sent = cc.send_prompt("Reply with the single word pong, again.")
        stalled = sse_api.wait_for(lambda r: r.is_claude_code and any(n == "stall_start" for n, _ in r.notes), 30)
        sse_api.set_mode("ok")
        # The turn's title request runs beside it; wait until the proxy has passed its reply on,
        # so that the stalled stream is the one the kill breaks.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            siblings = {r.request_id for r in sse_api.claude_requests()[before:] if r.number != stalled.number}
            if siblings and siblings <= relayed(cc.ccprompt_home):
                break
            time.sleep(0.02)
    done_before = relayed(cc.ccprompt_home)
    killed = cc.timeline.mark("server killed")
    os.kill(victim, signal.SIGKILL)
    restarted = None
    deadline = time.monotonic() + RESTART_BOUND_S + 10
    while time.monotonic() < deadline:
        answer = health(state, cc.ccprompt_home)
        if answer and answer["pid"] != victim:
            restarted = cc.timeline.mark("server healthy again")
            break
        time.sleep(0.05)
    assert restarted is not None, f"no server on port {state['port']} after the kill\n{cc.diagnostics()}"

    if when == "between turns":
        sent = cc.send_prompt("Reply with the single word pong, again.")
    reply = cc.wait_for_screen(lambda s: reply_count(s) >= 2, 60, "the reply after the kill")
    after = sse_api.claude_requests()[before:]
    # In flight: sent before the kill, and its reply not yet passed on whole by the proxy.
    in_flight = [r for r in after if r.mono < killed and r.request_id not in done_before]
    again = [r for r in retried(after) if r.mono >= killed]  # a repeat sent before the kill is not its cost
    report_timing(f"proxy server kill -9 {when}", seconds_kill_to_healthy=round(restarted - killed, 2),
                  bound_s=RESTART_BOUND_S, seconds_prompt_to_reply=round(reply.mono - sent, 2),
                  same_port=proxy_state(cc.ccprompt_home)["port"] == state["port"],
                  claude_requests_after=len(after), in_flight_at_kill=len(in_flight), retried_after=len(again))
    assert restarted - killed <= RESTART_BOUND_S
    assert proxy_state(cc.ccprompt_home)["port"] == state["port"]
    # Each request the kill broke is sent again once; nothing else is, and nothing twice.
    detail = [(r.summary(), r.headers.get("content-length")) for r in after]
    assert len(again) <= max(1, len(in_flight)), detail
    assert len(retried(again)) == 0, detail
    assert not gave_up(reply)


def test_kill_9_of_the_supervisor_keeps_the_port_and_claude_code_goes_on(start_proxied, sse_api, report_timing):
    """The server starts a new supervisor on the same socket: the port is never free, the next turn works."""
    cc = start_proxied()
    state = through_the_proxy(cc)
    cc.wait_for_status(green, START_GREEN_S, "🟢 after the first probe", error=ScreenTimeout)
    cc.send_prompt(PROMPT)
    cc.wait_for_screen(lambda s: reply_count(s) >= 1, 60, "the first reply")
    killed = cc.timeline.mark("supervisor killed")
    os.kill(state["pid"], signal.SIGKILL)
    adopted = None
    deadline = time.monotonic() + RESTART_BOUND_S + 10
    while time.monotonic() < deadline:
        now = proxy_state(cc.ccprompt_home)
        answer = health(now, cc.ccprompt_home) if now and now["pid"] != state["pid"] else None
        if answer and answer["supervisor_pid"] == now["pid"]:
            adopted = cc.timeline.mark("a new supervisor, its server healthy")
            break
        time.sleep(0.05)
    assert adopted is not None, f"no new supervisor after the kill\n{cc.diagnostics()}"
    assert now["port"] == state["port"]
    sent = cc.send_prompt("Reply with the single word pong, again.")
    reply = cc.wait_for_screen(lambda s: reply_count(s) >= 2, 60, "the reply after the kill")
    report_timing("proxy supervisor kill -9", seconds_kill_to_adopted=round(adopted - killed, 2),
                  bound_s=RESTART_BOUND_S, seconds_prompt_to_reply=round(reply.mono - sent, 2), same_port=True)
    assert adopted - killed <= RESTART_BOUND_S
    assert not gave_up(reply)
