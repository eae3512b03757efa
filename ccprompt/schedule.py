"""The scheduler: decides whether a probe is due (COLD > RED > GREEN) and starts it detached.

`decide` is pure: it takes the time, the state and the inputs and returns the kind of
probe and the reason, so every window can be tested without sleeping. `spawn` starts
`ccprompt refresh` in a new session with stdio on /dev/null; the credential travels in the
inherited environment, never in argv.
"""

from __future__ import annotations

import os
import sys


def decide(now_ms: int, state, *, session_id=None, duration_ms=None, transcript=None, config=None):
    """Return (kind or None, reason). `transcript` is a `transcript.scan` summary."""
    config = config or {}
    if config.get("monitoring_enabled") is False:
        return None, "monitoring disabled"
    green_ms = int(config.get("green_interval_s", 300)) * 1000
    red_ms = int(config.get("red_interval_s", 10)) * 1000
    cold_window = int(config.get("cold_window_ms", 5000))
    quiet_ms = int(config.get("cold_quiet_s", 30)) * 1000

    valid = isinstance(state, dict) and state.get("status") is not None
    ms = state.get("monitoring_state", {}) if valid else {}
    last_probe = _int(ms.get("last_probe_epoch_ms"))
    last_baseline = _int(ms.get("last_baseline_epoch_ms"))
    recently_probed = last_probe and 0 <= now_ms - last_probe < quiet_ms

    if not valid:
        return "COLD", "no valid state yet"
    new_session = (
        isinstance(session_id, str)
        and session_id
        and session_id not in (ms.get("recent_cold_sessions") or [])
        and isinstance(duration_ms, (int, float))
        and duration_ms < cold_window
    )
    if new_session:
        if not recently_probed:
            return "COLD", f"first render of session {session_id[:8]}"
        cold_skip = "new session, but a probe finished under 30 s ago"
    else:
        cold_skip = None

    if transcript and transcript.get("error") and transcript.get("unresolved") and transcript.get("recent"):
        if _int(ms.get("last_red_window_id")) != now_ms // red_ms:
            return "RED", "recent unresolved API error in the transcript"
        red_skip = "RED window already probed"
    else:
        red_skip = None

    if not last_baseline or now_ms - last_baseline >= green_ms:
        if _int(ms.get("last_green_window_id")) != now_ms // green_ms:
            return "GREEN", "baseline probe is older than the GREEN interval"
    return None, red_skip or cold_skip or "nothing due"


def _int(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def executable_argv() -> list:
    """How to run ccprompt again: the installed launcher if that is what ran, else `python -m ccprompt`."""
    launcher = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if os.path.basename(launcher) == "ccprompt" and os.access(launcher, os.X_OK):
        return [launcher]
    return [sys.executable, "-m", "ccprompt"]


def refresh_argv(kind: str, session_id=None, duration_ms=None, transcript_path=None) -> list:
    argv = executable_argv() + ["refresh", "--mode", kind]
    if session_id:
        argv += ["--session", str(session_id)[:200]]
    if isinstance(duration_ms, (int, float)):
        argv += ["--duration-ms", str(int(duration_ms))]
    if transcript_path:
        argv += ["--transcript", str(transcript_path)]
    return argv


def spawn(argv: list) -> int:
    """Start argv detached: a new session, stdio on /dev/null. Returns the pid (0 on failure)."""
    devnull = os.devnull
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, devnull, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, devnull, os.O_WRONLY, 0),
    ]
    try:
        return os.posix_spawn(argv[0], argv, os.environ, file_actions=actions, setsid=True)
    except (OSError, AttributeError, TypeError):
        return 0
