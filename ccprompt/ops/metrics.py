"""`ccprompt metrics`: the state and the history as Prometheus text, and the textfile writer.

The textfile is for node_exporter's textfile collector, which reads `*.prom` files from a
directory: the file is written under a temporary name that does not end in `.prom` and
renamed into place, so the collector never reads half a file.
"""

from __future__ import annotations

import json
import os
import time

from ccprompt import __version__
from ccprompt.core import files, statedir, statuspage, store
from ccprompt.core.model import ANSWERED, MonitorState
from ccprompt.core.paths import Paths
from ccprompt.core.text import is_number

TEXTFILE = "ccprompt.prom"
STATUSES = ("healthy", "degraded", "error", "unknown")
PHASES = ("dns", "tcp", "tls", "ttfb", "total")
REQUESTS_TAIL_BYTES = 2 * 1024 * 1024  # the proxy's newest events; requests.jsonl rotates at 8 MB
TTFB_BUCKETS_S = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
MAX_MODELS = 20  # more distinct served models than this are counted as "other"
ERROR_TYPES = frozenset({
    "invalid_request_error", "authentication_error", "billing_error", "permission_error", "not_found_error",
    "request_too_large", "rate_limit_error", "api_error", "timeout_error", "overloaded_error",
    "server_error", "client_error", "upstream_unreachable",
})


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

    def histogram(self, name: str, help_text: str, buckets, values) -> None:
        """A label-less histogram: cumulative `_bucket{le}`, `_sum` and `_count`."""
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} histogram")
        for le in buckets:
            self.lines.append(f'{name}_bucket{{le="{float(le)}"}} {sum(1 for v in values if v <= le)}')
        self.lines.append(f'{name}_bucket{{le="+Inf"}} {len(values)}')
        self.lines.append(f"{name}_sum {_sample_text(float(sum(values)))}")
        self.lines.append(f"{name}_count {len(values)}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def last_success_ms(records) -> int | None:
    """Epoch ms of the newest history record where the API answered normally."""
    newest = None
    for record in records:
        if record.get("status") in ANSWERED and is_number(record.get("epoch_ms")):
            newest = max(newest or 0, int(record["epoch_ms"]))
    return newest


def proxied_attempts(data: bytes, truncated: bool) -> list:
    """The `attempt` events of real requests in the tail of requests.jsonl (ccprompt's probe left out)."""
    lines = data.split(b"\n")
    if truncated:
        lines = lines[1:]  # the first line is cut
    found = []
    for line in lines:
        try:
            event = json.loads(line) if line.strip() else None
        except ValueError:
            continue
        if isinstance(event, dict) and event.get("kind") == "attempt" and not event.get("probe"):
            found.append(event)
    return found


def _attempt_labels(events) -> list:
    """(model, status, error_type) per attempt, with every label bounded."""
    from ccprompt.core.text import sanitize

    models: dict = {}
    labelled = []
    for event in events:
        model = event.get("model_served") or event.get("model_requested")
        model = sanitize(model, 80) if isinstance(model, str) and model else "unknown"
        if model not in models and len(models) >= MAX_MODELS:
            model = "other"
        models.setdefault(model, True)
        status = event.get("status")
        status = str(status) if isinstance(status, int) and not isinstance(status, bool) and 0 < status < 1000 \
            else "0"
        error = event.get("error_type")
        error = "none" if not error else error if error in ERROR_TYPES else "other"
        labelled.append((model, status, error))
    return labelled


def _ttfb_seconds(event) -> float | None:
    value = event.get("ttfb_first_event_ms") or event.get("ttfb_headers_ms")
    return value / 1000 if is_number(value) and value >= 0 else None


def render_proxy(out: Exposition, events) -> None:
    """The proxy's families: attempts by model, status and error type, and a TTFB histogram."""
    counts: dict = {}
    for labels in _attempt_labels(events):
        counts[labels] = counts.get(labels, 0) + 1
    out.family("ccprompt_proxy_attempts_total", "counter",
               "Real requests through the local proxy, by model served, HTTP status (0: none) and error type "
               "(over the newest events in requests.jsonl).",
               [({"model": m, "status": st, "error_type": e}, n) for (m, st, e), n in sorted(counts.items())])
    ttfb = [v for v in (_ttfb_seconds(e) for e in events if (e.get("status") or 0) and e.get("status") < 400)
            if v is not None]
    out.histogram("ccprompt_proxy_ttfb_seconds",
                  "Time to the first event (first byte of a non-streamed reply) of successful real requests.",
                  TTFB_BUCKETS_S, ttfb)


def render_statuspage(out: "Exposition", page: dict) -> None:
    """The public status page's families, from `core.statuspage.to_report` (absent when it is off)."""
    if not page.get("enabled"):
        return
    reachable = page.get("reachable")
    out.family("ccprompt_statuspage_up", "gauge",
               "1 when the public status page answered at the last check, 0 when it did not.",
               [({}, None if reachable is None else (1 if reachable else 0))])
    incidents = page.get("incidents") or []
    out.family("ccprompt_statuspage_incidents", "gauge", "Unresolved incidents on the public status page.",
               [({}, len(incidents) if reachable is not None else None)])
    out.family("ccprompt_statuspage_incident", "gauge",
               "One series per unresolved incident (1); `explains` is 1 when it is one the line pins to a failure.",
               [({"title": i["title"], "impact": i["impact"], "status": i["status"],
                  "explains": "1" if i.get("explains_failures") else "0"}, 1) for i in incidents])


def render(state: MonitorState | None, records, *, now_s: float | None = None, proxy_events=None,
           page: dict | None = None) -> str:
    """The exposition text for a state (None when there is none yet) and history records.

    `proxy_events` (the proxy's attempt events, None when it has never run) adds its families.
    """
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
    incidents = state.incident_counts if state else {}
    out.family("ccprompt_incident_probes_total", "counter",
               "Probes made because something already looked wrong (an API error in the transcript, a turn "
               "waiting on the API, a slow answer to confirm), by result; they are in ccprompt_probes_total too.",
               [({"result": name}, incidents.get(name, 0)) for name in STATUSES])
    if proxy_events is not None:
        render_proxy(out, proxy_events)
    if page is not None:
        render_statuspage(out, page)
    out.family("ccprompt_scrape_timestamp_seconds", "gauge", "Unix time this exposition was generated.",
               [({}, round(now_s, 3))])
    return out.text()


def read_proxy_events(paths: Paths):
    """The proxy's attempt events from the tail of requests.jsonl; None when there is no such file."""
    from ccprompt.core.paths import REQUESTS_FILE

    try:
        data, truncated = statedir.read_state_tail(paths.state_dir, paths.in_state(REQUESTS_FILE),
                                                   REQUESTS_TAIL_BYTES)
    except FileNotFoundError:
        return None
    except OSError:
        return []
    return proxied_attempts(data, truncated)


def collect(paths: Paths, now_s: float | None = None) -> str:
    """The exposition for the endpoint this environment probes (another endpoint's is not ours)."""
    from ccprompt.ops.history import read_records
    from ccprompt.sources import credentials

    endpoint = credentials.endpoint(paths)
    records = [r for r in read_records(paths) if r.get("endpoint") in (endpoint, None)]
    return render(store.read_state_for(paths, endpoint), records, now_s=now_s,
                  proxy_events=read_proxy_events(paths), page=statuspage.report(paths, now_s))


def write_textfile(directory: str, text: str) -> str:
    """Write `ccprompt.prom` into `directory` atomically; returns its path.

    Mode 0644: node_exporter usually runs as another user and has to read it.
    """
    path = os.path.join(directory, TEXTFILE)
    # atomic_write's temporary name ends in `.tmp`, which the collector ignores.
    files.atomic_write(path, files.encode(text), 0o644)
    return path
