"""What the proxy saw of each session, from the tail of `requests.jsonl`.

Retries, stalls, the model that actually answered and rate-limit headroom are invisible
in transcripts (Claude Code writes nothing while it retries). Title requests (a small
model, no tools) are skipped for the route so they never look like a model switch.
"""

from __future__ import annotations

from ccprompt.core import fastjson, statedir
from ccprompt.core.paths import Paths
from ccprompt.core.session_rules import ProxyView

TAIL_BYTES = 1 << 20


def read_events(paths: Paths, tail_bytes: int = TAIL_BYTES) -> list:
    """The newest proxy events (attempts and notices), oldest first; [] without a proxy."""
    try:
        data, cut = statedir.read_state_tail(paths.state_dir, paths.requests_file, tail_bytes)
    except OSError:
        return []
    lines = data.split(b"\n")
    if cut:
        lines = lines[1:]
    events = []
    for raw in lines:
        if not raw.strip():
            continue
        try:
            event = fastjson.loads(raw)
        except (ValueError, RecursionError):
            continue
        if isinstance(event, dict) and isinstance(event.get("session_id"), str) and not event.get("probe"):
            events.append(event)
    return events


def headroom(ratelimit) -> float | None:
    """The lowest remaining/limit across the rate-limit kinds the API reported, 0..1."""
    if not isinstance(ratelimit, dict):
        return None
    ratios = []
    for values in ratelimit.values():
        if isinstance(values, dict):
            remaining, limit = values.get("remaining"), values.get("limit")
            if isinstance(remaining, int) and isinstance(limit, int) and limit > 0:
                ratios.append(max(0.0, min(1.0, remaining / limit)))
    return min(ratios) if ratios else None


def _is_title_request(event: dict) -> bool:
    model = str(event.get("model_requested") or "").lower()
    return "haiku" in model and not event.get("tools")


def views(events: list) -> dict:
    """session id -> ProxyView, from events oldest first."""
    out: dict = {}
    for event in events:
        sid = event["session_id"]
        view = out.get(sid)
        if view is None:
            view = out[sid] = ProxyView()
        kind = event.get("kind")
        ts = event.get("ts") if isinstance(event.get("ts"), (int, float)) else None
        if kind == "stall":
            idle = event.get("idle_ms")
            now = (ts or 0) + (event.get("elapsed_ms") or 0) / 1000
            view.stall_since_s = now - (idle or 0) / 1000 if ts else None
            continue
        if kind == "resumed":
            view.stall_since_s = None
            continue
        if kind != "attempt":
            continue
        view.stall_since_s = None
        view.ts = ts
        view.attempt = event.get("attempt") if isinstance(event.get("attempt"), int) else None
        view.status = event.get("status")
        view.error_type = event.get("error_type")
        view.failing = event.get("outcome") != "ok"
        if isinstance(event.get("ttfb_first_event_ms"), (int, float)):
            view.ttfb_ms = event["ttfb_first_event_ms"]
        room = headroom(event.get("ratelimit"))
        if room is not None:
            view.headroom = room
        if not _is_title_request(event) and event.get("outcome") == "ok":
            view.model_requested = event.get("model_requested")
            view.model_served = event.get("model_served")
    return out


def read_views(paths: Paths) -> dict:
    """The proxy's view of each session; subscribers' stdin rate limits fill in where it has none."""
    from ccprompt.core import seen

    out = views(read_events(paths))
    for session_id, record in seen.recall(paths).items():
        view = out.get(session_id)
        if view is None:
            view = out[session_id] = ProxyView()
        if view.headroom is None:
            view.headroom = record.get("headroom")
        view.window = record.get("window")
        view.cost_usd = record.get("cost_usd")
    return out
