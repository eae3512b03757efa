"""`ccprompt sessions --watch`: the sessions table redrawn about once a second, with event lines.

rich's `Live` does the redrawing (rich comes with Typer; imported only here). The view
fits the terminal: as many sessions as the height allows, those needing attention first,
then the newest events under them. Ctrl-C, SIGTERM or SIGHUP end it with exit 0.
"""

from __future__ import annotations

import signal
import time
from collections import deque

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from ccprompt.core import session_events
from ccprompt.core.paths import Paths
from ccprompt.core.text import sanitize
from ccprompt.surfaces import sessions as view

EVENTS_SHOWN = 6
STYLES = {"errored": "bold red", "stalled": "bold red", "waiting": "yellow", "working": "green", "idle": "dim"}


def render(rows: list, events, width: int, height: int, now_s: float) -> Group:
    attention = sum(1 for r in rows if r["state"] in ("errored", "stalled"))
    head = Text(f"ccprompt sessions · {len(rows)} active · {attention} need attention · "
                f"{time.strftime('%H:%M:%S', time.localtime(now_s))} · Ctrl-C quits", style="bold")
    cells = [view.cells(r) for r in rows]
    keys = [k for k, _ in view.COLUMNS if k not in ("route", "limits") or any(c[k] != "-" for c in cells)]
    table = Table(box=None, padding=(0, 1), pad_edge=False, expand=False, show_edge=False)
    for key in keys:
        table.add_column(dict(view.COLUMNS)[key], justify="right" if key in view.RIGHT else "left", no_wrap=True,
                         overflow="ellipsis")
    room = max(1, height - 4 - min(EVENTS_SHOWN, len(events)))
    for values, text in list(zip(rows, cells))[:room]:
        table.add_row(*(text[k] for k in keys), style=STYLES.get(values["state"], ""))
    parts = [head, table]
    if len(rows) > room:
        parts.append(Text(f"… {len(rows) - room} more", style="dim"))
    if events:
        parts.append(Text(""))
        shown = [sanitize(line, 300) for line in list(events)[-EVENTS_SHOWN:]]
        parts += [Text(line, style="bold" if "STALL" in line or "API" in line else "") for line in shown]
    elif not rows:
        parts.append(Text("no sessions in this period", style="dim"))
    return Group(*parts)


def run(paths: Paths, since_s: float | None, interval: float = 1.0) -> int:
    from ccprompt.sources.sessions import listing

    stopping = []

    def stop(signum, frame):
        stopping.append(signum)

    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(signum, stop)
    console = Console()
    events: deque = deque(maxlen=50)
    before: dict = {}
    then_s = time.time()
    with Live(console=console, auto_refresh=False, screen=False, transient=False) as live:
        while not stopping:
            now_s = time.time()
            pairs = listing.pairs(paths, now_s, since_s)
            current = {summary.session_id: (summary, proxy) for summary, proxy in pairs}
            stamp = time.strftime("%H:%M:%S", time.localtime(now_s))
            for line in session_events.changes(before, current, then_s, now_s):
                events.append(f"{stamp}  {line}")
            before, then_s = current, now_s
            size = console.size
            live.update(render(view.rows(pairs, now_s), events, size.width, size.height, now_s), refresh=True)
            deadline = time.monotonic() + interval
            while not stopping and time.monotonic() < deadline:
                time.sleep(0.05)
    return 0
