"""The renderer: turns the state and the session payload into the text people see.

Standard library only, and cheap: it runs on every status-line redraw.
"""

from __future__ import annotations

import os

ICONS = {"healthy": "🟢", "degraded": "🟡", "error": "🔴", "unknown": "⚪"}
COLORS = {"healthy": "32", "degraded": "33", "error": "31", "unknown": "90"}
PHASE_LABELS = (("dns", "DNS"), ("tcp", "TCP"), ("tls", "TLS"), ("ttfb", "TTFB"), ("total", "Total"))

# Invisible or direction-changing characters that could disguise what a line says.
_INVISIBLE = {0x200B, 0x200E, 0x200F, 0x2028, 0x2029, 0xFEFF} | set(range(0x202A, 0x202F)) | set(
    range(0x2066, 0x206A)
)


def sanitize(text, limit: int = 200) -> str:
    """Printable text only: escape sequences, control and bidi characters removed."""
    if text is None:
        return ""
    text = str(text)
    out = []
    i, n = 0, len(text)
    while i < n and len(out) < limit:
        ch = text[i]
        code = ord(ch)
        if ch == "\x1b" or code == 0x9B or code == 0x9D:
            i = _skip_escape(text, i)
            continue
        if code < 0x20 or 0x7F <= code <= 0x9F or code in _INVISIBLE:
            if ch in "\t\n\r" and out and out[-1] != " ":
                out.append(" ")
            i += 1
            continue
        out.append(ch)
        i += 1
    return "".join(out).strip()


def _skip_escape(text: str, i: int) -> int:
    """Index just past the escape sequence starting at i (ESC or an 8-bit introducer)."""
    n = len(text)
    code = ord(text[i])
    if code == 0x9B:
        kind, j = "[", i + 1
    elif code == 0x9D:
        kind, j = "]", i + 1
    else:
        if i + 1 >= n:
            return n
        kind, j = text[i + 1], i + 2
    if kind == "[":  # CSI: parameters, then one final byte in @..~
        while j < n and not ("@" <= text[j] <= "~"):
            j += 1
        return j + 1
    if kind in "]PX^_":  # OSC, DCS, SOS, PM, APC: up to BEL or ST
        while j < n:
            if text[j] == "\x07" or ord(text[j]) == 0x9C:
                return j + 1
            if text[j] == "\x1b" and j + 1 < n and text[j + 1] == "\\":
                return j + 2
            j += 1
        return n
    return j  # two-character escape


def fmt_ms(value) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}ms"


def breakdown(network: dict) -> str:
    """`DNS:12ms|TCP:30ms|TLS:45ms|TTFB:380ms|Total:470ms`, with `reuse` and `-` where a phase did not happen."""
    phases = network.get("phases_ms") if isinstance(network.get("phases_ms"), dict) else None
    if phases is None:
        return sanitize(network.get("breakdown", ""), 120)
    reused = network.get("reused") if isinstance(network.get("reused"), dict) else {}
    parts = []
    for key, label in PHASE_LABELS:
        value = phases.get(key)
        shown = "reuse" if value is None and reused.get(key) else fmt_ms(number(value))
        parts.append(f"{label}:{shown}")
    return "|".join(parts)


def is_number(value) -> bool:
    """A real int or float from foreign JSON (a bool is not a number here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def number(value):
    """The value if it is a number, else None."""
    return value if is_number(value) else None


def display_width(text: str) -> int:
    """Terminal columns, counting wide characters (emoji, CJK) as two."""
    if text.isascii():
        return len(text)
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else (0 if unicodedata.combining(ch) else 1) for ch in text)


def status_of(state) -> str:
    if not isinstance(state, dict):
        return "unknown"
    status = state.get("status")
    if state.get("monitoring_enabled") is False:
        return "unknown"
    return status if status in ICONS else "unknown"


def unknown_reason(state) -> str:
    if not isinstance(state, dict):
        return "no probe yet"
    if state.get("monitoring_enabled") is False:
        return "monitoring off"
    return sanitize(state.get("reason") or "no probe yet", 40)


def network_segment(state, style: str = "full") -> str:
    """The network segment in one of the styles `icon`, `short` or `full` (no colour)."""
    status = status_of(state)
    icon = ICONS[status]
    if style == "icon":
        return icon
    if status == "unknown":
        return f"{icon} {unknown_reason(state)}"
    network = state.get("network") if isinstance(state.get("network"), dict) else {}
    latency = number(network.get("latency_ms"))
    p95 = number(network.get("p95_latency_ms"))
    if style == "short":
        return f"{icon} {fmt_ms(latency)}" if status != "error" or latency is not None else f"{icon} -"
    p95_text = f"P95:{p95:.0f}ms" if p95 else "P95:N/A"
    if status == "healthy":
        return f"{icon} {p95_text}"
    if status == "degraded":
        return f"{icon} {p95_text} {breakdown(network)}"
    return f"{icon} {breakdown(network)}"


def colorize(text: str, status: str, color: bool) -> str:
    if not color:
        return text
    return f"\x1b[{COLORS.get(status, '0')}m{text}\x1b[0m"


def use_color(env=None) -> bool:
    env = os.environ if env is None else env
    return not env.get("NO_COLOR")
