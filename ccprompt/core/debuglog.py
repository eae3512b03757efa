"""The debug logger: JSON lines in debug.log when CCPROMPT_DEBUG is on, rotated at 1 MB.

Callers check `enabled(config)` first, so a disabled log costs one dict lookup. Nothing
secret or content-bearing is ever passed in: only sources, lengths, decisions and timings.
"""

from __future__ import annotations

import os
import time

from ccprompt.core import files
from ccprompt.core.paths import Paths

LIMIT_BYTES = 1 << 20


def enabled(config) -> bool:
    return bool(config is not None and config.get("debug"))


def log(paths: Paths, event: str, **fields) -> None:
    """Append one event. Logging must never break the caller, so errors are swallowed."""
    try:
        if files.unsafe_dir(paths.state_dir):
            return
        files.private_dir(paths.state_dir)
        record = {"t": round(time.time(), 3), "pid": os.getpid(), "event": event, **fields}
        files.append_jsonl(paths.debug_file, record, LIMIT_BYTES)
    except Exception:
        pass
