"""`ccprompt status`: the current state, without probing."""

from __future__ import annotations

import sys

from ccprompt.core.paths import Paths


def status(as_json: bool = False, style: str = "full") -> int:
    from ccprompt.core import render, store

    paths = Paths()
    current = store.read_state(paths)
    if as_json:
        from ccprompt.core.text import dumps_json as dumps

        print(dumps(current.to_json() if current else {"status": "unknown", "reason": "no probe yet"}))
        return 0
    from ccprompt.commands.common import color_for

    text = render.network_segment(current, style)
    print(render.colorize(text, render.status_of(current), color_for(sys.stdout, paths.env)))
    return 0
