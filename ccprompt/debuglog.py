"""The debug logger: JSON lines in debug.log when CCPROMPT_DEBUG is on, rotated at 1 MB.

Callers check `enabled(config)` first, so a disabled log costs one dict lookup. Nothing
secret or content-bearing is ever passed in: only sources, lengths, decisions and timings.
"""

from __future__ import annotations

import os
import time

LOG_FILE = "debug.log"
LIMIT_BYTES = 1 << 20


def enabled(config) -> bool:
    return bool(config and config.get("debug"))


def log(home: str, event: str, **fields) -> None:
    """Append one event. Logging must never break the caller, so errors are swallowed."""
    from ccprompt.state import append_jsonl

    try:
        os.makedirs(home, mode=0o700, exist_ok=True)
        record = {"t": round(time.time(), 3), "pid": os.getpid(), "event": event, **fields}
        append_jsonl(os.path.join(home, LOG_FILE), record, LIMIT_BYTES)
    except Exception:
        pass
