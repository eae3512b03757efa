"""`ccprompt status`: the current state, without probing."""

from __future__ import annotations

import sys

from ccprompt.core.paths import Paths


def status(as_json: bool = False, style: str = "full") -> int:
    from ccprompt.core import render, store

    paths = Paths()
    from ccprompt.core import files

    problem = files.unsafe_dir(paths.state_dir)
    if problem:  # nothing in it is read (core.statedir): say why, as the status line does
        from ccprompt.core.errors import CcpromptError

        raise CcpromptError(f"refusing the state directory: {problem}")
    current = store.read_state(paths)
    if as_json:
        from ccprompt.core.text import dumps_json as dumps

        from ccprompt.core import statuspage

        document = current.to_json() if current else {"status": "unknown", "reason": "no probe yet"}
        document["statuspage"] = statuspage.report(paths)
        print(dumps(document))
        return 0
    from ccprompt.commands.common import color_for

    text = render.network_segment(current, style)
    if style != "icon" and render.status_of(current) in ("error", "degraded"):
        text = with_incident(paths, current, text)
    print(render.colorize(text, render.status_of(current), color_for(sys.stdout, paths.env)))
    if current is None:
        # A fresh install: say what to run rather than leave `⚪ no probe yet` alone.
        # On stderr: stdout stays the one line a script or a prompt reads.
        sys.stderr.write("ccprompt: run `ccprompt probe` to probe now; `ccprompt install statusline` shows it in "
                         "Claude Code; `ccprompt doctor` checks every link\n")
    return 0


def with_incident(paths: Paths, state, text: str) -> str:
    """The line with the status page's incident when one explains the failure (as the status line does)."""
    import time

    from ccprompt.core import render, statuspage
    from ccprompt.core.config import Config
    from ccprompt.core.signal import assess

    if not Config.load(paths)["statuspage_url"]:
        return text
    signal = assess(state)
    pinned = statuspage.explaining(statuspage.read(paths), signal, state, int(time.time() * 1000))
    return text if pinned is None else render.network_segment(state, "short", signal) + statuspage.suffix(pinned)
