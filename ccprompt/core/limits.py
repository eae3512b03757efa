"""Subscribers' usage limits as Claude Code hands them to the status line: the `limits` segment and its cause.

Pro and Max subscribers get `rate_limits.five_hour` and `.seven_day` (`used_percentage`,
`resets_at` in epoch seconds) after their first reply; API-key users never do. Pure and
standard library only (it runs on the render path when the segment is shown).

Pace colours the segment: the used share of a window against the share of it that has
passed. Ahead of pace (more than 5 points) is yellow: at this rate the limit comes before
the reset. 90 % used while ahead of pace, or 100 %, is red.
"""

import time

from ccprompt.core.seen import WINDOWS

COLORS = {"ok": "32", "warn": "33", "bad": "31"}
SLACK = 0.05


def live(limits: dict, now_s: float) -> list:
    """(label, used %, resets_at or None, window seconds) for each window that has not reset yet."""
    out = []
    for name, (label, length) in WINDOWS.items():
        window = limits.get(name)
        if not isinstance(window, dict):
            continue
        resets = window.get("resets_at")
        if resets is not None and resets <= now_s:
            continue  # it has reset since Claude Code said so: the number is gone, not known
        out.append((label, window["used"], resets, length))
    return out


def pace(used: float, resets, length: float, now_s: float) -> str:
    if used >= 100:
        return "bad"
    if resets is None:
        return "warn" if used >= 90 else "ok"
    elapsed = min(max((length - (resets - now_s)) / length, 0.0), 1.0)
    ahead = used / 100 > elapsed + SLACK
    if ahead and used >= 90:
        return "bad"
    return "warn" if ahead else "ok"


def segment(limits: dict, now_s: float):
    """(`5h 42% · 7d 81%`, level) or ("", "") when there is nothing to show."""
    windows = live(limits, now_s)
    if not windows:
        return "", ""
    levels = [pace(used, resets, length, now_s) for _, used, resets, length in windows]
    worst = max(levels, key=("ok", "warn", "bad").index)
    return " · ".join(f"{label} {used:.0f}%" for label, used, _, _ in windows), worst


def reached(limits: dict, now_s: float):
    """(label, resets_at) of a window used up (the one that resets last), or None."""
    full = [(resets or 0, label) for label, used, resets, _ in live(limits, now_s) if used >= 100]
    if not full:
        return None
    resets, label = max(full)
    return label, resets or None


def clock(epoch_s, now_s: float) -> str:
    """`15:00` today or within a day, `Mon 15:00` further out (local time, as the user reads a clock)."""
    moment = time.localtime(epoch_s)
    return time.strftime("%H:%M" if epoch_s - now_s < 86400 else "%a %H:%M", moment)


def cause(label: str, resets, now_s: float) -> str:
    return f"{label} limit reached" + (f" · resets {clock(resets, now_s)}" if resets else "")


def told(paths, transcript_path) -> dict:
    """The limits Claude Code last handed the status line of the session that writes this transcript."""
    if not transcript_path or not transcript_path.endswith(".jsonl"):
        return {}
    from ccprompt.core import oslite, seen

    session_id = oslite.basename(transcript_path)[: -len(".jsonl")]
    return (seen.recall(paths).get(session_id) or {}).get("limits") or {}


def explain_text(paths, transcript_path, now_s: float) -> str | None:
    """What `explain` says of a subscriber's limits: the last ones Claude Code handed this session's status line."""
    record = {"limits": told(paths, transcript_path)}
    windows = live(record.get("limits") or {}, now_s)
    if not windows:
        return None
    parts = []
    for label, used, resets, length in windows:
        when = f", resets {clock(resets, now_s)}" if resets else ""
        words = {"ok": "within its pace", "warn": "ahead of its pace", "bad": "at or near the limit"}
        parts.append(f"{label} {used:.0f}% used ({words[pace(used, resets, length, now_s)]}{when})")
    text = "; ".join(parts) + " (from Claude Code's last status-line payload)"
    hit = reached(record["limits"], now_s)
    if hit:
        text += f"; {cause(hit[0], hit[1], now_s)}: a waiting turn or a 429 is this limit, and the line says so"
    return text
