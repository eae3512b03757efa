"""`ccprompt sessions`: the table of recent Claude Code sessions, or its live view."""

from __future__ import annotations

import os
import sys
import time

from ccprompt.core.errors import UsageError
from ccprompt.core.paths import Paths


def sessions(as_json: bool = False, since: str = "2h", show_all: bool = False, watch: bool = False,
             interval: float = 1.0) -> int:
    from ccprompt.ops.history import parse_since

    try:
        since_s = None if show_all else parse_since(since)
    except ValueError as exc:
        raise UsageError(f"--since: {exc}") from None
    paths = Paths()
    if watch:
        if as_json:
            raise UsageError("--watch and --json do not go together")
        from ccprompt.surfaces import sessions_live

        return sessions_live.run(paths, since_s, interval)
    from ccprompt.sources.sessions import listing
    from ccprompt.surfaces import sessions as view

    now_s = time.time()
    rows = view.rows(listing.pairs(paths, now_s, since_s), now_s)
    if as_json:
        from ccprompt.core.text import dumps_json

        sys.stdout.write(dumps_json({"generated_epoch_s": round(now_s, 3), "sessions": rows}) + "\n")
        return 0
    from ccprompt.commands.common import color_for

    width = _width()
    sys.stdout.write(view.table(rows, width, color_for(sys.stdout, os.environ)) + "\n")
    return 0


def _width() -> int:
    import shutil

    return max(40, shutil.get_terminal_size((160, 24)).columns)
