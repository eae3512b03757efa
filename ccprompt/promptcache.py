"""The prompt cache: the state pre-rendered into a file a shell can read with builtins alone.

Every state write also writes `$CCPROMPT_HOME/prompt`. Shell prompt hooks, the POSIX
reader in `shell/`, starship and tmux read it; none of them runs Python per prompt.

Format v1 (stable; a change of layout gets a new version word on line 1). UTF-8, nine
lines, each ending in a newline, one value per line, always in this order:

    1  ccprompt-prompt v1
    2  epoch seconds of the last probe, or 0 when there has been none
    3  status: healthy | degraded | error | unknown
    4  icon: 🟢 | 🟡 | 🔴 | ⚪
    5  P95 latency in whole milliseconds, or empty before there are samples
    6  latency of the last probe in whole milliseconds, or empty
    7  the network segment in `icon` style   (🟢)
    8  the network segment in `short` style  (🟢 450ms)
    9  the network segment in `full` style   (🟢 P95:450ms)

Every value is sanitized: no control characters, escape sequences or newlines, so a
reader can print it as it is. Readers should still check line 1, accept only the four
status words, and treat a missing file as "unknown". The file is replaced atomically
(temp file in the same directory, fsync, rename), so a reader never sees half of it, and
its mode is 0600 like every other file in the state directory.
"""

from __future__ import annotations

import os

from ccprompt import render as _render

MAGIC = "ccprompt-prompt v1"
FILENAME = "prompt"
STYLES = ("icon", "short", "full")


def path(home: str) -> str:
    return os.path.join(home, FILENAME)


def _whole_ms(value) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return ""
    if value != value or value < 0 or value > 10**9:  # NaN, negative or absurd
        return ""
    return str(int(round(value)))


def _probe_epoch(state) -> int:
    monitoring = state.get("monitoring_state") if isinstance(state, dict) else None
    if not isinstance(monitoring, dict):
        return 0
    epoch_ms = monitoring.get("last_probe_epoch_ms")
    if isinstance(epoch_ms, bool) or not isinstance(epoch_ms, (int, float)) or epoch_ms <= 0:
        return 0
    return int(epoch_ms // 1000)


def render(state) -> str:
    """The cache text for `state` (a parsed monitoring.json, or None when there is none)."""
    if not isinstance(state, dict):
        state = None
    status = _render.status_of(state)
    network = state.get("network") if state and isinstance(state.get("network"), dict) else {}
    p95 = _whole_ms(network.get("p95_latency_ms"))
    if p95 == "0":  # the state keeps 0 until there are enough samples
        p95 = ""
    lines = [
        MAGIC,
        str(_probe_epoch(state)),
        status,
        _render.ICONS[status],
        p95,
        _whole_ms(network.get("latency_ms")),
    ]
    lines.extend(_render.network_segment(state, style) for style in STYLES)
    # Sanitize last, so nothing any helper returns can smuggle a newline or escape in.
    return "".join(_render.sanitize(line, 200) + "\n" for line in lines)


def write(home: str, state) -> None:
    """Write the cache for `state` into `home` atomically, mode 0600."""
    from ccprompt.state import atomic_write

    os.makedirs(home, mode=0o700, exist_ok=True)
    atomic_write(path(home), render(state).encode("utf-8"))


def read(home: str) -> dict | None:
    """Parse the cache back into a dict (for tools and tests); None when absent or foreign."""
    try:
        with open(path(home), encoding="utf-8", errors="replace") as handle:
            lines = handle.read(4096).split("\n")
    except OSError:
        return None
    if len(lines) < 9 or lines[0] != MAGIC:
        return None
    keys = ("epoch", "status", "icon", "p95_ms", "latency_ms", "icon_segment", "short_segment", "full_segment")
    return dict(zip(keys, lines[1:9]))
