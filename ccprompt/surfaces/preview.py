"""`ccprompt statusline --preview`: every state the line can show, from built-in samples.

Each sample is a state and a session as the status line would read them; they go through the
real renderer (`core.signal.assess`, `core.render`, the status line's segments and its width
fitting), so the preview is what the line will show. Nothing is read from or written to the
state directory, and nothing touches the network: no probe, no refresh, no proxy.
"""

from __future__ import annotations

from ccprompt.core import render
from ccprompt.core.model import MonitorState, Network, TranscriptScan, Windows
from ccprompt.core.signal import assess
from ccprompt.surfaces import statusline

NOW_S = 1_767_225_600.0  # a fixed clock: the preview is the same on every run
PAYLOAD = {"model": {"id": "claude-opus-4-5", "display_name": "Opus 4.5"},
           "workspace": {"current_dir": "/nonexistent/ccprompt-preview/webapp"},
           "cost": {"total_cost_usd": 0.42}, "context_window": {"used_percentage": 42}}
BRANCH = "⎇ feature/login"
NARROW_COLUMNS = 50
ORDER = ("model", "directory", "git", "context", "cost", "network")


def _network(total, phases=None, http=200, **extra) -> Network:
    phases = phases or {"dns": 12, "tcp": 30, "tls": 45, "ttfb": total - 87, "total": total}
    return Network(latency_ms=total, phases_ms=phases, last_http_status=http, p95_latency_ms=450,
                   p80_latency_ms=420, rolling_totals=[400, 420, 440, 450], **extra)


def _state(status, network, reason="", source="environment") -> MonitorState:
    windows = Windows(last_probe_mode="GREEN", last_probe_epoch_ms=int((NOW_S - 20) * 1000),
                      last_baseline_epoch_ms=int((NOW_S - 20) * 1000))
    return MonitorState(status=status, reason=reason, endpoint="https://api.anthropic.com/v1/messages",
                        source=source, network=network, windows=windows)


def samples() -> list:
    """(name, what it means, state, transcript scan or None), in the order a user meets them."""
    healthy = _state("healthy", _network(430), "answered in its usual time")
    dns = {"dns": None, "tcp": None, "tls": None, "ttfb": None, "total": 1.2}
    waiting = TranscriptScan(read=True, waiting_since_epoch_s=NOW_S - 45)
    retrying = TranscriptScan(read=True, waiting_since_epoch_s=NOW_S - 38, attempts=3,
                              attempt_epoch_s=NOW_S - 5)
    return [
        ("healthy", "the last probe answered in its usual time", healthy, None),
        ("slow", "two probes in a row well past the usual", _state("degraded", _network(990), "slow"), None),
        ("529", "the API is overloaded", _state("error", _network(7, {"dns": 1, "tcp": 0, "tls": 3, "ttfb": 3,
                                                                      "total": 7}, http=529,
                                                              error_type="overloaded_error"),
                                               "HTTP 529 overloaded_error"), None),
        ("DNS failure", "your network: the API's name does not resolve",
         _state("error", Network(latency_ms=1.2, phases_ms=dns, failure_phase="dns", p95_latency_ms=450),
                "DNS failed: Could not resolve host: api.anthropic.com"), None),
        ("waiting", "a turn has waited 45 s; the probe finds the API answering", healthy, waiting),
        ("retrying", "Claude Code is retrying a turn (its third attempt)", healthy, retrying),
        ("keyless", "no API key: the probe proves the path, the wait is all there is",
         _state("healthy", _network(380, http=401, error_type="authentication_error"), "answered (401: no key)",
                source="none"), waiting),
        ("no probe yet", "a fresh install, before the first probe", None, None),
    ]


def line(state, scan, columns: int | None, color: bool, style: str = "full") -> str:
    """One status line for a sample, laid out for `columns` as Claude Code shows it."""
    signal = assess(state, scan, NOW_S, 10.0)
    seg = statusline.segments(PAYLOAD, state, scan, style, None, signal)
    seg["git"] = BRANCH  # a sample branch, whatever the preview's own directory holds
    names = [name for name in ORDER if name in seg]
    if columns:
        shorter = [statusline.network_text(state, s, None, signal) for s in statusline.SHORTER[style]]
        names = statusline.fit(seg, names, " | ", max(columns - 4, 8), shorter)
    return statusline.compose(seg, names, render.status_of(state, signal), " | ", color)


def preview(color: bool, columns: int | None = None) -> str:
    rows = []
    for name, meaning, state, scan in samples():
        rows.append((name, meaning, line(state, scan, columns, color)))
    _, meaning, state, scan = samples()[2]
    rows.append((f"narrow ({NARROW_COLUMNS})", f"{meaning}, in a {NARROW_COLUMNS}-column terminal",
                 line(state, scan, NARROW_COLUMNS, color)))
    width = max(len(name) for name, _, _ in rows)
    out = []
    for name, meaning, shown in rows:
        out.append(f"{name:<{width}}  {meaning}")
        out.append(f"{'':<{width}}  {shown}")
    out.append("")
    out.append("(built-in samples through the real renderer; nothing probed, no state read or written)")
    return "\n".join(out) + "\n"
