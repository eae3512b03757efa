"""Round three, finding 2: whatever an MCP client sends, `ccprompt mcp` answers in time and stops
when its stdin closes.

The MCP SDK's own client (ClientSession over stdio) drives the real `ccprompt mcp` with huge,
binary, nested and hostile arguments, and the quadratic case a prompt injection found: `since`
as 10k, 40k and 200 KB of digits. Every call must answer within CALL_BOUND_S, and the server
must still answer a plain call afterwards.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from hardening_support import TREE

from harness import assert_no_secret

pytest.importorskip("mcp", reason="the ccprompt[mcp] extra is not installed")

CALL_BOUND_S = 5.0
NESTED = {"a": [[[[[[[[[[{"b": [[[["x"]]]]}]]]]]]]]]]}
for _ in range(60):
    NESTED = {"n": [NESTED]}

HOSTILE_CALLS = [
    ("recent_history", {"since": "1" * 10_000}),
    ("recent_history", {"since": "9" * 40_000}),
    ("recent_history", {"since": "1" * 200_000}),  # the 200 KB of digits that hung the server
    ("session_list", {"since": "7" * 200_000}),
    ("recent_history", {"since": "1" * 23 + "h"}),  # within the length, past the range
    ("recent_history", {"since": "1h" * 13}),
    ("recent_history", {"since": "1.5.5h"}),
    ("recent_history", {"since": "\x00\x1b]52;c;eA==\x07\u202e\udfff"[:-1] + "\ufffd" * 3}),
    ("recent_history", {"since": "ａｌｌ"}),  # fullwidth letters are not `all`
    ("recent_history", {"since": 10 ** 400}),
    ("recent_history", {"since": -1}),
    ("recent_history", {"since": None}),
    ("recent_history", {"since": ["1h"] * 50_000}),
    ("recent_history", {"since": NESTED}),
    ("session_list", {"since": {"$gt": ""}}),
    ("session_list", {"since": "all", "extra": "x" * 500_000}),
    ("api_health", {"unexpected": NESTED}),
    ("doctor_but_not", {}),
    ("../../etc/passwd", {"since": "1h"}),
]


async def _fuzz(env: dict) -> list:
    import anyio
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(command=sys.executable, args=["-m", "ccprompt", "mcp"], env=env, cwd=str(TREE))
    seen = []
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            for name, arguments in HOSTILE_CALLS + [("recent_history", {"since": "1h"})]:
                started = time.monotonic()
                with anyio.fail_after(CALL_BOUND_S * 3):
                    result = await session.call_tool(name, arguments)
                took = time.monotonic() - started
                text = " ".join(getattr(part, "text", "") for part in result.content)
                seen.append((name, str(arguments)[:40], result.isError, took, text))
    return seen


def test_s2_every_hostile_tool_call_answers_in_time_and_the_server_lives_on(cc_env):
    import anyio

    seen = anyio.run(_fuzz, cc_env)
    slow = [(name, args, round(took, 2)) for name, args, _, took, _ in seen if took > CALL_BOUND_S]
    assert slow == [], slow
    for name, args, is_error, _, text in seen[:-1]:
        if name in ("recent_history", "session_list") and "extra" not in args and "all" not in args:
            assert is_error, (name, args, text[:200])
        assert len(text) < 4000, (name, args, len(text))  # an error names the problem, it does not echo the input
        assert "Traceback" not in text
    digits = [text for name, args, _, _, text in seen if args.startswith("{'since': '1111111111") and "h" not in args]
    assert all("longer than 24 characters" in text for text in digits), digits
    last = seen[-1]
    assert not last[2], last  # a plain call still works after all of that
    assert_no_secret(json.dumps([s[4] for s in seen]))


def _handshake() -> tuple:
    """The client's `initialize` request and its `initialized` notification, as raw JSON-RPC."""
    from mcp.types import LATEST_PROTOCOL_VERSION

    hello = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
             "params": {"protocolVersion": LATEST_PROTOCOL_VERSION, "capabilities": {},
                        "clientInfo": {"name": "fuzz", "version": "0"}}}
    return hello, {"jsonrpc": "2.0", "method": "notifications/initialized"}


def _rpc(*messages) -> bytes:
    return b"".join(json.dumps(m).encode() + b"\n" for m in messages)


def test_s2_the_server_exits_when_stdin_closes_even_with_a_call_in_flight(cc_env):
    hello, ready = _handshake()
    # The call: 200 KB of digits, then the client goes away.
    heavy = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
             "params": {"name": "recent_history", "arguments": {"since": "9" * 200_000}}}
    slow = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "doctor", "arguments": {}}}
    proc = subprocess.Popen([sys.executable, "-m", "ccprompt", "mcp"], env=cc_env, cwd=str(TREE),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        proc.stdin.write(_rpc(hello, ready, heavy, slow))
        proc.stdin.flush()
        time.sleep(0.5)
        closed = time.monotonic()
        proc.stdin.close()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pytest.fail("the server kept running 15 s after its stdin closed")
        took = time.monotonic() - closed
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out = proc.stdout.read().decode()
    answers = {m.get("id"): m for m in map(json.loads, out.splitlines()) if m.get("id") is not None}
    assert took < 5, took
    assert answers[2]["result"]["isError"] is True, answers.get(2)
    assert "longer than 24 characters" in json.dumps(answers[2])


def test_s2_parse_since_is_linear_on_digit_strings():
    """The pure rule, timed against itself: 20 times the input must not cost 400 times as long."""
    import os

    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(TREE)}
    program = ("import time\nfrom ccprompt.ops.history import parse_since\nout = []\n"
               "for n in (10_000, 200_000):\n    text = '9' * n\n    t = time.perf_counter()\n"
               "    try:\n        parse_since(text)\n    except ValueError:\n        pass\n"
               "    out.append(time.perf_counter() - t)\nprint(out[0], out[1])\n")
    try:
        result = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True,
                                timeout=60, cwd=str(TREE))
    except subprocess.TimeoutExpired:
        pytest.fail("parse_since took over 60 s on 200 000 digits")
    assert result.returncode == 0, result.stderr
    small, large = map(float, result.stdout.split())
    assert large < 0.5, large  # quadratic: 10k digits took 1.7 s, so 200k would take ~11 min


def _peak_rss_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _answer(proc) -> dict:
    """The next message with an id (a notification the server sends on the way is skipped)."""
    while True:
        line = proc.stdout.readline()
        if not line:
            return {}
        message = json.loads(line)
        if "id" in message:
            return message


def test_s2_a_64_mb_message_is_skipped_not_held_and_the_next_one_answered(cc_env):
    hello, ready = _handshake()
    huge = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "recent_history", "arguments": {"since": "1h", "pad": "x" * (64 << 20)}}}
    plain = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "api_health", "arguments": {}}}
    proc = subprocess.Popen([sys.executable, "-m", "ccprompt", "mcp"], env=cc_env, cwd=str(TREE),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        proc.stdin.write(_rpc(hello, ready))
        proc.stdin.flush()
        assert _answer(proc)["id"] == 1
        started = time.monotonic()
        proc.stdin.write(_rpc(huge, plain))
        proc.stdin.flush()
        answer = _answer(proc)
        took = time.monotonic() - started
        peak = _peak_rss_mb(proc.pid)
        proc.stdin.close()
        proc.wait(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert answer["id"] == 3 and not answer["result"]["isError"], str(answer)[:300]
    assert took < CALL_BOUND_S * 2, took
    assert peak < 160, f"peak RSS {peak:.0f} MB: the 64 MB message was held"
