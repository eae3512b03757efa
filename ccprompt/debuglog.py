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
    import json

    try:
        os.makedirs(home, mode=0o700, exist_ok=True)
        path = os.path.join(home, LOG_FILE)
        record = {"t": round(time.time(), 3), "pid": os.getpid(), "event": event, **fields}
        line = (json.dumps(record, default=str, ensure_ascii=False) + "\n").encode()
        try:
            if os.path.getsize(path) + len(line) > LIMIT_BYTES:
                os.replace(path, path + ".1")
        except OSError:
            pass
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
    except Exception:
        pass
