"""`status`, `refresh` and `probe` without Typer, which costs ~250 ms to import.

`status` and `refresh` run from prompts and background children; `probe` is what people
type, and install.sh runs it.

Each returns None when the arguments are anything but the simple, common form, and the
caller then hands them to the Typer app, which parses and reports errors properly.
"""

from __future__ import annotations

import os
import sys


def _options(args: list, flags: set, valued: set):
    parsed = {}
    i = 0
    while i < len(args):
        arg = args[i]
        name, eq, value = arg.partition("=")
        if arg in flags:
            parsed[arg] = True
        elif name in valued and eq:
            parsed[name] = value
        elif arg in valued and i + 1 < len(args):
            parsed[arg] = args[i + 1]
            i += 1
        else:
            return None
        i += 1
    return parsed


def status(args: list):
    opts = _options(args, {"--json"}, {"--style"})
    if opts is None or opts.get("--style", "full") not in ("icon", "short", "full"):
        return None
    from ccprompt import config, render, state

    current = state.read(config.home_dir())
    if opts.get("--json"):
        import json

        print(json.dumps(current if current is not None else {"status": "unknown", "reason": "no probe yet"},
                         indent=2, ensure_ascii=False))
        return 0
    status_word = render.status_of(current)
    text = render.network_segment(current, opts.get("--style", "full"))
    color = render.use_color() and sys.stdout.isatty()
    print(render.colorize(text, status_word, color))
    return 0


def refresh(args: list):
    opts = _options(args, {"--sync"}, {"--mode", "--session", "--duration-ms", "--transcript"})
    if opts is None:
        return None
    from ccprompt import monitor

    duration = opts.get("--duration-ms")
    try:
        duration = int(duration) if duration is not None else None
    except ValueError:
        return None
    result = monitor.refresh(
        env=os.environ,
        session_id=opts.get("--session"),
        duration_ms=duration,
        transcript_path=opts.get("--transcript"),
        sync=bool(opts.get("--sync")),
    )
    if opts.get("--sync"):
        detail = result.get("mode") or "no probe"
        print(f"{detail}: {result.get('reason')}" + (f" -> {result['status']}" if result.get("status") else ""))
    return 0


def _fail(message: str, code: int) -> int:
    sys.stderr.write(f"ccprompt: {message}\n")
    return code


def probe_command(verbose: bool, as_json: bool, timeout_ms, no_write: bool) -> int:
    """`ccprompt probe`: probe now, record unless no_write, print the result; return the exit code."""
    from ccprompt import config as config_mod
    from ccprompt import monitor, render, state as state_mod

    try:
        config = config_mod.load(strict=True)
    except config_mod.ConfigError as exc:
        return _fail(str(exc), 2)
    home = config_mod.ensure_home()
    lock = None
    if not no_write:
        lock = state_mod.ProbeLock(home)
        if not lock.acquire(blocking=True, timeout_s=config_mod.TIMEOUT_CAP_MS / 1000 + 5):
            return _fail("another probe kept the lock too long; try again", 1)
    try:
        outcome, new_state = monitor.probe_and_record(
            home, config, "MANUAL", timeout_override=timeout_ms, write=not no_write
        )
    finally:
        if lock:
            lock.release()
    if outcome is None:
        return _fail(f"no probe made: {new_state.get('reason')} (set ANTHROPIC_API_KEY, or anonymous = true)", 2)
    if as_json:
        import json

        print(json.dumps(outcome.to_dict(), indent=2, ensure_ascii=False))
    elif verbose:
        from ccprompt import waterfall

        print(waterfall.report(outcome, new_state, written=not no_write))
    else:
        line = render.network_segment(new_state, "full")
        if outcome.status in ("healthy", "unknown"):
            line += f" Total:{render.fmt_ms(outcome.phases_ms.get('total'))}"
        color = render.use_color() and sys.stdout.isatty()
        print(render.colorize(line, outcome.status, color) + f"  {render.sanitize(outcome.reason, 160)}")
    return 0 if outcome.status in ("healthy", "degraded") else 1


def probe(args: list):
    opts = _options(args, {"--verbose", "-v", "--json", "--no-write"}, {"--timeout-ms"})
    if opts is None:
        return None
    timeout = opts.get("--timeout-ms")
    if timeout is not None:
        if not timeout.isdigit() or not 1 <= int(timeout) <= 60000:
            return None  # Typer explains the allowed range
        timeout = int(timeout)
    return probe_command(bool(opts.get("--verbose") or opts.get("-v")), bool(opts.get("--json")), timeout,
                         bool(opts.get("--no-write")))


def run(command: str, args: list):
    if command == "status":
        return status(args)
    if command == "refresh":
        return refresh(args)
    if command == "probe":
        return probe(args)
    return None
