"""The end-to-end harness itself, without Claude Code: the fake SSE API and the screen reader."""

from __future__ import annotations

import http.client
import json
import re
import time
from pathlib import Path

import pytest

from .claude import (
    PINNED_VERSIONS,
    VERSION_ENV,
    Screen,
    Timeline,
    display_width,
    gave_up,
    retrying,
    versions_under_test,
)
from .sseapi import SSEAPI

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def api():
    with SSEAPI() as server:
        yield server


def post(api, body: dict, user_agent: str, path: str = "/v1/messages?beta=true"):
    conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=10)
    conn.request("POST", path, body=json.dumps(body),
                 headers={"content-type": "application/json", "user-agent": user_agent})
    return conn, conn.getresponse()


def read_events(response) -> list[tuple[float, str, dict]]:
    """(arrival time, event name, data) for each SSE event of a streamed response."""
    events, name = [], None
    while True:
        line = response.readline()
        if not line:
            return events
        line = line.decode().rstrip("\n")
        if line.startswith("event: "):
            name = line[len("event: "):]
        elif line.startswith("data: "):
            events.append((time.monotonic(), name, json.loads(line[len("data: "):])))


STREAM_BODY = {"model": "claude-sonnet-4-5", "max_tokens": 64000, "stream": True,
               "messages": [{"role": "user", "content": "hi"}], "tools": [{"name": "Bash"}]}
PROBE_BODY = {"model": "claude-haiku-4-5", "max_tokens": 1, "messages": [{"role": "user", "content": "."}]}


def test_stream_is_a_complete_messages_sse_sequence(api):
    conn, response = post(api, STREAM_BODY, "claude-cli/2.1.197 (external, cli)")
    assert response.status == 200
    assert response.getheader("content-type").startswith("text/event-stream")
    events = read_events(response)
    conn.close()
    names = [name for _, name, _ in events]
    assert names[0] == "message_start" and names[-1] == "message_stop"
    assert [n for n in names if n != "ping"] == ["message_start", "content_block_start", "content_block_delta",
                                                "content_block_delta", "content_block_stop", "message_delta",
                                                "message_stop"]
    assert all(data["type"] == name for _, name, data in events)
    usage = events[0][2]["message"]["usage"]
    assert {"input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"} <= set(usage)
    text = "".join(d["delta"]["text"] for _, n, d in events if n == "content_block_delta")
    assert text == "pong"
    assert events[-2][2]["delta"]["stop_reason"] == "end_turn" and "usage" in events[-2][2]
    (request,) = api.claude_requests()
    assert request.stream and request.has_tools and request.model == "claude-sonnet-4-5" and request.status == 200


def test_probe_gets_json_and_is_told_apart_by_user_agent(api):
    conn, response = post(api, PROBE_BODY, "ccprompt/0.1.0", path="/v1/messages")
    data = json.loads(response.read())
    conn.close()
    assert response.status == 200 and data["type"] == "message" and data["content"][0]["type"] == "text"
    (probe,) = api.probes()
    assert probe.is_ccprompt and not probe.is_claude_code and not probe.stream and probe.max_tokens == 1
    assert api.claude_requests() == []


def test_overloaded_answers_529_with_the_api_error_body(api):
    api.set_mode("overloaded")
    conn, response = post(api, STREAM_BODY, "claude-cli/2.1.197 (external, cli)")
    body = json.loads(response.read())
    conn.close()
    assert response.status == 529
    assert body["type"] == "error" and body["error"] == {"type": "overloaded_error", "message": "Overloaded"}
    assert api.requests[-1].mode == "overloaded" and api.requests[-1].status == 529


def test_stall_pauses_after_the_first_delta_and_only_hits_its_scope(api):
    api.set_mode("stall", seconds=0.6, scope="main")
    started = time.monotonic()
    conn, response = post(api, STREAM_BODY, "claude-cli/2.1.197 (external, cli)")
    events = read_events(response)
    conn.close()
    first_delta = next(t for t, n, _ in events if n == "content_block_delta")
    assert first_delta - started < 0.5
    assert events[-1][0] - first_delta >= 0.55
    title = dict(STREAM_BODY, tools=[])
    conn, response = post(api, title, "claude-cli/2.1.197 (external, cli)")
    begun = time.monotonic()
    read_events(response)
    conn.close()
    assert time.monotonic() - begun < 0.5
    assert [r.mode for r in api.claude_requests()] == ["stall", "ok"]


