"""State builders: monitoring states in the file's own shape, and writers that go through ccprompt's store."""

from __future__ import annotations

import json
import time
from pathlib import Path

from ccprompt.core import promptcache, store
from ccprompt.core.model import MonitorState
from ccprompt.core.paths import Paths


def state_json(status: str = "healthy", latency: float | None = 470, p95: float | None = 450,
               epoch_s: float | None = None, phases: dict | None = None, endpoint: str | None = None,
               **extra) -> dict:
    """A monitoring.json document (SPEC §3 shape) for a state with one (baseline) probe at `epoch_s`."""
    epoch_s = time.time() if epoch_s is None else epoch_s
    if phases is None and latency is not None:
        phases = {"dns": 12, "tcp": 30, "tls": 45, "ttfb": max(latency - 87, 0), "total": latency}
    document = {
        "schema": 1,
        "status": status,
        "monitoring_enabled": True,
        "api_config": {"endpoint": endpoint, "source": "environment"},
        "network": {"latency_ms": latency, "p95_latency_ms": p95, "phases_ms": phases or {}},
        "monitoring_state": {"last_probe_epoch_ms": int(epoch_s * 1000), "last_baseline_epoch_ms": int(epoch_s * 1000),
                             "last_probe_mode": "GREEN"},
    }
    document.update(extra)
    return document


def as_state(document: dict | None) -> MonitorState | None:
    if document is None:
        return None
    return MonitorState.from_json({"schema": 1, **document})


def paths_for(home: str | Path) -> Paths:
    return Paths({"CCPROMPT_HOME": str(home), "HOME": str(Path(home).parent)})


def write_prompt_cache(home: str | Path, document: dict | None) -> None:
    """The prompt cache for `document` (None: no state), written by ccprompt's own store."""
    store.write_prompt_cache(paths_for(home), as_state(document))


def render_prompt_cache(document: dict | None) -> str:
    return promptcache.render(as_state(document))


def write_state_file(home: str | Path, document: dict) -> Path:
    """monitoring.json exactly as given (foreign or broken documents included), mode 0600."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = home / "monitoring.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    path.chmod(0o600)
    return path
