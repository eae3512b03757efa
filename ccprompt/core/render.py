"""The pure text of a state: icon, colour and the network segment in each style.

Standard library only and cheap: it runs on every status-line redraw, and the recorder
uses it to pre-render the prompt cache.
"""

from ccprompt.core.model import MonitorState
from ccprompt.core.signal import Signal, assess
from ccprompt.core.text import fmt_ms, sanitize

ICONS = {"healthy": "🟢", "degraded": "🟡", "error": "🔴", "unknown": "⚪"}
COLORS = {"healthy": "32", "degraded": "33", "error": "31", "unknown": "90"}


def status_of(state: MonitorState | None, signal: Signal | None = None) -> str:
    if state is None or not state.monitoring_enabled:
        return "unknown"
    return signal.status if signal is not None else assess(state).status


def unknown_reason(state: MonitorState | None) -> str:
    if state is None:
        return "no probe yet"
    if not state.monitoring_enabled:
        return "monitoring off"
    return sanitize(state.reason or "no probe yet", 40)


def network_segment(state: MonitorState | None, style: str = "full", signal: Signal | None = None) -> str:
    """The network segment in one of the styles `icon`, `short` or `full` (no colour).

    `signal` is what `core.signal.assess` made of the state and the session; without one,
    the state alone is assessed (as the shell prompt does).
    """
    signal = signal or assess(state)
    status = signal.status
    icon = ICONS[status]
    if style == "icon":
        return "⏳" if signal.source == "turn" else icon
    if status == "unknown":
        return f"{icon} {unknown_reason(state)}"
    marker = f" {signal.marker}" if signal.marker else ""
    via = " ⇄" if signal.source == "proxy" else ""
    note = f" · {signal.note}" if signal.note and style == "full" else ""
    if signal.source == "turn":  # a waiting turn that no evidence explains: the wait alone
        return signal.marker + note
    if signal.source == "session" and status == "healthy":
        return f"{icon} answering" + (" (seen in session)" if style == "full" else "") + marker
    network = state.network
    if status == "error":
        cause = signal.brief if style == "short" and signal.brief else signal.cause
        text = f"{icon}{via} {sanitize(cause, 60)}"
        phases = state.breakdown() if style == "full" and signal.source == "probe" else ""
        return (f"{text} {phases}" if phases else text) + note
    if signal.cause:  # what the session says, and what the probe could not (degraded)
        return f"{icon} {sanitize(signal.cause, 60)}{note}{marker}"
    if style == "short":
        latency = "" if signal.source == "proxy" else f" {fmt_ms(network.latency_ms)}"
        return f"{icon}{via}{latency}" + marker
    p95 = network.p95_latency_ms
    p95_text = f"P95:{p95:.0f}ms" if p95 else "P95:N/A"
    if status == "degraded":
        return f"{icon}{via} {p95_text} {state.breakdown()}" + marker
    return f"{icon}{via} {p95_text}" + marker


def colorize(text: str, status: str, color: bool) -> str:
    if not color:
        return text
    return f"\x1b[{COLORS.get(status, '0')}m{text}\x1b[0m"


def use_color(env) -> bool:
    return not env.get("NO_COLOR")