def test_slow_first_byte_delays_the_status_line(api):
    api.set_mode("slow_first_byte", seconds=0.5)
    started = time.monotonic()
    conn, response = post(api, PROBE_BODY, "ccprompt/0.1.0", path="/v1/messages")
    assert time.monotonic() - started >= 0.45 and response.status == 200
    response.read()
    conn.close()


def test_head_and_keep_alive(api):
    conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=10)
    conn.request("HEAD", "/")
    response = conn.getresponse()
    response.read()
    assert response.status == 200
    conn.request("POST", "/v1/messages?beta=true", body=json.dumps(STREAM_BODY),
                 headers={"user-agent": "claude-cli/2.1.197 (external, cli)"})
    assert read_events(conn.getresponse())[-1][1] == "message_stop"  # same connection, chunked stream
    conn.close()
    assert [r.method for r in api.requests] == ["HEAD", "POST"]


# What Claude Code 2.1.197 showed at 46 columns with today's red segment.
NARROW_SCREEN = """\
  (127.0.0.1:40217).

✻ Brewed for 1s

──────────────────────────────────────────────
❯ 
──────────────────────────────────────────────
  Opus 4.8 (1M context) | work | $0.00
  🔴 DNS:0ms|TCP:0ms|TLS:-|TTFB:1ms|Total:1…
  ← for agents
                            ● high · /effort
"""

WIDE_SCREEN = """\
────────────────────────────────────────────────────────────────────────────────────────────────────
❯ 
────────────────────────────────────────────────────────────────────────────────────────────────────
  Opus 4.8 (1M context) | work | $0.00 | 🟢 P95:2ms                               ● high · /effort
  ← for agents
"""


def test_screen_finds_the_status_rows_under_the_input_box():
    narrow = Screen(NARROW_SCREEN, 0.0)
    assert narrow.status_rows == ["Opus 4.8 (1M context) | work | $0.00", "🔴 DNS:0ms|TCP:0ms|TLS:-|TTFB:1ms|Total:1…"]
    assert narrow.network_segment == "🔴 DNS:0ms|TCP:0ms|TLS:-|TTFB:1ms|Total:1…"
    assert display_width(narrow.network_row) == 46 - 4
    wide = Screen(WIDE_SCREEN, 0.0)
    assert wide.status_line == "Opus 4.8 (1M context) | work | $0.00 | 🟢 P95:2ms"
    assert wide.network_segment == "🟢 P95:2ms"
    assert Screen("no box here\n", 0.0).status_rows == []


def test_timeline_measures_between_first_marks():
    timeline = Timeline(origin=100.0)
    timeline.mark("first 529", 101.0)
    timeline.mark("red", 112.5)
    timeline.mark("red", 113.0)
    assert timeline.seconds("first 529", "red") == 11.5
    assert timeline.seconds("first 529", "never") is None


def test_ci_installs_every_pinned_version():
    script = (REPO / ".ci" / "run").read_text()
    listed = re.search(r'^claude_code_versions="([^"]*)"$', script, re.M)
    assert listed and listed.group(1).split() == list(PINNED_VERSIONS)
    assert "npm install --prefix" in script and "--no-audit --no-fund" in script
    assert re.search(r"^export CI=", script, re.M), "CI must be set so a missing Claude Code fails, not skips"


def test_versions_under_test_default_to_the_pinned_pair_and_take_a_list():
    assert versions_under_test({}) == list(PINNED_VERSIONS) and len(PINNED_VERSIONS) == 2
    assert versions_under_test({VERSION_ENV: "latest"}) == ["latest"]
    assert versions_under_test({VERSION_ENV: " 2.1.400, latest ,2.1.400"}) == ["2.1.400", "latest"]
    assert versions_under_test({VERSION_ENV: "pinned,latest"}) == [*PINNED_VERSIONS, "latest"]
    for bad in ("2.1", "--registry=http://evil", "latest; rm -rf /", "2.1.400 latest"):
        with pytest.raises(ValueError, match=VERSION_ENV):
            versions_under_test({VERSION_ENV: bad})


