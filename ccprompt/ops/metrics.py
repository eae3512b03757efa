"""`ccprompt metrics`: the state and the history as Prometheus text, and the textfile writer.

The textfile is for node_exporter's textfile collector, which reads `*.prom` files from a
directory: the file is written under a temporary name that does not end in `.prom` and
renamed into place, so the collector never reads half a file.
"""

from __future__ import annotations

import os
import time

from ccprompt import __version__
from ccprompt.core import files, store
from ccprompt.core.model import MonitorState
from ccprompt.core.paths import Paths
from ccprompt.core.text import is_number

TEXTFILE = "ccprompt.prom"
STATUSES = ("healthy", "degraded", "error", "unknown")
PHASES = ("dns", "tcp", "tls", "ttfb", "total")
ANSWERED = ("healthy", "degraded")


def _escape(value) -> str:
    """A label value as the exposition format wants it (backslash, quote and newline escaped)."""
    from ccprompt.core.text import sanitize

    text = sanitize(value, 200)
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _sample_text(value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


class Exposition:
    """Builds the text one family at a time: HELP, TYPE, then its samples."""

    def __init__(self):
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str, samples) -> None:
        samples = [(labels, value) for labels, value in samples if is_number(value)]
        if not samples:
            return
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            rendered = ",".join(f'{key}="{_escape(val)}"' for key, val in labels.items())
            self.lines.append(f"{name}{{{rendered}}} {_sample_text(value)}" if rendered else f"{name} {_sample_text(value)}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def last_success_ms(records) -> int | None:
    """Epoch ms of the newest history record where the API answered normally."""
    newest = None
    for record in records:
        if record.get("status") in ANSWERED and is_number(record.get("epoch_ms")):
            newest = max(newest or 0, int(record["epoch_ms"]))
    return newest


def render(state: MonitorState | None, records, *, now_s: float | None = None) -> str:
    """The exposition text for a state (None when there is none yet) and history records."""
    from ccprompt.core.render import status_of

    now_s = time.time() if now_s is None else now_s
    status = status_of(state)
    network = state.network if state is not None else None
    out = Exposition()
    out.family("ccprompt_info", "gauge", "ccprompt version, probed endpoint and credential source.",
               [({"version": __version__, "endpoint": (state.endpoint if state else None) or "",
                  "source": (state.source if state else None) or "none"}, 1)])
    out.family("ccprompt_up", "gauge",
               "1 when the last probe found the API answering (healthy or degraded), else 0.",
               [({}, 1 if status in ANSWERED else 0)])
    out.family("ccprompt_status", "gauge", "Current status, one series per possible value (1 = current).",
               [({"status": name}, 1 if name == status else 0) for name in STATUSES])
    phases = network.phases_ms if network else {}
    out.family("ccprompt_last_probe_phase_seconds", "gauge",
               "Duration of each phase of the last probe; a phase that did not happen is absent.",
               [({"phase": phase}, phases[phase] / 1000) for phase in PHASES if is_number(phases.get(phase))])
    out.family("ccprompt_last_http_status", "gauge", "HTTP status of the last probe (0: no HTTP answer).",
               [({}, network.last_http_status if network else None)])
    last_ms = state.windows.last_probe_epoch_ms if state else 0
    out.family("ccprompt_last_probe_timestamp_seconds", "gauge", "Unix time the last probe finished.",
               [({}, last_ms / 1000 if last_ms else None)])
    success_ms = last_success_ms(records)
    out.family("ccprompt_last_success_timestamp_seconds", "gauge",
               "Unix time of the newest probe in the history that the API answered normally.",
               [({}, success_ms / 1000 if success_ms else None)])
    samples = network.rolling_totals if network else []
    p80, p95 = (network.p80_latency_ms, network.p95_latency_ms) if network else (None, None)
    out.family("ccprompt_latency_p80_seconds", "gauge", "P80 of Total over the rolling baseline samples.",
               [({}, p80 / 1000 if is_number(p80) and p80 else None)])
    out.family("ccprompt_latency_p95_seconds", "gauge", "P95 of Total over the rolling baseline samples.",
               [({}, p95 / 1000 if is_number(p95) and p95 else None)])
    out.family("ccprompt_baseline_samples", "gauge", "Number of rolling baseline samples behind the percentiles.",
               [({}, len(samples))])
    counts = state.probe_counts if state else {}
    # Every result is exported from the start, so rate() and alerts see a series at 0.
    results = list(STATUSES) + sorted(k for k in counts if k not in STATUSES)
    out.family("ccprompt_probes_total", "counter", "Probes recorded, by result.",
               [({"result": name}, counts.get(name, 0) if is_number(counts.get(name, 0)) else 0)
                for name in results])
    out.family("ccprompt_scrape_timestamp_seconds", "gauge", "Unix time this exposition was generated.",
               [({}, round(now_s, 3))])
    return out.text()


def collect(paths: Paths, now_s: float | None = None) -> str:
    """The exposition for one state directory."""
    from ccprompt.ops.history import read_records

    return render(store.read_state(paths), read_records(paths), now_s=now_s)


def write_textfile(directory: str, text: str) -> str:
    """Write `ccprompt.prom` into `directory` atomically; returns its path.

    Mode 0644: node_exporter usually runs as another user and has to read it.
    """
    path = os.path.join(directory, TEXTFILE)
    # atomic_write's temporary name ends in `.tmp`, which the collector ignores.
    files.atomic_write(path, files.encode(text), 0o644)
    return path
