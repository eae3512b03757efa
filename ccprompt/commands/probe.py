"""`ccprompt probe`: probe now, record unless --no-write, print the result."""

from __future__ import annotations

import sys

from ccprompt.core.errors import CcpromptError
from ccprompt.core.paths import Paths


def probe(verbose: bool = False, as_json: bool = False, timeout_ms: int | None = None, no_write: bool = False) -> int:
    """Exit 0: the API answered (healthy or degraded); 1: error; 2: nothing could be probed."""
    from ccprompt.commands.common import checked_config, color_for
    from ccprompt.core.text import dumps_json as dumps
    from ccprompt.core import render
    from ccprompt.core.text import fmt_ms, sanitize
    from ccprompt.sources import recorder

    paths = Paths()
    config = checked_config(paths)
    lock = None
    if not no_write:
        try:
            recorder.prepare(paths)
        except recorder.UnsafeStateDir as exc:
            raise CcpromptError(str(exc), 2) from None
        lock = recorder.probe_lock(paths)
        wait_s = (timeout_ms or config.timeout_ms or 4000) / 1000
        if not lock.acquire(blocking=True, timeout_s=wait_s):
            holder = lock.holder()
            raise CcpromptError(f"another probe is in flight (pid {holder or 'unknown'}); nothing recorded")
    try:
        outcome, new_state = recorder.probe_and_record(paths, config, "MANUAL", timeout_override=timeout_ms,
                                                       write=not no_write)
    finally:
        if lock:
            lock.release()
    if outcome is None:
        raise CcpromptError(f"no probe made: {_why(new_state.reason)}", 2)
    if as_json:
        print(dumps(outcome.to_dict()))
    elif verbose:
        from ccprompt.surfaces import waterfall

        print(waterfall.report(outcome, new_state, written=not no_write))
    else:
        line = render.network_segment(new_state, "full")
        if outcome.status in ("healthy", "unknown"):
            line += f" Total:{fmt_ms(outcome.total_ms)}"
        color = color_for(sys.stdout, paths.env)
        print(render.colorize(line, outcome.status, color) + f"  {sanitize(outcome.reason, 160)}")
    return 0 if outcome.status in ("healthy", "degraded") else 1


def _why(reason: str) -> str:
    if reason == "monitoring off":
        return "monitoring is off (monitoring_enabled = false in the config)"
    if reason == "Env vars NOT Found":
        return "Env vars NOT Found (set ANTHROPIC_API_KEY, or anonymous = true in the config)"
    return reason
