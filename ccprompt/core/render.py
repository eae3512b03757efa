"""The pure text of a state: icon, colour and the network segment in each style.

Standard library only and cheap: it runs on every status-line redraw, and the recorder
uses it to pre-render the prompt cache.
"""

from __future__ import annotations

from ccprompt.core.model import MonitorState
from ccprompt.core.text import fmt_ms, sanitize

ICONS = {"healthy": "🟢", "degraded": "🟡", "error": "🔴", "unknown": "⚪"}
COLORS = {"healthy": "32", "degraded": "33", "error": "31", "unknown": "90"}


def status_of(state: MonitorState | None) -> str:
    if state is None or not state.monitoring_enabled:
        return "unknown"
    return state.status


def unknown_reason(state: MonitorState | None) -> str:
    if state is None:
        return "no probe yet"
    if not state.monitoring_enabled:
        return "monitoring off"
    return sanitize(state.reason or "no probe yet", 40)


def network_segment(state: MonitorState | None, style: str = "full") -> str:
    """The network segment in one of the styles `icon`, `short` or `full` (no colour)."""
    status = status_of(state)
    icon = ICONS[status]
    if style == "icon":
        return icon
    if status == "unknown":
        return f"{icon} {unknown_reason(state)}"
    network = state.network
    if style == "short":
        if status == "error" and network.latency_ms is None:
            return f"{icon} -"
        return f"{icon} {fmt_ms(network.latency_ms)}"
    p95 = network.p95_latency_ms
    p95_text = f"P95:{p95:.0f}ms" if p95 else "P95:N/A"
    if status == "healthy":
        return f"{icon} {p95_text}"
    if status == "degraded":
        return f"{icon} {p95_text} {state.breakdown()}"
    return f"{icon} {state.breakdown()}"


def colorize(text: str, status: str, color: bool) -> str:
    if not color:
        return text
    return f"\x1b[{COLORS.get(status, '0')}m{text}\x1b[0m"


def use_color(env) -> bool:
    return not env.get("NO_COLOR")
