"""Subscription rate limits, as Claude Code hands them to the status line, kept per session.

Subscribers get `rate_limits` (5-hour and 7-day windows, `used_percentage`) on the status
line's stdin and nowhere else. The status line leaves the headroom here, only when it
changed, so `ccprompt sessions` can show it for sessions that do not go through the proxy.
"""

from __future__ import annotations

import os

from ccprompt.core import fastjson, files
from ccprompt.core.paths import Paths
from ccprompt.core.text import number

DIRECTORY = "ratelimits"


def _file(paths: Paths, session_id: str) -> str:
    safe = "".join(ch for ch in session_id if ch.isalnum() or ch in "-_")[:80]
    return paths.in_state(os.path.join(DIRECTORY, f"{safe}.json"))


def headroom_of(limits) -> float | None:
    """1 − the most used window's share, from stdin's `rate_limits`; None when there is none."""
    if not isinstance(limits, dict):
        return None
    used = [number(window.get("used_percentage")) for window in limits.values() if isinstance(window, dict)]
    used = [value for value in used if value is not None]
    return round(max(0.0, 1 - max(used) / 100), 3) if used else None


def remember(paths: Paths, session_id, limits) -> None:
    """Keep this session's headroom; a write only when it changed. Never raises."""
    room = headroom_of(limits)
    if room is None or not isinstance(session_id, str) or not session_id:
        return
    path = _file(paths, session_id)
    record = f'{{"headroom": {room}}}'.encode()
    try:
        if files.read_regular(path, 256) == record:
            return
    except OSError:
        pass
    try:
        files.private_dir(os.path.dirname(path))
        files.atomic_write(path, record)
    except OSError:
        pass


def recalled(paths: Paths) -> dict:
    """session id -> headroom, for every session the status line has seen limits for."""
    directory = paths.in_state(DIRECTORY)
    out = {}
    try:
        names = os.listdir(directory)
    except OSError:
        return out
    for name in names:
        if not name.endswith(".json"):
            continue
        try:
            room = number(fastjson.loads(files.read_regular(os.path.join(directory, name), 256)).get("headroom"))
        except (OSError, ValueError, AttributeError):
            continue
        if room is not None:
            out[name[:-5]] = room
    return out
