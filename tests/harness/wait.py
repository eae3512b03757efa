"""Waiting without guessing: poll for something to happen, and read what ccprompt decided.

`wait_until` replaces hand-written polling loops. `decisions` reads the debug log's decision
records, so a test proves that nothing was started ("spawned": false) instead of sleeping
and hoping a stray probe would have shown up by then.
"""

from __future__ import annotations

import json
import time
from pathlib import Path


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05, what: str = "the condition"):
    """The first truthy value of `predicate()` within `timeout` seconds; AssertionError otherwise."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = predicate()
        except (OSError, ValueError):
            last = None
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} did not happen within {timeout:g}s (last: {last!r})")
        time.sleep(interval)


def log_records(home: str | Path, event: str | None = None) -> list:
    """The debug log's JSON records (CCPROMPT_DEBUG=1), optionally only one event's."""
    path = Path(home) / "debug.log"
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if event is None or record.get("event") == event:
            records.append(record)
    return records


def decisions(home: str | Path) -> list:
    """What each status-line render decided: kind (COLD/RED/CONFIRM/GREEN/None), reason, spawned."""
    return [r for r in log_records(home, "decision") if "spawned" in r or r.get("sync")]


def processes_of(home: str | Path) -> list:
    """Pids of the processes started with this CCPROMPT_HOME (their environment says so): a
    test's renders and the probes they left running, and nothing of the rest of the machine."""
    import os

    ours = f"CCPROMPT_HOME={home}".encode()
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit() and int(pid) != os.getpid():
            try:
                if ours in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                    found.append(int(pid))
            except OSError:
                pass
    return found


def all_ended(home: str | Path, timeout: float = 60.0) -> None:
    """Wait until every process started with this CCPROMPT_HOME has ended: any late probe has
    been made (or given up) by then, however busy the machine."""
    wait_until(lambda: not processes_of(home), timeout, 0.1, what=f"every process of {home} to end")
