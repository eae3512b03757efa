"""The prompt cache: the state pre-rendered into a file a shell can read with builtins alone.

Every state write also writes `$CCPROMPT_HOME/prompt` (see `core.store`). Shell prompt hooks, the POSIX
reader in `shell/`, starship and tmux read it; none of them runs Python per prompt.

Format v1 (stable; a change of layout gets a new version word on line 1, while a new value
may only be added as a new last line). UTF-8, ten lines, each ending in a newline, one
value per line, always in this order:

    1  ccprompt-prompt v1
    2  epoch seconds of the last probe, or 0 when there has been none
    3  status: healthy | degraded | error | unknown
    4  icon: 🟢 | 🟡 | 🔴 | ⚪
    5  P95 latency in whole milliseconds, or empty before there are samples
    6  latency of the last probe in whole milliseconds, or empty
    7  the network segment in `icon` style   (🟢)
    8  the network segment in `short` style  (🟢 450ms)
    9  the network segment in `full` style   (🟢 P95:450ms)
   10  epoch seconds when the next probe falls due (`core.schedule.next_due_ms`), or empty
       when none will; a shell hook starts `ccprompt refresh` once it has passed. Caches
       written before it have nine lines: readers take a missing line 10 as empty.

Every value is sanitized and in the shell-safe alphabet (`text.shell_safe`): no control
characters, escape sequences or newlines, no backtick, `$`, `\\`, `!` or quotes, and `%`
only as a number's unit, so a reader can print it as it is, or paste it into a prompt.
Readers should still check line 1, accept only the four status words, and treat a missing file as "unknown". The file is replaced atomically
(temp file in the same directory, fsync, rename), so a reader never sees half of it, and
its mode is 0600 like every other file in the state directory.
"""

from __future__ import annotations

from ccprompt.core import render as _render
from ccprompt.core.model import MonitorState
from ccprompt.core.text import shell_safe

MAGIC = "ccprompt-prompt v1"
STYLES = ("icon", "short", "full")
KEYS = ("epoch", "status", "icon", "p95_ms", "latency_ms", "icon_segment", "short_segment", "full_segment",
        "due")


def _whole_ms(value) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return ""
    if value != value or value < 0 or value > 10**9:  # NaN, negative or absurd
        return ""
    return str(int(round(value)))


def _epoch_s(ms) -> str:
    """Whole epoch seconds, rounded up (a hook that starts a refresh then finds it due), or empty."""
    if isinstance(ms, bool) or not isinstance(ms, int) or not 0 <= ms < 10**14:
        return ""
    return str(-(-ms // 1000))


def render(state: MonitorState | None, due_ms=None) -> str:
    """The cache text for `state` (None when there is no state), and when the next probe is due."""
    status = _render.status_of(state)
    network = state.network if state is not None else None
    p95 = _whole_ms(network.p95_latency_ms) if network else ""
    if p95 == "0":  # the state keeps 0 until there are enough samples
        p95 = ""
    epoch = state.windows.last_probe_epoch_ms // 1000 if state is not None else 0
    lines = [
        MAGIC,
        str(epoch),
        status,
        _render.ICONS[status],
        p95,
        _whole_ms(network.latency_ms) if network else "",
    ]
    lines.extend(_render.network_segment(state, style) for style in STYLES)
    lines.append(_epoch_s(due_ms))
    # Sanitize last, so nothing any helper returns can smuggle a newline, an escape or a
    # character a prompt would expand (the shells export these lines) in.
    return "".join(shell_safe(line, 200) + "\n" for line in lines)


def parse(text: str) -> dict | None:
    """The cache text back as a dict (for tools and tests); None when it is not format v1."""
    lines = text.split("\n")
    if len(lines) < 9 or lines[0] != MAGIC:
        return None
    values = dict(zip(KEYS, lines[1:9]))
    values["due"] = lines[9] if len(lines) > 10 else ""
    return values
