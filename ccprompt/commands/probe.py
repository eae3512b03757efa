"""`ccprompt probe`: probe now, record unless --no-write, print the result; `--count N` like `ping -c`."""

from __future__ import annotations

import sys
import time

from ccprompt.core.errors import CcpromptError
from ccprompt.core.paths import Paths


def probe(verbose: bool = False, as_json: bool = False, timeout_ms: int | None = None, no_write: bool = False,
          count: int | None = None, interval: float = 1.0) -> int:
    """Exit 0: the API answered (healthy or degraded); 1: error; 2: nothing could be probed.

    With --count, N probes in a row become baseline samples (CALIBRATE); exit 0 when any answered.
    """
    from ccprompt.commands.common import checked_config
    from ccprompt.sources import recorder

    paths = Paths()
    config = checked_config(paths)
    if not no_write:
        try:
            recorder.prepare(paths)
        except recorder.UnsafeStateDir as exc:
            raise CcpromptError(str(exc), 2) from None
    if count is not None:
        return _series(paths, config, count, interval, as_json, timeout_ms, no_write)
    outcome, state = _one(paths, config, "MANUAL", timeout_ms, no_write)
    _print(outcome, state, paths, verbose=verbose, as_json=as_json, written=not no_write)
    return 0 if outcome.status in ("healthy", "degraded") else 1


def _one(paths: Paths, config, mode: str, timeout_ms, no_write: bool):
    """One probe under the lock (waiting at most its own timeout for it); raises when none was made."""
    from ccprompt.sources import recorder

    lock = None
    if not no_write:
        lock = recorder.probe_lock(paths)
        wait_s = (timeout_ms or config.timeout_ms or 4000) / 1000
        if not lock.acquire(blocking=True, timeout_s=wait_s):
            holder = lock.holder()
            raise CcpromptError(f"another probe is in flight (pid {holder or 'unknown'}); nothing recorded")
    try:
        if lock:
            outcome, state = recorder.probe_and_record_marked(lock, paths, config, mode,
                                                              timeout_override=timeout_ms)
        else:
            outcome, state = recorder.probe_and_record(paths, config, mode, timeout_override=timeout_ms,
                                                       write=False)
    finally:
        if lock:
            lock.release()
    if outcome is None:
        raise CcpromptError(f"no probe made: {_why(state.reason)}", 2)
    return outcome, state


def _print(outcome, state, paths, *, verbose: bool, as_json: bool, written: bool) -> None:
    from ccprompt.commands.common import color_for
    from ccprompt.core import render
    from ccprompt.core.text import dumps_json, fmt_ms, sanitize

    found = None
    if outcome.anonymous:  # keyless: say how Claude Code signs in, and what that means here
        from ccprompt.sources import login

        found = login.detect(paths)
    if as_json:
        document = public(outcome)
        document["login"] = found.kind if found else None
        print(dumps_json(document))
    elif verbose:
        from ccprompt.surfaces import waterfall

        print(waterfall.report(outcome, state, written=written, login=found.line() if found else None))
    else:
        line = render.network_segment(state, "full")
        if outcome.status in ("healthy", "unknown"):
            line += f" Total:{fmt_ms(outcome.total_ms)}"
        color = color_for(sys.stdout, paths.env)
        print(render.colorize(line, outcome.status, color) + f"  {sanitize(_detail(line, outcome.reason), 160)}")
        if found:
            print(found.line())


def _detail(line: str, reason: str) -> str:
    """The reason after the line, without the phase the line already names:
    `🔴 DNS: no such host Total:1ms  Could not resolve host: …`, not DNS three times."""
    head, sep, rest = (reason or "").partition(" failed: ")
    if sep and head.isupper() and f"{head}:" in line:
        return rest
    return reason or ""


def public(outcome) -> dict:
    """The outcome as --json shows it: no `success` pseudo error type, milliseconds to 0.1."""
    document = outcome.to_dict()
    if document.get("error_type") == "success":
        document["error_type"] = None
    document["phases_ms"] = {k: None if v is None else round(v, 1) for k, v in document["phases_ms"].items()}
    return document


def _series(paths, config, count: int, interval: float, as_json: bool, timeout_ms, no_write: bool) -> int:
    """`--count N [--interval S]`: one line (or JSON object) per probe, then a summary."""
    from ccprompt.core.render import ICONS
    from ccprompt.core.text import fmt_ms, sanitize
    from ccprompt.core.verdict import nearest_rank

    totals, errors = [], 0
    for n in range(1, count + 1):
        if n > 1 and interval > 0:
            time.sleep(interval)
        outcome, state = _one(paths, config, "CALIBRATE", timeout_ms, no_write)
        answered = outcome.status in ("healthy", "degraded")
        if answered and outcome.total_ms is not None:
            totals.append(outcome.total_ms)
        else:
            errors += 1
        if as_json:
            import json

            record = public(outcome)
            record["seq"] = n
            print(json.dumps(record, ensure_ascii=True, separators=(",", ":")), flush=True)
            continue
        http = f"HTTP {outcome.http_status}" if outcome.http_status else "no HTTP answer"
        print(f"probe {n}: {ICONS.get(outcome.status, ICONS['unknown'])} {http}  Total:{fmt_ms(outcome.total_ms)}"
              f"  {state.breakdown()}" + ("" if answered else f"  {sanitize(outcome.reason, 120)}"), flush=True)
    if not as_json:
        ordered = sorted(totals)
        figures = (f"min {fmt_ms(ordered[0])} · median {fmt_ms(nearest_rank(ordered, 0.5))} · "
                   f"P95 {fmt_ms(nearest_rank(ordered, 0.95))} · max {fmt_ms(ordered[-1])}") if ordered else "no answers"
        print(f"--- {count} probes, {errors} errors · {figures}"
              + ("" if no_write or not ordered else " · kept as baseline samples"))
    return 0 if totals else 1


def _why(reason: str) -> str:
    if reason == "monitoring off":
        return "monitoring is off (monitoring_enabled = false in the config)"
    if reason == "Env vars NOT Found":
        return "Env vars NOT Found (set ANTHROPIC_API_KEY, or anonymous = true in the config)"
    return reason
