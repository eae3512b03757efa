"""`ccprompt mcp`: a stdio MCP server, so a Claude Code session can ask "is the API slow, or is it me?".

Built on the official `mcp` SDK (a dependency), imported only here. Each tool
answers from the same functions as the CLI: the recorded state, the history, the sessions
table and doctor's checks. Nothing secret is returned: endpoints are redacted as everywhere.

A model acting on a prompt injection can call these tools with anything, so:
- every argument is bounded (`since`: at most 24 characters, read in one linear pass, at most
  366 days) and a bad one gets a one-line tool error;
- a message (one line of stdin) past MESSAGE_LIMIT bytes is skipped as it is read, never held;
- each call runs in a worker thread, so the server keeps reading while one is in flight;
- the server stops when its stdin closes: calls still running after a short grace are
  abandoned and the process exits (nothing of ours keeps spinning without a client).
"""

from __future__ import annotations

import os
import sys
import time

from mcp.server.fastmcp import FastMCP

from ccprompt import __version__
from ccprompt.core.paths import Paths

INSTRUCTIONS = (
    "ccprompt watches the path from this machine to the Claude API. Call api_health first when replies are "
    "slow or failing; it says whether the API itself is healthy and why not. session_list shows every "
    "Claude Code session on this machine (waiting, stalled, context and cache); doctor checks every link."
)


def api_health(paths: Paths, now_s: float | None = None) -> dict:
    """The current status, the reason behind it, and how fresh the evidence is."""
    from ccprompt.core import store
    from ccprompt.core.signal import assess

    now_s = time.time() if now_s is None else now_s
    state = store.read_state(paths)
    if state is None:
        return {"status": "unknown", "reason": "no probe recorded yet; run `ccprompt probe`", "source": "none",
                "statuspage": statuspage_report(paths, now_s)}
    signal = assess(state, None, now_s)
    last_ms = state.windows.last_probe_epoch_ms
    network = state.network
    return {
        "status": signal.status,
        "reason": signal.cause or state.reason or signal.status,
        "source": signal.source,
        "endpoint": state.endpoint,
        "last_probe_age_s": round(now_s - last_ms / 1000, 1) if last_ms else None,
        "last_http_status": network.last_http_status,
        "phases_ms": dict(network.phases_ms),
        "p95_latency_ms": network.p95_latency_ms,
        "breakdown": state.breakdown(),
        "statuspage": statuspage_report(paths, now_s),
    }


def statuspage_report(paths: Paths, now_s: float) -> dict:
    """What the public status page said at the last check (its text already sanitised)."""
    from ccprompt.core import statuspage

    return statuspage.report(paths, now_s)


def recent_history(paths: Paths, since: str = "1h") -> dict:
    import json

    from ccprompt.ops import history

    since_s = history.parse_since(since)
    document = json.loads(history.report(paths, since_s, as_json=True))
    document["records"] = document.get("records", [])[-50:]
    return document


def session_list(paths: Paths, since: str = "2h") -> dict:
    from ccprompt.ops import history
    from ccprompt.sources.sessions import listing
    from ccprompt.surfaces import sessions as view

    since_s = history.parse_since(since)
    now_s = time.time()
    rows = view.rows(listing.pairs(paths, now_s, since_s), now_s)
    return {"sessions": rows, "table": view.table(rows, 160)}


def doctor_run() -> dict:
    from ccprompt.ops.doctor import report

    return report.as_document(report.run())


# After stdin closes, calls in flight get this long to answer before the process exits.
STDIN_CLOSED_GRACE_S = 2.0
# No tool takes more than a few short arguments; a longer message is not read into memory.
MESSAGE_LIMIT = 1 << 20


class BoundedLines:
    """stdin's lines for the SDK's stdio transport, each at most `limit` bytes: a longer one is
    read past in chunks and handed on as an empty line, which the transport reports as one bad
    message and goes on."""

    def __init__(self, raw, limit: int = MESSAGE_LIMIT):
        self.raw, self.limit = raw, limit

    def readline(self, size: int = -1) -> str:
        line = self.raw.readline(self.limit + 1)
        if len(line) > self.limit and not line.endswith(b"\n"):
            while True:
                chunk = self.raw.readline(1 << 16)
                if not chunk or chunk.endswith(b"\n"):
                    break
            return "\n"
        return line.decode("utf-8", "replace")

    def close(self) -> None:
        pass


async def _in_thread(function, *args):
    """Run a tool's work in a worker thread, abandoned (not waited for) if the server stops."""
    import anyio

    return await anyio.to_thread.run_sync(function, *args, abandon_on_cancel=True)


def build(paths: Paths | None = None) -> FastMCP:
    paths = paths or Paths()
    # WARNING: the SDK's INFO line for every request would fill Claude Code's MCP log.
    server = FastMCP("ccprompt", instructions=INSTRUCTIONS, log_level="WARNING")
    server._mcp_server.version = __version__  # serverInfo.version: ccprompt's, not the SDK's

    @server.tool(name="api_health")
    async def health_tool() -> dict:
        """Is the Claude API healthy from this machine right now? Status (healthy, degraded, error,
        unknown), the reason, the latest probe's timings, and any incident on Anthropic's status page."""
        return await _in_thread(api_health, paths)

    @server.tool(name="recent_history")
    async def history_tool(since: str = "1h") -> dict:
        """Recent probes of the API: P50/P95 latency, error rate and the newest records. `since`: 30m, 1h, 2d
        (at most 24 characters and 366 days), or all."""
        return await _in_thread(recent_history, paths, since)

    @server.tool(name="session_list")
    async def sessions_tool(since: str = "2h") -> dict:
        """Every recent Claude Code session on this machine: state (waiting on the API, stalled, errored),
        context use, prompt cache countdown, API errors and cost. `since`: 30m, 2h, 1d (at most 24
        characters and 366 days) or all."""
        return await _in_thread(session_list, paths, since)

    @server.tool(name="doctor")
    async def doctor_tool() -> dict:
        """Check every link to the API (credential, DNS, proxy, CA, TCP, TLS, a probe, files, clock),
        each with a fix. Takes a few seconds."""
        return await _in_thread(doctor_run)

    return server


async def serve(server: FastMCP, grace_s: float = STDIN_CLOSED_GRACE_S) -> None:
    """The stdio transport, until stdin closes and the calls in flight answer (or the grace ends)."""
    import anyio
    from mcp.server.stdio import stdio_server

    lowlevel = server._mcp_server  # FastMCP.run_stdio_async, with an end we control
    async with stdio_server(stdin=anyio.wrap_file(BoundedLines(sys.stdin.buffer))) as (read_stream, write_stream):
        send, receive = anyio.create_memory_object_stream(0)
        async with anyio.create_task_group() as group:

            async def forward() -> None:
                async with send:
                    async for message in read_stream:
                        await send.send(message)
                await anyio.sleep(grace_s)  # stdin closed: a little time for answers in flight
                group.cancel_scope.cancel()

            async def run() -> None:
                await lowlevel.run(receive, write_stream, lowlevel.create_initialization_options())
                group.cancel_scope.cancel()

            group.start_soon(forward)
            group.start_soon(run)


def main() -> int:
    import anyio

    anyio.run(serve, build())  # the transport flushes each answer as it writes it
    # A call abandoned in its worker thread must not keep the process alive without a client.
    os._exit(0)
