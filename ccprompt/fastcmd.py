"""`status` and `refresh` without Typer: they run from prompts and background children.

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


def run(command: str, args: list):
    if command == "status":
        return status(args)
    if command == "refresh":
        return refresh(args)
    return None