@pytest.mark.parametrize("text, attempt", [
    ("  ⎿  API error · Retrying in 19s · attempt 7/10", 7),  # 2.1.197
    ("  ⎿  529 Overloaded · retrying in 5s · attempt 4/10", 4),  # 2.1.332
    ("  ⎿  529 Overloaded · retrying in 5s ·\n     attempt 10/10", 10),  # wrapped at a narrow width
])
def test_retry_notice_is_read_in_either_wording(text, attempt):
    match = retrying(Screen(text, 0.0))
    assert match and int(match.group(1)) == attempt and match.group(2) == "10"


def test_no_retry_notice_without_an_attempt_and_giving_up_is_read_by_status():
    assert retrying("Retrying the tool") is None and retrying("attempt 3/10") is None
    text = "  ⎿  API Error: 529 Overloaded. This is a server-side issue"
    assert gave_up(text) and gave_up(text, 529) and not gave_up(text, 500) and not gave_up("● pong")
    assert gave_up("● API Error: Repeated 529 Overloaded errors. The API is at capacity", 529)


def test_require_key_answers_401_to_an_anonymous_request_before_any_mode(api):
    api.require_key = "sk-ant-test-good"
    api.set_mode("overloaded")
    conn, response = post(api, PROBE_BODY, "ccprompt/0.1.0", path="/v1/messages")
    body = json.loads(response.read())
    conn.close()
    assert response.status == 401 and body["error"]["type"] == "authentication_error"
    conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=10)
    conn.request("POST", "/v1/messages?beta=true", body=json.dumps(STREAM_BODY),
                 headers={"x-api-key": "sk-ant-test-good", "user-agent": "anything/9"})
    assert conn.getresponse().status == 529
    conn.close()
    anonymous, keyed = api.requests
    assert (anonymous.mode, anonymous.authenticated, anonymous.is_ccprompt) == ("unauthorized", False, True)
    assert (keyed.mode, keyed.authenticated, keyed.is_claude_code) == ("overloaded", True, True)


def test_close_port_refuses_connections_and_reopen_port_serves_the_same_port(api):
    port = api.port
    api.close_port()
    assert not api.listening
    with pytest.raises(ConnectionRefusedError):
        post(api, PROBE_BODY, "ccprompt/0.1.0", path="/v1/messages")
    api.reopen_port()
    assert api.listening and api.port == port
    conn, response = post(api, PROBE_BODY, "ccprompt/0.1.0", path="/v1/messages")
    assert response.status == 200
    conn.close()


class _Sampled:
    """Just the sampled status line history, as ClaudeCode keeps it."""

    def __init__(self, *history):
        self.status_history = list(history)


def test_a_line_counts_from_when_it_was_sampled_and_not_past_its_bound():
    from .scenario import _first, lines_from

    cc = _Sampled((10.0, "🟢 P95:N/A"), (22.5, "🔴 529 overloaded"), (40.0, "🟢 P95:N/A"))
    is_red = lambda line: "🔴" in line  # noqa: E731
    assert _first(cc, is_red, 11.0, 26.0) == (22.5, "🔴 529 overloaded")
    assert _first(cc, is_red, 11.0, 22.0) is None  # shown after the bound: not in time
    assert _first(cc, is_red, 25.0, 30.0) == (25.0, "🔴 529 overloaded")  # already on show
    # From the first red on: the green before it is not "during the storm", the one after is.
    assert lines_from(cc, is_red, 11.0, 35.0) == ["🔴 529 overloaded"]
    assert lines_from(cc, is_red, 11.0, 45.0) == ["🔴 529 overloaded", "🟢 P95:N/A"]
    assert lines_from(cc, lambda line: "⏳" in line, 11.0, 30.0) == ["🟢 P95:N/A", "🔴 529 overloaded"]


def test_the_expected_storm_line_depends_on_the_key_and_on_attempt_lines_not_on_the_release():
    from .scenario import red_expected

    keyed, _, keyed_s = red_expected("key", True)
    assert keyed("Sonnet 5.5 | 🔴 529 overloaded · attempt 4") and keyed_s == 15
    assert not keyed("Sonnet 5.5 | 🔴 529 overloaded") and not keyed("🟢 529 overloaded · attempt 4")
    assert red_expected("key", False)[0]("🔴 529 Overloaded DNS:0ms")
    keyless, _, _ = red_expected("keyless", True)
    assert keyless("🔴 Claude Code is retrying · attempt 4 · 38s") and not keyless("🔴")
    waiting, _, waiting_s = red_expected("keyless", False)
    assert waiting("⏳ 45s · network ok") and not waiting("🟢 P95:N/A ⏳ 45s") and waiting_s == 30
