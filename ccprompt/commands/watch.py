"""`ccprompt watch`: the long-running monitor."""

from __future__ import annotations


def watch(interval: float | None = None, once: bool = False, as_json: bool = False, textfile: str | None = None,
          retry_s: float = 10.0) -> int:
    from ccprompt.commands.common import checked_config
    from ccprompt.core.paths import Paths
    from ccprompt.ops.watch import loop

    paths = Paths()
    return loop.main(paths, checked_config(paths), interval_s=interval, retry_s=retry_s, once=once,
                     as_json=as_json, textfile_dir=textfile)
