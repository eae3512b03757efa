"""`ccprompt run [--] CMD [ARGS]...`: run a command through a healthy local proxy, or directly."""

from __future__ import annotations

import sys


def run(command: list | None = None) -> int:
    """Exec the command with ANTHROPIC_BASE_URL at the proxy for its upstream; returns only on failure.

    Fail-open: a missing, unhealthy or unstartable proxy (or an unsafe state directory)
    means the command runs unchanged, with one line on stderr saying why.
    """
    from ccprompt.core import files
    from ccprompt.core.paths import Paths
    from ccprompt.sources.proxy import launch
    from ccprompt.sources.proxy.upstream import resolve

    argv = list(command or ())
    if not argv:
        sys.stderr.write("ccprompt run: no command given (ccprompt run claude [ARGS]...)\n")
        return 2
    paths = Paths()
    missing = not_on_path(argv[0], paths.env.get("PATH", ""))
    if missing:
        sys.stderr.write(f"ccprompt run: {missing}\n")
        return 127
    problem = files.unsafe_dir(paths.state_dir)
    if problem:
        return launch.run(argv, None, paths.state_dir, paths.env, why="state directory unsafe")
    try:
        upstream = resolve(paths)
    except ValueError:
        upstream = None
    from ccprompt.core.config import Config

    idle_stop_s = Config.load(paths)["proxy.idle_stop_s"]  # a bad value is the default's: run never stops on it
    return launch.run(argv, upstream, paths.state_dir, paths.env, idle_stop_s=idle_stop_s)


def not_on_path(name: str, search: str) -> str | None:
    """Why `name` cannot be run, before any proxy is started for it; None when it can."""
    import os

    if "/" in name:
        return None if os.access(name, os.X_OK) else f"cannot run {name}: not an executable file"
    for directory in search.split(os.pathsep):
        candidate = os.path.join(directory or ".", name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return None
    if name == "claude":
        return ("Claude Code (claude) is not on PATH: install it with `npm install -g @anthropic-ai/claude-code`, "
                "or give its path: ccprompt run /path/to/claude")
    return f"{name} is not on PATH"
