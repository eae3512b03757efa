"""`ccprompt mcp`: a stdio MCP server, so a Claude Code session can ask "is the API slow, or is it me?".

Built on the official `mcp` SDK (the `ccprompt[mcp]` extra), imported only here. Each tool
answers from the same functions as the CLI: the recorded state, the history, the sessions
table and doctor's checks. Nothing secret is returned: endpoints are redacted as everywhere.
"""

from __future__ import annotations

import time

from mcp.server.fastmcp import FastMCP

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


def build(paths: Paths | None = None) -> FastMCP:
    paths = paths or Paths()
    server = FastMCP("ccprompt", instructions=INSTRUCTIONS)

    @server.tool(name="api_health")
    def health_tool() -> dict:
        """Is the Claude API healthy from this machine right now? Status (healthy, degraded, error,
        unknown), the reason, and the latest probe's timings."""
        return api_health(paths)

    @server.tool(name="recent_history")
    def history_tool(since: str = "1h") -> dict:
        """Recent probes of the API: P50/P95 latency, error rate and the newest records. `since`: 30m, 1h, 2d."""
        return recent_history(paths, since)

    @server.tool(name="session_list")
    def sessions_tool(since: str = "2h") -> dict:
        """Every recent Claude Code session on this machine: state (waiting on the API, stalled, errored),
        context use, prompt cache countdown, API errors and cost. `since`: 30m, 2h, 1d or all."""
        return session_list(paths, since)

    @server.tool(name="doctor")
    def doctor_tool() -> dict:
        """Check every link to the API (credential, DNS, proxy, CA, TCP, TLS, a probe, files, clock),
        each with a fix. Takes a few seconds."""
        return doctor_run()

    return server


def main() -> int:
    build().run("stdio")
    return 0
